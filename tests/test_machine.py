"""The sans-IO machine on its own: its table, what it decides, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentools import (
    AssistantMessage,
    ContentFilterError,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    MisuseError,
    ModelProtocolError,
    PendingApprovals,
    RunCancelled,
    RunPaused,
    Settings,
    ToolCallRecord,
    ToolErrorsExceeded,
    ToolTimeoutError,
    UnknownToolError,
    validate_history,
)
from agentools._core import (
    CONTINUE_PROMPT,
    CUT_CALL_MESSAGE,
    NEED_INPUT,
    TRANSITIONS,
    CallModel,
    Decide,
    Finished,
    RunTools,
    StartConsumers,
    State,
    transitions_table,
)
from agentools._core.table import KINDS, Input
from agentools._core.tool_calls import prepare
from agentools.calls import ToolCall
from agentools.cancel import CancelToken
from agentools.events import (
    MaxTokens,
    ModelCallStart,
    PreviewFailed,
    Retry,
    TextDelta,
    ToolCallDelta,
    ToolResultDone,
)
from agentools.testing import Chunking, ToolCallSpec, Turn

from .support import answer, broken, chunks_of, completion_of, done, drain, f, new_machine

KIND_NAMES = sorted({given.kind for _, given in TRANSITIONS})


def started(**settings: Any) -> Any:
    machine = new_machine(**settings)
    machine.start("hello")
    assert isinstance(drain(machine)[-1], CallModel)
    return machine


def tool_turn(*names: str) -> Turn:
    return Turn(tool_calls=[ToolCallSpec(name=n, id=f"c_{n}") for n in names])


def run_tools(machine: Any, turn: Turn) -> RunTools:
    (step,) = [s for s in answer(machine, turn) if isinstance(s, RunTools)]
    return step


def machine_in(state: State) -> Any:
    if state is State.IDLE:
        return new_machine(stream_retries=1)
    machine = started(stream_retries=1)
    if state is State.RECEIVING:
        machine.receive_chunk(chunks_of(Turn(text="hi"))[0])
    elif state is State.RUNNING_TOOLS:
        run_tools(machine, tool_turn("f"))
    elif state is State.DONE:
        answer(machine, Turn(text="hi"))
    elif state is State.DECIDING:
        answer(machine, Turn(text="hi", finish_reason="length"))
    elif state is State.PAUSED:
        steps = answer(machine, tool_turn("ask"))
        assert isinstance(steps[-1], Decide)
        machine.decide("pause")
        with pytest.raises(RunPaused):
            drain(machine)
    elif state is State.CANCELLED:
        machine.cancel()
    elif state is State.ERROR:
        with pytest.raises(MisuseError):
            machine.start("again")
    assert machine.state is state
    return machine


def feed(machine: Any, kind: str) -> None:
    if kind == "start":
        machine.start("x")
    elif kind == "resume":
        record = ToolCallRecord(id="c_ask", name="ask", arguments="{}")
        message = AssistantMessage(tool_calls=(record,))
        machine.resume(PendingApprovals(message=message, waiting=("c_ask",)), {})
    elif kind == "chunk":
        machine.receive_chunk(chunks_of(Turn(text="hi"))[0])
    elif kind == "end":
        machine.receive_end()
    elif kind == "failure":
        machine.receive_failure(ConnectionError("dropped"))
    elif kind == "tool result":
        machine.receive_tool_outcome(invocation_of(machine), done("ok"))
    elif kind == "tools done":
        if machine.state is State.RUNNING_TOOLS:
            machine.receive_tool_outcome(invocation_of(machine), done("ok"))
        machine.receive_tools_done()
    elif kind == "decision":
        machine.decide("keep")
    else:
        machine.cancel()


def invocation_of(machine: Any) -> Any:
    """The invocation of the call the machine waits for (in ``RUNNING_TOOLS``), else of one it
    never heard of."""
    calls = machine._answer.calls if machine._answer is not None else ()
    call = calls[0] if calls else ToolCall(index=0, id="c_f", name="f", arguments="{}")
    return prepare(call, machine._tools)


# -- the table ---------------------------------------------------------------------------------


def test_every_transition_is_one_state_and_every_state_is_reachable() -> None:
    assert all(isinstance(target, State) for target in TRANSITIONS.values())
    reached = {State.IDLE} | set(TRANSITIONS.values())
    assert reached == set(State)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_input_outside_the_table_is_refused(state: State, kind: str) -> None:
    machine = machine_in(state)
    if kind == "cancel" and (machine._ended or kind not in KINDS[state]):
        feed(machine, kind)  # a cancel after the end is ignored
        assert machine.state is state
    elif kind in KINDS[state] and not (kind == "decision" and machine._deciding is None):
        feed(machine, kind)
        cases = {
            target
            for (at, given), target in TRANSITIONS.items()
            if at is state and given.kind == kind
        }
        assert machine.state in cases
    else:
        with pytest.raises(MisuseError, match=f"can't handle {kind} in state {state.value}"):
            feed(machine, kind)
        assert machine.state is State.ERROR


def test_the_readme_shows_the_transition_table_as_it_is() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert transitions_table() in readme


def test_inputs_name_their_kind_and_case() -> None:
    assert Input("end", "tool calls").name == "end: tool calls"
    assert Input("start").name == "start"


# -- requests and answers ----------------------------------------------------------------------


def test_request_asks_for_usage_when_streaming() -> None:
    machine = new_machine(params={"stream_options": {"x": 1}})
    machine.start("hi")
    call = next(step for step in drain(machine) if isinstance(step, CallModel))
    assert call.request["stream_options"] == {"x": 1, "include_usage": True}
    assert call.request["messages"] == [{"role": "user", "content": "hi"}]
    assert call.request["tools"][0]["function"]["name"] == "f"


@pytest.mark.parametrize("decoding", ["raw", "sdk"])
def test_the_call_says_how_to_read_the_answer_and_its_retry_too(decoding: str) -> None:
    """``Settings.decoding`` reaches the adapter's ``call()`` through the step, not the runner."""
    machine = new_machine(decoding=decoding, stream_retries=1)
    machine.start("hi")
    call = drain(machine)[-1]
    assert call.decoding == decoding
    assert "decoding" not in call.request  # not a parameter of the API
    machine.receive_failure(broken())
    retry = drain(machine)[-1]
    assert isinstance(retry, CallModel)
    assert (retry.decoding, retry.delay > 0) == (decoding, True)


