/* unary.c: the CPU kernels of every unary op in tinyfin_ops.def (the entry
 * points, with the dtype rules and output allocation, are ops/unary.c).
 *
 * Each op is written once as a scalar function: uf_<op> on double (float32
 * computes in double and rounds once), ui_<op> on int64 for NUM ops and
 * up_<op> (a predicate) for PRED ops. Macros expand them into strided row
 * loops per dtype; the contiguous case is a plain loop the compiler
 * vectorizes. The float64 kernels that carry double-doubles are in
 * unary_dd.h; their float32 counterparts here are the plain formulas
 * (uf_<op>_short). */
#include <float.h>
#include <math.h>

#include "../backend.h"
#include "fast_math.h"

typedef const double *params_t; /* p0, p1, p2 of tf_unary */

#include "unary_dd.h" /* float64 kernels of the ops whose float32 one is _short */

/* ---- float functions ---------------------------------------------------- */
static inline double uf_neg(double x, params_t p) { (void)p; return -x; }
static inline double uf_abs(double x, params_t p) { (void)p; return fabs(x); }
/* sign keeps NaN (NumPy) and the sign of zero */
static inline double uf_sign(double x, params_t p) {
  (void)p;
  return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
}
static inline double uf_exp(double x, params_t p) { (void)p; return exp(x); }
static inline double uf_exp2(double x, params_t p) { (void)p; return exp2(x); }
static inline double uf_expm1_short(double x, params_t p) { (void)p; return expm1(x); }
static inline double uf_log(double x, params_t p) { (void)p; return log(x); }
static inline double uf_log2(double x, params_t p) { (void)p; return log2(x); }
static inline double uf_log10_short(double x, params_t p) { (void)p; return log10(x); }
static inline double uf_log1p(double x, params_t p) { (void)p; return log1p(x); }
static inline double uf_sqrt(double x, params_t p) { (void)p; return sqrt(x); }
static inline double uf_rsqrt_short(double x, params_t p) { (void)p; return 1.0 / sqrt(x); }
static inline double uf_reciprocal(double x, params_t p) { (void)p; return 1.0 / x; }
static inline double uf_square(double x, params_t p) { (void)p; return x * x; }
static inline double uf_sin(double x, params_t p) { (void)p; return sin(x); }
static inline double uf_cos(double x, params_t p) { (void)p; return cos(x); }
static inline double uf_tan(double x, params_t p) { (void)p; return tan(x); }
/* float32 tanh (float64: unary_dd.h). libm's tanh is up to ~2.1 ULP off
 * near |x| = 0.23 in float64, which float32 would round away but not
 * always; here tanh|x| =
 * t / (t + 2) with t = expm1(2|x|): t + 2 is kept as an exact pair (s, s_lo)
 * and the quotient gets one Newton correction from the exact residual
 * t - q s (fma), so only expm1's error (scaled by 2 / (t + 2) <= 1) and the
 * final rounding remain: below 1.5 ULP. */
static inline double uf_tanh_short(double x, params_t p) {
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
static inline double uf_sigmoid_short(double x, params_t p) {
  (void)p;
  return x < -708.0 ? exp(x) : 1.0 / (1.0 + exp(-x));
}
/* NaN propagates; relu(-0.0) is +0.0 as in PyTorch. */
static inline double uf_relu(double x, params_t p) {
  (void)p;
  return x <= 0 ? 0.0 : x;
}
static inline double uf_leaky_relu(double x, params_t p) {
  return x < 0 ? x * p[0] : x;
}
static inline double uf_elu_short(double x, params_t p) {
  return x <= 0 ? p[0] * expm1(x) : x;
}
/* gelu's tanh form x sigmoid(2u) in double: ~25 ULP off for x << 0, where
 * the rounding of u is magnified, but accurate to 1e-13, which the float32
 * kernel rounds away (the float64 kernels are in unary_dd.h). */
static inline double gelu_tanh_short(double x) {
  double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp(-2.0 * u));
}

/* float32 gelu: to ~1e-13 relative, without the double-double work */
static inline double uf_gelu_short(double x, params_t p) {
  if (x == -INFINITY) return -0.0;
  if (x == INFINITY || x != x) return x;
  if (p[0] != 0) return x < -1e4 ? -0.0 : gelu_tanh_short(x);
  return 0.5 * x * erfc(-x * M_SQRT1_2);
}

/* float32: the plain formula (~2^-51 relative); silu rounds to -0 in
 * float32 from x ~ -110 on, and where e^-x overflows (x < -709) it gives
 * x / inf = -0 as well */
static inline double uf_silu_short(double x, params_t p) {
  (void)p;
  return x == -INFINITY ? -0.0 : x / (1.0 + exp(-x));
}
/* log(1 + e^(beta x)) / beta, linear above threshold as in PyTorch; for
 * beta x > 0 written as beta x + log1p(e^(-beta x)) so e^ never overflows. */
