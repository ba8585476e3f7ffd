"""tinyfin.Tensor: a Python handle on one C tensor, with PyTorch's names.

A Tensor holds its C tensor through `_h`, a `Handle`: a ctypes c_void_p
that owns exactly one reference and gives it back when it dies. Calls pass
the handle object itself (no conversion, and a temporary Tensor cannot free
its C tensor while a call still uses the handle). Ops live in the modules
grouped by concern (elementwise, reduction, shape, indexing, linalg,
creation); each registers itself as a function of `tinyfin` and, where
PyTorch has one, as a method here, so `x.exp()` and `tinyfin.exp(x)` are the
same code. Pickling (`__reduce__`) is attached by creation.py, next to the
`tensor()` that rebuilds a pickled tensor.
"""
from __future__ import annotations

import contextlib
import ctypes
import operator
from ctypes import byref, c_double, c_int64, c_void_p
from typing import Any, Callable, Optional, Tuple

import numpy as np

from . import _C, _device, _exports
from . import dtypes as _dtypes
from ._args import norm_dim as _norm_dim  # noqa: F401  (re-exported to the op modules)
from ._C import Handle  # noqa: F401  (re-exported to the op modules)
from ._format import format_tensor

_release = _C.fast.tf_tensor_release
_check = _C.check


class Tensor:
    """An n-dimensional array of float32, float64, int64 or bool on the cpu.

    Attributes read from the C core are cached: a tensor's shape and dtype
    never change after it is made (in-place ops keep both).
    """

    # The handle has a slot; everything else has a class-level default, so a
    # new tensor stores nothing else until something differs from it.
    __slots__ = ("_h", "__dict__", "__weakref__")
    _shape: Optional[Tuple[int, ...]] = None
    _dtype: Optional[_dtypes.dtype] = None
    _rg: bool = False                   # requires_grad, read fast by the ops
    _grad: Optional["Tensor"] = None    # .grad; the engine writes it directly
    grad_fn: Any = None                 # the autograd Node that made this tensor
    _hooks: Optional[list] = None       # gradient hooks of a leaf

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def _set_grad(self, value: Optional["Tensor"]) -> None:
        # Checked as PyTorch does: a gradient of another shape or dtype
        # would break the next accumulation, or silently broadcast into it.
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError("assigned grad expected to be a Tensor or None but "
                                f"got grad of type {type(value).__name__}")
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type "
                                   f"(expected {self.dtype.name}, got {value.dtype.name})")
            if value.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size "
                                   f"(expected {self.shape}, got {value.shape})")
        self._grad = value

    def _del_grad(self) -> None:
        self._grad = None

    # The getter is C code (attrgetter), so reading .grad costs little more
    # than a plain attribute; only assignments run the checks.
    grad = property(operator.attrgetter("_grad"), _set_grad, _del_grad,
                    "The gradient accumulated by backward(), or None.")

    def __init__(self, *args, **kwargs) -> None:
        raise TypeError("use tinyfin.tensor(data) or a creation function "
                        "(zeros, ones, empty, ...) to make a Tensor")

    # ---- metadata --------------------------------------------------------
    @property
    def shape(self) -> Tuple[int, ...]:
        shape = self._shape
        if shape is None:
            ndim = _C.tf_tensor_ndim(self._h)
            buf = (c_int64 * max(ndim, 1))()
            _C.tf_tensor_shape(self._h, buf)
            shape = self._shape = tuple(buf[:ndim])
        return shape

    @property
    def dtype(self) -> _dtypes.dtype:
        dt = self._dtype
        if dt is None:
            dt = self._dtype = _dtypes.BY_CODE[_C.tf_tensor_dtype(self._h)]
        return dt

    @property
    def device(self) -> _device.device:
        code = _C.tf_tensor_device(self._h)
        return _device.CPU if code == 0 else _device.device("cuda", 0)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def size(self, dim: Optional[int] = None):
        if dim is None:
            return self.shape
        return self.shape[_norm_dim("size", dim, self.ndim)]

    def stride(self, dim: Optional[int] = None):
        ndim = self.ndim
        buf = (c_int64 * max(ndim, 1))()
        _C.tf_tensor_strides(self._h, buf)
        strides = tuple(buf[:ndim])
        return strides if dim is None else strides[_norm_dim("stride", dim, ndim)]

    def storage_offset(self) -> int:
        return _C.tf_tensor_offset(self._h)

    def is_contiguous(self) -> bool:
        return bool(_C.tf_tensor_is_contiguous(self._h))

    def element_size(self) -> int:
        return self.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ---- interop ---------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A NumPy view of the same memory (no copy); it keeps this tensor's
        storage alive for as long as it exists."""
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that "
                               "requires grad; use tensor.detach().numpy()")
        if not _C.tf_tensor_on_host(self._h):
            raise TypeError(f"numpy: can't convert a tensor on {self.device} to "
                            "numpy, which reads host memory; copy it first with "
                            ".cpu()")
        shape, dt = self.shape, self.dtype
        nbytes = _C.tf_tensor_storage_nbytes(self._h)
        raw = (ctypes.c_char * max(nbytes, 1)).from_address(
            _C.tf_tensor_storage_data(self._h))
        raw._owner = self  # the buffer keeps the tensor (and its storage) alive
        strides = tuple(s * dt.itemsize for s in self.stride())
        # An empty view may point past its storage; it reads nothing.
        offset = self.storage_offset() * dt.itemsize if self.numel() else 0
        return np.ndarray(shape, dtype=dt.numpy, buffer=raw, offset=offset,
                          strides=strides)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self.detach().numpy() if self.requires_grad else self.numpy()
        if dtype is not None:
            arr = arr.astype(dtype)
        return arr.copy() if copy else arr

    def tolist(self):
        return self.detach().numpy().tolist()

    def item(self):
        f, i = c_double(), c_int64()
        _check(_C.tf_tensor_item(self._h, byref(f), byref(i)))
        dt = self.dtype
        if dt.is_floating_point:
            return f.value
        return bool(i.value) if dt is _dtypes.bool_ else i.value

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype is not _dtypes.int64 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be "
                            "converted to an index")
        return self.item()

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} "
                               "elements is ambiguous; use .any() or .all()")
        return bool(self.item())

    def __repr__(self) -> str:
        return format_tensor(self)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def detach(self) -> "Tensor":
        """The same data (and the same C tensor, whose geometry never
        changes) without autograd history."""
        return _alias(self)

    def _get_data(self) -> "Tensor":
        return _alias(self)

    def _set_data(self, value: "Tensor") -> None:
        # As PyTorch's `p.data = t`: this very object now holds t's data
        # (shape and dtype included), keeping its identity, requires_grad
        # and .grad; Module.to() converts parameters this way, so an
        # optimizer made before it still holds them.
        require_tensor("data", value, "value")
        _retain(value._h)
        self._h = Handle(value._h.value)
        self.__dict__.pop("_shape", None)
        self.__dict__.pop("_dtype", None)

    data = property(_get_data, _set_data, doc="This tensor without autograd "
                    "history (a view of the same storage); assigning replaces "
                    "what the tensor holds, as in PyTorch.")


_new_tensor = object.__new__


def _wrap(h: Handle) -> Tensor:
    """A Tensor holding the handle h (and so its reference)."""
    t = _new_tensor(Tensor)
    t._h = h
    return t


_retain = _C.fast.tf_tensor_retain


def _alias(t: Tensor) -> Tensor:
    """Another Python Tensor owning its own reference to t's C tensor."""
    h = t._h
    _retain(h)
    alias = _new_tensor(Tensor)
    alias._h = Handle(h.value)
    return alias


