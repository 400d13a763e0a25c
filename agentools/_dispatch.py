"""Events to hook methods: the one dispatch table both runners use.

A hook is called with its event's fields, in order (``TextDelta(delta, snapshot)`` ->
``on_partial_text(delta, snapshot)``), so the table is derived from the event classes; only the
methods a ``Hooks`` object overrides are in it, so an event nobody listens to costs one look-up.
"""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._errors import AsyncHookError, HookError
from .events import EVENT_TYPES, Event, ResponseFailed
from .hooks.base import HOOK_NAMES, Hooks
from .hooks.fanout import FanOutHooks

__all__ = ["HookCalls", "hook_calls"]

HookCalls = dict[type[Event], Callable[[Event], Any]]
"""Event class -> a function that calls the overridden hook with the event's fields and returns
what it returned (an awaitable, for an ``async def`` hook)."""


def hook_calls(hooks: Hooks, *, blocking: bool, deps: Any = None) -> HookCalls:
    """The hooks worth calling, checked before the run begins: each must take its event's
    fields, a method named ``on_...`` must be a hook (a misspelt hook would never be called),
    and with ``blocking=True`` none may be ``async def``. A hook that also has a parameter
    named ``deps`` is given the run's ``deps`` (``run(deps=...)``) by keyword."""
    if not isinstance(hooks, Hooks):
        raise HookError(f"hooks must be an agentools.Hooks, not {type(hooks).__name__}")
    owner = type(hooks).__name__
    for name in dir(type(hooks)):
        if name.startswith("on_") and name not in HOOK_NAMES:
            import difflib  # only for this error's hint

            close = difflib.get_close_matches(name, HOOK_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise HookError(f"{owner}.{name} is not a hook, so it would never be called{hint}")
    calls: HookCalls = {}
    for event_type in EVENT_TYPES:
        method = getattr(hooks, event_type.hook)
        if getattr(method, "__func__", None) is getattr(Hooks, event_type.hook):
            continue
        fields = [field.name for field in attrs.fields(event_type)]
        wants_deps = _check_arguments(method, fields, f"{owner}.{event_type.hook}")
        if blocking and inspect.iscoroutinefunction(method):
            raise AsyncHookError(
                f"{owner}.{event_type.hook} is async def; the blocking run() cannot await it "
                "(use arun(), or make it a plain def)"
            )
        if wants_deps:
            method = functools.partial(method, deps=deps)
        calls[event_type] = _caller(method, fields)
    if isinstance(hooks, FanOutHooks):
        members = (hook_calls(hook, blocking=blocking, deps=deps) for hook in hooks.hooks)
        return _fanned_out([calls, *members])
    return calls


def _fanned_out(members: list[HookCalls]) -> HookCalls:
    """One caller per event type for the members' callers (see ``FanOutHooks``)."""
    calls: HookCalls = {}
    for event_type in EVENT_TYPES:
        callers = [member[event_type] for member in members if event_type in member]
        if len(callers) == 1:
            calls[event_type] = callers[0]
        elif callers:
            calls[event_type] = _in_turn(callers, every=event_type is ResponseFailed)
    return calls


def _in_turn(callers: list[Callable[[Event], Any]], *, every: bool) -> Callable[[Event], Any]:
    """Call ``callers`` in order and return the first answer that is not None. Plain calls stay
    plain; from the first awaitable on, the rest is a coroutine that awaits each in turn. With
    ``every``, a caller that raises does not keep the others from being called."""

    def call(event: Event) -> Any:
        answer: Any = None
        error: BaseException | None = None
        for index, caller in enumerate(callers):
            try:
                result = caller(event)
            except BaseException as exc:
                if not every:
                    raise
                error = error or exc
                continue
            if inspect.isawaitable(result):
                return _awaited(result, callers[index + 1 :], event, answer, error, every)
            answer = result if answer is None else answer
        if error is not None:
            raise error
        return answer

    return call


async def _awaited(
    result: Awaitable[Any],
    rest: list[Callable[[Event], Any]],
    event: Event,
    answer: Any,
    error: BaseException | None,
    every: bool,
) -> Any:
    calls: list[Callable[[], Any]] = [lambda: result]
    calls += (functools.partial(caller, event) for caller in rest)
    for call in calls:
        try:
            value = call()
            if inspect.isawaitable(value):
                value = await value
        except BaseException as exc:
            if not every:
                raise
            error = error or exc
            continue
        answer = value if answer is None else answer
    if error is not None:
        raise error
    return answer


def _check_arguments(method: Callable[..., Any], fields: list[str], name: str) -> bool:
    """Refuse a hook that cannot take its event's fields; say whether it takes ``deps`` too."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return False  # a callable whose signature cannot be read: it will tell when called
    deps = signature.parameters.get("deps")
    wants_deps = (
        deps is not None
        and "deps" not in fields
        and deps.kind in (deps.KEYWORD_ONLY, deps.POSITIONAL_OR_KEYWORD)
    )
    try:
        if wants_deps:
            signature.bind(*fields, deps=None)
        else:
            signature.bind(*fields)
    except TypeError:
        raise HookError(
            f"{name}{signature} cannot be called with the hook's arguments ({', '.join(fields)})"
        ) from None
    return wants_deps


def _caller(method: Callable[..., Any], fields: list[str]) -> Callable[[Event], Any]:
    get = operator.attrgetter(*fields)
    if len(fields) == 1:
        return lambda event: method(get(event))
    return lambda event: method(*get(event))
