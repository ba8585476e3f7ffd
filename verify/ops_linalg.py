"""OpInfo entries of matmul and its forms. Tolerances are relative to the
largest |reference| of the sample (float32 dot products of length k err by
about k eps sum|a||b|)."""
from __future__ import annotations

import re

import numpy as np

import tinyfin as tf

from .bounds import matmul_bound
from .opdb import ErrorInput, OpInfo, Sample, Tol, finite_values

TOL = {"float32": Tol(rtol=1e-5, atol=1e-6), "float64": Tol(rtol=1e-13, atol=1e-15)}


def _pairs(pairs, layouts=("contiguous",)):
    def gen(dtype, rng):
        out = []
        for sa, sb in pairs:
            for lay in layouts:
                a, b = finite_values(dtype, sa, rng, -2, 2), finite_values(dtype, sb, rng, -2, 2)
                out.append(Sample((a, b), layout=lay, desc=f"{sa} @ {sb} {lay}",
                                  grad=0 < a.size <= 30 and b.size <= 30))
        return out
    return gen


# Sizes past every blocked path of matmul.c: n above the 512-column packing
# panel and k above the 256-deep one, neither a multiple of the 4 x 32
# register tile, m above the 64-row block that threads split (70 = 64 + 6,
# 67 = 16 * 4 + 3, 530 = 512 + 18 = 16 * 32 + 18, 300 = 256 + 44).
LARGE = {
    "matmul": [((70, 300), (300, 530)), ((2, 67, 260), (260, 515)), ((600,), (600, 530)),
               ((70, 600), (600,))],
    "mm": [((70, 300), (300, 530))],
    "bmm": [((2, 67, 260), (2, 260, 515))],
    "mv": [((70, 600), (600,))],
    "dot": [((5000,), (5000,))],
    "outer": [((300,), (130,))],
}


# Samples for the kernels of every backend (parity compares them with the
# cpu's): sizes past the cpu kernel's blocks and panels that OpenBLAS runs as
# gemm (one dim >= 512), each operand in the layouts a BLAS call must tell
# apart (x.T views: a transpose flag; row-padded: a leading dimension above
# the row length; x[:, ::2] and flipped (negative strides): copied first),
# batches with a broadcast batch dim, 1-D operands (gemv, dot), k = 0 and an
# empty batch. (shape a, shape b, layouts of a and b.)
_C, _T, _S, _P, _PT, _F = "contiguous", "mT", "strided", "row-padded", "mT-padded", "flipped"
_M = ((300, 257), (257, 190))
BACKEND = {
    "matmul": [_M + ((_C, _C),), _M + ((_T, _T),), _M + ((_P, _PT),), _M + ((_S, _C),),
               _M + ((_T, _P),), _M + ((_F, _F),),
               ((40, 600), (600, 530), (_C, _C)), ((40, 600), (600, 530), (_PT, _T)),
               ((3, 1, 40, 33), (2, 33, 50), (_C, _C)), ((3, 1, 40, 33), (2, 33, 50), (_T, _T)),
               ((3, 1, 40, 33), (2, 33, 50), (_P, _F)), ((2, 130, 257), (257, 70), (_C, _C)),
               ((257,), (257, 190), (_C, _C)), ((257,), (257, 190), (_S, _T)),
               ((257,), (257, 190), (_F, _P)), ((300, 257), (257,), (_C, _C)),
               ((300, 257), (257,), (_T, _S)), ((300, 257), (257,), (_P, _F)),
               ((1, 257), (257, 190), (_T, _C)), ((300, 257), (257, 1), (_P, _T)),
               ((600,), (600,), (_C, _C)), ((600,), (600,), (_S, _F)),
               ((5, 0), (0, 7), (_C, _C)), ((2, 3, 0), (2, 0, 4), (_C, _T)),
               ((0, 3, 4), (4, 5), (_C, _C)), ((0, 3, 4), (1, 4, 5), (_C, _C))],
    "mm": [_M + ((_C, _C),), _M + ((_T, _T),), _M + ((_P, _PT),), _M + ((_F, _S),),
           ((40, 600), (600, 530), (_C, _C)), ((1, 257), (257, 190), (_C, _T)),
           ((5, 0), (0, 7), (_C, _C))],
    "bmm": [((3, 40, 33), (3, 33, 50), (_C, _C)), ((3, 40, 33), (3, 33, 50), (_T, _T)),
            ((3, 40, 33), (3, 33, 50), (_P, _PT)), ((3, 40, 33), (3, 33, 50), (_F, _S)),
            ((2, 130, 257), (2, 257, 70), (_C, _C)), ((2, 3, 0), (2, 0, 4), (_C, _C)),
            ((0, 3, 4), (0, 4, 5), (_C, _C))],
    "mv": [((300, 257), (257,), (_C, _C)), ((300, 257), (257,), (_T, _S)),
           ((300, 257), (257,), (_P, _F)), ((70, 600), (600,), (_PT, _C)),
           ((5, 0), (0,), (_C, _C))],
    "dot": [((600,), (600,), (_C, _C)), ((600,), (600,), (_S, _F)), ((257,), (257,), (_F, _C))],
}


def _backend_samples(name):
    def gen(dtype, rng):
        out = []
        for sa, sb, lays in BACKEND.get(name, ()):
            a, b = finite_values(dtype, sa, rng, -2, 2), finite_values(dtype, sb, rng, -2, 2)
            out.append(Sample((a, b), layout=lays, desc=f"{sa} @ {sb} {'/'.join(lays)}",
                              grad=False))
        return out
    return gen


def _samples(name, pairs):
    small = _pairs(pairs, ("contiguous", "transposed", "strided"))
    big = _backend_samples(name)
    return lambda dtype, rng: small(dtype, rng) + big(dtype, rng)


