"""The Module classes, one file per concern as in torch/nn/modules/."""
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module
# activations, dropout, embedding
from .activation import *  # noqa: F401,F403,E402
from .activation import __all__ as _activation_all  # noqa: E402
from .dropout import Dropout, Dropout2d  # noqa: E402
from .sparse import Embedding  # noqa: E402
from .batchnorm import BatchNorm1d, BatchNorm2d
from .normalization import GroupNorm, LayerNorm

__all__ = [
    "Module",
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear",
    "Flatten", "Unflatten",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss",
    "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
]
__all__ += _activation_all + ["Dropout", "Dropout2d", "Embedding"]
