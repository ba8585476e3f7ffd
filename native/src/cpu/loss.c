/* loss.c: the cpu's fused loss kernels: cross-entropy over class logits and
 * binary cross-entropy with logits, forward and backward (the entry points,
 * with every argument check, are ops/loss.c).
 *
 * Numerics. Every row / element is computed in double (float32 inputs are
 * widened, the result rounded once).
 *  - cross-entropy: with m the row's max, reached at class j, and s' the sum
 *    of exp(x_c - m) over the other classes, logsumexp - x_c = (m - x_c) +
 *    log1p(s'): two non-negative terms, so no cancellation and no overflow
 *    at logits of +-1e30 (and log1p keeps the tiny loss of a confident, right
 *    prediction). The gradient's p_y - 1 at the target class is -s'/(1 + s')
 *    when y is the max (j is chosen to be y then), never 1 - p computed by
 *    subtraction.
 *  - BCE with logits: (1 - y) x + L log1p(exp(-x)) for x >= 0 and
 *    -pw y x + L log1p(exp(x)) for x < 0, L = (1 - y) + pw y: the two forms
 *    of (1 - y) x + L softplus(-x) in which exp never overflows; the
 *    gradient (1 - y) sigmoid(x) - pw y sigmoid(-x) from the same exp.
 * float32 rows of unit class stride and contiguous BCE operands take loops
 * the compiler vectorizes, with e^x from tf_exp_poly (fast_math.h, relative
 * error < 3e-10) and log1p by a series (< 2e-14): still far below float32's
 * half ULP, so the float32 results keep their rounding-once accuracy.
 * Parallel over rows / fixed blocks of elements; a sum (reduction mean or
 * sum) adds per-block partial sums in block order with Neumaier's
 * compensation, so the bits never depend on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "../backend.h"
#include "fast_math.h" /* tf_exp_poly, TF_SIMD_CLONES */

enum { LOSS_BLOCK = 2048 }; /* elements per block (BCE); CE: ce_block_rows */

/* Neumaier's compensated sum; an infinite or NaN total is kept as it is
 * (its compensation would be NaN). */
typedef struct {
  double s, c;
} nsum;
static inline void nsum_add(nsum *a, double v) {
  double t = a->s + v;
  if (isfinite(t)) {
    if (fabs(a->s) >= fabs(v))
      a->c += (a->s - t) + v;
    else
      a->c += (v - t) + a->s;
  }
  a->s = t;
}
static inline double nsum_value(nsum a) {
  return isfinite(a.s) ? a.s + a.c : a.s;
}

/* The offset of multi-index r (over shape, nd dims, C order) with strides. */
static inline int64_t offset_of(int64_t r, int nd, const int64_t *shape,
                                const int64_t *strides) {
  int64_t off = 0;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t q = r / shape[d];
    off += (r - q * shape[d]) * strides[d];
    r = q;
  }
  return off;
}

static inline double load(const char *base, int64_t i, tf_dtype dt) {
  return dt == TF_FLOAT32 ? (double)((const float *)base)[i]
                          : ((const double *)base)[i];
}
static inline void store(char *base, int64_t i, tf_dtype dt, double v) {
  if (dt == TF_FLOAT32)
    ((float *)base)[i] = (float)v;
  else
    ((double *)base)[i] = v;
}

/* ---- cross-entropy ---------------------------------------------------------- */
/* The index targets, read once into private memory and checked: NULL with
 * an error when out of memory or a value is out of range. */
