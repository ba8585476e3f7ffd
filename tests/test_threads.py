"""Threads and processes: what the core and the engine promise when Python
threads share tensors, and after fork().

* Index ops read one snapshot of their index tensor (and nonzero of its
  input): another thread overwriting it with wild values makes the result
  meaningless, never an out-of-bounds access. The stress runs in a child
  interpreter, so that a crash fails this test instead of killing pytest
  (and under run_asan.sh the child inherits the sanitizer).
* backward() from several threads into one leaf adds every contribution.
* set_num_threads() applies to every thread, also those started later.
* A process forked after the parent used the thread pool (multiprocessing,
  DataLoader workers) runs ops of any size instead of hanging in libgomp.

Every wait has a timeout, so a regression fails instead of hanging."""
import multiprocessing
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from helpers_process import join_threads, wait_for_child
import tinyfin as tf
from tinyfin import _C

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIG = 1 << 20          # elements: far above the core's parallel grain


def _child_env() -> dict:
    """The environment of a child interpreter that imports this tree's
    tinyfin (not another checkout's) and keeps the sanitizer settings."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=ROOT + (os.pathsep + path if path else ""))


# ---- index ops while another thread writes the index ------------------------------
M = 1000               # size of the indexed dim
N = 1 << 16            # index elements: each op takes long enough to be raced


def _stress_index_ops(seconds: float) -> str:
    """Writers flip a shared index tensor between in-range and wildly
    out-of-range values while readers run every index op on it. Each call
    must raise IndexError or return values that exist in the source; any
    other outcome raises AssertionError. Returns a summary line."""
    import time
    rng = np.random.default_rng(0)
    good = tf.tensor(rng.integers(0, M, N))
    wild = np.full(N, 1 << 40, dtype=np.int64)
    wild[1::4] = -(1 << 40)
    wild[2::4] = M                 # just past the end
    wild[3::4] = -M - 1            # just before the start (wraps nowhere)
    bad = tf.tensor(wild)
    idx = good.clone()
    mask = tf.zeros(N, dtype=tf.float64)
    ones_mask, zeros_mask = tf.ones(N, dtype=tf.float64), tf.zeros(N, dtype=tf.float64)
    src = tf.arange(M, dtype=tf.float64)
    src2d = src.reshape(1, M).expand(4, M).contiguous()
    ones = tf.ones(N, dtype=tf.float64)
    stop = time.monotonic() + seconds
    errors, counts = [], {"ok": 0, "IndexError": 0}

    def in_source(values, what):
        v = values.numpy()
        assert np.all((v >= 0) & (v < M) & (v == np.round(v))), \
            f"{what} returned values that are not in the source"

    def check_nonzero():
        coords = tf.nonzero(mask).numpy()
        assert coords.ndim == 2 and coords.shape[1] == 1 and coords.shape[0] <= N
        assert np.all((coords >= 0) & (coords < N)), "nonzero: coordinate out of range"

    def dst_put():
        dst = tf.zeros(M, dtype=tf.float64)
        dst[idx] = 1.0
        v = dst.numpy()
        assert np.all((v == 0) | (v == 1)), "index_put_ wrote an unexpected value"

    def dst_accumulate():
        dst = tf.zeros(M, dtype=tf.float64)
        dst.index_put_((idx,), ones, accumulate=True)
        assert dst.sum().item() == N, "index_put_(accumulate) lost or invented a count"

    def scatter():
        out = tf.scatter_add(tf.zeros(M, dtype=tf.float64), 0, idx, ones)
        v = out.numpy()
        assert np.all(v >= 0) and v.sum() == N, "scatter_add lost or invented a count"

    ops = [
        lambda: in_source(tf.gather(src, 0, idx), "gather"),
        lambda: in_source(src.index_select(0, idx), "index_select"),
        lambda: in_source(src[idx], "index"),
        lambda: in_source(src2d[1, idx], "index (2-d)"),
        lambda: in_source(tf.take_along_dim(src, idx), "take_along_dim"),
        scatter, dst_put, dst_accumulate, check_nonzero,
    ]

    def writer(which: int):
        k = 0
        while time.monotonic() < stop:
            if which == 0:
                idx.copy_(bad if k % 2 else good)
            else:
                mask.copy_(ones_mask if k % 2 else zeros_mask)
            k += 1

    def reader(offset: int):
        k = offset
        try:
            while time.monotonic() < stop:
                try:
                    ops[k % len(ops)]()
                    counts["ok"] += 1
                except IndexError:
                    counts["IndexError"] += 1
                k += 1
        except BaseException as e:  # noqa: BLE001  reported by the main thread
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in (0, 1)]
    threads += [threading.Thread(target=reader, args=(r,), daemon=True) for r in range(3)]
    for t in threads:
        t.start()
    join_threads(threads)
    assert not errors, errors[0]
    return f"ok {counts['ok']} IndexError {counts['IndexError']}"


def test_index_ops_survive_an_index_overwritten_concurrently():
    code = ("import sys, test_threads as t; "
            "print(t._stress_index_ops(float(sys.argv[1])))")
    proc = subprocess.run([sys.executable, "-c", code, "2.5"], cwd=os.path.dirname(__file__),
                          env=_child_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (f"the stress child exited with {proc.returncode}:\n"
                                  f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    assert proc.stdout.startswith("ok "), proc.stdout
    ok, raised = int(proc.stdout.split()[1]), int(proc.stdout.split()[3])
    assert ok > 0 and raised > 0, f"the race was not exercised: {proc.stdout}"


# ---- backward from several threads into one leaf -------------------------------------
def test_backward_from_threads_accumulates_every_contribution():
    # Large enough that the accumulation runs with the GIL released, and a
    # graph whose backward is little more than that accumulation, so the
    # threads' accumulations overlap often.
    n = 1 << 18
    w = tf.zeros(n, dtype=tf.float64, requires_grad=True)
    threads, rounds = 4, 40
    barrier = threading.Barrier(threads)
    errors = []

    def worker(k: int):
        try:
            barrier.wait(timeout=30)
            for _ in range(rounds):
                (w.sum() * float(k + 1)).backward()     # adds k + 1 to every element
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not errors, errors[0]
    expected = rounds * sum(range(1, threads + 1))
    np.testing.assert_array_equal(w.grad.numpy(), np.full(n, float(expected)))


def test_autograd_backward_inputs_from_threads_accumulates():
    """backward(inputs=...) accumulates through its own path."""
    n = 1 << 16
    w = tf.zeros(n, dtype=tf.float64, requires_grad=True)
    barrier = threading.Barrier(3)

    def worker():
        barrier.wait(timeout=30)
        for _ in range(60):
            (w * 2.0).sum().backward(inputs=[w])

    ts = [threading.Thread(target=worker) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    np.testing.assert_array_equal(w.grad.numpy(), np.full(n, 3 * 60 * 2.0))


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
        return wait_for_child(pid, timeout=30)

    assert _in_new_thread(fork_and_wait) == 0


# ---- BLAS products on tinyfin's threads -------------------------------------------------
# The BLAS backend cuts a large product into tiles on a grid fixed by the
# shape, which tinyfin's OpenMP team runs, one single-threaded OpenBLAS call
# each (native/src/blas/gemm.c): the bits never depend on the team.
BLAS_SHAPES = ((300, 400), (400, 500))   # large enough to be tiled


def _blas_operands():
    rng = np.random.default_rng(5)
    return [rng.standard_normal(s).astype(np.float32) for s in BLAS_SHAPES]


@pytest.mark.skipif(tf.backends.available().get("blas", "absent") is not None,
                    reason="OpenBLAS not loaded")
def test_blas_products_from_threads_at_once_match_one_alone(restore_threads):
    tf.set_num_threads(2)
    a, b = (tf.tensor(x) for x in _blas_operands())
    alone = (a @ b).numpy().tobytes()
    results, errors = [], []

    def work():
        try:
            results.extend((a @ b).numpy().tobytes() for _ in range(10))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 40, "a thread failed or hung"
    assert all(r == alone for r in results)


@pytest.mark.skipif(tf.backends.available().get("blas", "absent") is not None,
                    reason="OpenBLAS not loaded")
def test_blas_product_with_a_smaller_openmp_team_than_asked(restore_threads):
    """OMP_THREAD_LIMIT=1 gives a team of one where 2 threads were asked
    for: the tiles run one after the other, with the same bits."""
    tf.set_num_threads(2)
    a, b = (tf.tensor(x) for x in _blas_operands())
    expected = (a @ b).numpy()
    code = ("import sys, numpy as np, tinyfin as tf\n"
            "tf.set_num_threads(2)\n"
            "rng = np.random.default_rng(5)\n"
            f"a, b = (tf.tensor(rng.standard_normal(s).astype(np.float32)) for s in {BLAS_SHAPES})\n"
            "sys.stdout.write((a @ b).numpy().tobytes().hex())\n")
    proc = subprocess.run([sys.executable, "-c", code], env=dict(_child_env(), OMP_THREAD_LIMIT="1"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert bytes.fromhex(proc.stdout) == expected.tobytes()
