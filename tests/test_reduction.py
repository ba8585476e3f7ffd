"""Reductions and softmax against NumPy float64 references.

Every reduction of the C core on 0-d, empty, 1-D, 2-D and 3-D inputs, over
each single dim, pairs of dims and all dims, with keepdim both ways, on
contiguous, transposed, step-strided and expanded (stride 0) tensors, in
float32 and float64 (int64 and bool where meaningful); special values (NaN,
+-inf, huge and tiny magnitudes); determinism across thread counts; errors.

Tolerances: float32 results are computed in float64 and rounded once, so
they are held to F32_RTOL / F32_ATOL of the float64 reference; float64 ones
to F64_RTOL / F64_ATOL. Integer and bool results, argmax/argmin indices and
max/min values are exact.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyfin as tf

F32_RTOL, F32_ATOL = 1e-6, 1e-6
F64_RTOL, F64_ATOL = 1e-12, 1e-12
TOL = {np.dtype(np.float32): (F32_RTOL, F32_ATOL),
       np.dtype(np.float64): (F64_RTOL, F64_ATOL)}
FLOATS = [np.float32, np.float64]
SHAPES = [(), (0,), (3, 0), (5,), (4, 7), (2, 3, 4)]
HYP = settings(max_examples=60, deadline=None, derandomize=True)


# ---- helpers -------------------------------------------------------------------
def T(a) -> tf.Tensor:
    a = np.asarray(a)
    if a.ndim == 0:  # tinyfin.tensor of a 0-d array gives shape (1,) for now
        return tf.tensor(a.reshape(1)).reshape(())
    return tf.tensor(a)


def N(t) -> np.ndarray:
    return np.array(t.numpy(), copy=True)


def sample(shape, dtype, seed=0, lo=-3.0, hi=3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.6
    if dtype == np.int64:
        return rng.integers(-5, 6, size=shape).astype(np.int64)
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def layouts(arr: np.ndarray):
    """(name, values, tensor): the values in several memory layouts."""
    yield "contiguous", arr, T(arr)
    nd = arr.ndim
    if nd >= 2:
        swapped = np.ascontiguousarray(np.swapaxes(arr, 0, nd - 1))
        yield "transposed", arr, T(swapped).transpose(0, nd - 1)
    if nd >= 1:
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), arr.dtype)
        big[..., 1::2] = arr
        strides = tuple(s // big.itemsize for s in big.strides[:-1]) + (2,)
        yield "stepped", arr, tf.as_strided(T(big), arr.shape, strides, 1)
    if nd >= 1 and arr.shape[0] > 1:
        small = arr[:1]
        yield ("expanded", np.broadcast_to(small, arr.shape).copy(),
               T(small).expand(*arr.shape))


def dim_specs(ndim: int, single_only: bool = False):
    """None, every single dim (also negative), pairs and all dims."""
    if ndim == 0:
        return [None, 0, -1]
    specs = [None] + list(range(ndim)) + [-1]
    if not single_only:
        specs += [(a, b) for a in range(ndim) for b in range(a + 1, ndim)]
        specs += [tuple(range(ndim)), (-1, 0)] if ndim > 1 else [(0,)]
    return specs


def axes_of(dim, ndim) -> tuple:
    if dim is None or dim == ():
        return tuple(range(ndim))
    dims = dim if isinstance(dim, tuple) else (dim,)
    return tuple(sorted(d % max(ndim, 1) for d in dims)) if ndim else ()


def reference(fn, a: np.ndarray, dim, keepdim: bool) -> np.ndarray:
    """fn reduces the last axis of a float64 (or int/bool) array; applied to a
    with the reduced axes moved last and flattened into one."""
    axes = axes_of(dim, a.ndim)
    kept = [d for d in range(a.ndim) if d not in axes]
    kshape = tuple(a.shape[d] for d in kept)
    k = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
    b = np.transpose(a, kept + list(axes)).reshape(kshape + (k,))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = np.asarray(fn(b))
    if keepdim:
        r = r.reshape(tuple(1 if d in axes else a.shape[d]
                            for d in range(a.ndim)))
    return r


def np_logsumexp(b: np.ndarray) -> np.ndarray:
    if b.shape[-1] == 0:
        return np.full(b.shape[:-1], -np.inf)
    m = np.max(b, axis=-1, keepdims=True)
    safe = np.where(np.isfinite(m), m, 0.0)
    return (np.log(np.sum(np.exp(b - safe), axis=-1, keepdims=True))
            + safe)[..., 0]


def np_norm(p):
    def fn(b):
        if b.shape[-1] == 0:
            return np.zeros(b.shape[:-1])
        return np.linalg.norm(b, ord=p, axis=-1)
    return fn


def np_softmax(a: np.ndarray, dim: int, log: bool) -> np.ndarray:
    a = a.astype(np.float64)
    with np.errstate(all="ignore"):
        m = np.max(a, axis=dim, keepdims=True) if a.size else a
        e = np.exp(a - m)
        s = np.sum(e, axis=dim, keepdims=True)
        return (a - m) - np.log(s) if log else e / s


def check_close(actual: tf.Tensor, expected: np.ndarray, dtype, what: str):
    got = N(actual)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    rtol, atol = TOL[np.dtype(dtype)]
    with np.errstate(over="ignore"):  # overflow to inf must match too
        expected = np.asarray(expected).astype(dtype).astype(np.float64)
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=rtol,
                               atol=atol, equal_nan=True, err_msg=what)


def check_exact(actual: tf.Tensor, expected: np.ndarray, dtype, what: str):
    got = N(actual)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {np.dtype(dtype)}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    np.testing.assert_array_equal(got, expected.astype(dtype), err_msg=what)


# Float ops: (name, call on tinyfin, NumPy last-axis reference).
FLOAT_CASES = [
    ("sum", lambda x, d, k: tf.sum(x, d, k), lambda b: b.sum(-1)),
    ("mean", lambda x, d, k: tf.mean(x, d, k), lambda b: b.mean(-1)),
    ("prod", lambda x, d, k: x.prod(d, k), lambda b: b.prod(-1)),
    ("var", lambda x, d, k: tf.var(x, d, keepdim=k), lambda b: b.var(-1, ddof=1)),
    ("var_c0", lambda x, d, k: x.var(d, keepdim=k, correction=0),
     lambda b: b.var(-1, ddof=0)),
    ("var_c2", lambda x, d, k: x.var(d, keepdim=k, correction=2),
     lambda b: b.var(-1, ddof=2)),
    ("std", lambda x, d, k: tf.std(x, d, keepdim=k), lambda b: b.std(-1, ddof=1)),
    ("std_biased", lambda x, d, k: x.std(d, unbiased=False, keepdim=k),
     lambda b: b.std(-1)),
    ("logsumexp", lambda x, d, k: tf.logsumexp(x, d, k), np_logsumexp),
    ("norm2", lambda x, d, k: tf.norm(x, 2, d, k), np_norm(2)),
    ("norm1", lambda x, d, k: x.norm(1, d, k), np_norm(1)),
    ("norm_inf", lambda x, d, k: x.norm(math.inf, d, k), np_norm(np.inf)),
    ("norm0", lambda x, d, k: x.norm(0, d, k), np_norm(0)),
    ("norm3", lambda x, d, k: x.norm(3, d, k), np_norm(3)),
    ("norm_half", lambda x, d, k: x.norm(0.5, d, k), np_norm(0.5)),
]
# Ops with no identity: empty reductions raise.
EXTREME_CASES = [
    ("amax", lambda x, d, k: tf.amax(x, () if d is None else d, k),
     lambda b: b.max(-1)),
    ("amin", lambda x, d, k: x.amin(() if d is None else d, k),
     lambda b: b.min(-1)),
    ("norm_neginf", lambda x, d, k: x.norm(-math.inf, d, k), np_norm(-np.inf)),
]

EXTREME_CASES_SET = {(c[0], c[2]) for c in EXTREME_CASES}


# ---- float ops ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("case", FLOAT_CASES + EXTREME_CASES, ids=lambda c: c[0])
def test_float_reductions(case, dtype, shape):
    name, call, ref = case
    lo = 0.5 if name == "prod" else -3.0  # prod: no under/overflow
    a = sample(shape, dtype, seed=len(shape), lo=lo, hi=1.5 if lo > 0 else 3.0)
    for layout, vals, x in layouts(a):
        for dim in dim_specs(a.ndim):
            for keepdim in (False, True):
                what = f"{name} {layout} {shape} dim={dim} keepdim={keepdim}"
                empty = any(a.shape[d] == 0 for d in axes_of(dim, a.ndim))
                if empty and (name, ref) in EXTREME_CASES_SET:
                    with pytest.raises(IndexError, match="empty dimension"):
                        call(x, dim, keepdim)
                    continue
                expected = reference(ref, vals.astype(np.float64), dim, keepdim)
                check_close(call(x, dim, keepdim), expected, dtype, what)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_],
                         ids=["float32", "float64", "int64", "bool"])
def test_argmax_argmin_max_min(dtype, shape):
    a = sample(shape, dtype, seed=3)
    if np.dtype(dtype).kind == "f":
        a = np.round(a)  # ties: the first occurrence must win
    for layout, vals, x in layouts(a):
        for dim in dim_specs(a.ndim, single_only=True):
            for keepdim in (False, True):
                what = f"{layout} {shape} dim={dim} keepdim={keepdim}"
                empty = any(a.shape[d] == 0 for d in axes_of(dim, a.ndim))
                for op, npf in (("argmax", np.argmax), ("argmin", np.argmin)):
                    if empty:
                        with pytest.raises(IndexError, match=f"{op}: cannot reduce"):
                            getattr(tf, op)(x, dim, keepdim)
                        continue
                    exp = reference(lambda b: npf(b, axis=-1), vals, dim, keepdim)
                    check_exact(getattr(tf, op)(x, dim, keepdim), exp,
                                np.int64, f"{op} {what}")
                for op, npv, npi in (("max", np.max, np.argmax),
                                     ("min", np.min, np.argmin)):
                    if dim is None:
                        if empty:
                            with pytest.raises(IndexError, match=f"{op}: cannot"):
                                getattr(x, op)()
                            continue
                        check_exact(getattr(x, op)(), np.asarray(npv(vals)), dtype,
                                    f"{op} {what}")
                        continue
                    if empty:
                        with pytest.raises(IndexError, match="empty dimension"):
                            getattr(tf, op)(x, dim, keepdim)
                        continue
                    r = getattr(tf, op)(x, dim, keepdim)
                    assert type(r).__name__ == op and r._fields == ("values", "indices")
                    check_exact(r.values, reference(lambda b: npv(b, axis=-1), vals,
                                                    dim, keepdim), dtype, f"{op} {what}")
                    check_exact(r.indices, reference(lambda b: npi(b, axis=-1), vals,
                                                     dim, keepdim), np.int64,
                                f"{op} indices {what}")


# ---- int64 and bool ----------------------------------------------------------------
INT_CASES = [
    ("sum", lambda x, d, k: tf.sum(x, d, k), lambda b: b.astype(np.int64).sum(-1), np.int64),
    ("prod", lambda x, d, k: tf.prod(x, d, k), lambda b: b.astype(np.int64).prod(-1), np.int64),
    ("all", lambda x, d, k: tf.all(x, d, k), lambda b: b.all(-1), np.bool_),
    ("any", lambda x, d, k: x.any(d, k), lambda b: b.any(-1), np.bool_),
    ("amax", lambda x, d, k: tf.amax(x, () if d is None else d, k), lambda b: b.max(-1), None),
    ("amin", lambda x, d, k: tf.amin(x, () if d is None else d, k), lambda b: b.min(-1), None),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.int64, np.bool_], ids=["int64", "bool"])
@pytest.mark.parametrize("case", INT_CASES, ids=lambda c: c[0])
def test_int_bool_reductions(case, dtype, shape):
    name, call, ref, out_dtype = case
    a = sample(shape, dtype, seed=7)
    for layout, vals, x in layouts(a):
        for dim in dim_specs(a.ndim):
            for keepdim in (False, True):
                what = f"{name} {layout} {shape} dim={dim} keepdim={keepdim}"
                empty = any(a.shape[d] == 0 for d in axes_of(dim, a.ndim))
                if empty and name in ("amax", "amin"):
                    with pytest.raises(IndexError, match="empty dimension"):
                        call(x, dim, keepdim)
                    continue
                check_exact(call(x, dim, keepdim), reference(ref, vals, dim, keepdim),
                            out_dtype or dtype, what)


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_all_any_on_floats(dtype):
    a = np.array([[0.0, 1.0, np.nan], [0.0, 0.0, -0.0], [2.0, -1.0, np.inf]], dtype)
    x = T(a)
    check_exact(x.all(1), np.array([False, False, True]), np.bool_, "all")
    check_exact(x.any(1), np.array([True, False, True]), np.bool_, "any")
    check_exact(x.all(), np.array(False), np.bool_, "all")
    check_exact(x.any(0, keepdim=True), np.array([[True, True, True]]), np.bool_, "any")


def test_int_sum_wraps_and_is_exact():
    big = np.array([2 ** 62, 2 ** 62, 2 ** 62, 1], np.int64)  # sum wraps like PyTorch
    assert tf.sum(T(big)).item() == int(np.sum(big))
    exact = np.array([2 ** 53 + 1, 1, -1], np.int64)  # not representable as double
    assert tf.sum(T(exact)).item() == 2 ** 53 + 1
    assert tf.amax(T(exact)).item() == 2 ** 53 + 1
    assert tf.prod(T(np.array([3, -7, 2 ** 40], np.int64))).item() == -21 * 2 ** 40


# ---- special values ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_nan_propagates(dtype):
    a = np.array([[1.0, np.nan, 3.0, np.nan], [5.0, 2.0, 7.0, 1.0]], dtype)
    x = T(a)
    for op in ("sum", "mean", "prod", "var", "std", "amax", "amin", "logsumexp", "norm"):
        r = N(getattr(tf, op)(x, dim=1))
        assert np.isnan(r[0]) and not np.isnan(r[1]), op
    assert math.isnan(tf.max(T(np.array([1.0, np.nan], dtype))).item())
    assert math.isnan(tf.min(T(np.array([np.nan, 1.0], dtype))).item())
    m = tf.max(x, 1)
    assert np.isnan(N(m.values)[0]) and N(m.indices).tolist() == [1, 2]
    assert N(tf.min(x, 1).indices).tolist() == [1, 3]
    assert tf.argmax(x).item() == 1 and tf.argmin(x).item() == 1  # first NaN
    assert N(tf.argmax(x, 1)).tolist() == [1, 2]
    assert math.isnan(tf.norm(x, math.inf).item())
    assert tf.norm(x, 0).item() == 8.0  # NaN counts as nonzero


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_logsumexp_special_values(dtype):
    inf = np.inf
    a = np.array([[-inf, -inf], [inf, 1.0], [inf, -inf], [np.nan, inf],
                  [1000.0, 1000.0], [-1000.0, -1000.0], [0.0, -inf]], dtype)
    r = N(tf.logsumexp(T(a), 1))
    assert r[0] == -inf and r[1] == inf and r[2] == inf and np.isnan(r[3])
    np.testing.assert_allclose(r[4:], [1000 + math.log(2), -1000 + math.log(2), 0.0],
                               rtol=TOL[np.dtype(dtype)][0])
    if dtype == np.float64:
        big = tf.logsumexp(T(np.array([1e308, 1e308])), 0).item()
        assert math.isfinite(big) and big == pytest.approx(1e308)


def test_norm_does_not_overflow_or_underflow():
    for v in (1e200, 1e-200, 1e308, 5e-324, 1e-310):
        a = np.full(4, v)
        assert tf.norm(T(a)).item() == pytest.approx(2 * v, rel=1e-15), v
        assert tf.norm(T(a), 3).item() == pytest.approx(4 ** (1 / 3) * v, rel=1e-14)
        assert tf.norm(T(a), 1).item() == pytest.approx(4 * v, rel=1e-15), v
    assert tf.norm(T(np.array([2e38, 3e38], np.float32))).item() == math.inf  # > f32 max
    np.testing.assert_allclose(tf.norm(T(np.array([3e37, 4e37], np.float32))).item(),
                               5e37, rtol=F32_RTOL)
    assert tf.norm(T(np.array([1.0, np.inf, -np.inf]))).item() == math.inf
    assert tf.norm(T(np.zeros(3))).item() == 0.0
    assert tf.norm(T(np.array([-3.0, 2.0, -1.0])), -math.inf).item() == 1.0


def test_empty_reductions():
    e = T(np.zeros((0,)))
    assert tf.sum(e).item() == 0.0
    assert tf.prod(e).item() == 1.0
    assert math.isnan(tf.mean(e).item())
    assert math.isnan(tf.var(e).item())
    assert tf.all(e).item() is True and tf.any(e).item() is False
    assert tf.logsumexp(e, 0).item() == -math.inf
    assert tf.norm(e).item() == 0.0 and tf.norm(e, math.inf).item() == 0.0
    assert tf.sum(T(np.zeros((0,), np.int64))).dtype is tf.int64
    z = T(np.zeros((3, 0)))
    assert N(tf.sum(z, 1)).tolist() == [0.0] * 3
    assert N(tf.amax(z, 0)).shape == (0,)  # nothing empty is reduced
    for op in ("max", "min", "argmax", "argmin", "amax", "amin"):
        with pytest.raises(IndexError, match=rf"{op}: cannot reduce over an empty "
                                             r"dimension of an input of shape \(3, 0\)"):
            getattr(tf, op)(z, 1)
        with pytest.raises(IndexError, match="empty dimension"):
            getattr(tf, op)(z)


def test_var_degrees_of_freedom():
    one = T(np.array([2.0]))
    assert math.isnan(tf.var(one).item())  # 0 / 0
    assert tf.var(one, correction=0).item() == 0.0
    assert tf.var(T(np.array([1.0, 3.0])), correction=3).item() == math.inf
    assert tf.var(T(np.array([1.0, 3.0])), correction=0.5).item() == pytest.approx(2 / 1.5)


def test_zero_dim_inputs():
    x = T(np.float64(2.5))
    for dim in (None, 0, -1, (0,), ()):
        assert tf.sum(x, dim).item() == 2.5
        assert tf.sum(x, dim, keepdim=True).shape == ()
    assert tf.max(x, 0).values.item() == 2.5 and tf.max(x, 0).indices.item() == 0
    assert tf.argmax(x).item() == 0
    assert math.isnan(tf.var(x).item()) and tf.std(x, correction=0).item() == 0.0
    assert tf.softmax(x, 0).item() == 1.0 and tf.log_softmax(x, -1).item() == 0.0
    with pytest.raises(IndexError, match=r"sum: dim 1 is out of range for a tensor of 0 dims"):
        tf.sum(x, 1)


# ---- numerics -------------------------------------------------------------------------
def test_float32_sum_rounds_once():
    a = np.full(1 << 20, 0.1, np.float32)
    exact = math.fsum(a.astype(np.float64).tolist())
    assert tf.sum(T(a)).item() == float(np.float32(exact))
    assert tf.mean(T(a)).item() == float(np.float32(exact / a.size))


def test_float64_sum_is_pairwise():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 1 << 20)
    exact = math.fsum(a.tolist())
    assert abs(tf.sum(T(a)).item() - exact) <= 1e-14 * exact
    a = np.full(1 << 20, 0.1)
    assert abs(tf.sum(T(a)).item() - math.fsum(a.tolist())) <= 1e-14 * a.size * 0.1
    assert abs(tf.sum(T(a.reshape(1024, 1024)), 0).numpy() - 102.4).max() < 1e-12


def test_var_is_two_pass():
    rng = np.random.default_rng(2)
    a = 1e9 + rng.normal(size=5000)  # E[x^2] - E[x]^2 would lose every digit
    np.testing.assert_allclose(tf.var(T(a)).item(), np.var(a, ddof=1), rtol=1e-8)
    f = (1e4 + rng.normal(size=5000)).astype(np.float32)
    np.testing.assert_allclose(tf.std(T(f)).item(), np.std(f.astype(np.float64), ddof=1),
                               rtol=F32_RTOL)


def test_determinism_across_threads():
    rng = np.random.default_rng(3)
    inputs = [rng.normal(size=1 << 20).astype(np.float32), rng.normal(size=1 << 20),
              rng.normal(size=(1024, 1024))]
    calls = [lambda x: tf.sum(x), lambda x: tf.mean(x), lambda x: tf.var(x),
             lambda x: tf.norm(x), lambda x: tf.logsumexp(x, 0), lambda x: tf.argmax(x),
             lambda x: tf.prod(x), lambda x: tf.sum(x, -1),
             lambda x: tf.std(x, 0), lambda x: tf.softmax(x, 0), lambda x: tf.amax(x, 0)]
    old = tf.get_num_threads()
    try:
        for a in inputs:
            x = T(a)
            for call in calls:
                tf.set_num_threads(1)
                one = N(call(x))
                tf.set_num_threads(2)
                two = N(call(x))
                assert one.tobytes() == two.tobytes()
        t = T(inputs[2]).transpose(0, 1)
        tf.set_num_threads(1)
        one = N(tf.sum(t, (0, 1)))
        tf.set_num_threads(2)
        assert one.tobytes() == N(tf.sum(t, (0, 1))).tobytes()
    finally:
        tf.set_num_threads(old)


def test_large_reductions_match_numpy():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 50000))
    x = T(a)
    np.testing.assert_allclose(N(tf.sum(x, 1)), a.sum(1), rtol=F64_RTOL)
    np.testing.assert_allclose(N(tf.var(x, 1)), a.var(1, ddof=1), rtol=F64_RTOL)
    np.testing.assert_allclose(N(tf.norm(x, 2, 1)), np.linalg.norm(a, axis=1), rtol=F64_RTOL)
    np.testing.assert_allclose(N(tf.logsumexp(x, 1)), np_logsumexp(a), rtol=F64_RTOL)
    a[1, 40000] = 50.0
    a[1, 45000] = 50.0  # ties across blocks: the first wins
    r = tf.max(T(a), 1)
    assert N(r.indices).tolist() == list(np.argmax(a, 1))
    assert N(tf.argmin(T(a).T, 0)).tolist() == list(np.argmin(a, 1))


@pytest.mark.parametrize("shape,dims", [((600, 37), [0, 1, None]),
                                        ((40, 300, 20), [1, (0, 2), (0, 1)]),
                                        ((3, 9000), [0, 1])], ids=str)
def test_outer_and_blocked_reductions(shape, dims):
    """Reductions over outer dims run in tiles of neighbouring outputs and
    long ones in several blocks: both must agree with NumPy, NaN included."""
    rng = np.random.default_rng(6)
    a = rng.normal(size=shape)
    a.flat[rng.integers(0, a.size, 5)] = np.nan
    ints = rng.integers(-4, 5, size=shape)
    for dtype in FLOATS:
        v = a.astype(dtype)
        x = T(v)
        for dim in dims:
            for name, call, ref in FLOAT_CASES + EXTREME_CASES:
                if name == "prod":  # values near 1: no under/overflow
                    vals = (1 + 0.01 * np.nan_to_num(v)).astype(dtype)
                else:
                    vals = v
                what = f"{name} {dtype.__name__} {shape} dim={dim}"
                check_close(call(T(vals) if name == "prod" else x, dim, False),
                            reference(ref, vals.astype(np.float64), dim, False), dtype, what)
            if not isinstance(dim, tuple):
                exp = reference(lambda b: np.argmax(b, -1), v, dim, True)
                check_exact(tf.argmax(x, dim, True), exp, np.int64, f"argmax {what}")
        for d in range(len(shape)):
            r = tf.min(x, d)
            check_exact(r.indices, reference(lambda b: np.argmin(b, -1), v, d, False),
                        np.int64, f"min indices {shape} {d}")
            with np.errstate(all="ignore"):
                check_close(tf.softmax(x, d), np_softmax(v, d, False), dtype, f"softmax {d}")
    xi = T(ints)
    for dim in dims:
        check_exact(tf.sum(xi, dim), reference(lambda b: b.sum(-1), ints, dim, False),
                    np.int64, f"int sum {dim}")
        check_exact(tf.amin(xi, dim), reference(lambda b: b.min(-1), ints, dim, False),
                    np.int64, f"int amin {dim}")
        check_exact(tf.any(xi > 3, dim),
                    reference(lambda b: b.any(-1), ints > 3, dim, False), np.bool_, "any")


# ---- softmax ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (5,), (4, 7), (2, 3, 4)], ids=str)
def test_softmax_matches_numpy(dtype, shape):
    a = sample(shape, dtype, seed=5, lo=-10, hi=10)
    for layout, vals, x in layouts(a):
        for dim in range(-max(a.ndim, 1), max(a.ndim, 1)):
            d = dim if a.ndim else None
            for log, fn in ((False, tf.softmax), (True, tf.log_softmax)):
                what = f"{fn.__name__} {layout} {shape} dim={dim}"
                exp = np_softmax(vals, d, log) if a.ndim else np.asarray(0.0 if log else 1.0)
                check_close(fn(x, dim), exp, dtype, what)
            if a.size and a.ndim:
                sums = N(x.softmax(dim)).astype(np.float64).sum(axis=dim)
                np.testing.assert_allclose(sums, 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_softmax_stability_and_special_rows(dtype):
    inf = np.inf
    a = np.array([[1e4, -1e4, 1e4 - 1], [-1e4, -1e4 + 1, -1e4], [0.0, -inf, 1.0],
                  [-inf, -inf, -inf], [inf, 0.0, 1.0], [np.nan, 0.0, 1.0]], dtype)
    s, ls = N(tf.softmax(T(a), 1)), N(tf.log_softmax(T(a), 1))
    assert np.all(np.isfinite(s[:3])) and np.all(np.isnan(s[3:]))
    np.testing.assert_allclose(s[:3].sum(1), 1.0, rtol=1e-6)
    exp = np_softmax(a[:3], 1, False)
    np.testing.assert_allclose(s[:3], exp, rtol=TOL[np.dtype(dtype)][0], atol=1e-30)
    assert s[2, 1] == 0.0 and ls[2, 1] == -inf
    np.testing.assert_allclose(ls[:2], np_softmax(a[:2], 1, True), rtol=TOL[np.dtype(dtype)][0])
    assert np.all(np.isnan(ls[3:]))


def test_softmax_dtype_and_errors():
    x = T(np.arange(6, dtype=np.int64).reshape(2, 3))
    with pytest.raises(TypeError, match="softmax: expected a float32 or float64 tensor, got int64"):
        tf.softmax(x, 1)
    with pytest.raises(TypeError, match="log_softmax: expected a float32 or float64"):
        x.log_softmax(0)
    r = tf.softmax(x, 1, dtype=tf.float64)
    np.testing.assert_allclose(N(r), np_softmax(np.arange(6.0).reshape(2, 3), 1, False),
                               rtol=F64_RTOL)
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        tf.softmax(T(np.zeros((2, 3))), 2)


# ---- API and errors --------------------------------------------------------------------------
def test_api_forms():
    a = sample((3, 4), np.float64, seed=9)
    x = T(a)
    assert tf.sum(x, dtype=tf.float32).dtype is tf.float32
    assert tf.sum(T(a > 0)).item() == int((a > 0).sum())
    assert tf.mean(T(np.arange(4)), dtype=tf.float64).item() == 1.5
    assert tf.var(x, 1, False).numpy() == pytest.approx(a.var(1))  # legacy unbiased
    assert tf.var(x, False).item() == pytest.approx(a.var())
    assert tf.var(x, unbiased=True).item() == pytest.approx(a.var(ddof=1))
    assert tf.norm(x, "fro").item() == pytest.approx(np.linalg.norm(a))
    assert tf.norm(x, None, (0, 1)).item() == pytest.approx(np.linalg.norm(a))
    assert tf.amax(x, [0, 1]).item() == a.max()
    assert tf.argmax(x, keepdim=True).shape == (1, 1)
    assert tf.argmax(x, keepdim=True).item() == np.argmax(a)
    b = T(sample((3, 4), np.float64, seed=10))
    np.testing.assert_array_equal(N(tf.max(x, b)), np.maximum(a, N(b)))
    np.testing.assert_array_equal(N(x.min(b)), np.minimum(a, N(b)))
    values, indices = x.max(dim=-1, keepdim=True)
    assert values.shape == (3, 1) and indices.dtype is tf.int64
    for name in tf._C.REDUCE_OPS + ["softmax", "log_softmax"]:
        assert callable(getattr(tf, name)) and callable(getattr(tf.Tensor, name))


def test_error_messages():
    x = T(np.zeros((2, 3)))
    i = T(np.zeros((2, 3), np.int64))
    for op in ("mean", "var", "std", "logsumexp", "norm"):
        with pytest.raises(TypeError, match=f"{op}: expected a float32 or float64 tensor, "
                                            "got int64"):
            getattr(tf, op)(i, 0) if op == "logsumexp" else getattr(tf, op)(i)
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range for a tensor of 2 "
                                         r"dims \(expected a dim in \[-2, 1\]\)"):
        tf.sum(x, 2)
    with pytest.raises(IndexError, match="amax: dim -3 is out of range"):
        tf.amax(x, (0, -3))
    with pytest.raises(IndexError, match="mean: dim 1 appears more than once"):
        tf.mean(x, (1, -1))
    with pytest.raises(TypeError, match="max: dim must be an int"):
        tf.max(x, (0, 1))
    with pytest.raises(TypeError, match="sum: dim must be an int or a tuple of ints"):
        tf.sum(x, "0")
    with pytest.raises(ValueError, match="norm: p must be >= 0"):
        tf.norm(x, -1)
    with pytest.raises(ValueError, match="norm: p='nuc' is not supported"):
        tf.norm(x, "nuc")
    with pytest.raises(TypeError, match="var: pass either unbiased or correction"):
        tf.var(x, 0, unbiased=True, correction=1)
    with pytest.raises(TypeError, match="sum: expected a Tensor"):
        tf.sum([1, 2])
    with pytest.raises(TypeError, match="logsumexp: expected a float32"):
        tf.logsumexp(T(np.array([True])), 0)


def test_c_indices_need_one_dim():
    from ctypes import byref, c_void_p
    x = T(np.zeros((2, 3)))
    v, i = c_void_p(), c_void_p()
    status = tf._C.tf_reduce(tf.reduction.R["max"], x._h, 3, False, 0.0, byref(v), byref(i))
    assert status != 0
    assert "max: indices need exactly one reduced dim" in tf._C.tf_last_error().decode()


def test_no_leaks():
    before = tf._C.live_tensors()
    x = T(sample((4, 5), np.float64))
    for _ in range(3):
        tf.sum(x, 1), tf.max(x, 0), tf.var(x), tf.softmax(x, 1), tf.norm(x, 3)
        for bad in (lambda: tf.amax(T(np.zeros((0,)))), lambda: tf.sum(x, 5),
                    lambda: tf.mean(T(np.zeros(2, np.int64)))):
            with pytest.raises((IndexError, TypeError)):
                bad()
    del x
    assert tf._C.live_tensors() == before


# ---- hypothesis ----------------------------------------------------------------------------
@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=4)))
    nd = len(shape)
    if nd == 0:
        dim = draw(st.sampled_from([None, 0, -1]))
    else:
        dims = draw(st.lists(st.integers(-nd, nd - 1), unique_by=lambda d: d % nd,
                             max_size=nd))
        dim = draw(st.sampled_from([None, tuple(dims)] + ([dims[0]] if dims else [])))
    return shape, dim, draw(st.booleans()), draw(st.sampled_from(FLOATS))


@HYP
@given(shape_and_dims(), st.integers(0, 2 ** 31))
def test_hypothesis_sum_mean_amax_var(args, seed):
    shape, dim, keepdim, dtype = args
    a = sample(shape, dtype, seed=seed)
    x = T(a)
    a64 = a.astype(np.float64)
    check_close(tf.sum(x, dim, keepdim), reference(lambda b: b.sum(-1), a64, dim, keepdim),
                dtype, "sum")
    check_close(tf.mean(x, dim, keepdim), reference(lambda b: b.mean(-1), a64, dim, keepdim),
                dtype, "mean")
    check_close(tf.var(x, dim, keepdim=keepdim),
                reference(lambda b: b.var(-1, ddof=1), a64, dim, keepdim), dtype, "var")
    amax_dim = () if dim is None else dim
    if any(a.shape[d] == 0 for d in axes_of(dim, a.ndim)):
        with pytest.raises(IndexError, match="amax: cannot reduce over an empty"):
            tf.amax(x, amax_dim, keepdim)
    else:
        check_close(tf.amax(x, amax_dim, keepdim),
                    reference(lambda b: b.max(-1), a64, dim, keepdim), dtype, "amax")
