"""``MCPToolkit``: the tools of an MCP server, as a toolkit any assistant takes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType
from typing import Any, get_args

import mcp_types

from .._errors import ToolDefinitionError
from .._schema import SchemaError, Signature
from ..settings import ErrorDetail
from ..tools import FunctionTool, Toolkit
from ._connection import Connection, HttpServer, Server, StdioServer
from ._results import MCPConnectionError, to_result

__all__ = ["MCPToolkit"]

logger = logging.getLogger("agentools.mcp")

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class MCPToolkit(Toolkit):
    """The tools of one MCP server, for ``Assistant(tools=[...])`` like any toolkit.

    Make one with ``MCPToolkit.stdio(command)`` (a server started as a subprocess) or
    ``MCPToolkit.http(url, headers=...)`` (streamable HTTP). It connects on first use (the first
    model call of a run) or when opened with ``with`` / ``async with``, and stays connected
    until ``close()`` or the end of the block. The session lives on a private event loop in a
    thread of the toolkit's own, so the toolkit serves ``run()`` (no event loop needed) and
    ``arun()`` alike, any number of runs, and closes cleanly.

    - ``prefix``: tool names are ``f"{prefix}_{name}"``, to keep apart the tools of servers
      that use the same names. Default: no prefix (the server's names), and two tools of one
      name are an error naming both when the assistant reads its tools.
    - ``allow`` / ``deny``: the server's tool names (before the prefix) to offer, or to hide.
    - ``timeout``: seconds per call, as any tool's ``timeout=``; the call is then cancelled on
      the server (``notifications/cancelled``), as when the run is cancelled.
    - ``strict``: ask for OpenAI's strict mode for the tools whose schema allows it.
    - ``error_detail``, ``raise_errors``: as for any tool.
    - ``connect_timeout``: seconds to connect and list the tools.
    - ``mode``: how the protocol version is agreed (the ``mcp`` package's ``Client(mode=...)``):
      ``"auto"`` asks the server and falls back to the older handshake, ``"legacy"`` uses
      that handshake at once.
    """

    dynamic = True

    def __init__(
        self,
        server: Server,
        *,
        prefix: str | None = None,
        allow: Iterable[str] | None = None,
        deny: Iterable[str] = (),
        timeout: float | None = None,
        strict: bool = True,
        error_detail: ErrorDetail | None = None,
        raise_errors: bool = False,
        connect_timeout: float = 30.0,
        mode: str = "auto",
    ) -> None:
        if isinstance(allow, str) or isinstance(deny, str):
            raise ToolDefinitionError("allow and deny are lists of tool names, not one string")
        if error_detail is not None and error_detail not in get_args(ErrorDetail):
            raise ToolDefinitionError(
                f"error_detail must be 'message', 'type' or 'none', not {error_detail!r}"
            )
        if timeout is not None and not timeout > 0:
            raise ToolDefinitionError(
                f"timeout must be a positive number of seconds, not {timeout!r}"
            )
        self.server = server
        self.prefix = prefix
        self.allow = None if allow is None else frozenset(allow)
        self.deny = frozenset(deny)
        self.timeout = timeout
        self.strict = strict
        self.error_detail = error_detail
        self.raise_errors = raise_errors
        self.connect_timeout = connect_timeout
        self.mode = mode
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._tools: tuple[FunctionTool[..., Any], ...] = ()

    @classmethod
    def stdio(
        cls,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **options: Any,
    ) -> MCPToolkit:
        """A server started as a subprocess: ``command`` is the program and its arguments
        (a string is the program alone). ``env`` adds to a small safe environment (the MCP
        package's default, not the whole of ours)."""
        argv = [command] if isinstance(command, str) else list(command)
        if not argv:
            raise ToolDefinitionError("command names no program")
        server = StdioServer(argv[0], tuple(argv[1:]), None if env is None else dict(env), cwd)
        return cls(server, **options)

    @classmethod
    def http(
        cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any
    ) -> MCPToolkit:
        """A server at ``url`` over streamable HTTP; ``headers`` go with every request (an
        ``Authorization``, say)."""
        return cls(HttpServer(url, dict(headers or {})), **options)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def protocol_version(self) -> str | None:
        """The MCP protocol version agreed with the server; ``None`` when not connected."""
        connection = self._connection
        return None if connection is None else connection.protocol_version

    def open(self) -> None:
        """Connect and list the tools, if not connected yet (blocks this thread meanwhile);
        ``MCPConnectionError`` if the server cannot be reached."""
        with self._lock:
            if self._connection is not None:
                return
            connection = Connection(self.server, self._set_tools, self.mode)
            ready = connection.start()
            try:
                ready.result(self.connect_timeout)
            except BaseException as error:
                connection.abort()
                connection.finish(self.connect_timeout)
                raise _connect_error(self.server, error) from None
            self._connection = connection

    async def aopen(self) -> None:
        """``open()`` for a coroutine: the caller's loop goes on while it connects."""
        with self._lock:
            if self._connection is not None:
                return
            connection = Connection(self.server, self._set_tools, self.mode)
            ready = connection.start()
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(ready)), self.connect_timeout)
        except BaseException as error:
            connection.abort()
            await _finished(connection, self.connect_timeout)
            if isinstance(error, asyncio.CancelledError):
                raise
            raise _connect_error(self.server, error) from None
        with self._lock:
            first = self._connection is None
            if first:
                self._connection = connection
        if not first:  # another thread opened it meanwhile
            connection.stop()
            await _finished(connection, self.connect_timeout)

    def close(self) -> None:
        """End the session (the server's process, for stdio) and the toolkit's thread. Calls
        still running get an error. The next use connects again."""
        with self._lock:
            connection, self._connection = self._connection, None
            self._tools = ()
        if connection is not None:
            connection.stop()
            connection.finish(self.connect_timeout)

    async def aclose(self) -> None:
        """``close()`` for a coroutine: the caller's loop goes on while the session ends."""
        with self._lock:
            connection, self._connection = self._connection, None
            self._tools = ()
        if connection is not None:
            connection.stop()
            await _finished(connection, self.connect_timeout)

    def __enter__(self) -> MCPToolkit:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> MCPToolkit:
        await self.aopen()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- tools -------------------------------------------------------------------------------

    def tools(self) -> list[FunctionTool[..., Any]]:
        """The server's tools as they are now (connecting first if needed), filtered and named
        with the prefix."""
        self.open()
        return list(self._tools)

    def _set_tools(self, listed: tuple[mcp_types.Tool, ...]) -> None:
        """On the private loop: the server's tool list, as first listed or changed."""
        offered = [
            tool
            for tool in listed
            if (self.allow is None or tool.name in self.allow) and tool.name not in self.deny
        ]
        tools = []
        for tool in offered:
            try:
                tools.append(self._tool(tool))
            except SchemaError as error:  # not a JSON object schema: the model could not call it
                logger.warning("MCP tool %r of %s left out: %s", tool.name, self.server, error)
        self._tools = tuple(tools)

    def _tool(self, tool: mcp_types.Tool) -> FunctionTool[..., Any]:
        name = _UNSAFE.sub("_", tool.name if self.prefix is None else f"{self.prefix}_{tool.name}")
        signature = Signature.from_schema(
            name[:64], tool.description or "", tool.input_schema, strict=self.strict
        )
        return FunctionTool(
            _caller(self, tool.name),
            signature=signature,
            timeout=self.timeout,
            raise_errors=self.raise_errors,
            error_detail=self.error_detail,
        )

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Call the server's tool ``name`` (its own name, without the prefix) yourself: its
        ``MCPResult``, or ``MCPToolError`` / ``MCPConnectionError``."""
        connection = self._connection
        if connection is None:
            raise MCPConnectionError(f"the MCP server {self.server} is not connected")
        return to_result(await connection.call(name, dict(arguments or {})))

    def __repr__(self) -> str:
        shown = f"{len(self._tools)} tools" if self.is_open else "not connected"
        return f"<MCPToolkit {self.server} ({shown})>"


def _caller(toolkit: MCPToolkit, name: str) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """The function of the server's tool ``name``: ``async def``, taking the arguments object
    whole, so it runs as a task under ``arun()`` and on a loop in a tool thread under ``run()``;
    either way, cancelling it cancels the call on the server."""

    async def call(arguments: dict[str, Any]) -> Any:
        return await toolkit.call(name, arguments)

    call.__name__ = call.__qualname__ = name
    return call


def _connect_error(server: Server, error: BaseException) -> MCPConnectionError:
    if isinstance(error, (TimeoutError, asyncio.TimeoutError, FutureTimeout)):
        return MCPConnectionError(f"could not connect to the MCP server {server} in time")
    while isinstance(inner := getattr(error, "exceptions", None), tuple) and inner:
        error = inner[0]  # the first of an exception group's: the cause, as a rule
    return MCPConnectionError(f"could not connect to the MCP server {server}: {error!r}")


async def _finished(connection: Connection, timeout: float) -> None:
    """Wait for a stopped session to end without blocking the loop, then join its thread."""
    ended = connection.ended
    try:
        if ended is not None:
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(ended)), timeout)
    finally:
        connection.finish(timeout)  # ended already, unless cancelled or out of time
