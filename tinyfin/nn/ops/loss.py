"""Loss functions with PyTorch's names, keywords and reduction rules.

cross_entropy and binary_cross_entropy_with_logits are fused C kernels
(native/src/cpu/loss.c): one pass per row in a stable form, finite and
accurate at logits of +-1e30. Their backward passes are C kernels too, each
recorded as an op whose own backward is written in tinyfin's differentiable
ops (softmax, sigmoid, sums), so create_graph and gradgradcheck work.

The other losses are compositions of exact differentiable ops; where the
composite gradient would be wrong at a bound (binary_cross_entropy at an
input of 0 or 1, whose logs are clamped at -100) the op records PyTorch's
gradient formula instead, itself written in differentiable ops.

Reductions: 'none', 'mean', 'sum' (kl_div also 'batchmean'). Weighted
means follow PyTorch: cross_entropy / nll_loss with class-index targets
divide by the summed weight of the non-ignored targets (NaN when every
target is ignored); mse_loss / l1_loss with an elementwise weight by the
summed weight; huber_loss with a weight by the element count.
"""
from __future__ import annotations

import math
import warnings

from ... import _C
from ..._args import as_int, as_real
from ...autograd.grad_mode import no_grad
from ...autograd.graph import needs_grad, record
from ...creation import arange
from ...elementwise import clamp, softplus, where
from ...reduction import log_softmax, softmax
from ...tensor import Tensor, _call, require_tensor

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy",
           "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "kl_div"]

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _reduction_code(op: str, reduction, allowed=("none", "mean", "sum")) -> int:
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(repr(a) for a in allowed)})")
    return _REDUCTIONS.get(reduction, -1)


def _no_legacy(op: str, size_average, reduce) -> None:
    if size_average is not None or reduce is not None:
        raise TypeError(f"{op}: the legacy size_average and reduce arguments are not "
                        "supported; use reduction='none' | 'mean' | 'sum'")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _shape(x) -> tuple:
    return tuple(x.shape)


# ---- regression losses -----------------------------------------------------------
def _pointwise_args(op: str, input, target, reduction, weight=None, warn=True):
    require_tensor(op, input, "input")
    require_tensor(op, target, "target")
    _reduction_code(op, reduction)
    if warn and input.shape != target.shape:
        warnings.warn(f"{op}: using a target size ({_shape(target)}) that is different to "
                      f"the input size ({_shape(input)}). This will likely lead to "
                      "incorrect results due to broadcasting. Please ensure they have "
                      "the same size.", UserWarning, stacklevel=3)
    if weight is not None:
        require_tensor(op, weight, "weight")
        if weight.shape != input.shape:
            raise ValueError(f"{op}: weight of shape {_shape(weight)} must have the "
                             f"input's shape {_shape(input)}")


def _weighted(loss: Tensor, weight, reduction: str, mean_by_weight: bool) -> Tensor:
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """(input - target)^2, reduced; with an elementwise weight, mean is
    sum(weight * loss) / sum(weight)."""
    _no_legacy("mse_loss", size_average, reduce)
    _pointwise_args("mse_loss", input, target, reduction, weight)
    d = input - target
    return _weighted(d * d, weight, reduction, True)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """|input - target|, reduced (the gradient at 0 is 0, as PyTorch's)."""
    _no_legacy("l1_loss", size_average, reduce)
    _pointwise_args("l1_loss", input, target, reduction, weight)
    return _weighted((input - target).abs(), weight, reduction, True)


