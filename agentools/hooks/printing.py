"""``PrintHooks``: show a response in a terminal as it streams."""

from __future__ import annotations

import json
import shutil
import sys
from typing import TextIO

from ..calls import PartialToolCall, ToolCall, ToolResult
from .base import Hooks

__all__ = ["PrintHooks"]

_REWRITE = "\r\x1b[K"
"""Back to the start of the line and clear it: how a live line is drawn again."""
_DIM, _PLAIN = "\x1b[2m", "\x1b[0m"
"""How the model's reasoning is set apart from its answer on a terminal."""


class PrintHooks(Hooks):
    """Prints the answer as it streams, and one line per tool call and result.

    On a terminal (``live``, by default when ``file`` is a TTY) a tool call's line is drawn as
    soon as its name arrives and redrawn in place as its arguments stream, cut to the terminal's
    width (the end shows, as that is what grows). Elsewhere (a file, a pipe, a log) only whole
    lines are written: one per complete call. With ``stream=False`` there are no partial texts,
    so each message's text is printed whole.

    ``show_reasoning`` prints a reasoning model's reasoning too: dimmed as it streams on a
    terminal, elsewhere whole, as one ``[reasoning] ...`` line per message.
    """

    def __init__(
        self,
        file: TextIO | None = None,
        *,
        show_tools: bool = True,
        show_reasoning: bool = False,
        live: bool | None = None,
    ) -> None:
        self.file = sys.stdout if file is None else file
        self.show_tools = show_tools
        self.show_reasoning = show_reasoning
        self.live = _is_terminal(self.file) if live is None else live
        self._streamed = False
        """This message's text came in pieces, so it is on the screen already."""
        self._open = False
        """The last line written has no newline yet."""
        self._live: int | None = None
        """The index of the call whose line is being redrawn."""
        self._live_call: tuple[str, str] = ("", "")
        """Its name and arguments as last drawn."""
        self._drawn: set[int] = set()
        """The calls of this message drawn live (not written again when complete)."""
        self._thinking = False
        """The line being written is reasoning."""
        self._thought = False
        """This message's reasoning was shown as it streamed (or once it was whole)."""
        self._unshown: str | None = None
        """Reasoning streamed while not live, not written yet."""

    def _print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self.file, flush=True)

    def _end_line(self) -> None:
        if self._live is not None:  # its arguments are whole now: drawn one last time, closed
            self._print(_REWRITE + _fitted(*self._live_call, _width(), closed=True), end="")
        if self._open:
            self._print("")
        self._open = self._thinking = False
        self._live = None

    def on_model_call(self, turn: int, model: str, attempt: int) -> None:
        self._drawn.clear()

    def on_partial_reasoning(self, delta: str, snapshot: str) -> None:
        if not self.show_reasoning:
            return
        if not self.live:  # a line of its own once it is whole: when something else comes
            self._unshown = snapshot
            return
        if not self._thinking:
            self._end_line()
        self._open = self._thinking = self._thought = True
        self._print(_DIM + delta + _PLAIN, end="")

    def on_reasoning(self, text: str) -> None:
        if not self.show_reasoning:
            return
        self._show_reasoning()
        if not self._thought:
            self._end_line()
            self._print(f"[reasoning] {text}")
        elif self._thinking:
            self._end_line()
        self._thought = False

    def _show_reasoning(self) -> None:
        """Write the reasoning streamed (not live) so far, before what comes after it."""
        if self._unshown is not None:
            self._end_line()
            self._print(f"[reasoning] {self._unshown}")
            self._unshown = None
            self._thought = True

    def on_partial_text(self, delta: str, snapshot: str) -> None:
        self._show_reasoning()
        if self._live is not None or self._thinking:
            self._end_line()
        self._streamed = self._open = True
        self._print(delta, end="")

    def on_text(self, text: str) -> None:
        if self._streamed:
            self._end_line()
        else:
            self._end_line()
            self._print(text)
        self._streamed = False

    def on_partial_tool_call(self, call: PartialToolCall) -> None:
        self._show_reasoning()
        if not (self.live and self.show_tools):
            return
        if self._live != call.index:
            self._end_line()
            self._live = call.index
        self._drawn.add(call.index)
        self._live_call = (call.name, call.arguments.replace("\n", " "))
        self._print(_REWRITE + _fitted(*self._live_call, _width(), closed=False), end="")
        self._open = True

    def on_tool_call(self, call: ToolCall) -> None:
        if not self.show_tools:
            return
        if call.index in self._drawn:
            self._drawn.discard(call.index)
            if self._live == call.index:
                self._end_line()
            return
        self._end_line()
        self._print(f"-> {call.name}({_one_line(call)})")

    def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        if self.show_tools:
            self._end_line()
            self._print(f"<- {call.name}: {result.content}")

    def on_refusal(self, text: str) -> None:
        self._end_line()
        self._print(f"[refused] {text}")


def _one_line(call: ToolCall) -> str:
    """The call's arguments on one line: as compact JSON when they parsed (a model may write
    them over several lines), else as written."""
    if call.arguments_error is None and "\n" in call.arguments:
        return json.dumps(call.parsed, ensure_ascii=False)
    return call.arguments


def _fitted(name: str, arguments: str, width: int, *, closed: bool) -> str:
    """``-> name(arguments`` (with ``)`` once ``closed``) in at most ``width`` characters: the
    arguments' end if they are too long, as the end is what grows."""
    end = ")" if closed else ""
    line = f"-> {name}({arguments}{end}"
    if len(line) <= width:
        return line
    head = f"-> {name}(…"
    return head + arguments[-max(width - len(head) - len(end), 1) :] + end


def _width() -> int:
    return max(shutil.get_terminal_size().columns - 1, 20)


def _is_terminal(file: TextIO) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no such method, or the file is closed
        return False
