/* random.c: random tensors from Philox4x32-10, a counter-based generator.
 *
 * Each draw is a pure function of (seed, counter): a call reserves a range
 * of counters with one atomic add, and element i reads the counter block
 * that its index maps to. So the numbers depend only on the seed and on the
 * order of calls, never on the machine or the thread count, and a tensor can
 * be filled in parallel. The seed and the next free counter are the only
 * mutable globals of the core; both are atomics.
 */
#include <math.h>

#include "../internal.h"

#define TF_DEFAULT_SEED 67280421310721ULL

static atomic_ullong tf_seed = TF_DEFAULT_SEED;
static atomic_ullong tf_next_counter = 0;

void tf_manual_seed(uint64_t seed) {
  atomic_store(&tf_seed, seed);
  atomic_store(&tf_next_counter, 0);
}

uint64_t tf_initial_seed(void) { return atomic_load(&tf_seed); }

/* Philox4x32-10 (Salmon et al., SC'11): 10 rounds of multiply-xor. */
static void philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* One Philox block (four 32-bit words) feeds `per_block` elements. */
typedef void (*fill_fn)(char *out, int64_t i, const uint32_t block[4],
                        int slot, const double *params);

static uint64_t reserve(int64_t blocks) {
  return atomic_fetch_add(&tf_next_counter, (unsigned long long)blocks);
}

static void fill(tf_tensor *t, int per_block, fill_fn fn, const double *params) {
  int64_t n = tf_tensor_numel(t);
  int64_t blocks = (n + per_block - 1) / per_block;
  uint64_t seed = atomic_load(&tf_seed), base = reserve(blocks);
  char *data = tf_ptr(t);
  int64_t chunk = TF_PARALLEL_GRAIN / per_block + 1;
  int64_t nchunks = (blocks + chunk - 1) / chunk;
  TF_PARALLEL_FOR(n >= TF_PARALLEL_GRAIN)
  for (int64_t c = 0; c < nchunks; c++) {
    int64_t end = (c + 1) * chunk < blocks ? (c + 1) * chunk : blocks;
    for (int64_t b = c * chunk; b < end; b++) {
      uint32_t words[4];
      philox(seed, base + (uint64_t)b, words);
      for (int s = 0; s < per_block && b * per_block + s < n; s++)
        fn(data, b * per_block + s, words, s, params);
    }
  }
}

/* Uniform doubles: 53 random bits in [0, 1), or in (0, 1) when open. */
static double unit53(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1p-53;
}
static double unit53_open(uint32_t hi, uint32_t lo) {
  return ((double)((((uint64_t)hi << 32) | lo) >> 11) + 0.5) * 0x1p-53;
}

static void fill_rand_f32(char *out, int64_t i, const uint32_t w[4], int s,
                          const double *p) {
  float u = (float)(w[s] >> 8) * 0x1p-24f; /* 24 bits: every float in [0, 1) */
  float v = (float)p[0] + (float)(p[1] - p[0]) * u;
  ((float *)out)[i] = v < (float)p[1] ? v : nextafterf((float)p[1], (float)p[0]);
}
static void fill_rand_f64(char *out, int64_t i, const uint32_t w[4], int s,
                          const double *p) {
  double v = p[0] + (p[1] - p[0]) * unit53(w[2 * s], w[2 * s + 1]);
  ((double *)out)[i] = v < p[1] ? v : nextafter(p[1], p[0]);
}

/* Box-Muller: one block gives two normals from two open uniforms. */
static double normal(const uint32_t w[4], int s) {
  double r = sqrt(-2.0 * log(unit53_open(w[0], w[1])));
  double theta = 6.283185307179586 * unit53(w[2], w[3]);
  return s == 0 ? r * cos(theta) : r * sin(theta);
}
static void fill_randn_f32(char *out, int64_t i, const uint32_t w[4], int s,
                           const double *p) {
  ((float *)out)[i] = (float)(p[0] + p[1] * normal(w, s));
}
static void fill_randn_f64(char *out, int64_t i, const uint32_t w[4], int s,
                           const double *p) {
  ((double *)out)[i] = p[0] + p[1] * normal(w, s);
}

