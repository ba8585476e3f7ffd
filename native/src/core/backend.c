/* backend.c: the registry of backends and which one runs a call.
 *
 * Each device has a process-wide default backend (an atomic, set once at
 * start-up: BLAS for host memory when its library loads) and each thread
 * may select another for its own calls (tf_backend_use, thread-local, as
 * Python's `with tinyfin.backends.use(...)` is). tf_backend_which tells which
 * backend's kernel an op would run, fallbacks included. */
#include "../backend.h"

static const tf_backend *const registry[] = {&tf_cpu_backend, &tf_blas_backend,
                                             &tf_cuda_backend};
enum { NUM_BACKENDS = sizeof registry / sizeof registry[0], NUM_DEVICES = 2 };

static _Atomic(const tf_backend *) default_for[NUM_DEVICES] = {&tf_cpu_backend, NULL};
static _Thread_local const tf_backend *chosen_for[NUM_DEVICES];

int tf_backend_count(void) { return NUM_BACKENDS; }

const char *tf_backend_name(int i) {
  return i >= 0 && i < NUM_BACKENDS ? registry[i]->name : NULL;
}

static bool available(const tf_backend *b, const char **why) {
  const char *reason = "";
  bool ok = !b->available || b->available(&reason);
  if (why) *why = ok ? "" : reason;
  return ok;
}

bool tf_backend_available(int i, const char **why) {
  if (i < 0 || i >= NUM_BACKENDS) {
    if (why) *why = "no such backend";
    return false;
  }
  return available(registry[i], why);
}

static tf_status find(const char *op, const char *name, const tf_backend **out) {
  char names[128] = "";
  for (int i = 0; i < NUM_BACKENDS; i++) {
    if (!strcmp(registry[i]->name, name)) {
      const char *why;
      TF_CHECK(available(registry[i], &why), TF_ERR_DEVICE,
               "%s: the %s backend is not available: %s", op, name, why);
      *out = registry[i];
      return TF_OK;
    }
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
             i ? ", " : "", registry[i]->name);
  }
  return tf_fail(TF_ERR_VALUE, "%s: unknown backend '%s' (this build has %s)",
                 op, name, names);
}

tf_status tf_backend_use(const char *name, int device) {
  TF_CHECK(device >= 0 && device < NUM_DEVICES, TF_ERR_VALUE,
           "backends.use: unknown device code %d", device);
  if (!name || !*name) {
    chosen_for[device] = NULL;
    return TF_OK;
  }
  const tf_backend *b = NULL;
  TF_TRY(find("backends.use", name, &b));
  TF_CHECK((int)b->device == device, TF_ERR_DEVICE,
           "backends.use: the %s backend runs on another device", name);
  chosen_for[device] = b;
  return TF_OK;
}

tf_status tf_backend_set_default(const char *name) {
  const tf_backend *b = NULL;
  TF_TRY(find("backends.set_default", name, &b));
  atomic_store(&default_for[b->device], b);
  return TF_OK;
}

const tf_backend *tf_backend_for(tf_device dev) {
  if ((int)dev < 0 || (int)dev >= NUM_DEVICES) return NULL;
  const tf_backend *b = chosen_for[dev];
  if (!b) b = atomic_load_explicit(&default_for[dev], memory_order_relaxed);
  /* a device of its own (CUDA): its one backend, when it can run here */
  if (!b && dev == TF_CUDA && available(&tf_cuda_backend, NULL)) b = &tf_cuda_backend;
  return b;
}

const char *tf_backend_current(int device) {
  const tf_backend *b = tf_backend_for((tf_device)device);
  return b ? b->name : NULL;
}

const char *tf_backend_chosen(int device) {
  if (device < 0 || device >= NUM_DEVICES) return NULL;
  return chosen_for[device] ? chosen_for[device]->name : NULL;
}

tf_status tf_check_device(const char *op, const tf_tensor *t) {
  TF_CHECK(t != NULL, TF_ERR_VALUE, "%s: got a NULL tensor", op);
  TF_CHECK(tf_backend_for(tf_device_of(t)) != NULL, TF_ERR_DEVICE,
           "%s: the tensor is on device %s, which this build of tinyfin has "
           "no backend for", op, t->storage->alloc->name);
  return TF_OK;
}

