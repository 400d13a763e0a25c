"""End to end over loopback HTTP: the client's CPU and wall time per streamed answer, the bare
openai SDK against agentools on each ``decoding`` path, under both runners.

Two answers of 2,000 chunks each: 8,000 characters of text in 4-character chunks, and one tool
call whose 50 KB of arguments come 25 characters a chunk. The loopback server
(``agentools.testing.FakeOpenAIServer``) runs in a process of its own, so that its CPU is not
counted. The bare SDK reads ``client.chat.completions.create(stream=True)`` and looks at each
chunk's delta; agentools runs ``Assistant.run()`` / ``arun()`` (``max_turns=1``: the tool call's
run stops after its tool, before a second model call). Each figure is the best of ``--repeat``
runs, after one to warm up; the ratio is to the bare SDK with the same kind of client.

Run: ``python benchmarks/http_stream.py`` (``--repeat N``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import openai

from agentools import Assistant, MaxTurnsExceeded, function_tool

SERVER = r"""
import json, sys
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

def respond(request):
    if request.messages[-1]["content"] == "arguments":
        arguments = json.dumps({"content": "x" * 50_000})
        call = ToolCallSpec(name="take", arguments=arguments)
        return Turn(tool_calls=[call], chunking=Chunking(arguments=25))
    return Turn(text="abcd" * 2_000, chunking=Chunking(text=4))

with FakeOpenAIServer(responder=respond) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


@function_tool
def take(content: str) -> str:
    """Takes the content."""
    return "taken"


def best(run: Callable[[], None], repeat: int) -> tuple[float, float]:
    """The best wall and CPU time of ``run`` (s), after one run to warm up."""
    run()
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - used)
    return wall, cpu


def contenders(
    prompt: str,
    client: openai.OpenAI,
    async_client: openai.AsyncOpenAI,
    loop: asyncio.AbstractEventLoop,
) -> dict[str, tuple[Callable[[], None], str]]:
    """What is measured for ``prompt``: name -> (one run, the kind of client)."""
    options: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    def bare() -> None:
        with client.chat.completions.create(**options) as chunks:
            for chunk in chunks:
                if chunk.choices:
                    delta = chunk.choices[0].delta
                    _ = delta.content, delta.tool_calls

    async def abare() -> None:
        async with await async_client.chat.completions.create(**options) as chunks:
            async for chunk in chunks:
                if chunk.choices:
                    delta = chunk.choices[0].delta
                    _ = delta.content, delta.tool_calls

    def assistant(decoding: str) -> Assistant:
        return Assistant(
            model="m",
            client=client,
            async_client=async_client,
            tools=[take],
            max_turns=1,
            decoding=decoding,
        )

    def run(decoding: str) -> Callable[[], None]:
        def go() -> None:
            with contextlib.suppress(MaxTurnsExceeded):
                assistant(decoding).run(prompt)

        return go

    def arun(decoding: str) -> Callable[[], None]:
        def go() -> None:
            with contextlib.suppress(MaxTurnsExceeded):
                loop.run_until_complete(assistant(decoding).arun(prompt))

        return go

    return {
        "bare SDK, sync client": (bare, "sync"),
        "agentools raw, run()": (run("raw"), "sync"),
        "agentools sdk, run()": (run("sdk"), "sync"),
        "bare SDK, async client": (lambda: loop.run_until_complete(abare()), "async"),
        "agentools raw, arun()": (arun("raw"), "async"),
        "agentools sdk, arun()": (arun("sdk"), "async"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    logging.getLogger("agentools").setLevel(logging.CRITICAL)  # each tool run stops: not news
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    assert server.stdin is not None
    base_url = server.stdout.readline().strip()
    client = openai.OpenAI(base_url=base_url, api_key="-")
    async_client = openai.AsyncOpenAI(base_url=base_url, api_key="-")
    loop = asyncio.new_event_loop()
    try:
        for prompt in ("text", "arguments"):
            print(f"-- 2,000 chunks of {prompt}: wall ms (x bare SDK), client CPU ms (x bare SDK)")
            base: dict[str, tuple[float, float]] = {}
            for name, (measured, kind) in contenders(prompt, client, async_client, loop).items():
                wall, cpu = best(measured, repeat)
                base.setdefault(kind, (wall, cpu))
                ratio_wall, ratio_cpu = wall / base[kind][0], cpu / base[kind][1]
                print(
                    f"  {name:24} {wall * 1e3:7.1f} ({ratio_wall:4.2f}x)"
                    f"  {cpu * 1e3:7.1f} ({ratio_cpu:4.2f}x)"
                )
    finally:
        loop.run_until_complete(async_client.close())
        loop.close()
        client.close()
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
