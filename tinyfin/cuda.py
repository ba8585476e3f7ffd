"""tinyfin.cuda: the CUDA device, with PyTorch's names.

Tensors on "cuda" live in GPU memory, through libtinyfin_cuda.so (built by
nvcc when tinyfin is installed where nvcc is found, or by `make cuda`) and
loaded at run time: a machine without it, without a driver or without a
GPU imports tinyfin as before, and is_available() is False with the reason
in why_unavailable().

Tensor.pin_memory() copies a cpu tensor into page-locked host memory
(also DataLoader(pin_memory=True)); from there .cuda(non_blocking=True)
queues the copy and returns at once. Copies to the host always complete.

Device memory comes from a caching allocator: freed blocks are kept for the
next tensor of the same size (a training loop stops calling cudaMalloc
after its first step); memory_allocated() counts bytes in live tensors,
memory_reserved() adds the kept blocks, empty_cache() returns those.

What runs there: creating tensors (device= on the creation
functions, .to("cuda"), .cuda()), copying back (.cpu()), fill, copies and
dtype conversions, the unary and the binary ops, where, the reductions,
softmax/log_softmax, matmul (cuBLAS when nvidia-cublas is installed, see
tinyfin.backends.cuda), arange/linspace/eye/tril/pad, random numbers (the
cpu's Philox stream: manual_seed gives the same bits on both devices),
indexing (gather, index_select, scatter_add, tensor indices and
index_put_; the index values are checked on the host), convolution,
cross_entropy and binary_cross_entropy_with_logits,
batch/group/layer normalization, pooling (max, average,
adaptive), the LSTM cell, nonzero and bool masks, and the optimizers'
steps: every op (tinyfin.backends.cpu_only("cuda") is empty; an op a
backend cannot run raises a RuntimeError naming the op and why).
"""
from __future__ import annotations

import ctypes
from typing import Optional

from . import _C, _device
from ._generator import manual_seed as _manual_seed


def why_unavailable() -> Optional[str]:
    """None when CUDA can run here, else why not (no library built, no
    driver, no device, a forked process)."""
    return _device.why_unavailable("cuda")


def is_available() -> bool:
    return why_unavailable() is None


def device_count() -> int:
    return _C.tf_cuda_device_count()


def synchronize(device=None) -> None:
    """Waits for every kernel and copy issued so far; a kernel that failed
    asynchronously is reported here as a RuntimeError."""
    _C.check(_C.tf_cuda_synchronize())


def _stats() -> tuple:
    v = [ctypes.c_int64() for _ in range(3)]
    _C.tf_cuda_memory_stats(*[ctypes.byref(x) for x in v])
    return tuple(x.value for x in v)


def memory_allocated(device=None) -> int:
    """Bytes of device memory in live tensors (blocks rounded up as
    allocated: to 512 B, from 1 MiB up to whole MiB)."""
    return _stats()[0]


def max_memory_allocated(device=None) -> int:
    """The peak of memory_allocated() since the start or the last
    reset_peak_memory_stats()."""
    return _stats()[1]


def memory_reserved(device=None) -> int:
    """Bytes held from the device: live tensors plus blocks kept for reuse."""
    return _stats()[2]


def reset_peak_memory_stats(device=None) -> None:
    _C.tf_cuda_reset_peak_memory_stats()


def empty_cache() -> None:
    """Returns the blocks kept for reuse to the device."""
    _C.tf_cuda_empty_cache()


def manual_seed(seed: int) -> None:
    """Seeds tinyfin's generator: one Philox stream for every device (the
    same as tinyfin.manual_seed)."""
    _manual_seed(seed)


manual_seed_all = manual_seed

__all__ = ["why_unavailable", "is_available", "device_count", "synchronize",
           "memory_allocated", "max_memory_allocated", "memory_reserved",
           "reset_peak_memory_stats", "empty_cache", "manual_seed", "manual_seed_all"]
