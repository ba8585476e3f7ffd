/* random.c: the entry points of the random tensors (rand, randn, randint)
 * and the generator's state. A call reserves a range of Philox counters
 * with one atomic add and hands it to the chosen backend's kernel, which
 * fills element i from the counter block its index maps to
 * (tf_random_per_block): so every backend and thread count draws the same
 * numbers for one seed. The seed and the next free counter are atomics. */
#include "../backend.h"

#define TF_DEFAULT_SEED 67280421310721ULL

static atomic_ullong tf_seed = TF_DEFAULT_SEED;
static atomic_ullong tf_next_counter = 0;

void tf_manual_seed(uint64_t seed) {
  atomic_store(&tf_seed, seed);
  atomic_store(&tf_next_counter, 0);
}

uint64_t tf_initial_seed(void) { return atomic_load(&tf_seed); }

static tf_status float_dtype(const char *op, tf_dtype dtype) {
  TF_CHECK(tf_is_float(dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 dtype, got %s", op,
           tf_dtype_name(dtype));
  return TF_OK;
}

/* A new tensor on device, filled with numbers of kind from the next free
 * counters. */
static tf_status draw(const char *op, int ndim, const int64_t *shape,
                      tf_dtype dtype, int device, int kind,
                      const double *params, tf_tensor **out) {
  tf_random_kernel kernel;
  TF_KERNEL(kernel, (tf_device)device, op, k->random);
  const tf_allocator *alloc;
  TF_TRY(tf_device_allocator(op, device, &alloc));
  tf_tensor *t = NULL;
  TF_TRY(tf_new_on(alloc, ndim, shape, dtype, &t));
  int64_t per_block = tf_random_per_block(kind, dtype);
  int64_t blocks = (tf_tensor_numel(t) + per_block - 1) / per_block;
  uint64_t seed = atomic_load(&tf_seed);
  uint64_t base = atomic_fetch_add(&tf_next_counter, (unsigned long long)blocks);
  tf_status st = kernel(t, kind, params, seed, base);
  if (st != TF_OK) {
    tf_tensor_release(t);
    return st;
  }
  *out = t;
  return TF_OK;
}

tf_status tf_rand(int ndim, const int64_t *shape, tf_dtype dtype, double low,
                  double high, int device, tf_tensor **out) {
  TF_TRY(float_dtype("rand", dtype));
  TF_CHECK(low <= high, TF_ERR_VALUE,
           "rand: low (%g) must not be greater than high (%g)", low, high);
  const double params[2] = {low, high};
  return draw("rand", ndim, shape, dtype, device, TF_RANDOM_UNIFORM, params, out);
}

tf_status tf_randn(int ndim, const int64_t *shape, tf_dtype dtype, double mean,
                   double std, int device, tf_tensor **out) {
  TF_TRY(float_dtype("randn", dtype));
  TF_CHECK(std >= 0, TF_ERR_VALUE, "randn: std must be non-negative, got %g", std);
  const double params[2] = {mean, std};
  return draw("randn", ndim, shape, dtype, device, TF_RANDOM_NORMAL, params, out);
}

tf_status tf_randint(int ndim, const int64_t *shape, tf_dtype dtype,
                     int64_t low, int64_t high, int device, tf_tensor **out) {
  TF_CHECK(dtype != TF_BOOL, TF_ERR_DTYPE,
           "randint: bool is not supported; use int64, float32 or float64");
  TF_CHECK(high > low, TF_ERR_VALUE,
           "randint: high (%lld) must be greater than low (%lld)",
           (long long)high, (long long)low);
  double params[2]; /* the int64 bounds' bits, exact */
  memcpy(&params[0], &low, sizeof low);
  memcpy(&params[1], &high, sizeof high);
  return draw("randint", ndim, shape, dtype, device, TF_RANDOM_INT, params, out);
}