def _matmul_error_bound(dtype, a, b):
    return matmul_bound(dtype, a, b)


def _entry(name, call, ref, pairs, aliases=(), errors=(), higham=()):
    return OpInfo(name, call, ref, "linalg", dtypes=("float32", "float64", "int64"),
                  samples=_samples(name, pairs),
                  # outer is a broadcast multiply (linalg.py), not a product
                  kernels=("mul",) if name == "outer" else ("matmul",),
                  aliases=aliases, methods=(name,) + aliases, differentiable=True,
                  gradgrad=True, tol=dict(TOL), errors=lambda: list(errors),
                  higham=higham, large=_pairs(LARGE[name], ("contiguous", "transposed")),
                  error_bound=_matmul_error_bound if name != "outer" else
                  (lambda dtype, a, b: matmul_bound(dtype, a[:, None], b[None, :])))


ENTRIES = [
    _entry("matmul", tf.matmul, np.matmul,
           [((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)),
            ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((0, 4), (4, 3)),
            ((3, 0), (0, 2)), ((130, 70), (70, 90))],
           errors=[ErrorInput("inner mismatch", lambda: tf.matmul(tf.ones(2, 3), tf.ones(2, 3)),
                              ValueError, r"matmul: shapes \(2, 3\) and \(2, 3\) cannot be multiplied"),
                   ErrorInput("0-d", lambda: tf.matmul(tf.ones(()), tf.ones(2)), ValueError,
                              r"matmul: both arguments need at least 1 dimension")],
           higham=("dot", "mv", "vm", "mm", "bmm")),
    _entry("mm", tf.mm, np.matmul, [((3, 4), (4, 5)), ((0, 2), (2, 3))], higham=("mm",)),
    _entry("bmm", tf.bmm, np.matmul, [((2, 3, 4), (2, 4, 5)), ((2, 2, 3), (2, 3, 2))],
           higham=("bmm",)),
    _entry("mv", tf.mv, np.matmul, [((3, 4), (4,))], higham=("mv",)),
    _entry("dot", tf.dot, lambda a, b: np.asarray(np.dot(a, b)), [((5,), (5,)), ((0,), (0,))],
           aliases=("inner",), higham=("dot",)),
    _entry("outer", tf.outer, np.outer, [((3,), (4,))], aliases=("ger",)),
]


# ---- error inputs of the fixed-rank forms: the wrong rank, inner sizes that
# do not match, mixed dtypes; each message names the op the user called.
def _wrong_rank(op, call, ndim, shape):
    return ErrorInput(f"not {ndim}-D", call, ValueError,
                      rf"{op}: expected a {ndim}-D tensor, got shape {re.escape(shape)}")


def _inner_mismatch(op, call, a, b, ka, kb):
    return ErrorInput("inner sizes differ", call, ValueError,
                      rf"{op}: shapes {re.escape(a)} and {re.escape(b)} cannot be "
                      rf"multiplied \({ka} != {kb}\)")


def _mixed_dtypes(op, call):
    return ErrorInput("mixed dtypes", call, TypeError,
                      rf"{op}: expected both operands to have the same dtype, got "
                      r"float32 and int64")


_I64 = dict(dtype=tf.int64)
_ERRORS = {
    "mm": lambda: [
        _wrong_rank("mm", lambda: tf.mm(tf.ones(3), tf.ones(3, 2)), 2, "(3,)"),
        _inner_mismatch("mm", lambda: tf.mm(tf.ones(2, 3), tf.ones(2, 3)),
                        "(2, 3)", "(2, 3)", 3, 2),
        _mixed_dtypes("mm", lambda: tf.mm(tf.ones(2, 3), tf.ones(3, 2, **_I64)))],
    "bmm": lambda: [
        _wrong_rank("bmm", lambda: tf.bmm(tf.ones(2, 3), tf.ones(3, 2)), 3, "(2, 3)"),
        ErrorInput("batch sizes differ", lambda: tf.bmm(tf.ones(2, 2, 3), tf.ones(3, 3, 2)),
                   ValueError, r"bmm: batch sizes differ: \(2, 2, 3\) and \(3, 3, 2\)"),
        _inner_mismatch("bmm", lambda: tf.bmm(tf.ones(2, 2, 3), tf.ones(2, 2, 2)),
                        "(2, 2, 3)", "(2, 2, 2)", 3, 2)],
    "mv": lambda: [
        _inner_mismatch("mv", lambda: tf.mv(tf.ones(3, 4), tf.ones(3)), "(3, 4)", "(3,)", 4, 3),
        _wrong_rank("mv", lambda: tf.mv(tf.ones(3, 4), tf.ones(4, 1)), 1, "(4, 1)"),
        _mixed_dtypes("mv", lambda: tf.mv(tf.ones(3, 4), tf.ones(4, **_I64)))],
    "dot": lambda: [
        ErrorInput("lengths differ", lambda: tf.dot(tf.ones(3), tf.ones(4)), ValueError,
                   r"dot: expected two 1-D tensors of one length, got \(3,\) and \(4,\)"),
        _wrong_rank("dot", lambda: tf.dot(tf.ones(3, 1), tf.ones(3, 1)), 1, "(3, 1)"),
        _mixed_dtypes("dot", lambda: tf.dot(tf.ones(3), tf.ones(3, **_I64)))],
    "outer": lambda: [
        _wrong_rank("outer", lambda: tf.outer(tf.ones(3, 1), tf.ones(3)), 1, "(3, 1)"),
        ErrorInput("non-tensor", lambda: tf.outer([1.0], tf.ones(3)), TypeError,
                   r"outer: expected a Tensor as input, got list")],
}
for _e in ENTRIES:
    if _e.name in _ERRORS:
        _e.errors = _ERRORS[_e.name]
