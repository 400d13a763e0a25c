"""Events to hook methods: the one dispatch table both runners use."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._errors import AsyncHookError
from .events import Event
from .hooks.base import HOOK_NAMES, Hooks

__all__ = ["HookTable", "overridden_hooks"]

HookTable = dict[str, Callable[..., Any]]
"""Hook name -> bound method, for the methods a ``Hooks`` object actually overrides."""


def overridden_hooks(hooks: Hooks, *, blocking: bool) -> HookTable:
    """The hooks worth calling; events whose hook is a no-op cost nothing more.

    With ``blocking=True`` an ``async def`` hook is refused here, before the run begins.
    """
    if not isinstance(hooks, Hooks):
        raise TypeError(f"hooks must be an agentools.Hooks, not {type(hooks).__name__}")
    table: HookTable = {}
    for name in HOOK_NAMES:
        method = getattr(hooks, name)
        if getattr(method, "__func__", None) is getattr(Hooks, name):
            continue
        if blocking and inspect.iscoroutinefunction(method):
            raise AsyncHookError(
                f"{type(hooks).__name__}.{name} is async def; the blocking run() cannot await it "
                "(use arun(), or make it a plain def)"
            )
        table[name] = method
    return table


def dispatch(table: HookTable, event: Event) -> Any:
    """Call the hook for ``event``; returns what it returned (an awaitable for async hooks)."""
    method = table.get(event.hook)
    return None if method is None else method(*event.hook_args())
