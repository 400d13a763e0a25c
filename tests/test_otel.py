"""``TracingHooks``: the spans a user's tracing backend receives, caught by the OpenTelemetry
SDK's in-memory exporter on a private tracer provider, under both runners.

What is checked is what a dashboard relies on: the tree (a run span, its model calls and tool
calls as its children), the GenAI conventions' names and attributes, errors marked where they
happened, every span ended whatever ended the run, no message content unless asked for, and runs
that go on at once kept in trees of their own.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openai
import pytest

pytest.importorskip(
    "opentelemetry.sdk",
    reason="the tracing tests need the OpenTelemetry SDK: pip install 'agentools[test]'",
)

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentools import Assistant, CancelToken, Hooks, RunCancelled, function_tool
from agentools.hooks import FanOutHooks, RecordingHooks, TracingHooks
from agentools.testing import (
    Chunking,
    DropAfter,
    FakeOpenAIServer,
    HTTPStatus,
    StallAfter,
    ToolCallSpec,
    Turn,
    offline_model,
)

from .support import Bot, Runner, serving

ROOT = Path(__file__).resolve().parent.parent

CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
)


class Started(SpanProcessor):
    """Keeps every span started, ended or not: the exporter sees only the ended ones."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        self.spans.append(span)


class Traces:
    """A private tracer provider and what it caught."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.started = Started()
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.started)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def hooks(self, **options: Any) -> TracingHooks:
        return TracingHooks(tracer_provider=self.provider, **options)

    def spans(self) -> list[ReadableSpan]:
        """The ended spans, in the order they started; and no span may be left open."""
        assert [span.name for span in self.started.spans if span.end_time is None] == []
        return sorted(self.exporter.get_finished_spans(), key=lambda span: span.start_time or 0)

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name.startswith(prefix)]

    def run(self) -> ReadableSpan:
        (run,) = self.named("invoke_agent")
        return run


@pytest.fixture
def traces() -> Iterator[Traces]:
    traces = Traces()
    yield traces
    traces.provider.shutdown()


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def children(parent: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[str]:
    return [span.name for span in spans if parent_of(span) == span_id(parent)]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def times(span: ReadableSpan) -> tuple[int, int]:
    assert span.start_time is not None
    assert span.end_time is not None
    return span.start_time, span.end_time


def error_type(span: ReadableSpan) -> Any:
    assert span.status.status_code is StatusCode.ERROR, span.name
    return attributes(span)["error.type"]


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    time.sleep(0.05)  # long enough for two calls to overlap
    return f"Sunny in {city}"


@function_tool
def fails() -> str:
    """Always fails."""
    raise RuntimeError("the backend is down")


def two_weather_calls() -> Turn:
    return Turn(
        text="Checking.",
        tool_calls=[
            ToolCallSpec(name="weather", arguments={"city": "Paris"}, id="call_paris"),
            ToolCallSpec(name="weather", arguments={"city": "Oslo"}, id="call_oslo"),
        ],
    )


# -- the tree and its attributes -------------------------------------------------------------


def test_a_text_answer_is_a_run_span_with_its_model_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, traces: Traces
) -> None:
    server.add(Turn(text="Hello there."))
    assistant = bot(hooks=traces.hooks(), stream=stream)

    assert runner.run(assistant, "Hi") == "Hello there."

    run, chat = traces.spans()
    assert (run.name, run.kind, run.parent) == ("invoke_agent", SpanKind.INTERNAL, None)
    assert (chat.name, chat.kind) == ("chat fake-model", SpanKind.CLIENT)
    assert children(run, [chat]) == ["chat fake-model"]
    assert attributes(run) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "fake-model",
        "gen_ai.usage.input_tokens": attributes(chat)["gen_ai.usage.input_tokens"],
        "gen_ai.usage.output_tokens": attributes(chat)["gen_ai.usage.output_tokens"],
    }
    assert attributes(chat) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "fake-model",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": attributes(chat)["gen_ai.usage.input_tokens"],
        "gen_ai.usage.output_tokens": attributes(chat)["gen_ai.usage.output_tokens"],
        "agentools.turn": 1,
    }
    assert attributes(chat)["gen_ai.usage.input_tokens"] > 0
    assert attributes(chat)["gen_ai.usage.output_tokens"] > 0
    assert run.status.status_code is chat.status.status_code is StatusCode.UNSET
    assert times(run)[0] <= times(chat)[0] <= times(chat)[1] <= times(run)[1]


def test_the_run_span_sits_under_the_callers_current_span_and_names_the_agent(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="Hello."))
    assistant = bot(hooks=traces.hooks(agent_name="Greeter"))
    tracer = traces.provider.get_tracer("app")

    with tracer.start_as_current_span("request"):
        runner.run(assistant, "Hi")

    request, run, chat = traces.spans()
    assert run.name == "invoke_agent Greeter"
    assert parent_of(run) == span_id(request)
    assert children(run, [chat]) == ["chat fake-model"]
    assert attributes(run)["gen_ai.agent.name"] == attributes(chat)["gen_ai.agent.name"]


def test_parallel_tool_calls_are_children_of_the_run_between_its_model_calls(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    """Tool spans are the run's children, not the model call's: that call's span ends when its
    answer has arrived, and the tools run after it, so they could not be inside it."""
    server.add(two_weather_calls(), Turn(text="Sunny in both."))
    assistant = bot(tools=[weather], hooks=traces.hooks())

    assert runner.run(assistant, "Weather in Paris and Oslo?") == "Sunny in both."

    spans = traces.spans()
    run = traces.run()
    first, second = traces.named("chat")
    tools = traces.named("execute_tool")
    assert children(run, spans) == [
        "chat fake-model",
        "execute_tool weather",
        "execute_tool weather",
        "chat fake-model",
    ]
    assert {attributes(tool)["gen_ai.tool.call.id"] for tool in tools} == {
        "call_paris",
        "call_oslo",
    }
    for tool in tools:
        assert tool.kind is SpanKind.INTERNAL
        assert attributes(tool) == {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.provider.name": "openai",
            "gen_ai.tool.name": "weather",
            "gen_ai.tool.call.id": attributes(tool)["gen_ai.tool.call.id"],
            "gen_ai.tool.type": "function",
        }
        assert times(first)[1] <= times(tool)[0]
        assert times(tool)[1] <= times(second)[0]
    (one_start, one_end), (other_start, other_end) = (times(tool) for tool in tools)
    assert one_start < other_end
    assert other_start < one_end  # they ran at once
    assert attributes(first)["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attributes(second)["agentools.turn"] == 2
    assert attributes(run)["gen_ai.usage.input_tokens"] == sum(
        attributes(chat)["gen_ai.usage.input_tokens"] for chat in (first, second)
    )


# -- errors ------------------------------------------------------------------------------------


def test_a_tool_that_raises_marks_its_own_span_and_the_run_goes_on(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(tool_calls=[ToolCallSpec(name="fails", arguments={})]), Turn(text="Sorry."))

    assert runner.run(bot(tools=[fails], hooks=traces.hooks()), "Go") == "Sorry."

    (tool,) = traces.named("execute_tool")
    assert error_type(tool) == "RuntimeError"
    assert tool.status.description == "the backend is down"
    (event,) = tool.events
    assert event.name == "exception"
    assert dict(event.attributes or {})["exception.type"] == "RuntimeError"
    assert [span.status.status_code for span in traces.spans() if span is not tool] == [
        StatusCode.UNSET
    ] * 3


def test_a_server_error_marks_the_model_call_and_the_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="Never sent.", fault=HTTPStatus(500)))
    assistant = bot(hooks=traces.hooks(), client={"max_retries": 0})

    with pytest.raises(openai.InternalServerError):
        runner.run(assistant, "Go")

    run, chat = traces.spans()
    assert error_type(run) == error_type(chat) == "InternalServerError"
    assert [event.name for event in chat.events] == ["exception"]
    assert "gen_ai.response.finish_reasons" not in attributes(chat)


def test_a_retried_model_call_is_one_span_per_attempt(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="Lost.", fault=DropAfter(0)), Turn(text="Made it."))
    assistant = bot(hooks=traces.hooks(), stream_retries=1, client={"max_retries": 0})

    assert runner.run(assistant, "Go") == "Made it."

    broken, retried = traces.named("chat")
    assert error_type(broken) == "APIConnectionError"
    assert "agentools.attempt" not in attributes(broken)
    assert attributes(retried)["agentools.attempt"] == 1
    assert retried.status.status_code is traces.run().status.status_code is StatusCode.UNSET


def test_a_cancel_mid_stream_ends_every_span_as_cancelled(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="x" * 40, chunking=Chunking(text=2), fault=StallAfter(5, seconds=5)))
    token = CancelToken()

    class CancelMidStream(RecordingHooks):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            token.cancel()

    hooks = FanOutHooks(traces.hooks(), CancelMidStream())
    with pytest.raises(RunCancelled):
        runner.run(bot(hooks=hooks), "Go", cancel=token)

    run, chat = traces.spans()  # both ended: spans() checks that none was left open
    assert error_type(run) == error_type(chat) == "RunCancelled"


def test_a_cancel_while_tools_run_ends_their_spans(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    token = CancelToken()
    release = threading.Event()

    @function_tool
    def slow() -> str:
        """Waits."""
        token.cancel()
        release.wait(5)
        return "late"

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="slow", arguments={}), ToolCallSpec(name="slow")])
    )

    class Release(RecordingHooks):
        def on_response_error(self, error: BaseException) -> None:
            release.set()

    hooks = FanOutHooks(traces.hooks(), Release())
    assistant = bot(tools=[slow], hooks=hooks)
    threading.Timer(0.2, release.set).start()  # sync tools cannot be stopped: the run waits
    with pytest.raises(RunCancelled):
        runner.run(assistant, "Go", cancel=token)

    tools = traces.named("execute_tool")
    assert len(tools) == 2
    assert [error_type(tool) for tool in tools] == ["RunCancelled"] * 2
    assert error_type(traces.run()) == "RunCancelled"


def test_events_closed_early_end_the_spans_with_generator_exit(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="x" * 100, chunking=Chunking(text=2)))
    assistant = bot(hooks=traces.hooks())
    if runner.is_async:

        async def leave_early() -> None:
            async with assistant.aresponse_events("Go") as events:
                async for event in events:
                    if type(event).__name__ == "TextDelta":
                        break

        runner.await_(leave_early())
    else:
        with assistant.response_events("Go") as events:
            for event in events:
                if type(event).__name__ == "TextDelta":
                    break

    run, chat = traces.spans()
    assert error_type(run) == error_type(chat) == "GeneratorExit"


# -- content -----------------------------------------------------------------------------------


def test_no_message_content_is_recorded_by_default(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(two_weather_calls(), Turn(text="Sunny in both."))
    runner.run(bot(tools=[weather], hooks=traces.hooks()), "Secret question")

    spans = traces.spans()
    assert len(spans) == 5
    for span in spans:
        assert set(attributes(span)) & set(CONTENT_KEYS) == set(), span.name
        assert not any("Secret" in str(value) for value in attributes(span).values())


def test_capture_content_records_messages_arguments_and_results(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(two_weather_calls(), Turn(text="Sunny in both."))
    hooks = traces.hooks(capture_content=True)

    runner.run(bot(tools=[weather], hooks=hooks), "Weather in Paris and Oslo?")

    run = traces.run()
    first, second = traces.named("chat")
    assert json.loads(attributes(run)["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris and Oslo?"}]}
    ]
    assert json.loads(attributes(run)["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Sunny in both."}],
            "finish_reason": "stop",
        }
    ]
    assert json.loads(attributes(first)["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Checking."},
                {
                    "type": "tool_call",
                    "id": "call_paris",
                    "name": "weather",
                    "arguments": {"city": "Paris"},
                },
                {
                    "type": "tool_call",
                    "id": "call_oslo",
                    "name": "weather",
                    "arguments": {"city": "Oslo"},
                },
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert json.loads(attributes(second)["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "Sunny in both."}
    ]
    results = {
        json.loads(attributes(tool)["gen_ai.tool.call.arguments"])["city"]: attributes(tool)[
            "gen_ai.tool.call.result"
        ]
        for tool in traces.named("execute_tool")
    }
    assert results == {"Paris": "Sunny in Paris", "Oslo": "Sunny in Oslo"}
    assert times(first)[1] <= min(times(tool)[0] for tool in traces.named("execute_tool"))


# -- runs at once, events, fan-out ----------------------------------------------------------


@pytest.fixture
def responding() -> Iterator[FakeOpenAIServer]:
    """A server whose model calls every tool once, then answers from the results: runs going on
    at once each get the answers of their own conversation."""
    with serving(responder=offline_model) as server:
        yield server


@function_tool
def alpha(topic: str) -> str:
    """Alpha's tool."""
    time.sleep(0.05)
    return "a"


