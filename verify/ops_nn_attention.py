"""OpInfo entry of nn.functional.scaled_dot_product_attention.

The reference is written from the definition, in float64 with einsum and
explicit loops over rows: weights_ij = exp(s_ij - max_j s) / sum_j(...) over
the positions j a row attends to, s = q k^T * scale (+ a float mask), a
row that attends to nothing gives zeros (PyTorch's sdpa), dropout keeps
a weight where tinyfin's generator drew u < 1 - p (u in float64, after
manual_seed(SEED): the op's documented draw) and scales it by 1 / (1 - p).
Tolerances are relative to the largest |reference| of the sample: each
output is a convex combination of v's rows, after dot products of length E.
"""
from __future__ import annotations

import math

import numpy as np

import tinyfin as tf
from tinyfin.nn import functional as F

from .opdb import ErrorInput, OpInfo, Sample, Tol

SEED = 20240611
NAME = "nn.functional.scaled_dot_product_attention"
TOL = {"float32": Tol(rtol=2e-5, atol=2e-6), "float64": Tol(rtol=1e-12, atol=1e-14)}


def _call(q, k, v, mask=None, **kwargs):
    """The op; a sample with dropout seeds the generator first, so that a
    call (and the reference's draw) repeats."""
    if kwargs.get("dropout_p", 0.0) > 0.0:
        tf.manual_seed(SEED)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs)


def _ref(q, k, v, mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    L, E = q.shape[-2:]
    S = k.shape[-2]
    if enable_gqa:   # key/value head h serves query heads h*g ... h*g + g-1
        g = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, g, axis=-3), np.repeat(v, g, axis=-3)
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    nb = int(np.prod(batch))
    q = np.broadcast_to(q, batch + q.shape[-2:]).reshape(nb, L, E)
    k = np.broadcast_to(k, batch + k.shape[-2:]).reshape(nb, S, E)
    v = np.broadcast_to(v, batch + v.shape[-2:]).reshape(nb, S, v.shape[-1])
    # E = 0: every score is an empty sum, 0, and every row's weights uniform
    sc = (1.0 / math.sqrt(E) if E else 1.0) if scale is None else scale
    s = np.einsum("ble,bse->bls", q, k) * sc
    attend = np.ones(s.shape, bool)
    if is_causal:
        attend &= np.arange(S)[None, :] <= np.arange(L)[:, None]
    if mask is not None:
        m = np.broadcast_to(np.asarray(mask), batch + (L, S)).reshape(nb, L, S)
        if m.dtype == np.bool_:
            attend &= m
        else:
            s = s + m
    w = np.zeros(s.shape)
    for b in range(s.shape[0]):
        for i in range(L):
            row = np.where(attend[b, i], s[b, i], -np.inf)
            live = row > -np.inf
            if not live.any():
                continue                                   # fully masked: zeros
            e = np.where(live, np.exp(row - row[live].max()), 0.0)
            w[b, i] = e / e.sum()
    if dropout_p > 0.0:
        tf.manual_seed(SEED)
        u = tf.rand(*(batch + (L, S)), dtype=tf.float64).numpy().reshape(w.shape)
        w = np.where(u < 1.0 - dropout_p, w / (1.0 - dropout_p), 0.0) if dropout_p < 1 else 0 * w
    out = np.einsum("bls,bsd->bld", w, v)
    return out.reshape(batch + (L, v.shape[-1]))


C, T, MT, S, FL = "contiguous", "transposed", "mT", "strided", "flipped"


