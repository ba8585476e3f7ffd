"""OpInfo entries of the creation ops. Deterministic ones compare exactly
with NumPy; the random ones (rand, randn, randint and their _like forms)
are checked for shape, dtype, range and reproducibility under manual_seed
(`random=True`: their reference returns the expected shape's bounds)."""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from .opdb import ErrorInput, OpInfo, Sample, Tol

EXACT = {"float32": Tol(ulp=0), "float64": Tol(ulp=1)}
EXACT_DATA = {"float32": Tol(ulp=0), "float64": Tol(ulp=0)}


def _gen(specs):
    def gen(dtype, rng):
        return [Sample((), args=a, kwargs=dict(k, dtype=getattr(tf, dtype)),
                       desc=f"{a} {k}", grad=False) for a, k in specs]
    return gen


def _like(specs, other=None):
    """(shape, args) of the input and the op's arguments; then, given
    `other(dtype)`, the first again with dtype= that other dtype."""
    def gen(dtype, rng):
        out = [Sample((np.zeros(s, dtype),), args=a, desc=f"{s} {a}", grad=False)
               for s, a in specs]
        if other is not None:
            s, a = specs[0]
            out.append(Sample((np.zeros(s, dtype),), args=a, kwargs=dict(dtype=other(dtype)),
                              desc=f"{s} {a} dtype={other(dtype).name}", grad=False))
        return out
    return gen


def _other(dtype):
    """A dtype other than the input's, for the _like forms' dtype=."""
    return tf.float64 if dtype != "float64" else tf.int64


def _other_float(dtype):
    return tf.float64 if dtype != "float64" else tf.float32


def _npd(dtype):
    return None if dtype is None else dtype.numpy


def _size(s):
    """zeros(2, 3), zeros((2, 3)) and zeros([2, 3]) all mean shape (2, 3)."""
    return tuple(s[0]) if len(s) == 1 and isinstance(s[0], (tuple, list)) else s


def _number_dtype(*values):
    """PyTorch's dtype for Python numbers (full's fill value, arange's ends)."""
    return np.dtype(np.bool_ if all(isinstance(v, bool) for v in values) else
                    np.float32 if any(isinstance(v, float) for v in values) else np.int64)


def _inferred_samples(specs, row_dtype):
    """Samples without dtype= whose inferred dtype is this row's."""
    def gen(dtype, rng):
        return [Sample((), args=a, desc=f"{a} (inferred dtype)", grad=False)
                for a in specs if _number_dtype(*row_dtype(a)) == np.dtype(dtype)]
    return gen


def _arange_ref(*a, dtype=None):
    dt = _npd(dtype) or _number_dtype(*a)
    if dt.kind == "i":   # PyTorch converts start, end and step to the dtype first
        a = tuple(int(v) for v in a)
    return np.arange(*a).astype(dt)


FLOAT_BOUNDS = "float bounds"


def _float_bounds(dtype, rng):
    """arange with float start, end or step in an explicit dtype."""
    args = [(1, 2.5), (0.5, 3.0), (-1.5, 2, 1)] if dtype == "int64" else [(0.5, 3, 0.5), (-1, 1, 0.25)]
    return [Sample((), args=a, kwargs=dict(dtype=getattr(tf, dtype)), desc=f"{FLOAT_BOUNDS} {a}",
                   grad=False) for a in args]


def _plus(*gens):
    return lambda dtype, rng: [s for g in gens for s in g(dtype, rng)]


def _entry(name, call, ref, samples, dtypes=("float32", "float64", "int64"),
           random=False, errors=(), tol=None, wide_int_args=()):
    return OpInfo(name, call, ref, "creation", dtypes=dtypes, samples=samples,
                  random=random, tol=tol or dict(EXACT), methods=(),
                  errors=lambda: list(errors), wide_int_args=wide_int_args)


def _npdt(k):
    return k["dtype"].numpy


