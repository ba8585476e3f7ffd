"""The BLAS backend (native/src/blas/) and the backend-selection API
(tinyfin.backends), probed adversarially from Python.

Values: every product is checked on both backends ("blas" and the reference
"cpu") against NumPy in extended precision, element by element, within
Higham's bound for a sum of k products,

    |C - C_exact|_ij <= gamma_k (|A| |B|)_ij,   gamma_k = k u / (1 - k u),

u the unit roundoff of the dtype (2^-24 for float32, 2^-53 for float64). The
reference is np.matmul in np.longdouble (64-bit mantissa on x86-64, whose
own error, gamma_k in its u, is added to the bound; where long double is
double the bound doubles), so a float64 result is held to its own bound and
not to the reference's error. A wrong transpose flag, leading dimension,
increment or batch offset gives errors the size of the sum itself.

Special values (inf, NaN, 0 * inf) are checked against an explicit
elementwise sum of products (no BLAS anywhere: IEEE semantics), against the
cpu backend and against PyTorch, which agree with each other.

Process-level behaviour (threads, fork, the environment at import) runs in
child interpreters with timeouts, so that a hang or a crash fails one test
instead of the suite.

Everything that needs OpenBLAS skips, with the reason, when the blas backend
is not available; the import-time tests for a broken TINYFIN_OPENBLAS need
no OpenBLAS."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import tinyfin as tf
from tinyfin import _C
from tinyfin.autograd.gradcheck import gradcheck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHY_NOT = tf.backends.available().get("blas", "this build has no blas backend")
needs_blas = pytest.mark.skipif(WHY_NOT is not None,
                                reason=f"the blas backend is not available: {WHY_NOT}")
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")
FLOATS = ["float32", "float64"]
RNG = np.random.default_rng(20261201)


# ---- helpers ------------------------------------------------------------------------
def _gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u)


def _reference(a: np.ndarray, b: np.ndarray):
    """np.matmul(a, b) in long double, and the per-element Higham bound of
    a product in a's dtype (plus the reference's own)."""
    exact = np.matmul(a.astype(np.longdouble), b.astype(np.longdouble))
    absprod = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    k = a.shape[-1]
    u = np.finfo(a.dtype).eps / 2
    u_ref = np.finfo(np.longdouble).eps / 2
    return exact, (_gamma(k, u) + _gamma(k, u_ref)) * absprod


def _assert_higham(result: np.ndarray, a: np.ndarray, b: np.ndarray, what: str = ""):
    exact, bound = _reference(a, b)
    assert result.shape == exact.shape, f"{what}: shape {result.shape} != {exact.shape}"
    assert result.dtype == a.dtype, f"{what}: dtype {result.dtype} != {a.dtype}"
    err = np.abs(result.astype(np.longdouble) - exact)
    bad = ~(err <= bound)
    assert not bad.any(), (f"{what}: {int(bad.sum())} elements outside the Higham bound, "
                           f"worst excess {float(np.max(np.where(bad, err - bound, 0)))}")


def _on(backend: str, fn, *args):
    with tf.backends.use(backend):
        assert tf.backends.current() == backend
        return fn(*args)


def _both(fn, ta, tb, a, b, what=""):
    """fn on both backends, each within the bound of np.matmul(a, b)."""
    for backend in ("blas", "cpu"):
        out = _on(backend, fn, ta, tb)
        _assert_higham(out.numpy(), a, b, f"{what} on {backend}")
        assert out.is_contiguous(), f"{what} on {backend}: the result is not contiguous"


def _np(t) -> np.ndarray:
    return t.numpy()


def _child_env(**extra) -> dict:
    """A child interpreter that imports this tree's tinyfin (and keeps the
    sanitizer settings of the parent)."""
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=ROOT + (os.pathsep + path if path else ""))
    env.update(extra)
    return env


def _run_child(code: str, timeout: float = 60, args=(), **env) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                              env=_child_env(**env), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the child interpreter hung (killed after {timeout} s); output so far:\n"
                    f"{(e.stdout or b'')[-2000:]!r}\n{(e.stderr or b'')[-2000:]!r}")


def _child_ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (f"child exited with {proc.returncode}:\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


# ---- every form of the product, every rank combination -------------------------------
FORMS = {
    "matmul": (lambda x, y: tf.matmul(x, y), ((4, 5), (5, 3))),
    "mm": (lambda x, y: tf.mm(x, y), ((6, 7), (7, 2))),
    "bmm": (lambda x, y: tf.bmm(x, y), ((3, 4, 5), (3, 5, 6))),
    "mv": (lambda x, y: tf.mv(x, y), ((6, 7), (7,))),
    "dot": (lambda x, y: tf.dot(x, y), ((9,), (9,))),
    "inner": (lambda x, y: tf.inner(x, y), ((9,), (9,))),
    "@": (lambda x, y: x @ y, ((2, 3, 4), (4, 5))),
    "method": (lambda x, y: x.matmul(y), ((5,), (2, 5, 3))),
}


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_on_both_backends(form, dtype):
    fn, (sa, sb) = FORMS[form]
    a = RNG.standard_normal(sa).astype(dtype)
    b = RNG.standard_normal(sb).astype(dtype)
    _both(fn, tf.tensor(a), tf.tensor(b), a, b, form)


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
def test_outer_is_exact_on_both_backends(dtype):
    a = RNG.standard_normal(7).astype(dtype)
    b = RNG.standard_normal(5).astype(dtype)
    for backend in ("blas", "cpu"):
        out = _on(backend, tf.outer, tf.tensor(a), tf.tensor(b)).numpy()
        np.testing.assert_array_equal(out, np.outer(a, b))  # one rounding each


def test_matmul_has_no_out_argument_and_rejects_it():
    """tinyfin's matmul takes no out= (PyTorch's does): it must say so,
    not ignore it."""
    with pytest.raises(TypeError):
        tf.matmul(tf.ones(2, 2), tf.ones(2, 2), out=tf.empty(2, 2))


SHAPES = [
    ((3,), (3,)), ((1,), (1,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 6), (6, 7)),
    ((1, 5), (5, 1)), ((5, 1), (1, 5)),
    # batch dims: broadcast, sizes 0 and 1, 1-D against N-D and N-D against 1-D
    ((2, 1, 4, 5), (3, 5, 2)), ((4, 5), (2, 5, 3)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),
    ((0, 4, 5), (1, 5, 3)), ((1, 4, 5), (0, 5, 3)), ((0, 4, 5), (5, 3)), ((4, 5), (0, 5, 3)),
    ((1, 1, 5), (3, 5, 1)), ((3, 1, 5), (5,)), ((5,), (3, 5, 1)), ((2, 3, 1, 5), (1, 5, 4)),
    ((3, 2, 1, 4), (2, 4, 3)), ((1, 1, 1, 2, 3), (3, 4)), ((2, 1, 3, 1, 4), (1, 2, 1, 4, 2)),
    # empty dims: k = 0 gives zeros, m or n = 0 nothing
    ((3, 0), (0, 4)), ((0,), (0,)), ((2, 3, 0), (0, 5)), ((0, 3), (3, 4)), ((4, 3), (3, 0)),
    ((2, 0, 5), (2, 5, 3)), ((2, 4, 5), (2, 5, 0)), ((0, 4), (4,)), ((4,), (4, 0)),
    # big enough for OpenBLAS's blocked, threaded kernels and edge tiles
    ((129, 257), (257, 65)), ((3, 33, 70), (70, 31)), ((1, 600), (600, 300)), ((300, 600), (600,)),
]


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_shapes_and_broadcast_batches(sa, sb, dtype):
    a = RNG.standard_normal(sa).astype(dtype)
    b = RNG.standard_normal(sb).astype(dtype)
    _both(tf.matmul, tf.tensor(a), tf.tensor(b), a, b, f"{sa} @ {sb}")


@needs_blas
@pytest.mark.parametrize("backend", ["blas", "cpu"])
def test_empty_inner_dim_gives_zeros_even_in_reused_memory(backend):
    """k = 0: every element is an empty sum, 0 (BLAS would leave C alone).
    The result's memory is reused NaN-filled memory here, so a kernel that
    skipped writing it would show NaNs."""
    for _ in range(3):
        garbage = tf.full((64, 64), float("nan"))
        del garbage
        out = _on(backend, tf.matmul, tf.ones(64, 0), tf.ones(0, 64)).numpy()
        np.testing.assert_array_equal(out, np.zeros((64, 64), np.float32))


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mkn", [(7, 5, 3), (300, 4, 600), (1, 5, 2_000_000), (2_000_000, 3, 1),
                                 (5, 3, 1), (1, 3, 7), (1, 4, 1)])
def test_results_never_read_the_uninitialized_output(mkn, dtype):
    """BLAS is called with beta = 0 on freshly allocated (uninitialized)
    memory: 0 * NaN must not leak into C. The NaNs are planted by freeing a
    NaN-filled tensor of the same size first (small and large allocations)."""
    m, k, n = mkn
    for _ in range(2):
        garbage = tf.full((m, n), float("nan"), dtype=dtype)
        del garbage
        out = (tf.ones(m, k, dtype=dtype) @ tf.ones(k, n, dtype=dtype)).numpy()
        assert np.all(out == k)


# ---- operand layouts -------------------------------------------------------------------
def _strided(base: np.ndarray, size, stride, offset=0):
    """The tinyfin view as_strided(size, stride, offset) of base and the
    NumPy array it must equal."""
    t = tf.tensor(base).as_strided(size, stride, offset)
    arr = np.lib.stride_tricks.as_strided(base[offset:], size,
                                          [s * base.itemsize for s in stride])
    return t, arr


def _layout_cases(dtype):
    A = RNG.standard_normal((9, 12)).astype(dtype)
    Bm = RNG.standard_normal((12, 10)).astype(dtype)
    X = RNG.standard_normal((3, 4, 12)).astype(dtype)
    X1 = RNG.standard_normal((3, 1, 12)).astype(dtype)
    ta, tb, tx, tx1 = tf.tensor(A), tf.tensor(Bm), tf.tensor(X), tf.tensor(X1)
    row = RNG.standard_normal((1, 12)).astype(dtype)
    col = RNG.standard_normal((12, 1)).astype(dtype)
    cases = {
        "A.T @ A": (ta.T, ta, A.T, A),
        "B @ B.T": (tb, tb.T, Bm, Bm.T),
        "A[:, ::2] @ B[::2]": (ta[:, ::2], tb[::2], A[:, ::2], Bm[::2]),
        "A[::2] @ B[:, ::3]": (ta[::2], tb[:, ::3], A[::2], Bm[:, ::3]),
        "A[:, 1::3] @ B[1::3, 2::2]": (ta[:, 1::3], tb[1::3, 2::2], A[:, 1::3], Bm[1::3, 2::2]),
        "flip rows": (ta.flip(0), tb.flip(0), A[::-1], Bm[::-1]),
        "flip cols": (ta.flip(1), tb.flip(1), A[:, ::-1], Bm[:, ::-1]),
        "flip both": (ta.flip((0, 1)), tb.flip((0, 1)), A[::-1, ::-1], Bm[::-1, ::-1]),
        "flip transposed": (tb.T.flip(0), ta.T.flip(1), Bm.T[::-1], A.T[:, ::-1]),
        "mv strided": (ta[:, ::2], tb[::2, 0], A[:, ::2], Bm[::2, 0]),
        "mv flipped": (ta.flip(1), tb.flip(0)[:, 3], A[:, ::-1], Bm[::-1, 3]),
        "mv transposed": (tb.T, tb[:, 4], Bm.T, Bm[:, 4]),
        "vm flipped": (ta[2].flip(0), tb.flip(0), A[2, ::-1], Bm[::-1]),
        "vm transposed": (ta[:, 3], ta, A[:, 3], A),
        "dot flipped": (ta[2].flip(0), tb.flip(0)[:, 1], A[2, ::-1], Bm[::-1, 1]),
        "dot columns": (ta[:, 1], tb.T[:9, 2], A[:, 1], Bm.T[:9, 2]),
        "(1, k) column view @ (k, 1)": (ta[:, :1].T, tb[:9, :1], A[:, :1].T, Bm[:9, :1]),
        "expanded rows (stride 0)": (tf.tensor(row).expand(7, 12), tb, np.broadcast_to(row, (7, 12)), Bm),
        "expanded cols (stride 0)": (ta, tf.tensor(col).expand(12, 5), A, np.broadcast_to(col, (12, 5))),
        "expanded scalar": (tf.tensor(row[:, :1]).expand(3, 12), tf.tensor(col[:1]).expand(12, 4),
                            np.broadcast_to(row[:, :1], (3, 12)), np.broadcast_to(col[:1], (12, 4))),
        "expanded batches": (ta.unsqueeze(0).expand(3, 9, 12), tb.unsqueeze(0).expand(3, 12, 10),
                             np.broadcast_to(A, (3, 9, 12)), np.broadcast_to(Bm, (3, 12, 10))),
        "expanded row, batch": (tf.tensor(row).unsqueeze(0).expand(4, 3, 12), tb,
                                np.broadcast_to(row, (4, 3, 12)), Bm),
        "expanded one row, batch": (tf.tensor(row).unsqueeze(0).expand(4, 1, 12), tb,
                                    np.broadcast_to(row, (4, 1, 12)), Bm),
        "batch flipped": (tx.flip(0), tb, X[::-1], Bm),
        "batch and rows flipped": (tx.flip((0, 1)), tb, X[::-1, ::-1], Bm),
        "batch transposed": (tx.transpose(0, 1), tb, X.transpose(1, 0, 2), Bm),
        "batch @ transposed batch": (tx, tx.mT, X, X.transpose(0, 2, 1)),
        "batch of rows": (tx1, tb, X1, Bm),
        "batch of rows flipped": (tx1.flip(0), tb, X1[::-1], Bm),
        "batch of rows @ vector": (tx1, tb[:, 2], X1, Bm[:, 2]),
        "batch @ flipped vector": (tx.flip(1), tb.flip(0)[:, 2], X[:, ::-1], Bm[::-1, 2]),
        "batch @ batch sliced": (tx, tf.tensor(np.stack([Bm] * 3))[:, :, ::3],
                                 X, np.stack([Bm] * 3)[:, :, ::3]),
    }
    base = RNG.standard_normal(80).astype(dtype)
    for size, stride in [((5, 6), (1, 1)), ((5, 6), (2, 1)), ((5, 6), (0, 1)), ((5, 6), (1, 0)),
                         ((5, 6), (6, 0)), ((5, 6), (0, 0)), ((5, 6), (1, 5)), ((5, 6), (1, 3)),
                         ((5, 6), (3, 2)), ((5, 6), (7, 1)), ((5, 6), (1, 7))]:
        x, xa = _strided(base, size, stride, 1)
        y, ya = _strided(base, size[::-1], stride, 2)
        v, va = _strided(base, (6,), (stride[1],), 3)
        cases[f"as_strided {size} {stride}"] = (x, y, xa, ya)
        cases[f"as_strided {size} {stride} @ vector"] = (x, v, xa, va)
        cases[f"vector @ as_strided {size[::-1]} {stride}"] = (v, y, va, ya)
        cases[f"dot as_strided {stride[1]}"] = (v, v, va, va)
    x, xa = _strided(base, (3, 4, 6), (2, 1, 1))      # overlapping batch entries and rows
    y, ya = _strided(base, (3, 6, 2), (0, 1, 6))      # one B for the batch, by stride 0
    cases["as_strided batches overlapping"] = (x, y, xa, ya)
    return cases


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
def test_operand_layouts(dtype, capfd):
    """Transposes, slices with steps, flips (negative strides), as_strided
    views with overlapping rows or zero strides, expand()ed operands: each
    either goes to BLAS with a leading dimension / transpose flag /
    increment or is copied first; all must be right, and OpenBLAS must
    never have been passed an illegal argument (its xerbla prints
    "** On entry to ..." on stderr and returns without computing)."""
    for what, (x, y, xa, ya) in _layout_cases(dtype).items():
        np.testing.assert_array_equal(x.numpy(), xa, err_msg=what)  # the view is what we think
        _both(tf.matmul, x, y, xa, ya, what)
    assert "On entry to" not in capfd.readouterr().err


def _random_view(rng, shape, dtype):
    """A tinyfin tensor of shape with a random layout, and its NumPy twin."""
    nd = len(shape)
    kind = rng.integers(5)
    if kind == 0:
        x = rng.standard_normal(shape).astype(dtype)
        return tf.tensor(x), x
    if kind == 1:  # a permutation of a contiguous tensor
        perm = rng.permutation(nd)
        base = rng.standard_normal([shape[p] for p in perm]).astype(dtype)
        inv = np.argsort(perm)
        return tf.tensor(base).permute(*inv.tolist()), base.transpose(inv)
    if kind == 2:  # steps, then flips
        steps = rng.integers(1, 4, nd)
        base = rng.standard_normal([s * st for s, st in zip(shape, steps)]).astype(dtype)
        idx = tuple(slice(None, None, int(st)) for st in steps)
        t, a = tf.tensor(base)[idx], base[idx]
        flips = tuple(d for d in range(nd) if rng.random() < 0.4)
        if flips:
            t, a = t.flip(flips), np.flip(a, flips)
        return t, a
    if kind == 3:  # expanded dims
        small = [1 if rng.random() < 0.4 else s for s in shape]
        base = rng.standard_normal(small).astype(dtype)
        return tf.tensor(base).expand(*shape), np.broadcast_to(base, shape)
    strides = [int(rng.integers(0, 8)) for _ in shape]  # overlaps allowed
    n = 1 + sum((s - 1) * st for s, st in zip(shape, strides) if s > 0)
    base = rng.standard_normal(n + 3).astype(dtype)
    return _strided(base, shape, strides, int(rng.integers(0, 3)))


@needs_blas
@pytest.mark.parametrize("sizes", [(0, 1, 2, 3, 5, 8, 17), (1, 2, 33, 65, 100)])
def test_random_layouts_and_batches(sizes, capfd):
    rng = np.random.default_rng(len(sizes))
    weights = np.array([4, 24, 18, 18, 16, 10, 10][:len(sizes)], float)
    count = 0
    for it in range(700 if sizes[-1] < 20 else 120):
        dtype = FLOATS[it % 2]
        m, k, n = (int(x) for x in rng.choice(sizes, 3, p=weights / weights.sum()))
        nb = int(rng.integers(0, 3))
        batch = [int(x) for x in rng.choice([0, 1, 2, 3], nb, p=[0.05, 0.35, 0.3, 0.3])]
        ba = [b if rng.random() < 0.7 else 1 for b in batch][int(rng.integers(0, nb + 1)):]
        bb = [b if rng.random() < 0.7 else 1 for b in batch][int(rng.integers(0, nb + 1)):]
        sa = [k] if (not ba and rng.random() < 0.15) else ba + [m, k]
        sb = [k] if (not bb and rng.random() < 0.15) else bb + [k, n]
        x, xa = _random_view(rng, tuple(sa), dtype)
        y, ya = _random_view(rng, tuple(sb), dtype)
        _both(tf.matmul, x, y, xa, ya, f"{sa} {x.stride()} @ {sb} {y.stride()}")
        count += 1
    assert count > 100
    assert "On entry to" not in capfd.readouterr().err


# ---- 32-bit BLAS ints ------------------------------------------------------------------
INT32_MAX = 2 ** 31 - 1


@needs_blas
@pytest.mark.skipif(UNDER_ASAN, reason="the sanitizer's allocator touches the shadow of "
                    "the 8 GiB storages this test maps but never touches")
@pytest.mark.parametrize("stride", [INT32_MAX - 4, INT32_MAX, INT32_MAX + 1, INT32_MAX + 8,
                                    2 ** 32 + 3])
def test_strides_near_and_past_int32_max(stride):
    """scipy-openblas32 takes 32-bit leading dims and increments: a stride
    past INT32_MAX must be copied (or refused), never truncated. The views
    are as_strided over an 8-16 GiB storage that is only mapped (tinyfin's
    large storages are not touched at allocation): only the few elements
    used are ever written."""
    k = 5
    try:
        base = tf.empty(stride + 4 * k + 16)
    except MemoryError:
        pytest.skip("cannot map a storage of 2^31 float32 elements here")
    values = RNG.standard_normal((2, k)).astype(np.float32)
    base.as_strided((2, k), (stride, 1)).copy_(tf.tensor(values))
    w = RNG.standard_normal((k, 3)).astype(np.float32)
    views = {
        "rows at the stride": (base.as_strided((2, k), (stride, 1)), tf.tensor(w), values, w),
        "rows at the stride @ vector": (base.as_strided((2, k), (stride, 1)), tf.tensor(w[:, 0]),
                                        values, w[:, 0]),
        "columns at the stride": (tf.tensor(w.T), base.as_strided((k, 2), (1, stride)),
                                  w.T, values.T),
        "vector @ columns at the stride": (tf.tensor(w[:, 0]), base.as_strided((k, 2), (1, stride)),
                                           w[:, 0], values.T),
        "dot at the stride": (base.as_strided((2,), (stride,)), base.as_strided((2,), (stride,)),
                              values[:, 0], values[:, 0]),
        "batch of rows at the stride": (base.as_strided((2, 1, k), (stride, k, 1)), tf.tensor(w),
                                        values[:, None, :], w),
    }
    for what, (x, y, xa, ya) in views.items():
        _both(tf.matmul, x, y, xa, ya, f"{what} {stride}")


@needs_blas
def test_inner_dim_past_int32_max_is_refused_not_wrong():
    """k = 2^31 cannot be passed to a 32-bit BLAS: the blas backend refuses
    (naming the cpu backend), and never returns a product of a truncated k.
    (Zero-stride operands over a 4-element storage: nothing is allocated.)"""
    one = tf.ones(4)
    k = INT32_MAX + 1
    for x, y in [(one.as_strided((1, k), (0, 0)), one.as_strided((k, 1), (0, 0))),
                 (one.as_strided((k,), (0,)), one.as_strided((k,), (0,))),
                 (one.as_strided((2, k), (0, 0)), one.as_strided((k, 2), (0, 0)))]:
        with tf.backends.use("blas"), pytest.raises(ValueError, match="32-bit"):
            tf.matmul(x, y)


# ---- dtypes ------------------------------------------------------------------------------
@needs_blas
def test_only_float32_and_float64_run_on_blas():
    assert tf.backends.which("matmul", tf.float32) == "blas"
    assert tf.backends.which("matmul", tf.float64) == "blas"
    assert tf.backends.which("matmul", tf.int64) == "cpu"      # falls back
    assert tf.backends.which("matmul", tf.bool) is None        # no kernel anywhere


@needs_blas
@pytest.mark.parametrize("sa,sb", [((4, 5), (5, 3)), ((2, 3, 4), (4,)), ((5,), (5,)), ((3,), (2, 3, 4))])
def test_int64_falls_back_to_the_exact_cpu_kernel(sa, sb):
    a = RNG.integers(-1000, 1000, sa)
    b = RNG.integers(-1000, 1000, sb)
    expected = np.matmul(a, b)
    for backend in ("blas", "cpu"):
        out = _on(backend, tf.matmul, tf.tensor(a), tf.tensor(b))
        assert out.dtype is tf.int64
        np.testing.assert_array_equal(out.numpy(), expected)
    big = tf.tensor(np.array([[2 ** 62, 2 ** 62]])) @ tf.tensor(np.array([[2], [2]]))
    assert big.item() == 0  # wraps like every int64 op (2^64 mod 2^64)


def test_bool_matmul_is_refused_as_in_pytorch():
    with pytest.raises(TypeError, match="bool"):
        tf.ones(2, 2, dtype=tf.bool) @ tf.ones(2, 2, dtype=tf.bool)


@pytest.mark.parametrize("da,db", [("float32", "float64"), ("float64", "float32"),
                                   ("int64", "float32"), ("float64", "int64")])
def test_mixed_dtypes_are_refused_as_in_pytorch(da, db):
    """PyTorch's matmul does not promote: 'expected m1 and m2 to have the
    same dtype'. Neither does tinyfin, on either backend, in any form."""
    x, y = tf.ones(3, 3, dtype=da), tf.ones(3, 3, dtype=db)
    for backend in ("cpu",) + (("blas",) if WHY_NOT is None else ()):
        with tf.backends.use(backend):
            for fn in (tf.matmul, tf.mm, lambda p, q: p @ q, lambda p, q: tf.mv(p, q[0]),
                       lambda p, q: tf.dot(p[0], q[0])):
                with pytest.raises(TypeError, match="same dtype"):
                    fn(x, y)


