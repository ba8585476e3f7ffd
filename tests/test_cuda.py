"""The CUDA backend on machines without a GPU (CI, most machines): loading
libtinyfin_cuda.so and saying why CUDA is not available, and the device
tests (tests/test_cuda_device.py) on the emulated device.

Which library the core loads is decided once per process, so each case
runs in a child interpreter with its own TINYFIN_CUDA_LIB.
"""
import os
import pathlib
import subprocess
import sys

import pytest

import tinyfin

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILT = pathlib.Path(tinyfin.__file__).parent / "libtinyfin_cuda.so"
EMULATED = ROOT / "build" / "libtinyfin_cuda_emulated.so"


def run(code, **env):
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


PROBE = ("import tinyfin as tf\n"
         "print(tf.cuda.is_available(), tf.cuda.device_count())\n"
         "print(tf.cuda.why_unavailable())\n"
         "print(tf.backends.available()['cuda'])\n"
         "try:\n"
         "    tf.zeros(2, device='cuda')\n"
         "except RuntimeError as e:\n"
         "    print(e)\n")


def test_a_library_that_does_not_load_is_the_reason():
    lines = run(PROBE, TINYFIN_CUDA_LIB="/nonexistent/libtinyfin_cuda.so").splitlines()
    assert lines[0] == "False 0"
    assert "TINYFIN_CUDA_LIB=/nonexistent/libtinyfin_cuda.so does not load" in lines[1]
    assert lines[2] == lines[1]
    assert lines[3] == f"zeros: device 'cuda' is not available: {lines[1]}"


def test_without_cuda_nothing_is_pinned_and_pinning_says_why():
    code = ("import tinyfin as tf\n"
            "t = tf.ones(3)\n"
            "print(t.is_pinned(), t.to('cpu', non_blocking=True) is t)\n"
            "try:\n"
            "    t.pin_memory()\n"
            "except RuntimeError as e:\n"
            "    print(e)\n")
    lines = run(code, TINYFIN_CUDA_LIB="/nonexistent/libtinyfin_cuda.so").splitlines()
    assert lines[0] == "False True"
    assert lines[1].startswith("pin_memory: pinned memory is CUDA's, which cannot run here: "
                               "TINYFIN_CUDA_LIB=/nonexistent/libtinyfin_cuda.so does not load")


def test_without_the_library_tinyfin_says_how_to_build_it(tmp_path):
    if os.environ.get("TINYFIN_LIB"):
        pytest.skip("TINYFIN_LIB names the library under test (a sanitizer run)")
    # a copy of the core alone in a folder: nothing beside it to load
    lib = tmp_path / "libtinyfin.so"
    lib.write_bytes((pathlib.Path(tinyfin.__file__).parent / "libtinyfin.so").read_bytes())
    lines = run(PROBE, TINYFIN_LIB=str(lib), TINYFIN_CUDA_LIB="").splitlines()
    assert lines[0] == "False 0"
    assert f"built without CUDA (no {tmp_path}/libtinyfin_cuda.so" in lines[1]
    assert "nvcc was not found" in lines[1] and "make cuda" in lines[1]
    # a file there that is not a library: its loader's error, not "not built"
    (tmp_path / "libtinyfin_cuda.so").write_text("not a library")
    lines = run(PROBE, TINYFIN_LIB=str(lib), TINYFIN_CUDA_LIB="").splitlines()
    assert lines[1].startswith(f"{tmp_path}/libtinyfin_cuda.so does not load: "), lines[1]


@pytest.mark.skipif(not BUILT.exists(), reason="libtinyfin_cuda.so is not built (no nvcc)")
def test_the_built_library_loads_and_reports_the_gpu_or_why_not():
    lines = run(PROBE, TINYFIN_CUDA_LIB=str(BUILT)).splitlines()
    if lines[0].startswith("True"):
        assert int(lines[0].split()[1]) >= 1 and lines[1] == "None"
    else:  # no driver or no GPU here: the CUDA runtime's own reason
        assert lines[0] == "False 0"
        assert lines[1].startswith("no CUDA device: cudaGetDeviceCount: "), lines[1]


@pytest.fixture(scope="module")
def emulated_library():
    subprocess.run(["make", "--no-print-directory", "-s", "cuda-emulated",
                    f"CUDA_LIB_EMULATED={EMULATED}"], cwd=ROOT, check=True, timeout=300)
    return EMULATED


def test_the_device_tests_pass_on_the_emulated_device(emulated_library):
    """Every test of test_cuda_device.py runs (none skips, the
    emulation-only ones included) and passes."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_cuda_device.py", "-q", "-p",
         "no:cacheprovider", "-rs"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TINYFIN_CUDA_LIB": str(emulated_library),
             "TINYFIN_CUDA_EMULATED_LIMIT": str(256 << 20)})
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "skipped" not in out.stdout, out.stdout[-2000:]
