/* dist_local.c: cnnkit/dist.h for the default build, a job of one process.
 * The sum over one rank and a broadcast from rank 0 to itself leave the
 * buffers as they are. `make MPI=1` links lib/dist_mpi.c instead. */
#include <stdlib.h>

#include "cnnkit/dist.h"

int ck_dist_init(int *argc, char ***argv)
{
	return 0;
}

void ck_dist_finalize(void) {}

int ck_dist_rank(void)
{
	return 0;
}

int ck_dist_size(void)
{
	return 1;
}

const char *ck_dist_backend(void)
{
	return "none";
}

void ck_dist_sum_f32(float *buf, size_t n)
{
}

void ck_dist_sum_f64(double *buf, size_t n)
{
}

void ck_dist_broadcast(void *buf, size_t bytes)
{
}

void ck_dist_abort(int status)
{
	exit(status);
}
