"""The recurrent layers' computation (RNN, LSTM, GRU), behind
tinyfin/nn/modules/rnn.py, written over tinyfin's differentiable ops.

Per layer and direction: one matmul projects the inputs of every time step
((L * N, I) @ W_ih^T, with b_ih, and b_hh where it can be folded in), then
each step costs one matmul (h @ W_hh^T) and the gate arithmetic on (N, G*H).
Gate layouts are PyTorch's: LSTM rows (i, f, g, o), GRU rows (r, z, n) with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), so weights map one to one.

The per-step pieces (one time step of the projection, one gate of the
pre-activations) are views taken by `pieces`, whose backward joins the
pieces' gradients once (cat / stack) instead of scattering each into zeros
of the whole tensor: unbind's per-view adjoint would cost L full-size
tensors per layer, O(L^2) work in the backward.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

from ctypes import byref

from ... import _C
from ...autograd.grad_mode import no_grad, state as _grad_state
from ...autograd.graph import needs_grad, record
from ...autograd.linear_maps import untracked_zeros
from ...shape import cat, stack
from ...tensor import Handle, Tensor, _call, _wrap
from .dropout import dropout as _dropout


# ---- pieces: views with one joining backward ------------------------------------
def _join_backward(g_token, grads: list, dim: int, sizes: tuple, like_shape: tuple,
                   squeeze: bool):
    """Runs after every piece's backward (it was recorded before them):
    the pieces' gradients, zeros where a piece got none, joined into the
    gradient of the whole. `grads` is emptied for the next pass."""
    parts = []
    for i, size in enumerate(sizes):
        gi = grads[i]
        grads[i] = None
        if gi is None:
            shape = list(like_shape)
            if squeeze:
                del shape[dim]
            else:
                shape[dim] = size
            gi = untracked_zeros(tuple(shape), g_token)
        parts.append(gi)
    return (stack(parts, dim) if squeeze else cat(parts, dim),)


def _piece_backward(g, grads: list, i: int, token_grad: Tensor):
    grads[i] = g
    return (token_grad,)


def pieces(x: Tensor, dim: int, sizes: Optional[Sequence[int]] = None) -> List[Tensor]:
    """Views of x along dim: of the given sizes (split), or, when sizes is
    None, every index with dim removed (unbind). Their gradients are
    gathered by the views' backward and joined by one node of x's: each
    view is recorded on a 0-size token, whose node (created before the
    views, so run after all of them) returns the joined gradient."""
    squeeze = sizes is None
    n = x.shape[dim]
    if squeeze:
        views = [_call(_C.tf_select, x._h, dim, i) for i in range(n)]
        sizes = (1,) * n
    else:
        views, start = [], 0
        for s in sizes:
            views.append(_call(_C.tf_slice, x._h, dim, start, start + s, 1))
            start += s
    if not needs_grad(x):
        return views
    grads: list = [None] * len(views)
    token = untracked_zeros((0,), x)
    record("pieces", token, (x,), _join_backward,
           (grads, dim, tuple(sizes), tuple(x.shape), squeeze))
    token_grad = untracked_zeros((0,), x)
    for i, v in enumerate(views):
        record("piece", v, (token,), _piece_backward, (grads, i, token_grad))
    return views


# ---- the hidden projection: W_hh's gradient as one product ------------------------
class HiddenProjection:
    """h -> h @ W_hh^T for every step of one direction, recorded so that
    W_hh's gradient is one matmul over all steps, G^T @ H (G the steps'
    output gradients (L*N, G*H) and H their inputs h_{t-1}), instead of a
    (G*H, H) product per step added up one by one. Each step's node hands
    (g, h) to the list and passes the gradient on to h; W's node, recorded
    on a 0-size token before the steps (so run after all of them), joins.
    The formulas are tinyfin's ops, so create_graph works through them."""

    def __init__(self, w: Tensor) -> None:
        self.w = w
        self.pairs: Optional[list] = None
        if needs_grad(w):
            self.pairs = []
            self.token = untracked_zeros((0,), w)
            record("hidden_weight", self.token, (w,), _weight_join, (self.pairs,))
            self.token_grad = untracked_zeros((0,), w)

    def apply(self, h: Tensor) -> Tensor:
        if self.pairs is None:
            return h @ self.w.mT
        with no_grad():
            out = h @ self.w.mT
        if _grad_state.enabled:
            record("hidden_matmul", out, (h, self.token), _hidden_backward,
                   (h, self.w, self.pairs, self.token_grad))
        return out


