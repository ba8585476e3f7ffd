"""The verification harness (verify/) at quick depth, so `make test`
enforces it: every exported op has an OpInfo entry, every check passes
(known tinyfin failures are XFAIL, listed with a reproduction in their
entries), and the harness itself computes ULP errors correctly."""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinyfin as tf

from verify import opdb
from verify.__main__ import main, run
from verify.ulp import real_ulp_error, rounded, ulp_distance


def test_every_exported_op_has_an_entry():
    missing = opdb.coverage()
    assert missing == {"functions": [], "methods": [], "c_ops": []}, \
        f"ops without an OpInfo entry in verify/ops_*.py: {missing}"


def test_entries_are_well_formed():
    for e in opdb.all_ops():
        assert e.ref is not None, e.id
        assert e.samples is not None, e.id
        if e.mp is not None:
            assert e.ulp_bound.get("float32", 9) <= 1.0, \
                f"{e.id}: float32 bound {e.ulp_bound} looser than 1 ULP"
            if e.name != "gelu":  # the documented ill-conditioned exception
                assert e.ulp_bound.get("float64", 9) <= 2.0, e.id


def test_a_backend_can_declare_its_own_bounds():
    import dataclasses
    exp = next(e for e in opdb.all_ops() if e.id == "exp")
    gpu = dataclasses.replace(exp, tol={**exp.tol, "cuda:float32": opdb.Tol(ulp=4)},
                              ulp_bound={**exp.ulp_bound, "cuda:float32": 2.0})
    assert gpu.tol_for("float32", "cuda").ulp == 4 and gpu.bound_for("float32", "cuda") == 2.0
    assert gpu.tol_for("float32").ulp == exp.tol["float32"].ulp
    assert gpu.bound_for("float32") == exp.ulp_bound["float32"]
    assert gpu.bound_for("float64", "cuda") == exp.ulp_bound["float64"]


def test_real_ulp_error():
    one = np.float32(1.0)
    up = np.nextafter(one, np.float32(2))
    # exact value halfway between 1 and its successor: both neighbours 0.5 ULP
    mid = (1.0 + float(up)) / 2
    err = real_ulp_error(np.array([one, up]), np.array([mid, mid]), np.zeros(2), np.float32)
    assert np.allclose(err, 0.5)
    # the tie goes to the side of lo
    assert rounded(np.array([mid]), np.array([1e-30]), np.float32)[0] == up
    assert rounded(np.array([mid]), np.array([-1e-30]), np.float32)[0] == one
    # a zero of the wrong sign, and NaN on one side only, are infinitely wrong
    e = real_ulp_error(np.array([0.0, np.nan, np.inf]), np.array([-0.0, 1.0, np.inf]),
                       np.zeros(3), np.float64)
    assert e[0] == np.inf and e[1] == np.inf and e[2] == 0
    assert ulp_distance(np.array([1.0]), np.array([np.nextafter(1.0, 2.0)]))[0] == 1


def test_a_planted_error_is_caught():
    """A wrong reference (here: exp off by one ULP everywhere) fails the
    accuracy check, named in the result."""
    import dataclasses
    exp = next(e for e in opdb.all_ops() if e.id == "exp")
    wrong = dataclasses.replace(exp, call=lambda x: exp.call(x) * (1 + 2 ** -22))
    from verify.checks.accuracy import check_accuracy
    r = check_accuracy(wrong, "float32", "cpu", "quick", np.random.default_rng(0))
    assert r.status == "FAIL" and r.max_ulp > 1.0
    assert "exp float32" in r.failures[0]


def test_quick_depth_passes(tmp_path):
    # this pytest session runs the suites (d, e, f) itself
    results = run(depth="quick", out=str(tmp_path), progress=False, suites=False)
    bad = [f"{r.check} {r.op} {r.dtype}: {r.failures[:2]}" for r in results
           if r.status == "FAIL"]
    assert not bad, "\n".join(bad)
    checks = {r.check for r in results}
    assert {"forward", "errors", "gradcheck", "accuracy", "grad-accuracy", "numpy-vectors",
            "higham", "paths", "subgradient"} <= checks
    data = json.loads((tmp_path / "report.json").read_text())
    assert len(data["results"]) == len(results)
    assert (tmp_path / "index.html").exists()


