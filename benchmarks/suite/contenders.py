"""What a contender is, and what one run of it must give (``roster`` lists them).

A contender is made once per suite run from the server's base URL (its clients and agents are
built then, outside the timing) and gives a function that runs one conversation of a workload
and returns what it saw. Blocking contenders are compared with the bare blocking SDK loop, asyncio
ones with the bare asyncio loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import attrs

from .workloads import Workload


@attrs.frozen
class Outcome:
    """What one conversation gave: the deltas the contender saw, and its answer."""

    text_deltas: int
    argument_deltas: int
    answer: str


class WrongOutcome(AssertionError):
    """A contender saw other deltas or gave another answer than the workload's."""


def check(name: str, workload: Workload, outcome: Outcome) -> None:
    """Fail loudly unless ``outcome`` is what ``workload`` says a correct client sees."""
    expected = Outcome(workload.text_deltas, workload.argument_deltas, workload.answer)
    if outcome != expected:
        raise WrongOutcome(
            f"{name} on {workload.name}: got {outcome.text_deltas} text and "
            f"{outcome.argument_deltas} argument deltas, answer {outcome.answer[:60]!r}; expected "
            f"{expected.text_deltas}, {expected.argument_deltas}, {expected.answer[:60]!r}"
        )


BlockingRun = Callable[[Workload], Outcome]
AsyncRun = Callable[[Workload], Awaitable[Outcome]]


@attrs.frozen
class Contender:
    """A named way to run a conversation: ``make(base_url)`` gives the function that runs one."""

    name: str
    mode: Literal["blocking", "async"]
    make: Callable[[str], BlockingRun] | Callable[[str], AsyncRun]
    shared: Callable[[str], BlockingRun] | Callable[[str], AsyncRun] | None = None
    """Like ``make``, for a function that may run many conversations at once (threads or
    tasks) on one client; None: ``make``'s already may."""

    def make_shared(self, base_url: str) -> BlockingRun | AsyncRun:
        """A run function that many threads or tasks may call at once."""
        return (self.shared or self.make)(base_url)

    @property
    def baseline(self) -> str:
        """The contender whose time this one's is divided by."""
        return "sdk" if self.mode == "blocking" else "sdk-async"
