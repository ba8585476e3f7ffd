/* matmul.c: the cpu's matrix-product kernel (the entry point, with NumPy's
 * matmul rules, is ops/matmul.c).
 *
 * The float kernel packs a block of B into a contiguous panel per call (a
 * per-call buffer, never a global one) and runs a register-tiled MR x NR
 * micro-kernel over it that the compiler vectorizes. Threads split the
 * (batch, row-block) space only; every output element sums over k in one
 * fixed order, so results never depend on the thread count.
 */
#include <stdlib.h>

#include "../backend.h"
#include "fast_math.h" /* TF_SIMD_CLONES */

enum { KC = 256, NC = 512, MR = 4, NR = 32 };

/* One GEMM problem: C (m x n) = A (m x k) @ B (k x n), strides in elements. */
typedef struct {
  int64_t m, n, k;
  const char *a, *b;
  char *c;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs;
} gemm_t;

/* Micro-kernel on a packed panel: rows [i, i + rows) of C, columns
 * [j, j + cols) (cols <= NR), adding A[i.., k0..k0+kc) @ panel. The
 * accumulators are a fixed-size local array the compiler keeps in vector
 * registers. */
#define DEFINE_GEMM(T, NAME)                                                   \
  TF_SIMD_CLONES static void NAME##_tile(const gemm_t *g, const T *panel,     \
                                         int64_t i, int64_t rows, int64_t j,   \
                                         int64_t cols, int64_t k0, int64_t kc, \
                                         int64_t panel_width) {                \
    T acc[MR][NR];                                                             \
    for (int r = 0; r < MR; r++)                                               \
      for (int c = 0; c < NR; c++) acc[r][c] = 0;                              \
    const T *a = (const T *)g->a;                                              \
    for (int64_t p = 0; p < kc; p++) {                                         \
      const T *brow = panel + p * panel_width + j;                             \
      T bv[NR];                                                                \
      for (int c = 0; c < NR; c++) bv[c] = c < cols ? brow[c] : 0;             \
      for (int r = 0; r < MR; r++) {                                           \
        T av = r < rows ? a[(i + r) * g->a_rs + (k0 + p) * g->a_cs] : 0;       \
        for (int c = 0; c < NR; c++) acc[r][c] += av * bv[c];                  \
      }                                                                        \
    }                                                                          \
    T *c = (T *)g->c;                                                          \
    for (int r = 0; r < rows; r++)                                             \
      for (int cc = 0; cc < cols; cc++)                                        \
        c[(i + r) * g->c_rs + j + cc] += acc[r][cc];                           \
  }                                                                            \
                                                                               \
  /* Rows [row_begin, row_end) of C, all columns; panel is scratch of      */ \
  /* KC * NC elements.                                                      */ \
  static void NAME##_rows(const gemm_t *g, void *scratch, int64_t row_begin,   \
                          int64_t row_end) {                                   \
    T *panel = scratch;                                                        \
    const T *b = (const T *)g->b;                                              \
    T *c = (T *)g->c;                                                          \
    for (int64_t i = row_begin; i < row_end; i++)                              \
      for (int64_t j = 0; j < g->n; j++) c[i * g->c_rs + j] = 0;               \
    for (int64_t j0 = 0; j0 < g->n; j0 += NC) {                                \
      int64_t nc = g->n - j0 < NC ? g->n - j0 : NC;                            \
      for (int64_t k0 = 0; k0 < g->k; k0 += KC) {                              \
        int64_t kc = g->k - k0 < KC ? g->k - k0 : KC;                          \
        for (int64_t p = 0; p < kc; p++)                                       \
          for (int64_t q = 0; q < nc; q++)                                     \
            panel[p * nc + q] = b[(k0 + p) * g->b_rs + (j0 + q) * g->b_cs];    \
        gemm_t sub = *g;                                                       \
        sub.c = (char *)(c + j0);                                              \
        for (int64_t i = row_begin; i < row_end; i += MR) {                    \
          int64_t rows = row_end - i < MR ? row_end - i : MR;                  \
          for (int64_t j = 0; j < nc; j += NR)                                 \
            NAME##_tile(&sub, panel, i, rows, j, nc - j < NR ? nc - j : NR,    \
                        k0, kc, nc);                                           \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }
DEFINE_GEMM(float, gemm_f32)
DEFINE_GEMM(double, gemm_f64)

/* int64: exact, wrapping like every integer op. */
static void gemm_i64_rows(const gemm_t *g, void *scratch, int64_t row_begin,
                          int64_t row_end) {
  (void)scratch;
  const int64_t *a = (const int64_t *)g->a, *b = (const int64_t *)g->b;
  int64_t *c = (int64_t *)g->c;
  for (int64_t i = row_begin; i < row_end; i++)
    for (int64_t j = 0; j < g->n; j++) {
      uint64_t s = 0;
      for (int64_t p = 0; p < g->k; p++)
        s += (uint64_t)a[i * g->a_rs + p * g->a_cs] * (uint64_t)b[p * g->b_rs + j * g->b_cs];
      c[i * g->c_rs + j] = (int64_t)s;
    }
}

typedef void (*rows_fn)(const gemm_t *, void *, int64_t, int64_t);

/* The cpu's matmul slot (float32, float64, int64). */
tf_status tf_cpu_matmul(const tf_matmul_plan *pp, const tf_tensor *a,
                        const tf_tensor *b, tf_tensor *r) {
  const tf_matmul_plan p = *pp;
  int64_t nbatch = tf_shape_numel(p.batch_ndim, p.batch);
  int64_t numel = nbatch * p.m * p.n;
  if (numel == 0) return TF_OK;
  size_t elsize = tf_dtype_size(a->dtype);
  rows_fn rows = a->dtype == TF_FLOAT32 ? gemm_f32_rows
               : a->dtype == TF_FLOAT64 ? gemm_f64_rows
               : gemm_i64_rows;
  /* Work items: (batch, block of rows); enough of them to keep threads busy. */
  int64_t row_block = p.m < 64 ? p.m : 64;
  int64_t blocks_per_batch = (p.m + row_block - 1) / row_block;
  int64_t items = nbatch * blocks_per_batch;
  bool parallel = (double)numel * (double)p.k >= 2e5 && items > 1;
  tf_status status = TF_OK;
  TF_PARALLEL(parallel)
  {
    void *panel = malloc((size_t)KC * NC * elsize);
    if (!panel) {
#pragma omp atomic write
      status = TF_ERR_MEMORY;
    }
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; item++) {
      if (!panel) continue;
      int64_t bi = item / blocks_per_batch, rb = item % blocks_per_batch;
      /* Offsets of this batch entry. */
      int64_t a_off = a->offset, b_off = b->offset, rest = bi;
      for (int d = p.batch_ndim - 1; d >= 0; d--) {
        int64_t idx = rest % p.batch[d];
        rest /= p.batch[d];
        a_off += idx * p.a_batch_strides[d];
        b_off += idx * p.b_batch_strides[d];
      }
      gemm_t g = {p.m, p.n, p.k,
                  (const char *)a->storage->data + a_off * (int64_t)elsize,
                  (const char *)b->storage->data + b_off * (int64_t)elsize,
                  tf_ptr(r) + bi * p.m * p.n * (int64_t)elsize,
                  p.a_rs, p.a_cs, p.b_rs, p.b_cs, p.n};
      int64_t begin = rb * row_block;
      int64_t end = begin + row_block < p.m ? begin + row_block : p.m;
      rows(&g, panel, begin, end);
    }
    free(panel);
  }
  if (status != TF_OK)
    return tf_fail(TF_ERR_MEMORY, "matmul: out of memory for a packing buffer");
  return TF_OK;
}
