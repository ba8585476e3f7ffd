"""Tensor.__getitem__ / __setitem__ against NumPy's indexing (basic, advanced,
mixed, masks, Ellipsis / None), that basic indexing returns views and
advanced indexing copies, and gather / scatter_add / index_select /
index_put_ / nonzero / masked_fill / take_along_dim against their NumPy
equivalents, with the error cases.

Indexing only moves elements, so results must equal NumPy's exactly
(tolerance 0 for every dtype); accumulation (index_put_ with accumulate,
scatter_add) adds in a fixed serial order, compared with np.add.at with
float32 rtol 1e-6 and float64 rtol 1e-12."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinyfin as tf
from helpers_layouts import DTYPES, check, layouts, sample, tt  # noqa: F401

RTOL = {"float32": 1e-6, "float64": 1e-12, "int64": 0, "bool": 0}
HYPOTHESIS = settings(max_examples=500, deadline=None, derandomize=True)


def to_tf_index(index):
    """The same index with NumPy arrays replaced by tinyfin tensors."""
    if isinstance(index, tuple):
        return tuple(to_tf_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return tt(index)
    return index


def I(*a):  # noqa: E743  (an int64 index array)
    return np.array(a, dtype=np.int64)


# ---- getitem ------------------------------------------------------------------
BASIC = [
    0, -1, 2, (1, 2), (-1, -2, 3), slice(None), slice(1, 3), slice(None, None, 2),
    slice(-3, None), slice(5, 1), slice(1, 100, 3), (slice(None), 1),
    (Ellipsis, 0), (0, Ellipsis), (Ellipsis,), (), None, (None, 0, None),
    (slice(None), None, slice(1, 2)), (0, Ellipsis, None), (Ellipsis, None),
    (1, slice(0, 0)), (slice(None), slice(None), slice(None, None, 4)),
]

ADVANCED = [
    I(0, 2), I(-1, 0, 0), [2, 0], [[0, 1], [1, 2]], (I(0, 1), I(1, 2)),
    (slice(None), I(0, 3, 1)), (slice(None), I(0, 2), I(1, 3)),
    (I(0, 1), slice(None), I(1, 4)),              # separated -> first
    (0, slice(None), I(1, 2)),                    # int counts as advanced
    (slice(None), 0, I(1, 2)), (I(1, 2), 0), (Ellipsis, I(4, 0)),
    (I(0, 2), Ellipsis, I(1, 1)), (None, I(1, 2)), (I(1,), None, I(2,)),
    (I([0], [2]), I(1, 2, 3)),                    # broadcast (2,1) with (3,)
    (slice(1, 3), [[0, 1]], slice(None, None, 2)),
    np.array(1), (slice(None), np.array(2)), I(), (I(), slice(None)),
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_getitem_basic_matches_numpy_and_is_view(dtype):
    arr = sample((3, 4, 5), dtype)
    for name, x in layouts(arr):
        for index in BASIC:
            out = x[index]
            check(out, arr[index])
            assert np.shares_memory(out.numpy(), x.numpy()) or out.numel() == 0, (name, index)
            assert out is not x


@pytest.mark.parametrize("dtype", DTYPES)
def test_getitem_advanced_matches_numpy_and_copies(dtype):
    arr = sample((3, 4, 5), dtype)
    for name, x in layouts(arr):
        for index in ADVANCED:
            expected = arr[index]
            out = x[to_tf_index(index)]
            check(out, expected)
            assert not np.shares_memory(out.numpy(), x.numpy()), (name, index)
            if isinstance(index, (list, np.ndarray)):  # lists and arrays as-is
                check(x[index], expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_getitem_masks(dtype):
    arr = sample((3, 4), dtype)
    x = tt(arr)
    m2 = sample((3, 4), "bool", 1)
    m1 = np.array([True, False, True])
    for index in [m2, m1, (m1,), (slice(None), np.array([1, 0, 0, 1], bool)),
                  (m1, I(0, 3)), (m1, slice(1, 3)), np.zeros((3, 4), bool),
                  (m1, np.array([0, 1, 1, 0], bool))]:
        check(x[to_tf_index(index)], arr[index])
    check(x[m2.tolist()], arr[m2])
    check(x[x.numpy() > 0] if dtype != "bool" else x[x], arr[arr > 0] if dtype != "bool" else arr[arr])
    check(x[True], arr[True])
    check(x[False], arr[False])
    check(x[tt(np.array(True))], arr[np.array(True)])


def test_getitem_on_0d_and_size0():
    x = tt(np.float64(2.5))
    check(x[()], np.float64(2.5))
    check(x[...], np.float64(2.5))
    check(x[None], np.array([2.5]))
    empty = sample((0, 3), "float32")
    e = tt(empty)
    check(e[:, 1], empty[:, 1])
    check(e[I()], empty[I()])
    check(e[:, I(0, 2)], empty[:, I(0, 2)])
    check(e[np.zeros(0, bool)], empty[np.zeros(0, bool)])
    z = sample((2, 0), "int64")
    check(tt(z)[I(1, 0, 1)], z[I(1, 0, 1)])


def test_getitem_expanded_input():
    base = sample((1, 4), "float64")
    x = tt(base).expand(3, 4)
    full = np.broadcast_to(base, (3, 4))
    check(x[1:, I(3, 0)], full[1:, I(3, 0)])
    check(x[I(2, 0)], full[I(2, 0)])


def test_getitem_tensor_in_slice_and_int_tensor_scalar():
    arr = sample((5, 3), "float32")
    x = tt(arr)
    check(x[tt(np.int64(1)):tt(np.int64(4))], arr[1:4])
    check(x[np.int64(2)], arr[2])
    check(x[tt(np.int64(-1))], arr[-1])


def test_getitem_errors():
    x = tt(sample((5, 3), "float32"))
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 5"):
        x[7]
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 1 with size 3"):
        x[0, -4]
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x[:, I(0, 3)]
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 0 with size 5"):
        x[I(9), I(0)]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[0, ::0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        tt(np.float32(1))[0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="must be int64 or bool, got float32"):
        x[tf.zeros(2)]
    with pytest.raises(IndexError, match="valid indices"):
        x[1.5]
    with pytest.raises(IndexError, match="valid indices"):
        x["a"]
    with pytest.raises(IndexError, match=r"shape of the mask \(4,\) at index 0 does not match.*\(5,\)"):
        x[np.ones(4, bool)]
    with pytest.raises(IndexError, match="could not be broadcast together with shapes"):
        x[I(0, 1), I(0, 1, 2)]


# ---- setitem ------------------------------------------------------------------
def setitem_cases(arr):
    """(index, value) pairs, values as NumPy arrays or Python scalars."""
    rng = np.random.default_rng(5)

    def val(index):
        shape = arr[index].shape
        return sample(shape, str(arr.dtype), int(rng.integers(100)))

    cases = []
    for index in BASIC + ADVANCED:
        cases.append((index, val(index)))
        cases.append((index, 1 if arr.dtype != bool else True))
    cases += [
        ((slice(None), 1), sample((1,), str(arr.dtype))),           # broadcast
        (I(0, 2), sample((4, 1), str(arr.dtype))),                  # broadcast
        ((slice(None), I(1, 2)), sample((1, 5), str(arr.dtype))),
        ((0, slice(None), I(1, 2)), sample((2, 1), str(arr.dtype))),
        (0, sample((1, 1, 4, 5), str(arr.dtype))),                  # extra 1-dims
        (sample((3, 4, 5), "bool", 9), 0),                          # mask
    ]
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
def test_setitem_matches_numpy(dtype):
    arr = sample((3, 4, 5), dtype)
    for index, value in setitem_cases(arr):
        for name, x in layouts(arr):
            expected = arr.copy()
            expected[index] = value
            x = x.clone() if name == "contiguous" else x  # fresh storage per case
            v = tt(value) if isinstance(value, np.ndarray) else value
            x[to_tf_index(index)] = v
            check(x, expected)


def test_setitem_writes_through_views_to_the_base():
    arr = sample((4, 6), "float64")
    x = tt(arr)
    v = x[1:, ::2]            # a view
    v[I(0, 2), 1] = -1.0      # advanced write into the view
    v[0] = 5.0                # basic write into the view
    expected = arr.copy()
    ev = expected[1:, ::2]
    ev[I(0, 2), 1] = -1.0
    ev[0] = 5.0
    check(x, expected)
    t = x.T                   # transposed view
    t[2, I(0, 3)] = tt(np.array([7.0, 8.0]))
    expected.T[2, I(0, 3)] = [7.0, 8.0]
    check(x, expected)


def test_setitem_value_conversions():
    x = tf.zeros(2, 3, dtype=tf.int64)
    x[0] = 2.9                             # float scalar into int64 truncates
    x[1, I(0, 2)] = tt(np.array([1.5, -2.5]))  # float tensor converted
    x[:, 1] = [7, 8]                       # list value
    check(x, np.array([[2, 7, 2], [1, 8, -2]]))
    b = tf.zeros(3, dtype=tf.bool)
    b[I(1)] = 2
    b[2] = True
    check(b, np.array([False, True, True]))
    f = tf.zeros(3)
    f[I(0, 1)] = tt(np.array([True, False]))
    check(f, np.array([1, 0, 0], np.float32))


def test_setitem_aliasing_values():
    arr = np.arange(6.0)
    x = tt(arr)
    x[I(1, 2, 3)] = x[0:3]         # values overlap the written elements
    x[1:] = x[:-1]                 # basic overlapping copy
    expected = arr.copy()
    expected[I(1, 2, 3)] = expected[0:3].copy()
    expected[1:] = expected[:-1].copy()
    check(x, expected)


def test_setitem_repeated_indices_last_wins_and_accumulate():
    x = tf.zeros(4)
    x[I(1, 1, 3, 1)] = tt(np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    check(x, np.array([0, 4, 0, 3], np.float32))
    for dtype in DTYPES:
        arr = sample((5, 3), dtype)
        idx = I(0, 4, 0, -1, 2, 0)
        vals = sample((6, 3), dtype, 1)
        expected = arr.copy()
        if dtype == "bool":
            expected = expected.copy()
            np.logical_or.at(expected, idx, vals)
        else:
            np.add.at(expected, idx, vals)
        for _, x in layouts(arr):
            assert x.index_put_((tt(idx),), tt(vals), accumulate=True) is x
            np.testing.assert_allclose(x.numpy(), expected, rtol=RTOL[dtype])
    x = tt(np.zeros((2, 3)))
    out = tf.index_put(x, (tt(I(1, 1)), tt(I(2, 2))), tt(np.array(1.5)), accumulate=True)
    check(out, np.array([[0, 0, 0], [0, 0, 3.0]]))
    check(x, np.zeros((2, 3)))
    x.index_put_((None, tt(I(0))), tt(np.array([4.0, 5.0])).reshape(2, 1))
    check(x, np.array([[4.0, 0, 0], [5.0, 0, 0]]))
    x.index_put_((None,), tt(np.array([1, 2, 3])), accumulate=True)  # no index
    check(x, np.array([[5.0, 2, 3], [6.0, 2, 3]]))


def test_setitem_errors_leave_the_tensor_unchanged():
    arr = sample((5, 3), "float32")
    x = tt(arr)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 5"):
        x[I(0, 1, 5)] = 1.0
    with pytest.raises(IndexError, match="index -9 is out of bounds for dimension 1 with size 3"):
        x[:, I(0, -9)] = tt(np.zeros(2, np.float32))
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0"):
        x.index_put_((tt(I(0, 7)),), tt(np.float32(1)), accumulate=True)
    check(x, arr)
    with pytest.raises(ValueError, match=r"shape mismatch: value tensor of shape \(4,\) cannot be broadcast to indexing result of shape \(2, 3\)"):
        x[I(0, 1)] = tt(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x[0] = tt(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-2] = 0.0
    with pytest.raises(TypeError, match="can assign"):
        x[0] = "abc"
    check(x, arr)


# ---- gather / scatter_add / index_select / nonzero ---------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_take_along_axis(dtype, dim):
    arr = sample((4, 5), dtype)
    rng = np.random.default_rng(3)
    d = dim % 2
    ishape = [3, 4]
    ishape[d] = 7                  # larger than the input along dim is fine
    idx = rng.integers(0, arr.shape[d], size=ishape)
    def expected(idx):
        crop = tuple(slice(None) if k == d else slice(0, idx.shape[k]) for k in range(2))
        return np.take_along_axis(arr[crop], idx, d)
    for _, x in layouts(arr):
        for _, it in layouts(idx):
            check(tf.gather(x, dim, it), expected(idx))
    check(x.gather(dim, tt(idx[:0])), expected(idx[:0]))


def test_gather_0d_and_errors():
    check(tf.gather(tt(np.float32(3)), 0, tt(np.int64(0))), np.float32(3))
    check(tf.gather(tt(np.arange(5)), 0, tt(np.int64(2))), np.int64(2))
    x = tt(sample((3, 4), "float32"))
    with pytest.raises(TypeError, match="gather: index tensors must be int64, got float32"):
        tf.gather(x, 0, tf.zeros(2, 2))
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds for dimension 0 with size 3"):
        tf.gather(x, 0, tt(I([3])))
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        tf.gather(x, 1, tt(I([-1])))
    with pytest.raises(ValueError, match="must have as many dims"):
        tf.gather(x, 0, tt(I(0)))
    with pytest.raises(ValueError, match="larger than the input"):
        tf.gather(x, 0, tt(np.zeros((1, 5), np.int64)))
    with pytest.raises(IndexError, match="gather: dim 2 is out of range"):
        tf.gather(x, 2, tt(I([0])))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add_matches_add_at(dtype, dim):
    arr = sample((4, 5), dtype)
    rng = np.random.default_rng(7)
    ishape = (6, 3) if dim == 0 else (2, 9)
    idx = rng.integers(0, arr.shape[dim], size=ishape)
    src = sample((7, 9), dtype, 2)
    expected = arr.copy()
    for i in np.ndindex(*ishape):
        target = list(i)
        target[dim] = idx[i]
        expected[tuple(target)] += src[i]
    for _, x in layouts(arr):
        for _, s in layouts(src):
            out = tf.scatter_add(x, dim, tt(idx), s)
            np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL[dtype])
            check(x, arr)  # out of place
    y = tt(arr)
    assert y.scatter_add_(dim, tt(idx), tt(src)) is y
    np.testing.assert_allclose(y.numpy(), expected, rtol=RTOL[dtype])


def test_scatter_add_1d_equals_np_add_at_and_bool_or():
    idx = I(0, 2, 2, 2, 4, 0)
    src = np.linspace(0.1, 1.0, 6)
    expected = np.zeros(5)
    np.add.at(expected, idx, src)
    np.testing.assert_allclose(tf.scatter_add(tt(np.zeros(5)), 0, tt(idx), tt(src)).numpy(),
                               expected, rtol=RTOL["float64"])
    b = tf.scatter_add(tt(np.zeros(3, bool)), 0, tt(I(2, 2)), tt(np.array([False, True])))
    check(b, np.array([False, False, True]))


def test_scatter_add_errors():
    x = tt(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="scatter_add: src has dtype float32 but the input has float64"):
        tf.scatter_add(x, 0, tt(I([0])).reshape(1, 1), tf.zeros(1, 1))
    with pytest.raises(IndexError, match="scatter_add: index 3 is out of bounds for dimension 0 with size 3"):
        tf.scatter_add(x, 0, tt(I([3])).reshape(1, 1), tt(np.ones((1, 1))))
    with pytest.raises(ValueError, match="larger than src"):
        tf.scatter_add(x, 0, tt(np.zeros((2, 2), np.int64)), tt(np.ones((1, 2))))
    with pytest.raises(ValueError, match="same number of dims"):
        tf.scatter_add(x, 0, tt(I(0)), tt(np.ones(1)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_select_matches_take(dtype):
    arr = sample((4, 5, 2), dtype)
    idx = I(3, 0, 0, 1)
    for _, x in layouts(arr):
        for dim in (0, 1, -1):
            check(tf.index_select(x, dim, tt(idx[idx < arr.shape[dim]])),
                  np.take(arr, idx[idx < arr.shape[dim]], axis=dim))
        check(x.index_select(1, tt(np.int64(2))), np.take(arr, [2], axis=1))
        check(x.index_select(1, tt(I())), np.take(arr, I(), axis=1))
    check(tf.index_select(tt(np.float32(4)), 0, tt(I(0, 0))), np.array([4, 4], np.float32))
    x = tt(arr)
    with pytest.raises(ValueError, match=r"index_select: index must be 1-D or 0-d, got shape \(1, 1\)"):
        x.index_select(0, tt(np.zeros((1, 1), np.int64)))
    with pytest.raises(IndexError, match="index_select: index 4 is out of bounds for dimension 0 with size 4"):
        x.index_select(0, tt(I(4)))
    with pytest.raises(TypeError, match="index_select: index tensors must be int64"):
        x.index_select(0, tf.zeros(1, dtype=tf.bool))


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonzero_matches_argwhere(dtype):
    arr = sample((3, 4, 2), dtype)
    if dtype != "bool":
        arr[arr.astype(np.float64) > 0.3] = 0
    for _, x in layouts(arr):
        check(tf.nonzero(x), np.argwhere(arr))
        got = x.nonzero(as_tuple=True)
        for g, e in zip(got, np.nonzero(arr)):
            check(g, e)
    check(tf.nonzero(tt(np.zeros((0, 3)))), np.zeros((0, 2), np.int64))
    check(tf.nonzero(tt(np.float32(2))), np.zeros((1, 0), np.int64))
    check(tf.nonzero(tt(np.array([np.nan, 0.0, -0.0, 1.0]))), I([0], [3]))
    (w,) = tf.where(tt(np.array([True, False, True])))
    check(w, I(0, 2))
    (z,) = tf.nonzero(tt(np.float32(2)), as_tuple=True)
    check(z, I(0))


def test_masked_fill_and_select():
    arr = sample((3, 4), "float64")
    mask = sample((3, 4), "bool", 1)
    row = np.array([True, False, False, True])
    for _, x in layouts(arr):
        check(tf.masked_fill(x, tt(mask), -1.0), np.where(mask, -1.0, arr))
        check(x.masked_fill(tt(row), tt(np.float64(2))), np.where(row, 2.0, arr))
        check(tf.masked_select(x, tt(row)), np.broadcast_to(arr, (3, 4))[np.broadcast_to(row, (3, 4))])
    ints = tt(sample((2, 2), "int64"))
    check(ints.masked_fill(tt(np.array([[True, False], [False, False]])), 3.7),
          np.where([[True, False], [False, False]], 3, ints.numpy()))
    y = tt(arr)
    assert y.masked_fill_(tt(mask), 0.0) is y
    check(y, np.where(mask, 0.0, arr))
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor, got int64"):
        tf.masked_fill(y, tt(I(1)), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(5,\) cannot be broadcast to the input shape \(3, 4\)"):
        tf.masked_fill(y, tt(np.ones(5, bool)), 0.0)
    with pytest.raises(ValueError, match=r"mask of shape \(2, 3, 4\) cannot be broadcast"):
        tf.masked_fill(y, tt(np.ones((2, 3, 4), bool)), 0.0)
    with pytest.raises(ValueError, match="0-d value tensor"):
        tf.masked_fill(y, tt(mask), tf.zeros(2))


def test_take_along_dim():
    arr = sample((3, 4), "float32")
    idx = np.argsort(arr, axis=1)
    check(tf.take_along_dim(tt(arr), tt(idx), 1), np.take_along_axis(arr, idx, 1))
    check(tf.take_along_dim(tt(arr), tt(I(0, 11))), arr.reshape(-1)[I(0, 11)])
    col = np.array([[1], [0], [3]])
    check(tf.take_along_dim(tt(arr), tt(col[:1]), 1), np.take_along_axis(arr, np.broadcast_to(col[:1], (3, 1)), 1))


# ---- hypothesis: random index combinations vs NumPy ------------------------------------
def draw_items(draw, dims, n):
    """Up to n index items for the dims in `dims`, taken from its front
    (the list is consumed)."""
    items = []
    for _ in range(n):
        kind = draw(st.sampled_from(["int", "slice", "none", "array", "mask"]))
        if kind == "none":
            items.append(None)
            continue
        if not dims:
            break
        size = dims[0]
        if kind == "int" and size > 0:
            dims.pop(0)
            items.append(draw(st.integers(-size, size - 1)))
        elif kind == "array" and size > 0:
            dims.pop(0)
            ishape = draw(st.sampled_from([(), (1,), (2,), (3,), (2, 1), (0,)]))
            n_el = int(np.prod(ishape))
            values = draw(st.lists(st.integers(-size, size - 1), min_size=n_el,
                                   max_size=n_el))
            items.append(np.array(values, dtype=np.int64).reshape(ishape))
        elif kind == "mask":
            k = draw(st.integers(1, min(2, len(dims))))
            mshape = tuple(dims[:k])
            del dims[:k]
            n_el = int(np.prod(mshape))
            bits = draw(st.lists(st.booleans(), min_size=n_el, max_size=n_el))
            items.append(np.array(bits, dtype=bool).reshape(mshape))
        else:
            dims.pop(0)
            start = draw(st.one_of(st.none(), st.integers(-6, 6)))
            stop = draw(st.one_of(st.none(), st.integers(-6, 6)))
            step = draw(st.one_of(st.none(), st.integers(1, 3)))
            items.append(slice(start, stop, step))
    return items


@st.composite
def index_cases(draw):
    """(shape, index): random mixes of ints, slices, None, int arrays, bool
    masks and at most one Ellipsis, always valid for the shape."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    dims = list(shape)
    items = draw_items(draw, dims, draw(st.integers(0, len(shape) + 1)))
    if draw(st.booleans()):
        # items after the Ellipsis index the last dims: draw them over the
        # remaining dims reversed, then put everything back in order
        rev = dims[::-1]
        after = draw_items(draw, rev, draw(st.integers(0, 2)))
        after = [a.transpose() if isinstance(a, np.ndarray) and a.dtype == bool
                 else a for a in after][::-1]
        items = items + [Ellipsis] + after
    if len(items) == 1 and draw(st.booleans()):
        return shape, items[0]
    return shape, tuple(items)


