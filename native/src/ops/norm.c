/* norm.c: the entry points of batch_norm, group_norm and layer_norm and of
 * their backward passes: the dtype, shape and argument checks, contiguous
 * copies of strided operands, the results allocated on x's device, then the
 * backend's norm kernels (cpu/norm.c) on the (N, C, S) geometry of
 * backend.h's tf_norm_geom. */
#include "../backend.h"

/* *c = a contiguous version of t (t itself, retained, when it is one). */
static tf_status contiguous_or_null(const tf_tensor *t, tf_tensor **c) {
  *c = NULL;
  if (!t) return TF_OK;
  return tf_contiguous(t, c);
}

static tf_status check_float(const char *op, const char *what,
                             const tf_tensor *t, const tf_tensor *x) {
  if (!t) return TF_OK;
  TF_TRY(tf_check_same_device(op, x, t));
  TF_CHECK(t->dtype == x->dtype, TF_ERR_DTYPE,
           "%s: expected %s to have the input's dtype %s, got %s", op, what,
           tf_dtype_name(x->dtype), tf_dtype_name(t->dtype));
  return TF_OK;
}

/* t is NULL or a 1-D tensor of c elements. */
static tf_status check_vector(const char *op, const char *what,
                              const tf_tensor *t, int64_t c,
                              const tf_tensor *x) {
  if (!t) return TF_OK;
  char sx[TF_SHAPE_STR], st[TF_SHAPE_STR];
  TF_TRY(check_float(op, what, t, x));
  TF_CHECK(t->ndim == 1 && t->shape[0] == c, TF_ERR_SHAPE,
           "%s: expected %s of shape (%lld,) (the channels of the input of "
           "shape %s), got %s", op, what, (long long)c,
           tf_shape_str(x->ndim, x->shape, sx), tf_shape_str(t->ndim, t->shape, st));
  return TF_OK;
}

static tf_status check_input(const char *op, const tf_tensor *x, int min_ndim) {
  char sx[TF_SHAPE_STR];
  TF_TRY(tf_check_device(op, x));
  TF_CHECK(tf_is_float(x->dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 input, got %s", op,
           tf_dtype_name(x->dtype));
  TF_CHECK(x->ndim >= min_ndim, TF_ERR_SHAPE,
           "%s: expected an input with at least %d dims, got shape %s", op,
           min_ndim, tf_shape_str(x->ndim, x->shape, sx));
  return TF_OK;
}

/* The (N, C, S) geometry of x, channels along dim 1. */
static tf_norm_geom geom_ncs(const tf_tensor *x, int64_t groups,
                             bool per_channel) {
  tf_norm_geom g = {x->shape[0], x->shape[1], 1, groups, per_channel};
  for (int d = 2; d < x->ndim; d++) g.s *= x->shape[d];
  return g;
}

/* Contiguous copies of the operands, the outputs allocated, the kernel run;
 * everything released on failure. */
static tf_status run_forward(const char *op, const tf_norm_geom *g,
                             const tf_tensor *x, const tf_tensor *weight,
                             const tf_tensor *bias, double eps,
                             bool batch_stats, double momentum,
                             tf_tensor *running_mean, tf_tensor *running_var,
                             int stat_ndim, const int64_t *stat_shape,
                             tf_tensor **out, tf_tensor **mean,
                             tf_tensor **rstd) {
  tf_norm_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->normalize);
  tf_tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL, *m = NULL, *r = NULL;
  tf_status st = tf_contiguous(x, &xc);
  if (st == TF_OK) st = contiguous_or_null(weight, &wc);
  if (st == TF_OK) st = contiguous_or_null(bias, &bc);
  if (st == TF_OK) st = tf_new_on(x->storage->alloc, x->ndim, x->shape, x->dtype, &y);
  if (st == TF_OK) st = tf_new_on(x->storage->alloc, stat_ndim, stat_shape, TF_FLOAT64, &m);
  if (st == TF_OK) st = tf_new_on(x->storage->alloc, stat_ndim, stat_shape, TF_FLOAT64, &r);
  if (st == TF_OK)
    st = kernel(g, xc, wc, bc, eps, batch_stats, momentum, running_mean,
                running_var, m, r, y);
  if (st == TF_OK && batch_stats && running_mean) tf_bump_version(running_mean);
  if (st == TF_OK && batch_stats && running_var) tf_bump_version(running_var);
  tf_tensor_release(xc);
  tf_tensor_release(wc);
  tf_tensor_release(bc);
  if (st != TF_OK) {
    tf_tensor_release(y);
    tf_tensor_release(m);
    tf_tensor_release(r);
    return st;
  }
  *out = y;
  if (mean) *mean = m; else tf_tensor_release(m);
  if (rstd) *rstd = r; else tf_tensor_release(r);
  return TF_OK;
}