# ---- special values ----------------------------------------------------------------------
def _ieee_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_p a[i, p] * b[p, j] by explicit products and sums in float64:
    IEEE semantics (0 * inf = NaN, inf - inf = NaN), no BLAS."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    with np.errstate(all="ignore"):
        r = (a2[:, :, None].astype(np.float64) * b2[None, :, :].astype(np.float64)).sum(1)
    if b.ndim == 1:
        r = r[:, 0]
    if a.ndim == 1:
        r = r[0]
    return r


inf, nan = np.inf, np.nan
SPECIALS = {
    "inf * 0": ([[inf, 1.0], [2.0, 3.0]], [[0.0, 1.0], [1.0, 0.0]]),
    "0 * inf": ([[0.0, 1.0], [2.0, 3.0]], [[inf, 1.0], [1.0, 0.0]]),
    "nan * 0": ([[nan, 1.0], [2.0, 3.0]], [[0.0, 1.0], [1.0, 0.0]]),
    "0 * nan everywhere": ([[0.0, 0.0], [0.0, 0.0]], [[nan, nan], [nan, nan]]),
    "inf - inf": ([[inf, inf], [1.0, 1.0]], [[1.0, 1.0], [-1.0, 1.0]]),
    "overflow to inf": ([[3e38, 3e38], [1.0, 1.0]], [[3e38, 1.0], [3e38, 1.0]]),
}


