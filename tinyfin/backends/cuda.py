"""The CUDA backend's matrix products: cuBLAS from the PyPI package
nvidia-cublas (`pip install tinyfin[cuda]`), loaded at run time at the first
float product on the device, or tinyfin's own tiled kernel where cuBLAS is
not installed, cannot read the operands' layout, or is switched off.

    tinyfin.backends.cuda.cublas_status()              # "loaded: <path>" or "not loaded: <why>"
    tinyfin.backends.cuda.preferred_blas_library("tiled")   # tinyfin's kernel only

The environment variable TINYFIN_CUBLAS_LIB names another libcublas.so.13.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Optional

from .. import _C

LIBRARIES = ("cublas", "tiled")


def cublas_path() -> Optional[str]:
    """TINYFIN_CUBLAS_LIB, else the nvidia-cublas wheel's libcublas.so.13;
    None when neither exists."""
    asked = os.environ.get("TINYFIN_CUBLAS_LIB")
    if asked:
        return asked
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "cu13", "lib", "libcublas.so.13")
        if os.path.exists(path):
            return path
    return None


def cublas_status() -> str:
    """'loaded: <path>' or 'not loaded: <why>' (loads cuBLAS if it has not
    been tried yet)."""
    return _C.tf_cuda_cublas_status().decode()


def preferred_blas_library(backend: Optional[str] = None) -> str:
    """The library float products on the device run on: "cublas" (when it
    loads and the layout suits it; the tiled kernel otherwise) or "tiled"
    (tinyfin's own kernel always). With an argument, sets it first."""
    if backend is not None:
        if backend not in LIBRARIES:
            raise ValueError(f"preferred_blas_library: expected one of {LIBRARIES}, "
                             f"got {backend!r}")
        _C.tf_cuda_set_cublas_enabled(backend == "cublas")
    return "cublas" if _C.tf_cuda_cublas_enabled() else "tiled"


_path = cublas_path()
if _path:
    _C.tf_cuda_set_cublas_path(_path.encode())

__all__ = ["cublas_path", "cublas_status", "preferred_blas_library"]
