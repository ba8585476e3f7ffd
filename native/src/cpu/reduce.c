/* reduce.c: the cpu kernels of every reduction of tinyfin_ops.def (sum ...
 * any) and of softmax / log_softmax (the entry points, with the dtype rules
 * and checks, are ops/reduce.c).
 *
 * A reduction splits the input's dims into kept dims (one output element
 * each) and reduced dims, walked in row-major order. Each output's reduced
 * range is cut into blocks; a task gathers one block into a buffer (float
 * data as double, int64/bool as int64) and reduces it to a partial, and an
 * output's partials are merged in block order (pairwise for sums). Blocks
 * depend only on the shape and strides, never on the thread count, so the
 * results are bitwise identical with any number of threads. When the
 * reduced dims lie outside the kept ones (x.sum(0) of a matrix), a task
 * gathers a tile of up to TILE neighbouring outputs so that its reads run
 * along memory. Ops that need a statistic first (var: the mean, logsumexp
 * and softmax: the max, norm: max |x| to scale by) make two passes.
 */
#include <math.h>
#include <stdlib.h>

#include "../backend.h"
#include "fast_math.h"

#define BLK 4096 /* buffer elements per task: 32 KiB on the stack */
#define TILE 16  /* outputs per task when the reduced dims are outer */

/* ---- geometry ------------------------------------------------------------ */
/* Operand 0 is the input; operand 1 (softmax only) the output, written with
 * the input's geometry. Dims are coalesced as in tf_iter, which keeps the
 * row-major order of the reduced elements (and so argmax's indices). */
typedef struct {
  int nops, knd, rnd;
  int64_t kshape[TF_MAX_DIMS], rshape[TF_MAX_DIMS];
  int64_t kstr[2][TF_MAX_DIMS], rstr[2][TF_MAX_DIMS];
  int64_t M, N;    /* outputs, elements reduced into each */
  int64_t K, W;    /* size of the innermost kept dim, outputs per tile */
  int64_t blen, nb; /* elements per block, blocks per output */
  char *base[2];
  tf_dtype dtype[2];
} plan;

static void add_dim(int *nd, int64_t *shape, int64_t str[2][TF_MAX_DIMS],
                    int nops, int64_t size, const int64_t *s) {
  if (size == 1) return;
  int n = *nd;
  bool merge = n > 0;
  for (int k = 0; k < nops && merge; k++) merge = str[k][n - 1] == s[k] * size;
  if (!merge) {
    shape[n] = 1;
    (*nd)++;
  }
  shape[*nd - 1] *= size;
  for (int k = 0; k < nops; k++) str[k][*nd - 1] = s[k];
}

static void plan_init(plan *p, const tf_tensor *x, const tf_tensor *y,
                      uint32_t mask) {
  const tf_tensor *ops[2] = {x, y};
  p->nops = y ? 2 : 1;
  p->knd = p->rnd = 0;
  p->M = p->N = 1;
  for (int k = 0; k < p->nops; k++) {
    p->base[k] = tf_ptr(ops[k]);
    p->dtype[k] = ops[k]->dtype;
  }
  for (int d = 0; d < x->ndim; d++) {
    int64_t s[2] = {x->strides[d], y ? y->strides[d] : 0};
    bool red = mask >> d & 1;
    add_dim(red ? &p->rnd : &p->knd, red ? p->rshape : p->kshape,
            red ? p->rstr : p->kstr, p->nops, x->shape[d], s);
    *(red ? &p->N : &p->M) *= x->shape[d];
  }
  if (p->rnd == 0) { /* one element per output: a dim of size 1 */
    p->rshape[0] = 1;
    p->rstr[0][0] = p->rstr[1][0] = 0;
    p->rnd = 1;
  }
  int kl = p->knd - 1;
  p->K = p->knd ? p->kshape[kl] : 1;
  p->W = 1;
  if (p->knd && llabs(p->kstr[0][kl]) < llabs(p->rstr[0][p->rnd - 1]))
    p->W = p->K < TILE ? p->K : TILE;
  p->blen = p->W > 1 ? BLK / TILE : BLK;
  p->nb = p->N == 0 ? 1 : (p->N + p->blen - 1) / p->blen;
}

/* Tiles: W consecutive outputs along the innermost kept dim. */
static int64_t tile_count(const plan *p) {
  return p->M ? p->M / p->K * ((p->K + p->W - 1) / p->W) : 0;
}
static int64_t tile_start(const plan *p, int64_t u, int64_t *width) {
  int64_t per_row = (p->K + p->W - 1) / p->W, c0 = u % per_row * p->W;
  *width = p->K - c0 < p->W ? p->K - c0 : p->W;
  return u / per_row * p->K + c0;
}

