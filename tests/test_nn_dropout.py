"""dropout / dropout2d and the Dropout modules: every value is 0 or
x * (1 / (1 - p)); the zeroed fraction is within a binomial bound; the
same seed gives the same mask (default generator and tinyfin.Generator),
at any thread count; the backward uses the forward's mask; whole channels
for dropout2d; train vs eval; errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.autograd.gradcheck import gradcheck, gradgradcheck

N = 200_000   # above TF_PARALLEL_GRAIN: the random kernel and mul run in parallel chunks


@pytest.fixture
def restore_threads():
    before = tf.get_num_threads()
    yield
    tf.set_num_threads(before)


def _binomial_ok(zeros: int, n: int, p: float, sigmas: float = 6.0) -> bool:
    return abs(zeros - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_values_are_zero_or_scaled_and_fraction_is_binomial(p, dtype):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, N).astype(dtype.numpy)     # no zeros of its own
    out = F.dropout(tf.tensor(x), p, generator=tf.Generator().manual_seed(1)).numpy()
    scale = np.asarray(1.0 / (1.0 - p), dtype.numpy)
    kept = out != 0
    np.testing.assert_array_equal(out[kept], (x[kept] * scale).astype(dtype.numpy))
    assert _binomial_ok(int((~kept).sum()), N, p)
    # the mean is preserved in expectation: E[out] = E[x]
    assert abs(out.astype(np.float64).mean() / x.mean() - 1) < 6 * math.sqrt(p / (1 - p) / N) * 1.2


def test_the_mask_is_the_documented_rule_on_the_generators_uniforms():
    """keep where u < 1 - p, u = tinyfin.rand(shape, float64) of the same
    generator: the contract verify's reference relies on."""
    x = np.random.default_rng(1).standard_normal((40, 50))
    u = tf.rand(40, 50, dtype=tf.float64, generator=tf.Generator().manual_seed(9)).numpy()
    out = F.dropout(tf.tensor(x), 0.3, generator=tf.Generator().manual_seed(9)).numpy()
    np.testing.assert_array_equal(out, np.where(u < 0.7, x * (1 / 0.7), 0.0))


def test_same_seed_same_mask_and_different_seed_different_mask():
    x = tf.ones(N)
    tf.manual_seed(123)
    a = F.dropout(x, 0.5).numpy()
    tf.manual_seed(123)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    c = F.dropout(x, 0.5).numpy()                   # the stream moved on
    assert (a != c).mean() > 0.4
    g1, g2 = tf.Generator().manual_seed(5), tf.Generator().manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=g1).numpy(),
                                  F.dropout(x, 0.5, generator=g2).numpy())
    # a generator does not touch the default stream
    tf.manual_seed(123)
    F.dropout(x, 0.5, generator=tf.Generator().manual_seed(5))
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a)


def test_mask_does_not_depend_on_the_thread_count(restore_threads):
    x = tf.tensor(np.random.default_rng(2).standard_normal((8, 16, 40, 40)))   # 204800 elements
    outs = []
    for n in (1, 2, 3):
        tf.set_num_threads(n)
        outs.append((F.dropout(x, 0.4, generator=tf.Generator().manual_seed(77)).numpy(),
                     F.dropout2d(x, 0.4, generator=tf.Generator().manual_seed(77)).numpy()))
    for o in outs[1:]:
        np.testing.assert_array_equal(o[0], outs[0][0])
        np.testing.assert_array_equal(o[1], outs[0][1])


def test_backward_uses_the_forwards_mask():
    x = tf.tensor(np.random.default_rng(3).standard_normal(5000), requires_grad=True)
    out = F.dropout(x, 0.3)
    g = np.random.default_rng(4).standard_normal(5000)
    out.backward(tf.tensor(g))
    y = out.detach().numpy()
    xv = x.detach().numpy()
    kept = y != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, g * (1 / 0.7), 0.0))
    np.testing.assert_array_equal(y[kept], xv[kept] * (1 / 0.7))
    # gradcheck calls the op many times: a fresh generator each time gives the same mask
    t = tf.tensor(np.random.default_rng(5).standard_normal((3, 4)), requires_grad=True)
    fn = lambda v: F.dropout(v, 0.5, generator=tf.Generator().manual_seed(3))  # noqa: E731
    assert gradcheck(fn, (t,)) and gradgradcheck(fn, (t,))


