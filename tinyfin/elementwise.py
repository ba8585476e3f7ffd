"""Elementwise ops: every unary and binary op of native tinyfin_ops.def,
where(), clamp(), and the operator dunders and in-place forms of Tensor.

The op codes come from the C core's own name tables (`_C.UNARY_OPS`,
`_C.BINARY_OPS`); at import every C op must have a Python function here and
vice versa, so the two lists cannot drift apart. The gradient formulas live
in elementwise_grad.py, which is built on these ops: it hands them over
through `install_gradients` when the package imports it.
"""
from __future__ import annotations

import math
import numbers
from ctypes import byref, c_double
from typing import Optional, Union

import numpy as np

from . import _C, _exports
from . import dtypes as _dtypes
from ._args import SCALAR_INT, as_real, scalar_args
from ._coordinates import nonzero_coordinates
from .autograd.grad_mode import no_grad, state as _grad_state
from .autograd.graph import OUT, check_inplace, record
from .autograd.inplace import write_tracked
from .autograd.util import sum_to
from .creation import full
from .tensor import (Handle, Tensor, _call, _wrap, register, renamed_errors,
                     require_tensor)
from .views import broadcast_shapes

U = {name: code for code, name in enumerate(_C.UNARY_OPS)}
B = {name: code for code, name in enumerate(_C.BINARY_OPS)}

_tf_unary = _C.fast.tf_unary
_tf_unary_into = _C.tf_unary_into
_tf_binary = _C.fast.tf_binary
_tf_binary_into = _C.tf_binary_into
_tf_binary_scalar = _C.tf_binary_scalar
_tf_binary_scalar_fast = _C.fast.tf_binary_scalar
_INT64_ZERO = _C.ctypes.c_int64(0)
_tf_binary_scalar_into = _C.tf_binary_scalar_into
_error = _C.error
_check = _C.check

Number = Union[bool, int, float]


# ---- unary ------------------------------------------------------------------
_ZERO = c_double(0.0)


def unary(code: int, x: Tensor, p0: float = 0.0, p1: float = 0.0,
          p2: float = 0.0, out: Optional[Tensor] = None) -> Tensor:
    if out is None:
        out_h = Handle()
        if p0 == 0.0 and p1 == 0.0 and p2 == 0.0:
            status = _tf_unary(code, x._h, _ZERO, _ZERO, _ZERO, byref(out_h))
        else:
            status = _tf_unary(code, x._h, c_double(p0), c_double(p1),
                               c_double(p2), byref(out_h))
        if status:
            raise _error(status)
        result = _wrap(out_h)
        if x._rg and _grad_state.enabled:
            _record_unary(code, x, result, (p0, p1, p2))
        return result
    if _grad_state.enabled and (x._rg or out._rg):
        return write_tracked(_C.UNARY_OPS[code], out,
                             lambda: unary(code, x, p0, p1, p2))
    _check(_tf_unary_into(code, x._h, p0, p1, p2, out._h))
    return out


def _make_unary_backward(formula):
    def backward(g, x, out, params):
        return (formula(g, x, out, params),)
    return backward


# op code -> (backward, saves x, saves out), filled by install_gradients
_UNARY_BACKWARD = {}


def _record_unary(code: int, x: Tensor, out: Tensor, params: tuple) -> None:
    entry = _UNARY_BACKWARD.get(code)
    if entry is None:
        return  # bool result: not differentiable
    backward, save_x, save_out = entry
    record(_C.UNARY_OPS[code], out, (x,), backward,
           (x if save_x else None, OUT if save_out else None, params))


def _define_unary(name: str) -> None:
    code = U[name]

    def op(input: Tensor, *, out: Optional[Tensor] = None) -> Tensor:
        return unary(code, require_tensor(name, input), out=out)

    def op_(self: Tensor) -> Tensor:
        return unary(code, self, out=self)

    op.__name__, op_.__name__ = name, name + "_"
    op.__doc__ = f"Elementwise {name} of input (see ARCHITECTURE.md for bounds)."
    globals()[name] = register(name)(op)
    register(name + "_", function=False)(op_)


_PARAMETRIC = {"leaky_relu", "elu", "gelu", "softplus", "clamp", "nan_to_num"}
for _name in _C.UNARY_OPS:
    if _name not in _PARAMETRIC:
        _define_unary(_name)


@register("leaky_relu", method=False)
def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return unary(U["leaky_relu"], require_tensor("leaky_relu", input),
                 as_real("leaky_relu", "negative_slope", negative_slope))