static inline double uf_softplus_short(double x, params_t p) {
  double bx = p[0] * x;
  if (bx > p[1]) return x;
  if (bx > 0) return (bx + log1p(exp(-bx))) / p[0];
  return log1p(exp(bx)) / p[0];
}
static inline double uf_erf_short(double x, params_t p) { (void)p; return erf(x); }
static inline double uf_floor(double x, params_t p) { (void)p; return floor(x); }
static inline double uf_ceil(double x, params_t p) { (void)p; return ceil(x); }
static inline double uf_round(double x, params_t p) { (void)p; return nearbyint(x); }
static inline double uf_trunc(double x, params_t p) { (void)p; return trunc(x); }
/* NaN propagates, from x or from a bound (as NumPy's clip); min > max gives
 * max everywhere, as in PyTorch. */
static inline double uf_clamp(double x, params_t p) {
  if (x != x) return x;
  if (p[0] != p[0]) return p[0];
  if (p[1] != p[1]) return p[1];
  x = x < p[0] ? p[0] : x;
  return x > p[1] ? p[1] : x;
}
static inline double uf_nan_to_num(double x, params_t p) {
  if (x != x) return p[0];
  if (x == INFINITY) return p[1];
  if (x == -INFINITY) return p[2];
  return x;
}

/* ---- int64 functions (NUM ops); wrap-around instead of signed overflow -- */
static inline int64_t wrap(uint64_t u) { return (int64_t)u; }
static inline int64_t ui_neg(int64_t x, params_t p) { (void)p; return wrap(0u - (uint64_t)x); }
static inline int64_t ui_abs(int64_t x, params_t p) { (void)p; return x < 0 ? wrap(0u - (uint64_t)x) : x; }
static inline int64_t ui_sign(int64_t x, params_t p) { (void)p; return (x > 0) - (x < 0); }
static inline int64_t ui_square(int64_t x, params_t p) { (void)p; return wrap((uint64_t)x * (uint64_t)x); }
static inline int64_t ui_relu(int64_t x, params_t p) { (void)p; return x < 0 ? 0 : x; }
static inline int64_t ui_floor(int64_t x, params_t p) { (void)p; return x; }
static inline int64_t ui_ceil(int64_t x, params_t p) { (void)p; return x; }
static inline int64_t ui_round(int64_t x, params_t p) { (void)p; return x; }
static inline int64_t ui_trunc(int64_t x, params_t p) { (void)p; return x; }
static inline int64_t ui_nan_to_num(int64_t x, params_t p) { (void)p; return x; }
/* Bounds compare in double; a bound beyond int64's range never binds.
 * tinyfin's Python clamp takes int bounds of an int64 tensor through
 * maximum/minimum instead, which keep every int64 exact. */
static inline int64_t ui_clamp(int64_t x, params_t p) {
  if ((double)x < p[0]) x = p[0] >= 9.2e18 ? INT64_MAX : (int64_t)ceil(p[0]);
  if ((double)x > p[1]) x = p[1] <= -9.2e18 ? INT64_MIN : (int64_t)floor(p[1]);
  return x;
}

/* ---- predicates (PRED ops), on any dtype read as double ----------------- */
static inline bool up_isnan(double x) { return isnan(x); }
static inline bool up_isinf(double x) { return isinf(x); }
static inline bool up_isfinite(double x) { return isfinite(x); }
static inline bool up_logical_not(double x) { return x == 0; }

/* ---- row loops ---------------------------------------------------------- */
/* ATTR and SIMD let the dedicated float32 kernels be built for several
 * instruction sets (picked at load time) and vectorized by force; the libm
 * based kernels stay scalar, as vector libm variants are less accurate. */
#define UNARY_LOOP_WITH(FN, TI, TO, EXPR, ATTR, SIMD)                       \
  ATTR static void FN(int64_t n, char *const *ptr, const int64_t *s,       \
                      const double *prm) {                                  \
    (void)prm;                                                              \
    TO *o = (TO *)ptr[0];                                                   \
    const TI *a = (const TI *)ptr[1];                                       \
    if (s[0] == 1 && s[1] == 1) {                                           \
      SIMD                                                                  \
      for (int64_t i = 0; i < n; i++) {                                     \
        TI x = a[i];                                                        \
        o[i] = (EXPR);                                                      \
      }                                                                     \
    } else {                                                                \
      for (int64_t i = 0; i < n; i++) {                                     \
        TI x = a[i * s[1]];                                                 \
        o[i * s[0]] = (EXPR);                                               \
      }                                                                     \
    }                                                                       \
  }
#define UNARY_LOOP(FN, TI, TO, EXPR) UNARY_LOOP_WITH(FN, TI, TO, EXPR, , )

