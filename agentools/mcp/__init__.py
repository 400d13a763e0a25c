"""MCP servers' tools as toolkits: ``MCPToolkit.stdio(command)``, ``MCPToolkit.http(url)``.

An optional extra (``pip install 'agentools[mcp]'``), on the official ``mcp`` package: nothing
else in agentools imports it. See ``docs/mcp.md``.
"""

try:
    import mcp as _mcp  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "agentools.mcp needs the 'mcp' package: pip install 'agentools[mcp]'"
    ) from error

from ._results import MCPConnectionError, MCPResult, MCPToolError
from .toolkit import MCPToolkit

__all__ = ["MCPConnectionError", "MCPResult", "MCPToolError", "MCPToolkit"]
