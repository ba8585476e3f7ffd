/* parallel.c: how many threads a parallel region gets.
 *
 * Two facts about OpenMP (libgomp) shape this file:
 * - omp_set_num_threads sets the calling thread's value only; a Python
 *   thread started later would still get the default. So the count lives
 *   here, in an atomic, and every region passes it as num_threads.
 * - After fork() the child has one thread, but libgomp's pool still lists
 *   the parent's workers, and the child's first parallel region waits for
 *   them forever. A team of one never touches the pool, so a child runs
 *   every region on its calling thread (the results are the same bits: the
 *   work split never depends on the team size). */
#include <pthread.h>
#include <stdatomic.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../internal.h"

static atomic_int requested_threads; /* 0: OpenMP's default */
static atomic_bool forked_child;     /* this process was made by fork() */
static _Thread_local int last_team;  /* for tf_last_parallel_threads */

static void in_forked_child(void) { atomic_store(&forked_child, true); }

/* Registered when the library loads, before any region can start a pool.
 * (The handler stays registered for the life of the process: the library
 * is never unloaded by ctypes.) */
__attribute__((constructor)) static void register_fork_handler(void) {
  pthread_atfork(NULL, NULL, in_forked_child);
}

int tf_team_size(bool worth) {
  if (!worth || atomic_load_explicit(&forked_child, memory_order_relaxed))
    return 1;
  int n = atomic_load_explicit(&requested_threads, memory_order_relaxed);
#ifdef _OPENMP
  return n > 0 ? n : omp_get_max_threads();
#else
  (void)n;
  return 1;
#endif
}

void tf_note_team(void) {
#ifdef _OPENMP
  last_team = omp_get_num_threads();
#else
  last_team = 1;
#endif
}

void tf_set_num_threads(int n) {
  atomic_store(&requested_threads, n > 0 ? n : 1);
}

int tf_get_num_threads(void) { return tf_team_size(true); }

int tf_last_parallel_threads(void) { return last_team; }
