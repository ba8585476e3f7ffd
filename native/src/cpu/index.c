/* index.c: the cpu kernels of gather, scatter_add, index_select, advanced
 * indexing (index_get, index_put_) and nonzero (the entry points, with the
 * shape checks, are ops/index.c). Index tensors are int64 with any strides.
 * Every index is checked before anything is written, so a failing call
 * leaves its target untouched; loops that accumulate run serially in
 * row-major order, so repeated indices add up in one fixed order.
 *
 * Another Python thread may write an index tensor (or nonzero's input) while
 * an op runs on it. Each op therefore reads those values exactly once, into
 * private memory, and both checks and uses that snapshot: a concurrent
 * write can make the result meaningless but cannot move an access outside
 * a storage. */
#include <stdlib.h>

#include "../backend.h"
#include "take.h"

/* ---- shared helpers ------------------------------------------------------- */
/* A row-major walk over a shape carrying one running element offset per
 * operand (up to 3), each with its own strides. */
typedef struct {
  int ndim, nops;
  int64_t shape[TF_MAX_DIMS], idx[TF_MAX_DIMS];
  int64_t strides[3][TF_MAX_DIMS];
  int64_t off[3];
} walk;

static void walk_init(walk *w, int ndim, const int64_t *shape, int nops) {
  memset(w, 0, sizeof *w);
  w->ndim = ndim;
  w->nops = nops;
  memcpy(w->shape, shape, sizeof(int64_t) * (size_t)ndim);
}

static inline void walk_next(walk *w) {
  for (int d = w->ndim - 1; d >= 0; d--) {
    for (int k = 0; k < w->nops; k++) w->off[k] += w->strides[k][d];
    if (++w->idx[d] < w->shape[d]) return;
    for (int k = 0; k < w->nops; k++)
      w->off[k] -= w->strides[k][d] * w->shape[d];
    w->idx[d] = 0;
  }
}

/* The snapshot: index's values in row-major order, each checked to lie in
 * [0, size), or with `wrap` in [-size, size) and wrapped to [0, size) as
 * advanced indexing does (PyTorch's gather/scatter do not wrap, and neither
 * do those here); stored times `scale` (a stride turns them into element
 * offsets). Each value is read once, through a volatile load, so the
 * compiler cannot read it again after the check: the value checked is the
 * value used. The caller frees *vals. (The CUDA backend checks a device
 * index with this too, on a host copy: backend.h.) */
tf_status tf_index_snapshot(const char *op, const tf_tensor *index, int dim,
                            int64_t size, bool wrap, int64_t scale,
                            int64_t **vals) {
  int64_t shape[TF_MAX_DIMS], strides[TF_MAX_DIMS];
  int nd = tf_geom_1d(index, shape, strides);
  int64_t n = tf_shape_numel(nd, shape), lo = wrap ? -size : 0;
  int64_t *v = malloc(sizeof *v * (size_t)(n ? n : 1));
  if (!v) return tf_fail(TF_ERR_MEMORY, "%s: out of memory", op);
  const volatile int64_t *p = (const volatile int64_t *)tf_ptr(index);
  walk w;
  walk_init(&w, nd, shape, 1);
  memcpy(w.strides[0], strides, sizeof(int64_t) * (size_t)nd);
  for (int64_t i = 0; i < n; i++, walk_next(&w)) {
    int64_t x = p[w.off[0]];
    if (x >= lo && x < size) {
      v[i] = (x < 0 ? x + size : x) * scale;
      continue;
    }
    free(v);
    /* Advanced indexing's message leaves the op out: Python names it. */
    if (wrap)
      return tf_fail(TF_ERR_INDEX, "index %lld is out of bounds for dimension "
                     "%d with size %lld", (long long)x, dim, (long long)size);
    return tf_fail(TF_ERR_INDEX, "%s: index %lld is out of bounds for "
                   "dimension %d with size %lld", op, (long long)x, dim,
                   (long long)size);
  }
  *vals = v;
  return TF_OK;
}

