"""Hypothesis drives the sans-IO machine with random sequences of inputs, valid or not, with faults
(broken streams, malformed answers, oversized ones, failing tools, raising decisions, cancels) at
random points, and checks that it raises only its documented errors, that every state it reaches
is one the table allows for that input, and that the history it commits is always one the API
accepts, with the prompt in it."""

from __future__ import annotations

from typing import Any

import openai
from hypothesis import event, given
from hypothesis import strategies as st

from agentools import (
    CancelToken,
    ContentFilterError,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    MisuseError,
    ModelProtocolError,
    RunCancelled,
    ToolErrorsExceeded,
    validate_history,
)
from agentools._core import NEED_INPUT, TRANSITIONS, Decide, Machine, RunTools, State
from agentools._core.tool_calls import Invocation
from agentools.calls import ToolCall
from agentools.testing import Chunking, ToolCallSpec, Turn

from .support import broken, chunks_of, completion_of, done, g, new_machine

DOCUMENTED = (
    MisuseError,
    ModelProtocolError,  # ResponseTooLarge included
    MaxTurnsExceeded,
    ToolErrorsExceeded,
    MaxTokensExceeded,
    ContentFilterError,
    RunCancelled,
    openai.APIConnectionError,  # a broken call with no retry left
    KeyError,  # what the raise_errors tool raises
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
            name=st.sampled_from(["f", "g", "raising", "unknown"]),
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
    st.tuples(st.just("tools done"), st.just(None)),
    st.tuples(st.just("decide"), st.sampled_from([None, "keep", "continue", "raise", "bogus"])),
    st.tuples(st.just("retry"), st.just(None)),
    st.tuples(st.just("cancel"), st.just(None)),
)
# Inputs that fit each state, so that sequences get deep before (maybe) misusing the machine.
fitting = {
    State.CALLING_MODEL: st.one_of(
        st.tuples(st.just("stream"), turns, st.integers(0, 60)),
        st.tuples(st.just("complete"), turns),
        st.tuples(st.just("chunk_garbage"), garbage),
        st.tuples(st.just("retry"), st.just(None)),
        st.tuples(st.just("cancel"), st.just(None)),
    ),
    State.RUNNING_TOOLS: st.one_of(
        st.tuples(st.just("results"), st.booleans(), st.randoms(use_true_random=False)),
        st.tuples(st.just("cancel"), st.just(None)),
    ),
    State.DECIDING: st.tuples(
        st.just("decide"), st.sampled_from([None, "keep", "continue", "raise", "bogus"])
    ),
}


def take_steps(machine: Machine, pending: list[Invocation]) -> None:
    """Take the steps the machine has, noting the calls to run; leave decisions to the script."""
    while (step := machine.next_step()) is not NEED_INPUT:
        if isinstance(step, RunTools):
            pending[:] = list(step.invocations)
        if isinstance(step, Decide):
            return


def perform(machine: Machine, action: tuple[Any, ...], pending: list[Invocation]) -> None:
    kind = action[0]
    if kind == "start":
        machine.start(action[1])
    elif kind == "stream":
        _, turn, cut = action
        for chunk in chunks_of(turn, include_usage=True)[:cut]:
            machine.receive_chunk(chunk)
        machine.receive_end()
    elif kind == "complete":
        machine.receive_chunk(completion_of(action[1]))
        machine.receive_end()
    elif kind == "chunk_garbage":  # what a malformed chunk decodes to
        value = action[1] if isinstance(action[1], dict) else {"choices": action[1]}
        machine.receive_chunk(value)
    elif kind == "results":
        _, failing, random = action
        order = list(pending)
        random.shuffle(order)
        for invocation in order:
            machine.receive_tool_outcome(
                invocation, done(error=KeyError("boom")) if failing else done("x")
            )
        machine.receive_tools_done()
    elif kind == "result":
        stray = next((i for i in pending if i.call.id == action[1]), None)
        if stray is None:  # a call the machine never asked for
            call = ToolCall(index=9, id=action[1], name="g", arguments="{}")
            stray = Invocation(call=call, tool=g)
        machine.receive_tool_outcome(stray, done("x"))
    elif kind == "tools done":
        machine.receive_tools_done()
    elif kind == "decide":
        machine.decide(action[1])
    elif kind == "retry":
        machine.receive_failure(broken())
    elif kind == "cancel":
        machine.cancel()
    take_steps(machine, pending)


KIND = {
    "start": "start",
    "stream": "end",
    "complete": "end",
    "chunk_garbage": "chunk",
    "results": "tools done",
    "result": "tool result",
    "tools done": "tools done",
    "decide": "decision",
    "retry": "failure",
    "cancel": "cancel",
}


def allowed(before: State, kind: str) -> set[State]:
    """The states an input of ``kind`` may lead to from ``before``, by the table; ``ERROR`` too,
    the state any exception ends in (a fault, a misuse)."""
    targets = {t for (at, given), t in TRANSITIONS.items() if at is before and given.kind == kind}
    return targets | {State.ERROR, State.CANCELLED if kind == "cancel" else State.ERROR}


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
    machine = new_machine(cancel=CancelToken(), **settings)
    machine.start(prompt)
    pending: list[Invocation] = []
    take_steps(machine, pending)
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        state = machine.state
        misuse = state not in fitting or data.draw(st.integers(0, 9), label="misuse?") == 0
        action = data.draw(any_action if misuse else fitting[state], label=f"in {state.value}")
        try:
            perform(machine, action, pending)
        except DOCUMENTED as error:
            event(f"raised {type(error).__name__}")
            assert machine.state in (State.ERROR, State.DONE, State.CANCELLED)
        if action[0] not in ("stream", "results", "complete") and machine.state is not state:
            assert machine.state in allowed(state, KIND[action[0]]), (state, action[0])
        event(f"reached {machine.state.value}")
        final = (State.ERROR, State.DONE, State.CANCELLED)
        if machine.state in final and data.draw(st.booleans(), label="stop?"):
            break
        messages = machine.history.to_openai()
        assert validate_history(messages) == [], messages
        assert messages[0] == {"role": "user", "content": prompt}
