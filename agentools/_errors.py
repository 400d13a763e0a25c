"""The exceptions agentools raises, grouped by whose fault it was (as h11 does)."""

from __future__ import annotations

from typing import Any, cast

import openai

__all__ = [
    "AgentoolsError",
    "AsyncHookError",
    "ContentFilterError",
    "HookError",
    "MalformedArgumentsError",
    "MaxTokensExceeded",
    "MaxTurnsExceeded",
    "MisuseError",
    "ModelProtocolError",
    "ResponseTooLarge",
    "RunCancelled",
    "SettingsError",
    "StreamError",
    "ToolDefinitionError",
    "ToolErrorsExceeded",
    "ToolTimeoutError",
    "UnknownSettingError",
    "UnknownToolError",
]


class AgentoolsError(Exception):
    """Base class of every agentools exception."""


class MisuseError(AgentoolsError, RuntimeError):
    """The caller used agentools wrongly (an input that does not fit the machine's state, two
    runs at once on one assistant, a hook returning what it may not, ...). Fix the calling
    code."""


class SettingsError(AgentoolsError, ValueError):
    """A setting has a value it cannot have (``max_turns=0``, ``model=""``, ...)."""


class UnknownSettingError(SettingsError, TypeError):
    """A keyword is neither a setting nor a parameter of the model API's call (a misspelling, as
    ``temprature=0``); the message names the closest known one."""


class HookError(MisuseError, TypeError):
    """Hooks that cannot be used: not an ``agentools.Hooks``, or a method the runner cannot
    call."""


class AsyncHookError(HookError):
    """The blocking runner was given a hook written as ``async def``; it has no event loop to run
    it on. Use ``arun`` or make the method a plain ``def``."""


class ModelProtocolError(AgentoolsError):
    """The model or the server sent something that cannot happen in the Chat Completions protocol
    (an empty stream, a stream without a ``finish_reason``, a tool call without a name, ...)."""


class StreamError(AgentoolsError, openai.APIError):
    """The server reported an error in the middle of a stream that had started well (an event
    ``data: {"error": {"message": ..., "type": ..., "code": ...}}``, or one named ``error``).

    ``body`` is that error object; ``message``, ``code`` and ``type`` are read from it as the SDK
    reads them for its own errors. It is an ``openai.APIError`` too, the exception the SDK raises
    for such an event, so ``except openai.APIError`` still catches it. Nothing of the answer that
    was streaming is kept.
    """

    def __init__(self, error: object, request: Any = None) -> None:
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message:
            message = "An error occurred during streaming"
        if request is not None:  # the SDK's httpx2.Request (from 3.60 it reads its headers)
            super().__init__(message, request, body=error)
            return
        # A decoder used without HTTP (or a StreamError made by hand) has no request: set what
        # the SDK's __init__ sets, from the error object, as it reads it.
        openai.OpenAIError.__init__(self, message)
        self.request = cast(Any, None)
        self.message = message
        self.body = error
        fields = error if isinstance(error, dict) else {}
        code = fields.get("code")
        self.code = None if code is None else str(code)
        self.param = _text_or_none(fields.get("param"))
        self.type = _text_or_none(fields.get("type"))


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


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
    ``max_argument_chars`` for one tool call's arguments, 64 characters for a tool's name,
    ``max_tool_calls`` for its number of calls): the stream was stopped there, so that a runaway
    model or server cannot exhaust memory. Nothing of that answer is kept."""

    def __init__(self, what: str, limit: int, unit: str = "characters") -> None:
        super().__init__(f"the model's {what} went past {limit:,} {unit}")
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


class MaxTurnsExceeded(AgentoolsError):
    """The model was called ``max_turns`` times in one run and the answer was still not finished:
    the model still asked for tools, or was still being asked to continue after its token limit.

    The history stays valid: every tool call in it is answered, so the next ``run`` can go on.
    """

    def __init__(self, max_turns: int, *, continuing: bool = False) -> None:
        doing = (
            "was still continuing an answer cut by its token limit"
            if continuing
            else "still asked for tools"
        )
        super().__init__(f"after {max_turns} model calls the model {doing} (max_turns={max_turns})")
        self.max_turns = max_turns


# -- what went wrong with one tool call: the model is told, and the loop goes on ----------------


class ToolDefinitionError(AgentoolsError, ValueError):
    """A tool cannot be made or added as given: a ``timeout`` that is not a positive number,
    another tool with its name, or a method read from its class (add it from an instance, e.g. of
    a ``Toolkit``). (A signature that cannot be described is a ``SchemaError``.)"""


class UnknownToolError(AgentoolsError, KeyError):
    """The model called a tool that the assistant does not have (or has disabled), or the
    ``ToolRegistry`` was asked for one it does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""  # not KeyError's repr: the model reads it


