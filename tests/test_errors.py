"""Every op fed bad input: wrong shapes, wrong dtypes, out-of-range dims and
indices, wrong devices; each must raise the documented exception class with a
message that names the op and what was wrong, leave nothing half-made (the
live-tensor count is unchanged) and print nothing. Empty tensors and NaN/inf
are valid input: they must not raise."""
import gc
import inspect
import math
import re

import numpy as np
import pytest

import tinyfin as tf
from tinyfin import _C
from verify.op_kinds import UNARY_KINDS, unary_ops

F32 = tf.float32


def _t(shape, dtype=F32):
    n = int(np.prod(shape)) if shape else 1
    return tf.arange(n).to(dtype).reshape(shape) if n else tf.zeros(shape, dtype=dtype)


def _raises(exc, pattern, fn, capfd):
    """fn() raises exc matching pattern, leaks no C tensor, prints nothing."""
    gc.collect()
    before = _C.live_tensors()
    try:
        fn()
    except exc as error:  # the traceback's frames hold tensors: not kept
        message = str(error)
    else:
        pytest.fail(f"expected {exc.__name__} matching {pattern!r}")
    assert re.search(pattern, message), f"{message!r} does not match {pattern!r}"
    gc.collect()
    assert _C.live_tensors() == before, "an error path leaked C tensors"
    out, err = capfd.readouterr()
    assert out == "" and err == "", f"the C core printed: {out!r} {err!r}"


# ---- elementwise: every unary and binary op -----------------------------------------
# The op lists are the C core's tables, the kinds (FLOAT / NUM / PRED) those
# of ops.def: an op added there is tested here by its kind.
UNARY = _C.UNARY_OPS
BINARY = _C.BINARY_OPS


def _unary(name, x, **kw):
    fn = getattr(tf, name)
    if name == "clamp":
        kw.setdefault("min", 0.0)
    return fn(x, **kw)


@pytest.mark.parametrize("name", UNARY)
def test_unary_rejects_non_tensors(name, capfd):
    _raises(TypeError, rf"{name}: expected a Tensor", lambda: _unary(name, [1.0, 2.0]), capfd)


@pytest.mark.parametrize("name", unary_ops("NUM"))
def test_unary_num_ops_reject_bool(name, capfd):
    x = tf.tensor([True, False])
    _raises(TypeError, rf"{name}: expected a float32, float64 or int64 tensor, got bool",
            lambda: _unary(name, x), capfd)


def _takes_out(name):
    """Parametrized ops (leaky_relu, elu, ...) have no out=, as PyTorch's
    functional forms; clamp has one but needs a bound."""
    return "out" in inspect.signature(getattr(tf, name)).parameters


@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("clamp",)])
def test_unary_out_of_wrong_shape_and_dtype(name, capfd):
    x = _t((2, 3))
    if not _takes_out(name):
        pytest.skip("parametrized ops have no out= (PyTorch's functional form)")
    result_dtype = tf.bool if UNARY_KINDS[name] == "PRED" else F32
    bad_dtype = tf.int64
    _raises(ValueError, rf"{name}: out has shape \(3, 2\), but the result has shape \(2, 3\)",
            lambda: _unary(name, x, out=tf.empty(3, 2, dtype=result_dtype)), capfd)
    _raises(TypeError, rf"{name}: result type {result_dtype.name} can't be cast to the "
            rf"desired output type {bad_dtype.name}",
            lambda: _unary(name, x, out=tf.empty(2, 3, dtype=bad_dtype)), capfd)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_unary_accepts_empty_and_special_values(name, dtype):
    assert _unary(name, tf.zeros(0, 3, dtype=dtype)).shape == (0, 3)
    x = tf.tensor([math.nan, math.inf, -math.inf, 0.0, -0.0], dtype=dtype)
    y = _unary(name, x).numpy()  # must not raise
    # NaN propagates through every op with a float result (the predicates'
    # is bool), except nan_to_num, which is there to replace it
    if name != "nan_to_num" and y.dtype.kind == "f":
        assert math.isnan(y[0]), f"{name}(nan) = {y[0]}: NaN must propagate"


@pytest.mark.parametrize("name", BINARY)
def test_binary_shape_mismatch_names_op_and_shapes(name, capfd):
    a, b = _t((2, 3)), _t((4,))
    _raises(ValueError, rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast",
            lambda: getattr(tf, name)(a, b), capfd)


