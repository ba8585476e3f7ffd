"""tinyfin.backends: which kernels run an op.

Every op runs the kernel of one backend, chosen per call from its operands'
device: this thread's choice (`use`), else the process default. `cpu` holds
the reference kernels of every op; `blas` runs matrix products through
OpenBLAS (the PyPI package scipy-openblas32, loaded at run time) and falls
back to the cpu kernels for every other op. The default for CPU tensors is
the fastest backend available (blas when its library loads) unless the
environment variable TINYFIN_BACKEND names another.

    tinyfin.backends.available()        # {"cpu": None, "blas": None}: None, or why not
    with tinyfin.backends.use("cpu"):   # this thread only; also a decorator
        y = x @ w
    tinyfin.backends.which("matmul", tinyfin.float32)   # "blas"
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from typing import Dict, Optional

from .. import _C
from .. import dtypes as _dtypes
from .._device import CPU, device
from . import blas as _blas
from . import cuda  # noqa: F401  (sets the cuBLAS path; tinyfin.backends.cuda)

_DEVICES = {"cpu": 0, "blas": 0, "cuda": 1}  # the device each backend runs on


def names() -> list:
    """Every backend this build has, available or not."""
    return [_C.tf_backend_name(i).decode() for i in range(_C.tf_backend_count())]


def available() -> Dict[str, Optional[str]]:
    """Each backend of this build: None when it can run here, else why not."""
    out = {}
    for i, name in enumerate(names()):
        why = ctypes.c_char_p()
        ok = _C.tf_backend_available(i, ctypes.byref(why))
        out[name] = None if ok else _why_not.get(name) or (why.value or b"").decode()
    return out


def current(device_: object = CPU) -> Optional[str]:
    """The backend that runs this thread's ops on tensors of that device."""
    name = _C.tf_backend_current(device(device_).code)
    return None if name is None else name.decode()


def _device_of(name: str) -> int:
    if name not in names():
        raise ValueError(f"backends: unknown backend {name!r}; this build has "
                         f"{', '.join(names())}")
    return _DEVICES.get(name, 0)


class _Use(contextlib.ContextDecorator):
    """with use(name): ... (or @use(name)): this thread's ops on name's device
    run on that backend; the previous choice comes back afterwards. That is
    the thread's own choice, or none: a thread that had not chosen follows
    the process default (set_default) again, rather than staying on the
    backend that was the default when the block began."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.code = _device_of(name)
        self._saved = threading.local()

    def __enter__(self):
        stack = getattr(self._saved, "stack", None)
        if stack is None:
            stack = self._saved.stack = []
        previous = _C.tf_backend_chosen(self.code)  # None: no choice
        _C.check(_C.tf_backend_use(self.name.encode(), self.code))
        stack.append(previous)  # only once entered: a failed enter has no exit
        return self

    def __exit__(self, *exc) -> bool:
        previous = self._saved.stack.pop()
        _C.check(_C.tf_backend_use(previous, self.code))
        return False


def use(name: str) -> _Use:
    return _Use(name)


def set_default(name: str) -> None:
    """The process-wide backend of name's device (threads that chose one
    with use() keep theirs)."""
    _device_of(name)
    _C.check(_C.tf_backend_set_default(name.encode()))


def which(op: str, dtype=None, device_: object = CPU) -> Optional[str]:
    """The backend whose kernel op ("matmul", "exp", "add", "sum", "softmax",
    "gather", ...) runs now for dtype on device_, fallbacks included; None
    when no backend runs it."""
    dt = _dtypes.float32 if dtype is None else _dtypes.get(dtype, "which")
    out = ctypes.c_char_p()
    _C.check(_C.tf_backend_which(op.encode(), dt.code, device(device_).code,
                                 ctypes.byref(out)))
    return None if out.value is None else out.value.decode()


def cpu_only(backend: str) -> Dict[str, str]:
    """The kernel slots a device backend leaves to the cpu, each with why
    ({} for a host backend, whose missing slots fall back to the cpu's
    kernels); an op needing one of them refuses that device's tensors with
    the reason."""
    _device_of(backend)  # a known backend
    i = names().index(backend)
    out = {}
    for slot in _C.NAMED_SLOTS:
        why = _C.tf_backend_cpu_only(i, slot.encode())
        if why is not None:
            out[slot] = why.decode()
    return out


def _choose_default() -> None:
    """TINYFIN_BACKEND, else the fastest available for CPU tensors."""
    asked = os.environ.get("TINYFIN_BACKEND")
    if asked:
        why = available().get(asked, "not a backend of this build")
        if why is not None:
            raise ImportError(f"tinyfin: TINYFIN_BACKEND={asked!r} cannot be used: "
                              f"{why} (available: "
                              f"{', '.join(n for n, w in available().items() if w is None)})")
        set_default(asked)
        return
    if available().get("blas", "absent") is None:
        set_default("blas")


__all__ = ["available", "current", "names", "set_default", "use", "which"]

# Why a backend this build has cannot run, where Python knows better than the
# core (a missing package).
_why_not = {"blas": _blas.load()}
_choose_default()
