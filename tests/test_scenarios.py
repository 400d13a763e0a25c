"""The loop end to end, under both runners, streamed and not, against the loopback server.

Every test here runs four times: {blocking, async} runner x {stream, whole completion}. The model
is the real ``openai`` client talking real HTTP (and SSE) to ``FakeOpenAIServer``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from agentools import History, function_tool
from agentools.calls import ToolResult
from agentools.hooks import RecordingHooks
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn, Usage

from .support import Bot, Runner


@function_tool
def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
    """Get the current weather in a city.

    Args:
        city: The city.
        unit: celsius or fahrenheit.
    """
    return {"city": city, "temperature": 18 if unit == "celsius" else 64}


def test_text_only(server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool) -> None:
    text = "Hello there! How can I help you today?"
    server.add(
        Turn(
            text=text, chunking=Chunking(text=3), usage=Usage(prompt_tokens=9, completion_tokens=11)
        )
    )
    hooks = RecordingHooks()
    assistant = bot(hooks=hooks, stream=stream)

    assert runner.run(assistant, "Hi") == text

    partials = hooks.args_of("on_partial_text")
    if stream:
        assert [delta for delta, _ in partials] == [text[i : i + 3] for i in range(0, len(text), 3)]
        assert [snapshot for _, snapshot in partials] == [
            text[: i + 3] for i in range(0, len(text), 3)
        ]
    else:
        assert partials == []
    assert [name for name in hooks.names() if name != "on_partial_text"] == [
        "on_response_start",
        "before_model_call",
        "on_model_call",
        "on_model_response",
        "on_usage",
        "on_text",
        "on_response_end",
    ]
    assert hooks.args_of("on_response_start") == [("Hi", "fake-model")]
    assert hooks.args_of("on_text") == [(text,)]
    assert hooks.args_of("on_response_end") == [(text,)]
    ((usage, total),) = hooks.args_of("on_usage")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (9, 11, 20)
    assert total == usage
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": text},
    ]


def test_request_carries_model_params_system_and_stream_options(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="ok"))
    assistant = bot(system="You are terse.", tools=[get_weather], stream=stream, temperature=0)

    runner.run(assistant, "Hi")

    (request,) = server.requests
    body = request.body
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
    ]
    assert body["tools"] == [get_weather.to_openai()]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert body["tools"][0]["function"]["description"].startswith("Get the current weather")
    if stream:
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
    else:
        assert not body.get("stream")
        assert "stream_options" not in body
    # The system prompt is sent, not stored: the history holds the conversation only.
    assert [m["role"] for m in assistant.history.to_openai()] == ["user", "assistant"]


def test_one_tool_call(server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool) -> None:
    server.add(
        Turn(
            tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Paris"}, id="call_a")]
        ),
        Turn(text="It is 18 degrees in Paris."),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[get_weather], hooks=hooks, stream=stream)

    assert runner.run(assistant, "Weather in Paris?") == "It is 18 degrees in Paris."

    ((call,),) = hooks.args_of("on_tool_call")
    assert (call.id, call.name, call.parsed) == ("call_a", "get_weather", {"city": "Paris"})
    assert json.loads(call.arguments) == {"city": "Paris"}
    ((result_call, result),) = hooks.args_of("on_tool_result")
    assert result_call == call
    assert isinstance(result, ToolResult)
    assert result.value == {"city": "Paris", "temperature": 18}
    assert json.loads(result.content) == result.value
    assert result.error is None

    second = server.requests[1].messages
    assert second[-2] == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": call.arguments},
            }
        ],
    }
    assert second[-1] == {"role": "tool", "tool_call_id": "call_a", "content": result.content}
    assert assistant.history.to_openai() == [
        *second,
        {"role": "assistant", "content": "It is 18 degrees in Paris."},
    ]


def test_two_parallel_tool_calls_split_across_chunks(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    # Both calls must be running at once to pass the barrier; the first one finishes only after
    # the second one's result has reached the hooks, so results arrive in reverse order, and the
    # history must still be in call order.
    barrier = threading.Barrier(2, timeout=10)
    second_reported = threading.Event()

    class Hooks(RecordingHooks):
        def on_tool_result(self, call: Any, result: Any) -> None:
            super().on_tool_result(call, result)
            if call.name == "fast_lookup":
                second_reported.set()

    @function_tool
    def slow_lookup(key: str) -> str:
        """Looks a key up slowly."""
        barrier.wait()
        assert second_reported.wait(timeout=10)
        return f"slow:{key}"

    @function_tool
    async def fast_lookup(key: str, times: int = 1) -> str:
        """Looks a key up fast."""
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
        return f"fast:{key}" * times

    server.add(
        Turn(
            text="Let me look both up.",
            tool_calls=[
                ToolCallSpec(name="slow_lookup", arguments={"key": "alpha"}, id="call_1"),
                ToolCallSpec(
                    name="fast_lookup", arguments={"key": "beta", "times": 2}, id="call_2"
                ),
            ],
            chunking=Chunking(text=4, name=3, arguments=3),
        ),
        Turn(text="Done."),
    )
    hooks = Hooks()
    assistant = bot(tools=[slow_lookup, fast_lookup], hooks=hooks, stream=stream)

    assert runner.run(assistant, "Look up alpha and beta") == "Done."

    assert [call.name for (call,) in hooks.args_of("on_tool_call")] == [
        "slow_lookup",
        "fast_lookup",
    ]
    assert [r.content for _, r in hooks.args_of("on_tool_result")] == [
        "fast:betafast:beta",
        "slow:alpha",
    ]
    messages = server.requests[1].messages
    assert messages[-3]["content"] == "Let me look both up."
    assert [c["function"]["name"] for c in messages[-3]["tool_calls"]] == [
        "slow_lookup",
        "fast_lookup",
    ]
    assert messages[-2:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "slow:alpha"},
        {"role": "tool", "tool_call_id": "call_2", "content": "fast:betafast:beta"},
    ]
    if stream:
        partial = [call for (call,) in hooks.args_of("on_partial_tool_call")]
        assert {call.name for call in partial if call.index == 1} >= {
            "fas",
            "fast_l",
            "fast_lookup",
        }
        last_of_second = [call for call in partial if call.index == 1][-1]
        assert (last_of_second.id, last_of_second.parsed) == ("call_2", {"key": "beta", "times": 2})
        # The text comes first, then each call's partials, then the complete calls.
        names = hooks.names()
        assert names.index("on_text") < names.index("on_tool_call")
        assert max(i for i, n in enumerate(names) if n == "on_partial_tool_call") < names.index(
            "on_tool_call"
        )


def test_hook_order_through_a_tool_turn(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        Turn(
            text="Checking.",
            tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Oslo"})],
        ),
        Turn(text="Cold."),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[get_weather], hooks=hooks, stream=stream)

    runner.run(assistant, "Oslo?")

    collapsed = [n for i, n in enumerate(hooks.names()) if i == 0 or hooks.names()[i - 1] != n]
    streamed = ["on_partial_text", "on_partial_tool_call"] if stream else []
    expected = [
        "on_response_start",
        "before_model_call",
        "on_model_call",
        *streamed,
        "on_model_response",
        "on_usage",
        "on_text",
        "on_tool_call",
        "on_tool_result",
        "before_model_call",
        "on_model_call",
        *(["on_partial_text"] if stream else []),
        "on_model_response",
        "on_usage",
        "on_text",
        "on_response_end",
    ]
    assert collapsed == expected
    assert hooks.args_of("on_model_call") == [
        (1, assistant.settings.model, 0),
        (2, assistant.settings.model, 0),
    ]
    assert [args[:2] for args in hooks.args_of("on_model_response")] == [
        (1, "tool_calls"),
        (2, "stop"),
    ]
    ((_, total),) = hooks.args_of("on_usage")[-1:]
    first, second = (usage for usage, _ in hooks.args_of("on_usage"))
    assert total.total_tokens == first.total_tokens + second.total_tokens


def test_second_run_continues_the_history(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="Paris is sunny."), Turn(text="Rome is clear."))
    assistant = bot(stream=stream)

    runner.run(assistant, "Paris?")
    runner.run(assistant, "And Rome?")

    assert server.requests[1].messages == [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": "Paris is sunny."},
        {"role": "user", "content": "And Rome?"},
    ]
    stored = History.from_json(assistant.history.to_json())
    assert stored == assistant.history

    server.add(Turn(text="Yes."))
    resumed = bot(history=stored, stream=stream)
    runner.run(resumed, "Sure?")
    assert server.requests[2].messages[:4] == assistant.history.to_openai()


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_blocking_and_async_share_one_history(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="one"), Turn(text="two"))
    assistant = bot(stream=stream)

    async def both() -> tuple[str, str]:
        # The blocking run from a worker thread while this thread's loop runs, then arun.
        first = await asyncio.to_thread(assistant.run, "first")
        return first, await assistant.arun("second")

    assert runner.await_(both()) == ("one", "two")
    assert [m["content"] for m in server.requests[1].messages] == ["first", "one", "second"]


def test_per_call_hooks_override(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="a"), Turn(text="b"))
    default, override = RecordingHooks(), RecordingHooks()
    assistant = bot(hooks=default, stream=stream)

    runner.run(assistant, "x", hooks=override)
    runner.run(assistant, "y")

    assert override.args_of("on_response_end") == [("a",)]
    assert default.args_of("on_response_end") == [("b",)]


def test_max_tokens_keeps_text_and_never_runs_cut_calls(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran = []

    @function_tool
    def delete_file(path: str) -> str:
        """Deletes a file."""
        ran.append(path)
        return "deleted"

    server.add(
        Turn(
            text="I will delete",
            tool_calls=[
                ToolCallSpec(name="delete_file", arguments='{"path": "/important', id="call_x")
            ],
            finish_reason="length",
        )
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[delete_file], hooks=hooks, stream=stream)

    assert runner.run(assistant, "Clean up") == "I will delete"

    assert ran == []
    ((message,),) = hooks.args_of("on_max_tokens")
    assert message.content == "I will delete"
    assert hooks.args_of("on_tool_call") == []
    history = assistant.history.to_openai()
    assert history[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert history[2]["role"] == "tool"
    assert history[2]["tool_call_id"] == "call_x"
    assert "cut off" in history[2]["content"]


def test_tool_error_goes_back_to_the_model(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    @function_tool
    def divide(a: int, b: int) -> float:
        """Divides a by b."""
        return a / b

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="divide", arguments={"a": 1, "b": 0})]),
        Turn(tool_calls=[ToolCallSpec(name="multiply", arguments={"a": 1})]),
        Turn(text="Sorry."),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[divide], hooks=hooks, stream=stream)

    assert runner.run(assistant, "1/0?") == "Sorry."

    (_, first), (_, second) = hooks.args_of("on_tool_result")
    assert isinstance(first.error, ZeroDivisionError)
    assert first.content == "Error: ZeroDivisionError: division by zero"
    assert "Traceback" not in first.content
    assert isinstance(second.error, LookupError)
    assert "'multiply'" in second.content
    assert "divide" in second.content
    assert server.requests[1].messages[-1]["content"] == first.content
    assert server.requests[2].messages[-1]["content"] == second.content


def test_response_events_generator(server: FakeOpenAIServer, bot: Bot, stream: bool) -> None:
    from agentools.events import ResponseEnd, TextDelta, TextDone, ToolCallDone, ToolResultDone

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Rome"})]),
        Turn(text="Warm."),
    )
    assistant = bot(tools=[get_weather], stream=stream)

    seen = []
    for event in assistant.response_events("Rome?"):
        match event:
            case TextDelta(delta=delta):
                seen.append(("delta", delta))
            case TextDone(text=text) | ResponseEnd(text=text):
                seen.append((type(event).__name__, text))
            case ToolCallDone(call=call):
                seen.append(("call", call.name))
            case ToolResultDone(result=result):
                seen.append(("result", json.loads(result.content)["city"]))

    assert seen[:2] == [("call", "get_weather"), ("result", "Rome")]
    assert seen[-2:] == [("TextDone", "Warm."), ("ResponseEnd", "Warm.")]
    assert (("delta", "Warm.") in seen) is stream


def test_partial_arguments_grow_and_say_what_is_finished(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    import copy

    seen: list[tuple[Any, bool, bool]] = []

    class Watch(RecordingHooks):
        def on_partial_tool_call(self, call: Any) -> None:
            seen.append((copy.deepcopy(call.parsed), call.is_complete("path"), call.is_complete()))

    @function_tool
    def write_file(path: str, content: str) -> str:
        """Writes a file."""
        return f"wrote {len(content)} characters to {path}"

    arguments = {"path": "notes/todo.md", "content": "- milk\n- \u00e9clairs \U0001f370\n"}
    server.add(
        Turn(
            tool_calls=[ToolCallSpec(name="write_file", arguments=arguments)],
            chunking=Chunking(arguments=3),
        ),
        Turn(text="Written."),
    )
    hooks = Watch()
    assistant = bot(tools=[write_file], hooks=hooks, stream=stream)
    runner.run(assistant, "Write my list")

    ((call,),) = hooks.args_of("on_tool_call")
    assert call.parsed == arguments
    if not stream:
        assert seen == []
        return
    snapshots = [parsed for parsed, _, _ in seen if parsed is not None]
    assert snapshots[0] == {}  # the object opened, nothing in it yet
    assert any(s.get("path") == "notes/to" for s in snapshots)  # a string as far as it came
    contents = [s["content"] for s in snapshots if "content" in s]
    assert all(arguments["content"].startswith(c) for c in contents)
    assert len(set(contents)) > 5
    # "path" is reported finished exactly once its closing quote arrived.
    for parsed, path_done, _ in seen:
        if parsed and "content" in parsed:
            assert path_done
        if path_done:
            assert parsed["path"] == "notes/todo.md"
    assert seen[-1][2] is True
    assert not any(all_done for _, _, all_done in seen[:-1])


def test_tool_choice_applies_until_tools_have_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Oslo"})]),
        Turn(tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Rome"})]),
        Turn(text="Cold, then warm."),
    )
    assistant = bot(tools=[get_weather], stream=stream, tool_choice="required", temperature=0)

    assert runner.run(assistant, "Oslo, then Rome?") == "Cold, then warm."

    choices = [request.body.get("tool_choice") for request in server.requests]
    assert choices == ["required", None, None]
    # Only tool_choice is dropped, and only for this run: the next run starts with it again.
    assert all(request.body["temperature"] == 0 for request in server.requests)
    server.add(Turn(text="Yes."))
    runner.run(assistant, "Sure?")
    assert server.requests[-1].body["tool_choice"] == "required"


def test_tool_choice_on_every_call_when_asked(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Oslo"})]),
        Turn(text="Cold."),
    )
    choice = {"type": "function", "function": {"name": "get_weather"}}
    assistant = bot(tools=[get_weather], stream=stream, tool_choice=choice, reset_tool_choice=False)

    runner.run(assistant, "Oslo?")

    assert [request.body["tool_choice"] for request in server.requests] == [choice, choice]


def test_settings_changed_by_a_hook_apply_to_the_next_model_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """A hook on the events before a model call (the run's start, a tool's result) changes that
    call, not the one after it."""
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Oslo"})]),
        Turn(text="Cold."),
    )

    class Switch(RecordingHooks):
        def on_response_start(self, prompt: Any, model: str) -> None:
            super().on_response_start(prompt, model)
            assistant.configure(temperature=0.25)

        def on_tool_result(self, call: Any, result: ToolResult) -> None:
            super().on_tool_result(call, result)
            assistant.configure(model="second-model", temperature=0.5, tool_choice="none")

    hooks = Switch()
    assistant = bot(tools=[get_weather], hooks=hooks, stream=stream, reset_tool_choice=False)

    runner.run(assistant, "Oslo?")

    first, second = (request.body for request in server.requests)
    assert (first["model"], first["temperature"], first.get("tool_choice")) == (
        "fake-model",
        0.25,
        None,
    )
    assert (second["model"], second["temperature"], second["tool_choice"]) == (
        "second-model",
        0.5,
        "none",
    )
    assert [model for _, model, _ in hooks.args_of("on_model_call")] == [
        "fake-model",
        "second-model",
    ]
