"""Indexing: Tensor.__getitem__ / __setitem__ with NumPy's semantics, and
gather, scatter_add, index_select, index_put_, nonzero, masked_fill,
masked_select and take_along_dim.

An index is read in three steps, each a small function the autograd layer
can reuse:
  1. _parse: the index as a list of items (int, slice, None, an int64 index
     Tensor, _NewAxis), with Ellipsis expanded and bool masks turned into
     int64 index tensors through nonzero;
  2. _basic: ints, slices and None applied as views (select, slice,
     unsqueeze), leaving the advanced indices as (dim of the view, tensor);
  3. _advanced: the view permuted so the indexed dims come first (still a
     view), the index tensors broadcast to one shape, and the result dims
     placed where NumPy puts them: where the indices stand when they (with
     any ints among them) are adjacent in the index, else first.
Basic indexing returns views; advanced indexing copies (tf_index_get) and
writes through the view into the original storage (tf_index_put_).

Gradients: reading (getitem, gather, index_select) is a linear map recorded
with autograd.linear_maps.linear, its adjoint (an accumulating put into
zeros) being its gradient and vice versa. Writing (setitem, index_put_, the
in-place ops) on a tensor in the graph runs the write out of place as a
recorded index_put, copies the result in and moves the graph over
(autograd.inplace.write_tracked). A write into
a view of a graph tensor gives that view the new graph, but not the tensor it
views: tinyfin does not track view bases, so differentiate through the base
only after writes made to the base itself.
"""
from __future__ import annotations

import re
from ctypes import c_int, c_void_p
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _C
from . import dtypes as _dtypes
from ._args import c_dim
from ._coordinates import nonzero_coordinates
from .autograd.grad_mode import no_grad, state as _grad_state
from .autograd.graph import needs_grad, record
from .autograd.inplace import overwrite, write_tracked
from .autograd.linear_maps import (embed, index_add_put, index_select_get,
                                   linear, untracked_zeros)
from .autograd.util import sum_to
from .creation import from_numpy, full, tensor
from .elementwise import add, fill_, where
from .shape import pad
from .tensor import (Tensor, _call, _norm_dim, _wrap, register, renamed_errors,
                     require_tensor)

_slice_r, _select_r = _C.fast.tf_slice_r, _C.fast.tf_select_r
_I32_MAX = _C.INT32_MAX
_new_tensor = object.__new__
from .views import broadcast_shapes, broadcast_tensors, expand

_int64, _bool = _dtypes.int64, _dtypes.bool_
# Left where an Ellipsis covered no dims: NumPy still counts it as standing
# between advanced indices (x[:, [0], ..., [0]] on 3 dims puts them first).
_GAP = object()


class _NewAxis(NamedTuple):
    """A 0-d bool index: a new dim of size 1 (True) or 0 (False)."""
    keep: bool


class _Adv(NamedTuple):
    """An advanced index: an int64 tensor indexing dim `dim` of the view;
    `src` is the dim of the original tensor (for error messages)."""
    dim: int
    tensor: Tensor
    src: int


class _Plan(NamedTuple):
    """What _basic leaves for _advanced."""
    view: Tensor            # the basic-indexed view of the original tensor
    advs: List[_Adv]        # advanced indices, in index order
    adjacent: bool          # NumPy keeps the result dims in place


# ---- step 1: parse ------------------------------------------------------------
def _index_tensor(op: str, obj) -> Tensor:
    """An int64 or bool Tensor from a Tensor, list or NumPy array."""
    if isinstance(obj, Tensor):
        if obj.dtype is not _int64 and obj.dtype is not _bool:
            raise IndexError(f"{op}: tensors used as indices must be int64 or "
                             f"bool, got {obj.dtype.name}")
        return obj
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError):
        arr = np.asarray(obj, dtype=object)
    if arr.dtype.kind == "b" or arr.dtype.kind in "iu" or (
            arr.size == 0 and arr.dtype.kind == "f"):
        t = from_numpy(arr if arr.dtype.kind == "b" else arr.astype(np.int64))
        # keep 0-d arrays 0-d whatever from_numpy does with them
        return t if t.shape == arr.shape else t.reshape(arr.shape)
    raise IndexError(f"{op}: only integers, slices (`:`), ellipsis (`...`), "
                     f"None and int64 or bool tensors (or sequences of them) "
                     f"are valid indices, got {type(obj).__name__} of "
                     f"{arr.dtype}")


