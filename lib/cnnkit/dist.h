/* cnnkit/dist.h: the communication of data-parallel training, behind one
 * small interface.
 *
 *     ck_dist_init(&argc, &argv);        // first thing in main
 *     int rank = ck_dist_rank(), size = ck_dist_size();
 *     ck_dist_sum_f32(grads, n);         // every rank: grads = sum over ranks
 *     ck_dist_broadcast(params, bytes);  // every rank: rank 0's bytes
 *     ck_dist_finalize();                // before a normal exit
 *
 * A job is `size` processes started together (mpirun -np size), numbered
 * 0..size-1, each running the same program on its own data. Two
 * implementations, one linked:
 *   lib/dist_mpi.c    over MPI (make MPI=1: mpicc, -DCK_MPI, build-mpi/);
 *   lib/dist_local.c  the default build: one process, rank 0 of 1, where the
 *                     collectives are no-ops. No MPI header or library.
 * The library calls MPI only through these functions.
 *
 * The collectives are blocking and every rank must call them in the same
 * order with the same sizes. A failure inside one (a dead peer, a broken
 * link) is not returned: mpirun, seeing a rank die, or MPI's default error
 * handler ends the whole job, and so does ck_dist_abort, so that no rank
 * waits forever for one that failed.
 * Only the thread that called ck_dist_init may call the others (OpenMP
 * threads inside a rank do not communicate). Before ck_dist_init, and in a
 * program that never calls it, the job is one process (rank 0 of 1). */
#ifndef CNNKIT_DIST_H
#define CNNKIT_DIST_H

#include <stddef.h>

/* Joins the job (MPI_Init_thread with MPI_THREAD_FUNNELED); MPI may remove
 * its own arguments from argc/argv. Returns 0, or -1 when the job cannot
 * start (the MPI library says why on standard error). */
int ck_dist_init(int *argc, char ***argv);
/* Leaves the job after a normal end (MPI_Finalize); waits for the others. */
void ck_dist_finalize(void);

int ck_dist_rank(void);
int ck_dist_size(void);
/* "MPI (Open MPI v4.1.4, ...)" for the MPI build, "none" for the other:
 * for --version. Static storage. */
const char *ck_dist_backend(void);

/* In place, on every rank: buf[i] = the sum over the ranks of their buf[i]
 * (MPI_Allreduce). The MPI standard only recommends that every rank get the
 * same bits; Open MPI's algorithms do. The training loop does not depend on
 * it: it broadcasts rank 0's state at the end of every epoch. */
void ck_dist_sum_f32(float *buf, size_t n);
void ck_dist_sum_f64(double *buf, size_t n);
/* In place: every rank's buf[0..bytes) becomes rank 0's. */
void ck_dist_broadcast(void *buf, size_t bytes);
/* Ends every process of the job with status (MPI_Abort), at once, whatever
 * the others are doing: for a program that failed on one rank, after its
 * message. For programs only: the library itself never calls it. */
void ck_dist_abort(int status) __attribute__((noreturn));

#endif
