"""The outputs of a run: the text table, report.json and index.html.

index.html is one self-contained file (CSS, script and plots inline, no
external reference), so it can be mailed or archived as it is. It opens
with the verdict, then the failures, then the table of every op x dtype x
backend (failures first; the script in report.js sorts and filters it, also
from the URL: index.html?status=FAIL&dtype=float32), the backends side by
side (a column per backend: pass / FAIL / fallback and the worst ULP,
parity and Higham figures), the comparison with NumPy, and one section per op (anchor #op-<name>) with its checks, its
failure messages and, for the unary math ops, a plot of the ULP error over
the dtype's whole range with the worst point found marked and labelled.

matplotlib is imported only here, lazily, so the library itself never needs
it; TINYFIN_NO_PLOTS=1 leaves the plots out (the ASAN run sets it)."""
from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
import os
import re
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from .checks.common import Result

HERE = os.path.dirname(os.path.abspath(__file__))

# Statuses from worst to best: the order of the table, and of a row's status.
# "fallback": a backend other than the reference has no kernel of its own
# for the op x dtype, so the cpu kernels run there (checks/fallback.py) and
# the full checks did not; it is no failure, and no pass of that backend.
STATUS_ORDER = ("FAIL", "XFAIL", "pass", "fallback", "skip")


def _fmt(v, nd=3):
    if v is None:
        return "-"
    if v == float("inf"):
        return "inf"
    return f"{v:.{nd}g}"


# ---- rows: one per op x dtype x backend -------------------------------------------
@dataclasses.dataclass
class Row:
    op: str
    dtype: str                  # "" for the checks that do not depend on one
    backend: str
    results: List[Result]

    @property
    def status(self) -> str:
        """The worst status among the row's checks."""
        have = {r.status for r in self.results}
        return next((s for s in STATUS_ORDER if s in have), "skip")

    @property
    def accuracy(self) -> Optional[Result]:
        """The most thorough ULP measurement: exhaustive, else the accuracy
        sweep, else forward."""
        for check in ("exhaustive", "accuracy", "forward"):
            r = next((r for r in self.results if r.check == check), None)
            if r is not None:
                return r
        return None

    @property
    def grad_err(self) -> Optional[float]:
        """The backward's ULP error against mpmath where measured, else
        gradcheck's worst |analytic - numeric| / max(|numeric|, 1)."""
        grads = [r.grad_err for r in self.results
                 if r.check == "grad-accuracy" and r.grad_err is not None] \
            or [r.grad_err for r in self.results if r.grad_err is not None]
        return max(grads) if grads else None


def rows_of(results: List[Result]) -> List[Row]:
    """The rows, sorted by op, dtype and backend; each keeps its checks in
    the order they ran."""
    rows: Dict[Tuple[str, str, str], Row] = {}
    for r in results:
        key = (r.op, r.dtype if r.dtype != "-" else "", r.backend)
        rows.setdefault(key, Row(*key, [])).results.append(r)
    return [rows[k] for k in sorted(rows)]


def failures_first(rows: List[Row]) -> List[Row]:
    """FAIL rows, then XFAIL, pass and skip; by op, dtype, backend within each
    (sorted() is stable, and rows_of sorted them so)."""
    return sorted(rows, key=lambda row: STATUS_ORDER.index(row.status))


def summary(results: List[Result]) -> Dict[str, object]:
    """The verdict's numbers: every check run, by status."""
    count = {s: sum(r.status == s for r in results) for s in STATUS_ORDER}
    by_backend: Dict[str, Dict[str, int]] = {}
    for r in results:
        c = by_backend.setdefault(r.backend, {s: 0 for s in STATUS_ORDER})
        c[r.status] = c.get(r.status, 0) + 1
    return {"verdict": "FAIL" if count["FAIL"] else "pass", "checks": len(results),
            "failed": count["FAIL"], "xfail": count["XFAIL"], "passed": count["pass"],
            "fallback": count["fallback"], "skipped": count["skip"],
            "by_backend": {b: by_backend[b] for b in sorted(by_backend, key=_backend_key)}}


def _backend_key(b: str):
    """The reference backend first, then the others by name."""
    return (b != "cpu", b)


