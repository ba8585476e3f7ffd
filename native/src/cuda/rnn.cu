/* rnn.cu: the LSTM cell's pointwise part on the device, forward and
 * backward: cpu/lstm_cell.h's element functions (the cpu's own code,
 * compiled as device functions), one thread per (row, hidden unit). */
#include "device_api.h"
#include "launch.h"

namespace {

__global__ void forward_f32(const float *gates, const float *cp, float *hc, float *act,
                            int64_t n, int64_t H) {
  TFC_FOR_EACH(e, n * H) {
    const int64_t r = e / H;
    tf_lstm_forward_f32(gates + r * 4 * H, cp ? cp + r * H : NULL, hc + r * 2 * H,
                        hc + r * 2 * H + H, act + r * 5 * H, H, e % H);
  }
}
__global__ void forward_f64(const double *gates, const double *cp, double *hc, double *act,
                            int64_t n, int64_t H) {
  TFC_FOR_EACH(e, n * H) {
    const int64_t r = e / H;
    tf_lstm_forward_f64(gates + r * 4 * H, cp ? cp + r * H : NULL, hc + r * 2 * H,
                        hc + r * 2 * H + H, act + r * 5 * H, H, e % H);
  }
}
__global__ void backward_f32(const float *dhc, const float *act, const float *cp, float *dg,
                             float *dcp, int64_t n, int64_t H) {
  TFC_FOR_EACH(e, n * H) {
    const int64_t r = e / H;
    tf_lstm_backward_f32(dhc + r * 2 * H, dhc + r * 2 * H + H, act + r * 5 * H,
                         cp ? cp + r * H : NULL, dg + r * 4 * H, dcp ? dcp + r * H : NULL, H,
                         e % H);
  }
}
__global__ void backward_f64(const double *dhc, const double *act, const double *cp,
                             double *dg, double *dcp, int64_t n, int64_t H) {
  TFC_FOR_EACH(e, n * H) {
    const int64_t r = e / H;
    tf_lstm_backward_f64(dhc + r * 2 * H, dhc + r * 2 * H + H, act + r * 5 * H,
                         cp ? cp + r * H : NULL, dg + r * 4 * H, dcp ? dcp + r * H : NULL, H,
                         e % H);
  }
}

}  // namespace

extern "C" {

int tfc_lstm_cell(int dtype, int64_t n, int64_t H, const void *gates, const void *c_prev,
                  void *hc, void *act, char *why, size_t why_len) {
  if (n * H == 0) return 0;
  if (dtype == 0)
    TFC_LAUNCH(forward_f32, grid_for(n * H), kBlock, (const float *)gates,
               (const float *)c_prev, (float *)hc, (float *)act, n, H);
  else
    TFC_LAUNCH(forward_f64, grid_for(n * H), kBlock, (const double *)gates,
               (const double *)c_prev, (double *)hc, (double *)act, n, H);
  return fail(cudaGetLastError(), "LSTM cell kernel", why, why_len);
}

int tfc_lstm_cell_backward(int dtype, int64_t n, int64_t H, const void *dhc, const void *act,
                           const void *c_prev, void *dgates, void *dc_prev, char *why,
                           size_t why_len) {
  if (n * H == 0) return 0;
  if (dtype == 0)
    TFC_LAUNCH(backward_f32, grid_for(n * H), kBlock, (const float *)dhc, (const float *)act,
               (const float *)c_prev, (float *)dgates, (float *)dc_prev, n, H);
  else
    TFC_LAUNCH(backward_f64, grid_for(n * H), kBlock, (const double *)dhc,
               (const double *)act, (const double *)c_prev, (double *)dgates,
               (double *)dc_prev, n, H);
  return fail(cudaGetLastError(), "LSTM cell backward kernel", why, why_len);
}

}  // extern "C"
