"""Dropout and Dropout2d, as torch.nn's: random in training (self.training),
the identity in eval; the mask comes from the default generator
(tinyfin.manual_seed), see tinyfin/nn/ops/dropout.py."""
from __future__ import annotations

from .. import functional as F
from ..ops.dropout import _check_p
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    _name = ""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(self._name, p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    _name = "Dropout"

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    _name = "Dropout2d"

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)
