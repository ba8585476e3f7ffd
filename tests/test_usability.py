"""What else a user meets: a bad TINYFIN_LIB, clamp with a NaN bound,
NumPy's axis=/keepdims= spellings, and asking for a CUDA device."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tinyfin as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_with_lib(path: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TINYFIN_LIB=path)
    return subprocess.run([sys.executable, "-c", "import tinyfin"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["directory", "not a library", "missing"])
def test_a_bad_tinyfin_lib_is_an_import_error_naming_the_path(kind, tmp_path):
    path = {"directory": tmp_path,
            "not a library": tmp_path / "libtinyfin.so",
            "missing": tmp_path / "nowhere.so"}[kind]
    if kind == "not a library":
        path.write_text("this is not an ELF file\n")
    run = _import_with_lib(str(path))
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: tinyfin:"), run.stderr
    assert str(path) in last


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_a_nan_clamp_bound_gives_nan_as_numpy_clip(dtype):
    x = tf.tensor([-1.0, 0.5, 2.0], dtype=dtype)
    nan = float("nan")
    for kwargs in ({"min": nan}, {"max": nan}, {"min": nan, "max": 1.0},
                   {"min": 0.0, "max": nan}):
        want = np.clip(x.numpy().astype(np.float64), kwargs.get("min"), kwargs.get("max"))
        got = x.clamp(**kwargs).numpy()
        assert np.all(np.isnan(got)) and np.all(np.isnan(want)), kwargs
    assert np.all(np.isnan(x.clamp(min=tf.tensor(nan, dtype=dtype)).numpy()))
    assert x.clamp(0.0, 1.0).tolist() == [0.0, 0.5, 1.0]    # ordinary bounds unchanged


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "logsumexp",
                                "all", "any", "var", "std", "norm"])
def test_reductions_take_numpys_axis_and_keepdims(op):
    x = tf.tensor(np.random.default_rng(0).standard_normal((3, 4, 5)))
    fn = getattr(tf, op)
    for axis, keep in [(1, False), ((0, 2), True), (-1, True)]:
        want = fn(x, dim=axis, keepdim=keep)
        got = fn(x, axis=axis, keepdims=keep)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert getattr(x, op)(axis=axis, keepdims=keep).shape == want.shape
    with pytest.raises(TypeError, match=f"{op}: got both dim= and its alias axis="):
        fn(x, dim=0, axis=0)


def test_numpy_keywords_on_dim_reductions_and_softmax():
    x = tf.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert x.max(axis=1, keepdims=True).values.tolist() == [[5.0], [7.0]]
    assert x.argmax(axis=0).tolist() == [1, 0, 1]
    np.testing.assert_array_equal(x.softmax(axis=1).numpy(), x.softmax(1).numpy())
    assert tf.sum(x, axis=0).tolist() == [8.0, 5.0, 5.0]


@pytest.mark.skipif(tf.cuda.is_available(), reason="CUDA runs here")
def test_asking_for_cuda_says_why_it_is_not_available():
    x = tf.ones(2)
    why = tf.cuda.why_unavailable()
    for call in (lambda: x.cuda(), lambda: x.cuda(0), lambda: x.to("cuda"),
                 lambda: x.to("cuda:1"), lambda: x.to(device="cuda"),
                 lambda: tf.zeros(2, device="cuda"), lambda: tf.tensor([1.0], device="cuda:0")):
        with pytest.raises(RuntimeError) as e:
            call()
        assert re.search(r"device 'cuda(:\d)?' is not available: ", str(e.value)), e.value
        assert str(e.value).endswith(why)
    assert x.to("cpu") is x and x.cpu() is x
    with pytest.raises(RuntimeError, match=r"unknown device 'tpu'"):
        tf.zeros(2, device="tpu")
