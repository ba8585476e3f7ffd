/* pool.cu: max and average pooling on the device, forward and backward,
 * with cpu/pool.c's arithmetic, so bitwise the cpu's.
 *
 * Forward: one thread per output element, reading its window in row-major
 * order (max: the first maximum, a NaN wins and a later NaN replaces it;
 * average: a double sum divided once).
 * Backward: windows overlap when the stride is below the kernel, so two
 * outputs may add into one input element. Without atomics: one thread per
 * input element adds what reaches it from the outputs whose windows read
 * it (the inverse tables backend.c built), in row-major output order, the
 * order in which the cpu adds into that element, from zero. A max-pool
 * index that lies outside its own window (indices from elsewhere than the
 * forward) takes the cpu's algorithm instead, one thread per plane. */
#include "device_api.h"
#include "launch.h"

namespace {

template <typename T>
__global__ void pool_forward(tfc_pool_plan p, const T *x, T *y, int64_t *ind) {
  const int64_t n_out = p.out_h * p.out_w, W = p.in_w;
  TFC_FOR_EACH(i, p.planes * n_out) {
    const int64_t pl = i / n_out, oh = i % n_out / p.out_w, ow = i % p.out_w;
    const T *xp = x + pl * p.in_h * W;
    const int64_t hs = p.h_start[oh], hc = p.h_count[oh];
    const int64_t ws = p.w_start[ow], wc = p.w_count[ow];
    if (p.max) {
      T best = (T)-INFINITY;
      int64_t at = hs * W + ws;
      for (int64_t a = 0; a < hc; a++)
        for (int64_t b = 0; b < wc; b++) {
          const int64_t k = (hs + a * p.h_step) * W + ws + b * p.w_step;
          const T v = xp[k];
          if (v > best || v != v) best = v, at = k;
        }
      y[i] = best;
      ind[i] = at;
    } else if (hc <= 0 || wc <= 0) {
      y[i] = 0;
    } else {
      double sum = 0;
      for (int64_t a = 0; a < hc; a++)
        for (int64_t b = 0; b < wc; b++) sum += (double)xp[(hs + a) * W + ws + b];
      const double div =
          p.has_divisor ? (double)p.divisor : (double)p.h_div[oh] * (double)p.w_div[ow];
      y[i] = (T)(sum / div);
    }
  }
}

/* status[0] = the first output position (all planes, row-major) whose
 * index lies outside its plane (status[0] starts at UINT64_MAX); status[1]
 * = 1 when one lies in its plane but not in its window. */
__global__ void check_indices(tfc_pool_plan p, const int64_t *ind, unsigned long long *status) {
  const int64_t n_out = p.out_h * p.out_w, n_in = p.in_h * p.in_w, W = p.in_w;
  TFC_FOR_EACH(i, p.planes * n_out) {
    const int64_t oh = i % n_out / p.out_w, ow = i % p.out_w, at = ind[i];
    if (at < 0 || at >= n_in) {
      atomicMin(&status[0], (unsigned long long)i);
      continue;
    }
    const int64_t dh = at / W - p.h_start[oh], dw = at % W - p.w_start[ow];
    if (dh < 0 || dh % p.h_step || dh / p.h_step >= p.h_count[oh] || dw < 0 ||
        dw % p.w_step || dw / p.w_step >= p.w_count[ow])
      atomicMax(&status[1], 1ull);
  }
}

/* ACC: the accumulator (T for max, double for average, as the cpu's). */
template <typename T, typename ACC>
__global__ void pool_backward_by_input(tfc_pool_plan p, const T *g, const int64_t *ind, T *gi) {
  const int64_t n_out = p.out_h * p.out_w, n_in = p.in_h * p.in_w;
  TFC_FOR_EACH(j, p.planes * n_in) {
    const int64_t pl = j / n_in, k = j % n_in, ih = k / p.in_w, iw = k % p.in_w;
    const T *gp = g + pl * n_out;
    ACC acc = 0;
    for (int64_t r = p.row_at[ih]; r < p.row_at[ih + 1]; r++) {
      const int64_t oh = p.rows_of[r];
      for (int64_t c = p.col_at[iw]; c < p.col_at[iw + 1]; c++) {
        const int64_t ow = p.cols_of[c], o = oh * p.out_w + ow;
        if (p.max) {
          if (ind[pl * n_out + o] == k) acc += gp[o];
        } else {
          const double div =
              p.has_divisor ? (double)p.divisor : (double)p.h_div[oh] * (double)p.w_div[ow];
          acc += (ACC)((double)gp[o] / div);
        }
      }
    }
    gi[j] = (T)acc;
  }
}

/* Max pooling's adjoint for any in-plane indices: the cpu's loop, one
 * thread per plane. */
template <typename T>
__global__ void max_backward_by_plane(tfc_pool_plan p, const T *g, const int64_t *ind, T *gi) {
  const int64_t n_out = p.out_h * p.out_w, n_in = p.in_h * p.in_w;
  TFC_FOR_EACH(pl, p.planes) {
    T *gp = gi + pl * n_in;
    for (int64_t k = 0; k < n_in; k++) gp[k] = 0;
    for (int64_t o = 0; o < n_out; o++) gp[ind[pl * n_out + o]] += g[pl * n_out + o];
  }
}

template <typename T>
cudaError_t forward(const tfc_pool_plan &p, const void *x, void *y, int64_t *ind) {
  TFC_LAUNCH(pool_forward<T>, grid_for(p.planes * p.out_h * p.out_w), kBlock, p, (const T *)x,
             (T *)y, ind);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const tfc_pool_plan &p, const void *g, const int64_t *ind, void *gi,
                     bool by_plane) {
  if (by_plane)
    TFC_LAUNCH(max_backward_by_plane<T>, grid_for(p.planes), kBlock, p, (const T *)g, ind,
               (T *)gi);
  else if (p.max)
    TFC_LAUNCH((pool_backward_by_input<T, T>), grid_for(p.planes * p.in_h * p.in_w), kBlock, p,
               (const T *)g, ind, (T *)gi);
  else
    TFC_LAUNCH((pool_backward_by_input<T, double>), grid_for(p.planes * p.in_h * p.in_w),
               kBlock, p, (const T *)g, ind, (T *)gi);
  return cudaGetLastError();
}

}  // namespace

