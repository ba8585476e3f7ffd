/* random.c: placeholder. */
#include "internal.h"
void tf_manual_seed(uint64_t seed) { (void)seed; }
uint64_t tf_initial_seed(void) { return 0; }
tf_status tf_rand(int ndim, const int64_t *shape, tf_dtype dtype, double low,
                  double high, tf_tensor **out) {
  (void)ndim; (void)shape; (void)dtype; (void)low; (void)high; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "rand: not implemented yet");
}
tf_status tf_randn(int ndim, const int64_t *shape, tf_dtype dtype, double mean,
                   double std, tf_tensor **out) {
  (void)ndim; (void)shape; (void)dtype; (void)mean; (void)std; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "randn: not implemented yet");
}
tf_status tf_randint(int ndim, const int64_t *shape, tf_dtype dtype,
                     int64_t low, int64_t high, tf_tensor **out) {
  (void)ndim; (void)shape; (void)dtype; (void)low; (void)high; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "randint: not implemented yet");
}
