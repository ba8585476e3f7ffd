/* index.c: the entry points of gather, scatter_add, index_select,
 * advanced indexing (index_get, index_put_) and nonzero: dtypes, devices,
 * dims and shapes checked, results allocated on the input's device; then
 * the chosen backend's kernel, which reads each index value once and checks
 * it (cpu/index.c holds the cpu's). */
#include "../backend.h"

/* o made for the kernel's result, st its status: handed over or released. */
static tf_status finish(tf_tensor *o, tf_status st, tf_tensor **out) {
  if (st != TF_OK) {
    tf_tensor_release(o);
    return st;
  }
  *out = o;
  return TF_OK;
}

static tf_status check_index(const char *op, const tf_tensor *index) {
  TF_TRY(tf_check_device(op, index));
  TF_CHECK(index->dtype == TF_INT64, TF_ERR_DTYPE,
           "%s: index tensors must be int64, got %s", op,
           tf_dtype_name(index->dtype));
  return TF_OK;
}

tf_status tf_gather(const tf_tensor *t, int dim, const tf_tensor *index,
                    tf_tensor **out) {
  TF_TRY(tf_check_same_device("gather", t, index));
  TF_TRY(check_index("gather", index));
  TF_TRY(tf_norm_dim("gather", &dim, t->ndim));
  tf_gather_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), "gather", k->gather);
  int64_t ts[TF_MAX_DIMS], tstr[TF_MAX_DIMS], is[TF_MAX_DIMS], istr[TF_MAX_DIMS];
  int nd = tf_geom_1d(t, ts, tstr), ind = tf_geom_1d(index, is, istr);
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  TF_CHECK(nd == ind, TF_ERR_SHAPE,
           "gather: index of shape %s must have as many dims as the input of "
           "shape %s", tf_shape_str(index->ndim, index->shape, a),
           tf_shape_str(t->ndim, t->shape, b));
  for (int d = 0; d < nd; d++)
    TF_CHECK(d == dim || is[d] <= ts[d], TF_ERR_SHAPE,
             "gather: index of shape %s is larger than the input of shape %s "
             "in dim %d (only dim %d may be larger)",
             tf_shape_str(index->ndim, index->shape, a),
             tf_shape_str(t->ndim, t->shape, b), d, dim);
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(t->storage->alloc, index->ndim, index->shape, t->dtype, &o));
  return finish(o, kernel(t, dim, index, o), out);
}

tf_status tf_scatter_add(const tf_tensor *t, int dim, const tf_tensor *index,
                         const tf_tensor *src, tf_tensor **out) {
  TF_TRY(tf_check_same_device("scatter_add", t, src));
  TF_TRY(tf_check_same_device("scatter_add", t, index));
  TF_TRY(check_index("scatter_add", index));
  TF_CHECK(src->dtype == t->dtype, TF_ERR_DTYPE,
           "scatter_add: src has dtype %s but the input has %s; they must "
           "match", tf_dtype_name(src->dtype), tf_dtype_name(t->dtype));
  TF_TRY(tf_norm_dim("scatter_add", &dim, t->ndim));
  tf_scatter_add_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), "scatter_add", k->scatter_add);
  int64_t ts[TF_MAX_DIMS], tstr[TF_MAX_DIMS], is[TF_MAX_DIMS], istr[TF_MAX_DIMS];
  int64_t ss[TF_MAX_DIMS], sstr[TF_MAX_DIMS];
  int nd = tf_geom_1d(t, ts, tstr), ind = tf_geom_1d(index, is, istr);
  int snd = tf_geom_1d(src, ss, sstr);
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR], c[TF_SHAPE_STR];
  TF_CHECK(nd == ind && nd == snd, TF_ERR_SHAPE,
           "scatter_add: input %s, index %s and src %s must have the same "
           "number of dims", tf_shape_str(t->ndim, t->shape, a),
           tf_shape_str(index->ndim, index->shape, b),
           tf_shape_str(src->ndim, src->shape, c));
  for (int d = 0; d < nd; d++)
    TF_CHECK(is[d] <= ss[d] && (d == dim || is[d] <= ts[d]), TF_ERR_SHAPE,
             "scatter_add: index of shape %s is larger than src %s or the "
             "input %s in dim %d (index may exceed only the input, only in "
             "dim %d)", tf_shape_str(index->ndim, index->shape, b),
             tf_shape_str(src->ndim, src->shape, c),
             tf_shape_str(t->ndim, t->shape, a), d, dim);
  tf_tensor *o = NULL;
  TF_TRY(tf_clone(t, &o));
  return finish(o, kernel(o, dim, index, src), out);
}

tf_status tf_index_select(const tf_tensor *t, int dim, const tf_tensor *index,
                          tf_tensor **out) {
  TF_TRY(tf_check_same_device("index_select", t, index));
  TF_TRY(check_index("index_select", index));
  TF_TRY(tf_norm_dim("index_select", &dim, t->ndim));
  tf_index_select_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), "index_select", k->index_select);
  char a[TF_SHAPE_STR];
  TF_CHECK(index->ndim <= 1, TF_ERR_SHAPE,
           "index_select: index must be 1-D or 0-d, got shape %s",
           tf_shape_str(index->ndim, index->shape, a));
  int64_t shape[TF_MAX_DIMS];
  int ndim = t->ndim ? t->ndim : index->ndim; /* a 0-d input takes index's */
  memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  if (ndim) shape[dim] = tf_tensor_numel(index);
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(t->storage->alloc, ndim, shape, t->dtype, &o));
  return finish(o, kernel(t, dim, index, o), out);
}

