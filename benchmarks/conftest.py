"""Shared fixtures of the benchmark suite: the peer libraries to compare with,
all on the same thread count, the summary tables printed at the end, and
`--passes N`, which runs the whole suite N times over and keeps each
benchmark's fastest pass (`make bench BENCH_ARGS="--passes 3"`).

PyTorch is optional (`pip install torch==2.13.0`, a CPU build); its benchmarks
are skipped when it is missing. Compare rows of one run: ratios, not seconds,
are what carry between machines.
"""
import os
import platform

import pytest

from bench_threads import pin_all  # before NumPy's first import: see there
import bench_tables as tables

_COUNTS = pin_all(tables.THREADS)

try:
    import torch
except ImportError:  # optional peer
    torch = None


@pytest.fixture
def threads(request):
    """Every library (tinyfin, NumPy's BLAS, PyTorch when present) on the
    parametrized thread count for one benchmark, the suite's count again
    afterwards: parametrize with indirect=True."""
    pin_all(request.param)
    yield request.param
    pin_all(tables.THREADS)


@pytest.fixture
def torch_or_skip():
    if torch is None:
        pytest.skip("PyTorch is not installed (pip install torch==2.13.0)")
    return torch


def pytest_addoption(parser):
    parser.addoption("--passes", type=int, default=1,
                     help="run every benchmark N times, one whole pass after another, "
                          "and report the fastest pass (the machine's load varies)")


@pytest.fixture(autouse=True)
def bench_pass():
    """The pass a benchmark belongs to (parametrized by --passes); also
    where the count of the other processes' CPU time starts (bench_tables)."""
    tables.start_window()
    return 0


def pytest_generate_tests(metafunc):
    passes = metafunc.config.getoption("passes")
    if passes > 1:
        metafunc.parametrize("bench_pass", range(passes), ids=lambda i: f"pass{i + 1}")


def pytest_collection_modifyitems(items):
    # pass 1 of every benchmark, then pass 2, ...: the passes see different
    # moments of the machine's load, which is the point of repeating them.
    def pass_of(item):
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("bench_pass", 0) if callspec else 0
    items.sort(key=pass_of)  # stable: the suite's order within a pass


_LOAD_AT_START = os.getloadavg()[0]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    threads = ", ".join(f"{lib} {'?' if n is None else n}" for lib, n in _COUNTS.items())
    load = f"load average {_LOAD_AT_START:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    text = tables.render_all(f"## tinyfin benchmarks: {platform.machine()}, {_cpu_name()}, "
                             f"{os.cpu_count()} CPUs; threads: {threads}; "
                             f"best of {config.getoption('passes')} pass(es); {load}\n")
    if text:
        terminalreporter.write_sep("=", "summary tables (fastest round of each benchmark)")
        terminalreporter.write_line(text)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
