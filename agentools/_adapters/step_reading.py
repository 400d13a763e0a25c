"""Constrained tool calling's answers read back (``tool_mode="json"``; see ``json_steps``): the
JSON step the model writes becomes the text and tool calls a native answer gives.

``StepReader`` follows the step's text as it streams and routes the pieces; ``StepAccumulator``
is the stream's accumulator with the content of each delta read as the step (so text deltas,
partial tool calls, their parsers, previews and streaming tools are native mode's own), and
``StepCompletionReader`` does the same for a whole completion.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from .._errors import ModelProtocolError
from ..calls import PartialToolCall
from ..events import Event
from ..partial_json import PartialJSONError, PartialJSONParser
from .base import Limits, ModelAnswer
from .chat_accumulate import ChunkAccumulator, CompletionReader

__all__ = ["StepAccumulator", "StepCompletionReader", "StepReader"]

_WHITESPACE = frozenset(" \t\r\n")
_ENDS_SCALAR = frozenset(",}] \t\r\n")


class _Frame:
    """An open object or array: the key (or index) of the value being read in it, and what
    comes next ("key", "colon", "value" or "after" a value)."""

    __slots__ = ("at", "expect", "is_object")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.at: str | int | None = None if is_object else 0
        self.expect = "key" if is_object else "value"


class StepReader:
    """Reads the JSON text of a step as it streams and says, as soon as it can, what grew:
    ``on_text(piece)`` for the answer's decoded text, ``on_call(index, name, piece)`` for a call's
    name (once whole, with ``piece`` empty) and for each new piece of its arguments' JSON text,
    exactly as written.

    A scanner follows the text's structure character by character (strings, nesting, keys) and
    routes the characters of ``answer``, ``tool_calls[i].name`` and ``tool_calls[i].arguments``
    to their readers; what the grammar cannot let through (a step that is not JSON, or not a
    step) is found by ``finish()``. It works per character in Python: fine at the speed a local
    model writes, and the native mode is there for long arguments at a hosted model's speed."""

    def __init__(
        self,
        on_text: Callable[[str], None],
        on_call: Callable[[int, str, str], None],
        typed_answer: bool = False,
    ) -> None:
        self._typed = typed_answer
        """The answer is a typed output's JSON value: its text goes on as written."""
        self._on_text = on_text
        self._on_call = on_call
        self._parts: list[str] = []
        self._frames: list[_Frame] = []
        self._in_string = False
        self._escaped = False
        self._key: list[str] | None = None
        """The raw characters of the object key being read."""
        self._scalar = False
        self._route: str | None = None
        """Where the value being read goes: "answer", "name" or "arguments"."""
        self._route_depth = 0
        self._route_call = 0
        self._piece: list[str] = []
        self._name = ""
        self._names: dict[int, str] = {}
        self._held: dict[int, list[str]] = {}
        self._answer = PartialJSONParser()
        self._answer_text = ""

    @property
    def text(self) -> str:
        """All of the step's JSON text so far."""
        return "".join(self._parts)

    def feed(self, piece: str) -> None:
        self._parts.append(piece)
        for char in piece:
            self._scan(char)
        self._flush(final=False)

    def _scan(self, char: str) -> None:
        if self._in_string:
            self._string_char(char)
            return
        if self._scalar:
            if char not in _ENDS_SCALAR:
                if self._route is not None:
                    self._piece.append(char)
                return
            self._scalar = False
            self._value_ended()
        if self._route is not None:
            self._piece.append(char)
        if char in _WHITESPACE:
            return
        frame = self._frames[-1] if self._frames else None
        if frame is not None and frame.expect != "value":
            if frame.expect == "key" and char == '"':
                self._in_string = True
                self._key = []
            elif frame.expect == "colon":
                frame.expect = "value"
            elif frame.expect == "after" and char == ",":
                if frame.is_object:
                    frame.expect = "key"
                else:
                    assert isinstance(frame.at, int)
                    frame.at += 1
                    frame.expect = "value"
            elif char in "}]":
                self._close()
            return
        if frame is not None and char == "]":  # an empty array
            self._close()
            return
        if self._route is None and self._opens_route():
            self._piece.append(char)
        if frame is not None:
            frame.expect = "after"
        if char == "{":
            self._frames.append(_Frame(is_object=True))
        elif char == "[":
            self._frames.append(_Frame(is_object=False))
        elif char == '"':
            self._in_string = True
        else:
            self._scalar = True

    def _string_char(self, char: str) -> None:
        if self._route is not None:
            self._piece.append(char)
        if self._escaped:
            self._escaped = False
        elif char == "\\":
            self._escaped = True
        elif char == '"':
            self._in_string = False
            if self._key is not None:
                self._end_key()
                return
            self._value_ended()
            return
        if self._key is not None:
            self._key.append(char)

    def _end_key(self) -> None:
        assert self._key is not None
        try:
            key = json.loads('"' + "".join(self._key) + '"')
        except ValueError:
            key = None
        self._key = None
        frame = self._frames[-1]
        frame.at = key if isinstance(key, str) else None
        frame.expect = "colon"

    def _opens_route(self) -> bool:
        path = [frame.at for frame in self._frames]
        if path == ["answer"]:
            self._route = "answer"
        elif (
            len(path) == 3
            and path[0] == "tool_calls"
            and isinstance(path[1], int)
            and path[2] in ("name", "arguments")
        ):
            self._route = str(path[2])
            self._route_call = path[1]
        else:
            return False
        self._route_depth = len(self._frames)
        return True

    def _close(self) -> None:
        self._frames.pop()
        self._value_ended()

    def _value_ended(self) -> None:
        if self._route is not None and len(self._frames) == self._route_depth:
            self._flush(final=True)
            self._route = None

    def _flush(self, *, final: bool) -> None:
        route = self._route
        if route is None:
            return
        piece = "".join(self._piece)
        self._piece.clear()
        if route == "answer":
            self._feed_answer(piece)
        elif route == "arguments":
            name = self._names.get(self._route_call)
            if name is None:  # written before the name (no grammar kept the order): held
                self._held.setdefault(self._route_call, []).append(piece)
            elif piece:
                self._on_call(self._route_call, name, piece)
        else:
            self._name += piece
            if final:
                try:
                    name = json.loads(self._name)
                except ValueError:
                    name = ""
                self._name = ""
                if isinstance(name, str) and name:
                    self._names[self._route_call] = name
                    self._on_call(self._route_call, name, "")
                    held = "".join(self._held.pop(self._route_call, ()))
                    if held:
                        self._on_call(self._route_call, name, held)

    def _feed_answer(self, piece: str) -> None:
        if not piece:
            return
        if self._typed:
            self._answer_text += piece
            if self._answer_text.strip():
                self._on_text(piece)
            return
        try:
            self._answer.feed(piece)
        except PartialJSONError:
            return  # not a string: finish() says so
        value = self._answer.value
        if isinstance(value, str) and len(value) > len(self._answer_text):
            grown = value[len(self._answer_text) :]
            self._answer_text = value
            self._on_text(grown)

    def finish(self) -> dict[str, Any]:
        """The whole step, read again as JSON; ``ModelProtocolError`` if it is not a step."""
        try:
            step = json.loads(self.text)
        except ValueError as error:
            raise ModelProtocolError(f"the model's step is not JSON: {error}") from None
        if not isinstance(step, dict):
            raise ModelProtocolError("the model's step is not a JSON object")
        calls = step.get("tool_calls")
        answered = "answer" in step if self._typed else isinstance(step.get("answer"), str)
        if calls is None and not answered:
            raise ModelProtocolError("the model's step has neither tool_calls nor an answer")
        if calls is not None and not (
            isinstance(calls, list)
            and all(
                isinstance(call, dict)
                and isinstance(call.get("name"), str)
                and isinstance(call.get("arguments", {}), dict)
                for call in calls
            )
        ):
            raise ModelProtocolError("the model's step has tool_calls that are not calls")
        return step


