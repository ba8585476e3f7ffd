"""Normalization: F.batch_norm / layer_norm / group_norm and the modules
BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm.

Every value is checked against NumPy float64 written from the definitions,
PyTorch with identical weights (where it is installed), central finite
differences (gradcheck / gradgradcheck) or an invariant. Sizes reach the
kernels' blocked paths (units longer than one 4096-element block) and the
parallel ones (past TF_PARALLEL_GRAIN = 32768 elements)."""
import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn
from tinyfin.autograd import gradcheck, gradgradcheck
from tinyfin.nn import functional as F

DT = {"float32": tf.float32, "float64": tf.float64}
TOL = {"float32": 3e-6, "float64": 1e-12}


def t(a, dtype="float64", requires_grad=False):
    return tf.tensor(np.asarray(a), dtype=DT[dtype], requires_grad=requires_grad)


def n(x):
    return x.detach().numpy().astype(np.float64)


def close(got, want, rtol, atol=None):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    err = float(np.max(np.abs(got - want), initial=0.0))
    assert err <= (atol if atol is not None else rtol) * scale, f"error {err:g} (scale {scale:g})"


# ---- NumPy references ---------------------------------------------------------------
def ref_norm(x, axes, eps, w=None, b=None, wshape=None):
    x = np.asarray(x, np.float64)
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if w is not None:
        out = out * np.asarray(w, np.float64).reshape(wshape)
    if b is not None:
        out = out + np.asarray(b, np.float64).reshape(wshape)
    return out


def bn_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def cshape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def ref_group_norm(x, groups, eps, w=None, b=None):
    nb, c = x.shape[:2]
    out = np.empty_like(np.asarray(x, np.float64))
    for i in range(nb):
        for g in range(groups):
            part = np.asarray(x[i, g * (c // groups):(g + 1) * (c // groups)], np.float64)
            out[i, g * (c // groups):(g + 1) * (c // groups)] = \
                (part - part.mean()) / np.sqrt(part.var() + eps)
    if w is not None:
        out = out * np.asarray(w, np.float64).reshape(cshape(x))
    if b is not None:
        out = out + np.asarray(b, np.float64).reshape(cshape(x))
    return out


def ref_norm_grads(x, g, axes, eps, w=None, wshape=None):
    """dx, dweight, dbias of (x - mean) * rstd * w + b, by the textbook
    formula (over the unit's axes), in float64."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - mean) * rstd
    gw = g if w is None else g * np.asarray(w, np.float64).reshape(wshape)
    dx = rstd * (gw - gw.mean(axis=axes, keepdims=True)
                 - xhat * (gw * xhat).mean(axis=axes, keepdims=True))
    return dx, xhat


# ---- forward values -------------------------------------------------------------------
BN_SHAPES = [(4, 3), (4, 3, 5), (2, 3, 4, 5), (16, 4, 1024), (300, 130), (8, 8, 32, 32)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
def test_batch_norm_training_values_and_running_stats(dtype, shape):
    rng = np.random.default_rng(1)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    w, b = rng.uniform(0.5, 2, c), rng.uniform(-1, 1, c)
    rm0, rv0 = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    rm, rv = t(rm0, dtype), t(rv0, dtype)
    y = F.batch_norm(t(x, dtype), rm, rv, t(w, dtype), t(b, dtype), training=True,
                     momentum=0.2, eps=1e-4)
    close(n(y), ref_norm(x, bn_axes(x), 1e-4, w, b, cshape(x)), TOL[dtype])
    x64 = x.astype(np.float64)
    close(n(rm), 0.8 * rm0 + 0.2 * x64.mean(axis=bn_axes(x)), TOL[dtype])
    close(n(rv), 0.8 * rv0 + 0.2 * x64.var(axis=bn_axes(x), ddof=1), TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
def test_batch_norm_eval_uses_the_running_stats(dtype, shape):
    rng = np.random.default_rng(2)
    c = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    rm0, rv0 = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    w = rng.uniform(0.5, 2, c)
    rm, rv = t(rm0, dtype), t(rv0, dtype)
    y = F.batch_norm(t(x, dtype), rm, rv, t(w, dtype), None, training=False, eps=1e-3)
    s = cshape(x)
    want = (x.astype(np.float64) - rm0.astype(dtype).reshape(s)) / \
        np.sqrt(rv0.astype(dtype).astype(np.float64).reshape(s) + 1e-3) * w.astype(dtype).reshape(s)
    close(n(y), want, TOL[dtype])
    assert np.array_equal(n(rm), rm0.astype(dtype)) and np.array_equal(n(rv), rv0.astype(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,k", [((3, 4), 1), ((2, 3, 4), 2), ((5,), 1), ((8, 5000), 1),
                                     ((64, 128, 512), 1), ((4, 6, 50), 2)], ids=str)
def test_layer_norm_values(dtype, shape, k):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3 - 1).astype(dtype)
    ws = shape[len(shape) - k:]
    w, b = rng.uniform(0.5, 2, ws), rng.uniform(-1, 1, ws)
    y = F.layer_norm(t(x, dtype), ws, t(w, dtype), t(b, dtype), eps=1e-5)
    axes = tuple(range(len(shape) - k, len(shape)))
    close(n(y), ref_norm(x, axes, 1e-5, w.astype(dtype), b.astype(dtype), ws), TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 3), ((2, 6), 2), ((2, 4, 3, 2), 1),
                                          ((2, 4, 3), 4), ((4, 8, 2000), 2), ((300, 120), 4)],
                         ids=str)
def test_group_norm_values(dtype, shape, groups):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) + 2).astype(dtype)
    c = shape[1]
    w, b = rng.uniform(0.5, 2, c).astype(dtype), rng.uniform(-1, 1, c).astype(dtype)
    y = F.group_norm(t(x, dtype), groups, t(w, dtype), t(b, dtype), eps=1e-5)
    close(n(y), ref_group_norm(x, groups, 1e-5, w, b), TOL[dtype])


def test_non_contiguous_inputs_and_strided_running_stats():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 3, 4))
    xt = t(np.ascontiguousarray(x.transpose(2, 1, 0))).permute(2, 1, 0)   # (5, 3, 4), strided
    assert not xt.is_contiguous()
    buf = t(np.zeros(6))
    rm = buf[::2]                       # running_mean as a strided view
    rv = t(np.ones(3))
    y = F.batch_norm(xt, rm, rv, training=True, momentum=0.5)
    close(n(y), ref_norm(x, (0, 2), 1e-5), 1e-12)
    close(n(buf)[::2], 0.5 * x.mean(axis=(0, 2)), 1e-12)
    assert np.all(n(buf)[1::2] == 0)    # the elements between are untouched
    lt = t(x).permute(2, 1, 0)                 # (4, 3, 5) = x.T: not contiguous
    assert not lt.is_contiguous()
    close(n(F.layer_norm(lt, (5,))), ref_norm(x.T, (2,), 1e-5), 1e-12)


def test_empty_batches():
    rm, rv = t(np.full(3, 0.5)), t(np.full(3, 2.0))
    y = F.batch_norm(t(np.zeros((0, 3))), rm, rv, training=True)
    assert y.shape == (0, 3)
    assert np.all(n(rm) == 0.5) and np.all(n(rv) == 2.0)   # PyTorch leaves them
    assert F.layer_norm(t(np.zeros((0, 4))), (4,)).shape == (0, 4)
    assert F.layer_norm(t(np.zeros((3, 0))), (0,)).shape == (3, 0)
    assert F.group_norm(t(np.zeros((0, 6, 3))), 3).shape == (0, 6, 3)
    x = t(np.zeros((0, 3, 2)), requires_grad=True)
    w = t(np.ones(3), requires_grad=True)
    F.batch_norm(x, None, None, w, training=True).sum().backward()
    assert x.grad.shape == (0, 3, 2) and np.all(n(w.grad) == 0)


# ---- stability --------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["batch_norm", "layer_norm", "group_norm"])
def test_float32_large_mean_is_accurate(op):
    """x = 1e4 + N(0, 1) in float32: E[x^2] - E[x]^2 would cancel to noise
    (float32 keeps 1e-3 of 1e8); the blocked two-pass statistics keep the
    normalized output within ~1e-5 of the float64 reference."""
    rng = np.random.default_rng(6)
    x = (1e4 + rng.standard_normal((64, 4, 300))).astype(np.float32)
    x64 = x.astype(np.float64)
    if op == "batch_norm":
        y = F.batch_norm(t(x, "float32"), None, None, training=True)
        want = ref_norm(x64, (0, 2), 1e-5)
    elif op == "layer_norm":
        y = F.layer_norm(t(x, "float32"), (300,))
        want = ref_norm(x64, (2,), 1e-5)
    else:
        y = F.group_norm(t(x, "float32"), 2)
        want = ref_group_norm(x64, 2, 1e-5)
    err = np.max(np.abs(n(y) - want))
    assert err < 1e-5, err


@pytest.mark.parametrize("op", ["batch_norm", "layer_norm", "group_norm"])
def test_float64_large_mean_is_accurate(op):
    """x = 1e6 + N(0, 1) in float64: a one-pass E[x^2] - E[x]^2, even in
    double, loses 1e-16 * 1e12 = 1e-4 of the variance; the two-pass blocks
    lose only what x - mean rounds away (1e6 * 1e-16)."""
    rng = np.random.default_rng(17)
    x = 1e6 + rng.standard_normal((16, 4, 600))
    if op == "batch_norm":
        y, want = F.batch_norm(t(x), None, None, training=True), ref_norm(x, (0, 2), 1e-5)
    elif op == "layer_norm":
        y, want = F.layer_norm(t(x), (600,)), ref_norm(x, (2,), 1e-5)
    else:
        y, want = F.group_norm(t(x), 2), ref_group_norm(x, 2, 1e-5)
    err = np.max(np.abs(n(y) - want))
    assert err < 1e-8, err


def test_float32_large_mean_running_var():
    rng = np.random.default_rng(7)
    x = (1e4 + rng.standard_normal((4096, 2))).astype(np.float32)
    rm, rv = t(np.zeros(2), "float32"), t(np.zeros(2), "float32")
    F.batch_norm(t(x, "float32"), rm, rv, training=True, momentum=1.0)
    close(n(rv), x.astype(np.float64).var(axis=0, ddof=1), 1e-5)
    close(n(rm), x.astype(np.float64).mean(axis=0), 1e-7)


# ---- running statistics over several steps (modules) -----------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_over_steps(momentum):
    rng = np.random.default_rng(8)
    m = nn.BatchNorm2d(3, momentum=momentum).double()
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(1, 6):
        x = rng.standard_normal((4, 3, 5, 2)) * (1 + step) + step
        y = m(t(x))
        close(n(y), ref_norm(x, (0, 2, 3), 1e-5), 1e-12)
        f = 1 / step if momentum is None else momentum
        rm = (1 - f) * rm + f * x.mean(axis=(0, 2, 3))
        rv = (1 - f) * rv + f * x.var(axis=(0, 2, 3), ddof=1)
        close(n(m.running_mean), rm, 1e-12)
        close(n(m.running_var), rv, 1e-12)
        assert m.num_batches_tracked.item() == step
        assert m.num_batches_tracked.dtype is tf.int64
    m.eval()
    x = rng.standard_normal((2, 3, 5, 2))
    want = (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
    close(n(m(t(x))), want, 1e-12)
    assert m.num_batches_tracked.item() == 5      # eval counts nothing


def test_batchnorm_without_running_stats_uses_the_batch_in_eval():
    m = nn.BatchNorm1d(3, track_running_stats=False).double().eval()
    assert m.running_mean is None and "running_mean" not in m.state_dict()
    x = np.random.default_rng(9).standard_normal((6, 3))
    close(n(m(t(x))), ref_norm(x, (0,), 1e-5), 1e-12)


def test_module_defaults_and_state_dict_keys():
    b = nn.BatchNorm1d(4)
    assert list(b.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"]
    assert np.all(n(b.weight) == 1) and np.all(n(b.bias) == 0)
    assert np.all(n(b.running_mean) == 0) and np.all(n(b.running_var) == 1)
    assert list(nn.BatchNorm1d(4, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm1d(4, bias=False).state_dict())[:1] == ["weight"]
    assert list(nn.LayerNorm((2, 3)).state_dict()) == ["weight", "bias"]
    assert nn.LayerNorm((2, 3)).weight.shape == (2, 3)
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert list(nn.GroupNorm(2, 4, affine=False).state_dict()) == []
    assert repr(nn.BatchNorm2d(3)) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    m = nn.BatchNorm1d(2).double()
    m(t(np.random.default_rng(0).standard_normal((5, 2))))
    m.reset_running_stats()
    assert np.all(n(m.running_mean) == 0) and m.num_batches_tracked.item() == 0


# ---- gradients ------------------------------------------------------------------------------
def _bn(training):
    def f(x, w, b):
        rm, rv = (None, None) if training else (t([0.1, -0.2, 0.3]), t([1.5, 0.7, 2.0]))
        return F.batch_norm(x, rm, rv, w, b, training=training)
    return f


GRAD_CASES = [
    ("bn-train", _bn(True), [(4, 3, 2), (3,), (3,)]),
    ("bn-train-2d", _bn(True), [(5, 3), (3,), (3,)]),
    ("bn-eval", _bn(False), [(4, 3, 2), (3,), (3,)]),
    ("ln", lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [(4, 2, 3), (2, 3), (2, 3)]),
    ("ln-1d", lambda x, w, b: F.layer_norm(x, (5,), w, b), [(5,), (5,), (5,)]),
    ("gn", lambda x, w, b: F.group_norm(x, 2, w, b), [(3, 4, 2), (4,), (4,)]),
    ("gn-s1", lambda x, w, b: F.group_norm(x, 2, w, b), [(3, 4), (4,), (4,)]),
]


@pytest.mark.parametrize("name,f,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(name, f, shapes):
    rng = np.random.default_rng(10)
    ins = [t(rng.standard_normal(s) + (1.5 if i == 1 else 0), requires_grad=True)
           for i, s in enumerate(shapes)]
    assert gradcheck(f, ins)
    assert gradgradcheck(f, ins)


def _grads(f, ins, g, create_graph):
    out = f(*ins)
    return tf.autograd.grad(out, ins, g, create_graph=create_graph)


BIG_CASES = [
    ("bn-train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (16, 4, 1024), 4),
    ("bn-eval", lambda x, w, b: F.batch_norm(x, t(np.linspace(-1, 1, 4)), t(np.linspace(.5, 2, 4)),
                                             w, b), (8, 4, 100), 4),
    ("ln", lambda x, w, b: F.layer_norm(x, (5000,), w, b), (8, 5000), (5000,)),
    ("ln-rows", lambda x, w, b: F.layer_norm(x, (512,), w, b), (80, 512), (512,)),
    ("gn", lambda x, w, b: F.group_norm(x, 2, w, b), (4, 8, 2000), 8),
    ("gn-s1", lambda x, w, b: F.group_norm(x, 4, w, b), (300, 120), 120),
]


@pytest.mark.parametrize("name,f,shape,wshape", BIG_CASES, ids=[c[0] for c in BIG_CASES])
def test_fused_backward_matches_the_composite_one(name, f, shape, wshape):
    """The C backward (create_graph off) and the differentiable composite
    formula (create_graph on) give the same gradients, on sizes that reach
    the kernels' blocks and threads."""
    rng = np.random.default_rng(11)
    ws = wshape if isinstance(wshape, tuple) else (wshape,)
    ins = [t(rng.standard_normal(shape) + 3, requires_grad=True),
           t(rng.uniform(0.5, 2, ws), requires_grad=True),
           t(rng.uniform(-1, 1, ws), requires_grad=True)]
    g = t(rng.standard_normal(shape))
    fast = _grads(f, ins, g, False)
    slow = _grads(f, ins, g, True)
    for a, b in zip(fast, slow):
        close(n(a), n(b), 1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backward_against_the_numpy_formula(dtype):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((16, 4, 1024)) + 2).astype(dtype)
    w = rng.uniform(0.5, 2, 4).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    tx, tw, tb = t(x, dtype, True), t(w, dtype, True), t(np.zeros(4), dtype, True)
    F.batch_norm(tx, None, None, tw, tb, training=True, eps=1e-3).backward(t(g, dtype))
    dx, xhat = ref_norm_grads(x, g, (0, 2), 1e-3, w, (1, 4, 1))
    tol = 1e-5 if dtype == "float32" else 1e-11
    close(n(tx.grad), dx, tol)
    close(n(tw.grad), (g.astype(np.float64) * xhat).sum(axis=(0, 2)), tol)
    close(n(tb.grad), g.astype(np.float64).sum(axis=(0, 2)), tol)
    # layer norm with an elementwise weight
    x = rng.standard_normal((70, 600)).astype(dtype)
    w = rng.uniform(0.5, 2, 600).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    tx, tw, tb = t(x, dtype, True), t(w, dtype, True), t(np.zeros(600), dtype, True)
    F.layer_norm(tx, (600,), tw, tb).backward(t(g, dtype))
    dx, xhat = ref_norm_grads(x, g, (1,), 1e-5, w, (1, 600))
    close(n(tx.grad), dx, tol)
    close(n(tw.grad), (g.astype(np.float64) * xhat).sum(axis=0), tol)
    close(n(tb.grad), g.astype(np.float64).sum(axis=0), tol)


def test_partial_requires_grad():
    """Only the weight requires grad: the C backward computes only that."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((6, 3, 4))
    w = t(np.ones(3), requires_grad=True)
    g = rng.standard_normal(x.shape)
    F.batch_norm(t(x), None, None, w, training=True).backward(t(g))
    xhat = ref_norm(x, (0, 2), 1e-5)
    close(n(w.grad), (g * xhat).sum(axis=(0, 2)), 1e-12)
    y = F.group_norm(t(x, requires_grad=True), 3)
    assert y.grad_fn is not None and y.grad_fn.name() == "NativeGroupNormBackward0"


def test_saved_input_modified_in_place_is_an_error():
    x = t(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    h = x * 1.0
    y = F.layer_norm(h, (3,))
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---- threads ---------------------------------------------------------------------------------
# units of 5 blocks over 3 channels (15 items: threads split a unit), one
# channel of 16 blocks (every split cuts it), rows of two blocks, groups of
# two blocks, many one-block rows
THREAD_CASES = [("batch_norm", (20, 3, 1024)), ("batch_norm", (64, 1, 1024)),
                ("layer_norm", (21, 5000)), ("layer_norm", (300, 256)),
                ("group_norm", (3, 8, 2000))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,shape", THREAD_CASES, ids=[f"{o}-{s}" for o, s in THREAD_CASES])
def test_results_do_not_depend_on_the_thread_count(op, shape, dtype):
    """Float64 too: float32 results would hide a double-rounding difference."""
    rng = np.random.default_rng(14)
    x = (rng.standard_normal(shape) + 5).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1] if op != "layer_norm" else shape[-1]
    w, b = rng.uniform(0.5, 2, c).astype(dtype), rng.uniform(-1, 1, c).astype(dtype)

    def run():
        tx, tw, tb = (t(a, dtype, True) for a in (x, w, b))
        rm, rv = t(np.zeros(c), dtype), t(np.ones(c), dtype)
        if op == "batch_norm":
            y = F.batch_norm(tx, rm, rv, tw, tb, training=True)
        elif op == "layer_norm":
            y = F.layer_norm(tx, (c,), tw, tb)
        else:
            y = F.group_norm(tx, 2, tw, tb)
        y.backward(t(g, dtype))
        return [n(v) for v in (y, tx.grad, tw.grad, tb.grad, rm, rv)]

    before = tf.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3, 2):
            tf.set_num_threads(threads)
            results.append(run())
    finally:
        tf.set_num_threads(before)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            assert np.array_equal(a, b_)
    # and the bits are right: against the independent reference
    x64 = x.astype(np.float64)
    if op == "batch_norm":
        want = ref_norm(x64, (0, 2), 1e-5, w, b, (1, c, 1))
    elif op == "layer_norm":
        want = ref_norm(x64, (1,), 1e-5, w, b, (c,))
    else:
        want = ref_group_norm(x64, 2, 1e-5, w, b)
    close(results[0][0], want, TOL[dtype])


# ---- against PyTorch ----------------------------------------------------------------------------
def test_batchnorm2d_training_steps_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    for momentum in (0.1, None):
        m = nn.BatchNorm2d(3, momentum=momentum).double()
        p = torch.nn.BatchNorm2d(3, momentum=momentum).double()
        with torch.no_grad():
            p.weight.copy_(torch.tensor(rng.uniform(0.5, 2, 3)))
            p.bias.copy_(torch.tensor(rng.uniform(-1, 1, 3)))
        m.load_state_dict({k: v.numpy() for k, v in p.state_dict().items()})
        for _ in range(4):
            x = rng.standard_normal((4, 3, 5, 6)) * 3 + 1
            g = rng.standard_normal(x.shape)
            tx, px = t(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            y, py = m(tx), p(px)
            y.backward(t(g))
            py.backward(torch.tensor(g))
            close(n(y), py.detach().numpy(), 1e-12)
            close(n(tx.grad), px.grad.numpy(), 1e-12)
            close(n(m.weight.grad), p.weight.grad.numpy(), 1e-12)
            close(n(m.bias.grad), p.bias.grad.numpy(), 1e-12)
            for key in ("running_mean", "running_var"):
                close(n(getattr(m, key)), getattr(p, key).numpy(), 1e-12)
            assert m.num_batches_tracked.item() == p.num_batches_tracked.item()
        m.eval()
        p.eval()
        x = rng.standard_normal((2, 3, 5, 6))
        close(n(m(t(x))), p(torch.tensor(x)).detach().numpy(), 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_and_group_norm_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(16)
    tol = 1e-5 if dtype == "float32" else 1e-12
    tdt = getattr(torch, dtype)
    for ours, theirs, shape in (
            (nn.LayerNorm((6, 7)), torch.nn.LayerNorm((6, 7)), (5, 6, 7)),
            (nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6), (5, 6, 7)),
            (nn.BatchNorm1d(6), torch.nn.BatchNorm1d(6), (5, 6, 7))):
        ours = ours.to(DT[dtype])
        theirs = theirs.to(tdt)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(rng.uniform(0.5, 2, theirs.weight.shape)))
            theirs.bias.copy_(torch.tensor(rng.uniform(-1, 1, theirs.bias.shape)))
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        tx, px = t(x, dtype, True), torch.tensor(x, requires_grad=True)
        y, py = ours(tx), theirs(px)
        y.backward(t(g, dtype))
        py.backward(torch.tensor(g))
        close(n(y), py.detach().numpy(), tol)
        close(n(tx.grad), px.grad.numpy(), tol * 10)
        close(n(ours.weight.grad), theirs.weight.grad.numpy(), tol * 10)
        close(n(ours.bias.grad), theirs.bias.grad.numpy(), tol * 10)


# ---- errors -------------------------------------------------------------------------------------
def test_module_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 1D input"):
        nn.BatchNorm1d(3)(tf.ones(3))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D input"):
        nn.BatchNorm1d(3)(tf.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D input of "
                                         r"shape \(2, 3, 4\)\)"):
        nn.BatchNorm2d(3)(tf.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 3 channels \(num_features\) in "
                                         r"dim 1 of the input, got input of shape \(2, 4, 4, 4\)"):
        nn.BatchNorm2d(3)(tf.ones(2, 4, 4, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(tf.ones(1, 3))
    nn.BatchNorm1d(3).eval()(tf.ones(1, 3))           # fine in eval, as in PyTorch
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by "
                                         r"num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"group_norm: expected the number of channels of the "
                                         r"input of shape \(2, 4, 3\) \(4\) to be divisible"):
        nn.GroupNorm(3, 6, affine=False)(tf.ones(2, 4, 3))
    with pytest.raises(ValueError, match=r"layer_norm: Given normalized_shape=\[3, 4\], expected "
                                         r"input with shape \[\*, 3, 4\], but got input of size "
                                         r"\(2, 4, 3\)"):
        nn.LayerNorm((3, 4))(tf.ones(2, 4, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d: num_features must be a positive int"):
        nn.BatchNorm1d(0)
