"""Previews and streaming tools: which tool calls' arguments are read beside the stream, by whom,
and when each reader gets a snapshot.

The machine tells the feeds what happens to the arguments (they grew, the message starts again,
the calls are complete, cut, invalid, or the run stopped); the feeds answer with the consumers to
start, which the machine hands to the runner as a step. The runner only starts them (in a thread,
or as a task) and waits for them. Snapshots are handed over as ``agentools.streaming`` describes:
the latest only, throttled, the final one always.

A call gets its consumers when its first argument characters arrive and its tool has a preview or
streams its arguments; with ``stream=False``, when the calls are complete.
"""

from __future__ import annotations

import collections
import copy
import inspect
import time
from collections.abc import Callable
from typing import Any

import attrs

from ..calls import PartialToolCall, ToolCall
from ..streaming import ArgumentSnapshot, ArgumentStream, ArgumentStreamClosed
from ..tools import FunctionTool

__all__ = ["ArgumentFeeds", "Consumer"]

Lookup = Callable[[str], "FunctionTool[..., Any] | None"]


class Consumer:
    """A preview, or a streaming tool: work that reads one call's arguments while they stream.

    The runner calls it (``consumer()``) in a thread, or awaits it as a task when ``is_async``;
    a streaming tool's return value is its result.
    """

    __slots__ = ("_failures", "call", "function", "is_async", "is_tool", "name", "stream")

    def __init__(
        self,
        call: PartialToolCall | ToolCall,
        function: Callable[..., Any],
        *,
        is_tool: bool,
        failures: collections.deque[tuple[PartialToolCall | ToolCall, Exception]],
    ) -> None:
        self.call = call
        self.function = function
        self.is_tool = is_tool
        self.is_async = inspect.iscoroutinefunction(function)
        self.name = "tool" if is_tool else "preview"
        self.stream: ArgumentStream[Any] = ArgumentStream()
        self._failures = failures

    def __call__(self) -> Any:
        if self.is_tool:
            return self.function(self.stream)
        return self._preview_async() if self.is_async else self._preview()

    def _preview(self) -> None:
        try:
            for snapshot in self.stream:
                try:
                    self.function(snapshot)
                except Exception as error:
                    self._failures.append((self.call, error))
        except ArgumentStreamClosed:
            pass

    async def _preview_async(self) -> None:
        try:
            async for snapshot in self.stream:
                try:
                    await self.function(snapshot)
                except Exception as error:
                    self._failures.append((self.call, error))
        except ArgumentStreamClosed:
            pass

    def __repr__(self) -> str:
        return f"<Consumer {self.name} of {self.call.name!r}>"


@attrs.define(eq=False)
class _Feed:
    consumers: list[Consumer]
    call: PartialToolCall | ToolCall
    published_at: float = -1e9


def _snapshot(call: PartialToolCall | ToolCall, *, done: bool) -> ArgumentSnapshot:
    parsed = call.parsed if isinstance(call.parsed, dict) else {}
    arguments = copy.deepcopy(parsed)  # containers only: strings are shared
    if done or isinstance(call, ToolCall):
        return ArgumentSnapshot(arguments=arguments, complete=frozenset(arguments), done=True)
    complete = frozenset(name for name in arguments if call.is_complete(name))
    return ArgumentSnapshot(arguments=arguments, complete=complete, done=False)


