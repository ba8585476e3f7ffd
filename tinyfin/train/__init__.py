"""tinyfin.train: a small Trainer over the plain PyTorch loop, its callbacks
(progress bar, CSV / JSON-lines logs, checkpoints, early stopping, learning
rate monitor, curve plots) and metrics (accuracy, top-k accuracy, mean loss).
"""
from .callbacks import (Callback, CSVLogger, EarlyStopping, JSONLinesLogger,
                        LearningRateMonitor, ModelCheckpoint, PlotCurves, ProgressBar)
from .metrics import Accuracy, MeanLoss, Metric, TopKAccuracy
from .trainer import Trainer

__all__ = ["Trainer", "Callback", "ProgressBar", "CSVLogger", "JSONLinesLogger",
           "ModelCheckpoint", "EarlyStopping", "LearningRateMonitor", "PlotCurves",
           "Metric", "Accuracy", "TopKAccuracy", "MeanLoss"]
