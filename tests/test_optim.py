"""tinyfin.optim: the optimizers against PyTorch (when installed) for every
option set of the optimizer database (verify/optims.py), float32 and
float64, with param groups, None grads and state_dict round trips compared
key by key; against the independent NumPy references without PyTorch; the
base class's API and errors; the fused kernels' parallel path (sizes above
TF_PARALLEL_GRAIN) with 1 and 2 threads; version counters and no autograd
history."""
from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from helpers_process import join_threads
import tinyfin as tf
from tinyfin import _C
from verify import optimdb
from verify.__main__ import main
from verify.checks import optimizers as checks

ENTRIES = optimdb.all_optimizers()
CASES = [(info, s) for info in ENTRIES for s in info.samples()]
CASE_IDS = [f"{info.name}-{s.desc}" for info, s in CASES]
SHAPES = ((6, 5), (11,), ())
STEPS = 50


def _ulps(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    """The largest distance between a and b in units of the last place of
    b's largest element, or of `floor` when that is larger (an entry that
    passes near 0 is measured on the scale its absolute error comes from:
    the tensor's, or for the state the unit scale of the gradients, whose
    rounding a moving average of a few cancelling terms keeps)."""
    scale = max(float(np.max(np.abs(b))) if b.size else 1.0, floor)
    spacing = np.spacing(np.asarray(max(scale, np.finfo(b.dtype).tiny), dtype=b.dtype))
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)) / spacing))


def _data(seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[None if (k == 1 and t % 4 == 3) else rng.standard_normal(s)
              for k, s in enumerate(SHAPES)] for t in range(steps)]
    return init, grads


def _torch_run(torch, info, groups_kw, init, grads, dtype, split=None):
    tdt = getattr(torch, dtype)
    ps = [torch.nn.Parameter(torch.tensor(a, dtype=tdt)) for a in init]
    opt = getattr(torch.optim, info.name)(_groups(ps, groups_kw, split), **groups_kw[0])
    for grads_t in grads:
        for p, g in zip(ps, grads_t):
            p.grad = None if g is None else torch.tensor(g, dtype=tdt)
        opt.step()
    return ps, opt


def _tf_run(info, groups_kw, init, grads, dtype, split=None):
    ps = [tf.nn.Parameter(tf.tensor(a, dtype=getattr(tf, dtype))) for a in init]
    opt = info.build(_groups(ps, groups_kw, split), groups_kw[0])
    for grads_t in grads:
        for p, g in zip(ps, grads_t):
            p.grad = None if g is None else tf.tensor(g, dtype=getattr(tf, dtype))
        opt.step()
    return ps, opt


def _groups(ps, groups_kw, split):
    if split is None:
        return ps
    return [{"params": ps[:split]}, {"params": ps[split:], **groups_kw[1]}]


