"""The BLAS backend's matmul kernel (native/src/blas/) measured from Python.

Calls tf_blas_matmul of tinyfin/libtinyfin.so through ctypes with a plan made
here (2-D operands only), until the matmul entry point dispatches to it:

    python benchmarks/blas_matmul.py speed        GFLOP/s next to NumPy's matmul
    python benchmarks/blas_matmul.py determinism  the bits on 1 vs 2 threads
    python benchmarks/blas_matmul.py fork         a forked child's product

OpenBLAS is the scipy-openblas32 wheel's unless --blas names another.
Not a pytest file: it prints tables for the backend's notes.
"""
from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import time
from ctypes import POINTER, c_char_p, c_int, c_int64, c_void_p

import numpy as np

MAX_DIMS = 8
HERE = os.path.dirname(os.path.abspath(__file__))


class Plan(ctypes.Structure):  # tf_matmul_plan (native/src/backend.h)
    _fields_ = [("m", c_int64), ("k", c_int64), ("n", c_int64),
                ("batch_ndim", c_int), ("batch", c_int64 * MAX_DIMS),
                ("a_batch_strides", c_int64 * MAX_DIMS),
                ("b_batch_strides", c_int64 * MAX_DIMS),
                ("a_rs", c_int64), ("a_cs", c_int64),
                ("b_rs", c_int64), ("b_cs", c_int64),
                ("out_ndim", c_int), ("out_shape", c_int64 * MAX_DIMS)]


def default_blas() -> str:
    import scipy_openblas32 as s
    return os.path.join(s.get_lib_dir(), "lib" + s.get_library() + ".so")


class Core:
    """The few C functions this script needs, on tensors it owns."""

    def __init__(self, lib_path: str, blas_path: str):
        lib = ctypes.CDLL(lib_path)
        for name, res, args in [
            ("tf_blas_load", c_int, [c_char_p]),
            ("tf_blas_status", c_char_p, []),
            ("tf_blas_matmul", c_int, [POINTER(Plan), c_void_p, c_void_p, c_void_p]),
            ("tf_last_error", c_char_p, []),
            ("tf_set_num_threads", None, [c_int]),
            ("tf_tensor_from_buffer", c_int, [c_int, POINTER(c_int64), c_int,
                                              c_void_p, ctypes.c_size_t,
                                              POINTER(c_void_p)]),
            ("tf_tensor_empty", c_int, [c_int, POINTER(c_int64), c_int,
                                        POINTER(c_void_p)]),
            ("tf_tensor_release", None, [c_void_p]),
            ("tf_tensor_data", c_void_p, [c_void_p]),
            ("tf_transpose", c_int, [c_void_p, c_int, c_int, POINTER(c_void_p)]),
        ]:
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        self.lib = lib
        if lib.tf_blas_load(blas_path.encode()) != 0:
            raise SystemExit(lib.tf_last_error().decode())
        self.status = lib.tf_blas_status().decode()

    def check(self, status: int):
        if status != 0:
            raise RuntimeError(self.lib.tf_last_error().decode())

    def tensor(self, x: np.ndarray) -> c_void_p:
        """A contiguous copy of x (2-D) as a tensor."""
        x = np.ascontiguousarray(x)
        shape = (c_int64 * 2)(*x.shape)
        h = c_void_p()
        self.check(self.lib.tf_tensor_from_buffer(
            2, shape, 0 if x.dtype == np.float32 else 1,
            x.ctypes.data, x.nbytes, ctypes.byref(h)))
        return h

    def transposed(self, h: c_void_p) -> c_void_p:
        v = c_void_p()
        self.check(self.lib.tf_transpose(h, 0, 1, ctypes.byref(v)))
        return v

    def empty(self, m: int, n: int, dtype) -> c_void_p:
        h = c_void_p()
        self.check(self.lib.tf_tensor_empty(
            2, (c_int64 * 2)(m, n), 0 if dtype == np.float32 else 1, ctypes.byref(h)))
        return h

    def view(self, h: c_void_p, m: int, n: int, dtype) -> np.ndarray:
        """out's data as a NumPy array (no copy)."""
        ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
        ptr = ctypes.cast(self.lib.tf_tensor_data(h), POINTER(ctype))
        return np.ctypeslib.as_array(ptr, shape=(m, n))


