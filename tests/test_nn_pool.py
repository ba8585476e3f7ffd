"""Pooling (nn.functional.max_pool1d/2d, avg_pool1d/2d, adaptive_*_pool1d/2d)
against a vectorized NumPy float64 reference (sliding windows over a padded
copy; verify/ops_nn_pool.py has a second, loop-based one), at sizes past
TF_PARALLEL_GRAIN so the threaded paths run, against PyTorch (values,
indices and gradients) where it is installed, through gradcheck and
gradgradcheck, and on bad arguments (the messages name the op and shapes)."""
import math

import numpy as np
import pytest

import tinyfin as tf
from tinyfin import _C
from tinyfin.autograd import gradcheck, gradgradcheck
from tinyfin.nn import functional as F
from tinyfin.tensor import _call

RNG = np.random.default_rng(20261201)


# ---- a vectorized NumPy reference --------------------------------------------------
def _out_len(n, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    num = n + 2 * p - span
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _windows(x, k, s, p, d, ceil_mode, fill):
    """(..., OH, OW, kh * kw) taps of each window of x (..., H, W), padding
    and the area past the padded input filled with `fill`, plus a mask of
    taps inside the padded input and one of taps inside the input."""
    H, W = x.shape[-2:]
    OH = _out_len(H, k[0], s[0], p[0], d[0], ceil_mode)
    OW = _out_len(W, k[1], s[1], p[1], d[1], ceil_mode)
    # enough room on the right for windows that run past the padded input
    need_h = (OH - 1) * s[0] + d[0] * (k[0] - 1) + 1
    need_w = (OW - 1) * s[1] + d[1] * (k[1] - 1) + 1
    ph, pw = max(need_h - H - p[0], 0), max(need_w - W - p[1], 0)
    big = np.full(x.shape[:-2] + (p[0] + H + ph, p[1] + W + pw), fill, np.float64)
    big[..., p[0]:p[0] + H, p[1]:p[1] + W] = x
    pos_h = np.arange(OH)[:, None] * s[0] + np.arange(k[0])[None, :] * d[0]  # (OH, kh) in big
    pos_w = np.arange(OW)[:, None] * s[1] + np.arange(k[1])[None, :] * d[1]
    taps = big[..., pos_h[:, None, :, None], pos_w[None, :, None, :]]  # (..., OH, OW, kh, kw)
    in_h = (pos_h >= p[0]) & (pos_h < p[0] + H)
    in_w = (pos_w >= p[1]) & (pos_w < p[1] + W)
    padded_h = pos_h < 2 * p[0] + H
    padded_w = pos_w < 2 * p[1] + W
    inside = in_h[:, None, :, None] & in_w[None, :, None, :]
    padded = padded_h[:, None, :, None] & padded_w[None, :, None, :]
    flat = ((pos_h - p[0])[:, None, :, None] * W + (pos_w - p[1])[None, :, None, :])
    sh = taps.shape[:-2] + (k[0] * k[1],)
    return (taps.reshape(sh), inside.reshape(OH, OW, -1), padded.reshape(OH, OW, -1),
            flat.reshape(OH, OW, -1))


def ref_max_pool2d(x, k, s, p, d, ceil_mode):
    taps, inside, _, flat = _windows(x, k, s, p, d, ceil_mode, -np.inf)
    nan = np.isnan(taps)
    # PyTorch: a NaN wins (the last one), else the first maximum
    last_nan = taps.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    first_max = np.argmax(np.where(inside, taps, -np.inf) == np.max(
        np.where(inside, taps, -np.inf), axis=-1, keepdims=True), axis=-1)
    pick = np.where(nan.any(-1), last_nan, first_max)
    values = np.take_along_axis(taps, pick[..., None], -1)[..., 0]
    index = np.take_along_axis(np.broadcast_to(flat, taps.shape), pick[..., None], -1)[..., 0]
    return values, index


def ref_avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor=None):
    taps, inside, padded, _ = _windows(x, k, s, p, (1, 1), ceil_mode, 0.0)
    total = np.sum(taps, axis=-1)
    n_in, n_pad = inside.sum(-1), padded.sum(-1)
    div = divisor if divisor is not None else (n_pad if count_include_pad else n_in)
    with np.errstate(all="ignore"):
        return np.where(n_in > 0, total / div, 0.0)


