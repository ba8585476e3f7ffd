/* index.cu: the CUDA kernels of gather, index_select, scatter_add and
 * advanced indexing (index_get, index_put_).
 *
 * The host side (cuda/backend.c) has already read the index values into
 * host memory and checked them there with the cpu's own check
 * (tf_index_snapshot), so a bad index fails at the call with the cpu's
 * IndexError and every offset these kernels get is in bounds: they only
 * move and add data.
 *
 * nonzero marks the nonzero elements once (a byte each: one snapshot, so a
 * write to the input between the count and the fill cannot make the fill
 * outrun its output), counts them per chunk, and the host turns the counts
 * into each chunk's first output row; then one thread per chunk writes its
 * coordinates in row-major order.
 *
 * scatter_add and index_put_ write without atomics, in the cpu kernel's
 * order: one thread per target element takes its contributions in the
 * index's row-major order (the host grouped them by target), adding them
 * (accumulate) or keeping the last, so results are bitwise the cpu's and
 * the same on every run. */
#include "device_api.h"
#include "launch.h"

namespace {

/* The element offset of row-major position i over shape, with strides. */
__device__ int64_t offset_of(int64_t i, const tfc_geometry &g) {
  int64_t off = 0;
  for (int d = g.ndim - 1; d >= 0; d--) {
    off += i % g.shape[d] * g.strides[d];
    i /= g.shape[d];
  }
  return off;
}

/* dst[i] = src[offset_of(i) + picked[j]], j = i (gather: one index value
 * per element) or i's coordinate in dim (index_select: one per position
 * along dim); g's stride of that dim is 0, the picked offset stands in. */
template <typename T>
__global__ void take_kernel(T *dst, const T *src, tfc_geometry g, int dim,
                            const int64_t *picked, int64_t n) {
  TFC_FOR_EACH(i, n) {
    int64_t j = i;
    if (dim >= 0) {
      for (int d = g.ndim - 1; d > dim; d--) j /= g.shape[d];
      j %= g.shape[dim];
    }
    dst[i] = src[offset_of(i, g) + picked[j]];
  }
}

template <typename T>
__device__ T add(T a, T b) {
  return a + b;
}
template <>
__device__ int64_t add(int64_t a, int64_t b) {  // wraps, as the cpu's
  return (int64_t)((uint64_t)a + (uint64_t)b);
}
template <>
__device__ bool add(bool a, bool b) {  // a sum of truth values is their or
  return a || b;
}

/* Thread (k, r): element r of the trailing block of group k's target,
 * dst[target[k] + rest_dst(r)], from the source elements of the group's
 * index positions order[start[k]] .. order[start[k+1] - 1] in that order,
 * src[pos_src(position) + rest_src(r)]: added to it (accumulate) or the
 * last of them written. A geometry of ndim 0 is one element at offset 0. */
template <typename T>
__global__ void put_kernel(T *dst, const T *src, tfc_geometry pos_src, tfc_geometry rest_dst,
                           tfc_geometry rest_src, int64_t rest, const int64_t *order,
                           const int64_t *start, const int64_t *target, int64_t groups,
                           bool accumulate) {
  TFC_FOR_EACH(i, groups * rest) {
    int64_t k = i / rest, r = i % rest;
    T *out = dst + target[k] + offset_of(r, rest_dst);
    T acc = *out;
    int64_t from = offset_of(r, rest_src);
    for (int64_t p = start[k]; p < start[k + 1]; p++) {
      T v = src[offset_of(order[p], pos_src) + from];
      acc = accumulate ? add(acc, v) : v;
    }
    *out = acc;
  }
}

/* mask[i] = element i (row-major over g) is nonzero; counts[c] = the
 * marks of chunk c. */
template <typename T>
__global__ void mark_nonzero(const T *src, tfc_geometry g, int64_t n, uint8_t *mask) {
  TFC_FOR_EACH(i, n) mask[i] = src[offset_of(i, g)] != (T)0;
}
__global__ void count_chunks(const uint8_t *mask, int64_t n, int64_t chunk, int64_t *counts) {
  TFC_FOR_EACH(c, (n + chunk - 1) / chunk) {
    int64_t k = 0;
    for (int64_t i = c * chunk; i < n && i < (c + 1) * chunk; i++) k += mask[i];
    counts[c] = k;
  }
}

/* Chunk c's marked elements as rows of out (g.ndim coordinates each) from
 * row start[c] on. */
__global__ void write_coordinates(const uint8_t *mask, tfc_geometry g, int64_t n, int64_t chunk,
                                  const int64_t *start, int64_t *out) {
  TFC_FOR_EACH(c, (n + chunk - 1) / chunk) {
    int64_t *row = out + start[c] * g.ndim;
    for (int64_t i = c * chunk; i < n && i < (c + 1) * chunk; i++) {
      if (!mask[i]) continue;
      for (int64_t d = g.ndim - 1, q = i; d >= 0; d--) {
        row[d] = q % g.shape[d];
        q /= g.shape[d];
      }
      row += g.ndim;
    }
  }
}

template <typename T>
struct Mark {
  static cudaError_t run(const void *src, tfc_geometry g, int64_t n, uint8_t *mask,
                         int64_t chunk, int64_t *counts) {
    TFC_LAUNCH(mark_nonzero<T>, grid_for(n), kBlock, (const T *)src, g, n, mask);
    TFC_LAUNCH(count_chunks, grid_for((n + chunk - 1) / chunk), kBlock, (const uint8_t *)mask, n,
               chunk, counts);
    return cudaGetLastError();
  }
};

template <typename T>
struct Take {
  static cudaError_t run(void *dst, const void *src, tfc_geometry g, int dim,
                         const int64_t *picked, int64_t n) {
    TFC_LAUNCH(take_kernel<T>, grid_for(n), kBlock, (T *)dst, (const T *)src, g, dim, picked,
               n);
    return cudaGetLastError();
  }
};
template <typename T>
struct Put {
  static cudaError_t run(void *dst, const void *src, tfc_geometry pos_src, tfc_geometry rest_dst,
                         tfc_geometry rest_src, int64_t rest, const int64_t *order,
                         const int64_t *start, const int64_t *target, int64_t groups,
                         bool accumulate) {
    TFC_LAUNCH(put_kernel<T>, grid_for(groups * rest), kBlock, (T *)dst, (const T *)src,
               pos_src, rest_dst, rest_src, rest, order, start, target, groups, accumulate);
    return cudaGetLastError();
  }
};

}  // namespace

