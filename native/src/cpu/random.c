/* random.c: the cpu's random kernel: Philox4x32-10 (Salmon et al., SC'11),
 * a counter-based generator. Each draw is a pure function of (seed,
 * counter); the entry point (ops/random.c) reserves the counters, so the
 * numbers depend only on the seed and the order of calls, never on the
 * machine or the thread count, and a tensor can be filled in parallel. */
#include <math.h>

#include "../backend.h"

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

/* Element i of t from block base + i / per_block: the split into chunks
 * never changes which block an element reads. */
static void fill(tf_tensor *t, int per_block, fill_fn fn, const double *params,
                 uint64_t seed, uint64_t base) {
  int64_t n = tf_tensor_numel(t);
  int64_t blocks = (n + per_block - 1) / per_block;
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

/* The cpu's random slot. */
tf_status tf_cpu_random(tf_tensor *t, int kind, const double *params,
                        uint64_t seed, uint64_t counter) {
  int per_block = tf_random_per_block(kind, t->dtype);
  fill_fn fn;
  switch (kind) {
    case TF_RANDOM_UNIFORM:
      fn = t->dtype == TF_FLOAT32 ? fill_rand_f32 : fill_rand_f64;
      break;
    case TF_RANDOM_NORMAL:
      fn = t->dtype == TF_FLOAT32 ? fill_randn_f32 : fill_randn_f64;
      break;
    default:
      fn = t->dtype == TF_INT64 ? fill_randint_i64
           : t->dtype == TF_FLOAT32 ? fill_randint_f32 : fill_randint_f64;
      break;
  }
  fill(t, per_block, fn, params, seed, counter);
  return TF_OK;
}
