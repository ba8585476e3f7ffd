/* matmul.cu: matrix products on the device (tfc_matmul): C (contiguous,
 * batch x m x n) = A @ B for every entry of the plan's broadcast batch.
 *
 * Two ways, chosen per call:
 *  - cuBLAS (float32, float64), loaded at run time from the path the core
 *    hands over (tfc_cublas_load; Python finds it in the nvidia-cublas
 *    wheel), when the operands' layout is one cuBLAS can read: C^T = B^T
 *    A^T in cuBLAS's column-major terms, one strided-batched call for the
 *    whole batch. Default math mode (no TF32), so float32 stays float32.
 *  - tinyfin's own tiled kernel otherwise (int64, layouts cuBLAS cannot
 *    take, no cuBLAS, or the caller asked for it): each thread computes a
 *    kTile x kTile tile of C, summing over k in order 0, 1, ..., k - 1 in
 *    the operands' dtype (int64 wrapping, as on the cpu). It is also the
 *    independent reference the tests hold cuBLAS to.
 * Both give the same bits on every run: no atomics, a fixed order per
 * element (cuBLAS guarantees run-to-run equal results for a given GPU
 * architecture, SM count and toolkit).
 *
 * The emulated build (TFC_EMULATE) has no cuBLAS: it runs the tiled kernel. */
#include <string.h>

#include "../gemm_layout.h"
#include "device_api.h"
#include "launch.h"

#ifndef TFC_EMULATE
#include <dlfcn.h>
#include <pthread.h>
#endif

namespace {

const int kTile = 4; /* rows and columns of C per thread */

/* What the sums run in: the dtype, but int64 as uint64 so that overflow
 * wraps (defined) as the cpu's int64 matmul does. */
template <typename T> struct Sum { typedef T type; };
template <> struct Sum<int64_t> { typedef uint64_t type; };

template <typename T>
__global__ void gemm_tiles(const T *a, const T *b, T *c, tfc_matmul_geometry g,
                           int64_t tiles_m, int64_t tiles_n, int64_t count) {
  typedef typename Sum<T>::type S;
  TFC_FOR_EACH(t, count) {
    /* neighbouring threads take neighbouring column tiles of one row tile */
    int64_t tj = t % tiles_n, rest = t / tiles_n;
    int64_t ti = rest % tiles_m, entry = rest / tiles_m;
    int64_t ao = 0, bo = 0;
    for (int64_t d = g.batch_ndim - 1, left = entry; d >= 0; d--) {
      int64_t i = left % g.batch[d];
      left /= g.batch[d];
      ao += i * g.a_batch_strides[d];
      bo += i * g.b_batch_strides[d];
    }
    int64_t i0 = ti * kTile, j0 = tj * kTile;
    int rows = g.m - i0 < kTile ? (int)(g.m - i0) : kTile;
    int cols = g.n - j0 < kTile ? (int)(g.n - j0) : kTile;
    S acc[kTile][kTile];
    for (int r = 0; r < kTile; r++)
      for (int q = 0; q < kTile; q++) acc[r][q] = 0;
    const T *arow = a + ao + i0 * g.a_rs, *bcol = b + bo + j0 * g.b_cs;
    for (int64_t p = 0; p < g.k; p++) {
      S av[kTile], bv[kTile];
      for (int r = 0; r < kTile; r++) av[r] = r < rows ? (S)arow[r * g.a_rs + p * g.a_cs] : 0;
      for (int q = 0; q < kTile; q++) bv[q] = q < cols ? (S)bcol[p * g.b_rs + q * g.b_cs] : 0;
      for (int r = 0; r < kTile; r++)
        for (int q = 0; q < kTile; q++) acc[r][q] += av[r] * bv[q];
    }
    T *out = c + entry * g.m * g.n + i0 * g.n + j0;
    for (int r = 0; r < rows; r++)
      for (int q = 0; q < cols; q++) out[r * g.n + q] = (T)acc[r][q];
  }
}

template <typename T>
cudaError_t launch_tiles(const void *a, const void *b, void *c, const tfc_matmul_geometry &g,
                         int64_t entries) {
  int64_t tiles_m = (g.m + kTile - 1) / kTile, tiles_n = (g.n + kTile - 1) / kTile;
  int64_t count = entries * tiles_m * tiles_n;
  TFC_LAUNCH(gemm_tiles<T>, grid_for(count), kBlock, (const T *)a, (const T *)b, (T *)c, g,
             tiles_m, tiles_n, count);
  return cudaGetLastError();
}

#ifndef TFC_EMULATE
/* ---- cuBLAS ------------------------------------------------------------------
 * The few declarations of cublas_api.h used here (the toolkit's nvcc may
 * come without cuBLAS's headers; the library comes from the wheel). */
typedef struct cublasContext *cublasHandle_t;
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_DEFAULT_MATH = 0 };
typedef int (*create_fn)(cublasHandle_t *);
typedef int (*math_mode_fn)(cublasHandle_t, int);
typedef const char *(*status_string_fn)(int);
typedef int (*sgemm_fn)(cublasHandle_t, int, int, int, int, int, const float *, const float *,
                        int, long long, const float *, int, long long, const float *, float *,
                        int, long long, int);
