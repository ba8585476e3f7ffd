"""ULP arithmetic shared by the checks: integer ULP distance between two
floats of one dtype, and real-valued ULP error of a result against an exact
value held as a float64 pair (hi + lo, a "double-double")."""
from __future__ import annotations

import numpy as np

FLOAT_INFO = {np.dtype(np.float32): np.finfo(np.float32),
              np.dtype(np.float64): np.finfo(np.float64)}


def ordered(a: np.ndarray) -> np.ndarray:
    """Integers whose difference is the ULP distance (+0 and -0 both 0)."""
    a = np.asarray(a)
    if a.dtype == np.float32:
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    if a.dtype == np.float64:
        i = a.view(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFFFFFFFFFF), i).astype(object)
    raise TypeError(f"ulp distance of {a.dtype}")


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ULP distance of two arrays of one float dtype; 0 where
    both are NaN, inf where only one is."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    d = np.abs(ordered(a) - ordered(b)).astype(np.float64)
    na, nb = np.isnan(a), np.isnan(b)
    d = np.where(na & nb, 0.0, d)
    return np.where(na != nb, np.inf, d)


def wrong_zero_sign(actual: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Where `actual` is a zero of the other sign than an exactly zero
    reference `exact` (its float64 value, before any rounding to the
    result's dtype). ulp_distance counts +0 and -0 as equal, so a kernel that
    drops a -0 (0 - x for -x, x * y + 0) would pass on ULPs alone; IEEE 754
    (and PyTorch) fix the sign of an exact zero result, so it must match.
    A reference that only rounds to zero (an underflow) is not an exact
    zero, so its sign is not checked here."""
    a = np.asarray(actual)
    r = np.asarray(exact, np.float64)
    return (a == 0) & (r == 0) & (np.signbit(a) != np.signbit(r))


def ulp_of(x: np.ndarray, dtype) -> np.ndarray:
    """The ULP of the exact (float64) values x in the format dtype: the gap
    between consecutive dtype numbers in x's binade (subnormal spacing below
    the normal range). Used as the unit of real-valued errors."""
    fi = FLOAT_INFO[np.dtype(dtype)]
    x = np.abs(np.asarray(x, np.float64))
    with np.errstate(all="ignore"):
        _, e = np.frexp(x)          # x = m 2^e, 0.5 <= m < 1
    e = np.maximum(e - 1, fi.minexp)
    return np.ldexp(1.0, (e - fi.nmant).astype(np.int64))


def rounded(hi: np.ndarray, lo: np.ndarray, dtype) -> np.ndarray:
    """hi + lo correctly rounded to dtype. For float32, hi rounds once; a tie
    (hi exactly halfway between two float32 numbers) is broken by lo's sign,
    which is the only case where lo changes the result."""
    dtype = np.dtype(dtype)
    hi = np.asarray(hi, np.float64)
    lo = np.asarray(lo, np.float64)
    if dtype == np.float64:
        return hi.copy()
    with np.errstate(all="ignore"):
        r = hi.astype(np.float32)
        fin = np.isfinite(hi) & (lo != 0)
        if np.any(fin):
            up = np.nextafter(r, np.float32(np.inf))
            down = np.nextafter(r, np.float32(-np.inf))
            # r - hi is exact in float64; a tie makes it half an ULP.
            diff = r.astype(np.float64) - hi
            half = ulp_of(hi, np.float32) / 2
            tie = fin & (np.abs(diff) == half)
            # hi + lo lies on the side of lo: take the neighbour nearer to it.
            want_up = tie & (lo > 0) & (diff < 0)
            want_down = tie & (lo < 0) & (diff > 0)
            r = np.where(want_up, up, np.where(want_down, down, r))
    return r


def real_ulp_error(actual: np.ndarray, hi: np.ndarray, lo: np.ndarray,
                   dtype) -> np.ndarray:
    """|actual - (hi + lo)| in ULPs of (hi + lo) in dtype (0.5 = correctly
    rounded). Special values: 0 where actual equals the correctly rounded
    reference exactly (infinities, NaN, signed zeros included), inf where a
    NaN or infinity is on one side only or a zero has the wrong sign."""
    dtype = np.dtype(dtype)
    a = np.asarray(actual).astype(np.float64)
    hi = np.asarray(hi, np.float64)
    lo = np.asarray(lo, np.float64)
    expect = rounded(hi, lo, dtype).astype(np.float64)
    with np.errstate(all="ignore"):
        # (a - hi) is exact when a and hi are close (Sterbenz); far apart the
        # error is large anyway and its last bits do not matter.
        err = np.abs((a - hi) - lo) / ulp_of(hi, dtype)
    special = ~np.isfinite(a) | ~np.isfinite(expect) | (expect == 0) | (a == 0)
    same = (a == expect) & (np.signbit(a) == np.signbit(expect))
    same |= np.isnan(a) & np.isnan(expect)
    # a zero or an overflowed result compares exactly; a finite non-zero one
    # next to a zero reference is still measured in subnormal ULPs.
    both_finite = np.isfinite(a) & np.isfinite(expect)
    zero_sign_ok = ~((a == 0) & (expect == 0)) | (np.signbit(a) == np.signbit(expect))
    measured = np.where(both_finite & zero_sign_ok & ~((a == 0) & (expect == 0)),
                        err, np.inf)
    return np.where(same, np.where(special, 0.0, err), np.where(special, measured, err))
