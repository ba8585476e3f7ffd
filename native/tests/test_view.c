/* test_view.c: the view ops: view/reshape (including reshape's copy path),
 * permute, transpose, slice, select, expand, squeeze, unsqueeze and
 * as_strided; that views share storage, and their bounds checks. */
#include "tf_test.h"

static int64_t stride_of(const tf_tensor *t, int d) {
  int64_t s[TF_MAX_DIMS];
  tf_tensor_strides(t, s);
  return s[d];
}

static void test_view_contiguous(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 6), TF_FLOAT32), *v = NULL, *w = NULL;
  REQUIRE(t);
  CHECK_OK(tf_view(t, 3, SHAPE(3, -1, 2), &v));
  REQUIRE(v);
  CHECK_SHAPE(v, 3, 2, 2);
  CHECK(tf_tensor_same_storage(t, v));
  CHECK(tf_tensor_is_contiguous(v));
  CHECK_VALUES(v, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
  /* to 0-d and back needs one element */
  CHECK_OK(tf_view(t, 1, SHAPE(-1), &w));
  CHECK_SHAPE(w, 12);
  tf_tensor_release(w);
  tf_tensor_release(v);
  tf_tensor_release(t);

  tf_tensor *s = make_f64(1, SHAPE(1), (const double[]){4.0}), *z = NULL;
  REQUIRE(s);
  CHECK_OK(tf_view(s, 0, NULL, &z));
  REQUIRE(z);
  CHECK_EQ_I(tf_tensor_ndim(z), 0);
  CHECK_VALUES(z, 0, 4.0);
  tf_tensor_release(z);
  tf_tensor_release(s);

  /* size-0 tensors view into any shape of 0 elements; -1 is ambiguous */
  tf_tensor *e = NULL, *ev = NULL;
  CHECK_OK(tf_tensor_empty(2, SHAPE(0, 4), TF_FLOAT32, TF_CPU, &e));
  CHECK_OK(tf_view(e, 3, SHAPE(2, 0, 8), &ev));
  CHECK_SHAPE(ev, 2, 0, 8);
  tf_tensor_release(ev);
  ev = TF_UNTOUCHED;
  CHECK_ERR(tf_view(e, 2, SHAPE(-1, 0), &ev), TF_ERR_SHAPE, "view");
  CHECK(ev == TF_UNTOUCHED);
  tf_tensor_release(e);
}

/* Dims that stay contiguous with each other may be split or merged even
 * when the tensor as a whole is not contiguous. */
static void test_view_noncontiguous(void) {
  tf_tensor *t = make_range(2, SHAPE(4, 6), TF_FLOAT64), *s = NULL, *v = NULL;
  REQUIRE(t);
  CHECK_OK(tf_slice(t, 0, 0, 4, 2, &s)); /* rows 0 and 2: (2, 6) stride (12, 1) */
  REQUIRE(s);
  CHECK(!tf_tensor_is_contiguous(s));
  CHECK_OK(tf_view(s, 3, SHAPE(2, 2, 3), &v));
  REQUIRE(v);
  CHECK(tf_tensor_same_storage(t, v));
  CHECK_EQ_I(stride_of(v, 0), 12);
  CHECK_EQ_I(stride_of(v, 1), 3);
  CHECK_VALUES(v, 0, 0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17);
  tf_tensor *flat = TF_UNTOUCHED;
  CHECK_ERR(tf_view(s, 1, SHAPE(12), &flat), TF_ERR_SHAPE,
            "use reshape");
  CHECK(flat == TF_UNTOUCHED);
  tf_tensor_release(v);
  tf_tensor_release(s);
  tf_tensor_release(t);
}

static void test_reshape_copy_path(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_INT64), *tt = NULL, *r = NULL,
            *r2 = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  CHECK_OK(tf_reshape(tt, 1, SHAPE(6), &r)); /* must copy */
  REQUIRE(r);
  CHECK(!tf_tensor_same_storage(r, t));
  CHECK(tf_tensor_is_contiguous(r));
  CHECK_IVALUES(r, 0, 3, 1, 4, 2, 5);
  CHECK_OK(tf_reshape(t, 2, SHAPE(3, 2), &r2)); /* can view */
  REQUIRE(r2);
  CHECK(tf_tensor_same_storage(r2, t));
  CHECK_IVALUES(r2, 0, 1, 2, 3, 4, 5);
  tf_tensor_release(r2);
  tf_tensor_release(r);
  tf_tensor_release(tt);
  tf_tensor_release(t);
}

static void test_permute_transpose(void) {
  tf_tensor *t = make_range(3, SHAPE(2, 3, 4), TF_FLOAT32), *p = NULL, *q = NULL;
  REQUIRE(t);
  CHECK_OK(tf_permute(t, (const int[]){2, 0, -2}, &p));
  REQUIRE(p);
  CHECK_SHAPE(p, 4, 2, 3);
  CHECK_EQ_I(stride_of(p, 0), 1);
  CHECK_EQ_I(stride_of(p, 1), 12);
  CHECK_EQ_I(stride_of(p, 2), 4);
  CHECK(tf_tensor_same_storage(t, p));
  /* p[i, j, k] = t[j, k, i] = 12 j + 4 k + i */
  CHECK(get_f(p, 1 * 6 + 1 * 3 + 2) == 12 + 8 + 1);
  CHECK_OK(tf_transpose(t, -1, 0, &q));
  REQUIRE(q);
  CHECK_SHAPE(q, 4, 3, 2);
  CHECK(get_f(q, 3 * 6 + 2 * 2 + 1) == 12 + 8 + 3); /* q[3,2,1] = t[1,2,3] */
  tf_tensor_release(q);
  tf_tensor_release(p);
  tf_tensor_release(t);

  /* transpose of a 0-d tensor with dims 0/-1 is itself */
  tf_tensor *s = make_f64(0, NULL, (const double[]){3}), *st = NULL;
  REQUIRE(s);
  CHECK_OK(tf_transpose(s, 0, -1, &st));
  CHECK(st && tf_tensor_ndim(st) == 0);
  tf_tensor_release(st);
  tf_tensor_release(s);
}

static void test_slice(void) {
  tf_tensor *t = make_range(1, SHAPE(10), TF_INT64), *s = NULL, *e = NULL,
            *c = NULL;
  REQUIRE(t);
  CHECK_OK(tf_slice(t, 0, 1, 8, 3, &s));
  REQUIRE(s);
  CHECK_SHAPE(s, 3);
  CHECK_EQ_I(tf_tensor_offset(s), 1);
  CHECK_EQ_I(stride_of(s, 0), 3);
  CHECK_IVALUES(s, 1, 4, 7);
  CHECK_OK(tf_slice(t, -1, 5, 5, 1, &e)); /* empty */
  CHECK_SHAPE(e, 0);
  CHECK_OK(tf_slice(t, 0, -4, 100, 4, &c)); /* clamped to [0, 10] */
  CHECK_IVALUES(c, 0, 4, 8);
  /* a slice of a slice composes offsets and strides */
  tf_tensor *ss = NULL;
  CHECK_OK(tf_slice(s, 0, 1, 3, 1, &ss));
  CHECK_IVALUES(ss, 4, 7);
  CHECK_EQ_I(tf_tensor_offset(ss), 4);
  tf_tensor_release(ss);
  tf_tensor_release(c);
  tf_tensor_release(e);
  tf_tensor_release(s);
  tf_tensor_release(t);
}

static void test_select(void) {
  tf_tensor *t = make_range(2, SHAPE(3, 4), TF_FLOAT64), *r = NULL, *c = NULL,
            *x = NULL;
  REQUIRE(t);
  CHECK_OK(tf_select(t, 0, -1, &r));
  CHECK_SHAPE(r, 4);
  CHECK_VALUES(r, 0, 8, 9, 10, 11);
  CHECK_OK(tf_select(t, 1, 2, &c));
  CHECK_SHAPE(c, 3);
  CHECK_VALUES(c, 0, 2, 6, 10);
  CHECK_OK(tf_select(c, 0, 1, &x));
  REQUIRE(x);
  CHECK_EQ_I(tf_tensor_ndim(x), 0);
  CHECK_VALUES(x, 0, 6);
  tf_tensor_release(x);
  tf_tensor_release(c);
  tf_tensor_release(r);
  tf_tensor_release(t);
}

static void test_expand(void) {
  tf_tensor *t = make_f32(2, SHAPE(3, 1), (const float[]){1, 2, 3}), *e = NULL,
            *e2 = NULL;
  REQUIRE(t);
  CHECK_OK(tf_expand(t, 3, SHAPE(2, -1, 4), &e));
  REQUIRE(e);
  CHECK_SHAPE(e, 2, 3, 4);
  CHECK_EQ_I(stride_of(e, 0), 0);
  CHECK_EQ_I(stride_of(e, 2), 0);
  CHECK(tf_tensor_same_storage(t, e));
  CHECK(!tf_tensor_is_contiguous(e));
  CHECK(get_f(e, 1 * 12 + 2 * 4 + 3) == 3);
  /* expanding a size-1 dim to 0 */
  CHECK_OK(tf_expand(t, 2, SHAPE(3, 0), &e2));
  CHECK_SHAPE(e2, 3, 0);
  tf_tensor_release(e2);
  tf_tensor_release(e);
  tf_tensor_release(t);

  tf_tensor *s = make_i64(0, NULL, (const int64_t[]){7}), *se = NULL;
  REQUIRE(s);
  CHECK_OK(tf_expand(s, 2, SHAPE(2, 2), &se));
  CHECK_IVALUES(se, 7, 7, 7, 7);
  tf_tensor_release(se);
  tf_tensor_release(s);
}

