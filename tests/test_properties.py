"""Property-based tests (hypothesis) of algebraic laws (issue 4, 2d).

Inputs: random shapes including 0-d and size-0, mutually broadcastable shape
sets, contiguous / transposed / step-strided / expanded layouts, float32 and
float64 (int64 where meaningful), values over the whole float range
including subnormals, +-0, +-inf and NaN.

Laws: commutativity of add, mul, maximum, minimum (bitwise, NaN-aware);
identities x + (-0) == x, x * 1 == x (bitwise), x - x == 0 (finite x);
layout invariance (an op on a view == the op on a contiguous copy, bitwise);
reshape / transpose / permute round trips (bitwise); softmax in [0, 1] with
rows summing to 1; logsumexp shift invariance; sum linearity; matmul with
the identity and its associativity; exp(log(x)) ~ x.

Profiles: "ci" (derandomized, bounded examples; the default) and "deep"
(>= 1000 examples per property), picked with TINYFIN_HYPOTHESIS_PROFILE=deep.
The profile is applied per test here, so loading this file never changes
the settings of other test files.

Bounds (eps = the dtype's machine epsilon; n = elements summed):
  softmax row sum:       |sum - 1| <= (n + 4) eps
  logsumexp(x + c):      |lse(x + c) - (lse(x) + c)| <= 4 eps (|lse(x)| + |c|) + 4 eps
  sum linearity:         |lhs - rhs| <= 2 (n + 4) eps (|a| sum|x| + |b| sum|y|)
  exp(log(x)):           rel. error <= (|log x| + 2) * 2 eps
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyfin as tf
from helpers_elementwise import T

settings.register_profile(
    "ci", derandomize=True, max_examples=100, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "deep", derandomize=False, max_examples=1000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = os.environ.get("TINYFIN_HYPOTHESIS_PROFILE", "ci")
HYP = settings(settings.get_profile(PROFILE))

FLOAT_DTYPES = [np.float32, np.float64]
LAYOUTS = ["contiguous", "transposed", "strided", "reversed"]


# ---- strategies -----------------------------------------------------------------
def any_floats(dtype) -> st.SearchStrategy:
    """Every float of the dtype: subnormals, +-0, +-inf and NaN included."""
    width = 32 if dtype == np.float32 else 64
    return st.floats(width=width, allow_nan=True, allow_infinity=True,
                     allow_subnormal=True)


def finite_floats(dtype, lo=-1e6, hi=1e6) -> st.SearchStrategy:
    width = 32 if dtype == np.float32 else 64
    return st.floats(lo, hi, width=width, allow_subnormal=True)


def elements(dtype, special=True) -> st.SearchStrategy:
    if dtype == np.int64:
        return st.integers(-2 ** 40, 2 ** 40)
    return any_floats(dtype) if special else finite_floats(dtype)


shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


def as_layout(arr: np.ndarray, kind: str) -> "tf.Tensor":
    """A tensor holding arr's values in the given memory layout."""
    arr = np.asarray(arr)
    nd = arr.ndim
    if kind == "transposed" and nd >= 2:
        perm = tuple(range(nd))[::-1]
        return T(np.ascontiguousarray(arr.transpose(perm))).permute(*perm)
    if kind == "strided" and nd >= 1:
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), arr.dtype)
        big[..., 1::2] = arr
        return T(big)[..., 1::2]
    if kind == "reversed" and nd >= 1 and arr.size:
        # a negative-free view of a flipped copy: flip(flip(x)) reads memory
        # backwards within each row
        return T(np.ascontiguousarray(arr[..., ::-1])).flip(-1)
    return T(arr)


@st.composite
def tensors(draw, dtype=None, shape=None, special=True, dtypes=None):
    """(numpy array, tensor of the same values in a drawn layout)."""
    if dtype is None:
        dtype = draw(st.sampled_from(dtypes or FLOAT_DTYPES))
    if shape is None:
        shape = draw(shapes)
    arr = draw(hnp.arrays(dtype, shape, elements=elements(dtype, special)))
    return arr, as_layout(arr, draw(st.sampled_from(LAYOUTS)))


def values(t: "tf.Tensor") -> np.ndarray:
    return np.array(t.numpy(), copy=True)


