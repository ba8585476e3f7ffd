/* tinyfin.h: the one public header of the tinyfin C core.
 *
 * Conventions that hold for every function declared here:
 *  - Every entry point returns a tf_status (but the returning forms near
 *    the end, which return their result and keep the status aside). TF_OK (0) means success; anything
 *    else means nothing was written to the out-pointers and a message naming
 *    the op and the offending shapes/dtypes is available from tf_last_error()
 *    on the same thread. No function aborts, exits or prints on user input.
 *  - Every function that writes a `tf_tensor **out` hands the caller exactly
 *    one reference; the caller gives it back with tf_tensor_release().
 *  - Input tensors are borrowed: a function never releases what it was given.
 *  - Strides and offsets are in elements, not bytes. Views share one
 *    refcounted tf_storage; refcounts are atomic.
 *  - Dimensions in a `dim_mask` are bits: bit d set means dimension d.
 */
#ifndef TINYFIN_H
#define TINYFIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TF_MAX_DIMS 8

typedef enum {
  TF_FLOAT32 = 0,
  TF_FLOAT64 = 1,
  TF_INT64 = 2,
  TF_BOOL = 3,
  TF_NUM_DTYPES
} tf_dtype;

typedef enum { TF_CPU = 0, TF_CUDA = 1 } tf_device;

/* Status codes; the Python layer maps each one to an exception class. */
typedef enum {
  TF_OK = 0,
  TF_ERR_VALUE = 1,    /* ValueError: a bad argument value             */
  TF_ERR_SHAPE = 2,    /* ValueError: shapes that do not fit together   */
  TF_ERR_DTYPE = 3,    /* TypeError: a dtype the op does not accept     */
  TF_ERR_INDEX = 4,    /* IndexError: an index or dim out of range      */
  TF_ERR_MEMORY = 5,   /* MemoryError: an allocation failed             */
  TF_ERR_DEVICE = 6,   /* RuntimeError: an op on an unsupported device  */
  TF_ERR_INTERNAL = 7  /* RuntimeError: a bug in tinyfin itself         */
} tf_status;

typedef struct tf_storage tf_storage;
typedef struct tf_tensor tf_tensor;

/* ---- errors (error.c) ---------------------------------------------------- */
/* The message of the last failure on this thread ("" if none). */
const char *tf_last_error(void);

/* ---- tensors and storage (tensor.c) -------------------------------------- */
size_t tf_dtype_size(tf_dtype dtype);
/* Number of tf_tensor objects alive in the process (for leak tests). */
int64_t tf_live_tensors(void);

/* Creation functions take the device (a tf_device) the tensor lives on. */
tf_status tf_tensor_empty(int ndim, const int64_t *shape, tf_dtype dtype,
                          int device, tf_tensor **out);
/* Copies nbytes of C-contiguous host data of the given shape and dtype. */
tf_status tf_tensor_from_buffer(int ndim, const int64_t *shape, tf_dtype dtype,
                                const void *data, size_t nbytes, int device,
                                tf_tensor **out);
void tf_tensor_retain(tf_tensor *t);
void tf_tensor_release(tf_tensor *t); /* NULL is accepted */

int tf_tensor_ndim(const tf_tensor *t);
tf_dtype tf_tensor_dtype(const tf_tensor *t);
tf_device tf_tensor_device(const tf_tensor *t);
int64_t tf_tensor_numel(const tf_tensor *t);
int64_t tf_tensor_offset(const tf_tensor *t);
/* Write ndim values into shape / strides. */
void tf_tensor_shape(const tf_tensor *t, int64_t *shape);
void tf_tensor_strides(const tf_tensor *t, int64_t *strides);
bool tf_tensor_is_contiguous(const tf_tensor *t);
/* Address of element [0, ..., 0] (storage data + offset). */
void *tf_tensor_data(const tf_tensor *t);
/* True when t's data is host memory (a NumPy view of it is possible). */
bool tf_tensor_on_host(const tf_tensor *t);
/* Base address and size of the storage, for zero-copy NumPy views. */
void *tf_tensor_storage_data(const tf_tensor *t);
size_t tf_tensor_storage_nbytes(const tf_tensor *t);
/* How many in-place writes t's storage has seen (shared by all its views);
 * autograd compares it to detect a saved tensor modified in place. */
