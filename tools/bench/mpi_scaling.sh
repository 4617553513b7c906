#!/bin/sh
# The measured inputs of docs/mpi-scaling.md and the images/s they predict for
# P nodes of this machine, from the ring allreduce cost model of Thakur,
# Rabenseifner and Gropp (2005):
#   T_allreduce(P, n bytes) = 2 (P-1) alpha + 2 (P-1)/P n beta + (P-1)/P n gamma
#
#   make && make MPI=1 && make build/bench/train_bench build-mpi/bench/allreduce
#   sh tools/bench/mpi_scaling.sh
#
# Measures, on this machine:
#   compute   one training step of the reference network (tools/demo.sh) on
#             1 thread, per batch size, as images per CPU-second of the
#             process (train_bench on 2,000 Fashion-MNIST images, best of
#             REPEAT, default 5): what a core of its own would do, whatever
#             the load of a shared machine;
#   overlap   the part of a step that follows the backward pass of the dense
#             layers (96% of the gradient), from train_bench's per-layer times;
#   allreduce the gradient sum of 2 ranks (allreduce) over shared memory and
#             over TCP loopback, and gamma, the local a[i] += b[i] per byte.
# Then prints the predicted images/s for P = 2, 4, 8, 16 nodes of 2 cores, one
# rank of 2 threads each, over the two links below, for a global batch of 64P
# (64 per node) and of 64 (64/P per node). A node's step on b examples is
# taken as one core's step on b/2 (the 2 threads split the batch).
# Environment: BUILD (default build), MPI_BUILD (default build-mpi), DATA (a
# Fashion-MNIST TNZ; default $BUILD/demo/train.tnz, made by make demo), and
# the links: ALPHA10 BW10 ALPHA100 BW100 (latency in us, bandwidth in GB/s;
# defaults 25 us, 1.1 GB/s for 10 Gbit/s Ethernet with TCP; 2 us, 11 GB/s for
# 100 Gbit/s InfiniBand or RoCE).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
MPI_BUILD=${MPI_BUILD:-build-mpi}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
case $MPI_BUILD in /*) ;; *) MPI_BUILD="$top/$MPI_BUILD" ;; esac
data=${DATA:-$BUILD/demo/train.tnz}
for f in "$BUILD/bench/train_bench" "$MPI_BUILD/bench/allreduce" "$BUILD/bin/tnz"; do
	[ -x "$f" ] || { echo "mpi_scaling: $f is missing (see the head of this script)" >&2; exit 1; }
done
[ -r "$data" ] || { echo "mpi_scaling: no $data (make demo makes it, or set DATA)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpi_scaling: no mpirun" >&2; exit 1; }
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/bin/tnz" head -q -n 2000 -o "$tmp/fm.tnz" "$data"

echo "mpi_scaling: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# compute: "batch rate" lines, rate = best images per CPU-second of the repeats
for b in 32 16 8 4 2; do
	"$BUILD/bench/train_bench" --threads 1 --batch "$b" --repeat "${REPEAT:-5}" "$tmp/fm.tnz" \
		>"$tmp/train-$b.txt" 2>&1
	awk -v b="$b" '/^# repeat/ { for (i = 1; i <= NF; i++) if ($i == "CPU-second") {
		r = $(i - 2); if (r > best) best = r; break } } END { print b, best }' \
		"$tmp/train-$b.txt" >>"$tmp/rates"
done
# overlap: per-layer times at batch 32; the dense layers are the last two
awk '$1 ~ /^[0-9]+$/ { fwd += $(NF - 1); bwd += $NF; n++; f[n] = $(NF - 1); g[n] = $NF }
	END { dense = g[n] + g[n - 1]; printf "%.3f\n", (bwd - dense) / (fwd + bwd) }' \
	"$tmp/train-32.txt" >"$tmp/overlap"

mpirun -np 2 "$MPI_BUILD/bench/allreduce" >"$tmp/shm.txt"
mpirun -np 2 --mca btl tcp,self "$MPI_BUILD/bench/allreduce" >"$tmp/tcp.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## measured"
echo "compute, 1 thread, reference network (images per CPU-second, best of ${REPEAT:-5}):"
awk '{ printf "  batch %2d: %6.0f img/s, %7.2f ms per step\n", $1, $2, 1e3 * $1 / $2 }' "$tmp/rates"
echo "part of a step after the dense layers' backward: $(cat "$tmp/overlap")"
for t in shm tcp; do
	echo "allreduce, 2 ranks, $t:"
	sed -n 's/^RESULT allreduce /  /p' "$tmp/$t.txt"
done
sed -n 's/^RESULT add /local add: /p' "$tmp/shm.txt"

echo
echo "## predicted images/s (no overlap; with ideal overlap in brackets)"
awk -v a10="${ALPHA10:-25}" -v bw10="${BW10:-1.1}" -v a100="${ALPHA100:-2}" \
    -v bw100="${BW100:-11}" -v f="$(cat "$tmp/overlap")" '
	FILENAME ~ /rates$/ { rate[$1] = $2; next }
	/^RESULT allreduce/ && /floats=[0-9][0-9][0-9]/ { for (i = 1; i <= NF; i++)
		if ($i ~ /^bytes=/) { split($i, kv, "="); n = kv[2] } }
	/^RESULT add/ { for (i = 1; i <= NF; i++)
		if ($i ~ /^ns_per_byte=/) { split($i, kv, "="); gam = kv[2] * 1e-9 } }
	function node_step(b) { return (b / 2) / rate[b / 2] }   # 2 threads share b
	function comm(P, alpha, bw,   ring, stats) {
		ring = 2 * (P - 1) * alpha + 2 * (P - 1) / P * n / bw + (P - 1) / P * n * gam
		stats = log(P) / log(2) * alpha  # the 4 doubles of a step, recursive doubling
		return ring + stats
	}
	function row(name, alpha, bw, weak,   P, b, tc, tm, s, o) {
		s = sprintf("| %-22s |", name)
		for (P = 2; P <= 16; P *= 2) {
			b = weak ? 64 : 64 / P
			tc = node_step(b); tm = comm(P, alpha, bw)
			o = tm - f * tc; o = o > 0 ? o : 0
			s = s sprintf(" %6.0f (%6.0f) |", P * b / (tc + tm), P * b / (tc + o))
		}
		print s
	}
	END {
		printf "gradient %d bytes; one node: %.0f img/s at batch 64\n\n", n, 64 / node_step(64)
		print "| global batch, link     | P = 2           | P = 4           | P = 8           | P = 16          |"
		print "| ---                    | ---             | ---             | ---             | ---             |"
		row("64P, 10 Gbit/s", a10 * 1e-6, bw10 * 1e9, 1)
		row("64P, 100 Gbit/s", a100 * 1e-6, bw100 * 1e9, 1)
		row("64, 10 Gbit/s", a10 * 1e-6, bw10 * 1e9, 0)
		row("64, 100 Gbit/s", a100 * 1e-6, bw100 * 1e9, 0)
		print ""
		printf "ideal, P x one node (global batch 64P):"
		for (P = 2; P <= 16; P *= 2) printf "%s P = %d: %.0f", (P > 2 ? "," : ""), P, P * 64 / node_step(64)
		print ""
	}' "$tmp/rates" "$tmp/shm.txt"
