"""Builds the C core (native/) into tinyfin/libtinyfin.so, and the CUDA
library (native/src/cuda/runtime.cu) into tinyfin/libtinyfin_cuda.so where
nvcc is found (PATH, or $CUDA_HOME/bin); without nvcc one line says so and
tinyfin runs on the CPU.

The libraries are plain shared objects loaded at run time (ctypes, dlopen),
not Python extension modules, so they have the same names in every build
(pip install ., pip install -e ., make) and the core finds the CUDA one
beside itself.
"""
import glob
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The same flags as the Makefile's development build.
CFLAGS = ["-std=c11", "-O3", "-Wall", "-Wextra", "-Werror", "-fopenmp",
          "-fno-math-errno", "-ffp-contract=fast", "-fno-trapping-math", "-D_DEFAULT_SOURCE"]
# -ldl: the BLAS backend's dlopen (in libc from glibc 2.34, libdl before).
LDFLAGS = ["-fopenmp", "-lm", "-ldl"]
# The Makefile's NVCCFLAGS: Hopper code plus PTX for newer GPUs, no fused
# multiply-adds, the cpu's scalar headers on the include path.
NVCCFLAGS = ["-std=c++17", "-O3", "--fmad=false", "-Inative/src/cpu", "-Inative/include",
             "-diag-suppress", "1675", "-Xcompiler", "-fPIC,-Wall,-Wextra,-Werror",
             "-gencode", "arch=compute_90,code=sm_90",
             "-gencode", "arch=compute_90,code=compute_90"]
CUDA_SOURCES = [f"native/src/cuda/{name}.cu" for name in (
    "runtime", "reduce", "matmul", "creation", "index", "conv", "loss", "norm", "pool", "rnn",
    "optim")]


def find_nvcc():
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if cuda_home and os.path.exists(os.path.join(cuda_home, "bin", "nvcc")):
        return os.path.join(cuda_home, "bin", "nvcc")
    return shutil.which("nvcc")


class BuildSharedLibrary(build_ext):
    def get_ext_filename(self, ext_name):
        # "tinyfin.libtinyfin" -> tinyfin/libtinyfin.so, without the ABI tag.
        return os.path.join(*ext_name.split(".")) + ".so"

    def get_export_symbols(self, ext):
        return []  # no PyInit_ function: ctypes loads the library

    def run(self):
        super().run()
        nvcc = find_nvcc()
        if not nvcc:
            print("tinyfin: nvcc not found, so the CUDA backend is not built "
                  "(tinyfin runs on the CPU; install the CUDA toolkit and reinstall for it)")
            return
        # beside libtinyfin.so, wherever this build puts it (in place for -e)
        folder = os.path.dirname(self.get_ext_fullpath("tinyfin.libtinyfin"))
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, "libtinyfin_cuda.so")
        # a compile error fails the install: a broken CUDA build never ships
        subprocess.run([nvcc, *NVCCFLAGS, "-shared", "-o", target,
                        *CUDA_SOURCES, "-ldl"], check=True)


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
