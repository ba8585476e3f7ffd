"""tinyfin.save / tinyfin.load: safetensors files with a checksummed
metadata record (tinyfin/serialization.py).

Round trips compare bytes (every value bitwise, NaN payloads included),
dtypes, shapes and container types. Interop runs both ways against the
`safetensors` package and, where PyTorch imports, against real torch models.
Integrity, validation and atomicity tests corrupt, forge and kill.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import tinyfin
from tinyfin import nn
from tinyfin import serialization as ser
from tinyfin.serialization import CheckpointError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- helpers -------------------------------------------------------------------
def same(a, b) -> bool:
    """a and b hold the same values: same container types, keys in the same
    order, tensors of the same dtype and shape with the same bytes, floats
    equal or both NaN."""
    if isinstance(a, tinyfin.Tensor):
        return (isinstance(b, tinyfin.Tensor) and a.dtype is b.dtype and a.shape == b.shape
                and np.ascontiguousarray(a.numpy()).tobytes() ==
                np.ascontiguousarray(b.numpy()).tobytes())
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (list(a.keys()) == list(b.keys()) and [type(k) for k in a] == [type(k) for k in b]
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def header_of(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data)
    return data, n, json.loads(data[8:8 + n])


def rewrite(path, header, data_region, pad=True):
    """A file with this header (as JSON) and data region."""
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data_region)


def forge_record(path, edit):
    """Rewrite a checkpoint's record with edit(record) and recompute the
    record's checksum: what a hostile writer, not corruption, does."""
    data, n, header = header_of(path)
    rec = json.loads(header["__metadata__"]["tinyfin.record"])
    edit(rec)
    text = json.dumps(rec)
    header["__metadata__"]["tinyfin.record"] = text
    header["__metadata__"]["tinyfin.record_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    rewrite(path, header, data[8 + n:])


def optimizer_state():
    g = tinyfin.Generator().manual_seed(0)
    return {"state": {0: {"step": tinyfin.tensor(3.0), "exp_avg": tinyfin.randn(3, 2, generator=g),
                          "exp_avg_sq": tinyfin.rand(3, 2, generator=g)},
                      1: {"step": tinyfin.tensor(3.0), "exp_avg": tinyfin.randn(2, generator=g),
                          "exp_avg_sq": tinyfin.rand(2, generator=g)}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                              "weight_decay": 0, "amsgrad": False, "maximize": False,
                              "foreach": None, "params": [0, 1]}]}


