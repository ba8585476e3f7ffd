"""The module database: one ModuleInfo per nn layer, in the spirit of
PyTorch's ModuleInfo (torch/testing/_internal/common_modules.py).

An entry says how to build the layer (constructor variants, each a
ModuleSample with its forward inputs), its NumPy float64 reference (from the
parameters and buffers by state_dict key, the inputs and the training flag),
how training and eval differ, and the distribution of its default
initialisation. verify/checks/modules.py runs the checks (forward against
the reference in both modes, gradcheck of the input and every parameter,
train vs eval, state_dict round trip, dtype conversion, the initialisation's
distribution); tests/test_nn_vs_torch.py compares each sample with
PyTorch's layer when PyTorch is installed.

Entries live in the modules_*.py files, grouped by concern (found by name);
`coverage()` names every Module class of tinyfin.nn without an entry.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .opdb import Tol, load_entries

DEFAULT_TOL = {"float32": Tol(rtol=1e-5, atol=1e-6), "float64": Tol(rtol=1e-10, atol=1e-12)}


@dataclasses.dataclass
class ModuleSample:
    """One constructor call and one forward call. `inputs(rng)` gives the
    forward arguments: float64 NumPy arrays become tensors of the dtype under
    test, other arrays (int64 indices, bool masks) keep theirs, anything
    else is passed as it is."""
    ctor_args: tuple = ()
    ctor_kwargs: dict = dataclasses.field(default_factory=dict)
    inputs: Callable[[Any], tuple] = lambda rng: ()
    forward_kwargs: dict = dataclasses.field(default_factory=dict)
    desc: str = ""
    grad: bool = True        # small enough for gradcheck
    # containers: a function giving fresh constructor arguments (submodules)
    # for every build, instead of ctor_args
    make_args: Optional[Callable[[], tuple]] = None


@dataclasses.dataclass
class ModuleInfo:
    name: str                                   # class name in tinyfin.nn (and torch.nn)
    samples: Callable[[], List[ModuleSample]]
    # (params {state_dict key: float64 array}, inputs (numpy), sample,
    # training) -> output (array or nested tuple of arrays), or with
    # updates_buffers (output, {buffer key: value after the forward})
    reference: Callable[[Dict[str, Any], tuple, ModuleSample, bool], Any]
    dtypes: Tuple[str, ...] = ("float32", "float64")
    train_eval: str = "same"                   # "same" or "differs"
    random_in_train: bool = False              # the training forward draws random numbers
    updates_buffers: bool = False              # the training forward updates buffers
    # the default initialisation: {param name: m -> ("uniform", lo, hi) |
    # ("normal", mean, std) | ("constant", value)}
    init: Dict[str, Callable[[Any], tuple]] = dataclasses.field(default_factory=dict)
    tol: Dict[str, Tol] = dataclasses.field(default_factory=lambda: dict(DEFAULT_TOL))
    gradgrad: bool = False                     # also gradgradcheck the float64 samples
    torch_name: Optional[str] = None           # when torch.nn names it differently
    torch_tol: float = 1e-10                   # float64 agreement with PyTorch (relative)

    @property
    def id(self) -> str:
        return f"nn.{self.name}"

    def build(self, sample: ModuleSample, dtype: str = "float32"):
        import tinyfin as tf
        args = sample.make_args() if sample.make_args else sample.ctor_args
        m = getattr(tf.nn, self.name)(*args, **sample.ctor_kwargs)
        return m.to(getattr(tf, dtype))


def _load() -> List[ModuleInfo]:
    return load_entries("modules_", "MODULES", "moduledb")


_ALL: Optional[List[ModuleInfo]] = None


def all_modules() -> List[ModuleInfo]:
    global _ALL
    if _ALL is None:
        _ALL = _load()
    return _ALL


# Module classes that are not layers to verify (no computation of their own),
# with the reason.
NOT_LAYERS = {
    "Module": "the base class; every entry exercises it",
    "ModuleList": "a container without forward (tests/test_nn_module.py)",
    "ModuleDict": "a container without forward (tests/test_nn_module.py)",
    "ParameterList": "a container without forward (tests/test_nn_module.py)",
    "ParameterDict": "a container without forward (tests/test_nn_module.py)",
}


def coverage() -> List[str]:
    """Module classes exported by tinyfin.nn without an entry."""
    import tinyfin as tf
    have = {e.name for e in all_modules()}
    return sorted(n for n in tf.nn.modules.__all__ if n not in have and n not in NOT_LAYERS)


def select(names: Optional[Sequence[str]] = None) -> List[ModuleInfo]:
    """Entries whose id ("nn.Linear") or class name is in names (all when
    None); names that are neither are ignored (they may be ops)."""
    if not names:
        return list(all_modules())
    wanted = set(names)
    return [e for e in all_modules() if e.id in wanted or e.name in wanted]
