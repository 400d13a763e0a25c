"""The assistant loop as one I/O-free state machine.

Inputs go in through ``start()``, ``receive_chunk()``, ``receive_stream_end()``,
``receive_completion()`` and ``receive_tool_result()``; ``next_step()`` says what to do next:
hand an event to the hooks, call the model, run tools, wait for more input, or stop. The runners
(``_runner_sync``, ``_runner_async``) are short loops around it that do the I/O.

Every transition is in ``TRANSITIONS`` below::

    IDLE ──start──▶ CALLING_MODEL ──chunk──▶ STREAMING ──stream end──┬─▶ RUNNING_TOOLS ─┐
                     │  ▲   ▲                     │                    ├─▶ DECIDING (length)
                     │  │   └────── retry ────────┘                    └─▶ DONE           │
                     │  └───────── last tool result (next turn) / decision "continue" ────┘
                     └──completion (stream=False)──▶ RUNNING_TOOLS, DECIDING or DONE

An input that does not fit the state raises ``UsageError``; anything the model sends that cannot
be right raises ``ModelProtocolError``. After any exception the machine is in ``ERROR``.

The history is transactional: the machine appends only whole units the API accepts. The prompt
at once; an assistant message with the answers to all its tool calls as soon as the last answer
is in (the tools have run: the history must say so); a final answer (or a truncated one and what
follows it) once its events have been delivered, i.e. when the runner asks for the next action,
so that a hook raising on it, or a cancel before it is delivered, leaves it out. Whatever fails,
the history is the last such point, with the user's prompt in it.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from ._accumulate import MessageAccumulator, ModelMessage, message_from_completion
from ._errors import (
    ContentFilterError,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    ModelProtocolError,
    ToolErrorsExceeded,
    UsageError,
)
from .calls import ToolCallRequest, ToolResult
from .events import (
    ContentFiltered,
    Event,
    MaxTokens,
    RefusalDone,
    ResponseEnd,
    ResponseStart,
    Retry,
    TextDone,
    ToolCallDone,
    ToolResultDone,
    UsageUpdate,
)
from .history import History
from .messages import AssistantMessage, Message, SystemMessage, ToolMessage, Usage, UserMessage

__all__ = [
    "NEED_INPUT",
    "CallModel",
    "Finished",
    "Machine",
    "RunTools",
    "State",
    "Step",
    "TRANSITIONS",
]

CONTINUE_PROMPT = "Continue exactly where you stopped, without repeating anything."
"""Sent as a user message when ``on_max_tokens`` returns ``"continue"`` (and kept in the history,
which must be what the model was sent)."""

MAX_TOKENS_DECISIONS = (None, "keep", "continue", "raise")

CUT_CALL_MESSAGE = (
    "Error: this tool call was cut off by the output token limit (finish_reason 'length') "
    "and was not run."
)


class State(enum.Enum):
    IDLE = "IDLE"
    CALLING_MODEL = "CALLING_MODEL"
    STREAMING = "STREAMING"
    RUNNING_TOOLS = "RUNNING_TOOLS"
    DECIDING = "DECIDING"
    DONE = "DONE"
    ERROR = "ERROR"


class _Sentinel(enum.Enum):
    NEED_INPUT = "NEED_INPUT"


NEED_INPUT = _Sentinel.NEED_INPUT
"""``next_step()`` has nothing to say until the runner feeds the input it is waiting for."""


@attrs.frozen(kw_only=True)
class CallModel:
    """Call ``chat.completions.create(**request)``; stream it if ``stream``."""

    request: Mapping[str, Any]
    stream: bool
    turn: int


@attrs.frozen(kw_only=True)
class RunTools:
    """Run these calls (concurrently, as the runner can) and feed back each result."""

    calls: tuple[ToolCallRequest, ...]


@attrs.frozen(kw_only=True)
class Finished:
    text: str
    usage: Usage


Step = Event | CallModel | RunTools | Finished | _Sentinel


@attrs.frozen
class _Raise:
    error: Exception


@attrs.frozen
class _Input:
    """The kinds of input, named for error messages and the transition table."""

    name: str


START = _Input("start")
CHUNK = _Input("chunk")
STREAM_END = _Input("stream end")
COMPLETION = _Input("completion")
TOOL_RESULT = _Input("tool result")
DECISION = _Input("decision")
RETRY = _Input("retry")

_ANSWERED = frozenset({State.RUNNING_TOOLS, State.DECIDING, State.DONE})

TRANSITIONS: Mapping[tuple[State, _Input], frozenset[State]] = {
    (State.IDLE, START): frozenset({State.CALLING_MODEL}),
    (State.CALLING_MODEL, CHUNK): frozenset({State.STREAMING}),
    (State.CALLING_MODEL, STREAM_END): _ANSWERED,
    (State.CALLING_MODEL, COMPLETION): _ANSWERED,
    (State.CALLING_MODEL, RETRY): frozenset({State.CALLING_MODEL}),
    (State.STREAMING, CHUNK): frozenset({State.STREAMING}),
    (State.STREAMING, STREAM_END): _ANSWERED,
    (State.STREAMING, RETRY): frozenset({State.CALLING_MODEL}),
    (State.RUNNING_TOOLS, TOOL_RESULT): frozenset(
        {State.RUNNING_TOOLS, State.CALLING_MODEL, State.DONE}
    ),
    (State.DECIDING, DECISION): frozenset({State.CALLING_MODEL, State.DONE}),
}
"""(state, input) -> the states that input may lead to. Anything else is a ``UsageError``.

