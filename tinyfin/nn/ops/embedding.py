"""embedding and one_hot, as torch.nn.functional's.

embedding(input, weight) picks rows of weight (num_embeddings, dim) at the
int64 indices of input: out[..., :] = weight[input[...], :], shape
(*input.shape, dim), by the core's index_select. Its gradient adds each
output row's gradient into its weight row (index_put with accumulate:
repeated indices add up, in a fixed order), except at padding_idx, whose
row gets no gradient; forward and backward are recorded as an adjoint pair
(tinyfin/autograd/linear_maps.py), so derivatives of any order work.
"""
from __future__ import annotations

from typing import Optional

from ... import _C
from ... import reduction as R
from ...autograd.grad_mode import no_grad
from ...autograd.graph import needs_grad, record
from ...autograd.linear_maps import adjoint, index_add_put
from ...creation import arange
from ...dtypes import int64
from ...tensor import Tensor, _call, require_tensor

__all__ = ["embedding", "one_hot"]


def _check_indices(op: str, input: Tensor, what: str) -> None:
    require_tensor(op, input, "input")
    if input.dtype is not int64:
        raise TypeError(f"{op}: expected int64 {what}, got {input.dtype.name}")


def _normalize_padding_idx(op: str, padding_idx, num: int) -> Optional[int]:
    """padding_idx in [-num, num), negative counting from the end."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, int):
        raise TypeError(f"{op}: padding_idx must be an int or None, got "
                        f"{type(padding_idx).__name__}")
    if not -num <= padding_idx < num:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings: "
                         f"got {padding_idx} for num_embeddings {num} (valid: "
                         f"{-num} to {num - 1})")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _check_range(op: str, flat: Tensor, num: int) -> None:
    """Every index in [0, num); the message names the first bad one."""
    if flat.numel() == 0:
        return
    lo, hi = int(R.amin(flat).item()), int(R.amax(flat).item())
    if lo >= 0 and hi < num:
        return
    bad = (flat < 0).logical_or(flat >= num)
    first = int(R.argmax(bad.to(int64)).item())
    value = int(flat[first].item())
    raise IndexError(f"{op}: index {value} (at flat position {first}) is out "
                     f"of range for num_embeddings {num} (valid: 0 to "
                     f"{num - 1})")


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """weight's rows at the int64 indices of input: shape (*input.shape,
    embedding_dim). padding_idx's row gets no gradient. max_norm,
    scale_grad_by_freq and sparse are not supported (NotImplementedError)."""
    _check_indices("embedding", input, "indices")
    require_tensor("embedding", weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-d (num_embeddings, "
                         f"embedding_dim), got shape {weight.shape}")
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm is not supported by "
                                  "tinyfin (renormalise the weight yourself)")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding: scale_grad_by_freq=True is not "
                                  "supported by tinyfin")
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not supported by "
                                  "tinyfin (no sparse gradients)")
    num, dim = weight.shape
    pad = _normalize_padding_idx("embedding", padding_idx, num)
    flat = input.reshape(-1)
    _check_range("embedding", flat, num)
    out_shape = tuple(input.shape) + (dim,)
    mask = None
    if pad is not None:
        # (L, 1) in weight's dtype: 0 at the padding positions
        mask = (flat != pad).to(weight.dtype).unsqueeze(1) if \
            weight.dtype.is_floating_point else None
    get, put = _pair(flat, out_shape, mask)
    with no_grad():
        out = _call(_C.tf_index_select, weight._h, 0, flat._h).reshape(out_shape)
    if needs_grad(weight) and weight.dtype.is_floating_point:
        shape = weight.shape
        saved = (flat,) if mask is None else (flat, mask)
        record("embedding", out, (weight,),
               lambda g, *_: (adjoint("embedding", g, shape, get, put, saved),),
               saved)
    return out


def _pair(flat: Tensor, out_shape: tuple, mask: Optional[Tensor]):
    """get: the rows at flat (times the padding mask), shaped out_shape;
    put: its adjoint, g (times the mask) added into the rows at flat."""
    add = index_add_put(0, flat)
    rows = (flat.numel(), out_shape[-1])

    def get(t: Tensor) -> Tensor:
        with no_grad():
            r = _call(_C.tf_index_select, t._h, 0, flat._h)
            if mask is not None:
                r = r * mask
            return r.reshape(out_shape)

    def put(g: Tensor, shape: tuple) -> Tensor:
        with no_grad():
            g2 = g.reshape(rows)
            if mask is not None:
                g2 = g2 * mask
            return add(g2.contiguous(), shape)
    return get, put


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 (*tensor.shape, num_classes): 1 at each value's class. With
    num_classes=-1 it is max(tensor) + 1 (an error for an empty tensor)."""
    _check_indices("one_hot", tensor, "class values (an index tensor)")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"one_hot: num_classes must be an int, got "
                        f"{type(num_classes).__name__}")
    if num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 (inferred) or "
                         f"non-negative, got {num_classes}")
    n = tensor.numel()
    if num_classes == -1:
        if n == 0:
            raise ValueError("one_hot: can not infer the total number of "
                             "classes from an empty tensor; pass num_classes")
        num_classes = int(R.amax(tensor).item()) + 1
    if n:
        lo, hi = int(R.amin(tensor).item()), int(R.amax(tensor).item())
        if lo < 0:
            raise ValueError(f"one_hot: class values must be non-negative, "
                             f"got {lo}")
        if hi >= num_classes:
            raise ValueError(f"one_hot: class values must be smaller than "
                             f"num_classes ({num_classes}), got {hi}")
    classes = arange(num_classes, dtype=int64, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).to(int64)
