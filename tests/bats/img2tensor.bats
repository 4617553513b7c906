#!/usr/bin/env bats
# img2tensor: options, labels, order, bad files, exit statuses; and, when
# /usr/bin/python3 has Pillow, the acceptance checks: pixels equal Pillow's
# decode (PNG, PNM) or within 2 (JPEG), resizing within 1 of Pillow's BOX and
# BILINEAR. Structural tests use PNM files written with printf; reading the
# output needs tools/tnz.py (NumPy).

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	PY=/usr/bin/python3
	T=$BATS_TEST_TMPDIR
	cd "$T"
}

need_numpy() {
	"$PY" -c 'import numpy' 2>/dev/null || skip "no NumPy under $PY"
}

need_pil() {
	"$PY" -c 'import numpy, PIL' 2>/dev/null || skip "no Pillow under $PY"
}

# py 'code': runs Python with tnz (tools/tnz.py), numpy as np, and load(path)
# returning {name: array} plus meta.
py() {
	"$PY" - "$@" <<EOF
import sys
sys.path.insert(0, "$TOP/tools")
import numpy as np
import tnz
def load(p):
    return tnz.load(p)
$PYCODE
EOF
}

# pgm NAME W H V: a P5 image filled with V.
pgm() {
	mkdir -p "$(dirname "$1")"
	{ printf 'P5\n%d %d\n255\n' "$2" "$3"; head -c $(($2 * $3)) /dev/zero | tr '\0' "\\$(printf '%03o' "$4")"; } >"$1"
}

tree() { # classes a (2 images) and b (1 image), 4x3 gray PGMs of distinct values
	pgm data/b/x.pgm 4 3 30
	pgm data/a/2.pgm 4 3 20
	pgm data/a/1.pgm 4 3 10
}

@test "img2tensor --help, --version and usage errors" {
	run img2tensor --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:\ img2tensor* ]]
	[[ "$output" == *--skip-bad* ]]
	run img2tensor --version
	[ "$status" -eq 0 ]
	[[ "$output" == "img2tensor (cnnkit) "* ]]
	for bad in "--size 0x4" "--size 4y" "--size 70000" "--threads -1" "--crop left --size 4" \
		"--fit" "--classes-from x.tnz" "--normalize 1,2,3" "--normalize 0.5,0" \
		"--background #12345" "--filter cubic" "--level 10" "--nope"; do
		run img2tensor $bad -o out.tnz data
		[ "$status" -eq 2 ] || { echo "$bad: status $status"; false; }
		[[ "$output" == *"usage: img2tensor"* ]]
	done
	[ ! -e out.tnz ]
}

@test "img2tensor: a class-folder tree, labels by directory, sorted" {
	need_numpy
	tree
	run img2tensor --labels dir -o out.tnz data
	[ "$status" -eq 0 ]
	PYCODE='
t = load("out.tnz")
assert t["x"].shape == (3, 3, 3, 4) and t["x"].dtype == np.uint8, t["x"].shape
assert t["x"][:, 0, 0, 0].tolist() == [10, 20, 30], t["x"][:, :, 0, 0]
assert t["y"].tolist() == [0, 0, 1] and t["y"].dtype == np.int32
assert t.meta["classes"] == "a\nb\n", t.meta
assert "img2tensor" in t.meta["created_by"]
' py
}

@test "img2tensor: gray, no labels, list on standard input, NUL-separated with -0" {
	need_numpy
	tree
	printf 'data/b/x.pgm\ndata/a/1.pgm\n' | img2tensor --gray -o a.tnz
	printf 'data/b/x.pgm\0data/a/1.pgm\0' | img2tensor --gray -0 -o b.tnz -
	PYCODE='
a, b = load("a.tnz"), load("b.tnz")
assert (a["x"] == b["x"]).all() and a.meta.keys() == b.meta.keys()
t = load("a.tnz")
assert t["x"].shape == (2, 1, 3, 4) and "y" not in t and "classes" not in t.meta
assert t["x"][:, 0, 0, 0].tolist() == [30, 10]
' py
}

@test "img2tensor: labels from a TSV file and --classes-from" {
	need_numpy
	tree
	printf 'a/1.pgm\tzebra\na/2.pgm\tant\nb/x.pgm\tzebra\n' >data/labels.tsv
	img2tensor --labels data/labels.tsv -o t.tnz data
	PYCODE='
t = load("t.tnz")
assert t.meta["classes"] == "ant\nzebra\n" and t["y"].tolist() == [1, 0, 1], t["y"]
' py
	# A second set labelled with the first one's class order (b before a).
	printf 'b\na\n' >classes.txt
	PYCODE='tnz.save("ref.tnz", {"z": np.zeros(1, np.uint8)}, {"classes": "b\na\n"})' py
	img2tensor --labels dir --classes-from ref.tnz -o c.tnz data
	PYCODE='
t = load("c.tnz")
assert t.meta["classes"] == "b\na\n" and t["y"].tolist() == [1, 1, 0], t["y"]
' py
	pgm data/c/q.pgm 4 3 40
	run img2tensor --labels dir --classes-from ref.tnz -o d.tnz data
	[ "$status" -eq 1 ]
	[[ "$output" == *'class "c" is not in the class list'* ]]
	[ ! -e d.tnz ]
	run img2tensor --labels data/nothere.tsv -o d.tnz data
	[ "$status" -eq 1 ]
}

