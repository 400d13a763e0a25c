"""The asyncio runner: the machine driven with ``openai.AsyncOpenAI``.

Parallel tool calls run as tasks; a sync tool runs in a thread (``asyncio.to_thread``) so it never
blocks the loop. Cancelling the run cancels the tool tasks and closes the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from openai import AsyncOpenAI

from ._machine import NEED_INPUT, CallModel, Finished, Machine, RunTools
from .calls import ToolCallRequest, ToolResult
from .events import Event
from .tools import Invocation, Toolset

__all__ = ["async_events"]


async def async_events(
    machine: Machine, client: AsyncOpenAI, tools: Toolset
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
            async for result in _run_tools(tools, step.calls):
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
    try:
        if invocation.is_async:
            value = await invocation.function(*invocation.args, **invocation.kwargs)
        else:
            value = await asyncio.to_thread(
                invocation.function, *invocation.args, **invocation.kwargs
            )
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


async def _run_tools(
    tools: Toolset, calls: tuple[ToolCallRequest, ...]
) -> AsyncIterator[ToolResult]:
    """Results as the calls finish; leaving early cancels the calls still running."""
    tasks = []
    for invocation in map(tools.prepare, calls):
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