def _item(op: str, item):
    """One index item in canonical form: int, slice, None, Ellipsis, an
    int64 / bool Tensor."""
    t = type(item)
    if t is int or t is slice or item is None or item is Ellipsis:
        return item
    if t is bool or isinstance(item, np.bool_):
        return _NewAxis(bool(item))
    if isinstance(item, (Tensor, list, tuple, np.ndarray)):
        item = _index_tensor(op, item)
        if item.dtype is _bool and item.ndim == 0:
            return _NewAxis(bool(item.item()))
        return item
    if isinstance(item, np.integer) or hasattr(item, "__index__"):
        return int(item.__index__())
    raise IndexError(f"{op}: only integers, slices (`:`), ellipsis (`...`), "
                     f"None and int64 or bool tensors are valid indices, got "
                     f"{type(item).__name__}")


def _as_int(v) -> int:
    return v.__index__() if hasattr(v, "__index__") else int(v)


def _consumes(item) -> int:
    """How many dims of the indexed tensor an item uses up."""
    if item is None or item is Ellipsis or isinstance(item, _NewAxis):
        return 0
    if isinstance(item, Tensor) and item.dtype is _bool:
        return item.ndim
    return 1


def _mask_to_indices(op: str, mask: Tensor, shape: tuple, at: int) -> list:
    """A k-d bool mask over shape[at:at+k] as k int64 index tensors."""
    k = mask.ndim
    if mask.shape != shape[at:at + k]:
        raise IndexError(f"{op}: the shape of the mask {mask.shape} at index "
                         f"{at} does not match the shape of the indexed "
                         f"tensor {shape[at:at + k]} at index {at}")
    return list(nonzero_coordinates(mask))


def _parse(op: str, index, shape: tuple) -> list:
    """The index as a list of items, one per dim it touches (Ellipsis
    expanded, masks replaced by int64 index tensors)."""
    items = [_item(op, i) for i in (index if type(index) is tuple else (index,))]
    ellipses = sum(1 for i in items if i is Ellipsis)
    if ellipses > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis "
                         "('...')")
    used = sum(_consumes(i) for i in items)
    if used > len(shape):
        raise IndexError(f"{op}: too many indices for tensor of dimension "
                         f"{len(shape)} (got {used} for shape {shape})")
    out, at = [], 0
    for item in items:
        if item is Ellipsis:
            fill = len(shape) - used
            out.extend([slice(None)] * fill if fill else [_GAP])
            at += fill
        elif isinstance(item, Tensor) and item.dtype is _bool and item.ndim:
            out.extend(_mask_to_indices(op, item, shape, at))
            at += item.ndim
        else:
            out.append(item)
            at += _consumes(item)
    return out


# ---- step 2: basic indexing as views ------------------------------------------
def _select(v: Tensor, dim: int, i: int, src: int, size: int) -> Tensor:
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for dimension {src} "
                         f"with size {size}")
    return _call(_C.tf_select, v._h, dim, i)


def _slice(v: Tensor, dim: int, s: slice) -> Tensor:
    if s.step is not None and _as_int(s.step) <= 0:
        raise ValueError(f"index: step must be greater than zero, got "
                         f"{s.step} (negative steps are not supported; use "
                         "flip)")
    size = v.shape[dim]
    start, stop, step = s.indices(size)
    # A step beyond the size takes only the first element, as the size
    # itself would; so any Python int step fits the core's int64.
    return _call(_C.tf_slice, v._h, dim, start, stop, min(step, max(size, 1)))


