"""matmul throughput: tinyfin, NumPy (its BLAS) and PyTorch on the same
operands and thread count, float32 and float64, in GFLOP/s (2mnk / time).

- square: n = 64 ... 2048, where the kernel's blocking and threading show;
- MLP: the three products of one 784-256 layer at batch 128 (mlp_workload.py):
  the forward x @ W, and the backward's x.T @ g (weight gradient) and
  g @ W.T (input gradient), with the transposed operand passed as the
  strided view autograd passes, not as a contiguous copy.

The summary table at the end of `make bench` gathers the rows.
"""
from typing import NamedTuple

import numpy as np
import pytest

import bench_tables as tables
import tinyfin


class Case(NamedTuple):
    name: str
    m: int
    k: int
    n: int
    a_t: bool = False  # a is stored (k, m) and used as its transpose view
    b_t: bool = False  # b is stored (n, k) and used as its transpose view


SQUARE = [Case(f"{n}x{n} @ {n}x{n}", n, n, n) for n in (64, 128, 256, 512, 1024, 2048)]
MLP = [Case("128x784 @ 784x256 (x @ W)", 128, 784, 256),
       Case("784x128 @ 128x256 (x.T @ g)", 784, 128, 256, a_t=True),
       Case("128x256 @ 256x784 (g @ W.T)", 128, 256, 784, b_t=True)]
DTYPES = ("float32", "float64")


def _operand(lib, torch, rng, rows, cols, transposed, dtype):
    stored = (cols, rows) if transposed else (rows, cols)
    arr = rng.standard_normal(stored).astype(dtype)
    x = {"tinyfin": lambda: tinyfin.tensor(arr),
         "NumPy": lambda: arr,
         "PyTorch": lambda: torch.from_numpy(arr)}[lib]()
    return x.T if transposed else x


@pytest.mark.parametrize("lib", tables.LIBS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SQUARE + MLP, ids=lambda c: c.name.split(" (")[0].replace(" ", ""))
@pytest.mark.benchmark(max_time=0.5, min_rounds=5)
def test_matmul(benchmark, case, dtype, lib, request):
    torch = request.getfixturevalue("torch_or_skip") if lib == "PyTorch" else None
    rng = np.random.default_rng(0)
    a = _operand(lib, torch, rng, case.m, case.k, case.a_t, dtype)
    b = _operand(lib, torch, rng, case.k, case.n, case.b_t, dtype)
    benchmark.group = f"matmul {dtype} {case.name}"
    if case.m * case.n * case.k >= 2048 ** 3:
        # up to half a second a call (tinyfin, float64): three rounds tell enough
        benchmark.pedantic(lambda: a @ b, rounds=3, iterations=1, warmup_rounds=1)
    else:
        benchmark(lambda: a @ b)
    tables.record(benchmark, "matmul", (dtype, case.name), lib, 2 * case.m * case.n * case.k)
