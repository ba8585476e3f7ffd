"""A fuzzer over mutated checkpoints (tinyfin/serialization.py).

Valid checkpoints are mutated by bit flips anywhere, byte changes in the
header, truncation at every length, forged header-length fields and random
edits of the header's and the record's JSON. Corruption (a mutation that
does not recompute the checksums) must either load to exactly the original
values or raise CheckpointError; a forgery (the record's checksum
recomputed, as a hostile writer would) must load or raise CheckpointError /
ValueError. Never another exception, a crash or a hang: each load runs under
an alarm. Seeded; a few thousand cases in a few seconds.
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import signal
import struct
from collections import OrderedDict

import pytest

import tinyfin
from tinyfin.serialization import CheckpointError
from test_serialization import same

CASES_PER_KIND = 1500


def originals():
    g = tinyfin.Generator().manual_seed(11)
    opt = {"state": {0: {"step": tinyfin.tensor(4.0), "exp_avg": tinyfin.randn(3, 2, generator=g)},
                     1: {"step": tinyfin.tensor(4.0), "exp_avg": tinyfin.randn(2, generator=g)}},
           "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False,
                             "params": [0, 1], "foreach": None}]}
    model = OrderedDict([("fc.weight", tinyfin.randn(4, 3, generator=g)),
                         ("fc.bias", tinyfin.randn(4, generator=g)),
                         ("bn.num_batches_tracked", tinyfin.tensor(9, dtype=tinyfin.int64)),
                         ("mask", tinyfin.tensor([True, False, True])),
                         ("d", tinyfin.randn(2, 2, generator=g).to(tinyfin.float64)),
                         ("empty", tinyfin.zeros(0, 2))])
    return [model, {"model": model, "optimizer": opt, "epoch": 7, "best": float("inf"),
                    "tags": ["a", ("b", None)], "nan": float("nan")}]


def encode(obj) -> bytes:
    buf = io.BytesIO()
    tinyfin.save(obj, buf)
    return buf.getvalue()


class Hang(Exception):
    pass


def _alarm(*_):
    raise Hang


def outcome(data: bytes, original, forged: bool):
    """Load data; check the result is allowed. Returns 'same', 'error' or
    'other' (a different object, allowed for forgeries only)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        back = tinyfin.load(io.BytesIO(data))
    except CheckpointError:
        return "error"
    except ValueError:
        if forged:
            return "error"
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if same(back, original):
        return "same"
    assert forged, "a corrupted file loaded to different values"
    return "other"


def split(data: bytes):
    (n,) = struct.unpack_from("<Q", data)
    return n, json.loads(data[8:8 + n]), data[8 + n:]


def join(header, region: bytes, pad: bool = True) -> bytes:
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + region


def random_json_edit(rng: random.Random, node):
    """One random edit somewhere in a JSON value (in place where it can);
    returns the edited value."""
    junk = [None, True, False, -1, 0, 1, 2 ** 64, 1.5, "", "F32", "x" * 3, [], {}, [0, 0],
            [-1], [2 ** 63, 2 ** 63], {"tensor": "fc.weight"}, {"float": "nan"}, {"list": []}]
    if isinstance(node, (dict, list)) and node and rng.random() < 0.8:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        k = rng.choice(keys)
        choice = rng.random()
        if choice < 0.6:
            node[k] = random_json_edit(rng, node[k])
        elif choice < 0.75:
            del node[k]
        elif choice < 0.9 and isinstance(node, list):
            node.insert(rng.randrange(len(node) + 1), rng.choice(junk))
        elif isinstance(node, dict):
            node[rng.choice(["extra", "dtype", "shape", "data_offsets", "__metadata__", "tensor"])] = \
                rng.choice(junk)
        else:
            node[k] = rng.choice(junk)
        return node
    if isinstance(node, int) and not isinstance(node, bool) and rng.random() < 0.7:
        return node + rng.choice([-8, -1, 1, 8, 2 ** 32, -node - 1])
    if isinstance(node, str) and node and rng.random() < 0.7:
        i = rng.randrange(len(node))
        return node[:i] + rng.choice(["", "0", "a", "\"", "\\", "é"]) + node[i + 1:]
    return rng.choice(junk)


@pytest.fixture(scope="module")
def files():
    return [(obj, encode(obj)) for obj in originals()]


def test_the_originals_load(files):
    for obj, data in files:
        assert outcome(data, obj, forged=False) == "same"


