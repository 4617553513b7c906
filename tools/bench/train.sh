#!/bin/sh
# train.sh: cnnkit against PyTorch on the reference network, side by side.
#
# Makes the dataset (the first 10,000 Fashion-MNIST training images) once,
# then runs ROUNDS rounds; in each round, for every thread count, one epoch
# of build/bench/train_bench and one of tools/bench/torch_train.py, one after
# the other. Interleaving is the point: on a shared machine a slow minute
# hurts both programs and both thread counts alike, instead of all the runs
# of one. Prints a table of images/s for training and inference (best and
# median over the rounds), the ratio cnnkit / PyTorch, GFLOP/s and % of the
# FMA peak, and cnnkit's 1 -> N thread speed-up (best against best, and the
# median of the rounds' own ratios), next to the same speed-up of SGEMM
# 1024^3 measured at the end of each round: how well this machine scales
# to N cores in those minutes.
#
# Usage: tools/bench/train.sh [-r ROUNDS] [-t "THREADS..."] [-d DIR]
#   -r ROUNDS   rounds (default 3)
#   -t LIST     thread counts (default "1 2")
#   -d DIR      where the dataset and the logs go (default $BUILD/bench-data)
# Environment: BUILD (default build), PYTHON (default /usr/bin/python3).
# The machine may be shared: OMP_WAIT_POLICY, if set, is passed to both
# programs alike (passive stops idle OpenMP threads spinning on a busy box).
set -eu

prog=train.sh
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
rounds=3
threads="1 2"
dir=
here=$(dirname "$0")
fm=/usr/share/datasets/fashion-mnist

usage() {
	echo "usage: $prog [-r ROUNDS] [-t \"THREADS...\"] [-d DIR]"
}

while getopts r:t:d:h opt; do
	case $opt in
	r) rounds=$OPTARG ;;
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
# One line per round, program, phase and thread count in $runs:
#   ROUND PROGRAM PHASE THREADS IMG/S GFLOPS PEAK
runs=$dir/runs.txt
: > "$runs"
first_t=$(echo "$threads" | tr ' ' '\n' | head -n 1)
last_t=$(echo "$threads" | tr ' ' '\n' | tail -n 1)
round=1
while [ "$round" -le "$rounds" ]; do
	for t in $threads; do
		log=$dir/cnnkit-t$t-r$round.log
		"$bench" --threads "$t" --repeat 1 "$data" > "$log"
		grep '^RESULT' "$log"
		for phase in train eval; do
			c=$(grep "^RESULT cnnkit $phase " "$log")
			echo "$round cnnkit $phase $t $(field best "$c") $(field gflops "$c") $(field peak "$c")" >> "$runs"
		done
		if [ $have_torch = 1 ]; then
			tlog=$dir/torch-t$t-r$round.log
			"$PYTHON" "$here/torch_train.py" --threads "$t" --repeat 1 "$data" > "$tlog"
			grep '^RESULT' "$tlog"
			for phase in train eval; do
				p=$(grep "^RESULT torch $phase " "$tlog")
				echo "$round torch $phase $t $(field best "$p") - -" >> "$runs"
			done
		fi
	done
	# The machine's own scaling in this round, as a control: SGEMM 1024^3
	# on 1 thread and on the last count. It is compute-bound but shares
	# the caches and memory as training does, and on a shared VM its
	# 1 -> 2 speed-up moves with the host's load (1.6x to 2.0x).
	if [ "$first_t" = 1 ] && [ "$last_t" -gt 1 ] && [ -x "$BUILD/bench/sgemm" ]; then
		"$BUILD/bench/sgemm" -t "$last_t" | awk -v r="$round" -v t="$last_t" '
			$1 == "square" && $2 == 1024 { print r, "sgemm", "1024^3", 1, $7, "-", "-"
			                               print r, "sgemm", "1024^3", t, $9, "-", "-" }' >> "$runs"
	fi
	round=$((round + 1))
done
# The last round's per-layer table, for where the time goes.
grep -v '^RESULT' "$dir/cnnkit-t$last_t-r$rounds.log"

echo
echo "# images/s, best (median) of $rounds rounds of one epoch of 10,000 images, batch 64; ratio of the bests"
awk -v threads="$threads" '
function median(list,   v, n, i, j, x) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) {
		x = v[i]
		for (j = i - 1; j >= 1 && v[j] > x; j--)
			v[j + 1] = v[j]
		v[j + 1] = x
	}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# The ratios of key b to key a, round by round, as a list for median().
function round_ratios(a, b,   r, list) {
	list = ""
	for (r in rounds)
		if ((r " " a) in per_round && per_round[r " " a] > 0)
			list = list " " per_round[r " " b] / per_round[r " " a]
	return list
}
{
	key = $2 " " $3 " " $4
	if (!(key in best) || $5 > best[key]) {
		best[key] = $5
		if ($6 != "-") { gf[key] = $6; pk[key] = $7 }
	}
	all[key] = all[key] " " $5
	per_round[$1 " " key] = $5
	rounds[$1] = 1
}
END {
	printf "%-7s %-5s %18s %18s %7s %8s %7s\n", "threads", "phase", "cnnkit img/s",
	       "pytorch img/s", "ratio", "GFLOP/s", "%peak"
	nt = split(threads, T, " ")
	for (i = 1; i <= nt; i++)
		for (p = 1; p <= 2; p++) {
			phase = p == 1 ? "train" : "eval"
			c = "cnnkit " phase " " T[i]; q = "torch " phase " " T[i]
			tb = (q in best) ? sprintf("%.0f", best[q]) : "-"
			tm = (q in best) ? sprintf("%.0f", median(all[q])) : "-"
			ratio = (q in best && best[q] > 0) ? sprintf("%.2fx", best[c] / best[q]) : "-"
			pct = pk[c] > 0 ? sprintf("%.1f", 100 * gf[c] / pk[c]) : "-"
			printf "%-7s %-5s %9.0f (%6.0f) %9s (%6s) %7s %8.1f %7s\n", T[i], phase, best[c],
			       median(all[c]), tb, tm, ratio, gf[c], pct
		}
	if (nt > 1)
		for (p = 1; p <= 2; p++) {
			phase = p == 1 ? "train" : "eval"
			a = "cnnkit " phase " " T[1]; b = "cnnkit " phase " " T[nt]
			printf "# cnnkit %s, %s -> %s threads: %.2fx (best against best), %.2fx (median of the rounds)\n",
			       phase == "train" ? "training" : "inference", T[1], T[nt],
			       best[b] / best[a], median(round_ratios(a, b))
		}
	a = "sgemm 1024^3 1"; b = "sgemm 1024^3 " T[nt]
	if (nt > 1 && (a in best) && (b in best))
		printf "# the machine in the same rounds: SGEMM 1024^3, 1 -> %s threads: %.2fx (best against best), %.2fx (median of the rounds); %.1f and %.1f GFLOP/s best\n",
		       T[nt], best[b] / best[a], median(round_ratios(a, b)), best[a], best[b]
}' "$runs"
