/* test_elementwise.c: unary and binary ops on small known values:
 * broadcasting, non-contiguous and overlapping operands, int64 division and
 * remainder sign conventions, type promotion (tf_result_dtype), scalars,
 * where(), in-place writes, and identical results on 1 and 2 threads. */
#include <stdlib.h>

#include "tf_test.h"

static void test_unary_float_values(void) {
  tf_tensor *x = make_f64(1, SHAPE(5), (const double[]){-2, -0.5, 0, 0.5, 2});
  tf_tensor *r = NULL;
  REQUIRE(x);
  CHECK_OK(tf_unary(TF_UNARY_NEG, x, 0, 0, 0, &r));
  CHECK_VALUES(r, 0, 2, 0.5, -0.0, -0.5, -2);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_ABS, x, 0, 0, 0, &r));
  CHECK_VALUES(r, 0, 2, 0.5, 0, 0.5, 2);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_EXP, x, 0, 0, 0, &r));
  CHECK_VALUES(r, 1e-15, exp(-2), exp(-0.5), 1, exp(0.5), exp(2));
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_RELU, x, 0, 0, 0, &r));
  CHECK_VALUES(r, 0, 0, 0, 0, 0.5, 2);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_SIGMOID, x, 0, 0, 0, &r));
  CHECK_NEAR(get_f(r, 2), 0.5, 0);
  CHECK_NEAR(get_f(r, 4), 1 / (1 + exp(-2.0)), 1e-15);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_LEAKY_RELU, x, 0.1, 0, 0, &r));
  CHECK_VALUES(r, 1e-15, -0.2, -0.05, 0, 0.5, 2);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_CLAMP, x, -1, 1, 0, &r));
  CHECK_VALUES(r, 0, -1, -0.5, 0, 0.5, 1);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_SIGN, x, 0, 0, 0, &r));
  CHECK_VALUES(r, 0, -1, -1, 0, 1, 1);
  tf_tensor_release(r);
  tf_tensor_release(x);

  /* round is half to even; sqrt/log at exact points */
  tf_tensor *h = make_f32(1, SHAPE(6), (const float[]){0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 4});
  REQUIRE(h);
  CHECK_OK(tf_unary(TF_UNARY_ROUND, h, 0, 0, 0, &r));
  CHECK(tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK_VALUES(r, 0, 0, 2, 2, -0.0, -2, 4);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_SQRT, h, 0, 0, 0, &r));
  CHECK_NEAR(get_f(r, 5), 2.0, 0);
  CHECK(isnan(get_f(r, 3)));
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_LOG, h, 0, 0, 0, &r));
  CHECK(get_f(r, 5) == (double)(float)log(4.0));
  tf_tensor_release(r);
  tf_tensor_release(h);
}

static void test_unary_special_values(void) {
  tf_tensor *x = make_f64(1, SHAPE(4), (const double[]){NAN, INFINITY, -INFINITY, 1});
  tf_tensor *r = NULL;
  REQUIRE(x);
  CHECK_OK(tf_unary(TF_UNARY_NAN_TO_NUM, x, 0, 10, -10, &r));
  CHECK_VALUES(r, 0, 0, 10, -10, 1);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_ISNAN, x, 0, 0, 0, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_BOOL);
  CHECK_IVALUES(r, 1, 0, 0, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_ISFINITE, x, 0, 0, 0, &r));
  CHECK_IVALUES(r, 0, 0, 0, 1);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_SIGMOID, x, 0, 0, 0, &r));
  CHECK_VALUES(r, 0, NAN, 1, 0, 1 / (1 + exp(-1.0)));
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_CLAMP, x, -1, 1, 0, &r)); /* NaN propagates */
  CHECK_VALUES(r, 0, NAN, 1, -1, 1);
  tf_tensor_release(r);
  tf_tensor_release(x);
}

static void test_unary_int_and_bool(void) {
  tf_tensor *x = make_i64(1, SHAPE(4), (const int64_t[]){INT64_MIN, -3, 0, 5});
  tf_tensor *r = NULL;
  REQUIRE(x);
  CHECK_OK(tf_unary(TF_UNARY_NEG, x, 0, 0, 0, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_INT64);
  CHECK_IVALUES(r, INT64_MIN, 3, 0, -5); /* wraps, no UB */
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_ABS, x, 0, 0, 0, &r));
  CHECK_IVALUES(r, INT64_MIN, 3, 0, 5);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_SQUARE, x, 0, 0, 0, &r));
  CHECK_IVALUES(r, 0, 9, 0, 25);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_CLAMP, x, -2.5, 1e300, 0, &r));
  CHECK_IVALUES(r, -2, -2, 0, 5);
  tf_tensor_release(r);
  /* FLOAT ops on int64 compute and return float32 */
  CHECK_OK(tf_unary(TF_UNARY_SQRT, x, 0, 0, 0, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK(get_f(r, 3) == (double)(float)sqrt(5.0));
  tf_tensor_release(r);
  tf_tensor_release(x);

  tf_tensor *b = make_bool(1, SHAPE(3), (const bool[]){true, false, true});
  REQUIRE(b);
  CHECK_OK(tf_unary(TF_UNARY_LOGICAL_NOT, b, 0, 0, 0, &r));
  CHECK_IVALUES(r, 0, 1, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_unary(TF_UNARY_EXP, b, 0, 0, 0, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK_VALUES(r, 1e-6, exp(1.0), 1, exp(1.0));
  tf_tensor_release(r);
  tf_tensor_release(b);
}

static void test_unary_noncontiguous_and_into(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT64), *tt = NULL, *r = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  CHECK_OK(tf_unary(TF_UNARY_SQUARE, tt, 0, 0, 0, &r));
  REQUIRE(r);
  CHECK_SHAPE(r, 3, 2);
  CHECK(tf_tensor_is_contiguous(r));
  CHECK_VALUES(r, 0, 0, 9, 1, 16, 4, 25);
  /* in place, through a transposed view */
  CHECK_OK(tf_unary_into(TF_UNARY_NEG, tt, 0, 0, 0, tt));
  CHECK_VALUES(t, 0, -0.0, -1, -2, -3, -4, -5);
  /* into a separate non-contiguous destination */
  tf_tensor *dst = NULL, *dt = NULL;
  CHECK_OK(tf_tensor_empty(2, SHAPE(2, 3), TF_FLOAT64, TF_CPU, &dst));
  CHECK_OK(tf_transpose(dst, 0, 1, &dt));
  CHECK_OK(tf_unary_into(TF_UNARY_ABS, tt, 0, 0, 0, dt));
  CHECK_VALUES(dst, 0, 0, 1, 2, 3, 4, 5);
  /* a destination that partially overlaps the input reads a copy first */
  tf_tensor *v = make_range(1, SHAPE(5), TF_FLOAT64), *lo = NULL, *hi = NULL;
  REQUIRE(v);
  CHECK_OK(tf_slice(v, 0, 0, 4, 1, &lo));
  CHECK_OK(tf_slice(v, 0, 1, 5, 1, &hi));
  CHECK_OK(tf_unary_into(TF_UNARY_SQUARE, lo, 0, 0, 0, hi));
  CHECK_VALUES(v, 0, 0, 0, 1, 4, 9);
  tf_tensor_release(lo);
  tf_tensor_release(hi);
  tf_tensor_release(v);
  tf_tensor_release(dt);
  tf_tensor_release(dst);
  tf_tensor_release(r);
  tf_tensor_release(tt);
  tf_tensor_release(t);
}

static void test_binary_broadcasting(void) {
  tf_tensor *a = make_f32(2, SHAPE(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
  tf_tensor *row = make_f32(1, SHAPE(3), (const float[]){10, 20, 30});
  tf_tensor *col = make_f32(2, SHAPE(2, 1), (const float[]){-1, 1});
  tf_tensor *r = NULL;
  REQUIRE(a && row && col);
  CHECK_OK(tf_binary(TF_BINARY_ADD, a, row, &r));
  CHECK_SHAPE(r, 2, 3);
  CHECK_VALUES(r, 0, 11, 22, 33, 14, 25, 36);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_MUL, col, row, &r)); /* (2,1) * (3,) -> (2,3) */
  CHECK_SHAPE(r, 2, 3);
  CHECK_VALUES(r, 0, -10, -20, -30, 10, 20, 30);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_SUB, row, a, &r));
  CHECK_VALUES(r, 0, 9, 18, 27, 6, 15, 24);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_DIV, a, col, &r));
  CHECK_VALUES(r, 0, -1, -2, -3, 4, 5, 6);
  tf_tensor_release(r);

  /* size-0 dims broadcast like any other; 0-d with 0-d stays 0-d */
  tf_tensor *e = NULL, *s = make_f32(0, NULL, (const float[]){2});
  CHECK_OK(tf_tensor_empty(2, SHAPE(0, 3), TF_FLOAT32, TF_CPU, &e));
  CHECK_OK(tf_binary(TF_BINARY_ADD, e, row, &r));
  CHECK_SHAPE(r, 0, 3);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_POW, s, s, &r));
  REQUIRE(r);
  CHECK_EQ_I(tf_tensor_ndim(r), 0);
  CHECK_VALUES(r, 0, 4);
  tf_tensor_release(r);
  tf_tensor_release(s);
  tf_tensor_release(e);
  tf_tensor_release(a);
  tf_tensor_release(row);
  tf_tensor_release(col);
}

static void test_binary_noncontiguous(void) {
  tf_tensor *t = make_range(2, SHAPE(3, 4), TF_INT64), *tt = NULL, *s = NULL,
            *e = NULL, *r = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));       /* (4, 3) */
  CHECK_OK(tf_slice(tt, 0, 0, 4, 2, &s));     /* (2, 3): rows 0, 2 of tt */
  tf_tensor *one = make_i64(1, SHAPE(1), (const int64_t[]){100});
  REQUIRE(one);
  CHECK_OK(tf_expand(one, 2, SHAPE(2, 3), &e)); /* stride 0 everywhere */
  CHECK_OK(tf_binary(TF_BINARY_ADD, s, e, &r));
  /* s = [[0, 4, 8], [2, 6, 10]] */
  CHECK_IVALUES(r, 100, 104, 108, 102, 106, 110);
  tf_tensor_release(r);
  /* (2, 3) against (4, 3) */
  r = TF_UNTOUCHED;
  CHECK_ERR(tf_binary(TF_BINARY_MAXIMUM, s, tt, &r), TF_ERR_SHAPE,
            "maximum: shapes (2, 3) and (4, 3) cannot be broadcast");
  CHECK(r == TF_UNTOUCHED);
  tf_tensor_release(e);
  tf_tensor_release(one);
  tf_tensor_release(s);
  tf_tensor_release(tt);
  tf_tensor_release(t);
}

static void test_int_division_signs(void) {
  /* Python's convention: the quotient floors, the remainder takes the
   * divisor's sign. */
  tf_tensor *a = make_i64(1, SHAPE(6), (const int64_t[]){7, -7, 7, -7, INT64_MIN, 0});
  tf_tensor *b = make_i64(1, SHAPE(6), (const int64_t[]){2, 2, -2, -2, -1, -3});
  tf_tensor *r = NULL;
  REQUIRE(a && b);
  CHECK_OK(tf_binary(TF_BINARY_FLOOR_DIVIDE, a, b, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_INT64);
  CHECK_IVALUES(r, 3, -4, -4, 3, INT64_MIN, 0); /* INT64_MIN // -1 wraps */
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_REMAINDER, a, b, &r));
  CHECK_IVALUES(r, 1, 1, -1, -1, 0, 0);
  tf_tensor_release(r);
  tf_tensor_release(a);
  tf_tensor_release(b);

  tf_tensor *x = make_f64(1, SHAPE(5), (const double[]){-7, 7, 5, -0.0, 1});
  tf_tensor *y = make_f64(1, SHAPE(5), (const double[]){2, -2, 0, 3, 0});
  REQUIRE(x && y);
  CHECK_OK(tf_binary(TF_BINARY_REMAINDER, x, y, &r));
  CHECK_VALUES(r, 0, 1, -1, NAN, 0, NAN);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_FLOOR_DIVIDE, x, y, &r));
  CHECK_VALUES(r, 0, -4, -4, INFINITY, -0.0, INFINITY);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_DIV, x, y, &r)); /* float: no error */
  CHECK(isinf(get_f(r, 2)));
  tf_tensor_release(r);
  tf_tensor_release(x);
  tf_tensor_release(y);
}

static void test_int_pow_and_wrap(void) {
  tf_tensor *a = make_i64(1, SHAPE(4), (const int64_t[]){2, 3, -2, INT64_MAX});
  tf_tensor *b = make_i64(1, SHAPE(4), (const int64_t[]){10, 0, 3, 1});
  tf_tensor *r = NULL;
  REQUIRE(a && b);
  CHECK_OK(tf_binary(TF_BINARY_POW, a, b, &r));
  CHECK_IVALUES(r, 1024, 1, -8, INT64_MAX);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_ADD, a, b, &r)); /* INT64_MAX + 1 wraps */
  CHECK_IVALUES(r, 12, 3, 1, INT64_MIN);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_MUL, a, a, &r));
  CHECK_IVALUES(r, 4, 9, 4, 1);
  tf_tensor_release(r);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

static void test_compare_logic_minmax(void) {
  tf_tensor *a = make_f32(1, SHAPE(4), (const float[]){1, NAN, 3, -0.0f});
  tf_tensor *b = make_f64(1, SHAPE(4), (const double[]){2, 1, NAN, 0.0});
  tf_tensor *r = NULL;
  REQUIRE(a && b);
  CHECK_OK(tf_binary(TF_BINARY_LT, a, b, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_BOOL);
  CHECK_IVALUES(r, 1, 0, 0, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_EQ, a, b, &r));
  CHECK_IVALUES(r, 0, 0, 0, 1); /* -0 == 0 */
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_NE, a, b, &r));
  CHECK_IVALUES(r, 1, 1, 1, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_MAXIMUM, a, b, &r)); /* NaN propagates */
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT64);
  CHECK_VALUES(r, 0, 2, NAN, NAN, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_LOGICAL_AND, a, b, &r)); /* NaN is true */
  CHECK_IVALUES(r, 1, 1, 1, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_LOGICAL_XOR, a, b, &r));
  CHECK_IVALUES(r, 0, 0, 0, 0);
  tf_tensor_release(r);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

static tf_dtype result_of(int op, const tf_tensor *a, const tf_tensor *b) {
  tf_dtype d = TF_NUM_DTYPES;
  CHECK_OK(tf_result_dtype(op, a, b, &d));
  return d;
}

static void test_promotion(void) {
  tf_tensor *f32 = make_range(1, SHAPE(2), TF_FLOAT32);
  tf_tensor *f64 = make_range(1, SHAPE(2), TF_FLOAT64);
  tf_tensor *i64 = make_range(1, SHAPE(2), TF_INT64);
  tf_tensor *b = make_range(1, SHAPE(2), TF_BOOL);
  tf_tensor *f64_0d = make_f64(0, NULL, (const double[]){1});
  tf_tensor *i64_0d = make_i64(0, NULL, (const int64_t[]){1});
  REQUIRE(f32 && f64 && i64 && b && f64_0d && i64_0d);
  CHECK(result_of(TF_BINARY_ADD, f32, f64) == TF_FLOAT64);
  CHECK(result_of(TF_BINARY_ADD, i64, f32) == TF_FLOAT32);
  CHECK(result_of(TF_BINARY_ADD, b, i64) == TF_INT64);
  CHECK(result_of(TF_BINARY_ADD, b, b) == TF_BOOL); /* as PyTorch */
  CHECK(result_of(TF_BINARY_MUL, b, b) == TF_BOOL);
  CHECK(result_of(TF_BINARY_DIV, i64, i64) == TF_FLOAT32);
  CHECK(result_of(TF_BINARY_DIV, f64, i64) == TF_FLOAT64);
  CHECK(result_of(TF_BINARY_LT, f64, i64) == TF_BOOL);
  CHECK(result_of(TF_BINARY_LOGICAL_OR, f32, i64) == TF_BOOL);
  /* a 0-d tensor does not raise a dimensioned tensor's dtype within its
   * category, but does across categories */
  CHECK(result_of(TF_BINARY_MUL, f32, f64_0d) == TF_FLOAT32);
  CHECK(result_of(TF_BINARY_MUL, f64_0d, i64) == TF_FLOAT64);
  CHECK(result_of(TF_BINARY_MUL, i64_0d, b) == TF_INT64);
  CHECK(result_of(TF_BINARY_MUL, f64_0d, i64_0d) == TF_FLOAT64);
  tf_dtype d = TF_NUM_DTYPES;
  CHECK_ERR(tf_result_dtype(TF_BINARY_SUB, b, b, &d), TF_ERR_DTYPE, "sub");

  /* the computed values follow the promoted dtype */
  tf_tensor *r = NULL;
  CHECK_OK(tf_binary(TF_BINARY_ADD, f32, f64_0d, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK_VALUES(r, 0, 1, 2);
  tf_tensor_release(r);
  CHECK_OK(tf_binary(TF_BINARY_ADD, b, b, &r)); /* True + True is True */
  CHECK(r && tf_tensor_dtype(r) == TF_BOOL);
  CHECK_IVALUES(r, 0, 1);
  tf_tensor_release(r);
  tf_tensor_release(f32);
  tf_tensor_release(f64);
  tf_tensor_release(i64);
  tf_tensor_release(b);
  tf_tensor_release(f64_0d);
  tf_tensor_release(i64_0d);
}

static void test_scalar_operands(void) {
  tf_tensor *f = make_f32(1, SHAPE(3), (const float[]){1, 2, 4});
  tf_tensor *i = make_i64(1, SHAPE(3), (const int64_t[]){1, 2, 4});
  tf_tensor *r = NULL;
  REQUIRE(f && i);
  /* a Python int never widens float32; a float turns int64 into float32 */
  CHECK_OK(tf_binary_scalar(TF_BINARY_ADD, f, 3.0, 3, TF_SCALAR_INT, false, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK_VALUES(r, 0, 4, 5, 7);
  tf_tensor_release(r);
  CHECK_OK(tf_binary_scalar(TF_BINARY_MUL, i, 0.5, 0, TF_SCALAR_FLOAT, false, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK_VALUES(r, 0, 0.5, 1, 2);
  tf_tensor_release(r);
  /* reverse: s - t and s / t */
  CHECK_OK(tf_binary_scalar(TF_BINARY_SUB, i, 10, 10, TF_SCALAR_INT, true, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_INT64);
  CHECK_IVALUES(r, 9, 8, 6);
  tf_tensor_release(r);
  CHECK_OK(tf_binary_scalar(TF_BINARY_DIV, f, 1.0, 0, TF_SCALAR_FLOAT, true, &r));
  CHECK_VALUES(r, 0, 1, 0.5, 0.25);
  tf_tensor_release(r);
  /* int64 scalars beyond 2^53 keep every bit */
  CHECK_OK(tf_binary_scalar(TF_BINARY_ADD, i, 0, (1LL << 62) + 1, TF_SCALAR_INT, false, &r));
  CHECK_IVALUES(r, (1LL << 62) + 2, (1LL << 62) + 3, (1LL << 62) + 5);
  tf_tensor_release(r);
  CHECK_OK(tf_binary_scalar(TF_BINARY_GT, i, 1.5, 0, TF_SCALAR_FLOAT, false, &r));
  CHECK_IVALUES(r, 0, 1, 1);
  tf_tensor_release(r);
  /* bool scalars with bool tensors (t & True, t | False) */
  tf_tensor *b = make_bool(1, SHAPE(4), (const bool[]){true, true, false, false});
  REQUIRE(b);
  CHECK_OK(tf_binary_scalar(TF_BINARY_LOGICAL_AND, b, 1.0, 1, TF_SCALAR_BOOL, false, &r));
  CHECK(r && tf_tensor_dtype(r) == TF_BOOL);
  CHECK_IVALUES(r, 1, 1, 0, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_binary_scalar(TF_BINARY_LOGICAL_OR, b, 0.0, 0, TF_SCALAR_BOOL, true, &r));
  CHECK_IVALUES(r, 1, 1, 0, 0);
  tf_tensor_release(r);
  CHECK_OK(tf_binary_scalar(TF_BINARY_LOGICAL_XOR, b, 1.0, 1, TF_SCALAR_BOOL, false, &r));
  CHECK_IVALUES(r, 0, 0, 1, 1);
  tf_tensor_release(r);
  tf_tensor_release(b);
  /* in place: f *= 2 */
  CHECK_OK(tf_binary_scalar_into(TF_BINARY_MUL, f, 2, 2, TF_SCALAR_INT, f));
  CHECK_VALUES(f, 0, 2, 4, 8);
  tf_tensor_release(f);
  tf_tensor_release(i);
}

static void test_binary_into(void) {
  tf_tensor *a = make_f32(2, SHAPE(2, 2), (const float[]){1, 2, 3, 4});
  tf_tensor *b = make_f64(1, SHAPE(2), (const double[]){0.5, 0.25});
  REQUIRE(a && b);
  /* in place, float64 result narrowed into the float32 destination */
  CHECK_OK(tf_binary_into(TF_BINARY_MUL, a, b, a));
  CHECK_VALUES(a, 0, 0.5, 0.5, 1.5, 1);
  /* dst aliasing b exactly, non-contiguous */
  tf_tensor *t = make_range(2, SHAPE(2, 2), TF_INT64), *tt = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  CHECK_OK(tf_binary_into(TF_BINARY_SUB, t, tt, tt));
  /* tt[i][j] = t[i][j] - tt[i][j] = t[i][j] - t[j][i] */
  CHECK_IVALUES(tt, 0, -1, 1, 0);
  /* a destination partially overlapping an operand */
  tf_tensor *v = make_range(1, SHAPE(5), TF_FLOAT64), *lo = NULL, *hi = NULL;
  tf_tensor *one = make_f64(0, NULL, (const double[]){1});
  REQUIRE(v && one);
  CHECK_OK(tf_slice(v, 0, 0, 4, 1, &lo));
  CHECK_OK(tf_slice(v, 0, 1, 5, 1, &hi));
  CHECK_OK(tf_binary_into(TF_BINARY_ADD, lo, one, hi));
  CHECK_VALUES(v, 0, 0, 1, 2, 3, 4);
  tf_tensor_release(lo);
  tf_tensor_release(hi);
  tf_tensor_release(v);
  tf_tensor_release(one);
  tf_tensor_release(tt);
  tf_tensor_release(t);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

static void test_where(void) {
  tf_tensor *c = make_bool(2, SHAPE(2, 1), (const bool[]){true, false});
  tf_tensor *a = make_i64(1, SHAPE(3), (const int64_t[]){1, 2, 3});
  tf_tensor *b = make_f32(0, NULL, (const float[]){-1});
  tf_tensor *r = NULL;
  REQUIRE(c && a && b);
  CHECK_OK(tf_where(c, a, b, &r));
  CHECK_SHAPE(r, 2, 3);
  CHECK(r && tf_tensor_dtype(r) == TF_FLOAT32);
  CHECK_VALUES(r, 0, 1, 2, 3, -1, -1, -1);
  tf_tensor_release(r);
  tf_tensor_release(c);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

/* Large enough to run on both threads: the split never depends on the
 * thread count, so the bits must match. */
static void test_threads_do_not_change_results(void) {
  const int64_t n = 3 * 32768 + 17;
  tf_tensor *x = NULL, *r1 = NULL, *r2 = NULL, *xt = NULL, *s1 = NULL, *s2 = NULL;
  CHECK_OK(tf_arange(-50.0, 0.001, 0, 0, n, TF_FLOAT32, TF_CPU, &x));
  REQUIRE(x);
  int before = tf_get_num_threads();
  tf_set_num_threads(1);
  CHECK_OK(tf_unary(TF_UNARY_EXP, x, 0, 0, 0, &r1));
  tf_set_num_threads(2);
  CHECK_OK(tf_unary(TF_UNARY_EXP, x, 0, 0, 0, &r2));
  REQUIRE(r1 && r2);
  CHECK(!memcmp(tf_tensor_data(r1), tf_tensor_data(r2), (size_t)n * 4));
  /* a many-row, non-contiguous case through the row-block split */
  tf_tensor *m = make_range(2, SHAPE(300, 257), TF_FLOAT64);
  REQUIRE(m);
  CHECK_OK(tf_transpose(m, 0, 1, &xt));
  tf_set_num_threads(1);
  CHECK_OK(tf_binary(TF_BINARY_MUL, xt, xt, &s1));
  tf_set_num_threads(2);
  CHECK_OK(tf_binary(TF_BINARY_MUL, xt, xt, &s2));
  REQUIRE(s1 && s2);
  CHECK(!memcmp(tf_tensor_data(s1), tf_tensor_data(s2), 300 * 257 * 8));
  CHECK(get_f(s2, 256 * 300 + 299) == (double)(299 * 257 + 256) * (299 * 257 + 256));
  tf_set_num_threads(before);
  tf_tensor_release(m);
  tf_tensor_release(xt);
  tf_tensor_release(s1);
  tf_tensor_release(s2);
  tf_tensor_release(r1);
  tf_tensor_release(r2);
  tf_tensor_release(x);
}

void suite_elementwise(void) {
  RUN(test_unary_float_values);
  RUN(test_unary_special_values);
  RUN(test_unary_int_and_bool);
  RUN(test_unary_noncontiguous_and_into);
  RUN(test_binary_broadcasting);
  RUN(test_binary_noncontiguous);
  RUN(test_int_division_signs);
  RUN(test_int_pow_and_wrap);
  RUN(test_compare_logic_minmax);
  RUN(test_promotion);
  RUN(test_scalar_operands);
  RUN(test_binary_into);
  RUN(test_where);
  RUN(test_threads_do_not_change_results);
}