@pytest.mark.parametrize("name", BINARY)
def test_binary_out_shape_and_non_tensor_operands(name, capfd):
    a, b = _t((2, 3)), _t((2, 3))
    _raises(ValueError, rf"{name}: output with shape \(3,\) doesn't match the broadcast shape \(2, 3\)",
            lambda: getattr(tf, name)(a, b, out=tf.empty(3, dtype=tf.bool)), capfd)
    _raises(TypeError, rf"{name}: expected at least one Tensor",
            lambda: getattr(tf, name)(1.0, 2.0), capfd)
    _raises(TypeError, rf"{name}: expected a Tensor or a Python number, got str",
            lambda: getattr(tf, name)(a, "x"), capfd)


@pytest.mark.parametrize("name", ["floor_divide", "remainder"])
def test_integer_division_by_zero(name, capfd):
    a, b = tf.tensor([1, 2, 3]), tf.tensor([1, 0, 1])
    _raises(ValueError, rf"{name}: integer division by zero", lambda: getattr(tf, name)(a, b), capfd)
    _raises(ValueError, rf"{name}: integer division by zero", lambda: getattr(tf, name)(a, 0), capfd)


def test_binary_dtype_errors(capfd):
    _raises(ValueError, r"pow: integers to negative integer powers are not allowed",
            lambda: tf.tensor([2, 3]) ** tf.tensor([1, -1]), capfd)
    _raises(TypeError, r"sub: subtracting two bool tensors is not supported",
            lambda: tf.tensor([True]) - tf.tensor([False]), capfd)
    x = tf.tensor([1, 2])
    _raises(TypeError, r"add: result type float32 can't be cast to the desired output type int64",
            lambda: x.add_(1.5), capfd)
    _raises(TypeError, r"operator &: tinyfin supports it on bool tensors only",
            lambda: tf.tensor([1.0]) & tf.tensor([True]), capfd)
    _raises(OverflowError, r"add: the integer 36893488147419103232 does not fit in int64",
            lambda: x + 2 ** 65, capfd)


def test_where_errors(capfd):
    _raises(TypeError, r"where: expected a bool condition, got float32",
            lambda: tf.where(tf.ones(2), tf.ones(2), tf.zeros(2)), capfd)
    _raises(ValueError, r"where: shapes .* cannot be broadcast",
            lambda: tf.where(tf.ones(2).bool(), tf.ones(3), tf.zeros(2)), capfd)


# ---- reductions ---------------------------------------------------------------------------
REDUCE_FLOAT_ONLY = ["mean", "var", "std", "logsumexp", "norm"]


@pytest.mark.parametrize("name", _C.REDUCE_OPS)
def test_reduction_dim_out_of_range(name, capfd):
    x = _t((2, 3), tf.float64)
    _raises(IndexError, rf"{name}: dim 2 is out of range for a tensor of 2 dims",
            lambda: getattr(tf, name)(x, dim=2), capfd)
    _raises(IndexError, rf"{name}: dim -3 is out of range for a tensor of 2 dims",
            lambda: getattr(tf, name)(x, dim=-3), capfd)


@pytest.mark.parametrize("name", REDUCE_FLOAT_ONLY)
def test_reduction_requires_float(name, capfd):
    kw = {"dim": 0} if name == "logsumexp" else {}
    _raises(TypeError, rf"{name}: expected a float32 or float64 tensor, got int64",
            lambda: getattr(tf, name)(tf.tensor([1, 2]), **kw), capfd)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "argmax", "argmin"])
def test_reduction_over_empty_dim(name, capfd):
    x = tf.zeros(3, 0)
    _raises(IndexError, rf"{name}: cannot reduce over an empty dimension",
            lambda: getattr(tf, name)(x, dim=1), capfd)


def test_empty_reductions_do_not_raise():
    x = tf.zeros(3, 0)
    assert tf.sum(x, dim=1).tolist() == [0.0, 0.0, 0.0]
    assert tf.prod(x, dim=1).tolist() == [1.0, 1.0, 1.0]
    assert all(math.isnan(v) for v in tf.mean(x, dim=1).tolist())
    assert tf.all(x).item() is True and tf.any(x).item() is False


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_errors(name, capfd):
    _raises(IndexError, rf"{name}: dim 1 is out of range",
            lambda: getattr(tf, name)(tf.ones(3), dim=1), capfd)
    _raises(TypeError, rf"{name}: expected a float32 or float64 tensor, got int64",
            lambda: getattr(tf, name)(tf.tensor([1, 2]), dim=0), capfd)


