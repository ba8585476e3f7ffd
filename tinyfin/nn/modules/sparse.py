"""Embedding, as torch.nn's (torch/nn/modules/sparse.py): a lookup table
weight (num_embeddings, embedding_dim), initialised N(0, 1) with the
padding_idx row zeroed; the padding row gets no gradient."""
from __future__ import annotations

from typing import Optional

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor, require_tensor
from .. import functional as F
from .. import init
from ..ops.embedding import _normalize_padding_idx
from ..parameter import Parameter
from .module import Module

__all__ = ["Embedding"]


def _size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Embedding: {name} must be a non-negative int, got {value!r}")
    return value


class Embedding(Module):
    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Optional[Tensor] = None,
                 _freeze: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = _size("num_embeddings", num_embeddings)
        self.embedding_dim = _size("embedding_dim", embedding_dim)
        self.padding_idx = _normalize_padding_idx("Embedding", padding_idx, num_embeddings)
        for name, value, what in (("max_norm", max_norm is not None, "max_norm"),
                                  ("scale_grad_by_freq", scale_grad_by_freq, "scale_grad_by_freq=True"),
                                  ("sparse", sparse, "sparse=True")):
            if value:
                raise NotImplementedError(f"Embedding: {what} is not supported by tinyfin")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dt = _dtypes.get(dtype, "Embedding") if dtype is not None else _dtypes.float32
            self.weight = Parameter(_creation.empty(num_embeddings, embedding_dim, dtype=dt,
                                                    device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            require_tensor("Embedding", _weight, "_weight")
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: shape of _weight {tuple(_weight.shape)} does not "
                                 f"match (num_embeddings, embedding_dim) = "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self, generator=None) -> None:
        init.normal_(self.weight, generator=generator)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose weight is `embeddings` (2-d; shared, not
        copied, as PyTorch's), frozen unless freeze=False."""
        require_tensor("Embedding.from_pretrained", embeddings, "embeddings")
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-d, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx,
                   max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
