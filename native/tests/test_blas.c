/* test_blas.c: the BLAS backend (native/src/blas/): the loader's failure
 * paths and thread safety, and tf_blas_matmul against a naive reference on
 * every operand layout it treats differently.
 *
 * OpenBLAS comes from $TINYFIN_OPENBLAS (`make ctest` sets it to the
 * scipy-openblas32 wheel's library); without it the tests that need it
 * report "skipped". The loader's failure tests need no OpenBLAS and run
 * first, while nothing is loaded yet; the fake libraries they open are
 * built by `make ctest` into $TINYFIN_FAKE_BLAS_DIR.
 *
 * The reference is computed here from the tensors' logical shapes
 * (NumPy's matmul rules) in long double, independently of the plan, and
 * every element must lie within Higham's bound gamma_k * sum |a| |b| of it
 * (plus the reference's own gamma_k in double, should long double be
 * double, as under valgrind). A wrong transpose flag, leading dimension or
 * batch offset gives errors of the size of the sum itself. */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../src/blas/openblas.h"
#include "../src/backend.h"
#include "tf_test.h"

/* ---- helpers -------------------------------------------------------------- */
static const char *env_path(const char *name) {
  const char *p = getenv(name);
  return p && *p ? p : NULL;
}

/* Loads OpenBLAS for a test; false (the test skipped or failed) if it
 * cannot. */
static bool need_blas(void) {
  const char *path = env_path("TINYFIN_OPENBLAS");
  if (!path) {
    tf_test_skip("TINYFIN_OPENBLAS is not set: no OpenBLAS to test");
    return false;
  }
  tf_status s = tf_blas_load(path);
  if (s != TF_OK) {
    tf_test_fail(__FILE__, __LINE__, "tf_blas_load(\"%s\"): %s", path,
                 tf_last_error());
    return false;
  }
  return true;
}

/* A contiguous tensor of the shape with values in [-1, 1) drawn from seed
 * (an LCG: the same values on every machine). */
static tf_tensor *rand_tensor(int ndim, const int64_t *shape, tf_dtype dtype,
                              uint64_t seed) {
  tf_tensor *t = NULL;
  if (tf_tensor_empty(ndim, shape, dtype, TF_CPU, &t) != TF_OK) {
    tf_test_fail(__FILE__, __LINE__, "rand_tensor: %s", tf_last_error());
    return NULL;
  }
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  int64_t n = tf_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    double v = (double)(state >> 11) * 0x1.0p-52 - 1.0;
    if (dtype == TF_FLOAT32) ((float *)tf_tensor_data(t))[i] = (float)v;
    else ((double *)tf_tensor_data(t))[i] = v;
  }
  return t;
}
#define RAND(dtype, seed, ...) rand_tensor(NDIMS(__VA_ARGS__), SHAPE(__VA_ARGS__), dtype, seed)

/* Views that take over their argument (released here), so a test can
 * chain them; NULL passes through, and a failure is a test failure. */
static tf_tensor *adopt(tf_tensor *t, tf_status s, tf_tensor *v) {
  if (s != TF_OK) tf_test_fail(__FILE__, __LINE__, "view: %s", tf_last_error());
  tf_tensor_release(t);
  return s == TF_OK ? v : NULL;
}
static tf_tensor *transposed(tf_tensor *t, int d0, int d1) {
  tf_tensor *v = NULL;
  if (!t) return NULL;
  tf_status s = tf_transpose(t, d0, d1, &v);
  return adopt(t, s, v);
}
static tf_tensor *sliced(tf_tensor *t, int dim, int64_t start, int64_t stop,
                         int64_t step) {
  tf_tensor *v = NULL;
  if (!t) return NULL;
  tf_status s = tf_slice(t, dim, start, stop, step, &v);
  return adopt(t, s, v);
}
static tf_tensor *expanded(tf_tensor *t, int ndim, const int64_t *shape) {
  tf_tensor *v = NULL;
  if (!t) return NULL;
  tf_status s = tf_expand(t, ndim, shape, &v);
  return adopt(t, s, v);
}
static tf_tensor *strided(tf_tensor *t, int ndim, const int64_t *shape,
                          const int64_t *strides, int64_t offset) {
  tf_tensor *v = NULL;
  if (!t) return NULL;
  tf_status s = tf_as_strided(t, ndim, shape, strides, offset, &v);
  return adopt(t, s, v);
}

