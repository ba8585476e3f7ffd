/* test_errors.c: the error paths of the core. Each bad call must return
 * the documented tf_status with a message naming the op (and the shapes or
 * dtypes involved), leave its out-pointer untouched and leak nothing (RUN
 * checks tf_live_tensors). Also: tf_last_error is per thread. */
#include <pthread.h>

#include "tf_test.h"
#include "../src/internal.h"

static void test_creation_errors(void) {
  tf_tensor *out = TF_UNTOUCHED;
  CHECK_ERR(tf_tensor_empty(9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1), TF_FLOAT32, TF_CPU, &out),
            TF_ERR_VALUE, "empty: 9 dims requested, but tensors have at most 8");
  CHECK_ERR(tf_tensor_empty(-1, NULL, TF_FLOAT32, TF_CPU, &out), TF_ERR_VALUE, "empty");
  CHECK_ERR(tf_tensor_empty(2, SHAPE(3, -2), TF_FLOAT32, TF_CPU, &out), TF_ERR_VALUE,
            "empty: negative size in shape (3, -2)");
  CHECK_ERR(tf_tensor_empty(3, SHAPE(1LL << 40, 1LL << 40, 4), TF_FLOAT32, TF_CPU, &out),
            TF_ERR_MEMORY, "too large");
  CHECK_ERR(tf_tensor_empty(1, SHAPE(2), (tf_dtype)7, TF_CPU, &out), TF_ERR_DTYPE,
            "empty: unknown dtype code 7");
  /* the longest shape string fits its buffer (ASAN checks the writes) */
  CHECK_ERR(tf_tensor_empty(8, SHAPE(-INT64_MAX, -INT64_MAX, -INT64_MAX, -INT64_MAX,
                                     -INT64_MAX, -INT64_MAX, -INT64_MAX, -INT64_MAX),
                            TF_FLOAT64, TF_CPU, &out),
            TF_ERR_VALUE, "negative size in shape (-9223372036854775807, ");
  CHECK_ERR(tf_tensor_from_buffer(1, SHAPE(3), TF_FLOAT64, (const double[]){1, 2}, 16, TF_CPU, &out),
            TF_ERR_VALUE, "tensor: 16 bytes given for shape (3,) of float64 (expected 24)");
  CHECK_ERR(tf_full(1, SHAPE(-1), TF_FLOAT32, 0, 0, TF_SCALAR_FLOAT, TF_CPU, &out), TF_ERR_VALUE,
            "negative size");
  CHECK_ERR(tf_arange(0, 1, 0, 1, -1, TF_FLOAT32, TF_CPU, &out), TF_ERR_VALUE,
            "arange: negative length -1");
  CHECK_ERR(tf_arange(0, 1, 0, 1, 3, TF_BOOL, TF_CPU, &out), TF_ERR_DTYPE,
            "arange: bool is not supported");
  CHECK_ERR(tf_linspace(0, 1, -2, TF_FLOAT32, TF_CPU, &out), TF_ERR_VALUE,
            "linspace: number of steps must be non-negative, got -2");
  CHECK_ERR(tf_linspace(0, 1, 3, TF_INT64, TF_CPU, &out), TF_ERR_DTYPE,
            "linspace: expected a float32 or float64 dtype, got int64");
  CHECK_ERR(tf_eye(-1, 2, TF_FLOAT32, TF_CPU, &out), TF_ERR_VALUE, "eye");
  CHECK(out == TF_UNTOUCHED);
}

static void test_tensor_errors(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT32), *out = TF_UNTOUCHED;
  double f = 0;
  int64_t i = 0;
  REQUIRE(t);
  CHECK_ERR(tf_tensor_item(t, &f, &i), TF_ERR_VALUE,
            "item: a Tensor with 6 elements cannot be converted");
  CHECK_ERR(tf_clone(NULL, &out), TF_ERR_VALUE, "clone: got a NULL tensor");
  CHECK_ERR(tf_to_dtype(t, (tf_dtype)-1, &out), TF_ERR_DTYPE, "to: unknown dtype");
  tf_tensor *row = make_range(1, SHAPE(4), TF_FLOAT32);
  REQUIRE(row);
  CHECK_ERR(tf_copy_(t, row), TF_ERR_SHAPE,
            "copy_: source of shape (4,) cannot be broadcast to the destination shape (2, 3)");
  CHECK_ERR(tf_copy_(row, t), TF_ERR_SHAPE, "copy_");
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(row);
  tf_tensor_release(t);
}

