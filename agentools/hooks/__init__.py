"""Hooks: the callbacks a response calls (``Hooks``), and ready-made ones.

The ready-made ones are imported on first use: ``TracingHooks`` (OpenTelemetry spans) needs the
optional ``opentelemetry-api`` (``pip install 'agentools[otel]'``), which importing agentools
never does, and ``PrintHooks`` and ``RecordingHooks`` are not every program's.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from .base import HOOK_NAMES, Hooks
from .fanout import FanOutHooks

if TYPE_CHECKING:
    from .otel import TracingHooks
    from .printing import PrintHooks
    from .recording import RecordingHooks
    from .trimming import KeepLastTurns, KeepWithinTokens, StopWhen

_LAZY = {
    "TracingHooks": ".otel",
    "PrintHooks": ".printing",
    "RecordingHooks": ".recording",
    "KeepLastTurns": ".trimming",
    "KeepWithinTokens": ".trimming",
    "StopWhen": ".trimming",
}
"""Names imported on first use."""


__getattr__, __dir__ = lazy_names(globals(), _LAZY)


__all__ = [
    "HOOK_NAMES",
    "FanOutHooks",
    "Hooks",
    "KeepLastTurns",
    "KeepWithinTokens",
    "PrintHooks",
    "RecordingHooks",
    "StopWhen",
    "TracingHooks",
]
