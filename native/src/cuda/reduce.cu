/* reduce.cu: the reductions of tinyfin_ops.def (sum ... any) on the device,
 * with cpu/reduce.c's semantics: NaN wins max/min and the first NaN or the
 * first of equal extremes gives the index; int64 sums and products wrap;
 * var centres on the mean, logsumexp on the max (adding log1p of the tail),
 * norm scales by the power of two near max |x|.
 *
 * In a fixed order, with no atomics, so that two runs give the same bits:
 *  1. a pass kernel: one thread per (output, block of kBlockLen reduced
 *     elements in row-major order) reduces its block to a partial (sums in
 *     double, pairwise above leaves of kLeaf terms);
 *  2. a merge kernel: one thread per output combines its partials in block
 *     order (pairwise for sums);
 *  3. a finish kernel writes each output's value (and index) in its dtype.
 * The ops that need a statistic first (var: the mean, logsumexp: the max,
 * norm: max |x|) run steps 1-2 twice. Threads of neighbouring outputs take
 * the same block, so reductions over outer dims read along memory.
 * The core provides the scratch (tfc_reduce_scratch bytes) from its
 * caching allocator: nothing here allocates. */
#include <math.h>
#include <string.h>

#include "device_api.h"
#include "launch.h"

#include "fast_math.h" /* tf_exp_poly, as the cpu's float32 exp sums */

