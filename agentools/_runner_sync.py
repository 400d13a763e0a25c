"""The blocking runner: the machine driven with ``openai.OpenAI``, and no event loop anywhere.

It works wherever a plain function call works: a script, a Django sync view, a worker thread, a
Jupyter cell whose thread already runs a loop. Parallel tool calls run in threads; an ``async
def`` tool runs on a private event loop in its worker thread, never on the caller's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed

from openai import OpenAI

from ._machine import NEED_INPUT, CallModel, Finished, Machine, RunTools
from .calls import ToolCallRequest, ToolResult
from .events import Event
from .tools import Invocation, Toolset

__all__ = ["blocking_events"]


def blocking_events(machine: Machine, client: OpenAI, tools: Toolset) -> Iterator[Event]:
    """Drive ``machine`` to the end, yielding every event it produces."""
    while True:
        step = machine.next_step()
        if isinstance(step, CallModel):
            if step.stream:
                with client.chat.completions.create(**step.request) as stream:
                    for chunk in stream:
                        machine.receive_chunk(chunk)
                        while (event := machine.next_event()) is not None:
                            yield event
                machine.receive_stream_end()
            else:
                machine.receive_completion(client.chat.completions.create(**step.request))
        elif isinstance(step, RunTools):
            for result in _run_tools(tools, step.calls):
                machine.receive_tool_result(result)
                while (event := machine.next_event()) is not None:
                    yield event
        elif isinstance(step, Finished):
            return
        elif step is NEED_INPUT:
            raise AssertionError("the machine waits for input the runner has given")
        else:
            yield step


def _call(invocation: Invocation) -> ToolResult:
    assert invocation.function is not None
    try:
        value = invocation.function(*invocation.args, **invocation.kwargs)
        if invocation.is_async:
            value = asyncio.run(value)
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


def _run_tools(tools: Toolset, calls: tuple[ToolCallRequest, ...]) -> Iterator[ToolResult]:
    """Results as the calls finish: one sync call runs in this thread, more run in parallel."""
    runnable = []
    for invocation in map(tools.prepare, calls):
        if invocation.result is not None:
            yield invocation.result
        else:
            runnable.append(invocation)
    if len(runnable) == 1 and not runnable[0].is_async:
        yield _call(runnable[0])
    elif runnable:
        # Leaving early (a hook raised) still waits for the calls already running: a thread
        # cannot be stopped, and none may be left behind.
        with ThreadPoolExecutor(len(runnable), thread_name_prefix="agentools-tool") as pool:
            futures = [pool.submit(_call, invocation) for invocation in runnable]
            for future in as_completed(futures):
                yield future.result()