/* Offset (elements) of output o's first reduced element in operand k. */
static int64_t kept_offset(const plan *p, int k, int64_t o) {
  int64_t off = 0;
  for (int d = p->knd - 1; d >= 0; d--) {
    off += (o % p->kshape[d]) * p->kstr[k][d];
    o /= p->kshape[d];
  }
  return off;
}

/* Runs the body for each run of reduced elements [start, start + n) of
 * operand k along the innermost reduced dim: q0_ points at the run's first
 * element for output o0 (output o0 + c is c * ks_ further), st is the run's
 * stride, len its length, at its position in the block. */
#define FOR_RUNS(p, k, o0, start, n, ...)                                    \
  do {                                                                        \
    int64_t idx_[TF_MAX_DIMS], pos_ = (start), off_ = kept_offset(p, k, o0);  \
    int last_ = (p)->rnd - 1;                                                 \
    for (int d_ = last_; d_ >= 0; d_--) {                                     \
      idx_[d_] = pos_ % (p)->rshape[d_];                                      \
      pos_ /= (p)->rshape[d_];                                                \
    }                                                                         \
    int64_t es_ = (int64_t)tf_dtype_size((p)->dtype[k]);                      \
    int64_t ks_ = (p)->knd ? (p)->kstr[k][(p)->knd - 1] : 0;                  \
    int64_t st = (p)->rstr[k][last_];                                         \
    for (int64_t at = 0; at < (n);) {                                         \
      int64_t len = (p)->rshape[last_] - idx_[last_], o_ = off_;              \
      if (len > (n) - at) len = (n) - at;                                     \
      for (int d_ = 0; d_ <= last_; d_++) o_ += idx_[d_] * (p)->rstr[k][d_];  \
      char *q0_ = (p)->base[k] + o_ * es_;                                    \
      __VA_ARGS__;                                                            \
      at += len;                                                              \
      idx_[last_] += len;                                                     \
      for (int d_ = last_; d_ > 0 && idx_[d_] == (p)->rshape[d_]; d_--) {     \
        idx_[d_] = 0;                                                         \
        idx_[d_ - 1]++;                                                       \
      }                                                                       \
    }                                                                         \
  } while (0)

/* A task's buffer: floats as double, int64 and bool as int64. */
typedef union {
  double f[BLK];
  int64_t i[BLK];
} block_buf;

/* Copy a run into dst. One output: into a row. A tile: interleaved,
 * dst[(at + i) * w + c], so that reads and writes both run along memory. */
#define COPY_RUN(T, dst)                                                  \
  do {                                                                    \
    const T *a_ = (const T *)q0_;                                         \
    if (w == 1 && st == 1)                                                \
      for (int64_t i_ = 0; i_ < len; i_++) (dst)[at + i_] = a_[i_];       \
    else if (w == 1)                                                      \
      for (int64_t i_ = 0; i_ < len; i_++) (dst)[at + i_] = a_[i_ * st];  \
    else if (ks_ == 1)                                                    \
      for (int64_t i_ = 0; i_ < len; i_++)                                \
        for (int64_t c_ = 0; c_ < w; c_++)                                \
          (dst)[(at + i_) * w + c_] = a_[i_ * st + c_];                   \
    else                                                                  \
      for (int64_t i_ = 0; i_ < len; i_++)                                \
        for (int64_t c_ = 0; c_ < w; c_++)                                \
          (dst)[(at + i_) * w + c_] = a_[i_ * st + c_ * ks_];             \
  } while (0)

/* Reduced elements [start, start + n) of outputs o0 .. o0 + w - 1 into d:
 * a row of n for one output, interleaved rows for a tile. */
static void gather(const plan *p, int64_t o0, int64_t w, int64_t start,
                   int64_t n, block_buf *d) {
  FOR_RUNS(p, 0, o0, start, n, {
    switch (p->dtype[0]) {
      case TF_FLOAT32: COPY_RUN(float, d->f); break;
      case TF_FLOAT64: COPY_RUN(double, d->f); break;
      case TF_INT64: COPY_RUN(int64_t, d->i); break;
      default: COPY_RUN(bool, d->i); break;
    }
  });
}

/* (rows, cols) to (cols, rows): interleaved tiles to rows and back. */
static void transpose(const int64_t *src, int64_t *dst, int64_t rows,
                      int64_t cols) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t r = 0; r < rows; r++) dst[c * rows + r] = src[r * cols + c];
}

