"""tinyfin.utils.data.DataLoader: batches against the expected values, the
same batches in the same order for any num_workers (shuffled, with random
per-sample work), iterable datasets sharded over workers, and the worker
machinery's failure paths: an exception relayed with its traceback, a killed
worker, a timeout, breaking out of the loop, deleting the iterator, garbage
collection and interpreter exit; none leaves a worker process behind."""
from __future__ import annotations

import gc
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from helpers_process import wait_for_child
import tinyfin
from tinyfin.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset,
                                SequentialSampler, Subset, TensorDataset, default_collate,
                                get_worker_info, random_split)
from tinyfin.utils.data._worker import DoneFlag

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def children():
    return multiprocessing.active_children()


@pytest.fixture(autouse=True)
def no_workers_left():
    """Every test ends with no worker process alive."""
    yield
    assert children() == []


class Noisy(Dataset):
    """Each sample does random work with all three RNGs a transform may use."""

    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = tinyfin.full((2,), float(i)) + tinyfin.rand(2)
        return x, np.random.rand() + i, random.random() + i, i


class Failing(Dataset):
    def __init__(self, bad=7, exc=ValueError):
        self.bad, self.exc = bad, exc

    def __len__(self):
        return 20

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"sample {i} is broken")
        return i


class Sharded(IterableDataset):
    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class SizedStream(Sharded):
    def __len__(self):
        return self.n


def epoch(loader):
    return [tuple(np.asarray(f.numpy() if isinstance(f, tinyfin.Tensor) else f).tolist()
                  for f in b) for b in loader]


