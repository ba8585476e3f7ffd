"""Check `int-args`: no integer argument is ever wrapped.

A Python int has no bound; the C core takes int64 (or int) and ctypes
reduces a value that does not fit modulo 2^64 without a word, so
`x[::2**64 + 1]` would silently be `x[::1]`. Every int an op's samples pass
(positionally, by keyword, or inside a tuple or list such as a shape) is
replaced, one at a time, by a value just outside int64 (v + 2^64 and
v - 2^64): the call must raise OverflowError, IndexError or ValueError,
never return. Driven by the op database, so every op with an int argument
in its samples is covered without a test of its own.
"""
from __future__ import annotations

from typing import Iterator, Tuple

import numpy as np

from ..opdb import OpInfo
from .common import Result, in_layout

_REFUSALS = (OverflowError, IndexError, ValueError)


def _int_sites(value, path=()) -> Iterator[tuple]:
    """Paths to every plain int in value (tuples and lists descended)."""
    if type(value) is int:
        yield path
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _int_sites(v, path + (i,))


def _get(value, path: tuple):
    for i in path:
        value = value[i]
    return value


def _replace(value, path: tuple, new):
    if not path:
        return new
    items = list(value)
    items[path[0]] = _replace(items[path[0]], path[1:], new)
    return type(value)(items)


def _mutants(args: tuple, kwargs: dict) -> Iterator[Tuple[str, tuple, dict]]:
    for i, a in enumerate(args):
        for path in _int_sites(a):
            v = _get(a, path)
            for big in (v + 2 ** 64, v - 2 ** 64):
                yield f"argument {i}{list(path) or ''} = {big}", \
                    args[:i] + (_replace(a, path, big),) + args[i + 1:], kwargs
    for k, a in kwargs.items():
        for path in _int_sites(a):
            v = _get(a, path)
            for big in (v + 2 ** 64, v - 2 ** 64):
                yield f"{k}{list(path) or ''} = {big}", args, \
                    {**kwargs, k: _replace(a, path, big)}


def check_int_args(op: OpInfo, backend: str) -> Result:
    res = Result("int-args", op.id, "-", backend)
    dtype = op.dtypes[0]
    seen = set()
    # a generator of its own: drawing from the run's would shift every later
    # check's samples
    for sample in op.samples(dtype, np.random.default_rng(0)):
        for where, args, kwargs in _mutants(sample.args, sample.kwargs):
            argument = where.split(" = ")[0].split("[")[0]
            if where in seen or argument in op.wide_int_args:
                continue
            seen.add(where)
            res.n += 1
            tensors = [in_layout(a, sample.layout_at(i))[1] for i, a in enumerate(sample.inputs)]
            try:
                op.call(*tensors, *args, **kwargs)
            except _REFUSALS:
                continue
            except Exception as e:  # noqa: BLE001
                res.fail(f"{op.id} [{sample.desc}] {where}: raised "
                         f"{type(e).__name__} ({e}), expected OverflowError, "
                         "IndexError or ValueError")
                continue
            res.fail(f"{op.id} [{sample.desc}] {where}: returned a result; an "
                     "int outside int64 must raise, not wrap modulo 2^64")
    if res.n == 0:
        res.status = "skip"
    return res
