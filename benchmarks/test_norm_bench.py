"""Normalization: tinyfin's fused kernels against PyTorch on the same
operands and thread count, float32.

- batch_norm in training on a ResNet-sized activation (32, 64, 56, 56):
  the forward (statistics, running-statistics update, output) and the
  forward plus the backward of input, weight and bias;
- layer_norm over the last dim of a transformer-sized (64, 128, 512).

The table "normalization" at the end of `make bench` gathers the rows (ms
per call; tinyfin/PyTorch is a ratio of times: above 1, tinyfin is slower).
"""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin
from tinyfin.nn import functional as F

tables.TABLES.setdefault("norm", tables.Table(
    "normalization", ("op", "shape", "pass"), "ms/call",
    lambda s, _: s * 1e3, ("tinyfin", "PyTorch"), (("tinyfin", "PyTorch"),),
    "Milliseconds per call (fastest round), float32. The ratio is of times: above 1, "
    "tinyfin is slower.", tables.THREADS))

CASES = [("batch_norm", (32, 64, 56, 56)), ("layer_norm", (64, 128, 512))]
LIBS = ("tinyfin", "PyTorch")


def _setup(lib, torch, op, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    c = shape[1] if op == "batch_norm" else shape[-1]
    w = rng.uniform(0.5, 2, c).astype(np.float32)
    b = rng.uniform(-1, 1, c).astype(np.float32)
    if lib == "tinyfin":
        mk = lambda a, rg=False: tinyfin.tensor(a, requires_grad=rg)  # noqa: E731
        fn, grad = F, tinyfin.autograd.grad
    else:
        mk = lambda a, rg=False: torch.tensor(a, requires_grad=rg)  # noqa: E731
        fn, grad = torch.nn.functional, torch.autograd.grad
    ts = [mk(x, True), mk(w, True), mk(b, True)]
    rm, rv = mk(np.zeros(c, np.float32)), mk(np.ones(c, np.float32))
    if op == "batch_norm":
        forward = lambda: fn.batch_norm(ts[0], rm, rv, ts[1], ts[2], training=True)  # noqa: E731
    else:
        forward = lambda: fn.layer_norm(ts[0], (c,), ts[1], ts[2])  # noqa: E731
    gt = mk(g)
    return forward, lambda: grad(forward(), ts, gt)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("which", ["forward", "forward+backward"])
@pytest.mark.parametrize("op,shape", CASES, ids=[c[0] for c in CASES])
@pytest.mark.benchmark(max_time=1.0, min_rounds=5)
def test_norm(benchmark, op, shape, which, lib, request):
    torch = request.getfixturevalue("torch_or_skip") if lib == "PyTorch" else None
    forward, both = _setup(lib, torch, op, shape)
    benchmark.group = f"{op} {shape} {which}"
    benchmark(forward if which == "forward" else both)
    tables.record(benchmark, "norm", (op, str(shape), which), lib)
