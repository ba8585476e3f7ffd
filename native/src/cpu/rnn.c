/* rnn.c: the cpu kernels of the LSTM cell's pointwise part (the entry
 * points, with the checks and allocation, are ops/rnn.c). One pass over the
 * gate pre-activations per step instead of a dozen elementwise ops.
 *
 * Layouts (all contiguous, rows of the batch):
 *   gates (N, 4H)  pre-activations, PyTorch's order i, f, g, o
 *   c_prev (N, H)  or NULL for a zero state
 *   hc (N, 2H)     the new h (first H) and c (last H) side by side
 *   act (N, 5H)    saved for the backward: sigmoid i, sigmoid f, tanh g,
 *                  sigmoid o, tanh c
 * The element arithmetic is cpu/lstm_cell.h (shared with cuda/rnn.cu):
 * double, rounded once; float32 rows by branch-free functions the compiler
 * vectorizes. Each output element by exactly one thread, rows split statically,
 * so results do not depend on the thread count. Threads only from N * H =
 * TF_PARALLEL_GRAIN hidden elements on: a step of a (32, 256) LSTM is ~50 us
 * of work, less than waking a second thread costs on a busy machine. */
#include "../backend.h"
#include "lstm_cell.h" /* the element arithmetic, shared with the CUDA kernels */

TF_SIMD_CLONES static void lstm_row_f32(const float *restrict g, const float *restrict cp,
                                        float *restrict h, float *restrict c,
                                        float *restrict a, int64_t H) {
  for (int64_t j = 0; j < H; j++) tf_lstm_forward_f32(g, cp, h, c, a, H, j);
}

static void lstm_fwd_f32(const float *gates, const float *cp, float *hc, float *act,
                         int64_t n, int64_t H) {
  TF_PARALLEL_FOR(n * H >= TF_PARALLEL_GRAIN)
  for (int64_t r = 0; r < n; r++)
    lstm_row_f32(gates + r * 4 * H, cp ? cp + r * H : NULL, hc + r * 2 * H,
                 hc + r * 2 * H + H, act + r * 5 * H, H);
}

static void lstm_fwd_double(const double *gates, const double *cp, double *hc, double *act,
                            int64_t n, int64_t H) {
  TF_PARALLEL_FOR(n * H >= TF_PARALLEL_GRAIN)
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < H; j++)
      tf_lstm_forward_f64(gates + r * 4 * H, cp ? cp + r * H : NULL, hc + r * 2 * H,
                          hc + r * 2 * H + H, act + r * 5 * H, H, j);
}

tf_status tf_cpu_lstm_cell(const tf_tensor *gates, const tf_tensor *c_prev,
                           tf_tensor *hc, tf_tensor *act) {
  int64_t n = gates->shape[0], H = gates->shape[1] / 4;
  if (gates->dtype == TF_FLOAT32)
    lstm_fwd_f32((const float *)tf_ptr(gates),
                   c_prev ? (const float *)tf_ptr(c_prev) : NULL,
                   (float *)tf_ptr(hc), (float *)tf_ptr(act), n, H);
  else
    lstm_fwd_double((const double *)tf_ptr(gates),
                    c_prev ? (const double *)tf_ptr(c_prev) : NULL,
                    (double *)tf_ptr(hc), (double *)tf_ptr(act), n, H);
  return TF_OK;
}

#define LSTM_BWD(T, SFX)                                                     \
  static void lstm_bwd_##T(const T *dhc, const T *act, const T *cp, T *dg,   \
                           T *dcp, int64_t n, int64_t H) {                   \
    TF_PARALLEL_FOR(n * H >= TF_PARALLEL_GRAIN)                              \
    for (int64_t r = 0; r < n; r++)                                          \
      for (int64_t j = 0; j < H; j++)                                        \
        tf_lstm_backward_##SFX(dhc + r * 2 * H, dhc + r * 2 * H + H,         \
                               act + r * 5 * H, cp ? cp + r * H : NULL,      \
                               dg + r * 4 * H, dcp ? dcp + r * H : NULL, H, j); \
  }
LSTM_BWD(float, f32)
LSTM_BWD(double, f64)

tf_status tf_cpu_lstm_cell_backward(const tf_tensor *dhc, const tf_tensor *act,
                                    const tf_tensor *c_prev, tf_tensor *dgates,
                                    tf_tensor *dc_prev) {
  int64_t n = act->shape[0], H = act->shape[1] / 5;
  if (act->dtype == TF_FLOAT32)
    lstm_bwd_float((const float *)tf_ptr(dhc), (const float *)tf_ptr(act),
                   c_prev ? (const float *)tf_ptr(c_prev) : NULL,
                   (float *)tf_ptr(dgates), dc_prev ? (float *)tf_ptr(dc_prev) : NULL,
                   n, H);
  else
    lstm_bwd_double((const double *)tf_ptr(dhc), (const double *)tf_ptr(act),
                    c_prev ? (const double *)tf_ptr(c_prev) : NULL,
                    (double *)tf_ptr(dgates), dc_prev ? (double *)tf_ptr(dc_prev) : NULL,
                    n, H);
  return TF_OK;
}
