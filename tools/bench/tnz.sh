#!/bin/sh
# tnz.sh: TNZ save and load against numpy and gzip -1, in rounds.
#
# Writes an f32 tensor (N(0, 0.05^2) weights) and a u8 tensor (Fashion-MNIST
# pixels), 1 GiB each, once, then runs ROUNDS rounds; each round runs, one
# after the other, numpy save/load (tools/bench/numpy_io.py), TNZ stored
# (level 0) and compressed (level 1) save/load with 1 thread and with every
# core (build/bench/tnz_io), and gzip -1 / gunzip of each .npy. Alternating
# peer and cnnkit within a round means a slow minute of a shared machine
# hurts both sides; the table gives the best round and the median, and the
# ratios of the bests, against the two targets of issue #2: stored I/O at
# least as fast as numpy, level 1 at least twice gzip -1.
#
# Usage: tools/bench/tnz.sh       (make bench runs it: BENCH_ONLY=tnz)
# Environment:
#   BUILD          build directory (default build)
#   BENCH_MIB      size of each tensor in MiB (default 1024)
#   BENCH_ROUNDS   rounds (default 3)
#   BENCH_DIR      scratch space (default $BUILD/bench-data); the raw lines
#                  of every round are kept in $BENCH_DIR/tnz-rounds.txt
# Needs numpy under /usr/bin/python3 (make bench-deps); skipped without it.
# MB/s counts 10^6 bytes of tensor data per wall-clock second. TNZ and numpy
# saves include an fsync; gzip's do not. gunzip writes to /dev/null, the
# loads of TNZ and numpy into memory. numpy and TNZ each get two saves of
# every case in a round and two loads after each save, the best counting
# (loads take a fraction of a second, saves several): on this kind of VM a fresh
# allocation sometimes lands on pages the host took back, and touching them
# again costs several times a normal page fault (a 1 GiB numpy.load went
# from 5.3 GB/s to 0.9 GB/s between two tries a second apart).
set -eu
prog=tnz.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
mib=${BENCH_MIB:-1024}
rounds=${BENCH_ROUNDS:-3}
dir=${BENCH_DIR:-$BUILD/bench-data}
py=/usr/bin/python3
bench=$BUILD/bench/tnz_io
threads=$(nproc)

case $mib$rounds in *[!0-9]*)
	echo "$prog: BENCH_MIB and BENCH_ROUNDS must be whole numbers" >&2
	exit 2 ;;
esac
if [ "$mib" -lt 1 ] || [ "$rounds" -lt 1 ]; then
	echo "$prog: BENCH_MIB and BENCH_ROUNDS must be at least 1" >&2
	exit 2
fi
if ! "$py" -c 'import numpy' 2>/dev/null; then
	echo "tnz: skipped ($py has no numpy; make bench-deps)"
	exit 0
fi
if [ ! -x "$bench" ]; then
	echo "$prog: $bench is missing: make $bench" >&2
	exit 1
fi

mkdir -p "$dir"
scratch=$(mktemp -d "$dir/tnz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' HUP INT TERM
raw=$dir/tnz-rounds.txt

# mbs BYTES START END: MB per second.
mbs() {
	echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / 1e6 / ($3 - $2) }'
}

# round R: appends to $raw every line the three tools print, each prefixed
# with R. tnz_io's column header is dropped (the file's header says it once).
# numpy goes first: on this kind of VM the first program to touch fresh
# memory pays for it, and numpy is the peer. Each program starts after a
# sync: the files gzip and numpy_io.py make leave unsynced (gigabytes of
# dirty pages) would otherwise be written back during the next one's timing.
round() {
	out=$scratch/round.txt
	sync
	"$py" "$top/tools/bench/numpy_io.py" time "$scratch" 2 >"$out"
	sync
	"$bench" --size "${mib}M" --threads "$threads" --repeat 2 "$scratch" >"$scratch/tnz_io.txt"
	grep -v '^#' "$scratch/tnz_io.txt" >>"$out"
	for t in f32 u8; do
		sync
		bytes=$(stat -c %s "$scratch/$t.npy")
		s=$(date +%s.%N); gzip -1 -c "$scratch/$t.npy" >"$scratch/$t.npy.gz"; e=$(date +%s.%N)
		gz=$(stat -c %s "$scratch/$t.npy.gz")
		echo "gzip-1 $t save $(mbs "$bytes" "$s" "$e") $gz"
		s=$(date +%s.%N); gunzip -c "$scratch/$t.npy.gz" >/dev/null; e=$(date +%s.%N)
		echo "gzip-1 $t load $(mbs "$bytes" "$s" "$e") $gz"
		rm -f "$scratch/$t.npy.gz"
	done >>"$out"
	sed "s/^/$1 /" "$out" >>"$raw"
}

