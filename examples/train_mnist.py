"""Train a LeNet-style CNN on MNIST from its IDX files, when you have them:

    python examples/train_mnist.py --root DIR [--epochs 5] [--workers 2] [--out runs/mnist]

DIR holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (plain or .gz), directly
or in DIR/MNIST/raw (torchvision's layout); nothing is downloaded. The
images are augmented (a 2-pixel random crop), normalized, and loaded by
worker processes; SGD with momentum and a one-cycle schedule per step run
under tinyfin.train.Trainer, which shows a tqdm bar, logs to OUT/ and keeps
the last and best checkpoints there. --limit N trains on the first N images
(a quick check).
"""
import argparse

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.train import Accuracy, ModelCheckpoint, PlotCurves, Trainer
from tinyfin.utils.data import DataLoader, Subset
from tinyfin.vision import datasets, transforms

MEAN, STD = (0.1307,), (0.3081,)  # of MNIST's training images


def lenet() -> nn.Module:
    """(N, 1, 28, 28) -> (N, 10) logits: LeCun et al.'s LeNet-5 with ReLU
    and max pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # (N, 6, 14, 14)
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),             # (N, 16, 5, 5)
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the folder with MNIST's IDX files")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/mnist")
    args = parser.parse_args()

    tf.manual_seed(args.seed)
    normalize = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    train_set = datasets.MNIST(args.root, train=True, transform=transforms.Compose(
        [transforms.RandomCrop(28, padding=2)] + normalize))
    test_set = datasets.MNIST(args.root, train=False, transform=transforms.Compose(normalize))
    if args.limit is not None:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
        test_set = Subset(test_set, range(min(args.limit, len(test_set))))
    loader_args = dict(num_workers=args.workers, persistent_workers=args.workers > 0)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True,
                              **loader_args)
    test_loader = DataLoader(test_set, batch_size=1000, **loader_args)

    model = lenet()
    opt = tf.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    sched = tf.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                             steps_per_epoch=len(train_loader))
    trainer = Trainer(model, F.cross_entropy, opt, scheduler=sched, scheduler_interval="step",
                      metrics=[Accuracy()], log_dir=args.out, monitor="val_accuracy", mode="max",
                      callbacks=[ModelCheckpoint(args.out, monitor="val_accuracy", mode="max"),
                                 PlotCurves()])
    trainer.fit(train_loader, args.epochs, val_loader=test_loader)
    result = trainer.evaluate(test_loader)
    print(f"test accuracy: {result['accuracy']:.4f} "
          f"({len(test_set)} test images, after {args.epochs} epochs)")


if __name__ == "__main__":
    main()
