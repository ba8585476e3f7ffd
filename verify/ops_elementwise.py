"""OpInfo entries of the elementwise ops: every unary and binary C op
(tinyfin_ops.def), where, and the Tensor operators / in-place forms.

Unary math functions carry an mpmath reference and derivative; the accuracy
check (verify/checks/accuracy.py) sweeps them over the whole float line and
then searches for their worst inputs (checks/worst_case.py, around the
switch points listed here). Bounds are the worst real-valued ULP error
found, rounded up, and never looser than the targets (1 ULP for float32 and
float64).
"""
from __future__ import annotations

import inspect
import math

import mpmath
import numpy as np

import tinyfin as tf

from .op_kinds import binary_ops
from .opdb import quiet_numpy as _np
from .opdb import (ALL_DTYPES, FLOAT, NUMERIC, OUT, ErrorInput, OpInfo, Sample, Subgrad, Tol,
                   extreme_values, finite_values, iterator_samples, unary_layout_samples)

mpf = mpmath.mpf
F32_1, F64_4 = Tol(ulp=1), Tol(ulp=4)
UNARY_TOL = {"float32": F32_1, "float64": F64_4}
EXACT_TOL = {"float32": Tol(ulp=0), "float64": Tol(ulp=0)}


def expit(x):
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def mp_vectorized(f, prec: int = 128, limits=(math.nan, math.nan)):
    """A float64 ufunc computing f in mpmath at `prec` bits and rounding once
    (used as the float64 forward reference of ill-conditioned functions)."""
    from mpmath.libmp import to_float

    def scalar(x):
        if math.isnan(x):
            return math.nan
        if math.isinf(x):
            return limits[x > 0]
        if x == 0:
            return x * 0.5  # keeps the sign of zero, as x * Phi(x)
        with mpmath.workprec(prec):
            return to_float(mpf(f(mpf(x)))._mpf_, strict=False, rnd="n")
    return np.vectorize(scalar, otypes=[np.float64])


# ---- mpmath references ----------------------------------------------------------
SQRT2 = lambda: mpmath.sqrt(2)  # noqa: E731  (evaluated at the working precision)
K_TANH = lambda: mpmath.sqrt(2 / mpmath.pi)  # noqa: E731
C_TANH = mpf(0.044715)  # the constant as the float64 tinyfin uses


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_gelu(x):
    if abs(x) > 1e6:  # mpmath's erfc overflows there; the limits are x and -0
        return x if x > 0 else -mpf(2) ** -100000
    return x * mpmath.erfc(-x / SQRT2()) / 2


def mp_gelu_d(x):
    if abs(x) > 1e6:
        return mpf(1) if x > 0 else mpf(0)
    return mpmath.erfc(-x / SQRT2()) / 2 + x * mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def mp_gelu_tanh(x):
    # 1 + tanh(z) = 2 / (1 + exp(-2z)): no cancellation for z << 0
    if abs(x) > 1e6:
        return x if x > 0 else -mpf(2) ** -100000
    return x / (1 + mpmath.exp(-2 * K_TANH() * (x + C_TANH * x ** 3)))


def mp_gelu_tanh_d(x):
    if abs(x) > 1e6:
        return mpf(1) if x > 0 else mpf(0)
    z = K_TANH() * (x + C_TANH * x ** 3)
    return 1 / (1 + mpmath.exp(-2 * z)) + x * mpmath.sech(z) ** 2 * K_TANH() * (1 + 3 * C_TANH * x * x) / 2


def mp_softplus(x):
    # PyTorch's definition: x itself where beta x > threshold (20).
    return x if x > 20 else mpmath.log1p(mpmath.exp(x))


SLOPE = mpf(0.01)


def mp_relu(x):
    return x if x > 0 else mpf(0)


def mp_round(x):
    return mpmath.nint(x)  # half to even


