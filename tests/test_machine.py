"""The sans-IO machine on its own: transitions, accumulation, and what it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agentools import History, ModelProtocolError, UsageError
from agentools._machine import (
    CHUNK,
    COMPLETION,
    DECISION,
    NEED_INPUT,
    RETRY,
    START,
    STREAM_END,
    TOOL_RESULT,
    TRANSITIONS,
    CallModel,
    Finished,
    Machine,
    RunTools,
    Settings,
    State,
    _Input,
)
from agentools.calls import ToolResult
from agentools.events import Event, TextDelta, ToolCallDelta
from agentools.testing import Chunking, ToolCallSpec, Turn, render_chunks, render_completion

ALL_INPUTS = (START, CHUNK, STREAM_END, COMPLETION, TOOL_RESULT, DECISION, RETRY)


def chunks_of(turn: Turn, **kwargs: Any) -> list[ChatCompletionChunk]:
    return [ChatCompletionChunk.model_validate(c) for c in render_chunks(turn, **kwargs)]


def completion_of(turn: Turn) -> ChatCompletion:
    return ChatCompletion.model_validate(render_completion(turn))


def drain(machine: Machine) -> Iterator[Any]:
    while (step := machine.next_step()) is not NEED_INPUT:
        yield step
        if isinstance(step, (CallModel, RunTools, Finished)):
            return


def started(stream: bool = True, **settings: Any) -> Machine:
    machine = Machine(Settings(model="m", stream=stream, **settings), History())
    machine.start("hello")
    steps = list(drain(machine))
    assert isinstance(steps[-1], CallModel)
    return machine


def stream_turn(machine: Machine, turn: Turn) -> list[Any]:
    steps: list[Any] = []
    for chunk in chunks_of(turn, include_usage=True):
        machine.receive_chunk(chunk)
        while (event := machine.next_event()) is not None:
            steps.append(event)
    machine.receive_stream_end()
    steps.extend(drain(machine))
    return steps


def machine_in(state: State) -> Machine:
    if state is State.IDLE:
        return Machine(Settings(model="m", stream_retries=1), History())
    machine = started(stream_retries=1)
    if state is State.STREAMING:
        machine.receive_chunk(chunks_of(Turn(text="hi"))[0])
    elif state is State.RUNNING_TOOLS:
        stream_turn(machine, Turn(tool_calls=[ToolCallSpec(name="f", id="call_0")]))
    elif state is State.DONE:
        stream_turn(machine, Turn(text="hi"))
    elif state is State.DECIDING:
        for chunk in chunks_of(Turn(text="hi", finish_reason="length")):
            machine.receive_chunk(chunk)
        machine.receive_stream_end()
    elif state is State.ERROR:
        with pytest.raises(UsageError):
            machine.start("again")
    assert machine.state is state
    return machine


def feed(machine: Machine, given: _Input) -> None:
    if given is START:
        machine.start("x")
    elif given is CHUNK:
        machine.receive_chunk(chunks_of(Turn(text="hi"))[0])
    elif given is STREAM_END:
        machine.receive_stream_end()
    elif given is COMPLETION:
        machine.receive_completion(completion_of(Turn(text="hi")))
    elif given is TOOL_RESULT:
        machine.receive_tool_result(ToolResult(call_id="call_0", content="ok"))
    elif given is DECISION:
        machine.decide("keep")
    else:
        machine.retry(ConnectionError("dropped"))


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("given", ALL_INPUTS, ids=lambda given: given.name)
def test_every_input_outside_the_table_is_refused(state: State, given: _Input) -> None:
    machine = machine_in(state)
    if (state, given) in TRANSITIONS:
        try:
            feed(machine, given)
        except ModelProtocolError:  # a stream that ended before any chunk
            assert machine.state is State.ERROR
        else:
            assert machine.state in TRANSITIONS[state, given]
    else:
        with pytest.raises(UsageError, match=f"can't handle {given.name} in state {state.value}"):
            feed(machine, given)
        assert machine.state is State.ERROR


def test_request_asks_for_usage_when_streaming() -> None:
    machine = Machine(
        Settings(model="m", stream=True, params={"stream_options": {"x": 1}}), History()
    )
    machine.start("hi")
    call = next(step for step in drain(machine) if isinstance(step, CallModel))
    assert call.request["stream_options"] == {"x": 1, "include_usage": True}
    assert call.request["messages"] == [{"role": "user", "content": "hi"}]


def test_empty_stream_is_the_models_fault_and_keeps_the_prompt() -> None:
    machine = started()
    with pytest.raises(ModelProtocolError, match="before any chunk"):
        machine.receive_stream_end()
    assert machine.state is State.ERROR
    assert machine.history.to_openai() == [{"role": "user", "content": "hello"}]


def test_stream_without_finish_reason_is_refused_and_nothing_half_written_is_kept() -> None:
    machine = started()
    for chunk in chunks_of(Turn(text="half an ans"))[:-1]:
        machine.receive_chunk(chunk)
    with pytest.raises(ModelProtocolError, match="finish_reason"):
        machine.receive_stream_end()
    assert machine.history.to_openai() == [{"role": "user", "content": "hello"}]


def test_follows_choice_zero() -> None:
    machine = started()
    turn = Turn(
        text="zero", extra_choices=[Turn(text="one"), Turn(tool_calls=[ToolCallSpec(name="g")])]
    )
    steps = stream_turn(machine, turn)
    assert [s.delta for s in steps if isinstance(s, TextDelta)] == ["zero"]
    assert not any(isinstance(s, ToolCallDelta) for s in steps)
    assert isinstance(steps[-1], Finished)
    assert steps[-1].text == "zero"


def test_tool_results_in_any_order_are_committed_in_call_order() -> None:
    machine = started()
    turn = Turn(tool_calls=[ToolCallSpec(name="f", id="a"), ToolCallSpec(name="g", id="b")])
    steps = stream_turn(machine, turn)
    assert isinstance(steps[-1], RunTools)
    machine.receive_tool_result(ToolResult(call_id="b", content="B"))
    assert len(machine.history) == 1  # nothing committed until every call is answered
    with pytest.raises(UsageError, match="'b'"):
        Machine.receive_tool_result(machine, ToolResult(call_id="b", content="again"))
    machine = started()
    stream_turn(machine, turn)
    machine.receive_tool_result(ToolResult(call_id="b", content="B"))
    machine.receive_tool_result(ToolResult(call_id="a", content="A"))
    # Committed as soon as the last answer is in: the tools have run.
    assert [m.get("tool_call_id") for m in machine.history.to_openai()] == [None, None, "a", "b"]
    assert isinstance(list(drain(machine))[-1], CallModel)


def test_a_final_answer_is_committed_once_its_events_are_delivered() -> None:
    machine = started()
    for chunk in chunks_of(Turn(text="done")):
        machine.receive_chunk(chunk)
    machine.receive_stream_end()
    assert len(machine.history) == 1  # a hook raising on its events would leave it out
    steps = list(drain(machine))
    assert [type(step).__name__ for step in steps][-2:] == ["ResponseEnd", "Finished"]
    assert machine.history.to_openai()[-1] == {"role": "assistant", "content": "done"}


def test_max_turns_raises_after_the_last_results_with_history_answered() -> None:
    from agentools import MaxTurnsExceeded

    machine = started(max_turns=1)
    stream_turn(machine, Turn(tool_calls=[ToolCallSpec(name="f", id="a")]))
    machine.receive_tool_result(ToolResult(call_id="a", content="A"))
    events = [machine.next_step()]
    with pytest.raises(MaxTurnsExceeded):
        machine.next_step()
    assert [type(e).__name__ for e in events] == ["ToolResultDone"]
    assert [m["role"] for m in machine.history.to_openai()] == ["user", "assistant", "tool"]


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
        Chunking,
        text=st.integers(1, 9),
        name=st.integers(0, 4),
        arguments=st.integers(1, 9),
    ),
)


@given(turns)
def test_streamed_and_whole_answers_accumulate_to_the_same_message(turn: Turn) -> None:
    streamed = started(stream=True)
    whole = started(stream=False)
    events: list[Event] = []
    for chunk in chunks_of(turn, include_usage=True):
        streamed.receive_chunk(chunk)
        while (event := streamed.next_event()) is not None:
            events.append(event)
    streamed.receive_stream_end()
    whole.receive_completion(completion_of(turn))
    from_stream, from_completion = list(drain(streamed)), list(drain(whole))

    assert from_stream == from_completion
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == (turn.text or "")
    for call in turn.tool_calls:
        partial = [e.call for e in events if isinstance(e, ToolCallDelta) and e.call.id == call.id]
        assert partial[-1].name == call.name
        assert partial[-1].arguments == call.arguments
        assert partial[-1].parsed == json.loads(call.arguments)
        assert all(call.arguments.startswith(p.arguments) for p in partial)


def test_the_readme_shows_the_transition_table_as_it_is() -> None:
    from pathlib import Path

    from agentools._machine import transitions_table

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert transitions_table() in readme


@pytest.mark.parametrize("arguments", ['{"x": NaN}', '{"x": Infinity}', '{"x": 1} trailing'])
def test_streamed_and_whole_answers_refuse_the_same_arguments(arguments: str) -> None:
    from agentools import validate_history

    turn = Turn(tool_calls=[ToolCallSpec(name="f", arguments=arguments, id="c1")])
    whole = started(stream=False)
    whole.receive_completion(completion_of(turn))
    streamed = started(stream=True)
    for chunk in chunks_of(turn):
        streamed.receive_chunk(chunk)
    streamed.receive_stream_end()
    for machine in (whole, streamed):
        (run_tools,) = [step for step in drain(machine) if isinstance(step, RunTools)]
        (call,) = run_tools.calls
        assert call.arguments_error is not None
        assert call.parsed == {}
        machine.receive_tool_result(ToolResult(call_id="c1", content="refused"))
        history = machine.history.to_openai()
        assert history[1]["tool_calls"][0]["function"]["arguments"] == "{}"
        assert validate_history(history) == []
