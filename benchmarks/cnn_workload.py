"""The small CNN training step the benchmarks time, written once for tinyfin
and PyTorch through their nn modules (names the two share):

conv3x3(1 -> 16, pad 1) - ReLU - maxpool 2 - conv3x3(16 -> 32, pad 1) - ReLU -
maxpool 2 - flatten - linear(1568 -> 10), batch 64 of 1 x 28 x 28,
cross-entropy, SGD with momentum 0.9 written out under no_grad (as in
mlp_workload.py). The weights and the batch come from NumPy with fixed seeds,
so both libraries start from the same numbers.
"""
from __future__ import annotations

import math

import numpy as np

from mlp_workload import LR, MOMENTUM, sgd_momentum_

BATCH = 64


def make_model(lib, dtype="float32", seed=0):
    nn = lib.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    if dtype == "float64":
        model = model.double()
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in model.state_dict().items():
        shape = tuple(value.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else None
        bound = 1 / math.sqrt(fan_in if fan_in else _fan_in_of_bias(model, key))
        state[key] = lib.tensor(rng.uniform(-bound, bound, shape).astype(dtype))
    model.load_state_dict(state)
    return model


def _fan_in_of_bias(model, key):
    weight = model.state_dict()[key.replace(".bias", ".weight")]
    return int(np.prod(tuple(weight.shape)[1:]))


def make_batch(lib, batch=BATCH, dtype="float32", seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, batch, dtype=np.int64)
    return lib.tensor(x), lib.tensor(y)


def init_velocity(lib, model) -> list:
    return [lib.zeros_like(p) for p in model.parameters()]


def cnn_step(lib, model, velocity, x, y, lr=LR, momentum=MOMENTUM):
    """Forward, cross-entropy, backward, SGD with momentum; returns the loss."""
    loss = lib.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    sgd_momentum_(lib, list(model.parameters()), velocity, lr, momentum)
    return loss
