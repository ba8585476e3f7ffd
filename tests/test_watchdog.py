"""conftest.py's watchdog: a test that runs past TINYFIN_TEST_TIMEOUT ends
the run with exit status 3, and the last lines printed name that test and
show where it waits (CI keeps only the tail of its log)."""
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def test_a_hung_test_is_named_at_the_end_of_the_output(tmp_path):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_hangs.py").write_text(
        "import threading, time\n"
        "def test_fine():\n"
        "    pass\n"
        "def wait_for_ever():\n"
        "    threading.Event().wait()\n"
        "def test_waits():\n"
        "    threading.Thread(target=time.sleep, args=(60,), name='sleeper', daemon=True).start()\n"
        "    wait_for_ever()\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "TINYFIN_TEST_TIMEOUT": "2"})
    assert out.returncode == 3, out.stdout + out.stderr
    tail = out.stderr.strip().splitlines()[-10:]
    assert tail[-1].startswith("== hung: test_hangs.py::test_waits, for 2 s"), tail
    assert "wait_for_ever" in "".join(tail[:-1]), tail  # the main thread's innermost frames
    assert "-- thread sleeper (most recent call last):" in out.stderr
    assert out.stderr.index("thread sleeper") < out.stderr.index("thread MainThread")
