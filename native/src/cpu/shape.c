/* shape.c: placeholder. */
#include "../internal.h"
tf_status tf_cat(int n, tf_tensor *const *tensors, int dim, tf_tensor **out) {
  (void)n; (void)tensors; (void)dim; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "cat: not implemented yet");
}
tf_status tf_flip(const tf_tensor *t, uint32_t dim_mask, tf_tensor **out) {
  (void)t; (void)dim_mask; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "flip: not implemented yet");
}
tf_status tf_pad(const tf_tensor *t, const int64_t *pads, int mode,
                 double value, tf_tensor **out) {
  (void)t; (void)pads; (void)mode; (void)value; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "pad: not implemented yet");
}
tf_status tf_tril(const tf_tensor *t, int64_t k, bool upper, tf_tensor **out) {
  (void)t; (void)k; (void)upper; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "tril: not implemented yet");
}
