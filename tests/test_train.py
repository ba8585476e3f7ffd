"""tinyfin.train: the Trainer is the plain loop (bitwise), its metrics match
NumPy, and its callbacks (early stopping, checkpoints, logs, curves, the
progress bar, resuming) do what they say.

The model is a small MLP on three separable Gaussian clusters; the data are
plain lists of (x, y) batches (a DataLoader is just such an iterable), the
last batch smaller than the others.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import tinyfin
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.nn.utils import clip_grad_norm_
from tinyfin.optim.lr_scheduler import ExponentialLR, LambdaLR, ReduceLROnPlateau, StepLR
from tinyfin.train import (Accuracy, Callback, CSVLogger, EarlyStopping, JSONLinesLogger,
                           LearningRateMonitor, MeanLoss, ModelCheckpoint, PlotCurves,
                           ProgressBar, TopKAccuracy, Trainer)
from tinyfin.utils.data import DataLoader, TensorDataset

C, D, N, BATCH = 3, 4, 90, 20   # classes, features, samples, batch (last batch: 10)


def SGD(params, lr=0.1, momentum=0.9):
    return tinyfin.optim.SGD(params, lr=lr, momentum=momentum)


def make_data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(C, D))
    y = rng.integers(0, C, size=n)
    x = (centers[y] + rng.normal(0, 1, size=(n, D))).astype(np.float32)
    return x, y


def batches(x, y, size=BATCH):
    return [(tinyfin.tensor(x[i:i + size]), tinyfin.tensor(y[i:i + size]))
            for i in range(0, len(x), size)]


def make_model(seed=1, dropout=0.0):
    tinyfin.manual_seed(seed)
    layers = [nn.Linear(D, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(16, C))


def params_np(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def assert_bitwise(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.shape == v.shape
        assert np.array_equal(u.view(np.uint8), v.view(np.uint8))


def without_seconds(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


# ---- the Trainer is the plain loop ------------------------------------------------
def plain_loop(model, opt, data, epochs, k=1, clip=None, sched=None):
    """The loop a user writes by hand (the accumulation idiom for k > 1)."""
    steps = 0
    for _ in range(epochs):
        model.train()
        if k == 1:
            for x, y in data:
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                if clip is not None:
                    clip_grad_norm_(model.parameters(), clip)
                opt.step()
                steps += 1
                if sched is not None:
                    sched.step()
            continue
        opt.zero_grad()
        for i, (x, y) in enumerate(data):
            loss = F.cross_entropy(model(x), y) / k
            loss.backward()
            if (i + 1) % k == 0 or i + 1 == len(data):
                if clip is not None:
                    clip_grad_norm_(model.parameters(), clip)
                opt.step()
                steps += 1
                if sched is not None:
                    sched.step()
                opt.zero_grad()
    return steps


CONFIGS = {
    "plain": dict(k=1, clip=None, sched=False),
    "accumulate3": dict(k=3, clip=None, sched=False),       # 5 batches: groups 3 + 2
    "clip": dict(k=1, clip=0.25, sched=False),
    "accumulate2-clip-step-scheduler": dict(k=2, clip=0.25, sched=True),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fit_is_the_plain_loop_bitwise(name):
    cfg = CONFIGS[name]
    x, y = make_data()
    data, epochs = batches(x, y), 3
    runs = []
    for use_trainer in (False, True):
        model = make_model()
        opt = SGD(model.parameters(), lr=0.05)
        sched = LambdaLR(opt, lambda s: 0.97 ** s) if cfg["sched"] else None
        if use_trainer:
            trainer = Trainer(model, F.cross_entropy, opt, scheduler=sched,
                              scheduler_interval="step", grad_accum_steps=cfg["k"],
                              clip_grad_norm=cfg["clip"], progress=False)
            trainer.fit(data, epochs)
            steps = trainer.global_step
            assert [r["step"] for r in trainer.history] == [steps // epochs * (e + 1)
                                                           for e in range(epochs)]
        else:
            steps = plain_loop(model, opt, data, epochs, cfg["k"], cfg["clip"], sched)
        runs.append((params_np(model), steps, [g["lr"] for g in opt.param_groups]))
    assert runs[0][1] == runs[1][1] == epochs * math.ceil(len(data) / cfg["k"])
    assert runs[0][2] == runs[1][2]
    assert_bitwise(runs[0][0], runs[1][0])


def test_accumulation_and_clipping_change_the_run():
    """The options above are not no-ops: each run differs from the plain one
    (else the bitwise test would pass for a Trainer that ignored them)."""
    x, y = make_data()
    data = batches(x, y)
    finals = {}
    for name, cfg in CONFIGS.items():
        model = make_model()
        opt = SGD(model.parameters(), lr=0.05)
        Trainer(model, F.cross_entropy, opt, grad_accum_steps=cfg["k"],
                clip_grad_norm=cfg["clip"], progress=False).fit(data, 1)
        finals[name] = params_np(model)
    for name in ("accumulate3", "clip"):
        assert not all(np.array_equal(a, b) for a, b in zip(finals["plain"], finals[name])), name


def test_accumulation_steps_per_group_with_averaged_gradient():
    """k=2 over batches of equal size: each step's gradient is the mean of the
    two batches' gradients, i.e. that of their concatenation (to rounding)."""
    x, y = make_data(n=80)
    model_a, model_b = make_model(), make_model()
    opt_a, opt_b = SGD(model_a.parameters(), 0.1, 0.0), SGD(model_b.parameters(), 0.1, 0.0)
    Trainer(model_a, F.cross_entropy, opt_a, grad_accum_steps=2, progress=False).fit(
        batches(x, y, 20), 2)
    Trainer(model_b, F.cross_entropy, opt_b, progress=False).fit(batches(x, y, 40), 2)
    for a, b in zip(params_np(model_a), params_np(model_b)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---- metrics -------------------------------------------------------------------------
def reference_topk(scores, labels, k):
    """Top-k by a stable descending sort (lower index first among ties)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(order == labels[:, None], axis=1)))


def test_topk_accuracy_vs_numpy_with_ties_and_uneven_batches():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(101, 6)).astype(np.float32)  # many ties
    labels = rng.integers(0, 6, size=101)
    for k in range(1, 7):
        m = Accuracy() if k == 1 else TopKAccuracy(k)
        for lo, hi in ((0, 7), (7, 60), (60, 61), (61, 101)):
            m.update(tinyfin.tensor(scores[lo:hi]), tinyfin.tensor(labels[lo:hi]))
        assert m.compute() == reference_topk(scores, labels, k), k
        assert m.total == 101
    m.reset()
    assert math.isnan(m.compute())
    # k=1 is argmax (the first maximum), as tinyfin.argmax / torch.argmax
    am = tinyfin.argmax(tinyfin.tensor(scores), dim=1).numpy()
    acc = Accuracy()
    acc.update(scores, labels)
    assert acc.compute() == float(np.mean(am == labels))
    assert TopKAccuracy(3).name == "top3_accuracy" and Accuracy().name == "accuracy"


def test_topk_nan_ranks_first():
    scores = np.array([[np.nan, 1.0, 2.0], [0.0, np.nan, 5.0], [np.nan, np.nan, 0.0]])
    labels = np.array([0, 2, 1])
    m = Accuracy()
    m.update(scores, labels)  # row 0: NaN is the max; row 1: NaN beats 5; row 2: first NaN
    assert m.correct == 1
    m2 = TopKAccuracy(2)
    m2.update(scores, labels)
    assert m2.correct == 3


def test_mean_loss_is_sample_weighted():
    rng = np.random.default_rng(4)
    losses, sizes = rng.random(7), rng.integers(1, 50, size=7)
    m = MeanLoss()
    for i, (loss, n) in enumerate(zip(losses, sizes)):  # a 0-d float64 tensor or a float
        m.update(tinyfin.tensor(loss, dtype=tinyfin.float64) if i % 2 else float(loss), int(n))
    np.testing.assert_allclose(m.compute(), np.average(losses, weights=sizes), rtol=1e-14)
    assert m.compute() != pytest.approx(float(np.mean(losses)))


def test_metric_errors():
    with pytest.raises(ValueError, match="k=4 is more than the 3 classes"):
        TopKAccuracy(4).update(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"target must be \(N,\)"):
        Accuracy().update(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"output must be \(N, C\)"):
        Accuracy().update(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(IndexError, match=r"in \[0, 3\)"):
        Accuracy().update(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        Accuracy().update(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="positive int"):
        TopKAccuracy(0)


def test_evaluate_and_predict_vs_numpy():
    x, y = make_data(seed=5, n=77)
    model = make_model(dropout=0.5)  # eval mode must switch dropout off
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters()),
                      metrics=[Accuracy(), TopKAccuracy(2)], progress=False)
    model.train()
    result = trainer.evaluate(batches(x, y, 20))
    assert model.training  # the mode is restored
    assert all(p.grad is None for p in model.parameters())
    w1, b1, w2, b2 = (p.astype(np.float64) for p in params_np(model))
    logits = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    nll = numpy_cross_entropy(logits, y)
    assert set(result) == {"loss", "accuracy", "top2_accuracy"}
    np.testing.assert_allclose(result["loss"], nll.mean(), rtol=1e-5)
    assert result["accuracy"] == reference_topk(logits, y, 1)
    assert result["top2_accuracy"] == reference_topk(logits, y, 2)
    pred = trainer.predict(batches(x, y, 20))
    assert pred.shape == (77, C) and not pred.requires_grad
    np.testing.assert_allclose(pred.numpy(), logits, rtol=1e-4, atol=1e-5)
    only_x = [tinyfin.tensor(x[i:i + 30]) for i in range(0, 77, 30)]
    assert np.array_equal(trainer.predict(only_x).numpy(), pred.numpy())


class Modes(Callback):
    """Records the model's mode and grad mode in each batch and after fit."""

    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, batch_idx, logs):
        self.seen.append((trainer.model.training, tinyfin.is_grad_enabled()))


