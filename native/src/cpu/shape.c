/* shape.c: the cpu kernels of the shape ops that are more than copies:
 * pad's reflect and replicate modes, and tril/triu (the entry points, and
 * cat, flip and constant pad made of views and copies, are ops/shape.c). */
#include <stdlib.h>

#include "../backend.h"
#include "take.h"

/* The cpu's pad slot (reflect and replicate): one offset table per dim,
 * output position -> source element offset. */
tf_status tf_cpu_pad(const tf_tensor *t, const int64_t *pads, int mode,
                     tf_tensor *o) {
  int64_t total = 0;
  for (int d = 0; d < o->ndim; d++) total += o->shape[d];
  int64_t *buf = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
  if (!buf) return tf_fail(TF_ERR_MEMORY, "pad: out of memory");
  int64_t *maps[TF_MAX_DIMS], *m = buf;
  for (int d = 0; d < o->ndim; d++) {
    maps[d] = m;
    int64_t size = t->shape[d], before = pads[2 * d];
    for (int64_t j = 0; j < o->shape[d]; j++) {
      int64_t i = j - before;
      if (mode == TF_PAD_REFLECT) {
        i = i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i;
      } else {
        i = i < 0 ? 0 : i >= size ? size - 1 : i;
      }
      m[j] = i * t->strides[d];
    }
    m += o->shape[d];
  }
  tf_take_maps(tf_ptr(o), tf_ptr(t), tf_dtype_size(t->dtype), o->ndim,
               o->shape, maps);
  free(buf);
  return TF_OK;
}

/* ---- tril / triu ---------------------------------------------------------- */
/* Zero the dropped columns of row r of a contiguous (..., rows, cols)
 * tensor; all-zero bytes are 0 / 0.0 / false in every dtype. k is clamped
 * by the caller so row + k cannot overflow. */
static void tril_row(char *base, int64_t es, int64_t rows, int64_t cols,
                     int64_t k, bool upper, int64_t r) {
  int64_t row = r % rows, from, to; /* zero the columns [from, to) */
  if (upper) {
    from = 0;
    to = row + k < 0 ? 0 : row + k > cols ? cols : row + k;
  } else {
    from = row + k + 1 < 0 ? 0 : row + k + 1 > cols ? cols : row + k + 1;
    to = cols;
  }
  if (to > from)
    memset(base + (r * cols + from) * es, 0, (size_t)((to - from) * es));
}

/* The cpu's tril slot: dst is a contiguous copy of the input; k clamped. */
tf_status tf_cpu_tril(tf_tensor *o, int64_t k, bool upper) {
  int64_t rows = o->shape[o->ndim - 2], cols = o->shape[o->ndim - 1];
  int64_t numel = tf_tensor_numel(o);
  if (numel == 0) return TF_OK;
  int64_t nrows = numel / cols, es = (int64_t)tf_dtype_size(o->dtype);
  char *base = tf_ptr(o);
  if (numel < TF_PARALLEL_GRAIN) {
    for (int64_t r = 0; r < nrows; r++)
      tril_row(base, es, rows, cols, k, upper, r);
  } else {
    TF_PARALLEL_FOR(true)
    for (int64_t r = 0; r < nrows; r++)
      tril_row(base, es, rows, cols, k, upper, r);
  }
  return TF_OK;
}
