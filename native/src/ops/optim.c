/* optim.c: the entry points of the fused optimizer steps (tf_sgd_step,
 * tf_adam_step, tf_rmsprop_step, tf_adagrad_step): the options' ranges, the
 * param / grad / state checks (dtype, shape, device, writable, no shared
 * memory), PyTorch's Python-side scalars (step count, bias corrections) in
 * double, contiguous working copies of strided operands, then the backend's
 * optim kernel (cpu/optim.c) and the version bumps of what it wrote.
 * Everything is checked before anything is written, so a failed call
 * leaves the param and its state (step included) as they were. */
#include <math.h>

#include "../backend.h"

enum { MAX_BUF = 3 };

/* t has param's device, dtype and shape. */
static tf_status check_like(const char *op, const char *what,
                            const tf_tensor *t, const tf_tensor *param) {
  char sp[TF_SHAPE_STR], st[TF_SHAPE_STR];
  TF_TRY(tf_check_same_device(op, param, t));
  if (t->dtype != param->dtype)
    return tf_fail(TF_ERR_DTYPE,
                   "%s: the %s is %s but the param is %s; they must have one "
                   "dtype (convert the %s, or the param with .to())",
                   op, what, tf_dtype_name(t->dtype),
                   tf_dtype_name(param->dtype), what);
  bool same = t->ndim == param->ndim &&
              memcmp(t->shape, param->shape, sizeof(int64_t) * (size_t)t->ndim) == 0;
  TF_CHECK(same, TF_ERR_SHAPE,
           "%s: the %s has shape %s but the param has shape %s; they must "
           "have one shape", op, what, tf_shape_str(t->ndim, t->shape, st),
           tf_shape_str(param->ndim, param->shape, sp));
  return TF_OK;
}

static bool contiguous(const tf_tensor *t) {
  int64_t expect = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->shape[d] != 1 && t->strides[d] != expect) return false;
    expect *= t->shape[d];
  }
  return true;
}

/* The checks of every step: param (written), grad (read), the state
 * buffers (written; NULL where unused); names for messages. */
