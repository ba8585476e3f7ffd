"""Shape ops that copy (cat, stack, flip, repeat/tile, pad, tril/triu, roll)
and the view-returning splitters (split, chunk, unbind, narrow), against
NumPy on every dtype, on contiguous, transposed, stepped and expanded
inputs, with size-0 dims and the error cases.

These ops only move elements, so results must equal NumPy's exactly
(tolerance 0 for every dtype)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinyfin as tf
from helpers_layouts import DTYPES, check, layouts, sample, tt  # noqa: F401

HYPOTHESIS = settings(max_examples=150, deadline=None, derandomize=True)


# ---- cat / stack --------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cat_matches_numpy(dtype, dim):
    shapes = [(2, 3, 4), (2, 3, 4), (2, 3, 4)]
    shapes = [tuple(s if d != dim % 3 else k + 1 for d, s in enumerate(sh))
              for k, sh in enumerate(shapes)]
    arrs = [sample(s, dtype, seed=i) for i, s in enumerate(shapes)]
    for name, _ in layouts(arrs[0]):
        ts = [dict(layouts(a))[name] for a in arrs]
        check(tf.cat(ts, dim), np.concatenate(arrs, dim))
    assert tf.concat is tf.cat and tf.concatenate is tf.cat


def test_cat_size0_and_legacy_empty():
    a, b = sample((0, 3), "float32"), sample((2, 3), "float32")
    check(tf.cat([tt(a), tt(b)]), np.concatenate([a, b]))
    check(tf.cat([tt(a), tt(a)], 1), np.zeros((0, 6), np.float32))
    # a 1-D (0,) tensor joins anything, in any dtype (PyTorch's legacy rule)
    empty = tt([])
    ints = sample((2, 3), "int64")
    check(tf.cat([empty, tt(ints), empty], 1), ints)
    check(tf.cat([empty, empty]), np.zeros(0, np.float32))


def test_cat_broadcast_input_and_result_is_copy():
    base = sample((1, 3), "float64")
    x = tt(base).expand(4, 3)
    out = tf.cat([x, x], 0)
    check(out, np.concatenate([np.broadcast_to(base, (4, 3))] * 2))
    out[0, 0] = 99.0
    assert x.numpy()[0, 0] == base[0, 0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack_matches_numpy(dtype, dim):
    arrs = [sample((2, 3), dtype, seed=i) for i in range(3)]
    check(tf.stack([tt(a) for a in arrs], dim), np.stack(arrs, dim))


def test_stack_0d_and_hstack_vstack():
    check(tf.stack([tt(1.5), tt(2.5)]), np.array([1.5, 2.5], np.float32))
    a, b = sample((2, 3), "int64", 1), sample((2, 3), "int64", 2)
    check(tf.hstack([tt(a), tt(b)]), np.hstack([a, b]))
    check(tf.vstack([tt(a), tt(b)]), np.vstack([a, b]))
    v = sample(3, "float32")
    check(tf.vstack([tt(v), tt(v)]), np.vstack([v, v]))
    check(tf.hstack([tt(v), tt(v)]), np.hstack([v, v]))


def test_cat_errors():
    f32, f64 = tf.zeros(2, 3), tf.zeros(2, 3, dtype=tf.float64)
    with pytest.raises(TypeError, match="cat: expected all tensors to have one dtype.*float32.*float64"):
        tf.cat([f32, f64])
    with pytest.raises(ValueError, match=r"cat: sizes of tensors must match except in dim 0.*\(2, 3\).*\(2, 4\)"):
        tf.cat([f32, tf.zeros(2, 4)])
    with pytest.raises(ValueError, match="same number of dims"):
        tf.cat([f32, tf.zeros(2, 3, 1)])
    with pytest.raises(ValueError, match="0-d tensor"):
        tf.cat([tt(1.0), tt(2.0)])
    with pytest.raises(ValueError, match="non-empty"):
        tf.cat([])
    with pytest.raises(IndexError, match="cat: dim 2 is out of range"):
        tf.cat([f32, f32], 2)
    with pytest.raises(TypeError, match="sequence of Tensors"):
        tf.cat([f32, np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"stack: expects each tensor to be equal size.*\(2, 3\).*\(3, 2\)"):
        tf.stack([f32, tf.zeros(3, 2)])


# ---- split / chunk / unbind / narrow (views) ---------------------------------------
def torch_split_sizes(size, step):
    return [min(step, size - s) for s in range(0, size, step)] or [0]


@pytest.mark.parametrize("size,step", [(7, 3), (6, 3), (6, 6), (6, 10), (0, 2), (1, 1)])
def test_split_int_matches_pieces(size, step):
    arr = sample((2, size), "float64")
    x = tt(arr)
    pieces = tf.split(x, step, dim=1)
    sizes = torch_split_sizes(size, step)
    assert [p.shape[1] for p in pieces] == sizes
    start = 0
    for p, s in zip(pieces, sizes):
        check(p, arr[:, start:start + s])
        start += s


def test_split_sections_and_views_share_memory():
    arr = sample((10, 3), "float32")
    x = tt(arr)
    a, b, c = x.split([2, 0, 8])
    check(a, arr[:2]), check(b, arr[2:2]), check(c, arr[2:])
    c[0, 0] = 42.0  # writes through the view into x
    assert x.numpy()[2, 0] == 42.0
    assert np.shares_memory(c.numpy(), x.numpy())


@pytest.mark.parametrize("size,chunks", [(10, 3), (9, 3), (5, 10), (0, 3), (6, 4)])
def test_chunk_matches_pytorch_rule(size, chunks):
    arr = sample((size, 2), "int64")
    pieces = tt(arr).chunk(chunks)
    step = -(-size // chunks)
    sizes = torch_split_sizes(size, step) if step else [0]
    assert [p.shape[0] for p in pieces] == sizes
    assert len(pieces) <= chunks
    check(tf.cat(list(pieces)) if size else pieces[0], arr)


def test_unbind_and_narrow():
    arr = sample((3, 4), "bool")
    x = tt(arr)
    for i, row in enumerate(tf.unbind(x, 1)):
        check(row, arr[:, i])
    check(tf.narrow(x, 1, 1, 2), arr[:, 1:3])
    check(x.narrow(0, -2, 2), arr[-2:])
    x.narrow(1, 0, 1).fill_(True)
    assert x.numpy()[:, 0].all()
    with pytest.raises(ValueError, match=r"narrow: start \(3\) \+ length \(2\) exceeds"):
        x.narrow(1, 3, 2)
    with pytest.raises(IndexError, match="narrow: start 9 is out of range"):
        x.narrow(0, 9, 0)


def test_split_errors():
    x = tf.zeros(4, 2)
    with pytest.raises(ValueError, match="must be non-negative and add up to the size 4"):
        tf.split(x, [1, 2])
    with pytest.raises(ValueError, match="split_size must be positive"):
        tf.split(x, 0)
    with pytest.raises(ValueError, match="chunks must be a positive int"):
        tf.chunk(x, 0)
    with pytest.raises(ValueError, match="0-d"):
        tf.split(tt(1.0), 1)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        tf.unbind(x, 2)


# ---- flip ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", [0, (1,), (0, 2), (-1, 0, 1), ()])
def test_flip_matches_numpy(dtype, dims):
    arr = sample((3, 4, 5), dtype)
    axes = (dims,) if isinstance(dims, int) else dims
    for _, x in layouts(arr):
        check(tf.flip(x, dims), np.flip(arr, axes) if axes else arr)


def test_flip_size0_0d_and_copies():
    arr = sample((0, 3), "float32")
    check(tf.flip(tt(arr), (0, 1)), arr)
    check(tf.flip(tt(2.5), 0), np.float32(2.5))
    base = sample((1, 4), "int64")
    x = tt(base).expand(3, 4)
    out = x.flip(1)
    check(out, np.flip(np.broadcast_to(base, (3, 4)), 1))
    out[0, 0] = 1000
    assert x.numpy()[0, -1] == base[0, -1]
    check(tf.fliplr(tt(arr.reshape(3, 0))), arr.reshape(3, 0))
    check(tf.flipud(tt(base)), np.flipud(base))


def test_flip_errors():
    with pytest.raises(ValueError, match="flip: dim 0 appears multiple times"):
        tf.flip(tf.zeros(2, 3), (0, -2))
    with pytest.raises(IndexError, match="flip: dim 2 is out of range"):
        tf.flip(tf.zeros(2, 3), 2)


# ---- repeat / tile / roll ------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reps", [(1, 1), (2, 3), (3, 1, 2), (0, 2), (2, 1, 1, 1)])
def test_repeat_matches_numpy_tile(dtype, reps):
    arr = sample((2, 3), dtype)
    for _, x in layouts(arr):
        out = x.repeat(*reps)
        check(out, np.tile(arr, reps))
        assert not np.shares_memory(out.numpy(), x.numpy())
    check(tt(arr).repeat(list(reps)), np.tile(arr, reps))


def test_tile_and_repeat_errors():
    arr = sample((2, 3), "float64")
    check(tf.tile(tt(arr), (2,)), np.tile(arr, (2,)))
    check(tf.tile(tt(arr), (2, 1, 2)), np.tile(arr, (2, 1, 2)))
    check(tt(3).repeat(4), np.tile(np.int64(3), 4))
    with pytest.raises(ValueError, match="repeat: number of dimensions of repeat dims"):
        tt(arr).repeat(2)
    with pytest.raises(ValueError, match="non-negative"):
        tt(arr).repeat(2, -1)


@pytest.mark.parametrize("shifts,dims", [(1, 0), (-2, 1), ((1, 2), (0, 1)), (7, None), (0, 1)])
def test_roll_matches_numpy(shifts, dims):
    arr = sample((3, 4), "float32")
    for _, x in layouts(arr):
        out = tf.roll(x, shifts, dims)
        check(out, np.roll(arr, shifts, dims))
        assert not np.shares_memory(out.numpy(), x.numpy())
    with pytest.raises(ValueError, match="same length"):
        tf.roll(tt(arr), (1, 2), 0)


# ---- pad --------------------------------------------------------------------------
def np_pad(arr, pad, mode, value=0.0):
    """torch.nn.functional.pad's (last dim first) convention on NumPy."""
    widths = [(0, 0)] * arr.ndim
    for i in range(len(pad) // 2):
        widths[arr.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return np.pad(arr, widths, mode="constant", constant_values=value)
    return np.pad(arr, widths, mode={"reflect": "reflect", "replicate": "edge"}[mode])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("pad", [(1, 2), (0, 0), (2, 1, 1, 0), (1, 1, 2, 2, 1, 0)])
def test_pad_matches_numpy(dtype, mode, pad):
    arr = sample((3, 4, 5), dtype)
    value = {"bool": True, "int64": 7}.get(dtype, -1.5) if mode == "constant" else 0.0
    for _, x in layouts(arr):
        check(tf.pad(x, pad, mode=mode, value=value), np_pad(arr, pad, mode, value))


def test_pad_negative_crops_in_constant_mode():
    arr = sample((4, 6), "float64")
    check(tf.pad(tt(arr), (-1, 2, 1, -2)),
          np.pad(arr[:2, 1:], ((1, 0), (0, 2))))
    check(tf.pad(tt(arr), (-6, 0)), np.zeros((4, 0)))


def test_pad_size0_dims_and_broadcast_input():
    arr = sample((0, 3), "float32")
    check(tf.pad(tt(arr), (1, 1, 2, 0), value=3.0), np_pad(arr, (1, 1, 2, 0), "constant", 3.0))
    base = sample((1, 3), "int64")
    x = tt(base).expand(2, 3)
    full = np.broadcast_to(base, (2, 3))
    check(tf.pad(x, (2, 2, 1, 1), mode="reflect"), np_pad(full, (2, 2, 1, 1), "reflect"))
    check(tf.pad(x, (3, 3), mode="replicate"), np_pad(full, (3, 3), "replicate"))


def test_pad_value_conversion_to_int_and_bool():
    check(tf.pad(tt([1, 2]), (1, 1), value=2.9), np.array([2, 1, 2, 2]))
    check(tf.pad(tt([False]), (1, 0), value=1.0), np.array([True, False]))


def test_pad_errors():
    x = tf.zeros(2, 3)
    with pytest.raises(ValueError, match=r"pad: reflect padding \(3, 0\) of dim 1 must be less than the size 3"):
        tf.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="pad: replicate padding of dim 0 needs a non-empty dim"):
        tf.pad(tf.zeros(0, 3), (0, 0, 1, 0), mode="replicate")
    with pytest.raises(ValueError, match="negative padding .* only supported in constant mode"):
        tf.pad(x, (-1, 0), mode="replicate")
    with pytest.raises(ValueError, match="crops more than"):
        tf.pad(x, (-2, -2))
    with pytest.raises(ValueError, match="padding length 3 must be even"):
        tf.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="padding length 6"):
        tf.pad(x, (1,) * 6)
    with pytest.raises(ValueError, match="mode must be one of"):
        tf.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="circular padding of .* wraps around more than once"):
        tf.pad(x, (4, 0), mode="circular")


