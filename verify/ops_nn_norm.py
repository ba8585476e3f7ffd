"""OpInfo entries of nn.functional.batch_norm, layer_norm and group_norm
against NumPy float64 references written from the definitions (np.mean and
np.var over the normalized axes, nothing shared with the C kernels).

The samples cover every option: affine forms (weight and bias, either one,
none), training and eval (batch_norm), given and absent running statistics,
momentum and eps values, (N, C), (N, C, L), (N, C, H, W) and longer inputs,
size-0 batches where PyTorch allows them, non-contiguous layouts, and data
with a large mean (1e4 + N(0, 1)), where a one-pass sum-of-squares variance
would cancel. `large` samples reach the kernels' blocked and parallel paths
(units of more than one 4096-element block, past TF_PARALLEL_GRAIN).
The running statistics that batch_norm updates in place are checked by the
"running_stats" variant, which returns them after the call.

Tolerances: the kernels compute in float64 and round once; float32 results
are within a few ULPs of |output| (rtol 2e-6), float64 ones lose what
x - mean loses at a large mean (rtol 1e-11)."""
from __future__ import annotations

import numpy as np

import tinyfin as tf
from tinyfin.nn import functional as F

from .opdb import ErrorInput, OpInfo, Sample, Tol, finite_values

TOL = {"float32": Tol(rtol=2e-6, atol=1e-6), "float64": Tol(rtol=1e-11, atol=1e-12)}
_DT = {"float32": tf.float32, "float64": tf.float64}


def _split(rest, affine):
    """(weight, bias) from the tensors before the trailing args: affine is
    "wb", "w", "b" or "" (which of them the sample passes)."""
    it = iter(rest)
    w = next(it) if "w" in affine else None
    b = next(it) if "b" in affine else None
    return w, b


# ---- batch_norm ---------------------------------------------------------------
def _stats_tensors(x, stats):
    if stats is None:
        return None, None
    rm, rv = stats
    return tuple(tf.tensor(np.asarray(s), dtype=x.dtype, device=x.device) for s in (rm, rv))


def _bn_call(x, *rest, **kw):
    """args after the tensors: (stats, affine); stats (running_mean,
    running_var) as arrays, made fresh tensors of x's dtype for each call
    (training updates them)."""
    stats, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    rm, rv = _stats_tensors(x, stats)
    return F.batch_norm(x, rm, rv, w, b, **kw)


def _bn_stats_call(x, *rest, **kw):
    """The running statistics after one call (batch_norm's side effect)."""
    stats, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    rm, rv = _stats_tensors(x, stats)
    F.batch_norm(x, rm, rv, w, b, **kw)
    return rm, rv


def _bn_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bn_moments(x):
    """The batch's mean and biased variance per channel (float64)."""
    axes = _bn_axes(x)
    return x.mean(axis=axes), x.var(axis=axes)


