"""Shape ops: cat/stack (copies), split/chunk/unbind/narrow (views), flip,
repeat/tile, pad (torch.nn.functional.pad's convention), tril/triu, roll,
and the hstack/vstack conveniences."""
from __future__ import annotations

from ctypes import c_void_p
from typing import List, Sequence, Tuple, Union

from . import _C
from .tensor import Tensor, _call, _norm_dim, register

_PAD_MODES = {"constant": 0, "reflect": 1, "replicate": 2}


def _tensor_list(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of Tensors, got a single "
                        "Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, got "
                            f"{type(t).__name__} at position {i}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of Tensors")
    return tensors


def _dims(op: str, dims, ndim: int) -> List[int]:
    """dims as a list of non-negative ints, each at most once."""
    dims = [dims] if isinstance(dims, int) else list(dims)
    out = []
    for d in dims:
        d = _norm_dim(op, int(d), ndim)
        if d in out:
            raise ValueError(f"{op}: dim {d} appears multiple times in the "
                             f"list of dims {tuple(dims)}")
        out.append(d)
    return out


def _slice(t: Tensor, dim: int, start: int, stop: int) -> Tensor:
    """t[..., start:stop] along dim, a view."""
    return _call(_C.tf_slice, t._h, dim, start, stop, 1)


# ---- joining (copies) -----------------------------------------------------
@register("cat", "concat", "concatenate", method=False)
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all must have one dtype and the
    same shape except in dim (1-D empty tensors are skipped, as in PyTorch)."""
    tensors = _tensor_list("cat", tensors)
    handles = (c_void_p * len(tensors))(*(t._h for t in tensors))
    return _call(_C.tf_cat, len(tensors), handles, int(dim))


@register("stack", method=False)
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    tensors = _tensor_list("stack", tensors)
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ValueError(f"stack: expects each tensor to be equal size, "
                             f"but got {shape} at entry 0 and {t.shape} at "
                             f"entry {i}")
    d = _norm_dim("stack", dim, len(shape) + 1)
    return cat([_call(_C.tf_unsqueeze, t._h, d) for t in tensors], d)


@register("hstack", method=False)
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = _tensor_list("hstack", tensors)
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@register("vstack", "row_stack", method=False)
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = _tensor_list("vstack", tensors)
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


# ---- splitting (views) ----------------------------------------------------
@register("split")
def split(tensor: Tensor, split_size_or_sections: Union[int, Sequence[int]],
          dim: int = 0) -> Tuple[Tensor, ...]:
    """Views of consecutive pieces along dim: of split_size each (the last
    may be smaller), or of the listed sizes (which must add up to the size)."""
    if tensor.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    d = _norm_dim("split", dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0 or (step == 0 and size != 0):
            raise ValueError(f"split: split_size must be positive, got {step} "
                             f"for a dim of size {size}")
        sizes = [min(step, size - s) for s in range(0, size, step)] if step else [0]
        if not sizes:
            sizes = [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != size:
            raise ValueError(f"split: sections {tuple(sizes)} must be "
                             f"non-negative and add up to the size {size} of "
                             f"dim {d} (shape {tensor.shape})")
    out, start = [], 0
    for s in sizes:
        out.append(_slice(tensor, d, start, start + s))
        start += s
    return tuple(out)


@register("split_with_sizes")
def split_with_sizes(tensor: Tensor, split_sizes: Sequence[int],
                     dim: int = 0) -> Tuple[Tensor, ...]:
    return split(tensor, list(split_sizes), dim)


@register("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> Tuple[Tensor, ...]:
    """At most `chunks` views of equal size ceil(size / chunks) along dim
    (the last may be smaller, and there may be fewer), as in PyTorch."""
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    if input.ndim == 0:
        raise ValueError("chunk: cannot chunk a 0-d tensor")
    size = input.shape[_norm_dim("chunk", dim, input.ndim)]
    return split(input, -(-size // chunks), dim)


@register("unbind")
def unbind(input: Tensor, dim: int = 0) -> Tuple[Tensor, ...]:
    """Views of every index along dim, with dim removed."""
    if input.ndim == 0:
        raise ValueError("unbind: cannot unbind a 0-d tensor")
    d = _norm_dim("unbind", dim, input.ndim)
    return tuple(_call(_C.tf_select, input._h, d, i)
                 for i in range(input.shape[d]))


@register("narrow")
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view input[..., start:start + length] along dim."""
    if input.ndim == 0:
        raise ValueError("narrow: cannot narrow a 0-d tensor")
    d = _norm_dim("narrow", dim, input.ndim)
    size = input.shape[d]
    start, length = int(start), int(length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} "
                         f"of size {size}")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds "
                         f"dimension size ({size}) of dim {d}")
    return _slice(input, d, start, start + length)


