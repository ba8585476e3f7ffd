/* unary_dd.h: the float64 kernels that evaluate their formula around a
 * double-double e^x, log or erfc (dd_math.h), so that the result is rounded
 * once: each is within ~0.5 ULP (the bounds in verify/ops_elementwise.py,
 * found by verify's worst-case search). Included by unary.c, where the
 * float32 kernels keep the plain formulas (their ~1e-16 relative error is
 * far below a float32 rounding).
 *
 * Each op has three parts (in the _vec ones, no clamp to a constant before a
 * table lookup: GCC then splits the path, and the lookup, made conditional,
 * no longer vectorizes; out-of-range lanes compute junk that is not
 * selected, and their table indices stay in bounds):
 *   <name>_in(x, p)   where the branch-free main path applies;
 *   <name>_vec(x, p)  that path: selects, no calls, so unary.c's loop runs
 *                     it vectorized over blocks whose inputs are all in;
 *   uf_<name>(x, p)   every input: <name>_vec where _in (so that a result
 *                     never depends on its block's other inputs), else the
 *                     special values and far ranges, element by element. */
#ifndef TF_UNARY_DD_H
#define TF_UNARY_DD_H

#include "dd_math.h"

/* ---- e^x - 1 (libm's expm1 is up to 0.8 ULP off) ------------------------- */
TF_DD_INLINE int expm1_in(double x, params_t p) { (void)p; return x >= -40.0 && x <= 709.0; }
TF_DD_INLINE double expm1_vec(double x, params_t p) {
  (void)p;
  return copysign(dd_expm1(x).hi, x); /* keeps -0 (a test of x == 0 would stop vectorizing) */
}
TF_DD_INLINE double uf_expm1(double x, params_t p) {
  if (expm1_in(x, p)) return expm1_vec(x, p);
  if (x != x) return x;
  if (x < -40.0) return -1.0; /* -1 + e^x rounds to -1 (also -inf) */
  /* x > 709: e^x - 1 rounds as e^x, inf from 709.78 on */
  dd_exp_t e = dd_exp_parts((dd_t){x < 1400.0 ? x : 1400.0, 0.0});
  return ldexp(e.m.hi, e.k);
}

/* ---- log10 (libm's is up to 1.6 ULP off): log x / ln 10, one rounding ---- */
TF_DD_INLINE int log10_in(double x, params_t p) { (void)p; return x >= DBL_MIN && x <= DBL_MAX; }
TF_DD_INLINE double log10_vec(double x, params_t p) {
  (void)p;
  return dd_mul(dd_log(x), TF_INV_LN10).hi;
}
TF_DD_INLINE double uf_log10(double x, params_t p) {
  if (log10_in(x, p)) return log10_vec(x, p);
  if (!(x > 0.0) || x == INFINITY) return log10(x); /* NaN, <= 0, inf: libm */
  /* subnormal: log(x 2^54) - 54 ln2 */
  dd_t l = dd_log(x * 0x1p54);
  dd_t s = dd_two_sum(l.hi, -54.0 * TF_LN2_HI);
  return dd_mul(dd_fast_two_sum(s.hi, s.lo + l.lo - 54.0 * TF_LN2_LO), TF_INV_LN10).hi;
}

/* ---- 1 / sqrt(x) --------------------------------------------------------
 * 1 / sqrt(x) rounds twice (1.5 ULP); one Newton step y + y e / 2 on the
 * residual e = 1 - x y^2 (y^2 an exact product, x y^2 - 1 by fma) leaves
 * one rounding. Beyond 2^+-1000, x is scaled by 2^-+1000 first so that y^2
 * and its low part stay normal. */
TF_DD_INLINE int rsqrt_in(double x, params_t p) { (void)p; return x > 0x1p-1000 && x < 0x1p1000; }
TF_DD_INLINE double rsqrt_vec(double x, params_t p) {
  (void)p;
  double y = 1.0 / sqrt(x);
  dd_t y2 = dd_two_prod(y, y);
  double e = -(fma(x, y2.hi, -1.0) + x * y2.lo);
  return fma(0.5 * y, e, y);
}
TF_DD_INLINE double uf_rsqrt(double x, params_t p) {
  if (rsqrt_in(x, p)) return rsqrt_vec(x, p);
  if (!(x > 0.0) || x == INFINITY) return 1.0 / sqrt(x); /* 0, < 0, inf, NaN */
  return x < 1.0 ? rsqrt_vec(x * 0x1p1000, p) * 0x1p500 : rsqrt_vec(x * 0x1p-1000, p) * 0x1p-500;
}

