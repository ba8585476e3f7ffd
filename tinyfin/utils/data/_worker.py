"""What runs inside a DataLoader worker process, and what the main process
shares with it: fetching a batch, the per-batch seeding, WorkerInfo and
get_worker_info(), and ExceptionWrapper (an exception carried across
processes as its type and formatted traceback).

Seeding. Batch k of an epoch is fetched with every RNG it may touch set
from (base_seed, k): tinyfin's default generator (what random transforms
draw from), NumPy's legacy global RNG (np.random.*) and Python's `random`.
base_seed is drawn once per epoch in the main process. So the same seed
gives the same batches, random per-sample work included, for any
num_workers and any assignment of batches to workers (PyTorch seeds each
worker once, so its random transforms depend on num_workers). The states
come from NumPy's SeedSequence([base_seed, k]), which mixes the two
integers into independent words."""
from __future__ import annotations

import ctypes
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ... import _C
from ..._generator import default_generator
from ...creation import tensor
from ...dtypes import int64
from ._collate import default_collate
from .dataset import IterableDataset, Subset, TensorDataset

# How often a blocked get() wakes up to check on the other side (seconds).
STATUS_CHECK_INTERVAL = 0.1


class DoneFlag:
    """The main process's "stop" to its workers: one shared byte, written
    and read without a lock. (multiprocessing.Event takes a lock shared by
    every process in each is_set(), which the workers call all the time: a
    worker killed while it held that lock left the other workers and the
    main process's shutdown, which sets the event, waiting for it forever.)"""

    def __init__(self, ctx) -> None:
        self._flag = ctx.RawValue(ctypes.c_bool, False)

    def set(self) -> None:
        self._flag.value = True

    def is_set(self) -> bool:
        return self._flag.value


# ------------------------------------------------------------------ seeding
def batch_seeds(base_seed: int, batch_index: int) -> Tuple[int, int, int]:
    """(tinyfin seed, NumPy legacy seed, Python random seed) of one batch."""
    w = np.random.SeedSequence([base_seed, batch_index]).generate_state(5, np.uint32)
    w = [int(x) for x in w]
    return w[0] | (w[1] << 32), w[2], w[3] | (w[4] << 32)


def seed_all(seeds: Tuple[int, int, int]) -> None:
    default_generator.manual_seed(seeds[0])
    np.random.seed(seeds[1])
    random.seed(seeds[2])


def get_rng_states() -> tuple:
    return default_generator.get_state(), np.random.get_state(), random.getstate()


def set_rng_states(states: tuple) -> None:
    default_generator.set_state(states[0])
    np.random.set_state(states[1])
    random.setstate(states[2])


# ------------------------------------------------------------- worker info
class WorkerInfo:
    """What get_worker_info() returns inside a worker: id, num_workers,
    seed (base_seed + id, as PyTorch) and dataset (this worker's copy)."""

    _frozen = False

    def __init__(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self._keys = tuple(kwargs)
        self._frozen = True

    def __setattr__(self, key, value) -> None:
        if self._frozen:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, value)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: Optional[WorkerInfo] = None


def get_worker_info() -> Optional[WorkerInfo]:
    """In a DataLoader worker process: its WorkerInfo (id, num_workers,
    seed, dataset); in the main process: None. An IterableDataset uses it
    to hand each worker its own share of the stream."""
    return _worker_info


# --------------------------------------------------------- exception relay
class KeyErrorMessage(str):
    """str(KeyError(msg)) is repr(msg); this keeps the traceback readable."""

    def __repr__(self) -> str:
        return self


