"""tinyfin: a small machine-learning framework whose numbers can be trusted.

A C core (native/) holds tensors and kernels; this package wraps it with
PyTorch's names: `tinyfin.tensor`, `tinyfin.exp(x)` / `x.exp()`, ...
"""
from . import _C
from ._args import as_int
from .dtypes import bool_ as bool  # noqa: A001  (PyTorch's name)
from .dtypes import double, dtype, float, float32, float64, int64, long  # noqa: A001
from ._device import device
from .tensor import Tensor
from ._generator import Generator, default_generator, get_rng_state, set_rng_state

# The op modules register their functions on import; elementwise_grad gives
# elementwise its gradient formulas. autograd.functional is built on the op
# modules, so it comes after them (see autograd/__init__.py).
from . import elementwise, elementwise_grad, creation, views  # noqa: E402,F401  isort: skip
from . import reduction, linalg, shape, indexing  # noqa: E402,F401  isort: skip
from ._exports import FUNCTIONS as _FUNCTIONS  # noqa: E402
from ._format import set_printoptions  # noqa: E402
from . import autograd  # noqa: E402
from . import backends  # noqa: E402
from . import cuda  # noqa: E402
from .autograd import functional  # noqa: E402,F401
from .autograd import (enable_grad, inference_mode, is_grad_enabled,  # noqa: E402
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
# The training stack, each built on what comes before it (as PyTorch's):
# nn, optim, utils.data (datasets, samplers, DataLoader), vision (image
# datasets and transforms, torchvision's roles), serialization
# (tinyfin.save / tinyfin.load: safetensors checkpoints) and train (Trainer).
from . import nn  # noqa: E402  isort: skip
from . import optim  # noqa: E402  isort: skip
from . import utils  # noqa: E402  isort: skip
from . import vision  # noqa: E402  isort: skip
from . import serialization  # noqa: E402  isort: skip
from .serialization import load, save  # noqa: E402  isort: skip
from . import train  # noqa: E402  isort: skip

globals().update(_FUNCTIONS)


def set_num_threads(n: int) -> None:
    """Threads for the parallel kernels, in every thread (also those started
    later); results never depend on it. A process made by fork() runs its
    kernels on one thread."""
    n = as_int("set_num_threads", "n", n)
    if not 1 <= n <= 1 << 16:
        raise ValueError(f"set_num_threads: expected a positive int (at most "
                         f"65536), got {n}")
    _C.tf_set_num_threads(int(n))


def get_num_threads() -> int:
    """The threads a parallel kernel uses now (1 in a forked child)."""
    return _C.tf_get_num_threads()


def is_tensor(obj) -> "bool":
    return isinstance(obj, Tensor)


__version__ = "0.1.0"
__all__ = ["Tensor", "Generator", "default_generator", "get_rng_state", "set_rng_state",
           "backends", "cuda", "nn", "optim", "utils", "vision", "serialization", "save", "load",
           "train", "device", "dtype", "float32", "float64", "int64", "bool",
           "set_num_threads", "set_printoptions", "get_num_threads", "is_tensor", "autograd",
           "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled",
           *sorted(_FUNCTIONS)]