def numpy_cross_entropy(logits, labels):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(1, keepdims=True)
    return -(shifted[np.arange(len(labels)), labels] - np.log(np.exp(shifted).sum(1)))


def test_fit_trains_in_train_mode_and_validates_in_eval_mode():
    """Forward passes in train mode with gradients, validation in eval mode
    without; the epoch's train loss and accuracy are those of the outputs the
    model gave during the epoch (recomputed here in NumPy)."""
    x, y = make_data()
    model = make_model()
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(
        (m.training, tinyfin.is_grad_enabled(), o.detach().numpy().copy())))
    modes = Modes()
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
                      metrics=[Accuracy()], callbacks=[modes], progress=False)
    model.eval()
    epochs, val = 4, batches(x[:30], y[:30])
    history = trainer.fit(batches(x, y), epochs, val_loader=val)
    assert [s[:2] for s in seen] == ([(True, True)] * 5 + [(False, False)] * 2) * epochs
    assert modes.seen == [(True, True)] * 5 * epochs
    assert [r["epoch"] for r in history] == list(range(epochs))
    for e, record in enumerate(history):
        train_out = np.concatenate([s[2] for s in seen[7 * e:7 * e + 5]])
        val_out = np.concatenate([s[2] for s in seen[7 * e + 5:7 * e + 7]])
        assert record["accuracy"] == reference_topk(train_out, y, 1)
        assert record["val_accuracy"] == reference_topk(val_out, y[:30], 1)
        np.testing.assert_allclose(record["loss"], numpy_cross_entropy(train_out, y).mean(),
                                   rtol=1e-5)
        np.testing.assert_allclose(record["val_loss"],
                                   numpy_cross_entropy(val_out, y[:30]).mean(), rtol=1e-5)
    assert history[-1]["accuracy"] > 0.9 and history[-1]["val_accuracy"] > 0.9
    assert history[-1]["val_loss"] == trainer.evaluate(val)["loss"]
    assert list(history[0])[:5] == ["epoch", "step", "loss", "accuracy", "val_loss"]


# ---- callbacks -----------------------------------------------------------------------
class Scripted(Callback):
    """Logs a scripted value per epoch under `name` (a stand-in validation
    metric whose course the test chooses)."""

    def __init__(self, values, name="score"):
        self.values, self.name = values, name

    def on_epoch_start(self, trainer, epoch):
        trainer.log(self.name, self.values[epoch])


@pytest.mark.parametrize("mode,values,patience,min_delta,stops_after", [
    ("min", [5, 4, 4.5, 3, 3.2, 3.1, 2.9, 1, 1, 1], 2, 0.0, 6),     # best at 3: 3.2, 3.1 wait
    ("min", [5, 4, 4.5, 3, 3.2, 3.1, 2.9, 1, 1, 1], 3, 0.0, 10),    # 2.9 comes in time
    ("min", [5, 4, 3.95, 3.9, 3.0, 3, 3, 3, 3, 3], 2, 0.1, 4),      # 3.95, 3.9 not by > 0.1
    ("max", [1, 2, 2, 3, 3, 3, 3, 3, 3, 3], 1, 0.0, 3),             # stops at the first tie
    ("max", [1, math.nan, math.nan, 5, 5, 5, 5, 5, 5, 5], 2, 0.0, 3),  # NaN never improves
])
def test_early_stopping_stops_at_the_right_epoch(mode, values, patience, min_delta, stops_after):
    x, y = make_data()
    model = make_model()
    stop = EarlyStopping(monitor="score", mode=mode, patience=patience, min_delta=min_delta)
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
                      callbacks=[Scripted(values), stop], progress=False)
    history = trainer.fit(batches(x, y), 10)
    assert len(history) == stops_after
    assert stop.stopped_epoch == (stops_after - 1 if stops_after < 10 else None)
    assert [r["score"] for r in history] == pytest.approx(values[:stops_after], nan_ok=True)


