"""Ready-made ``before_model_call`` hooks: trim what each model call sends, or end a run early.

``KeepLastTurns`` and ``KeepWithinTokens`` shorten the messages of each call with
``agentools.trimming`` (whole units only, so a tool call is never sent without its answers); the
history keeps every message. ``StopWhen`` ends a run before its next model call once one of its
conditions (``agentools.stopping``) holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import HookError
from ..messages import SystemMessage
from ..model_call import ModelCallRequest, StopRun
from ..stopping import StopCondition
from ..trimming import TokenCounter, estimate_tokens, keep_last_turns, keep_within_tokens
from .base import Hooks

if TYPE_CHECKING:
    from ..calls import ToolCall, ToolResult
    from ..messages import ContentPart

__all__ = ["KeepLastTurns", "KeepWithinTokens", "StopWhen"]


class KeepLastTurns(Hooks):
    """Send each model call only the last ``turns`` turns (a prompt and all that answered it),
    after the system prompt and the pinned messages: ``keep_last_turns``."""

    def __init__(self, turns: int) -> None:
        if turns < 1:
            raise ValueError(f"turns must be at least 1, not {turns}")
        self.turns = turns

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.turns})"

    def before_model_call(self, request: ModelCallRequest) -> None:
        request.messages = keep_last_turns(request.messages, self.turns)


class KeepWithinTokens(Hooks):
    """Send each model call at most ``budget`` tokens of messages, as ``count`` counts them,
    dropping the oldest turns first: ``keep_within_tokens``.

    The system prompt (``request.system``) counts within the budget; the tools' definitions and
    the answer do not: leave room for them below the model's context window.
    """

    def __init__(self, budget: int, count: TokenCounter = estimate_tokens) -> None:
        if budget < 0:
            raise ValueError(f"budget must be at least 0, not {budget}")
        self.budget = budget
        self.count = count

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.budget})"

    def before_model_call(self, request: ModelCallRequest) -> None:
        if request.system is None:
            request.messages = keep_within_tokens(request.messages, self.budget, count=self.count)
            return
        # Pinned in front, the system prompt is counted and never dropped.
        system = SystemMessage(content=request.system)
        kept = keep_within_tokens([system, *request.messages], self.budget, count=self.count)
        request.messages = kept[1:]


class StopWhen(Hooks):
    """End the run before its next model call once one of ``conditions`` holds; the run's answer
    is the text that condition gave (the first to give one)::

        assistant.run(prompt, hooks=StopWhen(tool_called("submit_report")))

    What the conditions said is forgotten when a run starts (``on_response_start``), so one
    ``StopWhen`` serves runs one after another; runs at the same time need one each.
    """

    def __init__(self, *conditions: StopCondition) -> None:
        if not conditions:
            raise HookError("StopWhen needs at least one condition (tool_called, text_matches)")
        for condition in conditions:
            if not isinstance(condition, StopCondition):
                raise HookError(
                    f"StopWhen takes stop conditions (tool_called, text_matches, a "
                    f"StopCondition), not {type(condition).__name__}"
                )
        self.conditions = conditions
        self._answer: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(c) for c in self.conditions)})"

    def on_response_start(self, prompt: str | list[ContentPart], model: str) -> None:
        self._answer = None

    def on_text(self, text: str) -> None:
        for condition in self.conditions:
            self._note(condition.after_text(text))

    def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        for condition in self.conditions:
            self._note(condition.after_tool_result(call, result))

    def before_model_call(self, request: ModelCallRequest) -> StopRun | None:
        return None if self._answer is None else StopRun(self._answer)

    def _note(self, answer: str | None) -> None:
        if self._answer is None:
            self._answer = answer
