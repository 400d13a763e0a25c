"""A loopback OpenAI-compatible Chat Completions server that replays scripted turns.

Real HTTP/1.1 on 127.0.0.1 (keep-alive, chunked SSE), so a test exercises the real ``openai``
client, its connection pool and its error mapping, not a mock of them.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from http.server import HTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ._handler import Backend, Handler
from ._recording import RecordedRequest
from ._script import Turn

if TYPE_CHECKING:
    import openai

__all__ = ["FakeOpenAIServer", "Responder"]

_log = logging.getLogger("agentools.testing")

Responder = Callable[[RecordedRequest], Turn]
"""Computes the turn answering a request, for a scripted model that reacts to the conversation."""

# How long close() waits for connection threads after shutting their sockets down; only a
# responder stuck in user code can outlast it.
_CLOSE_GRACE_SECONDS = 2.0
_POLL_SECONDS = 0.05


class _SerialIds:
    """``<prefix><n>`` for n = 1, 2...; safe to share between connection threads."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._last = 0
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        with self._lock:
            self._last += 1
            return f"{self._prefix}{self._last}"


class _State:
    """The server's script and records, shared by all connection threads (the handler's Backend)."""

    def __init__(self, turns: Iterable[Turn], responder: Responder | None, model: str) -> None:
        self.model = model
        self.call_ids = _SerialIds("call_")
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.script: deque[Turn] = deque(turns)
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []

    def is_closing(self, wait: float = 0.0) -> bool:
        return self.closing.wait(wait) if wait > 0 else self.closing.is_set()

    def record(self, request: RecordedRequest) -> int:
        with self.lock:
            self.requests.append(request)
            return len(self.requests)

    def next_turn(self, request: RecordedRequest) -> Turn | None:
        with self.lock:
            if self.script:
                return self.script.popleft()
        if self.responder is None:
            return None
        turn = self.responder(request)
        if not isinstance(turn, Turn):
            raise TypeError(f"a responder must return a Turn, not {type(turn).__name__}")
        return turn

    def report(self, error: BaseException) -> None:
        with self.lock:
            self.errors.append(error)


class _Connections:
    """Open client connections and the threads serving them, so close() can end them all."""

    def __init__(self) -> None:
        self._threads: dict[socket.socket, threading.Thread] = {}
        self._changed = threading.Condition()
        self.accepted = 0

    def add(self, connection: socket.socket, thread: threading.Thread) -> None:
        with self._changed:
            self._threads[connection] = thread
            self.accepted += 1

    def remove(self, connection: socket.socket) -> None:
        with self._changed:
            del self._threads[connection]
            self._changed.notify_all()

    @property
    def count(self) -> int:
        with self._changed:
            return len(self._threads)

    def wait_until_none(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._threads, timeout)

    def shut_down_all(self) -> None:
        """Wake every connection thread, whether blocked reading, writing or stalling."""
        with self._changed:
            connections = list(self._threads)
        for connection in connections:
            with suppress(OSError):  # already closed by its own thread
                connection.shutdown(socket.SHUT_RDWR)

    def join(self, timeout: float) -> list[threading.Thread]:
        """Join the connection threads within ``timeout`` in all; return those still alive."""
        if not self.wait_until_none(timeout):
            with self._changed:
                return list(self._threads.values())
        return []


