"""Hooks: the callbacks a response calls (``Hooks``), and ready-made ones.

The ready-made ones are imported on first use: ``TracingHooks`` (OpenTelemetry spans) needs the
optional ``opentelemetry-api`` (``pip install 'agentools[otel]'``), which importing agentools
never does, and ``PrintHooks`` and ``RecordingHooks`` are not every program's.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .base import HOOK_NAMES, Hooks
from .fanout import FanOutHooks

if TYPE_CHECKING:
    from .otel import TracingHooks
    from .printing import PrintHooks
    from .recording import RecordingHooks

_LAZY = {"TracingHooks": ".otel", "PrintHooks": ".printing", "RecordingHooks": ".recording"}
"""Names imported on first use."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentools.hooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = ["HOOK_NAMES", "FanOutHooks", "Hooks", "PrintHooks", "RecordingHooks", "TracingHooks"]
