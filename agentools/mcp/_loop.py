"""An event loop of our own in a background thread, and coroutines run on it from anywhere.

An MCP session is made of anyio cancel scopes and task groups, which must be entered and left in
one task of one loop: the cause of the "exit cancel scope in a different task" errors at shutdown
that other frameworks' users report. So the session lives on a private loop for its whole life,
and every caller (the blocking runner's tool threads, each with a loop of its own, or the
caller's loop under ``arun``) hands it coroutines through ``PrivateLoop.run`` (awaited) or
``PrivateLoop.wait`` (blocking).

A caller cancelled while it waits (a run cancelled, a timeout) cancels the coroutine on the
private loop, then waits for it to end: by then the MCP client has told the server
(``notifications/cancelled``), and nothing of the call is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

__all__ = ["PrivateLoop"]

T = TypeVar("T")


class _Remote(Future[T]):
    """The outcome of a coroutine on the private loop, settled only once it has ended (a cancel
    asked from elsewhere does not settle it: the coroutine's own end does)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._task: asyncio.Task[T] | None = None
        self._cancelled = False

    def start(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> None:
        """On the private loop: start the coroutine, unless cancelled before it could start."""
        if self._cancelled:
            self.set_exception(asyncio.CancelledError())
            return
        self._task = self._loop.create_task(factory())
        self._task.add_done_callback(self._settle)

    def _settle(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self.set_exception(asyncio.CancelledError())
        elif (error := task.exception()) is not None:
            self.set_exception(error)
        else:
            self.set_result(task.result())

    def cancel(self) -> bool:
        """Ask the coroutine to stop; the future settles when it has (``asyncio.wrap_future``
        calls this when the waiting task is cancelled)."""
        self.stop()
        return False

    def stop(self) -> None:
        """From any thread: cancel the coroutine (or keep it from starting)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs on it
            self._loop.call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        self._cancelled = True
        if self._task is not None:
            self._task.cancel()


class PrivateLoop:
    """An asyncio loop running in a daemon thread of its own until ``close()``."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()

    def submit(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> _Remote[T]:
        """Start ``factory()`` on the private loop, from any thread (the coroutine is made there,
        so one that never starts is never made, and never warned about)."""
        remote: _Remote[T] = _Remote(self.loop)
        self.loop.call_soon_threadsafe(remote.start, factory)
        return remote

    async def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await ``factory()`` run on the private loop, from a coroutine on any other loop."""
        remote = self.submit(factory)
        waiting = asyncio.wrap_future(remote)
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            remote.stop()
            with contextlib.suppress(BaseException):
                await waiting  # the coroutine's end: its cancel was sent to the server
            raise

    def wait(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float | None) -> T:
        """Block this thread until ``factory()``, run on the private loop, has ended; past
        ``timeout`` it is cancelled (``TimeoutError``)."""
        remote = self.submit(factory)
        try:
            return remote.result(timeout)
        except FutureTimeout:  # the builtin TimeoutError from Python 3.11
            remote.stop()
            with contextlib.suppress(BaseException):
                remote.result()
            raise

    def close(self) -> None:
        """Stop the loop (its remaining tasks are cancelled and awaited) and join the thread."""
        with contextlib.suppress(RuntimeError):  # already stopped and closed
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join()
