"""verify/'s third-party-vector check (NumPy's umath validation files) and
its backend checks (parity, the Higham bound of sums and dot products): they
pass on tinyfin, they fail on planted errors, and the exact arithmetic they
rest on is exact (checked against fractions.Fraction and NumPy's casts)."""
from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import tinyfin as tf
from verify import opdb
from verify.checks import parity, validation_sets as vs
from verify.checks.common import tensor_of
from verify.opdb import Tol

needs_files = pytest.mark.skipif(vs.data_dir() is None,
                                 reason="this numpy ships no umath-validation-set files")


def _entry(name):
    return next(e for e in opdb.all_ops() if e.id == name)


def _shift_ulps(t, k):
    """t's finite non-zero values moved k ULPs away from zero (staying finite)."""
    v = np.array(t.numpy(), copy=True)
    out = v.copy()
    for _ in range(k):
        out = np.nextafter(out, np.copysign(np.inf, out).astype(v.dtype))
    keep = np.isfinite(out) & np.isfinite(v) & (v != 0)
    return tensor_of(np.where(keep, out, v).astype(v.dtype))


# ---- NumPy's validation vectors --------------------------------------------------
@needs_files
def test_every_numpy_file_of_a_tinyfin_function_is_checked():
    from tinyfin._exports import FUNCTIONS
    exported = set(FUNCTIONS)
    covered = {e.name for e in vs.validation_ops(opdb.all_ops())}
    numpy_to_tinyfin = {v: k for k, v in vs.NUMPY_NAME.items()}
    for stem in vs.available_files():
        name = numpy_to_tinyfin.get(stem, stem)
        if name in exported or stem in exported:
            assert name in covered, f"numpy's {stem} vectors exist but tinyfin's {name} is not checked"
    assert {"exp", "log", "sin", "tanh"} <= covered


@needs_files
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_vectors_pass_on_tinyfin(dtype):
    for op in vs.validation_ops(opdb.all_ops()):
        r = vs.check_validation_set(op, dtype, "cpu")
        assert r.status == "pass", r.failures
        path = vs.file_for(op)
        with open(path) as f:
            rows = sum(1 for line in f if line.startswith(f"np.{dtype},"))
        assert r.n == rows > 0
        assert r.max_ulp <= r.bound == (1.0 if dtype == "float32" else op.ulp_bound["float64"])
        assert 0 <= r.mean_ulp <= r.max_ulp
        assert r.extra["numpy_max_ulp"] >= 0 and r.extra["numpy_tol"] >= 1


@needs_files
def test_a_two_ulp_bias_fails_float32_and_one_ulp_passes():
    exp = _entry("exp")
    two = dataclasses.replace(exp, call=lambda x: _shift_ulps(tf.exp(x), 2))
    r = vs.check_validation_set(two, "float32", "cpu")
    assert r.status == "FAIL" and r.max_ulp == 2.0
    assert "2 ULP > 1" in r.failures[0]
    one = dataclasses.replace(exp, call=lambda x: _shift_ulps(tf.exp(x), 1))
    r = vs.check_validation_set(one, "float32", "cpu")
    # tinyfin's exp is correctly rounded on every row, so shifted by one ULP
    # it is exactly one ULP off wherever the value is finite and non-zero
    assert r.status == "pass" and r.max_ulp == 1.0
    three = dataclasses.replace(exp, call=lambda x: _shift_ulps(tf.exp(x), 3))
    assert vs.check_validation_set(three, "float64", "cpu").status == "FAIL"


@needs_files
def test_special_values_must_match_exactly():
    log = _entry("log")
    # NaN (log of a negative number) turned into 0, -inf (log 0) into -max
    wrong = dataclasses.replace(log, call=lambda x: tf.nan_to_num(tf.log(x), nan=0.0))
    r = vs.check_validation_set(wrong, "float32", "cpu")
    assert r.status == "FAIL" and r.max_ulp == math.inf


def test_distances_treat_special_values_exactly():
    f = np.float32
    got = np.array([np.nan, np.inf, np.finfo(f).max, -0.0, 0.0, 1.0], f)
    ref = np.array([np.nan, np.inf, np.inf, 0.0, 0.0, np.nextafter(f(1), f(2))], f)
    assert vs.distances(got, ref).tolist() == [0.0, 0.0, math.inf, math.inf, 0.0, 1.0]