def test_bit_flips_anywhere(files):
    rng = random.Random(1)
    for obj, data in files:
        for _ in range(CASES_PER_KIND):
            bad = bytearray(data)
            for _ in range(rng.choice([1, 1, 1, 2, 8])):
                pos = rng.randrange(len(bad))
                bad[pos] ^= 1 << rng.randrange(8)
            # the header's JSON has no whitespace but its padding, and no
            # single-bit flip of a space is whitespace: every flip is caught
            assert outcome(bytes(bad), obj, forged=False) == "error"


def test_every_data_byte_flipped_is_caught(files):
    obj, data = files[1]
    n, _, region = split(data)
    for i in range(len(region)):
        bad = bytearray(data)
        bad[8 + n + i] ^= 0x80
        assert outcome(bytes(bad), obj, forged=False) == "error"


def test_header_byte_changes(files):
    rng = random.Random(2)
    specials = b'{}[]",:0123456789 -.eE\\\x00\xff\x80'
    for obj, data in files:
        n, _, _ = split(data)
        for _ in range(CASES_PER_KIND):
            bad = bytearray(data)
            pos = 8 + rng.randrange(n)
            bad[pos] = rng.choice(specials) if rng.random() < 0.7 else rng.randrange(256)
            outcome(bytes(bad), obj, forged=False)


def test_truncation_at_every_length(files):
    for obj, data in files:
        for cut in range(len(data)):
            assert outcome(data[:cut], obj, forged=False) == "error", cut
        assert outcome(data + b"\0", obj, forged=False) == "error"


def test_header_length_fields(files):
    rng = random.Random(3)
    for obj, data in files:
        n, _, _ = split(data)
        values = [0, 1, 2, 7, 8, n - 1, n + 1, n + 8, len(data) - 8, len(data), 2 ** 31,
                  2 ** 32 - 1, 2 ** 32, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64 - n,
                  100_000_000, 100_000_001]
        values += [rng.randrange(2 ** 64) for _ in range(50)]
        for v in values:
            v %= 2 ** 64
            bad = struct.pack("<Q", v) + data[8:]
            assert outcome(bad, obj, forged=False) == ("same" if v == n else "error"), v


def test_random_header_json_edits(files):
    """Entries of the header edited (offsets, shapes, dtypes, names, extra
    or missing keys)."""
    rng = random.Random(4)
    for obj, data in files:
        _, header, region = split(data)
        for _ in range(CASES_PER_KIND):
            edited = random_json_edit(rng, json.loads(json.dumps(header)))
            if not isinstance(edited, dict):
                edited = {"x": edited}
            bad = join(edited, region, pad=rng.random() < 0.5)
            # With the record in place, the record disagrees or a checksum
            # fails; without it, the file is a plain safetensors file, which
            # has nothing to be checked against.
            kept = edited.get("__metadata__") == header["__metadata__"]
            outcome(bad, obj, forged=not kept)


def test_forged_records(files):
    """The record edited and its checksum recomputed: a hostile file, which
    may load to other values, or fail, but only with CheckpointError."""
    rng = random.Random(5)
    kinds = {"same": 0, "error": 0, "other": 0}
    for obj, data in files:
        _, header, region = split(data)
        record = json.loads(header["__metadata__"]["tinyfin.record"])
        for _ in range(CASES_PER_KIND):
            edited = random_json_edit(rng, json.loads(json.dumps(record)))
            text = json.dumps(edited)
            h = json.loads(json.dumps(header))
            h["__metadata__"]["tinyfin.record"] = text
            h["__metadata__"]["tinyfin.record_sha256"] = hashlib.sha256(text.encode()).hexdigest()
            kinds[outcome(join(h, region), obj, forged=True)] += 1
    assert kinds["error"] > 0 and kinds["other"] > 0


def test_forged_data_with_forged_checksums(files):
    """Data and its checksum both rewritten: the values differ, the file is
    consistent, and it loads; a bool byte other than 0/1 never does."""
    obj, data = files[0]
    _, header, region = split(data)
    record = json.loads(header["__metadata__"]["tinyfin.record"])
    b, e = header["mask"]["data_offsets"]
    for byte in range(256):
        new = region[:b] + bytes([byte]) + region[b + 1:]
        rec = json.loads(json.dumps(record))
        rec["tensors"]["mask"]["sha256"] = hashlib.sha256(new[b:e]).hexdigest()
        text = json.dumps(rec)
        h = json.loads(json.dumps(header))
        h["__metadata__"].update({"tinyfin.record": text,
                                  "tinyfin.record_sha256": hashlib.sha256(text.encode()).hexdigest()})
        got = outcome(join(h, new), obj, forged=True)
        assert got == ("same" if byte == 1 else "other" if byte == 0 else "error"), byte
