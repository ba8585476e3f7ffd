"""Datasets, as torch.utils.data.dataset: a map-style `Dataset` (indexed by
__getitem__, sized by __len__), an `IterableDataset` (a stream, __iter__),
and the ways of building one from others: `TensorDataset`, `Subset`,
`ConcatDataset`, `ChainDataset`, `random_split`."""
from __future__ import annotations

import bisect
import math
import warnings
from itertools import accumulate
from typing import Generic, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

from ..._generator import Generator
from ...tensor import Tensor
from . import _random

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map from keys (usually 0..len-1) to samples. Subclasses define
    __getitem__ and, for the default samplers, __len__. `a + b` is
    ConcatDataset([a, b])."""

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset[T_co]") -> "ConcatDataset[T_co]":
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable[T_co]):
    """A stream of samples: subclasses define __iter__. Under a DataLoader
    with workers each worker iterates its own copy, so a dataset that is not
    to yield duplicates shards itself by `get_worker_info()` (id and
    num_workers). `a + b` is ChainDataset([a, b])."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset[T_co]) -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension:
    dataset[i] == tuple(t[i] for t in tensors)."""

    def __init__(self, *tensors: Tensor) -> None:
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected tinyfin Tensors, got "
                                f"{type(t).__name__} at position {i}")
            if t.dim() == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; each tensor "
                                 "needs a first dimension to index samples by")
        # PyTorch checks this with an assert; the same type and message, but
        # raised explicitly so that `python -O` keeps the check
        if any(t.size(0) != tensors[0].size(0) for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0) if self.tensors else 0


class Subset(Dataset[T_co]):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: List[int]) -> list:
        # a batch fetch goes to the dataset's own __getitems__ when it has one
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """Map-style datasets one after another: index i falls in the first
    dataset whose cumulative size exceeds it (a binary search over
    `cumulative_sizes`); a negative index counts from the end."""

    @staticmethod
    def cumsum(sequence) -> List[int]:
        sizes, total = [], 0
        for e in sequence:
            total += len(e)
            sizes.append(total)
        return sizes

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if not isinstance(idx, int) and hasattr(idx, "__index__"):
            idx = idx.__index__()
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a "
                             f"dataset of length {len(self)}")
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (chained lazily)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


def _split_lengths(n: int, lengths: Sequence[Union[int, float]]) -> List[int]:
    """Fractions summing to 1 become counts as PyTorch 2 makes them:
    floor(n * f) each, then the remainder handed out one at a time,
    round-robin from the first split."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, length in enumerate(counts):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. "
                              "This might result in an empty dataset.")
        return counts
    return list(lengths)


def random_split(dataset: Dataset[T_co], lengths: Sequence[Union[int, float]],
                 generator: Optional[Generator] = None) -> List[Subset[T_co]]:
    """Non-overlapping random Subsets of the given lengths (ints summing to
    len(dataset), or fractions summing to 1). The permutation comes from
    `generator` (None: tinyfin's default generator)."""
    counts = _split_lengths(len(dataset), lengths)
    if sum(counts) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = _random.randperm(sum(counts), generator)
    return [Subset(dataset, indices[offset - length:offset])
            for offset, length in zip(accumulate(counts), counts)]
