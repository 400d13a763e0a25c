"""The step of constrained tool calling (``tool_mode="json"``), read as it streams: the pieces
``StepReader`` routes are exactly the step's own text, however the stream cuts it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentools import ModelProtocolError, function_tool
from agentools._adapters.json_steps import MAX_STEP_CALLS, render_messages, step_format
from agentools._adapters.step_reading import StepReader
from agentools.testing import split_at

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_arguments = st.dictionaries(st.text(max_size=6), _json, max_size=4)
_calls = st.lists(
    st.fixed_dictionaries(
        {"name": st.from_regex(r"[a-z_]{1,10}", fullmatch=True), "arguments": _arguments}
    ),
    min_size=1,
    max_size=3,
)


def read(text: str, cuts: list[int]) -> tuple[list[str], dict[int, list[tuple[str, str]]], Any]:
    texts: list[str] = []
    calls: dict[int, list[tuple[str, str]]] = {}
    reader = StepReader(
        texts.append, lambda i, name, piece: calls.setdefault(i, []).append((name, piece))
    )
    for piece in split_at(text, [cut for cut in cuts if cut <= len(text)]):
        reader.feed(piece)
    return texts, calls, reader.finish()


@given(
    calls=_calls,
    indent=st.sampled_from([None, 0, 2]),
    cuts=st.lists(st.integers(0, 400), max_size=12),
    name_last=st.booleans(),
)
def test_each_calls_arguments_arrive_as_written_and_its_name_first(
    calls: list[dict[str, Any]], indent: int | None, cuts: list[int], name_last: bool
) -> None:
    """The grammar writes a call's name first; written after its arguments (no grammar kept
    the order), the arguments wait for it."""
    if name_last:
        calls = [{"arguments": c["arguments"], "name": c["name"]} for c in calls]
    else:
        calls = [{"name": c["name"], "arguments": c["arguments"]} for c in calls]
    text = json.dumps({"tool_calls": calls}, indent=indent, ensure_ascii=False)

    texts, seen, step = read(text, cuts)

    assert texts == []
    assert step == {"tool_calls": calls}
    assert sorted(seen) == list(range(len(calls)))
    for index, call in enumerate(calls):
        (first_name, first_piece), *rest = seen[index]
        assert (first_name, first_piece) == (call["name"], "")  # the name, before any argument
        written = "".join(piece for _, piece in rest)
        assert json.loads(written) == call["arguments"]
        assert written in text  # the very text the model wrote
        assert all(name == call["name"] for name, _ in rest)


@given(
    answer=st.text(max_size=60),
    cuts=st.lists(st.integers(0, 200), max_size=12),
    ascii_only=st.booleans(),
)
def test_the_answer_arrives_decoded_piece_by_piece(
    answer: str, cuts: list[int], ascii_only: bool
) -> None:
    text = json.dumps({"answer": answer}, ensure_ascii=ascii_only)

    texts, calls, step = read(text, cuts)

    assert "".join(texts) == answer
    assert all(texts)
    assert calls == {}
    assert step == {"answer": answer}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"tool_calls": [{"name": "f", "arguments": {"a": 1}}', "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"thoughts": "hmm"}', "neither tool_calls nor an answer"),
        ('{"tool_calls": [{"arguments": {}}]}', "not calls"),
    ],
)
def test_what_is_not_a_step_is_the_models_fault(text: str, says: str) -> None:
    with pytest.raises(ModelProtocolError, match=says):
        read(text, [])


@function_tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """Get the weather in a city."""
    return city


def test_the_step_schema_offers_each_tool_with_its_own_arguments_or_an_answer() -> None:
    schema = step_format([get_weather.signature], offer_tools=True)["json_schema"]["schema"]
    calls, answer = schema["anyOf"]
    (call,) = calls["properties"]["tool_calls"]["items"]["anyOf"]
    assert call["properties"]["name"] == {"const": "get_weather"}
    assert call["properties"]["arguments"] == get_weather.signature.parameters
    assert list(call["properties"]) == ["name", "arguments"]  # the name is written first
    assert answer["required"] == ["answer"]
    assert calls["properties"]["tool_calls"]["maxItems"] == MAX_STEP_CALLS
    only = step_format([get_weather.signature], offer_tools=False)["json_schema"]["schema"]
    assert only["required"] == ["answer"]
    assert "anyOf" not in only


def test_the_history_is_sent_as_text_a_model_without_tools_reads() -> None:
    history = [
        {"role": "user", "content": "Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "b",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "b", "content": "rain"},
        {"role": "assistant", "content": "Sunny, then rain."},
    ]

    assert render_messages(history) == [
        history[0],
        {
            "role": "assistant",
            "content": json.dumps(
                {
                    "tool_calls": [
                        {"name": "get_weather", "arguments": {"city": "Paris"}},
                        {"name": "get_weather", "arguments": {"city": "Rome"}},
                    ]
                }
            ),
        },
        {"role": "user", "content": "Result of get_weather: sunny\nResult of get_weather: rain"},
        history[4],
    ]
