"""Tool arguments as they stream: what previews and streaming tools receive.

An ``ArgumentStream`` is a channel from the runner, which parses a tool call's arguments while the
model writes them, to a consumer running beside it (a preview, or a streaming tool). It never
makes the model's stream wait:

- it holds only the latest snapshot: a consumer slower than the model skips intermediate ones
  (each snapshot holds everything before it, so nothing is lost but intermediate states);
- a snapshot is a copy of the arguments' containers (their strings are shared, as Python strings
  are immutable), made when the arguments start, then only when the consumer is waiting for one
  and at most once per interval (``ArgumentStream.interval``, 0.05 s by default), and at the
  end (the final one, always delivered). So the stream's cost is
  O(size of the arguments) per handed-over snapshot, whatever the number of chunks, and a
  consumer gets the arguments as they were at most one chunk (or one interval) ago.

Iterating ends normally after the final, complete snapshot. It raises ``ArgumentStreamClosed``
instead when the arguments will never be complete: cut by the output token limit (``"cut"``),
not valid for the tool (``"invalid"``), or the run failed or was cancelled (``"cancelled"``).
A consumer should let that exception end it (cleaning up what it started).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

import attrs

from ._errors import AgentoolsError, MisuseError

__all__ = ["ArgumentStream", "ArgumentStreamClosed", "ArgumentSnapshot"]

T = TypeVar("T")


class ArgumentStreamClosed(AgentoolsError):
    """The arguments will never be complete; ``reason`` is ``"cut"``, ``"invalid"`` or
    ``"cancelled"``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"the tool call's arguments stream was closed: {reason}{detail}")
        self.reason = reason


@attrs.frozen(kw_only=True)
class ArgumentSnapshot:
    """The arguments as far as they have come: ``arguments`` is a dict of the members received
    (an unfinished string as far as it has come), ``complete`` the names of the top-level members
    that are finished, and ``done`` whether all the arguments are."""

    arguments: dict[str, Any]
    complete: frozenset[str] = frozenset()
    done: bool = False

    def is_complete(self, name: str) -> bool:
        return self.done or name in self.complete


_OPEN, _COMPLETE, _CLOSED = "open", "complete", "closed"


class ArgumentStream(Generic[T]):
    """Snapshots of one tool call's arguments for one consumer; ``final`` is the structured value
    once they are complete. Safe to produce from one thread and consume from another, with
    ``for`` (blocking) or ``async for``."""

    interval: float = 0.05

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._latest: ArgumentSnapshot | None = None
        self._version = 0
        self._taken = 0
        self._state = _OPEN
        self._closed: ArgumentStreamClosed | None = None
        self._final: Any = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._waiting = False

    # -- consumer side -----------------------------------------------------------------------

    @property
    def final(self) -> T:
        """The complete arguments, structured into the tool's argument type."""
        with self._condition:
            if self._state != _COMPLETE:
                raise MisuseError("the arguments are not complete yet")
            value: T = self._final
            return value

    def __iter__(self) -> Iterator[ArgumentSnapshot]:
        while True:
            with self._condition:
                self._waiting = True
                self._condition.wait_for(self._ready)
                snapshot = self._take()
            if snapshot is None:
                return
            yield snapshot

    async def __aiter__(self) -> AsyncIterator[ArgumentSnapshot]:
        loop = asyncio.get_running_loop()
        while True:
            with self._condition:
                ready = self._ready()
                if ready:
                    snapshot = self._take()
                else:
                    event = asyncio.Event()
                    self._waiters.append((loop, event))
                    self._waiting = True
            if not ready:
                await event.wait()
                continue
            if snapshot is None:
                return
            yield snapshot

    def _ready(self) -> bool:
        return self._version > self._taken or self._state != _OPEN

    def _take(self) -> ArgumentSnapshot | None:
        """The next snapshot, ``None`` at the normal end; raises if the stream was closed."""
        self._waiting = False
        if self._version > self._taken:
            self._taken = self._version
            return self._latest
        if self._closed is not None:
            raise self._closed
        return None

    # -- producer side: the loop's argument feeds (``agentools._core.feeds``) --------------------

    @property
    def _wants_snapshot(self) -> bool:
        """Is the consumer waiting for a snapshot it has not had? Only then is one worth making:
        one made while it is busy would be stale by the time it looks."""
        return self._waiting and self._taken == self._version

    def _publish(self, snapshot: ArgumentSnapshot) -> None:
        with self._condition:
            if self._state == _OPEN:
                self._latest = snapshot
                self._version += 1
                self._wake()

    def _complete(self, snapshot: ArgumentSnapshot, final: Any) -> None:
        """The last snapshot, and the structured value ``final`` returns."""
        with self._condition:
            if self._state == _OPEN:
                self._latest = snapshot
                self._version += 1
                self._final = final
                self._state = _COMPLETE
                self._wake()

    def _close(self, reason: str, detail: str = "") -> None:
        """The arguments will never be complete; the consumer's iteration raises."""
        with self._condition:
            if self._state == _OPEN:
                self._closed = ArgumentStreamClosed(reason, detail)
                self._state = _CLOSED
                self._version = self._taken  # what was not taken will never be
                self._wake()

    def _wake(self) -> None:
        self._condition.notify_all()
        waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its consumer is gone
                loop.call_soon_threadsafe(event.set)
