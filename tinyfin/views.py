"""View ops (no copy: the result shares its input's storage): view/reshape,
flatten, unflatten, squeeze, unsqueeze, transpose, permute, .T, .mT, expand,
broadcast_to; plus contiguous, clone and dtype conversion, which copy."""
from __future__ import annotations

from ctypes import c_int
from typing import Optional, Sequence, Union

from . import _C
from . import dtypes as _dtypes
from . import _device
from ._args import as_int, as_ints, norm_dim
from ._device import check_device
from .autograd.grad_mode import state as _grad_state
from .autograd.graph import needs_grad, record
from .autograd.util import sum_to
from .tensor import (Tensor, _call, _norm_dim, _wrap, register, renamed_errors,
                     require_tensor)

# The returning forms (C ints) of the common calls, see _C.fast.
_view_r = _C.fast.tf_view_r
_transpose_r = _C.fast.tf_transpose_r
_I32_MIN, _I32_MAX = -_C.INT32_MAX - 1, _C.INT32_MAX
_new_tensor = object.__new__

Shape = Union[int, Sequence[int]]


def _shape(op: str, shape) -> tuple:
    """f(2, 3) or f((2, 3)): ints (a float is a TypeError, as in PyTorch,
    never truncated), each within int64."""
    if len(shape) == 1 and (isinstance(shape[0], (tuple, list)) or
                            getattr(shape[0], "ndim", 0) >= 1):
        shape = shape[0]
    return as_ints(op, "shape", shape)


@register("view", function=False)
def view(self: Tensor, *shape) -> Tensor:
    """The same elements in a new shape without copying; raises when the
    strides do not allow it (reshape copies instead)."""
    if len(shape) == 1 and isinstance(shape[0], _dtypes.dtype):
        raise TypeError("view: reinterpreting the dtype is not supported; "
                        "use .to(dtype)")
    shape = _shape("view", shape)
    out = _call(_C.tf_view, self._h, len(shape), _C.shape_array(shape))
    return _reshaped_grad("view", self, out)


def _reshaped_grad(name: str, x: Tensor, out: Tensor) -> Tensor:
    """Record ops that only change the shape: the gradient changes it back."""
    if needs_grad(x):
        record(name, out, (x,), _reshape_backward, (x.shape,))
    return out


def _reshape_backward(g, shape):
    return (reshape(g, shape),)


def _view_fast(input: Tensor, n: int, a, b, c) -> Optional[Tensor]:
    """The returning form of view for n <= 3 int sizes within int32 (C ints;
    the GIL kept, as it never copies); None where it does not apply or
    fails (the strides need a copy, or the sizes are wrong)."""
    if not (a.__class__ is int and b.__class__ is int and c.__class__ is int
            and _I32_MIN <= a <= _I32_MAX and _I32_MIN <= b <= _I32_MAX
            and _I32_MIN <= c <= _I32_MAX):
        return None
    h = _view_r(input._h, n, a, b, c)
    if not h:
        return None
    out = _new_tensor(Tensor)
    out._h = h
    if input._rg and _grad_state.enabled:
        record("reshape", out, (input,), _reshape_backward, (input.shape,))
    return out


@register("reshape")
def reshape(input: Tensor, *shape) -> Tensor:
    # One to three sizes (given as ints or as one tuple) try the returning
    # form of view first; where it does not apply, the full path below,
    # whose tf_reshape copies or raises with reshape's message.
    if input.__class__ is Tensor:
        sizes = shape[0] if len(shape) == 1 and shape[0].__class__ is tuple else shape
        n = len(sizes)
        if 0 < n <= 3:
            out = _view_fast(input, n, sizes[0], sizes[1] if n > 1 else 0,
                             sizes[2] if n > 2 else 0)
            if out is not None:
                return out
    shape = _shape("reshape", shape)
    out = _call(_C.tf_reshape, input._h, len(shape), _C.shape_array(shape))
    return _reshaped_grad("reshape", input, out)


