"""In-place ops and out= with overlapping memory give the result of
computing out of place and then copying, and no write goes into a tensor
whose elements alias each other.

Before: `x += x[0:1]` read row 0 after it was already updated (a broadcast
row of the destination has the destination's own strides), and
`neg(x.T, out=x)` read elements already negated (the transposed view starts
at the same address). The core now detects partial overlap from the storage
and the address ranges and reads a copy first. Sizes reach the parallel
path (above 32768 elements) as well as the serial one.
"""
import numpy as np
import pytest

import tinyfin as tf

SIZES = [(4, 4), (256, 256)]  # serial, and 65536 elements: parallel chunks


def _base(shape):
    rng = np.random.default_rng(3)
    data = rng.standard_normal(shape)
    return data, tf.tensor(data, dtype=tf.float64)


# (name, tinyfin write, NumPy: dst view, and the out-of-place value of it)
CASES = [
    ("x += x[0:1]", lambda x: x.__iadd__(x[0:1]), lambda a: (a, a + a[0:1])),
    ("x -= x[:, 0:1]", lambda x: x.__isub__(x[:, 0:1]), lambda a: (a, a - a[:, 0:1])),
    ("x[1:] += x[:-1]", lambda x: x[1:].add_(x[:-1]), lambda a: (a[1:], a[1:] + a[:-1])),
    ("x[:, 1:] *= x[:, :-1]", lambda x: x[:, 1:].mul_(x[:, :-1]),
     lambda a: (a[:, 1:], a[:, 1:] * a[:, :-1])),
    ("x += x.T", lambda x: x.__iadd__(x.T), lambda a: (a, a + a.T)),
    ("x.T -= x", lambda x: x.T.sub_(x), lambda a: (a.T, a.T - a)),
    ("add(x.T, x[0:1], out=x)", lambda x: tf.add(x.T, x[0:1], out=x),
     lambda a: (a, a.T + a[0:1])),
    ("maximum(x, x.T, out=x)", lambda x: tf.maximum(x, x.T, out=x),
     lambda a: (a, np.maximum(a, a.T))),
    ("x[1:] += 2 * x[:-1] (scalar into)", lambda x: tf.mul(x[:-1], 2.0, out=x[1:]),
     lambda a: (a[1:], a[:-1] * 2.0)),
    ("neg(x.T, out=x)", lambda x: tf.neg(x.T, out=x), lambda a: (a, -a.T)),
    ("square(x[:-1], out=x[1:])", lambda x: tf.square(x[:-1], out=x[1:]),
     lambda a: (a[1:], np.square(a[:-1]))),
    ("abs(x[:, 1:], out=x[:, :-1])", lambda x: tf.abs(x[:, 1:], out=x[:, :-1]),
     lambda a: (a[:, :-1], np.abs(a[:, 1:]))),
    ("x[1:].copy_(x[:-1])", lambda x: x[1:].copy_(x[:-1]), lambda a: (a[1:], a[:-1].copy())),
    ("x.copy_(x.T)", lambda x: x.copy_(x.T), lambda a: (a, a.T.copy())),
    ("x[:, :2].copy_(x[0:1, 1:3])", lambda x: x[:, :2].copy_(x[0:1, 1:3]),
     lambda a: (a[:, :2], np.broadcast_to(a[0:1, 1:3], a[:, :2].shape).copy())),
    # exact aliases and disjoint views of one storage: no copy needed
    ("x.add_(x)", lambda x: x.add_(x), lambda a: (a, a + a)),
    ("square(x, out=x)", lambda x: tf.square(x, out=x), lambda a: (a, np.square(a))),
    ("x[::2] += x[1::2]", lambda x: x[::2].add_(x[1::2]), lambda a: (a[::2], a[::2] + a[1::2])),
]


@pytest.mark.parametrize("shape", SIZES, ids=["serial", "parallel"])
@pytest.mark.parametrize("name,write,reference", CASES, ids=[c[0] for c in CASES])
def test_overlapping_write_equals_out_of_place_then_copy(name, write, reference, shape):
    data, x = _base(shape)
    want = data.copy()
    dst, value = reference(want)
    value = np.array(value, copy=True)   # computed from the old values
    dst[...] = value
    write(x)
    np.testing.assert_array_equal(x.numpy(), want, err_msg=name)


def test_overlap_under_autograd_matches_too():
    data, x = _base((5, 5))
    x.requires_grad_(True)
    y = x * 1.0
    y += y.T
    (g,) = tf.autograd.grad(y.sum(), x)
    np.testing.assert_array_equal(y.detach().numpy(), data + data.T)
    np.testing.assert_array_equal(g.numpy(), np.full((5, 5), 2.0))


def _expanded():
    base = tf.tensor([[1.0, 2.0, 3.0]])
    return base, base.expand(4, 3)


WRITES = {
    "fill_": lambda x: x.fill_(1.0),
    "zero_": lambda x: x.zero_(),
    "index_put_": lambda x: x.index_put_((tf.tensor([0, 1]),), tf.tensor([5.0, 6.0, 7.0])),
    "index_put_ accumulate": lambda x: x.index_put_((tf.tensor([0]),), tf.tensor(1.0),
                                                    accumulate=True),
    "setitem advanced": lambda x: x.__setitem__(tf.tensor([0, 2]), 9.0),
    "setitem mask": lambda x: x.__setitem__(tf.ones(4, 3, dtype=tf.bool), 9.0),
    "setitem basic": lambda x: x.__setitem__((slice(None), 0), 9.0),
    "masked_fill_": lambda x: x.masked_fill_(tf.ones(4, 3, dtype=tf.bool), 9.0),
    "scatter_add_": lambda x: x.scatter_add_(0, tf.zeros(1, 3, dtype=tf.int64), tf.ones(1, 3)),
    "copy_": lambda x: x.copy_(tf.zeros(4, 3)),
    "add_": lambda x: x.add_(1.0),
    "clamp_": lambda x: x.clamp_(0.0, 1.0),
    "out=": lambda x: tf.sin(tf.zeros(4, 3), out=x),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_refuses_a_self_aliased_destination(name):
    base, x = _expanded()
    with pytest.raises(ValueError, match=r"more than one element of the written-to tensor "
                                         r"refers to a single memory location"):
        WRITES[name](x)
    assert base.tolist() == [[1.0, 2.0, 3.0]]


def test_overlapping_as_strided_rows_are_refused_and_disjoint_ones_written():
    buf = tf.arange(9.0)
    rows = tf.as_strided(buf, (3, 3), (1, 1))         # rows start 1 apart
    assert rows.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]  # reading is fine
    with pytest.raises(ValueError, match=r"fill_: more than one element .*\(shape \(3, 3\), "
                                         r"strides \(1, 1\)"):
        rows.fill_(0.0)
    assert buf.tolist() == list(range(9))
    cols = tf.as_strided(buf, (2, 2), (1, 2))          # 0 2 / 1 3: no element twice
    cols.fill_(-1.0)
    assert buf.tolist() == [-1, -1, -1, -1] + [4.0, 5.0, 6.0, 7.0, 8.0]
    one = tf.tensor([[1.0, 2.0]]).expand(1, 2)         # stride 0 on a size-1 dim
    one.add_(1.0)
    assert one.tolist() == [[2.0, 3.0]]
