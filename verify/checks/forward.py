"""Check (a): every sample of every op against its NumPy float64 reference,
and (errors) every error input raises the declared exception and message."""
from __future__ import annotations

import re
import warnings

import numpy as np

import tinyfin as tf

from ..opdb import OpInfo
from ..ulp import ulp_distance, wrong_zero_sign
from .common import Result, in_layout, outputs_np, refs_np

FLOATS = ("float32", "float64")


def _compare(res: Result, op: OpInfo, dtype: str, sample, got, want, ulps: list) -> None:
    tol = op.tol_for(dtype, res.backend)
    where = f"{op.id} {dtype} [{sample.desc}]"
    if got.shape != want.shape:
        res.fail(f"{where}: shape {got.shape} != reference {want.shape}")
        return
    if want.dtype == np.bool_ or got.dtype == np.bool_:
        if got.dtype != np.bool_ or not np.array_equal(got, want.astype(bool)):
            res.fail(f"{where}: bool result differs (dtype {got.dtype})")
        return
    if not np.issubdtype(got.dtype, np.floating):
        if np.issubdtype(want.dtype, np.floating) and dtype != "int64":
            res.fail(f"{where}: integer result {got.dtype} where the reference is floating")
        elif not np.array_equal(got, want) or got.dtype != np.int64:
            res.fail(f"{where}: integer values differ (max |diff| "
                     f"{np.max(np.abs(got - want)) if got.size else 0})")
        return
    if dtype in FLOATS and op.name not in ("to",) and op.kind != "creation" \
            and got.dtype != np.dtype(dtype):
        res.fail(f"{where}: result dtype {got.dtype}, expected {dtype}")
        return
    if got.size == 0:
        return
    _check_zero_signs(res, where, got, want)
    with np.errstate(all="ignore"):
        expect = np.asarray(want, np.float64).astype(got.dtype)
    if tol.ulp is not None:
        d = ulp_distance(got, expect)
        worst = float(np.max(d))
        ulps.append(worst)
        if worst > tol.ulp:
            i = np.unravel_index(int(np.argmax(d)), d.shape)
            res.fail(f"{where}: {int(np.sum(d > tol.ulp))} of {d.size} elements beyond "
                     f"{tol.ulp} ULP; worst at {tuple(map(int, i))}: got {got[i]!r}, expected {expect[i]!r} "
                     f"({d[i]} ULP)")
        return
    a, r = got.astype(np.float64), np.asarray(want, np.float64)
    fin = np.isfinite(r)
    scale = float(np.max(np.abs(r[fin]))) if np.any(fin) else 1.0
    bad_special = (np.isnan(a) != np.isnan(r)) | (np.isinf(r) & (a != r))
    err = np.where(fin & np.isfinite(a), np.abs(a - r), np.where(fin, np.inf, 0.0))
    limit = tol.atol + tol.rtol * scale
    if np.any(bad_special) or np.any(err > limit):
        i = np.unravel_index(int(np.argmax(np.where(bad_special, np.inf, err))), err.shape)
        res.fail(f"{where}: beyond rtol {tol.rtol:g} (scale {scale:.3g}) atol {tol.atol:g}: "
                 f"at {tuple(map(int, i))} got {a[i]!r}, expected {r[i]!r}")
    if scale > 0:
        eps = np.finfo(got.dtype).eps
        ulps.append(float(np.max(np.where(fin, err, 0.0))) / (scale * float(eps)))


def _check_zero_signs(res: Result, where: str, got: np.ndarray, want) -> None:
    """A zero of the wrong sign where the float64 reference is exactly zero
    fails whatever the tolerance: the ULP distance counts +0 and -0 as
    equal, and a relative tolerance cannot see a sign at all."""
    bad = wrong_zero_sign(got, want)
    if np.any(bad):
        i = np.unravel_index(int(np.argmax(bad)), bad.shape)
        res.fail(f"{where}: sign of zero: {int(np.sum(bad))} of {bad.size} elements are "
                 f"zeros of the wrong sign; first at {tuple(map(int, i))}: got {got[i]!r}, "
                 f"expected {float(np.asarray(want, np.float64)[i])!r} (exact)")


def _check_random(res: Result, op: OpInfo, dtype: str, sample) -> None:
    where = f"{op.id} {dtype} [{sample.desc}]"
    tensors = [in_layout(a, sample.layout)[1] for a in sample.inputs]
    tf.manual_seed(1234)
    a = outputs_np(op.call(*tensors, *sample.args, **sample.kwargs))[0]
    tf.manual_seed(1234)
    b = outputs_np(op.call(*tensors, *sample.args, **sample.kwargs))[0]
    shape, lo, hi = op.ref(*[np.asarray(x) for x in sample.inputs], *sample.args, **sample.kwargs)
    if a.shape != tuple(shape):
        res.fail(f"{where}: shape {a.shape} != {tuple(shape)}")
    if a.dtype != np.dtype(dtype):
        res.fail(f"{where}: dtype {a.dtype} != {dtype}")
    if a.size and (np.min(a) < lo or np.max(a) > hi):
        res.fail(f"{where}: values outside [{lo}, {hi}]: [{np.min(a)}, {np.max(a)}]")
    if not np.array_equal(a, b):
        res.fail(f"{where}: not reproducible under manual_seed")


def check_forward(op: OpInfo, dtype: str, backend: str, rng: np.random.Generator) -> Result:
    res = Result("forward", op.id, dtype, backend)
    ulps: list = []
    for sample in op.samples(dtype, rng):
        res.n += 1
        try:
            if op.random:
                _check_random(res, op, dtype, sample)
                continue
            vals, tensors = [], []
            for a in sample.inputs:
                v, t = in_layout(a, sample.layout)
                # math functions take int64/bool inputs as numbers
                to64 = v.dtype.kind == "f" or (op.mp is not None and op.name not in (
                    "neg", "abs", "sign", "square", "relu", "floor", "ceil", "round", "trunc"))
                vals.append(v.astype(np.float64) if to64 else v)
                tensors.append(t)
            got = outputs_np(op.call(*tensors, *sample.args, **sample.kwargs))
            with warnings.catch_warnings():  # NumPy's mean of an empty slice etc.
                warnings.simplefilter("ignore", RuntimeWarning)
                want = refs_np(op.ref(*vals, *sample.args, **sample.kwargs))
            if len(got) != len(want):
                res.fail(f"{op.id} {dtype} [{sample.desc}]: {len(got)} outputs, "
                         f"reference has {len(want)}")
                continue
            for g, w in zip(got, want):
                _compare(res, op, dtype, sample, g, w, ulps)
        except Exception as e:  # a crash is a failure of this sample, not of the run
            res.fail(f"{op.id} {dtype} [{sample.desc}]: raised {type(e).__name__}: {e}")
    if ulps:
        res.max_ulp = max(ulps)
        res.mean_ulp = float(np.mean(ulps))
    t = op.tol_for(dtype, backend)
    res.bound = t.ulp
    return res


def check_errors(op: OpInfo, backend: str) -> Result:
    res = Result("errors", op.id, "-", backend)
    for e in op.errors():
        res.n += 1
        try:
            e.make()
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, e.exc):
                res.fail(f"{op.id} [{e.desc}]: raised {type(exc).__name__} ({exc}), "
                         f"expected {e.exc.__name__}")
            elif not re.search(e.match, str(exc)):
                res.fail(f"{op.id} [{e.desc}]: message {str(exc)!r} does not match {e.match!r}")
            continue
        res.fail(f"{op.id} [{e.desc}]: did not raise {e.exc.__name__}")
    if res.n == 0:
        res.status = "skip"
    return res
