"""Reductions with PyTorch's names and keywords: sum, mean, prod, var, std,
max, min, argmax, argmin, amax, amin, logsumexp, norm, all, any, plus softmax
and log_softmax.

The C core (native/src/cpu/reduce.c) does the arithmetic in a fixed order,
so results never depend on the thread count. This module turns `dim`
arguments into the core's dim_mask bit field, checks them (IndexError naming
the op) and shapes the results (max/min with a dim give (values, indices)).
Python's builtins max/min/sum/any/all are shadowed here: use `builtins.`.

Gradients follow PyTorch's conventions and are written with tinyfin's
differentiable ops (create_graph gives higher derivatives): max/min along a
dim send the gradient to the returned index; amax/amin and max()/min()
without a dim share it evenly among ties; prod is exact at zeros; the norm
and std gradients are 0 where the result is 0. argmax/argmin/all/any have no
gradient.
"""
from __future__ import annotations

import builtins
import functools
import math
import operator
from collections import namedtuple
from ctypes import byref
from typing import Optional, Sequence, Union

from . import _C
from . import _exports
from . import dtypes as _dtypes
from .autograd.grad_mode import no_grad as _no_grad, state as _grad_state
from .autograd.graph import OUT, needs_grad, record
from .creation import arange
from .elementwise import where
from ._args import as_real, numpy_keywords
from .tensor import (Handle, Tensor, _call, _norm_dim, _wrap, register,
                     require_tensor)
from .views import expand

R = {name: code for code, name in enumerate(_C.REDUCE_OPS)}
Dim = Union[int, Sequence[int], None]


class return_types:
    """Named results of max/min along a dim, as torch.return_types."""
    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])


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
    x = require_tensor(op, x)
    mask = dim_mask(op, dim, x.ndim)
    values, idx = Handle(), Handle()
    status = _C.tf_reduce(R[op], x._h, mask, bool(keepdim), float(param),
                          byref(values), byref(idx) if indices else None)
    if status:
        raise _C.error(status)
    return (_wrap(values), _wrap(idx)) if indices else _wrap(values)


def _cast(op: str, x: Tensor, dtype) -> Tensor:
    """x in dtype; the conversion is recorded, so the gradient goes back to
    x in x's own dtype."""
    x = require_tensor(op, x)
    if dtype is None:
        return x
    return x.to(_dtypes.get(dtype))


