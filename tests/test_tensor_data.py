"""Tensors built from Python data are exact, and one conversion rule holds
for tensor(), full(), fill_ and .to().

Before: tensor([0.1], dtype=float64) went through float32 (0.10000000149),
tensor([1e300], dtype=float64) was inf, arange(0.5, 3.7, 0.9, dtype=int64)
was zeros, full((2,), 0.5, dtype=bool) was False while .to(bool) of 0.5 is
True, and inf became INT64_MIN in tensor(), 0 in full() and INT64_MAX in
.to(). References: NumPy float64 (exact for Python floats), mpmath at 24
bits for the float32 rounding of large ints, and the documented rule.
"""
import math

import mpmath
import numpy as np
import pytest

import tinyfin as tf

I64_MIN, I64_MAX = -(2 ** 63), 2 ** 63 - 1
EDGE_FLOATS = [0.1, -0.0, 1e300, -1e300, 5e-324, 2.2250738585072014e-308,
               1.7976931348623157e308, 1 / 3, math.pi, 3.4028235677973366e38]


def _bits(t):
    return t.numpy().view(np.uint64 if t.dtype is tf.float64 else np.uint32)


def test_float64_data_is_taken_exactly():
    want = np.array(EDGE_FLOATS, np.float64)
    for make in (tf.tensor, tf.as_tensor):
        got = make(EDGE_FLOATS, dtype=tf.float64)
        assert got.dtype is tf.float64
        assert np.array_equal(_bits(got), want.view(np.uint64))
    nested = [[0.1, 0.2], [0.3, 1e300]]
    assert tf.tensor(nested, dtype=tf.float64).tolist() == nested
    assert tf.tensor(0.1, dtype=tf.float64).item() == 0.1


def test_float32_data_rounds_once_from_the_exact_value():
    rng = np.random.default_rng(5)
    values = list(rng.standard_normal(500) * 10.0 ** rng.integers(-40, 40, 500))
    values += EDGE_FLOATS
    got = tf.tensor(values)                       # the default dtype is float32
    assert got.dtype is tf.float32
    with np.errstate(over="ignore"):
        want = np.array(values, np.float64).astype(np.float32)  # one rounding
    assert np.array_equal(_bits(got), want.view(np.uint32))


def _float32_of_int(v: int) -> float:
    """Round-to-nearest-even of an int to 24 bits, by mpmath."""
    with mpmath.workprec(24):
        return float(mpmath.mpf(v))


def test_large_ints_become_float32_in_one_rounding():
    rng = np.random.default_rng(9)
    ints = [2 ** 54 + 2 ** 30 + 1, -(2 ** 54 + 2 ** 30 + 1), 2 ** 100 + 1,
            2 ** 63 + 2 ** 39 + 1, 3 ** 60]
    ints += [int(rng.integers(1, 2 ** 62)) * 2 ** int(rng.integers(0, 60)) + 1
             for _ in range(300)]
    got = tf.tensor([0.5] + ints).tolist()[1:]   # the float makes it float32
    assert got == [_float32_of_int(v) for v in ints]
    assert tf.tensor(ints, dtype=tf.float32).tolist() == [_float32_of_int(v) for v in ints]
    assert tf.tensor([2 ** 200], dtype=tf.float32).item() == math.inf
    assert tf.tensor([2 ** 200], dtype=tf.float64).item() == float(2 ** 200)


@pytest.mark.parametrize("data", [
    [True, False, True], [[1, -2], [3, 4]], [1.5, -2.0, 3.25], [1, 2.5, True],
    [[[1.0], [2.0]], [[3.0], [4.0]]], 7, 2.5, False, [], [[], []], [[1, 2], [3, 4]]])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", None])
def test_python_data_in_every_dtype_matches_numpy(data, dtype):
    """NumPy converts these (small) values exactly too: same values, same
    shape; the default dtypes are PyTorch's (bool, int64, else float32)."""
    if dtype is None:
        flat = list(np.array(data, dtype=object).reshape(-1))
        kinds = {type(v) for v in flat}
        dtype = ("bool" if kinds == {bool} else
                 "int64" if kinds and kinds <= {bool, int} else "float32")
        got = tf.tensor(data)
    else:
        got = tf.tensor(data, dtype=getattr(tf, dtype if dtype != "bool" else "bool"))
    want = np.array(data, dtype=np.float64).astype(dtype)
    assert got.dtype.name == dtype
    assert got.shape == want.shape
    assert np.array_equal(got.numpy(), want)


def _rule(v: float) -> int:
    """The documented float -> int64 rule: truncate toward zero, saturate,
    NaN gives 0."""
    if math.isnan(v):
        return 0
    if v >= 2.0 ** 63:
        return I64_MAX
    if v <= -(2.0 ** 63):
        return I64_MIN
    return math.trunc(v)


