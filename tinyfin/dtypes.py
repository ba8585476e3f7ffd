"""The dtypes tinyfin tensors hold: float32, float64, int64 and bool.

Each is a singleton `dtype` object with PyTorch's name (`tinyfin.float32`),
the C core's code and the matching NumPy dtype.
"""
from __future__ import annotations

import numpy as np


class dtype:
    __slots__ = ("name", "code", "itemsize", "numpy", "is_floating_point")

    def __init__(self, name: str, code: int, numpy_dtype) -> None:
        self.name = name
        self.code = code
        self.numpy = np.dtype(numpy_dtype)
        self.itemsize = self.numpy.itemsize
        self.is_floating_point = self.numpy.kind == "f"

    def __repr__(self) -> str:
        return f"tinyfin.{self.name}"

    def __reduce__(self):  # pickled by name, unpickled to the singleton
        return (_by_name, (self.name,))


float32 = dtype("float32", 0, np.float32)
float64 = dtype("float64", 1, np.float64)
int64 = dtype("int64", 2, np.int64)
bool_ = dtype("bool", 3, np.bool_)
# PyTorch's aliases
float = float32
double = float64
long = int64

ALL = (float32, float64, int64, bool_)
BY_CODE = {d.code: d for d in ALL}
BY_NUMPY = {d.numpy: d for d in ALL}
FLOATING = (float32, float64)


def _by_name(name: str) -> dtype:
    return {d.name: d for d in ALL}[name]


def from_numpy(np_dtype, op: str = "tensor") -> dtype:
    """The tinyfin dtype for a NumPy dtype; smaller ints and floats widen.
    `op` names the calling op in the error."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype in BY_NUMPY:
        return BY_NUMPY[np_dtype]
    if np_dtype.kind in "iu":
        return int64
    if np_dtype.kind == "f" and np_dtype.itemsize < 4:
        return float32
    raise TypeError(f"{op}: NumPy dtype {np_dtype} is not supported; "
                    "expected float32, float64, an integer type or bool")


def get(value, op: str = "") -> dtype:
    """Accept a tinyfin dtype, the NumPy dtype of one or a name ('float32');
    `op` names the calling op in the error."""
    if isinstance(value, dtype):
        return value
    if isinstance(value, str):
        try:
            return _by_name({"float": "float32", "double": "float64",
                             "long": "int64"}.get(value, value))
        except KeyError:
            pass
    else:
        # a requested dtype is taken exactly: float16 or int32 asked for is
        # not silently widened (data passed to tensor() is, by from_numpy)
        try:
            return BY_NUMPY[np.dtype(value)]
        except (TypeError, KeyError):
            pass
    raise TypeError(f"{op + ': ' if op else ''}unknown dtype {value!r}; "
                    "expected one of tinyfin.float32, float64, int64, bool")
