"""Datasets read from files on disk, as torchvision.datasets: `MNIST`,
`FashionMNIST`, `CIFAR10`, and `load_digits()` (scikit-learn's 8x8 digits).

Nothing is ever downloaded (there may be no network): `download=True` is an
error that says where to put the files. Every file is checked before it is
used (magic numbers, dims, sizes against the declared counts, images against
labels, labels in range), so a truncated or corrupt file is an error naming
it, never a crash or a silently shorter dataset. CIFAR's pickles are read by
a loader that refuses every global but the few NumPy arrays need: loading
never runs code from a file.

An image is a NumPy array, H x W (grayscale) or H x W x C, uint8, where
torchvision returns a PIL image; `transforms.ToTensor()` makes it a
C x H x W float32 Tensor in [0, 1].
"""
from __future__ import annotations

import gzip
import importlib.util
import os
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.data.dataset import Dataset
from . import _formats

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "CIFAR10", "load_digits", "Bunch",
           "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError, RuntimeError):
    """A dataset's files are not where they are looked for. Both a
    FileNotFoundError and the RuntimeError torchvision raises."""


def _root(owner: str, root) -> str:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"{owner}: root must be a path (str or os.PathLike), got "
                        f"{type(root).__name__}")
    return os.path.expanduser(os.fspath(root))


def _no_download(owner: str, download: bool, where: str) -> None:
    if download:
        raise RuntimeError(f"{owner}: download=True is not supported: tinyfin never "
                           f"downloads (there may be no network). Put the files in "
                           f"{where} yourself and pass download=False")


class VisionDataset(Dataset):
    """The base of the image datasets, as torchvision's: root, transform
    (applied to the image) and target_transform (to the target). A subclass
    sets data (the images), targets (their int classes) and classes."""

    _repr_indent = 4

    def __init__(self, root, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None) -> None:
        owner = type(self).__name__
        self.root = _root(owner, root)
        for what, t in (("transform", transform), ("target_transform", target_transform)):
            if t is not None and not callable(t):
                raise TypeError(f"{owner}: {what} must be callable or None, got "
                                f"{type(t).__name__}")
        self.transform, self.target_transform = transform, target_transform

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        return self._apply(self.data[index], int(self.targets[index]))

    def _apply(self, img, target):
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}"]
        body += self.extra_repr().splitlines()
        for head, t in (("Transform: ", self.transform),
                        ("Target transform: ", self.target_transform)):
            if t is not None:
                lines = repr(t).splitlines()
                body += [head + lines[0]] + [" " * len(head) + ln for ln in lines[1:]]
        return "\n".join([f"Dataset {type(self).__name__}"]
                         + [" " * self._repr_indent + ln for ln in body])


