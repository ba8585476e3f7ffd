"""The scheduler database: one SchedulerInfo per learning-rate scheduler
configuration (every class of tinyfin.optim.lr_scheduler, every option that
changes the curve), each with a closed form of its rates written here
independently of tinyfin's (recursive) implementation.

verify/checks/schedulers.py runs each entry for `steps` steps and compares
get_last_lr() (and the momentum OneCycleLR writes) with the closed form at
every step, and checks that a run resumed from a mid-run state_dict follows
the uninterrupted one exactly. tests/test_lr_scheduler.py runs the same
entries against PyTorch's schedulers step by step when PyTorch is installed.

An entry is built by `build(lr_scheduler, optimizer)` with either tinyfin's
or torch's lr_scheduler module, so one table serves both. Step t = 0 is the
state right after construction; step t > 0 follows the t-th call of
step() (of step(metrics[t - 1]) for ReduceLROnPlateau, of
step(epochs[t - 1]) for entries driven by explicit epochs).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, List, Optional, Sequence, Tuple


@dataclasses.dataclass
class SchedulerInfo:
    name: str                                    # class name in lr_scheduler (tinyfin and torch)
    desc: str                                    # its options; unique within the class
    build: Callable[[Any, Any], Any]             # (lr_scheduler module, optimizer) -> scheduler
    # (epoch, the group's starting lr, group index) -> the rate at that epoch
    closed: Callable[[float, float, int], float]
    lrs: Tuple[float, ...] = (0.1,)              # each param group's lr when the optimizer is built
    optimizer: str = "momentum"                  # its defaults: "momentum" (SGD's) or "betas" (Adam's)
    steps: int = 120
    # (epoch, group index) -> the momentum (or beta1) at that epoch
    momentum: Optional[Callable[[float, int], float]] = None
    metrics: Optional[Sequence[float]] = None   # ReduceLROnPlateau: step(metrics[t - 1])
    epochs: Optional[Sequence[float]] = None    # step(epochs[t - 1]) instead of step()

    @property
    def id(self) -> str:
        return f"lr_scheduler.{self.name}"

    def epoch(self, t: int) -> float:
        """The epoch the closed form is evaluated at after t steps."""
        return self.epochs[t - 1] if self.epochs is not None and t > 0 else t


# ---- closed forms -----------------------------------------------------------
def _cosine(base: float, eta_min: float, t: float, period: float) -> float:
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / period)) / 2


def _linear_factor(t: float, start: float, end: float, total: int) -> float:
    return start + (end - start) * min(t, total) / total


def _restart(epoch: float, T_0: int, T_mult: int) -> Tuple[float, float]:
    """(T_cur, T_i): the epochs since the last restart and the current
    period, by walking the periods T_0, T_0 T_mult, T_0 T_mult^2, ..."""
    start, period = 0, T_0
    while epoch >= start + period:
        start += period
        period *= T_mult
    return epoch - start, period


def _anneal(kind: str, start: float, end: float, frac: float) -> float:
    if kind == "cos":
        return end + (start - end) * (1 + math.cos(math.pi * frac)) / 2
    return start + (end - start) * frac


def _one_cycle(t: float, total: int, top: float, pct: float = 0.3, kind: str = "cos",
               div: float = 25.0, final_div: float = 1e4, three: bool = False,
               m_lo: float = 0.85, m_hi: float = 0.95) -> Tuple[float, float]:
    """(lr, momentum) of the 1cycle policy at step t: phases end at
    pct * total - 1 (rise), then 2 pct total - 2 (fall back, three_phase),
    then total - 1 (down to the minimum)."""
    low = top / div
    floor = low / final_div
    rise = pct * total - 1
    if three:
        back = 2 * pct * total - 2
        phases = [(0.0, rise, low, top, m_hi, m_lo), (rise, back, top, low, m_lo, m_hi),
                  (back, total - 1, low, floor, m_hi, m_hi)]
    else:
        phases = [(0.0, rise, low, top, m_hi, m_lo), (rise, total - 1, top, floor, m_lo, m_hi)]
    for k, (a, b, lr0, lr1, mo0, mo1) in enumerate(phases):
        if t <= b or k == len(phases) - 1:
            frac = (t - a) / (b - a)
            return _anneal(kind, lr0, lr1, frac), _anneal(kind, mo0, mo1, frac)
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=None)
def _plateau(metrics: tuple, lr0: float, mode: str = "min", factor: float = 0.1,
             patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
             cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8) -> tuple:
    """The rate after each metric: cut by `factor` when more than `patience`
    epochs in a row failed to beat the best by the threshold, then
    `cooldown` epochs during which nothing counts."""
    sign = 1.0 if mode == "min" else -1.0

    def improves(x, best):
        if best is None:
            return True
        if threshold_mode == "rel":
            return sign * x < sign * best * (1 - sign * threshold)
        return sign * x < sign * best - threshold

    lr, best, bad, cool, out = lr0, None, 0, 0, [lr0]
    for x in metrics:
        if improves(x, best):
            best, bad = x, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            cut = max(lr * factor, min_lr)
            if lr - cut > eps:
                lr = cut
            cool, bad = cooldown, 0
        out.append(lr)
    return tuple(out)


def _loss_curve(n: int, seed: int) -> List[float]:
    """A made-up validation loss: falling, noisy, flattening (plateaus)."""
    state, out = seed, []
    for i in range(n):
        state = (1103515245 * state + 12345) % 2 ** 31          # a fixed LCG: no RNG state
        noise = (state / 2 ** 31 - 0.5) * 0.04
        out.append(1.0 / (1 + 0.05 * i) + (0.3 if 40 <= i < 55 else 0.0) + noise)
    return out


def _cyclic(t: int, base: float, top: float, up: int, down: int, amp: Callable[[int, int], float],
            m_lo: float = 0.8, m_hi: float = 0.9) -> Tuple[float, float]:
    """(lr, momentum) of a triangular cycle at iteration t: the fraction of
    the way up (rising over `up` iterations, falling over `down`) times the
    amplitude amp(cycle, t), cycle counting from 1."""
    cycle, pos = divmod(t, up + down)
    frac = pos / up if pos <= up else 1 - (pos - up) / down
    a = amp(cycle + 1, t)
    return base + (top - base) * frac * a, m_hi - (m_hi - m_lo) * frac * a


def _cyclic_entry(desc: str, base, top, up: int, down: Optional[int] = None,
                  amp: Callable[[int, int], float] = lambda c, t: 1.0, lrs=(0.1,),
                  optimizer="momentum", **kw) -> SchedulerInfo:
    bases = base if isinstance(base, (list, tuple)) else [base] * len(lrs)
    tops = top if isinstance(top, (list, tuple)) else [top] * len(lrs)
    ctor = dict(kw, step_size_up=up, step_size_down=down)
    m_lo, m_hi = kw.get("base_momentum", 0.8), kw.get("max_momentum", 0.9)
    ref = lambda t, g: _cyclic(int(t), bases[g], tops[g], up, down or up, amp, m_lo, m_hi)  # noqa: E731
    cycle = kw.get("cycle_momentum", True)
    return SchedulerInfo(
        "CyclicLR", desc, lambda S, o: S.CyclicLR(o, base, top, **ctor),
        lambda t, lr0, g: ref(t, g)[0], lrs=lrs, optimizer=optimizer, steps=150,
        momentum=(lambda t, g: ref(t, g)[1]) if cycle else (lambda t, g: 0.9))


class _Halving:
    """A scale function object (its state is saved by CyclicLR.state_dict)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, cycle: float) -> float:
        return self.rate ** (cycle - 1)


