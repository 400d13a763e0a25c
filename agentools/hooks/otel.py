"""``TracingHooks``: OpenTelemetry spans for each run, model call and tool call, named and
attributed as the GenAI semantic conventions say.

An optional extra (``pip install 'agentools[otel]'``), on ``opentelemetry-api`` only: spans go to
whatever tracer provider the application set up (the SDK and an exporter are the application's
choice). Nothing else in agentools imports it. See ``docs/observability.md``.

The tree of one run::

    invoke_agent [name]          INTERNAL  the run, from on_response_start to its end
    ├── chat {model}             CLIENT    one per model call (a retried call: one per attempt)
    ├── execute_tool {tool}      INTERNAL  one per tool call, from on_tool_call to its result
    └── chat {model} ...

Tool spans are children of the run span, beside the model call that asked for them, not under
it: a model call's span ends when its answer has arrived, and its tools run after that (the next
model call waits for them), so a child would outlive its parent.

Children get their parent explicitly (``trace.set_span_in_context(run_span)``), never from the
current context: hooks are called between events, from whatever thread or task iterates them,
and the current span there is the caller's. Only the run span takes the caller's current span as
its parent, so a run inside a request's span sits under it.
"""

from __future__ import annotations

try:
    from opentelemetry import trace
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "agentools.hooks.TracingHooks needs the 'opentelemetry-api' package: "
        "pip install 'agentools[otel]'"
    ) from error

import contextvars
import json
import threading
import time
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from .._errors import RunPaused
from .base import Hooks

if TYPE_CHECKING:
    from ..assistant import Assistant
    from ..calls import ToolCall, ToolResult
    from ..messages import ContentPart, Message, TokenUsage

__all__ = ["TracingHooks"]

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
AGENT_NAME = "gen_ai.agent.name"
REQUEST_MODEL = "gen_ai.request.model"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
TURN = "agentools.turn"
ATTEMPT = "agentools.attempt"
"""The GenAI conventions' names (``opentelemetry-semantic-conventions`` has them too, as
incubating constants; not worth a dependency for strings), and two of our own."""

REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
    "n": "gen_ai.request.choice.count",
}
"""Chat Completions parameters -> the attributes a model call's span reports them as."""


class _Run:
    """The open spans of one run. Its hooks are called one at a time, so no lock is needed."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.context: Context = trace.set_span_in_context(span)
        self.chat: Span | None = None
        self.answered: int | None = None
        """When the open model call's answer arrived (ns), the end time its span gets: the
        span is ended only once that answer's text and tool calls, its output, are announced."""
        self.output: list[dict[str, Any]] = []
        self.finish_reason: str | None = None
        self.tools: dict[str, Span] = {}
        self.ended = False


_RUNS: contextvars.ContextVar[Mapping[TracingHooks, _Run]] = contextvars.ContextVar(
    "agentools_tracing_runs", default=types.MappingProxyType({})
)
"""Which run a hook call belongs to, per ``TracingHooks``: set when a run starts, in the context
of whoever iterates its events (a thread, a task), where its later hooks are called too."""