namespace {

const int64_t kBlockLen = 1024; /* reduced elements per pass thread */
const int kLeaf = 8;            /* terms summed in a row before pairing */

enum {
#define TF_REDUCE_OP(ENUM, name) REDUCE_##ENUM,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
  REDUCE_COUNT
};

/* What a pass computes (cpu/reduce.c's kinds): sums of x, (x - c)^2,
 * e^(x - c), e^(x - c) over x != c (EXPTAIL), x == c, (|x| 2^-e)^p, x != 0;
 * the product; extremes with their index (MAX, MIN) or without (VMAX,
 * VMIN, ABSMAX, ABSMIN); all; any. */
enum {
  K_SUM, K_SQDEV, K_EXPSUM, K_EXPTAIL, K_EQCOUNT, K_POWSUM, K_NONZERO,
  K_PROD, K_MAX, K_MIN, K_VMAX, K_VMIN, K_ABSMAX, K_ABSMIN, K_ALL, K_ANY
};

__host__ __device__ inline bool is_sum(int kind) { return kind <= K_NONZERO; }

/* The kept dims (one output each) and reduced dims of the input, with
 * neighbouring dims merged where memory allows (as cpu/reduce.c does). */
struct ReducePlan {
  int knd, rnd;
  int64_t kshape[TFC_MAX_DIMS], kstr[TFC_MAX_DIMS];
  int64_t rshape[TFC_MAX_DIMS], rstr[TFC_MAX_DIMS];
  int64_t M, N, nb; /* outputs, elements reduced into each, blocks each */
};

void add_dim(int *nd, int64_t *shape, int64_t *str, int64_t size, int64_t stride) {
  if (size == 1) return;
  if (*nd == 0 || str[*nd - 1] != stride * size) shape[(*nd)++] = 1;
  shape[*nd - 1] *= size;
  str[*nd - 1] = stride;
}

bool plan_of(int ndim, const int64_t *shape, const int64_t *strides, uint32_t mask,
             ReducePlan *p) {
  if (ndim < 0 || ndim > TFC_MAX_DIMS) return false;
  memset(p, 0, sizeof *p);
  p->M = p->N = 1;
  for (int d = 0; d < ndim; d++) {
    bool red = mask >> d & 1;
    add_dim(red ? &p->rnd : &p->knd, red ? p->rshape : p->kshape,
            red ? p->rstr : p->kstr, shape[d], strides[d]);
    *(red ? &p->N : &p->M) *= shape[d];
  }
  if (p->rnd == 0) { /* one element per output */
    p->rshape[0] = 1;
    p->rnd = 1;
  }
  p->nb = p->N == 0 ? 1 : (p->N + kBlockLen - 1) / kBlockLen;
  return true;
}

/* One output's value: f for floats, i for int64 and bool (and all/any),
 * at the position of max/min in the reduced elements. */
struct Part {
  double f;
  int64_t i, at;
};

/* Pairwise summation over a stream of terms: leaves of kLeaf terms summed
 * in a row, then equal-sized sums paired as in a binary counter, so the
 * error grows as log n. Depth 48 covers 2^48 leaves. */
struct Pairwise {
  double sum[48], leaf;
  int level[48], depth, in_leaf;
  __device__ void init() { depth = in_leaf = 0, leaf = 0; }
  __device__ void push(double v, int lvl) {
    while (depth > 0 && level[depth - 1] == lvl) v = sum[--depth] + v, lvl++;
    sum[depth] = v;
    level[depth++] = lvl;
  }
  __device__ void add(double x) {
    leaf += x;
    if (++in_leaf == kLeaf) push(leaf, 0), leaf = 0, in_leaf = 0;
  }
  __device__ double total() {
    double t = leaf;
    for (int k = depth - 1; k >= 0; k--) t = sum[k] + t;
    return t;
  }
};

/* NaN beats everything and the first NaN stays; otherwise strictly better
 * (ties keep the first occurrence). */
__device__ inline bool better_f(bool mx, double cand, double cur, bool have) {
  if (!have) return true;
  if (cur != cur) return false;
  if (cand != cand) return true;
  return mx ? cand > cur : cand < cur;
}

__device__ inline bool finite(double x) { return x - x == 0; }

/* |x| 2^-e <= 1 for the e of m = max |x|: (|x| 2^-e)^p cannot overflow. */
__device__ inline int norm_exponent(double m) {
  int e = 0;
  if (m > 0 && finite(m)) frexp(m, &e);
  return e;
}

/* A sum's term for x: the kind's transform, c the output's statistic. */
__device__ inline double term(int kind, double x, double c, double p, bool f32, double s1,
                              double s2) {
  switch (kind) {
    case K_SQDEV: return (x - c) * (x - c);
    case K_EXPSUM:
    case K_EXPTAIL: {
      double d = x - c, e;
      if (f32) {
        e = d != d ? d : tf_exp_poly(d);
      } else { /* TwoSum: e^(d + err) = e^d (1 + err) */
        double back = d - x, err = (x - (d - back)) + (-c - back);
        e = exp(d);
        e = finite(err) ? e + e * err : e;
      }
      return kind == K_EXPTAIL && d == 0 ? 0.0 : e;
    }
    case K_EQCOUNT: return x == c;
    case K_POWSUM: {
      double a = fabs(x) * s1 * s2;
      return p == 2 ? (x * s1 * s2) * (x * s1 * s2) : p == 1 ? a : pow(a, p);
    }
    case K_NONZERO: return x != 0;
    default: return x;
  }
}

/* Walks the reduced elements [start, start + n) of output o: the element
 * offset of each, in row-major order of the reduced dims (start -1: no
 * elements, where a reduced dim may be 0). */
struct Walk {
  int64_t idx[TFC_MAX_DIMS], off;
  __device__ Walk(const ReducePlan &p, int64_t o, int64_t start) {
    off = 0;
    if (start < 0) return;
    for (int d = p.knd - 1; d >= 0; d--) {
      off += (o % p.kshape[d]) * p.kstr[d];
      o /= p.kshape[d];
    }
    for (int d = p.rnd - 1; d >= 0; d--) {
      idx[d] = start % p.rshape[d];
      start /= p.rshape[d];
      off += idx[d] * p.rstr[d];
    }
  }
  __device__ void next(const ReducePlan &p) {
    int d = p.rnd - 1;
    off += p.rstr[d];
    while (++idx[d] == p.rshape[d] && d > 0) {
      off -= idx[d] * p.rstr[d];
      idx[d] = 0;
      d--;
      off += p.rstr[d];
    }
  }
};

/* Step 1, float data: partial (o, b) into slot b * M + o. */
template <typename T>
__global__ void pass_float(const T *x, ReducePlan p, int kind, const Part *center,
                           double param, Part *parts) {
  TFC_FOR_EACH(t, p.M * p.nb) {
    int64_t o = t % p.M, b = t / p.M, start = b * kBlockLen;
    int64_t n = p.N - start < kBlockLen ? p.N - start : kBlockLen;
    double c = center ? center[o].f : 0.0, s1 = 1, s2 = 1;
    if (kind == K_POWSUM) { /* 2^-e in two exact factors: one could overflow */
      int e = norm_exponent(c);
      s1 = ldexp(1.0, -e / 2);
      s2 = ldexp(1.0, -e - -e / 2);
    }
    bool f32 = sizeof(T) == 4, mx = kind == K_MAX || kind == K_VMAX || kind == K_ABSMAX;
    Part r = {kind == K_PROD ? 1.0 : is_sum(kind) ? 0.0 : mx ? -INFINITY : INFINITY,
              kind == K_ALL, -1};
    Pairwise acc;
    acc.init();
    bool nan = false;
    Walk w(p, o, n > 0 ? start : -1);
    for (int64_t k = 0; k < n; k++, w.next(p)) {
      double v = (double)x[w.off];
      if (is_sum(kind)) {
        acc.add(term(kind, v, c, param, f32, s1, s2));
      } else if (kind == K_PROD) {
        r.f *= v;
      } else if (kind == K_MAX || kind == K_MIN) {
        if (better_f(mx, v, r.f, r.at >= 0)) r.f = v, r.at = start + k;
      } else if (kind == K_ALL || kind == K_ANY) {
        r.i = kind == K_ALL ? r.i && v != 0 : r.i || v != 0;
      } else { /* VMAX, VMIN, ABSMAX, ABSMIN */
        double a = kind == K_ABSMAX || kind == K_ABSMIN ? fabs(v) : v;
        r.f = (mx ? a > r.f : a < r.f) ? a : r.f;
        nan |= a != a;
      }
    }
    if (is_sum(kind)) r.f = acc.total();
    if (nan) r.f = NAN;
    if (kind == K_ABSMAX && r.f < 0) r.f = 0.0; /* empty: max |x| is 0 */
    parts[b * p.M + o] = r;
  }
}

/* Step 1, int64 and bool data: sums and products wrap around. */
template <typename T>
__global__ void pass_int(const T *x, ReducePlan p, int kind, Part *parts) {
  TFC_FOR_EACH(t, p.M * p.nb) {
    int64_t o = t % p.M, b = t / p.M, start = b * kBlockLen;
    int64_t n = p.N - start < kBlockLen ? p.N - start : kBlockLen;
    bool mx = kind == K_MAX || kind == K_VMAX;
    Part r = {0.0, kind == K_PROD || kind == K_ALL, -1};
    Walk w(p, o, n > 0 ? start : -1);
    for (int64_t k = 0; k < n; k++, w.next(p)) {
      int64_t v = (int64_t)x[w.off];
      switch (kind) {
        case K_SUM: r.i = (int64_t)((uint64_t)r.i + (uint64_t)v); break;
        case K_PROD: r.i = (int64_t)((uint64_t)r.i * (uint64_t)v); break;
        case K_ALL: r.i = r.i && v; break;
        case K_ANY: r.i = r.i || v; break;
        default:
          if (r.at < 0 || (mx ? v > r.i : v < r.i)) r.i = v, r.at = start + k;
      }
    }
    parts[b * p.M + o] = r;
  }
}

/* Step 2: output o's nb partials in block order into out[o]; with
 * mean_of_n, the float result divided by it (var's centre). */
__global__ void merge_kernel(const Part *parts, int64_t M, int64_t nb, int kind, bool isint,
                             int64_t mean_of_n, Part *out) {
  TFC_FOR_EACH(o, M) {
    Part r = parts[o];
    bool mx = kind == K_MAX || kind == K_VMAX || kind == K_ABSMAX;
    if (!isint && is_sum(kind)) {
      Pairwise acc;
      acc.init();
      for (int64_t b = 0; b < nb; b++) acc.push(parts[b * M + o].f, 0);
      r.f = acc.total();
    } else {
      for (int64_t b = 1; b < nb; b++) {
        Part q = parts[b * M + o];
        switch (kind) {
          case K_SUM: r.i = (int64_t)((uint64_t)r.i + (uint64_t)q.i); break;
          case K_PROD:
            r.f *= q.f;
            r.i = (int64_t)((uint64_t)r.i * (uint64_t)q.i);
            break;
          case K_ALL: r.i = r.i && q.i; break;
          case K_ANY: r.i = r.i || q.i; break;
          default:
            if (isint ? (mx ? q.i > r.i : q.i < r.i) : better_f(mx, q.f, r.f, true)) r = q;
        }
      }
    }
    if (mean_of_n) r.f /= (double)mean_of_n;
    out[o] = r;
  }
}

/* Step 3: output o's value in v's dtype (and its index). r: the last
 * pass; c: the first pass's statistic; count: logsumexp's x == max count. */
__device__ inline void store(float *v, double f, int64_t) { *v = (float)f; }
__device__ inline void store(double *v, double f, int64_t) { *v = f; }
__device__ inline void store(int64_t *v, double, int64_t i) { *v = i; }
__device__ inline void store(bool *v, double, int64_t i) { *v = i != 0; }

template <typename TV>
__global__ void finish_kernel(int op, const Part *r, const Part *c, const Part *count,
                              int64_t M, int64_t N, double param, TV *v, int64_t *ix) {
  TFC_FOR_EACH(o, M) {
    double f = r[o].f;
    int64_t i = r[o].i;
    switch (op) {
      case REDUCE_MEAN: f /= (double)N; break;
      case REDUCE_VAR:
      case REDUCE_STD: {
        double dof = (double)N - param;
        f /= dof > 0 ? dof : 0.0;
        if (op == REDUCE_STD) f = sqrt(f);
        break;
      }
      case REDUCE_ARGMAX:
      case REDUCE_ARGMIN: i = r[o].at; break;
      case REDUCE_LOGSUMEXP: { /* c is the max: +-inf and NaN are the answer */
        double m = c[o].f;
        f = N == 0 ? -INFINITY : finite(m) ? m + log1p(f + (count[o].f - 1.0)) : m;
        break;
      }
      case REDUCE_NORM:
        if (param == 0 || isinf(param)) break;
        if (c[o].f == 0 || !finite(c[o].f)) { /* c = max |x|, 0 when empty */
          f = c[o].f;
        } else {
          double s = param == 1 ? f : param == 2 ? sqrt(f) : pow(f, 1 / param);
          f = ldexp(s, norm_exponent(c[o].f));
        }
        break;
    }
    store(&v[o], f, i);
    if (ix) ix[o] = r[o].at;
  }
}

/* The scratch: the nb partials of every output, then three arrays of M:
 * the last pass's results, the first pass's statistic, logsumexp's count. */
size_t scratch_bytes(const ReducePlan &p) {
  size_t m = (size_t)(p.M ? p.M : 1);
  return (m * (size_t)p.nb + 3 * m) * sizeof(Part);
}

struct Reduction {
  const void *x;
  int dtype;
  ReducePlan p;
  double param;
  Part *parts, *result, *stat, *count;

