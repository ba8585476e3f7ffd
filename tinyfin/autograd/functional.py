"""Higher-level derivatives in the style of torch.autograd.functional:
vjp, jvp, hvp, vhp, jacobian, hessian. All are exact (no finite
differences): jvp and hvp use the double-vjp trick, differentiating a vjp
with respect to its cotangent. Inputs may be a tensor or a tuple of tensors;
results mirror that structure.

Built on the op modules (shape.stack), so it sits above them:
tinyfin/__init__.py imports it once they are loaded (see autograd/__init__.py)."""
from __future__ import annotations

from typing import Callable

from ..creation import ones_like, zeros, zeros_like
from ..shape import stack
from ..tensor import Tensor
from .differentiate import grad


def _tuple(x) -> tuple:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _like(template, values: tuple):
    return values[0] if isinstance(template, Tensor) else values


def _prepare(inputs) -> tuple:
    return tuple(x.detach().requires_grad_(True) for x in _tuple(inputs))


def _zeros_for_none(grads, like):
    return tuple(g if g is not None else zeros_like(x) for g, x in zip(grads, like))


def _detach_all(values, create_graph: bool) -> tuple:
    return tuple(v if create_graph else v.detach() for v in values)


def vjp(func: Callable, inputs, v=None, create_graph: bool = False,
        strict: bool = False):
    """(func(inputs), v^T J)."""
    xs = _prepare(inputs)
    outs = func(*xs)
    out_t = _tuple(outs)
    grads = grad(out_t, xs, None if v is None else _tuple(v),
                  create_graph=True, allow_unused=True)
    grads = _zeros_for_none(grads, xs)
    return (_like(outs, _detach_all(out_t, create_graph)),
            _like(inputs, _detach_all(grads, create_graph)))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False,
        strict: bool = False):
    """(func(inputs), J v), via the double-vjp trick: g(u) = u^T J is linear
    in u, so J v = d(g(u) . v)/du."""
    xs = _prepare(inputs)
    outs = func(*xs)
    out_t = _tuple(outs)
    vs = tuple(ones_like(x) for x in xs) if v is None else _tuple(v)
    us = tuple(zeros_like(o).requires_grad_(True) for o in out_t)
    g = grad(out_t, xs, us, create_graph=True, allow_unused=True)
    g = _zeros_for_none(g, xs)
    jv = grad(g, us, vs, create_graph=create_graph, allow_unused=True)
    jv = _zeros_for_none(jv, out_t)
    return (_like(outs, _detach_all(out_t, create_graph)),
            _like(outs, _detach_all(jv, create_graph)))


def vhp(func: Callable, inputs, v=None, create_graph: bool = False,
        strict: bool = False):
    """(func(inputs), v^T H) for a scalar func."""
    xs = _prepare(inputs)
    out = func(*xs)
    g = grad(out, xs, create_graph=True, allow_unused=True)
    g = _zeros_for_none(g, xs)
    r = grad(g, xs, _tuple(v), create_graph=create_graph, allow_unused=True)
    r = _zeros_for_none(r, xs)
    return (_detach_all((out,), create_graph)[0],
            _like(inputs, _detach_all(r, create_graph)))


def hvp(func: Callable, inputs, v=None, create_graph: bool = False,
        strict: bool = False):
    """(func(inputs), H v) for a scalar func: the double-vjp trick applied to
    the gradient, exact even where H is not symmetric numerically."""
    xs = _prepare(inputs)
    out = func(*xs)
    g = grad(out, xs, create_graph=True, allow_unused=True)
    g = _zeros_for_none(g, xs)
    us = tuple(zeros_like(x).requires_grad_(True) for x in xs)
    gu = grad(g, xs, us, create_graph=True, allow_unused=True)   # u^T H
    gu = _zeros_for_none(gu, xs)
    r = grad(gu, us, _tuple(v), create_graph=create_graph, allow_unused=True)
    r = _zeros_for_none(r, xs)
    return (_detach_all((out,), create_graph)[0],
            _like(inputs, _detach_all(r, create_graph)))


def jacobian(func: Callable, inputs, create_graph: bool = False,
             strict: bool = False):
    """d func / d inputs with shape out.shape + in.shape (nested tuples for
    several outputs or inputs, as in PyTorch)."""
    xs = _prepare(inputs)
    outs = func(*xs)
    out_t = _tuple(outs)
    result = []
    for out in out_t:
        rows = [[] for _ in xs]
        flat = out.reshape(-1)
        for k in range(flat.numel()):
            seed = zeros(flat.shape, dtype=flat.dtype)
            seed.numpy()[k] = 1.0
            grads = grad(flat, xs, seed, retain_graph=True,
                         create_graph=create_graph, allow_unused=True)
            grads = _zeros_for_none(grads, xs)
            for i, g in enumerate(grads):
                rows[i].append(g)
        per_input = []
        for i, x in enumerate(xs):
            if rows[i]:
                j = stack(rows[i]).reshape(tuple(out.shape) + tuple(x.shape))
            else:
                j = zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype)
            per_input.append(j if create_graph else j.detach())
        result.append(_like(inputs, tuple(per_input)))
    return _like(outs, tuple(result))


def hessian(func: Callable, inputs, create_graph: bool = False,
            strict: bool = False):
    """Second derivatives of a scalar func: the jacobian of its gradient."""
    n = len(_tuple(inputs))

    def gradient(*xs):
        out = func(*xs)
        g = grad(out, xs, create_graph=True, allow_unused=True)
        g = _zeros_for_none(g, xs)
        return g[0] if n == 1 and isinstance(inputs, Tensor) else g

    return jacobian(gradient, inputs, create_graph=create_graph)
