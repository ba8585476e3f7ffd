/* backend.c: the cpu backend: the reference kernels of every slot, so every
 * other host-memory backend can fall back to them. */
#include "../backend.h"

tf_status tf_cpu_unary(int op, const tf_tensor *x, tf_tensor *dst,
                       const double *params);
tf_status tf_cpu_copy(tf_tensor *dst, const tf_tensor *src);
tf_status tf_cpu_fill(tf_tensor *dst, const void *elem);
tf_status tf_cpu_binary(int op, const tf_tensor *a, const tf_tensor *b,
                        tf_tensor *dst);
tf_status tf_cpu_where(const tf_tensor *cond, const tf_tensor *a,
                       const tf_tensor *b, tf_tensor *dst);
tf_status tf_cpu_reduce(int op, const tf_tensor *x, uint32_t dim_mask,
                        double param, tf_tensor *values, tf_tensor *indices);
tf_status tf_cpu_softmax(const tf_tensor *x, int dim, bool log, tf_tensor *dst);
tf_status tf_cpu_matmul(const tf_matmul_plan *p, const tf_tensor *a,
                        const tf_tensor *b, tf_tensor *out);
tf_status tf_cpu_pad(const tf_tensor *t, const int64_t *pads, int mode,
                     tf_tensor *dst);
tf_status tf_cpu_tril(tf_tensor *dst, int64_t k, bool upper);
tf_status tf_cpu_arange(tf_tensor *dst, double fstart, double fstep,
                        int64_t istart, int64_t istep);
tf_status tf_cpu_linspace(tf_tensor *dst, double start, double end);
tf_status tf_cpu_eye(tf_tensor *dst);
tf_status tf_cpu_random(tf_tensor *dst, int kind, const double *params,
                        uint64_t seed, uint64_t counter);
tf_status tf_cpu_gather(const tf_tensor *t, int dim, const tf_tensor *index,
                        tf_tensor *dst);
tf_status tf_cpu_scatter_add(tf_tensor *dst, int dim, const tf_tensor *index,
                             const tf_tensor *src);
tf_status tf_cpu_index_select(const tf_tensor *t, int dim,
                              const tf_tensor *index, tf_tensor *dst);
tf_status tf_cpu_index_get(const tf_tensor *t, int k, tf_tensor *const *indices,
                           tf_tensor *dst);
tf_status tf_cpu_index_put(tf_tensor *t, int k, tf_tensor *const *indices,
                           const tf_tensor *values, bool accumulate);
tf_status tf_cpu_nonzero(const tf_tensor *t, tf_tensor **out);
/* ---- losses (loss.c) ---- */
tf_status tf_cpu_cross_entropy(const tf_ce_plan *p, const tf_tensor *x,
                               const tf_tensor *target, const tf_tensor *weight,
                               tf_tensor *out);
tf_status tf_cpu_cross_entropy_backward(const tf_ce_plan *p,
                                        const tf_tensor *grad,
                                        const tf_tensor *x,
                                        const tf_tensor *target,
                                        const tf_tensor *weight, tf_tensor *dx);
tf_status tf_cpu_bce_with_logits(const tf_bce_plan *p, const tf_tensor *x,
                                 const tf_tensor *target,
                                 const tf_tensor *weight,
                                 const tf_tensor *pos_weight, tf_tensor *out);
tf_status tf_cpu_bce_with_logits_backward(const tf_bce_plan *p,
                                          const tf_tensor *grad,
                                          const tf_tensor *x,
                                          const tf_tensor *target,
                                          const tf_tensor *weight,
                                          const tf_tensor *pos_weight,
                                          tf_tensor *dx);
/* normalization (norm) */
tf_status tf_cpu_norm(const tf_norm_geom *g, const tf_tensor *x,
                      const tf_tensor *weight, const tf_tensor *bias,
                      double eps, bool batch_stats, double momentum,
                      tf_tensor *running_mean, tf_tensor *running_var,
                      tf_tensor *mean, tf_tensor *rstd, tf_tensor *out);
tf_status tf_cpu_norm_backward(const tf_norm_geom *g, const tf_tensor *dout,
                               const tf_tensor *x, const tf_tensor *weight,
                               const tf_tensor *mean, const tf_tensor *rstd,
                               bool batch_stats, tf_tensor *dx,
                               tf_tensor *dweight, tf_tensor *dbias);
