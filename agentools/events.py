"""What happens during a response, as frozen value objects.

The machine produces these; the runners hand each one to the matching ``Hooks`` method, and
``Assistant.response_events()`` yields them for code that prefers ``match`` to callbacks::

    for event in assistant.response_events("Weather in Paris?"):
        match event:
            case TextDelta(delta=delta):
                print(delta, end="")
            case ToolResultDone(call=call, result=result):
                print(f"\\n[{call.name} -> {result.content}]")

Each class names the hook it feeds (``hook``); the hook is called with the event's fields, in
order, as positional arguments (``TextDelta(delta, snapshot)`` -> ``on_partial_text(delta,
snapshot)``), so both runners and the generator style dispatch through one table.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any, ClassVar, get_args

import attrs

from .calls import PartialToolCall, ToolCall, ToolResult
from .messages import AssistantMessage, ContentPart, TokenUsage

if TYPE_CHECKING:
    from .model_call import ModelCallRequest
    from .output import PartialOutput

__all__ = [
    "ApprovalRequest",
    "AsyncEventStream",
    "BeforeModelCall",
    "ContentFiltered",
    "Event",
    "EventStream",
    "MaxTokens",
    "ModelCallDone",
    "OutputDelta",
    "OutputDone",
    "ModelCallStart",
    "PreviewFailed",
    "ReasoningDelta",
    "ReasoningDone",
    "RefusalDone",
    "ResponseEnd",
    "ResponseFailed",
    "ResponseStart",
    "Retry",
    "TextDelta",
    "TextDone",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolResultDone",
    "UsageUpdate",
]


@attrs.frozen(kw_only=True)
class ResponseStart:
    """A run began: the prompt is in the history and the model is about to be called."""

    hook: ClassVar[str] = "on_response_start"
    prompt: str | list[ContentPart]
    model: str


@attrs.frozen(kw_only=True)
class ModelCallStart:
    """A model call is about to be made: call ``turn`` of this run (1, 2, ...) to ``model``;
    ``attempt`` is 0, or the retry's number when a broken call is made again."""

    hook: ClassVar[str] = "on_model_call"
    turn: int
    model: str
    attempt: int


@attrs.frozen(kw_only=True)
class BeforeModelCall:
    """A model call is about to be built from ``request``, which the hook may change (or end the
    run with ``StopRun``): see ``Hooks.before_model_call``. Comes before ``ModelCallStart``."""

    hook: ClassVar[str] = "before_model_call"
    request: ModelCallRequest


@attrs.frozen(kw_only=True)
class ModelCallDone:
    """The answer of model call ``turn`` has all arrived: why the model stopped
    (``finish_reason``: "stop", "tool_calls", "length", ...) and its token usage, if the server
    reported it. Sent before the answer's text, tool calls and usage events."""

    hook: ClassVar[str] = "on_model_response"
    turn: int
    finish_reason: str
    usage: TokenUsage | None


@attrs.frozen(kw_only=True)
class ReasoningDelta:
    """A piece of the model's reasoning while it streams; ``snapshot`` is all of it so far."""

    hook: ClassVar[str] = "on_partial_reasoning"
    delta: str
    snapshot: str


@attrs.frozen(kw_only=True)
class ReasoningDone:
    """The whole reasoning of one assistant message, before its text (once per message that has
    reasoning)."""

    hook: ClassVar[str] = "on_reasoning"
    text: str


@attrs.frozen(kw_only=True)
class TextDelta:
    """A piece of the assistant's text while it streams; ``snapshot`` is all of it so far."""

    hook: ClassVar[str] = "on_partial_text"
    delta: str
    snapshot: str


@attrs.frozen(kw_only=True)
class TextDone:
    """The whole text of one assistant message (sent once per message that has text)."""

    hook: ClassVar[str] = "on_text"
    text: str


@attrs.frozen(kw_only=True)
class RefusalDone:
    """The model refused; ``text`` is its refusal message."""

    hook: ClassVar[str] = "on_refusal"
    text: str


@attrs.frozen(kw_only=True)
class ToolCallDelta:
    """A tool call's name or arguments grew."""

    hook: ClassVar[str] = "on_partial_tool_call"
    call: PartialToolCall


@attrs.frozen(kw_only=True)
class ToolCallDone:
    """A complete tool call, announced before it runs."""

    hook: ClassVar[str] = "on_tool_call"
    call: ToolCall


