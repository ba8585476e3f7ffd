"""OpInfo entries of the reductions (every C reduce op) and softmax /
log_softmax. Forward tolerances are relative to the sample's largest
reference magnitude: a blocked sum of n terms errs by about n eps |x|."""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from .opdb import quiet_numpy as _np
from .opdb import (ALL_DTYPES, FLOAT, NUMERIC, ErrorInput, OpInfo, Sample, Tol,
                   finite_values)

RTOL = {"float32": Tol(rtol=2e-5, atol=1e-6), "float64": Tol(rtol=1e-12, atol=1e-14)}
EXACT = {"float32": Tol(ulp=0), "float64": Tol(ulp=0)}


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def _red(npf):
    return _np(lambda x, dim=None, keepdim=False: np.asarray(
        npf(x, axis=_axis(dim), keepdims=keepdim)))


DIMS = [dict(), dict(dim=0), dict(dim=1, keepdim=True), dict(dim=(0, 1)), dict(dim=-1)]


def _red_samples(lo=-4.0, hi=4.0, empty_ok=True, dims=DIMS, zero_d=True, need_dim=False):
    def gen(dtype, rng):
        f = lambda s: finite_values(dtype, s, rng, lo, hi)  # noqa: E731
        out = []
        if zero_d:
            out.append(Sample((f(()),), desc="0-d"))
        out.append(Sample((f((7,)),), kwargs=dict(dim=0) if need_dim else {}, desc="vector"))
        d1 = dims[min(1, len(dims) - 1)]
        out.append(Sample((f((5,)),), kwargs=dict(dim=0, keepdim=True), desc="vector dim=0 keepdim"))
        for kw in dims:
            out.append(Sample((f((3, 4)),), kwargs=kw, desc=f"matrix {kw}"))
        out.append(Sample((f((3, 4)),), kwargs=dims[-1], layout="transposed", desc="transposed"))
        out.append(Sample((f((2, 3, 4)),), kwargs=dims[-1], layout="strided", desc="step-strided"))
        out.append(Sample((f((4, 5)),), kwargs=d1, layout="expanded", desc="expanded"))
        out.append(Sample((f((2000, 40)),), kwargs=d1, desc="long (blocked, parallel)", grad=False))
        if empty_ok:
            out.append(Sample((f((0, 3)),), kwargs=d1, desc="size-0 reduced", grad=False))
        out.append(Sample((f((0, 3)),), kwargs=dims[-1], desc="size-0 kept", grad=False))
        return out
    return gen


def _errors(name, f, float_only=False):
    errs = [ErrorInput("dim out of range", lambda: f(tf.ones(2, 3), dim=2), IndexError,
                       rf"{name}: dim 2 is out of range")]
    if float_only:
        errs.append(ErrorInput("int64 input", lambda: f(tf.tensor([1, 2]), dim=0), TypeError,
                               rf"{name}: expected a float32 or float64 tensor"))
    return errs


def _entry(name, ref, *, dtypes=NUMERIC, tol=None, samples=None, diff=True,
           gradgrad=True, float_only=False, nondiff="", call=None, variant="",
           methods=None, c_op=True, higham=()):
    call = call or (lambda x, **k: getattr(tf, name)(x, **k))
    return OpInfo(name, call, ref, "reduction", dtypes=dtypes, variant=variant,
                  samples=samples or _red_samples(),
                  errors=(lambda: _errors(name, getattr(tf, name), float_only)) if not variant else (lambda: []),
                  methods=(name,) if methods is None else methods,
                  c_ops=(f"reduce:{name}",) if c_op and not variant else (),
                  differentiable=diff, gradgrad=gradgrad, nondiff=nondiff,
                  tol=tol or dict(RTOL), higham=higham)


def _var(ddof):
    return _np(lambda x, dim=None, keepdim=False: np.asarray(
        np.var(x, axis=_axis(dim), keepdims=keepdim, ddof=ddof)))


def _std(ddof):
    return _np(lambda x, dim=None, keepdim=False: np.asarray(
        np.std(x, axis=_axis(dim), keepdims=keepdim, ddof=ddof)))


