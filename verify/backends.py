"""What verify holds each backend to, in one place: the kernels it runs
itself and what it promises about the bits of its results.

A backend's `kernels` are the slots of its tf_kernels table
(native/src/backend.h) it fills, each with the dtypes it computes; on a
host-memory backend every other slot falls back to the cpu kernels. The
`dispatch` check (check_dispatch) requires tinyfin.backends.which() to agree
with this declaration, slot by slot and dtype by dtype, so a kernel that goes
missing from a table (or a fallback that lands elsewhere) fails instead of
quietly changing what "tested on blas" means.

An op runs a backend's own kernel when one of the slots its entry names
(OpInfo.kernels, else its c_ops) is the backend's for that dtype
(own_kernels); on a device backend, only when all of them are (a missing
one makes the op refuse the device's tensors). Only then do the checks run it on that backend; otherwise the
op x dtype is reported as "fallback" (the cpu kernels run), after a cheap
check that its results there are bitwise the cpu backend's.

Determinism: `across_threads` (bitwise the same for every thread count, and
so on every run) or only `on_repeat` (bitwise the same when a call is
repeated at a fixed thread count, possibly different between thread counts).
tests/test_determinism.py and checks/paths.py test exactly these claims.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import tinyfin as tf
from tinyfin import _C

REFERENCE = "cpu"
DTYPES = ("float32", "float64", "int64", "bool")


@dataclasses.dataclass(frozen=True)
class Promise:
    kernels: Optional[Dict[str, Tuple[str, ...]]]   # slot -> dtypes it runs; None: every slot
    across_threads: bool        # same bits for every thread count (and run)
    on_repeat: bool             # same bits when repeated at a fixed thread count
    determinism: str            # the promise in words, for the report and the tests


PROMISES: Dict[str, Promise] = {
    "cpu": Promise(None, across_threads=True, on_repeat=True,
                   determinism="bitwise the same for every thread count and every run"),
    "blas": Promise({"matmul": ("float32", "float64")}, across_threads=True, on_repeat=True,
                    determinism="bitwise the same for every thread count and every run "
                    "(OpenBLAS on one thread, tiles of C on a grid fixed by the shape, "
                    "native/src/blas/gemm.c)"),
    # device memory: every other slot is an error, not a fallback
    "cuda": Promise({"copy": DTYPES, "fill": DTYPES, "where": DTYPES, "eye": DTYPES,
                     "tril": DTYPES, "pad": DTYPES, "random": DTYPES,
                     "arange": DTYPES, "linspace": DTYPES,
                     **{op: DTYPES for op in ("gather", "scatter_add", "index_select",
                                              "index_get", "index_put", "nonzero")},
                     # one softmax, optim, loss, pool, conv, norm and LSTM kernel for
                     # every dtype (the entry points refuse integers)
                     "softmax": DTYPES, "optim": DTYPES, "matmul": ("float32", "float64", "int64"),
                     **{op: DTYPES for op in ("cross_entropy", "cross_entropy_backward",
                                              "bce_with_logits", "bce_with_logits_backward",
                                              "pool", "pool_backward", "conv", "normalize",
                                              "normalize_backward", "lstm_cell",
                                              "lstm_cell_backward")},
                     **{op: DTYPES for op in
                        list(_C.UNARY_OPS) + list(_C.BINARY_OPS) + list(_C.REDUCE_OPS)}},
                    across_threads=True, on_repeat=True,
                    determinism="bitwise the same on every run (elementwise: one thread per "
                    "element; reductions: blocks of the reduced elements merged in block "
                    "order, no atomics, native/src/cuda/reduce.cu; matmul: one thread per "
                    "tile of C summing k in order, or cuBLAS, native/src/cuda/matmul.cu; "
                    "creation and random: one thread per element or Philox block, "
                    "native/src/cuda/creation.cu; scatter_add and index_put_: one thread "
                    "per target adding its contributions in index order, no atomics, "
                    "native/src/cuda/index.cu; the fused losses: one thread per row or "
                    "element, summed in the cpu's blocks and order, native/src/cuda/loss.cu; "
                    "pooling's backward: one thread per input element adding its outputs in "
                    "row-major order, native/src/cuda/pool.cu; convolution: the matmul's "
                    "order, col2im one thread per input element summing its taps in order, "
                    "native/src/cuda/conv.cu; normalization: blocks of 4096 summed in order "
                    "and merged in block order, native/src/cuda/norm.cu)"),
}


def promise(backend: str) -> Promise:
    if backend not in PROMISES:
        raise KeyError(f"verify: backend {backend!r} declares nothing in verify/backends.py "
                       f"PROMISES (its kernels and its determinism); add it there")
    return PROMISES[backend]


def available() -> List[str]:
    """The backends this build can run here, in registry order."""
    return [name for name, why in tf.backends.available().items() if why is None]


# The slot names tinyfin.backends.which() takes (core/backend.c slot_of):
# matmul and the named slots of backend.h's TF_NAMED_SLOTS.
NAMED_SLOTS = ("matmul", *_C.NAMED_SLOTS)


def slots() -> List[str]:
    """Every kernel slot of a backend table."""
    return list(_C.UNARY_OPS) + list(_C.BINARY_OPS) + list(_C.REDUCE_OPS) + list(NAMED_SLOTS)


def which(slot: str, dtype: str, backend: str) -> Optional[str]:
    """The backend whose kernel runs `slot` for dtype while `backend` is
    chosen on this thread (fallbacks included)."""
    with tf.backends.use(backend):
        return tf.backends.which(slot, dtype, device_of(backend))


def running(*slots_: str, dtypes: Sequence[str] = ("float32", "float64")) -> List[str]:
    """The available backends that run a kernel of their own for one of the
    slots (in one of the dtypes): the reference always, and every backend
    that is more than a fallback there. Tests parametrize over these."""
    return [b for b in available() if b == REFERENCE
            or any(which(s, d, b) == b for s in slots_ for d in dtypes)]


def kernels_of(op) -> Tuple[str, ...]:
    """The kernel slots an entry's forward runs: OpInfo.kernels, else its C
    op names (unary:exp -> exp); () when it declares none (views, and ops
    whose kernels no backend but the cpu fills)."""
    if op.kernels:
        return tuple(op.kernels)
    return tuple(c.split(":", 1)[1] for c in op.c_ops)


def own_kernels(op, dtype: str, backend: str) -> Tuple[str, ...]:
    """The slots of op whose kernel for dtype is backend's own."""
    if backend == REFERENCE:
        return kernels_of(op) or ("(reference)",)
    if dtype not in DTYPES:     # "-": the op's own kernel for any of its dtypes
        return tuple(dict.fromkeys(k for d in op.dtypes for k in own_kernels(op, d, backend)))
    own = tuple(k for k in kernels_of(op) if which(k, dtype, backend) == backend)
    if device_of(backend) != device_of(REFERENCE) and len(own) < len(kernels_of(op)):
        return ()  # on a device, an op runs only where it has every kernel it needs
    return own


