/* norm.c: the cpu's fused normalization kernels (batch, group and layer
 * norm; the entry points are ops/norm.c, the geometry backend.h's
 * tf_norm_geom).
 *
 * Statistics: each unit's element sequence is cut into blocks of BLK
 * elements. A block's mean and sum of squared deviations are computed in
 * two passes over the block, which is still in cache for the second (so the
 * data is read from memory once), accumulating in double; the blocks are
 * then merged in block order with Chan's formula. This is accurate for data
 * with a large mean (1e4 + N(0, 1) in float32 loses nothing to cancellation),
 * and the blocks depend on the shapes only, so the results are bitwise the
 * same for every thread count: threads take whole (unit, block) items and
 * every merge runs in one fixed order. The backward's sums are formed the
 * same way; dweight / dbias of group and layer norm sum over units, and are
 * parallel over blocks of channels, each summed over n in order.
 * Everything is computed in double and rounded once to the output dtype.
 */
#include <math.h>
#include <stdlib.h>

#include "../backend.h"
#include "fast_math.h" /* TF_SIMD_CLONES */

enum { BLK = 4096, CCH = 64 };

/* How a unit's element sequence lies in memory: runs of seg_len contiguous
 * elements, seg_stride apart, the first at u * unit_stride. */
typedef struct {
  int64_t units, len, seg_len, seg_stride, unit_stride, nblk, cg;
} walk;

static walk walk_of(const tf_norm_geom *g) {
  walk w;
  if (g->per_channel) {
    w.units = g->c;
    w.len = g->n * g->s;
    w.seg_len = g->s;
    w.seg_stride = g->c * g->s;
    w.unit_stride = g->s;
  } else {
    w.units = g->n * g->groups;
    w.len = g->c / g->groups * g->s;
    w.seg_len = w.len;
    w.seg_stride = 0;
    w.unit_stride = w.len;
  }
  w.cg = g->c / g->groups;
  w.nblk = w.len > 0 ? (w.len + BLK - 1) / BLK : 0;
  return w;
}

/* The offset of element i of unit u; *run = how many contiguous elements
 * follow it, at most end - i. */
static inline int64_t run_at(const walk *w, int64_t u, int64_t i, int64_t end,
                             int64_t *run) {
  int64_t seg = w->seg_len ? i / w->seg_len : 0, off = i - seg * w->seg_len;
  int64_t n = w->seg_len - off;
  *run = n < end - i ? n : end - i;
  return u * w->unit_stride + seg * w->seg_stride + off;
}

/* The channel of element i of unit u (group mode). */
static inline int64_t channel_of(const tf_norm_geom *g, const walk *w,
                                 int64_t u, int64_t i) {
  return g->per_channel ? u : (u % g->groups) * w->cg + i / g->s;
}

static bool worth(int64_t numel) { return numel >= TF_PARALLEL_GRAIN; }

/* ---- inner loops ---------------------------------------------------------------
 * Each sums in LANES independent double accumulators combined in one fixed
 * order (so the compiler vectorizes them without reassociating anything),
 * built for AVX-512, AVX2 and baseline x86-64. */
enum { LANES = 8 };
/* LANES doubles as one GCC vector (lowered to whatever the target has) */
typedef double vd __attribute__((vector_size(LANES * sizeof(double))));
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
/* Macros, not functions: a vector return value changes the ABI with the
 * target. */
#define LOAD_f32(dst, p)                    \
  do {                                      \
    vf t_;                                  \
    memcpy(&t_, (p), sizeof t_);            \
    (dst) = __builtin_convertvector(t_, vd); \
  } while (0)
#define LOAD_f64(dst, p) memcpy(&(dst), (p), sizeof(vd))
#define COMBINE(a) \
  (((a)[0] + (a)[4]) + ((a)[1] + (a)[5])) + (((a)[2] + (a)[6]) + ((a)[3] + (a)[7]))