@register("elu", method=False)
def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return unary(U["elu"], require_tensor("elu", input),
                 as_real("elu", "alpha", alpha))


@register("gelu", method=False)
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got "
                         f"{approximate!r}")
    return unary(U["gelu"], require_tensor("gelu", input),
                 0.0 if approximate == "none" else 1.0)


@register("softplus", method=False)
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    beta = as_real("softplus", "beta", beta)
    threshold = as_real("softplus", "threshold", threshold)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return unary(U["softplus"], require_tensor("softplus", input), beta,
                 threshold)


def _finfo(dt: _dtypes.dtype):
    return np.finfo(dt.numpy) if dt.is_floating_point else np.iinfo(np.int64)


def _require_number(op: str, name: str, value) -> None:
    """A scalar parameter (a bound, a replacement value) must be a real
    number, a Tensor or None; a string would reach float() and fail there
    with a message that does not say which op or argument was wrong."""
    if value is not None and not isinstance(value, (numbers.Real, Tensor)):
        raise TypeError(f"{op}: {name} must be a number, got "
                        f"{type(value).__name__}")


def _check_bound_shapes(input: Tensor, *bounds) -> None:
    """clamp's tensor bounds broadcast with the input (checked here so that
    the message names clamp, not the maximum/minimum doing the work)."""
    for name, bound in zip(("min", "max"), bounds):
        if isinstance(bound, Tensor):
            try:
                broadcast_shapes(input.shape, bound.shape)
            except ValueError:
                raise ValueError(f"clamp: {name} of shape {bound.shape} cannot "
                                 f"be broadcast with the input shape "
                                 f"{input.shape}") from None


@register("nan_to_num")
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: Optional[float] = None,
               neginf: Optional[float] = None) -> Tensor:
    info = _finfo(require_tensor("nan_to_num", input).dtype)
    nan = as_real("nan_to_num", "nan", nan)
    posinf = float(info.max) if posinf is None else \
        as_real("nan_to_num", "posinf", posinf)
    neginf = float(info.min) if neginf is None else \
        as_real("nan_to_num", "neginf", neginf)
    return unary(U["nan_to_num"], input, nan, posinf, neginf)


@register("clamp", "clip")
def clamp(input: Tensor, min=None, max=None, *,
          out: Optional[Tensor] = None) -> Tensor:
    """Limit input to [min, max]; either bound may be None, a number or a
    Tensor (then broadcast). NaN stays NaN, and a NaN bound gives NaN (as
    NumPy's clip); min > max gives max. On an int64 tensor int bounds are
    exact at any magnitude (maximum/minimum with an int64 scalar; the unary
    kernel would compare in double)."""
    require_tensor("clamp", input)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    _require_number("clamp", "min", min)
    _require_number("clamp", "max", max)
    exact_int = input.dtype is _dtypes.int64 and all(
        b is None or isinstance(b, numbers.Integral) for b in (min, max))
    if isinstance(min, Tensor) or isinstance(max, Tensor) or exact_int:
        result = _clamp_by_extremes(input, min, max)
        if out is not None:
            out.copy_(result)
            return out
        return result
    lo = -math.inf if min is None else as_real("clamp", "min", min)
    hi = math.inf if max is None else as_real("clamp", "max", max)
    if input.dtype is _dtypes.int64:
        input = input.float()  # PyTorch: a float bound promotes int input
    return unary(U["clamp"], input, lo, hi, out=out)


def _clamp_by_extremes(input: Tensor, lo, hi) -> Tensor:
    """clamp as maximum(x, lo) then minimum(., hi), for tensor bounds and for
    exact int64 bounds, with PyTorch's gradient: x where lo <= x <= hi
    (all of it at a bound, not maximum's half for a tie), lo where x < lo,
    hi where x > hi; when lo > hi the result is hi and so is the gradient."""
    _check_bound_shapes(input, lo, hi)
    with no_grad():
        result = input if lo is None else maximum(input, lo)
        result = result if hi is None else minimum(result, hi)
    bounds = tuple(b if isinstance(b, Tensor) else None for b in (lo, hi))
    if result.dtype.is_floating_point and _grad_state.enabled and (
            input._rg or any(b is not None and b._rg for b in bounds)):
        record("clamp", result, (input,) + bounds, _clamp_backward, (input, lo, hi))
    return result


