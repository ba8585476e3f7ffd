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

static inline double elem(const void *p, bool f32, int64_t i) {
  return f32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/* The channel of element i of unit u (group mode). */
static inline int64_t channel_of(const tf_norm_geom *g, const walk *w,
                                 int64_t u, int64_t i) {
  return g->per_channel ? u : (u % g->groups) * w->cg + i / g->s;
}

static bool worth(int64_t numel) { return numel >= TF_PARALLEL_GRAIN; }

/* ---- statistics -------------------------------------------------------------
 * part[3 * item]: the count, mean and M2 of block item = u * nblk + b. */
#define DEFINE_BLOCK_STATS(T, NAME)                                            \
  static void NAME(const walk *w, const T *x, int64_t u, int64_t b,            \
                   double *part) {                                             \
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;     \
    double s = 0;                                                              \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      const T *p = x + run_at(w, u, i, i1, &run);                              \
      double acc = 0;                                                          \
      for (int64_t k = 0; k < run; k++) acc += (double)p[k];                   \
      s += acc;                                                                \
    }                                                                          \
    double cnt = (double)(i1 - i0), m = s / cnt, sd = 0, sq = 0;               \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      const T *p = x + run_at(w, u, i, i1, &run);                              \
      double a1 = 0, a2 = 0;                                                   \
      for (int64_t k = 0; k < run; k++) {                                      \
        double d = (double)p[k] - m;                                           \
        a1 += d;                                                               \
        a2 += d * d;                                                           \
      }                                                                        \
      sd += a1;                                                                \
      sq += a2;                                                                \
    }                                                                          \
    /* sd is the rounding left in m: the correction keeps M2 exact to it. */   \
    part[0] = cnt;                                                             \
    part[1] = m + sd / cnt;                                                    \
    part[2] = sq - sd * sd / cnt;                                              \
  }
DEFINE_BLOCK_STATS(float, block_stats_f32)
DEFINE_BLOCK_STATS(double, block_stats_f64)

