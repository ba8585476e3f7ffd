"""The Tensor object: creation (tensor() defaults, NumPy arrays of every dtype
and layout, zeros/ones/full/empty, arange, linspace, eye, *_like), NumPy
interop (zero-copy .numpy(), lifetime), metadata, views that share storage,
dtype conversion, repr and the dtype objects."""
from __future__ import annotations

import gc
import math
import pickle

import numpy as np
import pytest

import tinyfin as tf
from helpers_elementwise import T, assert_exact


def same_storage(a, b) -> bool:
    return bool(tf._C.tf_tensor_same_storage(a._h, b._h))


# ---- tensor(): Python data and defaults -------------------------------------
@pytest.mark.parametrize("data,dtype,shape", [
    ([1.0, 2.0], tf.float32, (2,)),
    ([1, 2.5], tf.float32, (2,)),
    ([1, 2], tf.int64, (2,)),
    ([True, False], tf.bool, (2,)),
    ([[1, 2, 3], [4, 5, 6]], tf.int64, (2, 3)),
    ([[[1.0]], [[2.0]]], tf.float32, (2, 1, 1)),
    ([], tf.float32, (0,)),
    ([[], []], tf.float32, (2, 0)),
])
def test_tensor_from_python_data(data, dtype, shape):
    t = tf.tensor(data)
    assert t.dtype is dtype and t.shape == shape
    assert_exact(t.numpy(), np.array(data, dtype=dtype.numpy))


@pytest.mark.parametrize("value,dtype", [(3.5, tf.float32), (3, tf.int64),
                                         (True, tf.bool), (-0.0, tf.float32)])
def test_tensor_from_python_scalar_is_0d(value, dtype):
    t = tf.tensor(value)
    assert t.shape == (), f"tensor({value!r}) has shape {t.shape}, expected ()"
    assert t.dtype is dtype and t.ndim == 0 and t.numel() == 1
    assert t.item() == value


def test_tensor_from_0d_numpy_array_is_0d():
    t = tf.tensor(np.array(2.5))
    assert t.shape == () and t.dtype is tf.float64 and t.item() == 2.5
    t = tf.tensor(np.float32(1.25))
    assert t.shape == () and t.item() == 1.25


def test_tensor_with_dtype():
    assert tf.tensor([1, 2], dtype=tf.float64).dtype is tf.float64
    assert tf.tensor([1.5], dtype="float64").dtype is tf.float64
    t = tf.tensor([1.7, -1.7, -0.5, float("nan")], dtype=tf.int64)
    assert t.tolist() == [1, -1, 0, 0]  # truncation toward zero; NaN -> 0
    assert tf.tensor([0, 2, -1], dtype=tf.bool).tolist() == [False, True, True]
    # float64 input values round once to float32
    assert tf.tensor([0.1]).tolist() == [float(np.float32(0.1))]


def test_tensor_copies_its_input():
    a = np.arange(4.0)
    t = tf.tensor(a)
    a[0] = 99
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    u = tf.tensor(t)
    t.add_(1)
    assert u.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_tensor_rejects_bad_data():
    with pytest.raises(ValueError, match=r"tensor: expected sequence of length 2 at dim 1 \(got 1\)"):
        tf.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="tensor: could not infer a dtype"):
        tf.tensor(["a", "b"])
    with pytest.raises(TypeError, match="tensor: NumPy dtype complex"):
        tf.tensor(np.zeros(2, np.complex64))
    with pytest.raises(RuntimeError, match="cuda"):
        tf.tensor([1.0], device="cuda")
    with pytest.raises(TypeError, match="Tensor"):
        tf.Tensor([1.0])


# ---- tensor(): NumPy arrays -------------------------------------------------
@pytest.mark.parametrize("np_dtype,tf_dtype", [
    (np.float16, tf.float32), (np.float32, tf.float32), (np.float64, tf.float64),
    (np.int8, tf.int64), (np.int16, tf.int64), (np.int32, tf.int64),
    (np.int64, tf.int64), (np.uint8, tf.int64), (np.uint16, tf.int64),
    (np.uint32, tf.int64), (np.uint64, tf.int64), (np.bool_, tf.bool),
])
def test_tensor_from_numpy_dtypes(np_dtype, tf_dtype):
    a = np.array([[0, 1, 2], [3, 4, 5]]).astype(np_dtype)
    if np.dtype(np_dtype).kind in "iuf" and np.dtype(np_dtype).kind != "u":
        a[0, 0] = -3
    t = tf.tensor(a)
    assert t.dtype is tf_dtype and t.shape == (2, 3)
    assert_exact(t.numpy(), a.astype(tf_dtype.numpy))
    assert_exact(tf.from_numpy(a).numpy(), a.astype(tf_dtype.numpy))


