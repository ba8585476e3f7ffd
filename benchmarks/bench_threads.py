"""Give tinyfin, NumPy's BLAS and PyTorch the same thread count, so a ratio
compares kernels rather than core counts.

NumPy has no thread API of its own: its OpenBLAS reads OPENBLAS_NUM_THREADS
once, when it loads, and afterwards only answers its own C functions. So we
set the variable (for a process that has not imported NumPy yet), read the
count back through OpenBLAS's getter (ctypes, as threadpoolctl does, without
depending on it) and call its setter only when the count is still another.
tinyfin and PyTorch are set through their own set_num_threads.
"""
from __future__ import annotations

import ctypes
import importlib
import os
import sys
from typing import Optional

# OpenBLAS's entry points under the names its builds export: NumPy's wheels
# carry scipy-openblas (64-bit ints, symbol suffix 64_), distributions plain.
_OPENBLAS_NAMES = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                   ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                   ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
                   ("openblas_set_num_threads", "openblas_get_num_threads"))


def _loaded_openblas() -> list:
    """Paths of the OpenBLAS libraries mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            return sorted({line.split()[-1] for line in maps
                           if "openblas" in line.lower() and "/" in line})
    except OSError:  # not Linux: the environment variable is all we have
        return []


def pin_numpy(n: int) -> Optional[int]:
    """Make NumPy's OpenBLAS use n threads; return the count it reports, or
    None when no OpenBLAS is found (another BLAS: then only the environment
    variable set by pin_all, before NumPy's import, applies)."""
    importlib.import_module("numpy")  # loads the BLAS, so /proc/self/maps shows it
    for path in _loaded_openblas():
        lib = ctypes.CDLL(path)
        for set_name, get_name in _OPENBLAS_NAMES:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                if getattr(lib, get_name)() != n:
                    getattr(lib, set_name)(ctypes.c_int(n))
                return int(getattr(lib, get_name)())
    return None


def pin_all(n: int) -> dict:
    """n threads in every library present; returns what each one reports
    (None: unknown, a library that is missing is left out)."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
    import tinyfin
    tinyfin.set_num_threads(n)
    counts = {"tinyfin": tinyfin.get_num_threads(), "NumPy": pin_numpy(n)}
    try:
        import torch
    except ImportError:  # optional peer
        return counts
    torch.set_num_threads(n)
    counts["PyTorch"] = torch.get_num_threads()
    return counts
