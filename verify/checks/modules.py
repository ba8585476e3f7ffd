"""The module database's checks (verify/moduledb.py), one Result row per
module x check: forward against the NumPy reference (both modes, float32 and
float64), gradcheck of the inputs and every parameter (float64),
train vs eval, state_dict round trip, dtype conversion, and the default
initialisation's distribution."""
from __future__ import annotations

import contextlib
import copy
import math
from typing import Any, Dict, List

import numpy as np

import tinyfin as tf

from ..moduledb import ModuleInfo, ModuleSample
from .common import Result

SEED = 1234
KS_ALPHA = 1e-6          # a correct initialisation fails the KS test this rarely


# ---- helpers ------------------------------------------------------------------
def to_tensors(inputs: tuple, dtype: str, requires_grad: bool = False) -> list:
    """Float arrays become tensors of dtype (requiring grad if asked), other
    arrays keep their dtype, anything else passes as it is."""
    out = []
    for a in inputs:
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                t = tf.tensor(a, dtype=getattr(tf, dtype))
                out.append(t.requires_grad_() if requires_grad else t)
            else:
                out.append(tf.tensor(a))
        else:
            out.append(a)
    return out


def flatten(out) -> list:
    """The float tensors (or arrays) of a nested output, in order."""
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in flatten(o)]
    if out is None:
        return []
    if isinstance(out, tf.Tensor):
        return [out] if out.dtype.is_floating_point else []
    return [np.asarray(out)]


def params_np(module) -> Dict[str, np.ndarray]:
    # copies: numpy() shares the tensor's memory, and a forward that updates
    # buffers in place (BatchNorm) would change a "before" snapshot
    return {k: np.array(v.detach().numpy(), dtype=np.float64 if v.dtype.is_floating_point
                        else None, copy=True) for k, v in module.state_dict().items()}


@contextlib.contextmanager
def swapped(module, values: Dict[str, Any]):
    """The module with some parameters replaced by the given tensors for the
    duration (what torch.func.functional_call does), so gradcheck can
    perturb them."""
    saved = []
    for name, t in values.items():
        path, _, leaf = name.rpartition(".")
        mod = module.get_submodule(path)
        saved.append((mod, leaf, mod._parameters[leaf]))
        mod._parameters[leaf] = t
    try:
        yield module
    finally:
        for mod, leaf, p in saved:
            mod._parameters[leaf] = p


