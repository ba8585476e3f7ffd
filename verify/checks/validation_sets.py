"""Check (h): third-party vectors -- NumPy's validation data for its
transcendental ufuncs (numpy/_core/tests/data/umath-validation-set-*.csv,
shipped inside the numpy package), run through tinyfin's op of the same name.

The files. A header `dtype,input,output,ulperrortol`, then one row per point:
the dtype (np.float32 / np.float64; rows of other dtypes are ignored), input
and expected output as hex bit patterns of that dtype, and the ULP error NumPy
tolerates for its own implementation (2 to 4 for float32). Lines starting with
'#' or '$' are comments. The folder's umath-validation-set-README.txt says the
expected output "should be computed using a high(er) precision library and
then rounded to [the] same format"; its generator
(generate_umath_validation_data.cpp) evaluates float32 rows with the double
libm and float64 rows with the long double libm, then rounds. So an expected
value is the correctly rounded result except where that double rounding or
the libm's own error moved it by one ULP. The points: +-0, +-denormals,
+-tiny, +-max, +-inf, NaNs, and random points across the function's domain.

What is measured. For every row of the op's file with the requested dtype:
    d = integer ULP distance (count of representable numbers between; +0 and
        -0 are one point) from tinyfin's result to the reference value R.
R is the file's expected output, audited: each row is re-evaluated with
mpmath at 200 bits (OpInfo.mp) and correctly rounded to the dtype; where the
file's value differs from that, R is the correctly rounded value and the row
is listed in extra["file_errata"] (file value, correct value, input). So R is
the correctly rounded result on every row whose exact value mpmath gives, and
    d = 0 means tinyfin is correctly rounded there,
    d <= b means its real error is below b + 1/2 ULP (d = 1: < 1.5 ULP).
The bound b is 1 for float32 (where NumPy itself allows 2 to 4) and the op's
float64 bound OpInfo.bound_for("float64") (2 when none is declared).
Special values are exact: where R is NaN the result must be NaN, where R is
+-inf it must be the same infinity, a finite R needs a finite result, and a
zero result for a zero R must carry R's sign.

Reported: res.n rows, res.max_ulp / res.mean_ulp (d over the rows),
res.bound b, and for comparison the same distance for NumPy's own function
on the same rows (extra["numpy_max_ulp"], extra["numpy_mean_ulp"]), NumPy's
declared tolerance (extra["numpy_tol"]), and tinyfin's distance to the raw
file values (extra["max_ulp_vs_file"]).
"""
from __future__ import annotations

import math
import os
from typing import List, Optional, Tuple

import mpmath
import numpy as np

from ..opdb import OpInfo
from ..ulp import ulp_distance
from .common import Result, tensor_of
from .parity import run_on

FLOAT32_BOUND = 1.0
FLOAT64_DEFAULT_BOUND = 2.0
AUDIT_PREC = 200

# NumPy's file name (its ufunc name) for each tinyfin op name. tinyfin
# follows PyTorch's names (asin, not arcsin); files of ops tinyfin lacks are
# left unused, and an op tinyfin gains is checked once its entry exists.
NUMPY_NAME = {
    "exp": "exp", "exp2": "exp2", "expm1": "expm1",
    "log": "log", "log2": "log2", "log10": "log10", "log1p": "log1p",
    "sin": "sin", "cos": "cos", "tan": "tan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "asin": "arcsin", "acos": "arccos", "atan": "arctan",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh",
    "cbrt": "cbrt",
}

_BITS = {"float32": np.uint32, "float64": np.uint64}
_FORMAT = {"float32": (24, -149), "float64": (53, -1074)}  # precision, exponent of the least subnormal


