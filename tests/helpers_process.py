"""Waiting for forked children and threads with a deadline: a test whose
child or thread deadlocks fails with a message naming it, instead of
holding the whole run until the watchdog (conftest.py) ends it."""
import os
import signal
import time


def wait_for_child(pid, timeout=60.0):
    """The exit code of the forked child pid; one still running after
    timeout seconds is killed and the test fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the forked child {pid} still ran after {timeout:.0f} s (killed)")


def join_threads(threads, timeout=120.0):
    """Join every thread, failing the test if one still runs after timeout
    seconds in all. Start them as daemons: a thread left hung must not
    also hold up the interpreter's exit."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    assert not hung, f"threads {hung} still run after {timeout:.0f} s"