def _samples(dtype, rng):
    def x(*shape):
        return rng.uniform(-2, 2, size=shape).astype(dtype)

    def bmask(*shape, dead_row=None):
        m = rng.random(shape) < 0.6
        m[..., :, 0] = True                                 # most rows attend somewhere
        if dead_row is not None:
            m[..., dead_row, :] = False                     # one row attends to nothing
        return m

    def fmask(*shape, dead_row=None):
        m = rng.uniform(-1, 1, size=shape)
        m[rng.random(shape) < 0.3] = -np.inf
        m[..., :, 0] = 0.5
        if dead_row is not None:
            m[..., dead_row, :] = -np.inf
        return m.astype(dtype)

    out = []

    def add(inputs, desc, layout=C, grad=True, **kw):
        n = sum(a.size for a in inputs if a.dtype.kind == "f")
        out.append(Sample(tuple(inputs), kwargs=kw, layout=layout, desc=desc,
                          grad=grad and 0 < n <= 120))

    add((x(3, 2), x(4, 2), x(4, 3)), "2-D (L, E) (S, E) (S, Ev)")
    add((x(2, 3, 4), x(2, 5, 4), x(2, 5, 3)), "3-D, L != S, Ev != E")
    add((x(2, 2, 3, 4), x(2, 2, 5, 4), x(2, 2, 5, 6)), "4-D (N, H, L, E)", grad=False)
    add((x(1, 2, 3, 2), x(2, 1, 4, 2), x(2, 4, 3)), "batch dims broadcast")
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2)), "scale=0.7", scale=0.7)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2)), "scale=-1.5", scale=-1.5)
    add((x(2, 4, 2), x(2, 4, 2), x(2, 4, 2)), "is_causal L == S", is_causal=True)
    add((x(2, 3, 2), x(2, 5, 2), x(2, 5, 2)), "is_causal L < S", is_causal=True)
    add((x(1, 5, 2), x(1, 3, 2), x(1, 3, 2)), "is_causal L > S", is_causal=True)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2), bmask(3, 4)), "bool mask (L, S)")
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2), bmask(2, 3, 4, dead_row=1)),
        "bool mask, a fully masked row")
    add((x(2, 2, 3, 2), x(2, 2, 4, 2), x(2, 2, 4, 2), bmask(2, 1, 1, 4)),
        "bool key-padding mask (N, 1, 1, S)", grad=False)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2), fmask(3, 4)), "float mask (L, S) with -inf")
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2), fmask(2, 3, 4, dead_row=2)),
        "float mask, a row all -inf")
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 2), x(3, 4)), "float mask, finite, gradient of it")
    add((x(2, 2, 3, 2), x(1, 4, 2), x(1, 4, 2)), "enable_gqa 2 heads on 1", enable_gqa=True)
    add((x(1, 4, 3, 2), x(1, 2, 4, 2), x(1, 2, 4, 3)), "enable_gqa 4 heads on 2",
        enable_gqa=True, grad=False)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 3)), "dropout_p=0.4", dropout_p=0.4)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 3), bmask(3, 4, dead_row=0)),
        "dropout_p=0.5 with a fully masked row", dropout_p=0.5)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 3)), "dropout_p=1", dropout_p=1.0, grad=False)
    # size 0: no batch, no queries, no keys (zeros out), no features
    add((x(0, 3, 2), x(0, 4, 2), x(0, 4, 3)), "size-0 batch", grad=False)
    add((x(2, 0, 2), x(2, 4, 2), x(2, 4, 3)), "L = 0", grad=False)
    add((x(2, 3, 2), x(2, 0, 2), x(2, 0, 3)), "S = 0 (zeros)", grad=False)
    add((x(2, 3, 0), x(2, 4, 0), x(2, 4, 3)), "E = 0 (uniform weights)", grad=False)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 0)), "Ev = 0", grad=False)
    add((x(2, 3, 0), x(2, 4, 0), x(2, 4, 3), bmask(3, 4, dead_row=1)),
        "E = 0 with a mask", grad=False)
    # layouts: every operand non-contiguous, in several ways
    for lay in (T, MT, S, FL):
        add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 3), bmask(3, 4, dead_row=2)),
            f"{lay} operands and mask", layout=lay)
        add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 3), fmask(2, 3, 4)),
            f"{lay} operands and float mask", layout=lay, grad=False)
    add((x(2, 3, 2), x(2, 4, 2), x(2, 4, 3)), "mixed layouts", layout=(MT, T, S))
    add((x(3, 2, 5, 4), x(3, 2, 7, 4), x(3, 2, 7, 5)), "expanded (stride 0 batch)",
        layout="expanded", grad=False)
    # large enough for the matmul kernels' tiles and a parallel softmax
    add((x(4, 70, 33), x(4, 130, 33), x(4, 130, 40), bmask(70, 130, dead_row=5)),
        "large masked", grad=False)
    add((x(2, 4, 64, 32), x(2, 4, 64, 32), x(2, 4, 64, 32)), "large causal", is_causal=True,
        grad=False)
    return out


def _large(dtype, rng):
    def x(*shape):
        return rng.uniform(-2, 2, size=shape).astype(dtype)
    m = rng.random((300, 260)) < 0.7
    m[:, 0] = True
    return [Sample((x(2, 300, 40), x(2, 260, 40), x(2, 260, 70), m), desc="large masked",
                   grad=False),
            Sample((x(2, 8, 64, 32), x(2, 8, 64, 32), x(2, 8, 64, 32)), kwargs={"is_causal": True},
                   layout="transposed", desc="large causal, transposed", grad=False)]


