"""The MLP training step the benchmarks time, written once for tinyfin and
PyTorch: every function takes the library (the `tinyfin` or the `torch`
module) as its first argument and uses only names the two share.

784-256-128-10, ReLU, cross-entropy as -mean(log_softmax(z)[i, y_i]) (a
gather), plain SGD with momentum written out under no_grad (and, in optim_step, the
same model through nn modules and optim.SGD). Weights are
stored (in, out) so a layer is x @ W + b and its backward runs the x.T @ g
and g @ W.T products that test_matmul_bench.py times on their own.

The initial values and the batch come from NumPy with fixed seeds, so both
libraries start from the same numbers. The later nn/optim work can run this
same workload through its modules (init_params and make_batch give the
values; tests/test_mlp_workload.py holds the PyTorch reference step to
compare against).
"""
from __future__ import annotations

import math

import numpy as np

SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.01
MOMENTUM = 0.9


def init_params_numpy(sizes=SIZES, dtype="float32", seed=0) -> list:
    """[W1, b1, W2, b2, ...] as NumPy arrays, each uniform in
    +-1/sqrt(fan_in) (PyTorch's nn.Linear default range)."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return params


def init_params(lib, sizes=SIZES, dtype="float32", seed=0) -> list:
    """The parameters as leaf tensors of lib that require grad."""
    return [lib.tensor(p, requires_grad=True) for p in init_params_numpy(sizes, dtype, seed)]


def init_velocity(lib, params) -> list:
    """Momentum buffers at zero: the first step then sets each to the
    gradient exactly (0.9 * 0 + g), as torch.optim.SGD's first step does."""
    return [lib.zeros_like(p) for p in params]


def make_batch(lib, batch=BATCH, sizes=SIZES, dtype="float32", seed=1):
    """Inputs (batch, sizes[0]) standard normal and int64 class labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch, dtype=np.int64)
    return lib.tensor(x), lib.tensor(y)


def forward(lib, params, x):
    """Logits: linear layers with ReLU between them (none after the last)."""
    h = x
    last = len(params) - 2
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < last:
            h = lib.relu(h)
    return h


def cross_entropy(lib, logits, y):
    """Mean negative log-likelihood of the labels, from log_softmax."""
    return -lib.log_softmax(logits, dim=1).gather(1, y.unsqueeze(1)).mean()


def sgd_momentum_(lib, params, velocity, lr=LR, momentum=MOMENTUM) -> None:
    """v = momentum v + grad; p -= lr v (torch.optim.SGD with momentum, no
    dampening, no weight decay, in its order of operations); clears grads."""
    with lib.no_grad():
        for p, v in zip(params, velocity):
            v.mul_(momentum).add_(p.grad)
            p.add_(v, alpha=-lr)
            p.grad = None


def mlp_step(lib, params, velocity, x, y, lr=LR, momentum=MOMENTUM):
    """One training step: forward, loss, backward, update. Returns the loss
    (before the update)."""
    loss = cross_entropy(lib, forward(lib, params, x), y)
    loss.backward()
    sgd_momentum_(lib, params, velocity, lr, momentum)
    return loss


# ---- the same step through nn modules ----------------------------------------------
def make_model(lib, sizes=SIZES, dtype="float32", seed=0):
    """nn.Sequential(Linear, ReLU, ..., Linear) holding init_params_numpy's
    values (nn.Linear stores W as (out, in): the transpose of the raw
    workload's), loaded through state_dict as a user would."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        if i:
            layers.append(lib.nn.ReLU())
        layers.append(lib.nn.Linear(fan_in, fan_out))
    model = lib.nn.Sequential(*layers)
    if dtype == "float64":
        model = model.double()
    raw = init_params_numpy(sizes, dtype, seed)
    linear_keys = [k for k in model.state_dict() if k.endswith(".weight")]
    state = {}
    for key, w, b in zip(linear_keys, raw[0::2], raw[1::2]):
        state[key] = lib.tensor(np.ascontiguousarray(w.T))
        state[key.replace(".weight", ".bias")] = lib.tensor(b)
    model.load_state_dict(state)
    return model


def model_step(lib, model, velocity, x, y, lr=LR, momentum=MOMENTUM):
    """mlp_step through the modules: nn.functional.cross_entropy and the same
    SGD with momentum over model.parameters()."""
    loss = lib.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    sgd_momentum_(lib, list(model.parameters()), velocity, lr, momentum)
    return loss


def make_optimizer(lib, model, lr=LR, momentum=MOMENTUM):
    """optim.SGD with momentum over the model's parameters: the update
    sgd_momentum_ writes out by hand, as the library's fused optimizer."""
    return lib.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def optim_step(lib, model, opt, x, y):
    """The PyTorch-style step a user writes: zero_grad, forward,
    F.cross_entropy, backward, opt.step(). Returns the loss."""
    opt.zero_grad()
    loss = lib.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss
