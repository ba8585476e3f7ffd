"""Helpers shared by the shape and indexing tests: tensors in several
memory layouts and an exact comparison against NumPy."""
import numpy as np

import tinyfin as tf

DTYPES = ["float32", "float64", "int64", "bool"]


def tt(data):
    """tinyfin.tensor(data) with data's exact shape (0-d included)."""
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype
        data = np.asarray(data)
    t = tf.tensor(data)
    shape = np.shape(data)
    return t if t.shape == shape else t.reshape(shape)


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype == "int64":
        return np.asarray(rng.integers(-50, 50, size=shape), dtype=np.int64)
    return np.asarray(rng.standard_normal(shape), dtype=dtype)


def layouts(arr):
    """(name, tensor) pairs holding arr's values in different memory layouts."""
    yield "contiguous", tt(arr)
    if arr.ndim >= 2:
        t = tt(np.ascontiguousarray(arr.T))
        yield "transposed", t.permute(*range(arr.ndim - 1, -1, -1))
    if arr.ndim >= 1:
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), arr.dtype)
        big[..., 1::2] = arr
        t = tt(big)[..., 1::2]
        assert not t.is_contiguous() or arr.shape[-1] <= 1
        yield "stepped", t


def check(result, expected):
    """result equals NumPy's expected exactly: shape, dtype and values."""
    assert isinstance(result, tf.Tensor)
    expected = np.asarray(expected)
    assert result.shape == expected.shape
    assert result.dtype.numpy == expected.dtype
    if expected.size:  # (size-0 views may sit past the end of their storage)
        np.testing.assert_array_equal(result.numpy(), expected)