static tf_status check_operands(const char *op, tf_tensor *param,
                                const tf_tensor *grad, tf_tensor *const *buf,
                                const char *const *names) {
  TF_TRY(tf_check_device(op, param));
  TF_CHECK(tf_is_float(param->dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 param, got %s", op,
           tf_dtype_name(param->dtype));
  TF_CHECK(grad != NULL, TF_ERR_VALUE, "%s: the grad is missing", op);
  TF_TRY(check_like(op, "grad", grad, param));
  TF_TRY(tf_check_writable(op, param));
  const tf_tensor *all[2 + MAX_BUF] = {param, grad};
  const char *all_names[2 + MAX_BUF] = {"param", "grad"};
  int count = 2;
  for (int k = 0; k < MAX_BUF; k++) {
    if (!buf[k]) continue;
    TF_TRY(check_like(op, names[k], buf[k], param));
    TF_TRY(tf_check_writable(op, buf[k]));
    all[count] = buf[k];
    all_names[count++] = names[k];
  }
  /* Each element of every operand is read and written by one iteration,
   * so two operands sharing memory would see each other's writes. */
  if (tf_shape_numel(param->ndim, param->shape) > 0)
    for (int a = 0; a < count; a++)
      for (int b = a + 1; b < count; b++)
        TF_CHECK(tf_overlap_of((tf_tensor *)all[a], all[b]) == TF_OVERLAP_NONE,
                 TF_ERR_VALUE,
                 "%s: the %s and the %s share memory; the param, its grad "
                 "and each state buffer must have memory of their own", op,
                 all_names[a], all_names[b]);
  return TF_OK;
}

/* The step counter: a one-element float32 or float64 tensor (PyTorch keeps
 * a float32 0-d tensor), in host memory, writable and sharing memory with
 * none of the other operands (the step writes it); *next = its value after
 * this step's += 1, in its dtype, as a double, which must be a count of
 * steps: at least 1 (a bias correction divides by 1 - beta^next), not NaN. */
static tf_status read_step(const char *op, const tf_tensor *step, tf_tensor *param,
                           const tf_tensor *grad, tf_tensor *const *buf, double *next) {
  TF_CHECK(step != NULL, TF_ERR_VALUE, "%s: the step counter is missing", op);
  TF_TRY(tf_check_device(op, step));
  TF_CHECK(step->storage->alloc->host, TF_ERR_DEVICE,
           "%s: the step counter must be in host memory (on the cpu), as "
           "PyTorch keeps it", op);
  TF_CHECK(tf_shape_numel(step->ndim, step->shape) == 1 && tf_is_float(step->dtype),
           TF_ERR_VALUE,
           "%s: the step counter must be a one-element float32 or float64 "
           "tensor (state['step']), got a %s tensor of %lld elements", op,
           tf_dtype_name(step->dtype),
           (long long)tf_shape_numel(step->ndim, step->shape));
  TF_TRY(tf_check_writable(op, step));
  const tf_tensor *others[2 + MAX_BUF] = {param, grad, buf[0], buf[1], buf[2]};
  for (int k = 0; k < 2 + MAX_BUF; k++)
    TF_CHECK(!others[k] || tf_shape_numel(others[k]->ndim, others[k]->shape) == 0 ||
                 tf_overlap_of((tf_tensor *)others[k], step) == TF_OVERLAP_NONE,
             TF_ERR_VALUE,
             "%s: the step counter shares memory with the %s; state['step'] "
             "must be a tensor of its own", op,
             k == 0 ? "param" : k == 1 ? "grad" : "param's state");
  if (step->dtype == TF_FLOAT32)
    *next = (double)(*(const float *)tf_ptr(step) + 1.0f);
  else
    *next = *(const double *)tf_ptr(step) + 1.0;
  TF_CHECK(*next >= 1, TF_ERR_VALUE,
           "%s: the step counter holds %g; it counts the steps taken, so it "
           "must be 0 or more (a checkpoint with another value is not this "
           "optimizer's state)", op, *next - 1);
  return TF_OK;
}

static void write_step(tf_tensor *step, double value) {
  if (step->dtype == TF_FLOAT32) *(float *)tf_ptr(step) = (float)value;
  else *(double *)tf_ptr(step) = value;
  tf_bump_version(step);
}

/* Runs the kernel on contiguous operands: strided ones are copied to
 * contiguous tensors, and the written ones copied back after. */
static tf_status run(const char *op, tf_optim_plan *plan, tf_tensor *param,
                     const tf_tensor *grad, tf_tensor *const *buf) {
  tf_optim_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(param), op, k->optim);
  plan->n = tf_shape_numel(param->ndim, param->shape);
  if (plan->n == 0) return TF_OK;
  bool dense = contiguous(param) && contiguous(grad);
  for (int k = 0; k < MAX_BUF; k++) dense = dense && (!buf[k] || contiguous(buf[k]));
  tf_status st = TF_OK;
  if (dense) {
    st = kernel(plan, param, grad, buf);
  } else {
    tf_tensor *pc = NULL, *gc = NULL, *bc[MAX_BUF] = {NULL, NULL, NULL};
    st = tf_contiguous(param, &pc);
    if (st == TF_OK) st = tf_contiguous(grad, &gc);
    for (int k = 0; k < MAX_BUF && st == TF_OK; k++)
      if (buf[k]) st = tf_contiguous(buf[k], &bc[k]);
    if (st == TF_OK) st = kernel(plan, pc, gc, bc);
    /* copies back into the strided originals (a no-op where the
     * "copy" was the tensor itself) */
    if (st == TF_OK && pc != param) st = tf_copy_(param, pc);
    for (int k = 0; k < MAX_BUF && st == TF_OK; k++)
      if (buf[k] && bc[k] != buf[k]) st = tf_copy_(buf[k], bc[k]);
    tf_tensor_release(pc);
    tf_tensor_release(gc);
    for (int k = 0; k < MAX_BUF; k++) tf_tensor_release(bc[k]);
    if (st != TF_OK) return st;
  }
  if (st != TF_OK) return st;
  tf_bump_version(param);
  for (int k = 0; k < MAX_BUF; k++)
    if (buf[k]) tf_bump_version(buf[k]);
  return TF_OK;
}