# ---- tensor() and as_tensor() from Python data ---------------------------------
# The reference is NumPy building the same data in the same dtype,
# np.array(data, dtype): each Python number converted once, exactly where the
# dtype holds it. Without dtype=, PyTorch's inference: bools alone give bool,
# any float gives float32 (the default dtype), else int64.
def _inferred(data) -> np.dtype:
    kinds = set()

    def walk(d):
        if isinstance(d, (list, tuple)):
            for e in d:
                walk(e)
        else:
            kinds.add(bool if isinstance(d, (bool, np.bool_)) else
                      int if isinstance(d, (int, np.integer)) else float)
    walk(data)
    return np.dtype(np.float32 if float in kinds or not kinds else
                    np.int64 if int in kinds else np.bool_)


def _data_ref(data, dtype=None, requires_grad=False, device="cpu"):
    if isinstance(data, tf.Tensor):
        data = data.detach().numpy()
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data, dtype.numpy if dtype is not None else None)
    with np.errstate(all="ignore"):
        return np.array(data, dtype.numpy if dtype is not None else _inferred(data))


# Data that every dtype holds as NumPy does; then Python floats that float32
# does not hold (0.1, 1e300, 2^24 + 1), which must not be rounded through
# float32 on their way to float64, int64 or bool.
_DATA = [[1.5, -2.0, 3.0], [[1, 2], [3, 4]], 2.5, 7, True, [], [[]], [1, 2.5, True], [True, 2],
         [[True, False], [False, True]], (1, 2), [-0.0, 0.5], [[[1.0]], [[-4.0]]],
         [2 ** 40 + 1, -(2 ** 53) - 1]]
_FLOAT_DATA = [[float("nan"), float("inf"), -float("inf")]]
_BEYOND_F32 = {"float64": [[0.1, 1 / 3, -1e300, 1e-40, 16777217.0], 0.1, [16777217, 0.5]],
               "int64": [[16777217.0, 123456789.7, -2.5]],
               "bool": [[1e-50, 0.0, -1e-46]]}
BEYOND_F32 = "python floats beyond float32"


def _data_samples(op_name):
    """Each data in this row's dtype (dtype=), and without dtype= the data
    whose inferred dtype is this row's; as_tensor also gets tensors."""
    def gen(dtype, rng):
        dt = getattr(tf, dtype)
        plain = [d for d in _DATA if dtype != "int64" or d != [-0.0, 0.5]]
        out = [Sample((), args=(d,), kwargs=dict(dtype=dt), desc=f"{d!r}", grad=False)
               for d in plain + (_FLOAT_DATA if dtype in ("float32", "float64", "bool") else [])]
        out += [Sample((), args=(d,), desc=f"{d!r} (inferred)", grad=False)
                for d in _DATA if _inferred(d) == np.dtype(dtype)]
        out += [Sample((), args=(d,), kwargs=dict(dtype=dt), desc=f"{BEYOND_F32}: {d!r}",
                       grad=False) for d in _BEYOND_F32.get(dtype, [])]
        out.append(Sample((), args=(np.float64(0.1),), desc="a NumPy scalar keeps its dtype",
                          grad=False))
        source = tf.tensor([[1, 0], [3, -2]]).to(dt)
        out.append(Sample((), args=(source,), desc="a tensor", grad=False))
        if op_name == "as_tensor":
            other = tf.float64 if dtype != "float64" else tf.int64
            out.append(Sample((), args=(source,), kwargs=dict(dtype=other),
                              desc=f"a tensor to {other.name}", grad=False))
        else:
            out.append(Sample((), args=([0.5, 2.0],), kwargs=dict(requires_grad=dtype in (
                "float32", "float64"), dtype=dt), desc="requires_grad", grad=False))
        return out
    return gen


