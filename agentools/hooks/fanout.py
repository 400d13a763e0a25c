"""``FanOutHooks``: several ``Hooks`` objects used as one, e.g. tracing beside a UI's hooks."""

from __future__ import annotations

from .._errors import HookError
from .base import Hooks

__all__ = ["FanOutHooks"]


class FanOutHooks(Hooks):
    """Calls each of ``hooks`` for every event, in the order given, each call finished (an
    ``async def`` hook awaited) before the next begins::

        assistant.run(prompt, hooks=FanOutHooks(TracingHooks(), ChatUI(websocket)))

    - A decision (``on_max_tokens``): every hook is called; the first answer that is not
      ``None`` is the decision.
    - A hook that raises stops the run as a single hook's exception does: the hooks after it
      are not called for that event. ``on_response_error`` then reaches every hook, also when one
      of them raises there (the first such exception propagates), so each can close what it
      opened.
    - The checks a run makes before it starts (a misspelt ``on_...`` method, a hook that cannot
      take its arguments, an ``async def`` hook under the blocking ``run()``) apply to each hook.

    Methods a subclass overrides itself are called before those of ``hooks``.
    """

    def __init__(self, *hooks: Hooks) -> None:
        for hook in hooks:
            if not isinstance(hook, Hooks):
                raise HookError(f"FanOutHooks takes Hooks objects, not {type(hook).__name__}")
        self.hooks = hooks

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(hook) for hook in self.hooks)})"
