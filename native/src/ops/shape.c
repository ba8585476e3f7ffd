/* shape.c: the shape ops that copy elements: cat, flip, pad (constant,
 * reflect, replicate) and tril/triu. Each returns a new contiguous tensor
 * on its input's device; inputs may have any strides (broadcast,
 * transposed, sliced, size 0). cat, flip and constant pad are views and
 * copies; reflect/replicate pad and tril/triu call the chosen backend's
 * kernel (the cpu's are cpu/shape.c). */
#include "../backend.h"

/* ---- cat ------------------------------------------------------------------ */
/* PyTorch's legacy rule: a 1-D tensor of size 0 joins any cat (it is
 * skipped), so `out = cat([out, x])` can start from an empty tensor. */
static bool cat_skips(const tf_tensor *t) {
  return t->ndim == 1 && t->shape[0] == 0;
}

static tf_status cat_check(int n, tf_tensor *const *ts, int ref, int dim,
                           int64_t *shape) {
  const tf_tensor *r = ts[ref];
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  memcpy(shape, r->shape, sizeof(int64_t) * (size_t)r->ndim);
  shape[dim] = 0;
  for (int i = 0; i < n; i++) {
    const tf_tensor *t = ts[i];
    if (cat_skips(t)) continue;
    TF_CHECK(t->dtype == r->dtype, TF_ERR_DTYPE,
             "cat: expected all tensors to have one dtype, got %s at "
             "position %d and %s at position %d; convert them with "
             ".to(dtype) first", tf_dtype_name(r->dtype), ref,
             tf_dtype_name(t->dtype), i);
    TF_CHECK(t->ndim == r->ndim, TF_ERR_SHAPE,
             "cat: tensors must have the same number of dims, got shape %s "
             "at position %d and %s at position %d",
             tf_shape_str(r->ndim, r->shape, a), ref,
             tf_shape_str(t->ndim, t->shape, b), i);
    for (int d = 0; d < r->ndim; d++)
      TF_CHECK(d == dim || t->shape[d] == r->shape[d], TF_ERR_SHAPE,
               "cat: sizes of tensors must match except in dim %d, got "
               "shape %s at position %d and %s at position %d (they differ "
               "in dim %d)", dim, tf_shape_str(r->ndim, r->shape, a), ref,
               tf_shape_str(t->ndim, t->shape, b), i, d);
    TF_CHECK(t->shape[dim] <= INT64_MAX / 2 - shape[dim], TF_ERR_MEMORY,
             "cat: the result is too large");
    shape[dim] += t->shape[dim];
  }
  return TF_OK;
}

tf_status tf_cat(int n, tf_tensor *const *tensors, int dim, tf_tensor **out) {
  TF_CHECK(n > 0 && tensors != NULL, TF_ERR_VALUE,
           "cat: expected a non-empty list of tensors, got %d", n);
  int ref = -1;
  for (int i = 0; i < n; i++) {
    TF_TRY(tf_check_same_device("cat", tensors[i], tensors[0]));
    if (ref < 0 && !cat_skips(tensors[i])) ref = i;
  }
  if (ref < 0) { /* only (0,) tensors: the result is one as well */
    int64_t zero = 0;
    return tf_new_on(tensors[0]->storage->alloc, 1, &zero, tensors[0]->dtype, out);
  }
  const tf_tensor *r = tensors[ref];
  TF_CHECK(r->ndim > 0, TF_ERR_SHAPE,
           "cat: the 0-d tensor at position %d cannot be concatenated; "
           "unsqueeze it or use stack", ref);
  TF_TRY(tf_norm_dim("cat", &dim, r->ndim));
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(cat_check(n, tensors, ref, dim, shape));
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(r->storage->alloc, r->ndim, shape, r->dtype, &o));
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    const tf_tensor *t = tensors[i];
    if (cat_skips(t) || t->shape[dim] == 0) continue;
    tf_tensor *part = NULL;
    tf_status st = tf_new_view(o, o->ndim, t->shape, o->strides,
                               o->offset + at * o->strides[dim], &part);
    if (st == TF_OK) st = tf_copy_(part, t);
    tf_tensor_release(part);
    if (st != TF_OK) {
      tf_tensor_release(o);
      return st;
    }
    at += t->shape[dim];
  }
  *out = o;
  return TF_OK;
}

