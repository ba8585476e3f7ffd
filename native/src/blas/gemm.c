/* gemm.c: tf_blas_matmul, the BLAS backend's matmul kernel (float32 and
 * float64): every batch entry of the plan as one OpenBLAS call.
 *
 * Per batch entry C (m x n, row-major, ldc = n) = A (m x k) @ B (k x n):
 * - m == 1 and n == 1: a dot; n == 1: gemv on A; m == 1: gemv on B
 *   (transposed); else gemm.
 * - An operand goes to BLAS as it lies when BLAS can address it: row-major
 *   with a leading dimension (column stride 1, row stride >= cols), or the
 *   transpose of one (row stride 1: CblasTrans, ld = column stride), or for
 *   a vector any positive increment. Anything else (a stride 0 from
 *   broadcasting, rows that overlap, both strides > 1, a stride past
 *   INT32_MAX) is first copied into contiguous scratch memory, allocated per
 *   call and reused across the batch entries.
 * - When B is one matrix for the whole batch and A's entries lie at a fixed
 *   row stride (a contiguous (batch..., m, k) @ (k, n)), the batch folds
 *   into one call with batch * m rows, as NumPy and PyTorch do.
 * The layout and the folding depend only on the plan, never on the data or
 * the thread count.
 *
 * Threads and determinism: OpenBLAS itself always runs on one thread (its
 * thread count is set to 1 when it loads). A product large enough to pay
 * for threads is cut into tiles of C on a grid that depends only on the
 * shape (tile_grid), and tinyfin's OpenMP team runs one single-threaded
 * OpenBLAS call per tile, tiles handed out dynamically. Every element of C
 * is computed by one call whose arguments do not depend on the thread
 * count, so the bits are the same on any number of threads (and in a
 * forked child), as for the cpu kernels. Letting OpenBLAS split the work
 * itself gave other bits on 1 and on 2 threads for many shapes (its
 * one-thread and threaded drivers block k and pick edge kernels
 * differently), and its threads wait on each other many times per call:
 * on busy cores each of those waits lasts until the other thread is
 * scheduled again. Tiles wait once, at the end, and a thread that is late
 * leaves its tiles to the others.
 */
#include <stdlib.h>

#include "../gemm_layout.h"
#include "openblas.h"

enum { ROW_MAJOR = TF_CBLAS_ROW_MAJOR, NO_TRANS = TF_CBLAS_NO_TRANS,
       TRANS = TF_CBLAS_TRANS };

/* ---- how BLAS reads an operand -------------------------------------------- */
/* tf_gemm_layout (../gemm_layout.h, shared with cuBLAS) as CBLAS's trans. */
static bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                        int *trans, int *ld) {
  bool transposed;
  if (!tf_gemm_layout(rows, cols, rs, cs, &transposed, ld)) return false;
  *trans = transposed ? TRANS : NO_TRANS;
  return true;
}

/* A vector of len elements at a fixed stride as a BLAS increment (BLAS
 * would take a negative one, but never 0). */
static bool blas_inc(int64_t len, int64_t stride, int *inc) {
  if (len == 1) stride = 1;
  if (stride < 1 || stride > INT32_MAX) return false;
  *inc = (int)stride;
  return true;
}

/* ---- one operand, as the kernel hands it to BLAS -------------------------- */
typedef struct {
  int64_t rows, cols, rs, cs; /* the operand in its batch entry */
  bool vector;                /* passed as a vector: rows elements, stride rs */
  bool copy;                  /* copied into scratch first */
  bool col_major;             /* the copy's order (matrices only) */
  int trans, ld;              /* how BLAS reads it (ld: the increment of a vector) */
  char *scratch;              /* rows * cols elements when copy */
  const char *copied;         /* the entry last copied (a broadcast batch reuses it) */
} operand;

