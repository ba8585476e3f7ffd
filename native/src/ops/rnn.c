/* rnn.c: the entry points of the LSTM cell's fused pointwise part (kernels:
 * cpu/rnn.c): argument checks, contiguous operands, allocation on the
 * operands' device, then the chosen backend's kernel. Layouts in cpu/rnn.c. */
#include "../backend.h"

static tf_status check_float_2d(const char *op, const char *what,
                                const tf_tensor *t) {
  TF_TRY(tf_check_device(op, t));
  TF_CHECK(tf_is_float(t->dtype), TF_ERR_DTYPE,
           "%s: %s must be float32 or float64, got %s", op, what,
           tf_dtype_name(t->dtype));
  char s[TF_SHAPE_STR];
  TF_CHECK(t->ndim == 2, TF_ERR_SHAPE, "%s: %s must be 2-D, got shape %s", op,
           what, tf_shape_str(t->ndim, t->shape, s));
  return TF_OK;
}

/* c_prev is NULL or (n, H) of dtype on gates' device. */
static tf_status check_state(const char *op, const tf_tensor *like,
                             const tf_tensor *c_prev, int64_t n, int64_t H) {
  if (!c_prev) return TF_OK;
  TF_TRY(check_float_2d(op, "c_prev", c_prev));
  TF_TRY(tf_check_same_device(op, like, c_prev));
  char s[TF_SHAPE_STR];
  TF_CHECK(c_prev->dtype == like->dtype, TF_ERR_DTYPE,
           "%s: c_prev has dtype %s, expected %s", op, tf_dtype_name(c_prev->dtype),
           tf_dtype_name(like->dtype));
  TF_CHECK(c_prev->shape[0] == n && c_prev->shape[1] == H, TF_ERR_SHAPE,
           "%s: c_prev must be (%lld, %lld), got %s", op, (long long)n,
           (long long)H, tf_shape_str(2, c_prev->shape, s));
  return TF_OK;
}

/* *outs[i] = a new (n, cols[i]) tensor of like's dtype on its device. */
static tf_status new_2d(const char *op, const tf_tensor *like, int64_t n,
                        int64_t cols, tf_tensor **out) {
  int64_t numel;
  TF_CHECK(tf_mul_ok(n, cols, &numel), TF_ERR_SHAPE,
           "%s: a (%lld, %lld) result does not fit in int64", op, (long long)n,
           (long long)cols);
  int64_t shape[2] = {n, cols};
  return tf_new_on(like->storage->alloc, 2, shape, like->dtype, out);
}

tf_status tf_lstm_cell(const tf_tensor *gates, const tf_tensor *c_prev,
                       tf_tensor **hc, tf_tensor **act) {
  const char *op = "lstm_cell";
  TF_TRY(check_float_2d(op, "gates", gates));
  char s[TF_SHAPE_STR];
  int64_t n = gates->shape[0], H = gates->shape[1] / 4, h5, h2;
  TF_CHECK(gates->shape[1] % 4 == 0 && H > 0, TF_ERR_SHAPE,
           "%s: gates must be (N, 4 * hidden_size) with hidden_size > 0, got %s",
           op, tf_shape_str(2, gates->shape, s));
  TF_CHECK(tf_mul_ok(H, 5, &h5) && tf_mul_ok(H, 2, &h2), TF_ERR_SHAPE,
           "%s: hidden_size %lld is too large", op, (long long)H);
  TF_TRY(check_state(op, gates, c_prev, n, H));
  tf_lstm_cell_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(gates), op, k->lstm_cell);
  tf_tensor *g = NULL, *c = NULL, *out = NULL, *a = NULL;
  tf_status st = tf_contiguous(gates, &g);
  if (st == TF_OK && c_prev) st = tf_contiguous(c_prev, &c);
  if (st == TF_OK) st = new_2d(op, gates, n, h2, &out);
  if (st == TF_OK) st = new_2d(op, gates, n, h5, &a);
  if (st == TF_OK) st = kernel(g, c, out, a);
  tf_tensor_release(g);
  tf_tensor_release(c);
  if (st != TF_OK) {
    tf_tensor_release(out);
    tf_tensor_release(a);
    return st;
  }
  *hc = out;
  *act = a;
  return TF_OK;
}

tf_status tf_lstm_cell_backward(const tf_tensor *dhc, const tf_tensor *act,
                                const tf_tensor *c_prev, tf_tensor **dgates,
                                tf_tensor **dc_prev) {
  const char *op = "lstm_cell_backward";
  TF_TRY(check_float_2d(op, "act", act));
  TF_TRY(check_float_2d(op, "dhc", dhc));
  TF_TRY(tf_check_same_device(op, act, dhc));
  char s[TF_SHAPE_STR], s2[TF_SHAPE_STR];
  int64_t n = act->shape[0], H = act->shape[1] / 5;
  TF_CHECK(act->shape[1] % 5 == 0 && H > 0, TF_ERR_SHAPE,
           "%s: act must be (N, 5 * hidden_size), got %s", op,
           tf_shape_str(2, act->shape, s));
  TF_CHECK(dhc->dtype == act->dtype && dhc->shape[0] == n && dhc->shape[1] == 2 * H,
           TF_ERR_SHAPE, "%s: dhc must be (%lld, %lld) of dtype %s, got %s %s", op,
           (long long)n, (long long)(2 * H), tf_dtype_name(act->dtype),
           tf_shape_str(2, dhc->shape, s2), tf_dtype_name(dhc->dtype));
  TF_TRY(check_state(op, act, c_prev, n, H));
  tf_lstm_cell_backward_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(act), op, k->lstm_cell_backward);
  tf_tensor *d = NULL, *a = NULL, *c = NULL, *dg = NULL, *dc = NULL;
  tf_status st = tf_contiguous(dhc, &d);
  if (st == TF_OK) st = tf_contiguous(act, &a);
  if (st == TF_OK && c_prev) st = tf_contiguous(c_prev, &c);
  if (st == TF_OK) st = new_2d(op, act, n, 4 * H, &dg);
  if (st == TF_OK && c_prev) st = new_2d(op, act, n, H, &dc);
  if (st == TF_OK) st = kernel(d, a, c, dg, dc);
  tf_tensor_release(d);
  tf_tensor_release(a);
  tf_tensor_release(c);
  if (st != TF_OK) {
    tf_tensor_release(dg);
    tf_tensor_release(dc);
    return st;
  }
  *dgates = dg;
  *dc_prev = dc;
  return TF_OK;
}
