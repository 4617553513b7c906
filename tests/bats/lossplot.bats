#!/usr/bin/env bats
# lossplot: terminal output against golden files, PNG and SVG checked by
# outside tools (pngcheck, Pillow, xmllint; skipped when absent), bad input,
# --follow.

setup() {
	D=$(cd "$BATS_TEST_DIRNAME/../data/lossplot" && pwd)
	T=$BATS_TEST_TMPDIR
	PY=/usr/bin/python3
	export NO_COLOR=1
}

has_pil() {
	[ -x "$PY" ] && "$PY" -c 'import PIL' 2>/dev/null
}

teardown() {
	[ -z "${FOLLOW_PID:-}" ] || kill "$FOLLOW_PID" 2>/dev/null || true
}

# Runs lossplot --follow in the background with standard output to
# $T/follow.out (and bats' fd 3 closed, or bats would wait for it).
start_follow() {
	lossplot --follow "$@" >"$T/follow.out" 2>"$T/follow.err" 3>&- &
	FOLLOW_PID=$!
}

# Waits up to 10 s for a file to contain a string.
wait_for() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1"
	cat "$1" 2>/dev/null
	return 1
}

stop_follow() {
	kill -INT "$FOLLOW_PID"
	wait "$FOLLOW_PID"
	FOLLOW_PID=
}

@test "lossplot --help and --version print to stdout and exit 0" {
	run lossplot --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	[[ "$output" == *--smooth* ]]
	[[ "$output" == *Example* ]]
	run lossplot --version
	[ "$status" -eq 0 ]
	[[ "$output" == "lossplot (cnnkit) "* ]]
}

@test "lossplot: usage errors exit 2 with a usage" {
	for args in "--bogus" "--smooth 1" "--smooth x" "--size 10" "--size 0x5" "--xrange 3:1" \
		"--yrange 5" "-o out.jpg" "-o -" "--logy --yrange 0:1" "--format gif" \
		"--label a --label b $D/run.tsv"; do
		# shellcheck disable=SC2086
		run lossplot $args
		echo "$args -> $status: $output"
		[ "$status" -eq 2 ]
		[[ "$output" == *usage:* ]]
	done
}

@test "lossplot: the terminal plot of a fixed log matches its golden file" {
	run lossplot --size 60x15 "$D/run.tsv"
	[ "$status" -eq 0 ]
	diff -u "$D/run_60x15.golden" <(lossplot --size 60x15 "$D/run.tsv")
	# The same from standard input.
	lossplot --size 60x15 <"$D/run.tsv" | diff -u "$D/run_60x15.golden" -
	lossplot --size 60x15 - <"$D/run.tsv" | diff -u "$D/run_60x15.golden" -
}

@test "lossplot: two runs (TSV and CSV) with labels, a title and -y match their golden file" {
	lossplot --size 80x24 --label adam --label sgd -y loss,val_loss --title "two runs" \
		"$D/run.tsv" "$D/run2.csv" >"$T/out.txt"
	diff -u "$D/two_runs_80x24.golden" "$T/out.txt"
}

@test "lossplot: the terminal size comes from COLUMNS and LINES, else 80x24" {
	run env -u COLUMNS -u LINES lossplot "$D/run.tsv"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 24 ]
	COLUMNS=100 LINES=31 run lossplot "$D/run.tsv"
	[ "${#lines[@]}" -eq 30 ]
	[[ "${lines[0]}" == *"── loss"* ]]
}

@test "lossplot: colours only on a terminal without NO_COLOR" {
	run lossplot --size 60x15 "$D/run.tsv"
	[[ "$output" != *$'\033'* ]]
	command -v script >/dev/null || skip "no script(1) to fake a terminal"
	NO_COLOR= script -qec "lossplot --size 60x15 $D/run.tsv" /dev/null >"$T/tty.txt"
	grep -q $'\033\\[34m' "$T/tty.txt"
	NO_COLOR=1 script -qec "lossplot --size 60x15 $D/run.tsv" /dev/null >"$T/tty.txt"
	! grep -q $'\033\\[3' "$T/tty.txt"
}