  /* scratch_bytes(p) bytes at scratch: partials, then the M-arrays. */
  void lay_out(void *scratch) {
    parts = (Part *)scratch;
    result = parts + p.M * p.nb;
    stat = result + p.M;
    count = stat + p.M;
  }

  /* Steps 1 and 2 of one pass into out, centred on center when given. */
  cudaError_t pass(int kind, const Part *center, Part *out, bool mean = false) {
    unsigned grid = grid_for(p.M * p.nb);
    switch (dtype) {
      case 0:
        TFC_LAUNCH(pass_float<float>, grid, kBlock, (const float *)x, p, kind, center, param,
                   parts);
        break;
      case 1:
        TFC_LAUNCH(pass_float<double>, grid, kBlock, (const double *)x, p, kind, center, param,
                   parts);
        break;
      case 2:
        TFC_LAUNCH(pass_int<int64_t>, grid, kBlock, (const int64_t *)x, p, kind, parts);
        break;
      case 3: TFC_LAUNCH(pass_int<bool>, grid, kBlock, (const bool *)x, p, kind, parts); break;
      default: return cudaErrorInvalidValue;
    }
    TFC_LAUNCH(merge_kernel, grid_for(p.M), kBlock, parts, p.M, p.nb, kind, dtype >= 2,
               mean ? p.N : 0, out);
    return cudaGetLastError();
  }