/* The inverse of gather for the (float) output operand 1. */
#define STORE_RUN(T)                                                     \
  if (w == 1 && st == 1)                                                 \
    for (int64_t i_ = 0; i_ < len; i_++) ((T *)q0_)[i_] = (T)d->f[at + i_]; \
  else                                                                   \
    for (int64_t i_ = 0; i_ < len; i_++)                                 \
      for (int64_t c_ = 0; c_ < w; c_++)                                 \
        ((T *)q0_)[i_ * st + c_ * ks_] = (T)d->f[(at + i_) * w + c_];
static void scatter(const plan *p, int64_t o0, int64_t w, int64_t start,
                    int64_t n, const block_buf *d) {
  FOR_RUNS(p, 1, o0, start, n, {
    if (p->dtype[1] == TF_FLOAT32) {
      STORE_RUN(float)
    } else {
      STORE_RUN(double)
    }
  });
}

/* ---- block kernels --------------------------------------------------------- */
/* What a pass computes: sums (of x, (x - c)^2, e^(x - c), e^(x - c) over
 * the x != c only (EXPTAIL), x == c, (|x| 2^-e)^p, or x != 0), products,
 * extremes with the index (MAX/MIN) or without (VMAX, VMIN, ABSMAX, ABSMIN:
 * branch-free loops), all and any. */
enum {
  K_SUM, K_SQDEV, K_EXPSUM, K_EXPTAIL, K_EQCOUNT, K_POWSUM, K_NONZERO,
  K_PROD, K_MAX, K_MIN, K_VMAX, K_VMIN, K_ABSMAX, K_ABSMIN, K_ALL, K_ANY
};

/* f: float result, i: int result (and all/any), at: position of max/min. */
typedef struct {
  double f;
  int64_t i, at;
} part;

/* Pairwise summation: error O(log n) ulps instead of O(n). The 8 lanes of
 * a leaf are independent chains, which the compiler may put in vectors
 * without changing a bit. */
