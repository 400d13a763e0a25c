"""Work in a daemon thread, as a ``concurrent.futures.Future`` (both runners use it).

A daemon thread, not a pool's: a tool abandoned at its timeout must hold up neither the run nor
the interpreter's exit, nor an ``asyncio.run()`` shutting its default executor down.

A thread settles its future just before it ends, so ``join_finished()`` joins the threads whose
futures are done: after it, "nothing left running" holds to the letter.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["in_daemon_thread", "join_finished"]

T = TypeVar("T")

_THREADS: weakref.WeakKeyDictionary[Future[Any], threading.Thread] = weakref.WeakKeyDictionary()


def in_daemon_thread(work: Callable[[], T], name: str) -> Future[T]:
    future: Future[T] = Future()

    def target() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work())
            except BaseException as error:
                future.set_exception(error)

    thread = threading.Thread(target=target, name=f"agentools-{name}", daemon=True)
    _THREADS[future] = thread
    thread.start()
    return future


def join_finished(futures: Iterable[Future[Any]]) -> None:
    """Join the threads of these futures that are done (they are ending, or have ended)."""
    for future in futures:
        thread = _THREADS.get(future)
        if thread is not None and future.done():
            thread.join()
