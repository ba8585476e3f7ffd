/* test_safety.c: the core's own guarantees under hostile arguments: shape
 * arithmetic that overflows int64 is an error, no view reaches outside its
 * storage, an output that overlaps an input only partly is computed as if
 * out of place, and a scalar converts to a dtype by tf_to_dtype's rule. */
#include "../src/internal.h" /* tf_overlap_of */
#include "tf_test.h"

#define BIG ((int64_t)1 << 62)

static void test_shape_overflow_is_an_error(void) {
  tf_tensor *one = make_range(2, SHAPE(1, 1), TF_FLOAT32), *out = TF_UNTOUCHED;
  tf_tensor *four = make_range(1, SHAPE(4), TF_FLOAT32);
  REQUIRE(one && four);
  CHECK_ERR(tf_expand(one, 2, SHAPE(BIG, BIG), &out), TF_ERR_SHAPE,
            "more elements than fit in 64 bits");
  CHECK_ERR(tf_as_strided(four, 2, SHAPE(BIG, 3), SHAPE(BIG, 1), 0, &out),
            TF_ERR_VALUE, "more elements than fit in 64 bits");
  CHECK_ERR(tf_as_strided(four, 1, SHAPE(3), SHAPE(BIG), 0, &out), TF_ERR_VALUE,
            "reaches further than 64-bit offsets can address");
  CHECK_ERR(tf_as_strided(four, 1, SHAPE(2), SHAPE(-3), 1, &out), TF_ERR_VALUE,
            "outside the storage");
  CHECK_ERR(tf_as_strided(four, 1, SHAPE(1), SHAPE(1), -1, &out), TF_ERR_VALUE,
            "negative storage offset");
  CHECK_ERR(tf_tensor_empty(2, SHAPE(BIG, 4), TF_FLOAT64, TF_CPU, &out), TF_ERR_MEMORY,
            "too large");
  CHECK(out == TF_UNTOUCHED);
  /* a huge step takes the first element, never a wrapped stride */
  CHECK_OK(tf_slice(four, 0, 0, 4, INT64_MAX, &out));
  REQUIRE(out != TF_UNTOUCHED);
  CHECK_SHAPE(out, 1);
  CHECK_VALUES(out, 0, 0);
  tf_tensor_release(out);
  CHECK_OK(tf_slice(four, 0, 1, INT64_MAX, INT64_MAX - 1, &out));
  CHECK_VALUES(out, 0, 1);
  tf_tensor_release(out);
  tf_tensor_release(one);
  tf_tensor_release(four);
}

/* x (3, 2) = 0..5; x += x[0:1] must add the old row 0 to every row. */
static void test_partial_overlap_reads_a_copy(void) {
  tf_tensor *x = make_range(2, SHAPE(3, 2), TF_FLOAT64), *row = NULL, *t = NULL;
  REQUIRE(x);
  CHECK_OK(tf_slice(x, 0, 0, 1, 1, &row));
  REQUIRE(row);
  CHECK_OK(tf_binary_into(TF_BINARY_ADD, x, row, x));
  CHECK_VALUES(x, 0, 0, 2, 2, 4, 4, 6);
  tf_tensor_release(row);
  tf_tensor_release(x);
  /* neg(x.T, out=x): the transposed view starts at x's own address */
  x = make_range(2, SHAPE(2, 2), TF_FLOAT64);
  REQUIRE(x);
  CHECK_OK(tf_transpose(x, 0, 1, &t));
  REQUIRE(t);
  CHECK_OK(tf_unary_into(TF_UNARY_NEG, t, 0, 0, 0, x));
  CHECK_VALUES(x, 0, -0.0, -2, -1, -3);
  /* copy_ from a transposed view of itself */
  CHECK_OK(tf_copy_(x, t));
  CHECK_VALUES(x, 0, -0.0, -1, -2, -3);
  tf_tensor_release(t);
  tf_tensor_release(x);
}

