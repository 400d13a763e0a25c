"""Server-sent events, bytes in, JSON payloads out: what the raw streaming path reads instead of
the SDK's typed chunks.

``SSEDecoder.feed(data)`` takes the bytes of one read, however the stream was cut into reads, and
returns the JSON payloads of the events it completed, each decoded into plain values (dicts,
lists, strings, ...), as ``json.loads`` would. It follows the event-stream format (the WHATWG
HTML standard, section 9.2.6): lines end in LF, CRLF or CR; ``:`` starts a comment; ``data:``
lines of one event are joined with ``"\\n"``; a blank line ends an event; ``event:`` names it;
``id:``, ``retry:`` and unknown fields are ignored; a UTF-8 BOM may start the stream; an event
that is not finished when the stream ends is dropped.
On top of that, what Chat Completions streams say: ``data: [DONE]`` ends the stream (``done``),
an event without data (a keep-alive ``event: ping``) is nothing, and an event whose payload is
``{"error": {...}}``, or named ``error``, is the server's error (``StreamError``).

A fault (an error event, a payload that is not JSON or not UTF-8) is raised by the call after the
one that read it (``feed`` or ``end``), so that the payloads before it are delivered first, as
the SDK's stream delivers its chunks before it raises.

The common case is made cheap: a read that holds whole events of one ``data:`` line each and no
CR costs one split and one JSON decoding per event, with no per-line work
(``benchmarks/chunk_breakdown.py`` times it).
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import StreamError

__all__ = ["SSEDecoder"]

_BOM = b"\xef\xbb\xbf"
_raw_decode = json.JSONDecoder().raw_decode


class SSEDecoder:
    """Decodes one event stream, incrementally."""

    __slots__ = ("_cr", "_fault", "_pending", "_request", "_started", "done")

    def __init__(self, request: Any = None) -> None:
        self._request = request
        """The HTTP request, for ``StreamError`` (an ``openai.APIError`` carries it)."""
        self._pending: list[bytes] = []
        """The bytes of an event not ended yet (as read: joined once it ends, so that an event
        arriving in many reads costs its length, not its length times the reads), their line
        ends already turned into LF."""
        self._cr = False
        """The last read ended in a CR: an LF starting the next one ends the same line."""
        self._started = False
        """The stream's first bytes (and its BOM, if any) have been read."""
        self._fault: Exception | None = None
        self.done = False
        """``[DONE]`` or a fault was read: nothing after it is an event of this stream."""

    def feed(self, data: bytes) -> list[Any]:
        """The payloads of the events that ``data`` (the next bytes of the stream) completes."""
        if self._fault is not None:
            self._raise_fault()
        if self.done or not data:
            return []
        if not self._started:
            data = b"".join([*self._pending, data])
            self._pending.clear()
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._pending.append(data)  # perhaps the start of a BOM cut across reads
                return []
            self._started = True
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
        if self._cr:
            self._cr = False
            if data[:1] == b"\n":
                data = data[1:]
                if not data:
                    return []
        if b"\r" in data:
            self._cr = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._pending
        if pending:
            if b"\n\n" not in data and not (data[:1] == b"\n" and pending[-1][-1:] == b"\n"):
                pending.append(data)  # the event goes on
                return []
            data = b"".join([*pending, data])
            pending.clear()
        blocks = data.split(b"\n\n")
        rest = blocks.pop()
        if rest:
            pending.append(rest)
        payloads: list[Any] = []
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                data, event = block[6:], None
            else:
                event, fields = _fields(block)
                if fields is None:
                    continue
                data = fields
            if data[:6] == b"[DONE]":
                self.done = True
                break
            try:
                text = data.decode("utf-8", "surrogatepass")
                # raw_decode, the JSON decoder without json.loads' look for whitespace around the
                # value, costs half as much; json.loads decides the rare payload it does not take.
                payload, end = _raw_decode(text)
                if end != len(text):
                    payload = json.loads(text)
            except json.JSONDecodeError:
                try:
                    payload = json.loads(text)
                except ValueError as error:
                    self._fail(error)
                    break
            except ValueError as error:  # not UTF-8
                self._fail(error)
                break
            if (type(payload) is dict and payload.get("error")) or event == b"error":
                body = payload.get("error") if type(payload) is dict else None
                self._fail(StreamError(body or payload, self._request))
                break
            payloads.append(payload)
        return payloads

    def end(self) -> None:
        """The stream ended: raises the fault read last, if any (an unfinished event is dropped,
        as the standard says)."""
        self._raise_fault()

    def _fail(self, error: Exception) -> None:
        self._fault = error
        self.done = True

    def _raise_fault(self) -> None:
        fault = self._fault
        if fault is not None:
            self._fault = None
            raise fault


def _fields(block: bytes) -> tuple[bytes | None, bytes | None]:
    """The ``event`` name and the data (``None`` if it has no ``data:`` line) of one event's
    lines, when they are more than one ``data:`` line."""
    event = None
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line[:1] == b":":
            continue
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value
    return event, b"\n".join(data) if data else None
