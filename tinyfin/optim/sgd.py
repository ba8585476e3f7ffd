"""SGD: stochastic gradient descent, with momentum (plain or Nesterov),
dampening, weight decay and maximize, PyTorch 2's rule
(torch/optim/sgd.py, _single_tensor_sgd), per parameter:

    g = -grad if maximize else grad
    g = g + weight_decay * p                       (weight_decay != 0)
    b = g (first step) else momentum * b + (1 - dampening) * g
    g = g + momentum * b if nesterov else b        (momentum != 0)
    p = p - lr * g

state['momentum_buffer'] holds b (only when momentum != 0). One fused C
call per parameter (tf_sgd_step).
"""
from __future__ import annotations

from .. import _C
from ._common import as_scalar, check_flags, check_number, empty_like, fail
from .optimizer import Optimizer, serialized

__all__ = ["SGD"]

_sgd_step = _C.tf_sgd_step


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None,
                 differentiable=False, fused=None) -> None:
        for name, value in (("lr", lr), ("momentum", momentum),
                            ("dampening", dampening), ("weight_decay", weight_decay)):
            check_number("SGD", name, value)
        if as_scalar(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        check_flags("SGD", foreach, fused, differentiable)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov,
                    "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    # options older PyTorch state_dicts lack, filled in on load (__setstate__)
    _late_options = {"nesterov": False, "maximize": False, "foreach": None,
                     "differentiable": False, "fused": False}

    @serialized
    def step(self, closure=None):
        """One SGD step over every parameter with a grad; returns the
        closure's loss (None without a closure)."""
        loss = self._closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            lr = as_scalar(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = bool(group["nesterov"])
            maximize = bool(group["maximize"])
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if momentum != 0:
                    st = state[p]
                    buf = st.get("momentum_buffer")
                    init = buf is None
                    if init:
                        buf = st["momentum_buffer"] = empty_like(p)
                    status = _sgd_step(p._h, g._h, buf._h, init, lr, momentum,
                                       dampening, weight_decay, nesterov, maximize)
                    if status:
                        fail(status, st, ("momentum_buffer",) if init else ())
                else:
                    status = _sgd_step(p._h, g._h, None, False, lr, momentum,
                                       dampening, weight_decay, nesterov, maximize)
                    if status:
                        raise _C.error(status)
        return loss
