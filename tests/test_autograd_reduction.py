"""Gradients of the reductions and softmax (tinyfin/reduction.py).

Every differentiable op is checked with gradcheck and gradgradcheck (float64
central differences) over all dims, single dims (negative too), several dims,
keepdim both ways, 0-d and non-contiguous inputs. Where finite differences
cannot decide (ties of max/min), the values of PyTorch's conventions are
checked instead; prod at zeros is checked against hand-computed values.
"""
import math

import numpy as np
import pytest

import tinyfin as tf
from tinyfin.autograd import grad, gradcheck, gradgradcheck

# Tolerances for gradients compared with hand/NumPy values.
F64 = dict(rtol=1e-12, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)

SHAPE = (2, 3, 2)   # every dim >= 2, so var/std never divide by N - 1 = 0
DIMS = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]
INT_DIMS = [0, 1, -1, -3]


def leaf(values, dtype=tf.float64):
    return tf.tensor(np.asarray(values, dtype=np.float64), dtype=dtype,
                     requires_grad=True)


def generic(shape=SHAPE, seed=0):
    """Distinct values away from 0, both signs: no ties, no kinks."""
    rng = np.random.default_rng(seed)
    mag = rng.permutation(np.linspace(0.5, 1.5, int(np.prod(shape))))
    return leaf(mag.reshape(shape) * rng.choice([-1.0, 1.0], shape))


def check(fn, x):
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def g_of(fn, x, seed=None):
    """d(sum(fn(x) * seed))/dx as NumPy (seed: ones by default)."""
    out = fn(x)
    g = None if seed is None else tf.tensor(np.asarray(seed), dtype=out.dtype)
    if g is None and out.numel() != 1:
        g = tf.ones_like(out)
    (dx,) = grad(out, x, g)
    return dx.numpy()


# ---- ops taking any set of dims -------------------------------------------------
MULTI = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "prod": lambda x, d, k: x.prod(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, keepdim=k),
    "var_c0": lambda x, d, k: x.var(d, keepdim=k, correction=0),
    "std": lambda x, d, k: x.std(d, keepdim=k),
    "std_c0": lambda x, d, k: x.std(d, keepdim=k, correction=0),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(() if d is None else d, keepdim=k),
    "amin": lambda x, d, k: x.amin(() if d is None else d, keepdim=k),
    "norm2": lambda x, d, k: x.norm(dim=d, keepdim=k),
}
NORM_PS = [1, 3, 1.5, 0.5, math.inf, -math.inf, 0]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("op", sorted(MULTI))
def test_multi_dim_ops(op, dim, keepdim):
    check(lambda x: MULTI[op](x, dim, keepdim), generic())


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, -2, (0, 2)], ids=str)
@pytest.mark.parametrize("p", NORM_PS, ids=str)
def test_norm_p(p, dim, keepdim):
    check(lambda x: x.norm(p, dim=dim, keepdim=keepdim), generic())


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", INT_DIMS)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim(op, dim, keepdim):
    check(lambda x: getattr(x, op)(dim, keepdim=keepdim).values, generic())


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_all(op):
    check(lambda x: getattr(x, op)(), generic())


@pytest.mark.parametrize("dim", INT_DIMS)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_dims(op, dim):
    check(lambda x: getattr(x, op)(dim), generic())


# ---- 0-d inputs -------------------------------------------------------------------
ZERO_D = {
    "sum": lambda x: x.sum(), "sum0": lambda x: x.sum(0),
    "mean": lambda x: x.mean(-1, keepdim=True), "prod": lambda x: x.prod(),
    "prod0": lambda x: x.prod(0),
    "var_c0": lambda x: x.var(correction=0), "std_c0": lambda x: x.std(0, correction=0),
    "logsumexp": lambda x: x.logsumexp(0), "norm": lambda x: x.norm(),
    "norm3": lambda x: x.norm(3), "norm_inf": lambda x: x.norm(math.inf),
    "amax": lambda x: x.amax(), "amin": lambda x: x.amin(0),
    "max": lambda x: x.max(), "max0": lambda x: x.max(0).values,
    "min_keep": lambda x: x.min(-1, keepdim=True).values,
    "softmax": lambda x: x.softmax(0), "log_softmax": lambda x: x.log_softmax(-1),
}


