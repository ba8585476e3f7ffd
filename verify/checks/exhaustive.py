"""Check (b), exhaustive mode: every one of the 2^32 float32 inputs of a
unary math op, against a float64 reference, with the hard cases confirmed in
mpmath.

The float64 reference is NumPy's float64 function (glibc's libm, independent
of tinyfin) when it runs at NumPy speed; for ops whose NumPy reference is a
Python-level loop (erf, gelu, ...) it is tinyfin's own float64 kernel, whose
accuracy the ordinary sweep measures against mpmath (<= 2 float64 ULP).
Either is ~2^-52 relative, so an error measured against it in float32 ULPs is
off by at most ~2^-28 ULP: only points whose measured error lies within
CONFIRM_MARGIN of the bound (or beyond it) can be misjudged, and those are
recomputed in mpmath at 128 bits (accuracy.mp_pairs) before they count,
as is each chunk's largest finite error, so the reported maximum is exact.
"""
from __future__ import annotations

import time
from typing import Callable, Optional, Tuple

import numpy as np

import tinyfin as tf

from ..opdb import OpInfo
from ..ulp import real_ulp_error
from .accuracy import float64_reference, mp_pairs
from .common import Result

CHUNK = 1 << 22                 # bit patterns per step (16 MiB of float32)
CONFIRM_MARGIN = 1e-6           # in float32 ULPs; the reference is ~4e-9 ULP off
MAX_CONFIRM = 2000              # mpmath confirmations per chunk (a broken op has millions)


def errors_vs_float64(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Real-valued float32 ULP error of got against the float64 values ref,
    as ulp.real_ulp_error(got, ref, 0, float32) but in a few integer passes
    (that function's generality costs 4x here). The unit is the float32 ULP
    of ref's binade, read from ref's exponent bits (2^-149 below the normal
    range); non-finite results and zeros of the wrong sign compare exactly."""
    with np.errstate(all="ignore"):
        expect = ref.astype(np.float32)
    e = ((ref.view(np.uint64) >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    unit = ((np.maximum(e - 1023, -126) - 23 + 1023) << 52).view(np.float64)
    with np.errstate(all="ignore"):
        err = np.abs(got.astype(np.float64) - ref) / unit
    same = (got == expect) | (np.isnan(got) & np.isnan(expect))
    exact_only = ~np.isfinite(got) | ~np.isfinite(expect)
    wrong_zero = (got == 0) & (expect == 0) & (np.signbit(got) != np.signbit(expect))
    return np.where(exact_only | wrong_zero, np.where(same & ~wrong_zero, 0.0, np.inf), err)


def check_exhaustive(op: OpInfo, backend: str, pool=None, bits: Tuple[int, int] = (0, 1 << 32),
                     progress: Optional[Callable[[float], None]] = None,
                     call: Optional[Callable] = None) -> Result:
    """Every float32 bit pattern in [bits[0], bits[1]) through op (or `call`,
    a stand-in used by the tests to plant a fault)."""
    res = Result("exhaustive", op.id, "float32", backend)
    res.bound = op.bound_for("float32", backend)
    name, ref = float64_reference(op)
    res.extra["reference"] = name
    call = call or op.call
    start, stop = bits
    worst, worst_x, total, beyond = -1.0, None, 0.0, 0
    for lo in range(start, stop, CHUNK):
        hi_bits = min(lo + CHUNK, stop)
        x = np.arange(lo, hi_bits, dtype=np.uint64).astype(np.uint32).view(np.float32)
        got = np.asarray(call(tf.from_numpy(x)).numpy())
        with np.errstate(invalid="ignore"):     # signalling NaN patterns
            x64 = x.astype(np.float64)
        r = ref(x64)
        err = errors_vs_float64(got, r)
        # mpmath decides near the bound and at the chunk's worst point;
        # points it has no real value for keep the float64 verdict
        suspects = np.nonzero(err > res.bound - CONFIRM_MARGIN)[0][:MAX_CONFIRM]
        confirm = np.union1d(suspects, [int(np.argmax(np.where(np.isfinite(err), err, -1.0)))])
        p = mp_pairs(op, "f", x64[confirm], pool)
        ok = p[:, 2] > 0
        idx = confirm[ok]
        err[idx] = real_ulp_error(got[idx], p[ok, 0], p[ok, 1], np.float32)
        fin = np.isfinite(err)
        total += float(np.sum(err[fin]))
        beyond += int(np.sum(err > res.bound))
        i = int(np.argmax(np.where(np.isnan(err), -1.0, err)))
        if err[i] > worst:
            worst, worst_x = float(err[i]), (float(x[i]), float(got[i]))
        res.n += int(x.size)
        if progress:
            progress((hi_bits - start) / (stop - start))
    res.max_ulp = worst
    res.mean_ulp = total / max(res.n, 1)
    if worst_x is not None:
        # as the accuracy check's (x, ulp), with the result it got
        res.extra["worst"] = {"x": worst_x[0], "ulp": worst, "got": worst_x[1]}
    if beyond:
        res.fail(f"{op.id} float32: {beyond} of {res.n} inputs beyond {res.bound} ULP; "
                 f"worst x={np.float32(worst_x[0])!r}: got {np.float32(worst_x[1])!r} "
                 f"({worst:.3g} ULP)")
    return res
