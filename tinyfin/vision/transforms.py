"""Image transforms, as torchvision.transforms: `Compose`, `ToTensor`,
`Normalize`, `RandomCrop`, `RandomHorizontalFlip`, `Lambda`.

An image is what tinyfin.vision.datasets return (torchvision's PIL image): a
NumPy array, H x W (grayscale) or H x W x C, usually uint8. `ToTensor` turns
it into a C x H x W tinyfin Tensor; `RandomCrop` and `RandomHorizontalFlip`
work on both (on a Tensor, on its last two dims, as torchvision), `Normalize`
on Tensors only (as torchvision).

The random transforms draw only from tinyfin's generators (the default one
behind tinyfin.manual_seed, or the `generator=` given), never from NumPy's or
Python's global RNG: `tinyfin.manual_seed(s)` reproduces them, and so does
the DataLoader, which sets the default generator for each batch it fetches
(so a seed gives the same augmented batches for any num_workers). A
transform given its own `generator=` follows only that generator: under a
DataLoader with workers each worker draws from its own copy of it, so leave
generator=None there.
"""
from __future__ import annotations

import numbers
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dtypes
from .._generator import Generator
from ..creation import from_numpy, rand, randint, tensor
from ..shape import flip, pad
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "Lambda"]

_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _check_generator(name: str, generator) -> Optional[Generator]:
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{name}: generator must be a tinyfin.Generator or None, got "
                        f"{type(generator).__name__}")
    return generator


def _check_image(name: str, img) -> Tuple[int, int]:
    """(height, width) of a NumPy image (H x W or H x W x C) or a Tensor
    image (..., H, W)."""
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{name}: expected a tensor image of shape (..., H, W), "
                             f"got shape {img.shape}")
        return img.shape[-2], img.shape[-1]
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a NumPy image of shape H x W or "
                             f"H x W x C, got shape {img.shape}")
        return img.shape[0], img.shape[1]
    raise TypeError(f"{name}: expected a NumPy array (H x W or H x W x C) or a "
                    f"tinyfin Tensor (C x H x W), got {type(img).__name__}")


class Compose:
    """Apply the transforms in order: Compose([t1, t2])(x) == t2(t1(x))."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} is not callable, got "
                                f"{type(t).__name__}")
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = [f"{self.__class__.__name__}("]
        lines += [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


class ToTensor:
    """A NumPy image H x W x C (or H x W) -> a C x H x W Tensor (1 x H x W).
    uint8 images are scaled to float32 in [0, 1] (x / 255 in float32); other
    dtypes keep their values (float stays float, ints become int64), as
    torchvision.transforms.ToTensor does."""

    def __call__(self, pic) -> Tensor:
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: pic should be a NumPy array (H x W or "
                            f"H x W x C). Got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2/3 dimensional. Got "
                             f"{pic.ndim} dimensions (shape {pic.shape}).")
        chw = (pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1))
        if pic.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255)
        return from_numpy(chw, "ToTensor")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


def _channel_values(name: str, what: str, values, channels: int, dt) -> Tensor:
    """mean or std as a Tensor of dtype dt that broadcasts over (C, H, W)."""
    if isinstance(values, Tensor):
        values = values.detach().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, channels)):
        raise ValueError(f"{name}: {what} has {arr.size} values {list(arr.ravel())} for "
                         f"an image of {channels} channels; give one value per "
                         f"channel, or one for all")
    t = tensor(arr, dtype=dt)
    return t.view(-1, 1, 1) if arr.ndim == 1 else t


class Normalize:
    """(x - mean[c]) / std[c] for each channel c of a float Tensor image
    (..., C, H, W), in the image's dtype; mean and std hold one value per
    channel (or one for all). inplace=True writes into the input."""

    def __init__(self, mean, std, inplace: bool = False) -> None:
        for what, v in (("mean", mean), ("std", std)):
            a = np.asarray(v.detach().numpy() if isinstance(v, Tensor) else v)
            if a.dtype.kind not in "biuf" or a.ndim > 1:
                raise TypeError(f"Normalize: {what} must be a number or a sequence "
                                f"of numbers (one per channel), got {v!r}")
            if a.size == 0:
                raise ValueError(f"Normalize: {what} is empty; give one value per "
                                 "channel")
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: img should be a tinyfin Tensor image "
                            f"(C x H x W; use ToTensor first). Got "
                            f"{type(tensor).__name__}")
        if not tensor.is_floating_point():
            raise TypeError(f"Normalize: input tensor should be a float tensor. Got "
                            f"{tensor.dtype}")
        if tensor.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of size "
                             f"(..., C, H, W). Got tensor.size() = {tensor.shape}")
        c = tensor.shape[-3]
        mean = _channel_values("Normalize", "mean", self.mean, c, tensor.dtype)
        std = _channel_values("Normalize", "std", self.std, c, tensor.dtype)
        if (std.numpy() == 0).any():
            raise ValueError(f"Normalize: std evaluated to zero after conversion to "
                             f"{tensor.dtype}, leading to division by zero "
                             f"(std={self.std})")
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return (tensor - mean) / std

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


def _pair(name: str, what: str, size) -> Tuple[int, int]:
    """(h, w) from an int or a sequence of 1 or 2 positive ints."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    elif isinstance(size, Sequence) and len(size) == 1:
        size = (size[0], size[0])
    if not (isinstance(size, Sequence) and len(size) == 2
            and all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                    for s in size)):
        raise ValueError(f"{name}: {what} must be an int or a sequence of one or two "
                         f"ints (h, w), got {size!r}")
    if min(size) < 1:
        raise ValueError(f"{name}: {what} must be positive, got {tuple(size)}")
    return int(size[0]), int(size[1])