# name: (numpy f64 ref, mp, mp derivative, domain, sample lo, hi, kinks)
_U = {
    "exp": (np.exp, mpmath.exp, mpmath.exp, None, -20, 20),
    "exp2": (np.exp2, lambda x: mpmath.power(2, x),
             lambda x: mpmath.log(2) * mpmath.power(2, x), None, -20, 20),
    "expm1": (np.expm1, mpmath.expm1, mpmath.exp, None, -20, 20),
    "log": (np.log, mpmath.log, lambda x: 1 / x, lambda x: x >= 0, 0.01, 20),
    "log2": (np.log2, lambda x: mpmath.log(x, 2), lambda x: 1 / (x * mpmath.log(2)),
             lambda x: x >= 0, 0.01, 20),
    "log10": (np.log10, mpmath.log10, lambda x: 1 / (x * mpmath.log(10)),
              lambda x: x >= 0, 0.01, 20),
    "log1p": (np.log1p, mpmath.log1p, lambda x: 1 / (1 + x), lambda x: x >= -1, -0.99, 20),
    "sqrt": (np.sqrt, mpmath.sqrt, lambda x: 1 / (2 * mpmath.sqrt(x)), lambda x: x >= 0, 0.01, 20),
    "rsqrt": (lambda x: 1.0 / np.sqrt(x), lambda x: 1 / mpmath.sqrt(x),
              lambda x: -1 / (2 * x * mpmath.sqrt(x)), lambda x: x >= 0, 0.01, 20),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1 / x, lambda x: -1 / (x * x), None, 0.25, 4),
    "sin": (np.sin, mpmath.sin, mpmath.cos, None, -10, 10),
    "cos": (np.cos, mpmath.cos, lambda x: -mpmath.sin(x), None, -10, 10),
    "tan": (np.tan, mpmath.tan, lambda x: 1 / mpmath.cos(x) ** 2, None, -1.5, 1.5),
    "tanh": (np.tanh, mpmath.tanh, lambda x: 1 / mpmath.cosh(x) ** 2, None, -4, 4),
    "sigmoid": (expit, mp_sigmoid, lambda x: mp_sigmoid(x) * (1 - mp_sigmoid(x)), None, -30, 30),
    # silu(-inf) is the limit -0 (x * sigmoid(x) would give NaN)
    "silu": (lambda x: np.where(np.isneginf(x), -0.0, x * expit(x)), lambda x: x * mp_sigmoid(x),
             lambda x: mp_sigmoid(x) * (1 + x * (1 - mp_sigmoid(x))), None, -30, 30),
    "erf": (np.vectorize(math.erf, otypes=[np.float64]), mpmath.erf,
            lambda x: 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x * x), None, -4, 4),
}
# Piecewise ops: derivative undefined at the kinks listed in `nondiff`.
_PIECEWISE = {
    "neg": (np.negative, lambda x: -x, lambda x: mpf(-1), "", NUMERIC),
    "abs": (np.abs, abs, lambda x: mpf(1 if x > 0 else -1), "at 0 (tinyfin uses 0)", NUMERIC),
    # sign(+-0) is +-0 in tinyfin (the zero keeps its sign)
    "sign": (lambda x: np.where(x == 0, x, np.sign(x)), mpmath.sign, lambda x: mpf(0), "at 0 (jump; gradient 0)", NUMERIC),
    "square": (lambda x: x * x, lambda x: x * x, lambda x: 2 * x, "", NUMERIC),
    "relu": (lambda x: np.where(np.isnan(x), x, np.where(x > 0, x, 0.0)), mp_relu,
             lambda x: mpf(1 if x > 0 else 0), "at 0 (gradient 0 there, as PyTorch)", NUMERIC),
    "floor": (np.floor, mpmath.floor, lambda x: mpf(0), "at integers (jumps; gradient 0)", NUMERIC),
    "ceil": (np.ceil, mpmath.ceil, lambda x: mpf(0), "at integers (jumps; gradient 0)", NUMERIC),
    "round": (np.rint, mp_round, lambda x: mpf(0), "at half-integers (jumps; gradient 0)", NUMERIC),
    "trunc": (np.trunc, lambda x: mpmath.floor(x) if x >= 0 else mpmath.ceil(x),
              lambda x: mpf(0), "at integers (jumps; gradient 0)", NUMERIC),
}

# Bounds on the accuracy check (max real-valued ULP error), each stated
# after verify's worst-case search (checks/worst_case.py) looked for the
# op's worst input at the default and deep depths. float32 ops compute in
# float64 and round once (VIA_F64; exp has its own kernel): 0.5 exhaustively
# (exp 0.503). float64: every unary math op is within 1 ULP. The libm-based
# ones (exp, exp2, log, log2, log1p, sin, cos, tan) as libm leaves them,
# worst found 0.51-0.77 (log1p); the rest (native/src/cpu/unary_dd.h) carry
# a double-double e^x, log or erfc and round once, worst found 0.50-0.52
# (they were 1.3-5.1 before: sigmoid 2.4 near x = -36.74, silu 2.2 near
# -36.9, gelu 5.1 near -37.4, log10 1.6, rsqrt 1.5, tanh 1.5, softplus 1.5,
# erf 1.3). The worst point each search found is in verify's report.
ACC32 = 1.0
ACC64 = 1.0
GELU64_ACC = ACC64
# the float64 forward reference of gelu is mpmath's, rounded: within 1 ULP
GELU64_FORWARD = Tol(ulp=1)


def _unary_errors(name, call):
    errs = [ErrorInput("non-tensor input", lambda: call([1.0]), TypeError,
                       rf"{name}: expected a Tensor")]
    return errs


def _plain_call(name):
    return lambda x, **k: getattr(tf, name)(x, **k)


def _takes_out(name) -> bool:
    return "out" in inspect.signature(getattr(tf, name)).parameters


def _unary_samples(lo, hi, out=False):
    """The standard samples, and with `out` one that writes into out=."""
    def gen(dtype, rng):
        s = unary_layout_samples(dtype, rng, lo, hi)
        if out:
            s.append(Sample((finite_values(dtype, (3, 4), rng, lo, hi),), kwargs=dict(out=OUT),
                            desc="out=", grad=False))
        return s
    return gen


def _unary_entry(name, ref, mp, mpd, domain, lo, hi, *, dtypes=FLOAT,
                 differentiable=True, gradgrad=True, nondiff="", call=None,
                 variant="", tol=None, ulp_bound=None, grad_ulp=None, notes="",
                 grad_floor=0.0, c_op=None, methods=None, switch_points=()):
    out = call is None and not variant and _takes_out(name)
    call = call or _plain_call(name)
    methods = (name, name + "_") if methods is None else methods
    return OpInfo(
        name=name, variant=variant, call=call, ref=_np(ref), kind="unary",
        dtypes=dtypes, samples=_unary_samples(lo, hi, out=out),
        errors=lambda: _unary_errors(name, call),
        methods=methods, c_ops=(f"unary:{c_op or name}",),
        differentiable=differentiable, gradgrad=gradgrad, nondiff=nondiff,
        tol=tol or dict(UNARY_TOL), mp=mp, mp_deriv=mpd, domain=domain,
        ulp_bound=ulp_bound or {"float32": ACC32, "float64": ACC64},
        grad_ulp_bound=grad_ulp or {"float32": 4.0, "float64": 8.0},
        grad_floor=1.0 if name in GRAD_FLOOR_ONE else grad_floor, notes=notes,
        sample_range=(lo, hi), switch_points=switch_points)


