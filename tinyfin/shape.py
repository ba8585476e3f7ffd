"""Shape ops: cat/stack (copies), split/chunk/unbind/narrow (views), flip,
repeat/tile, pad (torch.nn.functional.pad's convention), tril/triu, roll,
and the hstack/vstack conveniences; with their gradients.

Ops that only pick elements (split, chunk, unbind, narrow, the slices of
roll and of cat's gradient, pad's reflect and replicate modes) take their
gradients from autograd/linear_maps.py: each is a linear map recorded with
its adjoint, so derivatives of any order come out.
"""
from __future__ import annotations

from ctypes import c_void_p
from typing import List, Sequence, Tuple, Union

import numpy as np

from . import _C
from ._args import as_int, as_ints, c_dim, scalar_args
from .autograd.graph import needs_grad, record
from .autograd.inplace import overwrite
from .autograd.linear_maps import (adjoint, index_add_put, index_select_get,
                                   untracked_zeros, view_grad)
from .creation import from_numpy
from .tensor import (Tensor, _call, _norm_dim, register, renamed_errors,
                     require_tensor)
from .views import clone, unsqueeze

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


def _ints(op: str, name: str, value, single: bool = True) -> List[int]:
    """value, a sequence of ints (or, where `single`, one int), as a list;
    a TypeError naming op and the argument for anything else (a float would
    be truncated silently), an OverflowError outside int64."""
    if single and hasattr(value, "__index__") and getattr(value, "ndim", 0) == 0:
        return [as_int(op, name, value)]
    try:
        return list(as_ints(op, name, value))
    except TypeError:
        what = "an int or a sequence of ints" if single else "a sequence of ints"
        raise TypeError(f"{op}: {name} must be {what}, got {value!r}") from None


def _dims(op: str, dims, ndim: int) -> List[int]:
    """dims as a list of non-negative ints, each at most once."""
    dims = list(dims) if isinstance(dims, (tuple, list)) or \
        getattr(dims, "ndim", 0) >= 1 else [dims]
    out = []
    for d in dims:
        d = _norm_dim(op, d, ndim)
        if d in out:
            raise ValueError(f"{op}: dim {d} appears multiple times in the "
                             f"list of dims {tuple(dims)}")
        out.append(d)
    return out


# ---- slices: views recorded with their adjoint ----------------------------
def _slice(t: Tensor, dim: int, start: int, stop: int) -> Tensor:
    """t[..., start:stop] along dim, a view (recorded)."""
    return view_grad("slice", t,
                     lambda v: _call(_C.tf_slice, v._h, dim, start, stop, 1))


