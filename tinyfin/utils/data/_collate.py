"""default_collate and default_convert, as torch.utils.data's: a list of
samples becomes one batch, field by field.

- tinyfin Tensors are stacked along a new first dimension; NumPy arrays and
  NumPy scalars become tensors and are stacked (NumPy dtypes that tinyfin
  lacks convert as tinyfin.from_numpy converts them: integers to int64,
  float16 to float32);
- Python ints become an int64 tensor, floats a float64 tensor, bools a bool
  tensor; strings and bytes are left as they come (the list of samples,
  or for a field of tuple or namedtuple samples, a tuple, as PyTorch's);
- dicts, namedtuples, tuples and lists are collated field by field (a tuple
  or list sample gives a list of batches, as PyTorch's does).

Samples whose tensors differ in shape raise RuntimeError naming the field,
the shapes and the positions in the batch (PyTorch's "stack expects each
tensor to be equal size")."""
from __future__ import annotations

import collections.abc
from typing import Any, List

import numpy as np

from ... import creation
from ... import dtypes as _dtypes
from ...shape import stack
from ...tensor import Tensor

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
        "lists; found {}")


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _numeric_array(a: np.ndarray) -> bool:
    return a.dtype.kind not in "OSUV"  # object, bytes, str, void cannot be tensors


def _where(path: str) -> str:
    return f" (field {path} of the samples)" if path else ""


def _stack(batch: List[Tensor], path: str) -> Tensor:
    first = batch[0]
    for i, t in enumerate(batch):
        if t.shape != first.shape:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got "
                f"{tuple(first.shape)} at entry 0 and {tuple(t.shape)} at entry {i} of "
                f"the batch{_where(path)}")
        if t.dtype is not first.dtype:
            raise TypeError(
                f"default_collate: expected every tensor of a field to have one dtype, "
                f"got {first.dtype} at entry 0 and {t.dtype} at entry {i} of the "
                f"batch{_where(path)}")
    return stack(batch, 0)


def _collate(batch, path: str) -> Any:
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch, path)
    if isinstance(elem, np.ndarray) or (isinstance(elem, np.generic)
                                        and not isinstance(elem, (np.str_, np.bytes_))):
        if isinstance(elem, np.ndarray) and not _numeric_array(elem):
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([creation.as_tensor(np.asarray(b)) for b in batch], path)
    if isinstance(elem, float):
        return creation.tensor(batch, dtype=_dtypes.float64)
    if isinstance(elem, int):  # bool too: tensor() gives bools a bool tensor
        return creation.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: _collate([d[key] for d in batch], f"{path}[{key!r}]") for key in elem}
        try:
            return type(elem)(out)
        except TypeError:  # a mapping type that cannot be built from a dict
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(_collate(samples, f"{path}.{name}")
                            for name, samples in zip(elem._fields, zip(*batch))))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for i, e in enumerate(batch):
            if len(e) != size:
                raise RuntimeError(
                    "each element in list of batch should be of equal size (got "
                    f"{size} at entry 0 and {len(e)} at entry {i}{_where(path)})")
        transposed = [_collate(samples, f"{path}[{i}]")
                      for i, samples in enumerate(zip(*batch))]
        if isinstance(elem, tuple):
            return transposed  # a list, as PyTorch's (backwards compatibility)
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise TypeError(_ERR.format(type(elem)))


def default_collate(batch: list) -> Any:
    """One batch from a list of samples (see the module's docstring)."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate: expected a list of samples, got "
                        f"{type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    return _collate(list(batch), "")


def default_convert(data: Any) -> Any:
    """What a DataLoader without batching applies to each sample: NumPy
    arrays and scalars become tensors, recursively through dicts,
    namedtuples, tuples (given back as lists, as PyTorch) and lists;
    everything else passes unchanged."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return creation.as_tensor(data) if _numeric_array(data) else data
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return creation.as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        out = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data


