"""verify/report.py: index.html reads at a glance and report.json agrees.

The Results are built by hand (passes, a FAIL, an XFAIL, a skip, accuracy
rows with plot data), so each assertion knows the value it expects: the
verdict's numbers are the counts of the results, failures come first, every
op has its anchor, the page references nothing outside itself, each status
carries its colour class, and each plot names the worst point's x and ULP.
A last test runs the page's script in Chromium, where one is installed."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from verify import report
from verify.checks.common import Result

F32_MAX = float(np.finfo(np.float32).max)


def _plot(xs, errs):
    return {"plot": {"x": list(xs), "err": list(errs)}}


def sample_results():
    """Ten checks over five ops: 6 pass, 2 FAIL, 1 XFAIL, 1 skip."""
    return [
        Result("forward", "exp", "float32", n=10, max_ulp=0.5, mean_ulp=0.1, bound=1.0),
        # no extra["worst"]: the plot's largest error (x = 88.5) is the worst point
        Result("accuracy", "exp", "float32", n=5, max_ulp=0.75, mean_ulp=0.3, bound=1.0,
               extra=_plot([-2.0, 1e-40, 0.5, 88.5, F32_MAX], [0.1, 0.0, 0.3, 0.75, 0.2])),
        # extra["worst"] (the accuracy check's own search) wins over the plot
        Result("accuracy", "exp", "float64", n=3, max_ulp=1.5, mean_ulp=0.2, bound=2.0,
               extra={**_plot([-1.0, 2.0, 700.0], [0.2, 0.4, 0.3]),
                      "worst": {"x": 709.25, "ulp": 1.5}}),
        Result("errors", "exp", "-", n=3),
        Result("accuracy", "sin", "float32", status="FAIL", n=4, max_ulp=1500.0, mean_ulp=9.0,
               bound=1.0, failures=["sin float32: 1 of 4 points beyond 1.0 ULP; x=3e8"],
               extra=_plot([-1.0, 0.25, 3e8, 1.0], [0.2, 0.1, 1500.0, 0.4])),
        Result("forward", "sin", "float32", n=10, max_ulp=0.5, bound=1.0),
        Result("gradcheck", "gelu(tanh)", "float64", status="FAIL", grad_err=0.1,
               failures=["gelu(tanh) float64: analytic 1.0, numeric 1.1"]),
        Result("forward", "log1p", "float64", status="XFAIL", n=8, max_ulp=0.0, bound=2.0,
               failures=["log1p float64: got -0.0, expected 0.0"],
               extra={"xfail_reason": "log1p(-0) keeps the sign; see its entry"}),
        Result("forward", "zeros", "bool", status="skip"),
        Result("errors", "zeros", "-", n=2),
    ]


META = {"depth": "quick", "backends": ["cpu"], "seconds": 1.5, "ops": 5, "seed": 0,
        "finished": "2025-01-01 12:00"}


# ---- a small DOM, enough to query the page -----------------------------------------
class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.content = [], []    # content: text and child nodes, in order

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.attrs.get("class", "").split())
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, *a, **k):
        found = self.find_all(*a, **k)
        assert found, f"no element {a} {k}"
        return found[0]


VOID = {"meta", "img", "input", "br", "hr", "link"}


class DOM(HTMLParser):
    def __init__(self, page: str):
        super().__init__()
        self.root = self.cur = Node("#root", {})
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.content.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.content.append(data)


def need_plots():
    """The plot tests need matplotlib, and plots on: the ASAN run turns them
    off (TINYFIN_NO_PLOTS), as matplotlib's C++ cannot throw under ASAN."""
    if os.environ.get("TINYFIN_NO_PLOTS"):
        pytest.skip("plots are turned off (TINYFIN_NO_PLOTS)")
    return pytest.importorskip("matplotlib")


def write(tmp_path, results=None, plots=False, monkeypatch=None):
    if not plots:
        monkeypatch.setenv("TINYFIN_NO_PLOTS", "1")
    results = sample_results() if results is None else results
    report.write_json(results, str(tmp_path / "report.json"), META)
    report.write_html(results, str(tmp_path), META)
    page = (tmp_path / "index.html").read_text()
    return page, DOM(page).root, json.loads((tmp_path / "report.json").read_text())


