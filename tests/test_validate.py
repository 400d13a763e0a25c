"""validate_history and repair_history: the API's rules one by one, and repair always working."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import agentools._sendable
import agentools._validate
from agentools import History, HistoryError
from agentools._validate import (
    MISSING_TOOL_RESULT,
    HistoryProblem,
    repair_history,
    validate_history,
)
from agentools.messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolCallRecord,
    ToolMessage,
    UserMessage,
)
from agentools.partial_json import MAX_JSON_DEPTH


def call(call_id: str, name: str = "get_weather", arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def asks(*calls: Any, content: str | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


def answer(call_id: str, content: str = "sunny") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def user(content: Any = "hello") -> dict[str, Any]:
    return {"role": "user", "content": content}


def says(content: str = "done") -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def found(history: Any) -> list[tuple[int | None, str, str]]:
    return [(problem.index, problem.code, problem.message) for problem in validate_history(history)]


# --- valid histories --------------------------------------------------------------------------

VALID = {
    "empty": [],
    "plain chat": [{"role": "system", "content": "Be brief."}, user(), says()],
    "parallel calls answered out of order": [
        user(),
        asks(call("c1"), call("c2", "get_time"), call("c3")),
        answer("c3"),
        answer("c1"),
        answer("c2", "noon"),
        says("It is sunny at noon."),
    ],
    "tool calls with text, then text": [
        user(),
        asks(call("c1", arguments='{"city": "Paris"}'), content="Let me look."),
        answer("c1"),
        says(),
        says("Anything else?"),
    ],
    "consecutive user messages and content parts": [
        user(),
        user([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "u"}}]),
        user([]),
    ],
    "ends with a tool message": [user(), asks(call("c1")), answer("c1")],
    "system and developer messages anywhere": [
        user(),
        {"role": "developer", "content": "Answer in French."},
        asks(call("c1")),
        answer("c1"),
        {"role": "system", "content": "Be brief.", "name": "policy_v2"},
        says(),
    ],
    "the same id in a later assistant message": [
        asks(call("c1")),
        answer("c1"),
        asks(call("c1")),
        answer("c1"),
    ],
    "tool_calls as a tuple": [{**says(), "tool_calls": (call("c1"),)}, answer("c1")],
    "refusal only, empty content": [
        {"role": "assistant", "refusal": "I can't help with that."},
        says(""),
    ],
    "SDK dump with nulls": [
        user(),
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "audio": None,
            "function_call": None,
            "tool_calls": [call("c1")],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "x", "name": None},
        {"role": "user", "content": "x", "name": None},
    ],
}


@pytest.mark.parametrize("history", VALID.values(), ids=VALID.keys())
def test_valid_histories_have_no_problems_and_repair_unchanged(history: list[Any]) -> None:
    assert validate_history(history) == []
    assert repair_history(history) == history
    History.from_openai(history)


# --- each rule ----------------------------------------------------------------------------------

PROBLEMS = {
    "unanswered tool call": (
        [user(), asks(call("call_1"), call("call_2")), answer("call_2"), says()],
        [
            (
                1,
                "orphan-tool-call",
                "message 1 (assistant): tool call 'call_1' (get_weather) has no tool message"
                " answering it",
            )
        ],
    ),
    "unanswered tool call at the end": (
        [user(), asks(call("call_1"))],
        [
            (
                1,
                "orphan-tool-call",
                "message 1 (assistant): tool call 'call_1' (get_weather) has no tool message"
                " answering it",
            )
        ],
    ),
    "answer after a user message": (
        [asks(call("c1")), user(), answer("c1")],
        [
            (
                0,
                "orphan-tool-call",
                "message 0 (assistant): tool call 'c1' (get_weather) has no tool message"
                " answering it",
            ),
            (
                2,
                "tool-message-out-of-place",
                "message 2 (tool): answers 'c1', but does not follow an assistant message with"
                " tool_calls (it follows message 1 (user))",
            ),
        ],
    ),
    "system message between calls and answers": (
        [asks(call("c1")), {"role": "system", "content": "x"}, answer("c1")],
        [
            (
                0,
                "orphan-tool-call",
                "message 0 (assistant): tool call 'c1' (get_weather) has no tool message"
                " answering it",
            ),
            (
                2,
                "tool-message-out-of-place",
                "message 2 (tool): answers 'c1', but does not follow an assistant message with"
                " tool_calls (it follows message 1 (system))",
            ),
        ],
    ),
    "tool message first": (
        [answer("c1")],
        [
            (
                0,
                "tool-message-out-of-place",
                "message 0 (tool): answers 'c1', but does not follow an assistant message with"
                " tool_calls (no other message comes before it)",
            )
        ],
    ),
    "answer to another call": (
        [asks(call("c1")), answer("c1"), answer("c9")],
        [
            (
                2,
                "orphan-tool-message",
                "message 2 (tool): answers 'c9', which is not a tool call of message 0"
                " (the assistant message it follows)",
            )
        ],
    ),
    "answer to a call of an earlier block": (
        [asks(call("c1")), answer("c1"), asks(call("c2")), answer("c2"), answer("c1")],
        [
            (
                4,
                "orphan-tool-message",
                "message 4 (tool): answers 'c1', which is not a tool call of message 2"
                " (the assistant message it follows)",
            )
        ],
    ),
    "answered twice": (
        [asks(call("c1")), answer("c1"), answer("c1", "again")],
        [
            (
                2,
                "duplicate-tool-answer",
                "message 2 (tool): answers 'c1', which message 1 already answered",
            )
        ],
    ),
    "duplicate tool call id": (
        [asks(call("c1"), call("c1", "get_time")), answer("c1"), answer("c1")],
        [
            (
                0,
                "duplicate-tool-call-id",
                "message 0 (assistant): tool call id 'c1' is used by several calls",
            )
        ],
    ),
    "arguments not JSON": (
        [asks(call("c1", arguments='{"city": "Par')), answer("c1")],
        [
            (
                0,
                "arguments-not-json",
                "message 0 (assistant): tool call 'c1' (get_weather) has arguments that are not"
                " valid JSON (Unterminated string starting at: line 1 column 10 (char 9))",
            )
        ],
    ),
    "arguments NaN": (
        [asks(call("c1", arguments='{"x": NaN}')), answer("c1")],
        [
            (
                0,
                "arguments-not-json",
                "message 0 (assistant): tool call 'c1' (get_weather) has arguments that are not"
                " valid JSON (NaN is not JSON)",
            )
        ],
    ),
    "arguments not a string": (
        [asks({**call("c1"), "function": {"name": "f", "arguments": {"x": 1}}}), answer("c1")],
        [
            (
                0,
                "bad-tool-call",
                "message 0 (assistant): tool call 'c1' (f): function.arguments must be a JSON"
                " string, not dict",
            )
        ],
    ),
    "empty assistant": (
        [user(), {"role": "assistant", "content": None}],
        [(1, "empty-assistant", "message 1 (assistant): has no content, tool_calls or refusal")],
    ),
    "empty tool_calls": (
        [{"role": "assistant", "content": "hi", "tool_calls": []}],
        [
            (
                0,
                "empty-tool-calls",
                "message 0 (assistant): tool_calls is an empty list (leave it out when there are"
                " no tool calls)",
            )
        ],
    ),
    "bad tool call": (
        [asks({"id": "c1", "type": "function"}, 3), says()],
        [
            (0, "bad-tool-call", "message 0 (assistant): tool call 0 has no 'function' object"),
            (0, "bad-tool-call", "message 0 (assistant): tool call 1 must be an object, not int"),
            (
                0,
                "orphan-tool-call",
                "message 0 (assistant): tool call 'c1' has no tool message answering it",
            ),
        ],
    ),
    "non-function tool call": (
        [asks({**call("c1"), "type": "custom"}), answer("c1")],
        [
            (
                0,
                "bad-tool-call",
                "message 0 (assistant): tool call 0 has type 'custom'; only function tool calls"
                " are supported",
            )
        ],
    ),
    "bad tool name": (
        [asks(call("c1", "get weather")), answer("c1")],
        [
            (
                0,
                "bad-tool-name",
                "message 0 (assistant): tool call 'c1': function name 'get weather' has characters"
                " other than letters, digits, '_' and '-'",
            )
        ],
    ),
    "bad message name": (
        [{"role": "user", "content": "hi", "name": "Ada Lovelace"}],
        [
            (
                0,
                "bad-name",
                "message 0 (user): name 'Ada Lovelace' has characters other than letters, digits,"
                " '_' and '-'",
            )
        ],
    ),
    "unknown role": (
        [{"role": "robot", "content": "beep"}],
        [
            (
                0,
                "unknown-role",
                "message 0: unknown role 'robot' (expected one of system, developer, user,"
                " assistant, tool)",
            )
        ],
    ),
    "no role": (
        [{"content": "beep"}],
        [
            (
                0,
                "unknown-role",
                "message 0: unknown role None (expected one of system, developer, user,"
                " assistant, tool)",
            )
        ],
    ),
    "not an object": (
        [user(), "hello"],
        [(1, "not-an-object", "message 1: expected a message object, not str")],
    ),
    "unknown fields": (
        [{"role": "user", "content": "hi", "id": "m1", "timestamp": 3}],
        [
            (
                0,
                "unknown-field",
                "message 0 (user): unknown fields 'id', 'timestamp' for a user message",
            )
        ],
    ),
    "name on a tool message": (
        [asks(call("c1")), {**answer("c1"), "name": "get_weather"}],
        [(1, "unknown-field", "message 1 (tool): unknown field 'name' for a tool message")],
    ),
    "legacy function role": (
        [{"role": "function", "name": "f", "content": "x"}],
        [
            (
                0,
                "unsupported",
                "message 0 (function): the legacy 'function' role is not supported; use"
                " tool_calls and tool messages",
            )
        ],
    ),
    "legacy function_call": (
        [{"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}],
        [
            (
                0,
                "unsupported",
                "message 0 (assistant): the legacy 'function_call' field is not supported; use"
                " tool_calls",
            )
        ],
    ),
    "missing content": (
        [{"role": "user"}],
        [(0, "bad-content", "message 0 (user): has no content")],
    ),
    "user content of the wrong type": (
        [user(3)],
        [
            (
                0,
                "bad-content",
                "message 0 (user): content must be a string or a list of content parts (objects"
                " with a 'type'), not int",
            )
        ],
    ),
    "content parts without a type": (
        [user([{"text": "hi"}])],
        [
            (
                0,
                "bad-content",
                "message 0 (user): content must be a string or a list of content parts (objects"
                " with a 'type'), not list",
            )
        ],
    ),
    "system content parts": (
        [{"role": "system", "content": [{"type": "text", "text": "x"}]}],
        [(0, "bad-content", "message 0 (system): content must be a string, not list")],
    ),
    "tool message without tool_call_id": (
        [asks(call("c1")), {"role": "tool", "content": "x"}],
        [
            (
                0,
                "orphan-tool-call",
                "message 0 (assistant): tool call 'c1' (get_weather) has no tool message"
                " answering it",
            ),
            (1, "bad-field", "message 1 (tool): has no tool_call_id"),
        ],
    ),
    "refusal of the wrong type": (
        [{"role": "assistant", "content": "x", "refusal": 1}],
        [(0, "bad-field", "message 0 (assistant): refusal must be a string, not int")],
    ),
}


@pytest.mark.parametrize(("history", "expected"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_each_rule_is_reported(history: list[Any], expected: list[Any]) -> None:
    assert found(history) == expected
    assert validate_history(repair_history(history)) == []


def test_the_history_must_be_a_list() -> None:
    expected = [(None, "not-a-list", "the history must be a list of message objects, not dict")]
    assert found(user()) == expected
    assert repair_history(user()) == []  # type: ignore[arg-type]


def test_a_problem_reads_as_its_message_and_code() -> None:
    history: list[Any] = [user(), "x"]
    (problem,) = validate_history(history)
    assert problem == HistoryProblem(
        1, "not-an-object", "message 1: expected a message object, not str"
    )
    assert str(problem) == "message 1: expected a message object, not str [not-an-object]"


def test_a_history_object_is_checked_as_its_dicts() -> None:
    history = History(
        [
            UserMessage(content="hi"),
            AssistantMessage(tool_calls=(ToolCallRecord(id="c1", name="f", arguments="{"),)),
        ]
    )
    assert [problem.code for problem in validate_history(history)] == [
        "arguments-not-json",
        "orphan-tool-call",
    ]
    assert repair_history(history) == [
        user("hi"),
        {"role": "assistant", "tool_calls": [call("c1", "f", "{}")]},
        answer("c1", MISSING_TOOL_RESULT),
    ]


# --- repair -------------------------------------------------------------------------------------


def test_missing_answers_go_after_the_existing_ones() -> None:
    history = [
        user(),
        asks(call("c1"), call("c2"), call("c3")),
        answer("c2"),
        user("next"),
        asks(call("c4")),
    ]
    assert repair_history(history) == [
        user(),
        asks(call("c1"), call("c2"), call("c3")),
        answer("c2"),
        answer("c1", MISSING_TOOL_RESULT),
        answer("c3", MISSING_TOOL_RESULT),
        user("next"),
        asks(call("c4")),
        answer("c4", MISSING_TOOL_RESULT),
    ]


def test_stray_and_repeated_answers_are_dropped() -> None:
    history = [
        answer("c0"),
        asks(call("c1")),
        answer("c1", "first"),
        answer("c9"),
        answer("c1", "second"),
        says(),
        answer("c1", "late"),
    ]
    assert repair_history(history) == [asks(call("c1")), answer("c1", "first"), says()]


def test_bad_arguments_become_an_empty_object() -> None:
    history = [
        asks(call("c1", arguments="{'city': 'Paris'}"), call("c2", arguments="")),
        answer("c1"),
        answer("c2"),
    ]
    assert repair_history(history) == [
        asks(call("c1"), call("c2")),
        answer("c1"),
        answer("c2"),
    ]


def test_repeated_call_ids_are_made_distinct_and_answered_in_order() -> None:
    history = [
        asks(call("c1", "a"), call("c1", "b"), call("c1", "c")),
        answer("c1", "A"),
        answer("c1", "B"),
    ]
    assert repair_history(history) == [
        asks(call("c1", "a"), call("c1_2", "b"), call("c1_3", "c")),
        answer("c1", "A"),
        answer("c1_2", "B"),
        answer("c1_3", MISSING_TOOL_RESULT),
    ]


def test_a_suffix_never_takes_an_id_already_used() -> None:
    history = [
        asks(call("c1"), call("c1"), call("c1_2")),
        answer("c1"),
        answer("c1"),
        answer("c1_2"),
    ]
    repaired = repair_history(history)
    assert [c["id"] for c in repaired[0]["tool_calls"]] == ["c1", "c1_3", "c1_2"]
    assert validate_history(repaired) == []


def test_unreadable_messages_are_dropped_and_fields_cleaned() -> None:
    history: list[Any] = [
        {"role": "robot", "content": "beep"},
        {"role": "function", "name": "f", "content": "x"},
        7,
        {"role": "user"},
        {"role": "system", "content": [{"type": "text", "text": "x"}]},
        {"role": "user", "content": "hi", "name": "Ada Lovelace", "id": "m1", "extra": None},
        {"role": "assistant", "content": "ok", "refusal": 3, "function_call": {"name": "f"}},
        {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "assistant", "content": None, "tool_calls": []},
        asks(call("c1", "get weather"), {"id": "c2"}, call("c3", " ")),
        {"role": "tool", "tool_call_id": "c1", "content": 5},
    ]
    assert repair_history(history) == [
        {"role": "user", "content": "hi", "name": "Ada_Lovelace", "extra": None},
        {"role": "assistant", "content": "ok"},
        asks(call("c1", "get_weather"), call("c3", "_")),
        answer("c1", MISSING_TOOL_RESULT),
        answer("c3", MISSING_TOOL_RESULT),
    ]


def test_a_bad_message_between_calls_and_answers_is_dropped_not_a_barrier() -> None:
    history = [asks(call("c1")), {"role": "user"}, answer("c1")]
    assert repair_history(history) == [asks(call("c1")), answer("c1")]


def test_repair_copies() -> None:
    history = [user([{"type": "text", "text": "hi"}]), asks(call("c1")), answer("c1")]
    before = copy.deepcopy(history)
    repaired = repair_history(history)
    repaired[0]["content"][0]["text"] = "changed"
    repaired[1]["tool_calls"][0]["function"]["name"] = "changed"
    assert history == before


# --- text UTF-8 cannot encode ------------------------------------------------------------------

LONE = "\udcff"  # os.fsdecode(b"\xff"): a file name that is not UTF-8
# Joined from a list: st.text() leaves surrogates out of an alphabet that is a union.
surrogate_texts = st.lists(
    st.characters(categories=["Cs"]) | st.sampled_from(["\ud83d", "\ude00"]) | st.characters(),
    max_size=8,
).map("".join)
HALVES = "\ud83d\ude00"  # an emoji's pair, written as two halves by split \uXXXX escapes

SURROGATES = {
    "user content": (
        [user(f"open {LONE}.txt")],
        "message 0 (user): content has a lone surrogate ('\\udcff' at character 5), which UTF-8"
        " cannot encode",
        [user("open \ufffd.txt")],
    ),
    "a content part's text": (
        [user([{"type": "text", "text": "ok"}, {"type": "text", "text": f"hi {HALVES}"}])],
        "message 0 (user): content[1].text has a lone surrogate ('\\ud83d' at character 3),"
        " which UTF-8 cannot encode",
        [user([{"type": "text", "text": "ok"}, {"type": "text", "text": "hi 😀"}])],
    ),
    "assistant content": (
        [says(f"x{HALVES}{LONE}")],
        "message 0 (assistant): content has a lone surrogate ('\\ud83d' at character 1), which"
        " UTF-8 cannot encode",
        [says("x😀\ufffd")],
    ),
    "a refusal": (
        [{"role": "assistant", "refusal": f"no {LONE}"}],
        "message 0 (assistant): refusal has a lone surrogate ('\\udcff' at character 3), which"
        " UTF-8 cannot encode",
        [{"role": "assistant", "refusal": "no \ufffd"}],
    ),
    "a system message": (
        [{"role": "system", "content": LONE}],
        "message 0 (system): content has a lone surrogate ('\\udcff' at character 0), which"
        " UTF-8 cannot encode",
        [{"role": "system", "content": "\ufffd"}],
    ),
    "tool call arguments": (
        [asks(call("c1", arguments=json.dumps({"path": LONE}, ensure_ascii=False))), answer("c1")],
        "message 0 (assistant): tool_calls[0].function.arguments has a lone surrogate ('\\udcff'"
        " at character 10), which UTF-8 cannot encode",
        [asks(call("c1", arguments='{"path": "\ufffd"}')), answer("c1")],
    ),
    "a tool's result": (
        [asks(call("c1")), answer("c1", f"listed {LONE}")],
        "message 1 (tool): content has a lone surrogate ('\\udcff' at character 7), which UTF-8"
        " cannot encode",
        [asks(call("c1")), answer("c1", "listed \ufffd")],
    ),
}


@pytest.mark.parametrize(("history", "says", "repaired"), SURROGATES.values(), ids=SURROGATES)
def test_text_utf8_cannot_encode_is_reported_and_repaired(
    history: list[Any], says: str, repaired: list[Any]
) -> None:
    with pytest.raises(UnicodeEncodeError):
        json.dumps(history, ensure_ascii=False).encode()  # what the SDK does with a request

    (problem,) = validate_history(history)
    assert (problem.code, problem.message) == ("lone-surrogate", says)
    assert repair_history(history) == repaired
    json.dumps(repaired, ensure_ascii=False).encode()
    assert validate_history(repaired) == []
    History.from_openai(repaired)


def test_a_call_id_with_a_lone_surrogate_still_pairs_with_its_answer() -> None:
    history = [asks(call(f"c{LONE}"), call(f"d{HALVES}")), answer(f"d{HALVES}"), answer(f"c{LONE}")]

    assert [code for _, code, _ in found(history)] == ["lone-surrogate"] * 4
    assert repair_history(history) == [
        asks(call("c\ufffd"), call("d😀")),
        answer("d😀"),
        answer("c\ufffd"),
    ]


def test_a_name_with_a_lone_surrogate_breaks_the_name_rule_once() -> None:
    history = [{**user(), "name": f"Ada{LONE}"}, asks(call("c1", f"get{LONE}")), answer("c1")]

    assert [code for _, code, _ in found(history)] == ["bad-name", "bad-tool-name"]
    assert repair_history(history) == [
        {**user(), "name": "Ada_"},
        asks(call("c1", "get_")),
        answer("c1"),
    ]


def test_problems_quote_lone_surrogates_as_escapes() -> None:
    history = [asks(call(f"c{LONE}", f"f{LONE}", "{")), answer(f"x{LONE}")]
    problems = validate_history(history)
    assert len(problems) == 6
    for problem in problems:
        str(problem).encode()  # printable, written to a log, whatever it quotes
    assert any("tool call 'c\\udcff' (f\\udcff)" in problem.message for problem in problems)


@given(
    st.lists(
        st.sampled_from([user, says, lambda text: answer("c1", text)]).flatmap(
            lambda make: surrogate_texts.map(make)
        ),
        max_size=5,
    )
)
def test_repaired_histories_can_always_be_sent(messages: list[dict[str, Any]]) -> None:
    history = [asks(call("c1")), *messages]
    cannot_send = False
    try:
        json.dumps(history, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        cannot_send = True

    assert cannot_send == (
        "lone-surrogate" in {problem.code for problem in validate_history(history)}
    )
    repaired = repair_history(history)
    json.dumps(repaired, ensure_ascii=False).encode()
    assert validate_history(repaired) == []


# --- nesting ------------------------------------------------------------------------------------

DEPTH = MAX_JSON_DEPTH


def nest(levels: int, leaf: Any = "x") -> Any:
    """``leaf`` inside ``levels`` arrays and objects, in turn."""
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [DEPTH - 1, DEPTH])
def test_arguments_nested_up_to_the_limit_are_json(depth: int) -> None:
    history = [asks(call("c1", arguments="[" * depth + "]" * depth)), answer("c1")]
    assert validate_history(history) == []
    assert repair_history(history) == history


@pytest.mark.parametrize("depth", [DEPTH + 1, 1000, 10_000])
def test_arguments_nested_deeper_are_not(depth: int) -> None:
    history = [asks(call("c1", arguments="[" * depth + "]" * depth)), answer("c1")]

    assert found(history) == [
        (
            0,
            "arguments-not-json",
            "message 0 (assistant): tool call 'c1' (get_weather) has arguments that are not valid"
            " JSON (nested deeper than 100 levels at position 100)",
        )
    ]
    assert repair_history(history) == [asks(call("c1")), answer("c1")]


def part(levels: int) -> dict[str, Any]:
    """A content part that makes its user message nested ``levels`` deep in all."""
    return {"type": "text", "text": "hi", "extra": nest(levels - 3)}


def test_a_message_nested_up_to_the_limit_is_valid() -> None:
    history = [user([part(DEPTH)])]
    assert validate_history(history) == []
    assert repair_history(history) == history
    assert History.from_openai(history).to_openai() == history


cyclic_part: dict[str, Any] = {"type": "text", "text": "me"}
cyclic_part["self"] = cyclic_part
deep_key: Any = ()
for _ in range(10_000):
    deep_key = (deep_key,)

TOO_DEEP = {
    "a content part one level too deep": user([part(DEPTH + 1)]),
    "a content part 10,000 deep": user([part(10_000)]),
    "a cyclic content part": user([cyclic_part]),
    "a deep unknown field": {**says(), "extra": nest(10_000)},
    "a deep role": {"role": nest(10_000)},
    "a deep name": {**user(), "name": nest(10_000)},
    "deep tool calls": {"role": "assistant", "tool_calls": nest(10_000)},
    "a deep key": {**user(), deep_key: 1},
}


@pytest.mark.parametrize("message", TOO_DEEP.values(), ids=TOO_DEEP)
def test_a_message_nested_too_deep_is_described_and_dropped(message: Any) -> None:
    history = [user("before"), message, says("after")]

    ((index, code, text),) = found(history)
    assert (index, code) == (1, "too-deep")
    assert text in {
        "message 1: cannot be sent as JSON: nested deeper than 100 levels",
        "message 1: cannot be sent as JSON: contains itself",
    }
    assert repair_history(history) == [user("before"), says("after")]
    with pytest.raises(HistoryError, match="message 1: cannot be sent as JSON"):
        History.from_openai(history)


def test_deep_lists_as_messages_or_as_the_history_are_described() -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    assert found([deep]) == [(0, "not-an-object", "message 0: expected a message object, not list")]
    assert repair_history([deep]) == []
    assert found(deep) == [(0, "not-an-object", "message 0: expected a message object, not list")]
    assert [code for _, code, _ in found([nest(9_999)])] == ["too-deep"]  # a dict: a message


def test_a_history_object_holding_a_part_too_deep_is_described() -> None:
    history = History([UserMessage(content=[part(10_000)]), UserMessage(content=[cyclic_part])])
    assert [(index, code) for index, code, _ in found(history)] == [
        (0, "too-deep"),
        (1, "too-deep"),
    ]
    assert repair_history(history) == []


@st.composite
def deeply_nested(draw: st.DrawFn) -> Any:
    """Arrays and objects nested around the limit or far past it, or a cycle."""
    if draw(st.integers(0, 3)) == 0:
        loop: list[Any] = [draw(json_values)]
        loop.append(nest(draw(st.integers(0, 3)), loop))
        return loop
    levels = draw(st.sampled_from([DEPTH - 5, DEPTH - 2, DEPTH + 1, 5_000]))
    return nest(levels, draw(json_values))


@st.composite
def with_deep_parts(draw: st.DrawFn) -> list[Any]:
    """A conversation with deep or cyclic values in a few places: as messages, or in fields
    (content, a content part, an unknown field, the role, tool calls, a tool call's arguments)."""
    messages: list[Any] = draw(mutated()) or [user()]
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(messages) - 1))
        target = messages[index]
        value = draw(deeply_nested())
        place = draw(
            st.sampled_from(
                ["message", "content", "part", "extra", "role", "tool_calls", "arguments"]
            )
        )
        if place == "message" or not isinstance(target, dict):
            messages[index] = value
        elif place == "part":
            target["content"] = [{"type": "text", "text": "x", "extra": value}]
        elif place == "arguments":
            levels = draw(st.sampled_from([DEPTH, DEPTH + 1, 5_000]))
            target["tool_calls"] = [call("c9", arguments="[" * levels + "]" * levels)]
        else:
            target[place] = value
    return messages


@given(with_deep_parts())
def test_deep_and_cyclic_histories_are_described_and_repaired(messages: list[Any]) -> None:
    problems = validate_history(messages)
    repaired = repair_history(messages)
    assert validate_history(repaired) == []
    assert repair_history(repaired) == repaired
    History.from_openai(repaired).to_json()
    if any(problem.code == "too-deep" for problem in problems):
        with pytest.raises(HistoryError):
            History.from_openai(messages)
    elif not problems:
        History.from_openai(messages)


# --- repeated ids -------------------------------------------------------------------------------


def test_repeated_ids_are_made_distinct_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # 8,000 calls sharing an id took 10.6 s: each repeat tried every suffix from 2 again.
    made: list[str] = []
    suffixed = agentools._sendable._suffixed

    def counted(call_id: str, suffix: int) -> str:
        made.append(call_id)
        return suffixed(call_id, suffix)

    monkeypatch.setattr(agentools._sendable, "_suffixed", counted)
    n = 4_000
    taken = [f"c_{k}" for k in range(2, n, 2)]  # every other suffix is taken already
    history = [asks(*(call(i) for i in ["c"] * n + taken)), *(answer(i) for i in ["c"] * n + taken)]

    repaired = repair_history(history)

    assert len(made) <= 2 * n
    ids = [c["id"] for c in repaired[0]["tool_calls"]]
    assert len(set(ids)) == len(ids)
    # The repeats take the free suffixes in order: the odd ones up to n, then all.
    assert ids[:4] == ["c", "c_3", "c_5", "c_7"]
    assert ids[n - 1] == f"c_{n + n // 2 - 1}"
    assert [m["tool_call_id"] for m in repaired[1:]] == ids
    assert validate_history(repaired) == []


