/* conv.c: the entry points of 2-D convolution and its two gradients (the
 * Python layer reads 1-D convolutions and transposed convolutions as these).
 * Every check is here: dims, dtypes, devices, channels against groups,
 * the parameters' ranges and the output sizes; then contiguous operands,
 * the result on the operands' device, and the chosen backend's conv kernel
 * (the cpu's is cpu/conv.c, which runs its products through the backend's
 * matmul slot). */
#include "../backend.h"

/* params = (sh, sw, ph, pw, dh, dw, groups) into g. */
static tf_status conv_params(const char *op, const int64_t *params,
                             tf_conv_geom *g) {
  TF_CHECK(params, TF_ERR_VALUE, "%s: params must not be NULL", op);
  g->sh = params[0], g->sw = params[1], g->ph = params[2], g->pw = params[3];
  g->dh = params[4], g->dw = params[5], g->groups = params[6];
  TF_CHECK(g->sh >= 1 && g->sw >= 1, TF_ERR_VALUE,
           "%s: stride must be positive, got (%lld, %lld)", op,
           (long long)g->sh, (long long)g->sw);
  TF_CHECK(g->dh >= 1 && g->dw >= 1, TF_ERR_VALUE,
           "%s: dilation must be positive, got (%lld, %lld)", op,
           (long long)g->dh, (long long)g->dw);
  TF_CHECK(g->ph >= 0 && g->pw >= 0, TF_ERR_VALUE,
           "%s: padding must be non-negative, got (%lld, %lld)", op,
           (long long)g->ph, (long long)g->pw);
  TF_CHECK(g->groups >= 1, TF_ERR_VALUE,
           "%s: groups must be positive, got %lld", op, (long long)g->groups);
  return TF_OK;
}

static tf_status conv_operand(const char *op, const char *name,
                              const tf_tensor *t, int ndim) {
  char s[TF_SHAPE_STR];
  TF_TRY(tf_check_device(op, t));
  TF_CHECK(tf_is_float(t->dtype), TF_ERR_DTYPE,
           "%s: %s must be float32 or float64, got %s", op, name,
           tf_dtype_name(t->dtype));
  TF_CHECK(t->ndim == ndim, TF_ERR_SHAPE, "%s: expected a %d-D %s, got shape %s",
           op, ndim, name, tf_shape_str(t->ndim, t->shape, s));
  return TF_OK;
}

static tf_status conv_same(const char *op, const tf_tensor *a,
                           const tf_tensor *b) {
  TF_TRY(tf_check_same_device(op, a, b));
  TF_CHECK(a->dtype == b->dtype, TF_ERR_DTYPE,
           "%s: expected operands of one dtype, got %s and %s", op,
           tf_dtype_name(a->dtype), tf_dtype_name(b->dtype));
  return TF_OK;
}

/* Channels: C and O both divisible by groups, the weight's second dim C /
 * groups. */
static tf_status conv_channels(const char *op, const tf_conv_geom *g,
                               int64_t w_in, const tf_tensor *w) {
  char s[TF_SHAPE_STR];
  TF_CHECK(g->c_in % g->groups == 0 && g->c_out % g->groups == 0, TF_ERR_SHAPE,
           "%s: %lld input and %lld output channels must both be divisible "
           "by groups=%lld", op, (long long)g->c_in, (long long)g->c_out,
           (long long)g->groups);
  TF_CHECK(w_in * g->groups == g->c_in, TF_ERR_SHAPE,
           "%s: weight of shape %s with groups=%lld expects %lld input "
           "channels, got %lld", op, tf_shape_str(w->ndim, w->shape, s),
           (long long)g->groups, (long long)(w_in * g->groups),
           (long long)g->c_in);
  return TF_OK;
}

/* Whether every input position a pass computes, p s - pad + i d for output
 * p < out and tap i < k, fits int64: then no kernel's index arithmetic can
 * overflow (a position outside the input reads as zero). */
static bool extent_fits(int64_t out, int64_t s, int64_t k, int64_t d) {
  int64_t reach, span;
  return tf_mul_ok(out > 0 ? out - 1 : 0, s, &reach) && tf_mul_ok(k > 0 ? k - 1 : 0, d, &span) &&
         reach <= INT64_MAX - span;
}

/* Run the kernel on contiguous copies of a and b (and bias) into a new
 * (ndim 4) result of shape. */
static tf_status conv_run(int which, const tf_conv_geom *g, const tf_tensor *a,
                          const tf_tensor *b, const tf_tensor *bias,
                          const int64_t *shape, tf_tensor **out) {
  const char *op = which == TF_CONV_FORWARD      ? "conv2d"
                   : which == TF_CONV_INPUT_GRAD ? "conv2d_input_grad"
                                                 : "conv2d_weight_grad";
  int64_t numel;
  TF_CHECK(tf_numel_ok(4, shape, &numel), TF_ERR_SHAPE,
           "%s: the result's size overflows int64", op);
  TF_CHECK(extent_fits(g->ho, g->sh, g->kh, g->dh) && extent_fits(g->wo, g->sw, g->kw, g->dw),
           TF_ERR_VALUE,
           "%s: output size (%lld, %lld) with stride (%lld, %lld) and kernel (%lld, %lld) "
           "dilated by (%lld, %lld) reaches input positions beyond int64", op,
           (long long)g->ho, (long long)g->wo, (long long)g->sh, (long long)g->sw,
           (long long)g->kh, (long long)g->kw, (long long)g->dh, (long long)g->dw);
  tf_conv_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(a), op, k->conv);
  tf_tensor *ca = NULL, *cb = NULL, *cbias = NULL, *r = NULL;
  tf_status st = tf_contiguous(a, &ca);
  if (st == TF_OK) st = tf_contiguous(b, &cb);
  if (st == TF_OK && bias) st = tf_contiguous(bias, &cbias);
  if (st == TF_OK) st = tf_new_on(a->storage->alloc, 4, shape, a->dtype, &r);
  if (st == TF_OK) st = kernel(which, g, ca, cb, cbias, r);
  tf_tensor_release(ca);
  tf_tensor_release(cb);
  tf_tensor_release(cbias);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

