/* loss_rows.h: the fused losses' plans and their per-row / per-element
 * arithmetic (cross-entropy, BCE with logits), written once for the cpu
 * (cpu/loss.c) and the CUDA kernels (cuda/loss.cu), as optim_step.h is for
 * the optimizers: both devices compute every row or element with the same
 * operations in the same order and sum them in the same blocks. The CUDA
 * build does not fuse multiply-adds (--fmad=false); the cpu's float32
 * loops, built for AVX2 and AVX-512 (TF_SIMD_CLONES), may, which moves a
 * double intermediate by its last bits. That is below float32's rounding,
 * so the results are the cpu's bits except where the difference survives:
 * a value at a rounding boundary, or one that cancellation magnifies (the
 * BCE gradient where the target is close to sigmoid(x): an ulp); the sign
 * of a NaN from a sum may differ too. exp and log1p of the exact paths are
 * each device's libm.
 *
 * Cross-entropy. Every row is computed in double (float32 inputs are
 * widened, the result rounded once). With m the row's max, reached at class j, and
 * s' the sum of exp(x_c - m) over the other classes, logsumexp - x_c =
 * (m - x_c) + log1p(s'): two non-negative terms, so no cancellation and no
 * overflow at logits of +-1e30 (and log1p keeps the tiny loss of a
 * confident, right prediction). The gradient's p_y - 1 at the target class
 * is -s'/(1 + s') when y is the max (j is chosen to be y then), never
 * 1 - p computed by subtraction. float32 rows of unit class stride take
 * loops the compiler vectorizes, with e^x from tf_exp_poly (fast_math.h,
 * relative error < 3e-10): far below float32's half ULP. Sums over rows
 * (reduction mean or sum) take blocks of tf_ce_block_rows rows with
 * Neumaier's compensation, then the blocks in order.
 *
 * BCE with logits: (1 - y) x + L log1p(exp(-x)) for x >= 0 and -pw y x +
 * L log1p(exp(x)) for x < 0, L = (1 - y) + pw y: the two forms of (1 - y) x
 * + L softplus(-x) in which exp never overflows; the gradient (1 - y)
 * sigmoid(x) - pw y sigmoid(-x) from the same exp. float32 elements take
 * e^-|x| from tf_exp_poly and log1p by a series (< 2e-14), branch free so
 * the cpu vectorizes them; float64 ones exp and log1p. Sums over elements
 * take blocks of TF_BCE_BLOCK (tf_bce_block_sum). */
#ifndef TF_LOSS_ROWS_H
#define TF_LOSS_ROWS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "fast_math.h" /* tf_exp_poly, TF_SIMD_CLONES, TF_DD_INLINE */

/* The plan's dims: the core's TF_MAX_DIMS (backend.h checks). Reductions
 * are the core's TF_REDUCTION_* (none 0, mean 1, sum 2); dtypes its codes
 * (float32 0, float64 1). */
#define TF_LOSS_MAX_DIMS 8
enum { TF_LOSS_NONE = 0, TF_LOSS_MEAN = 1, TF_LOSS_SUM = 2 };
enum { TF_LOSS_F32 = 0 };

/* Cross-entropy as the entry point (ops/loss.c) plans it: `rows` rows (N *
 * d1 * ...; 1 for a (C,) input), each of `classes` logits. Row r is the
 * multi-index of r over row_shape (row_ndim dims: N, d1, ...; 0 dims for a
 * (C,) input); the strides (in elements) of each operand over those dims
 * are *_rs, over the classes *_cs. out / dx are new contiguous tensors
 * (o_rs: the strides of the per-row result of reduction none, a 0-d tensor
 * else; d_rs, d_cs: dx's). Index targets are read once into private memory
 * and checked there (tf_ce_targets). */
