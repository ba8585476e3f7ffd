/* copy.c: element copies between any strides and dtypes: clone, contiguous,
 * dtype conversion, copy_ and fill_. */
#include <math.h>

#include "../internal.h"

/* float -> int64 saturates (NaN gives 0) instead of C's undefined behaviour. */
static inline int64_t f64_to_i64(double x) {
  if (x != x) return 0;
  if (x >= 9223372036854775807.0) return INT64_MAX;
  if (x <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)x;
}

#define CONV_float(x) ((float)(x))
#define CONV_double(x) ((double)(x))
#define CONV_bool(x) ((x) != 0)
/* Integer and bool sources are exact; floats go through f64_to_i64. */
#define CONV_int64_t(x)                                  \
  _Generic((x), float: f64_to_i64((double)(x)),          \
           double: f64_to_i64((double)(x)), default: (int64_t)(x))

#define DEFINE_CONVERT(DST, SRC, NAME)                                       \
  static void NAME(int64_t n, char *const *p, const int64_t *s,             \
                   const double *prm) {                                      \
    (void)prm;                                                               \
    DST *o = (DST *)p[0];                                                    \
    const SRC *a = (const SRC *)p[1];                                        \
    if (s[0] == 1 && s[1] == 1)                                              \
      for (int64_t i = 0; i < n; i++) o[i] = CONV_##DST(a[i]);               \
    else                                                                     \
      for (int64_t i = 0; i < n; i++) o[i * s[0]] = CONV_##DST(a[i * s[1]]); \
  }

