"""Module entries of RNN, LSTM, GRU and their cells. The references are
verify/refs_rnn.py's NumPy float64 loops, written from the equations. The
samples take every constructor option (num_layers, bidirectional,
batch_first, bias, nonlinearity; dropout is off here, as the entries say
train and eval agree: tests/test_nn_rnn.py checks dropout against the
reference with the layer's masks), initial states, unbatched inputs and a
batch of 0. An LSTM's initial state is a tuple (h0, c0), which the
harness passes as it is, so the LSTM samples start from zeros; the tests
cover (h0, c0)."""
from __future__ import annotations

import math

from .moduledb import ModuleInfo, ModuleSample
from .opdb import Tol
from .refs_rnn import cell_reference, rnn_reference

TOL = {"float32": Tol(rtol=2e-5, atol=2e-6), "float64": Tol(rtol=1e-11, atol=1e-13)}


def _seq(L, N, I, h0=None, batch_first=False):
    def gen(rng):
        x = rng.standard_normal((L, I) if N is None else ((N, L, I) if batch_first else (L, N, I)))
        if h0 is None:
            return (x,)
        return (x, rng.standard_normal(h0))
    return gen


def _ref(mode):
    def ref(p, inputs, s, training):
        kw = dict(s.ctor_kwargs)
        args = list(s.ctor_args)
        names = ["input_size", "hidden_size", "num_layers"]
        for n, v in zip(names, args):
            kw[n] = v
        x = inputs[0]
        h0 = inputs[1] if len(inputs) > 1 else None
        res = rnn_reference(mode, p, x, h0, hidden_size=kw["hidden_size"],
                            num_layers=kw.get("num_layers", 1),
                            bidirectional=kw.get("bidirectional", False),
                            batch_first=kw.get("batch_first", False),
                            nonlinearity=kw.get("nonlinearity", "tanh"))
        if mode == "LSTM":
            return res[0], (res[1], res[2])
        return res
    return ref


def _uniform(m):
    k = 1 / math.sqrt(m.hidden_size)
    return ("uniform", -k, k)


_INIT = {n: _uniform for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                               "weight_ih_l0_reverse", "weight_hh_l0_reverse", "weight_ih_l1")}
_CELL_INIT = {n: _uniform for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def _samples(mode, states: bool):
    def gen():
        h = (lambda shape: shape) if states else (lambda shape: None)
        out = [
            ModuleSample((3, 4), inputs=_seq(4, 2, 3, h((1, 2, 4))), desc="1 layer"),
            ModuleSample((3, 4), {"bias": False}, inputs=_seq(4, 2, 3), desc="no bias"),
            ModuleSample((3, 2, 2), inputs=_seq(3, 2, 3, h((2, 2, 2))), desc="2 layers"),
            ModuleSample((2, 3), {"bidirectional": True}, inputs=_seq(3, 2, 2, h((2, 2, 3))),
                         desc="bidirectional"),
            ModuleSample((2, 2), {"num_layers": 2, "bidirectional": True, "batch_first": True},
                         inputs=_seq(3, 2, 2, h((4, 2, 2)), batch_first=True),
                         desc="2 layers, bidirectional, batch_first"),
            ModuleSample((3, 4), inputs=_seq(3, None, 3, h((1, 4))), desc="unbatched (L, H_in)"),
            ModuleSample((3, 4), inputs=_seq(3, 0, 3), desc="empty batch", grad=False),
            # 64 x 32 weights for the initialisation's KS test; gates on
            # (33, G * 32) per step and a projection of (200, 50) rows
            ModuleSample((50, 32), {"num_layers": 2, "bidirectional": True},
                         inputs=_seq(6, 33, 50), desc="(6, 33, 50) -> 32 x 2 layers x 2",
                         grad=False),
        ]
        if mode == "RNN":
            out.append(ModuleSample((2, 3), {"nonlinearity": "relu", "num_layers": 2},
                                    inputs=_seq(3, 2, 2, h((2, 2, 3))), desc="relu, 2 layers"))
        return out
    return gen


def _cell_ref(mode):
    def ref(p, inputs, s, training):
        x = inputs[0]
        h = inputs[1] if len(inputs) > 1 else None
        res = cell_reference(mode, p, x, h, hidden_size=s.ctor_args[1],
                             nonlinearity=s.ctor_kwargs.get("nonlinearity", "tanh"))
        return res
    return ref


def _cell_samples(mode):
    def gen():
        with_h = mode != "LSTM"

        def inp(N, I, H):
            def g(rng):
                x = rng.standard_normal((I,) if N is None else (N, I))
                if not with_h:
                    return (x,)
                return (x, rng.standard_normal((H,) if N is None else (N, H)))
            return g
        out = [ModuleSample((3, 4), inputs=inp(2, 3, 4), desc="(2, 3) -> 4"),
               ModuleSample((3, 4), {"bias": False}, inputs=inp(2, 3, 4), desc="no bias"),
               ModuleSample((3, 4), inputs=inp(None, 3, 4), desc="unbatched (3,)"),
               ModuleSample((40, 32), inputs=inp(20, 40, 32), desc="(20, 40) -> 32", grad=False)]
        if mode == "RNN":
            out.append(ModuleSample((3, 4), {"nonlinearity": "relu"}, inputs=inp(2, 3, 4),
                                    desc="relu"))
        return out
    return gen


MODULES = [
    ModuleInfo("RNN", samples=_samples("RNN", True), reference=_ref("RNN"), init=_INIT,
               tol=dict(TOL), gradgrad=True),
    ModuleInfo("LSTM", samples=_samples("LSTM", False), reference=_ref("LSTM"), init=_INIT,
               tol=dict(TOL), gradgrad=True),
    ModuleInfo("GRU", samples=_samples("GRU", True), reference=_ref("GRU"), init=_INIT,
               tol=dict(TOL), gradgrad=True),
    ModuleInfo("RNNCell", samples=_cell_samples("RNN"), reference=_cell_ref("RNN"),
               init=_CELL_INIT, tol=dict(TOL), gradgrad=True),
    ModuleInfo("LSTMCell", samples=_cell_samples("LSTM"), reference=_cell_ref("LSTM"),
               init=_CELL_INIT, tol=dict(TOL), gradgrad=True),
    ModuleInfo("GRUCell", samples=_cell_samples("GRU"), reference=_cell_ref("GRU"),
               init=_CELL_INIT, tol=dict(TOL), gradgrad=True),
]
