"""Regression tests for the controls the "hardening" issue added or fixed: caps on an answer's
tool calls, their names and the tools running at once (point 9); leaving the events of a run
early (10); hooks checked when they are given (11); logging (12); a cancel during the wait
before a retry (13); what the model is told of a tool's exception (14); reprs (17).

Every scenario runs under both runners, and both ``stream`` settings where it applies. The other
points of the issue are in ``test_hardening.py``; the fault matrix (``test_faults.py``) has rows
for the caps, ``tool_error_detail`` and a hook raising ``StopIteration``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentools import (
    Assistant,
    CancelToken,
    HookError,
    Hooks,
    MisuseError,
    ResponseTooLarge,
    RunCancelled,
    Settings,
    SettingsError,
    ToolDefinitionError,
    Toolkit,
    function_tool,
    validate_history,
)
from agentools.events import (
    BeforeModelCall,
    ModelCallStart,
    ResponseStart,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
)
from agentools.hooks import RecordingHooks
from agentools.streaming import ArgumentSnapshot
from agentools.testing import (
    Chunking,
    DropAfter,
    FakeOpenAIServer,
    StallAfter,
    ToolCallSpec,
    Turn,
)

from .support import Bot, Runner, raw_chunk, threads_left

PROMPT = "What is the value of a?"
AGAIN = "And now?"
ANSWER = "The value of a is 1."
RECOVERED = "Recovered."
WAIT = 5.0
"""The bound on every wait a tool or a helper makes for another one: a broken build fails the
test after it instead of hanging."""


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def said(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def lookup_tool(ran: list[str]) -> Any:
    """``lookup(key)``, recording each key it ran for."""

    @function_tool
    def lookup(key: str) -> str:
        """Look a key up."""
        ran.append(key)
        return f"value of {key}"

    return lookup


def lookups(*keys: str) -> Turn:
    return Turn(
        tool_calls=[ToolCallSpec(name="lookup", arguments={"key": k}, id=f"call_{k}") for k in keys]
    )


def tool_messages(server: FakeOpenAIServer, request: int = 1) -> list[tuple[str, str]]:
    """``(tool_call_id, content)`` of each tool message the model was sent in ``request``."""
    return [
        (m["tool_call_id"], m["content"])
        for m in server.requests[request].messages
        if m["role"] == "tool"
    ]


def recovers(runner: Runner, server: FakeOpenAIServer, assistant: Assistant) -> None:
    """After a run that failed or was left early: the history is valid, nothing is left running
    or open, and the next run works and sends that history as it is."""
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert threads_left() == []
    assert server.wait_idle(timeout=5)
    assert server.open_connections == 0
    server.add(Turn(text=RECOVERED))
    assert runner.run(assistant, AGAIN) == RECOVERED
    assert server.requests[-1].messages == [*history, user(AGAIN)]


# -- point 9: caps ---------------------------------------------------------------------------


def test_the_caps_default_and_refuse_nonsense() -> None:
    settings = Settings(model="m")
    assert settings.max_tool_calls == 128
    assert settings.max_concurrent_tools == 16
    for name in ("max_tool_calls", "max_concurrent_tools"):
        with pytest.raises(SettingsError, match=name):
            Assistant(model="m", **{name: 0})


@pytest.mark.parametrize(("cap", "calls"), [(3, 4), (None, 129)], ids=["cap-3", "default-128"])
def test_an_answer_with_more_tool_calls_than_the_cap_is_too_large(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, cap: int | None, calls: int
) -> None:
    ran: list[str] = []
    options = {} if cap is None else {"max_tool_calls": cap}
    assistant = bot(pooled=False, tools=[lookup_tool(ran)], stream=stream, **options)
    hooks = RecordingHooks()
    server.add(lookups(*(f"k{n}" for n in range(calls))))

    with pytest.raises(ResponseTooLarge) as raised:
        runner.run(assistant, PROMPT, hooks=hooks)

    assert raised.value.what == "tool calls"
    assert raised.value.limit == (cap or 128)
    assert ran == []
    assert "on_tool_call" not in hooks.names()
    assert assistant.history.to_openai() == [user(PROMPT)]
    recovers(runner, server, assistant)


def test_exactly_as_many_tool_calls_as_the_cap_all_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[str] = []
    assistant = bot(tools=[lookup_tool(ran)], stream=stream, max_tool_calls=3)
    server.add(lookups("a", "b", "c"), Turn(text=ANSWER))

    assert runner.run(assistant, PROMPT) == ANSWER
    assert sorted(ran) == ["a", "b", "c"]


def test_too_many_tool_calls_says_so_without_characters(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup_tool([])], max_tool_calls=2)
    server.add(lookups("a", "b", "c"))

    with pytest.raises(ResponseTooLarge) as raised:
        runner.run(assistant, PROMPT)

    assert "tool calls" in str(raised.value)
    assert "characters" not in str(raised.value)


def name_in_pieces(name: str, size: int) -> Turn:
    """A streamed tool call whose name comes ``size`` characters per delta, all before its
    arguments, as some servers send it."""
    pieces = [name[i : i + size] for i in range(0, len(name), size)]
    first = {"index": 0, "id": "call_long", "type": "function", "function": {"name": pieces[0]}}
    return Turn(
        raw=[
            raw_chunk({"role": "assistant", "content": None, "tool_calls": [first]}),
            *(
                raw_chunk({"tool_calls": [{"index": 0, "function": {"name": p}}]})
                for p in pieces[1:]
            ),
            raw_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
            raw_chunk({}, finish_reason="tool_calls"),
        ]
    )


def test_a_tool_name_past_64_characters_is_too_large(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """Streamed in 1,000 pieces of 4 characters (the stream stops at the 17th: the name is never
    concatenated further), or whole."""
    name = "n" * 4_000
    if stream:
        server.add(name_in_pieces(name, 4))
    else:
        server.add(Turn(tool_calls=[ToolCallSpec(name="n" * 65, id="call_long")]))
    assistant = bot(pooled=False, stream=stream)

    with pytest.raises(ResponseTooLarge) as raised:
        runner.run(assistant, PROMPT)

    assert raised.value.what == "name of tool call 0"
    assert raised.value.limit == 64
    assert assistant.history.to_openai() == [user(PROMPT)]
    recovers(runner, server, assistant)


def test_a_tool_name_of_64_characters_is_a_name(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    name = "n" * 64

    @function_tool(name=name)
    def longest() -> str:
        """A tool with the longest name the API takes."""
        return "ran"

    server.add(name_in_pieces(name, 4) if stream else Turn(tool_calls=[ToolCallSpec(name=name)]))
    server.add(Turn(text=ANSWER))
    assistant = bot(tools=[longest], stream=stream)

    assert runner.run(assistant, PROMPT) == ANSWER
    assert [content for _, content in tool_messages(server)] == ["ran"]


GRACE = 0.2
"""How long the first two calls hold their places once both are in, unless a third comes in:
time enough for a build that ignored the cap to start the others."""


class Gauge:
    """Counts the tool calls running at once. Calls "a" and "b" (the first two) wait until both
    are in (up to ``WAIT``), then hold on for ``GRACE`` or until a third call is in; "a" then
    waits for "b" to finish, so that the calls finish in another order than they were made."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.running = 0
        self.peak = 0
        self.b_done = threading.Event()
        self.finished: list[str] = []

    def enter(self) -> None:
        with self._changed:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self._changed.notify_all()

    def hold(self, key: str) -> None:
        if key not in ("a", "b"):
            return
        with self._changed:
            self._changed.wait_for(lambda: self.running >= 2, WAIT)
            self._changed.wait_for(lambda: self.running >= 3, GRACE)
        if key == "a":
            self.b_done.wait(WAIT)

    def leave(self, key: str) -> None:
        with self._changed:
            self.running -= 1
            self.finished.append(key)
        if key == "b":
            self.b_done.set()


