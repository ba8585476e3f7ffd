/* pool.c: the cpu kernels of max and average pooling, forward and backward
 * (the entry points, which check the arguments and plan the windows, are
 * ops/pool.c; the plan is described in backend.h).
 *
 * Forward: every output element is computed by one thread from its own
 * window, so threads split the (plane, output row) space and results never
 * depend on the thread count. Average pooling sums in double for both
 * dtypes and divides once.
 *
 * Backward: windows overlap when the stride is below the kernel, so two
 * outputs may add into one input element; threads therefore split planes
 * only, and each plane is accumulated by one thread in row-major output
 * order: one fixed order of the additions. float32 average gradients
 * accumulate in a double plane (per-thread scratch) and are rounded once.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../backend.h"
#include "fast_math.h" /* TF_SIMD_CLONES */

/* Work of a call in elements read: enough of it to pay for threads. */
static bool worth_threads(const tf_pool_plan *p, double per_output) {
  return (double)p->planes * (double)p->out_h * (double)p->out_w * per_output >=
         TF_PARALLEL_GRAIN;
}

static double max_taps(const int64_t *count, int64_t n) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) m = count[i] > m ? count[i] : m;
  return (double)m;
}

/* n outputs of 2x2 windows: output j reads r0[j s], r0[j s + 1] and the
 * same of r1 (the next row); base is r0's flat index in the plane. The
 * general rule (first maximum, a NaN wins, a later NaN replaces it) as
 * selects without branches, which the compiler vectorizes; starting from
 * the first tap is the same as starting from -inf at its index. */
/* x when up, else y, through masks on the bits: no branch even in the
 * scalar remainder of a vectorized loop, where a compare-and-jump would be
 * mispredicted about half of the time on random data. */
static inline float sel_f32(bool up, float x, float y) {
  uint32_t a, b, m = -(uint32_t)up;
  memcpy(&a, &x, sizeof a);
  memcpy(&b, &y, sizeof b);
  a = (a & m) | (b & ~m);
  memcpy(&x, &a, sizeof a);
  return x;
}
static inline double sel_f64(bool up, double x, double y) {
  uint64_t a, b, m = -(uint64_t)up;
  memcpy(&a, &x, sizeof a);
  memcpy(&b, &y, sizeof b);
  a = (a & m) | (b & ~m);
  memcpy(&x, &a, sizeof a);
  return x;
}
static inline int64_t sel_i64(bool up, int64_t x, int64_t y) {
  const uint64_t m = -(uint64_t)up;
  return (int64_t)(((uint64_t)x & m) | ((uint64_t)y & ~m));
}

#define POOL_MAX2X2_BODY(T, SEL, S)                                            \
  for (int64_t j = 0; j < n; j++) {                                            \
    const T a = r0[j * (S)], b = r0[j * (S) + 1];                              \
    const T c = r1[j * (S)], d = r1[j * (S) + 1];                              \
    T best = a;                                                                \
    int64_t at = 0;                                                            \
    bool up = (b > best) | (b != b);                                           \
    best = SEL(up, b, best);                                                   \
    at = sel_i64(up, 1, at);                                                   \
    up = (c > best) | (c != c);                                                \
    best = SEL(up, c, best);                                                   \
    at = sel_i64(up, W, at);                                                   \
    up = (d > best) | (d != d);                                                \
    best = SEL(up, d, best);                                                   \
    at = sel_i64(up, W + 1, at);                                               \
    y[j] = best;                                                               \
    ind[j] = base + j * (S) + at;                                              \
  }
#define DEFINE_MAX2X2(T, SEL, NAME)                                            \
  TF_SIMD_CLONES static void NAME##_max2x2_s2(                                 \
      const T *restrict r0, const T *restrict r1, int64_t n, int64_t W,        \
      int64_t base, T *restrict y, int64_t *restrict ind) {                    \
    POOL_MAX2X2_BODY(T, SEL, 2)                                                \
  }                                                                            \
  TF_SIMD_CLONES static void NAME##_max2x2(                                    \
      const T *restrict r0, const T *restrict r1, int64_t n, int64_t s,        \
      int64_t W, int64_t base, T *restrict y, int64_t *restrict ind) {         \
    POOL_MAX2X2_BODY(T, SEL, s)                                                \
  }
DEFINE_MAX2X2(float, sel_f32, pool_f32)
DEFINE_MAX2X2(double, sel_f64, pool_f64)

#define DEFINE_POOL_FORWARD(T, NAME)                                           \
  /* Output row oh of plane pl. */                                             \
  static void NAME##_max_row(const tf_pool_plan *p, const T *x, T *y,          \
                             int64_t *ind, int64_t oh) {                       \
    const int64_t W = p->in_w, hs = p->h_start[oh], hc = p->h_count[oh];      \
    /* Runs of full 2x2 windows of adjacent taps at a fixed stride (the    */ \
    /* common CNN pool) go to the branch-free NAME##_max2x2.              */ \
    const bool two_rows = hc == 2 && p->h_step == 1 && p->w_step == 1;         \
    for (int64_t ow = 0; ow < p->out_w; ow++) {                                \
      const int64_t ws = p->w_start[ow], wc = p->w_count[ow];                 \
      if (two_rows && wc == 2) {                                               \
        const int64_t s = ow + 1 < p->out_w ? p->w_start[ow + 1] - ws : 2;    \
        int64_t end = ow + 1;                                                  \
        while (end < p->out_w && p->w_count[end] == 2 &&                       \
               p->w_start[end] - p->w_start[end - 1] == s)                     \
          end++;                                                               \
        const T *r0 = x + hs * W + ws;                                         \
        if (s == 2)                                                            \
          NAME##_max2x2_s2(r0, r0 + W, end - ow, W, hs * W + ws, y + ow,       \
                           ind + ow);                                          \
        else                                                                   \
          NAME##_max2x2(r0, r0 + W, end - ow, s, W, hs * W + ws, y + ow,       \
                        ind + ow);                                             \
        ow = end - 1;                                                          \
        continue;                                                              \
      }                                                                        \
      T best = (T)-INFINITY;                                                   \
      int64_t at = hs * W + ws;                                                \
      for (int64_t a = 0; a < hc; a++) {                                       \
        const int64_t ih = hs + a * p->h_step;                                 \
        const T *row = x + ih * W;                                             \
        for (int64_t b = 0; b < wc; b++) {                                     \
          const int64_t iw = ws + b * p->w_step;                               \
          const T v = row[iw];                                                 \
          /* PyTorch's rule: the first maximum; a NaN wins and a later */     \
          /* NaN replaces it. */                                               \
          if (v > best || isnan(v)) {                                          \
            best = v;                                                          \
            at = ih * W + iw;                                                  \
          }                                                                    \
        }                                                                      \
      }                                                                        \
      y[ow] = best;                                                            \
      ind[ow] = at;                                                            \
    }                                                                          \
  }                                                                            \
                                                                               \
  static void NAME##_avg_row(const tf_pool_plan *p, const T *x, T *y,          \
                             int64_t oh) {                                     \
    const int64_t W = p->in_w, hs = p->h_start[oh], hc = p->h_count[oh];      \
    for (int64_t ow = 0; ow < p->out_w; ow++) {                                \
      const int64_t ws = p->w_start[ow], wc = p->w_count[ow];                 \
      if (hc <= 0 || wc <= 0) {                                                \
        y[ow] = 0;                                                             \
        continue;                                                              \
      }                                                                        \
      double sum = 0;                                                          \
      for (int64_t a = 0; a < hc; a++) {                                       \
        const T *row = x + (hs + a) * W + ws;                                  \
        for (int64_t b = 0; b < wc; b++) sum += (double)row[b];                \
      }                                                                        \
      const double div = p->has_divisor ? (double)p->divisor                   \
                                        : (double)p->h_div[oh] * (double)p->w_div[ow]; \
      y[ow] = (T)(sum / div);                                                  \
    }                                                                          \
  }                                                                            \
                                                                               \
  static void NAME##_forward(const tf_pool_plan *p, const tf_tensor *xt,       \
                             tf_tensor *out, tf_tensor *indices) {             \
    const T *x = (const T *)tf_ptr(xt);                                        \
    T *y = (T *)tf_ptr(out);                                                   \
    int64_t *ind = indices ? (int64_t *)tf_ptr(indices) : NULL;                \
    const int64_t items = p->planes * p->out_h;                                \
    const int64_t plane_in = p->in_h * p->in_w;                                \
    const double taps = max_taps(p->h_count, p->out_h) *                      \
                        max_taps(p->w_count, p->out_w);                        \
    const bool par = items > 1 && worth_threads(p, taps > 1 ? taps : 1);       \
    TF_PARALLEL_FOR(par)                                                       \
    for (int64_t item = 0; item < items; item++) {                             \
      const int64_t pl = item / p->out_h, oh = item % p->out_h;                \
      const int64_t o = (pl * p->out_h + oh) * p->out_w;                       \
      if (p->kind == TF_POOL_MAX)                                              \
        NAME##_max_row(p, x + pl * plane_in, y + o, ind + o, oh);              \
      else                                                                     \
        NAME##_avg_row(p, x + pl * plane_in, y + o, oh);                       \
    }                                                                          \
  }
