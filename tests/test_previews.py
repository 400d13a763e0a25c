"""Previews and streaming tools, under both runners, streamed and not: they see the arguments as
they grow, never stall the stream, are told when the arguments will not come, and leave nothing
running."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import Any

import attrs
import openai
import pytest
from typing_extensions import NotRequired, TypedDict

from agentools import FunctionTool, Hooks, ToolCall, ToolRegistry, function_tool
from agentools._core.tool_calls import Invocation, prepare
from agentools.hooks import RecordingHooks
from agentools.streaming import ArgumentSnapshot, ArgumentStream, ArgumentStreamClosed
from agentools.testing import Chunking, DropAfter, FakeOpenAIServer, StallAfter, ToolCallSpec, Turn

from .support import Bot, Runner, agentools_threads

CONTENT = "line one\nline two with \u00e9\nline three\n" * 4
ARGUMENTS = {"path": "notes.txt", "content": CONTENT}


@pytest.fixture(autouse=True)
def no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hand over a snapshot whenever the consumer is ready, so tests see many of them.
    monkeypatch.setattr(ArgumentStream, "interval", 0.0)


def write_turn(**kwargs: Any) -> Turn:
    return Turn(
        tool_calls=[ToolCallSpec(name="write_file", arguments=ARGUMENTS, id="call_w")],
        chunking=Chunking(arguments=4),
        **kwargs,
    )


@attrs.frozen
class WriteFile:
    path: str
    content: str


def closing_writer(outcome: list[str]) -> FunctionTool[..., str]:
    """A streaming tool that records how its argument stream ended."""

    @function_tool
    def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file."""
        try:
            for _ in args:
                pass
        except ArgumentStreamClosed as closed:
            outcome.append(closed.reason)
            raise
        outcome.append("complete")
        return "written"

    return write_file


