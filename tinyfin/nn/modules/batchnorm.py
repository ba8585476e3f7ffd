"""BatchNorm1d and BatchNorm2d: batch normalization with running statistics,
as torch.nn's.

In training the layer normalizes by the batch's statistics and, when it
tracks running statistics, counts the batch in num_batches_tracked and
moves running_mean / running_var towards the batch's mean and unbiased
variance by `momentum`, or by 1 / num_batches_tracked (a cumulative
average) when momentum is None. In eval it normalizes by the running
statistics, or by the batch's when it tracks none."""
from __future__ import annotations

from typing import Optional

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...autograd.grad_mode import no_grad
from ..ops.norm import batch_norm
from .module import Module
from .normalization import affine_parameters, reset_affine


def _positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


class _BatchNorm(Module):
    """The shared body; subclasses say which input ranks they take."""

    _ranks: tuple = ()
    _ranks_text: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5,
                 momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive_int(name, "num_features", num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = _dtypes.get(dtype, name) if dtype is not None else _dtypes.float32
        affine_parameters(self, (num_features,), affine, bias, dt, device)
        if track_running_stats:
            self.register_buffer("running_mean", _creation.zeros(num_features, dtype=dt, device=device))
            self.register_buffer("running_var", _creation.ones(num_features, dtype=dt, device=device))
            self.register_buffer("num_batches_tracked",
                                 _creation.tensor(0, dtype=_dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean 0, running_var 1, num_batches_tracked 0."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, weight 1, bias 0 (PyTorch's)."""
        self.reset_running_stats()
        reset_affine(self)

    def _check_input(self, input) -> None:
        name = type(self).__name__
        if input.ndim not in self._ranks:
            raise ValueError(f"{name}: expected {self._ranks_text} input (got "
                             f"{input.ndim}D input of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features and (
                self.weight is not None or self.running_mean is not None):
            raise ValueError(f"{name}: expected {self.num_features} channels "
                             f"(num_features) in dim 1 of the input, got input of "
                             f"shape {tuple(input.shape)}")

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:   # the cumulative average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # The batch's statistics in training, and in eval when no running
        # statistics are kept; the running ones are updated only in
        # training, and only when tracked.
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if use_running else None,
                          self.running_var if use_running else None,
                          self.weight, self.bias, batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over N (and L)."""

    _ranks = (2, 3)
    _ranks_text = "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs over N, H and W."""

    _ranks = (4,)
    _ranks_text = "4D"
