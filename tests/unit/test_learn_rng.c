/* test_learn_rng.c: xoshiro256** and splitmix64 known values,
 * reproducibility, uniform/normal moments, unbiased ck_rng_below, shuffles,
 * the counter hash, and the initialisers' ranges and spreads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"

static void test_known_values(void)
{
	/* xoshiro256** from the state {1, 2, 3, 4}: the reference outputs. */
	ck_rng r = { { 1, 2, 3, 4 } };
	CHECK(ck_rng_u64(&r) == 11520u, "output 1");
	CHECK(ck_rng_u64(&r) == 0u, "output 2");
	CHECK(ck_rng_u64(&r) == 1509978240u, "output 3");
	CHECK(ck_rng_u64(&r) == 1215971899390074240u, "output 4");
	/* Seeding runs splitmix64 from the seed: its first output for 0. */
	ck_rng_seed(&r, 0);
	CHECK(r.s[0] == 0xe220a8397b1dcdafull, "splitmix64(0) first output");
	CHECK(r.s[1] == 0x6e789e6aa1b965f4ull, "splitmix64(0) second output");
}

static void test_same_seed_same_stream(void)
{
	ck_rng a, b, c;
	ck_rng_seed(&a, 42);
	ck_rng_seed(&b, 42);
	ck_rng_seed(&c, 43);
	int same = 1, differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = ck_rng_u64(&a), y = ck_rng_u64(&b), z = ck_rng_u64(&c);
		same &= x == y;
		differ += x != z;
	}
	CHECK(same, "same seed, same stream");
	CHECK(differ == 1000, "seed 43 differs from seed 42 everywhere");
}

static void test_uniform_normal(void)
{
	ck_rng r;
	ck_rng_seed(&r, 7);
	enum { N = 200000 };
	double s = 0, ss = 0, ns = 0, nss = 0, n4 = 0;
	int in_range = 1;
	for (int i = 0; i < N; i++) {
		float u = ck_rng_uniform(&r);
		in_range &= u >= 0.0f && u < 1.0f;
		s += u;
		ss += (double)u * u;
		double z = ck_rng_normal(&r);
		ns += z;
		nss += z * z;
		n4 += z * z * z * z;
	}
	CHECK(in_range, "uniform in [0, 1)");
	/* Standard errors: uniform mean 0.00065, normal mean 0.0022, var 0.0032. */
	CHECK(fabs(s / N - 0.5) < 0.004, "uniform mean %g", s / N);
	CHECK(fabs(ss / N - s / N * s / N - 1.0 / 12) < 0.002, "uniform variance");
	CHECK(fabs(ns / N) < 0.012, "normal mean %g", ns / N);
	CHECK(fabs(nss / N - 1.0) < 0.02, "normal variance %g", nss / N);
	CHECK(fabs(n4 / N - 3.0) < 0.15, "normal kurtosis %g", n4 / N);
	/* ck_hash_uniform: stateless and uniform too. */
	CHECK(ck_hash_uniform(5, 77) == ck_hash_uniform(5, 77), "hash is a function");
	CHECK(ck_hash_u64(5, 77) != ck_hash_u64(6, 77) && ck_hash_u64(5, 77) != ck_hash_u64(5, 78),
	      "hash depends on seed and counter");
	s = 0;
	in_range = 1;
	for (int i = 0; i < N; i++) {
		float u = ck_hash_uniform(99, (uint64_t)i);
		in_range &= u >= 0.0f && u < 1.0f;
		s += u;
	}
	CHECK(in_range && fabs(s / N - 0.5) < 0.004, "hash uniform mean %g", s / N);
}

static void test_below(void)
{
	ck_rng r;
	ck_rng_seed(&r, 11);
	/* Chi-square over 10 cells, 9 degrees of freedom: mean 9, sd 4.2;
	 * 40 is beyond p = 1e-5. */
	enum { N = 100000, K = 10 };
	int count[K] = { 0 };
	int ok = 1;
	for (int i = 0; i < N; i++) {
		uint64_t x = ck_rng_below(&r, K);
		ok &= x < K;
		if (x < K)
			count[x]++;
	}
	double chi2 = 0, e = (double)N / K;
	for (int k = 0; k < K; k++)
		chi2 += (count[k] - e) * (count[k] - e) / e;
	CHECK(ok, "in range");
	CHECK(chi2 < 40, "chi-square %g", chi2);
	/* n = 3 * 2^62: a plain modulo would put half the draws below 2^62;
	 * unbiased, a third. */
	uint64_t n = 3ull << 62;
	int low = 0;
	for (int i = 0; i < 30000; i++)
		low += ck_rng_below(&r, n) < (1ull << 62);
	CHECK(fabs(low / 30000.0 - 1.0 / 3) < 0.015, "no modulo bias: %g below 2^62", low / 30000.0);
	CHECK(ck_rng_below(&r, 1) == 0, "n = 1");
}

