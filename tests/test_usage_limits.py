"""Token usage and the token limits of a run.

Usage: the counts a server reports (with ``prompt_tokens_details.cached_tokens`` and
``completion_tokens_details.reasoning_tokens``) are read from streamed and whole answers, summed
over a run's calls (``on_usage``'s total, ``assistant.last_result.usage``) and over all runs
(``assistant.usage``, failed runs too: their tokens were spent).

Limits: ``max_total_tokens`` and ``max_request_tokens`` refuse the model call that would pass them
before it is made (the server never receives it), with ``UsageLimitExceeded``, the history valid
(every tool call answered) and the prompt kept. The next prompt is estimated, scaled by the
server's count for the last call; the first call of a run has only the bare estimate."""

from __future__ import annotations

from typing import Any

import pytest

from agentools import (
    Assistant,
    History,
    Hooks,
    MaxTurnsExceeded,
    SettingsError,
    TokenUsage,
    ToolMessage,
    UsageLimitExceeded,
    UserMessage,
    function_tool,
    validate_history,
)
from agentools.hooks.trimming import KeepWithinTokens
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn, Usage
from agentools.trimming import estimate_tokens

from .support import Bot, Runner


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


@function_tool
def fetch(url: str) -> str:
    """Fetch a page (a long one)."""
    return "lorem ipsum dolor sit amet " * 200


def call(name: str = "lookup", usage: Usage | None = None, **arguments: Any) -> Turn:
    return Turn(
        tool_calls=[ToolCallSpec(name=name, arguments=arguments or {"key": "a"})], usage=usage
    )


class Usages(Hooks):
    def __init__(self) -> None:
        self.seen: list[tuple[TokenUsage, TokenUsage]] = []

    def on_usage(self, usage: TokenUsage, total: TokenUsage) -> None:
        self.seen.append((usage, total))


def tokens(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


# -- usage ------------------------------------------------------------------------------------


def test_cached_and_reasoning_tokens_are_read_and_summed(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], stream=stream)
    server.add(
        call(usage=Usage(100, 20, cached_tokens=64, reasoning_tokens=12)),
        Turn(text="done", usage=Usage(130, 5, cached_tokens=96)),
    )
    hooks = Usages()

    assert runner.run(assistant, "Go.", hooks=hooks) == "done"

    first, second = tokens(100, 20, 64, 12), tokens(130, 5, 96, 0)
    assert hooks.seen == [(first, first), (second, first + second)]
    assert assistant.last_result is not None
    assert assistant.last_result.usage == tokens(230, 25, 160, 12)
    assert assistant.usage == tokens(230, 25, 160, 12)
    if stream:
        assert all(request.include_usage for request in server.requests)


def test_a_server_without_details_reports_zero_cached_and_reasoning_tokens(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(stream=stream)
    server.add(Turn(text="ok", usage=Usage(7, 3)))
    hooks = Usages()

    runner.run(assistant, "Hi.", hooks=hooks)

    assert hooks.seen == [(tokens(7, 3), tokens(7, 3))]


def test_assistant_usage_adds_up_every_run_and_last_result_is_the_last_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], stream=stream, max_turns=1)
    assert assistant.usage == TokenUsage()
    assert assistant.last_result is None

    server.add(Turn(text="one", usage=Usage(10, 2, cached_tokens=4)))
    runner.run(assistant, "1")
    assert assistant.last_result is not None
    assert assistant.last_result.usage == tokens(10, 2, 4)

    # A run that fails after a model call: its tokens were spent, and count.
    server.add(call(usage=Usage(20, 3, reasoning_tokens=1)))
    with pytest.raises(MaxTurnsExceeded) as failed:
        runner.run(assistant, "2")
    assert assistant.last_result.error is failed.value
    assert assistant.last_result.usage == tokens(20, 3, 0, 1)

    server.add(Turn(text="three", usage=Usage(40, 4)))
    runner.run(assistant, "3")
    assert assistant.last_result.usage == tokens(40, 4)
    assert assistant.last_result.error is None
    assert assistant.last_result.text == "three"
    assert assistant.usage == tokens(70, 9, 4, 1)


# -- max_total_tokens -------------------------------------------------------------------------


def test_max_total_tokens_refuses_the_call_that_would_pass_it(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], stream=stream, max_total_tokens=150)
    server.add(call(usage=Usage(100, 10)), Turn(text="never sent"))

    with pytest.raises(UsageLimitExceeded) as caught:
        runner.run(assistant, "Look a up.")

    error = caught.value
    assert (error.limit, error.value) == ("max_total_tokens", 150)
    # 110 spent, and the next prompt holds at least the last one (100 tokens).
    assert error.needed > 210
    assert "max_total_tokens=150" in str(error)
    assert len(server.requests) == 1
    assert server.pending == 1
    history = assistant.history.to_openai()
    assert history[0] == {"role": "user", "content": "Look a up."}
    assert [m["role"] for m in history] == ["user", "assistant", "tool"]
    assert validate_history(assistant.history) == []
    assert assistant.last_result is not None
    assert assistant.last_result.error is error
    assert assistant.last_result.usage == tokens(100, 10)

    # The limit is per run: a new run starts from nothing.
    assert runner.run(assistant, "And now?") == "never sent"


