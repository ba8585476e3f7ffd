"""A Tensor subclass (nn.Parameter) works everywhere a Tensor does: every
differentiable op in verify's database, given its float inputs as
Parameters, gives the same values and the same .grad as with plain Tensors.
The ops' fast paths test `x.__class__ is Tensor`; a subclass must take the
full path, not be mistaken for a scalar (binary ops did that: `x * p` left
p.grad None)."""
import numpy as np
import pytest

import tinyfin as tf
from tinyfin.nn import Parameter
from verify import opdb
from verify.checks.common import in_layout

DIFFERENTIABLE = [op for op in opdb.all_ops() if op.differentiable and "float64" in op.dtypes]


def _first_grad_sample(op):
    rng = np.random.default_rng(0)
    for s in op.samples("float64", rng):
        arrs = [np.asarray(a) for a in s.inputs]
        if s.grad and any(a.dtype.kind == "f" and a.size for a in arrs) and all(
                a.size <= 200 for a in arrs):
            return s
    return None


def _run(op, s, make):
    tensors = []
    for i, a in enumerate(s.inputs):
        _, t = in_layout(np.asarray(a), s.layout_at(i))
        tensors.append(make(t) if np.asarray(a).dtype.kind == "f" else t)
    out = op.call(*tensors, *s.args, **s.kwargs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,))
            if o.dtype.is_floating_point and o.requires_grad]
    if outs:
        total = sum((o * tf.ones_like(o) * (k + 1)).sum() for k, o in enumerate(outs))
        total.backward()
    values = [o.detach().numpy().copy() for o in outs]
    grads = [None if t.grad is None else t.grad.numpy().copy()
             for t in tensors if t.requires_grad]
    return values, grads


@pytest.mark.parametrize("op", DIFFERENTIABLE, ids=lambda op: op.id)
def test_parameter_inputs_get_the_same_values_and_grads(op):
    s = _first_grad_sample(op)
    if s is None:
        pytest.skip(f"{op.id}: no small float64 sample with a gradient")
    plain_v, plain_g = _run(op, s, lambda t: t.detach().clone().requires_grad_())
    sub_v, sub_g = _run(op, s, lambda t: Parameter(t.detach().clone()))
    assert len(plain_v) == len(sub_v)
    for a, b in zip(plain_v, sub_v):
        np.testing.assert_array_equal(a, b)
    assert [g is None for g in plain_g] == [g is None for g in sub_g], \
        f"{op.id}: a Parameter input got no gradient where a Tensor did"
    for a, b in zip(plain_g, sub_g):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_scalar_times_parameter_and_parameter_times_tensor():
    # the case of the issue, each operand order and the in-place forms
    x = tf.tensor([1.0, 2.0, 3.0])
    p = Parameter(tf.tensor([4.0, 5.0, 6.0]))
    (x * p).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [1.0, 2.0, 3.0])
    p.grad = None
    (p * x + 2.0 * p - p / 2.0).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [2.5, 3.5, 4.5])


def test_inplace_write_to_a_saved_parameter_is_detected():
    # the version check covers a saved subclass too (it did not: a Parameter
    # changed in place after being saved gave a silently wrong gradient)
    p = Parameter(tf.tensor([1.0, 2.0]))
    y = (p * p).sum()
    with tf.no_grad():
        p.mul_(3.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_parameter_shares_storage_and_results_are_plain_tensors():
    data = tf.zeros(3)
    p = Parameter(data)
    with tf.no_grad():
        p.add_(1.0)
    np.testing.assert_array_equal(data.numpy(), [1.0, 1.0, 1.0])
    assert type(p * 2.0) is tf.Tensor and type(p.detach()) is tf.Tensor
    assert Parameter(tf.zeros(2), requires_grad=False).requires_grad is False
    assert repr(p).startswith("Parameter containing:\ntensor(")
