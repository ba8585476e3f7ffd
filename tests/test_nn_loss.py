"""The losses of tinyfin.nn (functional and modules): values against the
NumPy float64 references of verify/ops_nn_loss.py, values and gradients
against PyTorch (when installed) across every option, extreme logits, the
fused kernels' parallel paths against the references and across thread
counts, higher derivatives, and the errors (naming the loss and the shapes
or values)."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from verify import ops_nn_loss as R

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]
RTOL = {np.float32: 2e-6, np.float64: 1e-12}


def t(a, requires_grad=False):
    a = np.asarray(a)
    x = tf.tensor(a)
    return x.requires_grad_() if requires_grad else x


def close(got, want, dtype=np.float64, rtol=None):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    rtol = RTOL[dtype] if rtol is None else rtol
    scale = np.max(np.abs(want[np.isfinite(want)]), initial=1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale + 1e-300, equal_nan=True)


def logits(rng, shape, dtype=np.float64, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def classes(rng, shape, C, ignore=None, every=3):
    y = rng.integers(0, C, size=shape).astype(np.int64)
    if ignore is not None and y.size:
        y.reshape(-1)[::every] = ignore
        y.reshape(-1)[-1] = (ignore + 1) % C
    return y


def probs(rng, shape, cdim=1, dtype=np.float64):
    p = rng.uniform(0.05, 1, shape)
    return (p / p.sum(axis=cdim, keepdims=True)).astype(dtype)


# ---- cross_entropy against the NumPy reference -----------------------------------------
CE_OPTIONS = [dict(), dict(weight=True), dict(label_smoothing=0.2),
              dict(weight=True, label_smoothing=0.3), dict(ignore_index=1)]
CE_SHAPES = [(5,), (6, 5), (3, 4, 2, 3), (0, 5)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("opts", CE_OPTIONS, ids=str)
def test_cross_entropy_index_targets_match_numpy(opts, shape, reduction, dtype):
    rng = np.random.default_rng(0)
    cdim = 0 if len(shape) == 1 else 1
    C = shape[cdim]
    rows = tuple(s for i, s in enumerate(shape) if i != cdim)
    x = logits(rng, shape, dtype)
    ii = opts.get("ignore_index", -100)
    y = classes(rng, rows, C, ignore=ii) if rows and math.prod(rows) > 1 else \
        rng.integers(0, C, size=rows).astype(np.int64)
    kw = {k: v for k, v in opts.items() if k != "weight"}
    w = rng.uniform(0.3, 2.0, C)
    got = F.cross_entropy(t(x), t(y), weight=t(w.astype(dtype)) if opts.get("weight") else None,
                          reduction=reduction, **kw)
    want = R.ref_cross_entropy(x.astype(np.float64), y, weight=w.astype(dtype).astype(np.float64)
                               if opts.get("weight") else None, reduction=reduction, **kw)
    assert got.dtype.name == np.dtype(dtype).name
    close(got.numpy(), want, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4,), (5, 4), (2, 3, 4), (0, 4)], ids=str)
def test_cross_entropy_probability_targets_match_numpy(shape, reduction, dtype):
    rng = np.random.default_rng(1)
    cdim = 0 if len(shape) == 1 else 1
    x, p = logits(rng, shape, dtype), probs(rng, shape, cdim, dtype)
    w = rng.uniform(0.3, 2.0, shape[cdim]).astype(dtype)
    for kw in (dict(), dict(label_smoothing=0.25)):
        got = F.cross_entropy(t(x), t(p), weight=t(w), reduction=reduction, **kw)
        want = R.ref_cross_entropy(x.astype(np.float64), p.astype(np.float64),
                                   weight=w.astype(np.float64), reduction=reduction, **kw)
        close(got.numpy(), want, dtype)


def test_cross_entropy_mean_divides_by_the_weights_of_the_kept_targets():
    """PyTorch's rule, by hand: sum_i w[y_i] l_i / sum_i w[y_i] over the
    non-ignored i; all ignored gives nan (mean) and 0 (sum)."""
    x = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0]])
    y = np.array([2, -100, 0])
    w = np.array([0.5, 1.0, 4.0])
    lsm = x - np.log(np.exp(x).sum(1, keepdims=True))
    want = (-w[2] * lsm[0, 2] - w[0] * lsm[2, 0]) / (w[2] + w[0])
    got = F.cross_entropy(t(x), t(y), weight=t(w)).item()
    assert got == pytest.approx(want, rel=1e-14)
    assert math.isnan(F.cross_entropy(t(x), t([-100, -100, -100])).item())
    assert F.cross_entropy(t(x), t([-100, -100, -100]), reduction="sum").item() == 0.0


def test_cross_entropy_non_contiguous_logits():
    rng = np.random.default_rng(2)
    x = logits(rng, (5, 7))
    y = classes(rng, (7,), 5)
    xt = t(x).transpose(0, 1)       # (7, 5) with class stride 7
    want = R.ref_cross_entropy(x.T.copy(), y, reduction="none")
    close(F.cross_entropy(xt, t(y), reduction="none").numpy(), want)
    x4 = logits(rng, (2, 5, 3, 4))
    xp = t(x4).permute(0, 1, 3, 2)  # (2, 5, 4, 3), spatial dims swapped
    y4 = classes(rng, (2, 4, 3), 5)
    want = R.ref_cross_entropy(np.ascontiguousarray(x4.transpose(0, 1, 3, 2)), y4, reduction="none")
    close(F.cross_entropy(xp, t(y4), reduction="none").numpy(), want)


# ---- the fused kernels: large sizes, threads --------------------------------------------------
def _with_threads(n, f):
    before = tf.get_num_threads()
    tf.set_num_threads(n)
    try:
        return f()
    finally:
        tf.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_fused_kernels_parallel_paths_match_numpy_and_ignore_thread_count(dtype):
    """Sizes past the 2048-row reduction blocks and the parallel grain: the
    same bits on 1 and 2 threads (forward and backward), and the NumPy
    reference."""
    rng = np.random.default_rng(3)
    n, C = 9000, 11
    x = logits(rng, (n, C), dtype, 5.0)
    y = classes(rng, (n,), C, ignore=-100, every=13)
    w = rng.uniform(0.5, 2, C).astype(dtype)
    z = logits(rng, (400, 150), dtype, 5.0)
    zt = rng.uniform(0, 1, (400, 150)).astype(dtype)
    pw = rng.uniform(0.5, 3, 150).astype(dtype)

    def run():
        xs = t(x, True)
        ce = F.cross_entropy(xs, t(y), weight=t(w), label_smoothing=0.1)
        (gx,) = tf.autograd.grad(ce, xs)
        zs = t(z, True)
        b = F.binary_cross_entropy_with_logits(zs, t(zt), pos_weight=t(pw), reduction="sum")
        (gz,) = tf.autograd.grad(b, zs)
        return [a.detach().numpy() for a in (ce, gx, b, gz)]

    one, two = _with_threads(1, run), _with_threads(2, run)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
    close(one[0], R.ref_cross_entropy(x.astype(np.float64), y, weight=w.astype(np.float64),
                                      label_smoothing=0.1), dtype)
    close(one[2], R.ref_bce_logits(z.astype(np.float64), zt.astype(np.float64),
                                   reduction="sum", pos_weight=pw.astype(np.float64)), dtype)


# ---- the other losses against NumPy ---------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses_match_numpy(reduction, dtype):
    rng = np.random.default_rng(4)
    a, b = logits(rng, (4, 5), dtype), logits(rng, (4, 5), dtype)
    w = rng.uniform(0.5, 2, (4, 5)).astype(dtype)
    A, B, W = (x.astype(np.float64) for x in (a, b, w))
    cases = [
        (F.mse_loss(t(a), t(b), reduction=reduction), R.ref_mse(A, B, reduction)),
        (F.mse_loss(t(a), t(b), reduction=reduction, weight=t(w)), R.ref_mse(A, B, reduction, W)),
        (F.l1_loss(t(a), t(b), reduction=reduction), R.ref_l1(A, B, reduction)),
        (F.l1_loss(t(a), t(b), reduction=reduction, weight=t(w)), R.ref_l1(A, B, reduction, W)),
        (F.huber_loss(t(a), t(b), reduction=reduction, delta=0.7), R.ref_huber(A, B, reduction, 0.7)),
        (F.huber_loss(t(a), t(b), reduction=reduction, weight=t(w)),
         R.ref_huber(A, B, reduction, 1.0, W)),
        (F.smooth_l1_loss(t(a), t(b), reduction=reduction, beta=0.5),
         R.ref_smooth_l1(A, B, reduction, 0.5)),
        (F.smooth_l1_loss(t(a), t(b), reduction=reduction, beta=0.0),
         R.ref_l1(A, B, reduction)),
    ]
    for got, want in cases:
        close(got.numpy(), want, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_bce_kl_match_numpy(reduction, dtype):
    rng = np.random.default_rng(5)
    lp = np.log(probs(rng, (2, 4, 3))).astype(dtype)
    y = classes(rng, (2, 3), 4, ignore=-100)
    w = rng.uniform(0.5, 2, 4).astype(dtype)
    close(F.nll_loss(t(lp), t(y), weight=t(w), reduction=reduction).numpy(),
          R.ref_nll_loss(lp.astype(np.float64), y, weight=w.astype(np.float64),
                         reduction=reduction), dtype)
    p = rng.uniform(0.01, 0.99, (3, 4)).astype(dtype)
    q = rng.uniform(0, 1, (3, 4)).astype(dtype)
    bw = rng.uniform(0.5, 2, (4,)).astype(dtype)
    close(F.binary_cross_entropy(t(p), t(q), weight=t(bw), reduction=reduction).numpy(),
          R.ref_bce(p.astype(np.float64), q.astype(np.float64), bw.astype(np.float64),
                    reduction), dtype)
    lq = np.log(probs(rng, (3, 4))).astype(dtype)
    for red in (reduction, "batchmean"):
        for lt in (False, True):
            tgt = lq if lt else np.exp(lq).astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = F.kl_div(t(lp[0].T.copy()), t(tgt), reduction=red, log_target=lt)
            close(got.numpy(), R.ref_kl_div(lp[0].T.astype(np.float64), tgt.astype(np.float64),
                                            red, lt), dtype)


def test_bce_logs_clamped_at_minus_100():
    got = F.binary_cross_entropy(t([0.0, 1.0, 0.0, 1.0]), t([1.0, 0.0, 0.0, 1.0]),
                                 reduction="none")
    assert got.tolist() == [100.0, 100.0, 0.0, 0.0]


def test_mse_loss_warns_and_broadcasts_when_shapes_differ():
    a, b = np.arange(6.0).reshape(2, 3), np.array([1.0, 0.0, 2.0])
    with pytest.warns(UserWarning, match=r"mse_loss: using a target size \(\(3,\)\) that is "
                                         r"different to the input size \(\(2, 3\)\)"):
        got = F.mse_loss(t(a), t(b))
    assert got.item() == pytest.approx(np.mean((a - b) ** 2))


# ---- higher derivatives --------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["index", "index-weight-smoothing", "prob", "prob-smoothing",
                                  "spatial-ignore"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradgradcheck(case, reduction):
    rng = np.random.default_rng(6)
    w = t(rng.uniform(0.5, 2, 3))
    if case.startswith("index"):
        x, y = t(logits(rng, (4, 3)), True), t(classes(rng, (4,), 3, ignore=-100))
        kw = dict(weight=w, label_smoothing=0.2) if "weight" in case else {}
        inputs, fn = (x,), lambda x: F.cross_entropy(x, y, reduction=reduction, **kw)
    elif case.startswith("prob"):
        x, p = t(logits(rng, (3, 3)), True), t(probs(rng, (3, 3)), True)
        kw = dict(weight=w, label_smoothing=0.3) if "smoothing" in case else {}
        inputs, fn = (x, p), lambda x, p: F.cross_entropy(x, p, reduction=reduction, **kw)
    else:
        x, y = t(logits(rng, (2, 3, 2)), True), t(classes(rng, (2, 2), 3, ignore=1))
        inputs, fn = (x,), lambda x: F.cross_entropy(x, y, reduction=reduction, ignore_index=1)
    assert tf.autograd.gradcheck(fn, inputs)
    assert tf.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_gradgradcheck(pos_weight, reduction):
    rng = np.random.default_rng(7)
    x, y = t(logits(rng, (3, 4)), True), t(rng.uniform(0, 1, (3, 4)), True)
    kw = dict(weight=t(rng.uniform(0.5, 2, (3, 1))), pos_weight=t(rng.uniform(0.5, 3, 4))) \
        if pos_weight else {}
    fn = lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw)  # noqa: E731
    assert tf.autograd.gradcheck(fn, (x, y))
    assert tf.autograd.gradgradcheck(fn, (x, y))


def test_bce_gradgradcheck_and_gradient_at_bounds():
    rng = np.random.default_rng(8)
    x, y = t(rng.uniform(0.1, 0.9, (5,)), True), t(rng.uniform(0, 1, (5,)), True)
    assert tf.autograd.gradgradcheck(lambda x, y: F.binary_cross_entropy(x, y), (x, y))
    # at x = 0 and 1 PyTorch's gradient: (x - y) / max(x (1 - x), 1e-12), finite
    x = t([0.0, 1.0], True)
    (g,) = tf.autograd.grad(F.binary_cross_entropy(x, t([1.0, 0.0]), reduction="sum"), x)
    assert g.tolist() == [-1e12, 1e12]


# ---- PyTorch --------------------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _both(torch, arrays, grads):
    """(tinyfin tensors, torch tensors) of the arrays; float ones in `grads`
    require grad."""
    ours, theirs = [], []
    for i, a in enumerate(arrays):
        if a is None:
            ours.append(None)
            theirs.append(None)
            continue
        rg = i in grads
        ours.append(t(a, rg))
        theirs.append(torch.tensor(a, requires_grad=rg))
    return ours, theirs


def _compare_with_torch(torch, ours_fn, theirs_fn, arrays, grads, dtype=np.float64, rtol=None):
    ours, theirs = _both(torch, arrays, grads)
    a, b = ours_fn(*ours), theirs_fn(*theirs)
    close(a.detach().numpy(), b.detach().numpy(), dtype, rtol)
    if grads and a.numel():
        rng = np.random.default_rng(11)
        up = rng.standard_normal(tuple(a.shape)).astype(dtype)
        ga = tf.autograd.grad((a * t(up)).sum(), [ours[i] for i in grads])
        gb = torch.autograd.grad((b * torch.tensor(up)).sum(), [theirs[i] for i in grads])
        for x, y in zip(ga, gb):
            close(x.numpy(), y.numpy(), dtype, rtol)


CE_TORCH = list(itertools.product(
    [(7, 5), (2, 4, 3, 2), (5,)], REDUCTIONS,
    [dict(), dict(weight=True), dict(label_smoothing=0.15), dict(weight=True, label_smoothing=0.4),
     dict(ignore_index=2), dict(ignore_index=-100, weight=True)]))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape, reduction, opts", CE_TORCH, ids=str)
def test_cross_entropy_matches_torch(shape, reduction, opts, dtype):
    torch = _torch()
    TF = torch.nn.functional
    rng = np.random.default_rng(9)
    cdim = 0 if len(shape) == 1 else 1
    C = shape[cdim]
    rows = tuple(s for i, s in enumerate(shape) if i != cdim)
    x = logits(rng, shape, dtype)
    ii = opts.get("ignore_index", -100)
    y = classes(rng, rows, C, ignore=ii) if rows else np.array(1, np.int64)
    w = rng.uniform(0.3, 2, C).astype(dtype) if opts.get("weight") else None
    kw = {k: v for k, v in opts.items() if k != "weight"}
    _compare_with_torch(torch, lambda x, y, w: F.cross_entropy(x, y, w, reduction=reduction, **kw),
                        lambda x, y, w: TF.cross_entropy(x, y, w, reduction=reduction, **kw),
                        [x, y, w], grads=(0,), dtype=dtype)
    # probability targets: the target's gradient too
    p = probs(rng, shape, cdim, dtype)
    _compare_with_torch(torch, lambda x, p, w: F.cross_entropy(x, p, w, reduction=reduction,
                                                               label_smoothing=0.1),
                        lambda x, p, w: TF.cross_entropy(x, p, w, reduction=reduction,
                                                         label_smoothing=0.1),
                        [x, p, w], grads=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_and_bce_match_torch(reduction, dtype):
    torch = _torch()
    TF = torch.nn.functional
    rng = np.random.default_rng(10)
    lp = np.log(probs(rng, (3, 4, 2))).astype(dtype)
    y = classes(rng, (3, 2), 4, ignore=-100)
    w = rng.uniform(0.5, 2, 4).astype(dtype)
    for ww in (None, w):
        _compare_with_torch(torch, lambda x, y, w: F.nll_loss(x, y, w, reduction=reduction),
                            lambda x, y, w: TF.nll_loss(x, y, w, reduction=reduction),
                            [lp, y, ww], grads=(0,), dtype=dtype)
    p, q = rng.uniform(0.02, 0.98, (3, 4)).astype(dtype), rng.uniform(0, 1, (3, 4)).astype(dtype)
    bw = rng.uniform(0.5, 2, (4,)).astype(dtype)
    _compare_with_torch(torch, lambda p, q, w: F.binary_cross_entropy(p, q, w, reduction=reduction),
                        lambda p, q, w: TF.binary_cross_entropy(p, q, w.expand(3, 4), reduction=reduction),
                        [p, q, bw], grads=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", ["plain", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch(opts, reduction, dtype):
    torch = _torch()
    TF = torch.nn.functional
    rng = np.random.default_rng(12)
    x = logits(rng, (2, 3, 4), dtype, 4.0)
    y = rng.uniform(0, 1, (2, 3, 4)).astype(dtype)
    w = rng.uniform(0.5, 2, (3, 1)).astype(dtype) if opts in ("weight", "both") else None
    pw = rng.uniform(0.5, 3, 4).astype(dtype) if opts in ("pos_weight", "both") else None
    _compare_with_torch(
        torch,
        lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction,
                                                               pos_weight=pw),
        lambda x, y, w, pw: TF.binary_cross_entropy_with_logits(x, y, w, reduction=reduction,
                                                                pos_weight=pw),
        [x, y, w, pw], grads=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_regression_losses_and_kl_div_match_torch(reduction, dtype):
    torch = _torch()
    TF = torch.nn.functional
    rng = np.random.default_rng(13)
    a, b = logits(rng, (3, 5), dtype), logits(rng, (3, 5), dtype)
    w = rng.uniform(0.5, 2, (3, 5)).astype(dtype)
    lp, q = np.log(probs(rng, (3, 5))).astype(dtype), probs(rng, (3, 5)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lt in (False, True):
            _compare_with_torch(torch, lambda x, y: F.kl_div(x, y, reduction=reduction, log_target=lt),
                                lambda x, y: TF.kl_div(x, y, reduction=reduction, log_target=lt),
                                [lp, np.log(q) if lt else q], grads=(0, 1), dtype=dtype)
    if reduction == "batchmean":
        return
    for name, kw in [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.6}),
                     ("smooth_l1_loss", {"beta": 0.8}), ("smooth_l1_loss", {"beta": 0.0})]:
        ours, theirs = getattr(F, name), getattr(TF, name)
        _compare_with_torch(torch, lambda x, y: ours(x, y, reduction=reduction, **kw),
                            lambda x, y: theirs(x, y, reduction=reduction, **kw),
                            [a, b], grads=(0, 1), dtype=dtype)
        if name != "smooth_l1_loss":
            _compare_with_torch(torch, lambda x, y, w: ours(x, y, reduction=reduction, weight=w, **kw),
                                lambda x, y, w: theirs(x, y, reduction=reduction, weight=w, **kw),
                                [a, b, w], grads=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_extreme_logits_match_torch(dtype):
    """Logits of +-1e4 and +-1e30 mixed with moderate ones: loss and
    gradient finite and equal to PyTorch's (whose kernels are stable too)."""
    torch = _torch()
    TF = torch.nn.functional
    x = np.array([[1e4, -1e4, 0.5, 3.0], [1e30, -1e30, 2.0, 1e30], [-1e30, 0.0, 1e4, -2.0]], dtype)
    for y in ([0, 1, 2], [1, 0, 3], [3, 3, 0]):
        y = np.array(y, np.int64)
        for red in REDUCTIONS:
            _compare_with_torch(torch, lambda x, y: F.cross_entropy(x, y, reduction=red,
                                                                    label_smoothing=0.1),
                                lambda x, y: TF.cross_entropy(x, y, reduction=red, label_smoothing=0.1),
                                [x, y], grads=(0,), dtype=dtype, rtol=4 * np.finfo(dtype).eps)
    z = x.reshape(-1)
    yz = np.tile(np.array([0.0, 1.0, 0.25, 0.75], dtype), 3)
    pw = np.full(12, 2.5, dtype)
    for red in REDUCTIONS:
        _compare_with_torch(torch, lambda x, y, p: F.binary_cross_entropy_with_logits(
                                x, y, reduction=red, pos_weight=p),
                            lambda x, y, p: TF.binary_cross_entropy_with_logits(
                                x, y, reduction=red, pos_weight=p),
                            [z, yz, pw], grads=(0,), dtype=dtype, rtol=4 * np.finfo(dtype).eps)
        loss = F.binary_cross_entropy_with_logits(t(z), t(yz), reduction=red)
        assert np.isfinite(loss.numpy()).all()


