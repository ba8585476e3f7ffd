"""Module database entries of Dropout and Dropout2d: random in training
(random_in_train: the harness checks structure, not values), the identity
in eval (train_eval="differs"). The reference gives the eval output; in
training, the values must be 0 or x / (1 - p) (checked in
tests/test_nn_dropout.py with the statistics)."""
from __future__ import annotations

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .opdb import Tol

TOL = {"float32": Tol(rtol=1e-6, atol=0.0), "float64": Tol(rtol=1e-15, atol=0.0)}


def _samples(shape):
    def samples():
        x = lambda rng: (rng.standard_normal(shape),)  # noqa: E731
        return [ModuleSample(ctor_args=(), ctor_kwargs={}, inputs=x, desc="p=0.5", grad=False),
                ModuleSample(ctor_args=(0.2,), ctor_kwargs={}, inputs=x, desc="p=0.2", grad=False),
                ModuleSample(ctor_args=(0.3, True), ctor_kwargs={}, inputs=x, desc="p=0.3 inplace",
                             grad=False),
                ModuleSample(ctor_args=(), ctor_kwargs={"p": 0.0}, inputs=x, desc="p=0", grad=True)]
    return samples


def _reference(params, inputs, sample, training):
    """eval (and p = 0): the identity."""
    return np.asarray(inputs[0], np.float64)


MODULES = [
    ModuleInfo(name="Dropout", samples=_samples((4, 5)), reference=_reference,
               train_eval="differs", random_in_train=True, tol=TOL),
    ModuleInfo(name="Dropout2d", samples=_samples((2, 3, 4, 4)), reference=_reference,
               train_eval="differs", random_in_train=True, tol=TOL),
]
