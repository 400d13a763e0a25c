"""The raw path's SSE decoder, without HTTP: bytes in, the JSON payloads of the events out, however
the stream is cut into reads (``tests/test_raw_stream.py`` reads the same through the real
client)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentools import AgentoolsError, StreamError
from agentools._adapters.base import Failure
from agentools._adapters.chat_completions import ChatCompletions
from agentools._adapters.sse import SSEDecoder


def decode(*reads: bytes) -> list[Any]:
    """The payloads of a stream read in ``reads``; a fault it holds is raised."""
    decoder = SSEDecoder()
    payloads = []
    for data in reads:
        payloads += decoder.feed(data)
    decoder.end()
    return payloads


def bytewise(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


def test_one_data_line_per_event() -> None:
    stream = b'data: {"a": 1}\n\ndata: {"b": [2, "\xc3\xa9"]}\n\n'
    assert decode(stream) == [{"a": 1}, {"b": [2, "é"]}]


def test_comments_event_names_ids_and_retries_are_not_payloads() -> None:
    stream = (
        b": keep-alive\n\n"
        b'event: chunk\nid: 7\nretry: 3000\ndata: {"a": 1}\n\n'
        b": a comment inside an event\n"
        b'data: {"b": 2}\nunknown: field\n\n'
    )
    assert decode(stream) == [{"a": 1}, {"b": 2}]


def test_an_event_without_data_is_nothing() -> None:
    """A keep-alive ``event: ping`` has no data; the SDK's decoder fails on its empty payload."""
    assert decode(b'event: ping\n\ndata: {"a": 1}\n\n\n\n') == [{"a": 1}]


def test_data_lines_of_one_event_are_joined_with_newlines() -> None:
    assert decode(b'data: {"a":\ndata: [1,\ndata:2]}\n\n') == [{"a": [1, 2]}]
    # Joined with "\n", "1" and "2" are two JSON values, which is not JSON; joined with
    # nothing, they would pass for 12.
    with pytest.raises(json.JSONDecodeError):
        decode(b"data: 1\ndata: 2\n\n")


def test_whitespace_around_the_json_is_json_but_more_after_it_is_not() -> None:
    assert decode(b'data:   {"a": 1} \t \n\n') == [{"a": 1}]
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        decode(b'data: {"a": 1} x\n\n')


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_end(end: bytes) -> None:
    stream = b": c" + end + b'data: {"a": 1}' + end + end + b'data: {"b": 2}' + end + end
    assert decode(stream) == [{"a": 1}, {"b": 2}]
    assert decode(*bytewise(stream)) == [{"a": 1}, {"b": 2}]


def test_a_crlf_cut_between_two_reads_is_one_line_end() -> None:
    """Not a line end then a blank line, which would end the event in the middle of its data."""
    assert decode(b'data: {"a":\r', b"\ndata: 1}\r\n\r", b"\n") == [{"a": 1}]


def test_a_bom_at_the_start_is_skipped_even_cut_across_reads() -> None:
    stream = b'\xef\xbb\xbfdata: {"a": 1}\n\n'
    assert decode(stream) == [{"a": 1}]
    assert decode(*bytewise(stream)) == [{"a": 1}]
    assert decode(b"\xef", b"\xbb", b'\xbfdata: {"a": 1}\n\n') == [{"a": 1}]


def test_done_ends_the_stream() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: {"b": 2}\n\n') == [{"a": 1}]
    assert decoder.done
    assert decoder.feed(b'data: {"c": 3}\n\n') == []
    decoder.end()


def test_an_unfinished_event_at_the_end_is_dropped() -> None:
    assert decode(b'data: {"a": 1}\n\ndata: {"b": 2}\n') == [{"a": 1}]


ERROR = {"message": "The server had an error", "type": "server_error", "code": "overloaded"}


