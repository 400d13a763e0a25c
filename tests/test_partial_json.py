"""Tests for ``agentools.partial_json``: one example test per documented rule, and Hypothesis
properties checking the parser against :func:`json.loads` for any split of the input."""

from __future__ import annotations

import doctest
import json
import pickle
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import agentools.partial_json as partial_json
from agentools.partial_json import MISSING, PartialJSONError, PartialJSONParser, parse_partial


def canon(value: Any) -> str:
    """A comparison key that tells 1, 1.0 and True apart, keeps key order and -0.0."""
    return json.dumps(value)


def feed_all(chunks: list[str]) -> PartialJSONParser:
    parser = PartialJSONParser()
    for chunk in chunks:
        parser.feed(chunk)
    return parser


def every_split(text: str) -> list[list[str]]:
    """The text in one piece, one character at a time, and cut in two at every position."""
    return [[text], list(text)] + [[text[:i], text[i:]] for i in range(1, len(text))]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not accepted")


def loads_or_rejected(text: str) -> tuple[bool, Any, ValueError | None]:
    """``json.loads`` without NaN/Infinity: (accepted, value, error)."""
    try:
        return True, json.loads(text, parse_constant=_reject_constant), None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, too long an integer
        return False, None, error


# --- strategies ------------------------------------------------------------------------------

_characters = st.one_of(
    st.characters(),
    st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\ufeffé😀\U0010ffff'),
    st.characters(categories=["Cs"]),  # lone surrogates
)


# Joined from lists: st.text() leaves the surrogates out of an alphabet that is a union.
def _text(alphabet: st.SearchStrategy[str], min_size: int = 0, max_size: int = 12) -> Any:
    return st.lists(alphabet, min_size=min_size, max_size=max_size).map("".join)


_strings = _text(_characters) | _text(_characters, min_size=13, max_size=80)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**80), max_value=10**80),
    st.floats(allow_nan=False, allow_infinity=False),
    _strings,
)
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_strings, children, max_size=4)
    ),
    max_leaves=12,
)
_formats: list[dict[str, Any]] = [
    {"separators": (",", ":")},
    {"separators": (",", ":"), "ensure_ascii": False},
    {},
    {"ensure_ascii": False},
    {"indent": 2},
    {"indent": 2, "ensure_ascii": False},
]
_whitespace = st.text(st.sampled_from(" \t\n\r"), max_size=2)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    text = json.dumps(draw(json_values), **draw(st.sampled_from(_formats)))
    return draw(_whitespace) + text + draw(_whitespace)


_prose = st.text(
    st.sampled_from('abcdefgh ijkl\n\t"\\/é😀') | st.characters(), min_size=0, max_size=120
)
tool_call_arguments = st.dictionaries(
    st.text(st.sampled_from('abcdefghij_ "é'), min_size=1, max_size=24),
    _prose | json_values,
    max_size=5,
)
"""Objects of mostly-plain text, the shape of real tool-call arguments: long string members and
keys make the fast paths (and their hand-over to the general path) matter."""


@st.composite
def documents(draw: st.DrawFn) -> str:
    text = json.dumps(draw(tool_call_arguments), **draw(st.sampled_from(_formats)))
    return draw(st.one_of(json_texts(), st.just(text)))


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    """Chunks of a fixed small size, or cut at drawn points (empty chunks included)."""
    if draw(st.booleans()):
        size = draw(st.integers(1, 8))
        return [text[i : i + size] for i in range(0, len(text), size)]
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=24)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@st.composite
def mutated_json_texts(draw: st.DrawFn) -> str:
    """Valid JSON text with a few characters deleted, inserted or replaced."""
    text = draw(json_texts())
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "replace"]))
        char = draw(st.sampled_from('{}[]",:\\ -+.eE0123456789tfnuaNI\x01') | _characters)
        if kind == "delete":
            text = text[:i] + text[i + 1 :]
        elif kind == "insert":
            text = text[:i] + char + text[i:]
        else:
            text = text[:i] + char + text[i + 1 :]
    return text