def test_settings_are_read_again_for_every_model_call() -> None:
    current = [Settings(model="one", max_turns=3)]
    machine = new_machine()
    machine._settings = lambda: current[0]
    machine.start("hi")
    assert drain(machine)[-1].request["model"] == "one"
    current[0] = current[0].with_options(model="two", temperature=0.5, system="Be brief.")
    run = run_tools(machine, tool_turn("f"))
    machine.receive_tool_outcome(run.invocations[0], done("x"))
    machine.receive_tools_done()
    request = drain(machine)[-1].request
    assert (request["model"], request["temperature"]) == ("two", 0.5)
    assert request["messages"][0] == {"role": "system", "content": "Be brief."}


def test_empty_stream_is_the_models_fault_and_keeps_the_prompt() -> None:
    machine = started()
    machine.receive_end()
    assert machine.state is State.ERROR
    with pytest.raises(ModelProtocolError, match="before any chunk"):
        machine.next_step()
    assert machine.history.to_openai() == [{"role": "user", "content": "hello"}]


def test_stream_without_finish_reason_is_refused_and_nothing_half_written_is_kept() -> None:
    machine = started()
    for chunk in chunks_of(Turn(text="half an ans"))[:-1]:
        machine.receive_chunk(chunk)
    machine.receive_end()
    with pytest.raises(ModelProtocolError, match="finish_reason"):
        drain(machine)
    assert machine.history.to_openai() == [{"role": "user", "content": "hello"}]


