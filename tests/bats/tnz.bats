#!/usr/bin/env bats
# tnz(1): every subcommand on small files made here, checked value by value
# with an independent reader (helpers/tnz-data.bash), plus the failure
# contract: exit codes, messages, no partial outputs, damaged inputs.

load helpers/tnz-data

setup() {
	cd "$BATS_TEST_TMPDIR"
	# ds.tnz: 12 rows; x row i is 4i..4i+3, y row i is i, so a row's x and y
	# can be matched after any reordering; "scale" has rank 0.
	mktnz ds.tnz 'meta["classes"] = "a\nb\nc"; meta["note"] = "twelve rows"
tensors = [("x", "u8", (12, 2, 2), list(range(48))),
           ("y", "i32", (12,), list(range(12))),
           ("scale", "f32", (), [0.5])]'
	# rows.tnz: the same rows without the rank-0 tensor, which cannot append.
	mktnz rows.tnz 'meta["classes"] = "a\nb\nc"
tensors = [("x", "u8", (12, 2, 2), list(range(48))), ("y", "i32", (12,), list(range(12)))]'
}

# The values of tensor NAME in FILE, one line.
values() {
	dumptnz "$1" | awk -v n="$2" '$1 == n { for (i = 4; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : ""); print "" }'
}

# The shape of tensor NAME in FILE, e.g. "(12,2,2)".
shape() {
	dumptnz "$1" | awk -v n="$2" '$1 == n { print $3 }'
}

# ---- help, version, usage errors --------------------------------------------

@test "help and version go to stdout with exit 0" {
	run tnz --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"tnz info"* && "$output" == *"tnz split"* ]]
	run tnz split --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: tnz split (--ratio F | --count N)"* ]]
	[[ "$output" == *"--stratify NAME"* ]]
	run tnz --version
	[ "$status" -eq 0 ]
	[[ "$output" == "tnz (cnnkit) "* ]]
}

@test "the man page synopsis matches the usage text" {
	man="$CK_TOP/man/tnz.1"
	[ -f "$man" ] || skip "no man page"
	syn=$(MANWIDTH=300 groff -man -Tutf8 -P -cbou "$man" 2>/dev/null |
		awk '/^SYNOPSIS/ { on = 1; next } on && /^$/ { exit } on { sub(/^ +/, ""); print }')
	usage=$(for c in info cat head split shuffle meta import export png; do tnz $c --help; done |
		sed -n 's/^usage: //p; s/^       tnz/tnz/p')
	[ "$syn" = "$usage" ]
	run groff -ww -man -Tutf8 "$man"
	[ "$status" -eq 0 ]
	[ -z "$(groff -ww -man -Tutf8 "$man" 2>&1 >/dev/null)" ]
}

@test "usage errors exit 2 with a usage on stderr" {
	for args in "frobnicate" "" "info --bogus" "head -n abc ds.tnz" "head -n -1 ds.tnz" \
		"cat -l 10 ds.tnz" "cat -l 1x ds.tnz" "cat --threads 0 ds.tnz" \
		"cat --shuffle maybe ds.tnz" "split --ratio 1.5 -o a -o b ds.tnz" \
		"split --ratio 0.5 ds.tnz" "split --ratio 0.5 --count 3 -o a -o b ds.tnz" \
		"shuffle --seed x ds.tnz" "meta ds.tnz -s novalue -o o.tnz" "meta -s k=v ds.tnz" \
		"meta ds.tnz a b c" "cat -o a -o b ds.tnz" "head -n"; do
		run tnz $args
		echo "args: $args -> $status: $output"
		[ "$status" -eq 2 ]
		[[ "$output" == *"tnz"* ]]
	done
	run tnz frobnicate
	[[ "$output" == *"'frobnicate' is not a command"* ]]
	run tnz cat -l 10 ds.tnz
	[[ "$output" == *"-l: '10' is not an integer from 0 to 9"* ]]
	[[ "$output" == *"usage: tnz cat"* ]]
}

# ---- info -------------------------------------------------------------------

@test "info lists tensors and metadata" {
	run tnz info ds.tnz
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "ds.tnz: 3 tensors, 2 metadata keys, 1 file" ]]
	[[ "$output" =~ x\ +u8\ +\(12,\ 2,\ 2\)\ +12\ +48\  ]]
	[[ "$output" =~ y\ +i32\ +\(12,\)\ +12\ +48\  ]]
	[[ "$output" =~ scale\ +f32\ +\(\)\ +-\ +4\  ]]
	[[ "$output" =~ classes\ +5\ +\(3\ lines,\ 5\ bytes\) ]]
	[[ "$output" =~ note\ +11\ +twelve\ rows ]]
}

@test "info reads standard input, and concatenated files as one stream" {
	run tnz info <ds.tnz
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "standard input: 3 tensors, 2 metadata keys, 1 file" ]]
	run bash -c 'cat rows.tnz rows.tnz | tnz info -'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"2 tensors, 1 metadata key, 2 files" ]]
	[[ "$output" =~ x\ +u8\ +\(24,\ 2,\ 2\)\ +24\ +96\  ]]
	[[ "$output" =~ y\ +i32\ +\(24,\)\ +24\ +96\  ]]
}