def _hidden_backward(g, h, w, pairs, token_grad):
    pairs.append((g, h))
    return (g @ w if h._rg else None), token_grad


def _weight_join(g_token, pairs):
    gs = [p[0] for p in pairs]
    hs = [p[1] for p in pairs]
    pairs.clear()
    if len(gs) == 1:
        return (gs[0].mT @ hs[0],)
    return (cat(gs, 0).mT @ cat(hs, 0),)


def _hh(h: Tensor, w) -> Tensor:
    return w.apply(h) if isinstance(w, HiddenProjection) else h @ w.mT


# ---- the cells ------------------------------------------------------------------
def _hidden(h: Optional[Tensor], w_hh: Tensor, b_hh: Optional[Tensor]):
    """h @ W_hh^T (+ b_hh); None stands for a zero state."""
    if h is None:
        return b_hh
    gh = _hh(h, w_hh)
    return gh if b_hh is None else gh + b_hh


def rnn_cell(xp: Tensor, h, c, w_hh, activation):
    """h' = act(xp + h W_hh^T), xp = x W_ih^T + b_ih + b_hh."""
    g = xp if h is None else xp + _hh(h, w_hh)
    return activation(g), None


def lstm_cell(xp: Tensor, h, c, w_hh, hidden: int):
    """xp = x W_ih^T + b_ih + b_hh, rows (i, f, g, o); c' = f c + i g,
    h' = o tanh(c'), by the fused kernel (lstm_pointwise)."""
    gates = xp if h is None else xp + _hh(h, w_hh)
    return lstm_pointwise(gates, c, hidden)


def lstm_pointwise(gates: Tensor, c_prev: Optional[Tensor], hidden: int):
    """(h, c) from the pre-activations (N, 4H) and c_prev (N, H) (None: 0)
    in one C call (native/src/cpu/rnn.c), recorded as one op whose output
    is [h | c]; the backward is the fused kernel too, or, when it must
    itself be differentiable (create_graph), the same formula in tinyfin's
    ops (_lstm_backward_ops)."""
    hc_h, act_h = Handle(), Handle()
    status = _C.tf_lstm_cell(gates._h, None if c_prev is None else c_prev._h,
                             byref(hc_h), byref(act_h))
    if status:
        raise _C.error(status)
    hc, act = _wrap(hc_h), _wrap(act_h)
    if needs_grad(gates, c_prev):
        record("lstm_cell", hc, (gates, c_prev), _lstm_backward,
               (gates, c_prev, act, hidden))
    h, c = pieces(hc, 1, (hidden, hidden))
    return h, c


def _lstm_backward(g, gates, c_prev, act, hidden):
    if _grad_state.enabled:
        return _lstm_backward_ops(g, gates, c_prev, hidden)
    dg_h, dc_h = Handle(), Handle()
    status = _C.tf_lstm_cell_backward(g._h, act._h, None if c_prev is None else c_prev._h,
                                      byref(dg_h), byref(dc_h))
    if status:
        raise _C.error(status)
    return _wrap(dg_h), (_wrap(dc_h) if c_prev is not None else None)


def _lstm_backward_ops(g, gates, c_prev, hidden):
    """The kernel's backward in differentiable ops (cpu/rnn.c states it):
    s = dc + dh o (1 - tanh^2 c); d gates = (s g i (1 - i), s c_prev f (1 - f),
    s i (1 - g^2), dh tanh(c) o (1 - o)); d c_prev = s f."""
    a, b, gg, o = pieces(gates, 1, (hidden,) * 4)
    i, f, gg, o = a.sigmoid(), b.sigmoid(), gg.tanh(), o.sigmoid()
    dh, dc = pieces(g, 1, (hidden, hidden))
    c = i * gg if c_prev is None else f * c_prev + i * gg
    tc = c.tanh()
    s = dc + dh * o * (1 - tc * tc)
    parts = [s * gg * i * (1 - i),
             (s * c_prev * f * (1 - f)) if c_prev is not None else s * 0.0,
             s * i * (1 - gg * gg), dh * tc * o * (1 - o)]
    return cat(parts, 1), (s * f if c_prev is not None else None)


