#!/bin/sh
# Run the C unit tests and the bats tests, count TAP lines, end with "N passed, M failed".
#   tests/run.sh [unit|bats] [bats-file...]
# Environment: BUILD (default build), the build directory holding bin/ and tests/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
export BUILD CK_TOP="$top"
PATH="$BUILD/bin:$PATH"
export PATH
what=${1:-all}
[ $# -gt 0 ] && shift

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		echo "# unit: $(basename "$t")"
		# Run from the top so tests find their data under tests/.
		(cd "$top" && "$t") >"$log.one" 2>&1
		rc=$?
		cat "$log.one"; cat "$log.one" >>"$log"
		if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log.one"; then
			echo "not ok - $(basename "$t") exited with status $rc"
			echo "not ok - $(basename "$t") exited with status $rc" >>"$log"
		fi
		rm -f "$log.one"
	done
fi

if [ "$what" = all ] || [ "$what" = bats ]; then
	if [ $# -gt 0 ]; then files="$*"; else files=$(ls "$top"/tests/bats/*.bats 2>/dev/null); fi
	for f in $files; do
		echo "# bats: $(basename "$f")"
		bats --tap "$f" >"$log.one" 2>&1
		rc=$?
		cat "$log.one"; cat "$log.one" >>"$log"
		if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log.one"; then
			echo "not ok - $(basename "$f") exited with status $rc" | tee -a "$log"
		fi
		rm -f "$log.one"
	done
fi

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
[ "$failed" -eq 0 ] || status=1
[ "$passed" -gt 0 ] || status=1
if [ "$failed" -gt 0 ]; then
	echo "# failures:"
	grep '^not ok ' "$log"
fi
echo "$passed passed, $failed failed"
exit $status