static void test_shuffle(void)
{
	ck_rng r;
	ck_rng_seed(&r, 3);
	enum { N = 1000 };
	int64_t idx[N];
	int seen[N] = { 0 };
	for (int i = 0; i < N; i++)
		idx[i] = i;
	ck_rng_shuffle(&r, idx, N);
	int moved = 0, ok = 1;
	for (int i = 0; i < N; i++) {
		ok &= idx[i] >= 0 && idx[i] < N;
		if (ok)
			seen[idx[i]]++;
		moved += idx[i] != i;
	}
	for (int i = 0; i < N; i++)
		ok &= seen[i] == 1;
	CHECK(ok, "a permutation");
	CHECK(moved > 900, "it moved things: %d", moved);
	/* All 6 orders of 3 appear about equally: 60000 draws, sd ~91 per cell. */
	int perms[6] = { 0 };
	for (int t = 0; t < 60000; t++) {
		int64_t p[3] = { 0, 1, 2 };
		ck_rng_shuffle(&r, p, 3);
		perms[p[0] * 2 + (p[1] > p[2])]++;
	}
	for (int k = 0; k < 6; k++)
		CHECK(abs(perms[k] - 10000) < 500, "order %d seen %d times", k, perms[k]);
	ck_rng_shuffle(&r, idx, 0);
	ck_rng_shuffle(&r, idx, 1);
}

/* Sample mean and sd of n values. */
static void moments(const float *w, size_t n, double *mean, double *sd)
{
	double s = 0, ss = 0;
	for (size_t i = 0; i < n; i++)
		s += w[i], ss += (double)w[i] * w[i];
	*mean = s / n;
	*sd = sqrt(ss / n - *mean * *mean);
}

static float max_abs(const float *w, size_t n)
{
	float m = 0;
	for (size_t i = 0; i < n; i++)
		m = fmaxf(m, fabsf(w[i]));
	return m;
}

static void test_initialisers(void)
{
	enum { N = 100000 };
	float *w = malloc(N * sizeof *w);
	ck_rng r;
	double mean, sd;
	/* fan_in = 3*3*16 = 144: bound 1/12; U(-b,b) has sd b/sqrt(3). */
	ck_rng_seed(&r, 1);
	ck_init_torch_default(w, N, 144, &r);
	moments(w, N, &mean, &sd);
	CHECK(max_abs(w, N) <= 1.0f / 12 && max_abs(w, N) > 0.99f / 12, "torch default bound 1/sqrt(fan_in)");
	CHECK(fabs(mean) < 5 * sd / sqrt(N) && fabs(sd / (1.0 / 12 / sqrt(3)) - 1) < 0.01,
	      "torch default spread");
	ck_init_kaiming_normal(w, N, 144, &r);
	moments(w, N, &mean, &sd);
	/* Mean within 5 standard errors, sd within 1% (5 standard errors). */
	CHECK(fabs(mean) < 5 * sd / sqrt(N), "kaiming normal mean %g", mean);
	CHECK(fabs(sd / sqrt(2.0 / 144) - 1) < 0.01, "kaiming normal sd sqrt(2/fan_in): %g", sd);
	ck_init_kaiming_uniform(w, N, 144, &r);
	CHECK(max_abs(w, N) <= (float)sqrt(6.0 / 144) && max_abs(w, N) > 0.99f * sqrt(6.0 / 144),
	      "kaiming uniform bound sqrt(6/fan_in)");
	ck_init_glorot_uniform(w, N, 100, 50, &r);
	moments(w, N, &mean, &sd);
	double b = sqrt(6.0 / 150);
	CHECK(max_abs(w, N) <= (float)b && fabs(sd / (b / sqrt(3)) - 1) < 0.01, "glorot uniform bound sqrt(6/(in+out))");
	/* Deterministic: the same seed gives the same weights. */
	float a[16], c[16];
	ck_rng_seed(&r, 5);
	ck_init_uniform(a, 16, 0.5f, &r);
	ck_rng_seed(&r, 5);
	ck_init_uniform(c, 16, 0.5f, &r);
	CHECK(memcmp(a, c, sizeof a) == 0, "same seed, same init");
	free(w);
}

int main(void)
{
	RUN(test_known_values);
	RUN(test_same_seed_same_stream);
	RUN(test_uniform_normal);
	RUN(test_below);
	RUN(test_shuffle);
	RUN(test_initialisers);
	return check_summary();
}
