"""What the checks share: a Result row, tensors in a requested memory
layout, the backends that exist, and outputs as NumPy arrays."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import numpy as np

import tinyfin as tf

DEPTHS = ("quick", "default", "deep", "exhaustive")


def backends() -> List[str]:
    """The backends this build can run here (tinyfin.backends.available());
    each check runs on each. A new backend joins by appearing there, with its
    kernels and promises declared in verify/backends.py PROMISES."""
    from ..backends import available
    return available()


@dataclasses.dataclass
class Result:
    check: str                  # forward / errors / accuracy / gradcheck / grad-accuracy
    op: str
    dtype: str
    backend: str = "cpu"
    status: str = "pass"        # pass / FAIL / XFAIL / fallback / skip
    n: int = 0                  # samples or points checked
    max_ulp: Optional[float] = None
    mean_ulp: Optional[float] = None
    bound: Optional[float] = None
    grad_err: Optional[float] = None
    failures: List[str] = dataclasses.field(default_factory=list)
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def fail(self, msg: str) -> None:
        self.status = "FAIL"
        if len(self.failures) < 20:
            self.failures.append(msg)


TF_DTYPE = {"float32": tf.float32, "float64": tf.float64, "int64": tf.int64,
            "bool": tf.bool}


def tensor_of(arr: np.ndarray) -> "tf.Tensor":
    """A contiguous tensor holding arr exactly (any shape, 0-d included)."""
    arr = np.asarray(arr)
    return tf.tensor(arr.reshape(-1), dtype=TF_DTYPE[arr.dtype.name]).reshape(arr.shape)


LAYOUTS = ("contiguous", "transposed", "strided", "expanded", "mT", "row-padded", "mT-padded",
           "flipped")


def _view(arr: np.ndarray, big: np.ndarray, index) -> "tf.Tensor":
    """The tensor view of big[index] (a basic slice of big) over a tensor
    holding big, with that slice's strides and offset."""
    v = big[index]
    el = big.itemsize
    offset = (v.__array_interface__["data"][0] - big.__array_interface__["data"][0]) // el
    return tf.as_strided(tensor_of(big), arr.shape, tuple(s // el for s in v.strides), offset)


def in_layout(arr: np.ndarray, layout: str):
    """(values, tensor): arr's values as a tensor in the given layout.
    transposed: the transpose (first and last dims swapped) of a contiguous
    tensor; mT: the same for the last two dims (a matrix's x.T); strided: every
    other element of the last dim (x[..., ::2]); row-padded: the first n
    columns of rows n + 3 long (unit column stride, row stride > n, a BLAS
    leading dimension > n); mT-padded: the mT of that (row stride 1, column
    stride > rows); flipped: every dim reversed (negative strides). An
    'expanded' tensor repeats arr's first row (stride 0), so its values are
    that broadcast. Layouts that do not apply to arr's rank fall back to
    contiguous."""
    arr = np.asarray(arr)
    nd = arr.ndim
    if layout not in LAYOUTS:
        raise ValueError(f"verify: unknown layout {layout!r} (known: {LAYOUTS})")
    if layout == "transposed" and nd >= 2:
        t = tensor_of(np.ascontiguousarray(np.swapaxes(arr, 0, nd - 1)))
        return arr, t.transpose(0, nd - 1)
    if layout == "mT" and nd >= 2:
        t = tensor_of(np.ascontiguousarray(np.swapaxes(arr, -2, -1)))
        return arr, t.transpose(-2, -1)
    if layout == "strided" and nd >= 1:
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), arr.dtype)
        big[..., 1::2] = arr
        el = np.array(big.strides) // big.itemsize
        strides = tuple(int(s) for s in el[:-1]) + (2,)
        return arr, tf.as_strided(tensor_of(big), arr.shape, strides, 1)
    if layout == "row-padded" and nd >= 2:
        big = np.full(arr.shape[:-1] + (arr.shape[-1] + 3,), 7, arr.dtype)
        big[..., :arr.shape[-1]] = arr
        return arr, _view(arr, big, (Ellipsis, slice(0, arr.shape[-1])))
    if layout == "mT-padded" and nd >= 2:
        sw = np.swapaxes(arr, -2, -1)
        big = np.full(sw.shape[:-1] + (sw.shape[-1] + 3,), 7, arr.dtype)
        big[..., :sw.shape[-1]] = sw
        return arr, _view(sw, big, (Ellipsis, slice(0, sw.shape[-1]))).transpose(-2, -1)
    if layout == "flipped" and nd >= 1 and arr.size > 0:
        flipped = np.ascontiguousarray(arr[(slice(None, None, -1),) * nd])
        return arr, _view(arr, flipped, (slice(None, None, -1),) * nd)
    if layout == "expanded" and nd >= 1 and arr.shape[0] > 1:
        small = arr[:1]
        return np.broadcast_to(small, arr.shape).copy(), tensor_of(small).expand(*arr.shape)
    return arr, tensor_of(arr)


def outputs_np(out) -> List[np.ndarray]:
    """Copies of an op's outputs (a tensor or a tuple of them) as host
    arrays, each moved to the host first when it lives elsewhere."""
    outs = out if isinstance(out, (tuple, list)) else [out]
    return [np.array(_host(o).detach().numpy(), copy=True) for o in outs]


def _host(t):
    return t if t.device == "cpu" else t.to("cpu")


def refs_np(ref) -> List[np.ndarray]:
    if isinstance(ref, (tuple, list)):
        return [np.asarray(r) for r in ref]
    return [np.asarray(ref)]
