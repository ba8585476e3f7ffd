"""OpInfo entries of nn.functional.dropout and dropout2d.

The values are random, but the randomness is an input, not the computation
under test: every call draws from a fresh tinyfin.Generator seeded with
SEED, and the reference takes that generator's uniforms u (one draw of
tinyfin.rand over the mask's shape, float64; the contract documented in
tinyfin/nn/ops/dropout.py) and applies the rule itself in NumPy float64:
x / (1 - p) where u < 1 - p, else 0 (per element, or per (N, C) channel for
dropout2d). So the forward check compares values to 1 ULP (tinyfin multiplies by
the scale 1/(1 - p), rounded once, as PyTorch does), covers the structure (zeros or
x/(1-p), whole channels), and gradcheck/gradgradcheck, which call the op
again and again, check that the backward uses the forward's mask (a fresh
mask in the backward would not match the finite differences). The zeroed
fraction's statistics and the thread-count independence are in
tests/test_nn_dropout.py.
"""
from __future__ import annotations

import warnings

import numpy as np

import tinyfin as tf
import tinyfin.nn.functional as F

from .opdb import FLOAT, ErrorInput, OpInfo, Sample, Tol, finite_values

SEED = 20261201
# kept values are x * (1 / (1 - p)), the scale rounded once: within 1 ULP of x / (1 - p)
TOL = {"float32": Tol(ulp=1), "float64": Tol(ulp=1)}


def _gen():
    return tf.Generator().manual_seed(SEED)


def _uniforms(shape):
    return tf.rand(*shape, dtype=tf.float64, generator=_gen()).numpy()


def _mask_shape(shape, channels):
    if not channels:
        return tuple(shape)
    return tuple(shape[:2]) + (1,) * (len(shape) - 2)


def _ref(channels):
    def ref(x, p=0.5, training=True, inplace=False):
        x = np.asarray(x, np.float64)
        if not training or p == 0:
            return x.copy()
        keep = _uniforms(_mask_shape(x.shape, channels)) < 1.0 - p
        with np.errstate(all="ignore"):
            return np.where(keep, x / (1.0 - p) if p < 1 else 0.0, x * 0.0)
    return ref


def _call(name):
    fn = getattr(F, name)

    def call(x, *args, inplace=False, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # dropout2d's 3-d warning
            if inplace:
                return fn(x.clone(), *args, inplace=True, generator=_gen(), **kw)
            return fn(x, *args, generator=_gen(), **kw)
    return call


def _samples(shapes):
    def gen(dtype, rng):
        f = lambda s: finite_values(dtype, s, rng)  # noqa: E731
        main = shapes[0]
        out = [Sample((f(main),), args=(p,), desc=f"{main} p={p}") for p in (0.5, 0.2, 0.9)]
        out += [Sample((f(main),), args=(0.0,), desc="p=0: identity"),
                Sample((f(main),), args=(1.0,), desc="p=1: zeros"),
                Sample((f(main),), kwargs=dict(p=0.5, training=False), desc="training=False"),
                Sample((f(main),), kwargs=dict(p=0.3, inplace=True), desc="inplace=True", grad=False),
                Sample((f(main),), args=(0.4,), layout="transposed", desc="transposed"),
                Sample((f(main),), args=(0.4,), layout="strided", desc="step-strided"),
                Sample((f(main),), args=(0.4,), layout="expanded", desc="expanded (stride 0)"),
                Sample((f((0,) + main[1:]),), args=(0.5,), desc="size-0", grad=False),
                Sample((np.array([np.nan, np.inf, -np.inf, -0.0, 1.0, 2.0], dtype)
                        .reshape((1,) * (len(main) - 1) + (6,)),), args=(0.5,),
                       desc="NaN, inf and -0 (a dropped NaN stays NaN)", grad=False)]
        out += [Sample((f(s),), args=(0.5,), desc=f"{s}") for s in shapes[1:]]
        return out
    return gen


def _large(shape):
    def gen(dtype, rng):
        return [Sample((finite_values(dtype, shape, rng),), args=(0.5,), desc=f"{shape} (parallel rand)",
                       grad=False)]
    return gen


def _errors(name):
    fn = getattr(F, name)
    x = lambda: tf.ones(2, 3, 4, 5)  # noqa: E731
    return [ErrorInput("p > 1", lambda: fn(x(), 1.5), ValueError,
                       rf"{name}: dropout probability has to be between 0 and 1, but got 1.5"),
            ErrorInput("p < 0", lambda: fn(x(), -0.1), ValueError, r"between 0 and 1, but got -0.1"),
            ErrorInput("p NaN", lambda: fn(x(), float("nan")), ValueError, r"between 0 and 1"),
            ErrorInput("p not a number", lambda: fn(x(), "0.5"), TypeError, rf"{name}: p must be a number"),
            ErrorInput("int64 input", lambda: fn(tf.tensor([1, 2]), 0.5), TypeError,
                       rf"{name}: expected a float32 or float64 input, got int64"),
            ErrorInput("non-tensor input", lambda: fn([1.0], 0.5), TypeError, rf"{name}: expected a Tensor"),
            ErrorInput("inplace on a leaf that requires grad",
                       lambda: fn(tf.ones(2, 3, 4, 5, requires_grad=True), 0.5, inplace=True), RuntimeError,
                       r"leaf Variable that requires grad")]


ENTRIES = [
    OpInfo(name="nn.functional.dropout", call=_call("dropout"), ref=_ref(False), kind="unary",
           dtypes=FLOAT, samples=_samples([(3, 4), (5,), (2, 3, 4), ()]), errors=lambda: _errors("dropout"),
           differentiable=True, gradgrad=True, tol=TOL, large=_large((300, 130)),
           notes="the mask is the reference's input (tinyfin.rand with the same seeded Generator)"),
    OpInfo(name="nn.functional.dropout2d", call=_call("dropout2d"), ref=_ref(True), kind="unary",
           dtypes=FLOAT, samples=_samples([(2, 3, 2, 2), (2, 3, 4), (3, 4), (2, 2, 2, 2, 2)]),
           errors=lambda: _errors("dropout2d") + [
               ErrorInput("1-d input", lambda: F.dropout2d(tf.ones(4)), ValueError,
                          r"dropout2d: feature dropout requires at least 2 dimensions in the input, "
                          r"got shape \(4,\)")],
           differentiable=True, gradgrad=True, tol=TOL, large=_large((8, 300, 4, 5)),
           notes="one draw per (N, C); a 3-d input is (N, C, L) as in PyTorch"),
]
