"""nn.functional.scaled_dot_product_attention and nn.MultiheadAttention:
against NumPy float64 references (verify/ops_nn_attention.py's, written from
the definition, and verify/refs_rnn.mha_reference), against PyTorch with
identical weights (outputs, attention weights and the gradients of the
inputs and of every parameter), fully masked rows, dropout, gradcheck, the
initialisation, and the errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.autograd.gradcheck import gradcheck, gradgradcheck
from verify.ops_nn_attention import _ref as sdpa_reference
from verify.refs_rnn import mha_reference

sdpa = F.scaled_dot_product_attention


def _t(a, dtype=None, grad=False):
    a = np.asarray(a)
    if dtype is None:
        dtype = {np.dtype(bool): tf.bool, np.dtype(np.float32): tf.float32}.get(a.dtype, tf.float64)
    t = tf.tensor(a, dtype=dtype)
    return t.requires_grad_() if grad else t


def _np(t):
    return t.detach().numpy()


# ---- scaled_dot_product_attention ------------------------------------------------
CASES = [
    ("plain", (2, 3, 4), (2, 5, 4), (2, 5, 6), None, {}),
    ("4-D heads", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), None, {}),
    ("causal L<S", (2, 3, 4), (2, 5, 4), (2, 5, 4), None, {"is_causal": True}),
    ("causal L>S", (2, 5, 4), (2, 3, 4), (2, 3, 4), None, {"is_causal": True}),
    ("scale", (2, 3, 4), (2, 5, 4), (2, 5, 4), None, {"scale": 0.25}),
    ("bool mask", (2, 3, 4), (2, 5, 4), (2, 5, 4), "bool", {}),
    ("float mask", (2, 3, 4), (2, 5, 4), (2, 5, 4), "float", {}),
    ("broadcast batch", (3, 1, 4, 2), (2, 5, 2), (2, 5, 3), None, {}),
    ("gqa", (1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 2), None, {"enable_gqa": True}),
]


def _mask(kind, L, S, rng, dead_row=None):
    if kind is None:
        return None
    if kind == "bool":
        m = rng.random((L, S)) < 0.6
        m[:, 0] = True
        if dead_row is not None:
            m[dead_row] = False
        return m
    m = rng.standard_normal((L, S))
    m[rng.random((L, S)) < 0.3] = -np.inf
    m[:, 0] = 0.0
    if dead_row is not None:
        m[dead_row] = -np.inf
    return m


@pytest.mark.parametrize("name,qs,ks,vs,mask,kw", CASES, ids=[c[0] for c in CASES])
def test_sdpa_matches_reference_and_torch(name, qs, ks, vs, mask, kw):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in (qs, ks, vs))
    m = _mask(mask, qs[-2], ks[-2], rng, dead_row=1)
    got = sdpa(_t(q), _t(k), _t(v), attn_mask=None if m is None else _t(m), **kw)
    np.testing.assert_allclose(_np(got), sdpa_reference(q, k, v, m, **kw), rtol=1e-12,
                               atol=1e-13)
    torch = pytest.importorskip("torch")
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    fq, fk, fv = (_t(a, grad=True) for a in (q, k, v))
    tm = None if m is None else torch.tensor(m)
    want = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    got = sdpa(fq, fk, fv, attn_mask=None if m is None else _t(m), **kw)
    np.testing.assert_allclose(_np(got), want.detach().numpy(), rtol=1e-12, atol=1e-13)
    seed = rng.standard_normal(tuple(want.shape))
    (want * torch.tensor(seed)).sum().backward()
    (got * _t(seed)).sum().backward()
    for a, b in ((tq, fq), (tk, fk), (tv, fv)):
        assert np.all(np.isfinite(b.grad.numpy()))
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradients():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s) for s in ((2, 4, 3), (2, 5, 3), (2, 5, 3)))
    for mask in (_mask("bool", 4, 5, rng, dead_row=2), _mask("float", 4, 5, rng, dead_row=2)):
        fq, fk, fv = (_t(a, grad=True) for a in (q, k, v))
        out = sdpa(fq, fk, fv, attn_mask=_t(mask))
        np.testing.assert_array_equal(_np(out)[:, 2], 0.0)
        assert np.all(np.isfinite(_np(out)))
        out.sum().backward()
        np.testing.assert_array_equal(fq.grad.numpy()[:, 2], 0.0)
        for g in (fq.grad, fk.grad, fv.grad):
            assert np.all(np.isfinite(g.numpy()))


def test_sdpa_float32_large_reaches_parallel_paths():
    """scores (4, 8, 96, 96) = 294912 elements: softmax and the products on
    their parallel, tiled paths; float32 against the float64 reference."""
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((4, 8, 96, 40)).astype(np.float32) for _ in range(3))
    got = sdpa(_t(q), _t(k), _t(v), is_causal=True)
    want = sdpa_reference(q, k, v, is_causal=True)
    np.testing.assert_allclose(_np(got), want, rtol=0, atol=3e-6)
    tf.set_num_threads(1)
    try:
        one = _np(sdpa(_t(q), _t(k), _t(v), is_causal=True))
    finally:
        tf.set_num_threads(2)
    two = _np(sdpa(_t(q), _t(k), _t(v), is_causal=True))
    np.testing.assert_array_equal(one, two)


def test_sdpa_non_contiguous_inputs():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    fq = _t(np.ascontiguousarray(q.transpose(0, 2, 1))).transpose(1, 2)
    fk = _t(np.ascontiguousarray(k[:, ::-1])).flip(1)
    fv = _t(np.concatenate([v, v], axis=2))[:, :, ::2]
    vv = np.concatenate([v, v], axis=2)[:, :, ::2]
    np.testing.assert_allclose(_np(sdpa(fq, fk, fv)), sdpa_reference(q, k, vv), rtol=1e-12)


def test_sdpa_dropout_keeps_with_probability_one_minus_p_and_rescales():
    rng = np.random.default_rng(4)
    L = S = 64
    q = rng.standard_normal((8, L, 4)) * 0.0      # uniform weights 1/S
    v = np.eye(S)[None].repeat(8, 0)             # out = the weights themselves
    tf.manual_seed(5)
    out = _np(sdpa(_t(q), _t(q[:, :S]), _t(v), dropout_p=0.3))
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01          # 32768 draws: 4.8 sigma
    np.testing.assert_allclose(out[kept], 1 / S / 0.7, rtol=1e-12)
    tf.manual_seed(5)
    np.testing.assert_array_equal(_np(sdpa(_t(q), _t(q[:, :S]), _t(v), dropout_p=0.3)), out)
    np.testing.assert_array_equal(_np(sdpa(_t(q), _t(q[:, :S]), _t(v), dropout_p=1.0)), 0.0)


def test_sdpa_gradcheck_and_gradgradcheck_with_masks():
    rng = np.random.default_rng(6)
    q, k, v = (_t(rng.standard_normal(s), grad=True) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3)))
    bm = _t(_mask("bool", 3, 4, rng, dead_row=1))
    fm = _t(_mask("float", 3, 4, rng), grad=True)
    for f, inputs in ((lambda q, k, v: sdpa(q, k, v, attn_mask=bm), (q, k, v)),
                      (lambda q, k, v, m: sdpa(q, k, v, attn_mask=m), (q, k, v, fm)),
                      (lambda q, k, v: sdpa(q, k, v, is_causal=True, scale=0.8), (q, k, v))):
        assert gradcheck(f, inputs)
        assert gradgradcheck(f, inputs)


def test_sdpa_size_zero():
    z = sdpa(tf.zeros(2, 3, 4), tf.zeros(2, 0, 4), tf.zeros(2, 0, 5))
    assert z.shape == (2, 3, 5) and np.all(_np(z) == 0)
    assert sdpa(tf.zeros(0, 3, 4), tf.zeros(0, 2, 4), tf.zeros(0, 2, 5)).shape == (0, 3, 5)
    assert sdpa(tf.zeros(2, 0, 4), tf.zeros(2, 2, 4), tf.zeros(2, 2, 5)).shape == (2, 0, 5)


def test_sdpa_errors():
    q, k, v = tf.zeros(2, 3, 4), tf.zeros(2, 5, 4), tf.zeros(2, 5, 6)
    op = "scaled_dot_product_attention"
    with pytest.raises(ValueError, match=rf"{op}: attn_mask of shape \(3, 4\) does not broadcast "
                                         r"to the attention weights' shape \(2, 3, 5\)"):
        sdpa(q, k, v, attn_mask=tf.ones(3, 4, dtype=tf.bool))
    with pytest.raises(ValueError, match=rf"{op}: query .* and key .* must share E"):
        sdpa(q, tf.zeros(2, 5, 3), v)
    with pytest.raises(ValueError, match=rf"{op}: pass either attn_mask or is_causal"):
        sdpa(q, k, v, attn_mask=tf.zeros(3, 5), is_causal=True)


# ---- MultiheadAttention ----------------------------------------------------------
def _params(m):
    return {k: _np(v).astype(np.float64) for k, v in m.state_dict().items()}


MHA_CASES = [
    dict(name="self-attention", ctor={}, fw={}, self_attn=True),
    dict(name="batch_first", ctor={"batch_first": True}, fw={}),
    dict(name="kdim vdim", ctor={"kdim": 3, "vdim": 5}, fw={}),
    dict(name="no bias", ctor={"bias": False}, fw={}),
    dict(name="key_padding_mask bool", ctor={}, fw={"kpm": "bool"}),
    dict(name="key_padding_mask float", ctor={}, fw={"kpm": "float"}),
    dict(name="attn_mask 2-D bool", ctor={}, fw={"am": "bool2"}),
    dict(name="attn_mask 3-D float", ctor={}, fw={"am": "float3"}),
    dict(name="both masks", ctor={"batch_first": True}, fw={"kpm": "bool", "am": "float2"}),
    dict(name="need_weights=False", ctor={}, fw={"need_weights": False, "kpm": "bool"}),
    dict(name="per-head weights", ctor={}, fw={"average_attn_weights": False, "am": "bool2"}),
    dict(name="causal hint", ctor={}, fw={"am": "causal", "is_causal": True}),
]


def _mha_inputs(case, rng, E=4, H=2, L=3, S=5, N=2, unbatched=False):
    kd = case["ctor"].get("kdim", E)
    vd = case["ctor"].get("vdim", E)
    bf = case["ctor"].get("batch_first", False) and not unbatched

    def seq(n, d):
        if unbatched:
            return rng.standard_normal((n, d))
        return rng.standard_normal((N, n, d) if bf else (n, N, d))
    q = seq(L, E)
    if case.get("self_attn"):
        k = v = q
    else:
        k, v = seq(S, kd), seq(S, vd)
    Sx = k.shape[0 if unbatched or not bf else 1]
    kw = {k_: v_ for k_, v_ in case["fw"].items() if k_ not in ("kpm", "am")}
    kpm = case["fw"].get("kpm")
    if kpm == "bool":
        m = rng.random((Sx,) if unbatched else (N, Sx)) < 0.3
        m[..., 0] = False
        kw["key_padding_mask"] = m
    elif kpm == "float":
        kw["key_padding_mask"] = rng.standard_normal((Sx,) if unbatched else (N, Sx))
    am = case["fw"].get("am")
    Lx = q.shape[0 if unbatched or not bf else 1]
    if am == "bool2":
        m = rng.random((Lx, Sx)) < 0.3
        m[:, 0] = False
        kw["attn_mask"] = m
    elif am == "float2":
        kw["attn_mask"] = rng.standard_normal((Lx, Sx))
    elif am == "float3":
        kw["attn_mask"] = rng.standard_normal(((1 if unbatched else N) * H, Lx, Sx))
    elif am == "causal":
        kw["attn_mask"] = ~np.tril(np.ones((Lx, Sx), bool))
    return q, k, v, kw


def _to_tf(kw):
    return {k: (_t(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}


@pytest.mark.parametrize("case", MHA_CASES, ids=[c["name"] for c in MHA_CASES])
@pytest.mark.parametrize("unbatched", [False, True])
def test_mha_matches_numpy_reference(case, unbatched):
    rng = np.random.default_rng(7)
    if unbatched and case["fw"].get("am") == "float3":
        pass
    m = nn.MultiheadAttention(4, 2, dtype=tf.float64, **case["ctor"])
    with tf.no_grad():   # nonzero biases, so that they are checked
        for p in m.parameters():
            p.copy_(_t(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    q, k, v, kw = _mha_inputs(case, rng, unbatched=unbatched)
    fq = _t(q)
    fk = fq if case.get("self_attn") else _t(k)
    fv = fq if case.get("self_attn") else _t(v)
    out, w = m(fq, fk, fv, **_to_tf(kw))
    ref_kw = {k_: v_ for k_, v_ in kw.items() if k_ != "is_causal"}
    r_out, r_w = mha_reference(_params(m), q, k, v, num_heads=2,
                               batch_first=case["ctor"].get("batch_first", False), **ref_kw)
    np.testing.assert_allclose(_np(out), r_out, rtol=1e-12, atol=1e-13)
    if r_w is None:
        assert w is None
    else:
        np.testing.assert_allclose(_np(w), r_w, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", MHA_CASES, ids=[c["name"] for c in MHA_CASES])
def test_mha_matches_torch_forward_and_gradients(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    tm = torch.nn.MultiheadAttention(4, 2, **case["ctor"]).double()
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(-0.5, 0.5)
    fm = nn.MultiheadAttention(4, 2, dtype=tf.float64, **case["ctor"])
    assert list(fm.state_dict().keys()) == list(tm.state_dict().keys())
    fm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    q, k, v, kw = _mha_inputs(case, rng)
    tq = torch.tensor(q, requires_grad=True)
    fq = _t(q, grad=True)
    if case.get("self_attn"):
        tk = tv = tq
        fk = fv = fq
    else:
        tk, tv = torch.tensor(k, requires_grad=True), torch.tensor(v, requires_grad=True)
        fk, fv = _t(k, grad=True), _t(v, grad=True)
    tkw = {k_: (torch.tensor(v_) if isinstance(v_, np.ndarray) else v_) for k_, v_ in kw.items()}
    to, tw = tm(tq, tk, tv, **tkw)
    fo, fw = fm(fq, fk, fv, **_to_tf(kw))
    np.testing.assert_allclose(_np(fo), to.detach().numpy(), rtol=1e-12, atol=1e-13)
    if tw is None:
        assert fw is None
    else:
        np.testing.assert_allclose(_np(fw), tw.detach().numpy(), rtol=1e-12, atol=1e-13)
    seed = rng.standard_normal(tuple(to.shape))
    loss_t = (to * torch.tensor(seed)).sum() + (0 if tw is None else (tw * tw).sum())
    loss_f = (fo * _t(seed)).sum() + (0 if fw is None else (fw * fw).sum())
    loss_t.backward()
    loss_f.backward()
    for a, b in ((tq, fq), (tk, fk), (tv, fv)):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-11, atol=1e-12)
    tp = dict(tm.named_parameters())
    for name, p in fm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-11,
                                   atol=1e-12, err_msg=name)


def test_mha_fully_masked_rows():
    """need_weights=True: an explicit softmax, NaN for a row with nothing to
    attend to (PyTorch's); need_weights=False: scaled_dot_product_attention's
    zeros, so the output is out_proj's bias (PyTorch in training mode)."""
    rng = np.random.default_rng(9)
    m = nn.MultiheadAttention(4, 2, batch_first=True, dtype=tf.float64)
    with tf.no_grad():
        m.out_proj.bias.copy_(_t(np.array([1.0, 2.0, 3.0, 4.0])))
    x = _t(rng.standard_normal((2, 3, 4)))
    kpm = np.zeros((2, 3), bool)
    kpm[0] = True
    out, w = m(x, x, x, key_padding_mask=_t(kpm))
    assert np.all(np.isnan(_np(out)[0])) and np.all(np.isnan(_np(w)[0]))
    assert np.all(np.isfinite(_np(out)[1]))
    out, w = m(x, x, x, key_padding_mask=_t(kpm), need_weights=False)
    assert w is None
    np.testing.assert_array_equal(_np(out)[0], np.tile([1.0, 2.0, 3.0, 4.0], (3, 1)))
    torch = pytest.importorskip("torch")
    tm = torch.nn.MultiheadAttention(4, 2, batch_first=True).double().train()
    tm.load_state_dict({k: torch.tensor(_np(v)) for k, v in m.state_dict().items()})
    to, _ = tm(*(torch.tensor(_np(x)),) * 3, key_padding_mask=torch.tensor(kpm),
               need_weights=False)
    np.testing.assert_allclose(_np(out), to.detach().numpy(), rtol=1e-12)


def test_mha_dropout_in_training_only():
    rng = np.random.default_rng(10)
    m = nn.MultiheadAttention(8, 2, dropout=0.5, dtype=tf.float64)
    x = _t(rng.standard_normal((6, 3, 8)))
    tf.manual_seed(3)
    a, wa = m(x, x, x)
    tf.manual_seed(3)
    b, _ = m(x, x, x)
    np.testing.assert_array_equal(_np(a), _np(b))
    w = _np(wa)
    assert np.any(w == 0)
    m.eval()
    c, wc = m(x, x, x)
    ref, rw = mha_reference(_params(m), *(_np(x),) * 3, num_heads=2)
    np.testing.assert_allclose(_np(c), ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_np(wc), rw, rtol=1e-12, atol=1e-13)
    assert not np.allclose(_np(a), ref)


def test_mha_gradcheck_small():
    rng = np.random.default_rng(11)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, dtype=tf.float64)
    names = [n for n, _ in m.named_parameters()]
    leaves = [_t(rng.uniform(-0.5, 0.5, tuple(p.shape)), grad=True) for p in m.parameters()]
    q, k, v = (_t(rng.standard_normal(s), grad=True) for s in ((2, 1, 4), (3, 1, 3), (3, 1, 2)))
    kpm = _t(np.array([[False, True, False]]))

    def f(q, k, v, *ps):
        for name, p in zip(names, ps):
            mod, _, attr = name.rpartition(".")
            (m.out_proj if mod else m)._parameters[attr] = p
        return m(q, k, v, key_padding_mask=kpm)

    assert gradcheck(f, (q, k, v, *leaves))
    assert gradgradcheck(f, (q, k, v, *leaves))


