"""A watchdog for every test: one that runs longer than TINYFIN_TEST_TIMEOUT
seconds (default 900; no test here needs a tenth of that) prints the
Python stack of every thread and ends the run with exit status 3.

A hang must fail fast and say where: without this, a deadlocked test holds
CI until its time limit and leaves only the progress dots of the tests
before it. The stacks go to the terminal even under pytest's output
capture (which is suspended first), and the run ends with os._exit because
a hung thread may never return to Python to take an exception.

One thread watches the whole session, waking once a second: a thread (or
timer) per test would cost a GIL hand-over, about 5 ms, on each of the
thousands of tests.
"""
import faulthandler
import os
import sys
import threading
import time

import pytest

TEST_TIMEOUT_S = float(os.environ.get("TINYFIN_TEST_TIMEOUT", "900"))
HUNG_TEST_EXIT = 3

_running = {"item": None, "deadline": None}  # the test now running, and until when


def _watch(config):
    capture = config.pluginmanager.getplugin("capturemanager")
    owner = os.getpid()
    while True:
        time.sleep(1.0)
        item, deadline = _running["item"], _running["deadline"]
        if item is None or deadline is None or time.monotonic() < deadline:
            continue
        if os.getpid() != owner:  # (a forked child has no copy of this thread)
            return
        if capture is not None:
            capture.suspend_global_capture(in_=True)
        sys.stderr.write(f"\n\n{item.nodeid} still runs after {TEST_TIMEOUT_S:.0f} s "
                         "(TINYFIN_TEST_TIMEOUT); the stack of every thread:\n")
        sys.stderr.flush()
        faulthandler.dump_traceback(sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(HUNG_TEST_EXIT)


def pytest_configure(config):
    threading.Thread(target=_watch, args=(config,), name="test-watchdog", daemon=True).start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _running["item"], _running["deadline"] = item, time.monotonic() + TEST_TIMEOUT_S
    try:
        yield
    finally:
        _running["deadline"] = None
