/* unary.c: the CPU kernels of every unary op in tinyfin_ops.def and their
 * dispatch (dtype rules, output allocation, in-place writes).
 *
 * Each op is written once as a scalar function: uf_<op> on double (float32
 * computes in double and rounds once), ui_<op> on int64 for NUM ops and
 * up_<op> (a predicate) for PRED ops. Macros expand them into strided row
 * loops per dtype; the contiguous case is a plain loop the compiler
 * vectorizes. */
#include <float.h>
#include <math.h>

#include "../internal.h"
#include "double_double.h"
#include "fast_math.h"

typedef const double *params_t; /* p0, p1, p2 of tf_unary */

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
static inline double uf_expm1(double x, params_t p) { (void)p; return expm1(x); }
static inline double uf_log(double x, params_t p) { (void)p; return log(x); }
static inline double uf_log2(double x, params_t p) { (void)p; return log2(x); }
static inline double uf_log10(double x, params_t p) { (void)p; return log10(x); }
static inline double uf_log1p(double x, params_t p) { (void)p; return log1p(x); }
static inline double uf_sqrt(double x, params_t p) { (void)p; return sqrt(x); }
static inline double uf_rsqrt(double x, params_t p) { (void)p; return 1.0 / sqrt(x); }
static inline double uf_reciprocal(double x, params_t p) { (void)p; return 1.0 / x; }
static inline double uf_square(double x, params_t p) { (void)p; return x * x; }
static inline double uf_sin(double x, params_t p) { (void)p; return sin(x); }
static inline double uf_cos(double x, params_t p) { (void)p; return cos(x); }
static inline double uf_tan(double x, params_t p) { (void)p; return tan(x); }
/* libm's tanh is up to ~2.1 ULP off near |x| = 0.23. Here tanh|x| =
 * t / (t + 2) with t = expm1(2|x|): t + 2 is kept as an exact pair (s, s_lo)
 * and the quotient gets one Newton correction from the exact residual
 * t - q s (fma), so only expm1's error (scaled by 2 / (t + 2) <= 1) and the
 * final rounding remain: below 1.5 ULP. */
static inline double uf_tanh(double x, params_t p) {
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
/* 1 / (1 + e^-x): three roundings. Below x = -708, e^-x would overflow and
 * 1 + e^x is 1, so the value is e^x itself. */
static inline double uf_sigmoid(double x, params_t p) {
  (void)p;
  if (x < -708.0) return exp(x);
  return 1.0 / (1.0 + exp(-x));
}
/* NaN propagates; relu(-0.0) is +0.0 as in PyTorch. */
static inline double uf_relu(double x, params_t p) {
  (void)p;
  return x <= 0 ? 0.0 : x;
}
static inline double uf_leaky_relu(double x, params_t p) {
  return x < 0 ? x * p[0] : x;
}
static inline double uf_elu(double x, params_t p) {
  return x <= 0 ? p[0] * expm1(x) : x;
}
/* exact: x/2 * erfc(-x/sqrt2), which does not cancel for negative x as
 * x/2 * (1 + erf(x/sqrt2)) does. tanh form: x/2 * (1 + tanh(u)) written as
 * x * sigmoid(2u) for the same reason.
 * For x << 0 both are x times a tail whose relative sensitivity to its
 * argument is ~x^2 (erfc) or ~2|u| ~ x^3 / 10 (sigmoid): rounding the
 * argument once would cost hundreds of ULPs at x ~ -25. So the argument is
 * carried as a double-double z = hi + lo and the tail corrected to first
 * order in lo: erfc(hi + lo) = erfc(hi) - lo 2/sqrt(pi) e^-hi^2, and
 * e^-(hi + lo) = e^-hi (1 - lo) in sigmoid. */
static const dd_t NEG_SQRT1_2 = {-0.7071067811865476, 4.833646656726457e-17};
static const dd_t SQRT_2_OVER_PI = {0.7978845608028654, -4.98465440455546e-17};

/* e^(a_hi + a_lo) * 2^128 for a in about [-800, -600], where e^a itself
 * is subnormal or nearly: the product it enters is formed at full precision
 * and scaled back with one rounding (ldexp(., -128)). 128 ln2 is split so
 * that a_hi + 128 LN2_HI is exact; the rest, t, enters as 1 + t + t^2/2. */
static inline double exp_scaled_2p128(double a_hi, double a_lo) {
  const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
  double t = a_lo + 128.0 * LN2_LO;
  return exp(a_hi + 128.0 * LN2_HI) * (1.0 + t + 0.5 * t * t);
}

static inline double gelu_erfc(double x) {
  dd_t z = dd_mul_d(NEG_SQRT1_2, x);
  if (z.hi > 38.0) return -0.0; /* |gelu| < 1e-600: below every subnormal */
  if (z.hi > 26.0) {
    /* erfc(z) = e^-z^2 / (z sqrt(pi)) (1 - 1/(2z^2) + 3/(4z^4) - ...); the
     * twelfth term, 23!! / (2z^2)^12, is below 1e-20 here. The result is
     * subnormal or nearly, e^-z^2 too. */
    double w = 1.0 / (2.0 * z.hi * z.hi), series = 1.0;
    for (int k = 12; k >= 1; k--) series = 1.0 - (2 * k - 1) * w * series;
    dd_t z2 = dd_mul(z, z);
    double tail = exp_scaled_2p128(-z2.hi, -z2.lo) * (0.5 * M_2_SQRTPI) / z.hi * series;
    return ldexp(0.5 * x * tail, -128);
  }
  if (z.hi <= 0.0) return 0.5 * x * erfc(z.hi); /* x >= 0: insensitive */
  double tail = erfc(z.hi) - z.lo * M_2_SQRTPI * exp(-z.hi * z.hi);
  return 0.5 * x * tail;
}

/* x sigmoid(2u) in double: ~25 ULP off for x << 0, where the rounding of u
 * is magnified, but accurate to 1e-13, which the float32 kernel rounds away;
 * for x >= 0 the magnification is below 0.3 and the float64 kernel uses it. */
static inline double gelu_tanh_short(double x) {
  double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp(-2.0 * u));
}

