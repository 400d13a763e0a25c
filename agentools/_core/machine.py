"""The assistant loop as one I/O-free state machine: every decision of a run is made here.

Inputs go in through ``start()``, ``receive_chunk()``, ``receive_end()``, ``receive_failure()``,
``receive_tool_outcome()`` / ``receive_tool_timeout()``, ``receive_tools_done()``, ``decide()``
and ``cancel()``; ``next_step()`` says what to do next: an event for the hooks, or an action
(``steps``) for the runner. The runners (``agentools._runners``) only do the I/O the actions name
and feed back what happened; ``TRANSITIONS`` (``table``) says where each input leads.

What the machine decides, so that no runner has to:

- the history, transactionally: it appends only whole units the API accepts. The prompt at once;
  an assistant message with the answers to all its tool calls as soon as the last answer is in
  (the tools have run: the history must say so); a final answer (or a truncated one and what
  follows it) once its events have been delivered, i.e. when the runner takes the next action,
  so that a hook raising on them, or a cancel before they are delivered, leaves it out. Whatever
  fails, the history is the last such point, with the user's prompt in it;
- tool calls: their preparation and the one result policy (``tool_calls``), and which previews
  and streaming tools start and what they read (``feeds``);
- what the model call's failures mean (called again while ``stream_retries`` last, or raised),
  what ``on_max_tokens`` decided, the limits (``max_turns``, ``max_tool_errors``), and
  cancellation, at any point until the run's end is delivered.

Faults in what the model sent (a malformed chunk, an answer too large, a stream without a
``finish_reason``) move the machine to ``ERROR`` at once, and the next ``next_step()`` raises them;
an input that does not fit the state raises ``MisuseError`` at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

import attrs

from .._adapters.base import Accumulator, Failure, Limits, ModelAnswer, ModelAPI, ModelRequest
from .._errors import (
    ContentFilterError,
    HookError,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    MisuseError,
    ModelProtocolError,
    RunCancelled,
    ToolErrorsExceeded,
)
from ..calls import PartialToolCall, ToolCall, ToolResult
from ..cancel import CancelToken
from ..content import user_content
from ..events import (
    ContentFiltered,
    Event,
    MaxTokens,
    ModelCallDone,
    ModelCallStart,
    PreviewFailed,
    ReasoningDone,
    RefusalDone,
    ResponseEnd,
    ResponseStart,
    Retry,
    TextDone,
    ToolCallDone,
    ToolResultDone,
    UsageUpdate,
)
from ..history import History
from ..messages import (
    REASONING_KEYS,
    AssistantMessage,
    Message,
    SystemMessage,
    TokenUsage,
    ToolMessage,
    UserMessage,
)
from ..settings import Settings
from ..tools import ToolRegistry
from . import table
from .feeds import ArgumentFeeds
from .steps import NEED_INPUT, Action, CallModel, Decide, Finished, RunTools, StartConsumers, Step
from .table import KINDS, TRANSITIONS, Input, State
from .tool_calls import (
    Carried,
    Invocation,
    media_message,
    prepare,
    raised,
    returned,
    timed_out,
    with_distinct_ids,
)

__all__ = ["CONTINUE_PROMPT", "CUT_CALL_MESSAGE", "EMPTY_ANSWER_PROMPT", "Machine"]

CONTINUE_PROMPT = "Continue exactly where you stopped, without repeating anything."
"""Sent as a user message when ``on_max_tokens`` returns ``"continue"`` (and kept in the history,
which must be what the model was sent)."""

EMPTY_ANSWER_PROMPT = "Your answer was empty. Answer in text, or call a tool."
"""Sent as a user message when the model ended its turn with nothing to show
(``Settings.empty_answer_retries``), after the empty message, which the history keeps."""

MAX_TOKENS_DECISIONS = (None, "keep", "continue", "raise")

CUT_CALL_MESSAGE = (
    "Error: this tool call was cut off by the output token limit (finish_reason 'length') "
    "and was not run."
)

log = logging.getLogger("agentools")
"""What the loop decides, as it decides it: never a prompt, a text or arguments above DEBUG,
never a key. Each record carries ``record.agentools``, a dict naming the ``event`` and its
particulars (``turn``, ``tool``, ``call_id``, ``error``, ...) for structured handlers."""


def _log(level: int, event: str, message: str, **fields: object) -> None:
    """Log ``message``, a ``str.format`` template of ``fields``; the fields go on the record
    too, so each is written once."""
    if log.isEnabledFor(level):
        text = message.format(**fields)
        log.log(level, text, extra={"agentools": {"event": event, **fields}})


_NEXT: dict[State, dict[Input, State]] = {
    state: {given: target for (at, given), target in TRANSITIONS.items() if at is state}
    for state in State
}
"""``TRANSITIONS`` by state: the machine keeps its state's row, so a chunk costs one look-up."""


