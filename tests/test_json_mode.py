"""Constrained tool calling (``tool_mode="json"``) end to end, under both runners, streamed and
whole: the model's JSON steps become the tool calls, text, hooks, previews and history of native
mode, and the request carries the step's schema instead of ``tools``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentools import (
    ArgumentSnapshot,
    ArgumentStream,
    ModelProtocolError,
    function_tool,
    validate_history,
)
from agentools.hooks import RecordingHooks
from agentools.testing import Chunking, FakeOpenAIServer, Turn

from .support import Bot, Runner

WEATHER = {"Paris": "sunny, 18 C", "Rome": "clear, 24 C"}


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return WEATHER.get(city, "mild")


def step(**value: Any) -> Turn:
    return Turn(text=json.dumps(value), chunking=Chunking(text=4))


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


@pytest.fixture(autouse=True)
def no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ArgumentStream, "interval", 0.0)


def test_a_step_of_calls_then_an_answer(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        step(tool_calls=[call("get_weather", city="Paris"), call("get_weather", city="Rome")]),
        step(answer="Paris: sunny. Rome: clear."),
    )
    hooks = RecordingHooks()
    assistant = bot(
        tools=[get_weather], tool_mode="json", hooks=hooks, stream=stream, system="Be brief."
    )

    assert runner.run(assistant, "Paris and Rome?") == "Paris: sunny. Rome: clear."

    first, second = (request.body for request in server.requests)
    assert "tools" not in first
    assert first["response_format"]["type"] == "json_schema"
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][0]["content"].startswith("Be brief.\n\nYou can call these tools:")
    assert second["messages"][1:] == [
        {"role": "user", "content": "Paris and Rome?"},
        {
            "role": "assistant",
            "content": json.dumps(
                {
                    "tool_calls": [
                        call("get_weather", city="Paris"),
                        call("get_weather", city="Rome"),
                    ]
                }
            ),
        },
        {
            "role": "user",
            "content": "Result of get_weather: sunny, 18 C\nResult of get_weather: clear, 24 C",
        },
    ]
    # Hooks and history as native mode's.
    calls = [c for (c,) in hooks.args_of("on_tool_call")]
    assert [(c.index, c.name, c.parsed) for c in calls] == [
        (0, "get_weather", {"city": "Paris"}),
        (1, "get_weather", {"city": "Rome"}),
    ]
    assert hooks.args_of("on_text") == [("Paris: sunny. Rome: clear.",)]
    if stream:
        partials = [p for (p,) in hooks.args_of("on_partial_tool_call")]
        assert partials[0].name == "get_weather"
        assert [p.parsed for p in partials if p.index == 0][-1] == {"city": "Paris"}
        assert (
            "".join(d for d, _ in hooks.args_of("on_partial_text")) == "Paris: sunny. Rome: clear."
        )
    else:
        assert hooks.args_of("on_partial_tool_call") == []
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [c["function"]["arguments"] for c in history[1]["tool_calls"]] == [
        '{"city": "Paris"}',
        '{"city": "Rome"}',
    ]
    assert history[-1] == {"role": "assistant", "content": "Paris: sunny. Rome: clear."}


def test_a_call_made_again_with_the_same_arguments_leaves_only_the_answer(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """A small model under a grammar tends to repeat its call forever: once a call comes again
    with the same arguments, the next step's schema and instructions allow only an answer."""
    server.add(
        step(tool_calls=[call("get_weather", city="Paris")]),
        step(tool_calls=[call("get_weather", city="Paris")]),
        step(answer="Sunny."),
    )
    assistant = bot(tools=[get_weather], tool_mode="json", stream=stream)

    assert runner.run(assistant, "Paris?") == "Sunny."

    formats = [
        request.body["response_format"]["json_schema"]["schema"] for request in server.requests
    ]
    assert ["anyOf" in schema for schema in formats] == [True, True, False]
    assert formats[2]["required"] == ["answer"]
    assert "Do not call a tool again" in server.requests[2].body["messages"][0]["content"]
    # The next run offers the tools again.
    server.add(step(answer="Still sunny."))
    runner.run(assistant, "And now?")
    assert "anyOf" in server.requests[-1].body["response_format"]["json_schema"]["schema"]


def test_a_preview_sees_the_arguments_of_a_step_grow(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    content = "line one\nline two\n" * 5
    snapshots: list[ArgumentSnapshot] = []

    @function_tool
    def write_file(path: str, content: str) -> str:
        """Writes a file."""
        return "written"

    @write_file.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        snapshots.append(snapshot)

    server.add(
        step(tool_calls=[call("write_file", path="a.txt", content=content)]), step(answer="Done.")
    )
    assistant = bot(tools=[write_file], tool_mode="json", stream=stream)

    assert runner.run(assistant, "write") == "Done."

    assert snapshots[-1].done
    assert snapshots[-1].arguments == {"path": "a.txt", "content": content}
    for snapshot in snapshots[:-1]:
        assert content.startswith(snapshot.arguments.get("content", ""))


def test_what_is_not_a_step_fails_the_run_and_keeps_the_prompt(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="Sure! The weather is nice."))
    assistant = bot(tools=[get_weather], tool_mode="json", stream=stream)

    with pytest.raises(ModelProtocolError, match="step is not JSON"):
        runner.run(assistant, "Paris?")

    assert assistant.history.to_openai() == [{"role": "user", "content": "Paris?"}]


def test_without_tools_nothing_changes(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    server.add(Turn(text="Hello."))
    assistant = bot(tool_mode="json")

    assert runner.run(assistant, "Hi") == "Hello."

    assert "response_format" not in server.requests[0].body
