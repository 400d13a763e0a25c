"""The fake OpenAI server against the real ``openai`` client, sync and async, over real HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agentools.testing import (
    Chunking,
    DropAfter,
    Endless,
    ErrorAfter,
    FakeOpenAIServer,
    GarbageAfter,
    HTTPStatus,
    RecordedRequest,
    StallAfter,
    ToolCallSpec,
    Turn,
    Usage,
    render_chunks,
    render_completion,
    split,
    split_at,
)

from .support import raw_chunk, server_threads, serving

MESSAGES: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
TEXT = "The quick brown fox jumps over the lazy dog."
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


def call(
    server: FakeOpenAIServer,
    kind: str,
    *,
    client_options: dict[str, Any] | None = None,
    max_chunks: int | None = None,
    received: list[ChatCompletionChunk] | None = None,
    **request: Any,
) -> Any:
    """One chat completion with a fresh sync or async client, closed afterwards.

    A stream is read into a list (into ``received`` as it goes, so chunks before an error can be
    inspected) and closed after ``max_chunks`` if given.
    """
    chunks = [] if received is None else received
    options = {"model": "gpt-test", "messages": MESSAGES, **request}
    if kind == "sync":
        with server.client(**(client_options or {})) as client:
            result = client.chat.completions.create(**options)
            if not options.get("stream"):
                return result
            with result:
                for chunk in result:
                    chunks.append(chunk)
                    if len(chunks) == max_chunks:
                        break
            return chunks

    async def run() -> Any:
        async with server.async_client(**(client_options or {})) as client:
            result = await client.chat.completions.create(**options)
            if not options.get("stream"):
                return result
            async with result:
                async for chunk in result:
                    chunks.append(chunk)
                    if len(chunks) == max_chunks:
                        break
            return chunks

    return asyncio.run(run())


def content_of(chunks: list[ChatCompletionChunk], index: int = 0) -> str:
    return "".join(
        choice.delta.content or ""
        for chunk in chunks
        for choice in chunk.choices
        if choice.index == index
    )


# -- streams and completions ------------------------------------------------------------------


def test_streamed_text_is_cut_as_chunking_says(server: FakeOpenAIServer, kind: str) -> None:
    server.add(Turn(text=TEXT, chunking=Chunking(text=5)))

    chunks = call(server, kind, stream=True)

    assert content_of(chunks) == TEXT
    assert len(chunks) == 1 + len(split(TEXT, 5)) + 1  # role, content pieces, finish
    first, last = chunks[0].choices[0], chunks[-1].choices[0]
    assert (first.delta.role, first.delta.content) == ("assistant", "")
    assert (last.delta.content, last.finish_reason) == (None, "stop")
    assert {chunk.id for chunk in chunks} == {chunks[0].id}
    assert all(chunk.usage is None for chunk in chunks)


def test_tool_calls_reassemble_from_name_and_argument_pieces(
    server: FakeOpenAIServer, kind: str
) -> None:
    calls = [
        ToolCallSpec("get_weather", {"city": "Paris", "unit": "celsius"}, id="call_given"),
        ToolCallSpec("get_time", '{"tz": "Europe/Par'),  # broken JSON goes out verbatim
    ]
    server.add(Turn(tool_calls=calls, chunking=Chunking(name=3, arguments=4)))

    chunks = call(server, kind, stream=True, tools=[WEATHER_TOOL])

    ids: dict[int, str] = {}
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            assert delta.function is not None
            if delta.id is not None:
                assert delta.type == "function"
                assert delta.function.arguments == ""
                ids[delta.index] = delta.id
            names[delta.index] = names.get(delta.index, "") + (delta.function.name or "")
            arguments[delta.index] = arguments.get(delta.index, "") + (
                delta.function.arguments or ""
            )
    assert names == {0: "get_weather", 1: "get_time"}
    assert arguments == {0: calls[0].arguments, 1: '{"tz": "Europe/Par'}
    assert ids[0] == "call_given"
    assert ids[1].startswith("call_")
    assert chunks[0].choices[0].delta.content is None  # OpenAI sends null content for tool calls
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    pieces = sum(
        len(split(call.name, 3)) + len(split(call.arguments, 4)) for call in calls
    )  # the first name piece shares its delta with the call's id
    assert len(chunks) == 1 + pieces + 1


def test_non_stream_completion_parses_with_tool_calls_and_usage(
    server: FakeOpenAIServer, kind: str
) -> None:
    server.add(
        Turn(
            tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
            usage=Usage(prompt_tokens=11, completion_tokens=7),
        )
    )

    completion = call(server, kind, tools=[WEATHER_TOOL])

    assert isinstance(completion, ChatCompletion)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (tool_call,) = choice.message.tool_calls or []
    assert tool_call.type == "function"
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert completion.usage is not None
    assert completion.usage.total_tokens == 18
    assert completion.model == server.model


def test_usage_chunk_only_with_include_usage(server: FakeOpenAIServer, kind: str) -> None:
    usage = Usage(prompt_tokens=3, completion_tokens=5)
    server.add(Turn(text=TEXT, usage=usage), Turn(text=TEXT, usage=usage))

    with_usage = call(server, kind, stream=True, stream_options={"include_usage": True})
    without = call(server, kind, stream=True)

    assert with_usage[-1].choices == []
    assert with_usage[-1].usage is not None
    assert with_usage[-1].usage.model_dump(exclude_none=True) == usage.as_dict()
    assert all(chunk.usage is None for chunk in with_usage[:-1])
    assert all(chunk.choices and chunk.usage is None for chunk in without)
    assert content_of(with_usage) == content_of(without) == TEXT


def test_made_up_usage_is_plausible(server: FakeOpenAIServer) -> None:
    server.add(Turn(text=TEXT))

    completion = call(server, "sync")

    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens == len(TEXT.split()) + 1  # words and the full stop
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_extra_choices_are_interleaved(server: FakeOpenAIServer, kind: str) -> None:
    turn = Turn(text="abcdef", extra_choices=[Turn(text="uvwxyz"), Turn(text="a longer third")])
    server.add(turn, turn)

    chunks = call(server, kind, stream=True, n=3)
    completion = call(server, kind, n=3)

    assert all(len(chunk.choices) == 1 for chunk in chunks)
    assert [chunk.choices[0].index for chunk in chunks[:6]] == [0, 1, 2, 0, 1, 2]
    assert [content_of(chunks, i) for i in range(3)] == ["abcdef", "uvwxyz", "a longer third"]
    assert [choice.message.content for choice in completion.choices] == [
        "abcdef",
        "uvwxyz",
        "a longer third",
    ]


def test_requests_are_recorded(server: FakeOpenAIServer) -> None:
    server.add(Turn(text="one"), Turn(text="two"))

    call(server, "sync", stream=True, tools=[WEATHER_TOOL], stream_options={"include_usage": True})
    call(server, "async")

    streamed, whole = server.requests
    assert isinstance(streamed, RecordedRequest)
    assert (streamed.method, streamed.path) == ("POST", "/v1/chat/completions")
    assert streamed.messages == whole.messages == MESSAGES
    assert streamed.tools == [WEATHER_TOOL]
    assert (streamed.stream, streamed.include_usage) == (True, True)
    assert (whole.stream, whole.include_usage, whole.tools) == (False, False, [])
    assert streamed.model == "gpt-test"
    assert streamed.headers["authorization"] == "Bearer sk-fake"
    assert json.loads(streamed.raw_body) == streamed.body
    assert server.pending == 0


def test_recorded_requests_hide_the_api_key_in_their_repr(server: FakeOpenAIServer) -> None:
    server.add(Turn(text="one"))

    call(server, "sync", client_options={"api_key": "sk-very-secret-123"})

    (request,) = server.requests
    assert "sk-very-secret-123" not in repr(server.requests)
    assert "'authorization': 'Bearer ***'" in repr(request)
    assert request.headers["authorization"] == "Bearer sk-very-secret-123"  # kept for asserts
    hidden = RecordedRequest("POST", "/", headers={"api-key": "k", "x-api-key": "Token k"})
    assert "'k'" not in repr(hidden)
    assert "'Token ***'" in repr(hidden)


def test_script_exhausted_is_a_loud_internal_server_error(
    server: FakeOpenAIServer, kind: str
) -> None:
    with pytest.raises(openai.InternalServerError, match="script exhausted"):
        call(server, kind, stream=True)
    assert len(server.requests) == 1


def test_responder_answers_after_the_script() -> None:
    def echo(request: RecordedRequest) -> Turn:
        return Turn(text=f"echo: {request.messages[-1]['content']}")

    with serving([Turn(text="scripted")], responder=echo) as fake:
        first = call(fake, "sync")
        second = call(fake, "async", stream=True)
    assert first.choices[0].message.content == "scripted"
    assert content_of(second) == f"echo: {MESSAGES[0]['content']}"


def test_a_failing_responder_answers_500_and_is_kept() -> None:
    def broken(request: RecordedRequest) -> Turn:
        raise LookupError("no idea")

    with FakeOpenAIServer(responder=broken) as fake:
        with pytest.raises(openai.InternalServerError, match="no idea"):
            call(fake, "sync")
        assert [type(error) for error in fake.errors] == [LookupError]


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError), (503, openai.APIStatusError)],
)
def test_http_status_fault(
    server: FakeOpenAIServer, kind: str, status: int, error: type[Exception], stream: bool
) -> None:
    server.add(Turn(text=TEXT, fault=HTTPStatus(status, headers={"x-fault": "yes"})))

    with pytest.raises(error, match=f"injected HTTP {status}") as raised:
        call(server, kind, stream=stream)

    assert isinstance(raised.value, openai.APIStatusError)
    assert raised.value.status_code == status
    assert raised.value.response.headers["x-fault"] == "yes"


@pytest.mark.parametrize(
    ("reset", "cause"), [(False, httpx2.RemoteProtocolError), (True, httpx2.ReadError)]
)
def test_drop_after_breaks_the_stream(
    server: FakeOpenAIServer, kind: str, reset: bool, cause: type[Exception]
) -> None:
    server.add(Turn(text=TEXT, chunking=Chunking(text=5), fault=DropAfter(4, reset=reset)))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(openai.APIConnectionError) as raised:
        call(server, kind, stream=True, received=received)

    assert isinstance(raised.value.__cause__, cause)
    assert len(received) == 4
    assert content_of(received) == TEXT[:15]


@pytest.mark.parametrize("chunks", [0, 1])
def test_drop_after_breaks_a_completion(server: FakeOpenAIServer, kind: str, chunks: int) -> None:
    server.add(Turn(text=TEXT, fault=DropAfter(chunks)))

    with pytest.raises(openai.APIConnectionError) as raised:
        call(server, kind)

    assert isinstance(raised.value.__cause__, httpx2.RemoteProtocolError)


def test_garbage_after_fails_json_decoding_then_the_server_goes_on(
    server: FakeOpenAIServer, kind: str
) -> None:
    server.add(Turn(text=TEXT, fault=GarbageAfter(2)), Turn(text=TEXT, fault=GarbageAfter()))
    server.add(Turn(text="still fine"))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(json.JSONDecodeError):
        call(server, kind, stream=True, received=received)
    with pytest.raises(json.JSONDecodeError):
        call(server, kind)

    assert len(received) == 2
    assert call(server, kind).choices[0].message.content == "still fine"


def test_error_after_sends_the_error_event_then_ends_cleanly(
    server: FakeOpenAIServer, kind: str
) -> None:
    """The SDK raises its bare ``APIError`` for the event (agentools turns it into its
    ``StreamError``); a non-stream request gets the same error as HTTP 500."""
    fault = ErrorAfter(2, message="overloaded", code="busy")
    server.add(Turn(text=TEXT, fault=fault), Turn(text=TEXT, fault=fault))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(openai.APIError) as raised:
        call(server, kind, stream=True, received=received)
    with pytest.raises(openai.InternalServerError) as whole:
        call(server, kind, client_options={"max_retries": 0})

    assert type(raised.value) is openai.APIError
    assert (raised.value.body, raised.value.message) == (fault.error(), "overloaded")
    assert len(received) == 2
    assert whole.value.body == fault.error()
    assert server.wait_idle(1.0)


def test_error_after_ends_the_body_cleanly_without_done(server: FakeOpenAIServer) -> None:
    server.add(Turn(text=TEXT, fault=ErrorAfter(1)))

    sent = _raw_stream(server)

    assert sent.count(b"data: ") == 2
    assert b"[DONE]" not in sent
    assert b'data: {"error": {"message": "injected error in the stream"' in sent
    assert sent.endswith(b"\n\n\r\n0\r\n\r\n")


def _raw_stream(server: FakeOpenAIServer) -> bytes:
    """Everything the server sends for one streamed request, until it closes the connection."""
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    body = json.dumps({"model": "m", "messages": MESSAGES, "stream": True}).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(head.encode() + body)
        while data := connection.recv(65536):
            received += data
    return received


@pytest.mark.parametrize(
    "fault", [DropAfter(2), GarbageAfter(1, data="data?", close=True)], ids=["drop", "garbage"]
)
def test_abrupt_close_skips_the_terminating_chunk(
    server: FakeOpenAIServer, fault: DropAfter | GarbageAfter
) -> None:
    server.add(Turn(text=TEXT, fault=fault), Turn(text=TEXT, fault=DropAfter(100)))

    broken = _raw_stream(server)
    after_done = _raw_stream(server)

    assert b"transfer-encoding: chunked" in broken.lower()
    assert broken.count(b"data: ") == 2
    assert not broken.endswith(b"0\r\n\r\n")
    if isinstance(fault, GarbageAfter):
        assert broken.endswith(b"data: data?\n\n\r\n")
    assert b"data: [DONE]" in after_done
    assert not after_done.endswith(b"0\r\n\r\n")


def test_stall_after_times_the_client_out(
    server: FakeOpenAIServer, kind: str, stream: bool
) -> None:
    server.add(Turn(text=TEXT, fault=StallAfter(2 if stream else 0, seconds=10)))
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        call(server, kind, stream=stream, client_options={"timeout": 0.3})

    # The server noticed the hang-up instead of stalling its full 10 s.
    assert server.wait_idle(1.0)
    assert time.monotonic() - started < 2


def test_stall_after_can_resume(server: FakeOpenAIServer, kind: str) -> None:
    server.add(Turn(text=TEXT, fault=StallAfter(1, seconds=0.2, resume=True)))
    server.add(Turn(text=TEXT, fault=StallAfter(1, seconds=0.2, resume=True)))

    assert content_of(call(server, kind, stream=True)) == TEXT
    assert call(server, kind).choices[0].message.content == TEXT


@pytest.mark.parametrize("arguments", [False, True])
def test_endless_stops_when_the_client_closes(
    server: FakeOpenAIServer, kind: str, arguments: bool
) -> None:
    server.add(Turn(fault=Endless(text="xyz", arguments=arguments)))

    chunks = call(server, kind, stream=True, max_chunks=200)

    assert len(chunks) == 200
    if arguments:
        deltas = [chunk.choices[0].delta.tool_calls for chunk in chunks[2:]]
        assert all(d and d[0].function and d[0].function.arguments == "xyz" for d in deltas)
    else:
        assert content_of(chunks) == "xyz" * 199
    assert server.wait_idle(1.0)


def test_endless_ends_abruptly_at_its_bound(server: FakeOpenAIServer, stream: bool) -> None:
    server.add(Turn(fault=Endless(max_seconds=0.3, interval=0.001)))

    with pytest.raises(openai.APIConnectionError):
        call(server, "sync", stream=stream)


# -- raw wire data ----------------------------------------------------------------------------


def test_raw_chunks_are_sent_as_given(server: FakeOpenAIServer, kind: str) -> None:
    sent = [raw_chunk({"role": "assistant", "content": "Hé"}), raw_chunk({}, "stop")]
    sent[0]["x_vendor"] = {"seed": 7}  # a field OpenAI never sends goes out too
    server.add(Turn(raw=sent))

    chunks = call(server, kind, stream=True, stream_options={"include_usage": True})

    assert [chunk.model_dump(exclude_unset=True) for chunk in chunks] == sent
    assert content_of(chunks) == "Hé"


def test_raw_chunks_can_split_a_surrogate_pair_in_escapes(
    server: FakeOpenAIServer, kind: str
) -> None:
    halves = [raw_chunk({"content": "\ud83d"}), raw_chunk({"content": "\ude00"}, "stop")]
    server.add(Turn(raw=halves, ensure_ascii=True), Turn(raw=halves, ensure_ascii=True))

    chunks = call(server, kind, stream=True)
    wire = _raw_stream(server)

    # Each chunk decodes to a lone surrogate: joining them is the client's job.
    assert [chunk.choices[0].delta.content for chunk in chunks] == ["\ud83d", "\ude00"]
    assert b'"content": "\\ud83d"}' in wire
    assert b'"content": "\\ude00"}' in wire


def test_raw_bytes_are_written_verbatim(server: FakeOpenAIServer, kind: str) -> None:
    whole = json.dumps(raw_chunk({"content": "split event"}, "stop")).encode()
    server.add(Turn(raw=[b": a comment line\n\n", b"data: " + whole[:20], whole[20:] + b"\n\n"]))

    chunks = call(server, kind, stream=True)

    assert content_of(chunks) == "split event"
    assert len(chunks) == 1


def test_raw_stream_ends_with_done_unless_a_fault_cuts_it(server: FakeOpenAIServer) -> None:
    chunks = [raw_chunk({"content": "a"}), raw_chunk({"content": "b"}, "stop")]
    server.add(Turn(raw=chunks), Turn(raw=chunks, fault=DropAfter(1)))

    whole = _raw_stream(server)
    cut = _raw_stream(server)

    assert whole.count(b"data: ") == 3
    assert whole.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    assert cut.count(b"data: ") == 1
    assert b"[DONE]" not in cut


def test_a_fault_applies_to_raw_chunks(server: FakeOpenAIServer, kind: str) -> None:
    chunks = [raw_chunk({"content": "a"}), raw_chunk({"content": "b"}, "stop")]
    server.add(Turn(raw=chunks, fault=DropAfter(1)))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(openai.APIConnectionError):
        call(server, kind, stream=True, received=received)

    assert content_of(received) == "a"


def test_raw_completion_is_the_whole_body(server: FakeOpenAIServer, kind: str) -> None:
    body = render_completion(Turn(text="from a raw turn"), model="raw-model", created=1)
    body["system_fingerprint"] = None
    server.add(Turn(raw=[body]), Turn(raw=[b"{not json"]))

    completion = call(server, kind)
    with pytest.raises(json.JSONDecodeError):
        call(server, kind)

    assert completion.model_dump(exclude_unset=True) == body


def test_a_raw_completion_of_several_items_is_a_loud_error(kind: str) -> None:
    with FakeOpenAIServer([Turn(raw=[{}, {}])]) as fake:
        with pytest.raises(openai.InternalServerError, match="exactly one item"):
            call(fake, kind)
        assert [type(error) for error in fake.errors] == [ValueError]


def test_a_raw_turn_says_nothing_else() -> None:
    with pytest.raises(ValueError, match="text"):
        Turn(raw=[{}], text="hello")
    with pytest.raises(ValueError, match="tool_calls"):
        Turn(raw=[{}], tool_calls=[ToolCallSpec("f")])
    with pytest.raises(TypeError, match="mapping or bytes"):
        Turn(raw=["data: x"])  # type: ignore[list-item]


def test_ensure_ascii_applies_to_rendered_turns(server: FakeOpenAIServer) -> None:
    server.add(Turn(text="😀"), Turn(text="😀", ensure_ascii=True))

    utf8 = _raw_stream(server)
    escaped = _raw_stream(server)

    assert "😀".encode() in utf8
    assert b"\\ud83d\\ude00" in escaped
    assert "😀".encode() not in escaped


# -- HTTP behaviour ---------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(server: FakeOpenAIServer) -> None:
    server.add(*[Turn(text=f"answer {n}") for n in range(3)])

    with server.client() as client:
        answers = [
            client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
            for _ in range(3)
        ]
        assert server.open_connections == 1
    assert answers == ["answer 0", "answer 1", "answer 2"]
    assert server.connections_accepted == 1
    assert server.wait_idle(1.0)


def test_sync_and_async_clients_are_served_concurrently() -> None:
    def slow_echo(request: RecordedRequest) -> Turn:
        time.sleep(0.05)
        return Turn(text=request.messages[-1]["content"])

    def ask(kind: str, word: str) -> str:
        messages = [{"role": "user", "content": word}]
        return content_of(call(fake, kind, stream=True, messages=messages))

    async def ask_many() -> list[str]:
        async with fake.async_client() as client:

            async def one(word: str) -> str:
                completion = await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": word}]
                )
                return completion.choices[0].message.content or ""

            return list(await asyncio.gather(*(one(f"async {n}") for n in range(4))))

    with serving(responder=slow_echo) as fake:
        results: dict[str, str] = {}
        threads = [
            threading.Thread(target=lambda w=f"sync {n}": results.__setitem__(w, ask("sync", w)))
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        async_answers = asyncio.run(ask_many())
        for thread in threads:
            thread.join()
        assert fake.wait_idle(1.0)
    assert results == {f"sync {n}": f"sync {n}" for n in range(4)}
    assert async_answers == [f"async {n}" for n in range(4)]
    assert len(fake.requests) == 8


def test_close_cuts_a_stalled_stream_and_leaves_no_thread(server: FakeOpenAIServer) -> None:
    server.add(Turn(text=TEXT, fault=StallAfter(1, seconds=30)))
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            call(server, "sync", stream=True)
        except BaseException as error:
            errors.append(error)

    consumer = threading.Thread(target=consume)
    consumer.start()
    deadline = time.monotonic() + 2
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    started = time.monotonic()
    server.close()
    server.close()  # idempotent
    consumer.join(2)

    assert time.monotonic() - started < 1
    assert [type(error) for error in errors] == [openai.APIConnectionError]
    assert server.open_connections == 0
    assert server_threads() == []


def _raw(server: FakeOpenAIServer, method: str, path: str, body: bytes = b"") -> tuple[int, Any]:
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_routes_and_bad_requests(server: FakeOpenAIServer) -> None:
    server.add(Turn(text="short path"))
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()

    status, completion = _raw(server, "POST", "/chat/completions", body)
    assert (status, completion["choices"][0]["message"]["content"]) == (200, "short path")
    status, error = _raw(server, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert _raw(server, "GET", "/v1/nowhere")[0] == 404

    with server.client() as client:
        assert [model.id for model in client.models.list()] == [server.model]
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("other")
    assert [request.path for request in server.requests][-2:] == ["/v1/models", "/v1/models/other"]


# -- rendering without HTTP -------------------------------------------------------------------


def test_rendered_chunks_and_completion_validate_as_sdk_models() -> None:
    turn = Turn(
        text=TEXT,
        refusal="I would rather not.",
        tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
        extra_choices=[Turn(text="other")],
        chunking=Chunking(text=(4, 9), arguments=None),
    )

    chunks = render_chunks(turn, model="m", include_usage=True, completion_id="c", created=1)
    parsed = [ChatCompletionChunk.model_validate(chunk) for chunk in chunks]
    completion = ChatCompletion.model_validate(render_completion(turn, model="m"))

    assert content_of(parsed) == TEXT
    assert [piece.choices[0].delta.content for piece in parsed[2:7:2]] == [
        TEXT[:4],
        TEXT[4:9],
        TEXT[9:],
    ]
    assert "".join(c.choices[0].delta.refusal or "" for c in parsed if c.choices) == turn.refusal
    assert parsed[-1].usage is not None
    assert completion.choices[0].message.refusal == turn.refusal
    assert completion.choices[0].message.tool_calls is not None
    assert completion.choices[0].message.tool_calls[0].id == "call_1"
    assert [choice.finish_reason for choice in completion.choices] == ["tool_calls", "stop"]


def test_split_helpers() -> None:
    assert split("abcdefg", 3) == ["abc", "def", "g"]
    assert split("abc", 0) == split("abc", None) == ["abc"]
    assert split("", 4) == []
    assert split_at("abcdef", [4, 2, 2, 0, 6]) == ["ab", "cd", "ef"]
    with pytest.raises(ValueError, match="within"):
        split_at("abc", [4])
    with pytest.raises(ValueError, match="negative"):
        Chunking(text=-1)
    assert ToolCallSpec("f", {"a": 1}).arguments == '{"a": 1}'
    assert Turn(tool_calls=[ToolCallSpec("f")]).resolved_finish_reason == "tool_calls"
