/* conv.cu: the device steps of a convolution pass (cpu/conv.c's
 * tf_conv_passes runs the passes; their matrix products are the matmul
 * slot's, cuBLAS or the tiled kernel): unfolding the images (im2col),
 * folding columns back (col2im), the bias and the weight gradient's double
 * accumulator. One thread per element; col2im gathers, each input element
 * summing the taps that read it in tap order from zero, which is the
 * order in which the cpu's col2im adds into it, so no atomics. */
#include "device_api.h"
#include "launch.h"

namespace {

/* cols row (c, i, j) of image n at cols + (c taps + i kw + j) rs + n is,
 * column (p, q) at p wo + q: the input (n, c, p sh - ph + i dh, q sw - pw +
 * j dw), 0 outside. x: nb contiguous images (c_in, h, w). */
template <typename T>
__global__ void im2col(tfc_conv_geometry g, const T *x, T *cols, int64_t nb, int64_t rs,
                       int64_t is) {
  const int64_t L = g.ho * g.wo, taps = g.kh * g.kw;
  TFC_FOR_EACH(e, nb * g.c_in * taps * L) {
    const int64_t l = e % L, tap = e / L % taps, c = e / (L * taps) % g.c_in,
                  n = e / (L * taps * g.c_in);
    const int64_t h = l / g.wo * g.sh - g.ph + tap / g.kw * g.dh;
    const int64_t w = l % g.wo * g.sw - g.pw + tap % g.kw * g.dw;
    cols[(c * taps + tap) * rs + n * is + l] =
        h >= 0 && h < g.h && w >= 0 && w < g.w ? x[((n * g.c_in + c) * g.h + h) * g.w + w] : (T)0;
  }
}

/* The output coordinate whose tap at offset off (- padding + tap
 * dilation) reads input coordinate at with stride s, or -1. */
__device__ int64_t reader(int64_t at, int64_t off, int64_t s, int64_t n_out) {
  const int64_t d = at - off;
  if (d < 0 || d % s) return -1;
  return d / s < n_out ? d / s : -1;
}

/* gx (nb images) = the columns folded back: each input element sums the
 * taps that read it, in tap order. */
template <typename T>
__global__ void col2im(tfc_conv_geometry g, const T *cols, T *gx, int64_t nb, int64_t rs,
                       int64_t is) {
  const int64_t HW = g.h * g.w, taps = g.kh * g.kw;
  TFC_FOR_EACH(e, nb * g.c_in * HW) {
    const int64_t hw = e % HW, c = e / HW % g.c_in, n = e / (HW * g.c_in);
    const int64_t h = hw / g.w, w = hw % g.w;
    T acc = 0;
    for (int64_t i = 0; i < g.kh; i++) {
      const int64_t p = reader(h, i * g.dh - g.ph, g.sh, g.ho);
      if (p < 0) continue;
      for (int64_t j = 0; j < g.kw; j++) {
        const int64_t q = reader(w, j * g.dw - g.pw, g.sw, g.wo);
        if (q >= 0) acc += cols[(c * taps + i * g.kw + j) * rs + n * is + p * g.wo + q];
      }
    }
    gx[e] = acc;
  }
}

/* y (nb, c_out, L) += bias per channel. */
template <typename T>
__global__ void add_bias(tfc_conv_geometry g, T *y, const T *bias, int64_t nb) {
  const int64_t L = g.ho * g.wo;
  TFC_FOR_EACH(e, nb * g.c_out * L) y[e] += bias[e / L % g.c_out];
}

/* acc += prod, in double. */
template <typename T>
__global__ void accumulate(double *acc, const T *prod, int64_t n) {
  TFC_FOR_EACH(e, n) acc[e] += (double)prod[e];
}

template <typename T>
struct Steps {
  static cudaError_t unfold(const tfc_conv_geometry &g, const void *x, void *cols, int64_t nb,
                            int64_t rs, int64_t is) {
    TFC_LAUNCH(im2col<T>, grid_for(nb * g.c_in * g.kh * g.kw * g.ho * g.wo), kBlock, g,
               (const T *)x, (T *)cols, nb, rs, is);
    return cudaGetLastError();
  }
  static cudaError_t fold(const tfc_conv_geometry &g, const void *cols, void *gx, int64_t nb,
                          int64_t rs, int64_t is) {
    TFC_LAUNCH(col2im<T>, grid_for(nb * g.c_in * g.h * g.w), kBlock, g, (const T *)cols, (T *)gx,
               nb, rs, is);
    return cudaGetLastError();
  }
  static cudaError_t bias(const tfc_conv_geometry &g, void *y, const void *b, int64_t nb) {
    TFC_LAUNCH(add_bias<T>, grid_for(nb * g.c_out * g.ho * g.wo), kBlock, g, (T *)y,
               (const T *)b, nb);
    return cudaGetLastError();
  }
  static cudaError_t add(double *acc, const void *prod, int64_t n) {
    TFC_LAUNCH(accumulate<T>, grid_for(n), kBlock, acc, (const T *)prod, n);
    return cudaGetLastError();
  }
};

}  // namespace

extern "C" {

int tfc_im2col(int dtype, const tfc_conv_geometry *g, const void *x, void *cols, int64_t nb,
               int64_t rs, int64_t is, char *why, size_t why_len) {
  if (nb * g->c_in * g->kh * g->kw * g->ho * g->wo == 0) return 0;
  return fail(dtype == 0 ? Steps<float>::unfold(*g, x, cols, nb, rs, is)
                         : Steps<double>::unfold(*g, x, cols, nb, rs, is),
              "im2col kernel", why, why_len);
}

int tfc_col2im(int dtype, const tfc_conv_geometry *g, const void *cols, void *gx, int64_t nb,
               int64_t rs, int64_t is, char *why, size_t why_len) {
  if (nb * g->c_in * g->h * g->w == 0) return 0;
  return fail(dtype == 0 ? Steps<float>::fold(*g, cols, gx, nb, rs, is)
                         : Steps<double>::fold(*g, cols, gx, nb, rs, is),
              "col2im kernel", why, why_len);
}

int tfc_conv_bias(int dtype, const tfc_conv_geometry *g, void *y, const void *bias, int64_t nb,
                  char *why, size_t why_len) {
  if (nb * g->c_out * g->ho * g->wo == 0) return 0;
  return fail(dtype == 0 ? Steps<float>::bias(*g, y, bias, nb)
                         : Steps<double>::bias(*g, y, bias, nb),
              "convolution bias kernel", why, why_len);
}

int tfc_accumulate(int dtype, double *acc, const void *prod, int64_t n, char *why,
                   size_t why_len) {
  if (n == 0) return 0;
  return fail(dtype == 0 ? Steps<float>::add(acc, prod, n) : Steps<double>::add(acc, prod, n),
              "accumulation kernel", why, why_len);
}

}  // extern "C"
