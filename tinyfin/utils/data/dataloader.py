"""DataLoader, as torch.utils.data.DataLoader: batches of a dataset,
fetched in the main process (num_workers=0) or by worker processes.

With workers, each has its own index queue; all put their results on one
shared result queue, and the main process yields the batches in sampler
order (a reordering buffer keeps those that arrive early). At most
prefetch_factor batches are in flight per worker. Every blocking get wakes
up every few tenths of a second to check that the workers are alive, so a
worker killed by a signal raises RuntimeError instead of a hang; a worker
that raises sends its exception and traceback, and the main process shuts
the workers down and raises it again. Workers are shut down and joined when
an epoch ends (unless persistent_workers), when the iterator is deleted or
collected (a loop broken out of), and at interpreter exit.

Seeding (see _worker.py): base_seed is drawn once per epoch from
`generator` (None: tinyfin's default generator); batch k is fetched with
tinyfin's default generator, NumPy's legacy RNG and Python's `random` set
from (base_seed, k), in a worker or in the main process alike. So a seed
gives the same batches in the same order, random transforms included, for
any num_workers. With num_workers=0 the main process's RNG states are
restored after each batch: loading draws nothing from the user's streams
but the one base_seed per epoch (and the sampler's own seed, as PyTorch)."""
from __future__ import annotations

import atexit
import itertools
import multiprocessing
import multiprocessing.context
import multiprocessing.util  # registers its exit handler before ours (see below)
import os
import queue
import signal
import time
import warnings
import weakref
from typing import Any, Callable, Dict, List, Optional

from ... import cuda as _cuda
from ..._generator import Generator
from . import _random, _worker
from ._collate import default_collate, default_convert
from ._worker import ExceptionWrapper, IterableDatasetStopIteration, Pickled, ResumeIteration
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


class _InfiniteConstantSampler(Sampler):
    """The keys of an iterable dataset: None, forever (the dataset decides
    when its stream ends)."""

    def __iter__(self):
        while True:
            yield None