def _special_forms(a: np.ndarray, b: np.ndarray) -> dict:
    """The special values in each BLAS call shape: the small matrices, and
    padded with zeros into blocked sizes; gemv on A as it lies and
    transposed, on B transposed and as it lies; dot."""
    pa, pb = np.pad(a, ((0, 30), (0, 30))), np.pad(b, ((0, 30), (0, 30)))
    return {"gemm": (a, b), "gemv": (a, b[:, 0]), "vector @ matrix": (a[0], b),
            "dot": (a[0], b[:, 0]), "gemm blocked": (pa, pb), "gemv blocked": (pa, pb[:, 0]),
            "vector @ matrix blocked": (pa[0], pb),
            "transposed gemv": (np.asfortranarray(pa), pb[:, 0]),
            "vector @ transposed matrix": (pa[0], np.asfortranarray(pb))}


def _as_tinyfin(x: np.ndarray):
    """x with its layout: a Fortran-ordered matrix becomes a transposed view."""
    if x.ndim == 2 and not x.flags.c_contiguous:
        return tf.tensor(np.ascontiguousarray(x.T)).T
    return tf.tensor(x)


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", list(SPECIALS))
def test_special_values_propagate_as_in_ieee_and_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    if case == "overflow to inf" and dtype == "float64":
        pytest.skip("3e38^2 is finite in float64")
    a0, b0 = (np.array(v, dtype=dtype) for v in SPECIALS[case])
    for form, (a, b) in _special_forms(a0, b0).items():
        with np.errstate(over="ignore"):
            expected = _ieee_product(a, b).astype(dtype)  # float32 overflow happens here too
        ref_torch = (torch.from_numpy(np.ascontiguousarray(a)) @
                     torch.from_numpy(np.ascontiguousarray(b))).numpy()
        np.testing.assert_array_equal(ref_torch, expected, err_msg=f"torch, {form}")
        for backend in ("blas", "cpu"):
            got = _on(backend, tf.matmul, _as_tinyfin(a), _as_tinyfin(b)).numpy()
            np.testing.assert_array_equal(got, expected, err_msg=f"{case}, {form} on {backend}")