def test_preview_sees_growing_arguments_then_the_final_ones(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    snapshots: list[ArgumentSnapshot] = []
    snapshots_at_run: list[int] = []

    @function_tool
    def write_file(path: str, content: str) -> str:
        """Writes a file."""
        snapshots_at_run.append(len(snapshots))
        return "written"

    @write_file.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        snapshots.append(snapshot)

    server.add(write_turn(), Turn(text="Done."))
    assistant = bot(tools=[write_file], stream=stream)
    assert runner.run(assistant, "write") == "Done."

    assert snapshots[-1] == ArgumentSnapshot(
        arguments=ARGUMENTS, complete=frozenset(ARGUMENTS), done=True
    )
    assert snapshots_at_run == [len(snapshots)]  # every preview call happened before the tool ran
    if not stream:
        assert len(snapshots) == 1
        return
    # How many snapshots come before the final one depends on how fast the preview is, and how
    # soon its thread starts: it gets the latest, never a stale one (the paced streaming-tool
    # test below shows the arguments growing step by step).
    for snapshot in snapshots[:-1]:
        assert not snapshot.done
        for name, value in snapshot.arguments.items():
            assert ARGUMENTS[name].startswith(value)
        if "content" in snapshot.arguments:
            assert snapshot.is_complete("path")
        if snapshot.arguments.get("content") != CONTENT:
            assert not snapshot.is_complete("content")


def test_async_preview_and_its_errors_go_to_the_hook(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    @function_tool
    def write_file(path: str, content: str) -> str:
        """Writes a file."""
        return "written"

    calls = []

    @write_file.preview
    async def show(snapshot: ArgumentSnapshot) -> None:
        await asyncio.sleep(0)
        calls.append(snapshot.done)
        if "content" in snapshot.arguments or snapshot.done:
            raise ValueError(f"cannot render {snapshot.arguments.get('path')}")

    server.add(write_turn(), Turn(text="Done."))
    hooks = RecordingHooks()
    assistant = bot(tools=[write_file], hooks=hooks, stream=stream)
    assert runner.run(assistant, "write") == "Done."

    errors = hooks.args_of("on_preview_error")
    assert errors
    assert all(call.name == "write_file" for call, _ in errors)
    assert all(str(error) == "cannot render notes.txt" for _, error in errors)
    assert calls[-1] is True
    names = hooks.names()
    # A preview's errors are reported before the next model call's events.
    assert max(i for i, n in enumerate(names) if n == "on_preview_error") < names.index("on_text")
    assert [r.content for _, r in hooks.args_of("on_tool_result")] == ["written"]


def test_a_slow_preview_never_stalls_the_stream(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    streamed_to_the_end = threading.Event()

    class Watch(Hooks):
        def on_partial_tool_call(self, call: Any) -> None:
            if call.is_complete():
                streamed_to_the_end.set()

    @function_tool
    def write_file(path: str, content: str) -> str:
        """Writes a file."""
        return "written"

    seen: list[bool] = []

    @write_file.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        if not seen:  # the first preview call blocks until the stream has gone past it
            seen.append(streamed_to_the_end.wait(timeout=10))
        else:
            seen.append(snapshot.done)

    server.add(write_turn(), Turn(text="Done."))
    assistant = bot(tools=[write_file], hooks=Watch())
    assert runner.run(assistant, "write") == "Done."
    assert seen == [True, True]  # it skipped the snapshots it was too slow for, not the last


def test_streaming_tool_consumes_arguments_while_they_stream(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    streams: list[ArgumentStream[WriteFile]] = []
    seen: list[ArgumentSnapshot] = []

    def ready(call: Any) -> bool:
        return not call.arguments or (bool(streams) and streams[0]._wants_snapshot)

    # The stream never waits for a consumer; to see every step, these hooks make each argument
    # delta wait until the tool is ready for the next snapshot (without blocking the loop).
    class Pace(Hooks):
        def on_partial_tool_call(self, call: Any) -> None:
            for _ in range(5000):
                if ready(call):
                    return
                time.sleep(0.001)

    class AsyncPace(Hooks):
        async def on_partial_tool_call(self, call: Any) -> None:
            for _ in range(5000):
                if ready(call):
                    return
                await asyncio.sleep(0.001)

    @function_tool
    def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file as its content streams in.

        Args:
            path: Where to write.
            content: What to write.
        """
        streams.append(args)
        written = ""
        for snapshot in args:
            seen.append(snapshot)
            written = snapshot.arguments.get("content", "")
        final = args.final
        assert isinstance(final, WriteFile)
        assert final.content == written
        return f"wrote {len(final.content)} characters to {final.path}"

    server.add(write_turn(), Turn(text="Done."))
    hooks = AsyncPace() if runner.is_async else Pace()
    assistant = bot(tools=[write_file], hooks=hooks, stream=stream)
    assert runner.run(assistant, "write") == "Done."

    assert server.requests[1].messages[-1] == {
        "role": "tool",
        "tool_call_id": "call_w",
        "content": f"wrote {len(CONTENT)} characters to notes.txt",
    }
    assert seen[-1].done
    contents = [s.arguments.get("content", "") for s in seen]
    assert all(CONTENT.startswith(c) for c in contents)
    if stream:  # it consumed the content while it streamed, in many steps
        assert len({c for c in contents if c != CONTENT}) > 10
    else:
        assert len(seen) == 1
    schema = server.requests[0].body["tools"][0]["function"]
    assert schema["name"] == "write_file"
    assert schema["description"] == "Writes a file as its content streams in."
    assert schema["parameters"]["required"] == ["path", "content"]
    assert schema["parameters"]["properties"]["path"]["description"] == "Where to write."
    assert agentools_threads() == []


def test_async_streaming_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    @function_tool
    async def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file."""
        count = 0
        async for _ in args:
            count += 1
        return f"{args.final.path} after {'some' if count else 'no'} snapshots"

    server.add(write_turn(), Turn(text="Done."))
    assistant = bot(tools=[write_file], stream=stream)
    runner.run(assistant, "write")
    assert server.requests[1].messages[-1]["content"] == "notes.txt after some snapshots"


def test_streaming_tool_is_told_when_the_arguments_are_cut(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    outcome: list[str] = []
    write_file = closing_writer(outcome)

    server.add(write_turn(finish_reason="length"))
    hooks = RecordingHooks()
    assistant = bot(tools=[write_file], hooks=hooks, stream=stream)
    runner.run(assistant, "write")

    assert outcome == (["cut"] if stream else [])
    assert hooks.args_of("on_tool_result") == []
    assert "cut off" in assistant.history.to_openai()[-1]["content"]
    assert agentools_threads() == []


def test_streaming_tool_is_told_when_the_arguments_do_not_fit(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    outcome: list[str] = []
    write_file = closing_writer(outcome)

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="write_file", arguments={"path": "x"})]),
        Turn(text="Sorry."),
    )
    assistant = bot(tools=[write_file], stream=stream)
    runner.run(assistant, "write")

    assert outcome == ["invalid"]
    content = server.requests[1].messages[-1]["content"]
    assert content.startswith("Error: ArgumentsError: argument 'content'")


def test_a_dropped_stream_closes_streaming_tools_and_previews(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    outcome: list[str] = []
    preview_ended = threading.Event()

    write_file = closing_writer(outcome)

    @function_tool
    def other(path: str, content: str) -> str:
        """Another."""
        return "x"

    @other.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        pass

    turn = Turn(
        tool_calls=[
            ToolCallSpec(name="write_file", arguments=ARGUMENTS),
            ToolCallSpec(name="other", arguments=ARGUMENTS),
        ],
        chunking=Chunking(arguments=4),
        fault=DropAfter(chunks=40),
    )
    server.add(turn, Turn(text="fine"))
    assistant = bot(tools=[write_file, other])
    with pytest.raises(openai.APIConnectionError):
        runner.run(assistant, "write")
    preview_ended.set()

    assert outcome == ["cancelled"]
    assert agentools_threads() == []
    assert assistant.history.to_openai() == [{"role": "user", "content": "write"}]
    assert runner.run(assistant, "again") == "fine"


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_cancelling_arun_cancels_the_streaming_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    started = asyncio.Event()
    outcome: list[str] = []

    @function_tool
    async def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file."""
        try:
            async for _ in args:
                started.set()
        except (ArgumentStreamClosed, asyncio.CancelledError) as stopped:
            outcome.append(type(stopped).__name__)
            raise
        return "written"

    server.add(write_turn(fault=StallAfter(chunks=20, seconds=5)))
    assistant = bot(tools=[write_file])

    async def main() -> None:
        task = asyncio.create_task(assistant.arun("write"))
        await asyncio.wait_for(started.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        assert assistant.history.to_openai() == [{"role": "user", "content": "write"}]

    runner.await_(main())
    assert outcome in (["CancelledError"], ["ArgumentStreamClosed"])


def test_streaming_tool_signatures_are_checked() -> None:
    from agentools import SchemaError

    with pytest.raises(SchemaError, match="exactly one parameter"):

        @function_tool
        def two(args: ArgumentStream[WriteFile], extra: int) -> str:
            """Two."""
            return ""

    with pytest.raises(SchemaError, match="attrs class, a dataclass or a TypedDict"):

        @function_tool
        def loose(args: ArgumentStream[dict]) -> str:  # type: ignore[type-arg]
            """Loose."""
            return ""


@attrs.frozen
class Tagged:
    path: str
    tags: list[str] = attrs.Factory(list)
    mode: str = "w"


@dataclasses.dataclass
class TaggedData:
    path: str
    tags: list[str] = dataclasses.field(default_factory=list)
    mode: str = "w"


class TaggedDict(TypedDict):
    path: str
    tags: NotRequired[list[str]]


@pytest.mark.parametrize("strict", [False, True], ids=["loose", "strict"])
@pytest.mark.parametrize(
    ("argument_type", "expected"),
    [(Tagged, Tagged("p")), (TaggedData, TaggedData("p")), (TaggedDict, {"path": "p"})],
    ids=["attrs", "dataclass", "typeddict"],
)
def test_streaming_tool_arguments_left_out_get_their_class_defaults(
    argument_type: type, expected: Any, strict: bool
) -> None:
    def write(args: ArgumentStream[Any]) -> str:
        """Writes."""
        return ""

    write.__annotations__ = {"args": ArgumentStream[argument_type], "return": str}  # type: ignore[valid-type]
    tool = FunctionTool(write, strict=strict)
    parameters = tool.signature.parameters
    assert parameters["required"] == (list(parameters["properties"]) if strict else ["path"])
    arguments: dict[str, Any] = {"path": "p"}
    if strict:  # the model sends every key, null for those it leaves to the class
        arguments.update(dict.fromkeys(list(parameters["properties"])[1:]))
    call = ToolCall(
        index=0, id="c", name="write", arguments=json.dumps(arguments), parsed=arguments
    )
    invocation = prepare(call, ToolRegistry([tool]))
    assert isinstance(invocation, Invocation)
    assert invocation.streamed == expected


def test_a_run_stopped_mid_stream_closes_the_streaming_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    outcome: list[str] = []

    class Stop(Exception):
        pass

    class Stopper(Hooks):
        def on_partial_tool_call(self, call: Any) -> None:
            if len(call.arguments) > 30:
                raise Stop

    write_file = closing_writer(outcome)

    server.add(write_turn(), Turn(text="fine"))
    assistant = bot(tools=[write_file], hooks=Stopper())
    with pytest.raises(Stop):
        runner.run(assistant, "write")
    assert outcome == ["cancelled"]
    assert agentools_threads() == []
    assert assistant.history.to_openai() == [{"role": "user", "content": "write"}]
    assert runner.run(assistant, "again", hooks=Hooks()) == "fine"
