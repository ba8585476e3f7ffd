/* internal.h: what the C core's files share but the public API hides:
 * the tensor and storage layouts, error helpers, shape helpers and the
 * strided iterator that every elementwise kernel runs on. */
#ifndef TF_INTERNAL_H
#define TF_INTERNAL_H

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tinyfin.h"

/* The memory of one device. A storage keeps the allocator that made its
 * data, so a tensor's device is its storage's (tf_device_of). A backend for
 * device memory (CUDA) brings its own allocator; host memory is
 * tf_host_allocator's, which the cpu and BLAS kernels read directly. */
typedef struct tf_allocator {
  tf_device device;
  const char *name;                     /* "cpu", "cuda:0" */
  bool host;                            /* the cpu can read the data */
  void *(*alloc)(size_t nbytes);        /* NULL when out of memory */
  void (*free)(void *data, size_t nbytes); /* nbytes: as allocated */
  /* nbytes between this allocator's memory and host memory */
  tf_status (*to_host)(void *host, const void *data, size_t nbytes);
  tf_status (*from_host)(void *data, const void *host, size_t nbytes);
  /* from_host without waiting for the copy, from pinned host memory (NULL:
   * none; the device's allocator has it) */
  tf_status (*from_host_async)(void *data, const void *host, size_t nbytes);
} tf_allocator;
extern const tf_allocator tf_host_allocator;
/* memcpy as a host allocator's to_host / from_host */
tf_status tf_host_copy(void *dst, const void *src, size_t nbytes);
/* Whether freed host blocks are cached for reuse (host_memory.c). */
bool tf_host_cache_enabled(void);

struct tf_storage {
  atomic_long refcount;
  atomic_llong version; /* bumped by every in-place write (autograd checks it) */
  void *data; /* 64-byte aligned; never NULL, even for 0 bytes */
  bool separate; /* data is its own allocation (large or device storages) */
  size_t nbytes;
  const tf_allocator *alloc;
};

struct tf_tensor {
  atomic_long refcount;
  tf_storage *storage; /* one reference held */
  int ndim;
  tf_dtype dtype;
  int64_t offset;                /* in elements */
  int64_t shape[TF_MAX_DIMS];
  int64_t strides[TF_MAX_DIMS];  /* in elements; 0 for broadcast dims */
};

