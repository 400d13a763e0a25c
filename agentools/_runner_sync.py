"""The blocking runner: the machine driven with ``openai.OpenAI``, and no event loop anywhere.

It works wherever a plain function call works: a script, a Django sync view, a worker thread, a
Jupyter cell whose thread already runs a loop. Parallel tool calls, previews and streaming tools
run in threads; an ``async def`` one runs on a private event loop in its own thread, never on the
caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from typing import Any, TypeVar

from openai import APIConnectionError, OpenAI, Stream
from openai.types.chat import ChatCompletionChunk

from ._errors import RunCancelled, malformed
from ._feeds import ArgumentFeeds, Consumer
from ._machine import NEED_INPUT, CallModel, Finished, Machine, RunTools
from ._threads import in_daemon_thread, join_finished
from .calls import ToolCallRequest, ToolResult
from .cancel import CancelToken
from .events import Event
from .tools import Invocation

__all__ = ["blocking_events"]

T = TypeVar("T")
Prepare = Callable[[ToolCallRequest], Invocation]


def blocking_events(
    machine: Machine, client: OpenAI, prepare: Prepare, feeds: ArgumentFeeds, cancel: CancelToken
) -> Generator[Event, None, None]:
    """Drive ``machine`` to the end, yielding every event it produces."""
    try:
        while True:
            cancel.raise_if_cancelled()
            step = machine.next_step()
            if isinstance(step, CallModel):
                feeds.start_message()
                try:
                    if step.stream:
                        yield from _stream(machine, client, step, feeds, cancel)
                    else:
                        completion = client.chat.completions.create(**step.request)
                        machine.receive_completion(completion)
                except APIConnectionError as error:  # timeouts included
                    if cancel.cancelled or not machine.can_retry:
                        raise
                    machine.retry(error)
                except json.JSONDecodeError as error:
                    raise malformed(error) from error
            elif isinstance(step, RunTools):
                with contextlib.closing(_run_tools(prepare, step.calls, feeds, cancel)) as results:
                    for result in results:
                        machine.receive_tool_result(result)
                        yield from _drain(machine, feeds)
                yield from feeds.error_events()
            elif isinstance(step, Finished):
                return
            elif step is NEED_INPUT:
                raise AssertionError("the machine waits for input the runner has given")
            else:
                _start(feeds.observe(step))
                yield step
    except Exception as error:
        if cancel.cancelled and not isinstance(error, RunCancelled):
            raise RunCancelled("the run was cancelled") from error
        raise
    finally:
        # Consumers are told the arguments will not come, then waited for: none is left behind
        # (a streaming tool abandoned at its timeout excepted: a thread cannot be stopped).
        feeds.close_all("cancelled")
        waited = [c.thread for c in feeds.consumers if c.thread is not None and not c.abandoned]
        wait(waited)
        join_finished(waited)


def _stream(
    machine: Machine, client: OpenAI, step: CallModel, feeds: ArgumentFeeds, cancel: CancelToken
) -> Iterator[Event]:
    with client.chat.completions.create(**step.request) as stream:
        forget = cancel.on_cancel(partial(_interrupt, stream))
        try:
            for chunk in stream:
                machine.receive_chunk(chunk)
                yield from _drain(machine, feeds)
        finally:
            forget()
    machine.receive_stream_end()


def _interrupt(stream: Stream[ChatCompletionChunk]) -> None:
    """Wake the runner's thread from a read that waits for the next chunk (called from the
    cancelling thread). Shutting the socket down makes that read fail at once; the runner's own
    ``with`` block then closes the response in its own thread."""
    network = stream.response.extensions.get("network_stream")
    connection = network.get_extra_info("socket") if network is not None else None
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def _drain(machine: Machine, feeds: ArgumentFeeds) -> Iterator[Event]:
    while (event := machine.next_event()) is not None:
        _start(feeds.observe(event))
        yield event
    yield from feeds.error_events()


def _run_on_own_loop(consumer: Consumer) -> Any:
    return asyncio.run(consumer.arun())


def _start(consumers: list[Consumer]) -> None:
    for consumer in consumers:
        work = partial(_run_on_own_loop, consumer) if consumer.is_async else consumer.run
        consumer.handle = consumer.thread = in_daemon_thread(
            work, "tool" if consumer.is_tool else "preview"
        )


class _PrivateLoop:
    """Runs an ``async def`` tool on a loop of its own in a worker thread, and lets another
    thread cancel it there (when the run stops early)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, invocation: Invocation) -> Any:
        return asyncio.run(self._main(invocation))

    async def _main(self, invocation: Invocation) -> Any:
        assert invocation.function is not None
        with self._lock:
            if self._cancelled:
                raise asyncio.CancelledError
            self._task, self._loop = asyncio.current_task(), asyncio.get_running_loop()
        coroutine = invocation.function(*invocation.args, **invocation.kwargs)
        return await asyncio.wait_for(coroutine, invocation.timeout)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._task is not None:
                with contextlib.suppress(RuntimeError):  # that loop has finished already
                    self._loop.call_soon_threadsafe(self._task.cancel)


