/* creation.cu: the CUDA kernels of the ops that make values rather than
 * transform them: arange, linspace, the random stream, tril/triu's band and
 * pad's reflect and replicate modes. Each computes element i from i alone
 * with the cpu kernel's formula (cpu/creation.c, cpu/random.c,
 * cpu/shape.c), so the results are bitwise the cpu's; the random stream is
 * cpu/random_scalar.h itself, compiled as device functions. */
#include <type_traits>

#include "device_api.h"
#include "launch.h"

#include "random_scalar.h"

namespace {

template <typename T>
__global__ void arange_kernel(T *dst, int64_t n, double fstart, double fstep, int64_t istart,
                              int64_t istep) {
  TFC_FOR_EACH(i, n) {
    if constexpr (std::is_same<T, int64_t>::value) /* wraps, as the cpu's */
      dst[i] = (T)((uint64_t)istart + (uint64_t)i * (uint64_t)istep);
    else
      dst[i] = (T)(fstart + (double)i * fstep);
  }
}

/* PyTorch's rule, as cpu/creation.c: the first half steps up from start,
 * the second down from end, so both ends are exact. */
template <typename T>
__global__ void linspace_kernel(T *dst, int64_t steps, double start, double end) {
  double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0.0;
  int64_t half = steps / 2;
  TFC_FOR_EACH(i, steps) {
    double v = steps == 1 ? start
               : i < half ? start + step * (double)i
                          : end - step * (double)(steps - 1 - i);
    dst[i] = (T)v;
  }
}

/* One thread per Philox block, which fills per_block consecutive elements
 * (cpu/random.c's fill: the same block for the same element). */
struct RandomParams { double p[2]; };
template <typename T>
__global__ void random_kernel(T *dst, int64_t n, int kind, int per_block, RandomParams prm,
                              uint64_t seed, uint64_t counter) {
  int64_t blocks = (n + per_block - 1) / per_block;
  TFC_FOR_EACH(b, blocks) {
    uint32_t w[4];
    tr_philox(seed, counter + (uint64_t)b, w);
    for (int s = 0; s < per_block && b * per_block + s < n; s++) {
      T v;
      if (kind == TF_RANDOM_INT) {
        v = (T)tr_randint(w, prm.p);
      } else if constexpr (std::is_same<T, float>::value) {
        v = kind == TF_RANDOM_UNIFORM ? tr_rand_f32(w, s, prm.p) : (float)tr_randn(w, s, prm.p);
      } else if constexpr (std::is_same<T, double>::value) {
        v = kind == TF_RANDOM_UNIFORM ? tr_rand_f64(w, s, prm.p) : tr_randn(w, s, prm.p);
      } else {
        v = 0; /* int64 draws only integers (the entry point) */
      }
      dst[b * per_block + s] = v;
    }
  }
}

/* Zero the elements of a contiguous (..., rows, cols) tensor outside the
 * band: below diagonal k for triu, above it for tril (k clamped by the
 * caller). All-zero bytes are 0, 0.0 and false in every dtype. */
template <typename T>
__global__ void tril_kernel(T *dst, int64_t numel, int64_t rows, int64_t cols, int64_t k,
                            bool upper) {
  TFC_FOR_EACH(i, numel) {
    int64_t col = i % cols, row = (i / cols) % rows;
    if (upper ? col < row + k : col > row + k) dst[i] = 0;
  }
}

/* pad: element i of the contiguous output reads the source element its
 * coordinates reflect or replicate to (cpu/shape.c's maps). */
struct PadGeometry {
  int ndim;
  int64_t out_shape[TFC_MAX_DIMS], src_shape[TFC_MAX_DIMS], src_strides[TFC_MAX_DIMS],
      before[TFC_MAX_DIMS];
};
template <typename T>
__global__ void pad_kernel(T *dst, const T *src, PadGeometry g, bool reflect, int64_t n) {
  TFC_FOR_EACH(i, n) {
    int64_t rest = i, off = 0;
    for (int d = g.ndim - 1; d >= 0; d--) {
      int64_t j = rest % g.out_shape[d] - g.before[d], size = g.src_shape[d];
      rest /= g.out_shape[d];
      if (reflect)
        j = j < 0 ? -j : j >= size ? 2 * (size - 1) - j : j;
      else
        j = j < 0 ? 0 : j >= size ? size - 1 : j;
      off += j * g.src_strides[d];
    }
    dst[i] = src[off];
  }
}

template <typename T>
struct Arange {
  static cudaError_t run(void *dst, int64_t n, double fs, double fst, int64_t is, int64_t ist) {
    TFC_LAUNCH(arange_kernel<T>, grid_for(n), kBlock, (T *)dst, n, fs, fst, is, ist);
    return cudaGetLastError();
  }
};
template <typename T>
struct Linspace {
  static cudaError_t run(void *dst, int64_t steps, double start, double end) {
    TFC_LAUNCH(linspace_kernel<T>, grid_for(steps), kBlock, (T *)dst, steps, start, end);
    return cudaGetLastError();
  }
};
template <typename T>
struct Random {
  static cudaError_t run(void *dst, int64_t n, int kind, int per_block, RandomParams prm,
                         uint64_t seed, uint64_t counter) {
    TFC_LAUNCH(random_kernel<T>, grid_for((n + per_block - 1) / per_block), kBlock, (T *)dst,
               n, kind, per_block, prm, seed, counter);
    return cudaGetLastError();
  }
};
template <typename T>
struct Tril {
  static cudaError_t run(void *dst, int64_t numel, int64_t rows, int64_t cols, int64_t k,
                         bool upper) {
    TFC_LAUNCH(tril_kernel<T>, grid_for(numel), kBlock, (T *)dst, numel, rows, cols, k, upper);
    return cudaGetLastError();
  }
};
template <typename T>
struct Pad {
  static cudaError_t run(void *dst, const void *src, PadGeometry g, bool reflect, int64_t n) {
    TFC_LAUNCH(pad_kernel<T>, grid_for(n), kBlock, (T *)dst, (const T *)src, g, reflect, n);
    return cudaGetLastError();
  }
};

}  // namespace

extern "C" {

int tfc_arange(int dtype, void *dst, int64_t n, double fstart, double fstep, int64_t istart,
               int64_t istep, char *why, size_t why_len) {
  if (n == 0) return 0;
  return fail(by_dtype<Arange>(dtype, dst, n, fstart, fstep, istart, istep), "arange kernel",
              why, why_len);
}

int tfc_linspace(int dtype, void *dst, int64_t steps, double start, double end, char *why,
                 size_t why_len) {
  if (steps == 0) return 0;
  return fail(by_dtype<Linspace>(dtype, dst, steps, start, end), "linspace kernel", why,
              why_len);
}

int tfc_random(int kind, int dtype, void *dst, int64_t n, const double *params, uint64_t seed,
               uint64_t counter, char *why, size_t why_len) {
  if (n == 0) return 0;
  RandomParams prm = {{params[0], params[1]}};
  return fail(by_dtype<Random>(dtype, dst, n, kind, tr_per_block(kind, dtype == 0), prm, seed,
                               counter),
              "random kernel", why, why_len);
}

int tfc_tril(int elem_size, void *dst, int64_t numel, int64_t rows, int64_t cols, int64_t k,
             int upper, char *why, size_t why_len) {
  if (numel == 0) return 0;
  return fail(by_size<Tril>(elem_size, dst, numel, rows, cols, k, (bool)upper), "tril kernel",
              why, why_len);
}

int tfc_pad(int elem_size, void *dst, const void *src, int ndim, const int64_t *out_shape,
            const int64_t *src_shape, const int64_t *src_strides, const int64_t *before,
            int reflect, char *why, size_t why_len) {
  PadGeometry g = {};
  g.ndim = ndim;
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    g.out_shape[d] = out_shape[d], g.src_shape[d] = src_shape[d];
    g.src_strides[d] = src_strides[d], g.before[d] = before[d];
    n *= out_shape[d];
  }
  if (n == 0) return 0;
  return fail(by_size<Pad>(elem_size, dst, src, g, (bool)reflect, n), "pad kernel", why,
              why_len);
}

}  // extern "C"
