"""Jobs in daemon threads, as ``concurrent.futures`` futures: what the blocking runner starts for
every consumer and tool call, and the asyncio runner for the sync ones.

A daemon thread, not a pool's: a tool abandoned at its timeout must hold up neither the run nor
the interpreter's exit, nor an ``asyncio.run()`` shutting its default executor down. Each job runs
in a copy of the starting thread's context variables, as ``asyncio.to_thread`` would. An
``async def`` job runs on a private event loop in its thread (never on the caller's), and
``stop()`` cancels it there from any thread; a sync job cannot be stopped: it is abandoned, runs
on unwatched, and the run does not wait for it.

A thread settles its future just before it ends, so ``Threads.join()`` joins the threads whose
futures are done: after it, "nothing left running" holds to the letter.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from concurrent.futures import Future
from typing import Any, Protocol

from .._core.tool_calls import Carried

__all__ = ["Job", "Threads", "Work", "run_here"]


class Job(Protocol):
    """A tool call or a consumer: called, it does its work (or gives a coroutine that does)."""

    @property
    def is_async(self) -> bool: ...

    @property
    def name(self) -> str: ...

    def __call__(self) -> Any: ...


class Work(Future[Any]):
    """A job's future, running in a thread of its own."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job
        self._lock = threading.Lock()
        self._stopped = False
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.abandoned = False
        """Past its deadline and not stoppable: nobody waits for it."""
        context = contextvars.copy_context()
        self.thread = threading.Thread(
            target=context.run, args=(self._run,), name=f"agentools-{job.name}", daemon=True
        )

    def stop(self) -> None:
        """Cancel an ``async def`` job on its loop; abandon a sync one."""
        if not self._job.is_async:
            self.abandoned = not self.done()
            return
        with self._lock:
            self._stopped = True
            if self._loop is not None and self._task is not None:
                with contextlib.suppress(RuntimeError):  # that loop has finished already
                    self._loop.call_soon_threadsafe(self._task.cancel)

    def _run(self) -> None:
        if not self.set_running_or_notify_cancel():
            return
        try:
            result = asyncio.run(self._main()) if self._job.is_async else self._job()
        except StopIteration as error:
            self.set_exception(Carried(error))
        except BaseException as error:
            self.set_exception(error)
        else:
            self.set_result(result)

    async def _main(self) -> Any:
        with self._lock:
            if self._stopped:
                raise asyncio.CancelledError
            self._task, self._loop = asyncio.current_task(), asyncio.get_running_loop()
        return await self._job()


class Threads:
    """The threads of one run."""

    def __init__(self) -> None:
        self._started: list[Work] = []

    def start(self, job: Job) -> Work:
        work = Work(job)
        self._started.append(work)
        work.thread.start()
        return work

    def running(self) -> list[Work]:
        """The threads to wait for before the run ends: all but the abandoned ones."""
        return [work for work in self._started if not work.abandoned]

    def join(self) -> None:
        """Join the threads whose futures are done (they are ending, or have ended)."""
        for work in self._started:
            if work.done():
                work.thread.join()


def run_here(job: Job) -> Work:
    """Run a sync job in this thread, now (in a copy of its context, as in a thread of its own):
    its outcome as a finished future."""
    work = Work(job)
    work.thread.run()
    return work
