"""Tensors on the CUDA device: what runs there so far (creation, copies on
and off the device, views, the caching allocator, errors), checked against
NumPy on the host.

These run wherever tinyfin.cuda.is_available(): on a GPU, and in CI on the
emulated device (libtinyfin_cuda_emulated.so, the same runtime.cu built by
g++ over emulated_runtime.h), which tests/test_cuda.py points
TINYFIN_CUDA_LIB at in a child pytest. Elsewhere they skip.
"""
import os
import threading

import numpy as np
import pytest

from helpers_process import join_threads, wait_for_child
import tinyfin as tf
from helpers_elementwise import UNARY_CASES, sample, special_values
from tinyfin import cuda

pytestmark = pytest.mark.skipif(not cuda.is_available(),
                                reason=f"CUDA is not available: {cuda.why_unavailable()}")
EMULATED = "emulated" in os.environ.get("TINYFIN_CUDA_LIB", "")
DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}


def host_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype == np.int64:
        return rng.integers(-2 ** 62, 2 ** 62, shape, dtype=np.int64)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7, 3), (2, 3, 4), (300_001,)])
def test_round_trip_is_bitwise(name, shape):
    a = host_array(DTYPES[name], shape)
    g = tf.tensor(a).cuda()
    assert g.device == "cuda:0" and g.dtype == getattr(tf, name) and g.shape == shape
    back = g.cpu()
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), a)
    assert back.numpy().tobytes() == a.tobytes()  # -0.0 and NaN payloads too


def test_device_argument_of_creation_functions():
    np.testing.assert_array_equal(tf.zeros(2, 3, device="cuda").cpu().numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(tf.ones(4, dtype=tf.int64, device="cuda").cpu().numpy(),
                                  np.ones(4, np.int64))
    np.testing.assert_array_equal(tf.full((3,), -2.5, device="cuda:0").cpu().numpy(),
                                  np.full(3, -2.5, np.float32))
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tf.tensor(a, device="cuda").cpu().numpy(), a)
    assert tf.empty(5, device="cuda").device == "cuda:0"
    assert tf.zeros(3).to("cuda").device == "cuda:0"
    g = tf.ones(2, 2, device="cuda")
    for like in (tf.zeros_like(g), tf.ones_like(g), tf.empty_like(g), tf.full_like(g, 3.0)):
        assert like.device == "cuda:0" and like.shape == (2, 2)  # the input's device
    np.testing.assert_array_equal(tf.full_like(g, 3.0).cpu().numpy(), np.full((2, 2), 3.0))
    assert tf.zeros_like(g, device="cpu").device == "cpu"


@pytest.mark.parametrize("view", ["transpose", "slice_step", "expand", "select", "permute"])
def test_views_come_back_as_numpy_sees_them(view):
    a = host_array(np.float32, (4, 5, 6), seed=1)
    make = {
        "transpose": lambda t: t.transpose(0, 2),
        "slice_step": lambda t: t[1:, ::2, 3:],
        "expand": lambda t: t[:, :1, :].expand(4, 7, 6),
        "select": lambda t: t[2],
        "permute": lambda t: t.permute(2, 0, 1),
    }[view]
    want = make(tf.tensor(a)).numpy()
    g = make(tf.tensor(a).cuda())
    np.testing.assert_array_equal(g.cpu().numpy(), want)
    np.testing.assert_array_equal(g.contiguous().cpu().numpy(), want)


CONVERSION_VALUES = [0.0, -0.0, 0.5, -0.5, 1.0, -1.7, 2.5, 1e10, -1e10, 3e38, -3e38, 1e300,
                     -1e300, 9.3e18, -9.3e18, np.inf, -np.inf, np.nan, 2.0 ** 63, -2.0 ** 63]


@pytest.mark.parametrize("dst", DTYPES)
@pytest.mark.parametrize("src", DTYPES)
def test_conversions_match_the_cpu_bitwise(src, dst):
    """Every dtype pair, on device, contiguous and transposed, as the cpu's
    .to(): truncation and saturation to int64, NaN to 0, "!= 0" to bool."""
    with np.errstate(all="ignore"):
        a = np.array(CONVERSION_VALUES * 3).reshape(6, 10)
        if src == "int64":
            a = np.array([0, 1, -1, 2 ** 62, -2 ** 63, 2 ** 63 - 1, 12345, -7, 3, 9] * 6,
                         np.int64).reshape(6, 10)
        a = a.astype(DTYPES[src])
    for view in (lambda t: t, lambda t: t.t()):
        want = view(tf.tensor(a)).to(getattr(tf, dst)).numpy()
        got = view(tf.tensor(a).cuda()).to(getattr(tf, dst))
        assert got.device == "cuda:0" and got.dtype == getattr(tf, dst)
        assert got.cpu().numpy().tobytes() == np.ascontiguousarray(want).tobytes(), (src, dst)


def test_numpy_refuses_device_memory():
    with pytest.raises(TypeError, match=r"cuda:0 .*\.cpu\(\)"):
        tf.ones(2, device="cuda").numpy()


def test_printing_copies_to_the_host():
    assert repr(tf.tensor([1.0, 2.0]).cuda()) == "tensor([1., 2.], device='cuda:0')"


# ---- unary ops: the cpu kernels' results -------------------------------------
def assert_matches_cpu(got, want, dtype, what):
    """Predicates and int64 exactly; floats within 1 ULP of the cpu kernel
    (the same scalar function: FMA contraction and the device's libm may
    move the last bit), NaN where the cpu has NaN."""
    assert got.dtype == want.dtype and got.shape == want.shape, what
    if not np.issubdtype(want.dtype, np.floating):
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=what)
    np.testing.assert_array_max_ulp(got[~nan], want[~nan], maxulp=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", UNARY_CASES, ids=repr)
def test_unary_matches_the_cpu(case, dtype):
    x = np.concatenate([sample((4000,), dtype, case.lo, case.hi, seed=3), special_values(dtype)])
    want = case.call(tf.tensor(x)).numpy()
    got = case.call(tf.tensor(x).cuda())
    assert got.device == "cuda:0"
    assert_matches_cpu(got.cpu().numpy(), want, dtype, f"{case.id} {np.dtype(dtype)}")
    # a strided (transposed) operand and a broadcast one
    x2 = sample((33, 40), dtype, case.lo, case.hi, seed=4)
    g2 = tf.tensor(x2).cuda()
    assert_matches_cpu(case.call(g2.t()).cpu().numpy(), case.call(tf.tensor(x2).t()).numpy(),
                       dtype, f"{case.id} transposed")
    assert_matches_cpu(case.call(g2[:1].expand(5, 40)).cpu().numpy(),
                       case.call(tf.tensor(x2)[:1].expand(5, 40)).numpy(), dtype,
                       f"{case.id} broadcast")


# (clamp on int64 is minimum/maximum, binary ops: not on the GPU yet)
@pytest.mark.parametrize("case", [c for c in UNARY_CASES
                                  if c.kind != "FLOAT" and not c.id.startswith("clamp")],
                         ids=repr)
def test_unary_int64_and_predicates_match_the_cpu(case):
    x = np.array([0, 1, -1, 7, -2 ** 63, 2 ** 63 - 1, 12345678901], np.int64)
    want = case.call(tf.tensor(x)).numpy()
    assert_matches_cpu(case.call(tf.tensor(x).cuda()).cpu().numpy(), want, np.int64, case.id)


def test_unary_out_and_in_place_on_the_device():
    x = tf.tensor([0.5, -1.0, 2.0]).cuda()
    out = tf.empty(3, device="cuda")
    tf.exp(x, out=out)
    np.testing.assert_array_max_ulp(out.cpu().numpy(), np.exp([0.5, -1.0, 2.0]).astype(np.float32))
    x.neg_()
    np.testing.assert_array_equal(x.cpu().numpy(), [-0.5, 1.0, -2.0])


# ---- binary ops: the cpu kernels' results ------------------------------------
def binary_operands(dtype, seed):
    """Two (6, 7) arrays with ties, zeros, signs and (floats) specials; b has
    no zero and no negative for int64 (those are refused: tested below)."""
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random((6, 7)) < 0.5, rng.random((6, 7)) < 0.5
    if dtype == np.int64:
        a = rng.integers(-50, 50, (6, 7))
        a[0, :3] = [2 ** 63 - 1, -2 ** 63, 0]
        return a, rng.integers(1, 9, (6, 7))
    a = (rng.standard_normal((6, 7)) * 3).astype(dtype)
    b = (rng.standard_normal((6, 7)) * 3).astype(dtype)
    a[0, :4], b[0, :4] = [np.inf, np.nan, 0.0, -0.0], [1.5, 2.0, -0.0, np.inf]
    b[1] = a[1]  # ties for the comparisons
    return a, b


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("op", tf._C.BINARY_OPS)
def test_binary_matches_the_cpu(op, name):
    """Every binary op on every dtype the cpu runs it in: same shapes, a
    broadcast (6, 1) x (7,), a transposed operand and a Python scalar."""
    a, b = binary_operands(DTYPES[name], seed=5)
    fn = getattr(tf, op)
    try:
        want = fn(tf.tensor(a), tf.tensor(b)).numpy()
    except (TypeError, ValueError, RuntimeError) as e:  # the cpu refuses it: so must the device
        with pytest.raises(type(e)):
            fn(tf.tensor(a).cuda(), tf.tensor(b).cuda())
        return
    got = fn(tf.tensor(a).cuda(), tf.tensor(b).cuda())
    assert got.device == "cuda:0"
    assert_matches_cpu(got.cpu().numpy(), want, DTYPES[name], f"{op} {name}")
    ta, tb = tf.tensor(a), tf.tensor(b)
    cases = [(ta[:, :1], tb[0]), (ta.t().contiguous().t(), tb), (ta, tb[2:3])]
    for x, y in cases:
        assert_matches_cpu(fn(x.cuda(), y.cuda()).cpu().numpy(), fn(x, y).numpy(),
                           DTYPES[name], f"{op} {name} {tuple(x.shape)} x {tuple(y.shape)}")
    scalar = {"bool": True, "int64": 3}.get(name, 1.5)
    assert_matches_cpu(fn(ta.cuda(), scalar).cpu().numpy(), fn(ta, scalar).numpy(),
                       DTYPES[name], f"{op} {name} with a scalar")


def test_binary_operators_in_place_and_out():
    a = tf.tensor([1.0, -2.0, 4.0]).cuda()
    b = tf.tensor([0.5, 3.0, -1.0]).cuda()
    np.testing.assert_array_equal((2 - a).cpu().numpy(), [1.0, 4.0, -2.0])
    out = tf.empty(3, device="cuda")
    tf.mul(a, b, out=out)
    np.testing.assert_array_equal(out.cpu().numpy(), [0.5, -6.0, -4.0])
    a.add_(b)
    np.testing.assert_array_equal(a.cpu().numpy(), [1.5, 1.0, 3.0])
    a[1:] *= 2
    np.testing.assert_array_equal(a.cpu().numpy(), [1.5, 2.0, 6.0])


def test_integer_division_by_zero_is_refused_on_the_device():
    i = tf.tensor([7, -7, 3]).cuda()
    with pytest.raises(ValueError, match="floor_divide: integer division by zero"):
        i // tf.tensor([1, 0, 1]).cuda()
    with pytest.raises(ValueError, match="remainder: integer division by zero"):
        i % 0
    with pytest.raises(ValueError, match="negative integer powers"):
        i ** tf.tensor([1, -1, 2]).cuda()
    np.testing.assert_array_equal((i // 2).cpu().numpy(), [3, -4, 1])


def test_a_gradient_on_the_device():
    """Backward formulas built of unary, binary and reduce ops run where the
    tensors are: d/dx sum(tanh(x) * x) against the cpu's."""
    x = tf.tensor(np.linspace(-3, 3, 11), requires_grad=True)
    (x.tanh() * x).sum().backward()
    g = tf.tensor(np.linspace(-3, 3, 11)).cuda().requires_grad_()
    (g.tanh() * g).sum().backward()
    assert g.grad.device == "cuda:0"
    np.testing.assert_array_max_ulp(g.grad.cpu().numpy(), x.grad.numpy(), maxulp=2)


# ---- reductions -------------------------------------------------------------------
# Layouts that reach every path of reduce.cu: one block and many (1024
# reduced elements a block), the reduced dims inner, outer and both, merged
# dims, a transposed (strided) input, a full reduction, an empty one.
REDUCE_LAYOUTS = [
    ((7, 3), 1, False), ((3, 5000), 1, False), ((5000, 3), 0, True), ((4, 6, 700), (0, 2), False),
    ((40, 50, 3), (0, 1), False), ((2100,), None, False), ((6, 0), 1, False), ((0, 4), 1, True),
]
REDUCE_OPS = {
    "sum": lambda t, d, k: t.sum(dim=d, keepdim=k),
    "mean": lambda t, d, k: t.mean(dim=d, keepdim=k),
    "prod": lambda t, d, k: (t * 0.999).prod(dim=d, keepdim=k) if d is None or isinstance(d, int)
    else t.amin(dim=d, keepdim=k),
    "var": lambda t, d, k: t.var(dim=d, keepdim=k),
    "std": lambda t, d, k: t.std(dim=d, keepdim=k, correction=0),
    "amax": lambda t, d, k: t.amax(dim=d if d is not None else (), keepdim=k),
    "amin": lambda t, d, k: t.amin(dim=d if d is not None else (), keepdim=k),
    "logsumexp": lambda t, d, k: tf.logsumexp(t, d if d is not None else tuple(range(t.ndim)), k),
    "norm2": lambda t, d, k: tf.norm(t, 2, dim=d, keepdim=k),
    "norm1": lambda t, d, k: tf.norm(t, 1, dim=d, keepdim=k),
    "norm3": lambda t, d, k: tf.norm(t, 3.5, dim=d, keepdim=k),
    "norm0": lambda t, d, k: tf.norm(t, 0, dim=d, keepdim=k),
    "norminf": lambda t, d, k: tf.norm(t, float("inf"), dim=d, keepdim=k),
    "all": lambda t, d, k: t.all(dim=d, keepdim=k) if not isinstance(d, tuple) else t.all(),
    "any": lambda t, d, k: t.any(dim=d, keepdim=k) if not isinstance(d, tuple) else t.any(),
}
# Sums are paired in another order than the cpu's (blocks of 1024, not
# 4096): float32 results agree to the rounding of the double sum, float64
# ones to a few ULP of the sum of |terms|; the rest are the same bits.
SUMMED = {"sum", "mean", "var", "std", "logsumexp", "norm2", "norm1", "norm3", "prod"}


def assert_reduction_matches(op, got, want):
    assert got.device == "cuda:0" and got.dtype == want.dtype and got.shape == want.shape
    got, want = got.cpu().numpy(), want.numpy()
    if op not in SUMMED or got.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
    elif got.dtype == np.float32:
        np.testing.assert_array_max_ulp(got, want, maxulp=1)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("layout", REDUCE_LAYOUTS, ids=repr)
@pytest.mark.parametrize("op", REDUCE_OPS)
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_float_reductions_match_the_cpu(op, name, layout):
    shape, dim, keepdim = layout
    if op in ("amax", "amin", "norminf") and 0 in shape and dim is not None:
        pytest.skip("no identity: an error on both devices (tested below)")
    a = host_array(DTYPES[name], shape, seed=3) * 3 + 1
    for t in (tf.tensor(a), tf.tensor(np.ascontiguousarray(a.T)).T):  # contiguous, strided
        assert_reduction_matches(op, REDUCE_OPS[op](t.cuda(), dim, keepdim),
                                 REDUCE_OPS[op](t, dim, keepdim))


@pytest.mark.parametrize("op", ["sum", "prod", "amax", "amin", "all", "any", "argmax",
                                "argmin", "max", "min"])
@pytest.mark.parametrize("name", ["int64", "bool"])
def test_integer_reductions_match_the_cpu_bitwise(op, name):
    a = host_array(DTYPES[name], (9, 2300), seed=4)
    if name == "int64":
        a = a % 7 - 3 if op in ("argmax", "argmin", "max", "min") else a  # many ties
    for dim in (0, 1):
        t = tf.tensor(a)
        run = {"argmax": lambda x: x.argmax(dim=dim), "argmin": lambda x: x.argmin(dim=dim),
               "max": lambda x: x.max(dim=dim), "min": lambda x: x.min(dim=dim),
               "amax": lambda x: x.amax(dim=dim), "amin": lambda x: x.amin(dim=dim)}.get(
            op, lambda x: getattr(x, op)(dim=dim))
        if op in ("amax", "amin", "max", "min") and name == "bool":
            continue
        got, want = run(t.cuda()), run(t)
        for g, w in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,)):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g.cpu().numpy(), w.numpy())