int64_t tf_tensor_version(const tf_tensor *t);
/* True if the two tensors have the same shape. */
bool tf_tensor_same_shape(const tf_tensor *a, const tf_tensor *b);
/* True if the two tensors share one storage. */
bool tf_tensor_same_storage(const tf_tensor *a, const tf_tensor *b);
/* Whether t is the only header on its storage, holds one reference, and
 * covers the whole storage contiguously from offset 0: then whoever owns
 * that reference owns the memory, and may keep it instead of copying it
 * (autograd adopts such a gradient as a leaf's .grad). */
bool tf_tensor_sole_owner(const tf_tensor *t);
/* Read element 0 of a one-element tensor as double and as int64. */
tf_status tf_tensor_item(const tf_tensor *t, double *fvalue, int64_t *ivalue);

/* ---- views: share storage, never copy (view.c) --------------------------- */
/* reshape as a view; fails with TF_ERR_SHAPE if the strides do not allow it.
 * One entry of shape may be -1 (inferred). */
tf_status tf_view(const tf_tensor *t, int ndim, const int64_t *shape,
                  tf_tensor **out);
/* reshape: a view when the strides allow it, otherwise a contiguous copy. */
tf_status tf_reshape(const tf_tensor *t, int ndim, const int64_t *shape,
                     tf_tensor **out);
tf_status tf_permute(const tf_tensor *t, const int *dims, tf_tensor **out);
tf_status tf_transpose(const tf_tensor *t, int dim0, int dim1,
                       tf_tensor **out);
/* t[..., start:stop:step, ...] along dim; start/stop already clamped by the
 * caller to [0, size] (Python slice.indices semantics); step > 0. */
tf_status tf_slice(const tf_tensor *t, int dim, int64_t start, int64_t stop,
                   int64_t step, tf_tensor **out);
/* t[..., index, ...]: removes dim. Negative index counts from the end. */
tf_status tf_select(const tf_tensor *t, int dim, int64_t index,
                    tf_tensor **out);
/* Broadcast to shape (ndim >= t's ndim); -1 keeps a size. */
tf_status tf_expand(const tf_tensor *t, int ndim, const int64_t *shape,
                    tf_tensor **out);
/* Remove the size-1 dims in dim_mask (dims of other sizes are kept). */
tf_status tf_squeeze(const tf_tensor *t, uint32_t dim_mask, tf_tensor **out);
tf_status tf_unsqueeze(const tf_tensor *t, int dim, tf_tensor **out);
/* A view with explicit geometry; checked to stay inside the storage. */
tf_status tf_as_strided(const tf_tensor *t, int ndim, const int64_t *shape,
                        const int64_t *strides, int64_t offset,
                        tf_tensor **out);

/* ---- copies and conversion (copy.c) -------------------------------------- */
/* A contiguous copy (always a new storage). */
tf_status tf_clone(const tf_tensor *t, tf_tensor **out);
/* t itself (retained) if contiguous, else a contiguous copy. */
tf_status tf_contiguous(const tf_tensor *t, tf_tensor **out);
tf_status tf_to_dtype(const tf_tensor *t, tf_dtype dtype, tf_tensor **out);
/* A copy of t on device (a tf_device) in dtype: the only op that crosses
 * devices (through host memory). */
tf_status tf_to_device(const tf_tensor *t, int device, tf_dtype dtype,
                       tf_tensor **out);
/* tf_to_device; with non_blocking, a copy to the GPU from pinned memory
 * (tf_pin_memory) is queued and returns before it is done (the device's
 * later work waits for it; the source must not be written until
 * tf_cuda_synchronize). Anything else waits for its copy as before. */
tf_status tf_to_device_nb(const tf_tensor *t, int device, tf_dtype dtype, bool non_blocking,
                          tf_tensor **out);
/* dst[...] = src broadcast to dst's shape, converting dtype. A source that
 * overlaps dst other than element for element is read from a copy. */
tf_status tf_copy_(tf_tensor *dst, const tf_tensor *src);

/* The kind of a scalar passed as (fvalue, ivalue, kind): TF_SCALAR_FLOAT
 * reads fvalue, the others ivalue (exact for every int64). For PyTorch's
 * promotion rules a scalar never raises a tensor's dtype within its
 * category. Written into a tensor, a scalar converts as tf_to_dtype
 * converts: float to int64 truncates and saturates (NaN gives 0), anything
 * to bool is "!= 0". */
