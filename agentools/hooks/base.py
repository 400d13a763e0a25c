"""The ``Hooks`` base class: subclass it and override the methods you care about.

Every method may be a plain ``def`` or an ``async def``. The asyncio runner (``arun``) awaits
``async def`` hooks; the blocking runner (``run``) has no event loop, so it refuses them up front
with ``AsyncHookError`` naming the method, before anything is sent to the model.

Hooks run in the runner's own thread (or task), between chunks: a slow hook slows the stream.
An exception raised by a hook stops the run and propagates to the caller; the history stays at its
last valid point, with the prompt in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..calls import PartialToolCall, ToolCall, ToolResult
    from ..messages import AssistantMessage, ContentPart, TokenUsage
    from ..model_call import ModelCallRequest
    from ..output import PartialOutput

__all__ = ["HOOK_NAMES", "Hooks"]


class Hooks:
    """No-op callbacks for everything that happens during a response."""

    def on_response_start(self, prompt: str | list[ContentPart], model: str) -> Any:
        """A run began: ``prompt`` was added to the history and ``model`` is about to be called.
        A prompt given as a list (text, images, audio) comes as its content parts."""

    def before_model_call(self, request: ModelCallRequest) -> Any:
        """Every model call is about to be made from ``request`` (the messages, the tools
        offered, the parameters of this one call): change it in place, return another one, or
        return ``StopRun(text)`` to end the run with ``text`` as its answer. What it changes
        applies to this call only; the history keeps every message. See
        ``agentools.model_call`` and the ready-made ``KeepLastTurns``, ``KeepWithinTokens`` and
        ``StopWhen``. Returns ``None``, a ``ModelCallRequest`` or a ``StopRun``."""

    def on_model_call(self, turn: int, model: str, attempt: int) -> Any:
        """Model call ``turn`` of this run (1, 2, ...) is about to be made to ``model``;
        ``attempt`` is 0, or the retry's number when a broken call is made again."""

    def on_model_response(self, turn: int, finish_reason: str, usage: TokenUsage | None) -> Any:
        """Model call ``turn``'s answer has all arrived (``finish_reason``: "stop",
        "tool_calls", "length", ...; ``usage`` if the server reported it), before its text and
        tool calls are announced."""

    def on_partial_reasoning(self, delta: str, snapshot: str) -> Any:
        """A piece of the model's reasoning arrived while streaming (servers of reasoning models
        send it before the answer, as ``reasoning_content`` or ``reasoning``); ``snapshot`` is
        the message's reasoning so far. Not called when ``stream=False``."""

    def on_reasoning(self, text: str) -> Any:
        """An assistant message is complete and has reasoning: all of it, once per such message,
        before ``on_text`` (``message.reasoning`` in the history)."""

    def on_partial_text(self, delta: str, snapshot: str) -> Any:
        """A piece of the answer arrived while streaming; ``snapshot`` is the message's text so
        far (``snapshot`` ends with ``delta``). Not called when ``stream=False``."""

    def on_text(self, text: str) -> Any:
        """An assistant message is complete and has text; called once per such message (also for
        the text that precedes tool calls)."""

    def on_partial_tool_call(self, call: PartialToolCall) -> Any:
        """A tool call's name or arguments grew while streaming. ``call.arguments`` is the raw
        JSON so far and ``call.parsed`` the value so far (a live structure: copy it to keep it)."""

    def on_tool_call(self, call: ToolCall) -> Any:
        """A tool call is complete and about to run (not called for calls cut by the token
        limit, which never run)."""

    def on_tool_result(self, call: ToolCall, result: ToolResult) -> Any:
        """A tool call finished: ``result.content`` is what the model receives, ``result.value``
        what the function returned and ``result.error`` the exception if it failed. Called as
        each call finishes, so with parallel calls the order may differ from the call order."""

    def on_preview_error(self, call: PartialToolCall | ToolCall, error: Exception) -> Any:
        """A tool's preview (``@tool.preview``) raised ``error`` for ``call``. The stream and the
        call go on; the preview keeps receiving snapshots."""

    def on_refusal(self, text: str) -> Any:
        """The model refused to answer; ``text`` is its refusal. The refusal is kept in the
        history (as the API gives it) and ``run``/``arun`` return its text."""

    def on_approval(self, call: ToolCall) -> Any:
        """``call`` is to run a tool made with ``needs_approval``: return ``True`` / ``Allow()``
        (run it), ``Allow(arguments={...})`` (run it with these arguments), ``False`` /
        ``Deny(message)`` (do not; the model reads ``message``) or ``"pause"`` (end the run with
        ``RunPaused``, to resume later with ``run(approvals=...)``). The default, ``None``,
        denies: a call nobody approved does not run. Each call of a message is asked on its own,
        in order; they run together once all are decided. Returns an ``Approval``; see
        ``agentools.approval``."""

    def on_partial_output(self, partial: PartialOutput) -> Any:
        """The typed output (``run(output=...)``) grew while it streams: ``partial.value`` so
        far, ``partial.is_complete(*path)`` for a field that is whole. Not called when
        ``stream=False``."""

    def on_output(self, output: Any) -> Any:
        """The typed output, whole and of its type (what ``run(output=...)`` returns), before
        ``on_response_end``."""

    def on_max_tokens(self, message: AssistantMessage) -> Any:
        """The model stopped at its output token limit (``finish_reason == "length"``).

        ``message`` is what it wrote. Tool calls in it are never run (each is answered in the
        history with a message saying it was cut off). Return what happens next:

        - ``None`` or ``"keep"`` (the default): the truncated text is the answer;
        - ``"continue"``: the message is kept, a user message asks the model to continue
          (``CONTINUE_PROMPT``) and the answer is the texts joined; each continuation is a model
          call, bounded by ``max_turns``;
        - ``"raise"``: the run raises ``MaxTokensExceeded``; the message is not kept.
        """

    def on_content_filter(self, message: AssistantMessage) -> Any:
        """The provider's content filter stopped the answer (``finish_reason ==
        "content_filter"``); ``message`` is what was written before. The run then raises
        ``ContentFilterError`` and nothing of this answer is kept in the history."""

    def on_retry(self, attempt: int, error: BaseException) -> Any:
        """A model call broke (``error``) and is made again, attempt ``attempt`` of
        ``stream_retries``: discard the partial text and tool calls shown so far."""

    def on_usage(self, usage: TokenUsage, total: TokenUsage) -> Any:
        """Token usage of one model call and the running total for this run."""

    def on_response_end(self, text: str) -> Any:
        """The run finished; ``text`` is the answer ``run``/``arun`` returns."""

    def on_response_error(self, error: BaseException) -> Any:
        """The run ended without its answer, whatever the cause; ``error`` is what ``run`` /
        ``arun`` raise: ``RunCancelled``, the model's or a tool's failure, a hook's own exception
        (this hook is still called), ``asyncio.CancelledError`` for a cancelled task,
        ``GeneratorExit`` when the caller closed the events early, or ``RunPaused`` when calls
        wait for approval (not a failure: the run resumes with ``run(approvals=...)``). Called
        once; the history is already at its last valid point. An exception raised here
        propagates instead of ``error``, which stays its ``__context__``."""


HOOK_NAMES: tuple[str, ...] = tuple(
    name for name in vars(Hooks) if name.startswith("on_") or name == "before_model_call"
)
