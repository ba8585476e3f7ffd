"""linear: y = x W^T + b, as one matrix product (W^T is a transposed view,
which the matrix-product kernels read as it lies) and a broadcast add.

The product has a backward of its own rather than matmul's: the weight's
gradient is g^T x, computed in the weight's (out, in) layout. Through
matmul it would be (x^T g)^T, a transposed view that accumulating into
.grad copies (163 us of the MLP step's 1.4 ms for a 256 x 784 weight)."""
from __future__ import annotations

import math
from typing import Optional

from ... import _C
from ...autograd.graph import needs_grad, record
from ...tensor import Tensor, _wrap, require_tensor

_matmul_r = _C.fast.tf_matmul_r


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    require_tensor("linear", input)
    require_tensor("linear", weight, "weight")
    if weight.ndim not in (1, 2):
        raise ValueError(f"linear: weight must be 1-D or 2-D (out_features, in_features), "
                         f"got shape {tuple(weight.shape)}")
    in_features = weight.shape[-1]
    if input.ndim == 0 or input.shape[-1] != in_features:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not match "
                         f"in_features={in_features} of the weight {tuple(weight.shape)}: "
                         f"expected (*, {in_features})")
    if weight.ndim == 1:
        out = input.matmul(weight)
    else:
        h = _matmul_r(input._h, weight.mT._h)
        if not h:
            raise _C.returned_error()
        out = _wrap(h)
        if needs_grad(input, weight):
            record("linear", out, (input, weight), _linear_backward,
                   (input if weight._rg else None, weight if input._rg else None))
    if bias is not None:
        require_tensor("linear", bias, "bias")
        shape = out.shape
        out = out + bias
        if out.shape != shape:  # the bias must broadcast to the output, not widen it
            raise ValueError(f"linear: the bias of shape {tuple(bias.shape)} does not "
                             f"broadcast to the output's shape {tuple(shape)}: expected "
                             f"({shape[-1] if shape else 1},) or a shape that broadcasts to it")
    return out


def _linear_backward(g, x, w):
    """d input = g W; d weight = g^T x, summed over every leading dim of the
    (*, in) input. x is None when the weight needs no gradient, w when the
    input needs none. Differentiable ops, so create_graph works."""
    gx = g.matmul(w) if w is not None else None
    gw = None
    if x is not None:
        rows = math.prod(x.shape[:-1])  # not -1: in_features may be 0
        gw = g.reshape(rows, g.shape[-1]).mT.matmul(x.reshape(rows, x.shape[-1]))
    return gx, gw