typedef int (*dgemm_fn)(cublasHandle_t, int, int, int, int, int, const double *,
                        const double *, int, long long, const double *, int, long long,
                        const double *, double *, int, long long, int);

struct Cublas {
  pthread_mutex_t lock;
  bool loaded;
  cublasHandle_t handle;
  sgemm_fn sgemm;
  dgemm_fn dgemm;
  status_string_fn status_string;
} cublas = {PTHREAD_MUTEX_INITIALIZER, false, NULL, NULL, NULL, NULL};

/* tf_gemm_layout (../gemm_layout.h, shared with the BLAS backend) as
 * cuBLAS's op, for the transpose cuBLAS reads in column-major order: a
 * row-major operand is op N, a column-major one op T. */
bool cublas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int *op, int *ld) {
  bool transposed;
  if (!tf_gemm_layout(rows, cols, rs, cs, &transposed, ld)) return false;
  *op = transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  return true;
}

/* The batch as one run of entries at a fixed stride per operand (a
 * broadcast one at stride 0): false when the plan's batch dims do not fold
 * into one. */
bool fold_batch(const tfc_matmul_geometry &g, int64_t *entries, long long *sa,
                long long *sb) {
  int64_t n = 1;
  bool first = true;
  *sa = *sb = 0;
  for (int d = g.batch_ndim - 1; d >= 0; d--) {
    if (g.batch[d] == 1) continue;
    if (first) {
      *sa = g.a_batch_strides[d];
      *sb = g.b_batch_strides[d];
      first = false;
    } else if (g.a_batch_strides[d] != *sa * n || g.b_batch_strides[d] != *sb * n) {
      return false;
    }
    n *= g.batch[d];
  }
  *entries = n;
  return n <= INT32_MAX;
}

/* 0 when cuBLAS computed C; -1 when it cannot take this product (the
 * tiled kernel does); else cuBLAS's failure, in why. */