def ref_adaptive(x, size, kind):
    H, W = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + tuple(size))
    idx = np.zeros(out.shape, np.int64)
    for i in range(size[0]):
        h0, h1 = (i * H) // size[0], -((-(i + 1) * H) // size[0])
        for j in range(size[1]):
            w0, w1 = (j * W) // size[1], -((-(j + 1) * W) // size[1])
            win = x[..., h0:h1, w0:w1].reshape(x.shape[:-2] + (-1,))
            if kind == "avg":
                out[..., i, j] = win.mean(-1)
            else:
                a = np.argmax(win, axis=-1)  # finite inputs: the first maximum
                out[..., i, j] = np.take_along_axis(win, a[..., None], -1)[..., 0]
                idx[..., i, j] = (h0 + a // (w1 - w0)) * W + w0 + a % (w1 - w0)
    return out, idx


def _t(a):
    return tf.tensor(np.ascontiguousarray(a))


# ---- values at sizes reaching the parallel paths ------------------------------------
MAX_CASES = [  # shape, kernel, stride, padding, dilation, ceil_mode
    ((64, 16, 28, 28), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((8, 16, 33, 31), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((4, 8, 40, 37), (3, 2), (1, 2), (1, 1), (2, 1), False),
    ((2, 3, 31, 29), (4, 4), (3, 3), (2, 2), (1, 2), True),
    ((1, 1, 300, 257), (3, 3), (1, 1), (1, 1), (1, 1), False),   # one plane: rows split
    ((40, 35, 35), (5, 5), (2, 2), (2, 2), (1, 1), True),         # unbatched
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_matches_numpy(shape, k, s, p, d, ceil, dtype):
    x = RNG.standard_normal(shape).astype(dtype)
    v, i = F.max_pool2d(_t(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    rv, ri = ref_max_pool2d(x.astype(np.float64), k, s, p, d, ceil)
    assert v.dtype.name == dtype and i.dtype is tf.int64
    np.testing.assert_array_equal(v.numpy(), rv.astype(dtype))
    np.testing.assert_array_equal(i.numpy(), ri)


@pytest.mark.parametrize("shape,k,s,p,ceil,incl,div", [
    ((64, 16, 28, 28), (2, 2), (2, 2), (0, 0), False, True, None),
    ((8, 16, 33, 31), (3, 3), (2, 2), (1, 1), True, True, None),
    # even sizes: the last ceil_mode window runs past the padded input, and
    # count_include_pad counts only its taps inside the padded input
    ((8, 16, 32, 30), (3, 3), (2, 2), (1, 1), True, True, None),
    ((8, 16, 33, 31), (3, 3), (2, 2), (1, 1), True, False, None),
    ((4, 8, 40, 37), (3, 2), (1, 2), (1, 1), False, False, None),
    ((4, 8, 40, 37), (4, 3), (3, 2), (2, 1), True, True, 7),
    ((1, 1, 300, 257), (5, 5), (1, 1), (2, 2), False, False, None),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avg_pool2d_matches_numpy(shape, k, s, p, ceil, incl, div, dtype):
    x = RNG.standard_normal(shape).astype(dtype)
    got = F.avg_pool2d(_t(x), k, s, p, ceil_mode=ceil, count_include_pad=incl,
                       divisor_override=div).numpy()
    want = ref_avg_pool2d(x.astype(np.float64), k, s, p, ceil, incl, div)
    assert got.dtype == dtype and got.shape == want.shape
    if dtype == "float64":
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    else:  # summed in double, rounded once: within one float32 ULP
        np.testing.assert_array_less(np.abs(got - want), np.spacing(np.abs(want).astype(np.float32)) + 1e-38)


@pytest.mark.parametrize("shape,size", [((8, 16, 33, 31), (7, 5)), ((2, 3, 64, 64), (5, 9)),
                                        ((1, 1, 300, 257), (33, 40)), ((4, 8, 10, 12), (13, 17))])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool2d_matches_numpy(shape, size, kind):
    x = RNG.standard_normal(shape)
    want, want_i = ref_adaptive(x, size, kind)
    if kind == "avg":
        np.testing.assert_allclose(F.adaptive_avg_pool2d(_t(x), size).numpy(), want, rtol=1e-14, atol=1e-15)
    else:
        v, i = F.adaptive_max_pool2d(_t(x), size, return_indices=True)
        np.testing.assert_array_equal(v.numpy(), want)
        np.testing.assert_array_equal(i.numpy(), want_i)


def test_pool1d_is_pool2d_of_height_one():
    x = RNG.standard_normal((16, 32, 301))
    v, i = F.max_pool1d(_t(x), 4, 3, 2, 2, ceil_mode=True, return_indices=True)
    rv, ri = ref_max_pool2d(x[:, :, None, :], (1, 4), (1, 3), (0, 2), (1, 2), True)
    np.testing.assert_array_equal(v.numpy(), rv[:, :, 0])
    np.testing.assert_array_equal(i.numpy(), ri[:, :, 0])
    a = F.avg_pool1d(_t(x), 5, 2, 2, ceil_mode=True, count_include_pad=False).numpy()
    np.testing.assert_allclose(a, ref_avg_pool2d(x[:, :, None, :], (1, 5), (1, 2), (0, 2), True, False)[:, :, 0],
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(_t(x), 13).numpy(),
                               ref_adaptive(x[:, :, None, :], (1, 13), "avg")[0][:, :, 0], rtol=1e-14,
                               atol=1e-15)
    v, i = F.adaptive_max_pool1d(_t(x), 13, return_indices=True)
    rv, ri = ref_adaptive(x[:, :, None, :], (1, 13), "max")
    np.testing.assert_array_equal(v.numpy(), rv[:, :, 0])
    np.testing.assert_array_equal(i.numpy(), ri[:, :, 0])


def test_non_contiguous_inputs():
    base = RNG.standard_normal((6, 40, 8, 36))
    x = _t(base).permute(2, 0, 3, 1)[:, :, ::2, 1:]          # (8, 6, 18, 39), no unit stride
    assert not x.is_contiguous()
    xn = base.transpose(2, 0, 3, 1)[:, :, ::2, 1:]
    v, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    rv, ri = ref_max_pool2d(xn, (3, 3), (2, 2), (1, 1), (1, 1), False)
    np.testing.assert_array_equal(v.numpy(), rv)
    np.testing.assert_array_equal(i.numpy(), ri)
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 2, 1).numpy(),
                               ref_avg_pool2d(xn, (3, 3), (2, 2), (1, 1), False, True), rtol=1e-14)
    # the gradient lands in the right elements of the strided input
    xg = x.detach().requires_grad_()
    F.max_pool2d(xg, 3, 2, 1).sum().backward()
    want = np.zeros(xn.shape)
    for n in range(xn.shape[0]):
        for c in range(xn.shape[1]):
            np.add.at(want[n, c].reshape(-1), ri[n, c].reshape(-1), 1.0)
    np.testing.assert_array_equal(xg.grad.numpy(), want)


def test_size_zero_batch_and_unbatched():
    z = tf.zeros(0, 3, 8, 8)
    assert F.max_pool2d(z, 2).shape == (0, 3, 4, 4)
    assert F.avg_pool2d(z, 3, 1, 1).shape == (0, 3, 8, 8)
    assert F.adaptive_avg_pool2d(z, (2, 5)).shape == (0, 3, 2, 5)
    v, i = F.adaptive_max_pool2d(z, 3, return_indices=True)
    assert v.shape == i.shape == (0, 3, 3, 3)
    zg = tf.zeros(0, 3, 8, 8, dtype=tf.float64).requires_grad_()
    F.max_pool2d(zg, 2).sum().backward()
    assert zg.grad.shape == (0, 3, 8, 8)
    x = RNG.standard_normal((3, 9, 7))
    np.testing.assert_array_equal(F.max_pool2d(_t(x), 2).numpy(), F.max_pool2d(_t(x[None]), 2).numpy()[0])
    assert F.adaptive_avg_pool2d(_t(x), (0, 3)).shape == (3, 0, 3)


def test_ties_nan_and_inf():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [2.0, np.nan, np.nan]]]])
    v, i = F.max_pool2d(_t(x), 2, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[[[0, 5], [7, 8]]]])  # first max; the last NaN
    np.testing.assert_array_equal(v.numpy(), [[[[1.0, 2.0], [np.nan, np.nan]]]])
    neg = np.full((1, 1, 2, 2), -np.inf)
    v, i = F.max_pool2d(_t(neg), 2, padding=1, return_indices=True)
    assert np.all(v.numpy() == -np.inf)
    np.testing.assert_array_equal(i.numpy(), [[[[0, 1], [2, 3]]]])  # never a padding position


def test_thread_count_does_not_change_results():
    x = RNG.standard_normal((32, 16, 29, 27)).astype(np.float32)
    g = RNG.standard_normal((32, 16, 15, 14)).astype(np.float32)
    old = tf.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            tf.set_num_threads(n)
            out = []
            for f in (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
                      lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                      lambda t: F.adaptive_avg_pool2d(t, (15, 14)),
                      lambda t: F.adaptive_max_pool2d(t, (15, 14))):
                xt = _t(x).requires_grad_()
                y = f(xt)
                y.backward(_t(g[:, :, :y.shape[2], :y.shape[3]]))
                out += [y.detach().numpy(), xt.grad.numpy()]
            results.append(out)
    finally:
        tf.set_num_threads(old)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


# ---- gradients ----------------------------------------------------------------------
def _distinct(shape):
    n = int(np.prod(shape))
    return tf.tensor((RNG.permutation(n) * 0.37 - n * 0.18).reshape(shape)).requires_grad_()


GRAD_CASES = [
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 1, 1), (1, 2, 5, 4)),
    ("max_pool2d dilated ceil", lambda x: F.max_pool2d(x, (2, 3), (2, 1), (1, 1), (2, 1), True), (1, 1, 6, 5)),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), (2, 2, 7)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 5)),
    ("avg_pool2d divisor", lambda x: F.avg_pool2d(x, 2, 1, divisor_override=3), (1, 1, 4, 5)),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 4, 3, 2, ceil_mode=True), (2, 1, 9)),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (1, 2, 5, 6)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 2)), (1, 2, 5, 5)),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 4), (2, 7)),
    ("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 4), (2, 7)),
]