def test_size_0_batches_match_torch():
    torch = _torch()
    TF = torch.nn.functional
    x, y = np.zeros((0, 4)), np.zeros((0,), np.int64)
    for red in REDUCTIONS:
        a = F.cross_entropy(t(x), t(y), reduction=red).numpy()
        b = TF.cross_entropy(torch.tensor(x), torch.tensor(y), reduction=red).numpy()
        np.testing.assert_array_equal(a, b)
        a = F.binary_cross_entropy_with_logits(t(x), t(x), reduction=red).numpy()
        b = TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(x), reduction=red).numpy()
        np.testing.assert_array_equal(a, b)
        a = F.nll_loss(t(x), t(y), reduction=red).numpy()
        b = TF.nll_loss(torch.tensor(x), torch.tensor(y), reduction=red).numpy()
        np.testing.assert_array_equal(a, b)


# ---- modules ----------------------------------------------------------------------------------------
MODULES = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]


@pytest.mark.parametrize("name", MODULES)
def test_module_defaults_match_torch(name):
    torch = _torch()
    import inspect
    ours, theirs = getattr(nn, name), getattr(torch.nn, name)
    so, st = inspect.signature(ours.__init__), inspect.signature(theirs.__init__)
    assert list(so.parameters) == list(st.parameters)
    for k, p in st.parameters.items():
        if k != "self":
            assert so.parameters[k].default == p.default, k
    a, b = ours(), theirs()
    for attr in ("reduction", "ignore_index", "label_smoothing", "delta", "beta", "log_target"):
        assert getattr(a, attr, None) == getattr(b, attr, None), attr
    assert repr(a) == repr(b)


