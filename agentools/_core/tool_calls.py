"""From a complete tool call to its result, without running anything: the one fault policy.

``prepare()`` decides everything that needs no running (is the tool known and enabled, are the
arguments JSON, do they fit its parameters): the call is either ready to run (an ``Invocation``,
which the runner calls in a thread or as a task) or already answered (a ``ToolResult``).
``returned()``, ``raised()`` and ``timed_out()`` turn what the runner saw into the result the
model receives.

Whatever goes wrong with a call, the model receives a short message naming the problem (never a
traceback) and the loop goes on; a tool made with ``raise_errors=True`` lets its exception end
the run instead (the machine decides that, from ``Invocation.raise_errors``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._adapters.base import ModelAnswer
from .._errors import MalformedArgumentsError, ToolTimeoutError, UnknownToolError
from .._schema import ArgumentsError, encode_result
from .._sendable import distinct_ids, encodable
from ..calls import ToolCall, ToolResult
from ..content import split_media
from ..messages import ContentPart, UserMessage
from ..settings import ErrorDetail

if TYPE_CHECKING:
    from ..tools import FunctionTool, ToolRegistry
    from .feeds import Consumer

__all__ = [
    "Carried",
    "Invocation",
    "describe_error",
    "prepare",
    "raised",
    "returned",
    "timed_out",
    "with_arguments",
    "with_distinct_ids",
]


@attrs.frozen(eq=False)
class Invocation:
    """A tool call ready to run: ``invocation()`` calls the function (an ``async def`` one gives
    its coroutine). A streaming tool is already running: ``consumer`` is its consumer, whose
    result is the call's."""

    call: ToolCall
    tool: FunctionTool[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    consumer: Consumer | None = None
    streamed: Any = None
    """A streaming tool's structured arguments, which its ``ArgumentStream`` completes with."""

    @property
    def is_async(self) -> bool:
        return self.tool.is_async

    @property
    def timeout(self) -> float | None:
        return self.tool.timeout

    @property
    def name(self) -> str:
        return f"tool-{self.call.name}"

    def __call__(self) -> Any:
        return self.tool.function(*self.args, **self.kwargs)


def with_distinct_ids(answer: ModelAnswer) -> ModelAnswer:
    """``answer`` with no two tool-call ids alike (some servers reuse them, and a missing one
    became ``call_<index>``): each tool message must answer one call. The repeats are renamed as
    ``repair_history`` renames them (``distinct_ids``), in the calls and in the message alike."""
    ids = distinct_ids([call.id for call in answer.calls])
    if all(new == call.id for new, call in zip(ids, answer.calls, strict=True)):
        return answer
    calls = tuple(attrs.evolve(call, id=new) for call, new in zip(answer.calls, ids, strict=True))
    records = tuple(
        attrs.evolve(record, id=new)
        for record, new in zip(answer.message.tool_calls, ids, strict=True)
    )
    message = attrs.evolve(answer.message, tool_calls=records)
    return attrs.evolve(answer, calls=calls, message=message)


def with_arguments(answer: ModelAnswer, edits: Mapping[str, Mapping[str, Any]]) -> ModelAnswer:
    """``answer`` with the arguments of some calls replaced (approved with edits): in its calls
    and in its message, so that the history records each call as it ran."""
    texts = {call_id: json.dumps(dict(args), ensure_ascii=False) for call_id, args in edits.items()}
    calls = tuple(
        attrs.evolve(
            call, arguments=texts[call.id], parsed=dict(edits[call.id]), arguments_error=None
        )
        if call.id in texts
        else call
        for call in answer.calls
    )
    records = tuple(
        attrs.evolve(record, arguments=texts[record.id]) if record.id in texts else record
        for record in answer.message.tool_calls
    )
    message = attrs.evolve(answer.message, tool_calls=records)
    return attrs.evolve(answer, calls=calls, message=message)


def prepare(
    call: ToolCall, tools: ToolRegistry, context: Callable[[ToolCall], Any] | None = None
) -> Invocation | ToolResult:
    """``call`` checked against the tools: ready to run, or answered with what was wrong.

    ``context`` builds the value of the tool's context parameter (``ToolContext``), if it has
    one.
    """
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(tools.enabled_names()) or "none"
        error = UnknownToolError(f"there is no tool {call.name!r}; available tools: {available}")
        return raised(call, error)
    if call.arguments_error is not None:
        return raised(call, MalformedArgumentsError(call.arguments_error))
    value = context(call) if context is not None and tool.signature.context_parameters else None
    try:
        args, kwargs = tool.signature.structure(call.parsed, context=value)
        streamed = tool.arguments_value(kwargs) if tool.streams_arguments else None
    except ArgumentsError as error:
        return raised(call, error)
    except Exception as error:  # an attrs validator of a streaming tool's argument class
        return raised(call, ArgumentsError([("", f"{type(error).__name__}: {error}")]))
    return Invocation(call=call, tool=tool, args=args, kwargs=kwargs, streamed=streamed)


class Carried(Exception):
    """Holds what a tool raised that a future cannot carry (an ``asyncio`` future refuses a
    ``StopIteration``); the result policy reads the exception inside."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


HIDDEN = "Error: the tool failed."
"""What the model is told of a tool's exception with ``error_detail="none"``."""


def describe_error(error: BaseException, detail: ErrorDetail = "message") -> str:
    """What the model is told of a failed call, never a traceback: the exception's type and
    message (``detail="message"``), its type only (``"type"``), or a fixed text (``"none"``)."""
    name = type(error).__name__
    if detail == "none":
        return HIDDEN
    try:
        message = str(error) if detail == "message" else ""
    except Exception:
        message = "(its message could not be read)"
    return f"Error: {name}: {message}" if message else f"Error: {name}"


def returned(call: ToolCall, value: Any) -> ToolResult:
    media = split_media(value)
    parts: tuple[ContentPart, ...]
    try:
        if media is None:
            content, parts = encode_result(value), ()
        else:
            content = "\n".join(encode_result(item) for item in media[0])
            parts = tuple(media[1])
    except Exception as error:
        return raised(call, error)
    # Text UTF-8 cannot encode (a file name from os.fsdecode) would poison the history.
    return ToolResult(call_id=call.id, content=encodable(content), value=value, parts=parts)


def media_message(
    calls: Iterable[ToolCall], results: Mapping[str, ToolResult]
) -> UserMessage | None:
    """The user message that carries the images and audio the turn's tools returned (a tool
    message takes only text), each call's after a line naming it; ``None`` if there are none."""
    content: list[ContentPart] = []
    for call in calls:
        parts = results[call.id].parts
        if parts:
            content.append({"type": "text", "text": f"Returned by {call.name} (call {call.id}):"})
            content.extend(parts)
    return UserMessage(content=content) if content else None


def raised(call: ToolCall, error: BaseException, detail: ErrorDetail = "message") -> ToolResult:
    content = encodable(describe_error(error, detail))
    return ToolResult(call_id=call.id, content=content, error=error)


def timed_out(call: ToolCall, timeout: float | None) -> ToolResult:
    within = "in time" if timeout is None else f"within {timeout:g} s"
    error = ToolTimeoutError(f"{call.name} did not finish {within}")
    return raised(call, error)
