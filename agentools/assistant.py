"""``Assistant``: a model, its tools and hooks, and the conversation so far.

``run()``, ``arun()``, ``response_events()`` and ``aresponse_events()`` are one loop (the machine
of ``agentools._core``) driven by two runners (``agentools._runners``). What they share is here:
the settings, the tools, the hooks, the history, and one run at a time; they share the history, so
a conversation can go on from one to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
import weakref
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any, Generic, TypeVar, overload

import attrs
from openai import AsyncOpenAI, OpenAI

from ._adapters import ChatCompletions, ModelAPI
from ._core import Machine
from ._dispatch import HookCalls, hook_calls
from ._errors import MisuseError, RunPaused
from ._runners.aio import AsyncRunner
from ._runners.blocking import BlockingRunner
from ._schema import ContextParameter
from ._schema.output import OutputSchema
from .approval import Approval, PendingApprovals
from .calls import ToolCall
from .cancel import CancelToken
from .content import Prompt
from .events import AsyncEventStream, Event, EventStream, OutputDone, ResponseEnd, ResponseFailed
from .history import History
from .hooks.base import Hooks
from .messages import TokenUsage
from .output import OUTPUT_TOOL_NAME
from .settings import Settings
from .tools import FunctionTool, Toolkit, ToolRegistry

__all__ = ["Assistant", "RunResult", "ToolContext"]

T = TypeVar("T")
Deps = TypeVar("Deps")


@attrs.frozen(kw_only=True)
class ToolContext(ContextParameter, Generic[Deps]):
    """What a tool receives when it annotates a parameter with ``ToolContext`` (or
    ``ToolContext[MyDeps]``, for a type checker to know ``deps``).

    ``call`` is the call being answered (``call.id`` is its tool-call id), ``assistant`` the
    assistant running it and ``history`` that assistant's history as committed so far (without the
    assistant message that holds this call: it is committed with the answers to all its calls).
    ``deps`` is what the run was given (``run(prompt, deps=...)``; ``None`` if nothing): a
    database session, the user's id, a client, for this run only. The parameter is never part
    of the schema the model sees.
    """

    call: ToolCall
    assistant: Assistant
    history: History
    deps: Deps

    @property
    def call_id(self) -> str:
        return self.call.id


@attrs.frozen(kw_only=True)
class RunResult:
    """What the last run of an assistant gave (``assistant.last_result``): its answer's ``text``,
    its typed ``output`` (``run(output=...)``), the ``usage`` of its model calls (also when it
    failed: the tokens were spent), and ``error``, what it raised, if it did (``RunPaused`` when
    it waits for approvals)."""

    text: str = ""
    output: Any = None
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    error: BaseException | None = None


def _failed(calls: HookCalls, error: BaseException) -> Awaitable[Any] | None:
    """Tell ``on_response_error`` the run ended with ``error``; an awaitable for an ``async def``
    hook (only ``arun`` takes those)."""
    call = calls.get(ResponseFailed)
    answer = None if call is None else call(ResponseFailed(error=error))
    return answer if inspect.isawaitable(answer) else None


class Assistant:
    """An assistant loop: prompt -> model -> tool calls -> results -> model ... -> answer.

    ``model`` and the other keywords are its ``Settings`` (``system``, ``stream``, ``max_turns``,
    ``max_tool_errors``, ``stream_retries``, ``max_text_chars``, ``max_argument_chars``; see
    ``agentools.Settings``); any other keyword (``temperature=0``, ``max_tokens=...``) goes to every
    ``chat.completions.create`` call as it is, and one the call does not take is refused here
    (``UnknownSettingError``). ``tools`` are functions, ``function_tool`` objects or ``Toolkit``
    instances (``assistant.tools`` adds, removes, enables and disables them later), ``hooks`` an
    ``agentools.Hooks``, ``history`` a ``History`` to continue (used as given) or a list of
    message dicts, ``client`` / ``async_client`` the clients to use (built on first use as
    ``OpenAI()`` / ``AsyncOpenAI()``, which read ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``).

    One assistant runs one response at a time: a second ``run`` while one is going raises
    ``MisuseError``.
    """

    def __init__(
        self,
        *,
        model: str,
        tools: Iterable[FunctionTool[..., Any] | Toolkit | Callable[..., Any]]
        | FunctionTool[..., Any]
        | Toolkit = (),
        hooks: Hooks | None = None,
        history: History | Iterable[Mapping[str, Any]] | None = None,
        client: OpenAI | None = None,
        async_client: AsyncOpenAI | None = None,
        **options: Any,
    ) -> None:
        self.api: ModelAPI = ChatCompletions()
        self._client = client
        self._async_client = async_client
        self.settings = self._checked(Settings.from_options({"model": model, **options}))
        self.tools = ToolRegistry(tools)
        self.hooks = Hooks() if hooks is None else hooks
        hook_calls(self.hooks, blocking=False)  # a wrong type fails here, not mid-run
        if history is None:
            history = History()
        elif not isinstance(history, History):
            history = History.from_openai(history)
        self.history = history
        self._owned_client: OpenAI | None = None
        self._owned_async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncOpenAI
        ] = weakref.WeakKeyDictionary()
        self._running = threading.Lock()
        self._cancel: CancelToken | None = None
        self.usage = TokenUsage()
        """The tokens of every model call this assistant made, over all its runs."""
        self.last_result: RunResult | None = None
        """The last run's result: its usage, its output, how it ended."""
        self.pending: PendingApprovals | None = None
        """The calls a paused run waits to have approved (``RunPaused``), until a run resumes
        it (``run(approvals=...)``) or a new prompt leaves it behind; set it to go on with a
        paused run after a restart (``PendingApprovals.from_json``)."""

    def configure(self, **options: Any) -> None:
        """Change settings or API parameters (``assistant.configure(temperature=0.2,
        max_turns=4)``; ``params={...}`` replaces all the parameters). Checked at once; applies
        from the next model call, also during a run (from a hook, say)."""
        self.settings = self._checked(self.settings.with_options(**options))

    def _checked(self, settings: Settings) -> Settings:
        """``settings``, once the model API's call is known to take their ``params``."""
        client = self._client or self._async_client
        self.api.check_params(settings.params, client, Settings.names())
        return settings

    @property
    def client(self) -> OpenAI:
        """The sync client: the one given, or ``OpenAI()``, built on first use."""
        if self._client is None:
            self._client = self._owned_client = OpenAI()
        return self._client

    @property
    def async_client(self) -> AsyncOpenAI:
        """The async client: the one given, or one ``AsyncOpenAI()`` per event loop, built on
        first use in it (a client's connections belong to the loop that opened them, and
        ``asyncio.run()`` closes its loop)."""
        if self._async_client is not None:
            return self._async_client
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise MisuseError("the async client is made in the event loop that uses it") from None
        client = self._owned_async_clients.get(loop)
        if client is None:
            client = self._owned_async_clients[loop] = AsyncOpenAI()
        return client

    def close(self) -> None:
        """Close the sync client if this assistant built it (clients you passed in are yours).
        The async ones it built are closed by ``aclose()``; ``with Assistant(...)`` calls this."""
        if self._owned_client is not None:
            self._owned_client.close()
            self._owned_client = self._client = None

    async def aclose(self) -> None:
        """Close the clients this assistant built: the sync one, and the async one of this event
        loop (those of loops that are closed already cannot be closed any more: they are let
        go). ``async with Assistant(...)`` calls it."""
        self.close()
        client = self._owned_async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
        for loop in [loop for loop in self._owned_async_clients if loop.is_closed()]:
            del self._owned_async_clients[loop]  # another running loop's client stays its own

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Assistant:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def cancel(self) -> None:
        """Cancel the run going on, if any, from any thread: it raises ``RunCancelled`` (see
        ``agentools.cancel``)."""
        token = self._cancel
        if token is not None:
            token.cancel()

    # -- blocking ----------------------------------------------------------------------------

    @overload
    def run(
        self,
        prompt: Prompt | None = None,
        *,
        output: type[T],
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> T: ...
    @overload
    def run(
        self,
        prompt: Prompt | None = None,
        *,
        output: None = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> str: ...
    @overload
    def run(
        self,
        prompt: Prompt | None = None,
        *,
        output: object,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> Any: ...
    def run(
        self,
        prompt: Prompt | None = None,
        *,
        output: Any = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """Answer ``prompt`` (calling tools as the model asks) and return the answer's text (a
        refusal's text, if the model refused). The prompt is a string, or a list of strings,
        ``Image`` and ``Audio`` objects and content-part dicts (see ``agentools.content``).

        ``output`` (a type: an attrs class, a dataclass, ``list[Song]``, ...) asks for a typed
        answer and returns it (``agentools.output``). ``deps`` reaches tools
        (``ToolContext.deps``), ``before_model_call`` (``request.deps``) and any hook with a
        ``deps`` parameter, for this run only. ``approvals`` (by call id, without a prompt) goes
        on with a run that paused for them (``RunPaused``; ``agentools.approval``).

        Blocking; needs no event loop and never touches one, so it also works in a thread whose
        loop is running (Jupyter) and in Django sync views. ``cancel`` stops it from any thread.
        """
        text, value = "", None
        events = self.response_events(
            prompt, output=output, deps=deps, approvals=approvals, hooks=hooks, cancel=cancel
        )
        with events:
            for event in events:
                kind = type(event)
                if kind is ResponseEnd:
                    text = event.text  # type: ignore[union-attr]
                elif kind is OutputDone:
                    value = event.output  # type: ignore[union-attr]
        return text if output is None else value

    def response_events(
        self,
        prompt: Prompt | None = None,
        *,
        output: Any = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> EventStream:
        """The blocking run as the events it causes (see ``agentools.events``), for ``match``.

        The hooks are called too, each before its event is given. Leave early with ``with
        assistant.response_events(...) as events:`` (or ``events.close()``): that closes the
        model's stream and waits for running tools.
        """
        run = _Run(prompt, output, deps, approvals, hooks, cancel)
        return EventStream(self._blocking(run))

    def _blocking(self, run: _Run) -> Generator[Event, None, None]:
        with self._run(run, blocking=True) as (machine, calls, token):
            try:
                yield from BlockingRunner(machine, self.client, calls, token).events()
            except BaseException as error:
                _failed(calls, error)
                raise

    # -- asyncio -----------------------------------------------------------------------------

    @overload
    async def arun(
        self,
        prompt: Prompt | None = None,
        *,
        output: type[T],
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> T: ...
    @overload
    async def arun(
        self,
        prompt: Prompt | None = None,
        *,
        output: None = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> str: ...
    @overload
    async def arun(
        self,
        prompt: Prompt | None = None,
        *,
        output: object,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> Any: ...
    async def arun(
        self,
        prompt: Prompt | None = None,
        *,
        output: Any = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """``run`` for asyncio, with ``AsyncOpenAI``; hooks may be ``async def``.

        Cancelling the task raises ``CancelledError`` as usual; cancelling through ``cancel`` (or
        ``Assistant.cancel()``, from any thread) raises ``RunCancelled``.
        """
        text, value = "", None
        events = self.aresponse_events(
            prompt, output=output, deps=deps, approvals=approvals, hooks=hooks, cancel=cancel
        )
        async with events:
            async for event in events:
                kind = type(event)
                if kind is ResponseEnd:
                    text = event.text  # type: ignore[union-attr]
                elif kind is OutputDone:
                    value = event.output  # type: ignore[union-attr]
        return text if output is None else value

    def aresponse_events(
        self,
        prompt: Prompt | None = None,
        *,
        output: Any = None,
        deps: Any = None,
        approvals: Mapping[str, Approval] | None = None,
        hooks: Hooks | None = None,
        cancel: CancelToken | None = None,
    ) -> AsyncEventStream:
        """The asyncio run as the events it causes; leave early with ``async with
        assistant.aresponse_events(...) as events:`` (or ``await events.aclose()``)."""
        run = _Run(prompt, output, deps, approvals, hooks, cancel)
        return AsyncEventStream(self._asynchronous(run))

    async def _asynchronous(self, run: _Run) -> AsyncGenerator[Event, None]:
        with self._run(run, blocking=False) as (machine, calls, token):
            runner = AsyncRunner(machine, self.async_client, calls, token)
            try:
                async with contextlib.aclosing(runner.events()) as events:
                    async for event in events:
                        yield event
            except BaseException as error:
                told = _failed(calls, error)
                if told is not None:
                    await told
                raise

    # -- shared ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _run(
        self, run: _Run, *, blocking: bool
    ) -> Iterator[tuple[Machine, HookCalls, CancelToken]]:
        """One run: its hooks, its machine (started: the prompt is in the history; or resumed)
        and its token; one at a time, as runs share the history. Its result and usage are kept
        however it ends."""
        calls = hook_calls(
            self.hooks if run.hooks is None else run.hooks, blocking=blocking, deps=run.deps
        )
        output = self._output_schema(run.output)
        if not self._running.acquire(blocking=False):
            raise MisuseError(
                "this assistant is already running a response: wait for it to end. (Events "
                "left before their end hold the run until they are closed: events.close() or "
                "await events.aclose(), or iterate them in a `with` / `async with` block.)"
            )
        token = self._cancel = CancelToken() if run.cancel is None else run.cancel
        machine: Machine | None = None
        error: BaseException | None = None
        resumed, length = (self.pending if run.approvals is not None else None), len(self.history)
        try:
            machine = Machine(
                lambda: self.settings,
                self.history,
                api=self.api,
                tools=self.tools,
                tool_context=functools.partial(self._tool_context, deps=run.deps),
                cancel=token,
                output=output,
                deps=run.deps,
            )
            self._begin(machine, run)
            yield machine, calls, token
        except BaseException as caught:
            error = caught
            if isinstance(caught, RunPaused):
                self.pending = caught.pending
            elif resumed is not None and len(self.history) == length:
                # The resumed calls did not run (cancelled, a bad decision): they still wait.
                self.pending = resumed
            raise
        finally:
            if machine is not None:
                self.usage += machine.spent
                self.last_result = RunResult(
                    text=machine.text, output=machine.output, usage=machine.spent, error=error
                )
            self._cancel = None
            self._running.release()

    def _begin(self, machine: Machine, run: _Run) -> None:
        """Start the run: with its prompt, or, given ``approvals``, from the paused one."""
        if run.approvals is None:
            if run.prompt is None:
                raise MisuseError("run() needs a prompt (or approvals=, to resume a paused run)")
            machine.start(run.prompt)
            self.pending = None  # a new prompt leaves a paused message behind
            return
        if run.prompt is not None:
            raise MisuseError("give a prompt or approvals=, not both")
        if self.pending is None:
            raise MisuseError(
                "approvals= resumes a paused run, and none is pending (after a restart, set "
                "assistant.pending = PendingApprovals.from_json(...))"
            )
        machine.resume(self.pending, run.approvals)
        self.pending = None

    def _output_schema(self, output: Any) -> OutputSchema | None:
        """The schema of ``run(output=...)``'s type, checked against the settings."""
        if output is None:
            return None
        settings = self.settings
        if "response_format" in settings.params and settings.output_mode == "json_schema":
            raise MisuseError("output= sets response_format itself: leave it out of the params")
        if (
            settings.output_mode == "tool"
            and settings.tool_mode == "native"
            and (OUTPUT_TOOL_NAME in self.tools)
        ):
            raise MisuseError(f"a tool is named {OUTPUT_TOOL_NAME!r}, the output tool's name")
        return _output_schema(output)

    def _tool_context(self, call: ToolCall, *, deps: Any = None) -> ToolContext[Any]:
        return ToolContext(call=call, assistant=self, history=self.history, deps=deps)

    def __repr__(self) -> str:
        return f"<Assistant model={self.settings.model!r} tools={self.tools.shown()}>"


@attrs.frozen
class _Run:
    """What one call of ``run`` / ``arun`` / ``response_events`` was given."""

    prompt: Prompt | None
    output: Any
    deps: Any
    approvals: Mapping[str, Approval] | None
    hooks: Hooks | None
    cancel: CancelToken | None


@functools.lru_cache(maxsize=64)
def _cached_schema(output: Any) -> OutputSchema:
    return OutputSchema.of(output)


def _output_schema(output: Any) -> OutputSchema:
    """An output type's schema, built once per type (a type that cannot be hashed: each time)."""
    try:
        hash(output)
    except TypeError:
        return OutputSchema.of(output)
    return _cached_schema(output)