def _close(got: np.ndarray, ref: np.ndarray, tol) -> float:
    """The error in units of the allowed error (<= 1 passes); NaNs must match."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        return math.inf
    if not np.array_equal(np.isnan(got), np.isnan(ref)):
        return math.inf
    finite = ~np.isnan(ref)
    if not finite.any():
        return 0.0
    scale = float(np.max(np.abs(ref[finite]), initial=0.0))
    allowed = tol.atol + tol.rtol * scale
    err = float(np.max(np.abs(got[finite] - ref[finite]), initial=0.0))
    return err / allowed if allowed else (0.0 if err == 0 else math.inf)


def _build(info: ModuleInfo, s: ModuleSample, dtype: str, training: bool):
    tf.manual_seed(SEED)
    m = info.build(s, dtype)
    m.train(training)
    return m


def _modes(info: ModuleInfo) -> list:
    return [True, False] if info.train_eval == "differs" else [True]


def _run(m, s: ModuleSample, inputs: list):
    tf.manual_seed(SEED + 1)   # the same dropout masks for every call
    return m(*inputs, **s.forward_kwargs)


# ---- the checks -------------------------------------------------------------------
def check_forward(info: ModuleInfo, dtype: str, backend: str) -> Result:
    r = Result("module-forward", info.id, dtype, backend)
    tol = info.tol[dtype]
    worst = 0.0
    for s in info.samples():
        for training in _modes(info):
            if training and info.random_in_train:
                continue
            rng = np.random.default_rng(0)
            arrays = s.inputs(rng)
            m = _build(info, s, dtype, training)
            before = params_np(m)
            out = _run(m, s, to_tensors(arrays, dtype))
            ref = info.reference(before, arrays, s, training)
            ref_buffers = {}
            if info.updates_buffers and training:
                ref, ref_buffers = ref
            got, want = flatten(out), flatten(ref)
            r.n += 1
            if len(got) != len(want):
                r.fail(f"{s.desc} (training={training}): {len(got)} outputs, reference has {len(want)}")
                continue
            for i, (g, w) in enumerate(zip(got, want)):
                e = _close(g.detach().numpy(), w, tol)
                worst = max(worst, e)
                if e > 1:
                    r.fail(f"{s.desc} (training={training}) output {i}: error {e:.3g} x {tol}")
            after = params_np(m)
            for key, value in ref_buffers.items():
                e = _close(after[key], value, tol)
                if e > 1:
                    r.fail(f"{s.desc}: buffer {key} after forward: error {e:.3g} x {tol}")
    r.extra["worst_fraction_of_tol"] = worst
    return r


def check_gradients(info: ModuleInfo, backend: str) -> Result:
    """gradcheck (and gradgradcheck when the entry asks) in float64 of every
    output with respect to every float input and every parameter."""
    r = Result("module-gradcheck", info.id, "float64", backend)
    for s in info.samples():
        if not s.grad:
            continue
        training = not info.random_in_train
        m = _build(info, s, "float64", training)
        names = [n for n, _ in m.named_parameters()]
        inputs = to_tensors(s.inputs(np.random.default_rng(0)), "float64", requires_grad=True)
        params = [p.detach().clone().requires_grad_() for _, p in m.named_parameters()]
        k = len(inputs)

        def fn(*xs):
            with swapped(m, dict(zip(names, xs[k:]))):
                return tuple(flatten(_run(m, s, list(xs[:k]))))
        r.n += 1
        try:
            tf.autograd.gradcheck(fn, tuple(inputs) + tuple(params))
            if info.gradgrad:
                tf.autograd.gradgradcheck(fn, tuple(inputs) + tuple(params))
        except Exception as e:  # noqa: BLE001  (any failure is the check's finding)
            r.fail(f"{s.desc}: {type(e).__name__}: {str(e)[:300]}")
    if r.n == 0:
        r.status = "skip"
    return r


def check_train_eval(info: ModuleInfo, backend: str) -> Result:
    """train()/eval() reach every submodule; a layer said to behave the same
    in both gives the same bits in both."""
    r = Result("module-train-eval", info.id, "float64", backend)
    for s in info.samples():
        m = _build(info, s, "float64", True)
        if not all(x.training for x in m.modules()):
            r.fail(f"{s.desc}: a submodule is not in training mode after train()")
        m.eval()
        if any(x.training for x in m.modules()):
            r.fail(f"{s.desc}: a submodule is still training after eval()")
        if info.train_eval == "same":
            arrays = s.inputs(np.random.default_rng(0))
            a = [t.detach().numpy() for t in flatten(_run(m, s, to_tensors(arrays, "float64")))]
            m.train()
            b = [t.detach().numpy() for t in flatten(_run(m, s, to_tensors(arrays, "float64")))]
            if not all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)):
                r.fail(f"{s.desc}: train and eval outputs differ")
        r.n += 1
    return r


def check_state_dict(info: ModuleInfo, backend: str) -> Result:
    """A module loaded from another's state_dict computes the same bits; a
    deep copy too; missing, unexpected and mis-shaped entries are refused."""
    r = Result("module-state-dict", info.id, "float64", backend)
    for s in info.samples():
        a = _build(info, s, "float64", False)
        tf.manual_seed(SEED + 7)
        b = info.build(s, "float64").eval()
        sd = a.state_dict()
        b.load_state_dict(sd)
        arrays = s.inputs(np.random.default_rng(0))
        outs = [[t.detach().numpy() for t in flatten(_run(x, s, to_tensors(arrays, "float64")))]
                for x in (a, b, copy.deepcopy(a))]
        if not all(np.array_equal(x, y, equal_nan=True) for o in outs[1:] for x, y in zip(outs[0], o)):
            r.fail(f"{s.desc}: a loaded copy computes different values")
        if list(b.state_dict().keys()) != list(sd.keys()):
            r.fail(f"{s.desc}: state_dict keys changed by loading")
        if sd:
            key = next(iter(sd))
            partial = dict(sd)
            del partial[key]
            for bad, want in ((partial, "Missing key"), ({**sd, "bogus.key": sd[key]}, "Unexpected key")):
                try:
                    b.load_state_dict(bad)
                    r.fail(f"{s.desc}: load_state_dict accepted a state_dict with a {want.lower()}")
                except RuntimeError as e:
                    if want not in str(e):
                        r.fail(f"{s.desc}: unclear error for a {want.lower()}: {e}")
            floats = [k for k, v in sd.items() if v.dtype.is_floating_point and v.ndim]
            if floats:
                wrong = {**sd, floats[0]: tf.zeros(*(n + 1 for n in sd[floats[0]].shape),
                                                   dtype=tf.float64)}
                try:
                    b.load_state_dict(wrong)
                    r.fail(f"{s.desc}: load_state_dict accepted a mis-shaped {floats[0]}")
                except RuntimeError as e:
                    if "size mismatch" not in str(e):
                        r.fail(f"{s.desc}: unclear error for a mis-shaped entry: {e}")
        r.n += 1
    return r


def check_dtype(info: ModuleInfo, backend: str) -> Result:
    """A float32 module converted by .double() holds float64 parameters and
    floating buffers (integer buffers keep their dtype) and computes the
    float64 reference of its (converted) parameters; .float() goes back."""
    r = Result("module-dtype", info.id, "float64", backend)
    if "float32" not in info.dtypes:
        r.status = "skip"
        return r
    for s in info.samples():
        m = _build(info, s, "float32", not info.random_in_train)
        kinds = {k: v.dtype for k, v in m.state_dict().items()}
        m.double()
        for k, v in m.state_dict().items():
            want = tf.float64 if kinds[k].is_floating_point else kinds[k]
            if v.dtype is not want:
                r.fail(f"{s.desc}: {k} is {v.dtype.name} after .double(), expected {want.name}")
        arrays = s.inputs(np.random.default_rng(0))
        before = params_np(m)
        out = flatten(_run(m, s, to_tensors(arrays, "float64")))
        ref = info.reference(before, arrays, s, m.training)
        if info.updates_buffers and m.training:
            ref = ref[0]
        if not info.random_in_train or not m.training:
            for g, w in zip(out, flatten(ref)):
                if _close(g.detach().numpy(), w, info.tol["float64"]) > 1:
                    r.fail(f"{s.desc}: the .double() module misses the float64 reference")
        m.float()
        if any(v.dtype is tf.float64 for v in m.state_dict().values()):
            r.fail(f"{s.desc}: .float() left float64 entries")
        r.n += 1
    return r


def _ks_statistic(values: np.ndarray, cdf) -> float:
    x = np.sort(values)
    n = x.size
    c = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n)))


def _normal_cdf(mean: float, std: float):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return lambda x: 0.5 * (1 + erf((x - mean) / (std * math.sqrt(2))))


def check_init(info: ModuleInfo, backend: str) -> Result:
    """Each parameter's default values follow the declared distribution
    (Kolmogorov-Smirnov at alpha 1e-6, bounds for uniform, exact for
    constant), and the same seed builds the same module."""
    r = Result("module-init", info.id, "float32", backend)
    if not info.init:
        r.status = "skip"
        return r
    crit = math.sqrt(-0.5 * math.log(KS_ALPHA / 2))
    for s in info.samples():
        m = _build(info, s, "float32", True)
        again = _build(info, s, "float32", True)
        for (k, v), (_, w) in zip(m.state_dict().items(), again.state_dict().items()):
            if not np.array_equal(v.numpy(), w.numpy()):
                r.fail(f"{s.desc}: {k} differs between two builds with the same seed")
        params = dict(m.named_parameters())
        for name, spec_of in info.init.items():
            if name not in params:
                continue
            values = params[name].detach().numpy().astype(np.float64).ravel()
            if values.size == 0:
                continue
            kind, *args = spec_of(m)
            if kind == "constant":
                if not np.all(values == args[0]):
                    r.fail(f"{s.desc}: {name} is not constant {args[0]}")
                continue
            if kind == "uniform":
                lo, hi = args
                if values.min() < lo or values.max() > hi:
                    r.fail(f"{s.desc}: {name} has values outside [{lo:g}, {hi:g}]")
                cdf = lambda x, lo=lo, hi=hi: np.clip((x - lo) / (hi - lo), 0, 1)  # noqa: E731
            elif kind == "normal":
                cdf = _normal_cdf(*args)
            else:
                r.fail(f"{s.desc}: unknown distribution {kind!r} for {name}")
                continue
            d = _ks_statistic(values, cdf)
            if d > crit / math.sqrt(values.size):
                r.fail(f"{s.desc}: {name} ({values.size} values) fails the KS test against "
                       f"{kind}{tuple(args)}: D = {d:.3g} > {crit / math.sqrt(values.size):.3g}")
        r.n += 1
    return r


MODULE_CHECKS = ("module-forward", "module-gradcheck", "module-train-eval",
                 "module-state-dict", "module-dtype", "module-init")


def check_module(info: ModuleInfo, backend: str, dtypes=None, checks=None) -> List[Result]:
    """Every check (or those in `checks`) of one module on one backend."""
    on = lambda name: checks is None or name in checks  # noqa: E731
    steps = [("module-forward", d, lambda d=d: check_forward(info, d, backend))
             for d in info.dtypes if not dtypes or d in dtypes]
    steps += [(name, "float64", lambda fn=fn: fn(info, backend)) for name, fn in (
        ("module-gradcheck", check_gradients), ("module-train-eval", check_train_eval),
        ("module-state-dict", check_state_dict), ("module-dtype", check_dtype),
        ("module-init", check_init))]
    rows = []
    with tf.backends.use(backend):
        for name, dtype, run in steps:
            if not on(name):
                continue
            try:
                rows.append(run())
            except Exception as e:  # noqa: BLE001  (a check that crashes is a failure of the module)
                row = Result(name, info.id, dtype, backend)
                row.fail(f"{type(e).__name__}: {str(e)[:300]}")
                rows.append(row)
    return rows