@needs_blas
@pytest.mark.parametrize("dtype", FLOATS)
def test_signed_zeros_and_subnormals_as_on_cpu_and_in_pytorch(dtype):
    """No flush-to-zero of subnormal inputs or results in OpenBLAS's
    kernels, and -0 products sum to the same zero as on the cpu backend and
    in PyTorch."""
    torch = pytest.importorskip("torch")
    tiny = np.finfo(dtype).tiny
    cases = {
        "-0 gemm": ([[-0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]]),
        "-0 * 1": ([[-0.0]], [[1.0]]),
        "-0 gemv blocked": (np.full((40, 40), -0.0), np.ones(40)),
        "subnormal input": ([[tiny / 4, 1.0]], [[1.0], [0.0]]),
        "subnormal blocked": (np.full((40, 40), tiny / 64), np.eye(40)),
        "subnormal vector @ matrix": (np.full(40, tiny / 64), np.eye(40)),
        "subnormal result": (np.full((33, 33), np.sqrt(tiny) / 16), np.full((33, 33), np.sqrt(tiny) / 16)),
    }
    for what, (a, b) in cases.items():
        a, b = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
        expected = (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
        for backend in ("blas", "cpu"):
            got = _on(backend, tf.matmul, tf.tensor(a), tf.tensor(b)).numpy()
            np.testing.assert_array_equal(got, expected, err_msg=f"{what} on {backend}")
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected),
                                          err_msg=f"{what} on {backend}: sign of zero")
        if "subnormal" in what:
            assert np.all(expected != 0) and np.all(np.abs(expected) < tiny), what


