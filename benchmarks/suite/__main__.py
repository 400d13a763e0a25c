"""``python -m benchmarks.suite``: the whole side-by-side suite, or part of it (``--help``).

Prints the machine, then for each part a table; every conversation's deltas and answer are
checked, and a wrong one stops the suite with an error naming the contender and the workload.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import time
from pathlib import Path

import attrs

from . import concurrency, startup
from .contenders import Contender
from .roster import all_contenders
from .rounds import Results, Runners
from .server import Server
from .workloads import arguments, text, turns, waits

PARTS = ("text", "arguments", "turns", "lengths", "tools", "concurrency", "memory", "imports")
_BENCHMARKS = Path(__file__).resolve().parents[1]


@attrs.frozen
class Sizes:
    """How big each part is: the full suite's sizes, or ``--quick``'s tiny ones."""

    text: int = 2000
    arguments: int = 12_592
    turns: int = 3
    rounds: int = 5
    lengths: tuple[int, ...] = (500, 2000, 8000)
    length_rounds: int = 3
    tasks: int = 1000
    threads: int = 100
    tool_repeat: int = 3
    import_runs: int = 5
    memory_workload: str = "arguments-12592"
    memory_of: tuple[str, ...] | None = None
    """The contenders whose memory is measured (None: all; a process each costs seconds)."""
    modules: tuple[str, ...] = startup.MODULES


QUICK = Sizes(
    text=50,
    arguments=100,
    turns=3,
    rounds=1,
    lengths=(20, 80),
    length_rounds=1,
    tasks=20,
    threads=5,
    tool_repeat=1,
    import_runs=1,
    memory_workload="arguments-100",
    memory_of=("sdk", "agentools-run"),
    modules=("openai", "agentools"),
)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def machine() -> str:
    """One line about where the figures come from."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("openai", "agentools", "openai-agents", "pydantic-ai-slim")
    )
    return (
        f"{platform.system()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}; {versions}"
    )


def _rounds_table(
    title: str, name: str, results: Results, contenders: list[Contender], checked: int
) -> None:
    print(f"\n== {title} ({name}) ==")
    print(
        f"{'contender':<28}{'checked':>8}{'text Δ':>8}{'args Δ':>8}{'CPU ms':>9}"
        f"{'wall ms':>9}{'CPU/SDK':>9}{'wall/SDK':>9}"
    )
    from .workloads import workload

    script = workload(name)
    for contender in contenders:
        median = results.median(name, contender.name)
        cpu_ratio, wall_ratio = results.ratios(name, contender.name, contender.baseline)
        print(
            f"{contender.name:<28}{f'{checked}/{checked}':>8}{script.text_deltas:>8}"
            f"{script.argument_deltas:>8}{median.cpu * 1000:>9.1f}{median.wall * 1000:>9.1f}"
            f"{cpu_ratio:>9.3f}{wall_ratio:>9.3f}"
        )


def _targets(results: Results, contenders: list[Contender], names: list[str]) -> None:
    print("\ntargets: agentools <= 0.2x the bare SDK loop (client CPU and wall) on (a) and (b)")
    for name in names:
        for contender in contenders:
            if not contender.name.startswith("agentools"):
                continue
            cpu, wall = results.ratios(name, contender.name, contender.baseline)
            verdict = "met" if cpu <= 0.2 and wall <= 0.2 else "NOT met"
            print(f"  {name:<18}{contender.name:<28} CPU {cpu:.3f}  wall {wall:.3f}  {verdict}")


