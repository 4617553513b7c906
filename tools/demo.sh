#!/bin/sh
# make demo: Fashion-MNIST with the reference network, end to end.
#   BUILD=build sh tools/demo.sh
# Imports the IDX files of the Debian package dataset-fashion-mnist, trains
# conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2;
# dense 128 relu; dense 10 with SGD momentum 0.9, lr 0.05, batch 64, 5 epochs,
# seed 1, and prints the test accuracy (PyTorch 1.13 with the same recipe,
# tools/torch_fashion.py: 0.879 after 1 epoch, 0.899 after 5).
# Environment: BUILD (build directory, default build), DEMO_DIR (where the
# data, log and model go, default $BUILD/demo), EPOCHS (default 5), FASHION_DIR
# (the IDX files, default /usr/share/datasets/fashion-mnist), MPIRUN (a
# launcher for the training, e.g. "mpirun -np 2" with BUILD=build-mpi: make
# demo-mpi; the same global batch of 64, so the same recipe).
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

# make demo depends on make deps, which installs dataset-fashion-mnist.
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
	[ -r "$src/$f.gz" ] || { echo "demo: $src/$f.gz is missing (make deps installs it)" >&2; exit 1; }
done

mkdir -p "$dir"
cd "$dir"
[ -s train.tnz ] || tnz import "$src/train-images-idx3-ubyte.gz" "$src/train-labels-idx1-ubyte.gz" -o train.tnz
[ -s test.tnz ] || tnz import "$src/t10k-images-idx3-ubyte.gz" "$src/t10k-labels-idx1-ubyte.gz" -o test.tnz
classes='T-shirt/top
Trouser
Pullover
Dress
Coat
Sandal
Shirt
Sneaker
Bag
Ankle boot'
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
