"""The hooks that frame a run and its model calls: ``on_model_call`` / ``on_model_response``
around each call to the model, and ``on_response_error`` once when a run ends without its
answer, whatever ended it. Tracing (spans per run and per call) and logging are built on them, so
each must come exactly once, in order, under both runners."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentools import (
    AsyncHookError,
    CancelToken,
    Hooks,
    RunCancelled,
    ToolErrorsExceeded,
    function_tool,
    validate_history,
)
from agentools.events import BeforeModelCall, ModelCallDone, ModelCallStart, ResponseStart
from agentools.hooks import RecordingHooks
from agentools.testing import (
    Chunking,
    DropAfter,
    FakeOpenAIServer,
    StallAfter,
    ToolCallSpec,
    Turn,
)

from .support import Bot, Runner


@function_tool
def fails() -> str:
    """Always fails."""
    raise RuntimeError("boom")


def test_each_model_call_is_framed_by_its_start_and_its_answer(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        Turn(text="One.", fault=DropAfter(0)),  # broken: made again
        Turn(tool_calls=[ToolCallSpec(name="fails", arguments={})]),
        Turn(text="Done."),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[fails], hooks=hooks, stream=stream, stream_retries=1)

    assert runner.run(assistant, "Go") == "Done."

    framing = [
        (name, args)
        for name, args in hooks.calls
        if name in ("on_model_call", "on_model_response", "on_retry")
    ]
    model = assistant.settings.model
    assert [name for name, _ in framing] == [
        "on_model_call",
        "on_retry",
        "on_model_call",
        "on_model_response",
        "on_model_call",
        "on_model_response",
    ]
    assert [args for name, args in framing if name == "on_model_call"] == [
        (1, model, 0),
        (1, model, 1),  # the same call, made again: its retry's number
        (2, model, 0),
    ]
    responses = [args for name, args in framing if name == "on_model_response"]
    assert [(turn, reason) for turn, reason, _ in responses] == [(1, "tool_calls"), (2, "stop")]
    assert all(usage is not None and usage.total_tokens > 0 for _, _, usage in responses)
    assert "on_response_error" not in hooks.names()


def test_events_frame_each_model_call_too(server: FakeOpenAIServer, bot: Bot) -> None:
    server.add(Turn(text="Hi there.", chunking=Chunking(text=3)))
    with bot().response_events("Hi") as events:
        kinds = [type(event) for event in events]
    assert kinds[:3] == [ResponseStart, BeforeModelCall, ModelCallStart]
    assert kinds.count(ModelCallStart) == kinds.count(ModelCallDone) == 1
    assert kinds.index(ModelCallDone) > max(
        i for i, k in enumerate(kinds) if k.__name__ == "TextDelta"
    )


class Failures(RecordingHooks):
    def errors(self) -> list[BaseException]:
        return [error for (error,) in self.args_of("on_response_error")]


def test_a_cancelled_run_tells_on_response_error_once(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="x" * 40, chunking=Chunking(text=2), fault=StallAfter(5, seconds=5)))
    token = CancelToken()

    class CancelMidStream(Failures):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            super().on_partial_text(delta, snapshot)
            token.cancel()

    hooks = CancelMidStream()
    assistant = bot(hooks=hooks)
    with pytest.raises(RunCancelled) as raised:
        runner.run(assistant, "Go", cancel=token)
    assert hooks.errors() == [raised.value]
    assert validate_history(assistant.history.to_openai()) == []


def test_a_failing_run_tells_on_response_error_with_what_the_caller_gets(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    call = Turn(tool_calls=[ToolCallSpec(name="fails", arguments={})])
    server.add(call, call)
    hooks = Failures()
    assistant = bot(tools=[fails], hooks=hooks, max_tool_errors=2)
    with pytest.raises(ToolErrorsExceeded) as raised:
        runner.run(assistant, "Go")
    assert hooks.errors() == [raised.value]
    assert hooks.names()[-1] == "on_response_error"


def test_a_hook_that_raises_still_ends_with_on_response_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="Hello."))

    class Raises(Failures):
        def on_text(self, text: str) -> None:
            raise LookupError("the UI is gone")

    hooks = Raises()
    with pytest.raises(LookupError) as raised:
        runner.run(bot(hooks=hooks), "Go")
    assert hooks.errors() == [raised.value]


def test_an_error_raised_by_on_response_error_keeps_the_runs_error_as_its_context(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    call = Turn(tool_calls=[ToolCallSpec(name="fails", arguments={})])
    server.add(call)

    class Raises(Hooks):
        def on_response_error(self, error: BaseException) -> None:
            raise ValueError("reporting failed")

    with pytest.raises(ValueError, match="reporting failed") as raised:
        runner.run(bot(tools=[fails], hooks=Raises(), max_tool_errors=1), "Go")
    assert isinstance(raised.value.__context__, ToolErrorsExceeded)


def test_events_closed_early_tell_on_response_error_with_generator_exit(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="x" * 100, chunking=Chunking(text=2)))
    hooks = Failures()
    assistant = bot(hooks=hooks)
    if runner.is_async:

        async def scenario() -> None:
            async with assistant.aresponse_events("Go") as events:
                async for event in events:
                    if type(event).__name__ == "TextDelta":
                        break

        runner.await_(scenario())
    else:
        with assistant.response_events("Go") as events:
            for event in events:
                if type(event).__name__ == "TextDelta":
                    break
    (error,) = hooks.errors()
    assert isinstance(error, GeneratorExit)
    assert assistant.history.to_openai() == [{"role": "user", "content": "Go"}]


def test_an_async_on_response_error_is_awaited_when_the_task_is_cancelled(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    if not runner.is_async:
        pytest.skip("a task to cancel: asyncio only")
    server.add(Turn(text="x" * 40, chunking=Chunking(text=2), fault=StallAfter(5, seconds=5)))
    told: list[BaseException] = []

    async def scenario() -> None:
        started = asyncio.Event()

        class Async(Hooks):
            async def on_partial_text(self, delta: str, snapshot: str) -> None:
                started.set()

            async def on_response_error(self, error: BaseException) -> None:
                await asyncio.sleep(0)  # really awaited, in the cancelled task
                told.append(error)

        task = asyncio.ensure_future(bot(hooks=Async()).arun("Go"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    runner.await_(scenario())
    (error,) = told
    assert isinstance(error, asyncio.CancelledError)


def test_the_blocking_runner_refuses_an_async_on_response_error_up_front(
    server: FakeOpenAIServer, bot: Bot
) -> None:
    class Async(Hooks):
        async def on_response_error(self, error: BaseException) -> Any:
            pass

    with pytest.raises(AsyncHookError, match="on_response_error"):
        bot(hooks=Async()).run("Go")
    assert server.requests == []
