#!/bin/sh
# textcnn.sh: sentence classification, cnnkit against fastText and PyTorch,
# side by side: test accuracy, and the training throughput of the same Kim
# CNN in cnnkit and PyTorch.
#
# Data: the Amazon and IMDb sets of the UCI "Sentiment Labelled Sentences"
# (tools/fetch_sentiment.sh, or BENCH_SENTIMENT=DIR holding amazon.tsv and
# imdb.tsv), 2000 label<TAB>sentence lines, split by
# `tools/fetch_sentiment.sh --split-only`: the lines in the order
# `tnz shuffle --seed 1` puts their numbers, the first 80% for training (the
# script's header has the commands, to redo it by hand).
#
# Accuracy on test.tsv, each model chosen without looking at it:
#   fastText  `fasttext supervised -epoch 25 -lr 0.5` (one thread, so that the
#             figure repeats) on the words as `tokenize --text` gives them,
#             label __label__0/1;
#   PyTorch   tools/bench/torch_kim.py accuracy: a Kim CNN with random
#             embeddings, Adam, 20 epochs, the epoch chosen on the last 10% of
#             train.tsv;
#   cnnkit    the README's recipe, run by `tools/demo.sh text` (word vectors
#             from the KJV and the training sentences, a Kim CNN of widths
#             1,2,3 fine-tuning them, the epoch chosen on 10% of train.tsv).
# Throughput: build/bench/textcnn_bench and torch_kim.py speed, the same
#   network (embedding 128; conv1d 100 3,4,5 relu; globalmaxpool; dropout
#   0.5; dense 1 sigmoid), batch 50, Adam, one epoch over train.tsv in file
#   order, best of REPEAT, for each thread count, one after the other; and the
#   same with --full (lengths ignored: no padding to skip, the kernels alone).
#
# Usage: tools/bench/textcnn.sh [-r REPEAT] [-t "THREADS..."] [-d DIR] [-s]
#   -r REPEAT   runs per program and thread count (default 3)
#   -t LIST     thread counts (default "1 2")
#   -d DIR      where the data and logs go (default $BUILD/bench-data/textcnn)
#   -s          throughput only (no accuracy)
# Environment: BUILD (default build), PYTHON (default /usr/bin/python3),
# BENCH_SENTIMENT (a directory with amazon.tsv and imdb.tsv: no download).
set -eu

prog=textcnn.sh
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$(pwd)/$BUILD" ;; esac
PYTHON=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
repeat=3
threads="1 2"
dir=
accuracy=1
KIM='embedding 128; conv1d 100 3,4,5 relu; globalmaxpool; dropout 0.5; dense 1 sigmoid'

usage() {
	echo "usage: $prog [-r REPEAT] [-t \"THREADS...\"] [-d DIR] [-s]"
}

while getopts r:t:d:sh opt; do
	case $opt in
	r) repeat=$OPTARG ;;
	t) threads=$OPTARG ;;
	d) dir=$OPTARG ;;
	s) accuracy=0 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
dir=${dir:-${BENCH_DIR:-$BUILD/bench-data}/textcnn}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
PATH="$BUILD/bin:$PATH"
export PATH

bench=$BUILD/bench/textcnn_bench
for p in "$bench" "$BUILD/bin/tnz" "$BUILD/bin/tokenize" "$BUILD/bin/cnn-train" "$BUILD/bin/cnn-eval"; do
	[ -x "$p" ] || { echo "$prog: $p is missing: make all $bench" >&2; exit 1; }
done
have_torch=1
"$PYTHON" -c 'import torch' 2>/dev/null || {
	echo "$prog: PyTorch is missing ($PYTHON): make bench-deps; cnnkit alone" >&2
	have_torch=0
}
have_fasttext=1
command -v fasttext >/dev/null 2>&1 || {
	echo "$prog: fasttext is missing: make bench-deps" >&2
	have_fasttext=0
}

# ---- data ---------------------------------------------------------------------
src=${BENCH_SENTIMENT:-$dir/sentiment}
if [ ! -s "$src/amazon.tsv" ] || [ ! -s "$src/imdb.tsv" ]; then
	[ -z "${BENCH_SENTIMENT:-}" ] || { echo "$prog: no amazon.tsv, imdb.tsv in $src" >&2; exit 1; }
	sh "$top/tools/fetch_sentiment.sh" "$src"
