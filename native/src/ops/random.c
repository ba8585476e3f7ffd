/* random.c: the entry points of the random tensors (rand, randn, randint)
 * and the generator's state. A call reserves a range of Philox counters
 * with one atomic add and hands it to the chosen backend's kernel, which
 * fills element i from the counter block its index maps to
 * (tf_random_per_block): so every backend and thread count draws the same
 * numbers for one seed. A generator's seed and next free counter change
 * together under its spin lock (held for a few instructions), so a draw
 * never pairs a new seed with an old counter. */
#include <stdlib.h>

#include "../backend.h"

#define TF_DEFAULT_SEED 67280421310721ULL

struct tf_generator {
  atomic_flag lock;
  uint64_t seed;
  uint64_t counter; /* the next free Philox block */
};

static tf_generator default_generator = {ATOMIC_FLAG_INIT, TF_DEFAULT_SEED, 0};

static tf_generator *resolve(tf_generator *gen) {
  return gen ? gen : &default_generator;
}

static void lock(tf_generator *gen) {
  while (atomic_flag_test_and_set_explicit(&gen->lock, memory_order_acquire)) {
  }
}

static void unlock(tf_generator *gen) {
  atomic_flag_clear_explicit(&gen->lock, memory_order_release);
}

tf_generator *tf_generator_new(uint64_t seed) {
  tf_generator *gen = malloc(sizeof *gen);
  if (gen) {
    atomic_flag_clear(&gen->lock);
    gen->seed = seed;
    gen->counter = 0;
  }
  return gen;
}

void tf_generator_free(tf_generator *gen) {
  if (gen != &default_generator)
    free(gen);
}

void tf_generator_set_state(tf_generator *gen, uint64_t seed, uint64_t counter) {
  gen = resolve(gen);
  lock(gen);
  gen->seed = seed;
  gen->counter = counter;
  unlock(gen);
}

void tf_generator_get_state(tf_generator *gen, uint64_t *seed, uint64_t *counter) {
  gen = resolve(gen);
  lock(gen);
  *seed = gen->seed;
  *counter = gen->counter;
  unlock(gen);
}

void tf_generator_manual_seed(tf_generator *gen, uint64_t seed) {
  tf_generator_set_state(gen, seed, 0);
}

uint64_t tf_generator_initial_seed(tf_generator *gen) {
  uint64_t seed, counter;
  tf_generator_get_state(gen, &seed, &counter);
  return seed;
}

void tf_manual_seed(uint64_t seed) { tf_generator_manual_seed(NULL, seed); }

uint64_t tf_initial_seed(void) { return tf_generator_initial_seed(NULL); }

/* Reserves `blocks` counters of gen: (seed, first counter). */
static void reserve(tf_generator *gen, int64_t blocks, uint64_t *seed,
                    uint64_t *base) {
  gen = resolve(gen);
  lock(gen);
  *seed = gen->seed;
  *base = gen->counter;
  gen->counter += (uint64_t)blocks;
  unlock(gen);
}

static tf_status float_dtype(const char *op, tf_dtype dtype) {
  TF_CHECK(tf_is_float(dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 dtype, got %s", op,
           tf_dtype_name(dtype));
  return TF_OK;
}

/* A new tensor on device, filled with numbers of kind from the next free
 * counters. */
static tf_status draw(const char *op, int ndim, const int64_t *shape,
                      tf_dtype dtype, int device, tf_generator *gen, int kind,
                      const double *params, tf_tensor **out) {
  tf_random_kernel kernel;
  TF_KERNEL(kernel, (tf_device)device, op, k->random);
  const tf_allocator *alloc;
  TF_TRY(tf_device_allocator(op, device, &alloc));
  tf_tensor *t = NULL;
  TF_TRY(tf_new_on(alloc, ndim, shape, dtype, &t));
  int64_t per_block = tf_random_per_block(kind, dtype);
  int64_t blocks = (tf_tensor_numel(t) + per_block - 1) / per_block;
  uint64_t seed, base;
  reserve(gen, blocks, &seed, &base);
  tf_status st = kernel(t, kind, params, seed, base);
  if (st != TF_OK) {
    tf_tensor_release(t);
    return st;
  }
  *out = t;
  return TF_OK;
}

tf_status tf_rand(int ndim, const int64_t *shape, tf_dtype dtype, double low,
                  double high, int device, tf_generator *gen, tf_tensor **out) {
  TF_TRY(float_dtype("rand", dtype));
  TF_CHECK(low <= high, TF_ERR_VALUE,
           "rand: low (%g) must not be greater than high (%g)", low, high);
  const double params[2] = {low, high};
  return draw("rand", ndim, shape, dtype, device, gen, TF_RANDOM_UNIFORM, params, out);
}

tf_status tf_randn(int ndim, const int64_t *shape, tf_dtype dtype, double mean,
                   double std, int device, tf_generator *gen, tf_tensor **out) {
  TF_TRY(float_dtype("randn", dtype));
  TF_CHECK(std >= 0, TF_ERR_VALUE, "randn: std must be non-negative, got %g", std);
  const double params[2] = {mean, std};
  return draw("randn", ndim, shape, dtype, device, gen, TF_RANDOM_NORMAL, params, out);
}

tf_status tf_randint(int ndim, const int64_t *shape, tf_dtype dtype,
                     int64_t low, int64_t high, int device, tf_generator *gen,
                     tf_tensor **out) {
  TF_CHECK(dtype != TF_BOOL, TF_ERR_DTYPE,
           "randint: bool is not supported; use int64, float32 or float64");
  TF_CHECK(high > low, TF_ERR_VALUE,
           "randint: high (%lld) must be greater than low (%lld)",
           (long long)high, (long long)low);
  double params[2]; /* the int64 bounds' bits, exact */
  memcpy(&params[0], &low, sizeof low);
  memcpy(&params[1], &high, sizeof high);
  return draw("randint", ndim, shape, dtype, device, gen, TF_RANDOM_INT, params, out);
}
