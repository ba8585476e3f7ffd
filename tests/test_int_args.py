"""Integer and shape arguments are checked, never wrapped.

ctypes stores a Python int that does not fit the C type modulo 2^64 without
a word, so before these checks `x[::2**64 + 1]` was `x[::1]`,
`tf.full((2,), 2**63)` held -2^63 and `transpose(2**32, 1)` swapped dim 0.
Every such argument now raises; floats where PyTorch wants an int raise
TypeError instead of being truncated; bool and NumPy integers are accepted.
The shape arithmetic in C is overflow-checked, and no view reaches outside
its storage. (verify's int-args check runs the same probe over every op
sample in the op database.)
"""
import numpy as np
import pytest

import tinyfin as tf

BIG = 2 ** 64 + 1          # wraps to 1 modulo 2^64
NEG = -(2 ** 64) + 1       # wraps to 1 as well
X = tf.arange(24.0).reshape(2, 3, 4)


def _huge_int_calls(big):
    v = tf.arange(5)
    return {
        "zeros": lambda: tf.zeros(big), "ones": lambda: tf.ones(2, big),
        "empty": lambda: tf.empty((big,)), "full size": lambda: tf.full((big,), 1.0),
        "full value": lambda: tf.full((2,), big), "rand": lambda: tf.rand(big),
        "randn": lambda: tf.randn(big), "randint high": lambda: tf.randint(0, big, (3,)),
        "randint low": lambda: tf.randint(big, 2 ** 70, (3,)),
        "arange": lambda: tf.arange(big), "arange step": lambda: tf.arange(0, 10, big),
        "linspace": lambda: tf.linspace(0, 1, big), "eye": lambda: tf.eye(big),
        "manual_seed": lambda: tf.manual_seed(big * 2 ** 10),
        "slice step": lambda: v[::big] if big < 0 else _slice_too_big(v, big),
        "slice start": lambda: _no_wrap(v[big:], v[5:] if big > 0 else v[0:]),
        "index": lambda: v[big], "setitem": lambda: v.__setitem__(big, 1),
        "setitem value": lambda: v.__setitem__(0, big),
        "fill_": lambda: v.fill_(big), "add scalar": lambda: v + big,
        "transpose": lambda: X.transpose(big, 1), "permute": lambda: X.permute(0, 1, big),
        "unsqueeze": lambda: X.unsqueeze(big), "squeeze": lambda: X.squeeze(big),
        "flatten": lambda: X.flatten(big), "movedim": lambda: X.movedim(big, 0),
        "reshape": lambda: X.reshape(big, -1), "view": lambda: X.view(-1, big),
        "expand": lambda: tf.ones(1).expand(big), "as_strided size": lambda: tf.as_strided(v, (big,), (1,)),
        "as_strided stride": lambda: tf.as_strided(v, (2,), (big,)),
        "as_strided offset": lambda: tf.as_strided(v, (1,), (1,), big),
        "narrow start": lambda: v.narrow(0, big, 1), "narrow length": lambda: v.narrow(0, 0, big),
        "split": lambda: v.split(big), "chunk": lambda: v.chunk(big), "roll": lambda: v.roll(big),
        "repeat": lambda: v.repeat(big), "tile": lambda: tf.tile(v, (big,)), "flip": lambda: v.flip(big),
        "cat dim": lambda: tf.cat([v, v], big), "stack dim": lambda: tf.stack([v, v], big),
        "pad amount": lambda: tf.pad(v, (big, 0)), "pad value": lambda: tf.pad(v, (1, 1), value=big),
        "tril": lambda: tf.ones(3, 3).tril(big), "triu": lambda: tf.ones(3, 3).triu(big),
        "gather dim": lambda: v.gather(big, v), "index_select dim": lambda: v.index_select(big, v),
        "scatter_add dim": lambda: v.scatter_add(big, v, v),
        "sum dim": lambda: X.sum(big), "softmax dim": lambda: X.softmax(big),
        "max dim": lambda: X.max(big), "argmax dim": lambda: X.argmax(big),
        "var correction": lambda: X.var(correction=big), "norm p": lambda: X.norm(p=big),
        "clamp float": lambda: X.clamp(min=big), "clamp int": lambda: v.clamp(max=big),
        "leaky_relu slope": lambda: tf.leaky_relu(X, big), "pow exponent": lambda: X ** big,
        "set_num_threads": lambda: tf.set_num_threads(big),
    }