typedef struct {
  int64_t rows, classes;
  int row_ndim;
  int64_t row_shape[TF_LOSS_MAX_DIMS];
  int64_t x_rs[TF_LOSS_MAX_DIMS], x_cs;
  int64_t t_rs[TF_LOSS_MAX_DIMS], t_cs; /* t_cs: probability targets only */
  int64_t g_rs[TF_LOSS_MAX_DIMS];       /* backward with reduction none */
  int64_t o_rs[TF_LOSS_MAX_DIMS];
  int64_t d_rs[TF_LOSS_MAX_DIMS], d_cs;
  int64_t w_s; /* weight's stride (weight may be NULL) */
  bool prob;
  int64_t ignore_index;
  double smoothing;
  int reduction;
} tf_ce_plan;

/* Functions of this header: device functions under nvcc; on the cpu,
 * static functions that the files which include the plan only (through
 * backend.h) leave out without a warning. The vectorized float32 loops are
 * built per instruction set on the cpu (TF_SIMD_CLONES, empty under
 * nvcc). */
#if defined(__CUDACC__)
#define TF_LOSS_FN static __device__
#elif defined(__GNUC__)
#define TF_LOSS_FN static __attribute__((unused))
#else
#define TF_LOSS_FN static
#endif

/* Neumaier's compensated sum; an infinite or NaN total is kept as it is
 * (its compensation would be NaN). */
typedef struct {
  double s, c;
} tf_nsum;
TF_DD_INLINE void tf_nsum_add(tf_nsum *a, double v) {
  double t = a->s + v;
  if (isfinite(t)) {
    if (fabs(a->s) >= fabs(v))
      a->c += (a->s - t) + v;
    else
      a->c += (v - t) + a->s;
  }
  a->s = t;
}
TF_DD_INLINE double tf_nsum_value(tf_nsum a) { return isfinite(a.s) ? a.s + a.c : a.s; }

/* The offset of multi-index r (over shape, nd dims, C order) with strides. */
TF_DD_INLINE int64_t tf_loss_offset(int64_t r, int nd, const int64_t *shape,
                                  const int64_t *strides) {
  int64_t off = 0;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t q = r / shape[d];
    off += (r - q * shape[d]) * strides[d];
    r = q;
  }
  return off;
}

/* Element i of a float32 or float64 array, widened; the rounded store. */
TF_DD_INLINE double tf_loss_load(const char *base, int64_t i, int dt) {
  return dt == TF_LOSS_F32 ? (double)((const float *)base)[i] : ((const double *)base)[i];
}
TF_DD_INLINE void tf_loss_store(char *base, int64_t i, int dt, double v) {
  if (dt == TF_LOSS_F32)
    ((float *)base)[i] = (float)v;
  else
    ((double *)base)[i] = v;
}
TF_DD_INLINE int64_t tf_loss_elsize(int dt) { return dt == TF_LOSS_F32 ? 4 : 8; }

/* One row's shape of the softmax: the max m, the class j it is taken at
 * (the target's when the target reaches it), s' = sum over c != j of
 * exp(x_c - m). */
typedef struct {
  double m, rest;
  int64_t j;
} tf_row_lse;

/* float32 rows of unit class stride: the same quantities, with the max and
 * the sums over TF_LOSS_LANES independent lanes the compiler vectorizes (a
 * fixed order, so the bits depend on nothing but the row). Rows whose max
 * is not finite are left to the exact path (r.m NaN or inf). */
enum { TF_LOSS_LANES = 8 };
/* sum of e^(x_c - m) over n floats, in lanes then the tail */
TF_LOSS_FN TF_SIMD_CLONES double tf_ce_sum_exp_f32(const float *x, int64_t n, double m) {
  double acc[TF_LOSS_LANES] = {0};
  int64_t c = 0;
  for (; c + TF_LOSS_LANES <= n; c += TF_LOSS_LANES)
    for (int k = 0; k < TF_LOSS_LANES; k++) acc[k] += tf_exp_poly((double)x[c + k] - m);
  double s = 0.0;
  for (int k = 0; k < TF_LOSS_LANES; k++) s += acc[k];
  for (; c < n; c++) s += tf_exp_poly((double)x[c] - m);
  return s;
}

/* max of n floats (-inf for none); *nan set when one is NaN or infinite
 * (v * 0 is NaN for both: such rows take the exact path, which handles
 * them), with comparisons and sums the compiler vectorizes */
