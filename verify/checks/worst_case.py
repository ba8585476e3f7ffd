"""Worst-case search of the accuracy check: after the stratified sweep, look
harder where the error is largest.

A sweep of 10^5 points puts ~20 in each binade, so a window of excess error
a few hundredths wide (float64 sigmoid near x = -36.74, where e^-x crosses
2^53 and 1 + e^-x starts to round) is usually missed. Such windows are not
needles, though: the rounding errors inside are random, but the factor that
magnifies them (a result just below a power of two, an intermediate that
crosses a precision boundary, a formula used close to its limit) varies
smoothly with x. So the search, in stages, each a share of its budget:

  cells   every binade of each sign in the op's working range (2^-30 up to
          64 times its sample range, in float64), plus the binades where
          the sweep erred most: a beam search within each, splitting the
          intervals kept 8 ways and keeping the 2 worst (by successive
          halving), four times, down to 1/4096 of the binade;
  switch  each of the op's switch points (OpInfo.switch_points: where its
          kernel changes formula or an intermediate crosses a precision
          boundary) approached from both sides in geometric steps down to
          single ULPs, and sampled densely within 1/8 of it;
  zoom    a short zoom from each binade's final intervals, then a long one
          from the worst point of each of the 12 worst binades: intervals
          8 times narrower per level around the worst point so far, so the
          search climbs the magnifying factor to its peak;
  ulp     every float within 32 ULPs of each long zoom's end point.

`evaluate(x)` gives the errors (in ULPs) of the op at x; the search returns
the points it tried, their errors and the stage of each, so the check can
report the worst point and keep it in the plot. Over seeds 0-7 at the
default depth, on the kernels before double-double, the cells and zoom
stages alone (no switch point declared) found float64 sigmoid's window in
8 runs, silu's in 5 and gelu's (seeds 0-2) in 3; with the switch points,
each of seeds 0-2 found all three (sigmoid 2.42-2.47, silu 2.09-2.18,
gelu 4.34-4.50 ULP).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Tuple

import numpy as np

from ..opdb import OpInfo

STAGES = ("sweep", "cells", "switch", "zoom", "ulp")
SHARES = {"cells": 0.7, "switch": 0.1, "zoom": 0.2}
BEAM, SPLIT = 2, 8      # the refinement of each binade: intervals kept, split
K_MIN = 4               # fewest points per interval and round
# its levels' shares of the cells' budget: the first, whose intervals are
# widest, needs the most points to tell a narrow window from the noise
LEVEL_SHARES = (0.55, 0.15, 0.15, 0.15)
SEEDS = 12              # zoom starting points, from distinct binades
LEVELS = 10             # zoom levels, each 8 times narrower
CELL_ZOOM_LEVELS = 3    # the short zoom in every binade
ULP_STEPS = 32          # floats on either side of a zoom's end point
EXTRA_CELLS = 16        # binades outside the working range, by sweep error


def _cell(x: np.ndarray) -> np.ndarray:
    """(sign, binade) of each point as one integer key."""
    _, e = np.frexp(np.abs(x.astype(np.float64)))
    return np.where(np.signbit(x), -1, 1) * (e.astype(np.int64) + 2000)


def _working_binades(op: OpInfo, dtype) -> range:
    fi = np.finfo(dtype)
    reach = max(abs(op.sample_range[0]), abs(op.sample_range[1]), 1.0) * 64
    top = min(int(math.ceil(math.log2(reach))), fi.maxexp)
    return range(-(fi.nmant // 2 + 7), top)       # float64: 2^-30 .. ; float32: 2^-18 ..


def _in_domain(op: OpInfo, v: float) -> bool:
    return op.domain is None or bool(op.domain(v))


def _cell_keys(op, dtype, x, err, n) -> List[Tuple[float, int]]:
    """(sign, binade) of every cell the search refines: the working range
    and the EXTRA_CELLS outside it where the sweep erred most; when the
    budget n cannot give each K_MIN points per interval and round, only
    those where the sweep erred most."""
    keys = [(sign, e) for e in _working_binades(op, dtype) for sign in (1.0, -1.0)
            if _in_domain(op, sign * 1.5 * 2.0 ** e)]
    best: Dict[int, float] = {}
    fin = np.isfinite(err) & np.isfinite(x) & (x != 0)
    for key, v in zip(_cell(x[fin]).tolist(), err[fin].tolist()):
        best[key] = max(best.get(key, -1.0), v)
    have = {int(s * (e + 1 + 2000)) for s, e in keys}
    extra = sorted(((v, key) for key, v in best.items() if key not in have), reverse=True)
    keys += [(1.0 if key > 0 else -1.0, abs(key) - 2000 - 1) for _, key in extra[:EXTRA_CELLS]]
    afford = max(1, int(n // (K_MIN * sum(_level_cost(lv) for lv in range(len(LEVEL_SHARES))))))
    if len(keys) > afford:
        keys.sort(key=lambda k: -best.get(int(k[0] * (k[1] + 1 + 2000)), -1.0))
        keys = keys[:afford]
    return keys


def _rounds(level: int) -> Tuple[int, int]:
    """(candidates per cell, successive-halving rounds) at a level"""
    per_cell = SPLIT * (1 if level == 0 else BEAM)
    return per_cell, max(1, int(math.log2(per_cell / BEAM)))


def _level_cost(level: int) -> float:
    """points per cell at a level, per point given to each candidate"""
    per_cell, rounds = _rounds(level)
    return per_cell * (2 - 2.0 ** (1 - rounds))


def _refine_cells(op, dtype, x, err, n, rng, run) -> List[Tuple[float, float]]:
    """Within each cell, a beam search over sub-intervals, once per entry of
    LEVEL_SHARES (a binade down to 1/8^4 of it): split each of the BEAM
    intervals kept SPLIT ways, then halve the candidates by successive
    halving (sample every candidate, keep the half whose largest error so
    far is largest, sample the survivors again, ...) down to BEAM. Returns
    (x, width) of every cell's final intervals: the worst point in each."""
    keys = _cell_keys(op, dtype, x, err, n)
    if not keys:
        return []
    signs = np.array([s for s, _ in keys])
    # each cell's beam: intervals [a, b) of the magnitude, its sign apart
    top = float(np.finfo(dtype).max)
    beams = [[(math.ldexp(1.0, e), min(math.ldexp(1.0, e + 1) if e < 1023 else top, top))]
             for _, e in keys]
    final: List[Tuple[float, float]] = []
    for level, share in enumerate(LEVEL_SHARES):
        cand = [(c, a + j * (b - a) / SPLIT, a + (j + 1) * (b - a) / SPLIT)
                for c, beam in enumerate(beams) for a, b in beam for j in range(SPLIT)]
        per_cell, rounds = _rounds(level)
        # every round samples k points in each survivor; survivors halve
        k = max(K_MIN, int(n * share / (len(keys) * _level_cost(level))))
        seen = [np.zeros((0, 2)) for _ in cand]
        alive = list(range(len(cand)))
        for r in range(rounds):
            lo = np.repeat([cand[i][1] for i in alive], k)
            w = np.repeat([cand[i][2] - cand[i][1] for i in alive], k)
            sg = np.repeat([signs[cand[i][0]] for i in alive], k)
            with np.errstate(all="ignore"):
                pts = (sg * (lo + w * rng.random(lo.size))).astype(dtype)
            e = run(pts, "cells", keep_nonfinite=True)
            e = np.where(np.isfinite(e), e, -1.0)
            for j, i in enumerate(alive):
                seg = np.stack([pts[j * k:(j + 1) * k].astype(np.float64), e[j * k:(j + 1) * k]], 1)
                seen[i] = np.concatenate([seen[i], seg])
            keep = max(BEAM, per_cell >> (r + 1))
            by_cell: Dict[int, List[int]] = {}
            for i in alive:
                by_cell.setdefault(cand[i][0], []).append(i)
            alive = [i for ids in by_cell.values()
                     for i in sorted(ids, key=lambda i: -seen[i][:, 1].max())[:keep]]
        beams = [[] for _ in keys]
        for i in alive:
            beams[cand[i][0]].append(cand[i][1:])
    for i in alive:
        j = int(np.argmax(seen[i][:, 1]))
        final.append((float(seen[i][j, 0]), cand[i][2] - cand[i][1]))
    return final