class StepAccumulator(ChunkAccumulator):
    """The stream's accumulator, with the content of choice 0's deltas read as a step: its
    answer grows the text, its calls grow tool calls (ids made here, as the step has none)."""

    __slots__ = ("_ids", "_step")

    def __init__(
        self,
        limits: Limits,
        emit: Callable[[Event], None],
        on_arguments: Callable[[PartialToolCall], None],
        typed_answer: bool = False,
    ) -> None:
        super().__init__(limits, emit, on_arguments)
        self._step = StepReader(self._add_text, self._add_step_call, typed_answer)
        self._ids: dict[int, str] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        pieces = []
        try:
            for choice in chunk["choices"]:
                if choice.get("index") == 0 and choice.get("delta"):
                    piece = choice["delta"].pop("content", None)
                    if piece:
                        pieces.append(piece)
        except (AttributeError, KeyError, TypeError) as error:
            raise ModelProtocolError(f"malformed chunk: {error!r}") from error
        super().add(chunk)
        for piece in pieces:
            if not isinstance(piece, str):
                raise ModelProtocolError(f"malformed chunk: content {piece!r:.80}")
            self._step.feed(piece)

    def _add_step_call(self, index: int, name: str, piece: str) -> None:
        call_id = self._ids.get(index)
        if call_id is None:
            call_id = self._ids[index] = _new_id()
        self._add_call_delta(
            {"index": index, "id": call_id, "function": {"name": name, "arguments": piece}}
        )

    def finish(self) -> ModelAnswer:
        if self.finish_reason in ("stop", "tool_calls"):  # a cut step is not whole: no check
            self._step.finish()
            if self._calls:
                self.finish_reason = "tool_calls"
        return super().finish()


class StepCompletionReader(CompletionReader):
    """A whole completion whose message is a step, read as the native completion it stands
    for."""

    def __init__(self, limits: Limits, typed_answer: bool = False) -> None:
        super().__init__(limits)
        self._typed = typed_answer

    def add(self, completion: Any) -> None:
        try:
            choice = next(c for c in completion["choices"] if c.get("index") == 0)
            message = choice["message"]
        except (KeyError, StopIteration, TypeError, AttributeError):
            super().add(completion)  # what is wrong with it is said when it is read
            return
        content = message.get("content")
        if isinstance(content, str) and choice.get("finish_reason") != "length":
            texts: list[str] = []
            arguments: dict[int, list[str]] = {}
            names: dict[int, str] = {}

            def on_call(index: int, name: str, piece: str) -> None:
                names[index] = name
                arguments.setdefault(index, []).append(piece)

            reader = StepReader(texts.append, on_call, self._typed)
            reader.feed(content)
            reader.finish()
            message = {**message, "content": "".join(texts) or None}
            if names:
                message["tool_calls"] = [
                    {
                        "id": _new_id(),
                        "type": "function",
                        "function": {"name": names[i], "arguments": "".join(arguments[i])},
                    }
                    for i in sorted(names)
                ]
                choice = {**choice, "finish_reason": "tool_calls"}
            choice = {**choice, "message": message}
            completion = {**completion, "choices": [choice]}
        super().add(completion)


def _new_id() -> str:
    """An id for a call of a step: unique, as the API wants a call's id to be."""
    return f"call_{secrets.token_hex(6)}"
