/* binary.c: the entry points of the binary ops and where(): op codes,
 * names and kinds from tinyfin_ops.def, PyTorch's type promotion
 * (dimensioned tensors > 0-d tensors > Python scalars: a lower tier only
 * changes the dtype when it brings a higher category, bool < integer <
 * floating), broadcasting, the result on the operands' device, out= and
 * in-place writes; then the kernel of the backend chosen for the call
 * (cpu/binary.c holds the cpu's). */
#include "../backend.h"

enum { KIND_ARITH, KIND_TRUEDIV, KIND_CMP, KIND_LOGIC };

static const int binary_kinds[] = {
#define TF_BINARY_OP(ENUM, name, kind) KIND_##kind,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};
static const char *const binary_names[] = {
#define TF_BINARY_OP(ENUM, name, kind) #name,
#include "tinyfin_ops.def"
#undef TF_BINARY_OP
};
_Static_assert(sizeof binary_kinds / sizeof binary_kinds[0] == TF_BINARY_COUNT,
               "every binary op needs a kind");
_Static_assert(sizeof binary_names / sizeof binary_names[0] == TF_BINARY_COUNT,
               "every binary op needs a name");

const char *tf_binary_name(int op) {
  return op >= 0 && op < TF_BINARY_COUNT ? binary_names[op] : NULL;
}

/* ---- promotion ---------------------------------------------------------- */
static int category(tf_dtype d) {
  return d == TF_BOOL ? 0 : d == TF_INT64 ? 1 : 2;
}
/* Within one tier: bool < int64 < float32 < float64 (the enum order differs). */
static tf_dtype promote(tf_dtype a, tf_dtype b) {
  static const int rank[TF_NUM_DTYPES] = {2, 3, 1, 0};
  return rank[a] >= rank[b] ? a : b;
}
static tf_dtype default_dtype(int cat) {
  return cat == 0 ? TF_BOOL : cat == 1 ? TF_INT64 : TF_FLOAT32;
}

/* The promoted dtype of two tensors, PyTorch style: 0-d tensors rank below
 * dimensioned ones. */
static tf_dtype promote_tensors(const tf_tensor *a, const tf_tensor *b) {
  bool a0 = a->ndim == 0, b0 = b->ndim == 0;
  if (a0 == b0) return promote(a->dtype, b->dtype);
  const tf_tensor *dim = a0 ? b : a, *zero = a0 ? a : b;
  return category(zero->dtype) > category(dim->dtype) ? zero->dtype : dim->dtype;
}
/* A Python scalar ranks below every tensor. */
static tf_dtype promote_scalar(tf_dtype t, int scalar_kind) {
  return scalar_kind > category(t) ? default_dtype(scalar_kind) : t;
}

/* From the promoted dtype to the one the kernel computes in. */
static tf_status compute_dtype(int op, tf_dtype promoted, tf_dtype *compute,
                               tf_dtype *result) {
  switch (binary_kinds[op]) {
    case KIND_ARITH:
      TF_CHECK(!(promoted == TF_BOOL && op == TF_BINARY_SUB), TF_ERR_DTYPE,
               "sub: subtracting two bool tensors is not supported; use "
               "logical_xor, or convert with .long() first");
      /* bool operands compute in int64 and give bool, as in PyTorch
       * (True + True is True). */
      *compute = promoted == TF_BOOL ? TF_INT64 : promoted;
      *result = promoted;
      return TF_OK;
    case KIND_TRUEDIV:
      *compute = *result = tf_is_float(promoted) ? promoted : TF_FLOAT32;
      return TF_OK;
    case KIND_CMP:
      *compute = promoted;
      *result = TF_BOOL;
      return TF_OK;
    default:
      *compute = TF_BOOL;
      *result = TF_BOOL;
      return TF_OK;
  }
}

/* The dtype a kernel writes: bool for comparisons and logic, else the
 * compute dtype (converted to the result dtype afterwards if different). */
static tf_dtype kernel_output(int op, tf_dtype compute) {
  int kind = binary_kinds[op];
  return kind == KIND_CMP || kind == KIND_LOGIC ? TF_BOOL : compute;
}

tf_status tf_result_dtype(int op, const tf_tensor *a, const tf_tensor *b,
                          tf_dtype *out) {
  TF_CHECK(op >= 0 && op < TF_BINARY_COUNT, TF_ERR_VALUE,
           "binary: unknown op code %d", op);
  tf_dtype compute = TF_FLOAT32;
  return compute_dtype(op, promote_tensors(a, b), &compute, out);
}

/* ---- dispatch ----------------------------------------------------------- */
/* Convert an operand to the compute dtype, or copy it when it partially
 * overlaps dst (an exact alias is fine: each element is read before it is
 * written; a broadcast row of dst, as in x += x[0:1], is not).
 * *owned receives what the caller must release. */
static tf_status prepare_operand(const tf_tensor *t, tf_dtype compute,
                                 const tf_tensor *dst, const tf_tensor **use,
                                 tf_tensor **owned) {
  *owned = NULL;
  *use = t;
  bool overlap = dst && tf_overlap_of(dst, t) == TF_OVERLAP_PARTIAL;
  if (t->dtype != compute || overlap) {
    TF_TRY(tf_to_dtype(t, compute, owned));
    *use = *owned;
  }
  return TF_OK;
}

static tf_status binary_run(int op, const tf_tensor *a, const tf_tensor *b,
                            tf_dtype compute, tf_tensor *dst) {
  tf_binary_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(dst), binary_names[op],
            k->binary ? k->binary[op] : NULL);
  tf_tensor *owned_a, *owned_b;
  TF_TRY(prepare_operand(a, compute, dst, &a, &owned_a));
  tf_status st = prepare_operand(b, compute, dst, &b, &owned_b);
  if (st == TF_OK) st = kernel(op, a, b, dst);
  tf_tensor_release(owned_a);
  tf_tensor_release(owned_b);
  return st;
}