@test "img2tensor: a bad file fails the run (nothing written); --skip-bad counts it, status 3" {
	need_numpy
	tree
	printf 'P5\n4 3\n255\nxy' >data/a/3.pgm      # truncated
	printf 'hello' >data/a/4.ppm                # not an image
	: >data/b/empty.png                         # zero bytes
	run img2tensor --labels dir -o out.tnz data
	[ "$status" -eq 1 ]
	[[ "$output" == "img2tensor: "*"data/a/3.pgm: PNM: truncated"* ]]
	[ ! -e out.tnz ]
	[ -z "$(ls -A . | grep tmp)" ]
	run img2tensor --skip-bad --labels dir -o out.tnz data
	[ "$status" -eq 3 ]
	[[ "$output" == *"data/a/4.ppm: not a PNG, JPEG or PNM image (skipped)"* ]]
	[[ "$output" == *"data/b/empty.png: empty file (skipped)"* ]]
	[[ "$output" == *"3 of 6 files skipped, 3 written"* ]]
	PYCODE='
t = load("out.tnz")
assert t["x"].shape[0] == 3 and t["y"].tolist() == [0, 0, 1]
' py
	rm -f data/a/[34].* data/b/empty.png
	run img2tensor -o out.tnz data/nonexistent.png
	[ "$status" -eq 1 ]
	[[ "$output" == *"nonexistent.png: No such file or directory"* ]]
	pgm data/a/big.pgm 5 3 1
	run img2tensor -o out.tnz data
	[ "$status" -eq 1 ]
	[[ "$output" == *"unlike the first image"*"--size"* ]]
	run img2tensor -o out.tnz emptydir_that_is_missing/
	[ "$status" -eq 1 ]
}

@test "img2tensor: order kept with 1 and 2 threads (identical bytes)" {
	for i in $(seq 0 99); do
		pgm "many/$(printf '%03d' $i).pgm" $((3 + i % 7)) $((2 + i % 5)) $((i * 2))
	done
	# The thread count comes from OMP_NUM_THREADS, so that the command lines
	# (kept as created_by metadata) are equal too.
	OMP_NUM_THREADS=1 img2tensor --size 5x4 -o out.tnz many
	mv out.tnz one.tnz
	OMP_NUM_THREADS=2 img2tensor --size 5x4 -o out.tnz many
	mv out.tnz two.tnz
	cmp one.tnz two.tnz
	find many -name '*.pgm' | sort | img2tensor --size 5x4 --threads 2 -o list.tnz
	"$PY" -c 'import numpy' 2>/dev/null || return 0
	PYCODE='assert (load("one.tnz")["x"] == load("list.tnz")["x"]).all()' py
}

@test "img2tensor: --fit, --crop, --f32 --normalize, --background" {
	need_numpy
	# 8x4: left half 0, right half 255
	{ printf 'P5 8 4 255\n'; for r in 1 2 3 4; do printf '\0\0\0\0\377\377\377\377'; done; } >w.pgm
	img2tensor --gray --size 4x4 --fit --background 100 -o fit.tnz w.pgm
	img2tensor --gray --size 4x4 --crop center -o crop.tnz w.pgm
	img2tensor --gray --size 4x4 --normalize 0.5,0.5 -o f.tnz w.pgm
	PYCODE='
x = load("fit.tnz")["x"][0, 0]
assert x[0].tolist() == [100] * 4 and x[3].tolist() == [100] * 4, x
assert x[1].tolist() == [0, 0, 255, 255], x
x = load("crop.tnz")["x"][0, 0]
assert x[0].tolist() == [0, 0, 255, 255], x
f = load("f.tnz")["x"]
assert f.dtype == np.float32 and np.allclose(f[0, 0, 0], [-1, -1, 1, 1]), f
' py
}

# ---- acceptance against Pillow ---------------------------------------------

