"""``offline_model``: a tiny rule-based stand-in for a model, so examples run with no network.

It is a responder for ``FakeOpenAIServer``: given the request, it answers the way a tool-using
model would, just without intelligence. On a new user prompt it calls every tool whose required
parameters it can fill from the prompt (strings from the prompt's proper nouns or quoted text,
numbers from its numbers, enums with their first value); once the tool results are in, it streams
an answer built from them; with no tool to call it says so.
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
    if results:
        return Turn(text=_answer_from(messages[last_user + 1 :]), chunking=_CHUNKING)
    calls = []
    for tool in request.body.get("tools") or []:
        function = tool.get("function", {})
        arguments = _fill(function.get("parameters") or {}, prompt)
        if arguments is not None:
            calls.append(ToolCallSpec(name=function.get("name", ""), arguments=arguments))
    if calls:
        return Turn(tool_calls=calls, chunking=_CHUNKING)
    return Turn(
        text=f"(offline model) I have no tool for that, so I can only repeat it: {prompt}",
        chunking=_CHUNKING,
    )


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
