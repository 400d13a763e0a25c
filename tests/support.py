"""Helpers the tests share: running an assistant under either runner, building assistants wired
to the loopback server, the leak checks, and driving the machine by hand.

The fixtures that use them are in ``conftest.py``: ``runner``, ``stream``, ``server``, ``bot``,
and the thread check every test gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

import httpx2
import openai

from agentools import Assistant, CancelToken, History, Hooks, Settings, ToolRegistry, function_tool
from agentools._adapters import ChatCompletions
from agentools._core import NEED_INPUT, Decide, Machine
from agentools.events import BeforeModelCall
from agentools.testing import (
    FakeOpenAIServer,
    Responder,
    Turn,
    render_chunks,
    render_completion,
)

T = TypeVar("T")


class Runner:
    """Runs an assistant under one of the two runners, the same way for every test."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    @property
    def is_async(self) -> bool:
        return self.loop is not None

    def run(
        self,
        assistant: Assistant,
        prompt: str | None,
        *,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
        **options: Any,
    ) -> Any:
        """``run`` or ``arun``; ``options`` are their other keywords (``output``, ``deps``,
        ``approvals``)."""
        if self.loop is None:
            return assistant.run(prompt, hooks=hooks, cancel=cancel, **options)
        return self.loop.run_until_complete(
            assistant.arun(prompt, hooks=hooks, cancel=cancel, **options)
        )

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
    """Builds assistants wired to the test server for one runner, and closes every client it
    built (when the test ends, or earlier with ``close()``).

    ``bot(**kwargs)`` passes ``kwargs`` to ``Assistant`` (``model`` defaults to the server's
    "fake-model"); ``client={...}`` are options of both clients (``timeout``, ``max_retries``);
    ``pooled=False`` gives clients that keep no idle connection (``max_keepalive_connections=0``),
    so that a connection still open after a run is one the run left open, not one the pool kept
    for the next request.
    """

    def __init__(self, server: FakeOpenAIServer, runner: Runner) -> None:
        self.server = server
        self.runner = runner
        self.clients: list[tuple[openai.OpenAI, openai.AsyncOpenAI]] = []

    def __call__(
        self, *, client: Mapping[str, Any] | None = None, pooled: bool = True, **kwargs: Any
    ) -> Assistant:
        sync_options = dict(client or {})
        async_options = dict(client or {})
        if not pooled:
            limits = httpx2.Limits(max_keepalive_connections=0)
            sync_options["http_client"] = openai.DefaultHttpx2Client(trust_env=False, limits=limits)
            async_options["http_client"] = openai.DefaultAsyncHttpx2Client(
                trust_env=False, limits=limits
            )
        sync_client = self.server.client(**sync_options)
        async_client = self.server.async_client(**async_options)
        self.clients.append((sync_client, async_client))  # closed even if Assistant() raises
        kwargs.setdefault("model", "fake-model")
        return Assistant(client=sync_client, async_client=async_client, **kwargs)

    def close(self) -> None:
        """Close the clients built so far, and their connections with them."""
        clients, self.clients = self.clients, []
        for sync_client, async_client in clients:
            sync_client.close()
            if self.runner.loop is not None:
                self.runner.await_(async_client.close())
            else:
                asyncio.run(async_client.close())


# -- leak checks -----------------------------------------------------------------------------

WORKER_THREADS = ("agentools-tool", "agentools-preview")
"""How the threads agentools starts for tool calls, previews and streaming tools are named."""


def agentools_threads() -> list[str]:
    """The names of agentools' tool and preview threads alive now."""
    return [t.name for t in threading.enumerate() if t.name.startswith(WORKER_THREADS)]


def threads_left(timeout: float = 5.0) -> list[str]:
    """Join agentools' tool and preview threads, within ``timeout`` seconds in all, and name
    those still alive: a thread returning from its last line is not a leak; one still working
    is."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith(WORKER_THREADS):
            thread.join(max(0.0, deadline - time.monotonic()))
    return agentools_threads()


def server_threads() -> list[str]:
    """The names of the fake server's threads (its own and one per connection) alive now."""
    return [t.name for t in threading.enumerate() if t.name.startswith("agentools-fake-openai")]


@contextlib.contextmanager
def serving(
    turns: Iterable[Turn] = (), *, responder: Responder | None = None
) -> Iterator[FakeOpenAIServer]:
    """A started server, checked when the block ends: no client connection may be left open
    (the server gets 5 s to notice clients hanging up), and once it is closed, no server thread
    and no serving error may be left."""
    with FakeOpenAIServer(turns, responder=responder) as server:
        yield server
        assert server.wait_idle(timeout=5), f"{server.open_connections} connection(s) left open"
    assert server.open_connections == 0
    assert server_threads() == []
    assert server.errors == []


def raw_chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of choice 0 written by hand, for ``Turn(raw=[...])``: how a
    test reproduces a server's quirk."""
    return {
        "id": "chatcmpl-raw",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "raw-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


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


@function_tool(needs_approval=True)
def ask() -> str:
    """A tool whose calls wait for approval."""
    return "asked"


def new_machine(
    *,
    stream: bool = True,
    cancel: CancelToken | None = None,
    random: Callable[[], float] = lambda: 0.5,
    **settings: Any,
) -> Machine:
    """A machine with tools ``f``, ``g``, ``raising`` and ``ask`` (which needs approval), on the
    Chat Completions adapter (and a jitter that is always the middle of its range)."""
    return Machine(
        Settings(model="m", stream=stream, **settings),
        History(),
        api=ChatCompletions(),
        tools=ToolRegistry([f, g, raising, ask]),
        cancel=cancel,
        random=random,
    )


def chunks_of(turn: Turn, **kwargs: Any) -> list[dict[str, Any]]:
    """The chunks of ``turn`` as the adapter hands them to the machine: the dicts their JSON
    decodes to."""
    return [json.loads(json.dumps(c)) for c in render_chunks(turn, **kwargs)]


def completion_of(turn: Turn) -> dict[str, Any]:
    return dict(json.loads(json.dumps(render_completion(turn))))


def drain(machine: Machine, *, requests: bool = False) -> list[Any]:
    """The steps until the machine needs input (an exception it raises propagates). Each
    ``before_model_call`` decision is answered ``None``, as a runner does for hooks that leave it
    alone, and left out of the steps unless ``requests``."""
    steps = []
    while (step := machine.next_step()) is not NEED_INPUT:
        if isinstance(step, Decide) and isinstance(step.event, BeforeModelCall):
            machine.decide(None)
            if not requests:
                continue
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


def broken() -> openai.APIConnectionError:
    """What the SDK raises for a connection that broke."""
    return openai.APIConnectionError(request=httpx2.Request("POST", "http://127.0.0.1/"))


def done(value: Any = None, error: BaseException | None = None) -> Future[Any]:
    """A finished future, as the runners hand in for a tool's outcome."""
    future: Future[Any] = Future()
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
    return future