def data_dir() -> Optional[str]:
    """The folder of NumPy's validation files, or None when this numpy has
    none (numpy >= 2 keeps them in _core, older ones in core)."""
    base = os.path.dirname(np.__file__)
    for sub in ("_core", "core"):
        d = os.path.join(base, sub, "tests", "data")
        if os.path.isdir(d) and any(f.startswith("umath-validation-set-") and f.endswith(".csv")
                                    for f in os.listdir(d)):
            return d
    return None


def file_for(op: OpInfo) -> Optional[str]:
    """Path of op's validation file, None when NumPy ships none for it."""
    d = data_dir()
    name = NUMPY_NAME.get(op.name)
    if d is None or name is None or op.variant:
        return None
    path = os.path.join(d, f"umath-validation-set-{name}.csv")
    return path if os.path.isfile(path) else None


def available_files() -> List[str]:
    """NumPy function names with a validation file here."""
    d = data_dir()
    if d is None:
        return []
    return sorted(f[len("umath-validation-set-"):-4] for f in os.listdir(d)
                  if f.startswith("umath-validation-set-") and f.endswith(".csv"))


def read_rows(path: str, dtype: str) -> Tuple[np.ndarray, np.ndarray, int]:
    """(inputs, expected outputs, NumPy's tolerance) of the file's rows of
    dtype, the values decoded from their hex bit patterns."""
    ins, outs, tols = [], [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#$" or line.startswith("dtype"):
                continue
            dt, x, y, tol = (c.strip() for c in line.split(","))
            if dt.replace("np.", "") != dtype:
                continue
            ins.append(int(x, 16))
            outs.append(int(y, 16))
            tols.append(int(tol))
    bits = _BITS[dtype]
    return (np.array(ins, bits).view(dtype), np.array(outs, bits).view(dtype),
            max(tols) if tols else 0)


# ---- the audit of the file's values -----------------------------------------------
def round_to(v: mpmath.mpf, dtype: str) -> float:
    """The mpf v correctly rounded (to nearest, ties to even) to dtype,
    subnormals and overflow included, as a Python float."""
    if mpmath.isnan(v):
        return math.nan
    if mpmath.isinf(v):
        return math.copysign(math.inf, v)
    prec, least = _FORMAT[dtype]
    _, e = mpmath.frexp(v)                 # v = m 2^e, 1/2 <= |m| < 1
    q = max(int(e) - prec, least)          # exponent of v's ULP
    r = mpmath.nint(mpmath.ldexp(v, -q))   # ties to even
    fi = np.finfo(dtype)
    if abs(r) * mpmath.mpf(2) ** q > float(fi.max):
        return math.copysign(math.inf, v)
    out = float(mpmath.ldexp(r, q))        # exact: r has at most prec bits
    return (-0.0 if v < 0 else 0.0) if out == 0 else out


def correctly_rounded(op: OpInfo, x: float, dtype: str) -> Optional[float]:
    """op's exact value at x rounded to dtype, or None where mpmath gives no
    real value (outside the domain, non-finite input, no mp reference) or
    the value is an exact zero (whose sign IEEE conventions decide, not
    mpmath: expm1(-0) = -0)."""
    if op.mp is None or not math.isfinite(x):
        return None
    with mpmath.workprec(AUDIT_PREC):
        try:
            v = op.mp(mpmath.mpf(x))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if not isinstance(v, mpmath.mpf) or v == 0:
            return None
        return round_to(v, dtype)


def audit(op: OpInfo, x: np.ndarray, y: np.ndarray, dtype: str) -> Tuple[np.ndarray, List[dict]]:
    """(reference values, errata): the file's outputs y with every value
    that is not the correctly rounded one replaced by it."""
    ref = y.copy()
    errata = []
    for i, (xi, yi) in enumerate(zip(x.tolist(), y.tolist())):
        cr = correctly_rounded(op, xi, dtype)
        if cr is None:
            continue
        want = np.array(cr, dtype)
        same = (want == y[i] and np.signbit(want) == np.signbit(y[i])) or \
            (np.isnan(want) and np.isnan(y[i]))
        if not same:
            ref[i] = want
            errata.append({"input": _hex(x[i]), "x": xi, "file": yi, "correctly_rounded": cr,
                           "file_off_by_ulp": float(ulp_distance(y[i:i + 1], ref[i:i + 1])[0])})
    return ref, errata


# ---- distances -------------------------------------------------------------------
def _hex(v) -> str:
    a = np.asarray(v)
    return hex(int(a.view(_BITS[a.dtype.name])))


def distances(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Integer ULP distance of got to ref per row, with special values
    exact: inf where a NaN, an infinity or a zero's sign disagrees."""
    d = ulp_distance(got, ref)
    nonfinite = ~np.isfinite(got) | ~np.isfinite(ref)
    same_special = (got == ref) | (np.isnan(got) & np.isnan(ref))
    d = np.where(nonfinite, np.where(same_special, 0.0, np.inf), d)
    zero_sign = (got == 0) & (ref == 0) & (np.signbit(got) != np.signbit(ref))
    return np.where(zero_sign, np.inf, d)


def vector_bound(op: OpInfo, dtype: str, backend: str) -> float:
    if dtype == "float32":
        return FLOAT32_BOUND
    bound = op.bound_for("float64", backend)
    return float(FLOAT64_DEFAULT_BOUND if bound is None else bound)


def check_validation_set(op: OpInfo, dtype: str, backend: str) -> Result:
    res = Result("numpy-vectors", op.id, dtype, backend)
    path = file_for(op)
    if dtype not in _BITS or path is None:
        res.status = "skip"
        res.extra["reason"] = (
            f"{dtype}: the files hold float32 and float64 rows only" if dtype not in _BITS else
            "this numpy ships no umath-validation-set files" if data_dir() is None else
            f"numpy ships no validation file for {op.id}")
        return res
    x, y, numpy_tol = read_rows(path, dtype)
    res.extra.update(file=os.path.basename(path), numpy_tol=numpy_tol)
    if x.size == 0:
        res.status = "skip"
        res.extra["reason"] = f"{os.path.basename(path)} has no {dtype} rows"
        return res
    ref, errata = audit(op, x, y, dtype)
    try:
        got = run_on(backend, op.call, [tensor_of(x)])[0]
    except Exception as e:  # noqa: BLE001
        res.fail(f"{op.id} {dtype}: raised {type(e).__name__}: {e}")
        return res
    if got.dtype != np.dtype(dtype) or got.shape != x.shape:
        res.fail(f"{op.id} {dtype}: result {got.dtype}{got.shape}, expected {dtype}{x.shape}")
        return res
    with np.errstate(all="ignore"):
        mine = getattr(np, NUMPY_NAME[op.name])(x)
    d = distances(got, ref)
    d_np = distances(mine, ref)
    res.n = int(x.size)
    res.bound = vector_bound(op, dtype, backend)
    res.max_ulp = float(np.max(d))
    res.mean_ulp = float(np.mean(d))
    res.extra.update(
        numpy_max_ulp=float(np.max(d_np)), numpy_mean_ulp=float(np.mean(d_np)),
        max_ulp_vs_file=float(np.max(distances(got, y))),
        correctly_rounded_rows=int(np.sum(d == 0)),
        file_errata=errata[:20], file_errata_count=len(errata))
    for i in np.nonzero(d > res.bound)[0][:20]:
        res.fail(f"{op.id} {dtype} [numpy vectors {os.path.basename(path)}]: "
                 f"x = {x[i]!r} ({_hex(x[i])}): got {got[i]!r} ({_hex(got[i])}), "
                 f"expected {ref[i]!r} ({_hex(ref[i])}): {d[i]:g} ULP > {res.bound:g}")
    return res


def validation_ops(entries) -> List[OpInfo]:
    """The entries with a NumPy validation file (check_validation_set applies)."""
    return [e for e in entries if file_for(e) is not None]