def test_max_min_and_their_indices_follow_the_nan_and_tie_rules():
    """NaN wins and the first NaN's index is given; equal extremes give the
    first index, across block boundaries (1024) too."""
    a = np.zeros((4, 3000))
    a[0, [5, 1500, 2999]] = 7.0          # ties: first
    a[1, [2000, 100]] = np.nan           # first NaN
    a[2, 1024:] = -1.0                   # max in the first block
    a[3, [1023, 1024]] = [np.inf, np.inf]
    for op in ("max", "min"):
        want_v, want_i = getattr(tf.tensor(a), op)(dim=1)
        got_v, got_i = getattr(tf.tensor(a).cuda(), op)(dim=1)
        np.testing.assert_array_equal(got_v.cpu().numpy(), want_v.numpy())
        np.testing.assert_array_equal(got_i.cpu().numpy(), want_i.numpy())
    np.testing.assert_array_equal(tf.tensor(a).cuda().argmax(dim=1).cpu().numpy(),
                                  [5, 100, 0, 1023])
    np.testing.assert_array_equal(tf.tensor(a).cuda().amax(dim=1).cpu().numpy(),
                                  [7.0, np.nan, 0.0, np.inf])


def test_reductions_of_extreme_values():
    """logsumexp keeps the tail below the max's rounding; norm does not
    overflow for huge values or underflow for tiny ones; inf and NaN rows."""
    rows = np.array([[0.0, -40.0, -40.0], [1e300, 1e300, 0.0], [1e-300, 1e-300, 0.0],
                     [np.inf, 1.0, 2.0], [np.nan, 1.0, 2.0], [-np.inf, -np.inf, -np.inf]])
    t = tf.tensor(rows)
    for f in (lambda x: tf.logsumexp(x, 1), lambda x: tf.norm(x, 2, dim=1),
              lambda x: tf.norm(x, 3, dim=1), lambda x: x.sum(dim=1), lambda x: x.var(dim=1)):
        np.testing.assert_allclose(f(t.cuda()).cpu().numpy(), f(t).numpy(), rtol=1e-15)
    np.testing.assert_allclose(tf.logsumexp(t.cuda(), 1).cpu().numpy()[0],
                               np.log1p(2 * np.exp(-40.0)), rtol=1e-15)
    np.testing.assert_allclose(tf.norm(t.cuda(), 2, dim=1).cpu().numpy()[1:3],
                               [np.sqrt(2) * 1e300, np.sqrt(2) * 1e-300], rtol=1e-15)


def test_reductions_are_the_same_bits_every_run():
    a = host_array(np.float32, (3, 200_000), seed=5)
    g = tf.tensor(a).cuda()
    first = [g.sum().cpu().numpy().tobytes(), g.sum(dim=1).cpu().numpy().tobytes(),
             g.var(dim=0).cpu().numpy().tobytes()]
    for _ in range(3):
        assert first == [g.sum().cpu().numpy().tobytes(), g.sum(dim=1).cpu().numpy().tobytes(),
                         g.var(dim=0).cpu().numpy().tobytes()]
    np.testing.assert_allclose(g.sum().cpu().item(), a.astype(np.float64).sum(), rtol=1e-7)


def test_reductions_without_an_identity_fail_on_the_device_as_on_the_cpu():
    with pytest.raises(IndexError, match="amax: cannot reduce over an empty dimension"):
        tf.zeros(3, 0, device="cuda").amax(dim=1)


@pytest.mark.parametrize("take_log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((5, 7), 1), ((3, 2500), 1), ((2500, 3), 0),
                                       ((4, 5, 6), 1), ((3, 0), 1)], ids=repr)
def test_softmax_matches_the_cpu(shape, dim, name, take_log):
    a = host_array(DTYPES[name], shape, seed=6) * 4
    if a.size:
        a.flat[0] = 50.0  # a dominant element: the tail must survive
    # the exact value, in x86's 80-bit long double
    wide = a.astype(np.longdouble)
    shifted = wide - wide.max(axis=dim, keepdims=True, initial=-np.inf)
    total = np.exp(shifted).sum(axis=dim, keepdims=True)
    with np.errstate(divide="ignore"):  # log(0) of an empty row
        exact = shifted - np.log(total) if take_log else np.exp(shifted) / total
    f = tf.log_softmax if take_log else tf.softmax
    eps = np.finfo(a.dtype).eps
    for t in (tf.tensor(a), tf.tensor(np.ascontiguousarray(a.T)).T):
        got = f(t.cuda(), dim).cpu().numpy()
        assert got.dtype == a.dtype and got.shape == a.shape
        err = np.abs(got - exact)
        if take_log:  # absolute: log_softmax is x - max - log(sum), near 0 at the max
            assert np.all(err <= 4 * eps * (np.abs(shifted) + 1))
        else:         # the cpu's bounds: 0.5 ULP in float32, under 3 in float64
            ulps = err / np.spacing(np.abs(exact.astype(a.dtype))).astype(np.longdouble)
            assert ulps.max(initial=0) <= (1 if a.dtype == np.float32 else 4)


def test_softmax_rows_with_inf_and_nan_are_nan_as_on_the_cpu():
    rows = tf.tensor([[np.inf, 1.0], [np.nan, 1.0], [-np.inf, -np.inf], [-np.inf, 0.0]])
    for f in (tf.softmax, tf.log_softmax):
        np.testing.assert_array_equal(f(rows.cuda(), 1).cpu().numpy(), f(rows, 1).numpy())


