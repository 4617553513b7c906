#!/bin/sh
# train.sh: cnnkit against PyTorch on the reference network, side by side.
#
# Makes the dataset (the first 10,000 Fashion-MNIST training images) once,
# then for 1 and 2 threads runs build/bench/train_bench and
# tools/bench/torch_train.py one after the other, each for REPEAT epochs
# (best and median reported), and prints a table of images/s for training
# and inference, the ratio cnnkit / PyTorch, GFLOP/s and % of the FMA peak.
#
# Usage: tools/bench/train.sh [-r REPEAT] [-t "THREADS..."] [-d DIR]
#   -r REPEAT   epochs per program and thread count (default 3)
#   -t LIST     thread counts (default "1 2")
#   -d DIR      where the dataset and the logs go (default $BUILD/bench-data)
# Environment: BUILD (default build), PYTHON (default /usr/bin/python3).
# The machine may be shared: OMP_WAIT_POLICY, if set, is passed to both
# programs alike (passive stops idle OpenMP threads spinning on a busy box).
set -eu

prog=train.sh
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
repeat=3
threads="1 2"
dir=
here=$(dirname "$0")
fm=/usr/share/datasets/fashion-mnist

usage() {
	echo "usage: $prog [-r REPEAT] [-t \"THREADS...\"] [-d DIR]"
}

while getopts r:t:d:h opt; do
	case $opt in
	r) repeat=$OPTARG ;;
	t) threads=$OPTARG ;;
	d) dir=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
dir=${dir:-$BUILD/bench-data}
mkdir -p "$dir"

bench=$BUILD/bench/train_bench
if [ ! -x "$bench" ]; then
	echo "$prog: $bench is missing: make $bench" >&2
	exit 1
fi

# The dataset: with the tnz tool when it is built, else with tools/tnz.py.
data=$dir/fm-10k.tnz
if [ ! -s "$data" ]; then
	if [ ! -r "$fm/train-images-idx3-ubyte.gz" ]; then
		echo "$prog: no Fashion-MNIST in $fm: make bench-deps" >&2
		exit 1
	fi
	if [ -x "$BUILD/bin/tnz" ] && "$BUILD/bin/tnz" --help 2>/dev/null | grep -q import; then
		"$BUILD/bin/tnz" import "$fm/train-images-idx3-ubyte.gz" \
			"$fm/train-labels-idx1-ubyte.gz" -o "$dir/fm-train.tnz"
		"$BUILD/bin/tnz" head -n 10000 -o "$data" "$dir/fm-train.tnz"
	else
		"$PYTHON" - "$fm" "$data" "$here/.." <<'EOF'
import gzip, sys
import numpy as np
sys.path.insert(0, sys.argv[3])
import tnz
fm, out = sys.argv[1], sys.argv[2]
x = np.frombuffer(gzip.open(fm + "/train-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
y = np.frombuffer(gzip.open(fm + "/train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
x = np.ascontiguousarray(x.reshape(-1, 1, 28, 28)[:10000])
tnz.save(out, {"x": x, "y": y[:10000].astype(np.int32)})
EOF
	fi
fi

have_torch=1
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
	echo "$prog: PyTorch is missing ($PYTHON): make bench-deps; only cnnkit runs" >&2
	have_torch=0
fi

# field NAME LINE: the value of NAME=... in a RESULT line.
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

lscpu | sed -n 's/^Model name: *//p' | sed 's/^/# CPU: /'
echo "# $(nproc) processors; load average $(cut -d' ' -f1-3 /proc/loadavg)"
table=$dir/table.txt
: > "$table"
for t in $threads; do
	log=$dir/cnnkit-t$t.log
	"$bench" --threads "$t" --repeat "$repeat" "$data" | tee "$log"
	if [ $have_torch = 1 ]; then
		tlog=$dir/torch-t$t.log
		"$PYTHON" "$here/torch_train.py" --threads "$t" --repeat "$repeat" "$data" | tee "$tlog"
	fi
	for phase in train eval; do
		c=$(grep "^RESULT cnnkit $phase " "$log")
		p=
		[ $have_torch = 1 ] && p=$(grep "^RESULT torch $phase " "$tlog")
		cb=$(field best "$c") cm=$(field median "$c")
		gf=$(field gflops "$c") pk=$(field peak "$c")
		if [ -n "$p" ]; then
			pb=$(field best "$p") pm=$(field median "$p")
		else
			pb=- pm=-
		fi
		echo "$t $phase $cb $cm $pb $pm $gf $pk" >> "$table"
	done
done

echo
echo "# images/s, best (median) of $repeat epochs of 10,000 images, batch 64; ratio of the bests"
awk 'BEGIN {
	printf "%-7s %-5s %18s %18s %7s %8s %7s\n", "threads", "phase", "cnnkit img/s",
	       "pytorch img/s", "ratio", "GFLOP/s", "%peak"
}
{
	ratio = ($5 == "-" || $5 == 0) ? "-" : sprintf("%.2fx", $3 / $5)
	pct = $8 > 0 ? sprintf("%.1f", 100 * $7 / $8) : "-"
	printf "%-7s %-5s %9.0f (%6.0f) %9s (%6s) %7s %8.1f %7s\n", $1, $2, $3, $4,
	       $5 == "-" ? "-" : sprintf("%.0f", $5), $6 == "-" ? "-" : sprintf("%.0f", $6),
	       ratio, $7, pct
}' "$table"
first=$(echo "$threads" | cut -d' ' -f1)
last=$(echo "$threads" | tr ' ' '\n' | tail -n 1)
if [ "$first" != "$last" ]; then
	awk -v a="$first" -v b="$last" '$2 == "train" && $1 == a { x = $3 }
		$2 == "train" && $1 == b { y = $3 }
		END { if (x > 0) printf "# cnnkit training, %s -> %s threads: %.2fx\n", a, b, y / x }' "$table"
fi