def _clamp_backward(g, x, lo, hi):
    zero = scalar_tensor(0.0, g)
    ge_lo = None if lo is None else binary(B["ge"], x, lo)
    le_hi = None if hi is None else binary(B["le"], x, hi)
    inside = ge_lo if le_hi is None else le_hi if ge_lo is None else ge_lo.logical_and(le_hi)
    grads = [where(inside, g, zero)]
    # a NaN x sends its gradient nowhere (x < lo and x > hi are false too)
    for bound, beyond, other_wins in ((lo, "lt", lambda: binary(B["lt"], lo, hi)),
                                      (hi, "gt", lambda: binary(B["lt"], hi, lo))):
        if not isinstance(bound, Tensor):
            grads.append(None)
            continue
        pred = binary(B[beyond], x, bound)
        if lo is not None and hi is not None:
            # lo > hi gives hi everywhere: lo gets nothing, hi everything
            pred = pred.logical_and(other_wins()) if bound is lo else pred.logical_or(other_wins())
        grads.append(sum_to(where(pred, g, zero), bound.shape).to(bound.dtype))
    grads[0] = sum_to(grads[0], x.shape)
    return tuple(grads)


@register("clamp_", "clip_", function=False)
def clamp_(self: Tensor, min=None, max=None) -> Tensor:
    return clamp(self, min, max, out=self)


# ---- binary -----------------------------------------------------------------
def binary(code: int, a, b, out: Optional[Tensor] = None) -> Tensor:
    """op(a, b) where at least one of a, b is a Tensor, the other may be a
    Python scalar (which never raises the tensor's dtype within its kind)."""
    if out is not None and _grad_state.enabled and (
            getattr(a, "_rg", False) or getattr(b, "_rg", False) or out._rg):
        return write_tracked(_C.BINARY_OPS[code], out,
                             lambda: binary(code, a, b))
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if out is None:
                out_h = Handle()
                status = _tf_binary(code, a._h, b._h, byref(out_h))
                if status:
                    raise _error(status)
                result = _wrap(out_h)
                if (a._rg or b._rg) and _grad_state.enabled:
                    _record_binary(code, a, b, result)
                return result
            _check(_tf_binary_into(code, a._h, b._h, out._h))
            return out
        tensor, scalar, reverse = a, b, False
    elif isinstance(b, Tensor):
        tensor, scalar, reverse = b, a, True
    else:
        raise TypeError(f"{_C.BINARY_OPS[code]}: expected at least one Tensor "
                        f"operand, got {type(a).__name__} and {type(b).__name__}")
    f, i, kind = scalar_args(_C.BINARY_OPS[code], scalar)
    if out is None:
        result = _call(_tf_binary_scalar, code, tensor._h, f, i, kind, reverse)
        if tensor._rg and _grad_state.enabled:
            _record_binary(code, a, b, result)
        return result
    if reverse:
        # Rare: op(scalar, tensor) into out; use a 0-d tensor for the scalar.
        return binary(code, scalar_tensor(scalar, tensor), tensor, out)
    _check(_tf_binary_scalar_into(code, tensor._h, f, i, kind, out._h))
    return out


# op code -> (backward, saves a, saves b, saves out), filled by install_gradients
_BINARY_FORMULAS = {}
_same_shape = _C.fast.tf_tensor_same_shape


def _binary_backward(grad_a, grad_b):
    def backward(g, a, b, out, meta):
        a_shape, b_shape, need_a, need_b = meta
        ga = grad_a(g, a, b, out) if need_a else None
        gb = grad_b(g, a, b, out) if need_b else None
        if ga is not None and a_shape is not None:
            ga = sum_to(ga, a_shape)
        if gb is not None and b_shape is not None:
            gb = sum_to(gb, b_shape)
        return ga, gb
    return backward


def _record_binary(code: int, a, b, out: Tensor) -> None:
    """Scalars take part in the formula as numbers and get no gradient.
    Shapes are saved only when broadcasting makes sum_to necessary."""
    entry = _BINARY_FORMULAS.get(code)
    if entry is None:
        return  # comparisons and logic: bool result
    backward, save_a, save_b, save_out = entry
    # isinstance, not `__class__ is`: a Tensor subclass (nn.Parameter) is a
    # tensor operand, not a scalar.
    a_t, b_t = isinstance(a, Tensor), isinstance(b, Tensor)
    a_shape = b_shape = None  # a scalar never broadcasts its tensor operand
    if a_t and b_t and not _same_shape(a._h, b._h):
        out_shape = out.shape
        a_shape = a.shape if a.shape != out_shape else None
        b_shape = b.shape if b.shape != out_shape else None
    record(_C.BINARY_OPS[code], out, (a if a_t else None, b if b_t else None),
           backward, (a if save_a or not a_t else None,
                      b if save_b or not b_t else None,
                      OUT if save_out else None,
                      (a_shape, b_shape, a_t and a._rg, b_t and b._rg)))


