"""Every transition of the loop, in one table: ``TRANSITIONS[(state, input)]`` is the next state.

The machine reads an input (a chunk, the end of the model's answer, a tool's result, a decision,
...), names which case of it this is (an answer ends as a final answer, with tool calls, cut by
the token limit, ...), and looks the pair up here; nothing else sets the state. A pair that is
not in the table is a misuse of the machine (``MisuseError``). The README renders this table
(``transitions_table()``; a test keeps the two equal).

Cases whose next state is ``ERROR`` are faults the machine detects in what the model sent; any
other exception while an input is handled (a hook raising, a bug) also ends in ``ERROR``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

__all__ = ["State", "Input", "TRANSITIONS", "transitions_table"]


class State(enum.Enum):
    IDLE = "IDLE"
    CALLING_MODEL = "CALLING_MODEL"
    RECEIVING = "RECEIVING"
    RUNNING_TOOLS = "RUNNING_TOOLS"
    DECIDING = "DECIDING"
    DONE = "DONE"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"


@attrs.frozen(eq=False)
class Input:
    """What the runner fed (``kind``), and which case of it the machine found (``case``).

    Each is one of the constants below, compared by identity (a hash a chunk's look-up makes in
    C)."""

    kind: str
    case: str = ""

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.case}" if self.case else self.kind


START = Input("start")
RESUME = Input("resume", "approvals for the paused calls")
REQUEST_DECIDED = Input("decision", "before_model_call: the call to make")
STOPPED = Input("decision", "before_model_call: StopRun")
STOPPED_OUTPUT_FAILED = Input("decision", "before_model_call: StopRun, not the output type")
LIMIT_REACHED = Input("decision", "before_model_call: a token limit would be passed")
CHUNK = Input("chunk")
CHUNK_REFUSED = Input("chunk", "malformed or too large")
END_FINAL = Input("end", "final answer")
END_OUTPUT_RETRY = Input("end", "output does not fit, asked again")
END_OUTPUT_FAILED = Input("end", "output refused, or does not fit with no retry left")
END_CALLS = Input("end", "tool calls")
END_EMPTY_ANSWER = Input("end", "empty answer, asked again")
END_CUT = Input("end", "cut by the token limit")
END_FILTERED = Input("end", "content filtered")
END_REFUSED = Input("end", "incomplete or malformed")
END_EMPTY = Input("end", "nothing received")
FAILURE_RETRIED = Input("failure", "retried")
FAILURE = Input("failure", "not retried")
APPROVAL = Input("decision", "on_approval: allow or deny")
PAUSED = Input("decision", "on_approval: pause (after every call is decided)")
TOOL_RESULT = Input("tool result")
TOOL_RAISED = Input("tool result", "raised through (raise_errors)")
TOOL_INTERRUPTED = Input("tool result", "KeyboardInterrupt or SystemExit")
TOOLS_DONE = Input("tools done", "next turn")
TOOLS_DONE_LAST_TURN = Input("tools done", "no turn left")
TOOLS_DONE_FAILING = Input("tools done", "every call failed, max_tool_errors times")
KEEP = Input("decision", "keep")
KEEP_OUTPUT_RETRY = Input("decision", "keep, output does not fit, asked again")
KEEP_OUTPUT_FAILED = Input("decision", "keep, output does not fit with no retry left")
CONTINUE = Input("decision", "continue")
CONTINUE_LAST_TURN = Input("decision", "continue, no turn left")
RAISE = Input("decision", "raise")
NOT_A_DECISION = Input("decision", "not a decision")
CANCEL = Input("cancel")

_S = State
TRANSITIONS: Mapping[tuple[State, Input], State] = {
    (_S.IDLE, START): _S.CALLING_MODEL,
    (_S.IDLE, RESUME): _S.RUNNING_TOOLS,
    (_S.CALLING_MODEL, REQUEST_DECIDED): _S.CALLING_MODEL,
    (_S.CALLING_MODEL, STOPPED): _S.DONE,
    (_S.CALLING_MODEL, STOPPED_OUTPUT_FAILED): _S.DONE,
    (_S.CALLING_MODEL, LIMIT_REACHED): _S.DONE,
    (_S.CALLING_MODEL, NOT_A_DECISION): _S.ERROR,
    (_S.CALLING_MODEL, CHUNK): _S.RECEIVING,
    (_S.CALLING_MODEL, CHUNK_REFUSED): _S.ERROR,
    (_S.CALLING_MODEL, END_EMPTY): _S.ERROR,
    (_S.CALLING_MODEL, FAILURE_RETRIED): _S.CALLING_MODEL,
    (_S.CALLING_MODEL, FAILURE): _S.ERROR,
    (_S.RECEIVING, CHUNK): _S.RECEIVING,
    (_S.RECEIVING, CHUNK_REFUSED): _S.ERROR,
    (_S.RECEIVING, END_FINAL): _S.DONE,
    (_S.RECEIVING, END_OUTPUT_RETRY): _S.CALLING_MODEL,
    (_S.RECEIVING, END_OUTPUT_FAILED): _S.DONE,
    (_S.RECEIVING, END_CALLS): _S.RUNNING_TOOLS,
    (_S.RECEIVING, END_EMPTY_ANSWER): _S.CALLING_MODEL,
    (_S.RECEIVING, END_CUT): _S.DECIDING,
    (_S.RECEIVING, END_FILTERED): _S.DONE,
    (_S.RECEIVING, END_REFUSED): _S.ERROR,
    (_S.RECEIVING, FAILURE_RETRIED): _S.CALLING_MODEL,
    (_S.RECEIVING, FAILURE): _S.ERROR,
    (_S.RUNNING_TOOLS, APPROVAL): _S.RUNNING_TOOLS,
    (_S.RUNNING_TOOLS, PAUSED): _S.PAUSED,
    (_S.RUNNING_TOOLS, NOT_A_DECISION): _S.ERROR,
    (_S.RUNNING_TOOLS, TOOL_RESULT): _S.RUNNING_TOOLS,
    (_S.RUNNING_TOOLS, TOOL_RAISED): _S.DONE,
    (_S.RUNNING_TOOLS, TOOL_INTERRUPTED): _S.ERROR,
    (_S.RUNNING_TOOLS, TOOLS_DONE): _S.CALLING_MODEL,
    (_S.RUNNING_TOOLS, TOOLS_DONE_LAST_TURN): _S.DONE,
    (_S.RUNNING_TOOLS, TOOLS_DONE_FAILING): _S.DONE,
    (_S.DECIDING, KEEP): _S.DONE,
    (_S.DECIDING, KEEP_OUTPUT_RETRY): _S.CALLING_MODEL,
    (_S.DECIDING, KEEP_OUTPUT_FAILED): _S.DONE,
    (_S.DECIDING, CONTINUE): _S.CALLING_MODEL,
    (_S.DECIDING, CONTINUE_LAST_TURN): _S.DONE,
    (_S.DECIDING, RAISE): _S.DONE,
    (_S.DECIDING, NOT_A_DECISION): _S.ERROR,
    **{(state, CANCEL): _S.CANCELLED for state in _S if state not in (_S.CANCELLED, _S.ERROR)},
}
"""(state, input) -> the next state. A whole (``stream=False``) answer is the one chunk of its
answer. ``DONE`` ends the run with the answer (or ``StopRun``'s text), or with the documented
error its input names (``MaxTurnsExceeded``, ``ToolErrorsExceeded``, ``MaxTokensExceeded``,
``ContentFilterError``, ``OutputValidationError``, ``OutputRefused``, ``UsageLimitExceeded``, a
``raise_errors`` tool's exception); ``PAUSED`` with ``RunPaused`` (calls wait for approval);
``CANCELLED`` with ``RunCancelled``. A cancel is taken until
the run's end has been delivered (from ``DONE`` too, while its last events wait), and ignored
after."""

KINDS: Mapping[State, frozenset[str]] = {
    state: frozenset(given.kind for (at, given) in TRANSITIONS if at is state) for state in State
}
"""The kinds of input each state takes: any other is refused before the machine reads it."""


def transitions_table() -> str:
    """``TRANSITIONS`` as a Markdown table (the README shows it; a test keeps them equal); entries
    in a row that differ only in their state share a line."""
    lines: list[tuple[list[State], Input, State]] = []
    for (state, given), target in TRANSITIONS.items():
        if lines and lines[-1][1:] == (given, target):
            lines[-1][0].append(state)
        else:
            lines.append(([state], given, target))
    rows = ["| state | input | next state |", "|---|---|---|"]
    for states, given, target in lines:
        names = ", ".join(f"`{state.value}`" for state in states)
        rows.append(f"| {names} | {given.name} | `{target.value}` |")
    return "\n".join(rows)
