"""Import time and peak memory, each measured in fresh processes.

Import time: ``python -X importtime -c "import <module>"``, the module's cumulative figure, runs of
the modules taken in turn, medians. Peak memory: one process per contender
(``python -m benchmarks.suite.memory``), warmed up by a small conversation, says its resident
size then and tracemalloc's peak over one conversation of the workload (what the conversation
itself holds at most, imports and warm-up excluded).
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]

MODULES = ("openai", "agentools", "agents", "pydantic_ai")


def _cumulative_us(module: str) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=_ROOT,
    )
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1])
    raise RuntimeError(f"no import time for {module} in:\n{done.stderr[-2000:]}")


def import_times(modules: Sequence[str], runs: int) -> dict[str, float]:
    """Median cumulative import time in milliseconds, for each installed one of ``modules``."""
    present = [module for module in modules if importlib.util.find_spec(module) is not None]
    samples: dict[str, list[int]] = {module: [] for module in present}
    for _ in range(runs):
        for module in present:
            samples[module].append(_cumulative_us(module))
    return {module: statistics.median(values) / 1000 for module, values in samples.items()}


def peak_memory(contender: str, base_url: str, workload: str) -> dict[str, float]:
    """A contender's memory figures (MiB) for one conversation of ``workload``, in a new process."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite.memory", contender, base_url, workload],
        capture_output=True,
        text=True,
        cwd=_ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory of {contender} failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures
