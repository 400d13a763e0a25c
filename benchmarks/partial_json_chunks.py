"""Benchmark: where the partial-JSON parser spends its time, by kind of chunk.

Feeds a 50 KB document of ``benchmarks/partial_json.py`` in 4-character chunks and times each
``feed(chunk)`` plus the ``.value`` read on its own (the best of many passes for each chunk,
less the timer's own cost), then groups the chunks by what the parser had to do with them.

Run from the repository root: ``python benchmarks/partial_json_chunks.py [shape]`` (shape:
string-heavy, structured or bare-file; default string-heavy).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from partial_json import CHUNK, SHAPES

import agentools.partial_json as pj

PASSES = 30


def kind_of(parser: pj.PartialJSONParser, chunk: str) -> str:
    """What the parser must do with ``chunk``, from the state it is in before it."""
    state = parser._state
    if state == pj._STRING:
        if '"' in chunk:
            return "string: a quote (escaped or closing)"
        if "\\" in chunk:
            return "string: ends with a backslash" if chunk.endswith("\\") else "string: escapes"
        return "string: plain text" if chunk.isprintable() else "string: other"
    if state == pj._ESCAPE:
        return "string: after a chunk that ended with a backslash"
    if state == pj._KEY_STRING:
        return "inside a key"
    return "structure: keys, numbers, punctuation"


def main() -> None:
    shape = sys.argv[1] if len(sys.argv) > 1 else "string-heavy"
    text = SHAPES[shape][1](50)
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    parser = pj.PartialJSONParser()
    kinds = []
    for chunk in chunks:
        kinds.append(kind_of(parser, chunk))
        parser.feed(chunk)
    clock = time.perf_counter_ns
    best = [sys.maxsize] * len(chunks)
    for _ in range(PASSES):
        parser = pj.PartialJSONParser()
        for i, chunk in enumerate(chunks):
            start = clock()
            parser.feed(chunk)
            parser.value  # noqa: B018 - reading it is the point
            elapsed = clock() - start
            if elapsed < best[i]:
                best[i] = elapsed
    timer = min(-clock() + clock() for _ in range(10_000))
    by_kind: defaultdict[str, list[int]] = defaultdict(list)
    for kind, ns in zip(kinds, best, strict=True):
        by_kind[kind].append(max(ns - timer, 0))
    total = sum(sum(times) for times in by_kind.values())
    print(f"{shape}, 50 KB, {len(chunks):,} chunks of {CHUNK}; best of {PASSES} passes per chunk")
    print(f"{'kind of chunk':<52}{'share':>7}{'median':>9}{'of time':>9}")
    for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
        median = sorted(times)[len(times) // 2]
        share = len(times) / len(chunks)
        print(f"{kind:<52}{share:>7.1%}{median:>6} ns{sum(times) / total:>9.1%}")
    print(f"{'mean over all chunks':<52}{'':>7}{total / len(chunks):>6.0f} ns")


if __name__ == "__main__":
    main()
