"""verify/'s checks of the paths small samples miss: `paths` (the blocked,
tiled and parallel code paths on 1 and 2 threads, against NumPy within an
error bound), `subgradient` (the conventions at kinks and ties, as values),
the option samples (out=, dtype=) and the option coverage of every exported
function. Each passes on tinyfin and fails on a planted fault, named."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tinyfin as tf
from verify import bounds, opdb, options
from verify.checks.forward import check_forward
from verify.checks.paths import check_paths
from verify.checks.subgradients import check_subgradients


def _entry(name):
    return next(e for e in opdb.all_ops() if e.id == name)


def _rng():
    return np.random.default_rng(0)


# ---- paths ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["matmul", "sum", "argmax", "exp", "index_select"])
def test_paths_pass_on_tinyfin(name):
    op = _entry(name)
    for dtype in op.dtypes:
        r = check_paths(op, dtype, "cpu", _rng())
        assert r.status == "pass" and r.n > 0, r.failures


def test_paths_see_a_fault_beyond_the_packing_panel():
    """Column 512 on (past matmul.c's first 512-wide panel of B) off by 1e-3
    relative: the small forward samples never get there, the bound does (of
    the forward samples only those made for the backends' kernels, n = 530,
    reach it)."""
    def wrong(a, b):
        c = tf.matmul(a, b).numpy().copy()
        if c.ndim:
            c[..., 512:] *= 1 + 1e-3
        return tf.tensor(c)
    op = dataclasses.replace(_entry("matmul"), call=wrong)
    fwd = check_forward(op, "float32", "cpu", _rng())
    assert fwd.failures and all("(600, 530)" in f for f in fwd.failures), fwd.failures
    r = check_paths(op, "float32", "cpu", _rng())
    assert r.status == "FAIL" and "beyond the error bound" in r.failures[0], r.failures


def test_paths_see_a_result_that_depends_on_the_thread_count():
    def wrong(x, **k):
        y = tf.sum(x, **k)
        return y + (tf.get_num_threads() - 1) * 1e-3
    op = dataclasses.replace(_entry("sum"), call=wrong)
    r = check_paths(op, "float64", "cpu", _rng())
    assert r.status == "FAIL"
    assert any("differs between 1 and 2 threads" in f for f in r.failures), r.failures


def test_paths_restore_the_thread_count():
    before = tf.get_num_threads()
    check_paths(_entry("exp"), "float32", "cpu", _rng())
    assert tf.get_num_threads() == before


def test_reduction_bound_sees_one_dropped_element_of_a_long_float32_sum():
    """float32 data is summed in double (reduce.c): the bound is ~u32 |r|,
    so a sum missing one of 36000 terms fails it; in float32's own gamma_n
    it would not."""
    rng = _rng()
    x = rng.uniform(-4, 4, 36000).astype(np.float32).astype(np.float64)
    allowed = bounds.reduction_bound("sum")("float32", x)[0]
    exact = np.sum(x)
    assert abs(np.float32(exact) - exact) <= allowed
    assert abs(np.sum(x[1:]) - exact) > allowed
    assert abs(np.sum(x[1:]) - exact) < bounds.gamma(x.size, 2.0 ** -24) * np.sum(np.abs(x))


def test_matmul_bound_is_gamma_k_times_abs_products():
    a, b = np.array([[1.0, -2.0]]), np.array([[3.0], [4.0]])
    got = bounds.matmul_bound("float32", a, b)[0]
    want = (bounds.gamma(2, 2.0 ** -24) + bounds.gamma(2, 2.0 ** -53)) * 11.0
    assert got.shape == (1, 1) and got[0, 0] == want


# ---- subgradients ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["relu", "abs", "maximum", "amax", "max", "clamp", "norm",
                                  "norm(p=inf)", "std", "prod", "pow"])
def test_subgradients_pass_on_tinyfin(name):
    for dtype in ("float32", "float64"):
        r = check_subgradients(_entry(name), dtype, "cpu")
        assert r.status == "pass" and r.n > 0, r.failures


def test_subgradient_sees_relu_with_the_gradient_1_at_0():
    """relu written as where(x >= 0, x, relu(x)): the same values, but the
    gradient at 0 is 1."""
    def relu(x, out=None):
        y = tf.where(x >= 0, x + 0.0, tf.relu(x))
        return y if out is None else out.copy_(y)
    op = dataclasses.replace(_entry("relu"), call=relu)
    assert check_forward(op, "float64", "cpu", _rng()).status == "pass"
    r = check_subgradients(op, "float64", "cpu")
    assert r.status == "FAIL" and "relu float64 [at 0 and -0: 0]" in r.failures[0], r.failures


def test_subgradient_sees_a_tie_given_to_the_last_extreme():
    def last_wins(x, dim, keepdim=False):   # argmax of the reversed slice
        flipped = tf.flip(x, (dim,))
        v, i = tf.max(flipped, dim, keepdim)
        return v, x.shape[dim] - 1 - i
    op = dataclasses.replace(_entry("max"), call=last_wins)
    r = check_subgradients(op, "float64", "cpu")
    assert r.status == "FAIL" and "ties along dim 1" in r.failures[0], r.failures


# ---- option samples -----------------------------------------------------------------------
def test_forward_requires_the_result_in_the_buffer_given_as_out():
    add = _entry("add")
    ignores = dataclasses.replace(add, call=lambda a, b, out=None: tf.add(a, b))
    r = check_forward(ignores, "float32", "cpu", _rng())
    assert r.status == "FAIL" and any("[out=]" in f for f in r.failures), r.failures
    untouched = dataclasses.replace(add, call=lambda a, b, out=None: tf.add(a, b) if out is None else out)
    r = check_forward(untouched, "float32", "cpu", _rng())
    assert r.status == "FAIL" and any("[out=]" in f for f in r.failures), r.failures


def test_forward_requires_the_dtype_asked_for():
    def no_dtype(x, *a, dtype=None, **k):
        return tf.sum(x, *a, **k)
    op = dataclasses.replace(_entry("sum"), call=no_dtype)
    r = check_forward(op, "int64", "cpu", _rng())
    assert r.status == "FAIL" and any("result dtype int64, expected float64" in f
                                      for f in r.failures), r.failures


def test_tensor_from_python_data_is_compared_in_the_dtype_numpy_builds():
    """Python ints sent through float32 (an int list inferred as float32, a
    big int rounded): caught on the int64 and float64 rows."""
    def via_float32(data, dtype=None, **k):
        arr = np.array(data)
        with np.errstate(over="ignore"):
            arr = arr.astype(np.float32) if arr.dtype.kind in "fi" else arr
        return tf.tensor(arr if dtype is None else arr.astype(dtype.numpy), **k)
    op = dataclasses.replace(_entry("tensor"), call=via_float32)
    for dtype, message in [("int64", "result dtype float32, expected int64"),
                           ("float64", "elements beyond 0 ULP")]:
        r = check_forward(op, dtype, "cpu", _rng())
        assert any(message in f for f in r.failures), r.failures


# ---- option coverage -------------------------------------------------------------------------
def test_every_option_of_every_function_is_exercised():
    missing = options.missing()
    assert missing == {"parameters": [], "values": []}, \
        f"options no sample of verify/ops_*.py exercises: {missing}"


def test_an_option_no_sample_sets_is_reported(monkeypatch):
    pad = _entry("pad")
    constant_only = dataclasses.replace(pad, samples=lambda dt, rng: [
        s for s in pad.samples(dt, rng) if s.kwargs.get("mode", "constant") == "constant"
        and "value" not in s.kwargs])
    monkeypatch.setattr(opdb, "all_ops", lambda: [constant_only])
    missing = options.missing()
    assert "pad(value)" in missing["parameters"]
    assert {"pad(mode='reflect')", "pad(mode='replicate')"} <= set(missing["values"])
