"""Gradient formulas of the elementwise ops, one line each, written with
tinyfin's differentiable ops so that higher derivatives come for free.

UNARY[name] = (formula(g, x, out, p) -> grad of x, what it saves)
  p is the op's (p0, p1, p2); "x" / "out" / "x,out" say which tensors the
  formula reads (only those are saved and version-checked).
BINARY[name] = (grad of a, grad of b, what they save: "a", "b", "out"),
  each grad(g, a, b, out) computed only when that input needs it, before
  summing back over broadcast dims. A Python scalar operand reaches the
  formulas as a number (always kept) and gets no gradient.

Conventions at points where the derivative is undefined (as PyTorch):
abs'(0) = 0, relu'(0) = 0, clamp passes the gradient where min <= x <= max,
maximum/minimum split the gradient evenly between equal operands,
floor/ceil/round/trunc/sign have zero gradient.

The formulas are built on the ops of elementwise.py, so this module sits
above it and hands the tables over at import (`E.install_gradients`, at the
bottom); tinyfin/__init__.py imports it right after elementwise.
"""
from __future__ import annotations

import math

from . import elementwise as E

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_GELU_C = 0.044715


def _mask(cond, like):
    """A float mask (1 where cond) in like's dtype."""
    return cond.to(like.dtype)


def _zero(g, x, out, p):
    return g * 0.0


def _gelu(g, x, out, p):
    if p[0] == 0:  # exact: Phi(x) + x phi(x)
        cdf = (E.erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
        pdf = E.exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * (cdf + x * pdf)
    u = (x + x * x * x * _GELU_C) * _SQRT_2_OVER_PI
    t = E.tanh(u)
    du = (x * x * (3 * _GELU_C) + 1.0) * _SQRT_2_OVER_PI
    return g * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * du)


def _silu(g, x, out, p):
    s = E.sigmoid(x)
    return g * s * (x * (1.0 - s) + 1.0)


def _softplus(g, x, out, p):
    bx = x * p[0]
    return E.where(bx > p[1], g, g * E.sigmoid(bx))


def _clamp(g, x, out, p):
    return E.where((x >= p[0]).logical_and(x <= p[1]), g, 0.0)


UNARY = {
    "neg": (lambda g, x, out, p: -g, ""),
    "abs": (lambda g, x, out, p: g * E.sign(x), "x"),
    "sign": (_zero, ""),
    "exp": (lambda g, x, out, p: g * out, "out"),
    "exp2": (lambda g, x, out, p: g * out * math.log(2.0), "out"),
    "expm1": (lambda g, x, out, p: g * (out + 1.0), "out"),
    "log": (lambda g, x, out, p: g / x, "x"),
    "log2": (lambda g, x, out, p: g / (x * math.log(2.0)), "x"),
    "log10": (lambda g, x, out, p: g / (x * math.log(10.0)), "x"),
    "log1p": (lambda g, x, out, p: g / (x + 1.0), "x"),
    "sqrt": (lambda g, x, out, p: g / (out * 2.0), "out"),
    "rsqrt": (lambda g, x, out, p: g * out * out * out * -0.5, "out"),
    "reciprocal": (lambda g, x, out, p: -g * out * out, "out"),
    "square": (lambda g, x, out, p: g * x * 2.0, "x"),
    "sin": (lambda g, x, out, p: g * E.cos(x), "x"),
    "cos": (lambda g, x, out, p: -g * E.sin(x), "x"),
    "tan": (lambda g, x, out, p: g * (out * out + 1.0), "out"),
    "tanh": (lambda g, x, out, p: E.tanh_backward(g, x), "x"),
    "sigmoid": (lambda g, x, out, p: E.sigmoid_backward(g, x), "x"),
    "relu": (lambda g, x, out, p: E.where(x > 0, g, 0.0), "x"),
    "leaky_relu": (lambda g, x, out, p: E.where(x > 0, g, g * p[0]), "x"),
    "elu": (lambda g, x, out, p: E.where(x > 0, g, g * (out + p[0])), "x,out"),
    "gelu": (_gelu, "x"),
    "silu": (_silu, "x"),
    "softplus": (_softplus, "x"),
    "erf": (lambda g, x, out, p: g * E.exp(-(x * x)) * _TWO_OVER_SQRT_PI, "x"),
    "floor": (_zero, ""),
    "ceil": (_zero, ""),
    "round": (_zero, ""),
    "trunc": (_zero, ""),
    "clamp": (_clamp, "x"),
    "nan_to_num": (lambda g, x, out, p: E.where(E.isfinite(x), g, 0.0), "x"),
}
# Ops with a bool result have no gradient.
NOT_DIFFERENTIABLE = {"isnan", "isinf", "isfinite", "logical_not",
                      "eq", "ne", "lt", "le", "gt", "ge",
                      "logical_and", "logical_or", "logical_xor"}


