"""Gradients of the shape and indexing ops: gradcheck and gradgradcheck
(float64 central differences) for every op, on contiguous and
non-contiguous inputs, repeated indices and masks; .grad values against
hand-computed NumPy results; writes into graph tensors; the leaf in-place
error."""
import gc

import numpy as np
import pytest

import tinyfin as tf
from tinyfin.autograd import grad, gradcheck, gradgradcheck

F64 = tf.float64
# Finite differences in float64 (gradcheck's defaults: eps 1e-6).
ATOL, RTOL = 1e-5, 1e-3
# .grad against NumPy: every gradient here is a sum of a few float64 terms.
EXACT = 1e-12

_rng = np.random.default_rng(0)


def _sum_differentiable() -> bool:
    return tf.ones(2, dtype=F64, requires_grad=True).sum().requires_grad


def leaf(*shape, layout: str = "contiguous") -> tf.Tensor:
    """A float64 leaf requiring grad, laid out as asked: 'contiguous',
    't' (a transposed view), 'step' (every other element of the last dim)
    or 'expand' (a stride-0 view along the first dim)."""
    if layout == "t":
        base = tf.tensor(_rng.standard_normal(shape[::-1]), dtype=F64)
        x = base.t() if len(shape) == 2 else base.permute(*range(len(shape) - 1, -1, -1))
    elif layout == "step":
        base = tf.tensor(_rng.standard_normal(shape[:-1] + (2 * shape[-1],)), dtype=F64)
        x = base[..., ::2]
    elif layout == "expand":
        base = tf.tensor(_rng.standard_normal((1,) + shape[1:]), dtype=F64)
        x = base.expand(*shape)
    else:
        x = tf.tensor(_rng.standard_normal(shape), dtype=F64)
    assert x.shape == shape
    assert layout == "contiguous" or not x.is_contiguous()
    return x.requires_grad_()


def check(fn, *inputs, needs_sum: bool = False) -> None:
    """gradcheck, then gradgradcheck (which needs differentiable reductions
    when the formula broadcasts)."""
    assert gradcheck(fn, inputs, atol=ATOL, rtol=RTOL)
    if needs_sum and not _sum_differentiable():
        pytest.skip("second derivative needs differentiable reductions (sum)")
    assert gradgradcheck(fn, inputs, atol=ATOL, rtol=RTOL)


def grads_of(out, inputs, seed):
    return grad(out, inputs, tf.tensor(seed, dtype=F64), allow_unused=True)


LAYOUTS = ["contiguous", "t", "step"]


# ---- joining and splitting ------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(layout, dim):
    a, b = leaf(2, 3, layout=layout), leaf(2, 3)
    check(lambda a, b: tf.cat([a, b, a], dim), a, b)


def test_cat_skips_empty_and_constant_inputs():
    a = leaf(2, 2)
    const = tf.tensor(_rng.standard_normal((1, 2)), dtype=F64)
    empty = tf.zeros(0, dtype=F64, requires_grad=True)
    check(lambda a, e: tf.cat([a, e, const], 0), a, empty)
    seed = _rng.standard_normal((3, 2))
    ga, ge = grads_of(tf.cat([a, empty, const], 0), [a, empty], seed)
    np.testing.assert_allclose(ga.numpy(), seed[:2], rtol=EXACT)
    assert ge.shape == (0,)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim):
    a, b = leaf(2, 3), leaf(2, 3, layout="t")
    check(lambda a, b: tf.stack([a, b], dim), a, b)


def test_hstack_vstack():
    a, b, s = leaf(3), leaf(2), leaf()
    check(lambda a, b, s: tf.hstack([a, s, b]), a, b, s)
    c, d = leaf(3), leaf(2, 3, layout="t")
    check(lambda c, d: tf.vstack([c, d]), c, d)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_split_chunk_unbind_narrow(layout):
    x = leaf(3, 4, layout=layout)
    check(lambda x: tf.split(x, 2, 1), x)
    check(lambda x: tf.split(x, [1, 0, 2], 0), x)
    check(lambda x: tf.chunk(x, 3, -1), x)
    check(lambda x: tf.unbind(x, 1), x)
    check(lambda x: x.narrow(1, -3, 2), x)


def test_split_pieces_used_partly_and_twice():
    x = leaf(5)
    a, b = tf.split(x, [2, 3])
    seed = _rng.standard_normal(3)
    (g,) = grads_of(tf.cat([b, b]), [x], np.concatenate([seed, seed]))
    np.testing.assert_allclose(g.numpy(), np.r_[0, 0, 2 * seed], rtol=EXACT)
    assert tf.unbind(x)[3].grad_fn is not None


