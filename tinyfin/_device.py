"""tinyfin.device: where a tensor's memory lives, with PyTorch's names.

A device is "cpu" or "cuda" with an optional index ("cuda:0"); it compares
equal to its string, and its `code` is the C core's tf_device. Whether this
build can put tensors there is the C core's answer: a device whose
backend cannot run here (CUDA without its library, driver or a GPU) is a
RuntimeError that says why.
"""
from __future__ import annotations

import ctypes
from typing import Optional

from . import _C
from ._args import as_int

_CODES = {"cpu": 0, "cuda": 1}


class device:
    __slots__ = ("type", "index")

    def __init__(self, spec, index: Optional[int] = None) -> None:
        if isinstance(spec, device):
            kind, at = spec.type, spec.index
        elif isinstance(spec, str):
            kind, sep, rest = spec.partition(":")
            at = None
            if sep:
                if not rest.isdigit():
                    raise RuntimeError(f"Invalid device string: {spec!r} (expected "
                                       "'cpu', 'cuda' or 'cuda:N')")
                at = int(rest)
        else:
            raise TypeError(f"device: expected a string such as 'cpu' or "
                            f"'cuda:0', got {type(spec).__name__}")
        if kind not in _CODES:
            raise RuntimeError(f"Expected one of cpu, cuda device type at start "
                               f"of device string: {spec!r}")
        if index is not None:
            at = as_int("device", "index", index, 0, 2 ** 31 - 1)
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", at)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    @property
    def code(self) -> int:
        return _CODES[self.type]

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


CPU = device("cpu")


def check_device(op: str, spec) -> device:
    """The device spec names ("cpu" for None), which must be one this build
    has a backend for: else a RuntimeError saying how tinyfin was built."""
    if spec is None:
        return CPU
    try:
        dev = device(spec) if not isinstance(spec, device) else spec
    except (RuntimeError, TypeError) as e:
        raise RuntimeError(f"{op}: unknown device {spec!r}: {e}") from None
    if _C.tf_backend_current(dev.code) is None:
        why = why_unavailable(dev.type) or "it has no backend here"
        raise RuntimeError(f"{op}: device {str(dev)!r} is not available: {why}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= _C.tf_cuda_device_count():
        raise RuntimeError(f"{op}: device {str(dev)!r} does not exist: this machine has "
                           f"{_C.tf_cuda_device_count()} CUDA device(s)")
    return dev


def why_unavailable(backend: str) -> Optional[str]:
    """None when the named backend of this build can run here, else the core's
    reason why not (for CUDA: no library, no driver, no device, a forked
    process)."""
    for i in range(_C.tf_backend_count()):
        if _C.tf_backend_name(i).decode() == backend:
            why = ctypes.c_char_p()
            ok = _C.tf_backend_available(i, ctypes.byref(why))
            return None if ok else (why.value or b"").decode()
    return f"this build of tinyfin has no {backend} backend and runs on cpu only"
