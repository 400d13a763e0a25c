"""``Assistant``: a model, its tools and hooks, and the conversation so far.

``run()`` and ``arun()`` are the same loop (``_machine.Machine``) driven by two runners; they share
the history, so a conversation can go on from one to the other.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from typing import Any

from openai import AsyncOpenAI, OpenAI

from ._dispatch import dispatch, overridden_hooks
from ._errors import UsageError
from ._feeds import ArgumentFeeds
from ._machine import Machine, Settings
from ._runner_async import async_events
from ._runner_sync import blocking_events
from .calls import ToolCallRequest
from .events import Event, ResponseEnd
from .history import History
from .hooks.base import Hooks
from .tools import FunctionTool, Invocation, Toolkit, Toolset

__all__ = ["Assistant"]


class Assistant:
    """An assistant loop: prompt -> model -> tool calls -> results -> model ... -> answer.

    ``model``, ``system`` (a system prompt sent first on every request, not stored in the
    history), ``tools`` (functions, ``function_tool`` objects or ``Toolkit`` instances; see
    ``assistant.tools`` to add, remove, enable and disable them later), ``hooks`` (an
    ``agentools.Hooks``), ``stream`` (stream the model's answers, default ``True``),
    ``max_turns`` (model calls per run), ``max_tool_errors`` (stop with ``ToolErrorsExceeded``
    after that many model turns in a row in which every tool call failed), ``history`` (a
    ``History`` to continue, used as given, or a list of message dicts), and
    ``client`` / ``async_client`` (built on first use as ``OpenAI()`` / ``AsyncOpenAI()``, which
    read ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``). Any other keyword (``temperature=0``,
    ``max_tokens=...``) goes to every ``chat.completions.create`` call as it is.

    One assistant runs one response at a time: a second ``run`` while one is going raises
    ``UsageError``.
    """

    def __init__(
        self,
        *,
        model: str,
        tools: Iterable[FunctionTool[..., Any] | Toolkit | Callable[..., Any]] = (),
        system: str | None = None,
        hooks: Hooks | None = None,
        stream: bool = True,
        max_turns: int = 10,
        max_tool_errors: int = 3,
        history: History | Iterable[Mapping[str, Any]] | None = None,
        client: OpenAI | None = None,
        async_client: AsyncOpenAI | None = None,
        **params: Any,
    ) -> None:
        if max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, not {max_turns}")
        if max_tool_errors < 1:
            raise ValueError(f"max_tool_errors must be at least 1, not {max_tool_errors}")
        self.model = model
        self.tools = Toolset(tools)
        self.system = system
        self.hooks = Hooks() if hooks is None else hooks
        overridden_hooks(self.hooks, blocking=False)  # a wrong type fails here, not mid-run
        self.stream = stream
        self.max_turns = max_turns
        self.max_tool_errors = max_tool_errors
        self.params = params
        if history is None:
            history = History()
        elif not isinstance(history, History):
            history = History.from_openai(history)
        self.history = history
        self._client = client
        self._async_client = async_client
        self._owned_client: OpenAI | None = None
        self._owned_async_client: AsyncOpenAI | None = None
        self._running = threading.Lock()

    @property
    def client(self) -> OpenAI:
        if self._client is None:
            self._client = self._owned_client = OpenAI()
        return self._client

    @property
    def async_client(self) -> AsyncOpenAI:
        if self._async_client is None:
            self._async_client = self._owned_async_client = AsyncOpenAI()
        return self._async_client

    def close(self) -> None:
        """Close the sync client if this assistant built it (clients you passed in are yours)."""
        if self._owned_client is not None:
            self._owned_client.close()
            self._owned_client = self._client = None

    async def aclose(self) -> None:
        """Close both clients this assistant built; call it on the loop that used them."""
        self.close()
        if self._owned_async_client is not None:
            await self._owned_async_client.close()
            self._owned_async_client = self._async_client = None

    # -- blocking ----------------------------------------------------------------------------

    def run(self, prompt: str, *, hooks: Hooks | None = None) -> str:
        """Answer ``prompt`` (calling tools as the model asks) and return the answer's text.

        Blocking; needs no event loop and never touches one, so it also works in a thread whose
        loop is running (Jupyter) and in Django sync views.
        """
        text = ""
        for event in self.response_events(prompt, hooks=hooks):
            if isinstance(event, ResponseEnd):
                text = event.text
        return text

    def response_events(self, prompt: str, *, hooks: Hooks | None = None) -> Iterator[Event]:
        """The blocking run as a generator of events (see ``agentools.events``), for ``match``.

        The hooks are called too, each before its event is yielded. Leaving the loop early closes
        the model's stream and waits for running tools.
        """
        table = overridden_hooks(self.hooks if hooks is None else hooks, blocking=True)
        with self._one_run():
            machine = self._machine()
            machine.start(prompt)
            feeds = ArgumentFeeds(self.tools.get)
            events = blocking_events(machine, self.client, self._prepare, feeds)
            try:
                for event in events:
                    dispatch(table, event)
                    yield event
            finally:
                events.close()  # the runner's cleanup runs now, whatever stopped the loop

    # -- asyncio -----------------------------------------------------------------------------

    async def arun(self, prompt: str, *, hooks: Hooks | None = None) -> str:
        """``run`` for asyncio, with ``AsyncOpenAI``; hooks may be ``async def``."""
        text = ""
        events = self.aresponse_events(prompt, hooks=hooks)
        try:
            async for event in events:
                if isinstance(event, ResponseEnd):
                    text = event.text
        finally:
            await events.aclose()
        return text

    async def aresponse_events(
        self, prompt: str, *, hooks: Hooks | None = None
    ) -> AsyncGenerator[Event, None]:
        """The asyncio run as an async generator of events; close it (``aclose()``, or
        ``contextlib.aclosing``) if you leave the loop early."""
        table = overridden_hooks(self.hooks if hooks is None else hooks, blocking=False)
        with self._one_run():
            machine = self._machine()
            machine.start(prompt)
            feeds = ArgumentFeeds(self.tools.get)
            events = async_events(machine, self.async_client, self._prepare, feeds)
            try:
                async for event in events:
                    result = dispatch(table, event)
                    if result is not None and hasattr(result, "__await__"):
                        await result
                    yield event
            finally:
                # An abandoned async generator is closed only when the loop gets round to it:
                # close the runner now, so its stream, tools and consumers end with the run.
                await events.aclose()

    # -- shared ------------------------------------------------------------------------------

    def _prepare(self, call: ToolCallRequest) -> Invocation:
        return self.tools.prepare(call, self)

    def _machine(self) -> Machine:
        settings = Settings(
            model=self.model,
            tools=self.tools.schemas,
            system=self.system,
            stream=self.stream,
            max_turns=self.max_turns,
            max_tool_errors=self.max_tool_errors,
            params=self.params,
        )
        return Machine(settings, self.history)

    def _one_run(self) -> _RunGuard:
        return _RunGuard(self._running)

    def __repr__(self) -> str:
        return f"<Assistant model={self.model!r} tools={[tool.name for tool in self.tools]}>"


class _RunGuard:
    """Refuses a second run on the same assistant while one is going (they share the history)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise UsageError("this assistant is already running a response; wait for it to end")

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()