def fallback_reason(op, dtype: str, backend: str) -> str:
    ks = kernels_of(op)
    runs = ", ".join(f"{k} -> {which(k, dtype, backend)}" for k in ks) if ks else \
        "no kernel slot declared"
    own = promise(backend).kernels or {}
    has = "; ".join(f"{k} {'/'.join(d)}" for k, d in own.items()) or "none"
    return (f"fallback: cpu kernel ({backend} has no kernel of its own for {op.id} {dtype}: "
            f"{runs}; {backend}'s own kernels: {has})")


def to_backend(t, backend: str):
    """t on the device `backend` computes on (moved only when they differ;
    today every backend works on host memory)."""
    dev = device_of(backend)
    return t if t.device == dev else t.to(dev)


def device_of(backend: str) -> str:
    """The device whose tensors `backend` runs (tinyfin.backends keeps the
    map; it is what use() checks)."""
    names = tf.backends.names()
    if backend not in names:
        raise ValueError(f"verify: {backend!r} is not a backend of this build ({', '.join(names)}): "
                         f"run_on has no adapter for it")
    code = tf.backends._device_of(backend)
    return next(d for d in ("cpu", "cuda") if tf.device(d).code == code)


def check_dispatch(backend: str):
    """Each slot x dtype: tinyfin.backends.which() while `backend` is chosen
    names the backend its declaration says (its own slots) or the cpu (a
    host backend's fallback); on the reference, every slot is the cpu's."""
    from .checks.common import Result
    res = Result("dispatch", "dispatch", "-", backend)
    try:
        p = promise(backend)
    except KeyError as e:
        res.fail(str(e))
        return res
    own = p.kernels or {}
    try:
        host = device_of(backend) == "cpu"
    except Exception as e:  # noqa: BLE001
        res.fail(f"{backend}: {type(e).__name__}: {e}")
        return res
    for slot in slots():
        for dt in DTYPES:
            res.n += 1
            try:
                got = which(slot, dt, backend)
            except Exception as e:  # noqa: BLE001  (fails the slot, not the run)
                res.fail(f"{slot} {dt} on {backend}: which() raised {type(e).__name__}: {e}")
                continue
            if backend == REFERENCE:
                if got not in (REFERENCE, None):
                    res.fail(f"{slot} {dt}: while the reference backend is chosen, which() "
                             f"says {got}'s kernel runs")
                continue
            want = backend if dt in own.get(slot, ()) else \
                (which(slot, dt, REFERENCE) if host else None)
            if got != want:
                res.fail(f"{slot} {dt} on {backend}: which() says {got}'s kernel runs, "
                         f"the declaration (verify/backends.py) says {want}'s")
    res.extra["promise"] = p.determinism
    res.extra["kernels"] = "every slot" if p.kernels is None else \
        {k: list(v) for k, v in p.kernels.items()}
    return res


def describe(backends: Sequence[str]) -> Dict[str, dict]:
    """For the report: each backend's own kernels and determinism promise."""
    out = {}
    for b in backends:
        p = PROMISES.get(b)
        if p is None:
            continue
        out[b] = {"kernels": "every slot (the reference)" if p.kernels is None else
                  "; ".join(f"{k} {'/'.join(d)}" for k, d in p.kernels.items()),
                  "determinism": p.determinism}
    return out
