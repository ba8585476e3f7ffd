/* test_tensor.c: tensors and storage: creation, refcounts and the live
 * count, from_buffer, item, contiguity, copies and dtype conversion, and the
 * creation functions (full, arange, linspace, eye). */
#include <stdint.h>

#include "../src/internal.h" /* tf_host_cache_enabled, TF_PRAGMA */
#include "tf_test.h"

static void test_empty_metadata(void) {
  int64_t live = tf_live_tensors();
  tf_tensor *t = NULL;
  CHECK_OK(tf_tensor_empty(3, SHAPE(2, 3, 4), TF_FLOAT64, TF_CPU, &t));
  REQUIRE(t);
  CHECK_EQ_I(tf_live_tensors(), live + 1);
  CHECK_EQ_I(tf_tensor_ndim(t), 3);
  CHECK(tf_tensor_dtype(t) == TF_FLOAT64);
  CHECK(tf_tensor_device(t) == TF_CPU);
  CHECK_EQ_I(tf_tensor_numel(t), 24);
  CHECK_EQ_I(tf_tensor_offset(t), 0);
  CHECK_SHAPE(t, 2, 3, 4);
  int64_t strides[3];
  tf_tensor_strides(t, strides);
  CHECK_EQ_I(strides[0], 12);
  CHECK_EQ_I(strides[1], 4);
  CHECK_EQ_I(strides[2], 1);
  CHECK(tf_tensor_is_contiguous(t));
  CHECK_EQ_I(tf_tensor_storage_nbytes(t), 24 * 8);
  CHECK(tf_tensor_data(t) == tf_tensor_storage_data(t));
  /* 64-byte aligned storage (the kernels' vector loads rely on it) */
  CHECK(((uintptr_t)tf_tensor_storage_data(t) & 63) == 0);
  tf_tensor_release(t);
  CHECK_EQ_I(tf_live_tensors(), live);
}

static void test_dtype_sizes(void) {
  CHECK_EQ_I(tf_dtype_size(TF_FLOAT32), 4);
  CHECK_EQ_I(tf_dtype_size(TF_FLOAT64), 8);
  CHECK_EQ_I(tf_dtype_size(TF_INT64), 8);
  CHECK_EQ_I(tf_dtype_size(TF_BOOL), 1);
}

static void test_zero_dim_and_empty(void) {
  tf_tensor *s = NULL, *e = NULL;
  CHECK_OK(tf_tensor_empty(0, NULL, TF_FLOAT32, TF_CPU, &s));
  REQUIRE(s);
  CHECK_EQ_I(tf_tensor_ndim(s), 0);
  CHECK_EQ_I(tf_tensor_numel(s), 1);
  CHECK(tf_tensor_is_contiguous(s));
  CHECK_EQ_I(tf_tensor_storage_nbytes(s), 4);

  CHECK_OK(tf_tensor_empty(2, SHAPE(0, 5), TF_INT64, TF_CPU, &e));
  REQUIRE(e);
  CHECK_EQ_I(tf_tensor_numel(e), 0);
  CHECK(tf_tensor_is_contiguous(e));
  CHECK_EQ_I(tf_tensor_storage_nbytes(e), 0);
  CHECK(tf_tensor_storage_data(e) != NULL); /* never NULL, even for 0 bytes */
  tf_tensor_release(s);
  tf_tensor_release(e);
}

static void test_from_buffer_copies(void) {
  double data[6] = {1, 2, 3, 4, 5, 6};
  tf_tensor *t = make_f64(2, SHAPE(2, 3), data);
  REQUIRE(t);
  data[0] = 100; /* the tensor holds its own copy */
  CHECK_VALUES(t, 0, 1, 2, 3, 4, 5, 6);
  CHECK(tf_tensor_data(t) != (void *)data);
  tf_tensor_release(t);

  tf_tensor *z = NULL;
  CHECK_OK(tf_tensor_from_buffer(1, SHAPE(0), TF_FLOAT32, NULL, 0, TF_CPU, &z));
  CHECK_SHAPE(z, 0);
  tf_tensor_release(z);
}

static void test_refcounts(void) {
  int64_t live = tf_live_tensors();
  tf_tensor *t = make_range(1, SHAPE(4), TF_FLOAT32);
  REQUIRE(t);
  tf_tensor_retain(t);
  tf_tensor_release(t);
  CHECK_EQ_I(tf_live_tensors(), live + 1); /* one reference left */
  CHECK_VALUES(t, 0, 0, 1, 2, 3);
  tf_tensor_release(t);
  CHECK_EQ_I(tf_live_tensors(), live);
  tf_tensor_release(NULL); /* accepted, does nothing */
  CHECK_EQ_I(tf_live_tensors(), live);
}