def test_round_to_matches_numpys_correctly_rounded_casts():
    rng = np.random.default_rng(1)
    f32 = np.finfo(np.float32)
    # normal, subnormal, overflowing and exactly halfway float64 values
    mids = (np.float32(1.5).astype(np.float64) + np.spacing(np.float32(1.5)) / 2,
            float(f32.smallest_subnormal) * 2.5)
    values = np.concatenate([rng.standard_normal(200) * np.exp2(rng.integers(-160, 130, 200)),
                             mids, [float(f32.max) * (1 + 2.0 ** -25), -float(f32.max) * 1.5]])
    for v in values:
        with np.errstate(over="ignore"):
            want = np.float32(v)
        got = vs.round_to(mpmath.mpf(float(v)), "float32")
        assert got == float(want) and math.copysign(1, got) == math.copysign(1, float(want)), v
    # float64: a value between two subnormals, nearer the upper one
    tiny = 5e-324
    with mpmath.workprec(200):
        assert vs.round_to(mpmath.mpf(tiny) * mpmath.mpf("2.6"), "float64") == 3 * tiny


def test_audit_replaces_exactly_the_wrong_rows():
    exp = _entry("exp")
    x = np.linspace(-5, 5, 41).astype(np.float32)
    y = np.exp(x.astype(np.float64)).astype(np.float32)   # correctly rounded but for rare double roundings
    ref0, errata0 = vs.audit(exp, x, y, "float32")
    y_bad = ref0.copy()
    y_bad[7] = np.nextafter(y_bad[7], np.float32(np.inf))
    ref, errata = vs.audit(exp, x, y_bad, "float32")
    assert [e["x"] for e in errata] == [float(x[7])] and errata[0]["file_off_by_ulp"] == 1.0
    assert np.array_equal(ref, ref0)


def test_ops_without_a_file_are_skipped():
    r = vs.check_validation_set(_entry("sqrt"), "float32", "cpu")
    assert r.status == "skip" and r.extra["reason"]
    r = vs.check_validation_set(_entry("exp"), "int64", "cpu")
    assert r.status == "skip" and "float32 and float64" in r.extra["reason"]


# ---- the Higham bound ---------------------------------------------------------------
def test_two_product_and_exact_errors_are_exact():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(50) * np.exp2(rng.integers(-20, 20, 50))
    b = rng.standard_normal(50) * np.exp2(rng.integers(-20, 20, 50))
    p, e = parity.two_product(a, b)
    for i in range(50):
        assert Fraction(p[i]) + Fraction(e[i]) == Fraction(a[i]) * Fraction(b[i])
    c = np.float64(np.dot(a, b))
    exact = sum(Fraction(x) * Fraction(y) for x, y in zip(a, b))
    err = parity.exact_errors(np.array([c]), a[None], b[None])[0]
    assert err == float(Fraction(c) - exact)
    # a mean: (computed - exact sum / n), with the n * computed product split too
    m = np.float64(np.mean(a))
    err = parity.exact_errors(np.array([m]), a[None], None, divisor=50)[0]
    want = Fraction(m) - sum(Fraction(x) for x in a) / 50
    assert abs(err - float(want)) <= 2.0 ** -50 * abs(float(want))
    assert parity.gamma(3, 2.0 ** -24) == 3 * 2.0 ** -24 / (1 - 3 * 2.0 ** -24)


@pytest.mark.parametrize("name", ["sum", "mean", "matmul", "mm", "bmm", "mv", "dot"])
def test_higham_bound_holds_for_tinyfin(name):
    op = _entry(name)
    for dtype in ("float32", "float64"):
        r = parity.check_higham(op, dtype, "cpu", np.random.default_rng(0), "quick")
        assert r.status == "pass", r.failures
        assert r.n > 0 and r.extra["cases"] > 0
        # a rounding error happened somewhere, and stayed within the bound
        assert 0 < r.extra["worst_bound_ratio"] <= 1.0
        assert r.max_ulp is None


