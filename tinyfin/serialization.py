"""Checkpoints: tinyfin.save(obj, f) and tinyfin.load(f).

A checkpoint is a real safetensors file (the ecosystem's tools read it: a
flat dict of tensors, such as a model's state_dict, loads with
safetensors.torch.load_file under the same keys), and every file that
safetensors writes loads here. The format, exactly (ARCHITECTURE.md,
"Checkpoints"):

    8 bytes   N, the header's length, an unsigned little-endian int64
    N bytes   the header: a UTF-8 JSON object {name: {"dtype": "F32",
              "shape": [2, 3], "data_offsets": [begin, end]}, ...,
              "__metadata__": {str: str}}, padded with spaces so that the
              data starts at a multiple of 8
    the rest  the tensors' bytes, row-major, little-endian, back to back:
              the offsets (relative to the data's start) cover it with no
              hole and no overlap

Tensors are stored under their path in the saved object ("model.fc1.weight",
"optimizer.state.0.exp_avg"). Everything else goes into one JSON record in
__metadata__["tinyfin.record"] (format name and version, tinyfin's version,
the object's tree, each tensor's dtype, shape and SHA-256), whose own
SHA-256 is __metadata__["tinyfin.record_sha256"]. `load` checks the whole
file before it builds a tensor, verifies every checksum, and never runs code
from the file (no pickle, no eval): a truncated, corrupted or hostile file is
a CheckpointError (a ValueError) that names the file and the part at fault.

save() writes atomically: to a new temporary file beside the target, flushed
and fsync'ed, then renamed over it (and the directory fsync'ed), so a crash
at any moment leaves the old checkpoint or the new one, never a mix.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Tuple

import numpy as np

from . import dtypes as _dtypes
from ._atomic import atomic_write
from . import cuda as _cuda
from ._device import device as _device
from .creation import from_numpy
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "FORMAT", "VERSION"]

FORMAT = "tinyfin.checkpoint"
VERSION = 1
MAX_HEADER = 100_000_000   # bytes, safetensors' own limit on the JSON header
MAX_DEPTH = 200            # nesting of containers in the saved object
_ALIGN = 8                 # the data starts at a multiple of 8 in the file
_CHUNK = 1 << 24           # bytes per write() of a tensor's data
_MAX_DIMS = 8              # TF_MAX_DIMS (native/include/tinyfin.h)
_MAX_ELEMENTS = 1 << 59    # elements a shape may describe (its nonzero dims' product)

# safetensors' dtype names for the dtypes tinyfin holds; the others that
# safetensors knows are named in the error that refuses them.
_TO_ST = {_dtypes.float32: "F32", _dtypes.float64: "F64",
          _dtypes.int64: "I64", _dtypes.bool_: "BOOL"}
_FROM_ST = {v: k for k, v in _TO_ST.items()}
_OTHER_ST = {"F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
             "F6_E3M2", "I8", "I16", "I32", "U8", "U16", "U32", "U64", "C64"}
_KEYS = ("record", "record_sha256")  # our __metadata__ entries, "tinyfin." + key


class CheckpointError(ValueError):
    """A checkpoint that is not a valid file: truncated, corrupted (a
    checksum does not match) or malformed. The message names the file and
    the tensor or record at fault."""


# ---- save ------------------------------------------------------------------------
def _leaf_key(key, where: str):
    """A dict key as its record entry: str, int, float, bool, None or a
    tuple of them (hashable, and rebuilt exactly)."""
    if key is None or isinstance(key, (str, bool, int, float)):
        return _encode_leaf(key, where)
    if type(key) is tuple:
        return {"tuple": [_leaf_key(k, where) for k in key]}
    raise TypeError(f"tinyfin.save: a dict key at {where or 'the top'} is "
                    f"{type(key).__name__} {key!r}; expected str, int, float, "
                    "bool, None or a tuple of them")


def _encode_leaf(value, where: str):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):  # int and its subclasses other than bool
        return int(value)
    if isinstance(value, float):  # repr round-trips every double; inf, nan too
        return {"float": repr(float(value))}
    raise TypeError(f"tinyfin.save: {where or 'the object'} is "
                    f"{type(value).__name__}, which a checkpoint cannot hold")


class _Writer:
    """Walks the object once: its tree for the record and its tensors, each
    under a unique path name, as contiguous host arrays."""

    def __init__(self) -> None:
        self.arrays: Dict[str, np.ndarray] = {}

    def name(self, path: str) -> str:
        # "__metadata__" is safetensors' own key; a path that two parts of
        # the object share ({"a.b": t, "a": {"b": u}}) gets a suffix.
        name, n = path, 1
        while name in self.arrays or name == "__metadata__":
            name, n = f"{path}#{n}", n + 1
        return name

    def encode(self, obj, path: str, depth: int):
        where = path or "the object"
        if depth > MAX_DEPTH:
            raise ValueError(f"tinyfin.save: {where} is nested more than "
                             f"{MAX_DEPTH} containers deep")
        if isinstance(obj, Tensor):
            t = obj.detach()
            if t.dtype not in _TO_ST:  # every tinyfin dtype is stored today
                raise TypeError(f"tinyfin.save: {where} has dtype {t.dtype}")
            if t.device.type != "cpu":
                t = t.cpu()
            name = self.name(path)
            arr = t.numpy()  # (np.ascontiguousarray would make a 0-d array 1-d)
            self.arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
            return {"tensor": name}
        if isinstance(obj, np.ndarray) or type(obj).__module__.startswith("torch"):
            raise TypeError(f"tinyfin.save: {where} is a {type(obj).__module__}."
                            f"{type(obj).__name__}; convert it to a tinyfin "
                            "tensor first (tinyfin.tensor(x))")
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {kind: [[_leaf_key(k, where),
                            self.encode(v, f"{path}.{k}" if path else str(k), depth + 1)]
                           for k, v in obj.items()]}
        if type(obj) in (list, tuple):
            kind = "list" if type(obj) is list else "tuple"
            return {kind: [self.encode(v, f"{path}.{i}" if path else str(i), depth + 1)
                           for i, v in enumerate(obj)]}
        if isinstance(obj, (list, tuple)):
            raise TypeError(f"tinyfin.save: {where} is a {type(obj).__name__} "
                            "(a subclass of list or tuple, such as a namedtuple), "
                            "which would load as a plain one; convert it first")
        return _encode_leaf(obj, where)


def _sha256(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    view = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else b""
    for i in range(0, len(view), _CHUNK):
        h.update(view[i:i + _CHUNK])
    return h.hexdigest()


def _serialize(obj) -> Tuple[bytes, List[np.ndarray]]:
    """The header (length prefix and padded JSON) and the arrays in file
    order."""
    writer = _Writer()
    tree = writer.encode(obj, "", 0)
    # Wider dtypes first (stable, so otherwise in the object's order): with
    # the data starting at a multiple of 8, every tensor is then aligned to
    # its element size, as safetensors' own writer lays files out.
    names = sorted(writer.arrays, key=lambda n: -writer.arrays[n].itemsize)
    record = {
        "format": FORMAT, "version": VERSION,
        "tinyfin_version": getattr(sys.modules[__package__], "__version__", "unknown"),
        "tree": tree,
        "tensors": {n: {"dtype": _dtypes.BY_NUMPY[a.dtype].name,
                        "shape": list(a.shape), "sha256": _sha256(a)}
                    for n, a in writer.arrays.items()},
    }
    record_text = json.dumps(record, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":"))
    header: Dict[str, Any] = {"__metadata__": {
        "tinyfin.record": record_text,
        "tinyfin.record_sha256": hashlib.sha256(record_text.encode()).hexdigest()}}
    offset = 0
    for n in names:
        a = writer.arrays[n]
        header[n] = {"dtype": _TO_ST[_dtypes.BY_NUMPY[a.dtype]], "shape": list(a.shape),
                     "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % _ALIGN)
    if len(text) > MAX_HEADER:
        raise ValueError(f"tinyfin.save: the header would be {len(text)} bytes, "
                         f"more than safetensors' limit of {MAX_HEADER}; the "
                         "object holds too many tensors or too much metadata")
    return struct.pack("<Q", len(text)) + text, [writer.arrays[n] for n in names]


def _write(f, header: bytes, arrays: List[np.ndarray]) -> None:
    f.write(header)
    for a in arrays:
        if a.size:
            view = memoryview(a.reshape(-1).view(np.uint8))
            for i in range(0, len(view), _CHUNK):
                f.write(view[i:i + _CHUNK])


def save(obj, f) -> None:
    """Save obj, a (nested) dict, list or tuple of tinyfin tensors and plain
    Python values (int, float incl. inf and nan, bool, str, None), to f.

    f is a path (str or os.PathLike): the file is written atomically (a new
    temporary file in the same directory, flushed and fsync'ed, renamed over
    f, the directory fsync'ed); on any error, or a crash, an existing file
    at f is left as it was. f may also be a binary file object (write()),
    written in place, without those guarantees.

    Tensors are stored contiguous (a strided one is copied), detached, with
    their dtype and shape; a tensor that appears twice is stored twice and
    loads as two tensors. dict keys may be str, int, float, bool, None or
    tuples of them; an OrderedDict loads as an OrderedDict, any other dict as
    a dict, tuples as tuples, lists as lists. A flat dict of tensors with
    str keys (a state_dict) is stored under exactly those keys, so
    safetensors.torch.load_file and safetensors.numpy.load_file read it."""
    header, arrays = _serialize(obj)  # every error about obj comes before any write
    if hasattr(f, "write") and not isinstance(f, (str, bytes, os.PathLike)):
        if isinstance(f, io.TextIOBase):
            raise TypeError("tinyfin.save: the file object must be opened in "
                            "binary mode ('wb'), not text mode")
        _write(f, header, arrays)
        return
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"tinyfin.save: f must be a path (str or os.PathLike) "
                        f"or a binary file object, got {type(f).__name__}")
    atomic_write(f, lambda out: _write(out, header, arrays))


# ---- load ------------------------------------------------------------------------
class _Loader:
    """Checks one file's bytes; every check raises CheckpointError naming
    the file."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.source = source

    def fail(self, message: str):
        raise CheckpointError(f"tinyfin.load: {self.source}: {message}")

    # -- the safetensors header ------------------------------------------------
    def header(self) -> Tuple[Dict[str, Tuple], Dict[str, str], int]:
        data = self.data
        if len(data) < 8:
            self.fail(f"the file is {len(data)} bytes, shorter than the 8-byte "
                      "header length that starts a safetensors file (truncated?)")
        (n,) = struct.unpack_from("<Q", data, 0)
        if n > MAX_HEADER:
            self.fail(f"the header length field says {n} bytes, more than the "
                      f"limit of {MAX_HEADER} (not a safetensors file, or corrupted)")
        if n > len(data) - 8:
            self.fail(f"the header length field says {n} bytes but only "
                      f"{len(data) - 8} follow it (truncated or corrupted)")
        raw = data[8:8 + n]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(f"the header is not valid UTF-8 ({e.reason} at byte {8 + e.start})")
        if not text.startswith("{"):
            self.fail("the header is not a JSON object (it must start with '{')")
        header = self.json(text, "the header")
        if not isinstance(header, dict):
            self.fail("the header is not a JSON object")
        meta = header.pop("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            self.fail("__metadata__ must map str to str")
        start, size = 8 + n, len(data) - 8 - n
        entries = {}
        for name, info in header.items():
            entries[name] = self.entry(name, info, size)
        # The offsets must tile the data region: no hole, no overlap, nothing
        # after the last tensor (so no byte is unaccounted for).
        end = 0
        for name, (_, _, b, e) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
            if b != end:
                self.fail(f"tensor {name!r} starts at data offset {b}, expected "
                          f"{end} (the tensors' bytes must follow each other "
                          "with no hole or overlap)")
            end = e
        if end != size:
            self.fail(f"the data region is {size} bytes but the tensors cover "
                      f"{end} (truncated, or bytes no tensor claims)")
        return entries, meta, start

    def json(self, text: str, what: str):
        def pairs(items):
            out = {}
            for k, v in items:
                if k in out:
                    self.fail(f"{what} has the key {k!r} twice")
                out[k] = v
            return out

        def constant(name):
            self.fail(f"{what} holds {name}, which is not JSON")

        try:
            return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
        except CheckpointError:
            raise
        except RecursionError:
            self.fail(f"{what} is nested too deeply")
        except ValueError as e:  # JSONDecodeError, and ints of too many digits
            self.fail(f"{what} is not valid JSON ({e})")

    def entry(self, name: str, info, size: int) -> Tuple:
        def bad(why):
            self.fail(f"tensor {name!r}: {why}")
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            bad("expected an object with exactly dtype, shape and data_offsets, got "
                + (f"keys {sorted(info)}" if isinstance(info, dict) else type(info).__name__))
        st = info["dtype"]
        if not isinstance(st, str):
            bad(f"dtype must be a string, got {st!r}")
        if st not in _FROM_ST:
            bad(f"dtype {st!r} is not supported: tinyfin holds F32 (float32), F64 "
                f"(float64), I64 (int64) and BOOL" if st in _OTHER_ST else
                f"unknown dtype {st[:40]!r}")
        dt = _FROM_ST[st]
        shape, offsets = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            bad(f"shape must be a list of non-negative ints, got {str(shape)[:80]}")
        if not isinstance(offsets, list) or len(offsets) != 2 or \
                not all(type(o) is int for o in offsets):
            bad(f"data_offsets must be a list of two ints, got {str(offsets)[:80]}")
        if len(shape) > _MAX_DIMS:
            bad(f"shape has {len(shape)} dims; tinyfin tensors have at most {_MAX_DIMS}")
        elements = 1
        for d in shape:  # stops early: a hostile shape never makes a huge int
            elements *= max(d, 1)
            if elements > _MAX_ELEMENTS:
                bad(f"shape {str(shape)[:80]} has too many elements")
        b, e = offsets
        if not 0 <= b <= e <= size:
            bad(f"data_offsets [{b}, {e}] are not inside the data region of "
                f"{size} bytes (truncated or corrupted)")
        nbytes = 0 if 0 in shape else elements * dt.itemsize
        if nbytes != e - b:
            bad(f"shape {shape} of {dt.name} needs {nbytes} bytes but data_offsets "
                f"[{b}, {e}] span {e - b}")
        return dt, tuple(shape), b, e

    # -- the tinyfin record ----------------------------------------------------
    def record(self, meta: Dict[str, str], entries: Dict[str, Tuple]):
        ours = {k for k in meta if k.startswith("tinyfin.")}
        if not ours:
            return None
        if ours != {"tinyfin." + k for k in _KEYS}:
            self.fail(f"__metadata__ has tinyfin keys {sorted(ours)}, expected "
                      f"{['tinyfin.' + k for k in _KEYS]} (corrupted)")
        text = meta["tinyfin.record"]
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if digest != meta["tinyfin.record_sha256"]:
            self.fail("the metadata record's SHA-256 does not match (corrupted record)")
        rec = self.json(text, "the metadata record")
        if not isinstance(rec, dict) or rec.get("format") != FORMAT:
            self.fail(f"the metadata record is not a {FORMAT} record")
        version = rec.get("version")
        if type(version) is not int or not 1 <= version <= VERSION:
            self.fail(f"the metadata record has version {version!r}; this tinyfin "
                      f"reads versions 1 to {VERSION} (written by a newer tinyfin?)")
        if set(rec) != {"format", "version", "tinyfin_version", "tree", "tensors"}:
            self.fail(f"the metadata record has keys {sorted(rec)}")
        table = rec["tensors"]
        if not isinstance(table, dict) or set(table) != set(entries):
            self.fail("the metadata record's tensors are not the file's tensors")
        for name, info in table.items():
            dt, shape, _, _ = entries[name]
            if not isinstance(info, dict) or info.get("dtype") != dt.name or \
                    info.get("shape") != list(shape) or not isinstance(info.get("sha256"), str):
                self.fail(f"tensor {name!r}: the header says {dt.name} {list(shape)}, "
                          "the metadata record does not agree")
        return rec

    def decode(self, node, entries, used: set, depth: int):
        if depth > MAX_DEPTH:
            self.fail("the metadata record's tree is nested too deeply")
        if node is None or isinstance(node, (str, bool, int)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            self.fail(f"the metadata record's tree holds {str(node)[:60]!r}, which "
                      "is no value it writes")
        (kind, body), = node.items()
        if kind == "tensor":
            if not isinstance(body, str) or body not in entries:
                self.fail(f"the metadata record refers to a tensor {str(body)[:60]!r} "
                          "the file does not hold")
            if body in used:
                self.fail(f"the metadata record refers to tensor {body!r} twice")
            used.add(body)
            return _Ref(body)  # replaced by the tensor once every check has passed
        if kind == "float" and isinstance(body, str):
            try:
                return float(body)
            except ValueError:
                self.fail(f"the metadata record holds a float {body[:40]!r}")
        if kind in ("list", "tuple") and isinstance(body, list):
            items = [self.decode(v, entries, used, depth + 1) for v in body]
            return _Seq(kind, items)
        if kind in ("dict", "odict") and isinstance(body, list):
            out = []
            for pair in body:
                if not isinstance(pair, list) or len(pair) != 2:
                    self.fail("the metadata record holds a dict item that is not a pair")
                out.append((self.key(pair[0], depth + 1),
                            self.decode(pair[1], entries, used, depth + 1)))
            if len({k for k, _ in out}) != len(out):
                self.fail("the metadata record holds a dict with a key twice")
            return _Map(kind, out)
        self.fail(f"the metadata record's tree holds a {kind[:40]!r} node it "
                  "cannot read")

    def key(self, node, depth: int):
        if depth > MAX_DEPTH:
            self.fail("the metadata record's tree is nested too deeply")
        if node is None or isinstance(node, (str, bool, int)):
            return node
        if isinstance(node, dict) and len(node) == 1:
            (kind, body), = node.items()
            if kind == "float" and isinstance(body, str):
                try:
                    return float(body)
                except ValueError:
                    pass
            if kind == "tuple" and isinstance(body, list):
                return tuple(self.key(k, depth + 1) for k in body)
        self.fail(f"the metadata record holds a dict key {str(node)[:60]!r} it cannot read")

    def tensors(self, entries, start: int, expected: Dict[str, str]) -> Dict[str, Tensor]:
        """Verify (when the record gives checksums), then build every tensor."""
        arrays = {}
        for name, (dt, shape, b, e) in entries.items():
            arr = np.frombuffer(self.data, dtype=np.dtype(dt.numpy).newbyteorder("<"),
                                count=(e - b) // dt.itemsize, offset=start + b)
            if name in expected and _sha256(arr) != expected[name]:
                self.fail(f"tensor {name!r}: the SHA-256 of its {e - b} bytes does "
                          "not match the metadata record (corrupted data)")
            if dt is _dtypes.bool_ and arr.size and arr.view(np.uint8).max() > 1:
                self.fail(f"tensor {name!r}: a bool holds a byte other than 0 or 1")
            arrays[name] = arr.reshape(shape)
        return {name: from_numpy(a) for name, a in arrays.items()}  # each copied once


class _Ref:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _Seq:
    __slots__ = ("kind", "items")

    def __init__(self, kind, items):
        self.kind, self.items = kind, items


class _Map:
    __slots__ = ("kind", "items")

    def __init__(self, kind, items):
        self.kind, self.items = kind, items


def _build(node, tensors):
    """The decoded tree with its tensor names replaced by the tensors."""
    if isinstance(node, _Seq):
        items = [_build(v, tensors) for v in node.items]
        return items if node.kind == "list" else tuple(items)
    if isinstance(node, _Map):
        return (OrderedDict if node.kind == "odict" else dict)(
            (k, _build(v, tensors)) for k, v in node.items)
    if isinstance(node, _Ref):
        return tensors[node.name]
    return node


def _map_location(map_location):
    """The device load() puts tensors on: the CPU for None."""
    if map_location is None:
        return _device("cpu")
    if not isinstance(map_location, (str, _device)):
        raise TypeError(f"tinyfin.load: map_location must be None, a device name such as "
                        f"'cpu' or 'cuda', or a tinyfin.device, got "
                        f"{type(map_location).__name__} (dict and callable mappings are "
                        f"not supported)")
    try:
        target = _device(map_location)
    except (ValueError, RuntimeError) as e:
        raise ValueError(f"tinyfin.load: map_location={map_location!r}: {e}") from None
    if target.type == "cuda" and not _cuda.is_available():
        raise RuntimeError(f"tinyfin.load: map_location={map_location!r}, but CUDA is not "
                           f"available: {_cuda.why_unavailable()} (load on the CPU with "
                           f"map_location='cpu')")
    return target


def load(f, map_location=None, *, weights_only=None, **kwargs):
    """Load what save() wrote, or any safetensors file, from f (a path or a
    binary file object with read()).

    A tinyfin checkpoint comes back as the object that was saved, its
    tensors as tinyfin tensors on the CPU, after every check: the header's
    structure and offsets, each tensor's SHA-256 and the record's. A
    safetensors file without tinyfin's record (one that
    safetensors.torch.save_file wrote, say) loads as a flat dict {name:
    tensor} in file order; such a file carries no checksums, so there is
    nothing to verify its data against beyond its structure.

    map_location: None (the CPU), or a device ("cpu", "cuda", "cuda:0", a
    tinyfin.device) that every tensor is moved to. weights_only is
    accepted for PyTorch's callers and changes nothing: load never runs code
    from the file. Raises CheckpointError (a ValueError) naming the file and
    the tensor or record at fault for a file that is truncated, corrupted or
    not a checkpoint."""
    target = _map_location(map_location)
    if kwargs:
        raise TypeError(f"tinyfin.load: unexpected keyword argument(s) "
                        f"{', '.join(sorted(kwargs))}")
    del weights_only
    if hasattr(f, "read") and not isinstance(f, (str, bytes, os.PathLike)):
        if isinstance(f, io.TextIOBase):
            raise TypeError("tinyfin.load: the file object must be opened in "
                            "binary mode ('rb'), not text mode")
        data, source = f.read(), getattr(f, "name", type(f).__name__)
        if not isinstance(data, bytes):
            raise TypeError("tinyfin.load: the file object must be opened in "
                            "binary mode (read() returned "
                            f"{type(data).__name__})")
    elif isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        with open(source, "rb") as fh:
            data = fh.read()  # the whole file once: nothing is sized from its header
    else:
        raise TypeError(f"tinyfin.load: f must be a path (str or os.PathLike) or "
                        f"a binary file object, got {type(f).__name__}")
    loader = _Loader(data, repr(str(source)))
    entries, meta, start = loader.header()
    rec = loader.record(meta, entries)
    if rec is None:
        tensors = loader.tensors(entries, start, {})
        return {name: tensors[name].to(target) for name in sorted(entries, key=lambda n: entries[n][2:])}
    used: set = set()
    tree = loader.decode(rec["tree"], entries, used, 0)
    if used != set(entries):
        loader.fail(f"tensor(s) {sorted(set(entries) - used)[:5]} are in the file "
                    "but not in the metadata record's tree")
    tensors = loader.tensors(entries, start, {n: i["sha256"] for n, i in rec["tensors"].items()})
    return _build(tree, {n: t.to(target) for n, t in tensors.items()})
