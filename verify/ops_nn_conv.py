"""OpInfo entries of the convolutions: nn.functional.conv1d, conv2d,
conv_transpose1d, conv_transpose2d.

The NumPy float64 references are written from the definition, not from the
kernel's im2col: a convolution sums, over the kernel taps, the tap's weight
slice times the input window that tap sees (a strided slice of the padded
input, one einsum per tap); a transposed convolution scatters each input
element times the kernel into an uncropped output, one strided slice per
tap, then crops the padding. Tolerances are relative to the largest
|reference| of the sample (a float32 dot product of length K = C/groups *
taps errs by about K eps sum|x||w|)."""
from __future__ import annotations

import itertools
import re

import numpy as np

import tinyfin as tf
import tinyfin.nn.functional as F

from .opdb import ErrorInput, OpInfo, Sample, Tol, finite_values

TOL = {"float32": Tol(rtol=2e-5, atol=1e-6), "float64": Tol(rtol=1e-12, atol=1e-14)}
_C, _T, _S, _F = "contiguous", "transposed", "strided", "flipped"


def _tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv{1,2}d in float64 (n spatial dims from the
    weight's rank)."""
    n = w.ndim - 2
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    stride, dilation = _tup(stride, n), _tup(dilation, n)
    k = w.shape[2:]
    if padding == "valid":
        pads = [(0, 0)] * n
    elif padding == "same":
        tot = [d * (kk - 1) for d, kk in zip(dilation, k)]
        pads = [(t // 2, t - t // 2) for t in tot]
    else:
        pads = [(p, p) for p in _tup(padding, n)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    G = groups
    out_sz = [(xp.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(n)]
    y = np.zeros((N, G, O // G) + tuple(out_sz))
    wg = w.reshape((G, O // G, Cg) + k)
    for tap in itertools.product(*[range(kk) for kk in k]):
        win = xp[(slice(None), slice(None)) + tuple(
            slice(t * d, t * d + s * (o - 1) + 1, s)
            for t, d, s, o in zip(tap, dilation, stride, out_sz))]
        win = win.reshape((N, G, Cg) + tuple(out_sz))
        wt = wg[(Ellipsis,) + tap]  # (G, Og, Cg)
        y += np.einsum("ngc...,goc->ngo...", win, wt)
    y = y.reshape((N, O) + tuple(out_sz))
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape((1, O) + (1,) * n)
    return y[0] if unbatched else y


def conv_transpose_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1):
    """torch.nn.functional.conv_transpose{1,2}d in float64."""
    n = w.ndim - 2
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    stride, dilation = _tup(stride, n), _tup(dilation, n)
    padding, output_padding = _tup(padding, n), _tup(output_padding, n)
    k = w.shape[2:]
    N, C = x.shape[:2]
    G = groups
    Cg, Og = C // G, w.shape[1]
    size = x.shape[2:]
    full = [(s - 1) * st + d * (kk - 1) + 1 + op
            for s, st, d, kk, op in zip(size, stride, dilation, k, output_padding)]
    y = np.zeros((N, G, Og) + tuple(full))
    xg = x.reshape((N, G, Cg) + size)
    wg = w.reshape((G, Cg, Og) + k)
    for tap in itertools.product(*[range(kk) for kk in k]):
        sl = (slice(None),) * 3 + tuple(slice(t * d, t * d + st * (s - 1) + 1, st)
                                        for t, d, st, s in zip(tap, dilation, stride, size))
        y[sl] += np.einsum("ngc...,gco->ngo...", xg, wg[(Ellipsis,) + tap])
    y = y.reshape((N, G * Og) + tuple(full))
    y = y[(slice(None),) * 2 + tuple(slice(p, f - p) for p, f in zip(padding, full))]
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape((1, -1) + (1,) * n)
    return y[0] if unbatched else y


# (input shape, weight shape, bias?, kwargs, layouts of x and w) per sample
CONV2D = [
    ((2, 3, 5, 6), (4, 3, 3, 3), True, {}, (_C, _C)),
    ((2, 3, 5, 6), (4, 3, 3, 3), False, {"padding": 1}, (_T, _S)),
    ((2, 3, 7, 6), (4, 3, 3, 2), True, {"stride": (2, 1), "padding": (1, 2),
                                        "dilation": (2, 1)}, (_S, _F)),
    ((1, 2, 7, 7), (3, 2, 2, 2), True, {"stride": 3, "dilation": 2}, (_C, _C)),
    ((2, 4, 5, 5), (6, 2, 3, 2), True, {"groups": 2, "padding": (0, 1)}, (_F, _T)),
    ((2, 4, 6, 5), (8, 1, 3, 3), True, {"groups": 4, "padding": 1, "stride": 2}, (_C, _C)),
    ((2, 3, 6, 5), (3, 1, 3, 3), False, {"groups": 3, "padding": "same"}, (_S, _C)),
    ((2, 3, 6, 5), (2, 3, 2, 4), True, {"padding": "same"}, (_C, _C)),
    ((1, 2, 7, 6), (2, 2, 2, 3), True, {"padding": "same", "dilation": (3, 2)}, (_C, _T)),
    ((2, 3, 5, 6), (2, 3, 3, 2), True, {"padding": "valid"}, (_C, _C)),
    ((3, 5, 6), (4, 3, 3, 3), True, {"padding": 1}, (_T, _C)),
    ((0, 3, 5, 6), (4, 3, 3, 3), True, {"padding": 1}, (_C, _C)),
    ((2, 3, 4, 5), (4, 3, 1, 1), True, {}, (_C, _C)),
    ((2, 3, 5, 5), (4, 3, 1, 1), True, {"stride": 2}, (_S, _C)),
    ((2, 2, 3, 4), (3, 2, 5, 6), True, {"padding": 1}, (_C, _C)),
    ((2, 4, 9, 9), (4, 2, 3, 3), True, {"groups": 2, "stride": (3, 2), "padding": (2, 0),
                                        "dilation": (1, 3)}, (_C, _F)),
]
CONV1D = [
    ((2, 3, 9), (4, 3, 3), True, {}, (_C, _C)),
    ((2, 3, 9), (4, 3, 3), False, {"padding": 2, "stride": 2}, (_T, _S)),
    ((2, 4, 11), (6, 2, 3), True, {"groups": 2, "dilation": 3, "padding": (1,)}, (_S, _F)),
    ((2, 4, 10), (4, 1, 4), True, {"groups": 4, "padding": "same"}, (_C, _C)),
    ((2, 3, 8), (2, 3, 4), True, {"padding": "same", "dilation": 2}, (_C, _T)),
    ((2, 3, 8), (2, 3, 3), True, {"padding": "valid", "stride": (3,)}, (_C, _C)),
    ((3, 9), (4, 3, 3), True, {"padding": 1}, (_C, _C)),
    ((0, 3, 9), (4, 3, 3), True, {}, (_C, _C)),
    ((2, 3, 7), (5, 3, 1), True, {}, (_F, _C)),
]
CONV_T2D = [
    ((2, 3, 4, 5), (3, 2, 3, 3), True, {}, (_C, _C)),
    ((2, 3, 4, 5), (3, 2, 3, 2), False, {"stride": 2, "padding": 1}, (_T, _S)),
    ((2, 4, 3, 4), (4, 3, 3, 2), True, {"stride": (2, 3), "padding": (1, 0),
                                        "output_padding": (1, 2), "groups": 2}, (_S, _F)),
    ((1, 2, 4, 3), (2, 2, 2, 3), True, {"dilation": (2, 1), "padding": (1, 1),
                                        "stride": 2, "output_padding": 1}, (_C, _T)),
    ((2, 3, 4, 4), (3, 1, 3, 3), True, {"groups": 3, "stride": 2, "padding": 1,
                                        "output_padding": 1}, (_C, _C)),
    ((2, 3, 3, 3), (3, 2, 2, 2), True, {"dilation": 3, "output_padding": (2, 0),
                                        "stride": (1, 2)}, (_C, _C)),
    ((3, 4, 5), (3, 2, 3, 3), True, {"padding": 1}, (_F, _C)),
    ((0, 3, 4, 5), (3, 2, 3, 3), True, {}, (_C, _C)),
    ((2, 3, 4, 5), (3, 4, 1, 1), True, {}, (_C, _C)),
]
CONV_T1D = [
    ((2, 3, 6), (3, 2, 3), True, {}, (_C, _C)),
    ((2, 4, 5), (4, 3, 3), True, {"stride": 3, "padding": 1, "output_padding": 2,
                                  "groups": 2, "dilation": 2}, (_T, _F)),
    ((2, 3, 6), (3, 2, 4), False, {"stride": (2,), "padding": (2,)}, (_S, _C)),
    ((3, 6), (3, 2, 3), True, {"padding": 1}, (_C, _C)),
    ((0, 3, 6), (3, 2, 3), True, {}, (_C, _C)),
]

# Sizes reaching the parallel im2col/col2im paths (planes x taps x L above
# TF_PARALLEL_GRAIN) and more than one batch chunk of cpu/conv.c (16 x 9 x
# 60 x 60 unfolded elements per image: chunks of 4 images under CONV_CHUNK =
# 2^21, so 10 images are chunks of 4, 4 and 2), a depthwise one and a
# strided, grouped one.
LARGE = {
    "conv2d": [((10, 16, 60, 60), (8, 16, 3, 3), True, {"padding": 1}, (_C, _C)),
               ((4, 8, 40, 40), (16, 2, 3, 3), True, {"groups": 4, "stride": 2,
                                                      "padding": (2, 1)}, (_T, _C)),
               ((4, 16, 40, 40), (16, 1, 3, 3), False, {"groups": 16, "padding": "same"},
                (_C, _C))],
    "conv1d": [((8, 16, 3000), (8, 16, 5), True, {"padding": 2}, (_C, _C))],
    "conv_transpose2d": [((10, 8, 30, 30), (8, 16, 3, 3), True, {"stride": 2, "padding": 1,
                                                               "output_padding": 1},
                          (_C, _C))],
    "conv_transpose1d": [((8, 16, 2000), (16, 8, 5), True, {"stride": 2}, (_C, _C))],
}


def _samples(table, transposed):
    def gen(dtype, rng):
        out = []
        for xs, ws, bias, kw, lays in table:
            x = finite_values(dtype, xs, rng, -2, 2)
            w = finite_values(dtype, ws, rng, -2, 2)
            inputs = (x, w)
            if bias:
                # one entry per output channel: weight (out, in/g, ...) or,
                # transposed, (in, out/g, ...)
                out_ch = ws[1] * kw.get("groups", 1) if transposed else ws[0]
                inputs += (finite_values(dtype, (out_ch,), rng, -2, 2),)
            lay = lays + ((_C,) if bias else ())
            out.append(Sample(inputs, kwargs=dict(kw), layout=lay,
                              desc=f"{xs} * {ws}{' +b' if bias else ''} {kw} {'/'.join(lay)}",
                              grad=x.size + w.size <= 400))
        return out
    return gen


def _call(fn):
    return lambda x, w, *b, **kw: fn(x, w, *b, **kw)


def _errors_conv2d():
    o = tf.ones
    E = ErrorInput
    return [
        E("2-D input", lambda: F.conv2d(o(5, 5), o(4, 3, 3, 3)), ValueError,
          r"conv2d: expected a 3-D \(C, H, W\) \(unbatched\) or 4-D \(N, C, H, W\) "
          r"\(batched\) input, got input of shape \(5, 5\)"),
        E("(N, H, W) fed as unbatched with wrong channels",
          lambda: F.conv2d(o(8, 28, 28), o(16, 1, 3, 3)), ValueError,
          r"conv2d: expected input of shape \(8, 28, 28\) to have 1 channels \(weight of "
          r"shape \(16, 1, 3, 3\) with groups=1\), but got 8 channels"),
        E("channels do not match the weight", lambda: F.conv2d(o(2, 4, 5, 5), o(3, 3, 3, 3)),
          ValueError, r"conv2d: expected input of shape \(2, 4, 5, 5\) to have 3 channels"),
        E("input channels not divisible by groups",
          lambda: F.conv2d(o(2, 3, 5, 5), o(4, 1, 3, 3), groups=2), ValueError,
          r"conv2d: expected input of shape \(2, 3, 5, 5\) to have 2 channels \(weight of "
          r"shape \(4, 1, 3, 3\) with groups=2\), but got 3"),
        E("output channels not divisible by groups",
          lambda: F.conv2d(o(2, 4, 5, 5), o(3, 2, 3, 3), groups=2), ValueError,
          r"conv2d: weight of shape \(3, 2, 3, 3\) has 3 output channels, which groups=2 "
          r"does not divide"),
        E("kernel larger than the padded input",
          lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 5, 5), padding=0), ValueError,
          r"conv2d: kernel size \(5, 5\) \(dilated to \(5, 5\)\) is larger than the padded "
          r"input size \(4, 4\)"),
        E("dilated kernel larger than the padded input",
          lambda: F.conv2d(o(1, 1, 6, 6), o(1, 1, 3, 3), dilation=3), ValueError,
          r"conv2d: kernel size \(3, 3\) \(dilated to \(7, 7\)\) is larger than the padded "
          r"input size \(6, 6\)"),
        E("zero stride", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3), stride=0), ValueError,
          r"conv2d: stride must be positive, got \(0, 0\)"),
        E("negative padding", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3), padding=(1, -1)),
          ValueError, r"conv2d: padding must be non-negative, got \(1, -1\)"),
        E("zero dilation", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3), dilation=(0, 1)),
          ValueError, r"conv2d: dilation must be positive, got \(0, 1\)"),
        E("zero groups", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3), groups=0), ValueError,
          r"conv2d: groups must be a positive integer, got 0"),
        E("stride of three entries", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3),
                                                     stride=(1, 1, 1)), ValueError,
          r"conv2d: stride must be an int or a tuple of 2 ints, got \(1, 1, 1\)"),
        E("unknown padding string", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3),
                                                    padding="full"), ValueError,
          r"conv2d: padding must be an int, a tuple of 2 ints, 'valid' or 'same', got 'full'"),
        E("'same' with stride 2", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3),
                                                  padding="same", stride=2), ValueError,
          r"conv2d: padding='same' is not supported for strided convolutions"),
        E("float stride", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3), stride=1.5), TypeError,
          r"conv2d: stride must be an int"),
        E("3-D weight", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3)), ValueError,
          r"conv2d: expected a 4-D weight, got weight of shape \(1, 1, 3\)"),
        E("bias of the wrong size", lambda: F.conv2d(o(1, 1, 4, 4), o(2, 1, 3, 3), o(3)),
          ValueError, r"conv2d: bias must have shape \(2,\) \(one entry per output channel\), "
          r"got \(3,\)"),
        E("mixed dtypes", lambda: F.conv2d(o(1, 1, 4, 4), o(1, 1, 3, 3, dtype=tf.float64)),
          TypeError, r"conv2d: input \(float32\) and weight \(float64\) must have the same dtype"),
        E("int64 input", lambda: F.conv2d(o(1, 1, 4, 4, dtype=tf.int64),
                                          o(1, 1, 3, 3, dtype=tf.int64)), TypeError,
          r"conv2d: expected a float32 or float64 input, got int64"),
        E("not a tensor", lambda: F.conv2d([[[[1.0]]]], o(1, 1, 1, 1)), TypeError,
          r"conv2d"),
    ]