def _alias(t: Tensor) -> Tensor:
    """A new Tensor viewing all of t (x[...] is a view, never x itself)."""
    return _call(_C.tf_as_strided, t._h, t.ndim, _C.shape_array(t.shape),
                 _C.shape_array(t.stride()), t.storage_offset())


def _basic(t: Tensor, items: list) -> _Plan:
    """Apply the ints, slices and new axes as views; collect the rest."""
    v, vd, sd = t, 0, 0
    shape = t.shape
    advs: List[_Adv] = []
    runs, last = 0, None  # runs of adjacent int / tensor items
    for pos, item in enumerate(items):
        is_adv = type(item) is int or isinstance(item, Tensor)
        if is_adv and last != pos - 1:
            runs += 1
        if is_adv:
            last = pos
        if item is _GAP:
            continue
        if type(item) is int:
            v = _select(v, vd, item, sd, shape[sd])
            sd += 1
        elif type(item) is slice:
            v = _slice(v, vd, item)
            vd, sd = vd + 1, sd + 1
        elif item is None or isinstance(item, _NewAxis):
            v = _call(_C.tf_unsqueeze, v._h, vd)
            if isinstance(item, _NewAxis) and not item.keep:
                v = _call(_C.tf_slice, v._h, vd, 0, 0, 1)
            vd += 1
        else:
            advs.append(_Adv(vd, item, sd))
            vd, sd = vd + 1, sd + 1
    return _Plan(v, advs, runs <= 1)


# ---- step 3: advanced indexing --------------------------------------------------
def _broadcast_indices(op: str, advs: List[_Adv]) -> Tuple[tuple, list]:
    shapes = [a.tensor.shape for a in advs]
    try:
        shape = broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(f"{op}: shape mismatch: indexing tensors could not be "
                         f"broadcast together with shapes "
                         f"{', '.join(map(str, shapes))}") from None
    return shape, [expand(a.tensor, shape) if a.tensor.shape != shape
                   else a.tensor for a in advs]


def _front(plan: _Plan) -> Tensor:
    """The view with the advanced dims moved to the front (still a view)."""
    v = plan.view
    first = [a.dim for a in plan.advs]
    order = first + [d for d in range(v.ndim) if d not in first]
    if order == list(range(v.ndim)):
        return v
    return _permute(v, order)


def _placement(plan: _Plan, n_index_dims: int, ndim: int) -> Optional[list]:
    """The permutation that takes (I..., rest...) to NumPy's order, or None
    when the index dims stay first."""
    p0 = plan.advs[0].dim
    if not plan.adjacent or p0 == 0:
        return None
    rest = list(range(n_index_dims, ndim))
    return rest[:p0] + list(range(n_index_dims)) + rest[p0:]


_DIM_RE = re.compile(r"for dimension (\d+)")


def _remap_error(e: IndexError, advs: List[_Adv], op: str = "") -> IndexError:
    """The C core names dims of the permuted view; name the caller's dims
    (and, given `op`, the op: the core's bounds message leaves it out)."""
    def sub(m):
        j = int(m.group(1))
        return f"for dimension {advs[j].src if j < len(advs) else j}"
    message = _DIM_RE.sub(sub, str(e))
    if op and not message.startswith(op + ":"):
        message = f"{op}: {message}"
    return IndexError(message)


def _handles(tensors: list):
    return (c_void_p * len(tensors))(*(t._h for t in tensors))


def _on_device_of(tensors: list, target: Tensor) -> list:
    """Index tensors on target's device: a list, a NumPy array or a cpu
    tensor indexes a device tensor too, as in PyTorch."""
    return [t if t.device == target.device else t.to(target.device) for t in tensors]


def _permute(t: Tensor, order: list) -> Tensor:
    return _call(_C.tf_permute, t._h, (c_int * max(len(order), 1))(*order))


