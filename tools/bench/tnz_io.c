/* tnz_io.c: speed of saving and loading one large tensor in TNZ.
 *
 * For f32 weights and u8 image bytes, stored (level 0) and compressed
 * (level 1), with 1 thread and with N, times ck_tnz_save (temporary file,
 * fsync, rename) and ck_tnz_load of a file in DIR, best of --repeat saves
 * and of the two loads after each, and prints one line per case:
 *
 *   tnz <dtype> save|load <MB/s> <level> <threads> <file bytes> <MB/CPU s>
 *
 * MB = 10^6 bytes of tensor data; the last column divides by the CPU time
 * of all threads (a fairer figure on a busy machine). The first four columns match
 * tools/bench/numpy_io.py. The arrays are DIR/f32.npy and DIR/u8.npy when
 * they exist (numpy_io.py make writes them), so both sides time the same
 * bytes; otherwise N(0, 0.05^2) floats and a smooth pattern of few byte
 * values are generated. Loads read what the save left in the page cache,
 * as numpy's loads do. */
#include "cnnkit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common/bench_util.h"

static const char *usage_text =
	"usage: tnz_io [--size BYTES] [--threads N] [--repeat R] DIR\n"
	"  --size BYTES   tensor size; suffix K, M or G (powers of 2); default 1G\n"
	"  --threads N    the multi-threaded cases' thread count; default every core\n"
	"  --repeat R     saves per case (two loads after each), the best counts; default 2\n"
	"  DIR            where the files are written (and f32.npy, u8.npy read)\n"
	"example: tnz_io --size 256M --threads 2 /tmp\n";

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v == 0 || v > (1ull << 40) >> shift)
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	long v;
	if (bench_parse_long(s, lo, hi, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* Fills n bytes from the data of a .npy file (repeated if short); 0 if
 * the file is missing or not a .npy. */
static int from_npy(const char *path, unsigned char *dst, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	unsigned char h[10];
	int ok = fread(h, 1, 10, f) == 10 && memcmp(h, "\x93NUMPY", 6) == 0 && h[6] == 1;
	ok = ok && fseek(f, 10 + (h[8] | h[9] << 8), SEEK_SET) == 0;
	size_t got = ok ? fread(dst, 1, n, f) : 0;
	fclose(f);
	if (got == 0)
		return 0;
	for (size_t i = got; i < n; i++)
		dst[i] = dst[i - got];
	return 1;
}

static void make_f32(float *x, size_t n)
{
	uint64_t s = 1;
	for (size_t i = 0; i + 1 < n; i += 2) {
		/* Box-Muller from a 64-bit LCG: N(0, 0.05^2) weights. */
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		double u1 = ((double)(s >> 11) + 1.0) / 9007199254740993.0;
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		double u2 = (double)(s >> 11) / 9007199254740992.0;
		double r = 0.05 * sqrt(-2.0 * log(u1));
		x[i] = (float)(r * cos(6.283185307179586 * u2));
		x[i + 1] = (float)(r * sin(6.283185307179586 * u2));
	}
}

static void make_u8(unsigned char *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (unsigned char)((unsigned)((sin((double)(i % 78400) / 97.0) + 1.0) * 60.0) & 0xF0);
}

/* Loads timed after each save: a load is cheap next to a save with its
 * fsync, and it is the case most exposed to the VM's slow fresh pages
 * (numpy_io.py does the same). */
#define LOADS_PER_SAVE 2

/* One case: best save time over repeat runs, best load time over the
 * LOADS_PER_SAVE loads after each. Returns 0 if every loaded tensor equals
 * the saved one. */
static int run_case(const char *dir, const char *dtype_name, ck_dtype dtype, const void *data,
                    size_t nbytes, int level, int threads, int repeat)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tnz_io_%s.tnz", dir, dtype_name);
	ck_tnz z = {0};
	ck_err err;
	size_t esize = ck_dtype_size(dtype);
	/* Wrap the data without a copy: the tensor does not own it here. */
	ck_tensor t = {.dtype = dtype, .rank = 1, .dims = {(int64_t)(nbytes / esize)},
	               .data = (void *)data, .nbytes = nbytes};
	snprintf(t.name, sizeof t.name, "x");
	z.tensors = &t;
	z.count = z.cap = 1;
	ck_tnz_opts o = {level, -1, threads, 0};
	double best_save = INFINITY, best_load = INFINITY, cpu_save = INFINITY, cpu_load = INFINITY;
	int status = 0;
	for (int r = 0; r < repeat && status == 0; r++) {
		double c0 = bench_cpu(), t0 = bench_now();
		if (ck_tnz_save(&z, path, &o, &err)) {
			fprintf(stderr, "tnz_io: %s: %s\n", path, err.msg);
			return -1;
		}
		double t1 = bench_now(), c1 = bench_cpu();
		best_save = fmin(best_save, t1 - t0);
		cpu_save = fmin(cpu_save, c1 - c0);
		for (int l = 0; l < LOADS_PER_SAVE && status == 0; l++) {
			double c2 = bench_cpu(), t2 = bench_now();
			ck_tnz back;
			if (ck_tnz_load(&back, path, threads, &err)) {
				fprintf(stderr, "tnz_io: %s: %s\n", path, err.msg);
				return -1;
			}
			double t3 = bench_now(), c3 = bench_cpu();
			if (back.count != 1 || back.tensors[0].nbytes != nbytes ||
			    memcmp(back.tensors[0].data, data, nbytes) != 0) {
				fprintf(stderr, "tnz_io: %s: loaded data differs\n", path);
				status = -1;
			}
			ck_tnz_free(&back);
			best_load = fmin(best_load, t3 - t2);
			cpu_load = fmin(cpu_load, c3 - c2);
		}
	}
	FILE *f = fopen(path, "rb");
	long file_bytes = -1;
	if (f && fseek(f, 0, SEEK_END) == 0)
		file_bytes = ftell(f);
	if (f)
		fclose(f);
	unlink(path);
	double mb = (double)nbytes / 1e6;
	printf("tnz %s save %.0f %d %d %ld %.0f\n", dtype_name, mb / best_save, level, threads,
	       file_bytes, mb / cpu_save);
	printf("tnz %s load %.0f %d %d %ld %.0f\n", dtype_name, mb / best_load, level, threads,
	       file_bytes, mb / cpu_load);
	fflush(stdout);
	return status;
}

int main(int argc, char **argv)
{
	size_t size = (size_t)1 << 30;
	int threads = 0, repeat = 2;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("tnz_io (cnnkit) %s\n", ck_version());
			return 0;
		}
		int bad = 0;
		if (strcmp(a, "--size") == 0 && i + 1 < argc)
			bad = parse_size(argv[++i], &size);
		else if (strcmp(a, "--threads") == 0 && i + 1 < argc)
			bad = parse_int(argv[++i], 1, 1024, &threads);
		else if (strcmp(a, "--repeat") == 0 && i + 1 < argc)
			bad = parse_int(argv[++i], 1, 100, &repeat);
		else if (a[0] == '-' || dir)
			bad = 1;
		else
			dir = a;
		if (bad) {
			fprintf(stderr, "tnz_io: bad argument '%s'\n%s", a, usage_text);
			return 2;
		}
	}
	if (!dir) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (int)n : 1;
	}
	size = size / 4 * 4;
	unsigned char *f32 = malloc(size), *u8 = malloc(size);
	if (!f32 || !u8) {
		fprintf(stderr, "tnz_io: out of memory for 2 x %zu bytes\n", size);
		return 1;
	}
	char npy[4096];
	snprintf(npy, sizeof npy, "%s/f32.npy", dir);
	if (!from_npy(npy, f32, size))
		make_f32((float *)f32, size / 4);
	snprintf(npy, sizeof npy, "%s/u8.npy", dir);
	if (!from_npy(npy, u8, size))
		make_u8(u8, size);

	printf("# tool dtype op MB/s level threads file_bytes MB/cpu_s (%zu bytes of data)\n", size);
	int status = 0;
	int counts[2] = {1, threads};
	for (int level = 0; level <= 1; level++)
		for (int k = 0; k < (threads > 1 ? 2 : 1); k++) {
			status |= run_case(dir, "f32", CK_DTYPE_F32, f32, size, level, counts[k], repeat);
			status |= run_case(dir, "u8", CK_DTYPE_U8, u8, size, level, counts[k], repeat);
		}
	free(f32);
	free(u8);
	if (fclose(stdout)) {
		perror("tnz_io: stdout");
		return 1;
	}
	return status ? 1 : 0;
}
