"""The Module classes, one file per concern as in torch/nn/modules/."""
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
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

__all__ = [
    "Module",
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear",
    "Flatten", "Unflatten",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MultiheadAttention",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
]
__all__ += _activation_all + ["Dropout", "Dropout2d", "Embedding"]
