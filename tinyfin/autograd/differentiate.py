"""backward() and grad(), the two ways into the engine of graph.py: they
check what they are given (PyTorch's messages), seed each output's
gradient, and run the graph backward."""
from __future__ import annotations

from collections.abc import Sequence as _Sequence
from typing import Optional, Sequence, Union

from ..creation import ones_like
from ..tensor import Tensor
from .graph import accumulate_grad, grad_lock, run_backward

Tensors = Union[Tensor, Sequence[Tensor]]


def _as_tuple(op: str, what: str, x, none_ok: bool = False) -> tuple:
    """x (a Tensor, or a sequence of them) as a tuple; anything else is a
    TypeError naming op, the argument and the position (instead of an
    AttributeError from inside the engine). none_ok lets entries be None."""
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    if not isinstance(x, _Sequence) or isinstance(x, str):
        raise TypeError(f"{op}: expected {what} to be a Tensor or a sequence of "
                        f"Tensors, got {type(x).__name__}")
    for i, item in enumerate(x):
        if not (isinstance(item, Tensor) or (none_ok and item is None)):
            raise TypeError(f"{op}: {what}[{i}] must be a Tensor"
                            f"{' or None' if none_ok else ''}, got {type(item).__name__}")
    return tuple(x)


def _root_grads(op: str, outputs: tuple, grad_outputs: tuple, names: tuple) -> list:
    """The seed gradient of each output; names: what op calls the two."""
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise ValueError(f"{op}: got {len(outputs)} {names[0]} and "
                         f"{len(grad_outputs)} {names[1]}")
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar "
                    f"outputs, but output {i} has shape {tuple(out.shape)}; "
                    "pass a gradient of that shape")
            g = ones_like(out)
        elif g.shape != out.shape:
            raise ValueError(f"{op}: Mismatch in shape: grad_output[{i}] has a shape "
                             f"of {g.shape} and output[{i}] has a shape of {out.shape}")
        elif g.dtype is not out.dtype:
            g = g.to(out.dtype)    # as PyTorch: the gradient takes the output's dtype
        grads.append(g)
    return grads


def _check_outputs(op: str, outputs: tuple) -> None:
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"{op}: element {i} of tensors does not require grad and does "
                "not have a grad_fn (was it computed under no_grad, or from "
                "tensors that do not require grad?)")


def backward(tensors: Tensors, grad_tensors: Optional[Tensors] = None,
             retain_graph: Optional[bool] = None, create_graph: bool = False,
             inputs: Optional[Tensors] = None) -> None:
    """Accumulate d(tensors)/d(leaf) into every leaf's .grad."""
    outputs = _as_tuple("backward", "tensors", tensors)
    _check_outputs("backward", outputs)
    grads = _root_grads("backward", outputs,
                        _as_tuple("backward", "grad_tensors", grad_tensors, True),
                        ("tensors", "gradients"))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        wanted = _as_tuple("backward", "inputs", inputs)
        results = run_backward(outputs, grads, retain_graph, create_graph,
                               inputs=wanted, allow_unused=True)
        for t, g in zip(wanted, results):
            if g is not None:
                with grad_lock:
                    accumulate_grad(t, g, True)
        return
    run_backward(outputs, grads, retain_graph, create_graph)


def grad(outputs: Tensors, inputs: Tensors,
         grad_outputs: Optional[Tensors] = None,
         retain_graph: Optional[bool] = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """Gradients of outputs with respect to inputs, returned (not stored)."""
    outs = _as_tuple("grad", "outputs", outputs)
    ins = _as_tuple("grad", "inputs", inputs)
    if not ins:
        raise ValueError("grad: inputs is empty; pass the tensors to differentiate with "
                         "respect to")
    _check_outputs("grad", outs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _root_grads("grad", outs, _as_tuple("grad", "grad_outputs", grad_outputs, True),
                        ("outputs", "grad_outputs"))
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                        allow_unused=allow_unused)