tf_status tf_batch_norm(const tf_tensor *x, const tf_tensor *weight,
                        const tf_tensor *bias, tf_tensor *running_mean,
                        tf_tensor *running_var, bool training,
                        double momentum, double eps, tf_tensor **out,
                        tf_tensor **mean, tf_tensor **rstd) {
  const char *op = "batch_norm";
  TF_TRY(check_input(op, x, 2));
  int64_t c = x->shape[1];
  TF_CHECK(training || (running_mean && running_var), TF_ERR_VALUE,
           "batch_norm: running_mean and running_var must be given in "
           "evaluation mode (training=False)");
  TF_CHECK(!running_mean == !running_var, TF_ERR_VALUE,
           "batch_norm: running_mean and running_var must be given together");
  TF_TRY(check_vector(op, "running_mean", running_mean, c, x));
  TF_TRY(check_vector(op, "running_var", running_var, c, x));
  TF_TRY(check_vector(op, "weight", weight, c, x));
  TF_TRY(check_vector(op, "bias", bias, c, x));
  if (training && running_mean) {
    TF_TRY(tf_check_writable(op, running_mean));
    TF_TRY(tf_check_writable(op, running_var));
  }
  tf_norm_geom g = geom_ncs(x, 1, true);
  return run_forward(op, &g, x, weight, bias, eps, training, momentum,
                     running_mean, running_var, 1, &c, out, mean, rstd);
}

static tf_status group_geom(const char *op, const tf_tensor *x,
                            int64_t num_groups, tf_norm_geom *g) {
  char sx[TF_SHAPE_STR];
  TF_CHECK(num_groups > 0, TF_ERR_VALUE,
           "group_norm: num_groups must be positive, got %lld", (long long)num_groups);
  TF_CHECK(x->shape[1] % num_groups == 0, TF_ERR_SHAPE,
           "group_norm: expected the number of channels of the input of shape "
           "%s (%lld) to be divisible by num_groups=%lld",
           tf_shape_str(x->ndim, x->shape, sx), (long long)x->shape[1],
           (long long)num_groups);
  (void)op;
  *g = geom_ncs(x, num_groups, false);
  return TF_OK;
}

tf_status tf_group_norm(const tf_tensor *x, int64_t num_groups,
                        const tf_tensor *weight, const tf_tensor *bias,
                        double eps, tf_tensor **out, tf_tensor **mean,
                        tf_tensor **rstd) {
  const char *op = "group_norm";
  TF_TRY(check_input(op, x, 2));
  tf_norm_geom g;
  TF_TRY(group_geom(op, x, num_groups, &g));
  TF_TRY(check_vector(op, "weight", weight, g.c, x));
  TF_TRY(check_vector(op, "bias", bias, g.c, x));
  int64_t shape[2] = {g.n, num_groups};
  return run_forward(op, &g, x, weight, bias, eps, true, 0, NULL, NULL, 2,
                     shape, out, mean, rstd);
}

