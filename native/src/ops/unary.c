/* unary.c: the entry points of the unary ops: op codes, names and dtype
 * rules from tinyfin_ops.def, the result allocated on the operand's device,
 * in-place writes and out=, then the kernel of the backend chosen for the
 * call (cpu/unary.c holds the cpu's). */
#include "../backend.h"

enum { KIND_FLOAT, KIND_NUM, KIND_PRED };

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
_Static_assert(sizeof unary_kinds / sizeof unary_kinds[0] == TF_UNARY_COUNT,
               "every unary op needs a kind");
_Static_assert(sizeof unary_names / sizeof unary_names[0] == TF_UNARY_COUNT,
               "every unary op needs a name");

const char *tf_unary_name(int op) {
  return op >= 0 && op < TF_UNARY_COUNT ? unary_names[op] : NULL;
}

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
  tf_unary_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), unary_names[op],
            k->unary ? k->unary[op] : NULL);
  tf_tensor *converted = NULL;
  if (x->dtype != compute || tf_overlap_of(dst, x) == TF_OVERLAP_PARTIAL) {
    /* Another dtype, or a partial overlap with dst (neg(x.T, out=x)): read
     * from a copy. */
    TF_TRY(tf_to_dtype(x, compute, &converted));
    x = converted;
  }
  tf_status st = kernel(op, x, dst, params);
  tf_tensor_release(converted);
  return st;
}

static tf_status unary_check(int op, const tf_tensor *x) {
  TF_CHECK(op >= 0 && op < TF_UNARY_COUNT, TF_ERR_VALUE,
           "unary: unknown op code %d", op);
  return tf_check_device(unary_names[op], x);
}

tf_status tf_unary(int op, const tf_tensor *x, double p0, double p1,
                   double p2, tf_tensor **out) {
  TF_TRY(unary_check(op, x));
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  TF_TRY(unary_dtypes(op, x->dtype, &compute, &result));
  tf_tensor *r = NULL;
  TF_TRY(tf_new_on(x->storage->alloc, x->ndim, x->shape, result, &r));
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
  TF_TRY(tf_check_same_device(unary_names[op], dst, x));
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
