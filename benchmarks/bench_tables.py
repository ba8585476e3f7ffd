"""The summary tables `make bench` prints at its end, in Markdown so a note
can quote them as they are.

A benchmark measures with pytest-benchmark as usual, then files its result
with `record(benchmark, table, key, lib, work)`; conftest.py prints every
table that got a row. A cell holds the fastest round of its benchmark, and
with `--passes N` the fastest over the N passes: on a shared machine other
jobs only ever add time, so the fastest round is the closest to the code's
own cost. (On 2 cores, one busy neighbour is enough to make every call of
a 2-thread kernel wait for its second thread, for a whole benchmark.)
So each cell also notes how much CPU the machine's other processes took
while it was measured, and the table stars the cells measured while they
left fewer CPUs free than the table's code runs on (less SLACK).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

LIBS = ("tinyfin", "NumPy", "PyTorch")
THREADS = 2  # every library's thread count in the suite (conftest.py sets it)
SLACK = 0.25  # CPUs the other processes may take from what a cell needs unstarred


@dataclass
class Table:
    title: str
    keys: Tuple[str, ...]                   # the columns that name a row
    unit: str                               # what a value is
    value: Callable[[float, float], float]  # (seconds per call, work) -> value
    libs: Tuple[str, ...]
    ratios: Tuple[Tuple[str, str], ...]
    note: str
    threads: int  # the CPUs the measured code runs on
    seconds: Dict[tuple, Dict[str, float]] = field(default_factory=dict)  # key -> lib -> s
    others: Dict[tuple, Dict[str, Optional[float]]] = field(default_factory=dict)  # CPUs
    work: Dict[tuple, float] = field(default_factory=dict)


TABLES = {
    "matmul": Table(
        "matmul throughput", ("dtype", "shape"), "GFLOP/s",
        lambda s, flops: flops / s / 1e9, LIBS,
        (("tinyfin", "NumPy"), ("tinyfin", "PyTorch")),
        "GFLOP/s = 2mnk / fastest call. Ratios are of GFLOP/s: below 1, tinyfin is slower.",
        THREADS),
    "overhead": Table(
        "per-call overhead, 16x16 float32", ("op",), "us/call",
        lambda s, _: s * 1e6, LIBS,
        (("tinyfin", "PyTorch"), ("tinyfin", "NumPy")),
        "Microseconds per call (fastest round). Ratios are of times: above 1, tinyfin is slower.",
        1),  # too small to be split over threads
    "mlp": Table(
        "MLP training step", ("workload",), "steps/s",
        lambda s, _: 1 / s, ("tinyfin", "PyTorch"),
        (("tinyfin", "PyTorch"),),
        "Steps per second (fastest step). The ratio is of steps/s: below 1, tinyfin is slower.",
        THREADS),
    # ---- losses (test_loss_bench.py) ----
    "loss": Table(
        "loss forward + backward", ("loss", "shape", "dtype"), "us/call",
        lambda s, _: s * 1e6, ("tinyfin", "PyTorch"),
        (("tinyfin", "PyTorch"),),
        "Microseconds per forward + backward (fastest round). The ratio is of times: above 1, "
        "tinyfin is slower.",
        THREADS),
    "cnn": Table(
        "CNN training step (cnn_workload.py), batch 64, float32", ("threads",), "steps/s",
        lambda s, _: 1 / s, LIBS,
        (("tinyfin", "PyTorch"), ("tinyfin", "NumPy")),
        "Steps per second (fastest step) on the row's thread count. Ratios are of steps/s: "
        "below 1, tinyfin is slower.",
        2),  # the 1-thread row runs on fewer CPUs than the table's 2
    # ---- convolution (conv) ----
    "conv2d": Table(
        "conv2d forward + backward, float32", ("threads", "shape"), "ms",
        lambda s, _: s * 1e3, LIBS,
        (("PyTorch", "tinyfin"), ("NumPy", "tinyfin")),
        "Milliseconds per forward + backward (fastest round). Ratios are of times, the "
        "peer's over tinyfin's: above 1, tinyfin is faster.",
        2),  # the 1-thread rows run on fewer CPUs than the table's 2
    # ---- the GPU (test_cuda_bench.py): one device, the host's threads do not matter ----
    "cuda_bandwidth": Table(
        "GPU elementwise bandwidth, float32", ("op", "elements"), "GB/s",
        lambda s, nbytes: nbytes / s / 1e9, ("tinyfin", "PyTorch"),
        (("tinyfin", "PyTorch"),),
        "GB/s = bytes read and written / fastest call (copy: a clone, the device's copy "
        "bandwidth). The ratio is of GB/s: below 1, tinyfin is slower.",
        1),
    "cuda_matmul": Table(
        "GPU matmul throughput, float32", ("n",), "GFLOP/s",
        lambda s, flops: flops / s / 1e9, ("tinyfin", "tinyfin tiled", "PyTorch"),
        (("tinyfin", "PyTorch"), ("tinyfin tiled", "PyTorch")),
        "GFLOP/s = 2n^3 / fastest call; tinyfin: cuBLAS when it loads, tinyfin tiled: "
        "its own kernel. Ratios are of GFLOP/s: below 1, tinyfin is slower.",
        1),
    "cuda_train": Table(
        "GPU training step, float32", ("workload", "batch"), "steps/s",
        lambda s, _: 1 / s, ("tinyfin", "PyTorch"),
        (("tinyfin", "PyTorch"),),
        "Steps per second (fastest step; zero_grad, forward, cross_entropy, backward, "
        "SGD step, synchronize). The ratio is of steps/s: below 1, tinyfin is slower.",
        1),
}


def _cpu_now():
    """(wall clock, CPU-seconds the whole machine has been busy, CPU-seconds
    of this process), or None without /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    # are time the CPUs were not ours to take (steal: the hypervisor's)
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return time.monotonic(), busy, own.user + own.system


