"""tinyfin.nn: modules, layers and losses with PyTorch's names and semantics.

`modules/` holds the Module classes, `functional.py` the functional form of
every layer (the differentiable ops of `ops/`, which call the C kernels),
`init.py` the initialisers."""
from . import functional
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Parameter
from . import utils  # nn.utils: gradient clipping (clip_grad_norm_, clip_grad_value_)

__all__ = ["Parameter", "functional", *_modules_all]