typedef enum { TF_SCALAR_BOOL = 0, TF_SCALAR_INT = 1, TF_SCALAR_FLOAT = 2 } tf_scalar_kind;
/* dst[...] = the scalar, converted to dst's dtype. */
tf_status tf_fill_(tf_tensor *dst, double fvalue, int64_t ivalue, int kind);

/* ---- creation (creation.c) ----------------------------------------------- */
tf_status tf_full(int ndim, const int64_t *shape, tf_dtype dtype,
                  double fvalue, int64_t ivalue, int kind, int device,
                  tf_tensor **out);
/* n values start + i*step (float dtypes use fstart/fstep, int64 istart/istep). */
tf_status tf_arange(double fstart, double fstep, int64_t istart,
                    int64_t istep, int64_t n, tf_dtype dtype, int device,
                    tf_tensor **out);
tf_status tf_linspace(double start, double end, int64_t steps, tf_dtype dtype,
                      int device, tf_tensor **out);
tf_status tf_eye(int64_t n, int64_t m, tf_dtype dtype, int device,
                 tf_tensor **out);

/* ---- random numbers: counter-based Philox4x32-10 (random.c) -------------- */
/* A generator is a seed and the next free Philox counter. Every draw
 * reserves its counters under the generator's lock, so the numbers depend
 * only on the seed and the order of the draws on that generator. A NULL
 * generator is the default one (tf_manual_seed's). */
typedef struct tf_generator tf_generator;
tf_generator *tf_generator_new(uint64_t seed); /* NULL when out of memory */
void tf_generator_free(tf_generator *gen);
void tf_generator_manual_seed(tf_generator *gen, uint64_t seed); /* counter 0 */
uint64_t tf_generator_initial_seed(tf_generator *gen);
/* The whole state (seed, next counter), read or written at once. */
void tf_generator_get_state(tf_generator *gen, uint64_t *seed, uint64_t *counter);
void tf_generator_set_state(tf_generator *gen, uint64_t seed, uint64_t counter);
void tf_manual_seed(uint64_t seed);
uint64_t tf_initial_seed(void);
/* Uniform [low, high) floats. */
tf_status tf_rand(int ndim, const int64_t *shape, tf_dtype dtype, double low,
                  double high, int device, tf_generator *gen, tf_tensor **out);
/* Normal(mean, std) floats. */
tf_status tf_randn(int ndim, const int64_t *shape, tf_dtype dtype, double mean,
                   double std, int device, tf_generator *gen, tf_tensor **out);
/* Integers uniform in [low, high). */
tf_status tf_randint(int ndim, const int64_t *shape, tf_dtype dtype,
                     int64_t low, int64_t high, int device, tf_generator *gen,
                     tf_tensor **out);

/* ---- elementwise (unary.c, binary.c; op lists in ops.def) ---------------- */
typedef enum {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) TF_UNARY_##ENUM,
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
  TF_UNARY_COUNT
} tf_unary_op;

typedef enum {
#define TF_BINARY_OP(ENUM, name, kind) TF_BINARY_##ENUM,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
  TF_BINARY_COUNT
} tf_binary_op;

typedef enum {
#define TF_REDUCE_OP(ENUM, name) TF_REDUCE_##ENUM,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
  TF_REDUCE_COUNT
} tf_reduce_op;

/* Name of an op as Python knows it ("exp"), NULL if out of range. */
const char *tf_unary_name(int op);
const char *tf_binary_name(int op);
const char *tf_reduce_name(int op);

/* p0..p2 are the op's parameters (see ops.def), ignored by most ops. */
tf_status tf_unary(int op, const tf_tensor *x, double p0, double p1,
                   double p2, tf_tensor **out);
/* Writes into dst, which must have x's shape (dst may be x: in place). */
tf_status tf_unary_into(int op, const tf_tensor *x, double p0, double p1,
                        double p2, tf_tensor *dst);

tf_status tf_binary(int op, const tf_tensor *a, const tf_tensor *b,
                    tf_tensor **out);
/* Writes into dst, which must have the broadcast shape of a and b and hold
 * the result dtype (dst may alias a or b exactly: in place). */
tf_status tf_binary_into(int op, const tf_tensor *a, const tf_tensor *b,
                         tf_tensor *dst);

/* op(t, s), or op(s, t) when reverse is true. */
tf_status tf_binary_scalar(int op, const tf_tensor *t, double fvalue,
                           int64_t ivalue, int kind, bool reverse,
                           tf_tensor **out);
