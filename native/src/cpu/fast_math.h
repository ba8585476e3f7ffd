/* fast_math.h: branch-free float32 functions that the compiler vectorizes,
 * for ops whose float32 speed matters (see f32impl in tinyfin_ops.def).
 * Each computes in float64 and rounds once, so it keeps the <= 1 ULP
 * float32 bound of the VIA_F64 kernels. */
#ifndef TF_FAST_MATH_H
#define TF_FAST_MATH_H

#include <stdint.h>
#include <string.h>

#include "double_double.h" /* TF_DD_INLINE: device functions under nvcc */

/* Build a function for AVX-512, AVX2 and baseline x86-64; the loader picks
 * the best one the CPU has (GCC function multiversioning). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define TF_SIMD_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TF_SIMD_CLONES
#endif

/* e^x in float64 arithmetic for float32-range arguments: x = k ln2 + r with
 * |r| <= ln2/2, e^r by its degree-8 Taylor polynomial (relative error
 * < 3e-10, far below float32's 6e-8 half-ULP), then scaled by 2^k through
 * the exponent bits. The argument is clamped first so k stays in double's
 * normal range; the clamps sit beyond float32's overflow (88.73) and near
 * double's underflow (-708), so rounding the result to float32 still gives
 * inf and 0 there, and sums of many tiny terms in double stay right. Written as x < c ? x : c, the form that maps
 * to a vector min/max, so a loop of it vectorizes; that form turns NaN into
 * c, so callers that may see NaN must select it back. */
TF_DD_INLINE double tf_exp_poly(double x) {
  const double shift = 0x1.8p52; /* adding it rounds to an integer */
  const double inv_ln2 = 0x1.71547652b82fep0;
  const double ln2 = 0x1.62e42fefa39efp-1;
  x = x < 89.0 ? x : 89.0;
  x = x > -708.0 ? x : -708.0;
  double kd = x * inv_ln2 + shift;
  uint64_t kbits;
  memcpy(&kbits, &kd, sizeof kbits);
  kd -= shift;
  double r = x - kd * ln2;
  double p = 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  /* The low bits of kd's representation hold k (two's complement). */
  uint64_t scale_bits = (kbits + 1023u) << 52;
  double scale;
  memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

/* e^x for float32, rounded once from tf_exp_poly; NaN passes through. */
TF_DD_INLINE float tf_fast_expf(float xf) {
  float result = (float)tf_exp_poly(xf);
  return xf != xf ? xf : result;
}

#endif /* TF_FAST_MATH_H */