def _t(*shape, dtype=tf.float64):
    return tf.zeros(*shape, dtype=dtype)


def _errors():
    f = F.scaled_dot_product_attention
    op = "scaled_dot_product_attention"
    q, k, v = _t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 6)
    return [
        ErrorInput("1-D operands", lambda: f(_t(4), _t(4), _t(4)), ValueError,
                   rf"{op}: query, key and value must be at least 2-D .*got shapes \(4,\)"),
        ErrorInput("E differs", lambda: f(q, _t(2, 5, 3), v), ValueError,
                   rf"{op}: query .* and key .* must share E; got shapes \(2, 3, 4\) and "
                   r"\(2, 5, 3\)"),
        ErrorInput("S differs", lambda: f(q, k, _t(2, 4, 6)), ValueError,
                   rf"{op}: key .* and value .* must share S; got shapes \(2, 5, 4\) and "
                   r"\(2, 4, 6\)"),
        ErrorInput("batch dims", lambda: f(q, _t(3, 5, 4), _t(3, 5, 6)), ValueError,
                   rf"{op}: the batch dims of query and key, \(2,\) and \(3,\) do not broadcast"),
        ErrorInput("mixed dtypes", lambda: f(q, k.float(), v), TypeError,
                   rf"{op}: query, key and value must have one dtype, got float64, float32"),
        ErrorInput("int64 operands", lambda: f(q.long(), k.long(), v.long()), TypeError,
                   rf"{op}: expected floating-point query, key and value, got int64"),
        ErrorInput("mask shape", lambda: f(q, k, v, attn_mask=tf.ones(3, 4, dtype=tf.bool)),
                   ValueError, rf"{op}: attn_mask of shape \(3, 4\) does not broadcast to the "
                   r"attention weights' shape \(2, 3, 5\)"),
        ErrorInput("mask with more dims", lambda: f(q, k, v, attn_mask=tf.ones(4, 2, 3, 5,
                                                                              dtype=tf.bool)),
                   ValueError, rf"{op}: attn_mask of shape \(4, 2, 3, 5\) does not broadcast"),
        ErrorInput("int64 mask", lambda: f(q, k, v, attn_mask=tf.ones(3, 5, dtype=tf.int64)),
                   TypeError, rf"{op}: attn_mask must be bool .* or of the query's dtype "
                   r"float64 .*got int64"),
        ErrorInput("float32 mask, float64 query", lambda: f(q, k, v, attn_mask=_t(3, 5).float()),
                   TypeError, rf"{op}: attn_mask must be bool .*got float32"),
        ErrorInput("mask and is_causal", lambda: f(q, k, v, attn_mask=_t(3, 5), is_causal=True),
                   ValueError, rf"{op}: pass either attn_mask or is_causal=True, not both"),
        ErrorInput("dropout_p > 1", lambda: f(q, k, v, dropout_p=1.5), ValueError,
                   rf"{op}: dropout_p must be a number in \[0, 1\], got 1.5"),
        ErrorInput("dropout_p < 0", lambda: f(q, k, v, dropout_p=-0.1), ValueError,
                   rf"{op}: dropout_p must be a number in \[0, 1\], got -0.1"),
        ErrorInput("scale a string", lambda: f(q, k, v, scale="2"), TypeError,
                   rf"{op}: scale must be a number or None, got str"),
        ErrorInput("query not a tensor", lambda: f([1.0], k, v), TypeError,
                   rf"{op}: query must be a Tensor, got list"),
        ErrorInput("gqa heads", lambda: f(_t(1, 3, 2, 4), _t(1, 2, 5, 4), _t(1, 2, 5, 4),
                                          enable_gqa=True), ValueError,
                   rf"{op}: with enable_gqa the query heads \(3\) must be a multiple of the "
                   r"key and value heads \(2, 2\)"),
    ]


ENTRIES = [
    OpInfo(NAME, _call, _ref, "nn", samples=_samples, errors=_errors, differentiable=True,
           gradgrad=True, tol=dict(TOL), large=_large, kernels=("matmul",),
           notes="fully masked rows give zeros and zero gradients (PyTorch's sdpa); dropout "
                 "draws float64 uniforms from tinyfin's generator (keep where u < 1 - p)"),
]