# --- properties ---------------------------------------------------------------------------------

call_ids = st.sampled_from(["call_1", "call_2", "call_3", "c4"])
tool_names = st.from_regex(r"[a-zA-Z0-9_-]{1,10}", fullmatch=True)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
good_arguments = st.dictionaries(st.text(max_size=5), json_values, max_size=3).map(json.dumps)
bad_arguments = st.sampled_from(["", "{", "{'a': 1}", '{"a": NaN}', "[1,]", "nul"])
texts = st.text(max_size=10)


@st.composite
def tool_call_dicts(
    draw: st.DrawFn, ids: st.SearchStrategy[str] = call_ids, *, valid: bool = False
) -> dict[str, Any]:
    if valid:
        return call(draw(ids), draw(tool_names), draw(good_arguments))
    arguments = draw(good_arguments | bad_arguments)
    name = draw(tool_names | st.sampled_from(["get weather", "", "é"]))
    return call(draw(ids), name, arguments)


roles = st.sampled_from(["system", "developer", "user", "assistant", "tool"])
plain_messages = st.one_of(
    st.builds(
        lambda role, text: {"role": role, "content": text},
        st.sampled_from(["system", "developer", "user"]),
        texts,
    ),
    st.builds(says, texts),
    st.builds(answer, call_ids, texts),
    st.builds(
        lambda calls, text: asks(*calls, content=text),
        st.lists(tool_call_dicts(), min_size=1, max_size=3),
        st.none() | texts,
    ),
)
broken_calls = st.fixed_dictionaries(
    {},
    optional={
        "id": call_ids | json_values,
        "type": st.just("function") | json_values,
        "function": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "name": tool_names | json_values,
                "arguments": good_arguments | bad_arguments | json_values,
                "id": call_ids,
            },
        ),
    },
)
content_parts = st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": texts}) | json_values, max_size=2
)
message_ish = st.fixed_dictionaries(
    {"role": roles | st.sampled_from(["robot", "function", "", "Tool"]) | json_values},
    optional={
        "content": texts | content_parts | json_values,
        "name": tool_names | st.sampled_from(["Ada Lovelace", ""]) | json_values,
        "tool_calls": st.lists(tool_call_dicts() | broken_calls, max_size=3)
        | st.just([])
        | json_values,
        "tool_call_id": call_ids | json_values,
        "refusal": texts | json_values,
        "function_call": json_values,
        "audio": json_values,
    },
)
"""A message of any role whose fields may each be missing, plausible, or anything at all."""
broken_messages = json_values | message_ish


