"""Normalization: batch_norm, layer_norm and group_norm, with PyTorch's
signatures and semantics, over the fused C kernels of native/src/cpu/norm.c.

Forward: one C call computes the output and the saved mean and 1/std
(float64, one per normalized unit); batch_norm in training also updates the
running statistics in place (outside autograd, as PyTorch does).

Backward: two paths that compute the same gradient.
- Grad mode off during backward (the usual .backward()): the fused C
  backward kernel, from the saved mean and 1/std, in one call.
- Grad mode on (create_graph=True): the composite formula in tinyfin's own
  differentiable ops, statistics recomputed from the input, so that autograd
  can differentiate the gradient again (gradgradcheck).
With xhat = (x - mean) * rstd and gw = grad * weight, over a unit of n
elements: dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) (statistics
of the batch) or rstd * gw (given statistics: batch_norm in eval);
dweight = sum(grad * xhat), dbias = sum(grad) over the weight's broadcast.
"""
from __future__ import annotations

import numbers
from ctypes import byref
from typing import Optional, Sequence, Union

from ... import _C
from ..._args import as_int
from ...autograd.grad_mode import state as _grad_state
from ...autograd.graph import needs_grad, record
from ...tensor import Handle, Tensor, _wrap, require_tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _h(t: Optional[Tensor]):
    return None if t is None else t._h


def _optional(op: str, t, name: str) -> Optional[Tensor]:
    if t is not None:
        require_tensor(op, t, name)
    return t


