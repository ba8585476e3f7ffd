"""The scheduler database's checks (verify/schedulers.py), one Result row per
scheduler class x check:

  schedule-closed-form  every entry of the class run for its steps; at each
                        step get_last_lr() is the rate in every param group,
                        and matches the entry's closed form to a relative
                        RTOL (and the momentum / beta1 OneCycleLR writes
                        matches its closed form)
  schedule-resume       a run stopped at a third and at two thirds of the
                        way, saved (scheduler and optimizer state_dict,
                        deep-copied as a checkpoint would be), rebuilt on a
                        fresh optimizer, loaded and continued follows the
                        uninterrupted run exactly (bitwise)
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import tinyfin as tf
from tinyfin.optim import Optimizer
from tinyfin.optim import lr_scheduler as S

from ..schedulers import SchedulerInfo
from .common import Result

RTOL = 1e-12
CHECKS = ("schedule-closed-form", "schedule-resume")


class HolderOptimizer(Optimizer):
    """An optimizer that only holds param groups (the schedulers touch
    nothing else); its defaults are SGD's momentum or Adam's betas, so that
    OneCycleLR cycles the one the entry asks for."""

    def __init__(self, params, lr: float, kind: str = "momentum") -> None:
        extra = {"momentum": 0.9} if kind == "momentum" else {"betas": (0.9, 0.999)}
        super().__init__(params, {"lr": lr, **extra})

    def step(self, closure=None):
        return None


def make_optimizer(entry: SchedulerInfo) -> HolderOptimizer:
    """One parameter per group, the entry's starting rates."""
    groups = [{"params": [tf.nn.Parameter(tf.zeros(2))], "lr": lr} for lr in entry.lrs]
    return HolderOptimizer(groups, entry.lrs[0], entry.optimizer)


def momenta(opt, kind: str) -> Tuple[float, ...]:
    return tuple(g["betas"][0] if kind == "betas" else g["momentum"] for g in opt.param_groups)


def advance(entry: SchedulerInfo, sched, t: int) -> None:
    """The t-th step of the entry's run."""
    if entry.metrics is not None:
        sched.step(entry.metrics[t - 1])
    elif entry.epochs is not None:
        with warnings.catch_warnings():       # step(epoch) is deprecated, and says so
            warnings.simplefilter("ignore", UserWarning)
            sched.step(entry.epochs[t - 1])
    else:
        sched.step()


def snapshot(entry: SchedulerInfo, sched, opt) -> Tuple[tuple, tuple, tuple]:
    """(get_last_lr(), the groups' lr, their momentum or beta1)."""
    return (tuple(sched.get_last_lr()), tuple(g["lr"] for g in opt.param_groups),
            momenta(opt, entry.optimizer))


def trajectory(entry: SchedulerInfo, lrs_module, opt, start: int = 0, sched=None,
               stop: Optional[int] = None) -> List[tuple]:
    """The snapshots after steps start .. stop (default: the entry's steps)
    of a scheduler built by entry.build(S, opt) (or the one given, already
    at step `start`); S is tinyfin's lr_scheduler module or torch's."""
    if sched is None:
        sched = entry.build(lrs_module, opt)
    out = [snapshot(entry, sched, opt)]
    for t in range(start + 1, (entry.steps if stop is None else stop) + 1):
        advance(entry, sched, t)
        out.append(snapshot(entry, sched, opt))
    return out


def _rel(got: float, want: float) -> float:
    if got == want:
        return 0.0
    if not (math.isfinite(got) and math.isfinite(want)):
        return math.inf
    return abs(got - want) / abs(want) if want else math.inf


def check_closed_form(entries: Sequence[SchedulerInfo]) -> Result:
    res = Result("schedule-closed-form", entries[0].id, "float64")
    worst = 0.0
    for e in entries:
        traj = trajectory(e, S, make_optimizer(e))
        for t, (last, lrs, moms) in enumerate(traj):
            if last != lrs:
                res.fail(f"{e.desc}: step {t}: get_last_lr() {list(last)} but the param groups "
                         f"hold {list(lrs)}")
            epoch = e.epoch(t)
            for g, got in enumerate(lrs):
                want = e.closed(epoch, e.lrs[g], g)
                err = _rel(got, want)
                worst = max(worst, err)
                res.n += 1
                if err > RTOL:
                    res.fail(f"{e.desc}: step {t} (epoch {epoch}), group {g}: lr {got!r}, closed "
                             f"form {want!r} (relative error {err:.2e} > {RTOL:g})")
                if e.momentum is not None:
                    want_m = e.momentum(epoch, g)
                    err_m = _rel(moms[g], want_m)
                    worst = max(worst, err_m)
                    if err_m > RTOL:
                        res.fail(f"{e.desc}: step {t}, group {g}: momentum {moms[g]!r}, closed "
                                 f"form {want_m!r} (relative error {err_m:.2e})")
    res.extra["max_rel_err"] = worst
    res.extra["configs"] = len(entries)
    return res


def resumed(entry: SchedulerInfo, lrs_module, make, at: int) -> List[tuple]:
    """The snapshots of steps at .. end of a run saved after `at` steps and
    resumed on a fresh optimizer and scheduler (make(): a new optimizer)."""
    opt = make()
    sched = entry.build(lrs_module, opt)
    for t in range(1, at + 1):
        advance(entry, sched, t)
    saved = copy.deepcopy({"scheduler": sched.state_dict(), "optimizer": opt.state_dict()})
    opt2 = make()
    sched2 = entry.build(lrs_module, opt2)
    opt2.load_state_dict(saved["optimizer"])
    sched2.load_state_dict(saved["scheduler"])
    return trajectory(entry, lrs_module, opt2, start=at, sched=sched2)


def check_resume(entries: Sequence[SchedulerInfo]) -> Result:
    res = Result("schedule-resume", entries[0].id, "float64")
    for e in entries:
        whole = trajectory(e, S, make_optimizer(e))
        for at in sorted({max(1, e.steps // 3), max(1, 2 * e.steps // 3)}):
            again = resumed(e, S, lambda: make_optimizer(e), at)
            res.n += len(again)
            for t, (a, b) in enumerate(zip(again, whole[at:]), start=at):
                if a != b:
                    res.fail(f"{e.desc}: resumed after step {at}: step {t} gives "
                             f"{a[0]} (momentum {a[2]}), the uninterrupted run {b[0]} "
                             f"(momentum {b[2]})")
                    break
    res.extra["configs"] = len(entries)
    return res


def check_schedulers(entries: Sequence[SchedulerInfo], checks=None) -> List[Result]:
    """The rows of every check (or those in `checks`) for the given entries,
    one per scheduler class and check."""
    by_class: Dict[str, List[SchedulerInfo]] = {}
    for e in entries:
        by_class.setdefault(e.id, []).append(e)
    rows = []
    for sid, group in by_class.items():
        for name, fn in (("schedule-closed-form", check_closed_form),
                         ("schedule-resume", check_resume)):
            if checks is not None and name not in checks:
                continue
            try:
                rows.append(fn(group))
            except Exception as exc:  # noqa: BLE001  (a crash is a failure of the scheduler)
                row = Result(name, sid, "float64")
                row.fail(f"{type(exc).__name__}: {str(exc)[:300]}")
                rows.append(row)
    return rows