def table(results: List[Result]) -> str:
    """One row per op x dtype x backend: every check's status, the max / mean
    ULP error of the exhaustive sweep where run, else of the accuracy sweep,
    else of forward, and the gradient error."""
    lines = [f"{'op':24s} {'dtype':8s} {'backend':7s} {'status':7s} {'max ULP':>9s} "
             f"{'mean ULP':>9s} {'bound':>6s} {'grad err':>9s}  checks"]
    for row in rows_of(results):
        acc = row.accuracy
        checks = ",".join(f"{r.check}:{r.status}" for r in row.results)
        lines.append(f"{row.op:24s} {row.dtype:8s} {row.backend:7s} {row.status:7s} "
                     f"{_fmt(acc.max_ulp if acc else None):>9s} "
                     f"{_fmt(acc.mean_ulp if acc else None):>9s} "
                     f"{_fmt(acc.bound if acc else None):>6s} {_fmt(row.grad_err):>9s}  {checks}")
    return "\n".join(lines)


# ---- the backends side by side --------------------------------------------------
@dataclasses.dataclass
class Cell:
    """One op x dtype on one backend: its worst status and its figures."""
    status: str
    max_ulp: Optional[float] = None         # the accuracy / forward measurement
    parity: Optional[float] = None          # parity: ULPs, or the fraction of its tolerance
    parity_unit: str = ""                   # "ULP" or "of tol"
    higham: Optional[float] = None          # Higham: the fraction of gamma_n sum|a||b| used
    reason: str = ""                        # why a fallback is one

    def text(self) -> str:
        parts = [self.status]
        if self.max_ulp is not None:
            parts.append(f"{_fmt(self.max_ulp)} ULP")
        if self.parity is not None:
            parts.append(f"parity {_fmt(self.parity)} {self.parity_unit}")
        if self.higham is not None:
            parts.append(f"higham {_fmt(self.higham)}")
        return " ".join(parts)


def backends_of(results: List[Result]) -> List[str]:
    return sorted({r.backend for r in results}, key=_backend_key)


def side_by_side(results: List[Result]) -> Tuple[List[str], List[Tuple[str, str, Dict[str, Cell]]]]:
    """(backends, rows): one row per op x dtype ("" for the checks without
    one), a Cell per backend that ran anything for it."""
    bes = backends_of(results)
    by: Dict[Tuple[str, str], Dict[str, Row]] = {}
    for row in rows_of(results):
        by.setdefault((row.op, row.dtype), {})[row.backend] = row
    out = []
    for (op, dt) in sorted(by):
        cells = {}
        for be, row in by[(op, dt)].items():
            acc = row.accuracy
            cell = Cell(row.status, max_ulp=acc.max_ulp if acc else None)
            for r in row.results:
                if r.check == "parity" and r.status != "skip":
                    if r.max_ulp is not None:
                        cell.parity, cell.parity_unit = r.max_ulp, "ULP"
                    elif r.extra.get("worst_bound_ratio") is not None:
                        cell.parity, cell.parity_unit = r.extra["worst_bound_ratio"], "of tol"
                elif r.check == "higham" and r.extra.get("worst_bound_ratio") is not None:
                    cell.higham = r.extra["worst_bound_ratio"]
                elif r.check == "fallback":
                    cell.reason = r.extra.get("reason", "")
            cells[be] = cell
        out.append((op, dt, cells))
    return bes, out


def backends_table(results: List[Result]) -> str:
    """The backends side by side, for the op x dtypes that run a kernel of
    their own on more than the reference backend (the others are fallbacks,
    counted below the table). Empty with a single backend."""
    bes, rows = side_by_side(results)
    if len(bes) < 2:
        return ""
    others = bes[1:]
    shown = [(op, dt, c) for op, dt, c in rows
             if any(b in c and c[b].status not in ("fallback", "skip") for b in others)]
    w = 44
    lines = ["backends side by side (status, worst ULP vs NumPy, parity with cpu, Higham "
             "fraction of the bound)",
             f"{'op':24s} {'dtype':8s} " + " ".join(f"{b:{w}s}" for b in bes)]
    for op, dt, cells in shown:
        lines.append(f"{op:24s} {dt:8s} " + " ".join(
            f"{(cells[b].text() if b in cells else '-'):{w}s}" for b in bes).rstrip())
    for b in others:
        n = sum(1 for _, _, c in rows if b in c and c[b].status == "fallback")
        lines.append(f"{b}: {n} op x dtype fall back to the cpu kernels (status fallback)")
    return "\n".join(lines)


