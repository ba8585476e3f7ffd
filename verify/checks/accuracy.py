"""Check (b): accuracy of every unary math op against mpmath over its whole
domain, and (c, second half) its backward against the mpmath derivative.

Points, per op and dtype (`points(depth)` of them): ~60% stratified over
every binade of the dtype for both signs (subnormals included), ~30%
uniform over the op's ordinary sample range, and the specials: +-0,
+-inf, NaN, the smallest subnormal, the smallest normal, the largest finite
number and their neighbours, plus the inputs on both sides of the op's own
overflow and underflow thresholds (found by bisection on the reference).

Reference ("exact" value as a float64 pair hi + lo):
  float32: the float64 NumPy reference (or, where that is a slow Python
    loop, tinyfin's float64 kernel: float64_reference) is ~2^-52 relative,
    far finer than a float32 ULP, so it is used as is -- except where it lies within 2^-40
    relative of a float32 rounding boundary (a tie), where the value is
    recomputed with mpmath at 128 bits so the correctly rounded result is
    known; that keeps the sweep fast.
  float64: mpmath at 128 bits for every finite point in the domain (no
    cheaper reference is accurate enough), split into hi + lo.
  Non-finite inputs and points outside the domain take the NumPy reference
    (IEEE limits; NaN outside the domain). A zero result takes its sign from
    mpmath's value, or from NumPy where the exact value is 0 (f(-0) = -0).
The error is real-valued: |got - exact| / ulp(exact), 0.5 = correctly rounded.
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, List, Optional, Tuple

import mpmath
import numpy as np
from mpmath.libmp import from_float, mpf_sub, to_float

import tinyfin as tf

from ..opdb import OpInfo, all_ops
from ..ulp import real_ulp_error, ulp_of
from . import worst_case
from .common import Result, tensor_of

PREC = 128
POINTS = {"quick": 2_000, "default": 100_000, "deep": 400_000, "exhaustive": 1_000_000}
GRAD_POINTS = {"quick": 200, "default": 3_000, "deep": 20_000, "exhaustive": 50_000}
TIE_MARGIN = 2.0 ** -40
# the worst-case search's budget, in sweeps: float32's reference is NumPy's
# float64 (mpmath only near ties), so it can afford more points
SEARCH_SHARE = {"float32": 4.0, "float64": 3.0}


def _np_ref(op: OpInfo, x64: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(op.ref(x64), np.float64)


# A reference slower than this per point is a Python-level loop, not NumPy's
# own function: NumPy's run at 0.5-100 ns a point here, the loops (gelu's
# mpmath) at ~30,000, so a loaded machine cannot move an op across the line.
FAST_REF_NS = 2_000
_FLOAT64_REFS: dict = {}


def float64_reference(op: OpInfo) -> Tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """("numpy" | "tinyfin float64", f): the cheapest independent float64
    reference of op for float32 results. NumPy's float64 function (glibc's
    libm) when it runs at NumPy speed; where the entry's reference is a
    Python-level loop (erf, gelu: mpmath, ~40 us a point), tinyfin's own
    float64 kernel, a different code path from the float32 one, whose
    accuracy the float64 sweep measures against mpmath (<= 1 ULP). Either
    is ~2^-52 relative.

    Both come from the database's own entry for op.id, never from `op`
    itself: the checks are also handed entries with a planted fault
    (dataclasses.replace(entry, call=...)), whose fault must not leak into
    the reference they are measured against (nor into a later check's,
    through this cache)."""
    if op.id not in _FLOAT64_REFS:
        entry = next((o for o in all_ops() if o.id == op.id), op)

        def tinyfin_ref(x64):
            return np.asarray(entry.call(tf.from_numpy(np.ascontiguousarray(x64))).numpy(),
                              np.float64)
        probe = np.linspace(-10, 10, 1 << 14)
        _np_ref(entry, probe[:64])      # warm up (first-call imports, page faults)
        t0 = time.perf_counter()
        _np_ref(entry, probe)
        per_point_ns = (time.perf_counter() - t0) / probe.size * 1e9
        _FLOAT64_REFS[op.id] = (("numpy", lambda x64: _np_ref(entry, x64))
                                if per_point_ns < FAST_REF_NS else ("tinyfin float64", tinyfin_ref))
    return _FLOAT64_REFS[op.id]


# ---- points ---------------------------------------------------------------------
def _binade_points(dtype, n: int, rng) -> np.ndarray:
    fi = np.finfo(dtype)
    exps = np.arange(fi.minexp - fi.nmant, fi.maxexp)      # subnormal "binades" too
    per = n // len(exps)
    e = np.concatenate([np.repeat(exps, per), rng.choice(exps, n - per * len(exps))])
    m = rng.uniform(1.0, 2.0, e.size)
    x = np.ldexp(m, e.astype(np.int64))
    x = np.where(rng.random(e.size) < 0.5, -x, x)
    with np.errstate(all="ignore"):
        return x.astype(dtype)


def _specials(dtype) -> np.ndarray:
    fi = np.finfo(dtype)
    base = [0.0, np.inf, np.nan, float(fi.smallest_subnormal), float(fi.tiny),
            float(fi.max), 1.0, 0.5, 2.0]
    v = np.array(base + [-b for b in base], dtype)
    with np.errstate(all="ignore"):
        nb = np.concatenate([np.nextafter(v, np.array(np.inf, dtype)),
                             np.nextafter(v, np.array(-np.inf, dtype))])
    return np.concatenate([v, nb]).astype(dtype)


def _bits(x, dtype):
    return x.view(np.int32 if dtype == np.float32 else np.int64)


def _thresholds(op: OpInfo, dtype) -> np.ndarray:
    """Inputs next to the op's overflow / underflow thresholds in dtype:
    where the rounded reference turns inf, zero or subnormal, found by
    bisection on the bit patterns (monotone in |x| for one sign)."""
    fi = np.finfo(dtype)
    itype = np.int32 if dtype == np.float32 else np.int64
    classes = (lambda r: np.isinf(r), lambda r: r == 0, lambda r: np.abs(r) < fi.tiny)

    def classify(xs, c):
        with np.errstate(all="ignore"):
            return c(_np_ref(op, xs.astype(np.float64)).astype(dtype))

    out = []
    for sign in (1.0, -1.0):
        with np.errstate(all="ignore"):
            grid = (sign * np.logspace(-45 if dtype == np.float32 else -323,
                                       38.5 if dtype == np.float32 else 308.2,
                                       3000)).astype(dtype)
        grid = np.unique(grid[np.isfinite(grid) & (grid != 0)])
        for c in classes:
            cls = classify(grid, c)
            for i in np.nonzero(cls[1:] != cls[:-1])[0][:4]:
                lo = int(grid[i:i + 1].view(itype)[0])
                hi = int(grid[i + 1:i + 2].view(itype)[0])
                c_lo = cls[i]
                while abs(hi - lo) > 1:
                    mid = (lo + hi) // 2
                    if classify(np.array([mid], itype).view(dtype), c)[0] == c_lo:
                        lo = mid
                    else:
                        hi = mid
                out.extend(lo + k for k in range(-8, 9))
    if not out:
        return np.zeros(0, dtype)
    ii = np.iinfo(itype)
    ints = np.array([v for v in out if ii.min <= v <= ii.max], itype)
    x = ints.view(dtype)
    return x[np.isfinite(x)]


def sweep_points(op: OpInfo, dtype, n: int, rng) -> np.ndarray:
    dtype = np.dtype(dtype).type
    lo, hi = op.sample_range
    parts = [_specials(dtype), _thresholds(op, dtype)]
    rest = max(0, n - sum(p.size for p in parts))
    parts.append(_binade_points(dtype, int(rest * 0.65), rng))
    parts.append(rng.uniform(lo, hi, rest - int(rest * 0.65)).astype(dtype))
    return np.concatenate(parts).astype(dtype)


# ---- mpmath reference -------------------------------------------------------------
_WORKER_OP: Optional[OpInfo] = None


def _mp_pair(f, x: float) -> Tuple[float, float, bool]:
    """(hi, lo, ok) of f(x) at the working precision (the caller sets PREC
    bits); ok False where mpmath has no real value (the caller then uses
    NumPy)."""
    try:
        v = f(mpmath.mpf(x))
    except (ZeroDivisionError, ValueError, OverflowError):
        return 0.0, 0.0, False
    if not isinstance(v, mpmath.mpf):
        if isinstance(v, (int, float)):
            v = mpmath.mpf(v)
        else:
            return 0.0, 0.0, False
    if mpmath.isnan(v):
        return 0.0, 0.0, False
    hi = to_float(v._mpf_, strict=False, rnd="n")
    if math.isinf(hi) or hi == 0.0:
        return hi, 0.0, True
    lo = to_float(mpf_sub(v._mpf_, from_float(hi), PREC, "n"), strict=False, rnd="n")
    return hi, lo, True


def _mp_chunk(args):
    op_id, which, xs = args
    op = next(o for o in all_ops() if o.id == op_id)
    f = op.mp if which == "f" else op.mp_deriv
    with mpmath.workprec(PREC):     # once per chunk: the context costs ~10% per point
        out = [_mp_pair(f, x) for x in np.asarray(xs, np.float64).tolist()]
    return np.array(out, np.float64).reshape(-1, 3)


def mp_pairs(op: OpInfo, which: str, xs: np.ndarray, pool) -> np.ndarray:
    if xs.size == 0:
        return np.zeros((0, 3))
    if pool is None or xs.size < 2000:
        return _mp_chunk((op.id, which, xs))
    chunks = np.array_split(xs, 16)
    return np.concatenate(list(pool.map(_mp_chunk, [(op.id, which, c) for c in chunks])))


def reference(op: OpInfo, x: np.ndarray, pool) -> Tuple[np.ndarray, np.ndarray]:
    """(hi, lo) of op's exact values at x (see the module docstring)."""
    dtype = x.dtype
    x64 = x.astype(np.float64)
    finite = np.isfinite(x64)
    fast = finite & (x64 != 0)
    if dtype == np.float32 and float64_reference(op)[0] != "numpy" and np.any(fast):
        # finite non-zero inputs from the fast float64 reference; the IEEE
        # limits (non-finite inputs) and signed zeros from the entry's own
        npr = np.empty_like(x64)
        npr[fast] = float64_reference(op)[1](x64[fast])
        npr[~fast] = _np_ref(op, x64[~fast])
    else:
        npr = _np_ref(op, x64)
    hi, lo = npr.copy(), np.zeros_like(npr)
    if op.domain is not None:
        finite &= np.array([bool(op.domain(v)) if np.isfinite(v) else False for v in x64])
    if dtype == np.float32:
        with np.errstate(all="ignore"):
            r = npr.astype(np.float32).astype(np.float64)
            half = ulp_of(npr, np.float32) / 2
            near = finite & np.isfinite(npr) & (np.abs(np.abs(npr - r) - half) <= TIE_MARGIN * np.abs(npr))
        idx = np.nonzero(near)[0]
    else:
        idx = np.nonzero(finite)[0]
    res = mp_pairs(op, "f", x64[idx], pool)
    ok = res[:, 2] > 0 if res.size else np.zeros(0, bool)
    sel = idx[ok]
    hi[sel], lo[sel] = res[ok, 0], res[ok, 1]
    # exact zeros take NumPy's sign (f(-0) = -0 for odd functions)
    z = sel[hi[sel] == 0]
    hi[z] = np.copysign(0.0, npr[z])
    return hi, lo


