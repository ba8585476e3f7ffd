/* test_optim.c: the fused optimizer steps (ops/optim.c, cpu/optim.c) from
 * C: each rule over a few steps against the same rule written here as a
 * plain double loop (float64 params, so the two agree to rounding), a
 * parameter past the parallel grain on 1 and 2 threads (the same bits, and
 * the reference), and the error paths (status, a message naming the
 * optimizer, nothing written, nothing leaked: RUN checks tf_live_tensors).
 * tests/test_optim.py holds them to PyTorch's rules in both dtypes. */
#include <math.h>
#include <string.h>

#include "tf_test.h"

enum { N = 3 };
static const double P0[N] = {0.5, -1.0, 2.0};
/* the gradient of step t, element i: varied signs and sizes */
static double grad_at(int t, int i) { return sin(1.0 + 0.7 * t + 1.3 * i) * (1 + i); }

static tf_tensor *f64(const double *v) { return make_f64(1, SHAPE(N), v); }
static double *data(tf_tensor *t) { return (double *)tf_tensor_data(t); }
static tf_tensor *step_counter(void) { return make_f32(1, SHAPE(1), (const float[]){0}); }

static void set_grad(tf_tensor *g, int t) {
  for (int i = 0; i < N; i++) data(g)[i] = grad_at(t, i);
}

static void test_sgd_nesterov_weight_decay(void) {
  const double lr = 0.1, mom = 0.9, wd = 0.01;
  tf_tensor *p = f64(P0), *g = f64(P0), *buf = f64(P0);
  REQUIRE(p && g && buf);
  double ref[N], b[N];
  memcpy(ref, P0, sizeof ref);
  for (int t = 0; t < 4; t++) {
    set_grad(g, t);
    CHECK_OK(tf_sgd_step(p, g, buf, t == 0, lr, mom, 0, wd, true, false));
    for (int i = 0; i < N; i++) {
      double d = grad_at(t, i) + wd * ref[i];
      b[i] = t == 0 ? d : mom * b[i] + d;
      ref[i] -= lr * (d + mom * b[i]);
    }
  }
  CHECK(values_are(p, ref, 1e-14));
  CHECK(values_are(buf, b, 1e-14));
  tf_tensor_release(buf);
  tf_tensor_release(g);
  tf_tensor_release(p);
}

static void test_adam_amsgrad_and_adamw(void) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
  for (int decoupled = 0; decoupled < 2; decoupled++) {
    tf_tensor *p = f64(P0), *g = f64(P0), *m = f64((const double[N]){0}),
              *v = f64((const double[N]){0}), *vmax = f64((const double[N]){0}),
              *step = step_counter();
    REQUIRE(p && g && m && v && vmax && step);
    double ref[N], rm[N] = {0}, rv[N] = {0}, rvmax[N] = {0};
    memcpy(ref, P0, sizeof ref);
    for (int t = 1; t <= 5; t++) {
      set_grad(g, t);
      CHECK_OK(tf_adam_step(p, g, m, v, vmax, step, lr, b1, b2, eps, wd, decoupled, false));
      for (int i = 0; i < N; i++) {
        double d = grad_at(t, i);
        if (decoupled) ref[i] *= 1 - lr * wd;
        else d += wd * ref[i];
        rm[i] = b1 * rm[i] + (1 - b1) * d;
        rv[i] = b2 * rv[i] + (1 - b2) * d * d;
        rvmax[i] = fmax(rvmax[i], rv[i]);
        double mhat = rm[i] / (1 - pow(b1, t)), vhat = rvmax[i] / (1 - pow(b2, t));
        ref[i] -= lr * mhat / (sqrt(vhat) + eps);
      }
    }
    CHECK(values_are(p, ref, 1e-13));
    CHECK(values_are(vmax, rvmax, 1e-15));
    CHECK_VALUES(step, 0, 5);
    tf_tensor *all[] = {step, vmax, v, m, g, p};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) tf_tensor_release(all[k]);
  }
}

static void test_rmsprop_centered_momentum(void) {
  const double lr = 0.01, alpha = 0.99, eps = 1e-8, mom = 0.5;
  tf_tensor *p = f64(P0), *g = f64(P0), *sq = f64((const double[N]){0}),
            *ga = f64((const double[N]){0}), *buf = f64((const double[N]){0}),
            *step = step_counter();
  REQUIRE(p && g && sq && ga && buf && step);
  double ref[N], rsq[N] = {0}, rga[N] = {0}, rbuf[N] = {0};
  memcpy(ref, P0, sizeof ref);
  for (int t = 0; t < 4; t++) {
    set_grad(g, t);
    CHECK_OK(tf_rmsprop_step(p, g, sq, ga, buf, step, lr, alpha, eps, 0, mom, false));
    for (int i = 0; i < N; i++) {
      double d = grad_at(t, i);
      rsq[i] = alpha * rsq[i] + (1 - alpha) * d * d;
      rga[i] = alpha * rga[i] + (1 - alpha) * d;
      double avg = sqrt(rsq[i] - rga[i] * rga[i]) + eps;
      rbuf[i] = mom * rbuf[i] + d / avg;
      ref[i] -= lr * rbuf[i];
    }
  }
  CHECK(values_are(p, ref, 1e-13));
  tf_tensor *all[] = {step, buf, ga, sq, g, p};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) tf_tensor_release(all[k]);
}

