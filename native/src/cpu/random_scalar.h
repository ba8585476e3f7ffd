/* random_scalar.h: the random number stream, written once for every
 * backend: Philox4x32-10 (Salmon et al., SC'11) and what one of its blocks
 * (four 32-bit words) becomes. The cpu's kernel (random.c) and the CUDA
 * kernel (cuda/creation.cu, where TF_DD_INLINE makes these device
 * functions) both expand them, so manual_seed(s) gives bitwise the same
 * numbers on both devices.
 *
 * Bitwise the same needs the same operations, rounded the same way:
 *  - only correctly rounded operations (+ - * / sqrt, fma, floor, exponent
 *    bits), the same on the host and on the GPU; every multiply-add whose
 *    product is inexact is an explicit fma(), so no compiler can fuse or
 *    split one differently (the products left to contraction, 4u and 2m,
 *    are exact: fused or not, they round alike);
 *  - no libm transcendental: glibc's log, sin and cos and CUDA's differ in
 *    the last bit now and then, so Box-Muller uses tr_log and
 *    tr_sincos_2pi below (polynomials in those operations, within a few
 *    ULP, which is far below anything a normal sample can show). */
#ifndef TF_RANDOM_SCALAR_H
#define TF_RANDOM_SCALAR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "double_double.h" /* TF_DD_INLINE */

/* The kinds of tf_random_kernel (backend.h), and how many elements one
 * Philox block (four 32-bit words) gives each: part of the stream's
 * definition, so every backend draws the same numbers. */
enum { TF_RANDOM_UNIFORM, TF_RANDOM_NORMAL, TF_RANDOM_INT };
#ifdef __CUDACC__
__host__ __device__
#endif
static inline int tr_per_block(int kind, int is_float32) {
  return kind == TF_RANDOM_UNIFORM ? (is_float32 ? 4 : 2) : kind == TF_RANDOM_NORMAL ? 2 : 1;
}

/* Philox4x32-10: 10 rounds of multiply-xor over the counter, keyed by the
 * seed. */
TF_DD_INLINE void tr_philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* Uniform doubles: 53 random bits in [0, 1), or in (0, 1) when open. */
TF_DD_INLINE double tr_unit53(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1p-53;
}
TF_DD_INLINE double tr_unit53_open(uint32_t hi, uint32_t lo) {
  return ((double)((((uint64_t)hi << 32) | lo) >> 11) + 0.5) * 0x1p-53;
}

/* 1 / (2k + 1), (-1)^k / (2k + 1)! and (-1)^k / (2k)!, k = 0..11: the
 * series below (decimal literals, rounded to double the same way by every
 * compiler). */
TF_DD_CONST double tr_atanh_c[12] = {
    1.0, 0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111,
    0.09090909090909091, 0.07692307692307693, 0.06666666666666667,
    0.058823529411764705, 0.05263157894736842, 0.047619047619047616,
    0.043478260869565216};
TF_DD_CONST double tr_sin_c[12] = {
    1.0, -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984,
    2.7557319223985893e-06, -2.505210838544172e-08, 1.6059043836821613e-10,
    -7.647163731819816e-13, 2.8114572543455206e-15, -8.22063524662433e-18,
    1.9572941063391263e-20, -3.868170170630684e-23};
TF_DD_CONST double tr_cos_c[12] = {
    1.0, -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05,
    -2.755731922398589e-07, 2.08767569878681e-09, -1.1470745597729725e-11,
    4.779477332387385e-14, -1.5619206968586225e-16, 4.110317623312165e-19,
    -8.896791392450574e-22};

/* log u for a normal positive u: u = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716, by its series
 * to s^23 (the next term is below 2^-60 of the sum). */
