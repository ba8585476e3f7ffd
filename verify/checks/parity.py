"""Check (g): backend parity, and the Higham bound of sums and dot products.

parity  Every sample of an op (OpInfo.samples) runs on the backend under test
        and on the reference CPU kernels; the two results must agree within the
        op's declared forward tolerance (OpInfo.tol_for): ULPs for elementwise
        ops, rtol/atol relative to the largest |reference| for reductions and
        matmul. NaN, +-inf, integer and bool results must agree exactly. The
        CPU backend is the reference, so there it is a "skip". It reports the
        worst ULP distance (ULP tolerances) or the worst fraction of the
        rtol/atol tolerance used (extra["worst_bound_ratio"]). It runs where
        the backend's own kernel runs (verify/backends.py own_kernels); an op
        it leaves to the cpu kernels is a "fallback" row instead.

higham  Sums and dot products, whatever their summation order, obey
            |computed - exact| <= gamma_n * sum_i |a_i| |b_i|,
            gamma_n = n u / (1 - n u),
        u = 2^-24 (float32) or 2^-53 (float64), n the number of terms (Higham,
        Accuracy and Stability of Numerical Algorithms, 2nd ed., sec. 3.1);
        for a plain sum read |a_i| |b_i| as |a_i| (Higham proves gamma_(n-1)
        there; gamma_n is used for both). A mean is a sum followed by a
        division by n: gamma_(n+2) sum|a_i| / n allows one rounding for the
        division and one more for a kernel that multiplies by a rounded 1/n.
        The check feeds each op its declared input forms (OpInfo.higham) at
        several lengths, with random signs and with heavy cancellation (the
        exact result a few per cent of sum|a_i||b_i|), and computes every
        checked output's error exactly (below). It reports
        the worst error / bound ratio ("the fraction of the bound used";
        1.0 is the limit) in extra["worst_bound_ratio"], not as a ULP figure:
        with cancellation the error is no ULP count of the result.

Exact errors: the inputs are floats; a product a*b of two floats is split
exactly into p + e (p = fl(a*b), e its rounding error: Dekker's TwoProduct
with Veltkamp's split, exact in float64 barring underflow, which the chosen
magnitudes rule out; for float32 inputs e is 0). Then
    computed - exact = fsum([computed, -p_1, -e_1, ..., -p_n, -e_n])
and math.fsum returns that correctly rounded, so each error is known to a
relative 2^-53 -- far finer than any bound checked. A mean's n * computed is
split the same way before the sum.

Backends: every check in this module (and in validation_sets.py) runs tinyfin
through `run_on`, the one place where a new backend plugs in.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

import tinyfin as tf

from ..bounds import UNIT_ROUNDOFF, gamma  # noqa: F401  (gamma: also used by tests)
from ..opdb import OpInfo, Tol
from ..ulp import ulp_distance
from .common import Result, in_layout, outputs_np, tensor_of
from .forward import call

REFERENCE = "cpu"
FLOATS = ("float32", "float64")


# ==== THE PLUG-IN POINT FOR A NEW BACKEND ========================================
def run_on(backend: str, fn: Callable, tensors: Sequence, *args, **kwargs) -> List[np.ndarray]:
    """fn(*tensors, *args, **kwargs) computed on `backend`, its outputs as
    host NumPy arrays (a list, one per output). `tensors` are CPU tensors.

    A new backend plugs in here and only here: each input (and each tensor
    keyword, out= among them) is moved onto the
    backend's device (verify/backends.to_backend: a no-op while it is the
    host's, as for cpu and blas), fn runs with the backend chosen on this
    thread (tinyfin.backends.use; the reference "cpu" is chosen explicitly
    too, since the process default may be another backend), and every output
    is copied back to host memory (outputs_np).
    """
    from ..backends import to_backend
    moved = [to_backend(t, backend) for t in tensors]
    kwargs = {k: to_backend(v, backend) if isinstance(v, tf.Tensor) else v
              for k, v in kwargs.items()}  # out= and tensor options go along
    with tf.backends.use(backend):
        return outputs_np(fn(*moved, *args, **kwargs))
# ==================================================================================


# ---- parity ------------------------------------------------------------------------
def compare_outputs(got: np.ndarray, ref: np.ndarray, tol: Tol,
                    where: str) -> Tuple[List[str], Optional[float]]:
    """(failures, max ULP distance or None): `got` from the backend under test
    against `ref` from the reference backend, within `tol`."""
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return [f"{where}: {got.dtype}{got.shape} != reference {ref.dtype}{ref.shape}"], None
    if got.dtype.kind != "f":
        if not np.array_equal(got, ref):
            return [f"{where}: {int(np.sum(got != ref))} of {got.size} values differ"], None
        return [], None
    if got.size == 0:
        return [], (0.0 if tol.ulp is not None else None)
    nan_g, nan_r = np.isnan(got), np.isnan(ref)
    inf_mismatch = (np.isinf(got) | np.isinf(ref)) & (got != ref) & ~(nan_g | nan_r)
    bad = (nan_g != nan_r) | inf_mismatch
    if np.any(bad):
        i = np.unravel_index(int(np.argmax(bad)), bad.shape)
        return [f"{where}: special value differs at {i}: got {got[i]!r}, reference {ref[i]!r}"], None
    fin = np.isfinite(ref)
    if tol.ulp is not None:
        d = np.where(fin, ulp_distance(got, ref), 0.0)
        worst = float(np.max(d))
        if worst > tol.ulp:
            i = np.unravel_index(int(np.argmax(d)), d.shape)
            return [f"{where}: {int(np.sum(d > tol.ulp))} of {d.size} values beyond "
                    f"{tol.ulp} ULP of the reference; worst at {i}: got {got[i]!r}, "
                    f"reference {ref[i]!r} ({d[i]:g} ULP)"], worst
        return [], worst
    g, r = got.astype(np.float64), ref.astype(np.float64)
    scale = float(np.max(np.abs(r[fin]))) if np.any(fin) else 0.0
    err = np.where(fin, np.abs(g - r), 0.0)
    limit = tol.atol + tol.rtol * scale
    if np.any(err > limit):
        i = np.unravel_index(int(np.argmax(err)), err.shape)
        return [f"{where}: beyond rtol {tol.rtol:g} (scale {scale:.3g}) atol {tol.atol:g} of "
                f"the reference at {i}: got {got[i]!r}, reference {ref[i]!r}"], None
    return [], None


def bound_ratio(got: np.ndarray, ref: np.ndarray, tol: Tol) -> Optional[float]:
    """max |got - ref| / (atol + rtol * max|ref|) over the finite reference
    values: the fraction of an rtol/atol tolerance used (None for ULP
    tolerances, integers, and empty or mismatched outputs)."""
    if tol.ulp is not None or got.shape != ref.shape or got.dtype.kind != "f" or got.size == 0:
        return None
    g, r = got.astype(np.float64), ref.astype(np.float64)
    fin = np.isfinite(r) & np.isfinite(g)
    if not np.any(fin):
        return 0.0
    limit = tol.atol + tol.rtol * float(np.max(np.abs(r[fin])))
    err = float(np.max(np.abs(g[fin] - r[fin])))
    return 0.0 if err == 0 else (math.inf if limit == 0 else err / limit)


def check_parity(op: OpInfo, dtype: str, backend: str, rng: np.random.Generator) -> Result:
    """Each of op's samples on `backend` against the reference CPU kernels,
    within op.tol_for(dtype). Skipped on the reference backend itself."""
    res = Result("parity", op.id, dtype, backend)
    if backend == REFERENCE:
        res.status = "skip"
        res.extra["reason"] = "reference backend"
        return res
    if op.random:
        res.status = "skip"
        res.extra["reason"] = "random op: backends need not share a random stream"
        return res
    tol = op.tol_for(dtype, backend)
    res.bound = tol.ulp
    ulps: List[float] = []
    ratios: List[float] = []
    for sample in op.samples(dtype, rng):
        res.n += 1
        where = f"{op.id} {dtype} [{sample.desc}] on {backend}"
        try:
            tensors = [in_layout(a, sample.layout_at(i))[1] for i, a in enumerate(sample.inputs)]
            fn = lambda *ts, sample=sample: call(op, ts, sample)  # noqa: E731  (resolves out=OUT)
            want = run_on(REFERENCE, fn, tensors)
            got = run_on(backend, fn, tensors)
        except Exception as e:  # noqa: BLE001  (a crash fails this sample only)
            res.fail(f"{where}: raised {type(e).__name__}: {e}")
            continue
        if len(got) != len(want):
            res.fail(f"{where}: {len(got)} outputs, reference has {len(want)}")
            continue
        for g, w in zip(got, want):
            failures, worst = compare_outputs(g, w, tol, where)
            for f in failures:
                res.fail(f)
            if worst is not None:
                ulps.append(worst)
            ratio = bound_ratio(g, w, tol)
            if ratio is not None:
                ratios.append(ratio)
    if ulps:
        res.max_ulp = max(ulps)
        res.mean_ulp = float(np.mean(ulps))
    if ratios:
        res.extra["worst_bound_ratio"] = max(ratios)
    res.extra["tolerance"] = str(tol)
    return res


# ---- exact errors ------------------------------------------------------------------
_VELTKAMP = 134217729.0  # 2^27 + 1: splits a float64 into two 26-bit halves


def _split(a: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    t = _VELTKAMP * a
    hi = t - (t - a)
    return hi, a - hi


def two_product(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(p, e) with p = fl(a*b) and a*b = p + e exactly (float64 arrays; exact
    unless a product underflows or |a|, |b| approach 2^996)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def exact_errors(computed: np.ndarray, a_rows: np.ndarray, b_rows: Optional[np.ndarray],
                 divisor: int = 1) -> np.ndarray:
    """computed[e] - (sum_i a_rows[e, i] * b_rows[e, i]) / divisor for each
    output e, to a relative 2^-53 (b_rows None: plain sums). NaN where the
    computed value is not finite."""
    computed = np.asarray(computed, np.float64).reshape(-1)
    a_rows = np.asarray(a_rows, np.float64)
    if b_rows is None:
        p, e = a_rows, np.zeros_like(a_rows)
    else:
        p, e = two_product(a_rows, np.asarray(b_rows, np.float64))
    cp, ce = two_product(computed, np.full(computed.shape, float(divisor)))
    out = np.empty(computed.shape)
    for k in range(computed.size):
        if not math.isfinite(computed[k]):
            out[k] = math.nan
            continue
        terms = [cp[k], ce[k]]
        terms.extend((-p[k]).tolist())
        terms.extend((-e[k]).tolist())
        out[k] = math.fsum(terms) / divisor
    return out


# ---- the Higham check ------------------------------------------------------------
# Lengths per depth: sums cross the reduction's 4096-element blocks, dot
# products the matmul kernel's 256-deep panels.
SUM_LENGTHS = {"quick": (1, 2, 7, 100, 4097),
               "default": (1, 2, 7, 100, 4097, 10_000, 100_003),
               "deep": (1, 2, 7, 100, 4097, 10_000, 100_003, 1_000_003)}
K_LENGTHS = {"quick": (1, 3, 17, 257),
             "default": (1, 3, 17, 256, 257, 1000),
             "deep": (1, 3, 17, 256, 257, 1000, 4099)}
# (m, n) of the matrix forms: edges of the 4 x 32 register tile
MN_SHAPES = {"quick": ((5, 33),), "default": ((5, 33), (37, 70)),
             "deep": ((5, 33), (37, 70), (130, 97))}
BATCH = 3
MAX_ELEMENTS = 256   # outputs checked per case (a random subset beyond that)

HIGHAM_FORMS = ("sum", "sum-dim", "mean", "mean-dim", "dot", "mv", "vm", "mm", "bmm")


def _depth(table: dict, depth: str):
    return table.get(depth, table["deep"])


def _values(dtype: str, shape, rng: np.random.Generator) -> np.ndarray:
    """Random signs, magnitudes spread over 2^-6 .. 2^7 (no product
    underflows, so TwoProduct is exact)."""
    mag = rng.uniform(0.5, 1.0, shape) * np.exp2(rng.integers(-6, 7, shape))
    return np.where(rng.random(shape) < 0.5, -mag, mag).astype(dtype)


def _cancelling(dtype: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values that nearly cancel: pairs (v, -v) with a tenth of the
    partners redrawn, so |sum| << sum |x|."""
    half = _values(dtype, (n + 1) // 2, rng)
    partner = -half.copy()
    redraw = rng.random(half.size) < 0.1
    partner[redraw] = _values(dtype, int(redraw.sum()), rng)
    return rng.permutation(np.concatenate([half, partner]))[:n]


def _cancelling_pair(dtype: str, k: int, rng: np.random.Generator):
    """a, b of length k whose products nearly cancel: a = (u, u), b = (v, -v)
    with a tenth of the partners redrawn, both in one shuffled order."""
    u, v = _values(dtype, (k + 1) // 2, rng), _values(dtype, (k + 1) // 2, rng)
    partner = -v.copy()
    redraw = rng.random(v.size) < 0.1
    partner[redraw] = _values(dtype, int(redraw.sum()), rng)
    order = rng.permutation(2 * u.size)[:k]
    return np.concatenate([u, u])[order], np.concatenate([v, partner])[order]


# A case: description, input arrays, call kwargs, and a function from the
# op's output to (computed values, a rows, b rows or None) of the outputs to
# check, each output being the sum over its row of a * b (or of a).
Case = Tuple[str, Tuple[np.ndarray, ...], dict, Callable]


def _sum_cases(form: str, dtype: str, rng, depth: str) -> Iterator[Case]:
    for n in _depth(SUM_LENGTHS, depth):
        if form in ("sum", "mean"):
            kinds = [("random signs", _values(dtype, n, rng))]
            if n >= 4:
                kinds.append(("cancelling", _cancelling(dtype, n, rng)))
            for kind, x in kinds:
                yield (f"{form} n={n} {kind}", (x,), {},
                       lambda out, x=x: (out.reshape(1), x[None, :], None))
        else:   # reductions over a dim: the last (along memory) and the first (strided)
            x = _values(dtype, (4, n), rng)
            yield (f"{form} (4, {n}) dim=-1", (x,), dict(dim=-1),
                   lambda out, x=x: (out, x, None))
            y = _values(dtype, (n, 4), rng)
            yield (f"{form} ({n}, 4) dim=0", (y,), dict(dim=0),
                   lambda out, y=y: (out, y.T, None))


def _pick(count: int, rng) -> np.ndarray:
    if count <= MAX_ELEMENTS:
        return np.arange(count)
    return np.sort(rng.choice(count, MAX_ELEMENTS, replace=False))


def _batched_rows(a3: np.ndarray, b3: np.ndarray, out3: np.ndarray, rng):
    """Rows of the checked outputs of a batched product out3 = a3 @ b3."""
    bt, m, _ = a3.shape
    n = b3.shape[2]
    idx = _pick(bt * m * n, rng)
    b_i, rest = np.divmod(idx, m * n)
    i, j = np.divmod(rest, n)
    return out3.reshape(-1)[idx], a3[b_i, i, :], b3[b_i, :, j]


def _product_cases(form: str, dtype: str, rng, depth: str) -> Iterator[Case]:
    if form == "dot":
        for k in _depth(SUM_LENGTHS, depth):
            kinds = [("random signs", _values(dtype, k, rng), _values(dtype, k, rng))]
            if k >= 4:
                kinds.append(("cancelling",) + _cancelling_pair(dtype, k, rng))
            for kind, a, b in kinds:
                yield (f"dot k={k} {kind}", (a, b), {},
                       lambda out, a=a, b=b: (out.reshape(1), a[None, :], b[None, :]))
        return
    for k in _depth(K_LENGTHS, depth):
        for m, n in _depth(MN_SHAPES, depth):
            if form == "mv":
                a, b = _values(dtype, (m, k), rng), _values(dtype, k, rng)
                to3 = lambda a, b, out: (a[None], b[None, :, None], out.reshape(1, -1, 1))  # noqa: E731
                desc = f"mv ({m}, {k}) @ ({k},)"
            elif form == "vm":
                a, b = _values(dtype, k, rng), _values(dtype, (k, n), rng)
                to3 = lambda a, b, out: (a[None, None], b[None], out.reshape(1, 1, -1))  # noqa: E731
                desc = f"vm ({k},) @ ({k}, {n})"
            elif form == "mm":
                a, b = _values(dtype, (m, k), rng), _values(dtype, (k, n), rng)
                to3 = lambda a, b, out: (a[None], b[None], out[None])  # noqa: E731
                desc = f"mm ({m}, {k}) @ ({k}, {n})"
            else:   # bmm
                a, b = _values(dtype, (BATCH, m, k), rng), _values(dtype, (BATCH, k, n), rng)
                to3 = lambda a, b, out: (a, b, out)  # noqa: E731
                desc = f"bmm ({BATCH}, {m}, {k}) @ ({BATCH}, {k}, {n})"
            yield (desc, (a, b), {},
                   lambda out, a=a, b=b, to3=to3: _batched_rows(*to3(a, b, out), rng))


def higham_cases(form: str, dtype: str, rng, depth: str) -> Iterator[Case]:
    if form in ("sum", "sum-dim", "mean", "mean-dim"):
        return _sum_cases(form, dtype, rng, depth)
    if form in ("dot", "mv", "vm", "mm", "bmm"):
        return _product_cases(form, dtype, rng, depth)
    raise ValueError(f"verify: unknown Higham form {form!r} (known: {HIGHAM_FORMS})")


def check_higham(op: OpInfo, dtype: str, backend: str, rng: np.random.Generator,
                 depth: str = "quick") -> Result:
    """Every declared form of op (OpInfo.higham) at the depth's lengths:
    |computed - exact| <= gamma_n sum|a||b| for each checked output."""
    res = Result("higham", op.id, dtype, backend)
    if not op.higham or dtype not in FLOATS:
        res.status = "skip"
        res.extra["reason"] = "no Higham forms declared" if not op.higham else \
            f"{dtype} is exact or not a float"
        return res
    u = UNIT_ROUNDOFF[dtype]
    worst, worst_case, cases = 0.0, "", 0
    by_n: dict = {}     # terms per output -> worst ratio (short sums use more of theirs)
    for form in op.higham:
        mean = form.startswith("mean")
        for desc, inputs, kwargs, rows_of in higham_cases(form, dtype, rng, depth):
            cases += 1
            where = f"{op.id} {dtype} [{desc}]"
            try:
                out = run_on(backend, op.call, [tensor_of(x) for x in inputs], **kwargs)[0]
                if out.dtype != np.dtype(dtype):
                    raise TypeError(f"result dtype {out.dtype}, expected {dtype}")
                computed, a_rows, b_rows = rows_of(out)
            except Exception as e:  # noqa: BLE001  (a crash or a wrong shape fails this case)
                res.fail(f"{where}: {type(e).__name__}: {e}")
                continue
            n = a_rows.shape[1]
            err = np.abs(exact_errors(computed, a_rows, b_rows, n if mean else 1))
            with np.errstate(over="ignore"):
                weight = np.sum(np.abs(a_rows.astype(np.float64) *
                                       (1.0 if b_rows is None else b_rows.astype(np.float64))), axis=1)
            bound = gamma(n + 2, u) * weight / n if mean else gamma(n, u) * weight
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(err == 0, 0.0, err / bound)
            ratio = np.where(np.isnan(err), np.inf, ratio)   # a non-finite result
            res.n += ratio.size
            r = float(np.max(ratio)) if ratio.size else 0.0
            by_n[n] = max(by_n.get(n, 0.0), r)
            if r > worst or not worst_case:
                worst, worst_case = r, desc
            if r > 1.0:
                e = int(np.argmax(ratio))
                weight_name = "sum|a|" if b_rows is None else "sum|a||b|"
                res.fail(f"{where}: error {err[e]:.3g} is {r:.3g} x the bound "
                         f"gamma_{n + 2 if mean else n} {weight_name}{' / n' if mean else ''} "
                         f"= {bound[e]:.3g} (output {e}: {computed[e]!r})")
    res.extra["worst_bound_ratio"] = worst
    res.extra["worst_case"] = worst_case
    res.extra["worst_bound_ratio_by_n"] = {str(k): by_n[k] for k in sorted(by_n)}
    res.extra["cases"] = cases
    res.extra["ratio_limit"] = 1.0
    return res


def higham_ops(entries: Sequence[OpInfo]) -> List[OpInfo]:
    """The entries check_higham applies to."""
    return [e for e in entries if e.higham]

