"""embedding, one_hot and the Embedding module: values against NumPy,
repeated indices accumulating exactly (np.add.at), padding_idx rows with no
gradient, second derivatives, the N(0, 1) initialisation, from_pretrained,
errors naming the index and num_embeddings, and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.autograd.gradcheck import gradcheck, gradgradcheck


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_forward_against_numpy(dtype):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1000, 64)).astype(dtype.numpy)
    idx = rng.integers(0, 1000, (30, 40))                       # 76800 output elements
    got = F.embedding(tf.tensor(idx), tf.tensor(w)).numpy()
    np.testing.assert_array_equal(got, w[idx])
    # non-contiguous weight and indices
    wt = tf.tensor(np.ascontiguousarray(w.T)).T
    it = tf.tensor(np.ascontiguousarray(idx.T)).T
    np.testing.assert_array_equal(F.embedding(it, wt).numpy(), w[idx])
    assert F.embedding(tf.tensor(np.array(7)), tf.tensor(w)).shape == (64,)
    assert F.embedding(tf.zeros(0, 3, dtype=tf.int64), tf.tensor(w)).shape == (0, 3, 64)


def test_repeated_indices_accumulate_exactly():
    rng = np.random.default_rng(1)
    w = tf.tensor(rng.standard_normal((50, 8)), requires_grad=True)
    idx = rng.integers(0, 10, (400, 7))                         # each of 10 rows ~280 times
    g = rng.integers(-8, 9, (400, 7, 8)) / 4.0                  # sums exact in float64
    F.embedding(tf.tensor(idx), w).backward(tf.tensor(g))
    want = np.zeros((50, 8))
    np.add.at(want, idx.reshape(-1), g.reshape(-1, 8))
    np.testing.assert_array_equal(w.grad.numpy(), want)


@pytest.mark.parametrize("padding_idx,row", [(2, 2), (-1, 4), (0, 0)])
def test_padding_idx_row_gets_no_gradient(padding_idx, row):
    idx = np.array([[0, 2, 2], [4, 0, 2], [1, 4, 3]])
    w0 = np.random.default_rng(2).standard_normal((5, 3))
    w = tf.tensor(w0, requires_grad=True)
    out = F.embedding(tf.tensor(idx), w, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.detach().numpy(), w0[idx])   # the padding row is still read
    g = np.random.default_rng(3).standard_normal((3, 3, 3))
    out.backward(tf.tensor(g))
    want = np.zeros((5, 3))
    np.add.at(want, idx.reshape(-1), g.reshape(-1, 3))
    want[row] = 0
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-15)


def test_gradcheck_and_second_derivatives():
    idx = tf.tensor(np.array([[0, 3, 3], [1, 0, 2]]))
    w = tf.tensor(np.random.default_rng(4).standard_normal((4, 2)), requires_grad=True)
    assert gradcheck(lambda v: F.embedding(idx, v), (w,))
    assert gradgradcheck(lambda v: F.embedding(idx, v), (w,))
    # with padding: the backward B(g) = index_add(mask * g) has adjoint
    # mask * index_select; its own gradient (double backward) must be that
    g = tf.tensor(np.random.default_rng(5).standard_normal((2, 3, 2)), requires_grad=True)
    out = F.embedding(idx, w, padding_idx=3)
    (gw,) = tf.autograd.grad(out, w, g, create_graph=True)
    v = np.random.default_rng(6).standard_normal((4, 2))
    (gg,) = tf.autograd.grad((gw * tf.tensor(v)).sum(), g)
    want = v[idx.numpy()] * (idx.numpy() != 3)[..., None]
    np.testing.assert_allclose(gg.numpy(), want, rtol=1e-15)


def test_errors_name_the_index_and_num_embeddings():
    w = tf.ones(3, 2)
    with pytest.raises(IndexError, match=r"embedding: index 5 \(at flat position 2\) is out of range "
                                         r"for num_embeddings 3 \(valid: 0 to 2\)"):
        F.embedding(tf.tensor([[0, 1], [5, 1]]), w)
    with pytest.raises(IndexError, match=r"index -1 .*num_embeddings 3"):
        F.embedding(tf.tensor([-1]), w)
    with pytest.raises(TypeError, match="embedding: expected int64 indices, got float64"):
        F.embedding(tf.tensor([0.0], dtype=tf.float64), w)
    with pytest.raises(ValueError, match=r"weight must be 2-d"):
        F.embedding(tf.tensor([0]), tf.ones(3))
    with pytest.raises(ValueError, match=r"padding_idx must be within num_embeddings: got 3"):
        F.embedding(tf.tensor([0]), w, padding_idx=3)
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(tf.tensor([0]), w, max_norm=1.0)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be within num_embeddings: got -4"):
        nn.Embedding(3, 2, padding_idx=-4)
    with pytest.raises(ValueError, match=r"Embedding: shape of _weight \(3, 2\) does not match"):
        nn.Embedding(4, 2, _weight=tf.ones(3, 2))
    with pytest.raises(ValueError, match="from_pretrained: embeddings must be 2-d"):
        nn.Embedding.from_pretrained(tf.ones(3))


def test_module_init_padding_and_repr():
    tf.manual_seed(0)
    m = nn.Embedding(2000, 50, padding_idx=-3)
    assert m.padding_idx == 1997 and repr(m) == "Embedding(2000, 50, padding_idx=1997)"
    w = m.weight.detach().numpy()
    assert m.weight.requires_grad and list(m.state_dict()) == ["weight"]
    np.testing.assert_array_equal(w[1997], 0)
    rest = np.delete(w, 1997, axis=0).astype(np.float64).ravel()   # 99950 N(0, 1) draws
    n = rest.size
    assert abs(rest.mean()) < 5 / np.sqrt(n)
    assert abs(rest.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(np.abs(rest) < 1) - 0.682689492) < 5 * np.sqrt(0.2166 / n)
    # the padding row gets no gradient through the module
    out = m(tf.tensor([[1997, 3, 3]]))
    out.sum().backward()
    assert m.weight.grad.numpy()[1997].sum() == 0 and m.weight.grad.numpy()[3].sum() == 100
    # same seed, same table; a generator for reset_parameters
    tf.manual_seed(0)
    np.testing.assert_array_equal(nn.Embedding(2000, 50, padding_idx=-3).weight.detach().numpy(), w)
    m.reset_parameters(generator=tf.Generator().manual_seed(1))
    np.testing.assert_array_equal(m.weight.detach().numpy()[1997], 0)


def test_from_pretrained():
    e = tf.tensor(np.arange(6.0).reshape(3, 2))
    m = nn.Embedding.from_pretrained(e)
    assert not m.weight.requires_grad and repr(m) == "Embedding(3, 2)"
    np.testing.assert_array_equal(m(tf.tensor([2, 0])).numpy(), [[4, 5], [0, 1]])
    m2 = nn.Embedding.from_pretrained(e, freeze=False, padding_idx=0)
    assert m2.weight.requires_grad
    np.testing.assert_array_equal(m2.weight.detach().numpy()[0], [0, 1])   # not zeroed (PyTorch)


def test_one_hot():
    t = np.array([[0, 3], [1, 3], [2, 0]])
    got = F.one_hot(tf.tensor(t)).numpy()
    assert got.dtype == np.int64 and got.shape == (3, 2, 4)
    np.testing.assert_array_equal(got, (t[..., None] == np.arange(4)).astype(np.int64))
    np.testing.assert_array_equal(F.one_hot(tf.tensor(t), 6).numpy(), (t[..., None] == np.arange(6)))
    assert F.one_hot(tf.zeros(0, dtype=tf.int64), 5).shape == (0, 5)
    big = np.random.default_rng(7).integers(0, 10, (300, 200))
    np.testing.assert_array_equal(F.one_hot(tf.tensor(big), 10).numpy(), np.eye(10, dtype=np.int64)[big])
    with pytest.raises(ValueError, match=r"one_hot: class values must be smaller than num_classes \(3\), got 5"):
        F.one_hot(tf.tensor([1, 5]), 3)
    with pytest.raises(ValueError, match=r"one_hot: class values must be non-negative, got -2"):
        F.one_hot(tf.tensor([-2, 1]), 3)
    with pytest.raises(ValueError, match="can not infer the total number of classes"):
        F.one_hot(tf.zeros(0, dtype=tf.int64))
    with pytest.raises(TypeError, match="one_hot: expected int64"):
        F.one_hot(tf.tensor([1.0]))


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal((7, 4))
    idx = rng.integers(0, 7, (5, 6))
    g = rng.standard_normal((5, 6, 4))
    for pad in (None, 3, -2):
        tw = torch.tensor(w0, requires_grad=True)
        tout = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=pad)
        tout.backward(torch.tensor(g))
        fw = tf.tensor(w0, requires_grad=True)
        fout = F.embedding(tf.tensor(idx), fw, padding_idx=pad)
        fout.backward(tf.tensor(g))
        np.testing.assert_array_equal(fout.detach().numpy(), tout.detach().numpy())
        np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), rtol=1e-14, atol=1e-15)
    # the module: identical weights through the state dict, same padding and repr
    tm = torch.nn.Embedding(7, 4, padding_idx=-1)
    fm = nn.Embedding(7, 4, padding_idx=-1)
    assert repr(tm) == repr(fm) and fm.padding_idx == tm.padding_idx
    fm.load_state_dict({"weight": tf.tensor(tm.weight.detach().numpy())})
    np.testing.assert_array_equal(fm(tf.tensor(idx)).detach().numpy(),
                                  tm(torch.tensor(idx)).detach().numpy())
    np.testing.assert_array_equal(F.one_hot(tf.tensor(idx), 9).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx), 9).numpy())
