"""``run(prompt, deps=...)``: one object for one run, handed to its tools
(``ToolContext[MyDeps].deps``), to ``before_model_call`` (``request.deps``), to any hook method
with a ``deps`` parameter (sync or ``async def``) and to ``on_approval(call, deps)``. ``None``
when a run is given nothing; forgotten when the run ends; two assistants running at the same
time (threads with ``run``, tasks with ``arun``) each see their own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import attrs
import pytest

from agentools import (
    Hooks,
    ModelCallRequest,
    ToolCall,
    ToolContext,
    ToolResult,
    function_tool,
)
from agentools.testing import FakeOpenAIServer, RecordedRequest, ToolCallSpec, Turn

from .support import Bot, Runner, serving


@attrs.frozen
class MyDeps:
    user: str


@function_tool
def whoami(context: ToolContext[MyDeps]) -> str:
    """Who is asking."""
    deps = context.deps
    return "nobody" if deps is None else f"user {deps.user}"


WHOAMI = Turn(tool_calls=[ToolCallSpec(name="whoami")])


class Seen(Hooks):
    """Every place a hook can read the run's deps, recorded as ``(where, deps)``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def before_model_call(self, request: ModelCallRequest) -> None:
        self.seen.append(("before_model_call", request.deps))

    def on_tool_call(self, call: ToolCall, deps: Any) -> None:
        self.seen.append(("on_tool_call", deps))

    def on_tool_result(self, call: ToolCall, result: ToolResult, *, deps: MyDeps | None) -> None:
        self.seen.append(("on_tool_result", deps))

    def on_response_end(self, text: str) -> None:
        self.seen.append(("on_response_end", text))


def test_deps_reach_tools_hooks_and_before_model_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    deps = MyDeps(user="ada")
    assistant = bot(tools=[whoami], stream=stream)
    server.add(WHOAMI, Turn(text="done"))
    hooks = Seen()

    assert runner.run(assistant, "Who am I?", hooks=hooks, deps=deps) == "done"

    assert server.requests[1].messages[-1]["content"] == "user ada"
    assert hooks.seen == [
        ("before_model_call", deps),
        ("on_tool_call", deps),
        ("on_tool_result", deps),
        ("before_model_call", deps),
        ("on_response_end", "done"),
    ]
    assert all(seen is deps for where, seen in hooks.seen if where != "on_response_end")


def test_without_deps_everything_sees_none(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[whoami])
    server.add(WHOAMI, Turn(text="done"))
    hooks = Seen()

    runner.run(assistant, "Who am I?", hooks=hooks)

    assert server.requests[1].messages[-1]["content"] == "nobody"
    assert [deps for where, deps in hooks.seen if where != "on_response_end"] == [None] * 4


