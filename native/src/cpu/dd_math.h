/* dd_math.h: e^x, e^x - 1, log x and erfc x as double-doubles (~2^-60
 * relative or better), for the float64 kernels of unary_dd.h.
 *
 * Why: libm rounds each function to a double, and the kernels' formulas
 * round again (1 + e^-x, a quotient, a product). Where the result sits just
 * below a power of two, so that its ULP is half the relative size of its
 * operands', two or three such roundings add up to 2-5 ULP (sigmoid near
 * x = -36.7 reached 2.4). With the inner function in double-double only the
 * final rounding is left, and the kernels are within ~0.5 ULP.
 *
 * The constants (2^(j/64), erfcx(i/8), split logarithms) are in
 * dd_tables.h, generated from mpmath by gen_dd_tables.py. */
#ifndef TF_DD_MATH_H
#define TF_DD_MATH_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dd_tables.h"
#include "double_double.h"

/* ---- e^x ------------------------------------------------------------------
 * x = n ln2/64 + r, |r| <= ln2/128; e^x = 2^k T[j] e^r, n = 64k + j,
 * T[j] = 2^(j/64); e^r = 1 + r + p(r), p(r) = r^2/2 + ... + r^7/7! (the
 * first neglected term, r^8/8!, is below 2^-76). n * TF_LN2_64_HI is exact
 * for |n| < 2^17, and so is x - n * TF_LN2_64_HI (Sterbenz). */

/* e^a = m 2^k, m a double-double in about [1, 2) */
typedef struct {
  dd_t m;
  int k;
} dd_exp_t;

/* m = T[j] e^r and the bits of a 64/ln2 + 1.5 2^52, whose low bits hold n
 * (two's complement), so that n, j and 2^k come from integer operations
 * that vectorize (as in fast_math.h). For |a.hi| < 1400 and |a.lo| <=
 * ulp(a.hi); m is within 2^-66 relative. (Near a = 0, m - 1 keeps only
 * 2^-106 absolute: use dd_expm1_small there.) */
TF_DD_INLINE dd_t dd_exp_m(dd_t a, uint64_t *nbits, double *nd) {
  const double INV_LN2_64 = 0x1.71547652b82fep+6; /* 64 / ln2 */
  const double SHIFT = 0x1.8p52;                  /* adding it rounds to an integer */
  double kd = a.hi * INV_LN2_64 + SHIFT;
  memcpy(nbits, &kd, sizeof *nbits);
  *nd = kd - SHIFT;
  uint64_t j = *nbits & 63u;
  double r_hi = a.hi - *nd * TF_LN2_64_HI; /* exact */
  double r_lo = a.lo - *nd * TF_LN2_64_LO;
  double r = r_hi + r_lo;
  double p = r * r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 +
             r * (1.0 / 720 + r * (1.0 / 5040))))));
  /* m = T (1 + r_hi + (r_lo + p)), the product T r_hi exact */
  double t_hi = TF_EXP2_J64[j][0], t_lo = TF_EXP2_J64[j][1];
  dd_t tq = dd_two_prod(t_hi, r_hi);
  dd_t s = dd_fast_two_sum(t_hi, tq.hi);
  double lo = s.lo + tq.lo + t_lo + t_hi * (r_lo + p) + t_lo * r_hi;
  return dd_fast_two_sum(s.hi, lo);
}

/* e^a = m 2^k for |a.hi| < 1400 (scalar: the callers' rare far branches) */
TF_DD_INLINE dd_exp_t dd_exp_parts(dd_t a) {
  uint64_t bits;
  double nd;
  dd_t m = dd_exp_m(a, &bits, &nd);
  int64_t n = (int64_t)nd;
  return (dd_exp_t){m, (int)((n - (int64_t)(bits & 63u)) / 64)};
}