#define CHECK_RANGE(cond, op, what, value)                                  \
  TF_CHECK(cond, TF_ERR_VALUE, "%s: invalid %s %g (expected %s)", op, what, \
           (double)(value), #cond)

tf_status tf_sgd_step(tf_tensor *param, const tf_tensor *grad,
                      tf_tensor *momentum_buffer, bool init_buffer, double lr,
                      double momentum, double dampening, double weight_decay,
                      bool nesterov, bool maximize) {
  const char *op = "SGD";
  CHECK_RANGE(lr >= 0, op, "learning rate", lr);
  CHECK_RANGE(momentum >= 0, op, "momentum", momentum);
  CHECK_RANGE(weight_decay >= 0, op, "weight_decay", weight_decay);
  TF_CHECK(!nesterov || (momentum > 0 && dampening == 0), TF_ERR_VALUE,
           "SGD: Nesterov momentum requires a momentum and zero dampening "
           "(got momentum %g, dampening %g)", momentum, dampening);
  TF_CHECK((momentum != 0) == (momentum_buffer != NULL), TF_ERR_VALUE,
           "SGD: a momentum buffer is given exactly when momentum is not 0 "
           "(momentum %g)", momentum);
  tf_tensor *buf[MAX_BUF] = {momentum_buffer, NULL, NULL};
  static const char *const names[MAX_BUF] = {"momentum_buffer", "", ""};
  TF_TRY(check_operands(op, param, grad, buf, names));
  tf_optim_plan p = {0};
  p.kind = TF_OPTIM_SGD;
  p.maximize = maximize;
  p.lr = lr;
  p.weight_decay = weight_decay;
  p.momentum = momentum;
  p.dampening = dampening;
  p.nesterov = nesterov;
  p.init_buffer = init_buffer;
  return run(op, &p, param, grad, buf);
}

tf_status tf_adam_step(tf_tensor *param, const tf_tensor *grad,
                       tf_tensor *exp_avg, tf_tensor *exp_avg_sq,
                       tf_tensor *max_exp_avg_sq, tf_tensor *step, double lr,
                       double beta1, double beta2, double eps,
                       double weight_decay, bool decoupled, bool maximize) {
  const char *op = decoupled ? "AdamW" : "Adam";
  CHECK_RANGE(lr >= 0, op, "learning rate", lr);
  CHECK_RANGE(eps >= 0, op, "epsilon value", eps);
  CHECK_RANGE(beta1 >= 0 && beta1 < 1, op, "beta parameter at index 0", beta1);
  CHECK_RANGE(beta2 >= 0 && beta2 < 1, op, "beta parameter at index 1", beta2);
  CHECK_RANGE(weight_decay >= 0, op, "weight_decay value", weight_decay);
  TF_CHECK(exp_avg && exp_avg_sq, TF_ERR_VALUE,
           "%s: exp_avg and exp_avg_sq are required", op);
  tf_tensor *buf[MAX_BUF] = {exp_avg, exp_avg_sq, max_exp_avg_sq};
  static const char *const names[MAX_BUF] = {"exp_avg", "exp_avg_sq",
                                             "max_exp_avg_sq"};
  TF_TRY(check_operands(op, param, grad, buf, names));
  double t;
  TF_TRY(read_step(op, step, param, grad, buf, &t));
  tf_optim_plan p = {0};
  p.kind = TF_OPTIM_ADAM;
  p.maximize = maximize;
  p.lr = lr;
  p.weight_decay = weight_decay;
  p.beta1 = beta1;
  p.beta2 = beta2;
  p.eps = eps;
  p.decoupled = decoupled;
  /* PyTorch's Python doubles: 1 - beta ** step, lr / bc1, bc2 ** 0.5 */
  p.step_size = lr / (1 - pow(beta1, t));
  p.bc2_sqrt = pow(1 - pow(beta2, t), 0.5);
  TF_TRY(run(op, &p, param, grad, buf));
  write_step(step, t);
  return TF_OK;
}

tf_status tf_rmsprop_step(tf_tensor *param, const tf_tensor *grad,
                          tf_tensor *square_avg, tf_tensor *grad_avg,
                          tf_tensor *momentum_buffer, tf_tensor *step,
                          double lr, double alpha, double eps,
                          double weight_decay, double momentum, bool maximize) {
  const char *op = "RMSprop";
  CHECK_RANGE(lr >= 0, op, "learning rate", lr);
  CHECK_RANGE(eps >= 0, op, "epsilon value", eps);
  CHECK_RANGE(momentum >= 0, op, "momentum value", momentum);
  CHECK_RANGE(weight_decay >= 0, op, "weight_decay value", weight_decay);
  CHECK_RANGE(alpha >= 0, op, "alpha value", alpha);
  TF_CHECK(square_avg, TF_ERR_VALUE, "RMSprop: square_avg is required");
  TF_CHECK((momentum > 0) == (momentum_buffer != NULL), TF_ERR_VALUE,
           "RMSprop: a momentum buffer is given exactly when momentum > 0 "
           "(momentum %g)", momentum);
  tf_tensor *buf[MAX_BUF] = {square_avg, grad_avg, momentum_buffer};
  static const char *const names[MAX_BUF] = {"square_avg", "grad_avg",
                                             "momentum_buffer"};
  TF_TRY(check_operands(op, param, grad, buf, names));
  double t;
  TF_TRY(read_step(op, step, param, grad, buf, &t));
  tf_optim_plan p = {0};
  p.kind = TF_OPTIM_RMSPROP;
  p.maximize = maximize;
  p.lr = lr;
  p.weight_decay = weight_decay;
  p.alpha = alpha;
  p.eps = eps;
  p.momentum = momentum;
  TF_TRY(run(op, &p, param, grad, buf));
  write_step(step, t);
  return TF_OK;
}

tf_status tf_adagrad_step(tf_tensor *param, const tf_tensor *grad,
                          tf_tensor *sum, tf_tensor *step, double lr,
                          double lr_decay, double weight_decay, double eps,
                          bool maximize) {
  const char *op = "Adagrad";
  CHECK_RANGE(lr >= 0, op, "learning rate", lr);
  CHECK_RANGE(lr_decay >= 0, op, "lr_decay value", lr_decay);
  CHECK_RANGE(weight_decay >= 0, op, "weight_decay value", weight_decay);
  CHECK_RANGE(eps >= 0, op, "epsilon value", eps);
  TF_CHECK(sum, TF_ERR_VALUE, "Adagrad: the sum buffer is required");
  tf_tensor *buf[MAX_BUF] = {sum, NULL, NULL};
  static const char *const names[MAX_BUF] = {"sum", "", ""};
  TF_TRY(check_operands(op, param, grad, buf, names));
  double t;
  TF_TRY(read_step(op, step, param, grad, buf, &t));
  tf_optim_plan p = {0};
  p.kind = TF_OPTIM_ADAGRAD;
  p.maximize = maximize;
  p.lr = lr;
  p.weight_decay = weight_decay;
  p.eps = eps;
  p.clr = lr / (1 + (t - 1) * lr_decay);
  TF_TRY(run(op, &p, param, grad, buf));
  write_step(step, t);
  return TF_OK;
}
