"""OpInfo entries of the reductions (every C reduce op) and softmax /
log_softmax. Forward tolerances are relative to the sample's largest
reference magnitude: a blocked sum of n terms errs by about n eps |x|."""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from .bounds import reduction_bound
from .opdb import quiet_numpy as _np
from .opdb import (ALL_DTYPES, FLOAT, NUMERIC, ErrorInput, OpInfo, Sample, Subgrad, Tol,
                   finite_values, grid_values)

RTOL = {"float32": Tol(rtol=2e-5, atol=1e-6), "float64": Tol(rtol=1e-12, atol=1e-14)}
EXACT = {"float32": Tol(ulp=0), "float64": Tol(ulp=0)}


def _axis(dim):
    """NumPy's axis for a tinyfin dim: None and () both reduce every dim (as
    in PyTorch; NumPy's axis=() reduces none)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else dim


def _in(x, dtype):
    """x converted to a requested dtype= (a tinyfin dtype), as the op does."""
    return x if dtype is None else x.astype(dtype.numpy)


def _red(npf):
    return _np(lambda x, dim=None, keepdim=False, dtype=None: np.asarray(
        npf(_in(x, dtype), axis=_axis(dim), keepdims=keepdim)))


DIMS = [dict(), dict(dim=0), dict(dim=1, keepdim=True), dict(dim=(0, 1)), dict(dim=-1)]
# The dim forms beyond DIMS, for the reductions that take several dims:
# keepdim with every dim, a list with a negative dim, dim=() (every dim, as
# PyTorch), and two dims that are not adjacent.
MULTI_DIM_OPTIONS = [((3, 4), dict(keepdim=True)), ((3, 4), dict(dim=[0, -1])),
                     ((3, 4), dict(dim=())), ((2, 3, 4), dict(dim=(-1, 0), keepdim=True)),
                     ((2, 3, 4), dict(dim=(0, 2)))]
ONE_DIM_OPTIONS = [((2, 3, 4), dict(dim=-2, keepdim=True)), ((2, 3, 4), dict(dim=2))]


def _red_samples(lo=-4.0, hi=4.0, empty_ok=True, dims=DIMS, zero_d=True, need_dim=False,
                 options=(), extra=None):
    """The standard samples over `dims`, then `options` ((shape, kwargs)
    pairs: the op's other dim forms and keywords) and `extra(dtype, rng)`
    (samples of their own, e.g. an int64 input with dtype=float64)."""
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
        for shape, kw in options:
            out.append(Sample((f(shape),), kwargs=kw, desc=f"{shape} {kw}"))
        if extra is not None:
            out.extend(extra(dtype, rng))
        return out
    return gen


def _dtype_samples(*pairs):
    """extra samples: (input dtype, dtype= keyword) pairs, each on a matrix
    over dim 1, in every row of the entry (the result's dtype is the one
    asked for, whatever the row's)."""
    def gen(dtype, rng):
        return [Sample((finite_values(src, (3, 4), rng, 0.5, 1.5),),
                       kwargs=dict(dim=1, dtype=getattr(tf, want)),
                       desc=f"{src} input, dtype={want}", grad=False) for src, want in pairs]
    return gen


# ---- samples for the blocked paths (checks/paths.py) ------------------------------
# reduce.c cuts each output's reduced elements into blocks of 4096 (256 when a
# task gathers a tile of up to 16 neighbouring outputs, for reductions over
# outer dims) and runs in parallel from 32768 elements. Each spec reaches one
# of its paths: several blocks per output along memory (inner), a tile of 5
# outputs over 36 blocks (outer), 16-wide tiles and a partial one (tile), one
# output over 11 blocks (all), reduced dims that are not adjacent, so that a
# block starts in the middle of the outer one (apart), and a transposed input.
LARGE_SPECS = {
    "inner": ((4, 9000), dict(dim=1), "contiguous"),
    "outer": ((9000, 5), dict(dim=0), "contiguous"),
    "tile": ((600, 70), dict(dim=0, keepdim=True), "contiguous"),
    "all": ((150, 300), dict(), "contiguous"),
    "apart": ((60, 4, 150), dict(dim=(0, 2)), "contiguous"),
    "transposed": ((9000, 4), dict(dim=0), "transposed"),
}
ONE_DIM_SPECS = ("inner", "outer", "tile", "transposed")


def _near_one(dtype, shape, rng):
    """Factors for long products: +-(1 + small), bounded far from 0 and inf."""
    if dtype == "bool":
        return rng.random(shape) < 0.999
    if dtype == "int64":
        return rng.choice(np.array([-2, -1, 1, 1, 1, 2]), size=shape)
    mag = 1 + rng.uniform(-1 / 64, 1 / 64, shape)
    return np.where(rng.random(shape) < 0.5, -mag, mag).astype(dtype)


def _rare(fill):
    """For all/any: every element `fill`, but a few, so that whether an
    output holds one of them depends on a single block."""
    def values(dtype, shape, rng):
        x = np.full(shape, fill)
        x[rng.random(shape) < 1e-4] = not fill
        return x.astype(dtype) if dtype != "bool" else x.astype(bool)
    return values


def _large(specs=tuple(LARGE_SPECS), values=grid_values, kw=lambda k: k):
    def gen(dtype, rng):
        out = []
        for name in specs:
            shape, kwargs, layout = LARGE_SPECS[name]
            kwargs = kw(dict(kwargs))
            if kwargs is not None:
                out.append(Sample((values(dtype, shape, rng),), kwargs=kwargs, layout=layout,
                                  desc=f"{name} {shape} {kwargs}", grad=False))
        return out
    return gen


def _need_dim(k):
    """logsumexp has no default dim: reduce every dim explicitly."""
    return k if "dim" in k else dict(k, dim=(0, 1))


def _no_keepdim(k):
    k.pop("keepdim", None)
    return k


def _errors(name, f, float_only=False):
    errs = [ErrorInput("dim out of range", lambda: f(tf.ones(2, 3), dim=2), IndexError,
                       rf"{name}: dim 2 is out of range")]
    if float_only:
        errs.append(ErrorInput("int64 input", lambda: f(tf.tensor([1, 2]), dim=0), TypeError,
                               rf"{name}: expected a float32 or float64 tensor"))
    return errs


def _entry(name, ref, *, dtypes=NUMERIC, tol=None, samples=None, diff=True,
           gradgrad=True, float_only=False, nondiff="", call=None, variant="",
           methods=None, c_op=True, higham=(), large=None, bound=None, subgradients=None):
    call = call or (lambda x, *a, **k: getattr(tf, name)(x, *a, **k))
    return OpInfo(name, call, ref, "reduction", dtypes=dtypes, variant=variant,
                  samples=samples or _red_samples(options=MULTI_DIM_OPTIONS),
                  errors=(lambda: _errors(name, getattr(tf, name), float_only)) if not variant else (lambda: []),
                  methods=(name,) if methods is None else methods,
                  c_ops=(f"reduce:{name}",) if c_op and not variant else (),
                  # a variant runs its base's C op (which the base entry covers)
                  kernels=(name,) if c_op and variant else (),
                  differentiable=diff, gradgrad=gradgrad, nondiff=nondiff,
                  tol=tol or dict(RTOL), higham=higham, large=large or _large(),
                  error_bound=None if bound is None else reduction_bound(bound),
                  subgradients=subgradients)


def _ddof(dim, unbiased, correction):
    """(dim, ddof) by PyTorch's rule: correction if given, else 1 unless
    unbiased is False; a bool in dim's place is the legacy var(x, unbiased)."""
    if np.asarray(dim).dtype == np.bool_:  # quiet_numpy made the flag an array
        dim, unbiased = None, bool(dim)
    return dim, (correction if correction is not None else 0 if unbiased is False else 1)


def _moment(npf, correction=None):
    def f(x, dim=None, unbiased=None, keepdim=False, correction=correction):
        dim, ddof = _ddof(dim, unbiased, correction)
        return np.asarray(npf(x, axis=_axis(dim), keepdims=keepdim, ddof=ddof))
    return _np(f)


def _lse(x, dim, keepdim=False):
    m = np.max(x, axis=_axis(dim), keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    r = np.log(np.sum(np.exp(x - m), axis=_axis(dim), keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=_axis(dim))


def _softmax(x, dim, dtype=None):
    x = _in(x, dtype)
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax(x, dim, dtype=None):
    x = _in(x, dtype)
    return x - _lse(x, dim, keepdim=True)


def _norm(p):
    def f(x, p=p, dim=None, keepdim=False, dtype=None):
        p = 2.0 if p in (None, "fro") else p
        ax = _axis(dim)
        a = np.abs(_in(x, dtype))
        if p == np.inf:
            return np.asarray(np.max(a, axis=ax, keepdims=keepdim))
        if p == -np.inf:
            return np.asarray(np.min(a, axis=ax, keepdims=keepdim))
        if p == 0:
            return np.asarray(np.sum(a != 0, axis=ax, keepdims=keepdim), a.dtype)
        return np.asarray(np.sum(a ** p, axis=ax, keepdims=keepdim) ** (1.0 / p))
    return _np(f)


def _only(gen, keep):
    return lambda dtype, rng: [s for s in gen(dtype, rng) if keep(s)]


NE_DIMS = [dict(dim=0), dict(dim=1, keepdim=True), dict(dim=-1)]
ONE_DIMS = [dict(dim=0), dict(dim=1, keepdim=True), dict(dim=-1)]


# ---- subgradients (checks/subgradients.py): PyTorch's conventions -----------------
def _a(*rows):
    return np.array(rows, np.float64)


def _ties(name):
    """amax / amin / max() / min() share the gradient evenly among the tied
    extremes (of each reduced slice); max / min along a dim send all of it to
    the returned index, the first extreme, or the first NaN."""
    big = name.startswith(("amax", "max"))
    x = _a([1, 3, 3], [2, 2, 2]) if big else _a([1, 1, 3], [2, 2, 2])
    first = _a([0, 1, 0], [1, 0, 0]) if big else _a([1, 0, 0], [1, 0, 0])
    third = 1 / 3
    if name in ("amax", "amin"):
        share = _a([0, .5, .5], [third, third, third]) if big else _a([.5, .5, 0], [third, third, third])
        return lambda dt: [Subgrad("ties over dim 1", (x,), (share,), kwargs=dict(dim=1)),
                           Subgrad("ties over every dim", (x,), (_a([0, .5, .5], [0, 0, 0]) if big else
                                                                 _a([.5, .5, 0], [0, 0, 0]),))]
    if name in ("max", "min"):
        nan = _a(1, np.nan, np.nan)
        return lambda dt: [Subgrad("ties along dim 1", (x,), (first,), args=(1,)),
                           Subgrad("ties along dim 1, keepdim", (x,), (first,), args=(1, True)),
                           Subgrad("first NaN wins", (nan,), (_a(0, 1, 0),), args=(0,))]
    everywhere = _a([1, 3, 3], [2, 2, 3]) if big else _a([1, 1, 2], [1, 3, 3])
    return lambda dt: [Subgrad("ties over every dim", (everywhere,),
                               (_a([0, third, third], [0, 0, third]) if big else
                                _a([third, third, 0], [third, 0, 0]),)),
                       Subgrad("NaNs share it", (_a(1, np.nan, np.nan),), (_a(0, .5, .5),))]


def _norm_subgradients(p):
    """The norm's gradient is 0 where the norm is 0 (and, for p < 2, at zero
    elements); p = +-inf shares it evenly among the largest (smallest) |x|."""
    cases = {
        2: [Subgrad("zero vector", (_a(0, 0, 0),), (_a(0, 0, 0),)),
            Subgrad("a zero row over dim 1", (_a([0, 0], [3, 4]),), (_a([0, 0], [.6, .8]),),
                    kwargs=dict(dim=1, keepdim=True), ulp=1)],
        1: [Subgrad("zero elements", (_a(0, 1, -2),), (_a(0, 1, -1),))],
        3: [Subgrad("zero vector", (_a(0, 0, 0),), (_a(0, 0, 0),))],
        np.inf: [Subgrad("ties of |x|", (_a(-2, 1, 2),), (_a(-.5, 0, .5),))],
        -np.inf: [Subgrad("ties of |x|", (_a(-2, 1, -1),), (_a(0, .5, -.5),))],
        0.5: [Subgrad("zero elements", (_a(0, 0, 1),), (_a(0, 0, 1),), ulp=4)],
        1.5: [Subgrad("zero elements", (_a(0, 0, 2),), (_a(0, 0, 1),), ulp=4)],
        0: [Subgrad("counts have no slope", (_a(0, 1, 4),), (_a(0, 0, 0),))],
    }[p]
    return lambda dt: cases


SUBGRADIENTS = {
    # std is 0 for a constant slice: its gradient there is 0, not NaN
    "std": lambda dt: [Subgrad("constant slice over dim 1", (_a([2, 2, 2], [1, 2, 3]),),
                               (_a([0, 0, 0], [-.5, 0, .5]),), kwargs=dict(dim=1))],
    # prod is differentiated exactly at zeros: the product of the others
    "prod": lambda dt: [Subgrad("one zero", (_a(0, 2, 3),), (_a(6, 0, 0),)),
                        Subgrad("two zeros", (_a(0, 2, 0),), (_a(0, 0, 0),)),
                        Subgrad("a zero in one row", (_a([0, 2, 3], [1, 2, 4]),),
                                (_a([6, 0, 0], [8, 4, 2]),), kwargs=dict(dim=1))],
}
EXTREME_ONE = _red_samples(empty_ok=False, dims=ONE_DIMS, zero_d=False, need_dim=True,
                           options=ONE_DIM_OPTIONS)
_MOMENT_OPTIONS = [((3, 4), dict(unbiased=False)), ((3, 4), dict(dim=1, unbiased=True)),
                   ((3, 4), dict(dim=0, correction=2)), ((5, 4), dict(dim=(0, 1), correction=0.5)),
                   ((3, 4), dict(dim=1, keepdim=True, correction=0))]


def _legacy_unbiased(dtype, rng):
    """var(x, False): the legacy positional unbiased flag."""
    return [Sample((finite_values(dtype, (3, 4), rng),), args=(False,), desc="var(x, False)")]


_NORM_OPTIONS = [((3, 4), dict(p="fro", dim=1)), ((3, 4), dict(p=None)),
                 ((3, 4), dict(p=2.0, dim=0, keepdim=True))]

def _extreme_entries(name, npf, argf):
    """amax, max (along a dim: values and indices), max() (every dim) and
    argmax; the same four for min."""
    return [
        _entry(f"a{name}", _red(npf), dtypes=ALL_DTYPES, samples=_red_samples(
            empty_ok=False, options=MULTI_DIM_OPTIONS), gradgrad=False, bound="exact",
            nondiff="ties share the gradient", subgradients=_ties(f"a{name}")),
        _entry(name, _np(lambda x, dim, keepdim=False: (npf(x, axis=dim, keepdims=keepdim),
                                                        argf(x, axis=dim, keepdims=keepdim))),
               dtypes=ALL_DTYPES, samples=EXTREME_ONE, gradgrad=False, bound="exact",
               large=_large(ONE_DIM_SPECS), subgradients=_ties(name)),
        _entry(name, _red(npf), variant="all", call=lambda x: getattr(tf, name)(x),
               dtypes=ALL_DTYPES, samples=_only(_red_samples(empty_ok=False, dims=[dict()]),
                                                lambda s: not s.kwargs and s.inputs[0].size),
               gradgrad=False, bound="exact", large=_large(("all",)), subgradients=_ties(f"{name}()")),
        _entry(f"arg{name}", _np(lambda x, dim=None, keepdim=False: np.asarray(
            argf(x, axis=dim, keepdims=keepdim))), diff=False, dtypes=ALL_DTYPES,
            samples=_red_samples(empty_ok=False, dims=[dict()] + ONE_DIMS,
                                 options=ONE_DIM_OPTIONS + [((3, 4), dict(keepdim=True))]),
            large=_large(ONE_DIM_SPECS + ("all",)))]


EXTREMES = [("max", np.max, np.argmax), ("min", np.min, np.argmin)]

ENTRIES = [
    _entry("sum", _red(np.sum), dtypes=ALL_DTYPES, higham=("sum", "sum-dim"), bound="sum",
           samples=_red_samples(options=MULTI_DIM_OPTIONS, extra=_dtype_samples(
               ("int64", "float64"), ("float32", "float64"), ("bool", "int64"), ("bool", "float32")))),
    _entry("mean", _red(np.mean), dtypes=FLOAT, float_only=True,
           higham=("mean", "mean-dim"), bound="mean",
           samples=_red_samples(options=MULTI_DIM_OPTIONS, extra=_dtype_samples(
               ("int64", "float64"), ("float32", "float64")))),
    _entry("prod", _red(np.prod), dtypes=ALL_DTYPES, bound="prod",
           samples=_red_samples(0.5, 1.5, options=MULTI_DIM_OPTIONS, extra=_dtype_samples(
               ("int64", "float64"), ("bool", "int64"))),
           nondiff="at zeros (formula divides by x)", large=_large(values=_near_one),
           subgradients=SUBGRADIENTS["prod"]),
    _entry("var", _moment(np.var), dtypes=FLOAT, float_only=True,
           samples=_red_samples(empty_ok=False, zero_d=False,
                                options=MULTI_DIM_OPTIONS + _MOMENT_OPTIONS, extra=_legacy_unbiased)),
    _entry("var", _moment(np.var, correction=0), dtypes=FLOAT, variant="correction=0",
           call=lambda x, **k: tf.var(x, correction=0, **k),
           samples=_red_samples(empty_ok=False)),
    _entry("std", _moment(np.std), dtypes=FLOAT, float_only=True,
           samples=_red_samples(empty_ok=False, zero_d=False,
                                options=MULTI_DIM_OPTIONS + _MOMENT_OPTIONS),
           nondiff="where the std is 0", subgradients=SUBGRADIENTS["std"]),
] + [e for name, npf, argf in EXTREMES for e in _extreme_entries(name, npf, argf)] + [
    _entry("logsumexp", _np(_lse), dtypes=FLOAT, float_only=True,
           samples=_red_samples(dims=NE_DIMS, zero_d=False, empty_ok=False, need_dim=True,
                                options=[o for o in MULTI_DIM_OPTIONS if "dim" in o[1]]),
           large=_large(kw=_need_dim)),
    _entry("norm", _norm(2), dtypes=FLOAT, nondiff="at 0",
           samples=_red_samples(options=MULTI_DIM_OPTIONS + _NORM_OPTIONS, extra=_dtype_samples(
               ("float32", "float64"))), subgradients=_norm_subgradients(2)),
]
for _p, _diff, _gg, _nd in [(1, True, False, "where an element is 0"), (np.inf, True, False, "at ties"),
                            (3, True, True, ""), (0, True, False, "a count: zero slope"),
                            (-np.inf, True, False, "at ties"), (0.5, True, False, "at zeros"),
                            (1.5, True, False, "at zeros")]:
    _name = {np.inf: "inf", -np.inf: "-inf"}.get(_p, str(_p))
    ENTRIES.append(_entry(
        "norm", _norm(_p), dtypes=FLOAT, variant=f"p={_name}", diff=_diff, gradgrad=_gg,
        nondiff=_nd, call=(lambda p: lambda x, **k: tf.norm(x, p=p, **k))(float(_p)),
        # -inf: min |x| is drawn to the kink of |x| at 0, where central
        # differences straddle it; its samples keep away from 0
        samples=_red_samples(*((0.5, 4.0) if _p == -np.inf else (-4.0, 4.0)),
                             empty_ok=not np.isinf(_p), options=MULTI_DIM_OPTIONS),
        subgradients=_norm_subgradients(_p)))
ENTRIES += [
    _entry("all", _red(np.all), dtypes=ALL_DTYPES, diff=False, bound="exact",
           large=_large(values=_rare(True))),
    _entry("any", _red(np.any), dtypes=ALL_DTYPES, diff=False, bound="exact",
           large=_large(values=_rare(False))),
    _entry("softmax", _np(_softmax), dtypes=FLOAT, c_op=False,
           samples=_only(_red_samples(dims=NE_DIMS, zero_d=False, empty_ok=False, need_dim=True,
                                      extra=_dtype_samples(("float32", "float64"))),
                         lambda s: "keepdim" not in s.kwargs),
           large=_large(ONE_DIM_SPECS, kw=_no_keepdim)),
    _entry("log_softmax", _np(_log_softmax), dtypes=FLOAT, c_op=False,
           samples=_only(_red_samples(dims=NE_DIMS, zero_d=False, empty_ok=False, need_dim=True,
                                      extra=_dtype_samples(("float32", "float64"))),
                         lambda s: "keepdim" not in s.kwargs),
           large=_large(ONE_DIM_SPECS, kw=_no_keepdim)),
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


def _all_errors(name):
    f = getattr(tf, name)
    return lambda: [
        ErrorInput("empty input", lambda: f(tf.ones(0)), IndexError,
                   rf"{name}: cannot reduce over an empty dimension of an input of shape \(0,\)"),
        ErrorInput("non-tensor input", lambda: f([1.0, 2.0]), TypeError,
                   rf"{name}: expected a Tensor as input, got list")]


for _e in ENTRIES:
    if _e.id in ("max(all)", "min(all)"):
        _e.errors = _all_errors(_e.name)
    elif _e.variant:
        _e.errors = _variant_errors(_e)
