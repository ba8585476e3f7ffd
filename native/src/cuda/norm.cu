/* norm.cu: batch, group and layer normalization on the device, forward
 * and backward, with cpu/norm.c's method: each unit's elements in blocks
 * of 4096, a block's mean and sum of squared deviations in two passes in
 * double, the blocks merged in block order with Chan's formula; the
 * backward's sums per unit in the same blocks; every element computed in
 * double by the cpu's formula for its case and rounded once. Within a
 * block the sums run in element order (the cpu's in eight vector lanes),
 * so results are the cpu's up to the last bits of a double sum; every run
 * gives the same bits (fixed order, no atomics). */
#include "device_api.h"
#include "launch.h"

namespace {

enum { BLK = 4096 }; /* cpu/norm.c's block */

/* The unit view of the geometry (cpu/norm.c's walk): units, each of len
 * elements; per channel (batch norm), unit c's element i is (i / s, c,
 * i % s), else unit (n, group) is len consecutive elements. */
struct Walk {
  tfc_norm_geometry g;
  int64_t units, len, nblk, cg;
};

Walk walk_of(const tfc_norm_geometry &g) {
  Walk w;
  w.g = g;
  w.cg = g.c / g.groups;
  w.units = g.per_channel ? g.c : g.n * g.groups;
  w.len = g.per_channel ? g.n * g.s : w.cg * g.s;
  w.nblk = (w.len + BLK - 1) / BLK;
  return w;
}

__device__ int64_t offset_of(const Walk &w, int64_t u, int64_t i) {
  if (!w.g.per_channel) return u * w.len + i;
  return i / w.g.s * w.g.c * w.g.s + u * w.g.s + i % w.g.s;
}
__device__ int64_t channel_of(const Walk &w, int64_t u, int64_t i) {
  return w.g.per_channel ? u : u % w.g.groups * w.cg + i / w.g.s;
}
/* element e of x (n, c, s) as its unit */
__device__ int64_t unit_of(const Walk &w, int64_t e) {
  const int64_t c = e / w.g.s % w.g.c;
  return w.g.per_channel ? c : e / (w.g.c * w.g.s) * w.g.groups + c / w.cg;
}

/* part[3 it ..]: count, mean and M2 of block it = u nblk + b; the
 * deviations' sum sd corrects the mean's rounding, as on the cpu. */
template <typename T>
__global__ void block_stats(Walk w, const T *x, double *part) {
  TFC_FOR_EACH(it, w.units * w.nblk) {
    const int64_t u = it / w.nblk, i0 = it % w.nblk * BLK,
                  i1 = i0 + BLK < w.len ? i0 + BLK : w.len;
    double s = 0;
    for (int64_t i = i0; i < i1; i++) s += (double)x[offset_of(w, u, i)];
    const double cnt = (double)(i1 - i0), m = s / cnt;
    double sd = 0, sq = 0;
    for (int64_t i = i0; i < i1; i++) {
      const double d = (double)x[offset_of(w, u, i)] - m;
      sd += d;
      sq += d * d;
    }
    part[3 * it] = cnt;
    part[3 * it + 1] = m + sd / cnt;
    part[3 * it + 2] = sq - sd * sd / cnt;
  }
}

/* mean and rstd per unit (Chan's merge in block order, or the running
 * statistics), and the running statistics' update (unbiased variance). */
template <typename T>
__global__ void unit_stats(Walk w, const double *part, double eps, bool batch_stats,
                           double momentum, T *rm, int64_t rm_s, T *rv, int64_t rv_s,
                           double *mean, double *rstd) {
  TFC_FOR_EACH(u, w.units) {
    if (!batch_stats) {
      mean[u] = (double)rm[u * rm_s];
      rstd[u] = 1.0 / sqrt((double)rv[u * rv_s] + eps);
      continue;
    }
    double n = 0, m = 0, m2 = 0;
    for (int64_t b = 0; b < w.nblk; b++) {
      const double *q = part + 3 * (u * w.nblk + b);
      const double nb = q[0], tot = n + nb, delta = q[1] - m;
      m += delta * (nb / tot);
      m2 += q[2] + delta * delta * (n * nb / tot);
      n = tot;
    }
    const double var = n > 0 ? (m2 > 0 ? m2 / n : 0) : NAN;
    mean[u] = n > 0 ? m : NAN;
    rstd[u] = 1.0 / sqrt(var + eps);
    if (w.len > 0) {
      const double len = (double)w.len;
      if (rm) rm[u * rm_s] = (T)((1 - momentum) * (double)rm[u * rm_s] + momentum * mean[u]);
      if (rv)
        rv[u * rv_s] =
            (T)((1 - momentum) * (double)rv[u * rv_s] + momentum * var * len / (len - 1));
    }
  }
}

/* y = (x - mean) rstd weight + bias, each case by the cpu's expression. */
template <typename T>
__global__ void normalize(Walk w, const T *x, const T *wt, const T *bs, const double *mean,
                          const double *rstd, T *y) {
  const tfc_norm_geometry &g = w.g;
  TFC_FOR_EACH(e, g.n * g.c * g.s) {
    const int64_t u = unit_of(w, e), c = e / g.s % g.c;
    const double m = mean[u], r = rstd[u], d = (double)x[e] - m;
    double v;
    if (!g.per_channel && g.s == 1)  /* cpu: affine_vec */
      v = wt && bs ? d * r * (double)wt[c] + (double)bs[c]
          : wt     ? d * r * (double)wt[c]
          : bs     ? d * r + (double)bs[c]
                   : d * r;
    else  /* cpu: affine, the weight folded into the scale */
      v = d * (wt ? r * (double)wt[c] : r) + (bs ? (double)bs[c] : 0);
    y[e] = (T)v;
  }
}

/* part[2 it ..]: block it's sums of g w' and g w' (x - m), w' the weight
 * in group mode (1 per channel, where it is a constant). */
template <typename T>
__global__ void block_sums(Walk w, const T *gr, const T *x, const T *wt, const double *mean,
                           double *part) {
  TFC_FOR_EACH(it, w.units * w.nblk) {
    const int64_t u = it / w.nblk, i0 = it % w.nblk * BLK,
                  i1 = i0 + BLK < w.len ? i0 + BLK : w.len;
    double sa = 0, sb = 0;
    for (int64_t i = i0; i < i1; i++) {
      const int64_t off = offset_of(w, u, i);
      const double gv =
          (double)gr[off] * (wt && !w.g.per_channel ? (double)wt[channel_of(w, u, i)] : 1.0);
      sa += gv;
      sb += gv * ((double)x[off] - mean[u]);
    }
    part[2 * it] = sa;
    part[2 * it + 1] = sb;
  }
}

/* A[u], B[u] = the blocks' sums in order, B times rstd. */
__global__ void unit_sums(Walk w, const double *part, const double *rstd, double *A, double *B) {
  TFC_FOR_EACH(u, w.units) {
    double a = 0, b = 0;
    for (int64_t k = 0; k < w.nblk; k++) {
      a += part[2 * (u * w.nblk + k)];
      b += part[2 * (u * w.nblk + k) + 1];
    }
    A[u] = a;
    B[u] = b * rstd[u];
  }
}

/* dx = rstd (g w - A / n - xhat B / n) with statistics from x, rstd g w
 * with given ones, each case by the cpu's expression. */
template <typename T>
__global__ void input_grad(Walk w, const T *gr, const T *x, const T *wt, const double *mean,
                           const double *rstd, const double *A, const double *B,
                           bool batch_stats, T *dx) {
  const tfc_norm_geometry &g = w.g;
  const double n = (double)w.len;
  TFC_FOR_EACH(e, g.n * g.c * g.s) {
    const int64_t u = unit_of(w, e), c = e / g.s % g.c;
    const double m = mean[u], r = rstd[u], ma = batch_stats ? A[u] / n : 0,
                 mb = batch_stats ? B[u] / n : 0, gv = (double)gr[e], d = (double)x[e] - m;
    double al, be, ga;
    if (g.per_channel) {
      const double wr = (wt ? (double)wt[c] : 1.0) * r;
      al = wr, be = wr * ma, ga = wr * r * mb;
    } else if (g.s == 1 && wt) { /* cpu: dx_vec */
      dx[e] = (T)(r * (gv * (double)wt[c] - ma - d * (r * mb)));
      continue;
    } else {
      al = r * (wt ? (double)wt[c] : 1.0), be = r * ma, ga = r * r * mb;
    }
    dx[e] = (T)(al * gv - be - d * ga);
  }
}

/* dweight[c], dbias[c]: per channel the unit sums B and A; otherwise
 * sum g xhat and sum g over c's elements, n in order. */
template <typename T>
__global__ void channel_grads(Walk w, const T *gr, const T *x, const double *mean,
                              const double *rstd, const double *A, const double *B, T *dw,
                              int64_t dw_s, T *db, int64_t db_s) {
  const tfc_norm_geometry &g = w.g;
  TFC_FOR_EACH(c, g.c) {
    double sw = 0, sb = 0;
    if (g.per_channel) {
      sw = B[c], sb = A[c];
    } else {
      for (int64_t n = 0; n < g.n; n++) {
        const int64_t u = n * g.groups + c / w.cg, base = (n * g.c + c) * g.s;
        double a1 = 0, a2 = 0;
        for (int64_t k = 0; k < g.s; k++) {
          const double gv = (double)gr[base + k], d = (double)x[base + k] - mean[u];
          if (g.s == 1 && g.groups == 1) { /* layer norm: the cpu's colsum */
            sb += gv;
            sw += gv * (d * rstd[u]);
          } else {
            a1 += gv;
            a2 += gv * d;
          }
        }
        if (!(g.s == 1 && g.groups == 1)) sb += a1, sw += a2 * rstd[u];
      }
    }
    if (dw) dw[c * dw_s] = (T)sw;
    if (db) db[c * db_s] = (T)sb;
  }
}

template <typename T>
cudaError_t forward(const Walk &w, const void *x, const void *wt, const void *bs, double eps,
                    bool batch_stats, double momentum, void *rm, int64_t rm_s, void *rv,
                    int64_t rv_s, double *mean, double *rstd, void *y, double *part) {
  if (batch_stats && w.units * w.nblk > 0)
    TFC_LAUNCH(block_stats<T>, grid_for(w.units * w.nblk), kBlock, w, (const T *)x, part);
  if (w.units > 0)
    TFC_LAUNCH(unit_stats<T>, grid_for(w.units), kBlock, w, part, eps, batch_stats, momentum,
               (T *)rm, rm_s, (T *)rv, rv_s, mean, rstd);
  const int64_t numel = w.g.n * w.g.c * w.g.s;
  if (numel > 0)
    TFC_LAUNCH(normalize<T>, grid_for(numel), kBlock, w, (const T *)x, (const T *)wt,
               (const T *)bs, (const double *)mean, (const double *)rstd, (T *)y);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const Walk &w, const void *gr, const void *x, const void *wt,
                     const double *mean, const double *rstd, bool batch_stats, void *dx,
                     void *dw, int64_t dw_s, void *db, int64_t db_s, double *scratch) {
  const int64_t items = w.units * w.nblk, numel = w.g.n * w.g.c * w.g.s;
  double *part = scratch, *A = scratch + 2 * items, *B = A + w.units;
  const bool sums = (dx && batch_stats) || (w.g.per_channel && (dw || db));
  /* without the sums nothing reads A and B (dx has given statistics, the
   * channel gradients are summed apart) */
  if (sums && w.units > 0) {
    if (items > 0)
      TFC_LAUNCH(block_sums<T>, grid_for(items), kBlock, w, (const T *)gr, (const T *)x,
                 (const T *)wt, mean, part);
    TFC_LAUNCH(unit_sums, grid_for(w.units), kBlock, w, (const double *)part, rstd, A, B);
  }
  if (dx && numel > 0)
    TFC_LAUNCH(input_grad<T>, grid_for(numel), kBlock, w, (const T *)gr, (const T *)x,
               (const T *)wt, mean, rstd, (const double *)A, (const double *)B, batch_stats,
               (T *)dx);
  if ((dw || db) && w.g.c > 0)
    TFC_LAUNCH(channel_grads<T>, grid_for(w.g.c), kBlock, w, (const T *)gr, (const T *)x, mean,
               rstd, (const double *)A, (const double *)B, (T *)dw, dw_s, (T *)db, db_s);
  return cudaGetLastError();
}

}  // namespace