class Outcome(Protocol):
    """A finished ``concurrent.futures.Future`` or ``asyncio.Future``."""

    def result(self) -> Any: ...


@attrs.frozen
class _Raise:
    error: BaseException


class _PrepareCall:
    """The next model call, to be built once the events before it have been delivered: a hook
    that changes the assistant's settings (or its tools) on one of those events changes this
    call, not the one after it."""


_PREPARE_CALL = _PrepareCall()


class Machine:
    """One run of the loop: a prompt in, an answer out, the history kept valid throughout.

    ``settings`` is read again for every model call (a callable giving the current ones, or
    fixed ``Settings``), ``api`` is the model API's adapter, ``tools`` the tools the model may
    call, ``tool_context`` builds the value of a tool's context parameter, and ``cancel`` is
    looked at before every step. ``clock`` (the previews' throttle) and ``random`` (the jitter of
    the delay before a retry) are there for tests.
    """

    def __init__(
        self,
        settings: Settings | Callable[[], Settings],
        history: History,
        *,
        api: ModelAPI,
        tools: ToolRegistry | None = None,
        tool_context: Callable[[ToolCall], Any] | None = None,
        cancel: CancelToken | None = None,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings if callable(settings) else (lambda: settings)
        self._random = random
        self.history = history
        self.api = api
        self._tools = ToolRegistry() if tools is None else tools
        self._tool_context = tool_context
        self._token = cancel
        self.state = State.IDLE
        self._next = _NEXT[State.IDLE]
        self._events: deque[Event] = deque()
        self._actions: deque[Action | _Raise | _PrepareCall] = deque()
        self._uncommitted: list[Message] = []
        self._feeds = ArgumentFeeds(self._tools.get, clock=clock)
        self._call = CallModel(request={}, stream=True, turn=0)
        """The last model call (made again by a retry); none yet."""
        self._call_ready = False
        """``_call`` is the call being made (not one still to be prepared): the model's answer
        may come in."""
        self._tools_ran = False
        self._empty_answers = 0
        self._json_steps = False
        self._made: set[tuple[str, str]] = set()
        """The calls made in this run under constrained tool calling, as (name, arguments as
        canonical JSON)."""
        self._repeated = False
        """A call was made again with the same arguments: with constrained tool calling, the
        next steps may only answer (small models under a grammar repeat a call forever)."""
        self._limits = Limits(text=1, arguments=1, calls=1)
        self._turn = 0
        self._model = ""
        self._retries = 0
        self._answer: ModelAnswer | None = None
        self._results: dict[str, ToolResult] = {}
        self._failed_turns = 0
        self._usage = TokenUsage()
        self._text = ""
        self._continued = ""
        self._raised: BaseException | None = None
        self._ended = False
        """The run's last action (``Finished``, or its error) has been taken."""
        self._accumulator = self._listen()

    # -- what next ---------------------------------------------------------------------------

    def next_step(self) -> Step:
        """The next thing to do: the events first, in order (then the previews' failures), then
        the next action, once; ``NEED_INPUT`` while the runner's action is under way."""
        if self._cancel_requested and self._cancellable:
            self.cancel()
        if self._events:
            return self._events.popleft()
        failures = self._feeds.failures
        if failures:
            call, error = failures.popleft()
            return PreviewFailed(call=call, error=error)
        if not self._actions:
            return NEED_INPUT
        action = self._actions.popleft()
        if self._uncommitted:
            # The events of the units waiting to be committed have all been delivered.
            self.history.extend(self._uncommitted)
            self._uncommitted.clear()
        if isinstance(action, _Raise):
            self._ended = True
            self._raised = action.error
            raise action.error
        if isinstance(action, Finished):
            self._ended = True
        if isinstance(action, _PrepareCall):
            self._prepare_call()
            return self.next_step()
        return action

    @property
    def finished(self) -> bool:
        """The run ended with its answer (``Finished`` was taken)."""
        return self._ended and self._raised is None

    # -- inputs ------------------------------------------------------------------------------

    def start(self, prompt: object) -> None:
        """The user's prompt: it is kept at once, and the model is called."""
        self._accept("start")
        try:
            content = user_content(prompt)
        except MisuseError:
            self._break()
            raise
        self.history.append(UserMessage(content=content))
        model = self._settings().model
        _log(logging.DEBUG, "start", "run started with model {model}", model=model)
        self._events.append(ResponseStart(prompt=content, model=model))
        self._enter(table.START)
        self._call_model()

    def receive_chunk(self, chunk: Any) -> None:
        """A chunk of the answer being streamed, or a whole (``stream=False``) answer."""
        if table.CHUNK not in self._next or not self._call_ready:
            self._refuse("chunk")
        try:
            self._accumulator.add(chunk)
        except ModelProtocolError as error:
            self._fault(table.CHUNK_REFUSED, error)
            return
        except BaseException:
            self._break()
            raise
        self._enter(table.CHUNK)

    def receive_end(self) -> None:
        """The model's answer has all arrived (the stream ended, or the whole answer is in)."""
        self._accept("end", model=True)
        if self.state is State.CALLING_MODEL:
            error = ModelProtocolError("the model's stream ended before any chunk")
            self._fault(table.END_EMPTY, error)
            return
        try:
            answer = self._accumulator.finish()
        except ModelProtocolError as error:
            self._fault(table.END_REFUSED, error)
            return
        self._answered(answer)

    def receive_failure(self, error: Exception) -> None:
        """The model call failed with ``error`` (it may have streamed part of an answer)."""
        self._accept("failure", model=True)
        if self._cancel_requested:
            self._actions.append(_Raise(self._cancel(error)))  # the failure is the cancel's
            return
        kind = self.api.failure(error)
        if kind is Failure.BROKEN and self._retries < self._settings().stream_retries:
            self._retry(error)
        elif kind is Failure.MALFORMED:
            fault = ModelProtocolError(f"the server sent a malformed chunk or completion: {error}")
            fault.__cause__ = error
            self._fault(table.FAILURE, fault)
        elif kind is Failure.LOOP_CLOSED:
            misuse = MisuseError(
                "the async client was made on an event loop that is closed now (asyncio.run() "
                "closes its loop), and its connections cannot serve this one: give each loop a "
                "client of its own, or let the assistant build them (it builds one per loop)"
            )
            misuse.__cause__ = error
            self._fault(table.FAILURE, misuse)
        else:
            self._fault(table.FAILURE, error)

    def receive_tool_outcome(self, invocation: Invocation, outcome: Outcome) -> None:
        """``invocation`` finished: ``outcome`` is its finished future (``concurrent.futures`` or
        ``asyncio``)."""
        self._accept("tool result")
        call = self._waiting(invocation)
        try:
            value = outcome.result()
        except (Exception, asyncio.CancelledError) as caught:
            error = caught.error if isinstance(caught, Carried) else caught
            if invocation.tool.raise_errors:
                self._end(table.TOOL_RAISED, error)
                return
            detail = invocation.tool.error_detail or self._settings().tool_error_detail
            result = raised(call, error, detail)
            _log(
                logging.INFO,
                "tool error",
                "tool {tool} (call {call_id}) raised {error}",
                tool=call.name,
                call_id=call.id,
                error=_name(error),
            )
        except BaseException as error:  # KeyboardInterrupt, SystemExit: not the tool's failure
            self._fault(table.TOOL_INTERRUPTED, error)
            return
        else:
            result = returned(call, value)
        self._enter(table.TOOL_RESULT)
        self._record(call, result)

    def receive_tool_timeout(self, invocation: Invocation) -> None:
        """``invocation`` ran past its ``timeout``; the runner stopped or abandoned it."""
        self._accept("tool result")
        call = self._waiting(invocation)
        if invocation.consumer is not None:
            invocation.consumer.stream._close("cancelled", ": the tool timed out")
        self._enter(table.TOOL_RESULT)
        _log(
            logging.WARNING,
            "tool timeout",
            "tool {tool} (call {call_id}) ran past its timeout of {timeout} s",
            tool=call.name,
            call_id=call.id,
            timeout=invocation.timeout,
        )
        self._record(call, timed_out(call, invocation.timeout))

    def receive_tools_done(self) -> None:
        """Every invocation of ``RunTools`` has been fed back."""
        self._accept("tools done")
        answer = self._answer
        assert answer is not None  # the table: only RUNNING_TOOLS takes this input
        missing = [call.id for call in answer.calls if call.id not in self._results]
        if missing:
            self._break()
            raise MisuseError(f"the tools are done, but calls {missing} have no result")
        failures = tuple(r.error for r in self._results.values() if r.error is not None)
        if len(failures) == len(self._results):
            self._failed_turns += 1
            max_tool_errors = self._settings().max_tool_errors
            if self._failed_turns >= max_tool_errors:
                error = ToolErrorsExceeded(max_tool_errors, failures)
                self._end(table.TOOLS_DONE_FAILING, error)
                return
        else:
            self._failed_turns = 0
        self._tools_ran = True
        self._next_turn(table.TOOLS_DONE, table.TOOLS_DONE_LAST_TURN, continuing=False)

    def decide(self, decision: object) -> None:
        """What to do after ``finish_reason == "length"`` (what ``on_max_tokens`` returned):
        ``None`` or ``"keep"`` (the truncated text is the answer), ``"continue"`` (ask the model
        to go on) or ``"raise"``."""
        self._accept("decision")
        if decision not in MAX_TOKENS_DECISIONS:
            self._enter(table.NOT_A_DECISION)
            raise MisuseError(
                f"on_max_tokens returned {decision!r}; expected None, 'keep', 'continue' or 'raise'"
            )
        answer = self._answer
        assert answer is not None  # the table: only DECIDING takes this input
        message = answer.message
        cut = [ToolMessage(tool_call_id=c.id, content=CUT_CALL_MESSAGE) for c in message.tool_calls]
        if decision == "raise":
            self._end(table.RAISE, MaxTokensExceeded(message))
        elif decision == "continue":
            self._commit(message, cut)
            self._uncommitted.append(UserMessage(content=CONTINUE_PROMPT))
            self._continued = self._text
            self._next_turn(table.CONTINUE, table.CONTINUE_LAST_TURN, continuing=True)
        else:
            self._enter(table.KEEP)
            self._finish(message, cut)

    def cancel(self) -> None:
        """Cancel the run: what was not delivered yet is dropped, the argument streams are closed
        and the next step raises ``RunCancelled``. Ignored once the run's end was delivered."""
        if self._cancellable:
            self._actions.append(_Raise(self._cancel(None)))

    # -- the run stopped outside the machine ------------------------------------------------

    def fail(self, error: BaseException) -> BaseException:
        """The run stopped with ``error`` (a hook raised, the caller left, the task was
        cancelled, or ``next_step()`` raised it): returns what the caller gets, ``RunCancelled``
        if the run was cancelled meanwhile."""
        if error is self._raised:
            return error
        if isinstance(error, StopIteration) or isinstance(error.__cause__, StopIteration):
            # It cannot leave the runner's generator (Python makes it a RuntimeError there, and
            # in an async def hook already).
            raised = error if isinstance(error, StopIteration) else error.__cause__
            stopped = HookError(f"a hook raised StopIteration ({raised!r}), which cannot end a run")
            stopped.__cause__ = raised
            error = stopped
        if self._cancel_requested and self._cancellable:
            error = self._cancel(error)
        elif not self._ended:
            self._break()
        self._ended = True
        self._raised = error
        return error

    def close(self) -> None:
        """The run is over, however it ended: the argument streams still open are closed, so no
        consumer waits for arguments that will not come."""
        self._feeds.close_all("cancelled")

    # -- transitions -------------------------------------------------------------------------

    def _enter(self, given: Input) -> None:
        """The one place that applies ``TRANSITIONS``."""
        state = self._next[given]
        if state is not self.state:
            self.state = state
            self._next = _NEXT[state]

    def _break(self) -> None:
        """Any exception the table does not name: the machine is in ``ERROR`` for good."""
        self.state = State.ERROR
        self._next = _NEXT[State.ERROR]
        self._drop_pending()

    def _accept(self, kind: str, *, model: bool = False) -> None:
        """Refuse an input the state does not take (``model``: one about the model call, which
        is not made before its ``CallModel`` was taken)."""
        if kind not in KINDS[self.state] or (model and not self._call_ready):
            self._refuse(kind)

    def _refuse(self, kind: str) -> NoReturn:
        state = self.state
        self._break()
        raise MisuseError(f"can't handle {kind} in state {state.value}")

    def _fault(self, given: Input, error: BaseException) -> None:
        """What the model sent (or a tool thread raised) ends the run: the next step raises it."""
        _log(logging.WARNING, "fault", "run failed: {error}", error=_name(error))
        self._enter(given)
        self._drop_pending()
        self._actions.append(_Raise(error))

    def _end(self, given: Input, error: BaseException) -> None:
        """End the run with a documented ``error``, raised once the events before it are out
        (and what they completed is committed)."""
        _log(logging.WARNING, "stop", "run stopped: {error}", error=_name(error))
        self._enter(given)
        self._actions.append(_Raise(error))

    def _cancel(self, cause: BaseException | None) -> RunCancelled:
        _log(logging.INFO, "cancel", "run cancelled", state=self.state.value)
        self._enter(table.CANCEL)
        self._drop_pending()
        self._feeds.close_all("cancelled")
        error = RunCancelled("the run was cancelled")
        error.__cause__ = cause
        return error

    @property
    def _cancel_requested(self) -> bool:
        return self._token is not None and self._token.cancelled

    @property
    def _cancellable(self) -> bool:
        return (
            not self._ended and self.state is not State.CANCELLED and self.state is not State.ERROR
        )

    def _drop_pending(self) -> None:
        self._events.clear()
        self._actions.clear()
        self._uncommitted.clear()

    # -- model calls -------------------------------------------------------------------------

    def _next_turn(self, given: Input, last: Input, *, continuing: bool) -> None:
        max_turns = self._settings().max_turns
        if self._turn >= max_turns:
            self._end(last, MaxTurnsExceeded(max_turns, continuing=continuing))
        else:
            self._enter(given)
            self._call_model()

    def _call_model(self) -> None:
        self._turn += 1
        self._call_ready = False
        self._actions.append(_PREPARE_CALL)

    def _prepare_call(self) -> None:
        """Build the model call from the settings and tools as they are now, the events before
        it delivered (and the units they completed committed)."""
        settings = self._settings()
        messages: list[Message] = [*self.history, *self._uncommitted]
        if not settings.send_reasoning:
            messages = [_without_reasoning(message) for message in messages]
        if settings.system is not None:
            messages.insert(0, SystemMessage(content=settings.system))
        params = settings.params
        if self._tools_ran and settings.reset_tool_choice and "tool_choice" in params:
            params = {name: value for name, value in params.items() if name != "tool_choice"}
        tools = self._tools.signatures()
        request = ModelRequest(
            model=settings.model,
            messages=tuple(messages),
            tools=tools,
            stream=settings.stream,
            params=params,
            decoding=settings.decoding,
            json_steps=settings.tool_mode == "json" and bool(tools),
            offer_tools=not self._repeated,
        )
        self._json_steps = request.json_steps
        self._limits = Limits(
            text=settings.max_text_chars,
            arguments=settings.max_argument_chars,
            calls=settings.max_tool_calls,
        )
        self._call = CallModel(
            request=self.api.request(request),
            stream=request.stream,
            turn=self._turn,
            decoding=request.decoding,
        )
        self._call_ready = True
        self._listen()
        _log(
            logging.DEBUG,
            "model call",
            "model call {turn} to {model}: {messages} messages, {tools} tools",
            turn=self._turn,
            model=settings.model,
            messages=len(request.messages),
            tools=len(request.tools),
            stream=settings.stream,
        )
        self._model = settings.model
        self._events.append(ModelCallStart(turn=self._turn, model=self._model, attempt=0))
        self._actions.appendleft(self._call)

    def _listen(self) -> Accumulator:
        """A new answer is coming: a new accumulator, and its calls are new."""
        self._feeds.start_message()
        self._accumulator = self.api.accumulator(
            stream=self._call.stream,
            limits=self._limits,
            emit=self._events.append,
            on_arguments=self._arguments_grew,
            json_steps=self._json_steps,
        )
        return self._accumulator

    def _retry(self, error: Exception) -> None:
        self._retries += 1
        self._enter(table.FAILURE_RETRIED)
        self._events.append(Retry(attempt=self._retries, error=error))
        self._events.append(
            ModelCallStart(turn=self._turn, model=self._model, attempt=self._retries)
        )
        self._feeds.close_message("cancelled", ": the model call is retried")
        self._listen()
        # The SDK's own rule for its retries: 0.5 s doubling to 8 s at most, less up to 25%.
        delay = min(0.5 * 2 ** (self._retries - 1), 8.0) * (1 - 0.25 * self._random())
        _log(
            logging.WARNING,
            "retry",
            "model call broke ({error}); calling again in {delay:.2f} s (attempt {attempt})",
            attempt=self._retries,
            delay=delay,
            error=_name(error),
        )
        self._actions.append(attrs.evolve(self._call, delay=delay))

    def _arguments_grew(self, call: PartialToolCall) -> None:
        started = self._feeds.arguments_grew(call)
        if started:
            self._actions.append(StartConsumers(consumers=tuple(started)))

    def _answered(self, answer: ModelAnswer) -> None:
        """A whole answer arrived: announce it, then run its tools, decide, or finish."""
        answer = with_distinct_ids(answer)
        message = answer.message
        self._events.append(
            ModelCallDone(turn=self._turn, finish_reason=answer.finish_reason, usage=answer.usage)
        )
        if answer.usage is not None:
            self._usage += answer.usage
            self._events.append(UsageUpdate(usage=answer.usage, total=self._usage))
        if answer.finish_reason == "content_filter":
            # Whatever was written before the filter stopped it is not an answer to keep.
            self._events.append(ContentFiltered(message=message))
            self._end(table.END_FILTERED, ContentFilterError(message))
            return
        reasoning = message.reasoning
        if reasoning:
            self._events.append(ReasoningDone(text=reasoning))
        if message.content:
            self._events.append(TextDone(text=message.content))
        if message.refusal:
            self._events.append(RefusalDone(text=message.refusal))
        self._text = self._continued + (message.content or message.refusal or "")
        self._answer = answer
        if answer.finish_reason == "length":
            self._feeds.close_all("cut")
            self._enter(table.END_CUT)
            self._actions.append(Decide(event=MaxTokens(message=message)))
        elif answer.calls:
            self._enter(table.END_CALLS)
            self._run_tools(answer)
        elif not (message.content or message.refusal) and self._ask_again():
            _log(logging.INFO, "empty answer", "the model's answer was empty; asking again")
            self._empty_answers += 1
            self._commit(message, [])
            self._uncommitted.append(UserMessage(content=EMPTY_ANSWER_PROMPT))
            self._enter(table.END_EMPTY_ANSWER)
            self._call_model()
        else:
            self._enter(table.END_FINAL)
            self._finish(message, [])

    def _ask_again(self) -> bool:
        """Is there a retry and a turn left to ask again for an answer that was empty?"""
        settings = self._settings()
        return self._empty_answers < settings.empty_answer_retries and (
            self._turn < settings.max_turns
        )

    # -- tool calls --------------------------------------------------------------------------

    def _run_tools(self, answer: ModelAnswer) -> None:
        self._results = {}
        if self._json_steps:
            for call in answer.calls:
                made = (call.name, json.dumps(call.parsed, sort_keys=True, default=repr))
                self._repeated = self._repeated or made in self._made
                self._made.add(made)
        self._events.extend(ToolCallDone(call=call) for call in answer.calls)
        feeds = self._feeds
        invocations: list[Invocation] = []
        starting = []
        for call in answer.calls:
            prepared = prepare(call, self._tools, self._tool_context)
            if isinstance(prepared, ToolResult):
                _log(
                    logging.INFO,
                    "tool refused",
                    "tool call {call_id} to {tool!r} not run: {error}",
                    tool=call.name,
                    call_id=call.id,
                    error=_name(prepared.error),
                )
                starting += feeds.complete(call, invalid=prepared.content)
                self._record(call, prepared)
                continue
            starting += feeds.complete(call, final=prepared.streamed)
            consumer = feeds.streaming_tool(call)
            invocations.append(
                prepared if consumer is None else attrs.evolve(prepared, consumer=consumer)
            )
        if starting:
            self._actions.append(StartConsumers(consumers=tuple(starting)))
        # Previews have the final arguments now; the tools run once they have shown them.
        previews = tuple(consumer for consumer in feeds.of_message() if not consumer.is_tool)
        limit = self._settings().max_concurrent_tools
        self._actions.append(RunTools(invocations=tuple(invocations), after=previews, limit=limit))

    def _waiting(self, invocation: Invocation) -> ToolCall:
        call = invocation.call
        answer = self._answer
        if answer is None or call.id in self._results or call not in answer.calls:
            self._break()
            raise MisuseError(f"no tool call {call.id!r} is waiting for a result")
        return call

    def _record(self, call: ToolCall, result: ToolResult) -> None:
        self._results[call.id] = result
        self._events.append(ToolResultDone(call=call, result=result))
        answer = self._answer
        assert answer is not None  # recorded only while its tools run
        if len(self._results) == len(answer.calls):
            # At once: the tools have run, and the history must record what they did (a retry
            # after a failure must not run them again unknowingly).
            self.history.append(answer.message)
            self.history.extend(
                ToolMessage(tool_call_id=call.id, content=self._results[call.id].content)
                for call in answer.calls
            )
            media = media_message(answer.calls, self._results)
            if media is not None:
                self.history.append(media)

    # -- the answer --------------------------------------------------------------------------

    def _commit(self, message: AssistantMessage, answers: list[ToolMessage]) -> None:
        """Keep a message with the answers to its calls, once its events are delivered. An empty
        one is kept with ``""`` as its content (the API takes no message with nothing in it), so
        that its reasoning is kept and the history still alternates: two user messages in a row
        would say the model never answered."""
        if not (message.content or message.refusal or message.tool_calls):
            message = attrs.evolve(message, content="")
        self._uncommitted.append(message)
        self._uncommitted.extend(answers)

    def _finish(self, message: AssistantMessage, answers: list[ToolMessage]) -> None:
        _log(
            logging.DEBUG,
            "finish",
            "run finished after {turns} model calls ({total_tokens} tokens)",
            turns=self._turn,
            total_tokens=self._usage.total_tokens,
        )
        self._commit(message, answers)
        self._events.append(ResponseEnd(text=self._text))
        self._actions.append(Finished(text=self._text, usage=self._usage))


def _without_reasoning(message: Message) -> Message:
    if not isinstance(message, AssistantMessage) or message.reasoning is None:
        return message
    extra = {key: value for key, value in message.extra.items() if key not in REASONING_KEYS}
    return attrs.evolve(message, extra=extra)


def _name(error: BaseException | None) -> str:
    return type(error).__name__