@test "img2tensor: PNG and PNM pixels equal Pillow's decode" {
	need_pil
	PYCODE='
from PIL import Image
rng = np.random.default_rng(5)
rgba = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
rgba[0, :, 3] = 0
rgba[1, :, 3] = 255
im = Image.fromarray(rgba, "RGBA")
im.save("rgba.png")
im.convert("RGB").save("rgb.png")
im.convert("L").save("l.png")
im.convert("LA").save("la.png")
im.convert("1").save("bw.png")
for bits in (1, 2, 4, 8):
    p = im.convert("RGB").quantize(colors=2 ** bits)
    p.info["transparency"] = bytes(range(0, 256, 256 // 2 ** bits))
    p.save(f"p{bits}.png", bits=bits, transparency=p.info["transparency"])
Image.fromarray((rng.integers(0, 65536, (7, 9))).astype(np.uint16)).save("i16.png")
im.convert("RGB").save("p6.ppm")
im.convert("L").save("p5.pgm")
im.convert("1").save("p4.pbm")
with open("p5w.pgm", "wb") as f:
    f.write(b"P5\n9 7\n65535\n" + rng.integers(0, 65536, (7, 9)).astype(">u2").tobytes())
with open("p6w.ppm", "wb") as f:
    f.write(b"P6\n9 7\n# comment\n65535\n" + rng.integers(0, 65536, (7, 9, 3)).astype(">u2").tobytes())
with open("p3.ppm", "w") as f:
    f.write("P3\n# plain\n9 7\n15\n" + " ".join(map(str, rng.integers(0, 16, 9 * 7 * 3))) + "\n")
with open("p2.pgm", "w") as f:
    f.write("P2\n9 7\n65535\n" + "\n".join(map(str, rng.integers(0, 65536, 9 * 7))) + "\n")
with open("p1.pbm", "w") as f:
    f.write("P1\n9 7\n" + "".join(map(str, rng.integers(0, 2, 9 * 7))) + "\n")
' py
	# (Interlaced PNGs, which Pillow cannot write, are tested in tests/unit.)
	for f in rgba.png rgb.png l.png la.png bw.png p1.png p2.png p4.png p8.png i16.png \
		p6.ppm p5.pgm p4.pbm p5w.pgm p6w.ppm p3.ppm p2.pgm p1.pbm; do
		img2tensor -o "$f.tnz" "$f"
		img2tensor --gray -o "$f.g.tnz" "$f"
	done
	PYCODE='
from PIL import Image
def ref_rgb(path):
    im = Image.open(path)
    if im.mode in ("I", "I;16"):  # 16-bit gray: PNG keeps the high byte, PNM rounds
        a = np.asarray(im).astype(np.int64)
        a = a >> 8 if path.endswith(".png") else (a * 255 + 32767) // 65535
        im = Image.fromarray(a.astype(np.uint8), "L")
    if "transparency" in im.info or im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB")), True
    return np.asarray(im.convert("RGB")), False
bad = []
for f in sys.argv[1:]:
    ref, alpha = ref_rgb(f)
    x = load(f + ".tnz")["x"][0].transpose(1, 2, 0)
    tol = 1 if alpha else 0  # compositing rounds differently from Pillow by at most 1
    d = np.abs(x.astype(int) - ref).max()
    if d > tol:
        bad.append((f, int(d)))
    g = load(f + ".g.tnz")["x"][0, 0]
    want = np.asarray(Image.fromarray(ref).convert("L"))
    if np.abs(g.astype(int) - want).max() > tol:
        bad.append((f + " gray", int(np.abs(g.astype(int) - want).max())))
assert not bad, bad
' py rgba.png rgb.png l.png la.png bw.png p1.png p2.png p4.png p8.png i16.png \
		p6.ppm p5.pgm p4.pbm p5w.pgm p6w.ppm p3.ppm p2.pgm p1.pbm
}

@test "img2tensor: JPEG (baseline, progressive, gray, CMYK) within 2 of Pillow's decode" {
	need_pil
	PYCODE='
from PIL import Image
rng = np.random.default_rng(6)
small = Image.fromarray(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8))
im = small.resize((61, 47), Image.Resampling.BICUBIC)
im.save("base.jpg", quality=90)
im.save("prog.jpg", quality=90, progressive=True)
im.save("sub444.jpg", quality=95, subsampling=0)
im.convert("L").save("gray.jpg", quality=90)
im.convert("CMYK").save("cmyk.jpg", quality=90)
' py
	for f in base prog sub444 gray cmyk; do
		img2tensor -o "$f.tnz" "$f.jpg"
	done
	PYCODE='
from PIL import Image
for f in ["base", "prog", "sub444", "gray", "cmyk"]:
    ref = np.asarray(Image.open(f + ".jpg").convert("RGB")).astype(int)
    x = load(f + ".tnz")["x"][0].transpose(1, 2, 0)
    d = np.abs(x - ref).max()
    assert d <= 2, (f, d)
' py
}

@test "img2tensor: resizing matches Pillow's BOX and BILINEAR within 1" {
	need_pil
	PYCODE='
from PIL import Image
rng = np.random.default_rng(7)
Image.fromarray(rng.integers(0, 256, (47, 61, 3), dtype=np.uint8)).save("noise.png")
small = Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8))
small.resize((320, 240), Image.Resampling.BICUBIC).save("photo.jpg", quality=92)
' py
	sizes="16x16 7x5 30x23 61x47 100x80 200x150"
	for s in $sizes; do
		for f in box bilinear; do
			img2tensor --size "$s" --filter "$f" -o "noise.$s.$f.tnz" noise.png
			img2tensor --size "$s" --filter "$f" -o "photo.$s.$f.tnz" photo.jpg
		done
		img2tensor --size "$s" -o "noise.$s.auto.tnz" noise.png
		img2tensor --size "$s" --gray -o "noise.$s.gray.tnz" noise.png
	done
	PYCODE='
