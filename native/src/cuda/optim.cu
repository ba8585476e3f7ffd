/* optim.cu: the optimizers' fused steps on the device: cpu/optim_step.h's
 * steps compiled as kernels (one thread per element, grid-stride), so an
 * update is the cpu's operation by operation and bitwise equal to it. */
#include <math.h>

#include "device_api.h"
#include "launch.h"

#define TF_OPTIM_FOR(i, n) TFC_FOR_EACH(i, n)
#include "optim_step.h"

namespace {

TF_DEFINE_OPTIM_STEPS(__global__, float, f32, sqrtf, fabsf)
TF_DEFINE_OPTIM_STEPS(__global__, double, f64, sqrt, fabs)

/* The step of P.kind on the element type T (suffix SFX); buffers the step
 * does not use are NULL. */
#define LAUNCH_STEP(T, SFX)                                                               \
  switch (P.kind) {                                                                       \
    case TF_OPTIM_SGD:                                                                    \
      TFC_LAUNCH(sgd_##SFX, grid, kBlock, P, (T *)param, (const T *)grad, (T *)b0, P.n);  \
      break;                                                                              \
    case TF_OPTIM_ADAM:                                                                   \
      TFC_LAUNCH(adam_##SFX, grid, kBlock, P, (T *)param, (const T *)grad, (T *)b0,       \
                 (T *)b1, (T *)b2, P.n);                                                  \
      break;                                                                              \
    case TF_OPTIM_RMSPROP:                                                                \
      TFC_LAUNCH(rmsprop_##SFX, grid, kBlock, P, (T *)param, (const T *)grad, (T *)b0,    \
                 (T *)b1, (T *)b2, P.n);                                                  \
      break;                                                                              \
    default:                                                                              \
      TFC_LAUNCH(adagrad_##SFX, grid, kBlock, P, (T *)param, (const T *)grad, (T *)b0,    \
                 P.n);                                                                    \
      break;                                                                              \
  }

}  // namespace

extern "C" int tfc_optim(int dtype, const tf_optim_plan *plan, void *param, const void *grad,
                         void *b0, void *b1, void *b2, char *why, size_t why_len) {
  const tf_optim_plan P = *plan; /* by value: a kernel argument */
  if (P.n == 0) return 0;
  unsigned grid = grid_for(P.n);
  if (dtype == 0) {
    LAUNCH_STEP(float, f32)
  } else {
    LAUNCH_STEP(double, f64)
  }
  return fail(cudaGetLastError(), "optimizer step kernel", why, why_len);
}
