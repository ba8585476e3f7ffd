"""Pooling, as torch.nn.functional: max_pool1d/2d, avg_pool1d/2d,
adaptive_avg_pool1d/2d and adaptive_max_pool1d/2d, on (N, C, spatial...)
or unbatched (C, spatial...) float32/float64 inputs.

Every argument check with PyTorch's rules, the output size and the windows
are the C entry points' (native/src/ops/pool.c); the kernels are
native/src/cpu/pool.c. Here the arguments become int tuples and the
gradients are recorded.

Gradients: each pool is linear in its input once its windows are fixed
(and, for max pooling, its argmax indices), so each is recorded as a linear
map with its adjoint (autograd.linear_maps): average pooling's adjoint is
the C backward that spreads grad / divisor over the windows, and average
pooling itself is the adjoint's gradient; max pooling's output is the input
gathered at the saved indices, whose adjoint is the C backward that adds
grad at them (windows overlap when the stride is below the kernel: the
additions accumulate). Derivatives of any order follow.

At a tie the whole gradient goes to the first maximum of the window in
row-major order (the index returned); a NaN in the window is taken (the
last NaN when there are several), as in PyTorch.
"""
from __future__ import annotations

from ctypes import byref
from typing import Optional, Sequence, Tuple, Union

from ... import _C
from ..._args import as_int
from ...autograd.graph import needs_grad, record
from ...autograd.linear_maps import adjoint, linear
from ...tensor import Handle, Tensor, _call, _wrap, require_tensor

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]

_MAX, _AVG = 0, 1  # tf_pool_kind
_arr = _C.shape_array
IntOrTuple = Union[int, Sequence[int]]


