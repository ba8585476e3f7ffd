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


# ---- tinyfin.Generator ------------------------------------------------------------
def test_generator_draws_the_default_generators_numbers_without_moving_it():
    tf.manual_seed(11)
    expected = tf.rand(1000, dtype=tf.float64).numpy().copy()
    tf.manual_seed(11)
    before = tf.get_rng_state()
    g = tf.Generator().manual_seed(11)
    got = tf.rand(1000, dtype=tf.float64, generator=g).numpy()
    np.testing.assert_array_equal(got, expected)
    assert tf.get_rng_state() == before          # the default did not move
    assert g.get_state() == (11, before[1] + 500)  # 2 float64 per Philox block


def test_generator_state_resumes_the_stream_and_survives_pickle():
    import pickle
    g = tf.Generator().manual_seed(3)
    tf.randn(7, generator=g)
    state = g.get_state()
    first = tf.randint(0, 100, (50,), generator=g).numpy().copy()
    g.set_state(state)
    np.testing.assert_array_equal(tf.randint(0, 100, (50,), generator=g).numpy(), first)
    g.set_state(state)
    h = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(tf.randint(0, 100, (50,), generator=h).numpy(), first)
    assert h.initial_seed() == 3


def test_generator_is_independent_of_thread_count():
    n = 200_000  # several parallel chunks
    before = tf.get_num_threads()
    try:
        draws = []
        for threads in (1, 2):
            tf.set_num_threads(threads)
            draws.append(tf.randn(n, generator=tf.Generator().manual_seed(8)).numpy().copy())
    finally:
        tf.set_num_threads(before)
    np.testing.assert_array_equal(draws[0], draws[1])


def test_generator_argument_errors():
    with pytest.raises(TypeError, match="rand: generator must be a tinyfin.Generator"):
        tf.rand(3, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="set_state: expected the"):
        tf.Generator().set_state([1, 2])
    assert tf.manual_seed(5) is tf.default_generator and tf.initial_seed() == 5
    assert tf.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1


# ---- the stream against an independent reference ---------------------------------------
# Philox4x32-10 in Python integers and the draws' definitions (random_scalar.h)
# in exact arithmetic (mpmath for Box-Muller), from get_rng_state's (seed,
# counter): uniforms and integers must match bit for bit, normals within a
# few ULP of the exact Box-Muller value (tr_log and tr_sincos_2pi are
# polynomials, shared with the CUDA kernel so both devices round alike).
M32 = 0xFFFFFFFF


def _philox(seed, counter):
    c = [counter & M32, counter >> 32, 0, 0]
    k0, k1 = seed & M32, seed >> 32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c


def _blocks(n_blocks):
    seed, counter = tf.get_rng_state()
    return [_philox(seed, counter + b) for b in range(n_blocks)]


def test_uniforms_and_integers_are_the_philox_stream_bit_for_bit():
    tf.manual_seed(2024)
    words = _blocks(3)
    got = tf.rand(10).numpy()  # 4 per block: the last block half used
    want = [(w[s] >> 8) / 2 ** 24 for w in words for s in range(4)][:10]
    np.testing.assert_array_equal(got, np.array(want, np.float32))
    words = _blocks(3)
    got = tf.rand(5, dtype=tf.float64).numpy()
    want = [(((w[2 * s] << 32) | w[2 * s + 1]) >> 11) / 2 ** 53 for w in words
            for s in range(2)][:5]
    np.testing.assert_array_equal(got, np.array(want))
    low, high = -2 ** 62, 2 ** 62 + 12345
    words = _blocks(7)
    got = tf.randint(low, high, (7,)).numpy()
    want = [low + ((high - low) * ((w[0] << 96) | (w[1] << 64) | (w[2] << 32) | w[3]) >> 128)
            for w in words]
    assert got.tolist() == want


def test_normals_are_box_muller_of_the_stream_within_a_few_ulp():
    import mpmath
    mpmath.mp.prec = 80
    tf.manual_seed(77)
    n = 4000
    words = _blocks(n // 2)
    got = tf.randn(n, dtype=tf.float64).numpy()
    worst = 0.0
    for b, w in enumerate(words):
        # the open uniform as tr_unit53_open rounds it: (k + 1/2) 2^-53 in double
        u1 = mpmath.mpf((float(((w[0] << 32) | w[1]) >> 11) + 0.5) * 2 ** -53)
        u2 = mpmath.mpf(((w[2] << 32) | w[3]) >> 11) / 2 ** 53
        radius = mpmath.sqrt(-2 * mpmath.log(u1))
        for s, trig in enumerate((mpmath.cos, mpmath.sin)):
            exact = radius * trig(2 * mpmath.pi * u2)
            # an absolute bound at the radius' scale: near a zero of cos or sin
            # the value is small but its error is still the radius' rounding
            err = abs(float(got[2 * b + s] - exact)) / (float(radius) * 2 ** -52)
            worst = max(worst, err)
    assert worst <= 2, worst  # 1.01 seen
