"""Reductions with PyTorch's names and keywords: sum, mean, prod, var, std,
max, min, argmax, argmin, amax, amin, logsumexp, norm, all, any, plus softmax
and log_softmax.

The C core (native/src/cpu/reduce.c) does the arithmetic in a fixed order,
so results never depend on the thread count. This module turns `dim`
arguments into the core's dim_mask bit field, checks them (IndexError naming
the op) and shapes the results (max/min with a dim give (values, indices)).
Python's builtins max/min/sum/any/all are shadowed here: use `builtins.`.
"""
from __future__ import annotations

import builtins
import numbers
import operator
from collections import namedtuple
from ctypes import byref, c_void_p
from typing import Optional, Sequence, Union

from . import _C
from . import _exports
from . import dtypes as _dtypes
from .tensor import Tensor, _call, _wrap, register

R = {name: code for code, name in enumerate(_C.REDUCE_OPS)}
Dim = Union[int, Sequence[int], None]


class return_types:
    """Named results of max/min along a dim, as torch.return_types."""
    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])


def _require_tensor(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got "
                        f"{type(x).__name__}")
    return x


def dim_mask(op: str, dim: Dim, ndim: int) -> int:
    """The dim_mask of the C core for dim (None or () mean every dim).
    Negative dims count from the end; 0-d tensors accept 0 and -1."""
    if dim is None:
        return 0
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    n = builtins.max(ndim, 1)
    mask = 0
    for d in dims:
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, "
                            f"got {dim!r}") from None
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of "
                             f"{ndim} dims (expected a dim in [{-n}, {n - 1}])")
        if mask >> (d % n) & 1:
            raise IndexError(f"{op}: dim {d % n} appears more than once in "
                             f"dim={dim!r}")
        mask |= 1 << (d % n)
    return mask


def _reduce(op: str, x: Tensor, dim: Dim, keepdim: bool, param: float = 0.0,
            indices: bool = False):
    x = _require_tensor(op, x)
    mask = dim_mask(op, dim, x.ndim)
    values, idx = c_void_p(), c_void_p()
    status = _C.tf_reduce(R[op], x._h, mask, bool(keepdim), float(param),
                          byref(values), byref(idx) if indices else None)
    if status:
        raise _C.error(status)
    return (_wrap(values), _wrap(idx)) if indices else _wrap(values)


def _cast(op: str, x: Tensor, dtype) -> Tensor:
    x = _require_tensor(op, x)
    if dtype is None:
        return x
    dt = _dtypes.get(dtype)
    return x if dt is x.dtype else _call(_C.tf_to_dtype, x._h, dt.code)


