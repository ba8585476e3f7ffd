/* optim_step.h: the optimizers' fused steps (SGD, Adam / AdamW, RMSprop,
 * Adagrad), written once for the cpu (cpu/optim.c) and the CUDA kernels
 * (cuda/optim.cu), so both devices compute every element with the same
 * operations in the same order (the CUDA build does not fuse multiply-adds:
 * --fmad=false), and an update is bitwise the cpu's.
 *
 * The includer defines TF_OPTIM_FOR(i, n), the loop over a parameter's n
 * elements (the cpu's parallel for, or a CUDA grid-stride loop), and
 * expands TF_DEFINE_OPTIM_STEPS with the functions' qualifier (static, or
 * static __global__), the element type and its sqrt and fabs.
 *
 * The arithmetic is PyTorch's single-tensor rule (torch/optim/<name>.py's
 * _single_tensor_<name>) operation by operation, in the same order and in
 * the parameter's dtype: a float32 step rounds each Python-side scalar to
 * float32 once (as PyTorch's kernels do with a Python scalar) and rounds
 * after every operation, so its results follow PyTorch's to rounding (the
 * only freedom is whether PyTorch's vectorized kernels fused a
 * multiply-add). Elements are independent, so no split of the loop can
 * change a result. */
#ifndef TF_OPTIM_STEP_H
#define TF_OPTIM_STEP_H

#include <stdbool.h>
#include <stdint.h>

/* One step of an optimizer over one parameter, as ops/optim.c plans it:
 * param and its state buffers (the param's
 * dtype, shape and device, contiguous, no two sharing memory) are updated in
 * place from grad (contiguous, the param's dtype); n elements each. The
 * scalars are PyTorch's Python-side doubles (bias corrections included); a
 * float32 kernel rounds each to float32 and computes in float32, as
 * PyTorch's float32 kernels do. Unused buffers are NULL. */
enum { TF_OPTIM_SGD, TF_OPTIM_ADAM, TF_OPTIM_RMSPROP, TF_OPTIM_ADAGRAD };
typedef struct {
  int kind;
  int64_t n;
  bool maximize;
  double lr, weight_decay;
  /* SGD: momentum_buffer = buf[0] (NULL when momentum is 0); init_buffer:
   * the first step, which sets it to the gradient */
  double momentum, dampening;
  bool nesterov, init_buffer;
  /* Adam: exp_avg = buf[0], exp_avg_sq = buf[1], max_exp_avg_sq = buf[2]
   * (amsgrad); step_size = lr / (1 - beta1^step), bc2_sqrt =
   * sqrt(1 - beta2^step); decoupled (AdamW): param *= 1 - lr * wd */
  double beta1, beta2, eps, step_size, bc2_sqrt;
  bool decoupled;
  /* RMSprop: square_avg = buf[0], grad_avg = buf[1] (centered),
   * momentum_buffer = buf[2] (momentum > 0); alpha; momentum above */
  double alpha;
  /* Adagrad: sum = buf[0]; clr = lr / (1 + (step - 1) * lr_decay) */
  double clr;
} tf_optim_plan;

/* PyTorch's lerp (ATen's lerp in Lerp.h): self + w * (end - self) for a
 * small weight (|w| < 0.5), else end - (end - self) * (1 - w). */
#define TF_OPTIM_LERP(T, FABS, self, end, w)                                  \
  (FABS(w) < (T)0.5 ? (self) + (w) * ((end) - (self))                         \
                    : (end) - ((end) - (self)) * ((T)1 - (w)))

/* The loops read the options from locals and branch only on loop-invariant
 * flags between register values (if-converted to selects), so they
 * vectorize; an optional buffer (amsgrad's max, RMSprop's grad_avg and
 * momentum) is a separate loop (the AMS, CEN and MOM literals), since a
 * conditional load or store would keep the loop scalar. */
