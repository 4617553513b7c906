/* dist_mpi.c: cnnkit/dist.h over MPI, on MPI_COMM_WORLD. Compiled only by
 * `make MPI=1` (mpicc); lib/dist_local.c takes its place otherwise.
 *
 * MPI counts are int: buffers longer than INT_MAX elements go in pieces.
 * Errors keep MPI's default handler, MPI_ERRORS_ARE_FATAL: a collective that
 * fails (a peer died) ends the job instead of returning to a loop that
 * would wait for it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

#include "cnnkit/dist.h"

static int joined; /* ck_dist_init succeeded and ck_dist_finalize has not run */

int ck_dist_init(int *argc, char ***argv)
{
	int provided;
	if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
		return -1;
	joined = 1;
	return 0;
}

void ck_dist_finalize(void)
{
	if (joined)
		MPI_Finalize();
	joined = 0;
}

int ck_dist_rank(void)
{
	int rank = 0;
	if (joined)
		MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	return rank;
}

int ck_dist_size(void)
{
	int size = 1;
	if (joined)
		MPI_Comm_size(MPI_COMM_WORLD, &size);
	return size;
}

const char *ck_dist_backend(void)
{
	static char name[128];
	if (!name[0]) {
		char version[MPI_MAX_LIBRARY_VERSION_STRING];
		int len = 0;
		MPI_Get_library_version(version, &len);
		/* The first line: "Open MPI v4.1.4, package: ..., ident: ..." */
		int cut = 0;
		while (cut < len && version[cut] != '\n' && version[cut] != ',')
			cut++;
		snprintf(name, sizeof name, "MPI (%.*s)", cut, version);
	}
	return name;
}

static void sum(void *buf, size_t n, MPI_Datatype type, size_t elem)
{
	if (!joined)
		return;
	for (size_t done = 0; done < n;) {
		int count = n - done > INT_MAX ? INT_MAX : (int)(n - done);
		MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * elem, count, type, MPI_SUM,
		              MPI_COMM_WORLD);
		done += (size_t)count;
	}
}

void ck_dist_sum_f32(float *buf, size_t n)
{
	sum(buf, n, MPI_FLOAT, sizeof *buf);
}

void ck_dist_sum_f64(double *buf, size_t n)
{
	sum(buf, n, MPI_DOUBLE, sizeof *buf);
}

void ck_dist_broadcast(void *buf, size_t bytes)
{
	if (!joined)
		return;
	for (size_t done = 0; done < bytes;) {
		int count = bytes - done > INT_MAX ? INT_MAX : (int)(bytes - done);
		MPI_Bcast((char *)buf + done, count, MPI_BYTE, 0, MPI_COMM_WORLD);
		done += (size_t)count;
	}
}

void ck_dist_abort(int status)
{
	if (joined)
		MPI_Abort(MPI_COMM_WORLD, status);
	exit(status);
}
