#!/bin/sh
# Runs the libFuzzer programs built by `make fuzz`, FUZZ_JOBS at a time, each
# for FUZZ_SECONDS, and prints one line per target: executions, executions per
# second, and the crashes found.
#   tests/fuzz/run.sh TARGET...
# Environment: FUZZ_BUILD (the programs; default build/fuzz), FUZZ_SECONDS
# (default 60), FUZZ_JOBS (default 2).
#
# Each target reads its seeds from tests/fuzz/corpus/<target>, past crashes
# from tests/fuzz/regress/<target> and the directories tests/fuzz/seeds.txt
# names; new inputs go to $FUZZ_BUILD/corpus/<target> (kept between runs),
# crashes, leaks and timeouts to tests/fuzz/crashes/<target>/, the log to
# $FUZZ_BUILD/log/<target>.log. Exits 1 if any target found something.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-2}

# The longest input worth trying, per format: room for a few chunks or
# records, small enough to keep the executions fast.
max_len() {
	case $1 in
	tnz|npz) echo 65536 ;;
	embed) echo 16384 ;;
	tokenize) echo 4096 ;;
	vocab) echo 8192 ;;
	png|jpeg) echo 32768 ;;
	npy|idx|pnm) echo 16384 ;;
	arch|csv|plotlog) echo 8192 ;;
	*) echo 16384 ;;
	esac
}

run_one() {
	t=$1
	mkdir -p "$FUZZ_BUILD/corpus/$t" "$FUZZ_BUILD/log" "tests/fuzz/crashes/$t"
	dirs=""
	for d in "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" \
		$(awk -v t="$t" '$1 == t { print $2 }' tests/fuzz/seeds.txt); do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	# -timeout: a hang is a finding; -rss_limit_mb: so is a runaway allocation.
	# shellcheck disable=SC2086
	"$FUZZ_BUILD/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="tests/fuzz/crashes/$t/" \
		"$FUZZ_BUILD/corpus/$t" $dirs >"$FUZZ_BUILD/log/$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_BUILD/log/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$FUZZ_BUILD/log/$t.log")
	found=$(ls "tests/fuzz/crashes/$t" | wc -l)
	printf '%-8s %10s execs %7s exec/s  %s crash files  exit %s\n' \
		"$t" "${execs:-?}" "${rate:-?}" "$found" "$rc"
	[ "$rc" -eq 0 ]
}

status=0
pids=""
running=0
fail=$(mktemp)
trap 'rm -f "$fail"' EXIT
for t in "$@"; do
	if [ ! -x "$FUZZ_BUILD/fuzz_$t" ]; then
		echo "$t: $FUZZ_BUILD/fuzz_$t not built" >&2
		status=1
		continue
	fi
	(run_one "$t" || echo "$t" >>"$fail") &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$FUZZ_JOBS" ]; then
		# POSIX sh has no `wait -n`: wait for the oldest job of the batch.
		set -- $pids
		wait "$1"
		shift
		pids="$*"
		running=$((running - 1))
	fi
done
wait
if [ -s "$fail" ]; then
	echo "fuzz: found something in: $(tr '\n' ' ' <"$fail")(see tests/fuzz/crashes/ and $FUZZ_BUILD/log/)" >&2
	status=1
fi
exit $status
