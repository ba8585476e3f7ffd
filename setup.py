"""Builds the C core (native/) into tinyfin/libtinyfin.so.

The library is a plain shared object loaded through ctypes, not a Python
extension module, so it is named libtinyfin.so in every build (pip install .,
pip install -e ., make) and tinyfin/_C.py finds it there.
"""
import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The same flags as the Makefile's development build.
CFLAGS = ["-std=c11", "-O3", "-Wall", "-Wextra", "-Werror", "-fopenmp",
          "-fno-math-errno", "-ffp-contract=fast", "-fno-trapping-math", "-D_DEFAULT_SOURCE"]
# -ldl: the BLAS backend's dlopen (in libc from glibc 2.34, libdl before).
LDFLAGS = ["-fopenmp", "-lm", "-ldl"]


class BuildSharedLibrary(build_ext):
    def get_ext_filename(self, ext_name):
        # "tinyfin.libtinyfin" -> tinyfin/libtinyfin.so, without the ABI tag.
        return os.path.join(*ext_name.split(".")) + ".so"

    def get_export_symbols(self, ext):
        return []  # no PyInit_ function: ctypes loads the library


sources = sorted(glob.glob("native/src/*/*.c"))

setup(
    ext_modules=[
        Extension(
            "tinyfin.libtinyfin",
            sources=sources,
            include_dirs=["native/include"],
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
        )
    ],
    cmdclass={"build_ext": BuildSharedLibrary},
)
