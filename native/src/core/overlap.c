/* overlap.c: which memory a tensor's elements occupy, for the two questions
 * every write asks: can the destination be written at all (no two of its
 * elements share an address), and does an input overlap it in a way that
 * forces reading a copy first. */
#include "../internal.h"

/* True when no two elements of t share an address. With the dims sorted by
 * |stride|, each stride must exceed the span of all the smaller dims: true
 * for every view tinyfin makes except expand's stride-0 dims. A sufficient
 * test, not a necessary one: an exotic as_strided layout whose elements
 * interleave without colliding is refused too (an error, never a race). */
static bool no_internal_overlap(const tf_tensor *t) {
  int64_t size[TF_MAX_DIMS], stride[TF_MAX_DIMS];
  int n = 0;
  for (int d = 0; d < t->ndim; d++) {
    if (t->shape[d] == 0) return true;
    if (t->shape[d] == 1) continue;
    /* insertion sort by |stride|: at most 8 dims */
    int64_t s = t->strides[d] < 0 ? -t->strides[d] : t->strides[d];
    int i = n++;
    for (; i > 0 && stride[i - 1] > s; i--) {
      stride[i] = stride[i - 1];
      size[i] = size[i - 1];
    }
    stride[i] = s;
    size[i] = t->shape[d];
  }
  int64_t span = 0; /* highest offset reached by the dims so far */
  for (int i = 0; i < n; i++) {
    if (stride[i] <= span) return false;
    span += stride[i] * (size[i] - 1); /* inside the storage: no overflow */
  }
  return true;
}

tf_status tf_check_writable(const char *op, const tf_tensor *dst) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(no_internal_overlap(dst), TF_ERR_VALUE,
           "%s: more than one element of the written-to tensor refers to a "
           "single memory location (shape %s, strides %s, as after expand "
           "or an overlapping as_strided); write into a .clone() or "
           ".contiguous() copy", op, tf_shape_str(dst->ndim, dst->shape, a),
           tf_shape_str(dst->ndim, dst->strides, b));
  return TF_OK;
}

/* The bytes [lo, hi) of t's storage that its elements occupy. */
static void byte_range(const tf_tensor *t, int64_t *lo, int64_t *hi) {
  int64_t l = t->offset, h = t->offset;
  for (int d = 0; d < t->ndim; d++) {
    int64_t step = t->strides[d] * (t->shape[d] - 1);
    if (step < 0) l += step;
    else h += step;
  }
  int64_t es = (int64_t)tf_dtype_size(t->dtype);
  *lo = l * es;
  *hi = (h + 1) * es;
}

tf_overlap tf_overlap_of(const tf_tensor *dst, const tf_tensor *src) {
  if (src->storage != dst->storage) return TF_OVERLAP_NONE;
  if (src->ndim > dst->ndim) return TF_OVERLAP_PARTIAL; /* not a broadcast */
  if (tf_tensor_numel(src) == 0 || tf_tensor_numel(dst) == 0)
    return TF_OVERLAP_NONE;
  int64_t dlo, dhi, slo, shi;
  byte_range(dst, &dlo, &dhi);
  byte_range(src, &slo, &shi);
  if (shi <= dlo || dhi <= slo) return TF_OVERLAP_NONE;
  /* The same elements in the same order: every dim of dst (of size > 1)
   * has the stride src has when broadcast to dst's shape. */
  if (tf_ptr(src) != tf_ptr(dst) ||
      tf_dtype_size(src->dtype) != tf_dtype_size(dst->dtype))
    return TF_OVERLAP_PARTIAL;
  int64_t strides[TF_MAX_DIMS];
  tf_broadcast_strides(src, dst->ndim, dst->shape, strides);
  for (int d = 0; d < dst->ndim; d++)
    if (dst->shape[d] > 1 && strides[d] != dst->strides[d])
      return TF_OVERLAP_PARTIAL;
  return TF_OVERLAP_SAME;
}
