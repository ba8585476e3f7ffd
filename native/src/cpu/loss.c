/* loss.c: the cpu's fused loss kernels: cross-entropy over class logits and
 * binary cross-entropy with logits, forward and backward (the entry points,
 * with every argument check, are ops/loss.c).
 *
 * The losses' per-row and per-element arithmetic and their numerics are
 * cpu/loss_rows.h, shared with the CUDA kernels; here are the loops:
 * parallel over rows / fixed blocks of elements, a sum (reduction mean or
 * sum) adding per-block partial sums in block order with Neumaier's
 * compensation, so the bits never depend on the thread count. BCE's
 * elements go through chunks of widened copies, so that float32 chunks
 * vectorize. */
#include <math.h>
#include <stdlib.h>

#include "../backend.h" /* cpu/loss_rows.h */
#include "fast_math.h"  /* tf_exp_poly, TF_SIMD_CLONES */

_Static_assert((int)TF_FLOAT32 == (int)TF_LOSS_F32, "loss_rows.h's dtype code");


static inline double load(const char *base, int64_t i, tf_dtype dt) {
  return tf_loss_load(base, i, (int)dt);
}
static inline void store(char *base, int64_t i, tf_dtype dt, double v) {
  tf_loss_store(base, i, (int)dt, v);
}

