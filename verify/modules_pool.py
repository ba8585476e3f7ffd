"""Module entries of the pooling layers: MaxPool1d/2d, AvgPool1d/2d,
AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d. They have no parameters; the
references are the loop-based NumPy ones of verify/ops_nn_pool.py, called
with the constructor's arguments (the argmax indices of return_indices are
compared by the op entries; here the float output is)."""
from __future__ import annotations

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .ops_nn_pool import _adaptive_ref, _avg_ref, _max_ref


def _distinct(*shape):
    """Values without ties (max pooling's gradient is defined there)."""
    def make(rng):
        n = int(np.prod(shape))
        return ((rng.permutation(n) - n / 2) * (8.0 / max(n, 1))).reshape(shape),
    return make


def _normal(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _max_module_ref(dims):
    ref = _max_ref(dims)
    names = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")

    def module_ref(p, inputs, s, training):
        kw = dict(zip(names, s.ctor_args))
        kw.update(s.ctor_kwargs)
        kw.pop("return_indices", None)
        return ref(inputs[0], **kw)
    return module_ref


def _avg_module_ref(dims):
    ref = _avg_ref(dims)
    names = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")

    def module_ref(p, inputs, s, training):
        kw = dict(zip(names, s.ctor_args))
        kw.update(s.ctor_kwargs)
        return ref(inputs[0], **kw)
    return module_ref


def _adaptive_module_ref(dims, kind):
    ref = _adaptive_ref(dims, kind)

    def module_ref(p, inputs, s, training):
        return ref(inputs[0], s.ctor_args[0] if s.ctor_args else s.ctor_kwargs["output_size"])
    return module_ref


MODULES = [
    ModuleInfo(
        "MaxPool2d",
        samples=lambda: [
            ModuleSample((2,), inputs=_distinct(2, 3, 6, 6), desc="2x2 (stride = kernel)"),
            ModuleSample((3,), {"stride": 2, "padding": 1, "ceil_mode": True}, inputs=_distinct(1, 2, 7, 6),
                         desc="3x3/2 pad 1 ceil_mode"),
            ModuleSample(((3, 2), (1, 2), (1, 1), (2, 1)), inputs=_distinct(1, 2, 7, 6),
                         desc="tuple args, dilation (2, 1)"),
            ModuleSample((2,), {"stride": 1, "return_indices": True}, inputs=_distinct(2, 5, 5),
                         desc="unbatched, return_indices"),
            ModuleSample((2,), inputs=_distinct(0, 3, 4, 4), desc="size-0 batch", grad=False),
            ModuleSample((3,), {"stride": 2}, inputs=_normal(8, 16, 33, 31), desc="large (parallel)",
                         grad=False),
        ],
        reference=_max_module_ref(2),
    ),
    ModuleInfo(
        "MaxPool1d",
        samples=lambda: [
            ModuleSample((2,), inputs=_distinct(2, 3, 8), desc="kernel 2"),
            ModuleSample((3, 2, 1, 2, False, True), inputs=_distinct(1, 2, 11),
                         desc="positional args: dilation 2, ceil_mode"),
            ModuleSample((3,), {"stride": 1, "return_indices": True}, inputs=_distinct(3, 9),
                         desc="unbatched, return_indices"),
        ],
        reference=_max_module_ref(1),
    ),
    ModuleInfo(
        "AvgPool2d",
        samples=lambda: [
            ModuleSample((2,), inputs=_normal(2, 3, 6, 6), desc="2x2"),
            ModuleSample((3, 2, 1, True, False), inputs=_normal(1, 2, 7, 6),
                         desc="positional args: ceil_mode, count_include_pad=False"),
            ModuleSample(((3, 2),), {"stride": (2, 1), "padding": (1, 1), "divisor_override": 5},
                         inputs=_normal(1, 2, 5, 4), desc="divisor_override"),
            ModuleSample((2,), {"stride": 1}, inputs=_normal(2, 5, 5), desc="unbatched"),
            ModuleSample((2,), inputs=_normal(0, 3, 4, 4), desc="size-0 batch", grad=False),
        ],
        reference=_avg_module_ref(2),
    ),
    ModuleInfo(
        "AvgPool1d",
        samples=lambda: [
            ModuleSample((2,), inputs=_normal(2, 3, 8), desc="kernel 2"),
            ModuleSample((4, 3, 2, True, False), inputs=_normal(1, 2, 10),
                         desc="positional args: ceil_mode, count_include_pad=False"),
            ModuleSample((3,), {"stride": 1, "padding": 1}, inputs=_normal(3, 9), desc="unbatched, padding"),
        ],
        reference=_avg_module_ref(1),
    ),
    ModuleInfo(
        "AdaptiveAvgPool2d",
        samples=lambda: [
            ModuleSample(((3, 2),), inputs=_normal(2, 3, 7, 5), desc="(3, 2) of 7x5"),
            ModuleSample((1,), inputs=_normal(2, 3, 5, 4), desc="global"),
            ModuleSample(((None, 3),), inputs=_normal(3, 4, 7), desc="unbatched, None"),
        ],
        reference=_adaptive_module_ref(2, "avg"),
    ),
    ModuleInfo(
        "AdaptiveAvgPool1d",
        samples=lambda: [ModuleSample((3,), inputs=_normal(2, 3, 7), desc="3 of 7"),
                         ModuleSample((5,), inputs=_normal(3, 4), desc="unbatched, larger output")],
        reference=_adaptive_module_ref(1, "avg"),
    ),
    ModuleInfo(
        "AdaptiveMaxPool2d",
        samples=lambda: [
            ModuleSample(((3, 2),), inputs=_distinct(2, 3, 7, 5), desc="(3, 2) of 7x5"),
            ModuleSample((2,), {"return_indices": True}, inputs=_distinct(3, 5, 5),
                         desc="unbatched, return_indices"),
        ],
        reference=_adaptive_module_ref(2, "max"),
    ),
    ModuleInfo(
        "AdaptiveMaxPool1d",
        samples=lambda: [ModuleSample((3,), inputs=_distinct(2, 3, 7), desc="3 of 7"),
                         ModuleSample((4, True), inputs=_distinct(3, 6), desc="unbatched, return_indices")],
        reference=_adaptive_module_ref(1, "max"),
    ),
]