# ---- autograd ----------------------------------------------------------------------------
@needs_blas
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((4, 3), (3, 5)),
                                   ((2, 1, 4, 3), (3, 3, 2)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),
                                   ((2, 3, 1), (2, 1, 4))])
def test_gradients_through_blas_match_finite_differences(sa, sb):
    assert tf.backends.which("matmul", tf.float64) == "blas"
    a = tf.tensor(RNG.standard_normal(sa), dtype="float64", requires_grad=True)
    b = tf.tensor(RNG.standard_normal(sb), dtype="float64", requires_grad=True)
    assert gradcheck(tf.matmul, (a, b))
    grads = {}
    for backend in ("blas", "cpu"):
        a.grad = b.grad = None
        with tf.backends.use(backend):
            (tf.matmul(a, b) * 1.5).sum().backward()
        grads[backend] = (a.grad.numpy().copy(), b.grad.numpy().copy())
    for g_blas, g_cpu in zip(grads["blas"], grads["cpu"]):
        np.testing.assert_allclose(g_blas, g_cpu, rtol=1e-12, atol=1e-14)


@needs_blas
def test_gradients_through_views_on_blas():
    A = tf.tensor(RNG.standard_normal((5, 6)), dtype="float64", requires_grad=True)
    B = tf.tensor(RNG.standard_normal((6, 5)), dtype="float64", requires_grad=True)
    assert gradcheck(lambda x, y: x.T @ y.T, (A, B))
    assert gradcheck(lambda x, y: x.flip(0) @ y[:, ::2], (A, B))
    assert gradcheck(lambda x, y: x[:1].expand(4, 6) @ y, (A, B))
    assert gradcheck(lambda x, y: tf.mv(x, y[:, 0]) @ tf.mv(x, y.flip(0)[:, 1]), (A, B))


