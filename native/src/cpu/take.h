/* take.h: the gather loop that pad, index_select and index_get share. The
 * output is a new contiguous buffer; its element o reads the source at the
 * element offset sum_d maps[d][o_d], one offset table per output dim, so any
 * per-dim remapping (reflection, clamping, a list of indices) and any source
 * strides cost one table lookup per dim. Pure copies: the row split over
 * threads cannot change a result. */
#ifndef TF_CPU_TAKE_H
#define TF_CPU_TAKE_H

#include "../internal.h"

/* Fixed-size memcpy compiles to one move and keeps strict aliasing intact. */
#define TF_TAKE_ROW(NBYTES)                                              \
  for (int64_t j = 0; j < inner; j++)                                    \
    memcpy(o + j * (NBYTES), s + imap[j] * (NBYTES), (NBYTES))

/* Output row r (of length shape[ndim - 1]). */
static inline void tf_take_row(char *dst, const char *src, int64_t es,
                               int ndim, const int64_t *shape,
                               int64_t *const *maps, int64_t r) {
  int64_t inner = shape[ndim - 1], rest = r, base = 0;
  const int64_t *imap = maps[ndim - 1];
  for (int d = ndim - 2; d >= 0; d--) {
    base += maps[d][rest % shape[d]];
    rest /= shape[d];
  }
  char *o = dst + r * inner * es;
  const char *s = src + base * es;
  switch (es) {
    case 8: TF_TAKE_ROW(8); break;
    case 4: TF_TAKE_ROW(4); break;
    default: TF_TAKE_ROW(1); break;
  }
}
#undef TF_TAKE_ROW

static inline void tf_take_maps(char *dst, const char *src, size_t elsize,
                                int ndim, const int64_t *shape,
                                int64_t *const *maps) {
  int64_t numel = tf_shape_numel(ndim, shape);
  if (numel == 0) return;
  if (ndim == 0) {
    memcpy(dst, src, elsize);
    return;
  }
  int64_t es = (int64_t)elsize, rows = numel / shape[ndim - 1];
  if (numel < TF_PARALLEL_GRAIN) { /* no thread start-up for small copies */
    for (int64_t r = 0; r < rows; r++)
      tf_take_row(dst, src, es, ndim, shape, maps, r);
    return;
  }
  TF_PARALLEL_FOR(true)
  for (int64_t r = 0; r < rows; r++)
    tf_take_row(dst, src, es, ndim, shape, maps, r);
}

#endif /* TF_CPU_TAKE_H */
