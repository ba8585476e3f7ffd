"""Optimizer: the base class of tinyfin.optim, with PyTorch's API.

An optimizer holds `param_groups` (a list of dicts, each with 'params', a
list of tensors, and every option of the optimizer, the defaults filled
in), `state` (a dict keyed by parameter, holding each parameter's buffers
under PyTorch's names) and `defaults`. `state_dict()` packs both in
PyTorch's layout, parameters replaced by their index in group order:

    {'state': {0: {'step': tensor(3.), 'exp_avg': tensor(...), ...}, ...},
     'param_groups': [{'lr': 0.001, ..., 'params': [0, 1]}, ...]}

and `load_state_dict` restores it into an optimizer over the same
parameters. The subclasses (sgd.py, adam.py, ...) implement step() with
one fused C kernel call per parameter (native/src/cpu/optim.c), which
updates the parameter and its state in place, bumps their version
counters and records no autograd history.
"""
from __future__ import annotations

import ctypes
import functools
import threading
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Dict, Iterable, List, Optional

from .. import _C
from .._args import SCALAR_INT
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor
from ._common import steps_as_tensors

__all__ = ["Optimizer", "required", "serialized"]


def serialized(step):
    """Decorates an optimizer's step: one step at a time per optimizer. A
    step reads and writes every parameter's state in C with the GIL
    released, so two threads stepping one optimizer would lose updates (as
    .grad accumulation, it takes a lock; a re-entrant one, for a closure)."""
    @functools.wraps(step)
    def locked(self, closure=None):
        with self._step_lock:
            try:
                return step(self, closure)
            except ctypes.ArgumentError as e:  # an option the kernel cannot take
                raise TypeError(f"{type(self).__name__}.step: each numeric option of a "
                                "param group must be a real number in float range (a "
                                f"float, an int or a one-element Tensor): {e}") from None
    return locked


class _RequiredParameter:
    """The default of an option that every param group must give (PyTorch's
    `required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


class Optimizer:
    """Base class of the optimizers: Optimizer(params, defaults), params an
    iterable of Tensors, of (name, Tensor) pairs, or of dicts (param groups
    with their own options)."""

    def __init__(self, params, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self._step_lock = threading.RLock()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an "
                            "iterable of Tensors or dicts, but got " + _typename(params))
        self.state: Dict[Tensor, Dict[str, Any]] = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ---- pickling, printing ----------------------------------------------------
    def __getstate__(self) -> Dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    # Options a state_dict from an older PyTorch may lack, with the values
    # __setstate__ fills in (PyTorch's per-class __setstate__ does the same).
    _late_options: Dict[str, Any] = {}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_step_lock" not in self.__dict__:  # unpickled (locks do not pickle)
            self._step_lock = threading.RLock()
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:
            for key, value in self._late_options.items():
                group.setdefault(key, value)
        steps_as_tensors(self)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # ---- parameter groups ------------------------------------------------------
    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the optimizer's
        defaults fill in the rest), as when unfreezing layers."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise KeyError("param_group must have a 'params' entry (the tensors "
                           f"to optimize); got the keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will "
                            "change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the "
                                "params is " + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(tensors) != len(set(tensors)):
            warnings.warn("optimizer contains a parameter group with duplicate "
                          "parameters; in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more "
                          "information", stacklevel=3)

        param_set = set()
        for group in self.param_groups:
            param_set.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without "
                                 f"names. cannot add param group {which} to the optimizer")
        if not param_set.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients, step -------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (the default, so
        the next step skips parameters that get no gradient), or to zeros in
        place, detached from any graph."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    _C.check(_C.tf_fill_(g._h, 0.0, 0, SCALAR_INT))

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """One optimization step; closure (optional) re-evaluates the model
        (with grad mode on) and returns the loss, which step returns."""
        raise NotImplementedError

    def _with_grads(self, group: dict):
        """(param, grad, state) of each param of group that has a grad (the
        others are skipped, as PyTorch skips them)."""
        state = self.state
        for p in group["params"]:
            g = p._grad
            if g is not None:
                yield p, g, state[p]

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ---- state_dict ------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """{'state': {index: {name: tensor or number}}, 'param_groups':
        [{option: value, ..., 'params': [index, ...]}]}, parameters
        numbered in group order (PyTorch's layout). The state tensors are
        the optimizer's own (not copies), as in PyTorch: save or clone them
        before stepping again if a snapshot is needed."""
        mapping: Dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore a state_dict() of an optimizer of the same class over
        parameters in the same groups, of the same sizes. The group options
        are taken from it; state tensors are copied (never shared with the
        source) and cast to their parameter's dtype and device, except
        'step', which keeps its dtype and lives on the cpu (as PyTorch's
        non-capturable optimizers keep it, in host memory), whichever
        device the checkpoint was mapped to."""
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a dict "
                             "with 'state' and 'param_groups' (an optimizer's "
                             "state_dict()), got "
                             + (f"the keys {sorted(map(str, state_dict))}"
                                if isinstance(state_dict, dict) else _typename(state_dict)))
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't "
                             "match the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                value = value.detach()
                if key == "step":
                    out = value.to(device="cpu")
                elif not param.is_floating_point():
                    out = value.to(device=param.device)
                else:
                    out = value.to(dtype=param.dtype, device=param.device)
                return out.clone() if out is value else out
            if isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: Dict[Any, Dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if isinstance(k, str) and k.isdigit() and int(k) in id_map:
                # a checkpoint format with string keys (JSON) wrote the index
                # as "0": without this its state would be kept aside, unused
                k = int(k)
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})