@pytest.mark.parametrize("op", sorted(ZERO_D))
def test_zero_d(op):
    x = leaf(-1.25)
    check(ZERO_D[op], x)
    assert g_of(ZERO_D[op], x).shape == ()


def test_zero_d_prod_of_zero():
    x = leaf(0.0)
    check(lambda t: t.prod(), x)
    np.testing.assert_allclose(g_of(lambda t: t.prod(), x), 1.0, **F64)


# ---- non-contiguous inputs -----------------------------------------------------------
VIEWS = {
    "transposed": lambda x: x.transpose(0, 2),              # (2, 3, 2) -> (2, 3, 2)
    "permuted": lambda x: x.permute(1, 2, 0),                # -> (3, 2, 2)
    "expanded": lambda x: x.unsqueeze(0).expand(2, 2, 3, 2),  # stride 0
}
NC_OPS = {
    "sum": lambda v: v.sum((0, 1)), "mean": lambda v: v.mean(-1),
    "prod": lambda v: v.prod(1, keepdim=True), "var": lambda v: v.var(0),
    "std": lambda v: v.std((1, 2)), "logsumexp": lambda v: v.logsumexp(1),
    "norm": lambda v: v.norm(dim=-1), "norm3": lambda v: v.norm(3, dim=0),
    "amax": lambda v: v.amax(1), "max": lambda v: v.max(-1).values,
    "min_all": lambda v: v.min(), "softmax": lambda v: v.softmax(0),
    "log_softmax": lambda v: v.log_softmax(1),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("op", sorted(NC_OPS))
def test_non_contiguous(op, view):
    x = generic()
    v = VIEWS[view](x)
    assert not v.is_contiguous()
    check(lambda t: NC_OPS[op](VIEWS[view](t)), x)


# ---- values of the formulas against NumPy ------------------------------------------------
def test_sum_mean_values_and_shapes():
    x = generic()
    np.testing.assert_array_equal(g_of(lambda t: t.sum((0, 2)), x), np.ones(SHAPE))
    np.testing.assert_allclose(g_of(lambda t: t.mean(1), x), np.full(SHAPE, 1 / 3), **F64)
    np.testing.assert_allclose(g_of(lambda t: t.mean(), x), np.full(SHAPE, 1 / 12), **F64)
    seed = np.arange(4.0).reshape(2, 2)
    got = g_of(lambda t: t.sum(1), x, seed)
    np.testing.assert_array_equal(got, np.broadcast_to(seed[:, None, :], SHAPE))


def test_var_std_logsumexp_norm_values():
    x = generic()
    a = x.detach().numpy()
    c = a - a.mean(1, keepdims=True)
    np.testing.assert_allclose(g_of(lambda t: t.var(1), x), 2 * c / 2, **F64)
    np.testing.assert_allclose(g_of(lambda t: t.var(1, correction=0), x), 2 * c / 3, **F64)
    sd = a.std(1, ddof=1, keepdims=True)
    np.testing.assert_allclose(g_of(lambda t: t.std(1), x), c / (2 * sd), **F64)
    lse = np.log(np.exp(a).sum((0, 2), keepdims=True))
    np.testing.assert_allclose(g_of(lambda t: t.logsumexp((0, 2)), x),
                               np.exp(a - lse), **F64)
    n2 = np.sqrt((a * a).sum(-1, keepdims=True))
    np.testing.assert_allclose(g_of(lambda t: t.norm(dim=-1), x), a / n2, **F64)
    n3 = ((np.abs(a) ** 3).sum(0, keepdims=True)) ** (1 / 3)
    np.testing.assert_allclose(g_of(lambda t: t.norm(3, dim=0), x),
                               a * np.abs(a) / n3 ** 2, **F64)
    np.testing.assert_array_equal(g_of(lambda t: t.norm(1), x), np.sign(a))
    np.testing.assert_array_equal(g_of(lambda t: t.norm(0), x), np.zeros(SHAPE))


def test_norm_and_std_zero_result():
    """PyTorch: the 2-norm / std gradient is 0 where the result is 0, and
    stays finite (no NaN through where) at second order."""
    x = leaf([[0.0, 0.0], [3.0, -4.0]])
    np.testing.assert_allclose(g_of(lambda t: t.norm(dim=1), x),
                               [[0, 0], [0.6, -0.8]], **F64)
    x = leaf([[2.0, 2.0], [1.0, 3.0]])
    np.testing.assert_allclose(g_of(lambda t: t.std(1), x),
                               [[0, 0], [-1 / math.sqrt(2), 1 / math.sqrt(2)]], **F64)
    out = x.std(1).sum()
    (g1,) = grad(out, x, create_graph=True)
    (g2,) = grad(g1.sum(), x)
    assert np.isfinite(g2.numpy()).all()


# ---- prod at zeros ---------------------------------------------------------------------
ZEROS = [[2.0, 0.0, 3.0, 5.0],     # one zero: it gets 2 * 3 * 5
         [1.0, 2.0, 0.0, 0.0],     # two zeros: all 0
         [0.0, 0.0, 0.0, 4.0],     # three zeros
         [1.5, -2.0, 3.0, 0.5]]    # none: out / x


def test_prod_zeros_values():
    x = leaf(ZEROS)
    want = [[0, 30, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
            [-2 * 3 * 0.5, 1.5 * 3 * 0.5, 1.5 * -2 * 0.5, 1.5 * -2 * 3]]
    np.testing.assert_allclose(g_of(lambda t: t.prod(1), x), want, **F64)
    # All dims: one zero in the whole tensor -> it gets the product of the rest.
    y = leaf([[2.0, -3.0], [0.0, 0.5]])
    np.testing.assert_allclose(g_of(lambda t: t.prod(), y), [[0, 0], [-3.0, 0]], **F64)
    z = leaf([[0.0, -3.0], [0.0, 0.5]])
    np.testing.assert_allclose(g_of(lambda t: t.prod(), z), np.zeros((2, 2)), **F64)
    np.testing.assert_allclose(g_of(lambda t: t.prod(0), z), [[0, 0.5], [0, -3]], **F64)
    w = leaf([[0.0, -3.0], [2.0, 0.0]])
    np.testing.assert_allclose(g_of(lambda t: t.prod(0, keepdim=True), w),
                               [[2, 0], [0, -3]], **F64)


@pytest.mark.parametrize("dim", [1, 0, None, (0, 1)], ids=str)
def test_prod_zeros_gradcheck(dim):
    """prod is a polynomial: finite differences are exact at zeros too."""
    check(lambda t: t.prod(dim, keepdim=dim == 0), leaf(ZEROS))


def test_prod_zeros_second_derivative_values():
    x = leaf([[0.0, 0.0, 5.0], [0.0, 2.0, 3.0]])
    (g1,) = grad(x.prod(1).sum(), x, create_graph=True)
    rows = []
    for j in range(3):  # Hessian of each row's product, row by row
        pick = tf.tensor(np.eye(3)[j], dtype=tf.float64)
        (h,) = grad((g1 * pick).sum(), x, retain_graph=True)
        rows.append(h.numpy())
    # row 0: d2/dx0 dx1 = 5; row 1: d2/dx0 dx1 = 3, d2/dx0 dx2 = 2, d2/dx1 dx2 = 0
    np.testing.assert_allclose(np.stack([r[0] for r in rows]),
                               [[0, 5, 0], [5, 0, 0], [0, 0, 0]], **F64)
    np.testing.assert_allclose(np.stack([r[1] for r in rows]),
                               [[0, 3, 2], [3, 0, 0], [2, 0, 0]], **F64)


# ---- ties: PyTorch's conventions ----------------------------------------------------------
TIES = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]


@pytest.mark.parametrize("keepdim", [False, True])
def test_ties_max_min_dim_go_to_returned_index(keepdim):
    x = leaf(TIES)
    res = x.max(1, keepdim=keepdim)
    (dx,) = grad(res.values.sum(), x)
    np.testing.assert_array_equal(res.indices.numpy().reshape(-1), [1, 0])
    np.testing.assert_array_equal(dx.numpy(), [[0, 1, 0], [1, 0, 0]])
    res = x.min(0, keepdim=keepdim)
    (dx,) = grad(res.values.sum(), x)
    want = np.zeros((2, 3))
    want[res.indices.numpy().reshape(-1), [0, 1, 2]] = 1
    np.testing.assert_array_equal(dx.numpy(), want)
    assert not res.indices.requires_grad


def test_ties_amax_amin_share_evenly():
    x = leaf(TIES)
    np.testing.assert_allclose(g_of(lambda t: t.amax(1), x),
                               [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], **F64)
    np.testing.assert_allclose(g_of(lambda t: t.amin(1, keepdim=True), x),
                               [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], **F64)
    np.testing.assert_allclose(g_of(lambda t: t.amax((0, 1)), x),
                               [[0, 0.5, 0.5], [0, 0, 0]], **F64)
    np.testing.assert_allclose(g_of(lambda t: t.amin(0), x, [2.0, 4.0, 6.0]),
                               [[2, 0, 0], [0, 4, 6]], **F64)


def test_ties_max_min_all_share_evenly():
    x = leaf([[1.0, 3.0, 3.0], [3.0, -1.0, -1.0]])
    np.testing.assert_allclose(g_of(lambda t: t.max(), x),
                               [[0, 1 / 3, 1 / 3], [1 / 3, 0, 0]], **F64)
    np.testing.assert_allclose(g_of(lambda t: t.min(), x),
                               [[0, 0, 0], [0, 0.5, 0.5]], **F64)


def test_ties_nan_gets_the_gradient():
    x = leaf([1.0, math.nan, 2.0, math.nan])
    np.testing.assert_allclose(g_of(lambda t: t.max(), x), [0, 0.5, 0, 0.5], **F64)
    np.testing.assert_allclose(g_of(lambda t: t.amin(0), x), [0, 0.5, 0, 0.5], **F64)


def test_ties_norm_inf_with_sign():
    x = leaf([[-3.0, 3.0, 1.0], [0.5, -2.0, 1.0]])
    np.testing.assert_allclose(g_of(lambda t: t.norm(math.inf, dim=1), x),
                               [[-0.5, 0.5, 0], [0, -1, 0]], **F64)
    np.testing.assert_allclose(g_of(lambda t: t.norm(-math.inf, dim=1), x),
                               [[0, 0, 1], [1, 0, 0]], **F64)


# ---- softmax: stable forms, large inputs ------------------------------------------------------
def _softmax_np(a, dim):
    e = np.exp(a - a.max(dim, keepdims=True))
    return e / e.sum(dim, keepdims=True)


BIG = [[1e4, 1e4 - 1.0, -1e4, 3.0], [0.0, 1e4, 5.0, 1e4 + 0.5], [-1e4, -1e4, -1e4 + 2, -1e4]]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_large_inputs(dim):
    a = np.array(BIG)
    seed = np.linspace(-1.0, 2.0, a.size).reshape(a.shape)
    s = _softmax_np(a, dim)
    for dtype, tol in ((tf.float64, F64), (tf.float32, F32)):
        x = leaf(a, dtype)
        got = g_of(lambda t: t.softmax(dim), x, seed)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, s * (seed - (seed * s).sum(dim, keepdims=True)), **tol)
        got = g_of(lambda t: t.log_softmax(dim), x, seed)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, seed - s * seed.sum(dim, keepdims=True), **tol)
    for op in ("softmax", "log_softmax"):
        check(lambda t: getattr(t, op)(dim), leaf(a))