def _huber(d: Tensor, delta: float) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2)."""
    a = d.abs()
    return where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0, weight=None) -> Tensor:
    op = "huber_loss"
    _pointwise_args(op, input, target, reduction, weight)
    delta = as_real(op, "delta", delta)
    if not delta > 0:
        raise ValueError(f"{op}: delta must be positive, got {delta}")
    return _weighted(_huber(input - target, delta), weight, reduction, False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """huber_loss / beta: 0.5 d^2 / beta where |d| < beta, else |d| - beta / 2;
    beta = 0 is l1_loss."""
    op = "smooth_l1_loss"
    _no_legacy(op, size_average, reduce)
    _pointwise_args(op, input, target, reduction)
    beta = as_real(op, "beta", beta)
    if not beta >= 0:
        raise ValueError(f"{op}: beta must be non-negative, got {beta}")
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction)
    a = d.abs()
    return _reduce(where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


# ---- classification: shared checks -------------------------------------------------
def _class_dim(op: str, input: Tensor) -> int:
    if input.ndim == 0:
        raise ValueError(f"{op}: expected an input of shape (C,), (N, C) or "
                         "(N, C, d1, ...), got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _check_weight(op: str, weight, input: Tensor, C: int) -> None:
    if weight is None:
        return
    require_tensor(op, weight, "weight")
    if weight.ndim != 1 or weight.shape[0] != C:
        raise ValueError(f"{op}: weight of shape {_shape(weight)} must be 1-D with one "
                         f"entry per class ({C}) of the input of shape {_shape(input)}")
    if weight.dtype is not input.dtype:
        raise TypeError(f"{op}: weight must have the input's dtype "
                        f"({input.dtype.name}), got {weight.dtype.name}")


def _broadcast_classes(w: Tensor, ndim: int, cdim: int) -> Tensor:
    """A (C,) tensor shaped to broadcast along the class dim of ndim dims."""
    return w.reshape((w.shape[0],) + (1,) * (ndim - cdim - 1))


def _target_distribution(x: Tensor, target: Tensor, weight, ignore_index: int,
                         smoothing: float, prob: bool) -> Tensor:
    """B: per element of x the weighted, smoothed target distribution
    (zero in ignored rows). The loss of a row is sum_c B_c (lse - x_c) and
    its gradient grad * (softmax(x) * sum_c B_c - B)."""
    cdim = 0 if x.ndim == 1 else 1
    C = x.shape[cdim]
    if prob:
        dist = target * (1.0 - smoothing) + smoothing / C
    else:
        valid = target != ignore_index
        safe = where(valid, target, 0)
        classes = arange(C, device=x.device).reshape((C,) + (1,) * (x.ndim - cdim - 1))
        hit = (classes == safe.unsqueeze(cdim)).to(x.dtype)
        dist = (hit * (1.0 - smoothing) + smoothing / C) * valid.unsqueeze(cdim).to(x.dtype)
    if weight is not None:
        dist = dist * _broadcast_classes(weight, x.ndim, cdim)
    return dist


def _mean_denominator(x: Tensor, target: Tensor, weight, ignore_index: int,
                      prob: bool) -> Tensor:
    """What reduction='mean' divides by: the number of rows (probability
    targets), else the summed weight of the non-ignored targets."""
    with no_grad():
        if prob:
            cdim = 0 if x.ndim == 1 else 1
            return float(math.prod(s for i, s in enumerate(x.shape) if i != cdim))
        return _target_distribution(x, target, weight, ignore_index, 0.0, False).sum()


def _row_grad(g: Tensor, x: Tensor, target: Tensor, weight, ignore_index: int,
              prob: bool, reduction: int):
    """The upstream gradient per row, broadcastable along the class dim."""
    cdim = 0 if x.ndim == 1 else 1
    if reduction == 0:
        return g.unsqueeze(cdim)
    if reduction == 1:
        return g / _mean_denominator(x, target, weight, ignore_index, prob)
    return g


# ---- cross_entropy ------------------------------------------------------------------
def _handle(t):
    return None if t is None else t._h


def cross_entropy(input: Tensor, target: Tensor, weight=None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim (dim 1; dim 0 of a (C,) input) and the
    negative log-likelihood of the target: class indices (int64, the input's
    shape without the class dim) or class probabilities (the input's shape),
    in one fused, stable pass per row."""
    op = "cross_entropy"
    _no_legacy(op, size_average, reduce)
    require_tensor(op, input, "input")
    require_tensor(op, target, "target")
    red = _reduction_code(op, reduction)
    cdim = _class_dim(op, input)
    _check_weight(op, weight, input, input.shape[cdim])
    ignore_index = as_int(op, "ignore_index", ignore_index)
    smoothing = as_real(op, "label_smoothing", label_smoothing)
    out = _call(_C.tf_cross_entropy, input._h, target._h, _handle(weight), ignore_index,
                smoothing, red)
    prob = target.dtype.is_floating_point
    if needs_grad(input, target if prob else None, weight):
        record("cross_entropy_loss", out, (input, target if prob else None, weight),
               _cross_entropy_backward, (input, target, weight, ignore_index, smoothing, red))
    return out


