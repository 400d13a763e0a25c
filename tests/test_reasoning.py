"""Reasoning models: the reasoning streamed beside the text, kept on the assistant message, sent
back in the server's own form (or not), and a turn that is all reasoning and no answer.

Under both runners, streamed and whole, against the loopback server, which sends reasoning the
way llama.cpp and DeepSeek do (``reasoning_content``) or the way vLLM and Ollama do
(``reasoning``).
"""

from __future__ import annotations

from typing import Any

import pytest

from agentools import EMPTY_ANSWER_PROMPT, History, function_tool, validate_history
from agentools.hooks import RecordingHooks
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner

THOUGHT = "The user greets me. I should greet back, briefly."


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"Sunny in {city}"


def _assistant_messages(request: Any) -> list[dict[str, Any]]:
    return [m for m in request.body["messages"] if m["role"] == "assistant"]


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_reasoning_reaches_the_hooks_and_goes_back_as_it_came(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, key: str
) -> None:
    server.add(
        Turn(text="Hello!", reasoning=THOUGHT, reasoning_key=key, chunking=Chunking(reasoning=5)),
        Turn(text="Fine."),
    )
    hooks = RecordingHooks()
    assistant = bot(hooks=hooks, stream=stream)

    assert runner.run(assistant, "Hi") == "Hello!"

    partials = hooks.args_of("on_partial_reasoning")
    if stream:
        assert "".join(delta for delta, _ in partials) == THOUGHT
        assert [snapshot for _, snapshot in partials] == [
            THOUGHT[: i + 5] for i in range(0, len(THOUGHT), 5)
        ]
    else:
        assert partials == []
    assert hooks.args_of("on_reasoning") == [(THOUGHT,)]
    names = [n for n in hooks.names() if n not in ("on_partial_reasoning", "on_partial_text")]
    assert names.index("on_reasoning") + 1 == names.index("on_text")
    message = assistant.history[-1]
    assert message.reasoning == THOUGHT
    assert message.extra == {key: THOUGHT}
    assert message.content == "Hello!"

    runner.run(assistant, "How are you?")
    assert _assistant_messages(server.requests[-1]) == [
        {"role": "assistant", "content": "Hello!", key: THOUGHT}
    ]


def test_reasoning_can_be_left_out_of_requests(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="Hello!", reasoning=THOUGHT), Turn(text="Fine."))
    assistant = bot(stream=stream, send_reasoning=False)

    runner.run(assistant, "Hi")
    runner.run(assistant, "How are you?")

    assert _assistant_messages(server.requests[-1]) == [{"role": "assistant", "content": "Hello!"}]
    assert assistant.history[1].reasoning == THOUGHT  # kept, only not sent


def test_reasoning_between_tool_calls_is_kept_with_its_calls(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """Servers that interleave reasoning with tool calls (DeepSeek, Qwen, gpt-oss) want each
    message's reasoning back beside its calls."""
    server.add(
        Turn(
            reasoning="I need the weather.",
            tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})],
        ),
        Turn(reasoning="It is sunny.", text="Sunny in Oslo."),
    )
    hooks = RecordingHooks()
    assistant = bot(hooks=hooks, stream=stream, tools=[get_weather])

    assert runner.run(assistant, "Weather in Oslo?") == "Sunny in Oslo."

    assert hooks.args_of("on_reasoning") == [("I need the weather.",), ("It is sunny.",)]
    sent = _assistant_messages(server.requests[1])
    assert len(sent) == 1
    assert sent[0]["reasoning_content"] == "I need the weather."
    assert sent[0]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert [m.reasoning for m in assistant.history if m.role == "assistant"] == [
        "I need the weather.",
        "It is sunny.",
    ]
    assert validate_history(assistant.history.to_openai()) == []


def test_a_turn_of_reasoning_only_is_asked_again(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(reasoning="Hmm. Let me think about the weather."), Turn(text="It is sunny."))
    hooks = RecordingHooks()
    assistant = bot(hooks=hooks, stream=stream)

    assert runner.run(assistant, "Weather?") == "It is sunny."

    assert len(server.requests) == 2
    assert server.requests[1].body["messages"] == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "Hmm. Let me think about the weather.",
        },
        {"role": "user", "content": EMPTY_ANSWER_PROMPT},
    ]
    assert assistant.history.to_openai()[-1] == {"role": "assistant", "content": "It is sunny."}
    assert hooks.args_of("on_text") == [("It is sunny.",)]
    assert hooks.args_of("on_response_end") == [("It is sunny.",)]


def test_an_empty_answer_accepted_keeps_the_history_alternating(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(reasoning="Nothing to say."), Turn(text="Hello."))
    assistant = bot(stream=stream, empty_answer_retries=0)

    assert runner.run(assistant, "Hi") == ""
    assert runner.run(assistant, "Hello?") == "Hello."

    roles = [m["role"] for m in server.requests[1].body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert assistant.history.to_openai()[1] == {
        "role": "assistant",
        "content": "",
        "reasoning_content": "Nothing to say.",
    }
    assert validate_history(assistant.history.to_openai()) == []


def test_empty_answers_are_asked_again_only_so_often(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(), Turn(), Turn(), Turn(text="unused"))
    assistant = bot(stream=stream, empty_answer_retries=2)

    assert runner.run(assistant, "Hi") == ""

    assert len(server.requests) == 3
    assert [m.role for m in assistant.history] == [
        "user",
        *("assistant", "user") * 2,
        "assistant",
    ]
    assert validate_history(assistant.history.to_openai()) == []


def test_a_servers_own_fields_are_kept_through_json_and_sent_back(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """A history with a server's assistant message (reasoning, a signature on a tool call) is
    taken as it is, survives ``History`` JSON, and goes back to the server unchanged."""
    stored = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "I need the weather.",
            "provider_signature": {"v": 1, "sig": "abc"},
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    "extra_content": {"google": {"thought_signature": "c2ln"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "Sunny in Oslo"},
        {"role": "assistant", "content": "Sunny."},
    ]
    assert validate_history(stored) == []
    history = History.from_json(History.from_openai(stored).to_json())
    assert history.to_openai()[1] == {
        key: value for key, value in stored[1].items() if value is not None
    }
    server.add(Turn(text="Still sunny."))
    assistant = bot(stream=stream, tools=[get_weather], history=history)

    runner.run(assistant, "And now?")

    assert server.requests[0].body["messages"][1] == history.to_openai()[1]


def test_unknown_assistant_fields_need_no_repair() -> None:
    from agentools import repair_history

    stored = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello", "reasoning": "greet"},
    ]
    assert repair_history(stored) == stored
    bad = [{"role": "user", "content": "Hi"}, {"role": "assistant", "function_call": {}}]
    assert next(problem.code for problem in validate_history(bad)) == "unsupported"
