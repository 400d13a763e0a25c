"""The openai SDK alone: the bare stream loop (the baseline) and the SDK's stream helper.

The bare loop is what a program without a framework writes: iterate
``client.chat.completions.create(stream=True)``, count and keep content and argument deltas,
run the tools the model called, send their results, again until an answer comes. The helper
contenders do the same through ``client.chat.completions.stream()``'s events and its final
completion. (The helper parses partial arguments only for strict tools; these tools are not
strict, as most are, so it does not.)
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openai import AsyncOpenAI, OpenAI

from . import tools
from .contenders import AsyncRun, BlockingRun, Contender, Outcome
from .workloads import PROMPT, Workload


class Turn:
    """One streamed response as the bare loop accumulates it: text, and tool calls by index."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.text_deltas = 0
        self.argument_deltas = 0

    def feed(self, chunk: Any) -> None:
        if not chunk.choices:
            return
        delta = chunk.choices[0].delta
        if delta.content:
            self.text_deltas += 1
            self.text.append(delta.content)
        for call in delta.tool_calls or ():
            into = self.calls.setdefault(call.index, {"id": "", "name": "", "arguments": []})
            if call.id:
                into["id"] = call.id
            if call.function is not None:
                if call.function.name:
                    into["name"] += call.function.name
                if call.function.arguments:
                    self.argument_deltas += 1
                    into["arguments"].append(call.function.arguments)

    def message(self) -> dict[str, Any]:
        """The assistant message to send back with the tool results."""
        return {
            "role": "assistant",
            "content": "".join(self.text) or None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": "".join(call["arguments"])},
                }
                for call in self.calls.values()
            ],
        }


def _requested(message: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (call["id"], call["function"]["name"], json.loads(call["function"]["arguments"]))
        for call in message["tool_calls"]
    ]


def _tool_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def bare(base_url: str) -> BlockingRun:
    client = OpenAI(base_url=base_url, api_key="bench")
    pool = ThreadPoolExecutor(16)

    def run(workload: Workload) -> Outcome:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        text_deltas = argument_deltas = 0
        while True:
            turn = Turn()
            stream = client.chat.completions.create(
                model=workload.name, messages=messages, tools=tools.SCHEMAS, stream=True
            )  # type: ignore[call-overload]
            for chunk in stream:
                turn.feed(chunk)
            text_deltas += turn.text_deltas
            argument_deltas += turn.argument_deltas
            if not turn.calls:
                return Outcome(text_deltas, argument_deltas, "".join(turn.text))
            message = turn.message()
            calls = _requested(message)
            results = pool.map(lambda call: tools.BLOCKING[call[1]](**call[2]), calls)
            _answered(messages, message, calls, results)

    return run


def bare_async(base_url: str) -> AsyncRun:
    client = AsyncOpenAI(base_url=base_url, api_key="bench")

    async def run(workload: Workload) -> Outcome:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        text_deltas = argument_deltas = 0
        while True:
            turn = Turn()
            stream = await client.chat.completions.create(
                model=workload.name, messages=messages, tools=tools.SCHEMAS, stream=True
            )  # type: ignore[call-overload]
            async for chunk in stream:
                turn.feed(chunk)
            text_deltas += turn.text_deltas
            argument_deltas += turn.argument_deltas
            if not turn.calls:
                return Outcome(text_deltas, argument_deltas, "".join(turn.text))
            message = turn.message()
            calls = _requested(message)
            results = await asyncio.gather(
                *(tools.ASYNCHRONOUS[name](**arguments) for _, name, arguments in calls)
            )
            _answered(messages, message, calls, results)

    return run


def _answered(
    messages: list[dict[str, Any]], message: dict[str, Any], calls: Any, results: Any
) -> None:
    """The assistant's message and its tools' answers, added to the conversation."""
    messages.append(message)
    messages += [
        _tool_message(call[0], result) for call, result in zip(calls, results, strict=True)
    ]


def _count(event: Any, counts: list[int]) -> None:
    if event.type == "content.delta" and event.delta:
        counts[0] += 1
    elif event.type == "tool_calls.function.arguments.delta" and event.arguments_delta:
        counts[1] += 1


def _completed(completion: Any) -> dict[str, Any]:
    message = completion.choices[0].message
    return {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls or ()
        ],
    }


def helper(base_url: str) -> BlockingRun:
    client = OpenAI(base_url=base_url, api_key="bench")
    pool = ThreadPoolExecutor(16)

    def run(workload: Workload) -> Outcome:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        counts = [0, 0]
        while True:
            with client.chat.completions.stream(
                model=workload.name, messages=messages, tools=tools.SCHEMAS
            ) as stream:  # type: ignore[arg-type]
                for event in stream:
                    _count(event, counts)
                message = _completed(stream.get_final_completion())
            if not message["tool_calls"]:
                return Outcome(counts[0], counts[1], message["content"] or "")
            calls = _requested(message)
            results = pool.map(lambda call: tools.BLOCKING[call[1]](**call[2]), calls)
            _answered(messages, message, calls, results)

    return run


def helper_async(base_url: str) -> AsyncRun:
    client = AsyncOpenAI(base_url=base_url, api_key="bench")

    async def run(workload: Workload) -> Outcome:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        counts = [0, 0]
        while True:
            async with client.chat.completions.stream(
                model=workload.name, messages=messages, tools=tools.SCHEMAS
            ) as stream:  # type: ignore[arg-type]
                async for event in stream:
                    _count(event, counts)
                message = _completed(await stream.get_final_completion())
            if not message["tool_calls"]:
                return Outcome(counts[0], counts[1], message["content"] or "")
            calls = _requested(message)
            results = await asyncio.gather(
                *(tools.ASYNCHRONOUS[name](**arguments) for _, name, arguments in calls)
            )
            _answered(messages, message, calls, results)

    return run


def contenders() -> list[Contender]:
    return [
        Contender("sdk", "blocking", bare),
        Contender("sdk-async", "async", bare_async),
        Contender("sdk-helper", "blocking", helper),
        Contender("sdk-helper-async", "async", helper_async),
    ]