#define DEFINE_CONVERT_FROM(SRC, SNAME)                  \
  DEFINE_CONVERT(float, SRC, convert_f32_from_##SNAME)   \
  DEFINE_CONVERT(double, SRC, convert_f64_from_##SNAME)  \
  DEFINE_CONVERT(int64_t, SRC, convert_i64_from_##SNAME) \
  DEFINE_CONVERT(bool, SRC, convert_bool_from_##SNAME)
DEFINE_CONVERT_FROM(float, f32)
DEFINE_CONVERT_FROM(double, f64)
DEFINE_CONVERT_FROM(int64_t, i64)
DEFINE_CONVERT_FROM(bool, bool)

/* [dst dtype][src dtype] */
static const tf_row_fn convert_table[TF_NUM_DTYPES][TF_NUM_DTYPES] = {
    {convert_f32_from_f32, convert_f32_from_f64, convert_f32_from_i64, convert_f32_from_bool},
    {convert_f64_from_f32, convert_f64_from_f64, convert_f64_from_i64, convert_f64_from_bool},
    {convert_i64_from_f32, convert_i64_from_f64, convert_i64_from_i64, convert_i64_from_bool},
    {convert_bool_from_f32, convert_bool_from_f64, convert_bool_from_i64, convert_bool_from_bool},
};

/* dst = src broadcast to dst's shape; the caller has checked shapes. */
static void copy_elements(tf_tensor *dst, const tf_tensor *src) {
  const tf_tensor *ops[2] = {dst, src};
  tf_iter it;
  tf_iter_init(&it, 2, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, convert_table[dst->dtype][src->dtype], NULL);
}

tf_status tf_copy_(tf_tensor *dst, const tf_tensor *src) {
  TF_TRY(tf_check_cpu("copy_", dst));
  TF_TRY(tf_check_cpu("copy_", src));
  TF_TRY(tf_check_writable("copy_", dst));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  bool fits = src->ndim <= dst->ndim;
  for (int d = 0; fits && d < src->ndim; d++) {
    int64_t s = src->shape[d], t = dst->shape[dst->ndim - src->ndim + d];
    fits = s == t || s == 1;
  }
  TF_CHECK(fits, TF_ERR_SHAPE,
           "copy_: source of shape %s cannot be broadcast to the destination "
           "shape %s", tf_shape_str(src->ndim, src->shape, a),
           tf_shape_str(dst->ndim, dst->shape, b));
  tf_bump_version(dst);
  if (tf_overlap_of(dst, src) == TF_OVERLAP_PARTIAL) {
    /* Overlapping storage: read everything before writing anything. */
    tf_tensor *tmp;
    TF_TRY(tf_clone(src, &tmp));
    copy_elements(dst, tmp);
    tf_tensor_release(tmp);
    return TF_OK;
  }
  copy_elements(dst, src);
  return TF_OK;
}

tf_status tf_clone(const tf_tensor *t, tf_tensor **out) {
  TF_TRY(tf_check_cpu("clone", t));
  tf_tensor *r = NULL;
  TF_TRY(tf_new(t->ndim, t->shape, t->dtype, &r));
  copy_elements(r, t);
  *out = r;
  return TF_OK;
}

tf_status tf_contiguous(const tf_tensor *t, tf_tensor **out) {
  TF_TRY(tf_check_cpu("contiguous", t));
  if (!tf_tensor_is_contiguous(t)) return tf_clone(t, out);
  tf_tensor_retain((tf_tensor *)t);
  *out = (tf_tensor *)t;
  return TF_OK;
}

tf_status tf_to_dtype(const tf_tensor *t, tf_dtype dtype, tf_tensor **out) {
  TF_TRY(tf_check_cpu("to", t));
  TF_CHECK(dtype >= 0 && dtype < TF_NUM_DTYPES, TF_ERR_DTYPE,
           "to: unknown dtype code %d", (int)dtype);
  tf_tensor *r = NULL;
  TF_TRY(tf_new(t->ndim, t->shape, dtype, &r));
  copy_elements(r, t);
  *out = r;
  return TF_OK;
}

/* The float32 nearest v (ties to even), in one rounding: not through
 * double, which would round first to 53 bits. The hardware's conversion
 * does the same; this one is exact under valgrind too, which emulates that
 * instruction through double. */
static float i64_to_f32(int64_t v) {
  uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  if (m < ((uint64_t)1 << 24)) return (float)v; /* exact */
  int shift = 64 - __builtin_clzll(m) - 24;     /* keep 24 bits */
  uint64_t q = m >> shift, rest = m & (((uint64_t)1 << shift) - 1);
  uint64_t half = (uint64_t)1 << (shift - 1);
  if (rest > half || (rest == half && (q & 1))) q++;
  float f = ldexpf((float)q, shift); /* q <= 2^24: exact */
  return v < 0 ? -f : f;
}

void tf_scalar_to(double fvalue, int64_t ivalue, int kind, tf_dtype dtype,
                  void *elem) {
  bool is_float = kind == TF_SCALAR_FLOAT;
  switch (dtype) {
    case TF_FLOAT32: *(float *)elem = is_float ? (float)fvalue : i64_to_f32(ivalue); break;
    case TF_FLOAT64: *(double *)elem = is_float ? fvalue : (double)ivalue; break;
    case TF_INT64: *(int64_t *)elem = is_float ? f64_to_i64(fvalue) : ivalue; break;
    default: *(bool *)elem = is_float ? fvalue != 0 : ivalue != 0; break;
  }
}

/* params holds the element to write, already in the destination dtype. */
#define DEFINE_FILL(T, NAME)                                            \
  static void NAME(int64_t n, char *const *p, const int64_t *s,        \
                   const double *prm) {                                 \
    T *o = (T *)p[0];                                                   \
    T v;                                                                \
    memcpy(&v, prm, sizeof v);                                          \
    if (s[0] == 1)                                                      \
      for (int64_t i = 0; i < n; i++) o[i] = v;                         \
    else                                                                \
      for (int64_t i = 0; i < n; i++) o[i * s[0]] = v;                  \
  }
DEFINE_FILL(float, fill_f32)
DEFINE_FILL(double, fill_f64)
DEFINE_FILL(int64_t, fill_i64)
DEFINE_FILL(bool, fill_bool)
static const tf_row_fn fill_table[TF_NUM_DTYPES] = {fill_f32, fill_f64,
                                                    fill_i64, fill_bool};

tf_status tf_fill_(tf_tensor *dst, double fvalue, int64_t ivalue, int kind) {
  TF_TRY(tf_check_cpu("fill_", dst));
  TF_CHECK(kind >= TF_SCALAR_BOOL && kind <= TF_SCALAR_FLOAT, TF_ERR_VALUE,
           "fill_: unknown scalar kind %d", kind);
  TF_TRY(tf_check_writable("fill_", dst));
  tf_bump_version(dst);
  double params[1];
  tf_scalar_to(fvalue, ivalue, kind, dst->dtype, params);
  const tf_tensor *ops[1] = {dst};
  tf_iter it;
  tf_iter_init(&it, 1, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, fill_table[dst->dtype], params);
  return TF_OK;
}
