"""The small-CNN training step (cnn_workload.py: conv3x3(1->16)-relu-maxpool-
conv3x3(16->32)-relu-maxpool-linear(1568->10), batch 64, float32,
cross-entropy, SGD with momentum) in tinyfin, PyTorch and hand-written
NumPy, on 1 and on 2 threads; steps per second. tests/test_cnn_workload.py
checks that the three compute the same step."""
import pytest

import bench_tables as tables
import cnn_workload as w
import tinyfin


@pytest.mark.parametrize("threads", (1, 2), indirect=True, ids=lambda n: f"{n}thr")
@pytest.mark.parametrize("lib_name", tables.LIBS)
@pytest.mark.benchmark(max_time=2.0, min_rounds=5)
def test_cnn_step(benchmark, lib_name, threads, request):
    benchmark.group = f"CNN step, batch {w.BATCH}, float32, {threads} thread(s)"
    if lib_name == "NumPy":
        params, velocity = w.numpy_params(w.make_model(tinyfin)), {}
        x, y = (t.numpy() for t in w.make_batch(tinyfin))
        w.numpy_step(params, velocity, x, y)  # first touch, untimed
        benchmark(w.numpy_step, params, velocity, x, y)
    else:
        lib = tinyfin if lib_name == "tinyfin" else request.getfixturevalue("torch_or_skip")
        model = w.make_model(lib)
        velocity = w.init_velocity(lib, model)
        x, y = w.make_batch(lib)
        w.cnn_step(lib, model, velocity, x, y)
        benchmark(w.cnn_step, lib, model, velocity, x, y)
    tables.record(benchmark, "cnn", (str(threads),), lib_name)
