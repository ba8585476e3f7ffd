"""Elementwise ops against NumPy float64 references: every unary and binary op
of the C core on float32/float64 (int64 and bool where meaningful), on 0-d,
empty, broadcast and non-contiguous inputs; dtype promotion with tensors and
Python scalars; operators, in-place forms, where(), out=; special values;
hypothesis tests on random shapes.

Tolerances: see helpers_elementwise (float32 within F32_MAX_ULP of the float64
reference rounded to float32, float64 within F64_MAX_ULP, ints and bools
exact; +, -, *, /, maximum, minimum and comparisons bit-exact)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyfin as tf
from verify.op_kinds import binary_ops
from helpers_elementwise import (BROADCAST_PAIRS, CMP_OPS, EXACT_BINARY,
                                 FLOAT_DTYPES, LOGIC_OPS, SAME_SHAPES,
                                 UNARY_BY_ID, UNARY_CASES, UNARY_OPS_COVERED,
                                 BINARY_REF, T, assert_exact, assert_ulp,
                                 binary_inputs, binary_ref, broadcastable_pairs,
                                 float_arrays, float_dtypes, layouts,
                                 max_ulp_for, np_of, sample, shapes,
                                 special_values)

HYP = settings(max_examples=100, deadline=None, derandomize=True)
DTYPE_IDS = {np.float32: "float32", np.float64: "float64"}
PLAIN_UNARY = [c for c in UNARY_CASES if c.method is not None]


def _np_result_dtype(kind, in_dtype):
    if kind == "PRED":
        return np.dtype(np.bool_)
    return np.dtype(in_dtype)


def check_unary(case, x_np, result, what):
    """result (a Tensor) is case.ref(x_np) within the dtype's tolerance."""
    dt = np.dtype(x_np.dtype)
    got = result.numpy()
    assert tuple(result.shape) == x_np.shape, f"{what}: shape {result.shape}"
    expected = case.ref(x_np.astype(np.float64))
    if case.kind == "PRED":
        assert_exact(got, np.asarray(expected, np.bool_), what)
    elif dt == np.float64 and case.f64_rtol is not None:
        assert got.dtype == dt, what
        np.testing.assert_allclose(got, expected, rtol=case.f64_rtol, atol=0,
                                   err_msg=what)
    else:
        assert_ulp(got, expected, dt, max_ulp_for(dt), what)


# ---- coverage of the op lists -----------------------------------------------
def test_every_unary_op_has_a_reference():
    assert set(tf._C.UNARY_OPS) == UNARY_OPS_COVERED


def test_every_binary_op_has_a_reference():
    assert set(tf._C.BINARY_OPS) == set(BINARY_REF)


# ---- unary ops on floats ----------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("case", UNARY_CASES, ids=repr)
def test_unary_float(case, dtype):
    for si, shape in enumerate(SAME_SHAPES):
        x = sample(shape, dtype, case.lo, case.hi, seed=si)
        for name, values, t in layouts(x):
            before = np_of(t)
            r = case.call(t)
            what = f"{case.id} {np.dtype(dtype)} {shape} {name}"
            assert r.dtype is tf.dtypes.BY_NUMPY[_np_result_dtype(case.kind, dtype)], what
            check_unary(case, values, r, what)
            assert r.is_contiguous(), what
            np.testing.assert_array_equal(t.numpy(), before, err_msg=f"{what}: input changed")


@pytest.mark.parametrize("case", PLAIN_UNARY, ids=repr)
def test_unary_method_and_function_agree(case):
    x = T(sample((3, 4), np.float32, case.lo, case.hi, seed=5))
    a = getattr(x, case.method)()
    b = getattr(tf, case.op)(x)
    assert_exact(a.numpy(), b.numpy(), case.id)


def test_layouts_are_what_they_claim():
    x = sample((3, 4), np.float32, seed=0)
    seen = set()
    for name, values, t in layouts(x):
        seen.add(name)
        assert t.shape == (3, 4), name
        assert t.is_contiguous() == (name == "contiguous"), name
        assert_exact(t.numpy(), values, name)
    assert seen == {"contiguous", "transposed", "strided", "expanded"}


@pytest.mark.parametrize("shape_a,shape_b,transpose", [
    ((100_003,), (100_003,), False),   # one long row, split in chunks
    ((301, 401), (301, 401), True),    # many rows, a transposed operand
    ((1000, 1), (1, 333), False),      # broadcast to 333,000 elements
], ids=["long_row", "rows_transposed", "broadcast"])
def test_large_arrays_parallel_and_deterministic(shape_a, shape_b, transpose):
    """The parallel paths agree with NumPy, and with 1 thread bit for bit."""
    a_np = sample(shape_a, np.float32, -5, 5, seed=1)
    b_np = sample(shape_b, np.float32, 0.5, 5, seed=2)
    a = T(a_np)
    if transpose:
        a = T(np.ascontiguousarray(a_np.T)).transpose(0, 1)
    b = T(b_np)
    threads = tf.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            tf.set_num_threads(n)
            results.append([tf.exp(a).numpy().copy(), tf.sigmoid(a).numpy().copy(),
                            (a * b + a).numpy().copy(), (a / b).numpy().copy(),
                            tf.where(a > 0, a, b).numpy().copy()])
    finally:
        tf.set_num_threads(threads)
    for r1, r2 in zip(*results):
        assert_exact(r1, r2, "1 vs 2 threads")
    exp_, sig, fma, quo, wh = results[1]
    a64, b64 = a_np.astype(np.float64), b_np.astype(np.float64)
    assert_ulp(exp_, np.exp(a64), np.float32, 1, "exp")
    assert_ulp(sig, UNARY_BY_ID["sigmoid"].ref(a64), np.float32, 1, "sigmoid")
    assert_exact(fma, a_np * b_np + a_np, "a*b+a")
    assert_exact(quo, a_np / b_np, "a/b")
    assert_exact(wh, np.where(a_np > 0, a_np, b_np), "where")


# ---- unary ops on int64 and bool --------------------------------------------
@pytest.mark.parametrize("case", UNARY_CASES, ids=repr)
def test_unary_int64(case):
    x = sample((3, 4), np.int64, math.floor(case.lo), math.ceil(case.hi), seed=3)
    x = np.clip(x, -20, 20)
    for name, values, t in layouts(x):
        what = f"{case.id} int64 {name}"
        r = case.call(t)
        if case.kind == "NUM":
            assert r.dtype is tf.int64, what
            expected = case.ref(values.astype(np.float64)).astype(np.int64)
            assert_exact(r.numpy(), expected, what)
        elif case.kind == "FLOAT":
            # int64 input computes in float32 (PyTorch's default dtype)
            assert r.dtype is tf.float32, what
            expected = case.ref(values.astype(np.float32).astype(np.float64))
            assert_ulp(r.numpy(), expected, np.float32, 1, what)
        else:
            assert r.dtype is tf.bool, what
            assert_exact(r.numpy(), np.asarray(case.ref(values.astype(np.float64)), bool), what)


