"""The benchmarked CNN step (benchmarks/cnn_workload.py) is a correct step:
from the same initial values, three steps give the same parameters and
losses in tinyfin, in PyTorch (its own modules and torch.optim.SGD) and in
the hand-written NumPy version. Skipped without PyTorch."""
import numpy as np
import pytest

import tinyfin
from benchmarks import cnn_workload as w

torch = pytest.importorskip("torch")

STEPS = 3
BATCH = 8
LR = 0.1


def _torch_reference(dtype):
    model = w.make_model(torch, dtype=dtype)
    x, y = w.make_batch(torch, BATCH, dtype=dtype)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    losses = []
    for _ in range(STEPS):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}, losses


def _close(got, ref, dtype, what):
    tol = 64 * np.finfo(dtype).eps * max(np.abs(ref).max(), 1e-30)
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol, err_msg=what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cnn_step_matches_torch_and_numpy(dtype):
    ref, ref_losses = _torch_reference(dtype)
    model = w.make_model(tinyfin, dtype=dtype)
    init = w.numpy_params(model)
    velocity = w.init_velocity(tinyfin, model)
    x, y = w.make_batch(tinyfin, BATCH, dtype=dtype)
    losses = [w.cnn_step(tinyfin, model, velocity, x, y, lr=LR).item() for _ in range(STEPS)]
    _close(np.array(losses), np.array(ref_losses), dtype, "tinyfin losses")
    for k, v in model.state_dict().items():
        _close(v.numpy(), ref[k], dtype, f"tinyfin {k}")
        assert np.abs(ref[k] - init[k]).max() > 1e-4, f"{k} barely moved"
    p, vel = dict(init), {}
    xn, yn = x.numpy(), y.numpy()
    np_losses = [w.numpy_step(p, vel, xn, yn, lr=LR) for _ in range(STEPS)]
    _close(np.array(np_losses), np.array(ref_losses), dtype, "NumPy losses")
    for k in ref:
        _close(p[k], ref[k], dtype, f"NumPy {k}")
