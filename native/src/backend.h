/* backend.h: what a backend supplies to the core: kernels, and nothing else.
 *
 * The entry points of tinyfin.h do the backend-independent work once for
 * every backend (argument checks, shapes, broadcasting, type promotion,
 * allocation of the result on the operands' device, out= and overlap
 * handling, version bumps, error messages) and then call the kernel of the
 * backend chosen for the call. A kernel receives operands that are already
 * checked, in the dtype it computes in, and an output allocated with the
 * result's shape; it only computes.
 */
#ifndef TF_BACKEND_H
#define TF_BACKEND_H

#include "internal.h"

/* ---- matmul ----------------------------------------------------------------
 * A product after NumPy's rules, as the entry point plans it: per batch entry
 * C (m x n, contiguous) = A (m x k) @ B (k x n), where A's element (i, p) is
 * at a->offset + batch offset + i * a_rs + p * a_cs (a 1-D operand has stride
 * 0 in its missing dim), and likewise B. Batch dims broadcast: a stride of 0
 * repeats an operand. out is a new contiguous tensor of out_shape, in a's
 * dtype (a and b share it). */
typedef struct {
  int64_t m, k, n;
  int batch_ndim;
  int64_t batch[TF_MAX_DIMS];
  int64_t a_batch_strides[TF_MAX_DIMS], b_batch_strides[TF_MAX_DIMS];
  int64_t a_rs, a_cs, b_rs, b_cs;
  int out_ndim;
  int64_t out_shape[TF_MAX_DIMS];
} tf_matmul_plan;

typedef tf_status (*tf_matmul_kernel)(const tf_matmul_plan *p,
                                      const tf_tensor *a, const tf_tensor *b,
                                      tf_tensor *out);

/* ---- the BLAS backend (blas/) ------------------------------------------------ */
/* Load OpenBLAS (the scipy-openblas32 build, symbols prefixed scipy_) from
 * path with dlopen. On failure nothing is loaded and the reason is both the
 * thread's last error and tf_blas_status(). Loading twice is harmless. */
tf_status tf_blas_load(const char *path);
/* Whether BLAS kernels can run, and if not, why ("not loaded", the dlopen or
 * dlsym error). */
bool tf_blas_loaded(void);
const char *tf_blas_status(void);
/* The matmul slot of the BLAS backend for float32 and float64: batched and
 * broadcast products, transposed and strided operands passed to BLAS with
 * their leading dimension or a transpose flag where the layout allows (one
 * of the two strides 1 and the other at least the extent), else copied to a
 * contiguous scratch; m == 1 or n == 1 through gemv, both through dot. */
tf_status tf_blas_matmul(const tf_matmul_plan *p, const tf_tensor *a,
                         const tf_tensor *b, tf_tensor *out);

#endif /* TF_BACKEND_H */
