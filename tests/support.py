"""Helpers the scenario tests share: running an assistant under either runner, and building
assistants wired to the loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from agentools import Assistant, Hooks
from agentools.testing import FakeOpenAIServer

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