# ---- the checks ------------------------------------------------------------------
def _worst(x, got, hi, lo, err, k=3) -> List[str]:
    order = np.argsort(-np.where(np.isnan(err), -1, err))[:k]
    return [f"x={x[i]!r}: got {got[i]!r}, exact {hi[i] + lo[i]!r} ({err[i]:.3g} ULP)"
            for i in order]


def _errors(op: OpInfo, x: np.ndarray, npdt, pool) -> Tuple[np.ndarray, ...]:
    """(got, hi, lo, err) of op at the points x."""
    hi, lo = reference(op, x, pool)
    got = np.array(op.call(tensor_of(x)).numpy(), copy=True)
    return got, hi, lo, real_ulp_error(got, hi, lo, npdt)


def check_accuracy(op: OpInfo, dtype: str, backend: str, depth: str, rng,
                   pool=None, *, points: Optional[int] = None,
                   search: bool = True) -> Result:
    """The stratified sweep (`points` of them, POINTS[depth] by default),
    then, with `search`, the worst-case search (worst_case.py) with a budget
    of SEARCH_SHARE[dtype] times the sweep. max_ulp, the failures and
    extra["worst"] cover both; mean_ulp is the sweep's (the search's points
    are chosen for their error, so their mean means nothing)."""
    res = Result("accuracy", op.id, dtype, backend)
    npdt = np.dtype(dtype)
    n = points or POINTS[depth]
    x = sweep_points(op, npdt, n, rng)
    got, hi, lo, err = _errors(op, x, npdt, pool)
    fin = np.isfinite(err)
    res.mean_ulp = float(np.mean(err[fin])) if np.any(fin) else 0.0
    sweep_max = float(np.max(err)) if err.size else 0.0
    stage = np.zeros(x.size, np.int8)
    n_sweep = x.size
    if search:
        parts = []

        def evaluate(pts):
            parts.append(_errors(op, pts, npdt, pool))
            return parts[-1][3]
        sx, _, sst = worst_case.search(op, npdt, x, err, evaluate,
                                       int(n * SEARCH_SHARE[dtype]), rng)
        if parts:
            got, hi, lo, err = (np.concatenate([a] + [p[i] for p in parts])
                                for i, a in enumerate((got, hi, lo, err)))
            x = np.concatenate([x, sx])
            stage = np.concatenate([stage, sst])
    res.n = int(x.size)
    res.max_ulp = float(np.max(err)) if err.size else 0.0
    res.bound = op.bound_for(dtype, backend)
    iw = int(np.argmax(np.where(np.isnan(err), -1.0, err))) if err.size else None
    if iw is not None:
        res.extra["worst"] = {"x": float(x[iw]), "ulp": float(err[iw])}
    res.extra["search"] = {"sweep_points": int(n_sweep), "search_points": int(x.size - n_sweep),
                           "sweep_max_ulp": sweep_max,
                           "found_by": worst_case.STAGES[stage[iw]] if iw is not None else None}
    bad = err > res.bound
    if np.any(bad):
        for w in _worst(x, got, hi, lo, err):
            res.fail(f"{op.id} {dtype}: {int(np.sum(bad))} of {x.size} points beyond "
                     f"{res.bound} ULP; {w}")
    # NumPy's own float32 function on the sweep's points, for comparison
    if dtype == "float32":
        with np.errstate(all="ignore"):
            try:
                npv = np.asarray(op.ref(x[:n_sweep]))
                if npv.dtype == np.float32:
                    ne = real_ulp_error(npv, hi[:n_sweep], lo[:n_sweep], npdt)
                    res.extra["numpy_max_ulp"] = float(np.max(ne[np.isfinite(ne)]))
            except Exception:  # noqa: BLE001
                pass
    # data for the plots: error against x, thinned, always with the worst point
    x64 = x.astype(np.float64)
    keep = np.nonzero(np.isfinite(x64) & np.isfinite(err))[0]
    if keep.size > 4000:
        keep = np.sort(rng.choice(keep, 4000, replace=False))
    if iw is not None and np.isfinite(x64[iw]) and np.isfinite(err[iw]) and iw not in keep:
        keep = np.sort(np.append(keep, iw))
    res.extra["plot"] = {"x": x64[keep].tolist(), "err": err[keep].tolist()}
    return res


