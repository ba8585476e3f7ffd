/* double_double.h: unevaluated sums hi + lo of two doubles (~106 bits), for
 * the kernels that carry an intermediate beyond double precision so that
 * their result rounds once (dd_math.h, unary_dd.h).
 *
 * The error-free steps rely on fma() and on the compiler not re-associating
 * (no -ffast-math); -ffp-contract=fast may only fuse a product into an add,
 * which keeps every step below at least as accurate. */
#ifndef TF_DOUBLE_DOUBLE_H
#define TF_DOUBLE_DOUBLE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Forced inline (here and in dd_math.h): the float64 loops that call these
 * are built per instruction set (TF_SIMD_CLONES), and an out-of-line copy
 * would be built for the baseline only, where fma() is a libm call. */
#if defined(__CUDACC__)
/* device functions, so that CUDA kernels can run the same code */
#define TF_DD_INLINE static __device__ __forceinline__
#define TF_DD_CONST static __device__ const
#elif defined(__GNUC__)
#define TF_DD_INLINE static inline __attribute__((always_inline))
#define TF_DD_CONST static const
#else
#define TF_DD_INLINE static inline
#define TF_DD_CONST static const
#endif

typedef struct {
  double hi, lo;
} dd_t;

/* c ? a : b as a bitwise blend, for the vectorized kernels: with a ternary
 * GCC may move the computation of a value used in one arm only into a
 * branch, whose table lookups then no longer vectorize */
TF_DD_INLINE double dd_select(int c, double a, double b) {
  uint64_t ua, ub, m = (uint64_t)0 - (uint64_t)(c != 0);
  memcpy(&ua, &a, sizeof ua);
  memcpy(&ub, &b, sizeof ub);
  uint64_t r = (ua & m) | (ub & ~m);
  double d;
  memcpy(&d, &r, sizeof d);
  return d;
}

/* a + b exactly, for |a| >= |b| (or a == 0) */
TF_DD_INLINE dd_t dd_fast_two_sum(double a, double b) {
  double s = a + b;
  return (dd_t){s, b - (s - a)};
}

/* a * b exactly (barring underflow) */
TF_DD_INLINE dd_t dd_two_prod(double a, double b) {
  double p = a * b;
  return (dd_t){p, fma(a, b, -p)};
}

TF_DD_INLINE dd_t dd_mul_d(dd_t a, double b) {
  dd_t p = dd_two_prod(a.hi, b);
  return dd_fast_two_sum(p.hi, p.lo + a.lo * b);
}

TF_DD_INLINE dd_t dd_mul(dd_t a, dd_t b) {
  dd_t p = dd_two_prod(a.hi, b.hi);
  return dd_fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

TF_DD_INLINE dd_t dd_add_d(dd_t a, double b) {
  double s = a.hi + b;
  double bb = s - a.hi;
  double err = (a.hi - (s - bb)) + (b - bb); /* TwoSum: any magnitudes */
  return dd_fast_two_sum(s, err + a.lo);
}

#endif