# ---- against PyTorch ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("info,sample", CASES, ids=CASE_IDS)
def test_matches_torch(info, sample, dtype):
    """50 steps from the same values and gradients: float32 within a few ULP
    of PyTorch's parameters, float64 within 1e-12 relative; the state
    (keys, and values the same way) matches PyTorch's state."""
    torch = pytest.importorskip("torch")
    init, grads = _data()
    tps, topt = _torch_run(torch, info, [sample.kwargs], init, grads, dtype)
    ps, opt = _tf_run(info, [sample.kwargs], init, grads, dtype)
    for p, q in zip(ps, tps):
        a, b = p.detach().numpy(), q.detach().numpy()
        if dtype == "float32":
            assert _ulps(a, b) <= 16, (sample.desc, _ulps(a, b))
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for k in tsd["state"]:
        assert sorted(sd["state"][k]) == sorted(tsd["state"][k])
        for name, tv in tsd["state"][k].items():
            v = sd["state"][k][name]
            assert str(v.dtype).replace("tinyfin.", "") == str(tv.dtype).replace("torch.", ""), name
            assert tuple(v.shape) == tuple(tv.shape), name
            if name == "step":
                assert float(v.item()) == float(tv.item())
            elif dtype == "float32":
                assert _ulps(v.numpy(), tv.numpy(), floor=1.0) <= 16, name
            else:
                np.testing.assert_allclose(v.numpy(), tv.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("info", ENTRIES, ids=[i.name for i in ENTRIES])
def test_param_groups_match_torch(info):
    torch = pytest.importorskip("torch")
    init, grads = _data(seed=1, steps=30)
    kw0 = info.samples()[-1].kwargs
    kw1 = checks._flipped(info, kw0)
    tps, topt = _torch_run(torch, info, [kw0, kw1], init, grads, "float64", split=1)
    ps, opt = _tf_run(info, [kw0, kw1], init, grads, "float64", split=1)
    for p, q in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12,
                                   atol=1e-14)
    assert opt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]
    assert repr(opt) == repr(topt)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": -1}), ("SGD", {"momentum": -0.5}), ("SGD", {"weight_decay": -1}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -1e-3}), ("Adam", {"eps": -1}), ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, -0.1)}), ("Adam", {"weight_decay": -1}),
    ("AdamW", {"betas": (0.9, 1.5)}), ("RMSprop", {"alpha": -1}), ("RMSprop", {"momentum": -1}),
    ("RMSprop", {"eps": -1}), ("Adagrad", {"lr_decay": -1}),
    ("Adagrad", {"initial_accumulator_value": -1}), ("Adagrad", {"eps": -1}),
])
def test_option_errors_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(tf.optim, name)([tf.nn.Parameter(tf.zeros(2))], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_load_torch_layout_state_dict():
    """A state_dict written by PyTorch (its tensors converted) restores a
    tinyfin Adam that then steps exactly as PyTorch's continues."""
    torch = pytest.importorskip("torch")
    init, grads = _data(seed=2, steps=20)
    info = optimdb.select(["Adam"])[0]
    kw = {"lr": 0.01, "amsgrad": True}
    tps, topt = _torch_run(torch, info, [kw], init, grads[:10], "float64")
    sd = topt.state_dict()
    sd = {"state": {k: {n: tf.tensor(v.numpy()) for n, v in st.items()}
                    for k, st in sd["state"].items()},
          "param_groups": sd["param_groups"]}
    ps = [tf.nn.Parameter(tf.tensor(p.detach().numpy())) for p in tps]
    opt = tf.optim.Adam(ps, lr=0.5)
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["amsgrad"]
    for grads_t in grads[10:]:
        for p, q, g in zip(ps, tps, grads_t):
            p.grad = None if g is None else tf.tensor(g)
            q.grad = None if g is None else torch.tensor(g)
        opt.step()
        topt.step()
    for p, q in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)


# ---- against the NumPy references (no PyTorch needed) -----------------------------------
@pytest.mark.parametrize("check", [checks.check_reference, checks.check_resume,
                                   checks.check_param_groups],
                         ids=["reference", "resume", "param-groups"])
@pytest.mark.parametrize("info", ENTRIES, ids=[i.name for i in ENTRIES])
def test_verify_checks_pass(info, check):
    for dtype in info.dtypes:
        row = check(info, dtype, "cpu")
        assert row.status == "pass" and row.n > 0, row.failures


def test_every_optimizer_has_an_entry():
    assert optimdb.coverage() == []
    assert {e.name for e in ENTRIES} >= {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}


@pytest.mark.parametrize("info", ENTRIES, ids=[i.name for i in ENTRIES])
def test_parallel_path_threads_and_reference(info):
    """A 100003-element parameter (above TF_PARALLEL_GRAIN, so the kernel
    runs on the thread team): bitwise the same with 1 and 2 threads, and
    the NumPy reference's values."""
    sample = info.samples()[-1]
    kw = info.options(sample.kwargs)
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(100003)
    gs = [rng.standard_normal(100003) for _ in range(5)]
    results = []
    old = tf.get_num_threads()
    try:
        for n in (1, 2):
            tf.set_num_threads(n)
            for dtype in ("float32", "float64"):
                p = tf.nn.Parameter(tf.tensor(x0, dtype=getattr(tf, dtype)))
                opt = info.build([p], sample.kwargs)
                for g in gs:
                    p.grad = tf.tensor(g, dtype=getattr(tf, dtype))
                    opt.step()
                results.append((n, dtype, p.detach().numpy().copy()))
    finally:
        tf.set_num_threads(old)
    by = {(n, d): a for n, d, a in results}
    for dtype in ("float32", "float64"):
        assert np.array_equal(by[(1, dtype)], by[(2, dtype)])
        ref = np.asarray(x0, dtype=dtype).astype(np.float64)
        st = {}
        for g in gs:
            info.reference(ref, np.asarray(g, dtype=dtype).astype(np.float64), st, kw)
        tol = info.tol[dtype]
        np.testing.assert_allclose(by[(1, dtype)], ref, rtol=tol.rtol, atol=tol.atol)