  /* The passes of op (cpu/reduce.c's passes_*), the last into result. */
  cudaError_t passes(int op) {
    cudaError_t err;
    switch (op) {
      case REDUCE_SUM:
      case REDUCE_MEAN: return pass(K_SUM, NULL, result);
      case REDUCE_PROD: return pass(K_PROD, NULL, result);
      case REDUCE_MAX:
      case REDUCE_ARGMAX: return pass(K_MAX, NULL, result);
      case REDUCE_MIN:
      case REDUCE_ARGMIN: return pass(K_MIN, NULL, result);
      case REDUCE_AMAX: return pass(K_VMAX, NULL, result);
      case REDUCE_AMIN: return pass(K_VMIN, NULL, result);
      case REDUCE_ALL: return pass(K_ALL, NULL, result);
      case REDUCE_ANY: return pass(K_ANY, NULL, result);
      case REDUCE_VAR:
      case REDUCE_STD:
        if ((err = pass(K_SUM, NULL, stat, true)) != cudaSuccess) return err;
        return pass(K_SQDEV, stat, result);
      case REDUCE_LOGSUMEXP:
        if ((err = pass(K_VMAX, NULL, stat)) != cudaSuccess) return err;
        if ((err = pass(K_EXPTAIL, stat, result)) != cudaSuccess) return err;
        return pass(K_EQCOUNT, stat, count);
      case REDUCE_NORM:
        if (param == 0 || isinf(param))
          return pass(param == 0 ? K_NONZERO : param > 0 ? K_ABSMAX : K_ABSMIN, NULL, result);
        if ((err = pass(K_ABSMAX, NULL, stat)) != cudaSuccess) return err;
        return pass(K_POWSUM, stat, result);
    }
    return cudaErrorInvalidValue;
  }