def test_a_chunk_over_the_cap_drops_what_it_caused_and_raises_next() -> None:
    machine = started(max_text_chars=5)
    for chunk in chunks_of(Turn(text="far too long", chunking=Chunking(text=0))):
        machine.receive_chunk(chunk)
        if machine.state is State.ERROR:
            break
    assert machine.state is State.ERROR
    with pytest.raises(ModelProtocolError, match="past 5 characters"):
        machine.next_step()  # no TextDelta first: the chunk that broke the cap is not delivered


def test_follows_choice_zero() -> None:
    machine = started()
    turn = Turn(
        text="zero", extra_choices=[Turn(text="one"), Turn(tool_calls=[ToolCallSpec(name="g")])]
    )
    steps = answer(machine, turn)
    assert [s.delta for s in steps if isinstance(s, TextDelta)] == ["zero"]
    assert not any(isinstance(s, ToolCallDelta) for s in steps)
    assert isinstance(steps[-1], Finished)
    assert steps[-1].text == "zero"


def test_a_final_answer_is_committed_once_its_events_are_delivered() -> None:
    machine = started()
    for chunk in chunks_of(Turn(text="done")):
        machine.receive_chunk(chunk)
    machine.receive_end()
    assert len(machine.history) == 1  # a hook raising on its events would leave it out
    steps = drain(machine)
    assert [type(step).__name__ for step in steps][-2:] == ["ResponseEnd", "Finished"]
    assert machine.history.to_openai()[-1] == {"role": "assistant", "content": "done"}


def test_content_filter_keeps_nothing_of_the_answer() -> None:
    machine = started()
    with pytest.raises(ContentFilterError):
        answer(machine, Turn(text="bad", finish_reason="content_filter"))
    assert machine.state is State.DONE
    assert machine.history.to_openai() == [{"role": "user", "content": "hello"}]


# -- tools -------------------------------------------------------------------------------------


def test_tool_results_in_any_order_are_committed_in_call_order() -> None:
    machine = started()
    run = run_tools(machine, tool_turn("f", "g"))
    first, second = run.invocations
    machine.receive_tool_outcome(second, done("G"))
    assert len(machine.history) == 1  # nothing committed until every call is answered
    with pytest.raises(MisuseError, match="'c_g'"):
        machine.receive_tool_outcome(second, done("again"))
    machine = started()
    first, second = run_tools(machine, tool_turn("f", "g")).invocations
    machine.receive_tool_outcome(second, done("G"))
    machine.receive_tool_outcome(first, done("F"))
    # Committed as soon as the last answer is in: the tools have run.
    assert [m.get("tool_call_id") for m in machine.history.to_openai()] == [
        None,
        None,
        "c_f",
        "c_g",
    ]
    machine.receive_tools_done()
    assert isinstance(drain(machine)[-1], CallModel)


def test_calls_that_cannot_run_are_answered_without_running() -> None:
    machine = started()
    steps = answer(machine, tool_turn("f", "nope"))
    (run,) = [s for s in steps if isinstance(s, RunTools)]
    assert [i.call.name for i in run.invocations] == ["f"]
    (refused,) = [s for s in steps if isinstance(s, ToolResultDone)]
    assert isinstance(refused.result.error, UnknownToolError)
    assert "available tools: ask, f, g, raising" in refused.result.content


def test_the_result_policy() -> None:
    machine = started()
    run = run_tools(machine, tool_turn("f", "g"))
    machine.receive_tool_outcome(
        run.invocations[0], done(error=ZeroDivisionError("division by zero"))
    )
    machine.receive_tool_timeout(run.invocations[1])
    results = [s.result for s in drain(machine) if isinstance(s, ToolResultDone)]
    assert results[0].content == "Error: ZeroDivisionError: division by zero"
    assert isinstance(results[1].error, ToolTimeoutError)


def test_a_raise_errors_tool_ends_the_run_with_its_exception() -> None:
    machine = started()
    run = run_tools(machine, tool_turn("f"))
    object.__setattr__(run.invocations[0], "tool", _raising(f))
    machine.receive_tool_outcome(run.invocations[0], done(error=KeyError("mine")))
    with pytest.raises(KeyError, match="mine"):
        drain(machine)
    assert machine.state is State.DONE
    assert validate_history(machine.history.to_openai()) == []