static tf_status snapshot_targets(const tf_ce_plan *p, const tf_tensor *t,
                                  const char *op, int64_t **out) {
  int64_t *v = malloc(sizeof(int64_t) * (size_t)(p->rows ? p->rows : 1));
  if (!v) return tf_fail(TF_ERR_MEMORY, "%s: out of memory", op);
  const int64_t *base = (const int64_t *)tf_ptr(t);
  for (int64_t r = 0; r < p->rows; r++) {
    int64_t y = base[offset_of(r, p->row_ndim, p->row_shape, p->t_rs)];
    if (y != p->ignore_index && (y < 0 || y >= p->classes)) {
      free(v);
      return tf_fail(TF_ERR_INDEX,
                     "%s: target %lld is out of bounds for %lld classes "
                     "(valid: 0 to %lld, or ignore_index %lld)",
                     op, (long long)y, (long long)p->classes,
                     (long long)p->classes - 1, (long long)p->ignore_index);
    }
    v[r] = y;
  }
  *out = v;
  return TF_OK;
}

/* One row's shape of the softmax: the max m, the class j it is taken at
 * (the target's when the target reaches it), s' = sum over c != j of
 * exp(x_c - m). */
typedef struct {
  double m, rest;
  int64_t j;
} row_lse;

/* float32 rows of unit class stride: the same quantities, with the max
 * and the sums over LANES independent lanes the compiler vectorizes (a fixed
 * order, so the bits do not depend on anything but the row) and e^x from
 * tf_exp_poly (relative error < 3e-10, far below float32's half ULP).
 * Rows whose max is not finite are left to the exact path (r.m NaN or inf). */
enum { LANES = 8 };
/* sum of e^(x_c - m) over n floats, in LANES lanes then the tail */
TF_SIMD_CLONES static double sum_exp_f32(const float *x, int64_t n, double m) {
  double acc[LANES] = {0};
  int64_t c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int k = 0; k < LANES; k++) acc[k] += tf_exp_poly((double)x[c + k] - m);
  double s = 0.0;
  for (int k = 0; k < LANES; k++) s += acc[k];
  for (; c < n; c++) s += tf_exp_poly((double)x[c] - m);
  return s;
}

/* max of n floats (-inf for none); *nan set when one is NaN or infinite
 * (v * 0 is NaN for both: such rows take the exact path, which handles
 * them), with comparisons and sums the compiler vectorizes */
TF_SIMD_CLONES static float max_f32(const float *x, int64_t n, int *nan) {
  float mx[LANES], z[LANES];
  for (int k = 0; k < LANES; k++) mx[k] = -INFINITY, z[k] = 0.0f;
  int64_t c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int k = 0; k < LANES; k++) {
      float v = x[c + k];
      z[k] += v * 0.0f;
      mx[k] = v > mx[k] ? v : mx[k];
    }
  float m = -INFINITY, zs = 0.0f;
  for (int k = 0; k < LANES; k++) zs += z[k], m = mx[k] > m ? mx[k] : m;
  for (; c < n; c++) zs += x[c] * 0.0f, m = x[c] > m ? x[c] : m;
  *nan = zs != zs;
  return m;
}

static row_lse lse_f32(const float *x, int64_t n, int64_t y) {
  int nan;
  float m = max_f32(x, n, &nan);
  row_lse r = {nan ? NAN : (double)m, 0.0, 0};
  if (nan || !isfinite(m)) return r;
  if (y >= 0 && x[y] == m)
    r.j = y;
  else
    while (x[r.j] != m) r.j++;
  /* the classes before and after j: s' without class j */
  r.rest = sum_exp_f32(x, r.j, r.m) + sum_exp_f32(x + r.j + 1, n - r.j - 1, r.m);
  return r;
}

static inline row_lse lse_of(const char *x, int64_t cs, int64_t classes,
                             tf_dtype dt, int64_t y) {
  if (dt == TF_FLOAT32 && cs == 1) {
    row_lse f = lse_f32((const float *)x, classes, y);
    if (isfinite(f.m)) return f;
  }
  row_lse r = {-INFINITY, 0.0, 0};
  bool nan = false;
  for (int64_t c = 0; c < classes; c++) {
    double v = load(x, c * cs, dt);
    if (v != v) nan = true;
    if (v > r.m) r.m = v, r.j = c;
  }
  /* a row holding NaN, or +inf (logsumexp - x is inf - inf), gives NaN:
   * PyTorch's convention for log_softmax and cross-entropy */
  if (nan || r.m == INFINITY) {
    r.m = NAN;
    r.rest = NAN;
    return r;
  }
  if (y >= 0 && load(x, y * cs, dt) == r.m) r.j = y;
  double s = 0.0;
  for (int64_t c = 0; c < classes; c++)
    if (c != r.j) s += exp(load(x, c * cs, dt) - r.m);
  r.rest = s;
  return r;
}