def test_tensor_from_uint64_beyond_int64_is_not_wrapped():
    """2**63 + 5 does not fit int64: an error, never a silently negative value."""
    a = np.array([2 ** 63 + 5], np.uint64)
    with pytest.raises((OverflowError, ValueError, TypeError)):
        tf.tensor(a)


@pytest.mark.parametrize("make", [
    lambda a: a.T,
    lambda a: a[:, ::2],
    lambda a: a[::-1],
    lambda a: a[::-1, ::-3],
    lambda a: a[1:, 1:3],
    lambda a: np.broadcast_to(a[:1], a.shape),
    lambda a: a.reshape(3, 4, 1)[:, ::-1, 0],
], ids=["T", "step", "neg_rows", "neg_both", "slice", "broadcast", "reshape_neg"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_tensor_from_non_contiguous_numpy(make, dtype):
    a = make(np.arange(12).reshape(3, 4).astype(dtype))
    t = tf.tensor(a)
    assert t.shape == a.shape and t.is_contiguous()
    assert_exact(t.numpy(), np.ascontiguousarray(a))


# ---- zeros / ones / full / empty --------------------------------------------
@pytest.mark.parametrize("args,shape", [
    ((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([2, 3],), (2, 3)), (((),), ()),
    ((0,), (0,)), ((2, 0, 3), (2, 0, 3)), ((5,), (5,)),
])
def test_zeros_ones_shape_forms(args, shape):
    z, o = tf.zeros(*args), tf.ones(*args)
    assert z.shape == shape and o.shape == shape
    assert z.dtype is tf.float32 and o.dtype is tf.float32
    assert_exact(z.numpy(), np.zeros(shape, np.float32))
    assert_exact(o.numpy(), np.ones(shape, np.float32))
    e = tf.empty(*args)
    assert e.shape == shape and e.dtype is tf.float32 and e.is_contiguous()


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64, tf.int64, tf.bool])
def test_creation_dtypes(dtype):
    assert_exact(tf.zeros(2, 2, dtype=dtype).numpy(), np.zeros((2, 2), dtype.numpy))
    assert_exact(tf.ones(3, dtype=dtype).numpy(), np.ones(3, dtype.numpy))
    assert tf.empty(4, dtype=dtype).dtype is dtype
    assert_exact(tf.full((2,), 1, dtype=dtype).numpy(), np.ones(2, dtype.numpy))


def test_full():
    assert tf.full((2,), 7).dtype is tf.int64
    assert tf.full((2,), 1.5).dtype is tf.float32
    assert tf.full((2,), True).dtype is tf.bool
    assert tf.full((2, 2), -2.5, dtype=tf.float64).tolist() == [[-2.5] * 2] * 2
    assert tf.full((), 3).shape == ()
    assert math.isnan(tf.full((1,), float("nan")).item())
    assert tf.full((1,), float("inf")).item() == math.inf
    assert tf.full(3, 2.0).shape == (3,)
    assert tf.full((1,), 2 ** 62).item() == 2 ** 62  # int64 exact, not via double


def test_creation_errors():
    with pytest.raises(ValueError, match=r"zeros: negative dimension in size \(2, -1\)"):
        tf.zeros(2, -1)
    with pytest.raises(TypeError, match=r"ones: size must be a sequence of ints, got \(2.5,\)"):
        tf.ones(2.5)
    with pytest.raises(TypeError, match="unknown dtype"):
        tf.zeros(2, dtype="complex")


def test_like_functions():
    x = tf.tensor([[1.5, 2.0], [3.0, 4.0]], dtype=tf.float64).transpose(0, 1)
    for fn, fill in ((tf.zeros_like, 0), (tf.ones_like, 1)):
        r = fn(x)
        assert r.shape == x.shape and r.dtype is tf.float64
        assert_exact(r.numpy(), np.full((2, 2), fill, np.float64))
        assert not same_storage(r, x)
    r = tf.ones_like(x, dtype=tf.int64)
    assert r.dtype is tf.int64 and r.tolist() == [[1, 1], [1, 1]]
    r = tf.full_like(x, 3)
    assert r.dtype is tf.float64 and r.tolist() == [[3.0] * 2] * 2
    r = tf.empty_like(x)
    assert r.shape == (2, 2) and r.dtype is tf.float64


# ---- arange / linspace / eye ------------------------------------------------
@pytest.mark.parametrize("args,kwargs,expected", [
    ((5,), {}, np.arange(5)),
    ((2, 7), {}, np.arange(2, 7)),
    ((-3, 4, 2), {}, np.arange(-3, 4, 2)),
    ((5, 0, -1), {}, np.arange(5, 0, -1)),
    ((5, -6, -3), {}, np.arange(5, -6, -3)),
    ((3, 3), {}, np.arange(3, 3)),
    ((3, 1), {}, np.arange(3, 1)),
    ((0,), {}, np.arange(0)),
    ((1, 2, 0.25), {}, np.arange(1, 2, 0.25, dtype=np.float32)),
    ((0, 1, 0.1), {}, (np.arange(10) * 0.1).astype(np.float32)),
    ((1.0, -1.0, -0.5), {}, np.arange(1.0, -1.0, -0.5, dtype=np.float32)),
    ((0.0, -1.0, 0.25), {}, np.zeros(0, np.float32)),
    ((5,), {"dtype": tf.float64}, np.arange(5.0)),
    ((0, 3, 0.5), {"dtype": tf.float64}, np.arange(0, 3, 0.5)),
    ((2.5,), {}, np.arange(2.5, dtype=np.float32)),
])
def test_arange(args, kwargs, expected):
    t = tf.arange(*args, **kwargs)
    assert_exact(t.numpy(), np.asarray(expected, t.dtype.numpy))
    ints = all(isinstance(a, int) for a in args)
    assert t.dtype is kwargs.get("dtype", tf.int64 if ints else tf.float32)


def test_arange_errors():
    with pytest.raises(ValueError, match="arange: step must be non-zero"):
        tf.arange(0, 5, 0)
    with pytest.raises(ValueError, match="arange: .*finite"):
        tf.arange(0, float("inf"))


@pytest.mark.parametrize("start,end,steps", [(0, 1, 5), (-3, 7, 11), (0.1, 0.7, 7),
                                             (1, -1, 4), (2.5, 2.5, 3), (0, 1, 2),
                                             (1e-3, 1e3, 9)])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_linspace(start, end, steps, dtype):
    t = tf.linspace(start, end, steps, dtype=dtype)
    expected = np.linspace(start, end, steps)
    assert t.shape == (steps,) and t.dtype is dtype
    got = t.numpy()
    # ends are exact, the rest within a rounding of NumPy's float64 values
    assert got[0] == np.array(start, dtype.numpy)
    assert got[-1] == np.array(end, dtype.numpy), f"last {got[-1]!r} != {end}"
    rtol = 1e-6 if dtype is tf.float32 else 1e-14
    np.testing.assert_allclose(got, expected.astype(dtype.numpy), rtol=rtol,
                               atol=rtol * max(abs(start), abs(end)))
    assert np.all(np.diff(got) >= 0) or np.all(np.diff(got) <= 0)  # monotone


def test_linspace_small_counts():
    assert tf.linspace(3, 9, 1).tolist() == [3.0]
    assert tf.linspace(0, 1, 0).shape == (0,)
    assert tf.linspace(0, 1, 5).dtype is tf.float32
    with pytest.raises(ValueError, match="linspace"):
        tf.linspace(0, 1, -1)


@pytest.mark.parametrize("n,m", [(3, None), (2, 4), (4, 2), (0, None), (1, 1), (0, 3)])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64, tf.int64, tf.bool])
def test_eye(n, m, dtype):
    t = tf.eye(n, m, dtype=dtype)
    assert_exact(t.numpy(), np.eye(n, m, dtype=dtype.numpy))