/* mean[u], var[u] (biased) of every unit; var NaN for an empty unit. */
static tf_status unit_stats(const walk *w, const tf_tensor *x, double *mean,
                            double *var) {
  int64_t items = w->units * w->nblk;
  double *part = malloc((size_t)(items ? items : 1) * 3 * sizeof *part);
  if (!part) return tf_fail(TF_ERR_MEMORY, "norm: out of memory for statistics");
  bool f32 = x->dtype == TF_FLOAT32;
  const void *xp = tf_ptr(x);
  TF_PARALLEL_FOR(worth(w->units * w->len) && items > 1)
  for (int64_t it = 0; it < items; it++) {
    if (f32)
      block_stats_f32(w, xp, it / w->nblk, it % w->nblk, part + 3 * it);
    else
      block_stats_f64(w, xp, it / w->nblk, it % w->nblk, part + 3 * it);
  }
  for (int64_t u = 0; u < w->units; u++) {
    double n = 0, m = 0, m2 = 0;
    for (int64_t b = 0; b < w->nblk; b++) {
      const double *q = part + 3 * (u * w->nblk + b);
      double nb = q[0], tot = n + nb, delta = q[1] - m;
      m += delta * (nb / tot);
      m2 += q[2] + delta * delta * (n * nb / tot);
      n = tot;
    }
    mean[u] = n > 0 ? m : NAN;
    var[u] = n > 0 ? (m2 > 0 ? m2 / n : 0) : NAN;
  }
  free(part);
  return TF_OK;
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

/* ---- forward ------------------------------------------------------------------ */
#define DEFINE_NORM_OUT(T, NAME)                                               \
  static void NAME(const tf_norm_geom *g, const walk *w, const T *x,           \
                   const T *wt, const T *bs, const double *mean,               \
                   const double *rstd, T *y, int64_t u, int64_t b) {           \
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;     \
    double m = mean[u], r = rstd[u];                                           \
    for (int64_t i = i0; i < i1; i += run) {                                   \
      int64_t off = run_at(w, u, i, i1, &run);                                 \
      const T *p = x + off;                                                    \
      T *q = y + off;                                                          \
      if (g->per_channel || g->s > 1) {                                        \
        /* runs of one channel: S elements (or the whole run) */               \
        for (int64_t k = 0; k < run;) {                                        \
          int64_t c = channel_of(g, w, u, i + k);                              \
          int64_t len = g->per_channel ? run : g->s - (i + k) % g->s;          \
          if (len > run - k) len = run - k;                                    \
          double a = wt ? r * (double)wt[c] : r, sh = bs ? (double)bs[c] : 0;  \
          for (int64_t e = k; e < k + len; e++)                                \
            q[e] = (T)(((double)p[e] - m) * a + sh);                           \
          k += len;                                                            \
        }                                                                      \
      } else {                                                                 \
        /* S == 1: the channel changes every element (layer norm) */           \
        int64_t c0 = channel_of(g, w, u, i);                                   \
        for (int64_t e = 0; e < run; e++) {                                    \
          double v = ((double)p[e] - m) * r;                                   \
          if (wt) v *= (double)wt[c0 + e];                                     \
          if (bs) v += (double)bs[c0 + e];                                     \
          q[e] = (T)v;                                                         \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }
DEFINE_NORM_OUT(float, norm_out_f32)
DEFINE_NORM_OUT(double, norm_out_f64)

tf_status tf_cpu_norm(const tf_norm_geom *g, const tf_tensor *x,
                      const tf_tensor *weight, const tf_tensor *bias,
                      double eps, bool batch_stats, double momentum,
                      tf_tensor *running_mean, tf_tensor *running_var,
                      tf_tensor *mean_t, tf_tensor *rstd_t, tf_tensor *out) {
  walk w = walk_of(g);
  double *mean = (double *)tf_ptr(mean_t), *rstd = (double *)tf_ptr(rstd_t);
  if (batch_stats) {
    double *var = malloc((size_t)(w.units ? w.units : 1) * sizeof *var);
    if (!var) return tf_fail(TF_ERR_MEMORY, "norm: out of memory for statistics");
    tf_status st = unit_stats(&w, x, mean, var);
    if (st != TF_OK) {
      free(var);
      return st;
    }
    double n = (double)w.len;
    for (int64_t u = 0; u < w.units; u++) {
      rstd[u] = 1.0 / sqrt(var[u] + eps);
      if (running_mean && w.len > 0)
        set1(running_mean, u, (1 - momentum) * get1(running_mean, u) + momentum * mean[u]);
      if (running_var && w.len > 0)
        set1(running_var, u, (1 - momentum) * get1(running_var, u) +
                                 momentum * var[u] * n / (n - 1));
    }
    free(var);
  } else {
    for (int64_t u = 0; u < w.units; u++) {
      mean[u] = get1(running_mean, u);
      rstd[u] = 1.0 / sqrt(get1(running_var, u) + eps);
    }
  }
  int64_t items = w.units * w.nblk;
  bool f32 = x->dtype == TF_FLOAT32;
  const void *wt = weight ? tf_ptr(weight) : NULL, *bs = bias ? tf_ptr(bias) : NULL;
  const void *xp = tf_ptr(x);
  void *yp = tf_ptr(out);
  TF_PARALLEL_FOR(worth(w.units * w.len) && items > 1)
  for (int64_t it = 0; it < items; it++) {
    if (f32)
      norm_out_f32(g, &w, xp, wt, bs, mean, rstd, yp, it / w.nblk, it % w.nblk);
    else
      norm_out_f64(g, &w, xp, wt, bs, mean, rstd, yp, it / w.nblk, it % w.nblk);
  }
  return TF_OK;
}

/* ---- backward ------------------------------------------------------------------
 * With gw = dout * weight and xhat = (x - mean) * rstd, per unit of n
 * elements: A = sum gw, B = sum gw * xhat, and
 *   dx = rstd * (gw - A / n - xhat * B / n)   (statistics from x)
 *   dx = rstd * gw                            (given statistics)
 * dweight[c] = sum dout * xhat, dbias[c] = sum dout over c's elements. */
static tf_status unit_sums(const tf_norm_geom *g, const walk *w,
                           const tf_tensor *dout, const tf_tensor *x,
                           const tf_tensor *weight, const double *mean,
                           const double *rstd, bool with_weight, double *A,
                           double *B) {
  int64_t items = w->units * w->nblk;
  double *part = malloc((size_t)(items ? items : 1) * 2 * sizeof *part);
  if (!part) return tf_fail(TF_ERR_MEMORY, "norm: out of memory for the backward");
  bool f32 = x->dtype == TF_FLOAT32;
  const void *xp = tf_ptr(x), *gp = tf_ptr(dout);
  const void *wt = weight && with_weight ? tf_ptr(weight) : NULL;
  TF_PARALLEL_FOR(worth(w->units * w->len) && items > 1)
  for (int64_t it = 0; it < items; it++) {
    int64_t u = it / w->nblk, b = it % w->nblk;
    int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;
    double m = mean[u], sa = 0, sb = 0;
    for (int64_t i = i0; i < i1; i += run) {
      int64_t off = run_at(w, u, i, i1, &run);
      double a1 = 0, a2 = 0;
      if (!wt || g->per_channel) {
        for (int64_t k = 0; k < run; k++) {
          double gv = elem(gp, f32, off + k);
          a1 += gv;
          a2 += gv * (elem(xp, f32, off + k) - m);
        }
      } else {
        for (int64_t k = 0; k < run; k++) {
          double gv = elem(gp, f32, off + k) * elem(wt, f32, channel_of(g, w, u, i + k));
          a1 += gv;
          a2 += gv * (elem(xp, f32, off + k) - m);
        }
      }
      sa += a1;
      sb += a2;
    }
    part[2 * it] = sa;
    part[2 * it + 1] = sb;
  }
  for (int64_t u = 0; u < w->units; u++) {
    double sa = 0, sb = 0;
    for (int64_t b = 0; b < w->nblk; b++) {
      sa += part[2 * (u * w->nblk + b)];
      sb += part[2 * (u * w->nblk + b) + 1];
    }
    A[u] = sa;
    B[u] = sb * rstd[u];
  }
  free(part);
  return TF_OK;
}

static void dx_block(const tf_norm_geom *g, const walk *w, const tf_tensor *dout,
                     const tf_tensor *x, const tf_tensor *weight,
                     const double *mean, const double *rstd, const double *A,
                     const double *B, bool batch_stats, tf_tensor *dx,
                     int64_t u, int64_t b) {
  bool f32 = x->dtype == TF_FLOAT32;
  const void *xp = tf_ptr(x), *gp = tf_ptr(dout), *wt = weight ? tf_ptr(weight) : NULL;
  void *dp = tf_ptr(dx);
  int64_t i0 = b * BLK, i1 = i0 + BLK < w->len ? i0 + BLK : w->len, run;
  double m = mean[u], r = rstd[u], n = (double)w->len;
  double ma = batch_stats ? A[u] / n : 0, mb = batch_stats ? B[u] / n : 0;
  for (int64_t i = i0; i < i1; i += run) {
    int64_t off = run_at(w, u, i, i1, &run);
    if (g->per_channel) {
      /* dx = w r (g - A/n - xhat B/n): A, B summed without the weight */
      double wc = wt ? elem(wt, f32, u) : 1.0, s = wc * r, t = mb * r;
      if (f32) {
        const float *xs = (const float *)xp + off, *gs = (const float *)gp + off;
        float *d = (float *)dp + off;
        for (int64_t k = 0; k < run; k++)
          d[k] = (float)(s * ((double)gs[k] - ma - ((double)xs[k] - m) * t));
      } else {
        const double *xs = (const double *)xp + off, *gs = (const double *)gp + off;
        double *d = (double *)dp + off;
        for (int64_t k = 0; k < run; k++)
          d[k] = s * (gs[k] - ma - (xs[k] - m) * t);
      }
    } else {
      for (int64_t k = 0; k < run; k++) {
        double gv = elem(gp, f32, off + k);
        if (wt) gv *= elem(wt, f32, channel_of(g, w, u, i + k));
        double v = r * (gv - ma - (elem(xp, f32, off + k) - m) * r * mb);
        if (f32)
          ((float *)dp)[off + k] = (float)v;
        else
          ((double *)dp)[off + k] = v;
      }
    }
  }
}

/* dweight / dbias of group and layer norm: channel blocks of CCH, each
 * summed over n (and s) in order. */
static void channel_grads(const tf_norm_geom *g, const walk *w,
                          const tf_tensor *dout, const tf_tensor *x,
                          const double *mean, const double *rstd,
                          tf_tensor *dweight, tf_tensor *dbias) {
  bool f32 = x->dtype == TF_FLOAT32;
  const void *xp = tf_ptr(x), *gp = tf_ptr(dout);
  int64_t nch = (g->c + CCH - 1) / CCH;
  TF_PARALLEL_FOR(worth(g->n * g->c * g->s) && nch > 1)
  for (int64_t cb = 0; cb < nch; cb++) {
    int64_t c0 = cb * CCH, c1 = c0 + CCH < g->c ? c0 + CCH : g->c;
    double sw[CCH], sb[CCH];
    for (int64_t c = c0; c < c1; c++) sw[c - c0] = sb[c - c0] = 0;
    for (int64_t n = 0; n < g->n; n++) {
      for (int64_t c = c0; c < c1; c++) {
        int64_t u = n * g->groups + c / w->cg;
        double m = mean[u], r = rstd[u], a1 = 0, a2 = 0;
        int64_t base = (n * g->c + c) * g->s;
        for (int64_t s = 0; s < g->s; s++) {
          double gv = elem(gp, f32, base + s);
          a1 += gv;
          a2 += gv * (elem(xp, f32, base + s) - m);
        }
        sb[c - c0] += a1;
        sw[c - c0] += a2 * r;
      }
    }
    for (int64_t c = c0; c < c1; c++) {
      if (dweight) set1(dweight, c, sw[c - c0]);
      if (dbias) set1(dbias, c, sb[c - c0]);
    }
  }
}

tf_status tf_cpu_norm_backward(const tf_norm_geom *g, const tf_tensor *dout,
                               const tf_tensor *x, const tf_tensor *weight,
                               const tf_tensor *mean_t, const tf_tensor *rstd_t,
                               bool batch_stats, tf_tensor *dx,
                               tf_tensor *dweight, tf_tensor *dbias) {
  walk w = walk_of(g);
  const double *mean = (const double *)tf_ptr(mean_t);
  const double *rstd = (const double *)tf_ptr(rstd_t);
  size_t nu = (size_t)(w.units ? w.units : 1);
  double *A = malloc(nu * sizeof *A), *B = malloc(nu * sizeof *B);
  tf_status st = TF_OK;
  if (!A || !B) st = tf_fail(TF_ERR_MEMORY, "norm: out of memory for the backward");
  /* per channel the sums are dbias and dweight as well; else dx needs them
   * with the weight inside */
  bool sums = g->per_channel ? (dx && batch_stats) || dweight || dbias
                             : dx && batch_stats;
  if (st == TF_OK && sums)
    st = unit_sums(g, &w, dout, x, weight, mean, rstd, true, A, B);
  if (st == TF_OK && dx) {
    int64_t items = w.units * w.nblk;
    TF_PARALLEL_FOR(worth(w.units * w.len) && items > 1)
    for (int64_t it = 0; it < items; it++)
      dx_block(g, &w, dout, x, weight, mean, rstd, A, B, batch_stats, dx,
               it / w.nblk, it % w.nblk);
  }
  if (st == TF_OK && (dweight || dbias)) {
    if (g->per_channel) {
      for (int64_t c = 0; c < g->c; c++) {
        if (dweight) set1(dweight, c, B[c]);
        if (dbias) set1(dbias, c, A[c]);
      }
    } else {
      channel_grads(g, &w, dout, x, mean, rstd, dweight, dbias);
    }
  }
  free(A);
  free(B);
  return st;
}
