"""Autograd: the engine's semantics (PyTorch's), grad modes, hooks, version
counters, memory, gradcheck of every elementwise op, and the functional API
against closed forms and finite differences.

Gradient checks run in float64 against central differences
(tinyfin.autograd.gradcheck: atol 1e-5, rtol 1e-3) and second derivatives
with gradgradcheck."""
import gc
import math
import os
import re
import threading

import numpy as np
import pytest

from helpers_process import join_threads
import tinyfin as tf
from tinyfin import _C
from tinyfin.autograd import GradcheckError, functional as AF, gradcheck, gradgradcheck
from tinyfin.autograd import graph

RNG = np.random.default_rng(2024)


def leaf(shape, low=-1.0, high=1.0):
    return tf.tensor(RNG.uniform(low, high, shape), dtype=tf.float64, requires_grad=True)


# ---- every elementwise op: first and second derivatives -------------------------------------
# (name, call, domain): domains keep inputs where the function is smooth.
UNARY_CASES = [
    ("neg", tf.neg, (-2, 2)), ("abs", tf.abs, (0.1, 2)), ("exp", tf.exp, (-2, 2)),
    ("exp2", tf.exp2, (-2, 2)), ("expm1", tf.expm1, (-2, 2)), ("log", tf.log, (0.2, 3)),
    ("log2", tf.log2, (0.2, 3)), ("log10", tf.log10, (0.2, 3)), ("log1p", tf.log1p, (-0.5, 3)),
    ("sqrt", tf.sqrt, (0.2, 3)), ("rsqrt", tf.rsqrt, (0.2, 3)), ("reciprocal", tf.reciprocal, (0.3, 3)),
    ("square", tf.square, (-2, 2)), ("sin", tf.sin, (-3, 3)), ("cos", tf.cos, (-3, 3)),
    ("tan", tf.tan, (-1, 1)), ("tanh", tf.tanh, (-2, 2)), ("sigmoid", tf.sigmoid, (-3, 3)),
    ("relu", tf.relu, (0.1, 2)), ("leaky_relu", lambda x: tf.leaky_relu(x, 0.2), (-2, -0.1)),
    ("elu", lambda x: tf.elu(x, 1.5), (-2, -0.1)), ("gelu", tf.gelu, (-3, 3)),
    ("gelu_tanh", lambda x: tf.gelu(x, approximate="tanh"), (-3, 3)), ("silu", tf.silu, (-3, 3)),
    ("softplus", lambda x: tf.softplus(x, beta=2.0, threshold=5.0), (-2, 2)),
    ("erf", tf.erf, (-2, 2)), ("clamp", lambda x: tf.clamp(x, -0.5, 0.5), (-0.4, 0.4)),
    ("nan_to_num", tf.nan_to_num, (-2, 2)),
]


@pytest.mark.parametrize("name,fn,domain", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_unary_gradcheck(name, fn, domain, shape):
    x = leaf(shape, *domain)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("name,fn,domain", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_gradcheck_non_contiguous(name, fn, domain):
    base = tf.tensor(RNG.uniform(*domain, (4, 3)), dtype=tf.float64)
    x = base.T.requires_grad_()        # a transposed view as the leaf
    assert not x.is_contiguous()
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_piecewise_constant_ops_have_zero_gradient(name):
    x = leaf((5,), 0.1, 0.4)
    getattr(tf, name)(x).backward(tf.ones(5, dtype=tf.float64))
    assert not x.grad.numpy().any()


BINARY_CASES = [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b),
    ("maximum", tf.maximum), ("minimum", tf.minimum),
    ("remainder", lambda a, b: a % b), ("where", lambda a, b: tf.where(a > 0.5 * b, a, b)),
]


@pytest.mark.parametrize("name,fn", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (2, 3)), ((3, 1), (1, 4)),
                                    ((2, 3), (3,)), ((), (3,))])
def test_binary_gradcheck_with_broadcasting(name, fn, shapes):
    a = leaf(shapes[0], 0.5, 1.5)
    b = leaf(shapes[1], 1.6, 2.5)  # disjoint ranges: no ties, no remainder jumps
    assert gradcheck(fn, (a, b))
    assert gradgradcheck(fn, (a, b))


