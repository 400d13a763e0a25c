"""The blocking runner: the machine driven with ``openai.OpenAI``, and no event loop anywhere.

It works wherever a plain function call works: a script, a Django sync view, a worker thread, a
Jupyter cell whose thread already runs a loop. Parallel tool calls run in threads; an ``async
def`` tool runs on a private event loop in its worker thread, never on the caller's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from openai import OpenAI

from ._machine import NEED_INPUT, CallModel, Finished, Machine, RunTools
from .calls import ToolCallRequest, ToolResult
from .events import Event
from .tools import Invocation

__all__ = ["blocking_events"]

Prepare = Callable[[ToolCallRequest], Invocation]


def blocking_events(machine: Machine, client: OpenAI, prepare: Prepare) -> Iterator[Event]:
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
            for result in _run_tools(prepare, step.calls):
                machine.receive_tool_result(result)
                while (event := machine.next_event()) is not None:
                    yield event
        elif isinstance(step, Finished):
            return
        elif step is NEED_INPUT:
            raise AssertionError("the machine waits for input the runner has given")
        else:
            yield step


async def _bounded(invocation: Invocation) -> Any:
    assert invocation.function is not None
    coroutine = invocation.function(*invocation.args, **invocation.kwargs)
    return await asyncio.wait_for(coroutine, invocation.timeout)


def _call(invocation: Invocation) -> ToolResult:
    assert invocation.function is not None
    try:
        if invocation.is_async:
            value = asyncio.run(_bounded(invocation))  # a private loop, in this worker thread
        else:
            value = invocation.function(*invocation.args, **invocation.kwargs)
    except TimeoutError as error:
        if invocation.is_async and invocation.timeout is not None:
            return invocation.timed_out()
        return invocation.failed(error)
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


def _in_thread(invocation: Invocation) -> Future[ToolResult]:
    """Run the call in a daemon thread: one that times out is abandoned without blocking the run
    or the interpreter's exit."""
    future: Future[ToolResult] = Future()

    def target() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(_call(invocation))
            except BaseException as error:
                future.set_exception(error)

    name = f"agentools-tool-{invocation.call.name}"
    threading.Thread(target=target, name=name, daemon=True).start()
    return future


def _run_tools(prepare: Prepare, calls: tuple[ToolCallRequest, ...]) -> Iterator[ToolResult]:
    """Results as the calls finish. A lone sync call without a timeout runs in this thread."""
    runnable = []
    for invocation in map(prepare, calls):
        if invocation.result is not None:
            yield invocation.result
        else:
            runnable.append(invocation)
    if len(runnable) == 1 and not runnable[0].is_async and runnable[0].timeout is None:
        yield _call(runnable[0])
        return
    start = time.monotonic()
    pending = {_in_thread(invocation): invocation for invocation in runnable}
    deadlines = {
        future: start + invocation.timeout
        for future, invocation in pending.items()
        if invocation.timeout is not None and not invocation.is_async  # async ones time out inside
    }
    try:
        while pending:
            now = time.monotonic()
            wait_for = min((deadlines[f] - now for f in pending if f in deadlines), default=None)
            done, _ = wait(pending, timeout=wait_for, return_when=FIRST_COMPLETED)
            for future in done:
                del pending[future]
                yield future.result()
            now = time.monotonic()
            for future in [f for f in pending if deadlines.get(f, now + 1) <= now]:
                yield pending.pop(future).timed_out()
    finally:
        # Left early (a hook or a raise_errors tool raised): the calls still running are waited
        # for, each up to its deadline, so that none is left behind unannounced.
        wait([f for f in pending if f not in deadlines])
        last = max((deadlines[f] for f in pending if f in deadlines), default=None)
        if last is not None:
            wait(pending, timeout=max(0.0, last - time.monotonic()))
