/* backend.h: what a backend supplies to the core: kernels, and nothing else.
 *
 * The entry points of tinyfin.h (native/src/ops/) do the backend-independent
 * work once for every backend: argument checks, shapes, broadcasting, type
 * promotion, allocation of the result on the operands' device, out= and
 * overlap handling, version bumps, error messages. Then they call the kernel
 * of the backend chosen for the call (TF_KERNEL below). A kernel receives
 * operands that are checked, in the dtype it computes in, that do not
 * partially overlap its output, and an output allocated with the result's
 * shape and dtype; it only computes.
 *
 * A backend is one folder (cpu/, blas/) and one tf_kernels table. A slot it
 * leaves NULL falls back to the cpu kernels when the backend works on host
 * memory, and is an error naming the op and the backend when it works on
 * device memory. Per-op slots are arrays generated from tinyfin_ops.def, so
 * their lengths are checked at compile time.
 */
#ifndef TF_BACKEND_H
#define TF_BACKEND_H

#include "internal.h"
#include "cpu/loss_rows.h" /* cross-entropy's plan and rows */
#include "cpu/optim_step.h"    /* the optimizers' plan and steps */
#include "cpu/random_scalar.h" /* the random stream every backend draws */

/* ---- matmul ----------------------------------------------------------------
 * A product after NumPy's rules, as the entry point plans it: per batch entry
 * C (m x n, contiguous) = A (m x k) @ B (k x n), where A's element (i, p) is
 * at a->offset + batch offset + i * a_rs + p * a_cs (a 1-D operand has stride
 * 0 in its missing dim), and likewise B. Batch dims broadcast: a stride of 0
 * repeats an operand. out is a new contiguous tensor of out_shape, in a's
 * dtype (a and b share it). */
typedef struct {
  int64_t m, k, n;
  int batch_ndim;
  int64_t batch[TF_MAX_DIMS];
  int64_t a_batch_strides[TF_MAX_DIMS], b_batch_strides[TF_MAX_DIMS];
  int64_t a_rs, a_cs, b_rs, b_cs;
  int out_ndim;
  int64_t out_shape[TF_MAX_DIMS];
} tf_matmul_plan;

/* The plan of a @ b (ops/matmul.c); TF_ERR_SHAPE when the shapes do not
 * fit. */
tf_status tf_matmul_plan_of(const tf_tensor *a, const tf_tensor *b,
                            tf_matmul_plan *p);

typedef tf_status (*tf_matmul_kernel)(const tf_matmul_plan *p,
                                      const tf_tensor *a, const tf_tensor *b,
                                      tf_tensor *out);

/* ---- the other kernels -------------------------------------------------------
 * Elementwise kernels see every operand with dst's shape (broadcast dims have
 * stride 0). */
/* dst = src, converting the dtype (tf_to_dtype's rules). */
typedef tf_status (*tf_copy_kernel)(tf_tensor *dst, const tf_tensor *src);
/* Every element of dst = *elem, which is already in dst's dtype. */
typedef tf_status (*tf_fill_kernel)(tf_tensor *dst, const void *elem);
/* dst = op(x) with the op's parameters; x in the compute dtype. */
typedef tf_status (*tf_unary_kernel)(int op, const tf_tensor *x, tf_tensor *dst,
                                     const double *params);
/* dst = op(a, b); a, b in the compute dtype, dst in the kernel's output
 * dtype (bool for comparisons). Integer divisors are checked already. */
typedef tf_status (*tf_binary_kernel)(int op, const tf_tensor *a,
                                      const tf_tensor *b, tf_tensor *dst);
/* dst = cond ? a : b; a, b in dst's dtype. */
typedef tf_status (*tf_where_kernel)(const tf_tensor *cond, const tf_tensor *a,
                                     const tf_tensor *b, tf_tensor *dst);
/* values (and indices, when not NULL: max/min) = op over the dims in mask
 * (never 0) of x; param is the correction of var/std and p of norm. The
 * outputs are allocated with the reduced shape. */
typedef tf_status (*tf_reduce_kernel)(int op, const tf_tensor *x, uint32_t mask,
                                      double param, tf_tensor *values,
                                      tf_tensor *indices);