static void plan_operand(operand *o, int64_t rows, int64_t cols, int64_t rs,
                         int64_t cs, bool vector) {
  memset(o, 0, sizeof *o);
  o->rows = rows;
  o->cols = cols;
  o->rs = rs;
  o->cs = cs;
  o->vector = vector;
  if (vector) {
    o->copy = !blas_inc(rows, rs, &o->ld);
    if (o->copy) o->ld = 1;
    return;
  }
  o->copy = !blas_layout(rows, cols, rs, cs, &o->trans, &o->ld);
  if (o->copy) {
    /* Copy along the smaller stride, so that the reads are the short hops
     * and the copy reads as BLAS then will. */
    o->col_major = rs < cs;
    o->trans = o->col_major ? TRANS : NO_TRANS;
    o->ld = (int)(o->col_major ? rows : cols);
  }
}

/* The operand at src into o->scratch, contiguous in o's chosen order; the
 * inner loop walks the smaller source stride. */
#define TF_DEFINE_COPY(T, NAME)                                            \
  static void NAME(const operand *o, const char *src) {                    \
    const T *from = (const T *)src;                                        \
    T *to = (T *)o->scratch;                                               \
    if (o->col_major) {                                                    \
      for (int64_t j = 0; j < o->cols; j++)                                \
        for (int64_t i = 0; i < o->rows; i++)                              \
          to[j * o->rows + i] = from[i * o->rs + j * o->cs];               \
    } else {                                                               \
      for (int64_t i = 0; i < o->rows; i++)                                \
        for (int64_t j = 0; j < o->cols; j++)                              \
          to[i * o->cols + j] = from[i * o->rs + j * o->cs];               \
    }                                                                      \
  }
TF_DEFINE_COPY(float, copy_f32)
TF_DEFINE_COPY(double, copy_f64)
#undef TF_DEFINE_COPY

/* What BLAS reads for the operand whose element (0, 0) is at src: src
 * itself, or the scratch copy of it. */
static const void *operand_data(operand *o, const char *src, bool f64) {
  if (!o->copy) return src;
  if (o->copied != src) { /* a broadcast batch entry reuses its copy */
    if (f64) copy_f64(o, src);
    else copy_f32(o, src);
    o->copied = src;
  }
  return o->scratch;
}

/* ---- folding a broadcast B into the rows -------------------------------- */
/* True, with *rows and *rs the folded A's rows and row stride, when every
 * batch dim of size > 1 repeats B (stride 0) and steps A by exactly the
 * rows before it, so that the batch of A is one matrix of nbatch * m rows
 * and C (contiguous) is its product with B. */
static bool fold_batch(const tf_matmul_plan *p, int64_t *rows, int64_t *rs) {
  int64_t r = p->m, s = p->a_rs;
  bool folded = false;
  for (int d = p->batch_ndim - 1; d >= 0; d--) {
    int64_t size = p->batch[d], step = p->a_batch_strides[d];
    if (size == 1) continue;
    if (p->b_batch_strides[d] != 0) return false;
    if (r == 1) s = step; /* the row stride of one row is free */
    int64_t want;
    if (!tf_mul_ok(r, s, &want) || step != want) return false;
    if (!tf_mul_ok(r, size, &r)) return false;
    folded = true;
  }
  if (!folded || r > INT32_MAX) return false;
  *rows = r;
  *rs = s;
  return true;
}

/* ---- the calls ---------------------------------------------------------- */
typedef struct {
  const tf_blas_api *api;
  bool f64;
  int m, n, k;
  operand a, b;
} job;

/* The gemm of the C tile rows r0 .. r0 + rows - 1, columns c0 .. c0 + cols
 * - 1, of the entry whose A, B, C are at a, b, c. */
