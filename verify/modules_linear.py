"""Module entries of Linear, Identity, Flatten and Unflatten."""
from __future__ import annotations

import math

import numpy as np

import tinyfin as tf

from .moduledb import ModuleInfo, ModuleSample


def _normal(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _linear_ref(p, inputs, s, training):
    x, = inputs
    out = x @ p["weight"].T
    return out + p["bias"] if "bias" in p else out


def _bound(m):
    k = 1 / math.sqrt(m.in_features)
    return ("uniform", -k, k)


MODULES = [
    ModuleInfo(
        "Linear",
        samples=lambda: [
            ModuleSample((3, 4), inputs=_normal(2, 3), desc="(2, 3) -> 4"),
            ModuleSample((3, 4), {"bias": False}, inputs=_normal(2, 3), desc="no bias"),
            ModuleSample((3, 2), inputs=_normal(2, 2, 3), desc="batch dims (2, 2, 3)"),
            ModuleSample((3, 2), inputs=_normal(3), desc="unbatched (3,)"),
            ModuleSample((3, 2), inputs=_normal(0, 3), desc="empty batch"),
            # weights of 256 x 300 values for the initialisation's KS test,
            # and a product past matmul's blocked panels
            ModuleSample((300, 256), inputs=_normal(70, 300), desc="(70, 300) -> 256", grad=False),
        ],
        reference=_linear_ref,
        init={"weight": _bound, "bias": _bound},
    ),
    ModuleInfo(
        "Identity",
        samples=lambda: [ModuleSample((5,), {"any": "ignored"}, inputs=_normal(2, 3), desc="(2, 3)")],
        reference=lambda p, inputs, s, training: inputs[0],
    ),
    ModuleInfo(
        "Flatten",
        samples=lambda: [
            ModuleSample(inputs=_normal(2, 3, 4), desc="default dims 1..-1"),
            ModuleSample((0, 1), inputs=_normal(2, 3, 4), desc="dims 0..1"),
            ModuleSample((1, 2), inputs=_normal(2, 3, 4, 5), desc="dims 1..2"),
        ],
        reference=lambda p, inputs, s, training: _flatten_ref(inputs[0], *(s.ctor_args or (1, -1))),
    ),
    ModuleInfo(
        "Unflatten",
        samples=lambda: [
            ModuleSample((1, (2, 3)), inputs=_normal(4, 6), desc="(4, 6) dim 1 -> (2, 3)"),
            ModuleSample((-1, (2, -1)), inputs=_normal(3, 8), desc="last dim -> (2, -1)"),
        ],
        reference=lambda p, inputs, s, training: _unflatten_ref(inputs[0], *s.ctor_args),
    ),
]


def _sequential_ref(p, inputs, s, training):
    x, = inputs
    h = x @ p["0.weight"].T + p["0.bias"]
    h = h.reshape(h.shape[0], 2, 2)
    return h.reshape(h.shape[0], -1) @ p["2.weight"].T


MODULES.append(ModuleInfo(
    "Sequential",
    samples=lambda: [ModuleSample(
        make_args=lambda: (tf.nn.Linear(3, 4), tf.nn.Unflatten(1, (2, 2)),
                           tf.nn.Sequential(tf.nn.Flatten(), tf.nn.Linear(4, 2, bias=False))),
        inputs=_normal(5, 3), desc="Linear, Unflatten, Sequential(Flatten, Linear)")],
    reference=lambda p, inputs, s, training: _sequential_ref(
        {k.replace("2.1.", "2."): v for k, v in p.items()}, inputs, s, training),
))


def _flatten_ref(x, start, end):
    nd = x.ndim
    start, end = start % nd, end % nd
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


def _unflatten_ref(x, dim, sizes):
    dim = dim % x.ndim
    return x.reshape(x.shape[:dim] + tuple(sizes) + x.shape[dim + 1:])
