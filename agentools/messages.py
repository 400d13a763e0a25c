"""The messages of a conversation, as attrs value objects.

They mirror the Chat Completions message dicts one to one (``role`` picks the class), so that a
history converts to what the API accepts without loss, and back. They are frozen: a message that is
in a history never changes under it; build a new one with ``attrs.evolve``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = [
    "AssistantMessage",
    "ContentPart",
    "DeveloperMessage",
    "Message",
    "SystemMessage",
    "ToolCallRecord",
    "ToolMessage",
    "TokenUsage",
    "UserMessage",
]

ContentPart = dict[str, Any]
"""A content part (``{"type": "text", ...}``, ``{"type": "image_url", ...}``), kept as it is."""


@attrs.frozen(kw_only=True)
class SystemMessage:
    content: str
    name: str | None = None
    role: Literal["system"] = attrs.field(default="system", init=False)


@attrs.frozen(kw_only=True)
class DeveloperMessage:
    content: str
    name: str | None = None
    role: Literal["developer"] = attrs.field(default="developer", init=False)


@attrs.frozen(kw_only=True)
class UserMessage:
    content: str | list[ContentPart]
    name: str | None = None
    role: Literal["user"] = attrs.field(default="user", init=False)


@attrs.frozen(kw_only=True)
class ToolCallRecord:
    """A tool call as an assistant message in the history records it.

    ``arguments`` is the JSON text exactly as the model wrote it (the API wants it back verbatim),
    or ``"{}"`` when what it wrote was not a JSON object (the tool message answering the call
    says so). The call as hooks see it, with its parsed arguments, is ``agentools.ToolCall``.
    """

    id: str
    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class AssistantMessage:
    content: str | None = None
    tool_calls: tuple[ToolCallRecord, ...] = ()
    refusal: str | None = None
    name: str | None = None
    role: Literal["assistant"] = attrs.field(default="assistant", init=False)


@attrs.frozen(kw_only=True)
class ToolMessage:
    tool_call_id: str
    content: str
    role: Literal["tool"] = attrs.field(default="tool", init=False)


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage
"""Any message of a history; ``message.role`` tells which."""


@attrs.frozen(kw_only=True)
class TokenUsage:
    """Token counts, summed over the model calls they describe."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )
