"""Streamed chunks of choice 0 -> the assistant message being written, and the events it causes.

This is the per-chunk hot path (see ``benchmarks/chunk_overhead.py``): it touches only the fields a
chunk carries, grows strings in place, and feeds each tool call's arguments to an incremental
parser so that a partial value costs work proportional to the new piece, not to all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

from ._errors import ModelProtocolError, ResponseTooLarge
from .calls import PartialToolCall, ToolCallRequest
from .events import Event, TextDelta, ToolCallDelta
from .messages import AssistantMessage, ToolCall, Usage
from .partial_json import MISSING, PartialJSONError, PartialJSONParser, parse_partial

__all__ = ["MessageAccumulator", "ModelMessage"]


@attrs.frozen(kw_only=True)
class ModelMessage:
    """One finished model answer: the message to store, its calls, and why the model stopped."""

    message: AssistantMessage
    calls: tuple[ToolCallRequest, ...]
    finish_reason: str
    usage: Usage | None


class _CallBuffer:
    __slots__ = ("arguments", "error", "id", "index", "name", "parser")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name = ""
        self.arguments = ""
        self.parser: PartialJSONParser | None = PartialJSONParser()
        self.error: str | None = None

    def feed(self, piece: str) -> None:
        if self.parser is None:
            return
        try:
            self.parser.feed(piece)
        except PartialJSONError as exc:
            self.parser = None
            self.error = f"the arguments are not valid JSON: {exc}"

    def partial(self) -> PartialToolCall:
        value = MISSING if self.parser is None else self.parser.value
        return PartialToolCall(
            index=self.index,
            id=self.id,
            name=self.name,
            arguments=self.arguments,
            parsed=None if value is MISSING else value,
            parser=self.parser,
        )

    def finish(self) -> ToolCallRequest:
        parsed: Any = {}
        error = self.error
        if error is None and self.arguments.strip():
            try:
                parsed = self.parser.close() if self.parser is not None else {}
            except PartialJSONError as exc:
                error = f"the arguments are not complete JSON: {exc}"
        return _request(self.index, self.id, self.name, self.arguments, parsed, error)


def _request(
    index: int, call_id: str | None, name: str, arguments: str, parsed: Any, error: str | None
) -> ToolCallRequest:
    if error is None and not isinstance(parsed, dict):
        error = f"the arguments must be a JSON object, not {type(parsed).__name__}"
    return ToolCallRequest(
        index=index,
        # Some OpenAI-compatible servers omit ids; the API only needs them unique per message.
        id=call_id or f"call_{index}",
        name=name,
        arguments=arguments,
        parsed=parsed if error is None else {},
        arguments_error=error,
    )


def _usage(usage: CompletionUsage | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def _stored_call(call: ToolCallRequest) -> ToolCall:
    # The API rejects a history whose arguments do not parse, so a broken call is stored as "{}"
    # (the model is told what was wrong in the tool message that answers it).
    arguments = call.arguments if call.arguments_error is None and call.arguments.strip() else "{}"
    return ToolCall(id=call.id, name=call.name, arguments=arguments)


def _message(
    content: str | None,
    refusal: str | None,
    calls: tuple[ToolCallRequest, ...],
    finish_reason: str | None,
    usage: Usage | None,
) -> ModelMessage:
    if finish_reason is None:
        raise ModelProtocolError("the model's answer ended without a finish_reason")
    message = AssistantMessage(
        content=content or None,
        refusal=refusal or None,
        tool_calls=tuple(_stored_call(call) for call in calls),
    )
    return ModelMessage(message=message, calls=calls, finish_reason=finish_reason, usage=usage)


class MessageAccumulator:
    """Accumulates the deltas of choice 0 of one streamed answer."""

    __slots__ = (
        "_calls",
        "_max_arguments",
        "_max_text",
        "chunks",
        "content",
        "finish_reason",
        "refusal",
        "usage",
    )

    def __init__(self, max_text: int = 1_000_000, max_arguments: int = 1_000_000) -> None:
        self._max_text = max_text
        self._max_arguments = max_arguments
        self.content = ""
        self.refusal = ""
        self._calls: dict[int, _CallBuffer] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.chunks = 0

    def add(self, chunk: ChatCompletionChunk, emit: Callable[[Event], None]) -> None:
        self.chunks += 1
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            piece = delta.content
            if piece:
                # Moving the string out of the attribute leaves it one reference, so CPython can
                # grow it in place: appending stays proportional to the piece, not to the text.
                text = self.content
                self.content = ""
                text += piece
                self.content = text
                if len(text) > self._max_text:
                    raise ResponseTooLarge("text", self._max_text)
                emit(TextDelta(delta=piece, snapshot=text))
            if delta.refusal:
                self.refusal += delta.refusal
                if len(self.refusal) > self._max_text:
                    raise ResponseTooLarge("refusal", self._max_text)
            if delta.tool_calls:
                for call_delta in delta.tool_calls:
                    self._add_call_delta(call_delta.index, call_delta, emit)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason

    def _add_call_delta(self, index: int, call_delta: Any, emit: Callable[[Event], None]) -> None:
        buffer = self._calls.get(index)
        if buffer is None:
            buffer = self._calls[index] = _CallBuffer(index)
        if call_delta.id:
            buffer.id = call_delta.id
        function = call_delta.function
        if function is None:
            return
        if function.name:
            buffer.name += function.name
        piece = function.arguments
        if piece:
            arguments = buffer.arguments
            buffer.arguments = ""
            arguments += piece
            buffer.arguments = arguments
            if len(arguments) > self._max_arguments:
                raise ResponseTooLarge(f"arguments of tool call {index}", self._max_arguments)
            buffer.feed(piece)
        if function.name or piece:
            emit(ToolCallDelta(call=buffer.partial()))

    def finish(self) -> ModelMessage:
        """The finished answer; ``ModelProtocolError`` if the stream could not have been whole."""
        if self.chunks == 0:
            raise ModelProtocolError("the model's stream ended before any chunk")
        calls = tuple(self._calls[index].finish() for index in sorted(self._calls))
        return _message(self.content, self.refusal, calls, self.finish_reason, self.usage)


def message_from_completion(
    completion: ChatCompletion, max_text: int = 1_000_000, max_arguments: int = 1_000_000
) -> ModelMessage:
    """The same result as streaming, from a whole (``stream=False``) completion: the same
    parser for the arguments, the same caps (the body is in memory already, but an answer over
    them is not kept or acted on)."""
    choice = next((choice for choice in completion.choices if choice.index == 0), None)
    if choice is None:
        raise ModelProtocolError("the completion has no choice 0")
    message = choice.message
    for what, text in (("text", message.content), ("refusal", message.refusal)):
        if text is not None and len(text) > max_text:
            raise ResponseTooLarge(what, max_text)
    calls = []
    for index, call in enumerate(message.tool_calls or ()):
        function = getattr(call, "function", None)
        if function is None:
            raise ModelProtocolError(f"tool call {index} is not a function call: {call.type!r}")
        if len(function.arguments) > max_arguments:
            raise ResponseTooLarge(f"arguments of tool call {index}", max_arguments)
        parsed: Any = {}
        error = None
        if function.arguments.strip():
            try:
                parsed = parse_partial(function.arguments, final=True)
            except PartialJSONError as exc:
                error = f"the arguments are not valid JSON: {exc}"
        calls.append(_request(index, call.id, function.name, function.arguments, parsed, error))
    return _message(
        message.content,
        message.refusal,
        tuple(calls),
        choice.finish_reason,
        _usage(completion.usage),
    )
