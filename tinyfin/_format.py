"""repr() of a Tensor in PyTorch's style, with PyTorch's print options.

    tensor([1., 2.], dtype=tinyfin.float64)

The rules are PyTorch's (torch/_tensor_str.py): one width for every
element; floats print in scientific notation when the nonzero finite
magnitudes span more than a factor 1000, exceed 1e8 or fall below 1e-4
(or as set_printoptions(sci_mode=) says), else as integers (`1.`) when
every one is integral, else with `precision` decimals. A tensor of more than `threshold` elements is
summarised: each dim longer than 2 * edgeitems shows its first and last
edgeitems entries around "...", and the format is chosen from those shown
entries alone, so printing takes the same time for any number of elements
(an expanded tensor of 10^12 elements prints at once).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from . import dtypes as _dtypes

_DEFAULT_DTYPES = (_dtypes.float32, _dtypes.int64, _dtypes.bool_)


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


PRINT_OPTS = _PrintOptions()
_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80)}


def set_printoptions(precision: Optional[int] = None,
                     threshold: Optional[float] = None,
                     edgeitems: Optional[int] = None,
                     linewidth: Optional[int] = None,
                     profile: Optional[str] = None,
                     sci_mode: Optional[bool] = None) -> None:
    """PyTorch's torch.set_printoptions: a profile ('default', 'short',
    'full') first, then each option given; sci_mode None means automatic."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of "
                             f"{sorted(_PROFILES)}, got {profile!r}")
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"set_printoptions: {name} must be a "
                                 f"non-negative number, got {value!r}")
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def _summarized(arr: np.ndarray, edge: int) -> np.ndarray:
    """The entries a summarised print shows: per dim, the first and last
    `edge` when the dim is longer than 2 * edge."""
    if arr.ndim == 0:
        return arr
    # one gather of just those entries (np.take would first copy the whole
    # array contiguous, which for an expanded tensor may not even fit)
    return arr[np.ix_(*[np.r_[0:edge, n - edge:n] if n > 2 * edge else
                        np.arange(n) for n in arr.shape])]


class _Formatter:
    def __init__(self, shown: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode, self.sci_mode, self.width = True, False, 1
        p = PRINT_OPTS.precision
        flat = shown.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        values = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if values.size:
            mags = np.abs(values)
            lo, hi = float(mags.min()), float(mags.max())
            self.int_mode = bool(np.all(values == np.ceil(values)))
            self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
                             if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode)
            for v in values.tolist():
                if self.sci_mode:
                    self.width = max(self.width, len(f"{v:.{p}e}"))
                elif self.int_mode:
                    self.width = max(self.width, len(f"{v:.0f}") + 1)
                else:
                    self.width = max(self.width, len(f"{v:.{p}f}"))

    def format(self, v) -> str:
        p = PRINT_OPTS.precision
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:{self.width}.{p}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{p}f}"
        return s.rjust(self.width)


def _vector(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = PRINT_OPTS.edgeitems
    per_line = max(1, int((PRINT_OPTS.linewidth - indent) // (fmt.width + 2)))
    if summarize and arr.shape[0] > 2 * edge:
        items = ([fmt.format(v) for v in arr[:edge].tolist()] + [" ..."] +
                 [fmt.format(v) for v in arr[-edge:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector(arr, indent, summarize, fmt)
    edge, n = PRINT_OPTS.edgeitems, arr.shape[0]
    if summarize and n > 2 * edge:
        rows = ([_nested(arr[i], indent + 1, summarize, fmt) for i in range(edge)] +
                ["..."] +
                [_nested(arr[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        rows = [_nested(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(rows) + "]"


def _with_suffixes(body: str, suffixes: list, indent: int) -> str:
    """PyTorch's layout: a suffix that would pass the line width starts a
    new line, indented under the opening parenthesis."""
    out = [body]
    last = len(body) - body.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(out) + ")"


def format_tensor(t) -> str:
    prefix = "tensor("
    indent = len(prefix)
    on_host = t.device.type == "cpu"
    # a view of host memory: nothing is copied; device memory comes over first
    arr = (t.detach() if on_host else t.detach().cpu()).numpy()
    suffixes = [] if on_host else [f"device='{t.device}'"]  # PyTorch's order
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if t.dtype is not _dtypes.float32:
            suffixes.append(f"dtype={t.dtype!r}")
    else:
        summarize = arr.size > PRINT_OPTS.threshold
        shown = _summarized(arr, PRINT_OPTS.edgeitems) if summarize else arr
        fmt = _Formatter(shown, t.dtype.is_floating_point)
        body = _nested(arr, indent, summarize, fmt)
        if t.dtype not in _DEFAULT_DTYPES:
            suffixes.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
