"""nn.Parameter: a Tensor that a Module registers as one of its weights."""
from __future__ import annotations

from typing import Optional

from .. import _C
from ..creation import empty
from ..tensor import Handle, Tensor, _new_tensor, require_tensor

_retain = _C.fast.tf_tensor_retain


class Parameter(Tensor):
    """A Tensor subclass that shares `data`'s storage (as PyTorch's does) and
    requires grad by default. Assigning one to a Module attribute registers
    it; the ops treat it as any Tensor and return plain Tensors."""

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        require_tensor("Parameter", data, "data")
        p = _new_tensor(cls)
        _retain(data._h)
        p._h = Handle(data._h.value)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Optional[Tensor] = None, requires_grad: bool = True) -> None:
        pass  # everything happened in __new__ (Tensor.__init__ refuses)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        return (Parameter, (self.detach(), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = copy
        return copy
