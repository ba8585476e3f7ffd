"""The outputs of a run: the text table, report.json and the HTML report
with matplotlib plots (matplotlib is imported only here, lazily, so the
library itself never needs it)."""
from __future__ import annotations

import html
import json
import os
from typing import List

from .checks.common import Result


def _fmt(v, nd=3):
    if v is None:
        return "-"
    if v == float("inf"):
        return "inf"
    return f"{v:.{nd}g}"


def table(results: List[Result]) -> str:
    """One row per op x dtype x backend: every check's status, the max / mean
    ULP error of the exhaustive sweep where run, else of the accuracy sweep,
    else of forward, and the gradient error."""
    rows = {}
    for r in results:
        key = (r.op, r.dtype if r.dtype != "-" else "", r.backend)
        rows.setdefault(key, []).append(r)
    lines = [f"{'op':24s} {'dtype':8s} {'backend':7s} {'status':7s} {'max ULP':>9s} "
             f"{'mean ULP':>9s} {'bound':>6s} {'grad err':>9s}  checks"]
    for (op, dt, be), rs in sorted(rows.items()):
        status = "FAIL" if any(r.status == "FAIL" for r in rs) else \
            "XFAIL" if any(r.status == "XFAIL" for r in rs) else \
            "pass" if any(r.status == "pass" for r in rs) else "skip"
        acc = next((r for r in rs if r.check == "exhaustive"), None) or \
            next((r for r in rs if r.check == "accuracy"), None) or \
            next((r for r in rs if r.check == "forward"), None)
        # the backward's ULP error against mpmath where measured, else
        # gradcheck's worst |analytic - numeric| / max(|numeric|, 1)
        grads = [r.grad_err for r in rs if r.check == "grad-accuracy" and r.grad_err is not None] \
            or [r.grad_err for r in rs if r.grad_err is not None]
        checks = ",".join(f"{r.check}:{r.status}" for r in rs)
        lines.append(f"{op:24s} {dt:8s} {be:7s} {status:7s} {_fmt(acc.max_ulp if acc else None):>9s} "
                     f"{_fmt(acc.mean_ulp if acc else None):>9s} {_fmt(acc.bound if acc else None):>6s} "
                     f"{_fmt(max(grads) if grads else None):>9s}  {checks}")
    return "\n".join(lines)


def numpy_comparison(results: List[Result]) -> str:
    """float32 accuracy next to NumPy's on the same inputs: the accuracy
    sweep's points (NumPy's float32 function, where it has one) and NumPy's
    validation vectors. Empty when no row measured NumPy."""
    rows = {}
    for r in results:
        if r.dtype == "float32" and "numpy_max_ulp" in r.extra and r.max_ulp is not None:
            rows.setdefault((r.op, r.backend), {})[r.check] = (r.max_ulp, r.extra["numpy_max_ulp"])
    if not rows:
        return ""
    lines = ["float32, tinyfin / NumPy on the same inputs: max real ULP error on the mpmath "
             "sweep; max ULPs from the correctly rounded value on NumPy's validation vectors",
             f"{'op':24s} {'backend':7s} {'mpmath sweep':>16s} {'NumPy vectors':>16s}"]
    for (op, be), by in sorted(rows.items()):
        cells = [f"{_fmt(by[c][0])} / {_fmt(by[c][1])}" if c in by else "-"
                 for c in ("accuracy", "numpy-vectors")]
        lines.append(f"{op:24s} {be:7s} {cells[0]:>16s} {cells[1]:>16s}")
    return "\n".join(lines)


def write_json(results: List[Result], path: str, meta: dict) -> None:
    rows = []
    for r in results:
        d = dict(r.__dict__)
        d["extra"] = {k: v for k, v in r.extra.items() if k != "plot"}
        rows.append(d)
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": rows}, f, indent=1, default=str)


def write_html(results: List[Result], out: str, meta: dict) -> None:
    plots = []
    acc = [r for r in results if r.check == "accuracy" and "plot" in r.extra]
    if acc:
        try:
            if os.environ.get("TINYFIN_NO_PLOTS"):
                raise ImportError("plots turned off")
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            import numpy as np
        except ImportError:
            plt = None
        if plt is not None:
            os.makedirs(os.path.join(out, "plots"), exist_ok=True)
            for r in acc:
                x = np.asarray(r.extra["plot"]["x"])
                e = np.asarray(r.extra["plot"]["err"])
                fig, ax = plt.subplots(figsize=(7, 2.6))
                # signed log scale of x shows every binade, both signs
                # one unit per binade from the smallest float64 subnormal up,
                # both signs: every binade of the sweep is visible
                with np.errstate(divide="ignore"):
                    sx = np.sign(x) * np.maximum(np.log2(np.abs(x)) + 1075, 0)
                ax.scatter(sx, e, s=1, alpha=0.5)
                if r.bound is not None:
                    ax.axhline(r.bound, color="r", lw=0.8, label=f"bound {r.bound}")
                    ax.legend(loc="upper right", fontsize=7)
                ax.set_xlabel("sign(x) * (log2|x| + 1075)   [0 = zero, 1075 = |x| of 1]")
                ax.set_ylabel("ULP error")
                ax.set_title(f"{r.op} {r.dtype} ({r.backend}): max {_fmt(r.max_ulp)} "
                             f"mean {_fmt(r.mean_ulp)} ULP", fontsize=9)
                fig.tight_layout()
                name = f"plots/{r.op}_{r.dtype}_{r.backend}.png".replace("(", "_").replace(")", "") \
                    .replace("=", "").replace(",", "_")
                fig.savefig(os.path.join(out, name), dpi=80)
                plt.close(fig)
                plots.append((r, name))
    body = [f"<h1>tinyfin verification report</h1><p>{html.escape(json.dumps(meta))}</p>",
            "<h2>Summary</h2><pre>", html.escape(table(results)), "</pre>"]
    vs_numpy = numpy_comparison(results)
    if vs_numpy:
        body += ["<h2>Against NumPy</h2><pre>", html.escape(vs_numpy), "</pre>"]
    fails = [r for r in results if r.status in ("FAIL", "XFAIL")]
    if fails:
        body.append("<h2>Failures</h2><ul>")
        for r in fails:
            for f in r.failures:
                body.append(f"<li><b>{r.status}</b> {html.escape(r.check)} {html.escape(f)}</li>")
            if r.extra.get("xfail_reason"):
                body.append(f"<li>known: {html.escape(r.extra['xfail_reason'])}</li>")
        body.append("</ul>")
    if plots:
        body.append("<h2>ULP error over each unary op's domain</h2>")
        for r, name in plots:
            body.append(f'<div><img src="{name}" alt="{html.escape(r.op)}"></div>')
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write("<!doctype html><html><head><meta charset='utf-8'><title>tinyfin verify"
                "</title></head><body>" + "\n".join(body) + "</body></html>")
