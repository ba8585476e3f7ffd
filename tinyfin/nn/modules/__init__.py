"""The Module classes, one file per concern as in torch/nn/modules/."""
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
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
# recurrent and attention layers
from .attention import MultiheadAttention  # noqa: E402
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell, RNNCellBase  # noqa: E402,F401
from .batchnorm import BatchNorm1d, BatchNorm2d
from .normalization import GroupNorm, LayerNorm
# pooling
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,  # noqa: E402
                      AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d)

__all__ = [
    "Module",
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear",
    "Flatten", "Unflatten",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MultiheadAttention",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss",
    "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
]
__all__ += _activation_all + ["Dropout", "Dropout2d", "Embedding"]
__all__ += ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
            "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]
