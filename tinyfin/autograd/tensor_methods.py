"""The autograd methods of Tensor: backward, retain_grad, register_hook,
requires_grad_, detach_, and the is_leaf / retains_grad properties."""
from __future__ import annotations

import weakref
from typing import Optional

from ..tensor import Tensor
from .differentiate import backward
from .graph import RemovableHandle


def _tensor_backward(self: Tensor, gradient: Optional[Tensor] = None,
                     retain_graph: Optional[bool] = None,
                     create_graph: bool = False, inputs=None) -> None:
    if gradient is not None and not isinstance(gradient, Tensor):
        raise TypeError(f"backward: gradient must be a Tensor or None, got "
                        f"{type(gradient).__name__}")
    backward(self, gradient, retain_graph, create_graph, inputs)


def _retain_grad(self: Tensor) -> None:
    if not self.requires_grad:
        raise RuntimeError("retain_grad: can't retain_grad on a tensor that "
                           "doesn't require grad")
    if self.grad_fn is not None:
        self.grad_fn.retain_ref = weakref.ref(self)


def _register_hook(self: Tensor, hook) -> RemovableHandle:
    """hook(grad) runs when the gradient of this tensor is computed; it may
    return a replacement gradient."""
    if not self.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor "
                           "that doesn't require gradient")
    if self.grad_fn is not None:
        if self.grad_fn.hooks is None:
            self.grad_fn.hooks = []
        hooks = self.grad_fn.hooks
    else:
        if self._hooks is None:
            self._hooks = []
        hooks = self._hooks
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def _requires_grad_(self: Tensor, requires_grad: bool = True) -> Tensor:
    if self.grad_fn is not None and not requires_grad:
        raise RuntimeError("requires_grad_: you can only change requires_grad "
                           "flags of leaf variables; use detach() for a "
                           "non-leaf")
    if requires_grad and not self.dtype.is_floating_point:
        raise RuntimeError(f"requires_grad_: only tensors of floating point "
                           f"dtype can require gradients, got {self.dtype.name}")
    self._rg = bool(requires_grad)
    return self


def _detach_(self: Tensor) -> Tensor:
    self.grad_fn = None
    self._rg = False
    return self


Tensor.backward = _tensor_backward
Tensor.retain_grad = _retain_grad
Tensor.register_hook = _register_hook
Tensor.requires_grad_ = _requires_grad_
Tensor.detach_ = _detach_
Tensor.is_leaf = property(lambda self: self.grad_fn is None)
Tensor.retains_grad = property(
    lambda self: self.grad_fn is not None and self.grad_fn.retain_ref is not None)
