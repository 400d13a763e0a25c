"""Interleaved rounds: every contender once per round, the starting one rotated, each run checked.

Each run is timed twice: CPU time of this process (``time.process_time()``: the server is another
process, so this is the client's work alone) and wall time. A round's ratios divide each
contender's times by its baseline's in the same round (the bare SDK loop of its mode), so that a
slow moment of a shared machine moves both sides of a ratio; the suite reports the median of the
rounds' ratios.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Sequence

import attrs

from .contenders import Contender, check
from .workloads import Workload


@attrs.frozen
class Timing:
    cpu: float
    wall: float


@attrs.define
class Results:
    """Every run's timing, by workload name and contender name, in round order."""

    timings: dict[str, dict[str, list[Timing]]] = attrs.Factory(dict)

    def add(self, workload: str, contender: str, timing: Timing) -> None:
        self.timings.setdefault(workload, {}).setdefault(contender, []).append(timing)

    def ratios(self, workload: str, contender: str, baseline: str) -> tuple[float, float]:
        """Median over rounds of (CPU, wall) time divided by the baseline's of the same round."""
        runs = self.timings[workload]
        pairs = list(zip(runs[contender], runs[baseline], strict=True))
        return (
            statistics.median(mine.cpu / theirs.cpu for mine, theirs in pairs),
            statistics.median(mine.wall / theirs.wall for mine, theirs in pairs),
        )

    def median(self, workload: str, contender: str) -> Timing:
        runs = self.timings[workload][contender]
        return Timing(
            statistics.median(run.cpu for run in runs), statistics.median(run.wall for run in runs)
        )


class Runners:
    """Each contender's run function, made once, and the event loop the asyncio ones run on
    (one loop for the whole suite: their clients' connections belong to it)."""

    def __init__(self, contenders: Sequence[Contender], base_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.contenders = list(contenders)
        self.runs = {contender.name: contender.make(base_url) for contender in contenders}
        self.settle()

    @staticmethod
    def settle() -> None:
        """Collect, then freeze what survives: the collection before each run then only visits
        what is new since (a full one visits every import's objects: half a second here)."""
        gc.collect()
        gc.freeze()

    def once(self, contender: Contender, workload: Workload) -> Timing:
        """Run one conversation, check it, and give its times."""
        run = self.runs[contender.name]
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        if contender.mode == "blocking":
            outcome = run(workload)
        else:
            outcome = self.loop.run_until_complete(run(workload))  # type: ignore[arg-type]
        timing = Timing(time.process_time() - cpu, time.perf_counter() - wall)
        check(contender.name, workload, outcome)  # type: ignore[arg-type]
        return timing

    def rounds(self, workload: Workload, count: int, results: Results) -> None:
        """``count`` rounds of every contender on ``workload``, after one warm-up run each."""
        for contender in self.contenders:
            self.once(contender, workload)
        self.settle()
        for number in range(count):
            start = number % len(self.contenders)
            order = self.contenders[start:] + self.contenders[:start]
            for contender in order:
                results.add(workload.name, contender.name, self.once(contender, workload))

    def close(self) -> None:
        self.runs.clear()
        close_loop(self.loop)


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` once the clients that were dropped have closed their connections on it
    (an ``AsyncOpenAI`` collected later would schedule its close on whatever loop runs then)."""

    async def collect() -> None:
        gc.collect()
        await asyncio.sleep(0.05)

    loop.run_until_complete(collect())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