# Backward formulas built from the output (tanh: 1 - out^2, sigmoid: out (1 -
# out), expm1: out + 1, ...) lose relative accuracy where f' is tiny next to
# the terms it is computed from (cancellation, as in PyTorch). Their
# derivative errors are measured in ULPs of max(|f'(x)|, 1): absolute error
# near zeros of f', relative error elsewhere.
GRAD_FLOOR_ONE = {"expm1", "tanh", "sigmoid", "silu", "erf", "elu", "gelu"}

ENTRIES = []
for _n, (_ref, _mp, _mpd, _dom, _lo, _hi) in _U.items():
    ENTRIES.append(_unary_entry(_n, _ref, _mp, _mpd, _dom, _lo, _hi,
                                dtypes=FLOAT + ("int64", "bool")))
# Switch points (OpInfo.switch_points): where a float64 kernel of
# native/src/cpu/unary_dd.h or dd_math.h changes formula, and the edges of
# its approximations. The worst-case search samples densely around each.
_LN2_128 = math.log(2) / 128            # dd_expm1_small's reach
_SQ2 = math.sqrt(2)
SWITCH = {
    "expm1": (-_LN2_128, _LN2_128, -40.0, 709.78, 2.0 ** -54, -2.0 ** -54),
    "log10": (1.0, _SQ2, 1 / _SQ2, math.exp(_LN2_128), math.exp(-_LN2_128), 2.2250738585072014e-308),
    "rsqrt": (2.0 ** -1000, 2.0 ** 1000),
    "tanh": (2.0 ** -28, 2.0 ** -6, 22.0, -(2.0 ** -28), -(2.0 ** -6), -22.0),
    "sigmoid": (40.0, -708.0, -53 * math.log(2)),   # the last: where 1 + e^-x stops being exact
    "silu": (40.0, -708.0, -760.0, -53 * math.log(2)),
    "erf": (0.25, -0.25, 6.0, -6.0, 2.0 ** -960, -(2.0 ** -960)),
}
for _n, _sp in SWITCH.items():
    next(e for e in ENTRIES if e.id == _n).switch_points = _sp
_silu = next(e for e in ENTRIES if e.name == "silu")
# silu' = s (1 + x (1 - s)): the rounding error of 1 - s is multiplied by
# |x| (<= 30 on the sampled range): measured 4.1 (float32) and 14.1 (float64)
# ULPs of max(|f'|, 1).
_silu.grad_ulp_bound = {"float32": 6.0, "float64": 16.0}
for _n, (_ref, _mp, _mpd, _nd, _dt) in _PIECEWISE.items():
    _exact = _n != "square"
    ENTRIES.append(_unary_entry(
        _n, _ref, _mp, _mpd, None, -4, 4, dtypes=_dt, nondiff=_nd,
        gradgrad=_n in ("neg", "square"),
        tol=dict(EXACT_TOL) if _exact else None,
        ulp_bound={"float32": 0.5, "float64": 0.5}))