#define TF_OPTIM_ADAM_LOOP(T, SQRT, FABS, AMS)                                \
  TF_OPTIM_FOR(i, n) {                                                        \
    T d = maxim ? -g[i] : g[i], x = p[i];                                     \
    x = decoupled ? x * decay : x;                                            \
    d = l2 ? d + wd * x : d;                                                  \
    T mi = TF_OPTIM_LERP(T, FABS, m[i], d, w1);                               \
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

#define TF_OPTIM_RMSPROP_LOOP(T, SQRT, FABS, CEN, MOM)                        \
  TF_OPTIM_FOR(i, n) {                                                        \
    T d = maxim ? -g[i] : g[i], x = p[i];                                     \
    d = has_wd ? d + wd * x : d;                                              \
    T s = sq[i] * alpha;                                                      \
    s = s + w * d * d;                                                        \
    sq[i] = s;                                                                \
    T avg;                                                                    \
    if (CEN) {                                                                \
      T ga = TF_OPTIM_LERP(T, FABS, gavg[i], d, w);                           \
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

#define TF_DEFINE_OPTIM_STEPS(QUAL, T, SFX, SQRT, FABS)                       \
  QUAL void sgd_##SFX(const tf_optim_plan P, T *p, const T *g, T *buf,        \
                        int64_t n) {                                          \
    const T wd = (T)P.weight_decay, mom = (T)P.momentum;                      \
    const T damp1 = (T)(1 - P.dampening), nlr = (T)(-P.lr);                   \
    const bool has_wd = P.weight_decay != 0, init = P.init_buffer;            \
    const bool nesterov = P.nesterov, maxim = P.maximize;                     \
    if (!buf) {                                                               \
      TF_OPTIM_FOR(i, n) {                                                    \
        T d = maxim ? -g[i] : g[i], x = p[i];                                 \
        d = has_wd ? d + wd * x : d;                                          \
        p[i] = x + nlr * d;                                                   \
      }                                                                       \
      return;                                                                 \
    }                                                                         \
    TF_OPTIM_FOR(i, n) {                                                      \
      T d = maxim ? -g[i] : g[i], x = p[i];                                   \
      d = has_wd ? d + wd * x : d;                                            \
      T b = init ? d : buf[i] * mom + damp1 * d;                              \
      buf[i] = b;                                                             \
      d = nesterov ? d + mom * b : b;                                         \
      p[i] = x + nlr * d;                                                     \
    }                                                                         \
  }                                                                           \
                                                                              \
  QUAL void adam_##SFX(const tf_optim_plan P, T *p, const T *g, T *m,         \
                         T *v, T *vmax, int64_t n) {                          \
    const T wd = (T)P.weight_decay;                                           \
    const T decay = (T)(1 - P.lr * P.weight_decay);                           \
    const T w1 = (T)(1 - P.beta1), b2 = (T)P.beta2;                           \
    const T w2 = (T)(1 - P.beta2);                                            \
    const T bc2 = (T)P.bc2_sqrt, eps = (T)P.eps;                              \
    const T nstep = (T)(-P.step_size);                                        \
    /* ints, not bools: a bool read in the loop has no vector type */         \
    const int has_wd = P.weight_decay != 0, maxim = P.maximize;               \
    const int decoupled = has_wd && P.decoupled, l2 = has_wd && !P.decoupled; \
    if (vmax) {                                                               \
      TF_OPTIM_ADAM_LOOP(T, SQRT, FABS, 1)                                    \
    } else {                                                                  \
      TF_OPTIM_ADAM_LOOP(T, SQRT, FABS, 0)                                    \
    }                                                                         \
  }                                                                           \
                                                                              \
  QUAL void rmsprop_##SFX(const tf_optim_plan P, T *p, const T *g, T *sq,     \
                            T *gavg, T *buf, int64_t n) {                     \
    const T wd = (T)P.weight_decay, alpha = (T)P.alpha;                       \
    const T w = (T)(1 - P.alpha), eps = (T)P.eps, mom = (T)P.momentum;        \
    const T nlr = (T)(-P.lr);                                                 \
    const int has_wd = P.weight_decay != 0, maxim = P.maximize;               \
    if (gavg && buf) {                                                        \
      TF_OPTIM_RMSPROP_LOOP(T, SQRT, FABS, 1, 1)                              \
    } else if (gavg) {                                                        \
      TF_OPTIM_RMSPROP_LOOP(T, SQRT, FABS, 1, 0)                              \
    } else if (buf) {                                                         \
      TF_OPTIM_RMSPROP_LOOP(T, SQRT, FABS, 0, 1)                              \
    } else {                                                                  \
      TF_OPTIM_RMSPROP_LOOP(T, SQRT, FABS, 0, 0)                              \
    }                                                                         \
  }                                                                           \
                                                                              \
  QUAL void adagrad_##SFX(const tf_optim_plan P, T *p, const T *g, T *sum,    \
                            int64_t n) {                                      \
    const T wd = (T)P.weight_decay, eps = (T)P.eps, nclr = (T)(-P.clr);       \
    const bool has_wd = P.weight_decay != 0, maxim = P.maximize;              \
    TF_OPTIM_FOR(i, n) {                                                      \
      T d = maxim ? -g[i] : g[i], x = p[i];                                   \
      d = has_wd ? d + wd * x : d;                                            \
      T s = sum[i] + (T)1 * d * d;                                            \
      sum[i] = s;                                                             \
      T std = SQRT(s) + eps;                                                  \
      p[i] = x + nclr * d / std;                                              \
    }                                                                         \
  }                                                                           \

#endif /* TF_OPTIM_STEP_H */
