"""Check `paths`: the kernels' blocked, tiled and parallel code paths, which
small samples never reach. Each entry's `large` samples are sized for them:
matmul with n and k above the packing panels (KC = 256, NC = 512) and sizes
that are not multiples of the 4 x 32 register tile or of the 64-row thread
blocks (matmul.c); reductions whose outputs span several 4096-element blocks
(256 in a tile of outer outputs), with partial tiles and reduced dims that
are not adjacent (reduce.c); elementwise ops, copies and gathers above
TF_PARALLEL_GRAIN = 32768 elements, as one long strided row (split into
chunks) and as a non-mergeable 3-D loop (split into blocks of rows), iter.c
and take.h.

Every sample runs with 1 thread and with 2, and the bits must be what the
backend promises (verify/backends.py PROMISES): on a backend whose results
do not depend on the thread count (cpu: the split depends only on the
shape) the two must be bitwise identical; on one that promises only
repeatable bits at a fixed thread count (blas), each thread count runs
twice and must repeat its bits. Because a path that is wrong the same way
every time passes that test, the 1-thread result must also match the NumPy
float64 reference within the entry's error bound (`error_bound`,
verify/bounds.py: derived from the kernel's arithmetic), else within its
forward tolerance. Integer and bool results are exact.
"""
from __future__ import annotations

import contextlib

import numpy as np

import tinyfin as tf

from ..backends import promise
from ..opdb import OpInfo
from .common import Result
from .forward import compare_all, reference, sample_inputs
from .parity import run_on

THREADS = (1, 2)


@contextlib.contextmanager
def num_threads(n: int):
    before = tf.get_num_threads()
    tf.set_num_threads(n)
    try:
        yield
    finally:
        tf.set_num_threads(before)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def check_paths(op: OpInfo, dtype: str, backend: str, rng: np.random.Generator) -> Result:
    res = Result("paths", op.id, dtype, backend)
    if op.large is None:
        res.status = "skip"
        return res
    across = promise(backend).across_threads
    res.extra["promise"] = promise(backend).determinism
    for sample in op.large(dtype, rng):
        res.n += 1
        where = f"{op.id} {dtype} [{sample.desc}]"
        try:
            vals, tensors = sample_inputs(op, sample)
            runs = []
            for n in THREADS:
                with num_threads(n):
                    runs.append(run_on(backend, op.call, tensors, *sample.args, **sample.kwargs))
                    if not across:
                        again = run_on(backend, op.call, tensors, *sample.args, **sample.kwargs)
                        for i, (one, two) in enumerate(zip(runs[-1], again)):
                            if not _same_bits(one, two):
                                res.fail(f"{where}: output {i} differs between two runs "
                                         f"on {n} thread(s)")
            for i, (one, two) in enumerate(zip(*runs)):
                if across and not _same_bits(one, two):
                    res.fail(f"{where}: output {i} differs between 1 and 2 threads")
            allowed = None if op.error_bound is None else \
                op.error_bound(dtype, *vals, *sample.args, **sample.kwargs)
            compare_all(res, op, dtype, sample, runs[0], reference(op, vals, sample), [],
                        allowed)
        except Exception as e:  # noqa: BLE001  (a crash fails this sample only)
            res.fail(f"{where}: raised {type(e).__name__}: {e}")
    return res