@function_tool
def beta(topic: str) -> str:
    """Beta's tool."""
    time.sleep(0.05)
    return "b"


def test_two_runs_at_once_keep_their_trees_apart(
    responding: FakeOpenAIServer, runner: Runner, traces: Traces
) -> None:
    """One ``TracingHooks`` shared by two assistants whose runs go on at once (two tasks, or
    two threads): each hook call lands in its own run's tree."""
    bot = Bot(responding, runner)
    hooks = traces.hooks()
    a, b = bot(tools=[alpha], hooks=hooks), bot(tools=[beta], hooks=hooks)
    try:
        if runner.is_async:

            async def both() -> list[str]:
                return await asyncio.gather(a.arun("About 'Rome'"), b.arun("About 'Oslo'"))

            runner.await_(both())
        else:
            threads = [threading.Thread(target=x.run, args=("About 'Rome'",)) for x in (a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        bot.close()

    spans = traces.spans()
    runs = traces.named("invoke_agent")
    assert len(runs) == 2
    tools = []
    for run in runs:
        assert run.parent is None
        mine = [span for span in spans if trace_of(span) == trace_of(run) and span is not run]
        assert [parent_of(span) for span in mine] == [span_id(run)] * 3
        assert sorted(span.name for span in mine) == [
            "chat fake-model",
            "chat fake-model",
            f"execute_tool {attributes(mine[1])['gen_ai.tool.name']}",
        ]
        tools.append(attributes(mine[1])["gen_ai.tool.name"])
    assert sorted(tools) == ["alpha", "beta"]
    assert [span.name for span in spans if span.parent is None] == ["invoke_agent"] * 2


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


def test_events_give_the_same_tree_also_when_another_thread_takes_them_over(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    """``response_events`` iterated by the caller: the hooks run in whatever thread (or task)
    takes the next event. Here the blocking run's last events are taken by a new thread,
    which knows nothing of the run: its hook calls go to the only run going on."""
    server.add(two_weather_calls(), Turn(text="Sunny in both."))
    assistant = bot(tools=[weather], hooks=traces.hooks())
    kinds: list[str] = []
    if runner.is_async:

        async def iterate() -> None:
            async with assistant.aresponse_events("Weather?") as events:
                kinds.extend([type(event).__name__ async for event in events])

        runner.await_(iterate())
    else:
        with assistant.response_events("Weather?") as events:
            for event in events:
                kinds.append(type(event).__name__)
                if kinds[-1] == "ToolCallDone":
                    break
            rest = threading.Thread(target=lambda: kinds.extend(type(e).__name__ for e in events))
            rest.start()
            rest.join()

    assert kinds[-1] == "ResponseEnd"
    spans = traces.spans()
    assert children(traces.run(), spans) == [
        "chat fake-model",
        "execute_tool weather",
        "execute_tool weather",
        "chat fake-model",
    ]
    assert [span.status.status_code for span in spans] == [StatusCode.UNSET] * 5


def test_an_assistant_used_as_a_tool_traces_its_run_under_that_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    hooks = traces.hooks()
    inner = bot(hooks=hooks)

    @function_tool
    def ask_expert(question: str) -> str:
        """Ask the expert assistant."""
        return inner.run(question)

    server.add(
        Turn(tool_calls=[ToolCallSpec(name="ask_expert", arguments={"question": "Why?"})]),
        Turn(text="Because."),  # the expert's answer
        Turn(text="The expert says: because."),
    )
    outer = bot(tools=[ask_expert], hooks=hooks)

    assert runner.run(outer, "Ask the expert") == "The expert says: because."

    spans = traces.spans()
    outer_run, inner_run = traces.named("invoke_agent")
    (tool,) = traces.named("execute_tool")
    assert children(outer_run, spans) == [
        "chat fake-model",
        "execute_tool ask_expert",
        "chat fake-model",
    ]
    assert children(tool, spans) == ["invoke_agent"]
    assert children(inner_run, spans) == ["chat fake-model"]
    assert trace_of(inner_run) == trace_of(outer_run)


def test_importing_agentools_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, agentools, agentools.hooks; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_given_its_assistant_a_model_call_reports_how_it_was_asked(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(two_weather_calls(), Turn(text="Sunny in both."))
    assistant = bot(
        tools=[weather], system="Be brief.", temperature=0.2, max_tokens=200, stop="END", seed=7
    )
    assistant.hooks = traces.hooks(assistant=assistant)

    runner.run(assistant, "Weather?")

    first, second = traces.named("chat")
    client = assistant.async_client if runner.is_async else assistant.client
    for chat in (first, second):
        assert {
            key: value
            for key, value in attributes(chat).items()
            if key.startswith(("gen_ai.request.", "server."))
        } == {
            "gen_ai.request.model": "fake-model",
            "gen_ai.request.stream": True,
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.stop_sequences": ("END",),
            "gen_ai.request.seed": 7,
            "server.address": client.base_url.host,
            "server.port": client.base_url.port,
        }
        assert set(attributes(chat)) & set(CONTENT_KEYS) == set()

    traces.exporter.clear()
    server.add(Turn(text="Still sunny."))
    assistant.hooks = traces.hooks(assistant=assistant, capture_content=True)
    runner.run(assistant, "And now?")

    (chat,) = traces.named("chat")
    assert json.loads(attributes(chat)["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    sent = json.loads(attributes(chat)["gen_ai.input.messages"])
    assert [message["role"] for message in sent] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]
    assert sent[1]["parts"][1] == {
        "type": "tool_call",
        "id": "call_paris",
        "name": "weather",
        "arguments": {"city": "Paris"},
    }
    assert sent[2]["parts"] == [
        {"type": "tool_call_response", "id": "call_paris", "result": "Sunny in Paris"}
    ]
    assert sent[-1] == {"role": "user", "parts": [{"type": "text", "content": "And now?"}]}


def test_the_docs_examples_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/observability.md's code blocks, run in order in one namespace, as its last section
    says: what they print, and the spans of its last example."""
    page = (ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    with serving(responder=offline_model) as model:
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-docs")
        try:
            for block in blocks:
                exec(compile(block, "docs/observability.md", "exec"), namespace)
        finally:
            for value in namespace.values():
                if isinstance(value, Assistant):
                    value.close()

    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "invoke_agent",
        "chat gpt-4o-mini",
        "execute_tool get_weather",
        "chat gpt-4o-mini",
        'calling get_weather({"city": "Oslo"})',
    ]
    exporter = namespace["exporter"]
    spans = sorted(exporter.get_finished_spans(), key=lambda span: span.start_time)
    assert [span.name.split()[0] for span in spans] == [
        "invoke_agent",
        "chat",
        "execute_tool",
        "chat",
    ] * 3
    last_call = dict(spans[-1].attributes or {})
    assert last_call["gen_ai.request.temperature"] == 0
    assert "Rome" in last_call["gen_ai.input.messages"]
    namespace["provider"].shutdown()


@pytest.mark.parametrize("runner", ["async"], indirect=True)  # a task to cancel
def test_a_cancelled_task_ends_the_spans_with_cancelled_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="x" * 40, chunking=Chunking(text=2), fault=StallAfter(5, seconds=5)))

    async def cancel_mid_stream() -> None:
        streaming = asyncio.Event()

        class Streaming(Hooks):
            def on_partial_text(self, delta: str, snapshot: str) -> None:
                streaming.set()

        assistant = bot(hooks=FanOutHooks(traces.hooks(), Streaming()))
        task = asyncio.ensure_future(assistant.arun("Go"))
        await streaming.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    runner.await_(cancel_mid_stream())

    run, chat = traces.spans()
    assert error_type(run) == error_type(chat) == "CancelledError"


def test_without_opentelemetry_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None; import agentools.hooks\n"
        "try:\n"
        "    agentools.hooks.TracingHooks\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'agentools[otel]'" in done.stdout


def test_a_failed_tool_call_records_its_exception_not_a_result(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(tool_calls=[ToolCallSpec(name="fails", arguments={})]), Turn(text="Sorry."))

    runner.run(bot(tools=[fails], hooks=traces.hooks(capture_content=True)), "Go")

    (tool,) = traces.named("execute_tool")
    assert attributes(tool)["gen_ai.tool.call.arguments"] == "{}"
    assert "gen_ai.tool.call.result" not in attributes(tool)
    assert error_type(tool) == "RuntimeError"


def test_a_hook_that_raises_fails_the_run_span_not_the_model_call_that_answered(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(text="Hello."))

    class Raises(Hooks):
        def on_text(self, text: str) -> None:
            raise LookupError("the UI is gone")

    with pytest.raises(LookupError):
        runner.run(bot(hooks=FanOutHooks(traces.hooks(), Raises())), "Go")

    run, chat = traces.spans()
    assert error_type(run) == "LookupError"
    assert chat.status.status_code is StatusCode.UNSET
    assert attributes(chat)["gen_ai.response.finish_reasons"] == ("stop",)


def test_a_reasoning_models_reasoning_is_content_too(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Traces
) -> None:
    server.add(Turn(reasoning="They said hi.", text="Hello."), Turn(reasoning="Again.", text="Hi."))
    assistant = bot(hooks=traces.hooks())
    runner.run(assistant, "Hi")
    assert set(attributes(traces.named("chat")[0])) & set(CONTENT_KEYS) == set()

    traces.exporter.clear()
    assistant.hooks = traces.hooks(capture_content=True, assistant=assistant)
    runner.run(assistant, "Hi again")

    (chat,) = traces.named("chat")
    assert json.loads(attributes(chat)["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "reasoning", "content": "Again."},
        {"type": "text", "content": "Hi."},
    ]
    sent = json.loads(attributes(chat)["gen_ai.input.messages"])
    assert sent[1] == {
        "role": "assistant",
        "parts": [
            {"type": "reasoning", "content": "They said hi."},
            {"type": "text", "content": "Hello."},
        ],
    }
