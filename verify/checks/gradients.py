"""Check (c), first half: each differentiable op's analytic Jacobian (reverse
mode) against float64 central differences on its small samples, and
gradgradcheck for the smooth ones. The unary backward against the mpmath
derivative over the domain lives in accuracy.py."""
from __future__ import annotations

import numpy as np

import tinyfin as tf
import importlib

from ..opdb import OpInfo
from .common import Result, in_layout

G = importlib.import_module("tinyfin.autograd.gradcheck")  # the module, not the function
ATOL, RTOL, EPS = 1e-5, 1e-3, 1e-6   # gradcheck's own defaults


def _jitter(a: np.ndarray, rng) -> np.ndarray:
    """Moves float inputs off ties and kinks (max(a, a), relu(0), ...), where
    the derivative is undefined and central differences straddle a jump."""
    if a.dtype.kind != "f":
        return a
    return a * (1 + 1e-3 * rng.uniform(-1, 1, a.shape)) + 1e-4 * rng.uniform(-1, 1, a.shape)


def check_gradients(op: OpInfo, backend: str, rng: np.random.Generator, depth: str) -> Result:
    res = Result("gradcheck", op.id, "float64", backend)
    if not op.differentiable or "float64" not in op.dtypes:
        res.status = "skip"
        return res
    worst = 0.0
    # An expanded sample repeats its first row: its values tie, and max, min,
    # std (of equal values) and the like have no derivative at ties.
    samples = [s for s in op.samples("float64", rng) if s.grad and s.layout != "expanded"]
    if depth == "quick":
        samples = samples[:3]
    for s in samples:
        where = f"{op.id} [{s.desc}]"
        try:
            tensors = []
            for a in s.inputs:
                a = _jitter(np.asarray(a), rng)
                _, t = in_layout(a, s.layout)
                if a.dtype.kind == "f":
                    t = t.detach().requires_grad_()
                tensors.append(t)
            fn = lambda *xs: op.call(*xs, *s.args, **s.kwargs)  # noqa: E731
            with tf.enable_grad():
                num = G._numeric_jacobians(fn, tuple(tensors), EPS)
                ana = G._analytic_jacobians(fn, tuple(tensors))
            res.n += 1
            for key, n in num.items():
                a = ana[key]
                if n.size == 0:
                    continue
                err = np.abs(a - n) / np.maximum(np.abs(n), 1.0)
                worst = max(worst, float(np.nanmax(err)) if not np.all(np.isnan(err)) else 0.0)
                excess = np.abs(a - n) - (ATOL + RTOL * np.abs(n))
                if np.any(excess > 0) or np.any(np.isnan(a) != np.isnan(n)):
                    r, c = np.unravel_index(int(np.nanargmax(excess)), a.shape)
                    res.fail(f"{where}: Jacobian d out{key[0]}/d in{key[1]} [{r},{c}]: "
                             f"analytic {a[r, c]!r}, numeric {n[r, c]!r}")
            if op.gradgrad and depth != "quick" or (op.gradgrad and res.n == 1):
                try:
                    G.gradgradcheck(fn, tuple(tensors), eps=EPS, atol=ATOL, rtol=RTOL)
                except G.GradcheckError as e:
                    res.fail(f"{where}: gradgradcheck: {e}")
        except Exception as e:  # noqa: BLE001
            res.fail(f"{where}: raised {type(e).__name__}: {e}")
    res.grad_err = worst
    if res.n == 0 and res.status == "pass":
        res.status = "skip"
    return res
