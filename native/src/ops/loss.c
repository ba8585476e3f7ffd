/* loss.c: the entry points of the fused losses, cross-entropy and binary
 * cross-entropy with logits, forward and backward: dtypes, devices, shapes
 * and options checked with messages naming the loss and the shapes, the
 * plan (backend.h) the kernels compute, the result allocated on the
 * operands' device; then the chosen backend's kernel (cpu/loss.c holds the
 * cpu's, which also checks the class indices it reads). */
#include "../backend.h"

static tf_status finish(tf_tensor *o, tf_status st, tf_tensor **out) {
  if (st != TF_OK) {
    tf_tensor_release(o);
    return st;
  }
  *out = o;
  return TF_OK;
}

static tf_status check_reduction(const char *op, int reduction) {
  TF_CHECK(reduction == TF_REDUCTION_NONE || reduction == TF_REDUCTION_MEAN ||
               reduction == TF_REDUCTION_SUM,
           TF_ERR_VALUE, "%s: reduction code %d is not valid (0 none, 1 mean, 2 sum)",
           op, reduction);
  return TF_OK;
}

static tf_status check_float(const char *op, const tf_tensor *x) {
  TF_CHECK(tf_is_float(x->dtype), TF_ERR_DTYPE,
           "%s: expected float32 or float64 input, got %s", op,
           tf_dtype_name(x->dtype));
  return TF_OK;
}

/* ---- cross-entropy ---------------------------------------------------------- */
static tf_status ce_plan_of(const char *op, const tf_tensor *x,
                            const tf_tensor *target, const tf_tensor *weight,
                            int64_t ignore_index, double smoothing,
                            int reduction, tf_ce_plan *p) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_TRY(tf_check_same_device(op, x, target));
  if (weight) TF_TRY(tf_check_same_device(op, x, weight));
  TF_TRY(check_float(op, x));
  TF_TRY(check_reduction(op, reduction));
  TF_CHECK(x->ndim >= 1, TF_ERR_SHAPE,
           "%s: expected an input of shape (C,), (N, C) or (N, C, d1, ...), "
           "got a 0-d tensor", op);
  TF_CHECK(smoothing >= 0.0 && smoothing <= 1.0, TF_ERR_VALUE,
           "%s: label_smoothing must be in [0, 1], got %g", op, smoothing);
  memset(p, 0, sizeof *p);
  int cdim = x->ndim == 1 ? 0 : 1;
  p->classes = x->shape[cdim];
  p->x_cs = x->strides[cdim];
  p->row_ndim = x->ndim - 1;
  p->rows = 1;
  for (int d = 0, k = 0; d < x->ndim; d++) {
    if (d == cdim) continue;
    p->row_shape[k] = x->shape[d];
    p->x_rs[k] = x->strides[d];
    p->rows *= x->shape[d]; /* fits: a factor of x's numel (or of 0) */
    k++;
  }
  p->prob = tf_is_float(target->dtype);
  if (p->prob) {
    TF_CHECK(tf_tensor_same_shape(x, target), TF_ERR_SHAPE,
             "%s: class-probability target of shape %s must have the "
             "input's shape %s (class-index targets must be int64)", op,
             tf_shape_str(target->ndim, target->shape, a),
             tf_shape_str(x->ndim, x->shape, b));
    TF_CHECK(target->dtype == x->dtype, TF_ERR_DTYPE,
             "%s: class-probability targets must have the input's dtype "
             "(%s), got %s", op, tf_dtype_name(x->dtype),
             tf_dtype_name(target->dtype));
    p->t_cs = target->strides[cdim];
    for (int d = 0, k = 0; d < x->ndim; d++)
      if (d != cdim) p->t_rs[k++] = target->strides[d];
  } else {
    TF_CHECK(target->dtype == TF_INT64, TF_ERR_DTYPE,
             "%s: expected class-index targets of dtype int64 (or "
             "class probabilities of the input's dtype), got %s", op,
             tf_dtype_name(target->dtype));
    bool same = target->ndim == p->row_ndim;
    for (int d = 0; same && d < p->row_ndim; d++)
      same = target->shape[d] == p->row_shape[d];
    TF_CHECK(same, TF_ERR_SHAPE,
             "%s: class-index target of shape %s does not fit the input of "
             "shape %s (expected %s: the input's shape without the class dim)",
             op, tf_shape_str(target->ndim, target->shape, a),
             tf_shape_str(x->ndim, x->shape, b),
             tf_shape_str(p->row_ndim, p->row_shape, (char[TF_SHAPE_STR]){0}));
    memcpy(p->t_rs, target->strides, sizeof(int64_t) * (size_t)target->ndim);
  }
  if (weight) {
    TF_CHECK(weight->dtype == x->dtype, TF_ERR_DTYPE,
             "%s: weight must have the input's dtype (%s), got %s", op,
             tf_dtype_name(x->dtype), tf_dtype_name(weight->dtype));
    TF_CHECK(weight->ndim == 1 && weight->shape[0] == p->classes, TF_ERR_SHAPE,
             "%s: weight of shape %s must be 1-D with one entry per class "
             "(%lld) of the input of shape %s", op,
             tf_shape_str(weight->ndim, weight->shape, a), (long long)p->classes,
             tf_shape_str(x->ndim, x->shape, b));
    p->w_s = weight->strides[0];
  }
  p->ignore_index = ignore_index;
  p->smoothing = smoothing;
  p->reduction = reduction;
  /* contiguous strides of the per-row result and of dx */
  tf_contiguous_strides(p->row_ndim, p->row_shape, p->o_rs);
  int64_t xst[TF_MAX_DIMS];
  tf_contiguous_strides(x->ndim, x->shape, xst);
  p->d_cs = xst[cdim];
  for (int d = 0, k = 0; d < x->ndim; d++)
    if (d != cdim) p->d_rs[k++] = xst[d];
  return TF_OK;
}