def _lambda_wave(t: int) -> float:
    return 0.97 ** t * (1 + 0.5 * math.sin(t / 7))


def _factor_wave(t: int) -> float:
    return 1 + 0.05 * math.sin(t / 5)


def _lambda_warmup(t: int) -> float:
    return min(1.0, (t + 1) / 10)


LOSS = _loss_curve(120, 7)
ACCURACY = [1 - x for x in LOSS]            # the same curve for mode="max"


def _plateau_entry(desc: str, lrs=(0.1,), metrics=LOSS, **kw) -> SchedulerInfo:
    per_group = kw.pop("min_lr", 0.0)
    mins = per_group if isinstance(per_group, (list, tuple)) else [per_group] * len(lrs)
    ctor = dict(kw, min_lr=per_group)
    return SchedulerInfo(
        "ReduceLROnPlateau", desc, lambda S, o: S.ReduceLROnPlateau(o, **ctor),
        lambda t, lr0, g: _plateau(tuple(metrics), lr0, min_lr=mins[g], **kw)[int(t)],
        lrs=lrs, steps=len(metrics), metrics=metrics)


def _one_cycle_entry(desc: str, total: int, top, lrs=(0.1,), optimizer="momentum",
                     ctor_total=None, **kw) -> SchedulerInfo:
    tops = top if isinstance(top, (list, tuple)) else [top] * len(lrs)
    ctor = dict(kw)
    ctor.update(ctor_total if ctor_total is not None else {"total_steps": total})
    # the closed form's keywords
    ref = {"pct": kw.get("pct_start", 0.3), "kind": kw.get("anneal_strategy", "cos"),
           "div": kw.get("div_factor", 25.0), "final_div": kw.get("final_div_factor", 1e4),
           "three": kw.get("three_phase", False), "m_lo": kw.get("base_momentum", 0.85),
           "m_hi": kw.get("max_momentum", 0.95)}
    cycle = kw.get("cycle_momentum", True)
    first_moment = 0.9          # the optimizer's own momentum / beta1, left alone without cycling
    return SchedulerInfo(
        "OneCycleLR", desc, lambda S, o: S.OneCycleLR(o, max_lr=top, **ctor),
        lambda t, lr0, g: _one_cycle(t, total, tops[g], **ref)[0],
        lrs=lrs, optimizer=optimizer, steps=total - 1,
        momentum=(lambda t, g: _one_cycle(t, total, tops[g], **ref)[1]) if cycle
        else (lambda t, g: first_moment))


