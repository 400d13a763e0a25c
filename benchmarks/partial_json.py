"""Benchmark: the value of a streamed tool-call argument after every chunk.

A model streams a tool call's ``arguments`` in small chunks and a UI shows the parsed value
after each one. This compares, for documents of 1, 10, 50 and 100 KB fed in 4-character chunks:

- ``agentools``: ``PartialJSONParser.feed(chunk)`` then read ``.value``, after every chunk;
- ``jiter``: ``jiter.from_json(prefix_bytes, partial_mode="trailing-strings")`` on the whole
  prefix after every chunk (what the OpenAI SDK does; the prefix is a slice of the pre-encoded
  document, the cheapest way to get it);
- ``partial-json-parser``: ``partial_json_parser.loads(prefix)`` after every chunk;
- ``json.loads`` of the whole document once: the floor.

The document is a realistic "write a file" argument: a few short fields, one long ``content``
string of Python-like source, most of the size, and a list of small ``{"line", "op", "note"}``
objects (about 10%). The source has newlines, indentation, quotes, backslashes and some non-ASCII:
about 5% of its JSON text is escape characters (standard-library modules have 3 to 4%).

Run from the repository root: ``python benchmarks/partial_json.py`` (needs the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jiter  # noqa: E402
import partial_json_parser  # noqa: E402

from agentools.partial_json import PartialJSONParser  # noqa: E402

SIZES_KB = (1, 10, 50, 100)
CHUNK = 4
PARSERS = ("agentools", "jiter", "partial-json-parser", "json.loads (once)")

_CODE_LINES = [
    "def handler_{i}(request, *, retries=3):",
    '    """Serve item {i} from the cache, retrying a few times on a miss.',
    "",
    "    The cache is shared between workers, so a miss may be filled by another one while",
    "    we wait; the delay grows with each attempt (déjà vu: see handler_0).",
    '    """',
    "    path = request.path.rstrip('/') + f\"/items/{i}\"",
    "    for attempt in range(retries):",
    "        value = cache.get(path)",
    "        if value is not None:",
    '            return {{"status": 200, "body": value, "attempt": attempt}}',
    "        time.sleep(0.05 * attempt)  # back off before asking again",
    '    raise LookupError(f"{{path!r}}\\tnot found after {{retries}} tries\\n")',
    "",
]


