"""The cattrs converter between our messages and Chat Completions message dicts.

One converter does both directions, so ``to_openai()`` output is exactly what ``from_openai()``
accepts. It is the tool arguments' converter (``_schema.make_converter``) with the hooks of
messages added: it takes JSON as strictly (a string is a string, not a list of characters), and
says what is wrong in the same words. Keys whose value is ``None`` are dropped on the way in (SDK
dumps are full of them), but a key we do not know is an error: silently dropping it would lose
part of the user's history.

An assistant message is the exception, as servers add keys of their own to what they send (its
reasoning as ``reasoning_content`` or ``reasoning``, provider signatures): those are kept in its
``extra`` and written back at the top level, as they came; so are a tool call's own extra keys.

Every string must be one UTF-8 can encode (no lone surrogate), and a message, as JSON, may not
nest deeper than ``MAX_JSON_DEPTH`` levels nor contain itself: the SDK could not send it. User
content parts are copied in and out without recursion, so a part nested too deep is described,
never a ``RecursionError``.

``FIELDS_BY_ROLE`` and ``is_user_content`` are its rules as ``validate_history`` checks them too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import AgentoolsError
from ._schema import make_converter, mismatch, problems_of, record_fields, render_path
from ._sendable import (
    check_json,
    copy_json,
    escape_surrogates,
    lone_surrogate,
    nesting_problem,
    unencodable,
)
from .messages import (
    AssistantMessage,
    ContentPart,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolCallRecord,
    ToolMessage,
    UserMessage,
)

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "FIELDS_BY_ROLE",
    "KEEPS_EXTRA",
    "NOT_KEPT",
    "HistoryError",
    "is_user_content",
    "message_from_openai",
    "message_to_openai",
    "structure_message",
]

_CLASS_BY_ROLE: dict[str, type[Any]] = {
    "system": SystemMessage,
    "developer": DeveloperMessage,
    "user": UserMessage,
    "assistant": AssistantMessage,
    "tool": ToolMessage,
}

FIELDS_BY_ROLE: Mapping[str, frozenset[str]] = {
    role: frozenset(field.name for field in record_fields(cls) if field.name != "extra")
    for role, cls in _CLASS_BY_ROLE.items()
}
"""The known roles, in the API's order, each with the keys a message of that role may have
besides ``role`` (an assistant message may have others: ``KEEPS_EXTRA``)."""

KEEPS_EXTRA = frozenset({"assistant"})
"""The roles whose messages keep keys of their own (in ``extra``) instead of refusing them."""

NOT_KEPT = frozenset({"function_call"})
"""Keys an assistant message may not keep: the legacy ``function_call`` is not supported."""

_CALL_KEYS = frozenset({"id", "type", "function", "index"})

_USER_CONTENT = str | list[ContentPart]


class HistoryError(AgentoolsError, ValueError):
    """A message dict is not one the Chat Completions API accepts; says which message and why."""


def is_user_content(value: object) -> bool:
    """Can ``value`` be a user message's content: a string, or a list of content parts (objects
    with a ``type``, kept as they are)?"""
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(
        isinstance(part, dict) and "type" in part for part in value
    )


def _structure_user_content(value: Any, _: Any) -> str | list[ContentPart]:
    if not is_user_content(value):
        raise mismatch("a string or a list of content parts (objects with a 'type')", value)
    result: str | list[ContentPart] = value
    return result


def _unstructure_user_content(value: str | list[ContentPart]) -> Any:
    # A copy, so that the dicts given out are not the history's; made without recursion when
    # the parts are too deep to copy (validate_history then says so).
    if isinstance(value, str) or nesting_problem(value) is not None:
        return value
    return copy_json(value)


def _structure_tool_call(value: Any, _: type[Any]) -> ToolCallRecord:
    if not isinstance(value, Mapping):
        raise TypeError(f"a tool call must be an object, not {type(value).__name__}")
    if value.get("type", "function") != "function":
        raise ValueError("only function tool calls are supported")
    function = value.get("function")
    if not isinstance(function, Mapping):
        raise ValueError("a tool call needs a 'function' object")
    fields = {"id": value.get("id"), **function}
    if not all(isinstance(fields.get(key), str) for key in ("id", "name", "arguments")):
        raise ValueError("a tool call needs string 'id', 'function.name' and 'function.arguments'")
    extra = {key: copy_json(item) for key, item in value.items() if key not in _CALL_KEYS}
    return ToolCallRecord(
        id=fields["id"], name=fields["name"], arguments=fields["arguments"], extra=extra
    )


def _unstructure_tool_call(call: ToolCallRecord) -> dict[str, Any]:
    wire = {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
    if call.extra:
        wire.update(copy_json(dict(call.extra)))
    return wire


def _with_role(unstructure: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    # ``role`` is not an init argument, so cattrs leaves it out; the API needs it first.
    def unstructure_message(message: Any) -> dict[str, Any]:
        return {"role": message.role, **unstructure(message)}

    return unstructure_message


def _with_extra(unstructure: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    # An assistant message's own keys go back where the server put them: beside the others.
    def unstructure_message(message: AssistantMessage) -> dict[str, Any]:
        wire = unstructure(message)
        extra = wire.pop("extra", None)
        if extra:
            wire.update(copy_json(extra))
        return wire

    return unstructure_message


@functools.cache
def _message_converter() -> cattrs.Converter:
    """The structuring converter (message classes are records to it, unknown keys an error) with
    the hooks of the API's shapes: tool calls nest their function, user content is kept as it is,
    and ``role`` comes first and defaults are left out on the way out. Made at first use, as
    cattrs and the code it generates for each class cost import time."""
    from cattrs.gen import make_dict_unstructure_fn

    converter = make_converter()
    converter.register_structure_hook(ToolCallRecord, _structure_tool_call)
    converter.register_unstructure_hook(ToolCallRecord, _unstructure_tool_call)
    # A predicate, not the union type itself: it must come before the converter's union hook.
    converter.register_structure_hook_func(lambda tp: tp == _USER_CONTENT, _structure_user_content)
    converter.register_unstructure_hook_func(
        lambda tp: tp == _USER_CONTENT, _unstructure_user_content
    )
    for cls in _CLASS_BY_ROLE.values():
        unstructure = _with_role(
            make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True)
        )
        if cls is AssistantMessage:
            unstructure = _with_extra(unstructure)
        converter.register_unstructure_hook(cls, unstructure)
    return converter


def message_to_openai(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = _message_converter().unstructure(message)
    return result


def message_from_openai(value: Mapping[str, Any], *, index: int | None = None) -> Message:
    """One Chat Completions message dict as a message; ``HistoryError`` says what is wrong."""
    where = "message" if index is None else f"message {index}"
    if not isinstance(value, Mapping):
        raise HistoryError(f"{where}: expected a dict, got {type(value).__name__}")
    shape, bad_text = check_json(value)
    if shape is not None:
        raise HistoryError(f"{where}: cannot be sent as JSON: {shape}")
    message = structure_message(value, where)
    for path, text in unencodable(value) if bad_text else ():
        problem = escape_surrogates(lone_surrogate(path, text))
        raise HistoryError(f"{where}: {problem} (repair_history replaces it)")
    return message


def structure_message(value: Mapping[str, Any], where: str) -> Message:
    """``message_from_openai`` for a message whose JSON shape and strings were checked already:
    its role and fields."""
    role = value.get("role")
    if not isinstance(role, str) or role not in _CLASS_BY_ROLE:
        known = ", ".join(_CLASS_BY_ROLE)
        raise HistoryError(f"{where}: unknown role {role!r} (expected one of {known})")
    fields = {key: item for key, item in value.items() if item is not None and key != "role"}
    if role in KEEPS_EXTRA:
        fields_of_role = FIELDS_BY_ROLE[role]
        extra = {
            key: copy_json(fields.pop(key))
            for key in list(fields)
            if key not in fields_of_role and key not in NOT_KEPT
        }
        if extra:
            fields["extra"] = extra
    try:
        message: Message = _message_converter().structure(fields, _CLASS_BY_ROLE[role])
    except Exception as exc:
        details = "; ".join(
            f"{render_path(path)}: {problem}" for path, problem in problems_of(exc, (role,))
        )
        raise HistoryError(escape_surrogates(f"{where}: {details}")) from exc
    return message
