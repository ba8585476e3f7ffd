"""python -m verify.mutation: proof that the harness catches bugs.

Each mutant plants one fault into a copy of the library (the production
sources carry no mutation hooks): the copy of the repository gets a few
textual edits, is built if its C sources changed, and `python -m verify`
runs on a few ops inside it. A mutant is caught when the checks named for
it FAIL there; an unmutated control copy must pass the same ops.

  python -m verify.mutation                  all mutants and the control
  python -m verify.mutation --only exp-ulp   some of them
  --jobs 2 (mutants run side by side)   --keep (leave the copies)
  --workdir build/mutants

Prints one row per mutant (caught or not, the checks that failed with the
first message of each) and exits 1 when a mutant escapes, a copy fails to
build or to run, or the control fails. Copies live in WORKDIR/<name>/ and
are removed afterwards unless they went wrong (or --keep).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What `make lib` and `python -m verify` need: the C sources and the
# Makefile, the Python package, the harness, and the pytest suites it runs
# (with pyproject.toml, which registers their marker).
COPIED = ("Makefile", "pyproject.toml", "native", "tinyfin", "verify", "tests")
SKIPPED = shutil.ignore_patterns("*.so", "*.o", "*.tmp*", "__pycache__", ".hypothesis",
                                 ".pytest_cache")
LIB = "tinyfin/libtinyfin.so"     # where `make lib` puts it, relative to a copy
CONTROL = "control"
VERIFY_TIMEOUT_S = 600


@dataclasses.dataclass(frozen=True)
class Edit:
    """Replace `old`, which must occur exactly once in `path` (relative to the
    repository root), by `new`. A mutant whose old text has moved away fails
    loudly instead of silently testing the unmutated code."""
    path: str
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    edits: Tuple[Edit, ...]
    ops: Tuple[str, ...]          # what verify runs on (few: each run costs seconds)
    expected: Tuple[str, ...]     # checks that must FAIL for the mutant to count as caught

    @property
    def native(self) -> bool:
        """True when the C core changed, so the copy needs its own build."""
        return any(e.path.startswith("native/") for e in self.edits)


MUTANTS: Tuple[Mutant, ...] = (
    Mutant("cos-grad-sign",
           "backward of cos returns +g sin(x) instead of -g sin(x) (sign flip)",
           (Edit("tinyfin/elementwise_grad.py",
                 '"cos": (lambda g, x, out, p: -g * E.sin(x), "x"),',
                 '"cos": (lambda g, x, out, p: g * E.sin(x), "x"),'),),
           ops=("cos",), expected=("gradcheck",)),
    Mutant("exp-ulp",
           "float32 exp (vectorized path) rounds every finite non-zero result one ULP up",
           (Edit("native/src/cpu/fast_math.h", "#include <string.h>\n",
                 "#include <string.h>\n#include <math.h>\n"),
            Edit("native/src/cpu/fast_math.h",
                 "  float result = (float)tf_exp_poly(xf);\n",
                 "  float result = (float)tf_exp_poly(xf);\n"
                 "  if (result > 0 && result < INFINITY) result = nextafterf(result, INFINITY);\n")),
           ops=("exp",), expected=("accuracy",)),
    Mutant("sigmoid-window",
           "float64 sigmoid rounds 1 + e^-x in double again below x = -36.7, the "
           "narrow window (2.4 ULP) it had before its double-double denominator",
           (Edit("native/src/cpu/unary_dd.h",
                 "  return over_one_plus_exp_neg(1.0, (dd_t){x, 0.0});\n}\n"
                 "TF_DD_INLINE double uf_sigmoid(",
                 "  return x < -36.7 ? 1.0 / (1.0 + exp(-x)) : over_one_plus_exp_neg(1.0, (dd_t){x, 0.0});\n}\n"
                 "TF_DD_INLINE double uf_sigmoid("),),
           ops=("sigmoid",), expected=("accuracy",)),
    Mutant("iter-stride",
           "elementwise iterator: a non-unit inner stride s is walked as s - 1",
           (Edit("native/src/iter.c",
                 "  for (int k = 0; k < it->nops; k++) inner_strides[k] = it->strides[k][inner];\n",
                 "  for (int k = 0; k < it->nops; k++)\n"
                 "    inner_strides[k] = it->strides[k][inner] > 1 ? it->strides[k][inner] - 1\n"
                 "                                                 : it->strides[k][inner];\n"),),
           ops=("sin",), expected=("forward",)),
    Mutant("mul-drops-neg-zero",
           "float mul computed as x * y + 0, which turns an exact -0 into +0",
           (Edit("native/src/cpu/binary.c", "#define BF_mul(T, x, y) ((x) * (y))\n",
                 "#define BF_mul(T, x, y) ((x) * (y) + (T)0)\n"),),
           ops=("mul",), expected=("forward",)),
    Mutant("softmax-no-max",
           "softmax exponentiates x instead of x - max(x) (no max-subtraction)",
           (Edit("native/src/cpu/reduce.c",
                 "  if (st == TF_OK) st = run_pass(&p, K_VMAX, NULL, 0, mx, ri, rat);\n",
                 "  if (st == TF_OK) st = run_pass(&p, K_VMAX, NULL, 0, mx, ri, rat);\n"
                 "  for (int64_t o = 0; st == TF_OK && !take_log && o < p.M; o++) mx[o] = 0.0;\n"),),
           ops=("softmax",), expected=("stability",)),
    Mutant("matmul-transposed-b",
           "matmul reads a transposed (column-major) B as if it were contiguous",
           (Edit("native/src/cpu/matmul.c",
                 "  p->b_cs = b->ndim == 1 ? 0 : b->strides[b->ndim - 1];\n",
                 "  p->b_cs = b->ndim == 1 ? 0 : b->strides[b->ndim - 1];\n"
                 "  if (p->b_rs == 1 && p->b_cs == p->k) p->b_rs = p->n, p->b_cs = 1;\n"),),
           ops=("matmul",), expected=("forward",)),
)


@dataclasses.dataclass
class Outcome:
    """What one verify run in one copy showed."""
    name: str
    ops: Tuple[str, ...]
    failed: Dict[str, str] = dataclasses.field(default_factory=dict)  # check -> first message
    error: str = ""               # the copy did not build, load or finish its run
    seconds: float = 0.0

    def caught_by(self, expected: Sequence[str]) -> bool:
        return not self.error and all(c in self.failed for c in expected)


# ---- building a copy ----------------------------------------------------------
def apply_edit(root: str, edit: Edit) -> None:
    path = os.path.join(root, edit.path)
    with open(path) as f:
        text = f.read()
    n = text.count(edit.old)
    if n != 1:
        raise RuntimeError(f"mutation: {edit.path}: the text to replace occurs {n} times "
                           f"(expected once); the mutant no longer applies:\n{edit.old}")
    with open(path, "w") as f:
        f.write(text.replace(edit.old, edit.new))


def make_copy(dest: str, edits: Sequence[Edit] = ()) -> None:
    """A fresh copy of what verify needs at dest, with the edits applied."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for item in COPIED:
        src = os.path.join(ROOT, item)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, item), ignore=SKIPPED)
        else:
            shutil.copy2(src, os.path.join(dest, item))
    for e in edits:
        apply_edit(dest, e)


