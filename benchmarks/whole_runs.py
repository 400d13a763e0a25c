"""Whole runs, end to end, for a before/after check of the runners: time this script as a process.

Through the loopback server (in this process, so its CPU is counted too) with the real ``openai``
client: 4 rounds of a 2,000-chunk text answer and of a tool turn whose 2,000-character argument
streams in 4-character chunks (then a short answer), under ``run()`` and then under ``arun()``.
It prints nothing; time it with ``farm-bench`` against another checkout (see README.md).
"""

from __future__ import annotations

import asyncio

from agentools import Assistant, function_tool
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

ROUNDS = 4
TEXT = Turn(text="word " * 2000, chunking=Chunking(text=5))
CALL = Turn(
    tool_calls=[ToolCallSpec(name="lookup", arguments={"key": "x" * 2000})],
    chunking=Chunking(arguments=4),
)


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key


def main() -> None:
    with FakeOpenAIServer() as server:
        bot = Assistant(
            model="m", tools=[lookup], client=server.client(), async_client=server.async_client()
        )
        for _ in range(ROUNDS):
            server.add(TEXT, CALL, Turn(text="ok"))
            bot.run("go")
            bot.run("go")

        async def asynchronously() -> None:
            for _ in range(ROUNDS):
                server.add(TEXT, CALL, Turn(text="ok"))
                await bot.arun("go")
                await bot.arun("go")
            await bot.async_client.close()

        asyncio.run(asynchronously())
        bot.client.close()


if __name__ == "__main__":
    main()