/* ---- pooling (pool) ---- */
tf_status tf_cpu_pool(const tf_pool_plan *p, const tf_tensor *x, tf_tensor *out,
                      tf_tensor *indices);
tf_status tf_cpu_pool_backward(const tf_pool_plan *p, const tf_tensor *grad,
                               const tf_tensor *indices, tf_tensor *grad_input);
/* ---- optimizers (optim) ---- */
tf_status tf_cpu_optim(const tf_optim_plan *p, tf_tensor *param,
                       const tf_tensor *grad, tf_tensor *const *buf);
/* ---- convolution (conv) ---- */
tf_status tf_cpu_conv(int which, const tf_conv_geom *g, const tf_tensor *a,
                      const tf_tensor *b, const tf_tensor *bias,
                      tf_tensor *out);

/* recurrent layers (rnn) */
tf_status tf_cpu_lstm_cell(const tf_tensor *gates, const tf_tensor *c_prev,
                           tf_tensor *hc, tf_tensor *act);
tf_status tf_cpu_lstm_cell_backward(const tf_tensor *dhc, const tf_tensor *act,
                                    const tf_tensor *c_prev, tf_tensor *dgates,
                                    tf_tensor *dc_prev);

static const tf_unary_kernel cpu_unary[] = {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) tf_cpu_unary,
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
};
_Static_assert(sizeof cpu_unary / sizeof cpu_unary[0] == TF_UNARY_COUNT,
               "the cpu backend needs a kernel for every unary op");

static const tf_binary_kernel cpu_binary[] = {
#define TF_BINARY_OP(ENUM, name, kind) tf_cpu_binary,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};
_Static_assert(sizeof cpu_binary / sizeof cpu_binary[0] == TF_BINARY_COUNT,
               "the cpu backend needs a kernel for every binary op");

static const tf_reduce_kernel cpu_reduce[] = {
#define TF_REDUCE_OP(ENUM, name) tf_cpu_reduce,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
};
_Static_assert(sizeof cpu_reduce / sizeof cpu_reduce[0] == TF_REDUCE_COUNT,
               "the cpu backend needs a kernel for every reduce op");

const tf_kernels tf_cpu_kernels = {
    .copy = tf_cpu_copy,
    .fill = tf_cpu_fill,
    .unary = cpu_unary,
    .binary = cpu_binary,
    .where = tf_cpu_where,
    .reduce = cpu_reduce,
    .softmax = tf_cpu_softmax,
    .matmul = {[TF_FLOAT32] = tf_cpu_matmul, [TF_FLOAT64] = tf_cpu_matmul,
               [TF_INT64] = tf_cpu_matmul},
    .arange = tf_cpu_arange,
    .linspace = tf_cpu_linspace,
    .eye = tf_cpu_eye,
    .random = tf_cpu_random,
    .pad = tf_cpu_pad,
    .tril = tf_cpu_tril,
    .gather = tf_cpu_gather,
    .scatter_add = tf_cpu_scatter_add,
    .index_select = tf_cpu_index_select,
    .index_get = tf_cpu_index_get,
    .index_put = tf_cpu_index_put,
    .nonzero = tf_cpu_nonzero,
    /* recurrent layers (rnn) */
    .lstm_cell = tf_cpu_lstm_cell,
    .lstm_cell_backward = tf_cpu_lstm_cell_backward,
    /* ---- losses (loss.c) ---- */
    .cross_entropy = tf_cpu_cross_entropy,
    .cross_entropy_backward = tf_cpu_cross_entropy_backward,
    .bce_with_logits = tf_cpu_bce_with_logits,
    .bce_with_logits_backward = tf_cpu_bce_with_logits_backward,
    /* normalization (norm) */
    .normalize = tf_cpu_norm,
    .normalize_backward = tf_cpu_norm_backward,
    /* ---- pooling (pool) ---- */
    .pool = tf_cpu_pool,
    .pool_backward = tf_cpu_pool_backward,
    /* ---- convolution (conv) ---- */
    .conv = tf_cpu_conv,
    /* ---- optimizers (optim) ---- */
    .optim = tf_cpu_optim,
};

const tf_backend tf_cpu_backend = {"cpu", TF_CPU, true, &tf_host_allocator,
                                   &tf_cpu_kernels, NULL, NULL};