_json_alphabet = st.sampled_from('{}[]",:\\ \t\n-+.eE0123456789truefalsnIN/bu') | _characters
arbitrary_texts = _text(_json_alphabet, max_size=30)
_NEVER_VALID = "".join(chr(c) for c in range(32) if chr(c) not in " \t\n\r")


# --- properties ------------------------------------------------------------------------------


@given(text=documents(), data=st.data())
def test_any_split_gives_what_json_loads_gives(text: str, data: st.DataObject) -> None:
    # Reading the value (or not) changes how strings are built, never the result.
    read_every = data.draw(st.sampled_from([0, 1, 2, 5]), label="read value every n chunks")
    parser = PartialJSONParser()
    for i, chunk in enumerate(data.draw(splits(text))):
        parser.feed(chunk)
        if read_every and i % read_every == 0:
            parser.value  # noqa: B018
    assert canon(parser.close()) == canon(json.loads(text))
    assert parser.done
    assert parser.is_complete()


def _check_snapshot(
    partial: Any, final: Any, parser: PartialJSONParser, path: tuple[Any, ...], seen: set[Any]
) -> None:
    """``partial`` (in the snapshot at ``path``) is consistent with ``final``; complete parts
    equal the final ones, and stay complete."""
    if parser.is_complete(*path):
        assert canon(partial) == canon(final)
        seen.add(path)
        return
    assert path not in seen, f"{path} was complete, now is not"
    if isinstance(final, str):
        assert type(partial) is str
        assert final.startswith(partial)
    elif isinstance(final, list):
        assert type(partial) is list
        assert len(partial) <= len(final)
        assert not parser.is_complete(*path, len(partial))
        for i, item in enumerate(partial):
            if i < len(partial) - 1:
                assert parser.is_complete(*path, i)
            _check_snapshot(item, final[i], parser, (*path, i), seen)
    elif isinstance(final, dict):
        assert type(partial) is dict
        assert list(partial) == list(final)[: len(partial)]
        for i, key in enumerate(partial):
            if i < len(partial) - 1:
                assert parser.is_complete(*path, key)
            _check_snapshot(partial[key], final[key], parser, (*path, key), seen)
    else:
        raise AssertionError(f"incomplete scalar {partial!r} at {path}")


def _all_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [path]
    if isinstance(value, list):
        for i, item in enumerate(value):
            paths += _all_paths(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            paths += _all_paths(item, (*path, key))
    return paths


@given(text=documents(), data=st.data())
def test_every_snapshot_is_consistent_with_the_final_value(text: str, data: st.DataObject) -> None:
    final = json.loads(text)
    parser = PartialJSONParser()
    seen: set[Any] = set()
    for chunk in data.draw(splits(text)):
        parser.feed(chunk)
        snapshot = parser.value
        if snapshot is MISSING:
            assert not seen
            assert not parser.is_complete()
        else:
            _check_snapshot(snapshot, final, parser, (), seen)
    parser.close()
    assert all(parser.is_complete(*path) for path in _all_paths(final))


@given(text=st.one_of(arbitrary_texts, mutated_json_texts()), data=st.data())
def test_any_text_parses_like_json_loads_or_raises_partial_json_error(
    text: str, data: st.DataObject
) -> None:
    accepted, expected, json_error = loads_or_rejected(text)
    event("valid JSON" if accepted else "invalid JSON")
    chunks = data.draw(splits(text))
    if accepted:
        assert canon(feed_all(chunks).close()) == canon(expected)
        return
    with pytest.raises(PartialJSONError) as error:
        feed_all(chunks).close()
    pos = error.value.pos
    assert 0 <= pos <= len(text)
    # The position does not depend on the split, and everything before it is accepted.
    with pytest.raises(PartialJSONError) as one_shot:
        parse_partial(text, final=True)
    assert one_shot.value.pos == pos
    PartialJSONParser().feed(text[:pos])
    if isinstance(json_error, json.JSONDecodeError):
        assert json_error.pos <= pos


@given(text=json_texts(), data=st.data())
def test_error_points_at_the_first_bad_character(text: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text)))
    bad = data.draw(st.sampled_from(_NEVER_VALID))
    bad_text = text[:i] + bad + data.draw(_text(_json_alphabet, max_size=4))
    chunks = data.draw(splits(bad_text))
    with pytest.raises(PartialJSONError) as error:
        feed_all(chunks)
    assert error.value.pos == i


