"""The optimizer database's checks (verify/optimdb.py), one Result row per
optimizer x check x dtype:

- optim-reference: every option set, STEPS steps on four parameters of
  different shapes (a matrix, a vector, a 3-D block, a 0-d scalar), one of
  which gets no grad (None) every third step and one a non-contiguous
  (transposed) grad, with seeded pseudo-random gradients; the parameters
  against the entry's NumPy float64 reference, within the dtype's tolerance.
- optim-resume: k steps, state_dict(), a new optimizer over copies of the
  parameters, load_state_dict(), more steps: bitwise the parameters of the
  uninterrupted run (float32 and float64).
- optim-param-groups: two param groups with different options (the second
  with its own lr and each option set's flags flipped) against the
  reference run per group.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

import tinyfin as tf

from ..optimdb import OptimizerInfo
from .common import Result

SEED = 4321
STEPS = 30
SHAPES = ((4, 5), (7,), (3, 2, 2), ())
NONE_EVERY = 3        # parameter 1 has grad None on every third step
TRANSPOSED = 0        # parameter 0's grad is a transposed (non-contiguous) view


def _tf_dtype(dtype: str):
    return getattr(tf, dtype)


def _data(n_steps: int, seed: int = SEED):
    """Initial values (float64) and the gradient of each parameter at each
    step (None where it gets none); values rounded to the dtype later."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[None if (k == 1 and t % NONE_EVERY == 2) else rng.standard_normal(s)
              for k, s in enumerate(SHAPES)] for t in range(n_steps)]
    return init, grads


def _set_grads(params, grads_t, dtype: str) -> None:
    for k, (p, g) in enumerate(zip(params, grads_t)):
        if g is None:
            p.grad = None
        elif k == TRANSPOSED:
            # a grad laid out transposed: the same values, strides swapped
            p.grad = tf.tensor(np.ascontiguousarray(g.T), dtype=_tf_dtype(dtype)).T
        else:
            p.grad = tf.tensor(g, dtype=_tf_dtype(dtype))


def _params(init, dtype: str) -> list:
    return [tf.nn.Parameter(tf.tensor(a, dtype=_tf_dtype(dtype))) for a in init]


def _round(a: np.ndarray, dtype: str) -> np.ndarray:
    """a as the dtype holds it, back in float64 (the reference's inputs are
    the tensors' own values)."""
    return np.asarray(a, dtype=dtype).astype(np.float64)


def _reference(info: OptimizerInfo, init, grads, dtype, options_of) -> list:
    ps = [_round(a, dtype).copy() for a in init]
    states: List[Dict] = [{} for _ in ps]
    for grads_t in grads:
        for k, g in enumerate(grads_t):
            if g is not None:
                pk = ps[k].reshape(-1)   # 0-d: a view that can be updated in place
                info.reference(pk, _round(g, dtype).reshape(-1), states[k], options_of(k))
    return ps


def _compare(row: Result, got: list, want: list, tol, what: str) -> float:
    worst = 0.0
    for k, (a, b) in enumerate(zip(got, want)):
        a = np.asarray(a, dtype=np.float64)
        err = np.abs(a - b)
        bound = tol.atol + tol.rtol * np.abs(b)
        ratio = float(np.max(err / bound)) if err.size else 0.0
        if not np.all(np.isfinite(a)) or ratio > 1:
            i = int(np.argmax(err / bound)) if err.size else 0
            row.fail(f"{what}: param {k} {SHAPES[k]}: {a.reshape(-1)[i]!r} vs the reference "
                     f"{b.reshape(-1)[i]!r} (|err| {err.reshape(-1)[i]:.3g}, allowed "
                     f"{bound.reshape(-1)[i]:.3g})")
        worst = max(worst, ratio)
    return worst


def check_reference(info: OptimizerInfo, dtype: str, backend: str) -> Result:
    row = Result("optim-reference", info.id, dtype, backend)
    init, grads = _data(STEPS)
    worst = 0.0
    for sample in info.samples():
        params = _params(init, dtype)
        opt = info.build(params, sample.kwargs)
        for grads_t in grads:
            _set_grads(params, grads_t, dtype)
            opt.step()
        kw = info.options(sample.kwargs)
        want = _reference(info, init, grads, dtype, lambda k: kw)
        got = [p.detach().numpy() for p in params]
        worst = max(worst, _compare(row, got, want, info.tol[dtype], sample.desc))
        missing = [k for k in info.state_keys(sample.kwargs) if k not in opt.state[params[0]]]
        extra = set(opt.state[params[0]]) - set(info.state_keys(sample.kwargs))
        if missing or extra:
            row.fail(f"{sample.desc}: state keys {sorted(opt.state[params[0]])}, expected "
                     f"PyTorch's {sorted(info.state_keys(sample.kwargs))}")
        row.n += STEPS
    row.extra["worst_err_over_tol"] = worst
    return row