static void run_tile(const job *j, const void *a, const void *b, char *pc,
                     int r0, int rows, int c0, int cols) {
  const tf_blas_api *api = j->api;
  size_t el = j->f64 ? sizeof(double) : sizeof(float);
  /* Row r0 of A: NO_TRANS rows are ld apart; TRANS (a k x m matrix read
   * transposed) columns are. Column c0 of B: the other way round. */
  const char *ta = (const char *)a + (size_t)r0 * el * (j->a.trans == NO_TRANS ? (size_t)j->a.ld : 1);
  const char *tb = (const char *)b + (size_t)c0 * el * (j->b.trans == NO_TRANS ? 1 : (size_t)j->b.ld);
  char *tc = pc + ((size_t)r0 * (size_t)j->n + (size_t)c0) * el;
  if (j->f64)
    api->dgemm(ROW_MAJOR, j->a.trans, j->b.trans, rows, cols, j->k, 1.0,
               (const double *)ta, j->a.ld, (const double *)tb, j->b.ld, 0.0,
               (double *)tc, j->n);
  else
    api->sgemm(ROW_MAJOR, j->a.trans, j->b.trans, rows, cols, j->k, 1.0f,
               (const float *)ta, j->a.ld, (const float *)tb, j->b.ld, 0.0f,
               (float *)tc, j->n);
}

/* ---- the tile grid ---------------------------------------------------------
 * A function of the shape alone (never of the thread count): below
 * TILE_WORK multiply-adds one tile; else each of m and n cut into
 * d / TILE_MIN blocks, at most `split`, each a multiple of 16 rows or
 * columns (OpenBLAS's kernels work on such panels) but the last. Every
 * tile packs its own panels of A and B, and the packing grows with k: deep
 * products (k >= 256) are cut at most 2 x 2 (within a few % of OpenBLAS's
 * own threads from n = 256 up), shallow ones, whose panels are cheap, at
 * most 4 x 4, which balances the MLP's x.T @ g (k = 128) better. Tiles
 * of at least 64 x 64 keep OpenBLAS near its full speed. */
enum { TILE_MIN = 64, TILE_SPLIT_DEEP = 2, TILE_SPLIT_SHALLOW = 4,
       TILE_DEEP_K = 256, TILE_ALIGN = 16 };
#define TILE_WORK ((int64_t)1 << 21)

typedef struct {
  int bm, bn;       /* blocks of rows and of columns */
  int rows, cols;   /* a block's size (the last ones may be smaller) */
} tile_grid;