#define DEFINE_LOOPS(T, SFX)                                                   \
  /* sum of p */                                                               \
  TF_SIMD_CLONES static double sum_##SFX(const T *p, int64_t n) {              \
    vd a = {0};                                                                \
    double t = 0;                                                              \
    int64_t k = 0;                                                             \
    for (; k + LANES <= n; k += LANES) {                                       \
      vd v;                                                                    \
      LOAD_##SFX(v, p + k);                                                    \
      a += v;                                                                  \
    }                                                                          \
    for (; k < n; k++) t += (double)p[k];                                      \
    return COMBINE(a) + t;                                                     \
  }                                                                            \
  /* sums of d and d^2, d = p - m */                                           \
  TF_SIMD_CLONES static void dev_##SFX(const T *p, int64_t n, double m,        \
                                       double *s1, double *s2) {               \
    vd a = {0}, b = {0};                                                       \
    double t1 = 0, t2 = 0;                                                     \
    int64_t k = 0;                                                             \
    for (; k + LANES <= n; k += LANES) {                                       \
      vd d;                                                                    \
      LOAD_##SFX(d, p + k);                                                    \
      d -= m;                                                                  \
      a += d;                                                                  \
      b += d * d;                                                              \
    }                                                                          \
    for (; k < n; k++) {                                                       \
      double d = (double)p[k] - m;                                             \
      t1 += d;                                                                 \
      t2 += d * d;                                                             \
    }                                                                          \
    *s1 += COMBINE(a) + t1;                                                    \
    *s2 += COMBINE(b) + t2;                                                    \
  }                                                                            \
  /* sums of g * w and g * w * (x - m) (w NULL: ones) */                       \
  TF_SIMD_CLONES static void gx_##SFX(const T *g, const T *x, const T *w,      \
                                      int64_t n, double m, double *s1,         \
                                      double *s2) {                            \
    vd a = {0}, b = {0};                                                       \
    double t1 = 0, t2 = 0;                                                     \
    int64_t k = 0;                                                             \
    for (; k + LANES <= n; k += LANES) {                                       \
      vd gv, xv, wv;                                                           \
      LOAD_##SFX(gv, g + k);                                                   \
      LOAD_##SFX(xv, x + k);                                                   \
      if (w) {                                                                 \
        LOAD_##SFX(wv, w + k);                                                 \
        gv *= wv;                                                              \
      }                                                                        \
      a += gv;                                                                 \
      b += gv * (xv - m);                                                      \
    }                                                                          \
    for (; k < n; k++) {                                                       \
      double gv = (double)g[k] * (w ? (double)w[k] : 1.0);                     \
      t1 += gv;                                                                \
      t2 += gv * ((double)x[k] - m);                                           \
    }                                                                          \
    *s1 += COMBINE(a) + t1;                                                    \
    *s2 += COMBINE(b) + t2;                                                    \
  }                                                                            \
  /* y = (x - m) * a + sh */                                                   \
  TF_SIMD_CLONES static void affine_##SFX(const T *x, int64_t n, double m,     \
                                          double a, double sh, T *y) {         \
    for (int64_t k = 0; k < n; k++) y[k] = (T)(((double)x[k] - m) * a + sh);   \
  }                                                                            \
  /* y = (x - m) * r * w + b, elementwise weight and bias (NULL: none) */      \
  TF_SIMD_CLONES static void affine_vec_##SFX(const T *x, int64_t n, double m, \
                                              double r, const T *w,            \
                                              const T *b, T *y) {              \
    if (w && b)                                                                \
      for (int64_t k = 0; k < n; k++)                                          \
        y[k] = (T)(((double)x[k] - m) * r * (double)w[k] + (double)b[k]);      \
    else if (w)                                                                \
      for (int64_t k = 0; k < n; k++)                                          \
        y[k] = (T)(((double)x[k] - m) * r * (double)w[k]);                     \
    else if (b)                                                                \
      for (int64_t k = 0; k < n; k++)                                          \
        y[k] = (T)(((double)x[k] - m) * r + (double)b[k]);                     \
    else                                                                       \
      for (int64_t k = 0; k < n; k++) y[k] = (T)(((double)x[k] - m) * r);      \
  }                                                                            \
  /* d = al * g - be - (x - m) * ga */                                         \
  TF_SIMD_CLONES static void dx_##SFX(const T *g, const T *x, int64_t n,       \
                                      double m, double al, double be,          \
                                      double ga, T *d) {                       \
    for (int64_t k = 0; k < n; k++)                                            \
      d[k] = (T)(al * (double)g[k] - be - ((double)x[k] - m) * ga);            \
  }                                                                            \
  /* sb += g, sw += g * (x - m) * r, elementwise (a row's share of the    */ \
  /* column sums of layer norm's dweight / dbias)                          */ \
  TF_SIMD_CLONES static void colsum_##SFX(const T *g, const T *x, int64_t n,   \
                                          double m, double r, double *sw,      \
                                          double *sb) {                        \
    for (int64_t k = 0; k < n; k++) {                                          \
      double gv = (double)g[k];                                                \
      sb[k] += gv;                                                             \
      sw[k] += gv * (((double)x[k] - m) * r);                                  \
    }                                                                          \
  }                                                                            \
  /* d = r * (g * w - ma - (x - m) * rmb), elementwise weight */               \
  TF_SIMD_CLONES static void dx_vec_##SFX(const T *g, const T *x, const T *w,  \
                                          int64_t n, double m, double r,       \
                                          double ma, double rmb, T *d) {       \
    for (int64_t k = 0; k < n; k++)                                            \
      d[k] = (T)(r * ((double)g[k] * (double)w[k] - ma -                       \
                      ((double)x[k] - m) * rmb));                              \
  }
