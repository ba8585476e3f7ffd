"""OpInfo entries of pooling: nn.functional.max_pool1d/2d, avg_pool1d/2d,
adaptive_avg_pool1d/2d and adaptive_max_pool1d/2d.

The references are NumPy float64 with explicit loops over every output and
every tap of its window, written from PyTorch's documented semantics, not
from the kernel: a tap of a max window at input position h (with h = o *
stride - padding + i * dilation) is skipped when it lies in the padding
(-inf); the maximum is the first one in row-major order, and a NaN wins
(the last NaN of the window when several); an average window counts the
taps inside the padded input (count_include_pad) or inside the input; the
output size is floor or ceil of (in + 2 p - d (k - 1) - 1) / s, plus one,
less one under ceil_mode when the last window would start in the right
padding. Adaptive windows are [floor(o n / out), ceil((o + 1) n / out)).

Samples cover every option (kernel, stride, padding, dilation, ceil_mode
with windows that end in and that would start in the right padding,
count_include_pad, divisor_override, return_indices, int / tuple /
None output sizes), overlapping windows, unbatched inputs, size-0 batches,
every layout, ties, -inf and NaN. Max pooling's gradient samples have
distinct values; the convention at ties (the whole gradient to the first
maximum, accumulated where overlapping windows pick one element) is
checked as subgradient values.
"""
from __future__ import annotations

import math
import re

import numpy as np

import tinyfin as tf
from tinyfin.nn import functional as F

from .opdb import EXACT, ErrorInput, OpInfo, Sample, Subgrad, Tol, finite_values

AVG_TOL = {"float32": Tol(ulp=1), "float64": Tol(rtol=1e-14, atol=1e-300)}


# ---- references ------------------------------------------------------------------
def _pair(v, n):
    if isinstance(v, (tuple, list)):
        return tuple(v) * n if len(v) == 1 else tuple(v)
    return (v,) * n


def _out_len(n, k, s, p, d, ceil_mode):
    """PyTorch's output length, from exact rationals."""
    q = (n + 2 * p - d * (k - 1) - 1) / s
    o = (math.ceil(q) if ceil_mode else math.floor(q)) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _planes(x, dims):
    """x as (planes, H, W) (a 1-D pool's planes have H = 1) and the leading
    shape."""
    lead = x.shape[:-dims]
    if dims == 1:
        return x.reshape((-1, 1, x.shape[-1])), lead
    return x.reshape((-1,) + x.shape[-2:]), lead


def _max_ref(dims):
    def ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
            return_indices=False):
        k = _pair(kernel_size, dims)
        s = k if stride is None else _pair(stride, dims)
        p, d = _pair(padding, dims), _pair(dilation, dims)
        if dims == 1:
            k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
        xp, lead = _planes(np.asarray(x, np.float64), dims)
        P, H, W = xp.shape
        OH = _out_len(H, k[0], s[0], p[0], d[0], ceil_mode)
        OW = _out_len(W, k[1], s[1], p[1], d[1], ceil_mode)
        out = np.empty((P, OH, OW))
        idx = np.empty((P, OH, OW), np.int64)
        for c in range(P):
            for oh in range(OH):
                for ow in range(OW):
                    best, at = -np.inf, None
                    for i in range(k[0]):
                        h = oh * s[0] - p[0] + i * d[0]
                        if not 0 <= h < H:
                            continue
                        for j in range(k[1]):
                            w = ow * s[1] - p[1] + j * d[1]
                            if not 0 <= w < W:
                                continue
                            v = xp[c, h, w]
                            if at is None:
                                at = h * W + w     # the first tap inside the input
                            if v > best or np.isnan(v):
                                best, at = v, h * W + w
                    out[c, oh, ow], idx[c, oh, ow] = best, at
        shape = lead + ((OW,) if dims == 1 else (OH, OW))
        out, idx = out.reshape(shape), idx.reshape(shape)
        return (out, idx) if return_indices else out
    return ref


def _avg_ref(dims):
    def ref(x, kernel_size, stride=None, padding=0, ceil_mode=False,
            count_include_pad=True, divisor_override=None):
        k = _pair(kernel_size, dims)
        s = k if stride is None else _pair(stride, dims)
        p = _pair(padding, dims)
        if dims == 1:
            k, s, p = (1,) + k, (1,) + s, (0,) + p
        xp, lead = _planes(np.asarray(x, np.float64), dims)
        P, H, W = xp.shape
        OH = _out_len(H, k[0], s[0], p[0], 1, ceil_mode)
        OW = _out_len(W, k[1], s[1], p[1], 1, ceil_mode)
        out = np.zeros((P, OH, OW))
        for c in range(P):
            for oh in range(OH):
                for ow in range(OW):
                    total, inside, padded = 0.0, 0, 0
                    for i in range(k[0]):
                        h = oh * s[0] - p[0] + i
                        for j in range(k[1]):
                            w = ow * s[1] - p[1] + j
                            if -p[0] <= h < H + p[0] and -p[1] <= w < W + p[1]:
                                padded += 1
                            if 0 <= h < H and 0 <= w < W:
                                inside += 1
                                total += xp[c, h, w]
                    if inside == 0:
                        continue        # a window wholly in the padding gives 0
                    div = divisor_override if divisor_override is not None else \
                        padded if count_include_pad else inside
                    out[c, oh, ow] = total / div
        shape = lead + ((OW,) if dims == 1 else (OH, OW))
        return out.reshape(shape)
    return ref


