"""Check (a): every sample of every op against its NumPy float64 reference,
and (errors) every error input raises the declared exception and message."""
from __future__ import annotations

import re
import warnings

import numpy as np

import tinyfin as tf

from ..op_kinds import UNARY_KINDS
from ..opdb import OUT, OpInfo
from ..ulp import ulp_distance, wrong_zero_sign
from .common import Result, in_layout, outputs_np, refs_np

FLOATS = ("float32", "float64")


def compare(res: Result, op: OpInfo, dtype: str, sample, got, want, ulps: list,
            allowed=None) -> None:
    """One output against its reference: shape, dtype, exact integers and
    bools, the sign of exact zeros, then the entry's tolerance, or, given
    `allowed` (an array of |error| bounds per element), that bound."""
    tol = op.tol_for(dtype, res.backend)
    where = f"{op.id} {dtype} [{sample.desc}]"
    if got.shape != want.shape:
        res.fail(f"{where}: shape {got.shape} != reference {want.shape}")
        return
    requested = sample.kwargs.get("dtype")
    if requested is not None or op.kind == "creation" or op.name == "to":
        # dtype= names the result's dtype (the references of creation ops and
        # of to() are built in the dtype the op must give)
        expected_dtype = want.dtype if requested is None else np.dtype(requested.numpy)
        if got.dtype != expected_dtype:
            res.fail(f"{where}: result dtype {got.dtype}, expected {expected_dtype}")
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
            and requested is None and got.dtype != np.dtype(dtype):
        res.fail(f"{where}: result dtype {got.dtype}, expected {dtype}")
        return
    if got.size == 0:
        return
    _check_zero_signs(res, where, got, want)
    with np.errstate(all="ignore"):
        expect = np.asarray(want, np.float64).astype(got.dtype)
    if allowed is not None:
        _within_bound(res, where, got, want, allowed)
        return
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
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: masked out
        err = np.where(fin & np.isfinite(a), np.abs(a - r), np.where(fin, np.inf, 0.0))
    limit = tol.atol + tol.rtol * scale
    if np.any(bad_special) or np.any(err > limit):
        i = np.unravel_index(int(np.argmax(np.where(bad_special, np.inf, err))), err.shape)
        res.fail(f"{where}: beyond rtol {tol.rtol:g} (scale {scale:.3g}) atol {tol.atol:g}: "
                 f"at {tuple(map(int, i))} got {a[i]!r}, expected {r[i]!r}")
    if scale > 0:
        eps = np.finfo(got.dtype).eps
        ulps.append(float(np.max(np.where(fin, err, 0.0))) / (scale * float(eps)))


def _within_bound(res: Result, where: str, got, want, allowed) -> None:
    """|got - want| <= allowed elementwise; NaN and inf where the reference has them."""
    a, r = got.astype(np.float64), np.asarray(want, np.float64)
    allowed = np.broadcast_to(np.asarray(allowed, np.float64), r.shape)
    fin = np.isfinite(r)
    bad_special = (np.isnan(a) != np.isnan(r)) | (np.isinf(r) & (a != r))
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: masked out
        err = np.where(fin & np.isfinite(a), np.abs(a - r), np.where(fin, np.inf, 0.0))
    if np.any(bad_special) or np.any(err > allowed):
        ratio = np.where(bad_special, np.inf, err / np.where(allowed > 0, allowed, np.inf))
        ratio = np.where((err > 0) & (allowed == 0), np.inf, ratio)
        i = np.unravel_index(int(np.argmax(ratio)), err.shape)
        res.fail(f"{where}: {int(np.sum(bad_special | (err > allowed)))} of {err.size} elements "
                 f"beyond the error bound; worst at {tuple(map(int, i))}: got {a[i]!r}, "
                 f"expected {r[i]!r} (bound {allowed[i]:.3g})")


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
    tensors = [in_layout(a, sample.layout_at(i))[1] for i, a in enumerate(sample.inputs)]
    tf.manual_seed(1234)
    a = outputs_np(op.call(*tensors, *sample.args, **sample.kwargs))[0]
    tf.manual_seed(1234)
    b = outputs_np(op.call(*tensors, *sample.args, **sample.kwargs))[0]
    shape, lo, hi = op.ref(*[np.asarray(x) for x in sample.inputs], *sample.args, **sample.kwargs)
    if a.shape != tuple(shape):
        res.fail(f"{where}: shape {a.shape} != {tuple(shape)}")
    requested = sample.kwargs.get("dtype")
    want_dtype = np.dtype(dtype if requested is None else requested.numpy)
    if a.dtype != want_dtype:
        res.fail(f"{where}: dtype {a.dtype} != {want_dtype}")
    if a.size and (np.min(a) < lo or np.max(a) > hi):
        res.fail(f"{where}: values outside [{lo}, {hi}]: [{np.min(a)}, {np.max(a)}]")
    if not np.array_equal(a, b):
        res.fail(f"{where}: not reproducible under manual_seed")