/* c = a @ b through the plan and tf_blas_matmul; c starts as NaN, so an
 * element left unwritten shows. */
static tf_status blas_mm(const tf_tensor *a, const tf_tensor *b,
                         tf_tensor **c) {
  tf_matmul_plan p;
  tf_status s = tf_matmul_plan_of(a, b, &p);
  if (s != TF_OK) return s;
  tf_tensor *r = NULL;
  if ((s = tf_tensor_empty(p.out_ndim, p.out_shape, a->dtype, TF_CPU, &r)) != TF_OK)
    return s;
  int64_t n = tf_tensor_numel(r);
  for (int64_t i = 0; i < n; i++) {
    if (a->dtype == TF_FLOAT32) ((float *)tf_tensor_data(r))[i] = NAN;
    else if (a->dtype == TF_FLOAT64) ((double *)tf_tensor_data(r))[i] = NAN;
  }
  if ((s = tf_blas_matmul(&p, a, b, r)) != TF_OK) {
    tf_tensor_release(r);
    return s;
  }
  *c = r;
  return TF_OK;
}

static long double at(const tf_tensor *t, const int64_t *idx) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
  const char *p = tf_tensor_data(t);
  return t->dtype == TF_FLOAT32 ? ((const float *)p)[off]
                                : ((const double *)p)[off];
}

static double gamma_k(int64_t k, double u) { return (double)k * u / (1 - (double)k * u); }

/* Whether c is a @ b after NumPy's rules (see the top of the file). Checks
 * every element, or for large products only the rows and columns at
 * multiples of step and the last ones. Prints the first mismatch under
 * `what`. Uses no test counters, so threads may call it. */
static bool product_ok(const char *what, const tf_tensor *a,
                       const tf_tensor *b, const tf_tensor *c, int64_t step) {
  if (!a || !b || !c) {
    fprintf(stderr, "  %s: missing tensor\n", what);
    return false;
  }
  int an = a->ndim, bn = b->ndim;
  int a_batch = an > 2 ? an - 2 : 0, b_batch = bn > 2 ? bn - 2 : 0;
  int nb = a_batch > b_batch ? a_batch : b_batch;
  int64_t m = an > 1 ? a->shape[an - 2] : 1, k = a->shape[an - 1];
  int64_t n = bn > 1 ? b->shape[bn - 1] : 1;
  /* The expected shape: broadcast batch, then m and n unless 1-D. */
  int64_t shape[TF_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < nb; d++) {
    int da = d - (nb - a_batch), db = d - (nb - b_batch);
    int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
    shape[nd++] = sa == 1 ? sb : sa; /* 1 broadcasts to anything, even 0 */
  }
  if (an > 1) shape[nd++] = m;
  if (bn > 1) shape[nd++] = n;
  if (!has_shape(c, nd, shape)) {
    fprintf(stderr, "  %s: wrong result shape\n", what);
    return false;
  }
  double u = a->dtype == TF_FLOAT32 ? 0x1.0p-24 : 0x1.0p-53;
  double g = gamma_k(k, u) + gamma_k(k, 0x1.0p-53);
  int64_t total = tf_tensor_numel(c);
  for (int64_t flat = 0; flat < total; flat++) {
    int64_t o[TF_MAX_DIMS], rest = flat;
    for (int d = nd - 1; d >= 0; d--) {
      o[d] = rest % shape[d];
      rest /= shape[d];
    }
    int64_t i = an > 1 ? o[nb] : 0, j = bn > 1 ? o[nd - 1] : 0;
    if (step > 1 && !((i % step == 0 || i == m - 1) && (j % step == 0 || j == n - 1)))
      continue;
    int64_t ia[TF_MAX_DIMS], ib[TF_MAX_DIMS];
    for (int d = 0; d < a_batch; d++) ia[d] = a->shape[d] == 1 ? 0 : o[nb - a_batch + d];
    for (int d = 0; d < b_batch; d++) ib[d] = b->shape[d] == 1 ? 0 : o[nb - b_batch + d];
    if (an > 1) ia[an - 2] = i;
    if (bn > 1) ib[bn - 1] = j;
    long double sum = 0, abs_sum = 0;
    for (int64_t q = 0; q < k; q++) {
      ia[an - 1] = q;
      ib[bn > 1 ? bn - 2 : 0] = q;
      long double x = at(a, ia) * at(b, ib);
      sum += x;
      abs_sum += x < 0 ? -x : x;
    }
    double got = get_f(c, flat), err = fabs(got - (double)sum);
    double bound = g * (double)abs_sum;
    if (!(err <= bound)) {
      fprintf(stderr, "  %s: element %lld (row %lld, col %lld) is %.17g, "
              "expected %.17Lg (error %.3g > bound %.3g)\n", what,
              (long long)flat, (long long)i, (long long)j, got, sum, err, bound);
      return false;
    }
  }
  return true;
}