@pytest.mark.parametrize("name,f,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(name, f, shape):
    x = _distinct(shape)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_max_pool_backward_accumulates_overlaps():
    x = tf.tensor([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]).requires_grad_()
    F.max_pool2d(x, 2, 1).backward(tf.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 0, 0], [0, 10, 0], [0, 0, 0]]]])


def test_double_backward_is_a_gather_at_the_indices():
    x = _distinct((2, 3, 6, 6))
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    g = tf.tensor(RNG.standard_normal(tuple(y.shape))).requires_grad_()
    (gx,) = tf.autograd.grad(y, (x,), g, create_graph=True)
    v = tf.tensor(RNG.standard_normal(tuple(x.shape)))
    (gg,) = tf.autograd.grad((gx * v).sum(), (g,))
    want = np.take_along_axis(v.numpy().reshape(6, 36), idx.numpy().reshape(6, -1), 1).reshape(y.shape)
    np.testing.assert_allclose(gg.numpy(), want, rtol=0, atol=0)


def test_avg_backward_is_the_adjoint():
    x = tf.tensor(RNG.standard_normal((3, 4, 11, 10))).requires_grad_()
    y = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    u = RNG.standard_normal(tuple(y.shape))
    y.backward(tf.tensor(u))
    # <u, A x> = <A^T u, x> for random x
    x2 = RNG.standard_normal(tuple(x.shape))
    lhs = float(np.sum(u * F.avg_pool2d(tf.tensor(x2), 3, 2, 1, ceil_mode=True,
                                        count_include_pad=False).numpy()))
    assert math.isclose(lhs, float(np.sum(x.grad.numpy() * x2)), rel_tol=1e-12)