tf_status tf_binary_scalar_into(int op, const tf_tensor *t, double fvalue,
                                int64_t ivalue, int kind, tf_tensor *dst);
/* The dtype op(a, b) produces, or an error if op does not accept them. */
tf_status tf_result_dtype(int op, const tf_tensor *a, const tf_tensor *b,
                          tf_dtype *out);
/* where(cond, a, b) with three-way broadcasting; cond is bool. */
tf_status tf_where(const tf_tensor *cond, const tf_tensor *a,
                   const tf_tensor *b, tf_tensor **out);

/* ---- reductions (reduce.c) ----------------------------------------------- */
/* Reduce over the dims in dim_mask (0 = all dims). param is the correction
 * of var/std and p of norm. For max/min, indices (if not NULL) receives the
 * int64 position along the single reduced dim. */
tf_status tf_reduce(int op, const tf_tensor *x, uint32_t dim_mask,
                    bool keepdim, double param, tf_tensor **values,
                    tf_tensor **indices);
/* softmax (log = false) or log_softmax (log = true) along dim. */
tf_status tf_softmax(const tf_tensor *x, int dim, bool log, tf_tensor **out);

/* ---- linear algebra (matmul.c) ------------------------------------------- */
/* NumPy matmul rules: 1-D operands promoted and squeezed, batch dims
 * broadcast. */
tf_status tf_matmul(const tf_tensor *a, const tf_tensor *b, tf_tensor **out);

/* ---- shape ops that copy (shape.c) --------------------------------------- */
tf_status tf_cat(int n, tf_tensor *const *tensors, int dim, tf_tensor **out);
tf_status tf_flip(const tf_tensor *t, uint32_t dim_mask, tf_tensor **out);
typedef enum { TF_PAD_CONSTANT = 0, TF_PAD_REFLECT = 1, TF_PAD_REPLICATE = 2 } tf_pad_mode;
/* pads[2*d], pads[2*d+1]: before/after amounts for dim d (ndim entries);
 * constant mode fills with the scalar (fvalue, ivalue, kind). */
tf_status tf_pad(const tf_tensor *t, const int64_t *pads, int mode,
                 double fvalue, int64_t ivalue, int kind, tf_tensor **out);
/* Keep elements with col - row <= k (tril) or >= k (triu) of the last two dims. */
tf_status tf_tril(const tf_tensor *t, int64_t k, bool upper, tf_tensor **out);

/* ---- indexing (index.c) -------------------------------------------------- */
tf_status tf_gather(const tf_tensor *t, int dim, const tf_tensor *index,
                    tf_tensor **out);
/* out = t.clone(); out.scatter_add_(dim, index, src) */
tf_status tf_scatter_add(const tf_tensor *t, int dim, const tf_tensor *index,
                         const tf_tensor *src, tf_tensor **out);
tf_status tf_index_select(const tf_tensor *t, int dim, const tf_tensor *index,
                          tf_tensor **out);
/* Advanced indexing on the k leading dims of t: the k int64 index tensors
 * (already broadcast to one shape I) pick out[i..., rest...] =
 * t[idx0[i], ..., idx{k-1}[i], rest...]. Negative indices count from the end. */
tf_status tf_index_get(const tf_tensor *t, int k, tf_tensor *const *indices,
                       tf_tensor **out);
/* t[idx0[i], ..., rest...] = values[i..., rest...] (values broadcast to
 * I + rest), or += when accumulate (repeated indices add up). */
tf_status tf_index_put_(tf_tensor *t, int k, tf_tensor *const *indices,
                        const tf_tensor *values, bool accumulate);
/* Coordinates of the true/nonzero elements: an int64 (count, ndim) tensor. */
tf_status tf_nonzero(const tf_tensor *t, tf_tensor **out);

/* ---- pooling (pool.c) ----------------------------------------------------
 * PyTorch's max_pool1d/2d and avg_pool1d/2d (kind TF_POOL_MAX / TF_POOL_AVG,
 * dims 1 or 2 spatial dims) over an input (N, C, spatial...) or (C,
 * spatial...), float32 or float64. kernel_size, stride, padding, dilation:
 * one entry per spatial dim (dilation is ignored by average pooling);
 * divisor is used when has_divisor (average only). Max pooling also writes
 * *indices (when not NULL): int64 flat indices into each input plane (ih *
 * W + iw), the first maximum of the window, a NaN taking precedence. */
