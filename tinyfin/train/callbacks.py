"""Callbacks for tinyfin.train.Trainer: code that runs at fixed points of the
fit loop (see Trainer.fit for where each hook is called).

Every hook gets the trainer first; a callback reads what it needs from it
(trainer.model, .optimizer, .history, .epoch, .global_step) and may set
trainer.should_stop. A callback with state that a resumed run needs
(EarlyStopping's patience count, ModelCheckpoint's best score) returns it
from state_dict(); Trainer.state_dict() collects those.

matplotlib (PlotCurves) is optional: it is imported when that callback is
made, with a clear ImportError when it is missing.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from typing import Optional

from tqdm import tqdm

from .._atomic import atomic_write
from ..serialization import save

_MODES = ("min", "max")


def _load_matplotlib_figure():
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("PlotCurves needs matplotlib (pip install matplotlib, or "
                          "tinyfin's dev extras)") from e
    return Figure


def _check_mode(op: str, mode: str) -> str:
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be 'min' or 'max', got {mode!r}")
    return mode


def improved(value: float, best: Optional[float], mode: str, min_delta: float = 0.0) -> bool:
    """Whether value beats best by more than min_delta (NaN never does)."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def monitored(op: str, logs: dict, monitor: str) -> float:
    if monitor not in logs:
        raise ValueError(f"{op}: monitor={monitor!r} is not in this epoch's logs; "
                         f"they hold {sorted(logs)} (val_* keys need a val_loader)")
    return float(logs[monitor])


class Callback:
    """The hooks, all no-ops. `logs` in on_batch_end holds the batch's "loss"
    and "batch_size"; in on_epoch_end it is the epoch's record (the dict
    appended to trainer.history)."""

    def on_train_start(self, trainer) -> None: ...
    def on_train_end(self, trainer) -> None: ...
    def on_epoch_start(self, trainer, epoch: int) -> None: ...
    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...
    def on_batch_start(self, trainer, batch_idx: int, batch) -> None: ...
    def on_batch_end(self, trainer, batch_idx: int, logs: dict) -> None: ...
    def on_validation_end(self, trainer, metrics: dict) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        pass


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running mean loss and samples/s in its
    postfix, and the epoch's validation metrics when it closes. disable=None
    (tqdm's default) turns it off when `file` is not a terminal."""

    def __init__(self, file=None, disable: Optional[bool] = None, leave: bool = True,
                 mininterval: float = 0.1) -> None:
        self.file, self.disable, self.leave, self.mininterval = file, disable, leave, mininterval
        self.bar = None

    def on_epoch_start(self, trainer, epoch: int) -> None:
        try:
            total = len(trainer.train_loader)
        except TypeError:  # an iterable without a length
            total = None
        self.bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{trainer.epochs}",
                        unit="batch", file=self.file if self.file is not None else sys.stderr,
                        disable=self.disable, leave=self.leave,
                        mininterval=self.mininterval, dynamic_ncols=True)
        self.samples, self.loss_sum, self.start = 0, 0.0, time.perf_counter()

    def _rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.samples / elapsed if elapsed > 0 else 0.0

    def on_batch_end(self, trainer, batch_idx: int, logs: dict) -> None:
        self.samples += logs["batch_size"]
        self.loss_sum += logs["loss"] * logs["batch_size"]
        self.bar.set_postfix({"loss": f"{self.loss_sum / self.samples:.4g}",
                              "samples/s": f"{self._rate():.0f}"}, refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        postfix = {"loss": f"{logs['loss']:.4g}", "samples/s": f"{self._rate():.0f}"}
        postfix.update({k: f"{v:.4g}" for k, v in logs.items() if k.startswith("val_")})
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.close()
        self.bar = None

    def on_train_end(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _HistoryFile(Callback):
    """Writes trainer.history to `filename` after every epoch. The whole file
    is rewritten atomically from the history (which Trainer.state_dict keeps),
    so a resumed run continues it without duplicated or lost rows and a
    crash never leaves a torn line."""

    def __init__(self, filename: str) -> None:
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"{type(self).__name__}: filename must be a path, got "
                            f"{type(filename).__name__}")
        self.filename = os.fspath(filename)

    def render(self, history: list) -> str:
        raise NotImplementedError

    def _write(self, history: list) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.filename)), exist_ok=True)
        atomic_write(self.filename, lambda f: f.write(self.render(history).encode()))

    def on_train_start(self, trainer) -> None:
        if trainer.history:  # a resumed run: the rows so far
            self._write(trainer.history)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self._write(trainer.history)


class CSVLogger(_HistoryFile):
    """One row per epoch: epoch, step, loss, the metrics, the val_ metrics,
    lr, seconds (and whatever callbacks add). The columns are every key of
    the history in order of first appearance; a key an epoch lacks is empty."""

    def render(self, history: list) -> str:
        columns = list(dict.fromkeys(k for record in history for k in record))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for record in history:
            writer.writerow({k: repr(v) if isinstance(v, float) else v
                             for k, v in record.items()})
        return out.getvalue()


