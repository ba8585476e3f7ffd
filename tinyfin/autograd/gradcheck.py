"""gradcheck and gradgradcheck: analytic derivatives against float64 central
differences, element by element of the full Jacobian.

On a mismatch they raise GradcheckError naming the output, the input, the
worst element and both values, so a wrong formula is found, not just felt.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .differentiate import grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x) -> tuple:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _outputs(fn: Callable, inputs: tuple) -> tuple:
    return _as_tuple(fn(*inputs))


def _host(t) -> np.ndarray:
    """t's values as a float64 array, from any device."""
    return t.detach().cpu().numpy().astype(np.float64)


def _numeric_jacobians(fn: Callable, inputs: tuple, eps: float) -> dict:
    """{(out index, in index): J as a float64 (out numel, in numel) array}."""
    jac = {}
    # Grad mode stays on: fn may itself take gradients (gradgradcheck).
    base = _outputs(fn, inputs)
    for i, x in enumerate(inputs):
        if not getattr(x, "requires_grad", False):
            continue
        flat = _host(x).reshape(-1).copy()
        cols = {o: np.zeros((out.numel(), flat.size)) for o, out in enumerate(base)}
        for j in range(flat.size):
            values = []
            for sign in (1.0, -1.0):
                probe = flat.copy()
                probe[j] += sign * eps
                xj = tensor(probe.reshape(x.shape), dtype=x.dtype, device=x.device,
                            requires_grad=True)
                args = inputs[:i] + (xj,) + inputs[i + 1:]
                values.append([_host(o).reshape(-1) for o in _outputs(fn, args)])
            for o in cols:
                cols[o][:, j] = (values[0][o] - values[1][o]) / (2 * eps)
        for o, J in cols.items():
            jac[(o, i)] = J
    return jac


def _analytic_jacobians(fn: Callable, inputs: tuple) -> dict:
    outputs = _outputs(fn, inputs)
    wanted = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]
    jac = {(o, i): np.zeros((out.numel(), inputs[i].numel()))
           for o, out in enumerate(outputs) for i in wanted}
    for o, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for k in range(out.numel()):
            onehot = np.zeros(out.numel())
            onehot[k] = 1.0
            seed = tensor(onehot.reshape(out.shape), dtype=out.dtype, device=out.device)
            grads = grad(out, [inputs[i] for i in wanted], seed,
                         retain_graph=True, allow_unused=True)
            for i, g in zip(wanted, grads):
                if g is not None:
                    jac[(o, i)][k, :] = _host(g).reshape(-1)
    return jac


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare fn's analytic Jacobian with central differences in float64.

    Inputs that require grad should be float64 (float32 differences are too
    coarse for these tolerances)."""
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if getattr(x, "requires_grad", False) and x.dtype.name != "float64":
            raise ValueError(f"gradcheck: input {i} is {x.dtype.name}; use "
                             "float64 inputs for finite differences")
    numeric = _numeric_jacobians(fn, inputs, eps)
    analytic = _analytic_jacobians(fn, inputs)
    for key, n in numeric.items():
        a = analytic[key]
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        bad = excess > 0
        if np.any(bad) or np.any(np.isnan(a) != np.isnan(n)):
            flat = int(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)))
            r, c = np.unravel_index(flat, a.shape)
            message = (f"gradcheck: Jacobian mismatch for output {key[0]} with "
                       f"respect to input {key[1]}: worst element "
                       f"(output element {r}, input element {c}): analytic "
                       f"{a[r, c]!r}, numeric {n[r, c]!r} (atol {atol}, rtol {rtol})")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn: Callable, inputs, grad_outputs: Optional[Sequence] = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, seed: int = 0) -> bool:
    """gradcheck of the gradient: checks the formulas' own derivatives
    (what create_graph=True relies on). An op may compute its gradient by
    another route when the graph is kept (a fused C backward without it, a
    composite of differentiable ops with it): so the first derivative with
    create_graph=True must also equal the one without, at the base point,
    or a wrong composite would be differentiated consistently and pass."""
    inputs = _as_tuple(inputs)
    outputs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(
            tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device,
                   requires_grad=True)
            for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_inputs = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]

    def first_derivative(*args):
        xs, gos = args[:n_in], args[n_in:]
        outs = _outputs(fn, xs)
        grads = grad(outs, [xs[i] for i in diff_inputs], gos,
                     create_graph=True, allow_unused=True)
        return tuple(g if g is not None else zeros_like(xs[i])
                     for g, i in zip(grads, diff_inputs))

    kept = first_derivative(*inputs, *grad_outputs)
    outs = _outputs(fn, inputs)
    plain = grad(outs, [inputs[i] for i in diff_inputs],
                 tuple(g.detach() for g in grad_outputs), allow_unused=True)
    for k, (a, b) in enumerate(zip(kept, plain)):
        a = _host(a)
        b = np.zeros_like(a) if b is None else _host(b)
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            message = (f"gradgradcheck: the gradient of input {diff_inputs[k]} with "
                       f"create_graph=True differs from the one without it (max "
                       f"difference {np.max(np.abs(a - b)):.3g}): the two backward "
                       "routes disagree")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps,
                     atol=atol, rtol=rtol, raise_exception=raise_exception)
