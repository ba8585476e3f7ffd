"""The benchmarked MLP step (benchmarks/mlp_workload.py) is a correct step:
from the same initial values, three steps of it in tinyfin give PyTorch's
parameters and losses, where PyTorch runs its own F.linear, F.cross_entropy
and torch.optim.SGD (an implementation independent of the hand-written one).
Skipped without PyTorch.
"""
import numpy as np
import pytest

import tinyfin
from benchmarks import mlp_workload as w

torch = pytest.importorskip("torch")
F = torch.nn.functional

STEPS = 3
BATCH = 16  # the benchmark's layer sizes, a smaller batch: fast
LR = 0.1    # large enough that three steps move every parameter well past the tolerance


def _torch_reference(dtype):
    """Parameters after each step and the losses, by PyTorch's own modules."""
    params = [torch.tensor(p, requires_grad=True) for p in w.init_params_numpy(dtype=dtype)]
    x, y = w.make_batch(torch, BATCH, dtype=dtype)
    opt = torch.optim.SGD(params, lr=LR, momentum=w.MOMENTUM)
    losses = []
    for _ in range(STEPS):
        h = x
        for i in range(0, len(params), 2):
            # F.linear's weight is (out, in); the workload stores (in, out)
            h = F.linear(h, params[i].T, params[i + 1])
            if i < len(params) - 2:
                h = F.relu(h)
        loss = F.cross_entropy(h, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return [p.detach().numpy() for p in params], losses


def _run_workload(lib, dtype):
    params = w.init_params(lib, dtype=dtype)
    velocity = w.init_velocity(lib, params)
    x, y = w.make_batch(lib, BATCH, dtype=dtype)
    losses = [w.mlp_step(lib, params, velocity, x, y, lr=LR).item() for _ in range(STEPS)]
    return [p.detach().numpy() for p in params], losses


def _close(got, ref, dtype, what):
    """Within 32 roundings of ref's largest magnitude: the libraries sum the
    products in different orders, which leaves a few roundings (measured:
    at most 6 in float32, 3 in float64), far below the steps themselves."""
    tol = 32 * np.finfo(dtype).eps * np.abs(ref).max()
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol, err_msg=what)
    return tol


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lib_name", ["tinyfin", "torch"])
def test_mlp_step_matches_torch_optim(lib_name, dtype):
    lib = tinyfin if lib_name == "tinyfin" else torch
    ref_params, ref_losses = _torch_reference(dtype)
    got_params, got_losses = _run_workload(lib, dtype)
    _close(np.array(got_losses), np.array(ref_losses), dtype, "losses")
    for i, (init, got, ref) in enumerate(zip(w.init_params_numpy(dtype=dtype), got_params,
                                             ref_params)):
        assert got.dtype == np.dtype(dtype)
        tol = _close(got, ref, dtype, f"parameter {i}")
        # the comparison means something only if the steps moved the values
        assert np.abs(ref - init).max() > 100 * tol, f"parameter {i} barely moved"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lib_name", ["tinyfin", "torch"])
def test_the_nn_module_step_matches_torch_optim(lib_name, dtype):
    # the same workload through nn.Sequential / nn.Linear / F.cross_entropy
    lib = tinyfin if lib_name == "tinyfin" else torch
    ref_params, ref_losses = _torch_reference(dtype)
    model = w.make_model(lib, dtype=dtype)
    params = list(model.parameters())
    velocity = [lib.zeros_like(p) for p in params]
    x, y = w.make_batch(lib, BATCH, dtype=dtype)
    losses = [w.model_step(lib, model, velocity, x, y, lr=LR).item() for _ in range(STEPS)]
    _close(np.array(losses), np.array(ref_losses), dtype, "losses")
    for i, (got, ref) in enumerate(zip(params, ref_params)):
        got = got.detach().numpy()
        assert got.dtype == np.dtype(dtype)
        _close(got, ref.T if ref.ndim == 2 else ref, dtype, f"parameter {i}")
