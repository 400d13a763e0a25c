"""Work in a daemon thread, as a ``concurrent.futures.Future`` (both runners use it).

A daemon thread, not a pool's: a tool abandoned at its timeout must hold up neither the run nor
the interpreter's exit, nor an ``asyncio.run()`` shutting its default executor down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

__all__ = ["in_daemon_thread"]

T = TypeVar("T")


def in_daemon_thread(work: Callable[[], T], name: str) -> Future[T]:
    future: Future[T] = Future()

    def target() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work())
            except BaseException as error:
                future.set_exception(error)

    threading.Thread(target=target, name=f"agentools-{name}", daemon=True).start()
    return future