/* a @ b through BLAS checked against the reference; takes over a and b. */
static void check_mm(const char *what, tf_tensor *a, tf_tensor *b, int64_t step) {
  tf_tensor *c = NULL;
  if (a && b) CHECK_OK(blas_mm(a, b, &c));
  if (!product_ok(what, a, b, c, step))
    tf_test_fail(__FILE__, __LINE__, "%s: wrong product", what);
  tf_tensor_release(c);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

static const tf_dtype FLOATS[] = {TF_FLOAT32, TF_FLOAT64};

/* ---- the loader ----------------------------------------------------------- */
/* Before any successful load: every failure leaves BLAS unloaded and says
 * why, in the thread's error and in tf_blas_status. */
static void test_blas_load_failures(void) {
  if (tf_blas_loaded()) {
    tf_test_skip("BLAS was already loaded by an earlier test");
    return;
  }
  CHECK(!strcmp(tf_blas_status(), "not loaded"));
  CHECK_ERR(tf_blas_load(NULL), TF_ERR_VALUE, "no library path");
  CHECK_ERR(tf_blas_load(""), TF_ERR_VALUE, "no library path");
  CHECK_ERR(tf_blas_load("/nonexistent/libopenblas.so"), TF_ERR_VALUE,
            "cannot open '/nonexistent/libopenblas.so'");
  CHECK(strstr(tf_blas_status(), "No such file"));
  /* Not a shared object at all: dlopen's own reason. */
  CHECK_ERR(tf_blas_load("Makefile"), TF_ERR_VALUE, "cannot open 'Makefile'");
  CHECK(strstr(tf_blas_status(), "not loaded: cannot open 'Makefile'"));
  /* A real library without any BLAS: the first missing symbol, named. */
  CHECK_ERR(tf_blas_load("libm.so.6"), TF_ERR_VALUE,
            "lacks the symbol scipy_cblas_sgemm");
  CHECK(strstr(tf_blas_status(), "lacks the symbol scipy_cblas_sgemm"));
  CHECK(!tf_blas_loaded());

  const char *dir = env_path("TINYFIN_FAKE_BLAS_DIR");
  if (dir) {
    char partial[1024], int64[1024];
    snprintf(partial, sizeof partial, "%s/fake_openblas_partial.so", dir);
    snprintf(int64, sizeof int64, "%s/fake_openblas_int64.so", dir);
    /* Binding stops half way: the library is closed again (not resident
     * any more) and nothing is loaded. */
    CHECK_ERR(tf_blas_load(partial), TF_ERR_VALUE,
              "lacks the symbol scipy_cblas_dgemv");
    CHECK(!tf_blas_loaded());
    void *still = dlopen(partial, RTLD_NOW | RTLD_NOLOAD);
    CHECK(still == NULL);
    if (still) dlclose(still);
    CHECK_ERR(tf_blas_load(int64), TF_ERR_VALUE, "64-bit-int build");
    CHECK(!tf_blas_loaded());
    CHECK(strstr(tf_blas_status(), "64-bit-int build"));
  } else {
    printf("  (TINYFIN_FAKE_BLAS_DIR not set: fake-library cases not run)\n");
  }

  /* The kernel refuses to run without a library. */
  tf_tensor *a = RAND(TF_FLOAT32, 1, 2, 3), *b = RAND(TF_FLOAT32, 2, 3, 2), *c = NULL;
  REQUIRE(a && b);
  CHECK_ERR(blas_mm(a, b, &c), TF_ERR_DEVICE, "BLAS backend is not available");
  CHECK(c == NULL);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

typedef struct {
  const char *path;
  atomic_int *waiting;
  tf_status status;
  const tf_blas_api *api;
} loader_t;

static void *load_at_once(void *arg) {
  loader_t *l = arg;
  /* All threads start their load together. */
  atomic_fetch_sub(l->waiting, 1);
  while (atomic_load(l->waiting) > 0) sched_yield();
  l->status = tf_blas_load(l->path);
  l->api = tf_blas_api_get();
  return NULL;
}

/* Four threads load at once (the first real load when the suite runs in
 * order): each succeeds and sees the one table. */
static void test_blas_concurrent_load(void) {
  const char *path = env_path("TINYFIN_OPENBLAS");
  if (!path) {
    tf_test_skip("TINYFIN_OPENBLAS is not set: no OpenBLAS to test");
    return;
  }
  enum { N = 4 };
  atomic_int waiting = N;
  loader_t l[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    l[i] = (loader_t){path, &waiting, TF_ERR_INTERNAL, NULL};
    REQUIRE(pthread_create(&th[i], NULL, load_at_once, &l[i]) == 0);
  }
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < N; i++) {
    CHECK_EQ_I(l[i].status, TF_OK);
    CHECK(l[i].api != NULL && l[i].api == l[0].api);
  }
  CHECK(tf_blas_loaded());
  CHECK(!strncmp(tf_blas_status(), "loaded: OpenBLAS", 16));
  /* Loading again, even from a bad path, keeps the loaded library. */
  CHECK_OK(tf_blas_load("/nonexistent/libopenblas.so"));
  CHECK(tf_blas_api_get() == l[0].api);
}

/* ---- layouts -------------------------------------------------------------- */
static void test_blas_contiguous(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("7x5 @ 5x3", RAND(dt, 1, 7, 5), RAND(dt, 2, 5, 3), 1);
    check_mm("64x33 @ 33x65", RAND(dt, 3, 64, 33), RAND(dt, 4, 33, 65), 1);
    check_mm("2x3x4 @ 2x4x5", RAND(dt, 5, 2, 3, 4), RAND(dt, 6, 2, 4, 5), 1);
  }
}