# ---- dtype= sends the gradient back in the input's dtype -------------------------------------
DTYPE_OPS = {
    "sum": lambda t: t.sum(1, dtype=tf.float64),
    "mean": lambda t: t.mean(dtype=tf.float64),
    "prod": lambda t: t.prod(0, dtype=tf.float64),
    "norm": lambda t: t.norm(2, 1, dtype=tf.float64),
    "softmax": lambda t: t.softmax(1, dtype=tf.float64),
    "log_softmax": lambda t: t.log_softmax(0, dtype=tf.float64),
}


@pytest.mark.parametrize("op", sorted(DTYPE_OPS))
def test_dtype_argument(op):
    a = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]])
    x32 = leaf(a, tf.float32)
    out = DTYPE_OPS[op](x32)
    assert out.dtype is tf.float64
    seed = np.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
    got = g_of(DTYPE_OPS[op], x32, seed)
    x64 = leaf(a.astype(np.float32).astype(np.float64))
    want = g_of(DTYPE_OPS[op], x64, seed)
    (dx,) = grad(DTYPE_OPS[op](x32), x32, tf.tensor(seed))
    assert dx.dtype is tf.float32
    np.testing.assert_allclose(got, want, **F32)


# ---- broadcasting gradients go through sum_to --------------------------------------------------
def test_broadcast_mul_sum():
    a = leaf(np.linspace(-1.0, 1.0, 3).reshape(3, 1))
    b = leaf([0.5, -2.0, 1.5, 3.0])
    assert gradcheck(lambda a, b: (a * b).sum(), (a, b))
    assert gradgradcheck(lambda a, b: (a * b).sum(), (a, b))
    da, db = grad((a * b).sum(), (a, b))
    np.testing.assert_allclose(da.numpy(), np.full((3, 1), 3.0), **F64)
    np.testing.assert_allclose(db.numpy(), np.zeros(4) + a.detach().numpy().sum(), **F64)
    assert gradgradcheck(lambda a, b: (a * b).mean(0).softmax(0), (a, b))


