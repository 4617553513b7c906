#!/usr/bin/env bats
# cnn-train(1) data-parallel under MPI: `mpirun -np 2 --oversubscribe` runs of
# the MPI build (make MPI=1, found through CK_MPI_BUILD, default build-mpi/;
# or the build under test itself when it is an MPI one) against one-process
# runs of the default build, on small synthetic data made here (8x8 images,
# class 0 bright on the left, class 1 on the right). Every test skips, with
# the reason, when mpirun or the MPI build is missing; the first test checks
# the default build and needs neither. Every mpirun has a timeout: a job that
# hangs fails instead of stalling the suite.

ARCH='conv 4 3 relu; maxpool 2; conv 6 3 pad=same relu; dense 5 relu; dense 2'

# mkdata NAME N SEED [SIZE]: NAME.tnz with N examples of SIZExSIZE (default 8).
mkdata() {
	python3 - "$@" <<'EOF'
import random, struct, sys
name, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = int(sys.argv[4]) if len(sys.argv) > 4 else 8
r = random.Random(seed)
img, lab = bytearray(), bytearray()
for i in range(n):
    c = i % 2
    for y in range(size):
        for x in range(size):
            img.append(r.randint(140, 255) if (x < size // 2) == (c == 0) else r.randint(0, 115))
    lab.append(c)
open(name + "-images.idx", "wb").write(struct.pack(">IIII", 0x803, n, size, size) + img)
open(name + "-labels.idx", "wb").write(struct.pack(">II", 0x801, n) + lab)
EOF
	tnz import -q "$1-images.idx" "$1-labels.idx" -o "$1.tnz"
}

# The MPI cnn-train, or nothing.
find_mpi_train() {
	local build=${CK_MPI_BUILD:-$CK_TOP/build-mpi}
	case $build in /*) ;; *) build="$CK_TOP/$build" ;; esac
	local own
	own=$(command -v cnn-train)
	if [ -n "$own" ] && "$own" --version | grep -q MPI; then
		echo "$own"
	elif [ -x "$build/bin/cnn-train" ] && "$build/bin/cnn-train" --version | grep -q MPI; then
		echo "$build/bin/cnn-train"
	fi
}

setup_file() {
	export DATA="$BATS_FILE_TMPDIR"
	export CK_TOP=${CK_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	cd "$DATA"
	MPI_TRAIN=$(find_mpi_train)
	NO_MPI=""
	if ! command -v mpirun >/dev/null; then
		NO_MPI="no mpirun (make deps installs openmpi-bin)"
	elif [ -z "$MPI_TRAIN" ]; then
		NO_MPI="no MPI build of cnn-train (make MPI=1, or make test with mpicc installed)"
	fi
	export MPI_TRAIN NO_MPI
	# Open MPI refuses root unless told twice; CI containers run as root.
	if [ "$(id -u)" -eq 0 ]; then
		export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	fi
	# Containers often forbid the cross-memory attach of the shared-memory
	# transport (process_vm_readv): copy through the shared segment instead.
	export OMPI_MCA_btl_vader_single_copy_mechanism=none
	[ -z "$NO_MPI" ] || return 0
	mkdata train 200 1
	mkdata val 60 2
	tnz split -q --count 120 --seed 3 -o part-0.tnz -o part-1.tnz train.tnz
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

need_mpi() {
	[ -z "$NO_MPI" ] || skip "$NO_MPI"
}

# mpi2 ARGS...: cnn-train on 2 ranks, at most 2 minutes.
MPIRUN="timeout 120 mpirun -np 2 --oversubscribe"
mpi2() {
	$MPIRUN "$MPI_TRAIN" "$@"
}

# The small task on 1 process (default build) and on 2 ranks (MPI build).
one() {
	cnn-train --arch "$ARCH" --lr 0.1 --batch 33 --threads 1 "$@"
}
two() {
	mpi2 --arch "$ARCH" --lr 0.1 --batch 33 --threads 1 "$@"
}

# close A B TOL: every parameter (and optimiser state) of the TNZ files A and
# B agrees to TOL relative, |a - b| <= TOL max(|a|, |b|, s), where s is 1% of
# the largest magnitude in the tensor: a weight that a step brings near 0 has
# lost its relative precision to cancellation, in one process as in several.
close() {
	/usr/bin/python3 - "$CK_TOP/tools" "$@" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np, tnz
a, b, tol = tnz.load(sys.argv[2]), tnz.load(sys.argv[3]), float(sys.argv[4])
assert sorted(a.keys()) == sorted(b.keys()), (sorted(a.keys()), sorted(b.keys()))
worst = 0.0
for k in a.keys():
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    floor = max(0.01 * np.abs(x).max(), 1e-30)
    rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), floor)
    worst = max(worst, float(rel.max()))
print("largest relative difference %.3g" % worst)
sys.exit(0 if worst <= tol else 1)
EOF
}

# same_log A B TOL: two TSV logs with the same rows, numbers within TOL
# relative, the seconds column aside.
same_log() {
	paste "$1" "$2" | awk -F'\t' -v tol="$3" 'NR > 1 { h = NF / 2
		for (i = 1; i <= h; i++) { if (i == 3) continue
			a = $i; b = $(i + h); d = a - b; d = d < 0 ? -d : d
			m = a < 0 ? -a : a; m = m < 1e-30 ? 1e-30 : m
			if (d > tol * m) { print "row " NR " column " i ": " a " vs " b; bad = 1 } } }
		END { exit bad }'
}

need_numpy() {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "no NumPy for /usr/bin/python3"
}

# ---- the default build --------------------------------------------------------

@test "the default build is MPI-free" {
	run cnn-train --version
	[ "$status" -eq 0 ]
	[[ "$output" != *MPI* ]]
	command -v ldd >/dev/null || skip "no ldd"
	run ldd "$(command -v cnn-train)"
	[[ "$output" != *libmpi* ]]
}

# ---- agreement with one process -----------------------------------------------

@test "--version of the MPI build names the MPI library" {
	need_mpi
	run "$MPI_TRAIN" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "cnn-train (cnnkit) "*", MPI ("*")" ]]
}

@test "one step on 2 ranks gives the 1-rank weights to 1e-5 relative (shares 17 + 16)" {
	need_mpi
	need_numpy
	one --epochs 1 --stop-after-steps 1 -q -o one.tnz "$DATA/train.tnz" || [ $? -eq 130 ]
	run two --epochs 1 --stop-after-steps 1 -o two.tnz "$DATA/train.tnz"
	[ "$status" -eq 130 ]
	[[ "$output" == *"on each of 2 ranks (a share of every batch each)"* ]]
	[[ "$output" == *"interrupted at epoch 1, step 1"* ]]
	run close one.tnz.ckpt two.tnz.ckpt 1e-5
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "2 ranks train as 1: the same log and a model that agrees to 1e-4" {
	need_mpi
	need_numpy
	one --epochs 2 --val "$DATA/val.tnz" --log one.tsv -q -o one.tnz "$DATA/train.tnz"
	run two --epochs 2 --val "$DATA/val.tnz" --log two.tsv -o two.tnz "$DATA/train.tnz"
	[ "$status" -eq 0 ]
	[[ "$output" == *"200 training examples, 60 validation; 7 batches of 33 per epoch"* ]]
	# rank 0 alone reports, writes the log and the model
	[ "$(grep -c 'wrote two.tnz' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^epoch 2/2' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^epoch' two.tsv)" -eq 1 ]
	same_log one.tsv two.tsv 1e-4
	run close one.tnz two.tnz 1e-4
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a checkpoint of 2 ranks resumes on 1, and one of 1 on 2" {
	need_mpi
	need_numpy
	one --epochs 2 -q -o whole.tnz "$DATA/train.tnz"
	run two --epochs 2 --stop-after-steps 5 -o a.tnz "$DATA/train.tnz"
	[ "$status" -eq 130 ]
	[ -s a.tnz.ckpt ]
	cnn-train --resume a.tnz.ckpt -q
	close whole.tnz a.tnz 1e-4
	one --epochs 2 --stop-after-steps 9 -q -o b.tnz "$DATA/train.tnz" || [ $? -eq 130 ]
	run mpi2 --resume b.tnz.ckpt
	[ "$status" -eq 0 ]
	[[ "$output" == *"resuming at epoch 2, step 9"* ]]
	close whole.tnz b.tnz 1e-4
}

# ---- one file per rank --------------------------------------------------------

@test "%r: a file per rank, --normalize auto over all of them" {
	need_mpi
	run two --epochs 2 --normalize auto --val-split 0.2 -o s.tnz "$DATA/part-%r.tnz"
	[ "$status" -eq 0 ]
	# 120 + 80 examples; 96 + 64 after the split: 6 steps of 17 + 16
	[[ "$output" == *"160 training examples, 40 validation; 6 batches of 33"* ]]
	[[ "$output" == *"(a file each)"* ]]
	[ -s s.tnz ]
	# the statistics pooled over the files are those of the whole set
	one --epochs 1 --normalize auto -q -o whole.tnz "$DATA/train.tnz"
	run two --epochs 1 --normalize auto -q -o pooled.tnz "$DATA/part-%r.tnz"
	[ "$status" -eq 0 ]
	awk -v a="$(tnz meta whole.tnz normalize)" -v b="$(tnz meta pooled.tnz normalize)" 'BEGIN {
		split(a, x, "/"); split(b, y, "/")
		for (i = 1; i <= 2; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > 1e-6 * x[i]) exit 1 } }'
}

# ---- failures end the whole job -----------------------------------------------

@test "a bad file on one rank stops every rank with its message" {
	need_mpi
	cp "$DATA/part-0.tnz" bad-0.tnz
	head -c 3000 "$DATA/part-1.tnz" > bad-1.tnz
	run two --epochs 1 -o m.tnz bad-%r.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"cnn-train: rank 1: bad-1.tnz: truncated"* ]]
	[ ! -e m.tnz ]
}

@test "ranks whose data builds different models stop with a message" {
	need_mpi
	cp "$DATA/part-0.tnz" mixed-0.tnz
	mkdata mixed-1 50 5 10
	run two --epochs 1 -o m.tnz mixed-%r.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"rank 1: this rank's model"*"differs from rank 0's"* ]]
}

@test "kill -9 of one rank ends the job" {
	need_mpi
	$MPIRUN "$MPI_TRAIN" --arch "$ARCH" --threads 1 --epochs 100000 -q --log k.tsv \
		-o k.tnz "$DATA/train.tnz" >k.out 2>&1 &
	local job=$! # timeout, parent of mpirun, parent of the ranks
	for _ in $(seq 300); do [ -s k.tsv ] && break; sleep 0.1; done
	[ -s k.tsv ]
	local ranks
	ranks=$(pgrep -P "$(pgrep -P $job)")
	[ "$(wc -w <<<"$ranks")" -eq 2 ]
	kill -9 "$(tail -n 1 <<<"$ranks")"
	local status=0
	wait $job || status=$?
	cat k.out
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[[ "$(cat k.out)" == *"exited on signal 9"* ]]
}

@test "SIGUSR1 to mpirun: every rank stops, rank 0 writes the checkpoint" {
	need_mpi
	$MPIRUN "$MPI_TRAIN" --arch "$ARCH" --threads 1 --epochs 100000 --log u.tsv -o u.tnz \
		"$DATA/train.tnz" >u.out 2>&1 &
	local job=$! # timeout, parent of mpirun
	for _ in $(seq 300); do [ -s u.tsv ] && break; sleep 0.1; done
	kill -USR1 "$(pgrep -P $job)"
	local status=0
	wait $job || status=$?
	cat u.out
	[ "$status" -eq 130 ]
	[ "$(grep -c 'interrupted at epoch' u.out)" -eq 1 ]
	[ -s u.tnz.ckpt ]
	[ "$(tnz meta u.tnz.ckpt train.step)" -gt 0 ]
}

@test "usage on several ranks: a global batch too small, standard input" {
	need_mpi
	run two --batch 1 --epochs 1 -o m.tnz "$DATA/train.tnz"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--batch 1 is the global batch: it needs at least one example for each of the 2 ranks"* ]]
	run two --epochs 1 -o m.tnz <"$DATA/train.tnz"
	[ "$status" -eq 1 ]
	[[ "$output" == *"standard input reaches one rank only"* ]]
}
