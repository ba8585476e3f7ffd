/* pool.c: the entry points of max and average pooling (1-D and 2-D, fixed
 * windows and adaptive ones) and of their backward passes: the input's
 * dtype, dims and sizes and every window argument checked with PyTorch's
 * rules, the output size computed, the windows planned (backend.h's
 * tf_pool_plan), the result allocated on the input's device; then the
 * chosen backend's kernel (cpu/pool.c holds the cpu's).
 *
 * A 1-D pool is planned as a 2-D one over planes of height 1 (kernel 1,
 * stride 1, no padding in that dim), so one kernel serves both. The input is
 * made contiguous first: the kernels read planes of in_h x in_w elements.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../backend.h"

static const char *const NAMES[2][2][2] = {
    {{"max_pool1d", "max_pool2d"}, {"avg_pool1d", "avg_pool2d"}},
    {{"adaptive_max_pool1d", "adaptive_max_pool2d"},
     {"adaptive_avg_pool1d", "adaptive_avg_pool2d"}}};

static tf_status check_kind(int kind, int dims) {
  TF_CHECK(kind == TF_POOL_MAX || kind == TF_POOL_AVG, TF_ERR_VALUE,
           "pool: unknown kind %d (expected TF_POOL_MAX or TF_POOL_AVG)", kind);
  TF_CHECK(dims == 1 || dims == 2, TF_ERR_VALUE,
           "pool: %d spatial dims are not supported (expected 1 or 2)", dims);
  return TF_OK;
}

/* "3" for a 1-D pool's argument, "(3, 2)" for a 2-D one's. */
static const char *arg_str(int dims, const int64_t *v, char *buf) {
  if (dims == 1)
    snprintf(buf, TF_SHAPE_STR, "%lld", (long long)v[0]);
  else
    snprintf(buf, TF_SHAPE_STR, "(%lld, %lld)", (long long)v[0], (long long)v[1]);
  return buf;
}

/* The input geometry: (N, C, spatial...) or (C, spatial...), every dim but
 * the batch dim non-zero. *planes = the product of the leading dims. */
static tf_status check_input(const char *op, int dims, int ndim,
                             const int64_t *shape, int64_t *planes) {
  char s[TF_SHAPE_STR];
  TF_CHECK(ndim == dims + 1 || ndim == dims + 2, TF_ERR_SHAPE,
           dims == 2 ? "%s: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, "
                       "got shape %s"
                     : "%s: expected a 2-D (C, L) or 3-D (N, C, L) input, got "
                       "shape %s",
           op, tf_shape_str(ndim, shape, s));
  for (int d = ndim == dims + 2 ? 1 : 0; d < ndim; d++)
    TF_CHECK(shape[d] > 0, TF_ERR_SHAPE,
             "%s: expected an input with non-zero sizes in every dim but the "
             "batch dim, got shape %s (dim %d is empty)",
             op, tf_shape_str(ndim, shape, s), d);
  /* a backward's input_shape comes from the caller: its batch size too */
  TF_CHECK(shape[0] >= 0, TF_ERR_SHAPE, "%s: negative size in shape %s", op,
           tf_shape_str(ndim, shape, s));
  int64_t numel;
  TF_CHECK(tf_numel_ok(ndim, shape, &numel), TF_ERR_VALUE,
           "%s: shape %s has more elements than int64 can count", op,
           tf_shape_str(ndim, shape, s));
  *planes = 1;
  for (int d = 0; d < ndim - dims; d++) *planes *= shape[d];
  return TF_OK;
}

/* One spatial dim's windows: start, count (and divisor) per output. */
typedef struct {
  int64_t n;
  int64_t *start, *count, *div;
} windows;

static void windows_free(windows *w) {
  free(w->start);
  w->start = w->count = w->div = NULL;
}

static tf_status windows_alloc(const char *op, windows *w, int64_t n) {
  w->n = n;
  size_t m = (size_t)(n ? n : 1);
  w->start = malloc(sizeof(int64_t) * 3 * m);
  TF_CHECK(w->start != NULL, TF_ERR_MEMORY,
           "%s: out of memory for the windows of %lld outputs", op, (long long)n);
  w->count = w->start + m;
  w->div = w->start + 2 * m;
  return TF_OK;
}

/* The arguments of a fixed-window pool, one entry per spatial dim. */
typedef struct {
  int64_t kernel[2], stride[2], padding[2], dilation[2];
  bool ceil_mode, count_include_pad, has_divisor;
  int64_t divisor;
} pool_args;