/* ---- flip ----------------------------------------------------------------- */
tf_status tf_flip(const tf_tensor *t, uint32_t dim_mask, tf_tensor **out) {
  TF_TRY(tf_check_device("flip", t));
  int nd = t->ndim ? t->ndim : 1; /* a 0-d tensor accepts dim 0 */
  TF_CHECK((dim_mask >> nd) == 0, TF_ERR_INDEX,
           "flip: dims mask 0x%x names a dim beyond the %d dims of the "
           "tensor", (unsigned)dim_mask, t->ndim);
  /* A view with negated strides reads the flipped order; clone copies it. */
  int64_t strides[TF_MAX_DIMS], offset = t->offset;
  for (int d = 0; d < t->ndim; d++) {
    strides[d] = t->strides[d];
    if (!(dim_mask >> d & 1u) || t->shape[d] == 0) continue;
    offset += (t->shape[d] - 1) * t->strides[d];
    strides[d] = -t->strides[d];
  }
  tf_tensor *rev = NULL;
  TF_TRY(tf_new_view(t, t->ndim, t->shape, strides, offset, &rev));
  tf_status st = tf_clone(rev, out);
  tf_tensor_release(rev);
  return st;
}

/* ---- pad ------------------------------------------------------------------ */
/* Bounds keep before + size + after far from int64 overflow. */
#define PAD_LIMIT ((int64_t)1 << 48)

static tf_status pad_check(const tf_tensor *t, const int64_t *pads, int mode,
                           int64_t *shape) {
  char a[TF_SHAPE_STR];
  static const char *const names[] = {"constant", "reflect", "replicate"};
  for (int d = 0; d < t->ndim; d++) {
    int64_t before = pads[2 * d], after = pads[2 * d + 1], size = t->shape[d];
    TF_CHECK(before > -PAD_LIMIT && before < PAD_LIMIT && after > -PAD_LIMIT &&
                 after < PAD_LIMIT, TF_ERR_VALUE,
             "pad: padding (%lld, %lld) of dim %d is too large",
             (long long)before, (long long)after, d);
    TF_CHECK(mode == TF_PAD_CONSTANT || (before >= 0 && after >= 0),
             TF_ERR_VALUE,
             "pad: negative padding (%lld, %lld) of dim %d is only supported "
             "in constant mode, not %s", (long long)before, (long long)after,
             d, names[mode]);
    bool padded = before > 0 || after > 0;
    TF_CHECK(mode != TF_PAD_REFLECT || !padded || (before < size && after < size),
             TF_ERR_VALUE,
             "pad: reflect padding (%lld, %lld) of dim %d must be less than "
             "the size %lld of that dim (input shape %s)", (long long)before,
             (long long)after, d, (long long)size,
             tf_shape_str(t->ndim, t->shape, a));
    TF_CHECK(mode != TF_PAD_REPLICATE || !padded || size > 0, TF_ERR_VALUE,
             "pad: replicate padding of dim %d needs a non-empty dim, but the "
             "input shape is %s", d, tf_shape_str(t->ndim, t->shape, a));
    TF_CHECK(tf_add_ok(before, size, &shape[d]) &&
                 tf_add_ok(shape[d], after, &shape[d]),
             TF_ERR_VALUE, "pad: padding (%lld, %lld) of dim %d of size "
             "%lld gives more elements than fit in 64 bits", (long long)before,
             (long long)after, d, (long long)size);
    TF_CHECK(shape[d] >= 0, TF_ERR_VALUE,
             "pad: padding (%lld, %lld) of dim %d of the input shape %s "
             "crops more than the %lld elements there", (long long)before,
             (long long)after, d, tf_shape_str(t->ndim, t->shape, a),
             (long long)size);
  }
  return TF_OK;
}

