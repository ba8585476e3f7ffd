"""Python data (numbers and nested sequences of them) as a NumPy array that
holds every value exactly, for tinyfin.tensor().

PyTorch's rules: the shape comes from the nesting and every sequence at one
depth must have the same length (the error names the dim and both lengths);
the default dtype is bool when every value is a bool, int64 when they are
ints (or ints and bools), else float32. Values are converted once, from
their exact Python value, to the requested dtype: a float64 tensor of 0.1
is the double 0.1, never a float32 widened; an int above 2^53 becomes a
float32 in one rounding, not through float64 first.

`carrier` returns the exact array; the final conversion to the tensor's
dtype is the C core's (tf_to_dtype), so tensor(), full(), fill_ and .to()
share one rule for float -> int64 (truncate, saturate, NaN -> 0) and for
anything -> bool (nonzero is True).
"""
from __future__ import annotations

import numbers
from typing import Callable, List, Tuple

import numpy as np

from ._args import INT64_MAX, INT64_MIN

_EXACT_IN_DOUBLE = 2 ** 53  # every int of at most this magnitude is a double


def _is_sequence(x) -> bool:
    if isinstance(x, (list, tuple)):
        return True
    return getattr(x, "ndim", 0) >= 1 and hasattr(x, "tolist")  # Tensor, array


def _leaf(op: str, x) -> Tuple[object, str]:
    """One leaf as a Python number (a 0-d Tensor or array gives its item)
    and its kind: 'bool', 'int' or 'float'."""
    if hasattr(x, "item") and not isinstance(x, (int, float)):
        x = x.item()
    if isinstance(x, (bool, np.bool_)):
        return bool(x), "bool"
    if isinstance(x, numbers.Integral):
        return int(x), "int"
    if isinstance(x, numbers.Real):
        return float(x), "float"
    raise TypeError(f"{op}: could not infer a dtype from an element of type "
                    f"{type(x).__name__}; expected numbers, bools, or nested "
                    "sequences of them")


def flatten(op: str, data) -> Tuple[tuple, List, str]:
    """(shape, leaves in row-major order, kind) of nested data; kind is the
    widest leaf kind ('bool' < 'int' < 'float'). Ragged data raises as in
    PyTorch: ValueError naming the dim and the lengths."""
    shape = []
    probe = data
    while _is_sequence(probe):
        shape.append(len(probe))
        if not len(probe):
            break
        probe = probe[0]
    leaves: List = []
    kinds = set()

    def walk(x, d):
        if d == len(shape):
            if _is_sequence(x):
                raise ValueError(f"{op}: expected a number at dim {d} (as the "
                                 f"first element's nesting has {len(shape)} "
                                 f"dims), got a sequence of length {len(x)}")
            value, kind = _leaf(op, x)
            kinds.add(kind)
            leaves.append(value)
            return
        if not _is_sequence(x):
            raise TypeError(f"{op}: expected a sequence at dim {d}, got "
                            f"{type(x).__name__} {x!r}")
        if len(x) != shape[d]:
            raise ValueError(f"{op}: expected sequence of length {shape[d]} "
                             f"at dim {d} (got {len(x)})")
        for item in (x.tolist() if hasattr(x, "tolist") and not
                     isinstance(x, (list, tuple)) else x):
            walk(item, d + 1)

    walk(data, 0)
    kind = "float" if "float" in kinds else "int" if "int" in kinds else \
        "bool" if kinds else "float"  # empty data is float, as in PyTorch
    return tuple(shape), leaves, kind


def int_to_float32(v: int) -> float:
    """The float32 nearest the int v (ties to even), as an exact Python
    float: rounded once from v itself, where float(v) would round first to
    53 bits and then again to 24."""
    m = abs(v)
    shift = m.bit_length() - 24
    if shift > 0:
        q, r = divmod(m, 1 << shift)
        half = 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
        m = q << shift
    if m > (2 ** 24 - 1) << 104:  # beyond float32's largest finite value
        return float("inf") if v > 0 else float("-inf")
    return float(m) if v >= 0 else -float(m)


def _check_int64(op: str, v: int) -> int:
    if not INT64_MIN <= v <= INT64_MAX:
        raise OverflowError(f"{op}: the integer {v} does not fit in int64; "
                            "pass dtype=tinyfin.float32 or float64 for a "
                            "float tensor")
    return v


def _as_double(op: str, v) -> float:
    try:
        return float(v)
    except OverflowError:
        raise OverflowError(f"{op}: the integer {v} is too large for any "
                            "float dtype") from None


def carrier(op: str, leaves: List, kind: str, target: str,
            floats_to_int64: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The leaves as a flat bool, int64 or float64 array from which the C
    core's conversion gives the target dtype ('float32', 'float64', 'int64'
    or 'bool') exactly as if each value had been converted on its own.
    `floats_to_int64` is that conversion for float64 values (the core's)."""
    if kind == "bool":
        return np.array(leaves, dtype=np.bool_)
    if kind == "int" and target in ("int64", "bool"):
        return np.array([_check_int64(op, v) for v in leaves]
                        if target == "int64" else [v != 0 for v in leaves],
                        dtype=np.int64 if target == "int64" else np.bool_)
    if target == "int64":  # ints stay exact, floats take the core's rule
        is_float = np.array([isinstance(v, float) for v in leaves], dtype=bool)
        out = np.zeros(len(leaves), dtype=np.int64)
        out[~is_float] = [_check_int64(op, v) for v, f in zip(leaves, is_float)
                          if not f]
        out[is_float] = floats_to_int64(
            np.array([v for v, f in zip(leaves, is_float) if f], dtype=np.float64))
        return out
    if target == "float32":
        # A float is a double, which rounds to float32 once; so does an int
        # that is exact in double. Larger ints are rounded here, exactly.
        leaves = [int_to_float32(v) if type(v) is int and
                  abs(v) > _EXACT_IN_DOUBLE else v for v in leaves]
    return np.array([_as_double(op, v) for v in leaves], dtype=np.float64)
