/* copy.c: the cpu's copy and fill kernels: element copies between any
 * strides and dtypes (tf_to_dtype's conversion rules) and fills. */
#include "../backend.h"

#define CONV_float(x) ((float)(x))
#define CONV_double(x) ((double)(x))
#define CONV_bool(x) ((x) != 0)
/* Integer and bool sources are exact; floats go through tf_f64_to_i64. */
#define CONV_int64_t(x)                                  \
  _Generic((x), float: tf_f64_to_i64((double)(x)),       \
           double: tf_f64_to_i64((double)(x)), default: (int64_t)(x))

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

/* The cpu's copy slot: dst = src broadcast to dst's shape, converted. */
tf_status tf_cpu_copy(tf_tensor *dst, const tf_tensor *src) {
  const tf_tensor *ops[2] = {dst, src};
  tf_iter it;
  tf_iter_init(&it, 2, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, convert_table[dst->dtype][src->dtype], NULL);
  return TF_OK;
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

/* The cpu's fill slot: every element of dst = *elem (in dst's dtype). */
tf_status tf_cpu_fill(tf_tensor *dst, const void *elem) {
  double params[1];
  memcpy(params, elem, tf_dtype_size(dst->dtype));
  const tf_tensor *ops[1] = {dst};
  tf_iter it;
  tf_iter_init(&it, 1, ops, dst->ndim, dst->shape);
  tf_iter_run(&it, fill_table[dst->dtype], params);
  return TF_OK;
}