/* dst = softmax or log_softmax of x along dim (normalized). */
typedef tf_status (*tf_softmax_kernel)(const tf_tensor *x, int dim, bool log,
                                       tf_tensor *dst);
/* dst (1-D, n elements) = start + i * step (fstart/fstep for floats). */
typedef tf_status (*tf_arange_kernel)(tf_tensor *dst, double fstart,
                                      double fstep, int64_t istart,
                                      int64_t istep);
/* dst (1-D, steps elements) = PyTorch's linspace from start to end. */
typedef tf_status (*tf_linspace_kernel)(tf_tensor *dst, double start,
                                        double end);
/* dst (n x m, zeros) gets ones on its diagonal. */
typedef tf_status (*tf_eye_kernel)(tf_tensor *dst);
/* dst = random numbers of kind (TF_RANDOM_*) with params, the Philox stream
 * of seed from counter block `counter` on (the entry point reserves the
 * blocks: every backend draws the same numbers). */
typedef tf_status (*tf_random_kernel)(tf_tensor *dst, int kind,
                                      const double *params, uint64_t seed,
                                      uint64_t counter);
/* How many elements one Philox block gives (cpu/random_scalar.h). */
static inline int tf_random_per_block(int kind, tf_dtype dtype) {
  return tr_per_block(kind, dtype == TF_FLOAT32);
}
/* dst = t padded by reflecting or replicating its edges (pads checked). */
typedef tf_status (*tf_pad_kernel)(const tf_tensor *t, const int64_t *pads,
                                   int mode, tf_tensor *dst);
/* Zero the entries of dst (contiguous, >= 2-D) outside tril/triu's band. */
typedef tf_status (*tf_tril_kernel)(tf_tensor *dst, int64_t k, bool upper);
/* Indexing: each reads its index values once into private memory and checks
 * them there (another thread may be writing them), failing with
 * TF_ERR_INDEX before writing anything. dim is normalized. */
typedef tf_status (*tf_gather_kernel)(const tf_tensor *t, int dim,
                                      const tf_tensor *index, tf_tensor *dst);
/* dst (a copy of the input) += src at index along dim. */
typedef tf_status (*tf_scatter_add_kernel)(tf_tensor *dst, int dim,
                                           const tf_tensor *index,
                                           const tf_tensor *src);
typedef tf_status (*tf_index_select_kernel)(const tf_tensor *t, int dim,
                                            const tf_tensor *index,
                                            tf_tensor *dst);
/* Advanced indexing of t's k leading dims by k int64 tensors of one shape. */
typedef tf_status (*tf_index_get_kernel)(const tf_tensor *t, int k,
                                         tf_tensor *const *indices,
                                         tf_tensor *dst);
typedef tf_status (*tf_index_put_kernel)(tf_tensor *t, int k,
                                         tf_tensor *const *indices,
                                         const tf_tensor *values,
                                         bool accumulate);
/* *out = the (count, ndim) int64 coordinates of t's nonzero elements, made
 * on t's device (its size depends on the data). */
typedef tf_status (*tf_nonzero_kernel)(const tf_tensor *t, tf_tensor **out);
/* recurrent layers (rnn): contiguous operands, layouts in cpu/rnn.c; c_prev
 * and dc_prev may be NULL (a zero state). */
typedef tf_status (*tf_lstm_cell_kernel)(const tf_tensor *gates,
                                         const tf_tensor *c_prev, tf_tensor *hc,
                                         tf_tensor *act);
typedef tf_status (*tf_lstm_cell_backward_kernel)(const tf_tensor *dhc,
                                                  const tf_tensor *act,
                                                  const tf_tensor *c_prev,
                                                  tf_tensor *dgates,
                                                  tf_tensor *dc_prev);

/* ---- losses (ops/loss.c, cpu/loss.c) -----------------------------------------
 * The losses' plans (tf_ce_plan, tf_bce_plan) and per-row arithmetic:
 * cpu/loss_rows.h, shared with the CUDA kernels. */
