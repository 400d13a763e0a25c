"""The fault matrix: every way a run can fail, under both runners, streamed and not.

Each table row is a fault (what the scripted server does, or what a hook or the caller does) and
what the user must see. Every cell, whatever its fault, then checks the same things (``aftermath``):

1. the documented exception, or the documented outcome (the text ``run`` returns);
2. ``validate_history(assistant.history.to_openai()) == []``, and every request the run made was
   valid too;
3. the history is exactly what it was, then the prompt, then the whole units the row names
   (``kept``): nothing half-written from the failed answer;
4. the next run on the same assistant succeeds and sends that history as it is;
5. nothing is left behind: no agentools tool or preview thread, no asyncio task but the current
   one, and no open connection on the server.

The assistants' clients keep no idle connection (``bot(pooled=False)``:
``max_keepalive_connections=0``), so an open connection after a run is one the run left open, not
one the pool kept for later;
``test_a_pooled_client_survives_the_fault`` checks the default pooled clients separately.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import openai
import pytest

import agentools
from agentools import (
    Assistant,
    CancelToken,
    ContentFilterError,
    HookError,
    Hooks,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    ModelProtocolError,
    OutputRefused,
    OutputValidationError,
    ResponseTooLarge,
    RunCancelled,
    RunPaused,
    StreamError,
    UsageLimitExceeded,
    function_tool,
    validate_history,
)
from agentools._core import CONTINUE_PROMPT, CUT_CALL_MESSAGE
from agentools._schema.output import OutputProblem, OutputSchema
from agentools.approval import DENIED_MESSAGE
from agentools.hooks import RecordingHooks
from agentools.output import OUTPUT_RETRY_PROMPT
from agentools.streaming import ArgumentSnapshot
from agentools.testing import (
    Chunking,
    DropAfter,
    Endless,
    ErrorAfter,
    FakeOpenAIServer,
    Fault,
    GarbageAfter,
    HTTPStatus,
    StallAfter,
    ToolCallSpec,
    Turn,
    Usage,
)

from .support import Bot, Runner, threads_left


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def said(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


PROMPT = "What is the value of a?"
AGAIN = "And now?"
RECOVERED = "Recovered."
ANSWER = "The value of a is 1."
LONG = "A long answer that the server will not finish sending."
EARLIER = (user("Hi."), said("Hello."))
"""The conversation so far, in the model-fault rows: it must come out of the fault unchanged."""
CAP = 2_000
"""``max_text_chars`` / ``max_argument_chars`` in the rows about size caps."""
STALL = 0.3
"""The client's ``timeout`` in the rows where the server stalls (for 5 s unless the client goes)."""
TOOL_SLEEP = 0.5
"""How long an ``async def`` tool sleeps in the cancellation rows (when nothing cancels it)."""
MISSING = "missing"
"""The key ``lookup`` raises for (``LookupError``, its message naming a file)."""
HIDDEN = "Error: the tool failed."
"""What the model is told of a tool's exception with ``tool_error_detail="none"``."""


@attrs.frozen
class Value:
    """The typed output the output rows ask for."""

    value: int


NOT_JSON = "The value is 1."
"""An output the model writes as prose: it does not fit ``Value``."""


def asked_again(output: str) -> dict[str, Any]:
    """The user message that sends ``output``'s problems back to the model."""
    try:
        OutputSchema.of(Value).read(output)
    except OutputProblem as problem:
        return user(OUTPUT_RETRY_PROMPT.format(problems=problem))
    raise AssertionError(f"{output!r} fits")


class Boom(Exception):
    """A hook's own exception."""


# -- running, and the checks every cell makes -----------------------------------------------


def attempt(
    runner: Runner,
    assistant: Assistant,
    prompt: str = PROMPT,
    *,
    hooks: Hooks | None = None,
    cancel: CancelToken | None = None,
    **options: Any,
) -> Any:
    """What the run returned, or what it raised (``KeyboardInterrupt`` included)."""
    try:
        return runner.run(assistant, prompt, hooks=hooks, cancel=cancel, **options)
    except BaseException as error:
        return error


AGENTOOLS_CODE = os.path.dirname(agentools.__file__)


def finalized_generator(task: asyncio.Task[Any]) -> Any:
    """The async generator ``task`` closes, if it is the loop's finalizer of an abandoned one."""
    coroutine = task.get_coro()
    if type(coroutine).__name__ != "async_generator_athrow":
        return None
    return next((ref for ref in gc.get_referents(coroutine) if inspect.isasyncgen(ref)), None)


async def other_tasks() -> list[asyncio.Task[Any]]:
    """The tasks but the current one.

    Not counted, but awaited: the loop's tasks that finalize another library's abandoned async
    generators. The openai SDK closes a stream's HTTP response but leaves its generators (and
    httpx's) suspended whenever it stops reading before their end (even after ``[DONE]``); when
    they are collected, the loop closes each in a task of its own. One finalizing an agentools
    generator is counted.
    """
    current = asyncio.current_task()
    left = []
    for task in asyncio.all_tasks():
        if task is current:
            continue
        generator = finalized_generator(task)
        if generator is not None and not generator.ag_code.co_filename.startswith(AGENTOOLS_CODE):
            await asyncio.wait([task], timeout=5)
            continue
        left.append(task)
    return left


def assert_nothing_left(runner: Runner, server: FakeOpenAIServer) -> None:
    assert threads_left() == []
    if runner.loop is not None:
        assert runner.await_(other_tasks()) == []
    assert server.wait_idle(timeout=5)
    assert server.open_connections == 0


