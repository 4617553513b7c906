#!/usr/bin/env bats
# cnn-train(1) on small synthetic data made here: an easy 2-class task of
# 8x8 images (class 0: bright left half, class 1: bright right half), written
# as IDX files by a few lines of stdlib Python and imported with tnz(1).
# Runs use --threads 1: fast on a loaded machine and bit-reproducible.

ARCH='conv 4 3 relu; maxpool 2; dense 2'
REF='conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2; dense 128 relu; dense 10'

# mkdata NAME N SEED [MODE]: NAME.tnz with N examples; MODE "random" draws
# the labels at random (nothing to learn), "three" uses 3 classes.
mkdata() {
	python3 - "$@" <<'EOF'
import random, struct, sys
name, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else ""
r = random.Random(seed)
img, lab = bytearray(), bytearray()
for i in range(n):
    c = i % 2
    for y in range(8):
        for x in range(8):
            img.append(r.randint(140, 255) if (x < 4) == (c == 0) else r.randint(0, 115))
    lab.append(r.randint(0, 1) if mode == "random" else i % 3 if mode == "three" else c)
open(name + "-images.idx", "wb").write(struct.pack(">IIII", 0x803, n, 8, 8) + img)
open(name + "-labels.idx", "wb").write(struct.pack(">II", 0x801, n) + lab)
EOF
	tnz import "$1-images.idx" "$1-labels.idx" -o "$1.tnz"
}

setup_file() {
	export DATA="$BATS_FILE_TMPDIR"
	cd "$DATA"
	mkdata train 200 1
	mkdata val 100 2
	mkdata noise 100 3 random
	mkdata three 60 4 three
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	cp "$DATA"/train.tnz "$DATA"/val.tnz .
}

# train [OPTIONS...]: the easy task, quick settings.
train() {
	cnn-train --arch "$ARCH" --lr 0.1 --batch 32 --threads 1 "$@"
}

# Model files compared without created_by (the command line differs).
same_model() {
	tnz meta -d created_by -o "$1.cmp" "$1"
	tnz meta -d created_by -o "$2.cmp" "$2"
	cmp "$1.cmp" "$2.cmp"
}

# Column NAME of the last row of a TSV log that has a value in it.
last_value() {
	awk -F'\t' -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$k != "" { v = $k } END { print v }' "$2"
}

# ---- help, usage --------------------------------------------------------------

@test "help and version on stdout, exit 0" {
	run cnn-train --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: cnn-train --arch SPEC|FILE"* ]]
	[[ "$output" == *"--keep-best"* && "$output" == *"default 64"* ]]
	run cnn-train --version
	[ "$status" -eq 0 ]
	[[ "$output" == "cnn-train (cnnkit) "* ]]
}

@test "usage errors exit 2" {
	run cnn-train --bogus
	[ "$status" -eq 2 ]
	run cnn-train -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *"--arch is required"* ]]
	run cnn-train --arch "$ARCH" train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *"-o MODEL is required"* ]]
	run cnn-train --arch "$ARCH" -o m.tnz train.tnz val.tnz
	[ "$status" -eq 2 ]
}

@test "option values out of range: a clear message, exit 2" {
	run train --lr -1 -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *"lr -1 is out of range"* ]]
	run train --batch 0 -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *"batch 0 is out of range"* ]]
	run train --val-split 1.5 -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *"val-split 1.5 is out of range"* ]]
	run train --epochs 2x -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *"not an integer"* ]]
	run train --schedule step:0:0.5 -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	run train --augment flop -o m.tnz train.tnz
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown "flop"'* ]]
	[ ! -e m.tnz ]
}

# ---- summary ----------------------------------------------------------------------

@test "--summary of the reference network on 1x28x28: 421,642 parameters" {
	run cnn-train --summary --arch "$REF" --input-shape 1,28,28
	[ "$status" -eq 0 ]
	[[ "$output" == *"Total params: 421,642"* ]]
	[[ "$output" == *"(32,28,28)"*"320"* ]]
	[[ "$output" == *"dense 128 relu"*"(128)"*"401,536"* ]]
	[ ! -e m.tnz ]
}