_Static_assert(TF_LOSS_MAX_DIMS == TF_MAX_DIMS && (int)TF_LOSS_NONE == (int)TF_REDUCTION_NONE &&
                   (int)TF_LOSS_MEAN == (int)TF_REDUCTION_MEAN &&
                   (int)TF_LOSS_SUM == (int)TF_REDUCTION_SUM,
               "loss_rows.h's dims and reductions are the core's");
/* target's index values (int64, host memory, one per row at the plan's
 * t_rs) read once into *out (malloc'd, rows values; the caller frees),
 * each checked to be a class or ignore_index: else TF_ERR_INDEX naming op
 * (cpu/loss.c). The cpu's kernels and the CUDA backend's (on a host copy)
 * check with it. */
tf_status tf_ce_targets(const tf_ce_plan *p, const tf_tensor *target, const char *op,
                        int64_t **out);
typedef tf_status (*tf_cross_entropy_kernel)(const tf_ce_plan *p,
                                             const tf_tensor *x,
                                             const tf_tensor *target,
                                             const tf_tensor *weight,
                                             tf_tensor *out);
typedef tf_status (*tf_cross_entropy_backward_kernel)(
    const tf_ce_plan *p, const tf_tensor *grad, const tf_tensor *x,
    const tf_tensor *target, const tf_tensor *weight, tf_tensor *dx);
/* BCE with logits: tf_bce_plan, cpu/loss_rows.h. */
typedef tf_status (*tf_bce_with_logits_kernel)(const tf_bce_plan *p,
                                               const tf_tensor *x,
                                               const tf_tensor *target,
                                               const tf_tensor *weight,
                                               const tf_tensor *pos_weight,
                                               tf_tensor *out);
typedef tf_status (*tf_bce_with_logits_backward_kernel)(
    const tf_bce_plan *p, const tf_tensor *grad, const tf_tensor *x,
    const tf_tensor *target, const tf_tensor *weight,
    const tf_tensor *pos_weight, tf_tensor *dx);

/* ---- normalization (norm) ---------------------------------------------------
 * x (contiguous) viewed as (N, C, S), C = groups * (C / groups). A "unit" is
 * what one mean and variance describe: a channel c over (N, S) when
 * per_channel (batch_norm), else a row (n, group) of (C / groups) * S
 * consecutive elements (group_norm; layer_norm is N rows, C = the normalized
 * numel, S = 1, one group). weight and bias (NULL, or contiguous, C
 * elements, x's dtype) are per channel. mean and rstd are float64, one per
 * unit. */
typedef struct {
  int64_t n, c, s, groups;
  bool per_channel;
} tf_norm_geom;
/* out = (x - mean) * rstd * weight + bias. With batch_stats, mean and rstd
 * = 1 / sqrt(var + eps) are computed from x (biased variance) and, when
 * running_mean / running_var are given (x's dtype, one per unit, possibly
 * strided), these are updated in place: r = (1 - momentum) r + momentum *
 * the batch's mean (unbiased variance); not when a unit has no elements.
 * Without batch_stats, mean and rstd come from running_mean / running_var. */
typedef tf_status (*tf_norm_kernel)(const tf_norm_geom *g, const tf_tensor *x,
                                    const tf_tensor *weight,
                                    const tf_tensor *bias, double eps,
                                    bool batch_stats, double momentum,
                                    tf_tensor *running_mean,
                                    tf_tensor *running_var, tf_tensor *mean,
                                    tf_tensor *rstd, tf_tensor *out);
/* The gradients of that forward from dout (contiguous, x's shape): dx (when
 * not NULL) with the statistics' own dependence on x when batch_stats,
 * dweight / dbias (NULL or C elements). */
typedef tf_status (*tf_norm_backward_kernel)(
    const tf_norm_geom *g, const tf_tensor *dout, const tf_tensor *x,
    const tf_tensor *weight, const tf_tensor *mean, const tf_tensor *rstd,
    bool batch_stats, tf_tensor *dx, tf_tensor *dweight, tf_tensor *dbias);