/* ---- cross-entropy ---------------------------------------------------------- */
tf_status tf_ce_targets(const tf_ce_plan *p, const tf_tensor *t, const char *op,
                        int64_t **out) {
  int64_t *v = malloc(sizeof(int64_t) * (size_t)(p->rows ? p->rows : 1));
  if (!v) return tf_fail(TF_ERR_MEMORY, "%s: out of memory", op);
  const int64_t *base = (const int64_t *)tf_ptr(t);
  for (int64_t r = 0; r < p->rows; r++) {
    int64_t y = base[tf_loss_offset(r, p->row_ndim, p->row_shape, p->t_rs)];
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

tf_status tf_cpu_cross_entropy(const tf_ce_plan *p, const tf_tensor *x,
                               const tf_tensor *target, const tf_tensor *weight,
                               tf_tensor *out) {
  int64_t *yv = NULL;
  if (!p->prob) TF_TRY(tf_ce_targets(p, target, "cross_entropy", &yv));
  const int dt = (int)x->dtype;
  const char *xb = tf_ptr(x), *tb = p->prob ? tf_ptr(target) : NULL;
  const char *wb = weight ? tf_ptr(weight) : NULL;
  char *ob = tf_ptr(out);
  bool worth = (double)p->rows * (double)p->classes >= TF_PARALLEL_GRAIN;
  if (p->reduction == TF_REDUCTION_NONE) {
    TF_PARALLEL_FOR(worth)
    for (int64_t r = 0; r < p->rows; r++) {
      double den;
      double v = tf_ce_row(p, xb, tb, yv, wb, dt, r, &den);
      tf_loss_store(ob, tf_loss_offset(r, p->row_ndim, p->row_shape, p->o_rs), dt, v);
    }
    free(yv);
    return TF_OK;
  }
  const int64_t rb = tf_ce_block_rows(p);
  int64_t nblocks = (p->rows + rb - 1) / rb;
  tf_nsum *part = calloc((size_t)(nblocks ? nblocks : 1) * 2, sizeof(tf_nsum));
  if (!part) {
    free(yv);
    return tf_fail(TF_ERR_MEMORY, "cross_entropy: out of memory");
  }
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    tf_nsum ls = {0, 0}, ds = {0, 0};
    int64_t end = (b + 1) * rb < p->rows ? (b + 1) * rb : p->rows;
    for (int64_t r = b * rb; r < end; r++) {
      double den;
      tf_nsum_add(&ls, tf_ce_row(p, xb, tb, yv, wb, dt, r, &den));
      tf_nsum_add(&ds, den);
    }
    part[2 * b] = ls, part[2 * b + 1] = ds;
  }
  tf_nsum ls = {0, 0}, ds = {0, 0};
  for (int64_t b = 0; b < nblocks; b++) {
    tf_nsum_add(&ls, tf_nsum_value(part[2 * b]));
    tf_nsum_add(&ds, tf_nsum_value(part[2 * b + 1]));
  }
  free(part);
  free(yv);
  double total = tf_nsum_value(ls);
  /* mean of nothing (every target ignored, or no rows) is 0 / 0 = NaN, as
   * in PyTorch */
  tf_loss_store(ob, 0, dt,
              p->reduction == TF_REDUCTION_SUM ? total : total / tf_nsum_value(ds));
  return TF_OK;
}

tf_status tf_cpu_cross_entropy_backward(const tf_ce_plan *p,
                                        const tf_tensor *grad,
                                        const tf_tensor *x,
                                        const tf_tensor *target,
                                        const tf_tensor *weight, tf_tensor *dx) {
  int64_t *yv = NULL;
  if (!p->prob) TF_TRY(tf_ce_targets(p, target, "cross_entropy_backward", &yv));
  const int dt = (int)x->dtype;
  const char *xb = tf_ptr(x), *tb = p->prob ? tf_ptr(target) : NULL;
  const char *wb = weight ? tf_ptr(weight) : NULL, *gb = tf_ptr(grad);
  char *db = tf_ptr(dx);
  double wsum = tf_ce_weight_sum(p, wb, dt);
  double gscale = 1.0;
  if (p->reduction != TF_REDUCTION_NONE) {
    gscale = tf_loss_load(gb, 0, dt);
    if (p->reduction == TF_REDUCTION_MEAN) gscale /= tf_ce_denominator(p, yv, wb, dt);
  }
  bool worth = (double)p->rows * (double)p->classes >= TF_PARALLEL_GRAIN;
  TF_PARALLEL_FOR(worth)
  for (int64_t r = 0; r < p->rows; r++)
    tf_ce_grad_row(p, xb, tb, yv, wb, gb, dt, gscale, wsum, r, db);
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

/* A chunk of float32 elements (widened to double) by loss_rows.h's element
 * functions, in loops the compiler vectorizes (they are branch free). */
enum { CHUNK = 256 };
TF_SIMD_CLONES static void bce_loss_f32(int64_t n, const double *x, const double *y,
                                        double *out) {
  for (int64_t i = 0; i < n; i++) out[i] = tf_bce_loss_f32(x[i], y[i]);
}
TF_SIMD_CLONES static void bce_loss_pw_f32(int64_t n, const double *x, const double *y,
                                           const double *pw, double *out) {
  for (int64_t i = 0; i < n; i++) out[i] = tf_bce_loss_pw_f32(x[i], y[i], pw[i]);
}
TF_SIMD_CLONES static void bce_grad_f32(int64_t n, const double *x, const double *y,
                                        const double *pw, double *out) {
  for (int64_t i = 0; i < n; i++) out[i] = tf_bce_grad_f32(x[i], y[i], pw[i]);
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
        r[i] = grad ? tf_bce_delem(xs[i], ys[i], ps[i])
                    : tf_bce_elem(xs[i], ys[i], ps[i], pb != NULL);
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
  int64_t nblocks = (p->numel + TF_BCE_BLOCK - 1) / TF_BCE_BLOCK;
  bool reduce = p->reduction != TF_REDUCTION_NONE;
  tf_nsum *part = NULL;
  if (reduce) {
    part = calloc((size_t)(nblocks ? nblocks : 1), sizeof(tf_nsum));
    if (!part)
      return tf_fail(TF_ERR_MEMORY, "binary_cross_entropy_with_logits: out of memory");
  }
  bool worth = p->numel >= TF_PARALLEL_GRAIN / 4;
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    int64_t begin = b * TF_BCE_BLOCK;
    int64_t end = begin + TF_BCE_BLOCK < p->numel ? begin + TF_BCE_BLOCK : p->numel;
    double v[TF_BCE_BLOCK];
    bce_block(p, dt, xb, tb, wb, pb, NULL, 1.0, false, begin, end, v);
    if (reduce) {
      part[b] = tf_bce_block_sum((int)dt, v, end - begin);
    } else {
      for (int64_t i = 0; i < end - begin; i++) store(ob, begin + i, dt, v[i]);
    }
  }
  if (reduce) {
    tf_nsum s = {0, 0};
    for (int64_t b = 0; b < nblocks; b++) tf_nsum_add(&s, tf_nsum_value(part[b]));
    free(part);
    double total = tf_nsum_value(s);
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
  int64_t nblocks = (p->numel + TF_BCE_BLOCK - 1) / TF_BCE_BLOCK;
  bool worth = p->numel >= TF_PARALLEL_GRAIN / 4;
  TF_PARALLEL_FOR(worth && nblocks > 1)
  for (int64_t b = 0; b < nblocks; b++) {
    int64_t begin = b * TF_BCE_BLOCK;
    int64_t end = begin + TF_BCE_BLOCK < p->numel ? begin + TF_BCE_BLOCK : p->numel;
    double v[TF_BCE_BLOCK];
    bce_block(p, dt, xb, tb, wb, pb, none ? gb : NULL, gscale, true, begin, end, v);
    for (int64_t i = 0; i < end - begin; i++) store(db, begin + i, dt, v[i]);
  }
  return TF_OK;
}
