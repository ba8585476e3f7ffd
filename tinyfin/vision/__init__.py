"""tinyfin.vision: image datasets and transforms, in torchvision's roles
(`from tinyfin.vision import datasets, transforms`). Images are NumPy arrays
(H x W or H x W x C, uint8) where torchvision has PIL images; no PIL needed."""
from . import datasets, transforms

__all__ = ["datasets", "transforms"]
