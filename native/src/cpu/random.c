/* random.c: the cpu's random kernel: Philox4x32-10 (Salmon et al., SC'11),
 * a counter-based generator. Each draw is a pure function of (seed,
 * counter); the entry point (ops/random.c) reserves the counters, so the
 * numbers depend only on the seed and the order of calls, never on the
 * machine, the thread count or the device (random_scalar.h holds the
 * stream, shared with the CUDA kernel), and a tensor can be filled in
 * parallel. */
#include "../backend.h"
#include "fast_math.h" /* TF_SIMD_CLONES */
#include "random_scalar.h"

/* One Philox block (four 32-bit words) feeds `per_block` elements. The
 * fill_ functions are built per instruction set (TF_SIMD_CLONES) so that
 * fma() is one instruction where the CPU has it, not a libm call; fma is
 * exact either way, so every clone gives the same bits. */
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
      tr_philox(seed, base + (uint64_t)b, words);
      for (int s = 0; s < per_block && b * per_block + s < n; s++)
        fn(data, b * per_block + s, words, s, params);
    }
  }
}

TF_SIMD_CLONES static void fill_rand_f32(char *out, int64_t i, const uint32_t w[4], int s,
                          const double *p) {
  ((float *)out)[i] = tr_rand_f32(w, s, p);
}
TF_SIMD_CLONES static void fill_rand_f64(char *out, int64_t i, const uint32_t w[4], int s,
                          const double *p) {
  ((double *)out)[i] = tr_rand_f64(w, s, p);
}
TF_SIMD_CLONES static void fill_randn_f32(char *out, int64_t i, const uint32_t w[4], int s,
                           const double *p) {
  ((float *)out)[i] = (float)tr_randn(w, s, p);
}
TF_SIMD_CLONES static void fill_randn_f64(char *out, int64_t i, const uint32_t w[4], int s,
                           const double *p) {
  ((double *)out)[i] = tr_randn(w, s, p);
}
TF_SIMD_CLONES static void fill_randint_i64(char *out, int64_t i, const uint32_t w[4], int s,
                             const double *p) {
  (void)s;
  ((int64_t *)out)[i] = tr_randint(w, p);
}
TF_SIMD_CLONES static void fill_randint_f32(char *out, int64_t i, const uint32_t w[4], int s,
                             const double *p) {
  (void)s;
  ((float *)out)[i] = (float)tr_randint(w, p);
}
TF_SIMD_CLONES static void fill_randint_f64(char *out, int64_t i, const uint32_t w[4], int s,
                             const double *p) {
  (void)s;
  ((double *)out)[i] = (double)tr_randint(w, p);
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