def test_p_zero_one_and_eval():
    x = tf.tensor(np.array([1.0, -2.0, np.nan, np.inf, -0.0]))
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.7, training=False) is x
    z = F.dropout(x, 1.0).numpy()
    np.testing.assert_array_equal(z[[0, 1, 4]], [0.0, -0.0, 0.0])
    assert np.signbit(z[1]) and np.isnan(z[2]) and np.isnan(z[3])      # x * 0, as PyTorch
    e = tf.zeros(0, 3)
    assert F.dropout(e, 0.5).shape == (0, 3)


def test_dropout2d_zeroes_whole_channels():
    x = np.random.default_rng(6).uniform(1, 2, (16, 64, 5, 7))
    out = F.dropout2d(tf.tensor(x), 0.25, generator=tf.Generator().manual_seed(8)).numpy()
    per_channel = (out != 0).reshape(16, 64, -1)
    assert np.all(per_channel.all(axis=2) | ~per_channel.any(axis=2))   # all kept or all zero
    kept = per_channel.all(axis=2)
    assert _binomial_ok(int((~kept).sum()), kept.size, 0.25)
    np.testing.assert_array_equal(out[kept], x[kept] * (1 / 0.75))
    # 3-d is (N, C, L), as PyTorch (with its warning); 5-d warns and drops over (N, C)
    with pytest.warns(UserWarning, match=r"interpreted as shape \(N, C, L\)"):
        o3 = F.dropout2d(tf.ones(4, 6, 9), 0.5, generator=tf.Generator().manual_seed(1)).numpy()
    assert np.all((o3 == 0).all(axis=2) | (o3 == 2).all(axis=2))
    with pytest.warns(UserWarning, match="Received a 5-D input"):
        F.dropout2d(tf.ones(2, 3, 2, 2, 2), 0.5)
    with pytest.raises(ValueError, match=r"dropout2d: feature dropout requires at least 2 dimensions"):
        F.dropout2d(tf.ones(5), 0.5)


def test_inplace():
    x = tf.ones(1000)
    tf.manual_seed(4)
    want = F.dropout(tf.ones(1000), 0.5).numpy()
    tf.manual_seed(4)
    r = F.dropout(x, 0.5, inplace=True)
    assert r is x
    np.testing.assert_array_equal(x.numpy(), want)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.dropout(tf.ones(3, requires_grad=True), 0.5, inplace=True)


def test_errors():
    for fn in (F.dropout, F.dropout2d):
        for p in (-0.1, 1.5, float("nan")):
            with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1"):
                fn(tf.ones(2, 3), p)
        with pytest.raises(TypeError, match="expected a float32 or float64 input, got int64"):
            fn(tf.tensor([[1, 2]]), 0.5)
    with pytest.raises(ValueError, match=r"Dropout: dropout probability has to be between 0 and 1, but got 2.0"):
        nn.Dropout(2.0)
    with pytest.raises(ValueError, match="Dropout2d"):
        nn.Dropout2d(-1)


def test_modules_train_and_eval():
    m = nn.Dropout(0.5)
    assert repr(m) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout2d(0.2, True)) == "Dropout2d(p=0.2, inplace=True)"
    x = tf.ones(10000)
    tf.manual_seed(0)
    y = m(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and _binomial_ok(int((y == 0).sum()), 10000, 0.5)
    m.eval()
    assert m(x) is x
    m2 = nn.Sequential(nn.Dropout2d(0.5)).eval()
    assert m2(tf.ones(2, 3, 4, 4)).numpy().min() == 1.0
    assert m.state_dict() == {} or len(m.state_dict()) == 0


def test_against_torch_structure():
    """Masks differ (different generators); the rules must not: the same
    scale, eval identity, p = 1 zeros, channel structure and statistics."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(9).uniform(1, 2, (8, 32, 6, 6))
    for p in (0.2, 0.6):
        t = torch.nn.functional.dropout(torch.tensor(x), p).numpy()
        f = F.dropout(tf.tensor(x), p).numpy()
        ts, fs = np.unique(np.round(t[t != 0] / x[t != 0], 12)), np.unique(np.round(f[f != 0] / x[f != 0], 12))
        np.testing.assert_array_equal(ts, fs)
        t2 = torch.nn.functional.dropout2d(torch.tensor(x), p).numpy()
        f2 = F.dropout2d(tf.tensor(x), p).numpy()
        for o in (t2, f2):
            z = (o == 0).reshape(8, 32, -1)
            assert np.all(z.all(axis=2) | ~z.any(axis=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(torch.nn.functional.dropout(torch.tensor(x), 1.0).numpy(),
                                      F.dropout(tf.tensor(x), 1.0).numpy())
