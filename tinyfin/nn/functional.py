"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for."""
from .ops.attention import scaled_dot_product_attention
from .ops.linear import linear

__all__ = [
    "linear",
    "scaled_dot_product_attention",
]