def aftermath(
    runner: Runner,
    server: FakeOpenAIServer,
    assistant: Assistant,
    *,
    kept: tuple[dict[str, Any], ...],
    before: tuple[dict[str, Any], ...] = (),
    prompt: str = PROMPT,
) -> None:
    """Checks 2 to 5 of the module docstring, after a run (failed or not) of ``prompt`` on an
    assistant whose history was ``before``."""
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    for request in server.requests:
        assert validate_history(request.messages) == []
    assert history == [*before, user(prompt), *kept]
    if not kept or not any(m["role"] == "user" for m in kept):
        assert [m for m in history if m["role"] == "user"][-1] == user(prompt)
    assert_nothing_left(runner, server)

    assert server.pending == 0, "the row scripted a turn the run did not use"
    server.add(Turn(text=RECOVERED))
    assert runner.run(assistant, AGAIN, hooks=Hooks()) == RECOVERED
    assert server.requests[-1].messages == [*history, user(AGAIN)]
    assert assistant.history.to_openai() == [*history, user(AGAIN), said(RECOVERED)]
    assert_nothing_left(runner, server)


def check_outcome(outcome: Any, raises: type[BaseException] | None, returns: object | None) -> None:
    if raises is None:
        if isinstance(outcome, BaseException):
            raise AssertionError(f"expected {returns!r}, the run raised {outcome!r}") from outcome
        assert outcome == returns
    else:
        assert isinstance(outcome, raises), f"expected {raises.__name__}, got {outcome!r}"


# -- the tool the rows call ------------------------------------------------------------------


def lookup_tool(ran: list[str], *, needs_approval: bool = False) -> Any:
    """``lookup(key)``, recording each key it ran for; it has a preview, so that a run that stops
    while the arguments stream has a consumer to close."""

    @function_tool(needs_approval=needs_approval)
    def lookup(key: str) -> str:
        """Look a key up."""
        ran.append(key)
        if key == MISSING:
            raise LookupError(f"no {key} in /srv/secrets.db")
        return f"value of {key}"

    @lookup.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        pass

    return lookup


def call(key: str) -> ToolCallSpec:
    return ToolCallSpec(name="lookup", arguments={"key": key}, id=f"call_{key}")


def tool_turn(*keys: str, **kwargs: Any) -> Turn:
    kwargs.setdefault("chunking", Chunking(arguments=4))
    return Turn(tool_calls=[call(key) for key in keys], **kwargs)


def called(*keys: str) -> tuple[dict[str, Any], ...]:
    """The whole unit a tool turn for ``keys`` leaves in the history: the call, then each answer."""
    calls = [
        {
            "id": f"call_{key}",
            "type": "function",
            "function": {"name": "lookup", "arguments": f'{{"key": "{key}"}}'},
        }
        for key in keys
    ]
    answers = [
        {"role": "tool", "tool_call_id": f"call_{key}", "content": f"value of {key}"}
        for key in keys
    ]
    return ({"role": "assistant", "tool_calls": calls}, *answers)


def told(key: str, content: str) -> tuple[dict[str, Any], ...]:
    """The whole unit a tool turn for ``key`` leaves when the model is told ``content`` of it."""
    message, answer = called(key)
    return (message, {**answer, "content": content})


class Recorder(RecordingHooks):
    """Records every hook call; ``on_max_tokens`` returns ``decision``, ``on_approval``
    ``approval``."""

    def __init__(self, decision: str | None = None, approval: object = None) -> None:
        super().__init__()
        self.decision = decision
        self.approval = approval

    def on_max_tokens(self, message: Any) -> Any:
        self.calls.append(("on_max_tokens", (message,)))
        return self.decision

    def on_approval(self, call: Any) -> Any:
        self.calls.append(("on_approval", (call,)))
        return self.approval


# -- the matrix: faults of the model call and of the model's answer ---------------------------


@attrs.frozen(kw_only=True)
class Case:
    """One row: a fault, the turns that script it, and what the user sees."""

    id: str
    turns: tuple[Turn, ...]
    raises: type[BaseException] | None = None
    """The exception the run raises; ``None``: it returns ``returns``."""
    returns: str | None = None
    kept: tuple[dict[str, Any], ...] = ()
    """What the history holds after the prompt."""
    streams: tuple[bool, ...] = (True, False)
    options: Mapping[str, Any] = attrs.field(factory=dict)
    """``Assistant`` keywords."""
    client: Mapping[str, Any] = attrs.field(factory=dict)
    """Client keywords (``timeout``, ``max_retries``)."""
    decision: str | None = None
    """What ``on_max_tokens`` returns."""
    approval: object = None
    """What ``on_approval`` returns, for ``lookup`` made with ``needs_approval`` (``needs``)."""
    needs: bool = False
    output: Any = None
    """The type ``run(output=...)`` asks for."""
    hooks: Mapping[str, int] = attrs.field(factory=dict)
    """Hook -> how many times it is called (``on_response_end`` is always checked)."""
    requests: int = 1
    """Model calls the server receives (SDK retries and ``stream_retries`` included)."""
    ran: tuple[str, ...] = ()
    """The tool calls that ran."""
    last_sent: dict[str, Any] | None = None
    """The last message of the last request the run made."""


def long_turn(fault: Fault | None = None) -> Turn:
    """A text answer in many small chunks, broken by ``fault``."""
    return Turn(text=LONG, chunking=Chunking(text=4), fault=fault)


RETRY = {"stream_retries": 1}