int cublas_matmul(int dtype, const void *a, const void *b, void *c,
                  const tfc_matmul_geometry &g, char *why, size_t why_len) {
  int opa, lda, opb, ldb;
  int64_t entries;
  long long sa, sb;
  if (!cublas.loaded || dtype > 1 || g.k == 0 || g.m > INT32_MAX || g.n > INT32_MAX ||
      g.k > INT32_MAX || !cublas_layout(g.m, g.k, g.a_rs, g.a_cs, &opa, &lda) ||
      !cublas_layout(g.k, g.n, g.b_rs, g.b_cs, &opb, &ldb) || !fold_batch(g, &entries, &sa, &sb))
    return -1;
  int m = (int)g.m, n = (int)g.n, k = (int)g.k, count = (int)entries;
  long long sc = (long long)g.m * g.n;
  int st;
  if (dtype == 0) {
    const float one = 1, zero = 0;
    st = cublas.sgemm(cublas.handle, opb, opa, n, m, k, &one, (const float *)b, ldb, sb,
                      (const float *)a, lda, sa, &zero, (float *)c, n, sc, count);
  } else {
    const double one = 1, zero = 0;
    st = cublas.dgemm(cublas.handle, opb, opa, n, m, k, &one, (const double *)b, ldb, sb,
                      (const double *)a, lda, sa, &zero, (double *)c, n, sc, count);
  }
  if (st != 0 && why && why_len)
    snprintf(why, why_len, "cuBLAS gemm: %s (status %d)", cublas.status_string(st), st);
  return st;
}
#endif

}  // namespace

extern "C" {

int tfc_cublas_load(const char *path, char *why, size_t why_len) {
#ifdef TFC_EMULATE
  (void)path;
  snprintf(why, why_len, "the emulated device has no cuBLAS");
  return (int)cudaErrorInvalidValue;
#else
  pthread_mutex_lock(&cublas.lock);
  int rc = 0;
  if (!cublas.loaded) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    create_fn create = lib ? (create_fn)dlsym(lib, "cublasCreate_v2") : NULL;
    math_mode_fn math_mode = lib ? (math_mode_fn)dlsym(lib, "cublasSetMathMode") : NULL;
    cublas.sgemm = lib ? (sgemm_fn)dlsym(lib, "cublasSgemmStridedBatched") : NULL;
    cublas.dgemm = lib ? (dgemm_fn)dlsym(lib, "cublasDgemmStridedBatched") : NULL;
    cublas.status_string = lib ? (status_string_fn)dlsym(lib, "cublasGetStatusString") : NULL;
    int st = -1;
    if (!lib) {
      snprintf(why, why_len, "%.300s does not load: %.150s", path, dlerror());
    } else if (!create || !math_mode || !cublas.sgemm || !cublas.dgemm || !cublas.status_string) {
      snprintf(why, why_len, "%.300s lacks the cuBLAS functions tinyfin calls", path);
    } else if ((st = create(&cublas.handle)) != 0 ||
               (st = math_mode(cublas.handle, CUBLAS_DEFAULT_MATH)) != 0) {
      snprintf(why, why_len, "cublasCreate: %s (status %d)", cublas.status_string(st), st);
    } else {
      cublas.loaded = true;
    }
    if (!cublas.loaded) {
      rc = st ? st : -1;
      if (lib) dlclose(lib);
    }
  }
  pthread_mutex_unlock(&cublas.lock);
  return rc;
#endif
}

int tfc_matmul(int dtype, const void *a, const void *b, void *c, const tfc_matmul_geometry *g,
               int allow_cublas, char *why, size_t why_len) {
  if (g->batch_ndim < 0 || g->batch_ndim > TFC_MAX_DIMS || dtype < 0 || dtype > 2)
    return fail(cudaErrorInvalidValue, "matmul kernel (bad arguments)", why, why_len);
  int64_t entries = 1;
  for (int d = 0; d < g->batch_ndim; d++) entries *= g->batch[d];
  if (entries == 0 || g->m == 0 || g->n == 0) return 0;
#ifndef TFC_EMULATE
  if (allow_cublas) {
    int st = cublas_matmul(dtype, a, b, c, *g, why, why_len);
    if (st >= 0) return st;
  }
#else
  (void)allow_cublas;
#endif
  cudaError_t err = dtype == 0   ? launch_tiles<float>(a, b, c, *g, entries)
                    : dtype == 1 ? launch_tiles<double>(a, b, c, *g, entries)
                                 : launch_tiles<int64_t>(a, b, c, *g, entries);
  return fail(err, "matmul kernel", why, why_len);
}

}  // extern "C"