typedef enum { TF_POOL_MAX = 0, TF_POOL_AVG = 1 } tf_pool_kind;
tf_status tf_pool(int kind, int dims, const tf_tensor *x,
                  const int64_t *kernel_size, const int64_t *stride,
                  const int64_t *padding, const int64_t *dilation,
                  bool ceil_mode, bool count_include_pad, bool has_divisor,
                  int64_t divisor, tf_tensor **out, tf_tensor **indices);
/* The gradient with respect to the input (of ndim dims, input_shape) of
 * tf_pool with the same arguments, given grad of the output's shape (and,
 * for max, the forward's indices): linear in grad. */
tf_status tf_pool_backward(int kind, int dims, const tf_tensor *grad,
                           const tf_tensor *indices, int ndim,
                           const int64_t *input_shape,
                           const int64_t *kernel_size, const int64_t *stride,
                           const int64_t *padding, const int64_t *dilation,
                           bool ceil_mode, bool count_include_pad,
                           bool has_divisor, int64_t divisor,
                           tf_tensor **grad_input);
/* Adaptive pooling to output_size (dims entries, each >= 0): output o of a
 * dim of input size n reads [floor(o n / out), ceil((o + 1) n / out)). */
tf_status tf_adaptive_pool(int kind, int dims, const tf_tensor *x,
                           const int64_t *output_size, tf_tensor **out,
                           tf_tensor **indices);
tf_status tf_adaptive_pool_backward(int kind, int dims, const tf_tensor *grad,
                                    const tf_tensor *indices, int ndim,
                                    const int64_t *input_shape,
                                    tf_tensor **grad_input);

/* ---- backends (core/backend.c, blas/) --------------------------------------
 * Every op runs the kernel of one backend, chosen per call from its operands'
 * device: this thread's choice (tf_backend_use) or the process default. */
int tf_backend_count(void);
/* Name of backend i ("cpu", "blas", "cuda"), NULL if out of range. */
const char *tf_backend_name(int i);
/* Whether backend i can run in this process; *why says why not. */
bool tf_backend_available(int i, const char **why);
/* This thread's backend for device (a tf_device); NULL or "" returns it to
 * the default. */
tf_status tf_backend_use(const char *name, int device);
/* The process-wide default for the named backend's device. */
tf_status tf_backend_set_default(const char *name);
/* The backend running this thread's calls on device, NULL if none. */
const char *tf_backend_current(int device);
/* This thread's own choice for device (tf_backend_use), NULL when it has
 * none and follows the default: what a scoped choice saves and restores. */
const char *tf_backend_chosen(int device);
/* The backend whose kernel op ("matmul", "exp", "add", "sum", "softmax",
 * "gather", "copy", ...) runs for dtype on device now, fallbacks included;
 * *backend is NULL when none runs it. */
tf_status tf_backend_which(const char *op, int dtype, int device,
                           const char **backend);
/* Name of the i-th named kernel slot ("copy", "gather", "conv", ...: every
 * slot but the per-op ones and matmul), NULL if out of range. */
const char *tf_backend_slot_name(int i);
/* Why backend i runs the named kernel slot ("gather", "conv", ...) on the
 * cpu only, or NULL when it runs it (or works on host memory, where a
 * missing slot falls back to the cpu kernels). */
const char *tf_backend_cpu_only(int i, const char *slot);
/* Load OpenBLAS (the scipy-openblas32 build, symbols prefixed scipy_) from
 * path with dlopen. On failure nothing is loaded and the reason is both the
 * thread's last error and tf_blas_status(). Loading twice is harmless. */
tf_status tf_blas_load(const char *path);
/* "loaded: <OpenBLAS config>", or "not loaded" with the dlopen or dlsym
 * error; the text belongs to the calling thread until its next call. */
const char *tf_blas_status(void);

/* ---- CUDA (cuda/backend.c) -------------------------------------------------
 * Whether CUDA runs here is tf_backend_available of the "cuda" backend
 * (with the reason when not); libtinyfin_cuda.so is loaded at the first
 * question. Device memory comes from a caching allocator: freed blocks are
 * kept for reuse until tf_cuda_empty_cache. */
/* Devices the CUDA runtime sees (0 when CUDA is not available). */
int tf_cuda_device_count(void);
/* Waits for every kernel and copy; an earlier asynchronous failure is
 * reported here (TF_ERR_DEVICE). */
