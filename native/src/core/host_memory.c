/* host_memory.c: the host allocator's separate data blocks (storages of
 * TF_BLOCK_THRESHOLD bytes or more; smaller ones share one malloc'd block
 * with their header, see tensor.c), and a cache of freed blocks.
 *
 * Blocks of 4 MiB or more are 2 MiB aligned and the kernel is asked to back
 * them with huge pages, which cuts first-touch page faults by 512x (NumPy
 * does the same). A training step frees and allocates the same activation
 * sizes every step; through malloc each fresh block is page-faulted in
 * again (and unmapped on free), which measured 5 of the CNN step's 24 ms on
 * one thread. So a freed block is kept, up to CACHE_SLOTS blocks and
 * CACHE_BYTES in all (the oldest leaves first), and handed to the next
 * allocation of the same padded size. The cache is off in ASAN builds and
 * with TINYFIN_HOST_CACHE=0 (the valgrind run sets it), so that a use after
 * free still reaches the checker. A forked child inherits the cache (its
 * blocks are the child's copies); the lock is held across fork(). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../internal.h"

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_BLOCK ((size_t)4 << 20)
#define BLOCK_GRAIN ((size_t)64 << 10)
#define CACHE_BYTES ((size_t)256 << 20)
enum { CACHE_SLOTS = 64 };

static struct {
  void *data;
  size_t bytes;
} slots[CACHE_SLOTS]; /* oldest first */
static int used;
static size_t cached_bytes;
static bool enabled;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void lock_cache(void) { pthread_mutex_lock(&lock); }
static void unlock_cache(void) { pthread_mutex_unlock(&lock); }

static void init(void) {
#if defined(__SANITIZE_ADDRESS__)
  enabled = false;
#else
  const char *env = getenv("TINYFIN_HOST_CACHE");
  enabled = !(env && strcmp(env, "0") == 0);
#endif
  pthread_atfork(lock_cache, unlock_cache, unlock_cache);
}

/* The size a block of nbytes really has: whole huge pages, or whole 64 KiB
 * grains below HUGE_BLOCK, so that nearby sizes share cache entries. */
static size_t block_bytes(size_t nbytes) {
  size_t grain = nbytes >= HUGE_BLOCK ? HUGE_PAGE : BLOCK_GRAIN;
  return (nbytes + grain - 1) / grain * grain;
}

bool tf_host_cache_enabled(void) {
  pthread_once(&once, init);
  return enabled;
}

static void *block_new(size_t nbytes) {
  pthread_once(&once, init);
  size_t bytes = block_bytes(nbytes);
  if (enabled) {
    lock_cache();
    for (int i = used - 1; i >= 0; i--) /* the most recent first */
      if (slots[i].bytes == bytes) {
        void *data = slots[i].data;
        memmove(&slots[i], &slots[i + 1], sizeof slots[0] * (size_t)(used - i - 1));
        used--;
        cached_bytes -= bytes;
        unlock_cache();
        return data;
      }
    unlock_cache();
  }
  void *data = aligned_alloc(bytes >= HUGE_BLOCK ? HUGE_PAGE : 64, bytes);
#ifdef MADV_HUGEPAGE
  if (data && bytes >= HUGE_BLOCK) madvise(data, bytes, MADV_HUGEPAGE); /* a hint */
#endif
  return data;
}

static void block_free(void *data, size_t nbytes) {
  size_t bytes = block_bytes(nbytes);
  void *evicted[CACHE_SLOTS];
  int n_evicted = 0;
  if (data && enabled && bytes <= CACHE_BYTES) {
    lock_cache();
    while (used == CACHE_SLOTS || cached_bytes + bytes > CACHE_BYTES) {
      evicted[n_evicted++] = slots[0].data;
      cached_bytes -= slots[0].bytes;
      memmove(&slots[0], &slots[1], sizeof slots[0] * (size_t)(used - 1));
      used--;
    }
    slots[used].data = data;
    slots[used++].bytes = bytes;
    cached_bytes += bytes;
    unlock_cache();
    data = NULL;
  }
  for (int i = 0; i < n_evicted; i++) free(evicted[i]);
  free(data);
}

tf_status tf_host_copy(void *dst, const void *src, size_t nbytes) {
  if (nbytes) memcpy(dst, src, nbytes);
  return TF_OK;
}

const tf_allocator tf_host_allocator = {
    TF_CPU, "cpu", true, block_new, block_free, tf_host_copy, tf_host_copy, NULL};
