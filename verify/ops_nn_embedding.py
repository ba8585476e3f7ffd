"""OpInfo entries of nn.functional.embedding and one_hot.

embedding's reference is NumPy fancy indexing (weight[idx]); its gradient
(gradcheck, gradgradcheck) is checked on samples with repeated indices, so
the accumulation of repeats is covered, and padding_idx (positive and
negative) must leave that row's gradient zero (Subgrad cases, exact).
one_hot's reference is a comparison with np.arange.
"""
from __future__ import annotations

import numpy as np

import tinyfin as tf
import tinyfin.nn.functional as F

from .opdb import FLOAT, ErrorInput, OpInfo, Sample, Subgrad, Tol, finite_values

EXACT = {"float32": Tol(ulp=0), "float64": Tol(ulp=0)}


def _emb_ref(idx, weight, padding_idx=None, max_norm=None, norm_type=2.0,
             scale_grad_by_freq=False, sparse=False):
    idx = np.asarray(idx, np.int64)
    return np.asarray(weight)[idx.reshape(-1)].reshape(idx.shape + (weight.shape[1],))


def _emb_samples(dtype, rng):
    w = lambda n, d: finite_values(dtype, (n, d), rng)  # noqa: E731
    i = lambda n, s: rng.integers(0, n, size=s).astype(np.int64)  # noqa: E731
    rep = np.array([[0, 2, 2], [4, 0, 2]], np.int64)          # repeats: 0 twice, 2 three times
    return [
        Sample((rep, w(5, 3)), desc="repeated indices"),
        Sample((rep, w(5, 3)), kwargs=dict(padding_idx=2), desc="padding_idx=2 (repeated)",
               grad=False),  # by design not the derivative: the Subgrad cases check it
        Sample((rep, w(5, 3)), kwargs=dict(padding_idx=-1), desc="padding_idx=-1 (row 4)",
               grad=False),
        Sample((np.array(3, np.int64), w(4, 2)), desc="0-d index"),
        Sample((i(6, (4,)), w(6, 2)), desc="1-d"),
        Sample((i(6, (2, 2, 2)), w(6, 2)), desc="3-d indices"),
        Sample((i(5, (3, 2)), w(5, 4)), layout=("transposed", "contiguous"), desc="transposed indices"),
        Sample((i(5, (3, 2)), w(5, 4)), layout=("contiguous", "transposed"), desc="transposed weight"),
        Sample((i(5, (2, 3)), w(5, 4)), layout=("strided", "strided"), desc="step-strided both"),
        Sample((i(5, (2, 3)), w(5, 4)), layout=("contiguous", "expanded"), desc="expanded weight"),
        Sample((np.zeros((0,), np.int64), w(5, 3)), desc="size-0 indices", grad=False),
        Sample((np.zeros((2, 0), np.int64), w(5, 3)), desc="size-0 2-d indices", grad=False),
        Sample((i(3, (4,)), w(3, 0)), desc="embedding_dim 0", grad=False),
        Sample((i(1000, (40, 50)), w(1000, 40)), desc="large (2000 rows of 40)", grad=False),
    ]


def _emb_errors():
    w = lambda: tf.ones(3, 2)  # noqa: E731
    return [
        ErrorInput("index too large", lambda: F.embedding(tf.tensor([0, 5, 1]), w()), IndexError,
                   r"embedding: index 5 \(at flat position 1\) is out of range for num_embeddings 3"),
        ErrorInput("negative index", lambda: F.embedding(tf.tensor([[0], [-1]]), w()), IndexError,
                   r"embedding: index -1 .* out of range for num_embeddings 3 \(valid: 0 to 2\)"),
        ErrorInput("float indices", lambda: F.embedding(tf.tensor([0.0]), w()), TypeError,
                   r"embedding: expected int64 indices, got float32"),
        ErrorInput("bool indices", lambda: F.embedding(tf.tensor([True]), w()), TypeError,
                   r"embedding: expected int64 indices, got bool"),
        ErrorInput("1-d weight", lambda: F.embedding(tf.tensor([0]), tf.ones(3)), ValueError,
                   r"embedding: weight must be 2-d \(num_embeddings, embedding_dim\), got shape \(3,\)"),
        ErrorInput("padding_idx too large", lambda: F.embedding(tf.tensor([0]), w(), padding_idx=3),
                   ValueError, r"embedding: padding_idx must be within num_embeddings: got 3 for "
                               r"num_embeddings 3 \(valid: -3 to 2\)"),
        ErrorInput("padding_idx too negative", lambda: F.embedding(tf.tensor([0]), w(), padding_idx=-4),
                   ValueError, r"padding_idx must be within num_embeddings: got -4"),
        ErrorInput("max_norm", lambda: F.embedding(tf.tensor([0]), w(), max_norm=1.0),
                   NotImplementedError, r"embedding: max_norm is not supported"),
        ErrorInput("scale_grad_by_freq", lambda: F.embedding(tf.tensor([0]), w(), scale_grad_by_freq=True),
                   NotImplementedError, r"embedding: scale_grad_by_freq=True is not supported"),
        ErrorInput("sparse", lambda: F.embedding(tf.tensor([0]), w(), sparse=True),
                   NotImplementedError, r"embedding: sparse=True is not supported"),
        ErrorInput("non-tensor weight", lambda: F.embedding(tf.tensor([0]), [[1.0]]), TypeError,
                   r"embedding: expected a Tensor as weight"),
    ]


