/* creation.c: the entry points that make tensors from a value or a range:
 * full, arange, linspace, eye (zeros/ones/empty are full or empty with the
 * obvious value), each on the device asked for; the values come from the
 * chosen backend's kernels (cpu/creation.c holds the cpu's). */
#include "../backend.h"

/* The allocator of device: the memory its backend's results live in. */
tf_status tf_device_allocator(const char *op, int device,
                              const tf_allocator **alloc) {
  const tf_backend *b = tf_backend_for((tf_device)device);
  TF_CHECK(b != NULL, TF_ERR_DEVICE,
           "%s: this build of tinyfin has no backend for device code %d (it "
           "runs on cpu only)", op, device);
  *alloc = b->allocator;
  return TF_OK;
}


/* t made by new_on's caller, filled by its kernel's status st: handed to
 * the caller on success, released on failure. */
static tf_status finish(tf_tensor *t, tf_status st, tf_tensor **out) {
  if (st != TF_OK) {
    tf_tensor_release(t);
    return st;
  }
  *out = t;
  return TF_OK;
}

static tf_status new_on(const char *op, int device, int ndim,
                        const int64_t *shape, tf_dtype dtype, tf_tensor **t) {
  const tf_allocator *alloc;
  TF_TRY(tf_device_allocator(op, device, &alloc));
  return tf_new_on(alloc, ndim, shape, dtype, t);
}

tf_status tf_full(int ndim, const int64_t *shape, tf_dtype dtype,
                  double fvalue, int64_t ivalue, int kind, int device,
                  tf_tensor **out) {
  tf_tensor *t = NULL;
  TF_TRY(new_on("full", device, ndim, shape, dtype, &t));
  return finish(t, tf_fill_(t, fvalue, ivalue, kind), out);
}

tf_status tf_arange(double fstart, double fstep, int64_t istart,
                    int64_t istep, int64_t n, tf_dtype dtype, int device,
                    tf_tensor **out) {
  TF_CHECK(n >= 0, TF_ERR_VALUE, "arange: negative length %lld",
           (long long)n);
  TF_CHECK(dtype != TF_BOOL, TF_ERR_DTYPE,
           "arange: bool is not supported; use float32, float64 or int64");
  tf_arange_kernel kernel;
  TF_KERNEL(kernel, (tf_device)device, "arange", k->arange);
  tf_tensor *t = NULL;
  TF_TRY(new_on("arange", device, 1, &n, dtype, &t));
  return finish(t, kernel(t, fstart, fstep, istart, istep), out);
}

tf_status tf_linspace(double start, double end, int64_t steps, tf_dtype dtype,
                      int device, tf_tensor **out) {
  TF_CHECK(steps >= 0, TF_ERR_VALUE,
           "linspace: number of steps must be non-negative, got %lld",
           (long long)steps);
  TF_CHECK(tf_is_float(dtype), TF_ERR_DTYPE,
           "linspace: expected a float32 or float64 dtype, got %s",
           tf_dtype_name(dtype));
  tf_linspace_kernel kernel;
  TF_KERNEL(kernel, (tf_device)device, "linspace", k->linspace);
  tf_tensor *t = NULL;
  TF_TRY(new_on("linspace", device, 1, &steps, dtype, &t));
  return finish(t, kernel(t, start, end), out);
}

tf_status tf_eye(int64_t n, int64_t m, tf_dtype dtype, int device,
                 tf_tensor **out) {
  TF_CHECK(n >= 0 && m >= 0, TF_ERR_VALUE,
           "eye: n and m must be non-negative, got %lld and %lld",
           (long long)n, (long long)m);
  tf_eye_kernel kernel;
  TF_KERNEL(kernel, (tf_device)device, "eye", k->eye);
  int64_t shape[2] = {n, m};
  tf_tensor *t = NULL;
  TF_TRY(new_on("eye", device, 2, shape, dtype, &t));
  tf_status st = tf_fill_(t, 0.0, 0, TF_SCALAR_INT);
  if (st == TF_OK) st = kernel(t);
  return finish(t, st, out);
}
