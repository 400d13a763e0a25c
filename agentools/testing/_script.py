"""What a scripted assistant turn says, and how its strings are cut into stream pieces."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._faults import Fault

__all__ = [
    "ChunkSize",
    "Chunking",
    "RawItem",
    "ToolCallSpec",
    "Turn",
    "Usage",
    "split",
    "split_at",
]

ChunkSize = int | None | Sequence[int]
"""Characters per piece (0 or None: one piece), or explicit cut offsets for ``split_at``."""


def split(text: str, size: int | None) -> list[str]:
    """Cut ``text`` into pieces of ``size`` characters (the last may be shorter).

    ``size`` 0 or None gives the whole text as one piece; an empty text gives no piece at all, so
    an empty string never produces an empty delta.
    """
    if size is not None and size < 0:
        raise ValueError(f"size must not be negative, got {size}")
    if not text:
        return []
    if not size:
        return [text]
    return [text[start : start + size] for start in range(0, len(text), size)]


def split_at(text: str, cuts: Iterable[int]) -> list[str]:
    """Cut ``text`` at the given character offsets, to place a boundary exactly where a test wants
    one (inside an escape sequence, between a surrogate pair's characters, after a key's quote...).

    Offsets may come in any order and repeat; 0 and ``len(text)`` are allowed and cut nothing, as
    empty pieces are dropped. An offset outside that range is a mistake in the test: ValueError.
    """
    offsets = sorted(set(cuts))
    if offsets and (offsets[0] < 0 or offsets[-1] > len(text)):
        raise ValueError(f"cut offsets must lie within 0..{len(text)}, got {offsets}")
    bounds = [0, *offsets, len(text)]
    return [text[start:end] for start, end in itertools.pairwise(bounds) if end > start]


def cut(text: str, size: int | tuple[int, ...] | None) -> list[str]:
    """Pieces of ``text`` for a ``Chunking`` field: a size for ``split``, cuts for ``split_at``."""
    if isinstance(size, tuple):
        return split_at(text, size)
    return split(text, size)


def _chunk_size(value: ChunkSize) -> int | tuple[int, ...] | None:
    if value is None or isinstance(value, int):
        if value is not None and value < 0:
            raise ValueError(f"a chunk size must not be negative, got {value}")
        return value
    return tuple(value)


def _arguments_text(value: str | Mapping[str, Any]) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@attrs.frozen
class ToolCallSpec:
    """One function call the scripted model makes.

    ``arguments`` given as a mapping is stored as its ``json.dumps``; a string is kept verbatim,
    so a test can send truncated or otherwise broken JSON. ``id`` None lets the server number the
    call ``call_<n>``, unique within that server.
    """

    name: str
    arguments: str = attrs.field(default="{}", converter=_arguments_text)
    id: str | None = None


@attrs.frozen
class Chunking:
    """How a turn is cut into stream chunks: characters per delta for each kind of string.

    0 or None sends a string whole in one delta; a sequence of offsets cuts exactly there (see
    ``split_at``). ``name`` 0 puts the whole tool name in the call's first delta, as OpenAI does;
    a size spreads it over that first delta and the following ones, for clients that must
    concatenate names too. Arguments always start with an empty string in the first delta.
    """

    text: int | tuple[int, ...] | None = attrs.field(default=8, converter=_chunk_size)
    name: int | tuple[int, ...] | None = attrs.field(default=0, converter=_chunk_size)
    arguments: int | tuple[int, ...] | None = attrs.field(default=16, converter=_chunk_size)
    refusal: int | tuple[int, ...] | None = attrs.field(default=8, converter=_chunk_size)
    reasoning: int | tuple[int, ...] | None = attrs.field(default=8, converter=_chunk_size)


@attrs.frozen
class Usage:
    """Token counts reported for a completion; the total is derived, as OpenAI's always adds up."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None = None
    """Sent as ``prompt_tokens_details.cached_tokens`` when given (OpenAI, llama.cpp)."""
    reasoning_tokens: int | None = None
    """Sent as ``completion_tokens_details.reasoning_tokens`` when given (reasoning models)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        """The ``usage`` object of the wire format."""
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage


def _tool_calls(value: Iterable[ToolCallSpec]) -> tuple[ToolCallSpec, ...]:
    return tuple(value)


def _turns(value: Iterable[Turn]) -> tuple[Turn, ...]:
    return tuple(value)


RawItem = Mapping[str, Any] | bytes
"""One item of a raw turn: a wire object sent as JSON, or bytes written verbatim."""


def _raw(value: Iterable[RawItem] | None) -> tuple[RawItem, ...] | None:
    if value is None:
        return None
    items = tuple(value)
    for item in items:
        if not isinstance(item, (Mapping, bytes)):
            raise TypeError(f"a raw item is a mapping or bytes, not {type(item).__name__}")
    return items


@attrs.frozen
class Turn:
    r"""One scripted assistant response: what the model says, how it is chunked, what goes wrong.

    Any of ``text``, ``refusal`` and ``tool_calls`` may be combined; a turn with none of them is an
    empty answer (content ``""``). ``reasoning`` is streamed first, before the text, under
    ``reasoning_key`` (``"reasoning_content"`` as llama.cpp and DeepSeek send it, or
    ``"reasoning"`` as vLLM and Ollama do), and is in a whole completion's message under that
    key. ``finish_reason`` None means ``"tool_calls"`` when there are tool calls and ``"stop"``
    otherwise; any other string (``"length"``, ``"content_filter"``) is sent as given.

    ``usage`` None makes up a plausible one from word counts. It is sent as a last chunk with
    ``choices: []`` only when the request asked for ``stream_options.include_usage`` (as OpenAI
    does), and always in a non-stream completion.

    ``extra_choices`` become choices 1, 2... (their deltas interleaved with choice 0's in the
    stream), for clients that must follow choice 0 when ``n > 1``; their own ``usage``, ``fault``
    and ``extra_choices`` are ignored. ``fault`` applies to the whole response (see ``_faults``).

    ``raw`` sends exactly the wire objects a test gives, to reproduce a real server's quirks; the
    turn then says nothing else (``text``, ``refusal``, ``tool_calls``, ``finish_reason``,
    ``usage`` and ``extra_choices`` must be left out). In a stream each mapping is one SSE event
    ``data: <json>``, as it is (no id, model or usage is added), and bytes are written verbatim as
    the next piece of the body, for malformed SSE (``b"data: {\"a\": \n\n"``, a comment line,
    an event split in two); ``data: [DONE]`` follows. A non-stream request takes exactly one
    item: a mapping is the whole completion body, bytes the body verbatim. Each item counts as one
    event for the faults' ``chunks``.

    ``ensure_ascii`` is how the server writes its JSON, this turn's chunks or completion as well
    as its raw mappings: False (the default) sends non-ASCII characters as UTF-8, as OpenAI does;
    True sends them as ``\uXXXX`` escapes, so ``raw=[{... "content": "\ud83d"}, {...
    "content": "\ude00"}]`` sends an emoji's surrogate pair split across two chunks, as some
    servers do. A lone surrogate written without escapes goes out as its (invalid) UTF-8 bytes.
    """

    text: str | None = None
    tool_calls: tuple[ToolCallSpec, ...] = attrs.field(default=(), converter=_tool_calls)
    refusal: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    chunking: Chunking = Chunking()
    extra_choices: tuple[Turn, ...] = attrs.field(default=(), converter=_turns)
    fault: Fault | None = None
    raw: tuple[RawItem, ...] | None = attrs.field(default=None, converter=_raw)
    ensure_ascii: bool = False
    reasoning: str | None = None
    reasoning_key: str = "reasoning_content"

    def __attrs_post_init__(self) -> None:
        if self.raw is None:
            return
        said = [
            name
            for name, value in [
                ("text", self.text),
                ("refusal", self.refusal),
                ("reasoning", self.reasoning),
                ("finish_reason", self.finish_reason),
                ("usage", self.usage),
            ]
            if value is not None
        ] + [name for name in ("tool_calls", "extra_choices") if getattr(self, name)]
        if said:
            raise ValueError(f"a raw turn sends only its raw items; it cannot have {said}")

    @property
    def resolved_finish_reason(self) -> str:
        """The finish reason actually sent."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    @property
    def choices(self) -> tuple[Turn, ...]:
        """This turn as choice 0 followed by its extra choices."""
        return (self, *self.extra_choices)