from PIL import Image
R = Image.Resampling
bad = []
for src in ["noise.png", "photo.jpg"]:
    im = Image.open(src).convert("RGB")
    for s in sys.argv[1:]:
        w, h = map(int, s.split("x"))
        for f, r in (("box", R.BOX), ("bilinear", R.BILINEAR)):
            ref = np.asarray(im.resize((w, h), r)).astype(int)
            x = load(f"{src.split(chr(46))[0]}.{s}.{f}.tnz")["x"][0].transpose(1, 2, 0)
            d = np.abs(x - ref).max()
            if d > 1:
                bad.append((src, s, f, int(d)))
        if src == "noise.png":
            shrink = w * h < im.size[0] * im.size[1]
            ref = np.asarray(im.resize((w, h), R.BOX if shrink else R.BILINEAR)).astype(int)
            x = load(f"noise.{s}.auto.tnz")["x"][0].transpose(1, 2, 0)
            if np.abs(x - ref).max() > 1:
                bad.append((src, s, "auto", int(np.abs(x - ref).max())))
            ref = np.asarray(im.convert("L").resize((w, h), R.BOX if shrink else R.BILINEAR))
            x = load(f"noise.{s}.gray.tnz")["x"][0, 0]
            if np.abs(x.astype(int) - ref).max() > 1:
                bad.append((src, s, "gray", int(np.abs(x.astype(int) - ref).max())))
assert not bad, bad
' py $sizes
}

@test "img2tensor --fast: DCT-scaled JPEG decoding stays within 4 of Pillow's BOX" {
	need_pil
	PYCODE='
from PIL import Image
rng = np.random.default_rng(8)
small = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
a = np.asarray(small.resize((640, 480), Image.Resampling.BICUBIC)).astype(float)
a = np.clip(a + rng.normal(0, 4, a.shape), 0, 255).astype(np.uint8)
Image.fromarray(a).save("big.jpg", quality=90)
' py
	img2tensor --fast --size 64x64 -o fast.tnz big.jpg
	img2tensor --fast --size 40x30 -o fast2.tnz big.jpg
	PYCODE='
from PIL import Image
im = Image.open("big.jpg").convert("RGB")
for f, size in (("fast.tnz", (64, 64)), ("fast2.tnz", (40, 30))):
    ref = np.asarray(im.resize(size, Image.Resampling.BOX)).astype(int)
    d = np.abs(load(f)["x"][0].transpose(1, 2, 0) - ref)
    assert d.max() <= 4 and d.mean() < 1, (f, d.max(), d.mean())
' py
}

@test "img2tensor: truncated, garbage and oversized files are named errors" {
	need_pil
	PYCODE='
import struct, zlib
from PIL import Image
rng = np.random.default_rng(9)
im = Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
im.save("ok.png")
im.save("ok.jpg", quality=90)
im.save("okp.jpg", quality=90, progressive=True)
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
open("huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk)
open("garbage.png", "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 256, 500, dtype=np.uint8)))
' py
	for f in ok.png ok.jpg okp.jpg; do
		size=$(wc -c <"$f")
		for n in 1 8 30 100 $((size / 2)) $((size - 2)) $((size - 1)); do
			head -c "$n" "$f" >"cut_$f"
			run img2tensor -o out.tnz "cut_$f"
			[ "$status" -eq 1 ] || { echo "$f cut at $n: status $status"; false; }
			[[ "$output" == "img2tensor: cut_$f: "* ]]
		done
	done
	run img2tensor -o out.tnz huge.png
	[ "$status" -eq 1 ]
	[[ "$output" == *"huge.png: PNG: "* ]]
	run img2tensor -o out.tnz garbage.png
	[ "$status" -eq 1 ]
	[[ "$output" == *"garbage.png: PNG: "* ]]
	[ ! -e out.tnz ]
	run img2tensor --skip-bad -o out.tnz ok.png huge.png garbage.png cut_ok.jpg
	[ "$status" -eq 3 ]
	[[ "$output" == *"3 of 4 files skipped, 1 written"* ]]
}
