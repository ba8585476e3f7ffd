"""Creation: tensor() from data, from_numpy, empty/zeros/ones/full, arange,
linspace, eye, the *_like forms and random tensors from the counter-based
generator (identical for one seed on every machine and thread count)."""
from __future__ import annotations

import math
import numbers
from ctypes import byref, c_void_p
from typing import Optional, Sequence, Union

import numpy as np

from . import _C
from . import dtypes as _dtypes
from .tensor import Tensor, _call, register, renamed_errors, require_tensor

DTypeLike = Union[_dtypes.dtype, str, None]


def _shape_args(op: str, size) -> tuple:
    """zeros(2, 3), zeros((2, 3)) and zeros([2, 3]) all mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if len(size) == 1 and isinstance(size[0], Tensor):
        size = tuple(size[0].tolist())
    try:
        shape = tuple(int(s) for s in size)
        if any(s != d for s, d in zip(shape, size)):
            raise TypeError
    except (TypeError, ValueError):
        raise TypeError(f"{op}: size must be a sequence of ints, got "
                        f"{size!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: negative dimension in size {shape}")
    return shape


def _dtype_or(op: str, dtype: DTypeLike, default: _dtypes.dtype) -> _dtypes.dtype:
    return default if dtype is None else _dtypes.get(dtype, op)


def _require_int(op: str, name: str, value) -> int:
    """An int argument (a size, a bound): a float would be truncated
    silently, as PyTorch never does."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    return int(value)