@test "--summary takes the shape from the data" {
	run cnn-train --summary --arch "$ARCH" train.tnz
	[ "$status" -eq 0 ]
	# conv 4 3 on (1,8,8): (4,6,6), 40 params; maxpool: (4,3,3); dense 2: 74
	[[ "$output" == *"(4,6,6)"*"40"* ]]
	[[ "$output" == *"Total params: 114"* ]]
}

# ---- training ---------------------------------------------------------------------

@test "learns the easy task: val_acc above 0.9, the log has its columns" {
	run train --epochs 4 --val val.tnz --log log.tsv -o m.tnz train.tnz
	[ "$status" -eq 0 ]
	[ -s m.tnz ]
	[ "$(head -1 log.tsv)" = "$(printf 'epoch\tstep\tseconds\tlr\tloss\tacc\tval_loss\tval_acc')" ]
	# 7 batches per epoch, a row per step (fewer than 20 per epoch) and the
	# epoch-end row carrying the validation columns
	[ "$(wc -l < log.tsv)" -eq 29 ]
	[ "$(awk -F'\t' 'NR > 1 && NF != 8' log.tsv | wc -l)" -eq 0 ]
	[ "$(awk -F'\t' 'NR > 1 && $7 != ""' log.tsv | wc -l)" -eq 4 ]
	awk -F'\t' 'NR > 1 && $7 != "" { if ($1 != int($1)) exit 1 }' log.tsv
	acc=$(last_value val_acc log.tsv)
	awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }'
	# one line per epoch on a non-terminal stderr
	[ "$(grep -c '^epoch [1-4]/4  loss .* val_acc ' <<< "$output")" -eq 4 ]
	# the model file carries what cnn-eval needs
	run tnz meta m.tnz
	for k in arch input_shape loss normalize created_by; do grep -qx "$k" <<< "$output"; done
	[ "$(tnz meta m.tnz loss)" = cce ]
}