def plan_2d(m, k, n, a_strides, b_strides) -> Plan:
    p = Plan()
    p.m, p.k, p.n = m, k, n
    p.batch_ndim = 0
    p.a_rs, p.a_cs = a_strides
    p.b_rs, p.b_cs = b_strides
    p.out_ndim = 2
    p.out_shape[0], p.out_shape[1] = m, n
    return p


class Product:
    """a (m x k) @ b (k x n) in one layout ("NN", "TN", "NT", "TT": which
    operand is a transposed view), with NumPy arrays of the same values."""

    def __init__(self, core: Core, m, k, n, dtype, layout="NN", seed=0):
        rng = np.random.default_rng(seed)
        self.core, self.m, self.n, self.dtype = core, m, n, dtype
        self.a = rng.uniform(-1, 1, (m, k)).astype(dtype)
        self.b = rng.uniform(-1, 1, (k, n)).astype(dtype)
        self.handles = []
        if layout[0] == "T":  # A stored as k x m, used transposed
            base = core.tensor(self.a.T)
            ha = core.transposed(base)
            self.handles.append(base)
            a_strides = (1, m)
        else:
            ha = core.tensor(self.a)
            a_strides = (k, 1)
        if layout[1] == "T":
            base = core.tensor(self.b.T)
            hb = core.transposed(base)
            self.handles.append(base)
            b_strides = (1, k)
        else:
            hb = core.tensor(self.b)
            b_strides = (n, 1)
        self.ha, self.hb = ha, hb
        self.hc = core.empty(m, n, dtype)
        self.handles += [ha, hb, self.hc]
        self.plan = plan_2d(m, k, n, a_strides, b_strides)
        self.np_a = self.a if layout[0] == "N" else np.ascontiguousarray(self.a.T).T
        self.np_b = self.b if layout[1] == "N" else np.ascontiguousarray(self.b.T).T
        self.np_c = np.empty((m, n), dtype)

    def run(self) -> np.ndarray:
        self.core.check(self.core.lib.tf_blas_matmul(
            ctypes.byref(self.plan), self.ha, self.hb, self.hc))
        return self.core.view(self.hc, self.m, self.n, self.dtype)

    def run_numpy(self) -> np.ndarray:
        return np.matmul(self.np_a, self.np_b, out=self.np_c)

    def close(self):
        for h in self.handles:
            self.core.lib.tf_tensor_release(h)


def best_times(fns, seconds=3.0, rounds=3):
    """The fastest call of each fn over `rounds` rounds of seconds / rounds
    each, the fns taking turns by round. The machine is shared, so the
    minimum is the least disturbed call; turns by round, not by call, and a
    pause before each turn, because each OpenBLAS in the process (ours and
    NumPy's) keeps its workers spinning for a while after a call, which on
    2 cores would slow whichever library runs next."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            time.sleep(0.3)
            fn()
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
    return best


def numpy_openblas_threads(n: int) -> int:
    """Sets the thread count of NumPy's own OpenBLAS (scipy-openblas64,
    bundled in numpy.libs) and returns it as read back; 0 if not found."""
    import glob
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs",
                                  "libscipy_openblas64_*.so"))
    if not libs:
        return 0
    lib = ctypes.CDLL(libs[0])  # the copy NumPy loaded: same handle
    lib.scipy_openblas_set_num_threads64_(c_int(n))
    return lib.scipy_openblas_get_num_threads64_()


def speed(core: Core, threads: int, seconds: float, rounds: int):
    core.lib.tf_set_num_threads(threads)
    np_threads = numpy_openblas_threads(threads)
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        numpy_blas = blas.get("openblas configuration", blas.get("name"))
    except Exception:  # older NumPy: no dicts mode
        numpy_blas = "its BLAS"
    print(f"# tinyfin {core.status}")
    print(f"# NumPy {np.__version__}: {numpy_blas}")
    print(f"# threads: tinyfin {threads}, NumPy's OpenBLAS {np_threads or 'unknown'}")
    print(f"{'dtype':8} {'shape':>22} {'tinyfin BLAS':>13} {'NumPy':>8} {'ratio':>6}")
    shapes = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024),
              (2048, 2048, 2048), (128, 784, 256)]
    for dtype in (np.float32, np.float64):
        for m, k, n in shapes:
            p = Product(core, m, k, n, dtype)
            flop = 2.0 * m * n * k
            ours, theirs = best_times([p.run, p.run_numpy], seconds, rounds)
            assert np.allclose(p.run(), p.run_numpy(), rtol=1e-3, atol=1e-3)
            g_ours, g_np = flop / ours / 1e9, flop / theirs / 1e9
            shape = f"{m}x{k} @ {k}x{n}"
            print(f"{np.dtype(dtype).name:8} {shape:>22} {g_ours:13.1f} "
                  f"{g_np:8.1f} {g_ours / g_np:6.2f}")
            p.close()


def determinism(core: Core):
    print(f"# {core.status}: are the bits on 1 and on 2 threads the same?")
    cases = []
    for size in (64, 128, 256, 512, 768, 1024):
        for layout in ("NN", "TN", "NT", "TT"):
            cases.append((size, size, size, layout))
    cases += [(1000, 300, 700, "NN"), (1000, 300, 700, "TT"), (33, 1000, 65, "TN"),
              (1, 4096, 4096, "NN"), (1, 4096, 4096, "NT"),    # gemv on B
              (4096, 4096, 1, "NN"), (4096, 4096, 1, "TN"),    # gemv on A
              (1, 5000, 1, "NN"), (1, 20000, 1, "NN"), (1, 1000000, 1, "NN")]  # dot
    print(f"{'dtype':8} {'m x k x n':>20} {'layout':>6} {'same bits':>10} {'max |diff| / max |c|':>22}")
    for dtype in (np.float32, np.float64):
        for m, k, n, layout in cases:
            p = Product(core, m, k, n, dtype, layout, seed=m + k + n)
            core.lib.tf_set_num_threads(1)
            one = p.run().copy()
            core.lib.tf_set_num_threads(2)
            two = p.run().copy()
            again = p.run().copy()
            same = one.tobytes() == two.tobytes()
            rel = float(np.max(np.abs(one.astype(np.float64) - two)) /
                        max(np.max(np.abs(one)), 1e-300))
            note = "" if two.tobytes() == again.tobytes() else " (2 threads vary between runs)"
            print(f"{np.dtype(dtype).name:8} {f'{m} x {k} x {n}':>20} {layout:>6} "
                  f"{str(same):>10} {rel:22.3g}{note}")
            p.close()


_fork_core = None


def _child_product(seed: int):
    p = Product(_fork_core, 1024, 1024, 1024, np.float64, "NN", seed)
    c = p.run().copy()
    ok = np.allclose(c, p.a.astype(np.float64) @ p.b, rtol=1e-12, atol=1e-9)
    p.close()
    return ok, os.getpid()


def fork(core: Core):
    """A large product in the parent (OpenBLAS's pool running on 2 threads),
    then in forked children, with a timeout: a hang shows as a timeout."""
    global _fork_core
    _fork_core = core
    core.lib.tf_set_num_threads(2)
    p = Product(core, 1024, 1024, 1024, np.float64)
    p.run()
    p.close()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        t0 = time.perf_counter()
        res = pool.map_async(_child_product, range(4))
        out = res.get(timeout=120)
        print(f"forked children: {out} in {time.perf_counter() - t0:.2f} s")
    p = Product(core, 1024, 1024, 1024, np.float64)
    t0 = time.perf_counter()
    p.run()
    print(f"parent after the children: 1024^3 float64 in {time.perf_counter() - t0:.3f} s")
    p.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["speed", "determinism", "fork"])
    ap.add_argument("--lib", default=os.path.join(HERE, "..", "tinyfin", "libtinyfin.so"))
    ap.add_argument("--blas", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="time per product and library in `speed`")
    ap.add_argument("--rounds", type=int, default=3,
                    help="turns per product and library in `speed`")
    args = ap.parse_args()
    core = Core(args.lib, args.blas or default_blas())
    {"speed": lambda: speed(core, args.threads, args.seconds, args.rounds), "determinism": lambda: determinism(core),
     "fork": lambda: fork(core)}[args.what]()


if __name__ == "__main__":
    main()