/* ---- tanh ----------------------------------------------------------------
 * tanh|x| = (1 - E) / (1 + E), E = e^-2|x| in double-double (1 - E keeps
 * 2^-61 relative for |x| >= 2^-6); below 2^-6 the odd series a - a^3/3 +
 * 2a^5/15 - ... (six terms, the next below 2^-78 a), its tail rounded apart
 * from a. libm's tanh is up to 2.1 ULP off, the expm1 form used before 1.5. */
TF_DD_INLINE int tanh_in(double x, params_t p) { (void)p; return x == x; }
TF_DD_INLINE double tanh_vec(double x, params_t p) {
  (void)p;
  double a = fabs(x), a2 = a * a;
  double t = a2 * (-1.0 / 3 + a2 * (2.0 / 15 + a2 * (-17.0 / 315 + a2 * (62.0 / 2835 +
             a2 * (-1382.0 / 155925 + a2 * (21844.0 / 6081075))))));
  double series = a + a * t;
  dd_t e = dd_exp((dd_t){-2.0 * a, 0.0}); /* junk from 22 on, not selected */
  dd_t num = dd_fast_two_sum(1.0, -e.hi), den = dd_fast_two_sum(1.0, e.hi);
  num.lo -= e.lo;
  den.lo += e.lo;
  double q = dd_div(num, den).hi;
  double r = a >= 22.0 ? 1.0 : a < 0x1p-6 ? series : q; /* 1 - tanh 22 < 2^-62 */
  return a < 0x1p-28 ? x : copysign(r, x);            /* keeps -0 */
}
TF_DD_INLINE double uf_tanh(double x, params_t p) { return tanh_in(x, p) ? tanh_vec(x, p) : x; }

/* ---- n / (1 + e^-v), one rounding -----------------------------------------
 * sigmoid (n = 1), silu (n = v = x) and gelu's tanh form x sigmoid(2u):
 * 1 + e^-v in double-double and one Newton step on the quotient (in double,
 * 1 + e^-x rounds from x < -36.7 on, and with libm's exp and the quotient
 * the three roundings reached 2.4 ULP there). For v in [-708, 49]. */
TF_DD_INLINE double over_one_plus_exp_neg(double n, dd_t v) {
  dd_t e = dd_exp((dd_t){-v.hi, -v.lo});
  dd_t d = dd_two_sum(1.0, e.hi);
  d = dd_fast_two_sum(d.hi, d.lo + e.lo);
  double r = 1.0 / d.hi, q = n * r;
  return q + (fma(-q, d.hi, n) - q * d.lo) * r;
}
/* Below v = -708 e^-v would overflow and n / (1 + e^-v) = n e^v (1 - e^v),
 * i.e. n e^v: formed in double-double and rounded once by dd_ldexp, also
 * into the subnormal range; below v = -1400 it is n * 0. */
TF_DD_INLINE double n_exp(double n, dd_t v) {
  if (v.hi < -1400.0) return n * 0.0;
  dd_exp_t e = dd_exp_parts(v);
  return dd_ldexp(dd_mul_d(e.m, n), e.k);
}

TF_DD_INLINE int sigmoid_in(double x, params_t p) { (void)p; return x >= -708.0 && x <= 40.0; }
TF_DD_INLINE double sigmoid_vec(double x, params_t p) {
  (void)p;
  return over_one_plus_exp_neg(1.0, (dd_t){x, 0.0});
}
TF_DD_INLINE double uf_sigmoid(double x, params_t p) {
  if (sigmoid_in(x, p)) return sigmoid_vec(x, p);
  if (x != x) return x;
  return x > 40.0 ? 1.0 : n_exp(1.0, (dd_t){x, 0.0}); /* 1 - e^-x rounds to 1 above 40 */
}

/* silu: x / (1 + e^-x), with x's sign (the quotient's correction would
 * turn -0 into +0); x (1 - e^-x) rounds to x above 40 */
TF_DD_INLINE int silu_in(double x, params_t p) { (void)p; return x >= -708.0 && x <= 40.0; }
TF_DD_INLINE double silu_vec(double x, params_t p) {
  (void)p;
  return copysign(over_one_plus_exp_neg(x, (dd_t){x, 0.0}), x);
}
TF_DD_INLINE double uf_silu(double x, params_t p) {
  if (silu_in(x, p)) return silu_vec(x, p);
  if (x != x || x > 40.0) return x;  /* NaN, +inf */
  if (x == -INFINITY) return -0.0;   /* the limit; x * 0 would invent a NaN */
  return n_exp(x, (dd_t){x, 0.0});
}