# ---- joining (copies) -----------------------------------------------------
@register("cat", "concat", "concatenate", method=False)
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all must have one dtype and the
    same shape except in dim (1-D empty tensors are skipped, as in PyTorch)."""
    tensors = _tensor_list("cat", tensors)
    handles = (c_void_p * len(tensors))(*(t._h for t in tensors))
    dim = c_dim("cat", dim)
    out = _call(_C.tf_cat, len(tensors), handles, dim)
    if needs_grad(*tensors):
        d = _norm_dim("cat", dim, out.ndim)
        # Per input: its extent along d, or None for a skipped 1-D empty one.
        parts = [None if t.shape == (0,) and out.ndim != 1 else t.shape[d]
                 for t in tensors]
        record("cat", out, tuple(tensors), _cat_backward,
               (d, parts, tuple(t._rg for t in tensors)))
    return out


def _cat_backward(g, d, parts, wanted):
    grads, start = [], 0
    for size, want in zip(parts, wanted):
        if size is None:
            grads.append(untracked_zeros((0,), g) if want else None)
            continue
        grads.append(_slice(g, d, start, start + size) if want else None)
        start += size
    return tuple(grads)


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
    with renamed_errors("stack", "cat"):
        return cat([unsqueeze(t, d) for t in tensors], d)


@register("hstack", method=False)
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = _tensor_list("hstack", tensors)
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in tensors]
    with renamed_errors("hstack", "cat"):
        return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@register("vstack", "row_stack", method=False)
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = _tensor_list("vstack", tensors)
    with renamed_errors("vstack", "cat"):
        return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


# ---- splitting (views) ----------------------------------------------------
@register("split")
def split(tensor: Tensor, split_size_or_sections: Union[int, Sequence[int]],
          dim: int = 0) -> Tuple[Tensor, ...]:
    """Views of consecutive pieces along dim: of split_size each (the last
    may be smaller), or of the listed sizes (which must add up to the size)."""
    if require_tensor("split", tensor).ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    d = _norm_dim("split", dim, tensor.ndim)
    size = tensor.shape[d]
    if hasattr(split_size_or_sections, "__index__") and \
            getattr(split_size_or_sections, "ndim", 0) == 0:
        step = as_int("split", "split_size", split_size_or_sections)
        if step < 0 or (step == 0 and size != 0):
            raise ValueError(f"split: split_size must be positive, got {step} "
                             f"for a dim of size {size}")
        sizes = [min(step, size - s) for s in range(0, size, step)] if step else [0]
        if not sizes:
            sizes = [0]
    else:
        sizes = _ints("split", "split_size_or_sections", split_size_or_sections)
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
    sizes = _ints("split_with_sizes", "split_sizes", split_sizes, single=False)
    with renamed_errors("split_with_sizes", "split"):
        return split(tensor, sizes, dim)


@register("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> Tuple[Tensor, ...]:
    """At most `chunks` views of equal size ceil(size / chunks) along dim
    (the last may be smaller, and there may be fewer), as in PyTorch."""
    chunks = as_int("chunk", "chunks", chunks)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks}")
    if require_tensor("chunk", input).ndim == 0:
        raise ValueError("chunk: cannot chunk a 0-d tensor")
    size = input.shape[_norm_dim("chunk", dim, input.ndim)]
    return split(input, -(-size // chunks), dim)


@register("unbind")
def unbind(input: Tensor, dim: int = 0) -> Tuple[Tensor, ...]:
    """Views of every index along dim, with dim removed."""
    if require_tensor("unbind", input).ndim == 0:
        raise ValueError("unbind: cannot unbind a 0-d tensor")
    d = _norm_dim("unbind", dim, input.ndim)
    return tuple(view_grad("unbind", input,
                           lambda v, i=i: _call(_C.tf_select, v._h, d, i))
                 for i in range(input.shape[d]))


@register("narrow")
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view input[..., start:start + length] along dim."""
    if require_tensor("narrow", input).ndim == 0:
        raise ValueError("narrow: cannot narrow a 0-d tensor")
    d = _norm_dim("narrow", dim, input.ndim)
    size = input.shape[d]
    start, length = as_int("narrow", "start", start), as_int("narrow", "length", length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} "
                         f"of size {size}")
    if start < 0:
        start += size
    if length < 0:
        raise ValueError(f"narrow: length must be non-negative, got {length}")
    if start + length > size:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds "
                         f"dimension size ({size}) of dim {d}")
    return _slice(input, d, start, start + length)


# ---- reordering and repetition (copies) -----------------------------------
@register("flip")
def flip(input: Tensor, dims: Union[int, Sequence[int]]) -> Tensor:
    dims = _dims("flip", dims, require_tensor("flip", input).ndim)
    mask = 0
    for d in dims:
        mask |= 1 << d
    out = _call(_C.tf_flip, input._h, mask)
    if needs_grad(input):
        record("flip", out, (input,), lambda g: (flip(g, dims),))
    return out


@register("fliplr")
def fliplr(input: Tensor) -> Tensor:
    if require_tensor("fliplr", input).ndim < 2:
        raise ValueError(f"fliplr: input must have at least 2 dims, got shape "
                         f"{input.shape}")
    return flip(input, 1)