# ------------------------------------------------------------------- basics
def test_batches_of_a_tensor_dataset():
    x = tinyfin.arange(20, dtype=tinyfin.float32).reshape(10, 2)
    y = tinyfin.arange(10)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0].numpy(), [[16, 17], [18, 19]])
    assert isinstance(batches[0], list)  # a tuple sample collates to a list, as PyTorch
    dl = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[1].numpy().tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(TensorDataset(x, y), batch_size=4)) == 3
    # batch_size=None: no batching, samples converted one by one
    dl = DataLoader([np.array([1, 2]), np.array([3, 4])], batch_size=None)
    out = list(dl)
    assert len(dl) == 2 and all(isinstance(t, tinyfin.Tensor) for t in out)
    assert [t.numpy().tolist() for t in out] == [[1, 2], [3, 4]]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_tensor_dataset_gather_equals_collating_samples(num_workers):
    """A default-collated batch of a TensorDataset, or of Subsets of one, is
    one gather per tensor (the fast path): the same tensors, dtypes and
    shapes as collating the samples one by one (a collate_fn that is not
    default_collate itself takes the per-sample path)."""
    x = tinyfin.randn(203, 3, 2, generator=tinyfin.Generator().manual_seed(0))
    y = tinyfin.arange(203) * 7
    flags = tinyfin.arange(203) % 3 == 0
    full = TensorDataset(x, y, flags)
    part = random_split(full, [0.6, 0.4], generator=tinyfin.Generator().manual_seed(1))[0]
    nested = Subset(part, list(range(len(part) - 1, -1, -2)))  # reversed, every other
    per_sample = lambda samples: default_collate(samples)  # noqa: E731
    for ds in (full, part, nested):
        kw = dict(batch_size=16, shuffle=True, num_workers=num_workers, drop_last=False)
        fast = list(DataLoader(ds, generator=tinyfin.Generator().manual_seed(2), **kw))
        slow = list(DataLoader(ds, generator=tinyfin.Generator().manual_seed(2),
                               collate_fn=per_sample, **kw))
        assert len(fast) == len(slow) == -(-len(ds) // 16)
        for a, b in zip(fast, slow):
            assert isinstance(a, list) and len(a) == 3
            for ta, tb in zip(a, b):
                assert ta.dtype == tb.dtype and ta.shape == tb.shape
                np.testing.assert_array_equal(ta.numpy(), tb.numpy())


def test_tensor_dataset_subclass_keeps_its_getitem():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            return tuple(2 * t[i] for t in self.tensors)
    batch = next(iter(DataLoader(Doubled(tinyfin.arange(6)), batch_size=3)))
    assert batch[0].numpy().tolist() == [0, 2, 4]


def test_sampler_batch_sampler_and_collate_fn():
    ds = list(range(10))
    dl = DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 6, 5])
    assert [b.numpy().tolist() for b in dl] == [[9, 8, 7], [6, 5]]
    dl = DataLoader(ds, batch_sampler=[[1, 2], [0], [5, 4, 3]])
    assert [b.numpy().tolist() for b in dl] == [[1, 2], [0], [5, 4, 3]] and len(dl) == 3
    dl = DataLoader(ds, batch_size=4, collate_fn=lambda b: sum(b))
    assert list(dl) == [6, 22, 17]
    dl = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 5, False),
                    num_workers=2)
    assert [b.numpy().tolist() for b in dl] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
    (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor option could only be specified"),
    (dict(num_workers=1, prefetch_factor=-1), ValueError,
     "prefetch_factor must be a positive int"),
    (dict(persistent_workers=True), ValueError, "persistent_workers option needs num_workers > 0"),
    (dict(sampler=[0, 1], shuffle=True), ValueError,
     "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), ValueError,
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], drop_last=True), ValueError, "mutually exclusive"),
    (dict(batch_sampler=[[0]], shuffle=True), ValueError, "mutually exclusive"),
    (dict(batch_size=None, drop_last=True), ValueError,
     "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"),
    (dict(multiprocessing_context="fork"), ValueError,
     "multiprocessing_context can only be used with multi-process loading"),
    (dict(num_workers=1, multiprocessing_context="nope"), ValueError,
     "multiprocessing_context option should specify a valid start method"),
    (dict(num_workers=1, multiprocessing_context=3), TypeError,
     "multiprocessing_context option should be a valid context object"),
    (dict(batch_size=0), ValueError, "batch_size should be a positive integer value"),
    (dict(generator=np.random.default_rng()), TypeError, "generator must be a tinyfin.Generator"),
])
def test_argument_errors(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        DataLoader(list(range(4)), **kwargs)


def test_iterable_dataset_argument_errors_and_len():
    for kw, what in [(dict(shuffle=True), "shuffle"), (dict(sampler=[0]), "sampler"),
                     (dict(batch_sampler=[[0]]), "batch_sampler")]:
        with pytest.raises(ValueError, match=f"DataLoader with IterableDataset: expected "
                                             f"unspecified {what} option"):
            DataLoader(Sharded(5), **kw)
    assert list(DataLoader(Sharded(5), shuffle=False, batch_size=2))[2].numpy().tolist() == [4]


def test_attributes_are_frozen():
    dl = DataLoader(list(range(4)), batch_size=2)
    for attr in ("batch_size", "sampler", "batch_sampler", "drop_last", "dataset",
                 "persistent_workers"):
        with pytest.raises(ValueError, match=f"{attr} attribute should not be set after "
                                             "DataLoader is initialized"):
            setattr(dl, attr, None)
    dl.num_workers = 0  # others may change, as in PyTorch


# ---------------------------------------------------------------- seeding
@pytest.mark.parametrize("generator", [False, True])
def test_same_batches_for_any_num_workers(generator):
    runs = []
    for nw in (0, 1, 2):
        tinyfin.manual_seed(3)
        g = tinyfin.Generator().manual_seed(9) if generator else None
        dl = DataLoader(Noisy(), batch_size=4, shuffle=True, num_workers=nw, generator=g)
        runs.append([epoch(dl), epoch(dl)])
    assert runs[0] == runs[1] == runs[2]
    first, second = runs[0]
    assert first != second  # each epoch its own order and its own random work
    assert sorted(i for b in first for i in b[3]) == list(range(23))
    tinyfin.manual_seed(4)
    g = tinyfin.Generator().manual_seed(10) if generator else None
    assert epoch(DataLoader(Noisy(), batch_size=4, shuffle=True, generator=g)) != first


def test_in_process_loading_leaves_the_callers_rngs_alone():
    """num_workers=0 seeds each batch but puts the caller's RNG states back:
    afterwards the streams are where they would be with workers (which only
    draw the epoch's base seed in the main process)."""
    after = []
    for nw in (0, 2):
        tinyfin.manual_seed(5)
        np.random.seed(5)
        random.seed(5)
        epoch(DataLoader(Noisy(8), batch_size=3, num_workers=nw))
        after.append((tinyfin.rand(3).numpy().tolist(), np.random.rand(), random.random()))
    assert after[0] == after[1]
    np.random.seed(5)
    random.seed(5)
    assert after[0][1:] == (np.random.rand(), random.random())


def test_worker_info():
    assert get_worker_info() is None

    class Info(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            w = get_worker_info()
            with pytest.raises(RuntimeError, match="Cannot assign attributes to WorkerInfo"):
                w.id = 5
            return w.id, w.num_workers, w.seed, isinstance(w.dataset, Info), os.getpid()

    out = [tuple(np.asarray(f.numpy()).tolist() for f in b)
           for b in DataLoader(Info(), batch_size=1, num_workers=2)]
    ids = [b[0][0] for b in out]
    assert ids == [0, 1, 0, 1, 0, 1]  # round robin over the workers
    assert all(b[1] == [2] and b[3] == [True] and b[4][0] != os.getpid() for b in out)
    seeds = {b[0][0]: b[2][0] for b in out}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker id, as PyTorch


def _record_init(worker_id):
    os.environ["TINYFIN_TEST_INIT"] = f"{worker_id}:{get_worker_info().id}"


class InitSeen(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return os.environ.get("TINYFIN_TEST_INIT", "none")


def test_worker_init_fn_runs_in_each_worker():
    dl = DataLoader(InitSeen(), batch_size=2, num_workers=2, worker_init_fn=_record_init)
    seen = [s for b in dl for s in b]
    assert seen == ["0:0"] * 2 + ["1:1"] * 2 + ["0:0"] * 2 + ["1:1"] * 2
    assert "TINYFIN_TEST_INIT" not in os.environ  # it ran in the workers only


def test_failing_worker_init_fn_is_reported():
    def init(worker_id):
        raise KeyError(f"no config for worker {worker_id}")
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        list(DataLoader(InitSeen(), batch_size=2, num_workers=2, worker_init_fn=init))


# -------------------------------------------------------- order, prefetch
class SlowFirst(Dataset):
    """Batch 0 (worker 0) is slow, so batch 1 arrives before it."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i < 2:
            time.sleep(0.3)
        return i


def test_batches_come_in_sampler_order():
    dl = DataLoader(SlowFirst(), batch_size=2, num_workers=2)
    assert [b.numpy().tolist() for b in dl] == [[2 * k, 2 * k + 1] for k in range(6)]


def test_prefetch_factor_bounds_the_batches_in_flight():
    dl = DataLoader(list(range(40)), batch_size=2, num_workers=2, prefetch_factor=3)
    it = iter(dl)
    assert it._tasks_outstanding == 6  # prefetch_factor x num_workers, no more
    got = [next(it).numpy().tolist() for _ in range(3)]
    assert got == [[0, 1], [2, 3], [4, 5]] and it._tasks_outstanding <= 6
    del it


# ------------------------------------------------------ iterable datasets
@pytest.mark.parametrize("nw", [0, 1, 2, 3])
def test_iterable_dataset_sharded_over_workers(nw):
    items = [int(v) for b in DataLoader(Sharded(17), batch_size=3, num_workers=nw)
             for v in b.numpy().tolist()]
    assert sorted(items) == list(range(17))  # every item once


def test_iterable_dataset_unsharded_is_replicated_and_drop_last():
    items = [v for b in DataLoader(Sharded(7, shard=False), batch_size=2, num_workers=2)
             for v in b.numpy().tolist()]
    assert sorted(items) == sorted(list(range(7)) * 2)  # each worker streams it all
    batches = [b.numpy().tolist() for b in DataLoader(Sharded(7), batch_size=2, num_workers=2,
                                                      drop_last=True)]
    # worker 0 streams 0,2,4,6 and worker 1 streams 1,3,5: the short batch [5] is dropped
    assert batches == [[0, 2], [1, 3], [4, 6]]
    with pytest.raises(TypeError):  # a stream without __len__ has no len()
        len(DataLoader(Sharded(7), batch_size=2))
    assert len(DataLoader(SizedStream(7), batch_size=2)) == 4
    assert len(DataLoader(SizedStream(7), batch_size=2, drop_last=True)) == 3


# ---------------------------------------------------------- failure paths
def test_worker_exception_is_reraised_with_its_traceback():
    dl = DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        for _ in dl:
            pass
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 1.\n"
                          "Original Traceback (most recent call last):")
    assert "in __getitem__" in msg and "sample 7 is broken" in msg
    assert children() == []  # shut down before the exception reached us


def test_in_process_exception_is_the_original():
    with pytest.raises(ValueError, match="^sample 7 is broken$"):
        list(DataLoader(Failing(), batch_size=2))


def test_killed_worker_raises_instead_of_hanging():
    class Suicidal(Dataset):
        def __len__(self):
            return 20

        def __getitem__(self, i):
            if i == 6:
                os.kill(os.getpid(), signal.SIGKILL)
            return i

    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) was killed by "
                                           r"SIGKILL \(exit code -9\)"):
        # timeout: a backstop, so that a loader missing the death would fail here, not hang
        list(DataLoader(Suicidal(), batch_size=2, num_workers=2, timeout=10))
    assert time.monotonic() - start < 5


def test_worker_killed_from_outside():
    dl = DataLoader(SlowFirst(), batch_size=2, num_workers=2, timeout=10)
    it = iter(dl)
    victim = it._workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"DataLoader worker 0 \(pid \d+\) was killed"):
        list(it)


def _read_forever(flag):
    while True:
        flag.is_set()


def test_the_stop_signal_survives_a_reader_killed_while_reading():
    """The workers' stop signal (DoneFlag) is read all the time by every
    worker; one killed mid-read must not block the main process's set() or
    the other readers. 40 rounds of two readers, one killed: with
    multiprocessing.Event in DoneFlag's place (its is_set() holds a lock
    shared by all processes) about 1 kill in 10 lands while the reader
    holds that lock and set() then waits forever, so this fails it in all
    but ~1.5% of runs."""
    ctx = multiprocessing.get_context("fork")
    for round in range(40):
        flag = DoneFlag(ctx)
        readers = [ctx.Process(target=_read_forever, args=(flag,), daemon=True)
                   for _ in range(2)]
        for r in readers:
            r.start()
        try:
            time.sleep(0.02)
            os.kill(readers[0].pid, signal.SIGKILL)
            readers[0].join()
            setter = threading.Thread(target=flag.set, daemon=True)
            setter.start()
            setter.join(2)
            assert not setter.is_alive(), f"round {round}: set() waits for the killed reader"
            assert flag.is_set()
        finally:
            for r in readers:
                r.kill()
                r.join()


def test_a_worker_killed_while_starting_never_hangs_the_others():
    """Worker 0 is killed right after the loader starts, 40 times, in a
    child interpreter so that a hang fails here (timeout) instead of holding
    the suite: the end-to-end form of the check above (with
    multiprocessing.Event as the stop signal this loop hung in 1 run of 4,
    and test_worker_killed_from_outside about 1 run of its file in 3)."""
    script = textwrap.dedent("""
        import os, signal
        from tinyfin.utils.data import DataLoader
        for round in range(40):
            it = iter(DataLoader(list(range(100_000)), batch_size=2, num_workers=2,
                                 timeout=20))
            os.kill(it._workers[0].pid, signal.SIGKILL)
            try:
                list(it)
            except RuntimeError as e:
                assert "was killed by SIGKILL" in str(e), e
            else:
                raise AssertionError("the loop ended although a worker was killed")
            assert not any(w.is_alive() for w in it._workers), round
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_timeout():
    class Stuck(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            time.sleep(3)
            return i

    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds"):
        next(iter(DataLoader(Stuck(), num_workers=1, timeout=0.2)))
    assert time.monotonic() - start < 5  # the stuck worker is terminated, not awaited


# -------------------------------------------------- no worker left behind
def test_break_out_of_the_loop_shuts_the_workers_down():
    for b in DataLoader(list(range(100)), batch_size=2, num_workers=2):
        assert len(children()) == 2
        break
    assert children() == []


def test_deleting_or_collecting_the_iterator_shuts_the_workers_down():
    dl = DataLoader(list(range(100)), batch_size=2, num_workers=2)
    it = iter(dl)
    next(it)
    pids = [w.pid for w in it._workers]
    del it
    assert children() == []
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")  # joined: not even a zombie
    it = iter(dl)
    it.cycle = it  # a reference cycle: only the garbage collector frees it
    next(it)
    del it
    gc.collect()
    assert children() == []


def test_interpreter_exit_shuts_the_workers_down():
    script = textwrap.dedent("""
        import atexit
        # registered first, so it runs last: how did the workers end?
        atexit.register(lambda: print("exit codes", *[w.exitcode for w in it._workers]))
        import tinyfin
        from tinyfin.utils.data import DataLoader
        it = iter(DataLoader(list(range(100)), batch_size=2, num_workers=2,
                             persistent_workers=True))
        next(it)
        print(" ".join(str(w.pid) for w in it._workers), flush=True)
        keep = [it]  # still alive when the interpreter exits
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    pids = [int(p) for p in lines[0].split()]
    assert len(pids) == 2
    # stopped by the loader's own exit handler (exit code 0), not terminated
    # (-15) by multiprocessing's, which runs after it
    assert lines[1] == "exit codes 0 0", out.stdout
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)


def test_persistent_workers_are_reused_across_epochs():
    dl = DataLoader(Noisy(10), batch_size=3, shuffle=True, num_workers=2,
                    persistent_workers=True)
    tinyfin.manual_seed(1)
    first = epoch(dl)
    pids = sorted(p.pid for p in children())
    second = epoch(dl)
    assert sorted(p.pid for p in children()) == pids and len(pids) == 2
    for b in dl:  # an epoch broken off: the next one is still whole and right
        break
    third = epoch(dl)
    assert sorted(p.pid for p in children()) == pids
    for e in (first, second, third):
        assert sorted(i for b in e for i in b[3]) == list(range(10))
    # the same stream as non-persistent workers and in-process loading
    tinyfin.manual_seed(1)
    plain = DataLoader(Noisy(10), batch_size=3, shuffle=True, num_workers=0)
    assert [epoch(plain), epoch(plain)] == [first, second]
    # persistent iterable datasets restart their stream each epoch
    dl2 = DataLoader(Sharded(9), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(v for b in dl2 for v in b.numpy().tolist()) == list(range(9))
    del dl, dl2
    gc.collect()


def test_spawn_context():
    x = tinyfin.arange(12, dtype=tinyfin.float32).reshape(6, 2)
    dl = DataLoader(TensorDataset(x), batch_size=4, num_workers=1,
                    multiprocessing_context="spawn")
    out = [b[0].numpy().tolist() for b in dl]
    assert out == [x.numpy()[:4].tolist(), x.numpy()[4:].tolist()]


def test_what_cannot_cross_processes_is_an_error_not_a_hang():
    class LocalError(Exception):  # defined in a function: the main process cannot unpickle it
        pass

    class Raises(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            raise LocalError("only here")

    with pytest.raises(RuntimeError, match="Caught LocalError in DataLoader worker process 0"):
        list(DataLoader(Raises(), num_workers=1, timeout=10))

    class Unpicklable(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return lambda: i

    with pytest.raises(AttributeError, match=r"pickling the batch to send it to the main "
                                             r"process(.|\n)*Can't pickle local object"):
        list(DataLoader(Unpicklable(), num_workers=1, collate_fn=list, timeout=10))


def test_unbatched_loading_with_workers():
    """batch_size=None: each sample converted (NumPy -> Tensor), not
    collated, in the same order with or without workers."""
    ds = [np.array([i, i + 1]) for i in range(7)]
    for nw in (0, 2):
        out = list(DataLoader(ds, batch_size=None, num_workers=nw))
        assert all(isinstance(t, tinyfin.Tensor) for t in out)
        assert [t.numpy().tolist() for t in out] == [[i, i + 1] for i in range(7)]


def test_prefetch_factor_must_be_positive():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="DataLoader: prefetch_factor must be a positive int"):
            DataLoader(list(range(4)), batch_size=2, num_workers=1, prefetch_factor=bad)
    # a prefetch far beyond the epoch hands out what there is and stops
    dl = DataLoader(list(range(4)), batch_size=2, num_workers=1, prefetch_factor=10**9)
    assert [b.tolist() for b in dl] == [[0, 1], [2, 3]]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.parametrize("persistent", [False, True])
def test_an_iterator_is_not_shared_with_a_forked_child(persistent):
    """The child cannot read the parent's workers' queue (it would take the
    parent's batches and hang it): it gets a clear error, or, asking the
    loader again, an iterator of its own; the parent's epoch is whole."""
    dl = DataLoader(list(range(6)), batch_size=2, num_workers=1, persistent_workers=persistent)
    it = iter(dl)
    assert next(it).tolist() == [0, 1]
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 0
        try:
            next(it)
            code = 1
        except RuntimeError as e:
            code = 0 if "forked child" in str(e) else 2
        if code == 0:
            try:
                code = 0 if [b.tolist() for b in dl] == [[0, 1], [2, 3], [4, 5]] else 3
            except BaseException:
                code = 4
        os._exit(code)
    assert wait_for_child(pid) == 0
    assert [b.tolist() for b in it] == [[2, 3], [4, 5]]
    del it, dl  # persistent workers stop with their loader
    gc.collect()


def test_a_finished_loader_leaves_no_thread_behind():
    """Its queues' feeder threads are gone (down to the OS thread) when the
    epoch ends, so none is still exiting when the next loader forks: under
    a malloc that does not guard fork() (ASAN's) such a thread can leave a
    worker a lock that is never released (make asan hung so)."""
    before = set(threading.enumerate())
    tasks = set(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    for _ in range(3):
        assert len(list(DataLoader(list(range(40)), batch_size=4, num_workers=2))) == 10
        assert set(threading.enumerate()) == before
        if tasks is not None:  # nor a thread of the OS that was not here before
            assert not set(os.listdir("/proc/self/task")) - tasks
