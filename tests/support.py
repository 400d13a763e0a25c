"""Helpers the scenario tests share: running an assistant under either runner, and building
assistants wired to the loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agentools import Assistant, CancelToken, History, Hooks, Settings, ToolRegistry, function_tool
from agentools._adapters import ChatCompletions
from agentools._core import NEED_INPUT, Machine
from agentools.testing import FakeOpenAIServer, Turn, render_chunks, render_completion

T = TypeVar("T")


class Runner:
    """Runs an assistant under one of the two runners, the same way for every test."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    @property
    def is_async(self) -> bool:
        return self.loop is not None

    def run(self, assistant: Assistant, prompt: str, *, hooks: Hooks | None = None) -> str:
        if self.loop is None:
            return assistant.run(prompt, hooks=hooks)
        return self.loop.run_until_complete(assistant.arun(prompt, hooks=hooks))

    def await_(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self.loop is not None
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()

    def __repr__(self) -> str:
        return self.kind


class Bot:
    """Builds assistants wired to the test server for one runner, and closes their clients."""

    def __init__(self, server: FakeOpenAIServer, runner: Runner) -> None:
        self.server = server
        self.runner = runner
        self.assistants: list[Assistant] = []

    def __call__(self, **kwargs: Any) -> Assistant:
        kwargs.setdefault("model", "fake-model")
        client = self.server.client()
        async_client = self.server.async_client()
        assistant = Assistant(client=client, async_client=async_client, **kwargs)
        self.assistants.append(assistant)
        return assistant

    def close(self) -> None:
        for assistant in self.assistants:
            assistant.client.close()
            if self.runner.loop is not None:
                self.runner.await_(assistant.async_client.close())
            else:
                asyncio.run(assistant.async_client.close())


# -- driving the machine by hand ------------------------------------------------------------


@function_tool
def f(key: str = "") -> str:
    """A tool the machine tests' calls name."""
    return f"f:{key}"


@function_tool
def g() -> str:
    """Another one."""
    return "g"


@function_tool(raise_errors=True)
def raising() -> str:
    """A tool whose exceptions end the run."""
    return "r"


def new_machine(
    *, stream: bool = True, cancel: CancelToken | None = None, **settings: Any
) -> Machine:
    """A machine with tools ``f``, ``g`` and ``raising``, on the Chat Completions adapter."""
    return Machine(
        Settings(model="m", stream=stream, **settings),
        History(),
        api=ChatCompletions(),
        tools=ToolRegistry([f, g, raising]),
        cancel=cancel,
    )


def chunks_of(turn: Turn, **kwargs: Any) -> list[ChatCompletionChunk]:
    return [ChatCompletionChunk.model_validate(c) for c in render_chunks(turn, **kwargs)]


def completion_of(turn: Turn) -> ChatCompletion:
    return ChatCompletion.model_validate(render_completion(turn))


def drain(machine: Machine) -> list[Any]:
    """The steps until the machine needs input (an exception it raises propagates)."""
    steps = []
    while (step := machine.next_step()) is not NEED_INPUT:
        steps.append(step)
    return steps


def answer(machine: Machine, turn: Turn) -> list[Any]:
    """Feed ``turn`` as the model's answer (streamed or whole, as the machine's call asks) and
    return the steps that follow."""
    steps: list[Any] = []
    if machine._call is not None and machine._call.stream:
        for chunk in chunks_of(turn, include_usage=True):
            machine.receive_chunk(chunk)
            steps += drain(machine)
    else:
        machine.receive_chunk(completion_of(turn))
    machine.receive_end()
    return steps + drain(machine)


def done(value: Any = None, error: BaseException | None = None) -> Future[Any]:
    """A finished future, as the runners hand in for a tool's outcome."""
    future: Future[Any] = Future()
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
    return future