static void test_overlap_classification(void) {
  tf_tensor *x = make_range(2, SHAPE(4, 4), TF_FLOAT32), *even = NULL, *odd = NULL,
            *alias = NULL, *row = NULL;
  REQUIRE(x);
  CHECK_OK(tf_slice(x, 1, 0, 4, 2, &even));
  CHECK_OK(tf_slice(x, 1, 1, 4, 2, &odd));
  CHECK_OK(tf_as_strided(x, 2, SHAPE(4, 4), SHAPE(4, 1), 0, &alias));
  CHECK_OK(tf_slice(x, 0, 0, 1, 1, &row));
  REQUIRE(even && odd && alias && row);
  CHECK(tf_overlap_of(x, alias) == TF_OVERLAP_SAME);
  CHECK(tf_overlap_of(x, row) == TF_OVERLAP_PARTIAL);  /* broadcast row */
  CHECK(tf_overlap_of(even, even) == TF_OVERLAP_SAME);
  /* interleaved columns share the byte range: conservatively PARTIAL */
  CHECK(tf_overlap_of(even, odd) == TF_OVERLAP_PARTIAL);
  tf_tensor *other = make_range(2, SHAPE(4, 4), TF_FLOAT32);
  REQUIRE(other);
  CHECK(tf_overlap_of(x, other) == TF_OVERLAP_NONE);
  tf_tensor_release(other);
  tf_tensor_release(even);
  tf_tensor_release(odd);
  tf_tensor_release(alias);
  tf_tensor_release(row);
  tf_tensor_release(x);
}

static void test_scalar_conversion_rule(void) {
  tf_tensor *t = NULL;
  const double specials[] = {INFINITY, -INFINITY, NAN, 1e300, -2.75, 9.2e18};
  const int64_t want[] = {INT64_MAX, INT64_MIN, 0, INT64_MAX, -2, INT64_C(9200000000000000000)};
  for (int k = 0; k < 6; k++) {
    CHECK_OK(tf_full(1, SHAPE(1), TF_INT64, specials[k], 0, TF_SCALAR_FLOAT, TF_CPU, &t));
    REQUIRE(t);
    CHECK_EQ_I(get_i(t, 0), want[k]);
    tf_tensor_release(t);
  }
  CHECK_OK(tf_full(1, SHAPE(2), TF_BOOL, 0.5, 0, TF_SCALAR_FLOAT, TF_CPU, &t));
  CHECK_IVALUES(t, 1, 1);
  tf_tensor_release(t);
  CHECK_OK(tf_full(1, SHAPE(1), TF_BOOL, -0.0, 0, TF_SCALAR_FLOAT, TF_CPU, &t));
  CHECK_IVALUES(t, 0);
  tf_tensor_release(t);
  /* int64 into float32 in one rounding: 2^54 + 2^30 + 1 -> 2^54 + 2^31 */
  int64_t v = ((int64_t)1 << 54) + ((int64_t)1 << 30) + 1;
  CHECK_OK(tf_full(1, SHAPE(1), TF_FLOAT32, 0, v, TF_SCALAR_INT, TF_CPU, &t));
  CHECK(get_f(t, 0) == 0x1p54 + 0x1p31);
  tf_tensor_release(t);
  CHECK_OK(tf_full(1, SHAPE(1), TF_INT64, 0, INT64_MIN, TF_SCALAR_INT, TF_CPU, &t));
  CHECK_EQ_I(get_i(t, 0), INT64_MIN);
  tf_tensor_release(t);
  t = TF_UNTOUCHED;
  CHECK_ERR(tf_full(1, SHAPE(1), TF_INT64, 0, 0, 7, TF_CPU, &t), TF_ERR_VALUE, "unknown scalar kind");
  CHECK(t == TF_UNTOUCHED);
}

void suite_safety(void) {
  RUN(test_shape_overflow_is_an_error);
  RUN(test_partial_overlap_reads_a_copy);
  RUN(test_overlap_classification);
  RUN(test_scalar_conversion_rule);
}
