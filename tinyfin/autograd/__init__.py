"""tinyfin.autograd: reverse-mode automatic differentiation.

The graph lives in Python (graph.py); every gradient formula is written with
tinyfin's differentiable ops, next to the op it differentiates. This package
adds the user-facing pieces: backward and grad (differentiate.py), the
autograd methods of Tensor (tensor_methods.py), grad-mode switches,
gradcheck and the functional API (vjp, jvp, hvp, vhp, jacobian, hessian).

Every op module imports graph, which runs this file first, so all it
imports sits below the op modules: grad_mode, graph, util, inplace (tracked
writes) and linear_maps (gradients of ops that pick elements), which the op
modules use, and differentiate, tensor_methods and gradcheck, built on
creation alone. functional is built on the op modules (shape.stack), so
tinyfin/__init__.py imports it once they are loaded; importing it here
would close a cycle: ops -> tinyfin.autograd -> functional -> ops.
"""
from __future__ import annotations

from . import tensor_methods  # noqa: F401  (attaches Tensor.backward, ...)
from .differentiate import Tensors, backward, grad  # noqa: F401
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                        is_inference_mode_enabled, no_grad, set_grad_enabled)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from .graph import (Node, RemovableHandle, accumulate_grad, grad_lock,  # noqa: F401
                    needs_grad, record, run_backward)

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled",
           "gradcheck", "gradgradcheck", "GradcheckError", "functional",
           "Node", "record", "needs_grad"]
