#!/usr/bin/env bats
# Faults: what every program on main answers when the world misbehaves. A full
# disk, a reader that goes away, a directory it may not write, a hostile file
# that inflates or claims terabytes, and numbers out of range on every numeric
# option. Each case states what the program must answer; the README's "Limits and guarantees"
# sums them up in a table.
#
# Where a program is known to get a case wrong, the test checks the right
# behaviour and skips with "known:" when it sees the known wrong one, so the
# case becomes strict by itself once fixed.

setup_file() {
	local build=${BUILD:-${CK_TOP:-$BATS_TEST_DIRNAME/../..}/build}
	"$build/tests/test_data_fixtures" "$BATS_FILE_TMPDIR" >/dev/null
	# A labelled text corpus (tokenize) and a raw one (embed train).
	printf 'pos\tgood movie\nneg\tbad film\n' >"$BATS_FILE_TMPDIR/t.tsv"
	printf 'a b c a b c d e a b\n' >"$BATS_FILE_TMPDIR/w.txt"
}

setup() {
	top=${CK_TOP:-$BATS_TEST_DIRNAME/../..}
	cd "$BATS_FILE_TMPDIR"
	log=$top/tests/data/lossplot/run.tsv
	png=$top/tests/fuzz/corpus/png/rgb.png
	npy=$top/tests/data/io/le_f4.npy
}

# Runs "$@" with standard output to FILE, standard error captured: sets
# status and err (the error lines).
run_to() {
	local out=$1
	shift
	status=0
	"$@" >"$out" 2>"$BATS_TEST_TMPDIR/err" </dev/null || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
}

# Whether the binaries under test carry AddressSanitizer (it reserves
# terabytes of address space, so `ulimit -v` cannot apply to them).
sanitized() {
	ldd "$(command -v tnz)" 2>/dev/null | grep -q libasan ||
		nm "$(command -v tnz)" 2>/dev/null | grep -q __asan_init
}

# A character device that behaves like /dev/full, private to the test, for
# the -o cases: a writer that wrongly renames a file over its output would
# replace this node, not the system's /dev/full. Needs root (mknod).
full_device() {
	rm -f "$BATS_TEST_TMPDIR/full"
	mknod -m 666 "$BATS_TEST_TMPDIR/full" c 1 7 2>/dev/null || return 1
	echo "$BATS_TEST_TMPDIR/full"
}

# ---- a full disk: standard output on /dev/full -------------------------------

@test "every writing command fails with exit 1 and a message on a full standard output" {
	while IFS= read -r cmd; do
		[ -n "$cmd" ] || continue
		eval "run_to /dev/full $cmd"
		echo "# $cmd -> $status: $err"
		[ "$status" -eq 1 ]
		[[ "$err" == *"No space left on device"* ]]
		[[ "$err" == "${cmd%% *}: "* ]]
	done <<-EOF
		tnz info data-3way.tnz
		tnz info --json data-3way.tnz
		tnz meta data-3way.tnz
		tnz cat data-3way.tnz
		tnz head -n 2 data-3way.tnz
		tnz shuffle data-3way.tnz
		tnz import $npy
		tnz export -t x -f csv data-3way.tnz
		tnz export -t x -f npy data-3way.tnz
		img2tensor $png
		cnn-eval -m model-3way.tnz data-3way.tnz
		cnn-eval -m model-3way.tnz --json data-3way.tnz
		cnn-eval -m model-3way.tnz --predict data-3way.tnz
		cnn-eval -m model-3way.tnz --predict --tsv data-3way.tnz
		lossplot --format text $log
		lossplot --format svg -o - $log
		lossplot --format png -o - $log
		tokenize t.tsv
		tokenize --text t.tsv
		embed train --min-count 1 --dim 4 --epochs 1 --threads 1 -q w.txt
		cnn-train --arch "dense 3" --summary --input-shape 2
	EOF
}

@test "-o onto a full device: exit 1, a message, and the device left in place" {
	dev=$(full_device) || skip "needs root to make a private full device"
	known=""
	while IFS= read -r cmd; do
		[ -n "$cmd" ] || continue
		dev=$(full_device)
		eval "run_to /dev/null $cmd"
		echo "# $cmd -> $status: $err"
		if [ ! -c "$dev" ]; then
			# A temporary file was renamed over the device.
			known="$known; ${cmd%% -o*}"
			continue
		fi
		[ "$status" -eq 1 ]
		[[ "$err" == *"No space left on device"* ]]
	done <<-EOF
		tnz cat -o \$dev data-3way.tnz
		tnz head -o \$dev data-3way.tnz
		tnz shuffle -o \$dev data-3way.tnz
		tnz split --ratio 0.5 -o \$dev -o /dev/null data-3way.tnz
		tnz meta -s a=b -o \$dev data-3way.tnz
		tnz import -o \$dev $npy
		img2tensor -o \$dev $png
		cnn-eval -m model-3way.tnz -o \$dev data-3way.tnz
		cnn-eval -m model-3way.tnz --json -o \$dev data-3way.tnz
		cnn-eval -m model-3way.tnz --predict -o \$dev data-3way.tnz
		cnn-eval -m model-3way.tnz --predict --tsv -o \$dev data-3way.tnz
		tokenize -o \$dev t.tsv
		embed train --min-count 1 --dim 4 --epochs 1 --threads 1 -q -o \$dev w.txt
		tnz export -t x -f csv -o \$dev data-3way.tnz
		tnz export -t x -f npy -o \$dev data-3way.tnz
		tnz export -f npz -o \$dev data-3way.tnz
		lossplot --format png -o \$dev $log
		lossplot --format svg -o \$dev $log
	EOF
	[ -z "$known" ] || skip "known: the output device is replaced by a regular file (lib/outfile.c, ck_outfile_open): ${known#; }"
}

# ---- a reader that goes away ---------------------------------------------------

# Runs CMD into `head -1`; sets status (CMD's), err and first (head's line).
run_head() {
	first=$(eval "$1" 2>"$BATS_TEST_TMPDIR/err" | head -1; echo "status=${PIPESTATUS[0]}")
	status=${first##*status=}
	first=${first%%$'\n'status=*}
	err=$(cat "$BATS_TEST_TMPDIR/err")
}

@test "tnz export into a closed pipe: the first line, then exit 1 with one message" {
	run_head "tnz export -t x -f csv data-many.tnz" # 400 KB of text
	echo "# status $status, stderr: $err"
	[ "$first" != "" ]
	[ "$status" -eq 1 ] # tnz(1): a closed pipe is a write error
	[[ "$err" == "tnz: "*"Broken pipe"* ]]
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] ||
		skip "known: tnz export reports the closed pipe twice (ck_csv_write, then closing stdout)"
}

@test "tnz cat into a closed pipe: exit 1 with one message" {
	run_head "tnz cat -l 0 --threads 1 data-many.tnz data-many.tnz data-many.tnz" # 480 KB
	echo "# status $status, stderr: $err"
	[ "$status" -eq 1 ]
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
	[[ "$err" == "tnz: "*"Broken pipe" ]]
}

@test "cnn-eval --predict --tsv into a closed pipe: quiet, killed by SIGPIPE like cat" {
	run_head "cnn-eval -m model-3way.tnz --predict --tsv data-many.tnz"
	echo "# status $status, stderr: $err"
	[[ "$first" == "0"$'\t'* ]]
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$err" ]
}

@test "lossplot into a closed pipe: quiet, killed by SIGPIPE" {
	run_head "lossplot --format text --size 1000x1000 $log"
	echo "# status $status, stderr: $err"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$err" ]
}

@test "img2tensor into a closed pipe: quiet, killed by SIGPIPE" {
	run_head "img2tensor --level 0 --size 512 $png $png $png" # 2.3 MB
	echo "# status $status, stderr: $err"
	[ "$status" -eq 141 ] || [ "$status" -eq 0 ]
	[ -z "$err" ]
}

# ---- an output directory that may not be written ------------------------------

@test "an output directory without write permission: exit 1, the path named, nothing left" {
	# As root the permission bits do not apply: run the programs as nobody.
	as=""
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "root without setpriv"
		as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	fi
	# Inputs and the directory where nobody can reach them.
	dir=$(mktemp -d /tmp/ck-faults.XXXXXX)
	chmod 755 "$dir"
	cp data-3way.tnz model-3way.tnz t.tsv w.txt "$png" "$log" "$npy" "$dir/"
	echo "dense 3" >"$dir/dense3.arch"
	chmod 644 "$dir"/*
	mkdir "$dir/ro"
	chmod 555 "$dir/ro"
	if $as sh -c ": >'$dir/ro/probe'" 2>/dev/null; then
		rm -rf "$dir"
		skip "the directory is writable anyway"
	fi
	if ! $as env PATH="$PATH" tnz --version >/dev/null 2>&1; then
		rm -rf "$dir"
		skip "nobody cannot run the programs (the build is under a private directory)"
	fi
	cd "$dir"
	while IFS= read -r cmd; do
		[ -n "$cmd" ] || continue
		run_to /dev/null $as env PATH="$PATH" $cmd
		echo "# $cmd -> $status: $err"
		[ "$status" -eq 1 ]
		[[ "$err" == *"ro/"* && "$err" == *"Permission denied"* ]]
		[ -z "$(ls -A ro)" ]
	done <<-EOF
		tnz cat -o ro/out.tnz data-3way.tnz
		tnz import -o ro/out.tnz le_f4.npy
		tnz export -t x -f csv -o ro/out.csv data-3way.tnz
		tnz export -f npz -o ro/out.npz data-3way.tnz
		img2tensor -o ro/out.tnz rgb.png
		cnn-eval -m model-3way.tnz --predict -o ro/out.tnz data-3way.tnz
		cnn-eval -m model-3way.tnz --json -o ro/out.json data-3way.tnz
		lossplot -o ro/out.png run.tsv
		tokenize -o ro/out.tnz t.tsv
		embed train --min-count 1 --dim 4 --epochs 1 --threads 1 -q -o ro/out.tnz w.txt
		cnn-train --arch dense3.arch --epochs 1 -q -o ro/out.tnz data-3way.tnz
	EOF
	cd /
	rm -rf "$dir"
}

# ---- decompression bombs and size claims ---------------------------------------

# The bombs (tests/fuzz/bombs/): a 65 KB chunk that claims 16 bytes and
# inflates to 64 MiB; a tensor that claims 2^40 bytes and holds one chunk of
# 64 MiB (the largest a chunk may be); and from formats/examples a 2^60-byte
# claim backed by 3 bytes and a 2^63-byte claim.
@test "decompression bombs and huge claims are rejected within 1 GB of address space" {
	sanitized && skip "ulimit -v does not apply under AddressSanitizer"
	bombs="$top/tests/fuzz/bombs/bomb_inflates_64mib.tnz $top/tests/fuzz/bombs/bomb_claims_1tib.tnz
	       $top/formats/examples/err_dims_lie.tnz $top/formats/examples/err_too_large.tnz
	       $top/formats/examples/err_zlib_bomb.tnz"
	for f in $bombs; do
		for cmd in "tnz info" "tnz cat --threads 1" "tnz export -f npy" \
		           "cnn-eval -m model-3way.tnz --threads 1"; do
			status=0
			err=$( (ulimit -v 1000000; $cmd "$f" 2>&1 >/dev/null) ) || status=$?
			echo "# $cmd $(basename "$f") -> $status: $err"
			[ "$status" -eq 1 ]
			[[ "$err" == *"corrupt chunk"* || "$err" == *"size mismatch"* ||
			   "$err" == *"too large"* ]]
			[[ "$err" != *"out of memory"* ]]
		done
	done
}

# ---- numbers out of range on every numeric option -------------------------------

# Each line: a command whose one numeric option is out of range, or not a
# number. Every one must exit 2 with "program: " and the option in the message.
@test "numbers out of range on every numeric option: exit 2 with a message" {
	known=""
	while IFS='|' read -r opt cmd; do
		[ -n "$cmd" ] || continue
		eval "run_to /dev/null $cmd"
		echo "# $cmd -> $status: ${err%%$'\n'*}"
		if [ "$status" -eq 1 ] && [ "$cmd" = "lossplot --format text --size 2000x2000 $log" ]; then
			known="$known; $cmd"
			continue
		fi
		[ "$status" -eq 2 ]
		[[ "$err" == "${cmd%% *}: "*"$opt"* ]]
	done <<-EOF
		--threads|tnz cat --threads 0 -o o.tnz data-3way.tnz
		--threads|tnz info --threads 99999999999999999999 data-3way.tnz
		--threads|tnz export --threads -1 -f npy -o o.npy data-3way.tnz
		--threads|tnz import --threads 1025 -o o.tnz $npy
		-l|tnz cat -l 10 -o o.tnz data-3way.tnz
		-l|tnz head -l -1 -o o.tnz data-3way.tnz
		-l|tnz shuffle -l 1x -o o.tnz data-3way.tnz
		-l|tnz export -f npz -l 10 -o o.npz data-3way.tnz
		-n|tnz head -n -1 -o o.tnz data-3way.tnz
		-n|tnz head -n 99999999999999999999 -o o.tnz data-3way.tnz
		--ratio|tnz split --ratio 1.5 -o a.tnz -o b.tnz data-3way.tnz
		--ratio|tnz split --ratio -0.1 -o a.tnz -o b.tnz data-3way.tnz
		--ratio|tnz split --ratio nan -o a.tnz -o b.tnz data-3way.tnz
		--count|tnz split --count -1 -o a.tnz -o b.tnz data-3way.tnz
		--count|tnz split --count 99999999999999999999 -o a.tnz -o b.tnz data-3way.tnz
		--seed|tnz split --ratio 0.5 --seed -1 -o a.tnz -o b.tnz data-3way.tnz
		--seed|tnz shuffle --seed 18446744073709551616 -o o.tnz data-3way.tnz
		--size|img2tensor --size 0x4 -o o.tnz $png
		--size|img2tensor --size 70000 -o o.tnz $png
		--size|img2tensor --size 99999999999999999999x2 -o o.tnz $png
		--level|img2tensor --level 10 -o o.tnz $png
		--threads|img2tensor --threads -1 -o o.tnz $png
		--threads|img2tensor --threads 99999999999999999999 -o o.tnz $png
		--normalize|img2tensor --normalize 0.5,0 -o o.tnz $png
		--normalize|img2tensor --normalize 1e999,1 -o o.tnz $png
		--background|img2tensor --background 256,0,0 -o o.tnz $png
		--background|img2tensor --background -1 -o o.tnz $png
		--top-k|cnn-eval -m model-3way.tnz --top-k 0 data-3way.tnz
		--top-k|cnn-eval -m model-3way.tnz --top-k 99999999999999999999 data-3way.tnz
		--batch|cnn-eval -m model-3way.tnz --batch 0 data-3way.tnz
		--batch|cnn-eval -m model-3way.tnz --batch 1048577 data-3way.tnz
		--threads|cnn-eval -m model-3way.tnz --threads -1 data-3way.tnz
		--threads|cnn-eval -m model-3way.tnz --threads 99999 data-3way.tnz
		--smooth|lossplot --smooth 1 $log
		--smooth|lossplot --smooth -0.1 $log
		--smooth|lossplot --smooth nan $log
		--size|lossplot --size 5x5 $log
		--size|lossplot --size 100000x100 $log
		--size|lossplot --format text --size 2000x2000 $log
		--xrange|lossplot --xrange 5:1 $log
		--xrange|lossplot --xrange 1e999: $log
		--yrange|lossplot --yrange 1:1 $log
		--yrange|lossplot --logy --yrange -1:1 $log
	EOF
	[ -z "$known" ] || skip "known: exit 1 instead of 2 for: ${known#; }"
}

@test "numbers out of range on every numeric option of tokenize, embed, cnn-train: exit 2" {
	while IFS='|' read -r opt cmd; do
		[ -n "$cmd" ] || continue
		eval "run_to /dev/null $cmd"
		echo "# $cmd -> $status: ${err%%$'\n'*}"
		[ "$status" -eq 2 ]
		[[ "$err" == "${cmd%% *}: "*"$opt"* ]]
	done <<-EOF
		--label-field|tokenize --label-field 0 -o o.tnz t.tsv
		--text-field|tokenize --text-field 99999999999999999999 -o o.tnz t.tsv
		--min-count|tokenize --min-count -1 -o o.tnz t.tsv
		--max-vocab|tokenize --max-vocab 1 -o o.tnz t.tsv
		--maxlen|tokenize --maxlen 16777217 -o o.tnz t.tsv
		--threads|tokenize --threads -1 -o o.tnz t.tsv
		--dim|embed train --dim 0 -o v.tnz w.txt
		--dim|embed train --dim 65537 -o v.tnz w.txt
		--window|embed train --window 0 -o v.tnz w.txt
		--neg|embed train --neg 65 -o v.tnz w.txt
		--epochs|embed train --epochs -1 -o v.tnz w.txt
		--min-count|embed train --min-count -1 -o v.tnz w.txt
		--sample|embed train --sample -1 -o v.tnz w.txt
		--lr|embed train --lr 0 -o v.tnz w.txt
		--lr|embed train --lr nan -o v.tnz w.txt
		--threads|embed train --threads 99999 -o v.tnz w.txt
		--seed|embed train --seed -1 -o v.tnz w.txt
		--lr|cnn-train --arch "dense 3" --lr -1 -o m.tnz data-3way.tnz
		--lr|cnn-train --arch "dense 3" --lr nan -o m.tnz data-3way.tnz
		--momentum|cnn-train --arch "dense 3" --momentum 1.5 -o m.tnz data-3way.tnz
		--weight-decay|cnn-train --arch "dense 3" --weight-decay -1 -o m.tnz data-3way.tnz
		--warmup|cnn-train --arch "dense 3" --warmup -1 -o m.tnz data-3way.tnz
		--clip|cnn-train --arch "dense 3" --clip -1 -o m.tnz data-3way.tnz
		--batch|cnn-train --arch "dense 3" --batch 0 -o m.tnz data-3way.tnz
		--epochs|cnn-train --arch "dense 3" --epochs 99999999999999999999 -o m.tnz data-3way.tnz
		--val-split|cnn-train --arch "dense 3" --val-split 1 -o m.tnz data-3way.tnz
		--patience|cnn-train --arch "dense 3" --patience -1 -o m.tnz data-3way.tnz
		--seed|cnn-train --arch "dense 3" --seed -1 -o m.tnz data-3way.tnz
		--threads|cnn-train --arch "dense 3" --threads -1 -o m.tnz data-3way.tnz
		--stop-after-steps|cnn-train --arch "dense 3" --stop-after-steps -1 -o m.tnz data-3way.tnz
		--schedule|cnn-train --arch "dense 3" --schedule step:0:0.5 -o m.tnz data-3way.tnz
		--augment|cnn-train --arch "dense 3" --augment crop=-1 -o m.tnz data-3way.tnz
	EOF
}

@test "a --top-k above the model's class count is a failure (exit 1): known only after loading" {
	run cnn-eval -m model-3way.tnz --top-k 4 data-3way.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-eval: --top-k 4 is more than the 3 outputs of the model" ]]
}

# ---- an input that changes while it is read ----------------------------------------

teardown() {
	[ -z "${appender:-}" ] || kill "$appender" 2>/dev/null || true
}

# Starts a process that appends, every few milliseconds and for at most 60 s,
# a copy of data-3way.tnz to grow.tnz, a line to grow.txt and a row to a
# training log grow.tsv, each in two writes with a pause between: readers meet
# the files growing, and often in the middle of an append.
start_appender() {
	head -c 100 data-3way.tnz >h1.tnz
	tail -c +101 data-3way.tnz >h2.tnz
	cp data-3way.tnz grow.tnz
	printf 'good movie\n' >grow.txt
	printf 'epoch\tstep\tseconds\tlr\tloss\tacc\n0.5\t1\t0.1\t0.1\t0.5\t0.5\n' >grow.tsv
	(
		end=$((SECONDS + 60)) s=1
		while ((SECONDS < end)); do
			s=$((s + 1))
			cat h1.tnz >>grow.tnz
			printf 'good ' >>grow.txt
			printf '0.5\t%d\t0.1\t0.1\t0.' $s >>grow.tsv
			sleep 0.001
			cat h2.tnz >>grow.tnz
			printf 'movie\n' >>grow.txt
			printf '5\t0.5\n' >>grow.tsv
			sleep 0.001
		done
	) 3>&- &
	appender=$!
}

@test "an input that grows while it is read: a whole prefix, or exit 1 'truncated' and no output" {
	start_appender
	whole=0 cut=0
	for round in $(seq 8); do
		before=$(stat -c %s grow.tnz)
		# TNZ: the copies that were whole at the end of the read, or a
		# truncation at the offset where the read stopped.
		rm -f out.tnz
		run_to /dev/null tnz cat -o out.tnz grow.tnz
		echo "# tnz cat -> $status: $err"
		if [ "$status" -eq 0 ]; then
			rows=$(tnz export -t y -f csv out.tnz | wc -l)
			[ "$rows" -ge 5 ] && [ $((rows % 5)) -eq 0 ]
			whole=$((whole + 1))
		else
			[ "$status" -eq 1 ]
			[[ "$err" == "tnz: grow.tnz: truncated at offset "* && "$err" != *$'\n'* ]]
			[ ! -e out.tnz ]
			cut=$((cut + 1))
		fi
		run_to pred.tsv cnn-eval -m model-3way.tnz --predict --tsv grow.tnz
		echo "# cnn-eval -> $status: $err"
		[ "$status" -eq 0 ] || [[ "$status" -eq 1 && "$err" == "cnn-eval: grow.tnz: truncated at offset "* ]]
		[ $(($(wc -l <pred.tsv) % 5)) -eq 0 ]
		# Text: the bytes there at the end of the read; only the last line
		# may be part of what was being appended.
		run_to toks.txt tokenize --text grow.txt
		[ "$status" -eq 0 ] && [ -z "$err" ]
		[ -z "$(sed '$d' toks.txt | grep -vx 'good movie')" ]
		tail -n 1 toks.txt | grep -qx 'good movie\|good'
		# A training log: a partial last row is skipped with a warning.
		run_to /dev/null lossplot --format text grow.tsv
		echo "# lossplot -> $status: $err"
		[ "$status" -eq 0 ]
		[ -z "$err" ] || [[ "$err" == "lossplot: warning: grow.tsv: 1 line with a number of cells other than the header's 6, skipped: line "* ]]
		[ "$(stat -c %s grow.tnz)" -gt "$before" ] # it did grow meanwhile
	done
	echo "# tnz cat: $whole whole prefixes, $cut truncations"
	[ -z "$(ls -A | grep '^\.out\.tnz\.tmp')" ] # no temporary file left
}

# embed import reads its input whole (it once mapped it, and a file cut short
# under the mapping was SIGBUS). Cut while being read, the answer is a message
# and exit 1 with no output; read before the cut, the whole file's vectors.
@test "embed import of a file truncated while it is read: exit 1 with a message, not a crash" {
	awk 'BEGIN { srand(1); print "20000 50"; for (i = 0; i < 20000; i++) {
		printf "w%d", i; for (j = 0; j < 50; j++) printf " %.5f", rand() * 2 - 1; printf "\n" } }' >vec.txt
	embed import -o v.tnz vec.txt 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	# Until it has the file open.
	until ls -l "/proc/$pid/fd" 2>/dev/null | grep -q vec.txt; do
		[ -e "/proc/$pid" ] || break
	done
	truncate -s 100000 vec.txt
	st=0
	wait $pid || st=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "# $st: $err"
	[[ "$err" != *Sanitizer* ]]
	if [ "$st" -eq 0 ]; then
		tnz info v.tnz | grep -q "vectors  *f32  *(2000[0-9], 50)"
	else
		[ "$st" -eq 1 ]
		[[ "$err" == "embed: vec.txt: "* ]]
		[ ! -e v.tnz ]
	fi
}
