/* openblas.c: loading OpenBLAS at run time (tf_blas_load), the table of its
 * functions, why it is not available (tf_blas_status), and its thread
 * count.
 *
 * The core never links against BLAS: the library is opened with dlopen
 * from a path the caller gives (the scipy-openblas32 wheel's), so tinyfin
 * builds and runs without it, and its symbols (prefixed scipy_) stay out of
 * the global namespace (RTLD_LOCAL), where they could clash with another
 * OpenBLAS, such as NumPy's.
 *
 * State, all atomic:
 * - the table: built completely in private memory, then published with a
 *   release store; readers load it with acquire, so a reader that sees the
 *   pointer sees every entry. A failed load publishes nothing, and the
 *   library it opened is closed again: nothing is ever half-loaded.
 * - a flag that lets one loader at a time in (the others wait, then find
 *   the table published), so two threads never both open the library.
 * - the reason of the last failure, a short text kept in atomic chars
 *   under a sequence counter (a seqlock): the loader holding the flag
 *   writes it, any thread may read it, and a reader that overlapped a
 *   write reads again.
 * - whether OpenBLAS was set to one thread.
 * - the BLAS calls in flight and the forks in progress (see "fork" below).
 *
 * OpenBLAS runs on one thread, always: gemm.c cuts large products into
 * tiles that tinyfin's own OpenMP team runs (one pool of threads, and bits
 * that do not depend on the thread count). OpenBLAS's own pool would
 * compete with tinyfin's: after a threaded call its workers spin for about
 * 0.1 s, and tinyfin's next parallel region waits for a core behind them
 * (on 2 busy cores that made an MLP step 50 times slower). */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "openblas.h"

enum { REASON_LEN = 512 };

static _Atomic(const tf_blas_api *) loaded_api;
static atomic_flag loading = ATOMIC_FLAG_INIT;
static atomic_uint reason_seq;           /* odd while a write is under way */
static _Atomic char reason[REASON_LEN];  /* "" until a load has failed */
static atomic_int blas_threads;          /* 0 until the first BLAS call */
static _Thread_local char status_text[REASON_LEN + 200];

const tf_blas_api *tf_blas_api_get(void) {
  return atomic_load_explicit(&loaded_api, memory_order_acquire);
}

bool tf_blas_loaded(void) { return tf_blas_api_get() != NULL; }

/* ---- the reason of the last failure (a seqlock) --------------------------- */
/* Only the thread holding `loading` writes, so writers never overlap. The
 * chars are stored with release and loaded with acquire (plain moves on
 * x86), so a reader that sees a char of a write also sees the odd count
 * that came before it when it reads the count again, and retries; no
 * standalone fences, which ThreadSanitizer cannot follow. */
static void set_reason(const char *text) {
  unsigned s = atomic_load_explicit(&reason_seq, memory_order_relaxed);
  atomic_store_explicit(&reason_seq, s + 1, memory_order_relaxed);
  size_t i = 0;
  for (; i + 1 < REASON_LEN && text[i]; i++)
    atomic_store_explicit(&reason[i], text[i], memory_order_release);
  atomic_store_explicit(&reason[i], '\0', memory_order_release);
  atomic_store_explicit(&reason_seq, s + 2, memory_order_release);
}

static void get_reason(char *out, size_t len) {
  for (;;) {
    unsigned s = atomic_load_explicit(&reason_seq, memory_order_acquire);
    if (!(s & 1)) {
      size_t i = 0;
      for (; i + 1 < len && i < REASON_LEN; i++) {
        out[i] = atomic_load_explicit(&reason[i], memory_order_acquire);
        if (!out[i]) break;
      }
      out[i < len ? i : len - 1] = '\0';
      if (atomic_load_explicit(&reason_seq, memory_order_relaxed) == s) return;
    }
    sched_yield(); /* a write of at most REASON_LEN chars is under way */
  }
}

/* A process made by fork() while another thread was loading has only the
 * forking thread: nobody would ever release the flag or finish the write,
 * and the child's next load or status would wait forever. The child starts
 * over instead (the table was not published, so it is simply not loaded).
 * (Waiting for the load in a prepare handler instead could deadlock: glibc
 * runs those under its atfork lock, which the OpenBLAS constructor that the
 * loading thread runs inside dlopen takes to register its own handlers.) */