@register("view_as", "reshape_as", function=False)
def view_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other.shape)


@register("flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = require_tensor("flatten", input).shape
    if not shape:
        return reshape(input, (1,))
    start = _norm_dim("flatten", start_dim, len(shape))
    end = _norm_dim("flatten", end_dim, len(shape))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim "
                         f"{end_dim}")
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


@register("unflatten")
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """dim split into dims of the given sizes (one may be -1: inferred)."""
    shape = require_tensor("unflatten", input).shape
    d = _norm_dim("unflatten", dim, len(shape))
    sizes = _shape("unflatten", (sizes,))
    product = 1
    for s in sizes:
        product *= s
    if -1 not in sizes and product != shape[d]:
        raise ValueError(f"unflatten: sizes {sizes} multiply to {product}, not "
                         f"to the size {shape[d]} of dim {d} (input shape "
                         f"{shape})")
    with renamed_errors("unflatten", "reshape"):  # the -1 cases
        return reshape(input, shape[:d] + sizes + shape[d + 1:])


@register("squeeze")
def squeeze(input: Tensor, dim: Union[int, Sequence[int], None] = None) -> Tensor:
    """Remove size-1 dims (all of them, or those in dim)."""
    ndim = require_tensor("squeeze", input).ndim
    if dim is None:
        mask = (1 << ndim) - 1
    else:
        dims = (dim,) if hasattr(dim, "__index__") else tuple(dim)
        mask = 0
        for d in dims:
            mask |= 1 << _norm_dim("squeeze", d, ndim)
    return _reshaped_grad("squeeze", input, _call(_C.tf_squeeze, input._h, mask))


@register("unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = norm_dim("unsqueeze", dim, require_tensor("unsqueeze", input).ndim + 1)
    return _reshaped_grad("unsqueeze", input, _call(_C.tf_unsqueeze, input._h, d))


@register("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    if (input.__class__ is Tensor and dim0.__class__ is int and dim1.__class__ is int
            and 0 <= dim0 < len(input.shape) and 0 <= dim1 < len(input.shape)):
        h = _transpose_r(input._h, dim0, dim1)   # dims known to be in range
        if not h:
            raise _C.returned_error()
        out = _wrap(h)
        if input._rg and _grad_state.enabled:
            record("transpose", out, (input,), lambda g: (transpose(g, dim0, dim1),))
        return out
    ndim = require_tensor("transpose", input).ndim
    dim0, dim1 = norm_dim("transpose", dim0, ndim), norm_dim("transpose", dim1, ndim)
    out = _call(_C.tf_transpose, input._h, dim0, dim1)
    if needs_grad(input):
        record("transpose", out, (input,),
               lambda g: (transpose(g, dim0, dim1),))
    return out


@register("permute")
def permute(input: Tensor, *dims) -> Tensor:
    dims = _shape("permute", dims)
    ndim = require_tensor("permute", input).ndim
    if len(dims) != ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor "
                         f"of {ndim} dims; pass a permutation of all of them")
    dims = tuple(norm_dim("permute", d, ndim) for d in dims)
    out = _call(_C.tf_permute, input._h, (c_int * max(ndim, 1))(*dims))
    if needs_grad(input):
        inverse = [0] * ndim
        for i, d in enumerate(dims):
            inverse[d % ndim] = i
        record("permute", out, (input,), lambda g: (permute(g, inverse),))
    return out


@register("t")
def t(input: Tensor) -> Tensor:
    if require_tensor("t", input).ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dims, got "
                         f"{input.ndim}; use transpose or .mT")
    return input if input.ndim < 2 else transpose(input, 0, 1)


