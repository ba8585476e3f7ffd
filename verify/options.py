"""Which options of tinyfin's functions the op database exercises.

`exercised()` runs every forward sample of every entry (the op only, no
reference) under a profile hook that records each call of an exported
function made from outside the tinyfin package: the parameters given a
value other than their default, and every value an option took. `missing()`
turns that into what no sample covers: a parameter never set, or a value of
an enumerated option (`REQUIRED_VALUES`: pad's modes, norm's p, ...) never
used, less the documented exemptions (`EXEMPT`). tests/test_verify.py
requires it to be empty, so a new keyword needs a sample with a NumPy
reference before it can ship.
"""
from __future__ import annotations

import inspect
import math
import os
import sys
import warnings
from typing import Dict, Set, Tuple

import numpy as np

import tinyfin as tf
from tinyfin._args import numpy_keywords
from tinyfin._exports import FUNCTIONS

from . import opdb
from .checks.forward import call, sample_inputs

PACKAGE = os.path.dirname(os.path.abspath(tf.__file__))

# Options that need no sample, with the reason.
EXEMPT = {
    "device": "one device exists (cpu); any other raises (an error input of the creation ops)",
    "requires_grad": "an autograd flag, not a value: tests/test_autograd.py",
    "generator": "accepted for PyTorch's signature and ignored: tinyfin has one global stream",
    "_op": "internal: the op name from_numpy reports its errors under",
    "memory_format": "only the default exists; anything else raises (an error input)",
    "kwargs": "the _like forms pass these on to their creator, covered there",
    "zeros_like(args)": "not in PyTorch's signature: passed on to zeros as more sizes",
    "ones_like(args)": "not in PyTorch's signature: passed on to ones as more sizes",
    "empty_like(args)": "not in PyTorch's signature: passed on to empty as more sizes",
}
# Values an option must take in some sample: every mode or form the function
# documents (its default included, as the value a sample passes explicitly or
# leaves to the default).
REQUIRED_VALUES = {
    ("pad", "mode"): {"'constant'", "'reflect'", "'replicate'", "'circular'"},
    ("norm", "p"): {"'fro'", "None", "0.0", "0.5", "1.0", "1.5", "2.0", "3.0", "inf", "-inf"},
    ("div", "rounding_mode"): {"None", "'trunc'", "'floor'"},
    ("gelu", "approximate"): {"'none'", "'tanh'"},
    ("var", "unbiased"): {"None", "True", "False"},
    ("std", "unbiased"): {"None", "True", "False"},
    ("index_put", "accumulate"): {"False", "True"},
    ("nonzero", "as_tuple"): {"False", "True"},
    ("sum", "keepdim"): {"False", "True"},
}


def _key_of(code, cells) -> Tuple:
    """Functions made by one factory (every unary op is `op` from
    elementwise._define_unary) share their code; their closure's simple
    values (the op name, its code) tell them apart."""
    return (code,) + tuple(c for c in cells if isinstance(c, (str, int)))


# The wrapper numpy_keywords puts around the reductions (axis=, keepdims=):
# its frames are skipped, so the function it wraps is seen as called from
# where the wrapper was.
_WRAPPER_CODE = numpy_keywords(lambda: None).__code__


def _functions() -> Dict[Tuple, Tuple[str, inspect.Signature]]:
    table = {}
    for name, f in FUNCTIONS.items():
        if name in opdb.NOT_OPS:
            continue
        f = inspect.unwrap(f)
        cells = [c.cell_contents for c in (f.__closure__ or ())]
        key = _key_of(f.__code__, cells)
        first = table.get(key, (name,))[0]    # aliases: report the first name
        table[key] = (first, inspect.signature(f))
    return table


def _is_default(value, default) -> bool:
    if value is default:
        return True
    if default is inspect.Parameter.empty or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except Exception:  # noqa: BLE001  (arrays and tensors: not the default)
        return False


def _show(value) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


class _Recorder:
    def __init__(self):
        self.table = _functions()
        self.codes = {k[0] for k in self.table}
        self.used: Dict[str, Set[str]] = {}
        self.values: Dict[Tuple[str, str], Set[str]] = {}

    def __call__(self, frame, event, arg):
        if event != "call" or frame.f_code not in self.codes:
            return
        caller = frame.f_back
        if caller is not None and caller.f_code is _WRAPPER_CODE:
            caller = caller.f_back
        if caller is not None and caller.f_code.co_filename.startswith(PACKAGE):
            return   # tinyfin calling itself
        loc = frame.f_locals
        hit = self.table.get(_key_of(frame.f_code, [loc.get(v) for v in frame.f_code.co_freevars]))
        if hit is None:
            return
        name, sig = hit
        used = self.used.setdefault(name, set())
        for p in sig.parameters.values():
            value = loc.get(p.name, p.default)
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                if value:
                    used.add(p.name)
                continue
            if not _is_default(value, p.default):
                used.add(p.name)
            if isinstance(value, (str, bool, int, float, type(None))):
                self.values.setdefault((name, p.name), set()).add(_show(value))


def exercised() -> _Recorder:
    """Run every forward sample of every entry under the recorder."""
    rec = _Recorder()
    old = sys.getprofile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the samples' extreme values
        sys.setprofile(rec)
        try:
            for op in opdb.all_ops():
                for dtype in op.dtypes:
                    for sample in op.samples(dtype, np.random.default_rng(0)):
                        try:
                            call(op, sample_inputs(op, sample)[1], sample)
                        except Exception:  # noqa: BLE001  (forward reports these)
                            pass
        finally:
            sys.setprofile(old)
    return rec


def missing(rec: _Recorder = None) -> Dict[str, list]:
    """{"parameters": ["fn(param)", ...], "values": ["fn(param=value)", ...]}:
    what no sample exercises."""
    rec = rec or exercised()
    params, values = [], []
    for name, sig in sorted(set(rec.table.values()), key=lambda t: t[0]):
        for p in list(sig.parameters.values())[1:]:   # the first is the input itself
            optional = p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            exempt = p.name in EXEMPT or f"{name}({p.name})" in EXEMPT
            if optional and not exempt and p.name not in rec.used.get(name, ()):
                params.append(f"{name}({p.name})")
    for (name, param), want in sorted(REQUIRED_VALUES.items()):
        for v in sorted(want - rec.values.get((name, param), set())):
            values.append(f"{name}({param}={v})")
    return {"parameters": params, "values": values}