/* Row stride 1: passed with CblasTrans and ld = the column stride. */
static void test_blas_transposed(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("A^T", transposed(RAND(dt, 1, 5, 7), 0, 1), RAND(dt, 2, 5, 3), 1);
    check_mm("B^T", RAND(dt, 3, 7, 5), transposed(RAND(dt, 4, 3, 5), 0, 1), 1);
    check_mm("A^T B^T", transposed(RAND(dt, 5, 33, 40), 0, 1),
             transposed(RAND(dt, 6, 17, 33), 0, 1), 1);
    check_mm("batched A^T B^T", transposed(RAND(dt, 7, 3, 6, 4), 1, 2),
             transposed(RAND(dt, 8, 3, 5, 6), 1, 2), 1);
    /* a transpose whose ld exceeds its extent: a column slice of B^T */
    check_mm("B^T sliced", RAND(dt, 9, 4, 6),
             sliced(transposed(RAND(dt, 10, 9, 8), 0, 1), 0, 1, 7, 1), 1);
  }
}

/* Every other column (copied: both strides > 1), every other row (direct,
 * ld = twice the columns), a column window of a wider matrix (direct, ld >
 * cols, nonzero offset). */
static void test_blas_strided(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("A every other column", sliced(RAND(dt, 1, 6, 10), 1, 0, 10, 2),
             RAND(dt, 2, 5, 4), 1);
    check_mm("B every other column", RAND(dt, 3, 6, 5),
             sliced(RAND(dt, 4, 5, 14), 1, 1, 14, 2), 1);
    check_mm("A every other row", sliced(RAND(dt, 5, 12, 5), 0, 0, 12, 2),
             RAND(dt, 6, 5, 4), 1);
    check_mm("column windows", sliced(RAND(dt, 7, 6, 20), 1, 3, 12, 1),
             sliced(RAND(dt, 8, 9, 30), 1, 7, 18, 1), 1);
    check_mm("batched, every other column",
             sliced(RAND(dt, 9, 3, 4, 10), 2, 0, 10, 2),
             sliced(RAND(dt, 10, 3, 5, 12), 2, 1, 12, 2), 1);
  }
}