@pytest.mark.parametrize("name", DTYPES)
def test_where_matches_the_cpu_with_broadcasts_and_scalars(name):
    cond = host_array(np.bool_, (4, 1, 6), seed=7)
    a, b = host_array(DTYPES[name], (5, 6), seed=8), host_array(DTYPES[name], (4, 5, 1), seed=9)
    want = tf.where(tf.tensor(cond), tf.tensor(a), tf.tensor(b)).numpy()
    got = tf.where(tf.tensor(cond).cuda(), tf.tensor(a).cuda(), tf.tensor(b).cuda())
    assert got.device == "cuda:0"
    np.testing.assert_array_equal(got.cpu().numpy(), want)
    np.testing.assert_array_equal(np.where(cond, a, b), want)
    if name in ("float32", "float64"):
        g = tf.tensor(a).cuda()
        np.testing.assert_array_equal(tf.where(g > 0, g, 0.0).cpu().numpy(),
                                      np.where(a > 0, a, 0).astype(a.dtype))


def test_filling_a_strided_view_on_the_device():
    g = tf.zeros(4, 6, device="cuda")
    g[:, ::2].fill_(3.0)
    g.T[1].zero_()
    want = np.zeros((4, 6), np.float32)
    want[:, ::2] = 3.0
    want[:, 1] = 0.0
    np.testing.assert_array_equal(g.cpu().numpy(), want)


def test_reductions_leave_no_device_memory_behind():
    g = tf.tensor(host_array(np.float64, (50, 3000))).cuda()
    g.sum(dim=1)  # the scratch's size is cached by the first call
    base = cuda.memory_allocated()
    for _ in range(3):
        g.var(dim=0), g.max(dim=1), tf.logsumexp(g, 1)
    assert cuda.memory_allocated() == base


def test_every_kernel_slot_has_a_cuda_kernel():
    """No op is CPU-only on CUDA any more (a slot listed as CPU-only would
    raise its reason; test_every_kernel_slot_... holds the list to it)."""
    assert tf.backends.cpu_only("cuda") == {}


def test_every_kernel_slot_is_a_cuda_kernel_or_cpu_only_with_a_reason():
    """cuda/backend.c lists every named slot as a kernel or CPU-only with
    why (a slot missing there fails the build); verify's declaration, the
    table and that list agree: each slot is exactly one of the two."""
    from verify.backends import NAMED_SLOTS, promise, which
    cpu_only = tf.backends.cpu_only("cuda")
    declared = promise("cuda").kernels
    for slot in NAMED_SLOTS:
        runs = any(which(slot, d, "cuda") == "cuda" for d in DTYPES)
        assert runs != (slot in cpu_only), slot
        assert runs == (slot in declared), slot
        assert slot not in cpu_only or cpu_only[slot].startswith("no CUDA kernel for ")
    assert tf.backends.cpu_only("cpu") == {} and tf.backends.cpu_only("blas") == {}


# ---- creation and random (creation.cu): bitwise the cpu kernels' ----------------------
def assert_same_bits(on_device, on_cpu):
    assert on_device.device == "cuda:0" and on_cpu.device == "cpu"
    a, b = on_device.cpu().numpy(), on_cpu.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_arange_linspace_and_eye_are_the_cpus(dtype):
    dt = getattr(tf, dtype)
    ranges = [(0, 10_001, 1), (7, -300, -3)] + \
        ([(-2 ** 62, 2 ** 62, 2 ** 58)] if dtype == "int64" else
         [(0.1, 100.3, 0.7), (5, -5, -0.3), (1e10, 1e10 + 1, 1e-3)])
    for start, end, step in ranges:
        assert_same_bits(tf.arange(start, end, step, dtype=dt, device="cuda"),
                         tf.arange(start, end, step, dtype=dt))
    assert tf.arange(0, dtype=dt, device="cuda").shape == (0,)
    if dtype != "int64":
        for start, end, steps in [(0, 1, 1), (-1, 7, 1001), (1e10, -1e-10, 33), (3, 3, 4),
                                  (0, 1, 0)]:
            got = tf.linspace(start, end, steps, dtype=dt, device="cuda")
            assert_same_bits(got, tf.linspace(start, end, steps, dtype=dt))
            if steps > 1:  # both ends exact, as PyTorch's
                ends = got.cpu().numpy()[[0, -1]]
                np.testing.assert_array_equal(ends, np.array([start, end], DTYPES[dtype]))
    for shape in [(0,), (1,), (5, 3), (3, 300), (4, 0)]:
        assert_same_bits(tf.eye(*shape, dtype=dt, device="cuda"), tf.eye(*shape, dtype=dt))
        np.testing.assert_array_equal(tf.eye(*shape, dtype=dt, device="cuda").cpu().numpy(),
                                      np.eye(*shape, dtype=DTYPES[dtype]))
    assert_same_bits(tf.eye(3, dtype=tf.bool, device="cuda"), tf.eye(3, dtype=tf.bool))


