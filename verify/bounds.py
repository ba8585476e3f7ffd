"""Error bounds that the checks turn into tolerances (Higham, Accuracy and
Stability of Numerical Algorithms, 2nd ed., sec. 3.1 and 3.5): a sum or dot
product of n terms computed in any order in a format of unit roundoff u errs
by at most gamma_n sum |a_i||b_i|, gamma_n = n u / (1 - n u); a product of n
factors by gamma_(n-1) |product|.

The bounds below follow each kernel's documented arithmetic and include
the error of the NumPy float64 reference, so "got - reference" may use the
sum of both:
  matmul and its forms accumulate in the operands' dtype (matmul.c):
      gamma_k(u) (|A| |B|) elementwise, k the inner size;
  reductions gather float data as double and round the result once to the
      dtype (reduce.c): u_dtype |r| + gamma_n(2^-53) sum |x| for sums (a
      mean divides both by n), u_dtype |r| + gamma_n(2^-53) |r| for products.
      A bound in float32's own u would be ~10^9 times looser and miss a
      dropped block of a long sum.
"""
from __future__ import annotations

import math
from typing import Callable, List

import numpy as np

UNIT_ROUNDOFF = {"float32": 2.0 ** -24, "float64": 2.0 ** -53}
U64 = UNIT_ROUNDOFF["float64"]


def gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n u / (1 - n u) (inf once n u >= 1)."""
    nu = n * u
    return nu / (1.0 - nu) if nu < 1.0 else math.inf


def matmul_bound(dtype: str, a: np.ndarray, b: np.ndarray) -> List[np.ndarray]:
    """|A B computed in dtype - A B computed by NumPy in float64|, elementwise."""
    if dtype not in UNIT_ROUNDOFF:
        return [np.zeros(np.matmul(a, b).shape)]
    k = a.shape[-1]
    weight = np.matmul(np.abs(np.asarray(a, np.float64)), np.abs(np.asarray(b, np.float64)))
    return [(gamma(k, UNIT_ROUNDOFF[dtype]) + gamma(k, U64)) * np.asarray(weight)]


def _axis(x: np.ndarray, dim):
    if dim is None or dim == ():
        return tuple(range(x.ndim))
    return tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)


def reduction_bound(kind: str) -> Callable:
    """error_bound of a reduction computed in double (reduce.c): kind "sum",
    "mean" or "prod"; "exact" for the ones that only select or count."""
    def bound(dtype, x, dim=None, keepdim=False, **_):
        x = np.asarray(x, np.float64)
        ax = _axis(x, dim)
        n = int(np.prod([x.shape[d] for d in ax])) if x.ndim else 1
        if kind == "exact" or dtype not in UNIT_ROUNDOFF:
            return [np.zeros(np.sum(x, axis=ax, keepdims=keepdim).shape)] * 2
        u_out = UNIT_ROUNDOFF[dtype] if dtype == "float32" else 0.0
        if kind == "prod":
            r = np.abs(np.prod(x, axis=ax, keepdims=keepdim))
            return [u_out * r + 3 * gamma(n, U64) * r]
        s = np.sum(np.abs(x), axis=ax, keepdims=keepdim)
        r = np.abs(np.sum(x, axis=ax, keepdims=keepdim))
        if kind == "mean":
            return [(u_out * r + 3 * gamma(n + 1, U64) * s) / max(n, 1)]
        return [u_out * r + 3 * gamma(n, U64) * s]
    return bound
