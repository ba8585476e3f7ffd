/* backend.c: the BLAS backend's table. It runs on host memory, so every slot
 * it leaves empty falls back to the cpu kernels (TF_KERNEL): it fills only
 * the matrix products of float32 and float64, which OpenBLAS computes. */
#include "../backend.h"

static const tf_kernels blas_kernels = {
    .matmul = {[TF_FLOAT32] = tf_blas_matmul, [TF_FLOAT64] = tf_blas_matmul},
};

static bool blas_available(const char **why) {
  bool ok = tf_blas_loaded();
  if (!ok) *why = tf_blas_status();
  return ok;
}

const tf_backend tf_blas_backend = {"blas", TF_CPU, true, &tf_host_allocator,
                                    &blas_kernels, blas_available, NULL};