@pytest.mark.parametrize("name,fn", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_with_python_scalars(name, fn):
    a = leaf((4,), 0.5, 1.5)
    assert gradcheck(lambda x: fn(x, 2.0), (a,))
    if name not in ("remainder", "where"):
        assert gradcheck(lambda x: fn(1.7, x), (a,))


def test_tie_conventions():
    """abs'(0) = 0, relu'(0) = 0; maximum/minimum split ties evenly;
    clamp passes the gradient on its closed interval."""
    x = tf.tensor([0.0, -1.0, 2.0], dtype=tf.float64, requires_grad=True)
    (tf.abs(x) + tf.relu(x)).backward(tf.ones(3, dtype=tf.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, -1.0, 2.0])
    a = tf.tensor([1.0, 2.0], dtype=tf.float64, requires_grad=True)
    b = tf.tensor([1.0, 1.0], dtype=tf.float64, requires_grad=True)
    tf.maximum(a, b).backward(tf.ones(2, dtype=tf.float64))
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0.0])
    c = tf.tensor([-1.0, -0.5, 0.5, 1.0], dtype=tf.float64, requires_grad=True)
    tf.clamp(c, -0.5, 0.5).backward(tf.ones(4, dtype=tf.float64))
    np.testing.assert_array_equal(c.grad.numpy(), [0.0, 1.0, 1.0, 0.0])


def test_pow_zero_base_conventions():
    a = tf.tensor([0.0, 2.0], dtype=tf.float64, requires_grad=True)
    b = tf.tensor([2.0, 0.0], dtype=tf.float64, requires_grad=True)
    (a ** b).backward(tf.ones(2, dtype=tf.float64))
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])      # b*a^(b-1); 0 where b == 0
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, math.log(2.0)])  # 0 where a == 0, b >= 0


# ---- engine semantics -------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    x = leaf((3,))
    for _ in range(3):
        (x * x).backward(tf.ones(3, dtype=tf.float64))
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * x.detach().numpy(), rtol=1e-15)


def test_shared_subexpression_accumulates_within_one_backward():
    x = leaf((3,))
    y = x.exp()
    (y * y + y).backward(tf.ones(3, dtype=tf.float64))
    e = np.exp(x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * e * e + e, rtol=1e-14)


def test_retain_graph_allows_second_backward():
    x = leaf((3,))
    y = (x * x).exp()
    y.backward(tf.ones(3, dtype=tf.float64), retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward(tf.ones(3, dtype=tf.float64))
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-15)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward(tf.ones(3, dtype=tf.float64))


def test_non_scalar_backward_needs_gradient():
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (leaf((2,)) * 2.0).backward()


def test_version_counter_catches_in_place_change_of_saved_tensor():
    x = leaf((3,))
    h = x * 1.0
    y = h * h           # saves h
    h.add_(1.0)         # ... which is then changed in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(tf.ones(3, dtype=tf.float64))
    h2 = x * 1.0
    z = h2 + 1.0        # add saves nothing: changing h2 afterwards is fine
    h2.mul_(3.0)
    z.backward(tf.ones(3, dtype=tf.float64))


def test_in_place_ops_on_graph_tensors_are_differentiated():
    x = leaf((3,))
    h = x * 2.0
    h.mul_(x)           # h = 2x^2: mul needs the old h, which it keeps
    h.exp_()            # h = exp(2x^2)
    h.backward(tf.ones(3, dtype=tf.float64))
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(2 * xv * xv) * 4 * xv, rtol=1e-13)
    # As in PyTorch: exp_ saves its output, so changing it again is an error.
    k = x * 2.0
    k.exp_()
    k.mul_(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        k.backward(tf.ones(3, dtype=tf.float64))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2.0)


def test_integer_tensors_cannot_require_grad():
    for data in ([1, 2], [True, False]):
        with pytest.raises(RuntimeError, match="only tensors of floating point dtype"):
            tf.tensor(data).requires_grad_()
        with pytest.raises(RuntimeError, match="only tensors of floating point dtype"):
            tf.tensor(data).requires_grad = True


def test_leaf_and_graph_attributes():
    x = leaf((2,))
    y = x.exp()
    assert x.is_leaf and not y.is_leaf and x.grad_fn is None
    assert repr(y.grad_fn) == "<ExpBackward0>" and y.requires_grad
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    assert _C.tf_tensor_same_storage(d._h, y._h)
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad


def test_retain_grad_and_hooks():
    x = leaf((3,))
    h = x * 2.0
    h.retain_grad()
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10.0)
    x.register_hook(lambda g: g + 1.0)
    (h * h).backward(tf.ones(3, dtype=tf.float64))
    hv = 2 * x.detach().numpy()
    np.testing.assert_allclose(seen[0], 2 * hv)
    # As in PyTorch 2: retain_grad stores the gradient after the tensor's hooks.
    np.testing.assert_allclose(h.grad.numpy(), 10 * 2 * hv)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 10 * 2 * hv + 1.0, rtol=1e-14)
    handle.remove()


def test_autograd_grad_and_allow_unused():
    x, y = leaf((3,)), leaf((3,))
    (gx,) = tf.autograd.grad((x * x).exp(), x, tf.ones(3, dtype=tf.float64))
    xv = x.detach().numpy()
    np.testing.assert_allclose(gx.numpy(), 2 * xv * np.exp(xv * xv), rtol=1e-14)
    assert x.grad is None  # grad() returns, it does not accumulate
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tf.autograd.grad(x * 2.0, [x, y], tf.ones(3, dtype=tf.float64))
    gx, gy = tf.autograd.grad(x * 2.0, [x, y], tf.ones(3, dtype=tf.float64), allow_unused=True)
    assert gy is None and np.all(gx.numpy() == 2.0)


def test_create_graph_gives_higher_derivatives():
    x = tf.tensor([0.3, 1.1], dtype=tf.float64, requires_grad=True)
    y = x * x.sin()
    (g,) = tf.autograd.grad(y, x, tf.ones(2, dtype=tf.float64), create_graph=True)
    (h,) = tf.autograd.grad(g, x, tf.ones(2, dtype=tf.float64), create_graph=True)
    (t,) = tf.autograd.grad(h, x, tf.ones(2, dtype=tf.float64))
    xv = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), np.sin(xv) + xv * np.cos(xv), rtol=1e-14)
    np.testing.assert_allclose(h.detach().numpy(), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-14)
    np.testing.assert_allclose(t.numpy(), -3 * np.sin(xv) - xv * np.cos(xv), rtol=1e-14)


# ---- what the engine is given is validated ------------------------------------------------
def test_grad_fn_has_pytorchs_names():
    x = leaf((2, 2))
    cases = [(x.exp(), "ExpBackward0"), (x @ x, "MatmulBackward0"),
             (x + x, "AddBackward0"), (x * 2.0, "MulBackward0"), (x.sum(), "SumBackward0"),
             (x.log_softmax(1), "LogSoftmaxBackward0"), (x.tanh(), "TanhBackward0")]
    for y, name in cases:
        assert y.grad_fn.name() == name
        assert repr(y.grad_fn) == f"<{name}>"
        assert re.search(rf",\s+grad_fn=<{name}>\)$", repr(y)), repr(y)  # may wrap
    # As in PyTorch, requires_grad=True is shown for leaves only.
    assert repr(x).endswith("requires_grad=True)")
    assert "requires_grad" not in repr(x.exp())


def _wrong_shape(g):
    return g.sum()


def _wrong_dtype(g):
    return g.to(tf.float32)


def _not_a_tensor(g):
    return [1.0, 2.0, 3.0]


HOOK_ERRORS = [
    (_wrong_shape, RuntimeError,
     r"hook '_wrong_shape' has changed the size of value \(was \(3,\), got \(\)\)"),
    (_wrong_dtype, RuntimeError,
     r"hook '_wrong_dtype' has changed the type of value \(was float64, got float32\)"),
    (_not_a_tensor, TypeError,
     r"hook '_not_a_tensor' returned a list; a gradient hook must return a Tensor or None"),
]


@pytest.mark.parametrize("hook,exc,message", HOOK_ERRORS, ids=[h[0].__name__ for h in HOOK_ERRORS])
def test_hook_returning_a_wrong_value_raises_naming_the_hook(hook, exc, message):
    x = leaf((3,))                          # a hook on a leaf, run by backward
    x.register_hook(hook)
    with pytest.raises(exc, match=message):
        (x * 2.0).sum().backward()
    assert x.grad is None
    x = leaf((3,))                          # on a non-leaf
    h = x * 2.0
    h.register_hook(hook)
    with pytest.raises(exc, match=message):
        h.sum().backward()
    assert x.grad is None
    x = leaf((3,))                          # on an input of autograd.grad
    x.register_hook(hook)
    with pytest.raises(exc, match=message):
        tf.autograd.grad((x * 2.0).sum(), x)
    assert tf.is_grad_enabled()


