/* unary_scalar.h: every unary op of tinyfin_ops.def as a scalar function,
 * written once: uf_<op> on double (float32 computes in double and rounds
 * once), ui_<op> on int64 for NUM ops and up_<op> (a predicate) for PRED
 * ops. The cpu's row loops (unary.c) expand them, and so do the CUDA
 * kernels (cuda/runtime.cu), for which TF_DD_INLINE (double_double.h)
 * makes them device functions under nvcc. */
#ifndef TF_UNARY_SCALAR_H
#define TF_UNARY_SCALAR_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "double_double.h"

typedef const double *params_t; /* p0, p1, p2 of tf_unary */

#include "unary_dd.h" /* float64 kernels of the ops whose float32 one is _short */

/* ---- float functions ---------------------------------------------------- */
TF_DD_INLINE double uf_neg(double x, params_t p) { (void)p; return -x; }
TF_DD_INLINE double uf_abs(double x, params_t p) { (void)p; return fabs(x); }
/* sign keeps NaN (NumPy) and the sign of zero */
TF_DD_INLINE double uf_sign(double x, params_t p) {
  (void)p;
  return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
}
TF_DD_INLINE double uf_exp(double x, params_t p) { (void)p; return exp(x); }
TF_DD_INLINE double uf_exp2(double x, params_t p) { (void)p; return exp2(x); }
TF_DD_INLINE double uf_expm1_short(double x, params_t p) { (void)p; return expm1(x); }
TF_DD_INLINE double uf_log(double x, params_t p) { (void)p; return log(x); }
TF_DD_INLINE double uf_log2(double x, params_t p) { (void)p; return log2(x); }
TF_DD_INLINE double uf_log10_short(double x, params_t p) { (void)p; return log10(x); }
TF_DD_INLINE double uf_log1p(double x, params_t p) { (void)p; return log1p(x); }
TF_DD_INLINE double uf_sqrt(double x, params_t p) { (void)p; return sqrt(x); }
TF_DD_INLINE double uf_rsqrt_short(double x, params_t p) { (void)p; return 1.0 / sqrt(x); }
TF_DD_INLINE double uf_reciprocal(double x, params_t p) { (void)p; return 1.0 / x; }
TF_DD_INLINE double uf_square(double x, params_t p) { (void)p; return x * x; }
TF_DD_INLINE double uf_sin(double x, params_t p) { (void)p; return sin(x); }
TF_DD_INLINE double uf_cos(double x, params_t p) { (void)p; return cos(x); }
TF_DD_INLINE double uf_tan(double x, params_t p) { (void)p; return tan(x); }
/* float32 tanh (float64: unary_dd.h). libm's tanh is up to ~2.1 ULP off
 * near |x| = 0.23 in float64, which float32 would round away but not
 * always; here tanh|x| =
 * t / (t + 2) with t = expm1(2|x|): t + 2 is kept as an exact pair (s, s_lo)
 * and the quotient gets one Newton correction from the exact residual
 * t - q s (fma), so only expm1's error (scaled by 2 / (t + 2) <= 1) and the
 * final rounding remain: below 1.5 ULP. */
TF_DD_INLINE double uf_tanh_short(double x, params_t p) {
  (void)p;
  double a = fabs(x);
  if (x != x || a < 0x1p-28) return x; /* NaN; tanh x rounds to x (keeps -0) */
  if (a >= 22.0) return copysign(1.0, x); /* 1 - tanh 22 < 2^-62 */
  double t = expm1(2.0 * a);
  double s = t + 2.0;
  double s_lo = t >= 2.0 ? 2.0 - (s - t) : t - (s - 2.0); /* Fast2Sum */
  double q = t / s;
  q += (fma(-q, s, t) - q * s_lo) / s;
  return copysign(q, x);
}
/* float32: the plain formula (~2^-51 relative, which float32 rounds away) */
TF_DD_INLINE double uf_sigmoid_short(double x, params_t p) {
  (void)p;
  return x < -708.0 ? exp(x) : 1.0 / (1.0 + exp(-x));
}
/* NaN propagates; relu(-0.0) is +0.0 as in PyTorch. */
TF_DD_INLINE double uf_relu(double x, params_t p) {
  (void)p;
  return x <= 0 ? 0.0 : x;
}
TF_DD_INLINE double uf_leaky_relu(double x, params_t p) {
  return x < 0 ? x * p[0] : x;
}
TF_DD_INLINE double uf_elu_short(double x, params_t p) {
  return x <= 0 ? p[0] * expm1(x) : x;
}
/* gelu's tanh form x sigmoid(2u) in double: ~25 ULP off for x << 0, where
 * the rounding of u is magnified, but accurate to 1e-13, which the float32
 * kernel rounds away (the float64 kernels are in unary_dd.h). */
TF_DD_INLINE double gelu_tanh_short(double x) {
  double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp(-2.0 * u));
}

