"""Training end to end agrees with PyTorch: the benchmarks' MLP and CNN
(benchmarks/mlp_workload.py, cnn_workload.py), from identical weights, on
the same batches in the same order (a TensorDataset and a DataLoader over a
fixed index order on both sides), with nn modules, F.cross_entropy and the
optimizer, for 100 steps. The two loss curves agree to float32 rounding:
the libraries sum products in different orders, which leaves differences of
a few roundings per step that the training neither amplifies nor removes.
Skipped without PyTorch.
"""
import numpy as np
import pytest

import tinyfin
from benchmarks import cnn_workload, mlp_workload

torch = pytest.importorskip("torch")

STEPS = 100
BATCH = 16


def _data(workload, n, seed=2):
    """n noisy 28 x 28 images whose class is where a bright patch sits, a
    task both models learn within the run (the MLP sees them flattened)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = 0.5 * rng.standard_normal((n, 28, 28))
    for i, k in enumerate(y):
        r, c = 3 + 12 * (k // 5), 2 + 5 * (k % 5)
        x[i, r:r + 6, c:c + 4] += 2.0
    shape = (n, 784) if workload is mlp_workload else (n, 1, 28, 28)
    return x.reshape(shape).astype(np.float32), y.astype(np.int64)


def _curve(lib, workload, optimizer, order, x, y):
    """Losses of STEPS steps over the batches of `order`."""
    data = lib.utils.data
    model = workload.make_model(lib)
    opt = optimizer(lib, model.parameters())
    loader = data.DataLoader(data.TensorDataset(lib.tensor(x), lib.tensor(y)),
                             batch_size=BATCH, sampler=order)
    losses = []
    while len(losses) < STEPS:
        for xb, yb in loader:
            losses.append(mlp_workload.optim_step(lib, model, opt, xb, yb).item())
            if len(losses) == STEPS:
                break
    params = [p.detach().numpy().copy() for p in model.parameters()]
    return np.array(losses), params


OPTIMIZERS = {
    "SGD(momentum=0.9)": lambda lib, p: lib.optim.SGD(p, lr=0.01, momentum=0.9),
    "Adam": lambda lib, p: lib.optim.Adam(p, lr=1e-3),
}
# How far a parameter may end from PyTorch's, relative to the largest. Adam
# divides by the gradient's running RMS, so a weight whose gradient is only
# rounding noise (an input pixel that is ~0 everywhere) still moves up to lr
# per step in the noise's direction: its parameters agree less tightly than
# SGD's, whose step is proportional to the (tiny) gradient.
PARAM_RTOL = {"SGD(momentum=0.9)": 1e-4, "Adam": 5e-4}


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("workload", [mlp_workload, cnn_workload], ids=["MLP", "CNN"])
def test_loss_curves_agree_with_torch(workload, opt_name):
    x, y = _data(workload, 20 * BATCH)
    order = [int(i) for i in np.random.default_rng(3).permutation(len(x))]
    ours, our_params = _curve(tinyfin, workload, OPTIMIZERS[opt_name], order, x, y)
    ref, ref_params = _curve(torch, workload, OPTIMIZERS[opt_name], order, x, y)
    assert ref[-10:].mean() < 0.7 * ref[:10].mean(), "the reference run should learn"
    # float32 rounding: relative for the early losses, absolute (a couple of
    # roundings of 1.0, where log-softmax's terms are) once they are near 0
    np.testing.assert_allclose(ours, ref, rtol=2e-5, atol=2.5e-7)
    for got, want in zip(our_params, ref_params):
        np.testing.assert_allclose(got, want, rtol=0, atol=PARAM_RTOL[opt_name] * np.abs(want).max())
