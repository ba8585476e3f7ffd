"""Per-call overhead: small ops whose cost is all dispatch, argument checks,
header allocation and release, not arithmetic. 16x16 float32 operands; the
views (slices, reshape, select, transpose) copy nothing, so they measure the
Python and ctypes path alone. `add` is the reference point shared with
test_elementwise_bench.py. Microseconds per call in the summary table.
"""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin

N = 16

# The same call spelled for each library; only NumPy names transpose differently
# (ndarray.transpose takes an axis order, so swapaxes is its transpose(0, 1)).
OPS = {
    "matmul 16x16": lambda x, y: x @ y,
    "sum": lambda x, y: x.sum(),
    "x[1:5]": lambda x, y: x[1:5],
    "reshape(8, 32)": lambda x, y: x.reshape(8, 32),
    "x[3]": lambda x, y: x[3],
    "transpose(0, 1)": lambda x, y: x.swapaxes(0, 1) if isinstance(x, np.ndarray)
    else x.transpose(0, 1),
    "add": lambda x, y: x + y,
}


@pytest.mark.parametrize("lib", tables.LIBS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.benchmark(max_time=0.25)
def test_overhead(benchmark, op, lib, request):
    rng = np.random.default_rng(0)
    x_np, y_np = (rng.standard_normal((N, N)).astype(np.float32) for _ in range(2))
    if lib == "tinyfin":
        x, y = tinyfin.tensor(x_np), tinyfin.tensor(y_np)
    elif lib == "NumPy":
        x, y = x_np, y_np
    else:
        torch = request.getfixturevalue("torch_or_skip")
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    f = OPS[op]
    benchmark.group = f"overhead: {op}, 16x16 float32"
    benchmark(f, x, y)
    tables.record(benchmark, "overhead", (op,), lib)
