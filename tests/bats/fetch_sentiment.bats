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
	[[ "${lines[0]}" == "usage: fetch_sentiment.sh [--tarball FILE] DIR" ]]
}

@test "usage errors exit 2 with the usage on stderr" {
	for args in "" "--bogus" "--convert" "--convert a b" "a b" "--tarball"; do
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
