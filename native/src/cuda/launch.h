/* launch.h: what every kernel file of libtinyfin_cuda.so shares: the
 * runtime (CUDA's, or the host emulation of it under TFC_EMULATE), the
 * launch macro, the grid size and the error report of device_api.h.
 *
 * Kernels are grid-stride loops (any grid covers any n), so the emulation
 * can run them with a small grid, and they never synchronize inside. */
#ifndef TF_CUDA_LAUNCH_H
#define TF_CUDA_LAUNCH_H

#include <stdint.h>
#include <stdio.h>

#ifdef TFC_EMULATE
#include "emulated_runtime.h"
#define TFC_LAUNCH(kernel, grid, block, ...) TFC_EMULATED_LAUNCH(kernel, grid, block, __VA_ARGS__)
#else
#include <cuda_runtime.h>
#define TFC_LAUNCH(kernel, grid, block, ...) kernel<<<(grid), (block)>>>(__VA_ARGS__)
#endif

/* the i of a grid-stride loop over n items */
#define TFC_FOR_EACH(i, n)                                              \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

static const int kBlock = 256;

/* A grid of at most 4096 blocks: enough to fill an H200's 132 SMs many
 * times over; the grid-stride loop covers the rest. */
static inline unsigned grid_for(int64_t n) {
  int64_t blocks = (n + kBlock - 1) / kBlock;
  return (unsigned)(blocks < 1 ? 1 : blocks > 4096 ? 4096 : blocks);
}

/* err as device_api.h's return value, with what failed in why. */
static inline int fail(cudaError_t err, const char *what, char *why, size_t why_len) {
  if (err != cudaSuccess && why && why_len)
    snprintf(why, why_len, "%s: %s (%s)", what, cudaGetErrorString(err),
             cudaGetErrorName(err));
  return (int)err;
}

/* The kernel for dtype code `dtype` (device_api.h): float32, float64,
 * int64, bool. */
template <template <typename> class Launch, typename... Args>
cudaError_t by_dtype(int dtype, Args... args) {
  switch (dtype) {
    case 0: return Launch<float>::run(args...);
    case 1: return Launch<double>::run(args...);
    case 2: return Launch<int64_t>::run(args...);
    default: return Launch<bool>::run(args...);
  }
}
/* ... and for a kernel that only moves bytes, by element size. */
template <template <typename> class Launch, typename... Args>
cudaError_t by_size(int elem_size, Args... args) {
  switch (elem_size) {
    case 1: return Launch<uint8_t>::run(args...);
    case 4: return Launch<uint32_t>::run(args...);
    default: return Launch<uint64_t>::run(args...);
  }
}

#endif /* TF_CUDA_LAUNCH_H */