  template <typename TV>
  cudaError_t finish(int op, void *v, int64_t *ix) {
    TFC_LAUNCH(finish_kernel<TV>, grid_for(p.M), kBlock, op, result, stat, count, p.M, p.N,
               param, (TV *)v, ix);
    return cudaGetLastError();
  }
};

/* softmax's last step, one thread per element: e^(x - max) / sum, or
 * (x - max) - log1p(tail) for log_softmax (cpu/reduce.c's formulas). */
struct SoftmaxGeometry {
  int ndim, dim;
  int64_t shape[TFC_MAX_DIMS], xstr[TFC_MAX_DIMS], ystr[TFC_MAX_DIMS];
};

template <typename T>
__global__ void softmax_kernel(const T *x, T *y, SoftmaxGeometry g, int64_t n, bool take_log,
                               const Part *mx, const Part *sum, const Part *count) {
  TFC_FOR_EACH(i, n) {
    int64_t rest = i, xo = 0, yo = 0, o = 0, scale = 1;
    for (int d = g.ndim - 1; d >= 0; d--) {
      int64_t k = rest % g.shape[d];
      rest /= g.shape[d];
      xo += k * g.xstr[d];
      yo += k * g.ystr[d];
      if (d != g.dim) o += k * scale, scale *= g.shape[d];
    }
    double v = (double)x[xo], m = mx[o].f;
    if (take_log) {
      y[yo] = (T)((v - m) - log1p(sum[o].f + (count[o].f - 1.0)));
    } else {
      double inv = 1.0 / sum[o].f;
      y[yo] = (T)(term(K_EXPSUM, v, m, 0, sizeof(T) == 4, 1, 1) * inv);
    }
  }
}

}  // namespace

