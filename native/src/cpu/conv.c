/* conv.c: the cpu's convolution kernels (the entry points, with every
 * argument check, are ops/conv.c).
 *
 * Every 2-D convolution pass is a batch of matrix products over an unfolded
 * copy of a chunk of images (im2col), with K = (C / groups) * kh * kw and
 * L = ho * wo; row (c, i, j) of cols holds, in column (p, q), the input
 * (g*Cg + c, p*sh - ph + i*dh, q*sw - pw + j*dw), 0 outside:
 *   forward      y[n, g] (Og x L) = W[g] (Og x K) @ cols[n, g] (K x L)
 *   input grad   cols[n, g] = W[g]^T (K x Og) @ gy[n, g]; gx = col2im(cols)
 *   weight grad  gW[g] (Og x K) += gy[g] (Og x nb*L) @ cols[g]^T
 * The weight gradient puts the chunk's images side by side (columns
 * (n, p, q), gy copied to (O, nb, L)), so that it is one long product per
 * group rather than nb products of a short inner dimension to be summed;
 * the other two keep one product per image, which OpenBLAS runs faster
 * than one wide product (the per-image operand stays in cache). The
 * products run through the matmul slot of the backend chosen for the call
 * (tf_kernels.matmul), so the BLAS backend accelerates convolutions too.
 * tf_conv_passes plans and runs the passes; what they do besides the
 * products (scratch, im2col, col2im, ...) is a tf_conv_steps table: this
 * file's loops for host memory, cuda/conv.cu's kernels for the device
 * (cuda/backend.c).
 *
 * The batch is cut into chunks whose unfolded copy holds about CONV_CHUNK
 * elements (scratch allocated per call). The chunks, and so every sum, depend
 * on the shape only; im2col, col2im and the copies split their work over
 * independent (image, channel) planes or rows, and the weight gradient adds
 * the chunks' products in chunk order (in float64): results never depend on
 * the thread count. A 1x1 kernel with stride 1 and no padding needs no
 * unfolded copy: the image itself is the (K x L) operand.
 */
#include <stdlib.h>

#include "../backend.h"

enum { CONV_CHUNK = 1 << 21 };

/* A contiguous header on the stack over data (offset 0) in like's dtype and
 * memory, for a product operand or output that never outlives this call
 * (the matmul kernels only borrow operands). */
static void window(tf_tensor *t, tf_storage *s, const tf_tensor *like,
                   const void *data, int ndim, const int64_t *shape) {
  atomic_init(&s->refcount, 1);
  atomic_init(&s->version, 0);
  s->data = (void *)data;
  s->separate = false;
  s->alloc = like->storage->alloc;
  s->nbytes = (size_t)tf_shape_numel(ndim, shape) * tf_dtype_size(like->dtype);
  atomic_init(&t->refcount, 1);
  t->storage = s;
  t->ndim = ndim;
  t->dtype = like->dtype;
  t->offset = 0;
  memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
  tf_contiguous_strides(ndim, shape, t->strides);
}

/* The outputs q in [lo, hi) of a row of n whose input q * s + off lies in
 * [0, size). */