def _advanced_get(op: str, plan: _Plan) -> Tensor:
    shape, idx = _broadcast_indices(op, plan.advs)
    front = _front(plan)
    idx = _on_device_of(idx, front)
    try:
        res = _call(_C.tf_index_get, front._h, len(idx), _handles(idx))
    except IndexError as e:
        raise _remap_error(e, plan.advs) from None
    order = _placement(plan, len(shape), res.ndim)
    return res if order is None else _permute(res, order)


def getitem(self: Tensor, index) -> Tensor:
    """self[index] with NumPy semantics: a view for ints, slices, None and
    Ellipsis; a copy when an index is a tensor, list or array."""
    if self._rg and _grad_state.enabled:
        return _getitem_tracked(self, index)
    t = type(index)
    shape = self.shape
    if t is slice and shape:
        if index.step is None and shape[0] <= _I32_MAX:
            # x[a:b]: the returning form (C ints; slice.indices clamps into
            # [0, size], and raises what the full path would for bad bounds)
            start, stop, _ = index.indices(shape[0])
            h = _slice_r(self._h, start, stop)
            if not h:
                raise _C.returned_error()
            out = _new_tensor(Tensor)
            out._h = h
            return out
        return _slice(self, 0, index)
    if t is int and shape:
        if -shape[0] <= index < shape[0] <= _I32_MAX:
            h = _select_r(self._h, 0, index)
            if not h:
                raise _C.returned_error()
            out = _new_tensor(Tensor)
            out._h = h
            return out
        return _select(self, 0, index, 0, shape[0])
    if t is tuple and _only_ints_and_slices(index, self.ndim):
        return _ints_and_slices(self, index)
    plan = _basic(self, _parse("index", index, self.shape))
    if not plan.advs:
        return plan.view if plan.view is not self else _alias(self)
    return _advanced_get("index", plan)


def _get_items(t: Tensor, items: list) -> Tensor:
    """t[index] for an index already parsed against t's shape."""
    plan = _basic(t, items)
    if not plan.advs:
        return plan.view if plan.view is not t else _alias(t)
    return _advanced_get("index", plan)


def _put_items(t: Tensor, items: list, value, accumulate: bool) -> None:
    """t[index] = value (or +=), no graph, for a parsed index."""
    plan = _basic(t, items)
    if plan.advs:
        _advanced_put(plan, value, accumulate)
    elif accumulate:
        value = _value_tensor("index_put_", value, t)
        if value.dtype is not t.dtype:
            value = _call(_C.tf_to_dtype, value._h, t.dtype.code)
        add(plan.view, value, out=plan.view)
    else:
        _basic_set(plan.view, value)


def _index_tensors(items: list) -> tuple:
    return tuple(i for i in items if isinstance(i, Tensor))


def _getitem_tracked(x: Tensor, index) -> Tensor:
    t = type(index)
    if x.ndim and (t is int or t is slice or (
            t is tuple and _only_ints_and_slices(index, x.ndim))):
        index = index if t is tuple else (index,)
        get = lambda v: _ints_and_slices(v, index)  # noqa: E731
        return linear("index", x, get, embed(get))
    items = _parse("index", index, x.shape)
    return _index_items(x, items)


def _index_items(x: Tensor, items: list) -> Tensor:
    """x[index] for a parsed index, recorded: the gradient puts g back where
    it came from, adding up over repeated indices."""
    def get(v: Tensor) -> Tensor:
        return _get_items(v, items)

    def put(g: Tensor, shape: tuple) -> Tensor:
        z = untracked_zeros(shape, g)
        _put_items(z, items, g, True)
        return z
    return linear("index", x, get, put, _index_tensors(items))


def _only_ints_and_slices(index: tuple, ndim: int) -> bool:
    if not 0 < len(index) <= ndim:
        return False
    for item in index:
        t = type(item)
        if t is not int and t is not slice:
            return False
    return True


def _ints_and_slices(v: Tensor, index: tuple) -> Tensor:
    """The common case of _basic, without parsing: ints and slices only."""
    shape, vd = v.shape, 0
    for sd, item in enumerate(index):
        if type(item) is int:
            v = _select(v, vd, item, sd, shape[sd])
        else:
            v = _slice(v, vd, item)
            vd += 1
    return v


