"""Hooks: the callbacks a response calls (``Hooks``), and ready-made ones."""

from .base import HOOK_NAMES, Hooks
from .fanout import FanOutHooks
from .printing import PrintHooks
from .recording import RecordingHooks

__all__ = ["HOOK_NAMES", "FanOutHooks", "Hooks", "PrintHooks", "RecordingHooks"]
