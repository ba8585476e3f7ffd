"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d, with
torch.nn.functional's signatures and semantics.

Every form is read as a 2-D convolution pass of the C core (native/src/
ops/conv.c): a 1-D input (N, C, L) is (N, C, 1, L), an unbatched input gets
a batch dim of 1, and a transposed convolution is the gradient of a
convolution with respect to its input. Three differentiable ops carry
everything, each the others' backward:

    y  = _conv(x, w)            dx = _conv_input(gy, w)   dw = _conv_weight(x, gy)
    _conv_input(gy, w):   d/dgy = _conv(g, w),        d/dw = _conv_weight(g, gy)
    _conv_weight(x, gy):  d/dx  = _conv_input(gy, g), d/dgy = _conv(x, g)

so gradients of any order are convolutions again (gradgradcheck passes).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

from ... import _C
from ..._args import as_int
from ...autograd.graph import needs_grad, record
from ...tensor import Tensor, _call, require_tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


class _Geom(NamedTuple):
    """One 2-D convolution pass: input spatial size (h, w), output (ho, wo),
    kernel (kh, kw), and the C params (sh, sw, ph, pw, dh, dw, groups) with
    the padding before the input (the output size fixes the padding after)."""
    hw: Tuple[int, int]
    out: Tuple[int, int]
    k: Tuple[int, int]
    params: tuple


def _c_params(geom: _Geom):
    """The C params (the front ends checked the sizes: _check_output)."""
    return _C.shape_array(geom.params, "conv2d", "params")


def _check_output(op: str, out: Tuple[int, ...], size) -> None:
    """The output size, computed exactly in Python, must fit int64: ctypes
    would pass a larger one modulo 2^64 (a wrong shape, or worse)."""
    if any(o >= 2 ** 63 for o in out):
        raise ValueError(f"{op}: the output size {out} of input size {tuple(size)} does not "
                         f"fit in int64 (stride, padding or dilation too large)")


def _conv(x: Tensor, w: Tensor, bias: Optional[Tensor], geom: _Geom) -> Tensor:
    out = _call(_C.tf_conv2d, x._h, w._h, None if bias is None else bias._h,
                _c_params(geom), geom.out[0], geom.out[1])
    if needs_grad(x, w, bias):
        record("conv2d", out, (x, w, bias), _conv_backward,
               (x, w, x._rg, w._rg, bias is not None and bias._rg, geom))
    return out


def _conv_backward(g, x, w, need_x, need_w, need_b, geom):
    gx = _conv_input(g, w, geom) if need_x else None
    gw = _conv_weight(x, g, geom) if need_w else None
    gb = g.sum((0, 2, 3)) if need_b else None
    return gx, gw, gb


def _conv_input(gy: Tensor, w: Tensor, geom: _Geom) -> Tensor:
    """The gradient of _conv's x (spatial size geom.hw) from gy: the
    transposed convolution of gy with w."""
    out = _call(_C.tf_conv2d_input_grad, gy._h, w._h, _c_params(geom),
                geom.hw[0], geom.hw[1])
    if needs_grad(gy, w):
        record("conv2d_input_grad", out, (gy, w), _conv_input_backward,
               (gy, w, gy._rg, w._rg, geom))
    return out


def _conv_input_backward(g, gy, w, need_gy, need_w, geom):
    return (_conv(g, w, None, geom) if need_gy else None,
            _conv_weight(g, gy, geom) if need_w else None)


def _conv_weight(x: Tensor, gy: Tensor, geom: _Geom) -> Tensor:
    """The gradient of _conv's weight (kernel size geom.k) from x and gy."""
    out = _call(_C.tf_conv2d_weight_grad, x._h, gy._h, _c_params(geom),
                geom.k[0], geom.k[1])
    if needs_grad(x, gy):
        record("conv2d_weight_grad", out, (x, gy), _conv_weight_backward,
               (x, gy, x._rg, gy._rg, geom))
    return out


def _conv_weight_backward(g, x, gy, need_x, need_gy, geom):
    return (_conv_input(gy, g, geom) if need_x else None,
            _conv(x, g, None, geom) if need_gy else None)


