"""Creation: tensor() from data, from_numpy, empty/zeros/ones/full, arange,
linspace, eye, the *_like forms and random tensors from the counter-based
generator (identical for one seed on every machine and thread count)."""
from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Union

import numpy as np

from . import _C, _data, _generator
from . import dtypes as _dtypes
from ._args import as_int, as_real, scalar_args, size_args
from ._device import CPU, check_device
from .tensor import Tensor, _call, register, renamed_errors, require_tensor

DTypeLike = Union[_dtypes.dtype, str, None]


def _dtype_or(op: str, dtype: DTypeLike, default: _dtypes.dtype) -> _dtypes.dtype:
    return default if dtype is None else _dtypes.get(dtype, op)


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
                 dt.code, array.ctypes.data, array.nbytes, CPU.code)


register("from_numpy", method=False)(from_numpy)


_DEFAULT_DTYPE = {"bool": _dtypes.bool_, "int": _dtypes.int64,
                  "float": _dtypes.float32}


def _converted(t: Tensor, dt: _dtypes.dtype) -> Tensor:
    """t in dtype dt, converted by the core (one rule for every path)."""
    return t if t.dtype is dt else _call(_C.tf_to_dtype, t._h, dt.code)


def _floats_to_int64(values: np.ndarray) -> np.ndarray:
    return _converted(from_numpy(values), _dtypes.int64).numpy()


def _numpy_fast_path(data, dt: Optional[_dtypes.dtype]) -> Optional[np.ndarray]:
    """np.array(data) where it provably holds the exact values: Python ints
    and bools (int64, bool), or floats whose every value is exact in double
    and, unless the target is float64, an int only if at most 2^53 (beyond,
    NumPy's double would be a first rounding). None sends the data through
    the exact walk of _data, which also words the errors."""
    try:
        arr = np.array(data)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.dtype == np.bool_ or arr.dtype == np.int64:
        return arr
    if arr.dtype == np.float64 and (
            dt is _dtypes.float64 or not arr.size or
            bool(np.all(np.abs(arr) <= 2.0 ** 53))):
        return arr
    return None


def _from_python(data, dt: Optional[_dtypes.dtype]) -> Tensor:
    arr = _numpy_fast_path(data, dt)
    if arr is not None:
        default = {"b": _dtypes.bool_, "i": _dtypes.int64}.get(
            arr.dtype.kind, _dtypes.float32)
    else:
        shape, leaves, kind = _data.flatten("tensor", data)
        default = _DEFAULT_DTYPE[kind]
        arr = _data.carrier("tensor", leaves, kind, (dt or default).name,
                            _floats_to_int64).reshape(shape)
    return _converted(from_numpy(arr, "tensor"), dt or default)


@register("tensor", method=False)
def tensor(data, dtype: DTypeLike = None, requires_grad: bool = False,
           device: str = "cpu") -> Tensor:
    """A new tensor holding a copy of data: a Tensor, a NumPy array, a
    Python number or nested sequences of numbers. Python floats give
    float32 unless dtype says otherwise; each value is converted once, from
    its exact value, to the tensor's dtype."""
    dev = check_device("tensor", device)
    dt = None if dtype is None else _dtypes.get(dtype, "tensor")
    if isinstance(data, Tensor):  # a copy, in dtype, on the device asked for
        t = _call(_C.tf_to_device, data._h, dev.code, (dt or data.dtype).code)
        return _finish(t, requires_grad)
    if isinstance(data, (np.ndarray, np.generic)):
        t = from_numpy(np.asarray(data), "tensor")  # NumPy data keeps its dtype
        t = _converted(t, dt or t.dtype)
    else:
        t = _from_python(data, dt)
    if dev != CPU:  # built in host memory, then moved
        t = _call(_C.tf_to_device, t._h, dev.code, t.dtype.code)
    return _finish(t, requires_grad)


def _reduce(self: Tensor):
    """Pickling: a tensor is rebuilt by tensor() from a copy of its data."""
    return (tensor, (self.detach().numpy().copy(),))


Tensor.__reduce__ = _reduce


@register("as_tensor", method=False)
def as_tensor(data, dtype: DTypeLike = None) -> Tensor:
    if isinstance(data, Tensor) and (
            dtype is None or _dtypes.get(dtype, "as_tensor") is data.dtype):
        return data
    with renamed_errors("as_tensor", "tensor"):
        return tensor(data, dtype=dtype)