/* ---- pooling (pool) --------------------------------------------------------
 * max and average pooling over the last two dims of a contiguous input read
 * as `planes` planes of in_h x in_w (a 1-D pool is a 2-D one with in_h 1).
 * The entry point (ops/pool.c) plans the windows: output row oh reads the
 * h_count[oh] input rows h_start[oh] + a * h_step (a < h_count[oh]), all
 * inside the input (padding is never read), and likewise output column ow;
 * a window with no row or column inside gives 0 (average) and never
 * happens for max (the entry point refuses it). Average divides by
 * `divisor` when has_divisor, else by h_div[oh] * w_div[ow]. kind is
 * TF_POOL_MAX or TF_POOL_AVG (tinyfin.h). */
typedef struct {
  const char *op; /* "max_pool2d", ...: for messages */
  int kind;
  int64_t planes, in_h, in_w, out_h, out_w;
  const int64_t *h_start, *h_count, *w_start, *w_count;
  int64_t h_step, w_step;
  const int64_t *h_div, *w_div;
  bool has_divisor;
  int64_t divisor;
} tf_pool_plan;
/* out (planes, out_h, out_w) = the pool of x; for max, indices (same
 * shape, int64) = the flat index ih * in_w + iw of the value taken: the
 * first maximum in row-major window order, or the last NaN (PyTorch's
 * rule). All operands contiguous. */
typedef tf_status (*tf_pool_kernel)(const tf_pool_plan *p, const tf_tensor *x,
                                    tf_tensor *out, tf_tensor *indices);
/* grad_input (planes, in_h, in_w) = the adjoint of the pool applied to grad
 * (planes, out_h, out_w): max adds grad at its indices (checked to lie in
 * the plane), average spreads grad / divisor over each window. */
typedef tf_status (*tf_pool_backward_kernel)(const tf_pool_plan *p,
                                             const tf_tensor *grad,
                                             const tf_tensor *indices,
                                             tf_tensor *grad_input);
/* The error of a max-pool index outside its plane (the first bad one of
 * the lowest plane that has one): TF_ERR_INDEX, from cpu/pool.c, for every
 * backend's pool_backward. */
tf_status tf_pool_bad_index(const tf_pool_plan *p, int64_t plane, int64_t value);
/* ---- convolution (conv) ----
 * One 2-D convolution pass (ops/conv.c plans it, cpu/conv.c computes it):
 * input x (n, c_in, h, w), weight (c_out, c_in / groups, kh, kw), output
 * (n, c_out, ho, wo); output (p, q) reads input row p * sh - ph + i * dh and
 * column q * sw - pw + j * dw for kernel tap (i, j), zero outside the input
 * (so ho and wo fix the padding after the input too). */
typedef struct {
  int64_t n, c_in, h, w;
  int64_t c_out, kh, kw;
  int64_t ho, wo;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t groups;
} tf_conv_geom;
enum { TF_CONV_FORWARD, TF_CONV_INPUT_GRAD, TF_CONV_WEIGHT_GRAD };
/* which = TF_CONV_FORWARD: out = y of (a = x, b = weight) plus bias (NULL:
 * none); TF_CONV_INPUT_GRAD: out = the gradient of x from (a = gy,
 * b = weight) (the transposed convolution); TF_CONV_WEIGHT_GRAD: out = the
 * gradient of the weight from (a = x, b = gy). Operands contiguous, one
 * float dtype; out contiguous. */
typedef tf_status (*tf_conv_kernel)(int which, const tf_conv_geom *g,
                                    const tf_tensor *a, const tf_tensor *b,
                                    const tf_tensor *bias, tf_tensor *out);
/* A pass is a batch of matrix products (the matmul slot of a's device)
 * over unfolded images (cpu/conv.c's header says how); what it does
 * besides them is a backend's, on its own memory: scratch (alloc: NULL
 * when out of memory; zero), im2col / col2im (row (c, i, j) of image n at
 * cols + (c taps + i kw + j) rs + n is), permute (gy (nb, O, L) to (O, nb,
 * L)), bias (y (nb, O, L) += bias per channel), accumulate (acc (double)
 * += prod) and finish (out = acc, rounded to dt). tf_conv_passes runs the
 * passes with one backend's steps: the cpu's (tf_cpu_conv) or the CUDA
 * backend's. */
