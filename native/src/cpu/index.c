/* index.c: placeholder. */
#include "../internal.h"
tf_status tf_gather(const tf_tensor *t, int dim, const tf_tensor *index,
                    tf_tensor **out) {
  (void)t; (void)dim; (void)index; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "gather: not implemented yet");
}
tf_status tf_scatter_add(const tf_tensor *t, int dim, const tf_tensor *index,
                         const tf_tensor *src, tf_tensor **out) {
  (void)t; (void)dim; (void)index; (void)src; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "scatter_add: not implemented yet");
}
tf_status tf_index_select(const tf_tensor *t, int dim, const tf_tensor *index,
                          tf_tensor **out) {
  (void)t; (void)dim; (void)index; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "index_select: not implemented yet");
}
tf_status tf_index_get(const tf_tensor *t, int k, tf_tensor *const *indices,
                       tf_tensor **out) {
  (void)t; (void)k; (void)indices; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "index_get: not implemented yet");
}
tf_status tf_index_put_(tf_tensor *t, int k, tf_tensor *const *indices,
                        const tf_tensor *values, bool accumulate) {
  (void)t; (void)k; (void)indices; (void)values; (void)accumulate;
  return tf_fail(TF_ERR_INTERNAL, "index_put_: not implemented yet");
}
tf_status tf_nonzero(const tf_tensor *t, tf_tensor **out) {
  (void)t; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "nonzero: not implemented yet");
}