def test_mha_parameters_and_init():
    m = nn.MultiheadAttention(64, 8)
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                    "out_proj.bias"]
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                       "in_features=64, out_features=64, bias=True)\n)")
    w = _np(m.in_proj_weight).ravel()
    a = math.sqrt(6 / (64 + 192))                   # xavier_uniform_ of (192, 64)
    assert w.min() >= -a and w.max() <= a
    assert abs(w.var() - a * a / 3) < 0.03 * a * a
    s = np.sort(w)
    ks = np.max(np.abs((s + a) / (2 * a) - np.arange(1, s.size + 1) / s.size))
    assert ks < 1.95 / math.sqrt(s.size)
    np.testing.assert_array_equal(_np(m.in_proj_bias), 0)
    np.testing.assert_array_equal(_np(m.out_proj.bias), 0)
    b = 1 / math.sqrt(64)                           # Linear's kaiming_uniform_(a=sqrt(5))
    ow = _np(m.out_proj.weight)
    assert ow.min() >= -b and ow.max() <= b and ow.std() > 0.5 * b / math.sqrt(3)
    kv = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False)
    assert [(k, tuple(v.shape)) for k, v in kv.state_dict().items()] == [
        ("q_proj_weight", (4, 4)), ("k_proj_weight", (4, 3)), ("v_proj_weight", (4, 5)),
        ("out_proj.weight", (4, 4))]