static inline double weight_at(const char *w, int64_t s, int64_t c, tf_dtype dt) {
  return w ? load(w, c * s, dt) : 1.0;
}

/* The loss of row r and its share of mean's denominator. */
static inline double ce_row(const tf_ce_plan *p, const char *x, const char *t,
                            const int64_t *yv, const char *w, tf_dtype dt,
                            int64_t r, double *den) {
  const char *xr = x + offset_of(r, p->row_ndim, p->row_shape, p->x_rs) *
                           (int64_t)tf_dtype_size(dt);
  const double eps = p->smoothing, C = (double)p->classes;
  if (p->prob) {
    const char *tr = t + offset_of(r, p->row_ndim, p->row_shape, p->t_rs) *
                             (int64_t)tf_dtype_size(dt);
    row_lse l = lse_of(xr, p->x_cs, p->classes, dt, -1);
    double L = log1p(l.rest), loss = 0.0;
    for (int64_t c = 0; c < p->classes; c++) {
      double tc = (1.0 - eps) * load(tr, c * p->t_cs, dt) + eps / C;
      loss += weight_at(w, p->w_s, c, dt) * tc *
              ((l.m - load(xr, c * p->x_cs, dt)) + L);
    }
    *den = 1.0;
    return loss;
  }
  int64_t y = yv[r];
  if (y == p->ignore_index) {
    *den = 0.0;
    return 0.0;
  }
  double wy = weight_at(w, p->w_s, y, dt);
  *den = wy;
  row_lse l = lse_of(xr, p->x_cs, p->classes, dt, y);
  double L = log1p(l.rest);
  double loss = wy * ((l.m - load(xr, y * p->x_cs, dt)) + L);
  if (eps > 0) {
    double smooth = 0.0;
    for (int64_t c = 0; c < p->classes; c++)
      smooth += weight_at(w, p->w_s, c, dt) * ((l.m - load(xr, c * p->x_cs, dt)) + L);
    loss = (1.0 - eps) * loss + eps / C * smooth;
  }
  return loss;
}

static double weight_sum(const tf_ce_plan *p, const char *w, tf_dtype dt) {
  double s = 0.0;
  for (int64_t c = 0; c < p->classes; c++) s += weight_at(w, p->w_s, c, dt);
  return s;
}

/* Rows per block of the reduction: about LOSS_BLOCK * 8 logits, so that
 * wide rows still split into blocks; it depends on the shape only, never on
 * the threads. */
static int64_t ce_block_rows(const tf_ce_plan *p) {
  int64_t per = (int64_t)LOSS_BLOCK * 8 / (p->classes > 0 ? p->classes : 1);
  return per < 1 ? 1 : per > LOSS_BLOCK ? LOSS_BLOCK : per;
}

