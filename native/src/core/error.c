/* error.c: the thread-local error message behind tf_last_error(), and the
 * small checks and formatters every op uses to build its messages. */
#include <stdarg.h>

#include "../internal.h"

static _Thread_local char tf_error_message[1024];

const char *tf_last_error(void) { return tf_error_message; }

tf_status tf_fail(tf_status status, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(tf_error_message, sizeof tf_error_message, fmt, args);
  va_end(args);
  return status;
}

const char *tf_shape_str(int ndim, const int64_t *shape, char *buf) {
  size_t used = 0;
  buf[used++] = '(';
  for (int d = 0; d < ndim && used < TF_SHAPE_STR - 32; d++) {
    used += (size_t)snprintf(buf + used, TF_SHAPE_STR - used, "%s%lld",
                             d ? ", " : "", (long long)shape[d]);
  }
  /* A 1-tuple keeps Python's trailing comma: (3,) */
  snprintf(buf + used, TF_SHAPE_STR - used, "%s)", ndim == 1 ? "," : "");
  return buf;
}

const char *tf_dtype_name(tf_dtype dtype) {
  switch (dtype) {
    case TF_FLOAT32: return "float32";
    case TF_FLOAT64: return "float64";
    case TF_INT64: return "int64";
    case TF_BOOL: return "bool";
    default: return "unknown dtype";
  }
}

tf_status tf_norm_dim(const char *op, int *dim, int ndim) {
  int lo = ndim ? -ndim : -1, hi = ndim ? ndim - 1 : 0;
  TF_CHECK(*dim >= lo && *dim <= hi, TF_ERR_INDEX,
           "%s: dim %d is out of range for a tensor of %d dims "
           "(expected a dim in [%d, %d])", op, *dim, ndim, lo, hi);
  if (*dim < 0) *dim += ndim ? ndim : 1;
  return TF_OK;
}