/* A tensor in memory of a device this build has no backend for (a fake
 * allocator: the data stays where it is, only the storage says cuda:0).
 * Until a CUDA backend exists this is the only way to make one. */
static const tf_allocator fake_cuda = {TF_CUDA, "cuda:0", false, NULL, NULL, NULL, NULL, NULL};

static void test_device_errors(void) {
  tf_tensor *t = make_range(1, SHAPE(3), TF_FLOAT32), *c = make_range(1, SHAPE(3), TF_FLOAT32);
  tf_tensor *out = TF_UNTOUCHED;
  REQUIRE(t && c);
  const tf_allocator *host = t->storage->alloc;
  t->storage->alloc = &fake_cuda;
  CHECK(tf_tensor_device(t) == TF_CUDA);
  CHECK_ERR(tf_unary(TF_UNARY_EXP, t, 0, 0, 0, &out), TF_ERR_DEVICE,
            "exp: the tensor is on device cuda:0, which this build of tinyfin "
            "has no backend for");
  CHECK_ERR(tf_binary(TF_BINARY_ADD, c, t, &out), TF_ERR_DEVICE, "add");
  CHECK_ERR(tf_unary_into(TF_UNARY_EXP, c, 0, 0, 0, t), TF_ERR_DEVICE, "exp");
  CHECK_ERR(tf_view(t, 1, SHAPE(3), &out), TF_ERR_DEVICE, "view");
  CHECK_ERR(tf_clone(t, &out), TF_ERR_DEVICE, "clone");
  CHECK_ERR(tf_copy_(c, t), TF_ERR_DEVICE, "copy_");
  CHECK_ERR(tf_fill_(t, 1, 1, TF_SCALAR_INT), TF_ERR_DEVICE, "fill_");
  double f;
  int64_t i;
  CHECK_ERR(tf_tensor_item(t, &f, &i), TF_ERR_DEVICE, "item");
  CHECK(out == TF_UNTOUCHED);
  t->storage->alloc = host;
  tf_tensor_release(t);
  tf_tensor_release(c);
}

static void test_view_errors(void) {
  tf_tensor *t = make_range(2, SHAPE(2, 3), TF_FLOAT64), *out = TF_UNTOUCHED;
  tf_tensor *s = make_f64(0, NULL, (const double[]){1});
  REQUIRE(t && s);
  CHECK_ERR(tf_view(t, 1, SHAPE(4), &out), TF_ERR_SHAPE,
            "view: shape (4,) is invalid for input of shape (2, 3) (6 elements)");
  CHECK_ERR(tf_view(t, 2, SHAPE(-1, -1), &out), TF_ERR_VALUE,
            "view: only one dimension can be -1");
  CHECK_ERR(tf_view(t, 2, SHAPE(4, -1), &out), TF_ERR_SHAPE,
            "view: shape (4, -1) is invalid for input of size 6");
  CHECK_ERR(tf_reshape(t, 2, SHAPE(-3, -2), &out), TF_ERR_VALUE,
            "reshape: invalid size -3");
  CHECK_ERR(tf_reshape(t, 9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 6), &out), TF_ERR_VALUE,
            "reshape: 9 dims requested");
  CHECK_ERR(tf_permute(t, (const int[]){1, 1}, &out), TF_ERR_VALUE,
            "permute: dim 1 appears twice");
  CHECK_ERR(tf_permute(t, (const int[]){0, 2}, &out), TF_ERR_INDEX,
            "permute: dim 2 is out of range for a tensor of 2 dims (expected a dim in [-2, 1])");
  CHECK_ERR(tf_transpose(t, 0, -3, &out), TF_ERR_INDEX, "transpose: dim -3");
  CHECK_ERR(tf_transpose(s, 0, 1, &out), TF_ERR_INDEX, "transpose: dim 1");
  CHECK_ERR(tf_slice(t, 2, 0, 1, 1, &out), TF_ERR_INDEX, "slice: dim 2");
  CHECK_ERR(tf_slice(t, 0, 0, 1, 0, &out), TF_ERR_VALUE,
            "slice: step must be positive, got 0");
  CHECK_ERR(tf_slice(s, 0, 0, 1, 1, &out), TF_ERR_INDEX, "slice: cannot slice a 0-d");
  CHECK_ERR(tf_select(t, 1, 3, &out), TF_ERR_INDEX,
            "index 3 is out of bounds for dimension 1 with size 3");
  CHECK_ERR(tf_select(t, 0, -3, &out), TF_ERR_INDEX, "index -3 is out of bounds");
  CHECK_ERR(tf_select(s, 0, 0, &out), TF_ERR_INDEX, "invalid index of a 0-d tensor");
  CHECK_ERR(tf_select(t, -3, 0, &out), TF_ERR_INDEX, "select: dim -3");
  CHECK_ERR(tf_expand(t, 1, SHAPE(6), &out), TF_ERR_SHAPE,
            "expand: the target shape (6,) has fewer dims than the tensor (2, 3)");
  CHECK_ERR(tf_expand(t, 2, SHAPE(2, 4), &out), TF_ERR_SHAPE,
            "expand: the size of tensor (2, 3) (3) must match the size 4 at dim 1");
  CHECK_ERR(tf_expand(t, 3, SHAPE(-1, 2, 3), &out), TF_ERR_SHAPE,
            "expand: -1 is not allowed for the new leading dim 0");
  CHECK_ERR(tf_unsqueeze(t, 3, &out), TF_ERR_INDEX, "unsqueeze: dim 3");
  CHECK_ERR(tf_as_strided(t, 9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1),
                          SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1), 0, &out),
            TF_ERR_VALUE, "as_strided: tensors have at most 8 dims");
  CHECK(out == TF_UNTOUCHED);

  tf_tensor *full = NULL, *u = TF_UNTOUCHED;
  CHECK_OK(tf_tensor_empty(8, SHAPE(1, 1, 1, 1, 1, 1, 1, 1), TF_FLOAT32, TF_CPU, &full));
  REQUIRE(full);
  CHECK_ERR(tf_unsqueeze(full, 0, &u), TF_ERR_VALUE,
            "unsqueeze: tensors have at most 8 dims");
  CHECK(u == TF_UNTOUCHED);
  tf_tensor_release(full);
  tf_tensor_release(s);
  tf_tensor_release(t);
}