tf_status tf_cpu_cross_entropy(const tf_ce_plan *p, const tf_tensor *x,
                               const tf_tensor *target, const tf_tensor *weight,
                               tf_tensor *out) {
  int64_t *yv = NULL;
  if (!p->prob) TF_TRY(snapshot_targets(p, target, "cross_entropy", &yv));
  tf_dtype dt = x->dtype;
  const char *xb = tf_ptr(x), *tb = p->prob ? tf_ptr(target) : NULL;
  const char *wb = weight ? tf_ptr(weight) : NULL;
  char *ob = tf_ptr(out);
  bool worth = (double)p->rows * (double)p->classes >= TF_PARALLEL_GRAIN;
  if (p->reduction == TF_REDUCTION_NONE) {
    TF_PARALLEL_FOR(worth)
    for (int64_t r = 0; r < p->rows; r++) {
      double den;
      double v = ce_row(p, xb, tb, yv, wb, dt, r, &den);
      store(ob, offset_of(r, p->row_ndim, p->row_shape, p->o_rs), dt, v);
    }
    free(yv);
    return TF_OK;
  }
  const int64_t rb = ce_block_rows(p);
  int64_t nblocks = (p->rows + rb - 1) / rb;
  nsum *part = calloc((size_t)(nblocks ? nblocks : 1) * 2, sizeof(nsum));
  if (!part) {
    free(yv);
    return tf_fail(TF_ERR_MEMORY, "cross_entropy: out of memory");
  }
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    nsum ls = {0, 0}, ds = {0, 0};
    int64_t end = (b + 1) * rb < p->rows ? (b + 1) * rb : p->rows;
    for (int64_t r = b * rb; r < end; r++) {
      double den;
      nsum_add(&ls, ce_row(p, xb, tb, yv, wb, dt, r, &den));
      nsum_add(&ds, den);
    }
    part[2 * b] = ls, part[2 * b + 1] = ds;
  }
  nsum ls = {0, 0}, ds = {0, 0};
  for (int64_t b = 0; b < nblocks; b++) {
    nsum_add(&ls, nsum_value(part[2 * b]));
    nsum_add(&ds, nsum_value(part[2 * b + 1]));
  }
  free(part);
  free(yv);
  double total = nsum_value(ls);
  /* mean of nothing (every target ignored, or no rows) is 0 / 0 = NaN, as
   * in PyTorch */
  store(ob, 0, dt, p->reduction == TF_REDUCTION_SUM ? total : total / nsum_value(ds));
  return TF_OK;
}

/* mean's denominator, as the forward sums it (the same blocks). */
static double ce_denominator(const tf_ce_plan *p, const int64_t *yv,
                             const char *w, tf_dtype dt) {
  if (p->prob) return (double)p->rows;
  nsum total = {0, 0};
  const int64_t rb = ce_block_rows(p);
  for (int64_t b = 0; b * rb < p->rows; b++) {
    nsum ds = {0, 0};
    int64_t end = (b + 1) * rb < p->rows ? (b + 1) * rb : p->rows;
    for (int64_t r = b * rb; r < end; r++)
      if (yv[r] != p->ignore_index) nsum_add(&ds, weight_at(w, p->w_s, yv[r], dt));
    nsum_add(&total, nsum_value(ds));
  }
  return nsum_value(total);
}

/* d_c = g ((1 - eps) w_y (p_c - [c == y]) + eps / C (W p_c - w_c)) of one
 * float32 row of unit strides: every class in a loop the compiler
 * vectorizes (tf_exp_poly), then the target class again with p_y - 1 in
 * its accurate form. */
TF_SIMD_CLONES static void ce_grad_row_f32(const tf_ce_plan *p, const float *x,
                                           float *d, const float *w, row_lse l,
                                           int64_t y, double wy, double wsum,
                                           double g) {
  const double eps = p->smoothing, C = (double)p->classes;
  const double a = (1.0 - eps) * wy, b = eps / C, inv = 1.0 / (1.0 + l.rest);
  const double m = l.m;
  const int64_t n = p->classes, ws = p->w_s;
  if (eps > 0)
    for (int64_t c = 0; c < n; c++) {
      double pc = tf_exp_poly((double)x[c] - m) * inv;
      double wc = w ? (double)w[c * ws] : 1.0;
      d[c] = (float)(g * (a * pc + b * (wsum * pc - wc)));
    }
  else
    for (int64_t c = 0; c < n; c++)
      d[c] = (float)(g * (a * (tf_exp_poly((double)x[c] - m) * inv)));
  double py = y == l.j ? inv : tf_exp_poly((double)x[y] - m) * inv;
  double hit = y == l.j ? -(l.rest * inv) : py - 1.0;
  d[y] = (float)(g * (a * hit + b * (wsum * py - wy)));
}