# ---- reordering, repetition, padding ------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_flip(layout):
    x = leaf(2, 3, layout=layout)
    check(lambda x: tf.flip(x, (0, 1)), x)
    check(lambda x: x.fliplr(), x)
    check(lambda x: x.flipud(), x)


@pytest.mark.parametrize("layout", ["contiguous", "t", "expand"])
def test_repeat_tile(layout):
    x = leaf(2, 2, layout=layout)
    check(lambda x: x.repeat(2, 1, 3), x, needs_sum=True)


def test_tile_and_repeat_grad_values():
    x = leaf(2, 3)
    seed = _rng.standard_normal((4, 3))
    (g,) = grads_of(tf.tile(x, (2, 1)), [x], seed)
    np.testing.assert_allclose(g.numpy(), seed[:2] + seed[2:], rtol=EXACT)
    check(lambda x: tf.tile(x, (2,)), x, needs_sum=True)


@pytest.mark.parametrize("shifts, dims", [(1, 0), (-2, 1), ((1, 2), (0, 1)),
                                          (3, None), (0, 1)])
def test_roll(shifts, dims):
    x = leaf(2, 3, layout="t")
    check(lambda x: tf.roll(x, shifts, dims), x)


@pytest.mark.parametrize("pad, mode, value", [
    ((1, 2), "constant", 0.5), ((1, -1, 0, 2), "constant", 0.0),
    ((-1, -1), "constant", 0.0), ((2, 1, 1, 2), "reflect", 0.0),
    ((1, 2), "replicate", 0.0), ((3, 1, 0, 2), "replicate", 0.0),
])
def test_pad(pad, mode, value):
    x = leaf(3, 4, layout="step")
    check(lambda x: tf.pad(x, pad, mode=mode, value=value), x)


def test_pad_3d_reflect():
    x = leaf(2, 3, 3)
    check(lambda x: tf.pad(x, (1, 1, 2, 0), mode="reflect"), x)


def test_pad_grad_values():
    x = leaf(4)
    seed = _rng.standard_normal(8)
    (g,) = grads_of(tf.pad(x, (2, 2), mode="reflect"), [x], seed)
    expect = np.zeros(4)
    np.add.at(expect, [2, 1, 0, 1, 2, 3, 2, 1], seed)
    np.testing.assert_allclose(g.numpy(), expect, rtol=EXACT)
    (g,) = grads_of(tf.pad(x, (2, 2), mode="replicate"), [x], seed)
    np.testing.assert_allclose(
        g.numpy(), [seed[:3].sum(), seed[3], seed[4], seed[5:].sum()], rtol=EXACT)
    (g,) = grads_of(tf.pad(x, (1, -2), value=7.0), [x], seed[:3])
    np.testing.assert_allclose(g.numpy(), [seed[1], seed[2], 0, 0], rtol=EXACT)


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_triu(diagonal):
    x = leaf(2, 3, 3, layout="t")
    check(lambda x: tf.tril(x, diagonal), x)
    check(lambda x: tf.triu(x, diagonal), x)


def test_tril_triu_in_place_on_graph_tensors():
    x = leaf(3, 3)
    check(lambda x: (x * 1.0).tril_(), x)
    check(lambda x: (x * 1.0).triu_(1), x)
    y = x * 2.0
    y.tril_()
    seed = _rng.standard_normal((3, 3))
    (g,) = grads_of(y, [x], seed)
    np.testing.assert_allclose(g.numpy(), 2 * np.tril(seed), rtol=EXACT)


# ---- gather / scatter / index_select / take_along_dim ---------------------------------
def test_gather():
    x = leaf(3, 4, layout="t")
    idx = tf.tensor([[0, 0, 2], [1, 1, 1]])
    check(lambda x: tf.gather(x, 1, idx), x)
    check(lambda x: tf.gather(x, 0, tf.tensor([[2, 2, 0, 1]])), x)
    seed = _rng.standard_normal((2, 3))
    (g,) = grads_of(tf.gather(x, 1, idx), [x], seed)
    expect = np.zeros((3, 4))
    expect[0, 0] = seed[0, 0] + seed[0, 1]
    expect[0, 2] = seed[0, 2]
    expect[1, 1] = seed[1].sum()
    np.testing.assert_allclose(g.numpy(), expect, rtol=EXACT)