static void test_adagrad_lr_decay(void) {
  const double lr = 0.1, decay = 0.05, eps = 1e-10;
  tf_tensor *p = f64(P0), *g = f64(P0), *sum = f64((const double[N]){0.1, 0.1, 0.1}),
            *step = step_counter();
  REQUIRE(p && g && sum && step);
  double ref[N], rsum[N] = {0.1, 0.1, 0.1};
  memcpy(ref, P0, sizeof ref);
  for (int t = 1; t <= 4; t++) {
    set_grad(g, t);
    CHECK_OK(tf_adagrad_step(p, g, sum, step, lr, decay, 0, eps, true));
    for (int i = 0; i < N; i++) {
      double d = -grad_at(t, i);  /* maximize */
      rsum[i] += d * d;
      ref[i] -= lr / (1 + (t - 1) * decay) * d / (sqrt(rsum[i]) + eps);
    }
  }
  CHECK(values_are(p, ref, 1e-14));
  tf_tensor *all[] = {step, sum, g, p};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) tf_tensor_release(all[k]);
}

/* Past the parallel grain: 1 and 2 threads give the same bits, and both
 * the float32 reference below (SGD's first step: buf = g, p -= lr * g). */
static void test_large_parameter_threads(void) {
  enum { BIG = 100003 };
  tf_tensor *p[2] = {NULL, NULL}, *g = make_range(1, SHAPE(BIG), TF_FLOAT32), *buf[2] = {NULL, NULL};
  REQUIRE(g);
  for (int k = 0; k < 2; k++) {
    p[k] = make_range(1, SHAPE(BIG), TF_FLOAT32);
    buf[k] = make_range(1, SHAPE(BIG), TF_FLOAT32);
    tf_set_num_threads(k + 1);
    if (p[k] && buf[k]) CHECK_OK(tf_sgd_step(p[k], g, buf[k], true, 0.25, 0.9, 0, 0, false, false));
  }
  tf_set_num_threads(2);
  if (p[0] && p[1]) {
    const float *a = tf_tensor_data(p[0]), *b = tf_tensor_data(p[1]);
    CHECK(memcmp(a, b, sizeof(float) * BIG) == 0);
    int bad = 0;
    for (int i = 0; i < BIG; i++) bad += a[i] != (float)i - 0.25f * (float)i;
    CHECK_EQ_I(bad, 0);
  }
  for (int k = 0; k < 2; k++) {
    tf_tensor_release(p[k]);
    tf_tensor_release(buf[k]);
  }
  tf_tensor_release(g);
}

static void test_optim_errors_write_nothing(void) {
  tf_tensor *p = f64(P0), *g2 = make_f64(1, SHAPE(2), (const double[]){1, 2}),
            *g32 = make_f32(1, SHAPE(N), (const float[]){1, 2, 3}), *g = f64(P0),
            *m = f64((const double[N]){0}), *v = f64((const double[N]){0}),
            *step = step_counter();
  REQUIRE(p && g2 && g32 && g && m && v && step);
  CHECK_ERR(tf_sgd_step(p, g2, NULL, false, 0.1, 0, 0, 0, false, false), TF_ERR_SHAPE,
            "SGD: the grad has shape");
  CHECK_ERR(tf_sgd_step(p, g32, NULL, false, 0.1, 0, 0, 0, false, false), TF_ERR_DTYPE,
            "SGD: the grad is float32 but the param is float64");
  CHECK_ERR(tf_sgd_step(p, p, NULL, false, 0.1, 0, 0, 0, false, false), TF_ERR_VALUE,
            "share memory");
  CHECK_ERR(tf_adam_step(p, g, m, m, NULL, step, 0.1, 0.9, 0.999, 1e-8, 0, false, false),
            TF_ERR_VALUE, "Adam: the exp_avg and the exp_avg_sq share memory");
  CHECK_ERR(tf_adam_step(p, g, m, v, NULL, step, 0.1, 1.5, 0.999, 1e-8, 0, true, false),
            TF_ERR_VALUE, "AdamW");
  /* the step counter: its own memory, and a count of steps */
  tf_tensor *p32 = make_f32(1, SHAPE(1), (const float[]){5}), *g1 = make_f32(1, SHAPE(1), (const float[]){1}),
            *m1 = make_f32(1, SHAPE(1), (const float[]){0}), *v1 = make_f32(1, SHAPE(1), (const float[]){0}),
            *bad = make_f32(1, SHAPE(1), (const float[]){-1});
  REQUIRE(p32 && g1 && m1 && v1 && bad);
  CHECK_ERR(tf_adam_step(p32, g1, m1, v1, NULL, p32, 0.1, 0.9, 0.999, 1e-8, 0, false, false),
            TF_ERR_VALUE, "Adam: the step counter shares memory with the param");
  CHECK_ERR(tf_adam_step(p32, g1, m1, v1, NULL, v1, 0.1, 0.9, 0.999, 1e-8, 0, false, false),
            TF_ERR_VALUE, "the step counter shares memory with the param's state");
  CHECK_ERR(tf_adam_step(p32, g1, m1, v1, NULL, bad, 0.1, 0.9, 0.999, 1e-8, 0, false, false),
            TF_ERR_VALUE, "Adam: the step counter holds -1");
  CHECK_VALUES(p32, 0, 5);
  tf_tensor *more[] = {bad, v1, m1, g1, p32};
  for (size_t k = 0; k < sizeof more / sizeof *more; k++) tf_tensor_release(more[k]);
  CHECK(values_are(p, P0, 0));       /* nothing was written ... */
  CHECK_VALUES(step, 0, 0);          /* ... not even the step count */
  tf_tensor *all[] = {step, v, m, g, g32, g2, p};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) tf_tensor_release(all[k]);
}

void suite_optim(void) {
  RUN(test_sgd_nesterov_weight_decay);
  RUN(test_adam_amsgrad_and_adamw);
  RUN(test_rmsprop_centered_momentum);
  RUN(test_adagrad_lr_decay);
  RUN(test_large_parameter_threads);
  RUN(test_optim_errors_write_nothing);
}