@test "info --json" {
	run tnz info --json ds.tnz
	[ "$status" -eq 0 ]
	echo "$output" | "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
t = {x["name"]: x for x in d["tensors"]}
assert d["files"] == 1 and t["x"]["shape"] == [12, 2, 2] and t["x"]["rows"] == 12
assert t["x"]["raw_bytes"] == 48 and t["y"]["dtype"] == "i32" and t["scale"]["shape"] == []
m = {x["key"]: x for x in d["metadata"]}
assert m["classes"]["value"] == "a\nb\nc" and m["classes"]["lines"] == 3
'
}

@test "info of several files reports each" {
	mktnz one.tnz 'tensors = [("v", "f64", (3,), [1, 2, 3])]'
	run tnz info ds.tnz one.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *"ds.tnz: 3 tensors"* && "$output" == *"one.tnz: 1 tensor, 0 metadata keys, 1 file"* ]]
}

# ---- cat --------------------------------------------------------------------

@test "cat appends same-name tensors and merges metadata" {
	mktnz more.tnz 'meta["classes"] = "a\nb\nc"; meta["extra"] = "yes"
tensors = [("x", "u8", (2, 2, 2), list(range(100, 108))), ("y", "i32", (2,), [100, 101])]'
	run tnz cat ds.tnz more.tnz -o out.tnz
	[ "$status" -eq 0 ]
	[ "$(shape out.tnz x)" = "(14,2,2)" ]
	[ "$(values out.tnz y)" = "0 1 2 3 4 5 6 7 8 9 10 11 100 101" ]
	[ "$(values out.tnz x)" = "$(seq -s ' ' 0 47) $(seq -s ' ' 100 107)" ]
	[ "$(values out.tnz scale)" = "0.5" ]
	dumptnz out.tnz | grep -qx 'meta classes=a\\nb\\nc'
	dumptnz out.tnz | grep -qx 'meta extra=yes'
	dumptnz out.tnz | grep -qx 'meta note=twelve rows'
}

@test "cat: the later metadata wins, with a warning for classes" {
	mktnz b.tnz 'meta["classes"] = "z"; meta["note"] = "later"'
	run tnz cat ds.tnz b.tnz -o out.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *"tnz: b.tnz: warning: \"classes\" differs"* ]]
	[ "$(tnz meta out.tnz classes)" = z ]
	[ "$(tnz meta out.tnz note)" = later ]
	run tnz cat -q ds.tnz b.tnz -o out.tnz
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "cat refuses tensors that cannot append" {
	mktnz bad.tnz 'tensors = [("x", "u8", (2, 3), list(range(6)))]'
	run tnz cat ds.tnz bad.tnz -o out.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"tensor \"x\": cannot append"* ]]
	[ ! -e out.tnz ]
	mktnz r0.tnz 'tensors = [("scale", "f32", (), [1.0])]'
	run tnz cat ds.tnz r0.tnz -o out.tnz
	[ "$status" -eq 1 ]
	[ ! -e out.tnz ]
}

@test "cat recompresses: -l 0 stores, -l 9 compresses, values kept" {
	mktnz big.tnz 'tensors = [("w", "f32", (256, 64), [float(i % 7) for i in range(256 * 64)])]'
	tnz cat -l 0 big.tnz -o stored.tnz
	tnz cat -l 9 --shuffle on big.tnz -o packed.tnz
	s=$(tnz info --json stored.tnz | "$PY" -c 'import json,sys; t=json.load(sys.stdin)["tensors"][0]; print(t["raw_bytes"], t["stored_bytes"] >= t["raw_bytes"], t["filter"])')
	[ "$s" = "65536 True none" ]
	p=$(tnz info --json packed.tnz | "$PY" -c 'import json,sys; t=json.load(sys.stdin)["tensors"][0]; print(t["stored_bytes"] < 4096, t["filter"])')
	[ "$p" = "True shuffle" ]
	[ "$(values stored.tnz w)" = "$(values big.tnz w)" ]
	[ "$(values packed.tnz w)" = "$(values big.tnz w)" ]
}

@test "cat reads standard input and writes standard output" {
	tnz cat <ds.tnz >out.tnz
	[ "$(values out.tnz x)" = "$(values ds.tnz x)" ]
	cat rows.tnz rows.tnz | tnz cat - >out2.tnz
	[ "$(shape out2.tnz y)" = "(24)" ]
}

@test "cat keeps tensors written with an unknown row count and many chunks" {
	mktnz s.tnz 'tensors = [("x", "i16", (50, 3), list(range(-75, 75)), {"unknown": 1, "chunk": 7, "filter": 1})]'
	tnz cat s.tnz -o out.tnz
	[ "$(shape out.tnz x)" = "(50,3)" ]
	[ "$(values out.tnz x)" = "$(seq -s ' ' -75 74)" ]
}

