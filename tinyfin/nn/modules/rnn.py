"""Recurrent layers: RNN, LSTM, GRU and their one-step cells, with PyTorch's
parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then
..._reverse for the second direction, layer by layer), gate layouts (LSTM
i, f, g, o; GRU r, z, n) and initialisation (every weight and bias
U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))), so a state_dict maps one to
one onto PyTorch's. The computation is tinyfin/nn/ops/rnn.py."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import List, Optional

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...tensor import Tensor
from .. import init
from ..ops.rnn import gru_cell, lstm_cell, recurrent, rnn_cell
from ..parameter import Parameter
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _size_arg(layer: str, name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive int" if minimum else "a non-negative int"
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}")
    return int(value)


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _check_state(layer: str, name: str, state, expected: tuple, dtype) -> None:
    if not isinstance(state, Tensor):
        raise TypeError(f"{layer}: {name} must be a Tensor, got {type(state).__name__}")
    if _shape(state) != expected:
        raise ValueError(f"{layer}: expected {name} of shape {expected} "
                         f"(num_layers * num_directions, batch, hidden_size), got "
                         f"{_shape(state)}")
    if state.dtype is not dtype:
        raise TypeError(f"{layer}: {name} has dtype {state.dtype.name}, the layer's "
                        f"parameters {dtype.name}")


class RNNBase(Module):
    """The layers' shared machinery: parameters per layer and direction,
    the argument checks, and forward over nn/ops/rnn.recurrent."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = "RNN" if mode.startswith("RNN") else mode
        self.mode = mode
        self.input_size = _size_arg(name, "input_size", input_size, 0)
        self.hidden_size = _size_arg(name, "hidden_size", hidden_size, 1)
        self.num_layers = _size_arg(name, "num_layers", num_layers, 1)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        if proj_size != 0:
            raise NotImplementedError(f"{name}: proj_size is not supported (only 0), got "
                                      f"{proj_size!r}")
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = 0
        dt = _dtypes.get(dtype, name) if dtype is not None else _dtypes.float32
        gate = _GATES[mode] * self.hidden_size
        self._flat_weights_names: List[str] = []
        for layer in range(self.num_layers):
            for d in range(2 if self.bidirectional else 1):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                fan_in = self.input_size if layer == 0 else \
                    self.hidden_size * (2 if self.bidirectional else 1)
                shapes = [("weight_ih", (gate, fan_in)), ("weight_hh", (gate, self.hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                for pname, shape in shapes:
                    setattr(self, pname + suffix,
                            Parameter(_creation.empty(*shape, dtype=dt, device=device)))
                    self._flat_weights_names.append(pname + suffix)
        self.reset_parameters()

    @property
    def _layer_name(self) -> str:
        return "RNN" if self.mode.startswith("RNN") else self.mode

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """Per layer and direction, its [w_ih, w_hh, b_ih, b_hh] (PyTorch's)."""
        per = 4 if self.bias else 2
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN weight compaction; nothing to do here (kept so
        that code calling it runs unchanged)."""

    def reset_parameters(self, generator=None) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self._flat_weights:
            init.uniform_(w, -stdv, stdv, generator=generator)

    def _weights(self) -> list:
        out = []
        for group in self.all_weights:
            if self.bias:
                out.append(tuple(group))
            else:
                out.append((group[0], group[1], None, None))
        return out

    def _check_input(self, input) -> bool:
        """The input's checks; True when it is unbatched (L, H_in)."""
        name = self._layer_name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input to be 2-D (L, H_in) or 3-D "
                             f"({'N, L' if self.batch_first else 'L, N'}, H_in), got "
                             f"{input.ndim}-D input of shape {_shape(input)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]} (input of shape "
                             f"{_shape(input)})")
        dtype = self.weight_ih_l0.dtype
        if input.dtype is not dtype:
            raise TypeError(f"{name}: input has dtype {input.dtype.name}, the layer's "
                            f"parameters {dtype.name} (convert one with .to())")
        unbatched = input.ndim == 2
        seq = input.shape[0] if unbatched or not self.batch_first else input.shape[1]
        if seq == 0:
            raise ValueError(f"{name}: expected sequence length to be larger than 0, got "
                             f"input of shape {_shape(input)}")
        return unbatched

    def _run(self, input: Tensor, h0, c0, unbatched: bool):
        name = self._layer_name
        x = input.unsqueeze(1) if unbatched else \
            (input.transpose(0, 1) if self.batch_first else input)
        n = x.shape[1]
        dtype = self.weight_ih_l0.dtype
        want = (self.num_layers * self.num_directions, n, self.hidden_size)
        states = []
        for sname, s in (("h0", h0), ("c0", c0)):
            if s is not None:
                if unbatched:
                    if s.ndim != 2:
                        raise ValueError(f"{name}: for unbatched 2-D input, {sname} should "
                                         f"also be 2-D {want[:1] + want[2:]}, got shape "
                                         f"{_shape(s)}")
                    s = s.unsqueeze(1)
                _check_state(name, sname, s, want, dtype)
            states.append(s)
        out, h_n, c_n = recurrent(self.mode if self.mode in ("LSTM", "GRU") else "RNN", x,
                                  states[0], states[1], self._weights(), self.num_layers,
                                  self.num_directions, self.hidden_size, self.dropout,
                                  self.training, _ACTIVATION.get(self.mode))
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, h_n, c_n

    def forward(self, input, hx=None):
        unbatched = self._check_input(input)
        out, h_n, _ = self._run(input, hx, None, unbatched)
        return out, h_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


_ACTIVATION = {"RNN_TANH": Tensor.tanh, "RNN_RELU": Tensor.relu}


def _nonlinearity(layer: str, nonlinearity) -> str:
    if nonlinearity == "tanh":
        return "RNN_TANH"
    if nonlinearity == "relu":
        return "RNN_RELU"
    raise ValueError(f"{layer}: unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or "
                     "'relu'.")


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act
    tanh or relu. forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__(_nonlinearity("RNN", nonlinearity), input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """forward(input, (h0, c0)=None) -> (output, (h_n, c_n)); gates i, f, g, o:
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        unbatched = self._check_input(input)
        h0 = c0 = None
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h0, c0) of two Tensors, got "
                                f"{type(hx).__name__}")
            h0, c0 = hx
        out, h_n, c_n = self._run(input, h0, c0, unbatched)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """forward(input, hx=None) -> (output, h_n); gates r, z, n:
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), h_t = (1 - z) n + z h."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# ---- cells: one step ---------------------------------------------------------------
class RNNCellBase(Module):
    def __init__(self, name: str, input_size: int, hidden_size: int, bias: bool, gates: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = _size_arg(name, "input_size", input_size, 0)
        self.hidden_size = _size_arg(name, "hidden_size", hidden_size, 1)
        self.bias = bool(bias)
        dt = _dtypes.get(dtype, name) if dtype is not None else _dtypes.float32
        g = gates * self.hidden_size
        self.weight_ih = Parameter(_creation.empty(g, self.input_size, dtype=dt, device=device))
        self.weight_hh = Parameter(_creation.empty(g, self.hidden_size, dtype=dt, device=device))
        if self.bias:
            self.bias_ih = Parameter(_creation.empty(g, dtype=dt, device=device))
            self.bias_hh = Parameter(_creation.empty(g, dtype=dt, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self, generator=None) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv, generator=generator)

    def _check(self, name: str, input, states) -> bool:
        """The checks of a step; True when unbatched (input (H_in,))."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input to be 1-D (H_in,) or 2-D (N, H_in), got "
                             f"{input.ndim}-D input of shape {_shape(input)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got "
                             f"{input.shape[-1]} expected {self.input_size} (input of shape "
                             f"{_shape(input)})")
        if input.dtype is not self.weight_ih.dtype:
            raise TypeError(f"{name}: input has dtype {input.dtype.name}, the cell's "
                            f"parameters {self.weight_ih.dtype.name}")
        want = input.shape[:-1] + (self.hidden_size,)
        for sname, s in states:
            if s is None:
                continue
            if not isinstance(s, Tensor):
                raise TypeError(f"{name}: {sname} must be a Tensor, got {type(s).__name__}")
            if _shape(s) != want:
                raise ValueError(f"{name}: expected {sname} of shape {want} for input of "
                                 f"shape {_shape(input)}, got {_shape(s)}")
            if s.dtype is not input.dtype:
                raise TypeError(f"{name}: {sname} has dtype {s.dtype.name}, the input "
                                f"{input.dtype.name}")
        return input.ndim == 1

    def _zeros(self, x: Tensor) -> Tensor:
        """The zero state hx=None stands for: W_hh takes part (a zero
        gradient, as PyTorch's) rather than being skipped."""
        return _creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def _project(self, x: Tensor, fold_hh: bool) -> Tensor:
        p = x @ self.weight_ih.mT
        if self.bias:
            p = p + (self.bias_ih + self.bias_hh if fold_hh else self.bias_ih)
        return p

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        _nonlinearity("RNNCell", nonlinearity)
        super().__init__("RNNCell", input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        unbatched = self._check("RNNCell", input, (("hx", hx),))
        x = input.unsqueeze(0) if unbatched else input
        h = hx.unsqueeze(0) if unbatched and hx is not None else hx
        h = self._zeros(x) if h is None else h
        act = Tensor.tanh if self.nonlinearity == "tanh" else Tensor.relu
        h, _ = rnn_cell(self._project(x, True), h, None, self.weight_hh, act)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("LSTMCell", input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        h0 = c0 = None
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two Tensors, got "
                                f"{type(hx).__name__}")
            h0, c0 = hx
        unbatched = self._check("LSTMCell", input, (("h", h0), ("c", c0)))
        x = input.unsqueeze(0) if unbatched else input
        if unbatched and h0 is not None:
            h0, c0 = h0.unsqueeze(0), c0.unsqueeze(0)
        if h0 is None:
            h0 = c0 = self._zeros(x)
        h, c = lstm_cell(self._project(x, True), h0, c0, self.weight_hh, self.hidden_size)
        if unbatched:
            return h.squeeze(0), c.squeeze(0)
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("GRUCell", input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        unbatched = self._check("GRUCell", input, (("hx", hx),))
        x = input.unsqueeze(0) if unbatched else input
        h = hx.unsqueeze(0) if unbatched and hx is not None else hx
        h = self._zeros(x) if h is None else h
        h, _ = gru_cell(self._project(x, False), h, None, self.weight_hh, self.bias_hh,
                        self.hidden_size)
        return h.squeeze(0) if unbatched else h