def _call(invocation: Invocation, private: _PrivateLoop | None = None) -> ToolResult:
    assert invocation.function is not None
    try:
        if invocation.is_async:
            value = (private or _PrivateLoop()).run(invocation)
        else:
            value = invocation.function(*invocation.args, **invocation.kwargs)
    except TimeoutError as error:
        if invocation.is_async and invocation.timeout is not None:
            return invocation.timed_out()
        return invocation.failed(error)
    except Exception as error:
        return invocation.failed(error)
    return invocation.succeeded(value)


def _outcome(consumer: Consumer, invocation: Invocation) -> Future[ToolResult]:
    """A streaming tool's result, once the consumer already running it returns."""
    result: Future[ToolResult] = Future()

    def done(handle: Future[Any]) -> None:
        try:
            try:
                value = handle.result()
            except Exception as error:
                outcome = invocation.failed(error)  # raises again for raise_errors tools
            else:
                outcome = invocation.succeeded(value)
            result.set_result(outcome)
        except BaseException as raised:
            result.set_exception(raised)

    consumer.handle.add_done_callback(done)
    return result


def _run_tools(
    prepare: Prepare, calls: tuple[ToolCallRequest, ...], feeds: ArgumentFeeds, cancel: CancelToken
) -> Generator[ToolResult, None, None]:
    """Results as the calls finish. A lone sync call without a timeout runs in this thread."""
    invocations = [prepare(call) for call in calls]
    _start(feeds.complete(invocations))
    # Previews have the final arguments now; the tools run once they have shown them.
    wait([c.handle for c in feeds.message_consumers() if not c.is_tool])
    runnable, streaming = [], {}
    for invocation in invocations:
        consumer = feeds.tool_consumer(invocation.call)
        if invocation.result is not None:
            yield invocation.result
        elif consumer is not None:
            streaming[_outcome(consumer, invocation)] = (invocation, consumer)
        else:
            runnable.append(invocation)
    if not streaming and len(runnable) == 1:
        (only,) = runnable
        if not only.is_async and only.timeout is None:
            yield _call(only)
            runnable = []
    start = time.monotonic()
    loops = {i.call.id: _PrivateLoop() for i in runnable if i.is_async}
    pending = {
        in_daemon_thread(partial(_call, i, loops.get(i.call.id)), f"tool-{i.call.name}"): i
        for i in runnable
    }
    started = list(pending)
    consumers = {future: consumer for future, (_, consumer) in streaming.items()}
    pending.update({future: invocation for future, (invocation, _) in streaming.items()})
    deadlines = {
        future: start + invocation.timeout
        for future, invocation in pending.items()
        if invocation.timeout is not None and (future in consumers or not invocation.is_async)
    }
    cancelled: Future[None] = Future()

    def wake() -> None:
        if not cancelled.done():
            cancelled.set_result(None)

    forget = cancel.on_cancel(wake)
    try:
        while pending:
            now = time.monotonic()
            wait_for = min((deadlines[f] - now for f in pending if f in deadlines), default=None)
            waiting: list[Future[Any]] = [*pending, cancelled]
            done, _ = wait(waiting, timeout=wait_for, return_when=FIRST_COMPLETED)
            cancel.raise_if_cancelled()
            for future in done:
                del pending[future]
                yield future.result()
            now = time.monotonic()
            for future in [f for f in pending if deadlines.get(f, now + 1) <= now]:
                if future in consumers:
                    consumers[future].abandoned = True
                    consumers[future].stream.close("cancelled", ": the tool timed out")
                yield pending.pop(future).timed_out()
    finally:
        forget()
        # Left early (a hook or a raise_errors tool raised, or the run was cancelled): async
        # calls still running are cancelled on their loops, sync ones (threads cannot be) are
        # waited for, each up to its deadline, so none is left behind.
        for invocation in pending.values():
            if invocation.call.id in loops:
                loops[invocation.call.id].cancel()
        wait([f for f in pending if f not in deadlines])
        last = max((deadlines[f] for f in pending if f in deadlines), default=None)
        if last is not None:
            wait(pending, timeout=max(0.0, last - time.monotonic()))
        join_finished(started)