@st.composite
def conversations(draw: st.DrawFn, *, valid: bool = False) -> list[dict[str, Any]]:
    """Prompts, rounds of tool calls answered in any order, answers; valid, or with calls whose
    arguments or names may be bad."""
    messages: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        messages.append(user(draw(texts)))
        for round_number in range(draw(st.integers(0, 2))):
            count = draw(st.integers(1, 3))
            ids = [f"call_{round_number}_{i}" for i in range(count)]
            messages.append(
                asks(
                    *(draw(tool_call_dicts(st.just(i), valid=valid)) for i in ids),
                    content=draw(st.none() | texts),
                )
            )
            messages.extend(answer(i, draw(texts)) for i in draw(st.permutations(ids)))
        messages.append(says(draw(texts)))
    return messages


@st.composite
def mutated(draw: st.DrawFn) -> list[Any]:
    """A conversation after a few random edits of the kinds that poison real histories."""
    messages: list[Any] = draw(conversations())
    for _ in range(draw(st.integers(0, 4))):
        edit = draw(st.sampled_from(["drop", "duplicate", "swap", "insert", "insert broken"]))
        if edit.startswith("insert"):
            position = draw(st.integers(0, len(messages)))
            new = draw(broken_messages if edit == "insert broken" else plain_messages)
            messages.insert(position, new)
        elif messages:
            i = draw(st.integers(0, len(messages) - 1))
            j = draw(st.integers(0, len(messages) - 1))
            if edit == "drop":
                del messages[i]
            elif edit == "duplicate":
                messages.insert(j, copy.deepcopy(messages[i]))
            else:
                messages[i], messages[j] = messages[j], messages[i]
    return messages