def check_grad_accuracy(op: OpInfo, dtype: str, backend: str, depth: str, rng,
                        pool=None) -> Result:
    """x.grad of sum(op(x)) against the mpmath derivative, in ULPs of
    max(|f'(x)|, op.grad_floor)."""
    res = Result("grad-accuracy", op.id, dtype, backend)
    npdt = np.dtype(dtype)
    n = GRAD_POINTS[depth]
    lo_, hi_ = op.sample_range
    mags = np.exp(rng.uniform(math.log(1e-20), math.log(max(abs(lo_), abs(hi_))), n // 2))
    x = np.concatenate([rng.uniform(lo_, hi_, n - n // 2),
                        mags * np.where(rng.random(n // 2) < 0.5, -1, 1)])
    if op.domain is not None:
        x = x[[bool(op.domain(v)) for v in x]]
    x = x.astype(npdt)
    t = tensor_of(x).requires_grad_()
    y = op.call(t)
    y.backward(tf.ones_like(y))
    got = np.array(t.grad.numpy(), copy=True).astype(np.float64)
    r = mp_pairs(op, "d", x.astype(np.float64), pool)
    ok = r[:, 2] > 0
    d = r[:, 0] + r[:, 1]
    with np.errstate(all="ignore"):
        unit = ulp_of(np.maximum(np.abs(d), op.grad_floor), npdt)
        exact_d = d.astype(npdt).astype(np.float64)   # overflowed derivative: inf expected
        err = np.where(np.isfinite(exact_d), np.abs((got - r[:, 0]) - r[:, 1]) / unit,
                       np.where(got == exact_d, 0.0, np.inf))
    err = err[ok]
    res.n = int(err.size)
    res.max_ulp = float(np.max(err)) if err.size else 0.0
    res.mean_ulp = float(np.mean(err[np.isfinite(err)])) if err.size else 0.0
    res.grad_err = res.max_ulp
    res.bound = op.bound_for(dtype, backend, grad=True)
    bad = err > res.bound
    if np.any(bad):
        xs, gs, ds = x[ok], got[ok], d[ok]
        for i in np.argsort(-err)[:3]:
            res.fail(f"{op.id} {dtype} backward: {int(np.sum(bad))} of {err.size} points beyond "
                     f"{res.bound} ULP; x={xs[i]!r}: got {gs[i]!r}, exact {ds[i]!r} ({err[i]:.3g} ULP)")
    return res


def make_pool(depth: str):
    """Two processes for the mpmath work (this machine has 2 cores)."""
    if depth == "quick":
        return None
    import multiprocessing as mp
    return ProcessPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)),
                               mp_context=mp.get_context("fork"))