ENTRIES += [
    _unary_entry("leaky_relu", lambda x: np.where(x < 0, x * 0.01, x),
                 lambda x: x if x >= 0 else x * SLOPE,
                 lambda x: mpf(1) if x > 0 else SLOPE, None, -4, 4,
                 nondiff="at 0 (gradient negative_slope there)", gradgrad=False,
                 methods=()),
    _unary_entry("leaky_relu", lambda x: np.where(x < 0, x * 0.2, x),
                 lambda x: x if x >= 0 else x * mpf(0.2),
                 lambda x: mpf(1) if x > 0 else mpf(0.2), None, -4, 4,
                 call=lambda x: tf.leaky_relu(x, 0.2), variant="0.2",
                 nondiff="at 0", gradgrad=False, methods=()),
    _unary_entry("elu", lambda x: np.where(x > 0, x, np.expm1(x)),
                 lambda x: x if x > 0 else mpmath.expm1(x),
                 lambda x: mpf(1) if x > 0 else mpmath.exp(x), None, -4, 4,
                 nondiff="second derivative jumps at 0", gradgrad=False, methods=(),
                 switch_points=(-40.0, -math.log(2) / 128)),
    _unary_entry("gelu", mp_vectorized(mp_gelu, limits=(-0.0, math.inf)), mp_gelu, mp_gelu_d, None, -8, 8,
                 methods=(), tol={"float32": F32_1, "float64": GELU64_FORWARD},
                 ulp_bound={"float32": ACC32, "float64": GELU64_ACC},
                 # z = -x/sqrt2 = 6, 8 (table / asymptotic series), 28; the table's
                 # first and last interval edges (z = 1/16, 7.9375); the tiny branch
                 switch_points=(6 * math.sqrt(2), -8 * math.sqrt(2), -28 * math.sqrt(2),
                                -math.sqrt(2) / 16, -7.9375 * math.sqrt(2), 2.0 ** -60,
                                -(2.0 ** -60)),
                 notes="float64 forward reference is mpmath: NumPy's 0.5 x erfc(-x/sqrt2) "
                       "is ill-conditioned (cond ~ x^2) for x << 0"),
    _unary_entry("gelu", mp_vectorized(mp_gelu_tanh, limits=(-0.0, math.inf)), mp_gelu_tanh, mp_gelu_tanh_d,
                 None, -8, 8, call=lambda x: tf.gelu(x, approximate="tanh"),
                 variant="tanh", methods=(), tol={"float32": F32_1, "float64": GELU64_FORWARD},
                 ulp_bound={"float32": ACC32, "float64": GELU64_ACC},
                 # x = 8 (the value rounds to x above), 2u = -708 (scaled e^2u), -1e4
                 switch_points=(8.0, -21.1414788399285, -1e4, 2.0 ** -60, -(2.0 ** -60)),
                 grad_ulp={"float32": 6.0, "float64": 16.0},
                 notes="float64: the same ill-conditioning as gelu (cond of the tanh "
                       "argument ~ 0.2 |x|^3); backward terms scale with |x| as silu's"),
    _unary_entry("softplus",
                 lambda x: np.where(x > 20, x, np.logaddexp(0.0, x)),
                 mp_softplus, lambda x: mpf(1) if x > 20 else mp_sigmoid(x),
                 None, -30, 30, methods=(),
                 # beta x = threshold, +-5.2158 (e^-|bx| = e^(ln2/128) - 1, where
                 # log1p's correction changes form), -690 (e^bx scaled)
                 switch_points=(20.0, 5.215834356472319, -5.215834356472319, -690.0),
                 nondiff="at the threshold (20) the function jumps by log1p(exp(-20))",
                 notes="reference follows PyTorch: x itself where x > threshold=20"),
    _unary_entry("softplus",
                 lambda x: np.where(2 * x > 5, x, np.logaddexp(0.0, 2 * x) / 2),
                 lambda x: x if 2 * x > 5 else mpmath.log1p(mpmath.exp(2 * x)) / 2,
                 lambda x: mpf(1) if 2 * x > 5 else mp_sigmoid(2 * x),
                 None, -2, 2, call=lambda x: tf.softplus(x, beta=2.0, threshold=5.0),
                 variant="beta=2,threshold=5", methods=(),
                 switch_points=(2.5, 5.215834356472319 / 2, -5.215834356472319 / 2, -345.0)),
]

# Ops with no mpmath reference: parametric NUM ops and the predicates.
def _clamp_samples(dtype, rng):
    return unary_layout_samples(dtype, rng, -4, 4)


def _clamp_ref(x, min=-1, max=2):
    if min is not None:
        x = np.maximum(x, min)
    return x if max is None else np.minimum(x, max)


def _clamp_option_samples(dtype, rng):
    """clamp(x, -1, 2) in the usual layouts, then its other forms: min > max
    (the result is max), max only, a float bound on int64 (promotes), out=."""
    x = lambda: finite_values(dtype, (3, 4), rng)  # noqa: E731
    return _clamp_samples(dtype, rng) + [
        Sample((x(),), args=(2, 1), desc="min > max"),
        Sample((x(),), kwargs=dict(min=None, max=1), desc="max only"),
        Sample((x(),), args=(-1.5, 2.5), desc="float bounds"),
        Sample((x(),), kwargs=dict(out=OUT), desc="out=", grad=False)]


ENTRIES += [
    OpInfo("clamp", lambda x, min=-1, max=2, **k: tf.clamp(x, min, max, **k),
           _np(_clamp_ref), "unary",
           dtypes=NUMERIC, samples=_clamp_option_samples, aliases=("clip",),
           methods=("clamp", "clamp_", "clip", "clip_"), c_ops=("unary:clamp",),
           differentiable=True, nondiff="at min and max", tol=dict(EXACT_TOL),
           errors=lambda: [ErrorInput("no bounds", lambda: tf.clamp(tf.ones(2)),
                                      ValueError, "clamp: at least one of min and max")]),
    OpInfo("clamp", lambda x: tf.clamp(x, min=0.5), _np(lambda x: np.maximum(x, 0.5)),
           "unary", variant="min=0.5", dtypes=FLOAT, samples=_clamp_samples,
           differentiable=True, nondiff="at min", tol=dict(EXACT_TOL)),
    OpInfo("clamp", lambda x, lo, hi: tf.clamp(x, lo, hi),
           _np(lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)), "unary",
           variant="tensor bounds", dtypes=FLOAT,
           samples=lambda dt, rng: [
               Sample((finite_values(dt, (3, 4), rng), finite_values(dt, (4,), rng, -3, 0),
                       finite_values(dt, (3, 1), rng, 0.5, 3)), desc="broadcast bounds"),
               Sample((finite_values(dt, (3, 4), rng), finite_values(dt, (3, 4), rng, -3, 0),
                       finite_values(dt, (3, 4), rng, 0.5, 3)), layout="transposed",
                      desc="transposed")],
           differentiable=True, nondiff="where x equals a bound", tol=dict(EXACT_TOL)),
    OpInfo("nan_to_num", lambda x: tf.nan_to_num(x, nan=1.5, posinf=7.0, neginf=-7.0),
           _np(lambda x: np.nan_to_num(x, nan=1.5, posinf=7.0, neginf=-7.0)), "unary",
           dtypes=NUMERIC, samples=_clamp_samples, methods=("nan_to_num",),
           c_ops=("unary:nan_to_num",), differentiable=True, gradgrad=True,
           tol=dict(EXACT_TOL)),
    OpInfo("nan_to_num", lambda x: tf.nan_to_num(x), _np(lambda x: np.nan_to_num(x)),
           "unary", variant="defaults", samples=_clamp_samples,
           dtypes=("float64",),  # the reference replaces inf by float64's max
           tol=dict(EXACT_TOL)),
]
for _n, _ref in [("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite),
                 ("logical_not", lambda x: x == 0)]:
    ENTRIES.append(OpInfo(
        _n, _plain_call(_n), _np(_ref), "unary", dtypes=ALL_DTYPES,
        samples=_unary_samples(-4, 4, out=True), methods=(_n, _n + "_"), c_ops=(f"unary:{_n}",),
        errors=(lambda n=_n: _unary_errors(n, _plain_call(n)))))


# ---- binary ---------------------------------------------------------------------
BINARY_REF = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}
CMP = set(binary_ops("CMP"))
LOGIC = set(binary_ops("LOGIC"))
BROADCAST_PAIRS = [((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (3,)), ((3,), ()),
                   ((0, 3), (1, 3)), ((2, 1, 4), (3, 1)), ((4, 1), (0,))]
ALIASES = {"sub": ("subtract",), "div": ("divide", "true_divide")}
DUNDER = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv",
          "floor_divide": "floordiv", "remainder": "mod", "pow": "pow"}


