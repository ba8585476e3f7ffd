"""Check `fallback`: an op x dtype that a backend leaves to the cpu kernels.

Where a backend has no kernel of its own for an op (verify/backends.py
own_kernels: none of the op's kernel slots is the backend's for that dtype),
the full checks do not run there: they would test the cpu kernels a second
time and call it that backend. The row says so (status "fallback", with the
slots and the backend each runs on) and makes one cheap check that the
fallback really is the cpu kernel: every sample of the op, run with the
backend chosen, gives bitwise the results (or the same exception) it gives
on the reference backend. A dispatch that lands on another kernel fails it.
Random ops are seeded alike before each call, so they draw the same numbers.

A device backend (cuda) has no fallback: its tensors never reach a cpu
kernel. There an op either refuses them with the backend's reason (an op
needing a slot the backend lists as CPU-only: the row passes and says
so), or runs on the device's own kernels of the ops it is made of (a
composite op declaring no slot), whose results must then match the
reference within the op's tolerance for that backend, as parity requires.
"""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from ..backends import REFERENCE, device_of, fallback_reason
from ..opdb import OpInfo
from .common import Result, in_layout
from .forward import call
from .parity import compare_outputs, run_on

REFUSAL = "backend does not run this op"


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _outcome(backend, op, sample, tensors):
    """(outputs, None) or (None, the exception's type and message)."""
    fn = lambda *ts: call(op, ts, sample)  # noqa: E731
    try:
        if op.random:
            tf.manual_seed(1234)
        return run_on(backend, fn, tensors), None
    except Exception as e:  # noqa: BLE001  (compared with the reference's)
        return None, f"{type(e).__name__}: {e}"


def check_fallback(op: OpInfo, dtype: str, backend: str, rng: np.random.Generator) -> Result:
    res = Result("fallback", op.id, dtype, backend, status="fallback")
    res.extra["reason"] = fallback_reason(op, dtype, backend)
    on_device = device_of(backend) != device_of(REFERENCE)
    for sample in op.samples(dtype, rng):
        res.n += 1
        where = f"{op.id} {dtype} [{sample.desc}] on {backend}"
        try:
            tensors = [in_layout(a, sample.layout_at(i))[1] for i, a in enumerate(sample.inputs)]
        except Exception as e:  # noqa: BLE001
            res.fail(f"{where}: cannot make the inputs: {type(e).__name__}: {e}")
            continue
        want, want_err = _outcome(REFERENCE, op, sample, tensors)
        got, got_err = _outcome(backend, op, sample, tensors)
        if on_device:
            _check_on_device(res, op, dtype, backend, where, got, got_err, want, want_err)
            continue
        if want_err or got_err:
            _same_error(res, where, got_err, want_err)
            continue
        if len(got) != len(want) or not all(_same_bits(g, w) for g, w in zip(got, want)):
            res.fail(f"{where}: the fallback's results are not bitwise the cpu kernels' "
                     f"(another kernel ran?)")
    return res


def _same_error(res, where, got_err, want_err) -> None:
    """Fails unless both raised the same exception type (or neither did)."""
    if (want_err or "").split(":")[0] != (got_err or "").split(":")[0]:
        res.fail(f"{where}: {got_err or 'no error'} where the cpu backend gives "
                 f"{want_err or 'a result'}")


def _check_on_device(res, op, dtype, backend, where, got, got_err, want, want_err) -> None:
    """A device backend's outcome: its refusal, or the reference's results
    within tolerance (or the reference's error)."""
    if got_err and f"the {backend} {REFUSAL}" in got_err:
        res.extra["reason"] = f"cpu-only on {backend}: {got_err.split(': ', 1)[1]}"
        return
    if want_err or got_err:
        _same_error(res, where, got_err, want_err)
        return
    if len(got) != len(want):
        res.fail(f"{where}: {len(got)} outputs, the cpu backend gives {len(want)}")
        return
    tol = op.tol_for(dtype, backend)
    for g, w in zip(got, want):
        failures, _ = compare_outputs(g, w, tol, where)
        for f in failures:
            res.fail(f)
