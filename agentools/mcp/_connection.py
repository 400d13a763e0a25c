"""One MCP session with one server, from connect to close, on a private loop.

The session's whole life is one task on the ``PrivateLoop`` (``Connection._serve``): it enters
the transport and the ``mcp.Client``, lists the tools, listens for changes to the list, waits
until it is told to close, and leaves them in the same task, in the reverse order. Tool calls are
other tasks on that loop, started from whichever thread or loop the caller is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AsyncExitStack
from typing import Any

import attrs
import httpx2
import mcp_types
from mcp import Client, MCPError
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from ._loop import PrivateLoop
from ._results import MCPConnectionError, MCPToolError

__all__ = ["Connection", "HttpServer", "StdioServer"]

logger = logging.getLogger("agentools.mcp")


@attrs.frozen
class StdioServer:
    """A server started as a subprocess, spoken to over its stdin and stdout."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None

    def __str__(self) -> str:
        return " ".join([self.command, *self.args])


@attrs.frozen
class HttpServer:
    """A server at a URL, spoken to over streamable HTTP."""

    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)  # may hold credentials

    def __str__(self) -> str:
        return self.url


Server = StdioServer | HttpServer


class Connection:
    """A session with ``server`` on a private loop: ``open()``, ``call()``, ``close()``.

    ``on_tools`` is called (on the private loop's thread) with the server's tool list when the
    session opens and each time the server says the list changed.
    """

    def __init__(
        self,
        server: Server,
        on_tools: Callable[[tuple[mcp_types.Tool, ...]], None],
        mode: str = "auto",
    ) -> None:
        self.server = server
        self.mode = mode
        self._on_tools = on_tools
        self._loop: PrivateLoop | None = None
        self._client: Client | None = None
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._host: Future[None] | None = None

    @property
    def protocol_version(self) -> str | None:
        client = self._client
        return None if client is None else client.protocol_version

    def start(self) -> Future[None]:
        """Start connecting; the future is done once the tools are listed (or it failed)."""
        self._loop = PrivateLoop(f"agentools-mcp {self.server}")
        ready: Future[None] = Future()
        self._host = self._loop.submit(lambda: self._serve(ready))
        return ready

    async def _serve(self, ready: Future[None]) -> None:
        try:
            async with AsyncExitStack() as stack:
                transport = await self._transport(stack)
                client = Client(
                    transport, message_handler=self._on_message, cache=None, mode=self.mode
                )
                self._client = await stack.enter_async_context(client)
                await self._list_tools()
                helpers = [
                    asyncio.create_task(self._listen()),
                    asyncio.create_task(self._refresh()),
                ]
                ready.set_result(None)
                try:
                    await self._closing.wait()
                finally:
                    self._client = None
                    for task in helpers:
                        task.cancel()
                    await asyncio.gather(*helpers, return_exceptions=True)
        except BaseException as error:
            if ready.done():
                raise
            ready.set_exception(error)

    async def _transport(self, stack: AsyncExitStack) -> Any:
        server = self.server
        if isinstance(server, StdioServer):
            parameters = StdioServerParameters(
                command=server.command,
                args=list(server.args),
                env=None if server.env is None else dict(server.env),
                cwd=server.cwd,
            )
            return stdio_client(parameters)
        # The mcp package's own timeouts: a long read, for its event streams.
        timeout = httpx2.Timeout(30.0, read=300.0)
        client = httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout)
        http = await stack.enter_async_context(client)
        return streamable_http_client(server.url, http_client=http)

    async def _list_tools(self) -> None:
        client = self._client
        if client is None:
            return
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        self._on_tools(tuple(tools))

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._changed.set()

    async def _listen(self) -> None:
        """Ask for the list's change notifications where the protocol asks for a subscription
        (2026-07-28); older servers send them unasked (``_on_message``)."""
        client = self._client
        if client is None:
            return
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._changed.set()
        except Exception as error:  # an older protocol, or a server that does not offer it
            logger.debug("no tool list subscription with %s: %r", self.server, error)

    async def _refresh(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._list_tools()
            except Exception as error:  # the old list stays; a call says what is wrong
                logger.warning("could not list the tools of %s again: %r", self.server, error)

    async def call(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call tool ``name`` from a coroutine on any loop; cancelling it cancels the call on
        the server."""
        loop = self._loop
        if loop is None:
            raise MCPConnectionError(f"the MCP server {self.server} is not connected")
        return await loop.run(lambda: self._call(name, arguments))

    async def _call(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        client = self._client
        if client is None:
            raise MCPConnectionError(f"the MCP server {self.server} is not connected")
        try:
            return await client.call_tool(name, arguments)
        except MCPError as error:
            if error.code == mcp_types.CONNECTION_CLOSED:
                raise MCPConnectionError(f"{self.server}: {error}") from None
            raise MCPToolError(str(error)) from None
        except OSError as error:
            raise MCPConnectionError(f"{self.server}: {error}") from None

    def stop(self) -> None:
        """Tell the session to end (from any thread)."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.loop.call_soon_threadsafe(self._closing.set)

    def abort(self) -> None:
        """Give up connecting (from any thread): the session's task is cancelled where it is."""
        if self._host is not None:
            self._host.cancel()

    @property
    def ended(self) -> Future[None] | None:
        """Done once the session has ended (closed, or failed to open)."""
        return self._host

    def finish(self, timeout: float) -> None:
        """After ``stop()`` and the session's end (or ``timeout`` seconds, after which whatever
        is left is cancelled): stop the loop and join its thread."""
        if self._host is not None:
            try:
                self._host.result(timeout)
            except FutureTimeout:
                self._host.cancel()
                with contextlib.suppress(BaseException):
                    self._host.result()
            except BaseException as error:  # the session broke; closing is all that is left
                logger.debug("the session with %s ended with %r", self.server, error)
        if self._loop is not None:
            self._loop.close()
        self._loop = self._host = None
