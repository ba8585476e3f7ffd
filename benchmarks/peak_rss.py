"""Peak resident memory of the MLP training run (784-256-128-10, batch 128,
nn modules + F.cross_entropy + optim.SGD(momentum=0.9), 200 steps), tinyfin
next to PyTorch (a plain script, not a pytest benchmark):

    python benchmarks/peak_rss.py [STEPS]

Each library runs in a fresh interpreter, so the figure is that process's
whole peak (ru_maxrss: the interpreter, NumPy, the library and the training
run's tensors), on the suite's thread count. PyTorch's row is left out when
it is not installed.
"""
from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = r"""
import resource, sys
sys.path[:0] = [{root!r}, {here!r}]
import bench_threads
bench_threads.pin_all(2)
import importlib
import mlp_workload as w
lib = importlib.import_module({lib!r})
model = w.make_model(lib)
opt = w.make_optimizer(lib, model)
x, y = w.make_batch(lib)
for _ in range({steps}):
    loss = w.optim_step(lib, model, opt, x, y)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, float(loss))
"""


def peak_mib(lib: str, steps: int):
    """(peak RSS in MiB, last loss) of a fresh process training with lib,
    or None when lib is not installed."""
    code = CHILD.format(root=ROOT, here=HERE, lib=lib, steps=steps)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        if "No module named" in run.stderr:
            return None
        raise RuntimeError(f"peak_rss: the {lib} run failed:\n{run.stderr}")
    mib, loss = run.stdout.split()
    return float(mib), float(loss)


def main(argv):
    steps = int(argv[1]) if len(argv) > 1 else 200
    rows = {lib: peak_mib(lib, steps) for lib in ("tinyfin", "torch")}
    print(f"peak RSS of {steps} MLP training steps (784-256-128-10, batch 128, float32)")
    print(f"{'library':<10} {'peak MiB':>9} {'last loss':>10}")
    for lib, row in rows.items():
        print(f"{lib:<10} {'not installed':>9}" if row is None else f"{lib:<10} {row[0]:9.1f} {row[1]:10.5f}")
    if all(rows.values()):
        print(f"tinyfin / torch: {rows['tinyfin'][0] / rows['torch'][0]:.2f}")


if __name__ == "__main__":
    main(sys.argv)