# ---- empty tensors, non-differentiable ops, grad mode ------------------------------------------------
def test_empty_inputs():
    x = tf.zeros((0, 3), dtype=tf.float64, requires_grad=True)
    for fn in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.prod(1),
               lambda t: t.norm(dim=0), lambda t: t.mean(0)):
        out = fn(x)
        (dx,) = grad(out, x, tf.ones_like(out))
        assert dx.shape == (0, 3)
    y = tf.zeros((3, 0), dtype=tf.float64, requires_grad=True)
    (dy,) = grad(y.mean(1), y, tf.ones(3, dtype=tf.float64))
    assert dy.shape == (3, 0)
    (dy,) = grad(y.sum(1), y, tf.ones(3, dtype=tf.float64))
    assert dy.shape == (3, 0)


def test_not_differentiable_ops_record_nothing():
    x = generic()
    for out in (x.argmax(), x.argmin(1), x.all(), x.any(0), x.max(1).indices):
        assert not out.requires_grad and out.grad_fn is None
    with tf.no_grad():
        assert x.sum().grad_fn is None and not x.softmax(0).requires_grad
    out = x.sum(1)
    assert out.requires_grad and out.grad_fn is not None


def test_saved_input_modified_in_place_is_an_error():
    x = generic()
    y = x * 1.0
    out = y.prod()
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_backward_through_leaf_accumulates():
    x = generic()
    x.softmax(1).sum().backward()
    x.norm().backward()
    a = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), a / np.sqrt((a * a).sum()), **F64)


def test_saving_the_output_makes_no_reference_cycle():
    """Ops that save OUT must free everything by reference counting alone."""
    import gc
    from tinyfin import _C
    x = generic()
    fns = [lambda t: t.softmax(1), lambda t: t.log_softmax(0), lambda t: t.prod(1),
           lambda t: t.std(0), lambda t: t.norm(3, dim=1), lambda t: t.amax(),
           lambda t: t.max(1).values, lambda t: t.logsumexp(0)]
    gc.collect()
    gc.disable()
    try:
        before = _C.live_tensors()
        for fn in fns:
            y = fn(x)
            y.sum().backward()
            del y
        x.grad = None
        assert _C.live_tensors() == before
    finally:
        gc.enable()
