"""``CancelToken``: stop a run from anywhere, including another thread.

``assistant.run(prompt, cancel=token)`` (or ``arun``) watches the token; ``token.cancel()`` from
any thread stops the run promptly: the model's stream is closed at once (even while the runner
waits for the next chunk), running ``async def`` tools are cancelled, and the run raises
``RunCancelled``. Sync tools already running cannot be stopped (Python cannot stop a thread):
the run waits for them before it raises, so nothing is left running. With ``stream=False`` a
request in flight is not interrupted; the cancellation takes effect when it returns.
``Assistant.cancel()`` cancels whatever run is going on.

A token may be shared by several runs (cancelling it stops them all) and cannot be reset.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from ._errors import RunCancelled

__all__ = ["CancelToken"]


class CancelToken:
    """A one-way, thread-safe cancellation flag with callbacks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._cancelled = False
        self._callbacks: dict[int, Callable[[], object]] = {}
        self._next = 0

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Cancel (idempotent); runs the registered callbacks in the calling thread."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks, self._callbacks = list(self._callbacks.values()), {}
        self._event.set()
        for callback in callbacks:
            callback()

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds, or until cancelled; returns whether it is."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self) -> None:
        if self._cancelled:
            raise RunCancelled("the run was cancelled")

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` on cancellation (now, if already cancelled); returns a function
        that unregisters it."""
        with self._lock:
            if not self._cancelled:
                key = self._next
                self._next += 1
                self._callbacks[key] = callback
                return lambda: self._forget(key)
        callback()
        return lambda: None

    @contextlib.contextmanager
    def watching(self, callback: Callable[[], object]) -> Iterator[None]:
        """``on_cancel(callback)`` for the length of a ``with`` block."""
        forget = self.on_cancel(callback)
        try:
            yield
        finally:
            forget()

    def __repr__(self) -> str:
        return f"<CancelToken {'cancelled' if self._cancelled else 'not cancelled'}>"

    def _forget(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)
