/* view.c: ops that return a new header over the same storage: reshape as a
 * view, permute, transpose, slicing, select, expand, squeeze, unsqueeze and
 * as_strided. None of them copies elements. */
#include "../internal.h"

/* Resolve one -1 entry and check the element count is unchanged. */
static tf_status infer_shape(const char *op, const tf_tensor *t, int ndim,
                             const int64_t *shape, int64_t *resolved) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(ndim >= 0 && ndim <= TF_MAX_DIMS, TF_ERR_VALUE,
           "%s: %d dims requested, but tensors have at most %d", op, ndim,
           TF_MAX_DIMS);
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < ndim; d++) {
    resolved[d] = shape[d];
    if (shape[d] == -1) {
      TF_CHECK(infer < 0, TF_ERR_VALUE, "%s: only one dimension can be -1 in %s",
               op, tf_shape_str(ndim, shape, a));
      infer = d;
    } else {
      TF_CHECK(shape[d] >= 0, TF_ERR_VALUE, "%s: invalid size %lld in shape %s",
               op, (long long)shape[d], tf_shape_str(ndim, shape, a));
      TF_CHECK(tf_mul_ok(known, shape[d], &known), TF_ERR_SHAPE,
               "%s: shape %s has more elements than fit in 64 bits", op,
               tf_shape_str(ndim, shape, a));
    }
  }
  int64_t numel = tf_tensor_numel(t);
  if (infer >= 0) {
    TF_CHECK(known != 0 && numel % known == 0, TF_ERR_SHAPE,
             "%s: shape %s is invalid for input of size %lld", op,
             tf_shape_str(ndim, shape, a), (long long)numel);
    resolved[infer] = numel / known;
    known = numel;
  }
  TF_CHECK(known == numel, TF_ERR_SHAPE,
           "%s: shape %s is invalid for input of shape %s (%lld elements)", op,
           tf_shape_str(ndim, shape, a), tf_shape_str(t->ndim, t->shape, b),
           (long long)numel);
  return TF_OK;
}

/* Strides that let (ndim, shape) view t's elements in row-major order, or
 * false when the existing strides make that impossible (then a copy is
 * needed). Groups of old dims that are contiguous with each other may be
 * split or merged freely. */