TF_SIMD_CLONES static double pairwise(const double *x, int64_t n) {
  if (n > 128) return pairwise(x, n / 2) + pairwise(x + n / 2, n - n / 2);
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) s[j] += x[i + j];
  for (int j = 0; i < n; i++, j++) s[j] += x[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* x[i] = e^(x[i] - c), or 0 where x[i] == c when tail is set (the terms
 * of logsumexp beyond its leading 1, which must not be rounded into it).
 * float32 data uses tf_exp_poly on the double argument (relative error
 * < 3e-10, far below float32's rounding). float64 data carries the rounding
 * error of x - c (TwoSum) into the result: e^(d + err) = e^d (1 + err), so
 * wide rows do not lose |x - c| / 2 ULP to that subtraction. */
TF_SIMD_CLONES static void exp_shifted(double *x, int64_t n, double c,
                                       bool f32, bool tail) {
  if (!f32) {
    for (int64_t i = 0; i < n; i++) {
      double d = x[i] - c, back = d - x[i];
      double err = (x[i] - (d - back)) + (-c - back);
      double e = exp(d);
      e = isfinite(err) ? e + e * err : e;
      x[i] = tail && d == 0 ? 0.0 : e;
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    double d = x[i] - c;
    double e = d != d ? d : tf_exp_poly(d);
    x[i] = tail && d == 0 ? 0.0 : e;
  }
}

/* Extreme value of x (or |x|); NaN is flagged on the side, so that the
 * selects compile to maxsd/minsd without branches, in four independent
 * chains. */
#define TAKE(CMP, v, m) m = (v CMP m) ? v : m
#define EXTREME_LOOP(CMP, V)                                            \
  for (; i + 4 <= n; i += 4) {                                          \
    double v0 = V(i), v1 = V(i + 1), v2 = V(i + 2), v3 = V(i + 3);     \
    TAKE(CMP, v0, m0);                                                  \
    TAKE(CMP, v1, m1);                                                  \
    TAKE(CMP, v2, m2);                                                  \
    TAKE(CMP, v3, m3);                                                  \
    nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);         \
  }                                                                     \
  for (; i < n; i++) {                                                  \
    double v0 = V(i);                                                   \
    TAKE(CMP, v0, m0);                                                  \
    nan |= v0 != v0;                                                    \
  }                                                                     \
  TAKE(CMP, m1, m0);                                                    \
  TAKE(CMP, m2, m0);                                                    \
  TAKE(CMP, m3, m0);
#define PLAIN(i) x[i]
#define ABS(i) fabs(x[i])
static double extreme(int kind, const double *x, int64_t n) {
  bool mx = kind == K_VMAX || kind == K_ABSMAX;
  double m0 = mx ? -INFINITY : INFINITY, m1 = m0, m2 = m0, m3 = m0;
  int64_t i = 0;
  int nan = 0;
  switch (kind) {
    case K_VMAX: EXTREME_LOOP(>, PLAIN) break;
    case K_VMIN: EXTREME_LOOP(<, PLAIN) break;
    case K_ABSMAX: EXTREME_LOOP(>, ABS) break;
    default: EXTREME_LOOP(<, ABS) break;
  }
  if (nan) return NAN;
  return kind == K_ABSMAX && m0 < 0 ? 0.0 : m0; /* empty: max |x| is 0 */
}

/* A better candidate for max/min: NaN beats everything and the first NaN
 * stays; otherwise strictly better (ties keep the first occurrence). */
static inline bool better_f(int kind, double cand, double cur, bool have) {
  if (!have) return true;
  if (cur != cur) return false;
  if (cand != cand) return true;
  return kind == K_MAX ? cand > cur : cand < cur;
}

/* Scaling for norm: |x| 2^-e <= 1, exact, so (|x| 2^-e)^p cannot overflow. */
static inline int norm_exponent(double m) {
  int e = 0;
  if (m > 0 && isfinite(m)) frexp(m, &e);
  return e;
}

/* Reduce the n values of x (scratch: overwritten) at reduced positions
 * pos0 + i. c is the pass's per-output statistic, p norm's order. */
static part block_f(int kind, double *x, int64_t n, int64_t pos0, double c,
                    double p, bool f32) {
  part r = {0.0, 0, -1};
  switch (kind) {
    case K_SQDEV:
      for (int64_t i = 0; i < n; i++) x[i] = (x[i] - c) * (x[i] - c);
      break;
    case K_EXPSUM:
    case K_EXPTAIL: exp_shifted(x, n, c, f32, kind == K_EXPTAIL); break;
    case K_EQCOUNT:
      for (int64_t i = 0; i < n; i++) x[i] = x[i] == c;
      break;
    case K_POWSUM: { /* 2^-e in two exact factors: one could overflow */
      int e = norm_exponent(c);
      double s1 = ldexp(1.0, -e / 2), s2 = ldexp(1.0, -e - -e / 2);
      if (p == 2)
        for (int64_t i = 0; i < n; i++) x[i] = (x[i] * s1 * s2) * (x[i] * s1 * s2);
      else if (p == 1)
        for (int64_t i = 0; i < n; i++) x[i] = fabs(x[i]) * s1 * s2;
      else
        for (int64_t i = 0; i < n; i++) x[i] = pow(fabs(x[i]) * s1 * s2, p);
      break;
    }
    case K_NONZERO:
      for (int64_t i = 0; i < n; i++) x[i] = x[i] != 0;
      break;
    case K_PROD:
      r.f = 1.0;
      for (int64_t i = 0; i < n; i++) r.f *= x[i];
      return r;
    case K_MAX:
    case K_MIN:
      for (int64_t i = 0; i < n; i++)
        if (better_f(kind, x[i], r.f, r.at >= 0)) {
          r.f = x[i];
          r.at = pos0 + i;
          if (x[i] != x[i]) break;
        }
      return r;
    case K_ALL:
    case K_ANY:
      r.i = kind == K_ALL;
      for (int64_t i = 0; i < n && r.i == (kind == K_ALL); i++) r.i = x[i] != 0;
      return r;
    case K_SUM: break;
    default: r.f = extreme(kind, x, n); return r;
  }
  r.f = pairwise(x, n);
  return r;
}

/* int64 and bool data; sums and products wrap around like PyTorch's. */
static part block_i(int kind, const int64_t *x, int64_t n, int64_t pos0) {
  part r = {0.0, kind == K_PROD || kind == K_ALL, -1};
  bool mx = kind == K_MAX || kind == K_VMAX;
  for (int64_t i = 0; i < n; i++) {
    switch (kind) {
      case K_SUM: r.i = (int64_t)((uint64_t)r.i + (uint64_t)x[i]); break;
      case K_PROD: r.i = (int64_t)((uint64_t)r.i * (uint64_t)x[i]); break;
      case K_ALL: r.i = r.i && x[i]; break;
      case K_ANY: r.i = r.i || x[i]; break;
      default:
        if (r.at < 0 || (mx ? x[i] > r.i : x[i] < r.i)) {
          r.i = x[i];
          r.at = pos0 + i;
        }
    }
  }
  return r;
}

/* Tiles arrive interleaved, x[i * w + c] for output o0 + c. The commonest
 * kinds reduce them lane by lane, down the columns, in loops that
 * vectorize across outputs; each output still sums pairwise. */
TF_SIMD_CLONES static void pairwise_lanes(const double *x, int64_t n, int64_t w,
                           double *acc) {
  if (n > 16) {
    double t[TILE];
    pairwise_lanes(x, n / 2, w, acc);
    pairwise_lanes(x + n / 2 * w, n - n / 2, w, t);
    for (int64_t c = 0; c < w; c++) acc[c] += t[c];
    return;
  }
  for (int64_t c = 0; c < w; c++) acc[c] = 0;
  if (w == TILE) /* a constant width keeps the lanes in registers */
    for (int64_t i = 0; i < n; i++)
      for (int64_t c = 0; c < TILE; c++) acc[c] += x[i * TILE + c];
  else
    for (int64_t i = 0; i < n; i++)
      for (int64_t c = 0; c < w; c++) acc[c] += x[i * w + c];
}

/* false: kind has no lane kernel (the caller de-interleaves instead). */
static bool block_lanes(int kind, double *x, int64_t n, int64_t w,
                        const double *center, part *r) {
  double acc[TILE];
  bool nan[TILE] = {false}, mx = kind != K_VMIN;
  switch (kind) {
    case K_SQDEV:
      for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < w; c++)
          x[i * w + c] = (x[i * w + c] - center[c]) * (x[i * w + c] - center[c]);
      /* fall through */
    case K_SUM: pairwise_lanes(x, n, w, acc); break;
    case K_VMAX:
    case K_VMIN:
    case K_ABSMAX:
      for (int64_t c = 0; c < w; c++) acc[c] = mx ? -INFINITY : INFINITY;
      for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < w; c++) {
          double v = kind == K_ABSMAX ? fabs(x[i * w + c]) : x[i * w + c];
          acc[c] = (mx ? v > acc[c] : v < acc[c]) ? v : acc[c];
          nan[c] |= v != v;
        }
      for (int64_t c = 0; c < w; c++)
        acc[c] = nan[c] ? NAN : kind == K_ABSMAX && acc[c] < 0 ? 0 : acc[c];
      break;
    default: return false;
  }
  for (int64_t c = 0; c < w; c++) r[c] = (part){acc[c], 0, -1};
  return true;
}