def table_rows(dom):
    return dom.find("table", id="results").find("tbody").find_all("tr")


# ---- the verdict -------------------------------------------------------------------
def test_the_verdict_counts_the_results(tmp_path, monkeypatch):
    page, dom, data = write(tmp_path, monkeypatch=monkeypatch)
    facts = {k: dom.find(id=k).text() for k in
             ("n-checks", "n-failed", "n-xfail", "n-passed", "n-skipped", "m-depth",
              "m-backends", "m-time")}
    assert facts == {"n-checks": "10", "n-failed": "2", "n-xfail": "1", "n-passed": "6",
                     "n-skipped": "1", "m-depth": "quick", "m-backends": "cpu", "m-time": "1.5 s"}
    verdict = dom.find("header", id="verdict")
    assert "v-FAIL" in verdict.attrs["class"].split()
    assert "FAIL 2 of 10 checks failed" in " ".join(verdict.find("p").text().split())
    assert data["summary"] == {"verdict": "FAIL", "checks": 10, "failed": 2, "xfail": 1,
                               "passed": 6, "fallback": 0, "skipped": 1,
                               "by_backend": {"cpu": {"FAIL": 2, "XFAIL": 1, "pass": 6,
                                                      "fallback": 0, "skip": 1}}}
    assert data["meta"] == META and len(data["results"]) == 10
    # the verdict comes first in the page, before any table
    assert page.index('id="verdict"') < page.index("<table")


def test_known_failures_alone_pass(tmp_path, monkeypatch):
    rs = [r for r in sample_results() if r.status != "FAIL"]
    _, dom, data = write(tmp_path, rs, monkeypatch=monkeypatch)
    assert dom.find(id="n-failed").text() == "0" and dom.find(id="n-xfail").text() == "1"
    assert "v-pass" in dom.find("header", id="verdict").attrs["class"].split()
    assert data["summary"]["verdict"] == "pass"
    assert "all 8 checks pass (with 1 known failure)" in dom.find("header", id="verdict").text()


# ---- the table ---------------------------------------------------------------------
def test_failures_come_first(tmp_path, monkeypatch):
    _, dom, _ = write(tmp_path, monkeypatch=monkeypatch)
    got = [(tr.attrs["data-status"], tr.attrs["data-op"], tr.attrs["data-dtype"])
           for tr in table_rows(dom)]
    assert got == [("FAIL", "gelu(tanh)", "float64"), ("FAIL", "sin", "float32"),
                   ("XFAIL", "log1p", "float64"),
                   ("pass", "exp", "-"), ("pass", "exp", "float32"), ("pass", "exp", "float64"),
                   ("pass", "zeros", "-"), ("skip", "zeros", "bool")]
    # the failures list names the same checks, FAIL before XFAIL
    fails = dom.find("section", id="failures").find_all("li")
    assert [li.find("span", cls="st").text() for li in fails] == ["FAIL", "FAIL", "XFAIL"]
    assert "log1p(-0) keeps the sign" in fails[2].text()