def _padding(name: str, padding) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom) from torchvision's padding forms: an int
    (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        p = [padding]
    elif isinstance(padding, Sequence) and all(
            isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in padding):
        p = list(padding)
    else:
        raise TypeError(f"{name}: padding must be an int or a sequence of ints, got "
                        f"{padding!r}")
    if len(p) not in (1, 2, 4):
        raise ValueError(f"{name}: padding must be an int or a 1, 2, or 4 element "
                         f"sequence, not a {len(p)} element sequence")
    if min(p) < 0:
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    if len(p) == 1:
        return (int(p[0]),) * 4
    if len(p) == 2:
        return int(p[0]), int(p[1]), int(p[0]), int(p[1])
    return int(p[0]), int(p[1]), int(p[2]), int(p[3])


def _pad_numpy(name: str, img: np.ndarray, ltrb, fill, mode: str) -> np.ndarray:
    left, top, right, bottom = ltrb
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
    if mode != "constant":
        if 0 in img.shape[:2] and any(ltrb):
            raise ValueError(f"{name}: cannot pad an empty image of shape {img.shape} "
                             f"in {mode!r} mode")
        return np.pad(img, widths, mode=mode)
    channels = img.shape[2] if img.ndim == 3 else 1
    values = np.asarray(fill, dtype=np.float64).ravel()
    if values.size not in (1, channels):
        raise ValueError(f"{name}: fill {fill!r} has {values.size} values for an image "
                         f"of {channels} channels; give one value, or one per channel")
    cast = values.astype(img.dtype)
    if not np.array_equal(cast.astype(np.float64), values, equal_nan=True):
        raise ValueError(f"{name}: fill {fill!r} cannot be represented in the "
                         f"image's dtype {img.dtype}")
    h, w = img.shape[:2]
    out = np.empty((h + top + bottom, w + left + right) + img.shape[2:], img.dtype)
    out[...] = cast if img.ndim == 3 else cast[0]
    out[top:top + h, left:left + w] = img
    return out


def _pad_tensor(name: str, img: Tensor, ltrb, fill, mode: str) -> Tensor:
    left, top, right, bottom = ltrb
    if mode == "constant":
        if not isinstance(fill, numbers.Real) or isinstance(fill, bool):
            raise TypeError(f"{name}: fill must be a number for a tensor image, got "
                            f"{fill!r}")
        return pad(img, [left, right, top, bottom], value=fill)
    out = img
    for dim, (before, after) in ((-2, (top, bottom)), (-1, (left, right))):
        if before or after:
            n = out.shape[dim]
            if n == 0:
                raise ValueError(f"{name}: cannot pad an empty image of shape "
                                 f"{img.shape} in {mode!r} mode")
            # the source of each output position: NumPy's pad of the indices
            index = np.pad(np.arange(n, dtype=np.int64), (before, after), mode=mode)
            out = out.index_select(out.ndim + dim, from_numpy(index))
    return out


def _pad(name: str, img, ltrb, fill, mode: str):
    if not any(ltrb):
        return img
    if isinstance(img, Tensor):
        return _pad_tensor(name, img, ltrb, fill, mode)
    return _pad_numpy(name, img, ltrb, fill, mode)


class RandomCrop:
    """A crop of `size` (h, w) at a random place, after padding (torchvision's
    forms: an int, (left/right, top/bottom) or (left, top, right, bottom)) in
    padding_mode 'constant' (fill), 'edge', 'reflect' or 'symmetric'.
    pad_if_needed pads an image smaller than the crop, by the missing amount on
    each side, as torchvision does. The offsets are tinyfin.randint draws (top,
    then left) from `generator` (None: tinyfin's default generator)."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant", *,
                 generator: Optional[Generator] = None) -> None:
        self.size = _pair("RandomCrop", "size", size)
        self._ltrb = None if padding is None else _padding("RandomCrop", padding)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"RandomCrop: padding_mode should be either constant, "
                             f"edge, reflect or symmetric, got {padding_mode!r}")
        if not isinstance(fill, (numbers.Real, Sequence)) or isinstance(fill, (bool, str)):
            raise TypeError(f"RandomCrop: fill must be a number or a sequence of "
                            f"numbers (one per channel), got {fill!r}")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode
        self.generator = _check_generator("RandomCrop", generator)

    @staticmethod
    def get_params(img, output_size: Tuple[int, int], generator=None
                   ) -> Tuple[int, int, int, int]:
        """(top, left, height, width) of a random crop of output_size."""
        h, w = _check_image("RandomCrop", img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than "
                             f"input image size {(h, w)}; pad it (padding=, "
                             "pad_if_needed=True) or crop smaller")
        if h == th and w == tw:
            return 0, 0, h, w
        i = randint(0, h - th + 1, (1,), generator=generator).item()
        j = randint(0, w - tw + 1, (1,), generator=generator).item()
        return i, j, th, tw

    def __call__(self, img):
        _check_image("RandomCrop", img)
        if self._ltrb is not None:
            img = _pad("RandomCrop", img, self._ltrb, self.fill, self.padding_mode)
        h, w = _check_image("RandomCrop", img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            img = _pad("RandomCrop", img, (tw - w, 0, tw - w, 0), self.fill,
                       self.padding_mode)
        if self.pad_if_needed and h < th:
            img = _pad("RandomCrop", img, (0, th - h, 0, th - h), self.fill,
                       self.padding_mode)
        i, j, th, tw = self.get_params(img, self.size, self.generator)
        if isinstance(img, Tensor):
            return img[..., i:i + th, j:j + tw]
        return np.ascontiguousarray(img[i:i + th, j:j + tw])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability p: one tinyfin.rand draw
    from `generator` (None: tinyfin's default generator) per call; it flips
    when the draw is below p, as torchvision."""

    def __init__(self, p: float = 0.5, *, generator: Optional[Generator] = None) -> None:
        if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in "
                             f"[0, 1], got {p!r}")
        self.p = p
        self.generator = _check_generator("RandomHorizontalFlip", generator)

    def __call__(self, img):
        _check_image("RandomHorizontalFlip", img)
        if rand(1, dtype=_dtypes.float64, generator=self.generator).item() < self.p:
            if isinstance(img, Tensor):
                return flip(img, [-1])
            return np.ascontiguousarray(img[:, ::-1])
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class Lambda:
    """A user function as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument lambd should be callable, got "
                            f"{type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"

