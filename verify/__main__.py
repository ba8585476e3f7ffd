"""python -m verify: run the checks over op x dtype x backend, print a table,
write DIR/report.json and DIR/index.html; exit 1 on any failure.

  --ops exp,log   --dtypes float32,float64   --backends cpu,blas (default: all available)
  --depth quick|default|deep|exhaustive       --out verify-report
  --checks forward,paths (only these checks)
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

import numpy as np


def apply_known(res, op) -> None:
    """A FAIL whose every message matches a known failure of the op becomes
    XFAIL (reported, with the reason); any other failure stays FAIL."""
    if res.status != "FAIL" or not op.known_failures:
        return
    known = [(rx, why) for chk, rx, why in op.known_failures if chk == res.check]
    if known and all(any(re.search(rx, f) for rx, _ in known) for f in res.failures):
        res.status = "XFAIL"
        res.extra["xfail_reason"] = "; ".join(why for _, why in known)


# Relative cost of the steps, for the progress bar: an op's ordinary checks
# are 1, its mpmath sweeps 10 more; the pytest suites and one op's 2^32
# sweep weigh more.
SUITES_WEIGHT, EXHAUSTIVE_WEIGHT = 10, 300


def _weight(op) -> int:
    return 1 + 10 * (op.mp is not None)


# Every check's name, as its Result rows carry it (--checks selects some).
CHECKS = ("forward", "errors", "int-args", "paths", "subgradient", "gradcheck", "accuracy", "grad-accuracy",
          "numpy-vectors", "higham", "parity", "property", "stability", "determinism",
          "exhaustive", "fallback", "dispatch",
          # the module database's (verify/checks/modules.py)
          "module-forward", "module-gradcheck", "module-train-eval", "module-state-dict",
          "module-dtype", "module-init",
          # the optimizer database's (verify/checks/optimizers.py)
          "optim-reference", "optim-resume", "optim-param-groups",
          # the scheduler database's (verify/checks/schedulers.py)
          "schedule-closed-form", "schedule-resume")
MODULE_WEIGHT = 2


def split_names(names):
    """(op names, module, optimizer and scheduler ids) of --ops: "nn.Linear"
    names a module entry, "optim.Adam" an optimizer entry,
    "lr_scheduler.StepLR" a scheduler's entries; None for a part means all of
    it, [] none of it."""
    from . import moduledb
    if not names:
        return None, None
    modules = {e.id for e in moduledb.all_modules()} | {e.name for e in moduledb.all_modules()}
    # ---- optimizers: their ids join the modules' (run() tells them apart) ----
    from . import optimdb
    modules |= optimdb.ids()
    # ---- schedulers: "lr_scheduler.StepLR" too (run() tells them apart) ----
    from . import schedulers
    modules |= set(schedulers.ids())
    return [n for n in names if n not in modules], [n for n in names if n in modules]


def _op_checks(op, dts, be, depth, rng, pool, want_f64: bool, checks=None) -> list:
    """Checks a, b, c, g, h (and the error inputs) of one op on one backend,
    those named in `checks` (all when None), with that backend chosen;
    parity (g) compares a backend with the reference "cpu" kernels, so it
    runs on every other backend. On a backend other than the reference they
    run for the dtypes where the op runs the backend's own kernel
    (verify/backends.py own_kernels); each other dtype gets one "fallback"
    row (checks/fallback.py) instead."""
    import tinyfin as tf

    from .backends import REFERENCE, own_kernels
    from .checks.fallback import check_fallback

    on = lambda name: checks is None or name in checks  # noqa: E731
    own = dts if be == REFERENCE else [d for d in dts if own_kernels(op, d, be)]
    batch = [check_fallback(op, d, be, rng) for d in dts if d not in own and on("fallback")]
    if own:
        with tf.backends.use(be):
            batch.extend(_own_checks(op, own, be, depth, rng, pool,
                                     want_f64 and (be == REFERENCE or "float64" in own), checks))
    return batch


def _own_checks(op, dts, be, depth, rng, pool, want_f64: bool, checks=None) -> list:
    from .checks.accuracy import check_accuracy, check_grad_accuracy
    from .checks.forward import check_errors, check_forward
    from .checks.gradients import check_gradients
    from .checks.int_args import check_int_args
    from .checks.parity import check_higham, check_parity
    from .checks.paths import check_paths
    from .checks.subgradients import check_subgradients
    from .checks.validation_sets import check_validation_set, file_for

    on = lambda name: checks is None or name in checks  # noqa: E731
    floats = [d for d in dts if d in ("float32", "float64")]
    batch = [check_forward(op, d, be, rng) for d in dts if on("forward")]
    if on("errors"):
        batch.append(check_errors(op, be))
    if on("int-args"):
        batch.append(check_int_args(op, be))
    if op.large is not None and on("paths"):
        batch.extend(check_paths(op, d, be, rng) for d in dts)
    if op.subgradients is not None and on("subgradient"):
        batch.extend(check_subgradients(op, d, be) for d in floats)
    if op.differentiable and want_f64 and on("gradcheck"):
        batch.append(check_gradients(op, be, rng, depth))
    for d in floats:
        if op.mp is not None and on("accuracy"):
            batch.append(check_accuracy(op, d, be, depth, rng, pool))
        if op.mp is not None and op.differentiable and op.mp_deriv is not None \
                and on("grad-accuracy"):
            batch.append(check_grad_accuracy(op, d, be, depth, rng, pool))
        if file_for(op) and on("numpy-vectors"):
            batch.append(check_validation_set(op, d, be))
        if op.higham and on("higham"):
            batch.append(check_higham(op, d, be, rng, depth))
    if be != "cpu" and on("parity"):
        batch.extend(check_parity(op, d, be, rng) for d in dts)
    return batch


def _suite_ops(entries, names, be):
    """The op names the suites run for on backend be: those selected (None:
    all) on the reference; elsewhere only the entries that run one of be's
    own kernels (the others are fallback rows)."""
    from .backends import REFERENCE, own_kernels
    if be == REFERENCE:
        return names
    own = [e for e in entries if own_kernels(e, "-", be)]
    picked = [n for e in own for n in (e.name, e.id) + e.aliases]
    return [n for n in picked if names is None or n in names]


def run(ops=None, dtypes=None, backends=None, depth="quick", out=None,
        progress=True, seed=0, suites=True, checks=None):
    """Every check (or those named in `checks`) over the selected ops x
    dtypes x backends; returns the Result rows and, with `out`, writes
    report.json and index.html there. `suites=False` leaves out the pytest
    suites (d, e, f), for callers that run under pytest, which collects those
    files itself."""
    from . import moduledb, opdb
    from .checks.accuracy import make_pool
    from .checks.common import backends as all_backends
    from .checks.exhaustive import check_exhaustive
    from .checks.modules import check_module
    from .checks.suites import run_suites
    from .progress import Progress

    op_names, module_names = split_names(ops)
    entries = opdb.select(op_names) if op_names != [] else []
    modules = moduledb.select(module_names) if module_names != [] else []
    # ---- optimizers (verify/optimdb.py): all without --ops, else those named ----
    from . import optimdb
    from .checks.optimizers import check_optimizer
    optimizers = [e for e in optimdb.all_optimizers() if not ops or e.id in ops]
    # ---- schedulers (verify/schedulers.py): all without --ops, else those named ----
    from . import schedulers as scheduledb
    from .checks.schedulers import check_schedulers
    scheds = [e for e in scheduledb.all_schedulers() if not ops or e.id in ops]
    ops = op_names
    bes = backends or all_backends()
    unknown = set(bes) - set(all_backends())
    if unknown:
        raise SystemExit(f"verify: unknown backend(s) {sorted(unknown)}; have {all_backends()}")
    on = lambda name: checks is None or name in checks  # noqa: E731
    suites = suites and any(on(c) for c in ("property", "stability", "determinism"))
    exhaustive = [op for op in entries if depth == "exhaustive" and op.mp is not None
                  and "float32" in op.dtypes and (not dtypes or "float32" in dtypes)
                  and on("exhaustive")]
    suites = suites and bool(entries)
    bar = Progress(sum(map(_weight, entries)) * len(bes) + SUITES_WEIGHT * suites
                   + MODULE_WEIGHT * len(modules) * len(bes)
                   + MODULE_WEIGHT * len(optimizers) * len(bes)
                   + MODULE_WEIGHT * bool(scheds)
                   + EXHAUSTIVE_WEIGHT * len(exhaustive) * len(bes), progress)
    results = []
    mpmath = any(on(c) for c in ("accuracy", "grad-accuracy", "exhaustive"))
    pool = make_pool(depth) if mpmath and any(e.mp for e in entries) else None
    t0 = time.time()
    step = 0.0
    try:
        if on("dispatch"):
            from .backends import check_dispatch
            results.extend(check_dispatch(be) for be in bes)
        for be in bes:
            for op in entries:
                bar.update(step, f"{op.id} ({be})")
                dts = [d for d in op.dtypes if not dtypes or d in dtypes]
                batch = _op_checks(op, dts, be, depth, np.random.default_rng(seed), pool,
                                   want_f64=not dtypes or "float64" in dtypes, checks=checks)
                for r in batch:
                    apply_known(r, op)
                results.extend(batch)
                step += _weight(op)
        for be in bes:
            for info in modules:
                bar.update(step, f"{info.id} ({be})")
                results.extend(check_module(info, be, dtypes, checks))
                step += MODULE_WEIGHT
        for be in bes:
            for oinfo in optimizers:
                bar.update(step, f"{oinfo.id} ({be})")
                results.extend(check_optimizer(oinfo, be, dtypes, checks))
                step += MODULE_WEIGHT
        if scheds:          # plain Python over param_groups: no backend, run once
            bar.update(step, f"{len(scheds)} learning-rate schedules")
            results.extend(check_schedulers(scheds, checks))
            step += MODULE_WEIGHT
        if suites:
            bar.update(step, "property, stability and determinism suites")
            # an entry named by its id ("gelu(tanh)") does not pull in the
            # tests of its name ("gelu")
            names = [n for e in entries for n in (e.name, e.id) + e.aliases
                     if n in ops or e.name in ops or set(e.aliases) & set(ops)] if ops else None
            for be in bes:
                be_names = _suite_ops(entries, names, be)
                if be_names == []:      # nothing of its own to run the suites on
                    continue
                results.extend(r for r in run_suites(be_names, dtypes, depth, be)
                               if on(r.check) or r.check == "suites")
            step += SUITES_WEIGHT
        from .backends import REFERENCE, own_kernels
        import tinyfin as tf
        for be in bes:
            for op in exhaustive:
                base = step
                if be != REFERENCE and not own_kernels(op, "float32", be):
                    step += EXHAUSTIVE_WEIGHT   # a fallback row says so already
                    continue
                with tf.backends.use(be):
                    r = check_exhaustive(op, be, pool, progress=lambda f: bar.update(
                        base + f * EXHAUSTIVE_WEIGHT, f"{op.id} float32: all 2^32 inputs ({be})"))
                apply_known(r, op)
                results.append(r)
                step += EXHAUSTIVE_WEIGHT
    finally:
        if pool is not None:
            pool.shutdown()
    bar.finish(f"{len(entries)} ops, {len(modules)} modules, {len(optimizers)} optimizers and "
               f"{len(scheds)} schedules checked in {time.time() - t0:.1f}s")
    if out:
        from .report import finished_at, write_html, write_json
        os.makedirs(out, exist_ok=True)
        from .backends import describe
        meta = {"depth": depth, "backends": bes, "seconds": round(time.time() - t0, 1),
                "ops": len(entries), "modules": len(modules), "optimizers": len(optimizers),
                "schedules": len(scheds),
                "seed": seed, "finished": finished_at(),
                "backend_promises": describe(bes)}
        write_json(results, os.path.join(out, "report.json"), meta)
        write_html(results, out, meta)
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m verify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", help="comma-separated op names, ids or aliases (default: all; "
                   "--list-ops shows them)")
    p.add_argument("--dtypes", help="comma-separated dtypes: float32, float64, int64, bool "
                   "(default: each op's own)")
    p.add_argument("--backends", help="comma-separated backends (default: every one available "
                   "here, tinyfin.backends.available())")
    p.add_argument("--depth", default="default", choices=["quick", "default", "deep", "exhaustive"],
                   help="how hard to look (default: default); see README.md")
    p.add_argument("--out", default="verify-report",
                   help="folder for report.json and index.html (default: verify-report)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random samples (default: 0)")
    p.add_argument("--checks", help=f"comma-separated checks (default: all): {', '.join(CHECKS)}")
    p.add_argument("--list-ops", action="store_true", help="print the op ids and exit")
    a = p.parse_args(argv)
    # Every check chooses its backend (tinyfin.backends.use); what runs
    # outside them (the op database's module-level tensors) runs on the
    # reference, so that a broken backend fails its checks instead of the run.
    import tinyfin as tf
    default = tf.backends.current()
    tf.backends.set_default("cpu")
    try:
        return _main(p, a)
    finally:
        tf.backends.set_default(default)


def _main(p, a) -> int:
    from . import opdb
    if a.list_ops:
        from . import moduledb
        from . import optimdb
        from . import schedulers
        print("\n".join([e.id for e in opdb.all_ops()] + [e.id for e in moduledb.all_modules()]
                        + [e.id for e in optimdb.all_optimizers()]
                        + schedulers.ids()))
        return 0
    split = lambda s: [v for v in s.split(",") if v] if s else None  # noqa: E731
    unknown_dtypes = set(split(a.dtypes) or ()) - set(opdb.ALL_DTYPES)
    if unknown_dtypes:
        p.error(f"unknown dtype(s) {sorted(unknown_dtypes)}; have {list(opdb.ALL_DTYPES)}")
    unknown_checks = set(split(a.checks) or ()) - set(CHECKS)
    if unknown_checks:
        p.error(f"unknown check(s) {sorted(unknown_checks)}; have {list(CHECKS)}")
    try:
        op_names, _ = split_names(split(a.ops))
        if op_names != []:
            opdb.select(op_names)
    except ValueError as e:
        p.error(str(e))
    from .report import backends_table, numpy_comparison, summary, table
    results = run(split(a.ops), split(a.dtypes), split(a.backends), a.depth, a.out, seed=a.seed,
                  checks=split(a.checks))
    print(table(results))
    side = backends_table(results)
    if side:
        print("\n" + side)
    vs_numpy = numpy_comparison(results)
    if vs_numpy:
        print("\n" + vs_numpy)
    bad = [r for r in results if r.status == "FAIL"]
    xf = [r for r in results if r.status == "XFAIL"]
    for r in bad + xf:
        for f in r.failures[:5]:
            print(f"{r.status}: {r.check}: {f}")
        if r.extra.get("xfail_reason"):
            print(f"  known: {r.extra['xfail_reason']}")
    per = "; ".join(f"{b}: {c['pass']} pass, {c['FAIL']} failed, {c['fallback']} fallback, "
                    f"{c['skip']} skipped" for b, c in summary(results)["by_backend"].items())
    print(f"\n{len(results)} checks: {len(bad)} failed, {len(xf)} known failures ({per}); "
          f"report in {a.out}/index.html")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
