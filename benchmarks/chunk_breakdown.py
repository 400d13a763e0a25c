"""Where the time of one streamed chunk goes on the raw path, stage by stage, without HTTP.

The stream is a text answer (``render_chunks``, 4 characters a chunk, usage on) as SSE bytes, one
event a read. Each stage is timed alone, best of ``--repeat`` passes over the whole stream:

- SSE decoding: ``SSEDecoder.feed`` with the JSON decoding left out (its events' payloads split
  out of the bytes), i.e. the decoder's time less the next line's;
- JSON decoding of each payload, as the decoder does it (``bytes.decode``, then
  ``JSONDecoder.raw_decode``, which costs about half of ``json.loads``, also timed);
- accumulation: ``ChunkAccumulator.add`` of each dict (its events dropped, as the machine drops
  them once delivered);
- the machine's step: ``Machine.receive_chunk`` then ``next_step()`` until it needs input, less
  the accumulation;
- hook dispatch: looking each event's hook up and calling a hook method that does nothing.

Run: ``python benchmarks/chunk_breakdown.py`` (``--chunks N``, ``--repeat N``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from agentools import Hooks, Settings
from agentools._adapters import ChatCompletions, Limits
from agentools._adapters.chat_accumulate import ChunkAccumulator
from agentools._adapters.sse import SSEDecoder
from agentools._core import NEED_INPUT, CallModel, Machine
from agentools._dispatch import hook_calls
from agentools.history import History
from agentools.testing import Chunking, Turn, render_chunks


class NoOpHooks(Hooks):
    def on_partial_text(self, delta: str, snapshot: str) -> None:
        pass


def stream(chunks: int) -> list[bytes]:
    turn = Turn(text="abcd" * (chunks - 3), chunking=Chunking(text=4))
    rendered = render_chunks(turn, model="gpt-4o-mini", include_usage=True, completion_id="c")
    reads = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in rendered]
    return [*reads, b"data: [DONE]\n\n"]


def machine() -> Machine:
    made = Machine(Settings(model="m"), History(), api=ChatCompletions())
    made.start("go")
    while not isinstance(made.next_step(), CallModel):
        pass
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    reads = stream(options.chunks)
    payloads = [read[6:-2] for read in reads[:-1]]
    dicts = [json.loads(payload) for payload in payloads]
    limits = Limits(text=10**9, arguments=10**9, calls=128)

    def decoding() -> float:
        decoder = SSEDecoder()
        start = time.perf_counter()
        for read in reads:
            decoder.feed(read)
        return time.perf_counter() - start

    raw_decode = json.JSONDecoder().raw_decode

    def json_decoding() -> float:
        start = time.perf_counter()
        for payload in payloads:
            raw_decode(payload.decode("utf-8", "surrogatepass"))
        return time.perf_counter() - start

    def loads() -> float:
        start = time.perf_counter()
        for payload in payloads:
            json.loads(payload)
        return time.perf_counter() - start

    def drop(event: Any) -> None:
        pass

    def accumulating() -> float:
        accumulator = ChunkAccumulator(limits, drop, drop)
        start = time.perf_counter()
        for chunk in dicts:
            accumulator.add(chunk)
        return time.perf_counter() - start

    def stepping(hooks: bool) -> Callable[[], float]:
        def run() -> float:
            made = machine()
            receive, next_step = made.receive_chunk, made.next_step
            get = hook_calls(NoOpHooks(), blocking=True).get
            start = time.perf_counter()
            for chunk in dicts:
                receive(chunk)
                while (step := next_step()) is not NEED_INPUT:
                    if hooks and (call := get(type(step))) is not None:
                        call(step)
            return time.perf_counter() - start

        return run

    runs = {
        "decoder": decoding,
        "json": json_decoding,
        "json.loads": loads,
        "accumulation": accumulating,
        "machine": stepping(hooks=False),
        "with hooks": stepping(hooks=True),
    }
    times = dict.fromkeys(runs, float("inf"))
    for _ in range(options.repeat):  # interleaved: a noisy moment touches every stage alike
        for name, run in runs.items():
            times[name] = min(times[name], run())
    repeat = options.repeat
    n = len(dicts)
    stages = {
        "SSE decoding (split into events)": times["decoder"] - times["json"],
        "JSON decoding (decode + raw_decode)": times["json"],
        "accumulation (ChunkAccumulator.add)": times["accumulation"],
        "machine step (receive_chunk, next_step)": times["machine"] - times["accumulation"],
        "hook dispatch (a no-op on_partial_text)": times["with hooks"] - times["machine"],
    }
    print(f"{n} chunks, best of {repeat}; µs per chunk")
    for name, seconds in stages.items():
        print(f"  {name:42} {seconds / n * 1e6:6.2f}")
    print(f"  {'total':42} {sum(stages.values()) / n * 1e6:6.2f}")
    print(f"  (json.loads instead of raw_decode: {times['json.loads'] / n * 1e6:.2f})")


if __name__ == "__main__":
    main()
