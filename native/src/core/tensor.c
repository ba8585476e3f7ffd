/* tensor.c: refcounted storage and tensor headers, their accessors, and the
 * live-tensor count that the leak tests read. */
#include <stdlib.h>

#include "../internal.h"

static atomic_llong tf_live_count; /* statistics only; not program state */

size_t tf_dtype_size(tf_dtype dtype) {
  switch (dtype) {
    case TF_FLOAT32: return 4;
    case TF_FLOAT64: return 8;
    case TF_INT64: return 8;
    case TF_BOOL: return 1;
    default: return 0;
  }
}

int64_t tf_live_tensors(void) { return (int64_t)atomic_load(&tf_live_count); }

int64_t tf_shape_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= shape[d];
  return n;
}

bool tf_numel_ok(int ndim, const int64_t *shape, int64_t *numel) {
  int64_t n = 1;
  bool zero = false;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 0) zero = true;
    /* Once a size is 0 the count is 0, but the other sizes must still be
     * valid on their own: keep multiplying the non-zero ones. */
    else if (!tf_mul_ok(n, shape[d], &n)) return false;
  }
  *numel = zero ? 0 : n;
  return true;
}

bool tf_extent_ok(int ndim, const int64_t *shape, const int64_t *strides,
                  int64_t offset, int64_t *lo, int64_t *hi) {
  int64_t l = offset, h = offset, step;
  for (int d = 0; d < ndim; d++) {
    if (!tf_mul_ok(strides[d], shape[d] - 1, &step)) return false;
    if (!tf_add_ok(step < 0 ? l : h, step, step < 0 ? &l : &h)) return false;
  }
  *lo = l, *hi = h;
  return true;
}

void tf_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d] > 0 ? shape[d] : 1;
  }
}

/* Small storages: the header and its data share one malloc'd block, the
 * data aligned to 64 bytes inside it (one plain malloc is much cheaper than
 * aligned_alloc or two allocations, and small ops are dominated by it).
 * From TF_BLOCK_THRESHOLD bytes on, the data is a separate block of the
 * host allocator (host_memory.c: huge pages, and a cache of freed blocks). */
#define TF_ALIGN 64
#define TF_BLOCK_THRESHOLD ((size_t)256 << 10)

/* Small host storages keep their data in the same block as the header;
 * anything else (large, or another allocator's memory) is separate. */
static tf_status storage_new(const tf_allocator *alloc, size_t nbytes,
                             tf_storage **out) {
  bool separate = alloc != &tf_host_allocator || nbytes >= TF_BLOCK_THRESHOLD;
  tf_storage *s = malloc(sizeof *s + (separate ? 0 : TF_ALIGN + nbytes));
  void *data = NULL;
  if (s && separate && !(data = alloc->alloc(nbytes))) {
    free(s);
    s = NULL;
  }
  if (!s)
    return tf_fail(TF_ERR_MEMORY, "out of memory allocating %zu bytes on %s",
                   nbytes, alloc->name);
  if (!separate) {
    uintptr_t inline_data = (uintptr_t)(s + 1);
    data = (void *)((inline_data + TF_ALIGN - 1) / TF_ALIGN * TF_ALIGN);
  }
  atomic_init(&s->refcount, 1);
  atomic_init(&s->version, 0);
  s->data = data;
  s->separate = separate;
  s->nbytes = nbytes;
  s->alloc = alloc;
  *out = s;
  return TF_OK;
}

static void storage_release(tf_storage *s) {
  if (atomic_fetch_sub_explicit(&s->refcount, 1, memory_order_acq_rel) == 1) {
    if (s->separate) s->alloc->free(s->data, s->nbytes);
    free(s);
  }
}

static tf_status header_new(int ndim, const int64_t *shape,
                            const int64_t *strides, tf_tensor **out) {
  tf_tensor *t = malloc(sizeof *t);
  if (!t) return tf_fail(TF_ERR_MEMORY, "out of memory allocating a tensor");
  atomic_init(&t->refcount, 1);
  t->ndim = ndim;
  if (ndim > 0) { /* a 0-d shape may be passed as NULL */
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    memcpy(t->strides, strides, sizeof(int64_t) * (size_t)ndim);
  }
  atomic_fetch_add_explicit(&tf_live_count, 1, memory_order_relaxed);
  *out = t;
  return TF_OK;
}

