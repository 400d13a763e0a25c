"""The library's main job in one file: a streamed answer that uses a tool, then a typed one.

    python examples/weather.py                      # offline, on a real model on this machine
    python examples/weather.py --scripted           # offline, on a rule-based stand-in
    OPENAI_API_KEY=sk-... python examples/weather.py "Weather in Rome?"   # a real endpoint
    OPENAI_BASE_URL=http://localhost:8080/v1 python examples/weather.py  # a local server

With ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` set it talks to that endpoint (model from
``AGENTOOLS_MODEL``, default ``gpt-4o-mini``). Otherwise it starts llama.cpp's server with
SmolLM2-135M on 127.0.0.1 (``agentools.local.LlamaServer``; about a second) and uses
constrained tool calling (``tool_mode="json"``), as so small a model makes no native tool call;
the server is stopped at the end. ``--scripted`` (or when llama.cpp or the model is not
installed) starts agentools' loopback OpenAI-compatible server with its rule-based offline model
instead, for a deterministic run. Either way the same code runs through the real ``openai``
client, over real HTTP and SSE. A base URL without a key is taken to be a local
OpenAI-compatible server (llama.cpp, vLLM, Ollama...), which needs none: the ``openai`` client,
which insists on one, gets a placeholder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, Literal

import attrs
from openai import AsyncOpenAI, OpenAI

from agentools import Assistant, function_tool
from agentools.hooks import PrintHooks
from agentools.testing import FakeOpenAIServer, offline_model

WEATHER = {"paris": (18, "sunny"), "rome": (24, "clear"), "london": (12, "drizzle")}


@function_tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather in a city.

    Args:
        city: The city's name, e.g. "Paris".
        unit: The temperature's unit.
    """
    celsius, conditions = WEATHER.get(city.lower(), (20, "mild"))
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": conditions}


@attrs.frozen
class Warmest:
    """The typed answer of the last question: ``run(output=Warmest)`` returns one."""

    city: str
    temperature: int


@contextlib.contextmanager
def endpoint(scripted: bool) -> Iterator[dict[str, Any]]:
    """The real endpoint if one is configured, else a model on this machine: the local one, or
    the rule-based stand-in on a loopback server."""
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        settings: dict[str, Any] = {"model": os.environ.get("AGENTOOLS_MODEL", "gpt-4o-mini")}
        if not os.environ.get("OPENAI_API_KEY"):  # a local server: any key will do
            settings["client"] = OpenAI(api_key="no-key-needed")
            settings["async_client"] = AsyncOpenAI(api_key="no-key-needed")
        yield settings
        return
    if not scripted:
        from agentools.local import INSTALL, LlamaServer, default_model_path

        try:
            default_model_path()
            import xllamacpp  # noqa: F401
        except ImportError:
            print(f"(no local model: {INSTALL}; using the scripted one)", file=sys.stderr)
        else:
            with LlamaServer() as server:
                yield {
                    "model": server.model,
                    "client": server.client(),
                    "async_client": server.async_client(),
                    "tool_mode": "json",
                }
            return
    with FakeOpenAIServer(responder=offline_model) as server:
        yield {"model": "offline", "client": server.client(), "async_client": server.async_client()}


async def follow_up(bot: Assistant, prompt: str) -> None:
    try:
        await bot.arun(prompt)  # asyncio, same conversation
    finally:
        await bot.async_client.close()


def main() -> None:
    arguments = sys.argv[1:]
    scripted = "--scripted" in arguments
    prompt = " ".join(a for a in arguments if a != "--scripted") or "What's the weather in Paris?"
    with endpoint(scripted) as settings:
        bot = Assistant(
            tools=[get_weather],
            system="You report the weather.",
            hooks=PrintHooks(),
            temperature=0,
            **settings,
        )
        print(f"> {prompt}")
        bot.run(prompt)  # blocking: no event loop involved
        print("> And in Rome? (asyncio, same conversation)")
        asyncio.run(follow_up(bot, "And in Rome?"))
        print("> Which of the two is warmer? (a typed answer: Warmest)")
        warmest = bot.run("Which of the two cities is warmer?", output=Warmest)
        print(f"= {warmest!r}")
        bot.client.close()


if __name__ == "__main__":
    main()