extern "C" {

int tfc_take(int elem_size, void *dst, const void *src, const tfc_geometry *g, int dim,
             const int64_t *picked, int64_t n, char *why, size_t why_len) {
  if (n == 0) return 0;
  return fail(by_size<Take>(elem_size, dst, src, *g, dim, picked, n), "indexing kernel", why,
              why_len);
}

int tfc_nonzero_mark(int dtype, const void *src, const tfc_geometry *g, int64_t n,
                     uint8_t *mask, int64_t chunk, int64_t *counts, char *why, size_t why_len) {
  if (n == 0) return 0;
  return fail(by_dtype<Mark>(dtype, src, *g, n, mask, chunk, counts), "nonzero kernel", why,
              why_len);
}

int tfc_nonzero_write(const uint8_t *mask, const tfc_geometry *g, int64_t n, int64_t chunk,
                      const int64_t *start, int64_t *out, char *why, size_t why_len) {
  if (n == 0) return 0;
  TFC_LAUNCH(write_coordinates, grid_for((n + chunk - 1) / chunk), kBlock, mask, *g, n, chunk,
             start, out);
  return fail(cudaGetLastError(), "nonzero kernel", why, why_len);
}

int tfc_put(int dtype, void *dst, const void *src, const tfc_geometry *pos_src,
            const tfc_geometry *rest_dst, const tfc_geometry *rest_src, const int64_t *order,
            const int64_t *start, const int64_t *target, int64_t groups, int accumulate,
            char *why, size_t why_len) {
  int64_t rest = 1;
  for (int d = 0; d < rest_dst->ndim; d++) rest *= rest_dst->shape[d];
  if (groups == 0 || rest == 0) return 0;
  return fail(by_dtype<Put>(dtype, dst, src, *pos_src, *rest_dst, *rest_src, rest, order, start,
                            target, groups, (bool)accumulate),
              "indexing kernel", why, why_len);
}

}  // extern "C"
