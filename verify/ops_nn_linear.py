"""OpInfo entry of nn.functional.linear: x W^T + b against NumPy float64."""
from __future__ import annotations

import numpy as np

import tinyfin as tf
from tinyfin.nn import functional as F

from .opdb import ErrorInput, OpInfo, Sample, Tol, finite_values


def _ref(x, w, b=None):
    out = np.asarray(x, np.float64) @ np.asarray(w, np.float64).T
    return out if b is None else out + np.asarray(b, np.float64)


def _call(x, w, b=None):
    return F.linear(x, w, b)


# (input shape, out_features, bias?); 70 x 300 @ 300 x 530 goes past matmul's
# blocked panels (see ops_linalg.LARGE).
_CASES = [((4, 3), 5, True), ((4, 3), 5, False), ((2, 3, 4), 2, True), ((3,), 2, True),
          ((0, 3), 2, True), ((4, 0), 3, True), ((70, 300), 530, True)]


def _samples(dtype, rng):
    for shape, out_f, bias in _CASES:
        x = finite_values(dtype, shape, rng, -2, 2)
        w = finite_values(dtype, (out_f, shape[-1]), rng, -2, 2)
        inputs = (x, w, finite_values(dtype, (out_f,), rng, -2, 2)) if bias else (x, w)
        small = x.size * out_f <= 60
        for layout in ("contiguous", "transposed") if len(shape) == 2 else ("contiguous",):
            yield Sample(inputs, layout=layout, grad=small,
                         desc=f"{shape} -> {out_f}{'' if bias else ' no bias'} {layout}")


def _errors():
    return [
        ErrorInput("in_features mismatch", lambda: F.linear(tf.ones(2, 3), tf.ones(4, 5)),
                   ValueError, r"linear: input of shape \(2, 3\) does not match "
                   r"in_features=5 of the weight \(4, 5\): expected \(\*, 5\)"),
        ErrorInput("3-D weight", lambda: F.linear(tf.ones(2, 3), tf.ones(1, 4, 3)),
                   ValueError, r"linear: weight must be 1-D or 2-D"),
        ErrorInput("not a tensor", lambda: F.linear([1.0], tf.ones(1, 1)), TypeError,
                   r"linear"),
        ErrorInput("bias wider than the output",
                   lambda: F.linear(tf.ones(3, 4), tf.ones(5, 4), tf.ones(2, 3, 5)), ValueError,
                   r"linear: the bias of shape \(2, 3, 5\) does not broadcast to the "
                   r"output's shape \(3, 5\)"),
    ]


ENTRIES = [
    OpInfo("nn.functional.linear", _call, _ref, "linalg", samples=_samples,
           errors=_errors, differentiable=True, gradgrad=True, kernels=("matmul",),
           tol={"float32": Tol(rtol=1e-5, atol=1e-6), "float64": Tol(rtol=1e-13, atol=1e-15)}),
]