/* float32 gelu: to ~1e-13 relative, without the double-double work */
TF_DD_INLINE double uf_gelu_short(double x, params_t p) {
  if (x == -INFINITY) return -0.0;
  if (x == INFINITY || x != x) return x;
  if (p[0] != 0) return x < -1e4 ? -0.0 : gelu_tanh_short(x);
  return 0.5 * x * erfc(-x * M_SQRT1_2);
}

/* float32: the plain formula (~2^-51 relative); silu rounds to -0 in
 * float32 from x ~ -110 on, and where e^-x overflows (x < -709) it gives
 * x / inf = -0 as well */
TF_DD_INLINE double uf_silu_short(double x, params_t p) {
  (void)p;
  return x == -INFINITY ? -0.0 : x / (1.0 + exp(-x));
}
/* log(1 + e^(beta x)) / beta, linear above threshold as in PyTorch; for
 * beta x > 0 written as beta x + log1p(e^(-beta x)) so e^ never overflows. */
TF_DD_INLINE double uf_softplus_short(double x, params_t p) {
  double bx = p[0] * x;
  if (bx > p[1]) return x;
  if (bx > 0) return (bx + log1p(exp(-bx))) / p[0];
  return log1p(exp(bx)) / p[0];
}
TF_DD_INLINE double uf_erf_short(double x, params_t p) { (void)p; return erf(x); }
TF_DD_INLINE double uf_floor(double x, params_t p) { (void)p; return floor(x); }
TF_DD_INLINE double uf_ceil(double x, params_t p) { (void)p; return ceil(x); }
TF_DD_INLINE double uf_round(double x, params_t p) { (void)p; return nearbyint(x); }
TF_DD_INLINE double uf_trunc(double x, params_t p) { (void)p; return trunc(x); }
/* NaN propagates, from x or from a bound (as NumPy's clip); min > max gives
 * max everywhere, as in PyTorch. */
TF_DD_INLINE double uf_clamp(double x, params_t p) {
  if (x != x) return x;
  if (p[0] != p[0]) return p[0];
  if (p[1] != p[1]) return p[1];
  x = x < p[0] ? p[0] : x;
  return x > p[1] ? p[1] : x;
}
TF_DD_INLINE double uf_nan_to_num(double x, params_t p) {
  if (x != x) return p[0];
  if (x == INFINITY) return p[1];
  if (x == -INFINITY) return p[2];
  return x;
}

/* ---- int64 functions (NUM ops); wrap-around instead of signed overflow -- */
TF_DD_INLINE int64_t ui_wrap(uint64_t u) { return (int64_t)u; }
TF_DD_INLINE int64_t ui_neg(int64_t x, params_t p) { (void)p; return ui_wrap(0u - (uint64_t)x); }
TF_DD_INLINE int64_t ui_abs(int64_t x, params_t p) { (void)p; return x < 0 ? ui_wrap(0u - (uint64_t)x) : x; }
TF_DD_INLINE int64_t ui_sign(int64_t x, params_t p) { (void)p; return (x > 0) - (x < 0); }
TF_DD_INLINE int64_t ui_square(int64_t x, params_t p) { (void)p; return ui_wrap((uint64_t)x * (uint64_t)x); }
TF_DD_INLINE int64_t ui_relu(int64_t x, params_t p) { (void)p; return x < 0 ? 0 : x; }
TF_DD_INLINE int64_t ui_floor(int64_t x, params_t p) { (void)p; return x; }
TF_DD_INLINE int64_t ui_ceil(int64_t x, params_t p) { (void)p; return x; }
TF_DD_INLINE int64_t ui_round(int64_t x, params_t p) { (void)p; return x; }
TF_DD_INLINE int64_t ui_trunc(int64_t x, params_t p) { (void)p; return x; }
TF_DD_INLINE int64_t ui_nan_to_num(int64_t x, params_t p) { (void)p; return x; }
/* Bounds compare in double; a bound beyond int64's range never binds.
 * tinyfin's Python clamp takes int bounds of an int64 tensor through
 * maximum/minimum instead, which keep every int64 exact. */
TF_DD_INLINE int64_t ui_clamp(int64_t x, params_t p) {
  if ((double)x < p[0]) x = p[0] >= 9.2e18 ? INT64_MAX : (int64_t)ceil(p[0]);
  if ((double)x > p[1]) x = p[1] <= -9.2e18 ? INT64_MIN : (int64_t)floor(p[1]);
  return x;
}

/* ---- predicates (PRED ops), on any dtype read as double ----------------- */
TF_DD_INLINE bool up_isnan(double x) { return isnan(x); }
TF_DD_INLINE bool up_isinf(double x) { return isinf(x); }
TF_DD_INLINE bool up_isfinite(double x) { return isfinite(x); }
TF_DD_INLINE bool up_logical_not(double x) { return x == 0; }

#endif /* TF_UNARY_SCALAR_H */
