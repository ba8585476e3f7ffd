/* test_ops.c: the ops built on top of the core: reductions, softmax,
 * matmul, cat, flip/pad/tril, indexing (index_get, index_put_, gather,
 * nonzero) and random numbers, on small known values and through their
 * error paths. Each test first probes its op; one that still answers "not
 * implemented" is reported as skipped. */
#include <stdlib.h>

#include "tf_test.h"

/* ---- probes: one small call each, cleaned up, before a test allocates -- */
static bool have_reduce(void) {
  tf_tensor *x = make_range(1, SHAPE(2), TF_FLOAT32), *r = NULL;
  tf_status st = tf_reduce(TF_REDUCE_SUM, x, 0, false, 0, &r, NULL);
  tf_tensor_release(r);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_matmul(void) {
  tf_tensor *x = make_range(2, SHAPE(2, 2), TF_FLOAT32), *r = NULL;
  tf_status st = tf_matmul(x, x, &r);
  tf_tensor_release(r);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_cat(void) {
  tf_tensor *x = make_range(1, SHAPE(2), TF_FLOAT32), *r = NULL;
  tf_tensor *xs[2] = {x, x};
  tf_status st = tf_cat(2, xs, 0, &r);
  tf_tensor_release(r);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_index_get(void) {
  tf_tensor *x = make_range(1, SHAPE(3), TF_FLOAT32), *r = NULL;
  tf_tensor *i = make_i64(1, SHAPE(1), (const int64_t[]){1});
  tf_tensor *is[1] = {i};
  tf_status st = tf_index_get(x, 1, is, &r);
  tf_tensor_release(r);
  tf_tensor_release(i);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_softmax(void) {
  tf_tensor *x = make_range(1, SHAPE(2), TF_FLOAT32), *r = NULL;
  tf_status st = tf_softmax(x, 0, false, &r);
  tf_tensor_release(r);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_index_put(void) {
  tf_tensor *x = make_range(1, SHAPE(3), TF_FLOAT32);
  tf_tensor *i = make_i64(1, SHAPE(1), (const int64_t[]){1});
  tf_tensor *v = make_f32(1, SHAPE(1), (const float[]){5});
  tf_tensor *is[1] = {i};
  tf_status st = tf_index_put_(x, 1, is, v, false);
  tf_tensor_release(v);
  tf_tensor_release(i);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_shape_ops(void) {
  tf_tensor *x = make_range(1, SHAPE(2), TF_FLOAT32), *r = NULL;
  tf_status st = tf_flip(x, 1u, &r);
  tf_tensor_release(r);
  tf_tensor_release(x);
  return tf_test_implemented(st);
}
static bool have_rand(void) {
  tf_tensor *r = NULL;
  tf_status st = tf_rand(1, SHAPE(2), TF_FLOAT32, 0, 1, TF_CPU, NULL, &r);
  tf_tensor_release(r);
  return tf_test_implemented(st);
}

/* ---- reductions ---------------------------------------------------------- */
static void test_reduce_sum_mean(void) {
  if (!have_reduce()) return;
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT64), *r = NULL;
  REQUIRE(t);
  CHECK_OK(tf_reduce(TF_REDUCE_SUM, t, 0, false, 0, &r, NULL));
  REQUIRE(r);
  CHECK_EQ_I(tf_tensor_ndim(r), 0);
  CHECK_VALUES(r, 0, 15);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_SUM, t, 1u << 1, true, 0, &r, NULL));
  CHECK_SHAPE(r, 2, 1);
  CHECK_VALUES(r, 0, 3, 12);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_MEAN, t, 1u << 0, false, 0, &r, NULL));
  CHECK_SHAPE(r, 3);
  CHECK_VALUES(r, 1e-15, 1.5, 2.5, 3.5);
  tf_tensor_release(r);
  r = NULL;
  /* a transposed input reduces the same elements */
  tf_tensor *tt = NULL;
  CHECK_OK(tf_transpose(t, 0, 1, &tt));
  CHECK_OK(tf_reduce(TF_REDUCE_SUM, tt, 1u << 0, false, 0, &r, NULL));
  CHECK_SHAPE(r, 2);
  CHECK_VALUES(r, 0, 3, 12);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_PROD, tt, 0, false, 0, &r, NULL));
  CHECK_VALUES(r, 0, 0);
  tf_tensor_release(r);
  tf_tensor_release(tt);
  tf_tensor_release(t);

  /* int64 sums are exact; an empty sum is 0 and an empty product 1 */
  tf_tensor *i = make_i64(1, SHAPE(3), (const int64_t[]){1LL << 60, 1, 1LL << 60});
  tf_tensor *e = NULL;
  REQUIRE(i);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_SUM, i, 0, false, 0, &r, NULL));
  CHECK(r && tf_tensor_dtype(r) == TF_INT64);
  CHECK_IVALUES(r, (1LL << 61) + 1);
  tf_tensor_release(r);
  CHECK_OK(tf_tensor_empty(2, SHAPE(0, 3), TF_FLOAT32, TF_CPU, &e));
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_SUM, e, 1u << 0, false, 0, &r, NULL));
  CHECK_SHAPE(r, 3);
  CHECK_VALUES(r, 0, 0, 0, 0);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_PROD, e, 0, false, 0, &r, NULL));
  CHECK_VALUES(r, 0, 1);
  tf_tensor_release(r);
  tf_tensor_release(e);
  tf_tensor_release(i);
}