static void valid_range(int64_t off, int64_t s, int64_t size, int64_t n,
                        int64_t *lo, int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
  if (l > n) l = n;
  if (h > n) h = n;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

#define DEFINE_CONV(T, NAME)                                                  \
  /* The unfolded images x[0..nb): row (c, i, j) of image n at             */\
  /* cols + (c * taps + i * kw + j) * rs + n * is.                          */\
  static void NAME##_im2col(const tf_conv_geom *g, const T *x, T *cols,      \
                            int64_t nb, int64_t rs, int64_t is) {             \
    int64_t L = g->ho * g->wo, taps = g->kh * g->kw, planes = nb * g->c_in;   \
    bool worth = planes > 1 && planes * taps * L >= TF_PARALLEL_GRAIN;        \
    TF_PARALLEL_FOR(worth)                                                    \
    for (int64_t pc = 0; pc < planes; pc++) {                                 \
      const T *src = x + pc * g->h * g->w;                                    \
      int64_t n = pc / g->c_in, c = pc % g->c_in;                             \
      for (int64_t i = 0; i < g->kh; i++)                                     \
        for (int64_t j = 0; j < g->kw; j++) {                                 \
          T *row = cols + (c * taps + i * g->kw + j) * rs + n * is;           \
          int64_t off_w = j * g->dw - g->pw, lo, hi;                          \
          valid_range(off_w, g->sw, g->w, g->wo, &lo, &hi);                   \
          for (int64_t p = 0; p < g->ho; p++) {                               \
            T *r = row + p * g->wo;                                           \
            int64_t h = p * g->sh - g->ph + i * g->dh;                        \
            if (h < 0 || h >= g->h) {                                         \
              for (int64_t q = 0; q < g->wo; q++) r[q] = 0;                   \
              continue;                                                       \
            }                                                                 \
            const T *s = src + h * g->w + off_w;                              \
            for (int64_t q = 0; q < lo; q++) r[q] = 0;                        \
            if (g->sw == 1)                                                   \
              for (int64_t q = lo; q < hi; q++) r[q] = s[q];                  \
            else                                                              \
              for (int64_t q = lo; q < hi; q++) r[q] = s[q * g->sw];          \
            for (int64_t q = hi; q < g->wo; q++) r[q] = 0;                    \
          }                                                                   \
        }                                                                     \
    }                                                                         \
  }                                                                           \
                                                                              \
  /* gx[0..nb) = the images folded back from cols (im2col's layout): each */\
  /* input element sums the taps that read it, in tap order.               */\
  static void NAME##_col2im(const tf_conv_geom *g, const T *cols, T *gx,     \
                            int64_t nb, int64_t rs, int64_t is) {             \
    int64_t L = g->ho * g->wo, taps = g->kh * g->kw, planes = nb * g->c_in;   \
    bool worth = planes > 1 && planes * taps * L >= TF_PARALLEL_GRAIN;        \
    TF_PARALLEL_FOR(worth)                                                    \
    for (int64_t pc = 0; pc < planes; pc++) {                                 \
      T *dst = gx + pc * g->h * g->w;                                         \
      int64_t n = pc / g->c_in, c = pc % g->c_in;                             \
      for (int64_t e = 0; e < g->h * g->w; e++) dst[e] = 0;                   \
      for (int64_t i = 0; i < g->kh; i++)                                     \
        for (int64_t j = 0; j < g->kw; j++) {                                 \
          const T *row = cols + (c * taps + i * g->kw + j) * rs + n * is;     \
          int64_t off_w = j * g->dw - g->pw, lo, hi;                          \
          valid_range(off_w, g->sw, g->w, g->wo, &lo, &hi);                   \
          for (int64_t p = 0; p < g->ho; p++) {                               \
            int64_t h = p * g->sh - g->ph + i * g->dh;                        \
            if (h < 0 || h >= g->h) continue;                                 \
            const T *r = row + p * g->wo;                                     \
            T *d = dst + h * g->w + off_w;                                    \
            if (g->sw == 1)                                                   \
              for (int64_t q = lo; q < hi; q++) d[q] += r[q];                 \
            else                                                              \
              for (int64_t q = lo; q < hi; q++) d[q * g->sw] += r[q];         \
          }                                                                   \
        }                                                                     \
    }                                                                         \
  }                                                                           \
                                                                              \
  /* dst (O, nb, L) = src (nb, O, L): gy with the images side by side.   */\
  static void NAME##_permute(const tf_conv_geom *g, const T *src, T *dst,    \
                             int64_t nb) {                                    \
    int64_t L = g->ho * g->wo, O = g->c_out, rows = nb * O;                   \
    TF_PARALLEL_FOR(rows > 1 && rows * L >= TF_PARALLEL_GRAIN)                \
    for (int64_t r = 0; r < rows; r++) {                                      \
      int64_t n = r / O, o = r % O;                                           \
      memcpy(dst + (o * nb + n) * L, src + r * L, sizeof(T) * (size_t)L);     \
    }                                                                         \
  }                                                                           \
                                                                              \
  /* y (nb, O, L) += bias per channel. */                                    \
  static void NAME##_bias(const tf_conv_geom *g, T *y, const T *bias,        \
                          int64_t nb) {                                       \
    int64_t L = g->ho * g->wo, rows = nb * g->c_out;                          \
    TF_PARALLEL_FOR(rows > 1 && rows * L >= TF_PARALLEL_GRAIN)                \
    for (int64_t r = 0; r < rows; r++) {                                      \
      T b = bias[r % g->c_out], *row = y + r * L;                             \
      for (int64_t l = 0; l < L; l++) row[l] += b;                            \
    }                                                                         \
  }                                                                           \
                                                                              \
  /* acc[e] += prod[e]. */                                                   \
  static void NAME##_accumulate(double *acc, const T *prod, int64_t size) {  \
    for (int64_t e = 0; e < size; e++) acc[e] += (double)prod[e];             \
  }