def _took(part: str, started: float) -> None:
    print(f"({part}: {time.perf_counter() - started:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (a test)")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part")
    parser.add_argument("--rounds", type=int, help="rounds per workload (default 5; quick 1)")
    parser.add_argument(
        "--plots",
        type=Path,
        help="write the PNG plots here (default: benchmarks/ for a full run, none for --quick)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.rounds:
        sizes = attrs.evolve(sizes, rounds=args.rounds, length_rounds=args.rounds)
    parts = set(args.only or PARTS)
    plots = args.plots if args.plots or args.quick else _BENCHMARKS
    if plots:
        plots.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    contenders, skipped = all_contenders()
    print(f"machine: {machine()}")
    print("contenders: " + ", ".join(contender.name for contender in contenders))
    for reason in skipped:
        print(reason)
    print(
        "ratios: median over rounds of (time / the bare SDK loop's in the same round); "
        "blocking contenders vs `sdk`, asyncio ones vs `sdk-async`"
    )

    results = Results()
    workloads = [
        ("text", text(sizes.text), f"(a) text: {4 * sizes.text:,} chars in {sizes.text:,} chunks"),
        (
            "arguments",
            arguments(sizes.arguments),
            f"(b) tool arguments: {4 * sizes.arguments:,} chars "
            f"in {sizes.arguments:,} chunks, then text",
        ),
        ("turns", turns(sizes.turns), f"(c) {sizes.turns} turns x 2 parallel tools, then text"),
    ]
    measured: list[tuple[str, str]] = []
    with Server() as base_url:
        runners = Runners(contenders, base_url)
        for part, script, title in workloads:
            started_part = time.perf_counter()
            if part in parts:
                runners.rounds(script, sizes.rounds, results)
                _rounds_table(
                    f"{title}, {sizes.rounds} rounds",
                    script.name,
                    results,
                    contenders,
                    sizes.rounds + 1,
                )
                measured.append((script.name, f"({title[1]}) {part}"))
                _took(part, started_part)
        if "lengths" in parts:
            names = [(count, text(count).name) for count in sizes.lengths]
            print(f"\n== time vs stream length: text answers, {sizes.length_rounds} rounds ==")
            print(
                f"{'contender':<28}" + "".join(f"{f'{count} ch. CPU ms':>16}" for count, _ in names)
            )
            started_part = time.perf_counter()
            for count, name in names:
                if name not in results.timings:  # (a) may have measured it already
                    runners.rounds(text(count), sizes.length_rounds, results)
            for contender in contenders:
                print(
                    f"{contender.name:<28}"
                    + "".join(
                        f"{results.median(name, contender.name).cpu * 1000:>16.1f}"
                        for _, name in names
                    )
                )
            _took("lengths", started_part)
            if plots:
                from . import plots as pictures

                pictures.lengths(results, contenders, names, plots / "suite_lengths.png")
        if "tools" in parts:
            started_part = time.perf_counter()
            script = waits(8)
            print(f"\n== 8 parallel tools of 200 ms in one turn ({script.name}), wall ms ==")
            for contender in contenders:
                wall = concurrency.parallel_tools(runners, contender, script, sizes.tool_repeat)
                print(f"{contender.name:<28}{wall * 1000:>9.0f}")
            _took("tools", started_part)
        runners.close()
        if "concurrency" in parts:
            started_part = time.perf_counter()
            _crowds(contenders, base_url, sizes)
            _took("concurrency", started_part)
        if "memory" in parts:
            started_part = time.perf_counter()
            print(f"\n== memory: one conversation of {sizes.memory_workload}, a process each ==")
            print(f"{'contender':<28}{'RSS MiB, warm':>15}{'traced peak MiB':>17}")
            for contender in contenders:
                if sizes.memory_of is not None and contender.name not in sizes.memory_of:
                    continue
                figures = startup.peak_memory(contender.name, base_url, sizes.memory_workload)
                print(
                    f"{contender.name:<28}{figures['rss_mib']:>15.1f}{figures['traced_mib']:>17.2f}"
                )
            _took("memory", started_part)
    if "imports" in parts:
        started_part = time.perf_counter()
        print(
            f"\n== import time: python -X importtime, cumulative, median of {sizes.import_runs} =="
        )
        for module, milliseconds in startup.import_times(sizes.modules, sizes.import_runs).items():
            print(f"import {module:<22}{milliseconds:>9.1f} ms")
        _took("imports", started_part)
    if measured:
        _targets(results, contenders, [name for name, _ in measured[:2]])
        if plots:
            from . import plots as pictures

            pictures.ratios(results, contenders, measured, plots / "suite_ratios.png")
    if plots:
        print(f"\nplots written to {plots}")
    print(f"\nsuite finished in {time.perf_counter() - started:.0f} s")
    return 0


def _print_crowd(contender: Contender, crowd: concurrency.Crowd) -> None:
    print(
        f"{contender.name:<28}{f'{crowd.answered}/{crowd.started}':>12}"
        f"{crowd.wall:>8.2f}  {crowd.errors}"
    )


def _crowds(contenders: list[Contender], base_url: str, sizes: Sizes) -> None:
    script = text(50)
    crowds = [contender for contender in contenders if "+parsed" not in contender.name]
    print(
        f"\n== {sizes.tasks} asyncio conversations at once, one client each contender, "
        f"SDK default timeouts ({script.name}) =="
    )
    print(f"{'contender':<28}{'answered':>12}{'wall s':>8}  errors")
    for contender in crowds:
        if contender.mode == "async":
            crowd = concurrency.tasks(contender, base_url, script, sizes.tasks)
            _print_crowd(contender, crowd)
    print(f"\n== {sizes.threads} threads at once, one client each contender ({script.name}) ==")
    print(f"{'contender':<28}{'answered':>12}{'wall s':>8}  errors")
    for contender in crowds:
        if contender.mode == "blocking":
            crowd = concurrency.threads(contender, base_url, script, sizes.threads)
            _print_crowd(contender, crowd)


if __name__ == "__main__":
    sys.exit(main())