def _errors_conv1d():
    o = tf.ones
    E = ErrorInput
    return [
        E("1-D input", lambda: F.conv1d(o(5), o(4, 3, 3)), ValueError,
          r"conv1d: expected a 2-D \(C, L\) \(unbatched\) or 3-D \(N, C, L\) \(batched\) "
          r"input, got input of shape \(5,\)"),
        E("channels do not match", lambda: F.conv1d(o(2, 4, 5), o(3, 3, 3)), ValueError,
          r"conv1d: expected input of shape \(2, 4, 5\) to have 3 channels"),
        E("kernel larger than the padded input", lambda: F.conv1d(o(1, 1, 4), o(1, 1, 7),
                                                                 padding=1), ValueError,
          r"conv1d: kernel size \(7,\) \(dilated to \(7,\)\) is larger than the padded input "
          r"size \(6,\)"),
        E("'same' with stride 2", lambda: F.conv1d(o(1, 1, 4), o(1, 1, 3), padding="same",
                                                  stride=2), ValueError,
          r"conv1d: padding='same' is not supported for strided convolutions"),
        E("stride of two entries", lambda: F.conv1d(o(1, 1, 4), o(1, 1, 3), stride=(1, 1)),
          ValueError, r"conv1d: stride must be an int or a tuple of 1 ints"),
    ]