def _adaptive_ref(dims, kind):
    def ref(x, output_size, return_indices=False):
        xp, lead = _planes(np.asarray(x, np.float64), dims)
        P, H, W = xp.shape
        size = _pair(output_size, dims)
        spatial = (H, W) if dims == 2 else (W,)
        size = tuple(spatial[i] if v is None else v for i, v in enumerate(size))
        OH, OW = (1,) + size if dims == 1 else size
        out = np.zeros((P, OH, OW))
        idx = np.zeros((P, OH, OW), np.int64)

        def window(o, n, m):
            return math.floor(o * n / m), math.ceil((o + 1) * n / m)
        for c in range(P):
            for oh in range(OH):
                h0, h1 = window(oh, H, OH)
                for ow in range(OW):
                    w0, w1 = window(ow, W, OW)
                    if kind == "avg":
                        total = 0.0
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                total += xp[c, h, w]
                        out[c, oh, ow] = total / ((h1 - h0) * (w1 - w0))
                    else:
                        best, at = -np.inf, h0 * W + w0
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                v = xp[c, h, w]
                                if v > best or np.isnan(v):
                                    best, at = v, h * W + w
                        out[c, oh, ow], idx[c, oh, ow] = best, at
        shape = lead + size
        out, idx = out.reshape(shape), idx.reshape(shape)
        return (out, idx) if return_indices else out
    return ref