static tf_status check_args(const char *op, int kind, int dims,
                            const pool_args *a) {
  char b1[TF_SHAPE_STR], b2[TF_SHAPE_STR];
  for (int i = 0; i < dims; i++) {
    TF_CHECK(a->kernel[i] > 0, TF_ERR_VALUE,
             "%s: kernel_size must be greater than zero, got %s", op,
             arg_str(dims, a->kernel, b1));
    TF_CHECK(a->stride[i] > 0, TF_ERR_VALUE,
             "%s: stride must be greater than zero, got %s", op,
             arg_str(dims, a->stride, b1));
    TF_CHECK(a->dilation[i] > 0, TF_ERR_VALUE,
             "%s: dilation must be greater than zero, got %s", op,
             arg_str(dims, a->dilation, b1));
    TF_CHECK(a->padding[i] >= 0, TF_ERR_VALUE,
             "%s: padding must be non-negative, got %s", op,
             arg_str(dims, a->padding, b1));
    TF_CHECK(a->padding[i] <= a->kernel[i] / 2, TF_ERR_VALUE,
             "%s: padding should be at most half of kernel_size, got padding "
             "%s and kernel_size %s", op, arg_str(dims, a->padding, b1),
             arg_str(dims, a->kernel, b2));
  }
  TF_CHECK(kind == TF_POOL_AVG || !a->has_divisor, TF_ERR_VALUE,
           "%s: divisor_override applies to average pooling only", op);
  TF_CHECK(!a->has_divisor || a->divisor != 0, TF_ERR_VALUE,
           "%s: divisor_override must be non-zero", op);
  return TF_OK;
}

/* The output size of one dim (PyTorch's formula, with its rule that under
 * ceil_mode a last window starting in the right padding is dropped), or an
 * error when the kernel does not fit in the padded input. */
static tf_status out_size(const char *op, int dims, int ndim, const int64_t *shape,
                          int i, const pool_args *a, int64_t in, int64_t *out) {
  __int128 k = a->kernel[i], s = a->stride[i], p = a->padding[i],
           d = a->dilation[i];
  __int128 span = d * (k - 1) + 1, padded = (__int128)in + 2 * p;
  __int128 num = padded - span;
  if (num < 0) {
    char sh[TF_SHAPE_STR];
    return tf_fail(TF_ERR_SHAPE,
                   "%s: the kernel is larger than the padded input: in dim %s "
                   "the window covers %lld elements (kernel_size %lld, "
                   "dilation %lld) but the padded input has %lld (size %lld + "
                   "2 * padding %lld); input shape %s: the output size would "
                   "be <= 0", op,
                   dims == 1 ? "L" : (i == 0 ? "H" : "W"), (long long)span,
                   (long long)k, (long long)d, (long long)padded, (long long)in,
                   (long long)p, tf_shape_str(ndim, shape, sh));
  }
  __int128 o = (num + (a->ceil_mode ? s - 1 : 0)) / s + 1;
  if (a->ceil_mode && (o - 1) * s >= (__int128)in + p) o--;
  TF_CHECK(o <= INT64_MAX, TF_ERR_VALUE, "%s: the output size overflows int64",
           op);
  *out = (int64_t)o;
  return TF_OK;
}

/* Windows of a fixed-window pool in one dim (in: the input size). */
static tf_status plan_fixed(const char *op, int kind, int dims, int i,
                            const pool_args *a, int64_t in, windows *w) {
  const int64_t k = a->kernel[i], s = a->stride[i], p = a->padding[i],
                d = kind == TF_POOL_MAX ? a->dilation[i] : 1;
  for (int64_t o = 0; o < w->n; o++) {
    const int64_t hs = o * s - p; /* o * s <= in + 2p: no overflow */
    if (kind == TF_POOL_MAX) {
      const int64_t j0 = hs < 0 ? (-hs + d - 1) / d : 0;
      const int64_t first = j0 < k ? hs + j0 * d : in;
      if (first >= in)
        return tf_fail(TF_ERR_VALUE,
                       "%s: the window of output %lld in dim %s covers only "
                       "padding (input size %lld, kernel_size %lld, dilation "
                       "%lld, padding %lld), so it has no maximum (PyTorch "
                       "returns -inf there); use less padding or dilation",
                       op, (long long)o, dims == 1 ? "L" : (i == 0 ? "H" : "W"),
                       (long long)in, (long long)k, (long long)d, (long long)p);
      const int64_t jend = (in - hs + d - 1) / d; /* taps hs + j d < in */
      w->start[o] = first;
      w->count[o] = (jend < k ? jend : k) - j0;
      w->div[o] = 1;
    } else {
      const int64_t he = hs + k < in + p ? hs + k : in + p;
      const int64_t lo = hs > 0 ? hs : 0, hi = he < in ? he : in;
      w->start[o] = lo;
      w->count[o] = hi > lo ? hi - lo : 0;
      w->div[o] = a->count_include_pad ? he - hs : w->count[o];
    }
  }
  return TF_OK;
}