tf_status tf_conv2d(const tf_tensor *x, const tf_tensor *w,
                    const tf_tensor *bias, const int64_t *params, int64_t ho,
                    int64_t wo, tf_tensor **out) {
  const char *op = "conv2d";
  char s[TF_SHAPE_STR];
  tf_conv_geom g;
  TF_TRY(conv_operand(op, "input", x, 4));
  TF_TRY(conv_operand(op, "weight", w, 4));
  TF_TRY(conv_same(op, x, w));
  TF_TRY(conv_params(op, params, &g));
  g.n = x->shape[0], g.c_in = x->shape[1], g.h = x->shape[2], g.w = x->shape[3];
  g.c_out = w->shape[0], g.kh = w->shape[2], g.kw = w->shape[3];
  TF_TRY(conv_channels(op, &g, w->shape[1], w));
  if (bias) {
    TF_TRY(conv_same(op, x, bias));
    TF_CHECK(bias->ndim == 1 && bias->shape[0] == g.c_out, TF_ERR_SHAPE,
             "%s: bias must have shape (%lld,), got %s", op,
             (long long)g.c_out, tf_shape_str(bias->ndim, bias->shape, s));
  }
  TF_CHECK(ho >= 0 && wo >= 0, TF_ERR_SHAPE,
           "%s: output size (%lld, %lld) must be non-negative", op,
           (long long)ho, (long long)wo);
  g.ho = ho, g.wo = wo;
  int64_t shape[4] = {g.n, g.c_out, ho, wo};
  return conv_run(TF_CONV_FORWARD, &g, x, w, bias, shape, out);
}

tf_status tf_conv2d_input_grad(const tf_tensor *gy, const tf_tensor *w,
                               const int64_t *params, int64_t h, int64_t wd,
                               tf_tensor **out) {
  const char *op = "conv2d_input_grad";
  char s[TF_SHAPE_STR], t[TF_SHAPE_STR];
  tf_conv_geom g;
  TF_TRY(conv_operand(op, "grad_output", gy, 4));
  TF_TRY(conv_operand(op, "weight", w, 4));
  TF_TRY(conv_same(op, gy, w));
  TF_TRY(conv_params(op, params, &g));
  TF_CHECK(h >= 0 && wd >= 0, TF_ERR_SHAPE,
           "%s: input size (%lld, %lld) must be non-negative", op,
           (long long)h, (long long)wd);
  g.c_out = w->shape[0], g.kh = w->shape[2], g.kw = w->shape[3];
  TF_CHECK(gy->shape[1] == g.c_out, TF_ERR_SHAPE,
           "%s: grad_output of shape %s has %lld channels, but weight of "
           "shape %s has %lld output channels", op,
           tf_shape_str(gy->ndim, gy->shape, s), (long long)gy->shape[1],
           tf_shape_str(w->ndim, w->shape, t), (long long)g.c_out);
  g.n = gy->shape[0], g.ho = gy->shape[2], g.wo = gy->shape[3];
  g.h = h, g.w = wd;
  TF_CHECK(tf_mul_ok(w->shape[1], g.groups, &g.c_in), TF_ERR_SHAPE,
           "%s: the input channels overflow int64", op);
  TF_TRY(conv_channels(op, &g, w->shape[1], w));
  int64_t shape[4] = {g.n, g.c_in, h, wd};
  return conv_run(TF_CONV_INPUT_GRAD, &g, gy, w, NULL, shape, out);
}

tf_status tf_conv2d_weight_grad(const tf_tensor *x, const tf_tensor *gy,
                                const int64_t *params, int64_t kh, int64_t kw,
                                tf_tensor **out) {
  const char *op = "conv2d_weight_grad";
  char s[TF_SHAPE_STR], t[TF_SHAPE_STR];
  tf_conv_geom g;
  TF_TRY(conv_operand(op, "input", x, 4));
  TF_TRY(conv_operand(op, "grad_output", gy, 4));
  TF_TRY(conv_same(op, x, gy));
  TF_TRY(conv_params(op, params, &g));
  TF_CHECK(kh >= 0 && kw >= 0, TF_ERR_SHAPE,
           "%s: kernel size (%lld, %lld) must be non-negative", op,
           (long long)kh, (long long)kw);
  TF_CHECK(x->shape[0] == gy->shape[0], TF_ERR_SHAPE,
           "%s: input of shape %s and grad_output of shape %s have different "
           "batch sizes", op, tf_shape_str(x->ndim, x->shape, s),
           tf_shape_str(gy->ndim, gy->shape, t));
  g.n = x->shape[0], g.c_in = x->shape[1], g.h = x->shape[2], g.w = x->shape[3];
  g.c_out = gy->shape[1], g.ho = gy->shape[2], g.wo = gy->shape[3];
  g.kh = kh, g.kw = kw;
  TF_CHECK(g.c_in % g.groups == 0 && g.c_out % g.groups == 0, TF_ERR_SHAPE,
           "%s: %lld input and %lld output channels must both be divisible "
           "by groups=%lld", op, (long long)g.c_in, (long long)g.c_out,
           (long long)g.groups);
  int64_t shape[4] = {g.c_out, g.c_in / g.groups, kh, kw};
  return conv_run(TF_CONV_WEIGHT_GRAD, &g, x, gy, NULL, shape, out);
}