# ---- thread counts, threads -----------------------------------------------------------------
@needs_blas
def test_every_thread_count_is_within_the_bound():
    """The bits may depend on the thread count (OpenBLAS), the accuracy may
    not."""
    a = RNG.standard_normal((257, 513)).astype(np.float32)
    b = RNG.standard_normal((513, 129)).astype(np.float32)
    saved = tf.get_num_threads()
    try:
        for n in (1, 2, 3, 8):
            tf.set_num_threads(n)
            _assert_higham((tf.tensor(a) @ tf.tensor(b)).numpy(), a, b, f"{n} threads")
            _assert_higham((tf.tensor(a[0]) @ tf.tensor(b)).numpy(), a[0], b, f"{n} threads, gemv")
    finally:
        tf.set_num_threads(saved)


_STRESS = """
import faulthandler, sys, threading, time
faulthandler.dump_traceback_later(float(sys.argv[2]), exit=True)  # a hang shows its stacks
import numpy as np
import tinyfin as tf
B = tf.backends
rng = np.random.default_rng(0)
jobs = []
for (m, k, n) in [(64, 64, 64), (200, 300, 100), (1, 500, 700), (500, 400, 1), (129, 257, 65)]:
    for dt in ("float32", "float64"):
        a = rng.standard_normal((m, k)).astype(dt); b = rng.standard_normal((k, n)).astype(dt)
        exact = np.matmul(a.astype(np.longdouble), b.astype(np.longdouble))
        u = np.finfo(dt).eps / 2
        bound = 2 * k * u / (1 - k * u) * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64))
        ta, tb = tf.tensor(a), tf.tensor(b)
        ta_t = tf.tensor(np.ascontiguousarray(a.T)).T   # the same values, stored transposed
        tb_t = tf.tensor(np.ascontiguousarray(b.T)).T
        # OpenBLAS's NN, TN, NT and TT drivers (and gemv both ways) at once
        for x, y in ((ta, tb), (ta_t, tb), (ta, tb_t), (ta_t, tb_t)):
            jobs.append((x, y, exact, bound))
stop = time.monotonic() + float(sys.argv[1])
errors, done = [], [0] * 5
def worker(i):
    r = np.random.default_rng(i)
    try:
        while time.monotonic() < stop and done[i] < 400:
            a, b, exact, bound = jobs[r.integers(len(jobs))]
            backend = "cpu" if r.random() < 0.2 else "blas"
            with B.use(backend):
                got = (a @ b).numpy()
                if B.current() != backend:
                    errors.append(f"thread {i}: current() {B.current()} inside use({backend})")
            if not np.all(np.abs(got - exact) <= bound):
                errors.append(f"thread {i}: wrong values for {tuple(a.shape)} @ {tuple(b.shape)} on {backend}")
            done[i] += 1
    except BaseException as e:
        errors.append(repr(e))
def flipper():
    r = np.random.default_rng(99)
    while time.monotonic() < stop and min(done) < 400:
        tf.set_num_threads(int(r.choice([1, 2, 3, 4, 9])))
        time.sleep(0.001)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
threads.append(threading.Thread(target=flipper))
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors[:5]
assert min(done) > 0, done
print("ok", sum(done))
"""


@needs_blas
def test_concurrent_products_while_the_thread_count_changes():
    """Five Python threads multiply (80% on blas, each its own use();
    operands stored plain or transposed, so that OpenBLAS's NN/TN/NT/TT
    drivers run concurrently: OpenBLAS issue 5836 was a lock per driver)
    while a sixth keeps changing set_num_threads, 1 to 9 on 2 cores:
    every result within the bound, no crash, no hang. (A child that has
    not finished after 150 s prints every thread's stack and exits.)"""
    out = _child_ok(_run_child(_STRESS, 180, args=("2.5", "150")))
    assert out.startswith("ok ")


# ---- fork ---------------------------------------------------------------------------------
_FORK_AFTER_BLAS = """
import os, time, multiprocessing as mp
import numpy as np
import tinyfin as tf
assert tf.backends.current() == "blas"
rng = np.random.default_rng(0)
a = rng.standard_normal((300, 400)); b = rng.standard_normal((400, 200))
exact = a @ b
ta, tb = tf.tensor(a), tf.tensor(b)
tf.set_num_threads(2)
for _ in range(3):
    ta @ tb                      # OpenBLAS's threads are up
def check():
    got = (ta @ tb).numpy()
    big = (tf.ones(700, 700) @ tf.ones(700, 700)).numpy()
    return bool(np.allclose(got, exact, rtol=1e-12, atol=1e-10) and (big == 700).all())
pid = os.fork()
if pid == 0:
    os._exit(0 if check() and tf.get_num_threads() == 1 else 3)
deadline = time.monotonic() + 30
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        raise SystemExit("the forked child hung")
    time.sleep(0.02)
assert os.waitstatus_to_exitcode(status) == 0, "the forked child computed wrong values"
print("ok", check())
def job(_):
    return check()
with mp.get_context("fork").Pool(2) as pool:
    assert pool.map_async(job, range(4)).get(30) == [True] * 4
print("pool ok")
"""


@needs_blas
def test_fork_after_blas_ran():
    """A child forked after OpenBLAS's threads started computes right, on
    one thread, and does not hang; so do multiprocessing's fork workers."""
    out = _child_ok(_run_child(_FORK_AFTER_BLAS, 90))
    assert "ok True" in out and "pool ok" in out


