"""nn.init: each initialiser's distribution (Kolmogorov-Smirnov against the
closed form), its bounds and gains, reproducibility from a seed on any thread
count, and the errors."""
import math

import numpy as np
import pytest

import tinyfin as tf
from tinyfin.nn import init

CRIT = math.sqrt(-0.5 * math.log(1e-6 / 2))   # KS critical value at alpha 1e-6
_erf = np.vectorize(math.erf, otypes=[np.float64])


def ks(values, cdf):
    x = np.sort(np.asarray(values, np.float64).ravel())
    n = x.size
    c = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n))
    return d * math.sqrt(n)


def normal_cdf(mean, std):
    return lambda x: 0.5 * (1 + _erf((x - mean) / (std * math.sqrt(2))))


def uniform_cdf(lo, hi):
    return lambda x: np.clip((x - lo) / (hi - lo), 0, 1)


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(2 / 6)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_uniform_and_normal(dtype):
    tf.manual_seed(0)
    t = tf.empty(200, 300, dtype=dtype)
    init.uniform_(t, -2.0, 3.0)
    v = t.numpy()
    assert v.min() >= -2 and v.max() < 3 and ks(v, uniform_cdf(-2, 3)) < CRIT
    init.normal_(t, 1.5, 0.5)
    assert ks(t.numpy(), normal_cdf(1.5, 0.5)) < CRIT


def test_fans_and_kaiming_xavier_bounds():
    tf.manual_seed(1)
    w = tf.empty(64, 32, 3, 3)            # fan_in 288, fan_out 576
    assert init._calculate_fan_in_and_fan_out(w) == (288, 576)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(288)     # = 1 / sqrt(fan_in)
    assert abs(bound - 1 / math.sqrt(288)) < 1e-15
    assert ks(w.numpy(), uniform_cdf(-bound, bound)) < CRIT and np.abs(w.numpy()).max() <= bound
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert ks(w.numpy(), normal_cdf(0, math.sqrt(2) / math.sqrt(576))) < CRIT
    init.xavier_uniform_(w, gain=2.0)
    a = 2 * math.sqrt(6 / (288 + 576))
    assert ks(w.numpy(), uniform_cdf(-a, a)) < CRIT
    init.xavier_normal_(w)
    assert ks(w.numpy(), normal_cdf(0, math.sqrt(2 / (288 + 576)))) < CRIT


def test_trunc_normal_stays_in_bounds_and_follows_the_truncated_law():
    tf.manual_seed(2)
    t = tf.empty(100_000, dtype=tf.float64)
    mean, std, a, b = 0.5, 1.0, -0.5, 2.0
    init.trunc_normal_(t, mean, std, a, b)
    v = t.numpy()
    assert v.min() >= a and v.max() <= b
    phi = normal_cdf(mean, std)
    lo, hi = phi(np.array(a)), phi(np.array(b))
    assert ks(v, lambda x: (phi(x) - lo) / (hi - lo)) < CRIT
    # a tail interval, where rejection sampling would stall
    init.trunc_normal_(t, 0.0, 1.0, 5.0, 6.0)
    assert t.numpy().min() >= 5 and t.numpy().max() <= 6


def test_quantile_is_accurate():
    # the inverse normal CDF behind trunc_normal_, against mpmath
    mpmath = pytest.importorskip("mpmath")
    p = np.array([1e-300, 1e-10, 0.001, 0.02, 0.3, 0.5, 0.9, 0.97575, 0.999999, 1 - 2 ** -40])
    got = init._normal_quantile(p)
    with mpmath.workdps(40):
        for pi, g in zip(p, got):
            want = float(mpmath.findroot(lambda x: mpmath.ncdf(x) - mpmath.mpf(pi), g))
            assert abs(g - want) <= 4e-16 * max(1, abs(want)), (pi, g, want)


def test_orthogonal():
    tf.manual_seed(3)
    for shape in [(6, 4), (4, 6), (5, 2, 3)]:
        t = tf.empty(*shape, dtype=tf.float64)
        init.orthogonal_(t, gain=2.0)
        q = t.numpy().reshape(shape[0], -1)
        gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
        np.testing.assert_allclose(gram, 4 * np.eye(min(q.shape)), atol=1e-12)


def test_constants_and_eye():
    t = tf.empty(3, 4)
    init.constant_(t, 0.25)
    assert np.all(t.numpy() == 0.25)
    init.zeros_(t)
    assert np.all(t.numpy() == 0)
    init.ones_(t)
    assert np.all(t.numpy() == 1)
    init.eye_(t)
    np.testing.assert_array_equal(t.numpy(), np.eye(3, 4))


def test_a_seed_gives_the_same_weights_on_any_thread_count_and_generator():
    before = tf.get_num_threads()
    draws = []
    try:
        for threads in (1, 2):
            tf.set_num_threads(threads)
            tf.manual_seed(7)
            t = tf.empty(300, 400)       # 120000 values: several parallel chunks
            init.kaiming_uniform_(t)
            draws.append(t.numpy().copy())
    finally:
        tf.set_num_threads(before)
    np.testing.assert_array_equal(draws[0], draws[1])
    t = tf.empty(300, 400)
    init.kaiming_uniform_(t, generator=tf.Generator().manual_seed(7))
    np.testing.assert_array_equal(t.numpy(), draws[0])


def test_init_writes_under_no_grad_into_a_parameter():
    p = tf.nn.Parameter(tf.zeros(3, 3))
    init.normal_(p)
    assert p.requires_grad and p.grad_fn is None and p.detach().numpy().std() > 0


def test_errors_and_zero_element_tensors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tf.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(tf.empty(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="expected a float32 or float64 tensor"):
        init.uniform_(tf.zeros(3, dtype=tf.int64))
    with pytest.raises(TypeError, match="generator must be a tinyfin.Generator"):
        init.normal_(tf.empty(3), generator=1)
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(tf.empty(0, 3))
