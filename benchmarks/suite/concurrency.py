"""Many conversations at once: asyncio tasks on one client, threads on one client, parallel tools.

The clients are made with the SDK's defaults (timeouts, connection limits, retries): the question
is whether a contender answers every one of 1,000 conversations started together as a program
would write it, not how fast it could with tuning. A conversation counts as answered when its
deltas and answer check out.
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs

from .contenders import Contender, Outcome, WrongOutcome, check
from .rounds import Runners, close_loop
from .workloads import Workload


@attrs.frozen
class Crowd:
    """How a contender fared with ``started`` conversations at once."""

    contender: str
    started: int
    answered: int
    wall: float
    errors: str
    """The failures by kind (``ReadTimeout x3``), or ""."""


def _tally(
    name: str, workload: Workload, outcomes: Sequence[Outcome | BaseException], wall: float
) -> Crowd:
    errors: collections.Counter[str] = collections.Counter()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors[type(outcome).__name__] += 1
            continue
        try:
            check(name, workload, outcome)
        except WrongOutcome:
            errors["WrongOutcome"] += 1
    answered = len(outcomes) - sum(errors.values())
    said = ", ".join(f"{kind} x{count}" for kind, count in errors.most_common())
    return Crowd(name, len(outcomes), answered, wall, said)


def tasks(contender: Contender, base_url: str, workload: Workload, count: int) -> Crowd:
    """``count`` conversations as asyncio tasks gathered at once, on one client."""

    async def crowd() -> tuple[list[Outcome | BaseException], float]:
        run = contender.make_shared(base_url)
        start = time.perf_counter()
        outcomes = await asyncio.gather(
            *(run(workload) for _ in range(count)),  # type: ignore[misc]
            return_exceptions=True,
        )
        return outcomes, time.perf_counter() - start

    loop = asyncio.new_event_loop()
    try:
        outcomes, wall = loop.run_until_complete(crowd())
    finally:
        close_loop(loop)
    return _tally(contender.name, workload, outcomes, wall)


def threads(contender: Contender, base_url: str, workload: Workload, count: int) -> Crowd:
    """``count`` conversations, each in its own thread, on one client."""
    run = contender.make_shared(base_url)

    def guarded(_: int) -> Outcome | BaseException:
        try:
            return run(workload)  # type: ignore[return-value]
        except Exception as error:
            return error

    with ThreadPoolExecutor(count) as pool:
        start = time.perf_counter()
        outcomes = list(pool.map(guarded, range(count)))
        wall = time.perf_counter() - start
    return _tally(contender.name, workload, outcomes, wall)


def parallel_tools(
    runners: Runners, contender: Contender, workload: Workload, repeat: int
) -> float:
    """Median wall time of a conversation whose one turn calls several slow tools at once."""
    return statistics.median(runners.once(contender, workload).wall for _ in range(repeat))