tf_status tf_cpu_cross_entropy_backward(const tf_ce_plan *p,
                                        const tf_tensor *grad,
                                        const tf_tensor *x,
                                        const tf_tensor *target,
                                        const tf_tensor *weight, tf_tensor *dx) {
  int64_t *yv = NULL;
  if (!p->prob) TF_TRY(snapshot_targets(p, target, "cross_entropy_backward", &yv));
  tf_dtype dt = x->dtype;
  size_t es = tf_dtype_size(dt);
  const char *xb = tf_ptr(x), *tb = p->prob ? tf_ptr(target) : NULL;
  const char *wb = weight ? tf_ptr(weight) : NULL, *gb = tf_ptr(grad);
  char *db = tf_ptr(dx);
  const double eps = p->smoothing, C = (double)p->classes;
  double wsum = weight_sum(p, wb, dt);
  double gscale = 1.0;
  if (p->reduction != TF_REDUCTION_NONE) {
    gscale = load(gb, 0, dt);
    if (p->reduction == TF_REDUCTION_MEAN) gscale /= ce_denominator(p, yv, wb, dt);
  }
  bool worth = (double)p->rows * (double)p->classes >= TF_PARALLEL_GRAIN;
  TF_PARALLEL_FOR(worth)
  for (int64_t r = 0; r < p->rows; r++) {
    const char *xr = xb + offset_of(r, p->row_ndim, p->row_shape, p->x_rs) * (int64_t)es;
    char *dr = db + offset_of(r, p->row_ndim, p->row_shape, p->d_rs) * (int64_t)es;
    double g = p->reduction == TF_REDUCTION_NONE
                   ? load(gb, offset_of(r, p->row_ndim, p->row_shape, p->g_rs), dt)
                   : gscale;
    if (p->prob) {
      const char *tr = tb + offset_of(r, p->row_ndim, p->row_shape, p->t_rs) * (int64_t)es;
      row_lse l = lse_of(xr, p->x_cs, p->classes, dt, -1);
      double total = 1.0 + l.rest, T = 0.0, rest_j = 0.0;
      for (int64_t c = 0; c < p->classes; c++) {
        double b = weight_at(wb, p->w_s, c, dt) *
                   ((1.0 - eps) * load(tr, c * p->t_cs, dt) + eps / C);
        T += b;
        if (c != l.j) rest_j += b;
      }
      for (int64_t c = 0; c < p->classes; c++) {
        double d;
        if (c == l.j) /* T p_j - b_j = T (p_j - 1) + (T - b_j) */
          d = rest_j - T * (l.rest / total);
        else
          d = T * (exp(load(xr, c * p->x_cs, dt) - l.m) / total) -
              weight_at(wb, p->w_s, c, dt) *
                  ((1.0 - eps) * load(tr, c * p->t_cs, dt) + eps / C);
        store(dr, c * p->d_cs, dt, g * d);
      }
      continue;
    }
    int64_t y = yv[r];
    if (y == p->ignore_index) {
      for (int64_t c = 0; c < p->classes; c++) store(dr, c * p->d_cs, dt, 0.0);
      continue;
    }
    double wy = weight_at(wb, p->w_s, y, dt);
    row_lse l = lse_of(xr, p->x_cs, p->classes, dt, y);
    double total = 1.0 + l.rest;
    if (dt == TF_FLOAT32 && p->x_cs == 1 && p->d_cs == 1 && isfinite(l.m)) {
      ce_grad_row_f32(p, (const float *)xr, (float *)dr, (const float *)wb, l, y, wy,
                      wsum, g);
      continue;
    }
    for (int64_t c = 0; c < p->classes; c++) {
      double pc = c == l.j ? 1.0 / total : exp(load(xr, c * p->x_cs, dt) - l.m) / total;
      /* p_c - [c == y], with p_y - 1 = -s' / (1 + s') when y is the max */
      double hit = c != y ? pc : (c == l.j ? -(l.rest / total) : pc - 1.0);
      double d = wy * hit;
      if (eps > 0)
        d = (1.0 - eps) * d + eps / C * (wsum * pc - weight_at(wb, p->w_s, c, dt));
      store(dr, c * p->d_cs, dt, g * d);
    }
  }
  free(yv);
  return TF_OK;
}