DEFINE_LOOPS(float, f32)
DEFINE_LOOPS(double, f64)

/* ---- statistics -------------------------------------------------------------
 * part[3 * item]: the count, mean and M2 of block item = u * nblk + b. The
 * block's mean first (pass one), then the deviations from it (pass two, over
 * data still in cache); their sum sd is the rounding left in that mean, and
 * the correction keeps M2 exact to it. */
#define DEFINE_BLOCK_STATS(T, SFX)                                             \
  static void block_stats_##SFX(const walk *w, const T *x, int64_t u,          \
                                int64_t b, double *part) {                     \
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;     \
    double s = 0;                                                              \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      const T *p = x + run_at(w, u, i, i1, &run);                              \
      s += sum_##SFX(p, run);                                                  \
    }                                                                          \
    double cnt = (double)(i1 - i0), m = s / cnt, sd = 0, sq = 0;               \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      const T *p = x + run_at(w, u, i, i1, &run);                              \
      dev_##SFX(p, run, m, &sd, &sq);                                          \
    }                                                                          \
    part[0] = cnt;                                                             \
    part[1] = m + sd / cnt;                                                    \
    part[2] = sq - sd * sd / cnt;                                              \
  }
DEFINE_BLOCK_STATS(float, f32)
DEFINE_BLOCK_STATS(double, f64)

static void block_stats(const walk *w, const tf_tensor *x, int64_t u, int64_t b,
                        double *part) {
  if (x->dtype == TF_FLOAT32)
    block_stats_f32(w, (const float *)tf_ptr(x), u, b, part);
  else
    block_stats_f64(w, (const double *)tf_ptr(x), u, b, part);
}

/* Chan's merge of the blocks of unit u, in block order. */
static void merge_blocks(const walk *w, const double *part, int64_t u,
                         double *mean, double *var) {
  double n = 0, m = 0, m2 = 0;
  for (int64_t b = 0; b < w->nblk; b++) {
    const double *q = part + 3 * (u * w->nblk + b);
    double nb = q[0], tot = n + nb, delta = q[1] - m;
    m += delta * (nb / tot);
    m2 += q[2] + delta * delta * (n * nb / tot);
    n = tot;
  }
  *mean = n > 0 ? m : NAN;
  *var = n > 0 ? (m2 > 0 ? m2 / n : 0) : NAN;
}

/* A strided 1-D tensor's element i, read or written as double. */
static inline double get1(const tf_tensor *t, int64_t i) {
  const char *p = tf_ptr(t);
  int64_t off = t->ndim ? i * t->strides[0] : 0;
  return t->dtype == TF_FLOAT32 ? (double)((const float *)p)[off]
                                : ((const double *)p)[off];
}
static inline void set1(tf_tensor *t, int64_t i, double v) {
  char *p = tf_ptr(t);
  int64_t off = t->ndim ? i * t->strides[0] : 0;
  if (t->dtype == TF_FLOAT32)
    ((float *)p)[off] = (float)v;
  else
    ((double *)p)[off] = v;
}

