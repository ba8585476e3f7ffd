"""Gradient accumulation: .grad sums over backward calls, so k micro-batches
with loss / k give the gradient of one batch of all of them (what a
training loop with accumulation steps relies on). Checked with Linear +
cross_entropy against the one-batch gradient and against NumPy float64."""
from __future__ import annotations

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn.functional as F

N, D, C = 24, 5, 4


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, C, N)


def _model(dtype):
    tf.manual_seed(11)
    return tf.nn.Linear(D, C).to(dtype)


def _np_grads(w, b, x, y):
    """d mean cross_entropy / d (w, b) of logits x w^T + b, in float64."""
    z = x @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    p /= len(y)
    return p.T @ x, p.sum(0)


def test_grad_sums_over_backward_calls():
    w = tf.nn.Parameter(tf.tensor([1.0, 2.0, 3.0]))
    (w * tf.tensor([1.0, 1.0, 1.0])).sum().backward()
    (w * w).sum().backward()                      # adds 2 w
    (w * tf.tensor([0.5, 0.0, -1.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1 + 2 + 0.5, 1 + 4 + 0, 1 + 6 - 1])
    w.grad = None                                  # zero_grad(set_to_none=True)
    (3 * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0, 3.0])


@pytest.mark.parametrize("k", [2, 3, 4, 6])
@pytest.mark.parametrize("dtype", [tf.float64, tf.float32], ids=["float64", "float32"])
def test_k_micro_batches_equal_one_batch(k, dtype):
    x, y = _data()
    full = _model(dtype)
    F.cross_entropy(full(tf.tensor(x).to(dtype)), tf.tensor(y)).backward()

    acc = _model(dtype)
    assert np.array_equal(acc.weight.detach().numpy(), full.weight.detach().numpy())
    for xs, ys in zip(np.array_split(x, k), np.array_split(y, k)):
        loss = F.cross_entropy(acc(tf.tensor(xs).to(dtype)), tf.tensor(ys)) / k
        loss.backward()

    # against NumPy float64 of the same weights
    w = acc.weight.detach().numpy().astype(np.float64)
    b = acc.bias.detach().numpy().astype(np.float64)
    gw, gb = _np_grads(w, b, x if dtype == tf.float64 else x.astype(np.float32).astype(np.float64),
                       y)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == tf.float64 else dict(rtol=1e-5, atol=1e-7)
    for m in (full, acc):
        np.testing.assert_allclose(m.weight.grad.numpy(), gw, **tol)
        np.testing.assert_allclose(m.bias.grad.numpy(), gb, **tol)
    np.testing.assert_allclose(acc.weight.grad.numpy(), full.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(acc.bias.grad.numpy(), full.bias.grad.numpy(), **tol)


def test_unequal_micro_batches_weighted_by_size():
    # micro-batches of unequal sizes: loss_i * n_i / N sums to the batch mean
    x, y = _data(1)
    full = _model(tf.float64)
    F.cross_entropy(full(tf.tensor(x)), tf.tensor(y)).backward()
    acc = _model(tf.float64)
    for lo, hi in [(0, 5), (5, 6), (6, 17), (17, N)]:
        loss = F.cross_entropy(acc(tf.tensor(x[lo:hi])), tf.tensor(y[lo:hi])) * ((hi - lo) / N)
        loss.backward()
    np.testing.assert_allclose(acc.weight.grad.numpy(), full.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(acc.bias.grad.numpy(), full.bias.grad.numpy(), rtol=1e-12,
                               atol=1e-15)
