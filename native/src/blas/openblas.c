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
 * - the thread count last given to OpenBLAS.
 *
 * OpenBLAS's parallel work runs on tinyfin's OpenMP team (run_jobs, given
 * to OpenBLAS as its threads callback), not on OpenBLAS's own pthreads:
 * two pools of busy-waiting threads on the same cores take turns
 * starving each other. After a threaded BLAS call OpenBLAS's workers spin
 * for about 0.1 s, and tinyfin's next parallel region (an elementwise op,
 * the SGD update) waits for a core behind them; on 2 busy cores that made
 * an MLP step 50 times slower. With one pool, whoever runs next finds the
 * threads it needs. */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "openblas.h"

enum { REASON_LEN = 512 };

static _Atomic(const tf_blas_api *) loaded_api;
static atomic_flag loading = ATOMIC_FLAG_INIT;
static atomic_uint reason_seq;           /* odd while a write is under way */
static _Atomic char reason[REASON_LEN];  /* "" until a load has failed */
static atomic_int blas_threads;          /* 0 until the first BLAS call */
static _Thread_local char status_text[REASON_LEN + 200];
/* One threaded BLAS call at a time runs its jobs (see run_jobs). */
static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;

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
  /* A thread of the parent may have held it; the child has no such thread
   * (and, on one thread, never runs jobs in parallel anyway). */
  pthread_mutex_init(&jobs_lock, NULL);
}

__attribute__((constructor)) static void register_fork_handler(void) {
  pthread_atfork(NULL, NULL, blas_forked_child);
}

/* ---- OpenBLAS's jobs on tinyfin's threads --------------------------------- */
/* The callback contract of OpenBLAS (0.3.28 on:
 * openblas_set_threads_callback_function): a threaded call hands over
 * numjobs jobs, job i being dojob(i, jobdata + i * elsize, dojob_data),
 * all done when the callback returns. Two facts of OpenBLAS's pthreads
 * build shape run_jobs:
 * - The jobs of a level-3 call wait on each other's progress flags, so all
 *   of them must run at once: one thread running two of them would wait
 *   forever.
 * - A job's scratch memory is picked by its index (i), so two calls
 *   running jobs at the same time would share it: jobs_lock lets one call
 *   at a time in (OpenBLAS's own pool also runs one call's jobs per worker;
 *   a second caller waits for free workers). A job never calls BLAS
 *   again, so the lock is never taken twice by one thread. */
typedef void (*blas_dojob)(int thread_num, void *jobdata, int dojob_data);

typedef struct {
  blas_dojob dojob;
  char *job;
  int index, data;
} spare_job;

static void *run_spare_job(void *arg) {
  spare_job *j = arg;
  j->dojob(j->index, j->job, j->data);
  return NULL;
}

/* The jobs on threads of their own, for when OpenMP gives a smaller team
 * than asked (a call from inside the caller's own OpenMP region, or
 * OMP_THREAD_LIMIT, OMP_DYNAMIC): slower (a thread made per job), never
 * stuck. The jobs must all run, so a thread that cannot be made ends the
 * process, as libgomp does when it cannot make its own. */
static void run_jobs_on_pthreads(blas_dojob dojob, int numjobs, size_t elsize,
                                 char *jobs, int data) {
  enum { ON_STACK = 64 };
  spare_job stack_jobs[ON_STACK];
  pthread_t stack_threads[ON_STACK];
  spare_job *js = stack_jobs;
  pthread_t *ts = stack_threads;
  if (numjobs > ON_STACK) {
    js = malloc(sizeof *js * (size_t)numjobs);
    ts = malloc(sizeof *ts * (size_t)numjobs);
  }
  for (int i = 1; js && ts && i < numjobs; i++) {
    js[i] = (spare_job){dojob, jobs + (size_t)i * elsize, i, data};
    if (pthread_create(&ts[i], NULL, run_spare_job, &js[i])) {
      js = NULL;
      break;
    }
  }
  if (!js || !ts) {
    fprintf(stderr, "tinyfin: cannot start the %d threads of a BLAS call\n",
            numjobs);
    abort();
  }
  dojob(0, jobs, data);
  for (int i = 1; i < numjobs; i++) pthread_join(ts[i], NULL);
  if (js != stack_jobs) free(js);
  if (ts != stack_threads) free(ts);
}

/* OpenBLAS passes sync = 1 always (it expects the jobs done on return, and
 * they are, either way). The team is what OpenBLAS split the work for:
 * its thread count, which tf_blas_sync_threads set to tf_team_size(true)
 * (one in a forked child, whose calls then never come here with more than
 * one job). */
static void run_jobs(int sync, blas_dojob dojob, int numjobs, size_t elsize,
                     void *jobdata, int data) {
  (void)sync;
  char *jobs = jobdata;
  if (numjobs <= 1) {
    if (numjobs == 1) dojob(0, jobs, data);
    return;
  }
  pthread_mutex_lock(&jobs_lock);
  int team = numjobs;
#ifdef _OPENMP
#pragma omp parallel num_threads(numjobs)
  {
    int size = omp_get_num_threads(), me = omp_get_thread_num();
    if (size == numjobs) dojob(me, jobs + (size_t)me * elsize, data);
    if (me == 0) team = size;
  }
#else
  team = 1;
#endif
  if (team != numjobs) run_jobs_on_pthreads(dojob, numjobs, elsize, jobs, data);
  pthread_mutex_unlock(&jobs_lock);
}

/* Hands OpenBLAS run_jobs, when the library has the entry point (older
 * ones keep their own pool). OpenBLAS asks for it before any threaded
 * call; tf_blas_load runs this before publishing the table, so before
 * tinyfin's first call. (A scipy in the same process that loaded this
 * same library shares it, and its calls run on tinyfin's team too.) */
static void install_jobs_callback(void *handle) {
  void *sym = dlsym(handle, "scipy_openblas_set_threads_callback_function");
  if (!sym) return;
  void (*set_callback)(void (*)(int, blas_dojob, int, size_t, void *, int));
  memcpy(&set_callback, &sym, sizeof sym);
  set_callback(run_jobs);
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
      install_jobs_callback(handle);
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
/* Two threads that want different counts at the same moment (one just
 * changed tf_set_num_threads) may leave OpenBLAS at the other's count until
 * the next change. That costs speed and, for some shapes, last bits: OpenBLAS's
 * results depend on its thread count (see gemm.c). */
void tf_blas_sync_threads(const tf_blas_api *api) {
  int want = tf_team_size(true);
  if (atomic_load_explicit(&blas_threads, memory_order_relaxed) != want) {
    api->set_num_threads(want);
    atomic_store_explicit(&blas_threads, want, memory_order_relaxed);
  }
}