@attrs.frozen(kw_only=True)
class ToolResultDone:
    """A tool call finished (or failed, see ``result.error``)."""

    hook: ClassVar[str] = "on_tool_result"
    call: ToolCall
    result: ToolResult


@attrs.frozen(kw_only=True)
class ApprovalRequest:
    """``call`` is to run a tool that needs approval: ``Hooks.on_approval`` decides (see
    ``agentools.approval``). Comes after the message's ``ToolCallDone`` events."""

    hook: ClassVar[str] = "on_approval"
    call: ToolCall


@attrs.frozen(kw_only=True)
class OutputDelta:
    """The typed output grew while it streams (``run(output=...)``); see ``PartialOutput``."""

    hook: ClassVar[str] = "on_partial_output"
    partial: PartialOutput


@attrs.frozen(kw_only=True)
class OutputDone:
    """The typed output, whole and of its type: what ``run(output=...)`` returns."""

    hook: ClassVar[str] = "on_output"
    output: Any


@attrs.frozen(kw_only=True)
class PreviewFailed:
    """A tool's preview raised; the stream and the tool call go on."""

    hook: ClassVar[str] = "on_preview_error"
    call: PartialToolCall | ToolCall
    error: Exception


@attrs.frozen(kw_only=True)
class MaxTokens:
    """The model stopped at its token limit (``finish_reason == "length"``); ``message`` is what it
    wrote until then. Tool calls in it are never run. What the hook returns decides what
    happens next (see ``Hooks.on_max_tokens``)."""

    hook: ClassVar[str] = "on_max_tokens"
    message: AssistantMessage


@attrs.frozen(kw_only=True)
class ContentFiltered:
    """The provider's content filter stopped the answer; ``message`` is what was written before.
    The run then raises ``ContentFilterError``; nothing of that answer is kept."""

    hook: ClassVar[str] = "on_content_filter"
    message: AssistantMessage


@attrs.frozen(kw_only=True)
class Retry:
    """A model call broke and is made again (``stream_retries``): discard what it streamed."""

    hook: ClassVar[str] = "on_retry"
    attempt: int
    error: BaseException


@attrs.frozen(kw_only=True)
class UsageUpdate:
    """Token usage of one model call (``usage``) and of the whole response so far (``total``)."""

    hook: ClassVar[str] = "on_usage"
    usage: TokenUsage
    total: TokenUsage


@attrs.frozen(kw_only=True)
class ResponseEnd:
    """The run finished; ``text`` is what ``run``/``arun`` return."""

    hook: ClassVar[str] = "on_response_end"
    text: str


@attrs.frozen(kw_only=True)
class ResponseFailed:
    """The run ended without its answer: ``error`` is what ``run``/``arun`` raise
    (``RunCancelled``, a hook's own exception, ``asyncio.CancelledError`` for a cancelled task;
    ``GeneratorExit`` when the events were closed before their end). Only hooks get it: the
    events' iterator raises ``error`` instead of yielding it."""

    hook: ClassVar[str] = "on_response_error"
    error: BaseException


Event = (
    ResponseStart
    | BeforeModelCall
    | ModelCallStart
    | ModelCallDone
    | ReasoningDelta
    | ReasoningDone
    | TextDelta
    | TextDone
    | RefusalDone
    | ToolCallDelta
    | ToolCallDone
    | ToolResultDone
    | ApprovalRequest
    | OutputDelta
    | OutputDone
    | PreviewFailed
    | MaxTokens
    | ContentFiltered
    | Retry
    | UsageUpdate
    | ResponseEnd
    | ResponseFailed
)

EVENT_TYPES: frozenset[type[Event]] = frozenset(get_args(Event))
"""The event classes, for the runners to tell an event from an action in one look-up."""


class EventStream:
    """The events of one blocking run, as ``Assistant.response_events()`` gives them.

    Iterate it; if you leave before its end, close it (``close()``, or use it in a ``with``
    block): until then the run holds the assistant (its stream, its tools, one run at a time).
    """

    def __init__(self, events: Generator[Event, None, None]) -> None:
        self._events = events

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def close(self) -> None:
        """End the run now: the stream is closed, running tools are waited for."""
        self._events.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncEventStream:
    """The events of one asyncio run, as ``Assistant.aresponse_events()`` gives them: ``async
    for`` them, and ``await aclose()`` (or use ``async with``) if you leave before the end."""

    def __init__(self, events: AsyncGenerator[Event, None]) -> None:
        self._events = events

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        return await anext(self._events)

    async def aclose(self) -> None:
        """End the run now: the stream is closed, running tools are cancelled or waited for."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