def test_eye_errors():
    with pytest.raises(ValueError, match="eye"):
        tf.eye(-1)


# ---- NumPy interop ----------------------------------------------------------
def test_numpy_is_zero_copy_both_ways():
    t = tf.zeros(2, 3)
    a = t.numpy()
    assert a.dtype == np.float32 and a.shape == (2, 3)
    a[1, 2] = 5.0
    assert t.tolist() == [[0.0] * 3, [0.0, 0.0, 5.0]]
    t.fill_(1.0)
    assert (a == 1.0).all()


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64, tf.int64, tf.bool])
def test_numpy_of_strided_views_shares_memory(dtype):
    base = tf.tensor(np.arange(24).reshape(4, 6), dtype=dtype)
    b = base.numpy()
    views = {
        "T": base.T,
        "transpose": base.transpose(0, 1),
        "as_strided": tf.as_strided(base, (2, 3), (12, 2), 1),
        "expand": tf.as_strided(base, (4, 6), (6, 1), 0).unsqueeze(0).expand(2, 4, 6),
    }
    expected = {
        "T": b.T, "transpose": b.T, "as_strided": b[::2, 1::2],
        "expand": np.broadcast_to(b, (2, 4, 6)),
    }
    for name, v in views.items():
        a = v.numpy()
        assert_exact(a, expected[name], name)
        assert np.shares_memory(a, b), name
        assert a.strides == tuple(s * dtype.itemsize for s in v.stride()), name
    # writes through a strided numpy view land in the tensor
    sv = views["as_strided"].numpy()
    if dtype is tf.bool:
        sv[...] = False
    else:
        sv[...] = 0
    assert_exact(base.numpy()[::2, 1::2], np.zeros((2, 3), dtype.numpy))