fi
src=$(cd "$src" && pwd)
cp "$src/amazon.tsv" "$src/imdb.tsv" "$dir/"
cd "$dir"
sh "$top/tools/fetch_sentiment.sh" --split-only . 2>/dev/null
ntrain=$(wc -l < train.tsv)
n=$((ntrain + $(wc -l < test.tsv)))
tokenize -q --label-field 1 -o train.tnz train.tsv
tokenize -q --label-field 1 --vocab-from train.tnz -o test.tnz test.tsv

echo "# CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) processors"
echo "# data: $n sentences (Amazon, IMDb), $ntrain train / $((n - ntrain)) test, shuffled by tnz shuffle --seed 1"

# accuracy of cnn-eval's --json report
json_accuracy() {
	sed -n 's/.*"accuracy": *\([0-9.]*\).*/\1/p' "$1" | head -n 1
}

# The documented cnnkit recipe (README, "Sentence classification"), as make
# demo runs it: prints its test accuracy.
recipe() {
	DEMO_DIR="$dir/demo" DEMO_SENTIMENT="$src" BUILD="$BUILD" sh "$top/tools/demo.sh" text \
		> recipe.log 2>&1 || { echo "$prog: the recipe failed: $(tail -n 3 recipe.log)" >&2; echo -; return; }
	sed -n 's/^Sentiment sentences test accuracy: \([0-9.]*\).*/\1/p' recipe.log
}

if [ $accuracy = 1 ]; then
	echo "# load average before the accuracy runs: $(cut -d' ' -f1-3 /proc/loadavg)"
	ft=-
	if [ $have_fasttext = 1 ]; then
		for s in train test; do
			tokenize -q --label-field 1 --text -o "$s-words.tsv" "$s.tsv"
			awk -F'\t' '{print "__label__" $1 " " $2}' "$s-words.tsv" > "$s-fasttext.txt"
		done
		fasttext supervised -input train-fasttext.txt -output fasttext -epoch 25 -lr 0.5 \
			-thread 1 -verbose 0 > /dev/null
		ft=$(fasttext test fasttext.bin test-fasttext.txt | sed -n 's/^P@1[[:space:]]*//p')
	fi
	pt=-
	if [ $have_torch = 1 ]; then
		"$PYTHON" "$here/torch_kim.py" accuracy --threads 2 train.tnz test.tnz > torch-accuracy.log
		pt=$(sed -n 's/^RESULT torch accuracy=\([0-9.]*\).*/\1/p' torch-accuracy.log)
	fi
	ck=$(recipe)
	echo
	echo "# test accuracy, $((n - ntrain)) sentences"
	printf '%-44s %s\n' "fastText -epoch 25 -lr 0.5" "$ft"
	printf '%-44s %s\n' "PyTorch Kim CNN, random embeddings" "$pt"
	printf '%-44s %s\n' "cnnkit recipe" "$ck"
fi

# ---- throughput ------------------------------------------------------------------
# field NAME LINE: the value of NAME=... in a RESULT line.
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

echo
echo "# throughput: $KIM; batch 50, Adam, 1 epoch of $ntrain sentences, best of $repeat"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
table=$dir/table.txt
: > "$table"
for mode in lengths full; do
	flag=
	[ $mode = full ] && flag=--full
	for t in $threads; do
		c=$("$bench" --threads "$t" --repeat "$repeat" $flag train.tnz | tee "cnnkit-$mode-t$t.log" |
			grep '^RESULT cnnkit train ')
		p=
		if [ $have_torch = 1 ]; then
			p=$("$PYTHON" "$here/torch_kim.py" speed --threads "$t" --repeat "$repeat" $flag \
				train.tnz | tee "torch-$mode-t$t.log" | grep '^RESULT torch train ')
		fi
		echo "$mode $t $(field best "$c") $(field median "$c") ${p:+$(field best "$p") $(field median "$p")}" >> "$table"
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk 'BEGIN {
	printf "%-8s %-7s %22s %22s %7s\n", "lengths", "threads", "cnnkit sentences/s", "pytorch sentences/s", "ratio"
}
{
	ratio = NF >= 6 && $5 > 0 ? sprintf("%.2fx", $3 / $5) : "-"
	mode = $1 == "full" ? "ignored" : "used"
	pb = NF >= 6 ? sprintf("%.0f", $5) : "-"
	pm = NF >= 6 ? sprintf("%.0f", $6) : "-"
	printf "%-8s %-7s %11.0f (%8.0f) %11s (%8s) %7s\n", mode, $2, $3, $4, pb, pm, ratio
}' "$table"
echo "# sentences/s: best (median) of the runs; ratio of the bests. \"ignored\": every row"
echo "# computed at its full length, the padding too (what PyTorch always does)."