def _as_float(op: str, name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a float, got {type(v).__name__}")
    return float(v)


def _forward(fn, *args):
    out, mean, rstd = Handle(), Handle(), Handle()
    _C.check(fn(*args, byref(out), byref(mean), byref(rstd)))
    return _wrap(out), _wrap(mean), _wrap(rstd)


def _backward_c(fn, *args, need=(True, True, True)):
    """The fused C backward: (dx, dweight, dbias), None where not needed."""
    hs = [Handle() if n else None for n in need]
    _C.check(fn(*args, *[byref(h) if h is not None else None for h in hs]))
    return tuple(_wrap(h) if h is not None else None for h in hs)


def _channel_shape(x: Tensor) -> tuple:
    """(1, C, 1, ...): a per-channel vector broadcast against x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _composite(g, x, w, dims, eps, shape=None, rstd=None, mean=None):
    """The gradient of (x - mean) * rstd * w with respect to x, in
    differentiable ops. dims: the dims one unit's statistics reduce over,
    of x reshaped to `shape` (None: x's own); w already broadcasts against
    x. With rstd / mean given (eval), they are constants."""
    gw = g if w is None else g * w
    xs, gs = (x, gw) if shape is None else (x.reshape(shape), gw.reshape(shape))
    if rstd is None:
        mu = xs.mean(dims, keepdim=True)
        xc = xs - mu
        r = ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()
        xhat = xc * r
        dx = r * (gs - gs.mean(dims, keepdim=True)
                  - xhat * (gs * xhat).mean(dims, keepdim=True))
    else:
        r = rstd
        xhat = (xs - mean) * r
        dx = gs * r
    if shape is not None:
        dx, xhat = dx.reshape(x.shape), xhat.reshape(x.shape)
    return dx, xhat


def _sum_dims(t: Tensor, dims: tuple) -> Tensor:
    return t.sum(dims) if dims else t


# ---- batch_norm ---------------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Optional[Tensor],
               running_var: Optional[Tensor], weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of an (N, C, *) input. training: by
    the batch's mean and biased variance, and running_mean / running_var
    (when given) updated in place, r = (1 - momentum) * r + momentum * stat,
    with the unbiased variance; else by running_mean and running_var."""
    op = "batch_norm"
    require_tensor(op, input)
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _optional(op, t, name)
    momentum = _as_float(op, "momentum", momentum)
    eps = _as_float(op, "eps", eps)
    training = bool(training)
    if training and input.ndim >= 2:
        size = input.shape[0]
        for s in input.shape[2:]:
            size *= s
        if size == 1:
            raise ValueError("Expected more than 1 value per channel when training, "
                             f"got input size {tuple(input.shape)}")
    out, mean, rstd = _forward(_C.tf_batch_norm, input._h, _h(weight), _h(bias),
                               _h(running_mean), _h(running_var), training,
                               momentum, eps)
    if needs_grad(input, weight, bias):
        record("native_batch_norm", out, (input, weight, bias), _batch_norm_backward,
               (input, weight, mean, rstd, training, eps, input._rg,
                weight is not None and weight._rg, bias is not None and bias._rg))
    return out


def _batch_norm_backward(g, x, w, mean, rstd, training, eps, nx, nw, nb):
    if not _grad_state.enabled:
        return _backward_c(_C.tf_batch_norm_backward, g._h, x._h, _h(w), mean._h,
                           rstd._h, training, need=(nx, nw, nb))
    shape = _channel_shape(x)
    dims = (0,) + tuple(range(2, x.ndim))
    wb = None if w is None else w.reshape(shape)
    if training:
        dx, xhat = _composite(g, x, wb, dims, eps)
    else:
        r = rstd.to(x.dtype).reshape(shape)
        dx, xhat = _composite(g, x, wb, dims, eps, rstd=r, mean=mean.to(x.dtype).reshape(shape))
    return (dx if nx else None, (g * xhat).sum(dims) if nw else None,
            g.sum(dims) if nb else None)


# ---- layer_norm -----------------------------------------------------------------
def _normalized_shape(op: str, normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        return (as_int(op, "normalized_shape", normalized_shape),)
    try:
        return tuple(as_int(op, "normalized_shape", s) for s in normalized_shape)
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of "
                        f"ints, got {normalized_shape!r}") from None


def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last len(normalized_shape) dims, which must equal
    normalized_shape; weight and bias (elementwise affine) have that shape."""
    op = "layer_norm"
    require_tensor(op, input)
    _optional(op, weight, "weight")
    _optional(op, bias, "bias")
    shape = _normalized_shape(op, normalized_shape)
    eps = _as_float(op, "eps", eps)
    k = len(shape)
    if k == 0 or k > input.ndim or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"{op}: Given normalized_shape={list(shape)}, expected input "
                         f"with shape [*{''.join(', ' + str(s) for s in shape)}], but "
                         f"got input of size {tuple(input.shape)}")
    out, mean, rstd = _forward(_C.tf_layer_norm, input._h, k, _h(weight), _h(bias), eps)
    if needs_grad(input, weight, bias):
        record("native_layer_norm", out, (input, weight, bias), _layer_norm_backward,
               (input, weight, mean, rstd, k, eps, input._rg,
                weight is not None and weight._rg, bias is not None and bias._rg))
    return out


def _layer_norm_backward(g, x, w, mean, rstd, k, eps, nx, nw, nb):
    lead = tuple(range(x.ndim - k))
    if not _grad_state.enabled:
        dx, dw, db = _backward_c(_C.tf_layer_norm_backward, g._h, x._h, k, _h(w),
                                 mean._h, rstd._h, need=(nx, nw, nb))
        wshape = tuple(x.shape[x.ndim - k:])
        return (dx, None if dw is None else dw.reshape(wshape),
                None if db is None else db.reshape(wshape))
    dims = tuple(range(x.ndim - k, x.ndim))
    dx, xhat = _composite(g, x, w, dims, eps)
    return (dx if nx else None, _sum_dims(g * xhat, lead) if nw else None,
            _sum_dims(g, lead) if nb else None)


# ---- group_norm -----------------------------------------------------------------
def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalize each of num_groups groups of channels of an (N, C, *) input
    over its channels and the dims after them; weight and bias are per
    channel."""
    op = "group_norm"
    require_tensor(op, input)
    _optional(op, weight, "weight")
    _optional(op, bias, "bias")
    num_groups = as_int(op, "num_groups", num_groups)
    eps = _as_float(op, "eps", eps)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input with at least 2 dims (N, C, *), "
                         f"got shape {tuple(input.shape)}")
    out, mean, rstd = _forward(_C.tf_group_norm, input._h, num_groups, _h(weight),
                               _h(bias), eps)
    if needs_grad(input, weight, bias):
        record("native_group_norm", out, (input, weight, bias), _group_norm_backward,
               (input, weight, mean, rstd, num_groups, eps, input._rg,
                weight is not None and weight._rg, bias is not None and bias._rg))
    return out


def _group_norm_backward(g, x, w, mean, rstd, groups, eps, nx, nw, nb):
    if not _grad_state.enabled:
        return _backward_c(_C.tf_group_norm_backward, g._h, x._h, groups, _h(w),
                           mean._h, rstd._h, need=(nx, nw, nb))
    n, c, spatial = x.shape[0], x.shape[1], 1
    for size in x.shape[2:]:
        spatial *= size
    unit = (c // groups) * spatial
    dims = (0,) + tuple(range(2, x.ndim))
    wb = None if w is None else w.reshape(_channel_shape(x))
    dx, xhat = _composite(g, x, wb, (2,), eps, shape=(n, groups, unit))
    return (dx if nx else None, (g * xhat).sum(dims) if nw else None,
            g.sum(dims) if nb else None)