extern "C" {

int tfc_pool(int dtype, const tfc_pool_plan *p, const void *x, void *y, int64_t *indices,
             char *why, size_t why_len) {
  if (p->planes * p->out_h * p->out_w == 0) return 0;
  cudaError_t err = dtype == 0 ? forward<float>(*p, x, y, indices)
                               : forward<double>(*p, x, y, indices);
  return fail(err, "pooling kernel", why, why_len);
}

int tfc_pool_check_indices(const tfc_pool_plan *p, const int64_t *indices, uint64_t *status,
                           char *why, size_t why_len) {
  const unsigned long long start[2] = {~0ull, 0};
  cudaError_t err = cudaMemcpy(status, start, sizeof start, cudaMemcpyHostToDevice);
  if (err == cudaSuccess && p->planes * p->out_h * p->out_w > 0) {
    TFC_LAUNCH(check_indices, grid_for(p->planes * p->out_h * p->out_w), kBlock, *p, indices,
               (unsigned long long *)status);
    err = cudaGetLastError();
  }
  return fail(err, "pooling index check", why, why_len);
}

int tfc_pool_backward(int dtype, const tfc_pool_plan *p, const void *grad,
                      const int64_t *indices, void *grad_input, int by_plane, char *why,
                      size_t why_len) {
  if (p->planes * p->in_h * p->in_w == 0) return 0;
  cudaError_t err = dtype == 0 ? backward<float>(*p, grad, indices, grad_input, by_plane)
                               : backward<double>(*p, grad, indices, grad_input, by_plane);
  return fail(err, "pooling backward kernel", why, why_len);
}

}  // extern "C"
