"""Train a small convolutional network on scikit-learn's 8x8 handwritten
digits with tinyfin.train.Trainer, and report its accuracy on a held-out
test split:

    python examples/train_digits_cnn.py [--epochs 20] [--out runs/digits_cnn]

The Trainer runs the plain loop (train_digits_mlp.py writes it out) with a
validation pass per epoch, a cosine learning-rate schedule, a tqdm bar with
loss and throughput, logs in OUT/metrics.csv and OUT/metrics.jsonl, the
curves in OUT/curves.png, and the last and best checkpoints in OUT/.
Needs scikit-learn (`pip install scikit-learn`), whose digits file is read
from its installation; nothing is downloaded.
"""
import argparse

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.train import Accuracy, ModelCheckpoint, PlotCurves, Trainer
from tinyfin.utils.data import DataLoader

from train_digits_mlp import digits_split


def make_model() -> nn.Module:
    """(N, 1, 8, 8) -> two 3x3 convolutions -> pool -> (N, 10) logits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, 64, 4, 4)
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 4 * 4, 128), nn.ReLU(),
        nn.Linear(128, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits_cnn")
    args = parser.parse_args()

    tf.manual_seed(args.seed)
    train_set, test_set = digits_split(args.seed, image_shape=(1, 8, 8))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    model = make_model()
    opt = tf.optim.Adam(model.parameters(), lr=args.lr)
    sched = tf.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    trainer = Trainer(model, F.cross_entropy, opt, scheduler=sched, metrics=[Accuracy()],
                      log_dir=args.out, monitor="val_accuracy", mode="max",
                      callbacks=[ModelCheckpoint(args.out, monitor="val_accuracy", mode="max"),
                                 PlotCurves()])
    trainer.fit(train_loader, args.epochs, val_loader=test_loader)
    result = trainer.evaluate(test_loader)
    print(f"test accuracy: {result['accuracy']:.4f} "
          f"({len(test_set)} held-out digits, after {args.epochs} epochs)")


if __name__ == "__main__":
    main()