def check_resume(info: OptimizerInfo, dtype: str, backend: str, k: int = 10) -> Result:
    row = Result("optim-resume", info.id, dtype, backend)
    init, grads = _data(2 * k, seed=SEED + 1)
    for sample in info.samples():
        straight = _params(init, dtype)
        opt = info.build(straight, sample.kwargs)
        for grads_t in grads:
            _set_grads(straight, grads_t, dtype)
            opt.step()
        first = _params(init, dtype)
        opt1 = info.build(first, sample.kwargs)
        for grads_t in grads[:k]:
            _set_grads(first, grads_t, dtype)
            opt1.step()
        sd = opt1.state_dict()
        resumed = [tf.nn.Parameter(p.detach().clone()) for p in first]
        # a different lr in the constructor: load_state_dict restores the saved one
        opt2 = info.build(resumed, {**sample.kwargs, "lr": 0.5})
        opt2.load_state_dict(sd)
        # the loaded state must be a copy: stepping opt1 must not move opt2
        for grads_t in grads[k:]:
            _set_grads(first, grads_t, dtype)
            opt1.step()
        for grads_t in grads[k:]:
            _set_grads(resumed, grads_t, dtype)
            opt2.step()
        for j, (a, b) in enumerate(zip(resumed, straight)):
            if not np.array_equal(a.detach().numpy(), b.detach().numpy()):
                d = np.max(np.abs(a.detach().numpy().astype(np.float64)
                                  - b.detach().numpy()))
                row.fail(f"{sample.desc}: param {j} after resuming at step {k} differs "
                         f"from the uninterrupted run by up to {d:.3g} (expected bitwise "
                         "equal)")
        row.n += 1
    return row


def _flipped(info: OptimizerInfo, kwargs: dict) -> dict:
    """The second group's options: another lr, booleans flipped (where the
    combination stays valid), 0 options turned on."""
    kw = dict(kwargs)
    kw["lr"] = info.options(kwargs)["lr"] * 0.5
    kw["maximize"] = not info.options(kwargs).get("maximize", False)
    if "amsgrad" in info.defaults:
        kw["amsgrad"] = not info.options(kwargs)["amsgrad"]
    if "centered" in info.defaults:
        kw["centered"] = not info.options(kwargs)["centered"]
    if info.name == "SGD" and not info.options(kwargs)["nesterov"]:
        kw["momentum"] = 0.5 if info.options(kwargs)["momentum"] == 0 else 0
        kw["dampening"] = 0
    return kw


def check_param_groups(info: OptimizerInfo, dtype: str, backend: str) -> Result:
    row = Result("optim-param-groups", info.id, dtype, backend)
    init, grads = _data(STEPS, seed=SEED + 2)
    for sample in info.samples():
        params = _params(init, dtype)
        second = _flipped(info, sample.kwargs)
        groups = [{"params": params[:2]}, {"params": params[2:], **second}]
        opt = info.build(groups, sample.kwargs)
        for grads_t in grads:
            _set_grads(params, grads_t, dtype)
            opt.step()
        kw0, kw1 = info.options(sample.kwargs), info.options(second)
        want = _reference(info, init, grads, dtype, lambda k: kw0 if k < 2 else kw1)
        _compare(row, [p.detach().numpy() for p in params], want, info.tol[dtype],
                 f"{sample.desc} / second group {second}")
        row.n += STEPS
    return row


def check_optimizer(info: OptimizerInfo, backend: str, dtypes=None, checks=None) -> List[Result]:
    """Every check (or those in `checks`) of one optimizer on one backend."""
    on = lambda name: checks is None or name in checks  # noqa: E731
    steps = []
    for d in info.dtypes:
        if dtypes and d not in dtypes:
            continue
        steps += [("optim-reference", d, check_reference), ("optim-resume", d, check_resume),
                  ("optim-param-groups", d, check_param_groups)]
    rows = []
    with tf.backends.use(backend):
        for name, dtype, fn in steps:
            if not on(name):
                continue
            try:
                rows.append(fn(info, dtype, backend))
            except Exception as e:  # noqa: BLE001  (a check that crashes is a failure)
                row = Result(name, info.id, dtype, backend)
                row.fail(f"{type(e).__name__}: {str(e)[:300]}")
                rows.append(row)
    return rows