CASES = [
    # -- HTTP errors, before any stream: the SDK's own exception
    Case(
        id="http-429",
        turns=(Turn(text=ANSWER, fault=HTTPStatus(429)),),
        raises=openai.RateLimitError,
    ),
    Case(
        id="http-500",
        turns=(Turn(text=ANSWER, fault=HTTPStatus(500)),),
        raises=openai.InternalServerError,
    ),
    Case(
        id="http-500-after-a-tool-turn",
        turns=(tool_turn("a"), Turn(text=ANSWER, fault=HTTPStatus(500))),
        raises=openai.InternalServerError,
        kept=called("a"),
        ran=("a",),
        requests=2,
    ),
    # -- a dropped connection: before the response, mid-stream, mid-arguments, after a tool turn
    Case(
        id="drop-before-response",
        turns=(Turn(text=ANSWER, fault=DropAfter(0)),),
        raises=openai.APIConnectionError,
    ),
    Case(
        id="drop-after-3-chunks",
        turns=(long_turn(DropAfter(3)),),
        raises=openai.APIConnectionError,
    ),
    Case(
        id="reset-after-3-chunks",
        turns=(long_turn(DropAfter(3, reset=True)),),
        raises=openai.APIConnectionError,
    ),
    Case(
        id="drop-mid-arguments",
        turns=(tool_turn("a", fault=DropAfter(4)),),
        raises=openai.APIConnectionError,
        hooks={"on_tool_call": 0},
    ),
    Case(
        id="drop-after-a-tool-turn",
        turns=(tool_turn("a"), long_turn(DropAfter(3))),
        raises=openai.APIConnectionError,
        kept=called("a"),
        ran=("a",),
        requests=2,
    ),
    Case(
        # The answer is whole at [DONE]; only the HTTP body's end is missing.
        id="drop-after-done",
        turns=(Turn(text=ANSWER, fault=DropAfter(100)),),
        streams=(True,),
        returns=ANSWER,
        kept=(said(ANSWER),),
    ),
    # -- a chunk (or a whole completion) that is not JSON
    Case(
        id="garbage-first",
        turns=(Turn(text=ANSWER, fault=GarbageAfter(0)),),
        raises=ModelProtocolError,
    ),
    Case(
        id="garbage-after-3-chunks",
        turns=(long_turn(GarbageAfter(3)),),
        raises=ModelProtocolError,
    ),
    Case(
        id="garbage-then-close",
        turns=(long_turn(GarbageAfter(3, close=True)),),
        raises=ModelProtocolError,
    ),
    Case(
        id="garbage-mid-arguments",
        turns=(tool_turn("a", fault=GarbageAfter(4)),),
        raises=ModelProtocolError,
        hooks={"on_tool_call": 0},
    ),
    # -- an error event in a stream that had started: the server's error, nothing half-written
    Case(
        id="error-event-first",
        turns=(Turn(text=ANSWER, fault=ErrorAfter(0)),),
        streams=(True,),
        raises=StreamError,
    ),
    Case(
        id="error-event-after-3-chunks",
        turns=(long_turn(ErrorAfter(3)),),
        streams=(True,),
        raises=StreamError,
    ),
    Case(
        id="error-event-mid-arguments",
        turns=(tool_turn("a", fault=ErrorAfter(4)),),
        streams=(True,),
        raises=StreamError,
        hooks={"on_tool_call": 0},
    ),
    Case(
        id="error-event-after-a-tool-turn",
        turns=(tool_turn("a"), long_turn(ErrorAfter(3))),
        streams=(True,),
        raises=StreamError,
        kept=called("a"),
        ran=("a",),
        requests=2,
    ),
    # -- a server that stops sending, and a client with a timeout
    Case(
        id="stall-before-response",
        turns=(Turn(text=ANSWER, fault=StallAfter(0, seconds=5)),),
        client={"timeout": STALL},
        raises=openai.APITimeoutError,
    ),
    Case(
        id="stall-after-3-chunks",
        turns=(long_turn(StallAfter(3, seconds=5)),),
        client={"timeout": STALL},
        raises=openai.APITimeoutError,
    ),
    Case(
        id="stall-after-a-tool-turn",
        turns=(tool_turn("a"), long_turn(StallAfter(3, seconds=5))),
        client={"timeout": STALL},
        raises=openai.APITimeoutError,
        kept=called("a"),
        ran=("a",),
        requests=2,
    ),
    # -- answers that never end, or are too large
    Case(
        id="endless-text",
        turns=(Turn(fault=Endless()),),
        streams=(True,),
        options={"max_text_chars": CAP},
        raises=ResponseTooLarge,
    ),
    Case(
        id="endless-arguments",
        turns=(Turn(fault=Endless(arguments=True, tool_name="lookup")),),
        streams=(True,),
        options={"max_argument_chars": CAP},
        raises=ResponseTooLarge,
        hooks={"on_tool_call": 0},
    ),
    Case(
        id="text-over-the-cap",
        turns=(Turn(text="x" * (CAP + 1), chunking=Chunking(text=500)),),
        streams=(True,),
        options={"max_text_chars": CAP},
        raises=ResponseTooLarge,
    ),
    Case(
        # A whole completion is read by the SDK before agentools sees it: the caps cannot stop
        # it; here the server's own bound (64 kB) ends it.
        id="endless-completion",
        turns=(Turn(fault=Endless(max_bytes=64_000)),),
        streams=(False,),
        options={"max_text_chars": CAP},
        raises=openai.APIConnectionError,
    ),
    # -- caps on an answer's tool calls: their number, and their names (64 characters)
    Case(
        id="too-many-tool-calls",
        turns=(tool_turn("a", "b", "c"),),
        options={"max_tool_calls": 2},
        raises=ResponseTooLarge,
        hooks={"on_tool_call": 0},
    ),
    Case(
        id="tool-name-past-64-characters",
        turns=(
            Turn(
                tool_calls=[ToolCallSpec(name="lookup" * 11, arguments={"key": "a"}, id="call_a")],
                chunking=Chunking(name=6),
            ),
        ),
        raises=ResponseTooLarge,
        hooks={"on_tool_call": 0},
    ),
    # -- what the model says: refusal, content filter, token limit
    Case(
        id="refusal",
        turns=(Turn(refusal="I can't help with that."),),
        returns="I can't help with that.",
        kept=({"role": "assistant", "refusal": "I can't help with that."},),
        hooks={"on_refusal": 1, "on_text": 0},
    ),
    Case(
        id="content-filter",
        turns=(Turn(text="Partial", finish_reason="content_filter"),),
        raises=ContentFilterError,
        hooks={"on_content_filter": 1},
    ),
    Case(
        id="content-filter-after-a-tool-turn",
        turns=(tool_turn("a"), Turn(text="Partial", finish_reason="content_filter")),
        raises=ContentFilterError,
        kept=called("a"),
        ran=("a",),
        requests=2,
        hooks={"on_content_filter": 1},
    ),
    Case(
        id="length-no-decision",
        turns=(Turn(text="Part one", finish_reason="length"),),
        returns="Part one",
        kept=(said("Part one"),),
        hooks={"on_max_tokens": 1},
    ),
    Case(
        id="length-keep",
        turns=(Turn(text="Part one", finish_reason="length"),),
        decision="keep",
        returns="Part one",
        kept=(said("Part one"),),
        hooks={"on_max_tokens": 1},
    ),
    Case(
        id="length-continue",
        turns=(Turn(text="Part one,", finish_reason="length"), Turn(text=" part two.")),
        decision="continue",
        returns="Part one, part two.",
        kept=(said("Part one,"), user(CONTINUE_PROMPT), said(" part two.")),
        hooks={"on_max_tokens": 1, "on_text": 2},
        requests=2,
        last_sent=user(CONTINUE_PROMPT),
    ),
    Case(
        id="length-raise",
        turns=(Turn(text="Part one", finish_reason="length"),),
        decision="raise",
        raises=MaxTokensExceeded,
        hooks={"on_max_tokens": 1},
    ),
    Case(
        id="length-continue-past-max-turns",
        turns=(Turn(text="A", finish_reason="length"), Turn(text="B", finish_reason="length")),
        options={"max_turns": 2},
        decision="continue",
        raises=MaxTurnsExceeded,
        kept=(said("A"), user(CONTINUE_PROMPT), said("B"), user(CONTINUE_PROMPT)),
        hooks={"on_max_tokens": 2},
        requests=2,
    ),
    Case(
        id="length-continue-then-drop",
        turns=(Turn(text="A", finish_reason="length"), long_turn(DropAfter(3))),
        decision="continue",
        raises=openai.APIConnectionError,
        kept=(said("A"), user(CONTINUE_PROMPT)),
        requests=2,
    ),
    Case(
        id="length-cuts-a-tool-call",
        turns=(
            Turn(
                text="Let me look.",
                tool_calls=[ToolCallSpec(name="lookup", arguments='{"key": "a', id="call_a")],
                finish_reason="length",
            ),
        ),
        returns="Let me look.",
        kept=(
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": CUT_CALL_MESSAGE},
        ),
        hooks={"on_max_tokens": 1, "on_tool_call": 0, "on_tool_result": 0},
    ),
    Case(
        id="max-turns",
        turns=(tool_turn("a"), tool_turn("b")),
        options={"max_turns": 2},
        raises=MaxTurnsExceeded,
        kept=(*called("a"), *called("b")),
        ran=("a", "b"),
        requests=2,
    ),
    # -- retries: the SDK's (before a response) and stream_retries (even mid-stream)
    Case(
        id="retry-drop-after-3-chunks",
        turns=(long_turn(DropAfter(3)), Turn(text=ANSWER)),
        options=RETRY,
        returns=ANSWER,
        kept=(said(ANSWER),),
        hooks={"on_retry": 1, "on_text": 1},
        requests=2,
    ),
    Case(
        id="retry-drop-before-response",
        turns=(Turn(text=LONG, fault=DropAfter(0)), Turn(text=ANSWER)),
        options=RETRY,
        returns=ANSWER,
        kept=(said(ANSWER),),
        hooks={"on_retry": 1},
        requests=2,
    ),
    Case(
        id="retry-stall-after-3-chunks",
        turns=(long_turn(StallAfter(3, seconds=5)), Turn(text=ANSWER)),
        options=RETRY,
        client={"timeout": STALL},
        returns=ANSWER,
        kept=(said(ANSWER),),
        hooks={"on_retry": 1},
        requests=2,
    ),
    Case(
        id="retry-drop-mid-arguments",
        turns=(tool_turn("a", fault=DropAfter(4)), tool_turn("a"), Turn(text=ANSWER)),
        options=RETRY,
        returns=ANSWER,
        kept=(*called("a"), said(ANSWER)),
        ran=("a",),
        hooks={"on_retry": 1, "on_tool_call": 1},
        requests=3,
    ),
    Case(
        id="retry-after-a-tool-turn",
        turns=(tool_turn("a"), long_turn(DropAfter(3)), Turn(text=ANSWER)),
        options=RETRY,
        returns=ANSWER,
        kept=(*called("a"), said(ANSWER)),
        ran=("a",),
        hooks={"on_retry": 1},
        requests=3,
    ),
    Case(
        id="retries-used-up",
        turns=(long_turn(DropAfter(3)), long_turn(DropAfter(3))),
        options=RETRY,
        raises=openai.APIConnectionError,
        hooks={"on_retry": 1},
        requests=2,
    ),
    Case(
        id="no-retry-without-stream-retries",
        turns=(long_turn(DropAfter(3)),),
        raises=openai.APIConnectionError,
        hooks={"on_retry": 0},
    ),
    Case(
        id="stream-retries-skip-http-errors",
        turns=(Turn(text=ANSWER, fault=HTTPStatus(500)),),
        options=RETRY,
        raises=openai.InternalServerError,
        hooks={"on_retry": 0},
    ),
    Case(
        id="stream-retries-skip-garbage",
        turns=(long_turn(GarbageAfter(3)),),
        options=RETRY,
        raises=ModelProtocolError,
        hooks={"on_retry": 0},
    ),
    Case(
        id="stream-retries-skip-error-events",
        turns=(long_turn(ErrorAfter(3)),),
        streams=(True,),
        options=RETRY,
        raises=StreamError,
        hooks={"on_retry": 0},
    ),
    Case(
        id="sdk-retries-http-429",
        turns=(
            Turn(text=LONG, fault=HTTPStatus(429, headers={"retry-after-ms": "1"})),
            Turn(text=ANSWER),
        ),
        client={"max_retries": 1},
        returns=ANSWER,
        kept=(said(ANSWER),),
        hooks={"on_retry": 0},
        requests=2,
    ),
    # -- a tool that raises: the run goes on, and the model is told as much as the setting says
    Case(
        id="tool-raises-detail-none",
        turns=(tool_turn(MISSING), Turn(text=ANSWER)),
        options={"tool_error_detail": "none"},
        returns=ANSWER,
        kept=(*told(MISSING, HIDDEN), said(ANSWER)),
        ran=(MISSING,),
        hooks={"on_tool_result": 1},
        requests=2,
        last_sent={"role": "tool", "tool_call_id": f"call_{MISSING}", "content": HIDDEN},
    ),
    # -- typed output, approvals, token limits: the run's own ends
    Case(
        id="output-retries-exhausted",
        turns=(Turn(text=NOT_JSON), Turn(text='{"value": "1"}'), Turn(text="{}")),
        output=Value,
        raises=OutputValidationError,
        kept=(
            said(NOT_JSON),
            asked_again(NOT_JSON),
            said('{"value": "1"}'),
            asked_again('{"value": "1"}'),
            said("{}"),
        ),
        hooks={"on_output": 0, "on_text": 3},
        requests=3,
        last_sent=asked_again('{"value": "1"}'),
    ),
    Case(
        id="output-fits-the-second-time",
        turns=(Turn(text=NOT_JSON), Turn(text='{"value": 1}')),
        output=Value,
        returns=Value(1),
        kept=(said(NOT_JSON), asked_again(NOT_JSON), said('{"value": 1}')),
        hooks={"on_output": 1},
        requests=2,
    ),
    Case(
        id="output-refused",
        turns=(Turn(refusal="I can't help with that."),),
        output=Value,
        raises=OutputRefused,
        kept=({"role": "assistant", "refusal": "I can't help with that."},),
        hooks={"on_output": 0, "on_refusal": 1},
    ),
    Case(
        id="approval-pending",
        turns=(tool_turn("a"),),
        needs=True,
        approval="pause",
        raises=RunPaused,
        hooks={"on_tool_call": 1, "on_approval": 1, "on_tool_result": 0},
    ),
    Case(
        id="approval-denied",
        turns=(tool_turn("a"), Turn(text=ANSWER)),
        needs=True,
        approval=False,
        returns=ANSWER,
        kept=(*told("a", DENIED_MESSAGE), said(ANSWER)),
        hooks={"on_approval": 1, "on_tool_result": 1},
        requests=2,
        last_sent={"role": "tool", "tool_call_id": "call_a", "content": DENIED_MESSAGE},
    ),
    Case(
        id="limit-reached",
        turns=(tool_turn("a", usage=Usage(prompt_tokens=900, completion_tokens=200)),),
        options={"max_total_tokens": 1_000},
        raises=UsageLimitExceeded,
        kept=called("a"),
        ran=("a",),
        hooks={"on_tool_result": 1, "on_usage": 1},
    ),
]