def test_each_op_has_an_anchor(tmp_path, monkeypatch):
    _, dom, _ = write(tmp_path, monkeypatch=monkeypatch)
    assert report.anchor("exp") == "op-exp"
    assert report.anchor("gelu(tanh)") == "op-gelu-tanh"
    assert report.anchor("softplus(beta=2,threshold=5)") == "op-softplus-beta-2-threshold-5"
    ids = [n.attrs["id"] for n in dom.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for op in ("exp", "sin", "gelu(tanh)", "log1p", "zeros"):
        section = dom.find("section", id=report.anchor(op))
        assert section.find("h3").find("a").text() == op
    # every op cell of the table links to its section
    for tr in table_rows(dom):
        assert tr.find("a").attrs["href"] == "#" + report.anchor(tr.attrs["data-op"])


def test_statuses_carry_their_colour_class(tmp_path, monkeypatch):
    page, dom, _ = write(tmp_path, monkeypatch=monkeypatch)
    for tr in table_rows(dom):
        status = tr.attrs["data-status"]
        assert tr.find_all("td")[3].find("span").attrs["class"] == f"st st-{status}"
        badges = tr.find("td", cls="checks").find_all("span", cls="st")
        want = [c.split(":") for c in tr.attrs["data-checks"].split()]
        assert [(b.text(), b.attrs["class"]) for b in badges] == \
            [(c, f"st st-{s}") for c, s in want]
    css = dom.find("style").text()
    colours = {s: re.search(r"^\.st-" + s + r" \{([^}]*)\}", css, re.M).group(1)
               for s in ("FAIL", "XFAIL", "pass", "skip")}
    backgrounds = {s: re.search(r"background: ([^;]+);", c).group(1) for s, c in colours.items()}
    assert len(set(backgrounds.values())) == 4, backgrounds   # four distinct colours


def test_the_page_is_self_contained(tmp_path, monkeypatch):
    need_plots()
    page, dom, _ = write(tmp_path, plots=True, monkeypatch=monkeypatch)
    imgs = dom.find_all("img")
    assert len(imgs) == 3          # one plot per accuracy row, embedded
    assert all(i.attrs["src"].startswith("data:image/png;base64,") for i in imgs)
    assert all(n.attrs["href"].startswith("#") for n in dom.find_all("a"))
    assert not dom.find_all("link") and not [s for s in dom.find_all("script") if "src" in s.attrs]
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert "http:" not in text and "https:" not in text and "url(" not in text
    assert sorted(os.listdir(tmp_path)) == ["index.html", "report.json"]   # no plots/ folder


# ---- plots and the worst point -------------------------------------------------------
def _figure(dom, op, dtype):
    return dom.find("figure", id=f"plot-{report.anchor(op)[3:]}-{dtype}-cpu")


def test_each_plot_names_its_worst_point(tmp_path, monkeypatch):
    need_plots()
    _, dom, _ = write(tmp_path, plots=True, monkeypatch=monkeypatch)
    want = {("exp", "float32"): ("88.5", "0.75", "the plotted points"),
            ("exp", "float64"): ("709.25", "1.5", "the sweep"),
            ("sin", "float32"): ("3e+08", "1500", "the plotted points")}
    for (op, dt), (x, ulp, where) in want.items():
        fig = _figure(dom, op, dt)
        label = f"worst x = {x}: {ulp} ULP (of {where})"
        assert fig.find("figcaption").find("span", cls="worst").text() == label
        assert fig.find("img").attrs["alt"].endswith(label)
        assert float(fig.attrs["data-worst-x"]) == float(x)
        assert float(fig.attrs["data-worst-ulp"]) == float(ulp)


def test_without_plots_the_worst_point_is_still_named(tmp_path, monkeypatch):
    page, dom, _ = write(tmp_path, monkeypatch=monkeypatch)   # TINYFIN_NO_PLOTS=1
    assert not dom.find_all("img") and "Plots are off" in page
    assert _figure(dom, "exp", "float64").find("figcaption").text().endswith(
        "worst x = 709.25: 1.5 ULP (of the sweep)")


def test_worst_point_sources():
    acc = sample_results()[1]
    assert report.worst_point(acc) == report.Worst(88.5, 0.75, "the plotted points")
    ex = Result("exhaustive", "exp", "float32", max_ulp=0.9, extra={"worst": {"x": -87.0, "got": 0.0}})
    assert report.worst_point(acc, ex) == report.Worst(-87.0, 0.9, "all 2^32 inputs")
    ex.max_ulp = 0.5    # the sweep's point is worse: it stays
    assert report.worst_point(acc, ex).x == 88.5
    assert report.worst_point(Result("accuracy", "exp", "float32", extra=_plot([], []))) is None


def test_the_float32_axis_is_float32s_range():
    """One unit per float32 binade, 0 at zero, the smallest subnormal at 1
    and FLT_MAX just inside the axis; float64 gets its own, wider one."""
    tiny_sub = float(np.finfo(np.float32).smallest_subnormal)
    ax = lambda v, dt="float32": float(report.binade_axis(v, dt))  # noqa: E731
    assert ax(0.0) == 0.0 and ax(tiny_sub) == 1.0 and ax(-tiny_sub) == -1.0
    assert ax(1.0) == 150.0 and ax(2.0) - ax(1.0) == 1.0 and ax(-4.0) == -152.0
    assert 277.9 < ax(F32_MAX) < report.axis_limit("float32") <= 283
    assert ax(math.inf) == report.axis_limit("float32") == -ax(-math.inf)
    assert ax(1.0, "float64") == 1075.0 and 2099 < report.axis_limit("float64") < 2104
    ticks = dict((lab, p) for p, lab in report.axis_ticks("float32"))
    assert ticks["max"] == ax(F32_MAX) and ticks["-max"] == -ax(F32_MAX) and ticks["0"] == 0
    assert ticks["1e-30"] == pytest.approx(ax(1e-30)) and ticks["-1"] == -150.0


def test_the_plot_spans_float32_and_labels_the_worst_point():
    mpl = need_plots()
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    r = sample_results()[1]
    fig = report.plot_figure(plt, r, report.worst_point(r))
    ax = fig.axes[0]
    lim = report.axis_limit("float32")
    assert ax.get_xlim() == (-lim, lim)
    xs = ax.collections[0].get_offsets()[:, 0]     # the points: FLT_MAX near the right end
    assert xs.max() == float(report.binade_axis(F32_MAX, "float32")) > 0.98 * lim
    notes = [t.get_text() for t in ax.texts]
    assert "worst x = 88.5\n0.75 ULP" in notes
    ring = ax.collections[-1].get_offsets()[0]
    assert tuple(ring) == (float(report.binade_axis(88.5, "float32")), 0.75)
    plt.close(fig)


# ---- the script, in a real browser ---------------------------------------------------
CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(b)), None)