@test "cat and head keep tensors with empty rows" {
	mktnz e.tnz 'tensors = [("e", "f32", (5, 0), [], {"unknown": 1}), ("k", "u8", (5, 0), [])]'
	tnz cat e.tnz -o c.tnz
	[ "$(shape c.tnz e)" = "(5,0)" ]
	tnz head -n 2 e.tnz -o h.tnz
	[ "$(shape h.tnz e)" = "(2,0)" ]
	[ "$(shape h.tnz k)" = "(2,0)" ]
}

# ---- head -------------------------------------------------------------------

@test "head keeps the first rows of every row tensor" {
	run tnz head -n 5 ds.tnz -o h.tnz
	[ "$status" -eq 0 ]
	[ "$(shape h.tnz x)" = "(5,2,2)" ]
	[ "$(values h.tnz x)" = "$(seq -s ' ' 0 19)" ]
	[ "$(values h.tnz y)" = "0 1 2 3 4" ]
	[ "$(values h.tnz scale)" = "0.5" ]
	[ "$(tnz meta h.tnz note)" = "twelve rows" ]
	tnz head ds.tnz -o h10.tnz
	[ "$(shape h10.tnz y)" = "(10)" ]
	tnz head -n 100 ds.tnz -o all.tnz
	[ "$(values all.tnz x)" = "$(values ds.tnz x)" ]
	tnz head -n 0 ds.tnz -o none.tnz
	[ "$(shape none.tnz x)" = "(0,2,2)" ]
}

@test "head across concatenated files and unknown row counts" {
	mktnz u.tnz 'tensors = [("y", "i32", (12,), list(range(12, 24)), {"unknown": 1, "chunk": 5})]'
	cat ds.tnz u.tnz | tnz head -n 15 >h.tnz
	[ "$(values h.tnz y)" = "$(seq -s ' ' 0 14)" ]
	[ "$(shape h.tnz x)" = "(12,2,2)" ]
	tnz head -n 3 u.tnz -o h3.tnz
	[ "$(values h3.tnz y)" = "12 13 14" ]
}

# ---- shuffle ----------------------------------------------------------------

@test "shuffle permutes rows together and is reproducible" {
	tnz shuffle --seed 7 ds.tnz -o s1.tnz
	tnz shuffle --seed 7 ds.tnz -o s2.tnz
	tnz shuffle --seed 8 ds.tnz -o s3.tnz
	cmp s1.tnz s2.tnz
	! cmp -s s1.tnz s3.tnz
	y=$(values s1.tnz y)
	[ "$y" != "$(values ds.tnz y)" ]
	[ "$(echo $y | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(seq -s ' ' 0 11) " ]
	# x row k must still be row y[k] of the input: 4y .. 4y+3.
	expect=$(for i in $y; do printf '%d %d %d %d ' $((4 * i)) $((4 * i + 1)) $((4 * i + 2)) $((4 * i + 3)); done)
	[ "$(values s1.tnz x) " = "$expect" ]
	[ "$(values s1.tnz scale)" = "0.5" ]
	[ "$(tnz meta s1.tnz classes | wc -l)" -eq 3 ]
	tnz shuffle --seed 7 --threads 1 <ds.tnz >s4.tnz
	cmp s1.tnz s4.tnz
}

@test "shuffle refuses row tensors of different lengths" {
	mktnz odd.tnz 'tensors = [("x", "u8", (4,), [1, 2, 3, 4]), ("y", "u8", (3,), [1, 2, 3])]'
	run tnz shuffle odd.tnz -o o.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"odd.tnz: tensor \"x\" has 4 rows and \"y\" 3"* ]]
	[ ! -e o.tnz ]
}

# ---- split ------------------------------------------------------------------

@test "split by ratio and count keeps rows together and in order" {
	run tnz split --ratio 0.75 --seed 3 ds.tnz -o a.tnz -o b.tnz
	[ "$status" -eq 0 ]
	[ "$(shape a.tnz x)" = "(9,2,2)" ]
	[ "$(shape b.tnz y)" = "(3)" ]
	ya=$(values a.tnz y) yb=$(values b.tnz y)
	[ "$(echo $ya $yb | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(seq -s ' ' 0 11) " ]
	[ "$(echo $ya | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$ya " ]
	expect=$(for i in $yb; do printf '%d %d %d %d ' $((4 * i)) $((4 * i + 1)) $((4 * i + 2)) $((4 * i + 3)); done)
	[ "$(values b.tnz x) " = "$expect" ]
	[ "$(values b.tnz scale)" = "0.5" ]
	[ "$(tnz meta b.tnz note)" = "twelve rows" ]
	tnz split --count 5 ds.tnz -o c.tnz -o d.tnz
	[ "$(shape c.tnz y)" = "(5)" ]
	[ "$(shape d.tnz y)" = "(7)" ]
	tnz split --count 5 ds.tnz -o c2.tnz -o d2.tnz
	cmp c.tnz c2.tnz
	tnz split --count 0 ds.tnz -o e.tnz -o f.tnz
	[ "$(shape e.tnz x)" = "(0,2,2)" ]
	[ "$(values f.tnz y)" = "$(values ds.tnz y)" ]
}

