"""The exceptions agentools raises, grouped by whose fault it was (as h11 does)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentoolsError",
    "AsyncHookError",
    "ContentFilterError",
    "MaxTokensExceeded",
    "MaxTurnsExceeded",
    "ModelProtocolError",
    "ResponseTooLarge",
    "RunCancelled",
    "ToolErrorsExceeded",
    "UsageError",
]


class AgentoolsError(Exception):
    """Base class of every agentools exception."""


class UsageError(AgentoolsError, RuntimeError):
    """The caller used agentools wrongly (an input that does not fit the machine's state, two
    runs at once on one assistant, ...). Fix the calling code."""


class AsyncHookError(UsageError, TypeError):
    """The blocking runner was given a hook written as ``async def``; it has no event loop to run
    it on. Use ``arun`` or make the method a plain ``def``."""


class ModelProtocolError(AgentoolsError):
    """The model or the server sent something that cannot happen in the Chat Completions protocol
    (an empty stream, a stream without a ``finish_reason``, a tool call without a name, ...)."""


class ToolErrorsExceeded(AgentoolsError):
    """In ``max_tool_errors`` model turns in a row, every tool call failed: the model is not
    getting anywhere. ``errors`` are the failures of the last such turn.

    The history stays valid (every call in it is answered), so the next ``run`` can go on.
    """

    def __init__(self, max_tool_errors: int, errors: tuple[BaseException, ...]) -> None:
        summary = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        super().__init__(
            f"every tool call failed in {max_tool_errors} model turns in a row "
            f"(max_tool_errors={max_tool_errors}); last: {summary}"
        )
        self.max_tool_errors = max_tool_errors
        self.errors = errors


class ResponseTooLarge(ModelProtocolError):
    """The model's answer went past a size cap (``max_text_chars`` for its text or refusal,
    ``max_argument_chars`` for one tool call's arguments): the stream was stopped there, so that
    a runaway model or server cannot exhaust memory. Nothing of that answer is kept."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"the model's {what} went past {limit:,} characters")
        self.what = what
        self.limit = limit


class MaxTokensExceeded(AgentoolsError):
    """``on_max_tokens`` returned ``"raise"``: the model stopped at its output token limit.
    ``message`` is what it wrote; it is not kept in the history."""

    def __init__(self, message: Any) -> None:
        super().__init__("the model stopped at its output token limit (finish_reason 'length')")
        self.message = message


class ContentFilterError(AgentoolsError):
    """The provider's content filter stopped the answer (``finish_reason == "content_filter"``);
    ``message`` is what was written before. It is not kept in the history."""

    def __init__(self, message: Any) -> None:
        super().__init__("the answer was stopped by the content filter")
        self.message = message


class RunCancelled(AgentoolsError):
    """The run was cancelled through its ``CancelToken`` (or ``Assistant.cancel()``)."""


def malformed(error: Exception) -> ModelProtocolError:
    """The error for a chunk or completion that is not JSON (the SDK lets json's error out)."""
    return ModelProtocolError(f"the server sent a malformed chunk or completion: {error}")


class MaxTurnsExceeded(AgentoolsError):
    """The model was called ``max_turns`` times in one run and still asked for tools.

    The history stays valid: every tool call in it is answered, so the next ``run`` can go on.
    """

    def __init__(self, max_turns: int) -> None:
        super().__init__(
            f"the model asked for tools after {max_turns} turns (max_turns={max_turns})"
        )
        self.max_turns = max_turns