def test_checkpoint_last_and_best_load_and_match(tmp_path):
    x, y = make_data()
    model = make_model()
    scores = [0.2, 0.5, 0.4, 0.7, 0.6]   # best at epoch 3
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(params_np(trainer.model))

    ckpt = ModelCheckpoint(tmp_path / "ckpt", monitor="score", mode="max")
    # the checkpoint is listed first but runs last, after Snapshot
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
                      callbacks=[ckpt, Scripted(scores), Snapshot()], progress=False)
    trainer.fit(batches(x, y), 5)
    assert isinstance(trainer.callbacks[-1], ModelCheckpoint)
    assert ckpt.best_score == 0.7 and ckpt.best_epoch == 3
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["best.safetensors", "last.safetensors"]
    for path, epoch in ((ckpt.last_path, 4), (ckpt.best_path, 3)):
        state = tinyfin.load(path)
        assert state["epoch"] == epoch + 1 and state["best_metric"] is None
        assert state["global_step"] == 5 * (epoch + 1)
        assert without_seconds(state["history"]) == without_seconds(trainer.history[:epoch + 1])
        assert state["callbacks"]["ModelCheckpoint"]["best_epoch"] == (3 if epoch >= 3 else 1)
        fresh = make_model(seed=9)
        fresh.load_state_dict(state["model"])
        assert_bitwise(params_np(fresh), snapshots[epoch])