def test_a_run_within_max_total_tokens_is_not_stopped(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup], max_total_tokens=10_000, max_request_tokens=5_000)
    server.add(call(usage=Usage(100, 10)), call(usage=Usage(130, 10)), Turn(text="done"))

    assert runner.run(assistant, "Go.") == "done"
    assert len(server.requests) == 3


def test_max_total_tokens_counts_what_the_run_spent(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """Each call here is small, but together they pass the limit."""
    assistant = bot(tools=[lookup], max_total_tokens=970)
    server.add(*[call(usage=Usage(20, 300)) for _ in range(5)], Turn(text="never"))

    with pytest.raises(UsageLimitExceeded) as caught:
        runner.run(assistant, "Go.")

    assert caught.value.limit == "max_total_tokens"
    # Three calls spent 960 tokens; a fourth prompt cannot fit in the 10 left.
    assert len(server.requests) == 3
    assert assistant.last_result is not None
    assert assistant.last_result.usage.total_tokens == 960
    assert validate_history(assistant.history) == []


# -- max_request_tokens -----------------------------------------------------------------------


def long_history(turns: int = 20) -> History:
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        messages.append({"role": "user", "content": f"question {n}: " + "why? " * 30})
        messages.append({"role": "assistant", "content": f"answer {n}: " + "because. " * 30})
    return History.from_openai(messages)


def test_a_first_call_over_max_request_tokens_is_refused_on_the_estimate(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    history = long_history()
    before = history.to_openai()
    assistant = bot(history=history, stream=stream, max_request_tokens=500)

    with pytest.raises(UsageLimitExceeded) as caught:
        runner.run(assistant, "One more?")

    error = caught.value
    assert (error.limit, error.value) == ("max_request_tokens", 500)
    # No report yet to scale by: the bare estimate of the messages to send.
    assert error.needed == estimate_tokens([*history])
    assert error.needed > 500
    assert server.requests == []
    assert assistant.history.to_openai() == [*before, {"role": "user", "content": "One more?"}]
    assert validate_history(assistant.history) == []


def test_max_request_tokens_refuses_a_later_call_grown_by_a_tool_result(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[fetch], stream=stream, max_request_tokens=600)
    server.add(call("fetch", usage=Usage(60, 10), url="https://example.com"), Turn(text="never"))

    with pytest.raises(UsageLimitExceeded) as caught:
        runner.run(assistant, "Summarise https://example.com")

    assert caught.value.limit == "max_request_tokens"
    assert caught.value.value == 600
    assert caught.value.needed > 600
    assert len(server.requests) == 1
    assert validate_history(assistant.history) == []
    assert isinstance(assistant.history[-1], ToolMessage)  # the call was answered
    assert assistant.history[0] == UserMessage(content="Summarise https://example.com")


def test_the_estimate_is_scaled_by_the_servers_count(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """The same request refused or let through depending on what the server counted for the call
    before: a server that counts ten times the estimate makes the next call ten times as big."""
    prompt = "Look a up."
    first = estimate_tokens([UserMessage(content=prompt)])

    def second_call_needs(reported: int) -> int | None:
        assistant = bot(tools=[lookup], max_request_tokens=first * 20)
        server.add(call(usage=Usage(reported, 5)), Turn(text="fine"))
        try:
            runner.run(assistant, prompt)
        except UsageLimitExceeded as error:
            return error.needed
        return None

    assert second_call_needs(first) is None
    needed = second_call_needs(first * 10)
    assert needed is not None
    assert needed > first * 10


def test_a_trimming_hook_keeps_a_run_under_max_request_tokens(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    history = long_history()
    assistant = bot(
        history=history, stream=stream, max_request_tokens=500, hooks=KeepWithinTokens(300)
    )
    server.add(Turn(text="Short enough.", usage=Usage(250, 5)))

    assert runner.run(assistant, "One more?") == "Short enough."

    (sent,) = server.requests
    assert sent.messages[-1] == {"role": "user", "content": "One more?"}
    assert len(sent.messages) < len(history)
    assert estimate_tokens(list(History.from_openai(sent.messages))) <= 300
    assert len(assistant.history) == 20 * 2 + 2


def test_the_system_prompt_counts_against_max_request_tokens(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(system="Follow these rules. " * 500, max_request_tokens=100)
    server.add(Turn(text="made anyway"))

    with pytest.raises(UsageLimitExceeded):
        runner.run(assistant, "Hi.")
    assert server.requests == []


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["max_total_tokens", "max_request_tokens"])
@pytest.mark.parametrize("value", [0, -5, True, False, 1.5, "100"])
def test_a_limit_that_is_not_a_positive_int_is_refused(name: str, value: object) -> None:
    with pytest.raises(SettingsError, match=name):
        Assistant(model="m", **{name: value})
    assistant = Assistant(model="m")
    with pytest.raises(SettingsError, match=name):
        assistant.configure(**{name: value})
    assert getattr(assistant.settings, name) is None


@pytest.mark.parametrize("name", ["max_total_tokens", "max_request_tokens"])
def test_a_limit_of_one_or_more_or_none_is_taken(name: str) -> None:
    assistant = Assistant(model="m", **{name: 1})
    assert getattr(assistant.settings, name) == 1
    assistant.configure(**{name: None})
    assert getattr(assistant.settings, name) is None
    assert name not in assistant.settings.params


def test_the_error_pickles_with_its_fields() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(UsageLimitExceeded("max_request_tokens", 10, 12)))
    assert (error.limit, error.value, error.needed) == ("max_request_tokens", 10, 12)
