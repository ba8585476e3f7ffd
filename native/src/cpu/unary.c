/* unary.c: the CPU kernels of every unary op in tinyfin_ops.def (the entry
 * points, with the dtype rules and output allocation, are ops/unary.c).
 *
 * Each op is written once as a scalar function in unary_scalar.h (uf_<op>
 * on double, ui_<op> on int64, up_<op> predicates; the float64 kernels that
 * carry double-doubles in unary_dd.h, their float32 counterparts the plain
 * uf_<op>_short formulas). Macros here expand them into strided row loops
 * per dtype; the contiguous case is a plain loop the compiler vectorizes. */
#include <float.h>
#include <math.h>

#include "../backend.h"
#include "fast_math.h"

#include "unary_scalar.h"

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