class TracingHooks(Hooks):
    """Hooks that trace each run as OpenTelemetry spans (see the module's docstring for the tree).

    ``tracer_provider``: the global one by default. ``capture_content``: also record the prompt,
    the answers, tool arguments and tool results (``gen_ai.input.messages``,
    ``gen_ai.output.messages``, ``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result``),
    which may hold personal data: off by default, as the conventions ask. ``agent_name`` names the
    run span (``invoke_agent {agent_name}``) and is set as ``gen_ai.agent.name``; ``provider`` is
    ``gen_ai.provider.name``.

    ``assistant``: the assistant these hooks trace, if they trace one only. Hooks see what a run
    does, not how it was asked; given the assistant, a model call's span also reports its request
    parameters (``temperature``, ``max_tokens``, ``top_p``... as ``gen_ai.request.*``) and the
    server of the client passed in (``server.address``, ``server.port``), and with
    ``capture_content`` its input (the history sent, ``gen_ai.input.messages``) and the system
    prompt (``gen_ai.system_instructions``)::

        assistant = Assistant(model="gpt-4o-mini", tools=[...])
        assistant.hooks = TracingHooks(assistant=assistant)

    One object may trace many runs, also at once (one per thread or task, say a web server's): a
    hook call belongs to the run started in the same thread or task, or, if none was, to the only
    run going on. Two runs whose events are iterated in turn by one thread or task need an object
    each.

    A run that fails, is cancelled or is left early ends every span it opened, with status ERROR,
    ``error.type`` (the exception's class name: ``RunCancelled``, ``InternalServerError``,
    ``GeneratorExit`` for events closed early...) and the exception recorded. A tool that raised
    marks its own span so; the run goes on, as it does.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool = False,
        agent_name: str | None = None,
        provider: str = "openai",
        assistant: Assistant | None = None,
    ) -> None:
        self.tracer = trace.get_tracer("agentools", tracer_provider=tracer_provider)
        self.capture_content = capture_content
        self.agent_name = agent_name
        self.assistant = assistant
        self.common: dict[str, str] = {PROVIDER: provider}
        if agent_name is not None:
            self.common[AGENT_NAME] = agent_name
        self._lock = threading.Lock()
        self._open: set[_Run] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capture_content={self.capture_content})"

    # -- which run ----------------------------------------------------------------------------

    def _run(self) -> _Run | None:
        run = _RUNS.get().get(self)
        if run is not None and not run.ended:
            return run
        with self._lock:  # not started here: the only run going on, if there is just one
            return next(iter(self._open)) if len(self._open) == 1 else None

    def _parent(self) -> Context | None:
        """A run started inside a tool of a run traced by this object (an assistant used as a
        tool) goes under that tool's span if only one is running, else under that run; any
        other run under the caller's current span."""
        outer = _RUNS.get().get(self)
        if outer is None or outer.ended:
            return None
        if len(outer.tools) == 1:
            return trace.set_span_in_context(next(iter(outer.tools.values())))
        return outer.context

    # -- the run -------------------------------------------------------------------------------

    def on_response_start(self, prompt: str | list[ContentPart], model: str) -> None:
        name = "invoke_agent" if self.agent_name is None else f"invoke_agent {self.agent_name}"
        attributes: dict[str, AttributeValue] = {
            OPERATION: "invoke_agent",
            **self.common,
            REQUEST_MODEL: model,
        }
        if self.capture_content:
            attributes[INPUT_MESSAGES] = _json([{"role": "user", "parts": _parts(prompt)}])
        span = self.tracer.start_span(
            name, context=self._parent(), kind=SpanKind.INTERNAL, attributes=attributes
        )
        run = _Run(span)
        _RUNS.set({**_RUNS.get(), self: run})
        with self._lock:
            self._open.add(run)

    def on_usage(self, usage: TokenUsage, total: TokenUsage) -> None:
        run = self._run()
        if run is not None:
            run.span.set_attributes(_usage(total))

    def on_response_end(self, text: str) -> None:
        run = self._run()
        if run is None:
            return
        self._end_chat(run)
        for span in run.tools.values():  # every call is answered before the end: never here
            span.end()
        run.tools.clear()
        if self.capture_content:
            message = {"role": "assistant", "parts": [{"type": "text", "content": text}]}
            message["finish_reason"] = run.finish_reason or "stop"
            run.span.set_attribute(OUTPUT_MESSAGES, _json([message]))
        self._close(run)
        run.span.end()

    def on_response_error(self, error: BaseException) -> None:
        run = self._run()
        if run is None:
            return  # failed before this object's on_response_start was called
        if run.chat is not None and run.answered is None:
            _failed(run.chat, error)  # the model call was going on
            run.chat.end()
            run.chat = None
        self._end_chat(run)
        for span in run.tools.values():
            _failed(span, error)
            span.end()
        run.tools.clear()
        _failed(run.span, error)
        self._close(run)
        run.span.end()

    def _close(self, run: _Run) -> None:
        run.ended = True
        with self._lock:
            self._open.discard(run)
        runs = _RUNS.get()
        if runs.get(self) is run:
            _RUNS.set({hooks: other for hooks, other in runs.items() if hooks is not self})

    # -- model calls ---------------------------------------------------------------------------

    def on_model_call(self, turn: int, model: str, attempt: int) -> None:
        run = self._run()
        if run is None:
            return
        self._end_chat(run)
        attributes: dict[str, AttributeValue] = {
            OPERATION: "chat",
            **self.common,
            REQUEST_MODEL: model,
            TURN: turn,
        }
        if attempt:
            attributes[ATTEMPT] = attempt
        if self.assistant is not None:
            attributes.update(self._request(self.assistant))
        run.chat = self.tracer.start_span(
            f"chat {model}", context=run.context, kind=SpanKind.CLIENT, attributes=attributes
        )

    def _request(self, assistant: Assistant) -> dict[str, AttributeValue]:
        """What the model call is asked with, as far as the assistant tells."""
        settings = assistant.settings
        attributes: dict[str, AttributeValue] = {"gen_ai.request.stream": settings.stream}
        for name, value in settings.params.items():
            key = REQUEST_PARAMS.get(name)
            if key is None or value is None or (name == "n" and value == 1):
                continue
            if name == "stop":
                value = [value] if isinstance(value, str) else [str(v) for v in value]
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                continue  # not what the conventions describe (a NotGiven, say)
            attributes[key] = value
        # The client given to the assistant (or the one it built for run()), if any: the
        # asyncio runner's own clients are built per event loop.
        client = assistant._client or assistant._async_client
        if client is not None:
            url = client.base_url
            attributes[SERVER_ADDRESS] = url.host
            attributes[SERVER_PORT] = url.port or (443 if url.scheme == "https" else 80)
        if self.capture_content:
            if settings.system is not None:
                system = [{"type": "text", "content": settings.system}]
                attributes[SYSTEM_INSTRUCTIONS] = _json(system)
            attributes[INPUT_MESSAGES] = _json([_message(m) for m in assistant.history])
        return attributes

    def on_retry(self, attempt: int, error: BaseException) -> None:
        run = self._run()
        if run is not None and run.chat is not None:
            _failed(run.chat, error)
            run.chat.end()
            run.chat = None

    def on_model_response(self, turn: int, finish_reason: str, usage: TokenUsage | None) -> None:
        run = self._run()
        if run is None or run.chat is None:
            return
        run.answered = time.time_ns()
        run.finish_reason = finish_reason
        run.chat.set_attribute(FINISH_REASONS, [finish_reason])
        if usage is not None:
            run.chat.set_attributes(_usage(usage))

    def on_reasoning(self, text: str) -> None:
        self._said("reasoning", text)

    def on_text(self, text: str) -> None:
        self._said("text", text)

    def on_refusal(self, text: str) -> None:
        self._said("text", text)

    def _said(self, kind: str, text: str) -> None:
        run = self._run()
        if run is not None and self.capture_content:
            run.output.append({"type": kind, "content": text})

    def _end_chat(self, run: _Run) -> None:
        """End the model call's span at the time its answer arrived, with that answer."""
        if run.chat is None:
            return
        if self.capture_content and run.output:
            message = {"role": "assistant", "parts": run.output}
            message["finish_reason"] = run.finish_reason or "stop"
            run.chat.set_attribute(OUTPUT_MESSAGES, _json([message]))
        run.chat.end(end_time=run.answered)
        run.chat, run.answered, run.output = None, None, []

    # -- tool calls ----------------------------------------------------------------------------

    def on_tool_call(self, call: ToolCall) -> None:
        run = self._run()
        if run is None:
            return
        if self.capture_content:
            part = {"type": "tool_call", "id": call.id, "name": call.name}
            run.output.append({**part, "arguments": call.parsed})
        attributes: dict[str, AttributeValue] = {
            OPERATION: "execute_tool",
            **self.common,
            TOOL_NAME: call.name,
            TOOL_CALL_ID: call.id,
            TOOL_TYPE: "function",
        }
        if self.capture_content:
            attributes[TOOL_ARGUMENTS] = call.arguments
        run.tools[call.id] = self.tracer.start_span(
            f"execute_tool {call.name}",
            context=run.context,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )

    def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        run = self._run()
        if run is None:
            return
        self._end_chat(run)  # all of its answer has been announced once tools report
        span = run.tools.pop(call.id, None)
        if span is None:
            return
        if result.error is not None:
            _failed(span, result.error)
        elif self.capture_content:  # a result, as the conventions say: not the error's message
            span.set_attribute(TOOL_RESULT, result.content)
        span.end()


