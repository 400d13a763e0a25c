"""Previews and streaming tools: which tool calls' arguments are consumed beside the stream, and
when a consumer gets a snapshot. Both runners use this; they only start the consumers (in a
thread, or as a task) and wait for them.

A call gets consumers when its first argument characters arrive and its tool has a preview or
streams its arguments; with ``stream=False``, when the calls are about to run. Snapshots are
handed over as ``agentools.streaming`` describes (latest only, throttled, final one always).
"""

from __future__ import annotations

import collections
import copy
import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .calls import PartialToolCall, ToolCallRequest
from .events import Event, MaxTokens, PreviewError, Retry, ToolCallDelta
from .streaming import ArgumentStream, ArgumentStreamClosed, Snapshot
from .tools import FunctionTool, Invocation

__all__ = ["ArgumentFeeds", "Consumer"]


def _preview_loop(
    function: Callable[[Snapshot], Any],
    stream: ArgumentStream[Any],
    report: Callable[[Exception], None],
) -> None:
    try:
        for snapshot in stream:
            try:
                function(snapshot)
            except Exception as error:
                report(error)
    except ArgumentStreamClosed:
        pass


async def _async_preview_loop(
    function: Callable[[Snapshot], Any],
    stream: ArgumentStream[Any],
    report: Callable[[Exception], None],
) -> None:
    try:
        async for snapshot in stream:
            try:
                await function(snapshot)
            except Exception as error:
                report(error)
    except ArgumentStreamClosed:
        pass


@attrs.define(eq=False)
class Consumer:
    """A preview loop or a streaming tool, to run beside the stream. ``handle`` is the runner's
    (a ``Future`` or a ``Task``)."""

    is_tool: bool
    is_async: bool
    stream: ArgumentStream[Any]
    function: Callable[..., Any]
    report: Callable[[Exception], None]
    handle: Any = None
    thread: Any = None
    """The ``concurrent.futures.Future`` of a sync consumer's thread, to join at the end."""
    abandoned: bool = False
    """Left running past its timeout (a thread cannot be stopped): not waited for."""

    def run(self) -> Any:
        """The sync consumer's work (the runner calls it in a thread)."""
        if self.is_tool:
            return self.function(self.stream)
        return _preview_loop(self.function, self.stream, self.report)

    async def arun(self) -> Any:
        """The ``async def`` consumer's work."""
        if self.is_tool:
            return await self.function(self.stream)
        return await _async_preview_loop(self.function, self.stream, self.report)


@attrs.define(eq=False)
class _Feed:
    consumers: list[Consumer]
    call: PartialToolCall | ToolCallRequest
    published_at: float = -1e9


def _snapshot(call: PartialToolCall | ToolCallRequest, *, done: bool) -> Snapshot:
    parsed = call.parsed if isinstance(call.parsed, dict) else {}
    arguments = copy.deepcopy(parsed)  # containers only: strings are shared
    if done or isinstance(call, ToolCallRequest):
        return Snapshot(arguments=arguments, complete=frozenset(arguments), done=True)
    complete = frozenset(name for name in arguments if call.is_complete(name))
    return Snapshot(arguments=arguments, complete=complete, done=False)


class ArgumentFeeds:
    """The consumers of one run's tool-call arguments."""

    def __init__(
        self,
        lookup: Callable[[str], FunctionTool[..., Any] | None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._feeds: dict[int, _Feed] = {}
        self._all: list[Consumer] = []
        self._errors: collections.deque[PreviewError] = collections.deque()

    @property
    def consumers(self) -> list[Consumer]:
        """Every consumer started in this run (for the runner to wait for or cancel)."""
        return self._all

    def observe(self, event: Event) -> list[Consumer]:
        """Follow the machine's events; returns the consumers to start now."""
        if isinstance(event, ToolCallDelta) and event.call.arguments:
            call = event.call
            feed = self._feeds.get(call.index)
            if feed is None:
                feed = self._attach(call)
                if feed is None:
                    return []
                self._offer(feed, first=True)
                return feed.consumers
            feed.call = call
            self._offer(feed)
            return []
        if isinstance(event, MaxTokens):
            self.close_all("cut")
        elif isinstance(event, Retry):
            # The call streams again from its start: its consumers start again too.
            for consumer in self.message_consumers():
                consumer.stream.close("cancelled", ": the model call is retried")
            self._feeds = {}
        return []

    def start_message(self) -> None:
        """A new model message: its calls are new, whatever their indices."""
        self._feeds = {}

    def message_consumers(self) -> list[Consumer]:
        """The consumers of the current message's calls."""
        return [consumer for feed in self._feeds.values() for consumer in feed.consumers]

    def complete(self, invocations: Iterable[Invocation]) -> list[Consumer]:
        """The calls are about to run: give every consumer the final arguments (or close its
        stream when they are not valid); returns consumers to start now (``stream=False``)."""
        started: list[Consumer] = []
        for invocation in invocations:
            call = invocation.call
            feed = self._feeds.get(call.index)
            if feed is None:
                feed = self._attach(call)
                if feed is None:
                    continue
                started.extend(feed.consumers)
            for consumer in feed.consumers:
                if invocation.result is not None:
                    detail = f": {invocation.result.content}"
                    consumer.stream.close("invalid", detail)
                else:
                    final = invocation.streamed if consumer.is_tool else None
                    consumer.stream.complete(_snapshot(call, done=True), final)
        return started

    def tool_consumer(self, call: ToolCallRequest) -> Consumer | None:
        """The running streaming tool that answers ``call``, if any."""
        feed = self._feeds.get(call.index)
        return next((c for c in feed.consumers if c.is_tool), None) if feed else None

    def close_all(self, reason: str) -> None:
        for consumer in self._all:
            consumer.stream.close(reason)

    def error_events(self) -> list[PreviewError]:
        """The previews' exceptions since last asked, as events for the hooks."""
        events = []
        while self._errors:
            events.append(self._errors.popleft())
        return events

    def _attach(self, call: PartialToolCall | ToolCallRequest) -> _Feed | None:
        tool = self._lookup(call.name)
        if tool is None:
            return None
        consumers = []
        if tool.preview_function is not None:
            consumers.append(self._consumer(call, tool.preview_function, is_tool=False))
        if tool.streams_arguments:
            consumers.append(self._consumer(call, tool.function, is_tool=True))
        if not consumers:
            return None
        feed = self._feeds[call.index] = _Feed(consumers=consumers, call=call)
        self._all.extend(consumers)
        return feed

    def _consumer(
        self,
        call: PartialToolCall | ToolCallRequest,
        function: Callable[..., Any],
        *,
        is_tool: bool,
    ) -> Consumer:
        def report(error: Exception) -> None:
            self._errors.append(PreviewError(call=call, error=error))

        return Consumer(
            is_tool=is_tool,
            is_async=inspect.iscoroutinefunction(function),
            stream=ArgumentStream(),
            function=function,
            report=report,
        )

    def _offer(self, feed: _Feed, *, first: bool = False) -> None:
        """Hand a snapshot to the consumers waiting for one (the first one to all: they have
        not started waiting yet)."""
        now = self._clock()
        ready = [c for c in feed.consumers if first or c.stream.wants_snapshot]
        if not ready or (not first and now - feed.published_at < ArgumentStream.interval):
            return  # the final snapshot is always handed over, so skipping loses nothing
        snapshot = _snapshot(feed.call, done=False)
        for consumer in ready:
            consumer.stream.publish(snapshot)
        feed.published_at = now
