/* double_double.h: unevaluated sums hi + lo of two doubles (~106 bits), for
 * the few kernels whose result is so sensitive to an intermediate rounding
 * that double alone loses digits (gelu for x << 0).
 *
 * The error-free steps rely on fma() and on the compiler not re-associating
 * (no -ffast-math); -ffp-contract=fast may only fuse a product into an add,
 * which keeps every step below at least as accurate. */
#ifndef TF_DOUBLE_DOUBLE_H
#define TF_DOUBLE_DOUBLE_H

#include <math.h>

typedef struct {
  double hi, lo;
} dd_t;

/* a + b exactly, for |a| >= |b| (or a == 0) */
static inline dd_t dd_fast_two_sum(double a, double b) {
  double s = a + b;
  return (dd_t){s, b - (s - a)};
}

/* a * b exactly (barring underflow) */
static inline dd_t dd_two_prod(double a, double b) {
  double p = a * b;
  return (dd_t){p, fma(a, b, -p)};
}

static inline dd_t dd_mul_d(dd_t a, double b) {
  dd_t p = dd_two_prod(a.hi, b);
  return dd_fast_two_sum(p.hi, p.lo + a.lo * b);
}

static inline dd_t dd_mul(dd_t a, dd_t b) {
  dd_t p = dd_two_prod(a.hi, b.hi);
  return dd_fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

static inline dd_t dd_add_d(dd_t a, double b) {
  double s = a.hi + b;
  double bb = s - a.hi;
  double err = (a.hi - (s - bb)) + (b - bb); /* TwoSum: any magnitudes */
  return dd_fast_two_sum(s, err + a.lo);
}

#endif
