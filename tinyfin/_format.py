"""repr() of a Tensor in PyTorch's style: tensor([1., 2.], dtype=tinyfin.float64)."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes

_DEFAULT_DTYPES = (_dtypes.float32, _dtypes.int64, _dtypes.bool_)


def _format_float(arr: np.ndarray):
    """PyTorch's choice: integers as `1.`, else 4 decimals, or scientific
    notation for very large or small magnitudes; padded to one width so
    columns line up."""
    finite = arr[np.isfinite(arr)]
    if finite.size and np.all(finite == np.round(finite)) and \
            np.max(np.abs(finite)) < 1e8:
        fmt = lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)  # noqa: E731
    elif finite.size and (np.max(np.abs(finite)) >= 1e8 or
                          np.min(np.abs(finite[finite != 0]), initial=1) < 1e-4):
        fmt = lambda v: f"{v:.4e}" if np.isfinite(v) else str(v)  # noqa: E731
    else:
        fmt = lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)  # noqa: E731
    width = max((len(fmt(v)) for v in arr.flat), default=0)
    return lambda v: fmt(v).rjust(width)


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
    if t.grad_fn is not None:          # PyTorch shows one or the other
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
