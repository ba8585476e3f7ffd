"""DataLoader throughput, tinyfin vs PyTorch on the same data in the same
run: one epoch over an in-memory TensorDataset of 60000 x 784 float32
samples and int64 labels (MNIST's size), batch 128, shuffled, with
num_workers 0 and 2. One round is one whole epoch (469 batches); the
summary table gives samples/s.

With workers both sides keep them across epochs (persistent_workers), and
an untimed epoch starts them first, so a round times the steady state:
fetching, collating (a stack of 128 rows) and moving each batch to the main
process (tinyfin pickles it through a pipe; PyTorch moves it through shared
memory)."""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin
from tinyfin.utils import data

N, FEATURES, BATCH = 60000, 784, 128

tables.TABLES.setdefault("dataloader", tables.Table(
    "DataLoader throughput, 60000 x 784 float32 in memory", ("workers",), "samples/s",
    lambda s, n: n / s, ("tinyfin", "PyTorch"), (("tinyfin", "PyTorch"),),
    "Samples per second over one shuffled epoch, batch 128 (fastest epoch; workers "
    "persistent and started before timing). The ratio is of samples/s: below 1, "
    "tinyfin is slower.",
    tables.THREADS))


def _arrays():
    rng = np.random.default_rng(0)
    return (rng.random((N, FEATURES), dtype=np.float32),
            rng.integers(0, 10, N).astype(np.int64))


def _epoch(loader):
    seen = 0
    for x, y in loader:
        seen += x.shape[0]
    assert seen == N
    return seen


@pytest.mark.parametrize("workers", (0, 2))
@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.benchmark(group="DataLoader epoch, 60000 x 784 float32, batch 128")
def test_dataloader_epoch(benchmark, lib_name, workers, request):
    x, y = _arrays()
    kw = dict(batch_size=BATCH, shuffle=True, num_workers=workers,
              persistent_workers=workers > 0)
    if lib_name == "tinyfin":
        ds = data.TensorDataset(tinyfin.from_numpy(x), tinyfin.from_numpy(y))
        loader = data.DataLoader(ds, generator=tinyfin.Generator().manual_seed(0), **kw)
    else:
        torch = request.getfixturevalue("torch_or_skip")
        ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        loader = torch.utils.data.DataLoader(ds, generator=torch.Generator().manual_seed(0),
                                             **kw)
    _epoch(loader)  # workers started, memory touched: untimed
    benchmark.pedantic(_epoch, args=(loader,), rounds=3, iterations=1)
    tables.record(benchmark, "dataloader", (str(workers),), lib_name, work=N)
    del loader
