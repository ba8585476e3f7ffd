"""Elementwise benchmarks, tinyfin side by side with NumPy and PyTorch.

- overhead: `a + b` on 16 float32 elements, the cost of one small op
  (dispatch, allocation, release); lower is better.
- throughput: add and exp on 16M contiguous float32 elements, with a
  preallocated output (out=) and without. Read the GB/s column that
  `make bench` prints (bytes read + written / median time).
"""
import numpy as np
import pytest

import tinyfin

SMALL = 16
LARGE = 16 * 1024 * 1024


def _bytes_per_call(op: str) -> int:
    # add reads two inputs and writes one output; exp reads one, writes one.
    return LARGE * 4 * (3 if op == "add" else 2)


def _record_gbps(benchmark, op: str) -> None:
    benchmark.extra_info["GB/s"] = round(
        _bytes_per_call(op) / benchmark.stats.stats.median / 1e9, 1)


# ---- per-op overhead --------------------------------------------------------
@pytest.mark.benchmark(group="overhead: a + b, 16 float32")
def test_overhead_tinyfin(benchmark):
    a = tinyfin.rand(SMALL)
    b = tinyfin.rand(SMALL)
    benchmark(lambda: a + b)


@pytest.mark.benchmark(group="overhead: a + b, 16 float32")
def test_overhead_numpy(benchmark):
    a = np.random.rand(SMALL).astype(np.float32)
    b = np.random.rand(SMALL).astype(np.float32)
    benchmark(lambda: a + b)


@pytest.mark.benchmark(group="overhead: a + b, 16 float32")
def test_overhead_torch(benchmark, torch_or_skip):
    a = torch_or_skip.rand(SMALL)
    b = torch_or_skip.rand(SMALL)
    benchmark(lambda: a + b)


# ---- throughput ---------------------------------------------------------------
def _inputs_tinyfin():
    return tinyfin.rand(LARGE) * 10 - 5, tinyfin.rand(LARGE)


@pytest.mark.parametrize("use_out", [False, True], ids=["alloc", "out"])
@pytest.mark.parametrize("op", ["add", "exp"])
@pytest.mark.benchmark(group="throughput: 16M float32", min_rounds=10)
def test_throughput_tinyfin(benchmark, op, use_out):
    a, b = _inputs_tinyfin()
    out = tinyfin.empty(LARGE) if use_out else None
    fn = {"add": lambda: tinyfin.add(a, b, out=out),
          "exp": lambda: tinyfin.exp(a, out=out)}[op]
    benchmark(fn)
    _record_gbps(benchmark, op)


@pytest.mark.parametrize("use_out", [False, True], ids=["alloc", "out"])
@pytest.mark.parametrize("op", ["add", "exp"])
@pytest.mark.benchmark(group="throughput: 16M float32", min_rounds=10)
def test_throughput_numpy(benchmark, op, use_out):
    rng = np.random.default_rng(0)
    a = (rng.random(LARGE, dtype=np.float32) * 10 - 5)
    b = rng.random(LARGE, dtype=np.float32)
    out = np.empty(LARGE, np.float32) if use_out else None
    fn = {"add": lambda: np.add(a, b, out=out),
          "exp": lambda: np.exp(a, out=out)}[op]
    benchmark(fn)
    _record_gbps(benchmark, op)


@pytest.mark.parametrize("use_out", [False, True], ids=["alloc", "out"])
@pytest.mark.parametrize("op", ["add", "exp"])
@pytest.mark.benchmark(group="throughput: 16M float32", min_rounds=10)
def test_throughput_torch(benchmark, op, use_out, torch_or_skip):
    torch = torch_or_skip
    a = torch.rand(LARGE) * 10 - 5
    b = torch.rand(LARGE)
    out = torch.empty(LARGE) if use_out else None
    fn = {"add": lambda: torch.add(a, b, out=out),
          "exp": lambda: torch.exp(a, out=out)}[op]
    benchmark(fn)
    _record_gbps(benchmark, op)