def test_backward_refuses_bad_indices():
    """The C backward reads each index once and checks it: an index from a
    corrupt tensor is an IndexError, never a write outside the plane."""
    g = tf.ones(1, 1, 2, 2, dtype=tf.float64)
    bad = tf.tensor([[[[0, 1], [2, 16]]]])
    shape = _C.shape_array((1, 1, 4, 4))
    two = _C.shape_array((2, 2))
    one = _C.shape_array((1, 1))
    zero = _C.shape_array((0, 0))
    with pytest.raises(IndexError, match=r"max_pool2d backward: index 16 of plane 0 is outside the input "
                                         r"plane of 4 x 4 elements \(valid: 0 to 15\)"):
        _call(_C.tf_pool_backward, 0, 2, g._h, bad._h, 4, shape, two, two, zero, one,
              False, False, False, 0)


# ---- errors -------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.max_pool2d(tf.ones(1, 1, 4, 4), 7, padding=1), ValueError,
     r"max_pool2d: the kernel is larger than the padded input: in dim H the window covers 7 elements "
     r"\(kernel_size 7, dilation 1\) but the padded input has 6 \(size 4 \+ 2 \* padding 1\); input shape "
     r"\(1, 1, 4, 4\)"),
    (lambda: F.avg_pool2d(tf.ones(2, 3, 5), 2, padding=(0, 2)), ValueError,
     r"avg_pool2d: padding should be at most half of kernel_size, got padding \(0, 2\) and kernel_size \(2, 2\)"),
    (lambda: F.max_pool1d(tf.ones(1, 2, 5), 2, stride=0), ValueError,
     r"max_pool1d: stride must be greater than zero, got 0"),
    (lambda: F.max_pool2d(tf.ones(4, 4), 2), ValueError,
     r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(4, 4\)"),
    (lambda: F.avg_pool1d(tf.ones(1, 1, 4, 4), 2), ValueError,
     r"avg_pool1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) input, got shape \(1, 1, 4, 4\)"),
    (lambda: F.adaptive_avg_pool2d(tf.ones(1, 2, 4, 4), (-1, 2)), ValueError,
     r"adaptive_avg_pool2d: output_size must be >= 0, got \(-1, 2\)"),
    (lambda: F.adaptive_max_pool2d(tf.ones(2, 0, 4, 4), 2), ValueError,
     r"adaptive_max_pool2d: expected an input with non-zero sizes in every dim but the batch dim, got shape "
     r"\(2, 0, 4, 4\) \(dim 1 is empty\)"),
    (lambda: F.avg_pool2d(tf.ones(1, 1, 4, 4), 2, divisor_override=0), ValueError,
     r"avg_pool2d: divisor_override must be non-zero"),
    (lambda: F.max_pool2d(tf.ones(1, 1, 4, 4), 2, dilation=(1, 0)), ValueError,
     r"max_pool2d: dilation must be greater than zero, got \(1, 0\)"),
    (lambda: F.max_pool2d(tf.ones(1, 1, 1, 1), 2, padding=1, dilation=2), ValueError,
     r"max_pool2d: the window of output 0 in dim H covers only padding"),
    (lambda: F.max_pool2d(tf.ones(1, 1, 4, 4, dtype=tf.int64), 2), TypeError,
     r"max_pool2d: expected a float32 or float64 input, got int64"),
    (lambda: F.max_pool2d(tf.ones(1, 1, 4, 4), (2, 2, 2)), ValueError,
     r"max_pool2d: kernel_size must be a single int, or a tuple of 2 ints, got \(2, 2, 2\)"),
    (lambda: F.max_pool2d(tf.ones(1, 1, 4, 4), 2.5), TypeError, r"max_pool2d: kernel_size must be an int"),
    (lambda: F.avg_pool2d([[1.0]], 2), TypeError, r"avg_pool2d: expected a Tensor as input"),
])
def test_errors_name_the_op_and_shapes(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- PyTorch -------------------------------------------------------------------------
TORCH_CASES = [
    ("max_pool2d", (4, 3, 13, 11), (3,), dict(stride=2, padding=1, ceil_mode=True, return_indices=True)),
    ("max_pool2d", (4, 3, 13, 11), ((3, 2),), dict(stride=(1, 2), padding=(1, 1), dilation=(2, 3),
                                                  return_indices=True)),
    ("max_pool2d", (3, 12, 12), (2,), dict(return_indices=True)),
    ("max_pool2d", (2, 2, 9, 9), (4,), dict(stride=3, padding=2, ceil_mode=True, return_indices=True)),
    ("max_pool1d", (4, 3, 17), (3,), dict(stride=2, padding=1, dilation=2, ceil_mode=True,
                                          return_indices=True)),
    ("max_pool1d", (3, 17), (4,), dict(return_indices=True)),
    ("avg_pool2d", (4, 3, 13, 11), (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", (4, 3, 13, 11), (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", (4, 3, 13, 11), ((4, 3),), dict(stride=(3, 2), padding=(2, 1), ceil_mode=True,
                                                  divisor_override=5)),
    ("avg_pool2d", (3, 10, 10), (2,), {}),
    ("avg_pool2d", (4, 3, 12, 10), (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("avg_pool1d", (4, 3, 17), (4,), dict(stride=3, padding=2, ceil_mode=True, count_include_pad=False)),
    ("avg_pool1d", (4, 3, 17), (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("adaptive_avg_pool2d", (4, 3, 13, 11), ((5, None),), {}),
    ("adaptive_avg_pool2d", (3, 13, 11), (4,), {}),
    ("adaptive_max_pool2d", (4, 3, 13, 11), ((5, 7),), dict(return_indices=True)),
    ("adaptive_max_pool2d", (4, 3, 5, 4), ((9, 7),), dict(return_indices=True)),
    ("adaptive_avg_pool1d", (4, 3, 17), (5,), {}),
    ("adaptive_max_pool1d", (4, 3, 17), (6,), dict(return_indices=True)),
]


@pytest.mark.parametrize("name,shape,args,kwargs", TORCH_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("values", ["normal", "ties", "special"])
def test_matches_torch(name, shape, args, kwargs, dtype, values):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    if values == "normal":
        x = RNG.standard_normal(shape)
    elif values == "ties":
        x = RNG.integers(-2, 3, size=shape) / 2.0
    else:
        x = RNG.standard_normal(shape)
        flat = x.reshape(-1)
        pick = RNG.choice(flat.size, flat.size // 5, replace=False)
        flat[pick] = np.array([np.nan, -np.inf, np.inf, np.nan])[np.arange(pick.size) % 4]
    x = x.astype(dtype)
    xt = tf.tensor(x).requires_grad_()
    xp = torch.tensor(x, requires_grad=True)
    got = getattr(F, name)(xt, *args, **kwargs)
    want = getattr(tF, name)(xp, *args, **kwargs)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    tol = dict(rtol=2e-7, atol=1e-6) if dtype == "float32" else dict(rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got[0].detach().numpy(), want[0].detach().numpy(), **tol)
    if len(got) > 1:
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    if values == "special":
        return
    g = RNG.standard_normal(tuple(got[0].shape)).astype(dtype)
    got[0].backward(tf.tensor(g))
    want[0].backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), xp.grad.numpy(), **tol)


# ---- modules ---------------------------------------------------------------------------
MODULE_CASES = [
    ("MaxPool2d", (2,), {}, (4, 3, 8, 8)),
    ("MaxPool2d", ((3, 2),), dict(stride=1, padding=1, dilation=(1, 2), ceil_mode=True), (2, 3, 9, 8)),
    ("MaxPool2d", (3,), dict(stride=2, return_indices=True), (3, 9, 9)),
    ("MaxPool1d", (3, 2, 1, 2, True, True), {}, (2, 3, 15)),      # positional: return_indices, ceil_mode
    ("AvgPool2d", (3, 2, 1, True, False, None), {}, (2, 3, 9, 8)),
    ("AvgPool2d", ((2, 3),), dict(divisor_override=4), (2, 3, 8, 9)),
    ("AvgPool1d", (4,), dict(stride=3, padding=2, ceil_mode=True, count_include_pad=False), (2, 3, 16)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (2, 3, 7, 8)),
    ("AdaptiveAvgPool1d", (5,), {}, (3, 11)),
    ("AdaptiveMaxPool2d", ((3, 4), True), {}, (2, 3, 7, 9)),
    ("AdaptiveMaxPool1d", (4,), dict(return_indices=True), (2, 3, 10)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULE_CASES)
def test_modules_match_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    m, mt = getattr(tf.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(mt)
    assert list(m.parameters()) == [] and m.state_dict() == {}
    for attr in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
                 "count_include_pad", "divisor_override", "output_size"):
        if hasattr(mt, attr):
            assert getattr(m, attr) == getattr(mt, attr), attr
    x = RNG.standard_normal(shape)
    xt = tf.tensor(x).requires_grad_()
    xp = torch.tensor(x, requires_grad=True)
    got, want = m(xt), mt(xp)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    np.testing.assert_allclose(got[0].detach().numpy(), want[0].detach().numpy(), rtol=1e-13, atol=1e-14)
    if len(got) > 1:
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    g = RNG.standard_normal(tuple(got[0].shape))
    got[0].backward(tf.tensor(g))
    want[0].backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), xp.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_module_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) "
                                         r"input, got shape \(8, 8\)"):
        tf.nn.MaxPool2d(2)(tf.ones(8, 8))
    with pytest.raises(ValueError, match=r"avg_pool2d: the kernel is larger than the padded input"):
        tf.nn.AvgPool2d(5)(tf.ones(1, 1, 3, 3))


def test_cnn_block_trains():
    """conv-free smoke: pooling inside a Sequential with Linear learns a
    separable target (the gradients reach the Linear through the pools)."""
    # seeded here: the test's outcome must not depend on which tests ran
    # before it (CI, without PyTorch, skips some and draws less from RNG)
    tf.manual_seed(0)
    model = tf.nn.Sequential(tf.nn.MaxPool2d(2), tf.nn.AvgPool2d(2), tf.nn.Flatten(),
                             tf.nn.Linear(4, 1))
    x = tf.tensor(np.random.default_rng(0).standard_normal((64, 1, 8, 8)).astype(np.float32))
    # a target the model can represent: 3 x the mean of the pooled features
    y = F.avg_pool2d(F.max_pool2d(x, 2), 2).reshape(64, -1).mean(1, keepdim=True) * 3.0
    first = None
    for _ in range(60):
        loss = ((model(x) - y) ** 2).mean()
        for p in model.parameters():
            p.grad = None
        loss.backward()
        with tf.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        first = first if first is not None else float(loss.item())
    assert float(loss.item()) < 0.5 * first


def test_nothing_leaks():
    """Forward, backward, double backward and every error path give back
    every C tensor they make (the entry points release on each failure)."""
    def work():
        x = _distinct((2, 3, 6, 6))
        y, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        z = F.avg_pool2d(x, 2)
        w = F.adaptive_max_pool2d(x, 4)
        gs = [tf.ones(*t.shape, dtype=tf.float64).requires_grad_() for t in (y, z, w)]
        (gx,) = tf.autograd.grad((y, z, w), (x,), gs, create_graph=True)
        (gx * gx).sum().backward()     # through the backward passes, to gs
        assert all(g.grad is not None for g in gs)
        F.adaptive_avg_pool1d(F.max_pool1d(x[0, 0], 2), 2).sum().backward()  # unbatched
        for bad in (lambda: F.max_pool2d(x, 9), lambda: F.avg_pool2d(x, 2, divisor_override=0),
                    lambda: F.adaptive_avg_pool2d(x, (-1, 1)), lambda: F.max_pool1d(x, 2),
                    lambda: F.max_pool2d(x, 2, padding=1, dilation=9)):
            with pytest.raises(ValueError):
                bad()
    work()
    before = _C.live_tensors()
    for _ in range(3):
        work()
    assert _C.live_tensors() == before
