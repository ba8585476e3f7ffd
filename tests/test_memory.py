"""Memory ownership: every C tensor made by the Python layer is released,
including on the error paths, and NumPy views keep exactly the memory they
use alive. tinyfin._C.live_tensors() counts the C tensors alive now."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import tinyfin as tf

ITERATIONS = 5_000  # x 20 ops each = 100,000 ops


def live() -> int:
    gc.collect()
    return tf._C.live_tensors()


def _failing_ops(x, xi, m):
    """Calls that must raise (and must not leak what they made before)."""
    return [
        (ValueError, lambda: x + m),                  # shapes do not broadcast
        (ValueError, lambda: xi // 0),                # integer division by zero
        (ValueError, lambda: m.T.view(-1)),           # view of a transposed tensor
        (TypeError, lambda: xi.add_(0.5)),            # float into int64 in place
        (ValueError, lambda: tf.exp(x, out=m)),       # out of the wrong shape
        (ValueError, lambda: x.item()),               # item of 8 elements
        (TypeError, lambda: tf.where(xi, x, x)),      # non-bool condition
        (ValueError, lambda: xi ** tf.tensor([-1])),  # negative int power
        (TypeError, lambda: -tf.tensor([True])),      # neg of bool
        (ValueError, lambda: m.reshape(5, -1)),
    ]


def test_live_tensors_return_to_start_after_mixed_ops():
    start = live()
    x = tf.tensor(np.linspace(-1, 1, 8), dtype=tf.float32)
    xi = tf.tensor(np.arange(8) - 3)
    m = tf.tensor(np.arange(12.0).reshape(3, 4))
    failing = _failing_ops(x, xi, m)
    peak = 0
    for i in range(ITERATIONS):
        a = x + x                                # binary
        b = a.exp()                              # unary
        c = m.view(4, 3).transpose(0, 1)         # views
        d = c * 2.5 + 1                          # scalar ops on a view
        e = 3 - d                                # reflected scalar op
        d.add_(e)                                # in place
        d += 1
        f = tf.where(x > 0, b, 0.0)              # where with a scalar
        g = m.unsqueeze(0).expand(2, 3, 4) * 1      # broadcast view
        h = xi.float().clamp(-1, 1)              # conversion + clamp
        arr = (h * 2).numpy()                    # numpy view of a temporary
        assert arr.shape == (8,)
        exc, fn = failing[i % len(failing)]
        try:  # not pytest.raises: its ExceptionInfo outlives the loop
            fn()
        except exc:
            pass
        else:
            raise AssertionError(f"{exc.__name__} not raised")
        k = tf.tensor([1.0, 2.0])                # creation
        k.zero_()
        del a, b, c, d, e, f, g, h, arr, k
        if i % 1000 == 0:
            peak = max(peak, tf._C.live_tensors())
    del x, xi, m, failing, fn
    assert live() == start
    # nothing accumulated while running: only the loop's own temporaries
    assert peak - start < 50, peak - start


@pytest.mark.parametrize("index", range(10))
def test_failed_ops_do_not_leak(index):
    x = tf.tensor(np.linspace(-1, 1, 8), dtype=tf.float32)
    xi = tf.tensor(np.arange(8) - 3)
    m = tf.tensor(np.arange(12.0).reshape(3, 4))
    exc, fn = _failing_ops(x, xi, m)[index]
    with pytest.raises(exc):
        fn()  # warm-up: the error path may build cached objects once
    before = live()
    for _ in range(200):
        with pytest.raises(exc):
            fn()
    assert live() == before


def test_numpy_view_keeps_only_what_it_needs_alive():
    start = live()
    t = tf.arange(1000, dtype=tf.float64)
    a = t.numpy()
    v = t.transpose(0, 0)
    b = v.numpy()
    del t, v
    assert live() >= start + 1  # the arrays hold the tensors they view
    np.testing.assert_array_equal(a, np.arange(1000.0))
    np.testing.assert_array_equal(b, np.arange(1000.0))
    b[0] = -1.0  # both views share one storage
    assert a[0] == -1.0
    del a
    assert live() >= start + 1
    del b
    assert live() == start


def test_views_keep_storage_alive_after_base_is_gone():
    start = live()
    base = tf.tensor(np.arange(24.0).reshape(4, 6))
    view = tf.as_strided(base, (2, 3), (12, 2), 1).transpose(0, 1)
    del base
    for _ in range(5):  # reuse of freed memory would show up as wrong values
        tf.full((4, 6), -5.0, dtype=tf.float64)
    np.testing.assert_array_equal(view.numpy(), np.arange(24.0).reshape(4, 6)[::2, 1::2].T)
    del view
    assert live() == start


def test_inplace_and_out_do_not_leak():
    start = live()
    x = tf.zeros(64)
    y = tf.ones(64, dtype=tf.float64)
    o = tf.empty(64)
    for _ in range(2000):
        x.add_(y)          # float64 into float32 in place: a temporary inside
        x.mul_(0.5)
        tf.exp(x, out=o)
        tf.add(x, y, out=o)
        x.copy_(y)
        x.fill_(1.0)
        x.clamp_(0, 0.5)
    del x, y, o
    assert live() == start


def test_tensor_objects_are_collected_in_cycles():
    start = live()
    for _ in range(100):
        t = tf.zeros(3)
        holder = [t]
        holder.append(holder)  # a reference cycle through a list
        t.cycle = holder
    del t, holder
    assert live() == start
