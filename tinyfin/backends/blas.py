"""Loading the BLAS backend's OpenBLAS: the library of the PyPI package
scipy-openblas32 (a dependency of tinyfin), opened by the C core with dlopen
at import. The environment variable TINYFIN_OPENBLAS names another build of
the same library (scipy-openblas32's symbols, prefixed scipy_). When it
cannot be loaded, tinyfin runs every op on the cpu kernels and
`tinyfin.backends.available()["blas"]` says why."""
from __future__ import annotations

import os
from typing import Optional

from .. import _C

try:
    import scipy_openblas32
except ImportError:  # tinyfin still works, on the cpu kernels
    scipy_openblas32 = None


def library_path() -> Optional[str]:
    """The OpenBLAS to load: TINYFIN_OPENBLAS, else the scipy-openblas32
    package's; None when neither exists."""
    asked = os.environ.get("TINYFIN_OPENBLAS")
    if asked:
        return asked
    if scipy_openblas32 is None:
        return None
    return os.path.join(scipy_openblas32.get_lib_dir(),
                        f"lib{scipy_openblas32.get_library()}.so")


def load() -> Optional[str]:
    """Loads OpenBLAS into the core; None on success, else why not."""
    path = library_path()
    if path is None:
        return ("the package scipy-openblas32 is not installed "
                "(pip install scipy-openblas32)")
    if _C.tf_blas_load(path.encode()) != 0:
        return _C.tf_blas_status().decode()
    return None


def status() -> str:
    """'loaded: <OpenBLAS's configuration>' or 'not loaded: <why>'."""
    return _C.tf_blas_status().decode()