# Long strings made of a few escape-heavy pieces, fed in fixed-size chunks: the same chunk texts
# come back again and again, inside the string and after a backslash that ended the chunk
# before, so the parser answers many of them from what it remembers of earlier ones.
_repetitive_strings = st.lists(
    st.sampled_from(["\n", "\t", '"', "\\", "ab", "  ", "é", "\\n", "😀", "\x01", "\u2028"]),
    min_size=20,
    max_size=300,
).map("".join)


@given(value=_repetitive_strings, size=st.integers(1, 6), ascii_only=st.booleans())
def test_repeated_chunks_decode_alike_and_keep_positions(
    value: str, size: int, ascii_only: bool
) -> None:
    text = json.dumps({"content": value, "n": 1}, ensure_ascii=ascii_only)
    parser = PartialJSONParser()
    for i in range(0, len(text), size):
        parser.feed(text[i : i + size])
        partial = parser.value
        if partial is not MISSING and "content" in partial:
            assert value.startswith(partial["content"])
    assert parser.close() == {"content": value, "n": 1}
    # The offsets stay exact after a long run of such chunks.
    bad_text = text[:-1] + "x}"
    with pytest.raises(PartialJSONError) as error:
        feed_all([bad_text[i : i + size] for i in range(0, len(bad_text), size)])
    assert error.value.pos == len(text) - 1


# --- examples: the documented rules ----------------------------------------------------------


def test_docstring_examples() -> None:
    result = doctest.testmod(partial_json, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 20
    assert result.failed == 0


def test_missing_before_anything_is_known() -> None:
    parser = PartialJSONParser()
    assert parser.value is MISSING
    assert repr(MISSING) == "MISSING"
    assert not parser.done
    for chunk in [" ", "\n", "tr", "u"]:
        parser.feed(chunk)
        assert parser.value is MISSING
    parser.feed("e")
    assert parser.value is True
    assert parser.done


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "hel', {"a": "hel"}),
        ('{"a": "', {"a": ""}),
        ('["ab', ["ab"]),
        ('["ab", "c', ["ab", "c"]),
        ('"ab\\', "ab"),
        ('"ab\\u00', "ab"),
        ('"ab\\u00e9', "abé"),
    ],
)
def test_unfinished_string_value_shows_so_far(text: str, expected: Any) -> None:
    assert parse_partial(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a', {}),
        ('{"a"', {}),
        ('{"a":', {}),
        ('{"a": ', {}),
        ('{"a": 1, "b', {"a": 1}),
        ('{"a": 1, "b": t', {"a": 1}),
        ('{"a": [', {"a": []}),
        ('{"a": {', {"a": {}}),
        ('{"a": {"b": [{', {"a": {"b": [{}]}}),
        ("[", []),
        ("[[", [[]]),
    ],
)
def test_keys_and_containers(text: str, expected: Any) -> None:
    assert parse_partial(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1", []),
        ("[12,", [12]),
        ("[12 ", [12]),
        ("[12]", [12]),
        ("[-", []),
        ("[-0", []),
        ("[-0,", [0]),
        ("[1.", []),
        ("[1.5", []),
        ("[1.5,", [1.5]),
        ("[1e", []),
        ("[1e+", []),
        ("[1e+2", []),
        ("[1e+2]", [100.0]),
        ("[tru", []),
        ("[true", [True]),
        ("[nul", []),
        ("[null", [None]),
        ("[f", []),
        ("[false", [False]),
        ('{"a": 1', {}),
        ('{"a": 1}', {"a": 1}),
    ],
)
def test_numbers_and_literals_appear_once_final(text: str, expected: Any) -> None:
    assert canon(parse_partial(text)) == canon(expected)


def test_top_level_number_is_final_on_whitespace_or_close() -> None:
    parser = PartialJSONParser()
    parser.feed("-1")
    parser.feed("2.5")
    assert parser.value is MISSING
    assert not parser.done
    assert not parser.is_complete()
    assert parser.close() == -12.5
    assert parser.done
    assert parser.is_complete()
    assert parse_partial("12\n") == 12
    assert parse_partial("12", final=True) == 12