def _numpy_rows(results: List[Result]) -> Dict[Tuple[str, str], Dict[str, Tuple[float, float]]]:
    """{(op, backend): {check: (tinyfin max ULP, NumPy max ULP)}} over the
    float32 rows that measured NumPy on the same inputs."""
    rows: Dict[Tuple[str, str], Dict[str, Tuple[float, float]]] = {}
    for r in results:
        if r.dtype == "float32" and "numpy_max_ulp" in r.extra and r.max_ulp is not None:
            rows.setdefault((r.op, r.backend), {})[r.check] = (r.max_ulp, r.extra["numpy_max_ulp"])
    return dict(sorted(rows.items()))


NUMPY_CHECKS = ("accuracy", "numpy-vectors")
NUMPY_CAPTION = ("float32, tinyfin / NumPy on the same inputs: max real ULP error on the mpmath "
                 "sweep; max ULPs from the correctly rounded value on NumPy's validation vectors")


def numpy_comparison(results: List[Result]) -> str:
    """float32 accuracy next to NumPy's on the same inputs: the accuracy
    sweep's points (NumPy's float32 function, where it has one) and NumPy's
    validation vectors. Empty when no row measured NumPy."""
    rows = _numpy_rows(results)
    if not rows:
        return ""
    lines = [NUMPY_CAPTION, f"{'op':24s} {'backend':7s} {'mpmath sweep':>16s} {'NumPy vectors':>16s}"]
    for (op, be), by in rows.items():
        cells = [f"{_fmt(by[c][0])} / {_fmt(by[c][1])}" if c in by else "-" for c in NUMPY_CHECKS]
        lines.append(f"{op:24s} {be:7s} {cells[0]:>16s} {cells[1]:>16s}")
    return "\n".join(lines)


def write_json(results: List[Result], path: str, meta: dict) -> None:
    rows = []
    for r in results:
        d = dict(r.__dict__)
        d["extra"] = {k: v for k, v in r.extra.items() if k != "plot"}
        rows.append(d)
    with open(path, "w") as f:
        json.dump({"meta": meta, "summary": summary(results), "results": rows}, f,
                  indent=1, default=str)


# ---- the worst point and the plot's x axis ------------------------------------------
@dataclasses.dataclass
class Worst:
    x: float
    ulp: float
    where: str      # which search found it, for the caption


def worst_point(acc: Result, exhaustive: Optional[Result] = None) -> Optional[Worst]:
    """The worst point found for an accuracy row: the sweep's own
    extra["worst"] where it records one, else the largest error among the
    plotted points; the exhaustive sweep's worst input instead when it ran
    and found a larger error."""
    found = None
    w = acc.extra.get("worst")
    if w and "x" in w and "ulp" in w:
        found = Worst(float(w["x"]), float(w["ulp"]), "the sweep")
    else:
        plot = acc.extra.get("plot") or {}
        err = plot.get("err") or []
        if err:
            i = int(np.argmax(err))
            found = Worst(float(plot["x"][i]), float(err[i]), "the plotted points")
    if exhaustive is not None and exhaustive.max_ulp is not None \
            and "x" in exhaustive.extra.get("worst", {}) \
            and (found is None or exhaustive.max_ulp > found.ulp):
        found = Worst(float(exhaustive.extra["worst"]["x"]), float(exhaustive.max_ulp),
                      "all 2^32 inputs")
    return found


def fmt_x(x: float, dtype: str) -> str:
    """x as the dtype prints it: the shortest decimal that reads back to it
    in that dtype."""
    return str(np.float32(x) if dtype == "float32" else np.float64(x))


def worst_label(w: Worst, dtype: str) -> str:
    exact = ", every point exact" if w.ulp == 0 else ""
    return f"worst x = {fmt_x(w.x, dtype)}: {_fmt(w.ulp, 4)} ULP (of {w.where}{exact})"


def binade_offset(dtype: str) -> float:
    """1 - log2 of the dtype's smallest subnormal: 150 for float32, 1075 for
    float64."""
    return 1.0 - math.log2(float(np.finfo(dtype).smallest_subnormal))


