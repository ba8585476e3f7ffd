/* test_backend.c: the dispatch layer: the cpu backend fills every slot
 * (the reference every host-memory backend falls back to), the per-thread
 * choice of a backend, which() with its fallbacks, and the errors for
 * unknown backends and devices. */
#include <pthread.h>

#include "../src/backend.h"
#include "tf_test.h"

/* Every member of tf_kernels is a pointer (a kernel, a per-op array, or
 * matmul's per-dtype kernels), so the table is read as pointer-sized
 * chunks: none may be NULL but matmul's bool entry (no bool product). A
 * slot added to the struct is checked without a line here. */
static void test_cpu_fills_every_slot(void) {
  const tf_kernels *k = &tf_cpu_kernels;
  static const unsigned char null_bytes[sizeof(void *)];
  _Static_assert(sizeof(tf_kernels) % sizeof(void *) == 0,
                 "tf_kernels holds pointers only");
  const unsigned char *bytes = (const unsigned char *)k;
  const unsigned char *bool_matmul = (const unsigned char *)&k->matmul[TF_BOOL];
  for (size_t i = 0; i < sizeof(tf_kernels) / sizeof(void *); i++)
    if (bytes + i * sizeof(void *) != bool_matmul)
      CHECK(memcmp(bytes + i * sizeof(void *), null_bytes, sizeof(void *)) != 0);
  CHECK(k->matmul[TF_BOOL] == NULL);
  REQUIRE(k->unary && k->binary && k->reduce);
  for (int op = 0; op < TF_UNARY_COUNT; op++) CHECK(k->unary[op] != NULL);
  for (int op = 0; op < TF_BINARY_COUNT; op++) CHECK(k->binary[op] != NULL);
  for (int op = 0; op < TF_REDUCE_COUNT; op++) CHECK(k->reduce[op] != NULL);
}

static void test_which_and_selection(void) {
  const char *who = NULL;
  CHECK_OK(tf_backend_which("exp", TF_FLOAT32, TF_CPU, &who));
  CHECK(who && !strcmp(who, "cpu"));
  CHECK_OK(tf_backend_which("sum", TF_FLOAT64, TF_CPU, &who));
  CHECK(who && !strcmp(who, "cpu"));
  CHECK_ERR(tf_backend_which("frobnicate", TF_FLOAT32, TF_CPU, &who), TF_ERR_VALUE,
            "'frobnicate' is not an op with a kernel");
  CHECK_ERR(tf_backend_use("nope", TF_CPU), TF_ERR_VALUE, "unknown backend 'nope'");
  CHECK(tf_backend_chosen(TF_CPU) == NULL); /* no choice: the default */
  CHECK_OK(tf_backend_use("cpu", TF_CPU));
  CHECK(!strcmp(tf_backend_current(TF_CPU), "cpu"));
  CHECK(tf_backend_chosen(TF_CPU) && !strcmp(tf_backend_chosen(TF_CPU), "cpu"));
  CHECK_OK(tf_backend_use(NULL, TF_CPU));
  CHECK(tf_backend_chosen(TF_CPU) == NULL);
  CHECK(tf_backend_chosen(-1) == NULL && tf_backend_chosen(99) == NULL);
  if (tf_cuda_device_count() == 0) { /* CUDA cannot run here (no library, driver or GPU) */
    CHECK(tf_backend_current(TF_CUDA) == NULL);
    CHECK_ERR(tf_backend_which("exp", TF_FLOAT32, TF_CUDA, &who), TF_ERR_DEVICE,
              "no backend for device");
  } else {
    CHECK(!strcmp(tf_backend_current(TF_CUDA), "cuda"));
  }
  CHECK(!strcmp(tf_backend_name(0), "cpu"));
  CHECK(tf_backend_name(tf_backend_count()) == NULL);
}

static void *use_in_thread(void *arg) {
  *(tf_status *)arg = tf_backend_use("cpu", TF_CPU);
  return NULL;
}

/* A thread's choice is its own: another thread's use() leaves this one's
 * default in place (both are cpu here; the pointer identity says it). */
static void test_choice_is_per_thread(void) {
  tf_status st = TF_ERR_INTERNAL;
  pthread_t th;
  REQUIRE(pthread_create(&th, NULL, use_in_thread, &st) == 0);
  pthread_join(th, NULL);
  CHECK(st == TF_OK);
  CHECK(tf_backend_for(TF_CPU) == &tf_cpu_backend);
}

void suite_backend(void) {
  RUN(test_cpu_fills_every_slot);
  RUN(test_which_and_selection);
  RUN(test_choice_is_per_thread);
}
