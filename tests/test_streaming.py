"""ArgumentStream and the hand-over rules of the core's ArgumentFeeds, without a model: a consumer
in a thread or on an event loop, a producer driven step by step, a fake clock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentools import function_tool
from agentools._core.feeds import ArgumentFeeds
from agentools.calls import PartialToolCall, ToolCall
from agentools.partial_json import PartialJSONParser
from agentools.streaming import ArgumentSnapshot, ArgumentStream, ArgumentStreamClosed


def eventually(condition: Callable[[], bool]) -> None:
    """Wait for another thread to reach a state (bounded, never asserted on time)."""
    for _ in range(5000):
        if condition():
            return
        time.sleep(0.001)
    raise AssertionError("the condition never held")


def snap(content: str, *, done: bool = False) -> ArgumentSnapshot:
    return ArgumentSnapshot(arguments={"content": content}, done=done)


class Consumer(threading.Thread):
    def __init__(self, stream: ArgumentStream[Any]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.seen: list[ArgumentSnapshot] = []
        self.outcome: str | None = None
        self.proceed = threading.Semaphore(0)

    def run(self) -> None:
        try:
            for snapshot in self.stream:
                self.seen.append(snapshot)
                self.proceed.acquire(timeout=5)  # busy until the test lets it go on
        except ArgumentStreamClosed as closed:
            self.outcome = closed.reason
        else:
            self.outcome = "complete"


def test_latest_wins_and_the_final_snapshot_ends_the_iteration() -> None:
    stream: ArgumentStream[str] = ArgumentStream()
    consumer = Consumer(stream)
    consumer.start()
    eventually(lambda: stream._wants_snapshot)
    stream._publish(snap("a"))
    eventually(lambda: len(consumer.seen) == 1)
    assert not stream._wants_snapshot  # busy with "a"
    stream._publish(snap("ab"))
    stream._publish(snap("abc"))  # replaces "ab", never seen
    consumer.proceed.release()
    eventually(lambda: len(consumer.seen) == 2)
    stream._complete(snap("abcd", done=True), "FINAL")
    consumer.proceed.release()
    consumer.proceed.release()
    consumer.join(timeout=5)
    assert [s.arguments["content"] for s in consumer.seen] == ["a", "abc", "abcd"]
    assert consumer.outcome == "complete"
    assert stream.final == "FINAL"


@pytest.mark.parametrize("reason", ["cut", "invalid", "cancelled"])
def test_closing_tells_the_consumer_why(reason: str) -> None:
    stream: ArgumentStream[str] = ArgumentStream()
    consumer = Consumer(stream)
    consumer.start()
    stream._publish(snap("a"))
    eventually(lambda: len(consumer.seen) == 1)
    stream._publish(snap("ab"))  # not taken before the close: never will be
    stream._close(reason)
    consumer.proceed.release()
    consumer.join(timeout=5)
    assert consumer.outcome == reason
    assert [s.arguments["content"] for s in consumer.seen] == ["a"]
    with pytest.raises(RuntimeError, match="not complete"):
        _ = stream.final
    stream._complete(snap("abc", done=True), "late")  # ignored once closed
    with pytest.raises(RuntimeError):
        _ = stream.final


def test_async_consumer_fed_from_another_thread() -> None:
    stream: ArgumentStream[str] = ArgumentStream()

    def produce() -> None:
        for i in range(1, 30):
            eventually(lambda: stream._wants_snapshot)
            stream._publish(snap("x" * i))
        eventually(lambda: stream._wants_snapshot)
        stream._complete(snap("x" * 30, done=True), "done")

    async def consume() -> list[int]:
        seen = []
        async for snapshot in stream:
            seen.append(len(snapshot.arguments["content"]))
        return seen

    producer = threading.Thread(target=produce)
    producer.start()
    seen = asyncio.run(consume())
    producer.join(timeout=5)
    assert seen == list(range(1, 31))
    assert stream.final == "done"


@function_tool
def write(path: str, content: str) -> str:
    """Writes."""
    return "ok"


def partial(parser: PartialJSONParser, text: str) -> PartialToolCall:
    parser.feed(text)
    value = parser.value
    return PartialToolCall(
        index=0, id="c", name="write", arguments="...", parsed=value, parser=parser
    )


def test_feeds_hand_over_the_first_snapshot_then_throttle_then_the_final() -> None:
    shown: list[ArgumentSnapshot] = []
    write.preview(shown.append)
    try:
        now = [0.0]
        feeds = ArgumentFeeds({"write": write}.get, clock=lambda: now[0])
        parser = PartialJSONParser()
        (consumer,) = feeds.arguments_grew(partial(parser, '{"path": "a.txt", "con'))
        stream = consumer.stream
        # The first snapshot is there before the consumer even starts.
        first = next(iter(stream))
        assert first == ArgumentSnapshot(arguments={"path": "a.txt"}, complete=frozenset({"path"}))
        stream._waiting = True  # what the consumer's next wait does
        now[0] = 0.01  # within the interval: no copy made
        assert feeds.arguments_grew(partial(parser, 'tent": "he')) == []
        assert stream._wants_snapshot
        now[0] = 0.2  # past it: the latest arguments are handed over
        feeds.arguments_grew(partial(parser, "llo"))
        assert not stream._wants_snapshot
        second = next(iter(stream))
        assert second.arguments == {"path": "a.txt", "content": "hello"}
        assert second.complete == {"path"}
        # The snapshot is a copy: the parser's live value goes on growing without touching it.
        parser.feed(" world")
        assert second.arguments["content"] == "hello"
        final_arguments = {"path": "a.txt", "content": "hello world"}
        call = ToolCall(index=0, id="c", name="write", arguments="...", parsed=final_arguments)
        assert feeds.complete(call) == []  # already running
        final = list(stream)
        assert final == [
            ArgumentSnapshot(
                arguments={"path": "a.txt", "content": "hello world"},
                complete=frozenset({"path", "content"}),
                done=True,
            )
        ]
    finally:
        write.preview_function = None


def test_max_tokens_closes_every_stream_as_cut() -> None:
    write.preview(lambda snapshot: None)
    try:
        feeds = ArgumentFeeds({"write": write}.get)
        (consumer,) = feeds.arguments_grew(partial(PartialJSONParser(), '{"path": "a'))
        feeds.close_all("cut")  # what the machine does when the answer is cut
        with pytest.raises(ArgumentStreamClosed) as closed:
            list(consumer.stream)
        assert closed.value.reason == "cut"
    finally:
        write.preview_function = None


def test_calls_without_consumers_cost_nothing() -> None:
    feeds = ArgumentFeeds({"write": write}.get)
    assert feeds.arguments_grew(partial(PartialJSONParser(), '{"path": "a')) == []
    assert feeds.consumers == []