@test "lossplot -o out.png: a valid PNG (pngcheck, Pillow) of the requested size" {
	run lossplot --title "Fashion-MNIST" -o "$T/out.png" "$D/run.tsv"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(head -c 8 "$T/out.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	[ ! -e "$T/out.png".* ] || false
	if command -v pngcheck >/dev/null; then
		pngcheck "$T/out.png"
	else
		echo "# pngcheck not installed: not checked" >&3
	fi
	lossplot --size 640x400 -o "$T/small.png" "$D/run.tsv"
	has_pil || skip "no Pillow under $PY"
	"$PY" -c '
import sys
from PIL import Image
im = Image.open(sys.argv[1]); im.load()
assert im.size == (800, 500) and im.mode == "RGB", (im.size, im.mode)
im = Image.open(sys.argv[2]); im.load()
assert im.size == (640, 400), im.size
' "$T/out.png" "$T/small.png"
}

@test "lossplot: screenshot check: curves in the plot area, text in the margins" {
	has_pil || skip "no Pillow under $PY"
	lossplot -o "$T/shot.png" "$D/run.tsv"
	"$PY" - "$T/shot.png" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
px = im.load()
def coloured(p): return max(p) - min(p) > 80          # a series' colour
def dark(p): return max(p) < 110                       # text and axes
# The plot area lies right of the y labels and above the x labels.
area = [px[x, y] for x in range(int(w * 0.15), int(w * 0.95)) for y in range(int(h * 0.1), int(h * 0.85))]
n_col = sum(coloured(p) for p in area)
assert n_col > 2000, "too little ink in the plot area: %d" % n_col
# Left margin: y tick labels and the y label; bottom margin: x tick labels and "step".
left = sum(dark(px[x, y]) for x in range(0, int(w * 0.09)) for y in range(h))
bottom = sum(dark(px[x, y]) for x in range(w) for y in range(int(h * 0.9), h))
assert left > 300, "no text in the left margin: %d" % left
assert bottom > 150, "no text in the bottom margin: %d" % bottom
# Both panels: the blue training curve above and below the middle.
blue = lambda p: p[2] - p[0] > 100
top = sum(blue(px[x, y]) for x in range(w) for y in range(0, h // 2))
low = sum(blue(px[x, y]) for x in range(w) for y in range(h // 2, h))
assert top > 200 and low > 200, (top, low)
EOF
}

@test "lossplot -o out.svg: well-formed XML with real text" {
	lossplot --title 'a <b> & "c"' --smooth 0.6 -o "$T/out.svg" "$D/run.tsv" "$D/run2.csv"
	grep -q '<text' "$T/out.svg"
	grep -q 'run2: val_loss (min' "$T/out.svg"
	grep -q 'a &lt;b&gt; &amp; &quot;c&quot;' "$T/out.svg"
	grep -q 'stroke-opacity' "$T/out.svg"
	command -v xmllint >/dev/null || skip "xmllint (libxml2-utils) not installed"
	xmllint --noout "$T/out.svg"
}

@test "lossplot --format writes to standard output; PNG never to a terminal" {
	lossplot --format svg -o - "$D/run.tsv" >"$T/a.svg"
	head -1 "$T/a.svg" | grep -q '<?xml'
	lossplot --format png -o - "$D/run.tsv" | head -c 4 | od -An -c | grep -q P
	lossplot --format text -o - --size 60x15 "$D/run.tsv" | diff -u "$D/run_60x15.golden" -
}

@test "lossplot: a missing column names the columns there are" {
	run lossplot -y val_los "$D/run.tsv"
	[ "$status" -eq 1 ]
	[[ "$output" == *'no column "val_los"'*"epoch, step, seconds, lr, loss, acc, val_loss, val_acc"* ]]
	run lossplot -x stepz "$D/run.tsv"
	[ "$status" -eq 1 ]
	[[ "$output" == *'no column "stepz"'* ]]
	printf 'a\tb\n1\t2\n' >"$T/plain.tsv"
	run lossplot "$T/plain.tsv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no column named like a loss"*"columns: a, b"*"-y"* ]]
	run lossplot -y b "$T/plain.tsv"
	[ "$status" -eq 0 ]
}

@test "lossplot: an empty log, a header alone, a missing file are errors" {
	: >"$T/empty.tsv"
	run lossplot "$T/empty.tsv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"empty.tsv: empty log (no header line)"* ]]
	printf 'step\tloss\n' >"$T/header.tsv"
	run lossplot "$T/header.tsv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no data rows"* ]]
	run lossplot "$T/none.tsv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"none.tsv: No such file"* ]]
	run lossplot -o "$T/out.png" </dev/null
	[ "$status" -eq 1 ]
	[ ! -e "$T/out.png" ]
}

@test "lossplot: nan and inf, ragged lines and words are skipped with warnings" {
	printf 'step\tloss\tacc\n1\t2\t0.1\n2\tnan\t0.2\n3\t1\n4\tinf\tx\n5\t0.5\t0.4\t7\n6\t0.4\t0.5\n' \
		>"$T/bad.tsv"
	run lossplot --size 60x15 "$T/bad.tsv"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *'column "loss": 2 nan or inf values left out'* ]]
	[[ "$output" == *'column "acc": 1 cell is not a number (first on line 5)'* ]]
	[[ "$output" == *"2 lines with a number of cells other than the header's 3, skipped: lines 4, 6"* ]]
	# Warnings only about the columns plotted.
	run lossplot -y acc --size 60x15 "$T/bad.tsv"
	[[ "$output" != *'column "loss"'* ]]
}