# ---- linear algebra ------------------------------------------------------------------------
def test_matmul_errors(capfd):
    _raises(ValueError, re.escape("matmul: shapes (2, 3) and (4, 5) cannot be multiplied (3 != 4)"),
            lambda: tf.ones(2, 3) @ tf.ones(4, 5), capfd)
    _raises(ValueError, r"matmul: both arguments need at least 1 dimension",
            lambda: tf.matmul(tf.tensor(1.0), tf.ones(3)), capfd)
    _raises(TypeError, r"matmul: expected both operands to have the same dtype, got float32 and float64",
            lambda: tf.ones(2, 2) @ tf.ones(2, 2, dtype=tf.float64), capfd)
    _raises(ValueError, r"matmul: .*cannot be broadcast|matmul: batch",
            lambda: tf.ones(2, 3, 4) @ tf.ones(5, 4, 2), capfd)
    _raises(ValueError, r"mm:", lambda: tf.mm(tf.ones(3), tf.ones(3, 3)), capfd)
    _raises(ValueError, r"bmm:", lambda: tf.bmm(tf.ones(2, 3), tf.ones(3, 2)), capfd)
    _raises(ValueError, r"dot:", lambda: tf.dot(tf.ones(3), tf.ones(4)), capfd)


# ---- views and shape ops --------------------------------------------------------------------
def test_view_errors(capfd):
    x = _t((2, 3))
    _raises(ValueError, re.escape("reshape: shape (4, 2) is invalid for input of shape (2, 3)"),
            lambda: x.reshape(4, 2), capfd)
    _raises(ValueError, r"view: only one dimension can be -1", lambda: x.view(-1, -1), capfd)
    _raises(ValueError, r"view: shape \(6,\) is not compatible with the strides",
            lambda: x.T.view(6), capfd)
    _raises(ValueError, r"permute: got 1 dims", lambda: x.permute(0), capfd)
    _raises(ValueError, r"permute: dim 0 appears twice", lambda: x.permute(0, 0), capfd)
    _raises(IndexError, r"transpose: dim 2 is out of range", lambda: x.transpose(0, 2), capfd)
    _raises(ValueError, r"expand: the size of tensor \(2, 3\) \(3\) must match the size 4",
            lambda: x.expand(2, 4), capfd)
    _raises(IndexError, r"unsqueeze: dim 3 is out of range", lambda: x.unsqueeze(3), capfd)
    _raises(IndexError, r"squeeze: dim 2 is out of range", lambda: x.squeeze(2), capfd)
    _raises(ValueError, r"as_strided: the view reaches elements",
            lambda: tf.as_strided(x, (3, 3), (3, 1)), capfd)
    _raises(RuntimeError, r"to: device 'cuda' is not available", lambda: x.to("cuda"), capfd)


def test_shape_op_errors(capfd):
    a, b = _t((2, 3)), _t((2, 4))
    _raises(ValueError, r"cat", lambda: tf.cat([a, b], dim=0), capfd)
    _raises(TypeError, r"cat: .*float32.*int64|cat: .*int64.*float32",
            lambda: tf.cat([a, a.long()]), capfd)
    _raises(ValueError, r"cat: ", lambda: tf.cat([]), capfd)
    _raises(IndexError, r"cat: dim 2 is out of range", lambda: tf.cat([a, a], dim=2), capfd)
    _raises(ValueError, r"stack", lambda: tf.stack([a, b]), capfd)
    _raises(ValueError, r"pad: .*reflect", lambda: tf.pad(a, (3, 3), mode="reflect"), capfd)
    _raises(ValueError, r"tril", lambda: tf.tril(tf.ones(3)), capfd)
    _raises(ValueError, r"chunk", lambda: tf.chunk(a, 0), capfd)


# ---- indexing -----------------------------------------------------------------------------
def test_indexing_errors(capfd):
    x = _t((5, 3))
    _raises(IndexError, r"index 7 is out of bounds for dimension 0 with size 5",
            lambda: x[7], capfd)
    _raises(IndexError, r"index 7 is out of bounds for dimension 0 with size 5",
            lambda: x[tf.tensor([1, 7])], capfd)
    _raises(IndexError, r"too many indices", lambda: x[0, 0, 0], capfd)
    _raises(IndexError, r"", lambda: x[tf.tensor([0.5])], capfd)
    _raises(IndexError, r"mask|shape", lambda: x[tf.tensor([True, False])], capfd)
    _raises(ValueError, r"step must be greater than zero", lambda: x[::-1], capfd)
    _raises(IndexError, r"gather: index 5 is out of bounds",
            lambda: tf.gather(x, 0, tf.tensor([[5, 0, 0]])), capfd)
    _raises(TypeError, r"gather: .*int64", lambda: tf.gather(x, 0, tf.ones(1, 3)), capfd)
    _raises(IndexError, r"index_select: index 9 is out of bounds",
            lambda: tf.index_select(x, 0, tf.tensor([9])), capfd)
    before = x.numpy().copy()
    _raises(IndexError, r"out of bounds", lambda: x.__setitem__(tf.tensor([0, 9]), 1.0), capfd)
    np.testing.assert_array_equal(x.numpy(), before)  # nothing half-written


