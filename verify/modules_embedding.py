"""Module database entry of Embedding: weight rows at int64 indices
(NumPy fancy indexing), the default initialisation N(0, 1) (the padding
row then zeroed; the statistical test sees the other rows' normal values
and, with padding_idx, a zero row: so the padding variants are separate
samples of the same entry)."""
from __future__ import annotations

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .opdb import Tol

TOL = {"float32": Tol(rtol=0.0, atol=0.0), "float64": Tol(rtol=0.0, atol=0.0)}


def _idx(shape, n, repeat=False):
    def make(rng):
        if repeat:
            return (np.array([[0, 2, 2], [n - 1, 0, 2]], np.int64),)
        return (rng.integers(0, n, size=shape).astype(np.int64),)
    return make


def _samples():
    return [ModuleSample(ctor_args=(10, 3), ctor_kwargs={}, inputs=_idx((2, 4), 10), desc="(2, 4) indices",
                         grad=True),
            ModuleSample(ctor_args=(5, 3), ctor_kwargs={}, inputs=_idx(None, 5, repeat=True),
                         desc="repeated indices", grad=True),
            ModuleSample(ctor_args=(5, 3), ctor_kwargs={"padding_idx": 2}, inputs=_idx(None, 5, repeat=True),
                         desc="padding_idx=2", grad=False),
            ModuleSample(ctor_args=(5, 3), ctor_kwargs={"padding_idx": -1}, inputs=_idx((6,), 5),
                         desc="padding_idx=-1", grad=False),
            ModuleSample(ctor_args=(500, 40), ctor_kwargs={}, inputs=_idx((300,), 500),
                         desc="500 x 40 table (initialisation statistics)", grad=False)]


def _reference(params, inputs, sample, training):
    idx = np.asarray(inputs[0], np.int64)
    return params["weight"][idx]


MODULES = [
    ModuleInfo(name="Embedding", samples=_samples, reference=_reference, train_eval="same",
               init={"weight": lambda m: ("normal", 0.0, 1.0)}, tol=TOL),
]