# ---- setitem --------------------------------------------------------------------
def _value_tensor(op: str, value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        return full((), value, dtype=like.dtype, device=like.device)
    try:
        return tensor(value, dtype=like.dtype, device=like.device)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: can assign a Tensor, a Python number or a "
                        f"sequence of numbers, got {type(value).__name__}") from None


def _fit_value(op: str, value: Tensor, shape: tuple) -> Tensor:
    """value broadcast to shape (a view); extra leading size-1 dims drop."""
    extra = value.ndim - len(shape)
    if extra > 0 and all(s == 1 for s in value.shape[:extra]):
        value = value.reshape(value.shape[extra:])
    try:
        return value if value.shape == shape else expand(value, shape)
    except ValueError:
        raise ValueError(f"{op}: shape mismatch: value tensor of shape "
                         f"{value.shape} cannot be broadcast to indexing result "
                         f"of shape {shape}") from None


def _basic_set(view: Tensor, value) -> None:
    if isinstance(value, Tensor):
        value = _fit_value("index_put_", value, view.shape)
        _C.check(_C.tf_copy_(view._h, value._h))  # value must stay alive
        return
    if isinstance(value, (bool, int, float, np.generic)):
        fill_(view, value)
        return
    _basic_set(view, _value_tensor("index_put_", value, view))


def _advanced_put(plan: _Plan, value, accumulate: bool) -> None:
    shape, idx = _broadcast_indices("index_put_", plan.advs)
    front = _front(plan)
    nI = len(shape)
    rest = front.shape[len(idx):]
    result_shape = shape + rest
    order = _placement(plan, nI, nI + len(rest))
    if order is not None:
        result_shape = tuple(result_shape[d] for d in order)
    value = _fit_value("index_put_", _value_tensor("index_put_", value, front),
                       result_shape)
    if order is not None:  # back from NumPy's order to (I..., rest...)
        p0 = plan.advs[0].dim
        n = len(result_shape)
        value = _permute(value, list(range(p0, p0 + nI)) + list(range(p0)) +
                         list(range(p0 + nI, n)))
    idx = _on_device_of(idx, front)
    status = _C.tf_index_put_(front._h, len(idx), _handles(idx), value._h,
                              bool(accumulate))
    if status:
        e = _C.error(status)
        raise (_remap_error(e, plan.advs, "index_put_")
               if isinstance(e, IndexError) else e)


def setitem(self: Tensor, index, value, accumulate: bool = False) -> None:
    """self[index] = value (value broadcast to the indexed shape and
    converted to self's dtype); accumulate adds instead, with repeated
    indices adding up."""
    if _grad_state.enabled and (self._rg or (
            getattr(value, "_rg", False) and self.dtype.is_floating_point)):
        # When self is a view, its base keeps its old graph (see the top).
        write_tracked("index_put_", self,
                      lambda: _index_put_tracked(self, index, value, accumulate))
        return
    t = type(index)
    if not accumulate and self.ndim and (
            t is int or t is slice or
            (t is tuple and _only_ints_and_slices(index, self.ndim))):
        _basic_set(_ints_and_slices(self, index if t is tuple else (index,)),
                   value)
        return
    _put_items(self, _parse("index_put_", index, self.shape), value, accumulate)


def _index_put_tracked(x: Tensor, index, value, accumulate: bool) -> Tensor:
    """index_put out of place, recorded."""
    return _index_put_items(x, _parse("index_put_", index, x.shape), value,
                            accumulate)


def _index_put_items(x: Tensor, items: list, value, accumulate: bool) -> Tensor:
    v = value if isinstance(value, Tensor) else None
    with no_grad():
        out = _call(_C.tf_clone, x._h)
        _put_items(out, items, value, accumulate)
    if needs_grad(x, v) and out.dtype.is_floating_point:
        record("index_put", out, (x, v), _index_put_backward,
               (items, accumulate, x._rg, v is not None and v._rg,
                None if v is None else v.shape,
                None if v is None else v.dtype) + _index_tensors(items))
    return out


