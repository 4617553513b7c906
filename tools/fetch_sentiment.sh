#!/bin/sh
# fetch_sentiment.sh: the Amazon and IMDb sets of the UCI "Sentiment Labelled
# Sentences" (Kotzias et al., KDD 2015; CC BY 4.0) as label<TAB>sentence TSVs.
#
#   tools/fetch_sentiment.sh [--tarball FILE] DIR
#       writes DIR/amazon.tsv and DIR/imdb.tsv (1000 lines each, 500 a label)
#   tools/fetch_sentiment.sh --convert FILE.json
#       prints the TSV of one of the package's JSON files
#
# The sets ship in the npm package `sentiment` version 5.0.2 under
# test/fixtures/{amazon,imdb}.json, as an array of {"text": ..., "class": 0|1}.
# The tarball comes from `npm pack sentiment@5.0.2` (npm: Debian's npm
# package) or from --tarball, and must have the SHA-1 the registry publishes
# for it. Each record becomes `class<TAB>text` with every run of white space
# in the text (Python's str.split: tabs, newlines, U+0085 ...) made one space
# and none at either end; the one record of each file without a class (an
# empty text) is left out. Label 1 is positive, 0 negative.
# Exit status: 0 done, 1 failure (nothing is left half-written in DIR), 2 usage.
set -eu

prog=fetch_sentiment.sh
package=sentiment@5.0.2
sha1=01e4396d9b5b17b1176f16c9d1a8be87b16cc1d6

usage() {
	echo "usage: $prog [--tarball FILE] DIR"
	echo "       $prog --convert FILE.json"
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

tarball=
case ${1:-} in
--help|-h) usage; exit 0 ;;
--convert)
	[ $# -eq 2 ] || { usage >&2; exit 2; }
	convert "$2"
	exit 0 ;;
--tarball)
	[ $# -ge 2 ] || { usage >&2; exit 2; }
	tarball=$2
	shift 2 ;;
-*) usage >&2; exit 2 ;;
esac
[ $# -eq 1 ] || { usage >&2; exit 2; }
dir=$1
command -v python3 >/dev/null 2>&1 || die "python3 is missing"

mkdir -p "$dir" || die "cannot make $dir"
tmp=$(mktemp -d "$dir/.fetch_sentiment.XXXXXX") || die "cannot make a temporary directory in $dir"
trap 'rm -rf "$tmp"' EXIT

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
