/* optim.c: the cpu's fused optimizer steps (SGD, Adam / AdamW, RMSprop,
 * Adagrad; the entry points are ops/optim.c, the plan and the steps
 * cpu/optim_step.h, shared with the CUDA kernels).
 *
 * Each kernel is one pass over the parameter: every element of the param
 * and of its state buffers is read once, updated and written once, with no
 * temporary tensor, over the threads when the parameter is large.
 */
#include <math.h>

#include "../backend.h"

#define TF_OPTIM_FOR(i, n)                \
  TF_PARALLEL_FOR((n) >= TF_PARALLEL_GRAIN) \
  for (int64_t i = 0; i < (n); i++)

/* The step of P->kind over param's buffers. */
#define DISPATCH(T, SFX)                                                      \
  static void optim_##SFX(const tf_optim_plan *P, T *p, const T *g,           \
                          tf_tensor *const *buf) {                            \
    T *b0 = buf[0] ? (T *)tf_ptr(buf[0]) : NULL;                              \
    T *b1 = buf[1] ? (T *)tf_ptr(buf[1]) : NULL;                              \
    T *b2 = buf[2] ? (T *)tf_ptr(buf[2]) : NULL;                              \
    switch (P->kind) {                                                        \
    case TF_OPTIM_SGD: sgd_##SFX(*P, p, g, b0, P->n); break;                   \
    case TF_OPTIM_ADAM: adam_##SFX(*P, p, g, b0, b1, b2, P->n); break;         \
    case TF_OPTIM_RMSPROP: rmsprop_##SFX(*P, p, g, b0, b1, b2, P->n); break;   \
    default: adagrad_##SFX(*P, p, g, b0, P->n); break;                         \
    }                                                                         \
  }


TF_DEFINE_OPTIM_STEPS(static, float, f32, sqrtf, fabsf)
TF_DEFINE_OPTIM_STEPS(static, double, f64, sqrt, fabs)
DISPATCH(float, f32)
DISPATCH(double, f64)

tf_status tf_cpu_optim(const tf_optim_plan *p, tf_tensor *param,
                       const tf_tensor *grad, tf_tensor *const *buf) {
  if (param->dtype == TF_FLOAT32)
    optim_f32(p, (float *)tf_ptr(param), (const float *)tf_ptr(grad), buf);
  else if (param->dtype == TF_FLOAT64)
    optim_f64(p, (double *)tf_ptr(param), (const double *)tf_ptr(grad), buf);
  else
    return tf_fail(TF_ERR_INTERNAL, "optim: the cpu kernel got a %s param",
                   tf_dtype_name(param->dtype));
  return TF_OK;
}
