/* reduce.c: placeholder, replaced by the reduction kernels. */
#include "../internal.h"
static const char *const reduce_names[] = {
#define TF_REDUCE_OP(ENUM, name) #name,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
};
const char *tf_reduce_name(int op) {
  return op >= 0 && op < TF_REDUCE_COUNT ? reduce_names[op] : NULL;
}
tf_status tf_reduce(int op, const tf_tensor *x, uint32_t dim_mask,
                    bool keepdim, double param, tf_tensor **values,
                    tf_tensor **indices) {
  (void)op; (void)x; (void)dim_mask; (void)keepdim; (void)param; (void)values; (void)indices;
  return tf_fail(TF_ERR_INTERNAL, "reduce: not implemented yet");
}
tf_status tf_softmax(const tf_tensor *x, int dim, bool log, tf_tensor **out) {
  (void)x; (void)dim; (void)log; (void)out;
  return tf_fail(TF_ERR_INTERNAL, "softmax: not implemented yet");
}