def test_mha_errors():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim must be divisible by "
                                         r"num_heads, got embed_dim=10 and num_heads=3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(4, 2, add_bias_kv=True)
    m = nn.MultiheadAttention(4, 2)
    x = tf.zeros(3, 2, 4)
    with pytest.raises(ValueError, match=r"MultiheadAttention: expected query of feature size "
                                         r"embed_dim=4, got shape \(3, 2, 5\)"):
        m(tf.zeros(3, 2, 5), x, x)
    with pytest.raises(ValueError, match=r"MultiheadAttention: the shape of attn_mask is "
                                         r"\(3, 4\), but should be \(L, S\) = \(3, 3\) or "
                                         r"\(N \* num_heads, L, S\) = \(4, 3, 3\)"):
        m(x, x, x, attn_mask=tf.zeros(3, 4))
    with pytest.raises(ValueError, match=r"MultiheadAttention: expected key_padding_mask of "
                                         r"shape \(2, 3\) \(N, S\), got \(3, 2\)"):
        m(x, x, x, key_padding_mask=tf.zeros(3, 2, dtype=tf.bool))
    with pytest.raises(ValueError, match=r"MultiheadAttention: key and value must have the same "
                                         r"sequence length"):
        m(x, tf.zeros(5, 2, 4), x)
    with pytest.raises(ValueError, match=r"MultiheadAttention: query and key must have the same "
                                         r"batch size"):
        m(x, tf.zeros(3, 1, 4), tf.zeros(3, 1, 4))
    with pytest.raises(ValueError, match=r"MultiheadAttention: query, key and value must all be "
                                         r"2-D \(unbatched\) or all 3-D"):
        m(x, tf.zeros(3, 4), x)
    with pytest.raises(TypeError, match=r"MultiheadAttention: only bool and floating types of "
                                        r"attn_mask"):
        m(x, x, x, attn_mask=tf.zeros(3, 3, dtype=tf.int64))
    with pytest.raises(RuntimeError, match=r"MultiheadAttention: need attn_mask if specifying "
                                           r"the is_causal hint"):
        m(x, x, x, is_causal=True)
