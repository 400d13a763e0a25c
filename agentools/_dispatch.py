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
from .hooks.base import Hooks

__all__ = ["HookCalls", "hook_calls"]

HookCalls = dict[type[Event], Callable[[Event], Any]]
"""Event class -> a function that calls the overridden hook with the event's fields and returns
what it returned (an awaitable, for an ``async def`` hook)."""


def hook_calls(hooks: Hooks, *, blocking: bool) -> HookCalls:
    """The hooks worth calling. With ``blocking=True`` an ``async def`` hook is refused here,
    before the run begins."""
    if not isinstance(hooks, Hooks):
        raise HookError(f"hooks must be an agentools.Hooks, not {type(hooks).__name__}")
    calls: HookCalls = {}
    for event_type in EVENT_TYPES:
        method = getattr(hooks, event_type.hook)
        if getattr(method, "__func__", None) is getattr(Hooks, event_type.hook):
            continue
        if blocking and inspect.iscoroutinefunction(method):
            raise AsyncHookError(
                f"{type(hooks).__name__}.{event_type.hook} is async def; the blocking run() "
                "cannot await it (use arun(), or make it a plain def)"
            )
        calls[event_type] = _caller(method, [field.name for field in attrs.fields(event_type)])
    return calls


def _caller(method: Callable[..., Any], fields: list[str]) -> Callable[[Event], Any]:
    get = operator.attrgetter(*fields)
    if len(fields) == 1:
        return lambda event: method(get(event))
    return lambda event: method(*get(event))
