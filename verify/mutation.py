"""python -m verify.mutation: proof that the harness catches bugs.

Each mutant plants one fault into a copy of the library (the production
sources carry no mutation hooks): the copy of the repository gets a few
textual edits, is built if its C sources changed (only the edited sources
are compiled; the control copy's objects serve for the rest), and `python -m verify`
runs on a few ops inside it, with the checks named for it. A mutant is
caught when those checks FAIL there; an unmutated control copy must pass
the same ops and checks.

  python -m verify.mutation                  all mutants and the control
  python -m verify.mutation --only exp-ulp   some of them
  --jobs 2 (mutants run side by side)   --keep (leave the copies)
  --workdir build/mutants

Prints one row per mutant (its class of fault, caught or not, the checks
that failed with the first message of each) and exits 1 when a mutant escapes, a copy fails to
build or to run, or the control fails. Copies live in WORKDIR/<name>/ and
are removed afterwards unless they went wrong (or --keep).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
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
OBJ = "build/obj"                 # a copy's object files
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
    kind: str = ""                # the class of fault (FAULT_CLASSES)

    @property
    def native(self) -> bool:
        """True when the C core changed, so the copy needs its own build."""
        return any(e.path.startswith("native/") for e in self.edits)


# The classes of fault the mutants stand for: each is a way a kernel or a
# formula can be wrong that some check must see.
FAULT_CLASSES = {
    "gradient": "a backward formula wrong everywhere",
    "accuracy": "a math function a few ULPs off",
    "layout": "strides, broadcasting or zero signs mishandled",
    "stability": "an overflow the formula should have avoided",
    "paths": "a blocked, tiled or parallel path only large sizes reach",
    "options": "a keyword option, a mode or a negative index mishandled",
    "subgradient": "the convention at a kink, tie or bound broken",
    "data": "tensor() from Python data in the wrong dtype or value",
    "int-args": "an integer argument passed to the core modulo 2^64",
    "blas": "an operand handed to BLAS with the wrong layout or routine",
    "dispatch": "a call dispatched to another kernel than its backend's table promises",
    "init": "a layer's default initialisation drawn from the wrong distribution",
    "module": "a layer's forward or state handling wrong while its ops are right",
    "optimizer": "an optimizer's update rule wrong in one term",
    "scheduler": "a learning-rate schedule off by a step, or a state a resume loses",
}


MUTANTS: Tuple[Mutant, ...] = (
    Mutant("cos-grad-sign",
           "backward of cos returns +g sin(x) instead of -g sin(x) (sign flip)",
           (Edit("tinyfin/elementwise_grad.py",
                 '"cos": (lambda g, x, out, p: -g * E.sin(x), "x"),',
                 '"cos": (lambda g, x, out, p: g * E.sin(x), "x"),'),),
           ops=("cos",), expected=("gradcheck",), kind="gradient"),
    Mutant("exp-ulp",
           "float32 exp (vectorized path) rounds every finite non-zero result one ULP up",
           (Edit("native/src/cpu/fast_math.h", "#include <string.h>\n",
                 "#include <string.h>\n#include <math.h>\n"),
            Edit("native/src/cpu/fast_math.h",
                 "  float result = (float)tf_exp_poly(xf);\n",
                 "  float result = (float)tf_exp_poly(xf);\n"
                 "  if (result > 0 && result < INFINITY) result = nextafterf(result, INFINITY);\n")),
           ops=("exp",), expected=("accuracy",), kind="accuracy"),
    Mutant("sigmoid-window",
           "float64 sigmoid rounds 1 + e^-x in double again below x = -36.7, the "
           "narrow window (2.4 ULP) it had before its double-double denominator",
           (Edit("native/src/cpu/unary_dd.h",
                 "  return over_one_plus_exp_neg(1.0, (dd_t){x, 0.0});\n}\n"
                 "TF_DD_INLINE double uf_sigmoid(",
                 "  return x < -36.7 ? 1.0 / (1.0 + exp(-x)) : over_one_plus_exp_neg(1.0, (dd_t){x, 0.0});\n}\n"
                 "TF_DD_INLINE double uf_sigmoid("),),
           ops=("sigmoid",), expected=("accuracy",), kind="accuracy"),
    Mutant("iter-stride",
           "elementwise iterator: a non-unit inner stride s is walked as s - 1",
           (Edit("native/src/core/iter.c",
                 "  for (int k = 0; k < it->nops; k++) inner_strides[k] = it->strides[k][inner];\n",
                 "  for (int k = 0; k < it->nops; k++)\n"
                 "    inner_strides[k] = it->strides[k][inner] > 1 ? it->strides[k][inner] - 1\n"
                 "                                                 : it->strides[k][inner];\n"),),
           ops=("sin",), expected=("forward",), kind="layout"),
    Mutant("mul-drops-neg-zero",
           "float mul computed as x * y + 0, which turns an exact -0 into +0",
           (Edit("native/src/cpu/binary_scalar.h", "#define BF_mul(T, x, y) ((x) * (y))\n",
                 "#define BF_mul(T, x, y) ((x) * (y) + (T)0)\n"),),
           ops=("mul",), expected=("forward",), kind="layout"),
    Mutant("softmax-no-max",
           "softmax exponentiates x instead of x - max(x) (no max-subtraction)",
           (Edit("native/src/cpu/reduce.c",
                 "  if (st == TF_OK) st = run_pass(&p, K_VMAX, NULL, 0, mx, ri, rat);\n",
                 "  if (st == TF_OK) st = run_pass(&p, K_VMAX, NULL, 0, mx, ri, rat);\n"
                 "  for (int64_t o = 0; st == TF_OK && !take_log && o < p.M; o++) mx[o] = 0.0;\n"),),
           ops=("softmax",), expected=("stability",), kind="stability"),
    Mutant("matmul-transposed-b",
           "matmul reads a transposed (column-major) B as if it were contiguous",
           (Edit("native/src/ops/matmul.c",
                 "  p->b_cs = b->ndim == 1 ? 0 : b->strides[b->ndim - 1];\n",
                 "  p->b_cs = b->ndim == 1 ? 0 : b->strides[b->ndim - 1];\n"
                 "  if (p->b_rs == 1 && p->b_cs == p->k) p->b_rs = p->n, p->b_cs = 1;\n"),),
           ops=("matmul",), expected=("forward",), kind="layout"),
    # ---- paths only large sizes reach: caught by `paths` (1 and 2 threads
    # agree, so only the reference comparison sees them)
    Mutant("matmul-n-panel",
           "matmul packs every 512-column panel of B from column 0 (ignores the panel's start j0)",
           (Edit("native/src/cpu/matmul.c",
               "panel[p * nc + q] = b[(k0 + p) * g->b_rs + (j0 + q) * g->b_cs];",
               "panel[p * nc + q] = b[(k0 + p) * g->b_rs + q * g->b_cs];"),),
           ops=("matmul",), expected=("paths",), kind="paths"),
    Mutant("reduce-merge-tie",
           "merging the blocks of a float max/min, a later block wins a tie (argmax: not the first index)",
           (Edit("native/src/cpu/reduce.c",
               "better_f(mx ? K_MAX : K_MIN, pf[b], r.f, true)) {",
               "better_f(mx ? K_MAX : K_MIN, pf[b], r.f, true) || pf[b] == r.f) {"),),
           ops=("argmax",), expected=("paths",), kind="paths"),
    Mutant("reduce-run-carry",
           "a block that starts inside the reduced range splits its start into per-dim indices "
           "without carrying (several reduced dims, more than one block)",
           (Edit("native/src/cpu/reduce.c",
               "      pos_ /= (p)->rshape[d_];                                                \\\n", ""),),
           ops=("sum",), expected=("paths",), kind="paths"),
    Mutant("iter-row-carry",
           "the iterator starts a block of rows from indices taken without carrying "
           "(3 or more dims that do not merge, above the parallel grain)",
           (Edit("native/src/core/iter.c", "    rest /= it->shape[d];\n", ""),),
           ops=("exp",), expected=("paths",), kind="paths"),
    Mutant("tril-last-row",
           "the parallel tril/triu loop skips the last row, which keeps its dropped entries",
           (Edit("native/src/cpu/shape.c",
                 "TF_PARALLEL_FOR(true)\n    for (int64_t r = 0; r < nrows; r++)",
                 "TF_PARALLEL_FOR(true)\n    for (int64_t r = 0; r < nrows - 1; r++)"),),
           ops=("tril",), expected=("paths",), kind="paths"),
    # ---- options: caught by `forward`, on samples of the options
    Mutant("pad-reflect-replicate",
           "pad's reflect and replicate branches swapped",
           (Edit("native/src/cpu/shape.c", "      if (mode == TF_PAD_REFLECT) {",
               "      if (mode != TF_PAD_REFLECT) {"),),
           ops=("pad",), expected=("forward",), kind="options"),
    Mutant("index-negative-wrap",
           "a negative tensor index i is counted from the front (-1 - i) instead of the end",
           (Edit("native/src/cpu/index.c", "v[i] = (x < 0 ? x + size : x) * scale;",
               "v[i] = (x < 0 ? -1 - x : x) * scale;"),),
           ops=("getitem",), expected=("forward",), kind="options"),
    Mutant("norm-neg-inf",
           "norm(p=-inf) computes max |x| (the p=inf branch)",
           (Edit("native/src/cpu/reduce.c", "param > 0 ? K_ABSMAX : K_ABSMIN,", "K_ABSMAX,"),),
           ops=("norm(p=-inf)",), expected=("forward",), kind="options"),
    Mutant("var-unbiased-flag",
           "var/std read unbiased=True as correction 0 and unbiased=False as 1",
           (Edit("tinyfin/reduction.py", "correction = 1 if unbiased is None or unbiased else 0",
               "correction = 1 if unbiased is None or not unbiased else 0"),),
           ops=("var",), expected=("forward",), kind="options"),
    Mutant("reduce-dtype-ignored",
           "sum/mean/prod/norm/softmax ignore dtype= (reduce in the input's dtype)",
           (Edit("tinyfin/reduction.py", "    return x.to(_dtypes.get(dtype))\n", "    return x\n"),),
           ops=("sum",), expected=("forward",), kind="options"),
    Mutant("keepdim-all-dims",
           "keepdim is ignored when a reduction runs over every dim",
           (Edit("tinyfin/reduction.py", "x._h, mask, bool(keepdim), float(param)",
               "x._h, mask, bool(keepdim) and mask != 0, float(param)"),),
           ops=("sum",), expected=("forward",), kind="options"),
    # ---- subgradients: caught by `subgradient` (gradcheck moves its inputs
    # off kinks and ties, the mpmath sweeps never land on them)
    Mutant("relu-grad-at-0", "relu'(0) = 1 instead of 0",
           (Edit("tinyfin/elementwise_grad.py", "E.where(x > 0, g, 0.0), \"x\"),",
               "E.where(x >= 0, g, 0.0), \"x\"),"),),
           ops=("relu",), expected=("subgradient",), kind="subgradient"),
    Mutant("abs-grad-at-0", "abs'(0) = 1 instead of 0",
           (Edit("tinyfin/elementwise_grad.py", "(lambda g, x, out, p: g * E.sign(x), \"x\")",
               "(lambda g, x, out, p: E.where(x >= 0, g, -g), \"x\")"),),
           ops=("abs",), expected=("subgradient",), kind="subgradient"),
    Mutant("maximum-tie-share", "maximum/minimum give each tied operand the whole gradient",
           (Edit("tinyfin/elementwise_grad.py", "(a == b).to(g.dtype) * 0.5", "(a == b).to(g.dtype) * 1.0"),),
           ops=("maximum",), expected=("subgradient",), kind="subgradient"),
    Mutant("amax-tie-share", "amax/amin/max() give each tied extreme the whole gradient",
           (Edit("tinyfin/reduction.py", "return where(mask, gk / count, 0.0)", "return where(mask, gk, 0.0)"),),
           ops=("amax",), expected=("subgradient",), kind="subgradient"),
    Mutant("clamp-grad-at-bound", "clamp passes no gradient at x == min or x == max",
           (Edit("tinyfin/elementwise_grad.py", "(x >= p[0]).logical_and(x <= p[1])",
               "(x > p[0]).logical_and(x < p[1])"),),
           ops=("clamp",), expected=("subgradient",), kind="subgradient"),
    Mutant("norm-grad-at-zero", "the 2-norm's gradient at a zero vector is 0 / 0 = NaN, not 0",
           (Edit("tinyfin/reduction.py", "return (where(zero, 0.0, gk * x / safe),)",
               "return (gk * x / nk,)"),),
           ops=("norm",), expected=("subgradient",), kind="subgradient"),
    # ---- tensors from Python data: caught by `forward` on tensor()/as_tensor()
    Mutant("tensor-ints-via-float32",
           "tensor() treats Python ints as floats: [1, 2] is float32, 2**40 + 1 is rounded",
           (Edit("tinyfin/creation.py", 'default = {"b": _dtypes.bool_, "i": _dtypes.int64}.get(',
               'default = {"b": _dtypes.bool_}.get('),),
           ops=("tensor",), expected=("forward",), kind="data"),
    Mutant("as-tensor-ignores-dtype",
           "as_tensor(t, dtype=d) returns the tensor t itself for any valid dtype d",
           (Edit("tinyfin/creation.py",
               'dtype is None or _dtypes.get(dtype, "as_tensor") is data.dtype):',
               'dtype is None or _dtypes.get(dtype, "as_tensor") is not None):'),),
           ops=("as_tensor",), expected=("forward",), kind="data"),
    # ---- integer arguments: caught by `int-args`
    Mutant("int-args-wrap",
           "integer arguments are no longer range-checked, so ctypes passes an int "
           "outside int64 on modulo 2^64 (zeros(2**64 + 2) is zeros(2))",
           (Edit("tinyfin/_args.py", "    if not lo <= value <= hi:\n", "    if False:\n"),),
           ops=("zeros", "narrow"), expected=("int-args",), kind="int-args"),
    # ---- the BLAS backend: caught by `parity` (blas against the cpu kernels)
    # on the matmul samples in BLAS's layouts (ops_linalg.BACKEND)
    Mutant("blas-trans-flag",
           "an operand with row stride 1 (an x.T view) goes to BLAS as NO_TRANS, read as it lies",
           (Edit("native/src/gemm_layout.h",
                 "  if (rs == 1 && cs >= rows && cs <= INT32_MAX) {\n    *transposed = true;",
                 "  if (rs == 1 && cs >= rows && cs <= INT32_MAX) {\n    *transposed = false;"),),
           ops=("matmul",), expected=("parity",), kind="blas"),
    Mutant("blas-ld-cols",
           "a row-major operand's leading dimension is its column count, not its row stride "
           "(wrong for a slice of wider rows)",
           (Edit("native/src/gemm_layout.h",
                 "    *transposed = false;\n    *ld = (int)rs;",
                 "    *transposed = false;\n    *ld = (int)cols;"),),
           ops=("mm",), expected=("parity",), kind="blas"),
    Mutant("blas-f64-as-f32",
           "the float64 products run through the float32 BLAS routines (and copies)",
           (Edit("native/src/blas/gemm.c", "  job j = {.api = api, .f64 = a->dtype == TF_FLOAT64,",
                 "  job j = {.api = api, .f64 = false,"),),
           ops=("mv",), expected=("parity",), kind="blas"),
    # ---- the dispatch layer
    Mutant("fallback-stays-on-backend",
           "TF_KERNEL: a host backend's empty slot looks in the backend's own table again "
           "instead of the cpu's, so every op blas leaves to the cpu kernels fails there",
           (Edit("native/src/backend.h", "      k = &tf_cpu_kernels;                                                  \\\n",
                 "      k = tf_be_->kernels;                                                  \\\n"),),
           ops=("exp", "sum"), expected=("fallback",), kind="dispatch"),
    Mutant("blas-f64-slot-empty",
           "the blas table loses its float64 matmul slot: float64 products silently run the "
           "cpu kernel while blas claims them",
           (Edit("native/src/blas/backend.c",
                 ".matmul = {[TF_FLOAT32] = tf_blas_matmul, [TF_FLOAT64] = tf_blas_matmul},",
                 ".matmul = {[TF_FLOAT32] = tf_blas_matmul},"),),
           ops=("dot",), expected=("dispatch",), kind="dispatch"),
    Mutant("backend-choice-ignored",
           "a thread's backend choice (backends.use) is ignored: every call runs the process "
           "default, whichever backend is asked for",
           (Edit("native/src/core/backend.c", "  const tf_backend *b = chosen_for[dev];\n",
                 "  const tf_backend *b = NULL;\n"),),
           ops=("matmul",), expected=("dispatch",), kind="dispatch"),
    Mutant("linear-init-gain",
           "nn.Linear's default weights drawn with kaiming_uniform_(a=1) instead of "
           "a=sqrt(5): U(+-sqrt(3/fan_in)), 1.7x too wide",
           (Edit("tinyfin/nn/modules/linear.py",
                 "init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)",
                 "init.kaiming_uniform_(self.weight, a=1, generator=generator)"),),
           ops=("nn.Linear",), expected=("module-init",), kind="init"),
    Mutant("linear-drops-bias",
           "nn.Linear's forward leaves out the bias (F.linear is right)",
           (Edit("tinyfin/nn/modules/linear.py",
                 "        return linear(input, self.weight, self.bias)",
                 "        return linear(input, self.weight)"),),
           ops=("nn.Linear",), expected=("module-forward",), kind="module"),
    Mutant("norm-composite-mean",
           "the norms' create_graph backward (the composite used for double backward) "
           "drops its mean term; the fused C backward is right",
           (Edit("tinyfin/nn/ops/norm.py",
                 "        dx = r * (gs - gs.mean(dims, keepdim=True)",
                 "        dx = r * (gs - 0.0 * gs.mean(dims, keepdim=True)"),),
           # group_norm's first gradient sample is gradgradchecked at quick depth
           ops=("nn.functional.group_norm",), expected=("gradcheck",), kind="gradient"),
    # ---- optimizers (verify/optimdb.py, verify/checks/optimizers.py) ----
    Mutant("adam-no-bias-correction",
           "Adam's step size drops the first moment's bias correction: lr instead of "
           "lr / (1 - beta1^t)",
           (Edit("native/src/ops/optim.c",
                 "  p.step_size = lr / (1 - pow(beta1, t));",
                 "  p.step_size = lr;"),),
           ops=("optim.Adam",), expected=("optim-reference",), kind="optimizer"),
    Mutant("sgd-nesterov-plain",
           "SGD with nesterov=True takes the plain momentum step (the buffer) instead "
           "of g + momentum * buffer",
           (Edit("native/src/cpu/optim_step.h",
                 "d = nesterov ? d + mom * b : b;",
                 "d = nesterov ? b : b;"),),
           ops=("optim.SGD",), expected=("optim-reference",), kind="optimizer"),
    # ---- schedulers (verify/schedulers.py, verify/checks/schedulers.py) ----
    Mutant("steplr-off-by-one",
           "StepLR decays one epoch early: (epoch + 1) % step_size instead of epoch % step_size",
           (Edit("tinyfin/optim/lr_scheduler.py",
                 "if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:",
                 "if self.last_epoch == 0 or (self.last_epoch + 1) % self.step_size != 0:"),),
           ops=("lr_scheduler.StepLR",), expected=("schedule-closed-form",), kind="scheduler"),
    Mutant("warm-restarts-state-loses-t-cur",
           "the schedulers' state_dict leaves out T_cur, so a resumed CosineAnnealingWarmRestarts "
           "restarts its period",
           (Edit("tinyfin/optim/lr_scheduler.py",
                 '        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}',
                 '        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", '
                 '"T_cur")}'),),
           ops=("lr_scheduler.CosineAnnealingWarmRestarts",), expected=("schedule-resume",),
           kind="scheduler"),
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


def _build_settings(copy: str) -> Tuple[List[str], List[str]]:
    """The compiler command with its flags and the C sources, as the copy's
    Makefile has them, so that a copy is built exactly as `make lib` builds
    the library (one translation unit per source there too)."""
    proc = subprocess.run(["make", "-s", "--no-print-directory", "-C", copy, "--eval",
                           "print-build: ; @echo $(CC) $(CFLAGS_COMMON) $(CFLAGS); echo $(SOURCES)",
                           "print-build"], capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 2:
        raise RuntimeError(f"cannot read the build settings of {copy}:\n{proc.stderr[-2000:]}")
    return shlex.split(lines[0]), lines[1].split()


def _run(cmd: List[str], cwd: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"build failed in {cwd}: {' '.join(cmd[-3:])}\n{proc.stderr[-4000:]}")


def build(copy: str, reuse: Optional[str] = None, edited: Sequence[str] = ()) -> str:
    """Compile the copy's C sources to objects under OBJ and link its library
    at LIB; returns the library's path. Given `reuse` (the control copy, built
    first), only the `edited` sources are compiled and the control's objects
    serve for the others (all are compiled when a header was edited): a
    mutant costs one file's compilation instead of the whole library's."""
    cc, sources = _build_settings(copy)
    stale = sources if reuse is None or any(e.endswith(".h") for e in edited) else \
        [src for src in sources if src in edited]
    objects = []
    os.makedirs(os.path.join(copy, OBJ), exist_ok=True)
    jobs = []
    for src in sources:
        obj = os.path.join(OBJ, src.replace("/", "_") + ".o")
        if src in stale:
            jobs.append(cc + ["-c", src, "-o", obj])
            objects.append(obj)
        else:
            objects.append(os.path.join(os.path.abspath(reuse), obj))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda cmd: _run(cmd, copy), jobs))
    _run(cc + ["-shared", "-o", LIB] + objects + ["-lm"], copy)
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


def run_verify(name: str, copy: str, lib: str, ops: Sequence[str],
               checks: Sequence[str]) -> Outcome:
    """`python -m verify --ops OPS --checks CHECKS --depth quick` with cwd =
    the copy (only the checks a mutant must fail: the others would cost the
    run most of its time). Exit 0 or 1 with a report.json is a finished run;
    anything else (a crash, a timeout) is an error, not a detection."""
    res = Outcome(name, tuple(ops))
    out = os.path.join(copy, "verify-report")
    t0 = time.time()
    try:
        proc = subprocess.run([sys.executable, "-m", "verify", "--ops", ",".join(ops),
                               "--checks", ",".join(checks), "--depth", "quick", "--out", out],
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
        lib = build(copy, os.path.join(workdir, CONTROL), [e.path for e in m.edits]) \
            if m.native else control_lib
        check_loads_copy(copy, lib)
    except Exception as e:  # noqa: BLE001 - reported as this mutant's error
        return Outcome(m.name, m.ops, error=str(e), seconds=time.time() - t0)
    res = run_verify(m.name, copy, lib, m.ops, m.expected)
    res.seconds = time.time() - t0
    return res


def control_ops(mutants: Sequence[Mutant]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(op for m in mutants for op in m.ops))


def control_checks(mutants: Sequence[Mutant]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(c for m in mutants for c in m.expected))


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
                          control_ops(mutants), control_checks(mutants))
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
    kw = max(len(k) for k in FAULT_CLASSES)
    lines = [f"{'mutant':{width}s}  {'class':{kw}s}  {'caught':6s}  {'seconds':>7s}  "
             f"checks that failed (* = expected)", "-" * (width + kw + 60)]
    for m, r in zip(mutants, results):
        checks = ", ".join(c + ("*" if c in m.expected else "") for c in r.failed) or "-"
        lines.append(f"{m.name:{width}s}  {m.kind:{kw}s}  {_verdict(m, r):6s}  {r.seconds:7.1f}  "
                     f"{checks}")
        lines.append(f"{'':{width + kw + 2}s}  {m.description} [ops: {','.join(m.ops)}; "
                     f"expected: {', '.join(m.expected)}]")
        lines += _details(width + kw + 2, r)
    status = "ERROR" if control.error else "FAIL" if control.failed else "pass"
    lines.append(f"{CONTROL:{width}s}  {'':{kw}s}  {status:6s}  {control.seconds:7.1f}  "
                 f"unmutated copy over ops {','.join(control.ops)} "
                 f"(checks {','.join(control_checks(mutants))})")
    return "\n".join(lines + _details(width + kw + 2, control))


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