static tf_status binary_check(int op, const tf_tensor *a, const tf_tensor *b) {
  TF_CHECK(op >= 0 && op < TF_BINARY_COUNT, TF_ERR_VALUE,
           "binary: unknown op code %d", op);
  return tf_check_same_device(binary_names[op], a, b);
}

/* What binary_new and binary_into both need: the dtypes the kernel computes
 * in and the result has, and the broadcast shape of a and b. */
static tf_status binary_plan(int op, const tf_tensor *a, const tf_tensor *b,
                             tf_dtype promoted, tf_dtype *compute,
                             tf_dtype *result, int *ndim, int64_t *shape) {
  TF_TRY(compute_dtype(op, promoted, compute, result));
  const tf_tensor *pair[2] = {a, b};
  return tf_broadcast_shapes(binary_names[op], 2, pair, ndim, shape);
}

static tf_status binary_new(int op, const tf_tensor *a, const tf_tensor *b,
                            tf_dtype promoted, tf_tensor **out) {
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  int ndim;
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(binary_plan(op, a, b, promoted, &compute, &result, &ndim, shape));
  const tf_allocator *where = a->ndim ? a->storage->alloc : b->storage->alloc;
  tf_tensor *r = NULL;
  TF_TRY(tf_new_on(where, ndim, shape, kernel_output(op, compute), &r));
  tf_status st = binary_run(op, a, b, compute, r);
  if (st == TF_OK && r->dtype != result) {
    tf_tensor *converted = NULL;
    st = tf_to_dtype(r, result, &converted);
    tf_tensor_release(r);
    r = converted;
  }
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}

static tf_status binary_into(int op, const tf_tensor *a, const tf_tensor *b,
                             tf_dtype promoted, tf_tensor *dst) {
  tf_dtype compute = TF_FLOAT32, result = TF_FLOAT32;
  int ndim;
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(binary_plan(op, a, b, promoted, &compute, &result, &ndim, shape));
  TF_TRY(tf_check_writable(binary_names[op], dst));
  char s1[TF_SHAPE_STR], s2[TF_SHAPE_STR];
  TF_CHECK(ndim == dst->ndim &&
               !memcmp(shape, dst->shape, sizeof(int64_t) * (size_t)ndim),
           TF_ERR_SHAPE,
           "%s: output with shape %s doesn't match the broadcast shape %s",
           binary_names[op], tf_shape_str(dst->ndim, dst->shape, s1),
           tf_shape_str(ndim, shape, s2));
  /* Like PyTorch's in-place ops: the result may be narrowed within a
   * category (float64 into float32) but not across (float into int64). */
  TF_CHECK(result == dst->dtype ||
               (category(result) <= category(dst->dtype) && result != TF_BOOL) ||
               (result == TF_BOOL && dst->dtype == TF_BOOL),
           TF_ERR_DTYPE,
           "%s: result type %s can't be cast to the desired output type %s",
           binary_names[op], tf_dtype_name(result), tf_dtype_name(dst->dtype));
  tf_bump_version(dst);
  tf_dtype written = kernel_output(op, compute);
  if (written == dst->dtype) return binary_run(op, a, b, compute, dst);
  tf_tensor *tmp = NULL;
  TF_TRY(tf_new_on(dst->storage->alloc, ndim, shape, written, &tmp));
  tf_status st = binary_run(op, a, b, compute, tmp);
  if (st == TF_OK) st = tf_copy_(dst, tmp);
  tf_tensor_release(tmp);
  return st;
}

tf_status tf_binary(int op, const tf_tensor *a, const tf_tensor *b,
                    tf_tensor **out) {
  TF_TRY(binary_check(op, a, b));
  return binary_new(op, a, b, promote_tensors(a, b), out);
}

