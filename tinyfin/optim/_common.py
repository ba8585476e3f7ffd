"""What the optimizers share: option reading and checks, lazily created
state buffers, and the step loop's call of a fused C kernel.

Every optimizer's step() runs one C call per parameter with a gradient
(native/src/ops/optim.c); these helpers keep that loop lean: the options
are read from the group once per step, Tensor-valued options (a 1-element
lr, as PyTorch allows) become floats, and a state buffer created for a
step that then fails is removed again, so a failed step leaves the state
as it was.
"""
from __future__ import annotations

import numbers

from .. import _C
from ..creation import empty_like, full_like, zeros_like
from ..creation import tensor as _tensor
from ..dtypes import float32
from ..tensor import Tensor

__all__ = ["as_scalar", "check_flags", "new_step", "zeros_like", "full_like",
           "empty_like", "fail", "check_number", "steps_as_tensors"]


def as_scalar(value):
    """A float for a Tensor-valued option (lr=tensor(0.01)), else value."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        return float(value.item())
    return value


def check_number(cls: str, name: str, value) -> None:
    """The option is a real number (PyTorch would fail comparing it)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a float, got "
                        f"{type(value).__name__} ({value!r})")


def check_flags(cls: str, foreach, fused, differentiable, capturable=False) -> None:
    """foreach and fused are accepted for PyTorch compatibility and change
    nothing (every step is one fused C kernel per parameter, which is
    PyTorch's single-tensor rule); differentiable and capturable have no
    meaning here."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if differentiable:
        raise ValueError(f"{cls}: differentiable=True is not supported: the fused "
                         "C step records no autograd graph")
    if capturable:
        raise ValueError(f"{cls}: capturable=True (CUDA graph capture) is not "
                         "supported")


def new_step(value: float = 0.0) -> Tensor:
    """state['step'] as PyTorch keeps it: a 0-d float32 tensor."""
    return _tensor(float(value), dtype=float32)


def steps_as_tensors(opt) -> None:
    """A state_dict from an older PyTorch keeps 'step' as a number:
    PyTorch's __setstate__ makes it a float32 tensor, and so does this."""
    for st in opt.state.values():
        if isinstance(st, dict) and "step" in st and not isinstance(st["step"], Tensor):
            st["step"] = new_step(st["step"])


def fail(status: int, state: dict, created) -> None:
    """Raise the C error of a failed step, first removing the state entries
    this step created (the kernel wrote nothing)."""
    for key in created:
        state.pop(key, None)
    raise _C.error(status)
