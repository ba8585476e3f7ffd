"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for."""
from .ops.linear import linear
from .ops.norm import batch_norm, group_norm, layer_norm

__all__ = [
    "linear",
    "batch_norm", "layer_norm", "group_norm",
]
