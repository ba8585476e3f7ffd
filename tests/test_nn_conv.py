"""Convolutions (nn.functional.conv1d/conv2d/conv_transpose1d/conv_transpose2d,
tinyfin.pad's circular mode) against references written here, PyTorch with
identical weights (where torch imports), and finite differences.

The references: `_loop_conv2d` is the definition as plain Python loops over
output positions (for small cases), verify's `conv_ref` / `conv_transpose_ref`
are per-tap strided slices + einsum (for sizes that reach the parallel and
chunked paths of native/src/cpu/conv.c). The gradients of a convolution are
checked against their own definitions too: grad_input is a transposed
convolution, grad_weight a correlation of the input with grad_output."""
import itertools

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn.functional as F
from tinyfin import _C
from tinyfin.autograd.gradcheck import gradcheck, gradgradcheck
from tinyfin.tensor import _call
from verify.checks.common import in_layout
from verify.ops_nn_conv import conv_ref, conv_transpose_ref

RNG = np.random.default_rng(20261201)


def _loop_conv2d(x, w, b, stride, pads, dilation, groups):
    """out[n, o, p, q] = b[o] + sum_{c, i, j} x[n, g*Cg + c, p*sh - pt + i*dh,
    q*sw - pl + j*dw] * w[o, c, i, j], zero outside x; pads (t, b, l, r)."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    pt, pb, pl, pr = pads
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    Og = O // groups
    out = np.zeros((N, O, Ho, Wo))
    for n, o, p, q in itertools.product(range(N), range(O), range(Ho), range(Wo)):
        g = o // Og
        s = 0.0 if b is None else float(b[o])
        for c, i, j in itertools.product(range(Cg), range(kh), range(kw)):
            h, ww = p * sh - pt + i * dh, q * sw - pl + j * dw
            if 0 <= h < H and 0 <= ww < W:
                s += float(x[n, g * Cg + c, h, ww]) * float(w[o, c, i, j])
        out[n, o, p, q] = s
    return out


def _t(a, rg=False):
    return tf.tensor(a, requires_grad=rg)


def _close(got, want, dtype, k=1):
    """|got - want| within 4 k eps of the scale of want (k: the dot length)."""
    eps = np.finfo(np.float32 if dtype == "float32" else np.float64).eps
    scale = max(np.max(np.abs(want), initial=0.0), 1.0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * max(k, 1) * eps * scale)


LOOP_CASES = [
    # (x shape, w shape, stride, pads (t, b, l, r) or 'same', dilation, groups)
    ((2, 3, 5, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 1, 2, 2), (1, 2), 2),
    ((1, 4, 6, 7), (4, 1, 3, 3), (2, 3), (0, 0, 1, 1), (2, 1), 4),
    ((2, 2, 5, 5), (3, 2, 2, 4), (1, 1), "same", (1, 1), 1),
    ((1, 3, 6, 5), (2, 3, 4, 2), (1, 1), "same", (2, 3), 1),
]


@pytest.mark.parametrize("case", LOOP_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_matches_loop_definition(case, dtype):
    xs, ws, stride, pads, dil, groups = case
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    b = RNG.standard_normal(ws[0]).astype(dtype)
    if pads == "same":
        tot = [d * (k - 1) for d, k in zip(dil, ws[2:])]
        loop_pads = (tot[0] // 2, tot[0] - tot[0] // 2, tot[1] // 2, tot[1] - tot[1] // 2)
        padding = "same"
    else:
        loop_pads, padding = pads, (pads[0], pads[2])
    want = _loop_conv2d(x, w, b, stride, loop_pads, dil, groups)
    got = F.conv2d(_t(x), _t(w), _t(b), stride=stride, padding=padding, dilation=dil,
                   groups=groups).numpy()
    _close(got, want, dtype, ws[1] * ws[2] * ws[3])


# Sizes past TF_PARALLEL_GRAIN in im2col/col2im, several batch chunks
# (CONV_CHUNK = 2^21 unfolded elements: 16 * 9 * 3600 per image gives chunks of
# 4 images, so 11 images are chunks of 4, 4 and 3), a 1x1 kernel (no
# unfolded copy) and a strided, grouped, dilated one.
LARGE = [
    ((11, 16, 60, 60), (8, 16, 3, 3), {"padding": 1}),
    ((6, 32, 24, 24), (32, 32, 1, 1), {}),
    ((5, 12, 40, 37), (12, 4, 3, 2), {"stride": (2, 3), "padding": (2, 0), "dilation": (1, 2),
                                      "groups": 3}),
    ((4, 16, 30, 30), (16, 1, 5, 5), {"padding": "same", "groups": 16}),
]


def _grads(xs, ws, kw, dtype, nthreads):
    """Forward and the three gradients (x, w, b) for upstream g, on nthreads."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    old = tf.get_num_threads()
    tf.set_num_threads(nthreads)
    try:
        X, W, B = _t(x, True), _t(w, True), _t(b, True)
        y = F.conv2d(X, W, B, **kw)
        g = np.random.default_rng(8).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(_t(g))
        return x, w, b, g, y.detach().numpy(), X.grad.numpy(), W.grad.numpy(), B.grad.numpy()
    finally:
        tf.set_num_threads(old)


