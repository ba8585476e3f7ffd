"""Writes into an existing tensor (out=, the in-place `op_` methods, copy_,
setitem, index_put_, the masked, scatter and triangle in-place forms) when
autograd is involved: the result is computed out of place and recorded, then
copied into the target, which takes over the result's graph (graph.py's
check_inplace, preserve_saved and rebase_history do the graph's part).

Every op module that writes in place comes through here, so the rule is
written once: a leaf that requires grad refuses the write, saved tensors
sharing the target's storage are copied first, and a floating result never
goes silently into an integer target.
"""
from __future__ import annotations

from typing import Callable

from .. import _C
from ..tensor import Tensor
from .grad_mode import no_grad
from .graph import check_inplace, needs_grad, preserve_saved, rebase_history


def write_tracked(op: str, target: Tensor, compute: Callable[[], Tensor]) -> Tensor:
    """out= or in-place write where autograd is involved: compute the result
    out of place (recorded), check the dtype rule, copy it into target and
    give target the result's graph."""
    check_inplace(target, op)
    result = compute()
    preserve_saved(result.grad_fn, target)
    if result.dtype.is_floating_point and not target.dtype.is_floating_point:
        raise TypeError(f"{op}: result type {result.dtype.name} can't be cast "
                        f"to the desired output type {target.dtype.name}")
    with no_grad():
        _C.check(_C.tf_copy_(target._h, result._h))
    rebase_history(target, result)
    return target


def overwrite(op: str, target: Tensor, compute: Callable[[], Tensor], *others) -> Tensor:
    """target overwritten with compute(), an op of target and `others`:
    tracked when autograd is involved (an error on a leaf that requires
    grad, as in PyTorch), else a plain copy."""
    if needs_grad(target, *others):
        return write_tracked(op, target, compute)
    result = compute()  # held: its handle must outlive the copy
    _C.check(_C.tf_copy_(target._h, result._h))
    return target