SPECIAL = [math.inf, -math.inf, math.nan, 1e300, -1e300, 2.0 ** 63, -(2.0 ** 63),
           9.3e18, -9.3e18, 2.75, -2.75, -0.0, 2.0 ** 62 + 2 ** 10]


def test_float_to_int64_follows_one_rule_everywhere():
    want = [_rule(v) for v in SPECIAL]
    assert tf.tensor(SPECIAL, dtype=tf.int64).tolist() == want
    assert tf.tensor(np.array(SPECIAL), dtype=tf.int64).tolist() == want
    assert tf.tensor(SPECIAL, dtype=tf.float64).to(tf.int64).tolist() == want
    assert [tf.full((1,), v, dtype=tf.int64).item() for v in SPECIAL] == want
    assert [tf.zeros(1, dtype=tf.int64).fill_(v).item() for v in SPECIAL] == want
    assert [tf.pad(tf.tensor([0]), (1, 0), value=v)[0].item() for v in SPECIAL] == want
    mixed = [1.5, 2 ** 62 + 1, math.nan, -3]     # ints stay exact next to floats
    assert tf.tensor(mixed, dtype=tf.int64).tolist() == [1, 2 ** 62 + 1, 0, -3]


def test_to_bool_is_nonzero_everywhere():
    values = [0.5, -0.0, 0.0, math.nan, -1e-300, math.inf]
    want = [True, False, False, True, True, True]
    assert tf.tensor(values, dtype=tf.float64).to(tf.bool).tolist() == want
    assert tf.tensor(values, dtype=tf.bool).tolist() == want
    assert [tf.full((1,), v, dtype=tf.bool).item() for v in values] == want
    assert [tf.zeros(1, dtype=tf.bool).fill_(v).item() for v in values] == want
    assert tf.tensor([2, 0, -7], dtype=tf.bool).tolist() == [True, False, True]


@pytest.mark.parametrize("start,end,step", [
    (0.5, 5.7, 1.5), (1.9, 7.2, 2.9), (-3.7, 4.2, 1.0), (5.9, -2.1, -1.5), (0, 10.9, 3)])
def test_arange_int64_with_float_arguments_truncates_them_first(start, end, step):
    """PyTorch truncates start, end and step to int64, then counts."""
    got = tf.arange(start, end, step, dtype=tf.int64)
    want = np.arange(math.trunc(start), math.trunc(end), math.trunc(step))
    assert got.dtype is tf.int64 and got.tolist() == want.tolist()


def test_arange_int64_step_truncating_to_zero_is_an_error():
    with pytest.raises(ValueError, match=r"arange: step must be non-zero \(got 0 after "
                                         r"truncation to int64\)"):
        tf.arange(0.5, 3.7, 0.9, dtype=tf.int64)


@pytest.mark.parametrize("data,exc,match", [
    ([[1, 2], [3]], ValueError, r"tensor: expected sequence of length 2 at dim 1 \(got 1\)"),
    ([[1], [2, 3]], ValueError, r"tensor: expected sequence of length 1 at dim 1 \(got 2\)"),
    ([[[1, 2], [3, 4]], [[1, 2], [3]]], ValueError,
     r"tensor: expected sequence of length 2 at dim 2 \(got 1\)"),
    ([[1, 2], [3, 4], [5]], ValueError, r"at dim 1 \(got 1\)"),
    ([[1, 2], 3], TypeError, r"tensor: expected a sequence at dim 1, got int 3"),
    ([1, [2, 3]], ValueError, r"tensor: expected a number at dim 1"),
    ([2 ** 63], OverflowError, r"tensor: the integer 9223372036854775808 does not fit in int64"),
    ([1, "a"], TypeError, r"tensor: could not infer a dtype from an element of type str"),
    ([None], TypeError, r"element of type NoneType"),
])
def test_bad_python_data_gets_pytorch_style_errors(data, exc, match):
    with pytest.raises(exc, match=match):
        tf.tensor(data)


def test_nested_tensors_and_numpy_scalars_in_lists():
    assert tf.tensor([tf.tensor(1.5), tf.tensor(2.5)]).tolist() == [1.5, 2.5]
    assert tf.tensor([np.float64(0.1)], dtype=tf.float64).item() == 0.1
    assert tf.tensor([np.int64(2 ** 62 + 1)]).item() == 2 ** 62 + 1
    assert tf.tensor([tf.tensor([1, 2]), tf.tensor([3, 4])]).tolist() == [[1, 2], [3, 4]]
    assert tf.tensor(range(4)).tolist() == [0, 1, 2, 3]