def test_scatter_add():
    x, src = leaf(3, 4, layout="step"), leaf(2, 4)
    idx = tf.tensor([[0, 2, 0], [0, 0, 1]])  # smaller than src: a part is unused
    check(lambda x, s: tf.scatter_add(x, 0, idx, s), x, src)
    check(lambda x, s: tf.scatter_add(x, 1, tf.tensor([[3, 3], [0, 1]]), s), x, src)
    seed = _rng.standard_normal((3, 4))
    gx, gs = grads_of(tf.scatter_add(x, 0, idx, src), [x, src], seed)
    np.testing.assert_allclose(gx.numpy(), seed, rtol=EXACT)
    expect = np.zeros((2, 4))
    expect[:, :3] = np.take_along_axis(seed[:, :3], idx.numpy(), 0)
    np.testing.assert_allclose(gs.numpy(), expect, rtol=EXACT)


def test_scatter_add_in_place_on_graph_tensor():
    x, src = leaf(3, 2), leaf(2, 2)
    idx = tf.tensor([[1, 1], [1, 0]])
    check(lambda x, s: (x * 1.0).scatter_add_(0, idx, s), x, src)


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select(dim):
    x = leaf(3, 3, layout="t")
    check(lambda x: tf.index_select(x, dim, tf.tensor([2, 0, 2, 2])), x)
    check(lambda x: tf.index_select(x, dim, tf.tensor(1)), x)
    seed = _rng.standard_normal((3,))
    x1 = leaf(3)
    (g,) = grads_of(tf.index_select(x1, 0, tf.tensor([1, 1, 0])), [x1], seed)
    np.testing.assert_allclose(g.numpy(), [seed[2], seed[0] + seed[1], 0], rtol=EXACT)


def test_index_select_0d():
    x = leaf()
    check(lambda x: tf.index_select(x, 0, tf.tensor(0)), x)
    check(lambda x: tf.index_select(x, 0, tf.tensor([0, 0])), x)


def test_take_along_dim():
    x = leaf(3, 4, layout="t")
    idx = tf.tensor([[0, 3, 3], [1, 1, 1], [2, 0, 0]])
    check(lambda x: tf.take_along_dim(x, idx, 1), x)
    check(lambda x: tf.take_along_dim(x, tf.tensor([5, 5, 0])), x)
    check(lambda x: tf.take_along_dim(x, tf.tensor([[1], [1]]).reshape(1, 2), 1), x,
          needs_sum=True)  # input broadcast: expand's gradient sums


# ---- getitem --------------------------------------------------------------------------
GET_INDICES = [
    1, -1, slice(1, None), slice(None, None, 2), (1, slice(0, 3, 2)),
    (Ellipsis, 1), (None, 0), (slice(None), None, -2), (), Ellipsis, True,
    [0, 0, 2], ([0, 2, 2], [1, 1, 0]), (slice(None), [2, 0, 2]),
    (slice(None), [[0, 0], [1, 2]]),    # a 2-D index
    (slice(0, 2), [True, False, True]),  # a mask
]
GET_INDICES_3D = [
    ([1, 1], slice(None), [0, 2]),      # separated: the index dims go first
    (1, slice(None), [0, 0, 2]),        # an int counts as advanced too
    (slice(None), [0, 1, 1], 2),
    (Ellipsis, [2, 2]),
]


@pytest.mark.parametrize("index", GET_INDICES, ids=repr)
@pytest.mark.parametrize("layout", ["contiguous", "t"])
def test_getitem(index, layout):
    x = leaf(3, 3, layout=layout)
    check(lambda x: x[index], x)


@pytest.mark.parametrize("index", GET_INDICES_3D, ids=repr)
def test_getitem_3d(index):
    x = leaf(2, 2, 3, layout="t")
    check(lambda x: x[index], x)


def test_getitem_mask_and_tensor_index():
    x = leaf(2, 3, layout="t")
    mask = tf.tensor([[True, False, True], [False, False, True]])
    check(lambda x: x[mask], x)
    check(lambda x: x[tf.tensor([1, 1, 0])], x)