@test "lossplot --logy leaves out values <= 0 with a warning; --xrange/--yrange limit the axes" {
	printf 'step\tloss\n1\t1\n2\t0\n3\t0.01\n' >"$T/zero.tsv"
	run lossplot --logy --size 60x15 "$T/zero.tsv"
	[ "$status" -eq 0 ]
	[[ "$output" == *'1 value <= 0 left out'* ]]
	[[ "$output" == *"0.01"* ]]
	run lossplot --xrange 200:400 --yrange 0:1 --size 60x15 "$D/run.tsv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"┤"* ]]
	[[ "$output" == *"300"* ]]
	[[ "$output" != *"500"* ]]
}

@test "lossplot: a write error is a failure; no partial output file" {
	[ -w /dev/full ] || skip "no /dev/full"
	run sh -c "lossplot --size 60x15 '$D/run.tsv' >/dev/full"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lossplot: standard output: No space left"* ]]
	run lossplot -o "$T/nodir/out.png" "$D/run.tsv"
	[ "$status" -eq 1 ]
	[ ! -e "$T/nodir" ]
	chmod 555 "$T" && touch "$T/probe" 2>/dev/null && skip "running as a user who ignores modes"
	run lossplot -o "$T/ro.png" "$D/run.tsv"
	chmod 755 "$T"
	[ "$status" -eq 1 ]
}

@test "lossplot --follow redraws as rows are appended, and after a truncation" {
	head -3 "$D/run.tsv" >"$T/live.tsv"
	start_follow --size 60x15 "$T/live.tsv"
	wait_for "$T/follow.out" "── loss"
	# Ten rows more and the first epoch's validation row appear.
	sed -n 4,11p "$D/run.tsv" >>"$T/live.tsv"
	wait_for "$T/follow.out" "val_loss (min 0.5344 at 200)"
	# Half a line is not read until it is whole.
	printf '1.1000\t220\t18' >>"$T/live.tsv"
	sleep 0.5
	printf '.700\t0.05\t0.431407\t0.846774\t\t\n' >>"$T/live.tsv"
	# A new run replaces the log: drawn from its start.
	printf 'step\tloss\n1\t5\n2\t4\n' >"$T/live.tsv"
	wait_for "$T/follow.out" "5.0┤"
	stop_follow
	[ ! -s "$T/follow.err" ] || { cat "$T/follow.err"; false; }
}

@test "lossplot --follow -o rewrites the picture; SIGINT ends it with status 0" {
	head -3 "$D/run.tsv" >"$T/live.tsv"
	start_follow -o "$T/live.svg" "$T/live.tsv"
	wait_for "$T/live.svg" "</svg>"
	sed -n 4,11p "$D/run.tsv" >>"$T/live.tsv"
	wait_for "$T/live.svg" "val_loss (min"
	stop_follow
	ls "$T" | { ! grep -q 'live.svg.'; }
}