/* ---- gelu ------------------------------------------------------------------
 * Exact form: x Phi(x) = x/2 erfc(z), z = -x/sqrt2. For x < 0 it is x times
 * a tail whose relative sensitivity to z is 2z^2, so z is a double-double,
 * and so is erfc z (dd_math.h; libm's erfc is up to 3 ULP off, and the form
 * used before reached 4.5 ULP near x = -37):
 *   |z| <= 8      x/2 erfc(z) = x/2 e^(-x^2/2) erfcx(z) for x < 0 (x^2 an
 *                 exact product), x - x/2 erfc|z| for x >= 0
 *   8 < z <= 28   -e^(-x^2/2) (1 + s) / sqrt(2 pi), the asymptotic series,
 *                 as x/2 / (z sqrt(pi)) = -1/sqrt(2 pi); rounded once into
 *                 the subnormal range
 *   z > 28        -0 (the value is below 2^-1100); x itself for z < -8
 * Tanh form: x/2 (1 + tanh u) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715
 * x^3), whose sensitivity to u is ~2|u| (up to ~700), so u is a
 * double-double (x^3 exact to 2^-104) and enters e^-2u as one.
 * Both: below 2^-60, x (1/2 + x/sqrt(2 pi)) rounds as x/2, whose sign
 * survives an underflow to 0. */
TF_DD_INLINE dd_t gelu_z(double x) { return dd_mul_d(TF_NEG_SQRT1_2, x); }
TF_DD_INLINE dd_t gelu_half_x2(double x) {
  dd_t x2 = dd_two_prod(x, x);
  return (dd_t){-0.5 * x2.hi, -0.5 * x2.lo}; /* -x^2/2, exact */
}
TF_DD_INLINE dd_t gelu_tanh_v(double x) {
  dd_t x3 = dd_mul_d(dd_two_prod(x, x), x);
  dd_t u = dd_mul(dd_add_d(dd_mul_d(x3, 0.044715), x), TF_SQRT_2_OVER_PI);
  return (dd_t){2.0 * u.hi, 2.0 * u.lo};
}
TF_DD_INLINE int gelu_in(double x, params_t p) {
  return fabs(x) >= 0x1p-60 &&
         (p[0] == 0 ? x >= -11.3 && x <= 11.3 : x >= -21.1 && x < 8.0);
}
TF_DD_INLINE double gelu_vec(double x, params_t p) {
  if (p[0] != 0) return over_one_plus_exp_neg(x, gelu_tanh_v(x));
  dd_t z = gelu_z(x);
  dd_t az = z.hi < 0.0 ? (dd_t){-z.hi, -z.lo} : z;
  dd_t h = dd_mul_d(dd_mul(dd_exp(gelu_half_x2(x)), dd_erfcx_table(az)), 0.5 * x);
  dd_t r = dd_two_sum(x, -h.hi);
  return dd_select(x >= 0.0, r.hi + (r.lo - h.lo), h.hi);
}
TF_DD_INLINE double uf_gelu(double x, params_t p) {
  if (gelu_in(x, p)) return gelu_vec(x, p);
  if (x != x || x == INFINITY) return x;
  if (x == -INFINITY) return -0.0; /* the limit; x * 0 would invent a NaN */
  if (fabs(x) < 0x1p-60) return 0.5 * x;
  if (x > 0.0) return x; /* both forms round to x here */
  if (p[0] != 0) return x < -1e4 ? -0.0 : n_exp(x, gelu_tanh_v(x)); /* e^2u < e^-10^11 */
  dd_t z = gelu_z(x);
  if (z.hi > 28.0) return -0.0;
  dd_exp_t e = dd_exp_parts(gelu_half_x2(x));
  dd_t c = dd_mul(e.m, TF_NEG_INV_SQRT_2PI);
  double s = erfc_asymptotic_tail(z.hi); /* z.lo moves s by ~2^-112 */
  return dd_ldexp(dd_fast_two_sum(c.hi, c.lo + c.hi * s), e.k);
}

/* ---- erf (libm's is up to 1.3 ULP off) -------------------------------------
 * 1 - erfc|x| from the double-double erfc for |x| >= 1/4; below, the series
 * 2/sqrt(pi) x (1 - x^2/3 + x^4/10 - ...) to x^26 (the next term is below
 * 2^-90), its leading product in double-double and its tail t (|t| < 1/48,
 * so t's own rounding costs below 0.1 ULP; up to 1/2 it cost 0.3); from
 * |x| = 6 on, +-1
 * (erfc 6 < 2^-54); below 2^-960 the product scaled so it rounds once. */
TF_DD_INLINE int erf_in(double x, params_t p) {
  (void)p;
  return fabs(x) < 6.0 && fabs(x) >= 0x1p-960;
}
TF_DD_INLINE double erf_vec(double x, params_t p) {
  (void)p;
  static const double C[13] = { /* (-1)^n / (n! (2n + 1)), n = 13 .. 1 */
      -1.0 / 168129561600.0, 1.0 / 11975040000.0, -1.0 / 918086400.0, 1.0 / 76204800.0,
      -1.0 / 6894720.0, 1.0 / 685440.0, -1.0 / 75600.0, 1.0 / 9360.0, -1.0 / 1320.0,
      1.0 / 216.0, -1.0 / 42.0, 1.0 / 10.0, -1.0 / 3.0};
  double a = fabs(x), a2 = x * x, t = 0.0;
#pragma GCC unroll 13
  for (int i = 0; i < 13; i++) t = (t + C[i]) * a2;
  dd_t c = dd_mul_d(TF_TWO_OVER_SQRTPI, x);
  double series = c.hi + (c.lo + c.hi * t);
  dd_t e = dd_erfc_table((dd_t){a, 0.0});
  dd_t r = dd_two_sum(1.0, -e.hi);
  return dd_select(a < 0.25, series, copysign(r.hi + (r.lo - e.lo), x));
}
TF_DD_INLINE double uf_erf(double x, params_t p) {
  if (erf_in(x, p)) return erf_vec(x, p);
  if (x != x || x == 0.0) return x;
  if (fabs(x) >= 6.0) return copysign(1.0, x);
  return dd_ldexp(dd_mul_d(TF_TWO_OVER_SQRTPI, x * 0x1p64), -64);
}

/* ---- softplus ------------------------------------------------------------
 * log(1 + e^(beta x)) / beta, x itself above threshold as in PyTorch; for
 * beta x > 0, beta x + log1p(e^(-beta x)) so e^ never overflows. beta x is
 * an exact product, log1p(e^-|beta x|) a double-double, the division by
 * beta rounds once (libm's log1p of a rounded e^. was up to 1.5 ULP off).
 * Below beta x = -690 the value is e^(beta x) / beta. */
TF_DD_INLINE int softplus_in(double x, params_t p) {
  double bx = p[0] * x;
  return bx >= -690.0 && (bx <= 40.0 || bx > p[1]); /* false for NaN */
}
TF_DD_INLINE double softplus_vec(double x, params_t p) {
  dd_t bx = dd_two_prod(p[0], x);
  /* e^-|bx|: junk where bx > threshold and 40, not selected */
  dd_t l = dd_log1p_unit(dd_exp(bx.hi > 0.0 ? (dd_t){-bx.hi, -bx.lo} : bx));
  dd_t r = bx.hi > 0.0 ? dd_add(bx, l) : l;
  return bx.hi > p[1] ? x : dd_div(r, (dd_t){p[0], 0.0}).hi;
}
TF_DD_INLINE double uf_softplus(double x, params_t p) {
  if (softplus_in(x, p)) return softplus_vec(x, p);
  dd_t bx = dd_two_prod(p[0], x);
  if (x != x || bx.hi > 40.0) return x; /* log1p(e^-bx) / beta < 2^-54 x */
  if (bx.hi < -1400.0) return 0.0 / p[0];
  dd_exp_t e = dd_exp_parts(bx); /* log1p(e^bx) = e^bx (1 - e^bx / 2 ...) */
  return dd_ldexp(dd_div(e.m, (dd_t){p[0], 0.0}), e.k);
}

/* ---- elu: alpha (e^x - 1) for x <= 0, one rounding ------------------------ */
TF_DD_INLINE int elu_in(double x, params_t p) { (void)p; return x >= -40.0; }
TF_DD_INLINE double elu_vec(double x, params_t p) {
  double r = dd_mul_d(dd_expm1(x), p[0]).hi; /* junk for x > 0, not selected */
  /* A product that underflows to 0 comes out +0 from the double-double sum
   * (-0 + +0); its sign is that of p0 * x, as NumPy's p0 * expm1(x) gives. */
  r = copysign(r, p[0] * x);
  return x > 0.0 ? x : x == 0.0 ? p[0] * x : r; /* +-0 as p0 * expm1(+-0) */
}
TF_DD_INLINE double uf_elu(double x, params_t p) {
  if (elu_in(x, p)) return elu_vec(x, p);
  return x != x ? x : -p[0]; /* alpha (e^x - 1) rounds to -alpha below -40 */
}

#endif /* TF_UNARY_DD_H */