def _emb_subgradients(dtype):
    idx = np.array([[0, 2, 2], [4, 0, 2]], np.int64)
    g = np.arange(1, 19, dtype=np.float64).reshape(2, 3, 3)   # upstream rows 1..6 (times 3 cols)
    rows = g.reshape(6, 3)
    full = np.zeros((5, 3))
    for k, r in enumerate(idx.reshape(-1)):
        full[r] += rows[k]
    pad2 = full.copy()
    pad2[2] = 0
    pad4 = full.copy()
    pad4[4] = 0
    w = np.ones((5, 3))
    return [Subgrad("repeats accumulate", (idx, w), (None, full), grad=g),
            Subgrad("padding_idx=2: no gradient for row 2", (idx, w), (None, pad2), grad=g,
                    kwargs=dict(padding_idx=2)),
            Subgrad("padding_idx=-1: no gradient for row 4", (idx, w), (None, pad4), grad=g,
                    kwargs=dict(padding_idx=-1))]


def _oh_ref(t, num_classes=-1):
    t = np.asarray(t, np.int64)
    n = int(t.max()) + 1 if num_classes == -1 else num_classes
    return (t[..., None] == np.arange(n)).astype(np.int64)


def _oh_samples(dtype, rng):
    return [Sample((np.array([0, 3, 1, 3], np.int64),), desc="inferred num_classes"),
            Sample((np.array([0, 3, 1], np.int64),), kwargs=dict(num_classes=6), desc="num_classes=6"),
            Sample((rng.integers(0, 4, (3, 5)).astype(np.int64),), args=(4,), layout="transposed",
                   desc="2-d transposed"),
            Sample((np.array(2, np.int64),), args=(3,), desc="0-d"),
            Sample((np.zeros((0, 2), np.int64),), args=(3,), desc="size-0"),
            Sample((rng.integers(0, 10, (200, 200)).astype(np.int64),), args=(10,), desc="large")]


def _oh_errors():
    return [
        ErrorInput("class too large", lambda: F.one_hot(tf.tensor([1, 5]), 3), ValueError,
                   r"one_hot: class values must be smaller than num_classes \(3\), got 5"),
        ErrorInput("negative class", lambda: F.one_hot(tf.tensor([-1, 0]), 3), ValueError,
                   r"one_hot: class values must be non-negative, got -1"),
        ErrorInput("empty, num_classes inferred", lambda: F.one_hot(tf.zeros(0, dtype=tf.int64)),
                   ValueError, r"one_hot: can not infer the total number of classes from an empty tensor"),
        ErrorInput("float input", lambda: F.one_hot(tf.tensor([1.0])), TypeError,
                   r"one_hot: expected int64 class values"),
        ErrorInput("num_classes < -1", lambda: F.one_hot(tf.tensor([1]), -2), ValueError,
                   r"one_hot: num_classes must be -1 \(inferred\) or non-negative, got -2"),
    ]


ENTRIES = [
    OpInfo(name="nn.functional.embedding", call=F.embedding, ref=_emb_ref, kind="index",
           dtypes=FLOAT, samples=_emb_samples, errors=_emb_errors, differentiable=True,
           gradgrad=True, tol=EXACT, subgradients=_emb_subgradients,
           large=lambda dtype, rng: [s for s in _emb_samples(dtype, rng) if s.desc.startswith("large")],
           notes="max_norm, scale_grad_by_freq and sparse refused with NotImplementedError"),
    OpInfo(name="nn.functional.one_hot", call=F.one_hot, ref=_oh_ref, kind="index",
           dtypes=("int64",), samples=_oh_samples, errors=_oh_errors),
]
