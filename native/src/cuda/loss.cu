/* loss.cu: cross-entropy and BCE with logits on the device, forward and
 * backward: the rows and elements of cpu/loss_rows.h (the cpu's own code,
 * compiled as device functions), one thread per row or element, and the
 * sums in the cpu's blocks and order, so a loss and its gradient are the
 * cpu's bits (loss_rows.h says when a last bit can differ). The index
 * targets were copied to the host and checked there (backend.c), so every
 * yv here is a class or ignore_index. */
#include "device_api.h"
#include "launch.h"

namespace {

/* Row r's loss: into out (reduction none), or with its share of mean's
 * denominator into vals[2r], vals[2r + 1]. */
__global__ void ce_rows(tf_ce_plan p, const char *x, const char *t, const int64_t *yv,
                        const char *w, int dt, char *out, double *vals) {
  TFC_FOR_EACH(r, p.rows) {
    double den, v = tf_ce_row(&p, x, t, yv, w, dt, r, &den);
    if (vals) {
      vals[2 * r] = v;
      vals[2 * r + 1] = den;
    } else {
      tf_loss_store(out, tf_loss_offset(r, p.row_ndim, p.row_shape, p.o_rs), dt, v);
    }
  }
}

/* Block b's compensated sums of the losses and of the denominators, as the
 * cpu forms them: part[4b .. 4b + 3] = (loss s, c, den s, c). */
__global__ void ce_blocks(int64_t rows, int64_t per_block, int64_t blocks, const double *vals,
                          double *part) {
  TFC_FOR_EACH(b, blocks) {
    tf_nsum ls = {0, 0}, ds = {0, 0};
    int64_t end = (b + 1) * per_block < rows ? (b + 1) * per_block : rows;
    for (int64_t r = b * per_block; r < end; r++) {
      tf_nsum_add(&ls, vals[2 * r]);
      tf_nsum_add(&ds, vals[2 * r + 1]);
    }
    part[4 * b] = ls.s, part[4 * b + 1] = ls.c, part[4 * b + 2] = ds.s, part[4 * b + 3] = ds.c;
  }
}

/* The blocks in order, then sum or mean (0 / 0 = NaN when every target is
 * ignored, as on the cpu): one thread. */
__global__ void ce_total(int reduction, int64_t blocks, const double *part, int dt, char *out) {
  TFC_FOR_EACH(i, 1) {
    tf_nsum ls = {0, 0}, ds = {0, 0};
    for (int64_t b = 0; b < blocks; b++) {
      tf_nsum_add(&ls, tf_nsum_value(tf_nsum{part[4 * b], part[4 * b + 1]}));
      tf_nsum_add(&ds, tf_nsum_value(tf_nsum{part[4 * b + 2], part[4 * b + 3]}));
    }
    double total = tf_nsum_value(ls);
    tf_loss_store(out, 0, dt, reduction == TF_LOSS_SUM ? total : total / tf_nsum_value(ds));
  }
}

/* The backward's scalars, as the cpu computes them: s[0] = the upstream
 * gradient over mean's denominator (reductions mean and sum), s[1] = the
 * class weights' sum. One thread. */
__global__ void ce_scale(tf_ce_plan p, const char *g, const int64_t *yv, const char *w, int dt,
                         double *s) {
  TFC_FOR_EACH(i, 1) {
    s[1] = tf_ce_weight_sum(&p, w, dt);
    s[0] = 1.0;
    if (p.reduction != TF_LOSS_NONE) {
      s[0] = tf_loss_load(g, 0, dt);
      if (p.reduction == TF_LOSS_MEAN) s[0] /= tf_ce_denominator(&p, yv, w, dt);
    }
  }
}

__global__ void ce_grad_rows(tf_ce_plan p, const char *x, const char *t, const int64_t *yv,
                             const char *w, const char *g, int dt, const double *s, char *dx) {
  TFC_FOR_EACH(r, p.rows) tf_ce_grad_row(&p, x, t, yv, w, g, dt, s[0], s[1], r, dx);
}

/* Element e of BCE with logits: its loss (grad false) or x-derivative by
 * the cpu's path for dtype dt, times weight, then (reduction none) the
 * upstream gradient g, then scale, in the cpu's order: into vals, or
 * rounded into out. The backward of a reduction scales by g[0] (over
 * numel for mean) instead. */
__global__ void bce_elements(tf_bce_plan p, int dt, bool grad, const char *x, const char *t,
                             const char *w, const char *pw, const char *g, char *out,
                             double *vals) {
  const bool scalar_grad = grad && p.reduction != TF_LOSS_NONE;
  TFC_FOR_EACH(e, p.numel) {
    double scale = 1.0;
    if (scalar_grad) {
      scale = tf_loss_load(g, 0, dt);
      if (p.reduction == TF_LOSS_MEAN) scale /= (double)p.numel;
    }
    const double xv = tf_loss_load(x, tf_loss_offset(e, p.ndim, p.shape, p.x_s), dt);
    const double yv = tf_loss_load(t, tf_loss_offset(e, p.ndim, p.shape, p.t_s), dt);
    const double pv = pw ? tf_loss_load(pw, tf_loss_offset(e, p.ndim, p.shape, p.pw_s), dt) : 1.0;
    double f = tf_bce_value(dt, grad, xv, yv, pv, pw != NULL);
    if (w) f *= tf_loss_load(w, tf_loss_offset(e, p.ndim, p.shape, p.w_s), dt);
    if (g && !scalar_grad) f *= tf_loss_load(g, tf_loss_offset(e, p.ndim, p.shape, p.g_s), dt);
    if (vals)
      vals[e] = f * scale;
    else
      tf_loss_store(out, e, dt, f * scale);
  }
}

/* Block b's compensated sum (part[2b], part[2b + 1]), as the cpu's. */
__global__ void bce_blocks(int dt, int64_t numel, int64_t blocks, const double *vals,
                           double *part) {
  TFC_FOR_EACH(b, blocks) {
    const int64_t block = TF_BCE_BLOCK, left = numel - b * block, n = left < block ? left : block;
    tf_nsum s = tf_bce_block_sum(dt, vals + b * TF_BCE_BLOCK, n);
    part[2 * b] = s.s, part[2 * b + 1] = s.c;
  }
}

/* The blocks in order, then sum or mean: one thread. */
__global__ void bce_total(int reduction, int64_t numel, int64_t blocks, const double *part,
                          int dt, char *out) {
  TFC_FOR_EACH(i, 1) {
    tf_nsum s = {0, 0};
    for (int64_t b = 0; b < blocks; b++)
      tf_nsum_add(&s, tf_nsum_value(tf_nsum{part[2 * b], part[2 * b + 1]}));
    const double total = tf_nsum_value(s);
    tf_loss_store(out, 0, dt, reduction == TF_LOSS_SUM ? total : total / (double)numel);
  }
}

}  // namespace