@pytest.mark.parametrize("case", UNARY_CASES, ids=repr)
def test_unary_bool(case):
    x = np.array([[True, False, True], [False, False, True]])
    t = T(x)
    if case.kind == "NUM":
        with pytest.raises(TypeError, match=case.op):
            case.call(t)
        return
    r = case.call(t)
    expected = case.ref(x.astype(np.float64))
    if case.kind == "FLOAT":
        assert r.dtype is tf.float32
        assert_ulp(r.numpy(), expected, np.float32, 1, case.id)
    else:
        assert r.dtype is tf.bool
        assert_exact(r.numpy(), np.asarray(expected, bool), case.id)


def test_int64_num_ops_exact_on_large_values():
    big = np.array([2 ** 62 + 1, -(2 ** 62) - 3, 2 ** 53 + 1, -7, 0], np.int64)
    t = T(big)
    assert_exact(tf.neg(t).numpy(), -big)
    assert_exact(tf.abs(t).numpy(), np.abs(big))
    assert_exact(tf.sign(t).numpy(), np.sign(big))
    for op in ("floor", "ceil", "round", "trunc"):
        assert_exact(getattr(tf, op)(t).numpy(), big, op)
    assert_exact(tf.relu(t).numpy(), np.maximum(big, 0))
    # wraps like two's complement instead of invoking C's undefined behaviour
    m = T(np.array([np.iinfo(np.int64).min], np.int64))
    assert tf.neg(m).tolist() == [np.iinfo(np.int64).min]
    assert tf.abs(m).tolist() == [np.iinfo(np.int64).min]


# ---- unary special values ---------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("case", UNARY_CASES, ids=repr)
def test_unary_special_values(case, dtype):
    """+-0, +-inf, NaN, subnormals, extremes: as NumPy's float64 functions
    (the op-specific limits NumPy's formula gets wrong are checked below)."""
    x = special_values(dtype)
    if case.op in ("silu", "gelu"):
        x = x[np.isfinite(x) | np.isnan(x)]  # -inf: see test_activation_limits
    r = case.call(T(x))
    got = r.numpy()
    what = f"{case.id} {np.dtype(dtype)} special"
    check_unary(case, x, r, what)
    # NaN in, NaN out (except predicates and nan_to_num)
    if case.kind != "PRED" and case.op != "nan_to_num":
        assert np.isnan(got[np.isnan(x)]).all(), f"{what}: NaN did not propagate"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
def test_special_values_named(dtype):
    inf, nan = math.inf, math.nan

    def f(op, vals, **kw):
        return getattr(tf, op)(T(np.array(vals, dtype)), **kw).tolist()

    assert f("exp", [-inf, inf, 0.0]) == [0.0, inf, 1.0]
    assert math.isnan(f("exp", [nan])[0])
    assert f("log", [0.0, -0.0, inf, 1.0]) == [-inf, -inf, inf, 0.0]
    assert math.isnan(f("log", [-1.0])[0])
    assert math.isnan(f("sqrt", [-1.0])[0])
    assert f("sigmoid", [inf, -inf]) == [1.0, 0.0]
    assert f("tanh", [inf, -inf]) == [1.0, -1.0]
    assert f("softplus", [30.0, 1e30, -inf, inf]) == [30.0, 1e30 if dtype == np.float64
                                                      else float(np.float32(1e30)), 0.0, inf]
    assert f("relu", [-0.0, -inf, inf]) == [0.0, 0.0, inf]
    assert math.isnan(f("relu", [nan])[0])
    assert math.isnan(f("sign", [nan])[0])
    assert f("sign", [-inf, inf, -3.0, 0.0]) == [-1.0, 1.0, -1.0, 0.0]
    assert f("rsqrt", [0.0, inf]) == [inf, 0.0]
    assert f("reciprocal", [0.0, -0.0, inf]) == [inf, -inf, 0.0]
    assert f("round", [0.5, 1.5, 2.5, -0.5, -2.5, 3.5]) == [0.0, 2.0, 2.0, -0.0, -2.0, 4.0]
    assert f("erf", [inf, -inf, 0.0]) == [1.0, -1.0, 0.0]
    assert f("expm1", [-inf, -0.0]) == [-1.0, -0.0]
    assert np.signbit(f("expm1", [-0.0])[0])
    assert f("elu", [-inf]) == [-1.0]
    assert f("leaky_relu", [-inf, inf]) == [-inf, inf]
    assert f("nan_to_num", [nan, inf, -inf, 2.0]) == [
        0.0, float(np.finfo(dtype).max), float(np.finfo(dtype).min), 2.0]
    assert f("clamp", [nan, -5.0, 5.0], min=-1.0, max=1.0)[1:] == [-1.0, 1.0]
    assert math.isnan(f("clamp", [nan], min=-1.0, max=1.0)[0])
    # subnormals are not flushed to zero
    sub = float(np.finfo(dtype).smallest_subnormal)
    assert f("abs", [-sub]) == [sub]
    assert f("neg", [sub]) == [-sub]
    assert f("relu", [sub]) == [sub]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("op,kwargs", [("silu", {}), ("gelu", {}),
                                       ("gelu", {"approximate": "tanh"})],
                         ids=["silu", "gelu", "gelu_tanh"])
def test_activation_limits(op, kwargs, dtype):
    """silu/gelu tend to 0 as x -> -inf and to x as x -> +inf; NaN is never
    invented (DESIGN.md: 'NaN propagates, it is never invented')."""
    x = T(np.array([-np.inf, np.inf, -1e30, 1e30], dtype))
    got = getattr(tf, op)(x, **kwargs).numpy()
    assert got[1] == np.inf and got[3] == np.array(1e30, dtype), got
    assert got[2] == 0.0, got
    assert got[0] == 0.0, f"{op}{kwargs}(-inf) = {got[0]}, expected 0 (the limit)"


# ---- unary parameters and errors --------------------------------------------
def test_nan_to_num_defaults_follow_dtype():
    for dt, fi in ((np.float32, np.finfo(np.float32)), (np.float64, np.finfo(np.float64))):
        x = T(np.array([np.nan, np.inf, -np.inf, 1.0], dt))
        assert_exact(tf.nan_to_num(x).numpy(),
                     np.array([0.0, fi.max, fi.min, 1.0], dt))
        assert_exact(x.nan_to_num(nan=2.0).numpy(), np.array([2.0, fi.max, fi.min, 1.0], dt))


