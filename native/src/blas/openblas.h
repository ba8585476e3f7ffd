/* openblas.h: what the BLAS backend's files share: the table of OpenBLAS
 * functions that tf_blas_load fills (openblas.c) and the kernels call
 * (gemm.c), and the CBLAS constants, declared here so that no BLAS header
 * is needed to build the core.
 *
 * The prototypes are those of the scipy-openblas32 build: CBLAS enums are
 * C enums (passed as int), and every size, leading dimension and increment
 * is a 32-bit int (blasint). */
#ifndef TF_BLAS_OPENBLAS_H
#define TF_BLAS_OPENBLAS_H

#include "../backend.h"

enum { TF_CBLAS_ROW_MAJOR = 101, TF_CBLAS_NO_TRANS = 111, TF_CBLAS_TRANS = 112 };

typedef struct {
  void (*sgemm)(int order, int trans_a, int trans_b, int m, int n, int k,
                float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);
  void (*dgemm)(int order, int trans_a, int trans_b, int m, int n, int k,
                double alpha, const double *a, int lda, const double *b,
                int ldb, double beta, double *c, int ldc);
  void (*sgemv)(int order, int trans, int m, int n, float alpha,
                const float *a, int lda, const float *x, int incx, float beta,
                float *y, int incy);
  void (*dgemv)(int order, int trans, int m, int n, double alpha,
                const double *a, int lda, const double *x, int incx,
                double beta, double *y, int incy);
  float (*sdot)(int n, const float *x, int incx, const float *y, int incy);
  double (*ddot)(int n, const double *x, int incx, const double *y, int incy);
  void (*set_num_threads)(int n);
  int (*get_num_threads)(void);
  char *(*get_config)(void);
} tf_blas_api;

/* The loaded table, or NULL while BLAS is not loaded. Once non-NULL it
 * never changes (the library is never unloaded), so a kernel may keep it
 * for the whole call. */
const tf_blas_api *tf_blas_api_get(void);

/* Sets OpenBLAS to one thread (gemm.c runs tiles on tinyfin's threads
 * instead) unless done already. Called before every BLAS call. */
void tf_blas_sync_threads(const tf_blas_api *api);

/* Around every stretch of OpenBLAS calls (tf_blas_sync_threads included):
 * a fork() waits for the calls in flight to return and holds new ones back
 * until it is done, since OpenBLAS's fork handler would otherwise stop its
 * thread pool under a running call (openblas.c). */
void tf_blas_enter(void);
void tf_blas_leave(void);

#endif /* TF_BLAS_OPENBLAS_H */