def _call(fn: Callable, *args) -> Tensor:
    """Run a C op that writes one tensor and wrap the result."""
    out = Handle()
    status = fn(*args, byref(out))
    if status:
        raise _C.error(status)
    return _wrap(out)


def require_tensor(op: str, x, name: str = "input") -> "Tensor":
    """x itself, or a TypeError naming op when x is not a Tensor (a list or
    an array would otherwise fail deep inside with an AttributeError)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as {name}, got "
                        f"{type(x).__name__}")
    return x


@contextlib.contextmanager
def renamed_errors(op: str, *inner: str):
    """Inside it, an error raised by one of the `inner` ops that `op` calls
    to do its work names `op` instead: the user called op, not them.
    (The rest of the message, the shapes and what would be valid, stays.)"""
    try:
        yield
    except (ValueError, TypeError, IndexError) as e:
        message = str(e)
        for name in inner:
            if message.startswith(name + ":"):
                raise type(e)(op + message[len(name):]) from None
        raise


def register(*names: str, method: bool = True, function: bool = True):
    """Decorator: expose fn as tinyfin.<name> and (if method) Tensor.<name>."""
    def deco(fn):
        for name in names or (fn.__name__,):
            if method:
                setattr(Tensor, name, fn)
            if function:
                _exports.FUNCTIONS[name] = fn
        return fn
    return deco