static void test_reduce_var_max_logic(void) {
  if (!have_reduce()) return;
  tf_tensor *x = make_f64(2, SHAPE(2, 3), (const double[]){3, -1, 4, 1, 5, -9});
  tf_tensor *r = NULL, *idx = NULL;
  REQUIRE(x);
  CHECK_OK(tf_reduce(TF_REDUCE_MAX, x, 1u << 1, false, 0, &r, &idx));
  CHECK_VALUES(r, 0, 4, 5);
  CHECK(idx && tf_tensor_dtype(idx) == TF_INT64);
  CHECK_IVALUES(idx, 2, 1);
  tf_tensor_release(r);
  tf_tensor_release(idx);
  r = idx = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_MIN, x, 1u << 0, true, 0, &r, &idx));
  CHECK_SHAPE(r, 1, 3);
  CHECK_VALUES(r, 0, 1, -1, -9);
  CHECK_IVALUES(idx, 1, 0, 1);
  tf_tensor_release(r);
  tf_tensor_release(idx);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_ARGMAX, x, 0, false, 0, &r, NULL));
  CHECK(r && tf_tensor_dtype(r) == TF_INT64);
  CHECK_IVALUES(r, 4); /* flat index of 5 */
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_AMAX, x, 0, false, 0, &r, NULL));
  CHECK_VALUES(r, 0, 5);
  tf_tensor_release(r);
  tf_tensor_release(x);

  tf_tensor *v = make_f64(1, SHAPE(4), (const double[]){1, 2, 3, 4});
  REQUIRE(v);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_VAR, v, 0, false, 1, &r, NULL));
  CHECK_VALUES(r, 1e-15, 5.0 / 3.0);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_STD, v, 0, false, 0, &r, NULL));
  CHECK_VALUES(r, 1e-15, sqrt(1.25));
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_LOGSUMEXP, v, 0, false, 0, &r, NULL));
  CHECK_VALUES(r, 1e-14, log(exp(1) + exp(2) + exp(3) + exp(4)));
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_NORM, v, 0, false, 2, &r, NULL));
  CHECK_VALUES(r, 1e-15, sqrt(30.0));
  tf_tensor_release(r);
  tf_tensor_release(v);

  tf_tensor *b = make_bool(2, SHAPE(2, 2), (const bool[]){true, false, true, true});
  REQUIRE(b);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_ALL, b, 1u << 1, false, 0, &r, NULL));
  CHECK(r && tf_tensor_dtype(r) == TF_BOOL);
  CHECK_IVALUES(r, 0, 1);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_reduce(TF_REDUCE_ANY, b, 1u << 0, false, 0, &r, NULL));
  CHECK_IVALUES(r, 1, 1);
  tf_tensor_release(r);
  tf_tensor_release(b);
}

static void test_reduce_errors(void) {
  if (!have_reduce()) return;
  tf_tensor *x = make_range(2, SHAPE(2, 3), TF_FLOAT32), *e = NULL;
  tf_tensor *out = TF_UNTOUCHED, *idx = TF_UNTOUCHED;
  REQUIRE(x);
  tf_status st = tf_reduce(TF_REDUCE_COUNT, x, 0, false, 0, &out, NULL);
  CHECK(st == TF_ERR_VALUE);
  CHECK_ERR(tf_reduce(TF_REDUCE_SUM, x, 1u << 5, false, 0, &out, NULL),
            TF_ERR_INDEX, "sum");
  CHECK_OK(tf_tensor_empty(1, SHAPE(0), TF_FLOAT32, TF_CPU, &e));
  st = tf_reduce(TF_REDUCE_MAX, e, 1u << 0, false, 0, &out, &idx);
  CHECK(st != TF_OK && strstr(tf_last_error(), "max"));
  st = tf_reduce(TF_REDUCE_AMIN, e, 0, false, 0, &out, NULL);
  CHECK(st != TF_OK && strstr(tf_last_error(), "amin"));
  CHECK(out == TF_UNTOUCHED && idx == TF_UNTOUCHED);
  tf_tensor_release(e);
  tf_tensor_release(x);
}

/* ---- matmul -------------------------------------------------------------- */
/* The plain triple loop, in double, as the reference. */
static void naive_matmul(const tf_tensor *a, const tf_tensor *b, int64_t m,
                         int64_t k, int64_t n, double *c) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t p = 0; p < k; p++) s += get_f(a, i * k + p) * get_f(b, p * n + j);
      c[i * n + j] = s;
    }
}

static void test_matmul(void) {
  if (!have_matmul()) return;
  tf_tensor *a = make_f64(2, SHAPE(2, 3), (const double[]){1, 2, 3, 4, 5, 6});
  tf_tensor *b = make_f64(2, SHAPE(3, 2), (const double[]){7, 8, 9, 10, 11, 12});
  tf_tensor *r = NULL;
  REQUIRE(a && b);
  CHECK_OK(tf_matmul(a, b, &r));
  CHECK_SHAPE(r, 2, 2);
  CHECK_VALUES(r, 0, 58, 64, 139, 154);
  tf_tensor_release(r);

  /* vectors: promoted and squeezed as in NumPy */
  tf_tensor *v = make_f64(1, SHAPE(3), (const double[]){1, 0, -1});
  REQUIRE(v);
  r = NULL;
  CHECK_OK(tf_matmul(v, v, &r));
  CHECK(r && tf_tensor_ndim(r) == 0);
  CHECK_VALUES(r, 0, 2);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_matmul(v, b, &r));
  CHECK_SHAPE(r, 2);
  CHECK_VALUES(r, 0, -4, -4);
  tf_tensor_release(r);
  r = NULL;
  CHECK_OK(tf_matmul(a, v, &r));
  CHECK_SHAPE(r, 2);
  CHECK_VALUES(r, 0, -2, -2);
  tf_tensor_release(r);

  /* batch dims broadcast; a transposed operand */
  tf_tensor *batch = make_range(3, SHAPE(2, 2, 3), TF_FLOAT64), *bt = NULL;
  REQUIRE(batch);
  CHECK_OK(tf_transpose(a, 0, 1, &bt)); /* (3, 2), non-contiguous */
  r = NULL;
  CHECK_OK(tf_matmul(batch, bt, &r));
  CHECK_SHAPE(r, 2, 2, 2);
  /* batch[1] = [[6,7,8],[9,10,11]]; bt = [[1,4],[2,5],[3,6]] */
  CHECK_VALUES(r, 0, 8, 17, 26, 62, 44, 107, 62, 152);
  tf_tensor_release(r);
  tf_tensor_release(bt);
  tf_tensor_release(batch);

  /* k = 0 gives zeros */
  tf_tensor *z1 = NULL, *z2 = NULL;
  CHECK_OK(tf_tensor_empty(2, SHAPE(2, 0), TF_FLOAT32, TF_CPU, &z1));
  CHECK_OK(tf_tensor_empty(2, SHAPE(0, 3), TF_FLOAT32, TF_CPU, &z2));
  r = NULL;
  CHECK_OK(tf_matmul(z1, z2, &r));
  CHECK_SHAPE(r, 2, 3);
  CHECK_VALUES(r, 0, 0, 0, 0, 0, 0, 0);
  tf_tensor_release(r);
  tf_tensor_release(z1);
  tf_tensor_release(z2);

  /* odd sizes past any blocking, against the triple loop */
  const int64_t m = 67, k = 70, n = 33;
  tf_tensor *x = NULL, *y = NULL;
  CHECK_OK(tf_arange(-1.0, 0.0007, 0, 0, m * k, TF_FLOAT64, TF_CPU, &x));
  CHECK_OK(tf_arange(2.0, -0.0013, 0, 0, k * n, TF_FLOAT64, TF_CPU, &y));
  tf_tensor *x2 = NULL, *y2 = NULL;
  CHECK_OK(tf_view(x, 2, SHAPE(m, k), &x2));
  CHECK_OK(tf_view(y, 2, SHAPE(k, n), &y2));
  REQUIRE(x2 && y2);
  r = NULL;
  CHECK_OK(tf_matmul(x2, y2, &r));
  double *want = malloc(sizeof(double) * (size_t)(m * n));
  REQUIRE(want);
  naive_matmul(x2, y2, m, k, n, want);
  CHECK(values_are(r, want, 1e-12));
  free(want);
  tf_tensor_release(r);
  tf_tensor_release(x2);
  tf_tensor_release(y2);
  tf_tensor_release(x);
  tf_tensor_release(y);

  tf_tensor *out = TF_UNTOUCHED;
  tf_status st = tf_matmul(a, a, &out); /* (2,3) @ (2,3) */
  CHECK(st == TF_ERR_SHAPE && strstr(tf_last_error(), "matmul"));
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(v);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

