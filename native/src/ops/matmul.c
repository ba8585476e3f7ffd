/* matmul.c: the entry point of matrix products, with NumPy's matmul rules
 * (1-D operands are promoted and the added dim removed again, batch dims
 * broadcast): the plan every backend's kernel computes (backend.h), the
 * result on the operands' device, then the kernel of the backend chosen for
 * the call and the dtype (the cpu's is cpu/matmul.c, BLAS's blas/). */
#include "../backend.h"

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
     * (1, k, n) has no entries (a max() here would make it 1 and read
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

tf_status tf_matmul(const tf_tensor *a, const tf_tensor *b, tf_tensor **out) {
  TF_TRY(tf_check_same_device("matmul", a, b));
  TF_CHECK(a->dtype == b->dtype, TF_ERR_DTYPE,
           "matmul: expected both operands to have the same dtype, got %s and %s",
           tf_dtype_name(a->dtype), tf_dtype_name(b->dtype));
  TF_CHECK(a->dtype != TF_BOOL, TF_ERR_DTYPE,
           "matmul: bool is not supported; use float32, float64 or int64");
  tf_matmul_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(a), "matmul", k->matmul[a->dtype]);
  tf_matmul_plan p;
  TF_TRY(tf_matmul_plan_of(a, b, &p));
  tf_tensor *r = NULL;
  TF_TRY(tf_new_on(a->storage->alloc, p.out_ndim, p.out_shape, a->dtype, &r));
  tf_status st = kernel(&p, a, b, r);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}