# ---- tril / triu ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [-5, -1, 0, 1, 2, 7, 2 ** 62, -2 ** 62])
def test_tril_triu_match_numpy(dtype, k):
    arr = sample((2, 4, 5), dtype)
    for _, x in layouts(arr):
        check(tf.tril(x, k), np.tril(arr, k))
        check(x.triu(k), np.triu(arr, k))


def test_tril_in_place_size0_and_errors():
    arr = sample((3, 3), "float32")
    x = tt(arr)
    assert x.tril_(-1) is x
    check(x, np.tril(arr, -1))
    x = tt(arr)
    x.triu_()
    check(x, np.triu(arr))
    check(tf.tril(tf.zeros(0, 3)), np.zeros((0, 3), np.float32))
    check(tf.triu(tf.zeros(2, 3, 0)), np.zeros((2, 3, 0), np.float32))
    with pytest.raises(ValueError, match=r"tril: input must have at least 2 dims, got shape \(3,\)"):
        tf.tril(tf.zeros(3))
    with pytest.raises(ValueError, match="triu: input must have at least 2 dims"):
        tf.triu(tt(1.0))


# ---- large inputs take the threaded paths; results must not change ------------
def test_threaded_paths_match_numpy_and_each_other():
    arr = sample((300, 257), "float32")
    x = tt(arr).T
    results, before = [], tf.get_num_threads()
    try:
        for threads in (1, 4):
            tf.set_num_threads(threads)
            r = (tf.pad(x, (3, 2, 1, 4), mode="reflect"), tf.tril(x, 3),
                 tf.flip(x, (0, 1)), x[tt(np.arange(256, -1, -2))])
            results.append([t.numpy().copy() for t in r])
    finally:
        tf.set_num_threads(before)
    check(tf.pad(x, (3, 2, 1, 4), mode="reflect"), np_pad(arr.T, (3, 2, 1, 4), "reflect"))
    check(tf.tril(x, 3), np.tril(arr.T, 3))
    check(x[tt(np.arange(256, -1, -2))], arr.T[np.arange(256, -1, -2)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ---- hypothesis -----------------------------------------------------------------
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple)


@HYPOTHESIS
@given(shape=shapes, data=st.data())
def test_hypothesis_cat_pad(shape, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    dtype = data.draw(st.sampled_from(DTYPES))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    arrs = [sample(shape[:dim % ndim] + (s,) + shape[dim % ndim + 1:], dtype, i)
            for i, s in enumerate(sizes)]
    check(tf.cat([tt(a) for a in arrs], dim), np.concatenate(arrs, dim))
    arr = arrs[0]
    npad = data.draw(st.integers(0, ndim))
    pad = tuple(data.draw(st.integers(0, 3)) for _ in range(2 * npad))
    check(tf.pad(tt(arr), pad, value=1), np_pad(arr, pad, "constant", 1))
    # replicate needs non-empty padded dims; reflect needs pad < size
    padded = [arr.shape[arr.ndim - 1 - i] for i in range(npad)
              if pad[2 * i] or pad[2 * i + 1]]
    if all(s > 0 for s in padded):
        check(tf.pad(tt(arr), pad, mode="replicate"), np_pad(arr, pad, "replicate"))
    if all(pad[2 * i] < arr.shape[arr.ndim - 1 - i] and pad[2 * i + 1] < arr.shape[arr.ndim - 1 - i]
           for i in range(npad) if pad[2 * i] or pad[2 * i + 1]):
        check(tf.pad(tt(arr), pad, mode="reflect"), np_pad(arr, pad, "reflect"))


def test_no_leaks():
    before = tf._C.live_tensors()
    x = tt(sample((3, 4), "float32"))
    tf.cat([x, x]), tf.pad(x, (1, 1), mode="reflect"), tf.flip(x, 0), tf.tril(x)
    with pytest.raises(ValueError):
        tf.pad(x, (9, 9), mode="reflect")
    del x
    assert tf._C.live_tensors() == before