class ArgumentFeeds:
    """The consumers of one run's tool-call arguments, and the previews' failures so far."""

    def __init__(self, lookup: Lookup, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup = lookup
        self._clock = clock
        self._feeds: dict[int, _Feed | None] = {}
        """The current message's calls by index; ``None``: a call whose tool has no consumer."""
        self.consumers: list[Consumer] = []
        """Every consumer of the run, started or not."""
        self.failures: collections.deque[tuple[PartialToolCall | ToolCall, Exception]] = (
            collections.deque()
        )
        """Previews' exceptions, appended from the consumers' threads or tasks."""

    def start_message(self) -> None:
        """A new model message: its calls are new, whatever their indices."""
        self._feeds = {}

    def arguments_grew(self, call: PartialToolCall) -> list[Consumer]:
        """The per-chunk path: returns the consumers to start now (this call's first, if any)."""
        feeds = self._feeds
        if call.index in feeds:
            feed = feeds[call.index]
            if feed is not None:
                feed.call = call
                self._offer(feed)
            return []
        feed = feeds[call.index] = self._attach(call)
        if feed is None:
            return []
        self._offer(feed, first=True)
        return feed.consumers

    def complete(
        self, call: ToolCall, *, final: Any = None, invalid: str | None = None
    ) -> list[Consumer]:
        """``call`` is complete: its consumers get the final arguments (a streaming tool's
        ``stream.final`` is ``final``), or, when the call is ``invalid`` (the reason), a closed
        stream. Returns the consumers to start now (``stream=False``: they start only now)."""
        started: list[Consumer] = []
        if call.index in self._feeds:
            feed = self._feeds[call.index]
        else:
            feed = self._feeds[call.index] = self._attach(call)
            if feed is not None:
                started = feed.consumers
        if feed is None:
            return started
        for consumer in feed.consumers:
            if invalid is not None:
                consumer.stream._close("invalid", f": {invalid}")
            else:
                value = final if consumer.is_tool else None
                consumer.stream._complete(_snapshot(call, done=True), value)
        return started

    def of_message(self) -> list[Consumer]:
        """The consumers of the current message's calls."""
        return [c for feed in self._feeds.values() if feed is not None for c in feed.consumers]

    def streaming_tool(self, call: ToolCall) -> Consumer | None:
        """The streaming tool already running for ``call``, if any."""
        feed = self._feeds.get(call.index)
        return next((c for c in feed.consumers if c.is_tool), None) if feed else None

    def approved_tool(self, call: ToolCall, final: Any) -> Consumer:
        """A streaming tool that needed approval and got it: its consumer, to start now, with
        the call's arguments complete (``final`` structured)."""
        tool = self._lookup(call.name)
        assert tool is not None
        consumer = self._consumer(call, tool.function, is_tool=True)
        self.consumers.append(consumer)
        consumer.stream._complete(_snapshot(call, done=True), final)
        return consumer

    def close_message(self, reason: str, detail: str = "") -> None:
        """The current message's arguments will not be complete (the call is made again)."""
        for consumer in self.of_message():
            consumer.stream._close(reason, detail)
        self._feeds = {}

    def close_all(self, reason: str) -> None:
        for consumer in self.consumers:
            consumer.stream._close(reason)

    def _attach(self, call: PartialToolCall | ToolCall) -> _Feed | None:
        tool = self._lookup(call.name)
        if tool is None:
            return None
        consumers = []
        if tool.preview_function is not None:
            consumers.append(self._consumer(call, tool.preview_function, is_tool=False))
        if tool.streams_arguments and tool.needs_approval is False:
            # One that needs approval starts once allowed (``approved_tool``), not while its
            # arguments stream.
            consumers.append(self._consumer(call, tool.function, is_tool=True))
        if not consumers:
            return None
        self.consumers.extend(consumers)
        return _Feed(consumers=consumers, call=call)

    def _consumer(
        self, call: PartialToolCall | ToolCall, function: Callable[..., Any], *, is_tool: bool
    ) -> Consumer:
        return Consumer(call, function, is_tool=is_tool, failures=self.failures)

    def _offer(self, feed: _Feed, *, first: bool = False) -> None:
        """Hand a snapshot to the consumers waiting for one (the first one to all: they have
        not started waiting yet)."""
        now = self._clock()
        ready = [c for c in feed.consumers if first or c.stream._wants_snapshot]
        if not ready or (not first and now - feed.published_at < ArgumentStream.interval):
            return  # the final snapshot is always handed over, so skipping loses nothing
        snapshot = _snapshot(feed.call, done=False)
        for consumer in ready:
            consumer.stream._publish(snapshot)
        feed.published_at = now