/* Combine one output's nb partials in block order. */
static part merge(int kind, bool isint, const double *pf, const int64_t *pi,
                  const int64_t *pat, int64_t nb) {
  part r = {pf[0], pi[0], pat[0]};
  if (!isint && kind <= K_NONZERO) { /* the sums */
    r.f = pairwise(pf, nb);
    return r;
  }
  for (int64_t b = 1; b < nb; b++) {
    bool mx = kind == K_MAX || kind == K_VMAX || kind == K_ABSMAX;
    switch (kind) {
      case K_SUM: r.i = (int64_t)((uint64_t)r.i + (uint64_t)pi[b]); break;
      case K_PROD:
        r.f *= pf[b];
        r.i = (int64_t)((uint64_t)r.i * (uint64_t)pi[b]);
        break;
      case K_ALL: r.i = r.i && pi[b]; break;
      case K_ANY: r.i = r.i || pi[b]; break;
      default:
        if (isint ? (mx ? pi[b] > r.i : pi[b] < r.i)
                  : better_f(mx ? K_MAX : K_MIN, pf[b], r.f, true)) {
          r.f = pf[b];
          r.i = pi[b];
          r.at = pat[b];
        }
    }
  }
  return r;
}

/* Runs the body for every task: tile of outputs o0 .. o0 + w - 1, block b
 * holding the n reduced elements from start; in parallel for large work.
 * Neighbouring tasks take neighbouring tiles of one block: the same rows
 * of memory (and pages) for outer reductions. */
#define FOR_TASKS(p, ...)                                                    \
  do {                                                                        \
    int64_t ntile_ = tile_count(p), ntask_ = ntile_ * (p)->nb;                \
    if ((p)->M * (p)->N >= TF_PARALLEL_GRAIN && ntask_ > 1) {                 \
      TF_PARALLEL_FOR(true)                                                   \
      for (int64_t t_ = 0; t_ < ntask_; t_++) {                               \
        ONE_TASK_(p, ntile_, t_, __VA_ARGS__);                                \
      }                                                                       \
    } else { /* no region at all: even a team of one costs a few us */       \
      for (int64_t t_ = 0; t_ < ntask_; t_++) {                               \
        ONE_TASK_(p, ntile_, t_, __VA_ARGS__);                                \
      }                                                                       \
    }                                                                         \
  } while (0)
