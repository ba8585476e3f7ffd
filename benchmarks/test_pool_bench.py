"""max_pool2d 2x2 (stride 2), forward and forward + backward, float32, on
the two pooling layers of the CNN workload of issue 10 (batch 64: 16
channels of 28x28 after the first conv, 32 of 14x14 after the second),
tinyfin side by side with PyTorch on the same thread count.

The summary table "max_pool2d 2x2" at the end of `make bench` gathers the
rows (registered here, so bench_tables.py needs no entry of its own)."""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin
from tinyfin.nn import functional as F

try:
    import torch
except ImportError:  # optional peer (its benchmarks skip)
    torch = None

tables.TABLES.setdefault("pool", tables.Table(
    "max_pool2d 2x2, float32", ("threads", "shape", "pass"), "ms/call",
    lambda s, _: s * 1e3, ("tinyfin", "PyTorch"),
    (("tinyfin", "PyTorch"),),
    "Milliseconds per call (fastest round). The ratio is of times: above 1, tinyfin is slower. "
    "forward+backward: the pool and the backward of its sum into the input's .grad.",
    tables.THREADS))

SHAPES = [(64, 16, 28, 28), (64, 32, 14, 14)]
LIBS = ("tinyfin", "PyTorch")
# The suite's thread count, and 1: on a loaded 2-core machine a 2-thread
# kernel waits for its second thread, the 1-thread rows show the code's cost.
THREAD_COUNTS = (1, tables.THREADS)


def _setup(lib, torch, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    g = np.random.default_rng(1).standard_normal(
        shape[:2] + (shape[2] // 2, shape[3] // 2)).astype(np.float32)
    if lib == "tinyfin":
        return (tinyfin.tensor(x, requires_grad=True), tinyfin.tensor(g),
                lambda t: F.max_pool2d(t, 2))
    return (torch.tensor(x, requires_grad=True), torch.tensor(g),
            lambda t: torch.nn.functional.max_pool2d(t, 2))


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("threads", THREAD_COUNTS, indirect=True, ids=lambda n: f"{n}thr")
@pytest.mark.benchmark(max_time=0.5, min_rounds=10)
def test_max_pool2d_forward(benchmark, shape, lib, threads, request):
    torch = request.getfixturevalue("torch_or_skip") if lib == "PyTorch" else None
    x, _, pool = _setup(lib, torch, shape)
    benchmark.group = f"max_pool2d 2x2 forward {shape}"
    if torch is not None:
        with torch.no_grad():
            benchmark(lambda: pool(x))
    else:
        with tinyfin.no_grad():
            benchmark(lambda: pool(x))
    tables.record(benchmark, "pool", (str(threads), "x".join(map(str, shape)), "forward"), lib)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("threads", THREAD_COUNTS, indirect=True, ids=lambda n: f"{n}thr")
@pytest.mark.benchmark(max_time=0.5, min_rounds=10)
def test_max_pool2d_forward_backward(benchmark, shape, lib, threads, request):
    torch = request.getfixturevalue("torch_or_skip") if lib == "PyTorch" else None
    x, g, pool = _setup(lib, torch, shape)
    benchmark.group = f"max_pool2d 2x2 forward+backward {shape}"

    def step():
        x.grad = None
        pool(x).backward(g)
    benchmark(step)
    tables.record(benchmark, "pool", (str(threads), "x".join(map(str, shape)), "forward+backward"), lib)