DEFINE_POOL_FORWARD(float, pool_f32)
DEFINE_POOL_FORWARD(double, pool_f64)

tf_status tf_cpu_pool(const tf_pool_plan *p, const tf_tensor *x, tf_tensor *out,
                      tf_tensor *indices) {
  if (p->planes * p->out_h * p->out_w == 0) return TF_OK;
  if (x->dtype == TF_FLOAT32)
    pool_f32_forward(p, x, out, indices);
  else
    pool_f64_forward(p, x, out, indices);
  return TF_OK;
}

/* ---- backward ------------------------------------------------------------- */
/* Max: grad_input's plane (zeroed) += grad at the indices, each index read
 * once (another thread may be writing the tensor), checked, then used.
 * Returns the first bad index of the plane through *bad (else leaves it). */
#define DEFINE_MAX_BACKWARD(T, NAME)                                           \
  static bool NAME(const tf_pool_plan *p, const T *g, const int64_t *ind,      \
                   T *gi, int64_t *bad) {                                      \
    const int64_t n_in = p->in_h * p->in_w, n_out = p->out_h * p->out_w;       \
    for (int64_t i = 0; i < n_in; i++) gi[i] = 0;                              \
    const volatile int64_t *vind = (const volatile int64_t *)ind;              \
    for (int64_t o = 0; o < n_out; o++) {                                      \
      const int64_t at = vind[o];                                              \
      if (at < 0 || at >= n_in) {                                              \
        *bad = at;                                                             \
        return false;                                                          \
      }                                                                        \
      gi[at] += g[o];                                                          \
    }                                                                          \
    return true;                                                               \
  }
DEFINE_MAX_BACKWARD(float, max_backward_f32)
DEFINE_MAX_BACKWARD(double, max_backward_f64)

