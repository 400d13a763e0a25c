"""How many tokens messages take, roughly: the estimate trimming (``agentools.trimming``) and the
token limits (``Settings.max_total_tokens``, ``max_request_tokens``) go by, and what a counter of
your own (a tokenizer's) must look like."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

from ._converter import message_to_openai
from .messages import Message

__all__ = [
    "CHARS_PER_TOKEN",
    "MEDIA_PART_TOKENS",
    "MESSAGE_TOKENS",
    "TokenCounter",
    "estimate_tokens",
]

TokenCounter = Callable[[Sequence[Message]], int]
"""How many tokens a list of messages takes; ``estimate_tokens`` is the default, a tokenizer's
count (tiktoken, the model's own) is exact. It must not count fewer for more messages: trimming
bisects on it."""

CHARS_PER_TOKEN = 4
"""Characters of JSON per token, the usual rule of thumb for English text and code with OpenAI's
tokenizers (fewer characters per token for other scripts: the estimate is then low)."""

MESSAGE_TOKENS = 4
"""Tokens each message costs besides its fields (role markers and separators in the chat format)."""

MEDIA_PART_TOKENS = 1_000
"""What an image or audio part counts, whatever its size: its base64 data says nothing of its
tokens (gpt-4o reads a 1024x1024 image at high detail as 765 tokens, any image at low detail as
85)."""


def estimate_tokens(messages: Sequence[Message]) -> int:
    """A cheap estimate of the tokens ``messages`` take in a request: for each message, its
    JSON as sent (``History.to_openai()``), one token per ``CHARS_PER_TOKEN`` characters, plus
    ``MESSAGE_TOKENS``; an image or audio part counts ``MEDIA_PART_TOKENS`` instead of its JSON.

    Within a few tens of percent for English text; use a tokenizer (any ``TokenCounter``) when
    the budget is tight."""
    return sum(_estimate_message(message) for message in messages)


def _estimate_message(message: Message) -> int:
    sent = message_to_openai(message)
    media = 0
    content = sent.get("content")
    if isinstance(content, list):
        text_parts = [part for part in content if part.get("type") == "text"]
        media = len(content) - len(text_parts)
        sent["content"] = text_parts
    chars = len(json.dumps(sent, ensure_ascii=False, separators=(",", ":")))
    return MESSAGE_TOKENS + math.ceil(chars / CHARS_PER_TOKEN) + media * MEDIA_PART_TOKENS
