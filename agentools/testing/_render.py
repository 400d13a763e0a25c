"""Turns rendered as the exact JSON objects OpenAI's Chat Completions API sends.

Kept free of any I/O so tests and benchmarks can feed the same chunks to a client without HTTP,
e.g. ``ChatCompletionChunk.model_validate(d)`` for each ``d`` of ``render_chunks(turn)``.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import attrs

from ._script import Turn, Usage, cut

__all__ = ["ChunkFactory", "count_tokens", "render_chunks", "render_completion"]

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str | None) -> int:
    """A made-up token count (words and punctuation marks): plausible, cheap, deterministic."""
    return len(_TOKEN.findall(text)) if text else 0


def _default_call_ids() -> Iterator[str]:
    return (f"call_{n}" for n in itertools.count(1))


def _content(turn: Turn) -> str | None:
    # OpenAI sends content null when the model only calls tools or refuses.
    if turn.text is not None:
        return turn.text
    return None if turn.tool_calls or turn.refusal is not None else ""


def _usage(turn: Turn, prompt_tokens: int) -> Usage:
    if turn.usage is not None:
        return turn.usage
    completion_tokens = sum(
        max(
            1,
            count_tokens(choice.text)
            + count_tokens(choice.reasoning)
            + count_tokens(choice.refusal)
            + sum(
                count_tokens(call.name) + count_tokens(call.arguments) for call in choice.tool_calls
            ),
        )
        for choice in turn.choices
    )
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


@attrs.frozen
class ChunkFactory:
    """The envelope every chunk of one stream shares (id, model, creation time)."""

    completion_id: str
    model: str
    created: int
    include_usage: bool

    def chunk(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            # With include_usage OpenAI puts "usage": null on every chunk but the last.
            chunk["usage"] = None if usage is None else usage.as_dict()
        return chunk

    def delta(
        self, delta: dict[str, Any], *, index: int = 0, finish_reason: str | None = None
    ) -> dict[str, Any]:
        """A chunk carrying one choice's delta."""
        choice = {"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return self.chunk([choice])


def _choice_deltas(turn: Turn, call_ids: Iterator[str]) -> list[tuple[dict[str, Any], str | None]]:
    """One choice's (delta, finish_reason) pairs in stream order."""
    chunking = turn.chunking
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": "" if _content(turn) is not None else None}, None)
    ]
    key = turn.reasoning_key
    deltas += [({key: piece}, None) for piece in cut(turn.reasoning or "", chunking.reasoning)]
    deltas += [({"content": piece}, None) for piece in cut(turn.text or "", chunking.text)]
    deltas += [({"refusal": piece}, None) for piece in cut(turn.refusal or "", chunking.refusal)]
    for index, call in enumerate(turn.tool_calls):
        call_id = call.id if call.id is not None else next(call_ids)
        first_name, *more_name = cut(call.name, chunking.name) or [""]
        start = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": first_name, "arguments": ""},
        }
        deltas.append(({"tool_calls": [start]}, None))
        deltas += [
            ({"tool_calls": [{"index": index, "function": {"name": piece}}]}, None)
            for piece in more_name
        ]
        deltas += [
            ({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None)
            for piece in cut(call.arguments, chunking.arguments)
        ]
    deltas.append(({}, turn.resolved_finish_reason))
    return deltas


def render_chunks(
    turn: Turn,
    *,
    model: str = "fake-model",
    include_usage: bool = False,
    completion_id: str = "chatcmpl-fake",
    created: int | None = None,
    prompt_tokens: int = 0,
    call_ids: Iterator[str] | None = None,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects a stream of ``turn`` carries, in order.

    Each choice starts with a delta of ``role`` and empty ``content`` (null if it only calls tools
    or refuses), then its reasoning, content, refusal and tool-call deltas as ``turn.chunking``
    cuts them, then an empty delta with the finish reason. Choices are interleaved round-robin,
    one choice per chunk. With ``include_usage`` a last chunk with ``choices: []`` carries the
    usage.
    ``prompt_tokens`` feeds the made-up usage when the turn has none; ``call_ids`` numbers the tool
    calls that have no id (default ``call_1``, ``call_2``...). ``[DONE]`` is not a chunk: the
    server adds it.
    """
    factory = ChunkFactory(
        completion_id=completion_id,
        model=model,
        created=int(time.time()) if created is None else created,
        include_usage=include_usage,
    )
    ids = _default_call_ids() if call_ids is None else call_ids
    per_choice = [_choice_deltas(choice, ids) for choice in turn.choices]
    chunks = [
        factory.delta(delta, index=index, finish_reason=finish_reason)
        for step in range(max(len(deltas) for deltas in per_choice))
        for index, deltas in enumerate(per_choice)
        if step < len(deltas)
        for delta, finish_reason in [deltas[step]]
    ]
    if include_usage:
        chunks.append(factory.chunk([], usage=_usage(turn, prompt_tokens)))
    return chunks


def _message(turn: Turn, call_ids: Iterator[str]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": _content(turn),
        "refusal": turn.refusal,
    }
    if turn.reasoning is not None:
        message[turn.reasoning_key] = turn.reasoning
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id if call.id is not None else next(call_ids),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in turn.tool_calls
        ]
    return message


def render_completion(
    turn: Turn,
    *,
    model: str = "fake-model",
    completion_id: str = "chatcmpl-fake",
    created: int | None = None,
    prompt_tokens: int = 0,
    call_ids: Iterator[str] | None = None,
) -> dict[str, Any]:
    """The ``chat.completion`` object a non-stream request for ``turn`` receives, usage included.

    Parameters mean what they mean for ``render_chunks``; ``tool_calls`` is absent from a message
    without any, as in OpenAI's responses.
    """
    ids = _default_call_ids() if call_ids is None else call_ids
    choices = [
        {
            "index": index,
            "message": _message(choice, ids),
            "finish_reason": choice.resolved_finish_reason,
            "logprobs": None,
        }
        for index, choice in enumerate(turn.choices)
    ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": choices,
        "usage": _usage(turn, prompt_tokens).as_dict(),
    }
