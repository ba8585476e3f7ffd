"""The op database: one declarative OpInfo per op tinyfin exports.

An entry says how to call the op (`call`, on tinyfin tensors), its NumPy
float64 reference (`ref`, on arrays; exact for int64/bool), for unary math
functions an mpmath reference (`mp`) and derivative (`mp_deriv`), the input
domain, sample inputs (0-d, size-0, broadcast, non-contiguous, extreme
values), error inputs (call + exception type + message regex), dtypes,
whether it is differentiable (and where not), and its tolerance per dtype.

Entries live in the ops_*.py modules, grouped by concern; `ALL` collects
them. `coverage()` names every exported function, Tensor method and C op
without an entry (tests/test_verify.py requires it to be empty).
Adding an op: add one OpInfo(...) to the module of its concern.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

FLOAT = ("float32", "float64")
NUMERIC = ("float32", "float64", "int64")
ALL_DTYPES = ("float32", "float64", "int64", "bool")


@dataclasses.dataclass
class Tol:
    """Forward tolerance for one dtype: `ulp` (elementwise, against the
    float64 reference rounded to the dtype) or rtol/atol (|a - r| <= atol +
    rtol * scale, scale = max |reference| of the sample, for reductions and
    matmul whose rounding error grows with the length and cancellation)."""
    ulp: Optional[float] = None
    rtol: float = 0.0
    atol: float = 0.0

    def __str__(self) -> str:
        return f"{self.ulp} ULP" if self.ulp is not None else \
            f"rtol {self.rtol:g} atol {self.atol:g}"


EXACT = Tol(ulp=0)


@dataclasses.dataclass
class Sample:
    """One call: `inputs` are NumPy arrays that become tinyfin tensors in
    `layout` (checks/common.LAYOUTS: "contiguous", "transposed", "strided",
    "expanded", "mT", "row-padded", "mT-padded", "flipped"), one for every
    input or a tuple of one per input; `args` / `kwargs` are passed after
    them as they are; `desc` names the case."""
    inputs: Tuple[np.ndarray, ...]
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    layout: Any = "contiguous"
    desc: str = ""
    grad: bool = True        # usable for gradcheck (no kink, small enough)

    def layout_at(self, i: int) -> str:
        """The layout of input i."""
        return self.layout if isinstance(self.layout, str) else self.layout[i]

    @property
    def layouts(self) -> Tuple[str, ...]:
        return tuple(self.layout_at(i) for i in range(len(self.inputs)))


# A Sample keyword argument `out=OUT` is replaced by a tensor of the result's
# shape and dtype, filled with junk (NaN, 2^62, True): the op must write its
# result there and return that tensor (checks/forward.py).
OUT = "<a buffer for the result>"


@dataclasses.dataclass
class Subgrad:
    """A gradient at a point where the derivative is undefined (a kink, a
    tie, a bound, a zero of a norm), checked as a value by checks/subgradients.py:
    the backward of the op at `inputs` with upstream gradient `grad` (ones
    when None) must give `expected`, one array per input (None: that input
    is not a float, or gets no gradient). The expected values are the
    convention tinyfin documents (PyTorch's), written out by hand, never
    computed by tinyfin. Exact unless `ulp` allows rounding in the elements
    away from the convention (a norm's other entries)."""
    desc: str
    inputs: Tuple[np.ndarray, ...]
    expected: Tuple[Optional[np.ndarray], ...]
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    grad: Optional[np.ndarray] = None
    ulp: float = 0.0


@dataclasses.dataclass
class ErrorInput:
    """`make()` runs the faulty call; it must raise `exc` whose message
    matches `match` (re.search)."""
    desc: str
    make: Callable[[], Any]
    exc: type
    match: str


@dataclasses.dataclass
class OpInfo:
    name: str
    call: Callable                       # (*tensors, *args, **kwargs) -> Tensor | tuple
    ref: Optional[Callable]              # (*arrays, *args, **kwargs) -> array | tuple
    kind: str                            # unary / binary / reduction / shape / view / index / linalg / creation
    dtypes: Tuple[str, ...] = FLOAT
    samples: Optional[Callable[[str, np.random.Generator], Iterable[Sample]]] = None
    errors: Callable[[], List[ErrorInput]] = lambda: []
    aliases: Tuple[str, ...] = ()        # other exported names of the same function
    methods: Tuple[str, ...] = ()        # Tensor methods it covers (in-place forms too)
    c_ops: Tuple[str, ...] = ()          # C op names (UNARY_OPS / BINARY_OPS / REDUCE_OPS)
    differentiable: bool = False
    gradgrad: bool = False               # smooth enough for gradgradcheck
    nondiff: str = ""                    # where the derivative is undefined (documented)
    tol: Dict[str, Tol] = dataclasses.field(default_factory=dict)
    # unary math functions: mpmath value and derivative at an mpf, the domain
    # where they are real (outside it the result must be NaN), the accuracy
    # bounds (max real-valued ULP error per dtype) and documented exceptions.
    mp: Optional[Callable] = None
    mp_deriv: Optional[Callable] = None
    domain: Optional[Callable[[float], bool]] = None
    ulp_bound: Dict[str, float] = dataclasses.field(default_factory=dict)
    grad_ulp_bound: Dict[str, float] = dataclasses.field(default_factory=dict)
    sample_range: Tuple[float, float] = (-4.0, 4.0)   # where ordinary samples are drawn
    # inputs where the kernel changes formula or an intermediate crosses a
    # precision boundary (read from native/src/cpu/unary.c): the accuracy
    # check's worst-case search samples densely around each
    switch_points: Tuple[float, ...] = ()
    grad_floor: float = 0.0              # derivative errors are measured in ULPs of max(|f'|, floor)
    variant: str = ""                    # e.g. "tanh" for gelu(approximate="tanh")
    notes: str = ""
    random: bool = False                 # output is random: the reference checks shape/dtype/range only
    # Known failures of tinyfin (not of the harness), each (check, regex on the
    # failure message, reason with a reproduction). A matching failure is
    # reported as XFAIL, visibly, instead of FAIL; anything else still fails.
    known_failures: Tuple[Tuple[str, str, str], ...] = ()
    # where the int-args check may not require a refusal: arguments whose
    # ints can legitimately exceed int64 ("argument 0" of tensor(): data
    # that becomes a float tensor)
    wide_int_args: Tuple[str, ...] = ()
    # Sums and dot products: the input forms verify/checks/parity.py
    # check_higham feeds the op to test the bound gamma_n sum|a||b| ("sum",
    # "mean": a vector; "sum-dim", "mean-dim": a matrix over one dim; "dot",
    # "mv", "vm", "mm", "bmm": the matmul shapes). Empty: not checked.
    higham: Tuple[str, ...] = ()
    # Samples large enough to reach the kernel's blocked, tiled and parallel
    # paths (matmul's packing panels, the reductions' blocks, the iterator's
    # chunks); checks/paths.py runs each with 1 and with 2 threads. Their
    # allowed error per output element comes from `error_bound(dtype, arrays,
    # *args, **kwargs)` (float64 inputs; one array per output, derived from the
    # kernel's error bound, verify/bounds.py), else from `tol`.
    large: Optional[Callable[[str, np.random.Generator], Iterable[Sample]]] = None
    error_bound: Optional[Callable] = None
    # The documented gradients at non-differentiable points, per dtype.
    subgradients: Optional[Callable[[str], Iterable[Subgrad]]] = None
    # The kernel slots (tinyfin.backends.which names: "matmul", "mul", ...)
    # its forward computes with, where its c_ops do not say
    # (verify/backends.py kernels_of): an op runs on a backend, rather than
    # on the cpu kernels it falls back to, only through these.
    kernels: Tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.name}({self.variant})" if self.variant else self.name

    # `tol`, `ulp_bound` and `grad_ulp_bound` are keyed by dtype; a key
    # "backend:dtype" (e.g. "cuda:float32") overrides it on that backend.
    def tol_for(self, dtype: str, backend: str = "cpu") -> Tol:
        if dtype in ("int64", "bool"):
            return EXACT
        return self.tol.get(f"{backend}:{dtype}", self.tol.get(dtype, EXACT))

    def bound_for(self, dtype: str, backend: str = "cpu", grad: bool = False) -> Optional[float]:
        """The max ULP error the accuracy checks enforce (of the backward
        with grad=True); None where the entry declares none."""
        bounds = self.grad_ulp_bound if grad else self.ulp_bound
        return bounds.get(f"{backend}:{dtype}", bounds.get(dtype))


# ---- the registry -----------------------------------------------------------
def load_entries(prefix: str, attr: str, db: str) -> list:
    """The `attr` list of every verify module named prefix* (found by name,
    so a new module of entries needs no line anywhere), refusing duplicate
    ids. Shared by the op and the module databases."""
    import importlib
    import pkgutil
    from pathlib import Path
    entries = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith(prefix):
            entries.extend(getattr(importlib.import_module(f"{__package__}.{info.name}"), attr))
    ids = [e.id for e in entries]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RuntimeError(f"verify.{db}: duplicate entries {sorted(dup)}")
    return entries


def _load() -> List[OpInfo]:
    return load_entries("ops_", "ENTRIES", "opdb")


_ALL: Optional[List[OpInfo]] = None


def all_ops() -> List[OpInfo]:
    global _ALL
    if _ALL is None:
        _ALL = _load()
    return _ALL


# Exported names that are not ops (no tensor computation to verify): they
# are listed here, with the reason, so that the coverage test stays strict.
NOT_OPS = {
    "manual_seed": "sets the RNG seed (checked by the random ops' entries)",
    "initial_seed": "reads the RNG seed",
    "result_type": "dtype promotion query (exercised by every binary sample)",
    "broadcast_shapes": "shape arithmetic only; covered with broadcast_to",
}
# Tensor methods that are not ops: attribute access, conversion out of
# tinyfin, autograd plumbing.
NOT_OP_METHODS = {
    "T", "mT", "backward", "device", "dim", "dtype", "element_size", "grad",
    "grad_fn", "is_contiguous", "is_floating_point", "is_leaf", "is_pinned", "item",
    "ndim", "numel", "numpy", "register_hook", "requires_grad",
    "requires_grad_", "retain_grad", "retains_grad", "shape", "size",
    "storage_offset", "stride", "tolist", "detach", "detach_", "data",
}


def covered_names() -> Dict[str, OpInfo]:
    names: Dict[str, OpInfo] = {}
    for e in all_ops():
        for n in (e.name,) + e.aliases + e.methods:
            names.setdefault(n, e)
    return names


def coverage() -> Dict[str, List[str]]:
    """{"functions": [...], "methods": [...], "c_ops": [...], "nn.functional":
    [...]}: exported names
    without an entry. Empty lists mean every op is in the database."""
    import tinyfin as tf
    from tinyfin import _C
    from tinyfin._exports import FUNCTIONS
    names = covered_names()
    c_covered = {c for e in all_ops() for c in e.c_ops}
    missing_f = sorted(n for n in FUNCTIONS if n not in names and n not in NOT_OPS)
    methods = [m for m in dir(tf.Tensor) if not m.startswith("_")]
    missing_m = sorted(m for m in methods
                       if m not in NOT_OP_METHODS and m not in names)
    c_names = ([f"unary:{n}" for n in _C.UNARY_OPS] +
               [f"binary:{n}" for n in _C.BINARY_OPS] +
               [f"reduce:{n}" for n in _C.REDUCE_OPS])
    missing_c = sorted(n for n in c_names if n not in c_covered)
    # nn.functional's ops are entries named as PyTorch's OpInfos name them:
    # "nn.functional.conv2d".
    from tinyfin.nn import functional as F
    missing_nn = sorted(n for n in F.__all__ if f"nn.functional.{n}" not in names
                        and n not in names)
    return {"functions": missing_f, "methods": missing_m, "c_ops": missing_c,
            "nn.functional": missing_nn}


def select(ops: Optional[Sequence[str]] = None) -> List[OpInfo]:
    """Entries whose name, id or alias is in `ops` (all when None)."""
    if not ops:
        return list(all_ops())
    wanted = set(ops)
    out = [e for e in all_ops() if e.name in wanted or e.id in wanted
           or wanted & set(e.aliases)]
    unknown = wanted - {n for e in out for n in (e.name, e.id) + e.aliases}
    if unknown:
        import difflib
        known = sorted({n for e in all_ops() for n in (e.name, e.id) + e.aliases})
        hints = {u: difflib.get_close_matches(u, known, 3) for u in sorted(unknown)}
        raise ValueError("verify: no entry for " + "; ".join(
            f"{u!r}" + (f" (did you mean {', '.join(h)}?)" if h else "") for u, h in hints.items())
            + f". Known ops: {', '.join(known)}")
    return out


# ---- helpers for the ops_* modules --------------------------------------------
def quiet_numpy(f: Callable) -> Callable:
    """A NumPy reference taking array-likes, with floating-point warnings
    off (the samples hold inf, NaN and zeros on purpose)."""
    def g(*a, **k):
        with np.errstate(all="ignore"):
            return f(*[np.asarray(x) for x in a], **k)
    return g


def finite_values(dtype: str, shape, rng: np.random.Generator, lo: float = -4.0,
                  hi: float = 4.0) -> np.ndarray:
    """Values for `shape` in [lo, hi] (int64: integers in it; bool: coin flips)."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        return rng.integers(int(math.floor(lo)), int(math.ceil(hi)) + 1,
                            size=shape).astype(np.int64)
    return np.asarray(rng.uniform(lo, hi, size=shape)).astype(dtype)


def grid_values(dtype: str, shape, rng: np.random.Generator) -> np.ndarray:
    """Half-integers in [-4, 4] (int64: integers; bool: coin flips): values
    repeat, so extremes tie (which the tie rules must resolve), and sums of
    a few are exact in float32, whatever their order."""
    if dtype in ("int64", "bool"):
        return finite_values(dtype, shape, rng)
    return (rng.integers(-8, 9, size=shape) / 2).astype(dtype)


def extreme_values(dtype: str) -> np.ndarray:
    """+-0, subnormals, the normal range's ends, +-inf, NaN and ordinary values."""
    if dtype == "bool":
        return np.array([True, False])
    if dtype == "int64":
        ii = np.iinfo(np.int64)
        return np.array([0, 1, -1, 7, -7, ii.max, ii.min, ii.min + 1], np.int64)
    fi = np.finfo(dtype)
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, fi.smallest_subnormal,
            -fi.smallest_subnormal, fi.tiny, -fi.tiny, fi.max, -fi.max,
            1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 1e-30, -1e-30, 100.0, -100.0,
            1e4, -1e4]
    return np.array(vals, dtype=dtype)