def _lse(x, dim, keepdim=False):
    m = np.max(x, axis=_axis(dim), keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    r = np.log(np.sum(np.exp(x - m), axis=_axis(dim), keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=_axis(dim))


def _softmax(x, dim):
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax(x, dim):
    return x - _lse(x, dim, keepdim=True)


def _norm(p):
    def f(x, dim=None, keepdim=False):
        ax = _axis(dim)
        a = np.abs(x)
        if p == np.inf:
            return np.asarray(np.max(a, axis=ax, keepdims=keepdim))
        if p == 0:
            return np.asarray(np.sum(a != 0, axis=ax, keepdims=keepdim), x.dtype)
        return np.asarray(np.sum(a ** p, axis=ax, keepdims=keepdim) ** (1.0 / p))
    return _np(f)


def _only(gen, keep):
    return lambda dtype, rng: [s for s in gen(dtype, rng) if keep(s)]


NE_DIMS = [dict(dim=0), dict(dim=1, keepdim=True), dict(dim=-1)]
ONE_DIMS = [dict(dim=0), dict(dim=1, keepdim=True), dict(dim=-1)]

ENTRIES = [
    _entry("sum", _red(np.sum), dtypes=ALL_DTYPES[:3], higham=("sum", "sum-dim")),
    _entry("mean", _red(np.mean), dtypes=FLOAT, float_only=False,
           higham=("mean", "mean-dim")),
    _entry("prod", _red(np.prod), samples=_red_samples(0.5, 1.5), nondiff="at zeros (formula divides by x)"),
    _entry("var", _var(1), dtypes=FLOAT, float_only=True,
           samples=_red_samples(empty_ok=False, zero_d=False)),
    _entry("var", _var(0), dtypes=FLOAT, variant="correction=0",
           call=lambda x, **k: tf.var(x, correction=0, **k),
           samples=_red_samples(empty_ok=False)),
    _entry("std", _std(1), dtypes=FLOAT, float_only=True,
           samples=_red_samples(empty_ok=False, zero_d=False), nondiff="where the std is 0"),
    _entry("amax", _red(np.max), samples=_red_samples(empty_ok=False), gradgrad=False,
           nondiff="ties share the gradient"),
    _entry("amin", _red(np.min), samples=_red_samples(empty_ok=False), gradgrad=False,
           nondiff="ties share the gradient"),
    _entry("max", _np(lambda x, dim, keepdim=False: (np.max(x, axis=dim, keepdims=keepdim),
                                                     np.argmax(x, axis=dim, keepdims=keepdim))),
           samples=_red_samples(empty_ok=False, dims=ONE_DIMS, zero_d=False, need_dim=True), gradgrad=False),
    _entry("max", _red(np.max), variant="all", call=lambda x: tf.max(x),
           samples=_only(_red_samples(empty_ok=False, dims=[dict()]),
                         lambda s: not s.kwargs and s.inputs[0].size), gradgrad=False),
    _entry("min", _np(lambda x, dim, keepdim=False: (np.min(x, axis=dim, keepdims=keepdim),
                                                     np.argmin(x, axis=dim, keepdims=keepdim))),
           samples=_red_samples(empty_ok=False, dims=ONE_DIMS, zero_d=False, need_dim=True), gradgrad=False),
    _entry("argmax", _np(lambda x, dim=None, keepdim=False: np.asarray(
        np.argmax(x, axis=dim, keepdims=keepdim))), diff=False,
        samples=_red_samples(empty_ok=False, dims=[dict()] + ONE_DIMS)),
    _entry("argmin", _np(lambda x, dim=None, keepdim=False: np.asarray(
        np.argmin(x, axis=dim, keepdims=keepdim))), diff=False,
        samples=_red_samples(empty_ok=False, dims=[dict()] + ONE_DIMS)),
    _entry("logsumexp", _np(_lse), dtypes=FLOAT, float_only=True,
           samples=_red_samples(dims=NE_DIMS, zero_d=False, empty_ok=False, need_dim=True)),
    _entry("norm", _norm(2), dtypes=FLOAT, nondiff="at 0"),
    _entry("norm", _norm(1), dtypes=FLOAT, variant="p=1",
           call=lambda x, **k: tf.norm(x, p=1, **k), nondiff="where an element is 0",
           gradgrad=False),
    _entry("norm", _norm(np.inf), dtypes=FLOAT, variant="p=inf",
           call=lambda x, **k: tf.norm(x, p=float("inf"), **k), gradgrad=False,
           samples=_red_samples(empty_ok=False)),
    _entry("norm", _norm(3), dtypes=FLOAT, variant="p=3",
           call=lambda x, **k: tf.norm(x, p=3, **k)),
    _entry("all", _red(np.all), dtypes=ALL_DTYPES, diff=False),
    _entry("any", _red(np.any), dtypes=ALL_DTYPES, diff=False),
    _entry("softmax", _np(_softmax), dtypes=FLOAT, c_op=False,
           samples=_only(_red_samples(dims=NE_DIMS, zero_d=False, empty_ok=False, need_dim=True),
                         lambda s: "keepdim" not in s.kwargs)),
    _entry("log_softmax", _np(_log_softmax), dtypes=FLOAT, c_op=False,
           samples=_only(_red_samples(dims=NE_DIMS, zero_d=False, empty_ok=False, need_dim=True),
                         lambda s: "keepdim" not in s.kwargs)),
]
# the std C op has its own entry; the errors of max include the empty case
ENTRIES[0].errors = lambda: _errors("sum", tf.sum) + [
    ErrorInput("repeated dim", lambda: tf.sum(tf.ones(2, 3), dim=(0, 0)), IndexError,
               r"sum: dim 0 appears more than once")]


# ---- error inputs of the variants (the base entries' come from _errors): the
# variant's own call with a dim out of range and an int64 input, which these
# float-only reductions reject; max(all) takes no dim and lists its own.
_VARIANT_EXTRA_ERRORS = {
    "var(correction=0)": [
        ErrorInput("unbiased and correction", lambda: tf.var(tf.ones(3), unbiased=True, correction=0),
                   TypeError, r"var: pass either unbiased or correction, not both")],
}


def _variant_errors(op: OpInfo):
    extra = _VARIANT_EXTRA_ERRORS.get(op.id, [])
    return lambda: _errors(op.name, op.call, float_only=True) + extra


for _e in ENTRIES:
    if _e.variant and _e.id != "max(all)":
        _e.errors = _variant_errors(_e)
next(e for e in ENTRIES if e.id == "max(all)").errors = lambda: [
    ErrorInput("empty input", lambda: tf.max(tf.ones(0)), IndexError,
               r"max: cannot reduce over an empty dimension of an input of shape \(0,\)"),
    ErrorInput("non-tensor input", lambda: tf.max([1.0, 2.0]), TypeError,
               r"max: expected a Tensor as input, got list")]
