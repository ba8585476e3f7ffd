"""The optimizer database's entries (verify/optimdb.py): every optimizer of
tinyfin.optim, its option sets, and an independent NumPy float64 reference
of one step.

The references are written from the algorithms as published and as
PyTorch's documentation gives them in pseudo-code (torch.optim's class
docs), in their plain mathematical form: Adam's bias-corrected moments
m_hat = m / (1 - beta1^t) and v_hat = v / (1 - beta2^t), not PyTorch's
rearranged step_size / bias_correction2_sqrt; RMSprop's v - g_avg^2; and so
on. They share nothing with the C kernels, so an error in a kernel's
formula shows up as a disagreement far above rounding.
"""
from __future__ import annotations

import itertools

import numpy as np

from .optimdb import OptimizerInfo, OptimSample


def _grad(g, p, kw):
    """maximize and L2 weight decay, as every pseudo-code opens."""
    g = -g if kw["maximize"] else g
    if kw["weight_decay"] != 0:
        g = g + kw["weight_decay"] * p
    return g


# ---- SGD ---------------------------------------------------------------------
def sgd_ref(p, g, state, kw):
    g = _grad(g, p, kw)
    mu = kw["momentum"]
    if mu != 0:
        if "b" not in state:
            state["b"] = g.copy()
        else:
            state["b"] = mu * state["b"] + (1 - kw["dampening"]) * g
        g = g + mu * state["b"] if kw["nesterov"] else state["b"]
    p -= kw["lr"] * g


def sgd_samples():
    out = [OptimSample({"lr": 0.05}, "plain"),
           OptimSample({"lr": 0.05, "maximize": True}, "maximize"),
           OptimSample({"lr": 0.05, "weight_decay": 0.1}, "weight_decay")]
    for wd, damp, nest, mx in itertools.product((0, 0.05), (0, 0.3), (False, True), (False, True)):
        if nest and damp:
            continue
        out.append(OptimSample({"lr": 0.05, "momentum": 0.9, "weight_decay": wd,
                                "dampening": damp, "nesterov": nest, "maximize": mx},
                               f"momentum wd={wd} dampening={damp} nesterov={nest} "
                               f"maximize={mx}"))
    return out


# ---- Adam / AdamW ---------------------------------------------------------------
def adam_ref(p, g, state, kw, decoupled=False):
    g = -g if kw["maximize"] else g
    lr, wd = kw["lr"], kw["weight_decay"]
    beta1, beta2 = kw["betas"]
    if decoupled:
        p *= 1 - lr * wd
    elif wd != 0:
        g = g + wd * p
    if not state:
        state.update(t=0, m=np.zeros_like(p), v=np.zeros_like(p), vmax=np.zeros_like(p))
    state["t"] += 1
    t = state["t"]
    state["m"] = beta1 * state["m"] + (1 - beta1) * g
    state["v"] = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = state["m"] / (1 - beta1 ** t)
    if kw["amsgrad"]:
        state["vmax"] = np.maximum(state["vmax"], state["v"])
        v_hat = state["vmax"] / (1 - beta2 ** t)
    else:
        v_hat = state["v"] / (1 - beta2 ** t)
    p -= lr * m_hat / (np.sqrt(v_hat) + kw["eps"])


def adamw_ref(p, g, state, kw):
    adam_ref(p, g, state, kw, decoupled=True)


def adam_samples(wd=0.1):
    out = []
    for wdv, ams, mx in itertools.product((0, wd), (False, True), (False, True)):
        out.append(OptimSample({"lr": 0.01, "weight_decay": wdv, "amsgrad": ams,
                                "maximize": mx},
                               f"weight_decay={wdv} amsgrad={ams} maximize={mx}"))
    out.append(OptimSample({"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-3},
                           "betas=(0.5, 0.9) eps=1e-3"))
    out.append(OptimSample({"lr": 0.02, "betas": (0.3, 0.6), "eps": 1e-6, "amsgrad": True},
                           "betas=(0.3, 0.6) (lerp's large-weight branch) amsgrad"))
    return out


# ---- RMSprop --------------------------------------------------------------------
def rmsprop_ref(p, g, state, kw):
    g = _grad(g, p, kw)
    a = kw["alpha"]
    if not state:
        state.update(v=np.zeros_like(p), gavg=np.zeros_like(p), b=np.zeros_like(p))
    state["v"] = a * state["v"] + (1 - a) * g * g
    v = state["v"]
    if kw["centered"]:
        state["gavg"] = a * state["gavg"] + (1 - a) * g
        v = v - state["gavg"] ** 2
    if kw["momentum"] > 0:
        state["b"] = kw["momentum"] * state["b"] + g / (np.sqrt(v) + kw["eps"])
        p -= kw["lr"] * state["b"]
    else:
        p -= kw["lr"] * g / (np.sqrt(v) + kw["eps"])


def rmsprop_samples():
    out = []
    for cen, mom, wd, mx in itertools.product((False, True), (0, 0.9), (0, 0.1), (False, True)):
        out.append(OptimSample({"lr": 0.01, "centered": cen, "momentum": mom,
                                "weight_decay": wd, "maximize": mx},
                               f"centered={cen} momentum={mom} weight_decay={wd} "
                               f"maximize={mx}"))
    out.append(OptimSample({"lr": 0.01, "alpha": 0.5, "eps": 1e-4, "centered": True},
                           "alpha=0.5 eps=1e-4 centered"))
    return out


# ---- Adagrad --------------------------------------------------------------------
def adagrad_ref(p, g, state, kw):
    g = _grad(g, p, kw)
    if not state:
        state.update(t=0, s=np.full_like(p, kw["initial_accumulator_value"]))
    state["t"] += 1
    clr = kw["lr"] / (1 + (state["t"] - 1) * kw["lr_decay"])
    state["s"] = state["s"] + g * g
    p -= clr * g / (np.sqrt(state["s"]) + kw["eps"])


def adagrad_samples():
    out = []
    for decay, wd, init, mx in itertools.product((0, 0.1), (0, 0.1), (0, 0.5), (False, True)):
        out.append(OptimSample({"lr": 0.05, "lr_decay": decay, "weight_decay": wd,
                                "initial_accumulator_value": init, "maximize": mx},
                               f"lr_decay={decay} weight_decay={wd} "
                               f"initial_accumulator_value={init} maximize={mx}"))
    out.append(OptimSample({"lr": 0.05, "eps": 1e-3}, "eps=1e-3"))
    return out


_ADAM_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                  "amsgrad": False, "maximize": False}

OPTIMIZERS = [
    OptimizerInfo(
        "SGD", sgd_samples, sgd_ref,
        defaults={"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0,
                  "nesterov": False, "maximize": False},
        state_keys=lambda kw: ("momentum_buffer",) if kw.get("momentum", 0) else ()),
    OptimizerInfo(
        "Adam", adam_samples, adam_ref, defaults=dict(_ADAM_DEFAULTS),
        state_keys=lambda kw: ("step", "exp_avg", "exp_avg_sq")
        + (("max_exp_avg_sq",) if kw.get("amsgrad") else ())),
    OptimizerInfo(
        "AdamW", lambda: adam_samples(wd=0.05), adamw_ref,
        defaults={**_ADAM_DEFAULTS, "weight_decay": 1e-2},
        state_keys=lambda kw: ("step", "exp_avg", "exp_avg_sq")
        + (("max_exp_avg_sq",) if kw.get("amsgrad") else ())),
    OptimizerInfo(
        "RMSprop", rmsprop_samples, rmsprop_ref,
        defaults={"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0,
                  "centered": False, "maximize": False},
        state_keys=lambda kw: ("step", "square_avg")
        + (("momentum_buffer",) if kw.get("momentum", 0) > 0 else ())
        + (("grad_avg",) if kw.get("centered") else ())),
    OptimizerInfo(
        "Adagrad", adagrad_samples, adagrad_ref,
        defaults={"lr": 1e-2, "lr_decay": 0, "weight_decay": 0,
                  "initial_accumulator_value": 0, "eps": 1e-10, "maximize": False},
        state_keys=lambda kw: ("step", "sum")),
]
