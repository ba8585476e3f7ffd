/* runtime.cu: libtinyfin_cuda.so, the device side of the CUDA backend: the
 * functions of device_api.h over the CUDA runtime (linked statically, so
 * the library needs only the driver, libcuda.so, which the runtime opens
 * itself and reports missing as an error rather than a load failure).
 *
 * reduce.cu holds the reductions, launch.h what the two files share.
 * Built two ways from these files:
 *  - by nvcc (`make cuda`) for Hopper (sm_90) plus compute_90 PTX, which
 *    newer GPUs compile at load time; --fmad=false so that no multiply-add
 *    is fused behind the kernels' back (the CPU's results are the
 *    reference, bit for bit where the algorithm allows);
 *  - by g++ with TFC_EMULATE (`make cuda-emulated`), over
 *    emulated_runtime.h: the same kernels run as loops on the host, so the
 *    backend's plumbing (allocator, copies, errors, the Python API) is
 *    tested on machines without a GPU, CI included.
 */
#include "device_api.h"
#include "launch.h"

/* The cpu's scalar functions, device functions under nvcc (TF_DD_INLINE). */
#include "binary_scalar.h"
#include "fast_math.h"
#include "unary_scalar.h"

namespace {

template <typename T>
__global__ void fill_kernel(T *dst, T value, int64_t n) {
  TFC_FOR_EACH(i, n)
    dst[i] = value;
}

template <typename T>
cudaError_t launch_fill(void *dst, const void *elem, int64_t n) {
  T value;
  memcpy(&value, elem, sizeof value);
  TFC_LAUNCH(fill_kernel<T>, grid_for(n), kBlock, (T *)dst, value, n);
  return cudaGetLastError();
}

/* The shape and the strides of dst and of up to three sources (two for
 * binary ops, three for where; zeros where unused), by value: a kernel
 * argument, in the launch itself. */
const int kOperands = 4;
struct Geometry {
  int ndim;
  int64_t shape[TFC_MAX_DIMS], strides[kOperands][TFC_MAX_DIMS];
};

/* off[0..3]: the element offsets in dst and the sources of the i-th
 * element in row-major order of the shape. */
__device__ inline void offsets_of(const Geometry &g, int64_t i, int64_t off[kOperands]) {
  for (int o = 0; o < kOperands; o++) off[o] = 0;
  for (int d = g.ndim - 1; d >= 0; d--) {
    int64_t k = i % g.shape[d];
    i /= g.shape[d];
    for (int o = 0; o < kOperands; o++) off[o] += k * g.strides[o][d];
  }
}

template <typename T>
__global__ void copy_strided_kernel(T *dst, const T *src, Geometry g, int64_t n) {
  TFC_FOR_EACH(i, n) {
    int64_t off[kOperands];
    offsets_of(g, i, off);
    dst[off[0]] = src[off[1]];
  }
}

template <typename T>
cudaError_t launch_copy(void *dst, const void *src, const Geometry &g, int64_t n) {
  TFC_LAUNCH(copy_strided_kernel<T>, grid_for(n), kBlock, (T *)dst, (const T *)src, g, n);
  return cudaGetLastError();
}

/* ---- conversions (cpu/copy.c's rules) ---------------------------------------- */
template <typename TD>
struct Convert {
  template <typename TS>
  __device__ TD operator()(TS x) const { return (TD)x; }
};
template <>
struct Convert<bool> {
  template <typename TS>
  __device__ bool operator()(TS x) const { return x != 0; }
};
template <>
struct Convert<int64_t> {
  __device__ int64_t from_float(double x) const {
    if (x != x) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
  }
  __device__ int64_t operator()(float x) const { return from_float(x); }
  __device__ int64_t operator()(double x) const { return from_float(x); }
  __device__ int64_t operator()(int64_t x) const { return x; }
  __device__ int64_t operator()(bool x) const { return x; }
};

template <typename TD, typename TS>
__global__ void convert_kernel(TD *dst, const TS *src, Geometry g, int64_t n) {
  TFC_FOR_EACH(i, n) {
    int64_t off[kOperands];
    offsets_of(g, i, off);
    dst[off[0]] = Convert<TD>()(src[off[1]]);
  }
}

template <typename TD, typename TS>
cudaError_t launch_convert(void *dst, const void *src, const Geometry &g, int64_t n) {
  TFC_LAUNCH((convert_kernel<TD, TS>), grid_for(n), kBlock, (TD *)dst, (const TS *)src, g, n);
  return cudaGetLastError();
}

template <typename TD>
cudaError_t launch_convert_to(void *dst, const void *src, int src_dtype, const Geometry &g,
                              int64_t n) {
  switch (src_dtype) {
    case 0: return launch_convert<TD, float>(dst, src, g, n);
    case 1: return launch_convert<TD, double>(dst, src, g, n);
    case 2: return launch_convert<TD, int64_t>(dst, src, g, n);
    case 3: return launch_convert<TD, bool>(dst, src, g, n);
  }
  return cudaErrorInvalidValue;
}

/* ---- unary ops ------------------------------------------------------------
 * One functor per op and input dtype, from tinyfin_ops.def, computing as the
 * cpu's row loops do (cpu/unary.c): float32 through the double function and
 * one rounding (or the _short formula, or tf_fast_expf), float64 the double
 * function, int64 the ui_ function, predicates on the value as a double. */
struct Params {
  double p[3];
};

#define F32_VIA_F64(name) (float)uf_##name((double)x, p)
#define F32_VIA_F64_SHORT(name) (float)uf_##name##_short((double)x, p)
#define F32_FAST_EXP(name) tf_fast_expf(x)
#define FUNCTOR(NAME, TI, TO, EXPR)                                    \
  struct NAME {                                                        \
    __device__ TO operator()(TI x, const double *p) const {            \
      (void)p;                                                         \
      return (EXPR);                                                   \
    }                                                                  \
  };
#define FUNCTORS_FLOAT(name, f32impl)                                  \
  FUNCTOR(name##_f32, float, float, F32_##f32impl(name))              \
  FUNCTOR(name##_f64, double, double, uf_##name(x, p))
#define FUNCTORS_NUM(name, f32impl) \
  FUNCTORS_FLOAT(name, f32impl)     \
  FUNCTOR(name##_i64, int64_t, int64_t, ui_##name(x, p))
#define FUNCTORS_PRED(name, f32impl)                                   \
  FUNCTOR(name##_f32, float, bool, up_##name((double)x))              \
  FUNCTOR(name##_f64, double, bool, up_##name(x))                     \
  FUNCTOR(name##_i64, int64_t, bool, up_##name((double)x))            \
  FUNCTOR(name##_bool, bool, bool, up_##name((double)x))
#define TF_UNARY_OP(ENUM, name, kind, f32impl) FUNCTORS_##kind(name, f32impl)
#include "tinyfin_ops.def"
#undef TF_UNARY_OP

enum {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) UNARY_##ENUM,
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
  UNARY_COUNT
};

template <typename TI, typename TO, typename F>
__global__ void unary_kernel(TO *dst, const TI *x, Geometry g, Params prm, int64_t n, F f) {
  TFC_FOR_EACH(i, n) {
    int64_t off[kOperands];
    offsets_of(g, i, off);
    dst[off[0]] = f(x[off[1]], prm.p);
  }
}

template <typename TI, typename TO, typename F>
cudaError_t launch_unary(void *dst, const void *x, const Geometry &g, const Params &prm,
                         int64_t n) {
  TFC_LAUNCH((unary_kernel<TI, TO, F>), grid_for(n), kBlock, (TO *)dst, (const TI *)x, g, prm,
             n, F());
  return cudaGetLastError();
}

enum { DT_F32 = 0, DT_F64 = 1, DT_I64 = 2, DT_BOOL = 3 };
#define LAUNCH_FLOAT(name)                                                         \
  dtype == DT_F32   ? launch_unary<float, float, name##_f32>(dst, x, g, prm, n)    \
  : dtype == DT_F64 ? launch_unary<double, double, name##_f64>(dst, x, g, prm, n)  \
                    : cudaErrorInvalidValue
#define LAUNCH_NUM(name)                                                           \
  dtype == DT_I64 ? launch_unary<int64_t, int64_t, name##_i64>(dst, x, g, prm, n)  \
                  : LAUNCH_FLOAT(name)
#define LAUNCH_PRED(name)                                                          \
  dtype == DT_F32   ? launch_unary<float, bool, name##_f32>(dst, x, g, prm, n)     \
  : dtype == DT_F64 ? launch_unary<double, bool, name##_f64>(dst, x, g, prm, n)    \
  : dtype == DT_I64 ? launch_unary<int64_t, bool, name##_i64>(dst, x, g, prm, n)   \
  : dtype == DT_BOOL ? launch_unary<bool, bool, name##_bool>(dst, x, g, prm, n)    \
                     : cudaErrorInvalidValue

/* Shape and strides into a Geometry (sources beyond those given: stride
 * 0); the element count in *n. */
bool geometry_of(int ndim, const int64_t *shape, const int64_t *const *strides, int nstrides,
                 Geometry *g, int64_t *n) {
  if (ndim < 0 || ndim > TFC_MAX_DIMS) return false;
  g->ndim = ndim;
  *n = 1;
  for (int d = 0; d < ndim; d++) {
    g->shape[d] = shape[d];
    for (int o = 0; o < kOperands; o++) g->strides[o][d] = o < nstrides ? strides[o][d] : 0;
    *n *= shape[d];
  }
  return true;
}

/* ---- binary ops ---------------------------------------------------------------
 * One functor per op from tinyfin_ops.def, overloaded on the operand type
 * as cpu/binary.c's loops are: BF_ on float and double, BI_ on int64,
 * BC_ (comparisons, logic) on any type with a bool result. */
#define BFUNCTORS_TRUEDIV(name)                                                         \
  __device__ float operator()(float x, float y) const { return BF_##name(float, x, y); }  \
  __device__ double operator()(double x, double y) const { return BF_##name(double, x, y); }
#define BFUNCTORS_ARITH(name) \
  BFUNCTORS_TRUEDIV(name)     \
  __device__ int64_t operator()(int64_t x, int64_t y) const { return BI_##name(int64_t, x, y); }
#define BFUNCTORS_CMP(name) \
  template <typename T>     \
  __device__ bool operator()(T x, T y) const { return BC_##name(T, x, y); }
#define BFUNCTORS_LOGIC(name) BFUNCTORS_CMP(name)
#define TF_BINARY_OP(ENUM, name, kind) \
  struct binary_##name {               \
    BFUNCTORS_##kind(name)             \
  };
#include "tinyfin_ops.def"
#undef TF_BINARY_OP

enum {
#define TF_BINARY_OP(ENUM, name, kind) BINARY_##ENUM,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
  BINARY_COUNT
};

/* An operand: device memory, or one value for every element (a_value). */
template <typename T>
struct Operand {
  const T *data;
  T value;
  bool scalar;
};

template <typename T, typename TO, typename F>
__global__ void binary_kernel(TO *dst, Operand<T> a, Operand<T> b, Geometry g, int64_t n, F f) {
  TFC_FOR_EACH(i, n) {
    int64_t off[kOperands];
    offsets_of(g, i, off);
    dst[off[0]] = f(a.scalar ? a.value : a.data[off[1]], b.scalar ? b.value : b.data[off[2]]);
  }
}

template <typename T>
Operand<T> operand(const void *data, const void *value) {
  Operand<T> o;
  o.data = (const T *)data;
  o.scalar = value != NULL;
  o.value = T();
  if (value) memcpy(&o.value, value, sizeof o.value);
  return o;
}

template <typename T, typename TO, typename F>
cudaError_t launch_binary(void *dst, const void *a, const void *b, const void *av,
                          const void *bv, const Geometry &g, int64_t n) {
  TFC_LAUNCH((binary_kernel<T, TO, F>), grid_for(n), kBlock, (TO *)dst, operand<T>(a, av),
             operand<T>(b, bv), g, n, F());
  return cudaGetLastError();
}

#define BLAUNCH(T, TO, name) launch_binary<T, TO, binary_##name>(dst, a, b, av, bv, g, n)
#define BLAUNCH_TRUEDIV(name)                   \
  dtype == DT_F32   ? BLAUNCH(float, float, name) \
  : dtype == DT_F64 ? BLAUNCH(double, double, name) \
                    : cudaErrorInvalidValue
#define BLAUNCH_ARITH(name) \
  dtype == DT_I64 ? BLAUNCH(int64_t, int64_t, name) : BLAUNCH_TRUEDIV(name)
#define BLAUNCH_CMP(name)                          \
  dtype == DT_F32    ? BLAUNCH(float, bool, name)   \
  : dtype == DT_F64  ? BLAUNCH(double, bool, name)  \
  : dtype == DT_I64  ? BLAUNCH(int64_t, bool, name) \
  : dtype == DT_BOOL ? BLAUNCH(bool, bool, name)    \
                     : cudaErrorInvalidValue
#define BLAUNCH_LOGIC(name) BLAUNCH_CMP(name)

/* ---- where ---------------------------------------------------------------------- */
template <typename T>
__global__ void where_kernel(T *dst, Operand<bool> cond, Operand<T> a, Operand<T> b, Geometry g,
                             int64_t n) {
  TFC_FOR_EACH(i, n) {
    int64_t off[kOperands];
    offsets_of(g, i, off);
    bool c = cond.scalar ? cond.value : cond.data[off[1]];
    dst[off[0]] = c ? (a.scalar ? a.value : a.data[off[2]]) : (b.scalar ? b.value : b.data[off[3]]);
  }
}

template <typename T>
cudaError_t launch_where(void *dst, const void *cond, const void *cond_value, const void *a,
                         const void *a_value, const void *b, const void *b_value,
                         const Geometry &g, int64_t n) {
  TFC_LAUNCH(where_kernel<T>, grid_for(n), kBlock, (T *)dst, operand<bool>(cond, cond_value),
             operand<T>(a, a_value), operand<T>(b, b_value), g, n);
  return cudaGetLastError();
}

}  // namespace

extern "C" {

int tfc_binary_count(void) { return BINARY_COUNT; }

int tfc_binary(int op, int dtype, void *dst, const void *a, const void *b,
               const void *av, const void *bv, int ndim, const int64_t *shape,
               const int64_t *dst_strides, const int64_t *a_strides, const int64_t *b_strides,
               char *why, size_t why_len) {
  Geometry g;
  int64_t n;
  const int64_t *strides[] = {dst_strides, a_strides, b_strides};
  if (!geometry_of(ndim, shape, strides, 3, &g, &n))
    return fail(cudaErrorInvalidValue, "binary kernel (too many dims)", why, why_len);
  if (n <= 0) return 0;
  cudaError_t err = cudaErrorInvalidValue;
  switch (op) {
#define TF_BINARY_OP(ENUM, name, kind) \
  case BINARY_##ENUM:                  \
    err = BLAUNCH_##kind(name);        \
    break;
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
  }
  return fail(err, "binary kernel", why, why_len);
}

int tfc_where(int dtype, void *dst, const void *cond, const void *a, const void *b,
              const void *cond_value, const void *a_value, const void *b_value, int ndim,
              const int64_t *shape, const int64_t *dst_strides, const int64_t *cond_strides,
              const int64_t *a_strides, const int64_t *b_strides, char *why, size_t why_len) {
  Geometry g;
  int64_t n;
  const int64_t *strides[] = {dst_strides, cond_strides, a_strides, b_strides};
  if (!geometry_of(ndim, shape, strides, 4, &g, &n))
    return fail(cudaErrorInvalidValue, "where kernel (too many dims)", why, why_len);
  if (n <= 0) return 0;
  cudaError_t err =
      dtype == DT_F32    ? launch_where<float>(dst, cond, cond_value, a, a_value, b, b_value, g, n)
      : dtype == DT_F64  ? launch_where<double>(dst, cond, cond_value, a, a_value, b, b_value, g, n)
      : dtype == DT_I64  ? launch_where<int64_t>(dst, cond, cond_value, a, a_value, b, b_value, g, n)
      : dtype == DT_BOOL ? launch_where<bool>(dst, cond, cond_value, a, a_value, b, b_value, g, n)
                         : cudaErrorInvalidValue;
  return fail(err, "where kernel", why, why_len);
}

int tfc_unary_count(void) { return UNARY_COUNT; }

int tfc_unary(int op, int dtype, void *dst, const void *x, int ndim, const int64_t *shape,
              const int64_t *dst_strides, const int64_t *x_strides, const double *params,
              char *why, size_t why_len) {
  Geometry g;
  int64_t n;
  const int64_t *strides[] = {dst_strides, x_strides};
  if (!geometry_of(ndim, shape, strides, 2, &g, &n))
    return fail(cudaErrorInvalidValue, "unary kernel (too many dims)", why, why_len);
  if (n <= 0) return 0;
  Params prm = {{params[0], params[1], params[2]}};
  cudaError_t err = cudaErrorInvalidValue;
  switch (op) {
#define TF_UNARY_OP(ENUM, name, kind, f32impl) \
  case UNARY_##ENUM:                           \
    err = LAUNCH_##kind(name);                 \
    break;
#include "tinyfin_ops.def"
#undef TF_UNARY_OP
  }
  return fail(err, "unary kernel", why, why_len);
}


int tfc_abi_version(void) { return TFC_ABI_VERSION; }

int tfc_device_count(int *count, char *why, size_t why_len) {
  *count = 0;
  cudaError_t err = cudaGetDeviceCount(count);
  if (err != cudaSuccess) *count = 0;
  return fail(err, "cudaGetDeviceCount", why, why_len);
}

int tfc_malloc(void **ptr, size_t nbytes, char *why, size_t why_len) {
  *ptr = NULL;
  return fail(cudaMalloc(ptr, nbytes), "cudaMalloc", why, why_len);
}

int tfc_free(void *ptr, char *why, size_t why_len) {
  return fail(cudaFree(ptr), "cudaFree", why, why_len);
}

int tfc_memcpy(void *dst, const void *src, size_t nbytes, int kind, char *why,
               size_t why_len) {
  cudaMemcpyKind k = kind == TFC_HOST_TO_DEVICE   ? cudaMemcpyHostToDevice
                     : kind == TFC_DEVICE_TO_HOST ? cudaMemcpyDeviceToHost
                                                  : cudaMemcpyDeviceToDevice;
  return fail(cudaMemcpy(dst, src, nbytes, k), "cudaMemcpy", why, why_len);
}

int tfc_host_alloc(void **ptr, size_t nbytes, char *why, size_t why_len) {
  *ptr = NULL;
  return fail(cudaMallocHost(ptr, nbytes), "cudaMallocHost", why, why_len);
}

int tfc_host_free(void *ptr, char *why, size_t why_len) {
  /* every copy still reading the block finishes first */
  cudaError_t err = cudaDeviceSynchronize();
  if (err == cudaSuccess) err = cudaFreeHost(ptr);
  return fail(err, "cudaFreeHost", why, why_len);
}

int tfc_upload_async(void *dst, const void *src, size_t nbytes, char *why, size_t why_len) {
  return fail(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, 0), "cudaMemcpyAsync",
              why, why_len);
}

int tfc_fill(void *dst, const void *elem, int elem_size, int64_t n, char *why,
             size_t why_len) {
  if (n <= 0) return 0;
  cudaError_t err = elem_size == 1   ? launch_fill<uint8_t>(dst, elem, n)
                    : elem_size == 2 ? launch_fill<uint16_t>(dst, elem, n)
                    : elem_size == 4 ? launch_fill<uint32_t>(dst, elem, n)
                    : elem_size == 8 ? launch_fill<uint64_t>(dst, elem, n)
                                     : cudaErrorInvalidValue;
  return fail(err, "fill kernel", why, why_len);
}

int tfc_copy_strided(void *dst, const void *src, int elem_size, int ndim,
                     const int64_t *shape, const int64_t *dst_strides,
                     const int64_t *src_strides, char *why, size_t why_len) {
  Geometry g;
  int64_t n;
  const int64_t *strides[] = {dst_strides, src_strides};
  if (!geometry_of(ndim, shape, strides, 2, &g, &n))
    return fail(cudaErrorInvalidValue, "strided copy (too many dims)", why, why_len);
  if (n <= 0) return 0;
  cudaError_t err = elem_size == 1   ? launch_copy<uint8_t>(dst, src, g, n)
                    : elem_size == 2 ? launch_copy<uint16_t>(dst, src, g, n)
                    : elem_size == 4 ? launch_copy<uint32_t>(dst, src, g, n)
                    : elem_size == 8 ? launch_copy<uint64_t>(dst, src, g, n)
                                     : cudaErrorInvalidValue;
  return fail(err, "strided copy kernel", why, why_len);
}

int tfc_convert(void *dst, int dst_dtype, const void *src, int src_dtype, int ndim,
                const int64_t *shape, const int64_t *dst_strides, const int64_t *src_strides,
                char *why, size_t why_len) {
  Geometry g;
  int64_t n;
  const int64_t *strides[] = {dst_strides, src_strides};
  if (!geometry_of(ndim, shape, strides, 2, &g, &n))
    return fail(cudaErrorInvalidValue, "conversion (too many dims)", why, why_len);
  if (n <= 0) return 0;
  cudaError_t err = dst_dtype == 0   ? launch_convert_to<float>(dst, src, src_dtype, g, n)
                    : dst_dtype == 1 ? launch_convert_to<double>(dst, src, src_dtype, g, n)
                    : dst_dtype == 2 ? launch_convert_to<int64_t>(dst, src, src_dtype, g, n)
                    : dst_dtype == 3 ? launch_convert_to<bool>(dst, src, src_dtype, g, n)
                                     : cudaErrorInvalidValue;
  return fail(err, "conversion kernel", why, why_len);
}

int tfc_synchronize(char *why, size_t why_len) {
  return fail(cudaDeviceSynchronize(), "cudaDeviceSynchronize", why, why_len);
}

}  // extern "C"