static bool view_strides(const tf_tensor *t, int ndim, const int64_t *shape,
                         int64_t *strides) {
  if (tf_tensor_numel(t) == 0 || t->ndim == 0) {
    tf_contiguous_strides(ndim, shape, strides);
    return true;
  }
  int view_d = ndim - 1;
  int64_t chunk_stride = t->strides[t->ndim - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    tensor_numel *= t->shape[d];
    bool chunk_ends = d == 0 || (t->shape[d - 1] != 1 &&
                                 t->strides[d - 1] != tensor_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_stride;
      view_numel *= shape[view_d];
      view_d--;
    }
    if (view_numel != tensor_numel) return false;
    if (d > 0) {
      chunk_stride = t->strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  return view_d == -1;
}

tf_status tf_view(const tf_tensor *t, int ndim, const int64_t *shape,
                  tf_tensor **out) {
  TF_TRY(tf_check_device("view", t));
  int64_t resolved[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  TF_TRY(infer_shape("view", t, ndim, shape, resolved));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(view_strides(t, ndim, resolved, strides), TF_ERR_SHAPE,
           "view: shape %s is not compatible with the strides of the input "
           "(shape %s); use reshape, which copies when it must",
           tf_shape_str(ndim, resolved, a), tf_shape_str(t->ndim, t->shape, b));
  return tf_new_view(t, ndim, resolved, strides, t->offset, out);
}

tf_status tf_reshape(const tf_tensor *t, int ndim, const int64_t *shape,
                     tf_tensor **out) {
  TF_TRY(tf_check_device("reshape", t));
  int64_t resolved[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  TF_TRY(infer_shape("reshape", t, ndim, shape, resolved));
  if (view_strides(t, ndim, resolved, strides))
    return tf_new_view(t, ndim, resolved, strides, t->offset, out);
  tf_tensor *copy = NULL;
  TF_TRY(tf_clone(t, &copy));
  tf_contiguous_strides(ndim, resolved, strides);
  tf_status st = tf_new_view(copy, ndim, resolved, strides, 0, out);
  tf_tensor_release(copy);
  return st;
}

tf_status tf_permute(const tf_tensor *t, const int *dims, tf_tensor **out) {
  TF_TRY(tf_check_device("permute", t));
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  bool seen[TF_MAX_DIMS] = {false};
  for (int d = 0; d < t->ndim; d++) {
    int src = dims[d];
    TF_TRY(tf_norm_dim("permute", &src, t->ndim));
    TF_CHECK(!seen[src], TF_ERR_VALUE,
             "permute: dim %d appears twice; dims must be a permutation of "
             "0..%d", src, t->ndim - 1);
    seen[src] = true;
    shape[d] = t->shape[src];
    strides[d] = t->strides[src];
  }
  return tf_new_view(t, t->ndim, shape, strides, t->offset, out);
}

tf_status tf_transpose(const tf_tensor *t, int dim0, int dim1,
                       tf_tensor **out) {
  TF_TRY(tf_check_device("transpose", t));
  TF_TRY(tf_norm_dim("transpose", &dim0, t->ndim));
  TF_TRY(tf_norm_dim("transpose", &dim1, t->ndim));
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(strides, t->strides, sizeof strides);
  if (t->ndim > 0) {
    shape[dim0] = t->shape[dim1], shape[dim1] = t->shape[dim0];
    strides[dim0] = t->strides[dim1], strides[dim1] = t->strides[dim0];
  }
  return tf_new_view(t, t->ndim, shape, strides, t->offset, out);
}

tf_status tf_slice(const tf_tensor *t, int dim, int64_t start, int64_t stop,
                   int64_t step, tf_tensor **out) {
  TF_TRY(tf_check_device("slice", t));
  TF_CHECK(t->ndim > 0, TF_ERR_INDEX, "slice: cannot slice a 0-d tensor");
  TF_TRY(tf_norm_dim("slice", &dim, t->ndim));
  TF_CHECK(step > 0, TF_ERR_VALUE, "slice: step must be positive, got %lld",
           (long long)step);
  int64_t size = t->shape[dim];
  start = start < 0 ? 0 : start > size ? size : start;
  stop = stop < start ? start : stop > size ? size : stop;
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(strides, t->strides, sizeof strides);
  /* ceil((stop - start) / step) without forming stop - start + step - 1,
   * which overflows for a step near 2^63. */
  shape[dim] = stop > start ? (stop - start - 1) / step + 1 : 0;
  /* With at most one element the stride is never used; 1 keeps a huge step
   * from overflowing it. */
  strides[dim] = shape[dim] > 1 ? t->strides[dim] * step : t->strides[dim];
  int64_t offset = shape[dim] ? t->offset + start * t->strides[dim] : t->offset;
  return tf_new_view(t, t->ndim, shape, strides, offset, out);
}

tf_status tf_select(const tf_tensor *t, int dim, int64_t index,
                    tf_tensor **out) {
  TF_TRY(tf_check_device("select", t));
  TF_CHECK(t->ndim > 0, TF_ERR_INDEX,
           "index: invalid index of a 0-d tensor (it has no dims to index)");
  TF_TRY(tf_norm_dim("select", &dim, t->ndim));
  int64_t size = t->shape[dim];
  TF_CHECK(index >= -size && index < size, TF_ERR_INDEX,
           "index %lld is out of bounds for dimension %d with size %lld",
           (long long)index, dim, (long long)size);
  if (index < 0) index += size;
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  for (int d = 0, k = 0; d < t->ndim; d++) {
    if (d == dim) continue;
    shape[k] = t->shape[d];
    strides[k++] = t->strides[d];
  }
  return tf_new_view(t, t->ndim - 1, shape, strides,
                     t->offset + index * t->strides[dim], out);
}

tf_status tf_expand(const tf_tensor *t, int ndim, const int64_t *shape,
                    tf_tensor **out) {
  TF_TRY(tf_check_device("expand", t));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(ndim >= t->ndim && ndim <= TF_MAX_DIMS, TF_ERR_SHAPE,
           "expand: the target shape %s has fewer dims than the tensor %s",
           tf_shape_str(ndim, shape, a), tf_shape_str(t->ndim, t->shape, b));
  int64_t new_shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  int lead = ndim - t->ndim;
  for (int d = 0; d < ndim; d++) {
    int src = d - lead;
    int64_t have = src >= 0 ? t->shape[src] : 1;
    int64_t want = shape[d];
    if (want == -1) {
      TF_CHECK(src >= 0, TF_ERR_SHAPE,
               "expand: -1 is not allowed for the new leading dim %d of %s", d,
               tf_shape_str(ndim, shape, a));
      want = have;
    }
    TF_CHECK(want >= 0 && (have == want || have == 1), TF_ERR_SHAPE,
             "expand: the size of tensor %s (%lld) must match the size %lld "
             "at dim %d of the target %s, or be 1",
             tf_shape_str(t->ndim, t->shape, b), (long long)have,
             (long long)want, d, tf_shape_str(ndim, shape, a));
    new_shape[d] = want;
    strides[d] = (src >= 0 && have == want) ? t->strides[src] : 0;
  }
  int64_t numel;
  TF_CHECK(tf_numel_ok(ndim, new_shape, &numel), TF_ERR_SHAPE,
           "expand: the target shape %s has more elements than fit in 64 "
           "bits", tf_shape_str(ndim, new_shape, a));
  return tf_new_view(t, ndim, new_shape, strides, t->offset, out);
}

tf_status tf_squeeze(const tf_tensor *t, uint32_t dim_mask, tf_tensor **out) {
  TF_TRY(tf_check_device("squeeze", t));
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  int k = 0;
  for (int d = 0; d < t->ndim; d++) {
    if ((dim_mask >> d & 1u) && t->shape[d] == 1) continue;
    shape[k] = t->shape[d];
    strides[k++] = t->strides[d];
  }
  return tf_new_view(t, k, shape, strides, t->offset, out);
}

tf_status tf_unsqueeze(const tf_tensor *t, int dim, tf_tensor **out) {
  TF_TRY(tf_check_device("unsqueeze", t));
  TF_CHECK(t->ndim < TF_MAX_DIMS, TF_ERR_VALUE,
           "unsqueeze: tensors have at most %d dims", TF_MAX_DIMS);
  TF_TRY(tf_norm_dim("unsqueeze", &dim, t->ndim + 1));
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  for (int d = 0, k = 0; d <= t->ndim; d++) {
    if (d == dim) {
      shape[d] = 1;
      /* Any stride is valid for a size-1 dim; this one keeps contiguity. */
      strides[d] = k < t->ndim ? t->shape[k] * t->strides[k] : 1;
    } else {
      shape[d] = t->shape[k];
      strides[d] = t->strides[k++];
    }
  }
  return tf_new_view(t, t->ndim + 1, shape, strides, t->offset, out);
}

tf_status tf_as_strided(const tf_tensor *t, int ndim, const int64_t *shape,
                        const int64_t *strides, int64_t offset,
                        tf_tensor **out) {
  TF_TRY(tf_check_device("as_strided", t));
  TF_CHECK(ndim >= 0 && ndim <= TF_MAX_DIMS, TF_ERR_VALUE,
           "as_strided: tensors have at most %d dims", TF_MAX_DIMS);
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  for (int d = 0; d < ndim; d++)
    TF_CHECK(shape[d] >= 0, TF_ERR_VALUE, "as_strided: negative size %lld",
             (long long)shape[d]);
  int64_t numel, lo, hi;
  TF_CHECK(tf_numel_ok(ndim, shape, &numel), TF_ERR_VALUE,
           "as_strided: size %s has more elements than fit in 64 bits",
           tf_shape_str(ndim, shape, a));
  TF_CHECK(offset >= 0, TF_ERR_VALUE,
           "as_strided: negative storage offset %lld", (long long)offset);
  if (numel == 0) return tf_new_view(t, ndim, shape, strides, offset, out);
  int64_t capacity = (int64_t)(t->storage->nbytes / tf_dtype_size(t->dtype));
  TF_CHECK(tf_extent_ok(ndim, shape, strides, offset, &lo, &hi), TF_ERR_VALUE,
           "as_strided: size %s with stride %s at offset %lld reaches "
           "further than 64-bit offsets can address",
           tf_shape_str(ndim, shape, a), tf_shape_str(ndim, strides, b),
           (long long)offset);
  TF_CHECK(lo >= 0 && hi < capacity, TF_ERR_VALUE,
           "as_strided: the view reaches elements [%lld, %lld] outside the "
           "storage of %lld elements", (long long)lo, (long long)hi,
           (long long)capacity);
  return tf_new_view(t, ndim, shape, strides, offset, out);
}