class Net(nn.Module):
    """Linear, Conv2d and BatchNorm2d (its int64 num_batches_tracked too)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(tinyfin.relu(self.bn(self.conv(x))).reshape(x.shape[0], -1))


def trained_net(seed=0):
    tinyfin.manual_seed(seed)
    net = Net()
    g = tinyfin.Generator().manual_seed(seed)
    for _ in range(2):  # running statistics and num_batches_tracked move off their defaults
        net(tinyfin.randn(4, 2, 4, 4, generator=g))
    return net


# ---- round trips -----------------------------------------------------------------
def test_model_state_dict_round_trip(tmp_path):
    net = trained_net()
    sd = net.state_dict()
    assert int(sd["bn.num_batches_tracked"].item()) == 2
    tinyfin.save(sd, tmp_path / "m.safetensors")
    back = tinyfin.load(tmp_path / "m.safetensors")
    assert type(back) is OrderedDict and same(sd, back)
    assert back["bn.num_batches_tracked"].dtype is tinyfin.int64
    other = trained_net(seed=1)
    assert not same(other.state_dict(), sd)
    other.load_state_dict(back)
    assert same(other.state_dict(), sd)
    x = tinyfin.randn(2, 2, 4, 4, generator=tinyfin.Generator().manual_seed(5))
    net.eval(), other.eval()
    assert same(net(x).detach(), other(x).detach())


def test_optimizer_state_dict_round_trip(tmp_path):
    state = optimizer_state()
    tinyfin.save(state, str(tmp_path / "opt.pt"))
    back = tinyfin.load(str(tmp_path / "opt.pt"))
    assert same(state, back)
    assert list(back["state"]) == [0, 1] and all(type(k) is int for k in back["state"])
    assert type(back["param_groups"][0]["betas"]) is tuple
    assert back["param_groups"][0]["weight_decay"] == 0 and \
        type(back["param_groups"][0]["weight_decay"]) is int
    assert back["param_groups"][0]["amsgrad"] is False
    assert back["param_groups"][0]["foreach"] is None


def test_every_value_kind_round_trips(tmp_path):
    g = tinyfin.Generator().manual_seed(1)
    base = tinyfin.randn(4, 6, generator=g)
    nan_payload = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 5e-324], dtype=np.float64)
    nan_payload.view(np.uint64)[0] |= 0xBEEF  # a NaN with a payload keeps its bits
    obj = {
        "epoch": 3, "big": 2 ** 80, "neg": -7, "lr": 0.1, "tiny": 5e-324,
        "inf": float("inf"), "ninf": float("-inf"), "nan": float("nan"), "negzero": -0.0,
        "flag": True, "off": False, "none": None, "name": "fc.weight", "uni": "ünï\u2603\n\"",
        "nested": [[1, [2.5, (3, "x")]], [], (), {}],
        "tensors": [tinyfin.tensor(2.5), tinyfin.zeros(0), tinyfin.zeros(3, 0, 2, dtype=tinyfin.int64),
                    base.t(), base[:, ::2], base[1:3, 1:4].t(),   # strided: saved contiguous
                    tinyfin.tensor([[True, False], [False, True]]),
                    tinyfin.tensor([-2 ** 63, 2 ** 63 - 1, 0], dtype=tinyfin.int64),
                    tinyfin.from_numpy(nan_payload),
                    tinyfin.from_numpy(nan_payload.astype(np.float32))],
        "keys": {3: "int", 2.5: "float", None: "none", True: "bool", (1, "a"): "tuple", "s": "str",
                 float("inf"): "inf"},
        "od": OrderedDict([("b", 1), ("a", 2)]),
        "requires_grad": tinyfin.ones(2, requires_grad=True) * 3,
    }
    p = tmp_path / "all.ckpt"
    tinyfin.save(obj, p)
    back = tinyfin.load(p)
    assert same(obj["requires_grad"].detach(), back.pop("requires_grad"))
    obj.pop("requires_grad")
    assert same(obj, back)
    assert math.copysign(1, back["negzero"]) == -1
    assert back["tensors"][0].shape == () and back["tensors"][2].shape == (3, 0, 2)
    assert back["tensors"][3].is_contiguous()
    assert back["tensors"][8].numpy().view(np.uint64)[0] == nan_payload.view(np.uint64)[0]


def test_file_layout_is_the_safetensors_format(tmp_path):
    """The exact on-disk format ARCHITECTURE.md describes."""
    obj = {"w": tinyfin.ones(2, 3), "step": tinyfin.tensor(7, dtype=tinyfin.int64),
           "mask": tinyfin.tensor([True, False, True]), "d": tinyfin.zeros(2, dtype=tinyfin.float64)}
    p = tmp_path / "x.safetensors"
    tinyfin.save(obj, p)
    data, n, header = header_of(p)
    assert (8 + n) % 8 == 0 and data[8:8 + n].rstrip(b" ").endswith(b"}")
    meta = header.pop("__metadata__")
    assert set(meta) == {"tinyfin.record", "tinyfin.record_sha256"}
    rec = json.loads(meta["tinyfin.record"])
    assert meta["tinyfin.record_sha256"] == hashlib.sha256(meta["tinyfin.record"].encode()).hexdigest()
    assert rec["format"] == "tinyfin.checkpoint" and rec["version"] == 1
    assert rec["tinyfin_version"] == tinyfin.__version__
    assert set(header) == set(obj)
    # wider dtypes first, offsets back to back from 0 to the end of the file
    order = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    width = {"F32": 4, "F64": 8, "I64": 8, "BOOL": 1}
    assert order == ["step", "d", "w", "mask"]  # by width, then in the object's order
    end = 0
    for k in order:
        b, e = header[k]["data_offsets"]
        assert b == end and (8 + n + b) % width[header[k]["dtype"]] == 0
        end = e
    assert 8 + n + end == len(data)
    assert header["w"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": header["w"]["data_offsets"]}
    b, e = header["w"]["data_offsets"]
    assert data[8 + n + b:8 + n + e] == np.ones((2, 3), np.float32).tobytes()
    for k, t in obj.items():
        b, e = header[k]["data_offsets"]
        assert rec["tensors"][k] == {"dtype": t.dtype.name, "shape": list(t.shape),
                                     "sha256": hashlib.sha256(data[8 + n + b:8 + n + e]).hexdigest()}


def test_tensor_names_are_paths_and_stay_unique(tmp_path):
    t = [tinyfin.full((1,), float(i)) for i in range(4)]
    obj = {"model": {"fc1": {"weight": t[0]}}, "model.fc1": {"weight": t[1]},
           "__metadata__": t[2], "l": [t[3]]}
    p = tmp_path / "n.st"
    tinyfin.save(obj, p)
    _, _, header = header_of(p)
    assert set(header) - {"__metadata__"} == {"model.fc1.weight", "model.fc1.weight#1",
                                              "__metadata__#1", "l.0"}
    assert same(tinyfin.load(p), obj)


def test_a_string_equal_to_a_tensor_name_stays_a_string(tmp_path):
    obj = {"a": tinyfin.ones(1), "b": "a", "c": ["a"]}
    tinyfin.save(obj, tmp_path / "s")
    assert same(tinyfin.load(tmp_path / "s"), obj)


def test_big_tensor_streams_in_chunks(tmp_path, monkeypatch):
    """A 72 MiB tensor is written in bounded chunks, never one growing
    buffer, and reads back bitwise."""
    n = 18 * (1 << 20)
    big = tinyfin.arange(n, dtype=tinyfin.float32) * 0.5
    sizes = []
    real_write = ser._write

    def spy(f, header, arrays):
        class Spy:
            def write(self, b):
                sizes.append(len(b))
                return f.write(b)
        real_write(Spy(), header, arrays)
    monkeypatch.setattr(ser, "_write", spy)
    p = tmp_path / "big.st"
    tinyfin.save({"big": big, "small": tinyfin.ones(3)}, p)
    assert max(sizes[1:]) <= ser._CHUNK and len(sizes) >= 1 + 4 * n // ser._CHUNK
    assert os.path.getsize(p) == sizes[0] + 4 * n + 12
    back = tinyfin.load(p)
    assert np.array_equal(back["big"].numpy(), big.numpy())
    del back


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    obj = optimizer_state()
    tinyfin.save(obj, buf)
    buf.seek(0)
    assert same(tinyfin.load(buf), obj)
    with open(tmp_path / "f", "wb") as f:
        tinyfin.save(obj, f)
    with open(tmp_path / "f", "rb") as f:
        assert same(tinyfin.load(f), obj)
    with open(tmp_path / "f", "r") as f:
        with pytest.raises(TypeError, match="binary"):
            tinyfin.load(f)


def test_arguments():
    with pytest.raises(TypeError, match="path"):
        tinyfin.save({}, 3)
    with pytest.raises(TypeError, match="path"):
        tinyfin.load(3)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        tinyfin.save({"a": np.ones(2)}, "unused")
    with pytest.raises(TypeError, match="set"):
        tinyfin.save({"a": {1, 2}}, "unused")
    with pytest.raises(TypeError, match="dict key"):
        tinyfin.save({frozenset(): 1}, "unused")
    with pytest.raises(TypeError, match="namedtuple"):
        tinyfin.save({"a": os.stat_result(range(10))}, "unused")
    deep = []
    for _ in range(ser.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        tinyfin.save(deep, "unused")
    assert not os.path.exists("unused")


def test_map_location_and_weights_only(tmp_path):
    tinyfin.save({"a": tinyfin.ones(2)}, tmp_path / "a")
    for kw in ({}, {"map_location": None}, {"map_location": "cpu"},
               {"map_location": tinyfin.device("cpu")}, {"weights_only": True},
               {"weights_only": False}):
        assert same(tinyfin.load(tmp_path / "a", **kw), {"a": tinyfin.ones(2)})
    with pytest.raises(ValueError, match="map_location='tpu'"):
        tinyfin.load(tmp_path / "a", map_location="tpu")
    with pytest.raises(TypeError, match="map_location must be"):
        tinyfin.load(tmp_path / "a", map_location={"cuda:0": "cpu"})
    if not tinyfin.cuda.is_available():  # on a device: tests/test_cuda_device.py
        with pytest.raises(RuntimeError, match="map_location='cuda:0', but CUDA is not "
                           "available"):
            tinyfin.load(tmp_path / "a", map_location="cuda:0")
    with pytest.raises(TypeError, match="mmap"):
        tinyfin.load(tmp_path / "a", mmap=True)


# ---- the safetensors package and PyTorch --------------------------------------------
def test_safetensors_numpy_reads_a_state_dict_and_tinyfin_reads_its_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    net = trained_net()
    sd = net.state_dict()
    p = tmp_path / "sd.safetensors"
    tinyfin.save(sd, p)
    theirs = st.load_file(str(p))
    assert set(theirs) == set(sd)
    for k, v in sd.items():
        assert theirs[k].dtype == v.dtype.numpy and theirs[k].tobytes() == v.numpy().tobytes()
    # and the other way: a file safetensors wrote (no tinyfin record) is a flat dict
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array(5, np.int64),
              "c": np.array([True, False]), "d": np.zeros((0, 4), np.float64)}
    q = tmp_path / "theirs.safetensors"
    st.save_file(arrays, str(q), metadata={"format": "np", "note": "x"})
    back = tinyfin.load(q)
    assert type(back) is dict and set(back) == set(arrays)
    for k, a in arrays.items():
        assert back[k].dtype.numpy == a.dtype and back[k].shape == a.shape
        assert back[k].numpy().tobytes() == a.tobytes()
    # safetensors' own reader accepts a nested checkpoint and its metadata
    safe_open = pytest.importorskip("safetensors").safe_open
    tinyfin.save({"model": sd, "optimizer": optimizer_state(), "epoch": 3}, tmp_path / "full")
    with safe_open(str(tmp_path / "full"), framework="np") as f:
        assert "model.fc.weight" in f.keys() and "optimizer.state.0.exp_avg" in f.keys()
        assert json.loads(f.metadata()["tinyfin.record"])["version"] == 1
        assert f.get_tensor("model.fc.weight").tobytes() == sd["fc.weight"].numpy().tobytes()


def test_unsupported_dtype_is_named(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"h": np.ones(3, np.float16)}, str(tmp_path / "h"))
    with pytest.raises(CheckpointError, match=r"'h'.*F16.*not supported"):
        tinyfin.load(tmp_path / "h")


def torch_net(torch):
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(3)
            self.fc = torch.nn.Linear(3 * 4 * 4, 5)

        def forward(self, x):
            return self.fc(torch.relu(self.bn(self.conv(x))).reshape(x.shape[0], -1))
    return TNet()


def test_pytorch_safetensors_file_loads_into_tinyfin_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tnet = torch_net(torch)
    for _ in range(3):
        tnet(torch.randn(4, 2, 4, 4))
    tsd = tnet.state_dict()
    assert tsd["bn.num_batches_tracked"].dtype == torch.int64 and int(tsd["bn.num_batches_tracked"]) == 3
    p = tmp_path / "torch.safetensors"
    st_torch.save_file(tsd, str(p))
    loaded = tinyfin.load(p)
    assert set(loaded) == set(tsd)
    net = trained_net(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same dtypes: no cast to warn about
        net.load_state_dict(loaded)
    for k, v in net.state_dict().items():
        assert v.numpy().tobytes() == tsd[k].numpy().tobytes(), k
        assert v.dtype.name == str(tsd[k].dtype).replace("torch.", ""), k
    x = torch.randn(2, 2, 4, 4)
    tnet.eval(), net.eval()
    np.testing.assert_allclose(net(tinyfin.from_numpy(x.numpy())).detach().numpy(),
                               tnet(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    # back: tinyfin writes, safetensors.torch reads, a torch model loads it strictly
    for k in ("fc.bias", "bn.running_var"):
        net.state_dict()[k].mul_(2.0)
    q = tmp_path / "tinyfin.safetensors"
    tinyfin.save(net.state_dict(), q)
    fresh = torch_net(torch)
    result = fresh.load_state_dict(st_torch.load_file(str(q)), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in net.state_dict().items():
        assert fresh.state_dict()[k].numpy().tobytes() == v.numpy().tobytes(), k
    assert fresh.state_dict()["bn.num_batches_tracked"].dtype == torch.int64


# ---- load_state_dict's checks -------------------------------------------------------
def test_load_state_dict_names_shape_mismatches_and_kind_casts(tmp_path):
    net = trained_net()
    sd = dict(net.state_dict())
    sd["fc.weight"] = tinyfin.ones(5, 7)
    sd["conv.bias"] = tinyfin.ones(4)
    tinyfin.save(sd, tmp_path / "bad")
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(tinyfin.load(tmp_path / "bad"))
    assert "size mismatch for fc.weight: copying a param with shape (5, 7) from checkpoint, " \
        "the shape in current model is (5, 48)." in str(info.value)
    assert "size mismatch for conv.bias: copying a param with shape (4,)" in str(info.value)
    sd = dict(net.state_dict())
    before = net.state_dict()["fc.weight"].numpy().copy()
    sd["bn.num_batches_tracked"] = tinyfin.tensor(7.9)          # float into int64: cast and named
    sd["fc.weight"] = sd["fc.weight"].to(tinyfin.float64) * 2  # float64 into float32: a silent cast
    sd["bn.running_mean"] = tinyfin.tensor([True, False, True])  # bool into float32: named
    with pytest.warns(UserWarning) as record:
        net.load_state_dict(sd)
    (w,) = record
    msg = str(w.message)
    assert "bn.num_batches_tracked (float32 in the checkpoint, int64 in the model)" in msg
    assert "bn.running_mean (bool in the checkpoint, float32 in the model)" in msg
    assert "fc.weight" not in msg
    assert net.bn.num_batches_tracked.dtype is tinyfin.int64 and net.bn.num_batches_tracked.item() == 7
    assert net.bn.running_mean.tolist() == [1.0, 0.0, 1.0]
    assert np.array_equal(net.fc.weight.detach().numpy(), (before.astype(np.float64) * 2).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})


# ---- integrity ---------------------------------------------------------------------
def test_a_flipped_bit_in_any_tensor_or_the_record_is_named(tmp_path):
    obj = {"model": trained_net().state_dict(), "optimizer": optimizer_state(), "epoch": 3}
    p = tmp_path / "c"
    tinyfin.save(obj, p)
    data, n, header = header_of(p)
    start = 8 + n
    meta = header.pop("__metadata__")
    for name, info in header.items():
        b, e = info["data_offsets"]
        if b == e:
            continue
        for pos in (start + b, start + e - 1, start + (b + e) // 2):
            bad = bytearray(data)
            bad[pos] ^= 0x10
            (tmp_path / "bad").write_bytes(bad)
            with pytest.raises(CheckpointError, match=rf"'.*bad'.*tensor {name!r}.*SHA-256"):
                tinyfin.load(tmp_path / "bad")
    # one bit of the record: a digit of the epoch, 3 -> 2
    text = meta["tinyfin.record"]
    pos = data.index(b'[\\"epoch\\",3]') + len(b'[\\"epoch\\",')
    bad = bytearray(data)
    bad[pos] ^= 0x01
    assert text and bad[pos:pos + 1] == b"2"
    (tmp_path / "bad").write_bytes(bad)
    with pytest.raises(CheckpointError, match="record's SHA-256"):
        tinyfin.load(tmp_path / "bad")


def test_truncation_is_named(tmp_path):
    p = tmp_path / "t"
    tinyfin.save({"a": tinyfin.ones(100), "b": tinyfin.zeros(3, dtype=tinyfin.int64)}, p)
    data = p.read_bytes()
    (n,) = struct.unpack_from("<Q", data)
    for cut, match in ((0, "shorter than the 8-byte"), (7, "shorter than the 8-byte"),
                       (8, "only 0 follow"), (8 + n - 1, "only"),
                       (8 + n, "inside the data region of 0 bytes"), (len(data) - 1, "truncated"),
                       (8 + n + 5, "truncated")):
        (tmp_path / "cut").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=match):
            tinyfin.load(tmp_path / "cut")
    (tmp_path / "long").write_bytes(data + b"\0")
    with pytest.raises(CheckpointError, match="bytes no tensor claims"):
        tinyfin.load(tmp_path / "long")


# ---- hostile files -----------------------------------------------------------------
def _load_error(path):
    with pytest.raises(CheckpointError) as info:
        tinyfin.load(path)
    return str(info.value)


@pytest.mark.parametrize("n", [2 ** 64 - 1, 2 ** 63, 2 ** 63 - 1, 2 ** 32, ser.MAX_HEADER + 1])
def test_huge_header_lengths_are_refused_without_allocating(tmp_path, n):
    p = tmp_path / "h"
    p.write_bytes(struct.pack("<Q", n) + b"{}" + b" " * 6)
    tracemalloc.start()
    try:
        msg = _load_error(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "header length" in msg and peak < 1 << 20


def test_the_header_is_validated(tmp_path):
    p = tmp_path / "h"
    f32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    cases = [
        (b"[1, 2]", b"", "JSON object"),
        (b'{"a": 1', b"", "not valid JSON"),
        (b"\xff\xfe{}", b"", "UTF-8"),
        (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
         b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8, "twice"),
        (b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', b"\0" * 4, "NaN"),
        (b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}", b"", "nested too deeply"),
        (json.dumps({"a": {**f32, "extra": 1}}).encode(), b"\0" * 8, "exactly dtype"),
        (json.dumps({"a": {**f32, "dtype": "Q99"}}).encode(), b"\0" * 8, "unknown dtype"),
        (json.dumps({"a": {**f32, "dtype": 3}}).encode(), b"\0" * 8, "dtype must be a string"),
        (json.dumps({"a": {**f32, "shape": [-2]}}).encode(), b"\0" * 8, "non-negative"),
        (json.dumps({"a": {**f32, "shape": [2.0]}}).encode(), b"\0" * 8, "non-negative ints"),
        (json.dumps({"a": {**f32, "shape": [True, 2]}}).encode(), b"\0" * 8, "non-negative ints"),
        (json.dumps({"a": {**f32, "shape": [1] * 9}}).encode(), b"\0" * 8, "at most 8"),
        (json.dumps({"a": {**f32, "shape": [2 ** 62, 2 ** 62]}}).encode(), b"\0" * 8, "too many"),
        (json.dumps({"a": {**f32, "shape": [0, 2 ** 62, 2 ** 62]}}).encode(), b"\0" * 8, "too many"),
        (json.dumps({"a": {**f32, "shape": [3]}}).encode(), b"\0" * 8, "needs 12 bytes"),
        (json.dumps({"a": {**f32, "shape": [1]}}).encode(), b"\0" * 8, "needs 4 bytes"),
        (json.dumps({"a": {**f32, "shape": [0]}}).encode(), b"\0" * 8, "needs 0 bytes"),
        (json.dumps({"a": {**f32, "data_offsets": [0, 16]}}).encode(), b"\0" * 8, "not inside"),
        (json.dumps({"a": {**f32, "data_offsets": [8, 0]}}).encode(), b"\0" * 8, "not inside"),
        (json.dumps({"a": {**f32, "data_offsets": [-8, 0]}}).encode(), b"\0" * 8, "not inside"),
        (json.dumps({"a": {**f32, "data_offsets": [0, 8, 9]}}).encode(), b"\0" * 8, "two ints"),
        (json.dumps({"a": f32, "b": f32}).encode(), b"\0" * 8, "no hole or overlap"),
        (json.dumps({"a": f32, "b": {**f32, "data_offsets": [12, 20]}}).encode(), b"\0" * 20,
         "no hole or overlap"),
        (json.dumps({"a": {**f32, "data_offsets": [4, 12]}}).encode(), b"\0" * 12, "expected 0"),
        (json.dumps({"__metadata__": {"a": 1}}).encode(), b"", "str to str"),
        (json.dumps({"__metadata__": [], "a": f32}).encode(), b"\0" * 8, "str to str"),
        (json.dumps({"a": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}).encode(),
         b"\x01\x02", "byte other than 0 or 1"),
        (json.dumps({"__metadata__": {"tinyfin.record": "{}"}}).encode(), b"", "tinyfin keys"),
    ]
    for header, region, match in cases:
        with open(p, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header + region)
        assert match in _load_error(p), (header[:80], match)
    # what is fine: no padding, 0-d and empty tensors, an empty header object
    rewrite(p, {"s": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},
                "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [8, 8]},
                "e2": {"dtype": "F64", "shape": [0], "data_offsets": [8, 8]}},
            struct.pack("<q", -5), pad=False)
    back = tinyfin.load(p)
    assert back["s"].item() == -5 and back["e"].shape == (0, 3) and back["e2"].shape == (0,)
    rewrite(p, {}, b"")
    assert tinyfin.load(p) == {}


def test_forged_records_are_refused(tmp_path):
    p = tmp_path / "r"
    base = {"a": tinyfin.ones(2), "b": [tinyfin.zeros(1)], "c": 1}

    def check(edit, match):
        tinyfin.save(base, p)
        forge_record(p, edit)
        assert match in _load_error(p), match

    check(lambda r: r.update(version=2), "written by a newer tinyfin")
    check(lambda r: r.update(version="1"), "version")
    check(lambda r: r.update(format="other"), "not a tinyfin.checkpoint record")
    check(lambda r: r.update(extra=1), "has keys")
    check(lambda r: r["tree"]["dict"][0].__setitem__(1, {"tensor": "zz"}), "does not hold")
    check(lambda r: r["tree"]["dict"][1].__setitem__(1, {"list": [{"tensor": "a"}]}), "twice")
    check(lambda r: r["tree"]["dict"].pop(1), "not in the metadata record's tree")
    check(lambda r: r["tree"]["dict"].append(["a", 2]), "key twice")
    check(lambda r: r["tree"]["dict"].append([["x"], 2]), "dict key")
    check(lambda r: r["tree"]["dict"].append(["d", 1.5]), "no value it writes")
    check(lambda r: r["tree"]["dict"].append(["d", {"set": []}]), "cannot read")
    check(lambda r: r["tree"]["dict"].append(["d", {"float": "x"}]), "float")
    check(lambda r: r["tree"]["dict"].append(["d", {"list": [1], "tuple": []}]), "no value it writes")
    check(lambda r: r["tensors"]["a"].update(shape=[1, 2]), "does not agree")
    check(lambda r: r["tensors"]["a"].update(dtype="float64"), "does not agree")
    check(lambda r: r["tensors"]["a"].update(sha256="0" * 64), "'a': the SHA-256")
    check(lambda r: r["tensors"].pop("a"), "not the file's tensors")

    def deep(r):
        node = 1
        for _ in range(ser.MAX_DEPTH + 5):
            node = {"list": [node]}
        r["tree"]["dict"].append(["d", node])
    check(deep, "nested too deeply")

    def deep_key(r):
        node = 1
        for _ in range(ser.MAX_DEPTH + 5):
            node = {"tuple": [node]}
        r["tree"]["dict"].append([node, 1])
    check(deep_key, "nested too deeply")
    # the record's checksum key, or the record itself, missing
    tinyfin.save(base, p)
    data, n, header = header_of(p)
    del header["__metadata__"]["tinyfin.record_sha256"]
    rewrite(p, header, data[8 + n:])
    assert "tinyfin keys" in _load_error(p)


def test_load_never_unpickles(tmp_path):
    p = tmp_path / "p"
    p.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError):
        tinyfin.load(p)
    src = open(os.path.join(ROOT, "tinyfin", "serialization.py")).read()
    for word in ("pickle", "eval(", "exec(", "__import__", "importlib"):
        assert word not in src.replace("(no pickle, no eval)", "").replace("no pickle", ""), word


def test_loading_allocates_what_the_file_justifies(tmp_path):
    """A small file that claims much (many dims, huge offsets) is refused
    having allocated little; a real file needs about twice its size."""
    p = tmp_path / "m"
    tinyfin.save({"w": tinyfin.ones(1 << 18)}, p)  # 1 MiB of data
    size = os.path.getsize(p)
    tracemalloc.start()
    try:
        tinyfin.load(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * size + (1 << 20)  # the file's bytes, and NumPy's view of them


# ---- atomic writes -----------------------------------------------------------------
def _temp_files(directory):
    return [f for f in os.listdir(directory) if f.endswith(".tmp")]


def test_a_failing_save_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "ckpt"
    old = {"epoch": 1, "w": tinyfin.ones(1000)}
    tinyfin.save(old, p)
    before = p.read_bytes()
    real_write = ser._write

    def failing(f, header, arrays):
        real_write(f, header, arrays[:1])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ser, "_write", failing)
    with pytest.raises(OSError, match="No space"):
        tinyfin.save({"epoch": 2, "w": tinyfin.zeros(1000), "v": tinyfin.zeros(5)}, p)
    monkeypatch.setattr(ser, "_write", real_write)

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tinyfin.save({"epoch": 3}, p)
    monkeypatch.undo()
    with pytest.raises(TypeError):  # a bad object: refused before any file is made
        tinyfin.save({"epoch": 4, "bad": object()}, p)
    assert p.read_bytes() == before and same(tinyfin.load(p), old)
    assert _temp_files(tmp_path) == []


def test_save_replaces_atomically_and_keeps_the_umask(tmp_path, monkeypatch):
    calls = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace", a, b)), real_replace(a, b)))
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", fd)), real_fsync(fd)))
    p = tmp_path / "ckpt.st"
    tinyfin.save({"a": tinyfin.ones(2)}, p)
    kinds = [c[0] for c in calls]
    assert kinds == ["fsync", "replace", "fsync"]  # the file, the rename, the directory
    tmp = calls[1][1]
    assert os.path.dirname(tmp) == str(tmp_path) and calls[1][2] == str(p) and not os.path.exists(tmp)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask


CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    import tinyfin
    from tinyfin import serialization as ser
    real = ser._write
    def slow(f, header, arrays):
        class Slow:
            def write(self, b):
                n = f.write(b)
                f.flush()
                open({marker!r}, "a").close()  # the parent kills us now
                time.sleep(0.05)
                return n
        real(Slow(), header, arrays)
    ser._write = slow
    ser._CHUNK = 1 << 12
    tinyfin.save({{"epoch": 2, "w": tinyfin.zeros(1 << 16)}}, {path!r})
    print("finished")
""")


def test_a_killed_save_leaves_the_old_checkpoint(tmp_path):
    p = tmp_path / "ckpt"
    old = {"epoch": 1, "w": tinyfin.arange(1 << 16, dtype=tinyfin.float32)}
    tinyfin.save(old, p)
    before = p.read_bytes()
    marker = tmp_path / "writing"
    script = CHILD.format(root=ROOT, marker=str(marker), path=str(p))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never started writing"
        time.sleep(0.01)
    time.sleep(0.1)  # a few chunks in
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate()
    assert child.returncode == -signal.SIGKILL and b"finished" not in out
    stray = _temp_files(tmp_path)
    assert len(stray) == 1 and 0 < os.path.getsize(tmp_path / stray[0]) < len(before)
    assert p.read_bytes() == before and same(tinyfin.load(p), old)
    with pytest.raises(CheckpointError):  # the half-written temp file is no checkpoint
        tinyfin.load(tmp_path / stray[0])
    new = {"epoch": 3, "w": tinyfin.ones(10)}
    tinyfin.save(new, p)  # the stray temp file does not get in the way
    assert same(tinyfin.load(p), new)
    assert _temp_files(tmp_path) == stray
