"""Module database entries of the activation modules (verify/moduledb.py's
format): each constructor variant on an input, against the NumPy float64
references of verify/ops_nn_activation.py. No parameters, same in train
and eval."""
from __future__ import annotations

import numpy as np

from .moduledb import ModuleInfo, ModuleSample
from .opdb import Tol
from .ops_nn_activation import REFS, _softmax_ref

TOL = {"float32": Tol(rtol=1e-6, atol=1e-7), "float64": Tol(rtol=1e-13, atol=1e-14)}


def _x(shape=(3, 4), lo=-4.0, hi=4.0):
    return lambda rng: (rng.uniform(lo, hi, size=shape),)


def _elementwise(name, ref, variants, lo=-4.0, hi=4.0, torch_tol=1e-10):
    """variants: (ctor_args, ctor_kwargs, desc); ref(x, *args, **kwargs) with
    the constructor's arguments as the functional op's."""
    def samples():
        out = []
        for args, kwargs, desc in variants:
            out.append(ModuleSample(ctor_args=args, ctor_kwargs=kwargs, inputs=_x((3, 4), lo, hi),
                                    desc=desc, grad=True))
        args, kwargs, _ = variants[0]
        out.append(ModuleSample(ctor_args=args, ctor_kwargs=kwargs, inputs=_x((2, 3, 5), lo, hi),
                                desc="3-d", grad=False))
        out.append(ModuleSample(ctor_args=args, ctor_kwargs=kwargs, inputs=_x((0, 4), lo, hi),
                                desc="size-0", grad=False))
        return out
    return ModuleInfo(name=name, samples=samples,
                      reference=lambda params, inputs, sample, training: ref(
                          inputs[0], *sample.ctor_args, **sample.ctor_kwargs),
                      train_eval="same", tol=TOL, torch_tol=torch_tol)


def _ref(fn_name, arg_names=()):
    """The functional reference, the module's positional constructor
    arguments mapped to the functional op's keywords (inplace dropped)."""
    base = REFS[fn_name]

    def ref(x, *args, **kwargs):
        kw = dict(zip(arg_names, args), **kwargs)
        kw.pop("inplace", None)
        with np.errstate(all="ignore"):
            return base(np.asarray(x, np.float64), **kw)
    return ref


def _softmax(log=False, neg=False):
    def ref(x, dim=None):
        return _softmax_ref(np.asarray(x, np.float64), dim=dim, log=log, neg=neg)
    return ref


# No inplace=True variants: the checks (and tests/test_nn_vs_torch.py) feed
# inputs that require grad, into which an in-place layer may not write, in
# PyTorch as here; inplace= is covered by the op entries and the tests.
MODULES = [
    _elementwise("ReLU", _ref("relu"), [((), {}, "default")]),
    _elementwise("ReLU6", _ref("relu6"), [((), {}, "default")], -2, 8),
    _elementwise("LeakyReLU", _ref("leaky_relu", ("negative_slope",)),
                 [((), {}, "default"), ((0.2,), {}, "negative_slope=0.2"),
                  ((), {"negative_slope": -0.5}, "negative_slope=-0.5")]),
    _elementwise("ELU", _ref("elu", ("alpha",)),
                 [((), {}, "default"), ((0.5,), {}, "alpha=0.5"), ((2.0,), {}, "alpha=2")]),
    _elementwise("GELU", _ref("gelu", ("approximate",)),
                 [((), {}, "default"), ((), {"approximate": "tanh"}, "approximate='tanh'")]),
    _elementwise("SiLU", _ref("silu"), [((), {}, "default")]),
    _elementwise("Sigmoid", _ref("sigmoid"), [((), {}, "default")]),
    _elementwise("Tanh", _ref("tanh"), [((), {}, "default")]),
    _elementwise("Softplus", _ref("softplus", ("beta", "threshold")),
                 [((), {}, "default"), ((2.0, 5.0), {}, "beta=2 threshold=5")]),
    _elementwise("Hardtanh", _ref("hardtanh", ("min_val", "max_val")),
                 [((), {}, "default"), ((-2.0, 0.5), {}, "(-2, 0.5)"),
                  ((), {"min_val": 0.0, "max_val": 1.0}, "(0, 1)")], -3, 3),
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32
    _elementwise("Hardsigmoid", _ref("hardsigmoid"), [((), {}, "default")], -5, 5, torch_tol=1e-7),
    _elementwise("Hardswish", _ref("hardswish"), [((), {}, "default")], -5, 5),
    _elementwise("Mish", _ref("mish"), [((), {}, "default")]),
    _elementwise("LogSigmoid", _ref("logsigmoid"), [((), {}, "default")]),
    _elementwise("Softmax", _softmax(), [((1,), {}, "dim=1"), ((), {"dim": 0}, "dim=0"),
                                         ((-1,), {}, "dim=-1")]),
    _elementwise("LogSoftmax", _softmax(log=True), [((1,), {}, "dim=1"), ((0,), {}, "dim=0")]),
    _elementwise("Softmin", _softmax(neg=True), [((1,), {}, "dim=1")]),
]