@pytest.mark.parametrize("name", DTYPES)
def test_tril_and_triu_match_numpy_at_every_diagonal(name):
    for shape in [(3, 5), (2, 4, 7), (7, 3), (0, 3), (3, 1, 1)]:
        a = host_array(DTYPES[name], shape, seed=len(shape))
        g = tf.tensor(a).cuda()
        for k in (-9, -1, 0, 2, 9, 2 ** 62):
            for f, ref in ((tf.tril, np.tril), (tf.triu, np.triu)):
                got = f(g, k)
                assert_same_bits(got, f(tf.tensor(a), k))
                np.testing.assert_array_equal(got.cpu().numpy(), ref(a, k))
    t = tf.tensor(host_array(DTYPES[name], (6, 4))).cuda().T  # a strided input
    np.testing.assert_array_equal(tf.tril(t, -1).cpu().numpy(), np.tril(t.cpu().numpy(), -1))


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("mode, np_mode", [("reflect", "reflect"), ("replicate", "edge")])
def test_pad_reflect_and_replicate_match_numpy(name, mode, np_mode):
    cases = [((2, 3, 5), (2, 4)), ((1, 2, 4, 5), (1, 3, 3, 0)), ((2, 6, 4), (0, 3, 2, 1))]
    if mode == "replicate":
        cases.append(((1, 2, 2), (7, 5)))  # pads wider than the input
    for shape, pads in cases:
        a = host_array(DTYPES[name], shape)
        width = [(0, 0)] * (len(shape) - len(pads) // 2) + \
            [(pads[2 * i], pads[2 * i + 1]) for i in reversed(range(len(pads) // 2))]
        got = tf.pad(tf.tensor(a).cuda(), pads, mode=mode)
        np.testing.assert_array_equal(got.cpu().numpy(), np.pad(a, width, mode=np_mode))
        assert_same_bits(got, tf.pad(tf.tensor(a), pads, mode=mode))
    a = host_array(DTYPES[name], (3, 7, 4))
    t = tf.tensor(a).cuda().permute(0, 2, 1)  # strided
    np.testing.assert_array_equal(tf.pad(t, (2, 1), mode=mode).cpu().numpy(),
                                  np.pad(a.transpose(0, 2, 1), [(0, 0), (0, 0), (2, 1)],
                                         mode=np_mode))


# Sizes that end inside a Philox block (4 float32 uniforms, 2 float64 ones or
# normals, 1 integer per block) and one past the emulation's grid.
RANDOM_SIZES = [1, 3, 5, 1001, 1_100_001]


@pytest.mark.parametrize("draw", ["rand_f32", "rand_f64", "randn_f32", "randn_f64",
                                  "randint_i64", "randint_f32", "init_uniform", "init_normal"])
def test_random_numbers_are_bitwise_the_cpus_for_the_same_seed(draw):
    def make(n, device, generator=None):
        return {"rand_f32": lambda: tf.rand(n, device=device, generator=generator),
                "rand_f64": lambda: tf.rand(n, dtype=tf.float64, device=device,
                                            generator=generator),
                "randn_f32": lambda: tf.randn(n, device=device, generator=generator),
                "randn_f64": lambda: tf.randn(n, dtype=tf.float64, device=device,
                                              generator=generator),
                "randint_i64": lambda: tf.randint(-2 ** 62, 2 ** 62, (n,), device=device,
                                                  generator=generator),
                "randint_f32": lambda: tf.randint(-5, 9, (n,), dtype=tf.float32,
                                                  device=device, generator=generator),
                "init_uniform": lambda: tf.nn.init.uniform_(
                    tf.empty(n, device=device), -3.0, 2.0, generator=generator),
                "init_normal": lambda: tf.nn.init.normal_(
                    tf.empty(n, dtype=tf.float64, device=device), 0.5, 3.0,
                    generator=generator)}[draw]()
    for n in RANDOM_SIZES[:-1] if draw.startswith("randint") else RANDOM_SIZES:
        tf.manual_seed(1234 + n)
        first, second = make(n, "cuda"), make(n, "cuda")  # the stream moves on
        tf.manual_seed(1234 + n)
        assert_same_bits(first, make(n, "cpu"))
        assert_same_bits(second, make(n, "cpu"))
        gen = tf.Generator().manual_seed(99)
        on_device = make(n, "cuda", gen)
        assert_same_bits(on_device, make(n, "cpu", tf.Generator().manual_seed(99)))


def test_dropout_masks_are_the_cpus_and_train_on_the_device():
    import tinyfin.nn.functional as F
    x = tf.randn(64, 33, dtype=tf.float64)
    for p in (0.1, 0.5, 0.9):
        tf.manual_seed(7)
        on_device = F.dropout(x.cuda(), p)
        tf.manual_seed(7)
        assert_same_bits(on_device, F.dropout(x, p))
    xg = x.cuda().requires_grad_()
    tf.manual_seed(3)
    F.dropout(xg, 0.25).sum().backward()
    tf.manual_seed(3)
    xc = x.clone().requires_grad_()
    F.dropout(xc, 0.25).sum().backward()
    assert_same_bits(xg.grad, xc.grad)


# ---- matmul ------------------------------------------------------------------------
# Layouts that reach every path of matmul.cu's tiled kernel and of its cuBLAS
# choice: ragged tiles (4 x 4 per thread), vectors, broadcast and folded
# batches, transposed, strided, offset and expanded (stride 0) operands,
# and empty products (k = 0 gives zeros).
MATMUL_CASES = {
    "ragged": ((37, 129), (129, 65), None),
    "vec_vec": ((7,), (7,), None),
    "vec_mat": ((7,), (7, 5), None),
    "mat_vec": ((6, 7), (7,), None),
    "batch_broadcast": ((3, 1, 6, 5), (4, 5, 2), None),
    "batch_fold": ((2, 6, 5), (5, 4), None),
    "transposed": ((9, 13), (11, 9), "transpose"),
    "strided_offset": ((10, 20), (20, 8), "slice"),
    "expanded": ((1, 5, 6), (6, 3), "expand"),
    "k_zero": ((3, 0), (0, 4), None),
    "m_zero": ((0, 3), (3, 2), None),
}


def matmul_operands(dtype, case, seed=0):
    sa, sb, layout = MATMUL_CASES[case]
    a, b = host_array(dtype, sa, seed), host_array(dtype, sb, seed + 1)
    if dtype == np.int64:  # products that wrap, as on the cpu
        a, b = a % 2 ** 40 - 2 ** 39, b % 2 ** 40 - 2 ** 39
    ta, tb = tf.tensor(a).cuda(), tf.tensor(b).cuda()
    if layout == "transpose":    # (13, 9) @ (9, 11), both read column by column
        a, b, ta, tb = a.T, b.T, ta.transpose(0, 1), tb.transpose(0, 1)
    elif layout == "slice":      # (9, 10) @ (10, 8) at an offset, rows 2 apart
        a, b, ta, tb = a[1:, ::2], b[::2], ta[1:, ::2], tb[::2]
    elif layout == "expand":     # one matrix repeated over a batch of 4
        a, ta = np.broadcast_to(a, (4, 5, 6)), ta.expand(4, 5, 6)
    return a, b, ta, tb


@pytest.mark.parametrize("case", MATMUL_CASES)
@pytest.mark.parametrize("name", ["float32", "float64", "int64"])
def test_matmul_matches_numpy(name, case):
    """Against NumPy in float64 within the bound of summing k products in
    the dtype (k u sum |a||b|, u the unit roundoff), int64 exactly (wrapping
    like Python integers modulo 2^64)."""
    a, b, ta, tb = matmul_operands(DTYPES[name], case)
    got = ta @ tb
    assert got.device == "cuda:0" and got.dtype == getattr(tf, name)
    got = got.cpu().numpy()
    if name == "int64":
        want = np.matmul(a.astype(object), b.astype(object))
        want = np.vectorize(lambda v: (v + 2 ** 63) % 2 ** 64 - 2 ** 63, otypes=[np.int64])(want) \
            if np.ndim(want) else np.int64((want + 2 ** 63) % 2 ** 64 - 2 ** 63)
        np.testing.assert_array_equal(got, want)
        return
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape
    k = a.shape[-1]
    u = np.finfo(DTYPES[name]).eps / 2
    bound = (k + 1) * u * np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    assert np.all(np.abs(got - want) <= bound + np.finfo(DTYPES[name]).tiny), case


def test_matmul_is_the_same_bits_every_run():
    a, b, ta, tb = matmul_operands(np.float32, "ragged", seed=3)
    first = (ta @ tb).cpu().numpy().tobytes()
    for _ in range(3):
        assert (ta @ tb).cpu().numpy().tobytes() == first


def test_matmul_gradients_on_the_device():
    a = host_array(np.float64, (5, 7), 4)
    b = host_array(np.float64, (7, 3), 5)
    w = host_array(np.float64, (5, 3), 6)
    ta = tf.tensor(a).cuda().requires_grad_()
    tb = tf.tensor(b).cuda().requires_grad_()
    ((ta @ tb) * tf.tensor(w).cuda()).sum().backward()
    assert ta.grad.device == "cuda:0"
    np.testing.assert_allclose(ta.grad.cpu().numpy(), w @ b.T, rtol=1e-13)
    np.testing.assert_allclose(tb.grad.cpu().numpy(), a.T @ w, rtol=1e-13)


def test_cublas_status_and_the_choice_of_library():
    status = tf.backends.cuda.cublas_status()
    assert status.startswith(("loaded: ", "not loaded: ")), status
    if EMULATED:
        assert status == "not loaded: the emulated device has no cuBLAS" or \
            status.startswith("not loaded: no path to libcublas"), status
    assert tf.backends.cuda.preferred_blas_library() == "cublas"
    with pytest.raises(ValueError, match="preferred_blas_library: expected one of"):
        tf.backends.cuda.preferred_blas_library("magma")


@pytest.mark.skipif(not tf.backends.cuda.cublas_status().startswith("loaded"),
                    reason=f"cuBLAS: {tf.backends.cuda.cublas_status()}")
@pytest.mark.parametrize("case", ["ragged", "batch_broadcast", "batch_fold", "transposed",
                                  "strided_offset"])
def test_cublas_agrees_with_the_tiled_kernel(case):
    """The tiled kernel is the independent reference for cuBLAS: both within
    the summation bound of NumPy's float64, and of each other."""
    a, b, ta, tb = matmul_operands(np.float32, case, seed=7)
    with_cublas = (ta @ tb).cpu().numpy()
    try:
        tf.backends.cuda.preferred_blas_library("tiled")
        tiled = (ta @ tb).cpu().numpy()
    finally:
        tf.backends.cuda.preferred_blas_library("cublas")
    bound = 2 * (a.shape[-1] + 1) * 2 ** -24 * np.matmul(np.abs(a).astype(np.float64),
                                                          np.abs(b).astype(np.float64))
    assert np.all(np.abs(with_cublas.astype(np.float64) - tiled) <= bound)


def test_mixing_devices_names_both():
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        tf.ones(3, device="cuda") + tf.ones(3)


def test_a_device_that_does_not_exist():
    with pytest.raises(RuntimeError, match="cuda:7.*does not exist"):
        tf.zeros(1, device="cuda:7")


def test_gradients_flow_across_devices():
    x = tf.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.cuda()
    assert y.requires_grad and y.device == "cuda:0"
    (y.cpu() * tf.tensor([2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0, 4.0])


def test_checkpoint_saved_from_the_device_loads_on_the_cpu(tmp_path):
    a = host_array(np.float32, (3, 4), seed=2)
    tf.save({"w": tf.tensor(a).cuda()}, tmp_path / "ckpt.safetensors")
    w = tf.load(tmp_path / "ckpt.safetensors")["w"]
    assert w.device == "cpu"
    np.testing.assert_array_equal(w.numpy(), a)
    np.testing.assert_array_equal(w.cuda().cpu().numpy(), a)


# ---- the caching allocator ----------------------------------------------------
def rounded(nbytes):
    unit = 512 if nbytes < 1 << 20 else 1 << 20
    return max(-(-nbytes // unit) * unit, 512)


def test_memory_returns_to_the_baseline_and_blocks_are_reused():
    cuda.synchronize()
    base = cuda.memory_allocated()
    sizes = [1, 1000, 4096, 3 << 20, (3 << 20) + 1]
    tensors = [tf.zeros(n // 4 or 1, device="cuda") for n in sizes]
    expected = sum(rounded((n // 4 or 1) * 4) for n in sizes)
    assert cuda.memory_allocated() - base == expected
    assert cuda.max_memory_allocated() >= base + expected
    reserved = cuda.memory_reserved()
    del tensors
    assert cuda.memory_allocated() == base
    assert cuda.memory_reserved() == reserved  # kept for reuse, not freed
    again = [tf.zeros(n // 4 or 1, device="cuda") for n in sizes]  # the same sizes
    assert cuda.memory_reserved() == reserved  # no new device memory
    del again
    cuda.empty_cache()
    assert cuda.memory_reserved() == cuda.memory_allocated() == base
    cuda.reset_peak_memory_stats()
    assert cuda.max_memory_allocated() == base


def test_allocation_from_threads_keeps_the_counts():
    base = cuda.memory_allocated()
    errors = []

    def work(seed):
        try:
            for i in range(200):
                n = 1 + (seed * 7919 + i * 104729) % 5000
                g = tf.tensor(np.full(n, float(seed), np.float32)).cuda()
                assert float(g.cpu().numpy()[-1]) == seed
        except Exception as e:  # reported below: a thread's exception is lost otherwise
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in range(4)]
    for t in threads:
        t.start()
    join_threads(threads)
    assert not errors, errors
    assert cuda.memory_allocated() == base


def test_out_of_memory_is_a_memory_error():
    with pytest.raises(MemoryError, match="cuda:0"):
        tf.empty(1 << 50, device="cuda")  # 4 PiB
    assert tf.zeros(4, device="cuda").cpu().numpy().sum() == 0  # still usable


@pytest.mark.skipif(not EMULATED, reason="needs the emulated device's memory limit")
def test_out_of_memory_frees_the_cache_and_retries_once():
    limit = int(os.environ["TINYFIN_CUDA_EMULATED_LIMIT"])
    cuda.empty_cache()
    base = cuda.memory_reserved()
    big = tf.empty((limit - base) // 4 - (1 << 18), device="cuda")  # most of the device
    del big  # kept in the cache
    assert cuda.memory_reserved() > limit // 2
    other = tf.empty((limit - base) // 8, device="cuda")  # a size the cache lacks
    assert cuda.memory_reserved() <= limit  # the cache was emptied to make room
    del other


def test_a_forked_child_cannot_use_cuda():
    tf.zeros(1, device="cuda")  # CUDA is set up in this process
    pid = os.fork()
    if pid == 0:
        ok = "fork" in (cuda.why_unavailable() or "") and not cuda.is_available()
        try:
            tf.zeros(1, device="cuda")
            ok = False
        except RuntimeError as e:
            ok = ok and "fork" in str(e)
        os._exit(0 if ok else 1)
    assert wait_for_child(pid) == 0


def test_verify_declares_exactly_the_kernels_the_device_runs():
    """verify/backends.py PROMISES["cuda"] against the kernel table, slot by
    slot and dtype by dtype (a kernel added without its declaration fails)."""
    from verify.backends import check_dispatch
    r = check_dispatch("cuda")
    assert r.status == "pass", r.failures[:5]


# ---- optimizers (optim.cu), training and checkpoints on the device --------------------
OPTIMIZERS = {
    "sgd": lambda ps: tf.optim.SGD(ps, lr=0.1),
    "sgd_nesterov_wd": lambda ps: tf.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                               weight_decay=1e-2),
    "sgd_dampening_maximize": lambda ps: tf.optim.SGD(ps, lr=0.05, momentum=0.5,
                                                      dampening=0.3, maximize=True),
    "adam": lambda ps: tf.optim.Adam(ps, lr=1e-2),
    "adam_amsgrad_l2": lambda ps: tf.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=0.1),
    "adamw": lambda ps: tf.optim.AdamW(ps, lr=1e-2, weight_decay=0.1, betas=(0.6, 0.7)),
    "rmsprop": lambda ps: tf.optim.RMSprop(ps, lr=1e-2),
    "rmsprop_centered": lambda ps: tf.optim.RMSprop(ps, lr=1e-2, centered=True),
    "rmsprop_momentum": lambda ps: tf.optim.RMSprop(ps, lr=1e-2, momentum=0.9),
    "rmsprop_centered_momentum_wd": lambda ps: tf.optim.RMSprop(
        ps, lr=1e-2, alpha=0.3, centered=True, momentum=0.9, weight_decay=1e-3),
    "adagrad": lambda ps: tf.optim.Adagrad(ps, lr=0.1, lr_decay=1e-3, weight_decay=1e-2),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_are_bitwise_the_cpus(name, dtype):
    """Every option's path of cpu/optim_step.h, run by optim.cu, against the
    cpu kernel, over steps that move the state (and a strided parameter)."""
    rng = np.random.default_rng(5)
    shapes = [(1,), (37, 29), (300_001,), (29, 37)]
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]

    def params(device):
        ps = [tf.tensor(a, device=device).requires_grad_() for a in arrays[:3]]
        strided = tf.tensor(arrays[3].T.copy(), device=device).t().detach()
        assert not strided.is_contiguous()
        return ps + [strided.requires_grad_()]
    on_cpu, on_device = params("cpu"), params("cuda")
    opts = OPTIMIZERS[name](on_cpu), OPTIMIZERS[name](on_device)
    for step in range(4):
        for p_cpu, p_dev in zip(on_cpu, on_device):
            g = rng.standard_normal(p_cpu.shape).astype(dtype) * 10.0 ** (step - 2)
            p_cpu.grad, p_dev.grad = tf.tensor(g), tf.tensor(g, device="cuda")
        for opt in opts:
            opt.step()
        for p_cpu, p_dev in zip(on_cpu, on_device):
            assert_same_bits(p_dev.detach(), p_cpu.detach())
            for key, value in opts[0].state[p_cpu].items():
                if isinstance(value, tf.Tensor) and value.numel() > 1:
                    assert_same_bits(opts[1].state[p_dev][key], value)


def _mlp():
    nn = tf.nn
    return nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Dropout(0.1), nn.Linear(64, 64),
                         nn.ReLU(), nn.Linear(64, 1)).to(tf.float64)


def test_a_model_moved_to_the_device_trains_as_on_the_cpu_and_frees_its_memory():
    import tinyfin.nn.functional as F
    base = cuda.memory_allocated()
    tf.manual_seed(0)
    model = _mlp()
    on_device = _mlp()
    on_device.load_state_dict(model.state_dict())
    assert on_device.to("cuda") is on_device
    assert all(p.device == "cuda:0" for p in on_device.parameters())
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 20))
    y = np.sin(x @ rng.standard_normal((20, 1)))
    runs = []
    for m, device in ((model, "cpu"), (on_device, "cuda")):
        # SGD: Adam would magnify the rounding-level differences of the
        # gradients of dead units into whole steps (its steps are bitwise
        # the cpu's for the same gradients: test_optimizer_steps_...)
        opt = tf.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
        xs, ys = tf.tensor(x, device=device), tf.tensor(y, device=device)
        losses, allocated, reserved = [], [], []
        for step in range(40):
            tf.manual_seed(100 + step)  # the same dropout masks on both devices
            opt.zero_grad()
            loss = F.mse_loss(m(xs), ys)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            del loss
            if device == "cuda":
                allocated.append(cuda.memory_allocated())
                reserved.append(cuda.memory_reserved())
        runs.append(losses)
        if device == "cuda":
            # a step's tensors are freed: every step ends at the same count,
            # and the cache serves every step after the first two (no new
            # device memory is reserved)
            assert len(set(allocated[1:])) == 1, allocated[:5]
            assert len(set(reserved[2:])) == 1, reserved[:5]
            del opt, xs, ys
    cpu_losses, device_losses = runs
    assert device_losses[-1] < 0.7 * device_losses[0]  # it learns
    # the matmuls sum in another order than the cpu's: float64 rounding apart
    np.testing.assert_allclose(device_losses, cpu_losses, rtol=1e-9)
    for p_cpu, p_dev in zip(model.parameters(), on_device.parameters()):
        np.testing.assert_allclose(p_dev.detach().cpu().numpy(), p_cpu.detach().numpy(),
                                   rtol=1e-8, atol=1e-11)
    del on_device, m, p_dev  # the model's last references
    assert cuda.memory_allocated() == base


def test_checkpoints_saved_from_the_device_load_on_the_cpu_and_back(tmp_path):
    import tinyfin.nn.functional as F
    tf.manual_seed(4)
    model = tf.nn.Linear(5, 3).cuda()
    opt = tf.optim.Adam(model.parameters(), lr=0.1)
    x, y = tf.randn(8, 5, device="cuda"), tf.randn(8, 3, device="cuda")

    def step(m, o):
        o.zero_grad()
        F.mse_loss(m(x.to(m.weight.device)), y.to(m.weight.device)).backward()
        o.step()
    step(model, opt)
    path = tmp_path / "ckpt.safetensors"
    tf.save({"model": model.state_dict(), "optim": opt.state_dict()}, path)
    on_cpu = tf.load(path)
    assert on_cpu["model"]["weight"].device == "cpu"
    assert_same_bits(model.weight.detach(), on_cpu["model"]["weight"])
    mapped = tf.load(path, map_location="cuda")
    assert mapped["model"]["weight"].device == "cuda:0"
    assert_same_bits(mapped["model"]["bias"], on_cpu["model"]["bias"])
    # resumed on the device (state loaded from cpu tensors) and on the cpu,
    # one more step each: on the device the same bits as the original's next
    # step, on the cpu the same to float32 rounding (its matmul sums in
    # another order)
    cpu_model, dev_model = tf.nn.Linear(5, 3), tf.nn.Linear(5, 3).cuda()
    resumed = []
    for m in (cpu_model, dev_model):
        m.load_state_dict(on_cpu["model"])
        o = tf.optim.Adam(m.parameters(), lr=0.1)
        o.load_state_dict(on_cpu["optim"])
        step(m, o)
        resumed.append(m)
    step(model, opt)
    assert dev_model.weight.device == "cuda:0"
    assert_same_bits(dev_model.weight.detach(), model.weight.detach().cpu())
    np.testing.assert_allclose(cpu_model.weight.detach().numpy(),
                               model.weight.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)


# ---- indexing -------------------------------------------------------------------------
# The index values are checked on the host (the cpu's own check) and the
# kernels move data by the offsets they give; scatter_add and index_put_
# group their writes by target, so repeated indices add in the cpu's order.
# 1 100 001 positions pass the grid's 4096 x 256 threads (grid-stride loop).
BIG = 1_100_001


def on_both(array):
    return tf.tensor(array), tf.tensor(array).cuda()


@pytest.mark.parametrize("name", DTYPES)
def test_gather_and_index_select_match_numpy(name):
    rng = np.random.default_rng(5)
    x = host_array(DTYPES[name], (9, 7, 5), seed=1)
    for perm in ((0, 1, 2), (2, 0, 1)):  # contiguous, strided
        layout = x.transpose(perm)
        cpu_x, dev_x = tf.tensor(x).permute(*perm), tf.tensor(x).cuda().permute(*perm)
        for dim in range(3):
            shape = list(layout.shape)
            shape[dim] = 4
            idx = rng.integers(0, layout.shape[dim], shape)
            got = dev_x.gather(dim, tf.tensor(idx).cuda())
            np.testing.assert_array_equal(got.cpu().numpy(), np.take_along_axis(layout, idx, dim))
            assert_same_bits(got, cpu_x.gather(dim, tf.tensor(idx)))
            sel = rng.integers(0, layout.shape[dim], 6)
            got = dev_x.index_select(dim, tf.tensor(sel).cuda())
            np.testing.assert_array_equal(got.cpu().numpy(), np.take(layout, sel, dim))
    flat = host_array(DTYPES[name], (1000,), seed=2)
    idx = rng.integers(0, 1000, BIG)
    _, dev = on_both(flat)
    np.testing.assert_array_equal(dev.gather(0, tf.tensor(idx).cuda()).cpu().numpy(), flat[idx])
    np.testing.assert_array_equal(dev.index_select(0, tf.tensor(idx).cuda()).cpu().numpy(),
                                  flat[idx])
    zero_d = tf.tensor(flat[:1].reshape(())).cuda()  # a 0-d input is read as 1-D of one
    assert zero_d.gather(0, tf.tensor(0).cuda()).cpu().numpy() == flat[0]
    empty = tf.zeros((0,), dtype=tf.int64, device="cuda")
    assert dev.gather(0, empty).shape == (0,) and dev.index_select(0, empty).shape == (0,)


@pytest.mark.parametrize("name", DTYPES)
def test_scatter_add_adds_repeated_indices_in_the_cpus_order(name):
    rng = np.random.default_rng(6)
    dst = host_array(DTYPES[name], (6, 8), seed=3)
    src = host_array(DTYPES[name], (8, 10), seed=4).T  # strided, (10, 8)
    idx = rng.integers(0, 6, (10, 8))  # every target hit about 13 times
    want = dst.copy()
    with np.errstate(over="ignore"):  # int64 wraps, as tinyfin's
        for i in range(10):  # row-major order, as the cpu adds
            for j in range(8):
                if name == "bool":
                    want[idx[i, j], j] |= src[i, j]
                else:
                    want[idx[i, j], j] += src[i, j]
    cpu = tf.tensor(dst).scatter_add(0, tf.tensor(idx), tf.tensor(src))
    dev = tf.tensor(dst).cuda().scatter_add(0, tf.tensor(idx).cuda(),
                                            tf.tensor(src.T.copy()).cuda().T)
    np.testing.assert_array_equal(dev.cpu().numpy(), want)
    assert_same_bits(dev, cpu)
    # many positions into few targets, and into many targets
    for bins in (1000, BIG):
        flat = host_array(DTYPES[name], (bins,), seed=7)
        vals = host_array(DTYPES[name], (BIG,), seed=8)
        idx = rng.integers(0, bins, BIG)
        cpu = tf.tensor(flat).scatter_add(0, tf.tensor(idx), tf.tensor(vals))
        dev = tf.tensor(flat).cuda().scatter_add(0, tf.tensor(idx).cuda(), tf.tensor(vals).cuda())
        assert_same_bits(dev, cpu)
        if name in ("float64", "int64"):
            want = flat.copy()
            np.add.at(want, idx, vals)
            np.testing.assert_allclose(dev.cpu().numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("name", DTYPES)
def test_advanced_indexing_reads_and_writes_as_on_the_cpu(name):
    x = host_array(DTYPES[name], (6, 5, 4), seed=9)
    i0 = np.array([[0, 5, -1], [2, 2, -6]])  # negative values wrap
    i1 = np.array([[1, 1, 4], [1, 1, 0]])  # (2, 1) repeats: a target written twice
    cpu_x, dev_x = on_both(x)
    got = dev_x[tf.tensor(i0).cuda(), tf.tensor(i1).cuda()]
    np.testing.assert_array_equal(got.cpu().numpy(), x[i0, i1])
    assert_same_bits(got, cpu_x[tf.tensor(i0), tf.tensor(i1)])
    assert_same_bits(dev_x.T[tf.tensor(i1 % 4).cuda()], cpu_x.T[tf.tensor(i1 % 4)])  # strided
    values = host_array(DTYPES[name], (2, 3, 4), seed=10)
    for accumulate in (False, True):
        for v in (values, values[0, 0]):  # full, and broadcast from (4,)
            a, b = cpu_x.clone(), dev_x.clone()
            a.index_put_((tf.tensor(i0), tf.tensor(i1)), tf.tensor(v), accumulate=accumulate)
            b.index_put_((tf.tensor(i0).cuda(), tf.tensor(i1).cuda()), tf.tensor(v).cuda(),
                         accumulate=accumulate)
            assert_same_bits(b, a)
            want = x.copy()
            vb = np.broadcast_to(v, (2, 3, 4))
            with np.errstate(over="ignore"):
                for p in np.ndindex(2, 3):  # row-major: the last write of a repeat wins
                    if accumulate and name == "bool":
                        want[i0[p], i1[p]] |= vb[p]
                    elif accumulate:
                        want[i0[p], i1[p]] += vb[p]
                    else:
                        want[i0[p], i1[p]] = vb[p]
            np.testing.assert_array_equal(b.cpu().numpy(), want)


def test_a_bad_index_raises_the_cpus_index_error_and_writes_nothing():
    x = host_array(np.float32, (4, 3))
    cpu_x, dev_x = on_both(x)
    bad = np.array([[0, 1, 4]])
    for op in (lambda t, i: t.gather(0, i), lambda t, i: t.index_select(0, i[0]),
               lambda t, i: t.scatter_add(0, i, t[:1]), lambda t, i: t[i],
               lambda t, i: t.index_put_((i,), t[0, 0], accumulate=True)):
        with pytest.raises(IndexError) as on_cpu:
            op(cpu_x, tf.tensor(bad))
        with pytest.raises(IndexError) as on_device:
            op(dev_x, tf.tensor(bad).cuda())
        assert str(on_device.value) == str(on_cpu.value)
    np.testing.assert_array_equal(dev_x.cpu().numpy(), x)


def test_an_embedding_trains_on_the_device_as_on_the_cpu():
    """Embedding reads rows by index_select and adds its gradient back by
    index_put_ (accumulate): both bitwise the cpu's, repeated ids included."""
    ids = np.array([[1, 2, 2, 7], [9, 1, 0, 2]])
    models = []
    for device in ("cpu", "cuda"):
        tf.manual_seed(3)
        e = tf.nn.Embedding(10, 6).to(device)
        opt = tf.optim.SGD(e.parameters(), lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            (e(tf.tensor(ids).to(device)) ** 2).sum().backward()
            opt.step()
        models.append(e)
    assert_same_bits(models[1].weight.detach(), models[0].weight.detach())
    base = cuda.memory_allocated()
    x = tf.ones(50, device="cuda")
    for _ in range(3):
        x.gather(0, tf.zeros(7, dtype=tf.int64, device="cuda")).sum()
        x.scatter_add(0, tf.zeros(7, dtype=tf.int64, device="cuda"), x[:7])
    del x
    assert cuda.memory_allocated() == base  # the offset tables are freed


def test_composite_ops_make_their_own_tensors_on_the_inputs_device():
    """Ops built of others create masks, fills and indices on the input's
    device (each of these once made them on the cpu: a device mismatch)."""
    import tinyfin.nn.functional as F
    a = host_array(np.float64, (4, 6))
    g = tf.tensor(a).cuda()
    mask = tf.tensor(a > 0).cuda()
    np.testing.assert_array_equal(g.masked_fill(mask, -7.0).cpu().numpy(),
                                  np.where(a > 0, -7.0, a))
    labels = np.array([0, 3, 1, 3])
    np.testing.assert_array_equal(F.one_hot(tf.tensor(labels).cuda()).cpu().numpy(),
                                  np.eye(4, dtype=np.int64)[labels])
    q, k, v = (tf.tensor(host_array(np.float64, (2, 5, 3), seed=s)) for s in (1, 2, 3))
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    got = F.scaled_dot_product_attention(q.cuda(), k.cuda(), v.cuda(), is_causal=True)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12, atol=1e-15)
    for zero_d in (tf.softmax, tf.log_softmax):  # a 0-d input is one element
        assert_same_bits(zero_d(tf.tensor(2.5).cuda(), 0), zero_d(tf.tensor(2.5), 0))
    assert_same_bits(tf.pad(g, (1, 2), mode="circular"), tf.pad(tf.tensor(a), (1, 2),
                                                                mode="circular"))
    assert_same_bits(g[[0, 2]], tf.tensor(a)[[0, 2]])  # a list index goes to the device too
    g[:, 1] = [1.0, 2.0, 3.0, 4.0]  # a sequence value is made on the device
    a[:, 1] = [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_array_equal(g.cpu().numpy(), a)


# ---- losses (loss.cu): cross-entropy's rows are the cpu's own code ---------------------
def _ce_reference(x, target, weight, ignore_index, reduction, eps):
    """Cross-entropy in NumPy float64 from log_softmax, over (N, C, d...)
    or (C,) logits: the definition, independent of cross_entropy.h."""
    xr = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]) if x.ndim > 1 else x[None]
    C = xr.shape[1]
    lp = xr - xr.max(1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    w = np.ones(C) if weight is None else weight
    if target.dtype.kind == "f":
        tr = np.moveaxis(target, 1, -1).reshape(-1, C) if x.ndim > 1 else target[None]
        losses = -(w * ((1 - eps) * tr + eps / C) * lp).sum(1)
        den = float(len(xr))
    else:
        t = target.reshape(-1)
        keep = t != ignore_index
        ty = np.where(keep, t, 0)
        nll = -w[ty] * lp[np.arange(len(t)), ty]
        losses = np.where(keep, (1 - eps) * nll - eps / C * (w * lp).sum(1), 0.0)
        den = float(np.where(keep, w[ty], 0.0).sum())
    if reduction == "none":
        return losses.reshape(target.shape if target.dtype.kind != "f" else
                              (x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()))
    return np.asarray(losses.sum() if reduction == "sum" else losses.sum() / den)


CE_CASES = {
    "rows": dict(shape=(37, 11)),
    "one_row": dict(shape=(6,)),
    "spatial": dict(shape=(3, 5, 4, 2)),
    "wide_rows_many_blocks": dict(shape=(5000, 7)),     # blocks of 2048 rows summed in order
    "classes_strided": dict(shape=(9, 13), transpose=True),
    "weights_ignore_smoothing": dict(shape=(64, 10), weight=True, ignore=True, eps=0.1),
    "probabilities": dict(shape=(20, 6), prob=True, eps=0.2, weight=True),
    "extreme_logits": dict(shape=(8, 5), scale=1e30),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("case", CE_CASES)
def test_cross_entropy_and_its_gradient_are_the_cpus_and_numpys(case, name, reduction):
    import tinyfin.nn.functional as F
    c = CE_CASES[case]
    rng = np.random.default_rng(len(case))
    shape, dt = c["shape"], DTYPES[name]
    x = (rng.standard_normal(shape) * c.get("scale", 3.0)).astype(dt)
    if c.get("transpose"):
        x = np.ascontiguousarray(x.T).T  # class stride != 1
    C = shape[1] if len(shape) > 1 else shape[0]
    if c.get("prob"):
        target = rng.dirichlet(np.ones(C), size=shape[0]).astype(dt)
    else:
        target = rng.integers(0, C, shape[:1] + shape[2:] if len(shape) > 1 else ())
        if c.get("ignore"):
            target.reshape(-1)[::5] = -3
    weight = rng.uniform(0.5, 2.0, C).astype(dt) if c.get("weight") else None
    kw = dict(reduction=reduction, label_smoothing=c.get("eps", 0.0),
              ignore_index=-3 if c.get("ignore") else -100)
    results = []
    for device in ("cpu", "cuda"):
        xt = tf.tensor(x).to(device)
        if c.get("transpose"):
            xt = xt.t().contiguous().t()
        xt.requires_grad_(True)
        w = tf.tensor(weight).to(device) if weight is not None else None
        loss = F.cross_entropy(xt, tf.tensor(target).to(device), weight=w, **kw)
        (loss * tf.tensor(np.linspace(0.5, 1.5, loss.numel()).reshape(loss.shape).astype(dt)
                          ).to(device)).sum().backward()
        results.append((loss.detach(), xt.grad))
    (cpu_loss, cpu_grad), (dev_loss, dev_grad) = results
    assert_same_bits(dev_loss, cpu_loss)
    assert_same_bits(dev_grad, cpu_grad)
    want = _ce_reference(x.astype(np.float64), target if not c.get("prob") else
                         target.astype(np.float64),
                         None if weight is None else weight.astype(np.float64),
                         kw["ignore_index"], reduction, kw["label_smoothing"])
    if c.get("scale", 0) > 1e20:
        want = np.where(np.isfinite(want), want, dev_loss.cpu().numpy())  # NumPy's inf - inf
    np.testing.assert_allclose(dev_loss.cpu().numpy(), want,
                               rtol=2e-6 if name == "float32" else 1e-12, atol=1e-30)


def test_cross_entropy_targets_are_checked_as_on_the_cpu_and_memory_returns():
    import tinyfin.nn.functional as F
    x = host_array(np.float32, (4, 3))
    base = cuda.memory_allocated()
    for bad in (np.array([0, 3, 1, 1]), np.array([0, -1, 1, 1])):
        with pytest.raises(IndexError) as on_cpu:
            F.cross_entropy(tf.tensor(x), tf.tensor(bad))
        with pytest.raises(IndexError) as on_device:
            F.cross_entropy(tf.tensor(x).cuda(), tf.tensor(bad).cuda())
        assert str(on_device.value) == str(on_cpu.value)
        del on_device  # its traceback holds the call's tensors
    every_ignored = F.cross_entropy(tf.tensor(x).cuda(), tf.tensor([-100] * 4).cuda())
    assert np.isnan(every_ignored.item())  # 0 / 0, as PyTorch
    empty = F.cross_entropy(tf.zeros((0, 3), device="cuda"),
                            tf.zeros(0, dtype=tf.int64, device="cuda"), reduction="sum")
    assert empty.item() == 0.0
    del every_ignored, empty
    assert cuda.memory_allocated() == base  # targets and partial sums are freed


def test_a_classifier_trains_on_the_device_with_cross_entropy_as_on_the_cpu():
    import tinyfin.nn.functional as F
    nn = tf.nn
    rng = np.random.default_rng(5)
    x = rng.standard_normal((128, 20)).astype(np.float32)
    y = (x[:, :4] @ rng.standard_normal((4, 3))).argmax(1)
    runs = []
    for device in ("cpu", "cuda"):
        tf.manual_seed(0)
        m = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3)).to(device)
        opt = tf.optim.SGD(m.parameters(), lr=0.2, momentum=0.9)
        xs, ys = tf.tensor(x, device=device), tf.tensor(y, device=device)
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = F.cross_entropy(m(xs), ys, label_smoothing=0.05)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs.append(losses)
    assert runs[1][-1] < 0.5 * runs[1][0]  # it learns
    # the matmuls sum in another order than the cpu's: float32 rounding apart
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-4)


# ---- pooling (pool.cu): bitwise the cpu's, forward and backward ------------------------
POOL_CASES = {
    # (function, input shape, keywords): overlapping windows (stride below the
    # kernel) make several outputs add into one input element
    "max2d_overlapping_dilated": ("max_pool2d", (2, 3, 11, 9),
                                  dict(kernel_size=3, stride=(1, 2), padding=1, dilation=(2, 1))),
    "max2d_cnn": ("max_pool2d", (4, 8, 16, 16), dict(kernel_size=2)),
    "max2d_ceil": ("max_pool2d", (1, 2, 7, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    "max1d": ("max_pool1d", (3, 4, 29), dict(kernel_size=4, stride=3, padding=2, dilation=2)),
    "avg2d_overlapping": ("avg_pool2d", (2, 3, 10, 9), dict(kernel_size=3, stride=1, padding=1)),
    "avg2d_no_pad_count": ("avg_pool2d", (2, 2, 9, 7), dict(kernel_size=3, stride=2, padding=1,
                                                           ceil_mode=True,
                                                           count_include_pad=False)),
    "avg2d_divisor": ("avg_pool2d", (1, 3, 8, 8), dict(kernel_size=(3, 2), divisor_override=5)),
    "avg1d": ("avg_pool1d", (2, 5, 31), dict(kernel_size=5, stride=2, padding=2)),
    "adaptive_avg2d": ("adaptive_avg_pool2d", (2, 3, 13, 11), dict(output_size=(5, 4))),
    "adaptive_max2d": ("adaptive_max_pool2d", (2, 3, 13, 11), dict(output_size=(4, 6))),
    "adaptive_avg1d": ("adaptive_avg_pool1d", (2, 3, 17), dict(output_size=7)),
    "adaptive_max1d": ("adaptive_max_pool1d", (2, 3, 17), dict(output_size=5)),
}


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_and_its_gradient_are_the_cpus(case, name):
    import tinyfin.nn.functional as F
    fn, shape, kw = POOL_CASES[case]
    rng = np.random.default_rng(len(case))
    x = rng.standard_normal(shape).astype(DTYPES[name])
    if "max" in fn:
        x.reshape(-1)[5::41] = np.nan   # a NaN wins its window (PyTorch's rule)
        x.reshape(-1)[7::23] = 2.0      # ties: the first maximum
    results = []
    for device in ("cpu", "cuda"):
        xt = tf.tensor(x).to(device).requires_grad_(True)
        y = getattr(F, fn)(xt, **kw)
        u = tf.tensor(rng.standard_normal(tuple(y.shape)).astype(x.dtype)
                      if device == "cpu" else results[0][2]).to(device)
        y.backward(u)
        results.append((y.detach(), xt.grad, u.cpu().numpy()))
    assert_same_bits(results[1][0], results[0][0])
    assert_same_bits(results[1][1], results[0][1])


def test_max_pool_backward_takes_any_in_plane_index_and_refuses_others():
    """Indices from elsewhere than the forward (outside their windows, or
    repeated) take the cpu's loop per plane; one outside its plane is the
    cpu's IndexError (the first bad one of the lowest plane)."""
    from tinyfin import _C
    from tinyfin.tensor import _call
    g = np.arange(1.0, 9.0).reshape(2, 1, 2, 2)
    shape, two, one, zero = (_C.shape_array(s) for s in ((2, 1, 4, 4), (2, 2), (1, 1), (0, 0)))

    def backward(index, device):
        gt, it = tf.tensor(g).to(device), tf.tensor(index).to(device)
        return _call(_C.tf_pool_backward, 0, 2, gt._h, it._h, 4, shape, two, two, zero, one,
                     False, False, False, 0)

    anywhere = np.array([[[[15, 15], [0, 3]]], [[[5, 5], [5, 12]]]])  # outside their windows
    assert_same_bits(backward(anywhere, "cuda"), backward(anywhere, "cpu"))
    want = np.zeros((2, 16))
    np.add.at(want, (np.repeat([0, 1], 4), anywhere.reshape(-1)), g.reshape(-1))
    np.testing.assert_array_equal(backward(anywhere, "cuda").cpu().numpy().reshape(2, 16), want)
    for bad in (np.array([[[[0, 1], [2, 3]]], [[[16, 1], [-1, 3]]]]),
                np.array([[[[0, -4], [99, 3]]], [[[16, 1], [2, 3]]]])):
        with pytest.raises(IndexError) as on_cpu:
            backward(bad, "cpu")
        with pytest.raises(IndexError) as on_device:
            backward(bad, "cuda")
        assert str(on_device.value) == str(on_cpu.value)


def test_a_small_cnn_pools_on_the_device_as_on_the_cpu():
    """Pooling inside a model with its gradients: the pooled activations and
    the gradients that reach the input are the cpu's bits."""
    import tinyfin.nn.functional as F
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4, 12, 12)).astype(np.float32)
    grads = []
    for device in ("cpu", "cuda"):
        xt = tf.tensor(x).to(device).requires_grad_(True)
        h = F.max_pool2d(F.relu(xt), 2)
        h = F.avg_pool2d(h, 3, stride=1, padding=1)
        F.adaptive_avg_pool2d(h, 1).sum().backward()
        grads.append(xt.grad)
    assert_same_bits(grads[1], grads[0])


# ---- convolution: cpu/conv.c's passes with conv.cu's steps and the device matmul -------
CONV_CASES = {
    # (input shape, weight shape, keywords); the largest is unfolded in 3
    # chunks of images and its weight gradient sums 4 segments per chunk
    "strided_dilated_groups": ((3, 4, 9, 8), (6, 2, 3, 3),
                               dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    "pointwise": ((2, 3, 7, 7), (5, 3, 1, 1), {}),
    "chunks": ((32, 16, 32, 32), (8, 16, 3, 3), dict(padding=1)),
    "conv1d": ((4, 3, 20), (6, 3, 5), dict(stride=2, padding=2)),
    "transpose2d": ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
}


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution_and_its_gradients_match_numpy_and_the_cpu(case, name):
    """y and the three gradients on the device against float64 (the
    forward also against verify's direct loop), within a bound relative to
    the sum of the terms' magnitudes (the same pass on |x|, |w|, |b|, |u|):
    the products sum up to 32768 terms in another order than the cpu's."""
    import tinyfin.nn.functional as F
    from verify.ops_nn_conv import conv_ref, conv_transpose_ref
    xs, ws, kw = CONV_CASES[case]
    if case == "chunks" and name == "float64":
        pytest.skip("one dtype is enough for the chunked path")
    fn = F.conv_transpose2d if case == "transpose2d" else F.conv1d if len(xs) == 3 else F.conv2d
    ref = conv_transpose_ref if case == "transpose2d" else conv_ref
    rng = np.random.default_rng(len(case))
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] if case == "transpose2d" else ws[0])

    def run(device, dt, x, w, b, u=None):
        xt, wt, bt = (tf.tensor(a.astype(dt), device=device).requires_grad_(True)
                      for a in (x, w, b))
        y = fn(xt, wt, bt, **kw)
        u = np.cos(np.arange(y.numel())).reshape(y.shape) if u is None else u
        (y * tf.tensor(u.astype(dt), device=device)).sum().backward()
        return [t.detach().cpu().numpy() for t in (y, xt.grad, wt.grad, bt.grad)], u

    got, u = run("cuda", DTYPES[name], x, w, b)
    want, _ = run("cpu", np.float64, x, w, b, u)
    scale, _ = run("cpu", np.float64, abs(x), abs(w), abs(b), abs(u))
    np.testing.assert_allclose(want[0], ref(x, w, b, **kw), rtol=1e-12, atol=1e-12)
    rel = 3e-5 if name == "float32" else 1e-13
    for what, g, v, s in zip(("y", "grad x", "grad w", "grad b"), got, want, scale):
        assert g.shape == v.shape, what
        assert np.all(np.abs(g - v) <= rel * s + 1e-30), (what, np.max(np.abs(g - v) / s))


def test_a_cnn_trains_on_the_device_as_on_the_cpu_and_frees_its_memory():
    import tinyfin.nn.functional as F
    nn = tf.nn
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 1, 12, 12)).astype(np.float32)
    y = x[:, 0, :6].mean((1, 2)).argsort().argsort() * 4 // 16  # learnable: 4 quartiles
    base = cuda.memory_allocated()
    runs = []
    for device in ("cpu", "cuda"):
        tf.manual_seed(1)
        m = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 4)).to(device)
        opt = tf.optim.Adam(m.parameters(), lr=0.03)
        xs, ys = tf.tensor(x, device=device), tf.tensor(y, device=device)
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = F.cross_entropy(m(xs), ys)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs.append(losses)
        del m, opt, xs, ys, loss
    assert runs[1][-1] < 0.3 * runs[1][0]  # it learns
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-3)
    assert cuda.memory_allocated() == base  # scratch, products and the model are freed


# ---- normalization (norm.cu): cpu/norm.c's blocks, merges and formulas ----------------
def _norm_reference(x, unit_axes, eps):
    """(x - mean) / sqrt(var + eps) over unit_axes in float64, and the
    unbiased variance (for the running statistics)."""
    m = x.mean(unit_axes, keepdims=True)
    v = x.var(unit_axes, keepdims=True)
    n = np.prod([x.shape[a] for a in unit_axes])
    return (x - m) / np.sqrt(v + eps), m.squeeze(), v.squeeze() * n / (n - 1)


NORM_CASES = {
    # (input shape, call(x, weight, bias, running mean, running var), unit axes of the
    # reference after a reshape, weight's shape); "blocks": units of more than 4096
    # elements, merged from blocks
    "batch": ((4, 6, 5, 3), "batch"), "batch_blocks": ((40, 3, 30, 30), "batch"),
    "batch_eval": ((4, 6, 5), "batch_eval"), "group": ((4, 6, 7), "group"),
    "group_s1": ((4, 6), "group"), "layer": ((5, 3, 6), "layer"),
    "layer_blocks": ((3, 70, 80), "layer"),
}


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("case", NORM_CASES)
def test_normalization_and_its_gradients_match_numpy_and_the_cpu(case, name):
    import tinyfin.nn.functional as F
    shape, kind = NORM_CASES[case]
    dt, rng = DTYPES[name], np.random.default_rng(len(case))
    x = rng.standard_normal(shape) * 3 + 1e3  # a large mean: no cancellation allowed
    C = shape[-1] * (shape[-2] if case == "layer_blocks" else 1) if kind == "layer" else shape[1]
    wshape = shape[-2:] if case == "layer_blocks" else (C,)
    w, b = rng.standard_normal(wshape), rng.standard_normal(wshape)
    rm0, rv0 = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    u = np.cos(np.arange(x.size)).reshape(shape)

    def run(device):
        t = lambda a: tf.tensor(a.astype(dt), device=device)
        xt, wt, bt = (t(a).requires_grad_(True) for a in (x, w, b))
        rm, rv = t(rm0), t(rv0)
        if kind == "batch":
            y = F.batch_norm(xt, rm, rv, wt, bt, training=True, momentum=0.3, eps=1e-3)
        elif kind == "batch_eval":
            y = F.batch_norm(xt, rm, rv, wt, bt, training=False, eps=1e-3)
        elif kind == "group":
            y = F.group_norm(xt, 3 if shape[1] == 6 else 1, wt, bt, eps=1e-3)
        else:
            y = F.layer_norm(xt, wshape, wt, bt, eps=1e-3)
        (y * t(u)).sum().backward()
        return [a.detach().cpu().numpy() for a in (y, xt.grad, wt.grad, bt.grad, rm, rv)]

    got, want = run("cuda"), run("cpu")
    tol = dict(rtol=1e-4, atol=1e-4) if name == "float32" else dict(rtol=1e-10, atol=1e-10)
    for what, g, v in zip(("y", "grad x", "grad w", "grad b", "running mean", "running var"),
                          got, want):
        np.testing.assert_allclose(g, v, err_msg=what, **tol)
    x64 = x.astype(dt).astype(np.float64)
    if kind == "batch_eval":
        xhat = (x64 - rm0[:, None]) / np.sqrt(rv0[:, None] + 1e-3)
    elif kind == "batch":
        axes = (0,) + tuple(range(2, len(shape)))
        xhat, m, v = _norm_reference(x64, axes, 1e-3)
        np.testing.assert_allclose(got[4], 0.7 * rm0 + 0.3 * m, rtol=1e-5)
        np.testing.assert_allclose(got[5], 0.7 * rv0 + 0.3 * v, rtol=1e-5)
    elif kind == "group":
        g = 3 if shape[1] == 6 else 1
        xr = x64.reshape(shape[0], g, -1)
        xhat = _norm_reference(xr, (2,), 1e-3)[0].reshape(shape)
    else:
        lead = x64.reshape(shape[0], -1) if case == "layer_blocks" else x64
        xhat = _norm_reference(lead, (-1,), 1e-3)[0].reshape(shape)
    wb = (w.reshape(-1, *([1] * (len(shape) - 2))), b.reshape(-1, *([1] * (len(shape) - 2)))) \
        if kind != "layer" else (w, b)
    np.testing.assert_allclose(got[0], xhat * wb[0] + wb[1],
                               **(dict(rtol=1e-4, atol=1e-4) if name == "float32" else
                                  dict(rtol=1e-9, atol=1e-9)))


BCE_CASES = {
    "dense": dict(shape=(70, 45)),                         # 3150 elements: two blocks
    "weight_broadcast": dict(shape=(30, 9), weight=(9,)),
    "pos_weight": dict(shape=(12, 7), pos_weight=(7,)),
    "both_transposed": dict(shape=(11, 13), weight=(11, 1), pos_weight=(13,), transpose=True),
    "extreme": dict(shape=(6, 5), scale=1e4),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("case", BCE_CASES)
def test_bce_with_logits_and_its_gradient_are_the_cpus_and_numpys(case, name, reduction):
    import tinyfin.nn.functional as F
    c = BCE_CASES[case]
    dt, rng = DTYPES[name], np.random.default_rng(len(case))
    x = (rng.standard_normal(c["shape"]) * c.get("scale", 4.0)).astype(dt)
    y = rng.uniform(0, 1, c["shape"]).astype(dt)
    extra = {k: rng.uniform(0.5, 2.0, c[k]).astype(dt) for k in ("weight", "pos_weight") if k in c}
    results = []
    for device in ("cpu", "cuda"):
        xt = tf.tensor(x.T.copy() if c.get("transpose") else x, device=device)
        xt = (xt.t() if c.get("transpose") else xt).requires_grad_(True)
        loss = F.binary_cross_entropy_with_logits(
            xt, tf.tensor(y, device=device), reduction=reduction,
            **{k: tf.tensor(v, device=device) for k, v in extra.items()})
        (loss * 1.5).sum().backward()
        results.append((loss.detach(), xt.grad))
    assert_same_bits(results[1][0], results[0][0])
    assert_same_bits(results[1][1], results[0][1])
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    pw = extra.get("pos_weight", np.ones(1)).astype(np.float64)
    w = extra.get("weight", np.ones(1)).astype(np.float64)
    # (1 - y) x + (1 + (pw - 1) y) softplus(-x), softplus by logaddexp
    want = w * ((1 - y64) * x64 + (1 + (pw - 1) * y64) * np.logaddexp(0, -x64))
    want = want if reduction == "none" else want.sum() if reduction == "sum" else want.mean()
    np.testing.assert_allclose(results[1][0].cpu().numpy(), want,
                               rtol=2e-6 if name == "float32" else 1e-12, atol=1e-30)


# ---- the LSTM cell (rnn.cu): cpu/lstm_cell.h's elements -------------------------------
@pytest.mark.parametrize("with_state", [True, False], ids=["c_prev", "zero_state"])
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_the_lstm_cell_and_its_gradient_are_the_cpus(name, with_state):
    """Pre-activations from 0 to +-100 (the float32 path's series near 0,
    saturation, NaN) against the cpu's bits, and h against NumPy."""
    from tinyfin.nn.ops.rnn import lstm_pointwise
    dt, rng, H = DTYPES[name], np.random.default_rng(3), 37
    gates = (rng.standard_normal((9, 4 * H)) * np.logspace(-3, 2, 9)[:, None]).astype(dt)
    gates[0, 5] = np.nan
    c0 = rng.standard_normal((9, H)).astype(dt)
    results = []
    for device in ("cpu", "cuda"):
        g = tf.tensor(gates, device=device).requires_grad_(True)
        c = tf.tensor(c0, device=device).requires_grad_(True) if with_state else None
        h, c1 = lstm_pointwise(g, c, H)
        (h * 1.5 + c1 * 0.5).sum().backward()
        results.append([t.detach() for t in (h, c1, g.grad) + ((c.grad,) if with_state else ())])
    for got, want in zip(*results[::-1]):
        assert_same_bits(got, want)
    sig = lambda v: 1 / (1 + np.exp(-v.astype(np.float64)))
    i, f, gg, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    c_new = sig(i) * np.tanh(gg.astype(np.float64)) + (sig(f) * c0 if with_state else 0)
    h_want = sig(o) * np.tanh(c_new.astype(dt).astype(np.float64))
    np.testing.assert_allclose(results[1][0].cpu().numpy(), h_want,
                               rtol=1e-6 if name == "float32" else 1e-14, atol=1e-30)


def test_an_lstm_trains_on_the_device_as_on_the_cpu():
    import tinyfin.nn.functional as F
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    y = x[:, :, 0].mean(1)[:, None].astype(np.float32)
    runs = []
    for device in ("cpu", "cuda"):
        tf.manual_seed(2)
        lstm, head = tf.nn.LSTM(3, 16, batch_first=True).to(device), tf.nn.Linear(16, 1).to(device)
        opt = tf.optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=0.3,
                           momentum=0.9)
        xs, ys = tf.tensor(x, device=device), tf.tensor(y, device=device)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            out, _ = lstm(xs)
            loss = F.mse_loss(head(out[:, -1]), ys)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs.append(losses)
    assert runs[1][-1] < 0.5 * runs[1][0]  # it learns
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-4)


# ---- nonzero and bool masks (index.cu: marks, chunk counts, coordinates) ---------------
@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 0, 2), (5, 4, 3), (2100, 3)],
                         ids=repr)  # (2100, 3): 7 chunks of 1024 marks