/* Batch dims of stride 0 (broadcasting): B repeated (folded into one call
 * when A's entries stack), A repeated, both broadcast from size 1 into a
 * two-dim batch. */
static void test_blas_broadcast_batch(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("(3,m,k) @ (k,n), folded", RAND(dt, 1, 3, 5, 7), RAND(dt, 2, 7, 4), 1);
    check_mm("(2,3,m,k) @ (k,n), folded", RAND(dt, 3, 2, 3, 5, 7),
             RAND(dt, 4, 7, 4), 1);
    check_mm("(3,1,k) @ (k,n), folded rows of one", RAND(dt, 5, 3, 1, 7),
             RAND(dt, 6, 7, 4), 1);
    check_mm("(m,k) @ (3,k,n)", RAND(dt, 7, 5, 7), RAND(dt, 8, 3, 7, 4), 1);
    check_mm("(2,1,m,k) @ (3,k,n)", RAND(dt, 9, 2, 1, 5, 7),
             RAND(dt, 10, 3, 7, 4), 1);
    check_mm("expand: B stride 0", RAND(dt, 11, 4, 5, 7),
             expanded(RAND(dt, 12, 1, 7, 3), 3, SHAPE(4, 7, 3)), 1);
    check_mm("expand: A stride 0", expanded(RAND(dt, 13, 5, 7), 3, SHAPE(4, 5, 7)),
             RAND(dt, 14, 4, 7, 3), 1);
    /* A's entries do not stack (transposed), so no folding */
    check_mm("(3,m,k)^T @ (k,n)", transposed(RAND(dt, 15, 3, 7, 5), 1, 2),
             RAND(dt, 16, 7, 4), 1);
    /* a sliced batch: entries two apart, not stacked either */
    check_mm("every other entry @ (k,n)", sliced(RAND(dt, 17, 6, 5, 7), 0, 0, 6, 2),
             RAND(dt, 18, 7, 4), 1);
  }
}

/* 1-D operands (the plan's 0 strides): gemv both ways, dot, batched. */
static void test_blas_vectors(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("(k,) @ (k,n)", RAND(dt, 1, 7), RAND(dt, 2, 7, 5), 1);
    check_mm("(k,) @ (k,n)^T", RAND(dt, 3, 7), transposed(RAND(dt, 4, 5, 7), 0, 1), 1);
    check_mm("(m,k) @ (k,)", RAND(dt, 5, 6, 7), RAND(dt, 6, 7), 1);
    check_mm("(m,k)^T @ (k,)", transposed(RAND(dt, 7, 7, 6), 0, 1), RAND(dt, 8, 7), 1);
    check_mm("(k,) @ (k,)", RAND(dt, 9, 37), RAND(dt, 10, 37), 1);
    check_mm("strided (k,) @ strided (k,)", sliced(RAND(dt, 11, 74), 0, 1, 74, 2),
             sliced(RAND(dt, 12, 111), 0, 0, 111, 3), 1);
    check_mm("(k,) @ (3,k,n)", RAND(dt, 13, 7), RAND(dt, 14, 3, 7, 5), 1);
    check_mm("(3,m,k) @ (k,), folded", RAND(dt, 15, 3, 6, 7), RAND(dt, 16, 7), 1);
    check_mm("(3,1,k) @ (3,k,1): dots", RAND(dt, 17, 3, 1, 7), RAND(dt, 18, 3, 7, 1), 1);
    /* a vector of stride 0 (BLAS refuses increment 0: copied) */
    check_mm("broadcast (k,) @ (k,n)", expanded(RAND(dt, 19, 1), 1, SHAPE(7)),
             RAND(dt, 20, 7, 5), 1);
    check_mm("(m,k) @ broadcast (k,)", RAND(dt, 21, 6, 7),
             expanded(RAND(dt, 22, 1), 1, SHAPE(7)), 1);
    check_mm("column of B^T: (m,k) @ (k,1) stride n", RAND(dt, 23, 6, 7),
             sliced(RAND(dt, 24, 7, 5), 1, 2, 3, 1), 1);
  }
}

/* k == 0 (zeros, which BLAS might not write), the size-1 cases, and
 * empty results. */
