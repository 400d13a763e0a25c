"""History: conversion to the API's message dicts and a lossless JSON round trip."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessageParam

from agentools import AgentoolsError, History, HistoryError, repair_history
from agentools.messages import (
    AssistantMessage,
    DeveloperMessage,
    SystemMessage,
    ToolCallRecord,
    ToolMessage,
    UserMessage,
)

text = st.text(max_size=30)
names = st.none() | st.from_regex(r"[a-zA-Z0-9_-]{1,12}", fullmatch=True)
json_arguments = st.dictionaries(
    st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8), max_size=3
).map(json.dumps)
tool_calls = st.builds(
    ToolCallRecord,
    id=st.from_regex(r"call_[a-z0-9]{1,8}", fullmatch=True),
    name=text,
    arguments=json_arguments,
)
content_parts = st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": text}), min_size=1, max_size=3
)
messages = st.one_of(
    st.builds(SystemMessage, content=text, name=names),
    st.builds(DeveloperMessage, content=text, name=names),
    st.builds(UserMessage, content=text | content_parts, name=names),
    st.builds(
        AssistantMessage,
        content=st.none() | text,
        tool_calls=st.lists(tool_calls, max_size=3).map(tuple),
        refusal=st.none() | text,
        name=names,
    ),
    st.builds(
        ToolMessage, tool_call_id=st.from_regex(r"call_[a-z0-9]{1,8}", fullmatch=True), content=text
    ),
)
histories = st.lists(messages, max_size=8).map(History)

_API_MESSAGES = pydantic.TypeAdapter(list[ChatCompletionMessageParam])


@given(histories)
def test_json_round_trip_is_lossless(history: History) -> None:
    assert History.from_json(history.to_json()) == history


@given(histories)
def test_to_openai_is_what_the_sdk_accepts_and_reads_back(history: History) -> None:
    dicts = history.to_openai()
    _API_MESSAGES.validate_python(dicts)  # the SDK's own request types accept every message
    assert History.from_openai(dicts) == history
    assert all(value is not None for message in dicts for value in message.values())


def test_sdk_dumps_with_nulls_are_read() -> None:
    dumped = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "audio": None,
        "function_call": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    (message,) = History.from_openai([dumped])
    assert message == AssistantMessage(
        tool_calls=(ToolCallRecord(id="c1", name="f", arguments="{}"),)
    )


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"role": "robot", "content": "x"}, "unknown role 'robot'"),
        ({"role": "user"}, "user.content: missing required field"),
        (
            {"role": "user", "content": 3},
            "user.content: expected a string or a list of content parts (objects with a 'type'),"
            " got 3",
        ),
        ({"role": "tool", "content": "x"}, "tool.tool_call_id: missing required field"),
        ({"role": "system", "content": ["x"]}, "system.content: expected a string, got an array"),
        (
            {"role": "tool", "tool_call_id": "a", "content": "x", "colour": "red"},
            "tool.colour: unknown field",
        ),
        ({"role": "assistant", "tool_calls": "abc"}, "assistant.tool_calls: expected an array"),
        (
            {"role": "assistant", "tool_calls": [{"id": "c"}]},
            "assistant.tool_calls[0]: a tool call needs a 'function' object",
        ),
        ("not a dict", "expected a dict"),
    ],
)
def test_bad_messages_are_named(bad: Any, says: str) -> None:
    with pytest.raises(HistoryError) as caught:
        History.from_openai([{"role": "user", "content": "fine"}, bad])
    assert str(caught.value).startswith("message 1: ")
    assert says in str(caught.value)
    assert isinstance(caught.value, AgentoolsError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("text", ["{", "{}", '"x"'])
def test_from_json_needs_a_json_list(text: str) -> None:
    with pytest.raises(HistoryError):
        History.from_json(text)


# --- what no request can carry ------------------------------------------------------------------


def test_to_json_can_always_be_written_as_utf8() -> None:
    # A History made by hand can hold lone surrogates (validate_history reports them): its JSON
    # text writes them as escapes, so that saving it to a file does not fail.
    history = History(
        [UserMessage(content="open \udcff.txt"), AssistantMessage(content="\ud83d\ude00 done")]
    )

    text = history.to_json()

    text.encode("utf-8")
    assert "\\udcff" in text
    assert json.loads(text) == [
        {"role": "user", "content": "open \udcff.txt"},
        {"role": "assistant", "content": "😀 done"},  # the halves of a pair come back joined
    ]
    assert (
        History(list(history)[1:]).to_json()
        == '[{"role": "assistant", "content": "\\ud83d\\ude00 done"}]'
    )


def test_lone_surrogates_are_refused_on_the_way_in_and_repair_reads_them() -> None:
    stored = json.dumps([{"role": "user", "content": "ls: \udcff"}])

    with pytest.raises(HistoryError) as caught:
        History.from_json(stored)

    assert str(caught.value) == (
        "message 0: content has a lone surrogate ('\\udcff' at character 4), which UTF-8 cannot"
        " encode (repair_history replaces it)"
    )
    str(caught.value).encode("utf-8")
    (message,) = History.from_openai(repair_history(json.loads(stored)))
    assert message == UserMessage(content="ls: \ufffd")


@pytest.mark.parametrize("depth", [101, 1000, 100_000])
def test_json_nested_too_deep_is_a_history_error(depth: int) -> None:
    content = "[" * depth + "]" * depth
    text = f'[{{"role": "user", "content": [{{"type": "text", "deep": {content}}}]}}]'

    with pytest.raises(HistoryError, match="nested deeper than 100 levels"):
        History.from_json(text)


def test_a_cyclic_message_is_a_history_error() -> None:
    part: dict[str, Any] = {"type": "text", "text": "x"}
    part["again"] = [part]
    with pytest.raises(HistoryError, match="message 0: cannot be sent as JSON: contains itself"):
        History.from_openai([{"role": "user", "content": [part]}])


@pytest.mark.parametrize("text", [None, 3, ["[]"]])
def test_from_json_needs_text(text: Any) -> None:
    with pytest.raises(HistoryError, match="expected JSON text"):
        History.from_json(text)


def test_content_parts_are_the_history_s_own() -> None:
    parts = [{"type": "text", "text": "hi", "meta": {"tags": ["a"]}}]
    history = History([UserMessage(content=parts)])

    given = history.to_openai()
    given[0]["content"][0]["meta"]["tags"].append("changed")

    assert history.to_openai()[0]["content"] == [
        {"type": "text", "text": "hi", "meta": {"tags": ["a"]}}
    ]