@test "split --stratify splits every class in proportion" {
	# 40 rows: 20 of class 0, 10 of class 1, 10 of class 2, interleaved.
	mktnz c.tnz 'lab = [0, 1, 0, 2] * 10
tensors = [("x", "i32", (40,), list(range(40))), ("y", "u8", (40,), lab)]'
	count() { dumptnz "$1" | awk -v c="$2" '$1 == "y" { n = 0; for (i = 4; i <= NF; i++) n += ($i == c); print n }'; }
	tnz split --ratio 0.5 --stratify y --seed 1 c.tnz -o a.tnz -o b.tnz
	[ "$(count a.tnz 0) $(count a.tnz 1) $(count a.tnz 2)" = "10 5 5" ]
	[ "$(count b.tnz 0) $(count b.tnz 1) $(count b.tnz 2)" = "10 5 5" ]
	tnz split --ratio 0.8 --stratify y c.tnz -o a.tnz -o b.tnz
	[ "$(count a.tnz 0) $(count a.tnz 1) $(count a.tnz 2)" = "16 8 8" ]
	# 0.3 of 40 = 12: quotas 6, 3, 3.
	tnz split --count 12 --stratify y --seed 9 c.tnz -o a.tnz -o b.tnz
	[ "$(count a.tnz 0) $(count a.tnz 1) $(count a.tnz 2)" = "6 3 3" ]
	# Rows stay paired: x = row index, y = lab[row].
	dumptnz a.tnz | "$PY" -c '
import sys
d = {l.split()[0]: [int(v) for v in l.split()[3:]] for l in sys.stdin if not l.startswith("meta")}
lab = [0, 1, 0, 2] * 10
assert [lab[i] for i in d["x"]] == d["y"], d'
	# 13 rows: remainders 6.5, 3.25, 3.25 -> the largest (class 0) gets the extra row.
	tnz split --count 13 --stratify y c.tnz -o a.tnz -o b.tnz
	[ "$(count a.tnz 0) $(count a.tnz 1) $(count a.tnz 2)" = "7 3 3" ]
}

@test "split failures" {
	run tnz split --count 13 ds.tnz -o a.tnz -o b.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"--count 13 is more than the 12 rows"* ]]
	run tnz split --ratio 0.5 --stratify nope ds.tnz -o a.tnz -o b.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"no tensor \"nope\""* ]]
	run tnz split --ratio 0.5 --stratify x ds.tnz -o a.tnz -o b.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"needs rank 1"* ]]
	run tnz split --ratio 0.5 ds.tnz -o a.tnz -o nodir/b.tnz
	[ "$status" -eq 1 ]
	[ ! -e a.tnz ]
	echo keep >old.tnz
	run tnz split --ratio 0.5 ds.tnz -o nodir/a.tnz -o old.tnz
	[ "$status" -eq 1 ]
	[ "$(cat old.tnz)" = keep ]
	run tnz split --ratio 0.5 ds.tnz -o a.tnz -o a.tnz
	[ "$status" -eq 2 ]
}

# ---- meta -------------------------------------------------------------------

@test "meta lists keys and prints values" {
	run tnz meta ds.tnz
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'classes\nnote')" ]
	run tnz meta ds.tnz classes
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb\nc')" ]
	run tnz meta ds.tnz missing
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: ds.tnz: no metadata key \"missing\"" ]]
}

@test "meta set, get, delete round trip" {
	printf 'one\ntwo\n\n' >v.txt
	run tnz meta ds.tnz -s arch='conv 8 3; dense 2' -s classes=@v.txt -d note -s gone=1 -d gone -o m.tnz
	[ "$status" -eq 0 ]
	[ "$(tnz meta m.tnz arch)" = "conv 8 3; dense 2" ]
	[ "$(tnz meta m.tnz | sort | tr '\n' ' ')" = "arch classes " ]
	# The value is the file without its final newline; printing adds one.
	tnz meta m.tnz classes >got.txt
	cmp v.txt got.txt
	tnz meta m.tnz -s classes=@got.txt -o m2.tnz
	tnz meta m2.tnz classes | cmp - v.txt
	[ "$(values m.tnz x)" = "$(values ds.tnz x)" ]
	[ "$(values m.tnz scale)" = "0.5" ]
	echo piped | tnz meta ds.tnz -s from_stdin=@- -o m3.tnz
	[ "$(tnz meta m3.tnz from_stdin)" = piped ]
	tnz meta ds.tnz -s empty= -o m4.tnz
	[ "$(tnz meta m4.tnz empty)" = "" ]
}