/* ---- errors (error.c) ---- */
/* Record a message for tf_last_error() and return status. */
tf_status tf_fail(tf_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Return from the calling function when a call fails. */
#define TF_TRY(expr)                  \
  do {                                \
    tf_status tf_try_s_ = (expr);     \
    if (tf_try_s_ != TF_OK) return tf_try_s_; \
  } while (0)

#define TF_CHECK(cond, status, ...)            \
  do {                                         \
    if (!(cond)) return tf_fail((status), __VA_ARGS__); \
  } while (0)

/* Shapes as "(2, 3)" in a caller-provided buffer of TF_SHAPE_STR bytes. */
#define TF_SHAPE_STR 200
const char *tf_shape_str(int ndim, const int64_t *shape, char *buf);
const char *tf_dtype_name(tf_dtype dtype);

/* Checks shared by the ops: the device, dim in range. */
/* t is not NULL and some backend of this build runs on its device. */
tf_status tf_check_device(const char *op, const tf_tensor *t);
/* Both pass tf_check_device and share one device (an error naming both). */
tf_status tf_check_same_device(const char *op, const tf_tensor *a,
                               const tf_tensor *b);
/* Normalize a possibly negative dim into [0, ndim). */
tf_status tf_norm_dim(const char *op, int *dim, int ndim);

/* ---- overflow-checked shape arithmetic ---- */
/* Every element count and extent is formed with these: a shape or stride
 * that overflows int64 is an error, never a wrapped (and so wrong, or out of
 * bounds) size. They return false on overflow. */
static inline bool tf_mul_ok(int64_t a, int64_t b, int64_t *r) {
  return !__builtin_mul_overflow(a, b, r);
}
static inline bool tf_add_ok(int64_t a, int64_t b, int64_t *r) {
  return !__builtin_add_overflow(a, b, r);
}
/* The product of the sizes, or false when it does not fit in int64. */
bool tf_numel_ok(int ndim, const int64_t *shape, int64_t *numel);
/* The lowest and highest element offsets a geometry reaches (offset plus the
 * sum of (size - 1) * stride over the dims of negative and of positive
 * stride); false on overflow. Only meaningful when no size is 0. */
bool tf_extent_ok(int ndim, const int64_t *shape, const int64_t *strides,
                  int64_t offset, int64_t *lo, int64_t *hi);

/* ---- memory overlap (overlap.c) ---- */
/* An output whose elements alias each other (a stride-0 dim of size > 1, as
 * expand makes, or an as_strided view whose rows overlap) would be written
 * several times, by racing threads, with a result depending on the
 * schedule: refused, as in PyTorch. */
tf_status tf_check_writable(const char *op, const tf_tensor *dst);
typedef enum {
  TF_OVERLAP_NONE,    /* no byte in common */
  TF_OVERLAP_SAME,    /* each element is read from where it is written */
  TF_OVERLAP_PARTIAL  /* anything else that may share memory */
} tf_overlap;
/* How src, read as if broadcast to dst's shape, shares memory with dst. An
 * elementwise kernel may run directly for NONE and SAME (each element is
 * read before it is written); for PARTIAL it must read a copy of src, or
 * an element written early would be read later as input (x += x[0:1],
 * neg(x.T, out=x)). Conservative: interleaved views that never touch the
 * same byte may be reported PARTIAL, which only costs a copy. */
tf_overlap tf_overlap_of(const tf_tensor *dst, const tf_tensor *src);

/* ---- tensor helpers (tensor.c) ---- */
/* The product of the sizes of a shape that is known to fit (a tensor's). */
int64_t tf_shape_numel(int ndim, const int64_t *shape);
/* A new contiguous tensor with its own storage in host memory, or in the
 * memory of alloc's device (the operands' device, for an op's result:
 * ordinary host memory for any host allocator, pinned included); tf_new_in
 * allocates from alloc itself (tf_pin_memory's pinned storages). */
tf_status tf_new(int ndim, const int64_t *shape, tf_dtype dtype,
                 tf_tensor **out);
tf_status tf_new_on(const tf_allocator *alloc, int ndim, const int64_t *shape,
                    tf_dtype dtype, tf_tensor **out);
tf_status tf_new_in(const tf_allocator *alloc, int ndim, const int64_t *shape,
                    tf_dtype dtype, tf_tensor **out);
/* The CUDA backend's page-locked host memory (cuda/backend.c): a cpu
 * tensor's storage that the device copies from without staging. */
extern const tf_allocator tf_cuda_pinned_allocator;
/* The allocator of device's backend: where creation ops put results. */
tf_status tf_device_allocator(const char *op, int device,
                              const tf_allocator **alloc);
static inline tf_device tf_device_of(const tf_tensor *t) {
  return t->storage->alloc->device;
}
/* A 0-d host tensor over data, for a scalar operand that never outlives
 * the call making it (no allocation; kernels only borrow operands). */
static inline void tf_stack_scalar(tf_tensor *t, tf_storage *s, void *data,
                                   tf_dtype dtype) {
  atomic_init(&s->refcount, 1);
  atomic_init(&s->version, 0);
  s->data = data;
  s->separate = false;
  s->nbytes = tf_dtype_size(dtype);
  s->alloc = &tf_host_allocator;
  atomic_init(&t->refcount, 1);
  t->storage = s;
  t->ndim = 0;
  t->dtype = dtype;
  t->offset = 0;
}
/* A new tensor header over t's storage (retained) with the given geometry,
 * which must lie inside the storage (checked: every view goes through here,
 * so no view can reach outside its storage). */
tf_status tf_new_view(const tf_tensor *t, int ndim, const int64_t *shape,
                      const int64_t *strides, int64_t offset,
                      tf_tensor **out);
void tf_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
/* Every op that writes into an existing tensor calls this once. */
static inline void tf_bump_version(tf_tensor *t) {
  atomic_fetch_add_explicit(&t->storage->version, 1, memory_order_relaxed);
}
static inline char *tf_ptr(const tf_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)tf_dtype_size(t->dtype);
}
static inline bool tf_is_float(tf_dtype d) {
  return d == TF_FLOAT32 || d == TF_FLOAT64;
}

/* ---- conversion (copy.c) ---- */
/* float -> int64 truncates and saturates (NaN gives 0) instead of C's
 * undefined behaviour: the one rule of every conversion to int64. */
