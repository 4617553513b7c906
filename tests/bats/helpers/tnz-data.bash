# Test data for tnz.bats, made and read with tools/tnz.py, the project's
# NumPy implementation of formats/tnz.md. It shares no code with libcnnkit, so
# it is an oracle independent of it: files made here test the C reader, and
# dumps made here check what the C writer wrote.
#
#   mktnz OUT 'PYTHON'   run PYTHON with meta (dict) and tensors (list of
#                        (name, dtype, shape, values[, options])) to fill in;
#                        options: level (zlib, default 6), chunk (elements per
#                        chunk), unknown (write dims[0] as unknown), filter.
#   dumptnz FILE         one line per metadata key "meta KEY=VALUE" (newlines
#                        as \n) and per tensor "NAME DTYPE (D0,D1,...) v1 v2 ...",
#                        same-name tensors appended.

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TNZ_PY_DIR=${CK_TOP:-$BATS_TEST_DIRNAME/../..}/tools

# argv[1] is the folder of tnz.py.
TNZ_PY_LIB='
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tnz

def write(path, meta, tensors):
    with tnz.Writer(path) as w:
        for k, v in meta.items():
            w.meta(k, v)
        for t in tensors:
            name, dtype, shape, values = t[:4]
            opt = t[4] if len(t) > 4 else {}
            _, size, np_dtype = tnz.DTYPES[tnz.DTYPE_CODES[dtype]]
            w.chunk_bytes = opt.get("chunk", max(len(values), 1)) * size  # read by begin()
            dims = (None,) + tuple(shape[1:]) if opt.get("unknown") else tuple(shape)
            w.begin(name, dtype, dims, shuffle=bool(opt.get("filter", 0)), level=opt.get("level", 6))
            w.append(np.array(values, dtype=np_dtype).reshape(shape))
            w.end()

def dump(path):
    t = tnz.load(path)
    for k, v in t.meta.items():
        print("meta %s=%s" % (k, v.replace("\n", "\\n")))
    for name, a in t.items():
        shape = "(" + ",".join(str(d) for d in a.shape) + ")"
        print(name, t.dtypes[name], shape, " ".join("%g" % v for v in a.reshape(-1)))
'

# NumPy takes a while to start, and tnz.bats makes its fixtures before every
# test: the same PYTHON makes the same file, so each is made once per bats
# file and copied.
mktnz() {
	local made
	made=$BATS_FILE_TMPDIR/mktnz.$(printf '%s' "$2" | sha256sum | cut -c1-32).tnz
	if [ ! -e "$made" ]; then
		need_numpy
		"$PY" - "$TNZ_PY_DIR" "$made.part" "$2" <<EOF || return 1
$TNZ_PY_LIB
meta, tensors = {}, []
exec(sys.argv[3])
write(sys.argv[2], meta, tensors)
EOF
		mv "$made.part" "$made"
	fi
	cp "$made" "$1"
}

# Dumps are kept by the file's content hash too: tests dump a file once per
# tensor they look at.
dumptnz() {
	local dump
	dump=$BATS_FILE_TMPDIR/dumptnz.$(sha256sum <"$1" | cut -c1-32).txt
	if [ ! -e "$dump" ]; then
		"$PY" - "$TNZ_PY_DIR" "$1" >"$dump.part" <<EOF || { rm -f "$dump.part"; return 1; }
$TNZ_PY_LIB
dump(sys.argv[2])
EOF
		mv "$dump.part" "$dump"
	fi
	cat "$dump"
}

# Numpy is a test dependency (make deps) but the tests skip without it.
need_numpy() {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "no /usr/bin/python3 with numpy"
}