def _dom_after_script(path, suffix):
    """The page's DOM after its script ran, as Chromium leaves it."""
    # not under the ASAN run's preloaded runtime, meant for tinyfin only
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", f"file://{path}{suffix}"],
                         capture_output=True, text=True, timeout=120, env=env)
    dom = DOM(out.stdout).root
    assert dom.find("html").attrs.get("data-ready") == "1", out.stderr[-2000:]
    return dom


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_chromium_applies_filters_and_sort_from_the_url(tmp_path, monkeypatch):
    write(tmp_path, monkeypatch=monkeypatch)
    page = str(tmp_path / "index.html")

    def shown(suffix):
        dom = _dom_after_script(page, suffix)
        rows = [tr for tr in table_rows(dom) if "hidden" not in tr.attrs]
        assert dom.find(id="shown").text() == str(len(rows))
        return [(tr.attrs["data-op"], tr.attrs["data-dtype"]) for tr in rows]

    assert shown("") == [("gelu(tanh)", "float64"), ("sin", "float32"), ("log1p", "float64"),
                         ("exp", "-"), ("exp", "float32"), ("exp", "float64"), ("zeros", "-"),
                         ("zeros", "bool")]
    assert shown("?status=pass") == [("exp", "-"), ("exp", "float32"), ("exp", "float64"),
                                     ("zeros", "-")]
    assert shown("#dtype=float32") == [("sin", "float32"), ("exp", "float32")]
    assert shown("#op=^(exp|zeros)$&dtype=-") == [("exp", "-"), ("zeros", "-")]
    # with a check chosen, the status is that check's
    assert shown("#check=forward&status=pass") == [("sin", "float32"), ("exp", "float32")]
    # max ULP descending, rows without one last (in the written order)
    assert shown("#sort=-max_ulp") == [("sin", "float32"), ("exp", "float64"),
                                       ("exp", "float32"), ("log1p", "float64"),
                                       ("gelu(tanh)", "float64"), ("exp", "-"), ("zeros", "-"),
                                       ("zeros", "bool")]
    assert shown("#sort=op&status=FAIL") == [("gelu(tanh)", "float64"), ("sin", "float32")]


# ---- the backends side by side ------------------------------------------------------
def backend_results():
    """matmul float32 on cpu and on blas (its own kernel there), exp float32
    a fallback on blas, and one FAIL of blas's parity on mm float64."""
    return [
        Result("forward", "matmul", "float32", "cpu", n=20, max_ulp=3.0),
        Result("higham", "matmul", "float32", "cpu", n=50, extra={"worst_bound_ratio": 0.5}),
        Result("parity", "matmul", "float32", "cpu", status="skip",
               extra={"reason": "reference backend"}),
        Result("forward", "matmul", "float32", "blas", n=20, max_ulp=4.0),
        Result("higham", "matmul", "float32", "blas", n=50, extra={"worst_bound_ratio": 0.625}),
        Result("parity", "matmul", "float32", "blas", n=20, extra={"worst_bound_ratio": 0.25}),
        Result("forward", "exp", "float32", "cpu", n=10, max_ulp=0.5),
        Result("fallback", "exp", "float32", "blas", status="fallback", n=10,
               extra={"reason": "fallback: cpu kernel (blas has no kernel of its own for exp)"}),
        Result("forward", "mm", "float64", "cpu", n=5, max_ulp=1.0),
        Result("parity", "mm", "float64", "blas", status="FAIL", n=5,
               failures=["mm float64 [(3, 4) @ (4, 5) mT/mT] on blas: beyond rtol"]),
    ]


