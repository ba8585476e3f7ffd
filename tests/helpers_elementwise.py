"""Shared helpers for the elementwise, tensor and memory tests: ULP distance,
NumPy float64 reference tables for every unary and binary op, tensor
layouts (contiguous, transposed, step-strided, expanded) and hypothesis
strategies.

Tolerances (stated once, used everywhere):
  float32: unary ops compute in float64 and round once, so a float32 result
           is within F32_MAX_ULP of the float64 reference rounded to float32.
  float64: within F64_MAX_ULP of NumPy's float64 (libm) result.
  int64 / bool: exact.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyfin as tf

from verify.op_kinds import UNARY_KINDS, binary_ops

F32_MAX_ULP = 1
F64_MAX_ULP = 4
# Ops whose float32/float64 results must match NumPy bit for bit: IEEE basic
# operations are correctly rounded, and comparisons and logic (bool results,
# ops.def's CMP and LOGIC kinds) never round at all.
EXACT_BINARY = {"add", "sub", "mul", "div", "maximum", "minimum",
                *binary_ops("CMP", "LOGIC")}

FLOAT_DTYPES = (np.float32, np.float64)
TF_DTYPE = {np.dtype(np.float32): tf.float32, np.dtype(np.float64): tf.float64,
            np.dtype(np.int64): tf.int64, np.dtype(np.bool_): tf.bool}

SAME_SHAPES = [(), (0,), (5,), (3, 4), (2, 3, 4)]
BROADCAST_PAIRS = [((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (3,)), ((3,), ()),
                   ((0, 3), (1, 3)), ((2, 1, 4), (3, 1)), ((4, 1), (0,))]


# ---- shared with the verification harness: ULP distance, binary operands -----
from verify.ops_elementwise import binary_operands  # noqa: E402
from verify.ulp import ulp_distance  # noqa: E402,F401


def round_to(expected64: np.ndarray, dtype) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(expected64, dtype=np.float64).astype(dtype)


def assert_ulp(actual, expected64, dtype, max_ulp: float, what: str = "") -> None:
    """actual (of dtype) is within max_ulp of expected64 rounded to dtype;
    NaN and infinities must match exactly."""
    actual = np.asarray(actual)
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype} != {np.dtype(dtype)}"
    expected = round_to(expected64, dtype)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.size == 0:
        return
    d = ulp_distance(actual, expected)
    if np.all(d <= max_ulp):
        return
    i = np.unravel_index(int(np.argmax(d)), d.shape)
    raise AssertionError(
        f"{what}: {int(np.sum(d > max_ulp))} of {d.size} elements beyond "
        f"{max_ulp} ULP; worst at {i}: got {actual[i]!r}, expected "
        f"{expected[i]!r} ({d[i]} ULP)")


def max_ulp_for(dtype) -> int:
    return F32_MAX_ULP if np.dtype(dtype) == np.float32 else F64_MAX_ULP


def assert_exact(actual, expected, what: str = "") -> None:
    """Same dtype, shape and values (NaN equal to NaN)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_array_equal(actual, expected, err_msg=what)


# ---- tensors from NumPy -----------------------------------------------------
def T(arr) -> "tf.Tensor":
    """A contiguous tinyfin tensor holding arr (any shape, 0-d included).
    Built from a flat copy so that a problem of tinyfin.tensor() with 0-d
    arrays (tested in test_tensor.py) does not hide the op under test."""
    arr = np.asarray(arr)
    t = tf.tensor(arr.reshape(-1), dtype=TF_DTYPE[arr.dtype])
    return t.reshape(arr.shape)


def layouts(arr: np.ndarray):
    """(name, values, tensor) triples: the same values in several memory
    layouts, plus an expanded (stride 0) tensor whose values are `values`."""
    arr = np.asarray(arr)
    yield "contiguous", arr, T(arr)
    nd = arr.ndim
    if nd >= 2:
        swapped = np.ascontiguousarray(np.swapaxes(arr, 0, nd - 1))
        t = T(swapped).transpose(0, nd - 1)
        yield "transposed", arr, t
    # every other element of a bigger buffer, starting at offset 1
    if nd == 0:
        base = np.zeros(2, arr.dtype)
        base[1] = arr
        yield "strided", arr, tf.as_strided(T(base), (), (), 1)
    else:
        big_shape = arr.shape[:-1] + (2 * arr.shape[-1] + 1,)
        base = np.zeros(big_shape, arr.dtype)
        base[..., 1::2] = arr
        el = np.array(base.strides) // base.itemsize
        strides = tuple(int(s) for s in el[:-1]) + (2,)
        yield "strided", arr, tf.as_strided(T(base), arr.shape, strides, 1)
    if nd >= 1 and arr.shape[0] > 1:
        small = arr[:1]
        yield ("expanded", np.broadcast_to(small, arr.shape),
               T(small).expand(*arr.shape))


def np_of(t) -> np.ndarray:
    """A copy of a tensor's values (never a view, so later in-place ops on the
    tensor do not change it)."""
    return np.array(t.numpy(), copy=True)


