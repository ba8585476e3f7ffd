/* internal.h: what the C core's files share but the public API hides:
 * the tensor and storage layouts, error helpers, shape helpers and the
 * strided iterator that every elementwise kernel runs on. */
#ifndef TF_INTERNAL_H
#define TF_INTERNAL_H

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tinyfin.h"

struct tf_storage {
  atomic_long refcount;
  atomic_llong version; /* bumped by every in-place write (autograd checks it) */
  void *data; /* 64-byte aligned; never NULL, even for 0 bytes */
  bool separate; /* data is its own allocation (large storages) */
  size_t nbytes;
  tf_device device;
};

struct tf_tensor {
  atomic_long refcount;
  tf_storage *storage; /* one reference held */
  int ndim;
  tf_dtype dtype;
  tf_device device;
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

/* Checks shared by the ops: cpu-only device, dim in range. */
tf_status tf_check_cpu(const char *op, const tf_tensor *t);
/* An output whose elements alias each other (a stride-0 dim of size > 1, as
 * expand makes) would be written several times by racing threads, each
 * result depending on the schedule: refused, as in PyTorch. */
tf_status tf_check_writable(const char *op, const tf_tensor *dst);
/* Normalize a possibly negative dim into [0, ndim). */
tf_status tf_norm_dim(const char *op, int *dim, int ndim);

/* ---- tensor helpers (tensor.c) ---- */
int64_t tf_shape_numel(int ndim, const int64_t *shape);
/* A new contiguous tensor with its own storage. */
tf_status tf_new(int ndim, const int64_t *shape, tf_dtype dtype,
                 tf_tensor **out);
/* A new tensor header over t's storage (retained) with the given geometry. */
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
