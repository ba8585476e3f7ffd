/* device_api.h: the flat C interface of libtinyfin_cuda.so, the library
 * nvcc builds from runtime.cu (`make cuda`, or pip install where nvcc is
 * found). The core (cuda/backend.c) opens it with dlopen at run time, so
 * libtinyfin itself never links against CUDA and imports on any machine.
 *
 * Plain pointers, sizes and element counts only (no tf_tensor; the
 * optimizers' tf_optim_plan is plain data, defined in a shared header): the
 * library knows nothing of the core's structures, and either side can be
 * rebuilt alone as long as TFC_ABI_VERSION matches.
 *
 * Every function returns 0 on success, else the CUDA error code, with a
 * message naming what failed in why (why_len bytes, always terminated).
 * An error of an earlier asynchronous kernel is reported by the next call
 * that synchronizes (tfc_memcpy to the host, tfc_synchronize). */
#ifndef TF_CUDA_DEVICE_API_H
#define TF_CUDA_DEVICE_API_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu/loss_rows.h"    /* the losses' plans and rows */
#include "../cpu/lstm_cell.h"    /* the LSTM cell's elements */
#include "../cpu/optim_step.h"    /* tf_optim_plan: the optimizers' scalars, plain data */

#define TFC_ABI_VERSION 12

/* tfc_memcpy's kinds */
enum { TFC_HOST_TO_DEVICE = 0, TFC_DEVICE_TO_HOST = 1, TFC_DEVICE_TO_DEVICE = 2 };

