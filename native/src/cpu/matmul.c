/* matmul.c: placeholder. */
#include "../internal.h"
tf_status tf_matmul(const tf_tensor *a, const tf_tensor *b, tf_tensor **out) {
  (void)a; (void)b; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "matmul: not implemented yet");
}