def test_higham_catches_a_sum_that_drops_a_term():
    def drop_first(x, dim=None):
        d = -1 if dim is None else dim
        n = x.shape[d]
        rest = x.narrow(d, 1, n - 1)
        return tf.sum(rest) if dim is None else tf.sum(rest, dim=dim)
    wrong = dataclasses.replace(_entry("sum"), call=drop_first)
    r = parity.check_higham(wrong, "float32", "cpu", np.random.default_rng(0), "quick")
    assert r.status == "FAIL" and r.extra["worst_bound_ratio"] > 100
    assert "x the bound gamma_" in r.failures[0]


def test_higham_catches_a_half_precision_matmul():
    def f16_matmul(a, b):
        half = lambda t: t.numpy().astype(np.float16).astype(np.float32)  # noqa: E731
        return tensor_of(np.asarray(half(a) @ half(b), np.float32))
    wrong = dataclasses.replace(_entry("mm"), call=f16_matmul)
    r = parity.check_higham(wrong, "float32", "cpu", np.random.default_rng(0), "quick")
    assert r.status == "FAIL" and r.extra["worst_bound_ratio"] > 10


def test_higham_skips_ops_without_forms_and_integers():
    assert parity.check_higham(_entry("prod"), "float32", "cpu", np.random.default_rng(0)).status == "skip"
    assert parity.check_higham(_entry("sum"), "int64", "cpu", np.random.default_rng(0)).status == "skip"


# ---- backend parity ---------------------------------------------------------------
def test_parity_on_the_reference_backend_is_a_skip():
    r = parity.check_parity(_entry("exp"), "float32", "cpu", np.random.default_rng(0))
    assert r.status == "skip" and r.extra["reason"] == "reference backend"


def test_a_backend_without_an_adapter_fails_loudly():
    r = parity.check_parity(_entry("exp"), "float32", "not-plugged-in", np.random.default_rng(0))
    assert r.status == "FAIL" and "no adapter" in r.failures[0]


def test_compare_outputs_within_the_declared_tolerance():
    f = np.float32
    ref = np.array([1.0, 2.0, np.inf, np.nan], f)
    one = np.array([np.nextafter(f(1), f(2)), 2.0, np.inf, np.nan], f)
    two = np.array([np.nextafter(one[0], f(2)), 2.0, np.inf, np.nan], f)
    assert parity.compare_outputs(one, ref, Tol(ulp=1), "t") == ([], 1.0)
    fails, worst = parity.compare_outputs(two, ref, Tol(ulp=1), "t")
    assert worst == 2.0 and "beyond 1 ULP" in fails[0]
    nan_lost = np.array([1.0, 2.0, np.inf, 0.0], f)
    assert parity.compare_outputs(nan_lost, ref, Tol(ulp=1), "t")[0]
    r = np.array([100.0, 1.0])
    assert not parity.compare_outputs(r + [0.0, 1e-3], r, Tol(rtol=1e-5, atol=0), "t")[0]
    assert parity.compare_outputs(r + [0.0, 2e-3], r, Tol(rtol=1e-5, atol=0), "t")[0]
    assert parity.compare_outputs(np.array([1, 3]), np.array([1, 2]), Tol(), "t")[0]


def test_check_parity_compares_every_sample(monkeypatch):
    """A stand-in for a second backend (test only): the reference's results,
    shifted by k ULPs. exp's declared float32 tolerance is 1 ULP."""
    reference = parity.run_on

    def shifted(k):
        def run_on(backend, fn, tensors, *args, **kwargs):
            outs = reference("cpu", fn, tensors, *args, **kwargs)
            if backend == "cpu":
                return outs
            return [_shift_ulps(tensor_of(o), k).numpy() for o in outs]
        return run_on

    exp = _entry("exp")
    monkeypatch.setattr(parity, "run_on", shifted(1))
    r = parity.check_parity(exp, "float32", "stand-in", np.random.default_rng(0))
    assert r.status == "pass" and r.n == len(list(exp.samples("float32", np.random.default_rng(0))))
    assert r.max_ulp == 1.0
    monkeypatch.setattr(parity, "run_on", shifted(2))
    r = parity.check_parity(exp, "float32", "stand-in", np.random.default_rng(0))
    assert r.status == "FAIL" and r.max_ulp == 2.0