/* ---- gather --------------------------------------------------------------- */
tf_status tf_cpu_gather(const tf_tensor *t, int dim, const tf_tensor *index,
                        tf_tensor *o) {
  int64_t ts[TF_MAX_DIMS], tstr[TF_MAX_DIMS], is[TF_MAX_DIMS], istr[TF_MAX_DIMS];
  int nd = tf_geom_1d(t, ts, tstr);
  tf_geom_1d(index, is, istr);
  int64_t *iv = NULL;
  TF_TRY(tf_index_snapshot("gather", index, dim, ts[dim], false, 1, &iv));
  walk w;
  walk_init(&w, nd, is, 1);
  memcpy(w.strides[0], tstr, sizeof(int64_t) * (size_t)nd);
  w.strides[0][dim] = 0; /* the index value picks the position in dim */
  int64_t n = tf_shape_numel(nd, is), es = (int64_t)tf_dtype_size(t->dtype);
  const char *src = tf_ptr(t);
  char *dst = tf_ptr(o);
  for (int64_t i = 0; i < n; i++, walk_next(&w)) {
    int64_t off = w.off[0] + iv[i] * tstr[dim];
    memcpy(dst + i * es, src + off * es, (size_t)es);
  }
  free(iv);
  return TF_OK;
}

/* ---- scatter_add ---------------------------------------------------------- */
static inline void add_elem(char *dst, const char *src, tf_dtype dt) {
  switch (dt) {
    case TF_FLOAT32: {
      float x, y;
      memcpy(&x, dst, 4), memcpy(&y, src, 4), x += y, memcpy(dst, &x, 4);
      break;
    }
    case TF_FLOAT64: {
      double x, y;
      memcpy(&x, dst, 8), memcpy(&y, src, 8), x += y, memcpy(dst, &x, 8);
      break;
    }
    case TF_INT64: { /* wraps around instead of signed overflow */
      uint64_t x, y;
      memcpy(&x, dst, 8), memcpy(&y, src, 8), x += y, memcpy(dst, &x, 8);
      break;
    }
    default: /* bool: a sum of truth values is their or */
      *(bool *)dst = *(const bool *)dst || *(const bool *)src;
      break;
  }
}

/* o is a copy of the input; src is added at index along dim. */
tf_status tf_cpu_scatter_add(tf_tensor *o, int dim, const tf_tensor *index,
                             const tf_tensor *src) {
  int64_t os_[TF_MAX_DIMS], ostr[TF_MAX_DIMS], is[TF_MAX_DIMS], istr[TF_MAX_DIMS];
  int64_t ss[TF_MAX_DIMS], sstr[TF_MAX_DIMS];
  int nd = tf_geom_1d(o, os_, ostr);
  tf_geom_1d(index, is, istr);
  tf_geom_1d(src, ss, sstr);
  int64_t *iv = NULL;
  TF_TRY(tf_index_snapshot("scatter_add", index, dim, os_[dim], false, 1, &iv));
  walk w;
  walk_init(&w, nd, is, 2);
  memcpy(w.strides[0], sstr, sizeof(int64_t) * (size_t)nd);
  memcpy(w.strides[1], ostr, sizeof(int64_t) * (size_t)nd);
  w.strides[1][dim] = 0;
  int64_t n = tf_shape_numel(nd, is), es = (int64_t)tf_dtype_size(o->dtype);
  const char *sp = tf_ptr(src);
  char *op = tf_ptr(o);
  for (int64_t i = 0; i < n; i++, walk_next(&w)) {
    int64_t off = w.off[1] + iv[i] * ostr[dim];
    add_elem(op + off * es, sp + w.off[0] * es, o->dtype);
  }
  free(iv);
  return TF_OK;
}

