/* lstm_cell.h: the LSTM cell's pointwise arithmetic, one element at a
 * time, written once for the cpu (cpu/rnn.c, whose loops the compiler
 * vectorizes around these inlined functions) and the CUDA kernels
 * (cuda/rnn.cu), so both devices compute every element with the same
 * operations (loss_rows.h says what fused multiply-adds can change).
 *
 * Every element is computed in double and rounded once: float32 elements
 * by branch-free functions of tf_exp_poly (relative error < 3e-10, far
 * below float32's half ULP), float64 ones with libm. Gates in PyTorch's
 * order i, f, g, o; the activations saved for the backward: sigmoid i,
 * sigmoid f, tanh g, sigmoid o, tanh c. */
#ifndef TF_LSTM_CELL_H
#define TF_LSTM_CELL_H

#include <math.h>

#include "fast_math.h" /* tf_exp_poly, TF_DD_INLINE */

/* 1 / (1 + e^-x) in double: below 2^-51 relative (e^-x overflows only
 * where the result is 0 to double precision anyway). */
TF_DD_INLINE double tf_lstm_sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* tanh x = t / (t + 2), t = expm1(2x), for x >= 0 (odd symmetry below):
 * a few double ULPs, which float32 rounds away. NaN propagates. */
TF_DD_INLINE double tf_lstm_tanh(double x) {
  double a = fabs(x);
  if (!(a < 20.0)) return a != a ? x : copysign(1.0, x); /* 1 - tanh 20 < 2^-57 */
  double t = expm1(2.0 * a);
  return copysign(t / (t + 2.0), x);
}

/* float32 elements: 1 / (1 + e^-x) and tanh from tf_exp_poly. tanh|x| =
 * (1 - E) / (1 + E), E = e^-2|x|, loses E's relative error 3e-10 to
 * cancellation near 0 (relative error 3e-10 / 2|x|), so below |x| = 0.05 it
 * is the odd series to x^7 (next term 62/2835 x^9: < 1e-13 relative). */
TF_DD_INLINE double tf_lstm_sig_poly(double x) {
  /* e = e^-|x| <= 1, so nothing overflows: tf_exp_poly clamps its argument
   * at 89, which 1 / (1 + e^-x) would hit for x < -89 (float32 sigmoid
   * reaches its subnormals, e^x, down to x = -103) */
  double e = tf_exp_poly(-fabs(x)), r = (x < 0 ? e : 1.0) / (1.0 + e);
  return x != x ? x : r;
}
TF_DD_INLINE double tf_lstm_tanh_poly(double x) {
  double a = fabs(x), a2 = a * a, e = tf_exp_poly(-2.0 * a);
  double big = (1.0 - e) / (1.0 + e);
  double small = a * (1.0 + a2 * (-1.0 / 3 + a2 * (2.0 / 15 + a2 * (-17.0 / 315))));
  double r = copysign(a < 0.05 ? small : big, x);
  return x != x ? x : r;
}

/* Element j of a row of H: g the row's gates (4H), cp its c_prev (H) or
 * NULL, h and c the new state, a the row's activations (5H). c is rounded
 * to the dtype before tanh reads it (the next step reads it so). */
#define TF_LSTM_FORWARD_ELEM(T, SIG, TANH)                                   \
  do {                                                                       \
    double i = SIG((double)g[j]), f = SIG((double)g[H + j]);                 \
    double gg = TANH((double)g[2 * H + j]), o = SIG((double)g[3 * H + j]);   \
    double cv = i * gg + (cp ? f * (double)cp[j] : 0.0);                     \
    T cr = (T)cv;                                                            \
    double tc = TANH((double)cr);                                            \
    c[j] = cr;                                                               \
    h[j] = (T)(o * tc);                                                      \
    a[j] = (T)i;                                                             \
    a[H + j] = (T)f;                                                         \
    a[2 * H + j] = (T)gg;                                                    \
    a[3 * H + j] = (T)o;                                                     \
    a[4 * H + j] = (T)tc;                                                    \
  } while (0)
TF_DD_INLINE void tf_lstm_forward_f32(const float *g, const float *cp, float *h, float *c,
                                      float *a, int64_t H, int64_t j) {
  TF_LSTM_FORWARD_ELEM(float, tf_lstm_sig_poly, tf_lstm_tanh_poly);
}
TF_DD_INLINE void tf_lstm_forward_f64(const double *g, const double *cp, double *h, double *c,
                                      double *a, int64_t H, int64_t j) {
  TF_LSTM_FORWARD_ELEM(double, tf_lstm_sig, tf_lstm_tanh);
}

/* The backward of element j, with s = dc + dh o (1 - tanh^2 c):
 *   d gate_i = s g i (1 - i),  d gate_f = s c_prev f (1 - f),
 *   d gate_g = s i (1 - g^2),  d gate_o = dh tanh(c) o (1 - o),
 *   d c_prev = s f.
 * dh, dc: the row's upstream gradients (H each), a its activations, cp
 * its c_prev or NULL, d its gate gradients (4H), dcp its dc_prev or NULL. */
#define TF_LSTM_BACKWARD_ELEM(T)                                             \
  do {                                                                       \
    double i = a[j], f = a[H + j], gv = a[2 * H + j], o = a[3 * H + j];      \
    double tc = a[4 * H + j], hv = dh[j];                                    \
    double s = (double)dc[j] + hv * o * (1.0 - tc * tc);                     \
    double c0 = cp ? (double)cp[j] : 0.0;                                    \
    d[j] = (T)(s * gv * i * (1.0 - i));                                      \
    d[H + j] = (T)(s * c0 * f * (1.0 - f));                                  \
    d[2 * H + j] = (T)(s * i * (1.0 - gv * gv));                             \
    d[3 * H + j] = (T)(hv * tc * o * (1.0 - o));                             \
    if (dcp) dcp[j] = (T)(s * f);                                            \
  } while (0)
TF_DD_INLINE void tf_lstm_backward_f32(const float *dh, const float *dc, const float *a,
                                       const float *cp, float *d, float *dcp, int64_t H,
                                       int64_t j) {
  TF_LSTM_BACKWARD_ELEM(float);
}
TF_DD_INLINE void tf_lstm_backward_f64(const double *dh, const double *dc, const double *a,
                                       const double *cp, double *d, double *dcp, int64_t H,
                                       int64_t j) {
  TF_LSTM_BACKWARD_ELEM(double);
}

#endif /* TF_LSTM_CELL_H */