# ---- samples ----------------------------------------------------------------------
def _distinct(dtype, shape, rng):
    """Values in [-4, 4] at least 8 / size apart: no ties, so gradcheck's
    differences never straddle a change of the argmax."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * (8.0 / max(n, 1))).reshape(shape).astype(dtype)


def _grid(dtype, shape, rng):
    """Half-integers in [-2, 2]: many ties inside every window."""
    return (rng.integers(-4, 5, size=shape) / 2).astype(dtype)


def _special(dtype, shape, rng):
    """Ordinary values with -inf, +inf and NaN (one or two per window) mixed in."""
    x = finite_values(dtype, shape, rng)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=max(1, flat.size // 4), replace=False)
    specials = np.array([-np.inf, np.nan, np.inf, -np.inf, np.nan], dtype)
    flat[picks] = specials[np.arange(picks.size) % specials.size]
    return x


def _all_neg_inf(dtype, shape, rng):
    return np.full(shape, -np.inf, dtype)


# (shape, args, kwargs, desc, values, layout, grad)
_LAYOUTS = ("transposed", "strided", "flipped", "mT", "expanded")

MAX2D = [
    ((2, 3, 6, 6), (2,), {}, "2x2 stride 2", _distinct, "contiguous", True),
    ((1, 2, 5, 5), (3,), dict(stride=1), "3x3 stride 1 (overlapping)", _distinct, "contiguous", True),
    ((1, 2, 5, 4), ((3, 2),), dict(stride=(2, 1), padding=(1, 1)), "tuple args, padding", _distinct, "contiguous", True),
    ((1, 1, 7, 6), (3,), dict(stride=2, padding=1, dilation=2), "dilation 2, padding", _distinct, "contiguous", True),
    ((1, 1, 6, 7), ((2, 3),), dict(stride=(1, 2), dilation=(2, 1)), "dilation (2, 1)", _distinct, "contiguous", True),
    ((1, 2, 5, 5), (2,), dict(ceil_mode=True), "ceil_mode: last window partly outside", _distinct, "contiguous", True),
    ((1, 1, 5, 5), (3,), dict(stride=2, padding=1, ceil_mode=True),
     "ceil_mode with padding: a window starting in the right padding dropped", _distinct, "contiguous", True),
    ((1, 1, 6, 6), (3,), dict(stride=2, padding=1, ceil_mode=True),
     "ceil_mode with padding: last window ends in the padding", _distinct, "contiguous", True),
    ((1, 1, 4, 9), ((2, 3),), dict(stride=(3, 4), ceil_mode=True), "ceil_mode, stride above kernel", _distinct,
     "contiguous", True),
    ((2, 5, 5), (2,), dict(stride=1), "unbatched (C, H, W)", _distinct, "contiguous", True),
    ((0, 3, 4, 4), (2,), {}, "size-0 batch", _distinct, "contiguous", False),
    ((1, 2, 3, 3), (3,), dict(stride=1, padding=1), "padding 1, kernel 3, stride 1", _distinct, "contiguous", True),
    ((1, 1, 1, 1), (1,), {}, "1x1 input, 1x1 kernel", _distinct, "contiguous", True),
    ((2, 3, 6, 5), (2,), dict(stride=1, return_indices=True), "return_indices", _distinct, "contiguous", True),
    ((2, 3, 7, 7), (3,), dict(stride=2, padding=1, ceil_mode=True, return_indices=True),
     "return_indices, ceil_mode, padding", _grid, "contiguous", False),
    ((2, 3, 6, 6), (2,), dict(stride=1, return_indices=True), "ties (first maximum)", _grid, "contiguous", False),
    ((2, 3, 6, 6), (3,), dict(stride=2, padding=1, return_indices=True), "inf and NaN", _special, "contiguous",
     False),
    ((1, 2, 4, 4), (2,), dict(padding=1, return_indices=True), "all -inf (index of the first tap)", _all_neg_inf,
     "contiguous", False),
] + [((2, 3, 7, 6), (3,), dict(stride=2, padding=1), f"{lay} input", _distinct, lay, True)
     for lay in _LAYOUTS] + [
    ((2, 3, 7, 6), (3,), dict(stride=1, padding=1, return_indices=True), "flipped input, return_indices",
     _distinct, "flipped", False)]

MAX1D = [
    ((2, 3, 8), (2,), {}, "kernel 2", _distinct, "contiguous", True),
    ((1, 2, 9), (3,), dict(stride=1, padding=1), "overlapping, padding", _distinct, "contiguous", True),
    ((1, 2, 11), (3,), dict(stride=2, padding=1, dilation=2), "dilation 2", _distinct, "contiguous", True),
    ((1, 2, 8), (3,), dict(stride=2, padding=1, ceil_mode=True, return_indices=True), "ceil_mode, padding",
     _distinct, "contiguous", True),
    ((1, 1, 5), (2,), dict(stride=2, padding=1, ceil_mode=True), "ceil_mode: window in the right padding dropped",
     _distinct, "contiguous", True),
    ((3, 10), (4,), dict(stride=3, return_indices=True), "unbatched (C, L)", _distinct, "contiguous", True),
    ((0, 2, 6), (2,), {}, "size-0 batch", _distinct, "contiguous", False),
    ((2, 3, 9), ((3,),), dict(stride=(2,), return_indices=True), "1-tuples", _grid, "contiguous", False),
    ((2, 3, 12), (3,), dict(stride=1, return_indices=True), "ties", _grid, "contiguous", False),
    ((2, 3, 12), (3,), dict(stride=2, padding=1, return_indices=True), "inf and NaN", _special, "contiguous", False),
] + [((2, 3, 10), (3,), dict(stride=2, padding=1), f"{lay} input", _distinct, lay, True)
     for lay in _LAYOUTS] + [
    ((2, 3, 10), (3,), dict(stride=1, padding=1, return_indices=True), "transposed input, return_indices",
     _distinct, "transposed", False)]

AVG2D = [
    ((2, 3, 6, 6), (2,), {}, "2x2 stride 2", finite_values, "contiguous", True),
    ((1, 2, 5, 5), (3,), dict(stride=1), "3x3 stride 1 (overlapping)", finite_values, "contiguous", True),
    ((1, 2, 5, 4), ((3, 2),), dict(stride=(2, 1), padding=(1, 1)), "padding, count_include_pad", finite_values,
     "contiguous", True),
    ((1, 2, 5, 4), ((3, 2),), dict(stride=(2, 1), padding=(1, 1), count_include_pad=False),
     "padding, count_include_pad=False", finite_values, "contiguous", True),
    ((1, 1, 5, 5), (3,), dict(stride=2, padding=1, ceil_mode=True),
     "ceil_mode: window in the right padding dropped", finite_values, "contiguous", True),
    ((1, 1, 6, 6), (3,), dict(stride=2, padding=1, ceil_mode=True),
     "ceil_mode: last window past the padded input (count_include_pad)", finite_values, "contiguous", True),
    ((1, 1, 6, 6), (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     "ceil_mode, count_include_pad=False", finite_values, "contiguous", True),
    ((1, 2, 5, 5), (2,), dict(ceil_mode=True), "ceil_mode without padding", finite_values, "contiguous", True),
    ((1, 2, 5, 5), (3,), dict(stride=2, padding=1, divisor_override=4), "divisor_override 4", finite_values,
     "contiguous", True),
    ((1, 2, 5, 5), (2,), dict(stride=1, divisor_override=-3), "divisor_override -3", finite_values,
     "contiguous", True),
    ((2, 5, 5), (2,), dict(stride=1), "unbatched (C, H, W)", finite_values, "contiguous", True),
    ((0, 3, 4, 4), (2,), {}, "size-0 batch", finite_values, "contiguous", False),
    ((2, 3, 6, 6), (3,), dict(stride=2, padding=1), "inf and NaN", _special, "contiguous", False),
] + [((2, 3, 7, 6), (3,), dict(stride=2, padding=1), f"{lay} input", finite_values, lay, True)
     for lay in _LAYOUTS]

AVG1D = [
    ((2, 3, 8), (2,), {}, "kernel 2", finite_values, "contiguous", True),
    ((1, 2, 9), (3,), dict(stride=1, padding=1), "overlapping, padding", finite_values, "contiguous", True),
    ((1, 2, 9), (3,), dict(stride=1, padding=1, count_include_pad=False), "count_include_pad=False",
     finite_values, "contiguous", True),
    ((1, 2, 8), (3,), dict(stride=2, padding=1, ceil_mode=True), "ceil_mode, padding", finite_values,
     "contiguous", True),
    ((1, 1, 5), (2,), dict(stride=2, padding=1, ceil_mode=True), "ceil_mode: window in the right padding dropped",
     finite_values, "contiguous", True),
    ((1, 1, 10), (4,), dict(stride=3, padding=2, ceil_mode=True, count_include_pad=False),
     "ceil_mode, count_include_pad=False", finite_values, "contiguous", True),
    ((3, 10), (4,), dict(stride=3), "unbatched (C, L)", finite_values, "contiguous", True),
    ((0, 2, 6), (2,), {}, "size-0 batch", finite_values, "contiguous", False),
    ((2, 3, 12), (3,), dict(stride=2, padding=1), "inf and NaN", _special, "contiguous", False),
] + [((2, 3, 10), (3,), dict(stride=2, padding=1), f"{lay} input", finite_values, lay, True)
     for lay in _LAYOUTS]

ADAPTIVE2D = [
    ((2, 3, 6, 6), ((3, 3),), {}, "divisible: (3, 3) of 6x6", "contiguous", True),
    ((1, 2, 7, 5), ((3, 2),), {}, "overlapping windows: (3, 2) of 7x5", "contiguous", True),
    ((1, 2, 5, 7), (4,), {}, "int output_size", "contiguous", True),
    ((1, 2, 4, 3), ((6, 5),), {}, "output larger than input", "contiguous", True),
    ((1, 2, 5, 4), ((None, 2),), {}, "None keeps the input height", "contiguous", True),
    ((1, 2, 5, 4), ((3, None),), {}, "None keeps the input width", "contiguous", True),
    ((1, 2, 5, 4), (1,), {}, "global pooling (1)", "contiguous", True),
    ((2, 5, 5), ((2, 3),), {}, "unbatched (C, H, W)", "contiguous", True),
    ((0, 3, 4, 4), (2,), {}, "size-0 batch", "contiguous", False),
    ((2, 3, 4, 4), ((0, 2),), {}, "output size 0", "contiguous", False),
] + [((2, 3, 7, 6), ((3, 4),), {}, f"{lay} input", lay, True) for lay in _LAYOUTS]

ADAPTIVE1D = [
    ((2, 3, 8), (4,), {}, "divisible", "contiguous", True),
    ((1, 2, 7), (3,), {}, "overlapping windows", "contiguous", True),
    ((1, 2, 4), (6,), {}, "output larger than input", "contiguous", True),
    ((1, 2, 6), ((None,),), {}, "None keeps the length", "contiguous", True),
    ((3, 10), (4,), {}, "unbatched (C, L)", "contiguous", True),
    ((0, 3, 5), (2,), {}, "size-0 batch", "contiguous", False),
] + [((2, 3, 10), (4,), {}, f"{lay} input", lay, True) for lay in _LAYOUTS]


def _fixed_samples(table):
    def gen(dtype, rng):
        return [Sample((values(dtype, shape, rng),), args=args, kwargs=kwargs, layout=layout,
                       desc=desc, grad=grad and values in (_distinct, finite_values)
                       and int(np.prod(shape)) <= 200
                       # gradcheck differentiates float outputs only: the
                       # values of return_indices samples are checked by the
                       # samples without it
                       and not kwargs.get("return_indices"))
                for shape, args, kwargs, desc, values, layout, grad in table]
    return gen


def _adaptive_samples(table, kind):
    def gen(dtype, rng):
        out = []
        for shape, args, kwargs, desc, layout, grad in table:
            values = _distinct if kind == "max" else finite_values
            out.append(Sample((values(dtype, shape, rng),), args=args, kwargs=dict(kwargs),
                              layout=layout, desc=desc, grad=grad and int(np.prod(shape)) <= 200))
            if kind == "max" and layout == "contiguous" and grad:
                out.append(Sample((values(dtype, shape, rng),), args=args,
                                  kwargs=dict(kwargs, return_indices=True),
                                  layout=layout, desc=desc + ", return_indices", grad=False))
        if kind == "max":
            shape = (2, 3, 6) if len(table[0][0]) == 3 else (2, 3, 6, 5)
            size = (4,) if len(shape) == 3 else ((4, 3),)
            out += [Sample((_grid(dtype, shape, rng),), args=size, kwargs=dict(return_indices=True),
                           desc="ties (first maximum)", grad=False),
                    Sample((_special(dtype, shape, rng),), args=size, kwargs=dict(return_indices=True),
                           desc="inf and NaN", grad=False)]
        else:
            shape = (2, 3, 6) if len(table[0][0]) == 3 else (2, 3, 6, 5)
            out.append(Sample((_special(dtype, shape, rng),), args=(4,) if len(shape) == 3 else ((4, 3),),
                              desc="inf and NaN", grad=False))
        return out
    return gen


# Above TF_PARALLEL_GRAIN (32768) elements: the kernels split (plane, row)
# items (forward) and planes (backward) over threads; checks/paths.py runs
# each with 1 and 2 threads. Odd sizes so the last window is partial.
def _large(call_args, values):
    def gen(dtype, rng):
        return [Sample((values(dtype, shape, rng),), args=args, kwargs=kwargs, layout=layout,
                       desc=desc, grad=False)
                for shape, args, kwargs, layout, desc in call_args]
    return gen


LARGE2D = [((8, 16, 33, 31), (3,), dict(stride=2, padding=1), "contiguous", "8x16x33x31, 3x3/2 pad 1"),
           ((4, 32, 28, 28), (2,), {}, "transposed", "4x32x28x28 transposed, 2x2"),
           ((1, 1, 300, 257), (3,), dict(stride=1), "contiguous", "one plane 300x257 (rows split)")]
LARGE1D = [((16, 32, 301), (3,), dict(stride=2, padding=1), "contiguous", "16x32x301")]
LARGE_ADAPTIVE2D = [((8, 16, 33, 31), ((7, 5),), {}, "contiguous", "8x16x33x31 to 7x5"),
                    ((1, 1, 300, 257), ((33, 40),), {}, "transposed", "one plane 300x257 to 33x40")]
LARGE_ADAPTIVE1D = [((16, 32, 301), (13,), {}, "contiguous", "16x32x301 to 13")]


# ---- subgradients: ties and special values ------------------------------------------
def _max_subgrads(dims):
    f = np.array

    def gen(dtype):
        if dims == 2:
            return [
                Subgrad("2x2 window of equal values: all to the first",
                        (f([[[[1.0, 1.0], [1.0, 1.0]]]]),), (f([[[[1.0, 0.0], [0.0, 0.0]]]]),), args=(2,)),
                Subgrad("overlapping windows pick one element: gradients add up",
                        (f([[[[0.0, 1.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]]),),
                        (f([[[[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]]]]),),
                        args=(2,), kwargs=dict(stride=1), grad=f([[[[1.0, 2.0], [3.0, 4.0]]]])),
                Subgrad("tie across rows: the earlier row wins",
                        (f([[[[0.0, 2.0], [2.0, 1.0]]]]),), (f([[[[0.0, 1.0], [0.0, 0.0]]]]),), args=(2,)),
                Subgrad("NaN in the window takes the gradient (the last NaN)",
                        (f([[[[np.nan, 3.0], [np.nan, 1.0]]]]),), (f([[[[0.0, 0.0], [1.0, 0.0]]]]),),
                        args=(2,)),
                Subgrad("window of -inf: the gradient goes to its first element",
                        (f([[[[-np.inf, -np.inf], [-np.inf, -np.inf]]]]),), (f([[[[1.0, 0.0], [0.0, 0.0]]]]),),
                        args=(2,)),
            ]
        return [
            Subgrad("ties in overlapping windows: first maximum, accumulated",
                    (f([[[1.0, 2.0, 2.0, 0.0, 2.0]]]),), (f([[[0.0, 2.0, 1.0, 0.0, 0.0]]]),),
                    args=(3,), kwargs=dict(stride=1)),
            Subgrad("NaN wins over larger values",
                    (f([[[5.0, np.nan, 7.0, 1.0]]]),), (f([[[0.0, 1.0, 1.0, 0.0]]]),), args=(2,)),
            Subgrad("two NaN: the last takes the gradient",
                    (f([[[np.nan, 9.0, np.nan]]]),), (f([[[0.0, 0.0, 1.0]]]),), args=(3,)),
        ]
    return gen


def _adaptive_max_subgrads(dims):
    f = np.array

    def gen(dtype):
        if dims == 2:
            # 3x3 to 2x2: windows rows/cols [0, 2) and [1, 3) overlap
            return [Subgrad("overlapping adaptive windows with a tie: first maximum, accumulated",
                            (f([[[[0.0, 5.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]]),),
                            (f([[[[0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]]]),),
                            args=((2, 2),))]
        # 4 to 3: windows [0, 2), [1, 3), [2, 4)
        return [Subgrad("overlapping adaptive windows with a tie: first maximum, accumulated",
                        (f([[[1.0, 3.0, 3.0, 0.0]]]),), (f([[[0.0, 2.0, 1.0, 0.0]]]),), args=(3,))]
    return gen


# ---- errors ---------------------------------------------------------------------------
def _x(*shape, dtype=tf.float64):
    return tf.ones(*shape, dtype=dtype)


def _max2d_errors():
    return [
        ErrorInput("kernel larger than the padded input", lambda: F.max_pool2d(_x(1, 1, 4, 4), 7, padding=1),
                   ValueError, r"max_pool2d: the kernel is larger than the padded input: in dim H .*7 "
                   r"elements.*padded input has 6 .*shape \(1, 1, 4, 4\)"),
        ErrorInput("dilated kernel larger than the input", lambda: F.max_pool2d(_x(1, 1, 8, 4), 3, dilation=2),
                   ValueError, r"max_pool2d: the kernel is larger than the padded input: in dim W .*covers 5"),
        ErrorInput("padding above half the kernel", lambda: F.max_pool2d(_x(1, 1, 6, 6), 3, padding=2),
                   ValueError, r"max_pool2d: padding should be at most half of kernel_size, got padding "
                   r"\(2, 2\) and kernel_size \(3, 3\)"),
        ErrorInput("stride 0", lambda: F.max_pool2d(_x(1, 1, 4, 4), 2, stride=0),
                   ValueError, r"max_pool2d: stride must be greater than zero, got \(0, 0\)"),
        ErrorInput("negative stride", lambda: F.max_pool2d(_x(1, 1, 4, 4), 2, stride=(1, -1)),
                   ValueError, r"max_pool2d: stride must be greater than zero, got \(1, -1\)"),
        ErrorInput("kernel 0", lambda: F.max_pool2d(_x(1, 1, 4, 4), (0, 2)),
                   ValueError, r"max_pool2d: kernel_size must be greater than zero, got \(0, 2\)"),
        ErrorInput("dilation 0", lambda: F.max_pool2d(_x(1, 1, 4, 4), 2, dilation=0),
                   ValueError, r"max_pool2d: dilation must be greater than zero"),
        ErrorInput("negative padding", lambda: F.max_pool2d(_x(1, 1, 4, 4), 2, padding=-1),
                   ValueError, r"max_pool2d: padding must be non-negative"),
        ErrorInput("2-D input", lambda: F.max_pool2d(_x(4, 4), 2),
                   ValueError, r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got "
                   r"shape \(4, 4\)"),
        ErrorInput("5-D input", lambda: F.max_pool2d(_x(1, 1, 1, 4, 4), 2),
                   ValueError, r"max_pool2d: expected a 3-D .* got shape \(1, 1, 1, 4, 4\)"),
        ErrorInput("empty channel dim", lambda: F.max_pool2d(_x(2, 0, 4, 4), 2),
                   ValueError, r"max_pool2d: expected an input with non-zero sizes .* \(2, 0, 4, 4\) "
                   r"\(dim 1 is empty\)"),
        ErrorInput("window of padding only", lambda: F.max_pool2d(_x(1, 1, 1, 1), 2, padding=1, dilation=2),
                   ValueError, r"max_pool2d: the window of output 0 in dim H covers only padding"),
        ErrorInput("kernel_size of 3 ints", lambda: F.max_pool2d(_x(1, 1, 4, 4), (2, 2, 2)),
                   ValueError, r"max_pool2d: kernel_size must be a single int, or a tuple of 2 ints"),
        ErrorInput("float kernel_size", lambda: F.max_pool2d(_x(1, 1, 4, 4), 2.0),
                   TypeError, r"max_pool2d: kernel_size must be an int"),
        ErrorInput("int64 input", lambda: F.max_pool2d(_x(1, 1, 4, 4, dtype=tf.int64), 2),
                   TypeError, r"max_pool2d: expected a float32 or float64 input, got int64"),
        ErrorInput("not a tensor", lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2),
                   TypeError, r"max_pool2d: expected a Tensor as input"),
    ]


def _max1d_errors():
    return [
        ErrorInput("kernel larger than the padded input", lambda: F.max_pool1d(_x(1, 1, 3), 6, padding=1),
                   ValueError, r"max_pool1d: the kernel is larger than the padded input: in dim L .*"
                   r"padded input has 5 .*shape \(1, 1, 3\)"),
        ErrorInput("padding above half the kernel", lambda: F.max_pool1d(_x(1, 1, 6), 2, padding=2),
                   ValueError, r"max_pool1d: padding should be at most half of kernel_size, got padding 2 "
                   r"and kernel_size 2"),
        ErrorInput("stride 0", lambda: F.max_pool1d(_x(1, 1, 4), 2, stride=0),
                   ValueError, r"max_pool1d: stride must be greater than zero, got 0"),
        ErrorInput("4-D input", lambda: F.max_pool1d(_x(1, 1, 4, 4), 2),
                   ValueError, r"max_pool1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) input, got shape "
                   r"\(1, 1, 4, 4\)"),
        ErrorInput("1-D input", lambda: F.max_pool1d(_x(4), 2),
                   ValueError, r"max_pool1d: expected a 2-D .* got shape \(4,\)"),
        ErrorInput("kernel_size of 2 ints", lambda: F.max_pool1d(_x(1, 1, 4), (2, 2)),
                   ValueError, r"max_pool1d: kernel_size must be a single int"),
    ]


def _avg2d_errors():
    return [
        ErrorInput("kernel larger than the padded input", lambda: F.avg_pool2d(_x(1, 1, 4, 2), 3),
                   ValueError, r"avg_pool2d: the kernel is larger than the padded input: in dim W"),
        ErrorInput("padding above half the kernel", lambda: F.avg_pool2d(_x(1, 1, 6, 6), 2, padding=(0, 2)),
                   ValueError, r"avg_pool2d: padding should be at most half of kernel_size, got padding "
                   r"\(0, 2\) and kernel_size \(2, 2\)"),
        ErrorInput("stride 0", lambda: F.avg_pool2d(_x(1, 1, 4, 4), 2, stride=(0, 1)),
                   ValueError, r"avg_pool2d: stride must be greater than zero, got \(0, 1\)"),
        ErrorInput("divisor_override 0", lambda: F.avg_pool2d(_x(1, 1, 4, 4), 2, divisor_override=0),
                   ValueError, r"avg_pool2d: divisor_override must be non-zero"),
        ErrorInput("2-D input", lambda: F.avg_pool2d(_x(4, 4), 2),
                   ValueError, r"avg_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got "
                   r"shape \(4, 4\)"),
        ErrorInput("empty width", lambda: F.avg_pool2d(_x(3, 4, 0), 2),
                   ValueError, r"avg_pool2d: expected an input with non-zero sizes .*\(3, 4, 0\)"),
    ]


def _avg1d_errors():
    return [
        ErrorInput("kernel larger than the input", lambda: F.avg_pool1d(_x(3, 1), 2),
                   ValueError, r"avg_pool1d: the kernel is larger than the padded input: in dim L"),
        ErrorInput("padding above half the kernel", lambda: F.avg_pool1d(_x(1, 1, 6), 3, padding=2),
                   ValueError, r"avg_pool1d: padding should be at most half of kernel_size"),
        ErrorInput("stride 0", lambda: F.avg_pool1d(_x(1, 1, 4), 2, stride=0),
                   ValueError, r"avg_pool1d: stride must be greater than zero, got 0"),
        ErrorInput("4-D input", lambda: F.avg_pool1d(_x(1, 1, 4, 4), 2),
                   ValueError, r"avg_pool1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) input"),
    ]


def _adaptive_errors(name, dims):
    fn = getattr(F, name)
    good = (1, 2, 4, 4) if dims == 2 else (1, 2, 4)
    bad_nd = (4, 4, 4, 4, 4) if dims == 2 else (4, 4, 4, 4)
    empty = (2, 0, 4, 4) if dims == 2 else (2, 0, 4)
    neg = (-1, 2) if dims == 2 else (-1,)
    neg_msg = r"\(-1, 2\)" if dims == 2 else "-1"
    return [
        ErrorInput("negative output_size", lambda: fn(_x(*good), neg),
                   ValueError, rf"{name}: output_size must be >= 0, got {neg_msg}"),
        ErrorInput("wrong ndim", lambda: fn(_x(*bad_nd), 2),
                   ValueError, rf"{name}: expected a {'3-D' if dims == 2 else '2-D'} .* got shape "
                   + re.escape(str(bad_nd))),
        ErrorInput("empty channel dim", lambda: fn(_x(*empty), 2),
                   ValueError, rf"{name}: expected an input with non-zero sizes .*\(dim 1 is empty\)"),
        ErrorInput("output_size of the wrong length", lambda: fn(_x(*good), (2, 2, 2)),
                   ValueError, rf"{name}: output_size must be"),
        ErrorInput("int64 input", lambda: fn(_x(*good, dtype=tf.int64), 2),
                   TypeError, rf"{name}: expected a float32 or float64 input, got int64"),
    ]


def _call(name):
    fn = getattr(F, name)
    return lambda x, *a, **k: fn(x, *a, **k)


ENTRIES = [
    OpInfo("nn.functional.max_pool2d", _call("max_pool2d"), _max_ref(2), "nn", kernels=("pool",),
           samples=_fixed_samples(MAX2D), errors=_max2d_errors, differentiable=True, gradgrad=True,
           nondiff="ties in a window (the first maximum takes the gradient)",
           tol={"float32": EXACT, "float64": EXACT},
           large=_large([(s, a, dict(k, return_indices=True), lay, d) for s, a, k, lay, d in LARGE2D],
                        finite_values),
           subgradients=_max_subgrads(2)),
    OpInfo("nn.functional.max_pool1d", _call("max_pool1d"), _max_ref(1), "nn", kernels=("pool",),
           samples=_fixed_samples(MAX1D), errors=_max1d_errors, differentiable=True, gradgrad=True,
           nondiff="ties in a window (the first maximum takes the gradient)",
           tol={"float32": EXACT, "float64": EXACT},
           large=_large([(s, a, dict(k, return_indices=True), lay, d) for s, a, k, lay, d in LARGE1D],
                        finite_values),
           subgradients=_max_subgrads(1)),
    OpInfo("nn.functional.avg_pool2d", _call("avg_pool2d"), _avg_ref(2), "nn", kernels=("pool",),
           samples=_fixed_samples(AVG2D), errors=_avg2d_errors, differentiable=True, gradgrad=True,
           tol=dict(AVG_TOL), large=_large(LARGE2D, finite_values)),
    OpInfo("nn.functional.avg_pool1d", _call("avg_pool1d"), _avg_ref(1), "nn", kernels=("pool",),
           samples=_fixed_samples(AVG1D), errors=_avg1d_errors, differentiable=True, gradgrad=True,
           tol=dict(AVG_TOL), large=_large(LARGE1D, finite_values)),
    OpInfo("nn.functional.adaptive_avg_pool2d", _call("adaptive_avg_pool2d"), _adaptive_ref(2, "avg"), "nn", kernels=("pool",),
           samples=_adaptive_samples(ADAPTIVE2D, "avg"),
           errors=lambda: _adaptive_errors("adaptive_avg_pool2d", 2), differentiable=True, gradgrad=True,
           tol=dict(AVG_TOL), large=_large(LARGE_ADAPTIVE2D, finite_values)),
    OpInfo("nn.functional.adaptive_avg_pool1d", _call("adaptive_avg_pool1d"), _adaptive_ref(1, "avg"), "nn", kernels=("pool",),
           samples=_adaptive_samples(ADAPTIVE1D, "avg"),
           errors=lambda: _adaptive_errors("adaptive_avg_pool1d", 1), differentiable=True, gradgrad=True,
           tol=dict(AVG_TOL), large=_large(LARGE_ADAPTIVE1D, finite_values)),
    OpInfo("nn.functional.adaptive_max_pool2d", _call("adaptive_max_pool2d"), _adaptive_ref(2, "max"), "nn", kernels=("pool",),
           samples=_adaptive_samples(ADAPTIVE2D, "max"),
           errors=lambda: _adaptive_errors("adaptive_max_pool2d", 2), differentiable=True, gradgrad=True,
           nondiff="ties in a window (the first maximum takes the gradient)",
           tol={"float32": EXACT, "float64": EXACT},
           large=_large([(s, a, dict(k, return_indices=True), lay, d) for s, a, k, lay, d in LARGE_ADAPTIVE2D],
                        finite_values),
           subgradients=_adaptive_max_subgrads(2)),
    OpInfo("nn.functional.adaptive_max_pool1d", _call("adaptive_max_pool1d"), _adaptive_ref(1, "max"), "nn", kernels=("pool",),
           samples=_adaptive_samples(ADAPTIVE1D, "max"),
           errors=lambda: _adaptive_errors("adaptive_max_pool1d", 1), differentiable=True, gradgrad=True,
           nondiff="ties in a window (the first maximum takes the gradient)",
           tol={"float32": EXACT, "float64": EXACT},
           large=_large([(s, a, dict(k, return_indices=True), lay, d) for s, a, k, lay, d in LARGE_ADAPTIVE1D],
                        finite_values),
           subgradients=_adaptive_max_subgrads(1)),
]