def test_numpy_view_keeps_storage_alive():
    gc.collect()
    start = tf._C.live_tensors()
    t = tf.arange(10, dtype=tf.float64)
    v = t.transpose(0, 0)
    a = v.numpy()
    del t, v
    gc.collect()
    # the C tensor behind the view is still alive: the array's buffer holds it
    assert tf._C.live_tensors() > start
    for _ in range(3):  # churn the allocator
        tf.ones(10, dtype=tf.float64) * 7.0
    assert_exact(a, np.arange(10.0))
    a[0] = 42.0
    assert a[0] == 42.0
    del a
    gc.collect()
    assert tf._C.live_tensors() == start


def test_numpy_of_0d_and_empty():
    z = tf.full((), 2.5)
    assert z.numpy().shape == () and z.numpy()[()] == 2.5
    e = tf.zeros(0, 3)
    assert e.numpy().shape == (0, 3)


def test_array_protocol():
    t = tf.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and np.shares_memory(a, t.numpy())
    assert_exact(np.array(t), np.array([[1, 2], [3, 4]], np.float32))
    assert_exact(np.asarray(t, dtype=np.float64), np.array([[1, 2], [3, 4]], np.float64))
    c = np.array(t, copy=True)
    c[0, 0] = 9
    assert t.tolist()[0][0] == 1.0
    assert_exact(np.add(t, t), np.array([[2, 4], [6, 8]], np.float32))  # via __array__


def test_tolist_and_item():
    assert tf.tensor([[1.5, 2.0]]).tolist() == [[1.5, 2.0]]
    assert tf.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert tf.tensor([True, False]).tolist() == [True, False]
    assert tf.full((), 3).tolist() == 3
    assert type(tf.tensor([1, 2]).tolist()[0]) is int
    assert type(tf.tensor([1.0]).tolist()[0]) is float
    assert type(tf.tensor([True]).tolist()[0]) is bool
    assert tf.tensor([[7]]).item() == 7 and type(tf.tensor([[7]]).item()) is int
    x = tf.tensor([[1.25]], dtype=tf.float64)
    assert x.item() == 1.25 and type(x.item()) is float
    assert tf.tensor([True]).item() is True
    assert tf.tensor([0.1]).item() == float(np.float32(0.1))
    assert float(tf.tensor([2.5])) == 2.5 and int(tf.tensor([3])) == 3
    assert bool(tf.tensor([0.0])) is False
    with pytest.raises(ValueError, match="item: a Tensor with 2 elements"):
        tf.tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="item"):
        tf.zeros(0).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tf.tensor([1.0, 2.0]))


