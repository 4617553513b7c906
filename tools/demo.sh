#!/bin/sh
# make demo: the two halves of cnnkit end to end, images then text.
#   BUILD=build sh tools/demo.sh [all|image|text]
#
# image: imports the IDX files of the Debian package dataset-fashion-mnist,
# trains conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu;
# maxpool 2; dense 128 relu; dense 10 with SGD momentum 0.9, lr 0.05, batch
# 64, 5 epochs, seed 1, and prints the test accuracy (PyTorch 1.13 with the
# same recipe, tools/torch_fashion.py: 0.879 after 1 epoch, 0.899 after 5).
#
# text: fetches the UCI sentiment sentences (Amazon and IMDb reviews,
# tools/fetch_sentiment.sh: npm), splits them 80/20 with seed 1, trains word
# vectors with embed on the King James Bible (Debian's bible-kjv) and the
# training sentences, trains the Kim CNN of the README's recipe on them,
# prints its test accuracy and classifies a few new sentences.
#
# Environment: BUILD (build directory, default build), DEMO_DIR (where the
# data, logs and models go, default $BUILD/demo), EPOCHS (image part, default
# 5), FASHION_DIR (the IDX files, default /usr/share/datasets/fashion-mnist),
# DEMO_SENTIMENT (a directory holding amazon.tsv and imdb.tsv: no download),
# MPIRUN (a launcher for the image training, e.g. "mpirun -np 2" with
# BUILD=build-mpi: make demo-mpi; the same global batch of 64, so the same recipe).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
PATH="$BUILD/bin:$PATH"
dir=${DEMO_DIR:-$BUILD/demo}
epochs=${EPOCHS:-5}
src=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
mpirun=${MPIRUN:-}
# Open MPI refuses root unless told twice; a container's CI runs as root.
if [ -n "$mpirun" ] && [ "$(id -u)" -eq 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
part=${1:-all}
case $part in
all|image|text) ;;
*) echo "usage: demo.sh [all|image|text]" >&2; exit 2 ;;
esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

image_demo() {
	# make demo depends on make deps, which installs dataset-fashion-mnist.
	for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
		[ -r "$src/$f.gz" ] || { echo "demo: $src/$f.gz is missing (make deps installs it)" >&2; exit 1; }
	done

	cd "$dir"
	[ -s train.tnz ] || tnz import "$src/train-images-idx3-ubyte.gz" "$src/train-labels-idx1-ubyte.gz" -o train.tnz
	[ -s test.tnz ] || tnz import "$src/t10k-images-idx3-ubyte.gz" "$src/t10k-labels-idx1-ubyte.gz" -o test.tnz
	classes=$(printf '%s\n' T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag 'Ankle boot')
	tnz meta -s "classes=$classes" -i train.tnz
	tnz meta -s "classes=$classes" -i test.tnz

	arch='conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2; dense 128 relu; dense 10'
	echo "demo: training in $dir (log: $dir/log.tsv)" >&2
	cnn-train --summary --arch "$arch" train.tnz
	rm -f log.tsv
	# The test set is watched each epoch (val_loss, val_acc in the log, for the
	# plot) but never chooses the model: --keep-best last.
	# shellcheck disable=SC2086
	$mpirun cnn-train --arch "$arch" --batch 64 --optim momentum --momentum 0.9 --lr 0.05 \
		--epochs "$epochs" --seed 1 --val test.tnz --keep-best last --log log.tsv \
		-o model.tnz train.tnz
	lossplot --title "Fashion-MNIST, reference CNN" -o loss.png log.tsv
	echo "demo: loss curves in $dir/loss.png" >&2

	cnn-eval -m model.tnz --json test.tnz > eval.json
	acc=$(sed -n 's/.*"accuracy": *\([0-9.eE+-]*\).*/\1/p' eval.json | head -n 1)
	[ -n "$acc" ] || { echo "demo: no accuracy in $dir/eval.json" >&2; exit 1; }
	echo "Fashion-MNIST test accuracy: $acc (PyTorch 1.13, same recipe: 0.899)"
}

# The README's sentence-classification recipe, in $dir/sentiment.
text_demo() {
	sdir=$dir/sentiment
	given=
	[ -z "${DEMO_SENTIMENT:-}" ] || given=$(cd "$DEMO_SENTIMENT" && pwd)
	mkdir -p "$sdir"
	cd "$sdir"
	if [ -n "$given" ]; then
		cp "$given/amazon.tsv" "$given/imdb.tsv" .
		sh "$top/tools/fetch_sentiment.sh" --split-only .
	elif [ ! -s train.tsv ] || [ ! -s test.tsv ]; then
		sh "$top/tools/fetch_sentiment.sh" --split .
	fi
	command -v bible >/dev/null 2>&1 ||
		{ echo "demo: bible is missing (apt-get install bible-kjv)" >&2; exit 1; }

	# Word vectors from the KJV and the training sentences (never the test
	# ones), one thread so that the file is the same on every run.
	if [ ! -s vectors.tnz ]; then
		bible -f -l100000 gen1:1-rev22:21 | sed 's/^[^ ]* //' > kjv.txt
		cut -f 2 train.tsv | cat kjv.txt - > corpus.txt
		embed train -q --dim 128 --window 5 --neg 5 --epochs 5 --min-count 1 --threads 1 \
			-o vectors.tnz corpus.txt
	fi
	tokenize --label-field 1 -o train.tnz train.tsv
	tokenize --label-field 1 --vocab-from train.tnz -o test.tnz test.tsv
	arch='embedding 128 init=vectors.tnz; conv1d 100 1,2,3 relu; globalmaxpool; dropout 0.5; dense 1 sigmoid'
	echo "demo: training the sentiment CNN in $sdir (log: $sdir/log.tsv)" >&2
	rm -f log.tsv
	cnn-train --arch "$arch" --optim adam --lr 0.001 --batch 50 --epochs 20 --val-split 0.1 \
		--keep-best val_acc --seed 1 --threads 2 --log log.tsv -o model.tnz train.tnz
	lossplot --title "Sentiment sentences, Kim CNN on KJV vectors" -o loss.png log.tsv
	echo "demo: loss curves in $sdir/loss.png" >&2
	cnn-eval -m model.tnz --json test.tnz > eval.json
	acc=$(sed -n 's/.*"accuracy": *\([0-9.eE+-]*\).*/\1/p' eval.json | head -n 1)
	[ -n "$acc" ] || { echo "demo: no accuracy in $sdir/eval.json" >&2; exit 1; }
	echo "Sentiment sentences test accuracy: $acc (fastText: 0.80, PyTorch Kim CNN with random embeddings: 0.75)"
	printf '%s\n' "The battery died after two days." "I would buy it again, works great!" \
		"A moving story with wonderful acting." "Boring plot and terrible dialogue." |
		cnn-eval -m model.tnz --predict --text -
}

[ "$part" = text ] || image_demo
[ "$part" = image ] || text_demo
