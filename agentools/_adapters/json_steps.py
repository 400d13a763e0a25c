"""Constrained tool calling (``tool_mode="json"``): tools for servers whose native tool calls
cannot be relied on.

Small local models seldom make a native tool call that their server can parse, but a server that
constrains decoding to a JSON schema (llama.cpp's grammars, vLLM's guided decoding, Ollama's
``format``) makes every answer fit one. So each model call asks, through ``response_format``, for
one *step*: ``{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}`` with arguments that fit
the tool's own schema, or ``{"answer": "..."}``. ``StepReader`` reads the step as it streams and
turns it back into what a native answer gives: pieces of text, and tool calls whose arguments
grow piece by piece (the same parser, previews and streaming tools). The history keeps the
standard form (assistant tool calls, tool messages); ``render_messages`` writes it for the
request as text a model without tool support reads, and ``instructions`` tells it the tools.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ModelProtocolError
from ..partial_json import PartialJSONError, PartialJSONParser

if TYPE_CHECKING:
    from .._schema import Signature

__all__ = ["StepReader", "instructions", "render_messages", "step_format"]

_ANSWER_ONLY = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def step_format(tools: Sequence[Signature], *, offer_tools: bool) -> dict[str, Any]:
    """The ``response_format`` of one step: a call to one or more of ``tools`` (arguments that
    fit each tool's schema) or an answer; only an answer when not ``offer_tools``."""
    if not tools or not offer_tools:
        schema: dict[str, Any] = copy.deepcopy(_ANSWER_ONLY)
    else:
        definitions: dict[str, Any] = {}
        calls = [_call_schema(tool, definitions) for tool in tools]
        schema = {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "tool_calls": {"type": "array", "items": {"anyOf": calls}, "minItems": 1}
                    },
                    "required": ["tool_calls"],
                    "additionalProperties": False,
                },
                copy.deepcopy(_ANSWER_ONLY),
            ]
        }
        if definitions:
            schema["$defs"] = definitions
    return {"type": "json_schema", "json_schema": {"name": "step", "schema": schema}}


def _call_schema(tool: Signature, definitions: dict[str, Any]) -> dict[str, Any]:
    """A call to ``tool``: its name, then its arguments (in that order, so that the name is
    known before the arguments stream). Definitions the parameters refer to are moved to the
    step's own, renamed after the tool so that two tools' definitions cannot clash."""
    parameters = copy.deepcopy(tool.parameters)
    own = {**parameters.pop("$defs", {}), **parameters.pop("definitions", {})}
    renamed = {name: f"{tool.name}.{name}" for name in own}
    for name, definition in own.items():
        definitions[renamed[name]] = _with_refs(definition, renamed)
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": _with_refs(parameters, renamed)},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _with_refs(schema: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(schema, list):
        return [_with_refs(item, renamed) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _with_refs(value, renamed) for key, value in schema.items()}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix) and ref[len(prefix) :] in renamed:
                result["$ref"] = "#/$defs/" + renamed[ref[len(prefix) :]]
    return result


def instructions(tools: Sequence[Signature], *, offer_tools: bool) -> str:
    """What the model is told of its tools and of the step it writes (a system message)."""
    if not tools:
        return ""
    if not offer_tools:
        return (
            'Answer the user now, from the tool results above, as {"answer": "..."}. '
            "Do not call a tool again."
        )
    described = "\n".join(
        f"- {tool.name}: {tool.description or '(no description)'} "
        f"Arguments: {json.dumps(tool.parameters.get('properties', {}))}"
        for tool in tools
    )
    return (
        "You can call these tools:\n"
        f"{described}\n"
        'To call tools, reply {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}. '
        "You then get their results. "
        'Once you can answer the user, reply {"answer": "<your answer>"}. '
        "Never call a tool again with the same arguments: use the result you have."
    )


def render_messages(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history as a model without tool support reads it: an assistant's tool calls as the
    step it wrote, and the tool messages answering them as one user message of results."""
    rendered: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call["function"]
                names[call["id"]] = function["name"]
                calls.append({"name": function["name"], "arguments": _loaded(function)})
            rendered.append({"role": "assistant", "content": json.dumps({"tool_calls": calls})})
        elif role == "tool":
            name = names.get(message["tool_call_id"], "the tool")
            line = f"Result of {name}: {_text(message.get('content'))}"
            last = rendered[-1] if rendered else None
            if last is not None and last.get("role") == "user" and last.get("_results"):
                last["content"] += "\n" + line
            else:
                rendered.append({"role": "user", "content": line, "_results": True})
        else:
            rendered.append(dict(message))
    for message in rendered:
        message.pop("_results", None)
    return rendered


def _loaded(function: Mapping[str, Any]) -> Any:
    try:
        return json.loads(function["arguments"])
    except ValueError:
        return {}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or () if isinstance(part, dict))


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
        self, on_text: Callable[[str], None], on_call: Callable[[int, str, str], None]
    ) -> None:
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
        if calls is None and not isinstance(step.get("answer"), str):
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