/* ---- advanced indexing ---------------------------------------------------- */
/* The k index tensors: int64, on t's device, of one shape I (broadcast by
 * the caller), and few enough dims for the result. */
static tf_status check_indices(const char *op, const tf_tensor *t, int k,
                               tf_tensor *const *indices) {
  TF_CHECK(k >= 1 && k <= t->ndim && indices != NULL, TF_ERR_INDEX,
           "%s: %d index tensors given for a tensor of %d dims (expected 1 "
           "to %d)", op, k, t->ndim, t->ndim);
  const tf_tensor *i0 = indices[0];
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  for (int j = 0; j < k; j++) {
    TF_TRY(check_index(op, indices[j]));
    TF_TRY(tf_check_same_device(op, t, indices[j]));
    const tf_tensor *ij = indices[j];
    TF_CHECK(ij->ndim == i0->ndim &&
                 !memcmp(ij->shape, i0->shape, sizeof(int64_t) * (size_t)i0->ndim),
             TF_ERR_SHAPE,
             "%s: index tensors must have one shape (broadcast them first), "
             "got %s for index 0 and %s for index %d", op,
             tf_shape_str(i0->ndim, i0->shape, a),
             tf_shape_str(ij->ndim, ij->shape, b), j);
  }
  TF_CHECK(i0->ndim + t->ndim - k <= TF_MAX_DIMS, TF_ERR_VALUE,
           "%s: the result would have %d dims, more than the %d a tensor can "
           "have", op, i0->ndim + t->ndim - k, TF_MAX_DIMS);
  return TF_OK;
}

tf_status tf_index_get(const tf_tensor *t, int k, tf_tensor *const *indices,
                       tf_tensor **out) {
  TF_TRY(tf_check_device("index", t));
  TF_TRY(check_indices("index", t, k, indices));
  tf_index_get_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), "index", k->index_get);
  const tf_tensor *i0 = indices[0];
  int nrest = t->ndim - k, nI = i0->ndim;
  int64_t shape[TF_MAX_DIMS];
  memcpy(shape, i0->shape, sizeof(int64_t) * (size_t)nI);
  memcpy(shape + nI, t->shape + k, sizeof(int64_t) * (size_t)nrest);
  tf_tensor *o = NULL;
  TF_TRY(tf_new_on(t->storage->alloc, nI + nrest, shape, t->dtype, &o));
  return finish(o, kernel(t, k, indices, o), out);
}

static tf_status put_values(const tf_tensor *t, const tf_tensor *values,
                            int nfull, const int64_t *full, tf_tensor **v) {
  char a[TF_SHAPE_STR], b[TF_SHAPE_STR];
  bool fits = values->ndim <= nfull;
  for (int d = 0; fits && d < values->ndim; d++) {
    int64_t s = values->shape[d], want = full[nfull - values->ndim + d];
    fits = s == want || s == 1;
  }
  TF_CHECK(fits, TF_ERR_SHAPE,
           "index_put_: values of shape %s cannot be broadcast to the indexed "
           "shape %s", tf_shape_str(values->ndim, values->shape, a),
           tf_shape_str(nfull, full, b));
  /* A copy when the dtype differs or the values might be overwritten
   * while they are read. */
  if (values->dtype != t->dtype || values->storage == t->storage)
    return tf_to_dtype(values, t->dtype, v);
  tf_tensor_retain((tf_tensor *)values);
  *v = (tf_tensor *)values;
  return TF_OK;
}

tf_status tf_index_put_(tf_tensor *t, int k, tf_tensor *const *indices,
                        const tf_tensor *values, bool accumulate) {
  TF_TRY(tf_check_same_device("index_put_", t, values));
  TF_TRY(tf_check_writable("index_put_", t));
  TF_TRY(check_indices("index_put_", t, k, indices));
  tf_index_put_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), "index_put_", k->index_put);
  const tf_tensor *i0 = indices[0];
  int nI = i0->ndim, nrest = t->ndim - k, nfull = nI + nrest;
  int64_t full[TF_MAX_DIMS];
  memcpy(full, i0->shape, sizeof(int64_t) * (size_t)nI);
  memcpy(full + nI, t->shape + k, sizeof(int64_t) * (size_t)nrest);
  tf_tensor *v = NULL;
  TF_TRY(put_values(t, values, nfull, full, &v));
  tf_bump_version(t);
  tf_status st = kernel(t, k, indices, v, accumulate);
  tf_tensor_release(v);
  return st;
}

/* ---- nonzero -------------------------------------------------------------- */
tf_status tf_nonzero(const tf_tensor *t, tf_tensor **out) {
  TF_TRY(tf_check_device("nonzero", t));
  tf_nonzero_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(t), "nonzero", k->nonzero);
  return kernel(t, out);
}
