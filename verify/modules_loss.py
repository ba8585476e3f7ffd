"""Module entries of the loss modules (tinyfin/nn/modules/loss.py). Their
references are the functional losses' NumPy references (ops_nn_loss.py),
fed the module's options and its weight / pos_weight buffers from the
state_dict."""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from . import ops_nn_loss as R
from .moduledb import ModuleInfo, ModuleSample

TOL = R.TOL
REDUCTIONS = ("none", "mean", "sum")


def _pair(*shape, lo=-3.0, hi=3.0):
    return lambda rng: (rng.uniform(lo, hi, shape), rng.uniform(lo, hi, shape))


def _classes(shape, C, ignore=None):
    def gen(rng):
        t = rng.integers(0, C, size=shape[:1] + shape[2:]).astype(np.int64)
        if ignore is not None:
            t.reshape(-1)[::3] = ignore
            t.reshape(-1)[1] = (ignore + 1) % C   # never every target ignored
        return rng.uniform(-3, 3, shape), t
    return gen


def _logprobs(*shape):
    def gen(rng):
        x = rng.uniform(-3, 3, shape)
        return x - np.log(np.sum(np.exp(x), axis=1, keepdims=True)), \
            rng.integers(0, shape[1], size=shape[:1] + shape[2:]).astype(np.int64)
    return gen


def _probs(rng, shape):
    p = rng.uniform(0.05, 1, shape)
    return p / p.sum(axis=-1, keepdims=True)


def _w(*values):
    return tf.tensor(list(values), dtype=tf.float64)


def _ref(fn, *options, buffers=("weight",)):
    """The reference: fn(*inputs, **the sample's options, **the buffers)."""
    def ref(p, inputs, s, training):
        kw = {k: s.ctor_kwargs.get(k) for k in options if k in s.ctor_kwargs}
        kw.update({b: p[b] for b in buffers if b in p})
        return fn(*inputs, **kw)
    return ref


def _by_reduction(make):
    return lambda: [s for red in REDUCTIONS for s in make(red)]


MODULES = [
    ModuleInfo("MSELoss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_pair(3, 4), desc=red)]),
        reference=_ref(R.ref_mse, "reduction"), tol=TOL, gradgrad=True),
    ModuleInfo("L1Loss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_pair(3, 4), desc=red)]),
        reference=_ref(R.ref_l1, "reduction"), tol=TOL),
    ModuleInfo("HuberLoss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_pair(3, 4), desc=red),
        ModuleSample(ctor_kwargs={"reduction": red, "delta": 0.5}, inputs=_pair(3, 4),
                     desc=f"delta 0.5 {red}")]),
        reference=_ref(R.ref_huber, "reduction", "delta"), tol=TOL),
    ModuleInfo("SmoothL1Loss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_pair(3, 4), desc=red),
        ModuleSample(ctor_kwargs={"reduction": red, "beta": 0.5}, inputs=_pair(3, 4),
                     desc=f"beta 0.5 {red}"),
        ModuleSample(ctor_kwargs={"reduction": red, "beta": 0.0}, inputs=_pair(3, 4),
                     desc=f"beta 0 {red}")]),
        reference=_ref(R.ref_smooth_l1, "reduction", "beta"), tol=TOL),
    ModuleInfo("CrossEntropyLoss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_classes((4, 5), 5), desc=red),
        ModuleSample(ctor_kwargs={"reduction": red, "weight": _w(0.5, 2.0, 1.0, 1.5, 0.25),
                                  "label_smoothing": 0.1},
                     inputs=_classes((4, 5), 5, ignore=-100),
                     desc=f"weight, label_smoothing, ignored {red}"),
        ModuleSample(ctor_kwargs={"reduction": red, "ignore_index": 1},
                     inputs=_classes((2, 3, 2), 3, ignore=1), desc=f"(N, C, d), ignore_index 1 {red}"),
        ModuleSample(ctor_kwargs={"reduction": red},
                     inputs=lambda rng: (rng.uniform(-3, 3, (3, 4)), _probs(rng, (3, 4))),
                     desc=f"probability targets {red}")]),
        reference=_ref(R.ref_cross_entropy, "reduction", "ignore_index", "label_smoothing"),
        tol=R.FUSED_TOL, gradgrad=True),
    ModuleInfo("NLLLoss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_logprobs(4, 3), desc=red),
        ModuleSample(ctor_kwargs={"reduction": red, "weight": _w(0.5, 2.0, 1.0),
                                  "ignore_index": 2},
                     inputs=_logprobs(2, 3, 2), desc=f"(N, C, d), weight, ignore_index 2 {red}")]),
        reference=_ref(R.ref_nll_loss, "reduction", "ignore_index"), tol=TOL),
    ModuleInfo("BCELoss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red}, inputs=_pair(3, 4, lo=0.05, hi=0.95), desc=red),
        ModuleSample(ctor_kwargs={"reduction": red, "weight": _w(0.5, 2.0, 1.0, 1.5)},
                     inputs=_pair(3, 4, lo=0.05, hi=0.95), desc=f"weight {red}")]),
        reference=_ref(R.ref_bce, "reduction"), tol=TOL, gradgrad=True),
    ModuleInfo("BCEWithLogitsLoss", samples=_by_reduction(lambda red: [
        ModuleSample(ctor_kwargs={"reduction": red},
                     inputs=lambda rng: (rng.uniform(-4, 4, (3, 4)), rng.uniform(0, 1, (3, 4))),
                     desc=red),
        ModuleSample(ctor_kwargs={"reduction": red, "weight": _w(0.5, 2.0, 1.0, 1.5),
                                  "pos_weight": _w(3.0, 0.5, 1.0, 2.0)},
                     inputs=lambda rng: (rng.uniform(-4, 4, (3, 4)), rng.uniform(0, 1, (3, 4))),
                     desc=f"weight, pos_weight {red}")]),
        reference=_ref(R.ref_bce_logits, "reduction", buffers=("weight", "pos_weight")),
        tol=R.FUSED_TOL, gradgrad=True),
    ModuleInfo("KLDivLoss", samples=lambda: [
        ModuleSample(ctor_kwargs={"reduction": red, "log_target": lt},
                     inputs=lambda rng, lt=lt: (np.log(_probs(rng, (3, 4))),
                                                np.log(_probs(rng, (3, 4))) if lt
                                                else _probs(rng, (3, 4))),
                     desc=f"{red} log_target={lt}")
        for red in ("none", "sum", "batchmean") for lt in (False, True)],
        reference=_ref(R.ref_kl_div, "reduction", "log_target"), tol=TOL),
]
