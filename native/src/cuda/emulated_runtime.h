/* emulated_runtime.h: the part of the CUDA runtime runtime.cu uses, on the
 * host, for the g++ build (TFC_EMULATE). Device memory is host memory
 * (the core still reaches it only through the library, as on a GPU, so
 * a kernel or copy the core forgets to route through it is caught as a
 * missing slot, not hidden); a launch runs every (block, thread) of the
 * grid in turn, which grid-stride kernels that never synchronize allow.
 * One emulated device. */
#ifndef TF_CUDA_EMULATED_RUNTIME_H
#define TF_CUDA_EMULATED_RUNTIME_H

#include <stdlib.h>
#include <string.h>

#include <atomic>

#define __global__
#define __device__
#define __host__

typedef enum {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
} cudaError_t;
typedef enum {
  cudaMemcpyHostToDevice,
  cudaMemcpyDeviceToHost,
  cudaMemcpyDeviceToDevice
} cudaMemcpyKind;

struct tfc_dim3 { unsigned x, y, z; };
static thread_local tfc_dim3 blockIdx, threadIdx, blockDim, gridDim;

/* TINYFIN_CUDA_EMULATED_LIMIT (bytes): the emulated device's memory, so
 * the out-of-memory path can be tested. */
static std::atomic<size_t> emulated_in_use;
static inline size_t emulated_limit() {
  const char *s = getenv("TINYFIN_CUDA_EMULATED_LIMIT");
  return s && *s ? (size_t)strtoull(s, NULL, 10) : (size_t)-1;
}

static inline const char *cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error"
         : e == cudaErrorMemoryAllocation ? "out of memory"
                                          : "invalid argument";
}
static inline const char *cudaGetErrorName(cudaError_t e) {
  return e == cudaSuccess ? "cudaSuccess"
         : e == cudaErrorMemoryAllocation ? "cudaErrorMemoryAllocation"
                                          : "cudaErrorInvalidValue";
}
static inline cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return cudaSuccess; }
static inline cudaError_t cudaGetLastError() { return cudaSuccess; }
static inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

/* The size sits in front of each block, so cudaFree knows what it returns. */
static inline cudaError_t cudaMalloc(void **p, size_t nbytes) {
  if (nbytes > emulated_limit() - emulated_in_use) return cudaErrorMemoryAllocation;
  size_t *block = (size_t *)aligned_alloc(256, 256 + (nbytes + 255) / 256 * 256);
  if (!block) return cudaErrorMemoryAllocation;
  block[0] = nbytes;
  emulated_in_use += nbytes;
  *p = (char *)block + 256;
  return cudaSuccess;
}
static inline cudaError_t cudaFree(void *p) {
  if (p) {
    size_t *block = (size_t *)((char *)p - 256);
    emulated_in_use -= block[0];
    free(block);
  }
  return cudaSuccess;
}
static inline cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind) {
  if (n) memmove(dst, src, n);
  return cudaSuccess;
}

/* Atomics: the emulation runs one thread at a time. */
static inline unsigned long long atomicMin(unsigned long long *a, unsigned long long v) {
  unsigned long long old = *a;
  if (v < old) *a = v;
  return old;
}
static inline unsigned long long atomicMax(unsigned long long *a, unsigned long long v) {
  unsigned long long old = *a;
  if (v > old) *a = v;
  return old;
}

/* Pinned host memory is host memory; an asynchronous copy is a copy. */
static inline cudaError_t cudaMallocHost(void **p, size_t nbytes) {
  *p = aligned_alloc(256, (nbytes + 255) / 256 * 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
static inline cudaError_t cudaFreeHost(void *p) {
  free(p);
  return cudaSuccess;
}
static inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind,
                                          int) {
  if (n) memmove(dst, src, n);
  return cudaSuccess;
}

#define TFC_EMULATED_LAUNCH(kernel, grid, block, ...)                     \
  do {                                                                    \
    gridDim = tfc_dim3{(unsigned)(grid), 1, 1};                           \
    blockDim = tfc_dim3{(unsigned)(block), 1, 1};                         \
    for (unsigned b_ = 0; b_ < gridDim.x; b_++)                           \
      for (unsigned t_ = 0; t_ < blockDim.x; t_++) {                      \
        blockIdx = tfc_dim3{b_, 0, 0};                                    \
        threadIdx = tfc_dim3{t_, 0, 0};                                   \
        kernel(__VA_ARGS__);                                              \
      }                                                                   \
  } while (0)

#endif /* TF_CUDA_EMULATED_RUNTIME_H */
