#!/usr/bin/env bats
# tools/tnz.py (the NumPy reader and writer) and the reference files of
# formats/examples/. The last tests check interoperability with the C `tnz`
# tool and are skipped when it is not on PATH.

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	PY=/usr/bin/python3
	TNZPY="$PY $TOP/tools/tnz.py"
	EX=$TOP/formats/examples
	T=$BATS_TEST_TMPDIR
	"$PY" -c 'import numpy' 2>/dev/null || skip "no numpy under $PY (make deps)"
}

pytest() {
	run "$PY" "$TOP/tests/python/test_tnzpy.py" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

need_tnz() {
	command -v tnz >/dev/null 2>&1 || skip "the C tnz tool is not built (tools/tnz/): interop not tested"
}

@test "tnz.py: every reference file gives its expected outcome and content" {
	pytest examples
}

@test "tnz.py: the writer reproduces the example of the spec byte for byte" {
	pytest spec
}

@test "tnz.py: every dtype and rank 0..8 round-trips through save and load" {
	pytest roundtrip
}

@test "tnz.py: streaming writer with unknown first dimension; failed writes leave no file" {
	pytest writer
}

@test "tnz.py: 20000 random corruptions of valid files give TNZError or identical data" {
	pytest corrupt --trials 20000
}

@test "tnz.py: truncation at every offset of every valid file says truncated" {
	pytest truncate
}

@test "make_tnz_examples.py regenerates the committed reference files" {
	run "$PY" "$TOP/tools/make_tnz_examples.py" "$T/ex"
	[ "$status" -eq 0 ]
	for f in "$EX"/*.tnz "$EX"/expected.tsv "$EX"/README.md; do
		cmp "$f" "$T/ex/$(basename "$f")"
	done
	[ "$(ls "$T/ex" | wc -l)" -eq "$(ls "$EX" | wc -l)" ]
}

@test "tnz.py --help, --version and usage errors" {
	run $TNZPY --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: tnz.py"* ]]
	[[ "$output" == *"info"* && "$output" == *"topy"* && "$output" == *"frompy"* ]]
	run $TNZPY --version
	[ "$status" -eq 0 ]
	[[ "$output" == "tnz.py "* ]]
	run $TNZPY
	[ "$status" -eq 2 ]
	run $TNZPY frobnicate x
	[ "$status" -eq 2 ]
}

@test "tnz.py info lists tensors and metadata; errors exit 1 with the reader's message" {
	run $TNZPY info "$EX/ok_spec_example.tnz"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'tensor\tx\tu8\t(2, 3)\t6 bytes'* ]]
	[[ "$output" == *$'meta\tclasses\t7 bytes'* ]]
	run $TNZPY info "$EX/err_crc.tnz"
	[ "$status" -eq 1 ]
	[[ "$output" == "tnz.py: CRC mismatch in DATA record at offset "* ]]
	run $TNZPY info "$T/missing.tnz"
	[ "$status" -eq 1 ]
}

@test "tnz.py reads a concatenated stream from a pipe" {
	run sh -c "cat '$EX/ok_stored.tnz' '$EX/ok_stored.tnz' | $TNZPY info -"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'files\t2'* ]]
	[[ "$output" == *$'tensor\tids\ti32\t(20, 4)\t320 bytes'* ]]
	run sh -c "cat '$EX/ok_concatenated.tnz' | $PY -c '
import sys; sys.path.insert(0, \"$TOP/tools\"); import tnz
for name, a in tnz.iter_tensors(sys.stdin.buffer):
    print(name, a.shape)
'"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'x (2, 3)\ny (2,)\nx (1, 3)\ny (1,)')" ]
}

@test "tnz.py topy and frompy keep tensors, metadata and bf16" {
	run $TNZPY topy "$EX/ok_all_dtypes.tnz" "$T/a.npz"
	[ "$status" -eq 0 ]
	run $TNZPY frompy "$T/a.npz" "$T/b.tnz"
	[ "$status" -eq 0 ]
	run $TNZPY topy "$EX/ok_big_meta.tnz" "$T/m.npz"
	[ "$status" -eq 0 ]
	run $TNZPY frompy --level 0 "$T/m.npz" "$T/m.tnz"
	[ "$status" -eq 0 ]
	"$PY" -c 'import numpy as np; np.save("'"$T"'/v.npy", np.arange(12.0).reshape(3, 4))'
	run $TNZPY frompy --name vectors "$T/v.npy" "$T/v.tnz"
	[ "$status" -eq 0 ]
	run "$PY" -c '
import sys; sys.path.insert(0, "'"$TOP"'/tools"); import tnz, numpy as np
a, b = tnz.load("'"$EX"'/ok_all_dtypes.tnz"), tnz.load("'"$T"'/b.tnz")
assert a.dtypes == b.dtypes, (a.dtypes, b.dtypes)
assert all(a[n].tobytes() == b[n].tobytes() and a[n].shape == b[n].shape for n in a)
assert tnz.load("'"$EX"'/ok_big_meta.tnz").meta == tnz.load("'"$T"'/m.tnz").meta
assert (tnz.load("'"$T"'/v.tnz")["vectors"] == np.arange(12.0).reshape(3, 4)).all()
'
	echo "$output"
	[ "$status" -eq 0 ]
	run $TNZPY topy "$EX/err_zlib_bomb.tnz" "$T/bomb.npz"
	[ "$status" -eq 1 ]
	[[ "$output" == *"corrupt chunk"* ]]
	[ ! -e "$T/bomb.npz" ]
}

# ---- interoperability with the C tnz tool (skipped until it exists) -------

@test "interop: C tnz info gives the expected outcome for every reference file" {
	need_tnz
	fails=0
	while IFS=$(printf '\t') read -r file outcome message what; do
		[ "$file" = file ] && continue
		out=$(tnz info "$EX/$file" 2>&1) && rc=0 || rc=$?
		if [ "$outcome" = ok ] && [ $rc -ne 0 ]; then
			echo "$file: expected ok, got: $out"; fails=$((fails + 1))
		elif [ "$outcome" = error ] && { [ $rc -ne 1 ] || [[ "$out" != *"$message"* ]]; }; then
			echo "$file: expected exit 1 with \"$message\", got $rc: $out"; fails=$((fails + 1))
		fi
	done <"$EX/expected.tsv"
	[ "$fails" -eq 0 ]
}

@test "interop: tnz.py writes, C tnz export reads (every dtype but bf16, rank 0..8)" {
	need_tnz
	"$PY" -c '
import sys; sys.path.insert(0, "'"$TOP"'/tools"); import tnz, numpy as np
rng = np.random.default_rng(5)
t = {"u8": rng.integers(0, 256, (4, 3), dtype=np.uint8), "i8": np.arange(-5, 5, dtype=np.int8),
     "u16": np.arange(6, dtype=np.uint16).reshape(2, 3), "i16": -np.arange(6, dtype=np.int16),
     "u32": np.array([0, 2**32 - 1], np.uint32), "i32": np.arange(-3, 3, dtype=np.int32).reshape(3, 2),
     "u64": np.array([2**64 - 1], np.uint64), "i64": np.array([-2**63, 7], np.int64),
     "f16": np.array([1.5, -2.0], np.float16), "bool": np.array([True, False]),
     "f32": rng.standard_normal((5, 2, 3)).astype(np.float32), "f64": rng.standard_normal(7),
     "scalar": np.array(2.5, np.float32),
     "rank8": np.arange(256, dtype=np.float32).reshape((2,) * 8)}
tnz.save("'"$T"'/py.tnz", t, {"classes": "a\nb"}, chunk_bytes=16)
np.savez("'"$T"'/want.npz", **t)
'
	run tnz info "$T/py.tnz"
	echo "$output"
	[ "$status" -eq 0 ]
	run tnz export -o "$T/c.npz" "$T/py.tnz"
	echo "$output"
	[ "$status" -eq 0 ]
	run "$PY" -c '
import numpy as np
want, got = np.load("'"$T"'/want.npz"), np.load("'"$T"'/c.npz")
for n in want.files:
    assert want[n].dtype == got[n].dtype and want[n].shape == got[n].shape, (n, got[n].dtype, got[n].shape)
    assert want[n].tobytes() == got[n].tobytes(), n
'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "interop: C tnz import writes, tnz.py reads; cat of both reads in both" {
	need_tnz
	"$PY" -c '
import numpy as np
np.savez("'"$T"'/in.npz", x=np.arange(24, dtype=np.float32).reshape(2, 3, 4), y=np.array([3, 1], np.int32))
'
	run tnz import "$T/in.npz" -o "$T/c.tnz"
	echo "$output"
	[ "$status" -eq 0 ]
	"$PY" -c '
import sys; sys.path.insert(0, "'"$TOP"'/tools"); import tnz, numpy as np
t = tnz.load("'"$T"'/c.tnz")
assert (t["x"] == np.arange(24, dtype=np.float32).reshape(2, 3, 4)).all() and t.dtypes["x"] == "f32"
assert (t["y"] == np.array([3, 1])).all() and t.dtypes["y"] == "i32"
tnz.save("'"$T"'/p.tnz", {"x": np.ones((1, 3, 4), np.float32), "y": np.array([9], np.int32)})
'
	cat "$T/c.tnz" "$T/p.tnz" >"$T/both.tnz"
	run tnz info "$T/both.tnz"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(3, 3, 4)"* ]]
	run $TNZPY info "$T/both.tnz"
	[[ "$output" == *$'tensor\tx\tf32\t(3, 3, 4)'* ]]
}