# ---- metadata ---------------------------------------------------------------
def test_metadata():
    t = tf.zeros(2, 3, 4, dtype=tf.float64)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.dtype is tf.float64
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24
    assert t.size() == (2, 3, 4) and t.size(0) == 2 and t.size(-1) == 4
    assert t.stride() == (12, 4, 1) and t.stride(1) == 4 and t.stride(-1) == 1
    assert t.is_contiguous()
    assert t.element_size() == 8 and t.is_floating_point()
    assert len(t) == 2 and t.device == "cpu"
    assert t.storage_offset() == 0
    z = tf.full((), 1.0)
    assert z.shape == () and z.ndim == 0 and z.numel() == 1 and z.stride() == ()
    assert z.is_contiguous()
    with pytest.raises(TypeError, match="len"):
        len(z)
    e = tf.zeros(3, 0)
    assert e.numel() == 0 and e.is_contiguous()
    with pytest.raises(IndexError, match=r"size: dim 3 is out of range for a tensor of 3 dims"):
        t.size(3)
    with pytest.raises(IndexError, match="stride"):
        t.stride(-4)
    assert not tf.zeros(2, dtype=tf.int64).is_floating_point()


def test_is_contiguous_of_views():
    t = tf.zeros(3, 4)
    assert not t.T.is_contiguous()
    assert not tf.as_strided(t, (3, 2), (4, 2), 0).is_contiguous()
    assert tf.zeros(3, 1).expand(3, 4).is_contiguous() is False
    assert tf.zeros(3, 4).transpose(0, 1).transpose(0, 1).is_contiguous()


# ---- views ------------------------------------------------------------------
def test_reshape_is_a_view_when_it_can_be():
    t = tf.arange(12, dtype=tf.float32)
    r = t.reshape(3, 4)
    assert same_storage(r, t) and r.shape == (3, 4)
    assert t.reshape(-1, 6).shape == (2, 6)
    assert t.reshape((2, 2, 3)).shape == (2, 2, 3)
    assert tf.reshape(t, (4, -1)).shape == (4, 3)
    r.mul_(2)  # writes through the view
    assert t.tolist() == [2.0 * i for i in range(12)]
    # transposed: not expressible as a view, reshape copies
    tt = t.reshape(3, 4).T
    c = tt.reshape(12)
    assert not same_storage(c, t)
    assert_exact(c.numpy(), (np.arange(12, dtype=np.float32) * 2).reshape(3, 4).T.reshape(12))
    # a transposed tensor can still be viewed along dims that stay contiguous
    v = tf.zeros(2, 3, 4).transpose(0, 1).reshape(3, 2, 2, 2)
    assert v.shape == (3, 2, 2, 2)
    with pytest.raises(ValueError,
                       match=r"reshape: shape \(5, -1\) is invalid for input of size 12"):
        t.reshape(5, -1)
    with pytest.raises(ValueError, match="reshape"):
        t.reshape(-1, -1)


def test_view_raises_on_incompatible_strides():
    t = tf.arange(6.0).reshape(2, 3).T
    with pytest.raises(ValueError, match=r"view: shape \(6,\) is not compatible with the strides"):
        t.view(6)
    with pytest.raises(ValueError, match="use reshape"):
        t.view(-1)
    v = tf.arange(6.0).view(3, 2)
    assert v.shape == (3, 2)
    assert tf.arange(6.0).view(-1, 3).shape == (2, 3)
    assert tf.arange(6.0).view((6,)).shape == (6,)


def test_views_share_storage():
    base_np = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    t = T(base_np)
    views = {
        "transpose": (t.transpose(0, 2), base_np.transpose(2, 1, 0)),
        "permute": (t.permute(2, 0, 1), base_np.transpose(2, 0, 1)),
        "T": (t.T, base_np.transpose(2, 1, 0)),
        "mT": (t.mT, np.swapaxes(base_np, -1, -2)),
        "unsqueeze": (t.unsqueeze(1), base_np[:, None]),
        "unsqueeze-1": (t.unsqueeze(-1), base_np[..., None]),
        "squeeze": (t.unsqueeze(0).squeeze(0), base_np),
        "flatten": (t.flatten(), base_np.reshape(-1)),
        "flatten1": (t.flatten(1), base_np.reshape(2, 12)),
        "unflatten": (t.unflatten(2, (2, 2)), base_np.reshape(2, 3, 2, 2)),
        "expand": (t.unsqueeze(0).expand(5, 2, 3, 4), np.broadcast_to(base_np, (5, 2, 3, 4))),
        "contiguous": (t.contiguous(), base_np),
        "detach": (t.detach(), base_np),
    }
    for name, (v, expected) in views.items():
        assert same_storage(v, t), name
        assert_exact(v.numpy(), expected, name)
    assert t.contiguous() is t


def test_view_writes_reach_base():
    t = tf.zeros(2, 3)
    t.T.add_(1)
    t.unsqueeze(0).mul_(3)
    t.permute(1, 0).sub_(T(np.array([1.0, 2.0], np.float32)))
    assert t.tolist() == [[2.0] * 3, [1.0] * 3]


def test_squeeze_forms():
    t = tf.zeros(1, 2, 1, 3)
    assert t.squeeze().shape == (2, 3)
    assert t.squeeze(0).shape == (2, 1, 3)
    assert t.squeeze(2).shape == (1, 2, 3)
    assert t.squeeze(1).shape == (1, 2, 1, 3)  # not size 1: kept (PyTorch)
    assert t.squeeze((0, 2)).shape == (2, 3)
    assert tf.full((), 1.0).squeeze().shape == ()
    assert tf.zeros(1, 1).squeeze().shape == ()
    with pytest.raises(IndexError, match="squeeze"):
        t.squeeze(4)


def test_unsqueeze_flatten_unflatten():
    t = tf.zeros(2, 3)
    assert t.unsqueeze(0).shape == (1, 2, 3)
    assert t.unsqueeze(2).shape == (2, 3, 1)
    assert t.unsqueeze(-1).shape == (2, 3, 1)
    assert t.unsqueeze(-3).shape == (1, 2, 3)
    with pytest.raises(IndexError, match="unsqueeze: dim 3 is out of range"):
        t.unsqueeze(3)
    assert tf.full((), 1.0).flatten().shape == (1,)
    assert tf.zeros(2, 3, 4).flatten(0, 1).shape == (6, 4)
    assert tf.zeros(2, 3, 4).flatten(-2).shape == (2, 12)
    assert tf.zeros(2, 12).unflatten(1, (-1, 4)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="flatten"):
        tf.zeros(2, 3, 4).flatten(2, 1)
    with pytest.raises(ValueError, match="reshape|unflatten"):
        tf.zeros(2, 12).unflatten(1, (5, 4))


def test_transpose_permute_errors():
    t = tf.zeros(2, 3)
    with pytest.raises(IndexError, match="transpose: dim 5 is out of range"):
        t.transpose(0, 5)
    with pytest.raises(ValueError, match="permute: dim 0 appears twice"):
        t.permute(0, 0)
    with pytest.raises(ValueError, match="permute: got 3 dims"):
        t.permute(0, 1, 2)
    with pytest.raises(ValueError, match="mT"):
        tf.zeros(3).mT
    assert tf.zeros(3).T.shape == (3,)
    assert tf.zeros(2, 3).t().shape == (3, 2)


def test_expand_rules():
    t = tf.tensor([[1.0], [2.0]])
    e = t.expand(2, 3)
    assert e.stride() == (1, 0) and same_storage(e, t)
    assert_exact(e.numpy(), np.array([[1, 1, 1], [2, 2, 2]], np.float32))
    assert t.expand(-1, 4).shape == (2, 4)
    assert t.expand(3, 2, 2).shape == (3, 2, 2)
    with pytest.raises(ValueError, match=r"expand: .*\(2, 1\).*\(3, 3\)"):
        t.expand(3, 3)
    with pytest.raises(ValueError, match="expand"):
        t.expand(2)


def test_as_strided_checks_bounds():
    t = tf.zeros(6)
    v = tf.as_strided(t, (2, 2), (3, 1), 1)
    assert v.shape == (2, 2) and v.stride() == (3, 1) and v.storage_offset() == 1
    with pytest.raises((ValueError, IndexError), match="as_strided"):
        tf.as_strided(t, (2, 2), (3, 1), 4)
    with pytest.raises((ValueError, IndexError), match="as_strided"):
        tf.as_strided(t, (7,), (1,), 0)


def test_contiguous_and_clone():
    t = tf.arange(6.0).reshape(2, 3)
    assert t.contiguous() is t
    tt = t.T
    c = tt.contiguous()
    assert c.is_contiguous() and not same_storage(c, t)
    assert_exact(c.numpy(), np.arange(6.0, dtype=np.float32).reshape(2, 3).T)
    k = t.clone()
    assert not same_storage(k, t)
    k.add_(1)
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