A stream that ends before its first chunk is a valid input but the model's fault: the accumulator
raises ``ModelProtocolError`` for it."""


def transitions_table() -> str:
    """``TRANSITIONS`` as a Markdown table (the README shows it; a test keeps them equal)."""
    rows = ["| state | input | next state |", "|---|---|---|"]
    for (state, given), targets in TRANSITIONS.items():
        names = " or ".join(f"`{target.value}`" for target in State if target in targets)
        rows.append(f"| `{state.value}` | {given.name} | {names} |")
    return "\n".join(rows)


@attrs.frozen(kw_only=True)
class Settings:
    """What stays the same for every request of a run."""

    model: str
    tools: Callable[[], Sequence[Mapping[str, Any]]] = tuple
    """The request's ``tools``, read for every model call (so tools can change during a run)."""
    system: str | None = None
    stream: bool = True
    max_turns: int = 10
    max_tool_errors: int = 3
    max_text_chars: int = 1_000_000
    max_argument_chars: int = 1_000_000
    stream_retries: int = 0
    params: Mapping[str, Any] = attrs.field(factory=dict)


class Machine:
    """One run of the loop: a prompt in, an answer out, the history kept valid throughout."""

    def __init__(self, settings: Settings, history: History) -> None:
        self.settings = settings
        self.history = history
        self.state = State.IDLE
        self._events: deque[Event] = deque()
        self._action: CallModel | RunTools | Finished | _Raise | None = None
        self._turn = 0
        self._accumulator = self._new_accumulator()
        self._answer: ModelMessage | None = None
        self._results: dict[str, ToolResult] = {}
        self._calls: dict[str, ToolCallRequest] = {}
        self._usage = Usage()
        self._text = ""
        self._continued = ""
        self._failed_turns = 0
        self._retries = 0
        self._deciding: ModelMessage | None = None
        self._uncommitted: list[Message] = []
        self._last_call: CallModel | None = None

    # -- what next ---------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next event for the hooks, or ``None``; never an action (used between chunks)."""
        return self._events.popleft() if self._events else None

    def next_step(self) -> Step:
        """The next thing to do. Events come first, in order; then the pending action, once.

        In ``DECIDING``, once the ``MaxTokens`` event is out, no decision means ``"keep"``.
        """
        if self._events:
            return self._events.popleft()
        if self.state is State.DECIDING:
            self.decide(None)
        action, self._action = self._action, None
        if action is not None:
            # The events of the units waiting to be committed have all been delivered.
            self.history.extend(self._uncommitted)
            self._uncommitted.clear()
        if isinstance(action, _Raise):
            self.state = State.ERROR
            raise action.error
        return NEED_INPUT if action is None else action

    # -- inputs ------------------------------------------------------------------------------

    def start(self, prompt: str) -> None:
        self._handle(START, self._on_start, prompt)

    def receive_chunk(self, chunk: ChatCompletionChunk) -> None:
        self._handle(CHUNK, self._on_chunk, chunk)

    def receive_stream_end(self) -> None:
        self._handle(STREAM_END, self._on_stream_end, None)

    def receive_completion(self, completion: ChatCompletion) -> None:
        self._handle(COMPLETION, self._on_completion, completion)

    def receive_tool_result(self, result: ToolResult) -> None:
        self._handle(TOOL_RESULT, self._on_tool_result, result)

    def decide(self, decision: object) -> None:
        """What to do after ``finish_reason == "length"``: ``None`` or ``"keep"`` (the truncated
        text is the answer), ``"continue"`` (ask the model to go on) or ``"raise"``."""
        self._handle(DECISION, self._on_decision, decision)

    @property
    def can_retry(self) -> bool:
        """May a broken model call be retried (``stream_retries`` not used up)?"""
        calling = self.state in (State.CALLING_MODEL, State.STREAMING)
        return calling and self._retries < self.settings.stream_retries

    def retry(self, error: BaseException) -> None:
        """The model call broke (after ``can_retry``): discard its partial answer, call again."""
        self._handle(RETRY, self._on_retry, error)

    # -- transitions -------------------------------------------------------------------------

    def _handle(self, given: _Input, handler: Callable[[Any], None], value: Any) -> None:
        allowed = TRANSITIONS.get((self.state, given))
        if allowed is None:
            state = self.state
            self._fail()
            raise UsageError(f"can't handle {given.name} in state {state.value}")
        try:
            handler(value)
        except BaseException:
            self._fail()
            raise
        assert self.state in allowed, (self.state, given)

    def _on_start(self, prompt: Any) -> None:
        if not isinstance(prompt, str):
            raise UsageError(f"the prompt must be a str, not {type(prompt).__name__}")
        self.history.append(UserMessage(content=prompt))
        self._events.append(ResponseStart(prompt=prompt, model=self.settings.model))
        self._call_model()

    def _on_chunk(self, chunk: ChatCompletionChunk) -> None:
        self.state = State.STREAMING
        try:
            self._accumulator.add(chunk, self._events.append)
        except (AttributeError, TypeError, ValueError) as error:
            # The SDK builds stream chunks without validating them: a server's malformed chunk
            # reaches us as missing or mistyped fields.
            raise ModelProtocolError(f"malformed chunk: {error!r}") from error

    def _on_stream_end(self, _: None) -> None:
        self._answered(self._accumulator.finish())

    def _on_completion(self, completion: ChatCompletion) -> None:
        settings = self.settings
        try:
            answer = message_from_completion(
                completion, settings.max_text_chars, settings.max_argument_chars
            )
        except (AttributeError, TypeError, ValueError) as error:
            raise ModelProtocolError(f"malformed completion: {error!r}") from error
        self._answered(answer)

    def _on_decision(self, decision: object) -> None:
        if decision not in MAX_TOKENS_DECISIONS:
            raise UsageError(
                f"on_max_tokens returned {decision!r}; expected None, 'keep', 'continue' or 'raise'"
            )
        assert self._deciding is not None
        message, self._deciding = self._deciding.message, None
        cut = [ToolMessage(tool_call_id=c.id, content=CUT_CALL_MESSAGE) for c in message.tool_calls]
        if decision == "raise":
            self._stop(MaxTokensExceeded(message))
        elif decision == "continue":
            self._commit(message, cut)
            self._uncommitted.append(UserMessage(content=CONTINUE_PROMPT))
            self._continued = self._text
            self._call_model()
        else:
            self._finish(message, cut)

    def _on_retry(self, error: BaseException) -> None:
        if not self.can_retry:
            raise UsageError("no retry left (stream_retries)")
        assert self._last_call is not None
        self._retries += 1
        self._events.append(Retry(attempt=self._retries, error=error))
        self.state = State.CALLING_MODEL
        self._accumulator = self._new_accumulator()
        self._action = self._last_call

    def _on_tool_result(self, result: ToolResult) -> None:
        call = self._calls.get(result.call_id)
        if call is None or result.call_id in self._results:
            raise UsageError(f"no tool call {result.call_id!r} is waiting for a result")
        self._results[result.call_id] = result
        self._events.append(ToolResultDone(call=call, result=result))
        if len(self._results) == len(self._calls):
            self._commit_tool_turn()

    def _stop(self, error: Exception) -> None:
        """End the run with ``error``, raised by ``next_step()`` once the events before it are
        out (and what they completed is committed)."""
        self.state = State.DONE
        self._action = _Raise(error)

    def _fail(self) -> None:
        self.state = State.ERROR
        self._action = None

    def _call_model(self) -> None:
        self._turn += 1
        if self._turn > self.settings.max_turns:
            self._stop(MaxTurnsExceeded(self.settings.max_turns))
            return
        self.state = State.CALLING_MODEL
        self._accumulator = self._new_accumulator()
        self._action = self._last_call = CallModel(
            request=self._request(), stream=self.settings.stream, turn=self._turn
        )

    def _new_accumulator(self) -> MessageAccumulator:
        return MessageAccumulator(self.settings.max_text_chars, self.settings.max_argument_chars)

    def _request(self) -> dict[str, Any]:
        settings = self.settings
        messages: list[Message] = [*self.history, *self._uncommitted]
        if settings.system is not None:
            messages.insert(0, SystemMessage(content=settings.system))
        request: dict[str, Any] = {
            **settings.params,
            "model": settings.model,
            "messages": History(messages).to_openai(),
        }
        tools = list(settings.tools())
        if tools:
            request["tools"] = tools
        if settings.stream:
            request["stream"] = True
            request["stream_options"] = {
                **request.get("stream_options", {}),
                "include_usage": True,
            }
        return request

    def _answered(self, answer: ModelMessage) -> None:
        """A whole model message arrived: announce it, then run its tools or finish."""
        message = answer.message
        if answer.usage is not None:
            self._usage += answer.usage
            self._events.append(UsageUpdate(usage=answer.usage, total=self._usage))
        if answer.finish_reason == "content_filter":
            # Whatever was written before the filter stopped it is not an answer to keep.
            self._events.append(ContentFiltered(message=message))
            self._stop(ContentFilterError(message))
            return
        if message.content:
            self._events.append(TextDone(text=message.content))
        if message.refusal:
            self._events.append(RefusalDone(text=message.refusal))
        self._text = self._continued + (message.content or message.refusal or "")
        if answer.finish_reason == "length":
            self._events.append(MaxTokens(message=message))
            self._deciding = answer
            self.state = State.DECIDING
        elif answer.calls:
            self._answer = answer
            self._calls = {call.id: call for call in answer.calls}
            self._results = {}
            self._events.extend(ToolCallDone(call=call) for call in answer.calls)
            self.state = State.RUNNING_TOOLS
            self._action = RunTools(calls=answer.calls)
        else:
            self._finish(message, [])

    def _commit_tool_turn(self) -> None:
        assert self._answer is not None
        answer, self._answer = self._answer, None
        # At once: the tools have run, and the history must record what they did (a retry
        # after a failure must not run them again unknowingly).
        self.history.append(answer.message)
        self.history.extend(
            ToolMessage(tool_call_id=call.id, content=self._results[call.id].content)
            for call in answer.calls
        )
        errors = tuple(result.error for result in self._results.values())
        if all(error is not None for error in errors):
            self._failed_turns += 1
            if self._failed_turns >= self.settings.max_tool_errors:
                failures = tuple(error for error in errors if error is not None)
                self._stop(ToolErrorsExceeded(self.settings.max_tool_errors, failures))
                return
        else:
            self._failed_turns = 0
        self._call_model()

    def _commit(self, message: AssistantMessage, answers: list[ToolMessage]) -> None:
        """Keep a message with the answers to its calls; an empty one is not a message the API
        accepts, and says nothing."""
        if message.content or message.refusal or message.tool_calls:
            self._uncommitted.append(message)
            self._uncommitted.extend(answers)

    def _finish(self, message: AssistantMessage, answers: list[ToolMessage]) -> None:
        self._commit(message, answers)
        self.state = State.DONE
        self._events.append(ResponseEnd(text=self._text))
        self._action = Finished(text=self._text, usage=self._usage)
