"""What can be sent to the API: text that UTF-8 can encode, and JSON data of a bounded depth.

A Python string can hold *lone surrogates*, code points U+D800..U+DFFF that are not half of a
pair: ``os.fsdecode()`` of a file name that is not UTF-8 gives ``"\\udcff"``, and a server that
writes an emoji's UTF-16 pair as two ``\\uXXXX`` escapes in two chunks gives two halves that no one
joins. UTF-8 cannot encode them, so the SDK fails with ``UnicodeEncodeError`` on every request
that carries one: one such string in a history poisons it. ``encodable`` makes a string safe.

The JSON data of a message must also have an end: nested deeper than ``MAX_JSON_DEPTH`` levels,
or containing itself, it cannot be sent (``json.dumps`` and the servers' parsers give up), and the
recursive code that reads it (``repr``, ``copy.deepcopy``, cattrs) fails with ``RecursionError``.
``nesting_problem`` says so without recursing; the other helpers expect data that passed it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from .partial_json import MAX_JSON_DEPTH

__all__ = [
    "check_json",
    "distinct_ids",
    "copy_json",
    "encodable",
    "escape_surrogates",
    "lone_surrogate",
    "nesting_problem",
    "unencodable",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def encodable(text: str) -> str:
    """``text``, made encodable as UTF-8: the same string when it already is (the usual case,
    checked first and cheaply); otherwise a copy in which each surrogate pair written as two lone
    halves is joined (``"\\ud83d\\ude00"`` becomes ``"😀"``) and each remaining lone surrogate is
    replaced by U+FFFD (``"\\udcff"`` becomes ``"�"``).

    Call it on any text that enters a history from outside (the model's text, a tool's result, a
    file name): a lone surrogate would make every later request fail with ``UnicodeEncodeError``.
    ``repair_history`` applies it to every string of every message.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 writes each surrogate as one code unit, so two halves in order read back as
        # their character, and a lone one is an error that "replace" turns into U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def escape_surrogates(text: str) -> str:
    """``text`` with each surrogate written as its escape (``\\udcff`` as six characters), for
    messages that must be printable whatever they quote."""
    if text.isascii():
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def lone_surrogate(where: str, text: str) -> str:
    """What is wrong with ``text``, a string UTF-8 cannot encode found at ``where``."""
    match = _SURROGATE.search(text)
    position = 0 if match is None else match.start()
    return (
        f"{where} has a lone surrogate ({text[position : position + 1]!r} at character"
        f" {position}), which UTF-8 cannot encode"
    )


def _is_container(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple)


