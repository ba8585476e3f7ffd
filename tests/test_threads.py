"""Threads and processes: what the core and the engine promise when Python
threads share tensors, and after fork().

* set_num_threads() applies to every thread, also those started later.
* A process forked after the parent used the thread pool (multiprocessing,
  DataLoader workers) runs ops of any size instead of hanging in libgomp.

Every wait has a timeout, so a regression fails instead of hanging."""
import multiprocessing
import os
import threading

import numpy as np
import pytest

import tinyfin as tf
from tinyfin import _C

BIG = 1 << 20          # elements: far above the core's parallel grain


# ---- set_num_threads applies to every thread ---------------------------------------------
@pytest.fixture
def restore_threads():
    before = tf.get_num_threads()
    yield
    tf.set_num_threads(before)


def _in_new_thread(fn):
    result = []
    t = threading.Thread(target=lambda: result.append(fn()))
    t.start()
    t.join(timeout=60)
    assert result, "the thread did not finish"
    return result[0]


def test_set_num_threads_applies_to_threads_started_later(restore_threads):
    x = tf.ones(BIG)
    for n in (1, 2, 3):
        tf.set_num_threads(n)
        assert _in_new_thread(tf.get_num_threads) == n

        def team():
            (x * 2.0).exp()                  # a parallel elementwise loop
            return _C.tf_last_parallel_threads()
        assert _in_new_thread(team) == n
        assert team() == n


def test_set_num_threads_rejects_what_is_not_a_positive_count(restore_threads):
    with pytest.raises(ValueError, match="set_num_threads"):
        tf.set_num_threads(0)
    with pytest.raises(TypeError, match="set_num_threads"):
        tf.set_num_threads(2.5)


# ---- fork ----------------------------------------------------------------------------
def _big_ops(seed: int) -> list:
    """Ops on every parallel path: elementwise, reductions, matmul, random,
    gather-style copies, tril; returned as NumPy arrays to compare."""
    tf.manual_seed(seed)
    x = tf.rand(BIG, dtype=tf.float64)
    m = tf.rand(256, 256)
    idx = tf.arange(BIG - 1, -1, -1)
    return [(x * 3.0).exp().numpy(), x.sum().numpy(), x.reshape(1024, 1024).softmax(1).numpy(),
            (m @ m).numpy(), x.index_select(0, idx).numpy(), x.reshape(1024, 1024).tril().numpy(),
            tf.randn(BIG).numpy()]


def test_forked_child_runs_large_ops_like_the_parent():
    expected = _big_ops(7)          # the parent's thread pool is now started
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        try:
            results = pool.map_async(_big_ops, [7, 7]).get(timeout=60)
        except multiprocessing.TimeoutError:
            pool.terminate()
            pytest.fail("a forked worker hung running a large op")
    for got in results:
        for a, b in zip(expected, got):
            assert a.tobytes() == b.tobytes(), "a forked child computed different bits"
    (tf.ones(BIG) * 2.0).exp()      # and the parent still runs in parallel
    assert _C.tf_last_parallel_threads() == tf.get_num_threads()


def test_os_fork_child_from_a_thread():
    """fork() from a thread other than the main one: the child is left with
    that thread alone (whose own thread pool is started first)."""
    def fork_and_wait():
        tf.ones(BIG).sum()
        pid = os.fork()
        if pid == 0:                               # the child
            try:
                ok = (tf.ones(BIG) * 2.0).sum().item() == 2.0 * BIG
                os._exit(0 if ok else 3)
            finally:
                os._exit(4)
        import time
        for _ in range(30 * 20):                   # 30 s, then it hung
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        return "hung"

    assert _in_new_thread(fork_and_wait) == 0
