#!/bin/sh
# Tokenizer benchmark: `tokenize --text` against the classic shell word
# splitter `tr -cs A-Za-z '\n' | tr A-Z a-z` and against Python's
# `re.findall(r"\w+", text.lower())`, on the same corpus in the same run.
#   tools/bench/tokenize.sh       (make bench runs it; BUILD=dir, default build)
# Corpus: the King James Bible (bible-kjv's `bible` program, from make
# bench-deps) written BENCH_COPIES times (default 4, about 17.6 MB); without
# it, a corpus made from a word list. Environment: BENCH_THREADS (default 2).
# Prints MB/s (input bytes per wall-clock second, the best of three runs)
# and the ratios; on a loaded machine every figure suffers.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
threads=${BENCH_THREADS:-2}
copies=${BENCH_COPIES:-4}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

if command -v bible >/dev/null 2>&1 && bible -f Gen1:1-Rev22:21 >"$dir/one.txt" 2>/dev/null &&
	[ -s "$dir/one.txt" ]; then
	what="KJV Bible x$copies"
else
	what="generated English x$copies"
	awk 'BEGIN {
		split("the of and to in that he shall unto for i his a lord they be is him not them it with all thou thy was god which my me said but ye their have thee from as are when this out were by you up there hath then people came had house into on her Israel king son", w, " ");
		s = 1; for (i = 0; i < 800000; i++) {
			s = (s * 1103515245 + 12345) % 2147483648; printf "%s", w[1 + int(s / 65536) % 64];
			printf (i % 23 == 22) ? ".\n" : (i % 7 == 6) ? ", " : " ";
		} }' >"$dir/one.txt"
fi
i=0
while [ "$i" -lt "$copies" ]; do cat "$dir/one.txt"; i=$((i + 1)); done >"$dir/corpus.txt"
bytes=$(wc -c <"$dir/corpus.txt")

# rate "shell command": "wall cpu" MB/s, each the best of three runs; cpu
# counts the user and system time of every process of the command (both
# tr), so it does not depend on how busy the machine is.
rate() {
	"$py" - "$dir/corpus.txt" "$1" <<'PY'
import os, resource, subprocess, sys, time
path, cmd = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
wall = cpu = 0
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        subprocess.run(["sh", "-c", cmd], stdin=f, stdout=subprocess.DEVNULL, check=True)
    t1 = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    wall = max(wall, size / (t1 - t0) / 1e6)
    cpu = max(cpu, size / max(used, 1e-6) / 1e6)
print("%.0f %.0f" % (wall, cpu))
PY
}

set -- $(rate "tr -cs A-Za-z '\\n' | tr A-Z a-z"); trw=$1 trc=$2
set -- $(rate "'$BUILD/bin/tokenize' --text --threads 1"); t1w=$1 t1c=$2
set -- $(rate "'$BUILD/bin/tokenize' --text --threads $threads"); tnw=$1 tnc=$2
set -- $("$py" - "$dir/corpus.txt" <<'PY'
import re, sys, time
data = open(sys.argv[1], "rb").read()
wall = cpu = 0
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    words = re.findall(r"\w+", data.decode("utf-8").lower())
    t1, c1 = time.perf_counter(), time.process_time()
    wall = max(wall, len(data) / (t1 - t0) / 1e6)
    cpu = max(cpu, len(data) / max(c1 - c0, 1e-6) / 1e6)
print("%.0f %.0f" % (wall, cpu))
PY
); pyw=$1 pyc=$2
ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }'; }
echo "tokenize: $what, $(echo "$bytes" | awk '{ printf "%.1f", $1 / 1e6 }') MB; MB/s of wall-clock time, and of CPU time"
echo "tokenize: tr -cs A-Za-z | tr A-Z a-z      wall $trw  cpu $trc"
echo "tokenize: python re.findall(\\w+, lower)   wall $pyw  cpu $pyc"
echo "tokenize: tokenize --text, 1 thread       wall $t1w  cpu $t1c  ($(ratio "$t1w" "$trw")x tr wall, $(ratio "$t1c" "$trc")x tr cpu, $(ratio "$t1w" "$pyw")x python wall)"
echo "tokenize: tokenize --text, $threads threads      wall $tnw  cpu $tnc  ($(ratio "$tnw" "$trw")x tr wall, $(ratio "$tnw" "$pyw")x python wall)"
