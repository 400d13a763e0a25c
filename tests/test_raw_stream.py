"""The raw streaming path (``decoding="raw"``, the default) through the real client and the
loopback server, under both runners: what servers really send (comments, event names, CRLF, a
BOM, data over several lines, chunks without choices), an error event, a cancel while a read is
blocked, and the same events and history as the SDK's typed path (``decoding="sdk"``) for the
same answers."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx2
import openai
import pytest

from agentools import RunCancelled, Settings, SettingsError, StreamError, function_tool
from agentools.hooks import RecordingHooks
from agentools.testing import (
    Chunking,
    ErrorAfter,
    FakeOpenAIServer,
    StallAfter,
    ToolCallSpec,
    Turn,
    Usage,
)

from .support import Bot, Runner, raw_chunk

PROMPT = "Hi?"


def chunk_bytes(chunk: dict[str, Any]) -> bytes:
    return json.dumps(chunk).encode()


def text_chunks(*pieces: str) -> list[dict[str, Any]]:
    """Choice 0 saying ``pieces``, then its finish."""
    first = raw_chunk({"role": "assistant", "content": ""})
    return [first, *(raw_chunk({"content": piece}) for piece in pieces), raw_chunk({}, "stop")]


@pytest.mark.parametrize("decoding", ["raw", "sdk"])
def test_what_servers_send_besides_one_data_line_per_event(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, decoding: str
) -> None:
    """Comments (keep-alives), ``event:`` and ``id:`` lines, CRLF and CR line ends, one chunk's
    JSON over several ``data:`` lines, an event cut across two writes (two reads, here), and a
    chunk with no choices (Azure's first chunk holds only its prompt filter results)."""
    hello, comma, world, stop = [chunk_bytes(c) for c in text_chunks("Hello", ",", " world")][1:]
    head, tail = chunk_bytes(raw_chunk({"role": "assistant", "content": ""})).split(b", ", 1)
    server.add(
        Turn(
            raw=[
                b": keep-alive\r\n\r\n",
                b'data: {"id": "", "object": "", "created": 0, "model": "", "choices": [],'
                b' "prompt_filter_results": [{"prompt_index": 0}]}\n\n',
                b"data: " + head + b",\r\ndata: " + tail + b"\r\n\r\n",
                b"event: message\nid: 1\ndata: " + hello + b"\n\n",
                b"data: " + comma[:10],
                comma[10:] + b"\r\r",
                b": done soon\ndata: " + world + b"\n\n" + b"data: " + stop + b"\n\n",
            ]
        )
    )
    assistant = bot(decoding=decoding)

    assert runner.run(assistant, PROMPT) == "Hello, world"
    assert assistant.history.to_openai()[-1] == {"role": "assistant", "content": "Hello, world"}


def test_a_bom_and_an_event_without_data_on_the_raw_path(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """A UTF-8 BOM before the first field, and a keep-alive ``event: ping`` with no data: the
    SDK's decoder fails on both (the field is not ``data``; the payload "" is not JSON)."""
    chunks = [chunk_bytes(c) for c in text_chunks("Fine", ".")]
    server.add(
        Turn(
            raw=[
                b"\xef\xbb\xbfdata: " + chunks[0] + b"\n\n",
                b"event: ping\n\n",
                *(b"data: " + c + b"\n\n" for c in chunks[1:]),
            ]
        )
    )
    assistant = bot(decoding="raw")

    assert runner.run(assistant, PROMPT) == "Fine."


@pytest.mark.parametrize("decoding", ["raw", "sdk"])
def test_an_error_event_is_a_stream_error_with_the_servers_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, decoding: str
) -> None:
    fault = ErrorAfter(3, message="The model is overloaded", type="server_error", code="busy")
    server.add(
        Turn(text="A long answer, cut by the error.", chunking=Chunking(text=4), fault=fault)
    )
    hooks = RecordingHooks()
    assistant = bot(decoding=decoding, hooks=hooks)

    with pytest.raises(StreamError) as caught:
        runner.run(assistant, PROMPT)

    error = caught.value
    assert isinstance(error, openai.APIError)
    assert error.body == fault.error()
    assert (error.message, error.type, error.code) == (
        "The model is overloaded",
        "server_error",
        "busy",
    )
    assert isinstance(error.request, httpx2.Request)
    # The chunks before it were delivered; nothing of them is kept.
    assert [args[0] for args in hooks.args_of("on_partial_text")] == ["A lo", "ng a"]
    assert assistant.history.to_openai() == [{"role": "user", "content": PROMPT}]


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_a_cancel_wakes_a_read_blocked_on_the_socket(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """The server stalls for 5 s after 3 chunks; the blocking runner waits in the socket's read
    when another thread cancels, and the run ends at once (its socket shut down)."""
    server.add(Turn(text="x" * 40, chunking=Chunking(text=4), fault=StallAfter(3, seconds=5)))
    assistant = bot(pooled=False, decoding="raw")
    started = threading.Event()

    class Started(RecordingHooks):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            started.set()

    def cancel() -> None:
        started.wait(5)
        time.sleep(0.2)  # the runner is blocked in the read by now
        assistant.cancel()

    helper = threading.Thread(target=cancel)
    helper.start()
    begun = time.monotonic()
    with pytest.raises(RunCancelled):
        runner.run(assistant, PROMPT, hooks=Started())
    helper.join()

    assert time.monotonic() - begun < 2.0
    assert assistant.history.to_openai() == [{"role": "user", "content": PROMPT}]
    assert server.wait_idle(timeout=5)


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


def scripted() -> list[Turn]:
    arguments = json.dumps({"key": "naïve ☃ " * 20})
    return [
        Turn(
            text="Let me look.",
            tool_calls=[
                ToolCallSpec(name="lookup", arguments=arguments, id="call_1"),
                ToolCallSpec(name="lookup", arguments={"key": "b"}, id="call_2"),
            ],
            chunking=Chunking(text=3, name=2, arguments=5),
            usage=Usage(prompt_tokens=10, completion_tokens=7),
        ),
        Turn(text="Both are found. 🎉", chunking=Chunking(text=1)),
    ]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_raw_and_sdk_paths_give_the_same_events_and_history(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    seen = {}
    for decoding in ("raw", "sdk"):
        server.add(*scripted())
        hooks = RecordingHooks()
        assistant = bot(tools=[lookup], hooks=hooks, stream=stream, decoding=decoding)
        assert runner.run(assistant, PROMPT) == "Both are found. 🎉"
        seen[decoding] = (hooks.calls, assistant.history.to_openai())
    assert seen["raw"] == seen["sdk"]
    names = [name for name, _ in seen["raw"][0]]
    assert names.count("on_tool_result") == 2
    assert ("on_partial_tool_call" in names) is stream


def test_decoding_is_raw_or_sdk() -> None:
    assert Settings(model="m").decoding == "raw"
    with pytest.raises(SettingsError, match="decoding must be 'raw' or 'sdk', not 'fast'"):
        Settings(model="m", decoding="fast")  # type: ignore[arg-type]