def assert_bitwise(a, b, what=""):
    """Same dtype, shape and bits; NaNs equal whatever their payload."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype,
                                                       a.shape, b.shape)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        assert np.array_equal(nan, np.isnan(b)), f"{what}: NaN positions differ"
        ia = a.view(np.int32 if a.dtype == np.float32 else np.int64)
        ib = b.view(ia.dtype)
        diff = (ia != ib) & ~nan
        assert not diff.any(), (f"{what}: bits differ at "
                                f"{np.argwhere(diff)[:3].tolist()}: "
                                f"{a[diff][:3]} vs {b[diff][:3]}")
    else:
        assert np.array_equal(a, b), what


# ---- commutativity ------------------------------------------------------------------
@pytest.mark.verify_ops("add", "mul", "maximum", "minimum")
@HYP
@given(data=st.data(), op=st.sampled_from(["add", "mul", "maximum", "minimum"]),
       dtype=st.sampled_from([np.float32, np.float64, np.int64]),
       shape_pair=hnp.mutually_broadcastable_shapes(
           num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4))
def test_commutative(data, op, dtype, shape_pair):
    sa, sb = shape_pair.input_shapes
    a_np, a = data.draw(tensors(dtype, sa))
    b_np, b = data.draw(tensors(dtype, sb))
    ab, ba = getattr(tf, op)(a, b), getattr(tf, op)(b, a)
    assert ab.shape == shape_pair.result_shape
    if op in ("maximum", "minimum") and dtype != np.int64:
        # maximum(+0, -0) may be either zero; compare values, then NaN spots
        np.testing.assert_array_equal(values(ab), values(ba))
    else:
        assert_bitwise(values(ab), values(ba), f"{op} {sa} {sb}")
    with np.errstate(all="ignore"):
        ref = getattr(np, {"add": "add", "mul": "multiply"}.get(op, op))(a_np, b_np)
    if dtype == np.int64:   # wraps modulo 2^64 as NumPy does
        np.testing.assert_array_equal(values(ab), ref)
    else:
        np.testing.assert_array_equal(values(ab), ref.astype(dtype))


# ---- identities -----------------------------------------------------------------------
@pytest.mark.verify_ops("add", "mul", "sub")
@HYP
@given(x=tensors())
def test_additive_and_multiplicative_identities(x):
    x_np, t = x
    # x + (-0) keeps -0 (x + 0 would turn -0 into +0); x * 1 keeps all bits
    assert_bitwise(values(t + (-0.0)), x_np, "x + -0")
    assert_bitwise(values(tf.add(t, tf.full((), -0.0, dtype=t.dtype))), x_np,
                   "x + tensor(-0)")
    assert_bitwise(values(t * 1.0), x_np, "x * 1")
    assert_bitwise(values(1.0 * t), x_np, "1 * x")
    assert_bitwise(values(-(-t)), x_np, "-(-x)")
    d = values(t - t)
    fin = np.isfinite(x_np)
    assert np.all(d[fin] == 0), "x - x == 0 for finite x"
    assert np.all(np.isnan(d[~fin])), "x - x is NaN for inf and NaN"
    assert not np.signbit(d[fin]).any(), "x - x is +0 (round to nearest)"


@pytest.mark.verify_ops("add", "mul", "sub")
@HYP
@given(x=tensors(dtypes=[np.int64]))
def test_integer_identities(x):
    x_np, t = x
    np.testing.assert_array_equal(values(t + 0), x_np)
    np.testing.assert_array_equal(values(t * 1), x_np)
    np.testing.assert_array_equal(values(t - t), np.zeros_like(x_np))


# ---- layout invariance ------------------------------------------------------------------
UNARY_LAYOUT_OPS = ["exp", "log", "tanh", "sigmoid", "abs", "neg", "sqrt",
                    "square", "floor", "relu", "expm1", "log1p", "sin"]


@pytest.mark.verify_ops(*UNARY_LAYOUT_OPS)
@HYP
@given(data=st.data(), op=st.sampled_from(UNARY_LAYOUT_OPS),
       dtype=st.sampled_from(FLOAT_DTYPES), shape=shapes)
def test_unary_result_independent_of_layout(data, op, dtype, shape):
    x_np = data.draw(hnp.arrays(dtype, shape, elements=any_floats(dtype)))
    ref = values(getattr(tf, op)(T(x_np)))
    for kind in LAYOUTS:
        got = values(getattr(tf, op)(as_layout(x_np, kind)))
        assert_bitwise(got, ref, f"{op} on a {kind} view of {shape}")


@pytest.mark.verify_ops("amax", "sum", "softmax", "logsumexp")
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES),
       shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
def test_reductions_independent_of_layout(data, dtype, shape):
    """Each reduction agrees on every layout of the same values: amax
    exactly; sums (whose order may follow memory) within the summation bound
    2 (n + 2) eps sum|x|; softmax / logsumexp within (n + 4) eps relative."""
    x_np = data.draw(hnp.arrays(dtype, shape, elements=finite_floats(dtype)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    eps = np.finfo(dtype).eps
    x64 = np.abs(x_np.astype(np.float64))
    base = T(x_np)
    for kind in LAYOUTS:
        t = as_layout(x_np, kind)
        # amax: equal values (which of +0 / -0 wins a tie is unspecified)
        np.testing.assert_array_equal(values(t.amax(dim)), values(base.amax(dim)),
                                      err_msg=f"amax {kind}")
        got, ref = values(t.sum(dim)), values(base.sum(dim))
        assert np.all(np.abs(got.astype(np.float64) - ref) <=
                      2 * (n + 2) * eps * x64.sum(axis=dim)), f"sum {kind}"
        got, ref = float(t.sum().item()), float(base.sum().item())
        assert abs(got - ref) <= 2 * (x_np.size + 2) * eps * x64.sum(), f"sum all {kind}"
        np.testing.assert_allclose(values(tf.softmax(t, dim)), values(tf.softmax(base, dim)),
                                   rtol=(n + 4) * eps, atol=np.finfo(dtype).tiny,
                                   err_msg=f"softmax {kind}")
        ref = values(tf.logsumexp(base, dim)).astype(np.float64)
        got = values(tf.logsumexp(t, dim)).astype(np.float64)
        assert np.all(np.abs(got - ref) <= (n + 4) * eps * (1 + np.abs(ref))), \
            f"logsumexp {kind}"


# ---- reshape / transpose round trips ---------------------------------------------------
@pytest.mark.verify_ops("reshape",)
@HYP
@given(data=st.data(), x=tensors(dtypes=[np.float32, np.float64, np.int64]))
def test_reshape_round_trip(data, x):
    x_np, t = x
    n = x_np.size
    flat = t.reshape(-1)
    assert flat.shape == (n,)
    assert_bitwise(values(flat), x_np.reshape(-1), "reshape(-1)")
    # another shape of the same size, then back
    if n:
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        d = data.draw(st.sampled_from(divisors))
        other = (d, n // d)
    else:
        other = (0, data.draw(st.integers(1, 3)))
    back = t.reshape(other).reshape(x_np.shape)
    assert back.shape == x_np.shape
    assert_bitwise(values(back), x_np, f"reshape {other} and back")


@pytest.mark.verify_ops("transpose", "permute")
@HYP
@given(data=st.data(), x=tensors(dtypes=[np.float32, np.float64, np.int64]))
def test_transpose_and_permute_round_trips(data, x):
    x_np, t = x
    nd = x_np.ndim
    if nd >= 1:
        d0 = data.draw(st.integers(-nd, nd - 1))
        d1 = data.draw(st.integers(-nd, nd - 1))
        tt = t.transpose(d0, d1)
        assert_bitwise(values(tt), np.swapaxes(x_np, d0, d1), "transpose")
        assert_bitwise(values(tt.transpose(d0, d1)), x_np, "transpose twice")
    perm = data.draw(st.permutations(range(nd)))
    inv = tuple(np.argsort(perm)) if nd else ()
    p = t.permute(*perm)
    assert_bitwise(values(p), x_np.transpose(perm), f"permute {perm}")
    assert_bitwise(values(p.permute(*[int(i) for i in inv])), x_np, "permute back")
    assert_bitwise(values(p.contiguous().permute(*[int(i) for i in inv])), x_np,
                   "contiguous permute back")


# ---- softmax and logsumexp -----------------------------------------------------------
@pytest.mark.verify_ops("softmax",)
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES),
       shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=8))
def test_softmax_rows_sum_to_one(data, dtype, shape):
    x_np, t = data.draw(tensors(dtype, shape, special=False))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    s = values(tf.softmax(t, dim)).astype(np.float64)
    assert np.all((s >= 0) & (s <= 1)), "softmax outside [0, 1]"
    n = shape[dim]
    if s.size:
        tot = s.sum(axis=dim)
        eps = np.finfo(dtype).eps
        assert np.all(np.abs(tot - 1) <= (n + 4) * eps), np.abs(tot - 1).max()
        # log_softmax is log(softmax) up to rounding, and never positive
        ls = values(tf.log_softmax(t, dim))
        assert np.all(ls <= 0)


@pytest.mark.verify_ops("logsumexp",)
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES),
       shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=8),
       c=st.integers(-1000, 1000))
def test_logsumexp_shift_invariance(data, dtype, shape, c):
    """x on a grid of 1/8 in [-100, 100] and an integer c: x + c is exact,
    so lse(x + c) and lse(x) + c differ only by the roundings of each."""
    grid = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-800, 800)))
    x_np = (grid / 8.0).astype(dtype)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    t = as_layout(x_np, data.draw(st.sampled_from(LAYOUTS)))
    lse = values(tf.logsumexp(t, dim)).astype(np.float64)
    shifted = values(tf.logsumexp(t + float(c), dim)).astype(np.float64)
    eps = np.finfo(dtype).eps
    bound = 4 * eps * (np.abs(lse) + abs(c)) + 4 * eps
    err = np.abs(shifted - (lse + c))
    assert np.all(err <= bound), (err.max(), bound.max())
    # the same for softmax: exactly invariant up to the rounding of exp
    s0 = values(tf.softmax(t, dim)).astype(np.float64)
    s1 = values(tf.softmax(t + float(c), dim)).astype(np.float64)
    np.testing.assert_allclose(s1, s0, rtol=8 * eps * (1 + np.abs(x_np).max()),
                               atol=0)


# ---- sum linearity ------------------------------------------------------------------------
@pytest.mark.verify_ops("sum",)
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), shape=shapes,
       a=st.floats(-100, 100), b=st.floats(-100, 100))
def test_sum_linearity(data, dtype, shape, a, b):
    x_np, x = data.draw(tensors(dtype, shape, special=False))
    y_np, y = data.draw(tensors(dtype, shape, special=False))
    a, b = float(dtype(a)), float(dtype(b))
    lhs = float((x * a + y * b).sum().item())
    rhs = a * float(x.sum().item()) + b * float(y.sum().item())
    n = x_np.size
    eps = float(np.finfo(dtype).eps)
    cond = abs(a) * np.abs(x_np.astype(np.float64)).sum() + \
        abs(b) * np.abs(y_np.astype(np.float64)).sum()
    # products that underflow round by up to half the smallest subnormal
    tiny = (n + 4) * float(np.finfo(dtype).smallest_subnormal)
    assert abs(lhs - rhs) <= 2 * (n + 4) * eps * cond + tiny, (lhs, rhs, cond)
    # and against the exact sum (math.fsum of float64 products)
    exact = math.fsum((a * x_np.astype(np.float64) + b * y_np.astype(np.float64))
                      .ravel().tolist())
    assert abs(lhs - exact) <= 2 * (n + 4) * eps * cond + tiny


@pytest.mark.verify_ops("sum",)
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), shape=shapes)
def test_sum_over_all_dims_equals_nested_sums(data, dtype, shape):
    x_np, x = data.draw(tensors(dtype, shape, special=False))
    total = float(x.sum().item())
    nested = x
    for _ in range(len(shape)):
        nested = nested.sum(0)
    eps = float(np.finfo(dtype).eps)
    bound = 2 * (x_np.size + 4) * eps * np.abs(x_np.astype(np.float64)).sum()
    assert abs(float(nested.item()) - total) <= bound + 1e-300
    if x_np.size == 0:
        assert total == 0.0


# ---- matmul ----------------------------------------------------------------------------------
@pytest.mark.verify_ops("matmul",)
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES),
       m=st.integers(0, 6), k=st.integers(0, 6), n=st.integers(0, 6))
def test_matmul_identity_and_associativity(data, dtype, m, k, n):
    a_np, a = data.draw(tensors(dtype, (m, k), special=False))
    b_np, b = data.draw(tensors(dtype, (k, n), special=False))
    eye_k = tf.eye(k, dtype=tf.float32 if dtype == np.float32 else tf.float64)
    eye_m = tf.eye(m, dtype=eye_k.dtype)
    # multiplying by the identity adds only exact zeros: exact results
    np.testing.assert_array_equal(values(a @ eye_k), a_np)
    np.testing.assert_array_equal(values(eye_m @ a), a_np)
    ab = values(a @ b)
    # the same product of other operands' layouts (a @ I is a fresh
    # contiguous copy of a; B^T A^T reads both transposed) may take another
    # BLAS routine, which rounds in its own order (with or without FMA): so
    # within the Higham bound k eps sum |a||b|, not bitwise (the blas
    # backend promises the same bits per layout and thread count, not across
    # layouts; found at a = [[207127, 207127]], b = [[1, 1], [81, 1]])
    bound = (k + 2) * np.finfo(dtype).eps * (np.abs(a_np.astype(np.float64)) @
                                             np.abs(b_np.astype(np.float64)))
    for other in ((a @ eye_k) @ b, a @ (eye_k @ b), eye_m @ (a @ b), (b.t() @ a.t()).t()):
        assert np.all(np.abs(values(other).astype(np.float64) - ab) <= bound)


# ---- exp / log ------------------------------------------------------------------------------
@pytest.mark.verify_ops("exp", "log")
@HYP
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), shape=shapes)
def test_exp_log_round_trip(data, dtype, shape):
    width = 32 if dtype == np.float32 else 64
    x_np = data.draw(hnp.arrays(dtype, shape, elements=st.floats(
        2.0 ** -99, 2.0 ** 99, width=width)))
    t = as_layout(x_np, data.draw(st.sampled_from(LAYOUTS)))
    y = values(tf.exp(tf.log(t))).astype(np.float64)
    x64 = x_np.astype(np.float64)
    eps = np.finfo(dtype).eps
    rel = np.abs(y - x64) / x64
    assert np.all(rel <= (np.abs(np.log(x64)) + 2) * 2 * eps), rel.max() if rel.size else 0
    # log(exp(x)) ~ x where exp neither overflows nor underflows
    z_np = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-80, 80, width=width)))
    z = values(tf.log(tf.exp(T(z_np)))).astype(np.float64)
    np.testing.assert_allclose(z, z_np.astype(np.float64), rtol=0,
                               atol=4 * eps * (1 + 80))


@pytest.mark.verify_ops("sigmoid", "tanh", "exp", "softplus")
@HYP
@given(x=tensors())
def test_monotone_and_bounded_ops_on_special_values(x):
    """sigmoid in [0, 1], tanh in [-1, 1], exp >= 0, softplus >= 0 and
    >= x, NaN exactly where the input is NaN, over every float incl.
    subnormals and +-inf."""
    x_np, t = x
    nan = np.isnan(x_np)
    with np.errstate(invalid="ignore"):
        for name, lo, hi in [("sigmoid", 0, 1), ("tanh", -1, 1), ("exp", 0, np.inf),
                             ("softplus", 0, np.inf)]:
            y = values(getattr(tf, name)(t))
            assert np.array_equal(np.isnan(y), nan), name
            assert np.all((y[~nan] >= lo) & (y[~nan] <= hi)), name
        sp = values(tf.softplus(t))
        assert np.all(sp[~nan] >= x_np[~nan]), "softplus(x) >= x"
        # maximum/minimum with self are the identity (NaN-aware)
        assert_bitwise(values(tf.maximum(t, t)), x_np, "maximum(x, x)")
        assert_bitwise(values(tf.minimum(t, t)), x_np, "minimum(x, x)")