/* e^a as a double-double where k is in [-1022, 1023], i.e. a.hi in
 * [-708.39, 709.43] (below -690 the low part is subnormal and carries less;
 * use dd_exp_parts there and above 709.43). 2^k is built from n's bits:
 * (bits - j) << 46 is 64 k << 46 = k << 52 modulo 2^64, the shift's own
 * bits (bit 51 and up) falling off the top. */
TF_DD_INLINE dd_t dd_exp(dd_t a) {
  uint64_t bits;
  double nd;
  dd_t m = dd_exp_m(a, &bits, &nd);
  uint64_t sb = ((bits - (bits & 63u)) << 46) + ((uint64_t)1023 << 52);
  double s;
  memcpy(&s, &sb, sizeof s);
  return (dd_t){m.hi * s, m.lo * s};
}

/* (p.hi + p.lo) 2^k rounded once, also where the result is subnormal:
 * ldexp rounds p.hi to the subnormal grid; the remainder of p.hi (exact)
 * plus p.lo decides whether the nearest grid point is the next one. */
TF_DD_INLINE double dd_ldexp(dd_t p, int k) {
  double r = ldexp(p.hi, k);
  if (fabs(r) >= DBL_MIN || r != r || fabs(r) == INFINITY) return r;
  double u = ldexp(DBL_TRUE_MIN, -k); /* the grid step in p's scale */
  double t = (p.hi - ldexp(r, -k)) + p.lo;
  if (t > 0.5 * u) return r + DBL_TRUE_MIN;
  if (t < -0.5 * u) return r - DBL_TRUE_MIN;
  return r;
}

/* ---- helpers ------------------------------------------------------------- */
/* a + b exactly, any magnitudes (TwoSum) */
TF_DD_INLINE dd_t dd_two_sum(double a, double b) {
  double s = a + b;
  double bb = s - a;
  return (dd_t){s, (a - (s - bb)) + (b - bb)};
}

/* a + b for double-doubles, to ~2^-104 of the larger */
TF_DD_INLINE dd_t dd_add(dd_t a, dd_t b) {
  dd_t s = dd_two_sum(a.hi, b.hi);
  return dd_fast_two_sum(s.hi, s.lo + a.lo + b.lo);
}

/* n / d as a double-double: one Newton step on the residual n - q d, its
 * leading part n.hi - q d.hi exact by fma */
TF_DD_INLINE dd_t dd_div(dd_t n, dd_t d) {
  double q = n.hi / d.hi;
  double rem = (fma(-q, d.hi, n.hi) + n.lo) - q * d.lo;
  return dd_fast_two_sum(q, rem / d.hi);
}

/* ---- e^x - 1 ---------------------------------------------------------------
 * For |x| < ln2/128, x + p(x), a double-double accurate relative to e^x - 1
 * itself (1 + q with q tiny would have lost q's low digits in rounding the
 * low part); elsewhere e^x - 1 in double-double, which cancels at most 8
 * bits (e^x - 1 >= 0.0054 e^x there). Both are computed and one selected,
 * which vectorizes. For x in [-708, 709.43]. */
#define DD_EXPM1_SMALL 0x1.62e42fefa39efp-8 /* ln2/128 */
TF_DD_INLINE dd_t dd_expm1_small(dd_t a) {
  double x = a.hi + a.lo;
  double p = x * x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24 + x * (1.0 / 120 +
             x * (1.0 / 720 + x * (1.0 / 5040 + x * (1.0 / 40320)))))));
  return dd_fast_two_sum(a.hi, a.lo + p);
}
TF_DD_INLINE dd_t dd_expm1(double x) {
  dd_t s = dd_expm1_small((dd_t){x, 0.0});
  dd_t e = dd_exp((dd_t){x, 0.0});
  dd_t d = dd_two_sum(e.hi, -1.0);
  d = dd_fast_two_sum(d.hi, d.lo + e.lo);
  return fabs(x) < DD_EXPM1_SMALL ? s : d;
}