def _cells() -> Iterator[Any]:
    for case in CASES:
        for stream in case.streams:
            yield pytest.param(case, stream, id=f"{case.id}-{'stream' if stream else 'whole'}")


@pytest.mark.parametrize(("case", "stream"), list(_cells()))
def test_model_fault(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, case: Case, stream: bool
) -> None:
    ran: list[str] = []
    hooks = Recorder(case.decision, case.approval)
    assistant = bot(
        pooled=False,
        tools=[lookup_tool(ran, needs_approval=case.needs)],
        hooks=hooks,
        stream=stream,
        history=EARLIER,
        client=case.client,
        **case.options,
    )
    server.add(*case.turns)

    outcome = attempt(runner, assistant, **({} if case.output is None else {"output": case.output}))

    check_outcome(outcome, case.raises, case.returns)
    names = hooks.names()
    assert names.count("on_response_end") == (0 if case.raises else 1)
    for hook, times in case.hooks.items():
        assert names.count(hook) == times, hook
    if case.hooks.get("on_retry") and stream:
        # What the broken attempt streamed is to be discarded: what follows starts from nothing.
        after = hooks.calls[names.index("on_retry") + 1 :]
        deltas = [args for name, args in after if name == "on_partial_text"]
        partials = [args[0] for name, args in after if name == "on_partial_tool_call"]
        assert deltas or partials
        if deltas:
            assert deltas[0][0] == deltas[0][1]
        if partials:
            assert len(partials[0].arguments) <= 4  # one chunk of the new attempt
    if case.hooks.get("on_content_filter"):
        (message,) = hooks.args_of("on_content_filter")[0]
        assert message.content == "Partial"
    assert ran == list(case.ran)
    assert len(server.requests) == case.requests
    if case.requests:
        assert server.requests[0].messages[: len(EARLIER)] == list(EARLIER)
    if case.last_sent is not None:
        assert server.requests[-1].messages[-1] == case.last_sent
    aftermath(runner, server, assistant, kept=case.kept, before=EARLIER)