def test_module_buffers_and_state_dict_keys_match_torch():
    torch = _torch()
    w = np.array([0.5, 2.0, 1.0])
    ours = nn.BCEWithLogitsLoss(weight=t(w), pos_weight=t(w))
    theirs = torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(w))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "pos_weight"]
    assert list(nn.BCEWithLogitsLoss().state_dict()) == list(torch.nn.BCEWithLogitsLoss().state_dict())
    ce = nn.CrossEntropyLoss(weight=t(w), label_smoothing=0.1, ignore_index=1).to(tf.float32)
    assert ce.weight.dtype is tf.float32 and list(ce.state_dict()) == ["weight"]
    x, y = logits(np.random.default_rng(0), (4, 3)), np.array([0, 1, 2, 1])
    got = nn.CrossEntropyLoss(weight=t(w), label_smoothing=0.1, ignore_index=1)(t(x), t(y))
    want = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1, ignore_index=1)(
        torch.tensor(x), torch.tensor(y))
    assert got.item() == pytest.approx(want.item(), rel=1e-13)


def test_modules_forward_their_options():
    rng = np.random.default_rng(14)
    x, y = logits(rng, (3, 4)), logits(rng, (3, 4))
    assert nn.HuberLoss(reduction="sum", delta=0.5)(t(x), t(y)).item() == pytest.approx(
        float(R.ref_huber(x, y, "sum", 0.5)))
    assert nn.SmoothL1Loss(beta=0.0)(t(x), t(y)).item() == pytest.approx(float(R.ref_l1(x, y)))
    lp = np.log(probs(rng, (3, 4)))
    assert nn.KLDivLoss(reduction="batchmean", log_target=True)(t(lp), t(lp)).item() == 0.0
    with pytest.raises(TypeError, match="CrossEntropyLoss: the legacy size_average"):
        nn.CrossEntropyLoss(size_average=False)


