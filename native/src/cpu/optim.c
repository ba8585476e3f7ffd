/* optim.c: the cpu's fused optimizer steps (SGD, Adam / AdamW, RMSprop,
 * Adagrad; the entry points are ops/optim.c, the plan backend.h's
 * tf_optim_plan).
 *
 * Each kernel is one pass over the parameter: every element of the param
 * and of its state buffers is read once, updated and written once, with no
 * temporary tensor. The arithmetic is PyTorch's single-tensor rule
 * (torch/optim/<name>.py's _single_tensor_<name>) operation by operation, in
 * the same order and in the parameter's dtype: a float32 kernel rounds each
 * Python-side scalar to float32 once (as PyTorch's kernels do with a Python
 * scalar) and rounds after every operation, so its results follow
 * PyTorch's to rounding (the only freedom is whether PyTorch's vectorized
 * kernels fused a multiply-add). Elements are independent, so the split
 * over threads cannot change a result.
 */
#include <math.h>

#include "../backend.h"

#define WORTH(n) ((n) >= TF_PARALLEL_GRAIN)

/* PyTorch's lerp (ATen's lerp in Lerp.h): self + w * (end - self) for a
 * small weight (|w| < 0.5), else end - (end - self) * (1 - w). */
#define LERP(T, FABS, self, end, w) \
  (FABS(w) < (T)0.5 ? (self) + (w) * ((end) - (self)) \
                    : (end) - ((end) - (self)) * ((T)1 - (w)))

/* The loops read the options from locals and branch only on loop-invariant
 * flags between register values (if-converted to selects), so they
 * vectorize; an optional buffer (amsgrad's max, RMSprop's grad_avg and
 * momentum) is a separate loop (the AMS, CEN and MOM literals), since a
 * conditional load or store would keep the loop scalar. */
#define ADAM_LOOP(T, SQRT, FABS, AMS)                                         \
  TF_PARALLEL_FOR(WORTH(n))                                                   \
  for (int64_t i = 0; i < n; i++) {                                           \
    T d = maxim ? -g[i] : g[i], x = p[i];                                     \
    x = decoupled ? x * decay : x;                                            \
    d = l2 ? d + wd * x : d;                                                  \
    T mi = LERP(T, FABS, m[i], d, w1);                                        \
    T vi = v[i] * b2;                                                         \
    vi = vi + w2 * d * d;                                                     \
    m[i] = mi;                                                                \
    v[i] = vi;                                                                \
    if (AMS) {                                                                \
      /* torch.maximum: NaN wins */                                           \
      T a = vmax[i];                                                          \
      vi = (a > vi || a != a) ? a : vi;                                       \
      vmax[i] = vi;                                                           \
    }                                                                         \
    T den = SQRT(vi) / bc2 + eps;                                             \
    p[i] = x + nstep * mi / den;                                              \
  }

#define RMSPROP_LOOP(T, SQRT, FABS, CEN, MOM)                                 \
  TF_PARALLEL_FOR(WORTH(n))                                                   \
  for (int64_t i = 0; i < n; i++) {                                           \
    T d = maxim ? -g[i] : g[i], x = p[i];                                     \
    d = has_wd ? d + wd * x : d;                                              \
    T s = sq[i] * alpha;                                                      \
    s = s + w * d * d;                                                        \
    sq[i] = s;                                                                \
    T avg;                                                                    \
    if (CEN) {                                                                \
      T ga = LERP(T, FABS, gavg[i], d, w);                                    \
      gavg[i] = ga;                                                           \
      avg = SQRT(s + (T)(-1) * ga * ga);                                      \
    } else {                                                                  \
      avg = SQRT(s);                                                          \
    }                                                                         \
    avg = avg + eps;                                                          \
    if (MOM) {                                                                \
      T b = buf[i] * mom;                                                     \
      b = b + (T)1 * d / avg;                                                 \
      buf[i] = b;                                                             \
      p[i] = x + nlr * b;                                                     \
    } else {                                                                  \
      p[i] = x + nlr * d / avg;                                               \
    }                                                                         \
  }

