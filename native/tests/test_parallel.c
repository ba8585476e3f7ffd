/* test_parallel.c: the thread count holds for every thread, and a process
 * made by fork() after the parent used the OpenMP pool still runs parallel
 * ops (on one thread, with the parent's bits) instead of hanging. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tf_test.h"

#define BIG (4 * 32768 + 5) /* far above the parallel grain */

/* exp of a large tensor: one parallel elementwise loop. Returns the team
 * size that loop used, or -1 on failure; *sum gets the sum of the result. */
static int big_exp(double *sum) {
  tf_tensor *x = NULL, *e = NULL, *s = NULL;
  int team = -1;
  if (tf_arange(-5.0, 1e-4, 0, 0, BIG, TF_FLOAT64, TF_CPU, &x) == TF_OK &&
      tf_unary(TF_UNARY_EXP, x, 0, 0, 0, &e) == TF_OK) {
    team = tf_last_parallel_threads();
    if (sum && tf_reduce(TF_REDUCE_SUM, e, 0, false, 0, &s, NULL) == TF_OK)
      *sum = *(const double *)tf_tensor_data(s);
  }
  tf_tensor_release(s);
  tf_tensor_release(e);
  tf_tensor_release(x);
  return team;
}

typedef struct {
  int threads, team;
} seen_t;

static void *report(void *arg) {
  seen_t *seen = arg;
  seen->threads = tf_get_num_threads();
  seen->team = big_exp(NULL);
  return NULL;
}

static void test_thread_count_holds_in_new_threads(void) {
  int before = tf_get_num_threads();
  for (int n = 1; n <= 3; n++) {
    tf_set_num_threads(n);
    seen_t seen = {0, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, report, &seen) == 0);
    pthread_join(th, NULL);
    CHECK_EQ_I(seen.threads, n);
    CHECK_EQ_I(seen.team, n);
    CHECK_EQ_I(big_exp(NULL), n);
  }
  tf_set_num_threads(before);
}

/* Waits up to 30 s for the child; kills it if it hangs. */
static int wait_child(pid_t pid) {
  for (int i = 0; i < 3000; i++) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
    struct timespec ms10 = {0, 10 * 1000 * 1000};
    nanosleep(&ms10, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 101; /* hung */
}

static void test_forked_child_runs_parallel_ops(void) {
  int before = tf_get_num_threads();
  tf_set_num_threads(2);
  double parent = 0, again = 0;
  REQUIRE(big_exp(&parent) == 2); /* the pool is started */
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    double child = 0;
    int team = big_exp(&child);
    /* 1 thread, the parent's bits */
    _exit(team == 1 && tf_get_num_threads() == 1 && child == parent ? 0 : 3);
  }
  CHECK_EQ_I(wait_child(pid), 0);
  CHECK_EQ_I(big_exp(&again), 2); /* the parent keeps its threads */
  CHECK(again == parent);
  tf_set_num_threads(before);
}

void suite_parallel(void) {
  RUN(test_thread_count_holds_in_new_threads);
  RUN(test_forked_child_runs_parallel_ops);
}
