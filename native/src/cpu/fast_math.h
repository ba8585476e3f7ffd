/* fast_math.h: branch-free float32 functions that the compiler vectorizes,
 * for ops whose float32 speed matters (see f32impl in tinyfin_ops.def).
 * Each computes in float64 and rounds once, so it keeps the <= 1 ULP
 * float32 bound of the VIA_F64 kernels. */
#ifndef TF_FAST_MATH_H
#define TF_FAST_MATH_H

#include <stdint.h>
#include <string.h>

static inline double tf_bits_to_f64(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
static inline uint64_t tf_f64_to_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

/* e^x for float32: x = k ln2 + r with |r| <= ln2/2, e^r by its degree-8
 * Taylor polynomial (relative error < 3e-10, far below float32's 6e-8
 * half-ULP), then scaled by 2^k through the exponent bits. Inputs are
 * clamped first so k stays in double's normal range; the clamps sit beyond
 * float32's overflow (88.73) and underflow-to-zero (-103.98) points, so the
 * final rounding still gives inf and 0 there. NaN passes through: every
 * comparison with it is false. */
static inline float tf_fast_expf(float xf) {
  const double shift = 0x1.8p52; /* adding it rounds to an integer */
  const double inv_ln2 = 0x1.71547652b82fep0;
  const double ln2 = 0x1.62e42fefa39efp-1;
  double x = xf;
  x = x > 89.0 ? 89.0 : x;
  x = x < -105.0 ? -105.0 : x;
  double kd = x * inv_ln2 + shift;
  uint64_t kbits = tf_f64_to_bits(kd);
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
  uint64_t scale = (kbits + 1023u) << 52;
  return (float)(p * tf_bits_to_f64(scale));
}

#endif /* TF_FAST_MATH_H */
