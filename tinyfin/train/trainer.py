"""tinyfin.train.Trainer: the plain PyTorch training loop, with its usual
extras (validation, metrics, a scheduler, gradient accumulation and
clipping, callbacks, resumable state) written once.

Per batch, fit does exactly what the hand-written loop does:

    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()

so with the same seed and data order it gives the same parameters, bit for
bit. With grad_accum_steps=k the loss is divided by k and the optimizer
steps every k batches and once more at the end of the epoch for a shorter
last group (whose gradient is then its sum / k, as in PyTorch Lightning).
"""
from __future__ import annotations

import copy
import os
import time
from typing import Iterable, Optional

from ..autograd import no_grad
from .._generator import get_rng_state, set_rng_state
from ..nn.utils import clip_grad_norm_
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..shape import cat
from ..tensor import Tensor
from .callbacks import (Callback, CSVLogger, JSONLinesLogger, ModelCheckpoint, ProgressBar,
                        _check_mode, _HistoryFile, improved)
from .metrics import MeanLoss, Metric


def _split(op: str, batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    what = f"a {type(batch).__name__} of length {len(batch)}" if isinstance(batch, (tuple, list)) \
        else f"a {type(batch).__name__}"
    raise TypeError(f"Trainer.{op}: each batch must be an (input, target) pair, got {what}")


def _batch_size(target) -> int:
    if isinstance(target, Tensor):
        return target.shape[0] if target.dim() else 1
    return len(target)


class Trainer:
    """fit / evaluate / predict for a model, a loss and an optimizer.

    loss_fn(output, target) returns the batch's mean loss (as
    F.cross_entropy does); metrics are Metric objects (accuracy, top-k),
    computed on the training batches and, with val_loader, on the validation
    set (logged as val_<name>). scheduler steps after every optimizer step
    (scheduler_interval="step") or every epoch ("epoch"); ReduceLROnPlateau
    steps per epoch with the value of `monitor`. progress=True adds a tqdm
    ProgressBar (unless callbacks holds one); log_dir adds a CSVLogger and a
    JSONLinesLogger writing log_dir/metrics.csv and log_dir/metrics.jsonl
    (unless callbacks holds a logger) and is where PlotCurves draws.

    history is a list of per-epoch records: epoch, step (optimizer steps so
    far), loss, the metrics, the val_ metrics, lr (group 0's at the start of
    the epoch), what callbacks logged, seconds.
    """

    def __init__(self, model, loss_fn, optimizer, scheduler=None, scheduler_interval: str = "epoch",
                 metrics: Iterable[Metric] = (), grad_accum_steps: int = 1,
                 clip_grad_norm: Optional[float] = None, callbacks: Iterable[Callback] = (),
                 log_dir: Optional[str] = None, progress: bool = True,
                 monitor: str = "val_loss", mode: str = "min") -> None:
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'step', got "
                             f"{scheduler_interval!r}")
        if isinstance(scheduler, ReduceLROnPlateau) and scheduler_interval != "epoch":
            raise ValueError("Trainer: ReduceLROnPlateau steps once per epoch on the monitored "
                             "metric; use scheduler_interval='epoch'")
        if isinstance(grad_accum_steps, bool) or not isinstance(grad_accum_steps, int) \
                or grad_accum_steps < 1:
            raise ValueError(f"Trainer: grad_accum_steps must be a positive int, got "
                             f"{grad_accum_steps!r}")
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ValueError(f"Trainer: clip_grad_norm must be None or > 0, got {clip_grad_norm!r}")
        metrics = list(metrics)
        for m in metrics:
            if not isinstance(m, Metric):
                raise TypeError(f"Trainer: metrics must be tinyfin.train Metric objects, got "
                                f"{type(m).__name__}")
        names = [m.name for m in metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"Trainer: metric names must be distinct and not 'loss', got {names}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.metrics = metrics
        self.grad_accum_steps, self.clip_grad_norm = grad_accum_steps, clip_grad_norm
        self.monitor, self.mode = monitor, _check_mode("Trainer", mode)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)

        callbacks = list(callbacks)
        extra = []
        if progress and not any(isinstance(c, ProgressBar) for c in callbacks):
            extra.append(ProgressBar())
        if self.log_dir is not None and not any(isinstance(c, _HistoryFile) for c in callbacks):
            extra += [CSVLogger(os.path.join(self.log_dir, "metrics.csv")),
                      JSONLinesLogger(os.path.join(self.log_dir, "metrics.jsonl"))]
        callbacks = extra + callbacks
        # checkpoints last: what they save includes the other callbacks' epoch
        self.callbacks = ([c for c in callbacks if not isinstance(c, ModelCheckpoint)]
                          + [c for c in callbacks if isinstance(c, ModelCheckpoint)])

        self.epoch = 0          # epochs completed
        self.global_step = 0    # optimizer steps taken
        self.best_metric: Optional[float] = None  # best value of `monitor` so far
        self.history: list = []
        self.should_stop = False
        self.epochs = None
        self.train_loader = self.val_loader = None
        self._logged: dict = {}

    # ---- the loop ----------------------------------------------------------------
    def fit(self, train_loader, epochs: int, val_loader=None) -> list:
        """Train until `epochs` epochs are done in all (a resumed trainer
        continues from trainer.epoch) or a callback sets should_stop.
        Returns the history."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be a non-negative int, got {epochs!r}")
        if self.monitor.startswith("val_") and val_loader is None \
                and isinstance(self.scheduler, ReduceLROnPlateau):
            raise ValueError(f"Trainer.fit: ReduceLROnPlateau steps on monitor={self.monitor!r}, "
                             "which needs a val_loader")
        self.train_loader, self.val_loader, self.epochs = train_loader, val_loader, epochs
        self.should_stop = False
        self._call("on_train_start")
        while self.epoch < epochs and not self.should_stop:
            self._fit_epoch()
        self._call("on_train_end")
        return self.history

    def _fit_epoch(self) -> None:
        epoch, k = self.epoch, self.grad_accum_steps
        start = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        self.model.train()
        losses = MeanLoss()
        for m in self.metrics:
            m.reset()
        self._logged = {}
        self._call("on_epoch_start", epoch)
        pending = 0  # backward passes whose gradients wait for a step
        for i, batch in enumerate(self.train_loader):
            self._call("on_batch_start", i, batch)
            x, y = _split("fit", batch)
            if pending == 0:
                self.optimizer.zero_grad()
            output = self.model(x)
            loss = self.loss_fn(output, y)
            (loss / k if k > 1 else loss).backward()
            pending += 1
            if pending == k:
                self._optimizer_step()
                pending = 0
            n, value = _batch_size(y), loss.item()
            losses.update(value, n)
            for m in self.metrics:
                m.update(output, y)
            self._call("on_batch_end", i, {"loss": value, "batch_size": n})
        if pending:
            self._optimizer_step()

        record = {"epoch": epoch, "step": self.global_step, "loss": losses.compute()}
        record.update({m.name: m.compute() for m in self.metrics})
        if self.val_loader is not None:
            record.update({f"val_{name}": v for name, v in self.evaluate(self.val_loader).items()})
        record["lr"] = lr
        record.update(self._logged)
        if self.monitor in record and improved(record[self.monitor], self.best_metric, self.mode):
            self.best_metric = float(record[self.monitor])
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if isinstance(self.scheduler, ReduceLROnPlateau):
                if self.monitor not in record:
                    raise ValueError(f"Trainer: ReduceLROnPlateau monitors {self.monitor!r}, "
                                     f"which is not among {sorted(record)}")
                self.scheduler.step(record[self.monitor])
            else:
                self.scheduler.step()
        record["seconds"] = time.perf_counter() - start
        self.history.append(record)
        self.epoch += 1
        self._call("on_epoch_end", epoch, record)

    def _optimizer_step(self) -> None:
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.optimizer.step()
        self.global_step += 1
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()

    def log(self, name: str, value) -> None:
        """Add name: value to the current epoch's record (for callbacks)."""
        self._logged[name] = value

    def _call(self, hook: str, *args) -> None:
        for c in self.callbacks:
            getattr(c, hook)(self, *args)

    # ---- evaluation ---------------------------------------------------------------
    def evaluate(self, loader) -> dict:
        """{"loss": mean loss over the samples, <metric name>: value, ...}
        in eval mode without gradients (the model's mode is restored)."""
        losses, metrics = MeanLoss(), [copy.deepcopy(m) for m in self.metrics]
        for m in metrics:
            m.reset()
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                for batch in loader:
                    x, y = _split("evaluate", batch)
                    output = self.model(x)
                    losses.update(self.loss_fn(output, y).item(), _batch_size(y))
                    for m in metrics:
                        m.update(output, y)
        finally:
            self.model.train(was_training)
        result = {"loss": losses.compute(), **{m.name: m.compute() for m in metrics}}
        self._call("on_validation_end", result)
        return result

    def predict(self, loader) -> Tensor:
        """The model's outputs for every batch (an input, or an (input,
        target) pair whose target is ignored), concatenated along dim 0."""
        outputs = []
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                for batch in loader:
                    x = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outputs.append(self.model(x))
        finally:
            self.model.train(was_training)
        if not outputs:
            raise ValueError("Trainer.predict: the loader yielded no batches")
        return cat(outputs, 0)

    # ---- resumable state ------------------------------------------------------------
    def _callback_keys(self) -> list:
        keys, seen = [], {}
        for c in self.callbacks:
            name = type(c).__name__
            seen[name] = seen.get(name, 0) + 1
            keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
        return keys

    def state_dict(self) -> dict:
        """Everything fit needs to continue a run exactly: model, optimizer,
        scheduler, epochs done, optimizer steps, best metric, history, the
        callbacks' state and the default generator (shuffling, dropout).
        Tensors share storage with the model (as Module.state_dict); save it
        with tinyfin.save."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "history": [dict(r) for r in self.history],
            "callbacks": {k: state for k, state in zip(self._callback_keys(),
                                                         (c.state_dict() for c in self.callbacks))
                          if state},
            "rng_state": list(get_rng_state()),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        missing = {"model", "optimizer", "scheduler", "epoch", "global_step", "best_metric",
                   "history", "callbacks", "rng_state"} - set(state_dict)
        if missing:
            raise KeyError(f"Trainer.load_state_dict: missing keys {sorted(missing)}")
        if (state_dict["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("Trainer.load_state_dict: the state has "
                             f"{'no' if state_dict['scheduler'] is None else 'a'} scheduler, "
                             f"this trainer {'has' if self.scheduler is not None else 'has none'}")
        self.model.load_state_dict(state_dict["model"])
        self.optimizer.load_state_dict(state_dict["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state_dict["scheduler"])
        self.epoch = int(state_dict["epoch"])
        self.global_step = int(state_dict["global_step"])
        best = state_dict["best_metric"]
        self.best_metric = None if best is None else float(best)
        self.history = [dict(r) for r in state_dict["history"]]
        states = state_dict["callbacks"]
        for k, c in zip(self._callback_keys(), self.callbacks):
            if k in states:
                c.load_state_dict(states[k])
        set_rng_state(tuple(int(v) for v in state_dict["rng_state"]))