def test_clamp_forms():
    x_np = np.array([-3.0, -0.5, 0.0, 0.5, 3.0, np.nan], np.float32)
    x = T(x_np)
    assert_exact(tf.clamp(x, -1, 1).numpy(), np.clip(x_np, -1, 1))
    assert_exact(x.clamp(min=0).numpy(), np.maximum(x_np, np.float32(0)))
    assert_exact(x.clip(max=0).numpy(), np.minimum(x_np, np.float32(0)))
    # min > max gives max everywhere (PyTorch)
    assert_exact(tf.clamp(x, 2, 1).numpy()[:5], np.full(5, 1.0, np.float32))
    # tensor bounds broadcast
    lo = T(np.array([0.0, 1.0, -1.0, 0.0, 2.0, 0.0], np.float32))
    assert_exact(tf.clamp(x, min=lo).numpy(), np.maximum(x_np, lo.numpy()))
    # int input: int bounds keep int64, a float bound promotes to float32
    xi = T(np.array([-5, 0, 5], np.int64))
    r = tf.clamp(xi, -2, 2)
    assert r.dtype is tf.int64 and r.tolist() == [-2, 0, 2]
    r = tf.clamp(xi, -1.5, 2.5)
    assert r.dtype is tf.float32 and r.tolist() == [-1.5, 0.0, 2.5]
    with pytest.raises(ValueError, match="clamp"):
        tf.clamp(x)


def test_unary_parameter_errors():
    x = T(np.array([1.0], np.float32))
    with pytest.raises(ValueError, match="gelu"):
        tf.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="softplus"):
        tf.softplus(x, beta=0)
    with pytest.raises(TypeError, match="exp"):
        tf.exp([1.0, 2.0])


# ---- out= and in-place unary ------------------------------------------------
@pytest.mark.parametrize("op", ["exp", "neg", "sqrt", "floor", "isnan", "sigmoid"])
def test_unary_out(op):
    x_np = sample((3, 4), np.float64, 0.1, 4, seed=1)
    x = T(x_np)
    expected = getattr(tf, op)(x).numpy().copy()
    out = tf.empty(3, 4, dtype=expected.dtype)
    r = getattr(tf, op)(x, out=out)
    assert r is out
    assert_exact(out.numpy(), expected, op)
    # a non-contiguous out
    out_t = tf.zeros(4, 3, dtype=expected.dtype).transpose(0, 1)
    getattr(tf, op)(x, out=out_t)
    assert_exact(np.ascontiguousarray(out_t.numpy()), expected, op)
    with pytest.raises(ValueError, match=rf"{op}: out has shape \(4, 3\)"):
        getattr(tf, op)(x, out=tf.empty(4, 3, dtype=expected.dtype))
    with pytest.raises(TypeError, match=f"{op}: result type"):
        getattr(tf, op)(x, out=tf.empty(3, 4, dtype=tf.int64))


@pytest.mark.parametrize("case", [c for c in PLAIN_UNARY if c.kind != "PRED"], ids=repr)
def test_unary_inplace_method(case):
    x_np = sample((2, 5), np.float32, case.lo, case.hi, seed=9)
    x = T(x_np)
    view = x.numpy()
    expected = case.ref(x_np.astype(np.float64))
    r = getattr(x, case.method + "_")()
    assert r is x
    assert_ulp(view, expected, np.float32, 1, case.id)  # written in place


def test_unary_inplace_on_transposed_view_writes_base():
    base = T(np.arange(6, dtype=np.float64).reshape(2, 3))
    v = base.transpose(0, 1)
    v.neg_()
    assert_exact(base.numpy(), -np.arange(6, dtype=np.float64).reshape(2, 3))


def test_unary_inplace_int_float_op_rejected():
    x = T(np.array([1, 2], np.int64))
    with pytest.raises(TypeError, match="exp"):
        x.exp_()
    assert x.tolist() == [1, 2]


# ---- binary ops on floats ---------------------------------------------------
def _binary_case_iter(name, dtype):
    """(what, a_values, b_values, a_tensor, b_tensor) over shapes and layouts."""
    pairs = [(s, s) for s in SAME_SHAPES] + BROADCAST_PAIRS
    for pi, (sa, sb) in enumerate(pairs):
        a, b = binary_inputs(name, sa, sb, dtype, seed=pi)
        yield f"{sa}x{sb} contiguous", a, b, T(a), T(b)
        for lname, av, at in list(layouts(a))[1:]:
            yield f"{sa}x{sb} a {lname}", av, b, at, T(b)
        for lname, bv, bt in list(layouts(b))[1:]:
            yield f"{sa}x{sb} b {lname}", a, bv, T(a), bt


# Ops whose result is floating point even for integer operands (ops.def's
# TRUEDIV kind).
FLOAT_RESULT_OPS = set(binary_ops("TRUEDIV"))