/* (M, K): M rows of the K elements of the last normalized_ndim dims; weight
 * and bias, when given, have those dims' shape. */
static tf_status layer_geom(const tf_tensor *x, int normalized_ndim,
                            const tf_tensor *weight, const tf_tensor *bias,
                            tf_norm_geom *g) {
  const char *op = "layer_norm";
  char sx[TF_SHAPE_STR], st[TF_SHAPE_STR];
  TF_CHECK(normalized_ndim >= 1 && normalized_ndim <= x->ndim, TF_ERR_SHAPE,
           "layer_norm: expected 1 to %d normalized dims for an input of "
           "shape %s, got %d", x->ndim, tf_shape_str(x->ndim, x->shape, sx),
           normalized_ndim);
  int lead = x->ndim - normalized_ndim;
  int64_t m = 1, kk = 1;
  for (int d = 0; d < lead; d++) m *= x->shape[d];
  for (int d = lead; d < x->ndim; d++) kk *= x->shape[d];
  const tf_tensor *ts[2] = {weight, bias};
  const char *names[2] = {"weight", "bias"};
  for (int i = 0; i < 2; i++) {
    const tf_tensor *t = ts[i];
    if (!t) continue;
    TF_TRY(check_float(op, names[i], t, x));
    bool ok = t->ndim == normalized_ndim;
    for (int d = 0; ok && d < normalized_ndim; d++) ok = t->shape[d] == x->shape[lead + d];
    TF_CHECK(ok, TF_ERR_SHAPE,
             "layer_norm: expected %s of shape %s (the input's last %d dims), "
             "got %s", names[i], tf_shape_str(normalized_ndim, x->shape + lead, sx),
             normalized_ndim, tf_shape_str(t->ndim, t->shape, st));
  }
  tf_norm_geom r = {m, kk, 1, 1, false};
  *g = r;
  return TF_OK;
}

tf_status tf_layer_norm(const tf_tensor *x, int normalized_ndim,
                        const tf_tensor *weight, const tf_tensor *bias,
                        double eps, tf_tensor **out, tf_tensor **mean,
                        tf_tensor **rstd) {
  const char *op = "layer_norm";
  TF_TRY(check_input(op, x, 1));
  tf_norm_geom g;
  TF_TRY(layer_geom(x, normalized_ndim, weight, bias, &g));
  return run_forward(op, &g, x, weight, bias, eps, true, 0, NULL, NULL, 1,
                     &g.n, out, mean, rstd);
}

/* ---- backward ---------------------------------------------------------------- */
static tf_status check_stats(const char *op, const tf_tensor *t, int64_t units) {
  TF_CHECK(t && t->dtype == TF_FLOAT64 && tf_shape_numel(t->ndim, t->shape) == units,
           TF_ERR_VALUE, "%s: expected the saved statistics of the forward "
           "(float64, %lld elements)", op, (long long)units);
  TF_CHECK(tf_tensor_is_contiguous(t), TF_ERR_VALUE,
           "%s: expected contiguous saved statistics", op);
  return TF_OK;
}