@pytest.mark.parametrize(
    "text",
    [
        '"a\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti"',
        '"\\u00e9\\u20AC\\uFFFF"',
        '"\\ud83d\\ude00"',
        '"x\\ud83d\\ude00y"',
        '"\\ud800"',
        '"\\udc00"',
        '"\\udc00\\ud800"',
        '"\\ud800x"',
        '"\\ud800\\n"',
        '"\\ud800\\u0041"',
        '"\\ud800\\ud800\\udc00"',
        '"\\ud800\\ud800"',
        '["\\ud800", "\\udc00"]',
        '{"\\ud83d\\ude00\\n": "\\ud800"}',
        '{"\\ud800": null, "a\\ud800": "\\ud83d"}',  # a high surrogate ends a key
    ],
)
def test_escapes_decode_wherever_split(text: str) -> None:
    expected = json.loads(text)
    for chunks in every_split(text):
        parser = PartialJSONParser()
        for chunk in chunks:
            parser.feed(chunk)
            if isinstance(expected, str) and parser.value is not MISSING:
                assert expected.startswith(parser.value)
        assert canon(parser.close()) == canon(expected), chunks


def every_alignment(text: str) -> list[list[str]]:
    """Chunks of every size from 1 to 8 characters, the first one shortened in every way: each
    fast path of ``feed`` meets each part of the text at each place in a chunk."""
    splits = []
    for size in range(1, 9):
        for first in range(size):
            head = [text[:first]] if first else []
            splits.append(head + [text[i : i + size] for i in range(first, len(text), size)])
    return splits


# String content the fast paths of feed treat differently: plain text, the usual escapes (\n,
# \t, \"), an escaped backslash next to a quote or an n, other escapes, \uXXXX and surrogate
# pairs, non-printable characters that need no escape, in values, keys and at the top level.
_STRING_TEXTS = [
    '{"a": "x\\ny\\tz\\"w\\\\v\\/u\\u00e9\\ud83d\\ude00 \\b\\f\\r end", "b": 1}',
    '["\\\\", "\\\\\\"", "a\\\\n", "\\\\\\\\n", "\\"\\"", "\\\\\\n\\\\t", "q\\"", ""]',
    '{"k\\"ey\\\\": "v", "long key, plain": "w", "\\ud800": "\\ud800", "\\ud83d\\ude00x": 2}',
    '"top \\"level\\" string\\n\\u00e9"',
    '{"raw": "nbsp\u00a0 ls\u2028 zwj\u200d del\x7f é 😀", "e": "\\u0041\\u00e9\\n"}',
    '{"code": "def f(x):\\n\\treturn \\"a\\\\b\\" % x\\n", "n": [0, -0, 12, -3.5e+2, 1E5, 0.25]}',
]


@pytest.mark.parametrize("text", _STRING_TEXTS)
def test_strings_decode_at_every_alignment(text: str) -> None:
    expected = json.loads(text)
    for chunks in every_alignment(text):
        parser = PartialJSONParser()
        seen: set[Any] = set()
        for chunk in chunks:
            parser.feed(chunk)
            if parser.value is not MISSING:
                _check_snapshot(parser.value, expected, parser, (), seen)
        assert canon(parser.close()) == canon(expected), chunks


@pytest.mark.parametrize(
    ("tail", "bad"),
    [('", "b": x}', "x"), ("\x01", "\x01"), ("\\x", "x"), ("\\u12x4", "x")],
)
def test_error_position_after_escaped_text(tail: str, bad: str) -> None:
    # Positions are counted through every path a string takes, escapes included.
    text = '{"a": "' + 'ab\\n\\"c\\\\d\\u00e9é\\t' * 20 + tail
    pos = text.rindex(bad)
    assert not loads_or_rejected(text)[0]
    for chunks in every_alignment(text):
        with pytest.raises(PartialJSONError) as error:
            feed_all(chunks).close()
        assert error.value.pos == pos, chunks


