"""One contender's memory for one conversation, in a process of its own.

``python -m benchmarks.suite.memory NAME URL WORKLOAD``

Prints one JSON line: ``rss_mib`` (peak resident size of the process, imports included),
``run_rss_mib`` (how much the peak grew during the first conversation) and ``traced_mib``
(tracemalloc's peak over a second conversation).
"""

from __future__ import annotations

import json
import sys
import tracemalloc

from .contenders import all_contenders, check
from .rounds import Runners
from .workloads import workload


def _peak_mib() -> float:
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child started by a big
    # parent would report the parent's peak.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(name: str, base_url: str, workload_name: str) -> None:
    contenders, _ = all_contenders()
    (contender,) = [candidate for candidate in contenders if candidate.name == name]
    script = workload(workload_name)
    runners = Runners([contender], base_url)
    before = _peak_mib()
    runners.once(contender, script)
    after = _peak_mib()
    tracemalloc.start()
    run = runners.runs[name]
    outcome = (
        run(script)
        if contender.mode == "blocking"
        else runners.loop.run_until_complete(
            run(script)  # type: ignore[arg-type]
        )
    )
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    check(name, script, outcome)  # type: ignore[arg-type]
    runners.close()
    print(json.dumps({"rss_mib": after, "run_rss_mib": after - before, "traced_mib": traced}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