# ---- the accuracy check's worst-case search ------------------------------------
def _excess(op, ulps):
    """op with ulps(x) ULPs of error added to its (correctly rounded) float64
    result: a planted fault confined to the inputs where ulps(x) > 0."""
    def call(t):
        x = np.asarray(t.numpy(), np.float64)
        y = np.array(op.call(t).numpy(), copy=True)
        k = ulps(x)
        with np.errstate(all="ignore"):
            y = np.where(k > 0, y + k * np.spacing(np.abs(y)), y)
        return tensor_of(y)
    return call


def _accuracy(op, search, points=20_000):
    from verify.checks.accuracy import check_accuracy
    return check_accuracy(op, "float64", "cpu", "quick", np.random.default_rng(0),
                          points=points, search=search)


def test_worst_case_search_finds_a_window_the_sweep_misses():
    """A window of excess error shaped like the one float64 sigmoid had near
    x = -36.74 (a few percent of a binade wide, rising to its peak; here 3
    ULP at x = 36.32 on top of exp, above 1 ULP over 2.7% of [32, 64)): the
    stratified sweep puts ~3 points in that binade and misses it, the
    search climbs to the peak and reports it. (Over seeds 0-9 and a window
    at 50.7 instead, the search found it every time.)"""
    exp = _entry("exp")
    c, w = 36.32, 0.64
    planted = dataclasses.replace(exp, call=_excess(
        exp, lambda x: np.maximum(0.0, 3.0 * (1 - np.minimum(np.abs(x - c), w) / w))))
    plain = _accuracy(planted, search=False)
    assert plain.status == "pass" and plain.max_ulp < 1.0
    assert "search" not in plain.extra or plain.extra["search"]["search_points"] == 0
    r = _accuracy(planted, search=True)
    assert r.status == "FAIL" and "exp float64" in r.failures[0]
    worst = r.extra["worst"]
    assert abs(worst["x"] - c) < w / 8 and 2.5 < worst["ulp"] == r.max_ulp < 3.6
    assert r.extra["search"]["sweep_max_ulp"] < 1.0
    assert r.extra["search"]["found_by"] in ("cells", "zoom", "ulp")
    # the plot carries the worst point
    plot = dict(zip(r.extra["plot"]["x"], r.extra["plot"]["err"]))
    assert plot[worst["x"]] == worst["ulp"]
    # the exact value at that x is exp's, from mpmath (not from the check)
    with mpmath.workprec(128):
        exact = mpmath.exp(mpmath.mpf(worst["x"]))
        got = planted.call(tensor_of(np.array([worst["x"]]))).numpy()[0]
        assert float(abs(mpmath.mpf(got) - exact) / np.spacing(float(exact))) == \
            pytest.approx(worst["ulp"], rel=1e-6)


def test_worst_case_search_probes_the_switch_points():
    """A formula switched a few ULPs too late (an off-by-some threshold): 3
    ULP wrong on the 40 floats above a declared switch point only, which
    neither the sweep nor the binade refinement can hit by chance."""
    exp = _entry("exp")
    s = 3.0
    top = np.array([s]).view(np.int64)[0] + 40
    planted = dataclasses.replace(exp, switch_points=(s,), call=_excess(
        exp, lambda x: np.where((x >= s) & (x.view(np.int64) < top), 3.0, 0.0)))
    assert _accuracy(planted, search=False).status == "pass"
    r = _accuracy(planted, search=True)
    assert r.status == "FAIL" and r.extra["search"]["found_by"] in ("switch", "ulp")
    assert s <= r.extra["worst"]["x"] <= s * (1 + 64 * 2.0 ** -52)
    assert 2.5 < r.extra["worst"]["ulp"] < 3.6
    # and without the switch point the search does not find it
    blind = _accuracy(dataclasses.replace(planted, switch_points=()), search=True)
    assert blind.status == "pass"


def test_every_accuracy_result_carries_its_worst_point():
    """The report's contract: extra["worst"] = {"x", "ulp"} over sweep and
    search, the worst point among the plotted ones."""
    from verify.checks.accuracy import check_accuracy
    for name, dtype in [("sigmoid", "float64"), ("log", "float32"), ("abs", "float64")]:
        r = check_accuracy(_entry(name), dtype, "cpu", "quick", np.random.default_rng(1))
        w = r.extra["worst"]
        assert set(w) == {"x", "ulp"} and isinstance(w["x"], float)
        assert w["ulp"] == r.max_ulp
        assert w["x"] in r.extra["plot"]["x"]
