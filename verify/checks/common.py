"""What the checks share: a Result row, tensors in a requested memory
layout, the backends that exist, and outputs as NumPy arrays."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import numpy as np

import tinyfin as tf

DEPTHS = ("quick", "default", "deep", "exhaustive")


def backends() -> List[str]:
    """Backends this build runs; a new backend joins by appearing here."""
    return ["cpu"]


@dataclasses.dataclass
class Result:
    check: str                  # forward / errors / accuracy / gradcheck / grad-accuracy
    op: str
    dtype: str
    backend: str = "cpu"
    status: str = "pass"        # pass / FAIL / skip
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


def in_layout(arr: np.ndarray, layout: str):
    """(values, tensor): arr's values as a tensor in the given layout. An
    'expanded' tensor repeats arr's first row (stride 0), so its values are
    that broadcast; layouts that do not apply to arr's rank fall back to
    contiguous."""
    arr = np.asarray(arr)
    nd = arr.ndim
    if layout == "transposed" and nd >= 2:
        t = tensor_of(np.ascontiguousarray(np.swapaxes(arr, 0, nd - 1)))
        return arr, t.transpose(0, nd - 1)
    if layout == "strided" and nd >= 1:
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), arr.dtype)
        big[..., 1::2] = arr
        el = np.array(big.strides) // big.itemsize
        strides = tuple(int(s) for s in el[:-1]) + (2,)
        return arr, tf.as_strided(tensor_of(big), arr.shape, strides, 1)
    if layout == "expanded" and nd >= 1 and arr.shape[0] > 1:
        small = arr[:1]
        return np.broadcast_to(small, arr.shape).copy(), tensor_of(small).expand(*arr.shape)
    return arr, tensor_of(arr)


def outputs_np(out) -> List[np.ndarray]:
    if isinstance(out, (tuple, list)):
        return [np.array(o.detach().numpy(), copy=True) for o in out]
    return [np.array(out.detach().numpy(), copy=True)]


def refs_np(ref) -> List[np.ndarray]:
    if isinstance(ref, (tuple, list)):
        return [np.asarray(r) for r in ref]
    return [np.asarray(ref)]