static void test_unary_errors(void) {
  tf_tensor *b = make_bool(1, SHAPE(2), (const bool[]){true, false});
  tf_tensor *f = make_range(2, SHAPE(2, 3), TF_FLOAT32);
  tf_tensor *g = make_range(1, SHAPE(3), TF_FLOAT64);
  tf_tensor *i = make_range(2, SHAPE(2, 3), TF_INT64);
  tf_tensor *out = TF_UNTOUCHED;
  REQUIRE(b && f && g && i);
  CHECK_ERR(tf_unary(-1, f, 0, 0, 0, &out), TF_ERR_VALUE, "unary: unknown op code -1");
  CHECK_ERR(tf_unary(TF_UNARY_COUNT, f, 0, 0, 0, &out), TF_ERR_VALUE, "unknown op code");
  CHECK(tf_unary_name(TF_UNARY_COUNT) == NULL && tf_unary_name(-1) == NULL);
  CHECK(!strcmp(tf_unary_name(TF_UNARY_EXP), "exp"));
  CHECK_ERR(tf_unary(TF_UNARY_NEG, b, 0, 0, 0, &out), TF_ERR_DTYPE,
            "neg: expected a float32, float64 or int64 tensor, got bool");
  CHECK_ERR(tf_unary(TF_UNARY_ABS, NULL, 0, 0, 0, &out), TF_ERR_VALUE,
            "abs: got a NULL tensor");
  CHECK_ERR(tf_unary_into(TF_UNARY_EXP, f, 0, 0, 0, g), TF_ERR_SHAPE,
            "exp: out has shape (3,), but the result has shape (2, 3)");
  CHECK_ERR(tf_unary_into(TF_UNARY_EXP, i, 0, 0, 0, i), TF_ERR_DTYPE,
            "exp: result type float32 can't be cast to the desired output type int64");
  CHECK_ERR(tf_unary_into(TF_UNARY_ISNAN, f, 0, 0, 0, f), TF_ERR_DTYPE,
            "isnan: result type bool");
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(b);
  tf_tensor_release(f);
  tf_tensor_release(g);
  tf_tensor_release(i);
}

static void test_binary_errors(void) {
  tf_tensor *a = make_range(2, SHAPE(2, 3), TF_FLOAT32);
  tf_tensor *c = make_range(1, SHAPE(4), TF_FLOAT32);
  tf_tensor *b = make_range(1, SHAPE(3), TF_BOOL);
  tf_tensor *i = make_i64(2, SHAPE(2, 2), (const int64_t[]){1, 2, 3, 4});
  tf_tensor *z = make_i64(1, SHAPE(2), (const int64_t[]){1, 0});
  tf_tensor *neg = make_i64(0, NULL, (const int64_t[]){-1});
  tf_tensor *out = TF_UNTOUCHED;
  REQUIRE(a && c && b && i && z && neg);
  CHECK_ERR(tf_binary(99, a, a, &out), TF_ERR_VALUE, "binary: unknown op code 99");
  CHECK_ERR(tf_binary(TF_BINARY_ADD, a, c, &out), TF_ERR_SHAPE,
            "add: shapes (2, 3) and (4,) cannot be broadcast together "
            "(size 3 vs 4 at dim 1 of the result)");
  CHECK_ERR(tf_binary(TF_BINARY_SUB, b, b, &out), TF_ERR_DTYPE,
            "sub: subtracting two bool tensors is not supported");
  CHECK_ERR(tf_binary(TF_BINARY_MUL, a, NULL, &out), TF_ERR_VALUE,
            "mul: got a NULL tensor");
  /* integer division by zero is an error, not a trap */
  CHECK_ERR(tf_binary(TF_BINARY_FLOOR_DIVIDE, i, z, &out), TF_ERR_VALUE,
            "floor_divide: integer division by zero");
  CHECK_ERR(tf_binary(TF_BINARY_REMAINDER, i, z, &out), TF_ERR_VALUE,
            "remainder: integer division by zero");
  CHECK_ERR(tf_binary_scalar(TF_BINARY_FLOOR_DIVIDE, i, 0, 0, TF_SCALAR_INT,
                             false, &out),
            TF_ERR_VALUE, "floor_divide: integer division by zero");
  CHECK_ERR(tf_binary_scalar(TF_BINARY_REMAINDER, z, 5, 5, TF_SCALAR_INT,
                             true, &out),
            TF_ERR_VALUE, "remainder: integer division by zero");
  CHECK_ERR(tf_binary(TF_BINARY_POW, i, neg, &out), TF_ERR_VALUE,
            "pow: integers to negative integer powers are not allowed");
  CHECK_ERR(tf_binary_scalar(TF_BINARY_ADD, a, 1, 1, 7, false, &out), TF_ERR_VALUE,
            "add: unknown scalar kind 7");
  CHECK_ERR(tf_binary_scalar(-5, a, 1, 1, TF_SCALAR_INT, false, &out), TF_ERR_VALUE,
            "unknown op code -5");
  tf_dtype d = TF_FLOAT32;
  CHECK_ERR(tf_result_dtype(TF_BINARY_COUNT, a, a, &d), TF_ERR_VALUE, "unknown op code");
  /* into: wrong shape, a float result into int64, int division by zero in
   * place leaves the destination as it was */
  CHECK_ERR(tf_binary_into(TF_BINARY_ADD, a, a, c), TF_ERR_SHAPE,
            "add: output with shape (4,) doesn't match the broadcast shape (2, 3)");
  CHECK_ERR(tf_binary_into(TF_BINARY_DIV, i, i, i), TF_ERR_DTYPE,
            "div: result type float32 can't be cast to the desired output type int64");
  CHECK_ERR(tf_binary_scalar_into(TF_BINARY_MUL, i, 0.5, 0, TF_SCALAR_FLOAT, i),
            TF_ERR_DTYPE, "mul: result type float32 can't be cast");
  tf_tensor *zz = make_i64(2, SHAPE(2, 2), (const int64_t[]){1, 1, 0, 1});
  REQUIRE(zz);
  CHECK_ERR(tf_binary_into(TF_BINARY_FLOOR_DIVIDE, i, zz, i), TF_ERR_VALUE,
            "integer division by zero");
  CHECK_IVALUES(i, 1, 2, 3, 4);
  tf_tensor_release(zz);
  /* where */
  tf_tensor *fc = make_range(1, SHAPE(3), TF_FLOAT32);
  REQUIRE(fc);
  CHECK_ERR(tf_where(fc, a, a, &out), TF_ERR_DTYPE,
            "where: expected a bool condition, got float32");
  CHECK_ERR(tf_where(b, a, c, &out), TF_ERR_SHAPE, "where: shapes");
  CHECK(out == TF_UNTOUCHED);
  tf_tensor_release(fc);
  tf_tensor_release(a);
  tf_tensor_release(c);
  tf_tensor_release(b);
  tf_tensor_release(i);
  tf_tensor_release(z);
  tf_tensor_release(neg);
}

