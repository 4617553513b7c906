#!/usr/bin/env bats
# cnn-train(1) stopped from outside and resumed: SIGKILL after a checkpoint,
# SIGKILL while a checkpoint is being written, SIGINT, and a second SIGINT
# while the interrupt's checkpoint is being written. The checkpoint on disk is
# always whole (written to a temporary file, fsync'ed, renamed), and --resume
# from it ends with the model file of a run never stopped, byte for byte.
#
# Each case runs the same command line in two directories, ref/ (never
# stopped) and run/ (stopped, resumed): the command line is stored in the model
# file. Every run uses --threads 1 and a fixed seed, so it is bit-reproducible.
# The function that starts a run execs cnn-train, so that the signals reach it
# and not a subshell (which would leave cnn-train running).
# Nothing waits blindly: the tests poll for the checkpoint and for its
# temporary file (.NAME.tmpXXXXXX, beside it) to know where the run is.

setup_file() {
	local build=${BUILD:-${CK_TOP:-$BATS_TEST_DIRNAME/../..}/build}
	"$build/tests/test_data_fixtures" "$BATS_FILE_TMPDIR" >/dev/null
	cd "$BATS_FILE_TMPDIR"
	# 200 examples of 2 features and 3 classes: the 5 of data-3way.tnz, 40
	# times. The networks need not learn anything; the runs must only be
	# long enough to be stopped: small.tnz has 16 examples, big.tnz 10000.
	tnz cat -o train.tnz $(printf 'data-3way.tnz %.0s' $(seq 40))
	tnz head -n 16 -o small.tnz train.tnz
	tnz cat -o big.tnz $(printf 'train.tnz %.0s' $(seq 50))
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	mkdir ref run
	shopt -s nullglob
}

# Whether process PID has ended (a zombie counts: it is not waited for yet).
# Reads /proc without a fork, to keep the polls fast.
ended() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

# wait_for FILE PID: busy-polls until FILE exists, so that what follows
# comes right after its rename. Fails when PID ends first, or after 60 s.
wait_for() {
	local start=$SECONDS
	while ((SECONDS - start < 60)); do
		[ -e "$1" ] && return 0
		if ended "$2"; then
			echo "# the run ended before $1 appeared"
			return 1
		fi
	done
	echo "# $1 did not appear within 60 s"
	return 1
}