@test "meta -i replaces the file in place" {
	cp ds.tnz in.tnz
	tnz meta -i -s note=changed in.tnz
	[ "$(tnz meta in.tnz note)" = changed ]
	[ "$(values in.tnz y)" = "$(values ds.tnz y)" ]
	[ "$(ls -A | grep -c .)" -eq 3 ]
	run tnz meta -i -s k=@missing.txt in.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: missing.txt: "* ]]
	[ "$(tnz meta in.tnz note)" = changed ]
}

# ---- failures ---------------------------------------------------------------

@test "a missing file, a non-TNZ file, an empty file" {
	run tnz info nope.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: nope.tnz: "*"No such file"* ]]
	echo hello >text.tnz
	run tnz info text.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: text.tnz: "*"not a TNZ file"* ]]
	: >empty.tnz
	run tnz cat empty.tnz -o out.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: empty.tnz: "*"empty"* ]]
	[ ! -e out.tnz ]
	run tnz info </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: standard input: empty file" ]]
}

@test "binary output to a terminal is refused" {
	command -v script >/dev/null || skip "no script(1) to make a terminal"
	run script -qec "tnz cat ds.tnz" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"tnz: standard output: refusing to write binary data to a terminal"* ]]
}

@test "the output does not depend on the thread count" {
	mktnz big.tnz 'tensors = [("w", "f32", (512, 1024), [float(i % 1000) for i in range(512 * 1024)], {"chunk": 100000})]'
	tnz cat --threads 1 -l 6 big.tnz -o one.tnz
	tnz cat --threads 2 -l 6 big.tnz -o two.tnz
	cmp one.tnz two.tnz
	tnz shuffle --threads 1 --seed 3 big.tnz -o s1.tnz
	tnz shuffle --threads 2 --seed 3 big.tnz -o s2.tnz
	cmp s1.tnz s2.tnz
}

@test "every truncation is an error and leaves no output" {
	size=$(stat -c %s ds.tnz)
	for ((n = 1; n < size; n += 3)); do
		head -c $n ds.tnz >cut.tnz
		for cmd in info "cat -o out.tnz" "shuffle -o out.tnz"; do
			run tnz $cmd cut.tnz
			[ "$status" -eq 1 ] || { echo "$cmd: $n bytes: status $status: $output"; false; }
			[[ "$output" == "tnz: cut.tnz: "* ]]
			[ ! -e out.tnz ]
		done
	done
	head -c $((size - 4)) ds.tnz >cut.tnz
	run tnz info cut.tnz
	[[ "$output" == *"truncated"* ]]
}

@test "random corruptions of a compressed file are errors, never crashes" {
	mktnz z.tnz 'import random
random.seed(5)
meta["classes"] = "\n".join("class%d" % i for i in range(10))
tensors = [("x", "f32", (64, 8), [random.random() for _ in range(512)], {"chunk": 100, "filter": 1}),
           ("y", "i32", (64,), [random.randrange(10) for _ in range(64)], {"chunk": 20})]'
	size=$(stat -c %s z.tnz)
	RANDOM=42
	for ((k = 0; k < 300; k++)); do
		cp z.tnz bad.tnz
		off=$(((RANDOM * 32768 + RANDOM) % size))
		printf "\\x$(printf %02x $((RANDOM % 256)))" |
			dd of=bad.tnz bs=1 seek=$off conv=notrunc status=none
		cmp -s z.tnz bad.tnz && continue
		run tnz info bad.tnz
		[ "$status" -eq 1 ] || { echo "offset $off: status $status: $output"; false; }
		[[ "$output" == "tnz: bad.tnz: "* ]]
		((k % 4)) && continue
		run tnz head -n 70 bad.tnz -o out.tnz
		[ "$status" -eq 1 ] && [ ! -e out.tnz ] || { echo "head: offset $off: $status $output"; false; }
	done
}

@test "write errors: /dev/full and a closed pipe are exit 1" {
	run bash -c 'tnz info ds.tnz >/dev/full'
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: "*"No space left on device"* ]]
	run bash -c 'tnz cat ds.tnz >/dev/full'
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: "* ]]
	run bash -c 'tnz meta ds.tnz classes >/dev/full'
	[ "$status" -eq 1 ]
	run tnz shuffle ds.tnz -o /dev/full
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: /dev/full: "*"No space left on device"* ]]
	mktnz big.tnz 'tensors = [("w", "u8", (1024, 1024), [i * 7 % 251 for i in range(1 << 20)], {"level": 0})]'
	run bash -c 'tnz cat -l 0 big.tnz | head -c 1 >/dev/null; echo "status ${PIPESTATUS[0]}"'
	[[ "$output" == *"tnz: "* ]]
	[[ "${lines[-1]}" == "status 1" ]]
}

@test "an output in a missing or read-only directory fails and leaves nothing" {
	run tnz cat ds.tnz -o nodir/out.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: nodir/out.tnz: "* ]]
	[ ! -e nodir ]
	# Not a directory at all: even root cannot write there.
	run tnz meta ds.tnz -s k=v -o ds.tnz/out.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: ds.tnz/out.tnz: "* ]]
	[ "$(ls -A | sort | tr '\n' ' ')" = "ds.tnz rows.tnz " ]
	[ "$(id -u)" -ne 0 ] || skip "root can write a read-only directory"
	mkdir ro && chmod 555 ro
	run tnz shuffle ds.tnz -o ro/out.tnz
	[ "$status" -eq 1 ]
	[ -z "$(ls -A ro)" ]
}