# ---- reordering and repetition (copies) -----------------------------------
@register("flip")
def flip(input: Tensor, dims: Union[int, Sequence[int]]) -> Tensor:
    mask = 0
    for d in _dims("flip", dims, input.ndim):
        mask |= 1 << d
    return _call(_C.tf_flip, input._h, mask)


@register("fliplr")
def fliplr(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise ValueError(f"fliplr: input must have at least 2 dims, got shape "
                         f"{input.shape}")
    return flip(input, 1)


@register("flipud")
def flipud(input: Tensor) -> Tensor:
    if input.ndim < 1:
        raise ValueError("flipud: input must have at least 1 dim, got a 0-d "
                         "tensor")
    return flip(input, 0)


@register("repeat", function=False)
def repeat(self: Tensor, *sizes) -> Tensor:
    """Tile self sizes[d] times along each dim (a copy); extra leading sizes
    add new dims."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    ndim = self.ndim
    if len(sizes) < ndim:
        raise ValueError(f"repeat: number of dimensions of repeat dims "
                         f"{sizes} can not be smaller than the number of "
                         f"dimensions of the tensor {self.shape}")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - ndim) + self.shape
    # (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...), copied once,
    # then read as (r0*s0, r1*s1, ...).
    pairs = tuple(x for s in shape for x in (1, s))
    wide = tuple(x for r, s in zip(sizes, shape) for x in (r, s))
    expanded = self.reshape(pairs).expand(wide)
    final = tuple(r * s for r, s in zip(sizes, shape))
    return _call(_C.tf_clone, expanded._h).view(final)


@register("tile")
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


@register("roll")
def roll(input: Tensor, shifts: Union[int, Sequence[int]],
         dims: Union[int, Sequence[int], None] = None) -> Tensor:
    """Elements shifted cyclically along dims (all elements when dims is
    None, as over the flattened tensor)."""
    if dims is None:
        if not isinstance(shifts, int):
            shifts = tuple(shifts)
            if len(shifts) != 1:
                raise ValueError(f"roll: with dims=None, shifts must be one "
                                 f"int, got {shifts}")
            shifts = shifts[0]
        return roll(input.flatten(), shifts, 0).view(input.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {tuple(shifts)} and dims {tuple(dims)} "
                         "must have the same length")
    out = input
    for s, d in zip(shifts, dims):
        d = _norm_dim("roll", d, input.ndim)
        size = input.shape[d] if input.ndim else 1
        if size == 0 or input.ndim == 0:
            continue
        s %= size
        if s:
            out = cat([_slice(out, d, size - s, size), _slice(out, d, 0, size - s)], d)
    return out if out is not input else _call(_C.tf_clone, input._h)


# ---- padding and triangles --------------------------------------------------
@register("pad", method=False)
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float = 0.0) -> Tensor:
    """Pad as torch.nn.functional.pad: `pad` lists (before, after) amounts
    starting from the LAST dim: (left, right, top, bottom, ...). Modes:
    'constant' (value; negative amounts crop), 'reflect' (each amount less
    than the size), 'replicate' (repeat the edge)."""
    pad = tuple(int(p) for p in pad)
    ndim = input.ndim
    if len(pad) % 2 or len(pad) > 2 * ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at "
                         f"most twice the number of dims of the input "
                         f"{input.shape}")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got "
                         f"{mode!r} (circular is not supported)")
    if mode != "constant" and value not in (0, 0.0, None):
        raise ValueError(f"pad: value is only used in constant mode, not "
                         f"{mode!r}")
    pads = [0] * (2 * ndim)
    for i in range(len(pad) // 2):
        d = ndim - 1 - i
        pads[2 * d], pads[2 * d + 1] = pad[2 * i], pad[2 * i + 1]
    return _call(_C.tf_pad, input._h, _C.shape_array(pads), _PAD_MODES[mode],
                 float(value or 0.0))


@register("tril")
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Zero the elements above the diagonal-th diagonal of the last two dims."""
    return _call(_C.tf_tril, input._h, int(diagonal), False)


@register("triu")
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Zero the elements below the diagonal-th diagonal of the last two dims."""
    return _call(_C.tf_tril, input._h, int(diagonal), True)


@register("tril_", function=False)
def tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    return self.copy_(tril(self, diagonal))


@register("triu_", function=False)
def triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    return self.copy_(triu(self, diagonal))