def make_document(size_kb: int) -> str:
    """A tool-call argument of about ``size_kb`` KB (as JSON text)."""
    target = size_kb * 1024
    edits = []
    while len(json.dumps(edits)) < target // 10:
        n = len(edits)
        edits.append({"line": 10 * n + 1, "op": "insert", "note": f"handler {n} added"})
    doc = {
        "path": "src/service/handlers.py",
        "mode": "overwrite",
        "language": "python",
        "content": "",
        "edits": edits,
    }
    room = target - len(json.dumps(doc, ensure_ascii=False))
    lines: list[str] = []
    i = 0
    while len(json.dumps("\n".join(lines), ensure_ascii=False)) < room:
        lines.append(_CODE_LINES[i % len(_CODE_LINES)].format(i=i // len(_CODE_LINES)))
        i += 1
    content = "\n".join(lines)
    while len(json.dumps(content, ensure_ascii=False)) > room:
        content = content[:-1]
    doc["content"] = content
    return json.dumps(doc, ensure_ascii=False)


def run_ours(text: str, chunks: list[str]) -> None:
    parser = PartialJSONParser()
    for chunk in chunks:
        parser.feed(chunk)
        parser.value  # noqa: B018 - reading it is the point
    parser.close()


def run_jiter(text: str, chunks: list[str]) -> None:
    data = text.encode()
    ends = []
    end = 0
    for chunk in chunks:
        end += len(chunk.encode())
        ends.append(end)
    from_json = jiter.from_json
    for end in ends:
        from_json(data[:end], partial_mode="trailing-strings")


def run_partial_json_parser(text: str, chunks: list[str]) -> None:
    loads = partial_json_parser.loads
    end = 0
    for chunk in chunks:
        end += len(chunk)
        loads(text[:end])


def run_json_once(text: str, chunks: list[str]) -> None:
    json.loads(text)


RUNNERS: dict[str, Callable[[str, list[str]], None]] = {
    "agentools": run_ours,
    "jiter": run_jiter,
    "partial-json-parser": run_partial_json_parser,
    "json.loads (once)": run_json_once,
}


def best_time(run: Callable[[str, list[str]], None], text: str, repeat: int) -> float:
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(text, chunks)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--repeat", type=int, default=7, help="repetitions of the fast parsers")
    cli.add_argument(
        "--pjp-max-kb",
        type=int,
        default=50,
        help="largest size partial-json-parser is measured at; larger ones are extrapolated",
    )
    cli.add_argument("--plot", type=Path, default=Path(__file__).with_suffix(".png"))
    args = cli.parse_args()

    docs = {kb: make_document(kb) for kb in SIZES_KB}
    times: dict[str, dict[int, float]] = {name: {} for name in PARSERS}
    estimated: set[tuple[str, int]] = set()
    for kb, text in docs.items():
        for name, run in RUNNERS.items():
            if name == "partial-json-parser":
                if kb > args.pjp_max_kb:
                    continue
                times[name][kb] = best_time(run, text, 1 if kb >= 10 else 3)
            else:
                times[name][kb] = best_time(
                    run, text, 1 if kb >= 50 and name == "jiter" else args.repeat
                )
    measured = max(times["partial-json-parser"])
    for kb in SIZES_KB:
        if kb not in times["partial-json-parser"]:
            # Re-parsing every prefix is quadratic: scale from the largest measured size.
            times["partial-json-parser"][kb] = (
                times["partial-json-parser"][measured] * (kb / measured) ** 2
            )
            estimated.add(("partial-json-parser", kb))

    print(f"Python {sys.version.split()[0]}, {CHUNK}-character chunks, value read after each")
    print("document sizes: " + ", ".join(f"{kb} KB = {len(docs[kb]):,} chars" for kb in SIZES_KB))
    header = f"{'parser':<22}" + "".join(f"{f'{kb} KB':>14}" for kb in SIZES_KB)
    print(header)
    for name in PARSERS:
        cells = []
        for kb in SIZES_KB:
            cell = f"{times[name][kb] * 1e3:,.2f} ms" + ("*" if (name, kb) in estimated else "")
            cells.append(f"{cell:>14}")
        print(f"{name:<22}" + "".join(cells))
    ours = times["agentools"]
    print(
        f"{'jiter / agentools':<22}"
        + "".join(f"{times['jiter'][kb] / ours[kb]:>13.1f}x" for kb in SIZES_KB)
    )
    print(
        f"{'pjp / agentools':<22}"
        + "".join(f"{times['partial-json-parser'][kb] / ours[kb]:>13.0f}x" for kb in SIZES_KB)
    )
    per_chunk = "".join(
        f"{f'{ours[kb] / -(-len(docs[kb]) // CHUNK) * 1e9:.0f} ns':>14}" for kb in SIZES_KB
    )
    print(f"{'agentools per chunk':<22}{per_chunk}")
    print(f"agentools time(100 KB) / time(50 KB) = {ours[100] / ours[50]:.2f}")
    if estimated:
        print("* extrapolated quadratically from the measured", measured, "KB run (not measured)")
    plot(times, estimated, args.plot)
    print(f"plot written to {args.plot}")


def plot(times: dict[str, dict[int, float]], estimated: set[tuple[str, int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in PARSERS:
        xs = list(SIZES_KB)
        ys = [times[name][kb] for kb in xs]
        (line,) = ax.plot(xs, ys, marker="o", label=name)
        est = [kb for kb in xs if (name, kb) in estimated]
        if est:
            ax.plot(
                est,
                [times[name][kb] for kb in est],
                marker="o",
                linestyle="none",
                markerfacecolor="white",
                color=line.get_color(),
                label=f"{name} (extrapolated)",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(SIZES_KB), [f"{kb} KB" for kb in SIZES_KB])
    ax.set_xlabel("argument document size")
    ax.set_ylabel("total time (s)")
    ax.set_title(f"Value after every {CHUNK}-character chunk")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