@test "a failure after some output leaves no file behind" {
	mktnz ok.tnz 'tensors = [("x", "u8", (2, 2, 2), list(range(8)))]'
	head -c 100 ds.tnz >cut.tnz
	run tnz cat ok.tnz cut.tnz -o out.tnz
	[ "$status" -eq 1 ]
	[ "$(ls -A | sort | tr '\n' ' ')" = "cut.tnz ds.tnz ok.tnz rows.tnz " ]
}

# ---- import and export ------------------------------------------------------

@test "import/export .npy: every dtype and rank round-trips bit for bit" {
	need_numpy
	/usr/bin/python3 -c '
import numpy as np
r = np.random.default_rng(1)
for dt in ["u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8", "?"]:
    a = (r.standard_normal((3, 4, 5)) * 100).astype(dt)
    np.save("a_%s.npy" % ("b1" if dt == "?" else dt), a)
np.save("r0.npy", np.array(3.5, dtype="f4"))
np.save("r1.npy", np.arange(7, dtype=">i4"))
np.save("fort.npy", np.asfortranarray(np.arange(12, dtype="i2").reshape(3, 4)))
np.save("empty.npy", np.zeros((0, 3), dtype="f4"))
'
	for f in a_*.npy r0.npy r1.npy fort.npy empty.npy; do
		stem=${f%.npy}
		tnz import "$f" -o "$stem.tnz"
		[ "$(tnz info --json "$stem.tnz" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tensors"][0]["name"])')" = "$stem" ]
		tnz export -o "back_$f" "$stem.tnz"
	done
	/usr/bin/python3 -c '
import glob, numpy as np
for f in sorted(glob.glob("a_*.npy")) + ["r0.npy", "r1.npy", "fort.npy", "empty.npy"]:
    a, b = np.load(f), np.load("back_" + f)
    assert a.shape == b.shape, (f, a.shape, b.shape)
    assert a.dtype.newbyteorder("<") == b.dtype.newbyteorder("<"), (f, a.dtype, b.dtype)
    assert np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes() == b.tobytes(), f
'
	[ "$(values a_i4.tnz a_i4 | wc -w)" -eq 60 ]
	tnz import --name w a_f4.npy -o w.tnz
	[ "$(tnz meta w.tnz created_by)" = "tnz import --name w a_f4.npy -o w.tnz" ]
	[ "$(shape w.tnz w)" = "(3,4,5)" ]
}

@test "import/export .npz both ways, export -t" {
	need_numpy
	/usr/bin/python3 -c '
import numpy as np
np.savez("s.npz", x=np.arange(24, dtype="f4").reshape(6, 4), y=np.arange(6, dtype="i8"))
np.savez_compressed("c.npz", x=np.arange(8, dtype="f4").reshape(2, 4), y=np.arange(2, dtype="i8"))
'
	tnz import s.npz c.npz -o sc.tnz
	[ "$(shape sc.tnz x)" = "(8,4)" ]
	[ "$(values sc.tnz y)" = "0 1 2 3 4 5 0 1" ]
	tnz import s.npz -o s.tnz
	[ "$(values s.tnz y)" = "0 1 2 3 4 5" ]
	tnz export -o out.npz s.tnz
	tnz export -l 6 -t y -o y.npz s.tnz
	tnz export -t x -o x.npy s.tnz
	/usr/bin/python3 -c '
import numpy as np
a, b = np.load("s.npz"), np.load("out.npz")
assert sorted(b.files) == ["x", "y"]
for k in "xy":
    assert a[k].dtype == b[k].dtype and (a[k] == b[k]).all(), k
assert np.load("y.npz").files == ["y"]
assert (np.load("x.npy") == a["x"]).all()
'
	run tnz export -o one.npy s.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"2 tensors: choose one with -t NAME"* ]]
	run tnz export -t nope -o one.npy s.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"no tensor \"nope\""* ]]
	[ ! -e one.npy ]
}

@test "import: tensors of the same name from several files append" {
	need_numpy
	/usr/bin/python3 -c '
import numpy as np
np.savez("a.npz", x=np.arange(6, dtype="i2").reshape(3, 2))
np.savez("b.npz", x=np.arange(6, 10, dtype="i2").reshape(2, 2))
np.savez("c.npz", x=np.arange(3, dtype="i2"))
'
	tnz import a.npz b.npz -o ab.tnz
	[ "$(shape ab.tnz x)" = "(5,2)" ]
	[ "$(values ab.tnz x)" = "0 1 2 3 4 5 6 7 8 9" ]
	run tnz import a.npz c.npz -o ac.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot append"* ]]
	[ ! -e ac.tnz ]
}

