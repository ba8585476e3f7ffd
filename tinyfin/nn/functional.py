"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for."""
from .ops.linear import linear
from .ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                       huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)

__all__ = [
    "linear",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]
