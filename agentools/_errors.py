"""The exceptions agentools raises, grouped by whose fault it was (as h11 does)."""

from __future__ import annotations

__all__ = [
    "AgentoolsError",
    "AsyncHookError",
    "MaxTurnsExceeded",
    "ModelProtocolError",
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


class MaxTurnsExceeded(AgentoolsError):
    """The model was called ``max_turns`` times in one run and still asked for tools.

    The history stays valid: every tool call in it is answered, so the next ``run`` can go on.
    """

    def __init__(self, max_turns: int) -> None:
        super().__init__(
            f"the model asked for tools after {max_turns} turns (max_turns={max_turns})"
        )
        self.max_turns = max_turns
