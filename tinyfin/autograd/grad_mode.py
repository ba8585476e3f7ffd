"""Grad mode: whether ops record a graph. Thread-local, as in PyTorch: one
thread under no_grad does not change what another thread records.

no_grad, enable_grad, set_grad_enabled and inference_mode work both as
context managers and as decorators.
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True     # class attribute: every new thread starts enabled
    inference = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _Mode:
    """Base of the grad-mode switches: sets a mode on enter, restores the
    previous one on exit, and wraps functions when used as a decorator."""

    def _set(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._saved = (state.enabled, state.inference)
        self._set()
        return self

    def __exit__(self, *exc) -> bool:
        state.enabled, state.inference = self._saved
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self) -> tuple:
        return ()


class no_grad(_Mode):
    """Ops inside record no graph; results do not require grad."""

    def _set(self) -> None:
        state.enabled = False


class enable_grad(_Mode):
    """Turn recording back on inside a no_grad region."""

    def _set(self) -> None:
        state.enabled = True


class set_grad_enabled(_Mode):
    """set_grad_enabled(False) is no_grad; called as a plain function it
    switches the mode of this thread at once, as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = (state.enabled, state.inference)
        state.enabled = self.mode

    def __enter__(self):
        self._saved = self._prev
        return self

    def _args(self) -> tuple:
        return (self.mode,)

    def __call__(self, fn):
        state.enabled, state.inference = self._prev  # a decorator switches nothing now
        return super().__call__(fn)


class inference_mode(_Mode):
    """no_grad for inference; inference_mode(False) is a no-op region."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def _set(self) -> None:
        if self.mode:
            state.enabled = False
            state.inference = True

    def _args(self) -> tuple:
        return (self.mode,)