def test_an_error_event_raises_stream_error_after_the_payloads_before_it() -> None:
    decoder = SSEDecoder()
    stream = b'data: {"a": 1}\n\ndata: ' + json.dumps({"error": ERROR}).encode() + b"\n\n"
    assert decoder.feed(stream + b'data: {"b": 2}\n\n') == [{"a": 1}]
    assert decoder.done
    with pytest.raises(StreamError) as caught:
        decoder.end()
    error = caught.value
    assert isinstance(error, openai.APIError)
    assert isinstance(error, AgentoolsError)
    assert error.body == ERROR
    assert (error.message, error.code, error.type) == (
        ERROR["message"],
        "overloaded",
        "server_error",
    )
    assert str(error) == ERROR["message"]


def test_an_event_named_error_raises_stream_error() -> None:
    with pytest.raises(StreamError) as caught:
        decode(b'event: error\ndata: {"message": "gone"}\n\n')
    assert caught.value.body == {"message": "gone"}
    assert caught.value.message == "gone"


def test_an_error_without_a_message_has_the_sdks_default_message() -> None:
    with pytest.raises(StreamError, match="An error occurred during streaming"):
        decode(b'data: {"error": {"code": 5}}\n\n')


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe"], ids=["not JSON", "not UTF-8"])
def test_a_payload_that_cannot_be_read_is_malformed(payload: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: ' + payload + b"\n\n") == [{"a": 1}]
    with pytest.raises(ValueError, match=r"Expecting|codec") as caught:
        decoder.feed(b'data: {"b": 2}\n\n')
    assert ChatCompletions().failure(caught.value) is Failure.MALFORMED


# -- however the stream is cut --------------------------------------------------------------

payloads = st.lists(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=6,
    ).filter(lambda value: not (isinstance(value, dict) and value.get("error"))),
    max_size=6,
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[Any]]:
    """An event stream of ``payloads`` (each some ``data:`` lines of its JSON, spread over
    several lines where it has a comma), with comments, ``event:``/``id:`` lines, blank lines,
    a BOM perhaps, and one line end throughout or a mix; then the payloads it carries."""
    values = draw(payloads)
    # (mixed: a CR then an LF would be one CRLF, so CR is tried on its own)
    ends = draw(st.sampled_from([[b"\n"], [b"\r\n"], [b"\r"], [b"\n", b"\r\n"]]))

    def end() -> bytes:
        return draw(st.sampled_from(ends))

    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    for value in values:
        if draw(st.booleans()):
            out += [b": comment", end(), end()] if draw(st.booleans()) else [b":", end()]
        if draw(st.booleans()):
            out += [b"event: chunk", end(), b"id: 1", end()]
        text = json.dumps(value, ensure_ascii=draw(st.booleans())).encode()
        *heads, last = text.split(b", ")
        lines = [head + b"," for head in heads] + [last]
        if not draw(st.booleans()) or not joins_to(lines, value):
            lines = [text]  # one line (a ", " inside a string is not between two values)
        for line in lines:
            out += [b"data: " if draw(st.booleans()) else b"data:", line, end()]
        out.append(end())
    return b"".join(out), values


def joins_to(lines: list[bytes], value: Any) -> bool:
    try:
        return bool(json.loads(b"\n".join(lines)) == value)
    except ValueError:
        return False


def cuts(stream: bytes, points: Iterable[int]) -> list[bytes]:
    edges = sorted({0, len(stream), *(p % (len(stream) + 1) for p in points)})
    return [stream[a:b] for a, b in itertools.pairwise(edges)]


@given(streams(), st.lists(st.integers(0, 10_000), max_size=20))
def test_the_payloads_do_not_depend_on_how_the_stream_is_cut(
    stream: tuple[bytes, list[Any]], points: list[int]
) -> None:
    data, values = stream
    assert decode(data) == values
    assert decode(*cuts(data, points)) == values


@given(streams())
def test_byte_by_byte_too(stream: tuple[bytes, list[Any]]) -> None:
    data, values = stream
    assert decode(*bytewise(data)) == values