_NO_SIZES = (_C.ctypes.c_int64 * 1)()   # the sizes of a 0-d tensor (none read)


def scalar_tensor(value, like: Tensor) -> Tensor:
    """A 0-d tensor for a Python scalar, in the dtype PyTorch would give the
    scalar next to `like` (a float scalar keeps a float tensor's dtype)."""
    f, i, kind = scalar_args("scalar", value)
    dt = like.dtype
    cat = 0 if dt is _dtypes.bool_ else 1 if dt is _dtypes.int64 else 2
    if kind > cat:
        dt = (_dtypes.bool_, _dtypes.int64, _dtypes.float32)[kind]
    # full((), value, dtype=dt) without its argument checks, done above
    # (the gradient formulas make one of these per where(mask, g, 0.0)), on
    # like's device, where ops that take no host scalar (where) need it
    return _call(_C.tf_full, 0, _NO_SIZES, dt.code, f, i, kind, _C.tf_tensor_device(like._h))


def _define_binary(name: str, methods: bool = True) -> None:
    code = B[name]

    def op(input, other, *, out: Optional[Tensor] = None) -> Tensor:
        return binary(code, input, other, out)

    def op_(self: Tensor, other) -> Tensor:
        return binary(code, self, other, self)

    op.__name__, op_.__name__ = name, name + "_"
    op.__doc__ = f"Elementwise {name} with NumPy broadcasting."
    globals()[name] = register(name, method=methods)(op)
    if methods:
        register(name + "_", function=False)(op_)


for _name in _C.BINARY_OPS:
    if _name not in ("add", "sub", "div"):
        # The derivative helpers are functions only: tanh_backward(grad, x).
        _define_binary(_name, methods=not _name.endswith("_backward"))


def _scaled(other, alpha: Number):
    """other * alpha for add/sub's alpha: a Python number is scaled in Python
    (as PyTorch does), a tensor by the mul kernel."""
    return other * alpha if isinstance(other, numbers.Number) else binary(B["mul"], other, alpha)


def _check_alpha(op: str, input, other, alpha) -> None:
    """alpha is a number; a float alpha needs a floating result (PyTorch:
    scaling an integer tensor by 2.5 would silently round)."""
    if (alpha.__class__ is float and input.__class__ is Tensor and
            other.__class__ is Tensor and input.dtype is other.dtype and
            input.dtype.is_floating_point):
        return  # p.add_(v, alpha=-lr): a float result, no promotion to ask C
    if not isinstance(alpha, numbers.Real):
        raise TypeError(f"{op}: alpha must be a number, got "
                        f"{type(alpha).__name__}")
    if isinstance(alpha, numbers.Integral) or not (
            isinstance(input, Tensor) or isinstance(other, Tensor)):
        return  # the missing tensor is reported by binary()
    dt = _result_dtype_of(input, other)
    if not dt.is_floating_point:
        raise TypeError(f"{op}: alpha must be an int when the result is "
                        f"{dt.name}, got {alpha!r}; convert the inputs to "
                        "float first")


@register("add")
def add(input, other, *, alpha: Number = 1, out: Optional[Tensor] = None) -> Tensor:
    if alpha != 1:
        _check_alpha("add", input, other, alpha)
        other = _scaled(other, alpha)
    return binary(B["add"], input, other, out)


@register("sub", "subtract")
def sub(input, other, *, alpha: Number = 1, out: Optional[Tensor] = None) -> Tensor:
    if alpha != 1:
        _check_alpha("sub", input, other, alpha)
        other = _scaled(other, alpha)
    return binary(B["sub"], input, other, out)


@register("div", "divide", "true_divide")
def div(input, other, *, rounding_mode: Optional[str] = None,
        out: Optional[Tensor] = None) -> Tensor:
    """True division, or rounding_mode 'floor' / 'trunc' as in PyTorch."""
    if rounding_mode is None:
        return binary(B["div"], input, other, out)
    if rounding_mode == "floor":
        with renamed_errors("div", "floor_divide"):
            return binary(B["floor_divide"], input, other, out)
    if rounding_mode == "trunc":
        q = binary(B["div"], input, other)
        dt = _result_dtype_of(input, other)
        if not dt.is_floating_point and _has_zero(other):
            # the float quotient would be +-inf (or NaN), saturated by .to()
            # into a made-up integer; floor_divide raises the same way
            raise ValueError("div: integer division by zero "
                             "(rounding_mode='trunc')")
        q = q.trunc() if dt.is_floating_point else q.trunc().to(dt)
        if out is not None:
            out.copy_(q)
            return out
        return q
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', "
                     f"got {rounding_mode!r}")


