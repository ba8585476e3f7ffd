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
           random=False, errors=(), tol=None, wide_int_args=()):
    return OpInfo(name, call, ref, "creation", dtypes=dtypes, samples=samples,
                  random=random, tol=tol or dict(EXACT), methods=(),
                  errors=lambda: list(errors), wide_int_args=wide_int_args)


def _npdt(k):
    return k["dtype"].numpy


ENTRIES = [
    _entry("tensor", lambda *a, **k: tf.tensor(*a, **k),
           lambda *a, **k: np.asarray(a[0], _npdt(k)),
           _gen([(([1.5, -2.0, 3.0],), {}), (([[1, 2], [3, 4]],), {}), ((2.5,), {}), (([],), {})]),
           wide_int_args=("argument 0",)),  # ints of a float tensor's data
    _entry("as_tensor", lambda *a, **k: tf.as_tensor(*a, **k),
           lambda *a, **k: np.asarray(a[0], _npdt(k)), _gen([(([1.0, 2.0],), {})]),
           wide_int_args=("argument 0",)),
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


# ---- error inputs: bad data, bad sizes (negative, not ints), unknown or
# unsuitable dtypes, a non-tensor given to a _like form, empty ranges. Each
# message names the op called (not the creator it delegates to).
def E(desc, make, exc, match):
    return ErrorInput(desc, make, exc, match)


def _size_errors(name):
    f = getattr(tf, name)
    return [E("negative size", lambda: f(2, -1), ValueError,
              rf"{name}: negative dimension in size \(2, -1\)"),
            E("float size", lambda: f(2.5), TypeError,
              rf"{name}: size must be a sequence of ints, got \(2\.5,\)"),
            E("unknown dtype", lambda: f(2, dtype="float16"), TypeError,
              rf"{name}: unknown dtype 'float16'; expected one of")]


def _like_errors(name, *args):
    f = getattr(tf, name)
    return [E("non-tensor input", lambda: f([1.0, 2.0], *args), TypeError,
              rf"{name}: expected a Tensor as input, got list"),
            E("unknown dtype", lambda: f(tf.ones(2), *args, dtype="half"), TypeError,
              rf"{name}: unknown dtype 'half'")]


def _random_float_errors(name):
    f = getattr(tf, name)
    return [E("negative size", lambda: f(3, -1), ValueError,
              rf"{name}: negative dimension in size \(3, -1\)"),
            E("int64 dtype", lambda: f(3, dtype=tf.int64), TypeError,
              rf"{name}: expected a float32 or float64 dtype, got int64")]


def _random_like_errors(name):
    f = getattr(tf, name)
    return [E("int64 input", lambda: f(tf.tensor([1, 2])), TypeError,
              rf"{name}: expected a float32 or float64 dtype, got int64"),
            E("non-tensor input", lambda: f([1.0]), TypeError,
              rf"{name}: expected a Tensor as input, got list")]


_ERRORS = {
    "tensor": lambda: [
        E("ragged lists", lambda: tf.tensor([[1, 2], [3]]), ValueError,
          r"tensor: expected sequence of length 2 at dim 1 \(got 1\)"),
        E("ragged deeper", lambda: tf.tensor([[[1, 2], [3, 4]], [[1, 2], [3]]]), ValueError,
          r"tensor: expected sequence of length 2 at dim 2 \(got 1\)"),
        E("a number where a list belongs", lambda: tf.tensor([[1, 2], 3]), TypeError,
          r"tensor: expected a sequence at dim 1, got int 3"),
        E("an int beyond int64", lambda: tf.tensor([1, 2 ** 64]), OverflowError,
          r"tensor: the integer 18446744073709551616 does not fit in int64"),
        E("strings", lambda: tf.tensor(["a", "b"]), TypeError,
          r"tensor: could not infer a dtype from an element of type str"),
        E("unknown dtype", lambda: tf.tensor([1.0], dtype="float16"), TypeError,
          r"tensor: unknown dtype 'float16'")],
    "as_tensor": lambda: [
        E("ragged lists", lambda: tf.as_tensor([[1, 2], [3]]), ValueError,
          r"as_tensor: expected sequence of length 2 at dim 1 \(got 1\)"),
        E("a string", lambda: tf.as_tensor("abc"), TypeError,
          r"as_tensor: could not infer a dtype from an element of type str"),
        E("unknown dtype", lambda: tf.as_tensor(tf.ones(2), dtype="float16"), TypeError,
          r"as_tensor: unknown dtype 'float16'")],
    "from_numpy": lambda: [
        E("a list", lambda: tf.from_numpy([1.0, 2.0]), TypeError,
          r"from_numpy: expected a numpy\.ndarray, got list"),
        E("complex array", lambda: tf.from_numpy(np.zeros(2, np.complex64)), TypeError,
          r"from_numpy: NumPy dtype complex64 is not supported")],
    "zeros": lambda: _size_errors("zeros"),
    "ones": lambda: _size_errors("ones"),
    "empty": lambda: _size_errors("empty"),
    "zeros_like": lambda: _like_errors("zeros_like"),
    "ones_like": lambda: _like_errors("ones_like"),
    "empty_like": lambda: _like_errors("empty_like"),
    "full_like": lambda: _like_errors("full_like", 4) + [
        E("string fill value", lambda: tf.full_like(tf.ones(2), "a"), TypeError,
          r"full_like: fill_value must be a number, got str")],
    "linspace": lambda: [
        E("negative steps", lambda: tf.linspace(0, 1, -1), ValueError,
          r"linspace: number of steps must be non-negative, got -1"),
        E("float steps", lambda: tf.linspace(0, 1, 2.5), TypeError,
          r"linspace: steps must be an int, got 2\.5"),
        E("int64 dtype", lambda: tf.linspace(0, 1, 3, dtype=tf.int64), TypeError,
          r"linspace: expected a float32 or float64 dtype, got int64")],
    "eye": lambda: [
        E("negative n", lambda: tf.eye(-1), ValueError,
          r"eye: n and m must be non-negative, got -1 and -1"),
        E("float n", lambda: tf.eye(2.5), TypeError, r"eye: n must be an int, got 2\.5")],
    "rand": lambda: _random_float_errors("rand"),
    "randn": lambda: _random_float_errors("randn"),
    "randint": lambda: [
        E("low >= high", lambda: tf.randint(5, 5, (3,)), ValueError,
          r"randint: high \(5\) must be greater than low \(5\)"),
        E("no size", lambda: tf.randint(5), TypeError, r"randint: size is required"),
        E("float high", lambda: tf.randint(0, 5.5, (3,)), TypeError,
          r"randint: high must be an int, got 5\.5")],
    "rand_like": lambda: _random_like_errors("rand_like"),
    "randn_like": lambda: _random_like_errors("randn_like"),
    "randint_like": lambda: [
        E("low >= high", lambda: tf.randint_like(tf.ones(2), 3, 3), ValueError,
          r"randint_like: high \(3\) must be greater than low \(3\)"),
        E("non-tensor input", lambda: tf.randint_like([1.0], 0, 5), TypeError,
          r"randint_like: expected a Tensor as input, got list")],
}
for _e in ENTRIES:
    if _e.name in _ERRORS:
        _e.errors = _ERRORS[_e.name]
