"""optim.lr_scheduler (tinyfin/optim/lr_scheduler.py).

Every configuration of the scheduler database (verify/schedulers.py: every
class, every option that changes the curve) is run against its closed form
(no PyTorch needed) and, when PyTorch is installed, against PyTorch's
scheduler step by step: the same rates and momenta bitwise, the same
state_dict mid-run and at the end, and a run continued from PyTorch's
state_dict. Then resumption (state_dict round trips mid-run, last_epoch),
step(epoch), composites, ReduceLROnPlateau by hand, the LambdaLR state, a
real SGD following the schedule, and the errors."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import tinyfin as tf
from tinyfin.optim import lr_scheduler as S
from verify import schedulers as db
from verify.__main__ import run
from verify.checks.schedulers import advance, check_schedulers, make_optimizer, resumed, trajectory

ENTRIES = db.all_schedulers()
IDS = [f"{e.name}[{e.desc}]" for e in ENTRIES]


def _holder(lrs=(0.1,), kind="momentum"):
    return make_optimizer(db.SchedulerInfo("x", "x", None, None, lrs=tuple(lrs), optimizer=kind))


def _lrs(sched, n, metrics=None):
    out = [sched.get_last_lr()[0]]
    for i in range(n):
        sched.step() if metrics is None else sched.step(metrics[i])
        out.append(sched.get_last_lr()[0])
    return out


# ---- the closed forms (no PyTorch) -------------------------------------------
@pytest.mark.parametrize("sid", db.ids())
def test_closed_form_and_resume_checks_pass(sid):
    rows = check_schedulers(db.select([sid]))
    assert [r.check for r in rows] == ["schedule-closed-form", "schedule-resume"]
    for r in rows:
        assert r.status == "pass", r.failures
        assert r.n >= 100
    assert rows[0].extra["max_rel_err"] <= 1e-12


def test_verify_selects_a_scheduler_by_id():
    # python -m verify --ops lr_scheduler.StepLR runs that scheduler's rows only
    rows = [r for r in run(ops=["lr_scheduler.StepLR"], progress=False, suites=False)
            if r.check != "dispatch"]
    assert {(r.op, r.check) for r in rows} == {("lr_scheduler.StepLR", "schedule-closed-form"),
                                              ("lr_scheduler.StepLR", "schedule-resume")}
    assert all(r.status == "pass" for r in rows)


def test_every_scheduler_class_has_entries():
    assert db.coverage() == []
    assert set(db.ids()) == {f"lr_scheduler.{n}" for n in S.__all__ if n != "LRScheduler"}


def test_hand_values():
    assert _lrs(S.StepLR(_holder(), 3, 0.1), 7) == pytest.approx(
        [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001], rel=1e-15)
    assert _lrs(S.MultiStepLR(_holder((1.0,)), [2, 2, 4], 0.5), 5) == [1, 1, 0.25, 0.25, 0.125,
                                                                       0.125]
    assert _lrs(S.LinearLR(_holder((0.3,)), 1 / 3, 1.0, 2), 3) == pytest.approx(
        [0.1, 0.2, 0.3, 0.3], rel=1e-15)
    assert _lrs(S.CosineAnnealingLR(_holder((1.0,)), 2), 4) == pytest.approx(
        [1.0, 0.5, 0.0, 0.5, 1.0], abs=1e-15)
    assert _lrs(S.CosineAnnealingWarmRestarts(_holder((1.0,)), 2), 4) == pytest.approx(
        [1.0, 0.5, 1.0, 0.5, 1.0], abs=1e-15)
    # 1cycle over 10 steps, pct 0.5: up over 4 steps from 0.04 to 1, down over 5 to 4e-6
    got = _lrs(S.OneCycleLR(_holder(), 1.0, total_steps=10, pct_start=0.5,
                            anneal_strategy="linear"), 9)
    assert got == pytest.approx([0.04, 0.28, 0.52, 0.76, 1.0, 0.8000008, 0.6000016, 0.4000024,
                                 0.2000032, 4e-6], rel=1e-12)


def test_plateau_by_hand():
    opt = _holder((1.0,))
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6]
    # 0.95 twice after 0.9: more than patience=1 bad epochs -> 0.5, one cooldown
    # epoch, then two more bad -> 0.25, cooldown, two more -> 0.2 (min_lr)
    want = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]
    assert _lrs(sched, len(metrics), metrics) == want
    assert sched.best == 0.5 and sched.last_epoch == len(metrics)


# ---- against PyTorch, step by step ---------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _torch_optimizer(torch, lrs, kind):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "betas":
        return torch.optim.Adam(groups, lr=lrs[0], betas=(0.9, 0.999))
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def _same_state(ours, theirs, where=""):
    """Equal state dicts: the same keys and values (recursively)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        assert set(ours) == set(theirs), f"{where}: keys {sorted(ours)} vs {sorted(theirs)}"
        for k in theirs:
            _same_state(ours[k], theirs[k], f"{where}.{k}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same_state(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs and type(ours) is type(theirs), f"{where}: {ours!r} vs {theirs!r}"


# the param-group entries schedulers write
SCHEDULED_KEYS = ("lr", "initial_lr", "max_lr", "min_lr", "momentum", "betas", "max_momentum",
                  "base_momentum")


# PyTorch warns that lr_scheduler.step() comes before optimizer.step() (there
# is no optimizer step here) and, as tinyfin does, that step(epoch) is deprecated
pytestmark = [pytest.mark.filterwarnings("ignore:Detected call of"),
              pytest.mark.filterwarnings("ignore:The epoch parameter")]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_vs_torch_step_by_step(entry):
    torch = _torch()
    TS = torch.optim.lr_scheduler
    topt = _torch_optimizer(torch, entry.lrs, entry.optimizer)
    opt = make_optimizer(entry)
    tsched, sched = entry.build(TS, topt), entry.build(S, opt)
    _same_state(sched.state_dict(), tsched.state_dict(), "after construction")
    mid = entry.steps // 2
    ours = trajectory(entry, S, opt, sched=sched, stop=mid)
    theirs = trajectory(entry, TS, topt, sched=tsched, stop=mid)
    assert ours == theirs
    _same_state(sched.state_dict(), tsched.state_dict(), f"after step {mid}")
    ours = trajectory(entry, S, opt, start=mid, sched=sched)
    theirs = trajectory(entry, TS, topt, start=mid, sched=tsched)
    assert ours == theirs                                    # bitwise: the same float operations
    _same_state(sched.state_dict(), tsched.state_dict(), "at the end")
    for g, tg in zip(opt.param_groups, topt.param_groups):   # what the schedulers wrote
        for k in SCHEDULED_KEYS:
            assert (k in g) == (k in tg) and g.get(k) == tg.get(k), k


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_resume_from_torch_state_dict(entry):
    # PyTorch's scheduler state_dict (plain Python values) loads into
    # tinyfin's, mid-run, and the run continues as PyTorch's does
    torch = _torch()
    TS = torch.optim.lr_scheduler
    at = max(1, entry.steps // 3)
    topt = _torch_optimizer(torch, entry.lrs, entry.optimizer)
    tsched = entry.build(TS, topt)
    for t in range(1, at + 1):
        advance(entry, tsched, t)
    state = copy.deepcopy(tsched.state_dict())
    opt = make_optimizer(entry)
    sched = entry.build(S, opt)
    for g, tg in zip(opt.param_groups, topt.param_groups):   # what optimizer.load_state_dict does
        g.update({k: tg[k] for k in SCHEDULED_KEYS if k in tg})
    sched.load_state_dict(state)
    ours = trajectory(entry, S, opt, start=at, sched=sched)
    theirs = trajectory(entry, TS, topt, start=at, sched=tsched)
    assert ours == theirs


COMBOS = {
    "chained(sequential(linear, cosine), exponential)": lambda S, o: S.ChainedScheduler([
        S.SequentialLR(o, [S.LinearLR(o, 0.2, total_iters=4), S.CosineAnnealingLR(o, 40)], [4]),
        S.ExponentialLR(o, 0.99)]),
    "sequential(chained(step, exponential), multistep)": lambda S, o: S.SequentialLR(o, [
        S.ChainedScheduler([S.StepLR(o, 5, 0.5), S.ExponentialLR(o, 0.98)]),
        S.MultiStepLR(o, [10, 20], 0.5)], [30]),
    "sequential(lambda, step, cosine) at 10, 50": lambda S, o: S.SequentialLR(o, [
        S.LambdaLR(o, lambda t: (t + 1) / 10), S.StepLR(o, 15, 0.3),
        S.CosineAnnealingLR(o, 25, 1e-4)], [10, 50]),
    "sequential(cosine, exponential) at 0": lambda S, o: S.SequentialLR(o, [
        S.CosineAnnealingLR(o, 10), S.ExponentialLR(o, 0.9)], [0]),
    "chained(cosine, warm restarts)": lambda S, o: S.ChainedScheduler([
        S.CosineAnnealingLR(o, 30, 0.01), S.CosineAnnealingWarmRestarts(o, 7, 2)], o),
    "sequential(onecycle, step)": lambda S, o: S.SequentialLR(o, [
        S.OneCycleLR(o, 0.5, total_steps=40), S.StepLR(o, 10, 0.5)], [39]),
}


@pytest.mark.parametrize("name", list(COMBOS))
def test_composites_vs_torch_with_round_trip(name):
    torch = _torch()
    TS = torch.optim.lr_scheduler
    e = db.SchedulerInfo("combo", name, COMBOS[name], None, lrs=(0.1, 0.05), steps=110)
    ours = trajectory(e, S, make_optimizer(e))
    topt = _torch_optimizer(torch, e.lrs, "momentum")
    tsched = e.build(TS, topt)
    theirs = trajectory(e, TS, topt, sched=tsched)
    assert ours == theirs
    assert resumed(e, S, lambda: make_optimizer(e), 47) == theirs[47:]
    opt = make_optimizer(e)
    sched = e.build(S, opt)
    trajectory(e, S, opt, sched=sched)
    _same_state(sched.state_dict(), tsched.state_dict(), name)


@pytest.mark.parametrize("make", [
    lambda S, o: S.StepLR(o, 4, 0.5), lambda S, o: S.MultiStepLR(o, [3, 9, 9], 0.5),
    lambda S, o: S.ExponentialLR(o, 0.9), lambda S, o: S.CosineAnnealingLR(o, 12, 0.001),
    lambda S, o: S.LinearLR(o, 0.2, 0.9, 10), lambda S, o: S.LambdaLR(o, lambda t: 0.9 ** t),
    lambda S, o: S.ConstantLR(o, 0.5, 6), lambda S, o: S.PolynomialLR(o, 15, 2.0),
    lambda S, o: S.MultiplicativeLR(o, lambda t: 0.9),
], ids=["step", "multistep", "exponential", "cosine", "linear", "lambda", "constant", "polynomial",
        "multiplicative"])
def test_step_with_epoch_vs_torch(make):
    # step(epoch): deprecated, warned, and the closed form where there is one
    torch = _torch()
    opt, topt = _holder((0.1, 0.2)), _torch_optimizer(torch, (0.1, 0.2), "momentum")
    sched, tsched = make(S, opt), make(torch.optim.lr_scheduler, topt)
    for epoch in [3, 3, 7, 1, 20, 12, 13, 0, 5]:
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        tsched.step(epoch)
        assert sched.get_last_lr() == tsched.get_last_lr()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr()


@pytest.mark.parametrize("make", [
    lambda S, o, k: S.StepLR(o, 4, 0.5, last_epoch=k),
    lambda S, o, k: S.ExponentialLR(o, 0.9, last_epoch=k),
    lambda S, o, k: S.CosineAnnealingLR(o, 12, 0.001, last_epoch=k),
    lambda S, o, k: S.LinearLR(o, 0.2, 0.9, 10, last_epoch=k),
    lambda S, o, k: S.MultiStepLR(o, [3, 9], last_epoch=k),
    lambda S, o, k: S.CosineAnnealingWarmRestarts(o, 3, 2, last_epoch=k),
    lambda S, o, k: S.OneCycleLR(o, 0.5, total_steps=30, last_epoch=k),
    lambda S, o, k: S.ConstantLR(o, 0.5, 8, last_epoch=k),
    lambda S, o, k: S.PolynomialLR(o, 20, 1.5, last_epoch=k),
    lambda S, o, k: S.CyclicLR(o, 0.01, 0.1, 4, 3, mode="triangular2", last_epoch=k),
], ids=["step", "exponential", "cosine", "linear", "multistep", "warm-restarts", "one-cycle",
        "constant", "polynomial", "cyclic"])
@pytest.mark.parametrize("k", [0, 5, 11])
def test_constructed_with_last_epoch_vs_torch(make, k):
    # resuming by last_epoch: the groups carry 'initial_lr' (and, for
    # OneCycleLR, max_lr / min_lr / momenta) from the first run
    torch = _torch()
    opt, topt = _holder((0.1, 0.2)), _torch_optimizer(torch, (0.1, 0.2), "momentum")
    make(S, opt, -1), make(torch.optim.lr_scheduler, topt, -1)
    sched, tsched = make(S, opt, k), make(torch.optim.lr_scheduler, topt, k)
    assert sched.get_last_lr() == tsched.get_last_lr() and sched.last_epoch == tsched.last_epoch
    for _ in range(15):
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr()


def test_last_epoch_without_initial_lr_is_a_key_error():
    with pytest.raises(KeyError, match=r"initial_lr.*param_groups\[0\]"):
        S.StepLR(_holder(), 3, last_epoch=4)


def test_state_dict_round_trip_mid_run_without_torch():
    for e in ENTRIES:
        whole = trajectory(e, S, make_optimizer(e))
        at = e.steps // 2
        assert resumed(e, S, lambda: make_optimizer(e), at) == whole[at:], e.desc


def test_resume_through_a_checkpoint_file(tmp_path):
    # scheduler and optimizer state_dicts through tinyfin.save / tinyfin.load
    # (a Counter comes back as a dict, tuples as lists or tuples, inf as inf)
    path = str(tmp_path / "ckpt.tf")
    for e in ENTRIES:
        whole = trajectory(e, S, make_optimizer(e))
        at = e.steps // 2
        opt = make_optimizer(e)
        sched = e.build(S, opt)
        for t in range(1, at + 1):
            advance(e, sched, t)
        tf.save({"scheduler": sched.state_dict(), "optimizer": opt.state_dict(), "epoch": at}, path)
        ck = tf.load(path)
        opt2 = make_optimizer(e)
        sched2 = e.build(S, opt2)
        opt2.load_state_dict(ck["optimizer"])
        sched2.load_state_dict(ck["scheduler"])
        assert trajectory(e, S, opt2, start=ck["epoch"], sched=sched2) == whole[at:], e.desc


def test_state_dict_is_everything_but_the_optimizer():
    opt = _holder((0.1, 0.2))
    sched = S.CosineAnnealingLR(opt, 10, 0.01)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state
    assert state["T_max"] == 10 and state["eta_min"] == 0.01 and state["last_epoch"] == 3
    assert state["base_lrs"] == [0.1, 0.2] and state["_step_count"] == 4
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]


def test_multistep_state_dict_through_plain_dicts():
    # a checkpoint gives the milestones Counter back as a plain dict
    opt = _holder()
    sched = S.MultiStepLR(opt, [3, 5, 5], 0.5)
    for _ in range(4):
        sched.step()
    state = copy.deepcopy(sched.state_dict())
    state["milestones"] = dict(state["milestones"])
    other = S.MultiStepLR(_holder(), [1], 0.5)
    other.load_state_dict(state)
    other.optimizer.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    assert _lrs(other, 3) == _lrs(sched, 3) == [0.05, 0.0125, 0.0125, 0.0125]
    with pytest.warns(UserWarning, match="epoch parameter"):
        other.step(6)                            # the closed form counts the repeat twice
    assert other.get_last_lr() == [0.1 * 0.5 ** 3]


class _Decay:
    """A callable object: its __dict__ is saved by LambdaLR.state_dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, t):
        return self.rate ** t


def test_lambda_state_dict():
    opt = _holder((0.1, 0.2))
    sched = S.LambdaLR(opt, [lambda t: 1.0, _Decay(0.9)])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"rate": 0.9}]
    state["lr_lambdas"][1]["rate"] = 0.5
    other = S.LambdaLR(_holder((0.1, 0.2)), [lambda t: 2.0, _Decay(0.9)])
    other.load_state_dict(state)
    assert other.lr_lambdas[1].rate == 0.5 and other.lr_lambdas[0](3) == 2.0
    assert "lr_lambdas" in state                # load_state_dict leaves its argument whole
    other.step()
    assert other.get_last_lr() == [0.1 * 2.0, 0.2 * 0.5]


@pytest.mark.parametrize("cls", ["LambdaLR", "MultiplicativeLR"])
def test_lambda_state_dict_vs_torch(cls):
    torch = _torch()
    topt = _torch_optimizer(torch, (0.1, 0.2), "momentum")
    theirs = getattr(torch.optim.lr_scheduler, cls)(topt, [lambda t: 1.0, _Decay(0.9)])
    ours = getattr(S, cls)(_holder((0.1, 0.2)), [lambda t: 1.0, _Decay(0.9)])
    _same_state(ours.state_dict(), theirs.state_dict())


def test_cyclic_state_dict_keeps_the_scale_function():
    opt = _holder()
    fn = db._Halving(0.5)
    sched = S.CyclicLR(opt, 0.01, 0.1, 2, scale_fn=fn)
    state = sched.state_dict()
    assert state["_scale_fn_custom"] == {"rate": 0.5} and "_scale_fn_ref" not in state
    assert S.CyclicLR(_holder(), 0.01, 0.1, 2, scale_fn=lambda c: 1.0).state_dict()[
        "_scale_fn_custom"] is None
    built_in = S.CyclicLR(_holder(), 0.01, 0.1, 2, mode="exp_range", gamma=0.9)
    state_b = copy.deepcopy(built_in.state_dict())
    assert "_scale_fn_ref" not in state_b and state_b["scale_mode"] == "iterations"
    other = S.CyclicLR(_holder(), 0.01, 0.1, 2, mode="exp_range", gamma=0.9)
    other.load_state_dict(state_b)
    assert "_scale_fn_custom" in state_b        # the argument is left whole
    assert other.scale_fn(3) == 0.9 ** 3
    state["_scale_fn_custom"] = {"rate": 0.25}
    again = S.CyclicLR(_holder(), 0.01, 0.1, 2, scale_fn=db._Halving(0.5))
    again.load_state_dict(state)
    assert again._scale_fn_custom.rate == 0.25 and again.scale_fn(2) == 0.25


def test_plateau_state_dict_round_trip_restores_the_comparison():
    sched = S.ReduceLROnPlateau(_holder(), mode="max", threshold_mode="abs", patience=0)
    sched.step(1.0)
    state = copy.deepcopy(sched.state_dict())
    other = S.ReduceLROnPlateau(_holder())
    other.load_state_dict(state)
    assert other.mode == "max" and other.mode_worse == -math.inf and other.best == 1.0
    other.step(0.5)                              # worse in max mode: cut at once (patience 0)
    assert other.get_last_lr() == [pytest.approx(0.01)]


def test_plateau_new_param_group():
    opt = _holder()
    sched = S.ReduceLROnPlateau(opt, patience=0, min_lr=0.001)
    opt.add_param_group({"params": [tf.nn.Parameter(tf.zeros(1))], "lr": 0.5})
    sched.step(1.0)
    sched.step(2.0)
    assert sched.get_last_lr() == [pytest.approx(0.01), pytest.approx(0.05)]
    opt = _holder()
    sched = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.001])
    opt.add_param_group({"params": [tf.nn.Parameter(tf.zeros(1))], "lr": 0.5})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match=r"number of param groups.*\(2\).*\(1\)"):
        sched.step(2.0)


def test_plateau_takes_a_tensor_metric():
    sched = S.ReduceLROnPlateau(_holder(), patience=0)
    sched.step(tf.tensor(1.0))
    sched.step(tf.tensor(1.5))
    assert sched.get_last_lr() == [pytest.approx(0.01)] and sched.best == 1.0


def test_sgd_follows_the_schedule():
    p = tf.nn.Parameter(tf.zeros(1, dtype=tf.float64))
    opt = tf.optim.SGD([p], lr=1.0)
    sched = S.StepLR(opt, 2, 0.5)
    moved = []
    for _ in range(5):
        p.grad = tf.ones(1, dtype=tf.float64)
        before = p.item()
        opt.step()
        moved.append(before - p.item())
        sched.step()
    assert moved == [1.0, 1.0, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_training_under_one_cycle_vs_torch(kind):
    # the optimizer reads the lr and momentum / beta1 the scheduler writes
    # each step: float64 parameters follow PyTorch's to rounding
    torch = _torch()
    rng = np.random.default_rng(3)
    w0, grads = rng.standard_normal(6), rng.standard_normal((40, 6))
    p = tf.nn.Parameter(tf.tensor(w0.copy()))
    tp = torch.tensor(w0.copy(), requires_grad=True)
    if kind == "sgd":
        opt, topt = tf.optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([tp], 0.1, 0.9)
    else:
        opt, topt = tf.optim.Adam([p], lr=0.1), torch.optim.Adam([tp], lr=0.1)
    sched = S.OneCycleLR(opt, 0.5, total_steps=40, three_phase=True)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, 0.5, total_steps=40, three_phase=True)
    for g in grads:
        p.grad, tp.grad = tf.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr()
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-13,
                                   atol=1e-14)


def test_one_cycle_sets_the_groups_and_cycles_momentum_or_betas():
    opt = _holder((0.1, 0.1), kind="betas")
    S.OneCycleLR(opt, [1.0, 0.5], total_steps=20, div_factor=10, final_div_factor=5)
    g0, g1 = opt.param_groups
    assert (g0["initial_lr"], g0["max_lr"], g0["min_lr"]) == (0.1, 1.0, 0.1 / 5)
    assert (g1["initial_lr"], g1["max_lr"]) == (0.05, 0.5)
    assert g0["betas"] == (0.95, 0.999) and g0["max_momentum"] == 0.95
    assert g0["base_momentum"] == 0.85 and "momentum" not in g0
    opt = _holder()
    S.OneCycleLR(opt, 1.0, total_steps=20, cycle_momentum=False)
    assert opt.param_groups[0]["momentum"] == 0.9


def test_one_cycle_past_the_last_step():
    sched = S.OneCycleLR(_holder(), 1.0, total_steps=10)
    for _ in range(10):                   # the 10th step (epoch 10) is still allowed, as in PyTorch
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 11 times. The specified number of total "
                       "steps is 10"):
        sched.step()


def test_get_lr_outside_step_warns():
    sched = S.StepLR(_holder(), 3)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
        sched.get_last_lr()


# ---- errors (and the same exception type as PyTorch's) -----------------------------
class _Plain(tf.optim.Optimizer):
    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})


def _plain():
    return _Plain([tf.nn.Parameter(tf.zeros(1))])


ERRORS = [
    ("not an optimizer", lambda S, o: S.StepLR(object(), 3), TypeError, "object is not an Optimizer"),
    ("plateau not an optimizer", lambda S, o: S.ReduceLROnPlateau([1]), TypeError,
     "list is not an Optimizer"),
    ("linear start 0", lambda S, o: S.LinearLR(o, start_factor=0), ValueError, "Starting"),
    ("linear start > 1", lambda S, o: S.LinearLR(o, start_factor=1.5), ValueError, "Starting"),
    ("linear end > 1", lambda S, o: S.LinearLR(o, end_factor=1.5), ValueError, "Ending"),
    ("linear end < 0", lambda S, o: S.LinearLR(o, end_factor=-0.1), ValueError, "Ending"),
    ("lambda count", lambda S, o: S.LambdaLR(o, [lambda t: 1, lambda t: 1, lambda t: 1]),
     ValueError, "Expected 2 lr_lambdas, but got 3"),
    ("multiplicative count", lambda S, o: S.MultiplicativeLR(o, [lambda t: 1]), ValueError,
     "Expected 2 lr_lambdas, but got 1"),
    ("multiplicative not callable", lambda S, o: S.MultiplicativeLR(o, 0.9), TypeError,
     "lr_lambda should be a function, but got float"),
    ("constant factor > 1", lambda S, o: S.ConstantLR(o, factor=1.5), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1"),
    ("constant factor < 0", lambda S, o: S.ConstantLR(o, factor=-0.5), ValueError,
     "Constant multiplicative factor"),
    ("restarts T_0=0", lambda S, o: S.CosineAnnealingWarmRestarts(o, 0), ValueError,
     "positive integer T_0"),
    ("restarts T_0 float", lambda S, o: S.CosineAnnealingWarmRestarts(o, 2.5), ValueError,
     "positive integer T_0"),
    ("restarts T_mult=0", lambda S, o: S.CosineAnnealingWarmRestarts(o, 2, 0), ValueError,
     "T_mult >= 1"),
    ("restarts T_mult float", lambda S, o: S.CosineAnnealingWarmRestarts(o, 2, 1.5), ValueError,
     "T_mult >= 1"),
    ("restarts eta_min str", lambda S, o: S.CosineAnnealingWarmRestarts(o, 2, eta_min="0"),
     ValueError, "float or int eta_min"),
    ("restarts negative epoch", lambda S, o: S.CosineAnnealingWarmRestarts(o, 2).step(-1),
     ValueError, "non-negative epoch"),
    ("onecycle no length", lambda S, o: S.OneCycleLR(o, 1.0), ValueError,
     "either total_steps OR"),
    ("onecycle epochs only", lambda S, o: S.OneCycleLR(o, 1.0, epochs=3), ValueError,
     "either total_steps OR"),
    ("onecycle total 0", lambda S, o: S.OneCycleLR(o, 1.0, total_steps=0), ValueError,
     "positive integer total_steps"),
    ("onecycle total float", lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10.0), ValueError,
     "positive integer total_steps"),
    ("onecycle epochs 0", lambda S, o: S.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3),
     ValueError, "positive integer epochs"),
    ("onecycle steps_per_epoch 0", lambda S, o: S.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=0),
     ValueError, "positive integer steps_per_epoch"),
    ("onecycle pct 1.5", lambda S, o: S.OneCycleLR(o, 1.0, 10, pct_start=1.5), ValueError,
     "pct_start"),
    ("onecycle pct int", lambda S, o: S.OneCycleLR(o, 1.0, 10, pct_start=0), ValueError,
     "pct_start"),
    ("onecycle anneal", lambda S, o: S.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    ("onecycle max_lr count", lambda S, o: S.OneCycleLR(o, [1.0, 2.0, 3.0], 10), ValueError,
     "max_lr must have the same length as optimizer.param_groups"),
    ("onecycle momentum count", lambda S, o: S.OneCycleLR(o, 1.0, 10, max_momentum=[0.9]),
     ValueError, "max_momentum must have the same length"),
    ("cyclic mode", lambda S, o: S.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError,
     "mode is invalid and scale_fn is None"),
    ("cyclic base_lr count", lambda S, o: S.CyclicLR(o, [0.01], 0.1), ValueError,
     "base_lr must have the same length as optimizer.param_groups"),
    ("cyclic max_momentum count", lambda S, o: S.CyclicLR(o, 0.01, 0.1, max_momentum=[1, 2, 3]),
     ValueError, "max_momentum must have the same length"),
    ("plateau factor", lambda S, o: S.ReduceLROnPlateau(o, factor=1.0), ValueError,
     "Factor should be < 1.0"),
    ("plateau mode", lambda S, o: S.ReduceLROnPlateau(o, mode="avg"), ValueError,
     "mode avg is unknown"),
    ("plateau threshold mode", lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="x"),
     ValueError, "threshold mode x is unknown"),
    ("plateau min_lr count", lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     "expected 2 min_lrs, got 1"),
    ("sequential empty", lambda S, o: S.SequentialLR(o, [], []), ValueError,
     "at least one scheduler"),
    ("sequential milestones", lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)],
                                                          [1, 2]), ValueError,
     "number of schedulers 2 and the number of milestones to be equal to 2"),
    ("sequential plateau", lambda S, o: S.SequentialLR(o, [S.ReduceLROnPlateau(o)], []),
     ValueError, "does not support `ReduceLROnPlateau`"),
    ("sequential not a scheduler", lambda S, o: S.SequentialLR(o, [object()], []), TypeError,
     "should have `optimizer`"),
    ("chained empty", lambda S, o: S.ChainedScheduler([]), ValueError, "at least one scheduler"),
    ("chained plateau", lambda S, o: S.ChainedScheduler([S.ReduceLROnPlateau(o)]), ValueError,
     "does not support `ReduceLROnPlateau`"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(case):
    _, make, exc, msg = case
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        make(S, _holder((0.1, 0.2)))


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_are_torchs_types(case):
    torch = _torch()
    _, make, exc, _ = case
    with pytest.raises(exc):
        make(torch.optim.lr_scheduler, _torch_optimizer(torch, (0.1, 0.2), "momentum"))


def test_member_of_another_optimizer():
    a, b = _holder(), _holder()
    for make in (lambda: S.SequentialLR(a, [S.StepLR(a, 2), S.StepLR(b, 2)], [3]),
                 lambda: S.ChainedScheduler([S.StepLR(a, 2), S.StepLR(b, 2)])):
        with pytest.raises(ValueError, match="same optimizer.*index 1"):
            make()


def test_cycle_momentum_needs_momentum_or_betas():
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.OneCycleLR(_plain(), 1.0, 10)
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.CyclicLR(_plain(), 0.01, 0.1)
    assert S.CyclicLR(_plain(), 0.01, 0.1, cycle_momentum=False).get_last_lr() == [0.01]
    sched = S.OneCycleLR(_plain(), 1.0, 10, cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(0.04, rel=1e-14)]
