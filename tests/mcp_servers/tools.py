"""The tools both test MCP servers serve, written with the ``mcp`` package's server API
(``MCPServer``): a quick one, a slow one, a failing one, one returning an image, one with a nested
schema, one returning structured content, and one that adds a tool (the list changes).

``slow(seconds, tag)`` leaves a trace in the directory ``MCP_TEST_DIR`` names (when set): a file
``started-<tag>`` once it runs, ``cancelled-<tag>`` if the client cancelled it
(``notifications/cancelled`` reaches the handler as a cancellation), so a test can cancel a call it
knows the server is running, and see that the server stopped it.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
"""A 1x1 PNG."""

TRACES = os.environ.get("MCP_TEST_DIR")


def trace(name: str) -> None:
    if TRACES:
        with open(os.path.join(TRACES, name), "w"):
            pass


class Point(BaseModel):
    x: float
    y: float


class Route(BaseModel):
    name: str
    points: list[Point]


class Weather(BaseModel):
    city: str
    celsius: float


def make_server(name: str) -> MCPServer:
    server = MCPServer(name, log_level="ERROR")

    @server.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return f"{name}:{text}"

    @server.tool()
    async def slow(seconds: float, tag: str = "") -> str:
        """Sleep, then say so."""
        trace(f"started-{tag}")
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            trace(f"cancelled-{tag}")
            raise
        return f"slept {seconds}"

    arrivals: dict[str, int] = {}
    gates: dict[str, asyncio.Event] = {}

    @server.tool()
    async def meet(party: str, size: int) -> str:
        """Wait until ``size`` calls of one party are running at once: calls made one after
        the other fail (after 20 s), parallel ones meet."""
        arrivals[party] = arrivals.get(party, 0) + 1
        gate = gates.setdefault(party, asyncio.Event())
        if arrivals[party] >= size:
            gate.set()
        try:
            await asyncio.wait_for(gate.wait(), 20)
        except asyncio.TimeoutError:
            raise ToolError(f"only {arrivals[party]} of {size} came") from None
        return f"met {size}"

    @server.tool()
    def fail(reason: str) -> str:
        """Always fails."""
        raise ToolError(f"failed: {reason}")

    @server.tool()
    def picture() -> Image:
        """A tiny picture."""
        return Image(data=PNG, format="png")

    @server.tool()
    def length(route: Route) -> float:
        """The length of a route (a nested schema)."""
        total = 0.0
        for a, b in zip(route.points, route.points[1:], strict=False):
            total += ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5
        return total

    @server.tool()
    def weather(city: str) -> Weather:
        """Structured content."""
        return Weather(city=city, celsius=21.5)

    @server.tool()
    async def grow(tool_name: str, ctx: Context) -> str:
        """Add a tool named ``tool_name`` (the tool list changes)."""

        def added() -> str:
            return f"I am {tool_name}"

        server.add_tool(added, name=tool_name, description="Added at run time.")
        await ctx.notify_tools_changed()  # to a 2026-07-28 session's subscription
        if ctx.request_context.session.protocol_version != "2026-07-28":
            await ctx.request_context.session.send_tool_list_changed()  # unasked, before that
        return "added"

    @server.tool()
    def crash() -> str:
        """End the server process (a transport failure)."""
        sys.stdout.flush()
        os._exit(3)

    return server