@pytest.mark.parametrize("what", ["text", "arguments"])
def test_size_caps_apply_to_a_whole_completion(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, what: str
) -> None:
    ran: list[str] = []
    if what == "text":
        turn = Turn(text="x" * (CAP + 1))
    else:
        turn = Turn(tool_calls=[ToolCallSpec(name="lookup", arguments={"key": "k" * CAP})])
    server.add(turn)
    assistant = bot(
        pooled=False,
        tools=[lookup_tool(ran)],
        stream=False,
        max_text_chars=CAP,
        max_argument_chars=CAP,
    )

    outcome = attempt(runner, assistant)

    assert isinstance(outcome, ResponseTooLarge), outcome
    assert ran == []
    aftermath(runner, server, assistant, kept=())


# -- a hook raising ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HookCase:
    id: str
    hook: str
    turns: tuple[Turn, ...]
    kept: tuple[dict[str, Any], ...] = ()
    ran: tuple[str, ...] | None = ()
    """The tool calls that ran (``None``: not checked)."""
    streams: tuple[bool, ...] = (True, False)
    error: type[BaseException] | None = None
    """What the hook raises, under both runners; ``None``: ``Boom`` under both, and
    ``KeyboardInterrupt`` under the blocking one."""
    raises: type[BaseException] | None = None
    """What the run raises instead of the hook's exception (then its ``__cause__``)."""