tf_status tf_cross_entropy(const tf_tensor *x, const tf_tensor *target,
                           const tf_tensor *weight, int64_t ignore_index,
                           double label_smoothing, int reduction,
                           tf_tensor **out) {
  const char *op = "cross_entropy";
  TF_TRY(tf_check_device(op, x));
  tf_ce_plan p;
  TF_TRY(ce_plan_of(op, x, target, weight, ignore_index, label_smoothing,
                    reduction, &p));
  tf_cross_entropy_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->cross_entropy);
  tf_tensor *o = NULL;
  if (reduction == TF_REDUCTION_NONE)
    TF_TRY(tf_new_on(x->storage->alloc, p.row_ndim, p.row_shape, x->dtype, &o));
  else
    TF_TRY(tf_new_on(x->storage->alloc, 0, NULL, x->dtype, &o));
  return finish(o, kernel(&p, x, target, weight, o), out);
}

tf_status tf_cross_entropy_backward(const tf_tensor *grad, const tf_tensor *x,
                                    const tf_tensor *target,
                                    const tf_tensor *weight,
                                    int64_t ignore_index,
                                    double label_smoothing, int reduction,
                                    tf_tensor **out) {
  const char *op = "cross_entropy_backward";
  TF_TRY(tf_check_device(op, x));
  TF_TRY(tf_check_same_device(op, x, grad));
  tf_ce_plan p;
  TF_TRY(ce_plan_of(op, x, target, weight, ignore_index, label_smoothing,
                    reduction, &p));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(grad->dtype == x->dtype, TF_ERR_DTYPE,
           "%s: grad must have the input's dtype (%s), got %s", op,
           tf_dtype_name(x->dtype), tf_dtype_name(grad->dtype));
  if (reduction == TF_REDUCTION_NONE) {
    bool same = grad->ndim == p.row_ndim;
    for (int d = 0; same && d < p.row_ndim; d++) same = grad->shape[d] == p.row_shape[d];
    TF_CHECK(same, TF_ERR_SHAPE, "%s: grad of shape %s must have the loss's shape %s",
             op, tf_shape_str(grad->ndim, grad->shape, a),
             tf_shape_str(p.row_ndim, p.row_shape, b));
    memcpy(p.g_rs, grad->strides, sizeof(int64_t) * (size_t)grad->ndim);
  } else {
    TF_CHECK(grad->ndim == 0, TF_ERR_SHAPE,
             "%s: grad of a reduced loss must be 0-d, got shape %s", op,
             tf_shape_str(grad->ndim, grad->shape, a));
  }
  tf_cross_entropy_backward_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->cross_entropy_backward);
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(x->storage->alloc, x->ndim, x->shape, x->dtype, &o));
  return finish(o, kernel(&p, grad, x, target, weight, o), out);
}

/* ---- binary cross-entropy with logits ------------------------------------------ */
/* t (weight or pos_weight) read with x's shape: it must broadcast to it. */
static tf_status bce_broadcast(const char *op, const char *what,
                               const tf_tensor *x, const tf_tensor *t,
                               int64_t *strides) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_TRY(tf_check_same_device(op, x, t));
  TF_CHECK(t->dtype == x->dtype, TF_ERR_DTYPE,
           "%s: %s must have the input's dtype (%s), got %s", op, what,
           tf_dtype_name(x->dtype), tf_dtype_name(t->dtype));
  bool ok = t->ndim <= x->ndim;
  for (int d = 0; ok && d < t->ndim; d++) {
    int64_t ts = t->shape[t->ndim - 1 - d], xs = x->shape[x->ndim - 1 - d];
    ok = ts == xs || ts == 1;
  }
  TF_CHECK(ok, TF_ERR_SHAPE, "%s: %s of shape %s cannot be broadcast to the "
           "input's shape %s", op, what, tf_shape_str(t->ndim, t->shape, a),
           tf_shape_str(x->ndim, x->shape, b));
  tf_broadcast_strides(t, x->ndim, x->shape, strides);
  return TF_OK;
}