static void test_blas_degenerate(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("k = 0", RAND(dt, 1, 3, 0), RAND(dt, 2, 0, 4), 1);
    check_mm("k = 0, batched", RAND(dt, 3, 2, 3, 0), RAND(dt, 4, 0, 4), 1);
    check_mm("k = 0, dot", RAND(dt, 5, 0), RAND(dt, 6, 0), 1);
    check_mm("m = 1", RAND(dt, 7, 1, 5), RAND(dt, 8, 5, 4), 1);
    check_mm("n = 1", RAND(dt, 9, 4, 5), RAND(dt, 10, 5, 1), 1);
    check_mm("k = 1 (outer product)", RAND(dt, 11, 4, 1), RAND(dt, 12, 1, 6), 1);
    check_mm("1 x 1 x 1", RAND(dt, 13, 1, 1), RAND(dt, 14, 1, 1), 1);
    check_mm("m = 0", RAND(dt, 15, 0, 5), RAND(dt, 16, 5, 4), 1);
    check_mm("n = 0", RAND(dt, 17, 3, 5), RAND(dt, 18, 5, 0), 1);
    check_mm("batch 0", RAND(dt, 19, 0, 3, 5), RAND(dt, 20, 5, 4), 1);
    /* 0 against 1 broadcasts to 0 entries (not 1) */
    check_mm("batch 0 x 1", RAND(dt, 21, 0, 1, 3, 5), RAND(dt, 22, 2, 5, 4), 1);
  }
}

/* Size-1 dims with strides BLAS would refuse as leading dims (0, or less
 * than the other extent): their stride is never used and must not force a
 * copy or a bad ld. Also rows that overlap (a sliding window: copied). */
static void test_blas_odd_strides(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("(1,k) row stride 0", strided(RAND(dt, 1, 9), 2, SHAPE(1, 9), SHAPE(0, 1), 0),
             RAND(dt, 2, 9, 4), 1);
    check_mm("(m,1) column stride 0", strided(RAND(dt, 3, 6), 2, SHAPE(6, 1), SHAPE(1, 0), 0),
             RAND(dt, 4, 1, 4), 1);
    check_mm("(k,1) B, column stride 7", RAND(dt, 5, 3, 5),
             strided(RAND(dt, 6, 5), 2, SHAPE(5, 1), SHAPE(1, 7), 0), 1);
    check_mm("(1,n) B, row stride 1", RAND(dt, 7, 4, 1),
             strided(RAND(dt, 8, 6), 2, SHAPE(1, 6), SHAPE(1, 1), 0), 1);
    check_mm("(1,1) operands, strides 0", strided(RAND(dt, 9, 1), 2, SHAPE(1, 1), SHAPE(0, 0), 0),
             strided(RAND(dt, 10, 1), 2, SHAPE(1, 1), SHAPE(0, 0), 0), 1);
    check_mm("sliding windows (rows overlap)",
             strided(RAND(dt, 11, 21), 2, SHAPE(8, 6), SHAPE(2, 1), 1),
             RAND(dt, 12, 6, 5), 1);
    check_mm("rows broadcast (row stride 0)",
             expanded(RAND(dt, 13, 1, 6), 2, SHAPE(5, 6)), RAND(dt, 14, 6, 5), 1);
    check_mm("B columns broadcast (column stride 0)", RAND(dt, 15, 4, 6),
             expanded(RAND(dt, 16, 6, 1), 2, SHAPE(6, 5)), 1);
  }
}

/* Above 512 (OpenBLAS's blocking and threads), every layout, checked on a
 * grid of rows and columns. */
static void test_blas_large(void) {
  if (!need_blas()) return;
  for (int t = 0; t < 2; t++) {
    tf_dtype dt = FLOATS[t];
    check_mm("600x520 @ 520x530", RAND(dt, 1, 600, 520), RAND(dt, 2, 520, 530), 7);
    check_mm("(520x600)^T @ (530x520)^T", transposed(RAND(dt, 3, 520, 600), 0, 1),
             transposed(RAND(dt, 4, 530, 520), 0, 1), 7);
    check_mm("every other column, 515", sliced(RAND(dt, 5, 515, 1030), 1, 0, 1030, 2),
             RAND(dt, 6, 515, 517), 7);
    check_mm("(1,k) @ (k,n) large", RAND(dt, 7, 1, 2000), RAND(dt, 8, 2000, 600), 1);
    check_mm("(m,k) @ (k,) large", transposed(RAND(dt, 9, 2000, 600), 0, 1),
             RAND(dt, 10, 2000), 1);
    check_mm("dot, k = 100000", RAND(dt, 11, 100000), RAND(dt, 12, 100000), 1);
  }
}

