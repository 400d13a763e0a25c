"""The side-by-side suite runs, checks what it measures, and skips the peers that are absent.

``python -m benchmarks.suite --quick`` (tiny sizes, one round) in a subprocess, as a user runs it:
it must finish, and its tables must show every conversation checked with the workloads' delta
counts. The peers (openai-agents, pydantic-ai) are in the ``bench`` extra only: where they are
missing the suite says so and still measures agentools against the SDK.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_quick_suite_runs_and_checks_every_conversation() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # (a) 50 text chunks; (b) 100 argument chunks and a 16-chunk answer; (c) 3 x 2 calls.
    expected = {"text-50": (50, 0), "arguments-100": (16, 100), "turns-3": (29, 30)}
    for workload, (text_deltas, argument_deltas) in expected.items():
        table = out.split(f"({workload}) ==")[1].split("\n\n")[0]
        for contender in (
            "sdk",
            "sdk-async",
            "sdk-helper",
            "agentools-run[raw]",
            "agentools-arun[raw]",
            "agentools-run[sdk]",
            "agentools-arun[sdk]",
        ):
            row = re.search(
                rf"^{re.escape(contender)}\s+(\d+)/(\d+)\s+(\d+)\s+(\d+)\s", table, re.M
            )
            assert row, (contender, table)
            checked, runs, text_seen, arguments_seen = map(int, row.groups())
            assert checked == runs == 2
            assert (text_seen, arguments_seen) == (text_deltas, argument_deltas)
    assert re.search(r"^agentools-arun\[raw\]\s+20/20\s", out, re.M), out
    assert re.search(r"^agentools-run\[raw\]\s+5/5\s", out, re.M), out
    assert "import agentools" in out
    assert "suite finished in" in out
    for peer, module in (("openai-agents", "agents"), ("pydantic-ai", "pydantic_ai")):
        if importlib.util.find_spec(module) is None:
            assert f"{peer}: skipped, not installed" in out
        else:
            assert re.search(rf"^{peer}\s+2/2\s", out, re.M), out