static void test_squeeze_unsqueeze(void) {
  tf_tensor *t = make_range(4, SHAPE(1, 3, 1, 2), TF_FLOAT32), *a = NULL,
            *b = NULL, *u = NULL, *u2 = NULL;
  REQUIRE(t);
  CHECK_OK(tf_squeeze(t, 0xffu, &a)); /* bits past ndim are ignored */
  CHECK_SHAPE(a, 3, 2);
  CHECK_OK(tf_squeeze(t, (1u << 1) | (1u << 2), &b)); /* dim 1 has size 3: kept */
  CHECK_SHAPE(b, 1, 3, 2);
  CHECK(tf_tensor_same_storage(t, b));
  CHECK_OK(tf_unsqueeze(a, -1, &u));
  CHECK_SHAPE(u, 3, 2, 1);
  CHECK(u && tf_tensor_is_contiguous(u));
  CHECK_OK(tf_unsqueeze(a, 1, &u2));
  CHECK_SHAPE(u2, 3, 1, 2);
  CHECK(u2 && tf_tensor_is_contiguous(u2));
  CHECK_VALUES(u2, 0, 0, 1, 2, 3, 4, 5);
  tf_tensor_release(u2);
  tf_tensor_release(u);
  tf_tensor_release(b);
  tf_tensor_release(a);
  tf_tensor_release(t);

  tf_tensor *s = make_f64(0, NULL, (const double[]){1}), *su = NULL;
  REQUIRE(s);
  CHECK_OK(tf_unsqueeze(s, 0, &su));
  CHECK_SHAPE(su, 1);
  tf_tensor_release(su);
  tf_tensor_release(s);
}

static void test_as_strided(void) {
  tf_tensor *t = make_range(1, SHAPE(6), TF_FLOAT64), *w = NULL, *r = NULL,
            *e = NULL;
  REQUIRE(t);
  /* overlapping windows of 3 */
  CHECK_OK(tf_as_strided(t, 2, SHAPE(4, 3), SHAPE(1, 1), 0, &w));
  CHECK_SHAPE(w, 4, 3);
  CHECK_VALUES(w, 0, 0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5);
  /* negative strides that stay inside the storage */
  CHECK_OK(tf_as_strided(t, 1, SHAPE(3), SHAPE(-2), 5, &r));
  CHECK_VALUES(r, 0, 5, 3, 1);
  /* size 0: any offset and strides are fine */
  CHECK_OK(tf_as_strided(t, 2, SHAPE(0, 3), SHAPE(100, 100), 50, &e));
  CHECK_SHAPE(e, 0, 3);
  tf_tensor *bad = TF_UNTOUCHED;
  CHECK_ERR(tf_as_strided(t, 2, SHAPE(2, 3), SHAPE(3, 1), 1, &bad),
            TF_ERR_VALUE, "as_strided"); /* reaches element 6 */
  CHECK_ERR(tf_as_strided(t, 1, SHAPE(3), SHAPE(-2), 3, &bad), TF_ERR_VALUE,
            "outside the storage"); /* reaches element -1 */
  CHECK_ERR(tf_as_strided(t, 1, SHAPE(1), SHAPE(1), -1, &bad), TF_ERR_VALUE,
            "as_strided");
  CHECK_ERR(tf_as_strided(t, 1, SHAPE(-1), SHAPE(1), 0, &bad), TF_ERR_VALUE,
            "negative size");
  CHECK(bad == TF_UNTOUCHED);
  tf_tensor_release(e);
  tf_tensor_release(r);
  tf_tensor_release(w);
  tf_tensor_release(t);
}

/* Writes through any view are visible through the base and other views. */
static void test_views_share_storage(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT32), *tt = NULL, *col = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  CHECK_OK(tf_select(tt, 0, 2, &col)); /* t[:, 2] */
  REQUIRE(col);
  CHECK_OK(tf_fill_(col, -1.0, 0, TF_SCALAR_FLOAT));
  CHECK_VALUES(t, 0, 0, 1, -1, 3, 4, -1);
  CHECK_VALUES(tt, 0, 0, 3, 1, 4, -1, -1);
  tf_tensor_release(col);
  tf_tensor_release(tt);
  tf_tensor_release(t);
}

void suite_view(void) {
  RUN(test_view_contiguous);
  RUN(test_view_noncontiguous);
  RUN(test_reshape_copy_path);
  RUN(test_permute_transpose);
  RUN(test_slice);
  RUN(test_select);
  RUN(test_expand);
  RUN(test_squeeze_unsqueeze);
  RUN(test_as_strided);
  RUN(test_views_share_storage);
}
