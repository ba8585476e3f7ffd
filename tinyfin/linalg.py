"""Linear algebra: matmul with NumPy's rules, and its fixed-rank forms mm,
bmm, mv, dot and outer; all differentiable."""
from __future__ import annotations

from . import _C
from .autograd.grad_mode import state as _grad_state
from .autograd.graph import record
from .autograd.util import sum_to
from .tensor import Tensor, _wrap, register, require_tensor

_matmul_r = _C.fast.tf_matmul_r
_returned_error = _C.returned_error


def _require(op: str, **operands) -> None:
    """Each operand name=(x, ndim) is a Tensor of ndim dims (any when None)."""
    for name, (x, ndim) in operands.items():
        require_tensor(op, x, name)
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"{op}: expected a {ndim}-D tensor, got shape {tuple(x.shape)}")


def _check_product(op: str, a: Tensor, b: Tensor) -> None:
    """The fixed-rank forms check what matmul would, so that the message
    names the op the user called: one dtype, matching inner sizes."""
    if a.dtype is not b.dtype:
        raise TypeError(f"{op}: expected both operands to have the same dtype, "
                        f"got {a.dtype.name} and {b.dtype.name}")
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if k_a != k_b:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} "
                         f"cannot be multiplied ({k_a} != {k_b})")


@register("matmul")
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product: 1-D operands act as a row (left) or a column (right)
    vector and that dim is removed again; batch dims broadcast."""
    if input.__class__ is not Tensor or other.__class__ is not Tensor:
        _require("matmul", input=(input, None), other=(other, None))
    h = _matmul_r(input._h, other._h)
    if not h:
        raise _returned_error()
    out = _wrap(h)
    if (input._rg or other._rg) and _grad_state.enabled:
        record("matmul", out, (input, other), _matmul_backward,
               (input if other._rg else None, other if input._rg else None,
                input.shape, other.shape))
    return out


def _matmul_backward(g, a, b, a_shape, b_shape):
    """As matrices: dA = dC B^T, dB = A^T dC, summed over broadcast batch
    dims; 1-D operands are lifted to matrices and lowered back."""
    a_vec, b_vec = len(a_shape) == 1, len(b_shape) == 1
    if a_vec and b_vec:
        g = g.reshape(1, 1)
    elif a_vec:
        g = g.unsqueeze(-2)
    elif b_vec:
        g = g.unsqueeze(-1)
    ga = gb = None
    if b is not None:  # a needs a gradient
        b2 = b.unsqueeze(-1) if b_vec else b
        ga = matmul(g, b2.mT)
        ga = sum_to(ga, (1,) + tuple(a_shape) if a_vec else a_shape).reshape(a_shape)
    if a is not None:  # b needs a gradient
        a2 = a.unsqueeze(-2) if a_vec else a
        gb = matmul(a2.mT, g)
        gb = sum_to(gb, tuple(b_shape) + (1,) if b_vec else b_shape).reshape(b_shape)
    return ga, gb


@register("mm")
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    _require("mm", input=(input, 2), mat2=(mat2, 2))
    _check_product("mm", input, mat2)
    return matmul(input, mat2)


@register("bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    _require("bmm", input=(input, 3), mat2=(mat2, 3))
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {tuple(input.shape)} and "
                         f"{tuple(mat2.shape)}")
    _check_product("bmm", input, mat2)
    return matmul(input, mat2)


@register("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:
    _require("mv", input=(input, 2), vec=(vec, 1))
    _check_product("mv", input, vec)
    return matmul(input, vec)


@register("dot", "inner")
def dot(input: Tensor, other: Tensor) -> Tensor:
    _require("dot", input=(input, 1), other=(other, 1))
    if input.shape != other.shape:
        raise ValueError(f"dot: expected two 1-D tensors of one length, got "
                         f"{tuple(input.shape)} and {tuple(other.shape)}")
    _check_product("dot", input, other)
    return matmul(input, other)


@register("outer", "ger")
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    _require("outer", input=(input, 1), vec2=(vec2, 1))
    return input.unsqueeze(1) * vec2.unsqueeze(0)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