/* Windows of an adaptive pool in one dim: [floor(o in / out),
 * ceil((o + 1) in / out)). */
static tf_status plan_adaptive(const char *op, int64_t in, windows *w) {
  int64_t prod;
  TF_CHECK(tf_mul_ok(in, w->n + 1, &prod), TF_ERR_VALUE,
           "%s: input size %lld times output size %lld overflows int64", op,
           (long long)in, (long long)w->n);
  for (int64_t o = 0; o < w->n; o++) {
    const int64_t lo = o * in / w->n, hi = ((o + 1) * in + w->n - 1) / w->n;
    w->start[o] = lo;
    w->count[o] = hi - lo;
    w->div[o] = hi - lo;
  }
  return TF_OK;
}

/* Everything a call needs: the plan, its windows, the output shape. */
typedef struct {
  tf_pool_plan plan;
  windows h, w;
  int ndim;
  int64_t out_shape[TF_MAX_DIMS];
} pool_call;

static void call_free(pool_call *c) {
  windows_free(&c->h);
  windows_free(&c->w);
}

/* The plan of a pool over an input of (ndim, shape): fixed windows from a,
 * or adaptive ones of output_size when a is NULL. */
static tf_status plan_call(int kind, int dims, int ndim, const int64_t *shape,
                           const pool_args *a, const int64_t *output_size,
                           pool_call *c) {
  const char *op = NAMES[a == NULL][kind][dims - 1];
  memset(c, 0, sizeof *c);
  int64_t planes = 0;
  TF_TRY(check_input(op, dims, ndim, shape, &planes));
  const int64_t in_h = dims == 2 ? shape[ndim - 2] : 1, in_w = shape[ndim - 1];
  int64_t out_h = 1, out_w = 1;
  if (a) {
    TF_TRY(check_args(op, kind, dims, a));
    if (dims == 2) TF_TRY(out_size(op, dims, ndim, shape, 0, a, in_h, &out_h));
    TF_TRY(out_size(op, dims, ndim, shape, dims - 1, a, in_w, &out_w));
  } else {
    char b[TF_SHAPE_STR];
    for (int i = 0; i < dims; i++)
      TF_CHECK(output_size[i] >= 0, TF_ERR_VALUE,
               "%s: output_size must be >= 0, got %s", op,
               arg_str(dims, output_size, b));
    if (dims == 2) out_h = output_size[0];
    out_w = output_size[dims - 1];
  }
  c->ndim = ndim;
  memcpy(c->out_shape, shape, sizeof(int64_t) * (size_t)ndim);
  if (dims == 2) c->out_shape[ndim - 2] = out_h;
  c->out_shape[ndim - 1] = out_w;
  int64_t numel;
  TF_CHECK(tf_numel_ok(ndim, c->out_shape, &numel), TF_ERR_VALUE,
           "%s: the output would have more elements than int64 can count", op);
  tf_status st = windows_alloc(op, &c->h, out_h);
  if (st == TF_OK) st = windows_alloc(op, &c->w, out_w);
  if (st == TF_OK) {
    if (!a) {
      st = plan_adaptive(op, in_h, &c->h);
      if (st == TF_OK) st = plan_adaptive(op, in_w, &c->w);
    } else if (dims == 2) {
      st = plan_fixed(op, kind, dims, 0, a, in_h, &c->h);
      if (st == TF_OK) st = plan_fixed(op, kind, dims, 1, a, in_w, &c->w);
    } else {
      /* height 1: one window of one row */
      c->h.start[0] = 0;
      c->h.count[0] = 1;
      c->h.div[0] = 1;
      st = plan_fixed(op, kind, dims, 0, a, in_w, &c->w);
    }
  }
  if (st != TF_OK) {
    call_free(c);
    return st;
  }
  tf_pool_plan *p = &c->plan;
  p->op = op;
  p->kind = kind;
  p->planes = planes;
  p->in_h = in_h;
  p->in_w = in_w;
  p->out_h = out_h;
  p->out_w = out_w;
  p->h_start = c->h.start;
  p->h_count = c->h.count;
  p->h_div = c->h.div;
  p->w_start = c->w.start;
  p->w_count = c->w.count;
  p->w_div = c->w.div;
  p->h_step = a && kind == TF_POOL_MAX && dims == 2 ? a->dilation[0] : 1;
  p->w_step = a && kind == TF_POOL_MAX ? a->dilation[dims - 1] : 1;
  p->has_divisor = a && a->has_divisor;
  p->divisor = a ? a->divisor : 0;
  return TF_OK;
}

