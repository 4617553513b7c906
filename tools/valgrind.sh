#!/bin/sh
# Runs each program's normal path under valgrind and fails on any memory
# error or definite leak. The programs are built without OpenMP (libgomp's
# thread pool shows as "possibly lost") into build-valgrind/.
#   tools/valgrind.sh            build, run every case, print "N passed, M failed"
# Environment: BUILD (default build-valgrind), VALGRIND (extra valgrind options).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build-valgrind}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }
make --no-print-directory -s OPENMP=0 BUILD="$BUILD" all >/dev/null || exit 1

bin=$top/$BUILD/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$top/$BUILD/tests/test_data_fixtures" "$work" >/dev/null || exit 1
mkdir -p "$work/img/cat" "$work/img/dog"
cp tests/fuzz/corpus/png/rgb.png tests/fuzz/corpus/png/palette_trns.png "$work/img/cat/"
cp tests/fuzz/corpus/jpeg/rgb.jpg tests/fuzz/corpus/pnm/p6.ppm "$work/img/dog/"
log=tests/data/lossplot/run.tsv
# Labelled and raw text for tokenize, embed and a text model.
printf 'pos\tgood movie, a good film\nneg\tbad film\npos\tfine acting\nneg\tdull, bad plot\n' \
	>"$work/reviews.tsv"
printf 'the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n' >"$work/words.txt"

passed=0
failed=0
# check NAME PROGRAM ARG...: runs a program of $bin under valgrind; it must
# exit with $expect (0 unless set) and valgrind must report nothing.
expect=0
check() {
	name=$1
	prog=$2
	shift 2
	# shellcheck disable=SC2086
	(cd "$work" && valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 ${VALGRIND:-} "$bin/$prog" "$@") >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" -eq 99 ] || grep -q '^==[0-9]*==' "$work/err"; then
		echo "not ok - $name"
		sed 's/^/# /' "$work/err"
		failed=$((failed + 1))
	elif [ "$rc" -ne "$expect" ]; then
		echo "not ok - $name (exit $rc)"
		sed 's/^/# /' "$work/err"
		failed=$((failed + 1))
	else
		echo "ok - $name"
		passed=$((passed + 1))
	fi
}

check "tnz info" tnz info data-3way.tnz model-3way.tnz
check "tnz info --json" tnz info --json data-3way.tnz
check "tnz import npy" tnz import -o imported.tnz "$top/tests/data/io/le_f4.npy"
check "tnz import idx pair" tnz import -o mnist.tnz "$top/tests/data/io/images-idx3-ubyte.gz" \
	"$top/tests/data/io/labels-idx1-ubyte.gz"
check "tnz import npz" tnz import -o npz.tnz "$top/tests/data/io/deflated.npz"
check "tnz import csv" tnz import --label 3 -o csv.tnz "$top/tests/fuzz/corpus/csv/header.csv"
check "tnz export csv" tnz export -t x -f csv -o x.csv data-3way.tnz
check "tnz export npy" tnz export -t x -f npy -o x.npy data-3way.tnz
check "tnz export npz" tnz export -f npz -o all.npz data-3way.tnz
check "tnz cat" tnz cat -o cat.tnz data-3way.tnz data-3way.tnz
check "tnz head" tnz head -n 2 -o head.tnz data-3way.tnz
check "tnz split" tnz split --ratio 0.6 -o a.tnz -o b.tnz data-3way.tnz
check "tnz shuffle" tnz shuffle --seed 3 -o shuffled.tnz data-3way.tnz
check "tnz meta" tnz meta -s note=hello -o meta.tnz data-3way.tnz
check "img2tensor" img2tensor --size 8x6 --labels dir -o images.tnz img
check "img2tensor gray f32" img2tensor --size 5 --gray --f32 -o gray.tnz img/cat/rgb.png
check "cnn-eval" cnn-eval -m model-3way.tnz data-3way.tnz
check "cnn-eval --json" cnn-eval -m model-3way.tnz --json --top-k 2 data-3way.tnz
check "cnn-eval --predict" cnn-eval -m model-3way.tnz --predict -o pred.tnz data-3way.tnz
check "cnn-eval --predict --tsv" cnn-eval -m model-3way.tnz --predict --tsv data-3way.tnz
check "lossplot text" lossplot --format text --size 60x15 "$top/$log"
check "lossplot png" lossplot --smooth 0.5 -o plot.png "$top/$log"
check "lossplot svg" lossplot -o plot.svg "$top/$log" "$top/tests/data/lossplot/run2.csv"
check "tokenize" tokenize --label-field 1 --vocab-out vocab.txt -o reviews.tnz reviews.tsv
check "tokenize --text --punct --strip-accents" tokenize --text --punct --strip-accents reviews.tsv
check "tokenize --vocab-from" tokenize --vocab-from reviews.tnz --maxlen 8 -o again.tnz words.txt
check "tokenize --char" tokenize --char -o chars.tnz words.txt
check "embed train" embed train --min-count 1 --dim 8 --epochs 2 --threads 1 -q -o vec.tnz \
	words.txt
check "embed export" embed export --format text -o vec.txt vec.tnz
check "embed import" embed import -o vec2.tnz vec.txt
check "embed nearest" embed nearest -k 2 -m vec.tnz cat
check "embed analogy" embed analogy -k 2 -m vec.tnz cat dog mat
check "embed apply" embed apply -m vec.tnz reviews.tnz
check "cnn-train --summary" cnn-train --arch 'conv 4 3 pad=same relu; maxpool 2; dense 10' \
	--summary --input-shape 1,8,8
check "cnn-train dense, validation, log" cnn-train --arch 'dense 8 relu; dropout 0.5; dense 3' \
	--optim adam --epochs 2 --batch 2 --val data-3way.tnz --log train.tsv --threads 1 -q \
	-o dense.tnz data-3way.tnz
check "cnn-train --resume" cnn-train --resume dense.tnz.ckpt --epochs 3 -q
check "cnn-train conv, augment, normalize" cnn-train --arch 'conv 2 3 relu; batchnorm; maxpool 2; dense 2' \
	--augment flip,crop=1 --normalize auto --schedule cosine --epochs 2 --batch 2 --threads 1 -q \
	-o conv.tnz images.tnz
check "cnn-train text" cnn-train --arch 'embedding 8; conv1d 4 2 relu; globalmaxpool; dense 2' \
	--epochs 2 --batch 2 --threads 1 -q -o text.tnz reviews.tnz
check "cnn-eval, a text model" cnn-eval -m text.tnz --json reviews.tnz
# Failure paths free what they allocated too.
expect=1
check "tnz info, a corrupt file" tnz info "$top/formats/examples/err_crc.tnz"
check "tnz cat, a decompression bomb" tnz cat -o bomb.tnz "$top/tests/fuzz/bombs/bomb_inflates_64mib.tnz"
check "tnz import, a bad npy" tnz import -o bad.tnz "$top/tests/data/io/bad_object.npy"
check "img2tensor, a truncated image" img2tensor -o bad.tnz "$top/tests/fuzz/corpus/png/bad_truncated.png"
check "cnn-eval, a wrong shape" cnn-eval -m model-3way.tnz data-bad-shape.tnz
check "lossplot, an empty log" lossplot -o empty.png /dev/null
check "tokenize, a missing file" tokenize -o none.tnz missing.txt
check "embed import, a bad row" embed import -o bad.tnz reviews.tsv
check "cnn-train, data that does not fit" cnn-train --arch 'dense 3' --epochs 1 -q -o bad.tnz \
	data-bad-label.tnz
expect=0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