def _raising(tool: Any) -> Any:
    import copy

    raising = copy.copy(tool)
    raising.raise_errors = True
    return raising


def test_keyboard_interrupt_in_a_tool_is_not_the_tools_failure() -> None:
    machine = started()
    run = run_tools(machine, tool_turn("f"))
    machine.receive_tool_outcome(run.invocations[0], done(error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        drain(machine)
    assert machine.state is State.ERROR


def test_turns_in_which_every_call_failed_end_the_run() -> None:
    machine = started(max_tool_errors=2)
    (invocation,) = run_tools(machine, tool_turn("f")).invocations
    machine.receive_tool_outcome(invocation, done(error=ValueError("no")))
    machine.receive_tools_done()
    assert isinstance(drain(machine)[-1], CallModel)
    (invocation,) = run_tools(machine, tool_turn("f")).invocations
    machine.receive_tool_outcome(invocation, done(error=ValueError("no")))
    machine.receive_tools_done()
    with pytest.raises(ToolErrorsExceeded):
        drain(machine)
    assert validate_history(machine.history.to_openai()) == []


def test_max_turns_raises_after_the_last_results_with_history_answered() -> None:
    machine = started(max_turns=1)
    (invocation,) = run_tools(machine, tool_turn("f")).invocations
    machine.receive_tool_outcome(invocation, done("A"))
    machine.receive_tools_done()
    events = [machine.next_step()]
    with pytest.raises(MaxTurnsExceeded, match="still asked for tools"):
        machine.next_step()
    assert [type(e).__name__ for e in events] == ["ToolResultDone"]
    assert [m["role"] for m in machine.history.to_openai()] == ["user", "assistant", "tool"]


def test_tools_done_before_every_result_is_a_misuse() -> None:
    machine = started()
    run_tools(machine, tool_turn("f"))
    with pytest.raises(MisuseError, match="have no result"):
        machine.receive_tools_done()


def test_preview_failures_are_the_machines_events() -> None:
    machine = started()
    machine._feeds.failures.append((chunks_of(tool_turn("f"))[0], ValueError("boom")))
    (failed,) = drain(machine)
    assert isinstance(failed, PreviewFailed)
    assert str(failed.error) == "boom"


# -- the token limit, failures, cancellation ---------------------------------------------------


def test_a_cut_answer_asks_for_a_decision() -> None:
    machine = started()
    steps = answer(
        machine,
        Turn(
            text="Once upon", finish_reason="length", tool_calls=[ToolCallSpec(name="f", id="c1")]
        ),
    )
    decide = steps[-1]
    assert isinstance(decide, Decide)
    assert isinstance(decide.event, MaxTokens)
    assert machine.next_step() is NEED_INPUT  # until the hook's answer is in
    machine.decide("continue")
    call = drain(machine)[-1]
    assert isinstance(call, CallModel)
    assert call.request["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Once upon",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": CUT_CALL_MESSAGE},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]
    answer(machine, Turn(text=" a time.", finish_reason="length"))
    machine.decide(None)
    assert drain(machine)[-1] == Finished(text="Once upon a time.", usage=machine._usage)


@pytest.mark.parametrize("decision", ["raise", "bogus"])
def test_decisions_that_end_the_run(decision: str) -> None:
    machine = started()
    answer(machine, Turn(text="Once upon", finish_reason="length"))
    if decision == "bogus":
        with pytest.raises(MisuseError, match="on_max_tokens returned 'bogus'"):
            machine.decide(decision)  # a misuse raises at once
        assert machine.state is State.ERROR
    else:
        machine.decide(decision)
        with pytest.raises(MaxTokensExceeded):
            drain(machine)  # a documented end, at the next step
        assert machine.state is State.DONE
    assert machine.history.to_openai() == [{"role": "user", "content": "hello"}]


def test_continuing_past_max_turns_says_so() -> None:
    machine = started(max_turns=1)
    answer(machine, Turn(text="Once upon", finish_reason="length"))
    machine.decide("continue")
    with pytest.raises(MaxTurnsExceeded, match="continuing an answer cut by its token limit"):
        drain(machine)


def test_a_broken_call_is_made_again_while_retries_last() -> None:
    machine = started(stream_retries=2)
    first = machine._call
    assert first.delay == 0
    machine.receive_chunk(chunks_of(Turn(text="half"))[0])
    drain(machine)
    for attempt, delay in [(1, 0.5 * 0.875), (2, 1.0 * 0.875)]:
        machine.receive_failure(broken())
        retry, again, call = drain(machine)
        assert isinstance(retry, Retry)
        assert retry.attempt == attempt
        assert again == ModelCallStart(
            turn=first.turn, model=first.request["model"], attempt=attempt
        )
        # The same request, after the SDK's backoff: 0.5 s doubling, less a jitter (here 12.5%).
        assert (call.request, call.turn) == (first.request, first.turn)
        assert call.delay == pytest.approx(delay)
    machine.receive_failure(broken())
    with pytest.raises(openai.APIConnectionError):
        drain(machine)
    assert machine.state is State.ERROR


@pytest.mark.parametrize(("attempts", "jitter", "longest"), [(20, 0.0, 8.0), (20, 1.0, 6.0)])
def test_the_backoff_is_capped(attempts: int, jitter: float, longest: float) -> None:
    machine = started(stream_retries=attempts, random=lambda: jitter)
    delays = []
    for _ in range(attempts):
        machine.receive_failure(broken())
        delays.append(drain(machine)[-1].delay)
    assert delays == sorted(delays)
    assert delays[-1] == pytest.approx(longest)


def test_what_cannot_be_read_is_the_models_fault() -> None:
    machine = started()
    machine.receive_failure(json.JSONDecodeError("Expecting value", "x", 0))
    with pytest.raises(ModelProtocolError, match="malformed") as raised:
        drain(machine)
    assert isinstance(raised.value.__cause__, json.JSONDecodeError)


def test_a_failure_after_a_cancel_is_the_cancel() -> None:
    token = CancelToken()
    machine = new_machine(cancel=token, stream_retries=3)
    machine.start("hi")
    drain(machine)
    token.cancel()
    machine.receive_failure(broken())
    with pytest.raises(RunCancelled) as raised:
        drain(machine)
    assert isinstance(raised.value.__cause__, openai.APIConnectionError)
    assert machine.state is State.CANCELLED


def test_a_cancel_drops_what_was_not_delivered_and_closes_the_streams() -> None:
    token = CancelToken()
    machine = new_machine(cancel=token)
    machine.start("hi")
    drain(machine)
    f.preview(lambda snapshot: None)
    try:
        call = ToolCallSpec(name="f", arguments={"key": "abc"}, id="c1")
        steps: list[Any] = []
        for chunk in chunks_of(Turn(tool_calls=[call], chunking=Chunking(arguments=3))):
            machine.receive_chunk(chunk)
            steps += drain(machine)
        (start,) = [step for step in steps if isinstance(step, StartConsumers)]
        token.cancel()
        with pytest.raises(RunCancelled):
            machine.next_step()
        assert start.consumers[0].stream._state == "closed"
    finally:
        f.preview_function = None
    machine.cancel()  # after the end: ignored
    assert machine.state is State.CANCELLED
    token = CancelToken()
    machine = new_machine(cancel=token)
    machine.start("hi")
    drain(machine)
    for chunk in chunks_of(Turn(text="Hello.")):
        machine.receive_chunk(chunk)
    machine.receive_end()
    token.cancel()
    with pytest.raises(RunCancelled):
        machine.next_step()  # not the answer's events: nothing of it is kept
    assert machine.history.to_openai() == [{"role": "user", "content": "hi"}]


def test_a_cancel_after_the_end_was_delivered_is_ignored() -> None:
    token = CancelToken()
    machine = new_machine(cancel=token)
    machine.start("hi")
    drain(machine)
    assert isinstance(answer(machine, Turn(text="Hi!"))[-1], Finished)
    token.cancel()
    assert machine.next_step() is NEED_INPUT
    assert machine.state is State.DONE


def test_fail_says_what_the_caller_gets() -> None:
    machine = started()
    error = ValueError("a hook's")
    assert machine.fail(error) is error
    assert machine.state is State.ERROR
    token = CancelToken()
    machine = new_machine(cancel=token)
    machine.start("hi")
    token.cancel()
    cancelled = machine.fail(error)
    assert isinstance(cancelled, RunCancelled)
    assert cancelled.__cause__ is error


# -- streamed and whole answers are one ----------------------------------------------------------


arguments = st.dictionaries(
    st.text(max_size=6),
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.lists(st.integers(), max_size=3),
    max_size=4,
)
turns = st.builds(
    Turn,
    text=st.none() | st.text(min_size=1, max_size=40),
    tool_calls=st.lists(
        st.builds(
            ToolCallSpec,
            name=st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
            arguments=arguments,
            id=st.from_regex(r"call_[a-z0-9]{4}", fullmatch=True),
        ),
        max_size=3,
        unique_by=lambda call: call.id,
    ),
    chunking=st.builds(
        Chunking, text=st.integers(1, 9), name=st.integers(0, 4), arguments=st.integers(1, 9)
    ),
)


@given(turns)
def test_streamed_and_whole_answers_accumulate_to_the_same_message(turn: Turn) -> None:
    streamed = started(stream=True)
    whole = started(stream=False)
    events: list[Any] = []
    for chunk in chunks_of(turn, include_usage=True):
        streamed.receive_chunk(chunk)
        events += drain(streamed)
    streamed.receive_end()
    whole.receive_chunk(completion_of(turn))
    whole.receive_end()
    from_stream, from_completion = drain(streamed), drain(whole)

    def comparable(steps: list[Any]) -> list[Any]:
        # (an empty answer is asked again: that call differs only in being streamed or not)
        return [
            (s.call, s.result.content) if isinstance(s, ToolResultDone) else s
            for s in steps
            if not isinstance(s, (RunTools, StartConsumers, CallModel))
        ]

    assert comparable(from_stream) == comparable(from_completion)
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == (turn.text or "")
    for call in turn.tool_calls:
        partial = [e.call for e in events if isinstance(e, ToolCallDelta) and e.call.id == call.id]
        assert partial[-1].name == call.name
        assert partial[-1].arguments == call.arguments
        assert partial[-1].parsed == json.loads(call.arguments)
        assert all(call.arguments.startswith(p.arguments) for p in partial)


@pytest.mark.parametrize("arguments", ['{"x": NaN}', '{"x": Infinity}', '{"x": 1} trailing'])
def test_streamed_and_whole_answers_refuse_the_same_arguments(arguments: str) -> None:
    turn = Turn(tool_calls=[ToolCallSpec(name="f", arguments=arguments, id="c1")])
    for stream in (False, True):
        machine = started(stream=stream)
        steps = answer(machine, turn)
        (result,) = [s.result for s in steps if isinstance(s, ToolResultDone)]
        assert "not valid JSON" in result.content or "not complete JSON" in result.content
        (run,) = [s for s in steps if isinstance(s, RunTools)]
        assert run.invocations == ()
        history = machine.history.to_openai()
        assert history[1]["tool_calls"][0]["function"]["arguments"] == "{}"
        assert validate_history(history) == []


def test_the_answer_cannot_come_before_its_call_is_taken() -> None:
    """The next call is built when the events before it are out; a chunk fed before the runner
    took its ``CallModel`` is the runner's mistake, not the start of the answer."""
    machine = started()
    (invocation,) = run_tools(machine, tool_turn("f")).invocations
    machine.receive_tool_outcome(invocation, done("A"))
    machine.receive_tools_done()
    with pytest.raises(MisuseError, match="can't handle chunk"):
        machine.receive_chunk(chunks_of(Turn(text="hi"))[0])
