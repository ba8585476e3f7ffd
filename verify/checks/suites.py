"""Checks (d) property-based, (e) stability and (f) determinism: pytest
suites in tests/ (hypothesis drives its examples through pytest), run here
in-process and reported per op x dtype like every other check.

Each test names the ops it exercises: the value of its `op` or `name`
parameter, or a `@pytest.mark.verify_ops("softmax", ...)` marker. Its dtype
is its `dtype` parameter ("-" when it has none). A suite's row for an op and
dtype passes when every test of it passed; a failure carries the test's id
and the assertion's first line.

Backends: the suites run once per backend, with that backend chosen on the
thread that runs them (tinyfin.backends.use), and their rows carry it. A
test parametrized by `backend` (the determinism tests: each backend's own
promise, verify/backends.py) runs in the pass of its backend only. On a
backend other than the reference the caller selects only the ops that run
one of its own kernels (the others are fallback rows).

Depth: quick and default run hypothesis's derandomized "ci" profile; deep
and exhaustive its "deep" profile (>= 1000 examples per property).
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..opdb import all_ops
from .common import Result

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITES = {"property": "tests/test_properties.py",
          "stability": "tests/test_stability.py",
          "determinism": "tests/test_determinism.py"}
PROFILE = {"quick": "ci", "default": "ci", "deep": "deep", "exhaustive": "deep"}


def _ops_of(item) -> Tuple[str, ...]:
    marker = item.get_closest_marker("verify_ops")
    if marker is not None:
        return tuple(marker.args)
    params = getattr(getattr(item, "callspec", None), "params", {})
    for key in ("op", "name"):
        if isinstance(params.get(key), str):
            return (params[key],)
    return ()


def _backend_of(item) -> Optional[str]:
    be = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
    return be if isinstance(be, str) else None


def _dtype_of(item) -> str:
    dt = getattr(getattr(item, "callspec", None), "params", {}).get("dtype")
    return "-" if dt is None else np.dtype(dt).name


def _first_error_line(longrepr: str) -> str:
    """The first line of the failure's message: pytest marks it "E"; an
    exception group (hypothesis's several failing examples) draws boxes of
    "+-|" around its members, which are skipped."""
    for line in longrepr.splitlines():
        if line.startswith("E "):
            text = line[1:].strip().strip("|").strip()
            if text and not set(text) <= set("+-| "):
                return text
    return longrepr.strip().splitlines()[-1] if longrepr.strip() else ""


class _Collector:
    """pytest plugin: keeps the tests that touch the selected ops and dtypes
    and records each one's outcome."""

    def __init__(self, ops: Optional[Sequence[str]], dtypes: Optional[Sequence[str]],
                 backend: str = "cpu"):
        self.ops, self.dtypes = (set(ops) if ops else None), (set(dtypes) if dtypes else None)
        self.backend = backend
        self.meta: Dict[str, Tuple[str, Tuple[str, ...], str]] = {}
        self.outcomes: Dict[str, Tuple[str, str]] = {}
        self.unmapped: List[str] = []

    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            suite = next(s for s, f in SUITES.items() if item.nodeid.startswith(f))
            ops, dtype = _ops_of(item), _dtype_of(item)
            if not ops:
                self.unmapped.append(item.nodeid)
            wanted = ((self.ops is None or self.ops & set(ops))
                      and (self.dtypes is None or dtype == "-" or dtype in self.dtypes)
                      and _backend_of(item) in (None, self.backend))
            (keep if wanted and ops else drop).append(item)
            self.meta[item.nodeid] = (suite, ops, dtype)
        items[:] = keep
        config.hook.pytest_deselected(items=drop)

    def pytest_runtest_logreport(self, report):
        if report.failed or (report.when == "call" and report.nodeid not in self.outcomes):
            msg = ""
            if report.failed:
                text = str(report.longrepr)
                msg = _first_error_line(text)
            self.outcomes[report.nodeid] = ("FAIL" if report.failed else "pass", msg)


def run_suites(ops=None, dtypes=None, depth: str = "default", backend: str = "cpu") -> List[Result]:
    """One Result per (suite, op, dtype) on `backend`; a test that names no
    op is itself a failure of the harness (every test must say what it
    covers)."""
    import pytest

    import tinyfin as tf
    col = _Collector(ops, dtypes, backend)
    files = [os.path.join(ROOT, f) for f in SUITES.values()]
    # test_properties.py reads the profile when it is imported (once per process)
    before = os.environ.get("TINYFIN_HYPOTHESIS_PROFILE")
    os.environ["TINYFIN_HYPOTHESIS_PROFILE"] = PROFILE[depth]
    try:
        with tf.backends.use(backend):
            pytest.main(["-p", "no:cacheprovider", "-p", "no:terminal", "--rootdir", ROOT,
                         "-o", "addopts=", *files], plugins=[col])
    finally:
        if before is None:
            del os.environ["TINYFIN_HYPOTHESIS_PROFILE"]
        else:
            os.environ["TINYFIN_HYPOTHESIS_PROFILE"] = before
    rows: Dict[Tuple[str, str, str], Result] = {}
    for nodeid, (status, msg) in col.outcomes.items():
        suite, test_ops, dtype = col.meta[nodeid]
        for op in test_ops:
            if col.ops is not None and op not in col.ops:
                continue
            key = (suite, op, dtype)
            res = rows.setdefault(key, Result(suite, op, dtype, backend))
            res.n += 1
            if status == "FAIL":
                res.fail(f"{nodeid.split('::')[-1]}: {msg}")
    out = sorted(rows.values(), key=lambda r: (r.op, r.dtype, r.check))
    known = {n for e in all_ops() for n in (e.name, e.id) + e.aliases}
    harness = Result("suites", "-", "-", backend, n=len(col.meta))
    for nodeid in col.unmapped:
        harness.fail(f"{nodeid}: names no op (add @pytest.mark.verify_ops)")
    for nodeid, (_, test_ops, _) in col.meta.items():
        for op in set(test_ops) - known:
            harness.fail(f"{nodeid}: names {op!r}, which has no entry in the op database")
    if not col.meta:
        harness.fail(f"no tests collected from {sorted(SUITES.values())}")
    return out + ([harness] if harness.status == "FAIL" else [])
