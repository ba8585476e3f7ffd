/* binary.c: the cpu kernels of every binary op in tinyfin_ops.def and of
 * where() (the entry points, with PyTorch's type promotion, are
 * ops/binary.c). */
#include <math.h>

#include "../backend.h"

#include "binary_scalar.h"

/* ---- row loops: contiguous, tensor-scalar and general strides ----------- */
#define BINARY_LOOP(FN, T, TO, OP)                                            \
  static void FN(int64_t n, char *const *ptr, const int64_t *s,              \
                 const double *prm) {                                         \
    (void)prm;                                                                \
    TO *o = (TO *)ptr[0];                                                     \
    const T *a = (const T *)ptr[1], *b = (const T *)ptr[2];                   \
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {                                \
      for (int64_t i = 0; i < n; i++) o[i] = OP(T, a[i], b[i]);               \
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {                         \
      const T y = b[0];                                                       \
      for (int64_t i = 0; i < n; i++) o[i] = OP(T, a[i], y);                  \
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {                         \
      const T x = a[0];                                                       \
      for (int64_t i = 0; i < n; i++) o[i] = OP(T, x, b[i]);                  \
    } else {                                                                  \
      for (int64_t i = 0; i < n; i++)                                         \
        o[i * s[0]] = OP(T, a[i * s[1]], b[i * s[2]]);                        \
    }                                                                         \
  }

#define LOOPS_ARITH(name)                                   \
  BINARY_LOOP(binary_##name##_f32, float, float, BF_##name)   \
  BINARY_LOOP(binary_##name##_f64, double, double, BF_##name) \
  BINARY_LOOP(binary_##name##_i64, int64_t, int64_t, BI_##name)
#define LOOPS_TRUEDIV(name)                                 \
  BINARY_LOOP(binary_##name##_f32, float, float, BF_##name)   \
  BINARY_LOOP(binary_##name##_f64, double, double, BF_##name)
#define LOOPS_CMP(name)                                       \
  BINARY_LOOP(binary_##name##_f32, float, bool, BC_##name)    \
  BINARY_LOOP(binary_##name##_f64, double, bool, BC_##name)   \
  BINARY_LOOP(binary_##name##_i64, int64_t, bool, BC_##name)  \
  BINARY_LOOP(binary_##name##_bool, bool, bool, BC_##name)
#define LOOPS_LOGIC(name) LOOPS_CMP(name)

#define TF_BINARY_OP(ENUM, name, kind) LOOPS_##kind(name)
#include "tinyfin_ops.def"
#undef TF_BINARY_OP

#define ROW_ARITH(name) {binary_##name##_f32, binary_##name##_f64, binary_##name##_i64, NULL}
#define ROW_TRUEDIV(name) {binary_##name##_f32, binary_##name##_f64, NULL, NULL}
#define ROW_CMP(name) \
  {binary_##name##_f32, binary_##name##_f64, binary_##name##_i64, binary_##name##_bool}
#define ROW_LOGIC(name) ROW_CMP(name)

/* [op][compute dtype] */
static const tf_row_fn binary_kernels[][TF_NUM_DTYPES] = {
#define TF_BINARY_OP(ENUM, name, kind) ROW_##kind(name),
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};
_Static_assert(sizeof binary_kernels / sizeof binary_kernels[0] == TF_BINARY_COUNT,
               "every binary op needs a kernel row");

/* ---- integer divisor checks (C would trap or be undefined) -------------- */
static bool any_element(const tf_tensor *t, bool (*pred)(int64_t)) {
  int64_t n = tf_tensor_numel(t), index[TF_MAX_DIMS] = {0};
  const int64_t *data = (const int64_t *)tf_ptr(t);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < t->ndim; d++) off += index[d] * t->strides[d];
    if (pred(data[off])) return true;
    for (int d = t->ndim - 1; d >= 0; d--) {
      if (++index[d] < t->shape[d]) break;
      index[d] = 0;
    }
  }
  return false;
}
static bool is_zero(int64_t v) { return v == 0; }
static bool is_negative(int64_t v) { return v < 0; }

static tf_status check_int_operands(int op, const tf_tensor *b) {
  if (op == TF_BINARY_FLOOR_DIVIDE || op == TF_BINARY_REMAINDER)
    TF_CHECK(!any_element(b, is_zero), TF_ERR_VALUE,
             "%s: integer division by zero", tf_binary_name(op));
  if (op == TF_BINARY_POW)
    TF_CHECK(!any_element(b, is_negative), TF_ERR_VALUE,
             "pow: integers to negative integer powers are not allowed; "
             "use a float base");
  return TF_OK;
}

/* ---- the binary slot ------------------------------------------------------ */
/* Each operand is either laid out as dst (same shape, contiguous) or a 0-d
 * scalar: then the op is one flat row with strides 1 or 0, no iterator
 * (x + y and x * 0.5 on small tensors are dominated by dispatch). */
static bool flat(const tf_tensor *t, const tf_tensor *dst) {
  return t->ndim == 0 || tf_same_dense_layout(t, dst);
}

tf_status tf_cpu_binary(int op, const tf_tensor *a, const tf_tensor *b,
                        tf_tensor *dst) {
  if (a->dtype == TF_INT64) TF_TRY(check_int_operands(op, b));
  tf_row_fn row = binary_kernels[op][a->dtype];
  int64_t n = tf_tensor_numel(dst);
  if (n < TF_PARALLEL_GRAIN && tf_tensor_is_contiguous(dst) && flat(a, dst) &&
      flat(b, dst)) {
    char *ptrs[3] = {tf_ptr(dst), tf_ptr(a), tf_ptr(b)};
    const int64_t strides[3] = {1, a->ndim || !dst->ndim ? 1 : 0,
                                b->ndim || !dst->ndim ? 1 : 0};
    row(n, ptrs, strides, NULL);
    return TF_OK;
  }
  const tf_tensor *ops[3] = {dst, a, b};
  tf_iter it;
  tf_iter_init(&it, 3, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, row, NULL);
  return TF_OK;
}

/* ---- where -------------------------------------------------------------- */
/* The contiguous row and the ones with a scalar (0-d, stride 0) branch
 * (relu's gradient is where(mask, g, 0.0)) get loops of their own: both
 * branches are loaded (every element is in range there) and the choice is
 * made on the bits, with a mask of all ones or all zeros, which the
 * compiler vectorizes; a branch per element, mispredicted on random masks,
 * cost ten times more. The strided loop gives the same values. */
#define WHERE_PICK(U, cond, x, y)                                             \
  ({                                                                          \
    U m_ = (U)0 - (U)(cond), xb_, yb_;                                        \
    memcpy(&xb_, &(x), sizeof xb_);                                           \
    memcpy(&yb_, &(y), sizeof yb_);                                           \
    (U)((xb_ & m_) | (yb_ & ~m_));                                            \
  })
#define WHERE_LOOP(FN, T, U)                                                  \
  static void FN(int64_t n, char *const *ptr, const int64_t *s,              \
                 const double *prm) {                                         \
    (void)prm;                                                                \
    _Static_assert(sizeof(T) == sizeof(U), "a mask as wide as the value");   \
    T *o = (T *)ptr[0];                                                       \
    const bool *c = (const bool *)ptr[1];                                     \
    /* the bytes of the bools (0 or 1): the compiler vectorizes no _Bool */  \
    const uint8_t *k = (const uint8_t *)ptr[1];                               \
    const T *a = (const T *)ptr[2], *b = (const T *)ptr[3];                   \
    if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {                   \
      for (int64_t i = 0; i < n; i++) {                                       \
        U r = WHERE_PICK(U, k[i], a[i], b[i]);                                \
        memcpy(&o[i], &r, sizeof r);                                          \
      }                                                                       \
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 0) {            \
      for (int64_t i = 0; i < n; i++) {                                       \
        U r = WHERE_PICK(U, k[i], a[i], b[0]);                                \
        memcpy(&o[i], &r, sizeof r);                                          \
      }                                                                       \
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 1) {            \
      for (int64_t i = 0; i < n; i++) {                                       \
        U r = WHERE_PICK(U, k[i], a[0], b[i]);                                \
        memcpy(&o[i], &r, sizeof r);                                          \
      }                                                                       \
    } else {                                                                  \
      for (int64_t i = 0; i < n; i++)                                         \
        o[i * s[0]] = c[i * s[1]] ? a[i * s[2]] : b[i * s[3]];                \
    }                                                                         \
  }
WHERE_LOOP(where_f32, float, uint32_t)
WHERE_LOOP(where_f64, double, uint64_t)
WHERE_LOOP(where_i64, int64_t, uint64_t)
WHERE_LOOP(where_bool, bool, uint8_t)
static const tf_row_fn where_kernels[TF_NUM_DTYPES] = {where_f32, where_f64,
                                                       where_i64, where_bool};

tf_status tf_cpu_where(const tf_tensor *cond, const tf_tensor *a,
                       const tf_tensor *b, tf_tensor *dst) {
  const tf_tensor *ops[4] = {dst, cond, a, b};
  tf_iter it;
  tf_iter_init(&it, 4, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, where_kernels[dst->dtype], NULL);
  return TF_OK;
}
