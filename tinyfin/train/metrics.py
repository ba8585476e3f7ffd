"""Metrics for tinyfin.train: small accumulators with update / compute / reset.

Each one sums over the batches it is given and divides once at the end, so
the result is the metric of the whole dataset, whatever the batch sizes
(the last, smaller batch of a DataLoader counts as many samples as it holds,
not as much as a full batch). Sums are kept as Python ints and floats
(float64), never in the model's dtype.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor


def _array(op: str, name: str, value) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{op}: {name} must be a tinyfin Tensor or a NumPy array, "
                    f"got {type(value).__name__}")


def _scores_and_labels(op: str, output, target):
    """(N, C) scores and (N,) integer class indices, checked."""
    scores, labels = _array(op, "output", output), _array(op, "target", target)
    if scores.ndim != 2:
        raise ValueError(f"{op}: output must be (N, C) class scores, got shape "
                         f"{tuple(scores.shape)}")
    if labels.shape != scores.shape[:1]:
        raise ValueError(f"{op}: target must be (N,) class indices for output of shape "
                         f"{tuple(scores.shape)}, got shape {tuple(labels.shape)}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{op}: target must hold integer class indices, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise IndexError(f"{op}: target holds class indices in [{labels.min()}, "
                         f"{labels.max()}], expected them in [0, {scores.shape[1]})")
    return scores, labels


class Metric:
    """update(output, target) per batch, compute() for everything since the
    last reset(). `name` is the key the Trainer logs it under."""

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output, target) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class TopKAccuracy(Metric):
    """The fraction of samples whose target class is among the k highest
    scores. Ties are ranked as a stable descending sort ranks them (the lower
    class index first), so k=1 agrees with argmax, which returns the first
    maximum."""

    def __init__(self, k: int = 5) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{type(self).__name__}: k must be a positive int, got {k!r}")
        self.k = k
        self.name = "accuracy" if k == 1 else f"top{k}_accuracy"
        super().__init__()

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def update(self, output, target) -> None:
        op = f"{type(self).__name__}.update"
        scores, labels = _scores_and_labels(op, output, target)
        if self.k > scores.shape[1]:
            raise ValueError(f"{op}: k={self.k} is more than the {scores.shape[1]} "
                             f"classes of output of shape {tuple(scores.shape)}")
        mine = np.take_along_axis(scores, labels[:, None].astype(np.intp), axis=1)
        # rank of the target = classes ahead of it: a higher score, or an equal
        # one at a lower index. NaN ranks above every number (as in torch.topk
        # and argmax) and equal to NaN.
        nan_j, nan_t = np.isnan(scores), np.isnan(mine)
        greater = (scores > mine) | (nan_j & ~nan_t)
        equal = (scores == mine) | (nan_j & nan_t)
        index = np.arange(scores.shape[1])[None, :]
        ahead = greater | (equal & (index < labels[:, None]))
        self.correct += int((ahead.sum(axis=1) < self.k).sum())
        self.total += int(labels.shape[0])

    def compute(self) -> float:
        return self.correct / self.total if self.total else math.nan

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"


class Accuracy(TopKAccuracy):
    """The fraction of samples whose argmax class is the target."""

    def __init__(self) -> None:
        super().__init__(k=1)

    def __repr__(self) -> str:
        return "Accuracy()"


class MeanLoss(Metric):
    """The mean of a loss over all samples, given per batch the batch's mean
    loss and its size: sum(loss_b * n_b) / sum(n_b)."""

    name = "loss"

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, loss, batch_size: int) -> None:
        if isinstance(loss, Tensor):
            if loss.numel() != 1:
                raise ValueError(f"MeanLoss.update: loss must be a single value (the "
                                 f"batch mean), got shape {tuple(loss.shape)}")
            loss = loss.item()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 0:
            raise ValueError(f"MeanLoss.update: batch_size must be a non-negative int, "
                             f"got {batch_size!r}")
        self.total += float(loss) * batch_size
        self.count += batch_size

    def compute(self) -> float:
        return self.total / self.count if self.count else math.nan
