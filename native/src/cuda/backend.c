/* backend.c: the CUDA backend in the core: loading libtinyfin_cuda.so
 * (device_api.h) at run time, the caching allocator of device memory, and
 * the kernel table.
 *
 * Loading. Once per process, at the first question about CUDA: the library
 * named by TINYFIN_CUDA_LIB, else libtinyfin_cuda.so beside libtinyfin.so.
 * The backend is available when the library loads, speaks this core's ABI
 * version and the CUDA runtime sees a device; otherwise the reason is kept
 * (no library built, no driver, no device) and every call that needs CUDA
 * fails with it. A process made by fork() after CUDA was set up cannot use
 * it (the CUDA runtime does not survive fork; use the spawn start method).
 *
 * Allocation. Device memory is slow to get (cudaMalloc synchronizes), so
 * freed blocks are kept, by size rounded up (to 512 B, from 1 MiB up to
 * whole MiB), and handed to the next request of that size: a training
 * loop allocates the same sizes every step and, after its first step,
 * calls cudaMalloc no more. empty_cache returns the kept blocks; an
 * allocation that fails empties the cache and tries once more, then
 * fails (MemoryError in Python). Counters: bytes in live storages (and
 * their peak) and bytes reserved from the device (live plus kept).
 *
 * Kernels. This table fills fill, copies (strided and broadcast too,
 * converting dtypes), every unary and every binary op (the cpu's scalar
 * functions, compiled for the device), where, every reduction and
 * softmax (reduce.cu), matmul (matmul.cu: cuBLAS, or the tiled kernel),
 * the creation kernels (creation.cu: arange, linspace, eye, random,
 * tril, pad) and the optimizers' steps (optim.cu). Every other slot is
 * listed at the table with why it is NULL, which TF_KERNEL reports with
 * the reason: never a silent fallback to host code reading device
 * pointers. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* access */

#include "../backend.h"
#include "device_api.h"

enum { WHY_LEN = 512 };

/* ---- the library -------------------------------------------------------------- */
static struct {
  int (*abi_version)(void);
  int (*device_count)(int *, char *, size_t);
  int (*malloc)(void **, size_t, char *, size_t);
  int (*free)(void *, char *, size_t);
  int (*memcpy)(void *, const void *, size_t, int, char *, size_t);
  int (*fill)(void *, const void *, int, int64_t, char *, size_t);
  int (*host_alloc)(void **, size_t, char *, size_t);
  int (*host_free)(void *, char *, size_t);
  int (*upload_async)(void *, const void *, size_t, char *, size_t);
  int (*copy_strided)(void *, const void *, int, int, const int64_t *, const int64_t *,
                      const int64_t *, char *, size_t);
  int (*convert)(void *, int, const void *, int, int, const int64_t *, const int64_t *,
                 const int64_t *, char *, size_t);
  int (*binary_count)(void);
  int (*binary)(int, int, void *, const void *, const void *, const void *, const void *, int,
                const int64_t *, const int64_t *, const int64_t *, const int64_t *, char *,
                size_t);
  int (*unary_count)(void);
  int (*unary)(int, int, void *, const void *, int, const int64_t *, const int64_t *,
               const int64_t *, const double *, char *, size_t);
  int (*reduce_count)(void);
  int (*reduce_scratch)(int, const int64_t *, const int64_t *, uint32_t, size_t *);
  int (*reduce)(int, int, const void *, int, const int64_t *, const int64_t *, uint32_t, double,
                int, void *, int64_t *, void *, size_t, char *, size_t);
  int (*softmax)(int, const void *, void *, int, const int64_t *, const int64_t *,
                 const int64_t *, int, int, void *, size_t, char *, size_t);
  int (*where)(int, void *, const void *, const void *, const void *, const void *,
               const void *, const void *, int, const int64_t *, const int64_t *,
               const int64_t *, const int64_t *, const int64_t *, char *, size_t);
  int (*matmul)(int, const void *, const void *, void *, const tfc_matmul_geometry *, int,
                char *, size_t);
  int (*cublas_load)(const char *, char *, size_t);
  int (*arange)(int, void *, int64_t, double, double, int64_t, int64_t, char *, size_t);
  int (*linspace)(int, void *, int64_t, double, double, char *, size_t);
  int (*random)(int, int, void *, int64_t, const double *, uint64_t, uint64_t, char *, size_t);
  int (*tril)(int, void *, int64_t, int64_t, int64_t, int64_t, int, char *, size_t);
  int (*pad)(int, void *, const void *, int, const int64_t *, const int64_t *, const int64_t *,
             const int64_t *, int, char *, size_t);
  int (*take)(int, void *, const void *, const tfc_geometry *, int, const int64_t *, int64_t,
              char *, size_t);
  int (*put)(int, void *, const void *, const tfc_geometry *, const tfc_geometry *,
             const tfc_geometry *, const int64_t *, const int64_t *, const int64_t *, int64_t, int,
             char *, size_t);
  int (*optim)(int, const tf_optim_plan *, void *, const void *, void *, void *, void *, char *,
               size_t);
  int (*im2col)(int, const tfc_conv_geometry *, const void *, void *, int64_t, int64_t, int64_t,
                char *, size_t);
  int (*col2im)(int, const tfc_conv_geometry *, const void *, void *, int64_t, int64_t, int64_t,
                char *, size_t);
  int (*conv_bias)(int, const tfc_conv_geometry *, void *, const void *, int64_t, char *, size_t);
  int (*accumulate)(int, double *, const void *, int64_t, char *, size_t);
  int64_t (*norm_scratch)(const tfc_norm_geometry *, int);
  int (*norm)(int, const tfc_norm_geometry *, const void *, const void *, const void *, double,
              int, double, void *, int64_t, void *, int64_t, double *, double *, void *,
              double *, char *, size_t);
  int (*norm_backward)(int, const tfc_norm_geometry *, const void *, const void *, const void *,
                       const double *, const double *, int, void *, void *, int64_t, void *,
                       int64_t, double *, char *, size_t);
  int (*pool)(int, const tfc_pool_plan *, const void *, void *, int64_t *, char *, size_t);
  int (*pool_check_indices)(const tfc_pool_plan *, const int64_t *, uint64_t *, char *, size_t);
  int (*pool_backward)(int, const tfc_pool_plan *, const void *, const int64_t *, void *, int,
                       char *, size_t);
  int (*nonzero_mark)(int, const void *, const tfc_geometry *, int64_t, uint8_t *, int64_t,
                      int64_t *, char *, size_t);
  int (*nonzero_write)(const uint8_t *, const tfc_geometry *, int64_t, int64_t, const int64_t *,
                       int64_t *, char *, size_t);
  int (*lstm_cell)(int, int64_t, int64_t, const void *, const void *, void *, void *, char *,
                   size_t);
  int (*lstm_cell_backward)(int, int64_t, int64_t, const void *, const void *, const void *,
                            void *, void *, char *, size_t);
  int (*bce_with_logits)(int, const tf_bce_plan *, int, const void *, const void *, const void *,
                         const void *, const void *, void *, double *, char *, size_t);
  int (*cross_entropy)(int, const tf_ce_plan *, const void *, const void *, const int64_t *,
                       const void *, void *, double *, char *, size_t);
  int (*cross_entropy_backward)(int, const tf_ce_plan *, const void *, const void *,
                                const void *, const int64_t *, const void *, void *, double *,
                                char *, size_t);
  int (*synchronize)(char *, size_t);
} api;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool usable;            /* written once under load_once */
static int devices;
static char load_why[WHY_LEN];
static atomic_bool forked_after_setup;

static void in_forked_child(void) {
  if (usable) atomic_store(&forked_after_setup, true);
}

/* The folder of the library this code is in (libtinyfin.so), with '/'. */
static void own_folder(char *dir, size_t len) {
  Dl_info info;
  dir[0] = '\0';
  if (dladdr((void *)own_folder, &info) && info.dli_fname) {
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash) snprintf(dir, len, "%.*s/", (int)(slash - info.dli_fname), info.dli_fname);
  }
}

static void load(void) {
  char path[4096];
  const char *env = getenv("TINYFIN_CUDA_LIB");
  if (env && *env) {
    snprintf(path, sizeof path, "%s", env);
  } else {
    char dir[3800];
    own_folder(dir, sizeof dir);
    snprintf(path, sizeof path, "%slibtinyfin_cuda.so", dir);
  }
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *err = dlerror();
    if (env && *env)
      snprintf(load_why, WHY_LEN, "TINYFIN_CUDA_LIB=%.300s does not load: %.150s", path, err);
    else if (access(path, F_OK) == 0)
      snprintf(load_why, WHY_LEN, "%.300s does not load: %.150s", path, err);
    else
      snprintf(load_why, WHY_LEN, "this tinyfin was built without CUDA (no %.300s: "
               "nvcc was not found when it was installed, or `make cuda` was not run)",
               path);
    return;
  }
  const struct { const char *name; void **slot; } symbols[] = {
      {"tfc_abi_version", (void **)&api.abi_version},
      {"tfc_device_count", (void **)&api.device_count},
      {"tfc_malloc", (void **)&api.malloc}, {"tfc_free", (void **)&api.free},
      {"tfc_memcpy", (void **)&api.memcpy}, {"tfc_fill", (void **)&api.fill},
      {"tfc_host_alloc", (void **)&api.host_alloc}, {"tfc_host_free", (void **)&api.host_free},
      {"tfc_upload_async", (void **)&api.upload_async},
      {"tfc_copy_strided", (void **)&api.copy_strided},
      {"tfc_convert", (void **)&api.convert},
      {"tfc_binary_count", (void **)&api.binary_count}, {"tfc_binary", (void **)&api.binary},
      {"tfc_unary_count", (void **)&api.unary_count}, {"tfc_unary", (void **)&api.unary},
      {"tfc_reduce_count", (void **)&api.reduce_count},
      {"tfc_reduce_scratch", (void **)&api.reduce_scratch},
      {"tfc_reduce", (void **)&api.reduce},
      {"tfc_softmax", (void **)&api.softmax},
      {"tfc_where", (void **)&api.where},
      {"tfc_matmul", (void **)&api.matmul},
      {"tfc_cublas_load", (void **)&api.cublas_load},
      {"tfc_arange", (void **)&api.arange}, {"tfc_linspace", (void **)&api.linspace},
      {"tfc_random", (void **)&api.random}, {"tfc_tril", (void **)&api.tril},
      {"tfc_pad", (void **)&api.pad}, {"tfc_take", (void **)&api.take},
      {"tfc_put", (void **)&api.put}, {"tfc_optim", (void **)&api.optim},
      {"tfc_im2col", (void **)&api.im2col}, {"tfc_col2im", (void **)&api.col2im},
      {"tfc_conv_bias", (void **)&api.conv_bias}, {"tfc_accumulate", (void **)&api.accumulate},
      {"tfc_norm_scratch", (void **)&api.norm_scratch}, {"tfc_norm", (void **)&api.norm},
      {"tfc_norm_backward", (void **)&api.norm_backward},
      {"tfc_pool", (void **)&api.pool},
      {"tfc_pool_check_indices", (void **)&api.pool_check_indices},
      {"tfc_pool_backward", (void **)&api.pool_backward},
      {"tfc_nonzero_mark", (void **)&api.nonzero_mark},
      {"tfc_nonzero_write", (void **)&api.nonzero_write},
      {"tfc_lstm_cell", (void **)&api.lstm_cell},
      {"tfc_lstm_cell_backward", (void **)&api.lstm_cell_backward},
      {"tfc_bce_with_logits", (void **)&api.bce_with_logits},
      {"tfc_cross_entropy", (void **)&api.cross_entropy},
      {"tfc_cross_entropy_backward", (void **)&api.cross_entropy_backward},
      {"tfc_synchronize", (void **)&api.synchronize},
  };
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    if (!(*symbols[i].slot = dlsym(lib, symbols[i].name))) {
      snprintf(load_why, WHY_LEN, "%.300s lacks %s: rebuild it with `make cuda`", path,
               symbols[i].name);
      dlclose(lib);
      return;
    }
  }
  if (api.abi_version() != TFC_ABI_VERSION) {
    snprintf(load_why, WHY_LEN, "%.300s speaks interface version %d, this tinyfin %d: "
             "rebuild it with `make cuda`", path, api.abi_version(), TFC_ABI_VERSION);
    dlclose(lib);
    return;
  }
  if (api.unary_count() != TF_UNARY_COUNT || api.binary_count() != TF_BINARY_COUNT ||
      api.reduce_count() != TF_REDUCE_COUNT) {
    snprintf(load_why, WHY_LEN, "%.300s was built from another op list (%d unary, %d "
             "binary and %d reduce ops, this tinyfin %d, %d and %d): rebuild it with "
             "`make cuda`", path, api.unary_count(), api.binary_count(), api.reduce_count(),
             TF_UNARY_COUNT, TF_BINARY_COUNT, TF_REDUCE_COUNT);
    dlclose(lib);
    return;
  }
  char why[WHY_LEN] = "";
  if (api.device_count(&devices, why, sizeof why) != 0 || devices < 1) {
    snprintf(load_why, WHY_LEN, "no CUDA device: %.400s", *why ? why : "the runtime sees none");
    devices = 0;
    return; /* kept open: the library stays valid, only unused */
  }
  pthread_atfork(NULL, NULL, in_forked_child);
  usable = true;
}

static bool cuda_available(const char **why) {
  pthread_once(&load_once, load);
  if (usable && atomic_load(&forked_after_setup)) {
    if (why) *why = "this process was made by fork() after CUDA was set up, and CUDA "
                    "does not survive fork (start workers with the spawn method)";
    return false;
  }
  if (!usable && why) *why = load_why;
  return usable;
}

int tf_cuda_device_count(void) {
  const char *why;
  return cuda_available(&why) ? devices : 0;
}

/* A failed call of the library as a tinyfin error (RuntimeError). */
static tf_status device_error(const char *what, const char *why) {
  return tf_fail(TF_ERR_DEVICE, "cuda: %s failed: %s", what, why);
}

/* ---- the caching allocator ----------------------------------------------------- */
typedef struct cached_block {
  void *ptr;
  size_t size;
  struct cached_block *next;
} cached_block;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_block *cache;         /* kept blocks, newest first */
static atomic_llong live_bytes, peak_bytes, reserved_bytes;

static size_t rounded(size_t nbytes) {
  const size_t small = 512, large = (size_t)1 << 20;
  if (nbytes == 0) return small; /* a storage's data is never NULL */
  size_t unit = nbytes < large ? small : large;
  return (nbytes + unit - 1) / unit * unit;
}

static void count_live(long long delta) {
  long long now = atomic_fetch_add(&live_bytes, delta) + delta;
  long long peak = atomic_load(&peak_bytes);
  while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
  }
}

void tf_cuda_empty_cache(void) {
  pthread_mutex_lock(&cache_lock);
  cached_block *b = cache;
  cache = NULL;
  pthread_mutex_unlock(&cache_lock);
  while (b) {
    cached_block *next = b->next;
    char why[WHY_LEN];
    /* (never in a forked child: its inherited blocks are the parent's) */
    if (usable && !atomic_load(&forked_after_setup)) api.free(b->ptr, why, sizeof why);
    atomic_fetch_sub(&reserved_bytes, (long long)b->size);
    free(b);
    b = next;
  }
}