class JSONLinesLogger(_HistoryFile):
    """One JSON object per line and epoch, the history's record as it is.
    JSON has no NaN or infinity: those are written as null."""

    def render(self, history: list) -> str:
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v
        return "".join(json.dumps({k: clean(v) for k, v in record.items()}) + "\n"
                       for record in history)


class ModelCheckpoint(Callback):
    """Saves trainer.state_dict() with tinyfin.save (an atomic write) to
    dirpath/last.safetensors after every epoch (save_last) and to
    dirpath/best.safetensors whenever `monitor` improves (mode 'min' or
    'max'; monitor=None: no best file). Trainer runs ModelCheckpoint after the
    other callbacks, so the saved state includes what they did this epoch."""

    def __init__(self, dirpath: str, monitor: Optional[str] = "val_loss", mode: str = "min",
                 save_last: bool = True) -> None:
        self.dirpath = os.fspath(dirpath)
        self.monitor, self.mode = monitor, _check_mode("ModelCheckpoint", mode)
        self.save_last = save_last
        self.last_path = os.path.join(self.dirpath, "last.safetensors")
        self.best_path = os.path.join(self.dirpath, "best.safetensors")
        self.best_score: Optional[float] = None
        self.best_epoch: Optional[int] = None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        os.makedirs(self.dirpath, exist_ok=True)
        is_best = False
        if self.monitor is not None:
            value = monitored("ModelCheckpoint", logs, self.monitor)
            if improved(value, self.best_score, self.mode):
                self.best_score, self.best_epoch, is_best = value, epoch, True
        if self.save_last or is_best:
            state = trainer.state_dict()  # after best_score changed: it is in there
            if self.save_last:
                save(state, self.last_path)
            if is_best:
                save(state, self.best_path)

    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_score, self.best_epoch = state_dict["best_score"], state_dict["best_epoch"]


class EarlyStopping(Callback):
    """Stops fit when `monitor` has not improved by more than min_delta for
    `patience` epochs in a row (mode 'min': lower is better, 'max': higher).
    NaN never counts as an improvement."""

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 3,
                 min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got "
                             f"{patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        self.monitor, self.mode = monitor, _check_mode("EarlyStopping", mode)
        self.patience, self.min_delta = patience, float(min_delta)
        self.best_score: Optional[float] = None
        self.wait = 0
        self.stopped_epoch: Optional[int] = None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        value = monitored("EarlyStopping", logs, self.monitor)
        if improved(value, self.best_score, self.mode, self.min_delta):
            self.best_score, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.should_stop = True

    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_score, self.wait = state_dict["best_score"], state_dict["wait"]
        self.stopped_epoch = state_dict["stopped_epoch"]


class LearningRateMonitor(Callback):
    """Logs each param group's learning rate at the start of the epoch as
    lr-group0, lr-group1, ... in the epoch's record."""

    def on_epoch_start(self, trainer, epoch: int) -> None:
        for i, group in enumerate(trainer.optimizer.param_groups):
            trainer.log(f"lr-group{i}", float(group["lr"]))


class PlotCurves(Callback):
    """After every epoch, draws the history's curves to a PNG: the train and
    validation loss, each metric with its val_ twin, and the learning rate.
    filename=None puts curves.png beside the log: in the Trainer's log_dir,
    else in the folder of its first CSVLogger / JSONLinesLogger. Drawn on a
    matplotlib Figure of its own (the Agg renderer), so pyplot's state and
    the user's backend are left alone."""

    _SKIP = ("epoch", "step", "seconds")

    def __init__(self, filename: Optional[str] = None) -> None:
        self._Figure = _load_matplotlib_figure()
        self.filename = None if filename is None else os.fspath(filename)
        self.path: Optional[str] = self.filename

    def on_train_start(self, trainer) -> None:
        if self.filename is not None:
            return
        if trainer.log_dir is not None:
            folder = trainer.log_dir
        else:
            logs = [c for c in trainer.callbacks if isinstance(c, _HistoryFile)]
            if not logs:
                raise ValueError("PlotCurves: no log to write beside; pass filename= or give "
                                 "the Trainer a log_dir or a CSVLogger / JSONLinesLogger")
            folder = os.path.dirname(os.path.abspath(logs[0].filename))
        self.path = os.path.join(folder, "curves.png")

    def _panels(self, history: list) -> list:
        keys = list(dict.fromkeys(k for record in history for k in record))
        panels = []
        for k in keys:
            if k in self._SKIP or k.startswith("val_") or k.startswith("lr"):
                continue
            panels.append((k, [k] + ([f"val_{k}"] if f"val_{k}" in keys else []), False))
        lrs = [k for k in keys if k == "lr" or k.startswith("lr-group")]
        if lrs:
            panels.append(("learning rate", lrs, True))
        return panels

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        history = trainer.history
        panels = self._panels(history)
        fig = self._Figure(figsize=(4.0 * len(panels), 3.2), layout="constrained")
        for i, (title, keys, log_scale) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            for k in keys:
                points = [(r["epoch"] + 1, r[k]) for r in history if k in r]
                ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=k)
            if log_scale and all(r[k] > 0 for k in keys for r in history if k in r):
                ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.legend()
        atomic_write(self.path, lambda f: fig.savefig(f, format="png", dpi=100))
