"""Adam (Kingma & Ba, 2015) with L2 weight decay, amsgrad and maximize,
PyTorch 2's rule (torch/optim/adam.py, _single_tensor_adam), per
parameter at step t (state['step'], counted from 1):

    g = -grad if maximize else grad
    g = g + weight_decay * p          (or p = p * (1 - lr * weight_decay)
                                       with decoupled_weight_decay: AdamW)
    m = lerp(m, g, 1 - beta1)                      state['exp_avg']
    v = beta2 * v + (1 - beta2) * g * g            state['exp_avg_sq']
    v_max = max(v_max, v); use v_max for v         (amsgrad: 'max_exp_avg_sq')
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

with the bias corrections computed in Python doubles as PyTorch does. One
fused C call per parameter (tf_adam_step), which also advances 'step'.
"""
from __future__ import annotations

from .. import _C
from ._common import (as_scalar, check_flags, check_number, fail, new_step,
                      zeros_like)
from .optimizer import Optimizer, serialized

__all__ = ["Adam"]

_adam_step = _C.tf_adam_step


def _check_options(cls, lr, betas, eps, weight_decay) -> tuple:
    check_number(cls, "lr", lr)
    check_number(cls, "eps", eps)
    check_number(cls, "weight_decay", weight_decay)
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"{cls}: betas must be a pair of floats, got {betas!r}") from None
    check_number(cls, "betas[0]", beta1)
    check_number(cls, "betas[1]", beta2)
    if not 0.0 <= as_scalar(lr):
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= as_scalar(beta1) < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= as_scalar(beta2) < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    return (as_scalar(beta1), as_scalar(beta2))


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0, amsgrad=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False) -> None:
        betas = _check_options(type(self).__name__, lr, betas, eps, weight_decay)
        check_flags(type(self).__name__, foreach, fused, differentiable, capturable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable,
                    "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    # options older PyTorch state_dicts lack, filled in on load (__setstate__)
    _late_options = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                     "differentiable": False, "decoupled_weight_decay": False, "fused": None}

    @serialized
    def step(self, closure=None):
        """One Adam step over every parameter with a grad; returns the
        closure's loss (None without a closure)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = as_scalar(group["lr"])
            beta1, beta2 = group["betas"]
            beta1, beta2 = as_scalar(beta1), as_scalar(beta2)
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = bool(group["amsgrad"])
            maximize = bool(group["maximize"])
            decoupled = bool(group["decoupled_weight_decay"])
            for p, g, st in self._with_grads(group):
                created = ()
                if len(st) == 0:
                    st["step"] = new_step()
                    st["exp_avg"] = zeros_like(p)
                    st["exp_avg_sq"] = zeros_like(p)
                    created = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                    if amsgrad:
                        st["max_exp_avg_sq"] = zeros_like(p)
                vmax = st["max_exp_avg_sq"]._h if amsgrad else None
                status = _adam_step(p._h, g._h, st["exp_avg"]._h, st["exp_avg_sq"]._h,
                                    vmax, st["step"]._h, lr, beta1, beta2, eps,
                                    weight_decay, decoupled, maximize)
                if status:
                    fail(status, st, created)
        return loss

