"""Where the runners must work, and what they refuse."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agentools import Assistant, AsyncHookError, Hooks, MisuseError, function_tool
from agentools.hooks import RecordingHooks
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner, agentools_threads


class Boom(Exception):
    """A hook's own exception."""


class Exploding(Hooks):
    """Raises as soon as a tool result is reported."""

    def on_tool_result(self, call: Any, result: Any) -> None:
        raise Boom


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_blocking_run_needs_no_event_loop(
    server: FakeOpenAIServer, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_loops(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the blocking runner created an event loop")

    @function_tool
    def add(a: int, b: int) -> int:
        """Adds."""
        return a + b

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="add", arguments={"a": 1, "b": 2})]), Turn(text="3")
    )
    assistant = bot(tools=[add])
    monkeypatch.setattr(asyncio, "new_event_loop", no_loops)
    monkeypatch.setattr(asyncio, "get_event_loop", no_loops)
    assert assistant.run("1+2?") == "3"


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_blocking_run_inside_a_running_loop_like_jupyter(
    server: FakeOpenAIServer, bot: Bot
) -> None:
    caller: dict[str, Any] = {}

    @function_tool
    async def where() -> str:
        """Says where it runs."""
        loop = asyncio.get_running_loop()
        return (
            "own loop"
            if loop is not caller["loop"] and threading.get_ident() != caller["thread"]
            else "caller's"
        )

    server.add(Turn(tool_calls=[ToolCallSpec(name="where")]), Turn(text="done"))
    assistant = bot(tools=[where])
    hooks = RecordingHooks()

    async def cell() -> str:
        caller["loop"] = asyncio.get_running_loop()
        caller["thread"] = threading.get_ident()
        return assistant.run("where?", hooks=hooks)  # a plain call in a thread whose loop runs

    assert asyncio.run(cell()) == "done"
    assert [r.content for _, r in hooks.args_of("on_tool_result")] == ["own loop"]


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_blocking_run_in_worker_threads_while_a_loop_runs(
    server: FakeOpenAIServer, bot: Bot
) -> None:
    server.add(Turn(text="a"), Turn(text="b"))
    first, second = bot(), bot()

    async def main() -> list[str]:
        return list(
            await asyncio.gather(
                asyncio.to_thread(first.run, "x"), asyncio.to_thread(second.run, "y")
            )
        )

    assert sorted(asyncio.run(main())) == ["a", "b"]


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_blocking_runner_refuses_async_hooks_before_calling_the_model(
    server: FakeOpenAIServer, bot: Bot
) -> None:
    class Notifier(Hooks):
        async def on_text(self, text: str) -> None:
            pass

    assistant = bot(hooks=Notifier())
    with pytest.raises(AsyncHookError, match=r"Notifier\.on_text is async def"):
        assistant.run("hi")
    assert server.requests == []
    assert len(assistant.history) == 0


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_async_runner_awaits_async_hooks_and_calls_sync_ones(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    seen: list[str] = []

    class Mixed(Hooks):
        async def on_partial_text(self, delta: str, snapshot: str) -> None:
            await asyncio.sleep(0)
            seen.append(delta)

        def on_response_end(self, text: str) -> None:
            seen.append(f"end:{text}")

    server.add(Turn(text="abcdef"))
    assistant = bot(hooks=Mixed())

    assert runner.run(assistant, "hi") == "abcdef"
    assert "".join(seen[:-1]) == "abcdef"
    assert seen[-1] == "end:abcdef"


def test_default_clients_are_built_lazily_from_the_environment(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assistant = Assistant(model="m")  # no key needed until the model is called
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.add(Turn(text="sync"), Turn(text="async"))

    assert assistant.run("a") == "sync"

    async def main() -> str:
        try:
            return await assistant.arun("b")
        finally:
            await assistant.async_client.close()

    assert asyncio.run(main()) == "async"
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"
    assistant.client.close()


def test_a_second_concurrent_run_is_refused(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    inside = threading.Event()
    release = threading.Event()

    @function_tool
    def wait() -> str:
        """Waits."""
        inside.set()
        assert release.wait(timeout=10)
        return "ok"

    server.add(Turn(tool_calls=[ToolCallSpec(name="wait")]), Turn(text="first"), Turn(text="later"))
    assistant = bot(tools=[wait])
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(assistant.run("one")))
    thread.start()
    assert inside.wait(timeout=10)
    with pytest.raises(MisuseError, match="already running"):
        runner.run(assistant, "two")
    release.set()
    thread.join(timeout=10)
    assert outcome == ["first"]
    assert runner.run(assistant, "three") == "later"


def test_a_raising_hook_propagates_and_the_history_stays_valid(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool
    def f() -> str:
        """F."""
        return "f"

    server.add(Turn(text="calling", tool_calls=[ToolCallSpec(name="f")]), Turn(text="after"))
    assistant = bot(tools=[f], hooks=Exploding())
    with pytest.raises(Boom):
        runner.run(assistant, "go")
    # The tool ran, so its turn was committed with its result before the hook raised.
    assert [m["role"] for m in assistant.history.to_openai()] == ["user", "assistant", "tool"]
    assert assistant.history[0].content == "go"
    assert runner.run(assistant, "again", hooks=Hooks()) == "after"
    assert [m["role"] for m in server.requests[1].messages] == ["user", "assistant", "tool", "user"]


def test_a_hook_raising_mid_stream_keeps_only_the_prompt(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    class Exploding(Hooks):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            if len(snapshot) > 4:
                raise Boom

    server.add(Turn(text="a long answer that never ends"), Turn(text="fine"))
    assistant = bot(hooks=Exploding())
    with pytest.raises(Boom):
        runner.run(assistant, "go")
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]
    assert runner.run(assistant, "again", hooks=Hooks()) == "fine"


def test_stopping_a_run_cancels_running_async_tools(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    outcome: list[str] = []
    started = threading.Event()

    @function_tool
    async def slow() -> str:
        """Slow."""
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        return "late"

    @function_tool
    def fast() -> str:
        """Fast: its result's hook raises once the slow one is running."""
        assert started.wait(timeout=10)
        return "fast"

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="slow"), ToolCallSpec(name="fast")]), Turn(text="ok")
    )
    assistant = bot(tools=[slow, fast], hooks=Exploding())
    with pytest.raises(Boom):
        runner.run(assistant, "go")
    assert outcome == ["cancelled"]
    assert agentools_threads() == []
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]
