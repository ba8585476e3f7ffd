"""The GPU benchmarks (`make gpu-check` runs them; skipped without a GPU):
tinyfin on "cuda" beside PyTorch on the same GPU when a CUDA build of
PyTorch is installed, every call timed to its completion (synchronize).

- bandwidth: add and exp over 2^28 float32 elements (the issue's target:
  >= 80% of the device's copy bandwidth, the `copy` row: a clone);
- matmul: float32 n = 1024, 4096, 8192 through cuBLAS (>= 0.9x PyTorch),
  and tinyfin's own tiled kernel beside it;
- training: the MLP and CNN steps of the peer workloads (mlp_workload.py,
  cnn_workload.py) at batch 128 / 64 and at a GPU-sized batch 4096 / 512
  (>= 1.0x PyTorch eager there).

TINYFIN_CUDA_BENCH_SMALL=1 shrinks every size (a smoke run of the code,
e.g. on the emulated device of the tests); its figures mean nothing.
"""
import functools
import os

import numpy as np
import pytest

import bench_tables as tables
import cnn_workload
import mlp_workload
import tinyfin

SMALL = os.environ.get("TINYFIN_CUDA_BENCH_SMALL") == "1"
pytestmark = pytest.mark.skipif(not tinyfin.cuda.is_available(),
                                reason=str(tinyfin.cuda.why_unavailable()))

ELEMENTS = 2 ** 12 if SMALL else 2 ** 28
MATMUL_N = (64, 128) if SMALL else (1024, 4096, 8192)
TRAIN = {"mlp": (8, 32) if SMALL else (128, 4096), "cnn": (2, 4) if SMALL else (64, 512)}


def _torch_cuda():
    try:
        import torch
    except ImportError:
        pytest.skip("PyTorch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA device (a CPU build)")
    return torch


def _on_gpu(lib):
    """(module, synchronize) of a library on the GPU."""
    if lib == "PyTorch":
        torch = _torch_cuda()
        return torch, torch.cuda.synchronize
    return tinyfin, tinyfin.cuda.synchronize


def _timed(benchmark, fn, sync, rounds=None):
    def call():
        fn()
        sync()
    if rounds:
        benchmark.pedantic(call, rounds=rounds, iterations=1, warmup_rounds=1)
    else:
        call()  # warm-up: the caching allocators, cuBLAS handles
        benchmark(call)


@functools.lru_cache(maxsize=None)
def _host_operands():
    """Two float32 arrays of ELEMENTS (2 GiB together at full size: made once)."""
    rng = np.random.default_rng(0)
    return (rng.standard_normal(ELEMENTS, dtype=np.float32),
            rng.standard_normal(ELEMENTS, dtype=np.float32))


@pytest.mark.parametrize("lib", ("tinyfin", "PyTorch"))
@pytest.mark.parametrize("op", ("copy", "add", "exp"))
@pytest.mark.benchmark(max_time=0.5, min_rounds=5)
def test_cuda_bandwidth(benchmark, op, lib):
    mod, sync = _on_gpu(lib)
    a, b = (mod.tensor(h).to("cuda") for h in _host_operands())
    out = mod.empty_like(a)
    fn, arrays = {"copy": (lambda: a.clone(), 2),
                  "add": (lambda: mod.add(a, b, out=out), 3),
                  "exp": (lambda: mod.exp(a, out=out), 2)}[op]
    benchmark.group = f"cuda bandwidth {op}"
    _timed(benchmark, fn, sync)
    tables.record(benchmark, "cuda_bandwidth", (op, f"2^{int(np.log2(ELEMENTS))}"), lib,
                  arrays * 4 * ELEMENTS)


@pytest.mark.parametrize("lib", ("tinyfin", "tinyfin tiled", "PyTorch"))
@pytest.mark.parametrize("n", MATMUL_N)
@pytest.mark.benchmark(max_time=0.5, min_rounds=3)
def test_cuda_matmul(benchmark, n, lib):
    mod, sync = _on_gpu("PyTorch" if lib == "PyTorch" else "tinyfin")
    rng = np.random.default_rng(0)
    a = mod.tensor(rng.standard_normal((n, n), dtype=np.float32)).to("cuda")
    b = mod.tensor(rng.standard_normal((n, n), dtype=np.float32)).to("cuda")
    benchmark.group = f"cuda matmul {n}"
    if lib == "tinyfin tiled":
        tinyfin.backends.cuda.preferred_blas_library("tiled")
    try:
        _timed(benchmark, lambda: a @ b, sync, rounds=3 if n >= 8192 else None)
    finally:
        tinyfin.backends.cuda.preferred_blas_library("cublas")
    tables.record(benchmark, "cuda_matmul", (str(n),), lib, 2.0 * n ** 3)


@pytest.mark.parametrize("lib", ("tinyfin", "PyTorch"))
@pytest.mark.parametrize("workload,batch", [(w, b) for w, bs in TRAIN.items() for b in bs])
@pytest.mark.benchmark(max_time=0.5, min_rounds=5)
def test_cuda_training_step(benchmark, workload, batch, lib):
    mod, sync = _on_gpu(lib)
    work = mlp_workload if workload == "mlp" else cnn_workload
    model = work.make_model(mod).to("cuda")
    x, y = work.make_batch(mod, batch=batch)
    x, y = x.to("cuda"), y.to("cuda")
    opt = mlp_workload.make_optimizer(mod, model)
    benchmark.group = f"cuda {workload} step, batch {batch}"
    _timed(benchmark, lambda: mlp_workload.optim_step(mod, model, opt, x, y), sync)
    tables.record(benchmark, "cuda_train", (workload, str(batch)), lib)