TF_LOSS_FN TF_SIMD_CLONES float tf_ce_max_f32(const float *x, int64_t n, int *nan) {
  float mx[TF_LOSS_LANES], z[TF_LOSS_LANES];
  for (int k = 0; k < TF_LOSS_LANES; k++) mx[k] = -INFINITY, z[k] = 0.0f;
  int64_t c = 0;
  for (; c + TF_LOSS_LANES <= n; c += TF_LOSS_LANES)
    for (int k = 0; k < TF_LOSS_LANES; k++) {
      float v = x[c + k];
      z[k] += v * 0.0f;
      mx[k] = v > mx[k] ? v : mx[k];
    }
  float m = -INFINITY, zs = 0.0f;
  for (int k = 0; k < TF_LOSS_LANES; k++) zs += z[k], m = mx[k] > m ? mx[k] : m;
  for (; c < n; c++) zs += x[c] * 0.0f, m = x[c] > m ? x[c] : m;
  *nan = zs != zs;
  return m;
}

TF_LOSS_FN tf_row_lse tf_ce_lse_f32(const float *x, int64_t n, int64_t y) {
  int nan;
  float m = tf_ce_max_f32(x, n, &nan);
  tf_row_lse r = {nan ? NAN : (double)m, 0.0, 0};
  if (nan || !isfinite(m)) return r;
  if (y >= 0 && x[y] == m)
    r.j = y;
  else
    while (x[r.j] != m) r.j++;
  /* the classes before and after j: s' without class j */
  r.rest = tf_ce_sum_exp_f32(x, r.j, r.m) + tf_ce_sum_exp_f32(x + r.j + 1, n - r.j - 1, r.m);
  return r;
}

