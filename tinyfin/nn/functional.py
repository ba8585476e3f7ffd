"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for."""
from .ops.linear import linear
from .ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,  # noqa: F401
                          adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
                          avg_pool2d, max_pool1d, max_pool2d)

__all__ = [
    "linear",
]
__all__ += ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
            "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]
