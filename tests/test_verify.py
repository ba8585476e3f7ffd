"""The verification harness (verify/) at quick depth, so `make test`
enforces it: every exported op has an OpInfo entry, every check passes
(known tinyfin failures are XFAIL, listed with a reproduction in their
entries), and the harness itself computes ULP errors correctly."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tinyfin as tf

from verify import backends, opdb
from verify.__main__ import main, run
from verify.ulp import real_ulp_error, rounded, ulp_distance


def test_every_exported_op_has_an_entry():
    missing = opdb.coverage()
    assert missing == {"functions": [], "methods": [], "c_ops": [], "nn.functional": []}, \
        f"ops without an OpInfo entry in verify/ops_*.py: {missing}"


def test_entries_are_well_formed():
    for e in opdb.all_ops():
        assert e.ref is not None, e.id
        assert e.samples is not None, e.id
        if e.mp is not None:
            assert e.ulp_bound.get("float32", 9) <= 1.0, \
                f"{e.id}: float32 bound {e.ulp_bound} looser than 1 ULP"
            # the documented exceptions: gelu (ill-conditioned) and mish
            # (a composite of softplus, tanh and a product: 3 ULP, measured)
            if e.name == "nn.functional.mish":
                assert e.ulp_bound["float64"] <= 3.0
            elif e.name != "gelu":
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



def test_a_planted_fault_never_becomes_the_reference(monkeypatch):
    """Whichever float64 reference the sweep picks (NumPy's, or tinyfin's
    own float64 kernel on a machine where NumPy's looks slow), it is the
    database entry's, not the planted op's: the planted exp fails, and the
    real exp checked after it (the reference is cached per op id) passes."""
    import dataclasses
    from verify.checks import accuracy
    exp = next(e for e in opdb.all_ops() if e.id == "exp")
    wrong = dataclasses.replace(exp, call=lambda x: exp.call(x) * (1 + 2 ** -22))
    for fast_ref_ns in (accuracy.FAST_REF_NS, 0.0):   # 0: tinyfin's float64 reference
        monkeypatch.setattr(accuracy, "FAST_REF_NS", fast_ref_ns)
        monkeypatch.setattr(accuracy, "_FLOAT64_REFS", {})
        planted = accuracy.check_accuracy(wrong, "float32", "cpu", "quick",
                                          np.random.default_rng(0), search=False)
        assert planted.status == "FAIL" and planted.max_ulp > 3.5, planted.max_ulp
        real = accuracy.check_accuracy(exp, "float32", "cpu", "quick",
                                       np.random.default_rng(0), search=False)
        assert real.status == "pass" and real.max_ulp <= 0.5 + 1e-9, real.failures
        expected = "numpy" if fast_ref_ns else "tinyfin float64"
        assert accuracy.float64_reference(exp)[0] == expected

# make asan sets this: the same suite against the sanitized core.
SANITIZED = bool(os.environ.get("TINYFIN_SANITIZED"))


def test_quick_depth_passes(tmp_path):
    # This pytest session runs the suites (d, e, f) itself. Under make asan
    # only the op checks run: the module and optimizer checks are mostly
    # Python (gradgradcheck through autograd), which the sanitized run slows
    # past 900 s; their kernels run sanitized in the nn and optim tests, and
    # these checks run whole in make test and make verify.
    ops = [e.id for e in opdb.all_ops()] if SANITIZED else None
    results = run(depth="quick", out=str(tmp_path), progress=False, suites=False, ops=ops)
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


# ---- every backend -------------------------------------------------------------------
BLAS = tf.backends.available().get("blas", "absent") is None
needs_blas = pytest.mark.skipif(not BLAS, reason="the blas backend does not load here")


def test_the_backends_are_the_available_ones_and_each_declares_its_promise():
    from verify.checks.common import backends as checked
    assert checked() == [b for b, why in tf.backends.available().items() if why is None]
    for b in checked():
        p = backends.promise(b)
        assert p.on_repeat and p.determinism, b
    assert backends.promise("cpu").across_threads and backends.promise("cpu").kernels is None
    assert backends.promise("blas").across_threads
    assert backends.promise("blas").kernels == {"matmul": ("float32", "float64")}
    with pytest.raises(KeyError, match="declares nothing"):
        backends.promise("tpu")


def test_the_layouts_have_the_strides_they_promise():
    from verify.checks.common import in_layout
    a = np.arange(12.0).reshape(3, 4)
    want = {"contiguous": (4, 1), "mT": (1, 3), "transposed": (1, 3), "strided": (9, 2),
            "row-padded": (7, 1), "mT-padded": (1, 6), "flipped": (-4, -1)}
    for layout, strides in want.items():
        v, t = in_layout(a, layout)
        assert t.stride() == strides, layout
        assert np.array_equal(t.numpy(), a) and np.array_equal(v, a), layout
    assert in_layout(np.arange(5.0), "flipped")[1].stride() == (-1,)


@needs_blas
def test_run_on_chooses_the_backend_and_returns_host_arrays():
    from verify.checks.parity import run_on
    seen = []

    def fn(x, y):
        seen.append((tf.backends.current(), tf.backends.which("matmul", tf.float32)))
        return x @ y
    x, y = tf.ones(3, 4), tf.ones(4, 2)
    with tf.backends.use("blas"):   # the reference is chosen explicitly, whatever the default
        (cpu,) = run_on("cpu", fn, [x, y])
    (blas,) = run_on("blas", fn, [x, y])
    assert seen == [("cpu", "cpu"), ("blas", "blas")]
    assert np.array_equal(cpu, np.full((3, 2), 4.0, np.float32)) and np.array_equal(cpu, blas)
    with pytest.raises(ValueError, match="no adapter"):
        run_on("tpu", fn, [x, y])


def test_the_dispatch_check_holds_which_to_the_declaration(monkeypatch):
    for b in backends.available():
        r = backends.check_dispatch(b)
        assert r.status == "pass" and r.n == len(backends.slots()) * 4, (b, r.failures)
    if not BLAS:
        return
    monkeypatch.setitem(backends.PROMISES, "blas", backends.Promise(
        {"matmul": ("float32",), "exp": ("float32",)}, False, True, "test"))
    r = backends.check_dispatch("blas")
    assert r.status == "FAIL" and len(r.failures) == 2
    assert any(f.startswith("matmul float64 on blas: which() says blas's") for f in r.failures)
    assert any(f.startswith("exp float32 on blas: which() says cpu's") for f in r.failures)


@needs_blas
def test_ops_without_a_kernel_of_their_own_are_fallbacks_not_passes(tmp_path):
    results = run(["exp", "matmul", "outer"], backends=["cpu", "blas"], depth="quick",
                  out=str(tmp_path), progress=False, checks=["forward", "parity", "fallback"])
    by = {}
    for r in results:
        by.setdefault((r.op, r.dtype, r.backend), []).append(r)
    # exp and outer (a broadcast mul) run cpu kernels on blas: one fallback row each
    for op, dt in [("exp", "float32"), ("exp", "float64"), ("outer", "float32"),
                   ("matmul", "int64")]:
        rows = by[(op, dt, "blas")]
        assert [(r.check, r.status) for r in rows] == [("fallback", "fallback")], (op, dt)
        assert rows[0].n > 0 and "fallback: cpu kernel" in rows[0].extra["reason"]
    assert "mul -> cpu" in by[("outer", "float32", "blas")][0].extra["reason"]
    # matmul's own blas kernel: forward and parity run there
    for dt in ("float32", "float64"):
        checks = {r.check: r for r in by[("matmul", dt, "blas")]}
        assert set(checks) == {"forward", "parity"} and all(
            r.status == "pass" for r in checks.values()), checks
        assert checks["parity"].n >= 40 and 0 <= checks["parity"].extra["worst_bound_ratio"] < 1
    # on the reference every op runs its checks (parity compares others with it)
    assert {r.check for r in by[("exp", "float32", "cpu")]} == {"forward"}
    data = json.loads((tmp_path / "report.json").read_text())
    fallbacks = {(r.op, r.dtype) for r in results if r.status == "fallback"}
    assert fallbacks == {("exp", d) for d in ("float32", "float64", "int64", "bool")} | \
        {("outer", d) for d in ("float32", "float64", "int64")} | {("matmul", "int64")}
    assert data["summary"]["by_backend"]["blas"]["fallback"] == 8
    assert data["meta"]["backends"] == ["cpu", "blas"]


@needs_blas
def test_a_fallback_that_is_not_the_cpu_kernel_fails(monkeypatch):
    """The fallback row checks its bits: an op that gives other results with
    blas chosen than with cpu chosen (here a stand-in that adds 1 ULP on blas)
    fails it."""
    import dataclasses
    from verify.checks.fallback import check_fallback
    exp = next(e for e in opdb.all_ops() if e.id == "exp")
    r = check_fallback(exp, "float32", "blas", np.random.default_rng(0))
    assert r.status == "fallback" and r.n > 5 and not r.failures

    def call(x):
        y = exp.call(x)
        if tf.backends.current() != "blas":
            return y
        return tf.tensor(np.nextafter(y.numpy(), np.float32(np.inf)))
    r = check_fallback(dataclasses.replace(exp, call=call), "float32", "blas",
                       np.random.default_rng(0))
    assert r.status == "FAIL" and "not bitwise the cpu kernels'" in r.failures[0]


@needs_blas
def test_parity_fails_a_blas_adapter_that_ignores_the_layout(monkeypatch):
    """A planted fault in the adapter: blas is handed every input as its
    memory lies, row-major (a transpose flag dropped, a stride ignored).
    Parity must fail exactly the samples whose operands are not row-major
    contiguous, and pass matmul's contiguous ones."""
    from verify.checks import parity
    honest = parity.run_on

    def as_it_lies(t):
        a = t.numpy()
        if a.ndim < 2 or a.flags.c_contiguous:
            return t
        flat = np.ascontiguousarray(np.swapaxes(a, -1, -2)).reshape(a.shape)   # x.T read as x
        return tf.from_numpy(flat)

    def wrong(backend, fn, tensors, *args, **kwargs):
        if backend == "blas":
            tensors = [as_it_lies(t) for t in tensors]
        return honest(backend, fn, tensors, *args, **kwargs)
    mm = next(e for e in opdb.all_ops() if e.id == "mm")
    assert parity.check_parity(mm, "float64", "blas", np.random.default_rng(0)).status == "pass"
    monkeypatch.setattr(parity, "run_on", wrong)
    r = parity.check_parity(mm, "float64", "blas", np.random.default_rng(0))
    assert r.status == "FAIL"
    failed = {f.split("[")[1].split("]")[0] for f in r.failures}
    assert "(300, 257) @ (257, 190) mT/mT" in failed
    assert "(300, 257) @ (257, 190) contiguous/contiguous" not in failed
    assert all("contiguous/contiguous" not in f for f in failed)


@needs_blas
def test_paths_and_suites_follow_each_backends_promise():
    from verify.checks.paths import check_paths
    from verify.checks.suites import run_suites
    mm = next(e for e in opdb.all_ops() if e.id == "mm")
    with tf.backends.use("blas"):
        r = check_paths(mm, "float32", "blas", np.random.default_rng(0))
    assert r.status == "pass" and r.extra["promise"] == backends.promise("blas").determinism
    r = check_paths(mm, "float32", "cpu", np.random.default_rng(0))
    assert r.status == "pass" and r.extra["promise"].startswith("bitwise the same for every")
    rows = run_suites(["matmul"], ["float64"], "quick", "blas")
    det = [r for r in rows if r.check == "determinism" and r.dtype == "float64"]
    assert det and all(r.backend == "blas" and r.status == "pass" for r in rows), rows
    # test_matmul_threads_as_promised, _repeats_its_bits, backward twice, backward threads
    assert det[0].n == 4, det[0]


def test_every_kernel_a_backend_runs_itself_is_checked_by_some_entry():
    """A kernel a backend fills (which() names it) must be named by an entry
    of that dtype, or verify would never run it: the fallback rows test
    only the cpu kernels."""
    covered = {(k, d) for e in opdb.all_ops() for d in e.dtypes for k in backends.kernels_of(e)}
    for b in backends.available():
        if b == backends.REFERENCE:
            continue
        own = {(s, d) for s in backends.slots() for d in backends.DTYPES
               if backends.which(s, d, b) == b}
        assert own and own <= covered, (b, sorted(own - covered))
    if BLAS:
        family = {e.id: e for e in opdb.all_ops() if e.kind == "linalg"}
        assert {i for i, e in family.items() if backends.own_kernels(e, "float32", "blas")} == \
            {"matmul", "mm", "bmm", "mv", "dot", "nn.functional.linear"}
        assert backends.own_kernels(family["matmul"], "int64", "blas") == ()


def test_every_layer_has_a_module_entry():
    from verify import moduledb
    assert moduledb.coverage() == [], \
        f"nn modules without a ModuleInfo entry in verify/modules_*.py: {moduledb.coverage()}"


def test_module_checks_run_and_pass_on_linear():
    # the module checks end to end on one entry (make verify runs them all)
    from verify.checks.modules import check_module
    from verify.moduledb import select
    rows = check_module(select(["nn.Linear"])[0], "cpu")
    assert {r.check for r in rows} == {"module-forward", "module-gradcheck", "module-train-eval",
                                       "module-state-dict", "module-dtype", "module-init"}
    assert all(r.status == "pass" and r.n > 0 for r in rows), [(r.check, r.failures) for r in rows]