_window = None


def start_window() -> None:
    """Start counting the other processes' CPU time (conftest.py calls it
    before each benchmark)."""
    global _window
    _window = _cpu_now()


def _others_since_start() -> Optional[float]:
    """CPUs the other processes kept busy on average since start_window."""
    now = _cpu_now()
    if _window is None or now is None or now[0] <= _window[0]:
        return None
    wall, busy, own = (b - a for a, b in zip(_window, now))
    # clamped: the two clocks tick apart, which shows in short windows
    return min(max(0.0, (busy - own) / wall), float(os.cpu_count() or 1))


def record(benchmark, table: str, key: tuple, lib: str, work: float = 1.0) -> None:
    """File the benchmark's fastest round under table[key][lib], keeping the
    fastest of several passes. Does nothing when pytest-benchmark took no
    timings (--benchmark-disable)."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:
        return
    t, key, s = TABLES[table], tuple(key), stats.stats.min
    cell = t.seconds.setdefault(key, {})
    if lib not in cell or s < cell[lib]:
        cell[lib] = s
        t.others.setdefault(key, {})[lib] = _others_since_start()
    t.work[key] = work
    benchmark.extra_info[t.unit] = round(t.value(s, work), 3)


def _busy_limit(t: Table) -> float:
    """Above this many CPUs taken by others, t's code lacked CPUs."""
    return (os.cpu_count() or 1) - t.threads + SLACK


def _fmt(v: Optional[float], others: Optional[float], limit: float) -> str:
    if v is None:
        return "-"
    star = "*" if others is not None and others > limit else ""
    return (f"{v:#.3g}" if abs(v) < 99.95 else f"{v:.0f}") + star


def _ordered(rows: dict) -> list:
    """Rows sorted column by column, each column's values in the order they
    first appeared: the matmul table lists every float32 size, then float64,
    although the benchmarks ran the two dtypes of a size one after the other."""
    firsts = [{} for _ in next(iter(rows), ())]
    for key in rows:
        for seen, v in zip(firsts, key):
            seen.setdefault(v, len(seen))
    return sorted(rows, key=lambda key: [seen[v] for seen, v in zip(firsts, key)])


def render(t: Table) -> str:
    head = [*t.keys, *(f"{lib} {t.unit}" for lib in t.libs),
            *(f"{a}/{b}" for a, b in t.ratios)]
    lines = [f"### {t.title}", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(" --- " for _ in head) + "|"]
    worst, limit = 0.0, _busy_limit(t)
    for key in _ordered(t.seconds):
        vals = {lib: t.value(s, t.work[key]) for lib, s in t.seconds[key].items()}
        others = t.others.get(key, {})
        worst = max([worst, *(o for o in others.values() if o is not None)])
        ratios = [vals[a] / vals[b] if a in vals and b in vals else None for a, b in t.ratios]
        cells = [*key, *(_fmt(vals.get(lib), others.get(lib), limit) for lib in t.libs),
                 *("-" if r is None else f"{r:.2f}" for r in ratios)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [t.note]
    if worst > limit:
        notes.append(f"*: measured while other processes kept more than {limit:.2f} of the "
                     f"{os.cpu_count()} CPUs busy (up to {worst:.2f}), so likely too slow; "
                     f"rerun with --passes N or on a quieter machine.")
    return "\n".join([*lines, "", *notes, ""])


def render_all(header: str = "") -> str:
    parts = [render(t) for t in TABLES.values() if t.seconds]
    return "\n".join([header, *parts]) if parts else ""