static tf_status run_backward(const char *op, const tf_norm_geom *g,
                              const tf_tensor *dout, const tf_tensor *x,
                              const tf_tensor *weight, const tf_tensor *mean,
                              const tf_tensor *rstd, bool batch_stats,
                              tf_tensor **dx, tf_tensor **dweight,
                              tf_tensor **dbias) {
  char sx[TF_SHAPE_STR], sg[TF_SHAPE_STR];
  TF_TRY(tf_check_same_device(op, x, dout));
  TF_CHECK(dout->dtype == x->dtype, TF_ERR_DTYPE,
           "%s: expected grad_output of dtype %s, got %s", op,
           tf_dtype_name(x->dtype), tf_dtype_name(dout->dtype));
  TF_CHECK(tf_tensor_same_shape(dout, x), TF_ERR_SHAPE,
           "%s: expected grad_output of the input's shape %s, got %s", op,
           tf_shape_str(x->ndim, x->shape, sx), tf_shape_str(dout->ndim, dout->shape, sg));
  TF_CHECK(weight || !dweight, TF_ERR_VALUE,
           "%s: grad_weight needs the weight", op);
  int64_t units = g->per_channel ? g->c : g->n * g->groups;
  TF_TRY(check_stats(op, mean, units));
  TF_TRY(check_stats(op, rstd, units));
  tf_norm_backward_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->normalize_backward);
  tf_tensor *xc = NULL, *gc = NULL, *wc = NULL, *rx = NULL, *rw = NULL, *rb = NULL;
  int64_t c = g->c;
  tf_status st = tf_contiguous(x, &xc);
  if (st == TF_OK) st = tf_contiguous(dout, &gc);
  if (st == TF_OK) st = contiguous_or_null(weight, &wc);
  if (st == TF_OK && dx) st = tf_new_on(x->storage->alloc, x->ndim, x->shape, x->dtype, &rx);
  if (st == TF_OK && dweight) st = tf_new_on(x->storage->alloc, 1, &c, x->dtype, &rw);
  if (st == TF_OK && dbias) st = tf_new_on(x->storage->alloc, 1, &c, x->dtype, &rb);
  if (st == TF_OK) st = kernel(g, gc, xc, wc, mean, rstd, batch_stats, rx, rw, rb);
  tf_tensor_release(xc);
  tf_tensor_release(gc);
  tf_tensor_release(wc);
  if (st != TF_OK) {
    tf_tensor_release(rx);
    tf_tensor_release(rw);
    tf_tensor_release(rb);
    return st;
  }
  if (dx) *dx = rx;
  if (dweight) *dweight = rw;
  if (dbias) *dbias = rb;
  return TF_OK;
}

tf_status tf_batch_norm_backward(const tf_tensor *dout, const tf_tensor *x,
                                 const tf_tensor *weight,
                                 const tf_tensor *mean, const tf_tensor *rstd,
                                 bool training, tf_tensor **dx,
                                 tf_tensor **dweight, tf_tensor **dbias) {
  const char *op = "batch_norm_backward";
  TF_TRY(check_input(op, x, 2));
  TF_TRY(check_vector(op, "weight", weight, x->shape[1], x));
  tf_norm_geom g = geom_ncs(x, 1, true);
  return run_backward(op, &g, dout, x, weight, mean, rstd, training, dx,
                      dweight, dbias);
}

tf_status tf_group_norm_backward(const tf_tensor *dout, const tf_tensor *x,
                                 int64_t num_groups, const tf_tensor *weight,
                                 const tf_tensor *mean, const tf_tensor *rstd,
                                 tf_tensor **dx, tf_tensor **dweight,
                                 tf_tensor **dbias) {
  const char *op = "group_norm_backward";
  TF_TRY(check_input(op, x, 2));
  tf_norm_geom g;
  TF_TRY(group_geom(op, x, num_groups, &g));
  TF_TRY(check_vector(op, "weight", weight, g.c, x));
  return run_backward(op, &g, dout, x, weight, mean, rstd, true, dx, dweight,
                      dbias);
}

tf_status tf_layer_norm_backward(const tf_tensor *dout, const tf_tensor *x,
                                 int normalized_ndim, const tf_tensor *weight,
                                 const tf_tensor *mean, const tf_tensor *rstd,
                                 tf_tensor **dx, tf_tensor **dweight,
                                 tf_tensor **dbias) {
  const char *op = "layer_norm_backward";
  TF_TRY(check_input(op, x, 1));
  tf_norm_geom g;
  TF_TRY(layer_geom(x, normalized_ndim, weight, NULL, &g));
  return run_backward(op, &g, dout, x, weight, mean, rstd, true, dx, dweight,
                      dbias);
}