TF_DD_INLINE double tr_log(double u) {
  /* u = m 2^e with m in [1/2, 1), from the bits (exact; frexp is a call) */
  uint64_t bits;
  memcpy(&bits, &u, sizeof bits);
  int e = (int)((bits >> 52) & 0x7FF) - 1022;
  bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FE0000000000000ull;
  double m;
  memcpy(&m, &bits, sizeof m);
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  double f = m - 1.0; /* exact: m is within a factor 2 of 1 */
  double s = f / (2.0 + f), z = s * s;
  double q = tr_atanh_c[11];
  for (int k = 10; k >= 1; k--) q = fma(q, z, tr_atanh_c[k]);
  double two_s = 2.0 * s;
  double log_m = fma(two_s * z, q, two_s); /* 2s (1 + z/3 + z^2/5 + ...) */
  return fma((double)e, 0.69314718055994530942, log_m);
}

/* sin and cos of 2 pi u for u in [0, 1): 4u = q + r exactly (|r| <= 1/2),
 * x = r pi / 2 in [-pi/4, pi/4] by Taylor series to x^23 / x^22, and the
 * quadrant q mod 4 rotates the pair. */
TF_DD_INLINE void tr_sincos_2pi(double u, double *sin_out, double *cos_out) {
  double t = 4.0 * u, q = floor(t + 0.5), r = t - q;
  double x = r * 1.57079632679489661923, z = x * x;
  double ps = tr_sin_c[11], pc = tr_cos_c[11];
  for (int k = 10; k >= 0; k--) {
    ps = fma(ps, z, tr_sin_c[k]);
    pc = fma(pc, z, tr_cos_c[k]);
  }
  double s = x * ps, c = pc;
  switch ((int)q & 3) {
    case 0: *sin_out = s, *cos_out = c; break;
    case 1: *sin_out = c, *cos_out = -s; break;
    case 2: *sin_out = -s, *cos_out = -c; break;
    default: *sin_out = -c, *cos_out = s; break;
  }
}

/* ---- what block w gives element s of the block (tf_random_per_block) ----- */
/* uniform in [lo, hi): 24 bits for float32 (every float in [0, 1)), 53 for
 * float64; a value that rounds up to hi becomes the float below it. */
TF_DD_INLINE float tr_rand_f32(const uint32_t w[4], int s, const double *p) {
  float u = (float)(w[s] >> 8) * 0x1p-24f;
  float v = fmaf((float)(p[1] - p[0]), u, (float)p[0]);
  return v < (float)p[1] ? v : nextafterf((float)p[1], (float)p[0]);
}
TF_DD_INLINE double tr_rand_f64(const uint32_t w[4], int s, const double *p) {
  double v = fma(p[1] - p[0], tr_unit53(w[2 * s], w[2 * s + 1]), p[0]);
  return v < p[1] ? v : nextafter(p[1], p[0]);
}

/* Box-Muller: one block gives two normals (mean p[0], std p[1]) from two
 * uniforms, the first open so that its log is finite. */
TF_DD_INLINE double tr_randn(const uint32_t w[4], int s, const double *p) {
  double radius = sqrt(-2.0 * tr_log(tr_unit53_open(w[0], w[1])));
  double sin_t, cos_t;
  tr_sincos_2pi(tr_unit53(w[2], w[3]), &sin_t, &cos_t);
  return fma(p[1], radius * (s == 0 ? cos_t : sin_t), p[0]);
}

/* An integer in [low, high) (int64 bits in p[0], p[1]): the top 64 bits of
 * range * u for a 128-bit uniform u. The bias is below range / 2^128, far
 * below anything a test can see, and every element uses one block. */
TF_DD_INLINE int64_t tr_randint(const uint32_t w[4], const double *p) {
  int64_t low, high;
  memcpy(&low, &p[0], sizeof low);
  memcpy(&high, &p[1], sizeof high);
  uint64_t range = (uint64_t)high - (uint64_t)low;
  uint64_t hi = ((uint64_t)w[0] << 32) | w[1], lo = ((uint64_t)w[2] << 32) | w[3];
  unsigned __int128 top = (unsigned __int128)range * hi;
  unsigned __int128 carry = ((unsigned __int128)range * lo) >> 64;
  return (int64_t)((uint64_t)low + (uint64_t)((top + carry) >> 64));
}

#endif /* TF_RANDOM_SCALAR_H */
