"""When a run should end early: the conditions ``agentools.hooks.StopWhen`` checks.

A condition looks at what happened in the run (a tool's result, the model's text) and says with
what text the run should end, or nothing. It has no memory of its own: ``StopWhen`` keeps what
its conditions said for the run under way, so one condition object can serve any number of runs
and hooks. These live apart from ``agentools.trimming``, which works on message lists: a
condition works on a run's events.

Write your own by subclassing ``StopCondition`` and overriding one method or both.
"""

from __future__ import annotations

import re

import attrs

from .calls import ToolCall, ToolResult

__all__ = ["StopCondition", "text_matches", "tool_called"]


class StopCondition:
    """A reason to end a run before its next model call. Each method returns the text the run
    ends with (what ``run`` returns), or ``None`` to go on."""

    def after_tool_result(self, call: ToolCall, result: ToolResult) -> str | None:
        """``call`` finished with ``result`` (``on_tool_result``)."""
        return None

    def after_text(self, text: str) -> str | None:
        """An assistant message with ``text`` is complete (``on_text``)."""
        return None


@attrs.frozen
class _ToolCalled(StopCondition):
    names: frozenset[str]

    def after_tool_result(self, call: ToolCall, result: ToolResult) -> str | None:
        if call.name in self.names and result.error is None:
            return result.content
        return None


@attrs.frozen
class _TextMatches(StopCondition):
    pattern: re.Pattern[str]

    def after_text(self, text: str) -> str | None:
        return text if self.pattern.search(text) else None


def tool_called(*names: str) -> StopCondition:
    """Stop once a tool named in ``names`` has returned without error; the run's answer is what
    the model would have been given (``result.content``). For a tool that gives the final answer
    (``submit_report``), which the model would otherwise only paraphrase."""
    if not names:
        raise ValueError("tool_called needs at least one tool name")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"tool_called takes tool names, not {type(name).__name__}")
    return _ToolCalled(frozenset(names))


def text_matches(pattern: str | re.Pattern[str]) -> StopCondition:
    """Stop once an assistant message's text matches ``pattern`` (``re.search``); the run's
    answer is that text. The text that comes with tool calls counts too: those tools still run,
    and the run ends before the model sees their results."""
    return _TextMatches(re.compile(pattern))
