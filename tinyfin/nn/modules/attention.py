"""MultiheadAttention, as torch.nn.MultiheadAttention (whose computation is
F.multi_head_attention_forward): parameters in_proj_weight (3E, E) — or
q_proj_weight, k_proj_weight, v_proj_weight when kdim / vdim differ from
embed_dim — in_proj_bias (3E,) and out_proj (weight, bias), so state_dict
keys map one to one; PyTorch's initialisation (xavier_uniform_ projections,
zero in_proj_bias and out_proj.bias, out_proj.weight as Linear's).

Masks follow MultiheadAttention's convention, the opposite of
scaled_dot_product_attention's: a bool True in key_padding_mask (N, S) or
attn_mask (L, S) / (N * num_heads, L, S) means "do not attend"; float masks
are added to the scores. Both become one additive mask (True -> -inf).
With need_weights=True the weights come from an explicit softmax, so a
fully masked row gives NaN, as PyTorch's; with need_weights=False the
output comes from scaled_dot_product_attention, which gives zeros there
(PyTorch's training-mode result; its eval-mode fast path gives NaN)."""
from __future__ import annotations

import math
import numbers
from typing import Optional

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...elementwise import where
from ...reduction import softmax
from ...tensor import Tensor
from .. import init
from ..ops.attention import scaled_dot_product_attention
from ..ops.dropout import dropout
from ..ops.rnn import pieces
from ..parameter import Parameter
from .linear import Linear
from .module import Module


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under the name PyTorch gives MultiheadAttention's out_proj
    (so the reprs match); no different otherwise."""


def _shape(t) -> tuple:
    return tuple(t.shape)


def _project(x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    """x (..., d) @ w^T + b as one 2-D product: a batched one would give
    w's gradient as a batch of products summed afterwards."""
    y = x.reshape(-1, x.shape[-1]) @ w.mT
    if b is not None:
        y = y + b
    return y.reshape(*x.shape[:-1], w.shape[0])