tf_status tf_check_same_device(const char *op, const tf_tensor *a,
                               const tf_tensor *b) {
  TF_TRY(tf_check_device(op, a));
  TF_TRY(tf_check_device(op, b));
  /* the device, not the allocator: pinned host memory is the cpu's */
  TF_CHECK(a->storage->alloc->device == b->storage->alloc->device, TF_ERR_DEVICE,
           "%s: expected all tensors on one device, got %s and %s (move one "
           "with .to())", op, a->storage->alloc->name, b->storage->alloc->name);
  return TF_OK;
}

/* ---- which ------------------------------------------------------------------ */
/* The slot op names in k, or NULL; *found says whether op is a known name. */
static const void *slot_of(const tf_kernels *k, const char *op, tf_dtype dtype,
                           bool *found) {
  *found = true;
  for (int i = 0; i < TF_UNARY_COUNT; i++)
    if (!strcmp(op, tf_unary_name(i))) return k->unary ? (const void *)k->unary[i] : NULL;
  for (int i = 0; i < TF_BINARY_COUNT; i++)
    if (!strcmp(op, tf_binary_name(i))) return k->binary ? (const void *)k->binary[i] : NULL;
  for (int i = 0; i < TF_REDUCE_COUNT; i++)
    if (!strcmp(op, tf_reduce_name(i))) return k->reduce ? (const void *)k->reduce[i] : NULL;
  if (!strcmp(op, "matmul")) return (const void *)k->matmul[dtype];
#define NAMED_SLOT(name) {#name, (const void *)k->name},
  const struct { const char *name; const void *fn; } named[] = {TF_NAMED_SLOTS(NAMED_SLOT)};
#undef NAMED_SLOT
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
    if (!strcmp(op, named[i].name)) return named[i].fn;
  *found = false;
  return NULL;
}

tf_status tf_no_kernel(const tf_backend *b, const char *op, const char *slot) {
  /* slot is "k->name" or "k->name[...]": the name, for b's reason */
  char name[64] = "";
  if (!strncmp(slot, "k->", 3)) {
    size_t n = strcspn(slot + 3, "[ ");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), slot + 3);
  }
  const char *why = b->cpu_only && *name ? b->cpu_only(name) : NULL;
  if (why)
    return tf_fail(TF_ERR_DEVICE, "%s: the %s backend does not run this op: %s (move the "
                   "operands to the cpu with .cpu())", op, b->name, why);
  return tf_fail(TF_ERR_DEVICE, "%s: the %s backend does not run this op", op, b->name);
}

const char *tf_backend_slot_name(int i) {
#define SLOT_NAME(name) #name,
  static const char *const names[] = {TF_NAMED_SLOTS(SLOT_NAME)};
#undef SLOT_NAME
  return i >= 0 && i < (int)(sizeof names / sizeof names[0]) ? names[i] : NULL;
}

const char *tf_backend_cpu_only(int i, const char *slot) {
  const tf_backend *b = i >= 0 && i < NUM_BACKENDS ? registry[i] : NULL;
  return b && b->cpu_only && slot ? b->cpu_only(slot) : NULL;
}

tf_status tf_backend_which(const char *op, int dtype, int device,
                           const char **backend) {
  TF_CHECK(op != NULL, TF_ERR_VALUE, "backends.which: got a NULL op name");
  TF_CHECK(dtype >= 0 && dtype < TF_NUM_DTYPES, TF_ERR_DTYPE,
           "backends.which: unknown dtype code %d", dtype);
  const tf_backend *b = tf_backend_for((tf_device)device);
  TF_CHECK(b != NULL, TF_ERR_DEVICE,
           "backends.which: this build has no backend for device code %d", device);
  bool found;
  const void *fn = slot_of(b->kernels, op, (tf_dtype)dtype, &found);
  TF_CHECK(found, TF_ERR_VALUE,
           "backends.which: '%s' is not an op with a kernel (e.g. 'matmul', "
           "'exp', 'add', 'sum', 'softmax', 'gather')", op);
  if (!fn && b->host_memory) {
    fn = slot_of(&tf_cpu_kernels, op, (tf_dtype)dtype, &found);
    b = &tf_cpu_backend;
  }
  *backend = fn ? b->name : NULL;
  return TF_OK;
}