/* Each thread sees the message of its own last failure. */
struct thread_case {
  int ndim;
  tf_status status;
  char message[256];
};

static void *fail_in_thread(void *arg) {
  struct thread_case *c = arg;
  tf_tensor *out = NULL;
  for (int k = 0; k < 1000; k++)
    c->status = tf_tensor_empty(c->ndim, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                                TF_FLOAT32, TF_CPU, &out);
  snprintf(c->message, sizeof c->message, "%s", tf_last_error());
  return NULL;
}

/* An output whose elements alias each other (a stride-0 dim of size > 1 from
 * expand, or overlapping as_strided rows) is refused by every writing entry
 * point; a size-1 stride-0 dim is harmless. */
static void test_self_overlapping_outputs(void) {
  tf_tensor *row = make_range(2, SHAPE(1, 3), TF_FLOAT32);
  tf_tensor *full = make_range(2, SHAPE(4, 3), TF_FLOAT32);
  tf_tensor *wide = NULL, *same = NULL;
  REQUIRE(row && full);
  CHECK_OK(tf_expand(row, 2, SHAPE(4, 3), &wide));
  CHECK_OK(tf_expand(row, 2, SHAPE(1, 3), &same));
  REQUIRE(wide && same);
  CHECK_ERR(tf_unary_into(TF_UNARY_EXP, full, 0, 0, 0, wide), TF_ERR_VALUE,
            "exp: more than one element of the written-to tensor refers to a single "
            "memory location (shape (4, 3), strides (0, 1)");
  CHECK_ERR(tf_binary_into(TF_BINARY_ADD, full, full, wide), TF_ERR_VALUE,
            "add: more than one element");
  CHECK_ERR(tf_copy_(wide, full), TF_ERR_VALUE, "copy_: more than one element");
  CHECK_ERR(tf_fill_(wide, 1, 1, TF_SCALAR_INT), TF_ERR_VALUE,
            "fill_: more than one element");
  tf_tensor *index = make_range(1, SHAPE(2), TF_INT64), *value = NULL;
  CHECK_OK(tf_full(0, NULL, TF_FLOAT32, 1, 1, TF_SCALAR_INT, TF_CPU, &value));
  CHECK_ERR(tf_index_put_(wide, 1, &index, value, false), TF_ERR_VALUE,
            "index_put_: more than one element");
  CHECK_ERR(tf_index_put_(wide, 1, &index, value, true), TF_ERR_VALUE,
            "index_put_: more than one element");
  /* rows of 3 that start one element apart overlap without any stride 0 */
  tf_tensor *rows = NULL;
  CHECK_OK(tf_as_strided(full, 2, SHAPE(3, 3), SHAPE(1, 1), 0, &rows));
  CHECK_ERR(tf_fill_(rows, 1, 1, TF_SCALAR_INT), TF_ERR_VALUE,
            "fill_: more than one element");
  CHECK_OK(tf_unary_into(TF_UNARY_NEG, row, 0, 0, 0, same));
  tf_tensor_release(index);
  tf_tensor_release(value);
  tf_tensor_release(rows);
  tf_tensor_release(row);
  tf_tensor_release(full);
  tf_tensor_release(wide);
  tf_tensor_release(same);
}

static void test_error_message_per_thread(void) {
  struct thread_case cases[2] = {{9, TF_OK, ""}, {10, TF_OK, ""}};
  pthread_t threads[2];
  for (int k = 0; k < 2; k++)
    REQUIRE(pthread_create(&threads[k], NULL, fail_in_thread, &cases[k]) == 0);
  for (int k = 0; k < 2; k++) pthread_join(threads[k], NULL);
  CHECK(cases[0].status == TF_ERR_VALUE && cases[1].status == TF_ERR_VALUE);
  CHECK(strstr(cases[0].message, "9 dims requested") != NULL);
  CHECK(strstr(cases[1].message, "10 dims requested") != NULL);
  /* this thread's message is its own */
  tf_tensor *out = NULL;
  CHECK_ERR(tf_tensor_empty(-4, NULL, TF_FLOAT32, TF_CPU, &out), TF_ERR_VALUE, "-4 dims");
  CHECK(!strstr(tf_last_error(), "9 dims"));
}

void suite_errors(void) {
  RUN(test_creation_errors);
  RUN(test_tensor_errors);
  RUN(test_device_errors);
  RUN(test_view_errors);
  RUN(test_unary_errors);
  RUN(test_binary_errors);
  RUN(test_self_overlapping_outputs);
  RUN(test_error_message_per_thread);
}
