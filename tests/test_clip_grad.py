"""nn.utils.clip_grad_norm_ / clip_grad_value_ (tinyfin/nn/utils/clip_grad.py)
against NumPy float64 and, where it is installed, PyTorch with identical
gradients: every norm order, non-finite totals, None gradients, several
parameters of several shapes and dtypes, and the bitwise no-op below
max_norm."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinyfin as tf
from tinyfin.nn.utils import (clip_grad_norm, clip_grad_norm_, clip_grad_value_,
                              clip_grads_with_norm_, get_total_norm)

SHAPES = [(3, 4), (5,), (), (2, 3, 2)]
ORDERS = [2.0, 1.0, math.inf, "inf", 0.5, 3.0, 2.5]
F32_RTOL = 4 * 2.0 ** -24          # a few float32 roundings


def _grads(seed: int, dtype=np.float32, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.standard_normal(s) * scale, dtype=dtype) for s in SHAPES]


def _params(grads, none_at=()):
    """Parameters holding the given gradients (None at the indices given)."""
    ps = []
    for i, g in enumerate(grads):
        p = tf.nn.Parameter(tf.zeros(*g.shape, dtype=tf.float32 if g.dtype == np.float32
                                     else tf.float64))
        p.grad = None if i in none_at else tf.tensor(g.copy())
        ps.append(p)
    return ps


def _np_total(grads, p) -> float:
    """The norm of order p of all elements taken together, in float64."""
    v = np.concatenate([np.asarray(g, np.float64).ravel() for g in grads])
    p = float(p)
    if math.isinf(p):
        return float(np.max(np.abs(v)))
    return float(np.sum(np.abs(v) ** p) ** (1.0 / p))


@pytest.mark.parametrize("order", ORDERS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_total_norm_and_scaled_grads_match_numpy(order, dtype):
    grads = _grads(1, dtype)
    ps = _params(grads)
    ref = _np_total(grads, order)
    max_norm = 0.3 * ref
    total = clip_grad_norm_(ps, max_norm, norm_type=order)
    assert total.shape == () and total.dtype == (tf.float32 if dtype == np.float32 else tf.float64)
    rtol = F32_RTOL if dtype == np.float32 else 1e-14
    assert abs(total.item() - ref) <= rtol * ref
    coef = max_norm / (total.item() + 1e-6)
    assert coef < 1
    for p, g in zip(ps, grads):
        got = p.grad.numpy()
        assert got.dtype == dtype and got.shape == g.shape
        np.testing.assert_allclose(got, g.astype(np.float64) * coef, rtol=rtol, atol=0)
    # the clipped gradients have the norm max_norm (to the 1e-6 and rounding)
    after = _np_total([p.grad.numpy() for p in ps], order)
    assert abs(after - max_norm) <= 2 * rtol * max_norm + 1e-6


def test_coefficient_in_the_dtype_of_the_total():
    # PyTorch computes max_norm / (total + 1e-6) in the total's dtype
    # (float32 here), as reciprocal(total + 1e-6) * max_norm, and multiplies
    # by that float32 number
    grads = _grads(2)
    ps = _params(grads)
    total = clip_grad_norm_(ps, 0.3)
    t32 = np.float32(total.item())
    coef = np.float32(1) / (t32 + np.float32(1e-6)) * np.float32(0.3)
    for p, g in zip(ps, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g * coef)


@pytest.mark.parametrize("order", [2.0, 1.0, math.inf, 0.5])
def test_below_max_norm_leaves_grads_bitwise_unchanged(order):
    grads = _grads(3)
    ps = _params(grads)
    before = [p.grad for p in ps]
    total = clip_grad_norm_(ps, 1.0 + 10 * _np_total(grads, order), norm_type=order)
    assert abs(total.item() - _np_total(grads, order)) <= F32_RTOL * total.item()
    for p, b, g in zip(ps, before, grads):
        assert p.grad is b                       # the same tensor, written in place or not at all
        assert p.grad.numpy().tobytes() == g.tobytes()


def test_max_norm_equal_to_total_is_a_coefficient_just_below_one():
    # max_norm == total: coefficient total / (total + 1e-6) < 1, applied
    g = np.array([3.0, 4.0], np.float32)
    p = _params([g])[0]
    clip_grad_norm_([p], 5.0)
    c = np.float32(1) / (np.float32(5.0) + np.float32(1e-6)) * np.float32(5.0)
    assert c < 1
    np.testing.assert_array_equal(p.grad.numpy(), g * c)


def test_none_grads_are_skipped():
    grads = _grads(4)
    ps = _params(grads, none_at=(1, 3))
    kept = [g for i, g in enumerate(grads) if i not in (1, 3)]
    total = clip_grad_norm_(ps, 0.1)
    assert abs(total.item() - _np_total(kept, 2)) <= F32_RTOL * total.item()
    assert ps[1].grad is None and ps[3].grad is None
    coef = 0.1 / (total.item() + 1e-6)
    np.testing.assert_allclose(ps[0].grad.numpy(), grads[0] * coef, rtol=F32_RTOL)


def test_single_tensor_and_empty():
    g = np.array([[1.0, -2.0], [2.0, 0.0]], np.float32)
    p = _params([g])[0]
    total = clip_grad_norm_(p, 1.5)
    assert total.item() == 3.0
    np.testing.assert_allclose(p.grad.numpy(), g * (1.5 / (3.0 + 1e-6)), rtol=F32_RTOL)
    # no gradients at all: tensor(0.), nothing to do
    q = tf.nn.Parameter(tf.zeros(2))
    z = clip_grad_norm_([q], 1.0)
    assert z.shape == () and z.item() == 0.0 and q.grad is None
    assert clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((x for x in []), 1.0)


def test_mixed_dtypes_total_in_float64():
    g32, g64 = np.array([3.0], np.float32), np.array([4.0, 12.0], np.float64)
    ps = _params([g32, g64])
    total = clip_grad_norm_(ps, 1.0)
    assert total.dtype == tf.float64 and abs(total.item() - 13.0) <= 4e-16 * 13
    assert ps[0].grad.dtype == tf.float32 and ps[1].grad.dtype == tf.float64
    np.testing.assert_allclose(ps[1].grad.numpy(), g64 / (13.0 + 1e-6), rtol=1e-15)


def test_huge_and_tiny_gradients_do_not_overflow():
    # squares of 1e30 overflow float32; the total must not
    g = np.array([1e30, 1e30], np.float32)
    p = _params([g])[0]
    total = clip_grad_norm_([p], 1.0)
    assert abs(total.item() - math.sqrt(2) * 1e30) <= F32_RTOL * total.item()
    np.testing.assert_allclose(p.grad.numpy(), [1 / math.sqrt(2)] * 2, rtol=F32_RTOL)
    t = np.array([1e-30, 1e-30], np.float32)
    q = _params([t])[0]
    assert abs(clip_grad_norm_([q], 1.0).item() - math.sqrt(2) * 1e-30) <= 1e-36
    assert q.grad.numpy().tobytes() == t.tobytes()


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_nonfinite(bad):
    g = np.array([1.0, bad, 2.0], np.float32)
    p = _params([g])[0]
    with pytest.raises(RuntimeError, match=r"The total norm of order 2\.0 for gradients from "
                       r"`parameters` is non-finite, so it cannot be clipped\. To disable this "
                       r"error and scale the gradients by the non-finite norm anyway, set "
                       r"`error_if_nonfinite=False`"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert p.grad.numpy().tobytes() == g.tobytes()       # untouched by the failed call
    total = clip_grad_norm_([p], 1.0)
    got = p.grad.numpy()
    if math.isnan(bad):
        assert math.isnan(total.item()) and np.isnan(got).all()
    else:                 # coefficient 1 / inf = 0: finite entries 0, the inf one nan
        assert total.item() == math.inf
        assert got[0] == 0 and got[2] == 0 and math.isnan(got[1])


def test_nonfinite_inf_norm_message_names_the_order():
    p = _params([np.array([math.inf], np.float32)])[0]
    with pytest.raises(RuntimeError, match="order inf"):
        clip_grad_norm_([p], 1.0, norm_type="inf", error_if_nonfinite=True)


def test_invalid_norm_type():
    p = _params([np.ones(2, np.float32)])[0]
    for bad in ("two", -1.0, math.nan, None):
        with pytest.raises(ValueError, match="norm_type"):
            clip_grad_norm_([p], 1.0, norm_type=bad)


def test_get_total_norm_and_clip_grads_with_norm_compose():
    grads = _grads(5)
    ps = _params(grads)
    ref = _np_total(grads, 1.0)
    total = get_total_norm([p.grad for p in ps], 1.0)
    assert abs(total.item() - ref) <= F32_RTOL * ref
    clip_grads_with_norm_(ps, 1.0, total)
    np.testing.assert_allclose(ps[0].grad.numpy(), grads[0] / (ref + 1e-6), rtol=F32_RTOL)
    with pytest.warns(FutureWarning):
        clip_grad_norm(ps, 1.0)


def test_does_not_record_autograd():
    w = tf.nn.Parameter(tf.ones(3))
    (w * tf.tensor([3.0, 4.0, 12.0])).sum().backward()
    total = clip_grad_norm_([w], 1.0)
    assert not total.requires_grad and not w.grad.requires_grad
    np.testing.assert_allclose(w.grad.numpy(), np.array([3, 4, 12]) / (13 + 1e-6), rtol=F32_RTOL)


def test_clip_grad_value():
    grads = _grads(6, scale=2.0)
    grads[0][0, 0] = np.nan
    ps = _params(grads, none_at=(2,))
    clip_grad_value_(ps, 0.75)
    assert ps[2].grad is None
    for i in (0, 1, 3):
        np.testing.assert_array_equal(ps[i].grad.numpy(), np.clip(grads[i], -0.75, 0.75))
    assert math.isnan(ps[0].grad.numpy()[0, 0])
    one = _params([np.array([-3.0, 0.5, 3.0], np.float32)])[0]
    clip_grad_value_(one, 1)                         # a single tensor, an int bound
    np.testing.assert_array_equal(one.grad.numpy(), [-1.0, 0.5, 1.0])


# ---- PyTorch, identical gradients ------------------------------------------------
@pytest.mark.parametrize("order", ORDERS + [0.0], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("ratio", [0.25, 4.0], ids=["clips", "no-op"])
def test_vs_torch(order, dtype, ratio):
    torch = pytest.importorskip("torch")
    grads = _grads(7, dtype)
    grads[1][2] = 0.0
    ps = _params(grads, none_at=(2,))
    tps = []
    for i, g in enumerate(grads):
        t = torch.zeros(g.shape, dtype=torch.float32 if dtype == np.float32 else torch.float64,
                        requires_grad=True)
        t.grad = None if i == 2 else torch.from_numpy(g.copy())
        tps.append(t)
    max_norm = ratio * _np_total([g for i, g in enumerate(grads) if i != 2], order or 2.0)
    want = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=order)
    got = clip_grad_norm_(ps, max_norm, norm_type=order)
    rtol = F32_RTOL if dtype == np.float32 else 1e-14
    assert abs(got.item() - want.item()) <= rtol * abs(want.item())
    for p, t in zip(ps, tps):
        if t.grad is None:
            assert p.grad is None
            continue
        if got.item() == want.item():           # the same coefficient: the same numbers
            np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
        else:
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_nonfinite_vs_torch(bad):
    torch = pytest.importorskip("torch")
    g = np.array([1.0, bad, -2.0], np.float32)
    p = _params([g])[0]
    t = torch.zeros(3, requires_grad=True)
    t.grad = torch.from_numpy(g.copy())
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.utils.clip_grad_norm_([t], 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as ours:
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert str(ours.value) == str(theirs.value)
    want = torch.nn.utils.clip_grad_norm_([t], 1.0)
    got = clip_grad_norm_([p], 1.0)
    np.testing.assert_array_equal(got.item(), want.item())
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_value_vs_torch():
    torch = pytest.importorskip("torch")
    grads = _grads(8, scale=3.0)
    ps = _params(grads)
    tps = []
    for g in grads:
        t = torch.zeros(g.shape, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        tps.append(t)
    torch.nn.utils.clip_grad_value_(tps, 1.25)
    clip_grad_value_(ps, 1.25)
    for p, t in zip(ps, tps):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_no_warnings_in_ordinary_use():
    ps = _params(_grads(9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip_grad_norm_(ps, 1.0)
        clip_grad_value_(ps, 1.0)
