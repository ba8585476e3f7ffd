"""The activation functions of nn.functional, with PyTorch's signatures.

relu, leaky_relu, elu, gelu, silu, sigmoid, tanh, softplus, softmax and
log_softmax are the core ops (tinyfin/elementwise.py, reduction.py: C
kernels, float32 rounded once from float64, their own gradients); here
they gain PyTorch's functional keywords (inplace=, softmax's implicit dim).
The rest are built from core ops and record their own backward where the
composition's gradient would not be PyTorch's at the kinks:

  hardtanh(x, lo, hi)  clamp forward; gradient 1 strictly inside (lo, hi),
                       0 at the bounds themselves and beyond (PyTorch's
                       hardtanh_backward), so relu6'(0) = relu6'(6) = 0
  hardsigmoid(x)       relu6(x + 3) / 6; gradient 1/6 strictly inside (-3, 3)
  hardswish(x)         x (relu6(x + 3) / 6); gradient 0 for x <= -3,
                       (2x + 3)/6 for -3 < x < 3, 1 for x >= 3 (PyTorch)
  logsigmoid(x)        -(log1p(exp(-|x|)) - min(x, 0)) (stable, no threshold,
                       -0 for large x as the exact value's sign);
                       gradient sigmoid(-x)
  mish(x)              x tanh(softplus(x)), float32 computed in float64 and
                       rounded once, x e^(x + 64) e^-64 below -700 (where
                       e^x is subnormal); gradient t + x (1 - t^2) sigmoid(x)

Every backward is written in differentiable ops, so create_graph and
gradgradcheck work. inplace=True writes the result into the input (an
error on a leaf that requires grad, as in PyTorch).
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

from ... import elementwise as E
from ... import reduction as R
from ..._args import as_real
from ...autograd.grad_mode import no_grad
from ...autograd.graph import needs_grad, record
from ...autograd.inplace import overwrite
from ...dtypes import float64
from ...tensor import Tensor, require_tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_",
           "gelu", "silu", "sigmoid", "tanh", "softplus", "softmax",
           "log_softmax", "softmin", "hardtanh", "hardtanh_", "hardsigmoid",
           "hardswish", "mish", "logsigmoid"]

_U = E.U


def _inplace(op: str, input: Tensor, compute) -> Tensor:
    """input overwritten with compute() (tracked under autograd)."""
    return overwrite(op, input, compute)


# ---- the core ops with PyTorch's functional keywords ------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); relu'(0) = 0 (PyTorch)."""
    require_tensor("relu", input)
    if inplace:
        return E.unary(_U["relu"], input, out=input)
    return E.unary(_U["relu"], input)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,
               inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (gradient negative_slope at 0)."""
    require_tensor("leaky_relu", input)
    slope = as_real("leaky_relu", "negative_slope", negative_slope)
    if inplace:
        return E.unary(_U["leaky_relu"], input, slope, out=input)
    return E.unary(_U["leaky_relu"], input, slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise."""
    require_tensor("elu", input)
    alpha = as_real("elu", "alpha", alpha)
    if inplace:
        return E.unary(_U["elu"], input, alpha, out=input)
    return E.unary(_U["elu"], input, alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), or with approximate='tanh' the tanh approximation."""
    return E.gelu(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x)."""
    require_tensor("silu", input)
    if inplace:
        return E.unary(_U["silu"], input, out=input)
    return E.unary(_U["silu"], input)


