"""``Assistant``: a model, its tools and hooks, and the conversation so far.

``run()`` and ``arun()`` are the same loop (``_machine.Machine``) driven by two runners; they share
the history, so a conversation can go on from one to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Iterator, Mapping
from typing import Any

from openai import AsyncOpenAI, OpenAI

from ._dispatch import dispatch, overridden_hooks
from ._errors import RunCancelled, UsageError
from ._feeds import ArgumentFeeds
from ._machine import Machine, Settings
from ._runner_async import async_events
from ._runner_sync import blocking_events
from .calls import ToolCallRequest
from .cancel import CancelToken
from .events import Event, MaxTokens, ResponseEnd
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
    after that many model turns in a row in which every tool call failed), ``stream_retries``
    (how many times a model call that broke, even mid-stream, is made again; 0 by default;
    ``Hooks.on_retry`` is told), ``max_text_chars`` / ``max_argument_chars`` (caps on one
    message's text and one call's arguments, beyond which the stream is stopped with
    ``ResponseTooLarge``), ``history`` (a
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
        stream_retries: int = 0,
        max_text_chars: int = 1_000_000,
        max_argument_chars: int = 1_000_000,
        history: History | Iterable[Mapping[str, Any]] | None = None,
        client: OpenAI | None = None,
        async_client: AsyncOpenAI | None = None,
        **params: Any,
    ) -> None:
        for name, value, least in [
            ("max_turns", max_turns, 1),
            ("max_tool_errors", max_tool_errors, 1),
            ("stream_retries", stream_retries, 0),
            ("max_text_chars", max_text_chars, 1),
            ("max_argument_chars", max_argument_chars, 1),
        ]:
            if value < least:
                raise ValueError(f"{name} must be at least {least}, not {value}")
        self.model = model
        self.tools = Toolset(tools)
        self.system = system
        self.hooks = Hooks() if hooks is None else hooks
        overridden_hooks(self.hooks, blocking=False)  # a wrong type fails here, not mid-run
        self.stream = stream
        self.max_turns = max_turns
        self.max_tool_errors = max_tool_errors
        self.stream_retries = stream_retries
        self.max_text_chars = max_text_chars
        self.max_argument_chars = max_argument_chars
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
        self._cancel: CancelToken | None = None

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

    def cancel(self) -> None:
        """Cancel the run going on, if any, from any thread: it raises ``RunCancelled`` (see
        ``agentools.cancel``)."""
        token = self._cancel
        if token is not None:
            token.cancel()

    # -- blocking ----------------------------------------------------------------------------

    def run(
        self, prompt: str, *, hooks: Hooks | None = None, cancel: CancelToken | None = None
    ) -> str:
        """Answer ``prompt`` (calling tools as the model asks) and return the answer's text (a
        refusal's text, if the model refused).

        Blocking; needs no event loop and never touches one, so it also works in a thread whose
        loop is running (Jupyter) and in Django sync views. ``cancel`` stops it from any thread.
        """
        text = ""
        events = self.response_events(prompt, hooks=hooks, cancel=cancel)
        try:
            for event in events:
                if isinstance(event, ResponseEnd):
                    text = event.text
        finally:
            events.close()
        return text

    def response_events(
        self, prompt: str, *, hooks: Hooks | None = None, cancel: CancelToken | None = None
    ) -> Generator[Event, None, None]:
        """The blocking run as a generator of events (see ``agentools.events``), for ``match``.

        The hooks are called too, each before its event is yielded. Leaving the loop early closes
        the model's stream and waits for running tools.
        """
        table = overridden_hooks(self.hooks if hooks is None else hooks, blocking=True)
        with self._one_run(cancel) as token:
            machine = self._machine()
            machine.start(prompt)
            feeds = ArgumentFeeds(self.tools.get)
            events = blocking_events(machine, self.client, self._prepare, feeds, token)
            try:
                for event in events:
                    result = dispatch(table, event)
                    if isinstance(event, MaxTokens):
                        machine.decide(result)
                    yield event
            finally:
                events.close()  # the runner's cleanup runs now, whatever stopped the loop

    # -- asyncio -----------------------------------------------------------------------------

    async def arun(
        self, prompt: str, *, hooks: Hooks | None = None, cancel: CancelToken | None = None
    ) -> str:
        """``run`` for asyncio, with ``AsyncOpenAI``; hooks may be ``async def``.

        Cancelling the task raises ``CancelledError`` as usual; cancelling through ``cancel`` (or
        ``Assistant.cancel()``, from any thread) raises ``RunCancelled``.
        """
        text = ""
        events = self.aresponse_events(prompt, hooks=hooks, cancel=cancel)
        try:
            async for event in events:
                if isinstance(event, ResponseEnd):
                    text = event.text
        finally:
            await events.aclose()
        return text

    async def aresponse_events(
        self, prompt: str, *, hooks: Hooks | None = None, cancel: CancelToken | None = None
    ) -> AsyncGenerator[Event, None]:
        """The asyncio run as an async generator of events; close it (``aclose()``, or
        ``contextlib.aclosing``) if you leave the loop early."""
        table = overridden_hooks(self.hooks if hooks is None else hooks, blocking=False)
        with self._one_run(cancel) as token:
            machine = self._machine()
            machine.start(prompt)
            feeds = ArgumentFeeds(self.tools.get)
            events = async_events(machine, self.async_client, self._prepare, feeds)
            task = asyncio.current_task()
            loop = asyncio.get_running_loop()
            assert task is not None
            forget = token.on_cancel(lambda: loop.call_soon_threadsafe(task.cancel))
            try:
                async for event in events:
                    result = dispatch(table, event)
                    if result is not None and hasattr(result, "__await__"):
                        result = await result
                    if isinstance(event, MaxTokens):
                        machine.decide(result)
                    yield event
            except asyncio.CancelledError:
                if not token.cancelled:
                    raise
                if sys.version_info >= (3, 11):
                    task.uncancel()
                raise RunCancelled("the run was cancelled") from None
            finally:
                forget()
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
            max_text_chars=self.max_text_chars,
            max_argument_chars=self.max_argument_chars,
            stream_retries=self.stream_retries,
            params=self.params,
        )
        return Machine(settings, self.history)

    @contextlib.contextmanager
    def _one_run(self, cancel: CancelToken | None) -> Iterator[CancelToken]:
        """One run at a time (they share the history); its token, for ``cancel()``."""
        if not self._running.acquire(blocking=False):
            raise UsageError("this assistant is already running a response; wait for it to end")
        token = self._cancel = CancelToken() if cancel is None else cancel
        try:
            yield token
        finally:
            self._cancel = None
            self._running.release()

    def __repr__(self) -> str:
        return f"<Assistant model={self.model!r} tools={[tool.name for tool in self.tools]}>"
