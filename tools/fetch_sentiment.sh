#!/bin/sh
# fetch_sentiment.sh: the Amazon and IMDb sets of the UCI "Sentiment Labelled
# Sentences" (Kotzias et al., KDD 2015; CC BY 4.0) as label<TAB>sentence TSVs.
#
#   tools/fetch_sentiment.sh [--tarball FILE] [--split] DIR
#       writes DIR/amazon.tsv and DIR/imdb.tsv (1000 lines each, 500 a label);
#       with --split also DIR/train.tsv and DIR/test.tsv (see below)
#   tools/fetch_sentiment.sh --convert FILE.json
#       prints the TSV of one of the package's JSON files
#   tools/fetch_sentiment.sh --split-only DIR
#       the split of DIR/amazon.tsv and DIR/imdb.tsv, already there
#
# The sets ship in the npm package `sentiment` version 5.0.2 under
# test/fixtures/{amazon,imdb}.json, as an array of {"text": ..., "class": 0|1}.
# The tarball comes from `npm pack sentiment@5.0.2` (npm: Debian's npm
# package) or from --tarball, and must have the SHA-1 the registry publishes
# for it. Each record becomes `class<TAB>text` with every run of white space
# in the text (Python's str.split: tabs, newlines, U+0085 ...) made one space
# and none at either end; the one record of each file without a class (an
# empty text) is left out. Label 1 is positive, 0 negative.
#
# The split (needs tnz(1) on PATH), the one tools/bench/textcnn.sh and
# make demo use, which anyone can redo by hand:
#   cat amazon.tsv imdb.tsv > all.tsv                    # lines 1..2000
#   seq 2000 > n.csv; tnz import --header no -o n.tnz n.csv
#   tnz shuffle --seed 1 -o s.tnz n.tnz; tnz export -o order.csv s.tnz
#   awk -F'\t' 'NR == FNR {l[FNR] = $0; next} {print l[$1]}' all.tsv order.csv > shuffled.tsv
#   head -n 1600 shuffled.tsv > train.tsv; tail -n 400 shuffled.tsv > test.tsv
# that is, the lines in the order tnz shuffle --seed 1 puts their numbers,
# the first 80% for training, the rest for testing.
# Exit status: 0 done, 1 failure (nothing is left half-written in DIR), 2 usage.
set -eu

prog=fetch_sentiment.sh
package=sentiment@5.0.2
sha1=01e4396d9b5b17b1176f16c9d1a8be87b16cc1d6

usage() {
	echo "usage: $prog [--tarball FILE] [--split] DIR"
	echo "       $prog --convert FILE.json"
	echo "       $prog --split-only DIR"
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# convert FILE.json: the TSV on standard output.
convert() {
	python3 - "$1" <<'EOF'
import json, sys
path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        records = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"fetch_sentiment.sh: {path}: {e}")
if not isinstance(records, list):
    sys.exit(f"fetch_sentiment.sh: {path}: expected a JSON array of records")
out = []
for i, r in enumerate(records):
    if not isinstance(r, dict) or not isinstance(r.get("text"), str):
        sys.exit(f"fetch_sentiment.sh: {path}: record {i}: expected {{\"text\": ..., \"class\": ...}}")
    label = r.get("class")
    if label is None:
        continue
    if label not in (0, 1) or isinstance(label, bool):
        sys.exit(f"fetch_sentiment.sh: {path}: record {i}: class {label!r} is not 0 or 1")
    out.append(f"{label}\t{' '.join(r['text'].split())}\n")
sys.stdout.write("".join(out))
EOF
}

# split DIR: DIR/train.tsv and DIR/test.tsv from DIR/amazon.tsv and imdb.tsv.
split() {
	command -v tnz >/dev/null 2>&1 || die "tnz is not on PATH (make; PATH=build/bin:\$PATH)"
	s=$(mktemp -d "$1/.split.XXXXXX") || die "cannot make a temporary directory in $1"
	cat "$1/amazon.tsv" "$1/imdb.tsv" > "$s/all.tsv" || die "$1: no amazon.tsv and imdb.tsv"
	n=$(wc -l < "$s/all.tsv")
	seq "$n" > "$s/n.csv"
	tnz import -q --header no -o "$s/n.tnz" "$s/n.csv" &&
		tnz shuffle -q --seed 1 -o "$s/s.tnz" "$s/n.tnz" &&
		tnz export -q -o "$s/order.csv" "$s/s.tnz" || { rm -rf "$s"; die "tnz failed"; }
	awk -F'\t' 'NR == FNR {l[FNR] = $0; next} {print l[$1]}' "$s/all.tsv" "$s/order.csv" \
		> "$s/shuffled.tsv"
	ntrain=$((n * 8 / 10))
	head -n "$ntrain" "$s/shuffled.tsv" > "$s/train.tsv"
	tail -n +"$((ntrain + 1))" "$s/shuffled.tsv" > "$s/test.tsv"
	mv "$s/train.tsv" "$s/test.tsv" "$1/"
	rm -rf "$s"
	echo "$prog: wrote $1/train.tsv ($ntrain sentences) and $1/test.tsv ($((n - ntrain)))" >&2
}

tarball= want_split=0
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h) usage; exit 0 ;;
	--convert)
		[ $# -eq 2 ] || { usage >&2; exit 2; }
		convert "$2"
		exit 0 ;;
	--split-only)
		[ $# -eq 2 ] || { usage >&2; exit 2; }
		split "$2"
		exit 0 ;;
	--tarball)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		tarball=$2
		shift 2 ;;
	--split) want_split=1; shift ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
dir=$1
command -v python3 >/dev/null 2>&1 || die "python3 is missing"

mkdir -p "$dir" || die "cannot make $dir"
tmp=$(mktemp -d "$dir/.fetch_sentiment.XXXXXX") || die "cannot make a temporary directory in $dir"
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd) # absolute: npm runs in it

if [ -z "$tarball" ]; then
	command -v npm >/dev/null 2>&1 || die "npm is missing (apt-get install npm), or give --tarball"
	name=$(cd "$tmp" && npm pack --silent "$package" 2>"$tmp/npm.log") ||
		die "npm pack $package failed: $(tail -n 3 "$tmp/npm.log")"
	tarball=$tmp/$name
fi
[ -r "$tarball" ] || die "$tarball: cannot read"
got=$(sha1sum < "$tarball" | cut -d' ' -f1)
[ "$got" = "$sha1" ] || die "$tarball: SHA-1 $got, expected $sha1 ($package)"
tar -xzf "$tarball" -C "$tmp" package/test/fixtures/amazon.json package/test/fixtures/imdb.json ||
	die "$tarball: no test/fixtures/amazon.json and imdb.json"

for set in amazon imdb; do
	convert "$tmp/package/test/fixtures/$set.json" > "$tmp/$set.tsv"
	lines=$(wc -l < "$tmp/$set.tsv")
	[ "$lines" -eq 1000 ] || die "$set: $lines sentences, expected 1000"
done
for set in amazon imdb; do
	mv "$tmp/$set.tsv" "$dir/$set.tsv"
done
echo "$prog: wrote $dir/amazon.tsv and $dir/imdb.tsv (1000 sentences each)" >&2
[ $want_split = 0 ] || split "$dir"
