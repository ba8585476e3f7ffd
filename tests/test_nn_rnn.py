"""nn.RNN, nn.LSTM, nn.GRU and their cells: against the NumPy float64
references of verify/refs_rnn.py (written from the equations), against
PyTorch with identical weights (forward, h_n / c_n, the gradients of the
input, the initial states and every parameter) over every option, by
gradcheck, and their errors; the pieces() helper's gradients; dropout and
the initialisation."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn
from tinyfin.autograd.gradcheck import gradcheck, gradgradcheck
from tinyfin.nn.ops.rnn import pieces
from verify.refs_rnn import cell_reference, rnn_reference

MODES = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None), ("GRU", None)]


def _make(mode, nonlinearity, *args, **kwargs):
    if mode == "RNN":
        return nn.RNN(*args, nonlinearity=nonlinearity, **kwargs)
    return getattr(nn, mode)(*args, **kwargs)


def _np_params(m):
    return {k: v.detach().numpy().astype(np.float64) for k, v in m.state_dict().items()}


def _t(a, dtype=tf.float64, grad=False):
    t = tf.tensor(np.asarray(a), dtype=dtype)
    return t.requires_grad_() if grad else t


def _shape_in(L, N, I, batch_first, unbatched):
    if unbatched:
        return (L, I)
    return (N, L, I) if batch_first else (L, N, I)


# ---- vs the NumPy reference -----------------------------------------------------
@pytest.mark.parametrize("mode,nl", MODES)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_h0", [False, True])
def test_forward_matches_numpy_reference(mode, nl, num_layers, bidirectional, batch_first, bias,
                                         with_h0):
    rng = np.random.default_rng(hash((mode, nl, num_layers, bidirectional, batch_first, bias,
                                      with_h0)) % 2**32)
    L, N, I, H = 5, 3, 4, 6
    tf.manual_seed(1)
    m = _make(mode, nl, I, H, num_layers, bias=bias, batch_first=batch_first,
              bidirectional=bidirectional, dtype=tf.float64)
    D = 2 if bidirectional else 1
    x = rng.standard_normal(_shape_in(L, N, I, batch_first, False))
    h0 = rng.standard_normal((num_layers * D, N, H)) if with_h0 else None
    c0 = rng.standard_normal((num_layers * D, N, H)) if with_h0 and mode == "LSTM" else None
    ref = rnn_reference(mode, _np_params(m), x, h0, c0, hidden_size=H, num_layers=num_layers,
                        bidirectional=bidirectional, batch_first=batch_first,
                        nonlinearity=nl or "tanh")
    if mode == "LSTM":
        out, (h_n, c_n) = m(_t(x), (_t(h0), _t(c0)) if with_h0 else None)
        got = (out, h_n, c_n)
    else:
        out, h_n = m(_t(x), _t(h0) if with_h0 else None)
        got = (out, h_n)
    assert out.shape == (N, L, D * H) if batch_first else (L, N, D * H)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.detach().numpy(), r, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mode,nl", MODES)
def test_unbatched_input(mode, nl):
    rng = np.random.default_rng(3)
    L, I, H = 4, 3, 5
    m = _make(mode, nl, I, H, 2, bidirectional=True, dtype=tf.float64)
    x = rng.standard_normal((L, I))
    h0 = rng.standard_normal((4, H))
    c0 = rng.standard_normal((4, H))
    ref = rnn_reference(mode, _np_params(m), x, h0, c0 if mode == "LSTM" else None,
                        hidden_size=H, num_layers=2, bidirectional=True, nonlinearity=nl or "tanh")
    if mode == "LSTM":
        out, (h, c) = m(_t(x), (_t(h0), _t(c0)))
        got = (out, h, c)
    else:
        out, h = m(_t(x), _t(h0))
        got = (out, h)
    assert out.shape == (L, 2 * H) and h.shape == (4, H)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.detach().numpy(), r, rtol=1e-12, atol=1e-13)


def test_float32_large_batch_reaches_parallel_paths():
    """(64, 4H = 1024) gates: 65536 elements per step, past TF_PARALLEL_GRAIN,
    and projections past the matmul panels; float32 vs the float64 reference."""
    rng = np.random.default_rng(4)
    L, N, I, H = 6, 64, 300, 256
    m = nn.LSTM(I, H, bidirectional=True)
    x = rng.standard_normal((L, N, I)).astype(np.float32)
    out, (h, c) = m(_t(x, tf.float32))
    ref = rnn_reference("LSTM", _np_params(m), x, hidden_size=H, bidirectional=True)
    for g, r in zip((out, h, c), ref):
        np.testing.assert_allclose(g.detach().numpy(), r, rtol=0, atol=2e-5)


@pytest.mark.parametrize("mode,nl", MODES)
def test_cells_match_reference(mode, nl):
    rng = np.random.default_rng(5)
    I, H, N = 3, 4, 2
    cls = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[mode]
    m = cls(I, H, nonlinearity=nl, dtype=tf.float64) if mode == "RNN" else cls(I, H,
                                                                              dtype=tf.float64)
    p = _np_params(m)
    for batched in (True, False):
        x = rng.standard_normal((N, I) if batched else (I,))
        h = rng.standard_normal((N, H) if batched else (H,))
        c = rng.standard_normal((N, H) if batched else (H,))
        if mode == "LSTM":
            got = m(_t(x), (_t(h), _t(c)))
            ref = cell_reference(mode, p, x, h, c, hidden_size=H)
            got0 = m(_t(x))
            ref0 = cell_reference(mode, p, x, hidden_size=H)
            for g, r in zip(got + got0, ref + ref0):
                np.testing.assert_allclose(g.detach().numpy(), r, rtol=1e-12, atol=1e-13)
        else:
            kw = {"nonlinearity": nl} if mode == "RNN" else {}
            np.testing.assert_allclose(m(_t(x), _t(h)).detach().numpy(),
                                       cell_reference(mode, p, x, h, hidden_size=H, **kw),
                                       rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(m(_t(x)).detach().numpy(),
                                       cell_reference(mode, p, x, hidden_size=H, **kw),
                                       rtol=1e-12, atol=1e-13)


# ---- vs PyTorch, identical weights ----------------------------------------------
def _torch_pair(mode, nl, dtype, *args, **kwargs):
    torch = pytest.importorskip("torch")
    tdt = torch.float64 if dtype is tf.float64 else torch.float32
    kw = dict(kwargs)
    if mode == "RNN":
        kw["nonlinearity"] = nl
    tm = getattr(torch.nn, mode)(*args, **kw).to(tdt)
    fm = _make(mode, nl, *args, dtype=dtype, **kwargs)
    fm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert list(fm.state_dict().keys()) == list(tm.state_dict().keys())
    return torch, tm, fm


CONFIGS = [dict(num_layers=nl, bidirectional=bd, batch_first=bf, bias=b)
           for nl, bd, bf, b in itertools.product((1, 2), (False, True), (False, True),
                                                  (True, False))]


@pytest.mark.parametrize("mode,nl", MODES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_matches_torch_forward_and_gradients(mode, nl, cfg):
    rng = np.random.default_rng(7)
    L, N, I, H = 4, 3, 5, 4
    torch, tm, fm = _torch_pair(mode, nl, tf.float64, I, H, dropout=0.3 if cfg["num_layers"] > 1
                                else 0.0, **cfg)
    tm.eval()
    fm.eval()  # dropout between layers is off in eval
    D = 2 if cfg["bidirectional"] else 1
    x = rng.standard_normal(_shape_in(L, N, I, cfg["batch_first"], False))
    h0 = rng.standard_normal((cfg["num_layers"] * D, N, H))
    c0 = rng.standard_normal((cfg["num_layers"] * D, N, H))
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    xf, h0f, c0f = (_t(a, grad=True) for a in (x, h0, c0))
    if mode == "LSTM":
        to, (th, tc) = tm(xt, (h0t, c0t))
        fo, (fh, fc) = fm(xf, (h0f, c0f))
        touts, fouts, tins, fins = (to, th, tc), (fo, fh, fc), (xt, h0t, c0t), (xf, h0f, c0f)
    else:
        to, th = tm(xt, h0t)
        fo, fh = fm(xf, h0f)
        touts, fouts, tins, fins = (to, th), (fo, fh), (xt, h0t), (xf, h0f)
    seeds = [rng.standard_normal(tuple(o.shape)) for o in touts]
    for a, b in zip(touts, fouts):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-12, atol=1e-13)
    sum((o * torch.tensor(s)).sum() for o, s in zip(touts, seeds)).backward()
    sum((o * _t(s)).sum() for o, s in zip(fouts, seeds)).backward()
    for a, b in zip(tins, fins):
        np.testing.assert_allclose(b.grad.detach().numpy(), a.grad.detach().numpy(), rtol=1e-11, atol=1e-12)
    tparams = dict(tm.named_parameters())
    for name, p in fm.named_parameters():
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.detach().numpy(), tparams[name].grad.detach().numpy(), rtol=1e-11,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("mode,nl", MODES)
def test_matches_torch_float32_without_initial_state(mode, nl):
    rng = np.random.default_rng(8)
    L, N, I, H = 7, 33, 20, 48
    torch, tm, fm = _torch_pair(mode, nl, tf.float32, I, H, 2, bidirectional=True,
                                batch_first=True)
    x = rng.standard_normal((N, L, I)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    xf = _t(x, tf.float32, grad=True)
    to, th = tm(xt)[0], tm(xt)[1]
    fo, fh = fm(xf)
    th, fh = (th[0], fh[0]) if mode == "LSTM" else (th, fh)
    np.testing.assert_allclose(fo.detach().numpy(), to.detach().numpy(), rtol=0, atol=3e-5)
    np.testing.assert_allclose(fh.detach().numpy(), th.detach().numpy(), rtol=0, atol=3e-5)
    (to.sum() + th.sum()).backward()
    (fo.sum() + fh.sum()).backward()
    np.testing.assert_allclose(xf.grad.detach().numpy(), xt.grad.detach().numpy(), rtol=0, atol=1e-4)
    tparams = dict(tm.named_parameters())
    for name, p in fm.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), tparams[name].grad.detach().numpy(), rtol=1e-4,
                                   atol=2e-4, err_msg=name)


@pytest.mark.parametrize("mode,nl", MODES)
def test_cells_match_torch(mode, nl):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    I, H, N = 3, 4, 5
    kw = {"nonlinearity": nl} if mode == "RNN" else {}
    tm = getattr(torch.nn, mode + "Cell")(I, H, **kw).double()
    fm = getattr(nn, mode + "Cell")(I, H, dtype=tf.float64, **kw)
    fm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x, h, c = (rng.standard_normal(s) for s in ((N, I), (N, H), (N, H)))
    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    xf, hf, cf = (_t(a, grad=True) for a in (x, h, c))
    if mode == "LSTM":
        a, b = tm(xt, (ht, ct)), fm(xf, (hf, cf))
        (a[0].sum() + 2 * a[1].sum()).backward()
        (b[0].sum() + 2 * b[1].sum()).backward()
        pairs = list(zip(a, b))
    else:
        a, b = tm(xt, ht), fm(xf, hf)
        a.sum().backward()
        b.sum().backward()
        pairs = [(a, b)]
    for ta, fb in pairs:
        np.testing.assert_allclose(fb.detach().numpy(), ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xf.grad.detach().numpy(), xt.grad.detach().numpy(), rtol=1e-11, atol=1e-12)
    tp = dict(tm.named_parameters())
    for name, p in fm.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), tp[name].grad.detach().numpy(), rtol=1e-11, atol=1e-12)


# ---- gradcheck --------------------------------------------------------------------
@pytest.mark.parametrize("mode,nl", MODES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_small(mode, nl, bidirectional):
    rng = np.random.default_rng(10)
    L, N, I, H = 3, 2, 2, 2
    m = _make(mode, nl, I, H, 2, bidirectional=bidirectional, dtype=tf.float64)
    params = list(m.parameters())
    names = [n for n, _ in m.named_parameters()]
    D = 2 if bidirectional else 1
    x = _t(rng.standard_normal((L, N, I)) + 0.3, grad=True)   # relu: away from 0
    h0 = _t(rng.standard_normal((2 * D, N, H)), grad=True)
    c0 = _t(rng.standard_normal((2 * D, N, H)), grad=True)

    def f(x, h0, c0, *ps):
        for name, p in zip(names, ps):
            m._parameters[name] = p
        if mode == "LSTM":
            out, (h, c) = m(x, (h0, c0))
            return out, h, c
        return m(x, h0)

    leaves = [tf.tensor(p.detach().numpy()).requires_grad_() for p in params]
    assert gradcheck(f, (x, h0, c0, *leaves))
    if mode != "RNN" or nl == "tanh":
        assert gradgradcheck(f, (x, h0, c0, *leaves))


# ---- pieces: the views with one joining backward ---------------------------------
def test_pieces_gradients_join_and_fill_unused_with_zeros():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((4, 6))
    x = _t(a, grad=True)
    p = pieces(x, 1, (1, 2, 3))
    assert [tuple(v.shape) for v in p] == [(4, 1), (4, 2), (4, 3)]
    np.testing.assert_array_equal(p[2].detach().numpy(), a[:, 3:])
    (p[0] * 2).sum().backward()                 # only the first piece is used
    want = np.zeros((4, 6))
    want[:, 0] = 2
    np.testing.assert_array_equal(x.grad.detach().numpy(), want)
    rows = pieces(x, 0)                          # unbind form
    x.grad = None
    (rows[1] * 3 + rows[3]).sum().backward(retain_graph=True)
    want = np.zeros((4, 6))
    want[1], want[3] = 3, 1
    np.testing.assert_array_equal(x.grad.detach().numpy(), want)
    # a second pass starts from an empty gather (nothing stale from the first)
    x.grad = None
    rows[0].sum().backward()
    want = np.zeros((4, 6))
    want[0] = 1
    np.testing.assert_array_equal(x.grad.detach().numpy(), want)


def test_pieces_second_derivatives():
    x = _t(np.random.default_rng(12).standard_normal((3, 4)), grad=True)
    f = lambda x: tuple(v.tanh() * v for v in pieces(x, 0))  # noqa: E731
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


# ---- dropout ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers_in_training(mode):
    rng = np.random.default_rng(13)
    L, N, I, H, p = 4, 3, 2, 5, 0.4
    m = _make(mode, "tanh", I, H, 3, dropout=p, bidirectional=True, dtype=tf.float64)
    x = rng.standard_normal((L, N, I))
    params = _np_params(m)
    tf.manual_seed(77)
    got = m(_t(x))[0].detach().numpy()
    # the masks the layer drew: two (layers 0 and 1), (L, N, 2H) each, in order
    tf.manual_seed(77)
    masks = [tf.rand(L, N, 2 * H, dtype=tf.float64).detach().numpy() < 1 - p for _ in range(2)]
    ref = rnn_reference(mode, params, x, hidden_size=H, num_layers=3, bidirectional=True,
                        dropout=p, keep_masks=masks)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)
    tf.manual_seed(77)
    np.testing.assert_array_equal(m(_t(x))[0].detach().numpy(), got)       # seeded: repeats
    m.eval()
    plain = rnn_reference(mode, params, x, hidden_size=H, num_layers=3, bidirectional=True)[0]
    np.testing.assert_allclose(m(_t(x))[0].detach().numpy(), plain, rtol=1e-12, atol=1e-13)
    assert not np.allclose(got, plain)


def test_dropout_not_after_last_layer():
    """One layer with dropout: nothing is dropped (PyTorch warns)."""
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        m = nn.GRU(3, 4, dropout=0.9, dtype=tf.float64)
    x = np.random.default_rng(14).standard_normal((5, 2, 3))
    ref = rnn_reference("GRU", _np_params(m), x, hidden_size=4)[0]
    np.testing.assert_allclose(m(_t(x))[0].detach().numpy(), ref, rtol=1e-12, atol=1e-13)


# ---- parameters and initialisation ------------------------------------------------
def test_parameter_names_and_shapes_are_pytorchs():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    want = []
    for layer, sfx in itertools.product(range(2), ("", "_reverse")):
        fan = 3 if layer == 0 else 8
        want += [(f"weight_ih_l{layer}{sfx}", (12, fan)), (f"weight_hh_l{layer}{sfx}", (12, 4)),
                 (f"bias_ih_l{layer}{sfx}", (12,)), (f"bias_hh_l{layer}{sfx}", (12,))]
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == want
    assert [tuple(p.shape) for p in nn.LSTM(2, 3, bias=False).parameters()] == [(12, 2), (12, 3)]
    assert len(nn.LSTM(2, 3, num_layers=2).all_weights) == 2
    assert nn.GRU(2, 3).flatten_parameters() is None
    assert repr(nn.LSTM(4, 3, num_layers=2, batch_first=True, dropout=0.3, bidirectional=True)) \
        == "LSTM(4, 3, num_layers=2, batch_first=True, dropout=0.3, bidirectional=True)"
    assert repr(nn.RNN(4, 3, bias=False)) == "RNN(4, 3, bias=False)"
    assert repr(nn.GRUCell(4, 3)) == "GRUCell(4, 3)"
    assert repr(nn.RNNCell(4, 3, nonlinearity="relu")) == "RNNCell(4, 3, nonlinearity=relu)"


def test_default_init_is_uniform_in_one_over_sqrt_hidden():
    tf.manual_seed(0)
    H = 64
    m = nn.LSTM(50, H, num_layers=2)
    b = 1 / math.sqrt(H)
    vals = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert vals.min() >= -b and vals.max() <= b
    # uniform(-b, b): mean 0, variance b^2 / 3, and the empirical CDF within
    # Kolmogorov-Smirnov's 0.1% bound of the uniform one
    assert abs(vals.mean()) < 4 * b / math.sqrt(3 * vals.size)
    assert abs(vals.var() - b * b / 3) < 0.02 * b * b
    s = np.sort(vals)
    cdf = (s + b) / (2 * b)
    ks = np.max(np.abs(cdf - np.arange(1, s.size + 1) / s.size))
    assert ks < 1.95 / math.sqrt(s.size)
    tf.manual_seed(0)
    again = np.concatenate([p.detach().numpy().ravel() for p in nn.LSTM(50, H, 2).parameters()])
    np.testing.assert_array_equal(vals, again)                  # seeded: reproducible


def test_state_dict_round_trip_and_dtype_conversion():
    rng = np.random.default_rng(15)
    a = nn.LSTM(3, 4, 2, bidirectional=True)
    b = nn.LSTM(3, 4, 2, bidirectional=True)
    b.load_state_dict(a.state_dict())
    x = _t(rng.standard_normal((5, 2, 3)), tf.float32)
    np.testing.assert_array_equal(a(x)[0].detach().numpy(), b(x)[0].detach().numpy())
    b.double()
    out = b(x.double())[0]
    assert out.dtype is tf.float64
    np.testing.assert_allclose(out.detach().numpy(), a(x)[0].detach().numpy(), atol=1e-6)


# ---- errors ---------------------------------------------------------------------------
def test_errors_name_the_layer_and_shapes():
    m = nn.LSTM(10, 20, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: input.size\(-1\) must be equal to input_size. "
                                         r"Expected 10, got 7 \(input of shape \(5, 3, 7\)\)"):
        m(tf.zeros(5, 3, 7))
    with pytest.raises(ValueError, match=r"LSTM: expected h0 of shape \(2, 3, 20\) .*got "
                                         r"\(1, 3, 20\)"):
        m(tf.zeros(5, 3, 10), (tf.zeros(1, 3, 20), tf.zeros(2, 3, 20)))
    with pytest.raises(ValueError, match=r"LSTM: expected c0 of shape \(2, 3, 20\) .*got "
                                         r"\(2, 4, 20\)"):
        m(tf.zeros(5, 3, 10), (tf.zeros(2, 3, 20), tf.zeros(2, 4, 20)))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h0, c0\)"):
        m(tf.zeros(5, 3, 10), tf.zeros(2, 3, 20))
    with pytest.raises(ValueError, match=r"LSTM: expected input to be 2-D \(L, H_in\) or 3-D "
                                         r"\(L, N, H_in\), got 4-D input of shape"):
        m(tf.zeros(5, 3, 2, 10))
    with pytest.raises(ValueError, match=r"LSTM: for unbatched 2-D input, h0 should also be "
                                         r"2-D \(2, 20\), got shape \(2, 1, 20\)"):
        m(tf.zeros(5, 10), (tf.zeros(2, 1, 20), tf.zeros(2, 1, 20)))
    with pytest.raises(ValueError, match=r"LSTM: expected sequence length to be larger than 0"):
        m(tf.zeros(0, 3, 10))
    with pytest.raises(TypeError, match=r"LSTM: input has dtype float64, the layer's "
                                        r"parameters float32"):
        m(tf.zeros(5, 3, 10, dtype=tf.float64))
    g = nn.GRU(4, 3, batch_first=True)
    with pytest.raises(ValueError, match=r"GRU: expected h0 of shape \(1, 2, 3\)"):
        g(tf.zeros(2, 5, 4), tf.zeros(1, 5, 3))
    with pytest.raises(ValueError, match=r"GRU: input.size\(-1\) must be equal to input_size"):
        g(tf.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"RNN: unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"GRU: dropout should be a number in range \[0, 1\]"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"LSTM: hidden_size must be a positive int, got 0"):
        nn.LSTM(3, 0)
    with pytest.raises(NotImplementedError, match=r"LSTM: proj_size is not supported"):
        nn.LSTM(3, 4, proj_size=2)
    c = nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"LSTMCell: input has inconsistent input_size: got 5 "
                                         r"expected 3"):
        c(tf.zeros(2, 5))
    with pytest.raises(ValueError, match=r"LSTMCell: expected h of shape \(2, 4\) for input of "
                                         r"shape \(2, 3\), got \(3, 4\)"):
        c(tf.zeros(2, 3), (tf.zeros(3, 4), tf.zeros(2, 4)))


# ---- the fused LSTM cell kernel (native/src/cpu/rnn.c) -----------------------------
def _ulps(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    ia, ib = a.view(np.int32).astype(np.int64), b.view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


def _sig(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def test_fused_lstm_cell_float32_within_one_ulp_over_the_range():
    """Every pre-activation from tiny to saturated, both signs, and the
    specials: h and c within 1 ULP of float64 math on the float32 inputs
    (c rounded to float32 before its tanh, as stored)."""
    from tinyfin.nn.ops.rnn import lstm_pointwise
    rng = np.random.default_rng(20)
    mags = np.concatenate([np.geomspace(1e-30, 1e-2, 3000), np.linspace(1e-2, 30, 6000),
                           np.array([0.05, 0.0499999, 0.0500001, 20.0, 88.0, 100.0, 1e30])])
    vals = np.concatenate([mags, -mags, [0.0, -0.0]]).astype(np.float32)
    H = vals.size
    gates = np.stack([rng.permutation(vals) for _ in range(4)]).reshape(1, 4 * H)
    cp = rng.permutation(np.concatenate([vals[:H // 2], rng.uniform(-3, 3, H - H // 2)]))
    cp = cp.astype(np.float32).reshape(1, H)
    h, c = lstm_pointwise(_t(gates, tf.float32), _t(cp, tf.float32), H)
    g = gates.astype(np.float64).reshape(4, H)
    i, f, gg, o = _sig(g[0]), _sig(g[1]), np.tanh(g[2]), _sig(g[3])
    c_ref = (f * cp[0] + i * gg).astype(np.float32)
    h_ref = o * np.tanh(c_ref.astype(np.float64))
    assert _ulps(c.numpy()[0], c_ref).max() <= 1
    assert _ulps(h.numpy()[0], h_ref).max() <= 1
    # specials: NaN propagates, +-inf saturates the gates
    sp = np.array([[np.nan, 0, 0, 0, 0, np.inf, 0, 0, 0, 0, -np.inf, 0, 0, 0, 0, np.nan]],
                  np.float32)   # H = 4: columns (i, f, g, o) x 4
    h, c = lstm_pointwise(_t(sp, tf.float32), None, 4)
    g = sp.astype(np.float64).reshape(4, 4)
    with np.errstate(invalid="ignore"):
        c_ref = _sig(g[0]) * np.tanh(g[2])
        h_ref = _sig(g[3]) * np.tanh(c_ref)
    np.testing.assert_array_equal(np.isnan(c.numpy()[0]), np.isnan(c_ref))
    np.testing.assert_array_equal(np.isnan(h.numpy()[0]), np.isnan(h_ref))
    np.testing.assert_allclose(np.nan_to_num(h.numpy()[0]), np.nan_to_num(h_ref), atol=1e-7)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("with_c", [True, False])
def test_fused_lstm_cell_backward_matches_composite_and_gradcheck(dtype, with_c):
    """The C backward against the differentiable composite (the path
    create_graph takes), and, in float64, against finite differences;
    N * H = 40960 past the parallel grain, for the threaded rows."""
    from tinyfin.nn.ops.rnn import _lstm_backward_ops, lstm_pointwise
    rng = np.random.default_rng(21)
    N, H = 160, 256
    g = _t(rng.standard_normal((N, 4 * H)) * 2, dtype, grad=True)
    c = _t(rng.standard_normal((N, H)), dtype, grad=True) if with_c else None
    h1, c1 = lstm_pointwise(g, c, H)
    wh, wc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    ((h1 * _t(wh, dtype)).sum() + (c1 * _t(wc, dtype)).sum()).backward()
    seed = _t(np.concatenate([wh, wc], axis=1), dtype)
    with tf.no_grad():
        dg, dc = _lstm_backward_ops(seed, g.detach(), None if c is None else c.detach(), H)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype is tf.float32 else dict(rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(g.grad.numpy(), dg.numpy(), **tol)
    if with_c:
        np.testing.assert_allclose(c.grad.numpy(), dc.numpy(), **tol)
    if dtype is tf.float64:
        gs = _t(rng.standard_normal((2, 12)), grad=True)
        cs = _t(rng.standard_normal((2, 3)), grad=True) if with_c else None
        f = (lambda g, c: lstm_pointwise(g, c, 3)) if with_c else \
            (lambda g: lstm_pointwise(g, None, 3))
        args = (gs, cs) if with_c else (gs,)
        assert gradcheck(f, args)
        assert gradgradcheck(f, args)


def test_fused_lstm_cell_threads_give_the_same_bits():
    from tinyfin.nn.ops.rnn import lstm_pointwise
    rng = np.random.default_rng(22)
    g = _t(rng.standard_normal((160, 1024)), tf.float32)    # N * H past the grain
    c = _t(rng.standard_normal((160, 256)), tf.float32)
    tf.set_num_threads(1)
    try:
        one = [t.numpy().copy() for t in lstm_pointwise(g, c, 256)]
    finally:
        tf.set_num_threads(2)
    two = [t.numpy() for t in lstm_pointwise(g, c, 256)]
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_fused_lstm_cell_errors():
    from tinyfin.nn.ops.rnn import lstm_pointwise
    with pytest.raises(ValueError, match=r"lstm_cell: gates must be \(N, 4 \* hidden_size\)"):
        lstm_pointwise(tf.zeros(2, 6), None, 1)
    with pytest.raises(ValueError, match=r"lstm_cell: c_prev must be \(2, 2\), got \(2, 3\)"):
        lstm_pointwise(tf.zeros(2, 8), tf.zeros(2, 3), 2)
    with pytest.raises(TypeError, match=r"lstm_cell: c_prev has dtype float64, expected float32"):
        lstm_pointwise(tf.zeros(2, 8), tf.zeros(2, 2, dtype=tf.float64), 2)
    with pytest.raises(TypeError, match=r"lstm_cell: gates must be float32 or float64, got int64"):
        lstm_pointwise(tf.zeros(2, 8, dtype=tf.int64), None, 2)
    with pytest.raises(ValueError, match=r"lstm_cell: gates must be 2-D, got shape \(8,\)"):
        lstm_pointwise(tf.zeros(8), None, 2)
