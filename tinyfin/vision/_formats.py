"""The file formats the datasets read, each checked before it is trusted:

- IDX (MNIST's): a big-endian magic 0x0000TTNN (TT: the element type, 0x08
  for unsigned bytes; NN: the number of dims), NN big-endian uint32 dims,
  then the elements, plain or gzip-compressed. The reader checks the magic,
  the dims and that the data holds exactly the count the dims declare (no
  more, no less), reads at most that much plus one chunk whatever the header
  claims, and names the file in every error.
- CIFAR's python pickles, read by an Unpickler that resolves only the few
  globals a batch of NumPy arrays needs and refuses every other one, so
  loading never runs code from the file.
"""
from __future__ import annotations

import codecs
import gzip
import pickle
import struct
import zlib
import numpy as np

_CHUNK = 1 << 24  # read 16 MiB at a time: never more than the file holds


def _read_at_most(f, n: int) -> bytearray:
    """Up to n bytes from f, in chunks (n may be a hostile header's huge
    count: nothing is allocated for it up front)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def read_idx(path: str, ndim: int, owner: str) -> np.ndarray:
    """The uint8 array of shape dims in the IDX file at path (gzip-compressed
    when the name ends in .gz), which must declare unsigned bytes and `ndim`
    dims; `owner` (the dataset class) heads every error."""
    magic_wanted = 0x0800 | ndim
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = _read_at_most(f, 4)
            if len(head) < 4:
                raise RuntimeError(f"{owner}: {path} is truncated: {len(head)} bytes, "
                                   f"shorter than the 4-byte IDX magic")
            magic = struct.unpack(">I", head)[0]
            if magic != magic_wanted:
                hint = ""
                if struct.unpack("<I", head)[0] == magic_wanted:
                    hint = " (its bytes are reversed: IDX is big-endian)"
                raise RuntimeError(
                    f"{owner}: {path} is not an IDX file of unsigned bytes with "
                    f"{ndim} dims: its magic number is 0x{magic:08X}, expected "
                    f"0x{magic_wanted:08X}{hint}")
            raw = _read_at_most(f, 4 * ndim)
            if len(raw) < 4 * ndim:
                raise RuntimeError(f"{owner}: {path} is truncated inside its header: "
                                   f"{4 + len(raw)} bytes, the header has {4 + 4 * ndim}")
            dims = struct.unpack(f">{ndim}I", raw)
            count = 1
            for d in dims:
                count *= d
            data = _read_at_most(f, count + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise RuntimeError(f"{owner}: {path} is not a readable gzip file ({e}); "
                           "re-download or re-extract it") from e
    where = "decompressed " if path.endswith(".gz") else ""
    if len(data) != count:
        what = "truncated" if len(data) < count else "longer than its header says"
        got = f"{len(data)}" if len(data) < count else f"more than {count}"
        raise RuntimeError(f"{owner}: {path} is {what}: its header declares dims "
                           f"{dims} ({count} bytes of data), the {where}file holds "
                           f"{got}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


# ---- CIFAR's pickles ------------------------------------------------------
def _latin1_encode(obj, encoding="latin1"):
    """_codecs.encode as Python 3 pickles bytes in protocols 0-2
    (encode(str, 'latin1')): the only use allowed, no other codec."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(
            f"_codecs.encode is allowed only as pickle uses it for bytes (a str "
            f"encoded as latin1), got encode({type(obj).__name__}, {encoding!r})")
    return obj.encode("latin1")


def _numpy_reconstruct():
    """NumPy's own array-rebuilding functions, found through what an array's
    pickle refers to (no private module is imported)."""
    reconstruct = np.zeros(1).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    scalar = np.float64(0).__reduce__()[0]

    def checked_reconstruct(subtype, *args):
        if subtype is not np.ndarray:
            raise pickle.UnpicklingError(f"an array of type {subtype!r} is not allowed; "
                                         "only plain numpy.ndarray")
        return reconstruct(subtype, *args)
    return checked_reconstruct, frombuffer, scalar


_reconstruct, _frombuffer, _scalar = _numpy_reconstruct()

# (module, name) -> the object; NumPy 1 writes numpy.core, NumPy 2 numpy._core.
ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
    **{(f"{core}.multiarray", "_reconstruct"): _reconstruct
       for core in ("numpy.core", "numpy._core")},
    **{(f"{core}.multiarray", "scalar"): _scalar for core in ("numpy.core", "numpy._core")},
    **{(f"{core}.numeric", "_frombuffer"): _frombuffer
       for core in ("numpy.core", "numpy._core")},
}


class ForbiddenGlobalError(pickle.UnpicklingError):
    """A pickle asked for a global that the restricted loader refuses."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path: str, owner: str) -> None:
        # latin1: Python 2's str (the real CIFAR files) decodes byte for byte
        super().__init__(file, encoding="latin1")
        self._path, self._owner = path, owner

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ForbiddenGlobalError(
                f"{self._owner}: refusing to load {self._path}: it asks for the global "
                f"{module}.{name}, and loading never runs code from a file. A batch "
                f"may hold only dicts, lists, str, bytes, numbers and NumPy arrays "
                f"(allowed globals: "
                f"{', '.join(sorted(f'{m}.{n}' for m, n in ALLOWED_GLOBALS))})"
            ) from None

    def persistent_load(self, pid):
        raise ForbiddenGlobalError(f"{self._owner}: refusing to load {self._path}: it "
                                   "holds a persistent id, which no CIFAR batch has")


def load_pickle(path: str, owner: str):
    """The object in a pickle file, unpickled with only ALLOWED_GLOBALS."""
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, path, owner).load()
        except (ForbiddenGlobalError, MemoryError):
            raise
        except Exception as e:
            raise RuntimeError(f"{owner}: {path} is not a readable pickle "
                               f"({type(e).__name__}: {e}); a truncated or corrupt "
                               "file: re-extract it") from e


def str_keys(owner: str, path: str, obj) -> dict:
    """A pickled dict with its keys as str (bytes keys, as Python 3 reads
    Python 2's pickles with encoding='bytes', decoded as latin1)."""
    if not isinstance(obj, dict):
        raise RuntimeError(f"{owner}: {path} holds a {type(obj).__name__}, expected "
                           "the dict of a CIFAR batch")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
