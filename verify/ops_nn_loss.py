"""OpInfo entries of the losses of nn.functional (tinyfin/nn/ops/loss.py).

The references are plain NumPy float64, written from the definitions
(PyTorch's documentation of each loss), row by row where a row is the unit,
independent of the fused kernels: log-softmax by max-shift and a log of the
sum, BCE with logits through np.logaddexp, xlogy by its definition.

Weights (cross_entropy's, nll_loss's, the BCEs' and the regression losses'
elementwise weight) are not differentiated by gradcheck: they travel in the
sample's kwargs as `Const` arrays, which `call` turns into tensors of the
sample's dtype and `ref` into float64 arrays. Class-index targets are int64
inputs (never differentiated); probability targets, regression targets and
BCE targets are float inputs, differentiated as in PyTorch.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

import tinyfin as tf
import tinyfin.nn.functional as F

from .opdb import ErrorInput, OpInfo, Sample, Tol, quiet_numpy

TOL = {"float32": Tol(rtol=2e-6, atol=1e-7), "float64": Tol(rtol=1e-12, atol=1e-14)}
# the fused kernels compute in float64 and round once
FUSED_TOL = {"float32": Tol(rtol=1e-6, atol=1e-7), "float64": Tol(rtol=1e-13, atol=1e-15)}
REDUCTIONS = ("none", "mean", "sum")


class Const:
    """A non-differentiated tensor argument (a weight): a tensor of the
    sample's dtype on its device for the op, a float64 array for the
    reference."""

    def __init__(self, arr: np.ndarray):
        self.arr = np.asarray(arr)

    def __repr__(self) -> str:
        return f"Const{self.arr.shape}"


def _op_kwargs(kwargs: dict, like) -> dict:
    return {k: (tf.tensor(v.arr, dtype=like.dtype, device=like.device)
                if isinstance(v, Const) else v)
            for k, v in kwargs.items()}


def _ref_kwargs(kwargs: dict) -> dict:
    return {k: (v.arr.astype(np.float64) if isinstance(v, Const) else v)
            for k, v in kwargs.items()}


def _caller(f):
    return lambda x, *rest, **kw: f(x, *rest, **_op_kwargs(kw, x))


def _ref(f):
    g = quiet_numpy(f)
    return lambda *a, **kw: g(*a, **_ref_kwargs(kw))


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(np.sum(loss))
    return np.asarray(np.mean(loss) if loss.size else np.nan)


# ---- references ------------------------------------------------------------------------
def _rows(x: np.ndarray):
    """x with the class dim last (dim 1, or 0 of a 1-D x), as (rows, C), and
    the row shape."""
    cdim = 0 if x.ndim == 1 else 1
    xm = np.moveaxis(x, cdim, -1)
    return xm.reshape(-1, x.shape[cdim]), xm.shape[:-1]


def _log_softmax_row(row: np.ndarray) -> np.ndarray:
    m = np.max(row)
    return row - m - np.log(np.sum(np.exp(row - m)))


def ref_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean",
                      label_smoothing=0.0):
    xr, row_shape = _rows(x)
    C = xr.shape[1]
    w = np.ones(C) if weight is None else weight
    eps = label_smoothing
    losses = np.zeros(xr.shape[0])
    den = 0.0
    if target.dtype.kind == "f":
        tr, _ = _rows(target)
        for i in range(xr.shape[0]):
            lp = _log_softmax_row(xr[i])
            losses[i] = -sum(w[c] * ((1 - eps) * tr[i, c] + eps / C) * lp[c] for c in range(C))
        den = float(xr.shape[0])
    else:
        t = target.reshape(-1)
        for i in range(xr.shape[0]):
            y = int(t[i])
            if y == ignore_index:
                continue
            lp = _log_softmax_row(xr[i])
            nll = -w[y] * lp[y]
            smooth = -sum(w[c] * lp[c] for c in range(C))
            losses[i] = (1 - eps) * nll + eps / C * smooth
            den += w[y]
    if reduction == "none":
        return losses.reshape(row_shape)
    if reduction == "sum":
        return np.asarray(losses.sum())
    return np.asarray(losses.sum() / den if den else np.nan)


def ref_nll_loss(x, target, weight=None, ignore_index=-100, reduction="mean"):
    xr, row_shape = _rows(x)
    w = np.ones(xr.shape[1]) if weight is None else weight
    t = target.reshape(-1)
    losses = np.zeros(xr.shape[0])
    den = 0.0
    for i in range(xr.shape[0]):
        y = int(t[i])
        if y != ignore_index:
            losses[i] = -w[y] * xr[i, y]
            den += w[y]
    if reduction == "none":
        return losses.reshape(row_shape)
    if reduction == "sum":
        return np.asarray(losses.sum())
    return np.asarray(losses.sum() / den if den else np.nan)


def ref_bce(x, y, weight=None, reduction="mean"):
    # in PyTorch's order of operations, which fixes the sign of a zero loss
    loss = (y - 1) * np.maximum(np.log(1 - x), -100) - y * np.maximum(np.log(x), -100)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def ref_bce_logits(x, y, weight=None, reduction="mean", pos_weight=None):
    # log sigmoid(x) = -log(1 + e^-x), log(1 - sigmoid(x)) = -log(1 + e^x)
    pw = 1.0 if pos_weight is None else pos_weight
    loss = pw * y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def ref_kl_div(x, t, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        with np.errstate(all="ignore"):
            loss = np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t))) - t * x
    if reduction == "batchmean":
        return np.asarray(loss.sum() / x.shape[0] if x.ndim else loss.sum())
    return _reduce(loss, reduction)


def _weighted(loss, weight, reduction, by_weight=True):
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and by_weight:
        return np.asarray(loss.sum() / weight.sum())
    return _reduce(loss, reduction)


def ref_mse(x, y, reduction="mean", weight=None):
    return _weighted((x - y) ** 2, weight, reduction)


def ref_l1(x, y, reduction="mean", weight=None):
    return _weighted(np.abs(x - y), weight, reduction)


def ref_huber(x, y, reduction="mean", delta=1.0, weight=None):
    d = np.abs(x - y)
    loss = np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _weighted(loss, weight, reduction, by_weight=False)


def ref_smooth_l1(x, y, reduction="mean", beta=1.0):
    d = np.abs(x - y)
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


# ---- samples ---------------------------------------------------------------------------------
def _f(dtype, rng, shape, lo=-3.0, hi=3.0):
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def _probs(dtype, rng, shape, cdim):
    p = rng.uniform(0.05, 1.0, size=shape)
    return (p / p.sum(axis=cdim, keepdims=True)).astype(dtype)


def _classes(rng, shape, C, ignore=None, every=3):
    t = rng.integers(0, C, size=shape).astype(np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[::every] = ignore
    return t


def _small(*arrays) -> bool:
    return sum(a.size for a in arrays) <= 40


EXTREME_LOGITS = [1e4, -1e4, 1e30, -1e30, 0.5, -2.0, 3.0, 1e4]


def ce_samples(dtype, rng):
    out = []
    C = 5
    w = Const(rng.uniform(0.3, 2.0, C))
    for red in REDUCTIONS:
        x, t = _f(dtype, rng, (4, C)), _classes(rng, (4,), C)
        out.append(Sample((x, t), kwargs=dict(reduction=red), desc=f"(N, C) {red}"))
        x, t = _f(dtype, rng, (4, C)), _classes(rng, (4,), C, ignore=-100)
        out.append(Sample((x, t), kwargs=dict(reduction=red, weight=w),
                          desc=f"weight, ignored -100, {red}"))
        x, t = _f(dtype, rng, (3, C)), _classes(rng, (3,), C, ignore=2, every=2)
        out.append(Sample((x, t), kwargs=dict(reduction=red, ignore_index=2, label_smoothing=0.2),
                          desc=f"ignore_index=2, label_smoothing, {red}"))
        x, t = _f(dtype, rng, (3, C)), _classes(rng, (3,), C, ignore=-100, every=2)
        out.append(Sample((x, t), kwargs=dict(reduction=red, weight=w, label_smoothing=0.3),
                          desc=f"weight + label_smoothing + ignored, {red}"))
        x, t = _f(dtype, rng, (2, 3, 2, 2)), _classes(rng, (2, 2, 2), 3, ignore=-100, every=3)
        out.append(Sample((x, t), kwargs=dict(reduction=red), desc=f"(N, C, d1, d2) {red}"))
        x = _f(dtype, rng, (2, 3, 2, 2))
        t = _classes(rng, (2, 2, 2), 3)
        out.append(Sample((x, t), kwargs=dict(reduction=red, weight=Const([0.5, 2.0, 1.0]),
                                              label_smoothing=0.1),
                          desc=f"(N, C, d1, d2) weight + smoothing {red}"))
        x = _f(dtype, rng, (C,))
        out.append(Sample((x, np.array(3, np.int64)), kwargs=dict(reduction=red),
                          desc=f"(C,) input, 0-d target {red}"))
        x, p = _f(dtype, rng, (3, 4)), _probs(dtype, rng, (3, 4), 1)
        out.append(Sample((x, p), kwargs=dict(reduction=red), desc=f"probability targets {red}"))
        x, p = _f(dtype, rng, (2, 3, 2)), _probs(dtype, rng, (2, 3, 2), 1)
        out.append(Sample((x, p), kwargs=dict(reduction=red, weight=Const([0.5, 2.0, 1.0]),
                                              label_smoothing=0.25),
                          desc=f"(N, C, d) probabilities + weight + smoothing {red}"))
        out.append(Sample((_f(dtype, rng, (0, C)), np.zeros((0,), np.int64)),
                          kwargs=dict(reduction=red), desc=f"size-0 batch {red}", grad=False))
    out += [
        Sample((_f(dtype, rng, (4, C)), _classes(rng, (4,), C)), layout="transposed",
               desc="transposed logits"),
        Sample((_f(dtype, rng, (4, C)), _probs(dtype, rng, (4, C), 1)), layout="strided",
               kwargs=dict(label_smoothing=0.1), desc="strided logits and probabilities"),
        Sample((_f(dtype, rng, (2, 3, 4)), _classes(rng, (2, 4), 3)), layout="flipped",
               desc="flipped (negative strides)"),
        Sample((_f(dtype, rng, (3, C)), np.full((3,), -100, np.int64)),
               desc="every target ignored: mean is nan", grad=False),
        Sample((_f(dtype, rng, (3, C)), np.full((3,), -100, np.int64)),
               kwargs=dict(reduction="sum"), desc="every target ignored: sum is 0"),
        Sample((np.array([EXTREME_LOGITS, EXTREME_LOGITS[::-1]], dtype),
                np.array([1, 3], np.int64)), kwargs=dict(reduction="none"),
               desc="extreme logits +-1e4, +-1e30", grad=False),
        Sample((_f(dtype, rng, (64, 10), -8, 8), _classes(rng, (64,), 10, ignore=-100, every=7)),
               kwargs=dict(weight=Const(rng.uniform(0.5, 2.0, 10)), label_smoothing=0.05),
               desc="(64, 10) weight + smoothing", grad=False),
    ]
    return out


def ce_large(dtype, rng):
    # past the 2048-row reduction block and the parallel grain
    n, C = 5000, 13
    x = _f(dtype, rng, (n, C), -10, 10)
    return [Sample((x, _classes(rng, (n,), C, ignore=-100, every=11)),
                   kwargs=dict(weight=Const(rng.uniform(0.5, 2.0, C))), desc="(5000, 13) mean",
                   grad=False),
            Sample((x, _classes(rng, (n,), C)), kwargs=dict(reduction="none"),
                   layout="transposed", desc="(5000, 13) none, transposed", grad=False),
            Sample((_f(dtype, rng, (40, 7, 30, 10)), _probs(dtype, rng, (40, 7, 30, 10), 1)),
                   kwargs=dict(reduction="sum", label_smoothing=0.1),
                   desc="(40, 7, 30, 10) probabilities sum", grad=False)]


def nll_samples(dtype, rng):
    out = []
    C = 4
    w = Const(rng.uniform(0.3, 2.0, C))
    for red in REDUCTIONS:
        out += [
            Sample((_f(dtype, rng, (5, C)), _classes(rng, (5,), C)), kwargs=dict(reduction=red),
                   desc=f"(N, C) {red}"),
            Sample((_f(dtype, rng, (5, C)), _classes(rng, (5,), C, ignore=-100)),
                   kwargs=dict(reduction=red, weight=w), desc=f"weight + ignored {red}"),
            Sample((_f(dtype, rng, (5, C)), _classes(rng, (5,), C, ignore=1, every=2)),
                   kwargs=dict(reduction=red, ignore_index=1), desc=f"ignore_index=1 {red}"),
            Sample((_f(dtype, rng, (2, 3, 2, 2)), _classes(rng, (2, 2, 2), 3, ignore=-100)),
                   kwargs=dict(reduction=red, weight=Const([1.0, 0.5, 2.0])),
                   desc=f"(N, C, d1, d2) weight {red}"),
            Sample((_f(dtype, rng, (C,)), np.array(2, np.int64)), kwargs=dict(reduction=red),
                   desc=f"(C,) input {red}"),
            Sample((_f(dtype, rng, (0, C)), np.zeros((0,), np.int64)), kwargs=dict(reduction=red),
                   desc=f"size-0 batch {red}", grad=False),
        ]
    out += [Sample((_f(dtype, rng, (5, C)), _classes(rng, (5,), C)), layout="transposed",
                   desc="transposed"),
            Sample((_f(dtype, rng, (3, C)), np.full((3,), -100, np.int64)),
                   desc="every target ignored: nan", grad=False)]
    return out


def _bce_inputs(dtype, rng, shape):
    return rng.uniform(0.02, 0.98, shape).astype(dtype), rng.uniform(0, 1, shape).astype(dtype)


def bce_samples(dtype, rng):
    out = []
    for red in REDUCTIONS:
        x, y = _bce_inputs(dtype, rng, (3, 4))
        out.append(Sample((x, y), kwargs=dict(reduction=red), desc=f"{red}"))
        x, y = _bce_inputs(dtype, rng, (3, 4))
        out.append(Sample((x, y), kwargs=dict(reduction=red, weight=Const(rng.uniform(0.5, 2, (3, 4)))),
                          desc=f"elementwise weight {red}"))
        x, y = _bce_inputs(dtype, rng, (2, 3, 2))
        out.append(Sample((x, y), kwargs=dict(reduction=red, weight=Const(rng.uniform(0.5, 2, (2,)))),
                          desc=f"broadcast weight {red}"))
        out.append(Sample(_bce_inputs(dtype, rng, (0, 3)), kwargs=dict(reduction=red),
                          desc=f"size-0 {red}", grad=False))
    x, y = _bce_inputs(dtype, rng, (3, 4))
    out += [Sample((x, y), layout="transposed", desc="transposed"),
            Sample(_bce_inputs(dtype, rng, (2, 6)), layout="strided", desc="strided"),
            Sample((np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5], dtype),
                    np.array([0.0, 1.0, 1.0, 0.0, 0.0, 0.5], dtype)), kwargs=dict(reduction="none"),
                   desc="inputs 0 and 1: logs clamped at -100", grad=False),
            Sample((np.array([0.3], dtype), np.array([0.7], dtype)), desc="1 element")]
    return out


def bce_logits_samples(dtype, rng):
    out = []
    for red in REDUCTIONS:
        x, y = _f(dtype, rng, (3, 4), -4, 4), rng.uniform(0, 1, (3, 4)).astype(dtype)
        out.append(Sample((x, y), kwargs=dict(reduction=red), desc=f"{red}"))
        x, y = _f(dtype, rng, (3, 4), -4, 4), (rng.uniform(0, 1, (3, 4)) < 0.5).astype(dtype)
        out.append(Sample((x, y), kwargs=dict(reduction=red, pos_weight=Const(rng.uniform(0.5, 3, 4))),
                          desc=f"pos_weight over the class dim {red}"))
        x, y = _f(dtype, rng, (2, 3, 4), -4, 4), rng.uniform(0, 1, (2, 3, 4)).astype(dtype)
        out.append(Sample((x, y), kwargs=dict(reduction=red, weight=Const(rng.uniform(0.5, 2, (3, 1))),
                                              pos_weight=Const(rng.uniform(0.5, 3, 4))),
                          desc=f"weight (3, 1) + pos_weight {red}"))
        out.append(Sample((_f(dtype, rng, (0, 4)), np.zeros((0, 4), dtype)),
                          kwargs=dict(reduction=red), desc=f"size-0 {red}", grad=False))
    x, y = _f(dtype, rng, (3, 5), -4, 4), rng.uniform(0, 1, (3, 5)).astype(dtype)
    ext = np.array([1e4, -1e4, 1e30, -1e30, 0.0, 40.0, -40.0, 2.5], dtype)
    out += [Sample((x, y), layout="transposed", desc="transposed"),
            Sample((x, y), layout="strided", kwargs=dict(weight=Const(rng.uniform(0.5, 2, 5))),
                   desc="strided + weight"),
            Sample((np.array(1.5, dtype), np.array(0.25, dtype)), desc="0-d"),
            Sample((ext, np.array([0, 1, 0.3, 0.7, 1, 0, 1, 0.5], dtype)),
                   kwargs=dict(reduction="none", pos_weight=Const(np.full(8, 2.0))),
                   desc="extreme logits +-1e4, +-1e30 with pos_weight", grad=False),
            Sample((ext, np.array([0, 1, 0.3, 0.7, 1, 0, 1, 0.5], dtype)),
                   kwargs=dict(reduction="sum"), desc="extreme logits, sum", grad=False)]
    return out


def bce_logits_large(dtype, rng):
    x, y = _f(dtype, rng, (300, 130), -20, 20), rng.uniform(0, 1, (300, 130)).astype(dtype)
    return [Sample((x, y), kwargs=dict(pos_weight=Const(rng.uniform(0.5, 3, 130))),
                   desc="(300, 130) mean, pos_weight", grad=False),
            Sample((x, y), kwargs=dict(reduction="none", weight=Const(rng.uniform(0.5, 2, (300, 1)))),
                   layout="transposed", desc="(300, 130) none transposed", grad=False)]


def kl_samples(dtype, rng):
    out = []
    for red in REDUCTIONS + ("batchmean",):
        lp = np.log(_probs("float64", rng, (3, 4), 1)).astype(dtype)
        t = _probs(dtype, rng, (3, 4), 1)
        out.append(Sample((lp, t), kwargs=dict(reduction=red), desc=f"{red}"))
        t = np.log(_probs("float64", rng, (3, 4), 1)).astype(dtype)
        out.append(Sample((lp, t), kwargs=dict(reduction=red, log_target=True),
                          desc=f"log_target {red}"))
        out.append(Sample((np.zeros((0, 4), dtype), np.zeros((0, 4), dtype)),
                          kwargs=dict(reduction=red), desc=f"size-0 {red}", grad=False))
    lp = np.log(_probs("float64", rng, (3, 4), 1)).astype(dtype)
    t = _probs(dtype, rng, (3, 4), 1)
    t[0, 1] = 0
    out += [Sample((lp, t), kwargs=dict(reduction="sum"), desc="a zero target", grad=False),
            Sample((lp, _probs(dtype, rng, (3, 4), 1)), layout="transposed", desc="transposed"),
            Sample((lp, _probs(dtype, rng, (1, 4), 1)), kwargs=dict(reduction="sum"),
                   desc="target broadcast"),
            Sample((np.array(-0.5, dtype), np.array(0.3, dtype)), kwargs=dict(reduction="batchmean"),
                   desc="0-d batchmean")]
    return out


def _regression_samples(extra_kwargs, weight=True):
    def gen(dtype, rng):
        out = []
        for red in REDUCTIONS:
            for kw in extra_kwargs:
                out.append(Sample((_f(dtype, rng, (3, 4)), _f(dtype, rng, (3, 4))),
                                  kwargs=dict(reduction=red, **kw), desc=f"{kw} {red}"))
            if weight:
                out.append(Sample((_f(dtype, rng, (3, 4)), _f(dtype, rng, (3, 4))),
                                  kwargs=dict(reduction=red, weight=Const(rng.uniform(0.5, 2, (3, 4)))),
                                  desc=f"weight {red}"))
            out.append(Sample((_f(dtype, rng, (0, 4)), _f(dtype, rng, (0, 4))),
                              kwargs=dict(reduction=red), desc=f"size-0 {red}", grad=False))
        out += [Sample((_f(dtype, rng, (3, 4)), _f(dtype, rng, (3, 4))), layout="transposed",
                       desc="transposed"),
                Sample((_f(dtype, rng, (2, 5)), _f(dtype, rng, (2, 5))), layout="strided",
                       desc="strided"),
                Sample((_f(dtype, rng, ()), _f(dtype, rng, ())), desc="0-d"),
                Sample((_f(dtype, rng, (300, 130)), _f(dtype, rng, (300, 130))),
                       desc="large", grad=False)]
        return out
    return gen


def _broadcast_warns(call):
    def f():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            call()
    return f


def _quiet(call):
    """call with its (expected) broadcasting warning silenced."""
    def f():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    return f


# ---- errors ------------------------------------------------------------------------------
def _x(*shape, dtype=tf.float32):
    return tf.zeros(*shape, dtype=dtype)


def _i(*values):
    return tf.tensor(list(values), dtype=tf.int64)


def ce_errors():
    ce = F.cross_entropy
    return [
        ErrorInput("class index = C", lambda: ce(_x(2, 5), _i(1, 5)), IndexError,
                   r"cross_entropy: target 5 is out of bounds for 5 classes"),
        ErrorInput("negative class index", lambda: ce(_x(2, 5), _i(-1, 0)), IndexError,
                   r"cross_entropy: target -1 is out of bounds for 5 classes"),
        ErrorInput("out of range with a custom ignore_index",
                   lambda: ce(_x(2, 5), _i(-100, 0), ignore_index=3), IndexError,
                   r"target -100 is out of bounds .*ignore_index 3"),
        ErrorInput("(N, C, d) index out of range", lambda: ce(_x(2, 3, 4), tf.full((2, 4), 7, dtype=tf.int64)),
                   IndexError, r"cross_entropy: target 7 is out of bounds for 3 classes"),
        ErrorInput("target of wrong shape", lambda: ce(_x(2, 5), _i(1, 2, 3)), ValueError,
                   r"cross_entropy: class-index target of shape \(3,\) does not fit the input "
                   r"of shape \(2, 5\) \(expected \(2,\)"),
        ErrorInput("probability target of wrong shape", lambda: ce(_x(2, 5), _x(2, 4)), ValueError,
                   r"cross_entropy: class-probability target of shape \(2, 4\) must have the "
                   r"input's shape \(2, 5\)"),
        ErrorInput("probability target of another dtype",
                   lambda: ce(_x(2, 5), _x(2, 5, dtype=tf.float64)), TypeError,
                   r"cross_entropy: class-probability targets must have the input's dtype"),
        ErrorInput("bool target", lambda: ce(_x(2, 5), tf.zeros(2, dtype=tf.bool)), TypeError,
                   r"cross_entropy: expected class-index targets of dtype int64"),
        ErrorInput("weight of wrong length", lambda: ce(_x(2, 5), _i(1, 2), weight=_x(3)),
                   ValueError, r"cross_entropy: weight of shape \(3,\) must be 1-D with one entry "
                               r"per class \(5\)"),
        ErrorInput("int64 logits", lambda: ce(_x(2, 5, dtype=tf.int64), _i(1, 2)), TypeError,
                   r"cross_entropy: expected float32 or float64 input, got int64"),
        ErrorInput("0-d input", lambda: ce(_x(), _i(1)), ValueError,
                   r"cross_entropy: expected an input of shape \(C,\), \(N, C\)"),
        ErrorInput("bad reduction", lambda: ce(_x(2, 5), _i(1, 2), reduction="avg"), ValueError,
                   r"cross_entropy: 'avg' is not a valid value for reduction"),
        ErrorInput("label_smoothing > 1", lambda: ce(_x(2, 5), _i(1, 2), label_smoothing=1.5),
                   ValueError, r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"),
        ErrorInput("legacy size_average", lambda: ce(_x(2, 5), _i(1, 2), size_average=True),
                   TypeError, r"cross_entropy: the legacy size_average and reduce arguments"),
        ErrorInput("list input", lambda: ce([[0.0, 1.0]], _i(1)), TypeError,
                   r"cross_entropy: expected a Tensor as input"),
    ]


def nll_errors():
    nll = F.nll_loss
    return [
        ErrorInput("class index = C", lambda: nll(_x(2, 4), _i(0, 4)), IndexError,
                   r"nll_loss: target 4 is out of bounds for 4 classes"),
        ErrorInput("negative class index", lambda: nll(_x(2, 4), _i(-3, 0)), IndexError,
                   r"nll_loss: target -3 is out of bounds for 4 classes"),
        ErrorInput("float target", lambda: nll(_x(2, 4), _x(2)), TypeError,
                   r"nll_loss: expected class-index targets of dtype int64, got float32"),
        ErrorInput("target of wrong shape", lambda: nll(_x(2, 4), _i(0, 1, 2)), ValueError,
                   r"nll_loss: class-index target of shape \(3,\) does not fit the input of shape \(2, 4\)"),
        ErrorInput("weight of wrong length", lambda: nll(_x(2, 4), _i(0, 1), weight=_x(5)),
                   ValueError, r"nll_loss: weight of shape \(5,\) must be 1-D with one entry per "
                               r"class \(4\)"),
        ErrorInput("bad reduction", lambda: nll(_x(2, 4), _i(0, 1), reduction="batchmean"),
                   ValueError, r"nll_loss: 'batchmean' is not a valid value for reduction"),
    ]


def bce_errors():
    b = F.binary_cross_entropy
    return [
        ErrorInput("input above 1", lambda: b(tf.tensor([0.5, 1.5]), tf.tensor([0.0, 1.0])),
                   ValueError, r"binary_cross_entropy: all elements of input should be between "
                               r"0 and 1, got 1.5 \(input of shape \(2,\)\)"),
        ErrorInput("negative input", lambda: b(tf.tensor([-0.1]), tf.tensor([0.0])), ValueError,
                   r"binary_cross_entropy: all elements of input should be between 0 and 1, got -0.1"),
        ErrorInput("NaN input", lambda: b(tf.tensor([float("nan")]), tf.tensor([0.0])), ValueError,
                   r"binary_cross_entropy: all elements of input should be between 0 and 1, got nan"),
        ErrorInput("target of another size", lambda: b(_x(2, 3), _x(3)), ValueError,
                   r"binary_cross_entropy: using a target size \(\(3,\)\) that is different to "
                   r"the input size \(\(2, 3\)\)"),
        ErrorInput("weight not broadcastable", lambda: b(_x(2, 3), _x(2, 3), weight=_x(2)),
                   ValueError, r"binary_cross_entropy: weight of shape \(2,\) cannot be broadcast "
                               r"to the input's shape \(2, 3\)"),
    ]


def bce_logits_errors():
    b = F.binary_cross_entropy_with_logits
    return [
        ErrorInput("target of another size", lambda: b(_x(2, 3), _x(2, 4)), ValueError,
                   r"binary_cross_entropy_with_logits: target size \(\(2, 4\)\) must be the same "
                   r"as input size \(\(2, 3\)\)"),
        ErrorInput("pos_weight not broadcastable", lambda: b(_x(2, 4), _x(2, 4), pos_weight=_x(3)),
                   ValueError, r"binary_cross_entropy_with_logits: pos_weight of shape \(3,\) "
                               r"cannot be broadcast to the input's shape \(2, 4\)"),
        ErrorInput("weight not broadcastable", lambda: b(_x(2, 4), _x(2, 4), weight=_x(2, 3)),
                   ValueError, r"binary_cross_entropy_with_logits: weight of shape \(2, 3\) "
                               r"cannot be broadcast"),
        ErrorInput("weight of another dtype",
                   lambda: b(_x(2, 4), _x(2, 4), weight=_x(4, dtype=tf.float64)), TypeError,
                   r"binary_cross_entropy_with_logits: weight must have the input's dtype"),
        ErrorInput("target of another dtype", lambda: b(_x(2, 4), _x(2, 4, dtype=tf.float64)),
                   TypeError, r"binary_cross_entropy_with_logits: target must have the input's dtype"),
        ErrorInput("int64 input", lambda: b(_x(2, dtype=tf.int64), _x(2, dtype=tf.int64)),
                   TypeError, r"binary_cross_entropy_with_logits: expected float32 or float64 input"),
        ErrorInput("bad reduction", lambda: b(_x(2), _x(2), reduction="mea"), ValueError,
                   r"binary_cross_entropy_with_logits: 'mea' is not a valid value for reduction"),
    ]


def _regression_errors(name, f, extra=()):
    return lambda: [
        ErrorInput("bad reduction", lambda: f(_x(2), _x(2), reduction="max"), ValueError,
                   rf"{name}: 'max' is not a valid value for reduction"),
        ErrorInput("shapes that do not broadcast", _quiet(lambda: f(_x(2, 3), _x(4))), ValueError,
                   r"cannot broadcast|broadcast"),
        ErrorInput("different shapes warn", _broadcast_warns(lambda: f(_x(2, 3), _x(3))),
                   UserWarning, rf"{name}: using a target size \(\(3,\)\) that is different to "
                                r"the input size \(\(2, 3\)\)"),
        ErrorInput("list target", lambda: f(_x(2), [1.0, 2.0]), TypeError,
                   rf"{name}: expected a Tensor as target"),
        *extra]


def kl_errors():
    return [ErrorInput("bad reduction", lambda: F.kl_div(_x(2), _x(2), reduction="avg"), ValueError,
                       r"kl_div: 'avg' is not a valid value for reduction \(expected one of 'none', "
                       r"'mean', 'sum', 'batchmean'\)"),
            ErrorInput("'mean' warns", _broadcast_warns(lambda: F.kl_div(_x(2), _x(2))),
                       UserWarning, r"kl_div: reduction 'mean' divides the total loss by both")]


def _silenced(f):
    """f without kl_div's warning about reduction='mean' (PyTorch's; the
    errors check sees it)."""
    @functools.wraps(f)
    def g(*a, **k):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"kl_div: reduction 'mean'")
            return f(*a, **k)
    return g


def _entry(name, f, ref, samples, errors, tol=TOL, gradgrad=True, large=None, nondiff="",
           kernels=()):
    return OpInfo(f"nn.functional.{name}", _caller(f), _ref(ref), "loss", samples=samples,
                  errors=errors, differentiable=True, gradgrad=gradgrad, tol=dict(tol),
                  large=large, nondiff=nondiff, kernels=kernels)


ENTRIES = [
    _entry("cross_entropy", F.cross_entropy, ref_cross_entropy, ce_samples, ce_errors,
           tol=FUSED_TOL, large=ce_large, kernels=("cross_entropy",)),
    _entry("nll_loss", F.nll_loss, ref_nll_loss, nll_samples, nll_errors),
    _entry("binary_cross_entropy", F.binary_cross_entropy, ref_bce, bce_samples, bce_errors),
    _entry("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
           ref_bce_logits, bce_logits_samples, bce_logits_errors, tol=FUSED_TOL,
           large=bce_logits_large, kernels=("bce_with_logits",)),
    _entry("kl_div", _silenced(F.kl_div), ref_kl_div, kl_samples, kl_errors),
    _entry("mse_loss", F.mse_loss, ref_mse, _regression_samples([{}]),
           _regression_errors("mse_loss", F.mse_loss)),
    _entry("l1_loss", F.l1_loss, ref_l1, _regression_samples([{}]),
           _regression_errors("l1_loss", F.l1_loss), gradgrad=True, nondiff="input == target"),
    _entry("huber_loss", F.huber_loss, ref_huber,
           _regression_samples([{"delta": 1.0}, {"delta": 0.5}, {"delta": 2.5}]),
           _regression_errors("huber_loss", F.huber_loss, [
               ErrorInput("delta 0", lambda: F.huber_loss(_x(2), _x(2), delta=0.0), ValueError,
                          r"huber_loss: delta must be positive, got 0.0")]),
           nondiff="|input - target| == delta (second derivative)"),
    _entry("smooth_l1_loss", F.smooth_l1_loss, ref_smooth_l1,
           _regression_samples([{"beta": 1.0}, {"beta": 0.5}, {"beta": 0.0}], weight=False),
           _regression_errors("smooth_l1_loss", F.smooth_l1_loss, [
               ErrorInput("negative beta", lambda: F.smooth_l1_loss(_x(2), _x(2), beta=-1.0),
                          ValueError, r"smooth_l1_loss: beta must be non-negative, got -1.0")]),
           nondiff="|input - target| == beta (second derivative), input == target with beta=0"),
]
