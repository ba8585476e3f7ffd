/* returning.c: the returning forms of a few entry points, for the Python
 * layer's per-op hot path (tinyfin.h, "returning forms").
 *
 * Each runs the entry point of the same name, with its checks and messages,
 * and returns the result itself instead of writing it through an
 * out-pointer: NULL on failure, the status then in tf_last_status() and
 * the message in tf_last_error(). ctypes turns a returned pointer into the
 * Python handle object directly; making an out-pointer object and passing
 * it by reference costs more than the C work of a small view, and so does
 * each argument (ctypes prepares the call anew every time), hence the
 * fixed dim 0 and step 1 of tf_slice_r. Sizes and
 * indices are C ints, which ctypes passes without converters; the Python
 * side takes these forms only when its values fit (else the int64 entry
 * points). */
#include "../internal.h"

static _Thread_local tf_status last_status;

tf_status tf_last_status(void) { return last_status; }

/* out as the result, or NULL when status failed. (The call goes first, in
 * a statement of its own: the order in which a call's arguments are
 * evaluated is unspecified, so result(tf_x(..., &out), out) could read out
 * before tf_x wrote it.) */
static tf_tensor *result(tf_status status, tf_tensor *out) {
  if (status == TF_OK) return out;
  last_status = status;
  return NULL;
}

tf_tensor *tf_matmul_r(const tf_tensor *a, const tf_tensor *b) {
  tf_tensor *out = NULL;
  tf_status s = tf_matmul(a, b, &out);
  return result(s, out);
}

tf_tensor *tf_reduce_r(int op, const tf_tensor *x, uint32_t dim_mask,
                       int keepdim) {
  tf_tensor *out = NULL;
  tf_status s = tf_reduce(op, x, dim_mask, keepdim != 0, 0.0, &out, NULL);
  return result(s, out);
}

tf_tensor *tf_slice_r(const tf_tensor *t, int start, int stop) {
  tf_tensor *out = NULL;
  tf_status s = tf_slice(t, 0, start, stop, 1, &out);
  return result(s, out);
}

tf_tensor *tf_select_r(const tf_tensor *t, int dim, int index) {
  tf_tensor *out = NULL;
  tf_status s = tf_select(t, dim, index, &out);
  return result(s, out);
}

tf_tensor *tf_transpose_r(const tf_tensor *t, int dim0, int dim1) {
  tf_tensor *out = NULL;
  tf_status s = tf_transpose(t, dim0, dim1, &out);
  return result(s, out);
}

/* tf_view with ndim <= 3 sizes as arguments (those past ndim ignored):
 * never a copy, so the Python side may call it keeping the GIL; where the
 * strides need a copy it fails, and reshape takes its full path. */
tf_tensor *tf_view_r(const tf_tensor *t, int ndim, int s0, int s1, int s2) {
  tf_tensor *out = NULL;
  if (ndim < 0 || ndim > 3)
    return result(tf_fail(TF_ERR_VALUE, "view: the returning form takes at "
                          "most 3 sizes, got %d", ndim), NULL);
  int64_t shape[3] = {s0, s1, s2};
  tf_status s = tf_view(t, ndim, shape, &out);
  return result(s, out);
}