tf_status tf_cuda_synchronize(void);
/* Bytes in live device storages, their peak since the start or the last
 * reset, and bytes held from the device (live plus kept for reuse). */
void tf_cuda_memory_stats(int64_t *allocated, int64_t *max_allocated, int64_t *reserved);
void tf_cuda_reset_peak_memory_stats(void);
/* Returns the kept blocks to the device. */
void tf_cuda_empty_cache(void);
/* A copy of the cpu tensor t in page-locked ("pinned") host memory, or t
 * itself (retained) when it is pinned already: what non-blocking copies
 * to the GPU read from. Needs CUDA (TF_ERR_DEVICE with why otherwise).
 * Ops on a pinned tensor give ordinary host tensors. */
tf_status tf_pin_memory(const tf_tensor *t, tf_tensor **out);
bool tf_tensor_is_pinned(const tf_tensor *t);
/* cuBLAS for float matrix products: the library at path is loaded at the
 * first float product on the device or the first tf_cuda_cublas_status
 * (a path set later has no effect). Status: "loaded: <path>" or "not
 * loaded: <why>". Disabled, products run on tinyfin's tiled kernel. */
void tf_cuda_set_cublas_path(const char *path);
const char *tf_cuda_cublas_status(void);
void tf_cuda_set_cublas_enabled(bool enabled);
bool tf_cuda_cublas_enabled(void);

/* ---- normalization (norm.c) ---------------------------------------------- */
/* The fused normalizations of nn.functional. weight and bias may be NULL
 * (no affine); mean and rstd = 1 / sqrt(var + eps) come back as float64,
 * one per normalized unit, for the backward entry points. */
/* x (N, C, *): per channel over (N, *). training: the batch's statistics
 * (biased variance), and running_mean / running_var (NULL, or C elements of
 * x's dtype) updated in place with momentum (the unbiased variance); else
 * the running statistics normalize. mean, rstd: (C,). */
tf_status tf_batch_norm(const tf_tensor *x, const tf_tensor *weight,
                        const tf_tensor *bias, tf_tensor *running_mean,
                        tf_tensor *running_var, bool training,
                        double momentum, double eps, tf_tensor **out,
                        tf_tensor **mean, tf_tensor **rstd);
/* x (N, C, *), C divisible by num_groups: per (n, group). mean, rstd:
 * (N, num_groups). */
tf_status tf_group_norm(const tf_tensor *x, int64_t num_groups,
                        const tf_tensor *weight, const tf_tensor *bias,
                        double eps, tf_tensor **out, tf_tensor **mean,
                        tf_tensor **rstd);
/* Over the last normalized_ndim dims of x; weight and bias have their
 * shape. mean, rstd: x's leading dims flattened, (M,). */
tf_status tf_layer_norm(const tf_tensor *x, int normalized_ndim,
                        const tf_tensor *weight, const tf_tensor *bias,
                        double eps, tf_tensor **out, tf_tensor **mean,
                        tf_tensor **rstd);
/* The backward passes: dx, dweight, dbias each computed when its pointer is
 * not NULL (dweight / dbias need a weight). training (batch_norm): whether
 * the forward used the batch's statistics. */
tf_status tf_batch_norm_backward(const tf_tensor *dout, const tf_tensor *x,
                                 const tf_tensor *weight,
                                 const tf_tensor *mean, const tf_tensor *rstd,
                                 bool training, tf_tensor **dx,
                                 tf_tensor **dweight, tf_tensor **dbias);
tf_status tf_group_norm_backward(const tf_tensor *dout, const tf_tensor *x,
                                 int64_t num_groups, const tf_tensor *weight,
                                 const tf_tensor *mean, const tf_tensor *rstd,
                                 tf_tensor **dx, tf_tensor **dweight,
                                 tf_tensor **dbias);
tf_status tf_layer_norm_backward(const tf_tensor *dout, const tf_tensor *x,
                                 int normalized_ndim, const tf_tensor *weight,
                                 const tf_tensor *mean, const tf_tensor *rstd,
                                 tf_tensor **dx, tf_tensor **dweight,
                                 tf_tensor **dbias);