@test "import IDX: an images and labels pair becomes x and y" {
	# 3 images of 2x4 and their labels, big-endian IDX as in MNIST; labels gzipped.
	printf '\0\0\10\3\0\0\0\3\0\0\0\2\0\0\0\4' >img.idx
	for i in $(seq 0 23); do printf "\\$(printf %03o $((i * 10)))"; done >>img.idx
	printf '\0\0\10\1\0\0\0\3\7\0\11' | gzip -c >lab.idx.gz
	tnz import lab.idx.gz img.idx -o m.tnz
	[ "$(shape m.tnz x)" = "(3,1,2,4)" ]
	[ "$(values m.tnz x)" = "$(seq -s ' ' 0 10 230)" ]
	[ "$(values m.tnz y)" = "7 0 9" ]
	dumptnz m.tnz | grep -q '^x u8 ' && dumptnz m.tnz | grep -q '^y i32 '
	tnz import lab.idx.gz -o l.tnz
	[ "$(values l.tnz lab)" = "7 0 9" ]
	printf '\0\0\10\1\0\0\0\4\1\2\3\4' >lab4.idx
	run tnz import img.idx lab4.idx -o bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: img.idx and lab4.idx: "* ]]
	[ ! -e bad.tnz ]
	head -c 20 img.idx >cut.idx
	run tnz import cut.idx -o bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: cut.idx: "* ]]
}

@test "import Fashion-MNIST and compare with numpy" {
	d=/usr/share/datasets/fashion-mnist
	[ -f $d/t10k-images-idx3-ubyte.gz ] || skip "no $d"
	need_numpy
	tnz import $d/t10k-images-idx3-ubyte.gz $d/t10k-labels-idx1-ubyte.gz -o test.tnz
	run tnz info test.tnz
	[[ "$output" =~ x\ +u8\ +\(10000,\ 1,\ 28,\ 28\)\ +10000\ +7840000\  ]]
	[[ "$output" =~ y\ +i32\ +\(10000,\)\ +10000\ +40000\  ]]
	tnz export -o test.npz test.tnz
	/usr/bin/python3 -c '
import gzip, numpy as np
d = "'$d'"
img = np.frombuffer(gzip.open(d + "/t10k-images-idx3-ubyte.gz").read()[16:], dtype="u1")
lab = np.frombuffer(gzip.open(d + "/t10k-labels-idx1-ubyte.gz").read()[8:], dtype="u1")
z = np.load("test.npz")
assert z["x"].shape == (10000, 1, 28, 28) and z["x"].dtype == np.uint8
assert (z["x"].reshape(-1) == img).all()
assert z["y"].dtype == np.int32 and (z["y"] == lab).all()
'
	tnz split --ratio 0.9 --stratify y test.tnz -o tr.tnz -o val.tnz
	[ "$(tnz info --json val.tnz | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tensors"][1]["rows"])')" -eq 1000 ]
}

@test "import CSV with a label column, export CSV and TSV" {
	printf 'f1,f2,species\n1.5,2,cat\n3,-4.25,dog\n5,6,cat\n' >t.csv
	tnz import --label species t.csv -o t.tnz
	[ "$(shape t.tnz x)" = "(3,2)" ]
	[ "$(values t.tnz x)" = "1.5 2 3 -4.25 5 6" ]
	[ "$(values t.tnz y)" = "0 1 0" ]
	[ "$(tnz meta t.tnz classes)" = "$(printf 'cat\ndog')" ]
	tnz export -t x -o back.csv t.tnz
	[ "$(cat back.csv)" = "$(printf '1.5,2\n3,-4.25\n5,6')" ]
	tnz export -t y -f tsv t.tnz >y.tsv
	[ "$(cat y.tsv | tr '\n' ' ')" = "0 1 0 " ]
	printf '1\t2\n3\t4\n' | tnz import -f tsv - -o s.tnz
	[ "$(values s.tnz x)" = "1 2 3 4" ]
	printf '1,2\n3,x\n' >bad.csv
	run tnz import bad.csv -o bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: bad.csv"*"line"* ]]
	[ ! -e bad.tnz ]
}

@test "import and export usage and format errors" {
	echo hello >what.bin
	run tnz import what.bin -o w.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"what.bin: not a .npy, .npz, IDX, CSV or TSV file"* ]]
	run tnz import -o w.tnz
	[ "$status" -eq 2 ]
	run tnz import -f xls what.bin
	[ "$status" -eq 2 ]
	run tnz export -o out.xyz ds.tnz
	[ "$status" -eq 2 ]
	run tnz export -o - -f npz ds.tnz
	[ "$status" -eq 2 ]
	run tnz import nope.npy -o w.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: nope.npy: "*"No such file"* ]]
}

# ---- png --------------------------------------------------------------------

# Prints "MODE W H" and then every pixel value of a PNG, one line (Pillow).
pngpixels() {
	/usr/bin/python3 -c '
import sys
from PIL import Image
im = Image.open(sys.argv[1])
print(im.mode, im.size[0], im.size[1])
print(" ".join(str(v) for p in im.getdata() for v in (p if isinstance(p, tuple) else (p,))))' "$1"
}