class MultiheadAttention(Module):
    """forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False) ->
    (attn_output, attn_weights or None). Shapes (L, N, E) / (S, N, kdim) /
    (S, N, vdim), or (N, L, E) ... with batch_first, or unbatched (L, E)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0,
                 bias: bool = True, add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        for name, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got {v!r}")
        for name, v in (("kdim", kdim), ("vdim", vdim)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)
                                  or v <= 0):
                raise ValueError(f"MultiheadAttention: {name} must be a positive int or None, "
                                 f"got {v!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, "
                             f"got embed_dim={embed_dim} and num_heads={num_heads}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout must be a number in [0, 1], got "
                             f"{dropout!r}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are "
                                      "not supported (only False)")
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        dt = _dtypes.get(dtype, "MultiheadAttention") if dtype is not None else _dtypes.float32
        E = self.embed_dim

        def empty(*shape):
            return Parameter(_creation.empty(*shape, dtype=dt, device=device))
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * E, E)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = empty(E, E)
            self.k_proj_weight = empty(E, self.kdim)
            self.v_proj_weight = empty(E, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * E)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, device=device,
                                                        dtype=dt)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self, generator=None) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, generator=generator)
        else:
            init.xavier_uniform_(self.q_proj_weight, generator=generator)
            init.xavier_uniform_(self.k_proj_weight, generator=generator)
            init.xavier_uniform_(self.v_proj_weight, generator=generator)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    # ---- forward ----------------------------------------------------------------
    def _projections(self, query, key, value):
        """q (L, N, E), k (S, N, E), v (S, N, E) after the input projections:
        self-attention (query is key is value) in one matmul."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq = bk = bv = None
        if b is not None:
            bq, bk, bv = pieces(b, 0, (E, E, E))
        if self._qkv_same_embed_dim:
            if query is key and key is value:
                qkv = _project(query, self.in_proj_weight, b)
                return pieces(qkv, qkv.ndim - 1, (E, E, E))
            wq, wk, wv = pieces(self.in_proj_weight, 0, (E, E, E))
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return _project(query, wq, bq), _project(key, wk, bk), _project(value, wv, bv)

    def _check(self, query, key, value, key_padding_mask, attn_mask):
        """Every shape checked up front, each message naming the layer; True
        when unbatched."""
        layer = "MultiheadAttention"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{layer}: {name} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3):
            raise ValueError(f"{layer}: query should be unbatched 2-D (L, E) or batched 3-D, "
                             f"got {query.ndim}-D query of shape {_shape(query)}")
        unbatched = query.ndim == 2
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{layer}: query, key and value must all be 2-D (unbatched) or "
                             f"all 3-D, got shapes {_shape(query)}, {_shape(key)}, "
                             f"{_shape(value)}")
        for name, t, d in (("query", query, self.embed_dim), ("key", key, self.kdim),
                           ("value", value, self.vdim)):
            if t.shape[-1] != d:
                what = "embed_dim" if name == "query" else ("kdim" if name == "key" else "vdim")
                raise ValueError(f"{layer}: expected {name} of feature size {what}={d}, got "
                                 f"shape {_shape(t)}")
            if t.dtype is not self.out_proj.weight.dtype:
                raise TypeError(f"{layer}: {name} has dtype {t.dtype.name}, the layer's "
                                f"parameters {self.out_proj.weight.dtype.name}")
        bf = self.batch_first and not unbatched
        lead = (lambda t: _shape(t)[:-1][::-1]) if bf else (lambda t: _shape(t)[:-1])
        if lead(key) != lead(value):
            raise ValueError(f"{layer}: key and value must have the same sequence length and "
                             f"batch size, got shapes {_shape(key)} and {_shape(value)}")
        if not unbatched and lead(query)[1] != lead(key)[1]:
            raise ValueError(f"{layer}: query and key must have the same batch size, got "
                             f"shapes {_shape(query)} and {_shape(key)}")
        L, S = lead(query)[0], lead(key)[0]
        N = None if unbatched else lead(query)[1]
        for name, m in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if m is None:
                continue
            if not isinstance(m, Tensor):
                raise TypeError(f"{layer}: {name} must be a Tensor or None, got "
                                f"{type(m).__name__}")
            if m.dtype is not _dtypes.bool_ and m.dtype is not query.dtype:
                raise TypeError(f"{layer}: only bool and floating types of {name} are "
                                f"supported (float of the query's dtype {query.dtype.name}), "
                                f"got {m.dtype.name}")
        if key_padding_mask is not None:
            want = (S,) if unbatched else (N, S)
            if _shape(key_padding_mask) != want:
                raise ValueError(f"{layer}: expected key_padding_mask of shape {want} "
                                 f"({'S' if unbatched else 'N, S'}), got "
                                 f"{_shape(key_padding_mask)}")
        if attn_mask is not None:
            shape = _shape(attn_mask)
            nh = self.num_heads * (1 if unbatched else N)
            if not (shape == (L, S) or shape == (nh, L, S)):
                raise ValueError(f"{layer}: the shape of attn_mask is {shape}, but should be "
                                 f"(L, S) = {(L, S)} or (N * num_heads, L, S) = "
                                 f"{(nh, L, S)}")
        return unbatched

    @staticmethod
    def _additive(mask: Tensor, like: Tensor) -> Tensor:
        """A bool mask (True: do not attend) as -inf / 0 in like's dtype."""
        if mask.dtype is _dtypes.bool_:
            zero = _creation.zeros((), dtype=like.dtype, device=like.device)
            return where(mask, float("-inf"), zero)
        return mask

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        unbatched = self._check(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: need attn_mask if specifying the "
                               "is_causal hint (the causal mask itself)")
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        L, N, E = query.shape
        S = key.shape[0]
        H, hd = self.num_heads, self.head_dim
        q, k, v = self._projections(query, key, value)

        def heads(t, n):  # (n, N, E) -> (N, H, n, hd)
            return t.reshape(n, N, H, hd).permute(1, 2, 0, 3).contiguous()  # fast products
        q, k, v = heads(q, L), heads(k, S), heads(v, S)
        mask = None
        if attn_mask is not None:
            m = self._additive(attn_mask, q)
            mask = m.reshape(N, H, L, S) if m.ndim == 3 else m
        if key_padding_mask is not None:
            kpm = self._additive(key_padding_mask, q).reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q * (1.0 / math.sqrt(hd))) @ k.mT          # (N, H, L, S)
            if mask is not None:
                scores = scores + mask
            w = softmax(scores, -1)                               # a fully masked row: NaN
            if p > 0.0:
                w = dropout(w, p)
            out = w @ v
            weights = w.mean(1) if average_attn_weights else w
        else:
            out = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = out.permute(2, 0, 1, 3).reshape(L * N, E)          # (L, N, H, hd)
        out = self.out_proj(out).reshape(L, N, E)
        if unbatched:
            out = out.squeeze(1)
            if weights is not None:
                weights = weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
