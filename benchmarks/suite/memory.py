"""One contender's memory for one conversation, in a process of its own.

``python -m benchmarks.suite.memory NAME URL WORKLOAD``

After one small conversation of the same kind (which loads what a first run loads), prints one
JSON line: ``rss_mib``, the resident size then (imports, clients, agents), and ``traced_mib``,
tracemalloc's peak over the measured conversation: what the conversation itself holds at most.
"""

from __future__ import annotations

import json
import sys
import tracemalloc

from .contenders import check
from .roster import all_contenders
from .rounds import Runners
from .workloads import workload


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(name: str, base_url: str, workload_name: str) -> None:
    contenders, _ = all_contenders()
    (contender,) = [candidate for candidate in contenders if candidate.name == name]
    script = workload(workload_name)
    runners = Runners([contender], base_url)
    kind = workload_name.rpartition("-")[0]
    runners.once(contender, workload(f"{kind}-10"))  # what a first run loads, loaded
    warm = _rss_mib()
    run = runners.runs[name]
    tracemalloc.start()
    if contender.mode == "blocking":
        outcome = run(script)
    else:
        outcome = runners.loop.run_until_complete(run(script))  # type: ignore[arg-type]
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    check(name, script, outcome)  # type: ignore[arg-type]
    runners.close()
    print(json.dumps({"rss_mib": warm, "traced_mib": traced}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
