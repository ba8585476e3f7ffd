/* creation.c: the cpu kernels of the creation ops that compute values:
 * arange, linspace and eye's diagonal. */
#include "../backend.h"

tf_status tf_cpu_arange(tf_tensor *t, double fstart, double fstep,
                        int64_t istart, int64_t istep) {
  int64_t n = t->shape[0];
  char *p = tf_ptr(t);
  for (int64_t i = 0; i < n; i++) {
    switch (t->dtype) {
      case TF_FLOAT32: ((float *)p)[i] = (float)(fstart + (double)i * fstep); break;
      case TF_FLOAT64: ((double *)p)[i] = fstart + (double)i * fstep; break;
      default: ((int64_t *)p)[i] = (int64_t)((uint64_t)istart + (uint64_t)i * (uint64_t)istep); break;
    }
  }
  return TF_OK;
}

/* As PyTorch: the first half steps up from start, the second half steps
 * down from end, so both ends are exact. */
tf_status tf_cpu_linspace(tf_tensor *t, double start, double end) {
  int64_t steps = t->shape[0];
  double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0.0;
  int64_t half = steps / 2;
  char *p = tf_ptr(t);
  for (int64_t i = 0; i < steps; i++) {
    double v = steps == 1 ? start
               : i < half ? start + step * (double)i
                          : end - step * (double)(steps - 1 - i);
    if (t->dtype == TF_FLOAT32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
  }
  return TF_OK;
}

tf_status tf_cpu_eye(tf_tensor *t) {
  int64_t n = t->shape[0], m = t->shape[1], k = n < m ? n : m;
  size_t size = tf_dtype_size(t->dtype);
  for (int64_t i = 0; i < k; i++) {
    char *e = tf_ptr(t) + (size_t)(i * m + i) * size;
    switch (t->dtype) {
      case TF_FLOAT32: *(float *)e = 1.0f; break;
      case TF_FLOAT64: *(double *)e = 1.0; break;
      case TF_INT64: *(int64_t *)e = 1; break;
      default: *(bool *)e = true; break;
    }
  }
  return TF_OK;
}
