"""What the server sends: each workload's model responses, rendered once as SSE bytes.

A workload is a conversation the model side scripts: its responses in order, the deltas a client
must see and the answer it must return. The server picks the response from the number of tool
messages the request carries, so every contender, whatever its loop, gets the same bytes for the
same step. Workloads are named by kind and size (``text-2000``); the name travels as the model's
name in each request, which is how the server knows what to send.
"""

from __future__ import annotations

import functools
import itertools
import json

import attrs

from agentools.testing import Chunking, ToolCallSpec, Turn, render_chunks

PROMPT = "Go."
"""Every conversation's prompt: the server does not read it."""

_SENTENCE = "The quick brown fox jumps over the lazy dog while the cat naps in the sun. "
_CREATED = 1_700_000_000  # a fixed creation time, so the bytes are the same in every process


@attrs.frozen
class Workload:
    """One scripted conversation: the model's responses, and what a correct client counts."""

    name: str
    responses: tuple[Turn, ...]

    @property
    def answer(self) -> str:
        """The final answer's text (the last response's)."""
        return self.responses[-1].text or ""

    @property
    def tool_calls_before(self) -> tuple[int, ...]:
        """For each response, how many tool messages a request carries when it asks for it."""
        counts = itertools.accumulate(len(turn.tool_calls) for turn in self.responses)
        return (0, *counts)[: len(self.responses)]

    @property
    def text_deltas(self) -> int:
        """Non-empty content deltas of the whole conversation."""
        return sum(len(chunks_of(turn, "content")) for turn in self.responses)

    @property
    def argument_deltas(self) -> int:
        """Non-empty tool-call argument deltas of the whole conversation."""
        return sum(len(chunks_of(turn, "arguments")) for turn in self.responses)

    def response_for(self, tool_messages: int) -> int:
        """Which response answers a request carrying ``tool_messages`` tool messages."""
        try:
            return self.tool_calls_before.index(tool_messages)
        except ValueError:
            raise LookupError(
                f"{self.name}: no response follows {tool_messages} tool messages"
            ) from None


def chunks_of(turn: Turn, kind: str) -> list[str]:
    """The non-empty ``content`` or ``arguments`` pieces of ``turn``'s stream, in order."""
    pieces = []
    for chunk in render_chunks(turn, created=_CREATED):
        for choice in chunk["choices"]:
            delta = choice["delta"]
            if kind == "content" and delta.get("content"):
                pieces.append(delta["content"])
            for call in delta.get("tool_calls") or ():
                if kind == "arguments" and call.get("function", {}).get("arguments"):
                    pieces.append(call["function"]["arguments"])
    return pieces


def sse_bytes(turn: Turn) -> bytes:
    """``turn`` as the body of a streamed response: one ``data:`` event per chunk, then [DONE]."""
    events = [
        b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
        for chunk in render_chunks(turn, created=_CREATED, completion_id="chatcmpl-bench")
    ]
    return b"".join(events) + b"data: [DONE]\n\n"


def text(chunks: int) -> Workload:
    """(a) A text answer of ``4 * chunks`` characters in 4-character chunks (2,000: 8,000 chars)."""
    body = (_SENTENCE * (4 * chunks // len(_SENTENCE) + 1))[: 4 * chunks]
    return Workload(name=f"text-{chunks}", responses=(Turn(text=body, chunking=Chunking(text=4)),))


def arguments(chunks: int) -> Workload:
    """(b) One ``write_file`` call whose arguments are ``4 * chunks`` characters in 4-character
    chunks (12,592: about 50 KB), then a short text answer once the tool has run."""
    size = 4 * chunks
    empty = len(json.dumps({"path": "notes.txt", "content": ""}))
    line = "def line_{n}(self):\\n    return {n}  # é\\n"  # escapes, as real source has
    content = "".join(line.format(n=n).replace("\\n", "\n") for n in range(size))
    # Trim the content until its JSON is exactly `size` characters long.
    low, high = 0, size
    while low < high:
        middle = (low + high + 1) // 2
        if empty + len(json.dumps(content[:middle])) - 2 <= size:
            low = middle
        else:
            high = middle - 1
    content = content[:low] + "x" * (size - empty - len(json.dumps(content[:low])) + 2)
    call = ToolCallSpec(name="write_file", arguments={"path": "notes.txt", "content": content})
    assert len(call.arguments) == size, (len(call.arguments), size)
    return Workload(
        name=f"arguments-{chunks}",
        responses=(
            Turn(tool_calls=[attrs.evolve(call, id="call_0_0")], chunking=Chunking(arguments=4)),
            Turn(
                text="I wrote notes.txt for you; it holds the module you asked for.",
                chunking=Chunking(text=4),
            ),
        ),
    )


def turns(count: int, calls: int = 2) -> Workload:
    """(c) ``count`` turns of ``calls`` parallel ``lookup`` calls each, then a text answer."""
    responses = [
        Turn(
            text=f"Looking up batch {turn}." if turn else None,
            tool_calls=[
                ToolCallSpec(
                    name="lookup", arguments={"key": f"key-{turn}-{call}"}, id=f"call_{turn}_{call}"
                )
                for call in range(calls)
            ],
            chunking=Chunking(text=4, arguments=4),
        )
        for turn in range(count)
    ]
    answer = (
        "All keys were found: "
        + ", ".join(f"key-{turn}-{call}" for turn in range(count) for call in range(calls))
        + "."
    )
    responses.append(Turn(text=answer, chunking=Chunking(text=4)))
    return Workload(name=f"turns-{count}", responses=tuple(responses))


def waits(calls: int, milliseconds: int = 200) -> Workload:
    """``calls`` parallel ``wait`` calls of ``milliseconds`` each in one turn, then "done": a
    runner that runs them in parallel takes about one wait, not ``calls`` of them."""
    return Workload(
        name=f"waits-{calls}",
        responses=(
            Turn(
                tool_calls=[
                    ToolCallSpec(name="wait", arguments={"ms": milliseconds}, id=f"call_0_{n}")
                    for n in range(calls)
                ],
                chunking=Chunking(arguments=4),
            ),
            Turn(text="All waits are done.", chunking=Chunking(text=4)),
        ),
    )


_KINDS = {"text": text, "arguments": arguments, "turns": turns, "waits": waits}


@functools.cache
def workload(name: str) -> Workload:
    """The workload a name describes: ``<kind>-<size>`` (``text-2000``, ``arguments-12592``)."""
    kind, _, size = name.rpartition("-")
    if kind not in _KINDS or not size.isdigit():
        raise LookupError(f"no workload is named {name!r}")
    return _KINDS[kind](int(size))