DEFINE_CONV(float, conv_f32)
DEFINE_CONV(double, conv_f64)

/* Images per chunk: the unfolded copy of a chunk holds about CONV_CHUNK
 * elements (at least one image). */
static int64_t chunk_of(int64_t per_image, int64_t n) {
  int64_t nb = per_image > 0 ? CONV_CHUNK / per_image : n;
  if (nb < 1) nb = 1;
  return nb < n ? nb : n;
}

/* ---- the cpu's steps (tf_conv_steps) ---- */
static void *host_alloc(size_t nbytes) { return malloc(nbytes); }
static void host_release(void *ptr, size_t nbytes) {
  (void)nbytes;
  free(ptr);
}
static tf_status host_zero(void *dst, size_t nbytes) {
  memset(dst, 0, nbytes);
  return TF_OK;
}
static tf_status im2col(const tf_conv_geom *g, tf_dtype dt, const char *x,
                        char *cols, int64_t nb, int64_t rs, int64_t is) {
  if (dt == TF_FLOAT32)
    conv_f32_im2col(g, (const float *)x, (float *)cols, nb, rs, is);
  else
    conv_f64_im2col(g, (const double *)x, (double *)cols, nb, rs, is);
  return TF_OK;
}
static tf_status col2im(const tf_conv_geom *g, tf_dtype dt, const char *cols,
                        char *gx, int64_t nb, int64_t rs, int64_t is) {
  if (dt == TF_FLOAT32)
    conv_f32_col2im(g, (const float *)cols, (float *)gx, nb, rs, is);
  else
    conv_f64_col2im(g, (const double *)cols, (double *)gx, nb, rs, is);
  return TF_OK;
}
static tf_status permute(const tf_conv_geom *g, tf_dtype dt, const char *src,
                         char *dst, int64_t nb) {
  if (dt == TF_FLOAT32) conv_f32_permute(g, (const float *)src, (float *)dst, nb);
  else conv_f64_permute(g, (const double *)src, (double *)dst, nb);
  return TF_OK;
}
static tf_status add_bias(const tf_conv_geom *g, tf_dtype dt, char *y,
                          const char *bias, int64_t nb) {
  if (dt == TF_FLOAT32)
    conv_f32_bias(g, (float *)y, (const float *)bias, nb);
  else
    conv_f64_bias(g, (double *)y, (const double *)bias, nb);
  return TF_OK;
}
static tf_status accumulate(tf_dtype dt, double *acc, const char *prod, int64_t n) {
  if (dt == TF_FLOAT32)
    conv_f32_accumulate(acc, (const float *)prod, n);
  else
    conv_f64_accumulate(acc, (const double *)prod, n);
  return TF_OK;
}
static tf_status finish(tf_dtype dt, char *out, const double *acc, int64_t n) {
  if (dt == TF_FLOAT32)
    for (int64_t e = 0; e < n; e++) ((float *)out)[e] = (float)acc[e];
  else
    memcpy(out, acc, (size_t)n * sizeof(double));
  return TF_OK;
}
static const tf_conv_steps host_steps = {host_alloc, host_release, host_zero, im2col, col2im,
                                         permute, add_bias, accumulate, finish};

tf_status tf_cpu_conv(int which, const tf_conv_geom *g, const tf_tensor *a,
                      const tf_tensor *b, const tf_tensor *bias,
                      tf_tensor *out) {
  return tf_conv_passes(which, g, a, b, bias, out, &host_steps);
}