class ShuffledBatches:
    """Batches in an order drawn each epoch from the default generator (as a
    DataLoader(shuffle=True) without a generator does)."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return math.ceil(len(self.x) / self.size)

    def __iter__(self):
        order = np.argsort(tinyfin.rand(len(self.x)).numpy(), kind="stable")
        return iter(batches(self.x[order], self.y[order], self.size))


def shuffling_dataloader(x, y, size):
    """A DataLoader(shuffle=True) without a generator: its order comes from
    the default generator, which Trainer.state_dict keeps."""
    return DataLoader(TensorDataset(tinyfin.tensor(x), tinyfin.tensor(y)), batch_size=size,
                      shuffle=True)


@pytest.mark.parametrize("loader", [ShuffledBatches, shuffling_dataloader])
def test_resume_from_state_dict_reproduces_the_run_bitwise(tmp_path, loader):
    x, y = make_data()
    xv, yv = make_data(seed=7, n=40)

    def setup():
        model = make_model(dropout=0.2)   # dropout draws from the default generator
        opt = SGD(model.parameters(), 0.05)
        trainer = Trainer(model, F.cross_entropy, opt, scheduler=StepLR(opt, step_size=3, gamma=0.5),
                          metrics=[Accuracy()], grad_accum_steps=2, clip_grad_norm=1.0,
                          callbacks=[EarlyStopping(patience=100),
                                     ModelCheckpoint(tmp_path / "ckpt")],
                          progress=False)
        return model, opt, trainer

    tinyfin.manual_seed(123)
    model, opt, trainer = setup()
    trainer.fit(loader(x, y, 16), 4, val_loader=batches(xv, yv))
    full = (params_np(model), without_seconds(trainer.history), trainer.state_dict())

    tinyfin.manual_seed(123)
    model, opt, trainer = setup()
    trainer.fit(loader(x, y, 16), 2, val_loader=batches(xv, yv))
    tinyfin.save(trainer.state_dict(), tmp_path / "mid.safetensors")
    tinyfin.rand(1000)                  # the generator moves on; the state restores it
    model, opt, trainer = setup()
    trainer.load_state_dict(tinyfin.load(tmp_path / "mid.safetensors"))
    # StepLR(step_size=3) halves after the third epoch: only its own last_epoch knows when
    assert trainer.epoch == 2 and trainer.scheduler.last_epoch == 2
    assert opt.param_groups[0]["lr"] == 0.05
    trainer.fit(loader(x, y, 16), 4, val_loader=batches(xv, yv))

    assert_bitwise(params_np(model), full[0])
    assert without_seconds(trainer.history) == full[1]
    assert [r["lr"] for r in full[1]] == [0.05, 0.05, 0.05, 0.025]
    resumed = trainer.state_dict()
    assert resumed["global_step"] == full[2]["global_step"] == 4 * 3
    assert resumed["callbacks"] == full[2]["callbacks"]
    assert resumed["rng_state"] == full[2]["rng_state"]
    assert resumed["best_metric"] == full[2]["best_metric"] == min(r["val_loss"] for r in full[1])
    assert_bitwise([s["momentum_buffer"].numpy() for s in resumed["optimizer"]["state"].values()],
                   [s["momentum_buffer"].numpy() for s in full[2]["optimizer"]["state"].values()])


def test_csv_and_jsonl_rows_match_history(tmp_path):
    x, y = make_data()
    model = make_model()
    opt = SGD(model.parameters(), 0.05)
    trainer = Trainer(model, F.cross_entropy, opt, scheduler=ExponentialLR(opt, 0.5),
                      metrics=[Accuracy()], callbacks=[LearningRateMonitor()],
                      log_dir=tmp_path / "logs", progress=False)
    history = trainer.fit(batches(x, y), 3, val_loader=batches(x[:40], y[:40]))
    columns = ["epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
               "lr-group0", "seconds"]
    assert list(history[0]) == columns
    assert [r["lr"] for r in history] == [0.05, 0.025, 0.0125] == [r["lr-group0"] for r in history]
    with open(tmp_path / "logs" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and list(rows[0]) == columns
    for row, record in zip(rows, history):
        assert {k: type(record[k])(v) for k, v in row.items()} == record
    with open(tmp_path / "logs" / "metrics.jsonl") as f:
        lines = [json.loads(line) for line in f]
    assert lines == history
    # a resumed trainer keeps the rows it had and goes on
    state = trainer.state_dict()
    model2 = make_model()
    opt2 = SGD(model2.parameters(), 0.05)
    t2 = Trainer(model2, F.cross_entropy, opt2, scheduler=ExponentialLR(opt2, 0.5),
                 metrics=[Accuracy()], callbacks=[LearningRateMonitor()],
                 log_dir=tmp_path / "logs", progress=False)
    t2.load_state_dict(state)
    t2.fit(batches(x, y), 4, val_loader=batches(x[:40], y[:40]))
    with open(tmp_path / "logs" / "metrics.jsonl") as f:
        lines = [json.loads(line) for line in f]
    assert [r["epoch"] for r in lines] == [0, 1, 2, 3] and lines[:3] == history


def test_logs_write_non_finite_values(tmp_path):
    """JSON has no NaN: JSONLinesLogger writes null; the CSV keeps 'nan'."""
    x, y = make_data()
    model = make_model()
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
                      callbacks=[Scripted([1.5, math.nan, math.inf]),
                                 JSONLinesLogger(tmp_path / "a" / "run.jsonl"),
                                 CSVLogger(tmp_path / "b" / "run.csv")],
                      log_dir=tmp_path / "unused", progress=False)
    trainer.fit(batches(x, y), 3)
    assert not os.path.exists(tmp_path / "unused")  # own loggers replace log_dir's
    with open(tmp_path / "a" / "run.jsonl") as f:
        assert [json.loads(line)["score"] for line in f] == [1.5, None, None]
    with open(tmp_path / "b" / "run.csv") as f:
        assert [row["score"] for row in csv.DictReader(f)] == ["1.5", "nan", "inf"]


def test_learning_rate_monitor_logs_every_group():
    x, y = make_data()
    model = make_model()
    opt = SGD(model[0].parameters(), 0.1)
    opt.add_param_group({"params": list(model[2].parameters()), "lr": 0.01, "momentum": 0.0})
    trainer = Trainer(model, F.cross_entropy, opt, scheduler=ExponentialLR(opt, 0.5),
                      callbacks=[LearningRateMonitor()], progress=False)
    history = trainer.fit(batches(x, y), 3)
    assert [(r["lr-group0"], r["lr-group1"]) for r in history] == [
        (0.1, 0.01), (0.05, 0.005), (0.025, 0.0025)]
    # with a per-step scheduler: the lr each epoch started with (5 steps per epoch)
    opt = SGD(model.parameters(), 0.1)
    trainer = Trainer(model, F.cross_entropy, opt, scheduler=LambdaLR(opt, lambda s: 0.9 ** s),
                      scheduler_interval="step", callbacks=[LearningRateMonitor()], progress=False)
    history = trainer.fit(batches(x, y), 3)
    assert [r["lr"] for r in history] == [0.1, 0.1 * 0.9 ** 5, 0.1 * 0.9 ** 10]
    assert [r["lr-group0"] for r in history] == [r["lr"] for r in history]


def test_reduce_lr_on_plateau_steps_on_the_monitored_metric():
    x, y = make_data()
    model = make_model()
    opt = SGD(model.parameters(), 0.1)
    scores = [3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.5, 1.5]
    trainer = Trainer(model, F.cross_entropy, opt,
                      scheduler=ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1),
                      monitor="score", callbacks=[Scripted(scores)], progress=False)
    history = trainer.fit(batches(x, y), 8)
    # bad epochs after the best 2.0: 2.5 (1), 2.5 (2 > patience: halve, reset), 2.5 (1), ...
    assert [r["lr"] for r in history] == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)
    assert trainer.best_metric == 1.0


def test_plot_curves_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = make_data()
    model = make_model()
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
                      metrics=[Accuracy()], callbacks=[CSVLogger(tmp_path / "run" / "log.csv"),
                                                       PlotCurves()], progress=False)
    trainer.fit(batches(x, y), 2, val_loader=batches(x[:40], y[:40]))
    with open(tmp_path / "run" / "curves.png", "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR" and png[-8:-4] == b"IEND"
    # three panels (loss, accuracy, learning rate), 4 inches each at 100 dpi
    assert int.from_bytes(png[16:20], "big") == 1200
    assert sorted(os.listdir(tmp_path / "run")) == ["curves.png", "log.csv"]  # no temp files


def test_without_matplotlib_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="PlotCurves needs matplotlib"):
        PlotCurves()


def test_progress_bar_shows_loss_and_throughput():
    x, y = make_data()
    model = make_model()
    out = io.StringIO()
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
                      callbacks=[ProgressBar(file=out, disable=False, mininterval=0)],
                      progress=True)
    assert sum(isinstance(c, ProgressBar) for c in trainer.callbacks) == 1
    history = trainer.fit(batches(x, y), 2, val_loader=batches(x[:40], y[:40]))
    text = out.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "5/5" in text
    lines = text.replace("\n", "\r").split("\r")
    mid = [l for l in lines if "3/5" in l]   # the bar after the third batch
    assert mid and all("loss=" in l and "samples/s=" in l for l in mid)
    final = text.rstrip().split("\r")[-1]
    assert f"loss={history[-1]['loss']:.4g}" in final
    assert f"val_loss={history[-1]['val_loss']:.4g}" in final


def test_progress_bar_off_when_not_a_terminal():
    x, y = make_data()
    out = io.StringIO()   # not a TTY: tqdm's disable=None turns the bar off
    model = make_model()
    Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
            callbacks=[ProgressBar(file=out)]).fit(batches(x, y), 1)
    assert out.getvalue() == ""
    trainer = Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05), progress=False)
    assert not any(isinstance(c, ProgressBar) for c in trainer.callbacks)


def test_trainer_errors():
    model = make_model()
    opt = SGD(model.parameters())
    with pytest.raises(ValueError, match="grad_accum_steps must be a positive int"):
        Trainer(model, F.cross_entropy, opt, grad_accum_steps=0)
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch' or 'step'"):
        Trainer(model, F.cross_entropy, opt, scheduler_interval="batch")
    with pytest.raises(ValueError, match="ReduceLROnPlateau steps once per epoch"):
        Trainer(model, F.cross_entropy, opt, scheduler=ReduceLROnPlateau(opt),
                scheduler_interval="step")
    with pytest.raises(ValueError, match="needs a val_loader"):
        Trainer(model, F.cross_entropy, opt, scheduler=ReduceLROnPlateau(opt),
                progress=False).fit([], 1)
    with pytest.raises(ValueError, match="distinct and not 'loss'"):
        Trainer(model, F.cross_entropy, opt, metrics=[Accuracy(), TopKAccuracy(1)])
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        EarlyStopping(mode="lowest")
    x = tinyfin.zeros(2, D)
    with pytest.raises(TypeError, match=r"each batch must be an \(input, target\) pair, got a "
                                        r"tuple of length 3"):
        Trainer(model, F.cross_entropy, opt, progress=False).fit([(x, x, x)], 1)
    trainer = Trainer(model, F.cross_entropy, opt, progress=False,
                      callbacks=[EarlyStopping(monitor="val_accuracy")])
    with pytest.raises(ValueError, match=r"monitor='val_accuracy' is not in this epoch's logs"):
        trainer.fit([(x, tinyfin.tensor([0, 1]))], 1)


class Unsized:
    """An iterable without a length (a generator-backed stream)."""

    def __init__(self, data):
        self.data = data

    def __iter__(self):
        yield from self.data


def test_progress_bar_without_a_length():
    x, y = make_data()
    model = make_model()
    out = io.StringIO()
    Trainer(model, F.cross_entropy, SGD(model.parameters(), 0.05),
            callbacks=[ProgressBar(file=out, disable=False, mininterval=0)]).fit(
        Unsized(batches(x, y)), 1)
    final = out.getvalue().rstrip().split("\r")[-1]
    assert final.startswith("epoch 1/1: 5batch") and "samples/s=" in final


def test_importing_tinyfin_leaves_matplotlib_alone():
    code = ("import sys, tinyfin, tinyfin.train; "
            "print(sorted(m for m in ('matplotlib',) if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_trainer_follows_pytorch_plain_loop():
    """The Trainer (accumulation 2, clipping, a per-step scheduler) against
    PyTorch's plain loop from the same weights and data order: the per-epoch
    mean losses and the final weights agree to float32 rounding."""
    torch = pytest.importorskip("torch")
    x, y = make_data()
    data, epochs, k, clip = batches(x, y), 4, 2, 0.5
    model = make_model()
    tmodel = torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.ReLU(), torch.nn.Linear(16, C))
    with torch.no_grad():
        for tp, p in zip(tmodel.parameters(), model.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    opt = SGD(model.parameters(), 0.05)
    trainer = Trainer(model, F.cross_entropy, opt, scheduler=LambdaLR(opt, lambda s: 0.95 ** s),
                      scheduler_interval="step", grad_accum_steps=k, clip_grad_norm=clip,
                      progress=False)
    history = trainer.fit(data, epochs)

    topt = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambda s: 0.95 ** s)
    tlosses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        topt.zero_grad()
        for i, (xb, yb) in enumerate(data):
            xt, yt = torch.from_numpy(xb.numpy()), torch.from_numpy(yb.numpy())
            loss = torch.nn.functional.cross_entropy(tmodel(xt), yt)
            (loss / k).backward()
            total, count = total + loss.item() * len(yt), count + len(yt)
            if (i + 1) % k == 0 or i + 1 == len(data):
                torch.nn.utils.clip_grad_norm_(tmodel.parameters(), clip)
                topt.step()
                tsched.step()
                topt.zero_grad()
        tlosses.append(total / count)
    np.testing.assert_allclose([r["loss"] for r in history], tlosses, rtol=2e-6)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-15)