have_pil() {
	/usr/bin/python3 -c 'import PIL' 2>/dev/null
}

# The width and height of a PNG from its IHDR (no Python needed).
pngsize() {
	od -An -tu1 -j16 -N8 "$1" | awk '{ print $3 * 256 + $4, $7 * 256 + $8 }'
}

@test "png: one image and a sheet of a u8 tensor, pixel for pixel" {
	# Two 1-channel 2x3 images: 0..5 and 10..15.
	mktnz im.tnz 'tensors = [("x", "u8", (2, 1, 2, 3), [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15])]'
	tnz png --index 1 -o one.png im.tnz
	[ "$(pngsize one.png)" = "3 2" ]
	tnz png --gap 2 -o sheet.png im.tnz
	[ "$(pngsize sheet.png)" = "8 2" ]
	if command -v pngcheck >/dev/null; then
		pngcheck -q one.png
		pngcheck -q sheet.png
	fi
	have_pil || skip "no Pillow for /usr/bin/python3"
	[ "$(pngpixels one.png | tr '\n' ' ')" = "L 3 2 10 11 12 13 14 15 " ]
	[ "$(pngpixels sheet.png | tr '\n' ' ')" = "L 8 2 0 1 2 128 128 10 11 12 3 4 5 128 128 13 14 15 " ]
}

@test "png: RGB planes interleave, f32 maps its range" {
	# One 3-channel 1x2 image: R plane 1 2, G plane 3 4, B plane 5 6.
	mktnz rgb.tnz 'tensors = [("img", "u8", (1, 3, 1, 2), [1, 2, 3, 4, 5, 6])]'
	tnz png -o rgb.png rgb.tnz
	mktnz f.tnz 'tensors = [("x", "f32", (1, 1, 1, 4), [0.0, 0.5, 1.0, 2.0]), ("y", "i32", (1,), [0])]'
	tnz png -o f.png f.tnz
	tnz png --range -1:1 -o r.png f.tnz
	have_pil || skip "no Pillow for /usr/bin/python3"
	[ "$(pngpixels rgb.png | tr '\n' ' ')" = "RGB 2 1 1 3 5 2 4 6 " ]
	# Not all in 0..1: min..max = 0..2.
	[ "$(pngpixels f.png | tr '\n' ' ')" = "L 4 1 0 64 128 255 " ]
	[ "$(pngpixels r.png | tr '\n' ' ')" = "L 4 1 128 191 255 255 " ]
}

@test "png: the size of a sheet" {
	mktnz many.tnz 'tensors = [("x", "u8", (70, 1, 3, 5), [i % 256 for i in range(70 * 15)])]'
	# 64 images by default: 8 x 8 cells of 5x3 with 1-pixel gaps.
	tnz png -o a.png many.tnz
	[ "$(pngsize a.png)" = "47 31" ]
	tnz png -n 10 --cols 4 --gap 0 -o b.png many.tnz
	[ "$(pngsize b.png)" = "20 9" ]
	tnz png -n 1000 --cols 10 -o c.png many.tnz
	[ "$(pngsize c.png)" = "59 27" ]
	tnz png -o - many.tnz >d.png
	cmp a.png d.png
}

@test "png: bad tensors and bad options" {
	mktnz bad.tnz 'tensors = [("r3", "u8", (2, 2, 2), [0] * 8), ("c2", "u8", (1, 2, 2, 2), [0] * 8),
           ("i", "i32", (1, 1, 1, 1), [0]), ("x", "u8", (2, 1, 2, 2), [0] * 8)]'
	run tnz png -t r3 -o o.png bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *'tensor "r3" has shape (2, 2, 2), not (N, C, H, W) with C 1 or 3'* ]]
	run tnz png -t c2 -o o.png bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *'tensor "c2" has shape (1, 2, 2, 2)'* ]]
	run tnz png -t i -o o.png bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *'tensor "i" is i32, not u8 or f32'* ]]
	run tnz png -t nope -o o.png bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *'bad.tnz: no tensor "nope"'* ]]
	run tnz png --index 2 -o o.png bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *'--index 2: tensor "x" has 2 images'* ]]
	[ ! -e o.png ]
	run tnz png -n 0 -o o.png bad.tnz
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "tnz: -n: at least 1 image" ]]
	[[ "${lines[1]}" == "usage: tnz png "* ]]
	run tnz png bad.tnz
	[ "$status" -eq 2 ]
	run tnz png --range 1:0 -o o.png bad.tnz
	[ "$status" -eq 2 ]
	run tnz png --range x -o o.png bad.tnz
	[ "$status" -eq 2 ]
	run tnz png --index 0 -n 3 -o o.png bad.tnz
	[ "$status" -eq 2 ]
	run tnz png -o o.png missing.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz: missing.tnz: "*"No such file"* ]]
	[ ! -e o.png ]
}