def _creator(name: str, value):
    def create(*size, dtype: DTypeLike = None, requires_grad: bool = False,
               device: str = "cpu") -> Tensor:
        check_device(name, device)
        shape = size_args(name, size)
        dt = _dtype_or(name, dtype, _dtypes.float32)
        with renamed_errors(name, "full"):
            return full(shape, value, dtype=dt, requires_grad=requires_grad,
                        device=device)
    create.__name__ = name
    create.__doc__ = f"A tensor of the given size filled with {value}."
    return create


@register("full", method=False)
def full(size: Sequence[int], fill_value, dtype: DTypeLike = None,
         requires_grad: bool = False, device: str = "cpu") -> Tensor:
    """A tensor of the given size filled with fill_value, converted to dtype
    as .to() would convert it (0.5 is True in bool; a float into int64
    truncates and saturates, NaN giving 0)."""
    dev = check_device("full", device)
    shape = size_args("full", (size,))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, numbers.Real):
        raise TypeError(f"full: fill_value must be a number, got "
                        f"{type(fill_value).__name__}")
    f, i, kind = scalar_args("full", fill_value)
    dt = _dtype_or("full", dtype, (_dtypes.bool_, _dtypes.int64,
                                   _dtypes.float32)[kind])
    t = _call(_C.tf_full, len(shape), _C.shape_array(shape), dt.code, f, i,
              kind, dev.code)
    return _finish(t, requires_grad)


zeros = register("zeros", method=False)(_creator("zeros", 0.0))
ones = register("ones", method=False)(_creator("ones", 1.0))


@register("empty", method=False)
def empty(*size, dtype: DTypeLike = None, requires_grad: bool = False,
          device: str = "cpu") -> Tensor:
    dev = check_device("empty", device)
    shape = size_args("empty", size)
    dt = _dtype_or("empty", dtype, _dtypes.float32)
    t = _call(_C.tf_tensor_empty, len(shape), _C.shape_array(shape), dt.code,
              dev.code)
    return _finish(t, requires_grad)


def _like(name: str, make):
    def like(input: Tensor, *args, dtype: DTypeLike = None,
             requires_grad: bool = False, **kwargs) -> Tensor:
        require_tensor(name, input)
        device = kwargs.pop("device", None)  # None: input's device, as PyTorch
        with renamed_errors(name, make.__name__):
            return make(input.shape, *args, dtype=dtype or input.dtype,
                        requires_grad=requires_grad,
                        device=input.device if device is None else device, **kwargs)
    like.__name__ = name
    return register(name, method=False)(like)


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
full_like = _like("full_like", full)