/* ---- optimizers (optim.c) ------------------------------------------------
 * One step of an optimizer over one parameter, PyTorch 2's single-tensor
 * update rule (torch/optim/<name>.py) fused in one pass: param and its state
 * buffers (the param's shape, dtype and device, no two sharing memory;
 * strided ones are handled) are updated in place and their version counters
 * bumped; grad (the param's shape and dtype) is read. The options are
 * checked with PyTorch's ranges; every check runs before anything is
 * written. step (Adam, RMSprop, Adagrad) is state['step'], a one-element
 * float32 or float64 host tensor, incremented by the call. A buffer NULL
 * means the option is off. */
/* momentum_buffer: NULL exactly when momentum is 0; init_buffer: the first
 * step, which sets it to the gradient (PyTorch's clone). */
tf_status tf_sgd_step(tf_tensor *param, const tf_tensor *grad,
                      tf_tensor *momentum_buffer, bool init_buffer, double lr,
                      double momentum, double dampening, double weight_decay,
                      bool nesterov, bool maximize);
/* max_exp_avg_sq: non-NULL for amsgrad; decoupled: AdamW's weight decay. */
tf_status tf_adam_step(tf_tensor *param, const tf_tensor *grad,
                       tf_tensor *exp_avg, tf_tensor *exp_avg_sq,
                       tf_tensor *max_exp_avg_sq, tf_tensor *step, double lr,
                       double beta1, double beta2, double eps,
                       double weight_decay, bool decoupled, bool maximize);
/* grad_avg: non-NULL when centered; momentum_buffer: NULL exactly when
 * momentum is 0. */
tf_status tf_rmsprop_step(tf_tensor *param, const tf_tensor *grad,
                          tf_tensor *square_avg, tf_tensor *grad_avg,
                          tf_tensor *momentum_buffer, tf_tensor *step,
                          double lr, double alpha, double eps,
                          double weight_decay, double momentum, bool maximize);
tf_status tf_adagrad_step(tf_tensor *param, const tf_tensor *grad,
                          tf_tensor *sum, tf_tensor *step, double lr,
                          double lr_decay, double weight_decay, double eps,
                          bool maximize);

/* ---- returning forms (ops/returning.c) -----------------------------------
 * The Python layer's hot path: each runs the entry point of the same name
 * less the _r (same checks, same messages) and returns its result, one
 * reference, instead of writing it through an out-pointer; NULL on
 * failure, with the status in tf_last_status() and the message in
 * tf_last_error(). Sizes and indices are C ints (the Python side uses the
 * int64 entry points for values outside int32). */
tf_status tf_last_status(void);
tf_tensor *tf_matmul_r(const tf_tensor *a, const tf_tensor *b);
/* tf_reduce with param 0 and no indices. */
tf_tensor *tf_reduce_r(int op, const tf_tensor *x, uint32_t dim_mask,
                       int keepdim);
/* t[start:stop] (dim 0, step 1), the common slice. */
tf_tensor *tf_slice_r(const tf_tensor *t, int start, int stop);
tf_tensor *tf_select_r(const tf_tensor *t, int dim, int index);
tf_tensor *tf_transpose_r(const tf_tensor *t, int dim0, int dim1);
/* tf_view with ndim <= 3 sizes s0..s2 (those past ndim are ignored); the
 * Python reshape tries it first and takes tf_reshape when it fails. */
tf_tensor *tf_view_r(const tf_tensor *t, int ndim, int s0, int s1, int s2);

/* ---- convolution (conv.c) ------------------------------------------------ */
/* 2-D convolution of x (N, C, H, W) with weight (O, C / groups, kh, kw) into
 * (N, O, ho, wo), plus bias (O,) when not NULL. params: stride (sh, sw),
 * padding before the input (ph, pw), dilation (dh, dw), groups; output
 * (p, q) reads input (p * sh - ph + i * dh, q * sw - pw + j * dw) for tap
 * (i, j), zero outside the input, so (ho, wo) fix the padding after it.
 * Operands: one float dtype, one device. */
tf_status tf_conv2d(const tf_tensor *x, const tf_tensor *weight,
                    const tf_tensor *bias, const int64_t *params, int64_t ho,
                    int64_t wo, tf_tensor **out);
/* The gradient (N, C, h, w) of that convolution's x from gy (N, O, ho, wo):
 * the transposed convolution of gy with weight. */
tf_status tf_conv2d_input_grad(const tf_tensor *gy, const tf_tensor *weight,
                               const int64_t *params, int64_t h, int64_t w,
                               tf_tensor **out);