def binary_operands(name, dtype, rng, sa, sb):
    """Operands of shapes sa and sb for binary op `name` in its natural
    domain (half-integers for comparisons and maximum/minimum, so that ties
    occur; non-zero divisors); tests/helpers_elementwise.py uses it too."""
    if dtype == "bool":
        return rng.random(sa) < 0.5, rng.random(sb) < 0.5
    if dtype == "int64":
        a = rng.integers(-7, 8, size=sa)
        if name == "pow":
            b = rng.integers(0, 6, size=sb)
        elif name in ("floor_divide", "remainder", "div"):
            b = rng.integers(1, 5, size=sb) * rng.choice([-1, 1], size=sb)
        else:
            b = rng.integers(-7, 8, size=sb)
        return np.asarray(a, np.int64), np.asarray(b, np.int64)
    if name == "pow":
        a, b = rng.uniform(0.1, 3.0, size=sa), rng.uniform(-3.0, 3.0, size=sb)
    elif name in CMP or name in LOGIC or name in ("maximum", "minimum"):
        a = np.round(rng.uniform(-3, 3, size=sa) * 2) / 2
        b = np.round(rng.uniform(-3, 3, size=sb) * 2) / 2
    else:
        a = rng.uniform(-10, 10, size=sa)
        b = rng.uniform(0.5, 4, size=sb) * rng.choice([-1.0, 1.0], size=sb)
    return np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)


def _binary_samples(name):
    def gen(dtype, rng):
        kinks = name in ("maximum", "minimum", "floor_divide", "remainder") or name in CMP
        out = []
        for sa, sb in [((), ()), ((7,), (7,)), ((3, 4), (3, 4))] + BROADCAST_PAIRS:
            a, b = binary_operands(name, dtype, rng, sa, sb)
            out.append(Sample((a, b), desc=f"{sa} with {sb}",
                              grad=0 < a.size <= 24 and not (kinks and name in CMP)))
        a, b = binary_operands(name, dtype, rng, (3, 4), (3, 4))
        out.append(Sample((a, b), layout="transposed", desc="transposed"))
        a, b = binary_operands(name, dtype, rng, (2, 3, 4), (2, 3, 4))
        out.append(Sample((a, b), layout="strided", desc="step-strided"))
        a, b = binary_operands(name, dtype, rng, (4, 5), (4, 5))
        out.append(Sample((a, b), layout="expanded", desc="expanded"))
        a, b = binary_operands(name, dtype, rng, (300, 130), (130,))
        out.append(Sample((a, b), desc="large broadcast (parallel path)", grad=False))
        # a Python scalar operand, on either side
        a, b = binary_operands(name, dtype, rng, (5,), ())
        out.append(Sample((a,), args=(b.item(),), desc="scalar right", grad=False))
        if dtype in FLOAT and name not in LOGIC:
            ev = extreme_values(dtype)
            x, y = np.meshgrid(ev, ev)
            out.append(Sample((x.ravel(), y.ravel()), desc="extreme pairs", grad=False))
        return out
    return gen


def _with_out(gen, name):
    """gen's samples and one that writes into out=."""
    def samples(dtype, rng):
        a, b = binary_operands(name, dtype, rng, (3, 4), (4,))
        return gen(dtype, rng) + [Sample((a, b), kwargs=dict(out=OUT), desc="out=", grad=False)]
    return samples