def _index_put_backward(g, items, accumulate, want_x, want_v, v_shape,
                        v_dtype, *_):
    gx = gv = None
    if want_x:
        # Written positions took value's place; added ones kept x's.
        gx = g if accumulate else _index_put_items(g, items, 0.0, False)
    if want_v:
        gv = _index_items(g, items)
        extra = len(v_shape) - gv.ndim  # leading size-1 dims value dropped
        gv = sum_to(gv, v_shape[max(extra, 0):])
        if extra > 0:
            gv = gv.reshape(v_shape)
        if gv.dtype is not v_dtype:
            gv = gv.to(v_dtype)
    return gx, gv


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem


@register("index_put_", function=False)
def index_put_(self: Tensor, indices: Sequence[Optional[Tensor]], values,
               accumulate: bool = False) -> Tensor:
    """self[indices] = values (or += with accumulate, repeated indices adding
    up); a None in indices stands for a whole dim."""
    setitem(self, _index_tuple("index_put_", indices), values, accumulate)
    return self


@register("index_put")
def index_put(input: Tensor, indices: Sequence[Optional[Tensor]], values,
              accumulate: bool = False) -> Tensor:
    require_tensor("index_put", input)
    index = _index_tuple("index_put", indices)
    with renamed_errors("index_put", "index_put_"):
        return _index_put_tracked(input, index, values, accumulate)


def _index_tuple(op: str, indices) -> tuple:
    """index_put's indices: a tuple or list with one Tensor (or None, a
    whole dim) per leading dim. A bare Tensor would be iterated row by row
    and read as one index per dim, silently writing elsewhere."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{op}: indices must be a tuple of Tensors, got "
                        f"{type(indices).__name__}; write (index,) for one "
                        "dim")
    return tuple(slice(None) if i is None else i for i in indices)


# ---- gather / scatter / select ----------------------------------------------------
@register("gather")
def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim 1 (and so on)."""
    require_tensor("gather", index, "index")
    require_tensor("gather", input)
    d = c_dim("gather", dim)

    def get(t: Tensor) -> Tensor:
        return _call(_C.tf_gather, t._h, d, index._h)

    def put(g: Tensor, shape: tuple) -> Tensor:
        return _call(_C.tf_scatter_add, untracked_zeros(shape, g)._h, d,
                     index._h, g._h)
    if not needs_grad(input):
        return get(input)
    return linear("gather", input, get, put, (index,))