def test_surrogates_follow_json_loads() -> None:
    assert parse_partial('"\\ud83d\\ude00"') == "😀"
    assert parse_partial('"\\ud800"', final=True) == "\ud800"
    assert parse_partial('"\\ud800\\u0041"', final=True) == "\ud800A"
    # A raw (unescaped) surrogate is just a character, even next to an escaped one.
    assert parse_partial('"\\ud800\udc00"', final=True) == json.loads('"\\ud800\udc00"')
    # A high surrogate is held back while its partner may still come.
    assert parse_partial('"a\\ud83d') == "a"
    assert parse_partial('"a\\ud83d\\') == "a"
    assert parse_partial('"a\\ud83d\\ude0') == "a"
    assert parse_partial('"a\\ud83d"') == "a\ud83d"


def test_is_complete() -> None:
    parser = PartialJSONParser()
    assert not parser.is_complete()
    parser.feed('{"a": [1, {"b": "x"}, "y')
    assert parser.is_complete("a", 0)
    assert parser.is_complete("a", 1)
    assert parser.is_complete("a", 1, "b")
    assert not parser.is_complete("a", 2)
    assert not parser.is_complete("a", 3)
    assert not parser.is_complete("a")
    assert not parser.is_complete()
    # Wrong types and absent paths are simply not complete.
    assert not parser.is_complete("a", -1)
    assert not parser.is_complete("a", True)
    assert not parser.is_complete(0)
    assert not parser.is_complete("a", 0, 0)
    assert not parser.is_complete("b")
    parser.feed('"], "c"')
    assert parser.is_complete("a")
    assert not parser.is_complete("c")
    parser.feed(": 1")
    assert not parser.is_complete("c")
    parser.feed("}")
    assert parser.is_complete("c")
    assert parser.is_complete()


def test_is_complete_for_a_repeated_key_is_false_until_its_new_value_ends() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": 1, "a": ')
    assert parser.value == {"a": 1}
    assert not parser.is_complete("a")
    parser.feed('"x')
    assert parser.value == {"a": "x"}
    parser.feed('", "b": 2}')
    assert parser.is_complete("a")


def test_duplicate_keys_last_wins_like_json_loads() -> None:
    text = '{"a": 1, "b": 2, "a": [3]}'
    assert canon(parse_partial(text)) == canon(json.loads(text)) == canon({"a": [3], "b": 2})


def test_reading_a_string_then_a_split_key() -> None:
    parser = PartialJSONParser()
    for chunk in ['{"a": "x', "y", 'z", "lo', "ng k", 'ey": "', "v", "w", '"}']:
        parser.feed(chunk)
        parser.value  # noqa: B018
    assert parser.close() == {"a": "xyz", "long key": "vw"}


def test_snapshot_is_live() -> None:
    parser = PartialJSONParser()
    parser.feed('{"items": [1, ')
    snapshot = parser.value
    items = snapshot["items"]
    parser.feed('2, "ab')
    assert parser.value is snapshot
    assert items == [1, 2, "ab"]
    parser.feed('c"]}')
    assert parser.value is snapshot
    assert snapshot == {"items": [1, 2, "abc"]}


def test_reading_the_value_does_not_change_the_result() -> None:
    text = '{"s": "' + "abc\\n" * 50 + '", "t": ["x' + "y" * 40 + '"]}'
    for step in (1, 3, 7):
        parser = PartialJSONParser()
        held = []
        for i in range(0, len(text), step):
            parser.feed(text[i : i + step])
            value = parser.value
            if i % 2:
                held.append(value.get("s"))  # keep references to in-progress strings
        assert parser.close() == json.loads(text)
        assert all(json.loads(text)["s"].startswith(s) for s in held if s is not None)