/* An integer in [low, high): the top 64 bits of range * u for a 128-bit
 * uniform u. The bias is below range / 2^128, far below anything a test can
 * see, and every element still uses a fixed number of draws. */
static int64_t draw_int(const uint32_t w[4], const double *p) {
  int64_t low, high;
  memcpy(&low, &p[0], sizeof low);
  memcpy(&high, &p[1], sizeof high);
  uint64_t range = (uint64_t)high - (uint64_t)low;
  uint64_t hi = ((uint64_t)w[0] << 32) | w[1], lo = ((uint64_t)w[2] << 32) | w[3];
  unsigned __int128 top = (unsigned __int128)range * hi;
  unsigned __int128 carry = ((unsigned __int128)range * lo) >> 64;
  uint64_t offset = (uint64_t)((top + carry) >> 64);
  return (int64_t)((uint64_t)low + offset);
}
static void fill_randint_i64(char *out, int64_t i, const uint32_t w[4], int s,
                             const double *p) {
  (void)s;
  ((int64_t *)out)[i] = draw_int(w, p);
}
static void fill_randint_f32(char *out, int64_t i, const uint32_t w[4], int s,
                             const double *p) {
  (void)s;
  ((float *)out)[i] = (float)draw_int(w, p);
}
static void fill_randint_f64(char *out, int64_t i, const uint32_t w[4], int s,
                             const double *p) {
  (void)s;
  ((double *)out)[i] = (double)draw_int(w, p);
}

static tf_status float_dtype(const char *op, tf_dtype dtype) {
  TF_CHECK(tf_is_float(dtype), TF_ERR_DTYPE,
           "%s: expected a float32 or float64 dtype, got %s", op,
           tf_dtype_name(dtype));
  return TF_OK;
}

tf_status tf_rand(int ndim, const int64_t *shape, tf_dtype dtype, double low,
                  double high, tf_tensor **out) {
  TF_TRY(float_dtype("rand", dtype));
  TF_CHECK(low <= high, TF_ERR_VALUE,
           "rand: low (%g) must not be greater than high (%g)", low, high);
  tf_tensor *t = NULL;
  TF_TRY(tf_new(ndim, shape, dtype, &t));
  const double params[2] = {low, high};
  if (dtype == TF_FLOAT32) fill(t, 4, fill_rand_f32, params);
  else fill(t, 2, fill_rand_f64, params);
  *out = t;
  return TF_OK;
}

tf_status tf_randn(int ndim, const int64_t *shape, tf_dtype dtype, double mean,
                   double std, tf_tensor **out) {
  TF_TRY(float_dtype("randn", dtype));
  TF_CHECK(std >= 0, TF_ERR_VALUE, "randn: std must be non-negative, got %g", std);
  tf_tensor *t = NULL;
  TF_TRY(tf_new(ndim, shape, dtype, &t));
  const double params[2] = {mean, std};
  fill(t, 2, dtype == TF_FLOAT32 ? fill_randn_f32 : fill_randn_f64, params);
  *out = t;
  return TF_OK;
}

tf_status tf_randint(int ndim, const int64_t *shape, tf_dtype dtype,
                     int64_t low, int64_t high, tf_tensor **out) {
  TF_CHECK(dtype != TF_BOOL, TF_ERR_DTYPE,
           "randint: bool is not supported; use int64, float32 or float64");
  TF_CHECK(high > low, TF_ERR_VALUE,
           "randint: high (%lld) must be greater than low (%lld)",
           (long long)high, (long long)low);
  tf_tensor *t = NULL;
  TF_TRY(tf_new(ndim, shape, dtype, &t));
  double params[2];
  memcpy(&params[0], &low, sizeof low);
  memcpy(&params[1], &high, sizeof high);
  fill(t, 1,
       dtype == TF_INT64 ? fill_randint_i64
       : dtype == TF_FLOAT32 ? fill_randint_f32 : fill_randint_f64,
       params);
  *out = t;
  return TF_OK;
}
