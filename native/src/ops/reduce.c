/* reduce.c: the entry points of the reductions and of softmax: op codes
 * and names from tinyfin_ops.def, the dtype rules, the dims and the empty
 * cases checked, the results allocated on the input's device; then the
 * kernel of the backend chosen for the call (cpu/reduce.c holds the cpu's,
 * in a fixed blocked order). */
#include <math.h>

#include "../backend.h"

static const char *const reduce_names[] = {
#define TF_REDUCE_OP(ENUM, name) #name,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
};
_Static_assert(sizeof reduce_names / sizeof reduce_names[0] == TF_REDUCE_COUNT,
               "every reduce op needs a name");

const char *tf_reduce_name(int op) {
  return op >= 0 && op < TF_REDUCE_COUNT ? reduce_names[op] : NULL;
}

static bool needs_float(int op) {
  return op == TF_REDUCE_MEAN || op == TF_REDUCE_VAR || op == TF_REDUCE_STD ||
         op == TF_REDUCE_LOGSUMEXP || op == TF_REDUCE_NORM;
}
/* Ops without an identity: an empty reduction is an error. */
static bool max_like(int op) {
  return op == TF_REDUCE_MAX || op == TF_REDUCE_MIN || op == TF_REDUCE_ARGMAX ||
         op == TF_REDUCE_ARGMIN || op == TF_REDUCE_AMAX || op == TF_REDUCE_AMIN;
}

static tf_dtype result_dtype(int op, tf_dtype in) {
  switch (op) {
    case TF_REDUCE_SUM:
    case TF_REDUCE_PROD: return tf_is_float(in) ? in : TF_INT64;
    case TF_REDUCE_ARGMAX:
    case TF_REDUCE_ARGMIN: return TF_INT64;
    case TF_REDUCE_ALL:
    case TF_REDUCE_ANY: return TF_BOOL;
    default: return in;
  }
}

static tf_status check_args(int op, const tf_tensor *x, uint32_t *mask,
                            double param, bool want_idx) {
  const char *name = reduce_names[op];
  int rank = x->ndim ? x->ndim : 1;
  uint32_t all = (1u << rank) - 1;
  TF_CHECK(!(*mask & ~all), TF_ERR_INDEX,
           "%s: dim_mask 0x%x names a dim out of range for a tensor of %d "
           "dims (expected bits below 0x%x)", name, *mask, x->ndim, all + 1);
  if (*mask == 0) *mask = all;
  TF_CHECK(!needs_float(op) || tf_is_float(x->dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 tensor, got %s", name,
           tf_dtype_name(x->dtype));
  TF_CHECK(op != TF_REDUCE_NORM || param >= 0 || param == -INFINITY,
           TF_ERR_VALUE, "norm: p must be >= 0, inf or -inf, got %g", param);
  TF_CHECK(!want_idx || __builtin_popcount(*mask) == 1, TF_ERR_VALUE,
           "%s: indices need exactly one reduced dim, got dim_mask 0x%x for "
           "a tensor of %d dims", name, *mask, x->ndim);
  int64_t n = 1;
  for (int d = 0; d < x->ndim; d++)
    if (*mask >> d & 1) n *= x->shape[d];
  char s[TF_SHAPE_STR];
  TF_CHECK(n != 0 || !(max_like(op) ||
                       (op == TF_REDUCE_NORM && param == -INFINITY)),
           TF_ERR_INDEX,
           "%s: cannot reduce over an empty dimension of an input of shape %s "
           "(%s has no identity; reduce a non-empty input or other dims)",
           name, tf_shape_str(x->ndim, x->shape, s), name);
  return TF_OK;
}

tf_status tf_reduce(int op, const tf_tensor *x, uint32_t dim_mask,
                    bool keepdim, double param, tf_tensor **values,
                    tf_tensor **indices) {
  TF_CHECK(op >= 0 && op < TF_REDUCE_COUNT, TF_ERR_VALUE,
           "reduce: unknown op code %d", op);
  TF_TRY(tf_check_device(reduce_names[op], x));
  bool want_idx = indices && (op == TF_REDUCE_MAX || op == TF_REDUCE_MIN);
  TF_TRY(check_args(op, x, &dim_mask, param, want_idx));
  tf_reduce_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), reduce_names[op],
            k->reduce ? k->reduce[op] : NULL);
  int ond = 0;
  int64_t oshape[TF_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++)
    if (!(dim_mask >> d & 1)) oshape[ond++] = x->shape[d];
    else if (keepdim) oshape[ond++] = 1;
  tf_tensor *v = NULL, *ix = NULL;
  TF_TRY(tf_new_on(x->storage->alloc, ond, oshape, result_dtype(op, x->dtype), &v));
  tf_status st = want_idx ? tf_new_on(x->storage->alloc, ond, oshape, TF_INT64, &ix)
                          : TF_OK;
  if (st == TF_OK) st = kernel(op, x, dim_mask, param, v, ix);
  if (st != TF_OK) {
    tf_tensor_release(v);
    tf_tensor_release(ix);
    return st;
  }
  *values = v;
  if (indices) *indices = ix;
  return TF_OK;
}

/* Stable: e^(x - max) / sum; a row holding NaN or +inf, or only -inf,
 * gives NaN, as in PyTorch. */
tf_status tf_softmax(const tf_tensor *x, int dim, bool take_log,
                     tf_tensor **out) {
  const char *name = take_log ? "log_softmax" : "softmax";
  TF_TRY(tf_check_device(name, x));
  TF_TRY(tf_norm_dim(name, &dim, x->ndim));
  TF_CHECK(tf_is_float(x->dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 tensor, got %s", name,
           tf_dtype_name(x->dtype));
  tf_softmax_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), name, k->softmax);
  tf_tensor *y = NULL;
  TF_TRY(tf_new_on(x->storage->alloc, x->ndim, x->shape, x->dtype, &y));
  tf_status st = kernel(x, dim, take_log, y);
  if (st != TF_OK) {
    tf_tensor_release(y);
    return st;
  }
  *out = y;
  return TF_OK;
}
