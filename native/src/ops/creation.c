/* creation.c: tensors made from a value or a range: full, arange, linspace,
 * eye (zeros/ones/empty are full or empty with the obvious value). */
#include "../internal.h"

tf_status tf_full(int ndim, const int64_t *shape, tf_dtype dtype,
                  double fvalue, int64_t ivalue, int kind, tf_tensor **out) {
  tf_tensor *t = NULL;
  TF_TRY(tf_new(ndim, shape, dtype, &t));
  tf_status st = tf_fill_(t, fvalue, ivalue, kind);
  if (st != TF_OK) {
    tf_tensor_release(t);
    return st;
  }
  *out = t;
  return TF_OK;
}

tf_status tf_arange(double fstart, double fstep, int64_t istart,
                    int64_t istep, int64_t n, tf_dtype dtype,
                    tf_tensor **out) {
  TF_CHECK(n >= 0, TF_ERR_VALUE, "arange: negative length %lld",
           (long long)n);
  TF_CHECK(dtype != TF_BOOL, TF_ERR_DTYPE,
           "arange: bool is not supported; use float32, float64 or int64");
  tf_tensor *t = NULL;
  TF_TRY(tf_new(1, &n, dtype, &t));
  char *p = tf_ptr(t);
  for (int64_t i = 0; i < n; i++) {
    switch (dtype) {
      case TF_FLOAT32: ((float *)p)[i] = (float)(fstart + (double)i * fstep); break;
      case TF_FLOAT64: ((double *)p)[i] = fstart + (double)i * fstep; break;
      default: ((int64_t *)p)[i] = (int64_t)((uint64_t)istart + (uint64_t)i * (uint64_t)istep); break;
    }
  }
  *out = t;
  return TF_OK;
}

/* As PyTorch: the first half steps up from start, the second half steps
 * down from end, so both ends are exact. */
tf_status tf_linspace(double start, double end, int64_t steps, tf_dtype dtype,
                      tf_tensor **out) {
  TF_CHECK(steps >= 0, TF_ERR_VALUE,
           "linspace: number of steps must be non-negative, got %lld",
           (long long)steps);
  TF_CHECK(tf_is_float(dtype), TF_ERR_DTYPE,
           "linspace: expected a float32 or float64 dtype, got %s",
           tf_dtype_name(dtype));
  tf_tensor *t = NULL;
  TF_TRY(tf_new(1, &steps, dtype, &t));
  double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0.0;
  int64_t half = steps / 2;
  char *p = tf_ptr(t);
  for (int64_t i = 0; i < steps; i++) {
    double v = steps == 1 ? start
               : i < half ? start + step * (double)i
                          : end - step * (double)(steps - 1 - i);
    if (dtype == TF_FLOAT32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
  }
  *out = t;
  return TF_OK;
}

tf_status tf_eye(int64_t n, int64_t m, tf_dtype dtype, tf_tensor **out) {
  TF_CHECK(n >= 0 && m >= 0, TF_ERR_VALUE,
           "eye: n and m must be non-negative, got %lld and %lld",
           (long long)n, (long long)m);
  int64_t shape[2] = {n, m};
  tf_tensor *t = NULL;
  TF_TRY(tf_full(2, shape, dtype, 0.0, 0, TF_SCALAR_INT, &t));
  int64_t k = n < m ? n : m;
  size_t size = tf_dtype_size(dtype);
  for (int64_t i = 0; i < k; i++) {
    char *e = tf_ptr(t) + (size_t)(i * m + i) * size;
    switch (dtype) {
      case TF_FLOAT32: *(float *)e = 1.0f; break;
      case TF_FLOAT64: *(double *)e = 1.0; break;
      case TF_INT64: *(int64_t *)e = 1; break;
      default: *(bool *)e = true; break;
    }
  }
  *out = t;
  return TF_OK;
}
