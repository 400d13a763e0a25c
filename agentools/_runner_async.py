"""The asyncio runner: the machine driven with ``openai.AsyncOpenAI``.

Parallel tool calls, previews and streaming tools run as tasks; a sync one runs in a thread
(``asyncio.to_thread``) so it never blocks the loop. Cancelling the run closes the stream and
cancels the tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future as ConcurrentFuture
from functools import partial
from typing import Any

from openai import APIConnectionError, AsyncOpenAI

from ._errors import malformed
from ._feeds import ArgumentFeeds, Consumer
from ._machine import NEED_INPUT, CallModel, Finished, Machine, RunTools
from ._threads import in_daemon_thread, join_finished
from .calls import ToolCallRequest, ToolResult
from .events import Event
from .tools import Invocation, ToolTimeoutError

__all__ = ["async_events"]

Prepare = Callable[[ToolCallRequest], Invocation]


async def async_events(
    machine: Machine, client: AsyncOpenAI, prepare: Prepare, feeds: ArgumentFeeds
) -> AsyncGenerator[Event, None]:
    """Drive ``machine`` to the end, yielding every event it produces."""
    finished = False
    try:
        while True:
            step = machine.next_step()
            if isinstance(step, CallModel):
                feeds.start_message()
                try:
                    if step.stream:
                        async with await client.chat.completions.create(**step.request) as stream:
                            async for chunk in stream:
                                machine.receive_chunk(chunk)
                                for event in _drain(machine, feeds):
                                    yield event
                        machine.receive_stream_end()
                    else:
                        completion = await client.chat.completions.create(**step.request)
                        machine.receive_completion(completion)
                except APIConnectionError as error:  # timeouts included
                    if not machine.can_retry:
                        raise
                    machine.retry(error)
                except json.JSONDecodeError as error:
                    raise malformed(error) from error
            elif isinstance(step, RunTools):
                # Closed explicitly: an abandoned async generator's cleanup (cancelling the
                # tools still running) would wait for the loop's finaliser.
                async with contextlib.aclosing(_run_tools(prepare, step.calls, feeds)) as results:
                    async for result in results:
                        machine.receive_tool_result(result)
                        for event in _drain(machine, feeds):
                            yield event
                for event in feeds.error_events():
                    yield event
            elif isinstance(step, Finished):
                finished = True
                return
            elif step is NEED_INPUT:
                raise AssertionError("the machine waits for input the runner has given")
            else:
                _start(feeds.observe(step))
                yield step
    finally:
        # Consumers are told the arguments will not come. After a failure the async ones are
        # also cancelled; the sync ones (threads, which cannot be) are waited for.
        feeds.close_all("cancelled")
        handles = [c.handle for c in feeds.consumers if c.handle is not None and not c.abandoned]
        if not finished:
            for consumer in feeds.consumers:
                if consumer.is_async and consumer.handle is not None:
                    consumer.handle.cancel()
        await asyncio.gather(*handles, return_exceptions=True)
        join_finished(c.thread for c in feeds.consumers if c.thread is not None)


def _drain(machine: Machine, feeds: ArgumentFeeds) -> list[Event]:
    events = []
    while (event := machine.next_event()) is not None:
        _start(feeds.observe(event))
        events.append(event)
    return events + list(feeds.error_events())


def _start(consumers: list[Consumer]) -> None:
    for consumer in consumers:
        if consumer.is_async:
            consumer.handle = asyncio.ensure_future(consumer.arun())
        else:
            name = "tool" if consumer.is_tool else "preview"
            consumer.thread = in_daemon_thread(consumer.run, name)
            consumer.handle = asyncio.wrap_future(consumer.thread)


async def _bounded(invocation: Invocation, running: Any) -> ToolResult:
    """Await a call's work within its timeout, as a ``ToolResult``."""
    try:
        value = await asyncio.wait_for(running, invocation.timeout)
    except TimeoutError as error:
        if invocation.timeout is not None:
            return invocation.timed_out()
        return invocation.failed(error)
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


async def _streamed(invocation: Invocation, consumer: Consumer) -> ToolResult:
    """A streaming tool's result, once the consumer already running it returns. Its task is
    shielded here: whether to cancel it is decided where the run ends."""
    try:
        value = await asyncio.wait_for(asyncio.shield(consumer.handle), invocation.timeout)
    except TimeoutError as error:
        if invocation.timeout is None:
            return invocation.failed(error)
        consumer.stream.close("cancelled", ": the tool timed out")
        if consumer.is_async:
            consumer.handle.cancel()
        else:
            consumer.abandoned = True  # a thread cannot be stopped
        return invocation.timed_out()
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


def _in_thread(invocation: Invocation) -> ConcurrentFuture[Any]:
    """A sync tool, started in a thread (with the caller's context variables, as
    ``asyncio.to_thread`` would)."""
    assert invocation.function is not None
    work = partial(
        contextvars.copy_context().run, invocation.function, *invocation.args, **invocation.kwargs
    )
    return in_daemon_thread(work, f"tool-{invocation.call.name}")


async def _run_tools(
    prepare: Prepare, calls: tuple[ToolCallRequest, ...], feeds: ArgumentFeeds
) -> AsyncGenerator[ToolResult, None]:
    """Results as the calls finish; leaving early cancels the calls still running."""
    invocations = [prepare(call) for call in calls]
    _start(feeds.complete(invocations))
    # Previews have the final arguments now; the tools run once they have shown them.
    previews = [c.handle for c in feeds.message_consumers() if not c.is_tool]
    await asyncio.gather(*previews, return_exceptions=True)
    tasks = []
    threads: dict[str, ConcurrentFuture[Any]] = {}
    for invocation in invocations:
        consumer = feeds.tool_consumer(invocation.call)
        if invocation.result is not None:
            yield invocation.result
        elif consumer is not None:
            tasks.append(asyncio.ensure_future(_streamed(invocation, consumer)))
        elif invocation.is_async:
            assert invocation.function is not None
            running = invocation.function(*invocation.args, **invocation.kwargs)
            tasks.append(asyncio.ensure_future(_bounded(invocation, running)))
        else:
            thread = threads[invocation.call.id] = _in_thread(invocation)
            # Shielded: cancelling the wait must not pretend to stop the thread.
            waiting = asyncio.shield(asyncio.wrap_future(thread))
            tasks.append(asyncio.ensure_future(_bounded(invocation, waiting)))
    try:
        for next_done in asyncio.as_completed(tasks):
            result = await next_done
            if isinstance(result.error, ToolTimeoutError):
                threads.pop(result.call_id, None)  # abandoned: a thread cannot be stopped
            yield result
    finally:
        # Left early (a hook or a raise_errors tool raised, or the run was cancelled): async
        # calls are cancelled, sync ones (threads) are waited for, so none is left behind.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        running_threads = [asyncio.wrap_future(t) for t in threads.values() if not t.done()]
        await asyncio.gather(*running_threads, return_exceptions=True)
        join_finished(threads.values())