extern "C" {

int64_t tfc_norm_scratch(const tfc_norm_geometry *g, int backward) {
  const Walk w = walk_of(*g);
  return backward ? 2 * w.units * w.nblk + 2 * w.units : 3 * w.units * w.nblk;
}

int tfc_norm(int dtype, const tfc_norm_geometry *g, const void *x, const void *weight,
             const void *bias, double eps, int batch_stats, double momentum, void *running_mean,
             int64_t rm_stride, void *running_var, int64_t rv_stride, double *mean,
             double *rstd, void *out, double *scratch, char *why, size_t why_len) {
  const Walk w = walk_of(*g);
  cudaError_t err =
      dtype == 0 ? forward<float>(w, x, weight, bias, eps, batch_stats, momentum, running_mean,
                                  rm_stride, running_var, rv_stride, mean, rstd, out, scratch)
                 : forward<double>(w, x, weight, bias, eps, batch_stats, momentum, running_mean,
                                   rm_stride, running_var, rv_stride, mean, rstd, out, scratch);
  return fail(err, "normalization kernel", why, why_len);
}

int tfc_norm_backward(int dtype, const tfc_norm_geometry *g, const void *dout, const void *x,
                      const void *weight, const double *mean, const double *rstd,
                      int batch_stats, void *dx, void *dweight, int64_t dw_stride, void *dbias,
                      int64_t db_stride, double *scratch, char *why, size_t why_len) {
  const Walk w = walk_of(*g);
  cudaError_t err =
      dtype == 0 ? backward<float>(w, dout, x, weight, mean, rstd, batch_stats, dx, dweight,
                                   dw_stride, dbias, db_stride, scratch)
                 : backward<double>(w, dout, x, weight, mean, rstd, batch_stats, dx, dweight,
                                    dw_stride, dbias, db_stride, scratch);
  return fail(err, "normalization backward kernel", why, why_len);
}

}  // extern "C"
