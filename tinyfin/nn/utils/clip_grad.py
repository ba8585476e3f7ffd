"""Gradient clipping with PyTorch's API (torch/nn/utils/clip_grad.py).

clip_grad_norm_ scales every gradient by min(1, max_norm / (total + 1e-6)),
total being the norm of the vector of per-tensor norms (= the norm of all
gradients concatenated), and returns total as a 0-d tensor;
clip_grad_value_ clamps every gradient element to [-clip_value, clip_value].
Parameters whose .grad is None are skipped; a single Tensor may stand for
the list.

Each per-tensor norm is one pass of tinyfin's norm reduction, which
accumulates in double and rounds once to the gradient's dtype (no copy of
the gradient); the per-tensor norms are combined in float64 and the total
rounded once to the gradients' dtype (the promoted dtype when they differ).
PyTorch accumulates float32 gradients in float32: the totals agree to
float32 rounding, ours the nearer to the exact value. The clip
coefficient is computed in that dtype from the rounded total, as PyTorch's,
so the scaled gradients match PyTorch's bitwise whenever the totals do. A
coefficient of exactly 1 (total below max_norm) leaves the gradients
untouched. `foreach` is accepted for compatibility; there is one
implementation.
"""
from __future__ import annotations

import math
import types
import warnings
from typing import Iterable, List, Optional, Union

from ... import dtypes as _dtypes
from ...autograd.grad_mode import no_grad
from ...creation import tensor as _tensor
from ...reduction import norm as _norm
from ...shape import stack as _stack
from ...tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]

_Tensors = Union[Tensor, Iterable[Tensor]]


def _as_list(tensors: _Tensors) -> List[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _order(norm_type) -> float:
    """norm_type as a float ('inf' and the like accepted, as float() does)."""
    try:
        p = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"clip_grad_norm_: norm_type must be a number or 'inf', got "
                         f"{norm_type!r}") from None
    if math.isnan(p) or (p < 0 and not math.isinf(p)):
        raise ValueError(f"clip_grad_norm_: norm_type={norm_type!r} is not supported (expected "
                         "p > 0, 0, inf or -inf)")
    return p


def _result_dtype(tensors: List[Tensor]):
    """The dtype PyTorch's stack of the per-tensor norms promotes to."""
    return max((t.dtype for t in tensors), key=lambda d: d.itemsize)


@no_grad()
def get_total_norm(tensors: _Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Optional[bool] = None) -> Tensor:
    """The norm of order norm_type of the tensors taken together (as if
    concatenated into one vector), a 0-d tensor of their (promoted) dtype;
    tensor(0.) for none. error_if_nonfinite: RuntimeError when it is nan or
    inf."""
    tensors = _as_list(tensors)
    p = _order(norm_type)
    if not tensors:
        return _tensor(0.0)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or not t.dtype.is_floating_point:
            raise TypeError(f"get_total_norm: expected floating-point tensors, got "
                            f"{type(t).__name__ if not isinstance(t, Tensor) else t.dtype} "
                            f"at index {i}")
    norms = [_norm(t, p).to(_dtypes.float64) for t in tensors]
    total = _norm(_stack(norms), p).to(_result_dtype(tensors))
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`")
    return total


@no_grad()
def clip_grads_with_norm_(parameters: _Tensors, max_norm: float, total_norm: Tensor,
                          foreach: Optional[bool] = None) -> None:
    """Scale the parameters' gradients in place by
    min(1, max_norm / (total_norm + 1e-6)) (computed in total_norm's dtype,
    as PyTorch computes it)."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    # PyTorch's max_norm / (total + 1e-6) is reciprocal(total + 1e-6) *
    # max_norm, each step rounded to total's dtype (the scalars too)
    dt = total_norm.dtype
    coef = (1.0 / (total_norm + _tensor(1e-6, dtype=dt))) * _tensor(max_norm, dtype=dt)
    coef = coef.clamp(max=1.0)
    if coef.item() == 1.0:       # multiplying by 1 changes nothing
        return
    for g in grads:
        g.mul_(coef.to(g.dtype))


@no_grad()
def clip_grad_norm_(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Clip the gradients of `parameters` (an iterable of tensors, or one
    tensor) so that their total norm of order norm_type is at most max_norm;
    return the total norm before clipping (a 0-d tensor)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=3)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Deprecated alias of clip_grad_norm_ (as in PyTorch)."""
    warnings.warn("`tinyfin.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`tinyfin.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@no_grad()
def clip_grad_value_(parameters: _Tensors, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clamp every gradient element of `parameters` to [-clip_value,
    clip_value] in place (NaN stays NaN)."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad.clamp_(min=-clip_value, max=clip_value)