/* ---- index_select --------------------------------------------------------- */
tf_status tf_cpu_index_select(const tf_tensor *t, int dim, const tf_tensor *index,
                              tf_tensor *o) {
  int64_t size = t->ndim ? t->shape[dim] : 1;
  int64_t dstride = t->ndim ? t->strides[dim] : 0;
  int64_t *iv = NULL; /* dim's offset table */
  TF_TRY(tf_index_snapshot("index_select", index, dim, size, false, dstride, &iv));
  int ndim = o->ndim;
  int64_t total = 0;
  for (int d = 0; d < ndim; d++) total += d == dim ? 0 : o->shape[d];
  int64_t *buf = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
  if (!buf) {
    free(iv);
    return tf_fail(TF_ERR_MEMORY, "index_select: out of memory");
  }
  int64_t *maps[TF_MAX_DIMS], *m = buf;
  for (int d = 0; d < ndim; d++) {
    if (d == dim) {
      maps[d] = iv;
      continue;
    }
    maps[d] = m;
    for (int64_t j = 0; j < o->shape[d]; j++) m[j] = j * t->strides[d];
    m += o->shape[d];
  }
  tf_take_maps(tf_ptr(o), tf_ptr(t), tf_dtype_size(t->dtype), ndim, o->shape,
               maps);
  free(buf);
  free(iv);
  return TF_OK;
}

/* ---- advanced indexing ---------------------------------------------------- */
/* One element offset into t per position of the k index tensors' shape I
 * (checked by the entry point to share one shape): sum_j idx_j[i] *
 * stride_j, negative indices wrapped. The caller frees *offs. Only t's
 * shape and strides are read (so t may live on a device; backend.h). */
tf_status tf_index_offsets(const char *op, const tf_tensor *t, int k,
                           tf_tensor *const *indices, int64_t **offs) {
  int64_t n = tf_tensor_numel(indices[0]), *o = NULL;
  for (int j = 0; j < k; j++) {
    int64_t *iv = NULL;
    tf_status st = tf_index_snapshot(op, indices[j], j, t->shape[j], true,
                                  t->strides[j], &iv);
    if (st != TF_OK) {
      free(o);
      return st;
    }
    if (o == NULL) { /* the first index's offsets start the sum */
      o = iv;
      continue;
    }
    for (int64_t i = 0; i < n; i++) o[i] += iv[i];
    free(iv);
  }
  *offs = o;
  return TF_OK;
}

tf_status tf_cpu_index_get(const tf_tensor *t, int k, tf_tensor *const *indices,
                           tf_tensor *o) {
  int64_t *offs = NULL;
  TF_TRY(tf_index_offsets("index", t, k, indices, &offs));
  int nrest = t->ndim - k;
  int64_t n = tf_tensor_numel(indices[0]);
  /* The output read as (numel(I), rest...): I flattens to one offset table. */
  int64_t flat[TF_MAX_DIMS + 1], total = 0;
  flat[0] = n;
  for (int d = 0; d < nrest; d++) {
    flat[1 + d] = t->shape[k + d];
    total += flat[1 + d];
  }
  int64_t *buf = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
  if (!buf) {
    free(offs);
    return tf_fail(TF_ERR_MEMORY, "index: out of memory");
  }
  int64_t *maps[TF_MAX_DIMS + 1], *m = buf;
  maps[0] = offs;
  for (int d = 0; d < nrest; d++) {
    maps[1 + d] = m;
    for (int64_t j = 0; j < flat[1 + d]; j++) m[j] = j * t->strides[k + d];
    m += flat[1 + d];
  }
  tf_take_maps(tf_ptr(o), tf_ptr(t), tf_dtype_size(t->dtype), 1 + nrest,
               flat, maps);
  free(buf);
  free(offs);
  return TF_OK;
}

/* values is in t's dtype, does not share t's storage and broadcasts to
 * I + t.shape[k:]. */
