"""The suite's two pictures: ratios to the bare SDK per workload, and time against stream length."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .contenders import Contender
from .rounds import Results


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def ratios(
    results: Results,
    contenders: Sequence[Contender],
    workloads: Sequence[tuple[str, str]],
    path: Path,
) -> None:
    """Grouped bars: for each workload, each contender's CPU and wall ratio to its baseline."""
    pyplot = _pyplot()
    from matplotlib.ticker import FormatStrFormatter

    contenders = [c for c in contenders if c.name != c.baseline]  # the baselines are 1
    figure, axes = pyplot.subplots(1, 2, figsize=(14, 5.5), sharey=True)
    width = 0.8 / len(contenders)
    for side, (axis, label) in enumerate(zip(axes, ("client CPU time", "wall time"), strict=True)):
        for number, contender in enumerate(contenders):
            values = [
                results.ratios(name, contender.name, contender.baseline)[side]
                for name, _ in workloads
            ]
            positions = [
                index + (number - len(contenders) / 2 + 0.5) * width
                for index in range(len(workloads))
            ]
            axis.bar(positions, values, width, label=contender.name)
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.axhline(0.2, color="red", linewidth=0.8, linestyle="--")
        axis.set_xticks(range(len(workloads)), [title for _, title in workloads])
        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axis.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        axis.tick_params(axis="y", which="minor", labelsize=7)
        axis.set_title(f"{label} / bare SDK loop's (median of rounds; red line: 0.2)")
    axes[0].set_ylabel("ratio to the bare SDK loop of the same mode (log scale)")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def lengths(
    results: Results, contenders: Sequence[Contender], names: Sequence[tuple[int, str]], path: Path
) -> None:
    """Lines: median client CPU time of a text answer against its number of chunks."""
    pyplot = _pyplot()
    figure, axis = pyplot.subplots(figsize=(8, 5.5))
    chunks = [count for count, _ in names]
    for contender in contenders:
        times = [results.median(name, contender.name).cpu * 1000 for _, name in names]
        style = "-" if contender.mode == "blocking" else "--"
        axis.plot(chunks, times, style, marker="o", label=contender.name)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("chunks in the streamed text answer (4 characters each)")
    axis.set_ylabel("client CPU time per conversation, ms (median)")
    axis.set_title("time vs stream length (solid: blocking, dashed: asyncio)")
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