# wait_for_write N PID: busy-polls (the window is a few milliseconds) until
# the N-th temporary file of a checkpoint write, counted from now, exists;
# sets tmp to its name. Fails when PID ends first, or after 60 s.
wait_for_write() {
	local n=0 seen="" start=$SECONDS t
	tmp=""
	while ((SECONDS - start < 60)); do
		if ended "$2"; then
			echo "# the run ended before checkpoint write $1"
			return 1
		fi
		t=(.m.tnz.ckpt.tmp*)
		if ((${#t[@]} > 0)) && [ "${t[0]}" != "$seen" ]; then
			seen=${t[0]}
			n=$((n + 1))
			if ((n >= $1)); then
				tmp=$seen
				return 0
			fi
		fi
	done
	echo "# no checkpoint write seen within 60 s"
	return 1
}

# A log without its seconds column, keeping the last row of each step (what
# formats/log.md asks of a reader of a resumed run's log).
log_rows() {
	awk -F'\t' 'NR == 1 { next } { $3 = ""; row[$2] = $0; if (!($2 in seen)) order[n++] = $2;
		seen[$2] = 1 } END { for (i = 0; i < n; i++) print row[order[i]] }' "$1"
}

@test "kill -9 after the first checkpoint, then --resume: the same model file byte for byte, and the log" {
	train() {
		exec cnn-train --arch 'dense 64 relu; dropout 0.25; dense 3' --optim adam --lr 0.01 \
			--batch 1 --epochs 8 --val-split 0.2 --log log.tsv --log-every 40 --threads 1 \
			--seed 3 -q -o m.tnz "$BATS_FILE_TMPDIR/train.tnz"
	}
	(cd ref && train)
	cd run
	train 3>&- &
	pid=$!
	# Killed right after the rename: the epoch's log row must be out already
	# (it once came after the checkpoint, and such a kill lost it).
	wait_for m.tnz.ckpt $pid
	kill -KILL $pid
	st=0
	wait $pid || st=$?
	[ "$st" -eq 137 ] # killed, not finished
	epoch=$(tnz meta m.tnz.ckpt train.epoch)
	echo "# killed after the checkpoint of epoch $epoch"
	[ "$epoch" -ge 1 ] && [ "$epoch" -lt 8 ]
	run cnn-train --resume m.tnz.ckpt -q
	[ "$status" -eq 0 ]
	cmp ../ref/m.tnz m.tnz
	# The rows after the checkpoint came again; the last of each step is the reference's.
	[ "$(log_rows log.tsv)" = "$(log_rows ../ref/log.tsv)" ]
}

# The runs that are to be stopped during a write run at a lower priority than
# the test, which then sees the temporary file and sends the signal before the
# write ends, even on a loaded machine. The window is short all the same: a
# round that misses it still checks everything else, and rounds go on (up to
# 10) until one hit it.

@test "kill -9 during checkpoint writes: the checkpoint on disk always loads and resumes to the same model" {
	# 1-step epochs: the run mostly writes its 130 KB checkpoint.
	train() {
		exec nice -n 10 cnn-train --arch 'dense 2048 relu; dense 3' --optim adam --lr 0.01 \
			--batch 16 --epochs 40 --threads 1 -q -o m.tnz "$BATS_FILE_TMPDIR/small.tnz"
	}
	(cd ref && train)
	cd run
	hits=0 round=0
	while ((round < 3 || (hits == 0 && round < 10))); do
		round=$((round + 1))
		rm -f m.tnz m.tnz.ckpt .m.tnz*
		train 3>&- &
		pid=$!
		wait_for m.tnz.ckpt $pid
		wait_for_write $(((round - 1) % 4 + 1)) $pid # the 1st to 4th write from now
		kill -KILL $pid
		st=0
		wait $pid || st=$?
		[ "$st" -eq 137 ]
		# The temporary file outlives the kill when it landed mid-write.
		[ -e "$tmp" ] && hits=$((hits + 1))
		echo "# round $round: killed after the checkpoint of epoch $(tnz meta m.tnz.ckpt train.epoch);" \
		     "mid-write: $([ -e "$tmp" ] && echo "yes, $(wc -c <"$tmp") bytes left in $tmp" || echo no)"
		tnz cat -o /dev/null m.tnz.ckpt # every record and CRC checks
		run cnn-train --resume m.tnz.ckpt -q
		[ "$status" -eq 0 ]
		cmp ../ref/m.tnz m.tnz
	done
	# Every round above checked its checkpoint; a machine fast enough that no
	# write was caught in flight has not exercised the mid-write case.
	[ "$hits" -ge 1 ] || skip "no checkpoint write was caught in flight in $round rounds"
}

@test "SIGINT mid-epoch: exit 130, and --resume gives the same model file and log" {
	# 10000 steps an epoch (about 0.5 s), a log row every 10.
	train() {
		exec cnn-train --arch 'dense 64 relu; dense 3' --lr 0.05 --batch 1 --epochs 2 \
			--log log.tsv --log-every 10 --threads 1 -q -o m.tnz "$BATS_FILE_TMPDIR/big.tnz"
	}
	(cd ref && train)
	cd run
	train 3>&- &
	pid=$!
	# Poll the log (rows are flushed whole) until the run is into epoch 2.
	for ((i = 0; i < 6000; i++)); do
		[ -e log.tsv ] && [ "$(awk -F'\t' 'NR > 1 { s = $2 } END { print s + 0 }' log.tsv)" -ge 10010 ] &&
			break
		sleep 0.01
	done
	kill -INT $pid
	st=0
	wait $pid || st=$?
	[ "$st" -eq 130 ]
	pos=$(tnz meta m.tnz.ckpt train.position)
	echo "# interrupted at epoch $(tnz meta m.tnz.ckpt train.epoch), position $pos"
	[ "$pos" -gt 0 ]
	run cnn-train --resume m.tnz.ckpt -q
	[ "$status" -eq 0 ]
	cmp ../ref/m.tnz m.tnz
	[ "$(log_rows log.tsv)" = "$(log_rows ../ref/log.tsv)" ]
}

@test "a second SIGINT ends the run at once, during a checkpoint write too: the checkpoint on disk resumes" {
	train() {
		exec nice -n 10 cnn-train --arch 'dense 2048 relu; dense 3' --optim adam --lr 0.01 \
			--batch 1 --epochs 40 --threads 1 -q -o m.tnz "$BATS_FILE_TMPDIR/small.tnz"
	}
	(cd ref && train)
	cd run
	hits=0 round=0
	while ((round < 1 || (hits == 0 && round < 10))); do
		round=$((round + 1))
		rm -f m.tnz m.tnz.ckpt .m.tnz*
		train 3>&- &
		pid=$!
		wait_for m.tnz.ckpt $pid
		kill -INT $pid # finish the step, write the checkpoint, exit 130 ...
		# ... unless a second one comes during the write. None is seen when
		# the write was over before a poll saw it: the run has ended then.
		if wait_for_write 1 $pid; then
			kill -INT $pid 2>/dev/null || true # the write may have ended, and the run, since
		fi
		st=0
		wait $pid || st=$?
		[ "$st" -eq 130 ] # 128 + SIGINT either way: the exit of the first, or killed by the second
		[ -n "$tmp" ] && [ -e "$tmp" ] && hits=$((hits + 1))
		echo "# round $round: checkpoint of epoch $(tnz meta m.tnz.ckpt train.epoch)," \
		     "position $(tnz meta m.tnz.ckpt train.position);" \
		     "killed mid-write: $([ -n "$tmp" ] && [ -e "$tmp" ] && echo yes || echo no)"
		tnz cat -o /dev/null m.tnz.ckpt
		run cnn-train --resume m.tnz.ckpt -q
		[ "$status" -eq 0 ]
		cmp ../ref/m.tnz m.tnz
	done
	# Every round above checked its checkpoint; a machine fast enough that no
	# write was caught in flight has not exercised the mid-write case.
	[ "$hits" -ge 1 ] || skip "no checkpoint write was caught in flight in $round rounds"
}
