"""An MCP tool result as an agentools tool result: the text the model reads, the rest kept.

A Chat Completions tool message carries text only, so the model reads the result's text parts
(or, when it has none, its structured content as JSON), and a placeholder naming each image,
audio clip or resource it cannot see. Your code gets everything: the tool's value is an
``MCPResult``, that text with the result's content blocks and structured content attached (in
hooks: ``ToolResult.value``). An error result (``isError``) raises ``MCPToolError`` with the
server's text, which the fault policy turns into the message the model is told.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types

from .._errors import AgentoolsError

__all__ = ["MCPConnectionError", "MCPResult", "MCPToolError", "to_result"]


class MCPToolError(AgentoolsError):
    """The MCP server answered the call with an error result; the message is the server's
    text."""


class MCPConnectionError(AgentoolsError, ConnectionError):
    """The call could not be made or answered: the server could not be reached, its process
    ended, or the connection broke."""


class MCPResult(str):
    """The text the model is given for an MCP tool result, with the whole result attached.

    A ``str`` so that it is the tool's result as any tool's string is; ``content`` holds the MCP
    content blocks (``mcp_types.ImageContent`` with its base64 ``data``, ...) and ``structured``
    the structured content (``None`` if the tool gave none).
    """

    content: tuple[Any, ...]
    structured: Any

    def __new__(cls, text: str, content: tuple[Any, ...] = (), structured: Any = None) -> MCPResult:
        result = super().__new__(cls, text)
        result.content = content
        result.structured = structured
        return result

    @property
    def images(self) -> list[mcp_types.ImageContent]:
        """The image blocks, each with its ``mime_type`` and base64 ``data``."""
        return [block for block in self.content if isinstance(block, mcp_types.ImageContent)]


def _describe(block: Any) -> str | None:
    """A content block as text, ``None`` for one that is text-less and not worth naming."""
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, (mcp_types.ImageContent, mcp_types.AudioContent)):
        kind = "image" if isinstance(block, mcp_types.ImageContent) else "audio"
        size = len(block.data) * 3 // 4 - block.data[-2:].count("=")  # base64
        return f"[{kind}: {block.mime_type}, {size} bytes, not shown]"
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return f"[resource: {resource.uri}, {resource.mime_type or 'binary'}, not shown]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link: {block.uri}]"
    return None


def to_result(result: mcp_types.CallToolResult) -> MCPResult:
    """The tool's value for ``result``; raises ``MCPToolError`` for an error result."""
    content = tuple(result.content)
    texts = [text for text in map(_describe, content) if text is not None]
    if result.is_error:
        raise MCPToolError("\n".join(texts) or "the tool failed")
    has_text = any(isinstance(block, mcp_types.TextContent) for block in content)
    if result.structured_content is not None and not has_text:
        texts.insert(0, json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return MCPResult("\n".join(texts), content, result.structured_content)