def _require_real(op: str, name: str, value) -> float:
    """A real-number argument (a fill value, an end point), or a one-element
    Tensor holding one."""
    if not isinstance(value, (numbers.Real, Tensor)):
        raise TypeError(f"{op}: {name} must be a number, got "
                        f"{type(value).__name__}")
    return float(value)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(array: np.ndarray, _op: str = "from_numpy") -> Tensor:
    """A tensor with a copy of a NumPy array's data (any strides)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{_op}: expected a numpy.ndarray, got "
                        f"{type(array).__name__}; use tinyfin.tensor(data) "
                        "for Python data")
    dt = _dtypes.from_numpy(array.dtype, _op)
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise OverflowError(f"{_op}: {array.dtype} values up to {array.max()} "
                            "do not fit in int64")
    array = np.require(array, dtype=dt.numpy, requirements="C")  # keeps 0-d
    shape = array.shape
    return _call(_C.tf_tensor_from_buffer, len(shape), _C.shape_array(shape),
                 dt.code, array.ctypes.data, array.nbytes)


register("from_numpy", method=False)(from_numpy)


def _infer_array(data) -> np.ndarray:
    """NumPy's view of Python data, with PyTorch's defaults: Python floats
    become float32, ints int64, bools bool."""
    if isinstance(data, Tensor):
        return data.detach().numpy()
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data)  # NumPy data keeps its dtype
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"tensor: could not build a tensor from the data "
                         f"({e}); nested sequences must have equal lengths") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: could not infer a dtype from data of type "
                        f"{type(data).__name__}; expected numbers, bools, or "
                        "nested sequences of them")
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return arr


@register("tensor", method=False)
def tensor(data, dtype: DTypeLike = None, requires_grad: bool = False,
           device: str = "cpu") -> Tensor:
    """A new tensor holding a copy of data: a Tensor, a NumPy array, a
    Python number or nested sequences of numbers."""
    _check_device(device)
    arr = _infer_array(data)
    if dtype is not None:
        dt = _dtypes.get(dtype, "tensor")
        if arr.dtype.kind == "f" and dt is _dtypes.int64:
            with np.errstate(invalid="ignore"):
                arr = np.asarray(np.nan_to_num(arr, nan=0.0))  # 0-d stays an array
        arr = arr.astype(dt.numpy)
    t = from_numpy(arr, "tensor")
    return _finish(t, requires_grad)


@register("as_tensor", method=False)
def as_tensor(data, dtype: DTypeLike = None) -> Tensor:
    if isinstance(data, Tensor) and (
            dtype is None or _dtypes.get(dtype, "as_tensor") is data.dtype):
        return data
    with renamed_errors("as_tensor", "tensor"):
        return tensor(data, dtype=dtype)


def _check_device(device) -> None:
    if str(device) != "cpu":
        raise RuntimeError(f"device {device!r} is not available: this build of "
                           "tinyfin runs on cpu only")


def _creator(name: str, value):
    def create(*size, dtype: DTypeLike = None, requires_grad: bool = False,
               device: str = "cpu") -> Tensor:
        _check_device(device)
        shape = _shape_args(name, size)
        dt = _dtype_or(name, dtype, _dtypes.float32)
        return full(shape, value, dtype=dt, requires_grad=requires_grad)
    create.__name__ = name
    create.__doc__ = f"A tensor of the given size filled with {value}."
    return create


@register("full", method=False)
def full(size: Sequence[int], fill_value, dtype: DTypeLike = None,
         requires_grad: bool = False, device: str = "cpu") -> Tensor:
    _check_device(device)
    shape = _shape_args("full", (size,))
    if dtype is None:
        dtype = (_dtypes.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 _dtypes.int64 if isinstance(fill_value, numbers.Integral) else
                 _dtypes.float32)
    dt = _dtypes.get(dtype, "full")
    f = _require_real("full", "fill_value", fill_value)
    i = int(fill_value) if math.isfinite(f) else 0
    t = _call(_C.tf_full, len(shape), _C.shape_array(shape), dt.code, f, i)
    return _finish(t, requires_grad)


zeros = register("zeros", method=False)(_creator("zeros", 0.0))
ones = register("ones", method=False)(_creator("ones", 1.0))


@register("empty", method=False)
def empty(*size, dtype: DTypeLike = None, requires_grad: bool = False,
          device: str = "cpu") -> Tensor:
    _check_device(device)
    shape = _shape_args("empty", size)
    dt = _dtype_or("empty", dtype, _dtypes.float32)
    t = _call(_C.tf_tensor_empty, len(shape), _C.shape_array(shape), dt.code)
    return _finish(t, requires_grad)


def _like(name: str, make):
    def like(input: Tensor, *args, dtype: DTypeLike = None,
             requires_grad: bool = False, **kwargs) -> Tensor:
        require_tensor(name, input)
        with renamed_errors(name, make.__name__):
            return make(input.shape, *args, dtype=dtype or input.dtype,
                        requires_grad=requires_grad, **kwargs)
    like.__name__ = name
    return register(name, method=False)(like)


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
full_like = _like("full_like", full)


@register("arange", method=False)
def arange(start, end=None, step=1, *, dtype: DTypeLike = None,
           requires_grad: bool = False, device: str = "cpu") -> Tensor:
    """Values start, start+step, ... below end (above it for step < 0)."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    all_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = _dtype_or("arange", dtype, _dtypes.int64 if all_int else _dtypes.float32)
    if not all(math.isfinite(float(v)) for v in (start, end, step)):
        raise ValueError(f"arange: start, end and step must be finite, got "
                         f"({start}, {end}, {step})")
    if all_int:
        n = max(0, -((start - end) // step))
    else:
        n = max(0, math.ceil((float(end) - float(start)) / float(step)))
    istart = int(start) if all_int else 0
    istep = int(step) if all_int else 0
    t = _call(_C.tf_arange, float(start), float(step), istart, istep, n, dt.code)
    return _finish(t, requires_grad)


@register("linspace", method=False)
def linspace(start: float, end: float, steps: int, *, dtype: DTypeLike = None,
             requires_grad: bool = False) -> Tensor:
    start = _require_real("linspace", "start", start)
    end = _require_real("linspace", "end", end)
    steps = _require_int("linspace", "steps", steps)
    dt = _dtype_or("linspace", dtype, _dtypes.float32)
    t = _call(_C.tf_linspace, start, end, steps, dt.code)
    return _finish(t, requires_grad)


@register("eye", method=False)
def eye(n: int, m: Optional[int] = None, *, dtype: DTypeLike = None,
        requires_grad: bool = False) -> Tensor:
    n = _require_int("eye", "n", n)
    m = n if m is None else _require_int("eye", "m", m)
    dt = _dtype_or("eye", dtype, _dtypes.float32)
    t = _call(_C.tf_eye, n, m, dt.code)
    return _finish(t, requires_grad)


# ---- random numbers -----------------------------------------------------------
@register("manual_seed", method=False)
def manual_seed(seed: int) -> None:
    """Seed the generator: the same seed gives the same numbers everywhere."""
    _C.tf_manual_seed(int(seed) & (2 ** 64 - 1))


@register("initial_seed", method=False)
def initial_seed() -> int:
    return _C.tf_initial_seed()


def _float_dtype(op: str, dtype: DTypeLike) -> _dtypes.dtype:
    dt = _dtype_or(op, dtype, _dtypes.float32)
    if not dt.is_floating_point:
        raise TypeError(f"{op}: expected a float32 or float64 dtype, got {dt.name}")
    return dt


@register("rand", method=False)
def rand(*size, dtype: DTypeLike = None, requires_grad: bool = False,
         generator=None) -> Tensor:
    """Uniform numbers in [0, 1)."""
    shape = _shape_args("rand", size)
    dt = _float_dtype("rand", dtype)
    t = _call(_C.tf_rand, len(shape), _C.shape_array(shape), dt.code, 0.0, 1.0)
    return _finish(t, requires_grad)


@register("randn", method=False)
def randn(*size, dtype: DTypeLike = None, requires_grad: bool = False,
          generator=None) -> Tensor:
    """Standard normal numbers."""
    shape = _shape_args("randn", size)
    dt = _float_dtype("randn", dtype)
    t = _call(_C.tf_randn, len(shape), _C.shape_array(shape), dt.code, 0.0, 1.0)
    return _finish(t, requires_grad)


@register("randint", method=False)
def randint(low: int, high: Optional[int] = None, size=None, *,
            dtype: DTypeLike = None, generator=None) -> Tensor:
    """Integers uniform in [low, high); randint(high, size) starts at 0."""
    if size is None and isinstance(high, (tuple, list)):
        high, size = None, high  # randint(high, size), as PyTorch
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
    low = _require_int("randint", "low", low)
    high = _require_int("randint", "high", high)
    shape = _shape_args("randint", (size,))
    dt = _dtype_or("randint", dtype, _dtypes.int64)
    return _call(_C.tf_randint, len(shape), _C.shape_array(shape), dt.code,
                 low, high)


@register("rand_like", method=False)
def rand_like(input: Tensor, *, dtype: DTypeLike = None) -> Tensor:
    require_tensor("rand_like", input)
    with renamed_errors("rand_like", "rand"):
        return rand(input.shape, dtype=dtype or input.dtype)


@register("randn_like", method=False)
def randn_like(input: Tensor, *, dtype: DTypeLike = None) -> Tensor:
    require_tensor("randn_like", input)
    with renamed_errors("randn_like", "randn"):
        return randn(input.shape, dtype=dtype or input.dtype)


@register("randint_like", method=False)
def randint_like(input: Tensor, low: int, high: Optional[int] = None, *,
                 dtype: DTypeLike = None) -> Tensor:
    require_tensor("randint_like", input)
    with renamed_errors("randint_like", "randint"):
        return randint(low, high, input.shape, dtype=dtype or input.dtype)
