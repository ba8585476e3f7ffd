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
 * Every element is computed in double and rounded once (float32), float32
 * rows by branch-free functions the compiler vectorizes (tf_exp_poly,
 * relative error < 3e-10, far below float32's half ULP), float64 ones with
 * libm; each output element by exactly one thread, rows split statically,
 * so results do not depend on the thread count. Threads only from N * H =
 * TF_PARALLEL_GRAIN hidden elements on: a step of a (32, 256) LSTM is ~50 us
 * of work, less than waking a second thread costs on a busy machine. */
#include <math.h>

#include "../backend.h"
#include "fast_math.h"

/* 1 / (1 + e^-x) in double: below 2^-51 relative (e^-x overflows only
 * where the result is 0 to double precision anyway). */
static inline double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* tanh x = t / (t + 2), t = expm1(2x), for x >= 0 (odd symmetry below):
 * a few double ULPs, which float32 rounds away. NaN propagates. */
static inline double tanh_d(double x) {
  double a = fabs(x);
  if (!(a < 20.0)) return a != a ? x : copysign(1.0, x); /* 1 - tanh 20 < 2^-57 */
  double t = expm1(2.0 * a);
  return copysign(t / (t + 2.0), x);
}

/* float32 rows: 1 / (1 + e^-x) and tanh from tf_exp_poly. tanh|x| =
 * (1 - E) / (1 + E), E = e^-2|x|, loses E's relative error 3e-10 to
 * cancellation near 0 (relative error 3e-10 / 2|x|), so below |x| = 0.05 it
 * is the odd series to x^7 (next term 62/2835 x^9: < 1e-13 relative). */
static inline double sig_poly(double x) {
  /* e = e^-|x| <= 1, so nothing overflows: tf_exp_poly clamps its argument
   * at 89, which 1 / (1 + e^-x) would hit for x < -89 (float32 sigmoid
   * reaches its subnormals, e^x, down to x = -103) */
  double e = tf_exp_poly(-fabs(x)), r = (x < 0 ? e : 1.0) / (1.0 + e);
  return x != x ? x : r;
}
static inline double tanh_poly(double x) {
  double a = fabs(x), a2 = a * a, e = tf_exp_poly(-2.0 * a);
  double big = (1.0 - e) / (1.0 + e);
  double small = a * (1.0 + a2 * (-1.0 / 3 + a2 * (2.0 / 15 + a2 * (-17.0 / 315))));
  double r = copysign(a < 0.05 ? small : big, x);
  return x != x ? x : r;
}

TF_SIMD_CLONES static void lstm_row_f32(const float *restrict g, const float *restrict cp,
                                        float *restrict h, float *restrict c,
                                        float *restrict a, int64_t H) {
  for (int64_t j = 0; j < H; j++) {
    double i = sig_poly(g[j]), f = sig_poly(g[H + j]);
    double gg = tanh_poly(g[2 * H + j]), o = sig_poly(g[3 * H + j]);
    double cv = i * gg + (cp ? f * (double)cp[j] : 0.0);
    float cr = (float)cv;
    double tc = tanh_poly(cr);
    c[j] = cr;
    h[j] = (float)(o * tc);
    a[j] = (float)i;
    a[H + j] = (float)f;
    a[2 * H + j] = (float)gg;
    a[3 * H + j] = (float)o;
    a[4 * H + j] = (float)tc;
  }
}

static void lstm_fwd_f32(const float *gates, const float *cp, float *hc, float *act,
                         int64_t n, int64_t H) {
  TF_PARALLEL_FOR(n * H >= TF_PARALLEL_GRAIN)
  for (int64_t r = 0; r < n; r++)
    lstm_row_f32(gates + r * 4 * H, cp ? cp + r * H : NULL, hc + r * 2 * H,
                 hc + r * 2 * H + H, act + r * 5 * H, H);
}

#define LSTM_FWD(T)                                                          \
  static void lstm_fwd_##T(const T *gates, const T *cp, T *hc, T *act,       \
                           int64_t n, int64_t H) {                           \
    TF_PARALLEL_FOR(n * H >= TF_PARALLEL_GRAIN)                              \
    for (int64_t r = 0; r < n; r++) {                                        \
      const T *g = gates + r * 4 * H;                                        \
      T *h = hc + r * 2 * H, *c = h + H, *a = act + r * 5 * H;               \
      for (int64_t j = 0; j < H; j++) {                                      \
        double i = sig((double)g[j]), f = sig((double)g[H + j]);             \
        double gg = tanh_d((double)g[2 * H + j]), o = sig((double)g[3 * H + j]); \
        double cv = i * gg + (cp ? f * (double)cp[r * H + j] : 0.0);         \
        T cr = (T)cv; /* c as stored: tanh and the next step read it */      \
        double tc = tanh_d((double)cr);                                      \
        c[j] = cr;                                                           \
        h[j] = (T)(o * tc);                                                  \
        a[j] = (T)i;                                                         \
        a[H + j] = (T)f;                                                     \
        a[2 * H + j] = (T)gg;                                                \
        a[3 * H + j] = (T)o;                                                 \
        a[4 * H + j] = (T)tc;                                                \
      }                                                                      \
    }                                                                        \
  }
LSTM_FWD(double)

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

/* With s = dc + dh o (1 - tanh^2 c):
 *   d gate_i = s g i (1 - i),  d gate_f = s c_prev f (1 - f),
 *   d gate_g = s i (1 - g^2),  d gate_o = dh tanh(c) o (1 - o),
 *   d c_prev = s f. */
#define LSTM_BWD(T)                                                          \
  static void lstm_bwd_##T(const T *dhc, const T *act, const T *cp, T *dg,   \
                           T *dcp, int64_t n, int64_t H) {                   \
    TF_PARALLEL_FOR(n * H >= TF_PARALLEL_GRAIN)                              \
    for (int64_t r = 0; r < n; r++) {                                        \
      const T *dh = dhc + r * 2 * H, *dc = dh + H, *a = act + r * 5 * H;     \
      T *d = dg + r * 4 * H;                                                 \
      for (int64_t j = 0; j < H; j++) {                                      \
        double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];   \
        double tc = a[4 * H + j], h = dh[j];                                 \
        double s = (double)dc[j] + h * o * (1.0 - tc * tc);                  \
        double c0 = cp ? (double)cp[r * H + j] : 0.0;                        \
        d[j] = (T)(s * g * i * (1.0 - i));                                   \
        d[H + j] = (T)(s * c0 * f * (1.0 - f));                              \
        d[2 * H + j] = (T)(s * i * (1.0 - g * g));                           \
        d[3 * H + j] = (T)(h * tc * o * (1.0 - o));                          \
        if (dcp) dcp[r * H + j] = (T)(s * f);                                \
      }                                                                      \
    }                                                                        \
  }
LSTM_BWD(float)
LSTM_BWD(double)

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