/* ---- binary cross-entropy with logits ----------------------------------------- */
/* A walk over x's shape in C order from element `start`, keeping the offset
 * of each of the five operands (x, target, weight, pos_weight, grad). */
enum { W_X, W_T, W_W, W_PW, W_G, W_N };
typedef struct {
  const int64_t *st[W_N];
  int64_t idx[TF_MAX_DIMS];
  int64_t off[W_N];
} bce_walk;

static void walk_at(const tf_bce_plan *p, bce_walk *w, int64_t start) {
  w->st[W_X] = p->x_s, w->st[W_T] = p->t_s, w->st[W_W] = p->w_s;
  w->st[W_PW] = p->pw_s, w->st[W_G] = p->g_s;
  for (int k = 0; k < W_N; k++) w->off[k] = 0;
  for (int d = p->ndim - 1; d >= 0; d--) {
    int64_t q = start / p->shape[d];
    w->idx[d] = start - q * p->shape[d];
    for (int k = 0; k < W_N; k++) w->off[k] += w->idx[d] * w->st[k][d];
    start = q;
  }
}

static inline void walk_next(const tf_bce_plan *p, bce_walk *w) {
  for (int d = p->ndim - 1; d >= 0; d--) {
    for (int k = 0; k < W_N; k++) w->off[k] += w->st[k][d];
    if (++w->idx[d] < p->shape[d]) return;
    for (int k = 0; k < W_N; k++) w->off[k] -= p->shape[d] * w->st[k][d];
    w->idx[d] = 0;
  }
}

/* log(1 + e) for e in [0, 1] as 2 artanh(z), z = e / (2 + e) <= 1/3, by
 * its series to z^27: relative error below 2e-14, for the float32 path. */
static inline double log1p_unit(double e) {
  double z = e / (2.0 + e), z2 = z * z, q = 1.0 / 27;
  q = q * z2 + 1.0 / 25, q = q * z2 + 1.0 / 23, q = q * z2 + 1.0 / 21;
  q = q * z2 + 1.0 / 19, q = q * z2 + 1.0 / 17, q = q * z2 + 1.0 / 15;
  q = q * z2 + 1.0 / 13, q = q * z2 + 1.0 / 11, q = q * z2 + 1.0 / 9;
  q = q * z2 + 1.0 / 7, q = q * z2 + 1.0 / 5, q = q * z2 + 1.0 / 3;
  q = q * z2 + 1.0;
  return 2.0 * z * q;
}

/* The loss of one element, exactly (float64). */
static inline double bce_elem(double x, double y, double pw, bool has_pw) {
  double L = has_pw ? (1.0 - y) + pw * y : 1.0;
  if (x >= 0) return (1.0 - y) * x + L * log1p(exp(-x));
  return -(has_pw ? pw * y : y) * x + L * log1p(exp(x));
}

/* Its derivative (1 - y) sigmoid(x) - pw y sigmoid(-x) over (1 + e). */
static inline double bce_delem(double x, double y, double pw) {
  if (x >= 0) {
    double e = exp(-x);
    return ((1.0 - y) - pw * y * e) / (1.0 + e);
  }
  double e = exp(x);
  return ((1.0 - y) * e - pw * y) / (1.0 + e);
}

/* The same two for a chunk of float32 inputs (widened to double), branch
 * free so the compiler vectorizes them: e = e^-|x| by tf_exp_poly, whose
 * clamp at -708 leaves ~1e-308 where e underflows, below float32's range.
 * The loss without pos_weight keeps L = 1 exactly. */