static tf_status check_shape(const char *op, int ndim, const int64_t *shape) {
  TF_CHECK(ndim >= 0 && ndim <= TF_MAX_DIMS, TF_ERR_VALUE,
           "%s: %d dims requested, but tensors have at most %d", op, ndim,
           TF_MAX_DIMS);
  char buf[TF_SHAPE_STR];
  for (int d = 0; d < ndim; d++)
    TF_CHECK(shape[d] >= 0, TF_ERR_VALUE,
             "%s: negative size in shape %s", op,
             tf_shape_str(ndim, shape, buf));
  /* The byte count must fit too (8 bytes for the widest dtype). */
  int64_t n, nbytes;
  TF_CHECK(tf_numel_ok(ndim, shape, &n) && tf_mul_ok(n, 8, &nbytes),
           TF_ERR_MEMORY, "%s: shape %s is too large (its element count "
           "does not fit in 64 bits)", op, tf_shape_str(ndim, shape, buf));
  return TF_OK;
}

tf_status tf_new(int ndim, const int64_t *shape, tf_dtype dtype,
                 tf_tensor **out) {
  return tf_new_on(&tf_host_allocator, ndim, shape, dtype, out);
}

tf_status tf_new_on(const tf_allocator *alloc, int ndim, const int64_t *shape,
                    tf_dtype dtype, tf_tensor **out) {
  /* an op's result on a host tensor is ordinary host memory, even when
   * the operand's is pinned */
  return tf_new_in(alloc->host ? &tf_host_allocator : alloc, ndim, shape, dtype, out);
}

tf_status tf_new_in(const tf_allocator *alloc, int ndim, const int64_t *shape,
                    tf_dtype dtype, tf_tensor **out) {
  TF_TRY(check_shape("empty", ndim, shape));
  TF_CHECK(dtype >= 0 && dtype < TF_NUM_DTYPES, TF_ERR_DTYPE,
           "empty: unknown dtype code %d", (int)dtype);
  int64_t strides[TF_MAX_DIMS];
  tf_contiguous_strides(ndim, shape, strides);
  tf_storage *s = NULL;
  TF_TRY(storage_new(alloc, (size_t)tf_shape_numel(ndim, shape) * tf_dtype_size(dtype),
                     &s));
  tf_tensor *t = NULL;
  tf_status st = header_new(ndim, shape, strides, &t);
  if (st != TF_OK) {
    storage_release(s);
    return st;
  }
  t->storage = s;
  t->dtype = dtype;
  t->offset = 0;
  *out = t;
  return TF_OK;
}

/* Every view's geometry is checked once here: its element count fits in
 * int64 and, unless it is empty, every element lies inside the storage. The
 * ops check their arguments with their own messages first; this is the net
 * under them. */
static tf_status check_view(const tf_tensor *base, int ndim,
                            const int64_t *shape, const int64_t *strides,
                            int64_t offset) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  int64_t numel, lo, hi;
  TF_CHECK(tf_numel_ok(ndim, shape, &numel), TF_ERR_VALUE,
           "view: shape %s has more elements than fit in 64 bits",
           tf_shape_str(ndim, shape, a));
  if (numel == 0) return TF_OK;
  int64_t capacity = (int64_t)(base->storage->nbytes / tf_dtype_size(base->dtype));
  TF_CHECK(tf_extent_ok(ndim, shape, strides, offset, &lo, &hi) && lo >= 0 &&
               hi < capacity,
           TF_ERR_VALUE,
           "view: shape %s with strides %s at offset %lld reaches outside "
           "its storage of %lld elements", tf_shape_str(ndim, shape, a),
           tf_shape_str(ndim, strides, b), (long long)offset,
           (long long)capacity);
  return TF_OK;
}

tf_status tf_new_view(const tf_tensor *base, int ndim, const int64_t *shape,
                      const int64_t *strides, int64_t offset,
                      tf_tensor **out) {
  TF_TRY(check_view(base, ndim, shape, strides, offset));
  tf_tensor *t = NULL;
  TF_TRY(header_new(ndim, shape, strides, &t));
  atomic_fetch_add_explicit(&base->storage->refcount, 1, memory_order_relaxed);
  t->storage = base->storage;
  t->dtype = base->dtype;
  t->offset = offset;
  *out = t;
  return TF_OK;
}

tf_status tf_tensor_empty(int ndim, const int64_t *shape, tf_dtype dtype,
                          int device, tf_tensor **out) {
  const tf_allocator *alloc;
  TF_TRY(tf_device_allocator("empty", device, &alloc));
  return tf_new_on(alloc, ndim, shape, dtype, out);
}