def numpy_result(arr, index):
    try:
        return arr[index], None
    except IndexError as e:
        return None, e


@HYPOTHESIS
@given(case=index_cases(), dtype=st.sampled_from(DTYPES), layout=st.integers(0, 2))
def test_hypothesis_getitem_setitem(case, dtype, layout):
    shape, index = case
    arr = sample(shape, dtype)
    variants = list(layouts(arr))
    name, x = variants[layout % len(variants)]
    expected, err = numpy_result(arr, index)
    if err is not None:  # e.g. index arrays that do not broadcast together
        with pytest.raises(IndexError):
            x[to_tf_index(index)]
        return
    if expected.ndim > 8:  # tinyfin tensors have at most 8 dims
        with pytest.raises(ValueError, match="at most 8 dims"):
            x[to_tf_index(index)]
        return
    out = x[to_tf_index(index)]
    check(out, expected)
    # set: write values of the indexed shape (and a scalar), compare the whole
    values = sample(expected.shape, dtype, 1)
    want = arr.copy()
    want[index] = values
    y = x.clone() if name == "contiguous" else x
    y[to_tf_index(index)] = tt(values)
    check(y, want)
    want[index] = 0
    y[to_tf_index(index)] = 0
    check(y, want)


def test_no_leaks():
    before = tf._C.live_tensors()
    x = tt(sample((4, 5), "float32"))
    x[I(0, 1), 2], x[x.numpy() > 0], x[1:, None, ...]
    x[I(0, 1)] = 1.0
    with pytest.raises(IndexError):
        x[I(0, 9)] = 1.0
    with pytest.raises(IndexError):
        x[:, I(0, 9)]
    tf.gather(x, 0, tt(I([0]))), tf.nonzero(x), x.index_select(0, tt(I(1)))
    del x
    assert tf._C.live_tensors() == before