def test_getitem_grad_values():
    x = leaf(4)
    x[[0, 0, 1]].backward(tf.ones(3, dtype=F64))
    np.testing.assert_allclose(x.grad.numpy(), [2, 1, 0, 0], rtol=EXACT)
    m = leaf(3, 4)
    seed = _rng.standard_normal((3, 2))
    (g,) = grads_of(m[:, 1::2], [m], seed)
    expect = np.zeros((3, 4))
    expect[:, 1::2] = seed
    np.testing.assert_allclose(g.numpy(), expect, rtol=EXACT)
    seed = _rng.standard_normal(3)
    (g,) = grads_of(m[[2, 0, 2], [1, 1, 1]], [m], seed)
    expect = np.zeros((3, 4))
    np.add.at(expect, ([2, 0, 2], [1, 1, 1]), seed)
    np.testing.assert_allclose(g.numpy(), expect, rtol=EXACT)


def test_getitem_without_grad_records_nothing():
    x = leaf(3)
    with tf.no_grad():
        assert x[[0, 1]].grad_fn is None and not x[1:].requires_grad
    assert x[0].grad_fn is not None and x[...].grad_fn is not None


# ---- setitem / index_put ------------------------------------------------------------
SET_CASES = [  # (index, shape of the value, whether the value broadcasts)
    (1, (3,), False), (slice(0, 2), (1, 3), True), ((slice(None), 1), (), True),
    ((0, slice(0, 3, 2)), (2,), False), ([2, 0], (2, 3), False),
    (([0, 2], [1, 2]), (2,), False), ((slice(None), [0, 2]), (3, 1), True),
    (((0, 1, 1), (2, 2, 0)), (3,), False),
    ("mask", (5,), False),
]


@pytest.mark.parametrize("index, vshape, broadcasts", SET_CASES, ids=repr)
def test_setitem_on_graph_tensor(index, vshape, broadcasts):
    if index == "mask":
        index = tf.tensor([[True, False, True], [False, True, True],
                           [False, False, True]])
    x, v = leaf(3, 3), leaf(*vshape)

    def fn(x, v):
        y = x * 1.0
        y[index] = v
        return y
    check(fn, x, v, needs_sum=broadcasts)


def test_setitem_grad_values():
    x, v = leaf(3, 2), leaf(2)
    y = x * 2.0
    y[1] = v
    assert y.grad_fn is not None
    w = _rng.standard_normal((3, 2))
    gx, gv = grads_of(y * tf.tensor(w, dtype=F64), [x, v], np.ones((3, 2)))
    expect = 2 * w
    expect[1] = 0
    np.testing.assert_allclose(gx.numpy(), expect, rtol=EXACT)
    np.testing.assert_allclose(gv.numpy(), w[1], rtol=EXACT)