def sample_inputs(op: OpInfo, sample) -> tuple:
    """(values for the reference, tensors for the op) of a sample's inputs."""
    vals, tensors = [], []
    for i, a in enumerate(sample.inputs):
        v, t = in_layout(a, sample.layout_at(i))
        # math functions take int64/bool inputs as numbers (the NUM ops of
        # ops.def keep the dtype instead); creation ops only copy or imitate
        # their inputs, in the inputs' own dtype
        to64 = op.kind != "creation" and (v.dtype.kind == "f" or (
            op.mp is not None and UNARY_KINDS.get(op.name) != "NUM"))
        vals.append(v.astype(np.float64) if to64 else v)
        tensors.append(t)
    return vals, tensors


def call(op: OpInfo, tensors, sample):
    """The op on a sample; a keyword out=OUT becomes a buffer of the result's
    shape and dtype, filled with junk, which the op must fill and return."""
    names = [k for k, v in sample.kwargs.items() if v is OUT]
    if not names:
        return op.call(*tensors, *sample.args, **sample.kwargs)
    plain = {k: v for k, v in sample.kwargs.items() if k not in names}
    like = op.call(*tensors, *sample.args, **plain)
    buffer = tf.empty_like(like).fill_(float("nan") if like.dtype.is_floating_point else
                                       (True if like.dtype is tf.bool else 2 ** 62))
    got = op.call(*tensors, *sample.args, **plain, **{names[0]: buffer})
    if got is not buffer:
        raise AssertionError(f"with {names[0]}= the op returned another tensor than the buffer")
    return got


def reference(op: OpInfo, vals, sample) -> list:
    with warnings.catch_warnings():  # NumPy's mean of an empty slice etc.
        warnings.simplefilter("ignore", RuntimeWarning)
        return refs_np(op.ref(*vals, *sample.args,
                              **{k: v for k, v in sample.kwargs.items() if v is not OUT}))


def compare_all(res: Result, op: OpInfo, dtype: str, sample, got, want, ulps: list,
                allowed=None) -> None:
    if len(got) != len(want):
        res.fail(f"{op.id} {dtype} [{sample.desc}]: {len(got)} outputs, "
                 f"reference has {len(want)}")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        compare(res, op, dtype, sample, g, w, ulps, None if allowed is None else allowed[i])


def check_forward(op: OpInfo, dtype: str, backend: str, rng: np.random.Generator) -> Result:
    res = Result("forward", op.id, dtype, backend)
    ulps: list = []
    for sample in op.samples(dtype, rng):
        res.n += 1
        try:
            if op.random:
                _check_random(res, op, dtype, sample)
                continue
            vals, tensors = sample_inputs(op, sample)
            got = outputs_np(call(op, tensors, sample))
            compare_all(res, op, dtype, sample, got, reference(op, vals, sample), ulps)
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