def _slice_too_big(v, step):
    """A step beyond the size is legal (PyTorch and NumPy take the first
    element); it must not wrap to a small step."""
    assert v[::step].tolist() == [0]
    raise OverflowError("(legal, checked)")


def _no_wrap(got, want):
    assert got.tolist() == want.tolist()
    raise OverflowError("(legal, checked)")


@pytest.mark.parametrize("big", [BIG, NEG], ids=["2^64+1", "-2^64+1"])
@pytest.mark.parametrize("name", sorted(_huge_int_calls(1)))
def test_an_int_outside_int64_raises_instead_of_wrapping(name, big):
    call = _huge_int_calls(big)[name]
    with pytest.raises((OverflowError, IndexError, ValueError)) as info:
        call()
    message = str(info.value)
    if info.type is OverflowError and "(legal, checked)" not in message:
        assert "does not fit in int64" in message or "out of range" in message, message


@pytest.mark.parametrize("call,match", [
    (lambda: tf.ones(6).reshape(2.9, 3), r"reshape: shape must be an int, got 2\.9"),
    (lambda: X.transpose(0.9, 1), r"transpose: dim must be an int, got 0\.9"),
    (lambda: X.permute(0, 1.0, 2), r"permute: shape must be an int"),
    (lambda: X.unsqueeze(0.5), r"unsqueeze: dim must be an int"),
    (lambda: tf.zeros(2.0), r"zeros: size must be a sequence of ints"),
    (lambda: tf.arange(5).narrow(0, 1.5, 2), r"narrow: start must be an int"),
    (lambda: tf.arange(5).repeat(2.0), r"repeat: sizes must be an int"),
    (lambda: tf.randint(0, 5.5, (2,)), r"randint: high must be an int"),
    (lambda: tf.eye(2.5), r"eye: n must be an int"),
    (lambda: tf.manual_seed(1.5), r"manual_seed: seed must be an int"),
    (lambda: tf.set_num_threads(2.0), r"set_num_threads"),
    (lambda: X.flip(0.5), r"flip: dim must be an int"),
    (lambda: tf.ones(3).gather(0.0, tf.tensor([0])), r"gather: dim must be an int"),
    (lambda: X.softmax(1.0), r"softmax: dim must be an int"),
])
def test_a_float_where_an_int_is_required_is_a_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_bool_and_numpy_integers_are_ints():
    assert tf.ones(6).reshape(np.int64(2), np.int32(3)).shape == (2, 3)
    assert tf.ones(6).reshape(True, 6).shape == (1, 6)
    assert X.transpose(np.int64(0), True).shape == (3, 2, 4)
    assert tf.zeros(np.int64(2), np.uint8(3)).shape == (2, 3)
    assert tf.arange(5)[np.int64(3)].item() == 3
    assert tf.arange(5).narrow(0, np.int64(1), 2).tolist() == [1, 2]
    assert tf.full((2,), np.int64(7)).tolist() == [7, 7]
    assert X.sum(np.int64(1)).shape == (2, 4)


def test_int64_bounds_are_accepted_exactly():
    lo, hi = -(2 ** 63), 2 ** 63 - 1
    assert tf.full((2,), hi).tolist() == [hi, hi]
    assert tf.full((1,), lo).tolist() == [lo]
    assert tf.zeros(1, dtype=tf.int64).fill_(hi).tolist() == [hi]
    tf.manual_seed(2 ** 64 - 1)
    assert tf.initial_seed() == 2 ** 64 - 1
    tf.manual_seed(-1)                      # PyTorch: taken modulo 2^64
    assert tf.initial_seed() == 2 ** 64 - 1
    r = tf.randint(lo, hi, (1000,))
    assert r.dtype is tf.int64 and r.numel() == 1000
    with pytest.raises(OverflowError, match=r"manual_seed: seed 18446744073709551616"):
        tf.manual_seed(2 ** 64)