TF_LOSS_FN tf_row_lse tf_ce_lse(const char *x, int64_t cs, int64_t classes, int dt, int64_t y) {
  if (dt == TF_LOSS_F32 && cs == 1) {
    tf_row_lse f = tf_ce_lse_f32((const float *)x, classes, y);
    if (isfinite(f.m)) return f;
  }
  tf_row_lse r = {-INFINITY, 0.0, 0};
  bool nan = false;
  for (int64_t c = 0; c < classes; c++) {
    double v = tf_loss_load(x, c * cs, dt);
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
  if (y >= 0 && tf_loss_load(x, y * cs, dt) == r.m) r.j = y;
  double s = 0.0;
  for (int64_t c = 0; c < classes; c++)
    if (c != r.j) s += exp(tf_loss_load(x, c * cs, dt) - r.m);
  r.rest = s;
  return r;
}

TF_DD_INLINE double tf_ce_weight(const char *w, int64_t s, int64_t c, int dt) {
  return w ? tf_loss_load(w, c * s, dt) : 1.0;
}

/* The loss of row r and its share of mean's denominator; yv: the checked
 * index targets (unused for probability targets). */
TF_LOSS_FN double tf_ce_row(const tf_ce_plan *p, const char *x, const char *t, const int64_t *yv,
                          const char *w, int dt, int64_t r, double *den) {
  const char *xr = x + tf_loss_offset(r, p->row_ndim, p->row_shape, p->x_rs) * tf_loss_elsize(dt);
  const double eps = p->smoothing, C = (double)p->classes;
  if (p->prob) {
    const char *tr = t + tf_loss_offset(r, p->row_ndim, p->row_shape, p->t_rs) * tf_loss_elsize(dt);
    tf_row_lse l = tf_ce_lse(xr, p->x_cs, p->classes, dt, -1);
    double L = log1p(l.rest), loss = 0.0;
    for (int64_t c = 0; c < p->classes; c++) {
      double tc = (1.0 - eps) * tf_loss_load(tr, c * p->t_cs, dt) + eps / C;
      loss += tf_ce_weight(w, p->w_s, c, dt) * tc * ((l.m - tf_loss_load(xr, c * p->x_cs, dt)) + L);
    }
    *den = 1.0;
    return loss;
  }
  int64_t y = yv[r];
  if (y == p->ignore_index) {
    *den = 0.0;
    return 0.0;
  }
  double wy = tf_ce_weight(w, p->w_s, y, dt);
  *den = wy;
  tf_row_lse l = tf_ce_lse(xr, p->x_cs, p->classes, dt, y);
  double L = log1p(l.rest);
  double loss = wy * ((l.m - tf_loss_load(xr, y * p->x_cs, dt)) + L);
  if (eps > 0) {
    double smooth = 0.0;
    for (int64_t c = 0; c < p->classes; c++)
      smooth += tf_ce_weight(w, p->w_s, c, dt) * ((l.m - tf_loss_load(xr, c * p->x_cs, dt)) + L);
    loss = (1.0 - eps) * loss + eps / C * smooth;
  }
  return loss;
}

/* Rows per block of the sum over rows: about 16384 logits, so that wide
 * rows still split into blocks; it depends on the shape only. (Also a host
 * function under nvcc: the launches are sized by it.) */
#if defined(__CUDACC__)
__host__ __device__ inline
#else
static inline
#endif
int64_t tf_ce_block_rows(const tf_ce_plan *p) {
  int64_t per = (int64_t)16384 / (p->classes > 0 ? p->classes : 1);
  return per < 1 ? 1 : per > 2048 ? 2048 : per;
}

/* The sum of the class weights (C without weights), for label smoothing. */
TF_LOSS_FN double tf_ce_weight_sum(const tf_ce_plan *p, const char *w, int dt) {
  double s = 0.0;
  for (int64_t c = 0; c < p->classes; c++) s += tf_ce_weight(w, p->w_s, c, dt);
  return s;
}

/* mean's denominator, as the forward sums it (the same blocks). */
TF_LOSS_FN double tf_ce_denominator(const tf_ce_plan *p, const int64_t *yv, const char *w,
                                  int dt) {
  if (p->prob) return (double)p->rows;
  tf_nsum total = {0, 0};
  const int64_t rb = tf_ce_block_rows(p);
  for (int64_t b = 0; b * rb < p->rows; b++) {
    tf_nsum ds = {0, 0};
    int64_t end = (b + 1) * rb < p->rows ? (b + 1) * rb : p->rows;
    for (int64_t r = b * rb; r < end; r++)
      if (yv[r] != p->ignore_index) tf_nsum_add(&ds, tf_ce_weight(w, p->w_s, yv[r], dt));
    tf_nsum_add(&total, tf_nsum_value(ds));
  }
  return tf_nsum_value(total);
}

/* d_c = g ((1 - eps) w_y (p_c - [c == y]) + eps / C (W p_c - w_c)) of one
 * float32 row of unit strides: every class in a loop the compiler
 * vectorizes (tf_exp_poly), then the target class again with p_y - 1 in
 * its accurate form. */
TF_LOSS_FN TF_SIMD_CLONES void tf_ce_grad_row_f32(const tf_ce_plan *p, const float *x, float *d,
                                                const float *w, tf_row_lse l, int64_t y,
                                                double wy, double wsum, double g) {
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
    for (int64_t c = 0; c < n; c++) d[c] = (float)(g * (a * (tf_exp_poly((double)x[c] - m) * inv)));
  double py = y == l.j ? inv : tf_exp_poly((double)x[y] - m) * inv;
  double hit = y == l.j ? -(l.rest * inv) : py - 1.0;
  d[y] = (float)(g * (a * hit + b * (wsum * py - wy)));
}

/* Row r of dx. g: the upstream gradient (a tensor of the rows' shape for
 * reduction none, else its one value already divided by mean's
 * denominator: gscale); wsum: tf_ce_weight_sum. */
TF_LOSS_FN void tf_ce_grad_row(const tf_ce_plan *p, const char *xb, const char *tb,
                             const int64_t *yv, const char *wb, const char *gb, int dt,
                             double gscale, double wsum, int64_t r, char *db) {
  const int64_t es = tf_loss_elsize(dt);
  const double eps = p->smoothing, C = (double)p->classes;
  const char *xr = xb + tf_loss_offset(r, p->row_ndim, p->row_shape, p->x_rs) * es;
  char *dr = db + tf_loss_offset(r, p->row_ndim, p->row_shape, p->d_rs) * es;
  double g = p->reduction == TF_LOSS_NONE
                 ? tf_loss_load(gb, tf_loss_offset(r, p->row_ndim, p->row_shape, p->g_rs), dt)
                 : gscale;
  if (p->prob) {
    const char *tr = tb + tf_loss_offset(r, p->row_ndim, p->row_shape, p->t_rs) * es;
    tf_row_lse l = tf_ce_lse(xr, p->x_cs, p->classes, dt, -1);
    double total = 1.0 + l.rest, T = 0.0, rest_j = 0.0;
    for (int64_t c = 0; c < p->classes; c++) {
      double b = tf_ce_weight(wb, p->w_s, c, dt) *
                 ((1.0 - eps) * tf_loss_load(tr, c * p->t_cs, dt) + eps / C);
      T += b;
      if (c != l.j) rest_j += b;
    }
    for (int64_t c = 0; c < p->classes; c++) {
      double d;
      if (c == l.j) /* T p_j - b_j = T (p_j - 1) + (T - b_j) */
        d = rest_j - T * (l.rest / total);
      else
        d = T * (exp(tf_loss_load(xr, c * p->x_cs, dt) - l.m) / total) -
            tf_ce_weight(wb, p->w_s, c, dt) *
                ((1.0 - eps) * tf_loss_load(tr, c * p->t_cs, dt) + eps / C);
      tf_loss_store(dr, c * p->d_cs, dt, g * d);
    }
    return;
  }
  int64_t y = yv[r];
  if (y == p->ignore_index) {
    for (int64_t c = 0; c < p->classes; c++) tf_loss_store(dr, c * p->d_cs, dt, 0.0);
    return;
  }
  double wy = tf_ce_weight(wb, p->w_s, y, dt);
  tf_row_lse l = tf_ce_lse(xr, p->x_cs, p->classes, dt, y);
  double total = 1.0 + l.rest;
  if (dt == TF_LOSS_F32 && p->x_cs == 1 && p->d_cs == 1 && isfinite(l.m)) {
    tf_ce_grad_row_f32(p, (const float *)xr, (float *)dr, (const float *)wb, l, y, wy, wsum, g);
    return;
  }
  for (int64_t c = 0; c < p->classes; c++) {
    double pc = c == l.j ? 1.0 / total : exp(tf_loss_load(xr, c * p->x_cs, dt) - l.m) / total;
    /* p_c - [c == y], with p_y - 1 = -s' / (1 + s') when y is the max */
    double hit = c != y ? pc : (c == l.j ? -(l.rest / total) : pc - 1.0);
    double d = wy * hit;
    if (eps > 0) d = (1.0 - eps) * d + eps / C * (wsum * pc - tf_ce_weight(wb, p->w_s, c, dt));
    tf_loss_store(dr, c * p->d_cs, dt, g * d);
  }
}

/* ---- BCE with logits ---------------------------------------------------------
 * Over x's shape (ndim dims, numel elements); weight and pos_weight (NULL
 * when absent) and, for reduction none, grad are read with the broadcast
 * strides given; out / dx are contiguous. */
typedef struct {
  int ndim;
  int64_t numel;
  int64_t shape[TF_LOSS_MAX_DIMS];
  int64_t x_s[TF_LOSS_MAX_DIMS], t_s[TF_LOSS_MAX_DIMS], w_s[TF_LOSS_MAX_DIMS],
      pw_s[TF_LOSS_MAX_DIMS], g_s[TF_LOSS_MAX_DIMS];
  int reduction;
  bool dense; /* x and target both C-contiguous */
} tf_bce_plan;

enum { TF_BCE_BLOCK = 2048 }; /* elements per block of the sums */

/* log(1 + e) for e in [0, 1] as 2 artanh(z), z = e / (2 + e) <= 1/3, by
 * its series to z^27: relative error below 2e-14, for the float32 path. */
TF_DD_INLINE double tf_log1p_unit(double e) {
  double z = e / (2.0 + e), z2 = z * z, q = 1.0 / 27;
  q = q * z2 + 1.0 / 25, q = q * z2 + 1.0 / 23, q = q * z2 + 1.0 / 21;
  q = q * z2 + 1.0 / 19, q = q * z2 + 1.0 / 17, q = q * z2 + 1.0 / 15;
  q = q * z2 + 1.0 / 13, q = q * z2 + 1.0 / 11, q = q * z2 + 1.0 / 9;
  q = q * z2 + 1.0 / 7, q = q * z2 + 1.0 / 5, q = q * z2 + 1.0 / 3;
  q = q * z2 + 1.0;
  return 2.0 * z * q;
}

/* The loss of one element and its x-derivative, exactly (float64). */
TF_DD_INLINE double tf_bce_elem(double x, double y, double pw, bool has_pw) {
  double L = has_pw ? (1.0 - y) + pw * y : 1.0;
  if (x >= 0) return (1.0 - y) * x + L * log1p(exp(-x));
  return -(has_pw ? pw * y : y) * x + L * log1p(exp(x));
}
TF_DD_INLINE double tf_bce_delem(double x, double y, double pw) {
  if (x >= 0) {
    double e = exp(-x);
    return ((1.0 - y) - pw * y * e) / (1.0 + e);
  }
  double e = exp(x);
  return ((1.0 - y) * e - pw * y) / (1.0 + e);
}

/* The same for a float32 element (widened), branch free: e = e^-|x| by
 * tf_exp_poly, whose clamp at -708 leaves ~1e-308 where e underflows,
 * below float32's range. Without pos_weight L = 1 exactly. */
TF_DD_INLINE double tf_bce_loss_f32(double x, double y) {
  double lin = x >= 0 ? (1.0 - y) * x : -y * x;
  return lin + tf_log1p_unit(tf_exp_poly(-fabs(x)));
}
TF_DD_INLINE double tf_bce_loss_pw_f32(double x, double y, double pw) {
  double lin = x >= 0 ? (1.0 - y) * x : -(pw * y) * x;
  return lin + ((1.0 - y) + pw * y) * tf_log1p_unit(tf_exp_poly(-fabs(x)));
}
TF_DD_INLINE double tf_bce_grad_f32(double x, double y, double pw) {
  double e = tf_exp_poly(-fabs(x));
  double num = x >= 0 ? (1.0 - y) - pw * y * e : (1.0 - y) * e - pw * y;
  return num / (1.0 + e);
}

/* One element's loss (grad false) or x-derivative by dtype dt's path;
 * pw 1 without pos_weight. */
TF_DD_INLINE double tf_bce_value(int dt, bool grad, double x, double y, double pw, bool has_pw) {
  if (dt == TF_LOSS_F32)
    return grad ? tf_bce_grad_f32(x, y, pw)
                : has_pw ? tf_bce_loss_pw_f32(x, y, pw) : tf_bce_loss_f32(x, y);
  return grad ? tf_bce_delem(x, y, pw) : tf_bce_elem(x, y, pw, has_pw);
}

/* The compensated sum of one block's n element losses: float32's in
 * TF_LOSS_LANES fixed lanes of doubles (far below float32's rounding),
 * float64's one by one. */
TF_LOSS_FN tf_nsum tf_bce_block_sum(int dt, const double *v, int64_t n) {
  tf_nsum s = {0, 0};
  if (dt != TF_LOSS_F32) {
    for (int64_t i = 0; i < n; i++) tf_nsum_add(&s, v[i]);
    return s;
  }
  double acc[TF_LOSS_LANES] = {0};
  int64_t i = 0;
  for (; i + TF_LOSS_LANES <= n; i += TF_LOSS_LANES)
    for (int k = 0; k < TF_LOSS_LANES; k++) acc[k] += v[i + k];
  for (; i < n; i++) tf_nsum_add(&s, v[i]);
  for (int k = 0; k < TF_LOSS_LANES; k++) tf_nsum_add(&s, acc[k]);
  return s;
}

#endif /* TF_LOSS_ROWS_H */