@register("movedim", "moveaxis")
def movedim(input: Tensor, source: Shape, destination: Shape) -> Tensor:
    """The dims in source moved to the positions in destination (ints or
    sequences of one length); the other dims keep their order."""
    ndim = require_tensor("movedim", input).ndim
    src = _unique_dims("movedim", "source", source, ndim)
    dst = _unique_dims("movedim", "destination", destination, ndim)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {tuple(src)} and destination "
                         f"{tuple(dst)} must have the same number of dims")
    if ndim == 0:
        return reshape(input, ())
    order = [-1] * ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in src)
    return permute(input, [o if o >= 0 else next(rest) for o in order])


def _unique_dims(op: str, name: str, dims: Shape, ndim: int) -> list:
    """dims (an int or a sequence) made non-negative; none may repeat."""
    listed = [dims] if hasattr(dims, "__index__") else list(dims)
    out = [norm_dim(op, d, ndim) for d in listed]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: {name} {tuple(listed)} names a dim more than "
                         "once")
    return out


def _T(self: Tensor) -> Tensor:
    """All dims reversed (PyTorch's .T)."""
    return permute(self, tuple(range(self.ndim - 1, -1, -1)))


def _mT(self: Tensor) -> Tensor:
    """The last two dims swapped (a batch of matrices transposed)."""
    if self.ndim < 2:
        raise ValueError(f"mT: expects a tensor of at least 2 dims, got {self.ndim}")
    return transpose(self, -2, -1)


Tensor.T = property(_T)
Tensor.mT = property(_mT)


@register("expand", function=False)
def expand(self: Tensor, *sizes) -> Tensor:
    """A broadcast view: size-1 dims repeat with stride 0 (no copy)."""
    sizes = _shape("expand", sizes)
    out = _call(_C.tf_expand, self._h, len(sizes), _C.shape_array(sizes))
    if needs_grad(self):
        record("expand", out, (self,), lambda g, shape: (sum_to(g, shape),),
               (self.shape,))
    return out


@register("expand_as", function=False)
def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other.shape)


@register("broadcast_to")
def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    require_tensor("broadcast_to", input)
    with renamed_errors("broadcast_to", "expand"):
        return expand(input, tuple(shape))


@register("broadcast_shapes", method=False)
def broadcast_shapes(*shapes) -> tuple:
    result: list = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        width = max(len(result), len(shape))
        a = [1] * (width - len(result)) + result
        b = [1] * (width - len(shape)) + list(shape)
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y and 1 not in (x, y):
                raise ValueError(f"broadcast_shapes: shapes {tuple(result)} and "
                                 f"{shape} cannot be broadcast (size {x} vs {y} "
                                 f"at dim {i})")
            a[i] = y if x == 1 else x
        result = a
    return tuple(result)


@register("broadcast_tensors")
def broadcast_tensors(*tensors: Tensor) -> tuple:
    for i, t in enumerate(tensors):
        require_tensor("broadcast_tensors", t, f"argument {i}")
    with renamed_errors("broadcast_tensors", "broadcast_shapes"):
        shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


@register("as_strided")
def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: Optional[int] = None) -> Tensor:
    require_tensor("as_strided", input)
    size = as_ints("as_strided", "size", size)
    stride = as_ints("as_strided", "stride", stride)
    if len(size) != len(stride):
        raise ValueError(f"as_strided: size {size} and stride {stride} differ "
                         "in length")
    offset = input.storage_offset() if storage_offset is None else \
        as_int("as_strided", "storage_offset", storage_offset)
    if needs_grad(input):
        raise RuntimeError("as_strided: tinyfin does not differentiate through "
                           "as_strided; use view ops (reshape, transpose, "
                           "expand, slicing) or detach() first")
    return _call(_C.tf_as_strided, input._h, len(size), _C.shape_array(size),
                 _C.shape_array(stride), offset)


# ---- copies -------------------------------------------------------------------
@register("contiguous", function=False)
def contiguous(self: Tensor, memory_format=None) -> Tensor:
    if memory_format is not None:
        raise TypeError(f"contiguous: memory_format is not supported (tinyfin "
                        f"tensors have one, row-major, layout), got "
                        f"{memory_format!r}")
    if self.is_contiguous():
        return self
    return clone(self)