SCHEDULERS: List[SchedulerInfo] = [
    # ---- StepLR: lr gamma^(t // step_size)
    SchedulerInfo("StepLR", "step_size=10, gamma=0.5", lambda S, o: S.StepLR(o, 10, gamma=0.5),
                  lambda t, lr0, g: lr0 * 0.5 ** (t // 10)),
    SchedulerInfo("StepLR", "step_size=30, default gamma 0.1, two groups",
                  lambda S, o: S.StepLR(o, step_size=30), lambda t, lr0, g: lr0 * 0.1 ** (t // 30),
                  lrs=(0.1, 0.03)),
    SchedulerInfo("StepLR", "step_size=1, gamma=0.97", lambda S, o: S.StepLR(o, 1, 0.97),
                  lambda t, lr0, g: lr0 * 0.97 ** t),
    SchedulerInfo("StepLR", "step(epoch): closed form, epochs jumping",
                  lambda S, o: S.StepLR(o, 4, 0.5), lambda t, lr0, g: lr0 * 0.5 ** (t // 4),
                  epochs=[(7 * k) % 41 for k in range(1, 101)], steps=100),
    # ---- MultiStepLR: lr gamma^(milestones <= t), repeats counting twice
    SchedulerInfo("MultiStepLR", "milestones=[10, 25, 60], gamma=0.5",
                  lambda S, o: S.MultiStepLR(o, [10, 25, 60], 0.5),
                  lambda t, lr0, g: lr0 * 0.5 ** sum(m <= t for m in (10, 25, 60))),
    SchedulerInfo("MultiStepLR", "milestones unsorted with a repeat [70, 20, 20, 45], default gamma",
                  lambda S, o: S.MultiStepLR(o, milestones=[70, 20, 20, 45]),
                  lambda t, lr0, g: lr0 * 0.1 ** sum(m <= t for m in (70, 20, 20, 45)),
                  lrs=(1.0, 0.5)),
    # ---- ExponentialLR: lr gamma^t
    SchedulerInfo("ExponentialLR", "gamma=0.97, two groups", lambda S, o: S.ExponentialLR(o, 0.97),
                  lambda t, lr0, g: lr0 * 0.97 ** t, lrs=(0.1, 0.02)),
    SchedulerInfo("ExponentialLR", "gamma=1.02 (growing)", lambda S, o: S.ExponentialLR(o, gamma=1.02),
                  lambda t, lr0, g: lr0 * 1.02 ** t),
    # ---- CosineAnnealingLR: eta_min + (lr - eta_min)(1 + cos(pi t / T_max)) / 2
    SchedulerInfo("CosineAnnealingLR", "T_max=100", lambda S, o: S.CosineAnnealingLR(o, 100),
                  lambda t, lr0, g: _cosine(lr0, 0.0, t, 100)),
    SchedulerInfo("CosineAnnealingLR", "T_max=30, eta_min=1e-3, past T_max (periodic), two groups",
                  lambda S, o: S.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),
                  lambda t, lr0, g: _cosine(lr0, 1e-3, t, 30), lrs=(0.1, 0.05), steps=150),
    SchedulerInfo("CosineAnnealingLR", "T_max=7, eta_min=0.01, many periods",
                  lambda S, o: S.CosineAnnealingLR(o, 7, 0.01),
                  lambda t, lr0, g: _cosine(lr0, 0.01, t, 7)),
    # ---- CosineAnnealingWarmRestarts: cosine over T_cur / T_i
    SchedulerInfo("CosineAnnealingWarmRestarts", "T_0=10",
                  lambda S, o: S.CosineAnnealingWarmRestarts(o, 10),
                  lambda t, lr0, g: _cosine(lr0, 0.0, *_restart(t, 10, 1))),
    SchedulerInfo("CosineAnnealingWarmRestarts", "T_0=5, T_mult=2, eta_min=1e-4, two groups",
                  lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-4),
                  lambda t, lr0, g: _cosine(lr0, 1e-4, *_restart(t, 5, 2)), lrs=(0.1, 0.3),
                  steps=160),
    SchedulerInfo("CosineAnnealingWarmRestarts", "T_0=3, T_mult=3, fractional epochs step(e)",
                  lambda S, o: S.CosineAnnealingWarmRestarts(o, 3, 3, 0.001),
                  lambda e, lr0, g: _cosine(lr0, 0.001, *_restart(e, 3, 3)),
                  epochs=[k * 0.3 + 0.05 for k in range(1, 161)], steps=160),
    SchedulerInfo("CosineAnnealingWarmRestarts", "T_0=4, fractional epochs step(e), T_mult=1",
                  lambda S, o: S.CosineAnnealingWarmRestarts(o, 4),
                  lambda e, lr0, g: _cosine(lr0, 0.0, *_restart(e, 4, 1)),
                  epochs=[k / 8 for k in range(1, 121)]),
    # ---- LinearLR: lr (start + (end - start) min(t, T) / T)
    SchedulerInfo("LinearLR", "defaults (1/3 -> 1 over 5)", lambda S, o: S.LinearLR(o),
                  lambda t, lr0, g: lr0 * _linear_factor(t, 1 / 3, 1.0, 5)),
    SchedulerInfo("LinearLR", "warm-up start_factor=0.05 over 40, two groups",
                  lambda S, o: S.LinearLR(o, start_factor=0.05, total_iters=40),
                  lambda t, lr0, g: lr0 * _linear_factor(t, 0.05, 1.0, 40), lrs=(0.1, 0.01)),
    SchedulerInfo("LinearLR", "decay 1 -> 0.1 over 50",
                  lambda S, o: S.LinearLR(o, 1.0, 0.1, 50),
                  lambda t, lr0, g: lr0 * _linear_factor(t, 1.0, 0.1, 50)),
    SchedulerInfo("LinearLR", "decay to end_factor=0 over 60",
                  lambda S, o: S.LinearLR(o, start_factor=0.5, end_factor=0.0, total_iters=60),
                  lambda t, lr0, g: lr0 * _linear_factor(t, 0.5, 0.0, 60)),
    # ---- ConstantLR: lr factor until total_iters, then lr
    SchedulerInfo("ConstantLR", "defaults (1/3 for 5)", lambda S, o: S.ConstantLR(o),
                  lambda t, lr0, g: lr0 / 3 if t < 5 else lr0),
    SchedulerInfo("ConstantLR", "factor=0.5 for 40, two groups",
                  lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=40),
                  lambda t, lr0, g: lr0 * 0.5 if t < 40 else lr0, lrs=(0.1, 0.3)),
    # ---- PolynomialLR: lr (1 - min(t, T) / T)^power
    SchedulerInfo("PolynomialLR", "defaults (power 1 over 5)", lambda S, o: S.PolynomialLR(o),
                  lambda t, lr0, g: lr0 * (1 - min(t, 5) / 5)),
    SchedulerInfo("PolynomialLR", "power=2 over 80", lambda S, o: S.PolynomialLR(o, 80, 2.0),
                  lambda t, lr0, g: lr0 * (1 - min(t, 80) / 80) ** 2),
    SchedulerInfo("PolynomialLR", "power=0.5 over 100, two groups",
                  lambda S, o: S.PolynomialLR(o, total_iters=100, power=0.5),
                  lambda t, lr0, g: lr0 * (1 - min(t, 100) / 100) ** 0.5, lrs=(0.1, 0.2)),
    # ---- MultiplicativeLR: lr f(1) f(2) ... f(t)
    SchedulerInfo("MultiplicativeLR", "constant factor 0.96",
                  lambda S, o: S.MultiplicativeLR(o, lambda t: 0.96),
                  lambda t, lr0, g: lr0 * 0.96 ** t),
    SchedulerInfo("MultiplicativeLR", "one function per group",
                  lambda S, o: S.MultiplicativeLR(o, [_factor_wave, lambda t: 0.99]),
                  lambda t, lr0, g: lr0 * math.prod(_factor_wave(k) if g == 0 else 0.99
                                                    for k in range(1, int(t) + 1)),
                  lrs=(0.1, 0.2)),
    # ---- LambdaLR: lr f(t)
    SchedulerInfo("LambdaLR", "one function", lambda S, o: S.LambdaLR(o, _lambda_wave),
                  lambda t, lr0, g: lr0 * _lambda_wave(t)),
    SchedulerInfo("LambdaLR", "one function per group",
                  lambda S, o: S.LambdaLR(o, [_lambda_wave, _lambda_warmup]),
                  lambda t, lr0, g: lr0 * (_lambda_wave, _lambda_warmup)[g](t), lrs=(0.1, 0.2)),
    # ---- OneCycleLR: the phases of the 1cycle policy
    _one_cycle_entry("defaults (cos, two phases), total_steps=150", 150, 0.5),
    _one_cycle_entry("anneal_strategy='linear'", 120, 1.0, anneal_strategy="linear"),
    _one_cycle_entry("three_phase, cos", 130, 0.4, three_phase=True),
    _one_cycle_entry("three_phase, linear, pct_start=0.25", 140, 0.4, three_phase=True,
                     anneal_strategy="linear", pct_start=0.25),
    _one_cycle_entry("epochs=10 x steps_per_epoch=15", 150, 0.3,
                     ctor_total={"epochs": 10, "steps_per_epoch": 15}),
    _one_cycle_entry("per-group max_lr, Adam's betas cycled", 120, [0.5, 0.05], lrs=(0.1, 0.1),
                     optimizer="betas"),
    _one_cycle_entry("cycle_momentum=False", 120, 0.5, cycle_momentum=False),
    _one_cycle_entry("div_factor=10, final_div_factor=100, pct_start=0.45, momentum 0.8..0.99",
                     125, 0.8, div_factor=10.0, final_div_factor=100.0, pct_start=0.45,
                     base_momentum=0.8, max_momentum=0.99),
    # ---- CyclicLR: triangular cycles, the amplitude per cycle or iteration
    _cyclic_entry("triangular, step_size_up=10", 0.01, 0.1, 10),
    _cyclic_entry("triangular2, up 8, down 12", 0.001, 0.05, 8, 12, mode="triangular2",
                  amp=lambda c, t: 0.5 ** (c - 1)),
    _cyclic_entry("exp_range gamma=0.99", 0.01, 0.2, 7, mode="exp_range", gamma=0.99,
                  amp=lambda c, t: 0.99 ** t),
    _cyclic_entry("custom scale_fn of the cycle (an object)", 0.01, 0.1, 6, 9,
                  scale_fn=_Halving(0.7), amp=lambda c, t: 0.7 ** (c - 1)),
    _cyclic_entry("custom scale_fn of the iteration", 0.02, 0.1, 5, scale_fn=lambda x: 1 / (1 + x / 50),
                  scale_mode="iterations", amp=lambda c, t: 1 / (1 + t / 50)),
    _cyclic_entry("per-group base_lr and max_lr, Adam's betas cycled", [0.01, 0.001], [0.1, 0.02],
                  12, lrs=(0.5, 0.5), optimizer="betas", base_momentum=0.85, max_momentum=0.95),
    _cyclic_entry("cycle_momentum=False", 0.01, 0.1, 10, 4, cycle_momentum=False),
    # ---- ReduceLROnPlateau: scripted metrics
    _plateau_entry("defaults (min, rel, patience 10)"),
    _plateau_entry("factor=0.5, patience=2", factor=0.5, patience=2),
    _plateau_entry("mode='max' on an accuracy", metrics=ACCURACY, mode="max", factor=0.5,
                   patience=3),
    _plateau_entry("threshold_mode='abs', threshold=0.01", threshold_mode="abs", threshold=0.01,
                   patience=3, factor=0.3),
    _plateau_entry("mode='max', abs threshold", metrics=ACCURACY, mode="max", threshold_mode="abs",
                   threshold=0.005, patience=2, factor=0.5),
    _plateau_entry("cooldown=5, rel threshold 0.02", cooldown=5, patience=1, threshold=0.02,
                   factor=0.7),
    _plateau_entry("min_lr per group", lrs=(0.1, 0.05), min_lr=[0.01, 0.02], patience=1,
                   factor=0.5),
    _plateau_entry("eps=1e-3 (cuts below it skipped)", lrs=(0.01,), eps=1e-3, patience=1,
                   factor=0.5),
    # ---- SequentialLR: each scheduler from its epoch 0 at its milestone
    SchedulerInfo("SequentialLR", "LinearLR warm-up 5, then CosineAnnealingLR",
                  lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                  S.CosineAnnealingLR(o, T_max=60, eta_min=1e-3)],
                                              milestones=[5]),
                  lambda t, lr0, g: lr0 * _linear_factor(t, 0.1, 1.0, 5) if t < 5
                  else _cosine(lr0, 1e-3, t - 5, 60)),
    SchedulerInfo("SequentialLR", "ExponentialLR, StepLR at 20, LinearLR at 60, two groups",
                  lambda S, o: S.SequentialLR(
                      o, [S.ExponentialLR(o, 0.9), S.StepLR(o, 10, 0.5),
                          S.LinearLR(o, 1.0, 0.2, 30)], [20, 60]),
                  lambda t, lr0, g: lr0 * (0.9 ** t if t < 20 else 0.5 ** ((t - 20) // 10) if t < 60
                                           else _linear_factor(t - 60, 1.0, 0.2, 30)),
                  lrs=(0.1, 0.04)),
    # ---- ChainedScheduler: the factors multiply
    SchedulerInfo("ChainedScheduler", "LinearLR x ExponentialLR",
                  lambda S, o: S.ChainedScheduler([S.LinearLR(o, 0.5, total_iters=10),
                                                   S.ExponentialLR(o, 0.95)]),
                  lambda t, lr0, g: lr0 * _linear_factor(t, 0.5, 1.0, 10) * 0.95 ** t),
    SchedulerInfo("ChainedScheduler", "StepLR x MultiStepLR x ExponentialLR, two groups",
                  lambda S, o: S.ChainedScheduler([S.StepLR(o, 7, 0.5),
                                                   S.MultiStepLR(o, [30, 80], 0.3),
                                                   S.ExponentialLR(o, 0.99)]),
                  lambda t, lr0, g: lr0 * 0.5 ** (t // 7) * 0.3 ** sum(m <= t for m in (30, 80))
                  * 0.99 ** t, lrs=(0.2, 0.1)),
]

def all_schedulers() -> List[SchedulerInfo]:
    return list(SCHEDULERS)


def ids() -> List[str]:
    """The scheduler ids ("lr_scheduler.StepLR"), one per class, in order."""
    return list(dict.fromkeys(e.id for e in SCHEDULERS))


def coverage() -> List[str]:
    """Scheduler classes of tinyfin.optim.lr_scheduler without an entry
    (LRScheduler, the base, is exercised by all)."""
    import tinyfin.optim.lr_scheduler as S
    have = {e.name for e in SCHEDULERS} | {"LRScheduler"}
    return sorted(n for n in S.__all__ if n not in have)


def select(names: Optional[Sequence[str]] = None) -> List[SchedulerInfo]:
    """Entries whose id ("lr_scheduler.StepLR") is in names (all when None)."""
    if names is None:
        return all_schedulers()
    wanted = set(names)
    return [e for e in SCHEDULERS if e.id in wanted]