/* Fill with the scalar, then copy the part of t that survives negative pads. */
static tf_status pad_constant(const tf_tensor *t, const int64_t *pads,
                              double fvalue, int64_t ivalue, int kind,
                              tf_tensor *o) {
  TF_TRY(tf_fill_(o, fvalue, ivalue, kind));
  int64_t shape[TF_MAX_DIMS], src_off = t->offset, dst_off = o->offset;
  for (int d = 0; d < t->ndim; d++) {
    int64_t before = pads[2 * d], after = pads[2 * d + 1];
    int64_t cut_front = before < 0 ? -before : 0, cut_back = after < 0 ? -after : 0;
    shape[d] = t->shape[d] - cut_front - cut_back;
    if (shape[d] <= 0) return TF_OK;
    src_off += cut_front * t->strides[d];
    dst_off += (before > 0 ? before : 0) * o->strides[d];
  }
  tf_tensor *src = NULL, *dst = NULL;
  tf_status st = tf_new_view(t, t->ndim, shape, t->strides, src_off, &src);
  if (st == TF_OK) st = tf_new_view(o, o->ndim, shape, o->strides, dst_off, &dst);
  if (st == TF_OK) st = tf_copy_(dst, src);
  tf_tensor_release(src);
  tf_tensor_release(dst);
  return st;
}

tf_status tf_pad(const tf_tensor *t, const int64_t *pads, int mode,
                 double fvalue, int64_t ivalue, int kind, tf_tensor **out) {
  TF_TRY(tf_check_device("pad", t));
  TF_CHECK(mode == TF_PAD_CONSTANT || mode == TF_PAD_REFLECT ||
               mode == TF_PAD_REPLICATE, TF_ERR_VALUE,
           "pad: unknown mode %d (expected 0 constant, 1 reflect or 2 "
           "replicate)", mode);
  TF_CHECK(t->ndim == 0 || pads != NULL, TF_ERR_VALUE, "pad: got NULL pads");
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(pad_check(t, pads, mode, shape));
  tf_pad_kernel gather = NULL;
  if (mode != TF_PAD_CONSTANT) TF_KERNEL(gather, tf_device_of(t), "pad", k->pad);
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(t->storage->alloc, t->ndim, shape, t->dtype, &o));
  tf_status st = mode == TF_PAD_CONSTANT
                     ? pad_constant(t, pads, fvalue, ivalue, kind, o)
                     : gather(t, pads, mode, o);
  if (st != TF_OK) {
    tf_tensor_release(o);
    return st;
  }
  *out = o;
  return TF_OK;
}

/* ---- tril / triu ---------------------------------------------------------- */
tf_status tf_tril(const tf_tensor *t, int64_t k, bool upper, tf_tensor **out) {
  const char *op = upper ? "triu" : "tril";
  TF_TRY(tf_check_device(op, t));
  char a[TF_SHAPE_STR];
  TF_CHECK(t->ndim >= 2, TF_ERR_SHAPE,
           "%s: input must have at least 2 dims, got shape %s", op,
           tf_shape_str(t->ndim, t->shape, a));
  tf_tril_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), op, k->tril);
  int64_t rows = t->shape[t->ndim - 2], cols = t->shape[t->ndim - 1];
  /* clamped so that row + k cannot overflow in a kernel */
  k = k < -rows - 1 ? -rows - 1 : k > cols + 1 ? cols + 1 : k;
  tf_tensor *o = NULL;
  TF_TRY(tf_clone(t, &o));
  tf_status st = kernel(o, k, upper);
  if (st != TF_OK) {
    tf_tensor_release(o);
    return st;
  }
  *out = o;
  return TF_OK;
}