@register("clone")
def clone(input: Tensor) -> Tensor:
    out = _call(_C.tf_clone, require_tensor("clone", input)._h)
    if needs_grad(input):
        record("clone", out, (input,), lambda g: (g,))
    return out


def to_args(op: str, args: tuple, kwargs: dict) -> tuple:
    """(dtype, device) of to()'s forms, each None when not given: to(dtype),
    to(device), to(device, dtype), to(other), keywords dtype= and device=
    (copy= and non_blocking= are accepted here; Tensor.to reads
    non_blocking itself). Shared by Tensor.to and nn.Module.to."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("copy", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"{op}: unexpected arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, _dtypes.dtype):
            dtype = a
        elif isinstance(a, _device.device) or a is None or (
                isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
            device = a
        else:
            dtype = _dtypes.get(a, op)
    return (None if dtype is None else _dtypes.get(dtype, op)), device


@register("to", function=False)
def to(self: Tensor, *args, **kwargs) -> Tensor:
    """to(dtype), to(device), to(device, dtype) or to(other): a converted
    copy, or self when nothing changes (as in PyTorch). Crossing devices is
    what only to() (and cpu(), cuda()) do; the gradient crosses back."""
    dtype, device = to_args("to", args, kwargs)
    dev = self.device if device is None else check_device("to", device)
    dt = self.dtype if dtype is None else dtype
    if dt is self.dtype and dev == self.device:
        return self
    return _convert(self, dt, dev, bool(kwargs.get("non_blocking", False)))


def _convert(self: Tensor, dt: _dtypes.dtype, dev=None, non_blocking: bool = False) -> Tensor:
    """non_blocking: a copy to the GPU from pinned memory (pin_memory()) is
    queued and returns at once, as PyTorch's; every other copy, and every
    copy to the host, completes before it returns."""
    if dev is None or dev == self.device:
        out = _call(_C.tf_to_dtype, self._h, dt.code)
    else:
        out = _call(_C.tf_to_device_nb, self._h, dev.code, dt.code, non_blocking)
    if dt.is_floating_point and needs_grad(self):
        source, home = self.dtype, self.device
        record("to", out, (self,), lambda g: (_convert(g, source, home),))
    return out


for _name, _dt in [("float", _dtypes.float32), ("double", _dtypes.float64),
                   ("long", _dtypes.int64), ("bool", _dtypes.bool_)]:
    def _as(self: Tensor, _dt=_dt) -> Tensor:
        return to(self, _dt)
    _as.__name__ = _name
    register(_name, function=False)(_as)


@register("type_as", function=False)
def type_as(self: Tensor, other: Tensor) -> Tensor:
    return to(self, require_tensor("type_as", other, "other").dtype)


@register("cpu", function=False)
def cpu(self: Tensor) -> Tensor:
    return to(self, _device.CPU)


@register("cuda", function=False)
def cuda(self: Tensor, device=None, non_blocking: bool = False) -> Tensor:
    dev = check_device("cuda", "cuda" if device is None else
                       device if isinstance(device, (str, _device.device))
                       else f"cuda:{device}")
    return to(self, dev, non_blocking=non_blocking)


@register("pin_memory", function=False)
def pin_memory(self: Tensor) -> Tensor:
    """A copy of this cpu tensor in page-locked host memory (self when it is
    pinned already), which .to("cuda", non_blocking=True) copies from
    without waiting. Needs CUDA. Don't write it while such a copy may still
    be reading it (until torch.cuda.synchronize, as in PyTorch)."""
    if self.is_pinned():
        return self
    out = _call(_C.tf_pin_memory, self._h)
    if needs_grad(self):
        record("pin_memory", out, (self,), lambda g: (g,))
    return out


@register("is_pinned", function=False)
def is_pinned(self: Tensor) -> bool:
    return bool(_C.tf_tensor_is_pinned(self._h))
