"""A first look at tinyfin: tensors, broadcasting, a reduction and a matrix
product, each printed and checked against NumPy.

Run it with `python examples/quickstart.py`; it exits with status 1 if any
result disagrees with NumPy.
"""
import sys

import numpy as np

import tinyfin as tf

failures = 0


def check(name: str, result, expected, rtol: float = 1e-6) -> None:
    """Print a result and compare it with NumPy's answer."""
    global failures
    got = result.numpy() if isinstance(result, tf.Tensor) else np.asarray(result)
    ok = got.shape == np.shape(expected) and np.allclose(got, expected, rtol=rtol)
    print(f"{name}:\n{result}\n")
    if not ok:
        failures += 1
        print(f"  MISMATCH: NumPy gives\n{np.asarray(expected)}\n", file=sys.stderr)


# Tensors from Python data; float data becomes float32, as in PyTorch.
x = tf.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
w = tf.tensor([0.5, -1.0, 2.0])
xn, wn = x.numpy(), w.numpy()

# Elementwise ops broadcast: (2, 3) * (3,) -> (2, 3).
check("x * w + 1", x * w + 1, xn * wn + 1)
check("exp(-x)", tf.exp(-x), np.exp(-xn))

# Views share memory with their base: a transpose copies nothing.
check("x.T", x.T, xn.T)

# Reductions take PyTorch's dim/keepdim.
check("x.sum(dim=1)", x.sum(dim=1), xn.sum(axis=1))
check("x.mean()", x.mean(), xn.mean())

# Matrix product: (2, 3) @ (3, 2) -> (2, 2).
check("x @ x.T", x @ x.T, xn @ xn.T)

if failures:
    print(f"quickstart: {failures} result(s) disagree with NumPy", file=sys.stderr)
    sys.exit(1)
print("quickstart: every result matches NumPy")