def test_deps_are_for_one_run_only(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    hooks = Seen()
    assistant = bot(tools=[whoami], hooks=hooks)
    server.add(WHOAMI, Turn(text="one"), WHOAMI, Turn(text="two"), WHOAMI, Turn(text="three"))

    runner.run(assistant, "1", deps=MyDeps(user="ada"))
    runner.run(assistant, "2")
    runner.run(assistant, "3", deps=MyDeps(user="bob"))

    answers = [request.messages[-1]["content"] for request in server.requests[1::2]]
    assert answers == ["user ada", "nobody", "user bob"]
    per_run = [deps for where, deps in hooks.seen if where == "before_model_call"]
    assert per_run == [MyDeps("ada")] * 2 + [None] * 2 + [MyDeps("bob")] * 2


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_async_tools_and_hooks_get_deps_under_arun(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool
    async def whoami_later(context: ToolContext[MyDeps]) -> str:
        """Who is asking, asynchronously."""
        await asyncio.sleep(0)
        return f"user {context.deps.user}"

    seen: list[tuple[str, Any]] = []

    class Later(Hooks):
        async def before_model_call(self, request: ModelCallRequest) -> None:
            await asyncio.sleep(0)
            seen.append(("before_model_call", request.deps))

        async def on_text(self, text: str, deps: MyDeps) -> None:
            await asyncio.sleep(0)
            seen.append(("on_text", deps))

    deps = MyDeps(user="ada")
    assistant = bot(tools=[whoami_later])
    server.add(Turn(tool_calls=[ToolCallSpec(name="whoami_later")]), Turn(text="done"))

    assert runner.run(assistant, "Who?", hooks=Later(), deps=deps) == "done"

    assert server.requests[1].messages[-1]["content"] == "user ada"
    assert seen == [
        ("before_model_call", deps),
        ("before_model_call", deps),
        ("on_text", deps),
    ]


def test_on_approval_gets_deps(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    @function_tool(needs_approval=True)
    def delete(name: str) -> str:
        """Delete a file."""
        return f"deleted {name}"

    class Admins(Hooks):
        def on_approval(self, call: ToolCall, deps: MyDeps | None) -> bool:
            return deps is not None and deps.user == "admin"

    assistant = bot(tools=[delete], hooks=Admins())
    request = Turn(tool_calls=[ToolCallSpec(name="delete", arguments={"name": "a.txt"})])
    server.add(request, Turn(text="1"), request, Turn(text="2"), request, Turn(text="3"))

    runner.run(assistant, "Delete a.txt.", deps=MyDeps(user="admin"))
    runner.run(assistant, "Delete a.txt.", deps=MyDeps(user="guest"))
    runner.run(assistant, "Delete a.txt.")

    results = [request.messages[-1]["content"] for request in server.requests[1::2]]
    assert results[0] == "deleted a.txt"
    assert "deleted" not in results[1]
    assert "deleted" not in results[2]


# -- two runs at the same time ----------------------------------------------------------------


def whoami_responder(request: RecordedRequest) -> Turn:
    """Call ``whoami`` on a prompt; answer with its result once it is in."""
    last = request.messages[-1]
    if last["role"] == "tool":
        return Turn(text=f"You are {last['content']}.")
    return WHOAMI


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_two_assistants_in_threads_each_see_their_own_deps(runner: Runner) -> None:
    both_in_tools = threading.Barrier(2, timeout=5)

    @function_tool
    def whoami_together(context: ToolContext[MyDeps]) -> str:
        """Who is asking (waits until both runs are in here)."""
        both_in_tools.wait()
        return f"user {context.deps.user}"

    class Check(Hooks):
        def __init__(self) -> None:
            self.deps: list[Any] = []

        def before_model_call(self, request: ModelCallRequest, deps: Any) -> None:
            both = (request.deps, deps)
            self.deps.append(both)

    def respond(request: RecordedRequest) -> Turn:
        turn = whoami_responder(request)
        return Turn(tool_calls=[ToolCallSpec(name="whoami_together")]) if turn is WHOAMI else turn

    answers: dict[str, str] = {}
    hooks = {"ada": Check(), "bob": Check()}
    with serving(responder=respond) as server:
        bot = Bot(server, runner)
        try:
            assistants = {user: bot(tools=[whoami_together]) for user in ("ada", "bob")}

            def run(user: str) -> None:
                answers[user] = assistants[user].run(
                    "Who am I?", hooks=hooks[user], deps=MyDeps(user=user)
                )

            threads = [threading.Thread(target=run, args=(user,)) for user in ("ada", "bob")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
        finally:
            bot.close()

    assert answers == {"ada": "You are user ada.", "bob": "You are user bob."}
    for user in ("ada", "bob"):
        assert hooks[user].deps == [(MyDeps(user), MyDeps(user))] * 2


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_two_assistants_in_tasks_each_see_their_own_deps(runner: Runner) -> None:
    arrived: list[str] = []
    both_in_tools = asyncio.Event()

    @function_tool
    async def whoami_together(context: ToolContext[MyDeps]) -> str:
        """Who is asking (waits until both runs are in here)."""
        arrived.append(context.deps.user)
        if len(arrived) == 2:
            both_in_tools.set()
        await asyncio.wait_for(both_in_tools.wait(), 5)
        return f"user {context.deps.user}"

    def respond(request: RecordedRequest) -> Turn:
        turn = whoami_responder(request)
        return Turn(tool_calls=[ToolCallSpec(name="whoami_together")]) if turn is WHOAMI else turn

    with serving(responder=respond) as server:
        bot = Bot(server, runner)
        try:
            ada, bob = bot(tools=[whoami_together]), bot(tools=[whoami_together])

            async def both() -> list[str]:
                return list(
                    await asyncio.gather(
                        ada.arun("Who am I?", deps=MyDeps("ada")),
                        bob.arun("Who am I?", deps=MyDeps("bob")),
                    )
                )

            answers = runner.await_(both())
        finally:
            bot.close()

    assert answers == ["You are user ada.", "You are user bob."]
    assert sorted(arrived) == ["ada", "bob"]