_FORK_DURING_BLAS = """
import os, sys, threading, time
import numpy as np
import tinyfin as tf
rng = np.random.default_rng(0)
a = rng.standard_normal((400, 400)); exact = a @ a
ta = tf.tensor(a)
tf.set_num_threads(2)
stop = time.monotonic() + float(sys.argv[1])
bad = []
def spin():
    while time.monotonic() < stop:
        if not np.allclose((ta @ ta).numpy(), exact, rtol=1e-12, atol=1e-10):
            bad.append(1)
t = threading.Thread(target=spin, daemon=True)
t.start()
forks = 0
while time.monotonic() < stop:
    pid = os.fork()
    if pid == 0:
        os._exit(0 if np.allclose((ta @ ta).numpy(), exact, rtol=1e-12, atol=1e-10) else 3)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            print("child hung", flush=True)
            os._exit(4)
        time.sleep(0.005)
    assert os.waitstatus_to_exitcode(status) == 0, "a child computed wrong values"
    forks += 1
t.join(20)
if t.is_alive():
    print("the parent's product hung after", forks, "forks", flush=True)
    os._exit(5)
assert not bad
print("ok", forks)
"""


@needs_blas
def test_fork_while_another_thread_is_inside_blas():
    """os.fork() while another thread of the parent is inside a threaded
    OpenBLAS call: OpenBLAS's own fork handler shuts its thread pool down
    under the running call, which then waits forever for a worker that is
    gone (NumPy's OpenBLAS hangs the same way). tinyfin's fork handler
    lets the calls in flight finish first and holds new ones until the fork
    is done, so neither the parent nor the child hangs."""
    out = _child_ok(_run_child(_FORK_DURING_BLAS, 120, args=("3",)))
    assert out.startswith("ok "), out
    assert int(out.split()[1]) > 5


# ---- backend selection -------------------------------------------------------------------
@needs_blas
def test_use_is_a_context_manager_a_decorator_and_nests():
    assert tf.backends.current() == "blas"
    with tf.backends.use("cpu"):
        assert tf.backends.current() == "cpu"
        assert tf.backends.which("matmul") == "cpu"
        with tf.backends.use("blas"):
            assert tf.backends.current() == "blas"
        assert tf.backends.current() == "cpu"
    assert tf.backends.current() == "blas"

    reused = tf.backends.use("cpu")
    with reused:
        with tf.backends.use("blas"):
            with reused:  # one object, entered twice
                assert tf.backends.current() == "cpu"
            assert tf.backends.current() == "blas"
        assert tf.backends.current() == "cpu"
    assert tf.backends.current() == "blas"

    @tf.backends.use("cpu")
    def inner(depth):
        assert tf.backends.current() == "cpu"
        return inner(depth - 1) if depth else tf.backends.which("matmul")
    assert inner(4) == "cpu"
    assert tf.backends.current() == "blas"

    with pytest.raises(KeyError):
        with tf.backends.use("cpu"):
            raise KeyError("inside")
    assert tf.backends.current() == "blas"


@needs_blas
def test_use_leaves_the_thread_following_the_default():
    """Leaving use() must restore the thread's previous *choice*, and a
    thread that had none must follow set_default() again, not stay pinned
    to the backend that happened to be the default when use() began."""
    try:
        with tf.backends.use("cpu"):
            pass
        tf.backends.set_default("cpu")
        assert tf.backends.current() == "cpu"
        with tf.backends.use("blas"):
            assert tf.backends.current() == "blas"
        assert tf.backends.current() == "cpu"
        tf.backends.set_default("blas")
        assert tf.backends.current() == "blas"

        @tf.backends.use("cpu")
        def f():
            return tf.backends.current()
        assert f() == "cpu"
        tf.backends.set_default("cpu")
        assert tf.backends.current() == "cpu"
    finally:
        tf.backends.set_default("blas")
    assert tf.backends.current() == "blas"


@needs_blas
def test_use_is_thread_local_and_set_default_is_not():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def chooser():
        with tf.backends.use("cpu"):
            seen["chooser"] = tf.backends.current()
            inside.set()
            release.wait(10)
            seen["chooser later"] = tf.backends.current()
            seen["chooser product"] = tf.backends.which("matmul")

    def follower():
        seen["follower"] = tf.backends.current()
        seen["follower product"] = (tf.ones(2, 3) @ tf.ones(3, 2)).numpy().tolist()

    t = threading.Thread(target=chooser)
    t.start()
    assert inside.wait(10)
    assert tf.backends.current() == "blas"           # this thread did not choose
    f = threading.Thread(target=follower)
    f.start()
    f.join(10)
    try:
        tf.backends.set_default("cpu")                # the chooser keeps its choice
        seen["fresh after set_default"] = []
        g = threading.Thread(target=lambda: seen["fresh after set_default"].append(
            tf.backends.current()))
        g.start()
        g.join(10)
    finally:
        tf.backends.set_default("blas")
        release.set()
        t.join(10)
    assert seen == {"chooser": "cpu", "chooser later": "cpu", "chooser product": "cpu",
                    "follower": "blas", "follower product": [[3.0, 3.0], [3.0, 3.0]],
                    "fresh after set_default": ["cpu"]}


@needs_blas
def test_one_use_object_shared_by_threads_at_once():
    """One decorator (one _Use object) entered by several threads at the
    same time: each thread's stack is its own."""
    barrier = threading.Barrier(4)
    seen, errors = [], []

    @tf.backends.use("cpu")
    def inside(i):
        barrier.wait(10)               # all four threads inside at once
        seen.append(tf.backends.current())
        with tf.backends.use("blas"):
            seen.append(tf.backends.current())
        seen.append(tf.backends.which("matmul"))
        barrier.wait(10)

    def run(i):
        try:
            inside(i)
            seen.append(tf.backends.current())
        except BaseException as e:  # noqa: BLE001  reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert sorted(seen) == sorted(["cpu", "blas", "cpu", "blas"] * 4)
    assert tf.backends.current() == "blas"


def test_selection_errors():
    with pytest.raises(ValueError, match="unknown backend 'bogus'"):
        tf.backends.use("bogus")
    with pytest.raises(ValueError, match="unknown backend 'bogus'"):
        tf.backends.set_default("bogus")
    with pytest.raises(ValueError):
        tf.backends.which("no_such_op")
    with pytest.raises(ValueError):
        tf.backends.which("")
    assert tf.backends.current("cpu") in ("cpu", "blas")