@register("flipud")
def flipud(input: Tensor) -> Tensor:
    if require_tensor("flipud", input).ndim < 1:
        raise ValueError("flipud: input must have at least 1 dim, got a 0-d "
                         "tensor")
    return flip(input, 0)


@register("repeat", function=False)
def repeat(self: Tensor, *sizes) -> Tensor:
    """Tile self sizes[d] times along each dim (a copy); extra leading sizes
    add new dims."""
    if len(sizes) == 1 and (isinstance(sizes[0], (tuple, list)) or
                            getattr(sizes[0], "ndim", 0) >= 1):
        sizes = sizes[0]
    sizes = as_ints("repeat", "sizes", sizes)
    ndim = self.ndim
    if len(sizes) < ndim:
        raise ValueError(f"repeat: number of dimensions of repeat dims "
                         f"{sizes} can not be smaller than the number of "
                         f"dimensions of the tensor {self.shape}")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - ndim) + self.shape
    # (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...), copied once,
    # then read as (r0*s0, r1*s1, ...). Made of differentiable views, so the
    # gradient is expand's: g summed over the repeat dims.
    pairs = tuple(x for s in shape for x in (1, s))
    wide = tuple(x for r, s in zip(sizes, shape) for x in (r, s))
    with renamed_errors("repeat", "expand"):  # a count beyond 64 bits
        expanded = self.reshape(pairs).expand(wide)
    final = tuple(r * s for r, s in zip(sizes, shape))
    return clone(expanded).view(final)


@register("tile")
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    dims = tuple(_ints("tile", "dims", dims))
    dims = (1,) * (require_tensor("tile", input).ndim - len(dims)) + dims
    with renamed_errors("tile", "repeat"):
        return repeat(input, dims)


@register("roll")
def roll(input: Tensor, shifts: Union[int, Sequence[int]],
         dims: Union[int, Sequence[int], None] = None) -> Tensor:
    """Elements shifted cyclically along dims (all elements when dims is
    None, as over the flattened tensor)."""
    require_tensor("roll", input)
    shifts = _ints("roll", "shifts", shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: with dims=None, shifts must be one "
                             f"int, got {tuple(shifts)}")
        return roll(input.flatten(), shifts[0], 0).view(input.shape)
    dims = _ints("roll", "dims", dims)
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
    if out is input:
        return clone(input)
    return out