# ---- MNIST and FashionMNIST ------------------------------------------------
class MNIST(VisionDataset):
    """The MNIST digits from the four IDX files (plain or .gz, as distributed),
    looked for in root/MNIST/raw (torchvision's layout) and then in root:

        train-images-idx3-ubyte  train-labels-idx1-ubyte   (train=True)
        t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte    (train=False)

    dataset[i] is (image, target) after the transforms: image a 28 x 28 uint8
    NumPy array, target an int. `data` is the (N, 28, 28) uint8 NumPy array
    and `targets` the (N,) int64 NumPy array (torchvision: a uint8 and an
    int64 tensor; tinyfin has no uint8, and both stay NumPy so that
    `ds.data, ds.targets = ds.data[keep], ds.targets[keep]` subsets them
    alike), `classes` the class names."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        _no_download(type(self).__name__, download, self.raw_folder)
        images, labels = self._find_files()
        owner = type(self).__name__
        self.data = _formats.read_idx(images, 3, owner)
        labels_arr = _formats.read_idx(labels, 1, owner)
        if labels_arr.shape[0] != self.data.shape[0]:
            raise RuntimeError(f"{owner}: {images} holds {self.data.shape[0]} images but "
                               f"{labels} holds {labels_arr.shape[0]} labels; the two "
                               "files must be of the same split and count")
        if labels_arr.size and labels_arr.max() >= len(self.classes):
            bad = int(np.argmax(labels_arr >= len(self.classes)))
            raise RuntimeError(f"{owner}: {labels} holds label {labels_arr[bad]} at "
                               f"index {bad}; labels must be in [0, "
                               f"{len(self.classes)})")
        self.targets = labels_arr.astype(np.int64)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _file_names(self) -> Tuple[str, str]:
        split = "train" if self.train else "t10k"
        return f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"

    def _find_files(self) -> Tuple[str, str]:
        """The path of each file: plain before .gz, raw folder before root."""
        found, missing = [], []
        for name in self._file_names():
            for folder in (self.raw_folder, self.root):
                hits = [p for p in (os.path.join(folder, name),
                                    os.path.join(folder, name + ".gz"))
                        if os.path.isfile(p)]
                if hits:
                    found.append(hits[0])
                    break
            else:
                missing.append(name)
        if missing:
            names = " and ".join(self._file_names())
            raise DatasetNotFoundError(
                f"{type(self).__name__}: dataset not found: missing "
                f"{', '.join(missing)}. Expected {names} (each plain or .gz, as "
                f"distributed) in {self.raw_folder} (torchvision's layout) or in "
                f"{self.root}. tinyfin never downloads: fetch the files yourself")
        return found[0], found[1]

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same four IDX file names and formats as
    MNIST, looked for in root/FashionMNIST/raw and then in root."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
               "Shirt", "Sneaker", "Bag", "Ankle boot"]


# ---- CIFAR-10 --------------------------------------------------------------
class CIFAR10(VisionDataset):
    """CIFAR-10 from the python version's batches, in
    root/cifar-10-batches-py (as the archive extracts) or in root:
    data_batch_1 ... data_batch_5 (train=True), test_batch (train=False), and
    batches.meta for the class names (optional). Each batch is a pickled dict
    with 'data', an (N, 3072) uint8 array (each row the red, green and blue
    32 x 32 planes), and 'labels', N ints in [0, 10).

    The pickles are read with a loader that resolves only the globals NumPy
    arrays need and refuses any other (pickle.UnpicklingError): loading never
    runs code from a file. dataset[i] is (image, target) after the
    transforms: image a 32 x 32 x 3 uint8 NumPy array (H x W x C), target an
    int. `data` is the (N, 32, 32, 3) uint8 array, `targets` a list of ints,
    as torchvision."""

    base_folder = "cifar-10-batches-py"
    train_list = [f"data_batch_{i}" for i in range(1, 6)]
    test_list = ["test_batch"]
    meta_file = "batches.meta"
    label_key = "labels"
    meta_key = "label_names"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
               "horse", "ship", "truck"]

    def __init__(self, root, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None,
                 download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        owner = type(self).__name__
        folder_wanted = os.path.join(self.root, self.base_folder)
        _no_download(owner, download, folder_wanted)
        names = self.train_list if self.train else self.test_list
        folder = self._find_folder(names)
        meta = os.path.join(folder, self.meta_file)
        if os.path.isfile(meta):
            self.classes = self._load_meta(meta)
        data, targets = [], []
        for name in names:
            path = os.path.join(folder, name)
            batch, labels = self._load_batch(path)
            data.append(batch)
            targets.extend(labels)
        # H x W x C views of the C x H x W rows, as torchvision (ToTensor's
        # transpose back to C x H x W then reads them in order)
        self.data = np.concatenate(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        self.targets: List[int] = targets

    def _find_folder(self, names: Sequence[str]) -> str:
        owner = type(self).__name__
        for folder in (os.path.join(self.root, self.base_folder), self.root):
            if all(os.path.isfile(os.path.join(folder, n)) for n in names):
                return folder
        folder = os.path.join(self.root, self.base_folder)
        missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
        raise DatasetNotFoundError(
            f"{owner}: dataset not found: missing {', '.join(missing)} in {folder}. "
            f"Expected {', '.join(names)} (and {self.meta_file} for the class names) "
            f"in {folder}, as the python version of the archive "
            f"(cifar-10-python.tar.gz) extracts, or in {self.root}. tinyfin never "
            "downloads: fetch and extract it yourself")

    def _load_batch(self, path: str) -> Tuple[np.ndarray, List[int]]:
        owner = type(self).__name__
        entry = _formats.str_keys(owner, path, _formats.load_pickle(path, owner))
        for key in ("data", self.label_key):
            if key not in entry:
                raise RuntimeError(f"{owner}: {path} has no {key!r} entry (keys: "
                                   f"{sorted(map(str, entry))}); not a CIFAR batch")
        data, labels = entry["data"], entry[self.label_key]
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8
                and data.ndim == 2 and data.shape[1] == 3072):
            desc = (f"a {data.dtype} array of shape {data.shape}"
                    if isinstance(data, np.ndarray) else f"a {type(data).__name__}")
            raise RuntimeError(f"{owner}: {path}: 'data' is {desc}, expected an "
                               "(N, 3072) uint8 array (N images of 3 x 32 x 32)")
        if isinstance(labels, np.ndarray):
            labels = labels.tolist()
        if not isinstance(labels, list) or not all(
                isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                for x in labels):
            raise RuntimeError(f"{owner}: {path}: {self.label_key!r} must be a list of "
                               f"ints, got {type(labels).__name__}")
        if len(labels) != data.shape[0]:
            raise RuntimeError(f"{owner}: {path} holds {data.shape[0]} images but "
                               f"{len(labels)} labels")
        n = len(self.classes)
        for i, x in enumerate(labels):
            if not 0 <= x < n:
                raise RuntimeError(f"{owner}: {path} holds label {x} at index {i}; "
                                   f"labels must be in [0, {n})")
        return data, [int(x) for x in labels]

    def _load_meta(self, path: str) -> List[str]:
        owner = type(self).__name__
        meta = _formats.str_keys(owner, path, _formats.load_pickle(path, owner))
        names = meta.get(self.meta_key)
        if isinstance(names, list):
            names = [x.decode("latin1") if isinstance(x, bytes) else x for x in names]
        if not (isinstance(names, list) and len(names) == len(type(self).classes)
                and all(isinstance(x, str) for x in names)):
            raise RuntimeError(f"{owner}: {path}: {self.meta_key!r} must be a list of "
                               f"{len(type(self).classes)} class names, got {names!r}")
        return names

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


# ---- scikit-learn's digits -------------------------------------------------
class Bunch(dict):
    """A dict whose keys are also attributes (scikit-learn's Bunch)."""

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value) -> None:
        self[key] = value

    def __dir__(self):
        return list(self.keys())


