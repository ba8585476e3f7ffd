/* copy.c: the entry points that copy elements: clone, contiguous, dtype
 * and device conversion, copy_ and fill_, and the scalar conversion that
 * full, fill_, pad and the binary ops' scalars share with tf_to_dtype. */
#include <math.h>
#include <stdlib.h>

#include "../backend.h"

/* dst = src broadcast to dst's shape (checked) on the kernel of their
 * device. */
static tf_status copy_elements(const char *op, tf_tensor *dst, const tf_tensor *src) {
  tf_copy_kernel copy;
  TF_KERNEL(copy, tf_device_of(dst), op, k->copy);
  return copy(dst, src);
}

tf_status tf_copy_(tf_tensor *dst, const tf_tensor *src) {
  TF_TRY(tf_check_same_device("copy_", dst, src));
  TF_TRY(tf_check_writable("copy_", dst));
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  bool fits = src->ndim <= dst->ndim;
  for (int d = 0; fits && d < src->ndim; d++) {
    int64_t s = src->shape[d], t = dst->shape[dst->ndim - src->ndim + d];
    fits = s == t || s == 1;
  }
  TF_CHECK(fits, TF_ERR_SHAPE,
           "copy_: source of shape %s cannot be broadcast to the destination "
           "shape %s", tf_shape_str(src->ndim, src->shape, a),
           tf_shape_str(dst->ndim, dst->shape, b));
  tf_bump_version(dst);
  if (tf_overlap_of(dst, src) == TF_OVERLAP_PARTIAL) {
    /* Overlapping storage: read everything before writing anything. */
    tf_tensor *tmp;
    TF_TRY(tf_clone(src, &tmp));
    tf_status st = copy_elements("copy_", dst, tmp);
    tf_tensor_release(tmp);
    return st;
  }
  return copy_elements("copy_", dst, src);
}

