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
import functools
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
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
    OutputRefused,
    OutputValidationError,
    RunCancelled,
    RunPaused,
    ToolDenied,
    ToolErrorsExceeded,
)
from .._schema.output import OutputProblem, OutputSchema
from ..approval import PAUSE, Allow, Deny, PendingApprovals, approval_of
from ..calls import PartialToolCall, ToolCall, ToolResult
from ..cancel import CancelToken
from ..content import user_content
from ..events import (
    ApprovalRequest,
    BeforeModelCall,
    ContentFiltered,
    Event,
    MaxTokens,
    ModelCallDone,
    ModelCallStart,
    OutputDone,
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
from ..model_call import ModelCallRequest, StopRun
from ..output import OUTPUT_RETRY_PROMPT
from ..settings import Settings
from ..tools import ToolRegistry
from . import table
from .budget import TokenBudget
from .feeds import ArgumentFeeds, Consumer
from .output import OutputTracker
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
    with_arguments,
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


@attrs.frozen
class _Later:
    """Work to do once the events before it have been delivered (and what they completed is
    committed): the next model call is built then, so that a hook that changes the assistant's
    settings (or its tools) on one of those events changes this call, not the one after it."""

    do: Callable[[], None]


class Machine:
    """One run of the loop: a prompt in, an answer out, the history kept valid throughout.

    ``settings`` is read again for every model call (a callable giving the current ones, or
    fixed ``Settings``), ``api`` is the model API's adapter, ``tools`` the tools the model may
    call, ``tool_context`` builds the value of a tool's context parameter, and ``cancel`` is
    looked at before every step. ``output`` is the typed output asked for (``run(output=...)``),
    ``deps`` what the run was given for its tools and hooks. ``clock`` (the previews' throttle)
    and ``random`` (the jitter of the delay before a retry) are there for tests.
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
        output: OutputSchema | None = None,
        deps: Any = None,
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
        self._deps = deps
        now = self._settings()
        # Constrained tool calling asks for the output as the step's answer: read as its text.
        mode = "json_schema" if now.tool_mode == "json" else now.output_mode
        self._output = None if output is None else OutputTracker(output, mode)
        self._budget = TokenBudget()
        self._deciding: Event | None = None
        """The event of the ``Decide`` being answered."""
        self._approvals: dict[str, Allow | Deny | str] = {}
        """The decisions on the current message's calls that need approval, by call id."""
        self.state = State.IDLE
        self._next = _NEXT[State.IDLE]
        self._events: deque[Event] = deque()
        self._actions: deque[Action | _Raise | _Later] = deque()
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
        self.spent = TokenUsage()
        """The tokens this machine's model calls used (``_usage`` also counts those of the run
        before it paused, when it resumes one)."""
        self.output: Any = None
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
        if not self._actions or self._deciding is not None:
            return NEED_INPUT  # the decision asked for is the input it needs
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
        if isinstance(action, _Later):
            action.do()
            return self.next_step()
        if isinstance(action, Decide):
            self._deciding = action.event
        return action

    @property
    def text(self) -> str:
        """The answer's text so far (the run's, once it finished)."""
        return self._text

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

    def resume(self, pending: PendingApprovals, approvals: Mapping[str, object]) -> None:
        """Go on with a run that paused for approvals (``RunPaused``): ``approvals`` decides
        waiting calls by id (a waiting call left out is asked of ``on_approval`` again); the
        decisions made before the pause stand. The pending message's calls then run as if the
        run had not stopped."""
        self._accept("resume")
        unknown = [call_id for call_id in approvals if call_id not in pending.waiting]
        if unknown:
            self._break()
            raise MisuseError(
                f"no tool call {unknown[0]!r} waits for approval; waiting: {list(pending.waiting)}"
            )
        decided: dict[str, Allow | Deny | str] = dict(pending.decided)
        for call_id, value in approvals.items():
            try:
                decided[call_id] = approval_of(value, name=f"approvals[{call_id!r}]")
            except MisuseError:
                self._break()
                raise
        prompt = next((m.content for m in reversed(self.history) if isinstance(m, UserMessage)), "")
        model = self._settings().model
        self._model = model
        self._turn = pending.turn
        self._usage = pending.usage
        self._events.append(ResponseStart(prompt=prompt, model=model))
        self._enter(table.RESUME)
        message = pending.message
        calls = tuple(attrs.evolve(call, index=index) for index, call in enumerate(pending.calls))
        answer = ModelAnswer(message=message, calls=calls, finish_reason="tool_calls", usage=None)
        self._answer = answer
        self._run_tools(answer, decided)

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
        failures = tuple(
            r.error
            for r in self._results.values()
            if r.error is not None and not isinstance(r.error, ToolDenied)
        )
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
        """What the hook of the ``Decide`` being answered returned: ``before_model_call``'s
        (``None``, a ``ModelCallRequest`` or ``StopRun``), ``on_approval``'s (see
        ``agentools.approval``), or ``on_max_tokens``' after ``finish_reason == "length"``:
        ``None`` or ``"keep"`` (the truncated text is the answer), ``"continue"`` (ask the model
        to go on) or ``"raise"``."""
        self._accept("decision")
        event, self._deciding = self._deciding, None
        if event is None:
            self._refuse("decision")  # none was asked for
        if type(event) is BeforeModelCall:
            self._decided_request(event.request, decision)
            return
        if type(event) is ApprovalRequest:
            try:
                self._approvals[event.call.id] = approval_of(decision)
            except MisuseError:
                self._enter(table.NOT_A_DECISION)
                raise
            self._enter(table.APPROVAL)
            return
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
            self._final(message, cut, kept=True)

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

    def _end(self, given: Input, error: BaseException, *, level: int = logging.WARNING) -> None:
        """End the run with a documented ``error``, raised once the events before it are out
        (and what they completed is committed)."""
        _log(level, "stop", "run stopped: {error}", error=_name(error))
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
        self._deciding = None
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
        self._actions.append(_Later(self._prepare_call))

    def _prepare_call(self) -> None:
        """The next model call, as the settings and tools are now (the events before it
        delivered, and the units they completed committed), for ``before_model_call``."""
        settings = self._settings()
        params = dict(settings.params)
        if self._tools_ran and settings.reset_tool_choice:
            params.pop("tool_choice", None)
        request = ModelCallRequest(
            messages=[*self.history, *self._uncommitted],
            system=settings.system,
            tools=self._tools.enabled_names(),
            params=params,
            model=settings.model,
            turn=self._turn,
            usage=self._usage,
            deps=self._deps,
        )
        self._actions.appendleft(Decide(event=BeforeModelCall(request=request)))

    def _decided_request(self, request: ModelCallRequest, answer: object) -> None:
        """What ``before_model_call`` returned: the call to make, or the run's end."""
        if isinstance(answer, StopRun):
            if not isinstance(answer.text, str):
                self._misuse(f"StopRun's text must be a str, not {type(answer.text).__name__}")
            _log(logging.INFO, "stop", "before_model_call stopped the run")
            self._text = answer.text
            self._final(AssistantMessage(content=answer.text), [], stopped=True)
            return
        if isinstance(answer, ModelCallRequest):
            request = answer
        elif answer is not None:
            self._misuse(
                f"before_model_call returned {answer!r}; expected None, a ModelCallRequest or "
                "StopRun(text)"
            )
        self._make_call(request)

    def _make_call(self, call: ModelCallRequest) -> None:
        settings = self._settings()
        if not isinstance(call.messages, list) or not isinstance(call.params, dict):
            self._misuse("before_model_call: request.messages must be a list, params a dict")
        offered = self._tools.signatures()
        if call.tools != [signature.name for signature in offered]:
            unknown = set(call.tools) - {signature.name for signature in offered}
            if unknown:
                self._misuse(f"before_model_call offered tools that are not enabled: {unknown}")
            names = set(call.tools)
            offered = tuple(signature for signature in offered if signature.name in names)
        counted: list[Message] = list(call.messages)
        if call.system is not None:
            counted.insert(0, SystemMessage(content=call.system))
        limit = self._budget.check(
            counted,
            self._usage,
            max_total=settings.max_total_tokens,
            max_request=settings.max_request_tokens,
        )
        if limit is not None:
            self._end(table.LIMIT_REACHED, limit)
            return
        messages = counted
        if not settings.send_reasoning:
            messages = [_without_reasoning(message) for message in messages]
        params = call.params
        output = self._output
        if output is not None and output.mode == "tool" and "tool_choice" not in params:
            params = {**params, "tool_choice": "required"}
        request = ModelRequest(
            model=call.model,
            messages=tuple(messages),
            tools=offered,
            stream=settings.stream,
            params=params,
            decoding=settings.decoding,
            json_steps=settings.tool_mode == "json" and bool(offered),
            offer_tools=not self._repeated,
            output=None if output is None else output.schema,
            output_mode="json_schema" if output is None else output.mode,
        )
        self._enter(table.REQUEST_DECIDED)
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
            model=call.model,
            messages=len(request.messages),
            tools=len(request.tools),
            stream=settings.stream,
        )
        self._model = call.model
        self._events.append(ModelCallStart(turn=self._turn, model=self._model, attempt=0))
        self._actions.appendleft(self._call)

    def _misuse(self, message: str) -> NoReturn:
        self._enter(table.NOT_A_DECISION)
        raise MisuseError(message)

    def _listen(self) -> Accumulator:
        """A new answer is coming: a new accumulator, and its calls are new."""
        self._feeds.start_message()
        emit = self._events.append
        if self._output is not None:
            self._output.start_message()
            emit = self._emit_with_output
        self._accumulator = self.api.accumulator(
            stream=self._call.stream,
            limits=self._limits,
            emit=emit,
            on_arguments=self._arguments_grew,
            json_steps=self._json_steps,
            typed_answer=self._json_steps and self._output is not None,
        )
        return self._accumulator

    def _emit_with_output(self, event: Event) -> None:
        """An event of the answer being read, and the partial output it makes, if any."""
        self._events.append(event)
        assert self._output is not None
        grown = self._output.partial(event)
        if grown is not None:
            self._events.append(grown)

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
            self.spent += answer.usage
            self._budget.reported(answer.usage)
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
        elif answer.calls and (self._output is None or not self._output.output_call(answer.calls)):
            self._enter(table.END_CALLS)
            self._run_tools(answer)
        elif (
            not (message.content or message.refusal) and self._output is None and self._ask_again()
        ):
            _log(logging.INFO, "empty answer", "the model's answer was empty; asking again")
            self._empty_answers += 1
            self._commit(message, [])
            self._uncommitted.append(UserMessage(content=EMPTY_ANSWER_PROMPT))
            self._enter(table.END_EMPTY_ANSWER)
            self._call_model()
        else:
            self._final(message, [])

    def _final(
        self,
        message: AssistantMessage,
        answers: list[ToolMessage],
        *,
        kept: bool = False,
        stopped: bool = False,
    ) -> None:
        """The model's final answer (``kept``: one cut by the token limit that ``on_max_tokens``
        kept; ``stopped``: ``before_model_call``'s text): the run's end, once its output (if one
        was asked for) fits its type; else the output's problems go back to the model."""
        ok, retry, failed = (
            _STOPPED_INPUTS if stopped else _KEPT_INPUTS if kept else _ANSWERED_INPUTS
        )
        output = self._output
        if output is None:
            self._enter(ok)
            self._finish(message, answers, commit=not stopped)
            return
        answer = self._answer
        call = None if stopped or answer is None else output.output_call(answer.calls)
        if call is not None:
            # The output tool's call is the output, kept as the assistant's text (nothing ran).
            message = attrs.evolve(message, content=call.arguments, tool_calls=())
            answers = []
            self._text = call.arguments
        raw = self._text
        if message.refusal and call is None and not stopped:
            self._commit(message, answers)
            self._end(failed, OutputRefused(message.refusal))
            return
        try:
            value = output.read(raw, call)
        except OutputProblem as problem:
            settings = self._settings()
            attempts = output.attempts
            if stopped or attempts > settings.output_retries or self._turn >= settings.max_turns:
                _log(logging.WARNING, "output", "the output did not fit: {error}", error=problem)
                if not stopped:
                    self._commit(message, answers)
                self._end(failed, OutputValidationError(raw, str(problem), attempts))
                return
            _log(logging.INFO, "output retry", "the output did not fit; asking again")
            self._commit(message, answers)
            self._uncommitted.append(
                UserMessage(content=OUTPUT_RETRY_PROMPT.format(problems=problem))
            )
            self._continued = ""
            self._enter(retry)
            self._call_model()
            return
        self._enter(ok)
        self.output = value
        self._events.append(OutputDone(output=value))
        self._finish(message, answers, commit=not stopped)

    def _ask_again(self) -> bool:
        """Is there a retry and a turn left to ask again for an answer that was empty?"""
        settings = self._settings()
        return self._empty_answers < settings.empty_answer_retries and (
            self._turn < settings.max_turns
        )

    # -- tool calls --------------------------------------------------------------------------

    def _run_tools(
        self, answer: ModelAnswer, decided: Mapping[str, Allow | Deny | str] | None = None
    ) -> None:
        """Prepare the calls of ``answer``; those that need approval are asked for it (unless
        ``decided``, when a paused run resumes), and then the allowed ones run."""
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
        asked = [inv for inv in invocations if _asks_approval(inv)]
        self._approvals = {}
        if not asked:
            starting = []
            self._start_tools([self._started(inv, starting) for inv in invocations], starting)
            return
        for invocation in asked:
            call_id = invocation.call.id
            if decided is not None and call_id in decided:
                self._approvals[call_id] = decided[call_id]
            else:
                self._actions.append(Decide(event=ApprovalRequest(call=invocation.call)))
        self._actions.append(_Later(functools.partial(self._approved, invocations, asked)))

    def _approved(self, invocations: list[Invocation], asked: list[Invocation]) -> None:
        """Every call that needed approval is decided: pause the run if one must wait, else run
        the allowed calls (with their edited arguments) and answer the denied ones."""
        answer = self._answer
        assert answer is not None  # the tools of this answer were asked for
        approvals = self._approvals
        waiting = tuple(inv.call.id for inv in asked if approvals[inv.call.id] == PAUSE)
        if waiting:
            decided = {
                call_id: decision
                for call_id, decision in approvals.items()
                if isinstance(decision, (Allow, Deny))
            }
            malformed = {
                call.id: call.arguments_error
                for call in answer.calls
                if call.arguments_error is not None
            }
            pending = PendingApprovals(
                message=answer.message,
                waiting=waiting,
                decided=decided,
                malformed=malformed,
                turn=self._turn,
                usage=self._usage,
            )
            self._results = {}
            self._feeds.close_message("cancelled", ": the run paused for approval")
            _log(logging.INFO, "pause", "run paused for approval of {calls}", calls=waiting)
            self._end(table.PAUSED, RunPaused(pending), level=logging.DEBUG)
            return
        edits = {
            inv.call.id: allowed.arguments
            for inv in asked
            if isinstance(allowed := approvals[inv.call.id], Allow)
            and allowed.arguments is not None
        }
        if edits:
            answer = self._answer = with_arguments(answer, edits)
        calls = {call.id: call for call in answer.calls}
        to_run: list[Invocation] = []
        starting: list[Consumer] = []
        for invocation in invocations:
            call = calls[invocation.call.id]
            decision = approvals.get(call.id)
            if invocation not in asked:
                to_run.append(self._started(invocation, starting))
                continue
            if isinstance(decision, Deny):
                result = ToolResult(
                    call_id=call.id, content=decision.message, error=ToolDenied(decision.message)
                )
                self._record(call, result)
                continue
            if call.id in edits:
                prepared = prepare(call, self._tools, self._tool_context)
                if isinstance(prepared, ToolResult):
                    self._record(call, prepared)
                    continue
                invocation = prepared
            to_run.append(self._started(invocation, starting))
        self._start_tools(to_run, starting)

    def _started(self, invocation: Invocation, starting: list[Consumer]) -> Invocation:
        """``invocation`` with its streaming tool's consumer: the one running since its
        arguments streamed, or, for a tool that needed approval (or may have: its predicate),
        one made now with the arguments complete, added to ``starting``."""
        if invocation.consumer is not None or not invocation.tool.streams_arguments:
            return invocation
        consumer = self._feeds.approved_tool(invocation.call, invocation.streamed)
        starting.append(consumer)
        return attrs.evolve(invocation, consumer=consumer)

    def _start_tools(
        self, invocations: list[Invocation], starting: Sequence[Consumer] = ()
    ) -> None:
        if starting:
            self._actions.append(StartConsumers(consumers=tuple(starting)))
        # Previews have the final arguments now; the tools run once they have shown them.
        previews = tuple(c for c in self._feeds.of_message() if not c.is_tool)
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

    def _finish(
        self, message: AssistantMessage, answers: list[ToolMessage], *, commit: bool = True
    ) -> None:
        _log(
            logging.DEBUG,
            "finish",
            "run finished after {turns} model calls ({total_tokens} tokens)",
            turns=self._turn,
            total_tokens=self._usage.total_tokens,
        )
        if commit:
            self._commit(message, answers)
        self._events.append(ResponseEnd(text=self._text))
        self._actions.append(Finished(text=self._text, usage=self._usage, output=self.output))


def _asks_approval(invocation: Invocation) -> bool:
    """Must ``invocation`` wait for ``on_approval``? A predicate that raises says yes: a call
    whose arguments it cannot judge is one for a person to judge."""
    try:
        return invocation.tool.asks_approval(invocation.call)
    except Exception as error:
        _log(
            logging.WARNING,
            "approval",
            "needs_approval of {tool} raised {error}; asking for approval",
            tool=invocation.call.name,
            error=_name(error),
        )
        return True


_ANSWERED_INPUTS = (table.END_FINAL, table.END_OUTPUT_RETRY, table.END_OUTPUT_FAILED)
_KEPT_INPUTS = (table.KEEP, table.KEEP_OUTPUT_RETRY, table.KEEP_OUTPUT_FAILED)
_STOPPED_INPUTS = (table.STOPPED, table.STOPPED, table.STOPPED_OUTPUT_FAILED)


def _without_reasoning(message: Message) -> Message:
    if not isinstance(message, AssistantMessage) or message.reasoning is None:
        return message
    extra = {key: value for key, value in message.extra.items() if key not in REASONING_KEYS}
    return attrs.evolve(message, extra=extra)


def _name(error: BaseException | None) -> str:
    return type(error).__name__
