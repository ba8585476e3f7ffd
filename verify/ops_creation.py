"""OpInfo entries of the creation ops. Deterministic ones compare exactly
with NumPy; the random ones (rand, randn, randint and their _like forms)
are checked for shape, dtype, range and reproducibility under manual_seed
(`random=True`: their reference returns the expected shape's bounds)."""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from .opdb import ErrorInput, OpInfo, Sample, Tol

EXACT = {"float32": Tol(ulp=0), "float64": Tol(ulp=1)}


def _gen(specs):
    def gen(dtype, rng):
        return [Sample((), args=a, kwargs=dict(k, dtype=getattr(tf, dtype)),
                       desc=f"{a} {k}", grad=False) for a, k in specs]
    return gen


def _like(specs):
    def gen(dtype, rng):
        return [Sample((np.zeros(s, dtype),), args=a, desc=f"{s} {a}", grad=False)
                for s, a in specs]
    return gen


def _entry(name, call, ref, samples, dtypes=("float32", "float64", "int64"),
           random=False, errors=(), tol=None):
    return OpInfo(name, call, ref, "creation", dtypes=dtypes, samples=samples,
                  random=random, tol=tol or dict(EXACT), methods=(),
                  errors=lambda: list(errors))


def _npdt(k):
    return k["dtype"].numpy


ENTRIES = [
    _entry("tensor", lambda *a, **k: tf.tensor(*a, **k),
           lambda *a, **k: np.asarray(a[0], _npdt(k)),
           _gen([(([1.5, -2.0, 3.0],), {}), (([[1, 2], [3, 4]],), {}), ((2.5,), {}), (([],), {})])),
    _entry("as_tensor", lambda *a, **k: tf.as_tensor(*a, **k),
           lambda *a, **k: np.asarray(a[0], _npdt(k)), _gen([(([1.0, 2.0],), {})])),
    _entry("from_numpy", lambda x: tf.from_numpy(x), lambda x: x,
           lambda dt, rng: [Sample((), args=(np.arange(6, dtype=dt).reshape(2, 3),),
                                   desc="2x3", grad=False)]),
    _entry("full", lambda *a, **k: tf.full(*a, **k),
           lambda s, v, dtype: np.full(s, v, dtype.numpy), _gen([(((2, 3), 7), {}), (((), 2), {})]),
           errors=[ErrorInput("negative size", lambda: tf.full((-1,), 1.0), ValueError, "full")]),
    _entry("zeros", lambda *a, **k: tf.zeros(*a, **k), lambda *s, dtype: np.zeros(s, dtype.numpy),
           _gen([((2, 3), {}), ((0,), {})])),
    _entry("ones", lambda *a, **k: tf.ones(*a, **k), lambda *s, dtype: np.ones(s, dtype.numpy),
           _gen([((2, 3), {}), ((), {})])),
    _entry("empty", lambda *a, **k: tf.empty(*a, **k).zero_(),
           lambda *s, dtype: np.zeros(s, dtype.numpy), _gen([((2, 3), {})])),
    _entry("zeros_like", tf.zeros_like, np.zeros_like, _like([((2, 3), ())])),
    _entry("ones_like", tf.ones_like, np.ones_like, _like([((2, 3), ())])),
    _entry("empty_like", lambda x: tf.empty_like(x).zero_(), np.zeros_like, _like([((2, 3), ())])),
    _entry("full_like", tf.full_like, lambda x, v: np.full_like(x, v), _like([((2, 3), (4,))])),
    _entry("arange", lambda *a, **k: tf.arange(*a, **k),
           lambda *a, dtype: np.arange(*a).astype(dtype.numpy),
           _gen([((5,), {}), ((1, 10, 3), {}), ((0,), {})]),
           errors=[ErrorInput("zero step", lambda: tf.arange(0, 5, 0), ValueError, "arange")]),
    _entry("linspace", lambda *a, **k: tf.linspace(*a, **k),
           lambda *a, dtype: np.linspace(*a).astype(dtype.numpy),
           _gen([((0.0, 1.0, 5), {}), ((-2.0, 3.0, 1), {})]), dtypes=("float32", "float64")),
    _entry("eye", lambda *a, **k: tf.eye(*a, **k), lambda *a, dtype: np.eye(*a, dtype=dtype.numpy),
           _gen([((3,), {}), ((2, 4), {})])),
    # random: reference gives (shape, low, high) -- see checks/forward.py
    _entry("rand", lambda *a, **k: tf.rand(*a, **k), lambda *s, dtype: (s, 0.0, 1.0),
           _gen([((100, 3), {})]), dtypes=("float32", "float64"), random=True),
    _entry("randn", lambda *a, **k: tf.randn(*a, **k), lambda *s, dtype: (s, -10.0, 10.0),
           _gen([((100, 3), {})]), dtypes=("float32", "float64"), random=True),
    _entry("randint", lambda *a, **k: tf.randint(*a, **k), lambda lo, hi, s, dtype: (s, lo, hi - 1),
           _gen([((2, 9, (50,)), {})]), dtypes=("int64",), random=True),
    _entry("rand_like", tf.rand_like, lambda x: (x.shape, 0.0, 1.0), _like([((4, 5), ())]),
           dtypes=("float32", "float64"), random=True),
    _entry("randn_like", tf.randn_like, lambda x: (x.shape, -10.0, 10.0), _like([((4, 5), ())]),
           dtypes=("float32", "float64"), random=True),
    _entry("randint_like", tf.randint_like, lambda x, lo, hi: (x.shape, lo, hi - 1),
           _like([((4, 5), (3, 7))]), dtypes=("int64",), random=True),
]