def test_the_backends_stand_side_by_side(tmp_path, monkeypatch):
    meta = dict(META, backends=["cpu", "blas"],
                backend_promises={"blas": {"kernels": "matmul float32/float64",
                                           "determinism": "bitwise the same on repeat"}})
    monkeypatch.setenv("TINYFIN_NO_PLOTS", "1")
    rs = backend_results()
    report.write_json(rs, str(tmp_path / "report.json"), meta)
    report.write_html(rs, str(tmp_path), meta)
    dom = DOM((tmp_path / "index.html").read_text()).root
    section = dom.find("section", id="backends")
    table = section.find("table", id="side-by-side")
    assert [th.text() for th in table.find("thead").find_all("th")] == ["op", "dtype", "cpu", "blas"]
    rows = {(tr.attrs["data-op"], tr.attrs["data-dtype"]): tr
            for tr in table.find("tbody").find_all("tr")}
    assert set(rows) == {("matmul", "float32"), ("exp", "float32"), ("mm", "float64")}

    def cell(op, dt, be):
        tds = rows[(op, dt)].find_all("td", cls="be")
        return tds[["cpu", "blas"].index(be)]
    assert cell("matmul", "float32", "cpu").attrs["data-status"] == "pass"
    def shown(td):
        return td.find("span", cls="st").text(), td.find("span", cls="fig").text()
    assert shown(cell("matmul", "float32", "cpu")) == ("pass", "3 ULP · Higham 0.5")
    assert shown(cell("matmul", "float32", "blas")) == \
        ("pass", "4 ULP · parity 0.25 of tol · Higham 0.625")
    fb = cell("exp", "float32", "blas")
    assert fb.attrs["data-status"] == "fallback"
    assert fb.find("span", cls="st").attrs["class"] == "st st-fallback"
    assert "no kernel of its own for exp" in fb.find("span", cls="st").attrs["title"]
    assert cell("mm", "float64", "blas").attrs["data-status"] == "FAIL"
    assert cell("mm", "float64", "cpu").attrs["data-status"] == "pass"
    assert "matmul float32/float64" in section.find("ul", cls="promises").text()
    # the verdict counts the fallback, and report.json each backend's statuses
    assert dom.find(id="n-fallback").text() == "1"
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["summary"]["by_backend"] == {
        "cpu": {"FAIL": 0, "XFAIL": 0, "pass": 4, "fallback": 0, "skip": 1},
        "blas": {"FAIL": 1, "XFAIL": 0, "pass": 3, "fallback": 1, "skip": 0}}
    assert data["summary"]["fallback"] == 1 and data["summary"]["verdict"] == "FAIL"


def test_the_text_table_shows_the_backends_that_run_their_own_kernels():
    text = report.backends_table(backend_results())
    lines = text.splitlines()
    assert lines[1].split() == ["op", "dtype", "cpu", "blas"]
    body = {ln.split()[0] + " " + ln.split()[1]: ln for ln in lines[2:] if not ln.startswith("blas:")}
    # exp is a fallback on blas: counted, not listed
    assert set(body) == {"matmul float32", "mm float64"}
    assert "pass 3 ULP higham 0.5" in body["matmul float32"]
    assert "pass 4 ULP parity 0.25 of tol higham 0.625" in body["matmul float32"]
    assert "FAIL" in body["mm float64"]
    assert lines[-1] == "blas: 1 op x dtype fall back to the cpu kernels (status fallback)"
    # one backend: no side-by-side table
    assert report.backends_table([r for r in backend_results() if r.backend == "cpu"]) == ""
