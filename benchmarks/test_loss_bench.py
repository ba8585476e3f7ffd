"""cross_entropy (class indices, reduction mean) forward + backward with
respect to the logits, tinyfin's fused kernels vs PyTorch, for a classifier's
head (64, 10) and a large vocabulary (256, 1000); and
binary_cross_entropy_with_logits on (256, 1000). The summary table 'loss'
gives microseconds per call and the ratio."""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin

SHAPES = ((64, 10), (256, 1000))


def _data(shape):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    y = rng.integers(0, shape[1], size=shape[0]).astype(np.int64)
    z = rng.uniform(0, 1, shape).astype(np.float32)
    return x, y, z


def _step_tinyfin(loss, x, y):
    def step():
        x.grad = None
        loss(x, y).backward()
    return step


def _lib(lib_name, request):
    return tinyfin if lib_name == "tinyfin" else request.getfixturevalue("torch_or_skip")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.benchmark(group="cross_entropy forward + backward", max_time=1.0)
def test_cross_entropy(benchmark, lib_name, shape, request):
    lib = _lib(lib_name, request)
    x, y, _ = _data(shape)
    xs = lib.tensor(x, requires_grad=True)
    ys = lib.tensor(y)
    step = _step_tinyfin(lib.nn.functional.cross_entropy, xs, ys)
    step()  # untimed first call
    benchmark(step)
    tables.record(benchmark, "loss", ("cross_entropy", f"{shape[0]}x{shape[1]}", "float32"),
                  lib_name)


@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.benchmark(group="binary_cross_entropy_with_logits forward + backward", max_time=1.0)
def test_bce_with_logits(benchmark, lib_name, request):
    lib = _lib(lib_name, request)
    x, _, z = _data((256, 1000))
    xs = lib.tensor(x, requires_grad=True)
    zs = lib.tensor(z)
    step = _step_tinyfin(lib.nn.functional.binary_cross_entropy_with_logits, xs, zs)
    step()
    benchmark(step)
    tables.record(benchmark, "loss", ("bce_with_logits", "256x1000", "float32"), lib_name)
