"""Samplers, as torch.utils.data.sampler: iterables of dataset keys (or,
for BatchSampler, of lists of keys) that a DataLoader fetches.

Randomness comes from tinyfin generators only (see _random.py for how a
permutation and a weighted draw are built from uniform draws). A sampler
given no generator draws a fresh seed from tinyfin's default generator at
each __iter__ (each epoch), as PyTorch's RandomSampler does, so
`tinyfin.manual_seed(s)` fixes every epoch's order and successive epochs
differ."""
from __future__ import annotations

from typing import Generic, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

import numpy as np

from ..._generator import Generator
from . import _random

T_co = TypeVar("T_co", covariant=True)


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_positive_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not _is_bool(value) and value > 0


class Sampler(Generic[T_co]):
    """Base class: subclasses define __iter__ (and __len__ where it is known)."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _epoch_generator(generator: Optional[Generator]) -> Generator:
    """The generator to draw an epoch from: the one given, or a fresh one
    seeded by a draw from tinyfin's default generator."""
    if generator is not None:
        return generator
    return _random.generator_from_seed(_random.draw_seed(None))


class RandomSampler(Sampler[int]):
    """Random keys of data_source. Without replacement: whole permutations
    (num_samples > len gives several, the last one cut short); with
    replacement: num_samples keys uniform in [0, len)."""

    def __init__(self, data_source, replacement: bool = False,
                 num_samples: Optional[int] = None,
                 generator: Optional[Generator] = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not _is_bool(self.replacement):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not _is_positive_int(self.num_samples):
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError("RandomSampler: generator must be a tinyfin.Generator, got "
                            f"{type(generator).__name__}")

    @property
    def num_samples(self) -> int:
        # computed when asked: the data source may change size
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        g = _epoch_generator(self.generator)
        if self.replacement:
            # in chunks of 32 as PyTorch, so a partly consumed epoch draws little
            for _ in range(self.num_samples // 32):
                yield from _random.randint(n, 32, g)
            yield from _random.randint(n, self.num_samples % 32, g)
        else:
            for _ in range(self.num_samples // n):
                yield from _random.randperm(n, g)
            yield from _random.randperm(n, g)[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order (a new one each epoch), drawn
    from `generator` (None: tinyfin's default generator directly)."""

    def __init__(self, indices: Sequence[int], generator: Optional[Generator] = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _random.randperm(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


def _multinomial(weights: np.ndarray, num_samples: int, replacement: bool,
                 generator: Optional[Generator]) -> List[int]:
    """torch.multinomial's distribution, with its errors, from tinyfin
    uniforms: with replacement, the inverse CDF of the normalised weights at
    each uniform; without, the keys -log(u) / w sorted ascending (exponential
    races: the first key is drawn with probability w_i / sum w, the next
    among the rest likewise, the order multinomial returns)."""
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = weights.sum()
    if not total > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > np.count_nonzero(weights):
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (n_sample={num_samples}, nonzero weights="
                           f"{np.count_nonzero(weights)})")
    u = _random.uniform(num_samples if replacement else weights.size, generator)
    if replacement:
        cdf = np.cumsum(weights / total)
        # u in [0, 1): the first index whose CDF exceeds u, never one of weight 0
        picks = np.searchsorted(cdf, u * cdf[-1], side="right")
        return np.minimum(picks, weights.size - 1).tolist()
    with np.errstate(divide="ignore"):
        keys = -np.log1p(-u) / weights  # -log(1 - u) > 0 for u in [0, 1); w = 0 -> inf
    return np.argsort(keys, kind="stable")[:num_samples].tolist()


class WeightedRandomSampler(Sampler[int]):
    """Keys 0..len(weights)-1 drawn with probability proportional to weights
    (with or without replacement)."""

    def __init__(self, weights: Sequence[float], num_samples: int,
                 replacement: bool = True, generator: Optional[Generator] = None) -> None:
        if not _is_positive_int(num_samples):
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not _is_bool(replacement):
            raise ValueError("replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = bool(replacement)
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        yield from _multinomial(self.weights, self.num_samples, self.replacement,
                                self.generator)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[List[int]]):
    """Lists of batch_size keys from `sampler`; the last one shorter unless
    drop_last."""

    def __init__(self, sampler: Union[Sampler[int], Iterable[int]], batch_size: int,
                 drop_last: bool) -> None:
        if not _is_positive_int(batch_size):
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not _is_bool(drop_last):
            raise ValueError("drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def __iter__(self) -> Iterator[List[int]]:
        batch: List[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