# ---- creation, conversion, device ------------------------------------------------------------
def test_creation_errors(capfd):
    _raises(ValueError, r"zeros: negative dimension", lambda: tf.zeros(2, -1), capfd)
    _raises(TypeError, r"unknown dtype", lambda: tf.zeros(2, dtype="complex64"), capfd)
    _raises(ValueError, r"arange: step must be non-zero", lambda: tf.arange(0, 3, 0), capfd)
    _raises(ValueError, r"linspace: number of steps must be non-negative",
            lambda: tf.linspace(0, 1, -1), capfd)
    _raises(ValueError, r"randint: high \(3\) must be greater than low \(5\)",
            lambda: tf.randint(5, 3, (2,)), capfd)
    _raises(TypeError, r"rand: expected a float32 or float64 dtype, got int64",
            lambda: tf.rand(2, dtype=tf.int64), capfd)
    _raises(RuntimeError, r"device 'cuda' is not available",
            lambda: tf.zeros(2, device="cuda"), capfd)
    _raises(ValueError, r"tensor: expected sequence of length 2 at dim 1 \(got 1\)",
            lambda: tf.tensor([[1, 2], [3]]), capfd)
    _raises(TypeError, r"could not infer a dtype", lambda: tf.tensor(["a"]), capfd)


def test_scalar_conversion_errors(capfd):
    x = _t((2,))
    _raises(ValueError, r"item: a Tensor with 2 elements cannot be converted to a Python scalar",
            lambda: x.item(), capfd)
    _raises(RuntimeError, r"Boolean value of Tensor with 2 elements is ambiguous",
            lambda: bool(x), capfd)
    _raises(TypeError, r"len\(\) of a 0-d tensor", lambda: len(tf.tensor(1.0)), capfd)


def test_autograd_errors(capfd):
    _raises(RuntimeError, r"only tensors of floating point dtype can require gradients",
            lambda: tf.tensor([1, 2], requires_grad=True), capfd)
    x = tf.tensor([1.0, 2.0], requires_grad=True)
    _raises(RuntimeError, r"grad can be implicitly created only for scalar outputs",
            lambda: (x * 2).backward(), capfd)
    _raises(RuntimeError, r"a leaf Variable that requires grad is being used in an in-place",
            lambda: x.add_(1.0), capfd)
    y = (x * x).exp()
    y.backward(tf.ones(2))
    _raises(RuntimeError, r"retain_graph=True", lambda: y.backward(tf.ones(2)), capfd)
    h = x * 1.0
    z = h.log()          # log saves its input h ...
    h.mul_(2.0)          # ... which then changes in place
    _raises(RuntimeError, r"modified by an inplace operation",
            lambda: z.backward(tf.ones(2)), capfd)


def test_writes_into_an_expanded_tensor_are_refused(capfd):
    """Several elements of an expanded tensor share one memory location:
    in-place ops, out= and copy_ into it raise (as PyTorch does) instead of
    racing; the tensor is left as it was."""
    base = tf.tensor([[1.0, 2.0, 3.0]])
    x = base.expand(4, 3)
    for name, write in [("add", lambda: x.add_(1)), ("exp", lambda: x.exp_()),
                        ("mul", lambda: tf.mul(tf.ones(4, 3), 2, out=x)),
                        ("copy_", lambda: x.copy_(tf.ones(4, 3)))]:
        _raises(ValueError, rf"{name}: more than one element of the written-to tensor "
                r"refers to a single memory location \(shape \(4, 3\), strides \(0, 1\)", write, capfd)
    assert base.tolist() == [[1.0, 2.0, 3.0]]
    y = base.expand(1, 3)          # stride 0 on a size-1 dim: one element each
    y.add_(1)
    assert base.tolist() == [[2.0, 3.0, 4.0]]


def test_a_requested_dtype_is_never_silently_widened(capfd):
    """tensor() widens float16/int32 *data* (documented); a dtype asked for
    by name must exist exactly."""
    _raises(TypeError, r"to: unknown dtype .*float16.*expected one of tinyfin.float32",
            lambda: tf.ones(2).to(np.float16), capfd)
    _raises(TypeError, r"zeros: unknown dtype .*int32", lambda: tf.zeros(2, dtype=np.int32), capfd)
    assert tf.tensor(np.ones(2, np.float16)).dtype is tf.float32
    assert tf.ones(2).to(np.float64).dtype is tf.float64