def _not_differentiable(op: str, **tensors) -> None:
    """PyTorch's rule: the class weights (and pos_weight) of the fused
    losses have no derivative; a backward through one that requires grad
    is an error, never a silent None."""
    for name, t in tensors.items():
        if t is not None and t._rg:
            raise RuntimeError(f"{op}: the derivative for '{name}' is not implemented "
                               "(as in PyTorch); pass it detached")


def _cross_entropy_backward(g, x, target, weight, ignore_index, smoothing, red):
    _not_differentiable("cross_entropy", weight=weight)
    prob = target.dtype.is_floating_point
    gx = gt = None
    if x._rg:
        gx = _cross_entropy_grad(g, x, target, weight, ignore_index, smoothing, red)
    if prob and target._rg:
        cdim = 0 if x.ndim == 1 else 1
        w = 1.0 if weight is None else _broadcast_classes(weight, x.ndim, cdim)
        G = _row_grad(g, x, target, weight, ignore_index, prob, red)
        gt = -(1.0 - smoothing) * G * w * log_softmax(x, cdim)
    return gx, gt, None


def _cross_entropy_grad(g, x, target, weight, ignore_index, smoothing, red):
    """d cross_entropy / d x (the fused C kernel), itself differentiable."""
    out = _call(_C.tf_cross_entropy_backward, g._h, x._h, target._h, _handle(weight),
                ignore_index, smoothing, red)
    prob = target.dtype.is_floating_point
    if needs_grad(g, x, target if prob else None):
        record("cross_entropy_loss_backward", out, (g, x, target if prob else None),
               _cross_entropy_grad_backward, (g, x, target, weight, ignore_index,
                                              smoothing, red))
    return out


def _cross_entropy_grad_backward(h, g, x, target, weight, ignore_index, smoothing, red):
    """The out = G (p A - B) of the kernel (p = softmax(x), B the target
    distribution, A = sum_c B_c, G the row's upstream gradient) against an
    upstream h: d/dx = G A p (h - sum_c h p), d/dB = G (sum_c h p - h),
    d/dG = sum_c h (p A - B)."""
    prob = target.dtype.is_floating_point
    cdim = 0 if x.ndim == 1 else 1
    B = _target_distribution(x, target, weight, ignore_index, smoothing, prob)
    A = B.sum(cdim, keepdim=True)
    G = _row_grad(g, x, target, weight, ignore_index, prob, red)
    p = softmax(x, cdim)
    hp = (h * p).sum(cdim, keepdim=True)
    gg = gx = gt = None
    if g._rg:
        per_row = (h * (p * A - B)).sum(cdim)
        if red == 0:
            gg = per_row
        elif red == 1:
            gg = per_row.sum() / _mean_denominator(x, target, weight, ignore_index, prob)
        else:
            gg = per_row.sum()
    if x._rg:
        gx = G * A * p * (h - hp)
    if prob and target._rg:
        w = 1.0 if weight is None else _broadcast_classes(weight, x.ndim, cdim)
        gt = G * (1.0 - smoothing) * w * (hp - h)
    return gg, gx, gt


# ---- nll_loss -----------------------------------------------------------------------
def _check_index_target(op: str, input: Tensor, target: Tensor, cdim: int,
                        ignore_index: int) -> None:
    if target.dtype.is_floating_point or target.dtype.name != "int64":
        raise TypeError(f"{op}: expected class-index targets of dtype int64, got "
                        f"{target.dtype.name}")
    rows = tuple(s for i, s in enumerate(input.shape) if i != cdim)
    if _shape(target) != rows:
        raise ValueError(f"{op}: class-index target of shape {_shape(target)} does not "
                         f"fit the input of shape {_shape(input)} (expected {rows}: the "
                         "input's shape without the class dim)")
    C = input.shape[cdim]
    if target.numel():
        bad = (target != ignore_index).logical_and((target < 0).logical_or(target >= C))
        if bool(bad.any()):
            value = int(target.reshape(-1)[bad.reshape(-1)][0])
            raise IndexError(f"{op}: target {value} is out of bounds for {C} classes "
                             f"(valid: 0 to {C - 1}, or ignore_index {ignore_index})")