def build(copy: str) -> str:
    """`make lib` inside the copy (LIB named, so an exported LIB cannot send
    it elsewhere); returns the library's path."""
    proc = subprocess.run(["make", "--no-print-directory", "-C", copy, "lib", f"LIB={LIB}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"make lib failed in {copy}:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return os.path.join(copy, LIB)


def _env(copy: str, lib: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["TINYFIN_LIB"] = lib
    env["PYTHONPATH"] = copy + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["TINYFIN_NO_PLOTS"] = "1"    # plots cost seconds; only report.json is read here
    env.pop("PYTEST_ADDOPTS", None)
    return env


def check_loads_copy(copy: str, lib: str) -> None:
    """The copy's `import tinyfin` and `import verify` must be the copy's own
    files and the library the one given; otherwise a mutant would be judged
    on the unmutated code."""
    probe = ("import tinyfin, verify, tinyfin._C as c; "
             "print(tinyfin.__file__); print(verify.__file__); print(c.lib._name)")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=copy, env=_env(copy, lib),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"import in {copy} failed:\n{proc.stderr[-3000:]}")
    got = [os.path.realpath(p) for p in proc.stdout.split()]
    want = [os.path.realpath(os.path.join(copy, p)) for p in
            ("tinyfin/__init__.py", "verify/__init__.py")] + [os.path.realpath(lib)]
    if got != want:
        raise RuntimeError(f"the copy {copy} loads {got}, expected {want}")


# ---- running verify -------------------------------------------------------------
def failed_checks(report: dict) -> Dict[str, str]:
    """{check: first failure message} over the FAIL rows of a report.json."""
    out: Dict[str, str] = {}
    for row in report["results"]:
        if row["status"] == "FAIL":
            msg = row["failures"][0] if row["failures"] else "(no message)"
            out.setdefault(row["check"], msg)
    return out


def run_verify(name: str, copy: str, lib: str, ops: Sequence[str]) -> Outcome:
    """`python -m verify --ops OPS --depth quick` with cwd = the copy. Exit 0
    or 1 with a report.json is a finished run; anything else (a crash, a
    timeout) is an error, not a detection."""
    res = Outcome(name, tuple(ops))
    out = os.path.join(copy, "verify-report")
    t0 = time.time()
    try:
        proc = subprocess.run([sys.executable, "-m", "verify", "--ops", ",".join(ops),
                               "--depth", "quick", "--out", out],
                              cwd=copy, env=_env(copy, lib), capture_output=True, text=True,
                              timeout=VERIFY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        res.error = f"verify ran past {VERIFY_TIMEOUT_S} s"
        return res
    finally:
        res.seconds = time.time() - t0
    report = os.path.join(out, "report.json")
    if proc.returncode not in (0, 1) or not os.path.exists(report):
        tail = (proc.stdout[-1500:] + proc.stderr[-1500:]).strip()
        res.error = f"verify exited with status {proc.returncode}: {tail}"
        return res
    with open(report) as f:
        res.failed = failed_checks(json.load(f))
    if bool(res.failed) != (proc.returncode == 1):
        res.error = (f"verify exited with status {proc.returncode} but report.json lists "
                     f"failed checks {sorted(res.failed)}")
    return res


def run_mutant(m: Mutant, workdir: str, control_lib: str) -> Outcome:
    """Copy, mutate, build (C mutants only; Python mutants load the control's
    unmutated library) and verify one mutant."""
    copy = os.path.join(workdir, m.name)
    t0 = time.time()
    try:
        make_copy(copy, m.edits)
        lib = build(copy) if m.native else control_lib
        check_loads_copy(copy, lib)
    except Exception as e:  # noqa: BLE001 - reported as this mutant's error
        return Outcome(m.name, m.ops, error=str(e), seconds=time.time() - t0)
    res = run_verify(m.name, copy, lib, m.ops)
    res.seconds = time.time() - t0
    return res


def control_ops(mutants: Sequence[Mutant]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(op for m in mutants for op in m.ops))


def prepare_control(workdir: str) -> str:
    """The unmutated copy, built; returns its library."""
    copy = os.path.join(workdir, CONTROL)
    make_copy(copy)
    lib = build(copy)
    check_loads_copy(copy, lib)
    return lib


def run_all(mutants: Sequence[Mutant] = MUTANTS, workdir: Optional[str] = None,
            jobs: int = 2) -> Tuple[Outcome, List[Outcome]]:
    """The control and every mutant, `jobs` at a time; returns (control,
    [one Outcome per mutant, in order])."""
    workdir = workdir or os.path.join(ROOT, "build", "mutants")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.time()
    try:
        control_lib = prepare_control(workdir)
    except Exception as e:  # noqa: BLE001
        return Outcome(CONTROL, control_ops(mutants), error=str(e),
                       seconds=time.time() - t0), []
    build_s = time.time() - t0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        ctl = pool.submit(run_verify, CONTROL, os.path.join(workdir, CONTROL), control_lib,
                          control_ops(mutants))
        futures = [pool.submit(run_mutant, m, workdir, control_lib) for m in mutants]
        control = ctl.result()
        control.seconds += build_s
        return control, [f.result() for f in futures]


# ---- the table ------------------------------------------------------------------
def _verdict(m: Mutant, r: Outcome) -> str:
    if r.error:
        return "ERROR"
    if r.caught_by(m.expected):
        return "yes"
    return "no" if not r.failed else "other"


def table(mutants: Sequence[Mutant], results: Sequence[Outcome], control: Outcome) -> str:
    """One row per mutant: caught, the failed checks (expected ones marked
    *), the time, then its description and each failed check's first message."""
    width = max([len(m.name) for m in mutants] + [len(CONTROL)])
    lines = [f"{'mutant':{width}s}  {'caught':6s}  {'seconds':>7s}  checks that failed "
             f"(* = expected)", "-" * (width + 60)]
    for m, r in zip(mutants, results):
        checks = ", ".join(c + ("*" if c in m.expected else "") for c in r.failed) or "-"
        lines.append(f"{m.name:{width}s}  {_verdict(m, r):6s}  {r.seconds:7.1f}  {checks}")
        lines.append(f"{'':{width}s}  {m.description} [ops: {','.join(m.ops)}; "
                     f"expected: {', '.join(m.expected)}]")
        lines += _details(width, r)
    status = "ERROR" if control.error else "FAIL" if control.failed else "pass"
    lines.append(f"{CONTROL:{width}s}  {status:6s}  {control.seconds:7.1f}  "
                 f"unmutated copy over ops {','.join(control.ops)}")
    return "\n".join(lines + _details(width, control))


def _details(width: int, r: Outcome) -> List[str]:
    """The run's error, if any, and each failed check's first message."""
    return ([_indent(width, f"error: {r.error}")] if r.error else []) + \
        [_indent(width, f"{check}: {msg}") for check, msg in r.failed.items()]


def _indent(width: int, text: str, limit: int = 400) -> str:
    text = text if len(text) <= limit else text[:limit] + " ..."
    return textwrap.indent(textwrap.fill(text, 110, break_long_words=False),
                           " " * (width + 4))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m verify.mutation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="comma-separated mutant names (default: all)")
    p.add_argument("--jobs", type=int, default=2, help="copies built and verified at once")
    p.add_argument("--workdir", default=os.path.join(ROOT, "build", "mutants"))
    p.add_argument("--keep", action="store_true", help="leave every copy in WORKDIR")
    a = p.parse_args(argv)
    mutants = list(MUTANTS)
    if a.only:
        names = [n for n in a.only.split(",") if n]
        unknown = sorted(set(names) - {m.name for m in MUTANTS})
        if unknown:
            p.error(f"unknown mutant(s) {unknown}; have {[m.name for m in MUTANTS]}")
        mutants = [m for m in MUTANTS if m.name in names]
    t0 = time.time()
    control, results = run_all(mutants, a.workdir, a.jobs)
    print(table(mutants, results, control))
    escaped = [m.name for m, r in zip(mutants, results) if not r.caught_by(m.expected)]
    bad_control = bool(control.error or control.failed)
    ok = not escaped and not bad_control and len(results) == len(mutants)
    # copies that went wrong stay for a look, unless everything is kept anyway
    left = [m.name for m in mutants] + [CONTROL] if a.keep else \
        escaped + ([CONTROL] if bad_control else [])
    for name in [m.name for m in mutants] + [CONTROL]:
        if name not in left:
            shutil.rmtree(os.path.join(a.workdir, name), ignore_errors=True)
    caught = len(mutants) - len(escaped)
    print(f"\n{caught} of {len(mutants)} mutants caught by their expected checks; control "
          f"{'failed' if bad_control else 'passed'}; {time.time() - t0:.1f}s in all"
          + (f"; copies left in {a.workdir}: {', '.join(left)}" if left else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
