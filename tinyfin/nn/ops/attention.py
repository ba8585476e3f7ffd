"""Attention: scaled_dot_product_attention, as torch.nn.functional's.

Written over tinyfin's differentiable ops (matmul, softmax, masked_fill,
where), so its backward, and the backward of that, come from theirs:

    scores = (q * scale) @ k^T            (..., L, S)
    scores[masked] = -inf                 bool mask False / is_causal
    scores += attn_mask                   float mask (additive)
    attn = softmax(scores, -1)            max-subtracted in the C kernel
    out = dropout(attn) @ v               (..., L, Ev)

A row whose every score is -inf (fully masked) gives zeros, and zero
gradients, as PyTorch's sdpa does (its _safe_softmax); softmax alone would
give NaN there. Such rows are set to 0 before the softmax and their weights
to 0 after it, so no NaN enters the graph, whose gradients would be NaN too.
"""
from __future__ import annotations

import math
import numbers

from ... import dtypes as _dtypes
from ...creation import ones
from ...indexing import masked_fill
from ...linalg import matmul
from ...reduction import amax, any as _any, softmax
from ...shape import tril
from ...tensor import Tensor
from .dropout import dropout

_NAME = "scaled_dot_product_attention"


def _shape(x: Tensor) -> tuple:
    return tuple(x.shape)


def _broadcast(op: str, a: tuple, b: tuple, what: str) -> tuple:
    """NumPy broadcasting of two shapes, or an error naming both."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and da != 1 and db != 1:
            raise ValueError(f"{op}: {what} {a} and {b} do not broadcast")
        out.append(db if da == 1 else da)
    return tuple(reversed(out))


def _check(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa) -> tuple:
    """Every argument checked before any work, each message naming the op
    and the shapes; returns the shape of the attention weights."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_NAME}: {name} must be a Tensor, got {type(t).__name__}")
    q, k, v = _shape(query), _shape(key), _shape(value)
    if len(q) < 2 or len(k) < 2 or len(v) < 2:
        raise ValueError(f"{_NAME}: query, key and value must be at least 2-D "
                         f"(..., L, E), (..., S, E), (..., S, Ev); got shapes {q}, {k}, {v}")
    if not (query.dtype is key.dtype is value.dtype):
        raise TypeError(f"{_NAME}: query, key and value must have one dtype, got "
                        f"{query.dtype.name}, {key.dtype.name} and {value.dtype.name}")
    if not query.dtype.is_floating_point:
        raise TypeError(f"{_NAME}: expected floating-point query, key and value, got "
                        f"{query.dtype.name}")
    if q[-1] != k[-1]:
        raise ValueError(f"{_NAME}: query (..., L, E) and key (..., S, E) must share E; "
                         f"got shapes {q} and {k}")
    if k[-2] != v[-2]:
        raise ValueError(f"{_NAME}: key (..., S, E) and value (..., S, Ev) must share S; "
                         f"got shapes {k} and {v}")
    if enable_gqa:
        if len(q) < 3 or len(k) < 3 or len(v) < 3:
            raise ValueError(f"{_NAME}: enable_gqa needs a head dim (..., H, L, E); got "
                             f"shapes {q}, {k}, {v}")
        if k[-3] != v[-3] or k[-3] == 0 or q[-3] % k[-3]:
            raise ValueError(f"{_NAME}: with enable_gqa the query heads ({q[-3]}) must be a "
                             f"multiple of the key and value heads ({k[-3]}, {v[-3]})")
        k = k[:-3] + (q[-3],) + k[-2:]
        v = v[:-3] + (q[-3],) + v[-2:]
    batch = _broadcast(_NAME, q[:-2], k[:-2], "the batch dims of query and key,")
    _broadcast(_NAME, batch, v[:-2], "the batch dims of query/key and value,")
    weights = batch + (q[-2], k[-2])
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, numbers.Real) \
            or not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{_NAME}: dropout_p must be a number in [0, 1], got {dropout_p!r}")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, numbers.Real)):
        raise TypeError(f"{_NAME}: scale must be a number or None, got {type(scale).__name__}")
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{_NAME}: attn_mask must be a Tensor or None, got "
                            f"{type(attn_mask).__name__}")
        if is_causal:
            raise ValueError(f"{_NAME}: pass either attn_mask or is_causal=True, not both "
                             "(is_causal is the lower-triangular mask)")
        if attn_mask.dtype is not _dtypes.bool_ and attn_mask.dtype is not query.dtype:
            raise TypeError(f"{_NAME}: attn_mask must be bool (True: attend) or of the "
                            f"query's dtype {query.dtype.name} (added to the scores), got "
                            f"{attn_mask.dtype.name}")
        m = _shape(attn_mask)
        ok = len(m) <= len(weights) and all(
            a in (1, b) for a, b in zip(reversed(m), reversed(weights)))
        if not ok:
            raise ValueError(f"{_NAME}: attn_mask of shape {m} does not broadcast to the "
                             f"attention weights' shape {weights} (..., L, S) for query "
                             f"{q} and key {_shape(key)}")
    return weights


def _repeat_heads(x: Tensor, n: int) -> Tensor:
    """(..., H, S, E) -> (..., H * n, S, E), each head n times in a row
    (repeat_interleave on dim -3)."""
    if n == 1:
        return x
    s = _shape(x)
    return x.unsqueeze(-3).expand(*s[:-2], n, *s[-2:]).reshape(*s[:-3], s[-3] * n, *s[-2:])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dims; query (..., L,
    E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev), batch dims
    broadcast. attn_mask: bool (True = take part in attention) or float
    (added to the scores), broadcastable to (..., L, S); is_causal: the
    lower-triangular (top-left aligned) mask; scale: default 1/sqrt(E);
    dropout_p: dropout on the attention weights (always applied when > 0,
    as PyTorch's); enable_gqa: key/value heads (dim -3) shared by groups of
    query heads. A fully masked row gives zeros."""
    weights = _check(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    L, S = weights[-2], weights[-1]
    if enable_gqa:
        key = _repeat_heads(key, query.shape[-3] // key.shape[-3])
        value = _repeat_heads(value, query.shape[-3] // value.shape[-3])
    E = query.shape[-1]
    if scale is not None:
        s = float(scale)
    else:  # E = 0: the scores are empty sums (0) and the weights uniform, as PyTorch's
        s = 1.0 / math.sqrt(E) if E else 1.0
    # scaling q (L x E) is cheaper than scaling the scores (L x S) when E < S
    scores = matmul(query * s if E <= S else query, key.mT)
    if E > S:
        scores = scores * s
    masked = None  # True where a score is left out
    if is_causal:
        masked = tril(ones(L, S, dtype=_dtypes.bool_, device=query.device)).logical_not()
    elif attn_mask is not None:
        if attn_mask.dtype is _dtypes.bool_:
            masked = attn_mask.logical_not()
        else:
            scores = scores + attn_mask
    if masked is not None:
        scores = masked_fill(scores, masked, float("-inf"))
    dead = None
    if (masked is not None or attn_mask is not None) and S > 0:
        dead = amax(scores.detach(), -1, keepdim=True) == float("-inf")  # (..., L, 1)
        if not _any(dead).item():
            dead = None
    if dead is not None:
        scores = masked_fill(scores, dead, 0.0)
    attn = softmax(scores, -1)
    if dead is not None:
        attn = masked_fill(attn, dead, 0.0)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p)
    return matmul(attn, value)
