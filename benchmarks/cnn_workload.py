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

try:  # as the benchmarks import it (benchmarks/ on sys.path) ...
    from mlp_workload import LR, MOMENTUM, sgd_momentum_
except ImportError:  # ... and as the tests do (from benchmarks import cnn_workload)
    from .mlp_workload import LR, MOMENTUM, sgd_momentum_

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


# ---- the same step written by hand in NumPy (the peer baseline) --------------------
def numpy_params(model) -> dict:
    """The model's initial values as NumPy arrays, by state_dict key."""
    return {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}


def _im2col(x, k=3, pad=1):
    """(N, C, H, W) -> (N*H*W, C*k*k) windows of a stride-1 'same' conv."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # N C H W k k
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * h * w, c * k * k)


def _col2im(cols, shape, k=3, pad=1):
    n, c, h, w = shape
    g = cols.reshape(n, h, w, c, k, k)
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + h, j:j + w] += g[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out[:, :, pad:pad + h, pad:pad + w]


def _conv(x, w, b):
    n, _, h, wd = x.shape
    cols = _im2col(x)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, h, wd, -1).transpose(0, 3, 1, 2), cols


def _conv_back(g, cols, x_shape, w, need_input):
    o = w.shape[0]
    g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)
    gw = (g2.T @ cols).reshape(w.shape)
    gx = _col2im(g2 @ w.reshape(o, -1), x_shape) if need_input else None
    return gx, gw, g2.sum(0)


def _pool(x):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(-1)
    return np.take_along_axis(win, arg[..., None], -1)[..., 0], arg


def _pool_back(g, arg, shape):
    n, c, h, w = shape
    win = np.zeros((n, c, h // 2, w // 2, 4), g.dtype)
    np.put_along_axis(win, arg[..., None], g[..., None], -1)
    return win.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def numpy_step(p: dict, velocity: dict, x, y, lr=LR, momentum=MOMENTUM) -> float:
    """One step of the same model in NumPy (im2col convolutions); updates p
    and velocity in place, returns the loss."""
    a1, cols1 = _conv(x, p["0.weight"], p["0.bias"])
    r1 = np.maximum(a1, 0)
    m1, arg1 = _pool(r1)
    a2, cols2 = _conv(m1, p["3.weight"], p["3.bias"])
    r2 = np.maximum(a2, 0)
    m2, arg2 = _pool(r2)
    flat = m2.reshape(m2.shape[0], -1)
    z = flat @ p["7.weight"].T + p["7.bias"]
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    n = x.shape[0]
    loss = -logp[np.arange(n), y].mean()
    gz = np.exp(logp)
    gz[np.arange(n), y] -= 1
    gz /= n
    grads = {"7.weight": gz.T @ flat, "7.bias": gz.sum(0)}
    gm2 = (gz @ p["7.weight"]).reshape(m2.shape)
    ga2 = _pool_back(gm2, arg2, r2.shape) * (a2 > 0)
    gm1, grads["3.weight"], grads["3.bias"] = _conv_back(ga2, cols2, m1.shape, p["3.weight"], True)
    ga1 = _pool_back(gm1, arg1, r1.shape) * (a1 > 0)
    _, grads["0.weight"], grads["0.bias"] = _conv_back(ga1, cols1, x.shape, p["0.weight"], False)
    for k, g in grads.items():
        v = velocity.setdefault(k, np.zeros_like(g))
        v *= momentum
        v += g
        p[k] -= lr * v
    return float(loss)
