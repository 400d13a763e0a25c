"""Chat Completions answers -> ``ModelAnswer``: streamed chunks of choice 0 (``ChunkAccumulator``)
or a whole completion (``CompletionReader``), with the same parser and caps for both.

Both read the wire objects as plain dicts, as ``json.loads`` gives them: the raw path decodes
them from the response's bytes (``sse``), the SDK path turns the SDK's objects back into them
(``to_dict()``), so one reading serves both. A field is read with ``.get()``: a field left out
reads as ``None``, as it does on the SDK's objects. A server's own fields (those the SDK's types
do not declare, its ``model_extra``: reasoning, signatures, ...) are told apart by name.

The chunk accumulator is the per-chunk hot path (see ``benchmarks/chunk_overhead.py``): it
touches only the fields a chunk carries, grows strings in place, and feeds each tool call's
arguments to an incremental parser so that a partial value costs work proportional to the new
piece, not to all of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import ModelProtocolError, ResponseTooLarge
from .._sendable import copy_json, encodable
from ..calls import PartialToolCall, ToolCall
from ..events import Event, ReasoningDelta, TextDelta, ToolCallDelta
from ..messages import REASONING_KEYS, AssistantMessage, TokenUsage, ToolCallRecord
from ..partial_json import MISSING, PartialJSONError, PartialJSONParser, parse_partial
from .base import Limits, ModelAnswer

__all__ = ["MAX_NAME", "ChunkAccumulator", "CompletionReader"]

MAX_NAME = 64
"""The longest function name the API takes: a longer one can never be right."""
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]")

_DELTA_FIELDS = frozenset(
    {"audio", "content", "function_call", "name", "refusal", "role", "tool_calls"}
)
_CALL_DELTA_FIELDS = frozenset({"function", "id", "index", "type"})
_MESSAGE_FIELDS = _DELTA_FIELDS | {"annotations"}
_CALL_FIELDS = frozenset({"function", "id", "type"})
"""The fields of a delta, a tool-call delta, a message and a tool call that the SDK's types
declare (``ChoiceDelta``, ...), and an assistant message's ``name``; any other is the server's
own, as the SDK's ``model_extra`` (``AssistantMessage.extra``)."""


def _own(fields: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key not in known}


def merge_delta(into: dict[str, Any], delta: Mapping[str, Any]) -> None:
    """Add a delta's fields of its own (those agentools does not read) to what came before, as
    the openai SDK's stream helper does (``lib/streaming/_deltas.py``): strings are appended,
    objects merged key by key, lists extended, or merged entry by entry when their entries
    carry an ``index``. Unlike the SDK, a number or a flag replaces the one before: a value a
    server repeats in every delta is not a sum."""
    for key, value in delta.items():
        if value is None:
            continue
        before = into.get(key)
        if isinstance(before, str) and isinstance(value, str):
            into[key] = before + value
        elif isinstance(before, dict) and isinstance(value, Mapping):
            merge_delta(before, value)
        elif isinstance(before, list) and isinstance(value, list):
            _merge_list(before, value)
        elif isinstance(value, Mapping):
            into[key] = {}
            merge_delta(into[key], value)
        elif isinstance(value, list):
            into[key] = []
            _merge_list(into[key], value)
        else:
            into[key] = value


def _merge_list(into: list[Any], entries: list[Any]) -> None:
    for entry in entries:
        index = entry.get("index") if isinstance(entry, Mapping) else None
        if isinstance(index, int) and not isinstance(index, bool):
            for known in into:
                if isinstance(known, dict) and known.get("index") == index:
                    merge_delta(known, entry)
                    break
            else:
                into.append(dict(entry))
        else:
            into.append(entry)


class _CallBuffer:
    __slots__ = ("arguments", "error", "extra", "id", "index", "name", "parser")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name = ""
        self.arguments = ""
        self.parser: PartialJSONParser | None = PartialJSONParser()
        self.error: str | None = None
        self.extra: dict[str, Any] = {}

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

    def finish(self) -> ToolCall:
        parsed: Any = {}
        error = self.error
        if error is None and self.arguments.strip():
            try:
                parsed = self.parser.close() if self.parser is not None else {}
            except PartialJSONError as exc:
                error = f"the arguments are not complete JSON: {exc}"
        return _call(self.index, self.id, self.name, self.arguments, parsed, error)


def _starts_another(buffer: _CallBuffer, call_id: str | None, function: Any) -> bool:
    """Does a delta for a call already begun start another call under the same index: it
    carries another id, or (no ids at all) a name and more arguments after whole ones?"""
    if call_id and buffer.id and call_id != buffer.id:
        return True
    if function is None or not function.get("name") or not function.get("arguments"):
        return False
    return buffer.parser is not None and buffer.parser.done


def _call(
    index: int, call_id: str | None, name: str, arguments: str, parsed: Any, error: str | None
) -> ToolCall:
    if not name:
        raise ModelProtocolError(f"tool call {index} has no name")
    if error is None and not isinstance(parsed, dict):
        error = f"the arguments must be a JSON object, not {type(parsed).__name__}"
    return ToolCall(
        index=index,
        # Some OpenAI-compatible servers omit ids; the API only needs them unique per message.
        id=call_id or f"call_{index}",
        name=name,
        arguments=arguments,
        parsed=parsed if error is None else {},
        arguments_error=error,
    )


def _usage(usage: dict[str, Any] | None) -> TokenUsage | None:
    if usage is None:
        return None
    # Some servers send null (or leave out) the counts they do not know.
    return TokenUsage(
        prompt_tokens=usage.get("prompt_tokens") or 0,
        completion_tokens=usage.get("completion_tokens") or 0,
        total_tokens=usage.get("total_tokens") or 0,
        cached_tokens=_detail(usage, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(usage, "completion_tokens_details", "reasoning_tokens"),
    )


def _detail(usage: dict[str, Any], details: str, name: str) -> int:
    """A count inside ``usage[details]``; 0 where the server leaves it out (or sends null)."""
    inner = usage.get(details)
    value = inner.get(name) if isinstance(inner, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _record(call: ToolCall, extra: Mapping[str, Any]) -> ToolCallRecord:
    """The call as the history keeps it: in a form the API takes back. Arguments that do not
    parse are stored as "{}" and a name with characters the API refuses has them replaced by "_"
    (the tool message answering the call tells the model what was wrong: no tool has that
    name)."""
    arguments = call.arguments if call.arguments_error is None and call.arguments.strip() else "{}"
    name = _NOT_NAME.sub("_", call.name)
    return ToolCallRecord(
        id=encodable(call.id), name=name, arguments=encodable(arguments), extra=_kept(extra)
    )


def _kept(extra: Mapping[str, Any]) -> dict[str, Any]:
    """A server's own fields as the history keeps them: JSON whose strings UTF-8 can encode."""
    return copy_json(extra, encodable) if extra else {}


def _answer(
    content: str | None,
    refusal: str | None,
    calls: tuple[tuple[ToolCall, Mapping[str, Any]], ...],
    finish_reason: str | None,
    usage: TokenUsage | None,
    extra: Mapping[str, Any],
) -> ModelAnswer:
    if finish_reason is None:
        raise ModelProtocolError("the model's answer ended without a finish_reason")
    message = AssistantMessage(
        content=encodable(content) if content else None,
        refusal=encodable(refusal) if refusal else None,
        tool_calls=tuple(_record(call, call_extra) for call, call_extra in calls),
        extra=_kept(extra),
    )
    return ModelAnswer(
        message=message,
        calls=tuple(call for call, _ in calls),
        finish_reason=finish_reason,
        usage=usage,
    )


class ChunkAccumulator:
    """Accumulates the deltas of choice 0 of one streamed answer; ``emit`` gets the events they
    cause, ``on_arguments`` each call whose arguments grew."""

    __slots__ = (
        "_calls",
        "_emit",
        "_max_arguments",
        "_max_calls",
        "_max_text",
        "_on_arguments",
        "_wire",
        "chunks",
        "content",
        "extra",
        "finish_reason",
        "reasoning",
        "reasoning_key",
        "refusal",
        "usage",
    )

    def __init__(
        self,
        limits: Limits,
        emit: Callable[[Event], None],
        on_arguments: Callable[[PartialToolCall], None],
    ) -> None:
        self._max_text = limits.text
        self._max_arguments = limits.arguments
        self._max_calls = limits.calls
        self._emit = emit
        self._on_arguments = on_arguments
        self.content = ""
        self.refusal = ""
        self.reasoning = ""
        self.reasoning_key = ""
        self.extra: dict[str, Any] = {}
        self._calls: dict[int, _CallBuffer] = {}
        self._wire: dict[int, int] = {}
        """The wire's index of a call -> the call's index here, where a server reused one."""
        self.finish_reason: str | None = None
        self.usage: TokenUsage | None = None
        self.chunks = 0

    def add(self, chunk: dict[str, Any]) -> None:
        try:
            self.chunks += 1
            usage = chunk.get("usage")
            if usage is not None:
                self.usage = _usage(usage)
            for choice in chunk["choices"]:
                if choice.get("index") != 0:
                    continue
                delta = choice.get("delta")
                piece = delta.get("content")
                if piece:
                    self._add_text(piece)
                piece = delta.get("refusal")
                if piece:
                    self.refusal += piece
                    if len(self.refusal) > self._max_text:
                        raise ResponseTooLarge("refusal", self._max_text)
                if not delta.keys() <= _DELTA_FIELDS:
                    self._add_own(_own(delta, _DELTA_FIELDS))
                call_deltas = delta.get("tool_calls")
                if call_deltas:
                    for call_delta in call_deltas:
                        self._add_call_delta(call_delta)
                finish_reason = choice.get("finish_reason")
                if finish_reason is not None:
                    self.finish_reason = finish_reason
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # A server's malformed chunk: missing or mistyped fields (no ``choices``, ``.get()`` on
            # what is not a dict, a number where a string belongs, ...).
            raise ModelProtocolError(f"malformed chunk: {error!r}") from error

    def _add_text(self, piece: str) -> None:
        # Moving the string out of the attribute leaves it one reference, so CPython can grow it
        # in place: appending stays proportional to the piece, not to the text.
        text = self.content
        self.content = ""
        text += piece
        self.content = text
        if len(text) > self._max_text:
            raise ResponseTooLarge("text", self._max_text)
        self._emit(TextDelta(delta=piece, snapshot=text))

    def _add_own(self, fields: Mapping[str, Any]) -> None:
        """A delta's fields of its own: the reasoning, streamed as it grows, and the rest."""
        for key in REASONING_KEYS:
            piece = fields.get(key)
            if isinstance(piece, str) and piece:
                self.reasoning_key = self.reasoning_key or key
                text = self.reasoning
                self.reasoning = ""
                text += piece
                self.reasoning = text
                if len(text) > self._max_text:
                    raise ResponseTooLarge("reasoning", self._max_text)
                self._emit(ReasoningDelta(delta=piece, snapshot=text))
        others = {key: value for key, value in fields.items() if key not in REASONING_KEYS}
        if others:
            merge_delta(self.extra, others)

    def _add_call_delta(self, call_delta: dict[str, Any]) -> None:
        call_id = call_delta.get("id")
        function = call_delta.get("function")
        wire = call_delta.get("index")
        index = self._index_of(call_id) if wire is None else self._wire.get(wire, wire)
        buffer = self._calls.get(index)
        if buffer is not None and _starts_another(buffer, call_id, function):
            # A server that numbers every call 0 (Gemini's compatible endpoint, some proxies):
            # from here on, the wire's index means the new call.
            index = max(self._calls) + 1
            if wire is not None:
                self._wire[wire] = index
            buffer = None
        if buffer is None:
            if len(self._calls) >= self._max_calls:
                raise ResponseTooLarge("tool calls", self._max_calls, "calls")
            buffer = self._calls[index] = _CallBuffer(index)
        if call_id:
            buffer.id = call_id
        if not call_delta.keys() <= _CALL_DELTA_FIELDS:
            merge_delta(buffer.extra, _own(call_delta, _CALL_DELTA_FIELDS))
        if function is None:
            return
        name = function.get("name")
        piece = function.get("arguments")
        # Some servers repeat the whole name in every delta: a name once the arguments have
        # started, or the same name again beside arguments, is not more of it.
        if name and not buffer.arguments and not (piece and name == buffer.name):
            buffer.name += name
            if len(buffer.name) > MAX_NAME:
                raise ResponseTooLarge(f"name of tool call {index}", MAX_NAME)
        if piece:
            arguments = buffer.arguments
            buffer.arguments = ""
            arguments += piece
            buffer.arguments = arguments
            if len(arguments) > self._max_arguments:
                raise ResponseTooLarge(f"arguments of tool call {index}", self._max_arguments)
            buffer.feed(piece)
        if name or piece:
            partial = buffer.partial()
            self._emit(ToolCallDelta(call=partial))
            if piece:
                self._on_arguments(partial)

    def _index_of(self, call_id: str | None) -> int:
        """The index of a delta that has none (some servers leave it out): its call's, known by
        its id, or else the last call's; a new id is a new call."""
        for index, buffer in self._calls.items():
            if call_id and buffer.id == call_id:
                return index
        if call_id or not self._calls:
            return max(self._calls, default=-1) + 1
        return max(self._calls)

    def finish(self) -> ModelAnswer:
        """The finished answer; ``ModelProtocolError`` if the stream could not have been whole."""
        if self.chunks == 0:
            raise ModelProtocolError("the model's stream ended before any chunk")
        calls = tuple(
            (self._calls[index].finish(), self._calls[index].extra) for index in sorted(self._calls)
        )
        extra = self.extra
        if self.reasoning:
            extra = {self.reasoning_key: self.reasoning, **extra}
        return _answer(self.content, self.refusal, calls, self.finish_reason, self.usage, extra)


class CompletionReader:
    """A whole (``stream=False``) completion, the one chunk of its answer: the same parser for
    the arguments and the same caps as streaming (the body is in memory already, but an answer
    over them is not kept or acted on)."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._completion: dict[str, Any] | None = None

    def add(self, completion: dict[str, Any]) -> None:
        if self._completion is not None:
            raise ModelProtocolError("more than one completion for one request")
        self._completion = completion

    def finish(self) -> ModelAnswer:
        if self._completion is None:
            raise ModelProtocolError("the model's stream ended before any chunk")
        try:
            return _read(self._completion, self._limits)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ModelProtocolError(f"malformed completion: {error!r}") from error


def _read(completion: dict[str, Any], limits: Limits) -> ModelAnswer:
    choices = completion["choices"]
    choice = next((choice for choice in choices if choice.get("index") == 0), None)
    if choice is None:
        raise ModelProtocolError("the completion has no choice 0")
    message = choice.get("message")
    content, refusal = message.get("content"), message.get("refusal")
    for what, text in (("text", content), ("refusal", refusal)):
        if text is not None and not isinstance(text, str):
            raise ModelProtocolError(f"the completion's {what} is not a string: {text!r:.80}")
        if text is not None and len(text) > limits.text:
            raise ResponseTooLarge(what, limits.text)
    tool_calls = message.get("tool_calls") or ()
    if len(tool_calls) > limits.calls:
        raise ResponseTooLarge("tool calls", limits.calls, "calls")
    calls = []
    for index, call in enumerate(tool_calls):
        function = call.get("function")
        if function is None:
            kind = call.get("type")
            raise ModelProtocolError(f"tool call {index} is not a function call: {kind!r}")
        name, arguments = function.get("name"), function.get("arguments")
        if len(arguments) > limits.arguments:
            raise ResponseTooLarge(f"arguments of tool call {index}", limits.arguments)
        if len(name or "") > MAX_NAME:
            raise ResponseTooLarge(f"name of tool call {index}", MAX_NAME)
        parsed: Any = {}
        error = None
        if arguments.strip():
            try:
                parsed = parse_partial(arguments, final=True)
            except PartialJSONError as exc:
                error = f"the arguments are not valid JSON: {exc}"
        call_extra = {k: v for k, v in _own(call, _CALL_FIELDS).items() if v is not None}
        calls.append((_call(index, call.get("id"), name, arguments, parsed, error), call_extra))
    extra = {k: v for k, v in _own(message, _MESSAGE_FIELDS).items() if v is not None}
    for key in REASONING_KEYS:
        if key in extra and not isinstance(extra[key], str):
            raise ModelProtocolError(f"the completion's {key} is not a string: {extra[key]!r:.80}")
        if len(extra.get(key, "")) > limits.text:
            raise ResponseTooLarge("reasoning", limits.text)
    return _answer(
        content,
        refusal,
        tuple(calls),
        choice.get("finish_reason"),
        _usage(completion.get("usage")),
        extra,
    )