@test "--val-split, --normalize auto, --log-every and --arch FILE" {
	printf 'conv 4 3 relu  # features\nmaxpool 2\ndense 2\n' > arch.txt
	run cnn-train --arch arch.txt --lr 0.1 --threads 1 --epochs 2 --val-split 0.25 \
		--normalize auto --log-every 2 --log log.tsv -o m.tnz train.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *"150 training examples, 50 validation"* ]]
	# 3 batches of 64 per epoch: rows at steps 2, 3 (end), 4, 6 (end)
	[ "$(cut -f2 log.tsv | tail -n +2 | tr '\n' ' ')" = "2 3 4 6 " ]
	[[ "$(tnz meta m.tnz normalize)" == */* ]]
}

@test "data from standard input" {
	run train --epochs 1 -o m.tnz < train.tnz
	[ "$status" -eq 0 ]
	[ -s m.tnz ]
	run train --epochs 1 -o m2.tnz - < train.tnz
	[ "$status" -eq 0 ]
	cmp m.tnz m2.tnz || same_model m.tnz m2.tnz
}

@test "same seed and threads: the same model file, byte for byte" {
	a="conv 4 3 relu; maxpool 2; dropout 0.25; dense 2"
	mkdir a b c
	# the same command line in two directories (it is stored in the file)
	(cd a && train --arch "$a" --epochs 2 --augment crop=1 --val-split 0.2 -q -o m.tnz ../train.tnz)
	(cd b && train --arch "$a" --epochs 2 --augment crop=1 --val-split 0.2 -q -o m.tnz ../train.tnz)
	cmp a/m.tnz b/m.tnz
	(cd c && train --arch "$a" --epochs 2 --augment crop=1 --val-split 0.2 -q --seed 2 -o m.tnz ../train.tnz)
	! same_model a/m.tnz c/m.tnz
}

@test "1 epoch, then --resume to 3: the same model as 3 epochs straight" {
	train --epochs 3 --val val.tnz --optim adam --lr 0.01 -q -o a.tnz --log a.tsv train.tnz
	train --epochs 1 --val val.tnz --optim adam --lr 0.01 -q -o b.tnz --log b.tsv train.tnz
	[ -s b.tnz.ckpt ]
	run cnn-train --resume b.tnz.ckpt --epochs 3 -q
	[ "$status" -eq 0 ]
	same_model a.tnz b.tnz
	# the log was appended to: same rows, same steps
	[ "$(cut -f1,2 a.tsv)" = "$(cut -f1,2 b.tsv)" ]
}

@test "--stop-after-steps mid-epoch: exit 130, checkpoint named; resume gives the same model" {
	a="conv 4 3 relu; maxpool 2; dropout 0.25; dense 2"
	train --arch "$a" --epochs 2 --val-split 0.2 --augment crop=1 -q -o a.tnz train.tnz
	run train --arch "$a" --epochs 2 --val-split 0.2 --augment crop=1 -q -o b.tnz \
		--checkpoint ck.tnz --stop-after-steps 7 train.tnz
	[ "$status" -eq 130 ]
	[[ "$output" == *"interrupted at epoch 2, step 7"*"checkpoint ck.tnz"* ]]
	[ "$(tnz meta ck.tnz train.position)" = 2 ]
	run cnn-train --resume ck.tnz -q
	[ "$status" -eq 0 ]
	same_model a.tnz b.tnz
}

@test "SIGINT: finishes the step, writes the checkpoint, exits 130" {
	# a run long enough to be interrupted: many tiny steps
	cnn-train --arch "$ARCH" --batch 1 --epochs 1000 --threads 1 -q -o m.tnz train.tnz &
	pid=$!
	# the first checkpoint shows that the handler is installed
	for i in $(seq 300); do [ -e m.tnz.ckpt ] && break; sleep 0.1; done
	kill -INT $pid
	st=0
	wait $pid || st=$?
	[ "$st" -eq 130 ]
	[ -s m.tnz.ckpt ]
	tnz meta m.tnz.ckpt train.step
}

@test "a resumed run refuses conflicting options but takes a larger --epochs" {
	train --epochs 1 -q -o m.tnz train.tnz
	run cnn-train --resume m.tnz.ckpt --lr 0.5
	[ "$status" -eq 1 ]
	[[ "$output" == *"--lr 0.5 conflicts with the checkpoint's 0.1"* ]]
	run cnn-train --resume m.tnz.ckpt --arch 'dense 2'
	[ "$status" -eq 1 ]
	[[ "$output" == *"--arch dense 2 conflicts"* ]]
	run cnn-train --resume m.tnz.ckpt
	[ "$status" -eq 1 ]
	[[ "$output" == *"finished its 1 epochs"* ]]
	run cnn-train --resume m.tnz.ckpt --epochs 2 -q
	[ "$status" -eq 0 ]
	[ "$(tnz meta m.tnz epoch)" = 2 ]
}

@test "a NaN loss stops the run, names epoch and step, keeps the good checkpoint" {
	train --epochs 1 -q --checkpoint ck.tnz -o good.tnz train.tnz
	cp ck.tnz ck.saved
	run train --epochs 2 --lr 1e30 --checkpoint ck.tnz -o bad.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"loss is not finite at epoch 1, step "* ]]
	cmp ck.tnz ck.saved
	[ ! -e bad.tnz ]
}

@test "--patience stops early; the model file holds the best epoch" {
	run train --epochs 20 --val "$DATA/noise.tnz" --patience 2 --log log.tsv -o m.tnz train.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopped early after epoch"* ]]
	ran=$(grep -c '^epoch ' <<< "$output")
	[ "$ran" -lt 20 ]
	# the best epoch is the one with the lowest val_loss in the log
	best=$(awk -F'\t' 'NR > 1 && $7 != "" && (b == "" || $7 < b) { b = $7; e = $1 } END { print int(e) }' log.tsv)
	[ "$(tnz meta m.tnz epoch)" = "$best" ]
	[ "$ran" -eq $((best + 2)) ]
}

@test "--keep-best val_acc, --init from a model" {
	train --epochs 2 --val val.tnz --keep-best val_acc -q -o a.tnz train.tnz
	run train --epochs 1 --init a.tnz --lr 0.001 --val val.tnz --log log.tsv -o b.tnz train.tnz
	[ "$status" -eq 0 ]
	# starting from a trained model, the first epoch is already good
	awk -v a="$(last_value val_acc log.tsv)" 'BEGIN { exit !(a > 0.9) }'
}

# ---- bad input --------------------------------------------------------------------

@test "an architecture with a typo: the message names the layer and the word" {
	run train --arch 'conv 4 3 relu; maxpol 2; dense 2' -o m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: "*"layer 2"*"maxpol"* ]]
	run train --arch 'conv 4 3 rleu; dense 2' -o m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 1"*"rleu"* ]]
	[ ! -e m.tnz ]
}

@test "data that does not fit the model" {
	# 10 outputs for 2 classes is allowed (a subset); 3 classes into 2 is not
	run train --arch "$ARCH" -o m.tnz "$DATA/three.tnz"
	[ "$status" -eq 1 ]
	[[ "$output" == *"3 classes"*"outputs 2"* ]]
	# a kernel larger than the image
	run train --arch 'conv 4 9; dense 2' -o m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: "*"layer 1"* ]]
	# a validation set of another shape
	tnz import "$DATA/three-images.idx" --name x -o x-only.tnz
	run train --val x-only.tnz -o m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"no labels"* ]]
	[ ! -e m.tnz ]
}

@test "labels out of range and an empty dataset" {
	tnz meta -s classes="$(printf 'a\nb')" -o bad.tnz "$DATA/three.tnz"
	run train -o m.tnz bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"class 2 is out of range [0, 2)"* ]]
	mkdata empty 0 1
	run train -o m.tnz empty.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"no examples"* ]]
	[ ! -e m.tnz ]
}

@test "losses that do not fit the data or the final activation" {
	run train --arch 'conv 4 3 relu; maxpool 2; dense 2 sigmoid' --loss cce -o m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"cce does not fit the model's final sigmoid"* ]]
	run train --loss mse -o m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"mse needs f32 targets"* ]]
	# one output and ids 0/1: bce by default
	run train --arch 'conv 4 3 relu; maxpool 2; dense 1' --epochs 3 --val val.tnz -o m.tnz train.tnz
	[ "$status" -eq 0 ]
	[ "$(tnz meta m.tnz loss)" = bce ]
}

@test "--init or --resume with a file of another architecture" {
	train --epochs 1 -q -o m.tnz train.tnz
	run train --arch 'conv 8 3 relu; maxpool 2; dense 2' --init m.tnz -o m2.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"--init m.tnz"*"0.conv.weight"*"shape"* ]]
	run cnn-train --resume m.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a checkpoint"* ]]
	[ ! -e m2.tnz ]
}

@test "a truncated checkpoint" {
	train --epochs 1 -q -o m.tnz train.tnz
	head -c 300 m.tnz.ckpt > cut.tnz
	run cnn-train --resume cut.tnz --epochs 2
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: checkpoint cut.tnz: "* ]]
}

@test "a non-writable output directory fails before training" {
	mkdir ro && chmod 555 ro
	if [ -w ro ]; then skip "running as a user who can write anywhere"; fi
	run train --epochs 1 --log log.tsv -o ro/m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: model file ro/m.tnz: "* ]]
	[ ! -e log.tsv ] || [ "$(wc -l < log.tsv)" -le 1 ]
}

@test "the model cannot go to standard output" {
	run train --epochs 1 -o - train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"-o -: the model must go to a file"* ]]
}

@test "a missing output directory fails before training" {
	run train --epochs 1 -o nodir/m.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: model file nodir/m.tnz: "* ]]
	[[ "$output" != *"epoch 1/1"* ]]
}

# ---- progress -----------------------------------------------------------------

@test "--progress draws the bar; NO_COLOR drops the colour; -q prints nothing" {
	run train --epochs 1 --progress -o m.tnz train.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *"epoch 1/1 ["*"img/s"*"loss"*"ETA"* ]]
	[[ "$output" != *$'\033[1m'* ]]  # stderr is not a terminal: no colour
	if command -v script >/dev/null; then
		# on a terminal: the bar without --progress, in colour unless NO_COLOR
		cmd="cnn-train --arch '$ARCH' --threads 1 --epochs 1 -o m.tnz train.tnz"
		run script -qec "$cmd" /dev/null
		[ "$status" -eq 0 ]
		[[ "$output" == *$'\033[1m'*"img/s"* ]]
		NO_COLOR=1 run script -qec "$cmd" /dev/null
		[ "$status" -eq 0 ]
		[[ "$output" == *"img/s"* && "$output" != *$'\033[1m'* ]]
	fi
	run train --epochs 1 -q -o m.tnz train.tnz
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
