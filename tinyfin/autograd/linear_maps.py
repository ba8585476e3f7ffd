"""Gradients of the ops that only pick elements (slices, selections, unbind,
gather, index_select, basic and advanced indexing, pad's reflect and
replicate modes): each is a linear map `get`, whose adjoint `put` scatters
(adds) the gradient into zeros of the input's shape.

`linear` records such a pair so that each one is the other's gradient:
derivatives of any order come out without an untracked in-place write on
the way. shape.py and indexing.py both build their gradients from these
pieces, so they live here, below both.
"""
from __future__ import annotations

from ctypes import c_int, c_void_p
from typing import Callable

from .. import _C
from .._args import SCALAR_INT
from ..tensor import Tensor, _call
from .grad_mode import no_grad
from .graph import needs_grad, record


def linear(name: str, x: Tensor, get: Callable, put: Callable,
           saved: tuple = ()) -> Tensor:
    """get(x), where get picks elements of x with raw C calls (no graph);
    put(g, shape) is its adjoint: g scattered (added) into zeros of shape.
    `saved` lists tensors the two read (index tensors), so an in-place
    change to them is caught at backward time."""
    out = get(x)
    if needs_grad(x):
        shape = x.shape
        record(name, out, (x,),
               lambda g, *_: (adjoint(name, g, shape, get, put, saved),), saved)
    return out


def adjoint(name: str, g: Tensor, shape: tuple, get: Callable, put: Callable,
            saved: tuple) -> Tensor:
    """put(g, shape), recorded with get as its gradient (see `linear`)."""
    with no_grad():
        out = put(g, shape)
    if needs_grad(g):
        record(name + "_backward", out, (g,),
               lambda gg, *_: (linear(name, gg, get, put, saved),), saved)
    return out


def untracked_zeros(shape: tuple, like: Tensor) -> Tensor:
    """Zeros in like's dtype on like's device, made by the core directly: no
    argument checks, no graph (what an adjoint scatters into)."""
    return _call(_C.tf_full, len(shape), _C.shape_array(shape), like.dtype.code,
                 0.0, 0, SCALAR_INT, _C.tf_tensor_device(like._h))


def embed(get: Callable) -> Callable:
    """The adjoint of a view: g copied into that view of zeros (views of
    basic indexing never overlap, so a copy is the adjoint)."""
    def put(g: Tensor, shape: tuple) -> Tensor:
        z = untracked_zeros(shape, g)
        view = get(z)  # held: its handle must outlive the copy
        _C.check(_C.tf_copy_(view._h, g._h))
        return z
    return put


def view_grad(name: str, x: Tensor, get: Callable) -> Tensor:
    """get(x), a view that picks elements, recorded with its adjoint."""
    if not needs_grad(x):
        return get(x)
    return linear(name, x, get, embed(get))


def index_select_get(dim: int, index: Tensor) -> Callable:
    """index_select along dim at index, as a `get`."""
    return lambda t: _call(_C.tf_index_select, t._h, dim, index._h)


def index_add_put(dim: int, index: Tensor) -> Callable:
    """The adjoint of index_select along dim: g added at the rows of index
    into zeros (repeated indices add up)."""
    def put(g: Tensor, shape: tuple) -> Tensor:
        z = untracked_zeros(shape, g)
        idx = index if index.ndim else _call(
            _C.tf_reshape, index._h, 1, _C.shape_array((1,)))
        if not shape:  # a 0-d input: index_select saw it as one element
            zf = _call(_C.tf_reshape, z._h, 1, _C.shape_array((1,)))
            gf = _call(_C.tf_reshape, g._h, 1, _C.shape_array((g.numel(),)))
        else:
            d = dim % len(shape)
            order = [d] + [i for i in range(len(shape)) if i != d]
            perm = (c_int * len(order))(*order)
            zf = _call(_C.tf_permute, z._h, perm)
            gf = _call(_C.tf_permute, g._h, perm)
        handles = (c_void_p * 1)(idx._h)
        _C.check(_C.tf_index_put_(zf._h, 1, handles, gf._h, True))
        return z
    return put