def _children(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        return (part for item in value.items() for part in item)
    items: Iterable[Any] = value
    return items


class _Stop(Exception):
    """The quick walk found data too deep (or cyclic), or too large to walk quickly."""


_QUICK_VISITS: Final = 10_000  # containers the quick walk visits before it leaves it to the other
_LEAVES: Final = frozenset({int, float, bool, type(None)})


def _quick_walk(
    value: Any, room: int, unencodable: list[str], visits: list[int], seen: set[int] | None
) -> None:
    """Walk the container ``value`` with ``room`` levels left for it and below, collecting the
    strings UTF-8 cannot encode; raise ``_Stop`` if it needs more room or too many visits.

    Recursive, so bounded by ``room``; a cycle runs out of room. Without ``seen`` it counts its
    visits down (a part shared by many containers is walked each time); with ``seen`` (for data
    that passed ``nesting_problem``) it walks each container once. Exact types first: a message
    is dicts, lists and strings, and an ``isinstance`` check of an ABC costs ten times more.
    """
    if room <= 0:
        raise _Stop
    if seen is None:
        visits[0] -= 1
        if visits[0] < 0:
            raise _Stop
    elif id(value) in seen:
        return
    else:
        seen.add(id(value))
    room -= 1
    parts: Iterable[Any]
    if type(value) is dict or isinstance(value, Mapping):
        odd_keys = [key for key in value if type(key) is not str or not key.isascii()]
        parts = [*value.values(), *odd_keys] if odd_keys else value.values()
    else:
        parts = value
    for part in parts:
        kind = type(part)
        if kind is str:
            if not part.isascii():
                try:
                    part.encode("utf-8")
                except UnicodeEncodeError:
                    unencodable.append(part)
        elif kind is dict or kind is list or kind is tuple:
            _quick_walk(part, room, unencodable, visits, seen)
        elif kind in _LEAVES:
            continue
        elif isinstance(part, str):
            if encodable(part) is not part:
                unencodable.append(part)
        elif _is_container(part):
            _quick_walk(part, room, unencodable, visits, seen)


def check_json(value: object) -> tuple[str | None, bool]:
    """What ``nesting_problem`` says of ``value``, and whether a string in it (keys included) is
    one UTF-8 cannot encode: one quick walk for the usual message, small and shallow."""
    if not _is_container(value):
        if isinstance(value, str):
            return None, encodable(value) is not value
        return None, False
    found: list[str] = []
    try:
        _quick_walk(value, MAX_JSON_DEPTH, found, [_QUICK_VISITS], None)
    except _Stop:
        problem = nesting_problem(value)
        if problem is not None:
            return problem, False
        found.clear()
        _quick_walk(value, MAX_JSON_DEPTH, found, [0], set())
    return None, bool(found)


def nesting_problem(value: object, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``value`` cannot be sent as JSON for its shape, or None: ``"nested deeper than N
    levels"`` (``value`` itself is level 1 when it is a container) or ``"contains itself"``.

    Mappings (their keys too), lists and tuples are containers, anything else a leaf. The walk
    keeps its own stack, so any depth is measured without ``RecursionError``, and visits a part
    shared by several containers once.
    """
    if not _is_container(value):
        return None
    too_deep = f"nested deeper than {limit} levels"
    if limit < 1:
        return too_deep
    heights: dict[int, int] = {}  # of the containers walked, by id: levels from there down
    on_path = {id(value)}
    # Each frame: the container, what is left of its children, the height of those walked.
    stack: list[tuple[object, Iterator[Any], list[int]]] = [(value, iter(_children(value)), [0])]
    while stack:
        container, children, height = stack[-1]
        for child in children:
            if not _is_container(child):
                continue
            known = heights.get(id(child))
            if known is None:
                if id(child) in on_path:
                    return "contains itself"
                if len(stack) >= limit:
                    return too_deep
                on_path.add(id(child))
                stack.append((child, iter(_children(child)), [0]))
                break
            if len(stack) + known > limit:
                return too_deep
            height[0] = max(height[0], known)
        else:
            stack.pop()
            on_path.discard(id(container))
            heights[id(container)] = height[0] + 1
            if stack:
                parent_height = stack[-1][2]
                parent_height[0] = max(parent_height[0], height[0] + 1)
    return None


def copy_json(value: Any, text: Callable[[str], str] | None = None) -> Any:
    """A deep copy of ``value``, data that passed ``nesting_problem``, with ``text`` applied to
    every string (keys included) if given.

    Mappings become dicts, lists and tuples stay lists and tuples, and anything else is copied
    with ``copy.deepcopy``. A part shared by several containers is copied once and stays shared,
    as with ``copy.deepcopy``.
    """
    copies: dict[int, Any] = {}

    def copy_of(item: Any) -> Any:
        kind = type(item)
        if kind is str or isinstance(item, str):
            return item if text is None else text(item)
        if kind in _LEAVES:
            return item
        if not (kind is dict or kind is list or _is_container(item)):
            return copy.deepcopy(item)
        done = copies.get(id(item))
        if done is not None:
            return done
        result: Any
        if kind is list:
            result = [copy_of(part) for part in item]
        elif kind is dict or isinstance(item, Mapping):
            result = {copy_of(key): copy_of(part) for key, part in item.items()}
        elif isinstance(item, list):
            result = [copy_of(part) for part in item]
        else:
            result = tuple(copy_of(part) for part in item)
        copies[id(item)] = result
        return result

    return copy_of(value)


def _key_path(path: str, key: object) -> str:
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def unencodable(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Each string in ``value`` (data that passed ``nesting_problem``) that UTF-8 cannot encode,
    as ``(where, the string)``: where is a path such as ``content[0].text`` below ``path``, or
    ``a key of <path>`` for a key. A part shared by several containers is looked at once."""
    seen: set[int] = set()

    def walk(item: object, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(item, str):
            if encodable(item) is not item:
                yield where, item
            return
        if not _is_container(item) or id(item) in seen:
            return
        seen.add(id(item))
        if isinstance(item, Mapping):
            for key, part in item.items():
                if isinstance(key, str) and encodable(key) is not key:
                    yield f"a key of {where or 'the message'}", key
                else:
                    yield from walk(key, f"a key of {where or 'the message'}")
                yield from walk(part, _key_path(where, key))
        else:
            parts: Iterable[Any] = item  # type: ignore[assignment]
            for index, part in enumerate(parts):
                yield from walk(part, f"{where}[{index}]")

    return walk(value, path)


def distinct_ids(call_ids: list[str]) -> list[str]:
    """The tool-call ids of one message, with a suffix on each repeat so that no two are equal
    (the API pairs each tool message with one call): the first suffix from 2 on that makes an id
    used nowhere else (neither given nor made before). ``repair_history`` and the loop, for ids a
    server reused, both name calls this way.

    Linear: the search for an id's next suffix goes on from where its last one stopped, as every
    id it passed is still taken.
    """
    taken = set(call_ids)
    seen: set[str] = set()
    next_suffix: dict[str, int] = {}
    result = []
    for call_id in call_ids:
        new_id = call_id
        if call_id in seen:
            suffix = next_suffix.get(call_id, 2)
            new_id = _suffixed(call_id, suffix)
            while new_id in seen or new_id in taken:
                suffix += 1
                new_id = _suffixed(call_id, suffix)
            next_suffix[call_id] = suffix + 1
        seen.add(new_id)
        result.append(new_id)
    return result


def _suffixed(call_id: str, suffix: int) -> str:
    return f"{call_id}_{suffix}"
