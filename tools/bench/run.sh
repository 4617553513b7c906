#!/bin/sh
# make bench: every benchmark, cnnkit and its peer one after the other in the
# same run, so that a ratio compares like with like on a shared, noisy machine.
#
#   BENCH_MIB=1024     size of the TNZ I/O tensors (default 1 GiB each)
#   BENCH_ROUNDS=3     rounds of the TNZ I/O section (best and median reported)
#   BENCH_ONLY=name    run one section: gemm, tnz, image, plot, train, text, embed, textcnn
#   BENCH_SENTIMENT=dir  amazon.tsv and imdb.tsv for textcnn (else fetched with npm)
#   BENCH_DIR=dir      scratch space (default $BUILD/bench-data)
#
# A section whose programs or peer are missing says so and is skipped.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
export BUILD PATH="$BUILD/bin:$PATH"
dir=${BENCH_DIR:-$BUILD/bench-data}
mkdir -p "$dir"
mib=${BENCH_MIB:-1024}
only=${BENCH_ONLY:-}

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
section() { printf '\n== %s ==\n' "$1"; }
run_script() { # section name, script
	if [ -f "$top/tools/bench/$2" ]; then
		section "$1"
		BUILD="$BUILD" BENCH_DIR="$dir" sh "$top/tools/bench/$2"
	fi
}

echo "cnnkit bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if want gemm; then
	section "FMA peak and SGEMM"
	"$BUILD/bench/peak"
	OMP_NUM_THREADS=1 "$BUILD/bench/sgemm"
	"$BUILD/bench/sgemm"
fi

want tnz && run_script "TNZ I/O against numpy and gzip -1, $mib MiB tensors (MB/s; MB = 10^6 bytes)" tnz.sh
want image && run_script "img2tensor against Pillow" img.sh
want plot && run_script "lossplot, 1,000,000-row log" lossplot.sh
want train && run_script "training and inference against PyTorch" train.sh
want text && run_script "tokenize against tr and Python re" tokenize.sh
want embed && run_script "embed train against fastText" embed.sh
want textcnn && run_script "sentence classification: cnnkit against fastText and PyTorch" textcnn.sh
exit 0