tf_status tf_cpu_index_put(tf_tensor *t, int k, tf_tensor *const *indices,
                           const tf_tensor *v, bool accumulate) {
  int64_t *offs = NULL;
  TF_TRY(tf_index_offsets("index_put_", t, k, indices, &offs));
  const tf_tensor *i0 = indices[0];
  int nI = i0->ndim, nrest = t->ndim - k, nfull = nI + nrest;
  int64_t full[TF_MAX_DIMS];
  memcpy(full, i0->shape, sizeof(int64_t) * (size_t)nI);
  memcpy(full + nI, t->shape + k, sizeof(int64_t) * (size_t)nrest);
  int64_t vstr[TF_MAX_DIMS];
  tf_broadcast_strides(v, nfull, full, vstr);
  int64_t n = tf_tensor_numel(i0), es = (int64_t)tf_dtype_size(t->dtype);
  int64_t nr = tf_shape_numel(nrest, full + nI);
  char *dst = tf_ptr(t);
  const char *src = tf_ptr(v);
  walk wi, wr;
  walk_init(&wi, nI, full, 1);
  memcpy(wi.strides[0], vstr, sizeof(int64_t) * (size_t)nI);
  walk_init(&wr, nrest, full + nI, 2);
  memcpy(wr.strides[0], t->strides + k, sizeof(int64_t) * (size_t)nrest);
  memcpy(wr.strides[1], vstr + nI, sizeof(int64_t) * (size_t)nrest);
  /* Serial, in row-major order of I: the last write of a repeated index
   * wins, and accumulation adds in one fixed order. */
  for (int64_t i = 0; i < n; i++, walk_next(&wi)) {
    char *d = dst + offs[i] * es;
    const char *s = src + wi.off[0] * es;
    for (int64_t r = 0; r < nr; r++, walk_next(&wr)) {
      if (accumulate)
        add_elem(d + wr.off[0] * es, s + wr.off[1] * es, t->dtype);
      else
        memcpy(d + wr.off[0] * es, s + wr.off[1] * es, (size_t)es);
    }
  }
  free(offs);
  return TF_OK;
}

/* ---- nonzero -------------------------------------------------------------- */
static inline bool is_nonzero(const char *p, tf_dtype dt) {
  switch (dt) {
    case TF_FLOAT32: { float x; memcpy(&x, p, 4); return x != 0; }
    case TF_FLOAT64: { double x; memcpy(&x, p, 8); return x != 0; }
    case TF_INT64: { int64_t x; memcpy(&x, p, 8); return x != 0; }
    default: return *(const bool *)p;
  }
}

tf_status tf_cpu_nonzero(const tf_tensor *t, tf_tensor **out) {
  int64_t n = tf_tensor_numel(t), es = (int64_t)tf_dtype_size(t->dtype);
  /* The count and the fill read one snapshot (a byte per element): had the
   * input changed between two reads, the fill could outrun the output. */
  bool *nz = malloc((size_t)(n ? n : 1));
  if (!nz) return tf_fail(TF_ERR_MEMORY, "nonzero: out of memory");
  const char *p = tf_ptr(t);
  walk w;
  walk_init(&w, t->ndim, t->shape, 1);
  memcpy(w.strides[0], t->strides, sizeof(int64_t) * (size_t)t->ndim);
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++, walk_next(&w)) {
    nz[i] = is_nonzero(p + w.off[0] * es, t->dtype);
    count += nz[i];
  }
  int64_t shape[2] = {count, t->ndim};
  tf_tensor *o = NULL;
  tf_status st = tf_new_on(t->storage->alloc, 2, shape, TF_INT64, &o);
  if (st != TF_OK) {
    free(nz);
    return st;
  }
  int64_t *coords = (int64_t *)tf_ptr(o);
  walk_init(&w, t->ndim, t->shape, 0);
  for (int64_t i = 0; i < n; i++, walk_next(&w)) {
    if (!nz[i]) continue;
    memcpy(coords, w.idx, sizeof(int64_t) * (size_t)t->ndim);
    coords += t->ndim;
  }
  free(nz);
  *out = o;
  return TF_OK;
}
