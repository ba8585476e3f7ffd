"""The random draws of the data pipeline, all from tinyfin generators.

tinyfin has no randperm or multinomial op; these build them from its
uniform draws, so the numbers depend only on the generator's seed and the
order of the draws (never on NumPy's or the machine's RNG):

- `randperm(n, g)`: n float64 uniforms from `g`, and the permutation that
  sorts them (NumPy's stable argsort; a tie, which has probability about
  n^2 / 2^54, keeps index order).
- `draw_seed(g)`: one 63-bit integer from `g`, as PyTorch's samplers draw
  `torch.empty((), dtype=torch.int64).random_()` to seed a fresh generator.

The streams are not PyTorch's (its RNG differs), only their roles are."""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from ... import creation
from ... import dtypes as _dtypes
from ..._generator import Generator

_SEED_HIGH = 2 ** 63 - 1


def randperm(n: int, generator: Optional[Generator] = None) -> List[int]:
    """A uniformly random permutation of range(n) as a list of ints."""
    if n == 0:
        return []
    keys = creation.rand(n, dtype=_dtypes.float64, generator=generator).numpy()
    return np.argsort(keys, kind="stable").tolist()


def randint(high: int, size: int, generator: Optional[Generator] = None) -> List[int]:
    """`size` integers uniform in [0, high)."""
    if size == 0:
        return []
    return creation.randint(0, high, (size,), generator=generator).numpy().tolist()


def uniform(size: int, generator: Optional[Generator] = None) -> np.ndarray:
    """`size` float64 uniforms in [0, 1) as a NumPy array."""
    return creation.rand(size, dtype=_dtypes.float64, generator=generator).numpy()


def draw_seed(generator: Optional[Generator] = None) -> int:
    """One seed in [0, 2^63 - 1) drawn from `generator` (None: tinyfin's
    default generator, the one tinyfin.manual_seed sets)."""
    return int(creation.randint(0, _SEED_HIGH, (), generator=generator).item())


def generator_from_seed(seed: int) -> Generator:
    return Generator().manual_seed(seed)