typedef struct {
  void *(*alloc)(size_t nbytes);
  void (*release)(void *ptr, size_t nbytes);
  tf_status (*zero)(void *dst, size_t nbytes);
  tf_status (*im2col)(const tf_conv_geom *g, tf_dtype dt, const char *x, char *cols,
                      int64_t nb, int64_t rs, int64_t is);
  tf_status (*col2im)(const tf_conv_geom *g, tf_dtype dt, const char *cols, char *gx,
                      int64_t nb, int64_t rs, int64_t is);
  tf_status (*permute)(const tf_conv_geom *g, tf_dtype dt, const char *src, char *dst,
                       int64_t nb);
  tf_status (*bias)(const tf_conv_geom *g, tf_dtype dt, char *y, const char *bias, int64_t nb);
  tf_status (*accumulate)(tf_dtype dt, double *acc, const char *prod, int64_t n);
  tf_status (*finish)(tf_dtype dt, char *out, const double *acc, int64_t n);
} tf_conv_steps;
tf_status tf_conv_passes(int which, const tf_conv_geom *g, const tf_tensor *a,
                         const tf_tensor *b, const tf_tensor *bias, tf_tensor *out,
                         const tf_conv_steps *steps);

/* ---- optimizers (optim) ------------------------------------------------------
 * tf_optim_plan and the steps' arithmetic: cpu/optim_step.h, shared with
 * the CUDA kernels. */
typedef tf_status (*tf_optim_kernel)(const tf_optim_plan *p, tf_tensor *param,
                                     const tf_tensor *grad,
                                     tf_tensor *const *buf);

typedef struct {
  tf_copy_kernel copy;
  tf_fill_kernel fill;
  const tf_unary_kernel *unary;    /* [TF_UNARY_COUNT] */
  const tf_binary_kernel *binary;  /* [TF_BINARY_COUNT] */
  tf_where_kernel where;
  const tf_reduce_kernel *reduce;  /* [TF_REDUCE_COUNT] */
  tf_softmax_kernel softmax;
  tf_matmul_kernel matmul[TF_NUM_DTYPES];
  tf_arange_kernel arange;
  tf_linspace_kernel linspace;
  tf_eye_kernel eye;
  tf_random_kernel random;
  tf_pad_kernel pad;
  tf_tril_kernel tril;
  tf_gather_kernel gather;
  tf_scatter_add_kernel scatter_add;
  tf_index_select_kernel index_select;
  tf_index_get_kernel index_get;
  tf_index_put_kernel index_put;
  tf_nonzero_kernel nonzero;
  /* recurrent layers (rnn): the LSTM cell's pointwise part (cpu/rnn.c) */
  tf_lstm_cell_kernel lstm_cell;
  tf_lstm_cell_backward_kernel lstm_cell_backward;
  /* ---- losses (loss.c) ---- */
  tf_cross_entropy_kernel cross_entropy;
  tf_cross_entropy_backward_kernel cross_entropy_backward;
  tf_bce_with_logits_kernel bce_with_logits;
  tf_bce_with_logits_backward_kernel bce_with_logits_backward;
  /* normalization (norm.c) */
  tf_norm_kernel normalize;
  tf_norm_backward_kernel normalize_backward;
  /* ---- pooling (pool) ---- */
  tf_pool_kernel pool;
  tf_pool_backward_kernel pool_backward;
  /* ---- convolution (conv) ---- */
  tf_conv_kernel conv;
  /* ---- optimizers (optim) ---- */
  tf_optim_kernel optim;
} tf_kernels;

/* Every slot of tf_kernels but the per-op arrays and matmul's per-dtype
 * one, by name: what backends.which() looks up and what a device backend
 * fills or lists as CPU-only (cuda/backend.c). The assert below fails the
 * build when a slot is added to tf_kernels and not here. */
#define TF_NAMED_SLOTS(X)                                                   \
  X(copy) X(fill) X(where) X(softmax) X(arange) X(linspace) X(eye)          \
  X(random) X(pad) X(tril) X(gather) X(scatter_add) X(index_select)         \
  X(index_get) X(index_put) X(nonzero) X(lstm_cell) X(lstm_cell_backward)   \
  X(cross_entropy) X(cross_entropy_backward) X(bce_with_logits)             \
  X(bce_with_logits_backward) X(normalize) X(normalize_backward) X(pool)    \
  X(pool_backward) X(conv) X(optim)
