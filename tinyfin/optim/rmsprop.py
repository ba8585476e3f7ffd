"""RMSprop (Hinton's lecture 6e; centered: Graves, 2013) with momentum,
weight decay and maximize, PyTorch 2's rule (torch/optim/rmsprop.py,
_single_tensor_rmsprop), per parameter:

    g = -grad if maximize else grad
    g = g + weight_decay * p                       (weight_decay != 0)
    s = alpha * s + (1 - alpha) * g * g            state['square_avg']
    centered: a = lerp(a, g, 1 - alpha)            state['grad_avg']
              avg = sqrt(s - a * a) + eps
    else:     avg = sqrt(s) + eps
    momentum > 0: b = momentum * b + g / avg;  p = p - lr * b
                                                   state['momentum_buffer']
    else:         p = p - lr * g / avg

state['step'] counts the steps (PyTorch keeps it though the rule does not
use it). One fused C call per parameter (tf_rmsprop_step).
"""
from __future__ import annotations

from .. import _C
from ._common import (as_scalar, check_flags, check_number, fail, new_step,
                      zeros_like)
from .optimizer import Optimizer, serialized

__all__ = ["RMSprop"]

_rmsprop_step = _C.tf_rmsprop_step


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0,
                 momentum=0, centered=False, capturable=False, foreach=None,
                 maximize=False, differentiable=False) -> None:
        for name, value in (("lr", lr), ("alpha", alpha), ("eps", eps),
                            ("weight_decay", weight_decay), ("momentum", momentum)):
            check_number("RMSprop", name, value)
        if not 0.0 <= as_scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        check_flags("RMSprop", foreach, None, differentiable, capturable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    # options older PyTorch state_dicts lack, filled in on load (__setstate__)
    _late_options = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                     "differentiable": False, "capturable": False}

    @serialized
    def step(self, closure=None):
        """One RMSprop step over every parameter with a grad; returns the
        closure's loss (None without a closure)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = as_scalar(group["lr"])
            alpha = group["alpha"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            momentum = group["momentum"]
            centered = bool(group["centered"])
            maximize = bool(group["maximize"])
            for p, g, st in self._with_grads(group):
                created = ()
                if len(st) == 0:
                    st["step"] = new_step()
                    st["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        st["momentum_buffer"] = zeros_like(p)
                    if centered:
                        st["grad_avg"] = zeros_like(p)
                    created = ("step", "square_avg", "momentum_buffer", "grad_avg")
                ga = st["grad_avg"]._h if centered else None
                buf = st["momentum_buffer"]._h if momentum > 0 else None
                status = _rmsprop_step(p._h, g._h, st["square_avg"]._h, ga, buf,
                                       st["step"]._h, lr, alpha, eps, weight_decay,
                                       momentum, maximize)
                if status:
                    fail(status, st, created)
        return loss