def _errors_conv_t(name, fn, n):
    o = tf.ones
    E = ErrorInput
    sp = (4,) * n
    k = (3,) * n
    return [
        E("channels do not match the weight", lambda: fn(o(2, 4, *sp), o(3, 2, *k)), ValueError,
          rf"{name}: expected input of shape {re.escape(str((2, 4) + sp))} to have 3 channels"),
        E("output_padding too large", lambda: fn(o(1, 2, *sp), o(2, 2, *k), stride=2,
                                                 output_padding=2), ValueError,
          rf"{name}: output_padding {re.escape(str((2,) * n))} must be smaller than either "
          r"stride"),
        E("channels not divisible by groups", lambda: fn(o(1, 3, *sp), o(3, 2, *k), groups=2),
          ValueError, rf"{name}: 3 input channels are not divisible by groups=2"),
        E("string padding", lambda: fn(o(1, 2, *sp), o(2, 2, *k), padding="same"), ValueError,
          rf"{name}: padding must be an int or a tuple of {n} ints, got 'same'"),
        E("negative output size", lambda: fn(o(1, 2, *((1,) * n)), o(2, 2, *((1,) * n)),
                                             padding=1), ValueError,
          rf"{name}: the output size {re.escape(str((-1,) * n))} of input of shape"),
        E("bias of the wrong size", lambda: fn(o(1, 2, *sp), o(2, 3, *k), o(2)), ValueError,
          rf"{name}: bias must have shape \(3,\)"),
    ]


def _entry(name, fn, ref, table, errors):
    transposed = "transpose" in name
    return OpInfo(f"nn.functional.{name}", _call(fn), ref, "nn", dtypes=("float32", "float64"),
                  samples=_samples(table, transposed), large=_samples(LARGE[name], transposed),
                  kernels=("matmul", "conv"),
                  differentiable=True, gradgrad=True, tol=dict(TOL), errors=errors,
                  notes="a 2-D convolution pass of native/src/cpu/conv.c (im2col / col2im "
                        "around the backend's matmul); backward = the other two passes")


ENTRIES = [
    _entry("conv2d", F.conv2d, conv_ref, CONV2D, _errors_conv2d),
    _entry("conv1d", F.conv1d, conv_ref, CONV1D, _errors_conv1d),
    _entry("conv_transpose2d", F.conv_transpose2d, conv_transpose_ref, CONV_T2D,
           lambda: _errors_conv_t("conv_transpose2d", F.conv_transpose2d, 2)),
    _entry("conv_transpose1d", F.conv_transpose1d, conv_transpose_ref, CONV_T1D,
           lambda: _errors_conv_t("conv_transpose1d", F.conv_transpose1d, 1)),
]
