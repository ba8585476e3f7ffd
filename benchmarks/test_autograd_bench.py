"""Autograd overhead: forward and backward through a chain of 100 small ops
(16 float32 elements), tinyfin side by side with PyTorch's eager autograd.
Divide the times by 100 for the cost per op."""
import numpy as np
import pytest

import tinyfin

N_OPS = 100
SIZE = 16


def _chain(x, tanh, mul_const):
    """100 ops: a repeating pattern of multiply, add, tanh and multiply."""
    y = x
    for i in range(N_OPS // 4):
        y = y * 0.5
        y = y + x
        y = tanh(y)
        y = mul_const(y)
    return y


def _tinyfin_setup():
    x = tinyfin.tensor(np.linspace(-1, 1, SIZE, dtype=np.float32), requires_grad=True)
    seed = tinyfin.ones(SIZE)
    return x, seed


@pytest.mark.benchmark(group="autograd chain: forward only")
def test_forward_tinyfin(benchmark):
    x, _ = _tinyfin_setup()
    benchmark(lambda: _chain(x, tinyfin.tanh, lambda t: t * 1.5))


@pytest.mark.benchmark(group="autograd chain: forward + backward")
def test_forward_backward_tinyfin(benchmark):
    x, seed = _tinyfin_setup()

    def step():
        x.grad = None
        _chain(x, tinyfin.tanh, lambda t: t * 1.5).backward(seed)
    benchmark(step)


@pytest.mark.benchmark(group="autograd chain: forward only")
def test_forward_torch(benchmark, torch_or_skip):
    torch = torch_or_skip
    x = torch.linspace(-1, 1, SIZE, requires_grad=True)
    benchmark(lambda: _chain(x, torch.tanh, lambda t: t * 1.5))


@pytest.mark.benchmark(group="autograd chain: forward + backward")
def test_forward_backward_torch(benchmark, torch_or_skip):
    torch = torch_or_skip
    x = torch.linspace(-1, 1, SIZE, requires_grad=True)
    seed = torch.ones(SIZE)

    def step():
        x.grad = None
        _chain(x, torch.tanh, lambda t: t * 1.5).backward(seed)
    benchmark(step)