# ---- input values -----------------------------------------------------------
def sample(shape, dtype, lo: float = -4.0, hi: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype == np.int64:
        return rng.integers(int(lo), int(hi) + 1, size=shape).astype(np.int64)
    vals = rng.uniform(lo, hi, size=shape)
    # sprinkle exact halves and integers (round, floor, comparisons)
    mask = rng.random(shape) < 0.25
    vals = np.where(mask, np.round(vals * 2) / 2, vals)
    return np.asarray(vals).astype(dtype)


# ---- unary reference table --------------------------------------------------
_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_erf = np.vectorize(math.erf, otypes=[np.float64])


def expit(x):
    """sigmoid without overflow for either sign."""
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _mp_unary(f):
    """A float64 -> float64 ufunc evaluated in 100-bit mpmath at the exact
    input, for the two gelus (whose limits at +-inf it uses directly)."""
    def scalar(x):
        if math.isnan(x):
            return math.nan
        if abs(x) > 1e6:  # both gelus: x above, an underflowed 0 below
            return x if x > 0 else -0.0
        with mpmath.workprec(100):
            r = f(mpmath.mpf(x))
            if abs(r) < mpmath.mpf(2) ** -1100:  # underflows (float() fails
                return -0.0 if r < 0 else 0.0    # on exponents this small)
            return float(r)
    return np.vectorize(scalar, otypes=[np.float64])


# gelu's float64 reference is mpmath, not NumPy: 0.5 x erfc(-x/sqrt2) in
# float64 rounds x/sqrt2 first, and erfc's condition number (~x^2) turns that
# into tens of ULP for x << 0, in NumPy's formula as much as in tinyfin's.
ref_gelu = _mp_unary(lambda x: x * mpmath.erfc(-x / mpmath.sqrt(2)) / 2)
ref_gelu_tanh = _mp_unary(
    lambda x: x * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) *
                                   (x + mpmath.mpf(0.044715) * x ** 3))) / 2)
# Relative tolerance in float64 for ops that are ill-conditioned on their
# domain: relative error ~ cond(x) * 2^-53 with cond(gelu, x) ~ x^2 and
# cond(gelu_tanh, x) ~ 0.2 |x|^3, about 1e2 at |x| = 8 (the sampled range).
F64_RTOL_ILL_CONDITIONED = 1e-13


def ref_softplus(x, beta=1.0, threshold=20.0):
    """PyTorch: log(1 + exp(beta x)) / beta, and x where beta x > threshold."""
    with np.errstate(over="ignore", invalid="ignore"):
        bx = beta * x
        return np.where(bx > threshold, x, np.logaddexp(0.0, bx) / beta)


def _with_errstate(f):
    def g(x):
        with np.errstate(all="ignore"):
            return f(np.asarray(x, np.float64))
    return g


class UnaryCase:
    """One way of calling a unary op: `call(x, out=None)` on tinyfin and
    `ref(x64)` in NumPy float64; kind is the op's FLOAT / NUM / PRED, read
    from ops.def (verify/op_kinds.py)."""

    f64_rtol = None  # set where float64 is checked by relative error

    def __init__(self, id, op, call, ref, lo=-4.0, hi=4.0, method=None):
        self.id, self.op, self.kind = id, op, UNARY_KINDS[op]
        self.call, self.ref = call, _with_errstate(ref)
        self.lo, self.hi = lo, hi
        self.method = method  # name of the Tensor method, if the plain form

    def __repr__(self):
        return self.id


def _plain(name):
    return lambda x, out=None: getattr(tf, name)(x, out=out) if out is not None \
        else getattr(tf, name)(x)


_PLAIN_REFS = {
    "neg": (np.negative,),
    "abs": (np.abs,),
    "sign": (np.sign,),
    "exp": (np.exp, -20, 20),
    "exp2": (np.exp2, -20, 20),
    "expm1": (np.expm1, -20, 20),
    "log": (np.log, 0.01, 20),
    "log2": (np.log2, 0.01, 20),
    "log10": (np.log10, 0.01, 20),
    "log1p": (np.log1p, -0.99, 20),
    "sqrt": (np.sqrt, 0.0, 20),
    "rsqrt": (lambda x: 1.0 / np.sqrt(x), 0.01, 20),
    "reciprocal": (lambda x: 1.0 / x,),
    "square": (lambda x: x * x,),
    "sin": (np.sin, -10, 10),
    "cos": (np.cos, -10, 10),
    "tan": (np.tan, -1.5, 1.5),
    "tanh": (np.tanh,),
    "sigmoid": (expit, -30, 30),
    "relu": (lambda x: np.where(np.isnan(x), x, np.where(x > 0, x, 0.0)),),
    "silu": (lambda x: x * expit(x), -30, 30),
    "erf": (_erf,),
    "floor": (np.floor,),
    "ceil": (np.ceil,),
    "round": (np.rint,),  # half to even
    "trunc": (np.trunc,),
    "isnan": (np.isnan,),
    "isinf": (np.isinf,),
    "isfinite": (np.isfinite,),
    "logical_not": (lambda x: x == 0,),
}


