"""Module entries of Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d.

The references are verify/ops_nn_conv.py's per-tap NumPy convolutions; a
padding_mode other than 'zeros' pads with np.pad first (reflect ->
'reflect', replicate -> 'edge', circular -> 'wrap'), 'same' splitting
d * (k - 1) with the extra element after, as PyTorch."""
from __future__ import annotations

import math

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .ops_nn_conv import conv_ref, conv_transpose_ref

_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _normal(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _conv_module_ref(n):
    def ref(p, inputs, s, training):
        x, = inputs
        kw = dict(s.ctor_kwargs)
        k = _tup(s.ctor_args[2], n)
        mode = kw.pop("padding_mode", "zeros")
        kw.pop("bias", None)
        if mode != "zeros":
            padding = kw.pop("padding", 0)
            dil = _tup(kw.get("dilation", 1), n)
            if padding == "same":
                tot = [d * (kk - 1) for d, kk in zip(dil, k)]
                widths = [(t // 2, t - t // 2) for t in tot]
            elif padding == "valid":
                widths = [(0, 0)] * n
            else:
                widths = [(q, q) for q in _tup(padding, n)]
            lead = [(0, 0)] * (x.ndim - n)
            x = np.pad(x, lead + widths, mode=_NP_MODES[mode])
        return conv_ref(x, p["weight"], p.get("bias"), **kw)
    return ref


def _conv_t_module_ref(p, inputs, s, training):
    x, = inputs
    kw = dict(s.ctor_kwargs)
    kw.pop("bias", None)
    op = s.forward_kwargs.get("output_size")
    if op is not None:
        n = p["weight"].ndim - 2
        st, pad = _tup(kw.get("stride", 1), n), _tup(kw.get("padding", 0), n)
        dil, k = _tup(kw.get("dilation", 1), n), p["weight"].shape[2:]
        lo = [(x.shape[-n + d] - 1) * st[d] - 2 * pad[d] + dil[d] * (k[d] - 1) + 1
              for d in range(n)]
        kw["output_padding"] = tuple(o - m for o, m in zip(tuple(op)[-n:], lo))
    return conv_transpose_ref(x, p["weight"], p.get("bias"), **kw)


def _bound(m):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = weight.shape[1] * prod(k)
    (kaiming_uniform_(a=sqrt(5)) for the weight; the bias's bounds)."""
    fan_in = m.weight.shape[1] * math.prod(m.kernel_size)
    b = 1 / math.sqrt(fan_in)
    return ("uniform", -b, b)


_INIT = {"weight": _bound, "bias": _bound}

MODULES = [
    ModuleInfo(
        "Conv2d",
        samples=lambda: [
            ModuleSample((2, 3, 3), inputs=_normal(2, 2, 5, 5), desc="3x3"),
            ModuleSample((2, 4, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2),
                                          "bias": False},
                         inputs=_normal(2, 2, 6, 6), desc="stride, padding, dilation, no bias"),
            ModuleSample((4, 4, 3), {"groups": 2, "padding": 1}, inputs=_normal(1, 4, 4, 5),
                         desc="groups=2"),
            ModuleSample((3, 6, 3), {"groups": 3, "padding": "same"}, inputs=_normal(1, 3, 5, 4),
                         desc="depthwise, same"),
            ModuleSample((2, 2, (2, 4)), {"padding": "same"}, inputs=_normal(1, 2, 5, 5),
                         desc="same, even kernel"),
            ModuleSample((2, 3, 3), {"padding": "valid"}, inputs=_normal(2, 5, 5),
                         desc="valid, unbatched"),
            ModuleSample((2, 3, 3), {"padding": 2, "padding_mode": "reflect"},
                         inputs=_normal(1, 2, 4, 5), desc="reflect"),
            ModuleSample((2, 3, 3), {"padding": (1, 2), "padding_mode": "replicate"},
                         inputs=_normal(1, 2, 4, 4), desc="replicate"),
            ModuleSample((2, 3, 3), {"padding": 1, "padding_mode": "circular", "stride": 2},
                         inputs=_normal(2, 2, 5, 4), desc="circular, stride 2"),
            ModuleSample((2, 2, (3, 2)), {"padding": "same", "padding_mode": "circular"},
                         inputs=_normal(1, 2, 4, 4), desc="circular, same"),
            ModuleSample((2, 3, 3), {"padding": 1}, inputs=_normal(0, 2, 5, 5),
                         desc="empty batch"),
            # 32 x 16 x 9 weights for the initialisation's KS test, and a
            # size past the parallel im2col
            ModuleSample((16, 32, 3), {"padding": 1}, inputs=_normal(4, 16, 20, 20),
                         desc="(4, 16, 20, 20) -> 32", grad=False),
        ],
        reference=_conv_module_ref(2),
        init=_INIT,
    ),
    ModuleInfo(
        "Conv1d",
        samples=lambda: [
            ModuleSample((2, 3, 3), inputs=_normal(2, 2, 7), desc="k=3"),
            ModuleSample((4, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2,
                                     "bias": False}, inputs=_normal(2, 4, 9),
                         desc="stride, padding, dilation, groups, no bias"),
            ModuleSample((2, 3, 4), {"padding": "same", "padding_mode": "reflect"},
                         inputs=_normal(2, 6), desc="same, even kernel, reflect, unbatched"),
            ModuleSample((2, 3, 3), {"padding": 2, "padding_mode": "circular"},
                         inputs=_normal(1, 2, 5), desc="circular"),
            ModuleSample((2, 3, 3), {"padding": 1, "padding_mode": "replicate"},
                         inputs=_normal(1, 2, 5), desc="replicate"),
            ModuleSample((32, 64, 5), {"padding": 2}, inputs=_normal(2, 32, 50),
                         desc="(2, 32, 50) -> 64", grad=False),
        ],
        reference=_conv_module_ref(1),
        init=_INIT,
    ),
    ModuleInfo(
        "ConvTranspose2d",
        samples=lambda: [
            ModuleSample((2, 3, 3), inputs=_normal(2, 2, 3, 4), desc="3x3"),
            ModuleSample((4, 2, (3, 2)), {"stride": 2, "padding": 1, "output_padding": 1,
                                          "groups": 2, "bias": False},
                         inputs=_normal(1, 4, 3, 3), desc="stride, output_padding, groups"),
            ModuleSample((2, 2, 3), {"dilation": 2, "padding": (1, 2)}, inputs=_normal(2, 3, 4),
                         desc="dilation, unbatched"),
            ModuleSample((2, 3, 3), {"stride": 2}, inputs=_normal(1, 2, 3, 3),
                         forward_kwargs={"output_size": (8, 8)}, desc="output_size"),
            ModuleSample((2, 3, 3), inputs=_normal(0, 2, 3, 3), desc="empty batch"),
            ModuleSample((32, 16, 3), {"stride": 2, "padding": 1}, inputs=_normal(2, 32, 8, 8),
                         desc="(2, 32, 8, 8) -> 16", grad=False),
        ],
        reference=_conv_t_module_ref,
        init=_INIT,
    ),
    ModuleInfo(
        "ConvTranspose1d",
        samples=lambda: [
            ModuleSample((2, 3, 3), inputs=_normal(2, 2, 5), desc="k=3"),
            ModuleSample((4, 2, 3), {"stride": 3, "padding": 1, "output_padding": 2,
                                     "groups": 2, "dilation": 2}, inputs=_normal(4, 5),
                         desc="every option, unbatched"),
            ModuleSample((32, 16, 5), {"stride": 2}, inputs=_normal(2, 32, 30),
                         desc="(2, 32, 30) -> 16", grad=False),
        ],
        reference=_conv_t_module_ref,
        init=_INIT,
    ),
]
