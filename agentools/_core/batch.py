"""The books of one ``RunTools`` step while its calls run, the same for threads and for tasks.

The runner starts each invocation and waits on the futures, as long as ``timeout()`` says; the
batch tells the machine of each call that finished or ran past its ``timeout`` (``settle()``) and,
when the runner leaves early, which calls to wait for and for how long (``leftovers()``). Futures
are ``concurrent.futures`` or ``asyncio`` ones: the batch only asks them for their result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

from .tool_calls import Invocation

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["ToolBatch"]


class ToolBatch:
    def __init__(
        self,
        machine: Machine,
        started: dict[Any, Invocation],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._machine = machine
        self._clock = clock
        self.pending = started
        """Future -> the invocation it runs, for the calls not yet fed back."""
        now = clock()
        self._deadlines = {
            future: now + invocation.timeout
            for future, invocation in started.items()
            if invocation.timeout is not None
        }

    def timeout(self) -> float | None:
        """How long the runner may wait before the next deadline (``None``: no deadline)."""
        now = self._clock()
        left = [self._deadlines[f] - now for f in self.pending if f in self._deadlines]
        return max(0.0, min(left)) if left else None

    def settle(self, done: Collection[Any]) -> Iterator[tuple[Any, bool]]:
        """Feed the machine each call whose future is in ``done`` or whose deadline has passed;
        yields each such future once the machine knows, and whether it ran late (the runner
        stops it, or leaves it running unwatched if it cannot)."""
        now = self._clock()
        for future, invocation in list(self.pending.items()):
            if future in done:
                del self.pending[future]
                self._machine.receive_tool_outcome(invocation, future)
                yield future, False
            elif self._deadlines.get(future, math.inf) <= now:
                del self.pending[future]
                self._machine.receive_tool_timeout(invocation)
                yield future, True

    def leftovers(self) -> tuple[list[Any], list[Any], float]:
        """For a runner leaving early: the calls still running with no deadline (to wait for),
        those with one (to wait for until the last deadline), and how long that is."""
        unbounded = [f for f in self.pending if f not in self._deadlines]
        bounded = [f for f in self.pending if f in self._deadlines]
        last = max((self._deadlines[f] for f in bounded), default=self._clock())
        return unbounded, bounded, max(0.0, last - self._clock())
