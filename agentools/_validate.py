"""Check a Chat Completions message list against the rules the API enforces, and repair one.

A history that breaks one of these rules is rejected on every later request, so one bad message
(a tool call left without an answer after a crash or a cancel, arguments cut off mid-stream)
poisons the whole conversation. agentools never writes such a history, but users bring histories
from elsewhere: ``validate_history`` says what is wrong, message by message, and ``repair_history``
returns the closest copy the API accepts.

The rules, each with the code of the problem that breaks it (the API enforces them, or no request
could carry a history that breaks them):

- every message is an object (``not-an-object``) that JSON can carry: nested at most
  ``MAX_JSON_DEPTH`` (100) levels deep, the message itself being the first, and not containing
  itself (``too-deep``); with a known role (``unknown-role``; the legacy ``function`` role and
  ``function_call`` field are ``unsupported``), only the fields of that role (``unknown-field``;
  keys whose value is ``None`` are ignored, as ``History.from_openai`` does) and fields of the
  right type (``bad-content``, ``bad-field``, ``bad-tool-call``);
- names are made of ``[a-zA-Z0-9_-]`` (``bad-name`` for ``name``, ``bad-tool-name`` for a tool
  call's ``function.name``);
- an assistant message has content, tool calls or a refusal (``empty-assistant``); ``tool_calls``
  is not an empty list (``empty-tool-calls``); its tool call ids are distinct
  (``duplicate-tool-call-id``) and their arguments are JSON nested at most ``MAX_JSON_DEPTH``
  levels deep, as the incremental parser reads them (``arguments-not-json``);
- every string of a message (content, refusal, a content part's text, a tool call's id and
  arguments, ...) can be encoded as UTF-8: no lone surrogate (``lone-surrogate``; a name with one
  already breaks the name rule);
- an assistant message with tool calls is followed at once by one tool message per call, in any
  order, before any other message (``orphan-tool-call``); a tool message answers a call of that
  assistant message (``orphan-tool-message``), only once (``duplicate-tool-answer``), and comes in
  such a run of tool messages (``tool-message-out-of-place``).

Rules the API does not enforce are not checked: roles need not alternate, a history may end with
any message, system messages may come anywhere, the same tool call id may come back in a later
assistant message.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from ._converter import (
    FIELDS_BY_ROLE,
    KEEPS_EXTRA,
    NOT_KEPT,
    HistoryError,
    is_user_content,
    structure_message,
)
from ._sendable import (
    check_json,
    copy_json,
    distinct_ids,
    encodable,
    escape_surrogates,
    lone_surrogate,
    unencodable,
)
from .history import History
from .partial_json import PartialJSONError, parse_partial

__all__ = ["MISSING_TOOL_RESULT", "HistoryProblem", "repair_history", "validate_history"]

MISSING_TOOL_RESULT = "Error: this tool call was interrupted and has no result."
"""The content ``repair_history`` gives the tool message it adds for a call left unanswered."""

_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_NAME_RULE = "characters other than letters, digits, '_' and '-'"
# Strings whose lone surrogates the name rules report already.
_NAME_PATH = re.compile(r"name|tool_calls\[\d+\]\.function\.name")


@attrs.frozen
class HistoryProblem:
    """One reason the API would reject a history.

    ``index`` is the position of the message at fault (``None``: the history as a whole), ``code``
    a stable machine-readable name of the rule (see the module documentation), ``message`` a
    sentence naming the message and saying what is wrong with it.
    """

    index: int | None
    code: str
    message: str = attrs.field(converter=escape_surrogates)  # printable, whatever it quotes

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


def validate_history(messages: Iterable[Mapping[str, Any]] | History) -> list[HistoryProblem]:
    """The problems that would make the API reject ``messages``, in message order.

    An empty list means the API accepts the history (and ``History.from_openai`` reads it).
    Never raises: whatever ``messages`` holds is described, not trusted.
    """
    items = _items(messages)
    if items is None:
        what = type(messages).__name__
        text = f"the history must be a list of message objects, not {what}"
        return [HistoryProblem(None, "not-a-list", text)]
    checks = [_check_message(item, index) for index, item in enumerate(items)]
    walk = _Walk()
    for check in checks:
        walk.feed(check.as_sent)
    walk.finish()
    problems = [problem for check in checks for problem in check.problems] + walk.problems
    return sorted(problems, key=lambda problem: -1 if problem.index is None else problem.index)


def repair_history(messages: Iterable[Mapping[str, Any]] | History) -> list[dict[str, Any]]:
    """A copy of ``messages`` that the API accepts, changed as little as possible.

    A valid history comes back equal; ``messages`` itself is never changed. Fixes, in the order of
    the rules: a message that cannot be read (not an object, nested too deep or containing itself,
    unknown or legacy role, missing or mistyped content or ``tool_call_id``) is dropped; unknown
    fields, ``function_call`` and mistyped optional fields are removed; bad names have their other
    characters replaced by ``_``; unusable tool calls (no string id or name, not a function call)
    are removed; arguments that are not JSON (or nested too deep) become ``"{}"``; a repeated tool
    call id gets a suffix (its answers are matched in order); in every string UTF-8 cannot encode,
    a surrogate pair written as two lone halves is joined and any other lone surrogate replaced by
    U+FFFD; an assistant message left with nothing to say is dropped; tool messages that answer no
    call of the assistant message they follow, or answer it twice, are dropped; and each call left
    unanswered gets a tool message saying ``MISSING_TOOL_RESULT`` after the answers of its block.
    Never raises, whatever ``messages`` holds.
    """
    items = _items(messages)
    if items is None:
        return []
    walk = _Walk()
    for index, item in enumerate(items):
        kept = _check_message(item, index).kept
        if kept is not None:
            walk.feed(kept)
    walk.finish()
    return walk.output


def _items(messages: object) -> list[object] | None:
    if isinstance(messages, History):
        return list(messages.to_openai())
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        return None
    return list(messages)


@attrs.frozen
class _Call:
    """A tool call as the pairing sees it: answers name ``original``, the API sees ``id``."""

    original: str
    id: str
    name: str | None


@attrs.frozen
class _Entry:
    """One message as the pairing of tool calls and answers sees it.

    ``role`` is ``None`` for a message without a usable role; ``message`` is the dict to output
    (only set when repairing).
    """

    index: int
    role: str | None
    calls: tuple[_Call, ...] = ()
    answers: str | None = None
    message: dict[str, Any] | None = None


@attrs.frozen
class _Checked:
    """What checking one message found: its problems, and how the pairing sees it as it was
    sent (``as_sent``) and once repaired (``kept``; ``None`` when it is dropped)."""

    problems: list[HistoryProblem]
    as_sent: _Entry
    kept: _Entry | None


def _check_message(raw: object, index: int) -> _Checked:
    if not isinstance(raw, Mapping):
        text = f"message {index}: expected a message object, not {type(raw).__name__}"
        return _unreadable(index, "not-an-object", text)
    shape, bad_text = check_json(raw)
    if shape is not None:  # what follows may read any part of it
        return _unreadable(index, "too-deep", f"message {index}: cannot be sent as JSON: {shape}")
    role = raw.get("role")
    if role == "function":
        text = (
            f"message {index} (function): the legacy 'function' role is not supported;"
            " use tool_calls and tool messages"
        )
        return _unreadable(index, "unsupported", text)
    if not isinstance(role, str) or role not in FIELDS_BY_ROLE:
        known = ", ".join(FIELDS_BY_ROLE)
        text = f"message {index}: unknown role {role!r} (expected one of {known})"
        return _unreadable(index, "unknown-role", text)
    return _MessageCheck(index, role, raw, bad_text).run()


def _unreadable(index: int, code: str, text: str) -> _Checked:
    return _Checked([HistoryProblem(index, code, text)], _Entry(index, None), None)


class _MessageCheck:
    """Checks one message of a known role, reporting each problem and fixing it in a copy."""

    def __init__(self, index: int, role: str, raw: Mapping[str, Any], bad_text: bool) -> None:
        self.index = index
        self.role = role
        self.raw = raw
        self.bad_text = bad_text  # some string of it cannot be encoded
        self.problems: list[HistoryProblem] = []
        self.fixed: dict[str, Any] | None = dict(raw)
        self.calls: tuple[_Call, ...] = ()

    def run(self) -> _Checked:
        self.check_fields()
        self.check_content()
        self.check_name()
        if self.role == "assistant":
            self.check_assistant()
        if self.role == "tool":
            self.check_tool_call_id()
        self.check_text()
        if not self.problems:
            self.check_with_converter()
        return _Checked(self.problems, self.as_sent(), self.kept())

    def report(self, code: str, text: str) -> None:
        message = f"message {self.index} ({self.role}): {text}"
        self.problems.append(HistoryProblem(self.index, code, message))

    def drop(self) -> None:
        self.fixed = None

    def set(self, key: str, value: Any) -> None:
        if self.fixed is not None:
            self.fixed[key] = value

    def remove(self, key: str) -> None:
        if self.fixed is not None:
            self.fixed.pop(key, None)

    def keeps(self, key: str) -> bool:
        """Is ``key`` a field this message keeps (a known one, or an assistant's own)?"""
        if key in FIELDS_BY_ROLE[self.role]:
            return True
        return self.role in KEEPS_EXTRA and key != "role" and key not in NOT_KEPT

    def check_fields(self) -> None:
        unknown = []
        for key, value in self.raw.items():
            if value is None or key == "role" or self.keeps(key):
                continue
            if key == "function_call":
                self.report(
                    "unsupported",
                    "the legacy 'function_call' field is not supported; use tool_calls",
                )
            else:
                unknown.append(key)
            self.remove(key)
        if unknown:
            listed = ", ".join(repr(key) for key in unknown)
            plural = "s" if len(unknown) > 1 else ""
            self.report(
                "unknown-field", f"unknown field{plural} {listed} for a {self.role} message"
            )

    def check_content(self) -> None:
        content = self.raw.get("content")
        if self.role == "assistant":
            if content is not None and not isinstance(content, str):
                self.report("bad-content", f"content must be a string, not {_kind(content)}")
                self.remove("content")
        elif content is None:
            self.report("bad-content", "has no content")
            self.drop()
        elif self.role == "user":
            if not is_user_content(content):
                expected = "a string or a list of content parts (objects with a 'type')"
                self.report("bad-content", f"content must be {expected}, not {_kind(content)}")
                self.drop()
        elif not isinstance(content, str):
            self.report("bad-content", f"content must be a string, not {_kind(content)}")
            self.drop()

    def check_name(self) -> None:
        name = self.raw.get("name")
        if name is None or "name" not in FIELDS_BY_ROLE[self.role]:
            return
        if not isinstance(name, str):
            self.report("bad-field", f"name must be a string, not {_kind(name)}")
            self.remove("name")
        elif not _NAME.fullmatch(name):
            self.report("bad-name", f"name {name!r} has {_NAME_RULE}")
            fixed = _NOT_NAME.sub("_", name)
            if fixed:
                self.set("name", fixed)
            else:
                self.remove("name")

    def check_text(self) -> None:
        """Strings UTF-8 cannot encode, in the fields kept; ``kept()`` replaces them all."""
        if not self.bad_text:
            return
        fields = {key: value for key, value in self.raw.items() if self.keeps(key)}
        for where, text in unencodable(fields):
            if not _NAME_PATH.fullmatch(where):
                self.report("lone-surrogate", lone_surrogate(where, text))

    def check_tool_call_id(self) -> None:
        call_id = self.raw.get("tool_call_id")
        if call_id is None:
            self.report("bad-field", "has no tool_call_id")
            self.drop()
        elif not isinstance(call_id, str):
            self.report("bad-field", f"tool_call_id must be a string, not {_kind(call_id)}")
            self.drop()

    def check_assistant(self) -> None:
        refusal = self.raw.get("refusal")
        if refusal is not None and not isinstance(refusal, str):
            self.report("bad-field", f"refusal must be a string, not {_kind(refusal)}")
            self.remove("refusal")
        self.check_tool_calls()
        raw_calls = self.raw.get("tool_calls")
        said = ("content", "refusal", "function_call")
        if all(self.raw.get(key) is None for key in said) and not _has_items(raw_calls):
            self.report("empty-assistant", "has no content, tool_calls or refusal")
        if self.fixed is not None and not any(
            self.fixed.get(key) is not None for key in ("content", "tool_calls", "refusal")
        ):
            self.drop()

    def check_tool_calls(self) -> None:
        raw_calls = self.raw.get("tool_calls")
        if raw_calls is None:
            return
        if not isinstance(raw_calls, list | tuple):
            self.report("bad-tool-call", f"tool_calls must be a list, not {_kind(raw_calls)}")
            self.remove("tool_calls")
            return
        if not raw_calls:
            self.report(
                "empty-tool-calls",
                "tool_calls is an empty list (leave it out when there are no tool calls)",
            )
            self.remove("tool_calls")
            return
        self.check_call_ids([call.original for call in _sent_calls(raw_calls)])
        kept = [
            fixed
            for position, call in enumerate(raw_calls)
            if (fixed := self.check_call(position, call)) is not None
        ]
        renamed = distinct_ids([encodable(call["id"]) for call in kept])
        self.calls = tuple(
            _Call(call["id"], new_id, call["function"]["name"])
            for call, new_id in zip(kept, renamed, strict=True)
        )
        fixed_calls = [
            call if call["id"] == new_id else {**call, "id": new_id}
            for call, new_id in zip(kept, renamed, strict=True)
        ]
        unchanged = len(fixed_calls) == len(raw_calls) and all(
            fixed is call for fixed, call in zip(fixed_calls, raw_calls, strict=True)
        )
        if not fixed_calls:
            self.remove("tool_calls")
        elif not unchanged:
            self.set("tool_calls", fixed_calls)

    def check_call(self, position: int, call: object) -> dict[str, Any] | None:
        """The tool call, fixed if it can be, or ``None`` once the reason is reported."""
        reason = _unusable_call_reason(call)
        if reason is not None:
            self.report("bad-tool-call", f"tool call {position} {reason}")
            return None
        assert isinstance(call, Mapping)
        call_id: str = call["id"]
        function: Mapping[str, Any] = call["function"]
        name: str = function["name"]
        arguments = function.get("arguments")
        fixed_name, fixed_arguments = name, arguments
        if not _NAME.fullmatch(name):
            self.report(
                "bad-tool-name", f"tool call {call_id!r}: function name {name!r} has {_NAME_RULE}"
            )
            fixed_name = _NOT_NAME.sub("_", name)
        if not isinstance(arguments, str):
            text = f"function.arguments must be a JSON string, not {_kind(arguments)}"
            self.report("bad-tool-call", f"tool call {_describe(call_id, name)}: {text}")
            fixed_arguments = "{}"
        elif (error := _json_error(arguments)) is not None:
            text = f"has arguments that are not valid JSON ({error})"
            self.report("arguments-not-json", f"tool call {_describe(call_id, name)} {text}")
            fixed_arguments = "{}"
        if not fixed_name:
            return None
        if (fixed_name, fixed_arguments) == (name, arguments) and isinstance(call, dict):
            return call
        fixed_function = {**function, "name": fixed_name, "arguments": fixed_arguments}
        return {**call, "function": fixed_function}

    def check_call_ids(self, call_ids: list[str]) -> None:
        seen: set[str] = set()
        reported: set[str] = set()
        for call_id in call_ids:
            if call_id in seen and call_id not in reported:
                self.report(
                    "duplicate-tool-call-id", f"tool call id {call_id!r} is used by several calls"
                )
                reported.add(call_id)
            seen.add(call_id)

    def check_with_converter(self) -> None:
        """Whatever the checks above let through must be readable by ``History.from_openai``."""
        try:
            structure_message(self.raw, f"message {self.index}")
        except HistoryError as exc:
            details = str(exc).partition(": ")[2]
            self.report("bad-field", details)
            self.drop()

    def as_sent(self) -> _Entry:
        """How the API pairs this message, read leniently from what was sent."""
        if self.role == "tool":
            call_id = self.raw.get("tool_call_id")
            return _Entry(self.index, "tool", answers=call_id if isinstance(call_id, str) else None)
        return _Entry(self.index, self.role, calls=_sent_calls(self.raw.get("tool_calls")))

    def kept(self) -> _Entry | None:
        if self.fixed is None:
            return None
        answers = self.fixed.get("tool_call_id") if self.role == "tool" else None
        # Answers are paired with calls by the ids as sent; the output takes the calls' new ids.
        message = copy_json(self.fixed, encodable if self.bad_text else None)
        return _Entry(self.index, self.role, self.calls, answers, message)


def _unusable_call_reason(call: object) -> str | None:
    if not isinstance(call, Mapping):
        return f"must be an object, not {_kind(call)}"
    if call.get("type", "function") != "function":
        return f"has type {call.get('type')!r}; only function tool calls are supported"
    function = call.get("function")
    if not isinstance(function, Mapping):
        return "has no 'function' object"
    if not isinstance(call.get("id"), str):
        return "has no string 'id'"
    if not isinstance(function.get("name"), str):
        return f"{call['id']!r} has no string 'function.name'"
    if "id" in function:
        return f"{call['id']!r} has an unexpected 'function.id'"
    return None


def _sent_calls(raw_calls: object) -> tuple[_Call, ...]:
    if not isinstance(raw_calls, list | tuple):
        return ()
    calls = []
    for call in raw_calls:
        if isinstance(call, Mapping) and isinstance(call.get("id"), str):
            function = call.get("function")
            name = function.get("name") if isinstance(function, Mapping) else None
            calls.append(_Call(call["id"], call["id"], name if isinstance(name, str) else None))
    return tuple(calls)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_error(text: str) -> str | None:
    """Why ``text`` is not JSON the loop would take as arguments, or None.

    What ``json.loads`` refuses, in its words; and what it reads but nests deeper than
    ``MAX_JSON_DEPTH``, in the incremental parser's (which reads the model's arguments).
    """
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        return str(exc) or type(exc).__name__
    except RecursionError:
        pass  # far too deep: the parser below says where, without recursing
    else:
        if check_json(value)[0] is None:
            return None
    try:
        parse_partial(text, final=True)
    except PartialJSONError as exc:
        return str(exc)
    return None  # json ran out of stack on a document the parser takes


def _has_items(value: object) -> bool:
    return isinstance(value, list | tuple) and len(value) > 0


def _kind(value: object) -> str:
    return type(value).__name__


def _describe(call_id: str, name: str | None) -> str:
    return f"{call_id!r} ({name})" if name else repr(call_id)


@attrs.define
class _Block:
    """The tool calls of one assistant message, waiting for their tool messages."""

    index: int
    calls: tuple[_Call, ...]
    waiting: dict[str, deque[int]] = attrs.field(factory=dict)
    answered_by: dict[str, int] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for position, call in enumerate(self.calls):
            self.waiting.setdefault(call.original, deque()).append(position)

    def unanswered(self) -> Iterator[_Call]:
        positions = sorted(position for queue in self.waiting.values() for position in queue)
        return (self.calls[position] for position in positions)


class _Walk:
    """Pairs tool calls with their answers in message order.

    Fed the messages as sent, it collects the problems; fed the repaired messages, it writes the
    repaired history to ``output``, dropping unwanted answers and adding the missing ones.
    """

    def __init__(self) -> None:
        self.problems: list[HistoryProblem] = []
        self.output: list[dict[str, Any]] = []
        self.block: _Block | None = None
        self.last_non_tool: _Entry | None = None

    def feed(self, entry: _Entry) -> None:
        if entry.role == "tool":
            if entry.answers is not None:
                self.answer(entry, entry.answers)
            return
        self.close_block()
        self.last_non_tool = entry
        if entry.role == "assistant" and entry.calls:
            self.block = _Block(entry.index, entry.calls)
        if entry.message is not None:
            self.output.append(entry.message)

    def finish(self) -> None:
        self.close_block()

    def answer(self, entry: _Entry, call_id: str) -> None:
        block = self.block
        if block is None:
            self.report(entry, "tool-message-out-of-place", self.out_of_place(call_id))
            return
        queue = block.waiting.get(call_id)
        if queue is None:
            text = (
                f"answers {call_id!r}, which is not a tool call of message {block.index}"
                " (the assistant message it follows)"
            )
            self.report(entry, "orphan-tool-message", text)
        elif not queue:
            text = (
                f"answers {call_id!r}, which message {block.answered_by[call_id]} already answered"
            )
            self.report(entry, "duplicate-tool-answer", text)
        else:
            block.answered_by[call_id] = entry.index
            call = block.calls[queue.popleft()]
            if entry.message is not None:
                self.output.append({**entry.message, "tool_call_id": call.id})

    def out_of_place(self, call_id: str) -> str:
        before = self.last_non_tool
        if before is None:
            where = "no other message comes before it"
        elif before.role is None:
            where = f"it follows message {before.index}, which is not a valid message"
        else:
            where = f"it follows message {before.index} ({before.role})"
        return (
            f"answers {call_id!r}, but does not follow an assistant message with tool_calls"
            f" ({where})"
        )

    def close_block(self) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        for call in block.unanswered():
            text = (
                f"tool call {_describe(call.original, call.name)} has no tool message answering it"
            )
            message = f"message {block.index} (assistant): {text}"
            self.problems.append(HistoryProblem(block.index, "orphan-tool-call", message))
            self.output.append(
                {"role": "tool", "tool_call_id": call.id, "content": MISSING_TOOL_RESULT}
            )

    def report(self, entry: _Entry, code: str, text: str) -> None:
        message = f"message {entry.index} ({entry.role}): {text}"
        self.problems.append(HistoryProblem(entry.index, code, message))