@pytest.mark.parametrize("xs,ws,kw", LARGE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_conv2d_and_gradients_match_reference_and_threads(xs, ws, kw, dtype):
    x, w, b, g, y, gx, gw, gb = _grads(xs, ws, kw, dtype, 1)
    groups = kw.get("groups", 1)
    k = ws[1] * ws[2] * ws[3]
    _close(y, conv_ref(x, w, b, **kw), dtype, k)
    # grad_input: the transposed convolution of g (the definition's adjoint),
    # written through conv_transpose_ref with the padding that crops to x.
    stride = kw.get("stride", (1, 1))
    stride = stride if isinstance(stride, tuple) else (stride,) * 2
    dil = kw.get("dilation", (1, 1))
    pad = kw.get("padding", 0)
    if pad == "same":
        tot = [d * (kk - 1) for d, kk in zip(dil, ws[2:])]
        assert all(t % 2 == 0 for t in tot)
        pad = tuple(t // 2 for t in tot)
    pad = pad if isinstance(pad, tuple) else (pad,) * 2
    full = conv_transpose_ref(g, w, None, stride=stride, padding=pad, groups=groups,
                              dilation=dil,
                              output_padding=tuple(
                                  (xs[2 + i] + 2 * pad[i] - dil[i] * (ws[2 + i] - 1) - 1)
                                  % stride[i] for i in range(2)))
    _close(gx, full, dtype, ws[0] // groups * ws[2] * ws[3])
    # grad_weight[o, c, i, j] = sum_{n,p,q} g[n, o, p, q] * xwin
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    N, O, Ho, Wo = g.shape
    Og, Cg = O // groups, ws[1]
    want_gw = np.zeros(ws)
    for i, j in itertools.product(range(ws[2]), range(ws[3])):
        win = xp[:, :, i * dil[0]:i * dil[0] + stride[0] * (Ho - 1) + 1:stride[0],
                 j * dil[1]:j * dil[1] + stride[1] * (Wo - 1) + 1:stride[1]]
        win = win.reshape(N, groups, Cg, Ho, Wo)
        gg = g.astype(np.float64).reshape(N, groups, Og, Ho, Wo)
        want_gw[:, :, i, j] = np.einsum("ngohw,ngchw->goc", gg, win).reshape(O, Cg)
    _close(gw, want_gw, dtype, N * Ho * Wo)
    _close(gb, g.astype(np.float64).sum((0, 2, 3)), dtype, N * Ho * Wo)
    # bitwise the same on two threads
    for a, c in zip((y, gx, gw, gb), _grads(xs, ws, kw, dtype, 2)[4:]):
        assert np.array_equal(a, c)


@pytest.mark.parametrize("backend", ["cpu", "blas"])
def test_backends_agree_with_reference(backend):
    if tf.backends.available().get(backend) is not None:
        pytest.skip(f"{backend} unavailable")
    x = RNG.standard_normal((5, 8, 20, 21))
    w = RNG.standard_normal((6, 4, 3, 3))
    with tf.backends.use(backend):
        X, W = _t(x, True), _t(w, True)
        y = F.conv2d(X, W, stride=2, padding=1, groups=2)
        y.sum().backward()
    _close(y.detach().numpy(), conv_ref(x, w, None, stride=2, padding=1, groups=2),
           "float64", 36)
    assert W.grad is not None and X.grad is not None


@pytest.mark.parametrize("layout", ["transposed", "strided", "flipped", "row-padded"])
def test_non_contiguous_operands(layout):
    x = RNG.standard_normal((2, 3, 6, 8))
    w = RNG.standard_normal((4, 3, 3, 3))
    b = RNG.standard_normal(4)
    _, X = in_layout(x, layout)
    _, Wt = in_layout(w, layout)
    _, B = in_layout(b, "strided")
    assert not X.is_contiguous() and not Wt.is_contiguous() and not B.is_contiguous()
    _close(F.conv2d(X, Wt, B, padding=1).numpy(), conv_ref(x, w, b, padding=1), "float64", 27)
    _, Wt2 = in_layout(RNG.standard_normal((3, 2, 3, 3)), layout)
    _close(F.conv_transpose2d(X, Wt2, stride=2).numpy(),
           conv_transpose_ref(x, Wt2.numpy(), None, stride=2), "float64", 27)


def test_size_zero_batch_and_unbatched():
    x = RNG.standard_normal((0, 3, 5, 5))
    w = RNG.standard_normal((4, 3, 3, 3))
    X, W = _t(x, True), _t(w, True)
    y = F.conv2d(X, W, padding=1)
    assert tuple(y.shape) == (0, 4, 5, 5)
    y.sum().backward()
    assert np.array_equal(W.grad.numpy(), np.zeros(w.shape))
    u = RNG.standard_normal((3, 5, 5))
    _close(F.conv2d(_t(u), W.detach(), padding=1).numpy(),
           conv_ref(u[None], w, None, padding=1)[0], "float64", 27)
    v = RNG.standard_normal((3, 9))
    w1 = RNG.standard_normal((2, 3, 4))
    _close(F.conv1d(_t(v), _t(w1), padding="same").numpy(),
           conv_ref(v, w1, None, padding="same"), "float64", 12)


# ---- gradients: finite differences, and of the gradients --------------------
GRAD_CASES = [
    ("conv2d", (2, 4, 5, 4), (4, 2, 3, 2), True, {"stride": (2, 1), "padding": (1, 0),
                                                  "dilation": (1, 2), "groups": 2}),
    ("conv2d", (1, 2, 4, 5), (3, 2, 2, 2), False, {"padding": "same"}),
    ("conv1d", (2, 3, 7), (2, 3, 3), True, {"stride": 2, "padding": 1}),
    ("conv_transpose2d", (1, 4, 3, 3), (4, 1, 3, 2), True,
     {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    ("conv_transpose1d", (2, 2, 4), (2, 3, 3), True, {"stride": 3, "dilation": 2}),
]


@pytest.mark.parametrize("name,xs,ws,bias,kw", GRAD_CASES)
def test_gradcheck_and_gradgradcheck(name, xs, ws, bias, kw):
    fn = getattr(F, name)
    out_ch = ws[1] * kw.get("groups", 1) if "transpose" in name else ws[0]
    inputs = [_t(RNG.standard_normal(xs), True), _t(RNG.standard_normal(ws), True)]
    if bias:
        inputs.append(_t(RNG.standard_normal(out_ch), True))

    def f(*a):
        return fn(*a, **kw)
    assert gradcheck(f, tuple(inputs))
    assert gradgradcheck(f, tuple(inputs))


def test_gradient_of_gradient_is_a_convolution_identity():
    """d/dw <conv(x, w), g> is grad_weight; its derivative w.r.t. x in the
    direction v equals grad_weight(v, g): linear in x."""
    x = _t(RNG.standard_normal((2, 3, 6, 6)), True)
    w = _t(RNG.standard_normal((4, 3, 3, 3)), True)
    g = _t(RNG.standard_normal((2, 4, 6, 6)))
    (gw,) = tf.autograd.grad(F.conv2d(x, w, padding=1), [w], [g], create_graph=True)
    v = RNG.standard_normal((2, 3, 6, 6))
    u = RNG.standard_normal((4, 3, 3, 3))
    (gx,) = tf.autograd.grad([gw], [x], [_t(u)])
    # <grad_weight(x, g), u> is linear in x: its gradient is conv_input(g, u)
    # = grad of <conv(x, u), g> w.r.t. x
    x2 = _t(v, True)
    (want,) = tf.autograd.grad(F.conv2d(x2, _t(u), padding=1), [x2], [g])
    _close(gx.numpy(), want.numpy(), "float64", 100)


# ---- against PyTorch with identical weights ----------------------------------
TORCH_CASES = [
    ("conv2d", (3, 4, 9, 8), (6, 2, 3, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ("conv2d", (2, 3, 8, 9), (4, 3, 4, 2), {"padding": "same", "dilation": (1, 3)}),
    ("conv2d", (2, 6, 7, 7), (6, 1, 3, 3), {"groups": 6, "padding": "valid"}),
    ("conv2d", (3, 7, 7), (5, 3, 1, 1), {}),
    ("conv1d", (2, 4, 20), (6, 2, 5), {"stride": 3, "padding": 2, "dilation": 2, "groups": 2}),
    ("conv1d", (4, 20), (3, 4, 4), {"padding": "same"}),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 2),
     {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2}),
    ("conv_transpose2d", (4, 5, 6), (4, 3, 3, 3), {"dilation": 2, "padding": 2}),
    ("conv_transpose1d", (2, 4, 9), (4, 2, 3),
     {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
]


@pytest.mark.parametrize("name,xs,ws,kw", TORCH_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(name, xs, ws, kw, dtype):
    torch = pytest.importorskip("torch")
    out_ch = ws[1] * kw.get("groups", 1) if "transpose" in name else ws[0]
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    b = RNG.standard_normal(out_ch).astype(dtype)
    X, W, B = _t(x, True), _t(w, True), _t(b, True)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = getattr(F, name)(X, W, B, **kw)
    ty = getattr(torch.nn.functional, name)(tx, tw, tb, **kw)
    g = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(_t(g))
    ty.backward(torch.tensor(g))
    k = int(np.prod(ws[1:]))
    for got, want in ((y.detach(), ty), (X.grad, tx.grad), (W.grad, tw.grad), (B.grad, tb.grad)):
        _close(got.numpy(), want.detach().numpy().astype(np.float64), dtype, 4 * k)


# ---- errors name the op and the shapes ------------------------------------------
def test_errors_name_op_and_shapes():
    o = tf.ones
    with pytest.raises(ValueError, match=r"conv2d: expected a 3-D \(C, H, W\) \(unbatched\) "
                                         r"or 4-D .* got input of shape \(5, 5\)"):
        F.conv2d(o(5, 5), o(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected input of shape \(8, 28, 28\) to "
                                         r"have 1 channels"):
        F.conv2d(o(8, 28, 28), o(16, 1, 3, 3))
    with pytest.raises(ValueError, match=r"kernel size \(5, 5\) .* larger than the padded "
                                         r"input size \(4, 4\) \(input of shape \(1, 1, 4, 4\)"):
        F.conv2d(o(1, 1, 4, 4), o(1, 1, 5, 5))
    with pytest.raises(ValueError, match=r"padding='same' is not supported for strided"):
        F.conv1d(o(1, 1, 8), o(1, 1, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding \(2, 2\) must be "
                                         r"smaller than either stride \(2, 2\) or dilation"):
        F.conv_transpose2d(o(1, 1, 3, 3), o(1, 1, 3, 3), stride=2, output_padding=2)


def test_c_entry_points_check_their_arguments():
    """The C core refuses what the Python layer would (its net)."""
    x, w = tf.ones(1, 2, 4, 4), tf.ones(3, 2, 3, 3)
    bad = _C.shape_array((1, 1, 0, 0, 1, 1, 0))
    with pytest.raises(ValueError, match=r"conv2d: groups must be positive, got 0"):
        _call(_C.tf_conv2d, x._h, w._h, None, bad, 2, 2)
    ok = _C.shape_array((1, 1, 0, 0, 1, 1, 1))
    with pytest.raises(ValueError, match=r"conv2d_input_grad: grad_output of shape "
                                         r"\(1, 2, 2, 2\) has 2 channels, but weight of "
                                         r"shape \(3, 2, 3, 3\) has 3 output channels"):
        _call(_C.tf_conv2d_input_grad, tf.ones(1, 2, 2, 2)._h, w._h, ok, 4, 4)
    with pytest.raises(TypeError, match=r"conv2d: expected operands of one dtype"):
        _call(_C.tf_conv2d, x._h, tf.ones(3, 2, 3, 3, dtype=tf.float64)._h, None, ok, 2, 2)
    with pytest.raises(ValueError, match=r"conv2d_weight_grad: input of shape \(1, 2, 4, 4\) "
                                         r"and grad_output of shape \(2, 3, 2, 2\) have "
                                         r"different batch sizes"):
        _call(_C.tf_conv2d_weight_grad, x._h, tf.ones(2, 3, 2, 2)._h, ok, 3, 3)


# ---- pad's circular mode ---------------------------------------------------------
@pytest.mark.parametrize("pads", [(1, 2), (3, 0, 1, 2), (-1, 2, 2, -1), (4, 4), (0, 0, 3, 3)])
def test_pad_circular_matches_torch_and_is_differentiable(pads):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 4))
    want = torch.nn.functional.pad(torch.tensor(x), pads, mode="circular").numpy()
    X = _t(x, True)
    got = tf.pad(X, pads, mode="circular")
    assert np.array_equal(got.detach().numpy(), want)
    assert gradcheck(lambda t: tf.pad(t, pads, mode="circular"), (X,))


def test_pad_circular_refuses_wrapping_twice():
    with pytest.raises(ValueError, match=r"pad: circular padding of \(5, 0\) in dim 2 of "
                                         r"input of shape \(2, 3, 4\) wraps around more"):
        tf.pad(tf.ones(2, 3, 4), (5, 0), mode="circular")


def test_no_tensor_leaks():
    base = _C.live_tensors()
    x = _t(RNG.standard_normal((2, 3, 6, 6)), True)
    w = _t(RNG.standard_normal((4, 3, 3, 3)), True)
    F.conv2d(x, w, padding=1).sum().backward()
    F.conv_transpose2d(x, _t(RNG.standard_normal((3, 2, 3, 3)), True)).sum().backward()
    del x, w
    assert _C.live_tensors() == base


# ---- the modules ------------------------------------------------------------------
MODULE_CASES = [
    ("Conv2d", (3, 6, 3), {}),
    ("Conv2d", (4, 6, (3, 2)), {"stride": 2, "padding": (1, 2), "dilation": (2, 1), "groups": 2}),
    ("Conv2d", (4, 8, 3), {"padding": "same", "groups": 4, "padding_mode": "reflect"}),
    ("Conv2d", (3, 4, (2, 3)), {"padding": "same", "padding_mode": "circular", "bias": False}),
    ("Conv2d", (3, 4, 3), {"padding": (2, 1), "padding_mode": "replicate", "stride": 2}),
    ("Conv1d", (3, 4, 4), {"padding": "same", "padding_mode": "circular"}),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 2, "groups": 2, "padding_mode": "reflect"}),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    ("ConvTranspose1d", (3, 2, 3), {"stride": 3, "dilation": 2, "bias": False}),
]


def _pair_of_modules(torch, name, args, kwargs, dtype):
    m = getattr(tf.nn, name)(*args, **kwargs).to(getattr(tf, dtype))
    t = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in m.state_dict().items()})
    return m, t


@pytest.mark.parametrize("name,args,kwargs", MODULE_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_module_matches_torch(name, args, kwargs, dtype):
    torch = pytest.importorskip("torch")
    m, t = _pair_of_modules(torch, name, args, kwargs, dtype)
    assert repr(m) == repr(t)
    n = 1 if name.endswith("1d") else 2
    x = RNG.standard_normal((2, args[0]) + (7,) * n).astype(dtype)
    X, tx = _t(x, True), torch.tensor(x, requires_grad=True)
    y, ty = m(X), t(tx)
    g = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(_t(g))
    ty.backward(torch.tensor(g))
    k = int(np.prod(tuple(m.weight.shape)[1:])) * 4
    _close(y.detach().numpy(), ty.detach().numpy().astype(np.float64), dtype, k)
    _close(X.grad.numpy(), tx.grad.numpy().astype(np.float64), dtype, k)
    for (key, p), (_, tp) in zip(m.named_parameters(), t.named_parameters()):
        _close(p.grad.numpy(), tp.grad.numpy().astype(np.float64), dtype, 4 * 98)


def test_conv_transpose_output_size_matches_torch():
    torch = pytest.importorskip("torch")
    m, t = _pair_of_modules(torch, "ConvTranspose2d", (2, 3, 3), {"stride": 3}, "float64")
    x = RNG.standard_normal((1, 2, 4, 4))
    for size in [(12, 12), (13, 14), (1, 3, 14, 12)]:
        got = m(_t(x), output_size=size).detach().numpy()
        want = t(torch.tensor(x), output_size=size).detach().numpy()
        _close(got, want, "float64", 18)
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2, 3, .*\): requested an output "
                                         r"size of \(15, 12\), but valid sizes for input of "
                                         r"shape \(1, 2, 4, 4\) range from 12 to 14 in dim 0"):
        m(_t(x), output_size=(15, 12))


def test_default_initialisation_bounds_and_generator():
    m = tf.nn.Conv2d(16, 8, 3, groups=2)
    bound = 1 / np.sqrt(8 * 9)   # fan_in = (16 / 2) * 3 * 3
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
    assert np.abs(w).max() > 0.9 * bound and np.std(w) > 0.5 * bound / np.sqrt(3)
    mt = tf.nn.ConvTranspose2d(6, 4, 3, groups=2)   # weight (6, 2, 3, 3): fan_in 18
    assert np.all(np.abs(mt.weight.detach().numpy()) <= 1 / np.sqrt(18))
    g1, g2 = tf.Generator().manual_seed(5), tf.Generator().manual_seed(5)
    m.reset_parameters(generator=g1)
    a = m.weight.detach().numpy().copy()
    m.reset_parameters(generator=g2)
    assert np.array_equal(a, m.weight.detach().numpy())


def test_module_errors_name_the_layer_and_shapes():
    m = tf.nn.Conv2d(1, 16, 3, padding=1)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 16, kernel_size=\(3, 3\), stride=\(1, 1\), "
                                         r"padding=\(1, 1\)\): expected input of shape "
                                         r"\(N, 1, H, W\) or unbatched \(1, H, W\), got input of "
                                         r"shape \(8, 28, 28\) with 8 channels .*unsqueeze\(1\)"):
        m(tf.ones(8, 28, 28))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 16.*\): expected a 4-D input .* got input "
                                         r"of shape \(28, 28\)"):
        m(tf.ones(28, 28))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 16.*\): expected input .* got input of "
                                         r"shape \(2, 3, 8, 8\) with 3 channels"):
        m(tf.ones(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2, kernel_size=\(5, 5\), stride=\(1, 1\)\):"
                                         r" conv2d: kernel size \(5, 5\) .* larger than the padded "
                                         r"input size \(3, 3\)"):
        tf.nn.Conv2d(1, 2, 5)(tf.ones(1, 1, 3, 3))
    with pytest.raises(TypeError, match=r"Conv2d\(1, 16.*\): conv2d: input \(float64\) and "
                                        r"weight \(float32\) must have the same dtype"):
        m(tf.ones(2, 1, 8, 8, dtype=tf.float64))
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by "
                                         r"groups \(2\)"):
        tf.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv1d: out_channels \(3\) must be divisible"):
        tf.nn.Conv1d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' is not supported for strided"):
        tf.nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"Conv2d: stride must be positive, got 0"):
        tf.nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be an int or a tuple of 2 "
                                         r"ints, got \(3, 3, 3\)"):
        tf.nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode must be one of"):
        tf.nn.Conv2d(3, 4, 3, padding_mode="wrap")
    with pytest.raises(ValueError, match=r'ConvTranspose2d: only "zeros" padding mode'):
        tf.nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"ConvTranspose2d: padding must be an int or a tuple"):
        tf.nn.ConvTranspose2d(3, 4, 3, padding="same")