# Sizes above TF_PARALLEL_GRAIN (32768 elements) for ops on the strided
# iterator (iter.c): one long row with stride 2,
# which the iterator splits into chunks of 32768 elements, and a transposed
# 3-D tensor whose dims do not merge, split into blocks of rows that begin
# in the middle of the outer dims.
ITER_SHAPES = (((40000,), "strided", "one long strided row (2 chunks)"),
               ((40, 30, 50), "transposed", "3-D transposed (blocks of rows)"))


def iterator_samples(inputs: Callable) -> Callable:
    """`large` samples of an elementwise op: inputs(dtype, rng, shape) gives
    its input arrays for a result of that shape."""
    def gen(dtype, rng):
        return [Sample(tuple(inputs(dtype, rng, shape)), layout=layout, desc=desc, grad=False)
                for shape, layout, desc in ITER_SHAPES]
    return gen


def unary_layout_samples(dtype: str, rng: np.random.Generator, lo: float, hi: float,
                         extremes: bool = True) -> List[Sample]:
    """The standard sample set of a one-tensor op: 0-d, size-0, vectors and
    matrices in each layout, and the extreme values."""
    f = lambda shape: finite_values(dtype, shape, rng, lo, hi)  # noqa: E731
    out = [Sample((f(()),), desc="0-d"),
           Sample((f((0,)),), desc="size-0", grad=False),
           Sample((f((0, 3)),), desc="size-0 2-d", grad=False),
           Sample((f((7,)),), desc="vector"),
           Sample((f((3, 4)),), desc="matrix"),
           Sample((f((3, 4)),), layout="transposed", desc="transposed"),
           Sample((f((2, 3, 4)),), layout="strided", desc="step-strided"),
           Sample((f((4, 5)),), layout="expanded", desc="expanded (stride 0)"),
           Sample((f((300, 130)),), desc="large (parallel path)", grad=False)]
    if extremes:
        out.append(Sample((extreme_values(dtype),), desc="extreme values", grad=False))
    return out