# ---- padding and triangles --------------------------------------------------
@register("pad", method=False)
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float = 0.0) -> Tensor:
    """Pad as torch.nn.functional.pad: `pad` lists (before, after) amounts
    starting from the LAST dim: (left, right, top, bottom, ...). Modes:
    'constant' (value; negative amounts crop), 'reflect' (each amount less
    than the size), 'replicate' (repeat the edge), 'circular' (wrap around;
    each amount at most the size)."""
    pad = tuple(_ints("pad", "pad", pad, single=False))
    ndim = require_tensor("pad", input).ndim
    if len(pad) % 2 or len(pad) > 2 * ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at "
                         f"most twice the number of dims of the input "
                         f"{input.shape}")
    if mode not in _PAD_MODES and mode != "circular":
        raise ValueError(f"pad: mode must be one of "
                         f"{sorted([*_PAD_MODES, 'circular'])}, got {mode!r}")
    if mode != "constant" and value not in (0, 0.0, None):
        raise ValueError(f"pad: value is only used in constant mode, not "
                         f"{mode!r}")
    pads = [0] * (2 * ndim)
    for i in range(len(pad) // 2):
        d = ndim - 1 - i
        pads[2 * d], pads[2 * d + 1] = pad[2 * i], pad[2 * i + 1]
    if isinstance(value, Tensor):
        value = value.item()
    if mode == "circular":
        return _pad_circular(input, pads)
    out = _call(_C.tf_pad, input._h, _C.shape_array(pads), _PAD_MODES[mode],
                *scalar_args("pad", 0.0 if value is None else value))
    if needs_grad(input):
        if mode == "constant":
            # Negative amounts crop, so padding by the negated amounts
            # crops the padding off again (and pads back what was cropped).
            record("pad", out, (input,), _pad_constant_backward,
                   (tuple(-p for p in pad),))
        else:
            record("pad", out, (input,), _pad_index_backward,
                   (_pad_indices(mode, input.shape, pads, input.device), input.shape))
    return out


def _pad_circular(input: Tensor, pads: list) -> Tensor:
    """Circular padding (PyTorch's): the amounts before a dim are its last
    elements and those after its first, so each amount is at most the size;
    a negative amount crops first (as PyTorch: the wrapped elements are
    those of the cropped input). One index_select per padded dim, whose
    adjoint (index_add) is the backward."""
    if any(p < 0 for p in pads):
        crop = [min(p, 0) for p in pads]
        input = pad(input, [a for d in reversed(range(input.ndim))
                            for a in crop[2 * d:2 * d + 2]])
        pads = [max(p, 0) for p in pads]
    for d, n in enumerate(input.shape):
        before, after = pads[2 * d], pads[2 * d + 1]
        if before > n or after > n:
            raise ValueError(f"pad: circular padding of ({before}, {after}) "
                             f"in dim {d} of input of shape {input.shape} "
                             f"wraps around more than once (each amount must "
                             f"be at most the size {n})")
    indices = _pad_indices("circular", input.shape, pads, input.device)
    out = input
    for d, index in indices:
        out = _call(_C.tf_index_select, out._h, d, index._h)
    if not indices:
        out = clone(input)
    if needs_grad(input):
        record("pad", out, (input,), _pad_index_backward,
               (indices, input.shape))
    return out


def _pad_constant_backward(g, back):
    return (pad(g, back),)


def _pad_indices(mode: str, shape: tuple, pads: list, device) -> list:
    """reflect and replicate pad each dim by an index_select: for every
    padded dim, (dim, the int64 source index of each output position, on
    device)."""
    result = []
    for d, n in enumerate(shape):
        before, after = pads[2 * d], pads[2 * d + 1]
        if before == 0 and after == 0:
            continue
        j = np.arange(-before, n + after, dtype=np.int64)
        if mode == "replicate":
            j = np.clip(j, 0, n - 1)
        elif mode == "circular":
            j = j % n if n else j
        else:
            j = np.abs(j)
            j = np.where(j >= n, 2 * (n - 1) - j, j)
        result.append((d, from_numpy(j).to(device)))
    return result


def _pad_index_backward(g, indices, shape):
    """The adjoint of the per-dim index_selects, last dim first."""
    sizes = list(g.shape)
    for d, index in reversed(indices):
        sizes[d] = shape[d]
        g = adjoint("pad", g, tuple(sizes), index_select_get(d, index),
                    index_add_put(d, index), ())
    return (g,)


@register("tril")
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Zero the elements above the diagonal-th diagonal of the last two dims."""
    return _tril(require_tensor("tril", input), _diagonal("tril", diagonal), False)


@register("triu")
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Zero the elements below the diagonal-th diagonal of the last two dims."""
    return _tril(require_tensor("triu", input), _diagonal("triu", diagonal), True)


def _diagonal(op: str, diagonal) -> int:
    return as_int(op, "diagonal", diagonal)


def _tril(input: Tensor, k: int, upper: bool) -> Tensor:
    out = _call(_C.tf_tril, input._h, k, upper)
    if needs_grad(input):
        record("triu" if upper else "tril", out, (input,),
               lambda g: (_tril(g, k, upper),))
    return out


@register("tril_", function=False)
def tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    return overwrite("tril_", self, lambda: tril(self, diagonal))


@register("triu_", function=False)
def triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    return overwrite("triu_", self, lambda: triu(self, diagonal))
