/* iter.c: NumPy broadcasting and the strided loop nest that runs every
 * elementwise kernel, serially for small tensors and over OpenMP threads for
 * large ones. Work is split by element ranges that do not depend on the
 * thread count, so the threads never change a result. */
#include "../internal.h"

tf_status tf_broadcast_shapes(const char *op, int n, const tf_tensor *const *ts,
                              int *ndim, int64_t *shape) {
  int nd = 0;
  for (int k = 0; k < n; k++) nd = ts[k]->ndim > nd ? ts[k]->ndim : nd;
  for (int d = 0; d < nd; d++) shape[d] = 1;
  for (int k = 0; k < n; k++) {
    const tf_tensor *t = ts[k];
    int lead = nd - t->ndim;
    for (int d = 0; d < t->ndim; d++) {
      int64_t s = t->shape[d], *r = &shape[lead + d];
      if (s == *r || s == 1) continue;
      if (*r == 1) {
        *r = s;
        continue;
      }
      char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
      const tf_tensor *other = ts[k == 0 ? 1 : 0];
      return tf_fail(TF_ERR_SHAPE,
                     "%s: shapes %s and %s cannot be broadcast together "
                     "(size %lld vs %lld at dim %d of the result)",
                     op, tf_shape_str(other->ndim, other->shape, a),
                     tf_shape_str(t->ndim, t->shape, b), (long long)*r,
                     (long long)s, lead + d);
    }
  }
  *ndim = nd;
  return TF_OK;
}

void tf_broadcast_strides(const tf_tensor *t, int ndim, const int64_t *shape,
                          int64_t *strides) {
  int lead = ndim - t->ndim;
  for (int d = 0; d < ndim; d++) {
    int src = d - lead;
    strides[d] = (src >= 0 && t->shape[src] == shape[d]) ? t->strides[src] : 0;
  }
}

bool tf_same_dense_layout(const tf_tensor *t, const tf_tensor *u) {
  return t->ndim == u->ndim &&
         !memcmp(t->shape, u->shape, sizeof(int64_t) * (size_t)t->ndim) &&
         tf_tensor_is_contiguous(t) && tf_tensor_is_contiguous(u);
}

void tf_iter_init(tf_iter *it, int nops, const tf_tensor *const *ops, int ndim,
                  const int64_t *shape) {
  int64_t strides[TF_ITER_MAX_OPS][TF_MAX_DIMS];
  it->nops = nops;
  it->numel = tf_shape_numel(ndim, shape);
  for (int k = 0; k < nops; k++) {
    tf_broadcast_strides(ops[k], ndim, shape, strides[k]);
    it->base[k] = tf_ptr(ops[k]);
    it->elsize[k] = (int64_t)tf_dtype_size(ops[k]->dtype);
  }
  /* Drop size-1 dims, then merge neighbours whose strides chain for every
   * operand, so a contiguous or simply broadcast tensor becomes one row. */
  int nd = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < nops && merge; k++)
      merge = it->strides[k][nd - 1] == strides[k][d] * shape[d];
    if (merge) {
      it->shape[nd - 1] *= shape[d];
      for (int k = 0; k < nops; k++) it->strides[k][nd - 1] = strides[k][d];
    } else {
      it->shape[nd] = shape[d];
      for (int k = 0; k < nops; k++) it->strides[k][nd] = strides[k][d];
      nd++;
    }
  }
  if (nd == 0) {
    it->shape[0] = 1;
    for (int k = 0; k < nops; k++) it->strides[k][0] = 1;
    nd = 1;
  }
  it->ndim = nd;
}

/* Run rows [row_begin, row_end) of the outer loop nest; within each row the
 * elements [col_begin, col_end). */
static void run_rows(const tf_iter *it, tf_row_fn fn, const double *params,
                     int64_t row_begin, int64_t row_end, int64_t col_begin,
                     int64_t col_end) {
  int inner = it->ndim - 1;
  int64_t index[TF_MAX_DIMS] = {0};
  int64_t rest = row_begin;
  for (int d = inner - 1; d >= 0; d--) {
    index[d] = rest % it->shape[d];
    rest /= it->shape[d];
  }
  int64_t inner_strides[TF_ITER_MAX_OPS];
  for (int k = 0; k < it->nops; k++) inner_strides[k] = it->strides[k][inner];
  for (int64_t row = row_begin; row < row_end; row++) {
    char *ptrs[TF_ITER_MAX_OPS];
    for (int k = 0; k < it->nops; k++) {
      int64_t off = col_begin * it->strides[k][inner];
      for (int d = 0; d < inner; d++) off += index[d] * it->strides[k][d];
      ptrs[k] = it->base[k] + off * it->elsize[k];
    }
    fn(col_end - col_begin, ptrs, inner_strides, params);
    for (int d = inner - 1; d >= 0; d--) {
      if (++index[d] < it->shape[d]) break;
      index[d] = 0;
    }
  }
}

void tf_iter_run(const tf_iter *it, tf_row_fn fn, const double *params) {
  if (it->numel == 0) return;
  int64_t row_len = it->shape[it->ndim - 1];
  int64_t rows = it->numel / row_len;
  if (it->numel < TF_PARALLEL_GRAIN) {
    run_rows(it, fn, params, 0, rows, 0, row_len);
    return;
  }
  if (rows == 1) {
    /* One long row: split it into fixed chunks. */
    int64_t chunk = TF_PARALLEL_GRAIN;
    int64_t nchunks = (row_len + chunk - 1) / chunk;
    TF_PARALLEL_FOR(true)
    for (int64_t c = 0; c < nchunks; c++) {
      if (c == 0) tf_note_team(); /* chunk 0 is the calling thread's */
      int64_t end = (c + 1) * chunk < row_len ? (c + 1) * chunk : row_len;
      run_rows(it, fn, params, 0, 1, c * chunk, end);
    }
    return;
  }
  int64_t rows_per_block = TF_PARALLEL_GRAIN / row_len + 1;
  int64_t nblocks = (rows + rows_per_block - 1) / rows_per_block;
  TF_PARALLEL_FOR(true)
  for (int64_t b = 0; b < nblocks; b++) {
    if (b == 0) tf_note_team();
    int64_t end = (b + 1) * rows_per_block;
    run_rows(it, fn, params, b * rows_per_block, end < rows ? end : rows, 0,
             row_len);
  }
}