@register("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of input with src[i][j][k] added at [i][index[i][j][k]][k]
    (dim 1); repeated indices add up in a fixed order."""
    require_tensor("scatter_add", index, "index")
    require_tensor("scatter_add", src, "src")
    dim = c_dim("scatter_add", dim)
    out = _call(_C.tf_scatter_add, require_tensor("scatter_add", input)._h,
                dim, index._h, src._h)
    if needs_grad(input, src) and out.dtype.is_floating_point:
        record("scatter_add", out, (input, src), _scatter_add_backward,
               (index, _norm_dim("scatter_add", dim, out.ndim), input._rg,
                src._rg, src.shape, src.dtype))
    return out


def _scatter_add_backward(g, index, dim, want_input, want_src, src_shape,
                          src_dtype):
    gs = None
    if want_src:
        gs = gather(g, dim, index)
        if gs.shape != src_shape:  # src may be larger than index: unused rest
            widths = []
            for have, need in zip(reversed(gs.shape), reversed(src_shape)):
                widths += [0, need - have]
            gs = pad(gs, widths)
        if gs.dtype is not src_dtype:
            gs = gs.to(src_dtype)
    return (g if want_input else None), gs


@register("scatter_add_", function=False)
def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return overwrite("scatter_add_", self,
                     lambda: scatter_add(self, dim, index, src), src)


@register("index_select")
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """input's entries at the positions in index (1-D or 0-d) along dim."""
    require_tensor("index_select", index, "index")
    require_tensor("index_select", input)
    dim = c_dim("index_select", dim)
    get = index_select_get(dim, index)
    if not needs_grad(input):
        return get(input)
    return linear("index_select", input, get,
                  index_add_put(dim, index), (index,))


@register("take_along_dim")
def take_along_dim(input: Tensor, indices: Tensor,
                   dim: Optional[int] = None) -> Tensor:
    """gather with input and indices broadcast in every dim but dim (over the
    flattened input when dim is None)."""
    require_tensor("take_along_dim", indices, "indices")
    require_tensor("take_along_dim", input)
    if dim is None:
        with renamed_errors("take_along_dim", "gather"):
            return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        raise ValueError(f"take_along_dim: input {input.shape} and indices "
                         f"{indices.shape} must have the same number of dims")
    d = _norm_dim("take_along_dim", dim, input.ndim)
    a = list(input.shape)
    b = list(indices.shape)
    a[d] = b[d] = 1
    common = list(broadcast_shapes(tuple(a), tuple(b)))
    ia = common[:d] + [input.shape[d]] + common[d + 1:]
    ib = common[:d] + [indices.shape[d]] + common[d + 1:]
    with renamed_errors("take_along_dim", "gather"):
        return gather(expand(input, tuple(ia)), d, expand(indices, tuple(ib)))


@register("nonzero")
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The coordinates of the nonzero elements, row-major: an int64
    (count, ndim) tensor, or with as_tuple one 1-D tensor per dim."""
    require_tensor("nonzero", input)
    if not as_tuple:
        return _call(_C.tf_nonzero, input._h)
    return nonzero_coordinates(input)


@register("argwhere")
def argwhere(input: Tensor) -> Tensor:
    return nonzero(require_tensor("argwhere", input))


# ---- masks ----------------------------------------------------------------------------
def _check_mask(op: str, mask, shape: tuple) -> Tensor:
    require_tensor(op, mask, "mask")
    if mask.dtype is not _bool:
        raise TypeError(f"{op}: mask must be a bool tensor, got "
                        f"{mask.dtype.name}")
    try:
        ok = broadcast_shapes(mask.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: mask of shape {mask.shape} cannot be "
                         f"broadcast to the input shape {shape}")
    return mask


@register("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of input with value where mask (broadcast) is true."""
    require_tensor("masked_fill", input)
    _check_mask("masked_fill", mask, input.shape)
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: only supports a 0-d value tensor, "
                             f"got shape {value.shape}")
        if needs_grad(value):  # where() gives value the sum of g under mask
            return where(mask, value.to(input.dtype), input)
        value = value.item()
    elif not isinstance(value, (bool, int, float, np.generic)):
        raise TypeError(f"masked_fill: value must be a number or a 0-d "
                        f"Tensor, got {type(value).__name__}")
    fill = full((), value, dtype=input.dtype, device=input.device)
    out = _call(_C.tf_where, mask._h, fill._h, input._h)
    if needs_grad(input):
        record("masked_fill", out, (input,), _masked_fill_backward, (mask,))
    return out


def _masked_fill_backward(g, mask):
    return (where(mask, untracked_zeros((), g), g),)


@register("masked_fill_", function=False)
def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    return overwrite("masked_fill_", self,
                     lambda: masked_fill(self, mask, value),
                     value if isinstance(value, Tensor) else None)


@register("masked_select")
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of input (broadcast with mask) where mask is true, 1-D."""
    require_tensor("masked_select", input)
    require_tensor("masked_select", mask, "mask")
    if mask.dtype is not _bool:
        raise TypeError(f"masked_select: mask must be a bool tensor, got "
                        f"{mask.dtype.name}")
    try:
        a, m = broadcast_tensors(input, mask)
    except ValueError:
        raise ValueError(f"masked_select: mask of shape {mask.shape} and input "
                         f"of shape {input.shape} cannot be broadcast "
                         "together") from None
    return getitem(a, m) if a.ndim else getitem(a.reshape(1), m.reshape(1))
