"""Optimizer steps: tinyfin's fused C kernels against PyTorch's Adam and
SGD on the same parameters, gradients and thread count, float32.

- Adam's step over a 10M-parameter model (two 2048x2048 Linear weights, a
  1536x1024 one and a bias: 10.0M parameters, all with grads), against
  PyTorch's foreach=True implementation (the multi-tensor kernels) and
  foreach=False (one parameter at a time, the CPU default);
- SGD(momentum=0.9)'s step over the MLP of the peer workloads (784-256-128-10:
  six tensors, 0.24M parameters), where the per-step overhead of step()
  is what is measured.

The table "optimizer step" at the end of `make bench` gathers the rows (ms
per step; a ratio above 1 means tinyfin is slower).
"""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin

tables.TABLES.setdefault("optim", tables.Table(
    "optimizer step", ("optimizer", "params"), "ms/step",
    lambda s, _: s * 1e3, ("tinyfin", "PyTorch foreach", "PyTorch for-loop"),
    (("tinyfin", "PyTorch foreach"), ("tinyfin", "PyTorch for-loop")),
    "Milliseconds per optimizer step (fastest round), float32, every parameter with a "
    "grad. The ratios are of times: above 1, tinyfin is slower.", tables.THREADS))

ADAM_SHAPES = ((2048, 2048), (2048, 2048), (1536, 1024), (2048,))
MLP_SHAPES = ((256, 784), (256,), (128, 256), (128,), (10, 128), (10,))
LIBS = ("tinyfin", "PyTorch foreach", "PyTorch for-loop")


def _setup(lib, torch, shapes, make_opt):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
    if lib == "tinyfin":
        ps = [tinyfin.nn.Parameter(tinyfin.tensor(v)) for v in values]
        for p, g in zip(ps, grads):
            p.grad = tinyfin.tensor(g)
        opt = make_opt(tinyfin.optim, ps, {})
    else:
        ps = [torch.nn.Parameter(torch.tensor(v)) for v in values]
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g)
        opt = make_opt(torch.optim, ps, {"foreach": lib == "PyTorch foreach"})
    opt.step()      # the state is created outside the timing
    return opt


def _numel(shapes) -> str:
    return f"{sum(int(np.prod(s)) for s in shapes) / 1e6:.2f}M"


@pytest.mark.parametrize("threads", [tables.THREADS], indirect=True)
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.benchmark(max_time=2.0, min_rounds=5)
def test_adam_step_10m(benchmark, lib, threads, request):
    torch = request.getfixturevalue("torch_or_skip") if lib != "tinyfin" else None
    opt = _setup(lib, torch, ADAM_SHAPES,
                 lambda optim, ps, kw: optim.Adam(ps, lr=1e-3, **kw))
    benchmark.group = "Adam step, 10M parameters"
    benchmark(opt.step)
    tables.record(benchmark, "optim", ("Adam", _numel(ADAM_SHAPES)), lib)


@pytest.mark.parametrize("threads", [tables.THREADS], indirect=True)
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.benchmark(max_time=1.0, min_rounds=20)
def test_sgd_momentum_step_mlp(benchmark, lib, threads, request):
    torch = request.getfixturevalue("torch_or_skip") if lib != "tinyfin" else None
    opt = _setup(lib, torch, MLP_SHAPES,
                 lambda optim, ps, kw: optim.SGD(ps, lr=0.01, momentum=0.9, **kw))
    benchmark.group = "SGD(momentum=0.9) step, MLP 784-256-128-10"
    benchmark(opt.step)
    tables.record(benchmark, "optim", ("SGD momentum", _numel(MLP_SHAPES)), lib)