def test_assigned_grad_is_validated():
    x = leaf((2, 3))
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but "
                                        "got grad of type list"):
        x.grad = [[0.0] * 3] * 2
    with pytest.raises(RuntimeError, match=r"assigned grad has data of a different size "
                                           r"\(expected \(2, 3\), got \(3,\)\)"):
        x.grad = tf.zeros(3, dtype=tf.float64)
    with pytest.raises(RuntimeError, match=r"assigned grad has data of a different type "
                                           r"\(expected float64, got float32\)"):
        x.grad = tf.zeros((2, 3))
    with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
        x.grad = x
    assert x.grad is None
    g = tf.ones((2, 3), dtype=tf.float64)
    x.grad = g
    assert x.grad is g
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 3.0))
    del x.grad
    assert x.grad is None


def test_backward_gradient_is_validated():
    x = leaf((2,))
    y = x * 2.0
    with pytest.raises(TypeError, match=r"backward: gradient must be a Tensor or None, got list"):
        y.backward([1.0, 1.0])
    with pytest.raises(ValueError, match=r"backward: Mismatch in shape: grad_output\[0\] has a "
                                         r"shape of \(3,\) and output\[0\] has a shape of \(2,\)"):
        y.backward(tf.ones(3, dtype=tf.float64))
    with pytest.raises(TypeError, match=r"backward: grad_tensors\[0\] must be a Tensor or None, "
                                        r"got list"):
        tf.autograd.backward([y], [[1.0, 1.0]])
    with pytest.raises(TypeError, match=r"backward: tensors\[1\] must be a Tensor, got int"):
        tf.autograd.backward([y, 3])
    with pytest.raises(TypeError, match=r"backward: expected tensors to be a Tensor or a "
                                        r"sequence of Tensors, got float"):
        tf.autograd.backward(1.0)
    with pytest.raises(ValueError, match=r"backward: got 1 tensors and 2 gradients"):
        tf.autograd.backward(y, [tf.ones(2, dtype=tf.float64)] * 2)
    assert x.grad is None
    # A gradient of another dtype is converted to the output's, as in PyTorch.
    y.backward(tf.ones(2, dtype=tf.float32))
    assert x.grad.dtype is tf.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_autograd_grad_arguments_are_validated():
    x = leaf((2,))
    y = (x * 2.0).sum()
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] must be a Tensor, got int"):
        tf.autograd.grad(y, [x, 3])
    with pytest.raises(TypeError, match=r"grad: expected inputs to be a Tensor or a sequence of "
                                        r"Tensors, got int"):
        tf.autograd.grad(y, 3)
    with pytest.raises(TypeError, match=r"grad: outputs\[0\] must be a Tensor, got float"):
        tf.autograd.grad([1.0], [x])
    with pytest.raises(TypeError, match=r"grad: grad_outputs\[0\] must be a Tensor or None, "
                                        r"got float"):
        tf.autograd.grad(y, x, [1.0])
    with pytest.raises(ValueError, match=r"grad: got 1 outputs and 2 grad_outputs"):
        tf.autograd.grad(y, x, [None, None])
    with pytest.raises(ValueError, match=r"grad: inputs is empty"):
        tf.autograd.grad(y, [])
    (g,) = tf.autograd.grad(y, [x], [None])
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])


# ---- grad modes ------------------------------------------------------------------------
def test_no_grad_records_nothing_and_decorates():
    x = leaf((2,))
    with tf.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.grad_fn is None

    @tf.no_grad()
    def f(t):
        return t.exp()
    assert not f(x).requires_grad
    with tf.no_grad():
        with tf.enable_grad():
            assert (x * 2.0).requires_grad
    with tf.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    with tf.inference_mode():
        assert not (x * 2.0).requires_grad and tf.is_inference_mode_enabled()
    assert tf.is_grad_enabled() and not tf.is_inference_mode_enabled()
    tf.set_grad_enabled(False)
    assert not tf.is_grad_enabled()
    tf.set_grad_enabled(True)
    assert tf.is_grad_enabled()


def test_grad_mode_is_thread_local():
    x = leaf((2,))
    results = {}
    barrier = threading.Barrier(2)

    def worker(name, enabled):
        with tf.set_grad_enabled(enabled):
            barrier.wait()
            results[name] = [(x * 2.0).requires_grad for _ in range(200)]
            barrier.wait()

    threads = [threading.Thread(target=worker, args=("off", False), daemon=True),
               threading.Thread(target=worker, args=("on", True), daemon=True)]
    for t in threads:
        t.start()
    join_threads(threads)
    assert not any(results["off"]) and all(results["on"])


