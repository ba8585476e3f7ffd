"""tinyfin.Generator: a seed and a Philox counter in the C core.

Every random op (rand, randn, randint, dropout, nn.init, shuffling) takes
`generator=`; None is the default generator behind tinyfin.manual_seed. A
draw reserves its counters of the generator it was given, so the numbers
depend only on the seed and on the order of the draws on that generator,
never on the machine, the backend or the thread count."""
from __future__ import annotations

import os
from ctypes import byref, c_uint64
from typing import Optional

from . import _C
from ._args import INT64_MIN, as_int
from ._device import CPU, check_device

_U64 = 2 ** 64


def _seed_arg(op: str, seed) -> int:
    """Seeds are 64-bit: [-2^63, 2^64); a negative seed is taken modulo 2^64,
    as PyTorch does."""
    return as_int(op, "seed", seed, INT64_MIN, _U64 - 1) % _U64


class Generator:
    """A random-number generator of its own: `Generator().manual_seed(0)`
    draws what `tinyfin.manual_seed(0)` makes the default generator draw."""

    def __init__(self, device=None) -> None:
        self.device = check_device("Generator", device if device is not None else CPU)
        self._g = _C.tf_generator_new(0)
        if not self._g:
            raise MemoryError("Generator: out of memory")
        self._owned = True
        self.manual_seed(67280421310721)  # the default generator's first seed

    @classmethod
    def _default(cls) -> "Generator":
        g = cls.__new__(cls)
        g.device, g._g, g._owned = CPU, None, False  # NULL: the C default generator
        return g

    def __del__(self) -> None:
        if getattr(self, "_owned", False) and self._g:
            _C.tf_generator_free(self._g)
            self._g = None

    def manual_seed(self, seed: int) -> "Generator":
        _C.tf_generator_manual_seed(self._g, _seed_arg("manual_seed", seed))
        return self

    def seed(self) -> int:
        """A fresh non-deterministic seed (from the OS), set and returned."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return _C.tf_generator_initial_seed(self._g)

    def get_state(self) -> tuple:
        """(seed, next counter): set_state of it resumes the stream exactly."""
        seed, counter = c_uint64(), c_uint64()
        _C.tf_generator_get_state(self._g, byref(seed), byref(counter))
        return seed.value, counter.value

    def set_state(self, state: tuple) -> "Generator":
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError("set_state: expected the (seed, counter) tuple that "
                            f"get_state returns, got {state!r}")
        seed = as_int("set_state", "seed", state[0], 0, _U64 - 1)
        counter = as_int("set_state", "counter", state[1], 0, _U64 - 1)
        _C.tf_generator_set_state(self._g, seed, counter)
        return self

    def __getstate__(self):
        return {"state": self.get_state(), "default": not self._owned}

    def __setstate__(self, d) -> None:
        self.device = CPU
        if d["default"]:
            self._g, self._owned = None, False
        else:
            self._g, self._owned = _C.tf_generator_new(0), True
            self.set_state(d["state"])

    def __repr__(self) -> str:
        return f"<tinyfin.Generator seed={self.initial_seed()}>"


default_generator = Generator._default()


def handle_of(op: str, generator: Optional[Generator]):
    """The C generator behind `generator=` (None: the default one)."""
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be a tinyfin.Generator, got "
                        f"{type(generator).__name__}")
    return generator._g


def manual_seed(seed: int) -> Generator:
    """Seed the default generator; returns it, as PyTorch does."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> tuple:
    return default_generator.get_state()


def set_rng_state(state: tuple) -> None:
    default_generator.set_state(state)