class ExceptionWrapper:
    """An exception with its formatted traceback, picklable, so a worker can
    send it and the main process raise it again as the same type."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_name = self.exc_type.__name__
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where
        try:  # a class the other process cannot import (defined in a function)
            pickle.dumps(self.exc_type)
        except Exception:
            self.exc_type = RuntimeError

    def message(self) -> str:
        return f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"

    def reraise(self):
        msg = self.message()
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # an exception type that needs other arguments
            raise RuntimeError(msg) from None
        raise exception


# ----------------------------------------------------------------- fetching
def tensor_source(dataset):
    """(tensors, index lists) when dataset[i] is the tuple of t[r] for t in
    tensors, r being i mapped through the index lists in turn: a
    TensorDataset ([]) or Subsets of one (random_split's parts); None for
    any other dataset (a subclass may index differently)."""
    chain = []
    while type(dataset) is Subset:
        chain.append(dataset.indices)
        dataset = dataset.dataset
    return (dataset.tensors, chain) if type(dataset) is TensorDataset else None


class MapFetcher:
    """One batch of a map-style dataset: its samples at the batch's keys,
    collated (auto-collation), or one sample, converted. A default-collated
    batch of a TensorDataset is one gather per tensor (t[rows]): the stack
    of the samples' rows that default_collate would build, without a Python
    loop over the samples."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last
        self.gather = (tensor_source(dataset) if auto_collation and collate_fn is default_collate
                       else None)
        self.draws_nothing = self.gather is not None  # no RNG to seed for its batches

    def fetch(self, index):
        if self.gather is not None:
            tensors, chain = self.gather
            rows = list(index)
            for indices in chain:
                rows = [indices[i] for i in rows]
            rows = tensor(rows, dtype=int64)
            return [t[rows] for t in tensors]
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            if callable(getitems):
                data = getitems(index)
            else:
                data = [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class IterableFetcher:
    """The next batch (or sample) of an iterable dataset's stream; raises
    StopIteration when the stream has ended (or, with drop_last, when too
    little of it is left for a whole batch)."""

    draws_nothing = False

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if len(data) == 0 or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def make_fetcher(dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
    kind = IterableFetcher if isinstance(dataset, IterableDataset) else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)


def fetch_seeded(fetcher, index, base_seed: int, batch_index: int):
    """fetcher.fetch(index) with the RNGs set for batch `batch_index`."""
    if fetcher.draws_nothing:
        return fetcher.fetch(index)
    seed_all(batch_seeds(base_seed, batch_index))
    return fetcher.fetch(index)


def fetch_in_process(fetcher, index, base_seed: int, batch_index: int):
    """fetch_seeded in the main process, the caller's RNG states restored
    afterwards (loading draws nothing from the user's streams)."""
    if fetcher.draws_nothing:
        return fetcher.fetch(index)
    states = get_rng_states()
    try:
        return fetch_seeded(fetcher, index, base_seed, batch_index)
    finally:
        set_rng_states(states)


# --------------------------------------------------------------- messages
class Pickled:
    """A batch pickled in the worker's own thread, so that one which cannot
    be pickled is reported as an error (the queue's feeder thread would
    only print it and drop the batch, and the main process would wait for
    it forever)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def __reduce__(self):
        return (Pickled, (self.payload,))

    def load(self):
        return pickle.loads(self.payload)


@dataclass(frozen=True)
class ResumeIteration:
    """To a persistent worker: a new epoch begins with this base seed. The
    worker answers with one of its own (carrying no seed) once ready."""
    seed: Optional[int] = None


@dataclass(frozen=True)
class IterableDatasetStopIteration:
    """From a worker: its copy of the iterable dataset is exhausted."""
    worker_id: int


def _worker_seed_init(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    default_generator.manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([base_seed, worker_id, 1]).generate_state(1)[0])
    return seed


# ------------------------------------------------------------- the worker
def _pickled(data, worker_id: int):
    try:
        return Pickled(bytes(ForkingPickler.dumps(data, pickle.HIGHEST_PROTOCOL)))
    except Exception:
        return ExceptionWrapper(where=f"in DataLoader worker process {worker_id} "
                                      "(pickling the batch to send it to the main process)")


def worker_loop(dataset, index_queue, result_queue, done_event, auto_collation: bool,
                collate_fn: Callable, drop_last: bool, base_seed: int,
                init_fn: Optional[Callable], worker_id: int, num_workers: int,
                persistent_workers: bool) -> None:
    """A worker's life: seed, run init_fn, then fetch what index_queue asks
    ((batch index, keys) -> (batch index, batch or ExceptionWrapper) on
    result_queue) until told to stop (None, or done_event), or until the
    main process is gone."""
    global _worker_info
    parent = os.getppid()
    try:
        _C.tf_set_num_threads(1)  # many workers share the machine (fork already is 1)
        seed = _worker_seed_init(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        while not done_event.is_set():
            try:
                r = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent:  # the main process died: nobody to serve
                    break
                continue
            if r is None:
                break
            if isinstance(r, ResumeIteration):  # persistent worker, next epoch
                base_seed = r.seed
                iteration_end = False
                if init_error is None:
                    try:
                        fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
                    except Exception:
                        init_error = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
                result_queue.put((ResumeIteration(), None))
                continue
            if done_event.is_set() or iteration_end:
                continue  # draining: the main process no longer wants data
            idx, index = r
            data: Any
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetch_seeded(fetcher, index, base_seed, idx)
                except StopIteration:
                    if isinstance(dataset, IterableDataset):
                        data = IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
                except Exception:
                    data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
                else:
                    data = _pickled(data, worker_id)
            result_queue.put((idx, data))
            del data, r
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C and shuts the workers down
    if done_event.is_set() or os.getppid() != parent:
        # shutting down: never block at exit flushing results nobody will read
        result_queue.cancel_join_thread()
    # Otherwise (an iterable dataset's worker told to stop while the others go
    # on) exit only once the queue's feeder thread is done: the main process
    # can read a message before the feeder thread releases the queue's
    # shared write lock, and a worker that exits before that release leaves
    # the lock held and every other worker's put blocked forever.
    result_queue.close()


__all__: List[str] = ["WorkerInfo", "get_worker_info"]