@given(mutated() | st.lists(plain_messages | broken_messages, max_size=8))
def test_repair_always_gives_a_valid_history(messages: list[Any]) -> None:
    before = copy.deepcopy(messages)
    repaired = repair_history(messages)
    assert messages == before
    assert validate_history(repaired) == []
    assert repair_history(repaired) == repaired
    assert History.from_openai(repaired).to_openai() == [
        {key: value for key, value in message.items() if value is not None} for message in repaired
    ]


@given(conversations(valid=True))
def test_generated_conversations_are_valid_and_kept(messages: list[dict[str, Any]]) -> None:
    assert validate_history(messages) == []
    assert repair_history(messages) == messages


names = st.none() | tool_names
histories = st.lists(
    st.one_of(
        st.builds(SystemMessage, content=texts, name=names),
        st.builds(DeveloperMessage, content=texts, name=names),
        st.builds(
            UserMessage,
            content=texts
            | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), max_size=2),
            name=names,
        ),
        st.builds(AssistantMessage, content=texts, refusal=st.none() | texts, name=names),
    ),
    max_size=3,
)


@st.composite
def agentools_histories(draw: st.DrawFn) -> History:
    """What agentools itself writes: prompts, whole rounds of tool calls with all their answers."""
    messages: list[Message] = []
    for round_number in range(draw(st.integers(0, 3))):
        messages.extend(draw(histories))
        ids = [f"call_{round_number}_{i}" for i in range(draw(st.integers(1, 4)))]
        calls = tuple(
            ToolCallRecord(id=i, name=draw(tool_names), arguments=draw(good_arguments)) for i in ids
        )
        messages.append(AssistantMessage(content=draw(st.none() | texts), tool_calls=calls))
        messages.extend(
            ToolMessage(tool_call_id=i, content=draw(texts)) for i in draw(st.permutations(ids))
        )
    messages.extend(draw(histories))
    return History(messages)


@given(agentools_histories())
def test_agentools_histories_are_valid_and_kept(history: History) -> None:
    assert validate_history(history) == []
    assert repair_history(history) == history.to_openai()
    assert repair_history(history.to_openai()) == history.to_openai()


@given(st.lists(json_values | message_ish, max_size=6) | json_values)
def test_validate_never_raises_and_agrees_with_the_converter(messages: Any) -> None:
    problems = validate_history(messages)
    assert all(isinstance(problem, HistoryProblem) for problem in problems)
    assert all(problem.message and problem.code for problem in problems)
    if not problems and isinstance(messages, list):
        History.from_openai(messages)  # what validates clean, agentools reads
