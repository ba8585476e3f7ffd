"""tinyfin.utils: helpers around the tensor library, as torch.utils
(`tinyfin.utils.data`: datasets, samplers and the DataLoader)."""
from . import data

__all__ = ["data"]
