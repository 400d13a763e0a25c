"""agentools under both runners, with hooks that count deltas, and optionally read the parsed
partial arguments (what a UI showing a tool call as it streams does).

When the installed agentools' ``Settings`` has a ``decoding`` field, each of its values (``raw``
and ``sdk``) is a contender of its own; otherwise the one path there is runs.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
from openai import AsyncOpenAI, OpenAI

from agentools import Assistant, History, Hooks, PartialToolCall, Settings, function_tool

from . import tools
from .contenders import AsyncRun, BlockingRun, Contender, Outcome
from .workloads import PROMPT, Workload


def decodings() -> list[str | None]:
    """The ``decoding`` values the installed agentools offers (``[None]`` if it has none)."""
    if "decoding" not in attrs.fields_dict(Settings):
        return [None]
    try:  # the field's Literal, once its string annotation is resolved
        hint = typing.get_type_hints(Settings)["decoding"]
    except Exception:
        hint = None
    values = [value for value in typing.get_args(hint) if isinstance(value, str)]
    return values or ["raw", "sdk"]


class CountingHooks(Hooks):
    """Counts text deltas and argument deltas (a call whose arguments grew); ``read_parsed``
    also reads ``call.parsed``, the arguments parsed so far."""

    def __init__(self, *, read_parsed: bool) -> None:
        self.read_parsed = read_parsed
        self.reset()

    def reset(self) -> None:
        self.text_deltas = 0
        self.argument_deltas = 0
        self.lengths: dict[str | None, int] = {}
        self.parsed: Any = None

    def on_partial_text(self, delta: str, snapshot: str) -> None:
        self.text_deltas += 1

    def on_partial_tool_call(self, call: PartialToolCall) -> None:
        length = len(call.arguments)
        if length > self.lengths.get(call.id, 0):
            self.argument_deltas += 1
            self.lengths[call.id] = length
        if self.read_parsed:
            self.parsed = call.parsed


def _tools(table: dict[str, Any]) -> list[Any]:
    return [function_tool(name=name)(function) for name, function in table.items()]


def _options(decoding: str | None) -> dict[str, Any]:
    return {} if decoding is None else {"decoding": decoding}


def _shared(blocking: bool, decoding: str | None) -> Any:
    """One client, an assistant per conversation (an assistant holds one conversation)."""

    def make(base_url: str) -> Any:
        client = OpenAI(base_url=base_url, api_key="bench")
        async_client = AsyncOpenAI(base_url=base_url, api_key="bench")
        table = tools.BLOCKING if blocking else tools.ASYNCHRONOUS
        functions = _tools(table)

        def assistant(workload: Workload, hooks: CountingHooks) -> Assistant:
            return Assistant(
                model=workload.name,
                tools=functions,
                hooks=hooks,
                client=client,
                async_client=async_client,
                **_options(decoding),
            )

        def run(workload: Workload) -> Outcome:
            hooks = CountingHooks(read_parsed=False)
            answer = assistant(workload, hooks).run(PROMPT)
            return Outcome(hooks.text_deltas, hooks.argument_deltas, answer)

        async def arun(workload: Workload) -> Outcome:
            hooks = CountingHooks(read_parsed=False)
            answer = await assistant(workload, hooks).arun(PROMPT)
            return Outcome(hooks.text_deltas, hooks.argument_deltas, answer)

        return run if blocking else arun

    return make


def _blocking(read_parsed: bool, decoding: str | None) -> Any:
    def make(base_url: str) -> BlockingRun:
        hooks = CountingHooks(read_parsed=read_parsed)
        bot = Assistant(
            model="unset",
            tools=_tools(tools.BLOCKING),
            hooks=hooks,
            client=OpenAI(base_url=base_url, api_key="bench"),
            **_options(decoding),
        )

        def run(workload: Workload) -> Outcome:
            bot.history = History()
            bot.configure(model=workload.name)
            hooks.reset()
            answer = bot.run(PROMPT)
            return Outcome(hooks.text_deltas, hooks.argument_deltas, answer)

        return run

    return make


def _asynchronous(read_parsed: bool, decoding: str | None) -> Any:
    def make(base_url: str) -> AsyncRun:
        hooks = CountingHooks(read_parsed=read_parsed)
        bot = Assistant(
            model="unset",
            tools=_tools(tools.ASYNCHRONOUS),
            hooks=hooks,
            async_client=AsyncOpenAI(base_url=base_url, api_key="bench"),
            **_options(decoding),
        )

        async def run(workload: Workload) -> Outcome:
            bot.history = History()
            bot.configure(model=workload.name)
            hooks.reset()
            answer = await bot.arun(PROMPT)
            return Outcome(hooks.text_deltas, hooks.argument_deltas, answer)

        return run

    return make


def contenders() -> list[Contender]:
    found = []
    for decoding in decodings():
        suffix = "" if decoding is None else f"[{decoding}]"
        for read_parsed in (False, True):
            parsed = "+parsed" if read_parsed else ""
            found.append(
                Contender(
                    f"agentools-run{suffix}{parsed}",
                    "blocking",
                    _blocking(read_parsed, decoding),
                    _shared(True, decoding),
                )
            )
            found.append(
                Contender(
                    f"agentools-arun{suffix}{parsed}",
                    "async",
                    _asynchronous(read_parsed, decoding),
                    _shared(False, decoding),
                )
            )
    return found
