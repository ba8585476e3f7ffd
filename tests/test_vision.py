"""tinyfin.vision: datasets read back exactly from small files written in the
real formats (IDX plain and gzip, CIFAR's protocol-2 pickles, also the
opcodes Python 2 wrote), every corrupt or hostile file refused with an error
naming it, and the transforms against NumPy float64 references and their
invariants (a crop is a window of the padded image, flipping twice is the
identity, the same seed gives the same output, p=0 / p=1)."""
from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
import struct

import numpy as np
import pytest

import tinyfin
from tinyfin.vision import datasets, transforms as T
from tinyfin.vision._formats import ForbiddenGlobalError


# ---- writers of the real formats ------------------------------------------
def idx_bytes(arr: np.ndarray, magic=None, little_endian=False) -> bytes:
    """An IDX file of unsigned bytes: magic 0x000008NN, big-endian dims."""
    e = "<" if little_endian else ">"
    magic = 0x0800 | arr.ndim if magic is None else magic
    return (struct.pack(f"{e}I", magic) + struct.pack(f"{e}{arr.ndim}I", *arr.shape)
            + arr.astype(np.uint8).tobytes())


def write(path, data: bytes, gz=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return str(path)


def mnist_arrays(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n, dtype=np.uint8))


def write_mnist(folder, split="train", n=7, seed=0, gz=False):
    images, labels = mnist_arrays(n, seed)
    ext = ".gz" if gz else ""
    write(os.path.join(folder, f"{split}-images-idx3-ubyte{ext}"), idx_bytes(images), gz)
    write(os.path.join(folder, f"{split}-labels-idx1-ubyte{ext}"), idx_bytes(labels), gz)
    return images, labels


# ---- MNIST / FashionMNIST ---------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_mnist_reads_back_exactly(tmp_path, cls, gz):
    raw = tmp_path / cls.__name__ / "raw"
    tr_x, tr_y = write_mnist(raw, "train", 7, 0, gz)
    te_x, te_y = write_mnist(raw, "t10k", 4, 1, gz)
    train, test = cls(tmp_path), cls(str(tmp_path), train=False)
    assert len(train) == 7 and len(test) == 4
    np.testing.assert_array_equal(train.data, tr_x)
    np.testing.assert_array_equal(test.data, te_x)
    assert train.data.dtype == np.uint8 and train.data.shape == (7, 28, 28)
    assert train.targets.dtype == np.int64
    np.testing.assert_array_equal(train.targets, tr_y)
    np.testing.assert_array_equal(test.targets, te_y)
    for i in range(7):
        img, target = train[i]
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8
        np.testing.assert_array_equal(img, tr_x[i])
        assert type(target) is int and target == tr_y[i]
    assert len(cls.classes) == 10 and train.class_to_idx[cls.classes[3]] == 3
    # torchvision's way of taking a subset: data and targets alike
    keep = train.targets % 2 == 0
    train.data, train.targets = train.data[keep], train.targets[keep]
    assert len(train) == keep.sum()
    assert [train[i][1] for i in range(len(train))] == tr_y[keep].tolist()


def test_mnist_files_in_root_and_transforms(tmp_path):
    """Files straight in root also count; transform and target_transform are
    applied to each sample (ToTensor: x / 255 in float32, 1 x 28 x 28)."""
    x, y = write_mnist(tmp_path, "t10k", 5, 2, gz=True)
    ds = datasets.MNIST(tmp_path, train=False, transform=T.ToTensor(),
                        target_transform=lambda t: t + 100)
    img, target = ds[3]
    assert img.shape == (1, 28, 28) and img.dtype == tinyfin.float32
    np.testing.assert_array_equal(img.numpy()[0], (x[3] / 255.0).astype(np.float32))
    assert target == int(y[3]) + 100
    text = repr(ds)
    assert text.splitlines()[:4] == ["Dataset MNIST", "    Number of datapoints: 5",
                                     f"    Root location: {tmp_path}", "    Split: Test"]
    assert "    Transform: ToTensor()" in text


def test_mnist_prefers_torchvision_layout_and_plain_files(tmp_path):
    """root/MNIST/raw before root; the plain file before the .gz beside it."""
    write_mnist(tmp_path, "train", 3, 0)
    raw = tmp_path / "MNIST" / "raw"
    x, _ = write_mnist(raw, "train", 4, 5)
    write_mnist(raw, "train", 2, 9, gz=True)
    ds = datasets.MNIST(tmp_path)
    np.testing.assert_array_equal(ds.data, x)


