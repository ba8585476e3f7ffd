"""Module entries of BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm.

The references are NumPy float64 from the definitions. BatchNorm's also
returns the buffers after a training forward: num_batches_tracked + 1, and
running_mean / running_var moved towards the batch's mean and unbiased
variance by momentum, or by 1 / num_batches_tracked when momentum is None.
"""
from __future__ import annotations

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .opdb import Tol

TOL = {"float32": Tol(rtol=2e-6, atol=1e-6), "float64": Tol(rtol=1e-11, atol=1e-12)}


def _normal(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _shifted(*shape):
    """Channels of different means and scales, so that the statistics matter."""
    def make(rng):
        c = shape[1]
        loc = np.arange(c, dtype=np.float64).reshape((1, c) + (1,) * (len(shape) - 2))
        return (loc + (1 + loc) * rng.standard_normal(shape),)
    return make


def _opt(s, name, default):
    """A constructor option of a sample: by keyword, else positional (the
    order of PyTorch's signature), else the default."""
    order = {"eps": 1, "momentum": 2, "affine": 3, "track_running_stats": 4}
    if name in s.ctor_kwargs:
        return s.ctor_kwargs[name]
    i = order.get(name)
    return s.ctor_args[i] if i is not None and len(s.ctor_args) > i else default


def _affine(out, p, shape):
    if "weight" in p:
        out = out * p["weight"].reshape(shape)
    if "bias" in p:
        out = out + p["bias"].reshape(shape)
    return out


def _bn_ref(p, inputs, s, training):
    x, = inputs
    eps, momentum = _opt(s, "eps", 1e-5), _opt(s, "momentum", 0.1)
    axes = (0,) + tuple(range(2, x.ndim))
    cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    tracked = "running_mean" in p
    if training or not tracked:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = p["running_mean"], p["running_var"]
    out = _affine((x - mean.reshape(cshape)) / np.sqrt(var.reshape(cshape) + eps), p, cshape)
    if not training:
        return out
    if not tracked:
        return out, {}
    count = p["num_batches_tracked"] + 1
    factor = 1.0 / count if momentum is None else momentum
    unbiased = x.var(axis=axes, ddof=1)
    return out, {"running_mean": (1 - factor) * p["running_mean"] + factor * mean,
                 "running_var": (1 - factor) * p["running_var"] + factor * unbiased,
                 "num_batches_tracked": count}


def _ln_ref(p, inputs, s, training):
    x, = inputs
    shape = s.ctor_args[0]
    k = 1 if isinstance(shape, int) else len(shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    eps = _opt(s, "eps", 1e-5)
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if "weight" in p:
        out = out * p["weight"]
    if "bias" in p:
        out = out + p["bias"]
    return out


def _gn_ref(p, inputs, s, training):
    x, = inputs
    groups = s.ctor_args[0]
    eps = s.ctor_kwargs.get("eps", s.ctor_args[2] if len(s.ctor_args) > 2 else 1e-5)
    n, c = x.shape[:2]
    xs = x.reshape(n, groups, -1)
    out = ((xs - xs.mean(axis=2, keepdims=True)) /
           np.sqrt(xs.var(axis=2, keepdims=True) + eps)).reshape(x.shape)
    return _affine(out, p, (1, c) + (1,) * (x.ndim - 2))


_ONES = {"weight": lambda m: ("constant", 1.0), "bias": lambda m: ("constant", 0.0)}

MODULES = [
    ModuleInfo(
        "BatchNorm1d",
        samples=lambda: [
            ModuleSample((3,), inputs=_shifted(4, 3), desc="(4, 3)"),
            ModuleSample((3,), inputs=_shifted(4, 3, 5), desc="(4, 3, 5)"),
            ModuleSample((3,), {"momentum": None}, inputs=_shifted(4, 3), desc="momentum None"),
            ModuleSample((3, 1e-3, 0.5), inputs=_shifted(5, 3, 2), desc="eps 1e-3, momentum 0.5"),
            ModuleSample((3,), {"affine": False}, inputs=_shifted(4, 3, 2), desc="no affine"),
            ModuleSample((3,), {"bias": False}, inputs=_shifted(4, 3, 2), desc="no bias"),
            ModuleSample((3,), {"track_running_stats": False}, inputs=_shifted(4, 3, 2),
                         desc="no running stats"),
            ModuleSample((16,), inputs=_shifted(300, 16, 20), desc="(300, 16, 20) (parallel)",
                         grad=False),
        ],
        reference=_bn_ref, train_eval="differs", updates_buffers=True, init=_ONES,
        tol=dict(TOL), gradgrad=True),
    ModuleInfo(
        "BatchNorm2d",
        samples=lambda: [
            ModuleSample((3,), inputs=_shifted(2, 3, 3, 2), desc="(2, 3, 3, 2)"),
            ModuleSample((3,), {"momentum": None}, inputs=_shifted(2, 3, 2, 2), desc="momentum None"),
            ModuleSample((3,), {"affine": False, "track_running_stats": False},
                         inputs=_shifted(2, 3, 2, 2), desc="no affine, no running stats"),
            ModuleSample((8,), inputs=_shifted(8, 8, 32, 32), desc="(8, 8, 32, 32) (blocks, parallel)",
                         grad=False),
        ],
        reference=_bn_ref, train_eval="differs", updates_buffers=True, init=_ONES,
        tol=dict(TOL), gradgrad=True),
    ModuleInfo(
        "LayerNorm",
        samples=lambda: [
            ModuleSample((4,), inputs=_normal(3, 4), desc="(3, 4) over 4"),
            ModuleSample(((3, 4),), inputs=_normal(2, 3, 4), desc="(2, 3, 4) over (3, 4)"),
            ModuleSample((4, 1e-3, False), inputs=_normal(3, 4), desc="no affine, eps 1e-3"),
            ModuleSample((4,), {"bias": False}, inputs=_normal(2, 4), desc="no bias"),
            ModuleSample((512,), inputs=_normal(128, 512), desc="(128, 512) (parallel)", grad=False),
        ],
        reference=_ln_ref, init=_ONES, tol=dict(TOL), gradgrad=True),
    ModuleInfo(
        "GroupNorm",
        samples=lambda: [
            ModuleSample((3, 6), inputs=_normal(2, 6, 3), desc="3 groups of (2, 6, 3)"),
            ModuleSample((2, 4), inputs=_normal(2, 4, 2, 3), desc="2 groups of (2, 4, 2, 3)"),
            ModuleSample((1, 4), inputs=_normal(2, 4, 3), desc="one group"),
            ModuleSample((4, 4, 1e-3), inputs=_normal(2, 4, 3), desc="a group per channel, eps 1e-3"),
            ModuleSample((2, 4), {"affine": False}, inputs=_normal(2, 4, 3), desc="no affine"),
            ModuleSample((2, 4), {"bias": False}, inputs=_normal(2, 4, 3), desc="no bias"),
            ModuleSample((4, 16), inputs=_normal(8, 16, 600), desc="(8, 16, 600) (blocks, parallel)",
                         grad=False),
        ],
        reference=_gn_ref, init=_ONES, tol=dict(TOL), gradgrad=True),
]