def _unary_cases():
    cases = []
    for name, spec in _PLAIN_REFS.items():
        ref, lo, hi = spec if len(spec) == 3 else (spec[0], -4.0, 4.0)
        cases.append(UnaryCase(name, name, _plain(name), ref, lo, hi, method=name))
    add = cases.append
    add(UnaryCase("leaky_relu", "leaky_relu",
                  lambda x, out=None: tf.leaky_relu(x),
                  lambda x: np.where(x < 0, x * 0.01, x)))
    add(UnaryCase("leaky_relu(0.2)", "leaky_relu",
                  lambda x, out=None: tf.leaky_relu(x, 0.2),
                  lambda x: np.where(x < 0, x * 0.2, x)))
    add(UnaryCase("elu", "elu", lambda x, out=None: tf.elu(x),
                  lambda x: np.where(x > 0, x, np.expm1(x))))
    add(UnaryCase("elu(0.5)", "elu", lambda x, out=None: tf.elu(x, alpha=0.5),
                  lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))))
    add(UnaryCase("gelu", "gelu", lambda x, out=None: tf.gelu(x),
                  ref_gelu, -8, 8))
    add(UnaryCase("gelu(tanh)", "gelu",
                  lambda x, out=None: tf.gelu(x, approximate="tanh"),
                  ref_gelu_tanh, -8, 8))
    add(UnaryCase("softplus", "softplus", lambda x, out=None: tf.softplus(x),
                  ref_softplus, -30, 30))
    add(UnaryCase("softplus(2,5)", "softplus",
                  lambda x, out=None: tf.softplus(x, beta=2.0, threshold=5.0),
                  lambda x: ref_softplus(x, 2.0, 5.0), -6, 6))
    add(UnaryCase("clamp(-1,2)", "clamp",
                  lambda x, out=None: tf.clamp(x, -1, 2, out=out),
                  lambda x: np.minimum(np.maximum(x, -1.0), 2.0)))
    add(UnaryCase("clamp(min=1)", "clamp",
                  lambda x, out=None: tf.clamp(x, min=1, out=out),
                  lambda x: np.maximum(x, 1.0)))
    add(UnaryCase("clamp(max=1)", "clamp",
                  lambda x, out=None: tf.clamp(x, max=1, out=out),
                  lambda x: np.minimum(x, 1.0)))
    add(UnaryCase("nan_to_num", "nan_to_num",
                  lambda x, out=None: tf.nan_to_num(x, nan=1.5, posinf=7.0, neginf=-7.0),
                  lambda x: np.nan_to_num(x, nan=1.5, posinf=7.0, neginf=-7.0)))
    for c in cases:
        if c.op == "gelu":
            c.f64_rtol = F64_RTOL_ILL_CONDITIONED
    return cases


UNARY_CASES = _unary_cases()
UNARY_BY_ID = {c.id: c for c in UNARY_CASES}
UNARY_OPS_COVERED = {c.op for c in UNARY_CASES}


# ---- binary reference table -------------------------------------------------
def _np_floor_divide(a, b):
    return np.floor_divide(a, b)


def _np_tanh_backward(g, x):
    return g / np.cosh(np.asarray(x, np.float64)) ** 2


def _np_sigmoid_backward(g, x):
    e = np.exp(-np.abs(np.asarray(x, np.float64)))
    return g * e / (1 + e) ** 2


BINARY_REF = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "floor_divide": _np_floor_divide,
    "remainder": np.remainder,  # the divisor's sign, as Python and PyTorch
    "pow": np.power,
    "maximum": np.maximum,      # NaN-propagating
    "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
    "tanh_backward": _np_tanh_backward,        # grad * tanh'(x)
    "sigmoid_backward": _np_sigmoid_backward,  # grad * sigmoid'(x)
}
CMP_OPS, LOGIC_OPS = set(binary_ops("CMP")), set(binary_ops("LOGIC"))


def binary_ref(name, a, b):
    with np.errstate(all="ignore"):
        return BINARY_REF[name](a, b)


def binary_inputs(name, shape_a, shape_b, dtype, seed=0):
    """Operands for op `name` in its natural domain (verify's generator)."""
    return binary_operands(name, np.dtype(dtype).name, np.random.default_rng(seed),
                           shape_a, shape_b)


# ---- special values ---------------------------------------------------------
def special_values(dtype) -> np.ndarray:
    fi = np.finfo(dtype)
    tiny_sub = np.array(fi.smallest_subnormal, dtype)
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, tiny_sub, -tiny_sub,
            fi.tiny, fi.max, -fi.max, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5,
            1e-30, -1e-30, 100.0, -100.0, 1000.0, -1000.0]
    return np.array(vals, dtype=dtype)


# ---- hypothesis strategies --------------------------------------------------
def float_arrays(dtype, shape, lo=-1e3, hi=1e3, allow_nan=False):
    width = 32 if np.dtype(dtype) == np.float32 else 64
    elements = st.floats(lo, hi, width=width, allow_nan=False) if not allow_nan \
        else st.floats(width=width, allow_nan=True)
    return hnp.arrays(dtype, shape, elements=elements)


shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
broadcastable_pairs = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4)
float_dtypes = st.sampled_from([np.float32, np.float64])