static void blocks_of(int64_t d, int64_t split, int *count, int *size) {
  int64_t nb = d / TILE_MIN;
  nb = nb < 1 ? 1 : nb > split ? split : nb;
  int64_t bs = (d + nb - 1) / nb;
  bs = (bs + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
  *size = (int)(bs < d ? bs : d);
  *count = (int)((d + *size - 1) / *size);
}

static tile_grid grid_of(int64_t m, int64_t n, int64_t k) {
  tile_grid g = {1, 1, (int)m, (int)n};
  int64_t work;
  if (tf_mul_ok(m, n, &work) && tf_mul_ok(work, k, &work) && work < TILE_WORK)
    return g;
  int64_t split = k >= TILE_DEEP_K ? TILE_SPLIT_DEEP : TILE_SPLIT_SHALLOW;
  blocks_of(m, split, &g.bm, &g.rows);
  blocks_of(n, split, &g.bn, &g.cols);
  return g;
}

/* Tile t of the grid (row-block-major) of the entry at a, b, c. */
static void run_grid_tile(const job *j, const tile_grid *g, int64_t t,
                          const void *a, const void *b, char *pc) {
  int i = (int)(t / g->bn), jj = (int)(t % g->bn);
  int r0 = i * g->rows, c0 = jj * g->cols;
  int rows = j->m - r0 < g->rows ? j->m - r0 : g->rows;
  int cols = j->n - c0 < g->cols ? j->n - c0 : g->cols;
  run_tile(j, a, b, pc, r0, rows, c0, cols);
}

/* One batch entry: A's element (0, 0) at pa, B's at pb, C at pc. A gemm
 * runs on the grid's tiles (in parallel when tiled). */
static void run_entry(job *j, const char *pa, const char *pb, char *pc) {
  const tf_blas_api *api = j->api;
  const void *a = operand_data(&j->a, pa, j->f64);
  const void *b = operand_data(&j->b, pb, j->f64);
  if (j->a.vector && j->b.vector) {
    if (j->f64) *(double *)pc = api->ddot(j->k, a, j->a.ld, b, j->b.ld);
    else *(float *)pc = api->sdot(j->k, a, j->a.ld, b, j->b.ld);
  } else if (j->b.vector) {
    /* c (m) = A b: A is m x k row-major, or the transpose of a k x m one */
    int rows = j->a.trans == NO_TRANS ? j->m : j->k;
    int cols = j->a.trans == NO_TRANS ? j->k : j->m;
    if (j->f64)
      api->dgemv(ROW_MAJOR, j->a.trans, rows, cols, 1.0, a, j->a.ld, b,
                 j->b.ld, 0.0, (double *)pc, 1);
    else
      api->sgemv(ROW_MAJOR, j->a.trans, rows, cols, 1.0f, a, j->a.ld, b,
                 j->b.ld, 0.0f, (float *)pc, 1);
  } else if (j->a.vector) {
    /* c (n) = B^T a: B is k x n row-major (read transposed), or the
     * transpose of an n x k one (read as it lies) */
    int trans = j->b.trans == NO_TRANS ? TRANS : NO_TRANS;
    int rows = j->b.trans == NO_TRANS ? j->k : j->n;
    int cols = j->b.trans == NO_TRANS ? j->n : j->k;
    if (j->f64)
      api->dgemv(ROW_MAJOR, trans, rows, cols, 1.0, b, j->b.ld, a, j->a.ld,
                 0.0, (double *)pc, 1);
    else
      api->sgemv(ROW_MAJOR, trans, rows, cols, 1.0f, b, j->b.ld, a, j->a.ld,
                 0.0f, (float *)pc, 1);
  } else {
    tile_grid g = grid_of(j->m, j->n, j->k);
    int64_t tiles = (int64_t)g.bm * g.bn;
    if (tiles == 1) {
      run_tile(j, a, b, pc, 0, j->m, 0, j->n);
    } else {
      TF_PRAGMA(omp parallel for schedule(dynamic) num_threads(tf_team_size(true)))
      for (int64_t t = 0; t < tiles; t++) run_grid_tile(j, &g, t, a, b, pc);
    }
  }
}

static tf_status check_int(const char *what, int64_t v) {
  TF_CHECK(v <= INT32_MAX, TF_ERR_VALUE,
           "matmul: %s = %lld exceeds the 32-bit ints of the BLAS backend "
           "(at most %d); use the cpu backend for this product",
           what, (long long)v, INT32_MAX);
  return TF_OK;
}

/* Scratch for the operands that must be copied: one allocation per call. */
static tf_status alloc_scratch(operand *a, operand *b, size_t elsize,
                               void **block) {
  int64_t na = 0, nb = 0, total;
  if ((a->copy && !tf_mul_ok(a->rows, a->cols, &na)) ||
      (b->copy && !tf_mul_ok(b->rows, b->cols, &nb)) ||
      !tf_add_ok(na, nb, &total) || !tf_mul_ok(total, (int64_t)elsize, &total))
    return tf_fail(TF_ERR_MEMORY, "matmul: the BLAS backend's scratch copy "
                   "would exceed the address space");
  *block = NULL;
  if (total == 0) return TF_OK;
  *block = malloc((size_t)total);
  TF_CHECK(*block, TF_ERR_MEMORY,
           "matmul: out of memory for the BLAS backend's scratch copy "
           "(%lld bytes)", (long long)total);
  a->scratch = *block;
  b->scratch = (char *)*block + na * (int64_t)elsize;
  return TF_OK;
}

tf_status tf_blas_matmul(const tf_matmul_plan *p, const tf_tensor *a,
                         const tf_tensor *b, tf_tensor *out) {
  const tf_blas_api *api = tf_blas_api_get();
  TF_CHECK(api, TF_ERR_DEVICE, "matmul: the BLAS backend is not available (%s)",
           tf_blas_status());
  TF_CHECK(tf_is_float(a->dtype) && b->dtype == a->dtype && out->dtype == a->dtype,
           TF_ERR_DTYPE, "matmul: the BLAS backend computes float32 and "
           "float64 only, got %s @ %s into %s", tf_dtype_name(a->dtype),
           tf_dtype_name(b->dtype), tf_dtype_name(out->dtype));
  int64_t nbatch = tf_shape_numel(p->batch_ndim, p->batch);
  int64_t numel = tf_shape_numel(out->ndim, out->shape);
  int64_t want = 0, dense[TF_MAX_DIMS];
  tf_contiguous_strides(out->ndim, out->shape, dense);
  /* The entry point makes out; a mismatch is a dispatch bug, caught here
   * before BLAS would write past it. */
  TF_CHECK(tf_mul_ok(nbatch, p->m, &want) && tf_mul_ok(want, p->n, &want) &&
               want == numel && out->offset == 0 &&
               (out->ndim == 0 || !memcmp(dense, out->strides,
                                          sizeof(int64_t) * (size_t)out->ndim)),
           TF_ERR_INTERNAL, "matmul: the BLAS kernel got an output of %lld "
           "elements (or not contiguous) for a plan of %lld",
           (long long)numel, (long long)want);
  size_t elsize = tf_dtype_size(a->dtype);
  if (numel == 0) return TF_OK;
  if (p->k == 0) { /* empty sums: BLAS might leave C alone */
    memset(tf_ptr(out), 0, (size_t)numel * elsize);
    return TF_OK;
  }

  int64_t m = p->m, a_rs = p->a_rs, entries = nbatch;
  if (nbatch > 1 && fold_batch(p, &m, &a_rs)) entries = 1;
  TF_TRY(check_int("m", m));
  TF_TRY(check_int("n", p->n));
  TF_TRY(check_int("k", p->k));

  job j = {.api = api, .f64 = a->dtype == TF_FLOAT64, .m = (int)m,
           .n = (int)p->n, .k = (int)p->k};
  /* A row of A and a column of B go to BLAS as vectors (dot and gemv). */
  plan_operand(&j.a, m == 1 ? p->k : m, m == 1 ? 1 : p->k,
               m == 1 ? p->a_cs : a_rs, m == 1 ? 0 : p->a_cs, m == 1);
  plan_operand(&j.b, p->k, p->n, p->b_rs, p->b_cs, p->n == 1);
  void *scratch = NULL;
  TF_TRY(alloc_scratch(&j.a, &j.b, elsize, &scratch));

  tf_blas_enter(); /* a fork waits for this call (openblas.h) */
  tf_blas_sync_threads(api);
  const char *a_data = a->storage->data, *b_data = b->storage->data;
  char *c = tf_ptr(out);
  int64_t c_step = m * p->n * (int64_t)elsize;
  for (int64_t e = 0; e < entries; e++) {
    /* This entry's offsets, from its batch index (as cpu/matmul.c). */
    int64_t a_off = a->offset, b_off = b->offset, rest = e;
    for (int d = p->batch_ndim - 1; d >= 0 && entries > 1; d--) {
      int64_t idx = rest % p->batch[d];
      rest /= p->batch[d];
      a_off += idx * p->a_batch_strides[d];
      b_off += idx * p->b_batch_strides[d];
    }
    run_entry(&j, a_data + a_off * (int64_t)elsize,
              b_data + b_off * (int64_t)elsize, c + e * c_step);
  }
  tf_blas_leave();
  free(scratch);
  return TF_OK;
}
