/* test_pool.c: the pooling entry points (ops/pool.c) and cpu kernels
 * (cpu/pool.c) from C: values and indices on small planes worked out by
 * hand, the backward passes, and the error paths (status, a message naming
 * the op and the shapes, out-pointers untouched, nothing leaked: RUN checks
 * tf_live_tensors). */
#include "tf_test.h"

static const int64_t K2[] = {2, 2}, S2[] = {2, 2}, S1[] = {1, 1}, P0[] = {0, 0},
                     P1[] = {1, 1}, D1[] = {1, 1};

static void test_max_pool2d_values_and_indices(void) {
  /* 1 x 1 x 3 x 4, 2x2 stride 2, ceil_mode: the last row of windows is
   * partial (rows 2..3 of a 3-row input) */
  tf_tensor *x = make_f64(4, SHAPE(1, 1, 3, 4),
                          (const double[]){1, 5, 2, 2, 3, 4, 2, 7, NAN, 0, -1, -2});
  REQUIRE(x);
  tf_tensor *v = NULL, *i = NULL;
  CHECK_OK(tf_pool(TF_POOL_MAX, 2, x, K2, S2, P0, D1, true, false, false, 0, &v, &i));
  if (v && i) {
    CHECK_SHAPE(v, 1, 1, 2, 2);
    CHECK_VALUES(v, 0, 5, 7, NAN, -1);
    CHECK_IVALUES(i, 1, 7, 8, 10);
    /* backward: the gradient lands at the indices */
    tf_tensor *g = make_f64(4, SHAPE(1, 1, 2, 2), (const double[]){1, 2, 3, 4}), *gi = NULL;
    CHECK_OK(tf_pool_backward(TF_POOL_MAX, 2, g, i, 4, SHAPE(1, 1, 3, 4), K2, S2, P0, D1,
                              true, false, false, 0, &gi));
    if (gi) CHECK_VALUES(gi, 0, 0, 1, 0, 0, 0, 0, 0, 2, 3, 0, 4, 0);
    tf_tensor_release(gi);
    tf_tensor_release(g);
  }
  tf_tensor_release(v);
  tf_tensor_release(i);
  tf_tensor_release(x);
}

static void test_avg_pool2d_padding_rules(void) {
  /* 1 x 3 x 3 ones, 2x2 stride 2 padding 1: each window holds one input
   * element (corners) or two (edges) or four; count_include_pad divides
   * by 4 always, otherwise by the elements inside */
  tf_tensor *x = make_f32(3, SHAPE(1, 3, 3), (const float[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
  REQUIRE(x);
  tf_tensor *a = NULL, *b = NULL, *c = NULL;
  CHECK_OK(tf_pool(TF_POOL_AVG, 2, x, K2, S2, P1, D1, false, true, false, 0, &a, NULL));
  CHECK_OK(tf_pool(TF_POOL_AVG, 2, x, K2, S2, P1, D1, false, false, false, 0, &b, NULL));
  CHECK_OK(tf_pool(TF_POOL_AVG, 2, x, K2, S2, P1, D1, false, true, true, 3, &c, NULL));
  if (a) CHECK_VALUES(a, 0, 0.25, 0.5, 0.5, 1);
  if (b) CHECK_VALUES(b, 0, 1, 1, 1, 1);
  if (c) CHECK_VALUES(c, 1e-7, 1.0 / 3, 2.0 / 3, 2.0 / 3, 4.0 / 3);
  tf_tensor_release(a);
  tf_tensor_release(b);
  tf_tensor_release(c);
  tf_tensor_release(x);
}

static void test_pool_adaptive_windows(void) {
  /* length 5 to 3: windows [0, 2), [1, 4), [3, 5) */
  tf_tensor *x = make_f64(2, SHAPE(1, 5), (const double[]){1, 2, 3, 4, 5}), *a = NULL, *m = NULL,
            *i = NULL;
  REQUIRE(x);
  CHECK_OK(tf_adaptive_pool(TF_POOL_AVG, 1, x, SHAPE(3), &a, NULL));
  CHECK_OK(tf_adaptive_pool(TF_POOL_MAX, 1, x, SHAPE(3), &m, &i));
  if (a) CHECK_VALUES(a, 1e-15, 1.5, 3, 4.5);
  if (m && i) {
    CHECK_VALUES(m, 0, 2, 4, 5);
    CHECK_IVALUES(i, 1, 3, 4);
  }
  tf_tensor_release(a);
  tf_tensor_release(m);
  tf_tensor_release(i);
  tf_tensor_release(x);
}

static void test_pool_errors(void) {
  tf_tensor *x = make_range(4, SHAPE(1, 1, 4, 4), TF_FLOAT32), *out = TF_UNTOUCHED, *ind = TF_UNTOUCHED;
  REQUIRE(x);
  CHECK_ERR(tf_pool(TF_POOL_MAX, 2, x, SHAPE(7, 7), S1, P1, D1, false, false, false, 0, &out, &ind),
            TF_ERR_SHAPE, "max_pool2d: the kernel is larger than the padded input: in dim H");
  CHECK_ERR(tf_pool(TF_POOL_MAX, 2, x, K2, SHAPE(0, 1), P0, D1, false, false, false, 0, &out, &ind),
            TF_ERR_VALUE, "max_pool2d: stride must be greater than zero, got (0, 1)");
  CHECK_ERR(tf_pool(TF_POOL_AVG, 2, x, K2, S2, SHAPE(2, 0), D1, false, false, false, 0, &out, NULL),
            TF_ERR_VALUE, "avg_pool2d: padding should be at most half of kernel_size");
  CHECK_ERR(tf_pool(TF_POOL_AVG, 2, x, K2, S2, P0, D1, false, false, true, 0, &out, NULL),
            TF_ERR_VALUE, "avg_pool2d: divisor_override must be non-zero");
  CHECK_ERR(tf_pool(TF_POOL_MAX, 1, x, SHAPE(2), SHAPE(2), SHAPE(0), SHAPE(1), false, false, false,
                    0, &out, &ind),
            TF_ERR_SHAPE, "max_pool1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                          "(1, 1, 4, 4)");
  CHECK_ERR(tf_pool(7, 2, x, K2, S2, P0, D1, false, false, false, 0, &out, &ind), TF_ERR_VALUE,
            "pool: unknown kind 7");
  CHECK_ERR(tf_pool(TF_POOL_MAX, 3, x, K2, S2, P0, D1, false, false, false, 0, &out, &ind),
            TF_ERR_VALUE, "pool: 3 spatial dims are not supported");
  CHECK_ERR(tf_pool(TF_POOL_MAX, 2, x, K2, S2, P0, D1, false, false, false, 0, NULL, NULL),
            TF_ERR_VALUE, "max_pool2d: no place for the result");
  CHECK_ERR(tf_adaptive_pool(TF_POOL_AVG, 2, x, SHAPE(-1, 2), &out, NULL), TF_ERR_VALUE,
            "adaptive_avg_pool2d: output_size must be >= 0, got (-1, 2)");
  /* a backward whose grad does not have the output's shape, and one whose
   * indices point outside the plane */
  tf_tensor *g = make_range(4, SHAPE(1, 1, 3, 2), TF_FLOAT32);
  tf_tensor *g2 = make_f32(4, SHAPE(1, 1, 2, 2), (const float[]){1, 1, 1, 1});
  tf_tensor *bad = make_i64(4, SHAPE(1, 1, 2, 2), (const int64_t[]){0, 1, -1, 3});
  if (g && g2 && bad) {
    CHECK_ERR(tf_pool_backward(TF_POOL_AVG, 2, g, NULL, 4, SHAPE(1, 1, 4, 4), K2, S2, P0, D1,
                               false, true, false, 0, &out),
              TF_ERR_SHAPE, "avg_pool2d backward: grad has shape (1, 1, 3, 2), expected the "
                            "output's shape (1, 1, 2, 2)");
    CHECK_ERR(tf_pool_backward(TF_POOL_MAX, 2, g2, bad, 4, SHAPE(1, 1, 4, 4), K2, S2, P0, D1,
                               false, false, false, 0, &out),
              TF_ERR_INDEX, "max_pool2d backward: index -1 of plane 0 is outside the input plane");
    CHECK_ERR(tf_pool_backward(TF_POOL_MAX, 2, g2, g2, 4, SHAPE(1, 1, 4, 4), K2, S2, P0, D1,
                               false, false, false, 0, &out),
              TF_ERR_DTYPE, "max_pool2d backward: indices must be int64, got float32");
  }
  CHECK_ERR(tf_pool_backward(TF_POOL_AVG, 2, g2, NULL, 4, SHAPE(-1, 1, 4, 4), K2, S2, P0, D1,
                             false, true, false, 0, &out),
            TF_ERR_SHAPE, "avg_pool2d: negative size in shape (-1, 1, 4, 4)");
  CHECK_ERR(tf_pool_backward(TF_POOL_AVG, 2, g2, NULL, 4, SHAPE(1LL << 40, 1LL << 40, 4, 4), K2,
                             S2, P0, D1, false, true, false, 0, &out),
            TF_ERR_VALUE, "more elements than int64 can count");
  tf_tensor_release(g);
  tf_tensor_release(g2);
  tf_tensor_release(bad);
  CHECK(out == TF_UNTOUCHED && ind == TF_UNTOUCHED);
  tf_tensor_release(x);
}

void suite_pool(void) {
  RUN(test_max_pool2d_values_and_indices);
  RUN(test_avg_pool2d_padding_rules);
  RUN(test_pool_adaptive_windows);
  RUN(test_pool_errors);
}