def _binary_errors(name):
    f = getattr(tf, name)
    errs = [ErrorInput("shape mismatch", lambda: f(tf.ones(2, 3), tf.ones(4)),
                       ValueError, rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
            ErrorInput("no tensor", lambda: f(1.0, 2.0), TypeError,
                       rf"{name}: expected at least one Tensor")]
    if name in ("floor_divide", "remainder"):
        errs.append(ErrorInput("integer division by zero",
                               lambda: f(tf.tensor([1]), tf.tensor([0])), ValueError,
                               rf"{name}: integer division by zero"))
    return errs


def _binary_tol(name):
    if name in ("pow",):
        return {"float32": Tol(ulp=1), "float64": Tol(ulp=2)}
    if name in ("floor_divide", "remainder"):
        return {"float32": Tol(ulp=1), "float64": Tol(ulp=1)}
    return dict(EXACT_TOL)


for _n, _ref in BINARY_REF.items():
    _dt = ALL_DTYPES if (_n in CMP or _n in LOGIC or _n in ("add", "mul", "maximum", "minimum")) \
        else NUMERIC
    if _n in LOGIC:
        _dt = ALL_DTYPES
    _m = (_n, _n + "_") + tuple(a for a in ALIASES.get(_n, ()) if a != "true_divide") \
        if _n not in ("maximum", "minimum") else (_n, _n + "_")
    ENTRIES.append(OpInfo(
        _n, (lambda n: lambda a, b, **k: getattr(tf, n)(a, b, **k))(_n), _np(_ref), "binary",
        dtypes=_dt, samples=_with_out(_binary_samples(_n), _n),
        errors=(lambda n=_n: _binary_errors(n)),
        aliases=ALIASES.get(_n, ()), methods=_m + ALIASES.get(_n, ()),
        c_ops=(f"binary:{_n}",),
        differentiable=_n not in CMP and _n not in LOGIC,
        gradgrad=_n in ("add", "sub", "mul", "div", "pow"),
        nondiff={"maximum": "where a == b", "minimum": "where a == b",
                 "floor_divide": "at jumps (gradient 0)",
                 "remainder": "at jumps"}.get(_n, ""),
        tol=_binary_tol(_n)))

ENTRIES += [
    OpInfo("add", lambda a, b: tf.add(a, b, alpha=2.5),
           _np(lambda a, b: a + 2.5 * b), "binary", variant="alpha=2.5",
           samples=lambda dt, rng: [s for s in _binary_samples("add")(dt, rng)
                                     if s.desc != "extreme pairs"],  # alpha * max overflows
           differentiable=True, gradgrad=True,
           # other * alpha is rounded before the add (as PyTorch): relative to
           # the operands' magnitude, not to a cancelled result
           tol={"float32": Tol(rtol=2e-7), "float64": Tol(rtol=4e-16)}),
    OpInfo("div", lambda a, b: tf.div(a, b, rounding_mode="trunc"),
           _np(lambda a, b: np.trunc(a / b)), "binary", variant="trunc",
           dtypes=FLOAT, samples=_binary_samples("div"), tol=dict(EXACT_TOL)),
    OpInfo("div", lambda a, b: tf.div(a, b, rounding_mode="floor"),
           _np(lambda a, b: np.floor_divide(a, b)), "binary", variant="floor",
           dtypes=FLOAT, samples=_binary_samples("floor_divide"),
           tol={"float32": Tol(ulp=1), "float64": Tol(ulp=1)}),
    OpInfo("where", lambda c, a, b: tf.where(c, a, b),
           _np(lambda c, a, b: np.where(c, a, b)), "binary", dtypes=FLOAT,
           samples=lambda dt, rng: [
               Sample((rng.random((3, 4)) < 0.5, finite_values(dt, (3, 4), rng),
                       finite_values(dt, (4,), rng)), desc="broadcast"),
               Sample((rng.random(()) < 0.5, finite_values(dt, (), rng),
                       finite_values(dt, (), rng)), desc="0-d"),
               Sample((rng.random((0, 2)) < 0.5, finite_values(dt, (0, 2), rng),
                       finite_values(dt, (2,), rng)), desc="size-0", grad=False),
               Sample((rng.random((3, 4)) < 0.5, finite_values(dt, (3, 4), rng),
                       finite_values(dt, (3, 4), rng)), layout="transposed",
                      desc="transposed")],
           methods=("where",), differentiable=True, gradgrad=True,
           tol=dict(EXACT_TOL),
           errors=lambda: [ErrorInput("no tensor values",
                                      lambda: tf.where(tf.tensor([True]), 1.0, 2.0),
                                      TypeError, "where: at least one of input and other")]),
]

# Tensor methods of elementwise.py that are not ops of their own (fill, copy
# and zero write values; `where` as a method): covered by this entry.
ENTRIES.append(OpInfo(
    "fill_", lambda x: x.clone().fill_(2.5), _np(lambda x: np.full_like(x, 2.5)),
    "unary", dtypes=FLOAT, samples=_clamp_samples,
    methods=("fill_", "zero_", "copy_"), tol=dict(EXACT_TOL)))

# The derivative kernels the backward formulas of tanh and sigmoid use
# (functions only): grad * f'(x), computed from x (no 1 - out^2 cancellation).
# References in float64 forms without cancellation: 1/cosh^2, s(x) s(-x).
for _n, _ref in [("tanh_backward", lambda g, x: g / np.cosh(x) ** 2),
                 ("sigmoid_backward", lambda g, x: g * expit(x) * expit(-x))]:
    ENTRIES.append(OpInfo(
        _n, (lambda n: lambda g, x, **k: getattr(tf, n)(g, x, **k))(_n), _np(_ref), "binary",
        dtypes=FLOAT, samples=_with_out(_binary_samples("mul"), "mul"), c_ops=(f"binary:{_n}",),
        methods=(), differentiable=True, gradgrad=True,
        # float64: the reference's own cosh / expit errors add up to ~4 ULP
        tol={"float32": Tol(ulp=1), "float64": Tol(ulp=8)}))


# ---- error inputs of the parametric forms and helpers above, attached by id:
# a bound or replacement value that is not a number, shapes that do not
# broadcast, an alpha or a rounding mode that does not fit the dtypes.
def _clamp_errors():
    return [ErrorInput("non-tensor input", lambda: tf.clamp([1.0], min=0.5), TypeError,
                       r"clamp: expected a Tensor"),
            ErrorInput("string bound", lambda: tf.clamp(tf.ones(2), min="0.5"), TypeError,
                       r"clamp: min must be a number, got str"),
            ErrorInput("bound shape", lambda: tf.clamp(tf.ones(2, 3), tf.zeros(4)), ValueError,
                       r"clamp: min of shape \(4,\) cannot be broadcast with the input "
                       r"shape \(2, 3\)")]


def _nan_to_num_errors():
    return _unary_errors("nan_to_num", tf.nan_to_num) + [
        ErrorInput("bool input", lambda: tf.nan_to_num(tf.tensor([True])), TypeError,
                   r"nan_to_num: expected a float32, float64 or int64 tensor, got bool"),
        ErrorInput("string value", lambda: tf.nan_to_num(tf.ones(2), nan="0"), TypeError,
                   r"nan_to_num: nan must be a number, got str")]


def _add_alpha_errors():
    ints = lambda: tf.tensor([1, 2])  # noqa: E731
    return [_binary_errors("add")[0],
            ErrorInput("float alpha, int64 operands", lambda: tf.add(ints(), ints(), alpha=2.5),
                       TypeError, r"add: alpha must be an int when the result is int64, got 2\.5"),
            ErrorInput("string alpha", lambda: tf.add(tf.ones(2), tf.ones(2), alpha="2"),
                       TypeError, r"add: alpha must be a number, got str")]


def _div_rounding_errors(mode):
    ints = lambda *v: tf.tensor(list(v))  # noqa: E731
    return [ErrorInput("unknown rounding mode", lambda: tf.div(tf.ones(2), 2.0, rounding_mode="round"),
                       ValueError, r"div: rounding_mode must be None, 'floor' or 'trunc', got 'round'"),
            ErrorInput("shape mismatch", lambda: tf.div(tf.ones(2, 3), tf.ones(4), rounding_mode=mode),
                       ValueError, r"div: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
            ErrorInput("integer division by zero",
                       lambda: tf.div(ints(1, 2), ints(1, 0), rounding_mode=mode),
                       ValueError, r"div: integer division by zero")]


def _fill_errors():
    return [ErrorInput("string value", lambda: tf.ones(2).fill_("a"), TypeError,
                       r"fill_: expected a Tensor or a Python number, got str"),
            ErrorInput("non-0-d value tensor", lambda: tf.ones(3).fill_(tf.ones(2)), ValueError,
                       r"fill_: only supports a 0-d value tensor, got shape \(2,\)"),
            ErrorInput("leaf that requires grad",
                       lambda: tf.ones(2, requires_grad=True).fill_(1.0), RuntimeError,
                       r"fill_: a leaf Variable that requires grad is being used in an "
                       r"in-place operation")]


_ERRORS = {
    "clamp(min=0.5)": _clamp_errors,
    "clamp(tensor bounds)": _clamp_errors,
    "nan_to_num": _nan_to_num_errors,
    "nan_to_num(defaults)": _nan_to_num_errors,
    "add(alpha=2.5)": _add_alpha_errors,
    "div(trunc)": lambda: _div_rounding_errors("trunc"),
    "div(floor)": lambda: _div_rounding_errors("floor"),
    "fill_": _fill_errors,
    "tanh_backward": lambda: _binary_errors("tanh_backward"),
    "sigmoid_backward": lambda: _binary_errors("sigmoid_backward"),
}
for _e in ENTRIES:
    if _e.id in _ERRORS:
        _e.errors = _ERRORS[_e.id]


# ---- the remaining options: alpha on sub and on integers, elu's alpha, where
# with only a condition (its true elements' coordinates, as nonzero).
ENTRIES += [
    OpInfo("sub", lambda a, b: tf.sub(a, b, alpha=2.5), _np(lambda a, b: a - 2.5 * b), "binary",
           variant="alpha=2.5", samples=next(e for e in ENTRIES if e.id == "add(alpha=2.5)").samples,
           differentiable=True, gradgrad=True,
           tol={"float32": Tol(rtol=2e-7), "float64": Tol(rtol=4e-16)}),
    OpInfo("add", lambda a, b: tf.add(a, b, alpha=3), _np(lambda a, b: a + 3 * b), "binary",
           variant="alpha=3", dtypes=NUMERIC,
           samples=lambda dt, rng: [s for s in _binary_samples("add")(dt, rng)
                                    if s.desc != "extreme pairs"],
           tol={"float32": Tol(rtol=2e-7), "float64": Tol(rtol=4e-16)}),
    OpInfo("elu", lambda x: tf.elu(x, alpha=0.5), _np(lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
           "unary", variant="alpha=0.5", samples=_clamp_samples, differentiable=True,
           nondiff="at 0 (gradient alpha there)", tol=dict(UNARY_TOL)),
    OpInfo("where", lambda c: tf.where(c), _np(lambda c: np.nonzero(c)), "index",
           variant="condition only", dtypes=("bool",),
           samples=lambda dt, rng: [Sample((rng.random(s) < 0.5,), desc=f"{s}")
                                    for s in [(3, 4), (5,), (2, 3, 4), (0, 2)]]),
]


# ---- large samples (checks/paths.py): a few ops of each iterator client
def _unary_large(dtype, rng, shape):
    return (finite_values(dtype, shape, rng),)


def _binary_large(name):
    def gen(dtype, rng):
        out = iterator_samples(lambda dt, r, shape: binary_operands(name, dt, r, shape, shape))(dtype, rng)
        a, b = binary_operands(name, dtype, rng, (40, 30, 50), (30, 1))
        out.append(Sample((a, b), desc="(40, 30, 50) with (30, 1): no dims merge", grad=False))
        return out
    return gen


for _e in ENTRIES:
    if _e.id in ("exp", "neg", "isnan", "clamp"):
        _e.large = iterator_samples(_unary_large)
    elif _e.id in ("add", "mul", "maximum", "eq"):
        _e.large = _binary_large(_e.name)
    elif _e.id == "where":
        _e.large = iterator_samples(lambda dt, rng, shape: (
            rng.random(shape) < 0.5, finite_values(dt, shape, rng), finite_values(dt, shape, rng)))


# ---- subgradients (checks/subgradients.py): the conventions of
# tinyfin/elementwise_grad.py, which are PyTorch's, at the points themselves
def _a(*v):
    return np.array(v, np.float64)


def _zero_slope(*points):
    return [Subgrad("zero gradient at the jumps", (_a(*points),), (np.zeros(len(points)),))]


SUBGRADIENTS = {
    "abs": [Subgrad("at 0 and -0: 0", (_a(-1, 0, -0.0, 2),), (_a(-1, 0, 0, 1),))],
    "relu": [Subgrad("at 0 and -0: 0", (_a(-1, 0, -0.0, 2),), (_a(0, 0, 0, 1),))],
    "leaky_relu": [Subgrad("at 0: negative_slope", (_a(-1, 0, 1),), (_a(0.01, 0.01, 1),))],
    "leaky_relu(0.2)": [Subgrad("at 0: negative_slope", (_a(-1, 0, 1),), (_a(0.2, 0.2, 1),))],
    "elu": [Subgrad("at 0: alpha (the left slope)", (_a(0, -0.0, 1),), (_a(1, 1, 1),))],
    "elu(alpha=0.5)": [Subgrad("at 0: alpha (the left slope)", (_a(0, 1),), (_a(0.5, 1),))],
    "sign": _zero_slope(-1, 0, -0.0, 2),
    "floor": _zero_slope(-1, 0, 2),
    "ceil": _zero_slope(-1, 0, 2),
    "trunc": _zero_slope(-1, 0, 2),
    "round": _zero_slope(-0.5, 0.5, 1.5),
    "clamp": [Subgrad("at the bounds: passes", (_a(-2, -1, 0, 2, 3),), (_a(0, 1, 1, 1, 0),)),
              Subgrad("min > max: 0 everywhere", (_a(0, 1, 1.5, 2, 3),), (np.zeros(5),), args=(2, 1)),
              Subgrad("max only, at the bound", (_a(0, 1.5, 2),), (_a(1, 1, 0),),
                      kwargs=dict(min=None, max=1.5))],
    "clamp(min=0.5)": [Subgrad("at min: passes", (_a(0, 0.5, 1),), (_a(0, 1, 1),))],
    # the input gets the gradient where min <= x <= max, a bound only where
    # it is the result alone (PyTorch's clamp_backward_min_max)
    "clamp(tensor bounds)": [Subgrad("at the bounds: x gets it, the bounds do not",
                                     (_a(-2, -1, 0, 2, 3), _a(-1, -1, -1, -1, -1), _a(2, 2, 2, 2, 2)),
                                     (_a(0, 1, 1, 1, 0), _a(1, 0, 0, 0, 0), _a(0, 0, 0, 0, 1)))],
    "nan_to_num": [Subgrad("at inf and NaN: 0", (_a(np.inf, 1, np.nan, -np.inf),), (_a(0, 1, 0, 0),))],
    "softplus": [Subgrad("above the threshold: 1", (_a(21, 30),), (_a(1, 1),))],
    "softplus(beta=2,threshold=5)": [Subgrad("beta x above the threshold: 1", (_a(2.6, 3),), (_a(1, 1),))],
    "maximum": [Subgrad("ties split evenly", (_a(1, 2, 3), _a(1, 1, 3)), (_a(.5, 1, .5), _a(.5, 0, .5)))],
    "minimum": [Subgrad("ties split evenly", (_a(1, 2, 3), _a(1, 1, 3)), (_a(.5, 0, .5), _a(.5, 1, .5)))],
    # d/da a^b = 0 where b == 0; d/db a^b = 0 where a == 0 and b >= 0
    "pow": [Subgrad("at a = 0", (_a(0, 0, 0, 0), _a(0, 2, .5, -1)),
                    (_a(0, 0, np.inf, -np.inf), _a(0, 0, 0, -np.inf)))],
    "remainder": [Subgrad("at the jumps", (_a(6, -6), _a(3, 3)), (_a(1, 1), _a(-2, 2)))],
    "floor_divide": [Subgrad("zero gradient", (_a(6, -6, 5), _a(3, 3, 3)), (np.zeros(3), np.zeros(3)))],
    "sqrt": [Subgrad("at 0: inf", (_a(0),), (_a(np.inf),))],
}
for _e in ENTRIES:
    if _e.id in SUBGRADIENTS:
        _e.subgradients = (lambda cases: lambda dtype: cases)(SUBGRADIENTS[_e.id])
