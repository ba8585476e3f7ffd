/* tf_test.h: the tiny harness the C tests share: CHECK macros that print
 * file:line on failure, helpers that build tensors from literal arrays and
 * read elements back through any strides, and the suite declarations that
 * test_main.c runs.
 *
 * A test is a `static void test_x(void)`; a suite function calls RUN(test_x)
 * for each. RUN also checks that the test left tf_live_tensors() where it
 * found it, so every test is a leak test as well. */
#ifndef TF_TEST_H
#define TF_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tinyfin.h"

/* ---- harness state (test_main.c) ---------------------------------------- */
extern int tf_test_failures; /* CHECK failures in the running test */
extern int tf_test_skipped;  /* set by tf_test_implemented() in the running test */
void tf_test_run(const char *name, void (*fn)(void));
void tf_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RUN(fn) tf_test_run(#fn, fn)

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) tf_test_fail(__FILE__, __LINE__, "%s", #cond);  \
  } while (0)

/* A call that must succeed; on failure prints the C core's message. */
#define CHECK_OK(expr)                                                     \
  do {                                                                     \
    tf_status chk_s_ = (expr);                                             \
    if (chk_s_ != TF_OK)                                                   \
      tf_test_fail(__FILE__, __LINE__, "%s returned %d: %s", #expr,        \
                   (int)chk_s_, tf_last_error());                          \
  } while (0)

/* A call that must fail with `status` and a message containing `fragment`. */
#define CHECK_ERR(expr, status, fragment)                                   \
  do {                                                                      \
    tf_status chk_s_ = (expr);                                              \
    if (chk_s_ != (status))                                                 \
      tf_test_fail(__FILE__, __LINE__, "%s returned %d, expected %d (%s)",  \
                   #expr, (int)chk_s_, (int)(status), tf_last_error());     \
    else if (!strstr(tf_last_error(), (fragment)))                          \
      tf_test_fail(__FILE__, __LINE__,                                      \
                   "%s: message \"%s\" lacks \"%s\"", #expr,                \
                   tf_last_error(), (fragment));                            \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                               \
  do {                                                                      \
    double chk_a_ = (a), chk_b_ = (b);                                      \
    if (!(fabs(chk_a_ - chk_b_) <= (tol)))                                  \
      tf_test_fail(__FILE__, __LINE__, "%s = %.17g, expected %.17g", #a,    \
                   chk_a_, chk_b_);                                         \
  } while (0)

#define CHECK_EQ_I(a, b)                                                    \
  do {                                                                      \
    long long chk_a_ = (long long)(a), chk_b_ = (long long)(b);             \
    if (chk_a_ != chk_b_)                                                   \
      tf_test_fail(__FILE__, __LINE__, "%s = %lld, expected %lld", #a,      \
                   chk_a_, chk_b_);                                         \
  } while (0)

/* Stop the running test when an earlier step failed (later steps would
 * dereference a NULL result). */
#define REQUIRE(cond)                                               \
  do {                                                              \
    if (!(cond)) {                                                  \
      tf_test_fail(__FILE__, __LINE__, "required: %s", #cond);      \
      return;                                                       \
    }                                                               \
  } while (0)

/* Ops that other parts of the project may still stub out answer
 * TF_ERR_INTERNAL "...not implemented yet". A test calls this on the status
 * of a probe call (made before it allocates anything) and returns when it
 * is false; the runner then reports the test as skipped. */
bool tf_test_implemented(tf_status status);
/* Marks the running test as skipped, for the reason given (a literal); the
 * test then returns. */
void tf_test_skip(const char *why);

/* A pointer no op may write: error paths must leave out-pointers alone. */
#define TF_UNTOUCHED ((tf_tensor *)&tf_test_untouched)
extern char tf_test_untouched;

/* ---- tensors from literals ---------------------------------------------- */
#define SHAPE(...) (const int64_t[]){__VA_ARGS__}
#define NDIMS(...) ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* C-contiguous tensors holding copies of data; NULL (and a test failure)
 * if creation fails. */
tf_tensor *make_f32(int ndim, const int64_t *shape, const float *data);
tf_tensor *make_f64(int ndim, const int64_t *shape, const double *data);
tf_tensor *make_i64(int ndim, const int64_t *shape, const int64_t *data);
tf_tensor *make_bool(int ndim, const int64_t *shape, const bool *data);
/* 0, 1, 2, ... in the given dtype and shape. */
tf_tensor *make_range(int ndim, const int64_t *shape, tf_dtype dtype);

/* Element `flat` in row-major order of t's logical shape, through its
 * strides and offset, as double (any dtype) or int64 (int64/bool). */
double get_f(const tf_tensor *t, int64_t flat);
int64_t get_i(const tf_tensor *t, int64_t flat);
/* True if t has exactly this shape. */
bool has_shape(const tf_tensor *t, int ndim, const int64_t *shape);
/* True if every element of t equals want[i] (NaN equals NaN) / is within
 * tol of it; prints the first mismatch. */
bool values_are(const tf_tensor *t, const double *want, double tol);
bool ivalues_are(const tf_tensor *t, const int64_t *want);

#define CHECK_SHAPE(t, ...) CHECK(has_shape((t), NDIMS(__VA_ARGS__), SHAPE(__VA_ARGS__)))
#define CHECK_VALUES(t, tol, ...) CHECK(values_are((t), (const double[]){__VA_ARGS__}, (tol)))
#define CHECK_IVALUES(t, ...) CHECK(ivalues_are((t), (const int64_t[]){__VA_ARGS__}))

/* ---- suites ------------------------------------------------------------- */
void suite_tensor(void);
void suite_view(void);
void suite_elementwise(void);
void suite_errors(void);
void suite_ops(void);
void suite_parallel(void);
void suite_safety(void);
void suite_backend(void);
void suite_blas(void);
/* ---- pooling (pool) ---- */
void suite_pool(void);
void suite_optim(void);

#endif /* TF_TEST_H */