/* ---- errors --------------------------------------------------------------- */
static void test_blas_errors(void) {
  if (!need_blas()) return;
  tf_tensor *a = make_range(2, SHAPE(2, 3), TF_INT64),
            *b = make_range(2, SHAPE(3, 2), TF_INT64), *c = NULL;
  REQUIRE(a && b);
  CHECK_ERR(blas_mm(a, b, &c), TF_ERR_DTYPE, "float32 and float64 only, got int64");
  tf_tensor_release(a);
  tf_tensor_release(b);
  /* A k past BLAS's 32-bit int is refused before any memory is read (the
   * plan is made up: no tensor that large fits in memory). */
  a = RAND(TF_FLOAT32, 1, 1);
  b = RAND(TF_FLOAT32, 2, 1);
  REQUIRE(a && b);
  REQUIRE(tf_tensor_empty(0, NULL, TF_FLOAT32, TF_CPU, &c) == TF_OK);
  tf_matmul_plan p;
  REQUIRE(tf_matmul_plan_of(a, b, &p) == TF_OK);
  p.k = (int64_t)INT32_MAX + 1;
  CHECK_ERR(tf_blas_matmul(&p, a, b, c), TF_ERR_VALUE,
            "k = 2147483648 exceeds the 32-bit ints");
  /* An output that does not match the plan is refused, not written. */
  p.k = 1;
  p.m = 2;
  CHECK_ERR(tf_blas_matmul(&p, a, b, c), TF_ERR_INTERNAL, "for a plan of 2");
  tf_tensor_release(c);
  tf_tensor_release(a);
  tf_tensor_release(b);
}

/* ---- threads -------------------------------------------------------------- */
/* OpenBLAS stays on one thread whatever tf_set_num_threads says (tinyfin's
 * team runs the tiles), and a product has the same bits on 1, 2 and 3
 * threads: shapes that are tiled (rows and columns in several blocks, a
 * transposed operand) and shapes that are not. */
static void test_blas_same_bits_on_any_thread_count(void) {
  if (!need_blas()) return;
  int before = tf_get_num_threads();
  const int64_t shapes[][3] = {{64, 64, 64}, {257, 513, 129}, {500, 500, 500},
                               {128, 784, 256}, {784, 128, 256}, {300, 200, 250}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int dt = 0; dt < 2; dt++) {
      tf_dtype dtype = dt ? TF_FLOAT64 : TF_FLOAT32;
      int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
      tf_tensor *a = RAND(dtype, 11 + s, m, k), *b = RAND(dtype, 12 + s, n, k);
      tf_tensor *bt = NULL, *ref = NULL;
      REQUIRE(a && b && tf_transpose(b, 0, 1, &bt) == TF_OK);
      for (int threads = 1; threads <= 3; threads++) {
        tf_set_num_threads(threads);
        tf_tensor *c = NULL;
        CHECK_OK(blas_mm(a, bt, &c));
        CHECK_EQ_I(tf_blas_api_get()->get_num_threads(), 1);
        if (threads == 1) {
          CHECK(product_ok("tiled product", a, bt, c, 7));
          ref = c;
          continue;
        }
        CHECK(c && !memcmp(tf_tensor_data(c), tf_tensor_data(ref),
                           (size_t)(m * n) * tf_dtype_size(dtype)));
        tf_tensor_release(c);
      }
      tf_tensor_release(ref);
      tf_tensor_release(bt);
      tf_tensor_release(a);
      tf_tensor_release(b);
    }
  }
  tf_set_num_threads(before);
}

typedef struct {
  tf_dtype dtype;
  uint64_t seed;
  atomic_bool *stop; /* keep calling until set (at least 3 calls) */
  bool ok;
  int calls;
} caller_t;