def _failed(span: Span, error: BaseException) -> None:
    if isinstance(error, RunPaused):
        # Not a failure: the run waits for approvals (its calls did not run).
        span.add_event("agentools.run.paused", {"agentools.waiting": list(error.pending.waiting)})
        return
    span.record_exception(error)
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, str(error) or type(error).__qualname__))


def _usage(usage: TokenUsage) -> dict[str, int]:
    return {INPUT_TOKENS: usage.prompt_tokens, OUTPUT_TOKENS: usage.completion_tokens}


def _parts(prompt: str | list[ContentPart]) -> list[dict[str, Any]]:
    """A prompt as the conventions' message parts: its text; of an image or audio part only its
    type (their data may be megabytes)."""
    if isinstance(prompt, str):
        return [{"type": "text", "content": prompt}]
    return [
        {"type": "text", "content": part.get("text", "")}
        if part.get("type") == "text"
        else {"type": str(part.get("type"))}
        for part in prompt
    ]


def _message(message: Message) -> dict[str, Any]:
    """A history message as the conventions' chat message (role and parts)."""
    parts: list[dict[str, Any]] = []
    if message.role == "tool":
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "result": message.content}
        )
    elif message.role == "assistant":
        if message.reasoning:
            parts.append({"type": "reasoning", "content": message.reasoning})
        if message.content:
            parts.append({"type": "text", "content": message.content})
        if message.refusal:
            parts.append({"type": "text", "content": message.refusal})
        for call in message.tool_calls:
            part = {"type": "tool_call", "id": call.id, "name": call.name}
            parts.append({**part, "arguments": _arguments(call.arguments)})
    else:
        parts = _parts(message.content)
    role = "system" if message.role == "developer" else message.role
    return {"role": role, "parts": parts}


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json(value: Any) -> str:
    """Structured content as one JSON string attribute (span attributes take no mappings)."""
    return json.dumps(value, ensure_ascii=False, default=str)