def test_nonzero_matches_numpy(name, shape):
    a = host_array(DTYPES[name], shape, seed=len(shape))
    if a.size and DTYPES[name] != np.bool_:
        a.reshape(-1)[::3] = 0
        if a.dtype.kind == "f":
            a.reshape(-1)[1::7] = -0.0   # zero
            a.reshape(-1)[2::11] = np.nan  # nonzero
    got = tf.tensor(a).cuda().nonzero()
    assert got.device == "cuda:0" and got.dtype == tf.int64
    np.testing.assert_array_equal(got.cpu().numpy(), np.argwhere(a))
    view = tf.tensor(a).cuda()
    if view.ndim == 2:  # strided input
        np.testing.assert_array_equal(view.t().nonzero().cpu().numpy(), np.argwhere(a.T))


def test_bool_masks_read_and_write_on_the_device_as_on_the_cpu():
    a = host_array(np.float64, (6, 5))
    mask = a > 0.2
    g = tf.tensor(a).cuda()
    m = tf.tensor(mask).cuda()
    np.testing.assert_array_equal(g[m].cpu().numpy(), a[mask])
    np.testing.assert_array_equal(tf.masked_select(g, m).cpu().numpy(), a[mask])
    rows, cols = tf.where(m)
    np.testing.assert_array_equal(rows.cpu().numpy(), np.nonzero(mask)[0])
    np.testing.assert_array_equal(cols.cpu().numpy(), np.nonzero(mask)[1])
    g[m] = -1.0
    a[mask] = -1.0
    np.testing.assert_array_equal(g.cpu().numpy(), a)
    base = cuda.memory_allocated()
    for _ in range(3):
        tf.ones(5000, device="cuda").nonzero()
    assert cuda.memory_allocated() == base  # marks, counts and rows are freed


