"""The books of one ``RunTools`` step while its calls run, the same for threads and for tasks.

The runner gives the batch a way to start a call and waits on the futures of the running ones,
as long as ``timeout()`` says. The batch starts the calls in order, no more than the step's
``limit`` at a time; tells the machine of each call that finished or ran past its ``timeout``
(``settle()``), counted from its own start; and, when the runner leaves early, says which calls
to wait for and for how long (``leftovers()``). Futures are ``concurrent.futures`` or
``asyncio`` ones: the batch only asks them for their result.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

from .steps import RunTools
from .tool_calls import Invocation

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["ToolBatch"]


class ToolBatch:
    def __init__(
        self,
        machine: Machine,
        step: RunTools,
        start: Callable[[Invocation], Any],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._machine = machine
        self._start = start
        self._limit = step.limit
        self._clock = clock
        self._waiting = collections.deque(step.invocations)
        self.pending: dict[Any, Invocation] = {}
        """Future -> the invocation it runs, for the started calls not yet fed back."""
        self._deadlines: dict[Any, float] = {}
        self._fill()

    def timeout(self) -> float | None:
        """How long the runner may wait before the next deadline (``None``: no deadline)."""
        now = self._clock()
        left = [self._deadlines[f] - now for f in self.pending if f in self._deadlines]
        return max(0.0, min(left)) if left else None

    def settle(self, done: Collection[Any]) -> Iterator[tuple[Any, bool]]:
        """Feed the machine each call whose future is in ``done`` or whose deadline has passed,
        and start waiting calls in their places; yields each such future once the machine knows,
        and whether it ran late (the runner stops it, or leaves it running unwatched if it
        cannot)."""
        now = self._clock()
        for future, invocation in list(self.pending.items()):
            late = future not in done and self._deadlines.get(future, math.inf) <= now
            if future not in done and not late:
                continue
            del self.pending[future]
            if late:
                self._machine.receive_tool_timeout(invocation)
            else:
                self._machine.receive_tool_outcome(invocation, future)
            self._fill()
            yield future, late

    def leftovers(self) -> tuple[list[Any], list[Any], float]:
        """For a runner leaving early: the calls still running with no deadline (to wait for),
        those with one (to wait for until the last deadline), and how long that is. Calls not
        started yet never will be."""
        self._waiting.clear()
        unbounded = [f for f in self.pending if f not in self._deadlines]
        bounded = [f for f in self.pending if f in self._deadlines]
        last = max((self._deadlines[f] for f in bounded), default=self._clock())
        return unbounded, bounded, max(0.0, last - self._clock())

    def _fill(self) -> None:
        while self._waiting and len(self.pending) < self._limit:
            invocation = self._waiting.popleft()
            future = self._start(invocation)
            self.pending[future] = invocation
            if invocation.timeout is not None:
                self._deadlines[future] = self._clock() + invocation.timeout
