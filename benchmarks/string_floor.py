"""Benchmark: the least a Python parser can spend per chunk of a long string, against jiter.

On a tool-call argument that is nearly all one string (``bare-file`` in
``benchmarks/partial_json.py``) jiter's re-parse of the prefix is cheap: one string to copy. This
measures, on the same 50 KB document in the same 4-character chunks, parsers that do less and
less, to show what bounds the ratio to jiter there:

- ``agentools``: ``PartialJSONParser.feed(chunk)`` then ``.value``;
- ``checks + append``: a parser that only does what any parser with a live value must do for a
  chunk of plain string text: a method call, the three tests that the chunk is plain text (no
  quote, no backslash, no control character) and the in-place append to the string in its
  dict, then the ``.value`` read. It is not a parser (it drops every other chunk);
- ``call only``: a ``feed`` method that does nothing, then the ``.value`` read;
- ``jiter``: ``from_json(prefix_bytes, partial_mode="trailing-strings")`` after every chunk.

Run from the repository root: ``python benchmarks/string_floor.py`` (needs the ``bench`` extra).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from partial_json import CHUNK, best_times, make_bare_file_document, run_jiter, run_ours


class ChecksAndAppend:
    """The plain-text work of a parser whose value is live, and nothing else."""

    __slots__ = ("_container", "_key", "value")

    def __init__(self) -> None:
        self.value: dict[str, Any] = {"content": ""}
        self._container = self.value
        self._key = "content"

    def feed(self, chunk: str) -> None:
        if '"' not in chunk and "\\" not in chunk and chunk.isprintable():
            container = self._container
            key = self._key
            s = container[key]
            container[key] = None
            s += chunk  # in place: nothing else refers to s
            container[key] = s


class CallOnly:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = None

    def feed(self, chunk: str) -> None:
        pass


def run_stub(make: Callable[[], Any], chunks: list[str]) -> Callable[[], None]:
    def run() -> None:
        parser = make()
        for chunk in chunks:
            parser.feed(chunk)
            parser.value  # noqa: B018 - reading it is the point

    return run


def main() -> None:
    text = make_bare_file_document(50)
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    runs = {
        "agentools": (run_ours(text, chunks), 25),
        "checks + append": (run_stub(ChecksAndAppend, chunks), 25),
        "call only": (run_stub(CallOnly, chunks), 25),
        "jiter": (run_jiter(text, chunks), 5),
    }
    best = best_times(runs)
    print(
        f"Python {sys.version.split()[0]}; bare-file document, 50 KB = {len(text):,} chars, "
        f"{len(chunks):,} chunks of {CHUNK}; best of 25 runs (5 for jiter), taken in turn"
    )
    print(f"{'':<18}{'total':>11}{'per chunk':>12}{'jiter / it':>12}")
    for name, elapsed in best.items():
        per_chunk = elapsed / len(chunks) * 1e9
        ratio = best["jiter"] / elapsed
        print(f"{name:<18}{elapsed * 1e3:>8.2f} ms{per_chunk:>9.0f} ns{ratio:>11.1f}x")


if __name__ == "__main__":
    main()