class MalformedArgumentsError(AgentoolsError, ValueError):
    """The model's arguments are not a JSON object (the tool is not called)."""


class ToolTimeoutError(AgentoolsError, TimeoutError):
    """A tool ran past its ``timeout``."""


class OutputError(AgentoolsError):
    """The run could not give the typed output ``run(output=...)`` asked for."""


class OutputValidationError(OutputError, ValueError):
    """The model's output did not fit the output type, ``output_retries`` times after the first.

    ``raw`` is the last output as the model wrote it (the JSON text, or the output tool's
    arguments), ``error`` why it did not fit (written for the model: each problem with its
    path), ``attempts`` how many outputs were read. The history keeps every attempt, each with
    the message that asked for the next one, and the last one: it is a conversation the API
    accepts, and the next run can go on from it.
    """

    def __init__(self, raw: str, error: str, attempts: int) -> None:
        self.raw, self.error, self.attempts = raw, error, attempts
        super().__init__(
            f"the model's output did not fit the output type after {attempts} attempts: {error}"
        )

    def __reduce__(self) -> tuple[type[OutputValidationError], tuple[str, str, int]]:
        return type(self), (self.raw, self.error, self.attempts)


class OutputRefused(OutputError):
    """The model refused to write the output (``message.refusal``, which the structured-output
    API sends instead of JSON); ``refusal`` is its text. The refusal is kept in the history."""

    def __init__(self, refusal: str) -> None:
        self.refusal = refusal
        super().__init__(f"the model refused to write the output: {refusal}")

    def __reduce__(self) -> tuple[type[OutputRefused], tuple[str]]:
        return type(self), (self.refusal,)


class UsageLimitExceeded(AgentoolsError):
    """The next model call would go past ``limit`` (``"max_total_tokens"`` or
    ``"max_request_tokens"``), so it was not made: ``value`` is the limit, ``needed`` the tokens
    the call was estimated to take it to. Raised before the call, with the history as it was
    (every tool call answered). The estimate starts from the usage the server reported for the
    run's last call, so the first call of a run is checked against an estimate of its prompt
    (``agentools.tokens.estimate_tokens``) only."""

    def __init__(self, limit: str, value: int, needed: int) -> None:
        self.limit, self.value, self.needed = limit, value, needed
        super().__init__(
            f"{limit}={value} would be exceeded by the next model call (about {needed} tokens)"
        )

    def __reduce__(self) -> tuple[type[UsageLimitExceeded], tuple[str, int, int]]:
        return type(self), (self.limit, self.value, self.needed)


class RunPaused(AgentoolsError):
    """The run's result when a tool call waits for an approval that is not given yet
    (``on_approval`` returned ``"pause"``): nothing of that model message was run, and the
    history is as it was before it (a valid conversation, the prompt in it).

    ``pending`` (``agentools.PendingApprovals``) holds the message and its calls; it is JSON
    like the history (``pending.to_json()``). Resume with ``assistant.run(approvals={call_id:
    True, ...})`` (the assistant keeps ``pending``; after a restart pass ``pending=`` too)."""

    def __init__(self, pending: Any) -> None:
        self.pending = pending
        names = ", ".join(f"{call.name} ({call.id})" for call in pending.waiting_calls)
        super().__init__(f"the run waits for approval of {names}")


class ToolDenied(AgentoolsError):
    """A tool call was not approved: the ``ToolResult.error`` of a denied call, whose content is
    the message the model reads. Denials do not count as tool failures (``max_tool_errors``)."""
