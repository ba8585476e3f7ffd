/* test_main.c: the runner of the C tests and the helpers of tf_test.h.
 *
 * Usage: ctest [substring]  runs the tests whose name contains substring
 * (all by default). Every failed CHECK prints file:line; the last line is
 * "N passed, M failed" (", K skipped" when tests were skipped) and the exit
 * status is nonzero when anything failed. */
#include <stdarg.h>
#include <stdlib.h>

#include "tf_test.h"

int tf_test_failures;
int tf_test_skipped;
char tf_test_untouched;

static const char *filter;
static int passed, failed, skipped;
static const char *skip_reason;
static const char *current;

void tf_test_fail(const char *file, int line, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fprintf(stderr, "%s:%d: in %s: ", file, line, current ? current : "?");
  vfprintf(stderr, fmt, args);
  fputc('\n', stderr);
  va_end(args);
  tf_test_failures++;
}

void tf_test_run(const char *name, void (*fn)(void)) {
  if (filter && !strstr(name, filter)) return;
  current = name;
  tf_test_failures = 0;
  tf_test_skipped = 0;
  int64_t live = tf_live_tensors();
  fn();
  int64_t after = tf_live_tensors();
  if (after != live)
    tf_test_fail(__FILE__, __LINE__, "%lld tensors leaked",
                 (long long)(after - live));
  if (tf_test_failures) {
    failed++;
    fprintf(stderr, "FAIL %s\n", name);
  } else if (tf_test_skipped) {
    skipped++;
    printf("skip %s (%s)\n", name, skip_reason);
  } else {
    passed++;
  }
  current = NULL;
}

void tf_test_skip(const char *why) {
  tf_test_skipped = 1;
  skip_reason = why;
}

bool tf_test_implemented(tf_status status) {
  if (status == TF_ERR_INTERNAL && strstr(tf_last_error(), "not implemented")) {
    tf_test_skip("op not implemented yet");
    return false;
  }
  return true;
}

/* ---- helpers ------------------------------------------------------------ */
static tf_tensor *make(int ndim, const int64_t *shape, tf_dtype dtype,
                       const void *data) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= shape[d];
  tf_tensor *t = NULL;
  tf_status st = tf_tensor_from_buffer(ndim, shape, dtype, data,
                                       (size_t)n * tf_dtype_size(dtype), TF_CPU, &t);
  if (st != TF_OK) {
    tf_test_fail(__FILE__, __LINE__, "make: %s", tf_last_error());
    return NULL;
  }
  return t;
}
tf_tensor *make_f32(int ndim, const int64_t *shape, const float *data) {
  return make(ndim, shape, TF_FLOAT32, data);
}
tf_tensor *make_f64(int ndim, const int64_t *shape, const double *data) {
  return make(ndim, shape, TF_FLOAT64, data);
}
tf_tensor *make_i64(int ndim, const int64_t *shape, const int64_t *data) {
  return make(ndim, shape, TF_INT64, data);
}
tf_tensor *make_bool(int ndim, const int64_t *shape, const bool *data) {
  return make(ndim, shape, TF_BOOL, data);
}

tf_tensor *make_range(int ndim, const int64_t *shape, tf_dtype dtype) {
  tf_tensor *t = NULL;
  if (tf_tensor_empty(ndim, shape, dtype, TF_CPU, &t) != TF_OK) {
    tf_test_fail(__FILE__, __LINE__, "make_range: %s", tf_last_error());
    return NULL;
  }
  int64_t n = tf_tensor_numel(t);
  char *p = tf_tensor_data(t);
  for (int64_t i = 0; i < n; i++) {
    switch (dtype) {
      case TF_FLOAT32: ((float *)p)[i] = (float)i; break;
      case TF_FLOAT64: ((double *)p)[i] = (double)i; break;
      case TF_INT64: ((int64_t *)p)[i] = i; break;
      default: ((bool *)p)[i] = i % 2; break;
    }
  }
  return t;
}

static const char *element(const tf_tensor *t, int64_t flat) {
  int ndim = tf_tensor_ndim(t);
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS], off = 0;
  tf_tensor_shape(t, shape);
  tf_tensor_strides(t, strides);
  for (int d = ndim - 1; d >= 0; d--) {
    off += (flat % shape[d]) * strides[d];
    flat /= shape[d];
  }
  return (const char *)tf_tensor_data(t) +
         off * (int64_t)tf_dtype_size(tf_tensor_dtype(t));
}

double get_f(const tf_tensor *t, int64_t flat) {
  const char *p = element(t, flat);
  switch (tf_tensor_dtype(t)) {
    case TF_FLOAT32: return *(const float *)p;
    case TF_FLOAT64: return *(const double *)p;
    case TF_INT64: return (double)*(const int64_t *)p;
    default: return *(const bool *)p;
  }
}

int64_t get_i(const tf_tensor *t, int64_t flat) {
  const char *p = element(t, flat);
  switch (tf_tensor_dtype(t)) {
    case TF_INT64: return *(const int64_t *)p;
    case TF_BOOL: return *(const bool *)p;
    case TF_FLOAT32: return (int64_t)*(const float *)p;
    default: return (int64_t)*(const double *)p;
  }
}

bool has_shape(const tf_tensor *t, int ndim, const int64_t *shape) {
  if (!t || tf_tensor_ndim(t) != ndim) return false;
  int64_t have[TF_MAX_DIMS];
  tf_tensor_shape(t, have);
  return ndim == 0 || !memcmp(have, shape, sizeof(int64_t) * (size_t)ndim);
}

bool values_are(const tf_tensor *t, const double *want, double tol) {
  if (!t) return false;
  int64_t n = tf_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v = get_f(t, i), w = want[i];
    bool same = (isnan(v) && isnan(w)) || v == w || fabs(v - w) <= tol;
    if (!same) {
      fprintf(stderr, "  element %lld is %.17g, expected %.17g\n",
              (long long)i, v, w);
      return false;
    }
  }
  return true;
}

bool ivalues_are(const tf_tensor *t, const int64_t *want) {
  if (!t) return false;
  int64_t n = tf_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    if (get_i(t, i) != want[i]) {
      fprintf(stderr, "  element %lld is %lld, expected %lld\n", (long long)i,
              (long long)get_i(t, i), (long long)want[i]);
      return false;
    }
  }
  return true;
}

int main(int argc, char **argv) {
  filter = argc > 1 ? argv[1] : NULL;
  /* Two threads whatever the machine, so the parallel paths run. */
  tf_set_num_threads(2);
  suite_tensor();
  suite_view();
  suite_elementwise();
  suite_errors();
  suite_ops();
  suite_parallel();
  suite_safety();
  suite_backend();
  suite_blas();
  suite_pool(); /* pooling (pool) */
  suite_optim(); /* the fused optimizer steps (optim) */
  if (!filter && tf_live_tensors() != 0) {
    fprintf(stderr, "%lld tensors alive at exit\n",
            (long long)tf_live_tensors());
    failed++;
  }
  if (skipped)
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  else
    printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
