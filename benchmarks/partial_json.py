"""Benchmark: the value of a streamed tool-call argument after every chunk.

A model streams a tool call's ``arguments`` in small chunks and a UI shows the parsed value
after each one. This compares, for documents of 1, 10, 50, 100 and 200 KB fed in 4-character chunks:

- ``agentools``: ``PartialJSONParser.feed(chunk)`` then read ``.value``, after every chunk;
- ``jiter``: ``jiter.from_json(prefix_bytes, partial_mode="trailing-strings")`` on the whole
  prefix after every chunk (what the OpenAI SDK does; the prefix is a slice of the pre-encoded
  document, the cheapest way to get it, its end computed before the timing);
- ``partial-json-parser``: ``partial_json_parser.loads(prefix)`` after every chunk;
- ``json.loads`` of the whole document once: the floor.

Three shapes of document, because the ratios depend on it a lot:

- string-heavy, a "write a file" argument: a few short fields, one long ``content`` string of
  Python-like source, most of the size, and a list of small ``{"line", "op", "note"}`` objects
  (about 10%). The source has newlines, indentation, quotes, backslashes and some non-ASCII:
  about 5% of its JSON text is escape characters (standard-library modules have 3 to 4%).
  Re-parsing it is cheap for jiter (one long string is one copy); for us most chunks are plain
  string text, the cheapest case, but each costs a Python method call.
- structured, a "create records" argument: a list of small records (integers, short strings,
  a float, booleans, a null or a date, a short array of strings, a nested object, a short array
  of numbers). Re-parsing it makes jiter build every object again at every chunk.
- bare-file, a "write a file" argument with nothing else: a path and one string, the standard
  library's own source (real code, not a template). Re-parsing it is jiter's cheapest case;
  ``benchmarks/string_floor.py`` shows what bounds the ratio there.

Run from the repository root: ``python benchmarks/partial_json.py`` (needs the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jiter  # noqa: E402
import partial_json_parser  # noqa: E402

import agentools.partial_json  # noqa: E402
from agentools.partial_json import PartialJSONParser  # noqa: E402

SIZES_KB = (1, 10, 50, 100, 200)
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
    return with_content(doc, "\n".join(lines), target)


def with_content(doc: dict[str, object], source: str, target: int) -> str:
    """``doc`` as JSON, its ``content`` the longest start of ``source`` that fits.

    The room is measured with an empty content's quotes in the text, and the content's own
    quotes count too: the text is at most ``target - 2`` characters long (1,022 for 1 KB)."""
    doc["content"] = ""
    room = target - len(json.dumps(doc, ensure_ascii=False))
    # The longest prefix whose JSON fits: its length grows with the prefix's.
    low, high = 0, min(len(source), room)
    while low < high:
        mid = (low + high + 1) // 2
        if len(json.dumps(source[:mid], ensure_ascii=False)) <= room:
            low = mid
        else:
            high = mid - 1
    doc["content"] = source[:low]
    return json.dumps(doc, ensure_ascii=False)


_FIRST = ["Alice", "Bruno", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Inès", "Jonas"]
_LAST = ["Martin", "Okafor", "Nguyen", "Schmidt", "Rossi", "García", "Kowalski", "Tanaka"]
_CITIES = [("Lyon", "69003"), ("Berlin", "10115"), ("Osaka", "530-0001"), ("Austin", "78701")]
_TAGS = ["vip", "newsletter", "churn-risk", "b2b", "beta", "support"]


def make_records_document(size_kb: int) -> str:
    """A "create records" tool-call argument of about ``size_kb`` KB: many small objects.

    A few top-level fields and a list of customer records, each with an integer id, short
    strings, an integer, a float, a boolean, a null or a date, a small array of short strings,
    a nested object and a small array of numbers, as ``json.dumps`` writes them (", " and ": ").
    Deterministic: record ``i`` is a function of ``i``.
    """
    target = size_kb * 1024
    doc: dict[str, object] = {"table": "customers", "upsert": True, "records": []}
    records: list[dict[str, object]] = []
    doc["records"] = records
    i = 0
    while True:
        first = _FIRST[i % len(_FIRST)]
        last = _LAST[(i * 7) % len(_LAST)]
        city, zip_code = _CITIES[(i * 3) % len(_CITIES)]
        record = {
            "id": 1000 + i,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{i}@example.com",
            "age": 18 + (i * 13) % 60,
            "balance": round(((i * 7919) % 100000) / 100 - 250, 2),
            "active": i % 3 != 0,
            "last_order": None if i % 4 == 0 else f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "tags": [_TAGS[(i + k) % len(_TAGS)] for k in range(i % 3)],
            "address": {"city": city, "zip": zip_code},
            "scores": [round(1 + ((i * (k + 3)) % 40) / 10, 1) for k in range(1 + i % 4)],
        }
        records.append(record)
        if len(json.dumps(doc, ensure_ascii=False)) >= target:
            break
        i += 1
    text = json.dumps(doc, ensure_ascii=False)
    while len(text) > target and len(records) > 1:  # stay within the size: drop the last one
        records.pop()
        text = json.dumps(doc, ensure_ascii=False)
    return text


# Real source, not a template: modules of this Python's standard library, in this order.
_SOURCE_MODULES = ("difflib", "argparse", "textwrap", "dataclasses")


def make_bare_file_document(size_kb: int) -> str:
    """A "write a file" argument that is nearly all one string: ``{"path": ..., "content": ...}``
    with the standard library's own source as the content (its text depends on the Python
    version)."""
    import importlib.util

    sources = []
    for name in _SOURCE_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        sources.append(Path(spec.origin).read_text(encoding="utf-8"))
    doc: dict[str, object] = {"path": "src/vendored/stdlib.py"}
    return with_content(doc, "\n".join(sources), size_kb * 1024)


Run = Callable[[], None]


# Each runner prepares what is not the parsing (outside the timing) and returns the timed part.
def run_ours(text: str, chunks: list[str]) -> Run:
    def run() -> None:
        parser = PartialJSONParser()
        for chunk in chunks:
            parser.feed(chunk)
            parser.value  # noqa: B018 - reading it is the point
        parser.close()

    return run


def run_jiter(text: str, chunks: list[str]) -> Run:
    data = text.encode()
    ends = list(accumulate(len(chunk.encode()) for chunk in chunks))  # prefix ends, in bytes
    from_json = jiter.from_json

    def run() -> None:
        for end in ends:
            from_json(data[:end], partial_mode="trailing-strings")

    return run


def run_partial_json_parser(text: str, chunks: list[str]) -> Run:
    ends = list(accumulate(len(chunk) for chunk in chunks))
    loads = partial_json_parser.loads

    def run() -> None:
        for end in ends:
            loads(text[:end])

    return run


def run_json_once(text: str, chunks: list[str]) -> Run:
    return lambda: json.loads(text)


RUNNERS: dict[str, Callable[[str, list[str]], Run]] = {
    "agentools": run_ours,
    "jiter": run_jiter,
    "partial-json-parser": run_partial_json_parser,
    "json.loads (once)": run_json_once,
}


SHAPES: dict[str, tuple[str, Callable[[int], str]]] = {
    "string-heavy": ('"write a file": one long code string, small objects', make_document),
    "structured": ('"create records": a list of small records', make_records_document),
    "bare-file": ('"write a file", nothing else: real source', make_bare_file_document),
}

Times = dict[str, dict[int, float]]

AT_50KB = {"string-heavy": 50, "structured": 50, "bare-file": 30}
"""The ratio to jiter's re-parse each shape must reach at 50 KB. Bare-file is jiter's cheapest
case (one string copied per chunk: see ``string_floor.py``), so its bar is lower there; at 200 KB
every shape must be 100x faster, as linear work against quadratic pulls further ahead."""


def best_times(runs: dict[str, tuple[Run, int]]) -> dict[str, float]:
    """The best time of each run, each repeated as often as it says, in seconds.

    The runs are taken round-robin, so that a slower moment of the machine hits every parser
    alike."""
    best: dict[str, float] = {}
    for round_ in range(max(repeat for _, repeat in runs.values())):
        for name, (run, repeat) in runs.items():
            if round_ < repeat:
                start = time.perf_counter()
                run()
                elapsed = time.perf_counter() - start
                best[name] = min(best.get(name, elapsed), elapsed)
    return best


def measure(
    make: Callable[[int], str], args: argparse.Namespace
) -> tuple[dict[int, str], Times, set[tuple[str, int]]]:
    """Best times of each parser at each size; partial-json-parser above ``--pjp-max-kb`` is
    extrapolated quadratically from the largest size measured (the set returned says where)."""
    docs = {kb: make(kb) for kb in SIZES_KB}
    times: Times = {name: {} for name in PARSERS}
    for kb, text in docs.items():
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
        runs: dict[str, tuple[Run, int]] = {}
        for name, prepare in RUNNERS.items():
            if name == "partial-json-parser":
                if kb > args.pjp_max_kb:
                    continue
                repeat = 3 if kb < 10 else 1
            elif name == "jiter":
                repeat = args.jiter_repeat if kb <= 10 else args.jiter_repeat_large
            else:
                repeat = args.repeat
            runs[name] = (prepare(text, chunks), repeat)
        for name, elapsed in best_times(runs).items():
            times[name][kb] = elapsed
    estimated: set[tuple[str, int]] = set()
    measured = max(times["partial-json-parser"])
    for kb in SIZES_KB:
        if kb not in times["partial-json-parser"]:
            # Re-parsing every prefix is quadratic: scale from the largest measured size.
            times["partial-json-parser"][kb] = (
                times["partial-json-parser"][measured] * (kb / measured) ** 2
            )
            estimated.add(("partial-json-parser", kb))
    return docs, times, estimated


def report(shape: str, docs: dict[int, str], times: Times, estimated: set[tuple[str, int]]) -> None:
    print(f"== {shape}: {SHAPES[shape][0]} ==")
    print("document sizes: " + ", ".join(f"{kb} KB = {len(docs[kb]):,} chars" for kb in SIZES_KB))
    print(f"{'parser':<22}" + "".join(f"{f'{kb} KB':>14}" for kb in SIZES_KB))
    for name in PARSERS:
        cells = []
        for kb in SIZES_KB:
            cell = f"{times[name][kb] * 1e3:,.2f} ms" + ("*" if (name, kb) in estimated else "")
            cells.append(f"{cell:>14}")
        print(f"{name:<22}" + "".join(cells))
    ours = times["agentools"]
    jiter_ratio = {kb: times["jiter"][kb] / ours[kb] for kb in SIZES_KB}
    print(f"{'jiter / agentools':<22}" + "".join(f"{jiter_ratio[kb]:>13.1f}x" for kb in SIZES_KB))
    print(
        f"{'pjp / agentools':<22}"
        + "".join(f"{times['partial-json-parser'][kb] / ours[kb]:>13.0f}x" for kb in SIZES_KB)
    )
    per_chunk = "".join(
        f"{f'{ours[kb] / -(-len(docs[kb]) // CHUNK) * 1e9:.0f} ns':>14}" for kb in SIZES_KB
    )
    print(f"{'agentools per chunk':<22}{per_chunk}")
    if estimated:
        measured = max(kb for kb in SIZES_KB if ("partial-json-parser", kb) not in estimated)
        print(f"* partial-json-parser: extrapolated quadratically from {measured} KB, not measured")
    growth = ours[100] / ours[50]
    at_50kb = AT_50KB[shape]
    targets = [
        (
            "at 1 KB, no slower than jiter's re-parse",
            f"{jiter_ratio[1]:.1f}x faster",
            jiter_ratio[1] >= 1,
        ),
        ("time(100 KB) / time(50 KB) <= 2.3", f"{growth:.2f}", growth <= 2.3),
        (
            f"at 50 KB, at least {at_50kb}x faster than jiter's re-parse",
            f"{jiter_ratio[50]:.1f}x faster",
            jiter_ratio[50] >= at_50kb,
        ),
        (
            "at 200 KB, at least 100x faster than jiter's re-parse",
            f"{jiter_ratio[200]:.1f}x faster",
            jiter_ratio[200] >= 100,
        ),
    ]
    print("targets:")
    for target, result, met in targets:
        print(f"  {target:<52} {result:>14}   {'Met' if met else 'NOT MET'}")
    print()


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--repeat", type=int, default=15, help="runs of agentools and json.loads")
    cli.add_argument("--jiter-repeat", type=int, default=7, help="runs of jiter up to 10 KB")
    cli.add_argument("--jiter-repeat-large", type=int, default=3, help="runs of jiter above")
    cli.add_argument(
        "--pjp-max-kb",
        type=int,
        default=10,
        help="largest size partial-json-parser is measured at; larger ones are extrapolated",
    )
    cli.add_argument("--shape", choices=list(SHAPES), action="append", help="default: all")
    cli.add_argument("--plot", type=Path, default=Path(__file__).with_suffix(".png"))
    cli.add_argument(
        "--without-memo",
        action="store_true",
        help="agentools without its memo of decoded escaped chunks, to measure what it saves",
    )
    args = cli.parse_args()
    if args.without_memo:
        agentools.partial_json._DECODED_MAX_ENTRIES = 0  # type: ignore[misc]

    print(
        f"Python {sys.version.split()[0]}, jiter {version('jiter')}, "
        f"partial-json-parser {version('partial-json-parser')}; {CHUNK}-character chunks,"
    )
    print(
        f"value read after each; best of {args.repeat} runs (agentools, json.loads), of "
        f"{args.jiter_repeat} (jiter"
    )
    print(
        f"up to 10 KB) and {args.jiter_repeat_large} (jiter above), of 3 (partial-json-parser "
        "at 1 KB) and 1 (above),"
    )
    print(
        "the parsers' runs taken in turn"
        + (", agentools WITHOUT its memo" if args.without_memo else "")
    )
    print()
    results = {}
    for shape in args.shape or list(SHAPES):
        docs, times, estimated = measure(SHAPES[shape][1], args)
        report(shape, docs, times, estimated)
        results[shape] = (times, estimated)
    plot(results, args.plot)
    print(f"plot written to {args.plot}")


def plot(results: dict[str, tuple[Times, set[tuple[str, int]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.8), squeeze=False)
    for ax, (shape, (times, estimated)) in zip(axes[0], results.items(), strict=True):
        for name in PARSERS:
            xs = list(SIZES_KB)
            (line,) = ax.plot(xs, [times[name][kb] for kb in xs], marker="o", label=name)
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
        ax.set_title(f"{shape}: {SHAPES[shape][0]}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Value read after every {CHUNK}-character chunk")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