extern "C" {

int tfc_reduce_count(void) { return REDUCE_COUNT; }

int tfc_reduce_scratch(int ndim, const int64_t *shape, const int64_t *strides, uint32_t mask,
                       size_t *bytes) {
  ReducePlan p;
  if (!plan_of(ndim, shape, strides, mask, &p)) return (int)cudaErrorInvalidValue;
  *bytes = scratch_bytes(p);
  return 0;
}

int tfc_reduce(int op, int dtype, const void *x, int ndim, const int64_t *shape,
               const int64_t *strides, uint32_t mask, double param, int v_dtype, void *v,
               int64_t *indices, void *scratch, size_t scratch_len, char *why, size_t why_len) {
  Reduction r;
  if (!plan_of(ndim, shape, strides, mask, &r.p) || scratch_len < scratch_bytes(r.p) ||
      op < 0 || op >= REDUCE_COUNT)
    return fail(cudaErrorInvalidValue, "reduce kernel (bad arguments)", why, why_len);
  if (r.p.M == 0) return 0;
  r.x = x;
  r.dtype = dtype;
  r.param = param;
  r.lay_out(scratch);
  cudaError_t err = r.passes(op);
  if (err == cudaSuccess)
    err = v_dtype == 0   ? r.finish<float>(op, v, indices)
          : v_dtype == 1 ? r.finish<double>(op, v, indices)
          : v_dtype == 2 ? r.finish<int64_t>(op, v, indices)
          : v_dtype == 3 ? r.finish<bool>(op, v, indices)
                         : cudaErrorInvalidValue;
  return fail(err, "reduce kernel", why, why_len);
}

int tfc_softmax(int dtype, const void *x, void *y, int ndim, const int64_t *shape,
                const int64_t *x_strides, const int64_t *y_strides, int dim, int take_log,
                void *scratch, size_t scratch_len, char *why, size_t why_len) {
  Reduction r;
  if (dtype > 1 || dim < 0 || dim >= ndim ||
      !plan_of(ndim, shape, x_strides, 1u << dim, &r.p) || scratch_len < scratch_bytes(r.p))
    return fail(cudaErrorInvalidValue, "softmax kernel (bad arguments)", why, why_len);
  if (r.p.M == 0 || r.p.N == 0) return 0;
  r.x = x;
  r.dtype = dtype;
  r.param = 0;
  r.lay_out(scratch);
  cudaError_t err = r.pass(K_VMAX, NULL, r.stat);
  if (err == cudaSuccess) err = r.pass(take_log ? K_EXPTAIL : K_EXPSUM, r.stat, r.result);
  if (err == cudaSuccess && take_log) err = r.pass(K_EQCOUNT, r.stat, r.count);
  if (err == cudaSuccess) {
    SoftmaxGeometry g;
    g.ndim = ndim;
    g.dim = dim;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
      g.shape[d] = shape[d];
      g.xstr[d] = x_strides[d];
      g.ystr[d] = y_strides[d];
      n *= shape[d];
    }
    if (dtype == 0)
      TFC_LAUNCH(softmax_kernel<float>, grid_for(n), kBlock, (const float *)x, (float *)y, g, n,
                 take_log != 0, r.stat, r.result, r.count);
    else
      TFC_LAUNCH(softmax_kernel<double>, grid_for(n), kBlock, (const double *)x, (double *)y, g,
                 n, take_log != 0, r.stat, r.result, r.count);
    err = cudaGetLastError();
  }
  return fail(err, "softmax kernel", why, why_len);
}

}  // extern "C"
