"""nn.init: in-place initialisers with torch.nn.init's names and formulas.

Each writes under no_grad and returns the tensor. Random ones draw from
tinyfin's counter-based generator (`generator=`, else the default one), so
a seed gives the same weights on every machine and thread count."""
from __future__ import annotations

import math
import warnings
from typing import Optional, Tuple

import numpy as np

from .. import creation as _creation
from .. import dtypes as _dtypes
from .._generator import Generator
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, require_tensor

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu
    (slope 0.01 when param is None), 3/4 for selu."""
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; valid: "
                     f"{', '.join(_LINEAR_LIKE + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> Tuple[int, int]:
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive
    field (the product of the dims after the first two)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer "
                         f"than 2 dimensions (got shape {tuple(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(op: str, tensor: Tensor, generator) -> bool:
    """False (after PyTorch's warning) for a zero-element tensor, which
    nothing is written to."""
    require_tensor(op, tensor, "tensor")
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be a tinyfin.Generator, got "
                        f"{type(generator).__name__}")
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return False
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a float32 or float64 tensor, got {tensor.dtype.name}")
    return True


def _write(tensor: Tensor, values: Tensor) -> Tensor:
    with no_grad():
        tensor.copy_(values)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Optional[Generator] = None) -> Tensor:
    if _check("uniform_", tensor, generator):
        _write(tensor, _creation.uniform_like(tensor, float(a), float(b), generator))
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Optional[Generator] = None) -> Tensor:
    if _check("normal_", tensor, generator):
        _write(tensor, _creation.normal_like(tensor, float(mean), float(std), generator))
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    require_tensor("constant_", tensor, "tensor")
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    require_tensor("eye_", tensor, "tensor")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _write(tensor, _creation.eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Optional[Generator] = None) -> Tensor:
    """U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Optional[Generator] = None) -> Tensor:
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Optional[Generator] = None) -> Tensor:
    """U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al., 2015)."""
    if tensor.numel() == 0:
        return uniform_(tensor, 0, 0, generator)  # the warning and nothing else
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Optional[Generator] = None) -> Tensor:
    """N(0, std^2), std = gain / sqrt(fan)."""
    if tensor.numel() == 0:
        return normal_(tensor, 0, 0, generator)
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


# Acklam's rational approximation of the standard normal quantile (relative
# error below 1.2e-9), refined below by one Halley step to full precision.
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)


def _poly(coeffs, x):
    out = np.zeros_like(x)
    for c in coeffs:
        out = out * x + c
    return out


def _normal_quantile(p: np.ndarray) -> np.ndarray:
    """Phi^-1(p) for p in (0, 1), float64. The upper half is -Phi^-1(1 - p)
    (1 - p is exact there), so both tails keep their relative accuracy."""
    upper = p > 0.5
    q = np.where(upper, 1 - p, p)
    tail = q < 0.02425
    x = np.empty_like(q)
    c = q[~tail] - 0.5
    r = c * c
    x[~tail] = c * _poly(_A, r) / (_poly(_B, r) * r + 1)
    t = np.sqrt(-2 * np.log(q[tail]))
    x[tail] = _poly(_C, t) / (_poly(_D, t) * t + 1)
    # one Halley step on Phi(x) - q; erfc keeps Phi(x) accurate in the tail
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    e = 0.5 * erfc(-x / math.sqrt(2)) - q
    u = e * math.sqrt(2 * math.pi) * np.exp(x * x / 2)
    x = x - u / (1 + x * u / 2)
    return np.where(upper, -x, x)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Optional[Generator] = None) -> Tensor:
    """N(mean, std^2) truncated to [a, b], by the inverse CDF of a uniform
    draw between Phi(alpha) and Phi(beta) (PyTorch's method); every value
    lies in [a, b]."""
    if not _check("trunc_normal_", tensor, generator):
        return tensor
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    cdf = lambda v: 0.5 * math.erfc(-(v - mean) / (std * math.sqrt(2)))  # noqa: E731
    lo, hi = cdf(a), cdf(b)
    u = _creation.uniform_like(_creation.empty(tensor.shape, dtype=_dtypes.float64),
                               0.0, 1.0, generator)
    p = lo + (hi - lo) * u.numpy()
    p = np.clip(p, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))
    values = np.clip(mean + std * _normal_quantile(p), a, b)
    return _write(tensor, _creation.tensor(values, dtype=tensor.dtype))


def orthogonal_(tensor: Tensor, gain: float = 1.0,
                generator: Optional[Generator] = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw
    (Saxe et al., 2013), signs fixed by R's diagonal; dims after the first
    are flattened."""
    require_tensor("orthogonal_", tensor, "tensor")
    if tensor.ndim < 2:
        raise ValueError("orthogonal_: only tensors with 2 or more dimensions are "
                         f"supported, got shape {tuple(tensor.shape)}")
    if not _check("orthogonal_", tensor, generator):
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _creation.normal_like(_creation.empty(rows, cols, dtype=_dtypes.float64),
                                 0.0, 1.0, generator).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, _creation.tensor(gain * q.reshape(tensor.shape), dtype=tensor.dtype))
