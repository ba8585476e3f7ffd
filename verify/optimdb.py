"""The optimizer database: one OptimizerInfo per optimizer of tinyfin.optim,
in the spirit of PyTorch's OptimizerInfo
(torch/testing/_internal/common_optimizers.py).

An entry names the optimizer, its option sets (OptimSample: constructor
keywords covering every option and every combination that changes the
update rule) and an independent NumPy float64 reference of one step,
written from the algorithm as the papers and PyTorch's documentation state
it (not from tinyfin's kernel). verify/checks/optimizers.py runs the checks:
many steps on several parameters against the reference in float32 and
float64, resume from state_dict (bitwise), and param groups with different
options; tests/test_optim.py adds PyTorch itself when it is installed.

Entries live in verify/optims.py (found by name, as the op and module
databases' files are); `coverage()` names every optimizer exported by
tinyfin.optim without an entry.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .opdb import Tol, load_entries

# Agreement with the float64 reference after the check's steps: float32
# carries the rounding of every step (about steps x 2^-24 relative, more
# where a division by sqrt(v) + eps amplifies it); float64 the same at
# 2^-53.
DEFAULT_TOL = {"float32": Tol(rtol=2e-5, atol=2e-6), "float64": Tol(rtol=1e-12, atol=1e-13)}


@dataclasses.dataclass
class OptimSample:
    """One option set: the constructor's keywords."""
    kwargs: Dict[str, Any]
    desc: str = ""


@dataclasses.dataclass
class OptimizerInfo:
    name: str                                   # class name in tinyfin.optim (and torch.optim)
    samples: Callable[[], List[OptimSample]]
    # (p, g, state, kwargs) -> None: one step of the rule on float64 arrays,
    # p updated in place; state a dict of the reference's own (empty at
    # first) that it keeps between steps; kwargs the group's options with
    # the optimizer's defaults filled in
    reference: Callable[[Any, Any, Dict[str, Any], Dict[str, Any]], None]
    defaults: Dict[str, Any] = dataclasses.field(default_factory=dict)
    dtypes: Tuple[str, ...] = ("float32", "float64")
    tol: Dict[str, Tol] = dataclasses.field(default_factory=lambda: dict(DEFAULT_TOL))
    # the state keys PyTorch keeps per parameter, by option set
    state_keys: Callable[[Dict[str, Any]], Tuple[str, ...]] = lambda kw: ()

    @property
    def id(self) -> str:
        return f"optim.{self.name}"

    def options(self, kwargs: Dict[str, Any]) -> Dict[str, Any]:
        """kwargs with the defaults filled in (what a param group holds)."""
        return {**self.defaults, **kwargs}

    def build(self, params, kwargs: Dict[str, Any]):
        import tinyfin as tf
        return getattr(tf.optim, self.name)(params, **kwargs)


_ALL: Optional[List[OptimizerInfo]] = None


def all_optimizers() -> List[OptimizerInfo]:
    global _ALL
    if _ALL is None:
        _ALL = load_entries("optims", "OPTIMIZERS", "optimdb")
    return _ALL


# Classes of tinyfin.optim that are not optimizers to verify.
NOT_OPTIMIZERS = {"Optimizer": "the base class; every entry exercises it"}


def coverage() -> List[str]:
    """Optimizers exported by tinyfin.optim without an entry."""
    import tinyfin as tf
    have = {e.name for e in all_optimizers()}
    return sorted(n for n in tf.optim.__all__ if n not in have and n not in NOT_OPTIMIZERS
                  and isinstance(getattr(tf.optim, n), type))


def select(names: Optional[Sequence[str]] = None) -> List[OptimizerInfo]:
    """Entries whose id ("optim.Adam") or class name is in names (all when
    None); other names are ignored (they may be ops or modules)."""
    if not names:
        return list(all_optimizers())
    wanted = set(names)
    return [e for e in all_optimizers() if e.id in wanted or e.name in wanted]


def ids() -> set:
    return {e.id for e in all_optimizers()}