def _sklearn_file(*parts: str) -> str:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("load_digits: the 8x8 digits are a data file that "
                          "scikit-learn ships, and scikit-learn is not installed: "
                          "`pip install scikit-learn`")
    path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", *parts)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_digits: scikit-learn is installed but its data "
                                f"file {path} is not there; reinstall it "
                                "(`pip install --force-reinstall scikit-learn`)")
    return path


def load_digits(*, n_class: int = 10, return_X_y: bool = False):
    """scikit-learn's 1797 8x8 handwritten digits (values 0..16), read from the
    file scikit-learn ships (it must be installed; it is not imported), as
    sklearn.datasets.load_digits: a Bunch with data (N, 64) float64, images
    (N, 8, 8) float64, target (N,) int64, target_names, feature_names and
    DESCR; (data, target) with return_X_y=True. n_class keeps the digits
    0..n_class-1."""
    if isinstance(n_class, bool) or not isinstance(n_class, (int, np.integer)) \
            or not 1 <= n_class <= 10:
        raise ValueError(f"load_digits: n_class must be an int in [1, 10], got "
                         f"{n_class!r}")
    path = _sklearn_file("data", "digits.csv.gz")
    with gzip.open(path, "rt") as f:
        raw = np.loadtxt(f, delimiter=",")
    if raw.ndim != 2 or raw.shape[1] != 65 or raw.shape[0] == 0:
        raise RuntimeError(f"load_digits: {path} has shape {raw.shape}, expected "
                           "(N, 65): 64 pixels and the digit per row")
    target = raw[:, -1].astype(np.int64)
    data = np.ascontiguousarray(raw[:, :-1])
    if not (np.array_equal(target, raw[:, -1]) and target.min() >= 0
            and target.max() <= 9 and data.min() >= 0 and data.max() <= 16):
        raise RuntimeError(f"load_digits: {path} holds values out of range (pixels "
                           "must be in [0, 16] and digits in 0..9)")
    keep = target < n_class
    data, target = data[keep], target[keep]
    if return_X_y:
        return data, target
    descr_path = os.path.join(os.path.dirname(os.path.dirname(path)), "descr", "digits.rst")
    descr = ""
    if os.path.isfile(descr_path):
        with open(descr_path, encoding="utf-8") as f:
            descr = f.read()
    return Bunch(data=data, target=target, images=data.reshape(-1, 8, 8),
                 target_names=np.arange(10),
                 feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
                 frame=None, DESCR=descr)
