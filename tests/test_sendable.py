"""What can be sent: ``encodable`` text and JSON data of a bounded depth (``agentools._sendable``),
the helpers the history checks and the loop share."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentools._sendable import (
    check_json,
    copy_json,
    encodable,
    escape_surrogates,
    nesting_problem,
    unencodable,
)
from agentools.partial_json import MAX_JSON_DEPTH

# Text with plenty of surrogates, lone, paired and reversed, among ordinary characters. (Joined
# from a list: st.text() leaves surrogates out of an alphabet that is a union of strategies.)
surrogate_texts = st.lists(
    st.characters(categories=["Cs"])
    | st.sampled_from(["\ud83d", "\ude00", "\udcff", "😀", "é", "a"])
    | st.characters(),
    max_size=12,
).map("".join)


def reference_encodable(text: str) -> str:
    """``encodable`` written out one character at a time."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        after = text[i + 1] if i + 1 < len(text) else ""
        if "\ud800" <= char <= "\udbff" and "\udc00" <= after <= "\udfff":
            out.append(chr(0x10000 + ((ord(char) - 0xD800) << 10) + (ord(after) - 0xDC00)))
            i += 2
            continue
        out.append("\ufffd" if "\ud800" <= char <= "\udfff" else char)
        i += 1
    return "".join(out)


@given(surrogate_texts)
def test_encodable_joins_pairs_and_replaces_lone_surrogates(text: str) -> None:
    fixed = encodable(text)
    assert fixed == reference_encodable(text)
    fixed.encode("utf-8")
    assert encodable(fixed) is fixed


@given(st.text())
def test_encodable_text_comes_back_as_it_is(text: str) -> None:
    assert encodable(text) is text


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("\ud83d\ude00", "😀"),  # a pair written as two halves, as split \\uXXXX escapes give
        ("file \udcff.txt", "file \ufffd.txt"),  # os.fsdecode of an undecodable byte
        ("\ud83d", "\ufffd"),
        ("\ude00\ud83d", "\ufffd\ufffd"),  # halves in the wrong order are no pair
        ("\ud83d\ud83d\ude00!", "\ufffd😀!"),
    ],
)
def test_encodable_examples(text: str, fixed: str) -> None:
    assert encodable(text) == fixed


@given(surrogate_texts)
def test_escaped_surrogates_are_printable_and_json_reads_them_back(text: str) -> None:
    dumped = escape_surrogates(json.dumps(text, ensure_ascii=False))
    dumped.encode("utf-8")
    assert encodable(json.loads(dumped)) == encodable(text)


def nest(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [1, 2, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_nesting_up_to_the_limit_is_fine(depth: int) -> None:
    value = nest(depth)
    assert nesting_problem(value) is None
    assert check_json(value) == (None, False)
    assert copy_json(value) == value


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_nesting_past_the_limit_is_named(depth: int) -> None:
    value = nest(depth)
    assert nesting_problem(value) == f"nested deeper than {MAX_JSON_DEPTH} levels"
    assert check_json(value) == (f"nested deeper than {MAX_JSON_DEPTH} levels", False)


def test_a_key_counts_as_a_level_too() -> None:
    key: tuple[Any, ...] = ()  # keys are hashable: tuples all the way down
    for _ in range(MAX_JSON_DEPTH - 1):
        key = (key,)
    assert nesting_problem({"ok": 1}) is None
    assert nesting_problem({key: 1}) == f"nested deeper than {MAX_JSON_DEPTH} levels"


def test_cycles_are_named() -> None:
    loop: list[Any] = [1]
    loop.append({"again": loop})
    assert nesting_problem(loop) == "contains itself"
    assert check_json({"a": loop})[0] == "contains itself"


def test_shared_parts_are_walked_once() -> None:
    shared: Any = ["leaf \udcff"]
    for _ in range(80):  # 2**80 paths, 81 containers
        shared = [shared, shared]
    assert nesting_problem(shared) is None
    assert check_json(shared) == (None, True)
    assert [where for where, _ in unencodable(shared)] == ["[0]" * 80 + "[0]"]
    copied = copy_json(shared, encodable)
    assert copied[0] is copied[1]  # still shared, as copy.deepcopy would keep it


def test_strings_that_cannot_be_encoded_are_found_with_their_place() -> None:
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "ok"}, {"type": "text", "text": "a\udcff"}],
        "odd key \ud83d": "x",
        ("tuple", "\udcff"): 1,
    }
    assert check_json(message) == (None, True)
    assert list(unencodable(message)) == [
        ("content[1].text", "a\udcff"),
        ("a key of the message", "odd key \ud83d"),
        ("a key of the message[1]", "\udcff"),
    ]


def test_copy_json_copies_fixes_and_keeps_tuples() -> None:
    value = {"a": ("x\udcff", [1, None, 2.5, True]), "b\ud83d\ude00": {"c": "d"}}
    copied = copy_json(value, encodable)
    assert copied == {"a": ("x\ufffd", [1, None, 2.5, True]), "b😀": {"c": "d"}}
    assert copied["a"][1] is not value["a"][1]
    assert copy_json(value) == value