def _has_zero(x) -> bool:
    if isinstance(x, Tensor):
        return bool(binary(B["eq"], x, 0).any())
    return x == 0


def _result_dtype_of(a, b) -> _dtypes.dtype:
    a = a if isinstance(a, Tensor) else scalar_tensor(a, b)
    b = b if isinstance(b, Tensor) else scalar_tensor(b, a)
    code = _C.ctypes.c_int()
    _check(_C.tf_result_dtype(B["add"], a._h, b._h, byref(code)))
    return _dtypes.BY_CODE[code.value]


@register("add_", function=False)
def add_(self: Tensor, other, *, alpha: Number = 1) -> Tensor:
    return add(self, other, alpha=alpha, out=self)


@register("sub_", function=False)
def sub_(self: Tensor, other, *, alpha: Number = 1) -> Tensor:
    return sub(self, other, alpha=alpha, out=self)


@register("div_", function=False)
def div_(self: Tensor, other, *, rounding_mode: Optional[str] = None) -> Tensor:
    return div(self, other, rounding_mode=rounding_mode, out=self)


@register("result_type", method=False)
def result_type(a, b) -> _dtypes.dtype:
    return _result_dtype_of(a, b)


@register("where", method=False)
def where(condition: Tensor, input=None, other=None) -> Tensor:
    """input where condition is true, else other (NumPy broadcasting).
    With only a condition, the coordinates of its true elements."""
    if input is None and other is None:  # nonzero(condition, as_tuple=True)
        return nonzero_coordinates(require_tensor("nonzero", condition))
    require_tensor("where", condition)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("where: at least one of input and other must be a "
                        "Tensor")
    if not isinstance(input, Tensor):
        input = scalar_tensor(input, other)
    if not isinstance(other, Tensor):
        other = scalar_tensor(other, input)
    out = _call(_C.tf_where, condition._h, input._h, other._h)
    if (input._rg or other._rg) and _grad_state.enabled:
        record("where", out, (input, other), _where_backward,
               (condition, input.shape, other.shape))
    return out


def _where_method(self: Tensor, condition: Tensor, other) -> Tensor:
    """x.where(condition, y) is where(condition, x, y), as in PyTorch."""
    return where(condition, self, other)


Tensor.where = _where_method


def _where_backward(g, condition, a_shape, b_shape):
    zero = scalar_tensor(0.0, g)
    return (sum_to(where(condition, g, zero), a_shape),
            sum_to(where(condition, zero, g), b_shape))


# ---- Tensor operators ---------------------------------------------------------
def _dunder(code: int, reverse: bool = False):
    def fast(self: Tensor, other) -> Tensor:
        if other.__class__ is Tensor:
            out_h = Handle()
            status = _tf_binary(code, self._h, other._h, byref(out_h))
            if status:
                raise _error(status)
            result = _wrap(out_h)
            if (self._rg or other._rg) and _grad_state.enabled:
                _record_binary(code, self, other, result)
            return result
        if other.__class__ is float:  # the common `x * 0.5`, kept cheap
            out_h = Handle()
            status = _tf_binary_scalar_fast(code, self._h, c_double(other),
                                            _INT64_ZERO, 2, reverse, byref(out_h))
            if status:
                raise _error(status)
            result = _wrap(out_h)
            if self._rg and _grad_state.enabled:
                if reverse:
                    _record_binary(code, other, self, result)
                else:
                    _record_binary(code, self, other, result)
            return result
        if reverse:
            return binary(code, other, self)
        return binary(code, self, other)

    def inplace(self: Tensor, other) -> Tensor:
        return binary(code, self, other, self)

    return fast, inplace


for _op, _name in [("add", "add"), ("sub", "sub"), ("mul", "mul"),
                   ("truediv", "div"), ("floordiv", "floor_divide"),
                   ("mod", "remainder"), ("pow", "pow")]:
    _fast, _inplace = _dunder(B[_name])
    setattr(Tensor, f"__{_op}__", _fast)
    setattr(Tensor, f"__r{_op}__", _dunder(B[_name], reverse=True)[0])
    setattr(Tensor, f"__i{_op}__", _inplace)

