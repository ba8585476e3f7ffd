"""The training steps a user writes (opt.zero_grad(); F.cross_entropy(
model(x), y).backward(); opt.step()) through nn modules and optim.SGD with
momentum 0.9: the MLP (784-256-128-10, batch 128) and the small CNN (batch
64) of mlp_workload.py / cnn_workload.py, tinyfin vs PyTorch on 1 and 2
threads; steps per second. tests/test_training_vs_torch.py checks that both
sides follow the same loss curve, so both time a correct step.
"""
import pytest

import bench_tables as tables
import cnn_workload
import mlp_workload
import tinyfin

WORKLOADS = {"MLP": mlp_workload, "CNN": cnn_workload}
for _name, _w in WORKLOADS.items():
    tables.TABLES.setdefault(f"train-{_name.lower()}", tables.Table(
        f"{_name} training step through nn + optim.SGD(momentum=0.9), batch {_w.BATCH}, float32",
        ("threads",), "steps/s", lambda s, _: 1 / s, ("tinyfin", "PyTorch"),
        (("tinyfin", "PyTorch"),),
        "Steps per second (fastest step) on the row's thread count. The ratio is of steps/s: "
        "below 1, tinyfin is slower.",
        2))  # the 1-thread row runs on fewer CPUs than the table's 2


@pytest.mark.parametrize("threads", (1, 2), indirect=True, ids=lambda n: f"{n}thr")
@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.parametrize("workload", sorted(WORKLOADS))
@pytest.mark.benchmark(max_time=2.0, min_rounds=5)
def test_optim_train_step(benchmark, workload, lib_name, threads, request):
    w = WORKLOADS[workload]
    benchmark.group = f"{workload} step through nn + optim.SGD, batch {w.BATCH}, {threads} thread(s)"
    lib = tinyfin if lib_name == "tinyfin" else request.getfixturevalue("torch_or_skip")
    model = w.make_model(lib)
    opt = mlp_workload.make_optimizer(lib, model)
    x, y = w.make_batch(lib)
    mlp_workload.optim_step(lib, model, opt, x, y)  # first touch of the buffers, untimed
    benchmark(mlp_workload.optim_step, lib, model, opt, x, y)
    tables.record(benchmark, f"train-{workload.lower()}", (str(threads),), lib_name)
