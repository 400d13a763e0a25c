"""``offline_model``: a tiny rule-based stand-in for a model, so examples run with no network.

It is a responder for ``FakeOpenAIServer``: given the request, it answers the way a tool-using
model would, just without intelligence. On a new user prompt it calls every tool whose required
parameters it can fill from the prompt (strings from the prompt's proper nouns or quoted text,
numbers from its numbers, enums with their first value); once the tool results are in, it streams
an answer built from them; with no tool to call it says so. Asked for JSON of a schema
(``response_format`` of type ``json_schema``, as ``run(output=...)`` asks), it answers with JSON
that fits the schema, filled the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ._recording import RecordedRequest
from ._script import Chunking, ToolCallSpec, Turn

__all__ = ["offline_model"]

_CHUNKING = Chunking(text=3, arguments=5)
_QUOTED = re.compile(r"[\"“']([^\"”']+)[\"”']")
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def offline_model(request: RecordedRequest) -> Turn:
    """The next assistant turn for ``request`` (see the module docstring)."""
    messages: list[Mapping[str, Any]] = list(request.body.get("messages", []))
    # A user message right after tool messages carries what the tools returned (images): the
    # question is the user message before them.
    last_user = max(
        (
            i
            for i, m in enumerate(messages)
            if m.get("role") == "user" and (i == 0 or messages[i - 1].get("role") != "tool")
        ),
        default=None,
    )
    if last_user is None:
        return Turn(text="(offline model) There is no user message to answer.", chunking=_CHUNKING)
    prompt = _text_of(messages[last_user].get("content"))
    results = [m for m in messages[last_user + 1 :] if m.get("role") == "tool"]
    schema = _json_schema(request.body.get("response_format"))
    if results:
        if schema is not None:
            return Turn(text=_json_for(schema, prompt), chunking=_CHUNKING)
        return Turn(text=_answer_from(messages[last_user + 1 :]), chunking=_CHUNKING)
    calls = []
    for tool in request.body.get("tools") or []:
        function = tool.get("function", {})
        arguments = _fill(function.get("parameters") or {}, prompt)
        if arguments is not None:
            calls.append(ToolCallSpec(name=function.get("name", ""), arguments=arguments))
    if calls:
        return Turn(tool_calls=calls, chunking=_CHUNKING)
    if schema is not None:
        return Turn(text=_json_for(schema, prompt), chunking=_CHUNKING)
    return Turn(
        text=f"(offline model) I have no tool for that, so I can only repeat it: {prompt}",
        chunking=_CHUNKING,
    )


def _json_schema(response_format: Any) -> Mapping[str, Any] | None:
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, Mapping) else None


def _json_for(schema: Mapping[str, Any], prompt: str) -> str:
    """JSON that fits ``schema``, filled from ``prompt`` as tool arguments are."""
    strings = _QUOTED.findall(prompt) or _proper_nouns(prompt)
    numbers = _NUMBER.findall(prompt)
    return json.dumps(_value_for(schema, strings, numbers, schema.get("$defs", {})))


def _value_for(
    schema: Mapping[str, Any], strings: list[str], numbers: list[str], defs: Mapping[str, Any]
) -> Any:
    if "$ref" in schema:
        return _value_for(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), strings, numbers, defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"] or schema["anyOf"]
        return _value_for(options[0], strings, numbers, defs)
    kind = schema.get("type")
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        return {
            name: _value_for(properties[name], strings, numbers, defs)
            for name in schema.get("required", list(properties))
            if name in properties
        }
    if kind == "array":
        return [_value_for(schema.get("items", {}), strings, numbers, defs)]
    if kind == "string":
        return strings.pop(0) if strings else "(offline model)"
    if kind in ("integer", "number"):
        number = float(numbers.pop(0)) if numbers else 0
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return False
    return None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _fill(parameters: Mapping[str, Any], prompt: str) -> dict[str, Any] | None:
    """Arguments for the required parameters, or ``None`` if one of them cannot be filled."""
    strings = _QUOTED.findall(prompt) or _proper_nouns(prompt)
    numbers = _NUMBER.findall(prompt)
    properties: Mapping[str, Any] = parameters.get("properties", {})
    arguments: dict[str, Any] = {}
    for name in parameters.get("required", list(properties)):
        schema = properties.get(name, {})
        kind = schema.get("type")
        if "enum" in schema:
            arguments[name] = schema["enum"][0]
        elif kind == "string" and strings:
            arguments[name] = strings.pop()
        elif kind in ("integer", "number") and numbers:
            number = float(numbers.pop(0))
            arguments[name] = int(number) if kind == "integer" else number
        elif kind == "boolean":
            arguments[name] = False
        else:
            return None
    return arguments


def _proper_nouns(text: str) -> list[str]:
    """Capitalised words, except those capitalised only because they start a sentence."""
    return [
        match.group()
        for match in _CAPITALISED.finditer(text)
        if not _SENTENCE_START.search(text, 0, match.start())
    ]


def _answer_from(messages: list[Mapping[str, Any]]) -> str:
    names = {
        call["id"]: call["function"]["name"]
        for message in messages
        for call in message.get("tool_calls") or ()
    }
    parts = []
    for message in messages:
        if message.get("role") != "tool":
            continue
        name = names.get(message.get("tool_call_id"), "the tool")
        parts.append(f"{name} says {_describe(message.get('content', ''))}")
    return "(offline model) " + "; ".join(parts) + "."


def _describe(content: str) -> str:
    try:
        value = json.loads(content)
    except ValueError:
        return content
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    return content
