"""Identity and Linear."""
from __future__ import annotations

import math

from ... import creation as _creation
from ... import dtypes as _dtypes
from .. import init
from ..ops.linear import linear
from ..parameter import Parameter
from .module import Module


class Identity(Module):
    """Returns its input; takes (and ignores) any constructor arguments."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


def _int_arg(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{layer}: {name} must be a non-negative int, got {value!r}")
    return value


class Linear(Module):
    """y = x W^T + b; W (out_features, in_features) and b (out_features,)
    start as PyTorch's: kaiming_uniform_(a=sqrt(5)), which is U(-k, k)
    with k = 1/sqrt(in_features), and b ~ U(-k, k)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = _int_arg("Linear", "in_features", in_features)
        self.out_features = _int_arg("Linear", "out_features", out_features)
        dt = _dtypes.get(dtype, "Linear") if dtype is not None else _dtypes.float32
        self.weight = Parameter(_creation.empty(out_features, in_features, dtype=dt, device=device))
        if bias:
            self.bias = Parameter(_creation.empty(out_features, dtype=dt, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self, generator=None) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