# ---- the base class --------------------------------------------------------------------
def _p(*shape, value=1.0):
    return tf.nn.Parameter(tf.full(shape, value))


def test_param_groups_defaults_and_add_param_group():
    a, b, c = _p(2), _p(3), _p(1)
    opt = tf.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["lr"] == 0.5
    opt.add_param_group({"params": [c], "nesterov": True, "momentum": 0.5})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["nesterov"] is True
    assert set(opt.defaults) == set(opt.param_groups[0]) - {"params"}
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([c])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {_p(1)}})
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is int"):
        opt.add_param_group({"params": [1]})
    with pytest.raises(ValueError, match="non-leaf"):
        opt.add_param_group({"params": [a * 2]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        tf.optim.SGD([c, c])


def test_constructor_errors():
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got .*Parameter"):
        tf.optim.SGD(_p(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        tf.optim.Adam([])
    with pytest.raises(TypeError, match="lr must be a float"):
        tf.optim.SGD([_p(2)], lr="0.1")
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        tf.optim.Adam([_p(2)], differentiable=True)
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        tf.optim.Adam([_p(2)], fused=True, foreach=True)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        tf.optim.SGD([_p(2)], lr=tf.tensor([0.1, 0.2]))


def test_named_parameters():
    lin = tf.nn.Linear(3, 2)
    opt = tf.optim.SGD(lin.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [_p(2)]})


def test_grad_none_is_skipped_and_state_is_lazy():
    a, b = _p(3), _p(2)
    opt = tf.optim.Adam([a, b], lr=0.1)
    a.grad = tf.ones(3)
    opt.step()
    assert b.grad is None and np.all(b.detach().numpy() == 1.0)
    assert b not in opt.state and set(opt.state[a]) == {"step", "exp_avg", "exp_avg_sq"}
    assert opt.state[a]["step"].item() == 1.0 and opt.state[a]["step"].dtype == tf.float32
    opt.step()
    assert opt.state[a]["step"].item() == 2.0


def test_zero_grad():
    a = _p(3)
    opt = tf.optim.SGD([a], lr=0.1)
    a.grad = tf.ones(3)
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and np.all(g.numpy() == 0)
    opt.zero_grad()
    assert a.grad is None
    opt.zero_grad()     # nothing to do


def test_step_records_no_history_and_bumps_versions():
    x = tf.nn.Parameter(tf.tensor([1.0, 2.0, 3.0]))
    opt = tf.optim.Adam([x], lr=0.1)
    y = (x * x).sum()
    y.backward()
    opt.step()
    assert x.grad_fn is None and x.requires_grad and x.is_leaf
    # the graph saved x before the step: its saved-tensor check sees the change
    z = x * x
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    before = _C.tf_tensor_version(opt.state[x]["exp_avg"]._h)
    opt.step()
    assert _C.tf_tensor_version(opt.state[x]["exp_avg"]._h) == before + 1


def test_closure():
    x = tf.nn.Parameter(tf.tensor([3.0]))
    opt = tf.optim.SGD([x], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with tf.no_grad():
        loss = opt.step(closure)    # the closure runs with grad mode on
    assert loss.item() == 9.0 and x.item() == 3.0 - 0.25 * 6.0


def test_grad_dtype_and_shape_errors_name_the_optimizer():
    x = tf.nn.Parameter(tf.ones(3))
    opt = tf.optim.Adam([x])
    x._grad = tf.ones(3, dtype=tf.float64)     # past .grad's own check
    with pytest.raises(TypeError, match="Adam: the grad is float64 but the param is float32"):
        opt.step()
    assert len(opt.state[x]) == 0              # a failed first step leaves no state
    x._grad = tf.ones(4)
    with pytest.raises(ValueError, match=r"Adam: the grad has shape \(4,\) but the param"):
        opt.step()
    x.grad = tf.ones(3)
    opt.step()
    opt.state[x]["exp_avg"] = tf.zeros(2)
    step = opt.state[x]["step"].item()
    with pytest.raises(ValueError, match=r"Adam: the exp_avg has shape \(2,\)"):
        opt.step()
    assert opt.state[x]["step"].item() == step  # nothing written by a failed step
    ints = tf.nn.Parameter(tf.ones(2), requires_grad=False)
    ints = tf.tensor([1, 2])
    ints._grad = tf.tensor([1, 1])
    with pytest.raises(TypeError, match="SGD: expected a float32 or float64 param, got int64"):
        tf.optim.SGD([ints]).step()


def test_shared_memory_is_refused():
    x = tf.nn.Parameter(tf.ones(4))
    opt = tf.optim.SGD([x], lr=0.1, momentum=0.9)
    x._grad = x.detach()
    with pytest.raises(ValueError, match="SGD: the param and the grad share memory"):
        opt.step()


@pytest.mark.parametrize("make", [lambda p: tf.optim.Adam([p], lr=0.1),
                                  lambda p: tf.optim.RMSprop([p], lr=0.1),
                                  lambda p: tf.optim.Adagrad([p], lr=0.1)],
                         ids=["Adam", "RMSprop", "Adagrad"])
def test_step_counter_is_checked(make):
    """state['step'] (from a checkpoint, or set by hand) must be a tensor of
    its own and a count of steps; otherwise the step raises and writes
    nothing (an aliased counter was written into the param; a counter of
    -1 made the bias correction divide by zero and the param NaN)."""
    p = tf.nn.Parameter(tf.tensor([5.0]))
    p.grad = tf.tensor([1.0])
    opt = make(p)
    opt.step()
    st, before = opt.state[p], p.detach().numpy().copy()
    name = type(opt).__name__
    buf = next(k for k in st if k != "step")
    good = st["step"]
    for counter, msg in ((p.detach().reshape(()), "shares memory with the param"),
                         (st[buf].reshape(()), "shares memory with the param's state"),
                         (tf.tensor(-1.0), "holds -1"), (tf.tensor(float("nan")), "holds nan")):
        st["step"] = counter
        with pytest.raises(ValueError, match=f"{name}: the step counter {msg}"):
            opt.step()
        np.testing.assert_array_equal(p.detach().numpy(), before)
    st["step"] = good
    opt.step()
    assert float(st["step"]) == 2


def test_strided_param_and_grad():
    """A non-contiguous parameter (a transposed view) and grad give the
    values of the contiguous run."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal((5, 4))
    gs = [rng.standard_normal((4, 5)) for _ in range(6)]
    strided = tf.nn.Parameter(tf.tensor(base).T)
    dense = tf.nn.Parameter(tf.tensor(np.ascontiguousarray(base.T)))
    assert not strided.is_contiguous()
    o1 = tf.optim.RMSprop([strided], lr=0.01, momentum=0.9, centered=True)
    o2 = tf.optim.RMSprop([dense], lr=0.01, momentum=0.9, centered=True)
    for g in gs:
        strided.grad = tf.tensor(np.ascontiguousarray(g.T)).T
        dense.grad = tf.tensor(g)
        o1.step()
        o2.step()
    assert np.array_equal(strided.detach().numpy(), dense.detach().numpy())


def test_load_state_dict_checks_and_copies():
    a, b = _p(2), _p(3)
    opt = tf.optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = tf.ones(2), tf.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1] and sd["param_groups"][0]["params"] == [0, 1]
    with pytest.raises(ValueError, match="different number of parameter groups"):
        tf.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        tf.optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        tf.optim.SGD([a], lr=0.1).load_state_dict({"state": {}})
    a64, b64 = tf.nn.Parameter(tf.ones(2, dtype=tf.float64)), tf.nn.Parameter(tf.ones(3, dtype=tf.float64))
    new = tf.optim.SGD([a64, b64], lr=0.5)
    new.load_state_dict(sd)
    buf = new.state[a64]["momentum_buffer"]
    assert buf.dtype == tf.float64 and new.param_groups[0]["lr"] == 0.1
    same = tf.optim.SGD([a, b])
    same.load_state_dict(sd)
    assert not _C.tf_tensor_same_storage(same.state[a]["momentum_buffer"]._h,
                                         opt.state[a]["momentum_buffer"]._h)
    # a 'step' saved as a number (older PyTorch) becomes a float32 tensor
    x = _p(2)
    ad = tf.optim.Adam([x])
    ad.load_state_dict({"state": {0: {"step": 3, "exp_avg": tf.zeros(2),
                                      "exp_avg_sq": tf.zeros(2)}},
                        "param_groups": [dict(ad.state_dict()["param_groups"][0])]})
    assert ad.state[x]["step"].dtype == tf.float32 and ad.state[x]["step"].item() == 3.0


def test_tensor_lr_and_scheduler_style_lr_change():
    x = _p(3)
    opt = tf.optim.SGD([x], lr=tf.tensor(0.5))
    x.grad = tf.ones(3)
    opt.step()
    assert np.allclose(x.detach().numpy(), 0.5)
    opt.param_groups[0]["lr"] = 0.25     # what an lr scheduler does
    opt.step()
    assert np.allclose(x.detach().numpy(), 0.25)


def test_repr():
    opt = tf.optim.SGD([_p(1)], lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
    assert "    lr: 0.1\n" in text and text.endswith(")")


def test_sgd_default_lr_is_pytorch2s():
    assert tf.optim.SGD([_p(1)]).defaults["lr"] == 1e-3
    assert math.isclose(tf.optim.AdamW([_p(1)]).defaults["weight_decay"], 1e-2)


def test_verify_cli_runs_the_optimizer_entries(tmp_path, capsys):
    """`python -m verify --ops optim.Adagrad` runs that entry's checks only,
    reported like the modules' rows; an op list without optimizer ids runs
    none of them."""
    assert main(["--ops", "optim.Adagrad", "--dtypes", "float64", "--backends", "cpu",
                 "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["results"]
    assert {r["check"] for r in rows} == {"optim-reference", "optim-resume",
                                          "optim-param-groups", "dispatch"}
    assert {r["op"] for r in rows if r["check"].startswith("optim")} == {"optim.Adagrad"}
    assert "optim.Adagrad" in capsys.readouterr().out
    assert main(["--ops", "exp", "--checks", "forward", "--depth", "quick", "--backends", "cpu",
                 "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["results"]
    assert not any(r["check"].startswith("optim") for r in rows)


def test_state_keys_written_as_strings_still_restore():
    """A checkpoint format that keeps dict keys as strings (JSON) gives
    back {'0': ...}: the state still reaches its parameter."""
    x = _p(2)
    opt = tf.optim.SGD([x], lr=0.1, momentum=0.9)
    x.grad = tf.ones(2)
    opt.step()
    sd = opt.state_dict()
    sd = {"state": {str(k): v for k, v in sd["state"].items()},
          "param_groups": sd["param_groups"]}
    y = _p(2)
    new = tf.optim.SGD([y], lr=0.1, momentum=0.9)
    new.load_state_dict(sd)
    assert set(new.state) == {y}
    assert np.array_equal(new.state[y]["momentum_buffer"].numpy(),
                          opt.state[x]["momentum_buffer"].numpy())


def test_zero_grad_detaches_a_grad_with_history():
    x = _p(2)
    w = tf.nn.Parameter(tf.ones(2))
    opt = tf.optim.SGD([x])
    x.grad = tf.ones(2)
    g = x.grad
    x._grad = g * w          # a grad that has a graph (create_graph=True leaves such)
    g = x.grad
    assert g.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert x.grad is g and g.grad_fn is None and np.all(g.numpy() == 0)


@pytest.mark.parametrize("make", [lambda p: tf.optim.SGD([p], lr=0.1, momentum=0.9),
                                  lambda p: tf.optim.Adam([p], lr=0.1)], ids=["SGD", "Adam"])
def test_one_optimizer_stepped_from_threads(make):
    """Steps of one optimizer from 4 threads at once run one at a time
    (each kernel runs with the GIL released): no update is lost and the
    lazily made state is never seen half made; the result is that of 200
    steps in one thread."""
    def run(opt, steps, threads):
        def work():
            for _ in range(steps):
                opt.step()
        ts = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for t in ts:
            t.start()
        join_threads(ts)
    results = []
    for steps, threads in ((50, 4), (200, 1)):
        p = tf.nn.Parameter(tf.zeros(70000))
        p.grad = tf.ones(70000)
        opt = make(p)
        run(opt, steps, threads)
        results.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("value", ["x", 10 ** 400, None])
def test_an_option_changed_to_a_non_number_is_a_clear_error(value):
    p = tf.nn.Parameter(tf.ones(3))
    p.grad = tf.ones(3)
    opt = tf.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.param_groups[0]["momentum"] = value
    with pytest.raises(TypeError, match="SGD.step: each numeric option of a param group"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), [1, 1, 1])
