"""An MCP tool result as an agentools tool result: the text the model reads, the rest kept.

A Chat Completions tool message carries text only, so the model reads the result's text parts
(or, when it has none, its structured content as JSON), a note for each image and audio clip,
which it sees in the user message after the turn's tool messages (see ``agentools.content``), and
a placeholder naming each resource it cannot see. Your code gets everything: the tool's value is
an ``MCPResult``, that text with the result's content blocks and structured content attached (in
hooks: ``ToolResult.value``). An error result (``isError``) raises ``MCPToolError`` with the
server's text, which the fault policy turns into the message the model is told.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types

from .._errors import AgentoolsError
from ..content import Audio, Image, WithMedia

__all__ = ["MCPConnectionError", "MCPResult", "MCPToolError", "to_result"]


class MCPToolError(AgentoolsError):
    """The MCP server answered the call with an error result; the message is the server's
    text."""


class MCPConnectionError(AgentoolsError, ConnectionError):
    """The call could not be made or answered: the server could not be reached, its process
    ended, or the connection broke."""


class MCPResult(str, WithMedia):
    """The text the model is given for an MCP tool result, with the whole result attached.

    A ``str`` so that it is the tool's result as any tool's string is; ``content`` holds the MCP
    content blocks (``mcp_types.ImageContent`` with its base64 ``data``, ...), ``structured``
    the structured content (``None`` if the tool gave none) and ``media`` its images and audio
    as ``agentools.Image`` / ``agentools.Audio``, which the model is shown.
    """

    content: tuple[Any, ...]
    structured: Any

    def __new__(cls, text: str, content: tuple[Any, ...] = (), structured: Any = None) -> MCPResult:
        result = super().__new__(cls, text)
        result.content = content
        result.structured = structured
        result.media = tuple(filter(None, map(_media, content)))
        return result

    @property
    def images(self) -> list[mcp_types.ImageContent]:
        """The image blocks, each with its ``mime_type`` and base64 ``data``."""
        return [block for block in self.content if isinstance(block, mcp_types.ImageContent)]


def _media(block: Any) -> Image | Audio | None:
    """An image or audio block as the model is shown it; ``None`` for any other block (and for
    audio in a format the Chat Completions API does not take)."""
    if isinstance(block, mcp_types.ImageContent):
        return Image(f"data:{block.mime_type};base64,{block.data}")
    if isinstance(block, mcp_types.AudioContent):
        audio_format = block.mime_type.rpartition("/")[2].replace("mpeg", "mp3").replace("x-", "")
        if audio_format in ("wav", "mp3"):
            return Audio(block.data, audio_format)  # type: ignore[arg-type]
    return None


def _describe(block: Any, shown: int) -> str | None:
    """A content block as text (``shown``: the number of the image or audio clip the model is
    shown, if it is one), ``None`` for one that is text-less and not worth naming."""
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, (mcp_types.ImageContent, mcp_types.AudioContent)):
        kind = "image" if isinstance(block, mcp_types.ImageContent) else "audio"
        size = len(block.data) * 3 // 4 - block.data[-2:].count("=")  # base64
        where = f"{shown}: in the user message after the tool results" if shown else "not shown"
        return f"[{kind} {where}; {block.mime_type}, {size} bytes]"
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
    shown = 0
    texts = []
    for block in content:
        shown_here = _media(block) is not None
        shown += shown_here
        text = _describe(block, shown if shown_here else 0)
        if text is not None:
            texts.append(text)
    if result.is_error:
        raise MCPToolError("\n".join(texts) or "the tool failed")
    has_text = any(isinstance(block, mcp_types.TextContent) for block in content)
    if result.structured_content is not None and not has_text:
        texts.insert(0, json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return MCPResult("\n".join(texts), content, result.structured_content)