/* ---- log -------------------------------------------------------------------
 * A first guess y of the logarithm within ~2^-30, then one Newton step
 * through the double-double e^-y: if v e^-y = 1 + c, log v = y + log(1 + c)
 * = y + c - c^2/2 (c^3/3 is below 2^-90). Where |y| >= ln2/128, c =
 * (v g - 1) from g = e^-y (2^-66 relative, so c is within 2^-66 absolute,
 * 2^-58 relative to y); nearer 0 it is formed from q = e^-y - 1
 * (dd_expm1_small), as g's low part would have been rounded at 2^-106
 * absolute, too coarse next to a tiny y. No libm call and no branch, so the
 * loops vectorize. */

/* c for v e^-y = 1 + c, where v = 1 + u (u a double-double) */
TF_DD_INLINE double dd_log_residual(dd_t u, double y) {
  dd_t g = dd_exp((dd_t){-y, 0.0});
  dd_t q = dd_expm1_small((dd_t){-y, 0.0});
  /* |y| >= ln2/128: (g - 1) + u g, g.hi - 1 exact (g in [1/2, 2]) */
  dd_t a1 = dd_two_sum(g.hi, -1.0), b1 = dd_mul(u, g);
  /* |y| < ln2/128: u + q + u q, u + q cancelling exactly */
  dd_t a2 = dd_add(u, q), b2 = dd_mul(u, q);
  int small = fabs(y) < DD_EXPM1_SMALL;
  dd_t a = small ? a2 : (dd_t){a1.hi, a1.lo + g.lo}, b = small ? b2 : b1;
  dd_t c = dd_two_sum(a.hi, b.hi);
  return c.hi + (c.lo + a.lo + b.lo);
}

/* 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...) to s^(2n+1), n = terms */
TF_DD_INLINE double atanh2_series(double s, int terms) {
  double s2 = s * s, t = 0.0;
#pragma GCC unroll 10
  for (int k = terms; k >= 1; k--) t = s2 * (1.0 / (2 * k + 1) + t);
  return 2.0 * (s + s * t);
}

/* log x for normal x > 0 (finite): x = 2^e m, m in [sqrt(1/2), sqrt(2)),
 * the guess 2 atanh((m - 1)/(m + 1)) to s^13 (|s| <= 0.172, within 2^-35),
 * e ln2 + log m in double-double (|log m| <= |e ln2| / 2: no cancellation).
 * Within ~2^-60 relative. */
TF_DD_INLINE dd_t dd_log(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  uint64_t mb = (b & 0x000fffffffffffffu) | 0x3ff0000000000000u; /* m in [1, 2) */
  uint64_t big = mb > 0x3ff6a09e667f3bccu;                          /* m > sqrt(2) */
  double m;
  memcpy(&m, &mb, sizeof m);
  m = big ? 0.5 * m : m;
  /* e as a double through the bits of 2^52 + the biased exponent (+1):
   * converting an int (cvtsi2sd) would carry a false dependency from one
   * element to the next, and vectorizes badly */
  uint64_t eb = 0x4330000000000000u + (b >> 52) + big;
  double e;
  memcpy(&e, &eb, sizeof e);
  e -= 0x1p52 + 1023.0;
  double u = m - 1.0; /* exact */
  double y = atanh2_series(u / (m + 1.0), 6);
  double c = dd_log_residual((dd_t){u, 0.0}, y);
  dd_t lm = dd_fast_two_sum(y, c - 0.5 * c * c);
  dd_t s = dd_two_sum(e * TF_LN2_HI, lm.hi);
  return dd_fast_two_sum(s.hi, s.lo + lm.lo + e * TF_LN2_LO);
}

/* log(1 + w) for a double-double w in [0, 1]: the guess 2 atanh(w/(2 + w))
 * to s^21 (|s| <= 1/3, within 2^-36), then the same Newton step */
TF_DD_INLINE dd_t dd_log1p_unit(dd_t w) {
  double y = atanh2_series(w.hi / (2.0 + w.hi), 10);
  double c = dd_log_residual(w, y);
  return dd_fast_two_sum(y, c - 0.5 * c * c);
}

/* ---- erfc x ----------------------------------------------------------------
 * erfc z = e^-z^2 F(z), F = erfcx. For z in [0, 8]: F about the nearest
 * z0 = i/8 (|h| = |z - z0| <= 1/16) by its Taylor series, whose
 * coefficients follow from F' = 2 z F - 2/sqrt(pi):
 *   a_{k+1} = (2 z0 a_k + 2 a_{k-1}) / (k + 1),
 * so the table holds only F(z0) (dd_tables.h). a_0 and a_1 are
 * double-doubles; the terms from h^2 on are below F/40 and are summed in
 * double; terms up to h^13 (the next is below 2^-62 F); z.lo enters to first
 * order through F'. Measured against mpmath: within 2^-59 relative. */
TF_DD_INLINE dd_t dd_erfcx_table(dd_t z) {
  /* i = z.hi * 8 rounded, from the bits of z.hi * 8 + 1.5 2^52 (an integer
   * index from a conversion would not vectorize as a gather) */
  double id = z.hi * 8.0 + 0x1.8p52;
  uint64_t i;
  memcpy(&i, &id, sizeof i);
  i &= 127u; /* in bounds for any z (the table has 128 entries) */
  double z0 = 0.125 * (id - 0x1.8p52), h = z.hi - z0; /* exact */
  dd_t a0 = {TF_ERFCX_8TH[i][0], TF_ERFCX_8TH[i][1]};
  dd_t a1 = dd_add(dd_mul_d(a0, 2.0 * z0),
                   (dd_t){-TF_TWO_OVER_SQRTPI.hi, -TF_TWO_OVER_SQRTPI.lo});
  /* t_k = a_k h^k: t_{k+1} = (2 z0 h t_k + 2 h^2 t_{k-1}) / (k + 1) */
  static const double INV[14] = {0, 1, 1.0 / 2, 1.0 / 3, 1.0 / 4, 1.0 / 5, 1.0 / 6, 1.0 / 7,
                                 1.0 / 8, 1.0 / 9, 1.0 / 10, 1.0 / 11, 1.0 / 12, 1.0 / 13};
  double zh = 2.0 * z0 * h, hh = 2.0 * h * h;
  double t_prev = a1.hi * h, t = (z0 * a1.hi + a0.hi) * h * h, sum = t;
#pragma GCC unroll 11
  for (int k = 2; k < 13; k++) {
    double tn = (zh * t + hh * t_prev) * INV[k + 1];
    t_prev = t;
    t = tn;
    sum += t;
  }
  dd_t f = dd_add(a0, dd_mul_d(a1, h));
  double fd = 2.0 * z.hi * f.hi - TF_TWO_OVER_SQRTPI.hi; /* F'(z) */
  return dd_fast_two_sum(f.hi, f.lo + (sum + z.lo * fd));
}

/* erfc z for z = z.hi + z.lo in [0, 8.06], as a double-double */
TF_DD_INLINE dd_t dd_erfc_table(dd_t z) {
  dd_t z2 = dd_mul(z, z);
  return dd_mul(dd_exp((dd_t){-z2.hi, -z2.lo}), dd_erfcx_table(z));
}

/* z sqrt(pi) erfcx(z) - 1 for z >= 8, by the asymptotic series
 *   sum_{k=1..24} (-1)^k (2k-1)!! / (2 z^2)^k,
 * whose 25th term is below 2^-66 for z >= 8. The sum (below 1/128) is
 * returned alone so the caller can add it to 1 without rounding. */
TF_DD_INLINE double erfc_asymptotic_tail(double z) {
  double w = 1.0 / (2.0 * z * z), s = 0.0;
  for (int k = 24; k >= 1; k--) s = -(2 * k - 1) * w * (1.0 + s);
  return s;
}

#endif /* TF_DD_MATH_H */