# ---- arguments ----------------------------------------------------------------
def _tuple(op: str, name: str, value, n: int, lo: int) -> Tuple[int, ...]:
    """An int or a sequence of n ints, each >= lo (PyTorch's _single /
    _pair)."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} "
                             f"ints, got {tuple(value)!r}")
        values = tuple(as_int(op, name, v) for v in value)
    else:
        values = (as_int(op, name, value),) * n
    for v in values:
        if v < lo:
            what = "positive" if lo == 1 else "non-negative"
            raise ValueError(f"{op}: {name} must be {what}, got "
                             f"{values if n > 1 else values[0]!r}")
    return values


def _groups(op: str, groups) -> int:
    g = as_int(op, "groups", groups)
    if g < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {g}")
    return g


def _operands(op: str, n: int, input, weight, bias) -> bool:
    """Checks shared by every form; True when input is batched."""
    require_tensor(op, input, "input")
    require_tensor(op, weight, "weight")
    if bias is not None:
        require_tensor(op, bias, "bias")
    if weight.ndim != n + 2:
        raise ValueError(f"{op}: expected a {n + 2}-D weight, got weight of "
                         f"shape {tuple(weight.shape)}")
    if input.ndim not in (n + 1, n + 2):
        dims = "(C, L)" if n == 1 else "(C, H, W)"
        bdims = "(N, C, L)" if n == 1 else "(N, C, H, W)"
        raise ValueError(f"{op}: expected a {n + 1}-D {dims} (unbatched) or "
                         f"{n + 2}-D {bdims} (batched) input, got input of "
                         f"shape {tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype is not input.dtype:
            raise TypeError(f"{op}: input ({input.dtype.name}) and {name} "
                            f"({t.dtype.name}) must have the same dtype")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a float32 or float64 input, got "
                        f"{input.dtype.name}")
    return input.ndim == n + 2


def _check_bias(op: str, bias, channels: int) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ValueError(f"{op}: bias must have shape ({channels},) (one entry "
                         f"per output channel), got {tuple(bias.shape)}")


def _lift(x: Tensor, n: int, batched: bool) -> Tensor:
    """x as a 4-D (N, C, H, W) tensor."""
    if not batched:
        x = x.unsqueeze(0)
    if n == 1:
        x = x.unsqueeze(2)
    return x


def _lower(y: Tensor, n: int, batched: bool) -> Tensor:
    if n == 1:
        y = y.squeeze(2)
    if not batched:
        y = y.squeeze(0)
    return y


def _convnd(op: str, n: int, input, weight, bias, stride, padding, dilation,
            groups) -> Tensor:
    batched = _operands(op, n, input, weight, bias)
    groups = _groups(op, groups)
    stride = _tuple(op, "stride", stride, n, 1)
    dilation = _tuple(op, "dilation", dilation, n, 1)
    ksize = tuple(weight.shape[2:])
    size = tuple(input.shape[-n:])
    channels = input.shape[-n - 1]
    out_channels = weight.shape[0]
    if out_channels % groups:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} has "
                         f"{out_channels} output channels, which groups="
                         f"{groups} does not divide")
    if channels % groups or weight.shape[1] * groups != channels:
        raise ValueError(f"{op}: expected input of shape {tuple(input.shape)} "
                         f"to have {weight.shape[1] * groups} channels (weight "
                         f"of shape {tuple(weight.shape)} with groups={groups}),"
                         f" but got {channels} channels")
    _check_bias(op, bias, out_channels)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    if isinstance(padding, str):
        if padding == "valid":
            before = after = (0,) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for "
                                 f"strided convolutions (stride={stride})")
            # The total d * (k - 1), half before and the rest after, as
            # PyTorch pads an even kernel (one more after than before).
            before = tuple((s - 1) // 2 for s in span)
            after = tuple(s - 1 - b for s, b in zip(span, before))
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple of {n} "
                             f"ints, 'valid' or 'same', got {padding!r}")
    else:
        before = after = _tuple(op, "padding", padding, n, 0)
    padded = tuple(s + b + a for s, b, a in zip(size, before, after))
    if any(p < s for p, s in zip(padded, span)):
        raise ValueError(f"{op}: kernel size {ksize} (dilated to {span}) is "
                         f"larger than the padded input size {padded} (input "
                         f"of shape {tuple(input.shape)}, padding "
                         f"{padding!r})")
    out = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    _check_output(op, out, size)
    if n == 1:
        weight = weight.unsqueeze(2)
        geom = _Geom((1, size[0]), (1, out[0]), (1, ksize[0]),
                     (1, stride[0], 0, before[0], 1, dilation[0], groups))
    else:
        geom = _Geom(size, out, ksize, (stride[0], stride[1], before[0],
                                        before[1], dilation[0], dilation[1],
                                        groups))
    y = _conv(_lift(input, n, batched), weight, bias, geom)
    return _lower(y, n, batched)


def _conv_transposend(op: str, n: int, input, weight, bias, stride, padding,
                      output_padding, groups, dilation) -> Tensor:
    batched = _operands(op, n, input, weight, bias)
    groups = _groups(op, groups)
    stride = _tuple(op, "stride", stride, n, 1)
    dilation = _tuple(op, "dilation", dilation, n, 1)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of {n} "
                         f"ints, got {padding!r}")
    padding = _tuple(op, "padding", padding, n, 0)
    output_padding = _tuple(op, "output_padding", output_padding, n, 0)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(f"{op}: output_padding {output_padding} must be "
                             f"smaller than either stride {stride} or dilation"
                             f" {dilation}")
    ksize = tuple(weight.shape[2:])
    size = tuple(input.shape[-n:])
    channels = input.shape[-n - 1]
    if weight.shape[0] != channels:
        raise ValueError(f"{op}: expected input of shape {tuple(input.shape)} "
                         f"to have {weight.shape[0]} channels (weight of shape"
                         f" {tuple(weight.shape)} is (in_channels, "
                         f"out_channels / groups, ...)), but got {channels} "
                         f"channels")
    if channels % groups:
        raise ValueError(f"{op}: {channels} input channels are not divisible "
                         f"by groups={groups}")
    out_channels = weight.shape[1] * groups
    _check_bias(op, bias, out_channels)
    out = tuple((s - 1) * st - 2 * p + d * (k - 1) + o + 1 for s, st, p, d, k, o
                in zip(size, stride, padding, dilation, ksize, output_padding))
    if any(o < 0 for o in out):
        raise ValueError(f"{op}: the output size {out} of input of shape "
                         f"{tuple(input.shape)} (stride {stride}, padding "
                         f"{padding}, kernel {ksize}) is negative")
    _check_output(op, out, size)
    if n == 1:
        weight = weight.unsqueeze(2)
        geom = _Geom((1, out[0]), (1, size[0]), (1, ksize[0]),
                     (1, stride[0], 0, padding[0], 1, dilation[0], groups))
    else:
        geom = _Geom(out, size, ksize, (stride[0], stride[1], padding[0],
                                        padding[1], dilation[0], dilation[1],
                                        groups))
    y = _conv_input(_lift(input, n, batched), weight, geom)
    if bias is not None:
        y = y + bias.reshape(-1, 1, 1)
    return _lower(y, n, batched)


# ---- the functional forms -------------------------------------------------------
def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
           stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation) of input (N, C, L) or (C, L) with
    weight (out_channels, C / groups, k), as torch.nn.functional.conv1d;
    padding is an int, a 1-tuple, 'valid' or 'same'."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding,
                   dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
           stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of input (N, C, H, W) or
    (C, H, W) with weight (out_channels, C / groups, kh, kw), as
    torch.nn.functional.conv2d; padding is an int, a pair, 'valid' or 'same'
    (an even kernel pads one more after than before, as PyTorch)."""
    return _convnd("conv2d", 2, input, weight, bias, stride, padding,
                   dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor,
                     bias: Optional[Tensor] = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of input (N, C, L) or (C, L) with weight
    (C, out_channels / groups, k), as torch.nn.functional.conv_transpose1d
    (note groups before dilation)."""
    return _conv_transposend("conv_transpose1d", 1, input, weight, bias,
                             stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor,
                     bias: Optional[Tensor] = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution of input (N, C, H, W) or (C, H, W) with
    weight (C, out_channels / groups, kh, kw), as
    torch.nn.functional.conv_transpose2d: the gradient of conv2d with
    respect to its input; output size (H - 1) * stride - 2 * padding +
    dilation * (kh - 1) + output_padding + 1."""
    return _conv_transposend("conv_transpose2d", 2, input, weight, bias,
                             stride, padding, output_padding, groups, dilation)
