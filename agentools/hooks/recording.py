"""``RecordingHooks``: remember every hook call, for tests and debugging."""

from __future__ import annotations

from typing import Any

from .base import HOOK_NAMES, Hooks

__all__ = ["RecordingHooks"]


class RecordingHooks(Hooks):
    """Records each hook call as ``(name, args)`` in ``calls``, in the order they happened."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def names(self) -> list[str]:
        """The hook names called, in order."""
        return [name for name, _ in self.calls]

    def args_of(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of hook ``name``, in order."""
        return [args for called, args in self.calls if called == name]


def _recorder(name: str) -> Any:
    def record(self: RecordingHooks, *args: Any) -> None:
        self.calls.append((name, args))

    record.__name__ = name
    record.__doc__ = getattr(Hooks, name).__doc__
    return record


for _name in HOOK_NAMES:
    setattr(RecordingHooks, _name, _recorder(_name))
