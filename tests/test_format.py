"""repr of tensors: PyTorch's format, summarised above the threshold in
time independent of numel, and tf.set_printoptions.

The expected strings are PyTorch 2's output for the same tensors (the
torch tests compare against a live PyTorch where one is installed)."""
import re
import time

import numpy as np
import pytest

import tinyfin as tf


@pytest.fixture(autouse=True)
def default_print_options():
    tf.set_printoptions(profile="default")
    yield
    tf.set_printoptions(profile="default")


# repr(torch.<same tensor>) with torch 2.13, dtype names aside
PYTORCH = [
    (lambda: tf.arange(2000.0),
     "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
     "        1.9990e+03])"),
    (lambda: tf.tensor([1.5, 2.25, -3.0], dtype=tf.float64),
     "tensor([ 1.5000,  2.2500, -3.0000], dtype=tinyfin.float64)"),
    (lambda: tf.tensor([float("inf"), -float("inf"), float("nan"), 1.0]),
     "tensor([inf, -inf, nan, 1.])"),
    (lambda: tf.arange(12).reshape(3, 4) * 1000,
     "tensor([[    0,  1000,  2000,  3000],\n        [ 4000,  5000,  6000,  7000],\n"
     "        [ 8000,  9000, 10000, 11000]])"),
    (lambda: tf.tensor([True, False]), "tensor([ True, False])"),
    (lambda: tf.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: tf.zeros(0, 3, dtype=tf.float64),
     "tensor([], size=(0, 3), dtype=tinyfin.float64)"),
    (lambda: tf.ones(2, requires_grad=True), "tensor([1., 1.], requires_grad=True)"),
]


@pytest.mark.parametrize("make,want", PYTORCH)
def test_repr_is_pytorchs(make, want):
    assert repr(make()) == want


def test_a_summarised_grid_shows_edge_rows_and_columns():
    text = repr(tf.arange(2000.0).reshape(40, 50))
    lines = text.split("\n")
    assert lines[0] == ("tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 4.7000e+01, "
                        "4.8000e+01,")
    assert "        ...," in lines
    assert lines[-1] == "         1.9990e+03]])"
    assert len(lines) == 6 * 2 + 1       # 3 + 3 rows of two lines, and "..."


def test_repr_time_does_not_depend_on_numel():
    """An expanded tensor of 10^12 elements (no memory of its own) prints
    as fast as a small one: only the shown entries are read."""
    start = time.perf_counter()
    text = repr(tf.zeros(1).expand(10 ** 12))
    assert text == "tensor([0., 0., 0.,  ..., 0., 0., 0.])"
    cube = repr(tf.ones(1, 1, 1).expand(10 ** 4, 10 ** 4, 10 ** 4))
    assert cube.count("...") == 6 * 6 + 6 + 1  # in each shown row, block, and once
    assert time.perf_counter() - start < 5.0        # a full scan would take hours


def test_set_printoptions():
    x = tf.tensor([1.23456789, 2.5, 3.0])
    tf.set_printoptions(precision=2)
    assert repr(x) == "tensor([1.23, 2.50, 3.00])"
    tf.set_printoptions(sci_mode=True)
    assert repr(x) == "tensor([1.23e+00, 2.50e+00, 3.00e+00])"
    tf.set_printoptions(profile="default", threshold=5, edgeitems=1)
    assert repr(tf.arange(10)) == "tensor([0,  ..., 9])"
    tf.set_printoptions(profile="full")
    assert "..." not in repr(tf.arange(5000))
    tf.set_printoptions(profile="default", linewidth=20)
    assert repr(tf.arange(6)) == "tensor([0, 1, 2, 3,\n        4, 5])"
    with pytest.raises(ValueError, match="set_printoptions: profile must be one of"):
        tf.set_printoptions(profile="long")


def _same_line_dtype(text: str) -> str:
    """'tinyfin' is two letters longer than 'torch', so a dtype suffix may
    wrap onto its own line in one and not the other."""
    return re.sub(r",\n +dtype=", ", dtype=", text)


def _torch_cases():
    rng = np.random.default_rng(0)
    return [np.arange(2000.0).reshape(40, 50), np.array([0.0, -0.0, 1.0]),
            np.array([1e9, 2.0]), np.array([123456.789, 0.5]), rng.standard_normal((5, 7)),
            rng.standard_normal((3, 4, 5)) * 1e4, rng.standard_normal(1001),
            rng.standard_normal((2, 600)), np.zeros(0), np.array(3.5), np.array(-0.0),
            np.array(7, dtype=np.int64), rng.integers(-10 ** 12, 10 ** 12, size=(4, 300)),
            rng.standard_normal((10, 10, 20)) > 0, np.array([1e-300, 1e300]),
            np.array([100.0, 0.1]), np.array([np.nan]), rng.standard_normal((1, 1, 1, 2000))]


@pytest.mark.parametrize("options", [{}, dict(precision=2, threshold=5, edgeitems=1,
                                              linewidth=40, sci_mode=True),
                                     dict(sci_mode=False, precision=6)])
def test_repr_matches_a_live_pytorch(options):
    torch = pytest.importorskip("torch")
    try:
        torch.set_printoptions(**options)
        tf.set_printoptions(**options)
        for arr in _torch_cases():
            for dt in ((np.float32, np.float64) if arr.dtype.kind == "f" else (arr.dtype,)):
                a = np.asarray(arr).astype(dt)
                with np.errstate(over="ignore"):
                    got = _same_line_dtype(repr(tf.tensor(a)).replace("tinyfin.", "torch."))
                assert got == _same_line_dtype(repr(torch.tensor(a))), (a.dtype, a.shape)
    finally:
        torch.set_printoptions(profile="default")