@pytest.mark.parametrize("call", [
    lambda: F.conv_transpose1d(tf.ones((1, 1, 3)), tf.ones((1, 1, 5)), dilation=2 ** 62),
    lambda: F.conv_transpose1d(tf.ones((1, 1, 5)), tf.ones((1, 1, 3)), stride=2 ** 62),
    lambda: F.conv_transpose2d(tf.ones((2, 4, 8, 8)), tf.ones((4, 1, 5, 5)), dilation=2 ** 62),
    lambda: F.conv1d(tf.ones((1, 1, 4)), tf.ones((1, 1, 2)), padding=2 ** 63 - 1),
], ids=["transpose_dilation", "transpose_stride", "transpose2d_dilation", "padding"])
def test_an_output_size_beyond_int64_is_a_value_error(call):
    """Computed exactly in Python, such a size once reached C modulo 2^64:
    a wrong shape, or a write outside the result (a crash)."""
    with pytest.raises(ValueError, match=r"the output size \(\d+(, \d+)?,?\) of input size .* "
                                         r"does not fit in int64"):
        call()


def test_the_c_passes_refuse_positions_beyond_int64():
    """The net under the front ends: a pass whose input positions p s - pad
    + i d overflow int64 is refused before any kernel runs."""
    big = 2 ** 62
    with pytest.raises(ValueError, match=r"conv2d: output size \(3, 2\) with stride "
                                         r"\(4611686018427387904, 1\) .* beyond int64"):
        _call(_C.tf_conv2d, tf.ones((1, 1, 4, 4))._h, tf.ones((1, 1, 3, 3))._h, None,
              _C.shape_array((big, 1, 0, 0, 1, 1, 1)), 3, 2)
    with pytest.raises(ValueError, match=r"conv2d_input_grad: .* dilated by "
                                         r"\(4611686018427387904, 1\) .* beyond int64"):
        _call(_C.tf_conv2d_input_grad, tf.ones((1, 1, 3, 3))._h, tf.ones((1, 1, 5, 5))._h,
              _C.shape_array((1, 1, 0, 0, big, 1, 1)), 4, 4)