/* The gradient (O, C / groups, kh, kw) of its weight, from x and gy. */
tf_status tf_conv2d_weight_grad(const tf_tensor *x, const tf_tensor *gy,
                                const int64_t *params, int64_t kh, int64_t kw,
                                tf_tensor **out);

/* ---- runtime ------------------------------------------------------------- */
/* Threads used by parallel kernels (OpenMP); results never depend on it.
 * The count holds for every thread, also those started later. In a process
 * made by fork() kernels run on one thread (the parent's OpenMP pool cannot
 * be used there) and tf_get_num_threads says 1. */
void tf_set_num_threads(int n);
int tf_get_num_threads(void);
/* The team size of the last parallel elementwise loop the calling thread
 * ran (0 before any): lets tests see the count a region really used. */
int tf_last_parallel_threads(void);

/* ---- recurrent layers (rnn) ------------------------------------------------ */
/* The LSTM cell's pointwise part, fused: gates (N, 4H) pre-activations in
 * PyTorch's order i, f, g, o; c_prev (N, H), or NULL for a zero state.
 * *hc = (N, 2H): the new h then the new c; *act = (N, 5H): sigmoid i,
 * sigmoid f, tanh g, sigmoid o and tanh c, which the backward reads. */
tf_status tf_lstm_cell(const tf_tensor *gates, const tf_tensor *c_prev,
                       tf_tensor **hc, tf_tensor **act);
/* From dhc (N, 2H), the gradient of hc: *dgates (N, 4H) and, when c_prev
 * is given, *dc_prev (N, H) (else *dc_prev = NULL). */
tf_status tf_lstm_cell_backward(const tf_tensor *dhc, const tf_tensor *act,
                                const tf_tensor *c_prev, tf_tensor **dgates,
                                tf_tensor **dc_prev);
/* ---- losses (loss.c): fused, stable cross-entropy and BCE-with-logits ---- */
/* reduction: 0 none, 1 mean, 2 sum (PyTorch's order of the enum). */
enum { TF_REDUCTION_NONE = 0, TF_REDUCTION_MEAN = 1, TF_REDUCTION_SUM = 2 };
/* x: (C,), (N, C) or (N, C, d1, ...) logits (float32/float64). target: class
 * indices (int64, x's shape without dim 1 (0-d for (C,))) or class
 * probabilities (x's shape and dtype). weight: NULL or (C,) in x's dtype.
 * ignore_index applies to index targets; label_smoothing in [0, 1].
 * *out: the per-element losses (reduction none) or a 0-d tensor; mean
 * divides by the summed weight of the non-ignored targets (index targets)
 * or by the number of elements (probability targets). A class index that is
 * neither in [0, C) nor ignore_index is an error (TF_ERR_INDEX). */
tf_status tf_cross_entropy(const tf_tensor *x, const tf_tensor *target,
                           const tf_tensor *weight, int64_t ignore_index,
                           double label_smoothing, int reduction,
                           tf_tensor **out);
/* The gradient of tf_cross_entropy with respect to x, for the upstream
 * gradient grad (the shape of the forward result): grad * (softmax(x) * A -
 * B) per element, B the weighted, smoothed target distribution, A its sum. */
tf_status tf_cross_entropy_backward(const tf_tensor *grad, const tf_tensor *x,
                                    const tf_tensor *target,
                                    const tf_tensor *weight,
                                    int64_t ignore_index,
                                    double label_smoothing, int reduction,
                                    tf_tensor **out);
/* x and target of one shape (float32/float64, one dtype); weight and
 * pos_weight NULL or broadcastable to it. The stable form (1 - y) x + L
 * softplus(-x), L = 1 + (pos_weight - 1) y, without an overflow for any x. */
tf_status tf_bce_with_logits(const tf_tensor *x, const tf_tensor *target,
                             const tf_tensor *weight,
                             const tf_tensor *pos_weight, int reduction,
                             tf_tensor **out);
/* Its gradient with respect to x: grad * weight * ((1 - y) sigmoid(x) -
 * pos_weight y sigmoid(-x)). */
tf_status tf_bce_with_logits_backward(const tf_tensor *grad, const tf_tensor *x,
                                      const tf_tensor *target,
                                      const tf_tensor *weight,
                                      const tf_tensor *pos_weight,
                                      int reduction, tf_tensor **out);

#ifdef __cplusplus
}
#endif
#endif /* TINYFIN_H */
