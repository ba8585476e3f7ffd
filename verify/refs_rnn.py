"""NumPy float64 references of the recurrent and attention layers, written
from the equations in PyTorch's documentation (not from tinyfin's code):
plain loops over layers, directions and time steps, one matrix-vector
product per gate. Shared by verify/modules_rnn.py, verify/modules_attention.py
and the tests.

params: {state_dict key: array}, PyTorch's names and layouts."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # = 1 / (1 + e^-x), without overflow


def _p(params: Dict[str, np.ndarray], name: str, rows: int):
    v = params.get(name)
    return np.zeros(rows) if v is None else np.asarray(v, np.float64)


def rnn_reference(mode: str, params: Dict[str, np.ndarray], x: np.ndarray, h0=None, c0=None,
                  *, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                  batch_first: bool = False, nonlinearity: str = "tanh",
                  dropout: float = 0.0, keep_masks: Optional[Sequence[np.ndarray]] = None):
    """mode "RNN", "LSTM" or "GRU". x (L, N, I) ((N, L, I) batch_first, (L, I)
    unbatched); h0, c0 (layers * D, N, H) or None. keep_masks: per layer but
    the last, the bool dropout mask of its output (L, N, D*H) (training).
    Returns (output, h_n) or, for LSTM, (output, h_n, c_n)."""
    x = np.asarray(x, np.float64)
    unbatched = x.ndim == 2
    if unbatched:
        x = x[:, None, :]
        h0 = None if h0 is None else np.asarray(h0)[:, None, :]
        c0 = None if c0 is None else np.asarray(c0)[:, None, :]
    elif batch_first:
        x = x.transpose(1, 0, 2)
    L, N, _ = x.shape
    H = hidden_size
    D = 2 if bidirectional else 1
    act = np.tanh if nonlinearity == "tanh" else (lambda v: np.maximum(v, 0.0))
    hs, cs = [], []
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih = np.asarray(params["weight_ih" + sfx], np.float64)
            w_hh = np.asarray(params["weight_hh" + sfx], np.float64)
            b_ih = _p(params, "bias_ih" + sfx, w_ih.shape[0])
            b_hh = _p(params, "bias_hh" + sfx, w_ih.shape[0])
            k = layer * D + d
            h = np.zeros((N, H)) if h0 is None else np.asarray(h0[k], np.float64)
            c = np.zeros((N, H)) if c0 is None else np.asarray(c0[k], np.float64)
            out = np.zeros((L, N, H))
            times = range(L - 1, -1, -1) if d else range(L)
            for t in times:
                xt = layer_in[t]
                if mode == "RNN":
                    h = act(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
                elif mode == "LSTM":
                    def gate(j, f):
                        rows = slice(j * H, (j + 1) * H)
                        return f(xt @ w_ih[rows].T + b_ih[rows] + h @ w_hh[rows].T + b_hh[rows])
                    i, f, g, o = (gate(0, _sigmoid), gate(1, _sigmoid), gate(2, np.tanh),
                                  gate(3, _sigmoid))
                    c = f * c + i * g
                    h = o * np.tanh(c)
                else:  # GRU
                    R, Z, Nn = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
                    r = _sigmoid(xt @ w_ih[R].T + b_ih[R] + h @ w_hh[R].T + b_hh[R])
                    z = _sigmoid(xt @ w_ih[Z].T + b_ih[Z] + h @ w_hh[Z].T + b_hh[Z])
                    n = np.tanh(xt @ w_ih[Nn].T + b_ih[Nn] + r * (h @ w_hh[Nn].T + b_hh[Nn]))
                    h = (1.0 - z) * n + z * h
                out[t] = h
            outs.append(out)
            hs.append(h)
            cs.append(c)
        layer_in = np.concatenate(outs, axis=2)
        if keep_masks is not None and layer < num_layers - 1 and dropout > 0:
            layer_in = np.where(keep_masks[layer], layer_in / (1.0 - dropout), 0.0)
    output, h_n, c_n = layer_in, np.stack(hs), np.stack(cs)
    if unbatched:
        output, h_n, c_n = output[:, 0], h_n[:, 0], c_n[:, 0]
    elif batch_first:
        output = output.transpose(1, 0, 2)
    return (output, h_n, c_n) if mode == "LSTM" else (output, h_n)


def cell_reference(mode: str, params: Dict[str, np.ndarray], x, h=None, c=None, *,
                   hidden_size: int, nonlinearity: str = "tanh"):
    """One step of RNNCell / LSTMCell / GRUCell (params without the _l0 suffix)."""
    p = {k + "_l0": v for k, v in params.items()}
    x = np.asarray(x, np.float64)
    one = x.ndim == 1
    xs = x[None, None] if one else x[None]
    h0 = None if h is None else (np.asarray(h)[None, None] if one else np.asarray(h)[None])
    c0 = None if c is None else (np.asarray(c)[None, None] if one else np.asarray(c)[None])
    res = rnn_reference(mode, p, xs, h0, c0, hidden_size=hidden_size, nonlinearity=nonlinearity)
    h1 = res[1][0, 0] if one else res[1][0]
    if mode != "LSTM":
        return h1
    return h1, (res[2][0, 0] if one else res[2][0])


def _softmax_rows(s: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, row by row; a row of only -inf is NaN
    (MultiheadAttention's explicit softmax)."""
    out = np.empty_like(s)
    for idx in np.ndindex(*s.shape[:-1]):
        row = s[idx]
        m = np.max(row) if row.size else 0.0
        if m == -np.inf:
            out[idx] = np.nan
            continue
        e = np.exp(row - m)
        out[idx] = e / e.sum()
    return out