def gauged_tool(gauge: Gauge, *, is_async: bool) -> Any:
    @function_tool(name="step")
    def sync_step(key: str) -> str:
        """One step."""
        gauge.enter()
        try:
            gauge.hold(key)
        finally:
            gauge.leave(key)
        return f"did {key}"

    @function_tool(name="step")
    async def async_step(key: str) -> str:
        """One step."""
        gauge.enter()
        try:
            await asyncio.to_thread(gauge.hold, key)
        finally:
            gauge.leave(key)
        return f"did {key}"

    return async_step if is_async else sync_step


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-tools", "async-tools"])
def test_no_more_than_max_concurrent_tools_run_at_once(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, is_async: bool
) -> None:
    keys = ["a", "b", "c", "d", "e", "f"]
    gauge = Gauge()
    assistant = bot(
        tools=[gauged_tool(gauge, is_async=is_async)], stream=stream, max_concurrent_tools=2
    )
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="step", arguments={"key": k}, id=k) for k in keys]),
        Turn(text=ANSWER),
    )

    assert runner.run(assistant, PROMPT) == ANSWER

    assert gauge.peak == 2
    assert sorted(gauge.finished) == keys
    assert gauge.finished.index("b") < gauge.finished.index("a")
    # The model gets the results in call order, whatever order they finished in.
    assert tool_messages(server) == [(k, f"did {k}") for k in keys]
    assert validate_history(assistant.history.to_openai()) == []


HOLD = 1.0
"""How long the first call holds the only place: past the second call's ``timeout``."""
QUICK = 0.2
"""How long the second call takes, well within its own ``timeout`` (``QUICK_TIMEOUT``)."""
QUICK_TIMEOUT = 0.6


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-tools", "async-tools"])
def test_a_queued_calls_timeout_counts_from_its_own_start(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, is_async: bool
) -> None:
    """With one place, the second call waits ``HOLD`` for it, longer than its ``timeout``, then
    takes ``QUICK``, less than its ``timeout``: it is not timed out."""

    @function_tool
    def slow() -> str:
        """Takes a while."""
        time.sleep(HOLD)
        return "slow done"

    @function_tool(name="slow")
    async def aslow() -> str:
        """Takes a while."""
        await asyncio.sleep(HOLD)
        return "slow done"

    @function_tool(timeout=QUICK_TIMEOUT)
    def quick() -> str:
        """Quicker than its timeout."""
        time.sleep(QUICK)
        return "quick done"

    @function_tool(name="quick", timeout=QUICK_TIMEOUT)
    async def aquick() -> str:
        """Quicker than its timeout."""
        await asyncio.sleep(QUICK)
        return "quick done"

    tools = [aslow, aquick] if is_async else [slow, quick]
    assistant = bot(tools=tools, max_concurrent_tools=1)
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="slow", id="s"), ToolCallSpec(name="quick", id="q")]),
        Turn(text=ANSWER),
    )

    assert runner.run(assistant, PROMPT) == ANSWER
    assert tool_messages(server) == [("s", "slow done"), ("q", "quick done")]


# -- point 10: leaving events early -----------------------------------------------------------


