"""Train a multilayer perceptron on scikit-learn's 8x8 handwritten digits
with the plain PyTorch-style loop, and report its accuracy on a held-out
test split:

    python examples/train_digits_mlp.py [--epochs 30] [--out runs/digits_mlp]

The loop is the one a PyTorch user writes (zero_grad, forward, loss,
backward, step); tinyfin.train.Trainer (train_digits_cnn.py) runs the same
loop with its extras. Progress shows on a tqdm bar; the per-epoch losses
and accuracies go to OUT/metrics.jsonl and their curves to OUT/curves.png.
Needs scikit-learn (`pip install scikit-learn`), whose digits file is read
from its installation; nothing is downloaded.
"""
import argparse
import json
import os

import matplotlib
from tqdm import tqdm

import tinyfin as tf
import tinyfin.nn as nn
import tinyfin.nn.functional as F
from tinyfin.utils.data import DataLoader, TensorDataset, random_split
from tinyfin.vision.datasets import load_digits

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def digits_split(seed: int, image_shape=(64,)):
    """The 1797 digits as float32 in [0, 1] (pixels are 0..16), split 80/20
    into train and test sets by a seeded generator."""
    data, target = load_digits(return_X_y=True)
    x = tf.tensor((data / 16.0).reshape(-1, *image_shape), dtype=tf.float32)
    dataset = TensorDataset(x, tf.tensor(target))
    return random_split(dataset, [0.8, 0.2], generator=tf.Generator().manual_seed(seed))


def make_model() -> nn.Module:
    """(N, 64) pixels -> (N, 10) logits."""
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with tf.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum().item())
            total += len(y)
    return correct / total


def write_curves(history: list, path: str) -> None:
    """Loss and accuracy per epoch, side by side, as a PNG."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
    ax_loss.plot(epochs, [h["loss"] for h in history], label="train")
    ax_loss.set(xlabel="epoch", ylabel="loss")
    for key in ("accuracy", "test_accuracy"):
        ax_acc.plot(epochs, [h[key] for h in history], label=key)
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    ax_acc.legend()
    fig.savefig(path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits_mlp")
    args = parser.parse_args()

    tf.manual_seed(args.seed)
    train_set, test_set = digits_split(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    model = make_model()
    opt = tf.optim.Adam(model.parameters(), lr=args.lr)

    os.makedirs(args.out, exist_ok=True)
    history = []
    bar = tqdm(range(args.epochs), desc="digits MLP", unit="epoch")
    for epoch in bar:
        model.train()
        total_loss = seen = 0
        for x, y in train_loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(y)
            seen += len(y)
        record = {"epoch": epoch, "loss": total_loss / seen,
                  "accuracy": accuracy(model, train_loader),
                  "test_accuracy": accuracy(model, test_loader)}
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.4f}", test_acc=f"{record['test_accuracy']:.4f}")

    with open(os.path.join(args.out, "metrics.jsonl"), "w") as f:
        f.writelines(json.dumps(h) + "\n" for h in history)
    write_curves(history, os.path.join(args.out, "curves.png"))
    tf.save(model.state_dict(), os.path.join(args.out, "model.safetensors"))
    print(f"test accuracy: {history[-1]['test_accuracy']:.4f} "
          f"({len(test_set)} held-out digits, after {args.epochs} epochs)")


if __name__ == "__main__":
    main()
