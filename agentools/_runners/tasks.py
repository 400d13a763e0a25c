"""What the asyncio runner starts and how a token cancels it: asyncio's side of the primitives
(``threads`` is the other).

``Tasks`` runs each job of one run as it can: an ``async def`` one as a task on this loop, a sync
one in a thread (so it never blocks the loop). ``TokenCanceller`` turns a ``CancelToken`` (set from
any thread) into a cancel of the run's task, delivered only while the task waits in the run (a
stream read, the tools, an ``async def`` hook), never while the caller holds the task between two
events; the ``CancelledError`` it causes is the token's, and the task is uncancelled when it
becomes ``RunCancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, cast

from ..cancel import CancelToken
from .threads import Job, Threads, Work

__all__ = ["Tasks", "TokenCanceller"]


class Tasks:
    def __init__(self) -> None:
        self._threads = Threads()
        self._handles: list[asyncio.Future[Any]] = []
        self._works: dict[asyncio.Future[Any], Work] = {}

    def start(self, job: Job) -> asyncio.Future[Any]:
        if job.is_async:
            handle: asyncio.Future[Any] = asyncio.ensure_future(job())
        else:
            work = self._threads.start(job)
            handle = asyncio.wrap_future(work)
            self._works[handle] = work
        self._handles.append(handle)
        return handle

    def stop(self, handle: asyncio.Future[Any]) -> None:
        """Cancel a task; abandon a thread (it cannot be stopped)."""
        work = self._works.get(handle)
        if work is None:
            handle.cancel()
        else:
            work.stop()

    def cancel_tasks(self) -> None:
        for handle in self._handles:
            if handle not in self._works:
                handle.cancel()

    async def finish(self) -> None:
        """Wait for every task and every thread not abandoned, then join the threads."""
        running = [h for h in self._handles if h not in self._works or not self._works[h].abandoned]
        await asyncio.gather(*running, return_exceptions=True)
        self._threads.join()


class TokenCanceller:
    def __init__(self, token: CancelToken) -> None:
        self._task = cast("asyncio.Task[Any]", asyncio.current_task())
        self._fired = False
        self.armed = False
        """The task waits in the run: a cancel may be delivered now."""
        self._loop = asyncio.get_running_loop()
        self._forget = token.on_cancel(self._schedule)

    def _schedule(self) -> None:
        """In the cancelling thread: the loop takes it from there."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over
            self._loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        if self.armed and not self._fired:
            self._fired = True
            self._task.cancel()

    def absorb(self, error: BaseException) -> None:
        """``error`` ends the run: if it is the token's cancel, the task is not cancelled."""
        if (
            self._fired
            and isinstance(error, asyncio.CancelledError)
            and sys.version_info >= (3, 11)
        ):
            self._task.uncancel()

    def close(self) -> None:
        self.armed = False
        self._forget()
