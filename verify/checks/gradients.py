"""Check (c), first half: each differentiable op's analytic Jacobian (reverse
mode) against float64 central differences on its small samples, and
gradgradcheck for the smooth ones. Samples too large for a full Jacobian
are checked by random projections: v^T J u from one backward pass against
the central difference of v . f along u. The unary backward against the
mpmath derivative over the domain lives in accuracy.py."""
from __future__ import annotations

import dataclasses
import importlib

import numpy as np

import tinyfin as tf

from ..opdb import OpInfo
from .common import Result, in_layout

G = importlib.import_module("tinyfin.autograd.gradcheck")  # the module, not the function
ATOL, RTOL, EPS = 1e-5, 1e-3, 1e-6   # gradcheck's own defaults
FULL_JACOBIAN_MAX = 1000             # input elements; larger samples get projections
PROJECTIONS = {"quick": 1, "default": 3, "deep": 10, "exhaustive": 10}
MAX_DRAWS = 5                        # per projection wanted, when draws straddle jumps
ROUNDING = 1e-15                     # relative error of v . f in float64 (f's ULPs, the sum)


def _jitter(a: np.ndarray, rng) -> np.ndarray:
    """Moves float inputs off ties and kinks (max(a, a), relu(0), ...), where
    the derivative is undefined and central differences straddle a jump."""
    if a.dtype.kind != "f":
        return a
    return a * (1 + 1e-3 * rng.uniform(-1, 1, a.shape)) + 1e-4 * rng.uniform(-1, 1, a.shape)


def _grad_inputs(op: OpInfo, s, rng) -> tuple:
    """(tensors, fn): the sample's inputs, jittered, float ones requiring
    grad, and the op as a function of them."""
    tensors = []
    for i, a in enumerate(s.inputs):
        a = _jitter(np.asarray(a), rng)
        _, t = in_layout(a, s.layout_at(i))
        if a.dtype.kind == "f":
            t = t.detach().requires_grad_()
        tensors.append(t)
    return tensors, (lambda *xs: op.call(*xs, *s.args, **s.kwargs))


def _is_large(op: OpInfo, s) -> bool:
    """A sample left out of gradcheck only for its size: every input finite
    and, for an op with kinks, no value repeated (maximum's samples tie on
    purpose; jittered ties sit closer than the difference step and would be
    straddled)."""
    arrs = [np.asarray(a) for a in s.inputs]
    floats = np.concatenate([a.ravel() for a in arrs if a.dtype.kind == "f"] or [np.zeros(0)])
    return (not s.grad and "expanded" not in s.layouts and sum(a.size for a in arrs) > FULL_JACOBIAN_MAX
            and bool(np.all(np.isfinite(floats)))
            and not (op.nondiff and np.unique(floats).size < floats.size))


def _outputs(out) -> list:
    return [o for o in (out if isinstance(out, (tuple, list)) else (out,))
            if o.dtype.is_floating_point]


@dataclasses.dataclass
class Projection:
    analytic: float     # v^T J u from one reverse pass
    numeric: float      # central difference of v . f along u, step EPS
    allowed: float      # |analytic - numeric| within this passes
    smooth: bool        # the difference quotient did not change with the step

    @property
    def error(self) -> float:
        return abs(self.analytic - self.numeric)


def project(fn, tensors, rng) -> Projection:
    """One random projection, v and u standard normal, against the central
    difference quotient of v . f at two steps, extrapolated. allowed = ATOL
    + RTOL * |numeric| plus what rounding does to the quotients (ROUNDING *
    sum |v||f| / step each). Where the two steps disagree beyond that
    allowance, they straddle a jump of f (floor_divide on 40k elements has
    some), and the draw says nothing about the derivative (smooth False)."""
    xs = [t for t in tensors if t.requires_grad]
    us = [rng.standard_normal(tuple(t.shape)) for t in xs]
    with tf.enable_grad():
        ys = _outputs(fn(*tensors))
        vs = [rng.standard_normal(tuple(y.shape)) for y in ys]
        total = sum((y * tf.tensor(v)).sum() for y, v in zip(ys, vs))
        grads = tf.autograd.grad(total, xs, allow_unused=True)
    analytic = sum(float(np.sum(g.numpy() * u)) for g, u in zip(grads, us) if g is not None)

    def v_dot_f(step: float) -> tuple:
        shifted, it = [], iter(us)
        for t in tensors:
            shifted.append(t.detach() + tf.tensor(step * next(it)) if t.requires_grad else t)
        with tf.no_grad():
            outs = [o.numpy() for o in _outputs(fn(*shifted))]
        return (sum(float(np.sum(v * o)) for v, o in zip(vs, outs)),
                sum(float(np.sum(np.abs(v * o))) for v, o in zip(vs, outs)))

    def quotient(step: float) -> tuple:
        (plus, mag), (minus, _) = v_dot_f(step), v_dot_f(-step)
        q = (plus - minus) / (2 * step)
        return q, ATOL + RTOL * abs(q) + ROUNDING * mag / step

    full, allowed = quotient(EPS)
    half, half_allowed = quotient(EPS / 2)
    # Richardson: (4 q(h/2) - q(h)) / 3 cancels the h^2 term of the central
    # difference, whose truncation error is otherwise visible where f curves
    # fast (norm with p < 1 next to a tiny |x|); rounding grows to 3x q(h)'s.
    numeric = (4 * half - full) / 3
    allowed = ATOL + RTOL * abs(numeric) + 3 * (allowed - ATOL - RTOL * abs(full))
    return Projection(analytic, numeric, allowed, abs(full - half) <= half_allowed)


def check_gradients(op: OpInfo, backend: str, rng: np.random.Generator, depth: str) -> Result:
    res = Result("gradcheck", op.id, "float64", backend)
    if not op.differentiable or "float64" not in op.dtypes:
        res.status = "skip"
        return res
    worst = 0.0
    # An expanded sample repeats its first row: its values tie, and max, min,
    # std (of equal values) and the like have no derivative at ties.
    all_samples = list(op.samples("float64", rng))
    samples = [s for s in all_samples if s.grad and "expanded" not in s.layouts]
    large = [s for s in all_samples if _is_large(op, s)]
    if depth == "quick":
        samples, large = samples[:3], large[:1]
    for s in large:
        where = f"{op.id} [{s.desc}]"
        try:
            tensors, fn = _grad_inputs(op, s, rng)
            done = 0
            for _ in range(MAX_DRAWS * PROJECTIONS[depth]):
                pr = project(fn, tensors, rng)
                if not pr.smooth:
                    res.extra["projections_across_jumps"] = \
                        res.extra.get("projections_across_jumps", 0) + 1
                    continue
                res.n += 1
                worst = max(worst, pr.error / max(abs(pr.numeric), 1.0))
                if not pr.error <= pr.allowed:
                    res.fail(f"{where}: random projection v^T J u: analytic {pr.analytic!r}, "
                             f"numeric {pr.numeric!r} (allowed difference {pr.allowed:.3g})")
                done += 1
                if done == PROJECTIONS[depth]:
                    break
        except Exception as e:  # noqa: BLE001
            res.fail(f"{where}: raised {type(e).__name__}: {e}")
    for s in samples:
        where = f"{op.id} [{s.desc}]"
        try:
            tensors, fn = _grad_inputs(op, s, rng)
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
    if res.n == 0:
        res.fail(f"{op.id}: differentiable, but no sample is small enough for gradcheck "
                 f"(inputs of at most ~30 elements, grad=True) or large enough for projections")
    return res
