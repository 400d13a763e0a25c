"""The HTTP side of the fake server: routing, SSE over chunked encoding, and fault injection."""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from ._faults import DropAfter, Endless, ErrorAfter, GarbageAfter, HTTPStatus, StallAfter
from ._recording import RecordedRequest
from ._render import ChunkFactory, count_tokens, render_chunks, render_completion
from ._script import Turn

__all__ = ["Backend", "Handler"]

_log = logging.getLogger("agentools.testing")

_CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODELS_PATHS = frozenset({"/v1/models", "/models"})
# How often a stall looks whether the client has gone or the server is closing.
_POLL_SECONDS = 0.02


class Backend(Protocol):
    """What the handler needs from the server that owns it."""

    @property
    def model(self) -> str: ...

    @property
    def call_ids(self) -> Iterator[str]: ...

    def is_closing(self, wait: float = 0.0) -> bool:
        """Whether the server is closing, waiting up to ``wait`` seconds for it to start."""
        ...

    def record(self, request: RecordedRequest) -> int:
        """Keep ``request``; return its serial number (from 1) for ids."""
        ...

    def next_turn(self, request: RecordedRequest) -> Turn | None:
        """The turn answering ``request``; None when the script is exhausted."""
        ...

    def report(self, error: BaseException) -> None:
        """Keep an error raised while serving, for the test to see."""
        ...


class _HasBackend(Protocol):
    backend: Backend