def binade_axis(x, dtype: str) -> np.ndarray:
    """sign(x) * (log2|x| + binade_offset): one unit per binade of the dtype,
    0 at zero, +-1 at the smallest subnormals, +-inf just past the largest
    finite numbers; symmetric, so both signs show."""
    x = np.asarray(x, np.float64)
    edge = axis_limit(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sign(x) * np.maximum(np.log2(np.abs(x)) + binade_offset(dtype), 0.0)
    return np.where(np.isinf(x), np.sign(x) * edge, s)


def axis_limit(dtype: str) -> float:
    """The axis ends just beyond the dtype's largest finite number."""
    return math.log2(float(np.finfo(dtype).max)) + binade_offset(dtype) + 4


def axis_ticks(dtype: str) -> List[Tuple[float, str]]:
    """(position, label) of the labelled x ticks, both signs: 0, 1, every
    15th (float32) or 100th (float64) power of ten from 1e-2*step up, and
    the largest finite number ("max"); about six a side fit the plot."""
    fi = np.finfo(dtype)
    top = int(math.log10(float(fi.max)))
    step = 15 if dtype == "float32" else 100
    mags = [(10.0 ** k, f"1e{k}") for k in range(-2 * step, top - step // 2, step) if k]
    mags = [(1.0, "1")] + mags + [(float(fi.max), "max")]
    mags = [(v, lab) for v, lab in mags if float(fi.smallest_subnormal) <= v <= float(fi.max)]
    ticks = [(0.0, "0")]
    for v, lab in mags:
        p = float(binade_axis(v, dtype))
        ticks += [(p, lab), (-p, "-" + lab)]
    return sorted(ticks)


# ---- plots ------------------------------------------------------------------------
def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or None when it is
    missing or TINYFIN_NO_PLOTS is set."""
    if os.environ.get("TINYFIN_NO_PLOTS"):
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot_png(plt, r: Result, worst: Optional[Worst]) -> bytes:
    """plot_figure as a PNG."""
    fig = plot_figure(plt, r, worst)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return _small_png(buf.getvalue())


def plot_figure(plt, r: Result, worst: Optional[Worst]):
    """r's ULP error against x over the dtype's whole range, with the bound
    and the worst point marked and labelled."""
    x = np.asarray(r.extra["plot"]["x"], np.float64)
    e = np.asarray(r.extra["plot"]["err"], np.float64)
    fig, ax = plt.subplots(figsize=(7.2, 2.5))
    fi = np.finfo(r.dtype)
    sub = float(binade_axis(float(fi.tiny), r.dtype))
    # the subnormal ranges, shaded: there the ULP is fixed and large relative to x
    for a, b in ((-sub, 0), (0, sub)):
        ax.axvspan(a, b, color="0.93", lw=0)
    ax.scatter(binade_axis(x, r.dtype), e, s=2, lw=0, color="#1f77b4", alpha=0.6)
    top = max([r.bound or 0.0, float(np.max(e)) if e.size else 0.0,
               worst.ulp if worst and math.isfinite(worst.ulp) else 0.0, 0.5])
    if r.bound is not None:
        ax.axhline(r.bound, color="#c62828", lw=0.8, ls="--")
        ax.text(-axis_limit(r.dtype) + 4, r.bound, f" bound {_fmt(r.bound)}", color="#c62828",
                fontsize=7, va="bottom")
    # a little room below 0, so the points of zero error stand clear of the axis
    if r.bound and top > 4 * r.bound:
        ax.set_yscale("symlog", linthresh=1.0)   # a failure's thousands of ULPs, and the bound
        ax.set_ylim(-0.05, top * 3)
    else:
        ax.set_ylim(-0.04 * top, top * 1.3)
    lim = axis_limit(r.dtype)
    ax.set_xlim(-lim, lim)
    ticks = axis_ticks(r.dtype)
    ax.set_xticks([p for p, _ in ticks], [lab for _, lab in ticks], fontsize=7)
    if worst is not None and not math.isnan(worst.x):
        _mark_worst(ax, worst, r.dtype)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel(f"x over all of {r.dtype} (one unit per binade; shaded: subnormals)",
                  fontsize=7)
    ax.set_ylabel("ULP error", fontsize=7)
    ax.set_title(f"{r.op} {r.dtype} ({r.backend}): max {_fmt(r.max_ulp)}, "
                 f"mean {_fmt(r.mean_ulp)} ULP, {r.n} points", fontsize=8)
    fig.tight_layout(pad=0.4)
    return fig


def _mark_worst(ax, w: Worst, dtype: str) -> None:
    """A ring on the worst point and its x and ULP beside it, on the side
    with room; an infinite error sits at the top of the axis."""
    px = float(binade_axis(w.x, dtype))
    py = w.ulp if math.isfinite(w.ulp) else ax.get_ylim()[1] * 0.95
    ax.scatter([px], [py], s=40, facecolors="none", edgecolors="#c62828", lw=1.2, zorder=3)
    right = px < 0
    low = ax.transData.transform((px, py))[1] < ax.transAxes.transform((0, 0.5))[1]
    ax.annotate(f"worst x = {fmt_x(w.x, dtype)}\n{_fmt(w.ulp, 4)} ULP", (px, py),
                xytext=(12 if right else -12, 6 if low else -6), textcoords="offset points",
                ha="left" if right else "right", va="bottom" if low else "top",
                fontsize=7, color="#c62828",
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))


def _small_png(png: bytes) -> bytes:
    """The PNG in 64 colours (a plot has few), about a third of the size;
    as it is when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(64)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


# ---- HTML -------------------------------------------------------------------------
E = html.escape
COLUMNS = (("op", "op", "text"), ("dtype", "dtype", "text"), ("backend", "backend", "text"),
           ("status", "status", "status"), ("max_ulp", "max ULP", "num"),
           ("mean_ulp", "mean ULP", "num"), ("bound", "bound", "num"),
           ("grad_err", "grad err", "num"), ("checks", "checks", None))


def anchor(op: str) -> str:
    """The op's section id: op- and the name with every run of other
    characters than letters, digits and _ as one '-' (gelu(tanh) ->
    op-gelu-tanh)."""
    return "op-" + re.sub(r"[^A-Za-z0-9_]+", "-", op).strip("-")


def badge(status: str, text: Optional[str] = None, title: str = "") -> str:
    t = f' title="{E(title)}"' if title else ""
    return f'<span class="st st-{E(status)}"{t}>{E(text or status)}</span>'


def _num_cell(v: Optional[float]) -> str:
    data = "" if v is None else ("inf" if v == float("inf") else repr(float(v)))
    return f'<td class="n" data-v="{data}">{E(_fmt(v))}</td>'


def _verdict_html(s: Dict[str, object], meta: dict) -> str:
    if s["failed"]:
        line = f'{s["failed"]} of {s["checks"]} checks failed'
    else:
        line = f'all {s["checks"]} checks pass'
        if s["xfail"]:
            line += f' (with {s["xfail"]} known failure{"s" * (s["xfail"] != 1)})'
    facts = [("checks run", "n-checks", s["checks"]), ("failed", "n-failed", s["failed"]),
             ("known failures (XFAIL)", "n-xfail", s["xfail"]), ("passed", "n-passed", s["passed"]),
             ("fallback", "n-fallback", s.get("fallback", 0)),
             ("skipped", "n-skipped", s["skipped"]), ("depth", "m-depth", meta.get("depth", "-")),
             ("backends", "m-backends", ", ".join(meta.get("backends", [])) or "-"),
             ("ops", "m-ops", meta.get("ops", "-")),
             ("time", "m-time", f'{meta["seconds"]} s' if "seconds" in meta else "-")]
    cls = {"n-failed": "st-FAIL" if s["failed"] else "", "n-xfail": "st-XFAIL" if s["xfail"] else ""}
    dl = "".join(f'<div class="fact {cls.get(i, "")}"><dt>{E(k)}</dt><dd id="{i}">{E(str(v))}</dd></div>'
                 for k, i, v in facts)
    when = " · ".join(E(str(v)) for v in (meta.get("finished"),
                                          f'seed {meta["seed"]}' if "seed" in meta else None) if v)
    when = f' <span class="when">{when}</span>' if when else ""
    return (f'<header id="verdict" class="verdict v-{s["verdict"]}"><h1>tinyfin verification'
            f'{when}</h1><p class="line"><span class="big">{"FAIL" if s["failed"] else "PASS"}'
            f'</span> {E(line)}</p><dl class="facts">{dl}</dl></header>')


def _failures_html(results: List[Result]) -> str:
    bad = sorted((r for r in results if r.status in ("FAIL", "XFAIL")),
                 key=lambda r: (STATUS_ORDER.index(r.status), r.op, r.dtype, r.check))
    if not bad:
        return ""
    items = []
    for r in bad:
        first = r.failures[0] if r.failures else "(no message)"
        more = "".join(f"<li>{E(f)}</li>" for f in r.failures[1:])
        why = f'<p class="why">known: {E(r.extra["xfail_reason"])}</p>' \
            if r.extra.get("xfail_reason") else ""
        rest = f"<details><summary>{len(r.failures) - 1} more</summary><ul>{more}</ul></details>" \
            if more else ""
        items.append(f'<li>{badge(r.status)} <b>{E(r.check)}</b> <a href="#{anchor(r.op)}">'
                     f'{E(r.op)}</a> {E(r.dtype)} {E(r.backend)}: <code>{E(first)}</code>{rest}{why}</li>')
    n_fail = sum(r.status == "FAIL" for r in bad)
    title = f"Failures ({n_fail}) and known failures ({len(bad) - n_fail})"
    return f'<section id="failures"><h2>{title}</h2><ul class="fails">{"".join(items)}</ul></section>'


def _options(name: str, label: str, values, shown=None) -> str:
    opts = "".join(f'<option value="{E(v)}">{E((shown or {}).get(v, v))}</option>' for v in values)
    return f'<label>{E(label)} <select name="{name}"><option value="">all</option>{opts}</select></label>'


def _table_html(rows: List[Row]) -> str:
    checks = sorted({r.check for row in rows for r in row.results})
    dtypes = sorted({row.dtype or "-" for row in rows})
    statuses = [s for s in STATUS_ORDER if any(row.status == s or s in
                                               {r.status for r in row.results} for row in rows)]
    form = (f'<form id="filters" onsubmit="return false">'
            f'<label>op <input name="op" type="search" placeholder="name or regex, e.g. ^exp$" '
            f'size="28"></label>'
            f'{_options("dtype", "dtype", dtypes, {"-": "none"})}'
            f'{_options("backend", "backend", sorted({row.backend for row in rows}))}'
            f'{_options("status", "status", statuses)}{_options("check", "check", checks)}'
            f'<button type="reset">clear</button> <span class="count">showing '
            f'<b id="shown">{len(rows)}</b> of {len(rows)} rows</span></form>'
            f'<p class="hint">Click a column to sort it. With a check chosen, status means that '
            f'check\'s status. The filters live in the URL: <code>#status=FAIL&amp;check=accuracy'
            f'</code> (or <code>?status=FAIL</code>).</p>')
    head = "".join(f'<th data-key="{k}" data-type="{t}"><button type="button">{E(lab)}</button></th>'
                   if t else f"<th>{E(lab)}</th>" for k, lab, t in COLUMNS)
    body = []
    for row in failures_first(rows):
        acc = row.accuracy
        chk = " ".join(f"{r.check}:{r.status}" for r in row.results)
        cells = "".join(badge(r.status, r.check, r.failures[0] if r.failures else "")
                        for r in row.results)
        body.append(
            f'<tr class="r-{row.status}" data-op="{E(row.op)}" data-dtype="{E(row.dtype or "-")}" '
            f'data-backend="{E(row.backend)}" data-status="{row.status}" data-checks="{E(chk)}">'
            f'<td><a href="#{anchor(row.op)}">{E(row.op)}</a></td><td>{E(row.dtype)}</td>'
            f'<td>{E(row.backend)}</td><td data-v="{STATUS_ORDER.index(row.status)}">'
            f'{badge(row.status)}</td>'
            f'{_num_cell(acc.max_ulp if acc else None)}{_num_cell(acc.mean_ulp if acc else None)}'
            f'{_num_cell(acc.bound if acc else None)}{_num_cell(row.grad_err)}'
            f'<td class="checks">{cells}</td></tr>')
    return (f'<section id="table"><h2>Every op, dtype and backend</h2>{form}'
            f'<table id="results"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            f'</tbody></table></section>')


def _backends_html(results: List[Result], meta: dict) -> str:
    """A column per backend: each op x dtype's status there, its worst ULP,
    its parity with the reference and its Higham fraction; a fallback names
    what runs instead. Above it, what each backend runs and promises."""
    bes, rows = side_by_side(results)
    if len(bes) < 2:
        return ""
    promises = meta.get("backend_promises") or {}
    about = "".join(f"<li><b>{E(b)}</b>: kernels of its own: {E(p.get('kernels', '-'))}; "
                    f"determinism: {E(p.get('determinism', '-'))}</li>"
                    for b, p in promises.items())
    head = "".join(f"<th>{E(b)}</th>" for b in bes)
    trs = []
    for op, dt, cells in rows:
        tds = []
        for b in bes:
            c = cells.get(b)
            if c is None:
                tds.append('<td class="be" data-status="">-</td>')
                continue
            figs = " · ".join(x for x in (
                f"{_fmt(c.max_ulp)} ULP" if c.max_ulp is not None else "",
                f"parity {_fmt(c.parity)} {c.parity_unit}" if c.parity is not None else "",
                f"Higham {_fmt(c.higham)}" if c.higham is not None else "") if x)
            fig = f'<span class="fig">{E(figs)}</span>' if figs else ""
            tds.append(f'<td class="be" data-backend="{E(b)}" data-status="{E(c.status)}">'
                       f'{badge(c.status, title=c.reason)}{fig}</td>')
        trs.append(f'<tr data-op="{E(op)}" data-dtype="{E(dt or "-")}"><td><a href="#{anchor(op)}">'
                   f'{E(op)}</a></td><td>{E(dt)}</td>{"".join(tds)}</tr>')
    return (f'<section id="backends"><h2>Backends side by side</h2>'
            f'<ul class="promises">{about}</ul>'
            f'<p class="hint">Each cell: the op x dtype\'s worst status on that backend, its worst '
            f'ULP error against the reference (accuracy sweep, else forward vs NumPy), parity '
            f'with the cpu kernels (ULPs, or the fraction of the declared tolerance used) and the '
            f'fraction of the Higham bound used. <i>fallback</i>: the backend has no kernel of its '
            f'own there; the cpu kernels run (bitwise checked), the full checks do not.</p>'
            f'<table class="plain" id="side-by-side"><thead><tr><th>op</th><th>dtype</th>{head}'
            f'</tr></thead><tbody>{"".join(trs)}</tbody></table></section>')


def _numpy_html(results: List[Result]) -> str:
    rows = _numpy_rows(results)
    if not rows:
        return ""
    trs = []
    for (op, be), by in rows.items():
        cells = "".join(f'<td class="n">{E(_fmt(by[c][0]))} / {E(_fmt(by[c][1]))}</td>'
                        if c in by else '<td class="n">-</td>' for c in NUMPY_CHECKS)
        trs.append(f'<tr><td><a href="#{anchor(op)}">{E(op)}</a></td><td>{E(be)}</td>{cells}</tr>')
    return (f'<section id="numpy"><h2>Against NumPy</h2><p>{E(NUMPY_CAPTION)}.</p>'
            f'<table class="plain"><thead><tr><th>op</th><th>backend</th><th>mpmath sweep</th>'
            f'<th>NumPy vectors</th></tr></thead><tbody>{"".join(trs)}</tbody></table></section>')


def _figure_html(r: Result, worst: Optional[Worst], png: Optional[bytes]) -> str:
    """The plot (when drawn) and a caption naming the worst point, which
    also stands alone when plots are off."""
    label = worst_label(worst, r.dtype) if worst else "no finite point measured"
    title = f"{r.op} {r.dtype} ({r.backend}): ULP error over {r.dtype}'s range; {label}"
    img = (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{E(title)}" '
           f'width="648" height="225">') if png else ""
    wx = f' data-worst-x="{E(fmt_x(worst.x, r.dtype))}" data-worst-ulp="{E(repr(worst.ulp))}"' \
        if worst else ""
    return (f'<figure class="plot" id="plot-{anchor(r.op)[3:]}-{E(r.dtype)}-{E(r.backend)}"{wx}>'
            f'{img}<figcaption>{badge(r.status)} {E(r.dtype)} {E(r.backend)}: '
            f'<span class="worst">{E(label)}</span></figcaption></figure>')


def _op_sections(rows: List[Row], figures: Dict[str, List[str]]) -> str:
    """One section per op, failing ops first: every check it ran, each
    failure message, the known-failure reasons and its plots."""
    by_op: Dict[str, List[Row]] = {}
    for row in rows:
        by_op.setdefault(row.op, []).append(row)
    rank = {op: min(STATUS_ORDER.index(r.status) for r in rs) for op, rs in by_op.items()}
    out = []
    for op in sorted(by_op, key=lambda o: (rank[o], o)):
        trs = []
        for row in by_op[op]:
            for r in row.results:
                msgs = "".join(f"<li><code>{E(f)}</code></li>" for f in r.failures)
                if r.extra.get("xfail_reason"):
                    msgs += f'<li class="why">known: {E(r.extra["xfail_reason"])}</li>'
                cls = f' class="r-{r.status}"' if r.status in ("FAIL", "XFAIL") else ""
                trs.append(f'<tr{cls}><td>{E(r.check)}</td><td>{E(row.dtype)}</td>'
                           f'<td>{E(r.backend)}</td><td>{badge(r.status)}</td><td class="n">{r.n}</td>'
                           f'<td class="n">{E(_fmt(r.max_ulp))}</td><td class="n">{E(_fmt(r.bound))}</td>'
                           f'<td>{"<ul>" + msgs + "</ul>" if msgs else ""}</td></tr>')
        status = STATUS_ORDER[rank[op]]
        wide = " wide" if op in figures else ""     # plots take the page's width
        figs = f'<div class="figs">{"".join(figures[op])}</div>' if wide else ""
        out.append(f'<section class="op{wide}" id="{anchor(op)}"><h3><a href="#{anchor(op)}">{E(op)}</a> '
                   f'{badge(status)}</h3>{figs}'
                   f'<table class="plain detail"><thead><tr><th>check</th><th>dtype</th><th>backend</th>'
                   f'<th>status</th><th>n</th><th>max ULP</th><th>bound</th><th>failures</th></tr></thead>'
                   f'<tbody>{"".join(trs)}</tbody></table></section>')
    return f'<section id="ops"><h2>Each op</h2><div class="ops">{"".join(out)}</div></section>'


def _figures(results: List[Result]) -> Tuple[Dict[str, List[str]], str]:
    """{op: its figures' HTML} for the accuracy rows, and a note when the
    plots are off."""
    acc = [r for r in results if r.check == "accuracy" and "plot" in r.extra]
    exhaustive = {(r.op, r.backend): r for r in results if r.check == "exhaustive"}
    plt = _pyplot() if acc else None
    figures: Dict[str, List[str]] = {}
    for r in acc:
        ex = exhaustive.get((r.op, r.backend)) if r.dtype == "float32" else None
        w = worst_point(r, ex)
        png = plot_png(plt, r, w) if plt is not None else None
        figures.setdefault(r.op, []).append(_figure_html(r, w, png))
    note = "" if plt is not None or not acc else \
        '<p class="hint">Plots are off (TINYFIN_NO_PLOTS is set, or matplotlib is missing).</p>'
    return figures, note


def _asset(name: str) -> str:
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def write_html(results: List[Result], out: str, meta: dict) -> None:
    rows = rows_of(results)
    figures, note = _figures(results)
    fails, vs_numpy = _failures_html(results), _numpy_html(results)
    side = _backends_html(results, meta)
    links = [("verdict", "verdict", True), ("failures", "failures", fails), ("table", "table", True),
             ("backends", "backends", side), ("numpy", "against NumPy", vs_numpy),
             ("ops", "each op", True)]
    nav = "<nav>" + "".join(f'<a href="#{i}">{t}</a>' for i, t, on in links if on) + "</nav>"
    body = [_verdict_html(summary(results), meta), nav, fails, _table_html(rows), side, vs_numpy,
            note, _op_sections(rows, figures)]
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>tinyfin verify: {'FAIL' if summary(results)['failed'] else 'PASS'}</title>"
            f"<style>{_asset('report.css')}</style></head><body>" + "\n".join(b for b in body if b)
            + f"<script>{_asset('report.js')}</script></body></html>")
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write(page)


def finished_at() -> str:
    """The local time a run ends, for the verdict."""
    return time.strftime("%Y-%m-%d %H:%M")