/* ---- the passes over one block, per dtype ------------------------------------ */
#define DEFINE_PASSES(T, SFX)                                                  \
  /* out = (x - m) * r * weight + bias over block b of unit u */               \
  static void out_block_##SFX(const tf_norm_geom *g, const walk *w,            \
                              const T *x, const T *wt, const T *bs, double m,  \
                              double r, T *y, int64_t u, int64_t b) {          \
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;     \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      int64_t off = run_at(w, u, i, i1, &run);                                 \
      if (g->per_channel) {                                                    \
        affine_##SFX(x + off, run, m, wt ? r * (double)wt[u] : r,              \
                     bs ? (double)bs[u] : 0, y + off);                         \
      } else if (g->s == 1) { /* the channel changes every element */          \
        int64_t c0 = channel_of(g, w, u, i);                                   \
        affine_vec_##SFX(x + off, run, m, r, wt ? wt + c0 : NULL,              \
                         bs ? bs + c0 : NULL, y + off);                        \
      } else { /* runs of S elements of one channel */                         \
        for (int64_t k = 0, len; k < run; k += len) {                          \
          int64_t c = channel_of(g, w, u, i + k);                              \
          len = g->s - (i + k) % g->s;                                         \
          if (len > run - k) len = run - k;                                    \
          affine_##SFX(x + off + k, len, m, wt ? r * (double)wt[c] : r,        \
                       bs ? (double)bs[c] : 0, y + off + k);                   \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }                                                                            \
  /* *sa += sum g * w', *sb += sum g * w' * (x - m) over block b of unit u,  */\
  /* w' the weight in group mode, 1 per channel (constant there)            */ \
  static void sums_block_##SFX(const tf_norm_geom *g, const walk *w,           \
                               const T *gr, const T *x, const T *wt, double m, \
                               int64_t u, int64_t b, double *sa, double *sb) { \
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;     \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      int64_t off = run_at(w, u, i, i1, &run);                                 \
      if (g->per_channel || !wt) {                                             \
        gx_##SFX(gr + off, x + off, NULL, run, m, sa, sb);                     \
      } else if (g->s == 1) {                                                  \
        gx_##SFX(gr + off, x + off, wt + channel_of(g, w, u, i), run, m, sa,   \
                 sb);                                                          \
      } else {                                                                 \
        for (int64_t k = 0, len; k < run; k += len) {                          \
          int64_t c = channel_of(g, w, u, i + k);                              \
          len = g->s - (i + k) % g->s;                                         \
          if (len > run - k) len = run - k;                                    \
          double a1 = 0, a2 = 0;                                               \
          gx_##SFX(gr + off + k, x + off + k, NULL, len, m, &a1, &a2);         \
          *sa += (double)wt[c] * a1;                                           \
          *sb += (double)wt[c] * a2;                                           \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }                                                                            \
  /* dx over block b of unit u; ma = A / n, mb = B / n (0: given stats) */     \
  static void dx_block_##SFX(const tf_norm_geom *g, const walk *w,             \
                             const T *gr, const T *x, const T *wt, double m,   \
                             double r, double ma, double mb, T *d, int64_t u,  \
                             int64_t b) {                                      \
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;     \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      int64_t off = run_at(w, u, i, i1, &run);                                 \
      if (g->per_channel) {                                                    \
        double wr = (wt ? (double)wt[u] : 1.0) * r;                            \
        dx_##SFX(gr + off, x + off, run, m, wr, wr * ma, wr * r * mb, d + off);\
      } else if (g->s == 1) {                                                  \
        if (wt)                                                                \
          dx_vec_##SFX(gr + off, x + off, wt + channel_of(g, w, u, i), run, m, \
                       r, ma, r * mb, d + off);                                \
        else                                                                   \
          dx_##SFX(gr + off, x + off, run, m, r, r * ma, r * r * mb, d + off); \
      } else {                                                                 \
        for (int64_t k = 0, len; k < run; k += len) {                          \
          int64_t c = channel_of(g, w, u, i + k);                              \
          len = g->s - (i + k) % g->s;                                         \
          if (len > run - k) len = run - k;                                    \
          dx_##SFX(gr + off + k, x + off + k, len, m,                          \
                   r * (wt ? (double)wt[c] : 1.0), r * ma, r * r * mb,         \
                   d + off + k);                                               \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }                                                                            \
  /* dweight / dbias of channels [c0, c1) (group mode), summed over n in   */  \
  /* order                                                                 */  \
  static void chan_grads_##SFX(const tf_norm_geom *g, const walk *w,           \
                               const T *gr, const T *x, const double *mean,    \
                               const double *rstd, int64_t c0, int64_t c1,     \
                               double *sw, double *sb) {                       \
    for (int64_t n = 0; n < g->n; n++) {                                       \
      if (g->s == 1 && g->groups == 1) { /* layer norm: one row per n */       \
        double m = mean[n], r = rstd[n];                                       \
        colsum_##SFX(gr + n * g->c + c0, x + n * g->c + c0, c1 - c0, m, r, sw, \
                     sb);                                                      \
      } else {                                                                 \
        for (int64_t c = c0; c < c1; c++) {                                    \
          int64_t u = n * g->groups + c / w->cg, base = (n * g->c + c) * g->s; \
          double a1 = 0, a2 = 0;                                               \
          gx_##SFX(gr + base, x + base, NULL, g->s, mean[u], &a1, &a2);        \
          sb[c - c0] += a1;                                                    \
          sw[c - c0] += a2 * rstd[u];                                          \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }
DEFINE_PASSES(float, f32)
DEFINE_PASSES(double, f64)

static void out_block(const tf_norm_geom *g, const walk *w, const tf_tensor *x,
                      const void *wt, const void *bs, double m, double r,
                      tf_tensor *y, int64_t u, int64_t b) {
  if (x->dtype == TF_FLOAT32)
    out_block_f32(g, w, (const float *)tf_ptr(x), wt, bs, m, r,
                  (float *)tf_ptr(y), u, b);
  else
    out_block_f64(g, w, (const double *)tf_ptr(x), wt, bs, m, r,
                  (double *)tf_ptr(y), u, b);
}

/* ---- forward ------------------------------------------------------------------ */
tf_status tf_cpu_norm(const tf_norm_geom *g, const tf_tensor *x,
                      const tf_tensor *weight, const tf_tensor *bias,
                      double eps, bool batch_stats, double momentum,
                      tf_tensor *running_mean, tf_tensor *running_var,
                      tf_tensor *mean_t, tf_tensor *rstd_t, tf_tensor *out) {
  walk w = walk_of(g);
  double *mean = (double *)tf_ptr(mean_t), *rstd = (double *)tf_ptr(rstd_t);
  const void *wt = weight ? tf_ptr(weight) : NULL, *bs = bias ? tf_ptr(bias) : NULL;
  int64_t items = w.units * w.nblk;
  bool par = worth(w.units * w.len);
  if (!batch_stats) {
    for (int64_t u = 0; u < w.units; u++) {
      mean[u] = get1(running_mean, u);
      rstd[u] = 1.0 / sqrt(get1(running_var, u) + eps);
    }
  }
  size_t nu = (size_t)(w.units ? w.units : 1);
  double *var = batch_stats ? malloc(nu * sizeof *var) : NULL;
  double *part = batch_stats && w.nblk > 1 ? malloc((size_t)items * 3 * sizeof *part) : NULL;
  if ((batch_stats && !var) || (batch_stats && w.nblk > 1 && !part)) {
    free(var);
    free(part);
    return tf_fail(TF_ERR_MEMORY, "norm: out of memory for statistics");
  }
  if (batch_stats && w.nblk <= 1) {
    /* one block per unit: statistics and output in one go, in cache */
    TF_PARALLEL_FOR(par && w.units > 1)
    for (int64_t u = 0; u < w.units; u++) {
      double q[3] = {0, 0, 0};
      if (w.nblk) block_stats(&w, x, u, 0, q);
      mean[u] = q[0] > 0 ? q[1] : NAN;
      var[u] = q[0] > 0 ? (q[2] > 0 ? q[2] / q[0] : 0) : NAN;
      rstd[u] = 1.0 / sqrt(var[u] + eps);
      if (w.nblk) out_block(g, &w, x, wt, bs, mean[u], rstd[u], out, u, 0);
    }
  } else {
    if (batch_stats) {
      TF_PARALLEL_FOR(par && items > 1)
      for (int64_t it = 0; it < items; it++)
        block_stats(&w, x, it / w.nblk, it % w.nblk, part + 3 * it);
      for (int64_t u = 0; u < w.units; u++) {
        merge_blocks(&w, part, u, &mean[u], &var[u]);
        rstd[u] = 1.0 / sqrt(var[u] + eps);
      }
    }
    TF_PARALLEL_FOR(par && items > 1)
    for (int64_t it = 0; it < items; it++) {
      int64_t u = it / w.nblk;
      out_block(g, &w, x, wt, bs, mean[u], rstd[u], out, u, it % w.nblk);
    }
  }
  if (batch_stats && w.len > 0) {
    double n = (double)w.len;
    for (int64_t u = 0; u < w.units; u++) {
      if (running_mean)
        set1(running_mean, u, (1 - momentum) * get1(running_mean, u) + momentum * mean[u]);
      if (running_var)
        set1(running_var, u, (1 - momentum) * get1(running_var, u) +
                                 momentum * var[u] * n / (n - 1));
    }
  }
  free(var);
  free(part);
  return TF_OK;
}

/* ---- backward ------------------------------------------------------------------
 * With gw = dout * weight and xhat = (x - mean) * rstd, per unit of n
 * elements: A = sum gw, B = sum gw * xhat, and
 *   dx = rstd * (gw - A / n - xhat * B / n)   (statistics from x)
 *   dx = rstd * gw                            (given statistics)
 * Per channel (batch norm) the weight is one constant: A and B are summed
 * without it, and are then dbias and dweight as well. Otherwise dweight[c]
 * = sum dout * xhat and dbias[c] = sum dout over c's elements (chan_grads). */
static void sums_block(const tf_norm_geom *g, const walk *w, const tf_tensor *gr,
                       const tf_tensor *x, const void *wt, double m, int64_t u,
                       int64_t b, double *sa, double *sb) {
  if (x->dtype == TF_FLOAT32)
    sums_block_f32(g, w, (const float *)tf_ptr(gr), (const float *)tf_ptr(x), wt,
                   m, u, b, sa, sb);
  else
    sums_block_f64(g, w, (const double *)tf_ptr(gr), (const double *)tf_ptr(x),
                   wt, m, u, b, sa, sb);
}

static void dx_block(const tf_norm_geom *g, const walk *w, const tf_tensor *gr,
                     const tf_tensor *x, const void *wt, double m, double r,
                     double ma, double mb, tf_tensor *d, int64_t u, int64_t b) {
  if (x->dtype == TF_FLOAT32)
    dx_block_f32(g, w, (const float *)tf_ptr(gr), (const float *)tf_ptr(x), wt,
                 m, r, ma, mb, (float *)tf_ptr(d), u, b);
  else
    dx_block_f64(g, w, (const double *)tf_ptr(gr), (const double *)tf_ptr(x),
                 wt, m, r, ma, mb, (double *)tf_ptr(d), u, b);
}

tf_status tf_cpu_norm_backward(const tf_norm_geom *g, const tf_tensor *dout,
                               const tf_tensor *x, const tf_tensor *weight,
                               const tf_tensor *mean_t, const tf_tensor *rstd_t,
                               bool batch_stats, tf_tensor *dx,
                               tf_tensor *dweight, tf_tensor *dbias) {
  walk w = walk_of(g);
  const double *mean = (const double *)tf_ptr(mean_t);
  const double *rstd = (const double *)tf_ptr(rstd_t);
  const void *wt = weight ? tf_ptr(weight) : NULL;
  size_t nu = (size_t)(w.units ? w.units : 1);
  int64_t items = w.units * w.nblk;
  bool par = worth(w.units * w.len);
  bool sums = (dx && batch_stats) || (g->per_channel && (dweight || dbias));
  double *A = calloc(nu, sizeof *A), *B = calloc(nu, sizeof *B);
  double *part = sums && w.nblk > 1 ? malloc((size_t)items * 2 * sizeof *part) : NULL;
  if (!A || !B || (sums && w.nblk > 1 && !part)) {
    free(A);
    free(B);
    free(part);
    return tf_fail(TF_ERR_MEMORY, "norm: out of memory for the backward");
  }
  double n = (double)w.len;
  /* layer norm (rows of one block, weight per element): dx and each block
   * of rows' share of dweight / dbias in one pass over the data */
  bool rows = !g->per_channel && g->s == 1 && g->groups == 1 && w.nblk == 1 &&
              (dweight || dbias);
  if (rows) {
    int64_t rb = w.units / 256 + 1, c = g->c; /* rows per block: <= 256 blocks */
    if (rb < 64) rb = 64;
    int64_t nrb = (w.units + rb - 1) / rb;
    double *cp = calloc((size_t)nrb * 2 * (size_t)c, sizeof *cp);
    if (!cp) {
      free(A);
      free(B);
      free(part);
      return tf_fail(TF_ERR_MEMORY, "norm: out of memory for the backward");
    }
    bool f32 = x->dtype == TF_FLOAT32;
    TF_PARALLEL_FOR(par && nrb > 1)
    for (int64_t k = 0; k < nrb; k++) {
      double *sw = cp + 2 * k * c, *sb = sw + c;
      int64_t u1 = (k + 1) * rb < w.units ? (k + 1) * rb : w.units;
      for (int64_t u = k * rb; u < u1; u++) {
        if (sums) sums_block(g, &w, dout, x, wt, mean[u], u, 0, &A[u], &B[u]);
        B[u] *= rstd[u];
        if (dx)
          dx_block(g, &w, dout, x, wt, mean[u], rstd[u], batch_stats ? A[u] / n : 0,
                   batch_stats ? B[u] / n : 0, dx, u, 0);
        if (f32)
          colsum_f32((const float *)tf_ptr(dout) + u * c, (const float *)tf_ptr(x) + u * c,
                     c, mean[u], rstd[u], sw, sb);
        else
          colsum_f64((const double *)tf_ptr(dout) + u * c, (const double *)tf_ptr(x) + u * c,
                     c, mean[u], rstd[u], sw, sb);
      }
    }
    for (int64_t ch = 0; ch < c; ch++) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < nrb; k++) {
        a += cp[2 * k * c + ch];
        b += cp[2 * k * c + c + ch];
      }
      if (dweight) set1(dweight, ch, a);
      if (dbias) set1(dbias, ch, b);
    }
    free(cp);
  } else if (w.nblk == 1) {
    /* one block per unit: its sums and dx in one go */
    TF_PARALLEL_FOR(par && w.units > 1)
    for (int64_t u = 0; u < w.units; u++) {
      if (sums) sums_block(g, &w, dout, x, wt, mean[u], u, 0, &A[u], &B[u]);
      B[u] *= rstd[u];
      if (dx)
        dx_block(g, &w, dout, x, wt, mean[u], rstd[u], batch_stats ? A[u] / n : 0,
                 batch_stats ? B[u] / n : 0, dx, u, 0);
    }
  } else if (w.nblk > 1) {
    if (sums) {
      TF_PARALLEL_FOR(par && items > 1)
      for (int64_t it = 0; it < items; it++) {
        int64_t u = it / w.nblk;
        double sa = 0, sb = 0;
        sums_block(g, &w, dout, x, wt, mean[u], u, it % w.nblk, &sa, &sb);
        part[2 * it] = sa;
        part[2 * it + 1] = sb;
      }
      for (int64_t u = 0; u < w.units; u++) {
        for (int64_t b = 0; b < w.nblk; b++) {
          A[u] += part[2 * (u * w.nblk + b)];
          B[u] += part[2 * (u * w.nblk + b) + 1];
        }
        B[u] *= rstd[u];
      }
    }
    if (dx) {
      TF_PARALLEL_FOR(par && items > 1)
      for (int64_t it = 0; it < items; it++) {
        int64_t u = it / w.nblk;
        dx_block(g, &w, dout, x, wt, mean[u], rstd[u], batch_stats ? A[u] / n : 0,
                 batch_stats ? B[u] / n : 0, dx, u, it % w.nblk);
      }
    }
  }
  if ((dweight || dbias) && !rows) {
    if (g->per_channel) {
      for (int64_t c = 0; c < g->c; c++) {
        if (dweight) set1(dweight, c, B[c]);
        if (dbias) set1(dbias, c, A[c]);
      }
    } else {
      bool f32 = x->dtype == TF_FLOAT32;
      int64_t nch = (g->c + CCH - 1) / CCH;
      TF_PARALLEL_FOR(worth(g->n * g->c * g->s) && nch > 1)
      for (int64_t cb = 0; cb < nch; cb++) {
        int64_t c0 = cb * CCH, c1 = c0 + CCH < g->c ? c0 + CCH : g->c;
        double sw[CCH] = {0}, sb[CCH] = {0};
        if (f32)
          chan_grads_f32(g, &w, (const float *)tf_ptr(dout), (const float *)tf_ptr(x),
                         mean, rstd, c0, c1, sw, sb);
        else
          chan_grads_f64(g, &w, (const double *)tf_ptr(dout), (const double *)tf_ptr(x),
                         mean, rstd, c0, c1, sw, sb);
        for (int64_t c = c0; c < c1; c++) {
          if (dweight) set1(dweight, c, sw[c - c0]);
          if (dbias) set1(dbias, c, sb[c - c0]);
        }
      }
    }
  }
  free(A);
  free(B);
  free(part);
  return TF_OK;
}