#define ONE_TASK_(p, ntile_, t_, ...)                                         \
  do {                                                                        \
    int64_t w, o0 = tile_start(p, t_ % ntile_, &w), b = t_ / ntile_;          \
    int64_t start = b * (p)->blen, n = (p)->N - start;                        \
    n = n < (p)->blen ? n : (p)->blen;                                        \
    __VA_ARGS__;                                                              \
  } while (0)

/* One pass: rf/ri/rat[o] receive output o's merged result. center[o] (may
 * be NULL) is the statistic of an earlier pass. */
static tf_status run_pass(const plan *p, int kind, const double *center,
                          double param, double *rf, int64_t *ri,
                          int64_t *rat) {
  int64_t nb = p->nb;
  bool isint = !tf_is_float(p->dtype[0]), f32 = p->dtype[0] == TF_FLOAT32;
  double *pf = rf;
  int64_t *pi = ri, *pat = rat;
  if (nb > 1) {
    size_t np = (size_t)(p->M * nb);
    pf = malloc(np * sizeof *pf);
    pi = malloc(np * sizeof *pi);
    pat = malloc(np * sizeof *pat);
    if (!pf || !pi || !pat) {
      free(pf);
      free(pi);
      free(pat);
      return tf_fail(TF_ERR_MEMORY, "reduce: out of memory for %zu partials", np);
    }
  }
  FOR_TASKS(p, {
    block_buf buf, tmp, *rows = &buf;
    part r[TILE];
    if (n > 0) gather(p, o0, w, start, n, &buf);
    if (w == 1 || isint ||
        !block_lanes(kind, buf.f, n, w, center ? center + o0 : NULL, r)) {
      if (w > 1) transpose(buf.i, (rows = &tmp)->i, n, w);
      for (int64_t c = 0; c < w; c++)
        r[c] = isint ? block_i(kind, rows->i + c * n, n, start)
                     : block_f(kind, rows->f + c * n, n, start,
                               center ? center[o0 + c] : 0, param, f32);
    }
    for (int64_t c = 0; c < w; c++) {
      int64_t slot = (o0 + c) * nb + b;
      pf[slot] = r[c].f;
      pi[slot] = r[c].i;
      pat[slot] = r[c].at;
    }
  });
  if (nb > 1) {
    for (int64_t o = 0; o < p->M; o++) {
      part r = merge(kind, isint, pf + o * nb, pi + o * nb, pat + o * nb, nb);
      rf[o] = r.f;
      ri[o] = r.i;
      rat[o] = r.at;
    }
    free(pf);
    free(pi);
    free(pat);
  }
  return TF_OK;
}

/* rf[o] = sum of e^(x - c[o]) - 1 over output o's elements, without
 * rounding the small terms into the leading 1 (which the max element
 * contributes): the sum over x != c, plus (count of x == c) - 1. logsumexp
 * and log_softmax take log1p of it, so log(1 + tiny) keeps the tiny. */
static tf_status exp_tail_sum(const plan *p, const double *c, double *rf,
                              int64_t *ri, int64_t *rat) {
  size_t m = (size_t)(p->M ? p->M : 1);
  double *count = malloc(m * sizeof *count);
  if (!count) return tf_fail(TF_ERR_MEMORY, "logsumexp: out of memory");
  tf_status st = run_pass(p, K_EXPTAIL, c, 0, rf, ri, rat);
  if (st == TF_OK) st = run_pass(p, K_EQCOUNT, c, 0, count, ri, rat);
  if (st == TF_OK)
    for (int64_t o = 0; o < p->M; o++) rf[o] += count[o] - 1.0;
  free(count);
  return st;
}

/* The passes of each op, one function per op of tinyfin_ops.def (a table
 * the compiler checks: a new reduction has no kernel until it has one).
 * rf/ri/rat receive the last pass, c (M) the first pass's statistic for the
 * two-pass ops. */
typedef tf_status (*passes_fn)(const plan *p, double param, double *rf,
                               int64_t *ri, int64_t *rat, double *c);
#define ONE_PASS(name, KIND)                                                 \
  static tf_status passes_##name(const plan *p, double param, double *rf,   \
                                 int64_t *ri, int64_t *rat, double *c) {     \
    (void)param, (void)c;                                                    \
    return run_pass(p, KIND, NULL, 0, rf, ri, rat);                          \
  }