static inline double gelu_tanh(double x, params_t p) {
  if (x >= 0.0) return gelu_tanh_short(x);
  /* sigmoid(2u) is 0 in double from x ~ -10 on; x^3 would overflow */
  if (x < -1e4) return -0.0;
  dd_t x3 = dd_mul_d(dd_two_prod(x, x), x);
  dd_t u = dd_mul(dd_add_d(dd_mul_d(x3, 0.044715), x), SQRT_2_OVER_PI);
  if (u.hi < -350.0) /* sigmoid(2u) = e^2u, subnormal or nearly */
    return ldexp(x * exp_scaled_2p128(2.0 * u.hi, 2.0 * u.lo), -128);
  /* x sigmoid(v) = x / (1 + e^-v), v = 2u; e^-(v_hi + v_lo) = E (1 - v_lo),
   * and 1 + E is kept exact, so the denominator rounds once. */
  (void)p;
  double e = exp(-2.0 * u.hi);
  dd_t d = e >= 1.0 ? dd_fast_two_sum(e, 1.0) : dd_fast_two_sum(1.0, e);
  return x / (d.hi + (d.lo - e * (2.0 * u.lo)));
}

static inline double uf_gelu(double x, params_t p) {
  if (x == -INFINITY) return -0.0; /* the limit; x * 0 would invent a NaN */
  if (x == INFINITY || x != x) return x;
  return p[0] == 0 ? gelu_erfc(x) : gelu_tanh(x, p);
}
/* float32: the same to ~1e-13 relative, without the double-double work */
static inline double uf_gelu_short(double x, params_t p) {
  if (x == -INFINITY) return -0.0;
  if (x == INFINITY || x != x) return x;
  if (p[0] != 0) return x < -1e4 ? -0.0 : gelu_tanh_short(x);
  return 0.5 * x * erfc(-x * M_SQRT1_2);
}

/* Below x = -708 e^x is subnormal and x * e^x would keep only its few
 * digits, so there e^x is computed 64 binades higher, e^(x + 64 ln2), and
 * the product scaled back with one rounding. 64 ln2 is split so that
 * x + 64 LN2_HI is exact; the remainder e^(64 LN2_LO) = 1 + t + t^2/2. */
static inline double uf_silu(double x, params_t p) {
  if (x == -INFINITY) return -0.0; /* the limit; x * 0 would invent a NaN */
  if (x < -708.0) {
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    double t = 64.0 * LN2_LO;
    return ldexp(x * exp(x + 64.0 * LN2_HI) * (1.0 + t + 0.5 * t * t), -64);
  }
  (void)p;
  return x / (1.0 + exp(-x)); /* two roundings fewer than x * sigmoid(x) */
}
/* log(1 + e^(beta x)) / beta, linear above threshold as in PyTorch; for
 * beta x > 0 written as beta x + log1p(e^(-beta x)) so e^ never overflows. */
static inline double uf_softplus(double x, params_t p) {
  double bx = p[0] * x;
  if (bx > p[1]) return x;
  if (bx > 0) return (bx + log1p(exp(-bx))) / p[0];
  return log1p(exp(bx)) / p[0];
}
static inline double uf_erf(double x, params_t p) { (void)p; return erf(x); }
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