tf_status tf_tensor_from_buffer(int ndim, const int64_t *shape, tf_dtype dtype,
                                const void *data, size_t nbytes, int device,
                                tf_tensor **out) {
  const tf_allocator *alloc;
  TF_TRY(tf_device_allocator("tensor", device, &alloc));
  tf_tensor *t = NULL;
  TF_TRY(tf_new_on(alloc, ndim, shape, dtype, &t));
  size_t want = (size_t)tf_shape_numel(ndim, shape) * tf_dtype_size(dtype);
  if (want != nbytes) {
    char buf[TF_SHAPE_STR];
    tf_tensor_release(t);
    return tf_fail(TF_ERR_VALUE,
                   "tensor: %zu bytes given for shape %s of %s (expected %zu)",
                   nbytes, tf_shape_str(ndim, shape, buf),
                   tf_dtype_name(dtype), want);
  }
  tf_status st = alloc->from_host(t->storage->data, data, nbytes);
  if (st != TF_OK) {
    tf_tensor_release(t);
    return st;
  }
  *out = t;
  return TF_OK;
}

void tf_tensor_retain(tf_tensor *t) {
  atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
}

void tf_tensor_release(tf_tensor *t) {
  if (!t) return;
  if (atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) == 1) {
    storage_release(t->storage);
    free(t);
    atomic_fetch_sub_explicit(&tf_live_count, 1, memory_order_relaxed);
  }
}

int tf_tensor_ndim(const tf_tensor *t) { return t->ndim; }
tf_dtype tf_tensor_dtype(const tf_tensor *t) { return t->dtype; }
tf_device tf_tensor_device(const tf_tensor *t) { return tf_device_of(t); }
int64_t tf_tensor_numel(const tf_tensor *t) {
  return tf_shape_numel(t->ndim, t->shape);
}
int64_t tf_tensor_offset(const tf_tensor *t) { return t->offset; }
void tf_tensor_shape(const tf_tensor *t, int64_t *shape) {
  memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
}
void tf_tensor_strides(const tf_tensor *t, int64_t *strides) {
  memcpy(strides, t->strides, sizeof(int64_t) * (size_t)t->ndim);
}

bool tf_tensor_is_contiguous(const tf_tensor *t) {
  int64_t expected = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->shape[d] == 0) return true;
    if (t->shape[d] != 1 && t->strides[d] != expected) return false;
    expected *= t->shape[d];
  }
  return true;
}

void *tf_tensor_data(const tf_tensor *t) { return tf_ptr(t); }
bool tf_tensor_on_host(const tf_tensor *t) { return t->storage->alloc->host; }
void *tf_tensor_storage_data(const tf_tensor *t) { return t->storage->data; }
size_t tf_tensor_storage_nbytes(const tf_tensor *t) { return t->storage->nbytes; }
int64_t tf_tensor_version(const tf_tensor *t) {
  return (int64_t)atomic_load_explicit(&t->storage->version, memory_order_relaxed);
}
bool tf_tensor_same_shape(const tf_tensor *a, const tf_tensor *b) {
  return a->ndim == b->ndim &&
         !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim);
}
bool tf_tensor_sole_owner(const tf_tensor *t) {
  int64_t numel = tf_shape_numel(t->ndim, t->shape);
  return atomic_load(&t->refcount) == 1 &&
         atomic_load(&t->storage->refcount) == 1 && t->offset == 0 &&
         tf_tensor_is_contiguous(t) &&
         (size_t)numel * tf_dtype_size(t->dtype) == t->storage->nbytes;
}
bool tf_tensor_same_storage(const tf_tensor *a, const tf_tensor *b) {
  return a->storage == b->storage;
}

tf_status tf_tensor_item(const tf_tensor *t, double *fvalue, int64_t *ivalue) {
  TF_TRY(tf_check_device("item", t));
  int64_t n = tf_tensor_numel(t);
  TF_CHECK(n == 1, TF_ERR_VALUE,
           "item: a Tensor with %lld elements cannot be converted to a Python "
           "scalar (expected exactly one element)", (long long)n);
  double elem[1]; /* the element, read into host memory from any device */
  TF_TRY(t->storage->alloc->to_host(elem, tf_ptr(t), tf_dtype_size(t->dtype)));
  const char *p = (const char *)elem;
  switch (t->dtype) {
    case TF_FLOAT32: *fvalue = *(const float *)p; *ivalue = 0; break;
    case TF_FLOAT64: *fvalue = *(const double *)p; *ivalue = 0; break;
    case TF_INT64: *ivalue = *(const int64_t *)p; *fvalue = (double)*ivalue; break;
    default: *ivalue = *(const bool *)p; *fvalue = (double)*ivalue; break;
  }
  return TF_OK;
}