@pytest.mark.skipif(tf.cuda.is_available(), reason="CUDA runs here")
def test_selecting_cuda_where_it_cannot_run_says_why():
    why = tf.cuda.why_unavailable()
    with pytest.raises(RuntimeError, match="the cuda backend is not available: ") as e:
        with tf.backends.use("cuda"):
            pass
    assert str(e.value).endswith(why)
    with pytest.raises(RuntimeError, match="no backend"):
        tf.backends.which("matmul", tf.float32, "cuda")
    assert tf.backends.current("cuda") is None


def _every_op_name():
    named = ["copy", "fill", "where", "softmax", "arange", "linspace", "eye", "random", "pad",
             "tril", "gather", "scatter_add", "index_select", "index_get", "index_put", "nonzero"]
    return sorted(set(_C.UNARY_OPS) | set(_C.BINARY_OPS) | set(_C.REDUCE_OPS) | set(named)) + ["matmul"]


@needs_blas
def test_which_for_every_op_and_dtype():
    """On blas, only matmul in float32/float64 is blas's own kernel; every
    other op and dtype falls back to exactly what the cpu backend runs."""
    names = _every_op_name()
    assert len(names) > 40
    for dt in (tf.float32, tf.float64, tf.int64, tf.bool):
        with tf.backends.use("cpu"):
            on_cpu = {op: tf.backends.which(op, dt) for op in names}
        on_blas = {op: tf.backends.which(op, dt) for op in names}
        assert set(on_cpu.values()) <= {"cpu", None}, on_cpu
        for op in names:
            if op == "matmul" and dt in (tf.float32, tf.float64):
                assert on_blas[op] == "blas"
            else:
                assert on_blas[op] == on_cpu[op], (op, dt.name)
    assert tf.backends.which("exp") == "cpu" and tf.backends.which("sum", tf.int64) == "cpu"


# ---- the environment at import --------------------------------------------------------------
_REPORT = ("import tinyfin as tf; r = (tf.ones(2, 3) @ tf.ones(3, 4)).numpy(); "
           "assert (r == 3).all(); "
           "print(tf.backends.current(), tf.backends.which('matmul'), '|', tf.backends.available()['blas'])")


@pytest.mark.parametrize("value,expect", [("cpu", "cpu"), ("blas", "blas"), ("", "default")])
def test_tinyfin_backend_at_import(value, expect):
    if expect != "cpu" and WHY_NOT is not None:
        pytest.skip(f"the blas backend is not available: {WHY_NOT}")
    out = _child_ok(_run_child(_REPORT, 60, TINYFIN_BACKEND=value)).split()
    want = "blas" if expect == "default" else expect
    assert out[:2] == [want, want]


@pytest.mark.parametrize("value", ["bogus", "CPU", "cuda"])
def test_tinyfin_backend_unknown_fails_the_import_with_the_reason(value):
    proc = _run_child("import tinyfin", 60, TINYFIN_BACKEND=value)
    assert proc.returncode != 0
    assert f"TINYFIN_BACKEND={value!r} cannot be used" in proc.stderr
    assert "available: cpu" in proc.stderr


def _library_cases(tmp_path):
    not_a_library = tmp_path / "not_a_library.so"
    not_a_library.write_text("this is not an ELF file\n")
    return {
        "missing file": (str(tmp_path / "missing" / "libopenblas.so"), "cannot open"),
        "not a library": (str(not_a_library), "cannot open"),
        "a directory": (str(tmp_path), "cannot open"),
        "another library": ("libm.so.6", "lacks the symbol scipy_cblas_sgemm"),
    }


def test_numpys_64_bit_int_openblas_is_refused_with_the_reason():
    """NumPy's wheel bundles scipy-openblas64 (64-bit ints, symbols with a
    64_ suffix): pointing TINYFIN_OPENBLAS at it must not load it."""
    import glob
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas64*.so"))
    if not libs:
        pytest.skip("this NumPy bundles no scipy-openblas64")
    out = _child_ok(_run_child(_REPORT, 60, TINYFIN_OPENBLAS=libs[0], TINYFIN_BACKEND=""))
    current, which, _, why = out.strip().split(" ", 3)
    assert (current, which) == ("cpu", "cpu")
    assert why.startswith("not loaded:") and libs[0] in why and "scipy-openblas32" in why, why


@pytest.mark.parametrize("case", ["missing file", "not a library", "a directory", "another library"])
def test_broken_tinyfin_openblas_still_imports_and_says_why(case, tmp_path):
    path, reason = _library_cases(tmp_path)[case]
    out = _child_ok(_run_child(_REPORT, 60, TINYFIN_OPENBLAS=path, TINYFIN_BACKEND=""))
    current, which, _, why = out.strip().split(" ", 3)
    assert (current, which) == ("cpu", "cpu")
    assert why.startswith("not loaded:") and reason in why and path in why, why


def test_choosing_an_unavailable_blas_fails_clearly_and_changes_nothing(tmp_path):
    code = """
        import tinyfin as tf
        u = tf.backends.use("blas")
        for attempt in (u.__enter__, lambda: tf.backends.set_default("blas")):
            try:
                attempt()
            except RuntimeError as e:
                assert "the blas backend is not available" in str(e) and "missing.so" in str(e), e
            else:
                raise AssertionError("choosing an unavailable blas succeeded")
        assert tf.backends.current() == "cpu" and tf.backends.which("matmul") == "cpu"
        assert u._saved.stack == []   # the failed enter left nothing to restore
        print("ok")
        """
    out = _child_ok(_run_child(code, 60, TINYFIN_OPENBLAS=str(tmp_path / "missing.so"),
                               TINYFIN_BACKEND=""))
    assert out.strip() == "ok"


def test_broken_tinyfin_openblas_with_tinyfin_backend_blas_fails_clearly(tmp_path):
    path = str(tmp_path / "missing.so")
    proc = _run_child("import tinyfin", 60, TINYFIN_OPENBLAS=path, TINYFIN_BACKEND="blas")
    assert proc.returncode != 0
    assert "TINYFIN_BACKEND='blas' cannot be used" in proc.stderr and path in proc.stderr
