"""Check `subgradient`: the gradients tinyfin documents at points where the
derivative is undefined, as values. gradcheck moves its inputs off kinks
and ties (central differences straddle them), and the mpmath sweeps never
land on them, so without this check relu'(0) = 1 or a tie given twice the
gradient would pass everything.

Each case of an entry's `subgradients` (opdb.Subgrad) runs the op on float
inputs that require grad, back-propagates its upstream gradient and
compares every input's gradient with the expected array: exactly (NaN
matches NaN; the sign of a zero gradient is not part of the convention),
or within the case's `ulp` for entries that are ordinary rounded values.
"""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from ..opdb import OpInfo
from ..ulp import ulp_distance
from .common import Result, outputs_np, tensor_of


def _run(op: OpInfo, case, dtype: str) -> list:
    tensors = []
    for a in case.inputs:
        a = np.asarray(a)
        t = tensor_of(a.astype(dtype) if a.dtype.kind == "f" else a)
        tensors.append(t.requires_grad_() if a.dtype.kind == "f" else t)
    with tf.enable_grad():
        out = op.call(*tensors, *case.args, **case.kwargs)
        out = out[0] if isinstance(out, (tuple, list)) else out
        g = tf.ones_like(out) if case.grad is None else tensor_of(np.asarray(case.grad, dtype))
        out.backward(g)
    return [None if t.grad is None else outputs_np(t.grad)[0] for t in tensors]


def check_subgradients(op: OpInfo, dtype: str, backend: str) -> Result:
    res = Result("subgradient", op.id, dtype, backend)   # run with `backend` chosen
    for case in op.subgradients(dtype):
        res.n += 1
        where = f"{op.id} {dtype} [{case.desc}]"
        try:
            grads = _run(op, case, dtype)
        except Exception as e:  # noqa: BLE001  (a crash fails this case only)
            res.fail(f"{where}: raised {type(e).__name__}: {e}")
            continue
        for i, (got, want) in enumerate(zip(grads, case.expected)):
            if want is None:
                continue
            want = np.asarray(want, np.float64).astype(dtype)
            if got is None:
                res.fail(f"{where}: input {i} got no gradient, expected {want.tolist()}")
            elif got.shape != want.shape or got.dtype != want.dtype:
                res.fail(f"{where}: gradient of input {i} is {got.dtype}{got.shape}, "
                         f"expected {want.dtype}{want.shape}")
            elif np.any(ulp_distance(got, want) > case.ulp):
                res.fail(f"{where}: gradient of input {i} is {got.tolist()}, expected "
                         f"{want.tolist()}")
    return res