# ---- gradcheck itself ------------------------------------------------------------------
def test_gradcheck_reports_the_worst_element():
    x = leaf((3,))

    def wrong(t):  # forward t^2 with a wrong gradient (3t)
        out = t.detach() * t.detach()
        if tf.autograd.needs_grad(t):
            tf.autograd.record("wrong_square", out, (t,), lambda g, s: (g * s * 3.0,), (t,))
        return out
    with pytest.raises(GradcheckError, match=r"worst element .* analytic .* numeric"):
        gradcheck(wrong, (x,))


# ---- functional API --------------------------------------------------------------------
def test_vjp_jvp_jacobian_agree():
    x = leaf((3,))
    v = tf.tensor(RNG.standard_normal(3), dtype=tf.float64)

    def f(t):
        return (t * t).exp() * t.sin()
    jac = AF.jacobian(f, x).numpy()
    _, jv = AF.jvp(f, x, v)
    _, vj = AF.vjp(f, x, v)
    np.testing.assert_allclose(jv.numpy(), jac @ v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(vj.numpy(), v.numpy() @ jac, rtol=1e-12)
    xv = x.detach().numpy()
    diag = np.exp(xv * xv) * (2 * xv * np.sin(xv) + np.cos(xv))
    np.testing.assert_allclose(jac, np.diag(diag), rtol=1e-13, atol=1e-300)


def _quadratic(A):
    return lambda t: ((tf.tensor(A) @ t) * t).sum()


def test_hessian_and_hvp_of_closed_forms():
    A = RNG.standard_normal((3, 3))
    x = leaf((3,))
    v = tf.tensor(RNG.standard_normal(3), dtype=tf.float64)
    H = AF.hessian(_quadratic(A), x).numpy()          # x^T A x -> A + A^T
    np.testing.assert_allclose(H, A + A.T, rtol=1e-13)
    _, hv = AF.hvp(_quadratic(A), x, v)
    _, vh = AF.vhp(_quadratic(A), x, v)
    np.testing.assert_allclose(hv.numpy(), (A + A.T) @ v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(vh.numpy(), v.numpy() @ (A + A.T), rtol=1e-12)

    def xsin(t):  # sum x sin x: Hessian diag(2 cos x - x sin x)
        return (t * t.sin()).sum()
    xv = x.detach().numpy()
    np.testing.assert_allclose(AF.hessian(xsin, x).numpy(),
                               np.diag(2 * np.cos(xv) - xv * np.sin(xv)), rtol=1e-13, atol=1e-300)


def test_hvp_matches_finite_differences_of_gradients():
    def f(t):
        return (t.exp() * t.tanh()).sum()
    x = leaf((4,))
    v = RNG.standard_normal(4)
    _, hv = AF.hvp(f, x, tf.tensor(v))
    eps = 1e-6

    def grad_at(p):
        t = tf.tensor(p, dtype=tf.float64, requires_grad=True)
        return tf.autograd.grad(f(t), t)[0].numpy()
    xv = x.detach().numpy()
    fd = (grad_at(xv + eps * v) - grad_at(xv - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_functional_accepts_tuples():
    a, b = leaf((2,)), leaf((2,))
    jac = AF.jacobian(lambda x, y: x * y, (a, b))
    np.testing.assert_allclose(jac[0].numpy(), np.diag(b.detach().numpy()))
    np.testing.assert_allclose(jac[1].numpy(), np.diag(a.detach().numpy()))


# ---- memory ------------------------------------------------------------------------------
def test_saved_tensors_are_released_after_backward():
    gc.collect()
    x = leaf((64,))
    base = _C.live_tensors()
    y = x
    for _ in range(50):
        y = (y * 1.01).tanh().exp()
    held = _C.live_tensors()
    y.backward(tf.ones(64, dtype=tf.float64))
    after = _C.live_tensors()
    assert held - base >= 100              # the graph held its saved tensors
    assert after - base <= 3               # y, x.grad and y's alias; the rest freed
    del y
    gc.collect()
    assert _C.live_tensors() - base <= 1   # only x.grad


def test_mlp_training_loop_keeps_memory_flat():
    """10,000 steps of a small MLP: the live-tensor count and RSS stay flat
    (tensors are freed by reference counting alone: no cycles)."""
    import resource
    w1, w2 = leaf((8, 16)), leaf((16, 1))
    data = tf.tensor(RNG.standard_normal((32, 8)))
    target = tf.tensor(RNG.standard_normal((32, 1)))

    def step():
        pred = tf.tanh(data @ w1) @ w2
        loss = ((pred - target) ** 2).mean()
        loss.backward()
        with tf.no_grad():
            w1.sub_(w1.grad * 0.01)
            w2.sub_(w2.grad * 0.01)
        w1.grad = None
        w2.grad = None

    gc.disable()  # prove nothing relies on the cycle collector
    try:
        for _ in range(200):
            step()
        live = _C.live_tensors()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(10_000):
            step()
        assert _C.live_tensors() == live
        # Under ASAN (make asan preloads its runtime) freed memory waits in a
        # quarantine of up to 256 MB before reuse, so RSS grows with the bytes
        # freed, not with a leak; the live count above and the C tests' leak
        # checker cover that run.
        if "libasan" not in os.environ.get("LD_PRELOAD", ""):
            assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 20_000  # KiB
    finally:
        gc.enable()


# ---- matmul in every batching form ------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((2, 1, 2, 3), (3, 3, 2)), ((2, 3), (2, 3, 2)), ((3,), (2, 3, 2))])
def test_matmul_gradcheck(sa, sb):
    a, b = leaf(sa), leaf(sb)
    assert gradcheck(tf.matmul, (a, b))
    assert gradgradcheck(tf.matmul, (a, b))


def test_matmul_gradcheck_transposed_operands():
    base = tf.tensor(RNG.standard_normal((4, 3)))
    a = base.T.requires_grad_()          # (3, 4), non-contiguous
    b = leaf((4, 2))
    assert gradcheck(lambda x, y: x @ y, (a, b))
    assert gradcheck(lambda x, y: tf.outer(x[0], y[:, 1]) + tf.dot(x[1], y[:, 0]), (a, b))


def test_fill_zero_and_copy_replace_the_history_of_a_non_leaf():
    """After x.fill_ / zero_ the old graph gets no gradient through x; after
    x.copy_(src) the gradient goes to src (summed over a broadcast) and
    none to x's old graph; a leaf that requires grad refuses all three."""
    a = tf.tensor([1.0, 2.0, 3.0], dtype=tf.float64, requires_grad=True)
    x = a * 2
    x.fill_(5.0)
    (x * a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 5.0, 5.0])   # d(5 a)/da
    a.grad = None
    x = a * 2
    x.zero_()
    (x + a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0, 1.0])
    a.grad = None
    s = tf.tensor([1.0, -1.0, 2.0], dtype=tf.float64, requires_grad=True)
    x = a * 2
    x.copy_(s * 3)
    (x * x).sum().backward()
    assert a.grad is None
    np.testing.assert_array_equal(s.grad.numpy(), 18 * np.array([1.0, -1.0, 2.0]))
    row = tf.tensor([1.0, 2.0], dtype=tf.float64, requires_grad=True)
    z = tf.zeros(3, 2, dtype=tf.float32)
    z.copy_(row)
    z.sum().backward()
    np.testing.assert_array_equal(row.grad.numpy(), [3.0, 3.0])
    for write in (lambda t: t.fill_(1.0), lambda t: t.zero_(), lambda t: t.copy_(tf.ones(2))):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            write(tf.zeros(2, requires_grad=True))


def test_gradgradcheck_compares_the_two_backward_routes():
    # an op whose backward without create_graph (here: exact) differs from
    # the one it records with create_graph (here: wrong, yet consistently
    # differentiable) passes a plain gradcheck of the first derivative; the
    # comparison of the two routes at the base point catches it
    def square(x):
        with tf.no_grad():
            out = x * x
        graph.record("square", out, (x,), lambda g, x: (g * x * (2.0 if not tf.is_grad_enabled() else 3.0),),
               (x,))
        return out
    x = tf.tensor([0.5, -1.5], dtype=tf.float64, requires_grad=True)
    assert tf.autograd.gradcheck(square, (x,))
    with pytest.raises(tf.autograd.GradcheckError, match="create_graph=True differs"):
        tf.autograd.gradgradcheck(square, (x,))
    assert tf.autograd.gradgradcheck(lambda x: x * x, (x,))