/* float32 through float64, or a dedicated vectorized function. */
#define F32_LOOP_VIA_F64(name) \
  UNARY_LOOP(unary_##name##_f32, float, float, (float)uf_##name((double)x, prm))
#define F32_LOOP_VIA_F64_SHORT(name) \
  UNARY_LOOP(unary_##name##_f32, float, float, (float)uf_##name##_short((double)x, prm))
#define F32_LOOP_FAST_EXP(name)                                        \
  UNARY_LOOP_WITH(unary_##name##_f32, float, float, tf_fast_expf(x),   \
                  TF_SIMD_CLONES, _Pragma("omp simd"))

/* float64: the double-double kernels of unary_dd.h (the ops whose float32
 * takes the _short formula). In blocks of 64 elements: a block whose
 * inputs all lie where the branch-free <name>_vec applies runs it
 * vectorized, any other block goes element by element through uf_<name>
 * (which gives the same results there). Built per instruction set, as
 * their fma() is a libm call without FMA; the baseline build, where the
 * compiler fuses no multiply-add, may differ from the FMA builds in the
 * last bit of a rare result (both within the same ~0.5 ULP). */
#define F64_LOOP(name) UNARY_LOOP(unary_##name##_f64, double, double, uf_##name(x, prm))
#define F64_LOOP_VIA_F64(name) F64_LOOP(name)
#define F64_LOOP_FAST_EXP(name) F64_LOOP(name)
#define F64_LOOP_VIA_F64_SHORT(name)                                              \
  TF_SIMD_CLONES static void unary_##name##_f64(int64_t n, char *const *ptr,     \
                                                const int64_t *s, const double *prm) { \
    double *o = (double *)ptr[0];                                                 \
    const double *a = (const double *)ptr[1];                                     \
    /* a copy, which no store to o can alias: tests of it leave the loops */     \
    const double p3[3] = {prm[0], prm[1], prm[2]}, *pr = p3;                      \
    if (s[0] != 1 || s[1] != 1) {                                                 \
      for (int64_t i = 0; i < n; i++) o[i * s[0]] = uf_##name(a[i * s[1]], pr);  \
      return;                                                                     \
    }                                                                             \
    for (int64_t b = 0; b < n; b += 64) {                                         \
      int64_t e = n - b < 64 ? n : b + 64;                                        \
      int in = 1;                                                                 \
      for (int64_t i = b; i < e; i++) in &= name##_in(a[i], pr);                 \
      if (in && pr[0] == 0) { /* twice, so each copy knows p0 (gelu's form) */   \
        _Pragma("omp simd") for (int64_t i = b; i < e; i++) o[i] = name##_vec(a[i], pr); \
      } else if (in) {                                                            \
        _Pragma("omp simd") for (int64_t i = b; i < e; i++) o[i] = name##_vec(a[i], pr); \
      } else {                                                                    \
        for (int64_t i = b; i < e; i++) o[i] = uf_##name(a[i], pr);              \
      }                                                                           \
    }                                                                             \
  }

#define LOOPS_FLOAT(name, f32impl) \
  F32_LOOP_##f32impl(name)         \
  F64_LOOP_##f32impl(name)
#define LOOPS_NUM(name, f32impl) \
  LOOPS_FLOAT(name, f32impl)     \
  UNARY_LOOP(unary_##name##_i64, int64_t, int64_t, ui_##name(x, prm))
#define LOOPS_PRED(name, f32impl)                                      \
  UNARY_LOOP(unary_##name##_f32, float, bool, up_##name((double)x))    \
  UNARY_LOOP(unary_##name##_f64, double, bool, up_##name(x))           \
  UNARY_LOOP(unary_##name##_i64, int64_t, bool, up_##name((double)x))  \
  UNARY_LOOP(unary_##name##_bool, bool, bool, up_##name((double)x))

#define TF_UNARY_OP(ENUM, name, kind, f32impl) LOOPS_##kind(name, f32impl)
#include "tinyfin_ops.def"
#undef TF_UNARY_OP

/* ---- tables ------------------------------------------------------------- */
#define ROW_FLOAT(name) {unary_##name##_f32, unary_##name##_f64, NULL, NULL}
#define ROW_NUM(name) {unary_##name##_f32, unary_##name##_f64, unary_##name##_i64, NULL}
#define ROW_PRED(name) \
  {unary_##name##_f32, unary_##name##_f64, unary_##name##_i64, unary_##name##_bool}

/* [op][input dtype] */
static const tf_row_fn unary_kernels[][TF_NUM_DTYPES] = {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) ROW_##kind(name),
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
};
_Static_assert(sizeof unary_kernels / sizeof unary_kernels[0] == TF_UNARY_COUNT,
               "every unary op needs a kernel row");

/* The cpu's unary slot, for every op: a small contiguous operand is one
 * flat row (no iterator: a small op costs about as much as its dispatch),
 * anything else runs on tf_iter, in parallel when large. */
tf_status tf_cpu_unary(int op, const tf_tensor *x, tf_tensor *dst,
                       const double *params) {
  tf_row_fn row = unary_kernels[op][x->dtype];
  if (tf_same_dense_layout(x, dst) && tf_tensor_numel(x) < TF_PARALLEL_GRAIN) {
    char *ptrs[2] = {tf_ptr(dst), tf_ptr(x)};
    static const int64_t unit[2] = {1, 1};
    row(tf_tensor_numel(x), ptrs, unit, params);
    return TF_OK;
  }
  const tf_tensor *ops[2] = {dst, x};
  tf_iter it;
  tf_iter_init(&it, 2, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, row, params);
  return TF_OK;
}
