"""Gradient formulas of the elementwise ops, one line each, written with
tinyfin's differentiable ops so that higher derivatives come for free.

UNARY[name] = (formula(g, x, out, p) -> grad of x, what it saves)
  p is the op's (p0, p1, p2); "x" / "out" / "x,out" say which tensors the
  formula reads (only those are saved and version-checked).
BINARY[name] = (formula(g, a, b, out) -> (grad of a, grad of b) before
  summing back over broadcast dims, what it saves: "a", "b", "out").
  A Python scalar operand reaches the formula as a number (always kept).

Conventions at points where the derivative is undefined (as PyTorch):
abs'(0) = 0, relu'(0) = 0, clamp passes the gradient where min <= x <= max,
maximum/minimum split the gradient evenly between equal operands,
floor/ceil/round/trunc/sign have zero gradient.
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
    "tanh": (lambda g, x, out, p: g * (1.0 - out * out), "out"),
    "sigmoid": (lambda g, x, out, p: g * out * (1.0 - out), "out"),
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


def _pow(g, a, b, out):
    """d/da a^b = b a^(b-1), taken as 0 where b == 0; d/db a^b = a^b log a,
    taken as 0 where a == 0 and b >= 0 (both as PyTorch)."""
    if _is_scalar(b):
        ga = g * 0.0 if b == 0 else g * b * E.pow(a, b - 1)
        return ga, None
    ga = None
    if not _is_scalar(a):
        ga = E.where(b == 0, 0.0, g * b * E.pow(a, b - 1))
    log_a = E.log(a) if not _is_scalar(a) else (
        math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan))
    zero_base = (a == 0) if not _is_scalar(a) else None
    gb = g * out * log_a
    if zero_base is not None:
        gb = E.where(zero_base.logical_and(b >= 0), 0.0, gb)
    elif a == 0:
        gb = E.where(b >= 0, 0.0, gb)
    return ga, gb


def _max_min(g, a, b, out, greater: bool):
    """Ties split the gradient in half, as PyTorch's maximum/minimum."""
    if _is_scalar(a) or _is_scalar(b):
        t, s = (b, a) if _is_scalar(a) else (a, b)
        win = (t > s) if greater else (t < s)
        gt = g * (_mask(win, g) + _mask(t == s, g) * 0.5)
        return (gt, None) if t is a else (None, gt)
    win = (a > b) if greater else (a < b)
    tie = _mask(a == b, g) * 0.5
    wa = _mask(win, g) + tie
    return g * wa, g * (1.0 - wa)


def _div(g, a, b, out):
    gb = None if _is_scalar(b) else -g * out / b
    return g / b, gb


def _remainder(g, a, b, out):
    gb = None if _is_scalar(b) else -g * E.floor_divide(a, b)
    return g, gb


BINARY = {
    "add": (lambda g, a, b, out: (g, g), ""),
    "sub": (lambda g, a, b, out: (g, -g), ""),
    "mul": (lambda g, a, b, out: (g * b, g * a), "a,b"),
    "div": (_div, "b,out"),
    "pow": (_pow, "a,b,out"),
    "maximum": (lambda g, a, b, out: _max_min(g, a, b, out, True), "a,b"),
    "minimum": (lambda g, a, b, out: _max_min(g, a, b, out, False), "a,b"),
    "remainder": (_remainder, "a,b"),
    "floor_divide": (lambda g, a, b, out: (g * 0.0, g * 0.0), ""),
}