def nll_loss(input: Tensor, target: Tensor, weight=None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """-weight[y] * input[y] per row (input holds log-probabilities along the
    class dim); mean divides by the summed weight of the non-ignored rows."""
    op = "nll_loss"
    _no_legacy(op, size_average, reduce)
    require_tensor(op, input, "input")
    require_tensor(op, target, "target")
    _reduction_code(op, reduction)
    cdim = _class_dim(op, input)
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected float32 or float64 input, got {input.dtype.name}")
    _check_weight(op, weight, input, input.shape[cdim])
    ignore_index = as_int(op, "ignore_index", ignore_index)
    _check_index_target(op, input, target, cdim, ignore_index)
    valid = target != ignore_index
    safe = where(valid, target, 0).unsqueeze(cdim)
    picked = input.gather(cdim, safe).squeeze(cdim)
    if weight is None:
        wy = valid.to(input.dtype)
        loss = where(valid, -picked, 0.0)
    else:
        wy = where(valid, weight.detach()[safe.squeeze(cdim)], 0.0)
        loss = where(valid, -(weight[safe.squeeze(cdim)] * picked), 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wy.sum()


# ---- binary cross-entropy ---------------------------------------------------------------
def binary_cross_entropy(input: Tensor, target: Tensor, weight=None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-weight (y log(x) + (1 - y) log(1 - x)), each log clamped at -100 as
    in PyTorch (so x = 0 or 1 gives a finite loss); input in [0, 1]."""
    op = "binary_cross_entropy"
    _no_legacy(op, size_average, reduce)
    require_tensor(op, input, "input")
    require_tensor(op, target, "target")
    _reduction_code(op, reduction)
    if input.shape != target.shape:
        raise ValueError(f"{op}: using a target size ({_shape(target)}) that is different "
                         f"to the input size ({_shape(input)}) is not supported; ensure "
                         "they have the same size")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected float32 or float64 input, got {input.dtype.name}")
    if weight is not None:
        require_tensor(op, weight, "weight")
        try:
            weight = weight.expand(*input.shape)
        except (ValueError, RuntimeError):
            raise ValueError(f"{op}: weight of shape {_shape(weight)} cannot be broadcast "
                             f"to the input's shape {_shape(input)}") from None
    if input.numel():
        with no_grad():
            outside = ((input >= 0).logical_and(input <= 1)).logical_not()
            if bool(outside.any()):
                value = float(input.detach().reshape(-1)[outside.reshape(-1)][0])
                raise ValueError(f"{op}: all elements of input should be between 0 and 1, "
                                 f"got {value} (input of shape {_shape(input)})")
    with no_grad():
        loss = _bce_value(input, target, weight)
    if needs_grad(input, target, weight):
        record("binary_cross_entropy", loss, (input, target, weight), _bce_backward,
               (input, target, weight))
    return _reduce(loss, reduction)


def _bce_value(x, y, w):
    lx = clamp(x.log(), min=-100.0)
    l1x = clamp((-x).log1p(), min=-100.0)
    loss = -(y * lx + (1 - y) * l1x)
    return loss if w is None else loss * w


def _bce_backward(g, x, y, w):
    """PyTorch's formulas: d/dx = w (x - y) / max(x (1 - x), 1e-12),
    d/dy = w (log(1 - x) - log(x)) with the clamped logs, d/dw = the loss."""
    gx = gy = gw = None
    gw_ = g if w is None else g * w
    if x._rg:
        gx = gw_ * (x - y) / clamp(x * (1 - x), min=1e-12)
    if y._rg:
        gy = gw_ * (clamp((-x).log1p(), min=-100.0) - clamp(x.log(), min=-100.0))
    if w is not None and w._rg:
        gw = g * _bce_value(x, y, None)
    return gx, gy, gw


# ---- binary cross-entropy with logits ------------------------------------------------------
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None,
                                     size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """BCE of sigmoid(input) in one stable fused pass: (1 - y) x + L
    softplus(-x), L = 1 + (pos_weight - 1) y; weight and pos_weight broadcast
    to the input (pos_weight of shape (C,) along the last, class dim)."""
    op = "binary_cross_entropy_with_logits"
    _no_legacy(op, size_average, reduce)
    require_tensor(op, input, "input")
    require_tensor(op, target, "target")
    red = _reduction_code(op, reduction)
    if input.shape != target.shape:
        raise ValueError(f"{op}: target size ({_shape(target)}) must be the same as input "
                         f"size ({_shape(input)})")
    if weight is not None:
        require_tensor(op, weight, "weight")
    if pos_weight is not None:
        require_tensor(op, pos_weight, "pos_weight")
    out = _call(_C.tf_bce_with_logits, input._h, target._h, _handle(weight),
                _handle(pos_weight), red)
    if needs_grad(input, target, weight, pos_weight):
        record(op, out, (input, target, weight, pos_weight), _bce_logits_backward,
               (input, target, weight, pos_weight, red))
    return out


def _bce_logits_upstream(g, x, red):
    return g / float(x.numel()) if red == 1 else g


def _bce_logits_backward(g, x, y, w, pw, red):
    _not_differentiable("binary_cross_entropy_with_logits", weight=w, pos_weight=pw)
    gx = gy = None
    if x._rg:
        gx = _bce_logits_grad(g, x, y, w, pw, red)
    if y._rg:  # d/dy = w (-x + (pos_weight - 1) softplus(-x))
        d = -x if pw is None else -x + (pw - 1) * softplus(-x, 1.0, math.inf)
        gy = _bce_logits_upstream(g, x, red) * (d if w is None else w * d)
    return gx, gy, None, None


def _bce_logits_grad(g, x, y, w, pw, red):
    out = _call(_C.tf_bce_with_logits_backward, g._h, x._h, y._h, _handle(w),
                _handle(pw), red)
    if needs_grad(g, x, y):
        record("binary_cross_entropy_with_logits_backward", out, (g, x, y),
               _bce_logits_grad_backward, (g, x, y, w, pw, red))
    return out


def _bce_logits_grad_backward(h, g, x, y, w, pw, red):
    """out = G w ((1 - y) s - P y s'), s = sigmoid(x), s' = sigmoid(-x),
    P = pos_weight: d/dx = G w ((1 - y) + P y) s s', d/dy = -G w (s + P s'),
    d/dG = w ((1 - y) s - P y s')."""
    s, sn = x.sigmoid(), (-x).sigmoid()
    P = 1.0 if pw is None else pw
    W = 1.0 if w is None else w
    G = _bce_logits_upstream(g, x, red)
    gg = gx = gy = None
    if g._rg:
        per = h * W * ((1 - y) * s - P * y * sn)
        if red == 0:
            gg = per
        elif red == 1:
            gg = per.sum() / float(x.numel())
        else:
            gg = per.sum()
    if x._rg:
        gx = h * G * W * ((1 - y) + P * y) * s * sn
    if y._rg:
        gy = -(h * G * W * (s + P * sn))
    return gg, gx, gy


# ---- kl_div -----------------------------------------------------------------------------------
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target (log target - input) per element (input holds log-probabilities;
    with log_target the target does too: exp(target) (target - input));
    0 where target is 0. 'batchmean' divides the sum by input.size(0)."""
    op = "kl_div"
    _no_legacy(op, size_average, reduce)
    require_tensor(op, input, "input")
    require_tensor(op, target, "target")
    _reduction_code(op, reduction, ("none", "mean", "sum", "batchmean"))
    if reduction == "mean":
        warnings.warn("kl_div: reduction 'mean' divides the total loss by both the batch "
                      "size and the support size; 'batchmean' divides only by the batch "
                      "size, and aligns with the KL divergence's definition", UserWarning,
                      stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        zero = target == 0
        # xlogy(t, t): 0 at t == 0 (the where keeps log's -inf out of the graph)
        tlogt = where(zero, 0.0, target * where(zero, 1.0, target).log())
        loss = tlogt - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)
