"""linear: y = x W^T + b, as one matmul (W^T is a transposed view, which
the matrix-product kernels read as it lies) and a broadcast add."""
from __future__ import annotations

from typing import Optional

from ...tensor import Tensor, require_tensor


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
    out = input.matmul(weight.mT if weight.ndim == 2 else weight)
    if bias is not None:
        require_tensor("linear", bias, "bias")
        out = out + bias
    return out