def sigmoid(input: Tensor) -> Tensor:
    return E.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return E.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold."""
    return E.softplus(input, beta, threshold)


def _softmax_dim(op: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's legacy rule for a softmax called without dim: dim 0 for 0-,
    1- and 3-d inputs, else 1, with a deprecation warning."""
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. "
                  "Change the call to include dim=X as an argument.",
                  UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, computed stably (the core op)."""
    require_tensor("softmax", input)
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return R.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x - logsumexp(x) along dim (the core op)."""
    require_tensor("log_softmax", input)
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return R.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(-x) along dim."""
    require_tensor("softmin", input)
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    if dtype is not None:
        input = R._cast("softmin", input, dtype)
    return R.softmax(-input, dim)


# ---- hardtanh and the hard* family ----------------------------------------
def _float_input(op: str, input: Tensor) -> Tensor:
    require_tensor(op, input)
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a float32 or float64 input, got "
                        f"{input.dtype.name}")
    return input


def _hardtanh(input: Tensor, lo: float, hi: float) -> Tensor:
    with no_grad():
        out = E.unary(_U["clamp"], input, lo, hi)
    if needs_grad(input):
        record("hardtanh", out, (input,), _hardtanh_backward, (input, lo, hi))
    return out


def _hardtanh_backward(g, x, lo, hi):
    # PyTorch: 0 where x <= lo or x >= hi (a NaN x passes the gradient)
    outside = (x <= lo).logical_or(x >= hi)
    return (E.where(outside, 0.0, g),)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val); the gradient is 1 strictly between the
    bounds and 0 at them (PyTorch's convention, unlike clamp's)."""
    _float_input("hardtanh", input)
    lo = as_real("hardtanh", "min_val", min_val)
    hi = as_real("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater "
                         f"than max_val ({max_val})")
    if inplace:
        return _inplace("hardtanh", input, lambda: _hardtanh(input, lo, hi))
    return _hardtanh(input, lo, hi)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) = hardtanh(x, 0, 6): gradient 0 at 0 and at 6."""
    _float_input("relu6", input)
    if inplace:
        return _inplace("relu6", input, lambda: _hardtanh(input, 0.0, 6.0))
    return _hardtanh(input, 0.0, 6.0)


def _hardsigmoid(input: Tensor) -> Tensor:
    with no_grad():
        out = E.unary(_U["clamp"], input + 3.0, 0.0, 6.0) / 6.0
    if needs_grad(input):
        record("hardsigmoid", out, (input,), _hardsigmoid_backward, (input,))
    return out


def _hardsigmoid_backward(g, x):
    inside = (x > -3.0).logical_and(x < 3.0)
    return (E.where(inside, g / 6.0, 0.0),)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; gradient 1/6 strictly inside (-3, 3), else 0."""
    _float_input("hardsigmoid", input)
    if inplace:
        return _inplace("hardsigmoid", input, lambda: _hardsigmoid(input))
    return _hardsigmoid(input)


def _hardswish(input: Tensor) -> Tensor:
    with no_grad():
        # x times hardsigmoid(x): no overflow of x * 6 near the float max;
        # float32 through float64, rounded once (within 1 ULP)
        xd = input.to(float64)
        out = (xd * (E.unary(_U["clamp"], xd + 3.0, 0.0, 6.0) / 6.0)).to(input.dtype)
    if needs_grad(input):
        record("hardswish", out, (input,), _hardswish_backward, (input,))
    return out


def _hardswish_backward(g, x):
    # PyTorch: 0 for x <= -3, x/3 + 1/2 for -3 < x < 3, 1 for x >= 3
    # (2x + 3) / 6: 2x is exact and so is 2x + 3 near the zero at -3/2
    middle = E.where(x < 3.0, g * ((x * 2.0 + 3.0) / 6.0), g)
    return (E.where(x <= -3.0, 0.0, middle),)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    _float_input("hardswish", input)
    if inplace:
        return _inplace("hardswish", input, lambda: _hardswish(input))
    return _hardswish(input)


# ---- logsigmoid and mish ----------------------------------------------------
def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -(log1p(exp(-|x|)) - min(x, 0)): no overflow, and no
    threshold (softplus's x > 20 shortcut would lose 1e-9 relative); the
    result is -0 where it rounds to zero (the exact value is negative)."""
    x = _float_input("logsigmoid", input)
    with no_grad():
        xd = x.to(float64)  # float32 through float64, rounded once
        out = (-(E.log1p(E.exp(-E.abs(xd))) - E.minimum(xd, 0.0))).to(x.dtype)
    if needs_grad(x):
        record("logsigmoid", out, (x,), _logsigmoid_backward, (x,))
    return out


def _logsigmoid_backward(g, x):
    return (g * E.sigmoid(-x),)


_EXP_M64 = math.exp(-64.0)


def _mish(x: Tensor) -> Tensor:
    with no_grad():
        xd = x.to(float64)
        # float64: four roundings (softplus, tanh, mul), within 3 ULP; the
        # one float64 activation above 2 ULP (verify/ops_nn_activation.py)
        out = xd * E.tanh(E.softplus(xd))
        # below -700, e^x is subnormal or zero while x e^x need not be:
        # x e^(x + 64) e^-64, where x + 64 is exact
        tiny = xd * E.exp(xd + 64.0) * _EXP_M64
        out = E.where(xd < -700.0, tiny, out).to(x.dtype)
    if needs_grad(x):
        record("mish", out, (x,), _mish_backward, (x,))
    return out


def _mish_backward(g, x):
    t = E.tanh(E.softplus(x))
    return (g * (t + x * (1.0 - t * t) * E.sigmoid(x)),)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) (float32 via float64, rounded once)."""
    _float_input("mish", input)
    if inplace:
        return _inplace("mish", input, lambda: _mish(input))
    return _mish(input)
