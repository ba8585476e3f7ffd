"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for."""
from .ops.linear import linear
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d

__all__ = [
    "linear",
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
]