HOOK_CASES = [
    HookCase(id="on_response_start", hook="on_response_start", turns=()),
    HookCase(
        id="on_partial_text",
        hook="on_partial_text",
        turns=(long_turn(),),
        streams=(True,),
    ),
    HookCase(
        id="on_partial_tool_call",
        hook="on_partial_tool_call",
        turns=(tool_turn("a"),),
        streams=(True,),
    ),
    HookCase(
        id="on_text-before-tool-calls",
        hook="on_text",
        turns=(Turn(text="Let me look.", tool_calls=[call("a")]),),
    ),
    HookCase(id="on_tool_call", hook="on_tool_call", turns=(tool_turn("a"),)),
    HookCase(
        # The tool turn is whole (called and answered) before the hook hears of the result.
        id="on_tool_result-one-call",
        hook="on_tool_result",
        turns=(tool_turn("a"),),
        kept=called("a"),
        ran=("a",),
    ),
    HookCase(
        id="on_tool_result-first-of-two",
        hook="on_tool_result",
        turns=(tool_turn("a", "b"),),
        ran=None,
    ),
    HookCase(
        # A final answer is committed once its events are delivered: a hook raising on it
        # leaves it out (the completed tool turn before it stays: its tool ran).
        id="on_text-final-answer",
        hook="on_text",
        turns=(tool_turn("a"), Turn(text=ANSWER)),
        kept=called("a"),
        ran=("a",),
    ),
    HookCase(
        id="on_response_end",
        hook="on_response_end",
        turns=(Turn(text=ANSWER),),
    ),
    # StopIteration cannot leave a generator (Python makes it a RuntimeError): it is a HookError.
    HookCase(
        id="on_partial_text-stop-iteration",
        hook="on_partial_text",
        turns=(long_turn(),),
        streams=(True,),
        error=StopIteration,
        raises=HookError,
    ),
    HookCase(
        id="on_tool_result-stop-iteration",
        hook="on_tool_result",
        turns=(tool_turn("a"),),
        kept=called("a"),
        ran=("a",),
        error=StopIteration,
        raises=HookError,
    ),
    HookCase(
        id="on_response_end-stop-iteration",
        hook="on_response_end",
        turns=(Turn(text=ANSWER),),
        error=StopIteration,
        raises=HookError,
    ),
]


def raising(hook: str, error: type[BaseException]) -> Hooks:
    class Raiser(Hooks):
        pass

    def method(self: Hooks, *args: Any) -> None:
        raise error(hook)

    setattr(Raiser, hook, method)
    return Raiser()


def _hook_cells() -> Iterator[Any]:
    for case in HOOK_CASES:
        for stream in case.streams:
            kind = "stream" if stream else "whole"
            if case.error is not None:
                for runner in ("blocking", "async"):
                    param = (runner, case, stream, case.error)
                    yield pytest.param(*param, id=f"{case.id}-{kind}-{runner}")
                continue
            yield pytest.param("blocking", case, stream, Boom, id=f"{case.id}-{kind}-blocking")
            yield pytest.param("async", case, stream, Boom, id=f"{case.id}-{kind}-async")
            yield pytest.param(
                "blocking", case, stream, KeyboardInterrupt, id=f"{case.id}-{kind}-interrupt"
            )


@pytest.mark.parametrize(
    ("runner", "case", "stream", "error"), list(_hook_cells()), indirect=["runner"]
)
def test_hook_raises(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    case: HookCase,
    stream: bool,
    error: type[BaseException],
) -> None:
    ran: list[str] = []
    assistant = bot(
        pooled=False, tools=[lookup_tool(ran)], hooks=raising(case.hook, error), stream=stream
    )
    server.add(*case.turns)

    outcome = attempt(runner, assistant)

    if case.raises is not None:
        assert type(outcome) is case.raises, outcome
        outcome = outcome.__cause__
    assert type(outcome) is error
    assert str(outcome) == case.hook
    if case.ran is not None:
        assert ran == list(case.ran)
    assert len(server.requests) == len(case.turns)
    aftermath(runner, server, assistant, kept=case.kept)


# -- cancellation ------------------------------------------------------------------------------


