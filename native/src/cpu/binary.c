/* binary.c: the CPU kernels of every binary op in tinyfin_ops.def, where(),
 * and PyTorch's type promotion (dimensioned tensors > 0-d tensors > Python
 * scalars: a lower tier only changes the dtype when it brings a higher
 * category, bool < integer < floating). */
#include <math.h>

#include "../internal.h"

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
static inline double tanh_backward_f64(double g, double x) {
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
static inline double sigmoid_backward_f64(double g, double x) {
  double e = exp(-fabs(x));
  return g * (e / ((1.0 + e) * (1.0 + e)));
}

/* Python's divmod for floats (as NumPy computes it): the remainder takes the
 * divisor's sign and the quotient is rounded so that q*b + r == a holds as
 * closely as floating point allows. */
static inline double remainder_f64(double a, double b) {
  if (b == 0) return NAN;
  double mod = fmod(a, b);
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = copysign(0.0, b);
  }
  return mod;
}
static inline double floor_divide_f64(double a, double b) {
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
static inline int64_t wrap(uint64_t u) { return (int64_t)u; }
static inline int64_t floor_divide_i64(int64_t a, int64_t b) {
  if (b == -1) return wrap(0u - (uint64_t)a); /* INT64_MIN / -1 wraps */
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t remainder_i64(int64_t a, int64_t b) {
  if (b == -1) return 0;
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline int64_t pow_i64(int64_t base, int64_t e) {
  uint64_t result = 1, b = (uint64_t)base;
  while (e > 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return wrap(result);
}
#define BI_add(T, x, y) wrap((uint64_t)(x) + (uint64_t)(y))
#define BI_sub(T, x, y) wrap((uint64_t)(x) - (uint64_t)(y))
#define BI_mul(T, x, y) wrap((uint64_t)(x) * (uint64_t)(y))
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

enum { KIND_ARITH, KIND_TRUEDIV, KIND_CMP, KIND_LOGIC };
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
static const int binary_kinds[] = {
#define TF_BINARY_OP(ENUM, name, kind) KIND_##kind,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};
static const char *const binary_names[] = {
#define TF_BINARY_OP(ENUM, name, kind) #name,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};
_Static_assert(sizeof binary_kernels / sizeof binary_kernels[0] == TF_BINARY_COUNT,
               "every binary op needs a kernel row");
_Static_assert(sizeof binary_names / sizeof binary_names[0] == TF_BINARY_COUNT,
               "every binary op needs a name");

const char *tf_binary_name(int op) {
  return op >= 0 && op < TF_BINARY_COUNT ? binary_names[op] : NULL;
}

/* ---- promotion ---------------------------------------------------------- */
static int category(tf_dtype d) {
  return d == TF_BOOL ? 0 : d == TF_INT64 ? 1 : 2;
}
/* Within one tier: bool < int64 < float32 < float64 (the enum order differs). */
static tf_dtype promote(tf_dtype a, tf_dtype b) {
  static const int rank[TF_NUM_DTYPES] = {2, 3, 1, 0};
  return rank[a] >= rank[b] ? a : b;
}
static tf_dtype default_dtype(int cat) {
  return cat == 0 ? TF_BOOL : cat == 1 ? TF_INT64 : TF_FLOAT32;
}

/* The promoted dtype of two tensors, PyTorch style: 0-d tensors rank below
 * dimensioned ones. */
static tf_dtype promote_tensors(const tf_tensor *a, const tf_tensor *b) {
  bool a0 = a->ndim == 0, b0 = b->ndim == 0;
  if (a0 == b0) return promote(a->dtype, b->dtype);
  const tf_tensor *dim = a0 ? b : a, *zero = a0 ? a : b;
  return category(zero->dtype) > category(dim->dtype) ? zero->dtype : dim->dtype;
}
/* A Python scalar ranks below every tensor. */
static tf_dtype promote_scalar(tf_dtype t, int scalar_kind) {
  return scalar_kind > category(t) ? default_dtype(scalar_kind) : t;
}

/* From the promoted dtype to the one the kernel computes in. */
static tf_status compute_dtype(int op, tf_dtype promoted, tf_dtype *compute,
                               tf_dtype *result) {
  switch (binary_kinds[op]) {
    case KIND_ARITH:
      TF_CHECK(!(promoted == TF_BOOL && op == TF_BINARY_SUB), TF_ERR_DTYPE,
               "sub: subtracting two bool tensors is not supported; use "
               "logical_xor, or convert with .long() first");
      /* bool operands compute in int64 and give bool, as in PyTorch
       * (True + True is True). */
      *compute = promoted == TF_BOOL ? TF_INT64 : promoted;
      *result = promoted;
      return TF_OK;
    case KIND_TRUEDIV:
      *compute = *result = tf_is_float(promoted) ? promoted : TF_FLOAT32;
      return TF_OK;
    case KIND_CMP:
      *compute = promoted;
      *result = TF_BOOL;
      return TF_OK;
    default:
      *compute = TF_BOOL;
      *result = TF_BOOL;
      return TF_OK;
  }
}

/* The dtype a kernel writes: bool for comparisons and logic, else the
 * compute dtype (converted to the result dtype afterwards if different). */
static tf_dtype kernel_output(int op, tf_dtype compute) {
  int kind = binary_kinds[op];
  return kind == KIND_CMP || kind == KIND_LOGIC ? TF_BOOL : compute;
}

tf_status tf_result_dtype(int op, const tf_tensor *a, const tf_tensor *b,
                          tf_dtype *out) {
  TF_CHECK(op >= 0 && op < TF_BINARY_COUNT, TF_ERR_VALUE,
           "binary: unknown op code %d", op);
  tf_dtype compute = TF_FLOAT32;
  return compute_dtype(op, promote_tensors(a, b), &compute, out);
}

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
             "%s: integer division by zero", binary_names[op]);
  if (op == TF_BINARY_POW)
    TF_CHECK(!any_element(b, is_negative), TF_ERR_VALUE,
             "pow: integers to negative integer powers are not allowed; "
             "use a float base");
  return TF_OK;
}

/* ---- dispatch ----------------------------------------------------------- */
/* Convert an operand to the compute dtype, or copy it when it partially
 * overlaps dst (an exact alias is fine: each element is read before it is
 * written; a broadcast row of dst, as in x += x[0:1], is not).
 * *owned receives what the caller must release. */
static tf_status prepare_operand(const tf_tensor *t, tf_dtype compute,
                                 const tf_tensor *dst, const tf_tensor **use,
                                 tf_tensor **owned) {
  *owned = NULL;
  *use = t;
  bool overlap = dst && tf_overlap_of(dst, t) == TF_OVERLAP_PARTIAL;
  if (t->dtype != compute || overlap) {
    TF_TRY(tf_to_dtype(t, compute, owned));
    *use = *owned;
  }
  return TF_OK;
}

static tf_status binary_run(int op, const tf_tensor *a, const tf_tensor *b,
                            tf_dtype compute, tf_tensor *dst) {
  tf_tensor *owned_a, *owned_b;
  TF_TRY(prepare_operand(a, compute, dst, &a, &owned_a));
  tf_status st = prepare_operand(b, compute, dst, &b, &owned_b);
  if (st == TF_OK && compute == TF_INT64) st = check_int_operands(op, b);
  if (st == TF_OK) {
    const tf_tensor *ops[3] = {dst, a, b};
    tf_iter it;
    tf_iter_init(&it, 3, ops, dst->ndim, dst->shape);
    tf_iter_run(&it, binary_kernels[op][compute], NULL);
  }
  tf_tensor_release(owned_a);
  tf_tensor_release(owned_b);
  return st;
}

static tf_status binary_check(int op, const tf_tensor *a, const tf_tensor *b) {
  TF_CHECK(op >= 0 && op < TF_BINARY_COUNT, TF_ERR_VALUE,
           "binary: unknown op code %d", op);
  TF_TRY(tf_check_cpu(binary_names[op], a));
  return tf_check_cpu(binary_names[op], b);
}

static tf_status binary_new(int op, const tf_tensor *a, const tf_tensor *b,
                            tf_dtype promoted, tf_tensor **out) {
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  TF_TRY(compute_dtype(op, promoted, &compute, &result));
  if (a->dtype == compute && b->dtype == compute && compute != TF_INT64 &&
      tf_same_dense_layout(a, b) && tf_tensor_numel(a) < TF_PARALLEL_GRAIN) {
    /* Small op fast path: one flat row, no broadcasting or iterator. */
    tf_tensor *r = NULL;
    TF_TRY(tf_new(a->ndim, a->shape, result, &r));
    char *ptrs[3] = {tf_ptr(r), tf_ptr(a), tf_ptr(b)};
    static const int64_t unit[3] = {1, 1, 1};
    binary_kernels[op][compute](tf_tensor_numel(a), ptrs, unit, NULL);
    *out = r;
    return TF_OK;
  }
  const tf_tensor *pair[2] = {a, b};
  int ndim;
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(tf_broadcast_shapes(binary_names[op], 2, pair, &ndim, shape));
  tf_tensor *r = NULL;
  TF_TRY(tf_new(ndim, shape, kernel_output(op, compute), &r));
  tf_status st = binary_run(op, a, b, compute, r);
  if (st == TF_OK && r->dtype != result) {
    tf_tensor *converted = NULL;
    st = tf_to_dtype(r, result, &converted);
    tf_tensor_release(r);
    r = converted;
  }
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

static tf_status binary_into(int op, const tf_tensor *a, const tf_tensor *b,
                             tf_dtype promoted, tf_tensor *dst) {
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  TF_TRY(compute_dtype(op, promoted, &compute, &result));
  const tf_tensor *pair[2] = {a, b};
  int ndim;
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(tf_broadcast_shapes(binary_names[op], 2, pair, &ndim, shape));
  TF_TRY(tf_check_writable(binary_names[op], dst));
  char s1[TF_SHAPE_STR], s2[TF_SHAPE_STR];
  TF_CHECK(ndim == dst->ndim &&
               !memcmp(shape, dst->shape, sizeof(int64_t) * (size_t)ndim),
           TF_ERR_SHAPE,
           "%s: output with shape %s doesn't match the broadcast shape %s",
           binary_names[op], tf_shape_str(dst->ndim, dst->shape, s1),
           tf_shape_str(ndim, shape, s2));
  /* Like PyTorch's in-place ops: the result may be narrowed within a
   * category (float64 into float32) but not across (float into int64). */
  TF_CHECK(result == dst->dtype ||
               (category(result) <= category(dst->dtype) && result != TF_BOOL) ||
               (result == TF_BOOL && dst->dtype == TF_BOOL),
           TF_ERR_DTYPE,
           "%s: result type %s can't be cast to the desired output type %s",
           binary_names[op], tf_dtype_name(result), tf_dtype_name(dst->dtype));
  tf_bump_version(dst);
  tf_dtype written = kernel_output(op, compute);
  if (written == dst->dtype) return binary_run(op, a, b, compute, dst);
  tf_tensor *tmp = NULL;
  TF_TRY(tf_new(ndim, shape, written, &tmp));
  tf_status st = binary_run(op, a, b, compute, tmp);
  if (st == TF_OK) st = tf_copy_(dst, tmp);
  tf_tensor_release(tmp);
  return st;
}

tf_status tf_binary(int op, const tf_tensor *a, const tf_tensor *b,
                    tf_tensor **out) {
  TF_TRY(binary_check(op, a, b));
  return binary_new(op, a, b, promote_tensors(a, b), out);
}

tf_status tf_binary_into(int op, const tf_tensor *a, const tf_tensor *b,
                         tf_tensor *dst) {
  TF_TRY(binary_check(op, a, b));
  TF_TRY(tf_check_cpu(binary_names[op], dst));
  return binary_into(op, a, b, promote_tensors(a, b), dst);
}

/* A 0-d tensor holding the scalar in dtype. */
static tf_status scalar_tensor(double fvalue, int64_t ivalue, int kind,
                               tf_dtype dtype, tf_tensor **out) {
  TF_TRY(tf_new(0, NULL, dtype, out));
  tf_status st = tf_fill_(*out, fvalue, ivalue, kind);
  if (st != TF_OK) tf_tensor_release(*out);
  return st;
}

static tf_status scalar_operand(int op, const tf_tensor *t, double fvalue,
                                int64_t ivalue, int kind, tf_dtype *promoted,
                                tf_tensor **s) {
  TF_CHECK(op >= 0 && op < TF_BINARY_COUNT, TF_ERR_VALUE,
           "binary: unknown op code %d", op);
  TF_TRY(tf_check_cpu(binary_names[op], t));
  TF_CHECK(kind >= TF_SCALAR_BOOL && kind <= TF_SCALAR_FLOAT, TF_ERR_VALUE,
           "%s: unknown scalar kind %d", binary_names[op], kind);
  *promoted = promote_scalar(t->dtype, kind);
  return scalar_tensor(fvalue, ivalue, kind, *promoted, s);
}

/* Small contiguous op(t, scalar) in t's own float dtype: the scalar lives on
 * the stack and the kernel reads it with stride 0, no 0-d tensor allocated. */
static bool scalar_fast_path(int op, const tf_tensor *t, double fvalue,
                             int64_t ivalue, int kind, bool reverse,
                             tf_tensor **out) {
  tf_dtype promoted = promote_scalar(t->dtype, kind);
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  if (promoted != t->dtype || compute_dtype(op, promoted, &compute, &result) != TF_OK ||
      compute != t->dtype || result != kernel_output(op, compute) ||
      !tf_is_float(compute) || !tf_tensor_is_contiguous(t) ||
      tf_tensor_numel(t) >= TF_PARALLEL_GRAIN)
    return false;
  union { float f32; double f64; } value;
  tf_scalar_to(fvalue, ivalue, kind, compute, &value);
  tf_tensor *r = NULL;
  if (tf_new(t->ndim, t->shape, result, &r) != TF_OK) return false;
  char *ptrs[3] = {tf_ptr(r), reverse ? (char *)&value : tf_ptr(t),
                   reverse ? tf_ptr(t) : (char *)&value};
  const int64_t strides[3] = {1, reverse ? 0 : 1, reverse ? 1 : 0};
  binary_kernels[op][compute](tf_tensor_numel(t), ptrs, strides, NULL);
  *out = r;
  return true;
}

tf_status tf_binary_scalar(int op, const tf_tensor *t, double fvalue,
                           int64_t ivalue, int kind, bool reverse,
                           tf_tensor **out) {
  tf_dtype promoted = TF_FLOAT32;
  tf_tensor *s = NULL;
  if (op >= 0 && op < TF_BINARY_COUNT && t && t->storage->alloc->host &&
      kind >= TF_SCALAR_BOOL && kind <= TF_SCALAR_FLOAT &&
      scalar_fast_path(op, t, fvalue, ivalue, kind, reverse, out))
    return TF_OK;
  TF_TRY(scalar_operand(op, t, fvalue, ivalue, kind, &promoted, &s));
  tf_status st = reverse ? binary_new(op, s, t, promoted, out)
                         : binary_new(op, t, s, promoted, out);
  tf_tensor_release(s);
  return st;
}

tf_status tf_binary_scalar_into(int op, const tf_tensor *t, double fvalue,
                                int64_t ivalue, int kind, tf_tensor *dst) {
  tf_dtype promoted = TF_FLOAT32;
  tf_tensor *s = NULL;
  TF_TRY(tf_check_cpu("binary", dst));
  TF_TRY(scalar_operand(op, t, fvalue, ivalue, kind, &promoted, &s));
  tf_status st = binary_into(op, t, s, promoted, dst);
  tf_tensor_release(s);
  return st;
}

/* ---- where -------------------------------------------------------------- */
#define WHERE_LOOP(FN, T)                                                     \
  static void FN(int64_t n, char *const *ptr, const int64_t *s,              \
                 const double *prm) {                                         \
    (void)prm;                                                                \
    T *o = (T *)ptr[0];                                                       \
    const bool *c = (const bool *)ptr[1];                                     \
    const T *a = (const T *)ptr[2], *b = (const T *)ptr[3];                   \
    for (int64_t i = 0; i < n; i++)                                           \
      o[i * s[0]] = c[i * s[1]] ? a[i * s[2]] : b[i * s[3]];                  \
  }
WHERE_LOOP(where_f32, float)
WHERE_LOOP(where_f64, double)
WHERE_LOOP(where_i64, int64_t)
WHERE_LOOP(where_bool, bool)
static const tf_row_fn where_kernels[TF_NUM_DTYPES] = {where_f32, where_f64,
                                                       where_i64, where_bool};

tf_status tf_where(const tf_tensor *cond, const tf_tensor *a,
                   const tf_tensor *b, tf_tensor **out) {
  TF_TRY(tf_check_cpu("where", cond));
  TF_TRY(tf_check_cpu("where", a));
  TF_TRY(tf_check_cpu("where", b));
  TF_CHECK(cond->dtype == TF_BOOL, TF_ERR_DTYPE,
           "where: expected a bool condition, got %s",
           tf_dtype_name(cond->dtype));
  const tf_tensor *all[3] = {cond, a, b};
  int ndim;
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(tf_broadcast_shapes("where", 3, all, &ndim, shape));
  tf_dtype dtype = promote_tensors(a, b);
  tf_tensor *r = NULL, *owned_a = NULL, *owned_b = NULL;
  TF_TRY(tf_new(ndim, shape, dtype, &r));
  tf_status st = prepare_operand(a, dtype, NULL, &a, &owned_a);
  if (st == TF_OK) st = prepare_operand(b, dtype, NULL, &b, &owned_b);
  else owned_b = NULL;
  if (st == TF_OK) {
    const tf_tensor *ops[4] = {r, cond, a, b};
    tf_iter it;
    tf_iter_init(&it, 4, ops, ndim, shape);
    tf_iter_run(&it, where_kernels[dtype], NULL);
    *out = r;
  } else {
    tf_tensor_release(r);
  }
  tf_tensor_release(owned_a);
  tf_tensor_release(owned_b);
  return st;
}