"$py" "$top/tools/bench/numpy_io.py" make "$scratch" "$mib"
{
	echo "# $mib MiB tensors, $rounds rounds, $threads threads; one line per case:"
	echo "#   round numpy dtype save|load MB/s"
	echo "#   round tnz dtype save|load MB/s level threads file_bytes MB/cpu_s"
	echo "#   round gzip-1 dtype save|load MB/s gz_bytes"
} >"$raw"
r=1
while [ "$r" -le "$rounds" ]; do
	start=$(date +%s)
	round "$r"
	echo "# round $r of $rounds: $(($(date +%s) - start)) s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	r=$((r + 1))
done

awk -v n="$threads" -v rounds="$rounds" -v bytes=$((mib * 1048576)) '
/^#/ { next }
{
	if ($2 == "numpy")
		k = "numpy"
	else if ($2 == "gzip-1") {
		k = "gzip"
		size["gzip", $3] = $6 + 0
	} else if ($2 == "tnz") {
		k = "tnz" $6 "/" $7
		if ($6 == 1 && $7 == n)
			size["tnz", $3] = $8 + 0
	} else
		next
	k = k "," $3 "," $4
	m = ++count[k]
	value[k, m] = $5 + 0
}
function best(k,  i, b) {
	for (i = 1; i <= count[k]; i++)
		if (i == 1 || value[k, i] > b)
			b = value[k, i]
	return b
}
function median(k,  i, j, m, a, t) {
	m = count[k]
	for (i = 1; i <= m; i++) {
		t = value[k, i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
function cell(k) {
	return count[k] ? sprintf("%7.0f (%7.0f)", best(k), median(k)) : sprintf("%17s", "-")
}
function ratio(a, b) {
	return count[a] && count[b] && best(b) > 0 ? sprintf("%.2fx", best(a) / best(b)) : "-"
}
function table(title, peer, peer_name, level,  i, d, o, p) {
	printf "\n%s, MB/s: best (median) of %d rounds\n", title, rounds
	printf "%-5s %-4s  %17s  %17s  %17s  %s\n", "dtype", "op", peer_name, "tnz, 1 thread",
	       "tnz, " n " threads", "tnz " n " / " peer
	for (i = 1; i <= 4; i++) {
		d = i <= 2 ? "f32" : "u8"
		o = i % 2 ? "save" : "load"
		p = peer "," d "," o
		printf "%-5s %-4s  %s  %s  %s  %s\n", d, o, cell(p), cell("tnz" level "/1," d "," o),
		       cell("tnz" level "/" n "," d "," o), ratio("tnz" level "/" n "," d "," o, p)
	}
}
function size_cell(what, d) {
	return ((what, d) in size) ? sprintf("%11.0f (%5.1f%%)", size[what, d], 100 * size[what, d] / bytes) \
	                         : sprintf("%20s", "-")
}
# target(NAME, PEER, LEVEL, GOAL): the ratios of the bests, and the cases that miss GOAL.
function target(name, peer, level, goal,  i, d, o, a, b, line, missed) {
	line = missed = ""
	for (i = 1; i <= 4; i++) {
		d = i <= 2 ? "f32" : "u8"
		o = i % 2 ? "save" : "load"
		a = "tnz" level "/" n "," d "," o
		b = peer "," d "," o
		line = line (i > 1 ? ", " : "") d " " o " " ratio(a, b)
		if (!(count[a] && count[b] && best(b) > 0 && best(a) >= goal * best(b)))
			missed = missed (missed == "" ? "" : ", ") d " " o
	}
	printf "# target %s (%d threads): %s; %s\n", name, n, line,
	       missed == "" ? "met" : "missed: " missed
}
END {
	table("stored (level 0) against numpy.save / numpy.load", "numpy", "numpy", 0)
	table("level 1 against gzip -1 / gunzip", "gzip", "gzip -1 / gunzip", 1)
	printf "\ncompressed size, bytes (%% of the %.0f bytes of data)\n", bytes
	printf "%-5s  %20s  %20s\n", "dtype", "tnz level 1", "gzip -1"
	printf "%-5s  %s  %s\n", "f32", size_cell("tnz", "f32"), size_cell("gzip", "f32")
	printf "%-5s  %s  %s\n", "u8", size_cell("tnz", "u8"), size_cell("gzip", "u8")
	print ""
	target("stored >= numpy", "numpy", 0, 1)
	target("level 1 >= 2x gzip -1", "gzip", 1, 2)
}' "$raw"