def test_int64_clamp_bounds_and_pad_values_are_exact_beyond_2_53():
    """Through double, 2^62 + 1 would round to 2^62."""
    big = 2 ** 62
    x = tf.tensor([big + 1, big + 3, -big - 3])
    assert x.clamp(min=big + 2).tolist() == [big + 2, big + 3, big + 2]
    assert x.clamp(max=big + 2).tolist() == [big + 1, big + 2, -big - 3]
    assert x.clamp(-big - 1, big + 2).tolist() == [big + 1, big + 2, -big - 1]
    assert x.clamp(min=big + 2, max=big + 1).tolist() == [big + 1] * 3  # min > max: max
    out = tf.zeros(3, dtype=tf.int64)
    tf.clamp(x, min=big + 2, out=out)
    assert out.tolist() == [big + 2, big + 3, big + 2]
    p = tf.pad(tf.tensor([1]), (1, 2), value=big + 1)
    assert p.tolist() == [big + 1, 1, big + 1, big + 1]
    assert tf.pad(tf.tensor([1.0]), (1, 0), value=big + 1).tolist() == [float(big), 1.0]


def test_an_int_scalar_into_float32_rounds_once():
    """2^54 + 2^30 + 1 is nearer 2^54 + 2^31 in float32; through float64 it
    would first round to 2^54 + 2^30, a tie, then to even: 2^54."""
    v = 2 ** 54 + 2 ** 30 + 1
    want = float(2 ** 54 + 2 ** 31)
    assert tf.full((1,), v, dtype=tf.float32).item() == want
    assert tf.zeros(1).fill_(v).item() == want
    assert (tf.zeros(1) + v).item() == want
    assert tf.tensor([v], dtype=tf.float32).item() == want


def test_shape_arithmetic_overflow_raises():
    huge = 2 ** 62
    with pytest.raises(ValueError, match=r"expand: the target shape .* more elements than fit"):
        tf.ones(1, 1).expand(huge, huge)
    with pytest.raises(ValueError, match=r"expand: .* more elements"):
        tf.ones(1, 1).expand(2 ** 40, 2 ** 40)   # once summed to a silent 0.0
    with pytest.raises(ValueError, match=r"as_strided: size .* more elements"):
        tf.as_strided(tf.ones(4), (huge, 3), (huge, 1))
    with pytest.raises(ValueError, match=r"as_strided: .* reaches further"):
        tf.as_strided(tf.ones(4), (3,), (huge,), 0)
    with pytest.raises(ValueError, match=r"as_strided: the view reaches elements"):
        tf.as_strided(tf.ones(4), (2, 2), (2, 2), 0)
    with pytest.raises(ValueError, match=r"as_strided: negative storage offset"):
        tf.as_strided(tf.ones(4), (1,), (1,), -1)
    with pytest.raises(ValueError, match=r"reshape: shape .* more elements"):
        tf.ones(0).reshape(huge, huge, 0, -1)
    wide = tf.ones(1).expand(2 ** 63 - 1)          # legal: one stride-0 element
    with pytest.raises(ValueError, match=r"pad: .* more elements than fit"):
        tf.pad(wide, (2 ** 40, 0))


def test_slicing_with_huge_steps_and_bounds_stays_in_range():
    v = tf.arange(10)
    assert v[::2 ** 63 - 1].tolist() == [0]
    assert v[3::2 ** 62].tolist() == [3]
    assert v[-2 ** 70:2 ** 70:3].tolist() == list(range(0, 10, 3))
    assert v[2 ** 70:].tolist() == []
    m = tf.arange(12).reshape(3, 4)
    assert m[:, 1::2 ** 63 - 1].tolist() == [[1], [5], [9]]