def _steps(s: float, dtype, k: int) -> np.ndarray:
    """The k floats on either side of s, and s."""
    itype = np.int32 if np.dtype(dtype) == np.float32 else np.int64
    with np.errstate(over="ignore"):
        base = np.array([s], dtype)
    if base[0] == 0:
        base = np.array([0.0], dtype)
    b = int(base.view(itype)[0])
    # walk through zero correctly: steps in the ordered-integer space
    o = b if b >= 0 else -(b & np.iinfo(itype).max)
    ks = np.arange(o - k, o + k + 1, dtype=np.int64)
    ii = np.where(ks >= 0, ks, (-ks) | np.int64(np.iinfo(itype).min)).astype(itype)
    out = ii.view(dtype)
    return out[np.isfinite(out)]


def _switch(op, dtype, n, rng) -> np.ndarray:
    fi = np.finfo(dtype)
    # a float64 kernel's switch points beyond the float32 range do not apply
    pts = [p for p in op.switch_points if math.isfinite(p) and abs(p) <= float(fi.max)
           and (p == 0 or abs(p) >= float(fi.smallest_subnormal))]
    if not pts:
        return np.zeros(0, dtype)
    nmant = np.finfo(dtype).nmant
    per = max(64, n // len(pts) - 2 * ULP_STEPS - 2 * nmant)
    out = []
    for s in pts:
        scale = abs(s) if s != 0 else float(np.finfo(dtype).tiny)
        rel = 2.0 ** -np.arange(1, nmant + 1)
        out += [_steps(s, dtype, ULP_STEPS),
                np.concatenate([s + scale * rel, s - scale * rel]),
                s + scale / 8 * rng.uniform(-1, 1, per)]
    with np.errstate(all="ignore"):
        return np.concatenate(out).astype(dtype)


def _seeds(x, err, k) -> List[Tuple[float, float]]:
    """(x, width) of the worst finite-error point of each of the k binades
    that hold the worst ones (so that one plateau does not take every seed)."""
    fin = np.isfinite(err) & np.isfinite(x) & (x != 0)
    order = np.argsort(-err[fin], kind="stable")
    xs, cells = x[fin][order], _cell(x[fin][order])
    _, first = np.unique(cells, return_index=True)
    return [(float(v), abs(float(v)) / 2 ** 12) for v in xs[np.sort(first)[:k]]]


def _zoom(starts: List[Tuple[float, float, float]], levels: int, per: int, dtype, rng,
          run) -> List[Tuple[float, float]]:
    """From each (x, width, error) in starts, `levels` times: sample `per`
    points within width of the best point so far, move there if one is
    worse, narrow 8-fold. Returns each start's (x, error) at the end."""
    best = [(x, e) for x, _, e in starts]
    width = [w for _, w, _ in starts]
    fi = np.finfo(dtype)
    for _ in range(levels):
        live = [i for i, (x, _) in enumerate(best) if width[i] > 4 * ULP_STEPS * float(
            np.spacing(np.abs(dtype(min(abs(x), fi.max / 2)))))]
        if not live:
            break
        with np.errstate(all="ignore"):
            pts = np.concatenate([best[i][0] + width[i] * rng.uniform(-1, 1, per) for i in live])
            pts = np.clip(pts, -fi.max, fi.max).astype(dtype)
        e = np.where(np.isfinite(e := run(pts, "zoom", keep_nonfinite=True)), e, -1.0)
        for j, i in enumerate(live):
            k = j * per + int(np.argmax(e[j * per:(j + 1) * per]))
            if e[k] > best[i][1]:
                best[i] = (float(pts[k]), float(e[k]))
            width[i] /= 8
    return best


def search(op: OpInfo, dtype, x: np.ndarray, err: np.ndarray,
           evaluate: Callable[[np.ndarray], np.ndarray], budget: int,
           rng) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, errors, stage index per point) of the search that follows a
    sweep of points x with errors err; about `budget` evaluations."""
    dtype = np.dtype(dtype).type
    xs, es, st = [], [], []

    def run(pts, stage, keep_nonfinite=False):
        ok = np.isfinite(pts)
        e = np.full(pts.size, np.nan)
        if np.any(ok):
            e[ok] = evaluate(pts[ok])
            xs.append(pts[ok])
            es.append(e[ok])
            st.append(np.full(int(ok.sum()), STAGES.index(stage), np.int8))
        return e if keep_nonfinite else e[ok]

    finals = _refine_cells(op, dtype, x, err, int(budget * SHARES["cells"]), rng, run)
    run(_switch(op, dtype, int(budget * SHARES["switch"]), rng), "switch")
    # a short zoom from every cell's final intervals, so that a window the
    # beam kept gets its chance against a broad plateau of slightly lower
    # error (sigmoid's 2.4 ULP near -36.7 against 2.0 on [-2^-30, -0.5]) ...
    zoom = int(budget * SHARES["zoom"])
    if finals:
        short = [(v, w, -1.0) for v, w in finals]
        _zoom(short, CELL_ZOOM_LEVELS, max(8, zoom // 3 // (len(short) * CELL_ZOOM_LEVELS)),
              dtype, rng, run)
    # ... then a long one from the worst point of each of the SEEDS worst
    # binades, and every float within ULP_STEPS of where each ends
    allx = np.concatenate([x] + xs)
    alle = np.concatenate([err] + es)
    starts = [(v, w, float(alle[allx == v].max(initial=-1.0))) for v, w in _seeds(allx, alle, SEEDS)]
    per = max(16, (zoom - zoom // 3) // max(1, len(starts) * LEVELS))
    ends = _zoom(starts, LEVELS, per, dtype, rng, run)
    if ends:
        run(np.concatenate([_steps(v, dtype, ULP_STEPS) for v, _ in ends]), "ulp")
    if not xs:
        return np.zeros(0, dtype), np.zeros(0), np.zeros(0, np.int8)
    return np.concatenate(xs), np.concatenate(es), np.concatenate(st)