ENTRIES = [
    _entry("tensor", lambda *a, **k: tf.tensor(*a, **k), _data_ref, _data_samples("tensor"),
           dtypes=("float32", "float64", "int64", "bool"), tol=dict(EXACT_DATA),
           wide_int_args=("argument 0",)),  # ints of a float tensor's data
    _entry("as_tensor", lambda *a, **k: tf.as_tensor(*a, **k), _data_ref,
           _data_samples("as_tensor"), dtypes=("float32", "float64", "int64", "bool"),
           tol=dict(EXACT_DATA), wide_int_args=("argument 0",)),
    _entry("from_numpy", lambda x: tf.from_numpy(x), lambda x: x,
           lambda dt, rng: [Sample((), args=(np.arange(6, dtype=dt).reshape(2, 3),),
                                   desc="2x3", grad=False)]),
    _entry("full", lambda *a, **k: tf.full(*a, **k),
           lambda s, v, dtype=None: np.full(s, v, _npd(dtype) or _number_dtype(v)),
           _plus(_gen([(((2, 3), 7), {}), (((), 2), {})]),
                 _inferred_samples([((2, 3), 7), ((2,), 2.5), ((3, 1), True)], lambda a: a[1:])),
           dtypes=("float32", "float64", "int64", "bool"),
           errors=[ErrorInput("negative size", lambda: tf.full((-1,), 1.0), ValueError, "full")]),
    _entry("zeros", lambda *a, **k: tf.zeros(*a, **k), lambda *s, dtype: np.zeros(_size(s), dtype.numpy),
           _gen([((2, 3), {}), ((0,), {}), (((2, 3),), {}), (([4, 1],), {})])),
    _entry("ones", lambda *a, **k: tf.ones(*a, **k), lambda *s, dtype: np.ones(_size(s), dtype.numpy),
           _gen([((2, 3), {}), ((), {}), (((3,),), {})])),
    _entry("empty", lambda *a, **k: tf.empty(*a, **k).zero_(),
           lambda *s, dtype: np.zeros(s, dtype.numpy), _gen([((2, 3), {})])),
    _entry("zeros_like", tf.zeros_like, lambda x, dtype=None: np.zeros_like(x, _npd(dtype)),
           _like([((2, 3), ())], _other)),
    _entry("ones_like", tf.ones_like, lambda x, dtype=None: np.ones_like(x, _npd(dtype)),
           _like([((2, 3), ())], _other)),
    _entry("empty_like", lambda x, **k: tf.empty_like(x, **k).zero_(),
           lambda x, dtype=None: np.zeros_like(x, _npd(dtype)), _like([((2, 3), ())], _other)),
    _entry("full_like", tf.full_like, lambda x, v, dtype=None: np.full_like(x, v, _npd(dtype)),
           _like([((2, 3), (4,))], _other)),
    _entry("arange", lambda *a, **k: tf.arange(*a, **k), _arange_ref,
           _plus(_gen([((5,), {}), ((1, 10, 3), {}), ((0,), {}), ((5, 0, -1), {})]),
                 _float_bounds,
                 _inferred_samples([(5,), (5, 0, -2), (0.5, 3, 0.5), (1, 2.5)], lambda a: a)),
           errors=[ErrorInput("zero step", lambda: tf.arange(0, 5, 0), ValueError, "arange"),
                   ErrorInput("a float step that truncates to 0",
                              lambda: tf.arange(0.5, 3, 0.5, dtype=tf.int64), ValueError,
                              r"arange: .*step")]),
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
    _entry("rand_like", tf.rand_like, lambda x, dtype=None: (x.shape, 0.0, 1.0),
           _like([((4, 5), ())], _other_float), dtypes=("float32", "float64"), random=True),
    _entry("randn_like", tf.randn_like, lambda x, dtype=None: (x.shape, -10.0, 10.0),
           _like([((4, 5), ())], _other_float), dtypes=("float32", "float64"), random=True),
    _entry("randint_like", tf.randint_like, lambda x, lo, hi, dtype=None: (x.shape, lo, hi - 1),
           _like([((4, 5), (3, 7))], lambda dt: tf.float64), dtypes=("int64",), random=True),
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