/* ---- cat ----------------------------------------------------------------- */
static void test_cat(void) {
  if (!have_cat()) return;
  tf_tensor *a = make_range(2, SHAPE(2, 3), TF_FLOAT32);
  tf_tensor *b = make_f32(2, SHAPE(1, 3), (const float[]){-1, -2, -3});
  tf_tensor *r = NULL;
  REQUIRE(a && b);
  tf_tensor *ab[2] = {a, b};
  CHECK_OK(tf_cat(2, ab, 0, &r));
  CHECK_SHAPE(r, 3, 3);
  CHECK_VALUES(r, 0, 0, 1, 2, 3, 4, 5, -1, -2, -3);
  tf_tensor_release(r);

  /* along the last dim, with a transposed (non-contiguous) input */
  tf_tensor *c = make_range(2, SHAPE(3, 2), TF_FLOAT32), *ct = NULL;
  REQUIRE(c);
  CHECK_OK(tf_transpose(c, 0, 1, &ct)); /* (2, 3): [[0,2,4],[1,3,5]] */
  tf_tensor *act[2] = {a, ct};
  r = NULL;
  CHECK_OK(tf_cat(2, act, -1, &r));
  CHECK_SHAPE(r, 2, 6);
  CHECK_VALUES(r, 0, 0, 1, 2, 0, 2, 4, 3, 4, 5, 1, 3, 5);
  tf_tensor_release(r);

  /* size-0 pieces contribute nothing */
  tf_tensor *e = NULL;
  CHECK_OK(tf_tensor_empty(2, SHAPE(0, 3), TF_FLOAT32, TF_CPU, &e));
  tf_tensor *eab[3] = {e, b, e};
  r = NULL;
  CHECK_OK(tf_cat(3, eab, 0, &r));
  CHECK_SHAPE(r, 1, 3);
  CHECK_VALUES(r, 0, -1, -2, -3);
  tf_tensor_release(r);

  tf_tensor *out = TF_UNTOUCHED;
  tf_status st = tf_cat(2, ab, 1, &out); /* (2,3) and (1,3) along dim 1 */
  CHECK(st == TF_ERR_SHAPE && strstr(tf_last_error(), "cat"));
  st = tf_cat(2, ab, 2, &out);
  CHECK(st == TF_ERR_INDEX && strstr(tf_last_error(), "cat"));
  st = tf_cat(0, ab, 0, &out);
  CHECK(st != TF_OK && strstr(tf_last_error(), "cat"));
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(e);
  tf_tensor_release(ct);
  tf_tensor_release(c);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

/* ---- advanced indexing --------------------------------------------------- */
static void test_index_get(void) {
  if (!have_index_get()) return;
  tf_tensor *t = make_range(2, SHAPE(4, 3), TF_FLOAT64), *r = NULL;
  tf_tensor *rows = make_i64(1, SHAPE(3), (const int64_t[]){3, -1, 0});
  REQUIRE(t && rows);
  tf_tensor *idx1[1] = {rows};
  CHECK_OK(tf_index_get(t, 1, idx1, &r));
  CHECK_SHAPE(r, 3, 3);
  CHECK_VALUES(r, 0, 9, 10, 11, 9, 10, 11, 0, 1, 2);
  tf_tensor_release(r);

  tf_tensor *i0 = make_i64(2, SHAPE(2, 1), (const int64_t[]){0, 3});
  tf_tensor *i1 = make_i64(2, SHAPE(2, 1), (const int64_t[]){2, 1});
  REQUIRE(i0 && i1);
  tf_tensor *idx2[2] = {i0, i1};
  r = NULL;
  CHECK_OK(tf_index_get(t, 2, idx2, &r));
  CHECK_SHAPE(r, 2, 1);
  CHECK_VALUES(r, 0, 2, 10);
  tf_tensor_release(r);

  tf_tensor *bad = make_i64(1, SHAPE(2), (const int64_t[]){0, 4});
  REQUIRE(bad);
  tf_tensor *idxb[1] = {bad}, *out = TF_UNTOUCHED;
  tf_status st = tf_index_get(t, 1, idxb, &out);
  CHECK(st == TF_ERR_INDEX && strstr(tf_last_error(), "4"));
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(bad);
  tf_tensor_release(i0);
  tf_tensor_release(i1);
  tf_tensor_release(rows);
  tf_tensor_release(t);
}

/* ---- random numbers ------------------------------------------------------ */
/* A generator of its own draws the default generator's numbers for the same
 * seed, without moving the default's counter; its state resumes a stream. */
static void test_generator(void) {
  if (!have_rand()) return;
  const int64_t n = 1000;
  tf_generator *gen = tf_generator_new(99);
  REQUIRE(gen);
  tf_tensor *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  tf_manual_seed(99);
  CHECK_OK(tf_rand(1, SHAPE(n), TF_FLOAT64, 0, 1, TF_CPU, NULL, &a));
  uint64_t seed, default_counter;
  tf_generator_get_state(NULL, &seed, &default_counter);
  CHECK_OK(tf_rand(1, SHAPE(n), TF_FLOAT64, 0, 1, TF_CPU, gen, &b));
  REQUIRE(a && b);
  CHECK(!memcmp(tf_tensor_data(a), tf_tensor_data(b), (size_t)n * 8));
  uint64_t counter;
  tf_generator_get_state(NULL, &seed, &counter);
  CHECK(seed == 99 && counter == default_counter); /* the default did not move */
  tf_generator_get_state(gen, &seed, &counter);
  CHECK(seed == 99 && counter == default_counter); /* gen moved as far */
  CHECK_OK(tf_randn(1, SHAPE(n), TF_FLOAT64, 0, 1, TF_CPU, gen, &c));
  tf_generator_set_state(gen, seed, counter); /* back to before c */
  CHECK_OK(tf_randn(1, SHAPE(n), TF_FLOAT64, 0, 1, TF_CPU, gen, &d));
  REQUIRE(c && d);
  CHECK(!memcmp(tf_tensor_data(c), tf_tensor_data(d), (size_t)n * 8));
  CHECK_EQ_I(tf_generator_initial_seed(gen), 99);
  tf_generator_free(gen);
  tf_generator_free(NULL); /* the default generator is never freed */
  tf_tensor_release(a);
  tf_tensor_release(b);
  tf_tensor_release(c);
  tf_tensor_release(d);
}

static void test_rand(void) {
  if (!have_rand()) return;
  const int64_t n = 100000; /* large enough to run on two threads */
  tf_tensor *a = NULL, *b = NULL, *c = NULL;
  tf_manual_seed(1234);
  CHECK_OK(tf_rand(1, SHAPE(n), TF_FLOAT32, -2.0, 3.0, TF_CPU, NULL, &a));
  REQUIRE(a);
  CHECK_EQ_I(tf_initial_seed(), 1234);
  CHECK_OK(tf_rand(1, SHAPE(n), TF_FLOAT32, -2.0, 3.0, TF_CPU, NULL, &b));
  REQUIRE(b);
  CHECK(memcmp(tf_tensor_data(a), tf_tensor_data(b), (size_t)n * 4) != 0);
  /* the same seed gives the same bits, whatever the thread count */
  int before = tf_get_num_threads();
  tf_set_num_threads(before == 1 ? 2 : 1);
  tf_manual_seed(1234);
  CHECK_OK(tf_rand(1, SHAPE(n), TF_FLOAT32, -2.0, 3.0, TF_CPU, NULL, &c));
  tf_set_num_threads(before);
  REQUIRE(c);
  CHECK(!memcmp(tf_tensor_data(a), tf_tensor_data(c), (size_t)n * 4));
  double sum = 0;
  bool in_range = true;
  for (int64_t i = 0; i < n; i++) {
    double v = get_f(a, i);
    in_range = in_range && v >= -2.0 && v < 3.0;
    sum += v;
  }
  CHECK(in_range);
  CHECK_NEAR(sum / (double)n, 0.5, 0.05); /* sd of the mean is 0.005 */
  tf_tensor_release(a);
  tf_tensor_release(b);
  tf_tensor_release(c);

  tf_tensor *g = NULL, *k = NULL;
  CHECK_OK(tf_randn(2, SHAPE(100, 100), TF_FLOAT64, 1.0, 2.0, TF_CPU, NULL, &g));
  REQUIRE(g);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < 10000; i++) {
    double v = get_f(g, i);
    s += v;
    s2 += v * v;
  }
  double mean = s / 10000, var = s2 / 10000 - mean * mean;
  CHECK_NEAR(mean, 1.0, 0.1);
  CHECK_NEAR(var, 4.0, 0.4);
  CHECK_OK(tf_randint(1, SHAPE(1000), TF_INT64, -3, 4, TF_CPU, NULL, &k));
  REQUIRE(k);
  bool seen[7] = {false}, ok = true;
  for (int64_t i = 0; i < 1000; i++) {
    int64_t v = get_i(k, i);
    ok = ok && v >= -3 && v < 4;
    if (v >= -3 && v < 4) seen[v + 3] = true;
  }
  CHECK(ok);
  for (int j = 0; j < 7; j++) CHECK(seen[j]);
  tf_tensor_release(g);
  tf_tensor_release(k);

  tf_tensor *out = TF_UNTOUCHED;
  tf_status st = tf_rand(1, SHAPE(3), TF_INT64, 0, 1, TF_CPU, NULL, &out);
  CHECK(st == TF_ERR_DTYPE && strstr(tf_last_error(), "rand"));
  st = tf_randint(1, SHAPE(3), TF_INT64, 5, 5, TF_CPU, NULL, &out);
  CHECK(st == TF_ERR_VALUE && strstr(tf_last_error(), "randint"));
  CHECK(out == TF_UNTOUCHED);
}

