/* plan_test_helper.c: the body of cpu/matmul.c's plan_matmul as
 * tf_matmul_plan_of, linked into the C tests only (not into the library),
 * so that the BLAS tests can build plans before the matmul entry point
 * exposes its own. One change: a batch dim of size 0 against one of size 1
 * broadcasts to 0 (see below). */
#include "plan_test_helper.h"

tf_status tf_matmul_plan_of(const tf_tensor *a, const tf_tensor *b,
                            tf_matmul_plan *p) {
  char sa[TF_SHAPE_STR], sb[TF_SHAPE_STR];
  TF_CHECK(a->ndim >= 1 && b->ndim >= 1, TF_ERR_SHAPE,
           "matmul: both arguments need at least 1 dimension, got %d-d and "
           "%d-d", a->ndim, b->ndim);
  /* Matrix geometry of the last two dims (1-D: a row / a column). */
  p->m = a->ndim == 1 ? 1 : a->shape[a->ndim - 2];
  p->k = a->shape[a->ndim - 1];
  int64_t kb = b->ndim == 1 ? b->shape[0] : b->shape[b->ndim - 2];
  p->n = b->ndim == 1 ? 1 : b->shape[b->ndim - 1];
  TF_CHECK(p->k == kb, TF_ERR_SHAPE,
           "matmul: shapes %s and %s cannot be multiplied (%lld != %lld)",
           tf_shape_str(a->ndim, a->shape, sa), tf_shape_str(b->ndim, b->shape, sb),
           (long long)p->k, (long long)kb);
  p->a_rs = a->ndim == 1 ? 0 : a->strides[a->ndim - 2];
  p->a_cs = a->strides[a->ndim - 1];
  p->b_rs = b->ndim == 1 ? b->strides[0] : b->strides[b->ndim - 2];
  p->b_cs = b->ndim == 1 ? 0 : b->strides[b->ndim - 1];
  /* Batch dims broadcast like elementwise shapes. */
  int an = a->ndim > 2 ? a->ndim - 2 : 0, bn = b->ndim > 2 ? b->ndim - 2 : 0;
  p->batch_ndim = an > bn ? an : bn;
  for (int d = 0; d < p->batch_ndim; d++) {
    int da = d - (p->batch_ndim - an), db = d - (p->batch_ndim - bn);
    int64_t sa_ = da >= 0 ? a->shape[da] : 1, sb_ = db >= 0 ? b->shape[db] : 1;
    TF_CHECK(sa_ == sb_ || sa_ == 1 || sb_ == 1, TF_ERR_SHAPE,
             "matmul: batch dims of %s and %s cannot be broadcast together "
             "(%lld vs %lld)", tf_shape_str(a->ndim, a->shape, sa),
             tf_shape_str(b->ndim, b->shape, sb), (long long)sa_, (long long)sb_);
    /* A size 1 broadcasts to the other size, 0 included: (0, m, k) @
     * (k, n) has 0 entries, not 1 (plan_matmul's max() made it 1 and read
     * outside the empty operand). */
    p->batch[d] = sa_ == 1 ? sb_ : sa_;
    p->a_batch_strides[d] = (da >= 0 && sa_ == p->batch[d]) ? a->strides[da] : 0;
    p->b_batch_strides[d] = (db >= 0 && sb_ == p->batch[d]) ? b->strides[db] : 0;
  }
  int nd = 0;
  for (int d = 0; d < p->batch_ndim; d++) p->out_shape[nd++] = p->batch[d];
  if (a->ndim > 1) p->out_shape[nd++] = p->m;
  if (b->ndim > 1) p->out_shape[nd++] = p->n;
  p->out_ndim = nd;
  return TF_OK;
}
