/* threads_internal.h: what a thread-count setting means inside the library.
 * A positive count is used as given; 0 (or less) means OpenMP's default team,
 * every core unless OMP_NUM_THREADS says otherwise, and 1 in a build without
 * OpenMP. */
#ifndef CNNKIT_THREADS_INTERNAL_H
#define CNNKIT_THREADS_INTERNAL_H

#ifdef _OPENMP
#include <omp.h>
#endif

static inline int ck_threads_or_default(int threads)
{
	if (threads > 0)
		return threads;
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

#endif