static tf_status check_float(const char *op, const char *what,
                             const tf_tensor *t) {
  TF_TRY(tf_check_device(op, t));
  TF_CHECK(tf_is_float(t->dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 %s, got %s", op, what,
           tf_dtype_name(t->dtype));
  return TF_OK;
}

/* Forward: plan c, the kernel, out (and indices for max). */
static tf_status run_forward(pool_call *c, const tf_tensor *x, tf_tensor **out,
                             tf_tensor **indices) {
  const char *op = c->plan.op;
  TF_CHECK(out != NULL, TF_ERR_VALUE, "%s: no place for the result", op);
  tf_pool_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(x), op, k->pool);
  tf_tensor *xc = NULL, *o = NULL, *ind = NULL;
  tf_status st = tf_contiguous(x, &xc);
  if (st == TF_OK)
    st = tf_new_on(x->storage->alloc, c->ndim, c->out_shape, x->dtype, &o);
  if (st == TF_OK && c->plan.kind == TF_POOL_MAX)
    st = tf_new_on(x->storage->alloc, c->ndim, c->out_shape, TF_INT64, &ind);
  if (st == TF_OK) st = kernel(&c->plan, xc, o, ind);
  tf_tensor_release(xc);
  if (st != TF_OK) {
    tf_tensor_release(o);
    tf_tensor_release(ind);
    return st;
  }
  *out = o;
  if (indices)
    *indices = ind;
  else
    tf_tensor_release(ind);
  return TF_OK;
}

/* Backward: grad (and indices for max) of the output's shape, the kernel,
 * grad_input of the input's shape (ndim, in_shape). */
static tf_status run_backward(pool_call *c, const tf_tensor *grad,
                              const tf_tensor *indices, const int64_t *in_shape,
                              tf_tensor **grad_input) {
  const char *op = c->plan.op;
  char s1[TF_SHAPE_STR], s2[TF_SHAPE_STR];
  TF_CHECK(grad_input != NULL, TF_ERR_VALUE, "%s backward: no place for the "
           "result", op);
  TF_TRY(check_float(op, "grad", grad));
  TF_CHECK(grad->ndim == c->ndim &&
               !memcmp(grad->shape, c->out_shape, sizeof(int64_t) * (size_t)c->ndim),
           TF_ERR_SHAPE, "%s backward: grad has shape %s, expected the "
           "output's shape %s", op, tf_shape_str(grad->ndim, grad->shape, s1),
           tf_shape_str(c->ndim, c->out_shape, s2));
  if (c->plan.kind == TF_POOL_MAX) {
    TF_CHECK(indices != NULL, TF_ERR_VALUE, "%s backward: the indices are "
             "missing", op);
    TF_TRY(tf_check_same_device(op, grad, indices));
    TF_CHECK(indices->dtype == TF_INT64, TF_ERR_DTYPE,
             "%s backward: indices must be int64, got %s", op,
             tf_dtype_name(indices->dtype));
    TF_CHECK(indices->ndim == c->ndim &&
                 !memcmp(indices->shape, c->out_shape, sizeof(int64_t) * (size_t)c->ndim),
             TF_ERR_SHAPE, "%s backward: indices have shape %s, expected the "
             "output's shape %s", op,
             tf_shape_str(indices->ndim, indices->shape, s1),
             tf_shape_str(c->ndim, c->out_shape, s2));
  }
  tf_pool_backward_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(grad), op, k->pool_backward);
  tf_tensor *gc = NULL, *ic = NULL, *r = NULL;
  tf_status st = tf_contiguous(grad, &gc);
  if (st == TF_OK && c->plan.kind == TF_POOL_MAX) st = tf_contiguous(indices, &ic);
  if (st == TF_OK)
    st = tf_new_on(grad->storage->alloc, c->ndim, in_shape, grad->dtype, &r);
  if (st == TF_OK) st = kernel(&c->plan, gc, ic, r);
  tf_tensor_release(gc);
  tf_tensor_release(ic);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *grad_input = r;
  return TF_OK;
}

