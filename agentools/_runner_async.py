"""The asyncio runner: the machine driven with ``openai.AsyncOpenAI``.

Parallel tool calls run as tasks; a sync tool runs in a thread (``asyncio.to_thread``) so it never
blocks the loop. Cancelling the run cancels the tool tasks and closes the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from openai import AsyncOpenAI

from ._machine import NEED_INPUT, CallModel, Finished, Machine, RunTools
from .calls import ToolCallRequest, ToolResult
from .events import Event
from .tools import Invocation

__all__ = ["async_events"]

Prepare = Callable[[ToolCallRequest], Invocation]


async def async_events(
    machine: Machine, client: AsyncOpenAI, prepare: Prepare
) -> AsyncIterator[Event]:
    """Drive ``machine`` to the end, yielding every event it produces."""
    while True:
        step = machine.next_step()
        if isinstance(step, CallModel):
            if step.stream:
                async with await client.chat.completions.create(**step.request) as stream:
                    async for chunk in stream:
                        machine.receive_chunk(chunk)
                        while (event := machine.next_event()) is not None:
                            yield event
                machine.receive_stream_end()
            else:
                machine.receive_completion(await client.chat.completions.create(**step.request))
        elif isinstance(step, RunTools):
            async for result in _run_tools(prepare, step.calls):
                machine.receive_tool_result(result)
                while (event := machine.next_event()) is not None:
                    yield event
        elif isinstance(step, Finished):
            return
        elif step is NEED_INPUT:
            raise AssertionError("the machine waits for input the runner has given")
        else:
            yield step


async def _call(invocation: Invocation) -> ToolResult:
    assert invocation.function is not None
    function, args, kwargs = invocation.function, invocation.args, invocation.kwargs
    running: Any = function(*args, **kwargs) if invocation.is_async else None
    if running is None:
        # A sync tool in a thread; on timeout the thread cannot be stopped and runs on.
        running = asyncio.to_thread(function, *args, **kwargs)
    try:
        value = await asyncio.wait_for(running, invocation.timeout)
    except TimeoutError as error:
        if invocation.timeout is not None:
            return invocation.timed_out()
        return invocation.failed(error)
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


async def _run_tools(
    prepare: Prepare, calls: tuple[ToolCallRequest, ...]
) -> AsyncIterator[ToolResult]:
    """Results as the calls finish; leaving early cancels the calls still running."""
    tasks = []
    for invocation in map(prepare, calls):
        if invocation.result is not None:
            yield invocation.result
        else:
            tasks.append(asyncio.ensure_future(_call(invocation)))
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