tf_status tf_conv_passes(int which, const tf_conv_geom *g, const tf_tensor *a,
                         const tf_tensor *b, const tf_tensor *bias, tf_tensor *out,
                         const tf_conv_steps *steps) {
  tf_dtype dt = a->dtype;
  tf_matmul_kernel mm;
  TF_KERNEL(mm, tf_device_of(a), "conv2d", k->matmul[dt]);
  const int64_t G = g->groups, C = g->c_in, O = g->c_out, Cg = C / G,
                Og = O / G;
  const int64_t taps = g->kh * g->kw, K = Cg * taps, L = g->ho * g->wo,
                HW = g->h * g->w;
  const int64_t elsize = (int64_t)tf_dtype_size(dt);
  int64_t numel = tf_shape_numel(out->ndim, out->shape);
  if (numel == 0) return TF_OK;
  /* A product with an empty inner dimension: zeros (plus the bias). */
  bool empty = which == TF_CONV_FORWARD     ? K == 0
               : which == TF_CONV_INPUT_GRAD ? Og == 0 || L == 0
                                             : g->n == 0 || L == 0;
  if (empty) {
    TF_TRY(steps->zero(tf_ptr(out), (size_t)(numel * elsize)));
    if (which == TF_CONV_FORWARD && bias)
      TF_TRY(steps->bias(g, dt, tf_ptr(out), tf_ptr(bias), g->n));
    return TF_OK;
  }
  bool direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
                g->ph == 0 && g->pw == 0 && g->ho == g->h && g->wo == g->w;
  bool wgrad = which == TF_CONV_WEIGHT_GRAD;
  /* Sizes: C * taps * L (one image unfolded) and O * L (one image's gy)
   * times the chunk bound every scratch; each product is checked. */
  int64_t per_image, nb, cols_n = 0, wide_n = 0;
  if (!tf_mul_ok(C, taps, &per_image) || !tf_mul_ok(per_image, L, &per_image))
    return tf_fail(TF_ERR_MEMORY, "conv2d: the unfolded input does not fit "
                   "in memory");
  nb = chunk_of(per_image, g->n);
  if ((!direct || (wgrad && nb > 1)) && !tf_mul_ok(per_image, nb, &cols_n))
    return tf_fail(TF_ERR_MEMORY, "conv2d: the unfolded input does not fit "
                   "in memory");
  if (wgrad && nb > 1 && !tf_mul_ok(O * L, nb, &wide_n))
    return tf_fail(TF_ERR_MEMORY, "conv2d: the gradient chunk does not fit in "
                   "memory");
  int64_t prod_n = 0; /* the weight gradient's (up to 4) segment products */
  if (wgrad && !tf_mul_ok(O * K, 4, &prod_n))
    return tf_fail(TF_ERR_MEMORY, "conv2d: the weight gradient does not fit "
                   "in memory");
  const size_t cols_b = (size_t)(cols_n * elsize), wide_b = (size_t)(wide_n * elsize),
               prod_b = (size_t)(prod_n * elsize),
               acc_b = prod_n ? (size_t)(O * K) * sizeof(double) : 0;
  char *cols = cols_b ? steps->alloc(cols_b) : NULL;
  char *wide = wide_b ? steps->alloc(wide_b) : NULL;
  char *prod = prod_b ? steps->alloc(prod_b) : NULL;
  double *acc = acc_b ? steps->alloc(acc_b) : NULL;
  tf_status st = TF_OK;
  if ((cols_b && !cols) || (wide_b && !wide) || (prod_b && !prod) || (acc_b && !acc))
    st = tf_fail(TF_ERR_MEMORY, "conv2d: out of memory for the unfolded "
                 "input (%lld elements)", (long long)cols_n);
  else if (acc)
    st = steps->zero(acc, acc_b);

  for (int64_t n0 = 0; n0 < g->n && st == TF_OK; n0 += nb) {
    int64_t cur = g->n - n0 < nb ? g->n - n0 : nb;
    tf_tensor ta, tb, to;
    tf_storage sa, sb, so;
    tf_matmul_plan p = {0};
    if (which == TF_CONV_FORWARD) {
      /* per image and group: y[n, g] (Og x L) = W[g] (Og x K) @ cols[n, g] */
      const char *x = tf_ptr(a) + n0 * C * HW * elsize;
      if (!direct) st = steps->im2col(g, dt, x, cols, cur, L, C * taps * L);
      char *y = tf_ptr(out) + n0 * O * L * elsize;
      int64_t bshape[4] = {cur, G, K, L}, oshape[4] = {cur, G, Og, L};
      window(&tb, &sb, a, direct ? x : cols, 4, bshape);
      window(&to, &so, a, y, 4, oshape);
      p.batch_ndim = 2, p.batch[0] = cur, p.batch[1] = G;
      p.m = Og, p.k = K, p.n = L;
      p.a_batch_strides[0] = 0, p.a_batch_strides[1] = Og * K;
      p.a_rs = K, p.a_cs = 1;
      p.b_batch_strides[0] = G * K * L, p.b_batch_strides[1] = K * L;
      p.b_rs = L, p.b_cs = 1;
      p.out_ndim = 4;
      memcpy(p.out_shape, oshape, sizeof oshape);
      if (st == TF_OK) st = mm(&p, b, &tb, &to);
      if (st == TF_OK && bias) st = steps->bias(g, dt, y, tf_ptr(bias), cur);
    } else if (which == TF_CONV_INPUT_GRAD) {
      /* cols[n, g] (K x L) = W[g]^T (K x Og) @ gy[n, g]; gx = col2im */
      char *gx = tf_ptr(out) + n0 * C * HW * elsize;
      int64_t ashape[4] = {cur, O, g->ho, g->wo}, oshape[4] = {cur, G, K, L};
      window(&ta, &sa, a, tf_ptr(a) + n0 * O * L * elsize, 4, ashape);
      window(&to, &so, a, direct ? gx : cols, 4, oshape);
      p.batch_ndim = 2, p.batch[0] = cur, p.batch[1] = G;
      p.m = K, p.k = Og, p.n = L;
      p.a_batch_strides[0] = 0, p.a_batch_strides[1] = Og * K;
      p.a_rs = 1, p.a_cs = K;
      p.b_batch_strides[0] = O * L, p.b_batch_strides[1] = Og * L;
      p.b_rs = L, p.b_cs = 1;
      p.out_ndim = 4;
      memcpy(p.out_shape, oshape, sizeof oshape);
      st = mm(&p, b, &ta, &to);
      if (st == TF_OK && !direct) st = steps->col2im(g, dt, cols, gx, cur, L, C * taps * L);
    } else {
      /* The chunk's images side by side, columns (n, l), M of them: one
       * product per group, gW[g] (Og x K) += gy[g] (Og x M) @ cols[g]^T,
       * with gy laid out (O, cur, L) (a chunk of one image as it is). */
      int64_t M = cur * L;
      bool use_x = direct && cur == 1;
      const char *x = tf_ptr(a) + n0 * C * HW * elsize;
      const char *gy = tf_ptr(b) + n0 * O * L * elsize;
      if (!use_x) st = steps->im2col(g, dt, x, cols, cur, M, L);
      if (st == TF_OK && cur > 1) {
        st = steps->permute(g, dt, gy, wide, cur);
        gy = wide;
      }
      /* The columns in S segments of whole images (S <= 4 dividing cur,
       * fixed by the shape): S x G products that threads can share even
       * when one product's output is a single tile, summed in order. */
      int64_t S = cur % 4 == 0 ? 4 : cur % 3 == 0 ? 3 : cur % 2 == 0 ? 2 : 1;
      int64_t Ms = M / S;
      int64_t gshape[3] = {G, Og, M}, cshape[3] = {G, K, M},
              oshape[4] = {S, G, Og, K};
      window(&ta, &sa, a, gy, 3, gshape);
      window(&tb, &sb, a, use_x ? x : cols, 3, cshape);
      window(&to, &so, a, prod, 4, oshape);
      p.batch_ndim = 2, p.batch[0] = S, p.batch[1] = G;
      p.m = Og, p.k = Ms, p.n = K;
      p.a_batch_strides[0] = Ms, p.a_batch_strides[1] = Og * M;
      p.a_rs = M, p.a_cs = 1;
      p.b_batch_strides[0] = Ms, p.b_batch_strides[1] = K * M;
      p.b_rs = 1, p.b_cs = M;
      p.out_ndim = 4;
      memcpy(p.out_shape, oshape, sizeof oshape);
      if (st == TF_OK) st = mm(&p, &ta, &tb, &to);
      for (int64_t seg = 0; seg < S && st == TF_OK; seg++)
        st = steps->accumulate(dt, acc, prod + seg * O * K * elsize, O * K);
    }
  }
  if (st == TF_OK && wgrad) st = steps->finish(dt, tf_ptr(out), acc, O * K);
  if (cols) steps->release(cols, cols_b);
  if (wide) steps->release(wide, wide_b);
  if (prod) steps->release(prod, prod_b);
  if (acc) steps->release(acc, acc_b);
  return st;
}
