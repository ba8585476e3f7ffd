"""Shared fixtures of the benchmark suite: the peer libraries to compare with.

PyTorch is optional (`pip install torch==2.13.0`, a CPU build); its benchmarks
are skipped when it is missing. Compare rows of one run: ratios, not seconds,
are what carry between machines.
"""
import pytest

try:
    import torch
    torch.set_num_threads(2)
except ImportError:  # optional peer
    torch = None


@pytest.fixture
def torch_or_skip():
    if torch is None:
        pytest.skip("PyTorch is not installed (pip install torch==2.13.0)")
    return torch