static void blas_forked_child(void) {
  unsigned s = atomic_load_explicit(&reason_seq, memory_order_relaxed);
  if (s & 1) {
    atomic_store_explicit(&reason[0], '\0', memory_order_relaxed);
    atomic_store_explicit(&reason_seq, s + 1, memory_order_release);
  }
  atomic_flag_clear_explicit(&loading, memory_order_release);
}

__attribute__((constructor)) static void register_fork_handler(void) {
  pthread_atfork(NULL, NULL, blas_forked_child);
}

/* ---- opening and binding -------------------------------------------------- */
/* Each entry of tf_blas_api and its symbol in scipy-openblas32. */
#define TF_BLAS_SYMBOLS(X)                      \
  X(sgemm, "scipy_cblas_sgemm")                 \
  X(dgemm, "scipy_cblas_dgemm")                 \
  X(sgemv, "scipy_cblas_sgemv")                 \
  X(dgemv, "scipy_cblas_dgemv")                 \
  X(sdot, "scipy_cblas_sdot")                   \
  X(ddot, "scipy_cblas_ddot")                   \
  X(set_num_threads, "scipy_openblas_set_num_threads") \
  X(get_num_threads, "scipy_openblas_get_num_threads") \
  X(get_config, "scipy_openblas_get_config")

/* dlsym returns a void *; POSIX guarantees it can hold a function pointer,
 * and memcpy moves it into the typed entry without a cast ISO C lacks. */
_Static_assert(sizeof(void *) == sizeof(((tf_blas_api *)0)->sgemm),
               "function pointers must be as wide as void *");

/* Fills *api from handle; false, with the missing symbol in why, if the
 * library lacks one. */
static bool bind_symbols(void *handle, const char *path, tf_blas_api *api,
                         char *why, size_t len) {
#define TF_BLAS_BIND(field, name)                                            \
  {                                                                          \
    void *sym = dlsym(handle, name);                                         \
    if (!sym) {                                                              \
      snprintf(why, len, "'%s' lacks the symbol %s (tinyfin needs the "      \
               "scipy-openblas32 build of OpenBLAS)", path, name);           \
      return false;                                                          \
    }                                                                        \
    memcpy(&api->field, &sym, sizeof sym);                                   \
  }
  TF_BLAS_SYMBOLS(TF_BLAS_BIND)
#undef TF_BLAS_BIND
  return true;
}

/* Opens path and binds every symbol into a new table (*out); on any
 * failure the reason is in why, the library is closed again and *out is
 * left alone. */
static tf_status open_library(const char *path, tf_blas_api **out, char *why,
                              size_t len) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *err = dlerror();
    snprintf(why, len, "cannot open '%s': %s", path, err ? err : "dlopen failed");
    return TF_ERR_VALUE;
  }
  tf_status status = TF_ERR_VALUE;
  tf_blas_api *api = malloc(sizeof *api);
  if (!api) {
    snprintf(why, len, "out of memory loading '%s'", path);
    status = TF_ERR_MEMORY;
  } else if (bind_symbols(handle, path, api, why, len)) {
    /* The 64-bit-int build (scipy-openblas64) names its symbols with a
     * 64_ suffix, but another build could reuse these names: passing it
     * 32-bit ints would read garbage sizes, so refuse it here. */
    const char *config = api->get_config();
    if (!config || !strstr(config, "USE64BITINT")) {
      *out = api;
      return TF_OK;
    }
    snprintf(why, len, "'%s' is a 64-bit-int build of OpenBLAS (%s); tinyfin "
             "passes 32-bit ints (scipy-openblas32)", path, config);
  }
  free(api);
  dlclose(handle);
  return status;
}