/* Average: acc (the plane, zeroed) += grad / divisor over each window. */
#define DEFINE_AVG_BACKWARD(T, ACC, NAME)                                      \
  static void NAME(const tf_pool_plan *p, const T *g, ACC *acc) {              \
    const int64_t W = p->in_w;                                                 \
    for (int64_t i = 0; i < p->in_h * W; i++) acc[i] = 0;                      \
    for (int64_t oh = 0; oh < p->out_h; oh++) {                                \
      const int64_t hs = p->h_start[oh], hc = p->h_count[oh];                 \
      for (int64_t ow = 0; ow < p->out_w; ow++) {                              \
        const int64_t ws = p->w_start[ow], wc = p->w_count[ow];               \
        if (hc <= 0 || wc <= 0) continue;                                      \
        const double div = p->has_divisor ? (double)p->divisor                 \
                                          : (double)p->h_div[oh] * (double)p->w_div[ow]; \
        const ACC v = (ACC)((double)g[oh * p->out_w + ow] / div);             \
        for (int64_t a = 0; a < hc; a++) {                                     \
          ACC *row = acc + (hs + a) * W + ws;                                  \
          for (int64_t b = 0; b < wc; b++) row[b] += v;                        \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }
DEFINE_AVG_BACKWARD(float, double, avg_backward_f32)
DEFINE_AVG_BACKWARD(double, double, avg_backward_f64)

tf_status tf_cpu_pool_backward(const tf_pool_plan *p, const tf_tensor *grad,
                               const tf_tensor *indices, tf_tensor *grad_input) {
  const int64_t n_in = p->in_h * p->in_w, n_out = p->out_h * p->out_w;
  if (p->planes * n_in == 0) return TF_OK;
  const bool f32 = grad->dtype == TF_FLOAT32;
  const size_t elsize = f32 ? sizeof(float) : sizeof(double);
  const char *g = tf_ptr(grad);
  char *gi = tf_ptr(grad_input);
  const int64_t *ind = indices ? (const int64_t *)tf_ptr(indices) : NULL;
  const bool max = p->kind == TF_POOL_MAX;
  /* float32 average: a double plane per thread */
  const bool scratch = !max && f32;
  const bool par = p->planes > 1 &&
                   (double)p->planes * (double)(n_in > n_out ? n_in : n_out) >=
                       TF_PARALLEL_GRAIN;
  int64_t bad_plane = -1, bad_value = 0;
  bool no_memory = false;
  TF_PARALLEL(par)
  {
    double *acc = scratch ? malloc(sizeof(double) * (size_t)n_in) : NULL;
    if (scratch && !acc) {
#pragma omp atomic write
      no_memory = true;
    }
#pragma omp for schedule(static)
    for (int64_t pl = 0; pl < p->planes; pl++) {
      const char *gp = g + pl * n_out * (int64_t)elsize;
      char *gip = gi + pl * n_in * (int64_t)elsize;
      if (max) {
        int64_t bad = 0;
        bool ok = f32 ? max_backward_f32(p, (const float *)gp, ind + pl * n_out,
                                         (float *)gip, &bad)
                      : max_backward_f64(p, (const double *)gp, ind + pl * n_out,
                                         (double *)gip, &bad);
        if (!ok) {
#pragma omp critical(tf_pool_bad_index)
          if (bad_plane < 0 || pl < bad_plane) {
            bad_plane = pl;
            bad_value = bad;
          }
        }
      } else if (f32) {
        if (!acc) continue;
        avg_backward_f32(p, (const float *)gp, acc);
        float *dst = (float *)gip;
        for (int64_t i = 0; i < n_in; i++) dst[i] = (float)acc[i];
      } else {
        avg_backward_f64(p, (const double *)gp, (double *)gip);
      }
    }
    free(acc);
  }
  if (no_memory)
    return tf_fail(TF_ERR_MEMORY, "%s backward: out of memory for a scratch "
                   "plane of %lld elements", p->op, (long long)n_in);
  if (bad_plane >= 0) return tf_pool_bad_index(p, bad_plane, bad_value);
  return TF_OK;
}

tf_status tf_pool_bad_index(const tf_pool_plan *p, int64_t plane, int64_t value) {
  return tf_fail(TF_ERR_INDEX, "%s backward: index %lld of plane %lld is "
                 "outside the input plane of %lld x %lld elements (valid: 0 "
                 "to %lld)", p->op, (long long)value, (long long)plane,
                 (long long)p->in_h, (long long)p->in_w,
                 (long long)(p->in_h * p->in_w - 1));
}
