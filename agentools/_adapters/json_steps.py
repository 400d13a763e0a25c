"""Constrained tool calling (``tool_mode="json"``): tools for servers whose native tool calls
cannot be relied on.

Small local models seldom make a native tool call that their server can parse, but a server that
constrains decoding to a JSON schema (llama.cpp's grammars, vLLM's guided decoding, Ollama's
``format``) makes every answer fit one. So each model call asks, through ``response_format``, for
one *step*: ``{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}`` with arguments that fit
the tool's own schema, or ``{"answer": "..."}``. This module builds the request's side:
``step_format`` the schema, ``instructions`` what the model is told of its tools, and
``render_messages`` the history, which keeps the standard form (assistant tool calls, tool
messages), as text a model without tool support reads. ``step_reading`` reads the step back into
what a native answer gives.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._schema import Signature

__all__ = ["MAX_STEP_CALLS", "instructions", "render_messages", "step_format", "step_messages"]

MAX_STEP_CALLS = 1
"""The most calls one step may make (the schema's ``maxItems``): a grammar keeps a small model
from stopping, so without a bound it may call the same tool over and over in one step."""

_ANSWER_ONLY = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def step_format(
    tools: Sequence[Signature], *, offer_tools: bool, answer: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``response_format`` of one step: a call to one or more of ``tools`` (arguments that
    fit each tool's schema) or an answer; only an answer when not ``offer_tools``. ``answer``
    is the schema of a typed answer (``run(output=...)``); without it the answer is text."""
    definitions: dict[str, Any] = {}
    answer_only = _answer_only(answer, definitions)
    if not tools or not offer_tools:
        schema: dict[str, Any] = answer_only
        if definitions:
            schema["$defs"] = definitions
    else:
        calls = [_call_schema(tool, definitions) for tool in tools]
        schema = {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "tool_calls": {
                            "type": "array",
                            "items": {"anyOf": calls},
                            "minItems": 1,
                            "maxItems": MAX_STEP_CALLS,
                        }
                    },
                    "required": ["tool_calls"],
                    "additionalProperties": False,
                },
                answer_only,
            ]
        }
        if definitions:
            schema["$defs"] = definitions
    return {"type": "json_schema", "json_schema": {"name": "step", "schema": schema}}


def _answer_only(answer: Mapping[str, Any] | None, definitions: dict[str, Any]) -> dict[str, Any]:
    """The answer step: text, or a typed answer of schema ``answer`` (its definitions moved to
    the step's own, renamed ``output.<name>``)."""
    if answer is None:
        return copy.deepcopy(_ANSWER_ONLY)
    schema = copy.deepcopy(dict(answer))
    own = {**schema.pop("$defs", {}), **schema.pop("definitions", {})}
    renamed = {name: f"output.{name}" for name in own}
    for name, definition in own.items():
        definitions[renamed[name]] = _with_refs(definition, renamed)
    return {**_ANSWER_ONLY, "properties": {"answer": _with_refs(schema, renamed)}}


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


def instructions(tools: Sequence[Signature], *, offer_tools: bool, typed: bool = False) -> str:
    """What the model is told of its tools and of the step it writes (a system message);
    ``typed``: the answer is a JSON value of the schema given, not text."""
    if not tools:
        return ""
    answer = '{"answer": <the answer, as JSON of the required schema>}' if typed else None
    if not offer_tools:
        if answer is not None:
            return (
                f"Answer now, from the tool results above, as {answer}. Do not call a tool again."
            )
        return (
            "Answer the user's question now, in a sentence, from the tool results above, "
            'as {"answer": "..."}. Do not call a tool again.'
        )
    reply = answer or '{"answer": "<your answer>"}'
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
        f"Once you can answer the user, reply {reply}. "
        "Never call a tool again with the same arguments: use the result you have."
    )


def step_messages(
    messages: Iterable[Mapping[str, Any]],
    tools: Sequence[Signature],
    *,
    offer_tools: bool,
    typed: bool = False,
) -> list[dict[str, Any]]:
    """The request's messages: the history as ``render_messages`` writes it, and the
    instructions added to the system prompt (one system message first: some chat templates take
    no other)."""
    rendered = render_messages(messages)
    text = instructions(tools, offer_tools=offer_tools, typed=typed)
    if rendered and rendered[0].get("role") == "system":
        first = rendered[0]
        rendered[0] = {**first, "content": f"{first['content']}\n\n{text}"}
    else:
        rendered.insert(0, {"role": "system", "content": text})
    return rendered


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