static void *call_from_thread(void *arg) {
  caller_t *c = arg;
  c->ok = true;
  for (int rep = 0; c->ok && (rep < 3 || !atomic_load(c->stop)); rep++) {
    c->calls++;
    tf_tensor *a = rand_tensor(2, SHAPE(300, 200), c->dtype, c->seed + rep % 8);
    tf_tensor *b = rand_tensor(2, SHAPE(200, 250), c->dtype, c->seed + 10 + rep % 8);
    tf_tensor *r = NULL;
    c->ok = a && b && blas_mm(a, b, &r) == TF_OK &&
            product_ok("concurrent call", a, b, r, 5);
    tf_tensor_release(r);
    tf_tensor_release(a);
    tf_tensor_release(b);
  }
  return NULL;
}

/* Threads calling BLAS at the same time (each call's tiles on its own
 * OpenMP team, each tile a call into OpenBLAS) all get right products, also
 * while the thread count changes under them. */
static void test_blas_concurrent_calls(void) {
  if (!need_blas()) return;
  int before = tf_get_num_threads();
  enum { N = 3 };
  caller_t c[N];
  pthread_t th[N];
  atomic_bool stop = false;
  for (int i = 0; i < N; i++) {
    c[i] = (caller_t){i % 2 ? TF_FLOAT64 : TF_FLOAT32, 100 + 20 * (uint64_t)i,
                      &stop, false, 0};
    REQUIRE(pthread_create(&th[i], NULL, call_from_thread, &c[i]) == 0);
  }
  for (int i = 0; i < 200; i++) {
    tf_set_num_threads(1 + i % 2);
    struct timespec ms1 = {0, 1000 * 1000};
    nanosleep(&ms1, NULL);
  }
  atomic_store(&stop, true);
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < N; i++) CHECK(c[i].ok && c[i].calls >= 3);
  tf_set_num_threads(before);
}

/* Waits up to 60 s for the child; kills it if it hangs. */
static int wait_child(pid_t pid) {
  for (int i = 0; i < 6000; i++) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
    struct timespec ms10 = {0, 10 * 1000 * 1000};
    nanosleep(&ms10, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 101; /* hung */
}

/* A process forked after the parent ran a tiled product on two threads
 * runs a large product (its tiles on one thread: tinyfin's rule for forked
 * children) without hanging, and the parent keeps working afterwards;
 * OpenBLAS itself stays on one thread throughout. */
static void test_blas_forked_child(void) {
  if (!need_blas()) return;
  int before = tf_get_num_threads();
  tf_set_num_threads(2);
  check_mm("parent before fork", RAND(TF_FLOAT64, 1, 400, 300),
           RAND(TF_FLOAT64, 2, 300, 350), 9);
  CHECK_EQ_I(tf_blas_api_get()->get_num_threads(), 1);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    tf_tensor *a = RAND(TF_FLOAT32, 3, 400, 300), *b = RAND(TF_FLOAT32, 4, 300, 350);
    tf_tensor *r = NULL;
    bool ok = a && b && blas_mm(a, b, &r) == TF_OK &&
              product_ok("forked child", a, b, r, 9) &&
              tf_blas_api_get()->get_num_threads() == 1;
    tf_tensor_release(r); /* (valgrind checks the child's leaks too) */
    tf_tensor_release(a);
    tf_tensor_release(b);
    _exit(ok ? 0 : 3);
  }
  CHECK_EQ_I(wait_child(pid), 0);
  check_mm("parent after fork", RAND(TF_FLOAT32, 5, 400, 300),
           RAND(TF_FLOAT32, 6, 300, 350), 9);
  CHECK_EQ_I(tf_blas_api_get()->get_num_threads(), 1);
  tf_set_num_threads(before);
}

void suite_blas(void) {
  RUN(test_blas_load_failures); /* first: needs nothing loaded */
  RUN(test_blas_concurrent_load);
  RUN(test_blas_contiguous);
  RUN(test_blas_transposed);
  RUN(test_blas_strided);
  RUN(test_blas_broadcast_batch);
  RUN(test_blas_vectors);
  RUN(test_blas_degenerate);
  RUN(test_blas_odd_strides);
  RUN(test_blas_large);
  RUN(test_blas_errors);
  RUN(test_blas_same_bits_on_any_thread_count);
  RUN(test_blas_concurrent_calls);
  RUN(test_blas_forked_child);
}