def _per_channel(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _bn_ref(x, *rest, training=False, momentum=0.1, eps=1e-5):
    stats, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    x = np.asarray(x, np.float64)
    if training or stats is None:
        mean, var = _bn_moments(x) if x.size else (np.zeros(x.shape[1]), np.ones(x.shape[1]))
    else:
        mean, var = np.asarray(stats[0], np.float64), np.asarray(stats[1], np.float64)
    out = (x - _per_channel(mean, x)) / np.sqrt(_per_channel(var, x) + eps)
    if w is not None:
        out = out * _per_channel(np.asarray(w, np.float64), x)
    if b is not None:
        out = out + _per_channel(np.asarray(b, np.float64), x)
    return out


def _bn_stats_ref(x, *rest, training=False, momentum=0.1, eps=1e-5):
    stats = rest[-2]
    rm, rv = (np.asarray(s, np.float64) for s in stats)
    x = np.asarray(x, np.float64)
    n = x.size // x.shape[1] if x.shape[1] else 0
    if not training or n == 0:
        return rm, rv
    axes = _bn_axes(x)
    mean, unbiased = x.mean(axis=axes), x.var(axis=axes, ddof=1)
    return (1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * unbiased


def _affine_inputs(dtype, rng, c_shape, affine):
    out = []
    if "w" in affine:
        out.append(finite_values(dtype, c_shape, rng, 0.5, 2.0))
    if "b" in affine:
        out.append(finite_values(dtype, c_shape, rng, -1.0, 1.0))
    return out


def _large_mean(dtype, shape, rng):
    """1e4 + N(0, 1): the variance (about 1) is 1e-8 of the mean square."""
    return (1e4 + rng.standard_normal(shape)).astype(dtype)


# (shape, training, stats given, affine, momentum, eps, layout, desc extra)
_BN = [
    ((4, 3), True, True, "wb", 0.1, 1e-5, "contiguous", ""),
    ((4, 3), False, True, "wb", 0.1, 1e-5, "contiguous", ""),
    ((4, 3, 5), True, True, "wb", 0.3, 1e-3, "transposed", ""),
    ((4, 3, 5), False, True, "w", 0.1, 1e-5, "strided", ""),
    ((2, 3, 4, 5), True, True, "b", 0.1, 1e-5, "contiguous", ""),
    ((2, 3, 4, 5), False, True, "", 0.1, 1e-5, "transposed", ""),
    ((3, 2, 2, 2, 2), True, False, "wb", 0.1, 1e-5, "contiguous", "5-D"),
    ((5, 2), True, False, "", 0.1, 1e-5, "contiguous", "no running stats"),
    ((5, 2, 3), True, True, "wb", 0.0, 1e-5, "contiguous", "momentum 0"),
    ((5, 2, 3), True, True, "wb", 1.0, 1e-5, "contiguous", "momentum 1"),
    ((0, 3), True, True, "wb", 0.1, 1e-5, "contiguous", "size-0 batch"),
    ((2, 3, 0), True, True, "wb", 0.1, 1e-5, "contiguous", "size-0 length"),
    ((0, 3, 4), False, True, "wb", 0.1, 1e-5, "contiguous", "size-0 eval"),
]


def _bn_samples(dtype, rng, large_mean=True):
    out = []
    for shape, training, given, affine, momentum, eps, layout, extra in _BN:
        x = finite_values(dtype, shape, rng, -3, 3)
        c = shape[1]
        stats = ((finite_values("float64", (c,), rng, -1, 1),
                  finite_values("float64", (c,), rng, 0.5, 2)) if given else None)
        inputs = (x, *_affine_inputs(dtype, rng, (c,), affine))
        kw = {"training": training, "momentum": momentum, "eps": eps}
        out.append(Sample(inputs, args=(stats, affine), kwargs=kw, layout=layout,
                          grad=0 < x.size <= 60,
                          desc=f"{shape} training={training} affine={affine or 'none'} "
                               f"stats={'given' if given else 'none'} {layout} {extra}".strip()))
    if large_mean:
        for shape in ((8, 3, 50), (64, 2)):
            x = _large_mean(dtype, shape, rng)
            stats = (np.full(shape[1], 1e4), np.ones(shape[1]))
            out.append(Sample((x,), args=(stats, ""), kwargs={"training": True},
                              grad=False, desc=f"{shape} mean 1e4 + N(0, 1)"))
    return out


def _bn_stats_samples(dtype, rng):
    return [s for s in _bn_samples(dtype, rng) if s.args[0] is not None]


def _bn_large(dtype, rng):
    """Channels of 4 blocks (16 x 1024 elements), past the parallel grain;
    one channel of 16 blocks, which every split of the work between threads
    cuts; and many small channels (BatchNorm1d's (N, C), runs of one
    element)."""
    out = []
    for shape, layout in (((16, 4, 1024), "contiguous"), ((64, 1, 1024), "contiguous"),
                          ((300, 130), "transposed")):
        x = finite_values(dtype, shape, rng, -3, 3)
        c = shape[1]
        stats = (np.zeros(c), np.ones(c))
        ins = (x, *_affine_inputs(dtype, rng, (c,), "wb"))
        for training in (True, False):
            out.append(Sample(ins, args=(stats, "wb"), kwargs={"training": training},
                              layout=layout, grad=False,
                              desc=f"{shape} {layout} training={training} (blocks, threads)"))
    return out


def _bn_errors():
    x = tf.ones(4, 3)
    return [
        ErrorInput("weight of the wrong size",
                   lambda: F.batch_norm(x, None, None, tf.ones(4), training=True), ValueError,
                   r"batch_norm: expected weight of shape \(3,\) \(the channels of the input "
                   r"of shape \(4, 3\)\), got \(4,\)"),
        ErrorInput("running_mean of the wrong size",
                   lambda: F.batch_norm(tf.ones(2, 5, 2), tf.zeros(3), tf.ones(3)), ValueError,
                   r"batch_norm: expected running_mean of shape \(5,\) \(the channels of the "
                   r"input of shape \(2, 5, 2\)\), got \(3,\)"),
        ErrorInput("eval without running stats", lambda: F.batch_norm(x, None, None),
                   ValueError, r"batch_norm: running_mean and running_var must be given in "
                   r"evaluation mode"),
        ErrorInput("one value per channel in training",
                   lambda: F.batch_norm(tf.ones(1, 3), tf.zeros(3), tf.ones(3), training=True),
                   ValueError, r"Expected more than 1 value per channel when training, got "
                   r"input size \(1, 3\)"),
        ErrorInput("1-D input", lambda: F.batch_norm(tf.ones(3), tf.zeros(3), tf.ones(3)),
                   ValueError, r"batch_norm: expected an input with at least 2 dims, got "
                   r"shape \(3,\)"),
        ErrorInput("int64 input",
                   lambda: F.batch_norm(tf.ones(2, 3, dtype=tf.int64), None, None, training=True),
                   TypeError, r"batch_norm: expected a float32 or float64 input, got int64"),
        ErrorInput("running stats of another dtype",
                   lambda: F.batch_norm(tf.ones(2, 3, dtype=tf.float64), tf.zeros(3), tf.ones(3)),
                   TypeError, r"batch_norm: expected running_mean to have the input's dtype "
                   r"float64, got float32"),
        ErrorInput("momentum None", lambda: F.batch_norm(x, None, None, training=True,
                                                         momentum=None),
                   TypeError, r"batch_norm: momentum must be a float, got NoneType"),
        ErrorInput("not a tensor", lambda: F.batch_norm([1.0], None, None), TypeError,
                   r"batch_norm: expected a Tensor as input, got list"),
    ]


# ---- layer_norm -----------------------------------------------------------------
def _ln_call(x, *rest, **kw):
    shape, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    return F.layer_norm(x, shape, w, b, **kw)


def _ln_ref(x, *rest, eps=1e-5):
    shape, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    x = np.asarray(x, np.float64)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    if x.size:
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        out = (x - mean) / np.sqrt(var + eps)
    else:
        out = x.copy()
    if w is not None:
        out = out * np.asarray(w, np.float64)
    if b is not None:
        out = out + np.asarray(b, np.float64)
    return out


# (input shape, normalized_shape, affine, eps, layout)
_LN = [
    ((3, 4), (4,), "wb", 1e-5, "contiguous"),
    ((3, 4), 4, "wb", 1e-5, "transposed"),
    ((2, 3, 4), (3, 4), "w", 1e-5, "contiguous"),
    ((2, 3, 4), [4], "b", 1e-3, "strided"),
    ((2, 3, 4), (2, 3, 4), "", 1e-5, "transposed"),
    ((5,), (5,), "wb", 1e-5, "contiguous"),
    ((0, 4), (4,), "wb", 1e-5, "contiguous"),
    ((3, 0), (0,), "", 1e-5, "contiguous"),
]


def _ln_samples(dtype, rng):
    out = []
    for shape, nshape, affine, eps, layout in _LN:
        x = finite_values(dtype, shape, rng, -3, 3)
        wshape = (nshape,) if isinstance(nshape, int) else tuple(nshape)
        inputs = (x, *_affine_inputs(dtype, rng, wshape, affine))
        out.append(Sample(inputs, args=(nshape, affine), kwargs={"eps": eps}, layout=layout,
                          grad=0 < x.size <= 60,
                          desc=f"{shape} over {nshape} affine={affine or 'none'} {layout}"))
    for shape in ((4, 300), (2, 3, 64)):
        x = _large_mean(dtype, shape, rng)
        out.append(Sample((x,), args=(shape[-1:], ""), grad=False,
                          desc=f"{shape} mean 1e4 + N(0, 1)"))
    return out


def _ln_large(dtype, rng):
    """Rows of 5000 (two blocks), and many rows of 512 (one block each,
    statistics and output fused) past the parallel grain."""
    out = []
    for shape, layout in (((8, 5000), "contiguous"), ((80, 512), "transposed")):
        x = finite_values(dtype, shape, rng, -3, 3)
        ins = (x, *_affine_inputs(dtype, rng, shape[-1:], "wb"))
        out.append(Sample(ins, args=(shape[-1:], "wb"), layout=layout, grad=False,
                          desc=f"{shape} {layout} (blocks, threads)"))
    return out


def _ln_errors():
    return [
        ErrorInput("normalized_shape does not match",
                   lambda: F.layer_norm(tf.ones(2, 4), (5,)), ValueError,
                   r"layer_norm: Given normalized_shape=\[5\], expected input with shape "
                   r"\[\*, 5\], but got input of size \(2, 4\)"),
        ErrorInput("normalized_shape longer than the input",
                   lambda: F.layer_norm(tf.ones(4), (1, 4)), ValueError,
                   r"layer_norm: Given normalized_shape=\[1, 4\]"),
        ErrorInput("weight of the wrong shape",
                   lambda: F.layer_norm(tf.ones(2, 4), (4,), tf.ones(3)), ValueError,
                   r"layer_norm: expected weight of shape \(4,\) \(the input's last 1 dims\), "
                   r"got \(3,\)"),
        ErrorInput("bias of another dtype",
                   lambda: F.layer_norm(tf.ones(2, 4), (4,), None, tf.ones(4, dtype=tf.float64)),
                   TypeError, r"layer_norm: expected bias to have the input's dtype float32"),
        ErrorInput("normalized_shape not ints", lambda: F.layer_norm(tf.ones(2, 4), "4"),
                   TypeError, r"layer_norm: normalized_shape"),
    ]


# ---- group_norm -----------------------------------------------------------------
def _gn_call(x, *rest, **kw):
    groups, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    return F.group_norm(x, groups, w, b, **kw)


def _gn_ref(x, *rest, eps=1e-5):
    groups, affine = rest[-2], rest[-1]
    w, b = _split(rest[:-2], affine)
    x = np.asarray(x, np.float64)
    n, c = x.shape[:2]
    out = np.empty_like(x)
    for i in range(n):          # one group at a time, by the definition
        for g in range(groups):
            chans = slice(g * (c // groups), (g + 1) * (c // groups))
            part = x[i, chans]
            out[i, chans] = (part - part.mean()) / np.sqrt(part.var() + eps)
    if w is not None:
        out = out * _per_channel(np.asarray(w, np.float64), x)
    if b is not None:
        out = out + _per_channel(np.asarray(b, np.float64), x)
    return out


# (shape, groups, affine, eps, layout)
_GN = [
    ((2, 6, 3), 3, "wb", 1e-5, "contiguous"),
    ((2, 6, 3), 3, "w", 1e-5, "transposed"),
    ((2, 6), 2, "wb", 1e-5, "contiguous"),
    ((2, 4, 3, 2), 1, "b", 1e-3, "strided"),
    ((2, 4, 3), 4, "", 1e-5, "contiguous"),
    ((3, 4, 2), 2, "wb", 1e-5, "transposed"),
    ((0, 6, 3), 3, "wb", 1e-5, "contiguous"),
    ((2, 6, 0), 3, "wb", 1e-5, "contiguous"),
]


def _gn_samples(dtype, rng):
    out = []
    for shape, groups, affine, eps, layout in _GN:
        x = finite_values(dtype, shape, rng, -3, 3)
        inputs = (x, *_affine_inputs(dtype, rng, (shape[1],), affine))
        out.append(Sample(inputs, args=(groups, affine), kwargs={"eps": eps}, layout=layout,
                          grad=0 < x.size <= 60,
                          desc=f"{shape} groups={groups} affine={affine or 'none'} {layout}"))
    x = _large_mean(dtype, (3, 4, 40), rng)
    out.append(Sample((x,), args=(2, ""), grad=False, desc="(3, 4, 40) mean 1e4 + N(0, 1)"))
    return out


def _gn_large(dtype, rng):
    """Groups of 8000 elements (two blocks), channels of 2000; and a
    LayerNorm-like S = 1 form with several groups."""
    out = []
    for shape, groups in (((4, 8, 2000), 2), ((300, 120), 4)):
        x = finite_values(dtype, shape, rng, -3, 3)
        ins = (x, *_affine_inputs(dtype, rng, (shape[1],), "wb"))
        out.append(Sample(ins, args=(groups, "wb"), grad=False,
                          desc=f"{shape} groups={groups} (blocks, threads)"))
    return out


def _gn_errors():
    return [
        ErrorInput("channels not divisible by num_groups",
                   lambda: F.group_norm(tf.ones(2, 6, 3), 4), ValueError,
                   r"group_norm: expected the number of channels of the input of shape "
                   r"\(2, 6, 3\) \(6\) to be divisible by num_groups=4"),
        ErrorInput("weight of the wrong size",
                   lambda: F.group_norm(tf.ones(2, 6, 3), 3, tf.ones(5)), ValueError,
                   r"group_norm: expected weight of shape \(6,\) \(the channels of the input "
                   r"of shape \(2, 6, 3\)\), got \(5,\)"),
        ErrorInput("1-D input", lambda: F.group_norm(tf.ones(6), 3), ValueError,
                   r"group_norm: expected an input with at least 2 dims \(N, C, \*\), got "
                   r"shape \(6,\)"),
        ErrorInput("num_groups 0", lambda: F.group_norm(tf.ones(2, 6), 0), ValueError,
                   r"group_norm: num_groups must be positive, got 0"),
    ]


def _entry(name, call, ref, samples, errors, large, variant="", differentiable=True):
    return OpInfo(name, call, ref, "reduction", samples=samples, errors=errors,
                  differentiable=differentiable, gradgrad=differentiable, tol=dict(TOL),
                  large=large, variant=variant, kernels=("normalize",))


ENTRIES = [
    _entry("nn.functional.batch_norm", _bn_call, _bn_ref, _bn_samples, _bn_errors, _bn_large),
    _entry("nn.functional.batch_norm", _bn_stats_call, _bn_stats_ref, _bn_stats_samples,
           lambda: [], None, variant="running_stats", differentiable=False),
    _entry("nn.functional.layer_norm", _ln_call, _ln_ref, _ln_samples, _ln_errors, _ln_large),
    _entry("nn.functional.group_norm", _gn_call, _gn_ref, _gn_samples, _gn_errors, _gn_large),
]
