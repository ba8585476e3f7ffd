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
"""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from ..backends import REFERENCE, fallback_reason
from ..opdb import OpInfo
from .common import Result, in_layout
from .forward import call
from .parity import run_on


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
        if want_err or got_err:
            if (want_err or "").split(":")[0] != (got_err or "").split(":")[0]:
                res.fail(f"{where}: {got_err or 'no error'} where the cpu backend gives "
                         f"{want_err or 'a result'}")
            continue
        if len(got) != len(want) or not all(_same_bits(g, w) for g, w in zip(got, want)):
            res.fail(f"{where}: the fallback's results are not bitwise the cpu kernels' "
                     f"(another kernel ran?)")
    return res
