"""The asyncio runner: the machine driven with ``openai.AsyncOpenAI``.

The blocking runner's loop, with tasks: hooks may be ``async def`` (awaited); an ``async def``
consumer or tool runs as a task on this loop, a sync one in a thread, so that it never blocks the
loop (``tasks``). A cancel through the run's token (from any thread) cancels this task where it
waits in the run, and becomes ``RunCancelled``; cancelling the task itself raises
``CancelledError`` as usual.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator
from typing import Any, cast

from openai import AsyncOpenAI

from .._core import NEED_INPUT, CallModel, Decide, Machine, RunTools, StartConsumers
from .._core.batch import ToolBatch
from .._core.feeds import Consumer
from .._core.tool_calls import Invocation
from .._dispatch import HookCalls
from ..cancel import CancelToken
from ..events import EVENT_TYPES, Event
from .tasks import Tasks, TokenCanceller

__all__ = ["AsyncRunner"]


class AsyncRunner:
    def __init__(
        self, machine: Machine, client: AsyncOpenAI, hooks: HookCalls, cancel: CancelToken
    ):
        self.machine, self.client, self.hooks, self.cancel = machine, client, hooks, cancel
        self.jobs = Tasks()
        self.consumers: dict[Consumer, asyncio.Future[Any]] = {}

    async def events(self) -> AsyncGenerator[Event, None]:
        """Drive the machine to the end, yielding every event once its hook has seen it."""
        machine, hooks = self.machine, self.hooks
        canceller = TokenCanceller(self.cancel)
        source: AsyncGenerator[None, None] = _idle()
        try:
            while True:
                canceller.armed = True  # while this task waits in the run, not in the caller
                step = machine.next_step()
                kind = type(step)
                if step is NEED_INPUT:
                    await anext(source)
                elif kind in EVENT_TYPES or kind is Decide:  # a decision: an event, answered
                    event = cast(Decide, step).event if kind is Decide else cast(Event, step)
                    call = hooks.get(type(event))
                    answer = None if call is None else call(event)
                    if inspect.isawaitable(answer):
                        answer = await answer
                    if kind is Decide:
                        machine.decide(answer)
                    canceller.armed = False
                    yield event
                elif isinstance(step, CallModel):
                    source = self._call_model(step)
                elif isinstance(step, RunTools):
                    source = self._run_tools(step)
                elif isinstance(step, StartConsumers):
                    for consumer in step.consumers:
                        self.consumers[consumer] = self.jobs.start(consumer)
                else:  # Finished
                    return
        except (Exception, asyncio.CancelledError) as error:
            canceller.absorb(error)
            raise machine.fail(error)  # noqa: B904 - the machine says what it becomes
        finally:
            canceller.close()
            await source.aclose()
            machine.close()
            if not machine.finished:
                self.jobs.cancel_tasks()
            await self.jobs.finish()

    async def _call_model(self, step: CallModel) -> AsyncGenerator[None, None]:
        api = self.machine.api
        await asyncio.sleep(step.delay)
        try:
            async with api.acall(
                self.client, step.request, stream=step.stream, decoding=step.decoding
            ) as chunks:
                async for chunk in chunks:
                    self.machine.receive_chunk(chunk)
                    yield
        except Exception as error:
            self.machine.receive_failure(error)
        else:
            self.machine.receive_end()
        yield

    async def _run_tools(self, step: RunTools) -> AsyncGenerator[None, None]:
        await asyncio.gather(*(self.consumers[c] for c in step.after), return_exceptions=True)
        batch = ToolBatch(self.machine, step, self._start)
        try:
            while batch.pending:
                timeout = batch.timeout()
                first = asyncio.FIRST_COMPLETED
                done, _ = await asyncio.wait(batch.pending, timeout=timeout, return_when=first)
                for future, late in batch.settle(done):
                    if late:
                        self.jobs.stop(future)
                    yield
            self.machine.receive_tools_done()
            yield
        finally:
            # Left early (a hook or a raise_errors tool raised, the run was cancelled): async calls
            # are cancelled, sync ones (threads cannot be) waited for, each up to its deadline.
            unbounded, bounded, last = batch.leftovers()
            for future in [*unbounded, *bounded]:
                self.jobs.stop(future)
            await asyncio.gather(*unbounded, return_exceptions=True)
            if bounded:
                await asyncio.wait(bounded, timeout=last)

    def _start(self, invocation: Invocation) -> asyncio.Future[Any]:
        """A streaming tool's running consumer; any other call, as a task or in a thread."""
        if invocation.consumer is not None:
            return self.consumers[invocation.consumer]
        return self.jobs.start(invocation)


async def _idle() -> AsyncGenerator[None, None]:
    return
    yield
