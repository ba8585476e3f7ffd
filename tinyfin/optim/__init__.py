"""tinyfin.optim: PyTorch's optimizers (torch.optim). Each step is one
fused C kernel per parameter (native/src/cpu/optim.c) following PyTorch 2's
single-tensor update rule operation by operation, so the same initial
values and gradients give PyTorch's parameters to rounding."""
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from . import lr_scheduler  # learning-rate schedulers (optim.lr_scheduler)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]