#define LOOPS_FLOAT(name, f32impl) \
  F32_LOOP_##f32impl(name)         \
  UNARY_LOOP(unary_##name##_f64, double, double, uf_##name(x, prm))
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
enum { KIND_FLOAT, KIND_NUM, KIND_PRED };

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
static const int unary_kinds[] = {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) KIND_##kind,
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
};
static const char *const unary_names[] = {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) #name,
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
};
_Static_assert(sizeof unary_kernels / sizeof unary_kernels[0] == TF_UNARY_COUNT,
               "every unary op needs a kernel row");
_Static_assert(sizeof unary_names / sizeof unary_names[0] == TF_UNARY_COUNT,
               "every unary op needs a name");

const char *tf_unary_name(int op) {
  return op >= 0 && op < TF_UNARY_COUNT ? unary_names[op] : NULL;
}

/* ---- dispatch ----------------------------------------------------------- */
/* The dtype the kernel reads and the dtype it writes. */
static tf_status unary_dtypes(int op, tf_dtype in, tf_dtype *compute,
                              tf_dtype *result) {
  switch (unary_kinds[op]) {
    case KIND_FLOAT:
      *compute = *result = tf_is_float(in) ? in : TF_FLOAT32;
      return TF_OK;
    case KIND_NUM:
      TF_CHECK(in != TF_BOOL, TF_ERR_DTYPE,
               "%s: expected a float32, float64 or int64 tensor, got bool",
               unary_names[op]);
      *compute = *result = in;
      return TF_OK;
    default:
      *compute = in;
      *result = TF_BOOL;
      return TF_OK;
  }
}

static tf_status unary_run(int op, const tf_tensor *x, const double *params,
                           tf_dtype compute, tf_tensor *dst) {
  tf_tensor *converted = NULL;
  if (x->dtype != compute || tf_overlap_of(dst, x) == TF_OVERLAP_PARTIAL) {
    /* Another dtype, or a partial overlap with dst (neg(x.T, out=x)): read
     * from a copy. */
    TF_TRY(tf_to_dtype(x, compute, &converted));
    x = converted;
  }
  if (tf_same_dense_layout(x, dst) && tf_tensor_numel(x) < TF_PARALLEL_GRAIN) {
    char *ptrs[2] = {tf_ptr(dst), tf_ptr(x)};
    static const int64_t unit[2] = {1, 1};
    unary_kernels[op][compute](tf_tensor_numel(x), ptrs, unit, params);
    tf_tensor_release(converted);
    return TF_OK;
  }
  const tf_tensor *ops[2] = {dst, x};
  tf_iter it;
  tf_iter_init(&it, 2, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, unary_kernels[op][compute], params);
  tf_tensor_release(converted);
  return TF_OK;
}

static tf_status unary_check(int op, const tf_tensor *x) {
  TF_CHECK(op >= 0 && op < TF_UNARY_COUNT, TF_ERR_VALUE,
           "unary: unknown op code %d", op);
  return tf_check_cpu(unary_names[op], x);
}

tf_status tf_unary(int op, const tf_tensor *x, double p0, double p1,
                   double p2, tf_tensor **out) {
  TF_TRY(unary_check(op, x));
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  TF_TRY(unary_dtypes(op, x->dtype, &compute, &result));
  tf_tensor *r = NULL;
  TF_TRY(tf_new(x->ndim, x->shape, result, &r));
  const double params[3] = {p0, p1, p2};
  tf_status st = unary_run(op, x, params, compute, r);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

tf_status tf_unary_into(int op, const tf_tensor *x, double p0, double p1,
                        double p2, tf_tensor *dst) {
  TF_TRY(unary_check(op, x));
  TF_TRY(tf_check_cpu(unary_names[op], dst));
  TF_TRY(tf_check_writable(unary_names[op], dst));
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  TF_TRY(unary_dtypes(op, x->dtype, &compute, &result));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(dst->ndim == x->ndim &&
               !memcmp(dst->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim),
           TF_ERR_SHAPE, "%s: out has shape %s, but the result has shape %s",
           unary_names[op], tf_shape_str(dst->ndim, dst->shape, a),
           tf_shape_str(x->ndim, x->shape, b));
  TF_CHECK(dst->dtype == result, TF_ERR_DTYPE,
           "%s: result type %s can't be cast to the desired output type %s",
           unary_names[op], tf_dtype_name(result), tf_dtype_name(dst->dtype));
  const double params[3] = {p0, p1, p2};
  tf_bump_version(dst);
  return unary_run(op, x, params, compute, dst);
}
