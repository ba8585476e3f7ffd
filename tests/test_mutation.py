"""The mutation test (verify/mutation.py): every planted fault is caught by
the checks named for it, and the unmutated control copy passes the same ops.

The mutants run once per session (a module fixture): each copies the repo
into a temporary directory, applies its edits, builds its own library when
its C sources changed and runs `python -m verify --depth quick` on a few
ops, two copies at a time: about 100 s on a two-core machine shared with
other work (twelve library builds of ~7 s each, 26 short verify runs)."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import tinyfin as tf

from verify import mutation, opdb
from verify.__main__ import split_names
from verify.checks.forward import check_forward
from verify.ulp import wrong_zero_sign

NAMES = [m.name for m in mutation.MUTANTS]


# ---- fast checks of the machinery -----------------------------------------------
@pytest.mark.parametrize("mutant", mutation.MUTANTS, ids=NAMES)
def test_every_edit_applies_to_the_current_sources(mutant):
    """Each edit's old text occurs exactly once in today's sources, so no
    mutant silently tests the unmutated code after a refactoring."""
    assert mutant.ops and mutant.expected and mutant.edits
    for e in mutant.edits:
        with open(f"{mutation.ROOT}/{e.path}") as f:
            n = f.read().count(e.old)
        assert n == 1, f"{mutant.name}: {e.path}: old text occurs {n} times"
    ops, modules = split_names(list(mutant.ops))
    if ops:
        opdb.select(ops)  # raises for an op without an entry
    assert len(modules) + len(ops) == len(mutant.ops)


def test_an_edit_that_no_longer_applies_fails_loudly(tmp_path):
    (tmp_path / "f.c").write_text("a;\nb;\nb;\n")
    with pytest.raises(RuntimeError, match="occurs 0 times"):
        mutation.apply_edit(str(tmp_path), mutation.Edit("f.c", "c;", "d;"))
    with pytest.raises(RuntimeError, match="occurs 2 times"):
        mutation.apply_edit(str(tmp_path), mutation.Edit("f.c", "b;", "d;"))
    mutation.apply_edit(str(tmp_path), mutation.Edit("f.c", "a;", "d;"))
    assert (tmp_path / "f.c").read_text() == "d;\nb;\nb;\n"


def test_failed_checks_reads_the_first_message_of_each_failed_check():
    report = {"results": [
        {"check": "forward", "status": "pass", "failures": []},
        {"check": "forward", "status": "FAIL", "failures": ["first", "second"]},
        {"check": "forward", "status": "FAIL", "failures": ["later row"]},
        {"check": "gradcheck", "status": "XFAIL", "failures": ["known"]}]}
    assert mutation.failed_checks(report) == {"forward": "first"}


def test_wrong_zero_sign_only_where_the_reference_is_an_exact_zero():
    got = np.array([0.0, -0.0, 0.0, -0.0, 1.0, 0.0], np.float32)
    exact = np.array([-0.0, 0.0, 0.0, -0.0, -0.0, -1e-60])  # the last one underflows
    assert wrong_zero_sign(got, exact).tolist() == [True, True, False, False, False, False]


def test_forward_fails_a_dropped_negative_zero_and_says_so():
    """In process, without a build: mul followed by + 0 (which turns -0 into
    +0) passes on ULPs alone, so only the sign-of-zero rule catches it."""
    mul = next(e for e in opdb.all_ops() if e.id == "mul")
    planted = dataclasses.replace(mul, call=lambda a, b, out=None: (
        tf.mul(a, b) + 0.0 if out is None else tf.mul(a, b, out=out)))
    for dtype in ("float32", "float64"):
        assert check_forward(mul, dtype, "cpu", np.random.default_rng(0)).status == "pass"
        r = check_forward(planted, dtype, "cpu", np.random.default_rng(0))
        assert r.status == "FAIL"
        assert all("sign of zero" in f for f in r.failures), r.failures


# ---- the mutants, built and verified ------------------------------------------------
@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mutants")
    control, results = mutation.run_all(mutation.MUTANTS, str(workdir), jobs=2)
    yield control, {r.name: r for r in results}
    shutil.rmtree(workdir, ignore_errors=True)


def test_control_copy_passes(outcomes):
    control, _ = outcomes
    assert not control.error, control.error
    assert not control.failed, f"the unmutated copy fails: {control.failed}"


@pytest.mark.parametrize("mutant", mutation.MUTANTS, ids=NAMES)
def test_mutant_is_caught_by_its_expected_checks(outcomes, mutant):
    _, results = outcomes
    r = results[mutant.name]
    assert not r.error, f"{mutant.name}: {r.error}"
    missed = [c for c in mutant.expected if c not in r.failed]
    assert not missed, (f"{mutant.name} ({mutant.description}) escaped {missed}; "
                        f"checks that failed: {r.failed or 'none'}")
