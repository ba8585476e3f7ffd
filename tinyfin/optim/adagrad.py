"""Adagrad (Duchi, Hazan & Singer, 2011) with lr decay, weight decay, an
initial accumulator value and maximize, PyTorch 2's rule
(torch/optim/adagrad.py, _single_tensor_adagrad), per parameter at step t
(state['step'], counted from 1):

    g = -grad if maximize else grad
    g = g + weight_decay * p                       (weight_decay != 0)
    clr = lr / (1 + (t - 1) * lr_decay)            (a Python double)
    s = s + g * g                                  state['sum'], starting at
                                                   initial_accumulator_value
    p = p - clr * g / (sqrt(s) + eps)

As in PyTorch, the state of every parameter is created by the constructor.
One fused C call per parameter (tf_adagrad_step).
"""
from __future__ import annotations

from .. import _C
from ._common import (as_scalar, check_flags, check_number, fail, full_like,
                      new_step)
from .optimizer import Optimizer, serialized

__all__ = ["Adagrad"]

_adagrad_step = _C.tf_adagrad_step


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *,
                 maximize=False, differentiable=False, fused=None) -> None:
        for name, value in (("lr", lr), ("lr_decay", lr_decay),
                            ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value),
                            ("eps", eps)):
            check_number("Adagrad", name, value)
        if not 0.0 <= as_scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_flags("Adagrad", foreach, fused, differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                    "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group) -> None:
        st = self.state[p]
        st["step"] = new_step()
        st["sum"] = full_like(p, float(group["initial_accumulator_value"]))

    # options older PyTorch state_dicts lack, filled in on load (__setstate__)
    _late_options = {"foreach": None, "maximize": False, "differentiable": False,
                     "fused": None}

    @serialized
    def step(self, closure=None):
        """One Adagrad step over every parameter with a grad; returns the
        closure's loss (None without a closure)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = as_scalar(group["lr"])
            lr_decay = group["lr_decay"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            maximize = bool(group["maximize"])
            for p, g, st in self._with_grads(group):
                created = ()
                if "sum" not in st:
                    # a group added after construction (PyTorch would fail)
                    self._init_state(p, group)
                    created = ("step", "sum")
                status = _adagrad_step(p._h, g._h, st["sum"]._h, st["step"]._h, lr,
                                       lr_decay, weight_decay, eps, maximize)
                if status:
                    fail(status, st, created)
        return loss
