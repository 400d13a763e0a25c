"""``FanOutHooks``: several hooks as one, under both runners; the order of calls, decisions,
and what happens when one of them raises (see its docstring: this is its contract)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentools import AsyncHookError, HookError, Hooks, function_tool
from agentools.hooks import FanOutHooks, RecordingHooks
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


class Logged(Hooks):
    """Writes ``(name, hook)`` to a log shared by several hooks, to see the order across them."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name, self.log = name, log

    def on_text(self, text: str) -> None:
        self.log.append((self.name, "on_text"))

    def on_tool_call(self, call: Any) -> None:
        self.log.append((self.name, "on_tool_call"))

    def on_response_end(self, text: str) -> None:
        self.log.append((self.name, "on_response_end"))


def tool_then_answer(server: FakeOpenAIServer) -> None:
    server.add(
        Turn(text="Looking.", tool_calls=[ToolCallSpec(name="lookup", arguments={"key": "k"})]),
        Turn(text="K."),
    )


def test_every_hook_sees_every_event_in_the_order_given(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    tool_then_answer(server)
    alone = RecordingHooks()
    tool_then_answer(server)
    first, second = RecordingHooks(), RecordingHooks()
    log: list[tuple[str, str]] = []

    assert runner.run(bot(tools=[lookup], hooks=alone, stream=stream), "Go") == "K."
    fanned = FanOutHooks(first, Logged("a", log), second, Logged("b", log))
    assert runner.run(bot(tools=[lookup], hooks=fanned, stream=stream), "Go") == "K."

    assert first.names() == second.names() == alone.names()
    assert log == [
        ("a", "on_text"),
        ("b", "on_text"),
        ("a", "on_tool_call"),
        ("b", "on_tool_call"),
        ("a", "on_text"),
        ("b", "on_text"),
        ("a", "on_response_end"),
        ("b", "on_response_end"),
    ]


class Decides(Hooks):
    def __init__(self, decision: str | None, asked: list[str]) -> None:
        self.decision, self.asked = decision, asked

    def on_max_tokens(self, message: Any) -> str | None:
        self.asked.append(str(self.decision))
        return self.decision


def test_the_first_answer_that_is_not_none_decides_and_every_hook_is_asked(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    from agentools import MaxTokensExceeded

    server.add(Turn(text="Cut sho", finish_reason="length"))
    asked: list[str] = []
    hooks = FanOutHooks(Decides(None, asked), Decides("raise", asked), Decides("keep", asked))
    with pytest.raises(MaxTokensExceeded):
        runner.run(bot(hooks=hooks), "Go")
    assert asked == ["None", "raise", "keep"]


class Raises(Hooks):
    def on_text(self, text: str) -> None:
        raise LookupError("the first hook failed")


class Fails(RecordingHooks):
    def on_response_error(self, error: BaseException) -> None:
        super().on_response_error(error)
        raise ValueError("tracing failed")


def test_a_hook_that_raises_stops_the_run_and_every_hook_hears_of_it(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="Hello."))
    failing, later = Fails(), RecordingHooks()
    hooks = FanOutHooks(Raises(), failing, later)

    with pytest.raises(ValueError, match="tracing failed") as raised:
        runner.run(bot(hooks=hooks), "Go")

    # The hooks after the one that raised did not get that event ...
    assert "on_text" not in failing.names()
    assert "on_text" not in later.names()
    # ... but each was told the run failed, although the first one told raised.
    for hook in (failing, later):
        ((error,),) = hook.args_of("on_response_error")
        assert isinstance(error, LookupError)
    assert isinstance(raised.value.__context__, LookupError)


def test_async_hooks_are_awaited_one_after_the_other_under_arun(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    if not runner.is_async:
        pytest.skip("async def hooks: arun only")
    tool_then_answer(server)
    log: list[str] = []

    class Slow(Hooks):
        async def on_tool_call(self, call: Any) -> None:
            log.append("slow starts")
            await asyncio.sleep(0.05)
            log.append("slow ends")

    class Quick(Hooks):
        def on_tool_call(self, call: Any) -> None:
            log.append("quick")

    class AsyncQuick(Hooks):
        async def on_tool_call(self, call: Any) -> None:
            log.append("async quick")

    hooks = FanOutHooks(Quick(), Slow(), AsyncQuick(), Quick())
    assert runner.run(bot(tools=[lookup], hooks=hooks), "Go") == "K."
    assert log == ["quick", "slow starts", "slow ends", "async quick", "quick"]


def test_the_checks_before_a_run_apply_to_each_hook(server: FakeOpenAIServer, bot: Bot) -> None:
    class Async(Hooks):
        async def on_text(self, text: str) -> None:
            pass

    class Misspelt(Hooks):
        def on_txt(self, text: str) -> None:
            pass

    with pytest.raises(AsyncHookError, match=r"Async\.on_text"):
        bot(hooks=FanOutHooks(RecordingHooks(), Async())).run("Go")
    with pytest.raises(HookError, match=r"Misspelt\.on_txt .*did you mean 'on_text'"):
        bot(hooks=FanOutHooks(FanOutHooks(Misspelt()))).run("Go")
    with pytest.raises(HookError, match="takes Hooks objects, not builtin_function_or_method"):
        FanOutHooks(print)  # type: ignore[arg-type]
    assert server.requests == []
