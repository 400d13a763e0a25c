"""The messages of a conversation, as attrs value objects.

They mirror the Chat Completions message dicts one to one (``role`` picks the class), so that a
history converts to what the API accepts without loss, and back. They are frozen: a message that is
in a history never changes under it; build a new one with ``attrs.evolve``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = [
    "REASONING_KEYS",
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

REASONING_KEYS = ("reasoning_content", "reasoning")
"""The keys under which OpenAI-compatible servers put an assistant message's reasoning:
``reasoning_content`` (llama.cpp, DeepSeek, Qwen, vLLM before 0.10) and ``reasoning`` (vLLM,
Ollama, OpenRouter, gpt-oss servers)."""


def _no_field_names(names: frozenset[str]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
        clash = names.intersection(value)
        if clash:
            raise ValueError(f"{attribute.name} may not hold the fields {sorted(clash)}")

    return check


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
    extra: Mapping[str, Any] = attrs.field(
        factory=dict,
        hash=False,
        validator=_no_field_names(frozenset({"id", "type", "function", "index"})),
    )
    """The call's keys besides ``id``, ``type`` and ``function``, as the server sent them and as
    it wants them back (Gemini's ``extra_content`` with its thought signature)."""


@attrs.frozen(kw_only=True)
class AssistantMessage:
    """What the model said: its text, its tool calls or its refusal.

    ``extra`` holds the keys the server put on the message besides those of the API's
    assistant message: its reasoning (``reasoning_content`` or ``reasoning``), provider
    signatures, anything else. They are kept as they came, in the history and its JSON, and sent
    back as they came (``Settings.send_reasoning=False`` leaves the reasoning out of requests),
    so that a server which needs its own fields back gets them.
    """

    content: str | None = None
    tool_calls: tuple[ToolCallRecord, ...] = ()
    refusal: str | None = None
    name: str | None = None
    extra: Mapping[str, Any] = attrs.field(
        factory=dict,
        hash=False,
        validator=_no_field_names(frozenset({"content", "tool_calls", "refusal", "name", "role"})),
    )
    role: Literal["assistant"] = attrs.field(default="assistant", init=False)

    @property
    def reasoning(self) -> str | None:
        """The model's reasoning, if the server sent it (under one of ``REASONING_KEYS``)."""
        for key in REASONING_KEYS:
            value = self.extra.get(key)
            if isinstance(value, str):
                return value
        return None


@attrs.frozen(kw_only=True)
class ToolMessage:
    tool_call_id: str
    content: str
    role: Literal["tool"] = attrs.field(default="tool", init=False)


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage
"""Any message of a history; ``message.role`` tells which."""


@attrs.frozen(kw_only=True)
class TokenUsage:
    """Token counts, summed over the model calls they describe.

    ``cached_tokens`` (of the prompt tokens, those the server read from its prompt cache) and
    ``reasoning_tokens`` (of the completion tokens, those spent reasoning) are 0 where the server
    does not report them (``prompt_tokens_details`` / ``completion_tokens_details``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )
