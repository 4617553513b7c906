#!/usr/bin/env bats
# tools/fetch_sentiment.sh: the JSON -> TSV conversion on a tiny fixture
# written like the npm package's test/fixtures/*.json (tests/data/sentiment/
# tiny.json: tabs, newlines, U+0085 and runs of spaces inside texts, a record
# without a class), and the failures that need no network: bad JSON, a bad
# class, a tarball whose SHA-1 is not the published one, usage errors.

setup() {
	cd "$BATS_TEST_TMPDIR"
	top=${CK_TOP:-$BATS_TEST_DIRNAME/../..}
	fetch="$top/tools/fetch_sentiment.sh"
	data="$top/tests/data/sentiment"
}

@test "--help prints the usage on stdout and exits 0" {
	run sh "$fetch" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: fetch_sentiment.sh [--tarball FILE] [--split] DIR" ]]
}

@test "usage errors exit 2 with the usage on stderr" {
	for args in "" "--bogus" "--convert" "--convert a b" "a b" "--tarball" "--split-only" "--split"; do
		# shellcheck disable=SC2086
		run sh "$fetch" $args
		[ "$status" -eq 2 ]
		[[ "${lines[0]}" == usage:* ]]
	done
}

@test "--convert: label<TAB>text, white space collapsed, the record without a class left out" {
	run sh "$fetch" --convert "$data/tiny.json"
	[ "$status" -eq 0 ]
	sh "$fetch" --convert "$data/tiny.json" | cmp - "$data/tiny.tsv"
	[ "${#lines[@]}" -eq 5 ]
}

@test "--convert: bad JSON, a non-array and a class other than 0/1 fail with exit 1" {
	printf '[{"text": "x", "class": 1},' > cut.json
	run sh "$fetch" --convert cut.json
	[ "$status" -eq 1 ]
	[[ "$output" == *"cut.json"* ]]
	printf '{"text": "x", "class": 1}\n' > object.json
	run sh "$fetch" --convert object.json
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected a JSON array"* ]]
	printf '[{"text": "x", "class": 2}]\n' > two.json
	run sh "$fetch" --convert two.json
	[ "$status" -eq 1 ]
	[[ "$output" == *"record 0: class 2 is not 0 or 1"* ]]
	run sh "$fetch" --convert missing.json
	[ "$status" -eq 1 ]
}

@test "--tarball: a file that is not the published package is refused, nothing written" {
	mkdir -p package/test/fixtures
	cp "$data/tiny.json" package/test/fixtures/amazon.json
	cp "$data/tiny.json" package/test/fixtures/imdb.json
	tar -czf fake.tgz package
	run sh "$fetch" --tarball fake.tgz out
	[ "$status" -eq 1 ]
	[[ "$output" == *"SHA-1"*"expected 01e4396d9b5b17b1176f16c9d1a8be87b16cc1d6"* ]]
	[ -z "$(ls -A out)" ]
	run sh "$fetch" --tarball no-such.tgz out
	[ "$status" -eq 1 ]
	[[ "$output" == *"no-such.tgz: cannot read"* ]]
}

@test "--split-only: tnz shuffle --seed 1 of the line numbers, the first 80% for training" {
	mkdir d
	for i in $(seq 1 10); do printf '%d\tamazon sentence %d\n' $((i % 2)) "$i"; done > d/amazon.tsv
	for i in $(seq 1 10); do printf '%d\timdb sentence %d\n' $((i % 2)) "$i"; done > d/imdb.tsv
	run sh "$fetch" --split-only d
	[ "$status" -eq 0 ]
	[[ "$output" == *"d/train.tsv (16 sentences) and d/test.tsv (4)"* ]]
	[ "$(wc -l < d/train.tsv)" -eq 16 ]
	[ "$(wc -l < d/test.tsv)" -eq 4 ]
	# A permutation of the 20 lines, not their order ...
	cat d/train.tsv d/test.tsv | sort > got
	cat d/amazon.tsv d/imdb.tsv | sort > want
	cmp got want
	! cat d/amazon.tsv d/imdb.tsv | head -n 16 | cmp -s - d/train.tsv
	# ... the one the documented commands give, every time.
	cat d/amazon.tsv d/imdb.tsv > all.tsv
	seq 20 > n.csv
	tnz import -q --header no -o n.tnz n.csv
	tnz shuffle -q --seed 1 -o s.tnz n.tnz
	tnz export -q -o order.csv s.tnz
	awk -F'\t' 'NR == FNR {l[FNR] = $0; next} {print l[$1]}' all.tsv order.csv > shuffled.tsv
	head -n 16 shuffled.tsv | cmp - d/train.tsv
	tail -n 4 shuffled.tsv | cmp - d/test.tsv
	[ -z "$(ls -A d | grep -v '^\(amazon\|imdb\|train\|test\)\.tsv$')" ]
}
