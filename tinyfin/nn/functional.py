"""tinyfin.nn.functional: the functional form of every layer, as
torch.nn.functional. The ops live by concern in tinyfin/nn/ops/; this module
only gathers them, and `__all__` is what verify's coverage test requires an
op-database entry for."""
__all__: list = []

# ---- losses (tinyfin/nn/ops/loss.py) ----
from .ops.loss import *  # noqa: E402,F401,F403
from .ops.loss import __all__ as _loss_all  # noqa: E402
__all__ += _loss_all
