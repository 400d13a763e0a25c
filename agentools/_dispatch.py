"""Events to hook methods: the one dispatch table both runners use.

A hook is called with its event's fields, in order (``TextDelta(delta, snapshot)`` ->
``on_partial_text(delta, snapshot)``), so the table is derived from the event classes; only the
methods a ``Hooks`` object overrides are in it, so an event nobody listens to costs one look-up.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any

import attrs

from ._errors import AsyncHookError, HookError
from .events import EVENT_TYPES, Event
from .hooks.base import HOOK_NAMES, Hooks

__all__ = ["HookCalls", "hook_calls"]

HookCalls = dict[type[Event], Callable[[Event], Any]]
"""Event class -> a function that calls the overridden hook with the event's fields and returns
what it returned (an awaitable, for an ``async def`` hook)."""


def hook_calls(hooks: Hooks, *, blocking: bool) -> HookCalls:
    """The hooks worth calling, checked before the run begins: each must take its event's
    fields, a method named ``on_...`` must be a hook (a misspelt hook would never be called),
    and with ``blocking=True`` none may be ``async def``."""
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
        _check_arguments(method, fields, f"{owner}.{event_type.hook}")
        if blocking and inspect.iscoroutinefunction(method):
            raise AsyncHookError(
                f"{owner}.{event_type.hook} is async def; the blocking run() cannot await it "
                "(use arun(), or make it a plain def)"
            )
        calls[event_type] = _caller(method, fields)
    return calls


def _check_arguments(method: Callable[..., Any], fields: list[str], name: str) -> None:
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return  # a callable whose signature cannot be read: it will tell when called
    try:
        signature.bind(*fields)
    except TypeError:
        raise HookError(
            f"{name}{signature} cannot be called with the hook's arguments ({', '.join(fields)})"
        ) from None


def _caller(method: Callable[..., Any], fields: list[str]) -> Callable[[Event], Any]:
    get = operator.attrgetter(*fields)
    if len(fields) == 1:
        return lambda event: method(get(event))
    return lambda event: method(*get(event))