enum { CHUNK = 256 };
TF_SIMD_CLONES static void bce_loss_f32(int64_t n, const double *x, const double *y,
                                        double *out) {
  for (int64_t i = 0; i < n; i++) {
    double xi = x[i], yi = y[i];
    double lin = xi >= 0 ? (1.0 - yi) * xi : -yi * xi;
    out[i] = lin + log1p_unit(tf_exp_poly(-fabs(xi)));
  }
}
TF_SIMD_CLONES static void bce_loss_pw_f32(int64_t n, const double *x, const double *y,
                                           const double *pw, double *out) {
  for (int64_t i = 0; i < n; i++) {
    double xi = x[i], yi = y[i], P = pw[i];
    double lin = xi >= 0 ? (1.0 - yi) * xi : -(P * yi) * xi;
    out[i] = lin + ((1.0 - yi) + P * yi) * log1p_unit(tf_exp_poly(-fabs(xi)));
  }
}
TF_SIMD_CLONES static void bce_grad_f32(int64_t n, const double *x, const double *y,
                                        const double *pw, double *out) {
  for (int64_t i = 0; i < n; i++) {
    double xi = x[i], yi = y[i], P = pw[i];
    double e = tf_exp_poly(-fabs(xi));
    double num = xi >= 0 ? (1.0 - yi) - P * yi * e : (1.0 - yi) * e - P * yi;
    out[i] = num / (1.0 + e);
  }
}

/* Elements [begin, end) of the loss (grad false) or of its x-derivative,
 * times the weight, into v; g: the upstream gradient's pointer (reduction
 * none) or NULL, then scale multiplies. */
static void bce_block(const tf_bce_plan *p, tf_dtype dt, const char *xb, const char *tb,
                      const char *wb, const char *pb, const char *gb, double scale,
                      bool grad, int64_t begin, int64_t end, double *v) {
  bce_walk w;
  walk_at(p, &w, begin);
  double xs[CHUNK], ys[CHUNK], ps[CHUNK], r[CHUNK];
  /* float32 x and target in C order, nothing else to read: no walk */
  bool dense = dt == TF_FLOAT32 && p->dense && !wb && !pb && !gb;
  for (int64_t c0 = begin; c0 < end; c0 += CHUNK) {
    int64_t n = end - c0 < CHUNK ? end - c0 : CHUNK;
    if (dense) {
      const float *xf = (const float *)xb + c0, *tf = (const float *)tb + c0;
      for (int64_t i = 0; i < n; i++) xs[i] = xf[i], ys[i] = tf[i], ps[i] = 1.0;
      if (grad)
        bce_grad_f32(n, xs, ys, ps, r);
      else
        bce_loss_f32(n, xs, ys, r);
      for (int64_t i = 0; i < n; i++) v[c0 - begin + i] = r[i] * scale;
      continue;
    }
    bce_walk w0 = w;
    for (int64_t i = 0; i < n; i++, walk_next(p, &w)) {
      xs[i] = load(xb, w.off[W_X], dt);
      ys[i] = load(tb, w.off[W_T], dt);
      ps[i] = pb ? load(pb, w.off[W_PW], dt) : 1.0;
    }
    if (dt == TF_FLOAT32 && grad)
      bce_grad_f32(n, xs, ys, ps, r);
    else if (dt == TF_FLOAT32)
      (pb ? bce_loss_pw_f32(n, xs, ys, ps, r) : bce_loss_f32(n, xs, ys, r));
    else
      for (int64_t i = 0; i < n; i++)
        r[i] = grad ? bce_delem(xs[i], ys[i], ps[i]) : bce_elem(xs[i], ys[i], ps[i], pb != NULL);
    w = w0;
    for (int64_t i = 0; i < n; i++, walk_next(p, &w)) {
      double f = r[i];
      if (wb) f *= load(wb, w.off[W_W], dt);
      if (gb) f *= load(gb, w.off[W_G], dt);
      v[c0 - begin + i] = f * scale;
    }
  }
}

