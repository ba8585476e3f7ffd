"""conv2d forward + backward (grad of input, weight and bias): tinyfin,
PyTorch and a hand-written NumPy im2col version, float32, on 1 and 2
threads (each library set to the same count for the benchmark).

Shapes: the two convolutions of the small CNN of issue 10 (batch 64,
1x28x28 -> 16 channels and 16x14x14 -> 32, 3x3, padding 1) and a
ResNet-style block convolution (batch 32, 64x56x56 -> 64, 3x3, padding 1).
One round = the forward, then the backward of (y * g).sum() for a fixed g
(every library computes grad_input, grad_weight and grad_bias). The summary
table ("conv2d") gives milliseconds per round; tests/test_nn_conv.py checks
the values against PyTorch and NumPy.
"""
from typing import NamedTuple

import numpy as np
import pytest

import bench_tables as tables
import tinyfin
import tinyfin.nn.functional as F


class Case(NamedTuple):
    name: str
    n: int
    c: int
    hw: int
    o: int


CASES = [Case("CNN conv1: 64x1x28x28 -> 16, 3x3 pad 1", 64, 1, 28, 16),
         Case("CNN conv2: 64x16x14x14 -> 32, 3x3 pad 1", 64, 16, 14, 32),
         Case("ResNet block: 32x64x56x56 -> 64, 3x3 pad 1", 32, 64, 56, 64)]


class NumpyConv:
    """conv2d 3x3, stride 1, padding 1 by im2col: cols (N*H*W, C*9) @ W^T;
    backward: grad_weight = g^T @ cols, grad_cols = g @ W, folded back tap by
    tap (col2im)."""

    def __init__(self, x, w, b):
        self.x, self.w, self.b = x, w, b

    def forward(self):
        x, w = self.x, self.w
        n, c, h, wd = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
        # (n, c, h, w, 3, 3) -> (n, h, w, c, 3, 3) -> (n*h*w, c*9)
        self.cols = np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * h * wd, c * 9)
        y = self.cols @ w.reshape(w.shape[0], -1).T + self.b
        return y.reshape(n, h, wd, -1).transpose(0, 3, 1, 2)

    def backward(self, g):
        n, c, h, wd = self.x.shape
        o = self.w.shape[0]
        gm = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, o)
        gw = (gm.T @ self.cols).reshape(self.w.shape)
        gb = gm.sum(0)
        gcols = (gm @ self.w.reshape(o, -1)).reshape(n, h, wd, c, 3, 3)
        gxp = np.zeros((n, c, h + 2, wd + 2), g.dtype)
        for i in range(3):
            for j in range(3):
                gxp[:, :, i:i + h, j:j + wd] += gcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return gxp[:, :, 1:-1, 1:-1], gw, gb


def _operands(case):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((case.n, case.c, case.hw, case.hw), dtype=np.float32)
    w = (rng.standard_normal((case.o, case.c, 3, 3), dtype=np.float32)
         / np.float32(np.sqrt(case.c * 9)))
    b = rng.standard_normal(case.o, dtype=np.float32)
    g = rng.standard_normal((case.n, case.o, case.hw, case.hw), dtype=np.float32)
    return x, w, b, g


def _step(lib, torch, case):
    """A callable running one forward + backward round in lib."""
    x, w, b, g = _operands(case)
    if lib == "NumPy":
        conv = NumpyConv(x, w, b)
        return lambda: (conv.forward(), conv.backward(g))
    if lib == "tinyfin":
        X, W, B = (tinyfin.tensor(a, requires_grad=True) for a in (x, w, b))
        G = tinyfin.tensor(g)

        def run():
            X.grad = W.grad = B.grad = None
            F.conv2d(X, W, B, padding=1).backward(G)
        return run
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    G = torch.tensor(g)

    def run():
        X.grad = W.grad = B.grad = None
        torch.nn.functional.conv2d(X, W, B, padding=1).backward(G)
    return run


@pytest.mark.parametrize("threads", (1, 2), indirect=True, ids=lambda n: f"{n}thr")
@pytest.mark.parametrize("lib", tables.LIBS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.split(":")[0].replace(" ", ""))
@pytest.mark.benchmark(max_time=1.0, min_rounds=3)
def test_conv2d_forward_backward(benchmark, case, lib, threads, request):
    torch = request.getfixturevalue("torch_or_skip") if lib == "PyTorch" else None
    run = _step(lib, torch, case)
    run()  # first touch of every buffer, untimed
    benchmark.group = f"conv2d fwd+bwd float32 {case.name}, {threads} thread(s)"
    if case.n * case.c * case.hw * case.hw * case.o > 10 ** 8:
        benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    else:
        benchmark(run)
    tables.record(benchmark, "conv2d", (str(threads), case.name), lib)
