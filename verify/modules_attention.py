"""Module entry of MultiheadAttention. The reference is
verify/refs_rnn.mha_reference: per batch element and head, q W_q[h]^T etc.,
an explicit softmax and the output projection, in float64 loops. Samples:
self-attention, kdim / vdim, no bias, batch_first, unbatched, bool and
float key_padding_mask, 2-D and 3-D attn_mask, need_weights=False,
per-head weights (average_attn_weights=False). The biases start at zero
(PyTorch's init); the tests load random ones."""
from __future__ import annotations

import math

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .opdb import Tol
from .refs_rnn import mha_reference

TOL = {"float32": Tol(rtol=2e-5, atol=2e-6), "float64": Tol(rtol=1e-11, atol=1e-13)}


def _inputs(L, S, N, E, kd=None, vd=None, batch_first=False, kpm=None, am=None, H=2):
    kd, vd = kd or E, vd or E

    def gen(rng):
        def seq(n, d):
            if N is None:
                return rng.standard_normal((n, d))
            return rng.standard_normal((N, n, d) if batch_first else (n, N, d))
        q, k, v = seq(L, E), seq(S, kd), seq(S, vd)
        mask = None
        if kpm == "bool":
            mask = rng.random((S,) if N is None else (N, S)) < 0.3
            mask[..., 0] = False
        elif kpm == "float":
            mask = rng.standard_normal((S,) if N is None else (N, S))
        attn = None
        if am == "bool":
            attn = rng.random((L, S)) < 0.3
            attn[:, 0] = False
        elif am == "float3":
            attn = rng.standard_normal(((1 if N is None else N) * H, L, S))
        if attn is None:
            return (q, k, v) if mask is None else (q, k, v, mask)
        return (q, k, v, mask, True, attn)      # attn_mask is forward's 6th argument
    return gen


def _ref(p, inputs, s, training):
    q, k, v = inputs[:3]
    kpm = inputs[3] if len(inputs) > 3 else None
    am = inputs[5] if len(inputs) > 5 else None
    return mha_reference(p, q, k, v, num_heads=s.ctor_args[1], key_padding_mask=kpm,
                         attn_mask=am, batch_first=s.ctor_kwargs.get("batch_first", False),
                         **s.forward_kwargs)


def _xavier(m):
    a = math.sqrt(6 / (4 * m.embed_dim))
    return ("uniform", -a, a)


def _xavier_of(rows_cols):
    def f(m):
        r, c = rows_cols(m)
        a = math.sqrt(6 / (r + c))
        return ("uniform", -a, a)
    return f


def _linear(m):
    b = 1 / math.sqrt(m.embed_dim)
    return ("uniform", -b, b)


def _zero(m):
    return ("constant", 0.0)


MODULES = [
    ModuleInfo(
        "MultiheadAttention",
        samples=lambda: [
            ModuleSample((4, 2), inputs=_inputs(3, 3, 2, 4), desc="(L, N, E) self-sized"),
            ModuleSample((4, 2), {"batch_first": True}, inputs=_inputs(3, 4, 2, 4, batch_first=True),
                         desc="batch_first"),
            ModuleSample((4, 2), {"kdim": 3, "vdim": 5}, inputs=_inputs(2, 3, 2, 4, 3, 5),
                         desc="kdim 3, vdim 5"),
            ModuleSample((4, 1), {"bias": False}, inputs=_inputs(2, 3, 2, 4), desc="no bias"),
            ModuleSample((4, 2), inputs=_inputs(3, 4, None, 4), desc="unbatched (L, E)"),
            ModuleSample((4, 2), inputs=_inputs(2, 3, 2, 4, kpm="bool"),
                         desc="bool key_padding_mask"),
            ModuleSample((4, 2), inputs=_inputs(2, 3, 2, 4, kpm="float", am="bool"),
                         desc="float key_padding_mask, bool attn_mask"),
            ModuleSample((4, 2), inputs=_inputs(2, 3, 2, 4, am="float3"),
                         desc="3-D float attn_mask"),
            ModuleSample((4, 2), inputs=_inputs(2, 3, 2, 4, kpm="bool"),
                         forward_kwargs={"need_weights": False}, desc="need_weights=False"),
            ModuleSample((4, 2), inputs=_inputs(2, 3, 2, 4, am="bool"),
                         forward_kwargs={"average_attn_weights": False},
                         desc="per-head weights"),
            # (192, 64) in_proj_weight for the KS test; scores (16, 8, 40, 40)
            ModuleSample((64, 8), inputs=_inputs(40, 40, 16, 64), desc="E 64, 8 heads, (40, 16)",
                         grad=False),
        ],
        reference=_ref,
        init={"in_proj_weight": _xavier, "in_proj_bias": _zero, "out_proj.weight": _linear,
              "out_proj.bias": _zero,
              "q_proj_weight": _xavier_of(lambda m: (m.embed_dim, m.embed_dim)),
              "k_proj_weight": _xavier_of(lambda m: (m.embed_dim, m.kdim)),
              "v_proj_weight": _xavier_of(lambda m: (m.embed_dim, m.vdim))},
        tol=dict(TOL), gradgrad=True),
]