/* A view keeps the storage alive after its base is gone (ASAN/valgrind
 * would report a use after free here otherwise). */
static void test_view_outlives_base(void) {
  tf_tensor *base = make_range(2, SHAPE(2, 3), TF_FLOAT64), *v = NULL;
  REQUIRE(base);
  CHECK_OK(tf_transpose(base, 0, 1, &v));
  REQUIRE(v);
  CHECK(tf_tensor_same_storage(base, v));
  tf_tensor_release(base);
  CHECK_VALUES(v, 0, 0, 3, 1, 4, 2, 5);
  tf_tensor_release(v);
}

static void test_item(void) {
  double f = 0;
  int64_t i = 0;
  tf_tensor *a = make_f32(0, NULL, (const float[]){2.5f});
  tf_tensor *b = make_f64(1, SHAPE(1), (const double[]){-0.125});
  tf_tensor *c = make_i64(2, SHAPE(1, 1), (const int64_t[]){INT64_MIN});
  tf_tensor *d = make_bool(0, NULL, (const bool[]){true});
  REQUIRE(a && b && c && d);
  CHECK_OK(tf_tensor_item(a, &f, &i));
  CHECK(f == 2.5);
  CHECK_OK(tf_tensor_item(b, &f, &i));
  CHECK(f == -0.125);
  CHECK_OK(tf_tensor_item(c, &f, &i));
  CHECK(i == INT64_MIN); /* exact: not through a double */
  CHECK_OK(tf_tensor_item(d, &f, &i));
  CHECK(i == 1 && f == 1.0);
  tf_tensor_release(a);
  tf_tensor_release(b);
  tf_tensor_release(c);
  tf_tensor_release(d);
}

static void test_contiguity(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT32);
  tf_tensor *tt = NULL, *c = NULL, *same = NULL, *col = NULL, *one = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  REQUIRE(tt);
  CHECK(!tf_tensor_is_contiguous(tt));
  CHECK_OK(tf_contiguous(tt, &c));
  REQUIRE(c);
  CHECK(tf_tensor_is_contiguous(c));
  CHECK(!tf_tensor_same_storage(c, t));
  CHECK_VALUES(c, 0, 0, 3, 1, 4, 2, 5);
  /* contiguous of a contiguous tensor is that tensor, one more reference */
  CHECK_OK(tf_contiguous(t, &same));
  CHECK(same == t);
  tf_tensor_release(same);
  /* a size-1 dim's stride does not matter; a column slice is not contiguous */
  CHECK_OK(tf_slice(t, 1, 1, 2, 1, &col));
  REQUIRE(col);
  CHECK(!tf_tensor_is_contiguous(col));
  CHECK_OK(tf_select(t, 0, 1, &one));
  REQUIRE(one);
  CHECK(tf_tensor_is_contiguous(one));
  CHECK_EQ_I(tf_tensor_offset(one), 3);
  CHECK_VALUES(one, 0, 3, 4, 5);
  tf_tensor *row = NULL;
  CHECK_OK(tf_slice(t, 0, 1, 2, 1, &row)); /* shape (1, 3): contiguous */
  CHECK(row && tf_tensor_is_contiguous(row));
  tf_tensor_release(row);
  tf_tensor_release(one);
  tf_tensor_release(col);
  tf_tensor_release(c);
  tf_tensor_release(tt);
  tf_tensor_release(t);
}

static void test_clone_and_copy(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_INT64), *tt = NULL, *c = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  CHECK_OK(tf_clone(tt, &c));
  REQUIRE(c);
  CHECK_SHAPE(c, 3, 2);
  CHECK(tf_tensor_is_contiguous(c));
  CHECK(!tf_tensor_same_storage(c, t));
  CHECK_IVALUES(c, 0, 3, 1, 4, 2, 5);

  /* copy_ broadcasts a row into every row and converts the dtype */
  tf_tensor *row = make_f64(1, SHAPE(3), (const double[]){1.5, -2.5, 7.9});
  tf_tensor *dst = NULL;
  CHECK_OK(tf_tensor_empty(2, SHAPE(2, 3), TF_INT64, TF_CPU, &dst));
  REQUIRE(row && dst);
  CHECK_OK(tf_copy_(dst, row));
  CHECK_IVALUES(dst, 1, -2, 7, 1, -2, 7); /* toward zero */
  /* copy_ from an overlapping view of itself reads before writing */
  tf_tensor *v = make_range(1, SHAPE(5), TF_FLOAT64), *lo = NULL, *hi = NULL;
  REQUIRE(v);
  CHECK_OK(tf_slice(v, 0, 0, 4, 1, &lo));
  CHECK_OK(tf_slice(v, 0, 1, 5, 1, &hi));
  CHECK_OK(tf_copy_(hi, lo));
  CHECK_VALUES(v, 0, 0, 0, 1, 2, 3);
  tf_tensor_release(lo);
  tf_tensor_release(hi);
  tf_tensor_release(v);
  tf_tensor_release(row);
  tf_tensor_release(dst);
  tf_tensor_release(c);
  tf_tensor_release(tt);
  tf_tensor_release(t);
}

static void test_to_dtype(void) {
  tf_tensor *f = make_f64(1, SHAPE(7),
                          (const double[]){NAN, INFINITY, -INFINITY, -2.7, 2.7,
                                           0.0, 1e300});
  tf_tensor *i = NULL, *b = NULL, *g = NULL;
  REQUIRE(f);
  CHECK_OK(tf_to_dtype(f, TF_INT64, &i));
  /* saturating, NaN -> 0, instead of C's undefined conversion */
  CHECK_IVALUES(i, 0, INT64_MAX, INT64_MIN, -2, 2, 0, INT64_MAX);
  CHECK_OK(tf_to_dtype(f, TF_BOOL, &b));
  CHECK_IVALUES(b, 1, 1, 1, 1, 1, 0, 1);
  CHECK_OK(tf_to_dtype(f, TF_FLOAT32, &g));
  REQUIRE(g);
  CHECK(tf_tensor_dtype(g) == TF_FLOAT32);
  CHECK(isnan(get_f(g, 0)) && isinf(get_f(g, 6)));
  CHECK(get_f(g, 3) == (double)-2.7f);
  tf_tensor_release(f);
  tf_tensor_release(i);
  tf_tensor_release(b);
  tf_tensor_release(g);

  tf_tensor *big = make_i64(1, SHAPE(2), (const int64_t[]){(1LL << 53) + 1, -3});
  tf_tensor *d = NULL;
  REQUIRE(big);
  CHECK_OK(tf_to_dtype(big, TF_FLOAT64, &d));
  CHECK_VALUES(d, 0, 9007199254740992.0, -3.0); /* rounded to nearest even */
  tf_tensor_release(big);
  tf_tensor_release(d);
}

static void test_creation(void) {
  tf_tensor *t = NULL;
  CHECK_OK(tf_full(2, SHAPE(2, 2), TF_FLOAT32, 1.5, 0, TF_SCALAR_FLOAT, TF_CPU, &t));
  CHECK_VALUES(t, 0, 1.5, 1.5, 1.5, 1.5);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_full(1, SHAPE(2), TF_INT64, 0, INT64_MIN + 1, TF_SCALAR_INT, TF_CPU, &t));
  CHECK_IVALUES(t, INT64_MIN + 1, INT64_MIN + 1);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_fill_(t = make_range(1, SHAPE(3), TF_BOOL), 0, 1, TF_SCALAR_BOOL));
  CHECK_IVALUES(t, 1, 1, 1);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_arange(0, 0, 5, -2, 4, TF_INT64, TF_CPU, &t));
  CHECK_IVALUES(t, 5, 3, 1, -1);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_arange(0.5, 0.25, 0, 0, 3, TF_FLOAT64, TF_CPU, &t));
  CHECK_VALUES(t, 0, 0.5, 0.75, 1.0);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_arange(0, 1, 0, 1, 0, TF_FLOAT32, TF_CPU, &t));
  CHECK_SHAPE(t, 0);
  tf_tensor_release(t);
  t = NULL;
  /* both ends exact */
  CHECK_OK(tf_linspace(0.0, 1.0, 5, TF_FLOAT64, TF_CPU, &t));
  CHECK_VALUES(t, 0, 0.0, 0.25, 0.5, 0.75, 1.0);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_linspace(-1.0, 0.3, 7, TF_FLOAT64, TF_CPU, &t));
  CHECK(get_f(t, 0) == -1.0 && get_f(t, 6) == 0.3);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_linspace(2.0, 3.0, 1, TF_FLOAT32, TF_CPU, &t));
  CHECK_VALUES(t, 0, 2.0);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_eye(2, 3, TF_FLOAT32, TF_CPU, &t));
  CHECK_VALUES(t, 0, 1, 0, 0, 0, 1, 0);
  tf_tensor_release(t);
  t = NULL;
  CHECK_OK(tf_eye(3, 2, TF_BOOL, TF_CPU, &t));
  CHECK_IVALUES(t, 1, 0, 0, 1, 0, 0);
  tf_tensor_release(t);
}

/* In-place writes bump the storage's version, which all views share;
 * ops that make new tensors do not touch their inputs' versions. */