#ifdef __cplusplus
extern "C" {
#endif
int tfc_abi_version(void);
/* How many devices the runtime sees (0 with the reason when it sees none:
 * no driver, no device). */
int tfc_device_count(int *count, char *why, size_t why_len);
int tfc_malloc(void **ptr, size_t nbytes, char *why, size_t why_len);
int tfc_free(void *ptr, char *why, size_t why_len);
/* nbytes from src to dst; to the host it waits for the copy (and so for
 * every kernel before it). */
int tfc_memcpy(void *dst, const void *src, size_t nbytes, int kind, char *why,
               size_t why_len);
/* Page-locked ("pinned") host memory, which the device reads directly;
 * its free waits for every copy still reading it. upload_async copies
 * nbytes from pinned host memory to the device in stream order, returning
 * before the copy is done. */
int tfc_host_alloc(void **ptr, size_t nbytes, char *why, size_t why_len);
int tfc_host_free(void *ptr, char *why, size_t why_len);
int tfc_upload_async(void *dst, const void *src, size_t nbytes, char *why, size_t why_len);
/* n elements of elem_size bytes (1, 2, 4 or 8) at dst = *elem (host). */
int tfc_fill(void *dst, const void *elem, int elem_size, int64_t n, char *why,
             size_t why_len);
/* A strided copy of one dtype (elem_size bytes): element i of the ndim-dim
 * shape (ndim <= TFC_MAX_DIMS; its row-major multi-index k) goes from src
 * + sum k_d src_strides[d] to dst + sum k_d dst_strides[d] (strides in
 * elements, from each pointer). The two must not overlap. */
#define TFC_MAX_DIMS 8
int tfc_copy_strided(void *dst, const void *src, int elem_size, int ndim,
                     const int64_t *shape, const int64_t *dst_strides,
                     const int64_t *src_strides, char *why, size_t why_len);
/* The strided copy, converting from src_dtype to dst_dtype (tf_dtype codes,
 * see tfc_unary) by tf_to_dtype's rules: float to int64 truncates toward
 * zero and saturates, NaN giving 0; anything to bool is "!= 0". */
int tfc_convert(void *dst, int dst_dtype, const void *src, int src_dtype, int ndim,
                const int64_t *shape, const int64_t *dst_strides, const int64_t *src_strides,
                char *why, size_t why_len);
/* dst = unary op `op` (its index in tinyfin_ops.def, the core's
 * TF_UNARY_*) of x, elementwise over the ndim-dim shape, with the strides
 * (in elements) of each; dtype is the core's tf_dtype code of x (0
 * float32, 1 float64, 2 int64, 3 bool); dst is bool for predicates, else
 * x's dtype; params: the op's three parameters. The scalar functions are
 * the cpu's own (cpu/unary_scalar.h), so the results are the cpu kernels'
 * up to the device's libm (exp, log, sin, ... in double, then rounded). */
int tfc_unary_count(void);
int tfc_unary(int op, int dtype, void *dst, const void *x, int ndim, const int64_t *shape,
              const int64_t *dst_strides, const int64_t *x_strides, const double *params,
              char *why, size_t why_len);
/* dst = binary op `op` (TF_BINARY_*) of a and b, both of dtype (a tf_dtype
 * code), elementwise over the ndim-dim shape with the strides of each
 * (element strides; 0 on broadcast dims). An operand given as a host
 * pointer in a_value / b_value (one element, e.g. a Python scalar) is used
 * for every element instead of a / b. dst is bool for comparisons and
 * logic, else dtype. The formulas are the cpu's (cpu/binary_scalar.h);
 * integer divisors are checked by the caller. */
int tfc_binary_count(void);
int tfc_binary(int op, int dtype, void *dst, const void *a, const void *b,
               const void *a_value, const void *b_value, int ndim, const int64_t *shape,
               const int64_t *dst_strides, const int64_t *a_strides, const int64_t *b_strides,
               char *why, size_t why_len);
/* values = reduce op `op` (TF_REDUCE_*) of x (dtype; shape and strides in
 * elements) over the dims set in mask, with the param of var/std
 * (correction) and norm (p); values (v_dtype) and indices (max/min, or
 * NULL) are contiguous, one element per output in row-major order of the
 * kept dims. cpu/reduce.c's semantics, in a fixed order without atomics
 * (reduce.cu). scratch: device memory of tfc_reduce_scratch bytes for
 * this shape and mask. */
int tfc_reduce_count(void);
int tfc_reduce_scratch(int ndim, const int64_t *shape, const int64_t *strides, uint32_t mask,
                       size_t *bytes);
int tfc_reduce(int op, int dtype, const void *x, int ndim, const int64_t *shape,
               const int64_t *strides, uint32_t mask, double param, int v_dtype, void *values,
               int64_t *indices, void *scratch, size_t scratch_len, char *why, size_t why_len);
/* y = softmax (or log_softmax) of x (float32 or float64) along dim, with
 * cpu/reduce.c's formulas; scratch: tfc_reduce_scratch bytes for x's
 * shape and the mask of dim. */
int tfc_softmax(int dtype, const void *x, void *y, int ndim, const int64_t *shape,
                const int64_t *x_strides, const int64_t *y_strides, int dim, int take_log,
                void *scratch, size_t scratch_len, char *why, size_t why_len);
/* dst = cond ? a : b elementwise (a, b and dst of dtype, cond bool), with
 * broadcast strides as tfc_binary; an operand given as a host value
 * (cond_value, a_value, b_value) is used for every element. */
int tfc_where(int dtype, void *dst, const void *cond, const void *a, const void *b,
              const void *cond_value, const void *a_value, const void *b_value, int ndim,
              const int64_t *shape, const int64_t *dst_strides, const int64_t *cond_strides,
              const int64_t *a_strides, const int64_t *b_strides, char *why, size_t why_len);
/* The geometry of a batched matrix product (the core's tf_matmul_plan):
 * entry e of the broadcast batch (batch_ndim dims) multiplies the m x k
 * matrix at a + (e's offset by a_batch_strides) with element (i, p) at
 * i * a_rs + p * a_cs by the k x n matrix at b likewise; strides in
 * elements. */
typedef struct {
  int64_t m, k, n;
  int batch_ndim;
  int64_t batch[TFC_MAX_DIMS], a_batch_strides[TFC_MAX_DIMS], b_batch_strides[TFC_MAX_DIMS];
  int64_t a_rs, a_cs, b_rs, b_cs;
} tfc_matmul_geometry;
/* c (contiguous, batch x m x n, of dtype: float32, float64 or int64) = a @ b
 * per entry (matmul.cu): with cuBLAS when allow_cublas, it is loaded and the
 * layout suits it, else tinyfin's tiled kernel. */
int tfc_matmul(int dtype, const void *a, const void *b, void *c, const tfc_matmul_geometry *g,
               int allow_cublas, char *why, size_t why_len);
/* Loads cuBLAS from path (libcublas.so.13) for tfc_matmul; 0 when loaded
 * (now or before), else why not. */
int tfc_cublas_load(const char *path, char *why, size_t why_len);
/* Creation (creation.cu), each with the cpu kernel's formula, so bitwise
 * the cpu's. dst is contiguous; dtype a tf_dtype code.
 * arange: dst[i] = fstart + i fstep (floats), istart + i istep (int64,
 * wrapping); linspace: PyTorch's steps from start to end, both exact;
 * random: n numbers of kind (0 uniform, 1 normal, 2 integer; params as
 * the core's tf_random_kernel) from Philox block `counter` of seed on
 * (cpu/random_scalar.h); tril: zero the elements of the contiguous
 * (..., rows, cols) dst outside the band of diagonal k (triu when upper;
 * elem_size bytes each); pad: dst (contiguous, out_shape) = src (its
 * shape and element strides) with before[d] elements reflected (reflect)
 * or replicated in front of each dim, and the rest after it. */
int tfc_arange(int dtype, void *dst, int64_t n, double fstart, double fstep, int64_t istart,
               int64_t istep, char *why, size_t why_len);
int tfc_linspace(int dtype, void *dst, int64_t steps, double start, double end, char *why,
                 size_t why_len);
int tfc_random(int kind, int dtype, void *dst, int64_t n, const double *params, uint64_t seed,
               uint64_t counter, char *why, size_t why_len);
int tfc_tril(int elem_size, void *dst, int64_t numel, int64_t rows, int64_t cols, int64_t k,
             int upper, char *why, size_t why_len);
int tfc_pad(int elem_size, void *dst, const void *src, int ndim, const int64_t *out_shape,
            const int64_t *src_shape, const int64_t *src_strides, const int64_t *before,
            int reflect, char *why, size_t why_len);
/* One optimizer step (cpu/optim_step.h: the plan and the arithmetic,
 * shared with the cpu) on a contiguous float32 (dtype 0) or float64 (1)
 * param of plan->n elements, in place with its buffers b0..b2 (NULL when
 * unused), from grad. */
int tfc_optim(int dtype, const tf_optim_plan *plan, void *param, const void *grad, void *b0,
              void *b1, void *b2, char *why, size_t why_len);
/* Indexing (index.cu). The index values were checked on the host
 * (backend.c), so every offset here is in bounds. A geometry's position i
 * (row-major over shape) has element offset sum_d i_d strides[d]; one of
 * ndim 0 is one position at offset 0.
 * take: dst (contiguous, n elements) [i] = src[offset(i) + picked[j]], j = i
 * when dim < 0 (gather), else i's coordinate in dim (index_select,
 * index_get);
 * put (scatter_add, index_put_): for each group k and each position r of
 * rest_dst, dst[target[k] + rest_dst(r)] takes src[pos_src(p) +
 * rest_src(r)] for the index positions p = order[start[k]] ..
 * order[start[k + 1] - 1] in order: each added (accumulate), or the last. */
typedef struct {
  int ndim;
  int64_t shape[TFC_MAX_DIMS], strides[TFC_MAX_DIMS];
} tfc_geometry;
int tfc_take(int elem_size, void *dst, const void *src, const tfc_geometry *g, int dim,
             const int64_t *picked, int64_t n, char *why, size_t why_len);
/* nonzero, in two calls around the host: mark flags the n elements of src
 * (dtype, positions over g) that are nonzero into mask (n bytes) and
 * counts them per chunk of `chunk` into counts; write puts the marked
 * positions' coordinates (g.ndim int64 each, row-major order) into out,
 * chunk c's from row start[c] on. */
int tfc_nonzero_mark(int dtype, const void *src, const tfc_geometry *g, int64_t n,
                     uint8_t *mask, int64_t chunk, int64_t *counts, char *why, size_t why_len);
int tfc_nonzero_write(const uint8_t *mask, const tfc_geometry *g, int64_t n, int64_t chunk,
                      const int64_t *start, int64_t *out, char *why, size_t why_len);
int tfc_put(int dtype, void *dst, const void *src, const tfc_geometry *pos_src,
            const tfc_geometry *rest_dst, const tfc_geometry *rest_src, const int64_t *order,
            const int64_t *start, const int64_t *target, int64_t groups, int accumulate,
            char *why, size_t why_len);
/* Cross-entropy (loss.cu): the rows of cpu/loss_rows.h on the device,
 * summed in its blocks, so bitwise the cpu's. dtype 0 float32 or 1
 * float64; x, t (probability targets, else NULL), yv (the checked index
 * targets, one per row, else NULL), w (class weights or NULL), out, grad
 * and dx are device memory laid out as the plan says; scratch: device
 * memory of 2 rows + 4 blocks doubles (blocks: rows over
 * tf_ce_block_rows, rounded up) for a forward with reduction mean or sum,
 * 2 for the backward, none else. */
int tfc_cross_entropy(int dtype, const tf_ce_plan *plan, const void *x, const void *t,
                      const int64_t *yv, const void *w, void *out, double *scratch, char *why,
                      size_t why_len);
int tfc_cross_entropy_backward(int dtype, const tf_ce_plan *plan, const void *grad,
                               const void *x, const void *t, const int64_t *yv, const void *w,
                               void *dx, double *scratch, char *why, size_t why_len);

/* BCE with logits (loss.cu): the elements of cpu/loss_rows.h, summed in
 * its blocks. grad 0: out = the loss (scratch: numel + 2 blocks doubles
 * for reduction mean or sum, blocks = numel over TF_BCE_BLOCK rounded up;
 * none else), g unused; grad 1: out = dx from the upstream gradient g.
 * w, pw: weight and pos_weight or NULL. */
int tfc_bce_with_logits(int dtype, const tf_bce_plan *plan, int grad, const void *x,
                        const void *t, const void *w, const void *pw, const void *g, void *out,
                        double *scratch, char *why, size_t why_len);
/* The LSTM cell's pointwise part (rnn.cu): cpu/lstm_cell.h's elements
 * over n rows of H hidden units, the layouts of cpu/rnn.c (gates (n, 4H),
 * c_prev (n, H) or NULL, hc (n, 2H), act (n, 5H); backward: dhc (n, 2H),
 * dgates (n, 4H), dc_prev (n, H) or NULL), dtype 0 float32 or 1 float64. */
int tfc_lstm_cell(int dtype, int64_t n, int64_t H, const void *gates, const void *c_prev,
                  void *hc, void *act, char *why, size_t why_len);
int tfc_lstm_cell_backward(int dtype, int64_t n, int64_t H, const void *dhc, const void *act,
                           const void *c_prev, void *dgates, void *dc_prev, char *why,
                           size_t why_len);

/* Pooling (pool.cu): the core's tf_pool_plan (backend.h: windows that
 * never read padding) with its tables in device memory: output row oh
 * reads the h_count[oh] input rows h_start[oh] + a h_step, column ow
 * likewise; an average divides by divisor when has_divisor, else by
 * h_div[oh] w_div[ow]. The backward's inverse tables: input row ih is read
 * by the output rows rows_of[row_at[ih]] .. rows_of[row_at[ih + 1] - 1],
 * ascending, column iw by cols_of[col_at[iw]] .. likewise. Operands
 * contiguous, (planes, h, w), dtype 0 float32 or 1 float64; cpu/pool.c's
 * arithmetic and order, so bitwise the cpu's.
 * check_indices: status (device, 2 values) [0] = the first position of
 * indices (row-major over all planes) outside its plane, UINT64_MAX when
 * none; [1] = 1 when one lies in its plane but outside its window, which
 * the backward then must be told (by_plane: the cpu's loop per plane). */
typedef struct {
  int max; /* else average */
  int64_t planes, in_h, in_w, out_h, out_w, h_step, w_step;
  int has_divisor;
  int64_t divisor;
  const int64_t *h_start, *h_count, *h_div, *w_start, *w_count, *w_div;
  const int64_t *row_at, *rows_of, *col_at, *cols_of;
} tfc_pool_plan;
int tfc_pool(int dtype, const tfc_pool_plan *p, const void *x, void *y, int64_t *indices,
             char *why, size_t why_len);
int tfc_pool_check_indices(const tfc_pool_plan *p, const int64_t *indices, uint64_t *status,
                           char *why, size_t why_len);
int tfc_pool_backward(int dtype, const tfc_pool_plan *p, const void *grad,
                      const int64_t *indices, void *grad_input, int by_plane, char *why,
                      size_t why_len);
/* Convolution's steps (conv.cu; the core's cpu/conv.c runs the passes and
 * their products, backend.h's tf_conv_steps says what each step does):
 * the core's tf_conv_geom, dtype 0 float32 or 1 float64. im2col unfolds
 * nb contiguous images x into cols, col2im folds cols back into gx (each
 * input element sums its taps in tap order: the cpu's order), conv_bias
 * adds bias (c_out) to y (nb, c_out, ho wo), accumulate adds n elements
 * of prod to the double acc. */
typedef struct {
  int64_t n, c_in, h, w, c_out, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw, groups;
} tfc_conv_geometry;
int tfc_im2col(int dtype, const tfc_conv_geometry *g, const void *x, void *cols, int64_t nb,
               int64_t rs, int64_t is, char *why, size_t why_len);
int tfc_col2im(int dtype, const tfc_conv_geometry *g, const void *cols, void *gx, int64_t nb,
               int64_t rs, int64_t is, char *why, size_t why_len);
int tfc_conv_bias(int dtype, const tfc_conv_geometry *g, void *y, const void *bias, int64_t nb,
                  char *why, size_t why_len);
int tfc_accumulate(int dtype, double *acc, const void *prod, int64_t n, char *why,
                   size_t why_len);
/* Normalization (norm.cu): the core's tf_norm_geom (backend.h: x
 * contiguous (n, c, s), units of one mean and variance: a channel when
 * per_channel, else (n, group)), cpu/norm.c's method and formulas. x,
 * weight, bias (c, or NULL), out, dout, dx, dweight, dbias (NULL when not
 * wanted) in dtype 0 float32 or 1 float64; running_mean / running_var
 * (x's dtype, one per unit at the strides given, or NULL); mean and rstd
 * double, one per unit (written by the forward). scratch:
 * tfc_norm_scratch(g, backward) doubles of device memory. */
typedef struct {
  int64_t n, c, s, groups;
  int per_channel;
} tfc_norm_geometry;
int64_t tfc_norm_scratch(const tfc_norm_geometry *g, int backward);
int tfc_norm(int dtype, const tfc_norm_geometry *g, const void *x, const void *weight,
             const void *bias, double eps, int batch_stats, double momentum, void *running_mean,
             int64_t rm_stride, void *running_var, int64_t rv_stride, double *mean,
             double *rstd, void *out, double *scratch, char *why, size_t why_len);
int tfc_norm_backward(int dtype, const tfc_norm_geometry *g, const void *dout, const void *x,
                      const void *weight, const double *mean, const double *rstd,
                      int batch_stats, void *dx, void *dweight, int64_t dw_stride, void *dbias,
                      int64_t db_stride, double *scratch, char *why, size_t why_len);

/* Waits for every kernel and copy issued so far. */
int tfc_synchronize(char *why, size_t why_len);
#ifdef __cplusplus
}
#endif

#endif /* TF_CUDA_DEVICE_API_H */