static void *cuda_alloc(size_t nbytes) {
  size_t size = rounded(nbytes);
  void *ptr = NULL;
  pthread_mutex_lock(&cache_lock);
  for (cached_block **p = &cache; *p; p = &(*p)->next) {
    if ((*p)->size == size) {
      cached_block *b = *p;
      *p = b->next;
      ptr = b->ptr;
      free(b);
      break;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  if (!ptr) {
    char why[WHY_LEN];
    if (api.malloc(&ptr, size, why, sizeof why) != 0) {
      tf_cuda_empty_cache(); /* the kept blocks may be what the device lacks */
      if (api.malloc(&ptr, size, why, sizeof why) != 0) return NULL;
    }
    atomic_fetch_add(&reserved_bytes, (long long)size);
  }
  count_live((long long)size);
  return ptr;
}

static void cuda_free(void *ptr, size_t nbytes) {
  size_t size = rounded(nbytes);
  count_live(-(long long)size);
  cached_block *b = malloc(sizeof *b);
  if (!b) { /* no room to remember it: give it back */
    char why[WHY_LEN];
    api.free(ptr, why, sizeof why);
    atomic_fetch_sub(&reserved_bytes, (long long)size);
    return;
  }
  b->ptr = ptr;
  b->size = size;
  pthread_mutex_lock(&cache_lock);
  b->next = cache;
  cache = b;
  pthread_mutex_unlock(&cache_lock);
}

void tf_cuda_memory_stats(int64_t *allocated, int64_t *max_allocated, int64_t *reserved) {
  *allocated = atomic_load(&live_bytes);
  *max_allocated = atomic_load(&peak_bytes);
  *reserved = atomic_load(&reserved_bytes);
}

void tf_cuda_reset_peak_memory_stats(void) {
  atomic_store(&peak_bytes, atomic_load(&live_bytes));
}

static tf_status copy_bytes(void *dst, const void *src, size_t nbytes, int kind) {
  char why[WHY_LEN];
  if (nbytes && api.memcpy(dst, src, nbytes, kind, why, sizeof why) != 0)
    return device_error("a copy", why);
  return TF_OK;
}

static tf_status cuda_to_host(void *host, const void *data, size_t nbytes) {
  return copy_bytes(host, data, nbytes, TFC_DEVICE_TO_HOST);
}

static tf_status cuda_from_host(void *data, const void *host, size_t nbytes) {
  return copy_bytes(data, host, nbytes, TFC_HOST_TO_DEVICE);
}

tf_status tf_cuda_synchronize(void) {
  const char *reason;
  TF_CHECK(cuda_available(&reason), TF_ERR_DEVICE, "cuda.synchronize: %s", reason);
  char why[WHY_LEN];
  if (api.synchronize(why, sizeof why) != 0) return device_error("a kernel or copy", why);
  return TF_OK;
}

static tf_status cuda_from_host_async(void *data, const void *host, size_t nbytes) {
  char why[WHY_LEN];
  if (api.upload_async(data, host, nbytes, why, sizeof why) != 0)
    return device_error("a copy from pinned memory", why);
  return TF_OK;
}

static const tf_allocator cuda_allocator = {TF_CUDA,        "cuda:0",       false,
                                            cuda_alloc,     cuda_free,      cuda_to_host,
                                            cuda_from_host, cuda_from_host_async};

/* ---- pinned host memory ------------------------------------------------------------
 * Page-locked host blocks from the CUDA runtime (cudaMallocHost): cpu
 * tensors the device copies from asynchronously. A block's free waits for
 * every copy still reading it. A child forked after CUDA was set up
 * cannot call CUDA: it leaves the blocks it inherited alone. */
static void *pinned_alloc(size_t nbytes) {
  void *ptr = NULL;
  char why[WHY_LEN];
  if (!cuda_available(NULL) || api.host_alloc(&ptr, nbytes ? nbytes : 1, why, sizeof why) != 0)
    return NULL;
  return ptr;
}

static void pinned_free(void *ptr, size_t nbytes) {
  (void)nbytes;
  char why[WHY_LEN];
  if (cuda_available(NULL)) api.host_free(ptr, why, sizeof why);
}

const tf_allocator tf_cuda_pinned_allocator = {
    TF_CPU, "cpu (pinned)", true, pinned_alloc, pinned_free, tf_host_copy, tf_host_copy, NULL};

tf_status tf_pin_memory(const tf_tensor *t, tf_tensor **out) {
  TF_TRY(tf_check_device("pin_memory", t));
  TF_CHECK(t->storage->alloc->host, TF_ERR_DEVICE,
           "pin_memory: only cpu tensors can be pinned, got a tensor on %s",
           t->storage->alloc->name);
  const char *why;
  TF_CHECK(cuda_available(&why), TF_ERR_DEVICE,
           "pin_memory: pinned memory is CUDA's, which cannot run here: %s", why);
  if (tf_tensor_is_pinned(t)) {
    tf_tensor_retain((tf_tensor *)t);
    *out = (tf_tensor *)t;
    return TF_OK;
  }
  tf_tensor *r = NULL;
  TF_TRY(tf_new_in(&tf_cuda_pinned_allocator, t->ndim, t->shape, t->dtype, &r));
  tf_status st = tf_copy_(r, t);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

bool tf_tensor_is_pinned(const tf_tensor *t) {
  return t && t->storage->alloc == &tf_cuda_pinned_allocator;
}

/* ---- kernels ------------------------------------------------------------------- */
/* t's strides over dst's dims, broadcast as NumPy does (aligned on the
 * right; a missing dim, or one of size 1 against a larger one, has stride
 * 0): the kernels index every operand with dst's multi-index. */
static void broadcast_strides(const tf_tensor *t, const tf_tensor *dst, int64_t *strides) {
  for (int d = 0; d < dst->ndim; d++) {
    int od = d - (dst->ndim - t->ndim);
    strides[d] = od < 0 || (t->shape[od] == 1 && dst->shape[d] != 1) ? 0 : t->strides[od];
  }
}

static char *device_ptr(const tf_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)tf_dtype_size(t->dtype);
}
/* ... of an optional operand (NULL when absent); a 1-D one's stride. */
static const void *ptr_or_null(const tf_tensor *t) { return t ? device_ptr(t) : NULL; }
static int64_t stride_of(const tf_tensor *t) { return t && t->ndim ? t->strides[0] : 0; }

/* Every element of the strided view (ptr; shape and element strides) =
 * *elem: one element of scratch filled, then copied with stride 0. */
static tf_status fill_strided(char *ptr, const void *elem, int esize, int ndim,
                              const int64_t *shape, const int64_t *strides) {
  char why[WHY_LEN];
  void *one = cuda_alloc((size_t)esize);
  TF_CHECK(one, TF_ERR_MEMORY, "fill: out of device memory");
  const int64_t zeros[TF_MAX_DIMS] = {0};
  int rc = api.fill(one, elem, esize, 1, why, sizeof why);
  if (rc == 0)
    rc = api.copy_strided(ptr, one, esize, ndim, shape, strides, zeros, why, sizeof why);
  cuda_free(one, (size_t)esize);
  return rc == 0 ? TF_OK : device_error("fill", why);
}

/* A contiguous dst in one kernel, a strided one (a view) by fill_strided. */
static tf_status cuda_fill(tf_tensor *dst, const void *elem) {
  char why[WHY_LEN];
  int esize = (int)tf_dtype_size(dst->dtype);
  if (!tf_tensor_is_contiguous(dst))
    return fill_strided(device_ptr(dst), elem, esize, dst->ndim, dst->shape, dst->strides);
  if (api.fill(device_ptr(dst), elem, esize, tf_tensor_numel(dst), why, sizeof why) != 0)
    return device_error("fill", why);
  return TF_OK;
}

/* Copies: one memcpy when both are contiguous in one dtype, else the
 * strided kernel (broadcast sources have stride 0), converting dtypes by
 * tf_to_dtype's rules when they differ. The entry point hands over no
 * partial overlap. */
static tf_status cuda_copy(tf_tensor *dst, const tf_tensor *src) {
  char why[WHY_LEN];
  int64_t ss[TF_MAX_DIMS];
  broadcast_strides(src, dst, ss);
  if (dst->dtype != src->dtype) {
    if (api.convert(device_ptr(dst), dst->dtype, device_ptr(src), src->dtype, dst->ndim,
                    dst->shape, dst->strides, ss, why, sizeof why) != 0)
      return device_error("copy", why);
    return TF_OK;
  }
  size_t esize = tf_dtype_size(dst->dtype);
  if (tf_tensor_is_contiguous(dst) && tf_tensor_is_contiguous(src) &&
      tf_tensor_numel(src) == tf_tensor_numel(dst))
    return copy_bytes(device_ptr(dst), device_ptr(src),
                      (size_t)tf_tensor_numel(dst) * esize, TFC_DEVICE_TO_DEVICE);
  if (api.copy_strided(device_ptr(dst), device_ptr(src), (int)esize, dst->ndim, dst->shape,
                       dst->strides, ss, why, sizeof why) != 0)
    return device_error("copy", why);
  return TF_OK;
}

static tf_status cuda_unary(int op, const tf_tensor *x, tf_tensor *dst, const double *params) {
  char why[WHY_LEN];
  int64_t xs[TF_MAX_DIMS];
  broadcast_strides(x, dst, xs);
  if (api.unary(op, x->dtype, device_ptr(dst), device_ptr(x), dst->ndim, dst->shape,
                dst->strides, xs, params, why, sizeof why) != 0)
    return device_error(tf_unary_name(op), why);
  return TF_OK;
}

/* Every unary op: the library runs each with the cpu's scalar function. */
static const tf_unary_kernel cuda_unary_kernels[TF_UNARY_COUNT] = {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) [TF_UNARY_##ENUM] = cuda_unary,
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
};

/* Integer floor_divide/remainder by zero and pow to a negative power are
 * refused before the kernel, as on the cpu: b's values come to the host
 * for the check (a 0-d host scalar is read where it is). */
static tf_status check_int_divisors(int op, const tf_tensor *b) {
  bool divides = op == TF_BINARY_FLOOR_DIVIDE || op == TF_BINARY_REMAINDER;
  if (!divides && op != TF_BINARY_POW) return TF_OK;
  tf_tensor *host = NULL;
  if (b->storage->alloc->host) {
    tf_tensor_retain((tf_tensor *)b);
    host = (tf_tensor *)b;
  } else {
    TF_TRY(tf_to_device(b, TF_CPU, TF_INT64, &host));
  }
  tf_tensor *flat = NULL;
  tf_status st = tf_contiguous(host, &flat);
  bool bad = false;
  if (st == TF_OK) {
    const int64_t *v = (const int64_t *)tf_ptr(flat);
    for (int64_t i = 0, n = tf_tensor_numel(flat); i < n && !bad; i++)
      bad = divides ? v[i] == 0 : v[i] < 0;
    tf_tensor_release(flat);
  }
  tf_tensor_release(host);
  TF_TRY(st);
  TF_CHECK(!bad || !divides, TF_ERR_VALUE, "%s: integer division by zero", tf_binary_name(op));
  TF_CHECK(!bad, TF_ERR_VALUE,
           "pow: integers to negative integer powers are not allowed; use a float base");
  return TF_OK;
}

/* An operand's value on the host when it lives there (the entry point's
 * Python scalars, 0-d), with its strides over dst's dims. */
static const void *operand_of(const tf_tensor *t, const tf_tensor *dst, int64_t *strides) {
  broadcast_strides(t, dst, strides);
  return t->storage->alloc->host ? tf_ptr(t) : NULL;
}

static tf_status cuda_binary(int op, const tf_tensor *a, const tf_tensor *b, tf_tensor *dst) {
  if (a->dtype == TF_INT64) TF_TRY(check_int_divisors(op, b));
  int64_t as[TF_MAX_DIMS], bs[TF_MAX_DIMS];
  const void *av = operand_of(a, dst, as), *bv = operand_of(b, dst, bs);
  char why[WHY_LEN];
  if (api.binary(op, a->dtype, device_ptr(dst), av ? NULL : device_ptr(a),
                 bv ? NULL : device_ptr(b), av, bv, dst->ndim, dst->shape, dst->strides, as, bs,
                 why, sizeof why) != 0)
    return device_error(tf_binary_name(op), why);
  return TF_OK;
}

static tf_status cuda_where(const tf_tensor *cond, const tf_tensor *a, const tf_tensor *b,
                            tf_tensor *dst) {
  int64_t cs[TF_MAX_DIMS], as[TF_MAX_DIMS], bs[TF_MAX_DIMS];
  const void *cv = operand_of(cond, dst, cs), *av = operand_of(a, dst, as),
             *bv = operand_of(b, dst, bs);
  char why[WHY_LEN];
  if (api.where(dst->dtype, device_ptr(dst), cv ? NULL : device_ptr(cond),
                av ? NULL : device_ptr(a), bv ? NULL : device_ptr(b), cv, av, bv, dst->ndim,
                dst->shape, dst->strides, cs, as, bs, why, sizeof why) != 0)
    return device_error("where", why);
  return TF_OK;
}

static const tf_binary_kernel cuda_binary_kernels[TF_BINARY_COUNT] = {
#define TF_BINARY_OP(ENUM, name, kind) [TF_BINARY_##ENUM] = cuda_binary,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};

/* Reductions: the library's passes need scratch (partials and per-output
 * results), taken from the caching allocator and handed back at once: the
 * kernels that use it run before any later work that reuses the block,
 * all being in the device's one stream. */
static tf_status cuda_reduce(int op, const tf_tensor *x, uint32_t mask, double param,
                             tf_tensor *v, tf_tensor *ix) {
  size_t bytes = 0;
  TF_CHECK(api.reduce_scratch(x->ndim, x->shape, x->strides, mask, &bytes) == 0, TF_ERR_VALUE,
           "%s: the cuda backend cannot reduce a tensor of %d dims", tf_reduce_name(op),
           x->ndim);
  void *scratch = cuda_alloc(bytes);
  TF_CHECK(scratch, TF_ERR_MEMORY, "%s: out of device memory for %zu bytes of partials",
           tf_reduce_name(op), bytes);
  char why[WHY_LEN];
  int rc = api.reduce(op, x->dtype, device_ptr(x), x->ndim, x->shape, x->strides, mask, param,
                      v->dtype, device_ptr(v), ix ? (int64_t *)device_ptr(ix) : NULL, scratch,
                      bytes, why, sizeof why);
  cuda_free(scratch, bytes);
  return rc == 0 ? TF_OK : device_error(tf_reduce_name(op), why);
}

static tf_status cuda_softmax(const tf_tensor *x, int dim, bool take_log, tf_tensor *y) {
  const char *name = take_log ? "log_softmax" : "softmax";
  /* a 0-d tensor is the one element of a 1-d one */
  static const int64_t one[1] = {1};
  int ndim = x->ndim ? x->ndim : 1;
  const int64_t *shape = x->ndim ? x->shape : one, *xs = x->ndim ? x->strides : one,
                *ys = x->ndim ? y->strides : one;
  size_t bytes = 0;
  TF_CHECK(api.reduce_scratch(ndim, shape, xs, 1u << dim, &bytes) == 0, TF_ERR_VALUE,
           "%s: the cuda backend cannot reduce a tensor of %d dims", name, x->ndim);
  void *scratch = cuda_alloc(bytes);
  TF_CHECK(scratch, TF_ERR_MEMORY, "%s: out of device memory for %zu bytes of partials", name,
           bytes);
  char why[WHY_LEN];
  int rc = api.softmax(x->dtype, device_ptr(x), device_ptr(y), ndim, shape, xs, ys, dim,
                       take_log, scratch, bytes, why, sizeof why);
  cuda_free(scratch, bytes);
  return rc == 0 ? TF_OK : device_error(name, why);
}

static const tf_reduce_kernel cuda_reduce_kernels[TF_REDUCE_COUNT] = {
#define TF_REDUCE_OP(ENUM, name) [TF_REDUCE_##ENUM] = cuda_reduce,
#include "tinyfin_ops.def"
#undef TF_REDUCE_OP
};

/* ---- matmul and cuBLAS ----------------------------------------------------------
 * cuBLAS is loaded once, at the first question or float product, from the
 * path Python set (the nvidia-cublas wheel's libcublas, or
 * TINYFIN_CUBLAS_LIB); without it, or with it switched off, products run
 * on matmul.cu's tiled kernel. */
static pthread_once_t cublas_once = PTHREAD_ONCE_INIT;
static char cublas_path[4096];
static char cublas_why[WHY_LEN] = "not loaded: no path to libcublas was given "
                                  "(pip install tinyfin[cuda])";
static bool cublas_loaded;
static atomic_bool cublas_enabled = true;

void tf_cuda_set_cublas_path(const char *path) {
  snprintf(cublas_path, sizeof cublas_path, "%s", path ? path : "");
}

static void load_cublas(void) {
  const char *reason;
  char why[WHY_LEN] = "";
  if (!cuda_available(&reason))
    snprintf(cublas_why, WHY_LEN, "not loaded: %.480s", reason);
  else if (!*cublas_path)
    return; /* cublas_why says so already */
  else if (api.cublas_load(cublas_path, why, sizeof why) != 0)
    snprintf(cublas_why, WHY_LEN, "not loaded: %.480s", why);
  else {
    snprintf(cublas_why, WHY_LEN, "loaded: %.490s", cublas_path);
    cublas_loaded = true;
  }
}

const char *tf_cuda_cublas_status(void) {
  pthread_once(&cublas_once, load_cublas);
  return cublas_why;
}

void tf_cuda_set_cublas_enabled(bool enabled) { atomic_store(&cublas_enabled, enabled); }

bool tf_cuda_cublas_enabled(void) { return atomic_load(&cublas_enabled); }

static tf_status cuda_matmul(const tf_matmul_plan *p, const tf_tensor *a, const tf_tensor *b,
                             tf_tensor *out) {
  tfc_matmul_geometry g = {.m = p->m, .k = p->k, .n = p->n, .batch_ndim = p->batch_ndim,
                           .a_rs = p->a_rs, .a_cs = p->a_cs, .b_rs = p->b_rs,
                           .b_cs = p->b_cs};
  for (int d = 0; d < p->batch_ndim; d++) {
    g.batch[d] = p->batch[d];
    g.a_batch_strides[d] = p->a_batch_strides[d];
    g.b_batch_strides[d] = p->b_batch_strides[d];
  }
  bool with_cublas = false;
  if (a->dtype != TF_INT64 && atomic_load(&cublas_enabled)) {
    pthread_once(&cublas_once, load_cublas);
    with_cublas = cublas_loaded;
  }
  char why[WHY_LEN];
  if (api.matmul(a->dtype, device_ptr(a), device_ptr(b), device_ptr(out), &g, with_cublas, why,
                 sizeof why) != 0)
    return device_error("matmul", why);
  return TF_OK;
}

/* ---- creation (creation.cu) ------------------------------------------------------ */
static tf_status cuda_arange(tf_tensor *dst, double fstart, double fstep, int64_t istart,
                             int64_t istep) {
  char why[WHY_LEN];
  if (api.arange(dst->dtype, device_ptr(dst), dst->shape[0], fstart, fstep, istart, istep, why,
                 sizeof why) != 0)
    return device_error("arange", why);
  return TF_OK;
}

static tf_status cuda_linspace(tf_tensor *dst, double start, double end) {
  char why[WHY_LEN];
  if (api.linspace(dst->dtype, device_ptr(dst), dst->shape[0], start, end, why, sizeof why))
    return device_error("linspace", why);
  return TF_OK;
}

/* dst is zeros: its diagonal, a view of stride m + 1, is filled with one. */
static tf_status cuda_eye(tf_tensor *dst) {
  int64_t n = dst->shape[0], m = dst->shape[1], diag[1] = {n < m ? n : m}, step[1] = {m + 1};
  if (diag[0] == 0) return TF_OK;
  const float f32 = 1.0f;
  const double f64 = 1.0;
  const int64_t i64 = 1;
  const bool b = true;
  const void *one = dst->dtype == TF_FLOAT32   ? (const void *)&f32
                    : dst->dtype == TF_FLOAT64 ? (const void *)&f64
                    : dst->dtype == TF_INT64   ? (const void *)&i64
                                               : (const void *)&b;
  return fill_strided(device_ptr(dst), one, (int)tf_dtype_size(dst->dtype), 1, diag, step);
}

static tf_status cuda_random(tf_tensor *dst, int kind, const double *params, uint64_t seed,
                             uint64_t counter) {
  char why[WHY_LEN];
  if (api.random(kind, dst->dtype, device_ptr(dst), tf_tensor_numel(dst), params, seed, counter,
                 why, sizeof why) != 0)
    return device_error("random", why);
  return TF_OK;
}

static tf_status cuda_tril(tf_tensor *dst, int64_t k, bool upper) {
  char why[WHY_LEN];
  if (api.tril((int)tf_dtype_size(dst->dtype), device_ptr(dst), tf_tensor_numel(dst),
               dst->shape[dst->ndim - 2], dst->shape[dst->ndim - 1], k, upper, why,
               sizeof why) != 0)
    return device_error(upper ? "triu" : "tril", why);
  return TF_OK;
}

/* dst (contiguous) = t padded by reflecting or replicating its edges. */
static tf_status cuda_pad(const tf_tensor *t, const int64_t *pads, int mode, tf_tensor *dst) {
  char why[WHY_LEN];
  int64_t before[TF_MAX_DIMS];
  for (int d = 0; d < t->ndim; d++) before[d] = pads[2 * d];
  if (api.pad((int)tf_dtype_size(t->dtype), device_ptr(dst), device_ptr(t), t->ndim, dst->shape,
              t->shape, t->strides, before, mode == TF_PAD_REFLECT, why, sizeof why) != 0)
    return device_error("pad", why);
  return TF_OK;
}

/* ---- indexing (index.cu) -----------------------------------------------------------
 * The index values are copied to host memory and checked there by the
 * cpu's own check (tf_index_snapshot): a bad index raises the cpu's
 * IndexError at the call, before any kernel runs or anything is written,
 * and the kernels get only offsets in bounds. This costs a copy of the
 * index (not of the data) and a wait for it, as PyTorch's checked indexing
 * waits for its device-side assert. */

/* Device memory holding n int64 values copied from host (op's index
 * values or tables); NULL (with TF_OK) for n == 0. */
static tf_status upload_int64(const char *op, const int64_t *host, int64_t n, int64_t **dev) {
  *dev = NULL;
  if (n == 0) return TF_OK;
  *dev = cuda_alloc(sizeof(int64_t) * (size_t)n);
  TF_CHECK(*dev, TF_ERR_MEMORY, "%s: out of device memory for %lld index values", op,
           (long long)n);
  tf_status st = cuda_from_host(*dev, host, sizeof(int64_t) * (size_t)n);
  if (st != TF_OK) cuda_free(*dev, sizeof(int64_t) * (size_t)n);
  return st;
}

/* index's values on the host, checked against [0, size) (with wrap:
 * [-size, size), wrapped) and times scale: tf_index_snapshot on a host
 * copy of the device tensor. */
static tf_status checked_index(const char *op, const tf_tensor *index, int dim, int64_t size,
                               bool wrap, int64_t scale, int64_t **vals) {
  tf_tensor *host = NULL;
  TF_TRY(tf_to_device(index, TF_CPU, TF_INT64, &host));
  tf_status st = tf_index_snapshot(op, host, dim, size, wrap, scale, vals);
  tf_tensor_release(host);
  return st;
}

/* dst (contiguous) [i] = src[g's offset of i + picked[j]] (index.cu's
 * tfc_take), the picked offsets taken from the host. */
static tf_status take(const char *op, const tf_tensor *src, const tfc_geometry *g, int dim,
                      const int64_t *picked, int64_t npicked, tf_tensor *dst) {
  int64_t *dev;
  TF_TRY(upload_int64(op, picked, npicked, &dev));
  char why[WHY_LEN];
  int rc = api.take((int)tf_dtype_size(src->dtype), device_ptr(dst), device_ptr(src), g, dim,
                    dev, tf_tensor_numel(dst), why, sizeof why);
  if (dev) cuda_free(dev, sizeof(int64_t) * (size_t)npicked);
  return rc == 0 ? TF_OK : device_error(op, why);
}

/* g = the shape of shape_of over the strides of strides_of, both read as
 * 1-D for a 0-d tensor (tf_geom_1d), with dim's stride 0 (a picked offset
 * stands in for it). */
static void geometry_of(const tf_tensor *shape_of, const tf_tensor *strides_of, int dim,
                        tfc_geometry *g) {
  int64_t unused[TF_MAX_DIMS];
  g->ndim = tf_geom_1d(shape_of, g->shape, unused);
  tf_geom_1d(strides_of, unused, g->strides);
  if (dim >= 0) g->strides[dim] = 0;
}

/* g = shape (ndim dims) over strides. */
static void geometry(int ndim, const int64_t *shape, const int64_t *strides, tfc_geometry *g) {
  g->ndim = ndim;
  memcpy(g->shape, shape, sizeof(int64_t) * (size_t)ndim);
  memcpy(g->strides, strides, sizeof(int64_t) * (size_t)ndim);
}

static tf_status cuda_gather(const tf_tensor *t, int dim, const tf_tensor *index,
                             tf_tensor *dst) {
  tfc_geometry g;
  int64_t ts[TF_MAX_DIMS], tstr[TF_MAX_DIMS], *picked = NULL;
  tf_geom_1d(t, ts, tstr);
  TF_TRY(checked_index("gather", index, dim, ts[dim], false, tstr[dim], &picked));
  geometry_of(index, t, dim, &g);
  tf_status st = take("gather", t, &g, -1, picked, tf_tensor_numel(index), dst);
  free(picked);
  return st;
}

static tf_status cuda_index_select(const tf_tensor *t, int dim, const tf_tensor *index,
                                   tf_tensor *dst) {
  tfc_geometry g;
  int64_t *picked = NULL;
  TF_TRY(checked_index("index_select", index, dim, t->ndim ? t->shape[dim] : 1, false,
                       t->ndim ? t->strides[dim] : 0, &picked));
  geometry_of(dst, t, dim, &g);
  tf_status st = take("index_select", t, &g, dim, picked, tf_tensor_numel(index), dst);
  free(picked);
  return st;
}

/* Advanced indexing's element offsets (tf_index_offsets, cpu/index.c) from
 * host copies of the k index tensors. */
static tf_status index_offsets(const char *op, const tf_tensor *t, int k,
                               tf_tensor *const *indices, int64_t **offs) {
  tf_tensor *host[TF_MAX_DIMS] = {NULL};
  tf_status st = TF_OK;
  for (int j = 0; j < k && st == TF_OK; j++)
    st = tf_to_device(indices[j], TF_CPU, TF_INT64, &host[j]);
  if (st == TF_OK) st = tf_index_offsets(op, t, k, host, offs);
  for (int j = 0; j < k; j++) tf_tensor_release(host[j]);
  return st;
}

/* dst (contiguous) = t[indices...]: read as (numel(I), t.shape[k:]...),
 * position (p, r) takes offs[p] plus r's offset in t's trailing dims. */
static tf_status cuda_index_get(const tf_tensor *t, int k, tf_tensor *const *indices,
                                tf_tensor *dst) {
  int64_t *offs = NULL, n = tf_tensor_numel(indices[0]);
  TF_TRY(index_offsets("index", t, k, indices, &offs));
  tfc_geometry g = {.ndim = 1 + t->ndim - k, .shape = {n}, .strides = {0}};
  memcpy(g.shape + 1, t->shape + k, sizeof(int64_t) * (size_t)(t->ndim - k));
  memcpy(g.strides + 1, t->strides + k, sizeof(int64_t) * (size_t)(t->ndim - k));
  tf_status st = take("index", t, &g, 0, offs, n, dst);
  free(offs);
  return st;
}

/* A position of the index and the element offset it writes: sorted by
 * target, then position, each group of one target keeps the row-major
 * order in which the cpu writes. */
typedef struct {
  int64_t target, pos;
} contribution;

static int by_target(const void *a, const void *b) {
  const contribution *x = a, *y = b;
  if (x->target != y->target) return x->target < y->target ? -1 : 1;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

/* index.cu's tfc_put for the n index positions whose (block) targets are
 * targets[i]: the host sorts them into groups of one target (n log n on
 * the index's size), the device writes each group in order. */
static tf_status grouped_put(const char *op, tf_tensor *dst, const tf_tensor *src,
                             const int64_t *targets, int64_t n, const tfc_geometry *pos_src,
                             const tfc_geometry *rest_dst, const tfc_geometry *rest_src,
                             bool accumulate) {
  contribution *c = malloc(sizeof *c * (size_t)(n ? n : 1));
  /* the plan for the device: order (n positions), start (groups + 1) and
   * target (groups), one after the other */
  int64_t *plan = malloc(sizeof(int64_t) * (size_t)(3 * n + 1));
  if (!c || !plan) {
    free(c), free(plan);
    return tf_fail(TF_ERR_MEMORY, "%s: out of memory", op);
  }
  for (int64_t i = 0; i < n; i++) c[i] = (contribution){targets[i], i};
  qsort(c, (size_t)n, sizeof *c, by_target);
  int64_t *order = plan, *start = plan + n, groups = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || c[i].target != c[i - 1].target) start[groups++] = i;
    order[i] = c[i].pos;
  }
  start[groups] = n;
  int64_t *target = start + groups + 1, size = n + 2 * groups + 1;
  for (int64_t g = 0; g < groups; g++) target[g] = c[start[g]].target;
  free(c);
  int64_t *dev = NULL;
  tf_status st = upload_int64(op, plan, size, &dev);
  free(plan);
  if (st == TF_OK && groups) {
    char why[WHY_LEN];
    if (api.put(dst->dtype, device_ptr(dst), device_ptr(src), pos_src, rest_dst, rest_src, dev,
                dev + n, dev + n + groups + 1, groups, accumulate, why, sizeof why) != 0)
      st = device_error(op, why);
  }
  if (dev) cuda_free(dev, sizeof(int64_t) * (size_t)size);
  return st;
}

/* dst (a copy of the input) += src at index along dim: position i of the
 * index adds src's element i to dst's element at i's coordinates with dim
 * replaced by the index value. */
static tf_status cuda_scatter_add(tf_tensor *dst, int dim, const tf_tensor *index,
                                  const tf_tensor *src) {
  tfc_geometry dst_g, src_g, none = {.ndim = 0};
  int64_t ds[TF_MAX_DIMS], dstr[TF_MAX_DIMS], *targets = NULL, n = tf_tensor_numel(index);
  tf_geom_1d(dst, ds, dstr);
  TF_TRY(checked_index("scatter_add", index, dim, ds[dim], false, dstr[dim], &targets));
  geometry_of(index, dst, dim, &dst_g);
  geometry_of(index, src, -1, &src_g);
  int64_t coord[TF_MAX_DIMS] = {0}, off = 0; /* a row-major walk of dst_g */
  for (int64_t i = 0; i < n; i++) {
    targets[i] += off;
    for (int d = dst_g.ndim - 1; d >= 0; d--) {
      off += dst_g.strides[d];
      if (++coord[d] < dst_g.shape[d]) break;
      off -= dst_g.strides[d] * dst_g.shape[d];
      coord[d] = 0;
    }
  }
  tf_status st = grouped_put("scatter_add", dst, src, targets, n, &src_g, &none, &none, true);
  free(targets);
  return st;
}

/* t[indices...] = values (accumulate: +=), values in t's dtype and
 * broadcast to I + t.shape[k:] (the entry point's work): each index
 * position p writes the block t.shape[k:] at offs[p]. */
static tf_status cuda_index_put(tf_tensor *t, int k, tf_tensor *const *indices,
                                const tf_tensor *values, bool accumulate) {
  int64_t *offs = NULL, n = tf_tensor_numel(indices[0]);
  TF_TRY(index_offsets("index_put_", t, k, indices, &offs));
  const tf_tensor *i0 = indices[0];
  int ni = i0->ndim, nrest = t->ndim - k;
  int64_t full[TF_MAX_DIMS], vstr[TF_MAX_DIMS];
  memcpy(full, i0->shape, sizeof(int64_t) * (size_t)ni);
  memcpy(full + ni, t->shape + k, sizeof(int64_t) * (size_t)nrest);
  tf_broadcast_strides(values, ni + nrest, full, vstr);
  tfc_geometry pos_src, rest_dst, rest_src;
  geometry(ni, full, vstr, &pos_src);
  geometry(nrest, t->shape + k, t->strides + k, &rest_dst);
  geometry(nrest, full + ni, vstr + ni, &rest_src);
  tf_status st = grouped_put("index_put_", t, values, offs, n, &pos_src, &rest_dst, &rest_src,
                             accumulate);
  free(offs);
  return st;
}

/* ---- losses (loss.cu) ----------------------------------------------------------------
 * The index targets are copied to the host and checked there by the cpu's
 * own check (tf_ce_targets), as indexing's are: a bad target raises the
 * cpu's IndexError at the call, and the kernels get only classes or
 * ignore_index. */

/* The checked index targets of p in device memory, one per row (NULL for
 * probability targets or no rows). */
static tf_status ce_targets(const char *op, const tf_ce_plan *p, const tf_tensor *target,
                            int64_t **dev) {
  *dev = NULL;
  if (p->prob) return TF_OK;
  tf_tensor *host = NULL;
  TF_TRY(tf_to_device(target, TF_CPU, TF_INT64, &host));
  tf_ce_plan on_host = *p; /* the copy's strides over the rows (target has their shape) */
  memcpy(on_host.t_rs, host->strides, sizeof(int64_t) * (size_t)host->ndim);
  int64_t *yv = NULL;
  tf_status st = tf_ce_targets(&on_host, host, op, &yv);
  tf_tensor_release(host);
  if (st == TF_OK) st = upload_int64(op, yv, p->rows, dev);
  free(yv);
  return st;
}

/* Runs the forward (grad NULL) or the backward with the targets and the
 * scratch loss.cu asks for. */
static tf_status cross_entropy_call(const char *op, const tf_ce_plan *p, const tf_tensor *grad,
                                    const tf_tensor *x, const tf_tensor *target,
                                    const tf_tensor *weight, tf_tensor *result) {
  int64_t *yv;
  TF_TRY(ce_targets(op, p, target, &yv));
  const int64_t per_block = tf_ce_block_rows(p);
  const int64_t doubles = grad ? 2
                          : p->reduction == TF_REDUCTION_NONE
                              ? 0
                              : 2 * p->rows + 4 * ((p->rows + per_block - 1) / per_block);
  const size_t bytes = sizeof(double) * (size_t)doubles;
  double *scratch = bytes ? cuda_alloc(bytes) : NULL;
  tf_status st = TF_OK;
  if (bytes && !scratch) {
    st = tf_fail(TF_ERR_MEMORY, "%s: out of device memory for %zu bytes of partial sums", op,
                 bytes);
  } else {
    char why[WHY_LEN];
    const void *t = p->prob ? device_ptr(target) : NULL;
    const void *w = weight ? device_ptr(weight) : NULL;
    int rc = grad ? api.cross_entropy_backward((int)x->dtype, p, device_ptr(grad), device_ptr(x),
                                               t, yv, w, device_ptr(result), scratch, why,
                                               sizeof why)
                  : api.cross_entropy((int)x->dtype, p, device_ptr(x), t, yv, w,
                                      device_ptr(result), scratch, why, sizeof why);
    if (rc != 0) st = device_error(op, why);
  }
  if (scratch) cuda_free(scratch, bytes);
  if (yv) cuda_free(yv, sizeof(int64_t) * (size_t)p->rows);
  return st;
}

static tf_status cuda_cross_entropy(const tf_ce_plan *p, const tf_tensor *x,
                                    const tf_tensor *target, const tf_tensor *weight,
                                    tf_tensor *out) {
  return cross_entropy_call("cross_entropy", p, NULL, x, target, weight, out);
}

static tf_status cuda_cross_entropy_backward(const tf_ce_plan *p, const tf_tensor *grad,
                                             const tf_tensor *x, const tf_tensor *target,
                                             const tf_tensor *weight, tf_tensor *dx) {
  return cross_entropy_call("cross_entropy_backward", p, grad, x, target, weight, dx);
}

/* BCE with logits: the forward (grad NULL) or the backward, with the
 * scratch loss.cu asks for. */
static tf_status bce_call(const char *op, const tf_bce_plan *p, const tf_tensor *grad,
                          const tf_tensor *x, const tf_tensor *target, const tf_tensor *weight,
                          const tf_tensor *pos_weight, tf_tensor *result) {
  const int64_t blocks = (p->numel + TF_BCE_BLOCK - 1) / TF_BCE_BLOCK;
  const size_t bytes = !grad && p->reduction != TF_REDUCTION_NONE
                           ? sizeof(double) * (size_t)(p->numel + 2 * blocks)
                           : 0;
  double *scratch = bytes ? cuda_alloc(bytes) : NULL;
  TF_CHECK(!bytes || scratch, TF_ERR_MEMORY,
           "%s: out of device memory for %zu bytes of partial sums", op, bytes);
  char why[WHY_LEN];
  int rc = api.bce_with_logits((int)x->dtype, p, grad != NULL, device_ptr(x), device_ptr(target),
                               ptr_or_null(weight), ptr_or_null(pos_weight), ptr_or_null(grad),
                               device_ptr(result), scratch, why, sizeof why);
  if (scratch) cuda_free(scratch, bytes);
  return rc == 0 ? TF_OK : device_error(op, why);
}

static tf_status cuda_bce_with_logits(const tf_bce_plan *p, const tf_tensor *x,
                                      const tf_tensor *target, const tf_tensor *weight,
                                      const tf_tensor *pos_weight, tf_tensor *out) {
  return bce_call("binary_cross_entropy_with_logits", p, NULL, x, target, weight, pos_weight,
                  out);
}

static tf_status cuda_bce_with_logits_backward(const tf_bce_plan *p, const tf_tensor *grad,
                                               const tf_tensor *x, const tf_tensor *target,
                                               const tf_tensor *weight,
                                               const tf_tensor *pos_weight, tf_tensor *dx) {
  return bce_call("binary_cross_entropy_with_logits_backward", p, grad, x, target, weight,
                  pos_weight, dx);
}

/* ---- nonzero (index.cu) --------------------------------------------------------------
 * The size of the result depends on the data: the elements are marked and
 * counted per chunk on the device, the counts read back (a wait, as
 * PyTorch's nonzero waits), the chunks' first rows summed on the host, and
 * the coordinates written on the device. */
enum { NONZERO_CHUNK = 1024 };

static tf_status cuda_nonzero(const tf_tensor *t, tf_tensor **out) {
  const int64_t n = tf_tensor_numel(t), chunks = (n + NONZERO_CHUNK - 1) / NONZERO_CHUNK;
  tfc_geometry g;
  geometry(t->ndim, t->shape, t->strides, &g);
  uint8_t *mask = n ? cuda_alloc((size_t)n) : NULL;
  int64_t *counts = chunks ? cuda_alloc(sizeof(int64_t) * (size_t)chunks) : NULL;
  int64_t *host = malloc(sizeof(int64_t) * (size_t)(chunks ? chunks : 1)), *start = NULL;
  tf_tensor *o = NULL;
  char why[WHY_LEN];
  tf_status st = TF_OK;
  if ((n && !mask) || (chunks && !counts) || !host)
    st = tf_fail(TF_ERR_MEMORY, "nonzero: out of memory for the marks of %lld elements",
                 (long long)n);
  else if (api.nonzero_mark((int)t->dtype, device_ptr(t), &g, n, mask, NONZERO_CHUNK, counts,
                            why, sizeof why) != 0)
    st = device_error("nonzero", why);
  else
    st = cuda_to_host(host, counts, sizeof(int64_t) * (size_t)chunks);
  int64_t total = 0;
  for (int64_t c = 0; st == TF_OK && c < chunks; c++) {
    const int64_t k = host[c];
    host[c] = total; /* the chunk's first row */
    total += k;
  }
  const int64_t shape[2] = {total, t->ndim};
  if (st == TF_OK) st = tf_new_on(t->storage->alloc, 2, shape, TF_INT64, &o);
  if (st == TF_OK) st = upload_int64("nonzero", host, chunks, &start);
  if (st == TF_OK && total * t->ndim > 0 &&
      api.nonzero_write(mask, &g, n, NONZERO_CHUNK, start, (int64_t *)device_ptr(o), why,
                        sizeof why) != 0)
    st = device_error("nonzero", why);
  if (mask) cuda_free(mask, (size_t)n);
  if (counts) cuda_free(counts, sizeof(int64_t) * (size_t)chunks);
  if (start) cuda_free(start, sizeof(int64_t) * (size_t)chunks);
  free(host);
  if (st != TF_OK) {
    tf_tensor_release(o);
    return st;
  }
  *out = o;
  return TF_OK;
}

/* ---- the LSTM cell (rnn.cu) ------------------------------------------------------- */
static tf_status cuda_lstm_cell(const tf_tensor *gates, const tf_tensor *c_prev, tf_tensor *hc,
                                tf_tensor *act) {
  char why[WHY_LEN];
  if (api.lstm_cell((int)gates->dtype, gates->shape[0], gates->shape[1] / 4, device_ptr(gates),
                    ptr_or_null(c_prev), device_ptr(hc), device_ptr(act), why, sizeof why) != 0)
    return device_error("lstm_cell", why);
  return TF_OK;
}

static tf_status cuda_lstm_cell_backward(const tf_tensor *dhc, const tf_tensor *act,
                                         const tf_tensor *c_prev, tf_tensor *dgates,
                                         tf_tensor *dc_prev) {
  char why[WHY_LEN];
  if (api.lstm_cell_backward((int)act->dtype, act->shape[0], act->shape[1] / 5, device_ptr(dhc),
                             device_ptr(act), ptr_or_null(c_prev), device_ptr(dgates),
                             dc_prev ? device_ptr(dc_prev) : NULL, why, sizeof why) != 0)
    return device_error("lstm_cell backward", why);
  return TF_OK;
}

/* ---- normalization (norm.cu) -------------------------------------------------------- */

/* The scratch norm.cu asks for (NULL with TF_OK for none). */
static tf_status norm_scratch(const tfc_norm_geometry *d, bool backward, double **scratch,
                              size_t *bytes) {
  *bytes = sizeof(double) * (size_t)api.norm_scratch(d, backward);
  *scratch = *bytes ? cuda_alloc(*bytes) : NULL;
  TF_CHECK(!*bytes || *scratch, TF_ERR_MEMORY,
           "norm: out of device memory for %zu bytes of statistics", *bytes);
  return TF_OK;
}

static tf_status cuda_norm(const tf_norm_geom *g, const tf_tensor *x, const tf_tensor *weight,
                           const tf_tensor *bias, double eps, bool batch_stats, double momentum,
                           tf_tensor *running_mean, tf_tensor *running_var, tf_tensor *mean,
                           tf_tensor *rstd, tf_tensor *out) {
  const tfc_norm_geometry d = {g->n, g->c, g->s, g->groups, g->per_channel};
  double *scratch;
  size_t bytes;
  TF_TRY(norm_scratch(&d, false, &scratch, &bytes));
  char why[WHY_LEN];
  int rc = api.norm((int)x->dtype, &d, device_ptr(x), ptr_or_null(weight), ptr_or_null(bias),
                    eps, batch_stats, momentum, running_mean ? device_ptr(running_mean) : NULL,
                    stride_of(running_mean), running_var ? device_ptr(running_var) : NULL,
                    stride_of(running_var), (double *)device_ptr(mean),
                    (double *)device_ptr(rstd), device_ptr(out), scratch, why, sizeof why);
  if (scratch) cuda_free(scratch, bytes);
  return rc == 0 ? TF_OK : device_error("norm", why);
}

static tf_status cuda_norm_backward(const tf_norm_geom *g, const tf_tensor *dout,
                                    const tf_tensor *x, const tf_tensor *weight,
                                    const tf_tensor *mean, const tf_tensor *rstd,
                                    bool batch_stats, tf_tensor *dx, tf_tensor *dweight,
                                    tf_tensor *dbias) {
  const tfc_norm_geometry d = {g->n, g->c, g->s, g->groups, g->per_channel};
  double *scratch;
  size_t bytes;
  TF_TRY(norm_scratch(&d, true, &scratch, &bytes));
  char why[WHY_LEN];
  int rc = api.norm_backward((int)x->dtype, &d, device_ptr(dout), device_ptr(x),
                             ptr_or_null(weight), (const double *)device_ptr(mean),
                             (const double *)device_ptr(rstd), batch_stats,
                             dx ? device_ptr(dx) : NULL, dweight ? device_ptr(dweight) : NULL,
                             stride_of(dweight), dbias ? device_ptr(dbias) : NULL,
                             stride_of(dbias), scratch, why, sizeof why);
  if (scratch) cuda_free(scratch, bytes);
  return rc == 0 ? TF_OK : device_error("norm backward", why);
}

/* ---- pooling (pool.cu) --------------------------------------------------------------- */
/* The inverse of one axis's windows: input i is read by the outputs
 * of[at[i]] .. of[at[i + 1] - 1], ascending (cursor: n_in scratch). */
static void invert_windows(const int64_t *start, const int64_t *count, int64_t step,
                           int64_t n_out, int64_t n_in, int64_t *at, int64_t *of,
                           int64_t *cursor) {
  memset(at, 0, sizeof(int64_t) * (size_t)(n_in + 1));
  for (int64_t o = 0; o < n_out; o++)
    for (int64_t a = 0; a < count[o]; a++) at[start[o] + a * step + 1]++;
  for (int64_t i = 0; i < n_in; i++) at[i + 1] += at[i];
  memcpy(cursor, at, sizeof(int64_t) * (size_t)n_in);
  for (int64_t o = 0; o < n_out; o++)
    for (int64_t a = 0; a < count[o]; a++) of[cursor[start[o] + a * step]++] = o;
}

/* d = p with its window tables and their inverses in one device block
 * (*dev, *n int64 values; the caller frees it). */
static tf_status pool_upload(const tf_pool_plan *p, tfc_pool_plan *d, int64_t **dev,
                             int64_t *n) {
  int64_t nr = 0, nc = 0;
  for (int64_t oh = 0; oh < p->out_h; oh++) nr += p->h_count[oh];
  for (int64_t ow = 0; ow < p->out_w; ow++) nc += p->w_count[ow];
  const int64_t tables = 3 * (p->out_h + p->out_w), cursor = p->in_h > p->in_w ? p->in_h : p->in_w;
  *n = tables + (p->in_h + 1 + nr) + (p->in_w + 1 + nc);
  int64_t *host = malloc(sizeof(int64_t) * (size_t)(*n + cursor));
  TF_CHECK(host, TF_ERR_MEMORY, "%s: out of memory for its window tables", p->op);
  const int64_t *from[6] = {p->h_start, p->h_count, p->h_div, p->w_start, p->w_count, p->w_div};
  int64_t off[10], q = 0;
  for (int k = 0; k < 6; k++) {
    const int64_t len = k < 3 ? p->out_h : p->out_w;
    memcpy(host + q, from[k], sizeof(int64_t) * (size_t)len);
    off[k] = q, q += len;
  }
  off[6] = q, q += p->in_h + 1, off[7] = q, q += nr;
  off[8] = q, q += p->in_w + 1, off[9] = q;
  invert_windows(p->h_start, p->h_count, p->h_step, p->out_h, p->in_h, host + off[6],
                 host + off[7], host + *n);
  invert_windows(p->w_start, p->w_count, p->w_step, p->out_w, p->in_w, host + off[8],
                 host + off[9], host + *n);
  tf_status st = upload_int64(p->op, host, *n, dev);
  free(host);
  TF_TRY(st);
  *d = (tfc_pool_plan){.max = p->kind == TF_POOL_MAX, .planes = p->planes, .in_h = p->in_h,
                       .in_w = p->in_w, .out_h = p->out_h, .out_w = p->out_w,
                       .h_step = p->h_step, .w_step = p->w_step,
                       .has_divisor = p->has_divisor, .divisor = p->divisor};
  const int64_t **to[10] = {&d->h_start, &d->h_count, &d->h_div, &d->w_start, &d->w_count,
                            &d->w_div, &d->row_at, &d->rows_of, &d->col_at, &d->cols_of};
  for (int k = 0; k < 10; k++) *to[k] = *dev + off[k];
  return TF_OK;
}

static tf_status cuda_pool(const tf_pool_plan *p, const tf_tensor *x, tf_tensor *out,
                           tf_tensor *indices) {
  tfc_pool_plan d;
  int64_t *dev, n;
  TF_TRY(pool_upload(p, &d, &dev, &n));
  char why[WHY_LEN];
  int rc = api.pool((int)x->dtype, &d, device_ptr(x), device_ptr(out),
                    indices ? (int64_t *)device_ptr(indices) : NULL, why, sizeof why);
  cuda_free(dev, sizeof(int64_t) * (size_t)n);
  return rc == 0 ? TF_OK : device_error(p->op, why);
}

/* Max pooling's indices are checked on the device and the verdict read
 * back (a wait, as indexing's host check): one outside its plane raises
 * the cpu's IndexError; one outside its window (not the forward's) takes
 * the cpu's loop per plane. */
static tf_status pool_check(const tf_pool_plan *p, const tfc_pool_plan *d,
                            const int64_t *indices, int *by_plane) {
  uint64_t *status = cuda_alloc(2 * sizeof(uint64_t)), verdict[2];
  TF_CHECK(status, TF_ERR_MEMORY, "%s backward: out of device memory", p->op);
  char why[WHY_LEN];
  tf_status st = api.pool_check_indices(d, indices, status, why, sizeof why) == 0
                     ? cuda_to_host(verdict, status, sizeof verdict)
                     : device_error(p->op, why);
  cuda_free(status, 2 * sizeof(uint64_t));
  TF_TRY(st);
  if (verdict[0] != UINT64_MAX) {
    int64_t value;
    TF_TRY(cuda_to_host(&value, indices + verdict[0], sizeof value));
    return tf_pool_bad_index(p, (int64_t)verdict[0] / (p->out_h * p->out_w), value);
  }
  *by_plane = verdict[1] != 0;
  return TF_OK;
}

static tf_status cuda_pool_backward(const tf_pool_plan *p, const tf_tensor *grad,
                                    const tf_tensor *indices, tf_tensor *grad_input) {
  tfc_pool_plan d;
  int64_t *dev, n;
  TF_TRY(pool_upload(p, &d, &dev, &n));
  const int64_t *ind = indices ? (const int64_t *)device_ptr(indices) : NULL;
  int by_plane = 0;
  tf_status st = p->kind == TF_POOL_MAX ? pool_check(p, &d, ind, &by_plane) : TF_OK;
  char why[WHY_LEN];
  if (st == TF_OK && api.pool_backward((int)grad->dtype, &d, device_ptr(grad), ind,
                                       device_ptr(grad_input), by_plane, why, sizeof why) != 0)
    st = device_error(p->op, why);
  cuda_free(dev, sizeof(int64_t) * (size_t)n);
  return st;
}

/* ---- convolution: cpu/conv.c's passes with the device's steps (conv.cu) ------------
 * tf_conv_passes plans the chunks and runs the products through this
 * backend's matmul slot (cuBLAS or the tiled kernel); the steps here
 * unfold, fold, permute, add the bias and accumulate on the device. */
static tfc_conv_geometry conv_geometry(const tf_conv_geom *g) {
  return (tfc_conv_geometry){g->n,  g->c_in, g->h,  g->w,  g->c_out, g->kh, g->kw, g->ho,
                             g->wo, g->sh,   g->sw, g->ph, g->pw,    g->dh, g->dw, g->groups};
}

static tf_status conv_zero(void *dst, size_t nbytes) {
  const uint64_t zero = 0;
  const int size = nbytes % 8 == 0 ? 8 : nbytes % 4 == 0 ? 4 : 1;
  char why[WHY_LEN];
  if (api.fill(dst, &zero, size, (int64_t)(nbytes / (size_t)size), why, sizeof why) != 0)
    return device_error("conv2d", why);
  return TF_OK;
}

static tf_status conv_im2col(const tf_conv_geom *g, tf_dtype dt, const char *x, char *cols,
                             int64_t nb, int64_t rs, int64_t is) {
  tfc_conv_geometry d = conv_geometry(g);
  char why[WHY_LEN];
  if (api.im2col((int)dt, &d, x, cols, nb, rs, is, why, sizeof why) != 0)
    return device_error("conv2d", why);
  return TF_OK;
}

static tf_status conv_col2im(const tf_conv_geom *g, tf_dtype dt, const char *cols, char *gx,
                             int64_t nb, int64_t rs, int64_t is) {
  tfc_conv_geometry d = conv_geometry(g);
  char why[WHY_LEN];
  if (api.col2im((int)dt, &d, cols, gx, nb, rs, is, why, sizeof why) != 0)
    return device_error("conv2d backward", why);
  return TF_OK;
}

/* gy (nb, O, L) to (O, nb, L): a strided copy. */
static tf_status conv_permute(const tf_conv_geom *g, tf_dtype dt, const char *src, char *dst,
                              int64_t nb) {
  const int64_t L = g->ho * g->wo, O = g->c_out;
  const int64_t shape[3] = {nb, O, L}, dst_st[3] = {L, nb * L, 1}, src_st[3] = {O * L, L, 1};
  char why[WHY_LEN];
  if (api.copy_strided(dst, src, (int)tf_dtype_size(dt), 3, shape, dst_st, src_st, why,
                       sizeof why) != 0)
    return device_error("conv2d backward", why);
  return TF_OK;
}

static tf_status conv_bias(const tf_conv_geom *g, tf_dtype dt, char *y, const char *bias,
                           int64_t nb) {
  tfc_conv_geometry d = conv_geometry(g);
  char why[WHY_LEN];
  if (api.conv_bias((int)dt, &d, y, bias, nb, why, sizeof why) != 0)
    return device_error("conv2d", why);
  return TF_OK;
}

static tf_status conv_accumulate(tf_dtype dt, double *acc, const char *prod, int64_t n) {
  char why[WHY_LEN];
  if (api.accumulate((int)dt, acc, prod, n, why, sizeof why) != 0)
    return device_error("conv2d backward", why);
  return TF_OK;
}

/* out = acc rounded to dt: a converting copy. */
static tf_status conv_finish(tf_dtype dt, char *out, const double *acc, int64_t n) {
  const int64_t one = 1;
  char why[WHY_LEN];
  if (api.convert(out, (int)dt, acc, TF_FLOAT64, 1, &n, &one, &one, why, sizeof why) != 0)
    return device_error("conv2d backward", why);
  return TF_OK;
}

static const tf_conv_steps device_conv_steps = {
    cuda_alloc,   cuda_free, conv_zero,       conv_im2col, conv_col2im,
    conv_permute, conv_bias, conv_accumulate, conv_finish};

static tf_status cuda_conv(int which, const tf_conv_geom *g, const tf_tensor *a,
                           const tf_tensor *b, const tf_tensor *bias, tf_tensor *out) {
  return tf_conv_passes(which, g, a, b, bias, out, &device_conv_steps);
}

/* ---- optimizers (optim.cu) ---------------------------------------------------------- */
static tf_status cuda_optim(const tf_optim_plan *p, tf_tensor *param, const tf_tensor *grad,
                            tf_tensor *const *buf) {
  char why[WHY_LEN];
  void *b[3];
  for (int i = 0; i < 3; i++) b[i] = buf[i] ? device_ptr(buf[i]) : NULL;
  if (api.optim(param->dtype, p, device_ptr(param), device_ptr(grad), b[0], b[1], b[2], why,
                sizeof why) != 0)
    return device_error("optimizer step", why);
  return TF_OK;
}

/* ---- the kernel table --------------------------------------------------------------
 * Every named slot (TF_NAMED_SLOTS) is listed here, as (kernel, NULL) or
 * (NULL, why it runs on the cpu only): a slot missing from this list fails
 * the build at its CUDA_SLOT_ name. The per-op slots are filled for every
 * op of tinyfin_ops.def (their arrays' lengths are checked), and matmul
 * for every dtype but bool (as the cpu's). */
#define CUDA_SLOT_copy (cuda_copy, NULL)
#define CUDA_SLOT_fill (cuda_fill, NULL)
#define CUDA_SLOT_where (cuda_where, NULL)
#define CUDA_SLOT_softmax (cuda_softmax, NULL)
#define CUDA_SLOT_arange (cuda_arange, NULL)
#define CUDA_SLOT_linspace (cuda_linspace, NULL)
#define CUDA_SLOT_eye (cuda_eye, NULL)
#define CUDA_SLOT_random (cuda_random, NULL)
#define CUDA_SLOT_pad (cuda_pad, NULL)
#define CUDA_SLOT_tril (cuda_tril, NULL)
#define CUDA_SLOT_gather (cuda_gather, NULL)
#define CUDA_SLOT_scatter_add (cuda_scatter_add, NULL)
#define CUDA_SLOT_index_select (cuda_index_select, NULL)
#define CUDA_SLOT_index_get (cuda_index_get, NULL)
#define CUDA_SLOT_index_put (cuda_index_put, NULL)
#define CUDA_SLOT_nonzero (cuda_nonzero, NULL)
#define CUDA_SLOT_lstm_cell (cuda_lstm_cell, NULL)
#define CUDA_SLOT_lstm_cell_backward (cuda_lstm_cell_backward, NULL)
#define CUDA_SLOT_cross_entropy (cuda_cross_entropy, NULL)
#define CUDA_SLOT_cross_entropy_backward (cuda_cross_entropy_backward, NULL)
#define CUDA_SLOT_bce_with_logits (cuda_bce_with_logits, NULL)
#define CUDA_SLOT_bce_with_logits_backward (cuda_bce_with_logits_backward, NULL)
#define CUDA_SLOT_normalize (cuda_norm, NULL)
#define CUDA_SLOT_normalize_backward (cuda_norm_backward, NULL)
#define CUDA_SLOT_pool (cuda_pool, NULL)
#define CUDA_SLOT_pool_backward (cuda_pool_backward, NULL)
#define CUDA_SLOT_conv (cuda_conv, NULL)
#define CUDA_SLOT_optim (cuda_optim, NULL)

#define KERNEL_OF_(fn, why) fn
#define WHY_OF_(fn, why) why
#define KERNEL_OF(pair) KERNEL_OF_ pair
#define WHY_OF(pair) WHY_OF_ pair
#define SLOT_KERNEL(name) .name = KERNEL_OF(CUDA_SLOT_##name),
#define SLOT_WHY(name) {#name, WHY_OF(CUDA_SLOT_##name)},

static const tf_kernels cuda_kernels = {
    .unary = cuda_unary_kernels, .binary = cuda_binary_kernels, .reduce = cuda_reduce_kernels,
    .matmul = {[TF_FLOAT32] = cuda_matmul, [TF_FLOAT64] = cuda_matmul, [TF_INT64] = cuda_matmul},
    TF_NAMED_SLOTS(SLOT_KERNEL)};

static const struct { const char *slot, *why; } cpu_only_slots[] = {TF_NAMED_SLOTS(SLOT_WHY)};

static const char *cuda_cpu_only(const char *slot) {
  for (size_t i = 0; i < sizeof cpu_only_slots / sizeof cpu_only_slots[0]; i++)
    if (!strcmp(slot, cpu_only_slots[i].slot)) return cpu_only_slots[i].why;
  return NULL;
}

const tf_backend tf_cuda_backend = {"cuda", TF_CUDA, false, &cuda_allocator, &cuda_kernels,
                                    cuda_available, cuda_cpu_only};

_Static_assert(TFC_MAX_DIMS == TF_MAX_DIMS, "the CUDA library's copies take the core's dims");
_Static_assert(TF_FLOAT32 == 0 && TF_FLOAT64 == 1 && TF_INT64 == 2 && TF_BOOL == 3,
               "the CUDA library's dtype codes (device_api.h)");
