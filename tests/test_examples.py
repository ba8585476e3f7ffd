"""The training examples run end to end, in short versions: each trains,
prints its test accuracy and writes its log, curves and checkpoints. The
digits examples need scikit-learn (pip install -e ".[examples]"), whose
digits file they read; the MNIST one reads IDX files this test writes: a
synthetic set whose class is where a bright square sits, which a LeNet
learns within one short epoch.
"""
import gzip
import importlib
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import tinyfin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)  # the examples' model builders


def run_example(name, *args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args], cwd=cwd,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{name} failed:\n{run.stdout}\n{run.stderr}"
    m = re.search(r"test accuracy: ([0-9.]+)", run.stdout)
    assert m, f"{name} printed no test accuracy:\n{run.stdout}"
    return float(m.group(1)), run


def _assert_outputs(out, *names):
    for name in names:
        path = os.path.join(out, name)
        assert os.path.isfile(path) and os.path.getsize(path) > 0, path
    with open(os.path.join(out, "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name, epochs, floor, checkpoint", [
    ("train_digits_mlp.py", 6, 0.90, "model.safetensors"),
    ("train_digits_cnn.py", 3, 0.90, "best.safetensors")])
def test_digits_examples(tmp_path, name, epochs, floor, checkpoint):
    pytest.importorskip("sklearn", reason="the digits examples read scikit-learn's digits "
                                          "(pip install -e '.[examples]')")
    out = str(tmp_path / "run")
    acc, run = run_example(name, "--epochs", str(epochs), "--out", out, cwd=tmp_path)
    assert acc >= floor, run.stdout
    _assert_outputs(out, "metrics.jsonl", "curves.png")
    # the saved weights load into the example's architecture (strict: every key, every shape)
    state = tinyfin.load(os.path.join(out, checkpoint))
    example = importlib.import_module(name[:-3])
    example.make_model().load_state_dict(state.get("model", state))


def _write_idx(path, array):
    kind = {1: 0x801, 3: 0x803}[array.ndim]
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", kind) + struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def _synthetic_mnist(root, n, prefix, seed):
    """Digit k: a bright 6x6 square at one of ten places, on noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28))
    for i, k in enumerate(labels):
        r, c = 3 + 12 * (k // 5), 2 + 5 * (k % 5)
        images[i, r:r + 6, c:c + 4] = 255
    _write_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"), images)
    _write_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"), labels)


def test_mnist_example(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    _synthetic_mnist(str(root), 1024, "train", seed=0)
    _synthetic_mnist(str(root), 256, "t10k", seed=1)
    out = str(tmp_path / "run")
    acc, run = run_example("train_mnist.py", "--root", str(root), "--epochs", "2",
                           "--workers", "2", "--out", out, cwd=tmp_path)
    assert acc >= 0.9, run.stdout
    _assert_outputs(out, "metrics.csv", "metrics.jsonl", "curves.png")
