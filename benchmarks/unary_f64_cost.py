"""Cost of every float64 unary math op, in ns per element, next to NumPy's
same function on the same array (a plain script, not a pytest benchmark):

    python benchmarks/unary_f64_cost.py [N] [--ops sigmoid,gelu]

One thread (tinyfin's kernels would otherwise split a 10^6 array over the
cores, NumPy's do not), N = 10^6 elements by default, inputs uniform over the
op's sample range in verify's database (the range the op is used in), best
of 7 runs in CPU time. For ops NumPy lacks, the NumPy column is the usual float64
composite (1 / (1 + exp(-x)) for sigmoid, ...), marked with a *, so the
ratio still says what the op costs next to what a NumPy user would write.
Compare ratios within one run; seconds vary with the machine's load.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

# this checkout's tinyfin and verify, not an installed copy
sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])
import tinyfin as tf  # noqa: E402
from verify import opdb  # noqa: E402

# NumPy composites for ops NumPy has no function of (marked * in the table)
_COMPOSITE = {
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "gelu": None,  # no NumPy erf/erfc
    "gelu(tanh)": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "softplus(beta=2,threshold=5)": lambda x: np.logaddexp(0.0, 2 * x) / 2,
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "leaky_relu": lambda x: np.where(x < 0, x * 0.01, x),
    "leaky_relu(0.2)": lambda x: np.where(x < 0, x * 0.2, x),
    "erf": None,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "reciprocal": lambda x: 1.0 / x,
    "square": np.square,
    "sign": np.sign,
    "relu": lambda x: np.maximum(x, 0.0),
    "neg": np.negative,
}


def _best(f, reps=7) -> float:
    """Best of reps runs, in CPU seconds of this process (one thread): on a
    machine shared with other jobs, the time spent descheduled is left out."""
    f()
    best = math.inf
    for _ in range(reps):
        t0 = time.process_time()
        f()
        best = min(best, time.process_time() - t0)
    return best


def rows(n: int, only=None):
    tf.set_num_threads(1)
    rng = np.random.default_rng(0)
    for op in opdb.all_ops():
        if op.mp is None or "float64" not in op.dtypes or (only and op.id not in only
                                                          and op.name not in only):
            continue
        lo, hi = op.sample_range
        x = rng.uniform(lo, hi, n)
        t = tf.from_numpy(x)
        ns = _best(lambda: op.call(t)) / n * 1e9
        np_f = _COMPOSITE.get(op.id, getattr(np, op.name, None)) if op.id in _COMPOSITE \
            else getattr(np, op.name, None)
        np_ns, mark = None, ""
        if np_f is not None:
            with np.errstate(all="ignore"):
                np_ns = _best(lambda: np_f(x)) / n * 1e9
            mark = "*" if op.id in _COMPOSITE else ""
        yield op.id, ns, np_ns, mark


def main(argv) -> None:
    n = int(argv[0]) if argv and argv[0].isdigit() else 1_000_000
    only = None
    if "--ops" in argv:
        only = set(argv[argv.index("--ops") + 1].split(","))
    print(f"{'op':30s} {'tinyfin ns/el':>14s} {'NumPy ns/el':>12s} {'ratio':>7s}")
    for name, ns, np_ns, mark in rows(n, only):
        r = f"{ns / np_ns:7.2f}" if np_ns else "      -"
        npc = f"{np_ns:11.2f}{mark or ' '}" if np_ns else f"{'-':>11s} "
        print(f"{name:30s} {ns:14.2f} {npc} {r}")


if __name__ == "__main__":
    main(sys.argv[1:])
