/* binary_scalar.h: every binary op of tinyfin_ops.def as a scalar formula,
 * written once: BF_<op> on float or double, BI_<op> on int64 (wrapping, as
 * the zero divisors are refused before a kernel runs), BC_<op> for the
 * comparisons and logic on any type. The cpu's row loops (binary.c) expand
 * them, and so do the CUDA kernels (cuda/runtime.cu): under nvcc they are
 * device functions (TF_DD_INLINE). */
#ifndef TF_BINARY_SCALAR_H
#define TF_BINARY_SCALAR_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "double_double.h" /* TF_DD_INLINE: device functions under nvcc */

/* ---- float ops, on T = float or double ---------------------------------- */
#define BF_add(T, x, y) ((x) + (y))
#define BF_sub(T, x, y) ((x) - (y))
#define BF_mul(T, x, y) ((x) * (y))
#define BF_div(T, x, y) ((x) / (y))
#define BF_floor_divide(T, x, y) ((T)floor_divide_f64((double)(x), (double)(y)))
#define BF_remainder(T, x, y) ((T)remainder_f64((double)(x), (double)(y)))
#define BF_pow(T, x, y) ((T)pow((double)(x), (double)(y)))
#define BF_maximum(T, x, y) ((x) != (x) ? (x) : (y) != (y) ? (y) : (x) > (y) ? (x) : (y))
#define BF_minimum(T, x, y) ((x) != (x) ? (x) : (y) != (y) ? (y) : (x) < (y) ? (x) : (y))

#define BF_tanh_backward(T, g, x) ((T)tanh_backward_f64((double)(g), (double)(x)))
#define BF_sigmoid_backward(T, g, x) ((T)sigmoid_backward_f64((double)(g), (double)(x)))

/* g * sech^2(x): 1 - tanh^2 only where tanh^2 <= 1/4 (no cancellation),
 * else 4 e / (1 + e)^2 with e = e^(-2|x|), which stays accurate in the
 * tails where 1 - tanh^2 would round to 0. */
TF_DD_INLINE double tanh_backward_f64(double g, double x) {
  double ax = fabs(x);
  if (ax < 0.5) {
    double t = tanh(x);
    return g * (1.0 - t * t);
  }
  double e = exp(-2.0 * ax);
  return g * (4.0 * e / ((1.0 + e) * (1.0 + e)));
}

/* g * sigmoid(x) sigmoid(-x) = g e / (1 + e)^2 with e = e^(-|x|): no
 * 1 - sigmoid(x) to cancel. */
TF_DD_INLINE double sigmoid_backward_f64(double g, double x) {
  double e = exp(-fabs(x));
  return g * (e / ((1.0 + e) * (1.0 + e)));
}

/* Python's divmod for floats (as NumPy computes it): the remainder takes the
 * divisor's sign and the quotient is rounded so that q*b + r == a holds as
 * closely as floating point allows. */
TF_DD_INLINE double remainder_f64(double a, double b) {
  if (b == 0) return NAN;
  double mod = fmod(a, b);
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = copysign(0.0, b);
  }
  return mod;
}
TF_DD_INLINE double floor_divide_f64(double a, double b) {
  if (b == 0) return a / b;
  double mod = fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0;
  if (div == 0) return copysign(0.0, a / b);
  double floordiv = floor(div);
  if (div - floordiv > 0.5) floordiv += 1.0;
  return floordiv;
}

/* ---- int64 ops: wrap on overflow; zero divisors are rejected before the
 * kernel runs (check_int_divisors) ----------------------------------------- */
TF_DD_INLINE int64_t bi_wrap(uint64_t u) { return (int64_t)u; }
TF_DD_INLINE int64_t floor_divide_i64(int64_t a, int64_t b) {
  if (b == -1) return bi_wrap(0u - (uint64_t)a); /* INT64_MIN / -1 wraps */
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
TF_DD_INLINE int64_t remainder_i64(int64_t a, int64_t b) {
  if (b == -1) return 0;
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
TF_DD_INLINE int64_t pow_i64(int64_t base, int64_t e) {
  uint64_t result = 1, b = (uint64_t)base;
  while (e > 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return bi_wrap(result);
}
#define BI_add(T, x, y) bi_wrap((uint64_t)(x) + (uint64_t)(y))
#define BI_sub(T, x, y) bi_wrap((uint64_t)(x) - (uint64_t)(y))
#define BI_mul(T, x, y) bi_wrap((uint64_t)(x) * (uint64_t)(y))
#define BI_floor_divide(T, x, y) floor_divide_i64(x, y)
#define BI_remainder(T, x, y) remainder_i64(x, y)
#define BI_pow(T, x, y) pow_i64(x, y)
#define BI_maximum(T, x, y) ((x) > (y) ? (x) : (y))
#define BI_minimum(T, x, y) ((x) < (y) ? (x) : (y))

/* ---- comparisons and logic, on any T ------------------------------------ */
#define BC_eq(T, x, y) ((x) == (y))
#define BC_ne(T, x, y) ((x) != (y))
#define BC_lt(T, x, y) ((x) < (y))
#define BC_le(T, x, y) ((x) <= (y))
#define BC_gt(T, x, y) ((x) > (y))
#define BC_ge(T, x, y) ((x) >= (y))
#define BC_logical_and(T, x, y) ((x) && (y))
#define BC_logical_or(T, x, y) ((x) || (y))
#define BC_logical_xor(T, x, y) (!(x) != !(y))

#endif /* TF_BINARY_SCALAR_H */