@pytest.mark.parametrize(
    ("text", "pos"),
    [
        ("x", 0),
        ("[1,]", 3),
        ("[,", 1),
        ("]", 0),
        ("{]", 1),
        ('{"a" 1}', 5),
        ('{"a": 1,}', 8),
        ('{"a": 1 "b"', 8),
        ("{1: 2}", 1),
        ('{"a": 1]', 7),
        ("[1}", 2),
        ("[01]", 2),
        ("[-a]", 2),
        ("[1.x]", 3),
        ("[1.]", 3),
        ("[1e]", 3),
        ("[1e+]", 4),
        ("[1.5.2]", 4),
        ("[1e5e]", 4),
        ("[+1]", 1),
        ("[.5]", 1),
        ("[--1]", 2),
        ("[trUe]", 3),
        ("[nulll]", 5),
        ("[fals]", 5),
        ('"a\\x"', 3),
        ('"\\u12g4"', 5),
        ('"\\ud800\\uzzzz"', 9),
        ('"\\ud800\\x"', 8),
        ('"a\nb"', 2),
        ('"a\x00"', 2),
        ("[] x", 3),
        ("1 2", 2),
        ('"a" "b"', 4),
        ("\ufeff[]", 0),
        ("\u0661", 0),  # a digit, but not an ASCII one
        ("[\u0661]", 1),
    ],
)
def test_error_positions(text: str, pos: int) -> None:
    assert not loads_or_rejected(text)[0]
    for chunks in every_split(text):
        with pytest.raises(PartialJSONError) as error:
            feed_all(chunks).close()
        assert error.value.pos == pos, chunks


@pytest.mark.parametrize(
    ("text", "pos"),
    [("NaN", 0), ("Infinity", 0), ("-Infinity", 1), ("[1, NaN]", 4), ('{"a": Infinity}', 6)],
)
def test_nan_and_infinity_are_rejected(text: str, pos: int) -> None:
    assert isinstance(json.loads(text), (float, list, dict))  # json.loads would take them
    with pytest.raises(PartialJSONError) as error:
        parse_partial(text)
    assert error.value.pos == pos


@pytest.mark.parametrize(("text", "pos"), [("", 0), ("  \n", 3), ("[1, 2", 5), ("-", 1), ("1e", 2)])
def test_close_on_incomplete_input_raises_at_the_end(text: str, pos: int) -> None:
    parser = PartialJSONParser()
    parser.feed(text)
    with pytest.raises(PartialJSONError) as error:
        parser.close()
    assert error.value.pos == pos


def test_errors_are_sticky() -> None:
    parser = PartialJSONParser()
    parser.feed("[1, ")
    with pytest.raises(PartialJSONError) as first:
        parser.feed("2, }")
    assert first.value.pos == 7
    assert parser.value == [1, 2]  # what was valid before the error stays
    for call in (lambda: parser.feed("3]"), lambda: parser.feed(""), parser.close):
        with pytest.raises(PartialJSONError) as again:
            call()
        assert (again.value.pos, again.value.msg) == (first.value.pos, first.value.msg)
    assert not parser.done


def test_whitespace_is_allowed_where_json_allows_it() -> None:
    text = ' \t\n\r{ \n"a" \t: \r[ 1 , true ,\n"x" ] , "b" : { } }\n '
    assert parse_partial(text, final=True) == json.loads(text)


def test_trailing_data_is_an_error_and_close_is_idempotent() -> None:
    parser = PartialJSONParser()
    parser.feed("[1] ")
    assert parser.done
    assert parser.close() == [1]
    assert parser.close() == [1]
    parser.feed("  ")  # whitespace after the end is fine
    with pytest.raises(PartialJSONError) as error:
        parser.feed(" [")
    assert error.value.pos == 7


def test_too_long_an_integer_is_a_partial_json_error() -> None:
    digits = "9" * 5000
    with pytest.raises(ValueError, match="digits"):  # json.loads cannot read it either
        json.loads(digits)
    for text in (f"[{digits}]", f"{digits} "):
        with pytest.raises(PartialJSONError) as error:
            feed_all([text[i : i + 7] for i in range(0, len(text), 7)])
        assert error.value.pos == text.index("9")
    with pytest.raises(PartialJSONError):
        parse_partial(digits, final=True)


def test_partial_json_error() -> None:
    error = PartialJSONError("expected ':'", 5)
    assert isinstance(error, ValueError)
    assert (error.msg, error.pos) == ("expected ':'", 5)
    assert str(error) == "expected ':' at position 5"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.msg, copy.pos) == (error.msg, error.pos)