@register("arange", method=False)
def arange(start, end=None, step=1, *, dtype: DTypeLike = None,
           requires_grad: bool = False, device: str = "cpu") -> Tensor:
    """Values start, start+step, ... below end (above it for step < 0). As
    in PyTorch, an int64 arange of float arguments first truncates each of
    them to an integer."""
    dev = check_device("arange", device)
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if not math.isfinite(as_real("arange", name, v)):
            raise ValueError(f"arange: start, end and step must be finite, "
                             f"got ({start}, {end}, {step})")
    all_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = _dtype_or("arange", dtype, _dtypes.int64 if all_int else _dtypes.float32)
    if dt is _dtypes.int64 and not all_int:
        start, end, step = (as_int("arange", name, math.trunc(v)) for name, v in
                            (("start", start), ("end", end), ("step", step)))
        all_int = True
    if step == 0:
        raise ValueError(f"arange: step must be non-zero (got {step}"
                         f"{' after truncation to int64' if dt is _dtypes.int64 else ''})")
    if all_int:
        start, end, step = (int(v) for v in (start, end, step))
        n = max(0, -((start - end) // step))
    else:
        n = max(0, math.ceil((float(end) - float(start)) / float(step)))
    n = as_int("arange", "the number of elements", n)
    istart, istep = (start, step) if all_int else (0, 0)
    t = _call(_C.tf_arange, float(start), float(step), istart, istep, n,
              dt.code, dev.code)
    return _finish(t, requires_grad)


@register("linspace", method=False)
def linspace(start: float, end: float, steps: int, *, dtype: DTypeLike = None,
             requires_grad: bool = False, device=None) -> Tensor:
    dev = check_device("linspace", device)
    start = as_real("linspace", "start", start)
    end = as_real("linspace", "end", end)
    steps = as_int("linspace", "steps", steps)
    dt = _dtype_or("linspace", dtype, _dtypes.float32)
    t = _call(_C.tf_linspace, start, end, steps, dt.code, dev.code)
    return _finish(t, requires_grad)


@register("eye", method=False)
def eye(n: int, m: Optional[int] = None, *, dtype: DTypeLike = None,
        requires_grad: bool = False, device=None) -> Tensor:
    dev = check_device("eye", device)
    n = as_int("eye", "n", n)
    m = n if m is None else as_int("eye", "m", m)
    dt = _dtype_or("eye", dtype, _dtypes.float32)
    t = _call(_C.tf_eye, n, m, dt.code, dev.code)
    return _finish(t, requires_grad)


# ---- random numbers -----------------------------------------------------------
register("manual_seed", method=False)(_generator.manual_seed)
register("initial_seed", method=False)(_generator.initial_seed)


def _float_dtype(op: str, dtype: DTypeLike) -> _dtypes.dtype:
    dt = _dtype_or(op, dtype, _dtypes.float32)
    if not dt.is_floating_point:
        raise TypeError(f"{op}: expected a float32 or float64 dtype, got {dt.name}")
    return dt


@register("rand", method=False)
def rand(*size, dtype: DTypeLike = None, requires_grad: bool = False,
         generator=None, device=None) -> Tensor:
    """Uniform numbers in [0, 1)."""
    dev = check_device("rand", device)
    shape = size_args("rand", size)
    dt = _float_dtype("rand", dtype)
    t = _call(_C.tf_rand, len(shape), _C.shape_array(shape), dt.code, 0.0, 1.0,
              dev.code, _generator.handle_of("rand", generator))
    return _finish(t, requires_grad)


@register("randn", method=False)
def randn(*size, dtype: DTypeLike = None, requires_grad: bool = False,
          generator=None, device=None) -> Tensor:
    """Standard normal numbers."""
    dev = check_device("randn", device)
    shape = size_args("randn", size)
    dt = _float_dtype("randn", dtype)
    t = _call(_C.tf_randn, len(shape), _C.shape_array(shape), dt.code, 0.0, 1.0,
              dev.code, _generator.handle_of("randn", generator))
    return _finish(t, requires_grad)


def uniform_like(like: Tensor, low: float, high: float, generator=None) -> Tensor:
    """Uniform [low, high) numbers of like's shape, dtype and device (what
    nn.init.uniform_ writes)."""
    shape = like.shape
    return _call(_C.tf_rand, len(shape), _C.shape_array(shape), like.dtype.code,
                 low, high, like.device.code, _generator.handle_of("uniform_", generator))


def normal_like(like: Tensor, mean: float, std: float, generator=None) -> Tensor:
    """Normal(mean, std) numbers of like's shape, dtype and device (what
    nn.init.normal_ writes)."""
    shape = like.shape
    return _call(_C.tf_randn, len(shape), _C.shape_array(shape), like.dtype.code,
                 mean, std, like.device.code, _generator.handle_of("normal_", generator))


@register("randint", method=False)
def randint(low: int, high: Optional[int] = None, size=None, *,
            dtype: DTypeLike = None, generator=None, device=None) -> Tensor:
    """Integers uniform in [low, high); randint(high, size) starts at 0."""
    dev = check_device("randint", device)
    if size is None and isinstance(high, (tuple, list)):
        high, size = None, high  # randint(high, size), as PyTorch
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
    low = as_int("randint", "low", low)
    high = as_int("randint", "high", high)
    shape = size_args("randint", (size,))
    dt = _dtype_or("randint", dtype, _dtypes.int64)
    return _call(_C.tf_randint, len(shape), _C.shape_array(shape), dt.code,
                 low, high, dev.code, _generator.handle_of("randint", generator))


@register("rand_like", method=False)
def rand_like(input: Tensor, *, dtype: DTypeLike = None) -> Tensor:
    require_tensor("rand_like", input)
    with renamed_errors("rand_like", "rand"):
        return rand(input.shape, dtype=dtype or input.dtype, device=input.device)


@register("randn_like", method=False)
def randn_like(input: Tensor, *, dtype: DTypeLike = None) -> Tensor:
    require_tensor("randn_like", input)
    with renamed_errors("randn_like", "randn"):
        return randn(input.shape, dtype=dtype or input.dtype, device=input.device)


@register("randint_like", method=False)
def randint_like(input: Tensor, low: int, high: Optional[int] = None, *,
                 dtype: DTypeLike = None) -> Tensor:
    require_tensor("randint_like", input)
    with renamed_errors("randint_like", "randint"):
        return randint(low, high, input.shape, dtype=dtype or input.dtype, device=input.device)