class _ThreadingServer(socketserver.ThreadingMixIn, HTTPServer):
    """One daemon thread per connection, tracked in ``connections`` rather than by the mixin."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, backend: Backend, connections: _Connections) -> None:
        self.backend = backend
        self.connections = connections
        super().__init__(("127.0.0.1", 0), Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can hang for seconds offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        connection = cast(socket.socket, request)
        thread = threading.Thread(
            target=self._serve_connection,
            args=(connection, client_address),
            name=f"agentools-fake-openai-connection-{client_address[1]}",
            daemon=True,
        )
        self.connections.add(connection, thread)
        thread.start()

    def _serve_connection(self, connection: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(connection, client_address)
        finally:
            self.connections.remove(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is None or isinstance(error, OSError):
            return  # a client hanging up is routine here, not a failure of the server
        self.backend.report(error)
        _log.error("fake OpenAI server failed serving %s", client_address, exc_info=error)


class FakeOpenAIServer:
    """A Chat Completions endpoint on 127.0.0.1 answering each request with the next scripted turn.

    ``turns`` are served in order, one per chat completion request, as an SSE stream when the
    request says ``stream: true`` and as a whole completion otherwise. Once they are used up the
    ``responder`` (if any) computes each answer from the request; it may be called from several
    threads at once. Without one, an exhausted script answers HTTP 500 "script exhausted", so a
    test that makes one call too many fails loudly.

    Use it as a context manager (or ``start()``/``close()``) and talk to it with ``client()`` or
    ``async_client()``::

        with FakeOpenAIServer([Turn(text="Hello!")]) as server, server.client() as client:
            reply = client.chat.completions.create(model="m", messages=[...])
        assert server.requests[0].messages == [...]

    Every request is recorded (``requests``), including failed and unrouted ones. Errors raised
    while serving (a responder's exception, a bug) are kept in ``errors`` and answered with 500.

    Routes: ``POST /v1/chat/completions`` (``/chat/completions`` too) and ``GET /v1/models``;
    anything else is a 404 and a body that is not a JSON object a 400, both with OpenAI-style
    error bodies. Request bodies need a ``Content-Length``, as every HTTP client sends for JSON.
    """

    def __init__(
        self,
        turns: Iterable[Turn] = (),
        *,
        responder: Responder | None = None,
        model: str = "fake-model",
    ) -> None:
        self._state = _State(turns, responder, model)
        self._connections = _Connections()
        self._httpd: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, *turns: Turn) -> None:
        """Append turns to the script, e.g. between the steps of a test."""
        with self._state.lock:
            self._state.script.extend(turns)

    def start(self) -> FakeOpenAIServer:
        """Bind a free port and serve in a background thread; starting twice is harmless."""
        if self._closed:
            raise RuntimeError("a closed FakeOpenAIServer cannot be started again")
        if self._httpd is None:
            self._httpd = _ThreadingServer(self._state, self._connections)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": _POLL_SECONDS},
                name="agentools-fake-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, cut every open connection (mid-stream ones too) and join all threads.

        Idempotent. Clients still holding pooled connections see them closed by the server.
        """
        if self._closed:
            return
        self._closed = True
        self._state.closing.set()
        if self._httpd is None or self._thread is None:
            return
        self._httpd.shutdown()
        self._thread.join()
        self._connections.shut_down_all()
        stuck = self._connections.join(_CLOSE_GRACE_SECONDS)
        self._httpd.server_close()
        if stuck:
            _log.warning("fake OpenAI server closed with %d connection thread(s) stuck", len(stuck))

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, for any OpenAI-compatible client."""
        if self._httpd is None:
            raise RuntimeError("the server is not started: call start() or use it in a with block")
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    def client(self, **kwargs: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` for this server; close it (``with``) to release its connections.

        Defaults, which ``kwargs`` override: a fake API key, ``max_retries=0`` (so an injected
        fault surfaces as the SDK's exception instead of a retry), and an HTTP client that ignores
        proxy environment variables, which would otherwise route 127.0.0.1 through a proxy.
        """
        import openai

        options = self._client_options(kwargs)
        if "http_client" not in options:
            options["http_client"] = openai.DefaultHttpx2Client(trust_env=False)
        return openai.OpenAI(**options)

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` for this server, with the defaults of ``client()``."""
        import openai

        options = self._client_options(kwargs)
        if "http_client" not in options:
            options["http_client"] = openai.DefaultAsyncHttpx2Client(trust_env=False)
        return openai.AsyncOpenAI(**options)

    def _client_options(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": "sk-fake", "max_retries": 0, **overrides}

    @property
    def model(self) -> str:
        """The model name in completions and in ``GET /v1/models``."""
        return self._state.model

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, in arrival order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def errors(self) -> list[BaseException]:
        """A snapshot of the errors raised while serving (a responder's, for one)."""
        with self._state.lock:
            return list(self._state.errors)

    @property
    def pending(self) -> int:
        """Scripted turns not served yet."""
        with self._state.lock:
            return len(self._state.script)

    @property
    def open_connections(self) -> int:
        """Client connections currently open, from accept until the server has closed them."""
        return self._connections.count

    @property
    def connections_accepted(self) -> int:
        """Client connections accepted since start: 1 for many requests means keep-alive worked."""
        return self._connections.accepted

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no connection is open; whether that happened within ``timeout`` seconds.

        The server notices a client's hang-up only on its next read or write, so after closing a
        client a leak check should wait for this rather than read ``open_connections`` at once.
        """
        return self._connections.wait_until_none(timeout)