/* ---- softmax, index_put_, nonzero, gather, flip / pad / tril ------------- */
static void test_softmax(void) {
  if (!have_softmax()) return;
  tf_tensor *x = make_f64(2, SHAPE(2, 3), (const double[]){1, 2, 3, 1000, 1000, -INFINITY});
  tf_tensor *r = NULL, *l = NULL;
  REQUIRE(x);
  CHECK_OK(tf_softmax(x, -1, false, &r));
  double z = exp(1) + exp(2) + exp(3);
  CHECK_VALUES(r, 1e-15, exp(1) / z, exp(2) / z, exp(3) / z, 0.5, 0.5, 0);
  CHECK_OK(tf_softmax(x, 1, true, &l)); /* no overflow at 1000 */
  CHECK_VALUES(l, 1e-13, 1 - log(z), 2 - log(z), 3 - log(z), -log(2.0), -log(2.0), -INFINITY);
  tf_tensor *out = TF_UNTOUCHED;
  tf_status st = tf_softmax(x, 2, false, &out);
  CHECK(st == TF_ERR_INDEX && strstr(tf_last_error(), "softmax"));
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(l);
  tf_tensor_release(r);
  tf_tensor_release(x);
}

static void test_index_put_and_nonzero(void) {
  if (!have_index_put()) return;
  tf_tensor *t = NULL;
  CHECK_OK(tf_full(1, SHAPE(4), TF_FLOAT64, 0, 0, TF_SCALAR_FLOAT, TF_CPU, &t));
  tf_tensor *i = make_i64(1, SHAPE(4), (const int64_t[]){1, -1, 1, 1});
  tf_tensor *v = make_f64(1, SHAPE(4), (const double[]){1, 2, 3, 4});
  REQUIRE(t && i && v);
  tf_tensor *is[1] = {i};
  /* repeated indices add up when accumulating */
  CHECK_OK(tf_index_put_(t, 1, is, v, true));
  CHECK_VALUES(t, 0, 0, 8, 0, 2);
  tf_tensor *bad = make_i64(1, SHAPE(2), (const int64_t[]){0, 9});
  REQUIRE(bad);
  tf_tensor *bs[1] = {bad};
  tf_tensor *two = make_f64(1, SHAPE(2), (const double[]){7, 7});
  REQUIRE(two);
  /* a bad index leaves the target untouched */
  CHECK(tf_index_put_(t, 1, bs, two, false) == TF_ERR_INDEX);
  CHECK_VALUES(t, 0, 0, 8, 0, 2);

  tf_tensor *nz = NULL;
  CHECK_OK(tf_nonzero(t, &nz));
  CHECK_SHAPE(nz, 2, 1);
  CHECK_IVALUES(nz, 1, 3);
  tf_tensor *m = make_bool(2, SHAPE(2, 2), (const bool[]){false, true, true, false});
  tf_tensor *nm = NULL;
  REQUIRE(m);
  CHECK_OK(tf_nonzero(m, &nm));
  CHECK_SHAPE(nm, 2, 2);
  CHECK_IVALUES(nm, 0, 1, 1, 0);

  tf_tensor *src = make_range(2, SHAPE(2, 3), TF_INT64), *g = NULL;
  tf_tensor *gi = make_i64(2, SHAPE(2, 2), (const int64_t[]){2, 0, 1, 1});
  REQUIRE(src && gi);
  CHECK_OK(tf_gather(src, 1, gi, &g));
  CHECK_IVALUES(g, 2, 0, 4, 4);
  tf_tensor_release(g);
  tf_tensor_release(gi);
  tf_tensor_release(src);
  tf_tensor_release(nm);
  tf_tensor_release(m);
  tf_tensor_release(nz);
  tf_tensor_release(two);
  tf_tensor_release(bad);
  tf_tensor_release(v);
  tf_tensor_release(i);
  tf_tensor_release(t);
}