static void test_version_counter(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 2), TF_FLOAT64), *v = NULL, *c = NULL,
            *e = NULL;
  REQUIRE(t);
  CHECK_OK(tf_transpose(t, 0, 1, &v));
  REQUIRE(v);
  int64_t v0 = tf_tensor_version(t);
  CHECK_OK(tf_clone(t, &c));
  CHECK_OK(tf_unary(TF_UNARY_EXP, t, 0, 0, 0, &e));
  CHECK_EQ_I(tf_tensor_version(t), v0);
  CHECK_OK(tf_fill_(v, 1.0, 1, TF_SCALAR_FLOAT));
  CHECK(tf_tensor_version(t) > v0);
  CHECK_EQ_I(tf_tensor_version(v), tf_tensor_version(t));
  int64_t v1 = tf_tensor_version(t);
  CHECK_OK(tf_unary_into(TF_UNARY_NEG, t, 0, 0, 0, t));
  CHECK(tf_tensor_version(v) > v1);
  int64_t v2 = tf_tensor_version(t);
  CHECK_OK(tf_binary_into(TF_BINARY_ADD, t, t, v));
  CHECK(tf_tensor_version(t) > v2);
  int64_t v3 = tf_tensor_version(t);
  CHECK_OK(tf_copy_(t, v));
  CHECK(tf_tensor_version(t) > v3);
  tf_tensor_release(e);
  tf_tensor_release(c);
  tf_tensor_release(v);
  tf_tensor_release(t);
}

static void test_threads_setting(void) {
  int before = tf_get_num_threads();
  tf_set_num_threads(1);
  CHECK_EQ_I(tf_get_num_threads(), 1);
  tf_set_num_threads(0); /* clamped to 1, not an error */
  CHECK_EQ_I(tf_get_num_threads(), 1);
  tf_set_num_threads(before);
  CHECK_EQ_I(tf_get_num_threads(), before);
}

/* Storages of 256 KiB and more get blocks of the host allocator, whose
 * freed blocks are reused (host_memory.c): a reused block is never one a
 * live tensor holds, and many threads allocating and freeing at once lose
 * nothing. */
static void test_host_block_cache(void) {
  enum { BIG = 1 << 18 }; /* 1 MiB of float32 */
  int64_t live = tf_live_tensors();
  tf_tensor *a = NULL, *b = NULL, *c = NULL;
  CHECK_OK(tf_tensor_empty(1, SHAPE(BIG), TF_FLOAT32, TF_CPU, &a));
  CHECK_OK(tf_tensor_empty(1, SHAPE(BIG), TF_FLOAT32, TF_CPU, &b));
  REQUIRE(a && b);
  void *pa = tf_tensor_data(a);
  CHECK(pa != tf_tensor_data(b));
  tf_tensor_release(a);
  CHECK_OK(tf_tensor_empty(1, SHAPE(BIG), TF_FLOAT32, TF_CPU, &c));
  REQUIRE(c);
  CHECK(tf_tensor_data(c) != tf_tensor_data(b));
  if (tf_host_cache_enabled()) CHECK(tf_tensor_data(c) == pa); /* a's block, reused */
  ((float *)tf_tensor_data(c))[BIG - 1] = 1.0f; /* the whole block is ours */
  tf_tensor_release(c);
  tf_tensor_release(b);
  /* more blocks than the cache keeps, of several sizes, from 2 threads */
  int failures = 0;
  TF_PRAGMA(omp parallel for num_threads(2) reduction(+ : failures))
  for (int i = 0; i < 400; i++) {
    tf_tensor *t = NULL;
    int64_t n = BIG + (i % 7) * 20000;
    if (tf_tensor_empty(1, &n, TF_FLOAT32, TF_CPU, &t) != TF_OK) {
      failures++;
      continue;
    }
    float *d = tf_tensor_data(t);
    d[0] = d[n - 1] = (float)i;
    failures += d[0] != (float)i || d[n - 1] != (float)i;
    tf_tensor_release(t);
  }
  CHECK_EQ_I(failures, 0);
  CHECK_EQ_I(tf_live_tensors(), live);
}

void suite_tensor(void) {
  RUN(test_empty_metadata);
  RUN(test_dtype_sizes);
  RUN(test_zero_dim_and_empty);
  RUN(test_from_buffer_copies);
  RUN(test_refcounts);
  RUN(test_view_outlives_base);
  RUN(test_item);
  RUN(test_contiguity);
  RUN(test_clone_and_copy);
  RUN(test_to_dtype);
  RUN(test_creation);
  RUN(test_version_counter);
  RUN(test_threads_setting);
  RUN(test_host_block_cache);
}
