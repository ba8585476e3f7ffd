"""Checks of the integer and size arguments every op passes to the C core.

A Python int has no bound, but the C core takes int64 (sizes, indices,
offsets, steps, fill values) or int (dims, thread counts), and ctypes
reduces an int that does not fit modulo 2^64 without a word. Every such
argument goes through `as_int` first: it accepts what PyTorch accepts as
an int (int, bool, NumPy integers, a one-element integer Tensor through
__index__), refuses a float with a TypeError instead of truncating it, and
refuses a value outside the C type with an OverflowError naming the op and
the argument. `_C.py` adds a second net under it: the checked bindings'
integer parameters refuse out-of-range values too, so a call that forgets
`as_int` fails loudly instead of wrapping.
"""
from __future__ import annotations

import functools
import numbers
import operator
from typing import Sequence, Tuple

import numpy as np

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1


def as_int(op: str, name: str, value, lo: int = INT64_MIN,
           hi: int = INT64_MAX) -> int:
    """value as a Python int in [lo, hi]: TypeError for a non-integer
    (2.9 is not silently 2), OverflowError outside the range."""
    if type(value) is not int:
        if isinstance(value, float) or not hasattr(value, "__index__"):
            raise TypeError(f"{op}: {name} must be an int, got {value!r}")
        try:
            value = operator.index(value)
        except TypeError:  # e.g. a float tensor, whose __index__ refuses
            raise TypeError(f"{op}: {name} must be an int, got "
                            f"{value!r}") from None
    if not lo <= value <= hi:
        if (lo, hi) == (INT64_MIN, INT64_MAX):
            raise OverflowError(f"{op}: {name} {value} does not fit in int64")
        raise OverflowError(f"{op}: {name} {value} is out of range; expected "
                            f"an integer in [{lo}, {hi}]")
    return value


def as_ints(op: str, name: str, values, lo: int = INT64_MIN,
            hi: int = INT64_MAX) -> Tuple[int, ...]:
    """A sequence of ints (a list, a tuple, a 1-D integer Tensor), each
    checked as by as_int."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{op}: {name} must be a sequence of ints, got "
                        f"{values!r}")
    if hasattr(values, "tolist"):  # a Tensor or an array: its Python ints
        values = values.tolist()
    return tuple(as_int(op, name, v, lo, hi) for v in values)


# tf_scalar_kind of tinyfin.h
SCALAR_BOOL, SCALAR_INT, SCALAR_FLOAT = 0, 1, 2


def scalar_args(op: str, value) -> Tuple[float, int, int]:
    """A Python or NumPy scalar as the C core takes one: (float value, int
    value, kind). An int is exact (and must fit in int64, as in PyTorch);
    the core converts the scalar to a tensor's dtype by tf_to_dtype's rules."""
    t = type(value)
    if t is float:
        return value, 0, SCALAR_FLOAT
    if t is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise OverflowError(f"{op}: the integer {value} does not fit in "
                                "int64")
        return float(value), value, SCALAR_INT
    if t is bool or isinstance(value, np.bool_):
        return float(value), int(value), SCALAR_BOOL
    if isinstance(value, numbers.Integral):
        return scalar_args(op, int(value))
    if isinstance(value, numbers.Real):
        return float(value), 0, SCALAR_FLOAT
    raise TypeError(f"{op}: expected a Tensor or a Python number, got "
                    f"{type(value).__name__}")


def as_real(op: str, name: str, value) -> float:
    """A real-valued parameter (a bound, a slope, a fill value) as a float;
    an int must fit in int64 like every integer argument (as in PyTorch), a
    one-element Tensor gives its value."""
    if type(value) is float:
        return value
    if hasattr(value, "item") and hasattr(value, "numel"):  # a Tensor
        if value.numel() != 1:
            raise ValueError(f"{op}: {name} must be a number or a "
                             f"one-element Tensor, got shape {value.shape}")
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got "
                        f"{type(value).__name__}")
    return scalar_args(op, value)[0]


def norm_dim(op: str, dim, ndim: int) -> int:
    """A dim in [-ndim, ndim) made non-negative (0-d tensors accept 0 and
    -1): TypeError for a non-integer, IndexError naming op when out of
    range, however large."""
    if type(dim) is not int:
        dim = as_int(op, "dim", dim)
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of "
                         f"{ndim} dims (expected a dim in [{-n}, {n - 1}])")
    return dim % n


def c_dim(op: str, dim) -> int:
    """A dim the C core normalizes itself (it knows the ndim): an int that
    fits the C int, else the same IndexError an out-of-range dim gets."""
    dim = as_int(op, "dim", dim)
    if not INT32_MIN <= dim <= INT32_MAX:
        raise IndexError(f"{op}: dim {dim} is out of range")
    return dim


def size_args(op: str, size: Sequence) -> Tuple[int, ...]:
    """A shape given as ints or as one sequence: f(2, 3), f((2, 3)),
    f([2, 3]) and f(torch.Size) all mean (2, 3). Sizes are non-negative
    int64 values."""
    if len(size) == 1 and (isinstance(size[0], (tuple, list)) or
                           getattr(size[0], "ndim", 0) >= 1):
        size = size[0]  # one sequence (a 1-D Tensor or array too)
    try:
        shape = as_ints(op, "size", size)
    except TypeError:
        raise TypeError(f"{op}: size must be a sequence of ints, got "
                        f"{tuple(size)!r}") from None
    for s in shape:
        if s < 0:
            raise ValueError(f"{op}: negative dimension in size {shape}")
    return shape


def numpy_keywords(fn=None, *, fast=None):
    """Let a reduction also take NumPy's spellings axis= and keepdims=, as
    PyTorch does; giving both spellings of one argument is an error.
    fast(x), if given, serves a call with the input alone (x.sum()): its
    result, unless it returns None (then the call takes the full path)."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if fast is not None and not kwargs and len(args) == 1:
                out = fast(args[0])
                if out is not None:
                    return out
            for numpy_name, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if numpy_name in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {name}= and its "
                                        f"alias {numpy_name}=")
                    kwargs[name] = kwargs.pop(numpy_name)
            return fn(*args, **kwargs)
        return wrapper
    return deco if fn is None else deco(fn)
