"""The coordinates of a tensor's nonzero elements, one 1-D int64 tensor per
dim: what nonzero(as_tuple=True) and where(condition) return, and what a
bool mask index becomes. elementwise.py (where) and indexing.py (nonzero,
masks) both need it, and indexing.py builds on elementwise.py, so it lives
below both."""
from __future__ import annotations

from . import _C
from .tensor import Tensor, _call


def nonzero_coordinates(t: Tensor) -> tuple:
    """One int64 tensor per dim of t (a 0-d t counts as 1-d), listing the
    coordinates of its nonzero elements in row-major order."""
    flat = t if t.ndim else _call(_C.tf_reshape, t._h, 1, _C.shape_array((1,)))
    coords = _call(_C.tf_nonzero, flat._h)
    return tuple(_call(_C.tf_select, coords._h, 1, j) for j in range(flat.ndim))
