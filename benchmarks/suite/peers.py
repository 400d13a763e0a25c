"""The peers: openai-agents and pydantic-ai, each with its own agent pointed at the server.

Both are asyncio frameworks streaming through an ``AsyncOpenAI`` client, so they are compared
with the bare asyncio SDK loop. A peer that is not installed is skipped with the reason (the
``bench`` extra installs them; the test environment does not). Each counts the deltas its own
streamed events carry, and its agent runs the same tools.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from openai import AsyncOpenAI

from . import tools
from .contenders import AsyncRun, Contender, Outcome
from .workloads import PROMPT, Workload


def openai_agents(base_url: str) -> AsyncRun:
    from agents import (
        Agent,
        OpenAIChatCompletionsModel,
        Runner,
        function_tool,
        set_tracing_disabled,
    )
    from openai.types.responses import (
        ResponseFunctionCallArgumentsDeltaEvent,
        ResponseTextDeltaEvent,
    )

    set_tracing_disabled(True)  # tracing would export each run to OpenAI's servers
    client = AsyncOpenAI(base_url=base_url, api_key="bench")
    functions = [
        function_tool(function, name_override=name) for name, function in tools.ASYNCHRONOUS.items()
    ]
    agents: dict[str, Any] = {}

    async def run(workload: Workload) -> Outcome:
        if workload.name not in agents:
            model = OpenAIChatCompletionsModel(model=workload.name, openai_client=client)
            agents[workload.name] = Agent(name="bench", model=model, tools=functions)
        result = Runner.run_streamed(agents[workload.name], PROMPT)
        text_deltas = argument_deltas = 0
        async for event in result.stream_events():
            if event.type != "raw_response_event":
                continue
            if isinstance(event.data, ResponseTextDeltaEvent):
                text_deltas += 1
            elif isinstance(event.data, ResponseFunctionCallArgumentsDeltaEvent):
                argument_deltas += 1
        return Outcome(text_deltas, argument_deltas, str(result.final_output))

    return run


def pydantic_ai(base_url: str) -> AsyncRun:
    from pydantic_ai import Agent, AgentRunResultEvent, Tool
    from pydantic_ai.messages import (
        PartDeltaEvent,
        PartStartEvent,
        TextPart,
        TextPartDelta,
        ToolCallPart,
        ToolCallPartDelta,
    )
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(openai_client=AsyncOpenAI(base_url=base_url, api_key="bench"))
    functions = [
        Tool(function, name=name, takes_ctx=False) for name, function in tools.ASYNCHRONOUS.items()
    ]
    agents: dict[str, Any] = {}

    async def run(workload: Workload) -> Outcome:
        if workload.name not in agents:
            model = OpenAIChatModel(workload.name, provider=provider)
            agents[workload.name] = Agent(model, tools=functions)
        text_deltas = argument_deltas = 0
        answer = None
        async with agents[workload.name].run_stream_events(PROMPT) as events:
            async for event in events:
                if isinstance(event, PartStartEvent):
                    part = event.part
                    if isinstance(part, TextPart) and part.content:
                        text_deltas += 1
                    elif isinstance(part, ToolCallPart) and part.args:
                        argument_deltas += 1
                elif isinstance(event, PartDeltaEvent):
                    delta = event.delta
                    if isinstance(delta, TextPartDelta) and delta.content_delta:
                        text_deltas += 1
                    elif isinstance(delta, ToolCallPartDelta) and isinstance(delta.args_delta, str):
                        # One event per wire delta, but an escape cut by a chunk boundary is held
                        # back to the next one: some carry "" (the characters all arrive).
                        argument_deltas += 1
                elif isinstance(event, AgentRunResultEvent):
                    answer = event.result.output
        return Outcome(text_deltas, argument_deltas, str(answer))

    return run


_PEERS = {
    "openai-agents": ("agents", openai_agents),
    "pydantic-ai": ("pydantic_ai", pydantic_ai),
}


def contenders() -> list[Contender | str]:
    """The installed peers, and for each missing one the reason it is skipped."""
    found: list[Contender | str] = []
    for name, (module, make) in _PEERS.items():
        if importlib.util.find_spec(module) is None:
            found.append(f"{name}: skipped, not installed (pip install -e '.[bench]')")
        else:
            found.append(Contender(name, "async", make))
    return found