#define TF_COUNT_SLOT_(name) +1
/* the three per-op arrays, matmul's per-dtype slots, the named slots */
_Static_assert(sizeof(tf_kernels) ==
                   sizeof(void *) *
                       (3 + TF_NUM_DTYPES + (0 TF_NAMED_SLOTS(TF_COUNT_SLOT_))),
               "every named slot of tf_kernels is in TF_NAMED_SLOTS");

typedef struct tf_backend {
  const char *name;      /* "cpu", "blas" */
  tf_device device;
  bool host_memory;      /* unfilled slots fall back to the cpu kernels */
  const tf_allocator *allocator; /* where results on its device live */
  const tf_kernels *kernels;
  /* NULL when always available; else whether it can run, and why not */
  bool (*available)(const char **why);
  /* A device backend's reason why a named slot it leaves NULL runs on the
   * cpu only (NULL for a slot it fills); NULL for host backends. */
  const char *(*cpu_only)(const char *slot);
} tf_backend;

/* The error of an op whose kernel backend b lacks: the op, the backend
 * and, where b gives one, why (slot: TF_KERNEL's expression, k->name). */
tf_status tf_no_kernel(const tf_backend *b, const char *op, const char *slot);

/* index's values (int64, host memory, any strides) read once in row-major
 * order into *vals (malloc'd, the caller frees), each checked to lie in
 * [0, size) (with wrap: [-size, size), wrapped) and multiplied by scale;
 * else TF_ERR_INDEX naming op and dim (cpu/index.c). The cpu's index
 * kernels and the CUDA backend's (on a host copy) check with it. */
tf_status tf_index_snapshot(const char *op, const tf_tensor *index, int dim,
                            int64_t size, bool wrap, int64_t scale,
                            int64_t **vals);
/* Advanced indexing's element offset into t per position of the k int64
 * index tensors (host memory, one shape): sum_j index_j * t's stride_j,
 * negative values wrapped, each checked as above; *offs malloc'd. */
tf_status tf_index_offsets(const char *op, const tf_tensor *t, int k,
                           tf_tensor *const *indices, int64_t **offs);

extern const tf_kernels tf_cpu_kernels;
extern const tf_backend tf_cpu_backend, tf_blas_backend, tf_cuda_backend;

/* The backend that runs this thread's calls on tensors of device dev: the
 * one tf_backend_use selected on this thread, else the process default. */
const tf_backend *tf_backend_for(tf_device dev);

/* var = the kernel EXPR (written in terms of `k`, a const tf_kernels *) of
 * the backend chosen for device dev, or the cpu's where a host-memory
 * backend leaves it NULL; returns an error naming op when none exists. */
#define TF_KERNEL(var, dev, op, EXPR)                                       \
  do {                                                                      \
    const tf_backend *tf_be_ = tf_backend_for(dev);                         \
    const tf_kernels *k = tf_be_->kernels;                                  \
    var = (EXPR);                                                           \
    if (!var && tf_be_->host_memory) {                                      \
      k = &tf_cpu_kernels;                                                  \
      var = (EXPR);                                                         \
    }                                                                       \
    if (!var) return tf_no_kernel(tf_be_, (op), #EXPR);                     \
  } while (0)

/* ---- the BLAS backend (blas/) ------------------------------------------------ */
/* tf_blas_load and tf_blas_status are public (tinyfin.h). */
bool tf_blas_loaded(void);
/* The matmul slot of the BLAS backend for float32 and float64: batched and
 * broadcast products, transposed and strided operands passed to BLAS with
 * their leading dimension or a transpose flag where the layout allows (one
 * of the two strides 1 and the other at least the extent), else copied to a
 * contiguous scratch; m == 1 or n == 1 through gemv, both through dot. */
tf_status tf_blas_matmul(const tf_matmul_plan *p, const tf_tensor *a,
                         const tf_tensor *b, tf_tensor *out);

#endif /* TF_BACKEND_H */