def test_mnist_missing_files_say_which_and_where(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write(str(raw / "train-images-idx3-ubyte"), idx_bytes(mnist_arrays(2, 0)[0]))
    with pytest.raises(FileNotFoundError) as info:
        datasets.MNIST(tmp_path)
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)  # torchvision raises RuntimeError
    assert "missing train-labels-idx1-ubyte." in msg
    assert "missing train-images" not in msg
    assert str(raw) in msg and str(tmp_path) in msg and ".gz" in msg
    with pytest.raises(RuntimeError, match="t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"):
        datasets.MNIST(tmp_path, train=False)
    with pytest.raises(RuntimeError, match=r"FashionMNIST/raw"):
        datasets.FashionMNIST(tmp_path)


def test_mnist_download_is_refused_with_where_to_put_files(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    with pytest.raises(RuntimeError, match=r"never downloads.*MNIST/raw"):
        datasets.MNIST(tmp_path, download=True)


def _corrupt_images(images):
    """(name, bytes of a broken images file, a regex for its error)."""
    good = idx_bytes(images)
    return [
        ("labels magic", idx_bytes(images, magic=0x0801), r"magic number is 0x00000801, "
         r"expected 0x00000803"),
        ("little-endian", idx_bytes(images, little_endian=True), "reversed: IDX is big-endian"),
        ("int32 elements", idx_bytes(images, magic=0x0C03), "0x00000C03"),
        ("short data", good[:-1], r"truncated: .* declares dims \(3, 28, 28\) \(2352 bytes"
         r" of data\), the (decompressed )?file holds 2351"),
        ("trailing data", good + b"\0", "longer than its header says"),
        ("short header", good[:10], "truncated inside its header"),
        ("no magic", good[:3], "shorter than the 4-byte IDX magic"),
        ("empty", b"", "shorter than the 4-byte IDX magic"),
        ("huge dims", struct.pack(">4I", 0x0803, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\1",
         "truncated"),
    ]


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_corrupt_images_file_is_named(tmp_path, gz):
    images, labels = mnist_arrays(3, 0)
    ext = ".gz" if gz else ""
    write(str(tmp_path / f"train-labels-idx1-ubyte{ext}"), idx_bytes(labels), gz)
    for what, data, pattern in _corrupt_images(images):
        path = write(str(tmp_path / f"train-images-idx3-ubyte{ext}"), data, gz)
        with pytest.raises(RuntimeError, match=pattern) as info:
            datasets.MNIST(tmp_path)
        assert path in str(info.value), what


def test_mnist_labels_checked_against_images(tmp_path):
    images, labels = mnist_arrays(3, 0)
    img_path = write(str(tmp_path / "train-images-idx3-ubyte"), idx_bytes(images))
    lab = str(tmp_path / "train-labels-idx1-ubyte")
    write(lab, idx_bytes(labels[:2]))
    with pytest.raises(RuntimeError, match="holds 3 images but .* holds 2 labels") as info:
        datasets.MNIST(tmp_path)
    assert img_path in str(info.value) and lab in str(info.value)
    bad = labels.copy()
    bad[1] = 10
    write(lab, idx_bytes(bad))
    with pytest.raises(RuntimeError, match=r"label 10 at index 1; labels must be in \[0, 10\)"):
        datasets.MNIST(tmp_path)
    write(lab, idx_bytes(labels.reshape(3, 1)))  # 2 dims: magic 0x0802
    with pytest.raises(RuntimeError, match="0x00000802, expected 0x00000801"):
        datasets.MNIST(tmp_path)


def test_mnist_broken_gzip_is_named(tmp_path):
    images, labels = mnist_arrays(3, 0)
    write(str(tmp_path / "train-labels-idx1-ubyte.gz"), idx_bytes(labels), gz=True)
    path = str(tmp_path / "train-images-idx3-ubyte.gz")
    blob = gzip.compress(idx_bytes(images))
    for data in (blob[: len(blob) // 2], b"not gzip at all" * 10,
                 blob[:20] + bytes(b ^ 0xFF for b in blob[20:40]) + blob[40:]):
        write(path, data)
        with pytest.raises(RuntimeError, match="gzip|truncated") as info:
            datasets.MNIST(tmp_path)
        assert path in str(info.value)


# ---- CIFAR-10 ---------------------------------------------------------------
def cifar_batch(n, seed, bytes_keys=True):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    k = (lambda s: s.encode()) if bytes_keys else (lambda s: s)
    return {k("batch_label"): k(f"batch {seed}"), k("labels"): labels,
            k("data"): data, k("filenames"): [k(f"img_{seed}_{i}.png") for i in range(n)]}


def py2_pickle(d: dict) -> bytes:
    """A dict of str -> (str, list of ints, uint8 array) pickled with the
    opcodes Python 2 wrote the real CIFAR files with: protocol 2, str as
    BINSTRING, the array as numpy.core.multiarray._reconstruct + BUILD with
    its bytes as a BINSTRING."""
    def s(x: bytes) -> bytes:
        return (b"U" + bytes([len(x)]) if len(x) < 256 else b"T" + struct.pack("<I", len(x))) + x

    def integer(v: int) -> bytes:
        return b"K" + bytes([v]) if 0 <= v < 256 else b"J" + struct.pack("<i", v)

    def item(x) -> bytes:
        return s(x.encode("latin1")) if isinstance(x, str) else integer(x)

    out = b"\x80\x02}q\x00(" if d else b"\x80\x02}q\x00"
    for key, v in d.items():
        out += s(key.encode())
        if isinstance(v, str):
            out += s(v.encode("latin1"))
        elif isinstance(v, list):
            out += b"]" + (b"(" + b"".join(item(x) for x in v) + b"e" if v else b"")
        else:
            dtype = (b"cnumpy\ndtype\n" + s(b"u1") + b"K\x00K\x01\x87R"
                     + b"(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
            out += (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n"
                    + b"K\x00\x85" + s(b"b") + b"\x87R"
                    + b"(K\x01" + b"".join(integer(x) for x in v.shape) + b"\x86"
                    + dtype + b"\x89" + s(v.tobytes()) + b"tb")
    return out + (b"u." if d else b".")


def write_cifar(folder, n=3, writer="py3", meta=True):
    os.makedirs(folder, exist_ok=True)
    batches = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        batch = cifar_batch(n + seed % 2, seed, bytes_keys=(writer == "py3"))
        batches[name] = batch
        with open(os.path.join(folder, name), "wb") as f:
            if writer == "py2":
                f.write(py2_pickle(batch))
            else:
                pickle.dump(batch, f, protocol=2 if writer == "py3" else 5)
    if meta:
        with open(os.path.join(folder, "batches.meta"), "wb") as f:
            pickle.dump({b"label_names": [c.upper().encode() for c in
                                          datasets.CIFAR10.classes],
                         b"num_cases_per_batch": 10000, b"num_vis": 3072}, f, protocol=2)
    return batches


def _images(batches, names):
    def get(b, k):
        return b[k] if k in b else b[k.encode()]
    data = np.concatenate([get(batches[n], "data") for n in names])
    hwc = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = [x for n in names for x in get(batches[n], "labels")]
    return hwc, labels


@pytest.mark.parametrize("writer", ["py3", "py2", "protocol5"])
def test_cifar10_reads_back_exactly(tmp_path, writer):
    folder = tmp_path / "cifar-10-batches-py"
    batches = write_cifar(folder, writer=writer, meta=(writer == "py3"))
    if writer == "py2":  # the opcodes are those of a real file: no _codecs
        assert b"_codecs" not in (folder / "test_batch").read_bytes()
    train, test = datasets.CIFAR10(tmp_path), datasets.CIFAR10(tmp_path, train=False)
    x, y = _images(batches, [f"data_batch_{i}" for i in range(1, 6)])
    assert len(train) == len(x) == 5 * 3 + 2
    np.testing.assert_array_equal(train.data, x)
    assert train.data.shape[1:] == (32, 32, 3) and train.data.dtype == np.uint8
    assert train.targets == y and all(type(t) is int for t in train.targets)
    tx, ty = _images(batches, ["test_batch"])
    np.testing.assert_array_equal(test.data, tx)
    assert test.targets == ty
    img, target = train[16]
    np.testing.assert_array_equal(img, x[16])
    assert target == y[16]
    # pixel (r, c) of channel ch is data[ch * 1024 + r * 32 + c]
    raw = batches["data_batch_1"].get(b"data", batches["data_batch_1"].get("data"))
    assert train[1][0][5, 7, 2] == raw[1, 2 * 1024 + 5 * 32 + 7]
    want_classes = ([c.upper() for c in datasets.CIFAR10.classes] if writer == "py3"
                    else datasets.CIFAR10.classes)
    assert train.classes == want_classes


def test_cifar10_transforms_and_files_in_root(tmp_path):
    batches = write_cifar(tmp_path, n=2, meta=False)
    ds = datasets.CIFAR10(tmp_path, train=False, transform=T.ToTensor(),
                          target_transform=float)
    img, target = ds[1]
    x, y = _images(batches, ["test_batch"])
    assert img.shape == (3, 32, 32)
    np.testing.assert_array_equal(img.numpy(),
                                  (x[1].transpose(2, 0, 1) / 255.0).astype(np.float32))
    assert target == float(y[1])


def test_cifar10_missing_files_say_which_and_where(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    os.remove(folder / "data_batch_3")
    with pytest.raises(FileNotFoundError) as info:
        datasets.CIFAR10(tmp_path)
    assert isinstance(info.value, RuntimeError)
    msg = str(info.value)
    assert f"missing data_batch_3 in {folder}" in msg
    assert "data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5" in msg
    assert len(datasets.CIFAR10(tmp_path, train=False)) == 4  # the test split is whole
    with pytest.raises(RuntimeError, match="never downloads"):
        datasets.CIFAR10(tmp_path, train=False, download=True)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_cifar10_pickle_with_a_forbidden_global_is_refused_not_run(tmp_path):
    marker = tmp_path / "pwned"
    batch = cifar_batch(2, 0)
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    cases = [
        {b"data": batch[b"data"], b"labels": _Evil(marker)},  # os.system
        {b"data": batch[b"data"], b"labels": [1, 2], b"x": eval},  # builtins.eval
        {b"data": np.asmatrix(batch[b"data"]), b"labels": [1, 2]},  # ndarray subclass
    ]
    for case in cases:
        with open(folder / "test_batch", "wb") as f:
            pickle.dump(case, f, protocol=2)
        with pytest.raises(pickle.UnpicklingError, match="refusing to load") as info:
            datasets.CIFAR10(tmp_path, train=False)
        assert isinstance(info.value, ForbiddenGlobalError)
        assert str(folder / "test_batch") in str(info.value)
    assert not marker.exists()
    assert "posix.system" in _refusal(folder, cases[0], tmp_path)
    # _codecs.encode only as pickle uses it for bytes: a str as latin1
    blob = (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00base64\x86R.")
    (folder / "test_batch").write_bytes(blob)
    with pytest.raises(RuntimeError, match="_codecs.encode is allowed only"):
        datasets.CIFAR10(tmp_path, train=False)


def _refusal(folder, case, root):
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(case, f, protocol=2)
    with pytest.raises(ForbiddenGlobalError) as info:
        datasets.CIFAR10(root, train=False)
    return str(info.value)


def test_cifar10_corrupt_batches_are_named(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    path = folder / "test_batch"
    good = cifar_batch(4, 0)
    blob = pickle.dumps(good, protocol=2)
    cases = [
        (blob[:-1], "not a readable pickle"),  # no STOP
        (blob[: len(blob) // 2], "not a readable pickle"),
        (b"garbage" * 20, "not a readable pickle"),
        (b"", "not a readable pickle"),
        (pickle.dumps([good], protocol=2), "holds a list, expected the dict"),
        (pickle.dumps({b"data": good[b"data"]}, protocol=2), "no 'labels' entry"),
        (pickle.dumps({**good, b"data": good[b"data"].astype(np.int64)}, protocol=2),
         r"'data' is a int64 array of shape \(4, 3072\), expected an \(N, 3072\) uint8"),
        (pickle.dumps({**good, b"data": good[b"data"][:, :3071]}, protocol=2),
         r"shape \(4, 3071\)"),
        (pickle.dumps({**good, b"labels": good[b"labels"][:3]}, protocol=2),
         "holds 4 images but 3 labels"),
        (pickle.dumps({**good, b"labels": [0, 1, 10, 2]}, protocol=2),
         r"label 10 at index 2; labels must be in \[0, 10\)"),
        (pickle.dumps({**good, b"labels": [0, -1, 1, 2]}, protocol=2), "label -1 at index 1"),
        (pickle.dumps({**good, b"labels": [0, 1.5, 1, 2]}, protocol=2), "list of ints"),
    ]
    for data, pattern in cases:
        path.write_bytes(data)
        with pytest.raises(RuntimeError, match=pattern) as info:
            datasets.CIFAR10(tmp_path, train=False)
        assert str(path) in str(info.value)
    path.write_bytes(blob)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": ["a"]}, protocol=2))
    with pytest.raises(RuntimeError, match="batches.meta.*list of 10 class names"):
        datasets.CIFAR10(tmp_path, train=False)


# ---- load_digits ------------------------------------------------------------
def test_load_digits_matches_sklearn():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits as sk_load_digits
    ours, theirs = datasets.load_digits(), sk_load_digits()
    assert ours.images.shape == (1797, 8, 8) and ours.data.shape == (1797, 64)
    assert ours.target.dtype == np.int64 and ours.data.dtype == np.float64
    np.testing.assert_array_equal(ours.data, theirs.data)
    np.testing.assert_array_equal(ours.images, theirs.images)
    np.testing.assert_array_equal(ours.target, theirs.target)
    np.testing.assert_array_equal(ours.target_names, theirs.target_names)
    assert ours.feature_names == theirs.feature_names and ours.DESCR == theirs.DESCR
    np.testing.assert_array_equal(ours.images.reshape(-1, 64), ours.data)
    x, y = datasets.load_digits(n_class=5, return_X_y=True)
    tx, ty = sk_load_digits(n_class=5, return_X_y=True)
    np.testing.assert_array_equal(x, tx)
    np.testing.assert_array_equal(y, ty)
    assert set(y.tolist()) == set(range(5))


def test_load_digits_without_sklearn_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        datasets.load_digits()
    with pytest.raises(ValueError, match=r"n_class must be an int in \[1, 10\]"):
        datasets.load_digits(n_class=11)


# ---- transforms ---------------------------------------------------------------
def _rng(seed=0):
    return np.random.default_rng(seed)


def test_to_tensor_scales_uint8_and_moves_channels_first():
    img = _rng().integers(0, 256, (5, 7, 3), dtype=np.uint8)
    img[0, 0] = (0, 255, 128)
    out = T.ToTensor()(img)
    assert out.shape == (3, 5, 7) and out.dtype == tinyfin.float32
    ref = img.transpose(2, 0, 1).astype(np.float64) / 255.0
    got = out.numpy()
    assert got.min() >= 0 and got.max() == 1.0
    # x / 255 rounded once to float32: within half an ulp of the exact value
    np.testing.assert_array_equal(got, ref.astype(np.float32))
    assert np.all(np.abs(got - ref) <= np.spacing(np.float32(ref)) / 2)
    gray = img[..., 0]
    np.testing.assert_array_equal(T.ToTensor()(gray).numpy(), got[:1])
    # not uint8: values kept, as torchvision (float stays float, ints -> int64)
    f = _rng(1).normal(size=(4, 3, 2))
    kept = T.ToTensor()(f)
    assert kept.dtype == tinyfin.float64
    np.testing.assert_array_equal(kept.numpy(), f.transpose(2, 0, 1))
    ints = T.ToTensor()(img.astype(np.int32))
    assert ints.dtype == tinyfin.int64
    np.testing.assert_array_equal(ints.numpy(), img.transpose(2, 0, 1))
    # a non-contiguous view reads the same
    np.testing.assert_array_equal(T.ToTensor()(img[:, ::-1]).numpy(), got[:, :, ::-1])
    assert repr(T.ToTensor()) == "ToTensor()"
    with pytest.raises(TypeError, match="NumPy array"):
        T.ToTensor()(out)
    with pytest.raises(ValueError, match="2/3 dimensional. Got 4"):
        T.ToTensor()(img[None])


@pytest.mark.parametrize("dtype", [tinyfin.float32, tinyfin.float64])
def test_normalize_per_channel_vs_numpy(dtype):
    x = _rng(2).random((3, 4, 5))
    mean, std = (0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)
    t = tinyfin.tensor(x, dtype=dtype)
    out = T.Normalize(mean, std)(t)
    assert out.dtype == dtype and out.shape == (3, 4, 5)
    np_dt = dtype.numpy
    # the same arithmetic in the image's dtype: exactly NumPy's
    exact = (x.astype(np_dt) - np.array(mean, np_dt)[:, None, None]) \
        / np.array(std, np_dt)[:, None, None]
    np.testing.assert_array_equal(out.numpy(), exact)
    ref = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6 if dtype is tinyfin.float32
                               else 1e-15, atol=1e-6 if dtype is tinyfin.float32 else 0)
    np.testing.assert_array_equal(t.numpy(), x.astype(np_dt))  # input untouched


def test_normalize_broadcasts_batches_and_inplace():
    x = _rng(3).random((2, 3, 2, 2)).astype(np.float32)
    t = tinyfin.tensor(x)
    out = T.Normalize([0.5], [0.25])(t)  # one value for all channels
    np.testing.assert_array_equal(out.numpy(), (x - np.float32(0.5)) / np.float32(0.25))
    same = T.Normalize(0.5, 0.25, inplace=True)(t)
    assert same is t
    np.testing.assert_array_equal(t.numpy(), out.numpy())
    assert repr(T.Normalize((0.1307,), (0.3081,))) == "Normalize(mean=(0.1307,), std=(0.3081,))"


def test_normalize_errors():
    t = tinyfin.rand(3, 2, 2)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5, 0.5, 0.5), (1.0, 0.0, 1.0))(t)
    with pytest.raises(ValueError, match="has 2 values .* 3 channels"):
        T.Normalize((0.5, 0.5), (1.0, 1.0))(t)
    with pytest.raises(ValueError, match="std has 4 values"):
        T.Normalize(0.5, (1.0, 1.0, 1.0, 1.0))(t)
    with pytest.raises(TypeError, match="float tensor. Got tinyfin.int64"):
        T.Normalize(0, 1)(tinyfin.zeros(3, 2, 2, dtype=tinyfin.int64))
    with pytest.raises(TypeError, match="use ToTensor first"):
        T.Normalize(0, 1)(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize(0, 1)(tinyfin.rand(2, 2))
    with pytest.raises(TypeError, match="mean must be a number or a sequence"):
        T.Normalize("abc", 1)


PAD_MODES = ["constant", "edge", "reflect", "symmetric"]


def _window_offsets(big: np.ndarray, crop: np.ndarray):
    """Every (i, j) where crop is the window of big."""
    h, w = crop.shape[:2]
    return [(i, j) for i in range(big.shape[0] - h + 1) for j in range(big.shape[1] - w + 1)
            if np.array_equal(big[i:i + h, j:j + w], crop)]


@pytest.mark.parametrize("mode", PAD_MODES)
def test_random_crop_is_a_window_of_the_padded_image(mode):
    """Against np.pad as the reference (distinct pixel values, so each crop
    pins down its offset); over many draws the crops cover every offset and
    so the whole padded image."""
    img = (np.arange(5 * 6 * 2).reshape(5, 6, 2) * 3 + 1).astype(np.uint8)
    padding = (2, 1, 3, 0)  # left, top, right, bottom
    ref = np.pad(img, [(1, 0), (2, 3), (0, 0)], mode=mode,
                 **({"constant_values": 0} if mode == "constant" else {}))
    crop = T.RandomCrop((4, 5), padding=padding, padding_mode=mode)
    tinyfin.manual_seed(0)
    seen = set()
    covered = np.zeros(ref.shape[:2], bool)
    for _ in range(200):
        out = crop(img)
        assert out.shape == (4, 5, 2) and out.dtype == np.uint8
        offsets = _window_offsets(ref, out)
        assert offsets, "the crop is not a window of the padded image"
        if mode in ("constant", "edge"):
            continue
        assert len(offsets) == 1
        (i, j), = offsets
        seen.add((i, j))
        covered[i:i + 4, j:j + 5] = True
    if mode in ("reflect", "symmetric"):
        assert seen == {(i, j) for i in range(ref.shape[0] - 3) for j in range(ref.shape[1] - 4)}
        assert covered.all()


@pytest.mark.parametrize("mode", PAD_MODES)
def test_random_crop_tensor_matches_numpy(mode):
    """The same seed crops a C x H x W Tensor where it crops the H x W x C
    array (torchvision's tensor and PIL paths). fill is in the image's own
    values: 51 for uint8 is 51 / 255 = 0.2 after ToTensor."""
    img = _rng(4).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    crop = T.RandomCrop(7, padding=[2, 3], padding_mode=mode, fill=51)
    crop_t = T.RandomCrop(7, padding=[2, 3], padding_mode=mode,
                          fill=float(np.float32(51) / np.float32(255)))
    for seed in range(20):
        tinyfin.manual_seed(seed)
        a = T.ToTensor()(crop(img))
        tinyfin.manual_seed(seed)
        b = crop_t(T.ToTensor()(img))
        assert b.shape == (3, 7, 7)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_random_crop_pad_if_needed_fill_and_full_size():
    img = np.arange(15, dtype=np.uint8).reshape(5, 3) + 1
    # torchvision pads the missing amount on both sides: (6 - 3) left and right
    # -> 9 wide, (6 - 5) top and bottom -> 7 high; then crops 6 x 6
    ref = np.pad(img, [(1, 1), (3, 3)], constant_values=9)
    tinyfin.manual_seed(1)
    for _ in range(20):
        out = T.RandomCrop(6, pad_if_needed=True, fill=9)(img)
        assert out.shape == (6, 6) and _window_offsets(ref, out)
    # a crop of the whole (padded) image draws nothing and returns it
    state = tinyfin.get_rng_state()
    np.testing.assert_array_equal(T.RandomCrop((5, 3))(img), img)
    np.testing.assert_array_equal(T.RandomCrop((7, 5), padding=1, fill=200)(img),
                                  np.pad(img, 1, constant_values=200))
    # torchvision's padding forms: (left/right, top/bottom), (left, top, right, bottom)
    np.testing.assert_array_equal(T.RandomCrop((9, 5), padding=(1, 2))(img),
                                  np.pad(img, [(2, 2), (1, 1)]))
    np.testing.assert_array_equal(T.RandomCrop((11, 7), padding=(1, 2, 3, 4), fill=5)(img),
                                  np.pad(img, [(2, 4), (1, 3)], constant_values=5))
    t = tinyfin.tensor(img[None].astype(np.float64))
    np.testing.assert_array_equal(
        T.RandomCrop((11, 7), padding=(1, 2, 3, 4), padding_mode="symmetric")(t).numpy(),
        np.pad(img[None], [(0, 0), (2, 4), (1, 3)], mode="symmetric"))
    assert tinyfin.get_rng_state() == state
    # per-channel fill
    rgb = np.zeros((2, 2, 3), np.uint8)
    out = T.RandomCrop(4, padding=1, fill=(1, 2, 3))(rgb)
    np.testing.assert_array_equal(out[0, 0], [1, 2, 3])
    np.testing.assert_array_equal(out[1, 1], [0, 0, 0])
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(6)(img)
    with pytest.raises(ValueError, match="cannot be represented"):
        T.RandomCrop(6, padding=1, fill=300)(img)
    with pytest.raises(ValueError, match="fill .* 2 values .* 3 channels"):
        T.RandomCrop(4, padding=1, fill=(1, 2))(rgb)


def test_random_crop_seeding_and_generator():
    img = _rng(5).integers(0, 256, (10, 10, 3), dtype=np.uint8)
    crop = T.RandomCrop(4, padding=2, padding_mode="reflect")
    tinyfin.manual_seed(7)
    a = [crop(img) for _ in range(10)]
    np.random.seed(0)
    tinyfin.manual_seed(7)
    np_state = np.random.get_state()[1].copy()
    b = [crop(img) for _ in range(10)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # NumPy's RNG unused
    assert len({x.tobytes() for x in a}) > 1
    # the offsets are tinyfin.randint draws, top then left
    tinyfin.manual_seed(3)
    out = crop(img)
    tinyfin.manual_seed(3)
    i = tinyfin.randint(0, 14 - 4 + 1, (1,)).item()
    j = tinyfin.randint(0, 14 - 4 + 1, (1,)).item()
    np.testing.assert_array_equal(out, np.pad(img, [(2, 2), (2, 2), (0, 0)],
                                              mode="reflect")[i:i + 4, j:j + 4])
    # generator=: its own stream; the default generator is left alone
    g1, g2 = tinyfin.Generator().manual_seed(11), tinyfin.Generator().manual_seed(11)
    state = tinyfin.get_rng_state()
    c1 = T.RandomCrop(4, padding=2, generator=g1)
    c2 = T.RandomCrop(4, padding=2, generator=g2)
    assert all(np.array_equal(c1(img), c2(img)) for _ in range(5))
    assert tinyfin.get_rng_state() == state


def test_random_crop_arguments_and_repr():
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert T.RandomCrop([3]).size == (3, 3) and T.RandomCrop((2, 5)).size == (2, 5)
    with pytest.raises(ValueError, match="padding_mode should be either constant"):
        T.RandomCrop(3, padding=1, padding_mode="wrap")
    with pytest.raises(ValueError, match="1, 2, or 4 element sequence, not a 3"):
        T.RandomCrop(3, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="one or two ints"):
        T.RandomCrop((1, 2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        T.RandomCrop(3, padding=-1)
    with pytest.raises(TypeError, match="tinyfin.Generator"):
        T.RandomCrop(3, generator=np.random.default_rng())
    with pytest.raises(TypeError, match="fill must be a number for a tensor"):
        T.RandomCrop(3, padding=1, fill=(1, 2, 3))(tinyfin.rand(3, 2, 2))


def test_random_horizontal_flip():
    img = _rng(6).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    t = T.ToTensor()(img)
    tinyfin.manual_seed(0)
    for _ in range(20):
        assert T.RandomHorizontalFlip(p=0.0)(img) is img
        np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
        np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(t).numpy(),
                                      t.numpy()[..., ::-1])
    flip = T.RandomHorizontalFlip(1.0)
    np.testing.assert_array_equal(flip(flip(img)), img)
    np.testing.assert_array_equal(flip(flip(t)).numpy(), t.numpy())
    # p=0.5: flips exactly when the tinyfin.rand draw is below p
    tinyfin.manual_seed(5)
    flipped = [not np.array_equal(T.RandomHorizontalFlip()(img), img) for _ in range(400)]
    tinyfin.manual_seed(5)
    draws = [tinyfin.rand(1, dtype=tinyfin.float64).item() < 0.5 for _ in range(400)]
    assert flipped == draws and 150 < sum(flipped) < 250
    # tensor and array follow the same draws
    tinyfin.manual_seed(9)
    a = [T.RandomHorizontalFlip()(img) for _ in range(10)]
    tinyfin.manual_seed(9)
    b = [T.RandomHorizontalFlip()(t) for _ in range(10)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(T.ToTensor()(x).numpy(), y.numpy())
    g = tinyfin.Generator().manual_seed(5)
    state = tinyfin.get_rng_state()
    assert [not np.array_equal(T.RandomHorizontalFlip(generator=g)(img), img)
            for _ in range(400)] == draws
    assert tinyfin.get_rng_state() == state
    assert repr(T.RandomHorizontalFlip(0.3)) == "RandomHorizontalFlip(p=0.3)"
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        T.RandomHorizontalFlip(1.5)


def test_compose_and_lambda():
    img = _rng(7).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    pipeline = T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip(),
                          T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
                          T.Lambda(lambda x: x * 2)])
    tinyfin.manual_seed(4)
    out = pipeline(img)
    tinyfin.manual_seed(4)
    step = T.RandomHorizontalFlip()(T.RandomCrop(6, padding=1)(img))
    ref = (step.transpose(2, 0, 1).astype(np.float32) / np.float32(255) - np.float32(0.5)) \
        / np.float32(0.5) * np.float32(2)
    np.testing.assert_array_equal(out.numpy(), ref)
    assert out.shape == (3, 6, 6)
    assert repr(T.Compose([T.ToTensor(), T.Lambda(abs)])) == \
        "Compose(\n    ToTensor()\n    Lambda()\n)"
    with pytest.raises(TypeError, match="lambd should be callable"):
        T.Lambda(3)
    with pytest.raises(TypeError, match="transform 1 is not callable"):
        T.Compose([T.ToTensor(), None])


def test_augmented_mnist_through_the_dataloader_is_the_same_for_any_num_workers(tmp_path):
    """The DataLoader seeds tinyfin's default generator per batch, and the
    random transforms draw only from it: a seed gives the same augmented
    batches with 0 or 2 worker processes, and the augmentation is real."""
    DataLoader = tinyfin.utils.data.DataLoader
    x, y = write_mnist(tmp_path, "train", 24, 3)
    augment = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(),
                         T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(tmp_path, transform=augment)

    def epoch(num_workers):
        loader = DataLoader(ds, batch_size=5, shuffle=True, num_workers=num_workers,
                            generator=tinyfin.Generator().manual_seed(0))
        return [(xb.numpy().copy(), yb.numpy().copy()) for xb, yb in loader]

    a, b = epoch(0), epoch(2)
    assert [xb.shape for xb, _ in a] == [(5, 1, 28, 28)] * 4 + [(4, 1, 28, 28)]
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    labels = np.concatenate([yb for _, yb in a])
    assert sorted(labels.tolist()) == sorted(y.tolist())
    plain = (x.astype(np.float32) / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    changed = sum(not any(np.array_equal(img[0], p) for p in plain)
                  for xb, _ in a for img in xb)
    assert changed > 12  # most samples were shifted or flipped


def test_transforms_match_torchvisions_tensor_arithmetic():
    """torchvision's code paths written out in PyTorch (torchvision itself is
    not needed): ToTensor is from_numpy(img.transpose(2, 0, 1)).float()
    .div(255), Normalize sub_(mean[:, None, None]).div_(std[:, None, None]), and
    a tensor's edge / reflect padding torch.nn.functional.pad's replicate /
    reflect; the same numbers bit for bit."""
    torch = pytest.importorskip("torch")
    img = _rng(8).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    theirs = torch.from_numpy(img.transpose(2, 0, 1).copy()).contiguous().float().div(255)
    ours = T.ToTensor()(img)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    ref = theirs.clone().sub_(torch.tensor(mean).view(-1, 1, 1)).div_(
        torch.tensor(std).view(-1, 1, 1))
    np.testing.assert_array_equal(T.Normalize(mean, std)(ours).numpy(), ref.numpy())
    for mode, torch_mode in (("edge", "replicate"), ("reflect", "reflect")):
        crop = T.RandomCrop((6 + 1 + 2, 7 + 3 + 4), padding=(3, 1, 4, 2), padding_mode=mode)
        padded = crop(ours)
        want = torch.nn.functional.pad(theirs[None], (3, 4, 1, 2), mode=torch_mode)[0]
        np.testing.assert_array_equal(padded.numpy(), want.numpy())
