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
import os
import sys
import threading
import time
import traceback

import pytest

TEST_TIMEOUT_S = float(os.environ.get("TINYFIN_TEST_TIMEOUT", "900"))
HUNG_TEST_EXIT = 3

_running = {"item": None, "deadline": None}  # the test now running, and until when


def _hang_report(nodeid):
    """Every thread's stack, oldest call first as in a traceback, the main
    thread (where the test runs) last and the hung test's name after it: CI
    keeps only the tail of its log, and that tail must say which test hung
    and where."""
    names = {t.ident: t.name for t in threading.enumerate()}
    frames = sys._current_frames()
    main = threading.main_thread().ident
    lines = [f"\n\n{nodeid} still runs after {TEST_TIMEOUT_S:.0f} s (TINYFIN_TEST_TIMEOUT); "
             "the stack of every thread:\n"]
    for ident in sorted(frames, key=lambda i: i == main):
        lines.append(f"-- thread {names.get(ident, ident)} (most recent call last):\n")
        lines.extend(traceback.format_stack(frames[ident]))
    lines.append(f"== hung: {nodeid}, for {TEST_TIMEOUT_S:.0f} s; its innermost frame is the "
                 "last of the main thread's stack above\n")
    return "".join(lines)


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
        sys.stderr.write(_hang_report(item.nodeid))
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