#define DEFINE_OPTIM(T, SFX, SQRT, FABS)                                      \
  static void sgd_##SFX(const tf_optim_plan *P, T *p, const T *g, T *buf,    \
                        int64_t n) {                                          \
    const T wd = (T)P->weight_decay, mom = (T)P->momentum;                    \
    const T damp1 = (T)(1 - P->dampening), nlr = (T)(-P->lr);                 \
    const bool has_wd = P->weight_decay != 0, init = P->init_buffer;          \
    const bool nesterov = P->nesterov, maxim = P->maximize;                   \
    if (!buf) {                                                               \
      TF_PARALLEL_FOR(WORTH(n))                                               \
      for (int64_t i = 0; i < n; i++) {                                       \
        T d = maxim ? -g[i] : g[i], x = p[i];                                 \
        d = has_wd ? d + wd * x : d;                                          \
        p[i] = x + nlr * d;                                                   \
      }                                                                       \
      return;                                                                 \
    }                                                                         \
    TF_PARALLEL_FOR(WORTH(n))                                                 \
    for (int64_t i = 0; i < n; i++) {                                         \
      T d = maxim ? -g[i] : g[i], x = p[i];                                   \
      d = has_wd ? d + wd * x : d;                                            \
      T b = init ? d : buf[i] * mom + damp1 * d;                              \
      buf[i] = b;                                                             \
      d = nesterov ? d + mom * b : b;                                         \
      p[i] = x + nlr * d;                                                     \
    }                                                                         \
  }                                                                           \
                                                                              \
  static void adam_##SFX(const tf_optim_plan *P, T *p, const T *g, T *m,     \
                         T *v, T *vmax, int64_t n) {                          \
    const T wd = (T)P->weight_decay;                                          \
    const T decay = (T)(1 - P->lr * P->weight_decay);                         \
    const T w1 = (T)(1 - P->beta1), b2 = (T)P->beta2;                         \
    const T w2 = (T)(1 - P->beta2);                                           \
    const T bc2 = (T)P->bc2_sqrt, eps = (T)P->eps;                            \
    const T nstep = (T)(-P->step_size);                                       \
    /* ints, not bools: a bool read in the loop has no vector type */        \
    const int has_wd = P->weight_decay != 0, maxim = P->maximize;             \
    const int decoupled = has_wd && P->decoupled, l2 = has_wd && !P->decoupled; \
    if (vmax) {                                                               \
      ADAM_LOOP(T, SQRT, FABS, 1)                                             \
    } else {                                                                  \
      ADAM_LOOP(T, SQRT, FABS, 0)                                             \
    }                                                                         \
  }                                                                           \
                                                                              \
  static void rmsprop_##SFX(const tf_optim_plan *P, T *p, const T *g, T *sq, \
                            T *gavg, T *buf, int64_t n) {                     \
    const T wd = (T)P->weight_decay, alpha = (T)P->alpha;                     \
    const T w = (T)(1 - P->alpha), eps = (T)P->eps, mom = (T)P->momentum;     \
    const T nlr = (T)(-P->lr);                                                \
    const int has_wd = P->weight_decay != 0, maxim = P->maximize;             \
    if (gavg && buf) {                                                        \
      RMSPROP_LOOP(T, SQRT, FABS, 1, 1)                                       \
    } else if (gavg) {                                                        \
      RMSPROP_LOOP(T, SQRT, FABS, 1, 0)                                       \
    } else if (buf) {                                                         \
      RMSPROP_LOOP(T, SQRT, FABS, 0, 1)                                       \
    } else {                                                                  \
      RMSPROP_LOOP(T, SQRT, FABS, 0, 0)                                       \
    }                                                                         \
  }                                                                           \
                                                                              \
  static void adagrad_##SFX(const tf_optim_plan *P, T *p, const T *g, T *sum,\
                            int64_t n) {                                      \
    const T wd = (T)P->weight_decay, eps = (T)P->eps, nclr = (T)(-P->clr);    \
    const bool has_wd = P->weight_decay != 0, maxim = P->maximize;            \
    TF_PARALLEL_FOR(WORTH(n))                                                 \
    for (int64_t i = 0; i < n; i++) {                                         \
      T d = maxim ? -g[i] : g[i], x = p[i];                                   \
      d = has_wd ? d + wd * x : d;                                            \
      T s = sum[i] + (T)1 * d * d;                                            \
      sum[i] = s;                                                             \
      T std = SQRT(s) + eps;                                                  \
      p[i] = x + nclr * d / std;                                              \
    }                                                                         \
  }                                                                           \
                                                                              \
  static void optim_##SFX(const tf_optim_plan *P, T *p, const T *g,           \
                          tf_tensor *const *buf) {                            \
    T *b0 = buf[0] ? (T *)tf_ptr(buf[0]) : NULL;                              \
    T *b1 = buf[1] ? (T *)tf_ptr(buf[1]) : NULL;                              \
    T *b2 = buf[2] ? (T *)tf_ptr(buf[2]) : NULL;                              \
    switch (P->kind) {                                                        \
    case TF_OPTIM_SGD: sgd_##SFX(P, p, g, b0, P->n); break;                   \
    case TF_OPTIM_ADAM: adam_##SFX(P, p, g, b0, b1, b2, P->n); break;         \
    case TF_OPTIM_RMSPROP: rmsprop_##SFX(P, p, g, b0, b1, b2, P->n); break;   \
    default: adagrad_##SFX(P, p, g, b0, P->n); break;                         \
    }                                                                         \
  }

DEFINE_OPTIM(float, f32, sqrtf, fabsf)
DEFINE_OPTIM(double, f64, sqrt, fabs)

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
