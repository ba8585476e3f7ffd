"""LayerNorm and GroupNorm, as torch.nn's (no running statistics: the same
in training and eval)."""
from __future__ import annotations

import numbers

from ... import creation as _creation
from ... import dtypes as _dtypes
from .. import init
from ..ops.norm import group_norm, layer_norm
from ..parameter import Parameter
from .module import Module


def affine_parameters(module: Module, shape: tuple, affine: bool, bias: bool, dtype,
                      device) -> None:
    """The per-feature weight and bias of a norm layer (None when not
    affine, bias None when bias=False), registered on module; their values
    come from reset_affine."""
    if affine:
        module.weight = Parameter(_creation.empty(*shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(_creation.empty(*shape, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def reset_affine(module: Module) -> None:
    """weight 1, bias 0 (PyTorch's start for every norm layer)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Normalizes over the last len(normalized_shape) dims; with
    elementwise_affine, a weight (ones) and a bias (zeros, unless
    bias=False) of normalized_shape."""

    def __init__(self, normalized_shape, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        try:
            shape = tuple(int(s) for s in normalized_shape)
        except TypeError:
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a sequence "
                            f"of ints, got {normalized_shape!r}") from None
        if not shape or any(s < 0 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a non-empty shape, "
                             f"got {shape}")
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = _dtypes.get(dtype, "LayerNorm") if dtype is not None else _dtypes.float32
        affine_parameters(self, shape, elementwise_affine, bias, dt, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Splits the channels (dim 1) into num_groups groups and normalizes each
    over its channels and the dims after them; with affine, a per-channel
    weight (ones) and bias (zeros, unless bias=False)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        for name, v in (("num_groups", num_groups), ("num_channels", num_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"GroupNorm: {name} must be a positive int, got {v!r}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible "
                             f"by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dt = _dtypes.get(dtype, "GroupNorm") if dtype is not None else _dtypes.float32
        affine_parameters(self, (num_channels,), affine, bias, dt, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")