def test_cli_options_and_exit_status(tmp_path, capsys):
    assert main(["--ops", "exp,log", "--dtypes", "float32", "--depth", "quick",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "exp" in out and "log" in out and "float64" not in out.split("checks:")[0].split("\n", 1)[1]
    with pytest.raises(SystemExit):
        main(["--ops", "softmx", "--depth", "quick", "--out", str(tmp_path)])
    assert "no entry for 'softmx' (did you mean softmax" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--ops", "exp", "--dtypes", "float16", "--out", str(tmp_path)])
    assert "unknown dtype(s) ['float16']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--backends", "tpu", "--ops", "exp", "--depth", "quick", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["--ops", "exp", "--checks", "fwd", "--out", str(tmp_path)])
    assert "unknown check(s) ['fwd']" in capsys.readouterr().err
    # --checks runs those checks only (and no suite)
    assert main(["--ops", "sum,relu", "--checks", "paths,subgradient", "--depth", "quick",
                 "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["results"]
    assert {r["check"] for r in rows} == {"paths", "subgradient"}


def test_suites_are_reported_per_op_and_dtype():
    """The property, stability and determinism suites, run by verify, give
    one row per suite x op x dtype, each over at least one test."""
    from verify.checks.suites import run_suites
    rows = run_suites(["logsumexp"], ["float64"], "quick")
    got = {(r.check, r.dtype) for r in rows}
    assert {("property", "-"), ("stability", "float64"), ("determinism", "float64")} <= got, got
    assert all(r.op == "logsumexp" and r.status == "pass" and r.n > 0 for r in rows), rows
    assert not any(r.dtype == "float32" for r in rows)


def test_exhaustive_sweep_measures_and_catches():
    """The 2^32 sweep's machinery on a slice of the bit patterns (2^20 inputs
    around 1.0, plus the specials at the top of the positive range): exp
    measures within its bound, an exp biased by 1 ULP fails, named."""
    from verify.checks.exhaustive import check_exhaustive
    exp = next(e for e in opdb.all_ops() if e.id == "exp")
    one = int(np.float32(1.0).view(np.uint32))
    for bits in [(one - (1 << 19), one + (1 << 19)), (0x7F7FFF00, 0x80000100)]:
        r = check_exhaustive(exp, "cpu", bits=bits)
        assert r.status == "pass" and r.n == bits[1] - bits[0], r.failures
        assert 0.25 < r.max_ulp <= exp.ulp_bound["float32"] or bits[0] > one
    up = lambda x: tf.from_numpy(np.nextafter(exp.call(x).numpy(), np.float32(np.inf)))  # noqa: E731
    r = check_exhaustive(exp, "cpu", bits=(one, one + (1 << 16)), call=up)
    assert r.status == "FAIL" and r.max_ulp > 1.0 and "exp float32" in r.failures[0]


def test_random_projection_separates_right_and_wrong_gradients():
    """v^T J u against the central difference: within the allowance for
    tanh on 40k elements; far outside it for a tanh whose backward is off
    by 1%; and a draw whose step straddles a jump (floor on 40k elements,
    every 1e-6-wide band around an integer) is recognised as such."""
    from verify.checks.gradients import project
    rng = np.random.default_rng(3)
    x = tf.tensor(rng.uniform(-2, 2, (200, 200))).requires_grad_()
    pr = project(tf.tanh, [x], rng)
    assert pr.smooth and pr.error <= pr.allowed and pr.error <= 1e-6 * abs(pr.numeric)

    def wrong_tanh(t):   # forward tanh, backward 1.01 * (1 - tanh^2)
        y = tf.tanh(t)
        return y + 0.01 * (y - y.detach())
    pr = project(wrong_tanh, [x], rng)
    assert pr.smooth and pr.error > 5 * pr.allowed and abs(pr.analytic / pr.numeric - 1.01) < 1e-4  # RTOL is 1e-3

    near_jumps = tf.tensor(np.round(rng.uniform(-50, 50, (200, 200))) + 1e-7).requires_grad_()
    assert not project(tf.floor, [near_jumps], rng).smooth
