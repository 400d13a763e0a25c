"""Hypothesis drives the sans-IO machine with random sequences of inputs, valid or not, with faults
(broken streams, malformed answers, oversized ones, failing tools, raising decisions) at random
points, and checks that it raises only its documented errors and that the history it commits is
always one the API accepts, with the prompt in it."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st
from openai._models import construct_type
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agentools import (
    ContentFilterError,
    History,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    ModelProtocolError,
    ToolErrorsExceeded,
    UsageError,
    validate_history,
)
from agentools._machine import Machine, RunTools, Settings, State
from agentools.calls import ToolResult
from agentools.testing import Chunking, ToolCallSpec, Turn, render_chunks, render_completion

DOCUMENTED = (
    UsageError,
    ModelProtocolError,  # ResponseTooLarge included
    MaxTurnsExceeded,
    ToolErrorsExceeded,
    MaxTokensExceeded,
    ContentFilterError,
)

arguments = st.one_of(
    st.dictionaries(st.sampled_from(["a", "b", "path"]), st.integers() | st.text(max_size=8)).map(
        lambda value: __import__("json").dumps(value)
    ),
    st.sampled_from(['{"a": ', "[1, 2]", "", "not json"]),
)
turns = st.builds(
    Turn,
    text=st.none() | st.text(min_size=1, max_size=30),
    tool_calls=st.lists(
        st.builds(
            ToolCallSpec,
            name=st.sampled_from(["f", "g"]),
            arguments=arguments,
            id=st.sampled_from(["c1", "c2", "c3"]),
        ),
        max_size=3,
        unique_by=lambda call: call.id,
    ),
    finish_reason=st.sampled_from([None, None, None, "length", "content_filter", "stop"]),
    chunking=st.builds(Chunking, text=st.integers(1, 6), arguments=st.integers(1, 6)),
)

garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["choices", "delta", "index", "content", "tool_calls", "usage"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=10,
)
any_action = st.one_of(
    st.tuples(st.just("start"), st.text(max_size=10)),
    st.tuples(st.just("stream"), turns, st.integers(0, 60)),  # a turn, maybe cut after N chunks
    st.tuples(st.just("complete"), turns),
    st.tuples(st.just("chunk_garbage"), garbage),
    st.tuples(st.just("results"), st.booleans(), st.randoms(use_true_random=False)),
    st.tuples(st.just("result"), st.sampled_from(["c1", "c2", "c3", "zz"])),
    st.tuples(st.just("decide"), st.sampled_from([None, "keep", "continue", "raise", "bogus"])),
    st.tuples(st.just("retry"), st.just(None)),
)
# Inputs that fit each state, so that sequences get deep before (maybe) misusing the machine.
fitting = {
    State.CALLING_MODEL: st.one_of(
        st.tuples(st.just("stream"), turns, st.integers(0, 60)),
        st.tuples(st.just("complete"), turns),
        st.tuples(st.just("chunk_garbage"), garbage),
        st.tuples(st.just("retry"), st.just(None)),
    ),
    State.RUNNING_TOOLS: st.tuples(
        st.just("results"), st.booleans(), st.randoms(use_true_random=False)
    ),
    State.DECIDING: st.tuples(
        st.just("decide"), st.sampled_from([None, "keep", "continue", "raise", "bogus"])
    ),
}


def drain(machine: Machine) -> list[Any]:
    """Take the events and the next action, but leave a decision to the script."""
    steps: list[Any] = []
    while (event := machine.next_event()) is not None:
        steps.append(event)
    if machine.state is not State.DECIDING:
        steps.append(machine.next_step())
    return steps


def perform(machine: Machine, action: tuple[Any, ...], pending: list[str]) -> None:
    kind = action[0]
    if kind == "start":
        machine.start(action[1])
    elif kind == "stream":
        _, turn, cut = action
        chunks = render_chunks(turn, include_usage=True)
        for chunk in chunks[:cut]:
            machine.receive_chunk(ChatCompletionChunk.model_validate(chunk))
        machine.receive_stream_end()
    elif kind == "complete":
        machine.receive_completion(ChatCompletion.model_validate(render_completion(action[1])))
    elif kind == "chunk_garbage":  # what the SDK hands over for a malformed chunk: unvalidated
        value = action[1] if isinstance(action[1], dict) else {"choices": action[1]}
        machine.receive_chunk(construct_type(type_=ChatCompletionChunk, value=value))
    elif kind == "results":
        _, failing, random = action
        order = list(pending)
        random.shuffle(order)
        for call_id in order:
            error = RuntimeError("boom") if failing else None
            machine.receive_tool_result(ToolResult(call_id=call_id, content="x", error=error))
    elif kind == "result":
        machine.receive_tool_result(ToolResult(call_id=action[1], content="x"))
    elif kind == "decide":
        machine.decide(action[1])
    elif kind == "retry":
        machine.retry(ConnectionError("dropped"))
    for step in drain(machine):
        if isinstance(step, RunTools):
            pending[:] = [call.id for call in step.calls]


@given(
    prompt=st.text(max_size=10),
    data=st.data(),
    settings=st.fixed_dictionaries(
        {
            "max_turns": st.integers(1, 4),
            "max_tool_errors": st.integers(1, 3),
            "stream_retries": st.integers(0, 2),
            "max_text_chars": st.sampled_from([10, 1_000]),
            "max_argument_chars": st.sampled_from([5, 1_000]),
        }
    ),
)
def test_random_inputs_raise_only_documented_errors_and_keep_the_history_valid(
    prompt: str, data: st.DataObject, settings: dict[str, int]
) -> None:
    machine = Machine(Settings(model="m", **settings), History())
    machine.start(prompt)
    pending: list[str] = []
    drain(machine)
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        state = machine.state
        misuse = state not in fitting or data.draw(st.integers(0, 9), label="misuse?") == 0
        action = data.draw(any_action if misuse else fitting[state], label=f"in {state.value}")
        try:
            perform(machine, action, pending)
        except DOCUMENTED as error:
            event(f"raised {type(error).__name__}")
            assert machine.state in (State.ERROR, State.DONE)
        event(f"reached {machine.state.value}")
        if machine.state in (State.ERROR, State.DONE) and data.draw(st.booleans(), label="stop?"):
            break
        messages = machine.history.to_openai()
        assert validate_history(messages) == [], messages
        assert messages[0] == {"role": "user", "content": prompt}
