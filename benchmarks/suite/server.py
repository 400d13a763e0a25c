"""The model side: an asyncio HTTP server, in its own process, sending pre-rendered streams.

Its own process, so that its CPU time is not the client's (``time.process_time()`` in the client
counts only the client). One thread and one event loop serve any number of connections, keep-alive
included, so 1,000 conversations at once need no thousand threads. Each response is the workload's
rendered bytes, written at once with a ``Content-Length``: every contender reads and decodes the
same bytes, and the server does no work per chunk.

``python -m benchmarks.suite.server`` prints ``port <n>`` once it listens; ``Server`` starts and
stops it from the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path

from .workloads import sse_bytes, workload

_ROOT = Path(__file__).resolve().parents[2]
_rendered: dict[tuple[str, int], bytes] = {}


def response_body(request: bytes) -> bytes:
    """The stream answering a chat completions request's JSON body (the workload is its model)."""
    body = json.loads(request)
    if body.get("stream") is not True:
        raise ValueError("the suite's server only streams")
    script = workload(body["model"])
    tool_messages = sum(1 for message in body["messages"] if message.get("role") == "tool")
    key = (script.name, script.response_for(tool_messages))
    if key not in _rendered:
        _rendered[key] = sse_bytes(script.responses[key[1]])
    return _rendered[key]


def _reply(status: str, content_type: str, payload: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + payload


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            request = await reader.readexactly(length)
            try:
                reply = _reply("200 OK", "text/event-stream", response_body(request))
            except (LookupError, ValueError) as error:
                message = json.dumps({"error": {"message": str(error)}}).encode()
                print(f"suite server: {error}", file=sys.stderr, flush=True)
                reply = _reply("400 Bad Request", "application/json", message)
            writer.write(reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass  # the client left, or the server is stopping
    finally:
        writer.close()


async def _main() -> None:
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    async with server:
        # Stop when the suite closes our stdin (or dies).
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


class Server:
    """The server process, for ``with Server() as base_url:``."""

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.suite.server"],
            cwd=_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            self.__exit__()
            raise RuntimeError(f"the suite's server did not start: {line!r}")
        return f"http://127.0.0.1:{int(line.split()[1])}/v1"

    def __exit__(self, *_: object) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    asyncio.run(_main())
