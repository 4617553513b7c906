/* test_dist.c: the pieces of data-parallel training that do not need
 * several processes: how a batch is shared out over ranks, "%r" in file
 * names, and that in a job of one process (the default build, or the MPI
 * build without mpirun) every collective leaves the data as it is, so that
 * training is the one-process loop bit for bit. The multi-process behaviour
 * is tested under mpirun by tests/bats/mpi.bats. */
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"
#include "train_internal.h" /* the loop's data-parallel helpers, tested directly */

/* The ranks' parts of n items, in rank order, are [0, n) without a gap,
 * and differ in size by one at most. */
static void test_share(void)
{
	for (int size = 1; size <= 7; size++)
		for (int64_t n = 0; n <= 40; n++) {
			int64_t next = 0, least = n, most = 0;
			for (int rank = 0; rank < size; rank++) {
				int64_t lo, count;
				ck_train_share(n, rank, size, &lo, &count);
				CHECK(lo == next, "n %lld size %d rank %d: lo %lld, expected %lld",
				      (long long)n, size, rank, (long long)lo, (long long)next);
				next = lo + count;
				least = count < least ? count : least;
				most = count > most ? count : most;
			}
			CHECK(next == n, "n %lld size %d: parts end at %lld", (long long)n, size,
			      (long long)next);
			CHECK(most - least <= 1, "n %lld size %d: parts of %lld to %lld", (long long)n,
			      size, (long long)least, (long long)most);
		}
	int64_t lo, count;
	ck_train_share(64, 0, 1, &lo, &count);
	CHECK(lo == 0 && count == 64, "one rank takes the whole batch");
	ck_train_share(33, 0, 2, &lo, &count);
	CHECK(lo == 0 && count == 17, "33 over 2: rank 0 takes 17");
	ck_train_share(33, 1, 2, &lo, &count);
	CHECK(lo == 17 && count == 16, "33 over 2: rank 1 takes the last 16");
}

static void check_path(const char *in, int rank, const char *want)
{
	char *got = ck_train_rank_path(in, rank);
	CHECK(got && strcmp(got, want) == 0, "\"%s\" rank %d: \"%s\", expected \"%s\"", in, rank,
	      got ? got : "(null)", want);
	free(got);
}

static void test_rank_path(void)
{
	check_path("train-%r.tnz", 3, "train-3.tnz");
	check_path("shard%r/part-%r.tnz", 12, "shard12/part-12.tnz");
	check_path("train.tnz", 5, "train.tnz");
	check_path("%r", 0, "0");
	check_path("100%", 1, "100%");
	check_path("a%rb%", 7, "a7b%");
	check_path("", 2, "");
}

static void test_one_process(void)
{
	CHECK(ck_dist_rank() == 0 && ck_dist_size() == 1, "rank %d of %d", ck_dist_rank(),
	      ck_dist_size());
	float f[3] = {1.5f, -2.0f, 1e-30f};
	double d[2] = {0.1, 3e300};
	ck_dist_sum_f32(f, 3);
	ck_dist_sum_f64(d, 2);
	CHECK(f[0] == 1.5f && f[1] == -2.0f && f[2] == 1e-30f, "sum over one rank");
	CHECK(d[0] == 0.1 && d[1] == 3e300, "sum over one rank, doubles");
	char s[8] = "rank 0";
	ck_dist_broadcast(s, sizeof s);
	CHECK(strcmp(s, "rank 0") == 0, "broadcast from rank 0 to itself");
	CHECK(ck_dist_backend() && ck_dist_backend()[0], "a backend name");
}

/* Gradients summed, buffers averaged and state broadcast over one rank:
 * not a bit changes (a batchnorm model has buffers). */
static void test_one_process_training_state(void)
{
	ck_err err;
	ck_model *m = ck_model_create("conv 4 3 relu; batchnorm; maxpool 2; dense 3",
	                              (int64_t[]){2, 6, 6}, 3, 0, &err);
	CHECK(m, "model: %s", m ? "" : err.msg);
	if (!m)
		return;
	ck_model_init(m, 7);
	size_t n;
	float *p = ck_model_params(m, &n), *g = ck_model_grads(m);
	for (size_t i = 0; i < n; i++)
		g[i] = (float)i * 0.25f - 3.0f;
	float *p0 = malloc(n * sizeof *p0), *g0 = malloc(n * sizeof *g0);
	float *mom = calloc(n, sizeof *mom);
	memcpy(p0, p, n * sizeof *p0);
	memcpy(g0, g, n * sizeof *g0);
	ck_train_optim opt = {.count = 1, .m = mom, .n = n};
	ck_train_state st = {.epoch = 2, .step = 17, .best = 0.5};
	ck_normalize norm = {.channels = 2, .mean = {0.25f, 0.5f}, .std = {0.125f, 2.0f}};
	ck_train_sum_grads(m);
	ck_train_dist_sync(m, &opt);
	CHECK(ck_train_dist_start(m, &opt, &st, &norm, 10, &err) == 0, "start: %s", err.msg);
	CHECK(memcmp(p, p0, n * sizeof *p) == 0, "parameters unchanged");
	CHECK(memcmp(g, g0, n * sizeof *g) == 0, "gradients unchanged");
	CHECK(st.epoch == 2 && st.step == 17 && st.best == 0.5, "state unchanged");
	CHECK(norm.channels == 2 && norm.mean[1] == 0.5f && norm.std[0] == 0.125f,
	      "normalisation unchanged");
	free(p0);
	free(g0);
	free(mom);
	ck_model_free(m);
}

int main(void)
{
	RUN(test_share);
	RUN(test_rank_path);
	RUN(test_one_process);
	RUN(test_one_process_training_state);
	return check_summary();
}