/* ---- the entry points ----------------------------------------------------- */
static void fill_args(int dims, const int64_t *kernel_size, const int64_t *stride,
                      const int64_t *padding, const int64_t *dilation,
                      bool ceil_mode, bool count_include_pad, bool has_divisor,
                      int64_t divisor, pool_args *a) {
  for (int i = 0; i < dims; i++) {
    a->kernel[i] = kernel_size[i];
    a->stride[i] = stride[i];
    a->padding[i] = padding[i];
    a->dilation[i] = dilation[i];
  }
  a->ceil_mode = ceil_mode;
  a->count_include_pad = count_include_pad;
  a->has_divisor = has_divisor;
  a->divisor = divisor;
}

tf_status tf_pool(int kind, int dims, const tf_tensor *x,
                  const int64_t *kernel_size, const int64_t *stride,
                  const int64_t *padding, const int64_t *dilation,
                  bool ceil_mode, bool count_include_pad, bool has_divisor,
                  int64_t divisor, tf_tensor **out, tf_tensor **indices) {
  TF_TRY(check_kind(kind, dims));
  TF_TRY(check_float(NAMES[0][kind][dims - 1], "input", x));
  pool_args a;
  fill_args(dims, kernel_size, stride, padding, dilation, ceil_mode,
            count_include_pad, has_divisor, divisor, &a);
  pool_call c;
  TF_TRY(plan_call(kind, dims, x->ndim, x->shape, &a, NULL, &c));
  tf_status st = run_forward(&c, x, out, indices);
  call_free(&c);
  return st;
}

tf_status tf_pool_backward(int kind, int dims, const tf_tensor *grad,
                           const tf_tensor *indices, int ndim,
                           const int64_t *input_shape,
                           const int64_t *kernel_size, const int64_t *stride,
                           const int64_t *padding, const int64_t *dilation,
                           bool ceil_mode, bool count_include_pad,
                           bool has_divisor, int64_t divisor,
                           tf_tensor **grad_input) {
  TF_TRY(check_kind(kind, dims));
  TF_CHECK(ndim >= 0 && ndim <= TF_MAX_DIMS, TF_ERR_VALUE,
           "%s backward: %d dims", NAMES[0][kind][dims - 1], ndim);
  pool_args a;
  fill_args(dims, kernel_size, stride, padding, dilation, ceil_mode,
            count_include_pad, has_divisor, divisor, &a);
  pool_call c;
  TF_TRY(plan_call(kind, dims, ndim, input_shape, &a, NULL, &c));
  tf_status st = run_backward(&c, grad, indices, input_shape, grad_input);
  call_free(&c);
  return st;
}

tf_status tf_adaptive_pool(int kind, int dims, const tf_tensor *x,
                           const int64_t *output_size, tf_tensor **out,
                           tf_tensor **indices) {
  TF_TRY(check_kind(kind, dims));
  TF_TRY(check_float(NAMES[1][kind][dims - 1], "input", x));
  pool_call c;
  TF_TRY(plan_call(kind, dims, x->ndim, x->shape, NULL, output_size, &c));
  tf_status st = run_forward(&c, x, out, indices);
  call_free(&c);
  return st;
}

tf_status tf_adaptive_pool_backward(int kind, int dims, const tf_tensor *grad,
                                    const tf_tensor *indices, int ndim,
                                    const int64_t *input_shape,
                                    tf_tensor **grad_input) {
  TF_TRY(check_kind(kind, dims));
  TF_CHECK(ndim >= 0 && ndim <= TF_MAX_DIMS, TF_ERR_VALUE,
           "%s backward: %d dims", NAMES[1][kind][dims - 1], ndim);
  TF_TRY(tf_check_device(NAMES[1][kind][dims - 1], grad));
  int64_t output_size[2] = {1, 1};
  TF_CHECK(grad->ndim == ndim, TF_ERR_SHAPE,
           "%s backward: grad has %d dims, the input %d",
           NAMES[1][kind][dims - 1], grad->ndim, ndim);
  for (int i = 0; i < dims; i++) output_size[i] = grad->shape[ndim - dims + i];
  pool_call c;
  TF_TRY(plan_call(kind, dims, ndim, input_shape, NULL, output_size, &c));
  tf_status st = run_backward(&c, grad, indices, input_shape, grad_input);
  call_free(&c);
  return st;
}
