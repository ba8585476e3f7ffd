"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for. The modules with many small ops export their own
`__all__`, gathered here whole."""
from .ops.activation import *  # noqa: F401,F403
from .ops.activation import __all__ as _activation_all
from .ops.attention import scaled_dot_product_attention
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .ops.dropout import *  # noqa: F401,F403
from .ops.dropout import __all__ as _dropout_all
from .ops.embedding import *  # noqa: F401,F403
from .ops.embedding import __all__ as _embedding_all
from .ops.linear import linear
from .ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                       huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from .ops.norm import batch_norm, group_norm, layer_norm
from .ops.pooling import *  # noqa: F401,F403
from .ops.pooling import __all__ as _pooling_all

__all__ = [
    "linear",
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    "batch_norm", "layer_norm", "group_norm",
    "scaled_dot_product_attention",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    *_activation_all, *_dropout_all, *_embedding_all, *_pooling_all,
]