def _int_dim(op: str, dim) -> int:
    try:
        return operator.index(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {dim!r}") from None


# ---- gradient helpers ---------------------------------------------------------
def _reduced_dims(op: str, dim: Dim, ndim: int) -> tuple:
    """The dims dim reduces, ascending (every dim for None or ())."""
    if ndim == 0:
        return ()
    mask = dim_mask(op, dim, ndim)
    if mask == 0:
        return tuple(range(ndim))
    return tuple(d for d in range(ndim) if mask >> d & 1)


def _kept(t: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    """A reduction's result (or its gradient) with the reduced dims back as
    size 1, so that it broadcasts against the input."""
    if not keepdim:
        for d in dims:  # ascending, so each d lands where it was
            t = t.unsqueeze(d)
    return t


def _count(n_dims: tuple, shape: tuple) -> int:
    n = 1
    for d in n_dims:
        n *= shape[d]
    return n


def _even_share(gk: Tensor, mask: Tensor, dims: tuple) -> Tensor:
    """gk split evenly among the entries of mask (per reduced slice)."""
    count = sum(mask, dims, keepdim=True).to(gk.dtype)
    return where(mask, gk / count, 0.0)


def _ties(x: Tensor, vk: Tensor) -> Tensor:
    """Where x equals the (kept) reduced value; a NaN result marks the NaNs
    (PyTorch's evenly_distribute_backward)."""
    return (x == vk).logical_or(x.isnan().logical_and(vk.isnan()))


def _sum_backward(g, shape, dims, keepdim):
    return (expand(_kept(g, dims, keepdim), shape),)


def _mean_backward(g, shape, dims, keepdim, n):
    if n:  # n == 0 only when x is empty, and so is its gradient
        g = g * (1.0 / n)
    return (expand(_kept(g, dims, keepdim), shape),)


def _prod_backward(g, x, out, dims, keepdim):
    """d prod / dx_j = the product of the other entries, zeros included.
    No zero: out / x (PyTorch). Else, with p1 the product of a slice's
    nonzero entries and n its zero count: a nonzero entry gets
    p1 / x_j * (product of the zeros), 0 in value but with the right
    derivative in each zero; a zero entry gets p1 if n == 1, p1 * (the
    other zero) if n == 2, else 0. Derivatives of every order are then
    exact for up to two zeros per slice, second derivatives always."""
    gk = _kept(g, dims, keepdim)
    zeros = x == 0
    if not zeros.any().item():
        return (gk * (_kept(out, dims, keepdim) / x),)
    x1 = where(zeros, 1.0, x)
    p1 = prod(x1, dims, keepdim=True)
    zero_prod = prod(where(zeros, x, 1.0), dims, keepdim=True)
    n = sum(zeros, dims, keepdim=True)
    others = sum(where(zeros, x, 0.0), dims, keepdim=True) - x
    at_zero = p1 * where(n == 1, 1.0, where(n == 2, others, 0.0))
    return (gk * where(zeros, at_zero, p1 / x1 * zero_prod),)


def _dof(shape: tuple, dims: tuple, correction: float) -> float:
    """N - correction, as the forward clamps it (0 gives inf / nan)."""
    return builtins.max(0.0, _count(dims, shape) - correction)


def _centered(x: Tensor, dims: tuple) -> Tensor:
    return x - mean(x, dims, keepdim=True)


def _var_backward(g, x, dims, keepdim, dof):
    scale = 2.0 / dof if dof > 0 else float("inf")
    return (_kept(g, dims, keepdim) * scale * _centered(x, dims),)


def _std_backward(g, x, out, dims, keepdim, dof):
    # var's gradient / (2 std); 0 where std == 0 (PyTorch), and the division
    # never sees that 0, so no NaN comes back through where.
    sk = _kept(out, dims, keepdim)
    zero = sk == 0
    gs = where(zero, 0.0, _kept(g, dims, keepdim) / where(zero, 1.0, sk))
    scale = 1.0 / dof if dof > 0 else float("inf")
    return (gs * scale * _centered(x, dims),)


def _logsumexp_backward(g, x, dims, keepdim):
    """g * softmax(x) over dims, shifted by the (constant) max: not
    exp(x - out), which loses everything once out's ULP exceeds log(n)."""
    with _no_grad():
        shift = amax(x, dims, keepdim=True)
        shift = where(shift.isfinite(), shift, 0.0)
    w = (x - shift).exp()
    return (_kept(g, dims, keepdim) * (w / sum(w, dims, keepdim=True)),)


def _norm_backward(g, x, out, dims, keepdim, p):
    gk = _kept(g, dims, keepdim)
    if p == 0:
        return (expand(gk * 0.0, x.shape),)
    if p == 1:
        return (gk * x.sign(),)
    nk = _kept(out, dims, keepdim)
    if math.isinf(p):  # even share among the largest (smallest) |x|
        ax = x.abs()
        mask = (ax == nk).logical_or(ax.isnan())
        return (x.sign() * _even_share(gk, mask, dims),)
    zero = nk == 0
    safe = where(zero, 1.0, nk)
    if p == 2:
        return (where(zero, 0.0, gk * x / safe),)
    if p < 1:  # |x|^(p-1) is infinite at x == 0, where the gradient is 0
        ax = where(x == 0, 1.0, x.abs())
        return (x.sign() * ax ** (p - 1) * gk * nk ** (1 - p),)
    scale = where(zero, 0.0, gk / safe ** (p - 1))
    if p < 2:
        return (x.sign() * x.abs() ** (p - 1) * scale,)
    return (x * x.abs() ** (p - 2) * scale,)


def _extreme_backward(g, x, out, dims, keepdim):
    gk = _kept(g, dims, keepdim)
    return (_even_share(gk, _ties(x, _kept(out, dims, keepdim)), dims),)


def _selected_backward(g, shape, indices, d, keepdim):
    """max/min along dim d: all of g goes to the returned index."""
    if not shape:
        return (g,)
    if not keepdim:
        g, indices = g.unsqueeze(d), indices.unsqueeze(d)
    at = arange(shape[d]).reshape(
        tuple(shape[d] if i == d else 1 for i in range(len(shape))))
    return (where(at == indices, g, 0.0),)


def _softmax_backward(g, out, dim):
    return (out * (g - sum(g * out, dim, keepdim=True)),)


def _log_softmax_backward(g, out, dim):
    return (g - out.exp() * sum(g, dim, keepdim=True),)


# ---- sums and moments -------------------------------------------------------
_reduce_r = _C.fast.tf_reduce_r


def _whole_tensor(op: str, backward, saved):
    """The fast path of numpy_keywords for f(x) (x.sum(), x.mean(): every
    dim): the core's returning form called directly, without the argument
    handling of the full function, whose checks it cannot fail. None (the
    full path) for anything but a plain Tensor. saved(x) gives what the
    op's record() saves."""
    code = R[op]

    def fast(input):
        if input.__class__ is not Tensor:
            return None
        h = _reduce_r(code, input._h, 0, 0)
        if not h:
            raise _C.returned_error()
        out = _wrap(h)
        if input._rg and _grad_state.enabled:
            record(op, out, (input,), backward, saved(input))
        return out
    return fast


def _all_dims(x: Tensor) -> tuple:
    return tuple(range(len(x.shape)))


def _numel(x: Tensor) -> int:
    return _count(_all_dims(x), x.shape)


@register("sum")
@numpy_keywords(fast=_whole_tensor("sum", _sum_backward,
                                   lambda x: (x.shape, _all_dims(x), False)))
def sum(input: Tensor, dim: Dim = None, keepdim: bool = False, *,
        dtype=None) -> Tensor:
    """Sum over dim (all dims by default); int64/bool sum to int64."""
    x = _cast("sum", input, dtype)
    out = _reduce("sum", x, dim, keepdim)
    if needs_grad(x):
        record("sum", out, (x,), _sum_backward,
               (x.shape, _reduced_dims("sum", dim, x.ndim), keepdim))
    return out


@register("mean")
@numpy_keywords(fast=_whole_tensor("mean", _mean_backward,
                                   lambda x: (x.shape, _all_dims(x), False, _numel(x))))
def mean(input: Tensor, dim: Dim = None, keepdim: bool = False, *,
         dtype=None) -> Tensor:
    """Mean over dim (float tensors only, as in PyTorch); empty -> nan."""
    x = _cast("mean", input, dtype)
    out = _reduce("mean", x, dim, keepdim)
    if needs_grad(x):
        dims = _reduced_dims("mean", dim, x.ndim)
        record("mean", out, (x,), _mean_backward,
               (x.shape, dims, keepdim, _count(dims, x.shape)))
    return out


@register("prod")
@numpy_keywords
def prod(input: Tensor, dim: Dim = None, keepdim: bool = False, *,
         dtype=None) -> Tensor:
    x = _cast("prod", input, dtype)
    out = _reduce("prod", x, dim, keepdim)
    if needs_grad(x):
        record("prod", out, (x,), _prod_backward,
               (x, OUT, _reduced_dims("prod", dim, x.ndim), keepdim))
    return out


def _correction(op: str, dim, unbiased, correction):
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{op}: unbiased was given twice")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, as_real(op, "correction", correction)


@register("var")
@numpy_keywords
def var(input: Tensor, dim: Dim = None, unbiased: Optional[bool] = None,
        keepdim: bool = False, *, correction: Optional[float] = None) -> Tensor:
    """Variance sum((x - mean)^2) / max(0, N - correction); two-pass."""
    dim, c = _correction("var", dim, unbiased, correction)
    out = _reduce("var", input, dim, keepdim, c)
    if needs_grad(input):
        dims = _reduced_dims("var", dim, input.ndim)
        record("var", out, (input,), _var_backward,
               (input, dims, keepdim, _dof(input.shape, dims, c)))
    return out


@register("std")
@numpy_keywords
def std(input: Tensor, dim: Dim = None, unbiased: Optional[bool] = None,
        keepdim: bool = False, *, correction: Optional[float] = None) -> Tensor:
    dim, c = _correction("std", dim, unbiased, correction)
    out = _reduce("std", input, dim, keepdim, c)
    if needs_grad(input):
        dims = _reduced_dims("std", dim, input.ndim)
        record("std", out, (input,), _std_backward,
               (input, OUT, dims, keepdim, _dof(input.shape, dims, c)))
    return out


@register("logsumexp")
@numpy_keywords
def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m = max."""
    out = _reduce("logsumexp", input, dim, keepdim)
    if needs_grad(input):
        record("logsumexp", out, (input,), _logsumexp_backward,
               (input, _reduced_dims("logsumexp", dim, input.ndim), keepdim))
    return out


@register("norm")
@numpy_keywords
def norm(input: Tensor, p: Union[float, str, None] = "fro", dim: Dim = None,
         keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over dim: p in {0 (nonzero count), inf, -inf} or p > 0;
    'fro' is p = 2. Scaled by max |x|, so huge values do not overflow."""
    if p is None or p == "fro":
        p = 2.0
    elif isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported (expected 'fro' or "
                         "a number)")
    p = as_real("norm", "p", p)
    x = _cast("norm", input, dtype)
    out = _reduce("norm", x, dim, keepdim, p)
    if needs_grad(x):
        record("norm", out, (x,), _norm_backward,
               (x, OUT if p not in (0.0, 1.0) else None,
                _reduced_dims("norm", dim, x.ndim), keepdim, p))
    return out


# ---- extremes ----------------------------------------------------------------
def _extreme(op: str, binary: str, input: Tensor, dim, keepdim: bool):
    if isinstance(dim, Tensor):  # max(a, b) is maximum(a, b)
        return _exports.FUNCTIONS[binary](input, dim)
    if dim is None:
        out = _reduce(op, input, None, False)
        if needs_grad(input):
            record(op, out, (input,), _extreme_backward,
                   (input, OUT, tuple(range(input.ndim)), False))
        return out
    d = _int_dim(op, dim)
    values, indices = _reduce(op, input, d, keepdim, indices=True)
    if needs_grad(input):
        record(op, values, (input,), _selected_backward,
               (input.shape, indices, d % builtins.max(input.ndim, 1), keepdim))
    return getattr(return_types, op)(values, indices)


@register("max")
@numpy_keywords
def max(input: Tensor, dim=None, keepdim: bool = False):
    """max(x): a 0-d tensor; max(x, dim): (values, indices), first index on
    ties, NaN wins; max(x, other_tensor): maximum."""
    return _extreme("max", "maximum", input, dim, keepdim)


@register("min")
@numpy_keywords
def min(input: Tensor, dim=None, keepdim: bool = False):
    return _extreme("min", "minimum", input, dim, keepdim)


def _amax_amin(op: str, input: Tensor, dim: Dim, keepdim: bool) -> Tensor:
    out = _reduce(op, input, dim, keepdim)
    if needs_grad(input):
        record(op, out, (input,), _extreme_backward,
               (input, OUT, _reduced_dims(op, dim, input.ndim), keepdim))
    return out


@register("amax")
@numpy_keywords
def amax(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    """Largest value over dim; its gradient is shared evenly among ties."""
    return _amax_amin("amax", input, dim, keepdim)


@register("amin")
@numpy_keywords
def amin(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    return _amax_amin("amin", input, dim, keepdim)


@register("argmax")
@numpy_keywords
def argmax(input: Tensor, dim: Optional[int] = None,
           keepdim: bool = False) -> Tensor:
    """Index of the first maximum (of the first NaN); without dim, an index
    into the flattened tensor."""
    dim = None if dim is None else _int_dim("argmax", dim)
    return _reduce("argmax", input, dim, keepdim)


@register("argmin")
@numpy_keywords
def argmin(input: Tensor, dim: Optional[int] = None,
           keepdim: bool = False) -> Tensor:
    dim = None if dim is None else _int_dim("argmin", dim)
    return _reduce("argmin", input, dim, keepdim)


# ---- logic -------------------------------------------------------------------
@register("all")
@numpy_keywords
def all(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """True where every element is nonzero (any dtype; empty -> True)."""
    return _reduce("all", input, dim, keepdim)


@register("any")
@numpy_keywords
def any(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    return _reduce("any", input, dim, keepdim)


# ---- softmax -----------------------------------------------------------------
def _softmax(op: str, input: Tensor, dim, dtype, log: bool) -> Tensor:
    if dim is None:
        raise TypeError(f"{op}: dim must be given (an int)")
    x = _cast(op, input, dtype)
    d = _norm_dim(op, dim, x.ndim)
    out = _call(_C.tf_softmax, x._h, d, log)
    if needs_grad(x):
        record(op, out, (x,), _log_softmax_backward if log else
               _softmax_backward, (OUT, d))
    return out


@register("softmax")
@numpy_keywords
def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along dim; a row with NaN or +inf,
    or only -inf, gives NaN as in PyTorch."""
    return _softmax("softmax", input, dim, dtype, False)


@register("log_softmax")
@numpy_keywords
def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - max - log(sum(exp(x - max))) along dim."""
    return _softmax("log_softmax", input, dim, dtype, True)


_missing = builtins.sorted(set(R) - set(_exports.FUNCTIONS))
if _missing:
    raise ImportError(f"tinyfin.reduction: no Python function for the C "
                      f"reductions {_missing}")