/* A new contiguous tensor on t's device holding t's values in dtype. */
static tf_status converted(const char *op, const tf_tensor *t, tf_dtype dtype,
                           tf_tensor **out) {
  TF_TRY(tf_check_device(op, t));
  TF_CHECK(dtype >= 0 && dtype < TF_NUM_DTYPES, TF_ERR_DTYPE,
           "%s: unknown dtype code %d", op, (int)dtype);
  tf_tensor *r = NULL;
  TF_TRY(tf_new_on(t->storage->alloc, t->ndim, t->shape, dtype, &r));
  tf_status st = copy_elements(op, r, t);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

tf_status tf_clone(const tf_tensor *t, tf_tensor **out) {
  return converted("clone", t, t ? t->dtype : TF_FLOAT32, out);
}

tf_status tf_contiguous(const tf_tensor *t, tf_tensor **out) {
  TF_TRY(tf_check_device("contiguous", t));
  if (!tf_tensor_is_contiguous(t)) return tf_clone(t, out);
  tf_tensor_retain((tf_tensor *)t);
  *out = (tf_tensor *)t;
  return TF_OK;
}

tf_status tf_to_dtype(const tf_tensor *t, tf_dtype dtype, tf_tensor **out) {
  return converted("to", t, dtype, out);
}

tf_status tf_to_device(const tf_tensor *t, int device, tf_dtype dtype,
                       tf_tensor **out) {
  return tf_to_device_nb(t, device, dtype, false, out);
}

tf_status tf_to_device_nb(const tf_tensor *t, int device, tf_dtype dtype, bool non_blocking,
                          tf_tensor **out) {
  TF_TRY(tf_check_device("to", t));
  const tf_backend *target = tf_backend_for((tf_device)device);
  TF_CHECK(target != NULL, TF_ERR_DEVICE,
           "to: this build of tinyfin has no backend for device code %d "
           "(it runs on cpu only)", device);
  if (target->allocator->device == t->storage->alloc->device)
    return converted("to", t, dtype, out); /* pinned memory is the cpu's */
  tf_tensor *src = NULL, *r = NULL;
  const tf_allocator *to = target->allocator;
  if (non_blocking && t->storage->alloc == &tf_cuda_pinned_allocator && to->from_host_async &&
      t->dtype == dtype && tf_tensor_is_contiguous(t)) {
    /* pinned and as it will lie: the device reads t's bytes in place, in
     * stream order (a pinned storage's free waits for its copies) */
    TF_TRY(tf_new_on(to, t->ndim, t->shape, dtype, &r));
    size_t nbytes = (size_t)tf_tensor_numel(t) * tf_dtype_size(dtype);
    tf_status st = nbytes ? to->from_host_async(r->storage->data, tf_ptr(t), nbytes) : TF_OK;
    if (st != TF_OK) {
      tf_tensor_release(r);
      return st;
    }
    *out = r;
    return TF_OK;
  }
  /* Across devices: a contiguous copy in dtype on the source device, whose
   * bytes go through host memory into a new storage on the target. */
  TF_TRY(converted("to", t, dtype, &src));
  tf_status st = tf_new_on(target->allocator, src->ndim, src->shape, dtype, &r);
  size_t nbytes = (size_t)tf_tensor_numel(src) * tf_dtype_size(dtype);
  void *staging = NULL;
  if (st == TF_OK && nbytes) {
    const tf_allocator *from = src->storage->alloc;
    if (from->host) {
      st = to->from_host(r->storage->data, src->storage->data, nbytes);
    } else if (to->host) {
      st = from->to_host(r->storage->data, src->storage->data, nbytes);
    } else if (!(staging = malloc(nbytes))) {
      st = tf_fail(TF_ERR_MEMORY, "to: out of memory staging %zu bytes", nbytes);
    } else if ((st = from->to_host(staging, src->storage->data, nbytes)) == TF_OK) {
      st = to->from_host(r->storage->data, staging, nbytes);
    }
  }
  free(staging);
  tf_tensor_release(src);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

/* The float32 nearest v (ties to even), in one rounding: not through
 * double, which would round first to 53 bits. The hardware's conversion
 * does the same; this one is exact under valgrind too, which emulates that
 * instruction through double. */
static float i64_to_f32(int64_t v) {
  uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  if (m < ((uint64_t)1 << 24)) return (float)v; /* exact */
  int shift = 64 - __builtin_clzll(m) - 24;     /* keep 24 bits */
  uint64_t q = m >> shift, rest = m & (((uint64_t)1 << shift) - 1);
  uint64_t half = (uint64_t)1 << (shift - 1);
  if (rest > half || (rest == half && (q & 1))) q++;
  float f = ldexpf((float)q, shift); /* q <= 2^24: exact */
  return v < 0 ? -f : f;
}

void tf_scalar_to(double fvalue, int64_t ivalue, int kind, tf_dtype dtype,
                  void *elem) {
  bool is_float = kind == TF_SCALAR_FLOAT;
  switch (dtype) {
    case TF_FLOAT32: *(float *)elem = is_float ? (float)fvalue : i64_to_f32(ivalue); break;
    case TF_FLOAT64: *(double *)elem = is_float ? fvalue : (double)ivalue; break;
    case TF_INT64: *(int64_t *)elem = is_float ? tf_f64_to_i64(fvalue) : ivalue; break;
    default: *(bool *)elem = is_float ? fvalue != 0 : ivalue != 0; break;
  }
}

tf_status tf_fill_(tf_tensor *dst, double fvalue, int64_t ivalue, int kind) {
  TF_TRY(tf_check_device("fill_", dst));
  TF_CHECK(kind >= TF_SCALAR_BOOL && kind <= TF_SCALAR_FLOAT, TF_ERR_VALUE,
           "fill_: unknown scalar kind %d", kind);
  TF_TRY(tf_check_writable("fill_", dst));
  tf_fill_kernel fill;
  TF_KERNEL(fill, tf_device_of(dst), "fill_", k->fill);
  tf_bump_version(dst);
  double elem[1];
  tf_scalar_to(fvalue, ivalue, kind, dst->dtype, elem);
  return fill(dst, elem);
}