# ---- pinned memory and non-blocking copies -------------------------------------------
def test_pinned_memory_and_non_blocking_copies_to_the_device():
    a = host_array(np.float32, (64, 33))
    t = tf.tensor(a)
    p = t.pin_memory()
    assert p.is_pinned() and not t.is_pinned() and p.device == "cpu"
    assert p.pin_memory() is p
    np.testing.assert_array_equal(p.numpy(), a)
    assert not (p * 2).is_pinned()  # ops give ordinary host memory
    np.testing.assert_array_equal((p * 2 + t).numpy(), a * 3)
    # read in place (contiguous: from offset 0 or not), or staged
    for src, want in ((p, a), (p[5:], a[5:]), (p[:, 3:7], a[:, 3:7]), (p.t(), a.T)):
        for d in (src.to("cuda", non_blocking=True), src.cuda(non_blocking=True),
                  src.to("cuda", tf.float64, non_blocking=True)):
            cuda.synchronize()
            np.testing.assert_array_equal(d.cpu().numpy(), want.astype(d.cpu().numpy().dtype))
    back = p.cuda().to("cpu", non_blocking=True)  # to the host it completes first
    np.testing.assert_array_equal(back.numpy(), a)
    with pytest.raises(RuntimeError, match=r"pin_memory: only cpu tensors can be pinned, got a "
                                           r"tensor on cuda:0"):
        p.cuda().pin_memory()
    for _ in range(3):  # a pinned source freed at once: its free waits for the copy
        d = tf.tensor(a).pin_memory().cuda(non_blocking=True)
    np.testing.assert_array_equal(d.cpu().numpy(), a)