def gru_cell(xp: Tensor, h, c, w_hh, b_hh, hidden: int):
    """xp = x W_ih^T + b_ih, rows (r, z, n); r, z = sigmoid(x_rz + h_rz),
    n = tanh(x_n + r * (W_hn h + b_hn)), h' = (1 - z) n + z h."""
    xr, xz, xn = pieces(xp, 1, (hidden,) * 3)
    gh = _hidden(h, w_hh, b_hh)
    if gh is None:              # h = 0 and no bias: every hidden term is 0
        z = xz.sigmoid()
        n = xn.tanh()
        return n - z * n, None
    hr, hz, hn = pieces(gh, gh.ndim - 1, (hidden,) * 3)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    if h is None:               # h' = (1 - z) n
        return n - z * n, None
    return n + z * (h - n), None


# ---- a whole layer stack --------------------------------------------------------
def _project(x: Tensor, w_ih: Tensor, bias: Optional[Tensor]) -> Tensor:
    """(L, N, I) -> (L, N, G*H): every step's input projection in one matmul."""
    L, N, I = x.shape
    p = x.reshape(L * N, I) @ w_ih.mT
    if bias is not None:
        p = p + bias
    return p.reshape(L, N, w_ih.shape[0])


def _direction(mode: str, xp: Tensor, h, c, w_hh, b_hh, hidden: int, reverse: bool,
               activation):
    """One direction of one layer over the projected inputs (L, N, G*H):
    (outputs (L, N, H), h_n, c_n)."""
    steps = pieces(xp, 0)
    w_hh = HiddenProjection(w_hh)
    if h is None and len(steps) == 1:
        # one step from a zero state: W_hh still takes part (with a zero
        # gradient, as PyTorch's), rather than being skipped
        h = untracked_zeros((xp.shape[1], hidden), xp)
        c = h if mode == "LSTM" else None
    outs: list = [None] * len(steps)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    for t in order:
        if mode == "LSTM":
            h, c = lstm_cell(steps[t], h, c, w_hh, hidden)
        elif mode == "GRU":
            h, c = gru_cell(steps[t], h, c, w_hh, b_hh, hidden)
        else:
            h, c = rnn_cell(steps[t], h, c, w_hh, activation)
        outs[t] = h
    return stack(outs, 0), h, c


def recurrent(mode: str, x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor],
              weights: Sequence[tuple], num_layers: int, num_directions: int,
              hidden: int, dropout: float, training: bool, activation=None):
    """x (L, N, I) time-major; h0, c0 (num_layers * D, N, H) or None (zeros);
    weights[layer * D + d] = (w_ih, w_hh, b_ih, b_hh), biases None without
    bias. Returns (output (L, N, D*H), h_n, c_n or None). Dropout (training,
    p > 0: nn.functional.dropout) on every layer's output but the last."""
    L, N = x.shape[0], x.shape[1]
    h0s = pieces(h0, 0) if h0 is not None else [None] * (num_layers * num_directions)
    c0s = pieces(c0, 0) if c0 is not None else [None] * (num_layers * num_directions)
    hs, cs = [], []
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for d in range(num_directions):
            k = layer * num_directions + d
            w_ih, w_hh, b_ih, b_hh = weights[k]
            if mode == "GRU" or b_ih is None:
                bias = b_ih
            else:
                bias = b_ih + b_hh          # folded into the projection
            if L == 0:
                xp = None
            else:
                xp = _project(layer_in, w_ih, bias)
            h, c = h0s[k], c0s[k]
            if L == 0:
                out = untracked_zeros((0, N, hidden), x)
            else:
                out, h, c = _direction(mode, xp, h, c, w_hh,
                                       b_hh if mode == "GRU" else None, hidden, d == 1,
                                       activation)
            if h is None:   # no steps and no initial state
                h = untracked_zeros((N, hidden), x)
            if mode == "LSTM" and c is None:
                c = untracked_zeros((N, hidden), x)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        layer_in = outs[0] if num_directions == 1 else cat(outs, 2)
        if dropout > 0.0 and training and layer < num_layers - 1:
            layer_in = _dropout(layer_in, dropout)
    h_n = stack(hs, 0)
    c_n = stack(cs, 0) if mode == "LSTM" else None
    return layer_in, h_n, c_n