# ---- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [5, 7, -1, -99, 2 ** 40])
def test_cross_entropy_target_out_of_range_is_an_index_error(bad):
    x = tf.zeros(3, 5)
    with pytest.raises(IndexError, match=rf"cross_entropy: target {bad} is out of bounds for "
                                         r"5 classes \(valid: 0 to 4, or ignore_index -100\)"):
        F.cross_entropy(x, t([0, bad, 1]))
    with pytest.raises(IndexError, match=rf"nll_loss: target {bad} is out of bounds for 5 classes"):
        F.nll_loss(x, t([0, bad, 1]))
    # the backward refuses it too (the kernel checks every index it reads)
    xs = tf.zeros(3, 5, requires_grad=True)
    loss = F.cross_entropy(xs, t([0, 1, 2]))
    assert loss.item() == pytest.approx(math.log(5))


def test_cross_entropy_spatial_target_out_of_range():
    y = np.zeros((2, 3, 3), np.int64)
    y[1, 2, 1] = 4
    with pytest.raises(IndexError, match=r"target 4 is out of bounds for 4 classes"):
        F.cross_entropy(tf.zeros(2, 4, 3, 3), t(y))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: F.cross_entropy(tf.zeros(2, 5), tf.zeros(2)), ValueError,
     r"cross_entropy: class-probability target of shape \(2,\) must have the input's shape "
     r"\(2, 5\) \(class-index targets must be int64\)"),
    (lambda: F.cross_entropy(tf.zeros(2, 5), tf.zeros(2, 5, dtype=tf.float64)), TypeError,
     r"cross_entropy: class-probability targets must have the input's dtype \(float32\), got float64"),
    (lambda: F.cross_entropy(tf.zeros(2, 5), t([[0, 1]])), ValueError,
     r"cross_entropy: class-index target of shape \(1, 2\) does not fit the input of shape \(2, 5\)"),
    (lambda: F.cross_entropy(tf.zeros(2, 5), t([0, 1]), weight=tf.ones(4)), ValueError,
     r"cross_entropy: weight of shape \(4,\) must be 1-D with one entry per class \(5\)"),
    (lambda: F.cross_entropy(tf.zeros(2, 5), t([0, 1]), weight=tf.ones(5, dtype=tf.float64)),
     TypeError, r"cross_entropy: weight must have the input's dtype \(float32\), got float64"),
    (lambda: F.cross_entropy(tf.zeros(2, 5), t([0, 1]), label_smoothing=-0.1), ValueError,
     r"cross_entropy: label_smoothing must be in \[0, 1\]"),
    (lambda: F.nll_loss(tf.zeros(2, 5), t([0.0, 1.0])), TypeError,
     r"nll_loss: expected class-index targets of dtype int64, got float64"),
    (lambda: F.binary_cross_entropy(t([0.2, 1.01]), t([0.0, 1.0])), ValueError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1, got 1.01"),
    (lambda: F.binary_cross_entropy_with_logits(tf.zeros(2, 3), tf.zeros(3)), ValueError,
     r"binary_cross_entropy_with_logits: target size \(\(3,\)\) must be the same as input "
     r"size \(\(2, 3\)\)"),
    (lambda: F.binary_cross_entropy_with_logits(tf.zeros(2, 3), tf.zeros(2, 3),
                                                pos_weight=tf.ones(2)), ValueError,
     r"binary_cross_entropy_with_logits: pos_weight of shape \(2,\) cannot be broadcast to the "
     r"input's shape \(2, 3\)"),
    (lambda: F.huber_loss(tf.zeros(2), tf.zeros(2), delta=-1.0), ValueError,
     r"huber_loss: delta must be positive"),
    (lambda: F.mse_loss(tf.zeros(2), tf.zeros(2), reduction="elementwise_mean"), ValueError,
     r"mse_loss: 'elementwise_mean' is not a valid value for reduction"),
    (lambda: F.kl_div(tf.zeros(2), tf.zeros(2), reduction="batch"), ValueError,
     r"kl_div: 'batch' is not a valid value for reduction"),
])
def test_errors_name_the_loss_and_the_shapes(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_cross_entropy_backward_entry_checks_its_arguments():
    """The backward op's own entry point (a differentiable op of its own)
    refuses a grad of the wrong shape instead of reading past it."""
    from tinyfin import _C
    from tinyfin.tensor import _call
    x, y = tf.zeros(3, 4), t([0, 1, 2])
    with pytest.raises(ValueError, match=r"cross_entropy_backward: grad of shape \(2,\) must "
                                         r"have the loss's shape \(3,\)"):
        _call(_C.tf_cross_entropy_backward, tf.zeros(2)._h, x._h, y._h, None, -100, 0.0, 0)
    with pytest.raises(IndexError, match=r"cross_entropy_backward: target 9 is out of bounds"):
        _call(_C.tf_cross_entropy_backward, tf.zeros(())._h, x._h, t([0, 9, 1])._h, None,
              -100, 0.0, 1)


def test_fused_losses_refuse_a_weight_that_requires_grad():
    """As in PyTorch: the class weights and pos_weight of the fused losses
    have no derivative; backward through one that requires grad raises
    instead of leaving its .grad silently None."""
    x = tf.zeros(2, 3, requires_grad=True)
    w = tf.ones(3, requires_grad=True)
    loss = F.cross_entropy(x, t([0, 2]), weight=w)
    with pytest.raises(RuntimeError, match=r"cross_entropy: the derivative for 'weight' is "
                                           r"not implemented"):
        loss.backward()
    loss = F.binary_cross_entropy_with_logits(x, tf.zeros(2, 3), pos_weight=w)
    with pytest.raises(RuntimeError, match=r"binary_cross_entropy_with_logits: the derivative "
                                           r"for 'pos_weight' is not implemented"):
        loss.backward()
    # detached, or not requiring grad: fine
    F.cross_entropy(x, t([0, 2]), weight=w.detach()).backward()
    assert x.grad is not None


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_cross_entropy_non_finite_rows_follow_torch(dtype):
    """NaN propagates; a row holding +inf is NaN (inf - inf in log_softmax);
    a -inf logit of the target class gives +inf; a row of only -inf NaN."""
    torch = _torch()
    inf = np.inf
    x = np.array([[inf, 1, 2], [1, inf, 0], [np.nan, 0, 1], [-inf, -inf, -inf],
                  [-inf, 0, 1], [3, -inf, 1], [1e30, -inf, 2]], dtype)
    y = np.array([0, 0, 1, 0, 0, 1, 0])
    got = F.cross_entropy(t(x), t(y), reduction="none").numpy()
    want = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y),
                                             reduction="none").numpy()
    np.testing.assert_array_equal(got, want)
