"""``PrintHooks``: show a response in a terminal as it streams."""

from __future__ import annotations

import sys
from typing import TextIO

from ..calls import ToolCall, ToolResult
from .base import Hooks

__all__ = ["PrintHooks"]


class PrintHooks(Hooks):
    """Prints the answer as it streams, and one line per tool call and result.

    With ``stream=False`` there are no partial texts, so each message's text is printed whole.
    """

    def __init__(self, file: TextIO | None = None, *, show_tools: bool = True) -> None:
        self.file = sys.stdout if file is None else file
        self.show_tools = show_tools
        self._streamed = False

    def _print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self.file, flush=True)

    def on_partial_text(self, delta: str, snapshot: str) -> None:
        self._streamed = True
        self._print(delta, end="")

    def on_text(self, text: str) -> None:
        if self._streamed:
            self._print("")
        else:
            self._print(text)
        self._streamed = False

    def on_tool_call(self, call: ToolCall) -> None:
        if self.show_tools:
            self._print(f"-> {call.name}({call.arguments})")

    def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        if self.show_tools:
            self._print(f"<- {call.name}: {result.content}")

    def on_refusal(self, text: str) -> None:
        self._print(f"[refused] {text}")