ONE_PASS(sum, K_SUM)
ONE_PASS(mean, K_SUM)
ONE_PASS(prod, K_PROD)
ONE_PASS(max, K_MAX)
ONE_PASS(argmax, K_MAX)
ONE_PASS(min, K_MIN)
ONE_PASS(argmin, K_MIN)
ONE_PASS(amax, K_VMAX)
ONE_PASS(amin, K_VMIN)
ONE_PASS(all, K_ALL)
ONE_PASS(any, K_ANY)

/* var and std: the mean, then the squared deviations from it. */
static tf_status passes_var(const plan *p, double param, double *rf,
                            int64_t *ri, int64_t *rat, double *c) {
  (void)param;
  TF_TRY(run_pass(p, K_SUM, NULL, 0, c, ri, rat));
  for (int64_t o = 0; o < p->M; o++) c[o] /= (double)p->N;
  return run_pass(p, K_SQDEV, c, 0, rf, ri, rat);
}
#define passes_std passes_var

static tf_status passes_logsumexp(const plan *p, double param, double *rf,
                                  int64_t *ri, int64_t *rat, double *c) {
  (void)param;
  TF_TRY(run_pass(p, K_VMAX, NULL, 0, c, ri, rat));
  return exp_tail_sum(p, c, rf, ri, rat);
}

/* norm: p = 0 counts, +-inf is max/min |x|; else sum |x / s|^p with s the
 * power of two near max |x|, so that nothing overflows. */
static tf_status passes_norm(const plan *p, double param, double *rf,
                             int64_t *ri, int64_t *rat, double *c) {
  if (param == 0 || isinf(param))
    return run_pass(p, param == 0 ? K_NONZERO : param > 0 ? K_ABSMAX : K_ABSMIN,
                    NULL, 0, rf, ri, rat);
  TF_TRY(run_pass(p, K_ABSMAX, NULL, 0, c, ri, rat));
  return run_pass(p, K_POWSUM, c, param, rf, ri, rat);
}

static const passes_fn passes[] = {
#define TF_REDUCE_OP(ENUM, name) passes_##name,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
};
_Static_assert(sizeof passes / sizeof passes[0] == TF_REDUCE_COUNT,
               "every reduce op needs its passes");

/* Turn output o's pass results into its value: f for float outputs, i for
 * int64 and bool ones; c is the first pass's statistic. One function per
 * op, in a table the compiler checks as it does the passes. */
typedef void (*finish_fn)(const plan *p, double param, double *f, int64_t *i,
                          int64_t at, double c);
#define FINISH(name)                                                        \
  static void finish_##name(const plan *p, double param, double *f,        \
                            int64_t *i, int64_t at, double c)
#define UNUSED_FINISH_ARGS (void)p, (void)param, (void)f, (void)i, (void)at, (void)c
/* the pass's result is the value */
FINISH(as_is) { UNUSED_FINISH_ARGS; }
#define finish_sum finish_as_is
#define finish_prod finish_as_is
#define finish_max finish_as_is
#define finish_min finish_as_is
#define finish_amax finish_as_is
#define finish_amin finish_as_is
#define finish_all finish_as_is
#define finish_any finish_as_is
FINISH(mean) {
  UNUSED_FINISH_ARGS;
  *f /= (double)p->N;
}
FINISH(var) {
  UNUSED_FINISH_ARGS;
  double dof = (double)p->N - param;
  *f /= dof > 0 ? dof : 0.0;
}
FINISH(std) {
  finish_var(p, param, f, i, at, c);
  *f = sqrt(*f);
}
FINISH(argmax) {
  UNUSED_FINISH_ARGS;
  *i = at;
}
#define finish_argmin finish_argmax
/* c is the max: +-inf and NaN are the answer */
FINISH(logsumexp) {
  UNUSED_FINISH_ARGS;
  *f = p->N == 0 ? -INFINITY : isfinite(c) ? c + log1p(*f) : c;
}
FINISH(norm) {
  UNUSED_FINISH_ARGS;
  if (param == 0 || isinf(param)) return;
  if (c == 0 || !isfinite(c)) { /* c = max |x|, 0 when empty */
    *f = c;
  } else {
    double r = param == 1 ? *f : param == 2 ? sqrt(*f) : pow(*f, 1 / param);
    *f = ldexp(r, norm_exponent(c));
  }
}

static const finish_fn finishes[] = {
#define TF_REDUCE_OP(ENUM, name) finish_##name,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
};
_Static_assert(sizeof finishes / sizeof finishes[0] == TF_REDUCE_COUNT,
               "every reduce op needs its finish");