def _int_dim(op: str, dim) -> int:
    try:
        return operator.index(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {dim!r}") from None


# ---- sums and moments -------------------------------------------------------
@register("sum")
def sum(input: Tensor, dim: Dim = None, keepdim: bool = False, *,
        dtype=None) -> Tensor:
    """Sum over dim (all dims by default); int64/bool sum to int64."""
    return _reduce("sum", _cast("sum", input, dtype), dim, keepdim)


@register("mean")
def mean(input: Tensor, dim: Dim = None, keepdim: bool = False, *,
         dtype=None) -> Tensor:
    """Mean over dim (float tensors only, as in PyTorch); empty -> nan."""
    return _reduce("mean", _cast("mean", input, dtype), dim, keepdim)


@register("prod")
def prod(input: Tensor, dim: Dim = None, keepdim: bool = False, *,
         dtype=None) -> Tensor:
    return _reduce("prod", _cast("prod", input, dtype), dim, keepdim)


def _correction(op: str, dim, unbiased, correction):
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{op}: unbiased was given twice")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not isinstance(correction, numbers.Real):
        raise TypeError(f"{op}: correction must be a number, got "
                        f"{type(correction).__name__}")
    return dim, float(correction)


@register("var")
def var(input: Tensor, dim: Dim = None, unbiased: Optional[bool] = None,
        keepdim: bool = False, *, correction: Optional[float] = None) -> Tensor:
    """Variance sum((x - mean)^2) / max(0, N - correction); two-pass."""
    dim, c = _correction("var", dim, unbiased, correction)
    return _reduce("var", input, dim, keepdim, c)


@register("std")
def std(input: Tensor, dim: Dim = None, unbiased: Optional[bool] = None,
        keepdim: bool = False, *, correction: Optional[float] = None) -> Tensor:
    dim, c = _correction("std", dim, unbiased, correction)
    return _reduce("std", input, dim, keepdim, c)


@register("logsumexp")
def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m = max."""
    return _reduce("logsumexp", input, dim, keepdim)


@register("norm")
def norm(input: Tensor, p: Union[float, str, None] = "fro", dim: Dim = None,
         keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over dim: p in {0 (nonzero count), inf, -inf} or p > 0;
    'fro' is p = 2. Scaled by max |x|, so huge values do not overflow."""
    if p is None or p == "fro":
        p = 2.0
    elif isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported (expected 'fro' or "
                         "a number)")
    return _reduce("norm", _cast("norm", input, dtype), dim, keepdim, float(p))


# ---- extremes ----------------------------------------------------------------
def _extreme(op: str, binary: str, input: Tensor, dim, keepdim: bool):
    if isinstance(dim, Tensor):  # max(a, b) is maximum(a, b)
        return _exports.FUNCTIONS[binary](input, dim)
    if dim is None:
        return _reduce(op, input, None, False)
    values, indices = _reduce(op, input, _int_dim(op, dim), keepdim,
                              indices=True)
    return getattr(return_types, op)(values, indices)


@register("max")
def max(input: Tensor, dim=None, keepdim: bool = False):
    """max(x): a 0-d tensor; max(x, dim): (values, indices), first index on
    ties, NaN wins; max(x, other_tensor): maximum."""
    return _extreme("max", "maximum", input, dim, keepdim)


@register("min")
def min(input: Tensor, dim=None, keepdim: bool = False):
    return _extreme("min", "minimum", input, dim, keepdim)


@register("amax")
def amax(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    return _reduce("amax", input, dim, keepdim)


@register("amin")
def amin(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    return _reduce("amin", input, dim, keepdim)


@register("argmax")
def argmax(input: Tensor, dim: Optional[int] = None,
           keepdim: bool = False) -> Tensor:
    """Index of the first maximum (of the first NaN); without dim, an index
    into the flattened tensor."""
    dim = None if dim is None else _int_dim("argmax", dim)
    return _reduce("argmax", input, dim, keepdim)


@register("argmin")
def argmin(input: Tensor, dim: Optional[int] = None,
           keepdim: bool = False) -> Tensor:
    dim = None if dim is None else _int_dim("argmin", dim)
    return _reduce("argmin", input, dim, keepdim)


# ---- logic -------------------------------------------------------------------
@register("all")
def all(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """True where every element is nonzero (any dtype; empty -> True)."""
    return _reduce("all", input, dim, keepdim)


@register("any")
def any(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    return _reduce("any", input, dim, keepdim)


# ---- softmax -----------------------------------------------------------------
def _softmax(op: str, input: Tensor, dim, dtype, log: bool) -> Tensor:
    if dim is None:
        raise TypeError(f"{op}: dim must be given (an int)")
    x = _cast(op, input, dtype)
    return _call(_C.tf_softmax, x._h, _int_dim(op, dim), log)


@register("softmax")
def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along dim; a row with NaN or +inf,
    or only -inf, gives NaN as in PyTorch."""
    return _softmax("softmax", input, dim, dtype, False)


@register("log_softmax")
def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - max - log(sum(exp(x - max))) along dim."""
    return _softmax("log_softmax", input, dim, dtype, True)


_missing = builtins.sorted(set(R) - set(_exports.FUNCTIONS))
if _missing:
    raise ImportError(f"tinyfin.reduction: no Python function for the C "
                      f"reductions {_missing}")
