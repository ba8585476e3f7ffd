"""The MLP training step (mlp_workload.py: 784-256-128-10, batch 128, float32,
SGD with momentum), tinyfin vs PyTorch, one step per round; the summary
table gives steps/s. tests/test_mlp_workload.py checks that the two steps
compute the same parameters, so both sides time a correct step.
"""
import pytest

import bench_tables as tables
import mlp_workload as w
import tinyfin


@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.benchmark(group="MLP step 784-256-128-10, batch 128, float32", max_time=1.0)
def test_mlp_step(benchmark, lib_name, request):
    lib = tinyfin if lib_name == "tinyfin" else request.getfixturevalue("torch_or_skip")
    params = w.init_params(lib)
    velocity = w.init_velocity(lib, params)
    x, y = w.make_batch(lib)
    w.mlp_step(lib, params, velocity, x, y)  # first touch of the buffers, untimed
    benchmark(w.mlp_step, lib, params, velocity, x, y)
    tables.record(benchmark, "mlp", (f"784-256-128-10, batch {w.BATCH}, float32",), lib_name)