def test_setitem_scalar_and_into_constant_tensor():
    x = leaf(2, 3, layout="t")

    def fn(x):
        y = x.exp()  # saves its output: the write below must not hit it
        z = y * 1.0
        z[:, 1] = 0.5
        return z
    check(fn, x)
    # A constant tensor takes the graph of the value written into it.
    v = leaf(2)
    c = tf.zeros(3, 2, dtype=F64)
    c[1] = v
    assert c.requires_grad and not c.is_leaf
    (g,) = grads_of(c, [v], np.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(g.numpy(), [2, 3], rtol=EXACT)


def test_index_put_accumulate_repeated():
    x, v = leaf(4), leaf(3)
    idx = (tf.tensor([1, 1, 3]),)
    check(lambda x, v: tf.index_put(x, idx, v, accumulate=True), x, v)
    check(lambda x, v: (x * 1.0).index_put_(idx, v, accumulate=True), x, v)
    check(lambda x, v: tf.index_put(x, (tf.tensor([0, 2]),), v[:2]), x, v)
    seed = _rng.standard_normal(4)
    gx, gv = grads_of(tf.index_put(x, idx, v, accumulate=True), [x, v], seed)
    np.testing.assert_allclose(gx.numpy(), seed, rtol=EXACT)
    np.testing.assert_allclose(gv.numpy(), seed[[1, 1, 3]], rtol=EXACT)
    gx, gv = grads_of(tf.index_put(x, (tf.tensor([0, 2]),), v[:2]), [x, v], seed)
    np.testing.assert_allclose(gx.numpy(), [0, seed[1], 0, seed[3]], rtol=EXACT)
    np.testing.assert_allclose(gv.numpy(), [seed[0], seed[2], 0], rtol=EXACT)


def test_setitem_float32_value_into_float64():
    x = leaf(3)
    v = tf.tensor([1.5], dtype=tf.float32, requires_grad=True)
    y = x * 1.0
    y[[0]] = v
    (gv,) = grads_of(y, [v], [4.0, 5.0, 6.0])
    assert gv.dtype is tf.float32
    np.testing.assert_allclose(gv.numpy(), [4.0])


# ---- masks ---------------------------------------------------------------------
def test_masked_fill_and_select():
    x = leaf(2, 3, layout="t")
    mask = tf.tensor([[True, False, True], [False, False, True]])
    check(lambda x: tf.masked_fill(x, mask, 2.0), x)
    check(lambda x: tf.masked_fill(x, mask[0], -1.0), x)  # broadcast mask
    check(lambda x: (x * 1.0).masked_fill_(mask, 0.0), x)
    check(lambda x: tf.masked_select(x, mask), x)
    seed = _rng.standard_normal((2, 3))
    (g,) = grads_of(tf.masked_fill(x, mask, 2.0), [x], seed)
    np.testing.assert_allclose(g.numpy(), np.where(mask.numpy(), 0, seed), rtol=EXACT)


def test_masked_fill_tensor_value_and_broadcast_select():
    x, v = leaf(2, 3), leaf()
    mask = tf.tensor([[True, False, True], [False, False, True]])
    check(lambda x, v: tf.masked_fill(x, mask, v), x, v, needs_sum=True)
    check(lambda x: tf.masked_select(x, tf.tensor([True, False, True])), x,
          needs_sum=True)


def test_non_differentiable_outputs():
    x = leaf(2, 3)
    assert not tf.nonzero(x).requires_grad
    assert not tf.argwhere(x).requires_grad
    assert not any(t.requires_grad for t in tf.nonzero(x, as_tuple=True))


# ---- errors and in-place rules -------------------------------------------------
def test_leaf_in_place_is_an_error():
    x = leaf(3, 3)
    with pytest.raises(RuntimeError,
                       match="index_put_: a leaf Variable that requires grad"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="index_put_: a leaf Variable"):
        x.index_put_((tf.tensor([0]),), tf.tensor(1.0, dtype=F64))
    with pytest.raises(RuntimeError, match="tril_: a leaf Variable"):
        x.tril_()
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf Variable"):
        x.masked_fill_(tf.tensor(True), 0.0)
    with pytest.raises(RuntimeError, match="scatter_add_: a leaf Variable"):
        x.scatter_add_(0, tf.tensor([[0]]), tf.ones(1, 1, dtype=F64))
    with tf.no_grad():  # allowed, as in PyTorch
        x[0] = 1.0
    np.testing.assert_array_equal(x.detach().numpy()[0], [1, 1, 1])
    assert x.is_leaf and x.grad_fn is None


def test_in_place_write_to_saved_tensor_is_caught():
    x = leaf(3)
    y = x.exp()          # saves its output
    z = y[[0, 2]]
    y[1] = 0.0           # y is in the graph: a recorded write, version bumped
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(tf.ones(3, dtype=F64))
    np.testing.assert_allclose(z.detach().numpy(), np.exp(x.detach().numpy())[[0, 2]])
    idx = tf.tensor([0, 1])
    w = tf.gather(x, 0, idx)
    idx[0] = 1
    with pytest.raises(RuntimeError, match="gather saved a tensor"):
        w.backward(tf.ones(2, dtype=F64))


def test_index_errors_still_raise_with_grad():
    x = leaf(2, 3)
    with pytest.raises(IndexError, match="out of bounds for dimension 1"):
        x[:, [0, 3]]
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0"):
        x[2]
    with pytest.raises(ValueError, match="shape mismatch"):
        y = x * 1.0
        y[0] = tf.ones(2, dtype=F64, requires_grad=True)


def test_graphs_are_freed_by_reference_counting():
    """Nodes hold no reference back to their outputs: with the cycle
    collector off, every C tensor of a graph (and of its gradient's graph)
    goes when the last Python name does."""
    gc.collect()
    start = tf._C.live_tensors()
    gc.disable()
    try:
        for _ in range(20):
            x, v = leaf(3, 4), leaf(2)
            y = x * 1.0
            y[[0, 2], 1] = v
            z = tf.cat([y[[0, 0]], tf.pad(y[1:, ::2], (1, 1), mode="reflect").flip(0)], 1)
            out = tf.gather(z, 1, tf.tensor([[0, 5], [3, 3]])).tril()
            out = out * out  # so the gradient depends on x
            gx, gv = grad(out, [x, v], tf.ones(2, 2, dtype=F64), create_graph=True)
            grad(gx, [x], tf.ones(3, 4, dtype=F64), allow_unused=True)
            del x, v, y, z, out, gx, gv
        assert tf._C.live_tensors() == start
    finally:
        gc.enable()