extern "C" {

int tfc_bce_with_logits(int dtype, const tf_bce_plan *plan, int grad, const void *x,
                        const void *t, const void *w, const void *pw, const void *g, void *out,
                        double *scratch, char *why, size_t why_len) {
  const tf_bce_plan p = *plan;
  const char *xc = (const char *)x, *tc = (const char *)t, *wc = (const char *)w,
             *pc = (const char *)pw, *gc = (const char *)g;
  const bool reduce = !grad && p.reduction != TF_LOSS_NONE;
  const int64_t blocks = (p.numel + TF_BCE_BLOCK - 1) / TF_BCE_BLOCK;
  if (p.numel > 0)
    TFC_LAUNCH(bce_elements, grid_for(p.numel), kBlock, p, dtype, (bool)grad, xc, tc, wc, pc, gc,
               (char *)out, reduce ? scratch : (double *)NULL);
  if (reduce) {
    double *part = scratch + p.numel;
    if (blocks > 0)
      TFC_LAUNCH(bce_blocks, grid_for(blocks), kBlock, dtype, p.numel, blocks,
                 (const double *)scratch, part);
    TFC_LAUNCH(bce_total, 1, 1, p.reduction, p.numel, blocks, (const double *)part, dtype,
               (char *)out);
  }
  return fail(cudaGetLastError(), "binary_cross_entropy_with_logits kernel", why, why_len);
}


int tfc_cross_entropy(int dtype, const tf_ce_plan *plan, const void *x, const void *t,
                      const int64_t *yv, const void *w, void *out, double *scratch, char *why,
                      size_t why_len) {
  const tf_ce_plan p = *plan; /* by value: a kernel argument */
  const char *xc = (const char *)x, *tc = (const char *)t, *wc = (const char *)w;
  if (p.reduction == TF_LOSS_NONE) {
    if (p.rows == 0) return 0;
    TFC_LAUNCH(ce_rows, grid_for(p.rows), kBlock, p, xc, tc, yv, wc, dtype, (char *)out,
               (double *)NULL);
    return fail(cudaGetLastError(), "cross_entropy kernel", why, why_len);
  }
  const int64_t per_block = tf_ce_block_rows(&p), blocks = (p.rows + per_block - 1) / per_block;
  double *vals = scratch, *part = scratch + 2 * p.rows;
  if (p.rows > 0) {
    TFC_LAUNCH(ce_rows, grid_for(p.rows), kBlock, p, xc, tc, yv, wc, dtype, (char *)NULL, vals);
    TFC_LAUNCH(ce_blocks, grid_for(blocks), kBlock, p.rows, per_block, blocks, vals, part);
  }
  TFC_LAUNCH(ce_total, 1, 1, p.reduction, blocks, part, dtype, (char *)out);
  return fail(cudaGetLastError(), "cross_entropy kernel", why, why_len);
}

int tfc_cross_entropy_backward(int dtype, const tf_ce_plan *plan, const void *grad,
                               const void *x, const void *t, const int64_t *yv, const void *w,
                               void *dx, double *scratch, char *why, size_t why_len) {
  const tf_ce_plan p = *plan;
  if (p.rows == 0 || p.classes == 0) return 0;
  const char *wc = (const char *)w, *gc = (const char *)grad;
  TFC_LAUNCH(ce_scale, 1, 1, p, gc, yv, wc, dtype, scratch);
  TFC_LAUNCH(ce_grad_rows, grid_for(p.rows), kBlock, p, (const char *)x, (const char *)t, yv, wc,
             gc, dtype, (const double *)scratch, (char *)dx);
  return fail(cudaGetLastError(), "cross_entropy backward kernel", why, why_len);
}

}  // extern "C"