def mha_reference(params: Dict[str, np.ndarray], query, key, value, *, num_heads: int,
                  key_padding_mask=None, attn_mask=None, need_weights: bool = True,
                  average_attn_weights: bool = True, batch_first: bool = False):
    """MultiheadAttention's forward (no dropout), from its definition:
    head h attends with q W_q[h]^T, k W_k[h]^T, v W_v[h]^T, scale 1/sqrt(hd);
    masks: bool True = do not attend, float added. With need_weights=False a
    fully masked row gives zero attention (scaled_dot_product_attention);
    with need_weights=True, NaN (an explicit softmax)."""
    q, k, v = (np.asarray(a, np.float64) for a in (query, key, value))
    unbatched = q.ndim == 2
    if unbatched:
        q, k, v = q[:, None], k[:, None], v[:, None]
        if key_padding_mask is not None:
            key_padding_mask = np.asarray(key_padding_mask)[None]
    elif batch_first:
        q, k, v = q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2)
    L, N, E = q.shape
    S = k.shape[0]
    hd = E // num_heads
    if params.get("in_proj_weight") is not None:
        W = np.asarray(params["in_proj_weight"], np.float64)
        wq, wk, wv = W[:E], W[E:2 * E], W[2 * E:]
    else:
        wq, wk, wv = (np.asarray(params[n], np.float64)
                      for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"))
    b = params.get("in_proj_bias")
    b = np.zeros(3 * E) if b is None else np.asarray(b, np.float64)
    wo = np.asarray(params["out_proj.weight"], np.float64)
    bo = params.get("out_proj.bias")
    bo = np.zeros(E) if bo is None else np.asarray(bo, np.float64)
    add = np.zeros((N, num_heads, L, S))
    if attn_mask is not None:
        am = np.asarray(attn_mask)
        am = np.where(am, -np.inf, 0.0) if am.dtype == np.bool_ else am.astype(np.float64)
        add = add + (am.reshape(N, num_heads, L, S) if am.ndim == 3 else am)
    if key_padding_mask is not None:
        kp = np.asarray(key_padding_mask)
        kp = np.where(kp, -np.inf, 0.0) if kp.dtype == np.bool_ else kp.astype(np.float64)
        add = add + kp[:, None, None, :]
    out = np.zeros((L, N, E))
    weights = np.zeros((N, num_heads, L, S))
    for n in range(N):
        for h in range(num_heads):
            cols = slice(h * hd, (h + 1) * hd)
            qh = q[:, n] @ wq[cols].T + b[:E][cols]
            kh = k[:, n] @ wk[cols].T + b[E:2 * E][cols]
            vh = v[:, n] @ wv[cols].T + b[2 * E:][cols]
            s = qh @ kh.T / math.sqrt(hd) + add[n, h]
            w = _softmax_rows(s)
            if not need_weights:
                w = np.where(np.isnan(w) & np.all(s == -np.inf, axis=-1, keepdims=True), 0.0, w)
            weights[n, h] = w
            out[:, n, cols] = w @ vh
    out = out @ wo.T + bo
    w_out = weights.mean(axis=1) if average_attn_weights else weights
    if unbatched:
        out, w_out = out[:, 0], w_out[0]
    elif batch_first:
        out = out.transpose(1, 0, 2)
    return (out, w_out) if need_weights else (out, None)
