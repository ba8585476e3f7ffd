"""Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d: PyTorch's parameters
(weight (out, in / groups, *k) for a convolution, (in, out / groups, *k)
for a transposed one; bias (out,)), defaults, attributes, padding modes and
repr. The computation is nn.functional's (tinyfin/nn/ops/conv.py); a
padding_mode other than 'zeros' pads with tinyfin.pad first and convolves
without padding, as PyTorch does."""
from __future__ import annotations

import math
from typing import Optional, Tuple

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...shape import pad as _pad
from ...tensor import Tensor
from .. import init
from ..init import _calculate_fan_in_and_fan_out
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..parameter import Parameter
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(layer: str, name: str, value, n: int, lo: int) -> Tuple[int, ...]:
    """An int or n ints, each an int >= lo (PyTorch's _single / _pair)."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got "
                         f"{value!r}")
    if any(v < lo for v in values):
        what = "positive" if lo == 1 else "non-negative"
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}")
    return values


class _ConvNd(Module):
    """What the four layers share: argument checks, parameters, PyTorch's
    default initialisation and repr."""

    _n = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding=0, device=None,
                 dtype=None) -> None:
        super().__init__()
        layer, n = type(self).__name__, self._n
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{layer}: {name} must be a non-negative int, got {v!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{layer}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        kernel_size = _ntuple(layer, "kernel_size", kernel_size, n, 1)
        stride = _ntuple(layer, "stride", stride, n, 1)
        dilation = _ntuple(layer, "dilation", dilation, n, 1)
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                valid = "an int or a tuple" if self._transposed else \
                    "an int, a tuple, 'valid' or 'same'"
                raise ValueError(f"{layer}: padding must be {valid}, got {padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{layer}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
        else:
            padding = _ntuple(layer, "padding", padding, n, 0)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{layer}: padding_mode must be one of {list(_PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{layer}: only "zeros" padding mode is supported, got '
                             f'{padding_mode!r}')
        output_padding = _ntuple(layer, "output_padding", output_padding, n, 0)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.transposed, self.output_padding = self._transposed, output_padding
        # PyTorch's _reversed_padding_repeated_twice: F.pad's amounts (last
        # dim first) for the non-zeros padding modes; 'same' splits
        # d * (k - 1) with the extra one after
        if padding == "same":
            rev = []
            for d, k in reversed(list(zip(dilation, kernel_size))):
                total = d * (k - 1)
                rev += [total // 2, total - total // 2]
        elif padding == "valid":
            rev = [0, 0] * n
        else:
            rev = [p for p in reversed(padding) for _ in range(2)]
        self._reversed_padding_repeated_twice = rev
        dt = _dtypes.get(dtype, layer) if dtype is not None else _dtypes.float32
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + kernel_size
        self.weight = Parameter(_creation.empty(*shape, dtype=dt, device=device))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, dtype=dt, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self, generator=None) -> None:
        """kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in));
        the bias uniform in the same bounds (fan_in of the weight)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = _calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def extra_repr(self) -> str:
        n = self._n
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _layer(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _check_input(self, input) -> None:
        """The layer's own message for the commonest mistakes: the wrong rank,
        and a channel count that is not in_channels (an (N, H, W) batch of
        single-channel images fed without its channel dim)."""
        n = self._n
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._layer()}: expected a Tensor input, got "
                            f"{type(input).__name__}")
        spatial = "L" if n == 1 else "H, W"
        want = f"(N, {self.in_channels}, {spatial}) or unbatched ({self.in_channels}, {spatial})"
        shape = tuple(input.shape)
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{self._layer()}: expected a {n + 2}-D input of shape {want}, "
                             f"got input of shape {shape}")
        c = shape[-n - 1]
        if c != self.in_channels:
            hint = ""
            if input.ndim == n + 1 and self.in_channels == 1:
                hint = (f" (a batch of single-channel inputs needs its channel dim: "
                        f"input.unsqueeze(1) gives shape {shape[:1] + (1,) + shape[1:]})")
            raise ValueError(f"{self._layer()}: expected input of shape {want}, got input "
                             f"of shape {shape} with {c} channels{hint}")

    def _run(self, fn, *args):
        try:
            return fn(*args)
        except (ValueError, TypeError) as e:  # name the layer, keep the op's message
            raise type(e)(f"{self._layer()}: {e}") from None


class _Conv(_ConvNd):
    _fn = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
        self._check_input(input)
        fn = type(self)._fn
        if self.padding_mode != "zeros":
            padded = self._run(_pad, input, self._reversed_padding_repeated_twice,
                               self.padding_mode)
            return self._run(fn, padded, weight, bias, self.stride, 0, self.dilation,
                             self.groups)
        return self._run(fn, input, weight, bias, self.stride, self.padding, self.dilation,
                         self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L), as torch.nn.Conv1d."""
    _n = 1
    _fn = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W), as
    torch.nn.Conv2d."""
    _n = 2
    _fn = staticmethod(conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _fn = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, groups: int = 1, bias: bool = True,
                 dilation=1, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input: Tensor, output_size) -> Tuple[int, ...]:
        """PyTorch's: the output_padding that makes the output output_size
        (its last n entries), which must lie in [min, min + stride - 1]."""
        n = self._n
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"{self._layer()}: output_size must have {n} or {n + 2} "
                             f"entries, got {tuple(output_size)}")
        result = []
        for d in range(n):
            lo = ((input.shape[-n + d] - 1) * self.stride[d] - 2 * self.padding[d]
                  + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise ValueError(f"{self._layer()}: requested an output size of "
                                 f"{tuple(size)}, but valid sizes for input of shape "
                                 f"{tuple(input.shape)} range from {lo} to {hi} in dim {d}")
            result.append(size[d] - lo)
        return tuple(result)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        self._check_input(input)
        output_padding = self._output_padding(input, output_size)
        return self._run(type(self)._fn, input, self.weight, self.bias, self.stride,
                         self.padding, output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution, as torch.nn.ConvTranspose1d."""
    _n = 1
    _fn = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution, as torch.nn.ConvTranspose2d."""
    _n = 2
    _fn = staticmethod(conv_transpose2d)
