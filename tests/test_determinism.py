"""Determinism (issue 4, 2f; issue 9): results never depend on the run, and
depend on the thread count only where the backend says so.

What each backend promises is declared once, in verify/backends.py PROMISES,
and tested here exactly: "cpu" gives bitwise the same results for every
thread count (and run), and so does "blas" (OpenBLAS on one thread, tiles
of C on a grid fixed by the shape); a backend may promise less (bitwise the
same only when a call is repeated at a fixed thread count). Every test runs with its backend
chosen (`backend` parameter, else the reference "cpu"); the tests of ops
with a kernel of their own on more than the cpu backend (matmul, and the
backward of graphs built on it) are parametrized over those backends.

* backward of a small MLP-like graph (matmul, tanh, softmax, log_softmax,
  sum, broadcasting add) run twice gives bitwise identical gradients, and
  the bits the backend promises with 1 and 2 threads;
* with tinyfin.set_num_threads(1) and (2), bitwise identical results for
  large (>= 2**20 elements) elementwise ops (contiguous, transposed,
  broadcast), reductions over each dim and over all dims, softmax /
  log_softmax, matmul / bmm (incl. transposed operands; per backend, as
  promised), cat / stack / gather / index_select / scatter_add (repeated
  indices) / masked_select / take_along_dim / index_put with accumulate,
  and random generation with the same seed;
* matmul repeated several times at each thread count, at shapes where
  OpenBLAS's own threads would change the bits (500^3 float32, 300^3
  float64);
* the float64 double-double kernels give the same bits through their
  vectorized blocks and element by element (a block holding a NaN, a
  strided view).
The thread count and the backend are restored after every test.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinyfin as tf

from verify.backends import promise, running

BIG = 1 << 20
THREADS = (1, 2)
REPEATS = 3          # runs per thread count where only repeats are promised
TFD = {np.float32: tf.float32, np.float64: tf.float64}
DTYPES = [np.float32, np.float64]
DT_IDS = ["float32", "float64"]
MATMUL_BACKENDS = running("matmul")     # ["cpu", "blas"] where OpenBLAS loads


@pytest.fixture(autouse=True)
def _restore_threads_and_choose_backend(request):
    before = tf.get_num_threads()
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    with tf.backends.use(params.get("backend", "cpu")):
        yield
    tf.set_num_threads(before)


def bits(x) -> list:
    """Copies of the values of a tensor (or of each tensor in a tuple/list)."""
    if isinstance(x, (tuple, list)):
        return [a for t in x for a in bits(t)]
    return [np.array(x.numpy(), copy=True)]


def assert_same_bits(a: list, b: list, what: str) -> None:
    assert len(a) == len(b), what
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.dtype == y.dtype and x.shape == y.shape, (what, i)
        if x.dtype.kind == "f":
            ix = x.view(np.int32 if x.dtype == np.float32 else np.int64)
            iy = y.view(ix.dtype)
            diff = ix != iy
            assert not diff.any(), (
                f"{what} (output {i}): {int(diff.sum())} of {x.size} values "
                f"differ in their bits, first at {np.argwhere(diff)[0].tolist()}: "
                f"{x[diff][0]!r} vs {y[diff][0]!r}")
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what} (output {i})")


def same_with_1_and_2_threads(fn, what: str) -> list:
    """Run fn() with each thread count; all results must have equal bits."""
    results = []
    for n in THREADS:
        tf.set_num_threads(n)
        assert tf.get_num_threads() == n
        results.append(bits(fn()))
    for r in results[1:]:
        assert_same_bits(results[0], r, f"{what}: {THREADS[0]} vs other threads")
    return results[0]


def same_on_repeat(fn, what: str, repeats: int = REPEATS) -> list:
    """Run fn() `repeats` times with each thread count; at each count all
    runs must have equal bits (the counts may differ from each other)."""
    first = None
    for n in THREADS:
        tf.set_num_threads(n)
        assert tf.get_num_threads() == n
        runs = [bits(fn()) for _ in range(repeats)]
        for k, r in enumerate(runs[1:], 2):
            assert_same_bits(runs[0], r, f"{what}: run {k} vs run 1 on {n} thread(s)")
        first = runs[0] if first is None else first
    return first


def as_promised(fn, what: str, repeats: int = REPEATS) -> list:
    """The claim of the backend chosen now (verify/backends.py): the same bits
    with 1 and 2 threads, or the same bits on repeat at each thread count."""
    if promise(tf.backends.current()).across_threads:
        return same_with_1_and_2_threads(fn, what)
    return same_on_repeat(fn, what, repeats)


def data(shape, dtype, seed=0, lo=-3.0, hi=3.0) -> "tf.Tensor":
    rng = np.random.default_rng(seed)
    return tf.tensor(rng.uniform(lo, hi, size=shape).astype(dtype))


# ---- backward ----------------------------------------------------------------------
MLP_OPS = ("matmul", "add", "tanh", "softmax", "log_softmax", "logsumexp", "mul", "sub",
           "sum", "mean")


def _mlp_grads(dtype, seed=0):
    rng = np.random.default_rng(seed)

    def leaf(*shape, scale=1.0):
        return tf.tensor((rng.standard_normal(shape) * scale).astype(dtype),
                         requires_grad=True)
    x = leaf(256, 128)
    w1, b1 = leaf(128, 256, scale=0.1), leaf(256, scale=0.1)
    w2, b2 = leaf(256, 32, scale=0.1), leaf(32, scale=0.1)
    target = tf.tensor(rng.random((256, 32)).astype(dtype))
    params = [x, w1, b1, w2, b2]

    def run():
        h = tf.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        p = tf.softmax(logits, 1)
        lp = tf.log_softmax(logits, 1)
        loss = (p * target).sum() - (lp * target).sum(1).mean() + \
            tf.logsumexp(logits, 1).sum()
        return tf.autograd.grad(loss, params)
    return run


@pytest.mark.verify_ops(*MLP_OPS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("backend", MATMUL_BACKENDS)
def test_backward_twice_is_bitwise_identical(backend, dtype):
    run = _mlp_grads(dtype)
    first, second = bits(run()), bits(run())
    assert_same_bits(first, second, "MLP gradients, run twice")
    assert all(np.isfinite(g).all() for g in first)
    # a fresh graph over fresh leaves with the same values
    run2 = _mlp_grads(dtype)
    again = bits(run2())
    assert_same_bits(first, again, "MLP gradients, fresh graph and leaves")


@pytest.mark.verify_ops(*MLP_OPS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("backend", MATMUL_BACKENDS)
def test_backward_threads_as_promised(backend, dtype):
    run = _mlp_grads(dtype, seed=1)
    as_promised(run, "MLP gradients")


@pytest.mark.verify_ops("matmul", "tanh", "softmax", "sum", "square")
@pytest.mark.parametrize("backend", MATMUL_BACKENDS)
def test_backward_with_tensor_backward_twice(backend):
    def run():
        rng = np.random.default_rng(5)
        w = tf.tensor(rng.standard_normal((512, 512)), requires_grad=True)
        x = tf.tensor(rng.standard_normal((64, 512)))
        loss = tf.softmax(tf.tanh(x @ w), 0).sum(0).square().sum()
        loss.backward()
        return w.grad
    assert_same_bits(bits(run()), bits(run()), "Tensor.backward twice")


# ---- elementwise ------------------------------------------------------------------------
UNARY = ["exp", "tanh", "sigmoid", "softplus", "gelu", "erf", "silu", "expm1"]


@pytest.mark.verify_ops(*UNARY, "log", "sqrt", "add", "mul", "div", "pow", "maximum", "where", "logical_xor")
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_elementwise_as_promised(dtype):
    x = data((1024, 1024), dtype)           # 2**20 elements
    y = data((1024, 1024), dtype, seed=1, lo=0.5, hi=2.0)
    row = data((1024,), dtype, seed=2)
    xt = x.t()                              # a transposed view
    for name in UNARY:
        f = getattr(tf, name)
        as_promised(lambda: f(x), name)
        as_promised(lambda: f(xt), f"{name} transposed")
    as_promised(lambda: tf.log(y), "log")
    as_promised(lambda: tf.sqrt(y.t()), "sqrt transposed")
    as_promised(lambda: x + y, "add")
    as_promised(lambda: x * row, "mul broadcast")
    as_promised(lambda: xt / y, "div transposed")
    as_promised(lambda: y ** x, "pow")
    as_promised(lambda: tf.maximum(x, xt), "maximum")
    as_promised(lambda: tf.where(x > 0, x, y), "where")
    as_promised(lambda: (x > y).logical_xor(xt < 0), "logic")


# ---- reductions -----------------------------------------------------------------------------
def _reductions():
    return {
        "sum": lambda t, d: t.sum(d) if d is not None else t.sum(),
        "mean": lambda t, d: t.mean(d) if d is not None else t.mean(),
        "prod": lambda t, d: (t * 0.001 + 1.0).prod(d) if d is not None
        else (t * 0.001 + 1.0).prod(),
        "var": lambda t, d: t.var(d) if d is not None else t.var(),
        "std": lambda t, d: t.std(d) if d is not None else t.std(),
        "norm": lambda t, d: tf.norm(t, dim=d),
        "amax": lambda t, d: t.amax(d) if d is not None else t.amax(),
        "argmax": lambda t, d: t.argmax(d) if d is not None else t.argmax(),
        "logsumexp": lambda t, d: tf.logsumexp(t, d if d is not None else (0, 1, 2)),
    }


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("name", list(_reductions()))
def test_reductions_as_promised(name, dtype):
    x = data((64, 128, 128), dtype)         # 2**20 elements
    f = _reductions()[name]
    for d in (0, 1, 2, None, (0, 2)):
        if isinstance(d, tuple) and name in ("argmax",):
            continue
        as_promised(lambda: f(x, d), f"{name} over dim {d}")
    # a transposed view: the reduced dim is not the innermost in memory
    xt = x.transpose(0, 2)
    as_promised(lambda: f(xt, 1), f"{name} on a transposed view")


@pytest.mark.verify_ops("softmax", "log_softmax")
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_softmax_as_promised(dtype):
    x = data((64, 128, 128), dtype, lo=-30, hi=30)
    for d in (0, 1, 2, -1):
        as_promised(lambda: tf.softmax(x, d), f"softmax dim {d}")
        as_promised(lambda: tf.log_softmax(x, d), f"log_softmax dim {d}")
    long_row = data((BIG,), dtype, seed=3, lo=-30, hi=30)
    as_promised(lambda: tf.softmax(long_row, 0), "softmax 2**20 row")


# ---- matmul ---------------------------------------------------------------------------------
# Shapes where OpenBLAS's result depended on its thread count when it ran
# threaded itself (1 vs 2 threads gave other bits): the promise of every
# backend is tested there, so a BLAS path that let OpenBLAS thread again
# would fail it.
THREAD_SENSITIVE = {np.float32: ((500, 500), (500, 500)), np.float64: ((300, 300), (300, 300))}


@pytest.mark.verify_ops("matmul", "bmm", "dot", "mv")
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("backend", MATMUL_BACKENDS)
def test_matmul_threads_as_promised(backend, dtype):
    a = data((1024, 256), dtype)
    b = data((256, 1024), dtype, seed=1)    # a @ b: 2**20 outputs
    as_promised(lambda: a @ b, "mm")
    as_promised(lambda: b.t() @ a.t(), "mm of transposed operands")
    ba = data((16, 256, 64), dtype, seed=2)
    bb = data((16, 64, 256), dtype, seed=3)
    as_promised(lambda: tf.bmm(ba, bb), "bmm")
    v = data((256,), dtype, seed=4)
    as_promised(lambda: a @ v, "mv")
    as_promised(lambda: tf.dot(a.reshape(-1), a.reshape(-1)), "dot 2**18")
    sa, sb = THREAD_SENSITIVE[dtype]
    x, y = data(sa, dtype, seed=5), data(sb, dtype, seed=6)
    as_promised(lambda: x @ y, f"mm {sa} @ {sb}")


@pytest.mark.verify_ops("matmul", "mm")
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("backend", MATMUL_BACKENDS)
def test_matmul_repeats_its_bits_at_each_thread_count(backend, dtype):
    """The promise every backend makes: a call repeated at a fixed thread
    count repeats its bits (5 runs at 1 and at 2 threads, at the shapes where
    OpenBLAS's own threads would matter, plain and with transposed
    operands)."""
    sa, sb = THREAD_SENSITIVE[dtype]
    x, y = data(sa, dtype, seed=7), data(sb, dtype, seed=8)
    same_on_repeat(lambda: x @ y, f"mm {sa} @ {sb}", repeats=5)
    same_on_repeat(lambda: x.t() @ y.t(), f"mm of transposed {sa} @ {sb}", repeats=5)


# ---- shape and index ops ----------------------------------------------------------------------
@pytest.mark.verify_ops("cat", "stack", "gather", "take_along_dim", "index_select", "scatter_add", "index_put", "masked_select", "nonzero")
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_index_ops_as_promised(dtype):
    rng = np.random.default_rng(7)
    x = data((1024, 1024), dtype)
    y = data((512, 1024), dtype, seed=1)
    as_promised(lambda: tf.cat([x, y, x.t()[:512]], 0), "cat dim 0")
    as_promised(lambda: tf.cat([x, x.t()], 1), "cat dim 1")
    as_promised(lambda: tf.stack([x, y[:1].expand(1024, 1024)], 2), "stack")
    idx = tf.tensor(rng.integers(0, 1024, size=(1024, 1024)))
    as_promised(lambda: tf.gather(x, 1, idx), "gather dim 1")
    as_promised(lambda: tf.gather(x.t(), 0, idx), "gather transposed")
    as_promised(lambda: tf.take_along_dim(x, idx, 1), "take_along_dim")
    rows = tf.tensor(rng.integers(0, 1024, size=2048))
    as_promised(lambda: tf.index_select(x, 0, rows), "index_select 0")
    as_promised(lambda: tf.index_select(x, 1, rows), "index_select 1")
    as_promised(lambda: x[rows], "getitem with an index tensor")
    # scatter_add with many repeated indices: float addition order matters
    small = tf.tensor(rng.integers(0, 16, size=(1024, 1024)))
    zeros = tf.zeros(1024, 16, dtype=TFD[dtype])
    as_promised(lambda: tf.scatter_add(zeros, 1, small, x),
                              "scatter_add with repeated indices")
    dup = tf.tensor(rng.integers(0, 64, size=1024))
    as_promised(
        lambda: tf.index_put(tf.zeros(64, 1024, dtype=TFD[dtype]), (dup,), x,
                             accumulate=True),
        "index_put accumulate with repeated indices")
    as_promised(lambda: tf.masked_select(x, x > 0), "masked_select")
    as_promised(lambda: tf.nonzero(x > 2.5), "nonzero")


# ---- random ------------------------------------------------------------------------------------
@pytest.mark.verify_ops("rand", "randn", "randint")
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_random_same_seed_same_numbers_with_1_and_2_threads(dtype):
    def draw():
        tf.manual_seed(1234)
        return (tf.rand(BIG, dtype=TFD[dtype]), tf.randn(1024, 1024, dtype=TFD[dtype]),
                tf.randint(-5, 1000, (BIG,)), tf.rand(3, dtype=TFD[dtype]))
    first = as_promised(draw, "rand/randn/randint with one seed")
    assert_same_bits(first, bits(draw()), "the same seed twice")
    tf.manual_seed(1235)
    other = bits(tf.rand(BIG, dtype=TFD[dtype]))
    assert not np.array_equal(first[0], other[0]), "another seed, other numbers"


# The float64 kernels of native/src/cpu/unary_dd.h run vectorized on blocks
# of 64 contiguous inputs that all lie in their main range and element by
# element otherwise; a result must not depend on which (on its neighbours,
# on the layout).
DD_OPS = [("sigmoid", {}), ("silu", {}), ("tanh", {}), ("erf", {}), ("expm1", {}),
          ("log10", {}), ("rsqrt", {}), ("elu", {}), ("gelu", {}),
          ("gelu", {"approximate": "tanh"}), ("softplus", {}),
          ("softplus", {"beta": 2.0, "threshold": 5.0})]


@pytest.mark.parametrize("op,kwargs", DD_OPS,
                         ids=[n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw in DD_OPS])
def test_float64_vector_and_scalar_paths_agree(op, kwargs):
    rng = np.random.default_rng(5)
    n = 1 << 16
    x = np.concatenate([rng.uniform(-40, 40, n), rng.standard_normal(n) * 3,
                        np.exp(rng.uniform(-60, 6, n)) * rng.choice([-1.0, 1.0], n)])
    f = getattr(tf, op)
    blocks = f(tf.from_numpy(x), **kwargs).numpy()               # vectorized blocks
    y = x.copy()
    y[::64] = np.nan                                               # every block has a NaN:
    scalar = f(tf.from_numpy(y), **kwargs).numpy()                 # element by element
    big = np.zeros(2 * x.size)
    big[::2] = x
    strided = f(tf.as_strided(tf.from_numpy(big), (x.size,), (2,), 0), **kwargs).numpy()
    keep = np.ones(x.size, bool)
    keep[::64] = False
    assert np.array_equal(blocks.view(np.int64)[keep], scalar.view(np.int64)[keep])
    assert np.array_equal(blocks.view(np.int64), strided.view(np.int64))
