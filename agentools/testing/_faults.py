"""Faults a scripted turn can inject, so clients can be tested against a misbehaving server.

Each fault replaces or interrupts the normal response of the one request that draws its turn.
``chunks`` counts SSE data events of the stream as rendered by ``render_chunks`` (or a raw turn's
items) followed by the ``[DONE]`` event; a count past the end applies the fault after ``[DONE]``
but before the chunked encoding's terminating chunk, so the response is still incomplete at the
HTTP level.

"Abruptly closed" always means: the socket is closed without the terminating zero-length chunk
of the chunked encoding (or before ``Content-Length`` bytes were sent), so the client sees a
truncated message, never a clean end of stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "DropAfter",
    "Endless",
    "ErrorAfter",
    "Fault",
    "GarbageAfter",
    "HTTPStatus",
    "StallAfter",
]


def _headers(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(dict(value).items())


def _non_negative(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


@attrs.frozen
class HTTPStatus:
    """Answer with an HTTP error status instead of a completion, before any stream starts.

    ``body`` None sends an OpenAI-style ``{"error": {...}}`` JSON body; a mapping is sent as JSON;
    a string is sent verbatim (still labelled ``application/json``), so unparsable error bodies can
    be tested too. ``headers`` are added to the response (``retry-after``, ``x-should-retry``...).
    """

    status: int = 500
    body: Mapping[str, Any] | str | None = None
    headers: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, converter=_headers)


@attrs.frozen
class DropAfter:
    """Send ``chunks`` events, then close the connection abruptly.

    ``reset`` closes with a TCP RST (``SO_LINGER`` 0) instead of an orderly FIN, which clients
    report as "connection reset" rather than "incomplete message".

    On a non-stream request ``chunks`` 0 closes before any response byte (the client sees "server
    disconnected without sending a response"); any other count sends the status line, the headers
    (announcing the full ``Content-Length``) and the first half of the body, then closes.
    """

    chunks: int = attrs.field(default=0, validator=_non_negative)
    reset: bool = False


@attrs.frozen
class GarbageAfter:
    """Send ``chunks`` events, then the event ``data: <data>`` whose payload is not valid JSON.

    After the garbage the stream carries on normally (the remaining events, ``[DONE]``, a clean
    end), unless ``close`` is set, in which case the connection is closed abruptly right after it.

    On a non-stream request the whole body is ``data`` with status 200 and
    ``Content-Type: application/json``; ``chunks`` and ``close`` are ignored.
    """

    chunks: int = attrs.field(default=0, validator=_non_negative)
    data: str = "{not json"
    close: bool = False


@attrs.frozen
class ErrorAfter:
    """Send ``chunks`` events, then an error event, ``data: {"error": {"message": ..., "type":
    ..., "code": ..., "param": null}}``, as OpenAI reports an error once a stream has started;
    then the stream ends cleanly, without ``[DONE]``.

    On a non-stream request the response is HTTP 500 with that error object as its body.
    """

    chunks: int = attrs.field(default=0, validator=_non_negative)
    message: str = "injected error in the stream"
    type: str = "server_error"
    code: str | None = None

    def error(self) -> dict[str, Any]:
        """The error object the server sends."""
        return {"message": self.message, "type": self.type, "param": None, "code": self.code}


@attrs.frozen
class StallAfter:
    """Send ``chunks`` events, then nothing for ``seconds``; then close abruptly, or resume.

    The stall ends early when the client disconnects (typically after its read timeout) or the
    server closes, so neither a test nor ``FakeOpenAIServer.close`` waits it out. With ``resume``
    the rest of the response follows the stall, to test that a slow server is tolerated.

    On a non-stream request ``chunks`` 0 stalls before the status line, any other count stalls
    after the headers and before the body.
    """

    chunks: int = attrs.field(default=0, validator=_non_negative)
    seconds: float = attrs.field(default=5.0, validator=_non_negative)
    resume: bool = False


@attrs.frozen
class Endless:
    """Stream ``text`` again and again, as content or (``arguments``) as one tool call's arguments.

    It stops when the client disconnects, when the server closes, or at a hard bound
    (``max_seconds`` of streaming or ``max_bytes`` of payload), whichever comes first, so a client
    that never gives up fails instead of hanging. Reaching a bound closes the connection abruptly:
    no finish chunk, no ``[DONE]``. ``interval`` is the pause between two pieces. The turn's own
    text, refusal and tool calls are not sent.

    On a non-stream request the body is a completion JSON whose content string never ends, with
    the same bounds.
    """

    text: str = attrs.field(default="lorem ipsum ", validator=attrs.validators.min_len(1))
    interval: float = attrs.field(default=0.0, validator=_non_negative)
    arguments: bool = False
    tool_name: str = "endless"
    max_seconds: float = attrs.field(default=10.0, validator=_non_negative)
    max_bytes: int = attrs.field(default=32 * 1024 * 1024, validator=_non_negative)


Fault = HTTPStatus | DropAfter | GarbageAfter | ErrorAfter | StallAfter | Endless
"""Any fault a ``Turn`` can carry."""