def test_cancelled_before_the_model_is_called(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(pooled=False, stream=stream)
    token = CancelToken()
    token.cancel()

    outcome = attempt(runner, assistant, cancel=token)

    assert isinstance(outcome, RunCancelled)
    assert server.requests == []
    aftermath(runner, server, assistant, kept=())


@pytest.mark.parametrize("how", ["token", "assistant.cancel"])
@pytest.mark.parametrize("where", ["text", "arguments"])
def test_cancelled_mid_stream(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, how: str, where: str
) -> None:
    """From another thread (blocking) or from the loop (asyncio), at the first delta, while the
    server then stalls: the stream is closed at once, whatever the runner was waiting for."""
    ran: list[str] = []
    token = CancelToken() if how == "token" else None
    helpers: list[threading.Thread] = []
    fired: list[bool] = []

    def cancel() -> None:
        if token is not None:
            token.cancel()
        else:
            assistant.cancel()

    class CancelOnFirstDelta(Hooks):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            self.cancel_once()

        def on_partial_tool_call(self, partial: Any) -> None:
            self.cancel_once()

        def cancel_once(self) -> None:
            if fired:
                return
            fired.append(True)
            if runner.is_async:
                cancel()  # on the loop, in the run's own task
            else:
                helpers.append(threading.Thread(target=cancel))
                helpers[0].start()

    assistant = bot(pooled=False, tools=[lookup_tool(ran)], hooks=CancelOnFirstDelta())
    stall = StallAfter(3, seconds=5)
    server.add(long_turn(stall) if where == "text" else tool_turn("a", fault=stall))

    outcome = attempt(runner, assistant, cancel=token)

    for helper in helpers:
        helper.join()
    assert isinstance(outcome, RunCancelled)
    assert ran == []
    aftermath(runner, server, assistant, kept=())


def test_cancelled_while_a_whole_completion_is_read(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    """stream=False: the blocking runner cannot interrupt the request; the cancellation takes
    effect when it returns, before the answer is delivered, so the answer is not kept. The
    asyncio runner interrupts it."""
    token = CancelToken()
    assistant = bot(pooled=False, stream=False)
    server.add(Turn(text=ANSWER, fault=StallAfter(0, seconds=0.5, resume=True)))

    def cancel_once_requested() -> None:
        for _ in range(1000):
            if server.requests:
                break
            threading.Event().wait(0.005)
        token.cancel()

    async def cancel_from_the_loop() -> None:
        for _ in range(1000):
            if server.requests:
                break
            await asyncio.sleep(0.005)
        token.cancel()

    if runner.is_async:

        async def scenario() -> str | BaseException:
            task = asyncio.ensure_future(assistant.arun(PROMPT, cancel=token))
            await cancel_from_the_loop()
            try:
                return await task
            except BaseException as error:
                return error

        outcome = runner.await_(scenario())
    else:
        helper = threading.Thread(target=cancel_once_requested)
        helper.start()
        outcome = attempt(runner, assistant, cancel=token)
        helper.join()

    assert isinstance(outcome, RunCancelled)
    aftermath(runner, server, assistant, kept=())


@attrs.frozen(kw_only=True)
class ToolCancelCase:
    id: str
    is_async: bool
    calls: int
    kept_blocking: tuple[dict[str, Any], ...] = ()


TOOL_CANCEL_CASES = [
    # A lone sync call without a timeout runs in the blocking runner's own thread: its turn is
    # whole before the runner sees the cancellation.
    ToolCancelCase(id="sync-tool", is_async=False, calls=1, kept_blocking=called("a")),
    ToolCancelCase(id="sync-tools-x2", is_async=False, calls=2),
    ToolCancelCase(id="async-tool", is_async=True, calls=1),
    ToolCancelCase(id="async-tools-x2", is_async=True, calls=2),
]


def _tool_cancel_cells() -> Iterator[Any]:
    for case in TOOL_CANCEL_CASES:
        for stream in (True, False):
            kind = "stream" if stream else "whole"
            for runner in ("blocking", "async"):
                yield pytest.param(runner, case, stream, id=f"{case.id}-{kind}-{runner}")


@pytest.mark.parametrize(
    ("runner", "case", "stream"), list(_tool_cancel_cells()), indirect=["runner"]
)
def test_cancelled_while_tools_run(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    case: ToolCancelCase,
    stream: bool,
) -> None:
    """``assistant.cancel()`` once every call has started: from another thread for the blocking
    runner, from the loop for the asyncio one. Sync tools cannot be stopped: the run waits for
    them. ``async def`` tools are cancelled."""
    keys = ["a", "b"][: case.calls]
    starts: list[str] = []
    all_started = threading.Event()
    release = threading.Event()
    outcomes: list[str] = []

    def start(key: str) -> None:
        starts.append(key)
        if len(starts) == len(keys):
            all_started.set()

    @function_tool
    def lookup(key: str) -> str:
        """Look a key up, slowly."""
        start(key)
        release.wait(timeout=2)  # bounded: a run that waits for its tools does not hang
        outcomes.append("completed")
        return f"value of {key}"

    @function_tool(name="lookup")
    async def alookup(key: str) -> str:
        """Look a key up, slowly."""
        start(key)
        try:
            await asyncio.sleep(TOOL_SLEEP)
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        outcomes.append("completed")
        return f"value of {key}"

    assistant = bot(pooled=False, tools=[alookup if case.is_async else lookup], stream=stream)
    server.add(tool_turn(*keys))

    if runner.is_async:

        async def scenario() -> str | BaseException:
            task = asyncio.ensure_future(assistant.arun(PROMPT))
            for _ in range(1000):
                if all_started.is_set() or task.done():
                    break
                await asyncio.sleep(0.005)
            assistant.cancel()
            try:
                return await task
            except BaseException as error:
                return error

        outcome = runner.await_(scenario())
        finished_when_raised = list(outcomes)
        release.set()  # only now: a run that waited for its sync tools would have waited 2 s
    else:

        def cancel_then_release() -> None:
            all_started.wait(timeout=5)
            assistant.cancel()
            release.set()

        helper = threading.Thread(target=cancel_then_release)
        helper.start()
        outcome = attempt(runner, assistant)
        helper.join()
        finished_when_raised = list(outcomes)

    assert all_started.is_set()
    assert isinstance(outcome, RunCancelled)
    for _ in range(500):  # let an abandoned sync tool end before the leak checks
        if len(outcomes) == len(keys):
            break
        threading.Event().wait(0.01)
    kept = case.kept_blocking if not runner.is_async else ()
    aftermath(runner, server, assistant, kept=kept)

    if case.is_async:
        assert finished_when_raised == ["cancelled"] * len(keys)
    else:
        # Sync tools cannot be stopped: the run waits for them before it raises.
        assert finished_when_raised == ["completed"] * len(keys)


def _hook_while_tool_cells() -> Iterator[Any]:
    for is_async in (False, True):
        for runner in ("blocking", "async"):
            kind = "async-tool" if is_async else "sync-tool"
            yield pytest.param(runner, is_async, id=f"{kind}-{runner}")


@pytest.mark.parametrize(
    ("runner", "is_async"), list(_hook_while_tool_cells()), indirect=["runner"]
)
def test_hook_raises_while_another_tool_runs(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, is_async: bool
) -> None:
    """``on_tool_result`` raises for the quick call while the slow one still runs: an ``async def``
    one is cancelled, a sync one (a thread cannot be stopped) is waited for, before the run
    raises."""
    release = threading.Event()
    outcomes: list[str] = []

    @function_tool
    def lookup(key: str) -> str:
        """Look a key up; "b" slowly."""
        if key == "b":
            release.wait(timeout=2)  # bounded: a run that waits for its tools does not hang
            outcomes.append("completed")
        return f"value of {key}"

    @function_tool(name="lookup")
    async def alookup(key: str) -> str:
        """Look a key up; "b" slowly."""
        if key == "b":
            try:
                await asyncio.sleep(TOOL_SLEEP)
            except asyncio.CancelledError:
                outcomes.append("cancelled")
                raise
            outcomes.append("completed")
        return f"value of {key}"

    class RaiseAtFirstResult(Hooks):
        def on_tool_result(self, call: Any, result: Any) -> None:
            assert call.arguments == '{"key": "a"}'
            if not runner.is_async:
                release.set()  # a run that waits for "b" (as it must) will not wait long
            raise Boom("on_tool_result")

    assistant = bot(
        pooled=False, tools=[alookup if is_async else lookup], hooks=RaiseAtFirstResult()
    )
    server.add(tool_turn("a", "b"))

    outcome = attempt(runner, assistant)
    finished_when_raised = list(outcomes)
    release.set()
    try:
        assert isinstance(outcome, Boom)
        if is_async:
            # Cancelled, or (the run was quick to stop) never started.
            assert finished_when_raised in ([], ["cancelled"])
        else:
            assert finished_when_raised == ["completed"]
    finally:
        for _ in range(500):  # let a sync tool the run left running end before the next test
            if outcomes or is_async:
                break
            threading.Event().wait(0.01)
        if runner.loop is not None:
            runner.await_(asyncio.sleep(0.05))
    aftermath(runner, server, assistant, kept=())


@pytest.mark.parametrize("runner", ["async"], indirect=True)
@pytest.mark.parametrize("where", ["mid-stream", "async-tool"])
def test_arun_task_cancelled(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, where: str
) -> None:
    """Cancelling the task that awaits ``arun`` raises ``CancelledError`` (not ``RunCancelled``)
    and leaves the same clean state."""
    started = asyncio.Event()
    outcomes: list[str] = []

    @function_tool
    async def lookup(key: str) -> str:
        """Look a key up, slowly."""
        started.set()
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        return f"value of {key}"

    class Started(Hooks):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            started.set()

    assistant = bot(pooled=False, tools=[lookup], hooks=Started())
    if where == "mid-stream":
        server.add(long_turn(StallAfter(3, seconds=5)))
    else:
        server.add(tool_turn("a"))

    async def scenario() -> BaseException | None:
        task = asyncio.ensure_future(assistant.arun(PROMPT))
        await asyncio.wait_for(started.wait(), timeout=5)
        task.cancel()
        try:
            await task
        except BaseException as error:
            return error
        return None

    outcome = runner.await_(scenario())

    assert isinstance(outcome, asyncio.CancelledError)
    assert outcomes == ([] if where == "mid-stream" else ["cancelled"])
    aftermath(runner, server, assistant, kept=())


# -- pooled clients ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "raises"),
    [
        (DropAfter(3), openai.APIConnectionError),
        (GarbageAfter(3), ModelProtocolError),
        (StallAfter(3, seconds=5), openai.APITimeoutError),
        (HTTPStatus(500), openai.InternalServerError),
        (None, Boom),
    ],
    ids=["drop", "garbage", "stall", "http-500", "hook-raises"],
)
def test_a_pooled_client_survives_the_fault(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    fault: Any,
    raises: type[BaseException],
) -> None:
    """With the SDK's default (pooled, keep-alive) clients: a connection the fault broke is not
    handed to the next request."""
    assistant = bot(client={"timeout": STALL})
    server.add(Turn(text=ANSWER), long_turn(fault), Turn(text=ANSWER))

    assert runner.run(assistant, PROMPT) == ANSWER
    hooks = raising("on_partial_text", Boom) if fault is None else None
    assert isinstance(attempt(runner, assistant, hooks=hooks), raises)
    assert runner.run(assistant, PROMPT) == ANSWER
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert history == [user(PROMPT), said(ANSWER), user(PROMPT), user(PROMPT), said(ANSWER)]
    bot.close()  # the pool's idle connection goes with its client
    assert_nothing_left(runner, server)