def _expected_binary_dtype(name, dtype):
    if name in CMP_OPS or name in LOGIC_OPS:
        return np.dtype(np.bool_)
    if name in FLOAT_RESULT_OPS and np.dtype(dtype) in (np.dtype(np.int64), np.dtype(np.bool_)):
        return np.dtype(np.float32)
    return np.dtype(dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("name", list(BINARY_REF))
def test_binary_float(name, dtype):
    fn = getattr(tf, name)
    for what, a, b, at, bt in _binary_case_iter(name, dtype):
        what = f"{name} {np.dtype(dtype)} {what}"
        r = fn(at, bt)
        exp_dt = _expected_binary_dtype(name, dtype)
        assert r.dtype is tf.dtypes.BY_NUMPY[exp_dt], what
        expected = binary_ref(name, a.astype(np.float64), b.astype(np.float64))
        assert r.shape == np.shape(expected), what
        if exp_dt == np.bool_:
            assert_exact(r.numpy(), np.asarray(expected, bool), what)
        else:
            ulp = 0 if name in EXACT_BINARY else max_ulp_for(dtype)
            assert_ulp(r.numpy(), expected, dtype, ulp, what)


@pytest.mark.parametrize("name", list(BINARY_REF))
def test_binary_int64(name):
    fn = getattr(tf, name)
    for what, a, b, at, bt in _binary_case_iter(name, np.int64):
        what = f"{name} int64 {what}"
        r = fn(at, bt)
        exp_dt = _expected_binary_dtype(name, np.int64)
        assert r.dtype is tf.dtypes.BY_NUMPY[exp_dt], what
        if name in FLOAT_RESULT_OPS:  # computed in float32 (via float64)
            expected = binary_ref(name, a.astype(np.float64), b.astype(np.float64))
            assert_ulp(r.numpy(), expected, np.float32, 0 if name == "div" else 1, what)
        else:
            expected = binary_ref(name, a, b)
            assert_exact(r.numpy(), np.asarray(expected, exp_dt), what)


@pytest.mark.parametrize("name", sorted(CMP_OPS | LOGIC_OPS))
def test_binary_bool_predicates(name):
    fn = getattr(tf, name)
    for what, a, b, at, bt in _binary_case_iter(name, np.bool_):
        assert_exact(fn(at, bt).numpy(), binary_ref(name, a, b), f"{name} bool {what}")


@pytest.mark.parametrize("name,np_fn", [("add", np.logical_or), ("mul", np.logical_and),
                                        ("maximum", np.logical_or),
                                        ("minimum", np.logical_and)])
def test_binary_bool_arith_stays_bool(name, np_fn):
    """PyTorch: bool + bool is bool (logical or), bool * bool logical and."""
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    r = getattr(tf, name)(T(a), T(b))
    assert r.dtype is tf.bool, f"{name}(bool, bool) gave {r.dtype}"
    assert_exact(r.numpy(), np_fn(a, b))


def test_bool_sub_rejected():
    a = T(np.array([True, False]))
    with pytest.raises(TypeError, match="sub: subtracting two bool tensors"):
        a - a


def test_logical_ops_on_numbers_read_truth_values():
    a = T(np.array([0.0, -0.0, 2.0, np.nan, 0.0], np.float32))
    b = T(np.array([1, 0, 0, 1, 3], np.int64))
    assert tf.logical_and(a, b).tolist() == [False, False, False, True, False]
    assert tf.logical_or(a, b).tolist() == [True, False, True, True, True]
    assert tf.logical_xor(a, b).tolist() == [True, False, True, False, True]
    assert tf.logical_not(a).tolist() == [True, True, False, False, True]


def test_comparisons_with_nan():
    a = T(np.array([np.nan, 1.0, np.nan], np.float64))
    b = T(np.array([np.nan, np.nan, 1.0], np.float64))
    assert (a == b).tolist() == [False, False, False]
    assert (a != b).tolist() == [True, True, True]
    assert (a < b).tolist() == [False] * 3 and (a >= b).tolist() == [False] * 3


def test_maximum_minimum_propagate_nan():
    a = T(np.array([np.nan, 1.0, -0.0], np.float32))
    b = T(np.array([1.0, np.nan, 0.0], np.float32))
    for fn in (tf.maximum, tf.minimum):
        got = fn(a, b).numpy()
        assert np.isnan(got[0]) and np.isnan(got[1]), fn
        got = fn(b, a).numpy()
        assert np.isnan(got[0]) and np.isnan(got[1]), fn


def test_remainder_and_floor_divide_sign_conventions():
    a = [-7, 7, -7, 7, 0, -6]
    b = [3, -3, -3, 3, -2, 3]
    ai, bi = T(np.array(a, np.int64)), T(np.array(b, np.int64))
    assert tf.remainder(ai, bi).tolist() == [x % y for x, y in zip(a, b)]
    assert tf.floor_divide(ai, bi).tolist() == [x // y for x, y in zip(a, b)]
    assert (ai % bi).tolist() == [x % y for x, y in zip(a, b)]
    assert (ai // bi).tolist() == [x // y for x, y in zip(a, b)]
    for dt in FLOAT_DTYPES:
        af, bf = T(np.array(a, dt)), T(np.array(b, dt))
        assert (af % bf).tolist() == [float(x % y) for x, y in zip(a, b)]
        assert (af // bf).tolist() == [float(x // y) for x, y in zip(a, b)]
        # fractional operands: NumPy's divmod
        x = np.array([5.5, -5.5, 5.5, -5.5, 1e-3], dt)
        y = np.array([2.0, 2.0, -2.0, -2.0, 0.3], dt)
        assert_exact(tf.remainder(T(x), T(y)).numpy(), np.remainder(x, y))
        assert_exact(tf.floor_divide(T(x), T(y)).numpy(), np.floor_divide(x, y))
    # remainder of -0 and of exact multiples takes the divisor's sign
    z = tf.remainder(T(np.array([-0.0, 6.0], np.float64)), T(np.array([3.0, -3.0])))
    assert np.signbit(z.numpy()).tolist() == [False, True]


def test_int64_edge_cases_wrap():
    mn = np.iinfo(np.int64).min
    a = T(np.array([mn, mn], np.int64))
    b = T(np.array([-1, 1], np.int64))
    assert tf.floor_divide(a, b).tolist() == [mn, mn]
    assert tf.remainder(a, b).tolist() == [0, 0]
    mx = np.iinfo(np.int64).max
    assert (T(np.array([mx], np.int64)) + 1).tolist() == [mn]


def test_float_division_by_zero_follows_ieee():
    for dt in FLOAT_DTYPES:
        a = T(np.array([1.0, -1.0, 0.0, 5.0], dt))
        z = T(np.array([0.0, 0.0, 0.0, -0.0], dt))
        with np.errstate(all="ignore"):
            assert_exact((a / z).numpy(), a.numpy() / z.numpy())
            assert_exact((a // z).numpy(), np.floor_divide(a.numpy(), z.numpy()))
            assert_exact((a % z).numpy(), np.remainder(a.numpy(), z.numpy()))


@pytest.mark.parametrize("op", ["floor_divide", "remainder"])
def test_int_division_by_zero_raises(op):
    a = T(np.array([1, 2, 3], np.int64))
    b = T(np.array([1, 0, 2], np.int64))
    with pytest.raises(ValueError, match=f"{op}: integer division by zero"):
        getattr(tf, op)(a, b)
    with pytest.raises(ValueError, match="integer division by zero"):
        getattr(tf, op)(a, 0)
    # a zero hidden in a broadcast / strided operand is found too
    with pytest.raises(ValueError, match="integer division by zero"):
        getattr(tf, op)(a, T(np.array([0], np.int64)).expand(3))
    with pytest.raises(ValueError, match="integer division by zero"):
        getattr(tf, op)(5, T(np.array([3, 0], np.int64)))


def test_int_true_division_by_zero_is_float():
    r = T(np.array([1, -1, 0], np.int64)) / T(np.array([0, 0, 0], np.int64))
    assert r.dtype is tf.float32
    got = r.numpy()
    assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])


def test_int_pow_negative_exponent_raises():
    a = T(np.array([2, 3], np.int64))
    with pytest.raises(ValueError, match="pow: integers to negative integer powers"):
        tf.pow(a, T(np.array([1, -1], np.int64)))
    with pytest.raises(ValueError, match="negative integer powers"):
        a ** -1
    # a float exponent is fine (promotes to float32)
    r = a ** -1.0
    assert r.dtype is tf.float32 and r.tolist() == [0.5, float(np.float32(1 / 3))]
    assert (a ** 2).tolist() == [4, 9] and (a ** 0).tolist() == [1, 1]


def test_binary_shape_mismatch():
    a = T(np.zeros((2, 3), np.float32))
    b = T(np.zeros((4,), np.float32))
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        a + b
    with pytest.raises(ValueError, match="mul"):
        tf.mul(a, T(np.zeros((3, 3), np.float32)))


def test_binary_needs_a_tensor():
    with pytest.raises(TypeError, match="add"):
        tf.add(1, 2)
    with pytest.raises(TypeError, match="add"):
        T(np.zeros(2, np.float32)) + "a"


# ---- promotion with tensors and Python scalars ------------------------------
F32 = np.array([1.5, -2.0, 3.25], np.float32)
F64 = np.array([1.5, -2.0, 3.25], np.float64)
I64 = np.array([3, -4, 5], np.int64)
BOOL = np.array([True, False, True])


def _t(arr):
    return T(arr)


PROMOTION_CASES = [
    # (id, fn, expected dtype, expected values as float64 / int / bool)
    ("f32+2", lambda: _t(F32) + 2, tf.float32, F32 + 2),
    ("2-f32", lambda: 2 - _t(F32), tf.float32, 2 - F32),
    ("2.5*i64", lambda: 2.5 * _t(I64), tf.float32, 2.5 * I64),
    ("f32*2.5", lambda: _t(F32) * 2.5, tf.float32, F32 * np.float32(2.5)),
    ("f64*2.5", lambda: _t(F64) * 2.5, tf.float64, F64 * 2.5),
    ("f32*huge", lambda: _t(F32) * 1e300, tf.float32,
     np.full(3, np.inf) * np.sign(F32)),
    ("i64+2", lambda: _t(I64) + 2, tf.int64, I64 + 2),
    ("i64+True", lambda: _t(I64) + True, tf.int64, I64 + 1),
    ("bool+1", lambda: _t(BOOL) + 1, tf.int64, BOOL.astype(np.int64) + 1),
    ("bool*2.5", lambda: _t(BOOL) * 2.5, tf.float32, BOOL * 2.5),
    ("bool+bool", lambda: _t(BOOL) + _t(~BOOL), tf.bool, BOOL | ~BOOL),
    ("bool+True", lambda: _t(BOOL) + True, tf.bool, np.ones(3, bool)),
    ("i64+f32", lambda: _t(I64) + _t(F32), tf.float32, I64 + F32),
    ("f32+i64", lambda: _t(F32) + _t(I64), tf.float32, I64 + F32),
    ("f32+f64", lambda: _t(F32) + _t(F64), tf.float64, F32.astype(np.float64) + F64),
    ("0d f64 + f32 vec", lambda: _t(np.array(2.0)) + _t(F32), tf.float32, F32 + 2),
    ("0d i64 + f32 vec", lambda: _t(np.array(2)) + _t(F32), tf.float32, F32 + 2),
    ("0d f64 + i64 vec", lambda: _t(np.array(0.5)) + _t(I64), tf.float64, I64 + 0.5),
    ("0d f32 + i64 vec", lambda: _t(np.array(0.5, np.float32)) + _t(I64), tf.float32,
     I64 + 0.5),
    ("0d f64 + 0d f32", lambda: _t(np.array(0.5)) + _t(np.array(1.0, np.float32)),
     tf.float64, np.array(1.5)),
    ("i64/2", lambda: _t(I64) / 2, tf.float32, I64 / 2),
    ("i64//2", lambda: _t(I64) // 2, tf.int64, I64 // 2),
    ("i64%-3", lambda: _t(I64) % -3, tf.int64, I64 % -3),
    ("7%i64", lambda: 7 % _t(I64), tf.int64, 7 % I64),
    ("7//i64", lambda: 7 // _t(I64), tf.int64, 7 // I64),
    ("i64**2", lambda: _t(I64) ** 2, tf.int64, I64 ** 2),
    ("i64**0.5", lambda: _t(np.array([4, 9], np.int64)) ** 0.5, tf.float32,
     np.array([2.0, 3.0])),
    ("2**f32", lambda: 2 ** _t(F32), tf.float32, 2.0 ** F32.astype(np.float64)),
    ("2.0**i64", lambda: 2.0 ** _t(I64), tf.float32, 2.0 ** I64.astype(np.float64)),
    ("f32>1", lambda: _t(F32) > 1, tf.bool, F32 > 1),
    ("1<f32", lambda: 1 < _t(F32), tf.bool, 1 < F32),
    ("i64==3.0", lambda: _t(I64) == 3.0, tf.bool, I64 == 3.0),
    ("i64<2.5", lambda: _t(I64) < 2.5, tf.bool, I64 < 2.5),
    ("np.float64 scalar", lambda: _t(F32) + np.float64(0.5), tf.float32, F32 + 0.5),
    ("np.int64 scalar", lambda: _t(I64) * np.int64(3), tf.int64, I64 * 3),
]


@pytest.mark.parametrize("fn,dtype,expected", [c[1:] for c in PROMOTION_CASES],
                         ids=[c[0] for c in PROMOTION_CASES])
def test_promotion(fn, dtype, expected):
    with np.errstate(all="ignore"):
        r = fn()
    assert r.dtype is dtype, f"got {r.dtype}, expected {dtype}"
    expected = np.asarray(expected)
    if dtype.is_floating_point:
        assert_ulp(r.numpy(), expected.astype(np.float64), dtype.numpy, 0)
    else:
        assert_exact(r.numpy(), expected.astype(dtype.numpy))


def test_result_type():
    assert tf.result_type(_t(F32), _t(F64)) is tf.float64
    assert tf.result_type(_t(I64), 2.5) is tf.float32
    assert tf.result_type(_t(F64), 2) is tf.float64
    assert tf.result_type(_t(I64), True) is tf.int64


def test_scalar_out_of_int64_range():
    with pytest.raises(OverflowError, match="int64"):
        _t(I64) + 2 ** 70


# ---- operators --------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_operators_match_functions(dtype):
    a_np, b_np = binary_inputs("floor_divide", (3, 4), (4,), dtype, seed=4)
    a, b = T(a_np), T(b_np)
    pairs = [
        (a + b, tf.add(a, b)), (a - b, tf.sub(a, b)), (a * b, tf.mul(a, b)),
        (a / b, tf.div(a, b)), (a // b, tf.floor_divide(a, b)),
        (a % b, tf.remainder(a, b)), (a == b, tf.eq(a, b)), (a != b, tf.ne(a, b)),
        (a < b, tf.lt(a, b)), (a <= b, tf.le(a, b)), (a > b, tf.gt(a, b)),
        (a >= b, tf.ge(a, b)), (-a, tf.neg(a)), (abs(a), tf.abs(a)),
        (+a, a),
    ]
    for x, y in pairs:
        assert_exact(x.numpy(), y.numpy())
    with np.errstate(all="ignore"):
        assert_exact((a + b).numpy(), a_np + b_np)
        assert_exact((a * b).numpy(), a_np * b_np)
        assert_exact((a // b).numpy(), a_np // b_np)
        assert_exact((a % b).numpy(), a_np % b_np)
        assert_exact((-a).numpy(), -a_np)
        assert_exact(abs(a).numpy(), np.abs(a_np))
        assert_exact((a <= b).numpy(), a_np <= b_np)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_reflected_operators(dtype):
    x_np = np.array([1, 2, 4], dtype)
    x = T(x_np)
    assert_exact((10 + x).numpy(), (10 + x_np).astype(dtype))
    assert_exact((10 - x).numpy(), (10 - x_np).astype(dtype))
    assert_exact((10 * x).numpy(), (10 * x_np).astype(dtype))
    assert_exact((9 // x).numpy(), (9 // x_np).astype(dtype))
    assert_exact((9 % x).numpy(), (9 % x_np).astype(dtype))
    assert_exact((2 ** x).numpy(), (2 ** x_np).astype(dtype))
    r = 8 / x
    assert r.dtype is tf.float32
    assert_exact(r.numpy(), (8 / x_np).astype(np.float32))
    assert_exact((x ** 2).numpy(), (x_np ** 2).astype(dtype))


def test_pow_float():
    x_np = np.array([0.0, 0.5, 2.0, -2.0, -0.5, np.inf, np.nan], np.float64)
    y_np = np.array([0.0, -1.5, 0.5, 3.0, 2.0, -1.0, 0.0], np.float64)
    with np.errstate(all="ignore"):
        expected = np.power(x_np, y_np)
    assert_ulp(tf.pow(T(x_np), T(y_np)).numpy(), expected, np.float64, 1)
    assert (T(np.array([np.nan])) ** 0).tolist() == [1.0]  # C pow: x**0 == 1
    got = (T(np.array([-8.0])) ** (1 / 3)).numpy()
    assert np.isnan(got[0])


def test_bitwise_operators_on_bool():
    a_np = np.array([True, True, False, False])
    b_np = np.array([True, False, True, False])
    a, b = T(a_np), T(b_np)
    assert_exact((a & b).numpy(), a_np & b_np)
    assert_exact((a | b).numpy(), a_np | b_np)
    assert_exact((a ^ b).numpy(), a_np ^ b_np)
    assert_exact((~a).numpy(), ~a_np)
    assert_exact((a & True).numpy(), a_np)
    assert_exact((False | a).numpy(), a_np)
    assert_exact((True ^ a).numpy(), ~a_np)


def test_bitwise_operators_reject_non_bool():
    x = T(np.array([1, 2], np.int64))
    for fn in (lambda: x & x, lambda: x | x, lambda: x ^ x, lambda: ~x):
        with pytest.raises(TypeError, match="bool tensors only"):
            fn()


# ---- in-place ops -----------------------------------------------------------
def _same_storage(a, b) -> bool:
    return bool(tf._C.tf_tensor_same_storage(a._h, b._h))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
def test_inplace_methods_write_in_place(dtype):
    a_np = sample((3, 4), dtype, seed=11)
    b_np = sample((4,), dtype, 0.5, 3, seed=12)
    for name, fn, ref in [
        ("add_", lambda x, y: x.add_(y), lambda x, y: x + y),
        ("add_alpha", lambda x, y: x.add_(y, alpha=2), lambda x, y: x + y * dtype(2)),
        ("sub_", lambda x, y: x.sub_(y), lambda x, y: x - y),
        ("sub_alpha", lambda x, y: x.sub_(y, alpha=0.5), lambda x, y: x - y * dtype(0.5)),
        ("mul_", lambda x, y: x.mul_(y), lambda x, y: x * y),
        ("div_", lambda x, y: x.div_(y), lambda x, y: x / y),
        ("clamp_", lambda x, y: x.clamp_(-1, 1), lambda x, y: np.clip(x, -1, 1)),
        ("clip_", lambda x, y: x.clip_(min=0), lambda x, y: np.maximum(x, dtype(0))),
        ("maximum_", lambda x, y: x.maximum_(y), np.maximum),
        ("pow_", lambda x, y: x.abs_().pow_(y),
         lambda x, y: round_pow(np.abs(x), y, dtype)),
    ]:
        x = T(a_np)
        view = x.numpy()
        r = fn(x, T(b_np))
        assert r is x, name
        exp = ref(a_np, b_np)
        assert_ulp(view, np.asarray(exp, np.float64), dtype, 1, name)


def round_pow(x, y, dtype):
    return np.power(x.astype(np.float64), y.astype(np.float64)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_augmented_assignment_keeps_identity_and_storage(dtype):
    a_np = np.array([[4, 8, 12], [16, 20, 24]], dtype)
    x = T(a_np)
    view = x.numpy()
    ident = id(x)
    x += 2
    x -= T(np.array([1, 1, 1], dtype))
    x *= 3
    if dtype == np.int64:
        x //= 2
        x %= 7
        expected = (((a_np + 2 - 1) * 3) // 2) % 7
        with pytest.raises(TypeError, match="can't be cast"):
            x /= 2
    else:
        x /= 2
        expected = ((a_np + 2 - 1) * 3) / 2
    assert id(x) == ident
    assert_exact(view, expected.astype(dtype))


def test_inplace_scalar_and_tensor_forms():
    x = T(np.array([1.0, 2.0, 3.0], np.float32))
    before = x.numpy()
    y = x
    y += 1.5
    y.mul_(2)
    y.sub_(T(np.array(1.0)))  # 0-d float64 into float32 in place
    assert y is x
    assert_exact(before, np.array([4.0, 6.0, 8.0], np.float32))


def test_inplace_dtype_rules():
    f32 = T(np.array([1.0, 2.0], np.float32))
    f32 += T(np.array([0.5, 0.25], np.float64))  # narrowing within floats: ok
    assert f32.dtype is tf.float32 and f32.tolist() == [1.5, 2.25]
    f32 += T(np.array([1, 2], np.int64))
    assert f32.tolist() == [2.5, 4.25]
    i64 = T(np.array([1, 2], np.int64))
    with pytest.raises(TypeError, match=r"add: result type float32 can't be cast .* int64"):
        i64 += 2.5
    with pytest.raises(TypeError, match="can't be cast"):
        i64 += T(np.array([0.5, 0.5], np.float32))
    with pytest.raises(TypeError, match="can't be cast"):
        i64.div_(2)
    with pytest.raises(TypeError, match="can't be cast"):
        i64.mul_(T(np.array([1.0, 1.0])))
    assert i64.tolist() == [1, 2]  # failed ops left it alone
    b = T(np.array([True, False]))
    with pytest.raises(TypeError):
        b += 1
    i64 += True
    assert i64.tolist() == [2, 3]


def test_inplace_broadcast_rules():
    x = T(np.zeros((3, 4), np.float32))
    x += T(np.arange(4, dtype=np.float32))
    assert_exact(x.numpy(), np.tile(np.arange(4, dtype=np.float32), (3, 1)))
    y = T(np.zeros((4,), np.float32))
    with pytest.raises(ValueError, match=r"add: output with shape \(4,\) doesn't "
                                         r"match the broadcast shape \(3, 4\)"):
        y += T(np.ones((3, 4), np.float32))


def test_inplace_on_non_contiguous_views_writes_base():
    base_np = np.arange(12, dtype=np.float64).reshape(3, 4)
    base = T(base_np)
    t = base.transpose(0, 1)
    t += 1
    assert _same_storage(t, base)  # still the view, not a new tensor
    strided = tf.as_strided(base, (3, 2), (4, 2), 1)  # base[:, 1::2]
    strided.mul_(10)
    expected = base_np + 1
    expected[:, 1::2] *= 10
    assert_exact(base.numpy(), expected)


def test_inplace_with_overlapping_operand():
    """a[1:] += a[:-1] reads the old values, as NumPy does."""
    a_np = np.arange(6, dtype=np.float64)
    a = T(a_np)
    dst = tf.as_strided(a, (5,), (1,), 1)
    src = tf.as_strided(a, (5,), (1,), 0)
    dst += src
    expected = a_np.copy()
    expected[1:] += a_np[:-1].copy()
    assert_exact(a.numpy(), expected)
    # reversed overlap through unary out=
    b = T(np.arange(6, dtype=np.float64))
    tf.neg(tf.as_strided(b, (5,), (1,), 0), out=tf.as_strided(b, (5,), (1,), 1))
    assert_exact(b.numpy(), np.array([0.0, -0, -1, -2, -3, -4]))


def test_inplace_self_alias():
    x = T(np.array([1.0, 2.0, 3.0]))
    x.mul_(x)
    assert x.tolist() == [1.0, 4.0, 9.0]
    x += x
    assert x.tolist() == [2.0, 8.0, 18.0]


def test_zero_fill_copy():
    x = T(np.arange(6, dtype=np.float32).reshape(2, 3))
    view = x.numpy()
    assert x.fill_(2.5) is x
    assert (view == 2.5).all()
    assert x.zero_() is x
    assert (view == 0).all()
    src = T(np.array([1.0, 2.0, 3.0]))  # float64 row, broadcast into float32
    assert x.copy_(src) is x
    assert_exact(view, np.tile(np.array([1, 2, 3], np.float32), (2, 1)))
    x.fill_(T(np.array(7.0)))
    assert (view == 7).all()
    # fill_/zero_ on a transposed view fill only its elements of the base
    base = T(np.ones((2, 4), np.int64))
    tf.as_strided(base, (2, 2), (4, 2), 0).zero_()
    assert base.tolist() == [[0, 1, 0, 1], [0, 1, 0, 1]]
    base.transpose(0, 1).fill_(3)
    assert base.tolist() == [[3] * 4, [3] * 4]
    # int fill with a float value truncates toward zero; bool reads truth
    i = T(np.zeros(2, np.int64)).fill_(-2.7)
    assert i.tolist() == [-2, -2]
    b = T(np.zeros(2, bool)).fill_(True)
    assert b.tolist() == [True, True]
    with pytest.raises(ValueError, match="copy_"):
        x.copy_(T(np.zeros(4)))
    with pytest.raises(TypeError, match="copy_"):
        x.copy_([1, 2, 3])


# ---- where ------------------------------------------------------------------
def test_where_broadcasting_and_dtypes():
    cond_np = np.array([[True], [False], [True]])
    a_np = np.arange(4, dtype=np.float32).reshape(1, 4)
    b_np = np.array(-1.0, np.float32)
    r = tf.where(T(cond_np), T(a_np), T(b_np))
    assert r.dtype is tf.float32 and r.shape == (3, 4)
    assert_exact(r.numpy(), np.where(cond_np, a_np, b_np))
    # non-contiguous operands
    c2 = T(np.array([[True, False, True], [False, True, False]])).transpose(0, 1)
    x2 = T(np.arange(6.0).reshape(3, 2))
    y2 = T(np.array([[10.0], [20.0], [30.0]])).expand(3, 2)
    assert_exact(tf.where(c2, x2, y2).numpy(),
                 np.where(c2.numpy(), x2.numpy(), y2.numpy()))
    # promotion of tensors
    assert tf.where(T(cond_np), T(np.ones(4, np.int64)), T(np.zeros(4))).dtype is tf.float64
    # scalars keep the tensor's dtype within its category
    x = T(np.array([1.0, 2.0, 3.0], np.float32))
    c = T(np.array([True, False, True]))
    r = tf.where(c, x, 0.0)
    assert r.dtype is tf.float32 and r.tolist() == [1.0, 0.0, 3.0]
    r = tf.where(c, 5, x)
    assert r.dtype is tf.float32 and r.tolist() == [5.0, 2.0, 5.0]
    xi = T(np.array([1, 2, 3], np.int64))
    r = tf.where(c, xi, 1.5)
    assert r.dtype is tf.float32 and r.tolist() == [1.0, 1.5, 3.0]
    r = tf.where(c, xi, -1)
    assert r.dtype is tf.int64 and r.tolist() == [1, -1, 3]
    # 0-d and empty
    assert tf.where(T(np.array(True)), T(np.array(1.0)), T(np.array(2.0))).tolist() == 1.0
    assert tf.where(T(np.zeros(0, bool)), T(np.zeros(0)), 1.0).shape == (0,)


def test_where_method_takes_condition_first():
    """PyTorch: x.where(condition, y) == where(condition, x, y)."""
    x = T(np.array([1.0, 2.0, 3.0], np.float32))
    c = T(np.array([True, False, True]))
    assert x.where(c, -x).tolist() == [1.0, -2.0, 3.0]


def test_where_errors():
    x = T(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="where: expected a bool condition, got int64"):
        tf.where(T(np.array([1, 0], np.int64)), x, x)
    with pytest.raises(ValueError, match="where"):
        tf.where(T(np.array([True, False, True])), x, x)
    with pytest.raises(TypeError, match="where"):
        tf.where(T(np.array([True])), 1.0, 2.0)


# ---- out= on binary ops -----------------------------------------------------
def test_binary_out():
    a_np = np.arange(12, dtype=np.float32).reshape(3, 4)
    b_np = np.linspace(1, 2, 4).astype(np.float32)
    a, b = T(a_np), T(b_np)
    out = tf.empty(3, 4)
    assert tf.mul(a, b, out=out) is out
    assert_exact(out.numpy(), a_np * b_np)
    assert tf.add(a, 1.5, out=out) is out
    assert_exact(out.numpy(), a_np + np.float32(1.5))
    assert tf.sub(10, a, out=out) is out  # reflected scalar into out
    assert_exact(out.numpy(), 10 - a_np)
    # a float32 result widened into a float64 out is allowed
    out64 = tf.zeros(3, 4, dtype=tf.float64)
    tf.div(a, b, out=out64)
    assert_exact(out64.numpy(), (a_np / b_np).astype(np.float64))
    # transposed out
    out_t = tf.zeros(4, 3).transpose(0, 1)
    tf.maximum(a, b, out=out_t)
    assert_exact(np.ascontiguousarray(out_t.numpy()), np.maximum(a_np, b_np))
    cmp_out = tf.empty(3, 4, dtype=tf.bool)
    tf.lt(a, b, out=cmp_out)
    assert_exact(cmp_out.numpy(), a_np < b_np)
    with pytest.raises(ValueError, match=r"mul: output with shape \(4,\) doesn't match"):
        tf.mul(a, b, out=tf.empty(4))
    with pytest.raises(TypeError, match="mul: result type float32 can't be cast"):
        tf.mul(a, b, out=tf.empty(3, 4, dtype=tf.int64))
    with pytest.raises(TypeError, match="can't be cast"):
        tf.lt(a, b, out=tf.empty(3, 4))  # a bool result into float32


# ---- hypothesis -------------------------------------------------------------
@HYP
@given(st.data(), float_dtypes, broadcastable_pairs, st.booleans())
def test_hyp_binary_broadcast(data, dtype, bshapes, specials):
    """specials: any float of the width, NaN and infinities included."""
    sa, sb = bshapes.input_shapes
    a = data.draw(float_arrays(dtype, sa, allow_nan=specials))
    b = data.draw(float_arrays(dtype, sb, allow_nan=specials))
    at, bt = T(a), T(b)
    with np.errstate(all="ignore"):
        assert_exact((at + bt).numpy(), a + b, "add")
        assert_exact((at * bt).numpy(), a * b, "mul")
        assert_exact(tf.maximum(at, bt).numpy(), np.maximum(a, b), "maximum")
        assert_exact(tf.minimum(at, bt).numpy(), np.minimum(a, b), "minimum")
        assert_exact((at < bt).numpy(), a < b, "lt")
    # commutativity, bit for bit
    assert_exact((bt + at).numpy(), (at + bt).numpy(), "a+b == b+a")
    assert_exact((bt * at).numpy(), (at * bt).numpy(), "a*b == b*a")


@HYP
@given(st.data(), float_dtypes, shapes)
def test_hyp_unary(data, dtype, shape):
    x = data.draw(float_arrays(dtype, shape, -50, 50))
    t = T(x)
    ulp = max_ulp_for(dtype)
    with np.errstate(all="ignore"):
        assert_ulp(tf.exp(t).numpy(), np.exp(x.astype(np.float64)), dtype, ulp, "exp")
        assert_ulp(tf.tanh(t).numpy(), np.tanh(x.astype(np.float64)), dtype, ulp, "tanh")
    assert_exact((t * 1).numpy(), x, "x*1")
    assert_exact((t + 0).numpy(), x + dtype(0), "x+0")
    assert_exact((-(-t)).numpy(), x, "--x")


@HYP
@given(st.data(), float_dtypes, shapes)
def test_hyp_exp_log_roundtrip(data, dtype, shape):
    x = data.draw(float_arrays(dtype, shape, 2.0 ** -10, 2.0 ** 10))
    rtol = 2e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(tf.exp(tf.log(T(x))).numpy(), x, rtol=rtol, atol=0)


@HYP
@given(st.data(), shapes)
def test_hyp_non_contiguous_unary(data, shape):
    """Any permutation of any shape gives the same values as contiguous."""
    x = data.draw(float_arrays(np.float32, shape, -5, 5))
    perm = data.draw(st.permutations(range(len(shape))))
    t = T(np.transpose(x, np.argsort(perm)).copy()).permute(*perm)
    assert t.shape == x.shape
    assert_exact(tf.sigmoid(t).numpy(), tf.sigmoid(T(x)).numpy(), "sigmoid perm")
    assert_exact((t * t).numpy(), x * x, "mul perm")


def _wrap64(v: int) -> int:
    return ((v + 2 ** 63) % 2 ** 64) - 2 ** 63


@HYP
@given(st.lists(st.tuples(st.integers(-2 ** 62, 2 ** 62),
                          st.integers(-2 ** 62, 2 ** 62).filter(bool)),
                min_size=1, max_size=20))
def test_hyp_int64_floor_divide_remainder(pairs):
    """Python's // and % (floor semantics) on int64, bit exact."""
    a = T(np.array([p[0] for p in pairs], np.int64))
    b = T(np.array([p[1] for p in pairs], np.int64))
    assert (a // b).tolist() == [x // y for x, y in pairs]
    assert (a % b).tolist() == [x % y for x, y in pairs]
    assert (a + b).tolist() == [x + y for x, y in pairs]
    assert (a * b).tolist() == [_wrap64(x * y) for x, y in pairs]  # wraps


@HYP
@given(st.lists(st.tuples(st.integers(-9, 9), st.integers(0, 70)), min_size=1, max_size=20))
def test_hyp_int64_pow_wraps(pairs):
    a = T(np.array([p[0] for p in pairs], np.int64))
    b = T(np.array([p[1] for p in pairs], np.int64))
    assert (a ** b).tolist() == [_wrap64(x ** y) for x, y in pairs]


# ---- binary special values --------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("name", list(BINARY_REF))
def test_binary_special_values(name, dtype):
    """Every pair of special values (+-0, +-inf, NaN, subnormals, extremes)
    as NumPy's float64 computes it on the same inputs."""
    v = special_values(dtype)
    a, b = v[:, None], v[None, :]
    r = getattr(tf, name)(T(a), T(b))
    expected = binary_ref(name, a.astype(np.float64), b.astype(np.float64))
    what = f"{name} {np.dtype(dtype)} special"
    if name in CMP_OPS or name in LOGIC_OPS:
        assert_exact(r.numpy(), np.asarray(expected, bool), what)
    else:
        ulp = 0 if name in EXACT_BINARY else max_ulp_for(dtype)
        assert_ulp(r.numpy(), expected, dtype, ulp, what)