static void put(tf_tensor *v, int64_t o, double f, int64_t i) {
  char *q = tf_ptr(v);
  switch (v->dtype) {
    case TF_FLOAT32: ((float *)q)[o] = (float)f; break;
    case TF_FLOAT64: ((double *)q)[o] = f; break;
    case TF_INT64: ((int64_t *)q)[o] = i; break;
    default: ((bool *)q)[o] = i != 0; break;
  }
}

/* The cpu's reduce slot, for every op: values (and indices) are allocated
 * with the reduced shape by the entry point. */
tf_status tf_cpu_reduce(int op, const tf_tensor *x, uint32_t dim_mask,
                        double param, tf_tensor *v, tf_tensor *ix) {
  plan p;
  plan_init(&p, x, NULL, dim_mask);
  size_t m = (size_t)(p.M ? p.M : 1);
  /* A few outputs (a full reduction, most often) keep their results on the
   * stack: four mallocs cost more than summing a small tensor. */
  enum { ON_STACK = 16 };
  double rf_s[ON_STACK], c_s[ON_STACK];
  int64_t ri_s[ON_STACK], rat_s[ON_STACK];
  bool small = m <= ON_STACK;
  double *rf = small ? rf_s : malloc(m * sizeof *rf);
  double *c = small ? c_s : malloc(m * sizeof *c);
  int64_t *ri = small ? ri_s : malloc(m * sizeof *ri);
  int64_t *rat = small ? rat_s : malloc(m * sizeof *rat);
  tf_status st = TF_OK;
  if (!rf || !c || !ri || !rat)
    st = tf_fail(TF_ERR_MEMORY, "%s: out of memory", tf_reduce_name(op));
  if (st == TF_OK) st = passes[op](&p, param, rf, ri, rat, c);
  if (st == TF_OK) {
    for (int64_t o = 0; o < p.M; o++) {
      finishes[op](&p, param, &rf[o], &ri[o], rat[o], c[o]);
      put(v, o, rf[o], ri[o]);
      if (ix) ((int64_t *)tf_ptr(ix))[o] = rat[o];
    }
  }
  if (!small) {
    free(rf);
    free(c);
    free(ri);
    free(rat);
  }
  return st;
}

/* ---- softmax ---------------------------------------------------------------- */
/* Stable: e^(x - max) / sum, summed in double. A row holding NaN or +inf,
 * or only -inf, gives NaN, as in PyTorch. */
tf_status tf_cpu_softmax(const tf_tensor *x, int dim, bool take_log,
                         tf_tensor *y) {
  const char *name = take_log ? "log_softmax" : "softmax";
  plan p;
  plan_init(&p, x, y, 1u << dim);
  size_t m = (size_t)(p.M ? p.M : 1);
  double *mx = malloc(m * sizeof *mx), *s = malloc(m * sizeof *s);
  int64_t *ri = malloc(m * sizeof *ri), *rat = malloc(m * sizeof *rat);
  tf_status st = TF_OK;
  if (!mx || !s || !ri || !rat)
    st = tf_fail(TF_ERR_MEMORY, "%s: out of memory", name);
  if (st == TF_OK) st = run_pass(&p, K_VMAX, NULL, 0, mx, ri, rat);
  if (st == TF_OK)
    st = take_log ? exp_tail_sum(&p, mx, s, ri, rat)
                  : run_pass(&p, K_EXPSUM, mx, 0, s, ri, rat);
  if (st == TF_OK) {
    bool f32 = x->dtype == TF_FLOAT32;
    FOR_TASKS(&p, {
      block_buf buf, tmp, *rows = &buf;
      if (n > 0) {
        gather(&p, o0, w, start, n, &buf);
        if (w > 1) transpose(buf.i, (rows = &tmp)->i, n, w);
        for (int64_t c = 0; c < w; c++) {
          double *row = rows->f + c * n, mc = mx[o0 + c], sc = s[o0 + c];
          if (take_log) {
            double ls = log1p(sc); /* sc is the sum minus 1 */
            for (int64_t i = 0; i < n; i++) row[i] = (row[i] - mc) - ls;
          } else {
            double inv = 1.0 / sc;
            exp_shifted(row, n, mc, f32, false);
            for (int64_t i = 0; i < n; i++) row[i] *= inv;
          }
        }
        if (w > 1) transpose(tmp.i, buf.i, w, n);
        scatter(&p, o0, w, start, n, &buf);
      }
    });
  }
  free(mx);
  free(s);
  free(ri);
  free(rat);
  return st;
}