# ---- conversions ------------------------------------------------------------
def test_conversions():
    x = tf.tensor([-1.7, 1.7, -0.5, 0.5, 2.0])
    assert x.long().tolist() == [-1, 1, 0, 0, 2]  # truncation toward zero
    assert x.long().dtype is tf.int64
    assert x.double().dtype is tf.float64
    assert x.double().tolist() == [float(np.float32(v)) for v in [-1.7, 1.7, -0.5, 0.5, 2.0]]
    assert x.bool().tolist() == [True] * 5
    assert tf.tensor([0.0, -0.0, float("nan"), 3.0]).bool().tolist() == [False, False, True, True]
    assert tf.tensor([float("nan")]).long().tolist() == [0]
    assert tf.tensor([1, 0, -3]).bool().tolist() == [True, False, True]
    assert tf.tensor([True, False]).float().tolist() == [1.0, 0.0]
    assert tf.tensor([True, False]).long().tolist() == [1, 0]
    assert tf.tensor([2 ** 53 + 1]).double().tolist() == [float(2 ** 53)]
    assert tf.tensor([3, -2]).float().tolist() == [3.0, -2.0]
    f64 = tf.tensor([0.1], dtype=tf.float64)
    assert f64.float().tolist() == [float(np.float32(0.1))]
    # .to()
    assert x.to(tf.float64).dtype is tf.float64
    assert x.to("float64").dtype is tf.float64
    assert x.to(dtype=tf.int64).dtype is tf.int64
    assert x.to(tf.float32) is x  # nothing changes: self, as in PyTorch
    assert x.float() is x
    assert x.to("cpu") is x
    assert x.to(tf.tensor([1])).dtype is tf.int64
    assert x.type_as(tf.tensor([1.0], dtype=tf.float64)).dtype is tf.float64
    with pytest.raises(RuntimeError, match="cuda"):
        x.to("cuda")
    # conversion copies; the source is unchanged by writes to the result
    d = x.double()
    d.add_(1)
    assert x.tolist()[4] == 2.0


def test_conversion_of_non_contiguous():
    t = tf.tensor(np.arange(6.0).reshape(2, 3)).T
    c = t.long()
    assert c.shape == (3, 2) and c.tolist() == [[0, 3], [1, 4], [2, 5]]


# ---- repr and dtypes --------------------------------------------------------
@pytest.mark.parametrize("make,text", [
    (lambda: tf.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: tf.tensor([1.0, 2.0], dtype=tf.float64), "tensor([1., 2.], dtype=tinyfin.float64)"),
    (lambda: tf.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: tf.tensor([True, False]), "tensor([ True, False])"),
    (lambda: tf.tensor([1.5, 2.25]), "tensor([1.5000, 2.2500])"),
    (lambda: tf.full((), 3.5), "tensor(3.5000)"),
    (lambda: tf.full((), 2), "tensor(2)"),
    (lambda: tf.zeros(0), "tensor([])"),
    (lambda: tf.zeros(0, dtype=tf.int64), "tensor([], dtype=tinyfin.int64)"),
    (lambda: tf.tensor([[1, 2], [3, 4]]), "tensor([[1, 2],\n        [3, 4]])"),
])
def test_repr(make, text):
    assert repr(make()) == text


def test_repr_of_special_values_and_views():
    r = repr(tf.tensor([float("nan"), float("inf"), -float("inf"), 1.0]))
    assert r.startswith("tensor([") and "nan" in r and "inf" in r and "-inf" in r
    r = repr(tf.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)).T)
    assert r == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"
    big = repr(tf.arange(5000))
    assert "..." in big and len(big) < 400


def test_dtype_objects():
    assert repr(tf.float32) == "tinyfin.float32"
    assert repr(tf.float64) == "tinyfin.float64"
    assert repr(tf.int64) == "tinyfin.int64"
    assert repr(tf.bool) == "tinyfin.bool"
    assert tf.float is tf.float32 and tf.double is tf.float64 and tf.long is tf.int64
    assert isinstance(tf.float32, tf.dtype)
    assert tf.float32.is_floating_point and not tf.int64.is_floating_point
    assert tf.float32.itemsize == 4 and tf.float64.itemsize == 8
    assert tf.int64.itemsize == 8 and tf.bool.itemsize == 1
    for d in (tf.float32, tf.float64, tf.int64, tf.bool):
        assert pickle.loads(pickle.dumps(d)) is d


def test_tensor_pickle_roundtrip():
    t = tf.tensor([[1.5, -2.0]], dtype=tf.float64).T
    u = pickle.loads(pickle.dumps(t))
    assert u.dtype is tf.float64 and u.tolist() == t.tolist()
