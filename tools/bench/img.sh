#!/bin/sh
# Image benchmark: img2tensor against Pillow decoding ~1,000 JPEG photos
# (640x480) and resizing them to 64x64 (area average), same machine, same run.
#   tools/bench/img.sh            (make bench runs it; BUILD=dir, default build)
# Environment: BENCH_IMAGES (default 1000), BENCH_THREADS (default 2),
# BENCH_CACHE (where the photos are kept between runs; default $TMPDIR).
# Prints images/s for Pillow (one process), for img2tensor (full-size
# decoding: equal to Pillow's BOX resize) and img2tensor --fast (DCT-scaled
# JPEG decoding), and the ratios. Wall-clock rates: on a loaded machine the
# threads compete with other work, and the ratio suffers.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
n=${BENCH_IMAGES:-1000}
threads=${BENCH_THREADS:-2}
py=/usr/bin/python3
if ! "$py" -c 'import PIL, numpy' 2>/dev/null; then
	echo "img: skipped (no Pillow or NumPy under $py; make bench-deps)"
	exit 0
fi
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}}/cnnkit-bench-img-$n
if [ ! -f "$cache/done" ]; then
	echo "img: making $n JPEG photos in $cache (once)"
	rm -rf "$cache"
	"$py" "$top/tools/bench/pil_resize.py" make "$cache/photos" "$n"
	touch "$cache/done"
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Best of two runs each: the first one also warms the page cache.
best_rate() { # command...: prints images/s of the faster of two runs
	best=0
	for _ in 1 2; do
		t0=$(date +%s.%N)
		"$@" >/dev/null
		t1=$(date +%s.%N)
		best=$(echo "$t0 $t1 $n $best" | awk '{ r = $3 / ($2 - $1); print (r > $4 ? r : $4) }')
	done
	printf '%.0f\n' "$best"
}
pil=0
for _ in 1 2; do
	r=$("$py" "$top/tools/bench/pil_resize.py" time "$cache/photos" 64 64 | awk '{ print $2 }')
	[ "$r" -gt "$pil" ] && pil=$r
done
exact=$(best_rate "$BUILD/bin/img2tensor" -q --size 64x64 --threads "$threads" -o "$out" "$cache/photos")
fast=$(best_rate "$BUILD/bin/img2tensor" -q --fast --size 64x64 --threads "$threads" -o "$out" "$cache/photos")
echo "img: $n JPEG 640x480 -> 64x64 RGB, images/s"
echo "img: pillow (1 process)               $pil"
echo "img: img2tensor ($threads threads)            $exact  ($(echo "$exact $pil" | awk '{ printf "%.2f", $1 / $2 }')x pillow)"
echo "img: img2tensor --fast ($threads threads)     $fast  ($(echo "$fast $pil" | awk '{ printf "%.2f", $1 / $2 }')x pillow)"