static void test_flip_pad_tril(void) {
  if (!have_shape_ops()) return;
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT32), *f = NULL, *p = NULL,
            *r = NULL, *l = NULL, *u = NULL;
  REQUIRE(t);
  CHECK_OK(tf_flip(t, (1u << 0) | (1u << 1), &f));
  CHECK_VALUES(f, 0, 5, 4, 3, 2, 1, 0);
  /* dim 1 padded by (1, 2) with -1; dim 0 untouched */
  CHECK_OK(tf_pad(t, SHAPE(0, 0, 1, 2), TF_PAD_CONSTANT, -1, -1, TF_SCALAR_FLOAT, &p));
  CHECK_SHAPE(p, 2, 6);
  CHECK_VALUES(p, 0, -1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1);
  CHECK_OK(tf_pad(t, SHAPE(0, 0, 2, 1), TF_PAD_REFLECT, 0, 0, TF_SCALAR_FLOAT, &r));
  CHECK_VALUES(r, 0, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4);
  CHECK_OK(tf_tril(t, 0, false, &l));
  CHECK_VALUES(l, 0, 0, 0, 0, 3, 4, 0);
  CHECK_OK(tf_tril(t, 1, true, &u));
  CHECK_VALUES(u, 0, 0, 1, 2, 0, 0, 5);
  tf_tensor *out = TF_UNTOUCHED;
  tf_status st = tf_pad(t, SHAPE(0, 0, 3, 0), TF_PAD_REFLECT, 0, 0, TF_SCALAR_FLOAT, &out);
  CHECK(st != TF_OK && strstr(tf_last_error(), "pad"));
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(u);
  tf_tensor_release(l);
  tf_tensor_release(r);
  tf_tensor_release(p);
  tf_tensor_release(f);
  tf_tensor_release(t);
}

void suite_ops(void) {
  RUN(test_reduce_sum_mean);
  RUN(test_reduce_var_max_logic);
  RUN(test_reduce_errors);
  RUN(test_matmul);
  RUN(test_cat);
  RUN(test_index_get);
  RUN(test_rand);
  RUN(test_generator);
  RUN(test_softmax);
  RUN(test_index_put_and_nonzero);
  RUN(test_flip_pad_tril);
}
