"""matmul and its forms against NumPy float64, on every rank combination,
broadcast batches, non-contiguous operands and empty dims.

Tolerance: float32 products accumulate in float32, so each element may be off
by about K * eps32 * sum|a||b| (the Higham bound gamma_K); we allow
4 * K * eps * sum|a_ik||b_kj| per element. float64 likewise with eps64.
int64 is exact."""
import numpy as np
import pytest

import tinyfin as tf
from verify.backends import promise, running

RNG = np.random.default_rng(1234)
SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 6), (6, 7)),
          ((2, 1, 4, 5), (3, 5, 2)), ((4, 5), (2, 5, 3)), ((3,), (2, 3, 4)),
          ((2, 4, 3), (3,)), ((2, 3, 4, 5), (2, 3, 5, 6)), ((0, 3), (3, 4)),
          ((2, 0), (0, 3)), ((4, 3), (3, 0)), ((40, 70), (70, 33))]


def _check_close(result, a, b, dtype):
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    bound = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    k = a.shape[-1]
    eps = np.finfo(np.float32 if dtype == "float32" else np.float64).eps
    assert result.shape == expected.shape
    assert np.all(np.abs(result - expected) <= 4 * max(k, 1) * eps * bound + 1e-300)


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_matches_numpy(sa, sb, dtype):
    a = RNG.standard_normal(sa).astype(dtype)
    b = RNG.standard_normal(sb).astype(dtype)
    result = tf.matmul(tf.tensor(a), tf.tensor(b)).numpy()
    _check_close(result, a, b, dtype)
    assert (tf.tensor(a) @ tf.tensor(b)).shape == np.matmul(a, b).shape


@pytest.mark.parametrize("sa,sb", SHAPES[:8])
def test_matmul_int64_is_exact(sa, sb):
    a = RNG.integers(-50, 50, sa)
    b = RNG.integers(-50, 50, sb)
    np.testing.assert_array_equal(tf.matmul(tf.tensor(a), tf.tensor(b)).numpy(), np.matmul(a, b))


def test_matmul_int64_wraps():
    a = np.array([[2 ** 62, 2 ** 62]])
    b = np.array([[2], [2]])
    assert tf.matmul(tf.tensor(a), tf.tensor(b)).item() == np.matmul(a, b).item()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_non_contiguous_operands(dtype):
    base_a = RNG.standard_normal((7, 9)).astype(dtype)
    base_b = RNG.standard_normal((9, 7)).astype(dtype)
    a, b = tf.tensor(base_a), tf.tensor(base_b)
    _check_close((a.T @ b.T).numpy(), base_a.T, base_b.T, dtype)         # transposed
    _check_close((a[::2] @ b[:, 1::3]).numpy(), base_a[::2], base_b[:, 1::3], dtype)
    v = tf.tensor(base_b[:, 0])
    batched = a.unsqueeze(0).expand(3, 7, 9)                              # stride-0 batch
    _check_close((batched @ v).numpy(), np.broadcast_to(base_a, (3, 7, 9)), base_b[:, 0], dtype)


def test_matmul_empty_inner_dim_gives_zeros():
    out = tf.matmul(tf.ones(3, 0), tf.ones(0, 4))
    assert out.shape == (3, 4) and not out.numpy().any()


@pytest.mark.parametrize("backend", running("matmul"))
def test_matmul_bits_across_threads_as_the_backend_promises(backend):
    """cpu: the same bits with 1 and 2 threads; every backend: the same bits
    when repeated at a fixed thread count (verify/backends.py PROMISES)."""
    rng = np.random.default_rng(77)
    a = tf.tensor(rng.standard_normal((257, 513)).astype(np.float32))
    b = tf.tensor(rng.standard_normal((513, 129)).astype(np.float32))
    before = tf.get_num_threads()
    runs = {}
    try:
        with tf.backends.use(backend):
            for n in (1, 2):
                tf.set_num_threads(n)
                runs[n] = [(a @ b).numpy().tobytes() for _ in range(3)]
    finally:
        tf.set_num_threads(before)
    for n, bits in runs.items():
        assert bits.count(bits[0]) == len(bits), f"{backend}: runs on {n} thread(s) differ"
    if promise(backend).across_threads:
        assert runs[1][0] == runs[2][0], f"{backend}: 1 and 2 threads differ"


def test_fixed_rank_forms():
    a = RNG.standard_normal((3, 4))
    b = RNG.standard_normal((4, 2))
    v = RNG.standard_normal(4)
    w = RNG.standard_normal(3)
    A, B, V, W = (tf.tensor(x) for x in (a, b, v, w))
    np.testing.assert_allclose(tf.mm(A, B).numpy(), a @ b, rtol=1e-13)
    np.testing.assert_allclose(tf.mv(A, V).numpy(), a @ v, rtol=1e-13)
    np.testing.assert_allclose(tf.dot(V, V).item(), v @ v, rtol=1e-13)
    np.testing.assert_allclose(tf.outer(W, V).numpy(), np.outer(w, v), rtol=1e-15)
    batch = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(tf.bmm(tf.tensor(batch), tf.tensor(np.stack([b, b]))).numpy(),
                               batch @ b, rtol=1e-13)


def test_fixed_rank_errors():
    with pytest.raises(ValueError, match=r"mm: expected a 2-D tensor, got shape \(3,\)"):
        tf.mm(tf.ones(3), tf.ones(3, 3))
    with pytest.raises(ValueError, match=r"bmm: batch sizes differ"):
        tf.bmm(tf.ones(2, 3, 4), tf.ones(3, 4, 5))
    with pytest.raises(ValueError, match=r"dot: expected two 1-D tensors of one length"):
        tf.dot(tf.ones(3), tf.ones(4))
    with pytest.raises(ValueError, match=r"matmul: batch dims of \(2, 3, 4\) and \(5, 4, 2\) cannot be broadcast"):
        tf.ones(2, 3, 4) @ tf.ones(5, 4, 2)
