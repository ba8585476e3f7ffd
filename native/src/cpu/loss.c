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
 * Parallel over rows / fixed blocks of elements; a sum (reduction mean or
 * sum) adds per-block partial sums in block order with Neumaier's
 * compensation, so the bits never depend on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "../backend.h"

enum { LOSS_BLOCK = 2048 }; /* rows / elements per block of a reduction */

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

static inline row_lse lse_of(const char *x, int64_t cs, int64_t classes,
                             tf_dtype dt, int64_t y) {
  row_lse r = {-INFINITY, 0.0, 0};
  bool nan = false;
  for (int64_t c = 0; c < classes; c++) {
    double v = load(x, c * cs, dt);
    if (v != v) nan = true;
    if (v > r.m) r.m = v, r.j = c;
  }
  if (nan) {
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
  int64_t nblocks = (p->rows + LOSS_BLOCK - 1) / LOSS_BLOCK;
  nsum *part = calloc((size_t)(nblocks ? nblocks : 1) * 2, sizeof(nsum));
  if (!part) {
    free(yv);
    return tf_fail(TF_ERR_MEMORY, "cross_entropy: out of memory");
  }
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    nsum ls = {0, 0}, ds = {0, 0};
    int64_t end = (b + 1) * LOSS_BLOCK < p->rows ? (b + 1) * LOSS_BLOCK : p->rows;
    for (int64_t r = b * LOSS_BLOCK; r < end; r++) {
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
  for (int64_t b = 0; b * LOSS_BLOCK < p->rows; b++) {
    nsum ds = {0, 0};
    int64_t end = (b + 1) * LOSS_BLOCK < p->rows ? (b + 1) * LOSS_BLOCK : p->rows;
    for (int64_t r = b * LOSS_BLOCK; r < end; r++)
      if (yv[r] != p->ignore_index) nsum_add(&ds, weight_at(w, p->w_s, yv[r], dt));
    nsum_add(&total, nsum_value(ds));
  }
  return nsum_value(total);
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
  int64_t idx[TF_MAX_DIMS];
  int64_t off[W_N];
} bce_walk;

static void walk_at(const tf_bce_plan *p, bce_walk *w, int64_t start) {
  const int64_t *st[W_N] = {p->x_s, p->t_s, p->w_s, p->pw_s, p->g_s};
  for (int k = 0; k < W_N; k++) w->off[k] = 0;
  for (int d = p->ndim - 1; d >= 0; d--) {
    int64_t q = start / p->shape[d];
    w->idx[d] = start - q * p->shape[d];
    for (int k = 0; k < W_N; k++) w->off[k] += w->idx[d] * st[k][d];
    start = q;
  }
}

static inline void walk_next(const tf_bce_plan *p, bce_walk *w) {
  const int64_t *st[W_N] = {p->x_s, p->t_s, p->w_s, p->pw_s, p->g_s};
  for (int d = p->ndim - 1; d >= 0; d--) {
    for (int k = 0; k < W_N; k++) w->off[k] += st[k][d];
    if (++w->idx[d] < p->shape[d]) return;
    for (int k = 0; k < W_N; k++) w->off[k] -= p->shape[d] * st[k][d];
    w->idx[d] = 0;
  }
}

static inline double bce_elem(double x, double y, double pw, bool has_pw) {
  double L = has_pw ? (1.0 - y) + pw * y : 1.0;
  if (x >= 0) return (1.0 - y) * x + L * log1p(exp(-x));
  return -(has_pw ? pw * y : y) * x + L * log1p(exp(x));
}

static inline double bce_delem(double x, double y, double pw) {
  if (x >= 0) {
    double e = exp(-x);
    return ((1.0 - y) - pw * y * e) / (1.0 + e);
  }
  double e = exp(x);
  return ((1.0 - y) * e - pw * y) / (1.0 + e);
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
    bce_walk w;
    walk_at(p, &w, begin);
    nsum s = {0, 0};
    for (int64_t i = begin; i < end; i++, walk_next(p, &w)) {
      double v = bce_elem(load(xb, w.off[W_X], dt), load(tb, w.off[W_T], dt),
                          pb ? load(pb, w.off[W_PW], dt) : 1.0, pb != NULL);
      if (wb) v *= load(wb, w.off[W_W], dt);
      if (reduce)
        nsum_add(&s, v);
      else
        store(ob, i, dt, v);
    }
    if (reduce) part[b] = s;
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
    bce_walk w;
    walk_at(p, &w, begin);
    for (int64_t i = begin; i < end; i++, walk_next(p, &w)) {
      double d = bce_delem(load(xb, w.off[W_X], dt), load(tb, w.off[W_T], dt),
                           pb ? load(pb, w.off[W_PW], dt) : 1.0);
      if (wb) d *= load(wb, w.off[W_W], dt);
      store(db, i, dt, (none ? load(gb, w.off[W_G], dt) : gscale) * d);
    }
  }
  return TF_OK;
}