def _ntuple(op: str, name: str, value, n: int) -> Tuple[int, ...]:
    """An int, or a sequence of 1 or n ints (PyTorch accepts both), as n ints."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            what = "a single int" if n == 1 else f"a single int, or a tuple of {n} ints"
            raise ValueError(f"{op}: {name} must be {what}, got {tuple(value)!r}")
        return tuple(as_int(op, name, v) for v in value)
    return (as_int(op, name, value),) * n


def _stride(op: str, stride, kernel: Tuple[int, ...], n: int) -> Tuple[int, ...]:
    """stride None (or empty, as PyTorch's default []) means kernel_size."""
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return kernel
    return _ntuple(op, "stride", stride, n)


def _call2(fn, *args) -> Tuple[Tensor, Tensor]:
    """A C op that writes two tensors (values and indices)."""
    a, b = Handle(), Handle()
    status = fn(*args, byref(a), byref(b))
    if status:
        raise _C.error(status)
    return _wrap(a), _wrap(b)


def _call_values(fn, *args) -> Tensor:
    """A C op with an (unused, NULL) indices out-pointer after its result."""
    out = Handle()
    status = fn(*args, byref(out), None)
    if status:
        raise _C.error(status)
    return _wrap(out)


def _gather_planes(dims: int, index: Tensor) -> callable:
    """The `get` of max pooling: t (input-shaped) gathered at index, flat
    positions in each plane of its last `dims` dims, raw C calls."""
    def get(t: Tensor) -> Tensor:
        shape = tuple(t.shape)
        planes = 1
        for s in shape[:-dims]:
            planes *= s
        plane = 1
        for s in shape[-dims:]:
            plane *= s
        out_shape = tuple(index.shape)
        per_plane = 1
        for s in out_shape[-dims:]:
            per_plane *= s
        t2 = _call(_C.tf_reshape, t._h, 2, _arr((planes, plane)))
        i2 = _call(_C.tf_reshape, index._h, 2, _arr((planes, per_plane)))
        r = _call(_C.tf_gather, t2._h, 1, i2._h)
        return _call(_C.tf_reshape, r._h, len(out_shape), _arr(out_shape))
    return get


def _max_pool(op: str, dims: int, input: Tensor, kernel_size, stride, padding,
              dilation, ceil_mode: bool, return_indices: bool):
    require_tensor(op, input)
    k = _ntuple(op, "kernel_size", kernel_size, dims)
    s = _stride(op, stride, k, dims)
    p = _ntuple(op, "padding", padding, dims)
    d = _ntuple(op, "dilation", dilation, dims)
    ceil = bool(ceil_mode)
    out, index = _call2(_C.tf_pool, _MAX, dims, input._h, _arr(k), _arr(s),
                        _arr(p), _arr(d), ceil, False, False, 0)
    if needs_grad(input):
        get = _gather_planes(dims, index)

        def put(g: Tensor, shape: tuple) -> Tensor:
            return _call(_C.tf_pool_backward, _MAX, dims, g._h, index._h,
                         len(shape), _arr(shape), _arr(k), _arr(s), _arr(p),
                         _arr(d), ceil, False, False, 0)
        shape = tuple(input.shape)
        record(op, out, (input,),
               lambda g, *_: (adjoint(op, g, shape, get, put, (index,)),), (index,))
    return (out, index) if return_indices else out


def max_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-D max pooling over the last dim of (N, C, L) or (C, L); with
    return_indices also the int64 positions of the maxima in L."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding,
                     dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling over the last two dims of (N, C, H, W) or (C, H, W);
    padding counts as -inf. With return_indices also the int64 flat indices
    h * W + w of the maxima in each input plane (PyTorch's convention)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding,
                     dilation, ceil_mode, return_indices)


def _avg_pool(op: str, dims: int, input: Tensor, kernel_size, stride, padding,
              ceil_mode: bool, count_include_pad: bool, divisor_override) -> Tensor:
    require_tensor(op, input)
    k = _ntuple(op, "kernel_size", kernel_size, dims)
    s = _stride(op, stride, k, dims)
    p = _ntuple(op, "padding", padding, dims)
    d = (1,) * dims
    ceil, incl = bool(ceil_mode), bool(count_include_pad)
    has_div = divisor_override is not None
    div = as_int(op, "divisor_override", divisor_override) if has_div else 0

    def get(t: Tensor) -> Tensor:
        return _call_values(_C.tf_pool, _AVG, dims, t._h, _arr(k), _arr(s),
                            _arr(p), _arr(d), ceil, incl, has_div, div)

    def put(g: Tensor, shape: tuple) -> Tensor:
        return _call(_C.tf_pool_backward, _AVG, dims, g._h, None, len(shape),
                     _arr(shape), _arr(k), _arr(s), _arr(p), _arr(d), ceil, incl,
                     has_div, div)
    return linear(op, input, get, put)


def avg_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over the last dim of (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding,
                     ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """2-D average pooling over the last two dims of (N, C, H, W) or
    (C, H, W). The divisor is divisor_override when given, else the window's
    size clipped to the padded input (count_include_pad) or to the input;
    under ceil_mode a last window that would start in the right padding is
    dropped."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding,
                     ceil_mode, count_include_pad, divisor_override)


def _output_size(op: str, output_size, input: Tensor, dims: int) -> Tuple[int, ...]:
    """An int or a tuple of dims entries; None keeps that dim's input size."""
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != dims:
            what = "an int" if dims == 1 else f"an int or a tuple of {dims} ints (or None)"
            raise ValueError(f"{op}: output_size must be {what}, got {tuple(output_size)!r}")
        if input.ndim < dims:
            raise ValueError(f"{op}: expected an input with at least {dims} dims, got "
                             f"shape {tuple(input.shape)}")
        spatial = tuple(input.shape)[-dims:]
        return tuple(spatial[i] if v is None else as_int(op, "output_size", v)
                     for i, v in enumerate(output_size))
    if output_size is None:
        raise TypeError(f"{op}: output_size must be an int or a tuple, got None")
    return (as_int(op, "output_size", output_size),) * dims


def _adaptive(op: str, kind: int, dims: int, input: Tensor, output_size,
              return_indices: bool = False):
    require_tensor(op, input)
    size = _output_size(op, output_size, input, dims)
    if kind == _AVG:
        def get(t: Tensor) -> Tensor:
            return _call_values(_C.tf_adaptive_pool, _AVG, dims, t._h, _arr(size))

        def put(g: Tensor, shape: tuple) -> Tensor:
            return _call(_C.tf_adaptive_pool_backward, _AVG, dims, g._h, None,
                         len(shape), _arr(shape))
        return linear(op, input, get, put)
    out, index = _call2(_C.tf_adaptive_pool, _MAX, dims, input._h, _arr(size))
    if needs_grad(input):
        get = _gather_planes(dims, index)

        def put_max(g: Tensor, shape: tuple) -> Tensor:
            return _call(_C.tf_adaptive_pool_backward, _MAX, dims, g._h, index._h,
                         len(shape), _arr(shape))
        shape = tuple(input.shape)
        record(op, out, (input,),
               lambda g, *_: (adjoint(op, g, shape, get, put_max, (index,)),), (index,))
    return (out, index) if return_indices else out


def adaptive_avg_pool1d(input: Tensor, output_size: IntOrTuple) -> Tensor:
    """Average pooling of (N, C, L) or (C, L) to output_size positions:
    output i averages [floor(i L / out), ceil((i + 1) L / out))."""
    return _adaptive("adaptive_avg_pool1d", _AVG, 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, H, W) or (C, H, W) to output_size (an int,
    or (oh, ow) where None keeps the input's size), PyTorch's windows."""
    return _adaptive("adaptive_avg_pool2d", _AVG, 2, input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size: IntOrTuple,
                        return_indices: bool = False):
    """Max pooling of (N, C, L) or (C, L) to output_size positions."""
    return _adaptive("adaptive_max_pool1d", _MAX, 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of (N, C, H, W) or (C, H, W) to output_size; with
    return_indices also the flat indices h * W + w of the maxima."""
    return _adaptive("adaptive_max_pool2d", _MAX, 2, input, output_size, return_indices)
