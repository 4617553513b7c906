/* rng.c: xoshiro256** seeded by splitmix64, and a stateless counter-based
 * hash for random numbers that any thread can make in any order. */
#include <assert.h>
#include <math.h>

#include "cnnkit.h"

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio, odd */

/* The splitmix64 finaliser: a bijection on 64 bits with full avalanche. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void ck_rng_seed(ck_rng *rng, uint64_t seed)
{
	/* Four consecutive splitmix64 outputs: never all zero, since mix64 is a
	 * bijection of four distinct inputs. */
	for (int i = 0; i < 4; i++) {
		seed += GOLDEN_GAMMA;
		rng->s[i] = mix64(seed);
	}
}

uint64_t ck_rng_u64(ck_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Top 24 bits to [0, 1): exact in float, never 1. */
static float u64_to_unit_float(uint64_t x)
{
	return (float)(x >> 40) * 0x1p-24f;
}

float ck_rng_uniform(ck_rng *rng)
{
	return u64_to_unit_float(ck_rng_u64(rng));
}

float ck_rng_normal(ck_rng *rng)
{
	/* u1 in (0, 1] so the log is finite; u2 in [0, 1). 53-bit resolution. */
	double u1 = (double)((ck_rng_u64(rng) >> 11) + 1) * 0x1p-53;
	double u2 = (double)(ck_rng_u64(rng) >> 11) * 0x1p-53;
	return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

uint64_t ck_rng_below(ck_rng *rng, uint64_t n)
{
	assert(n > 0);
	/* 2^64 mod n, computed in 64 bits: the draws below it would favour the
	 * small residues, so they are redrawn (at most half of all draws). */
	uint64_t threshold = (0 - n) % n;
	for (;;) {
		uint64_t r = ck_rng_u64(rng);
		if (r >= threshold)
			return r % n;
	}
}

void ck_rng_shuffle(ck_rng *rng, int64_t *idx, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)ck_rng_below(rng, (uint64_t)i + 1);
		int64_t tmp = idx[i];
		idx[i] = idx[j];
		idx[j] = tmp;
	}
}

uint64_t ck_hash_u64(uint64_t seed, uint64_t counter)
{
	/* Position counter of the splitmix64 stream whose start is the mixed
	 * seed: mixing the seed first keeps streams of nearby seeds apart. */
	return mix64(mix64(seed) + (counter + 1) * GOLDEN_GAMMA);
}

float ck_hash_uniform(uint64_t seed, uint64_t counter)
{
	return u64_to_unit_float(ck_hash_u64(seed, counter));
}