_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class DataLoader:
    """Batches of `dataset` (see the module's docstring). Arguments and
    their checks are PyTorch's; pin_memory puts each batch's tensors in
    pinned memory when CUDA is available (for .cuda(non_blocking=True)),
    and warns and does nothing otherwise, as PyTorch."""

    _initialized = False

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1,
                 shuffle: Optional[bool] = None, sampler=None, batch_sampler=None,
                 num_workers: int = 0, collate_fn: Optional[Callable] = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable] = None, multiprocessing_context=None,
                 generator: Optional[Generator] = None, *,
                 prefetch_factor: Optional[int] = None,
                 persistent_workers: bool = False) -> None:
        if not isinstance(num_workers, int) or isinstance(num_workers, bool):
            raise TypeError(f"num_workers should be an int, but got num_workers={num_workers!r}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable "
                             "multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (isinstance(prefetch_factor, bool)
                                            or not isinstance(prefetch_factor, int)
                                            or prefetch_factor <= 0):
            raise ValueError(f"DataLoader: prefetch_factor must be a positive int (the "
                             f"batches in flight per worker), got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError("DataLoader: generator must be a tinyfin.Generator, got "
                            f"{type(generator).__name__}")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        if pin_memory and not _cuda.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is "
                          "found, then device pinned memory won't be used.")

        if isinstance(dataset, IterableDataset):
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")

        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._initialized = True

    # -- the start method ------------------------------------------------
    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with "
                                 "multi-process loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError("multiprocessing_context option should specify a "
                                     f"valid start method in {methods!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            elif not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context "
                                "object or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self._multiprocessing_context = context

    def __setattr__(self, attr, value) -> None:
        if self._initialized and attr in _FROZEN:
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, value)

    # -- iteration ---------------------------------------------------------
    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if (self._iterator is None or self._iterator._shutdown
                    or self._iterator._pid != os.getpid()):  # a forked child: its own
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            length = len(self.dataset)  # TypeError when the stream has no len
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return -(-length // self.batch_size)
            return length
        return len(self._index_sampler)


def _pinned(data):
    """The batch with its tensors in pinned memory (pin_memory=True, in the
    main process, as PyTorch's pin-memory thread does), through lists,
    tuples, named tuples and dicts; an object with a pin_memory method
    pins itself."""
    if hasattr(data, "pin_memory") and callable(data.pin_memory):
        return data.pin_memory()
    if isinstance(data, dict):
        return type(data)({k: _pinned(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_pinned(v) for v in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_pinned(v) for v in data)
    return data


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._pin_memory = loader.pin_memory and _cuda.is_available()
        self._generator = loader.generator
        self._length = None
        self._loader_len = loader.__len__
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _random.draw_seed(loader.generator)
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader: DataLoader) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _random.draw_seed(loader.generator)
        self._num_yielded = 0

    def _next_index(self):
        return next(self._sampler_iter)  # StopIteration ends the epoch

    def __next__(self):
        data = self._next_data()
        if self._pin_memory:
            data = _pinned(data)
        self._num_yielded += 1
        return data

    def __len__(self) -> int:
        return self._loader_len()


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """Batches fetched in the main process, each with the RNGs set for it and
    the caller's RNG states put back afterwards."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(self._dataset, self._auto_collation,
                                             self._collate_fn, self._drop_last)
        self._batch_index = 0

    def _reset(self, loader: DataLoader) -> None:
        super()._reset(loader)
        self._fetcher = _worker.make_fetcher(self._dataset, self._auto_collation,
                                             self._collate_fn, self._drop_last)
        self._batch_index = 0

    def _next_data(self):
        index = self._next_index()
        data = _worker.fetch_in_process(self._fetcher, index, self._base_seed, self._batch_index)
        self._batch_index += 1
        return data


# Live multi-process iterators, shut down at interpreter exit. atexit runs
# the handlers last-registered first: multiprocessing.util (imported at the
# top, so registered earlier) then joins what is left after this one has
# stopped the workers; its own handler would otherwise run first, terminate
# the daemonic workers and wait forever on any other.
_live_iterators: "weakref.WeakSet[_MultiProcessingDataLoaderIter]" = weakref.WeakSet()


def _shutdown_live_iterators() -> None:
    for it in list(_live_iterators):
        it._shutdown_workers()


atexit.register(_shutdown_live_iterators)


_JOIN_TIMEOUT = 2.0  # seconds the workers get to stop on their own at shutdown


def _describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "is not running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name} (exit code {code})"
    return f"exited with exit code {code}"


def _wait_for_feeder_threads(queues, timeout: float) -> None:
    """Wait (up to timeout seconds in all) until the feeder threads of the
    closed queues have exited, down to the operating system's thread.

    Closed, a queue's feeder thread ends at once (its pipe has no reader
    left, so no write can block it). A thread still exiting when the next
    loader forks its workers can leave a child an allocator lock that is
    never released, under a malloc that does not guard fork() (ASAN's in
    make asan: seen as a worker hung starting its own queue thread, while
    the exiting thread's allocator cache was being returned). So the wait
    covers the end of the thread itself, which comes after join() returns:
    on Linux, until its task is gone. multiprocessing's Queue keeps the
    thread in _thread (None until the first put)."""
    deadline = time.monotonic() + timeout
    for q in queues:
        feeder = getattr(q, "_thread", None)
        if feeder is None:
            continue
        feeder.join(timeout=max(deadline - time.monotonic(), 0.0))
        task = f"/proc/self/task/{feeder.native_id}"
        while os.path.exists(task) and time.monotonic() < deadline:
            time.sleep(0.0005)


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Batches fetched by num_workers processes (see the module docstring)."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._shutdown = True  # until the workers exist
        self._pid = os.getpid()  # a forked child's copy of this never shuts down
        self._prefetch_factor = loader.prefetch_factor
        self._persistent_workers = loader.persistent_workers
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._worker_result_queue = ctx.Queue()
        self._done_event = _worker.DoneFlag(ctx)
        self._index_queues: List[Any] = []
        self._workers: List[Any] = []
        _live_iterators.add(self)
        self._shutdown = False
        try:
            for i in range(self._num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()  # never block exit on unsent indices
                w = ctx.Process(
                    target=_worker.worker_loop,
                    args=(self._dataset, index_queue, self._worker_result_queue,
                          self._done_event, self._auto_collation, self._collate_fn,
                          self._drop_last, self._base_seed, loader.worker_init_fn, i,
                          self._num_workers, self._persistent_workers),
                    daemon=True)
                w.start()
                self._index_queues.append(index_queue)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        if not first_iter:
            super()._reset(loader)
        self._send_idx = 0  # the next batch index to hand to a worker
        self._rcvd_idx = 0  # the next batch index to yield
        # batch index -> (worker id,) while in flight, (worker id, data) once early
        self._task_info: Dict[int, tuple] = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # persistent workers: start the new epoch and wait until each has
            # seen it (results of the old epoch still in flight are dropped)
            for q in self._index_queues:
                q.put(ResumeIteration(self._base_seed))
            remaining = self._num_workers
            while remaining > 0:
                idx, _ = self._get_data()
                if isinstance(idx, ResumeIteration):
                    remaining -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            if not self._try_put_index():  # the sampler is exhausted
                break

    def _try_put_index(self) -> bool:
        """Hand the next batch's indices to a worker; False when there is
        none to hand out (the sampler or every worker's stream has ended)."""
        if self._tasks_outstanding >= self._prefetch_factor * self._num_workers:
            return True
        try:
            index = self._next_index()
        except StopIteration:
            return False
        for _ in range(self._num_workers):  # the next worker still running
            worker_id = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return False  # every worker has ended its stream (iterable dataset)
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1
        return True

    def _check_workers_alive(self) -> None:
        failed = [(i, w) for i, w in enumerate(self._workers)
                  if self._workers_status[i] and not w.is_alive()]
        if failed:
            what = "; ".join(f"DataLoader worker {i} (pid {w.pid}) {_describe_exit(w.exitcode)}"
                             for i, w in failed)
            self._shutdown_workers()
            raise RuntimeError(f"{what}. It died unexpectedly: look in its dataset, "
                               "collate_fn or worker_init_fn, or for the system killing it "
                               "(out of memory)")

    def _get_data(self):
        """The next (batch index, data) from any worker; RuntimeError when
        `timeout` (if any) passes first or a worker has died."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _worker.STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0.0))
            try:
                return self._worker_result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            self._check_workers_alive()
            if deadline is not None and time.monotonic() >= deadline:
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _next_data(self):
        if os.getpid() != self._pid:
            # its queues and workers are the parent's: reading would take
            # the parent's batches (and hang it)
            raise RuntimeError(f"DataLoader: this iterator's workers belong to process "
                               f"{self._pid}; a forked child (pid {os.getpid()}) cannot use "
                               "it: make a new iterator (iter(loader)) in the child")
        while True:
            # skip the tasks given to workers whose stream has ended
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._workers_status[info[0]]):
                    break
                if info is not None:  # its worker's stream ended: it never comes back
                    del self._task_info[self._rcvd_idx]
                    self._tasks_outstanding -= 1
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived early, buffered
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process_data(data)

            if self._shutdown:
                raise StopIteration
            idx, data = self._get_data()
            if isinstance(idx, ResumeIteration):
                continue  # a late answer to a resume (cannot happen once reset)
            self._tasks_outstanding -= 1
            if isinstance(data, IterableDatasetStopIteration):
                self._task_info.pop(idx, None)  # answered: no batch will come for it
                self._workers_status[data.worker_id] = False
                if not self._persistent_workers:
                    self._mark_worker_done(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)  # early: keep it until its turn
            else:
                del self._task_info[idx]
                self._rcvd_idx += 1
                return self._process_data(data)

    def _process_data(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            self._shutdown_workers()
            data.reraise()
        return data.load() if isinstance(data, Pickled) else data

    def _mark_worker_done(self, worker_id: int) -> None:
        """A worker whose stream ended: told to stop (it exits on its own)."""
        self._index_queues[worker_id].put(None)

    def _shutdown_workers(self) -> None:
        """Stop and join every worker (terminating any that does not stop
        in time), then close the queues. Safe to call more than once."""
        if getattr(self, "_shutdown", True) or os.getpid() != self._pid:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for q in self._index_queues:
                try:
                    q.put(None)
                except (OSError, ValueError):
                    pass
            # a worker notices the stop within STATUS_CHECK_INTERVAL, unless it
            # is busy in a fetch: it gets _JOIN_TIMEOUT (all workers together),
            # then SIGTERM, then SIGKILL
            deadline = time.monotonic() + _JOIN_TIMEOUT
            for w in self._workers:
                w.join(timeout=max(deadline - time.monotonic(), 0.0))
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=1.0)
                    if w.is_alive():
                        w.kill()
                        w.join()
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
            _wait_for_feeder_threads(self._index_queues, timeout=1.0)
        finally:
            _live_iterators.discard(self)

    def __del__(self) -> None:
        try:
            self._shutdown_workers()
        except Exception:  # at interpreter exit modules may be half torn down
            pass


__all__ = ["DataLoader"]
