"""OpInfo entries of nn.functional's activations (tinyfin/nn/ops/activation.py).

References are NumPy float64, written from the definitions (gelu's from
mpmath: NumPy's erfc form is ill-conditioned for x << 0); the samples are
the standard layouts (0-d, size-0, transposed, strided, expanded, extreme
values), each option (inplace=, the parameters), and for the ops built
here (hardtanh, relu6, hardsigmoid, hardswish, logsigmoid, mish) an mpmath
accuracy sweep. Subgradients: PyTorch's values at the kinks, checked
against torch 2.x by hand: relu'(0) = 0, hardtanh' = 0 at min_val and
max_val (so relu6' = 0 at 0 and 6), hardsigmoid' = 0 at +-3, hardswish'
= 0 at -3 and 1 at 3.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
from mpmath import mpf

import tinyfin as tf
import tinyfin.nn.functional as F

from .opdb import FLOAT, ErrorInput, OpInfo, Sample, Subgrad, Tol, finite_values
from .opdb import quiet_numpy as _np
from .opdb import unary_layout_samples
from .ops_elementwise import mp_gelu, mp_gelu_tanh, mp_vectorized

ULP = lambda f32, f64: {"float32": Tol(ulp=f32), "float64": Tol(ulp=f64)}  # noqa: E731
RTOL = {"float32": Tol(rtol=2e-6, atol=1e-7), "float64": Tol(rtol=1e-14, atol=1e-15)}


def _expit(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def _clip(x, lo, hi):
    """clamp with NaN and -0 kept (x itself where lo <= x <= hi)."""
    return np.where(x < lo, lo, np.where(x > hi, hi, x))


def _hardswish(x):
    return x * _clip(x + 3.0, 0.0, 6.0) / 6.0


def _mish(x):
    # e^x < 2e-18 below -40: tanh(log1p(e^x)) = e^x (1 - e^x/2 ...) to
    # float64 precision; x e^x as x e^(x + 64) e^-64 (x + 64 exact) keeps
    # the results whose e^x is subnormal
    big = np.where(x > 20, x, np.logaddexp(0.0, x))
    tiny = x * np.exp(x + 64.0) * math.exp(-64.0)
    return np.where(x < -40, tiny, x * np.tanh(big))


def _logsigmoid(x):
    return -np.logaddexp(0.0, -x)


REFS = {
    "relu": lambda x, inplace=False: np.where(np.isnan(x), x, np.where(x > 0, x, 0.0)),
    "relu6": lambda x, inplace=False: _clip(x, 0.0, 6.0),
    "leaky_relu": lambda x, negative_slope=0.01, inplace=False: np.where(x > 0, x, x * negative_slope),
    "elu": lambda x, alpha=1.0, inplace=False: np.where(x > 0, x, alpha * np.expm1(x)),
    "gelu": lambda x, approximate="none": (mp_vectorized(mp_gelu, limits=(-0.0, math.inf)) if approximate == "none"
                                           else mp_vectorized(mp_gelu_tanh, limits=(-0.0, math.inf)))(x),
    "silu": lambda x, inplace=False: np.where(np.isneginf(x), -0.0, x * _expit(x)),
    "sigmoid": _expit,  # float64 reference within 2 ULP: tol 3 there
    "tanh": np.tanh,
    "softplus": lambda x, beta=1.0, threshold=20.0: np.where(beta * x > threshold, x,
                                                             np.logaddexp(0.0, beta * x) / beta),
    "hardtanh": lambda x, min_val=-1.0, max_val=1.0, inplace=False: _clip(x, min_val, max_val),
    "hardsigmoid": lambda x, inplace=False: _clip(x + 3.0, 0.0, 6.0) / 6.0,
    "hardswish": lambda x, inplace=False: _hardswish(x),
    "mish": lambda x, inplace=False: _mish(x),
    "logsigmoid": _logsigmoid,
}


def mp_logsigmoid(x):
    return -mpmath.log1p(mpmath.exp(-x))


def mp_mish(x):
    return x * mpmath.tanh(mpmath.log1p(mpmath.exp(x)))


def mp_mish_d(x):
    sp = mpmath.log1p(mpmath.exp(x))
    t = mpmath.tanh(sp)
    s = 1 / (1 + mpmath.exp(-x))
    return t + x * (1 - t * t) * s


def _hardtanh_mp(lo, hi):
    return (lambda x: mpf(lo) if x < lo else mpf(hi) if x > hi else x,
            lambda x: mpf(1) if lo < x < hi else mpf(0))


def _hs_d(x):
    return mpf(0) if x <= -3 else (x / 3 + mpf(0.5) if x < 3 else mpf(1))


MP = {
    "hardtanh": _hardtanh_mp(-1, 1),
    "relu6": _hardtanh_mp(0, 6),
    "hardsigmoid": (lambda x: min(max(x + 3, mpf(0)), mpf(6)) / 6,
                    lambda x: mpf(1) / 6 if -3 < x < 3 else mpf(0)),
    "hardswish": (lambda x: x * min(max(x + 3, mpf(0)), mpf(6)) / 6, _hs_d),
    "logsigmoid": (mp_logsigmoid, lambda x: 1 / (1 + mpmath.exp(x))),
    "mish": (mp_mish, mp_mish_d),
}


def _samples(lo, hi, options=(), inplace=True, large=True):
    """The standard sample set, each option (kwargs) on a matrix and a
    transposed matrix, and inplace=True on a contiguous matrix."""
    def gen(dtype, rng):
        out = unary_layout_samples(dtype, rng, lo, hi)
        if not large:
            out = [s for s in out if not s.desc.startswith("large")]
        for kw in options:
            out.append(Sample((finite_values(dtype, (3, 4), rng, lo, hi),), kwargs=dict(kw),
                              desc=f"{kw}"))
            out.append(Sample((finite_values(dtype, (4, 3), rng, lo, hi),), kwargs=dict(kw),
                              layout="transposed", desc=f"{kw} transposed"))
        if inplace:
            for kw in (options[:1] or ({},)):
                out.append(Sample((finite_values(dtype, (3, 4), rng, lo, hi),),
                                  kwargs=dict(kw, inplace=True), desc=f"{kw} inplace=True",
                                  grad=False))
        return out
    return gen


def _errors(name, call, extra=()):
    errs = [ErrorInput("non-tensor input", lambda: call([1.0]), TypeError,
                       rf"{name}: expected a Tensor")]
    return errs + list(extra)


def _leaf_inplace(name, **kw):
    return ErrorInput("inplace=True on a leaf that requires grad",
                      lambda: getattr(F, name)(tf.ones(3, requires_grad=True), inplace=True, **kw),
                      RuntimeError, r"leaf Variable that requires grad")


def _int_input(name):
    return ErrorInput("int64 input", lambda: getattr(F, name)(tf.tensor([1, 2])), TypeError,
                      rf"{name}: expected a float32 or float64 input, got int64")


def _a(*v):
    return np.array(v, np.float64)


def _entry(name, lo=-4.0, hi=4.0, *, options=(), inplace=True, tol=None, gradgrad=True,
           nondiff="", errors=(), subgradients=(), mp=None, ulp_bound=None, grad_ulp=None,
           large=True, grad_floor=0.0, notes=""):
    fn = getattr(F, name)
    # inplace=True writes into a clone: the sample's tensor stays as it was
    # for the checks that call the op again on it
    call = lambda x, *a, inplace=False, **k: (fn(x.clone(), *a, inplace=True, **k)  # noqa: E731
                                              if inplace else fn(x, *a, **k))
    mp_f, mp_d = MP.get(name, (None, None)) if mp is None else mp
    subs = list(subgradients)
    return OpInfo(
        name=f"nn.functional.{name}", call=call, ref=_np(REFS[name]), kind="unary",
        dtypes=FLOAT, samples=_samples(lo, hi, options, inplace, large),
        errors=lambda: _errors(name, call, errors),
        differentiable=True, gradgrad=gradgrad, nondiff=nondiff,
        tol=tol or ULP(1, 1), mp=mp_f, mp_deriv=mp_d,
        ulp_bound=ulp_bound or ({"float32": 1.0, "float64": 1.0} if mp_f else {}),
        grad_ulp_bound=grad_ulp or ({"float32": 4.0, "float64": 8.0} if mp_d else {}),
        sample_range=(lo, hi), grad_floor=grad_floor, notes=notes,
        subgradients=(lambda dtype: subs) if subs else None)


# ---- softmax family -----------------------------------------------------------
def _softmax_ref(x, dim=None, _stacklevel=3, dtype=None, log=False, neg=False):
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    x = np.asarray(x, np.float64)
    if neg:
        x = -x
    if x.ndim == 0:
        return np.asarray(0.0 if log else 1.0)
    m = np.max(x, axis=dim, keepdims=True) if x.size else 0.0
    e = np.exp(x - m)
    s = np.sum(e, axis=dim, keepdims=True)
    return (x - m - np.log(s)) if log else e / s


def _quiet(f):
    """Call f with the implicit-dim deprecation warning silenced (the tests
    check that it is given)."""
    def g(*a, **k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return f(*a, **k)
    return g


def _softmax_samples(dtype, rng):
    f = lambda shape: finite_values(dtype, shape, rng, -6, 6)  # noqa: E731
    out = [Sample((f((3, 4)),), kwargs=dict(dim=d), desc=f"dim={d}") for d in (0, 1, -1)]
    out += [Sample((f((2, 3, 4)),), kwargs=dict(dim=1), layout="transposed", desc="3-d transposed dim=1"),
            Sample((f((2, 3, 5)),), kwargs=dict(dim=-1), layout="strided", desc="strided dim=-1"),
            Sample((f((5,)),), kwargs=dict(dim=0), desc="vector"),
            Sample((f(()),), kwargs=dict(dim=0), desc="0-d"),
            Sample((f((0, 3)),), kwargs=dict(dim=1), desc="size-0", grad=False),
            Sample((f((3, 4)),), desc="dim=None on 2-d: dim 1"),
            Sample((f((2, 3, 4)),), desc="dim=None on 3-d: dim 0"),
            Sample((f((3, 4)),), kwargs=dict(dim=1, dtype=tf.float64), desc="dtype=float64"),
            Sample((np.array([[1000.0, 999.0, -1000.0], [-np.inf, 0.0, 1.0]], dtype),),
                   kwargs=dict(dim=1), desc="large logits and -inf", grad=False)]
    return out


def _softmax_entry(name, log=False, neg=False):
    call = _quiet(getattr(F, name))
    return OpInfo(
        name=f"nn.functional.{name}", call=call,
        ref=lambda x, **k: _softmax_ref(x, log=log, neg=neg, **k), kind="reduction",
        dtypes=FLOAT, samples=_softmax_samples, differentiable=True, gradgrad=True,
        tol=RTOL, errors=lambda: [
            ErrorInput("non-tensor input", lambda: getattr(F, name)([1.0], dim=0), TypeError,
                       rf"{name}: expected a Tensor"),
            ErrorInput("dim out of range", lambda: getattr(F, name)(tf.ones(2, 3), dim=2),
                       IndexError, r"dim"),
        ])


# ---- the entries ----------------------------------------------------------------
ENTRIES = [
    _entry("relu", tol=ULP(0, 0), gradgrad=True, nondiff="at 0 (gradient 0 there, as PyTorch)",
           errors=[_leaf_inplace("relu")],
           subgradients=[Subgrad("at 0 and -0: 0", (_a(-1, 0, -0.0, 2),), (_a(0, 0, 0, 1),))]),
    _entry("relu6", -2, 8, tol=ULP(0, 0), nondiff="at 0 and 6 (gradient 0 there, as PyTorch)",
           errors=[_leaf_inplace("relu6"), _int_input("relu6")],
           subgradients=[Subgrad("at 0 and 6: 0", (_a(-1, 0, -0.0, 3, 6, 7),),
                                 (_a(0, 0, 0, 1, 0, 0),))]),
    _entry("leaky_relu", options=({"negative_slope": 0.2}, {"negative_slope": -0.5}),
           tol=ULP(0, 0), nondiff="at 0 (gradient negative_slope there)",
           errors=[_leaf_inplace("leaky_relu")],
           subgradients=[Subgrad("at 0: negative_slope", (_a(-1, 0, 1),), (_a(0.01, 0.01, 1),)),
                         Subgrad("at 0: negative_slope 0.2", (_a(-1, 0, 1),), (_a(0.2, 0.2, 1),),
                                 kwargs=dict(negative_slope=0.2))]),
    _entry("elu", options=({"alpha": 0.5}, {"alpha": 2.0}), tol=ULP(2, 2),
           nondiff="second derivative jumps at 0", errors=[_leaf_inplace("elu")],
           subgradients=[Subgrad("at 0: alpha (the left slope)", (_a(0, 1),), (_a(1, 1),)),
                         Subgrad("at 0, alpha=0.5: 0.5", (_a(0, 1),), (_a(0.5, 1),),
                                 kwargs=dict(alpha=0.5))]),
    _entry("gelu", -8, 8, options=({"approximate": "tanh"},), inplace=False, large=False,
           tol=ULP(1, 1), errors=[ErrorInput(
               "bad approximate", lambda: F.gelu(tf.ones(2), approximate="fast"), ValueError,
               r"gelu: approximate must be 'none' or 'tanh'")]),
    # NumPy's float64 x / (1 + e^-x) errs by up to 2 ULP itself
    _entry("silu", -30, 30, tol=ULP(1, 4), errors=[_leaf_inplace("silu")]),
    _entry("sigmoid", -30, 30, inplace=False, tol=ULP(1, 3)),
    _entry("tanh", inplace=False, tol=ULP(1, 1)),
    _entry("softplus", -30, 30, options=({"beta": 2.0, "threshold": 5.0}, {"beta": 0.5}),
           inplace=False, tol=ULP(2, 2),
           nondiff="at the threshold (beta x = threshold) the function jumps",
           errors=[ErrorInput("beta = 0", lambda: F.softplus(tf.ones(2), beta=0), ValueError,
                              r"softplus: beta must be non-zero")],
           subgradients=[Subgrad("above the threshold: 1", (_a(21, 30),), (_a(1, 1),)),
                         Subgrad("beta x above the threshold: 1", (_a(2.6, 3),), (_a(1, 1),),
                                 kwargs=dict(beta=2.0, threshold=5.0))]),
    _entry("hardtanh", -3, 3, options=({"min_val": -2.0, "max_val": 0.5}, {"min_val": 0.5, "max_val": 0.5}),
           tol=ULP(0, 0), nondiff="at min_val and max_val (gradient 0 there, as PyTorch)",
           errors=[_leaf_inplace("hardtanh"), _int_input("hardtanh"),
                   ErrorInput("min_val > max_val",
                              lambda: F.hardtanh(tf.ones(2), 2.0, 1.0), ValueError,
                              r"hardtanh: min_val \(2.0\) cannot be greater than max_val \(1.0\)")],
           subgradients=[Subgrad("at the bounds: 0, strictly inside: 1", (_a(-2, -1, 0, 0.5, 1, 2),),
                                 (_a(0, 0, 1, 1, 0, 0),)),
                         Subgrad("at min_val=-2, max_val=0.5", (_a(-2, -1, 0.5, 0.25),), (_a(0, 1, 0, 1),),
                                 kwargs=dict(min_val=-2.0, max_val=0.5)),
                         Subgrad("NaN passes the gradient (PyTorch)", (_a(np.nan),), (_a(1),))]),
    _entry("hardsigmoid", -5, 5, tol=ULP(1, 1), nondiff="at -3 and 3 (gradient 0 there, as PyTorch)",
           errors=[_leaf_inplace("hardsigmoid"), _int_input("hardsigmoid")],
           subgradients=[Subgrad("at +-3: 0", (_a(-4, -3, 0, 3, 4),), (_a(0, 0, 1 / 6, 0, 0),), ulp=1)]),
    _entry("hardswish", -5, 5, tol=ULP(2, 2),
           nondiff="at -3 (gradient 0) and 3 (gradient 1), as PyTorch",
           errors=[_leaf_inplace("hardswish"), _int_input("hardswish")],
           subgradients=[Subgrad("at -3: 0, at 3: 1", (_a(-4, -3, 0, 1.5, 3, 4),),
                                 (_a(0, 0, 0.5, 1, 1, 1),))],
           ulp_bound={"float32": 1.0, "float64": 2.0}),
    _entry("mish", -20, 20, tol=ULP(3, 4), errors=[_leaf_inplace("mish"), _int_input("mish")],
           ulp_bound={"float32": 1.0, "float64": 3.0}, grad_ulp={"float32": 8.0, "float64": 16.0},
           grad_floor=1.0, notes="composed of softplus, tanh and mul: a few roundings"),
    _entry("logsigmoid", -30, 30, inplace=False, tol=ULP(2, 2), errors=[_int_input("logsigmoid")],
           ulp_bound={"float32": 1.0, "float64": 2.0}, grad_floor=1.0,
           subgradients=[Subgrad("at 0: 1/2 (smooth)", (_a(0.0),), (_a(0.5),))]),
    _softmax_entry("softmax"),
    _softmax_entry("log_softmax", log=True),
    _softmax_entry("softmin", neg=True),
]


# The in-place forms, on a clone of the input: the forward writes into the
# clone, and the gradient flows through the in-place write to the input.
def _inplace_entry(name, base, lo=-4.0, hi=4.0, options=(), subgradients=()):
    fn = getattr(F, name)
    subs = list(subgradients)
    return OpInfo(
        name=f"nn.functional.{name}", call=lambda x, *a, **k: fn(x.clone(), *a, **k),
        ref=_np(lambda x, **k: REFS[base](x, **k)), kind="unary", dtypes=FLOAT,
        samples=_samples(lo, hi, options, inplace=False, large=False),
        errors=lambda: [ErrorInput("leaf that requires grad",
                                   lambda: fn(tf.ones(3, requires_grad=True)), RuntimeError,
                                   r"leaf Variable that requires grad")],
        differentiable=True, gradgrad=True, tol=ULP(2, 2),
        subgradients=(lambda dtype: subs) if subs else None,
        notes=f"{name}(x) writes {base}(x) into x")


ENTRIES += [
    _inplace_entry("relu_", "relu",
                   subgradients=[Subgrad("at 0: 0", (_a(-1, 0, 2),), (_a(0, 0, 1),))]),
    _inplace_entry("leaky_relu_", "leaky_relu", options=({"negative_slope": 0.2},)),
    _inplace_entry("elu_", "elu", options=({"alpha": 0.5},)),
    _inplace_entry("hardtanh_", "hardtanh", -3, 3, options=({"min_val": -2.0, "max_val": 0.5},),
                   subgradients=[Subgrad("at the bounds: 0", (_a(-1, 0, 1),), (_a(0, 1, 0),))]),
]