static inline int64_t tf_f64_to_i64(double x) {
  if (x != x) return 0;
  if (x >= 9223372036854775807.0) return INT64_MAX;
  if (x <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)x;
}
/* A scalar (fvalue when kind is TF_SCALAR_FLOAT, else ivalue) as one element
 * of dtype at elem, by the rules of tf_to_dtype: float to int64 truncates
 * toward zero and saturates, NaN giving 0; anything to bool is "!= 0"; an
 * int64 becomes a float in one rounding. */
void tf_scalar_to(double fvalue, int64_t ivalue, int kind, tf_dtype dtype,
                  void *elem);

/* The shape and strides of t, a 0-d tensor read as 1-D of size 1 (as
 * PyTorch's gather and scatter do); returns the number of dims. */
static inline int tf_geom_1d(const tf_tensor *t, int64_t *shape, int64_t *strides) {
  if (t->ndim == 0) {
    shape[0] = 1;
    strides[0] = 0;
    return 1;
  }
  memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  memcpy(strides, t->strides, sizeof(int64_t) * (size_t)t->ndim);
  return t->ndim;
}

/* ---- broadcasting and iteration (iter.c) ---- */
/* NumPy broadcasting of n shapes; fails with a message naming op. */
tf_status tf_broadcast_shapes(const char *op, int n, const tf_tensor *const *ts,
                              int *ndim, int64_t *shape);
/* Strides of t read as if broadcast to (ndim, shape): 0 on broadcast dims. */
void tf_broadcast_strides(const tf_tensor *t, int ndim, const int64_t *shape,
                          int64_t *strides);

#define TF_ITER_MAX_OPS 4
/* An n-operand strided loop nest over one shape, with dims merged where the
 * strides allow. The kernel sees rows: a length and one stride per operand. */
typedef struct {
  int nops;
  int ndim;                       /* after coalescing; >= 1 */
  int64_t shape[TF_MAX_DIMS];     /* innermost dim last */
  int64_t strides[TF_ITER_MAX_OPS][TF_MAX_DIMS]; /* elements */
  char *base[TF_ITER_MAX_OPS];
  int64_t elsize[TF_ITER_MAX_OPS];
  int64_t numel;
} tf_iter;

/* ptrs[k] points at the first element of the row for operand k; strides in
 * elements. Kernels must accept any strides, including 0. */
typedef void (*tf_row_fn)(int64_t n, char *const *ptrs, const int64_t *strides,
                          const double *params);

/* Build an iterator over ops[0..nops) all viewed with (ndim, shape)
 * (ops[0] is the output and must already have that shape). */
void tf_iter_init(tf_iter *it, int nops, const tf_tensor *const *ops, int ndim,
                  const int64_t *shape);
/* True when t and u have one shape and both are contiguous, so a kernel can
 * run over their elements as one flat row (the small-op fast path). */
bool tf_same_dense_layout(const tf_tensor *t, const tf_tensor *u);

/* Run fn over every row, in parallel when the work is large. Each element is
 * computed by exactly one call, so results never depend on the threads. */
void tf_iter_run(const tf_iter *it, tf_row_fn fn, const double *params);

/* ---- threads (parallel.c) ---- */
/* Below this many elements a kernel runs on one thread. */
#define TF_PARALLEL_GRAIN 32768

/* The team for a parallel region: 1 thread unless `worth` (the work is
 * large enough to pay for starting threads), and 1 in a process made by
 * fork(), whose OpenMP pool belongs to the parent (libgomp would wait for
 * the parent's threads forever); else tf_set_num_threads's count, which
 * holds for every calling thread. Every parallel region in the core opens
 * through TF_PARALLEL_FOR or TF_PARALLEL, so none can miss these rules.
 * The work split never depends on the team size, so neither do results. */
int tf_team_size(bool worth);
#define TF_PRAGMA(x) _Pragma(#x)
/* `#pragma omp parallel for schedule(static)` over the next loop. */
#define TF_PARALLEL_FOR(worth) \
  TF_PRAGMA(omp parallel for schedule(static) num_threads(tf_team_size(worth)))
/* `#pragma omp parallel` over the next block (which holds an `omp for`). */
#define TF_PARALLEL(worth) TF_PRAGMA(omp parallel num_threads(tf_team_size(worth)))
/* Called by the thread that opened a region, inside it: remembers the team
 * size for tf_last_parallel_threads. */
void tf_note_team(void);

#endif /* TF_INTERNAL_H */