def test_long_values_in_small_chunks() -> None:
    value = {
        "content": 'line of code\n\t"quoted" \\ é 😀 \u2028' * 2000,
        "items": [{"n": i, "x": i / 7, "ok": i % 2 == 0, "z": None} for i in range(200)],
        "big": 10**300,
    }
    for ensure_ascii in (True, False):
        text = json.dumps(value, ensure_ascii=ensure_ascii)
        parser = PartialJSONParser()
        for i in range(0, len(text), 5):
            parser.feed(text[i : i + 5])
            if i % 97 == 0:
                assert parser.value is not MISSING
        assert parser.close() == value


def test_what_the_parser_remembers_of_escaped_chunks_is_bounded() -> None:
    # Every chunk below is new: the memo of decoded chunks must stop growing at its bound.
    parser = PartialJSONParser()
    parser.feed('"')
    for i in range(3 * partial_json._DECODED_MAX_ENTRIES):
        parser.feed(f"{i}\\n")
    assert len(parser._decoded) == partial_json._DECODED_MAX_ENTRIES
    parser.feed("x" * 40 + "\\t")  # too long to be remembered, still decoded
    parser.feed('"')
    expected = "".join(f"{i}\n" for i in range(3 * partial_json._DECODED_MAX_ENTRIES))
    assert parser.close() == expected + "x" * 40 + "\t"


# --- depth --------------------------------------------------------------------------------------


def nested(depth: int, kinds: str = "[") -> tuple[str, int]:
    """A document nested ``depth`` levels deep (openers cycling through ``kinds``: ``[`` for an
    array, ``{`` for an object member), and the offset of its deepest opening bracket."""
    head = ""
    tail = ""
    deepest = 0
    for level in range(depth):
        deepest = len(head)
        if kinds[level % len(kinds)] == "[":
            head += "["
            tail = "]" + tail
        else:
            head += '{"k": '
            deepest = len(head) - 6
            tail = "}" + tail
    if depth and head.endswith(": "):
        head += "1"
    return head + tail, deepest


@pytest.mark.parametrize("kinds", ["[", "{", "[{"])
@pytest.mark.parametrize("depth", [1, 99, partial_json.MAX_JSON_DEPTH])
def test_nesting_up_to_the_limit_parses_like_json_loads(kinds: str, depth: int) -> None:
    text, _ = nested(depth, kinds)
    for chunks in ([text], list(text), [text[:depth], text[depth:]]):
        assert feed_all(chunks).close() == json.loads(text)


@pytest.mark.parametrize("kinds", ["[", "{", "[{"])
@pytest.mark.parametrize("depth", [partial_json.MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_nesting_past_the_limit_is_an_error_at_the_bracket_too_many(kinds: str, depth: int) -> None:
    text, _ = nested(depth, kinds)
    _, position = nested(partial_json.MAX_JSON_DEPTH + 1, kinds)  # the 101st bracket
    for chunks in ([text], [text[i : i + 7] for i in range(0, len(text), 7)]):
        with pytest.raises(PartialJSONError) as error:
            feed_all(chunks)
        assert error.value.msg == "nested deeper than 100 levels"
        assert error.value.pos == position


@given(
    depth=st.integers(1, 5)
    | st.integers(partial_json.MAX_JSON_DEPTH - 2, partial_json.MAX_JSON_DEPTH + 2),
    kinds=st.text(st.sampled_from("[{"), min_size=1, max_size=4),
    data=st.data(),
)
def test_any_split_of_a_deep_document_is_accepted_exactly_up_to_the_limit(
    depth: int, kinds: str, data: st.DataObject
) -> None:
    text, _ = nested(depth, kinds)
    chunks = data.draw(splits(text))
    if depth <= partial_json.MAX_JSON_DEPTH:
        assert canon(feed_all(chunks).close()) == canon(json.loads(text))
    else:
        with pytest.raises(PartialJSONError, match="nested deeper") as error:
            feed_all(chunks)
        assert error.value.pos == nested(partial_json.MAX_JSON_DEPTH + 1, kinds)[1]
