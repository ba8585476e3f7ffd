"""The counter-based generator: reproducible for a seed on any thread count,
and statistically what it claims (moments within 5 standard errors, a
Kolmogorov-Smirnov distance below its 1e-6 critical value, a chi-square
test of randint's uniformity)."""
import math

import numpy as np
import pytest

import tinyfin as tf

N = 1 << 20


def test_same_seed_same_numbers():
    tf.manual_seed(7)
    a = tf.rand(1000).numpy().copy(), tf.randn(1000).numpy().copy(), tf.randint(0, 9, (1000,)).numpy().copy()
    tf.manual_seed(7)
    b = tf.rand(1000).numpy(), tf.randn(1000).numpy(), tf.randint(0, 9, (1000,)).numpy()
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()
    assert tf.initial_seed() == 7


def test_different_seeds_and_successive_calls_differ():
    tf.manual_seed(1)
    a = tf.rand(64).numpy().copy()
    b = tf.rand(64).numpy().copy()
    tf.manual_seed(2)
    c = tf.rand(64).numpy()
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("make", [lambda: tf.rand(N), lambda: tf.randn(N, dtype=tf.float64),
                                  lambda: tf.randint(-5, 5, (N,))])
def test_independent_of_thread_count(make):
    tf.set_num_threads(1)
    tf.manual_seed(3)
    one = make().numpy().copy()
    tf.set_num_threads(2)
    tf.manual_seed(3)
    two = make().numpy()
    assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_rand_moments_and_range(dtype):
    tf.manual_seed(11)
    x = tf.rand(N, dtype=dtype).numpy().astype(np.float64)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 5 * math.sqrt(1 / 12 / N)
    assert abs(x.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / N)


def _ks_normal(x):
    x = np.sort(x)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    n = len(x)
    return max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_randn_is_standard_normal(dtype):
    tf.manual_seed(12)
    x = tf.randn(N, dtype=dtype).numpy().astype(np.float64)
    assert abs(x.mean()) < 5 / math.sqrt(N)
    assert abs(x.var() - 1) < 5 * math.sqrt(2 / N)
    assert abs(np.mean(x ** 4) - 3) < 5 * math.sqrt(96 / N)   # kurtosis
    # KS distance: the 1e-6 critical value is about sqrt(-ln(5e-7) / 2 / n).
    sample = x[:100_000]
    assert _ks_normal(sample) < math.sqrt(-math.log(5e-7) / 2 / len(sample))


def test_randint_range_and_uniformity():
    tf.manual_seed(13)
    x = tf.randint(-3, 7, (N,)).numpy()
    assert x.min() == -3 and x.max() == 6
    counts = np.bincount(x + 3, minlength=10)
    expected = N / 10
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 37.9  # chi-square, 9 degrees of freedom, p = 1e-5


def test_randint_extreme_range_and_dtypes():
    x = tf.randint(-2 ** 62, 2 ** 62, (1000,)).numpy()
    assert x.min() >= -2 ** 62 and x.max() < 2 ** 62 and len(set(x.tolist())) > 990
    y = tf.randint(0, 5, (100,), dtype=tf.float32).numpy()
    assert set(np.unique(y)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_like_forms_and_errors():
    base = tf.zeros(2, 3, dtype=tf.float64)
    assert tf.rand_like(base).shape == (2, 3) and tf.rand_like(base).dtype is tf.float64
    assert tf.randn_like(base).dtype is tf.float64
    with pytest.raises(TypeError, match="randn: expected a float32 or float64 dtype, got int64"):
        tf.randn(3, dtype=tf.int64)
    with pytest.raises(ValueError, match=r"randint: high \(3\) must be greater than low \(5\)"):
        tf.randint(5, 3, (2,))
