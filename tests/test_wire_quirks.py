"""What real OpenAI-compatible servers send that OpenAI does not, under both runners.

Each quirk is reproduced on the loopback server with the wire objects a server of that kind sends
(``Turn(raw=[...])``); the answer, the hooks and the stored history must be what the same answer
sent OpenAI's way gives. Where the openai SDK's own stream helper has a rule for a case
(``openai/lib/streaming``), agentools follows it, and says where it does not.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentools import History, function_tool, validate_history
from agentools.hooks import RecordingHooks
from agentools.testing import FakeOpenAIServer, Turn, split_at

from .support import Bot, Runner, raw_chunk


@function_tool
def echo(word: str) -> str:
    """Say a word back."""
    return word


def call(
    index: int | None, *, id: str | None = None, name: str = "", arguments: str = "", **own: Any
) -> dict[str, Any]:
    delta: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if index is not None:
        delta["index"] = index
    if id is not None:
        delta["id"] = id
    return raw_chunk({"tool_calls": [{**delta, **own}]})


def finish(reason: str = "tool_calls") -> dict[str, Any]:
    return raw_chunk({}, reason)


def _said(server: FakeOpenAIServer) -> list[tuple[str, str]]:
    """The tool messages the second request sent: (call id, content)."""
    return [
        (m["tool_call_id"], m["content"])
        for m in server.requests[1].body["messages"]
        if m["role"] == "tool"
    ]


def test_index_0_reused_for_a_second_call_with_its_own_id(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """Gemini's compatible endpoint and some proxies number every call 0; a new id says a new
    call began (the SDK's helper would append the second call's arguments to the first's)."""
    server.add(
        Turn(
            raw=[
                call(0, id="a", name="echo", arguments='{"word": '),
                call(0, arguments='"one"}'),
                call(0, id="b", name="echo", arguments='{"word": "two"}'),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[echo], hooks=hooks)

    assert runner.run(assistant, "go") == "done"

    assert _said(server) == [("a", "one"), ("b", "two")]
    assert [c.index for (c,) in hooks.args_of("on_tool_call")] == [0, 1]
    assert validate_history(assistant.history.to_openai()) == []


def test_index_0_reused_without_ids_each_call_whole(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """Each call whole in one delta, all at index 0, no ids: a name with new arguments after
    arguments that are whole JSON is another call."""
    server.add(
        Turn(
            raw=[
                call(0, name="echo", arguments='{"word": "one"}'),
                call(0, name="echo", arguments='{"word": "two"}'),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[echo])

    assert runner.run(assistant, "go") == "done"

    assert [content for _, content in _said(server)] == ["one", "two"]
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert len({c["id"] for c in history[1]["tool_calls"]}) == 2


def test_the_id_repeated_in_every_delta_and_the_name_in_pieces(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(
        Turn(
            raw=[
                call(0, id="c1", name="ec"),
                call(0, id="c1", name="ho"),
                *(call(0, id="c1", arguments=piece) for piece in ['{"wo', 'rd": "hi', '"}']),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[echo], hooks=hooks)

    assert runner.run(assistant, "go") == "done"

    assert _said(server) == [("c1", "hi")]
    assert [p.name for (p,) in hooks.args_of("on_partial_tool_call")][-1] == "echo"
    assert assistant.history.to_openai()[1]["tool_calls"][0]["function"]["name"] == "echo"


def test_a_servers_own_fields_on_deltas_are_kept_and_sent_back(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """Fields OpenAI does not send (a signature on a tool call, as Gemini's ``extra_content``;
    a provider's list of details, in pieces with an ``index``) are merged as the SDK's helper
    merges deltas, kept on the message through ``History`` JSON, and sent back."""
    signature = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    server.add(
        Turn(
            raw=[
                raw_chunk(
                    {"role": "assistant", "content": None, "details": [{"index": 0, "text": "a"}]}
                ),
                raw_chunk({"details": [{"index": 0, "text": "b"}, {"index": 1, "text": "c"}]}),
                call(0, id="c1", name="echo", arguments='{"word": "hi"}', extra_content=signature),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[echo])

    assert runner.run(assistant, "go") == "done"

    sent = server.requests[1].body["messages"][1]
    assert sent["details"] == [{"index": 0, "text": "ab"}, {"index": 1, "text": "c"}]
    assert sent["tool_calls"][0]["extra_content"] == signature
    again = History.from_json(assistant.history.to_json())
    assert again.to_openai()[1] == sent
    assert validate_history(again.to_openai()) == []


def test_extra_fields_of_a_whole_completion_are_kept(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    signature = {"google": {"thought_signature": "c2ln"}}
    server.add(
        Turn(
            raw=[
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": "m",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "reasoning_content": "Echo it.",
                                "tool_calls": [
                                    {
                                        "id": "c1",
                                        "type": "function",
                                        "function": {"name": "echo", "arguments": '{"word": "x"}'},
                                        "extra_content": signature,
                                    }
                                ],
                            },
                        }
                    ],
                }
            ]
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[echo], stream=False)

    assert runner.run(assistant, "go") == "done"

    sent = server.requests[1].body["messages"][1]
    assert sent["reasoning_content"] == "Echo it."
    assert sent["tool_calls"][0]["extra_content"] == signature


def test_chunks_with_no_choices_and_fields_of_the_servers_own_are_passed_over(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """Azure sends a first chunk with ``choices: []`` (its prompt filter results), llama.cpp a
    ``timings`` object on chunks, and OpenAI the usage in a last chunk without choices."""
    filtered = {**raw_chunk({}), "choices": [], "prompt_filter_results": [{"prompt_index": 0}]}
    timed = {**raw_chunk({"content": " world"}), "timings": {"predicted_ms": 12.5}}
    usage = {
        **raw_chunk({}),
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    server.add(Turn(raw=[filtered, raw_chunk({"content": "Hello"}), timed, finish("stop"), usage]))
    hooks = RecordingHooks()
    assistant = bot(hooks=hooks)

    assert runner.run(assistant, "go") == "Hello world"

    assert [usage.total_tokens for usage, _ in hooks.args_of("on_usage")] == [5]
    assert assistant.history.to_openai()[-1] == {"role": "assistant", "content": "Hello world"}
    assert json.loads(History(assistant.history).to_json())[-1]["content"] == "Hello world"


_keys = st.text("abcdefgh_", min_size=1, max_size=6)
_texts = st.text(min_size=1, max_size=30)


@given(
    fields=st.dictionaries(_keys, _texts, min_size=1, max_size=4),
    details=st.lists(_texts, max_size=3),
    cuts=st.lists(st.integers(0, 30), max_size=6),
)
def test_a_servers_own_fields_in_pieces_merge_back_whole(
    fields: dict[str, str], details: list[str], cuts: list[int]
) -> None:
    """However a server cuts its own string fields (top level, nested, and the texts of an
    indexed list) across deltas, merging the deltas gives them back whole."""
    from agentools._adapters.chat_accumulate import merge_delta

    def pieces(text: str) -> list[str]:
        return split_at(text, [cut for cut in cuts if cut <= len(text)])

    deltas: list[dict[str, Any]] = []
    for key, text in fields.items():
        for piece in pieces(text):
            deltas += [{key: piece}, {"nested": {key: piece}}]
    for index, text in enumerate(details):
        deltas += [{"details": [{"index": index, "text": piece}]} for piece in pieces(text)]
    merged: dict[str, Any] = {}
    for delta in deltas:
        merge_delta(merged, delta)

    expected: dict[str, Any] = {**fields, "nested": fields}
    if details:
        expected["details"] = [{"index": i, "text": text} for i, text in enumerate(details)]
    assert merged == expected
