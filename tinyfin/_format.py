"""repr() of a Tensor in PyTorch's style: tensor([1., 2.], dtype=tinyfin.float64)."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes

_DEFAULT_DTYPES = (_dtypes.float32, _dtypes.int64, _dtypes.bool_)


def _format_float(arr: np.ndarray):
    finite = arr[np.isfinite(arr)]
    if finite.size and np.all(finite == np.round(finite)) and \
            np.max(np.abs(finite)) < 1e8:
        return lambda v: (f"{v:.0f}." if np.isfinite(v) else str(v))
    big = finite.size and (np.max(np.abs(finite)) >= 1e8 or
                           np.min(np.abs(finite[finite != 0]), initial=1) < 1e-4)
    if big:
        return lambda v: f"{v:.4e}" if np.isfinite(v) else str(v)
    return lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)


def format_tensor(t) -> str:
    arr = t.detach().numpy()
    kwargs = {}
    if arr.dtype.kind == "f":
        kwargs["formatter"] = {"float_kind": _format_float(arr)}
    body = np.array2string(arr, separator=", ", prefix="tensor(",
                           threshold=1000, edgeitems=3, **kwargs)
    extras = []
    if arr.size == 0 and arr.ndim != 1:
        extras.append(f"size={tuple(arr.shape)}")
    if t.dtype not in _DEFAULT_DTYPES or (arr.size == 0 and t.dtype is not _dtypes.float32):
        extras.append(f"dtype={t.dtype!r}")
    if t.requires_grad:
        extras.append("requires_grad=True")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