/* ---- fork while a BLAS call runs ------------------------------------------ */
/* OpenBLAS (pthreads build) registers a fork prepare handler that shuts its
 * thread pool down, in the parent too, without waiting for calls in flight:
 * a threaded call that another thread is running when the process forks
 * then waits forever for a worker that is gone (NumPy's OpenBLAS hangs the
 * same way). So tinyfin counts its BLAS calls in flight, and its own
 * prepare handler, registered after the library is opened and so run
 * before OpenBLAS's (prepare handlers run in reverse order), holds new
 * calls back and waits until the calls in flight have returned; the parent
 * handler lets the held calls go, and the child, which has no other
 * threads, starts with none in flight. The waits are short: at most the
 * calls in flight, and a fork. (None of them takes a lock the forking
 * thread holds: a BLAS call never calls fork handlers' registration,
 * dlopen or dlclose.) The counters are sequentially consistent: a call
 * that counted itself in before a fork started is seen by the fork's wait,
 * and one that came later sees the fork and steps back out. */
static atomic_int calls_in_flight;
static atomic_int forks_in_progress;
static atomic_bool fork_guard_registered;

void tf_blas_enter(void) {
  for (;;) {
    while (atomic_load(&forks_in_progress) > 0) sched_yield();
    atomic_fetch_add(&calls_in_flight, 1);
    if (atomic_load(&forks_in_progress) == 0) return;
    atomic_fetch_sub(&calls_in_flight, 1); /* a fork began: wait it out */
  }
}

void tf_blas_leave(void) { atomic_fetch_sub(&calls_in_flight, 1); }

static void fork_prepare(void) {
  atomic_fetch_add(&forks_in_progress, 1);
  while (atomic_load(&calls_in_flight) > 0) sched_yield();
}

static void fork_parent(void) { atomic_fetch_sub(&forks_in_progress, 1); }

static void fork_child(void) {
  atomic_store(&calls_in_flight, 0);
  atomic_store(&forks_in_progress, 0);
}

tf_status tf_blas_load(const char *path) {
  if (tf_blas_api_get()) return TF_OK; /* loading twice is harmless */
  while (atomic_flag_test_and_set_explicit(&loading, memory_order_acquire))
    sched_yield(); /* another thread is loading: wait for its result */
  tf_status status = TF_OK;
  char why[REASON_LEN];
  if (!tf_blas_api_get()) {
    tf_blas_api *api = NULL;
    if (!path || !*path) {
      snprintf(why, sizeof why, "no library path given (%s)",
               path ? "an empty string" : "NULL");
      status = TF_ERR_VALUE;
    } else {
      status = open_library(path, &api, why, sizeof why);
    }
    /* After dlopen, so that this prepare handler runs before the one
     * OpenBLAS registered while it was opened; once per process. */
    if (status == TF_OK && !atomic_load(&fork_guard_registered) &&
        pthread_atfork(fork_prepare, fork_parent, fork_child) == 0)
      atomic_store(&fork_guard_registered, true);
    if (status == TF_OK)
      atomic_store_explicit(&loaded_api, api, memory_order_release);
    else
      set_reason(why);
  }
  atomic_flag_clear_explicit(&loading, memory_order_release);
  if (status != TF_OK) return tf_fail(status, "blas: %s", why);
  return TF_OK;
}

/* The text stays valid until this thread's next call. */
const char *tf_blas_status(void) {
  const tf_blas_api *api = tf_blas_api_get();
  if (api) {
    const char *config = api->get_config();
    snprintf(status_text, sizeof status_text, "loaded: %s",
             config ? config : "OpenBLAS");
    return status_text;
  }
  char why[REASON_LEN];
  get_reason(why, sizeof why);
  snprintf(status_text, sizeof status_text, why[0] ? "not loaded: %s" : "not loaded",
           why);
  return status_text;
}

/* ---- threads -------------------------------------------------------------- */
/* OpenBLAS's count is set to 1 before tinyfin's first call (and again if
 * something else changed it through tinyfin: nothing in tinyfin does). */
void tf_blas_sync_threads(const tf_blas_api *api) {
  if (atomic_load_explicit(&blas_threads, memory_order_relaxed) != 1) {
    api->set_num_threads(1);
    atomic_store_explicit(&blas_threads, 1, memory_order_relaxed);
  }
}