tf_status tf_cpu_bce_with_logits(const tf_bce_plan *p, const tf_tensor *x,
                                 const tf_tensor *target,
                                 const tf_tensor *weight,
                                 const tf_tensor *pos_weight, tf_tensor *out) {
  tf_dtype dt = x->dtype;
  const char *xb = tf_ptr(x), *tb = tf_ptr(target);
  const char *wb = weight ? tf_ptr(weight) : NULL;
  const char *pb = pos_weight ? tf_ptr(pos_weight) : NULL;
  char *ob = tf_ptr(out);
  int64_t nblocks = (p->numel + LOSS_BLOCK - 1) / LOSS_BLOCK;
  bool reduce = p->reduction != TF_REDUCTION_NONE;
  nsum *part = NULL;
  if (reduce) {
    part = calloc((size_t)(nblocks ? nblocks : 1), sizeof(nsum));
    if (!part)
      return tf_fail(TF_ERR_MEMORY, "binary_cross_entropy_with_logits: out of memory");
  }
  bool worth = p->numel >= TF_PARALLEL_GRAIN / 4;
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    int64_t begin = b * LOSS_BLOCK;
    int64_t end = begin + LOSS_BLOCK < p->numel ? begin + LOSS_BLOCK : p->numel;
    double v[LOSS_BLOCK];
    bce_block(p, dt, xb, tb, wb, pb, NULL, 1.0, false, begin, end, v);
    if (reduce && dt == TF_FLOAT32) {
      /* float32 losses: a double sum in LANES fixed lanes is far below
       * float32's rounding; float64 keeps the compensated sum */
      double acc[LANES] = {0};
      int64_t n = end - begin, i = 0;
      for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += v[i + k];
      nsum s = {0, 0};
      for (; i < n; i++) nsum_add(&s, v[i]);
      for (int k = 0; k < LANES; k++) nsum_add(&s, acc[k]);
      part[b] = s;
    } else if (reduce) {
      nsum s = {0, 0};
      for (int64_t i = 0; i < end - begin; i++) nsum_add(&s, v[i]);
      part[b] = s;
    } else {
      for (int64_t i = 0; i < end - begin; i++) store(ob, begin + i, dt, v[i]);
    }
  }
  if (reduce) {
    nsum s = {0, 0};
    for (int64_t b = 0; b < nblocks; b++) nsum_add(&s, nsum_value(part[b]));
    free(part);
    double total = nsum_value(s);
    store(ob, 0, dt, p->reduction == TF_REDUCTION_SUM ? total : total / (double)p->numel);
  }
  return TF_OK;
}

tf_status tf_cpu_bce_with_logits_backward(const tf_bce_plan *p,
                                          const tf_tensor *grad,
                                          const tf_tensor *x,
                                          const tf_tensor *target,
                                          const tf_tensor *weight,
                                          const tf_tensor *pos_weight,
                                          tf_tensor *dx) {
  tf_dtype dt = x->dtype;
  const char *xb = tf_ptr(x), *tb = tf_ptr(target), *gb = tf_ptr(grad);
  const char *wb = weight ? tf_ptr(weight) : NULL;
  const char *pb = pos_weight ? tf_ptr(pos_weight) : NULL;
  char *db = tf_ptr(dx);
  double gscale = 1.0;
  bool none = p->reduction == TF_REDUCTION_NONE;
  if (!none) {
    gscale = load(gb, 0, dt);
    if (p->reduction == TF_REDUCTION_MEAN) gscale /= (double)p->numel;
  }
  int64_t nblocks = (p->numel + LOSS_BLOCK - 1) / LOSS_BLOCK;
  bool worth = p->numel >= TF_PARALLEL_GRAIN / 4;
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    int64_t begin = b * LOSS_BLOCK;
    int64_t end = begin + LOSS_BLOCK < p->numel ? begin + LOSS_BLOCK : p->numel;
    double v[LOSS_BLOCK];
    bce_block(p, dt, xb, tb, wb, pb, none ? gb : NULL, gscale, true, begin, end, v);
    for (int64_t i = 0; i < end - begin; i++) store(db, begin + i, dt, v[i]);
  }
  return TF_OK;
}
