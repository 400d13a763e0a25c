"""The cattrs converter between our messages and Chat Completions message dicts.

One converter does both directions, so ``to_openai()`` output is exactly what ``from_openai()``
accepts. Keys whose value is ``None`` are dropped on the way in (SDK dumps are full of them), but a
key we do not know is an error: silently dropping it would lose part of the user's history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from ._errors import AgentoolsError
from .messages import (
    AssistantMessage,
    ContentPart,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

__all__ = ["HistoryError", "make_converter", "message_from_openai", "message_to_openai"]

_CLASS_BY_ROLE: dict[str, type[Any]] = {
    "system": SystemMessage,
    "developer": DeveloperMessage,
    "user": UserMessage,
    "assistant": AssistantMessage,
    "tool": ToolMessage,
}


class HistoryError(AgentoolsError, ValueError):
    """A message dict is not one the Chat Completions API accepts; says which message and why."""


def _structure_tool_call(value: Any, _: type[Any]) -> ToolCall:
    if not isinstance(value, Mapping):
        raise TypeError(f"a tool call must be an object, not {type(value).__name__}")
    function = value.get("function")
    if value.get("type", "function") != "function" or not isinstance(function, Mapping):
        raise ValueError("only function tool calls are supported")
    fields = {"id": value.get("id"), **function}
    if not all(isinstance(fields.get(key), str) for key in ("id", "name", "arguments")):
        raise ValueError("a tool call needs string 'id', 'function.name' and 'function.arguments'")
    return ToolCall(id=fields["id"], name=fields["name"], arguments=fields["arguments"])


def _unstructure_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _structure_user_content(value: Any, _: Any) -> str | list[ContentPart]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, dict) and "type" in part for part in value):
        return value
    raise TypeError("content must be a string or a list of content parts with a 'type'")


def _structure_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _with_role(unstructure: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    # ``role`` is not an init argument, so cattrs leaves it out; the API needs it first.
    def unstructure_message(message: Any) -> dict[str, Any]:
        return {"role": message.role, **unstructure(message)}

    return unstructure_message


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(ToolCall, _structure_tool_call)
    converter.register_unstructure_hook(ToolCall, _unstructure_tool_call)
    converter.register_structure_hook(str | list[ContentPart], _structure_user_content)
    for cls in _CLASS_BY_ROLE.values():
        converter.register_unstructure_hook(
            cls, _with_role(make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True))
        )
        converter.register_structure_hook(
            cls,
            make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True),
        )
    return converter


_converter = make_converter()


def message_to_openai(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = _converter.unstructure(message)
    return result


def message_from_openai(value: Mapping[str, Any], *, index: int | None = None) -> Message:
    """One Chat Completions message dict as a message; ``HistoryError`` says what is wrong."""
    where = "message" if index is None else f"message {index}"
    if not isinstance(value, Mapping):
        raise HistoryError(f"{where}: expected a dict, got {type(value).__name__}")
    role = value.get("role")
    cls = _CLASS_BY_ROLE.get(role) if isinstance(role, str) else None
    if cls is None:
        known = ", ".join(_CLASS_BY_ROLE)
        raise HistoryError(f"{where}: unknown role {role!r} (expected one of {known})")
    fields = {key: item for key, item in value.items() if item is not None and key != "role"}
    try:
        message: Message = _converter.structure(fields, cls)
    except Exception as exc:
        if isinstance(exc, cattrs.BaseValidationError):
            details = "; ".join(cattrs.transform_error(exc, path=str(role)))
        else:
            details = str(exc)
        raise HistoryError(f"{where}: {details}") from exc
    return message