for _op, _name in [("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"),
                   ("gt", "gt"), ("ge", "ge")]:
    setattr(Tensor, f"__{_op}__", _dunder(B[_name])[0])


def _bool_only(op: str, name: str, reverse: bool = False):
    code = B[name]

    def fn(self: Tensor, other) -> Tensor:
        other_dt = other.dtype if isinstance(other, Tensor) else (
            _dtypes.bool_ if isinstance(other, bool) else None)
        if self.dtype is not _dtypes.bool_ or other_dt is not _dtypes.bool_:
            raise TypeError(f"operator {op}: tinyfin supports it on bool "
                            "tensors only (as logical_and/or/xor)")
        return binary(code, other, self) if reverse else binary(code, self, other)
    return fn


for _op, _name, _sym in [("and", "logical_and", "&"), ("or", "logical_or", "|"),
                         ("xor", "logical_xor", "^")]:
    setattr(Tensor, f"__{_op}__", _bool_only(_sym, _name))
    setattr(Tensor, f"__r{_op}__", _bool_only(_sym, _name, reverse=True))


def _neg(self: Tensor) -> Tensor:
    return unary(U["neg"], self)


def _invert(self: Tensor) -> Tensor:
    if self.dtype is not _dtypes.bool_:
        raise TypeError("operator ~: tinyfin supports it on bool tensors only "
                        "(as logical_not)")
    return unary(U["logical_not"], self)


Tensor.__neg__ = _neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: unary(U["abs"], self)
Tensor.__invert__ = _invert


# ---- in-place helpers that are not ops of their own ----------------------------
@register("zero_", function=False)
def zero_(self: Tensor) -> Tensor:
    check_inplace(self, "zero_")
    _check(_C.tf_fill_(self._h, 0.0, 0, SCALAR_INT))
    return _forget_history(self)


def _forget_history(target: Tensor) -> Tensor:
    """After fill_ / zero_ the values no longer depend on anything: the old
    graph must not receive gradients through them (PyTorch sends it zeros;
    not sending any is the same sum)."""
    if target.grad_fn is not None:
        target.grad_fn, target._rg = None, False
    return target


@register("fill_", function=False)
def fill_(self: Tensor, value) -> Tensor:
    check_inplace(self, "fill_")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"fill_: only supports a 0-d value tensor, got "
                             f"shape {value.shape}")
        value = value.item()
    # converted in the core as .to() converts (0.5 into bool is True)
    _check(_C.tf_fill_(self._h, *scalar_args("fill_", value)))
    return _forget_history(self)


@register("copy_", function=False)
def copy_(self: Tensor, src: Tensor) -> Tensor:
    """self takes src's values (broadcast, converted, and moved from src's
    device as PyTorch's copy_ does) and, under autograd, src's graph in
    place of its own."""
    require_tensor("copy_", src)
    if src.device != self.device:
        src = src.to(self.device)
    if _grad_state.enabled and (self._rg or src._rg):
        return write_tracked("copy_", self, lambda: src.expand(*self.shape))
    _check(_C.tf_copy_(self._h, src._h))
    return self


def install_gradients(unary_formulas: dict, binary_formulas: dict,
                      not_differentiable: set) -> None:
    """Take the gradient formulas of elementwise_grad.py (its UNARY, BINARY
    and NOT_DIFFERENTIABLE tables, by op name); every C op must have one or
    be listed as not differentiable."""
    for name, (formula, saves) in unary_formulas.items():
        _UNARY_BACKWARD[U[name]] = (_make_unary_backward(formula),
                                    "x" in saves, "out" in saves)
    for name, (grad_a, grad_b, saves) in binary_formulas.items():
        _BINARY_FORMULAS[B[name]] = (_binary_backward(grad_a, grad_b),
                                     "a" in saves, "b" in saves, "out" in saves)
    missing = set(_C.UNARY_OPS + _C.BINARY_OPS) - set(unary_formulas) \
        - set(binary_formulas) - not_differentiable
    if missing:
        raise ImportError(f"tinyfin: ops without a gradient formula: {sorted(missing)}")


def _check_registry() -> None:
    """Every C op has a Python function and vice versa (checked at import)."""
    missing = [n for n in _C.UNARY_OPS + _C.BINARY_OPS
               if n not in _exports.FUNCTIONS]
    if missing:
        raise ImportError(f"tinyfin: C ops without a Python function: {missing}")


_check_registry()