tf_status tf_binary_into(int op, const tf_tensor *a, const tf_tensor *b,
                         tf_tensor *dst) {
  TF_TRY(binary_check(op, a, b));
  TF_TRY(tf_check_same_device(binary_names[op], dst, a));
  return binary_into(op, a, b, promote_tensors(a, b), dst);
}

/* A Python scalar as a 0-d operand in the promoted dtype. Next to a tensor
 * in host memory it lives on the stack (no allocation for x * 0.5; kernels
 * only borrow their operands, and it never outlives the call); next to one
 * in device memory it is a 0-d tensor on that device (*owned). */
typedef struct {
  tf_tensor tensor;
  tf_storage storage;
  double data; /* room for any dtype's element */
  tf_tensor *owned;
} scalar_operand;

static tf_status make_scalar(int op, const tf_tensor *t, double fvalue,
                             int64_t ivalue, int kind, tf_dtype *promoted,
                             scalar_operand *so, const tf_tensor **use) {
  TF_CHECK(op >= 0 && op < TF_BINARY_COUNT, TF_ERR_VALUE,
           "binary: unknown op code %d", op);
  TF_TRY(tf_check_device(binary_names[op], t));
  TF_CHECK(kind >= TF_SCALAR_BOOL && kind <= TF_SCALAR_FLOAT, TF_ERR_VALUE,
           "%s: unknown scalar kind %d", binary_names[op], kind);
  *promoted = promote_scalar(t->dtype, kind);
  so->owned = NULL;
  if (t->storage->alloc->host) {
    tf_scalar_to(fvalue, ivalue, kind, *promoted, &so->data);
    tf_stack_scalar(&so->tensor, &so->storage, &so->data, *promoted);
    *use = &so->tensor;
    return TF_OK;
  }
  TF_TRY(tf_new_on(t->storage->alloc, 0, NULL, *promoted, &so->owned));
  tf_status st = tf_fill_(so->owned, fvalue, ivalue, kind);
  if (st != TF_OK) {
    tf_tensor_release(so->owned);
    return st;
  }
  *use = so->owned;
  return TF_OK;
}

tf_status tf_binary_scalar(int op, const tf_tensor *t, double fvalue,
                           int64_t ivalue, int kind, bool reverse,
                           tf_tensor **out) {
  tf_dtype promoted = TF_FLOAT32;
  scalar_operand so;
  const tf_tensor *s = NULL;
  TF_TRY(make_scalar(op, t, fvalue, ivalue, kind, &promoted, &so, &s));
  tf_status st = reverse ? binary_new(op, s, t, promoted, out)
                         : binary_new(op, t, s, promoted, out);
  tf_tensor_release(so.owned);
  return st;
}

tf_status tf_binary_scalar_into(int op, const tf_tensor *t, double fvalue,
                                int64_t ivalue, int kind, tf_tensor *dst) {
  tf_dtype promoted = TF_FLOAT32;
  scalar_operand so;
  const tf_tensor *s = NULL;
  TF_TRY(tf_check_device("binary", dst));
  TF_TRY(make_scalar(op, t, fvalue, ivalue, kind, &promoted, &so, &s));
  tf_status st = tf_check_same_device(binary_names[op], dst, t);
  if (st == TF_OK) st = binary_into(op, t, s, promoted, dst);
  tf_tensor_release(so.owned);
  return st;
}

tf_status tf_where(const tf_tensor *cond, const tf_tensor *a,
                   const tf_tensor *b, tf_tensor **out) {
  TF_TRY(tf_check_same_device("where", cond, a));
  TF_TRY(tf_check_same_device("where", a, b));
  TF_CHECK(cond->dtype == TF_BOOL, TF_ERR_DTYPE,
           "where: expected a bool condition, got %s",
           tf_dtype_name(cond->dtype));
  tf_where_kernel kernel;
  TF_KERNEL(kernel, tf_device_of(a), "where", k->where);
  const tf_tensor *all[3] = {cond, a, b};
  int ndim;
  int64_t shape[TF_MAX_DIMS];
  TF_TRY(tf_broadcast_shapes("where", 3, all, &ndim, shape));
  tf_dtype dtype = promote_tensors(a, b);
  tf_tensor *r = NULL, *owned_a = NULL, *owned_b = NULL;
  TF_TRY(tf_new_on(a->storage->alloc, ndim, shape, dtype, &r));
  tf_status st = prepare_operand(a, dtype, NULL, &a, &owned_a);
  if (st == TF_OK) st = prepare_operand(b, dtype, NULL, &b, &owned_b);
  if (st == TF_OK) st = kernel(cond, a, b, r);
  tf_tensor_release(owned_a);
  tf_tensor_release(owned_b);
  if (st != TF_OK) {
    tf_tensor_release(r);
    return st;
  }
  *out = r;
  return TF_OK;
}