def _is_scalar(v) -> bool:
    return isinstance(v, (bool, int, float))


def _pow_a(g, a, b):
    """d/da a^b = b a^(b-1), taken as 0 where b == 0 (PyTorch)."""
    if _is_scalar(b):
        return g * 0.0 if b == 0 else g * b * E.pow(a, b - 1)
    return E.where(b == 0, 0.0, g * b * E.pow(a, b - 1))


def _pow_b(g, a, b, out):
    """d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch)."""
    if _is_scalar(a):
        log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
        gb = g * out * log_a
        return E.where(b >= 0, 0.0, gb) if a == 0 else gb
    return E.where((a == 0).logical_and(b >= 0), 0.0, g * out * E.log(a))


def _max_min_share(g, a, b, wins):
    """a's share of the gradient of maximum/minimum: all of it where a wins,
    half where the operands tie (PyTorch's convention)."""
    share = (a == b).to(g.dtype) * 0.5 + wins.to(g.dtype)
    return g * share


def _remainder_b(g, a, b, out):
    return -g * E.floor_divide(a, b)


BINARY = {
    "add": (lambda g, a, b, out: g, lambda g, a, b, out: g, ""),
    "sub": (lambda g, a, b, out: g, lambda g, a, b, out: -g, ""),
    "mul": (lambda g, a, b, out: g * b, lambda g, a, b, out: g * a, "a,b"),
    "div": (lambda g, a, b, out: g / b, lambda g, a, b, out: -g * out / b, "b,out"),
    "pow": (lambda g, a, b, out: _pow_a(g, a, b), _pow_b, "a,b,out"),
    "maximum": (lambda g, a, b, out: _max_min_share(g, a, b, a > b),
                lambda g, a, b, out: _max_min_share(g, b, a, b > a), "a,b"),
    "minimum": (lambda g, a, b, out: _max_min_share(g, a, b, a < b),
                lambda g, a, b, out: _max_min_share(g, b, a, b < a), "a,b"),
    "remainder": (lambda g, a, b, out: g, _remainder_b, "a,b"),
    "floor_divide": (lambda g, a, b, out: g * 0.0, lambda g, a, b, out: g * 0.0, ""),
    # g * tanh'(x): d/dg = tanh'(x), d/dx = -2 g tanh'(x) tanh(x)
    "tanh_backward": (lambda G, g, x, out: E.tanh_backward(G, x),
                      lambda G, g, x, out: E.tanh_backward(G * g, x) * E.tanh(x) * -2.0,
                      "a,b"),
    # g * s'(x), s' = s (1 - s): d/dg = s'(x), d/dx = g s'(x) (1 - 2 s(x))
    "sigmoid_backward": (lambda G, g, x, out: E.sigmoid_backward(G, x),
                         lambda G, g, x, out: E.sigmoid_backward(G * g, x)
                         * (1.0 - E.sigmoid(x) * 2.0), "a,b"),
}


E.install_gradients(UNARY, BINARY, NOT_DIFFERENTIABLE)
