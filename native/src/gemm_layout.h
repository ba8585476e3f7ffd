/* gemm_layout.h: how a BLAS-style gemm (OpenBLAS in blas/gemm.c, cuBLAS in
 * cuda/matmul.cu) can read a rows x cols operand whose element (i, j) is at
 * i * rs + j * cs: as it lies (row-major, *transposed false, *ld = rs) or
 * as the transpose of a row-major cols x rows matrix (*transposed true, *ld
 * = cs). The stride of a size-1 dim is never used (and may be anything,
 * even 0): one is chosen that makes the other dim's layout acceptable, since
 * BLAS insists on ld >= max(1, cols). False when it cannot (a stride 0 from
 * broadcasting, overlapping rows, both strides > 1, a stride past
 * INT32_MAX): the caller copies, or takes another kernel. */
#ifndef TF_GEMM_LAYOUT_H
#define TF_GEMM_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

static inline bool tf_gemm_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                                  bool *transposed, int *ld) {
  if (rows == 1) rs = cs == 1 ? cols : 1;
  if (cols == 1) cs = rs == 1 ? rows : 1;
  if (cs == 1 && rs >= cols && rs <= INT32_MAX) {
    *transposed = false;
    *ld = (int)rs;
    return true;
  }
  if (rs == 1 && cs >= rows && cs <= INT32_MAX) {
    *transposed = true;
    *ld = (int)cs;
    return true;
  }
  return false;
}

#endif /* TF_GEMM_LAYOUT_H */
