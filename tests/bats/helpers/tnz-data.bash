# Test data for tnz.bats: a TNZ writer and reader written from formats/tnz.md
# alone with the Python standard library (struct, zlib). They are an oracle
# independent of libcnnkit: files made here test the C reader, and dumps made
# here check what the C writer wrote.
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

TNZ_PY_LIB='
import struct, sys, zlib
CODES = {"u8": (1, "B"), "i8": (2, "b"), "u16": (3, "H"), "i16": (4, "h"),
         "u32": (5, "I"), "i32": (6, "i"), "u64": (7, "Q"), "i64": (8, "q"),
         "f16": (9, "e"), "f32": (11, "f"), "f64": (12, "d"), "bool": (13, "B")}
NAMES = {c: (n, f) for n, (c, f) in CODES.items()}
NAMES[10] = ("bf16", "H")

def record(tag, body):
    head = tag + struct.pack("<I", len(body))
    return head + body + struct.pack("<I", zlib.crc32(head + body))

def shuffle(raw, size):
    e = len(raw) // size
    return bytes(raw[i * size + j] for j in range(size) for i in range(e))

def write(path, meta, tensors):
    out = [b"\x89TNZ\r\n\x1a\n", record(b"HEAD", struct.pack("<HHI", 1, 0, 0))]
    for k, v in meta.items():
        k, v = k.encode(), v.encode()
        out.append(record(b"META", bytes([len(k)]) + k + v))
    for t in tensors:
        name, dtype, shape, values = t[:4]
        opt = t[4] if len(t) > 4 else {}
        code, fmt = CODES[dtype]
        raw = struct.pack("<%d%s" % (len(values), fmt), *values)
        size = struct.calcsize(fmt)
        filt = opt.get("filter", 0)
        dims = list(shape)
        if opt.get("unknown"):
            dims[0] = 2**64 - 1
        n = name.encode()
        out.append(record(b"TENS", bytes([len(n)]) + n + bytes([code, len(shape), filt, 0, 0])
                          + b"".join(struct.pack("<Q", d) for d in dims)))
        step = opt.get("chunk", max(len(values), 1)) * size
        for i in range(0, len(raw), step):
            piece = raw[i:i + step]
            if filt:
                piece = shuffle(piece, size)
            level = opt.get("level", 6)
            z = zlib.compress(piece, level) if level else piece
            out.append(record(b"DATA", struct.pack("<BBBBI", 1 if level else 0, 0, 0, 0, len(piece)) + z))
        out.append(record(b"TEND", struct.pack("<Q", shape[0] if shape else 1)))
    out.append(record(b"FEND", struct.pack("<II", len(tensors), len(meta))))
    open(path, "wb").write(b"".join(out))

def read(path):
    data = open(path, "rb").read()
    meta, tensors, order, pos = {}, {}, [], 0
    while pos < len(data):
        assert data[pos:pos + 8] == b"\x89TNZ\r\n\x1a\n", "bad magic"
        pos += 8
        while True:
            tag, n = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
            body = data[pos + 8:pos + 8 + n]
            assert zlib.crc32(data[pos:pos + 8 + n]) == struct.unpack_from("<I", data, pos + 8 + n)[0]
            pos += 12 + n
            if tag == b"META":
                meta[body[1:1 + body[0]].decode()] = body[1 + body[0]:].decode()
            elif tag == b"TENS":
                name = body[1:1 + body[0]].decode()
                code, rank, filt = body[1 + body[0]], body[2 + body[0]], body[3 + body[0]]
                dims = list(struct.unpack_from("<%dQ" % rank, body, 6 + body[0]))
                raw = b""
            elif tag == b"DATA":
                piece = zlib.decompress(body[8:]) if body[0] == 1 else body[8:]
                size = struct.calcsize(NAMES[code][1])
                if filt:
                    e = len(piece) // size
                    piece = bytes(piece[j * e + i] for i in range(e) for j in range(size))
                raw += piece
            elif tag == b"TEND":
                rows = struct.unpack("<Q", body)[0]
                fmt = NAMES[code][1]
                vals = list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw))
                if name in tensors:
                    tensors[name][2][0] += rows
                    tensors[name][3].extend(vals)
                else:
                    tensors[name] = [NAMES[code][0], rank, ([rows] + dims[1:]) if rank else [], vals]
                    order.append(name)
            elif tag == b"FEND":
                break
    return meta, [(n,) + tuple(tensors[n]) for n in order]

def dump(path):
    meta, tensors = read(path)
    for k, v in meta.items():
        print("meta %s=%s" % (k, v.replace("\n", "\\n")))
    for name, dtype, rank, dims, vals in tensors:
        shape = "(" + ",".join(str(d) for d in dims) + ")"
        print(name, dtype, shape, " ".join("%g" % v for v in vals))
'

mktnz() {
	"$PY" - "$1" "$2" <<EOF
$TNZ_PY_LIB
meta, tensors = {}, []
exec(sys.argv[2])
write(sys.argv[1], meta, tensors)
EOF
}

dumptnz() {
	"$PY" - "$1" <<EOF
$TNZ_PY_LIB
dump(sys.argv[1])
EOF
}

# Numpy is a test dependency (make deps) but the tests skip without it.
need_numpy() {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "no /usr/bin/python3 with numpy"
}