def test_the_dataloader_pins_batches_when_cuda_is_available():
    from tinyfin.utils.data import DataLoader, TensorDataset
    x, y = host_array(np.float32, (10, 3)), np.arange(10)
    loader = DataLoader(TensorDataset(tf.tensor(x), tf.tensor(y)), batch_size=4, pin_memory=True)
    seen = []
    for xb, yb in loader:
        assert xb.is_pinned() and yb.is_pinned()
        seen.append(xb.cuda(non_blocking=True))
    cuda.synchronize()
    np.testing.assert_array_equal(np.concatenate([b.cpu().numpy() for b in seen]), x)


def test_what_the_probe_found_making_its_tensors_on_the_cpu_runs_on_the_device():
    """Second derivatives of cross_entropy with class indices, recurrent
    cells without a state, attention with a bool mask and gradcheck each
    once made a tensor on the cpu for a CUDA input."""
    import tinyfin.nn.functional as F
    nn = tf.nn
    a = host_array(np.float64, (2, 3))
    for device in ("cpu", "cuda"):
        x = tf.tensor(a, device=device).requires_grad_(True)
        t = tf.tensor(np.array([0, 2]), device=device)
        g, = tf.autograd.grad(F.cross_entropy(x, t, label_smoothing=0.1), x, create_graph=True)
        (g * g).sum().backward()
        if device == "cpu":
            want = x.grad.numpy()
    np.testing.assert_allclose(x.grad.cpu().numpy(), want, rtol=1e-12, atol=1e-15)
    assert tf.autograd.gradgradcheck(lambda v: F.cross_entropy(v, t), (x,))
    for cell in (nn.RNNCell(3, 4), nn.GRUCell(3, 4), nn.LSTMCell(3, 4)):
        out = cell.to("cuda")(tf.ones(2, 3, device="cuda"))
        assert (out[0] if isinstance(out, tuple) else out).device == "cuda:0"
    mha = nn.MultiheadAttention(8, 2).to("cuda")
    q = tf.tensor(host_array(np.float32, (5, 1, 8))).cuda()
    causal = tf.tensor(np.triu(np.ones((5, 5), bool), 1)).cuda()
    out, _ = mha(q, q, q, attn_mask=causal)
    mha_cpu = nn.MultiheadAttention(8, 2)
    mha_cpu.load_state_dict({k: v.cpu() for k, v in mha.state_dict().items()})
    want, _ = mha_cpu(q.cpu(), q.cpu(), q.cpu(), attn_mask=causal.cpu())
    np.testing.assert_allclose(out.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