def error_body(status: int, message: str) -> dict[str, Any]:
    """An error object shaped like OpenAI's, which the SDK turns into its exception's message."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    code = "rate_limit_exceeded" if status == 429 else None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _dumps(value: Any, *, ensure_ascii: bool = False) -> bytes:
    # surrogatepass: a lone surrogate a test put in a raw item goes out as it is, not as a crash.
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def _raw_item(item: Mapping[str, Any] | bytes, *, ensure_ascii: bool) -> bytes:
    return item if isinstance(item, bytes) else _dumps(item, ensure_ascii=ensure_ascii)


def _frame(payload: bytes) -> bytes:
    """One SSE event carrying ``payload``."""
    return b"data: " + payload + b"\n\n"


def _prompt_tokens(request: RecordedRequest) -> int:
    return count_tokens(json.dumps(request.messages))


class Handler(BaseHTTPRequestHandler):
    """Serves one connection: any number of keep-alive requests, each recorded then answered."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each SSE event should leave at once, as its own segment

    @property
    def backend(self) -> Backend:
        return cast(_HasBackend, self.server).backend

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self._route()
        except OSError:
            # The client went away, or close() shut the socket down: nothing left to answer.
            self.close_connection = True

    def _route(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            # Without a usable length the next request's start cannot be found: answer, then close.
            self.close_connection = True
            length = "0"
        raw_body = self.rfile.read(int(length))
        try:
            parsed = json.loads(raw_body) if raw_body else {}
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=parsed if isinstance(parsed, dict) else {},
            raw_body=raw_body,
        )
        serial = self.backend.record(request)
        path = urlsplit(self.path).path.rstrip("/")
        if self.command == "POST" and path in _CHAT_PATHS:
            if not isinstance(parsed, dict):
                self._send_error(400, "the request body must be a JSON object", serial)
                return
            self._chat(request, serial)
        elif self.command == "GET" and path in _MODELS_PATHS:
            model = {
                "id": self.backend.model,
                "object": "model",
                "created": 0,
                "owned_by": "agentools",
            }
            self._send_json(200, _dumps({"object": "list", "data": [model]}), serial)
        else:
            self._send_error(404, f"no route for {self.command} {path}", serial)

    def _chat(self, request: RecordedRequest, serial: int) -> None:
        try:
            turn = self.backend.next_turn(request)
        except Exception as error:
            self.backend.report(error)
            self._send_error(500, f"the responder raised {error!r}", serial)
            return
        if turn is None:
            self._send_error(
                500, "script exhausted: no scripted turn left and no responder", serial
            )
            return
        fault = turn.fault
        if isinstance(fault, HTTPStatus):
            self._send_status_fault(fault, serial)
        elif isinstance(fault, ErrorAfter) and not request.stream:
            self._send_json(500, _dumps({"error": fault.error()}), serial)
        elif request.stream:
            _Stream(self, turn, request, serial).send()
        else:
            self._complete(turn, request, serial)

    # -- plain responses --------------------------------------------------------------------

    def send_head(
        self,
        status: int,
        content_type: str,
        serial: int,
        *,
        length: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Status line and headers; ``length`` None announces a chunked body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Content-Length", str(length))
        self.send_header("x-request-id", f"req_fake_{serial}")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send_json(
        self, status: int, body: bytes, serial: int, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.send_head(status, "application/json", serial, length=len(body), headers=headers)
        self.wfile.write(body)

    def _send_error(self, status: int, message: str, serial: int) -> None:
        self._send_json(status, _dumps(error_body(status, message)), serial)

    def _send_status_fault(self, fault: HTTPStatus, serial: int) -> None:
        if fault.body is None:
            body = _dumps(error_body(fault.status, f"injected HTTP {fault.status}"))
        elif isinstance(fault.body, str):
            body = fault.body.encode()
        else:
            body = _dumps(fault.body)
        self._send_json(fault.status, body, serial, fault.headers)

    def _complete(self, turn: Turn, request: RecordedRequest, serial: int) -> None:
        fault = turn.fault
        if isinstance(fault, Endless):
            _Stream(self, turn, request, serial).send_endless_completion(fault)
            return
        if turn.raw is None:
            completion = render_completion(
                turn,
                model=self.backend.model,
                completion_id=f"chatcmpl-fake-{serial}",
                prompt_tokens=_prompt_tokens(request),
                call_ids=self.backend.call_ids,
            )
            body = _dumps(completion, ensure_ascii=turn.ensure_ascii)
        elif len(turn.raw) == 1:
            body = _raw_item(turn.raw[0], ensure_ascii=turn.ensure_ascii)
        else:
            error = ValueError(
                f"a raw turn answering a non-stream request holds exactly one item, "
                f"not {len(turn.raw)}"
            )
            self.backend.report(error)
            self._send_error(500, str(error), serial)
            return
        if isinstance(fault, GarbageAfter):
            self._send_json(200, fault.data.encode(), serial)
        elif isinstance(fault, DropAfter) and fault.chunks == 0:
            self.drop(reset=fault.reset)
        elif isinstance(fault, DropAfter):
            self.send_head(200, "application/json", serial, length=len(body))
            self.wfile.write(body[: len(body) // 2])
            self.drop(reset=fault.reset)
        elif isinstance(fault, StallAfter):
            if fault.chunks == 0:
                if self.stall(fault.seconds) and fault.resume:
                    self._send_json(200, body, serial)
                else:
                    self.drop()
                return
            self.send_head(200, "application/json", serial, length=len(body))
            if self.stall(fault.seconds) and fault.resume:
                self.wfile.write(body)
            else:
                self.drop()
        else:
            self._send_json(200, body, serial)

    # -- connection control ------------------------------------------------------------------

    def drop(self, *, reset: bool = False) -> None:
        """End this connection without completing the response (with an RST if ``reset``)."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The descriptor really closes, with the RST, once finish() closes rfile.
            self.connection.close()

    def stall(self, seconds: float) -> bool:
        """Send nothing for ``seconds``; False if the client left or the server closed meanwhile."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.backend.is_closing(wait=min(_POLL_SECONDS, remaining)) or self._client_gone():
                return False
        return True

    def _client_gone(self) -> bool:
        sock = self.connection
        try:
            sock.setblocking(False)
            peeked: bytes = sock.recv(1, socket.MSG_PEEK)
            return peeked == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            with suppress(OSError):
                sock.setblocking(True)

    def write_chunk(self, data: bytes) -> None:
        """One chunk of the chunked encoding; empty ``data`` is the terminating chunk."""
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))


class _Stream:
    """One chunked response body: an SSE stream, or an endless completion, with its fault."""

    def __init__(self, handler: Handler, turn: Turn, request: RecordedRequest, serial: int) -> None:
        self._handler = handler
        self._turn = turn
        self._request = request
        self._serial = serial
        self._completion_id = f"chatcmpl-fake-{serial}"

    def send(self) -> None:
        """Stream the turn's chunks then ``[DONE]``, interrupted where its fault says."""
        fault = self._turn.fault
        if isinstance(fault, Endless):
            self._send_endless_stream(fault)
            return
        ensure_ascii = self._turn.ensure_ascii
        if self._turn.raw is None:
            chunks = render_chunks(
                self._turn,
                model=self._handler.backend.model,
                include_usage=self._request.include_usage,
                completion_id=self._completion_id,
                prompt_tokens=_prompt_tokens(self._request),
                call_ids=self._handler.backend.call_ids,
            )
            events = [_frame(_dumps(chunk, ensure_ascii=ensure_ascii)) for chunk in chunks]
        else:
            events = [
                item
                if isinstance(item, bytes)
                else _frame(_raw_item(item, ensure_ascii=ensure_ascii))
                for item in self._turn.raw
            ]
        events.append(_frame(b"[DONE]"))
        interrupting = (DropAfter, GarbageAfter, ErrorAfter, StallAfter)
        interruption = fault if isinstance(fault, interrupting) else None
        fault_at = None if interruption is None else min(interruption.chunks, len(events))
        self._handler.send_head(200, "text/event-stream; charset=utf-8", self._serial)
        for index in range(len(events) + 1):
            if index == fault_at and interruption is not None and not self._interrupt(interruption):
                return
            if index < len(events) and events[index]:  # b"" would be the terminating chunk
                self._handler.write_chunk(events[index])
        self._handler.write_chunk(b"")

    def _event(self, payload: bytes) -> None:
        self._handler.write_chunk(_frame(payload))

    def _interrupt(self, fault: DropAfter | GarbageAfter | ErrorAfter | StallAfter) -> bool:
        """Apply ``fault`` mid-stream; whether the stream goes on afterwards."""
        if isinstance(fault, ErrorAfter):
            self._event(_dumps({"error": fault.error()}))
            self._handler.write_chunk(b"")
            return False
        if isinstance(fault, GarbageAfter):
            self._event(fault.data.encode())
            if not fault.close:
                return True
        elif isinstance(fault, StallAfter) and self._handler.stall(fault.seconds) and fault.resume:
            return True
        self._handler.drop(reset=isinstance(fault, DropAfter) and fault.reset)
        return False

    def _send_endless_stream(self, fault: Endless) -> None:
        factory = ChunkFactory(
            completion_id=self._completion_id,
            model=self._handler.backend.model,
            created=int(time.time()),
            include_usage=self._request.include_usage,
        )
        self._handler.send_head(200, "text/event-stream; charset=utf-8", self._serial)
        role = {"role": "assistant", "content": None if fault.arguments else ""}
        self._event(_dumps(factory.delta(role)))
        if fault.arguments:
            call_id = next(self._handler.backend.call_ids)
            function = {"name": fault.tool_name, "arguments": ""}
            start = {"index": 0, "id": call_id, "type": "function", "function": function}
            self._event(_dumps(factory.delta({"tool_calls": [start]})))
            piece: dict[str, Any] = {
                "tool_calls": [{"index": 0, "function": {"arguments": fault.text}}]
            }
        else:
            piece = {"content": fault.text}
        encoded = _dumps(factory.delta(piece))
        self._repeat(lambda: self._event(encoded), len(encoded), fault)

    def send_endless_completion(self, fault: Endless) -> None:
        """A completion whose content string never closes, for clients reading whole bodies."""
        head = {"id": self._completion_id, "object": "chat.completion", "created": int(time.time())}
        prefix = _dumps(head)[:-1] + b', "model": ' + _dumps(self._handler.backend.model)
        prefix += b', "choices": [{"index": 0, "message": {"role": "assistant", "content": "'
        self._handler.send_head(200, "application/json", self._serial)
        self._handler.write_chunk(prefix)
        encoded = _dumps(fault.text)[1:-1]
        self._repeat(lambda: self._handler.write_chunk(encoded), len(encoded), fault)

    def _repeat(self, write: Callable[[], None], size: int, fault: Endless) -> None:
        """Call ``write`` until a bound of ``fault`` is reached, then drop the connection."""
        handler = self._handler
        deadline = time.monotonic() + fault.max_seconds
        sent = 0
        while sent < fault.max_bytes and (remaining := deadline - time.monotonic()) > 0:
            # A client that stops reading would otherwise block the write past the deadline.
            handler.connection.settimeout(remaining)
            write()
            sent += size
            if handler.backend.is_closing(wait=fault.interval):
                break
        handler.drop()
