"""dropout and dropout2d, as torch.nn.functional's.

In training each element (dropout) or each whole channel (dropout2d) is
kept with probability 1 - p and scaled by 1 / (1 - p), else zeroed:
out = x * m, m = keep * (1 / (1 - p)) in x's dtype. The mask comes from
one draw u = tinyfin.rand(mask shape, dtype=float64, generator=generator)
with keep = u < 1 - p: tinyfin's counter-based Philox stream, so one seed
(tinyfin.manual_seed or a Generator) gives the same mask on every machine
and thread count, on the cpu and the GPU alike. p = 0 keeps everything, p = 1 nothing (x * 0: a NaN
stays NaN, as in PyTorch, whose dropout also multiplies by its mask).

The backward is mul's: g * m with the very mask of the forward (saved by
the graph), and differentiable again.
"""
from __future__ import annotations

import numbers
import warnings

from ...autograd.grad_mode import no_grad
from ...autograd.inplace import overwrite
from ...creation import rand
from ...dtypes import float64
from ...tensor import Tensor, require_tensor

__all__ = ["dropout", "dropout2d"]


def _check_p(op: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a number, got {type(p).__name__}")
    p = float(p)
    if not 0.0 <= p <= 1.0:  # NaN fails too
        raise ValueError(f"{op}: dropout probability has to be between 0 and "
                         f"1, but got {p}")
    return p


def _check_input(op: str, input: Tensor) -> Tensor:
    require_tensor(op, input)
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a float32 or float64 input, got "
                        f"{input.dtype.name}")
    return input


def _mask(shape: tuple, p: float, dtype, device, generator) -> Tensor:
    """keep / (1 - p), keep = u < 1 - p for u uniform in [0, 1) (float64),
    drawn on the input's device (the same stream on every device)."""
    with no_grad():
        u = rand(*shape, dtype=float64, device=device, generator=generator)
        keep = u < 1.0 - p
        scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
        return keep.to(dtype) * scale


def _apply(op: str, input: Tensor, mask_shape: tuple, p: float,
           inplace: bool, generator) -> Tensor:
    m = _mask(mask_shape, p, input.dtype, input.device, generator)
    if inplace:
        return overwrite(op, input, lambda: input * m)
    return input * m


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False, *, generator=None) -> Tensor:
    """Zero each element with probability p in training, scale the rest by
    1 / (1 - p); the identity (input itself) when not training."""
    _check_input("dropout", input)
    p = _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    return _apply("dropout", input, input.shape, p, inplace, generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False, *, generator=None) -> Tensor:
    """Zero whole channels: one draw per (N, C) of an (N, C, H, W) input.
    As PyTorch: a 3-d input is taken as (N, C, L) (with PyTorch's warning
    that this will become (C, H, W)); inputs of other ranks >= 2 warn and
    drop over their first two dims; a 1-d input is an error."""
    _check_input("dropout2d", input)
    p = _check_p("dropout2d", p)
    nd = input.ndim
    if nd < 2:
        raise ValueError(f"dropout2d: feature dropout requires at least 2 "
                         f"dimensions in the input, got shape {input.shape}")
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming "
                      "that channel-wise 1D dropout behavior is desired - input "
                      "is interpreted as shape (N, C, L), where C is the channel "
                      "dim. This behavior will change in a future release to "
                      "interpret the input as one without a batch dimension, "
                      "i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d "
                      "instead.", UserWarning, stacklevel=2)
    elif nd != 4:
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which "
                      "is deprecated and will result in an error in a future "
                      "release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout2d exists to "
                      "provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch "
                      "dimension (i.e. 3D or 4D inputs).", UserWarning,
                      stacklevel=2)
    if not training or p == 0.0:
        return input
    shape = input.shape
    return _apply("dropout2d", input, tuple(shape[:2]) + (1,) * (nd - 2), p,
                  inplace, generator)