static tf_status bce_plan_of(const char *op, const tf_tensor *x,
                             const tf_tensor *target, const tf_tensor *weight,
                             const tf_tensor *pos_weight, int reduction,
                             tf_bce_plan *p) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_TRY(tf_check_device(op, x));
  TF_TRY(tf_check_same_device(op, x, target));
  TF_TRY(check_float(op, x));
  TF_TRY(check_reduction(op, reduction));
  TF_CHECK(target->dtype == x->dtype, TF_ERR_DTYPE,
           "%s: target must have the input's dtype (%s), got %s", op,
           tf_dtype_name(x->dtype), tf_dtype_name(target->dtype));
  TF_CHECK(tf_tensor_same_shape(x, target), TF_ERR_SHAPE,
           "%s: target size %s must be the same as input size %s", op,
           tf_shape_str(target->ndim, target->shape, a),
           tf_shape_str(x->ndim, x->shape, b));
  memset(p, 0, sizeof *p);
  p->ndim = x->ndim;
  memcpy(p->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  memcpy(p->x_s, x->strides, sizeof(int64_t) * (size_t)x->ndim);
  memcpy(p->t_s, target->strides, sizeof(int64_t) * (size_t)x->ndim);
  p->numel = tf_shape_numel(x->ndim, x->shape);
  p->dense = tf_tensor_is_contiguous(x) && tf_tensor_is_contiguous(target);
  if (weight) TF_TRY(bce_broadcast(op, "weight", x, weight, p->w_s));
  if (pos_weight) TF_TRY(bce_broadcast(op, "pos_weight", x, pos_weight, p->pw_s));
  p->reduction = reduction;
  return TF_OK;
}

tf_status tf_bce_with_logits(const tf_tensor *x, const tf_tensor *target,
                             const tf_tensor *weight,
                             const tf_tensor *pos_weight, int reduction,
                             tf_tensor **out) {
  const char *op = "binary_cross_entropy_with_logits";
  tf_bce_plan p;
  TF_TRY(bce_plan_of(op, x, target, weight, pos_weight, reduction, &p));
  tf_bce_with_logits_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->bce_with_logits);
  tf_tensor *o = NULL;
  if (reduction == TF_REDUCTION_NONE)
    TF_TRY(tf_new_on(x->storage->alloc, x->ndim, x->shape, x->dtype, &o));
  else
    TF_TRY(tf_new_on(x->storage->alloc, 0, NULL, x->dtype, &o));
  return finish(o, kernel(&p, x, target, weight, pos_weight, o), out);
}

tf_status tf_bce_with_logits_backward(const tf_tensor *grad, const tf_tensor *x,
                                      const tf_tensor *target,
                                      const tf_tensor *weight,
                                      const tf_tensor *pos_weight,
                                      int reduction, tf_tensor **out) {
  const char *op = "binary_cross_entropy_with_logits_backward";
  tf_bce_plan p;
  TF_TRY(bce_plan_of(op, x, target, weight, pos_weight, reduction, &p));
  TF_TRY(tf_check_same_device(op, x, grad));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(grad->dtype == x->dtype, TF_ERR_DTYPE,
           "%s: grad must have the input's dtype (%s), got %s", op,
           tf_dtype_name(x->dtype), tf_dtype_name(grad->dtype));
  if (reduction == TF_REDUCTION_NONE) {
    TF_CHECK(tf_tensor_same_shape(grad, x), TF_ERR_SHAPE,
             "%s: grad of shape %s must have the input's shape %s", op,
             tf_shape_str(grad->ndim, grad->shape, a),
             tf_shape_str(x->ndim, x->shape, b));
    memcpy(p.g_s, grad->strides, sizeof(int64_t) * (size_t)x->ndim);
  } else {
    TF_CHECK(grad->ndim == 0, TF_ERR_SHAPE,
             "%s: grad of a reduced loss must be 0-d, got shape %s", op,
             tf_shape_str(grad->ndim, grad->shape, a));
  }
  tf_bce_with_logits_backward_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->bce_with_logits_backward);
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(x->storage->alloc, x->ndim, x->shape, x->dtype, &o));
  return finish(o, kernel(&p, grad, x, target, weight, pos_weight, o), out);
}