def test_events_held_open_block_the_next_run_with_a_message_naming_close(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """Events taken up to the first one of the model's answer, then held: the next run says how
    to let go of them; once they are closed, it works."""
    assistant = bot(pooled=False, stream=stream)
    server.add(Turn(text=ANSWER, chunking=Chunking(text=4)))

    if runner.is_async:

        async def scenario() -> None:
            events = assistant.aresponse_events(PROMPT)
            assert type(await anext(events)) is ResponseStart
            while type(await anext(events)) in (BeforeModelCall, ModelCallStart):
                pass
            with pytest.raises(MisuseError, match=r"await events\.aclose\(\)"):
                await assistant.arun(AGAIN)
            await events.aclose()

        runner.await_(scenario())
    else:
        events = assistant.response_events(PROMPT)
        assert type(next(events)) is ResponseStart
        while type(next(events)) in (BeforeModelCall, ModelCallStart):
            pass
        with pytest.raises(MisuseError, match=r"events\.close\(\)"):
            assistant.run(AGAIN)
        events.close()

    assert assistant.history.to_openai() == [user(PROMPT)]
    recovers(runner, server, assistant)


def leave_at(runner: Runner, assistant: Assistant, leave: Callable[[Any], bool]) -> list[Any]:
    """Iterate the run's events in a ``with`` (``async with``) block, and leave it at the first
    event ``leave`` says yes to; the events seen."""
    seen: list[Any] = []

    if runner.is_async:

        async def scenario() -> None:
            async with assistant.aresponse_events(PROMPT) as events:
                async for event in events:
                    seen.append(event)
                    if leave(event):
                        break

        runner.await_(asyncio.wait_for(scenario(), 30))
    else:
        with assistant.response_events(PROMPT) as events:
            for event in events:
                seen.append(event)
                if leave(event):
                    break
    return seen


@pytest.mark.parametrize("where", ["text", "arguments"])
def test_leaving_events_early_in_a_with_block_releases_everything(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, where: str
) -> None:
    """Mid-stream, while the server still has the stream open (it stalls), and, for a tool with
    a preview, while the preview runs in its thread: the stream is closed, the preview ends, the
    tool never runs."""
    ran: list[str] = []
    previews: list[Any] = []
    lookup = lookup_tool(ran)

    @lookup.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        previews.append(snapshot)

    stall = StallAfter(3, seconds=5)
    if where == "text":
        server.add(Turn(text="A long answer, cut short.", chunking=Chunking(text=4), fault=stall))
    else:
        turn = lookups("a")
        server.add(Turn(tool_calls=turn.tool_calls, chunking=Chunking(arguments=2), fault=stall))
    assistant = bot(pooled=False, tools=[lookup])

    def leave(event: Any) -> bool:
        if where == "text":
            return isinstance(event, TextDelta)
        # Once the arguments have started: the preview has been started in its thread.
        return isinstance(event, ToolCallDelta) and event.call.arguments != ""

    seen = leave_at(runner, assistant, leave)

    assert leave(seen[-1])
    assert ran == []
    assert assistant.history.to_openai() == [user(PROMPT)]
    recovers(runner, server, assistant)


def test_leaving_events_early_before_the_tools_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[str] = []
    assistant = bot(pooled=False, tools=[lookup_tool(ran)], stream=stream)
    server.add(lookups("a", "b"))

    seen = leave_at(runner, assistant, lambda event: isinstance(event, ToolCallDone))

    assert isinstance(seen[-1], ToolCallDone)
    assert ran == []
    assert assistant.history.to_openai() == [user(PROMPT)]
    recovers(runner, server, assistant)


# -- point 11: hooks checked when they are given ----------------------------------------------


class Misspelt(Hooks):
    def on_partial_txt(self, delta: str, snapshot: str) -> None:
        pass


class TooFew(Hooks):
    def on_partial_text(self, delta: str) -> None:
        pass


class TooMany(Hooks):
    def on_text(self, text: str, more: str) -> None:
        pass


HOOK_MISTAKES = [
    pytest.param(
        Misspelt,
        r"Misspelt\.on_partial_txt is not a hook.*did you mean 'on_partial_text'\?",
        id="misspelt",
    ),
    pytest.param(
        TooFew,
        r"TooFew\.on_partial_text\(delta.*\(delta, snapshot\)",
        id="too-few-parameters",
    ),
    pytest.param(
        TooMany,
        r"TooMany\.on_text\(text.*more.*\(text\)",
        id="too-many-parameters",
    ),
]


@pytest.mark.parametrize(("hooks", "message"), HOOK_MISTAKES)
def test_a_hook_mistake_is_refused_when_the_assistant_is_made(
    server: FakeOpenAIServer, bot: Bot, hooks: type[Hooks], message: str
) -> None:
    with pytest.raises(HookError, match=message):
        bot(hooks=hooks())
    assert server.requests == []


@pytest.mark.parametrize(("hooks", "message"), HOOK_MISTAKES)
def test_a_hook_mistake_is_refused_when_the_run_is_given_it(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, hooks: type[Hooks], message: str
) -> None:
    assistant = bot()
    with pytest.raises(HookError, match=message):
        runner.run(assistant, PROMPT, hooks=hooks())
    assert server.requests == []
    assert assistant.history.to_openai() == []
    server.add(Turn(text=ANSWER))
    assert runner.run(assistant, PROMPT) == ANSWER


def test_a_hook_taking_args_is_accepted(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    seen: list[tuple[Any, ...]] = []

    class Variadic(Hooks):
        def on_partial_text(self, *args: Any) -> None:
            seen.append(args)

        def on_text(self, *args: Any, **kwargs: Any) -> None:
            seen.append(args)

    assistant = bot(hooks=Variadic())
    server.add(Turn(text="Hello there.", chunking=Chunking(text=6)))

    assert runner.run(assistant, PROMPT) == "Hello there."
    assert seen == [("Hello ", "Hello "), ("there.", "Hello there."), ("Hello there.",)]


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_stop_iteration_from_an_async_def_hook_is_a_hook_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    class Stopping(Hooks):
        async def on_text(self, text: str) -> None:
            raise StopIteration

    server.add(Turn(text=ANSWER))
    assistant = bot(hooks=Stopping())

    with pytest.raises(HookError, match="StopIteration"):
        runner.run(assistant, PROMPT)


# -- point 12: logging ------------------------------------------------------------------------

SECRET_PROMPT = "prompt-zebra-7731"
SECRET_TEXT = "text-okapi-5520"
SECRET_ARGUMENT = "argument-narwhal-9912"
SECRET_MESSAGE = "message-quokka-4410"
SECRETS = (SECRET_PROMPT, SECRET_TEXT, SECRET_ARGUMENT, SECRET_MESSAGE)


def agentools_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "agentools" or r.name.startswith("agentools.")]


def records_of(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [
        r for r in agentools_records(caplog) if getattr(r, "agentools", {}).get("event") == event
    ]


def assert_nothing_told(caplog: pytest.LogCaptureFixture) -> None:
    """No record at INFO or above holds the prompt, the model's text, the arguments or a tool
    exception's message, in its message or its fields."""
    for record in agentools_records(caplog):
        if record.levelno < logging.INFO:
            continue
        said = record.getMessage() + repr(getattr(record, "agentools", {}))
        for secret in SECRETS:
            assert secret not in said, (record.levelname, said)


def secret_tool() -> Any:
    @function_tool
    def lookup(key: str) -> str:
        """Look a key up; it fails."""
        raise ValueError(f"{SECRET_MESSAGE}: no {key}")

    return lookup


def secret_call(call_id: str = "call_s") -> ToolCallSpec:
    return ToolCallSpec(name="lookup", arguments={"key": SECRET_ARGUMENT}, id=call_id)


def test_a_tool_error_is_logged_without_its_message_or_arguments(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    stream: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentools")
    assistant = bot(tools=[secret_tool()], stream=stream)
    server.add(Turn(text=SECRET_TEXT, tool_calls=[secret_call()]), Turn(text=SECRET_TEXT))

    assert runner.run(assistant, SECRET_PROMPT) == SECRET_TEXT

    (record,) = records_of(caplog, "tool error")
    assert record.levelno == logging.INFO
    fields = record.agentools  # type: ignore[attr-defined]
    assert fields["tool"] == "lookup"
    assert fields["call_id"] == "call_s"
    assert fields["error"] == "ValueError"
    assert "lookup" in record.getMessage()
    assert "call_s" in record.getMessage()
    assert "ValueError" in record.getMessage()
    assert_nothing_told(caplog)


def test_a_retry_is_logged_with_its_attempt_and_delay(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    stream: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentools")
    assistant = bot(stream=stream, stream_retries=1)
    server.add(Turn(text=SECRET_TEXT, fault=DropAfter(0)), Turn(text=SECRET_TEXT))

    assert runner.run(assistant, SECRET_PROMPT) == SECRET_TEXT

    (record,) = records_of(caplog, "retry")
    assert record.levelno == logging.WARNING
    fields = record.agentools  # type: ignore[attr-defined]
    assert fields["attempt"] == 1
    assert 0.375 <= fields["delay"] <= 0.5  # the SDK's first delay, less up to 25% of jitter
    assert fields["error"] == "APIConnectionError"
    assert len(server.requests) == 2
    assert_nothing_told(caplog)


def test_a_tool_timeout_is_logged(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentools")

    @function_tool(name="lookup", timeout=0.1)
    async def slow(key: str) -> str:
        """Too slow: cancelled at its timeout."""
        await asyncio.sleep(WAIT)
        return key

    assistant = bot(tools=[slow])
    server.add(Turn(tool_calls=[secret_call()]), Turn(text=SECRET_TEXT))

    assert runner.run(assistant, SECRET_PROMPT) == SECRET_TEXT

    (record,) = records_of(caplog, "tool timeout")
    assert record.levelno == logging.WARNING
    fields = record.agentools  # type: ignore[attr-defined]
    assert (fields["tool"], fields["call_id"], fields["timeout"]) == ("lookup", "call_s", 0.1)
    assert records_of(caplog, "tool error") == []
    assert_nothing_told(caplog)


def test_a_cancel_is_logged(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentools")

    class CancelAtTheCall(Hooks):
        def on_tool_call(self, call: Any) -> None:
            assistant.cancel()

    ran: list[str] = []
    assistant = bot(pooled=False, tools=[lookup_tool(ran)], hooks=CancelAtTheCall())
    server.add(Turn(text=SECRET_TEXT, tool_calls=[secret_call()]))

    with pytest.raises(RunCancelled):
        runner.run(assistant, SECRET_PROMPT)

    (record,) = records_of(caplog, "cancel")
    assert record.levelno == logging.INFO
    assert ran == []
    assert_nothing_told(caplog)
    recovers(runner, server, assistant)


# -- point 13: backoff --------------------------------------------------------------------------


MID_WAIT = 0.1
"""When a helper thread cancels, after ``on_retry``: well inside the first retry's wait (0.375 s
at least)."""


@pytest.mark.parametrize("how", ["hook", "thread", "thread-mid-wait"])
def test_a_cancel_during_the_wait_before_a_retry_ends_the_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, how: str
) -> None:
    """``on_retry`` cancels, itself or from a thread it starts (at once, or ``MID_WAIT`` later,
    once the runner waits before the call): the run ends with ``RunCancelled`` and the call is
    not made again."""
    helpers: list[threading.Thread] = []

    def cancel_mid_wait() -> None:
        time.sleep(MID_WAIT)
        assistant.cancel()

    class CancelOnRetry(Hooks):
        def on_retry(self, attempt: int, error: BaseException) -> None:
            if how == "hook":
                assistant.cancel()
                return
            target = assistant.cancel if how == "thread" else cancel_mid_wait
            helpers.append(threading.Thread(target=target))
            helpers[-1].start()

    assistant = bot(pooled=False, stream=stream, stream_retries=3, hooks=CancelOnRetry())
    server.add(Turn(text=ANSWER, fault=DropAfter(0)), Turn(text=ANSWER))

    with pytest.raises(RunCancelled):
        runner.run(assistant, PROMPT)
    for helper in helpers:
        helper.join(WAIT)

    assert len(server.requests) == 1
    assert server.pending == 1
    assert assistant.history.to_openai() == [user(PROMPT)]
    assert runner.run(assistant, AGAIN, hooks=Hooks()) == ANSWER  # the turn left unused
    assert server.requests[-1].messages == [user(PROMPT), user(AGAIN)]


# -- point 14: what the model is told of a tool's exception ------------------------------------

FAILURE = ValueError("secret /etc/passwd")


def failing_tool(**options: Any) -> Any:
    @function_tool(**options)
    def lookup(key: str) -> str:
        """Look a key up; it fails."""
        raise FAILURE

    return lookup


TOLD = {
    "message": "Error: ValueError: secret /etc/passwd",
    "type": "Error: ValueError",
    "none": "Error: the tool failed.",
}


@pytest.mark.parametrize("detail", [None, "message", "type", "none"], ids=str)
def test_the_model_is_told_of_a_tools_exception_as_the_assistant_says(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, detail: str | None
) -> None:
    hooks = RecordingHooks()
    options = {} if detail is None else {"tool_error_detail": detail}
    assistant = bot(tools=[failing_tool()], stream=stream, hooks=hooks, **options)
    server.add(lookups("a"), Turn(text=ANSWER))

    assert runner.run(assistant, PROMPT) == ANSWER

    assert tool_messages(server) == [("call_a", TOLD[detail or "message"])]
    ((_, result),) = hooks.args_of("on_tool_result")
    assert result.error is FAILURE
    assert result.content == TOLD[detail or "message"]


@pytest.mark.parametrize(
    ("tools", "assistants"),
    [("none", "message"), ("none", "type"), ("message", "none"), ("type", "none")],
)
def test_a_tools_own_error_detail_wins(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, tools: str, assistants: str
) -> None:
    hooks = RecordingHooks()
    assistant = bot(
        tools=[failing_tool(error_detail=tools)], tool_error_detail=assistants, hooks=hooks
    )
    server.add(lookups("a"), Turn(text=ANSWER))

    assert runner.run(assistant, PROMPT) == ANSWER

    assert tool_messages(server) == [("call_a", TOLD[tools])]
    ((_, result),) = hooks.args_of("on_tool_result")
    assert result.error is FAILURE


@pytest.mark.parametrize("where", ["assistant", "tool"])
def test_argument_errors_and_timeouts_are_told_in_full_whatever_the_setting(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, where: str
) -> None:
    """What the model did wrong (arguments that do not fit, or are not JSON, a tool that does not
    exist) and a timeout say nothing of a tool's insides: the model is told them in full."""
    hidden = {"error_detail": "none"} if where == "tool" else {}

    @function_tool(**hidden)
    def forecast(days: int) -> str:
        """The forecast."""
        return f"{days} days"

    @function_tool(timeout=0.1, **hidden)
    async def slow() -> str:
        """Too slow."""
        await asyncio.sleep(WAIT)
        return "late"

    options = {"tool_error_detail": "none"} if where == "assistant" else {}
    hooks = RecordingHooks()
    assistant = bot(tools=[forecast, slow], stream=stream, hooks=hooks, **options)
    calls = [
        ToolCallSpec(name="forecast", arguments={"days": "three"}, id="misfit"),
        ToolCallSpec(name="forecast", arguments='{"days": ', id="broken"),
        ToolCallSpec(name="forcast", arguments={"days": 3}, id="unknown"),
        ToolCallSpec(name="slow", id="late"),
    ]
    server.add(Turn(tool_calls=calls), Turn(text=ANSWER))

    assert runner.run(assistant, PROMPT) == ANSWER

    told = dict(tool_messages(server))
    assert told["misfit"].startswith("Error: ArgumentsError: argument 'days': ")
    assert "'three'" in told["misfit"]
    assert told["broken"].startswith("Error: MalformedArgumentsError: ")
    assert told["unknown"].startswith("Error: UnknownToolError: ")
    assert "forecast" in told["unknown"]
    assert told["late"] == "Error: ToolTimeoutError: slow did not finish within 0.1 s"
    results = {call.id: result for call, result in hooks.args_of("on_tool_result")}
    assert all(result.error is not None for result in results.values())
    assert "the tool failed" not in repr(told)


@pytest.mark.parametrize("value", ["full", "", None, 0, "NONE"], ids=repr)
def test_a_bad_error_detail_is_refused(value: Any) -> None:
    with pytest.raises(SettingsError, match="tool_error_detail"):
        Assistant(model="m", tool_error_detail=value)
    assistant = Assistant(model="m")
    with pytest.raises(SettingsError, match="tool_error_detail"):
        assistant.configure(tool_error_detail=value)
    assert assistant.settings.tool_error_detail == "message"
    if value is not None:  # None is a tool's default: the assistant's setting applies
        with pytest.raises(ToolDefinitionError, match="error_detail"):
            function_tool(error_detail=value)(lambda: "x")


# -- point 17: reprs ----------------------------------------------------------------------------


class Notes(Toolkit):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    @function_tool
    def read_note(self, name: str) -> str:
        """Read a note."""
        return name

    @function_tool
    def write_note(self, name: str, text: str) -> str:
        """Write a note."""
        return name


def test_a_toolkits_repr_names_its_class_and_tools() -> None:
    assert repr(Notes("notes")) == "<Notes tools=['read_note', 'write_note']>"


def test_the_registrys_repr_shows_disabled_tools_as_such() -> None:
    @function_tool
    def weather(city: str) -> str:
        """The weather."""
        return city

    assistant = Assistant(model="m", tools=[Notes("notes"), weather])
    assistant.tools.disable("weather")

    assert (
        repr(assistant.tools) == "<ToolRegistry ['read_note', 'write_note', 'weather (disabled)']>"
    )
    assistant.tools.enable("weather")
    assert "disabled" not in repr(assistant.tools)


def test_a_cancel_tokens_repr_says_whether_it_is_cancelled() -> None:
    token = CancelToken()
    assert repr(token) == "<CancelToken not cancelled>"
    token.cancel()
    assert repr(token) == "<CancelToken cancelled>"
