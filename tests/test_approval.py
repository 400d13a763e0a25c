"""Tool calls that wait for approval (``needs_approval``, ``Hooks.on_approval``), under both
runners, through the loopback server: allowed, denied, edited, parallel, streaming tools and
previews, the pause and its resumption (in this process and after a restart), and misuse."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import attrs
import pytest

from agentools import (
    PAUSE,
    Allow,
    ArgumentSnapshot,
    ArgumentStream,
    AsyncHookError,
    CancelToken,
    Deny,
    FunctionTool,
    History,
    Hooks,
    MisuseError,
    PendingApprovals,
    RunCancelled,
    RunPaused,
    ToolCall,
    ToolDenied,
    ToolErrorsExceeded,
    ToolResult,
    function_tool,
    validate_history,
)
from agentools.approval import DENIED_MESSAGE
from agentools.hooks import RecordingHooks
from agentools.messages import AssistantMessage, ToolMessage, UserMessage
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner

# -- tools, turns and hooks --------------------------------------------------------------------

DONE = Turn(text="Done.")


def transfer_tool(ran: list[dict[str, Any]], **options: Any) -> FunctionTool[..., str]:
    """``transfer``, which needs approval (or what ``options`` say): each run is noted in
    ``ran``."""
    options.setdefault("needs_approval", True)

    @function_tool(**options)
    def transfer(to: str, amount: int) -> str:
        """Send money to someone."""
        ran.append({"to": to, "amount": amount})
        return f"sent {amount} to {to}"

    return transfer


def transfer_call(call_id: str, to: str = "bob", amount: int = 5) -> ToolCallSpec:
    return ToolCallSpec(name="transfer", arguments={"to": to, "amount": amount}, id=call_id)


def calls_turn(*calls: ToolCallSpec) -> Turn:
    return Turn(tool_calls=list(calls), chunking=Chunking(arguments=4))


class Approver(RecordingHooks):
    """Records every hook call; ``on_approval`` answers from ``answers`` by call id (``default``
    for the others), or calls ``answers`` if it is a function of the call."""

    def __init__(self, answers: Any = None, default: object = True) -> None:
        super().__init__()
        self.answers = {} if answers is None else answers
        self.default = default

    def on_approval(self, call: ToolCall) -> Any:
        self.calls.append(("on_approval", (call,)))
        if callable(self.answers):
            return self.answers(call)
        return self.answers.get(call.id, self.default)

    @property
    def asked(self) -> list[str]:
        """The ids of the calls ``on_approval`` was asked about, in order."""
        return [call.id for (call,) in self.args_of("on_approval")]

    def results(self) -> dict[str, ToolResult]:
        return {call.id: result for call, result in self.args_of("on_tool_result")}


def tool_messages(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The tool messages of a recorded request, by call id."""
    return {m["tool_call_id"]: m["content"] for m in messages if m["role"] == "tool"}


def assert_valid(history: History) -> None:
    assert validate_history(history) == []


def assert_only_the_prompt(history: History, prompt: str) -> None:
    """The history of a run stopped before its model message was kept: the prompt alone."""
    assert list(history) == [UserMessage(content=prompt)]
    assert_valid(history)


# -- allowed, denied, edited -----------------------------------------------------------------------


@pytest.mark.parametrize("approval", [True, Allow()], ids=["True", "Allow()"])
def test_an_allowed_call_runs(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, approval: object
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), DONE)
    hooks = Approver(default=approval)

    assert runner.run(bot(tools=[transfer_tool(ran)], stream=stream), "pay", hooks=hooks) == "Done."

    assert ran == [{"to": "bob", "amount": 5}]
    assert hooks.asked == ["c1"]
    (call,) = hooks.args_of("on_approval")[0]
    assert call.name == "transfer"
    assert call.parsed == {"to": "bob", "amount": 5}
    assert tool_messages(server.requests[1].messages) == {"c1": "sent 5 to bob"}
    assert hooks.results()["c1"].error is None


@pytest.mark.parametrize(
    ("approval", "message"),
    [
        (False, DENIED_MESSAGE),
        (None, DENIED_MESSAGE),
        (Deny(), DENIED_MESSAGE),
        (
            Deny("Bob is not a payee; ask the user first."),
            "Bob is not a payee; ask the user first.",
        ),
    ],
    ids=["False", "None", "Deny()", "Deny(message)"],
)
def test_a_denied_call_does_not_run_and_the_model_reads_why(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    stream: bool,
    approval: object,
    message: str,
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), DONE)
    hooks = Approver(default=approval)
    assistant = bot(tools=[transfer_tool(ran)], stream=stream)

    assert runner.run(assistant, "pay", hooks=hooks) == "Done."

    assert ran == []
    assert tool_messages(server.requests[1].messages) == {"c1": message}
    result = hooks.results()["c1"]
    assert isinstance(result.error, ToolDenied)
    assert result.content == message
    assert str(result.error) == message
    assert_valid(assistant.history)


def test_without_on_approval_every_call_is_denied(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), DONE, calls_turn(transfer_call("c2")), DONE)

    assert runner.run(bot(tools=[transfer_tool(ran)]), "pay") == "Done."  # no hooks at all
    assert runner.run(bot(tools=[transfer_tool(ran)], hooks=Hooks()), "pay") == "Done."

    assert ran == []
    assert tool_messages(server.requests[1].messages) == {"c1": DENIED_MESSAGE}
    assert tool_messages(server.requests[3].messages) == {"c2": DENIED_MESSAGE}


def test_allowed_with_edited_arguments_runs_with_them_and_the_history_says_so(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1", amount=500)), DONE)
    hooks = Approver(default=Allow(arguments={"to": "bob", "amount": 50}))
    assistant = bot(tools=[transfer_tool(ran)], stream=stream)

    assert runner.run(assistant, "pay", hooks=hooks) == "Done."

    assert ran == [{"to": "bob", "amount": 50}]
    (asked,) = hooks.args_of("on_approval")[0]
    assert asked.parsed == {"to": "bob", "amount": 500}  # the hook saw the model's call
    (ran_call, result) = hooks.args_of("on_tool_result")[0]
    assert ran_call.parsed == {"to": "bob", "amount": 50}
    assert result.content == "sent 50 to bob"
    # The history (and so the next request) records the call as it ran.
    message = assistant.history[1]
    assert isinstance(message, AssistantMessage)
    assert json.loads(message.tool_calls[0].arguments) == {"to": "bob", "amount": 50}
    sent = server.requests[1].messages[1]
    assert json.loads(sent["tool_calls"][0]["function"]["arguments"]) == {"to": "bob", "amount": 50}
    assert_valid(assistant.history)


def test_edited_arguments_that_do_not_fit_the_tool_are_the_model_s_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), DONE)
    hooks = Approver(default=Allow(arguments={"to": "bob"}))  # amount missing
    assistant = bot(tools=[transfer_tool(ran)])

    assert runner.run(assistant, "pay", hooks=hooks) == "Done."

    assert ran == []
    assert "amount" in tool_messages(server.requests[1].messages)["c1"]
    assert_valid(assistant.history)


def test_a_predicate_decides_which_calls_need_approval(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("small", amount=5), transfer_call("big", amount=500)), DONE)
    hooks = Approver(default=False)
    tool = transfer_tool(ran, needs_approval=lambda call: call.parsed["amount"] > 100)

    assert runner.run(bot(tools=[tool], stream=stream), "pay", hooks=hooks) == "Done."

    assert hooks.asked == ["big"]
    assert ran == [{"to": "bob", "amount": 5}]
    assert tool_messages(server.requests[1].messages) == {
        "small": "sent 5 to bob",
        "big": DENIED_MESSAGE,
    }


def test_needs_approval_must_be_a_bool_or_a_function() -> None:
    from agentools import ToolDefinitionError

    with pytest.raises(ToolDefinitionError, match="needs_approval"):
        transfer_tool([], needs_approval="yes")


# -- parallel calls --------------------------------------------------------------------------------


def test_parallel_calls_are_each_decided_then_run_together(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[dict[str, Any]] = []
    looked_up: list[list[str]] = []
    hooks = Approver({"c1": True, "c3": Deny("Not Carol.")})

    @function_tool
    def balance() -> str:
        """The account's balance."""
        looked_up.append(hooks.asked)  # what had been asked when it ran
        return "100"

    server.add(
        calls_turn(
            transfer_call("c1", to="bob"),
            ToolCallSpec(name="balance", id="c2"),
            transfer_call("c3", to="carol"),
        ),
        DONE,
    )
    assistant = bot(tools=[transfer_tool(ran), balance], stream=stream)

    assert runner.run(assistant, "pay", hooks=hooks) == "Done."

    assert ran == [{"to": "bob", "amount": 5}]
    assert looked_up == [["c1", "c3"]]  # it ran once every call was decided, not before
    names = [n for n in hooks.names() if n in ("on_tool_call", "on_approval", "on_tool_result")]
    # Every call is announced, then each one needing approval is asked on its own, in order,
    # then they run (their results come in any order).
    assert names == ["on_tool_call"] * 3 + ["on_approval"] * 2 + ["on_tool_result"] * 3
    assert [call.id for (call,) in hooks.args_of("on_tool_call")] == ["c1", "c2", "c3"]
    assert hooks.asked == ["c1", "c3"]
    assert tool_messages(server.requests[1].messages) == {
        "c1": "sent 5 to bob",
        "c2": "100",
        "c3": "Not Carol.",
    }
    assert_valid(assistant.history)


def test_the_events_ask_for_each_approval_after_the_calls_are_announced(
    server: FakeOpenAIServer, bot: Bot
) -> None:
    from agentools.events import ApprovalRequest, ToolCallDone, ToolResultDone

    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1"), transfer_call("c2")), DONE)
    assistant = bot(tools=[transfer_tool(ran)], hooks=Approver({"c2": False}))

    with assistant.response_events("pay") as events:
        kinds = [
            (type(e).__name__, e.call.id)
            for e in events
            if isinstance(e, (ToolCallDone, ApprovalRequest, ToolResultDone))
        ]

    assert kinds[:4] == [
        ("ToolCallDone", "c1"),
        ("ToolCallDone", "c2"),
        ("ApprovalRequest", "c1"),
        ("ApprovalRequest", "c2"),
    ]
    assert sorted(kinds[4:]) == [("ToolResultDone", "c1"), ("ToolResultDone", "c2")]
    assert ran == [{"to": "bob", "amount": 5}]


# -- streaming tools and previews ------------------------------------------------------------------

CONTENT = "line one\nline two\n" * 8
WRITE = {"path": "notes.txt", "content": CONTENT}


@attrs.frozen
class WriteFile:
    path: str
    content: str


def write_turn(call_id: str = "w1") -> Turn:
    return Turn(
        tool_calls=[ToolCallSpec(name="write_file", arguments=WRITE, id=call_id)],
        chunking=Chunking(arguments=4),
    )


@pytest.fixture
def no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hand over a snapshot whenever a preview is ready, so that it sees many of them.
    monkeypatch.setattr(ArgumentStream, "interval", 0.0)


@pytest.mark.parametrize("approval", [True, False])
def test_a_streaming_tool_needing_approval_starts_only_once_allowed(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, approval: bool
) -> None:
    hooks = Approver(default=approval)
    started: list[list[str]] = []
    seen: list[ArgumentSnapshot] = []

    @function_tool(needs_approval=True)
    def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file as its content streams in."""
        started.append(hooks.names())
        seen.extend(args)
        return f"wrote {len(args.final.content)} characters to {args.final.path}"

    server.add(write_turn(), DONE)
    assistant = bot(tools=[write_file], stream=stream)

    assert runner.run(assistant, "write", hooks=hooks) == "Done."

    if not approval:
        assert started == []
        assert tool_messages(server.requests[1].messages) == {"w1": DENIED_MESSAGE}
        return
    (names,) = started
    assert "on_approval" in names  # asked before it started
    assert names.index("on_tool_call") < names.index("on_approval")
    # It starts with the arguments complete: one snapshot, the final one.
    assert seen == [ArgumentSnapshot(arguments=WRITE, complete=frozenset(WRITE), done=True)]
    assert tool_messages(server.requests[1].messages) == {
        "w1": f"wrote {len(CONTENT)} characters to notes.txt"
    }


def test_a_streaming_tool_runs_with_edited_arguments(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool(needs_approval=True)
    def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file."""
        for _ in args:
            pass
        return f"wrote {args.final.path}"

    server.add(write_turn(), DONE)
    hooks = Approver(default=Allow(arguments={"path": "safe.txt", "content": "x"}))
    assistant = bot(tools=[write_file])

    assert runner.run(assistant, "write", hooks=hooks) == "Done."

    assert tool_messages(server.requests[1].messages) == {"w1": "wrote safe.txt"}


def test_a_streaming_tool_whose_predicate_says_no_approval_runs(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool(needs_approval=lambda call: call.parsed.get("path") == "/etc/passwd")
    def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file."""
        for _ in args:
            pass
        return f"wrote {args.final.path}"

    server.add(write_turn(), DONE)
    hooks = Approver()

    assert runner.run(bot(tools=[write_file]), "write", hooks=hooks) == "Done."

    assert hooks.asked == []
    assert tool_messages(server.requests[1].messages) == {"w1": "wrote notes.txt"}


@pytest.mark.usefixtures("no_throttle")
@pytest.mark.parametrize("approval", [True, False])
def test_the_preview_of_a_tool_needing_approval_still_sees_its_arguments_stream(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, approval: bool
) -> None:
    log: list[str] = []
    snapshots: list[ArgumentSnapshot] = []
    first_shown = threading.Event()

    @function_tool(needs_approval=True)
    def write_file(path: str, content: str) -> str:
        """Writes a file."""
        log.append("tool")
        return "written"

    @write_file.preview
    def show(snapshot: ArgumentSnapshot) -> None:
        snapshots.append(snapshot)
        if not first_shown.is_set():
            log.append("preview")
            first_shown.set()

    def decide(call: ToolCall) -> bool:
        first_shown.wait(5)  # a preview thread may start late; it must not be skipped
        log.append("approval")
        return approval

    server.add(write_turn(), DONE)
    assert runner.run(bot(tools=[write_file], stream=stream), "write", hooks=Approver(decide)) == (
        "Done."
    )

    assert log == ["preview", "approval", *(["tool"] if approval else [])]
    assert snapshots[-1] == ArgumentSnapshot(arguments=WRITE, complete=frozenset(WRITE), done=True)
    if stream:
        assert any(not s.done for s in snapshots)  # it saw them grow


# -- the pause, and going on ----------------------------------------------------------------------


def pause_of(runner: Runner, assistant: Any, prompt: str, hooks: Hooks) -> RunPaused:
    with pytest.raises(RunPaused) as raised:
        runner.run(assistant, prompt, hooks=hooks)
    return raised.value


def test_pause_stops_the_run_before_anything_of_the_message_runs(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1", to="bob"), transfer_call("c2", to="carol")))
    hooks = Approver({"c1": Allow(arguments={"to": "bob", "amount": 1}), "c2": PAUSE})
    assistant = bot(tools=[transfer_tool(ran)], stream=stream)

    paused = pause_of(runner, assistant, "pay", hooks)

    assert ran == []  # not even the allowed one
    assert hooks.asked == ["c1", "c2"]
    assert "on_tool_result" not in hooks.names()
    assert hooks.names()[-1] == "on_response_error"
    assert hooks.args_of("on_response_error") == [(paused,)]
    pending = paused.pending
    assert isinstance(pending, PendingApprovals)
    assert assistant.pending is pending
    assert pending.waiting == ("c2",)
    assert [call.id for call in pending.waiting_calls] == ["c2"]
    assert [call.id for call in pending.calls] == ["c1", "c2"]
    assert pending.decided == {"c1": Allow(arguments={"to": "bob", "amount": 1})}
    assert pending.turn == 1
    assert pending.message.tool_calls[1].name == "transfer"
    assert "transfer (c2)" in str(paused)
    # The history is the prompt alone: valid, without the pending message.
    assert_only_the_prompt(assistant.history, "pay")
    assert assistant.last_result is not None
    assert assistant.last_result.error is paused
    assert len(server.requests) == 1


def test_resume_in_process_runs_the_calls_with_their_decisions(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(
        calls_turn(transfer_call("c1", to="bob"), transfer_call("c2", to="carol")),
        Turn(text="Paid Bob."),
    )
    first = Approver({"c1": Allow(arguments={"to": "bob", "amount": 1}), "c2": PAUSE})
    assistant = bot(tools=[transfer_tool(ran)])
    pause_of(runner, assistant, "pay", first)

    second = Approver()
    answer = runner.run(assistant, None, hooks=second, approvals={"c2": Deny("Not Carol.")})

    assert answer == "Paid Bob."
    assert second.asked == []  # c1 kept its decision, c2 took the given one
    assert ran == [{"to": "bob", "amount": 1}]
    assert assistant.pending is None
    assert second.names()[0] == "on_response_start"
    assert second.args_of("on_response_start")[0][0] == "pay"
    assert tool_messages(server.requests[1].messages) == {
        "c1": "sent 1 to bob",
        "c2": "Not Carol.",
    }
    assert isinstance(second.results()["c2"].error, ToolDenied)
    history = list(assistant.history)
    assert [type(m) for m in history] == [
        UserMessage,
        AssistantMessage,
        ToolMessage,
        ToolMessage,
        AssistantMessage,
    ]
    assert isinstance(history[1], AssistantMessage)
    assert json.loads(history[1].tool_calls[0].arguments) == {"to": "bob", "amount": 1}
    assert_valid(assistant.history)


def test_resume_after_a_restart_from_the_json_of_history_and_pending(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(
        Turn(text="Looking.", tool_calls=[transfer_call("c1"), transfer_call("c2", to="carol")]),
        DONE,
    )
    hooks = Approver({"c1": Allow(arguments={"to": "bob", "amount": 2}), "c2": PAUSE})
    before = bot(tools=[transfer_tool(ran)])
    paused = pause_of(runner, before, "pay", hooks)
    stored_history = before.history.to_json()
    stored_pending = paused.pending.to_json()
    del before

    # Another process: what was stored is all it has.
    pending = PendingApprovals.from_json(stored_pending)
    assert pending == paused.pending
    after = bot(tools=[transfer_tool(ran)], history=History.from_json(stored_history))
    after.pending = pending
    assert runner.run(after, None, approvals={"c2": True}, hooks=Approver()) == "Done."

    assert ran == [{"to": "bob", "amount": 2}, {"to": "carol", "amount": 5}]
    assert tool_messages(server.requests[1].messages) == {
        "c1": "sent 2 to bob",
        "c2": "sent 5 to carol",
    }
    assert server.requests[1].messages[1]["content"] == "Looking."
    assert after.pending is None
    assert_valid(after.history)


def test_pending_approvals_json_round_trip() -> None:
    message = History.from_openai(
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "transfer", "arguments": '{"amount": 5}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "transfer", "arguments": '{"amount": 7}'},
                    },
                ],
            }
        ]
    )[0]
    assert isinstance(message, AssistantMessage)
    pending = PendingApprovals(
        message=message,
        waiting=("c2",),
        decided={"c1": Deny("no")},
        turn=3,
    )
    again = PendingApprovals.from_json(pending.to_json())
    assert again == pending
    assert [call.parsed for call in again.calls] == [{"amount": 5}, {"amount": 7}]
    for decided in (Allow(), Allow(arguments={"amount": 1}), Deny()):
        pending = attrs.evolve(pending, decided={"c1": decided})
        assert PendingApprovals.from_json(pending.to_json()) == pending


@pytest.mark.parametrize("text", ["", "{}", "[1]", '{"message": {"role": "user", "content": "x"}}'])
def test_pending_approvals_from_json_refuses_what_is_not_one(text: str) -> None:
    from agentools import HistoryError

    with pytest.raises(HistoryError):
        PendingApprovals.from_json(text)


def test_resume_asks_on_approval_for_the_waiting_calls_left_out(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(
        calls_turn(
            transfer_call("c1", to="ann"),
            transfer_call("c2", to="bob"),
            transfer_call("c3", to="carol"),
        ),
        DONE,
    )
    assistant = bot(tools=[transfer_tool(ran)])
    paused = pause_of(runner, assistant, "pay", Approver(default=PAUSE))
    assert paused.pending.waiting == ("c1", "c2", "c3")

    again = Approver({"c3": False})
    assert runner.run(assistant, None, approvals={"c2": True}, hooks=again) == "Done."

    assert again.asked == ["c1", "c3"]
    assert sorted(r["to"] for r in ran) == ["ann", "bob"]
    assert tool_messages(server.requests[1].messages)["c3"] == DENIED_MESSAGE


def test_a_resumed_run_may_pause_again(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1"), transfer_call("c2")), DONE)
    assistant = bot(tools=[transfer_tool(ran)])
    pause_of(runner, assistant, "pay", Approver(default=PAUSE))

    with pytest.raises(RunPaused) as raised:
        runner.run(assistant, None, approvals={"c1": True}, hooks=Approver(default=PAUSE))
    assert raised.value.pending.waiting == ("c2",)
    assert raised.value.pending.decided == {"c1": Allow()}
    assert assistant.pending is raised.value.pending
    assert ran == []
    assert_only_the_prompt(assistant.history, "pay")

    assert runner.run(assistant, None, approvals={"c2": True}) == "Done."
    assert len(ran) == 2


def test_a_resumed_run_goes_on_counting_turns(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    from agentools import MaxTurnsExceeded

    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), DONE)
    assistant = bot(tools=[transfer_tool(ran)], max_turns=1)
    pause_of(runner, assistant, "pay", Approver(default=PAUSE))

    with pytest.raises(MaxTurnsExceeded):
        runner.run(assistant, None, approvals={"c1": True})

    assert ran == [{"to": "bob", "amount": 5}]  # the call ran; a second model call would not fit
    assert len(server.requests) == 1
    assert_valid(assistant.history)


def test_a_new_prompt_after_a_pause_leaves_the_paused_message_behind(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), Turn(text="Never mind then."))
    assistant = bot(tools=[transfer_tool(ran)])
    pause_of(runner, assistant, "pay", Approver(default=PAUSE))

    assert runner.run(assistant, "forget it") == "Never mind then."

    assert assistant.pending is None
    assert ran == []
    sent = server.requests[1].messages
    assert [m["role"] for m in sent] == ["user", "user"]
    assert all("tool_calls" not in m for m in sent)
    assert_valid(assistant.history)
    with pytest.raises(MisuseError, match="none is pending"):
        runner.run(assistant, None, approvals={"c1": True})


def test_a_call_whose_arguments_were_not_json_stays_refused_after_a_restart(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    """The paused message stores such a call's arguments as "{}", as the history does; the
    pending state remembers why, so the resumed run tells the model, and does not run the tool
    with no arguments."""
    ran: list[dict[str, Any]] = []
    noted: list[str] = []

    @function_tool
    def note(text: str = "(none)") -> str:
        """Write a note."""
        noted.append(text)
        return "noted"

    server.add(
        calls_turn(
            transfer_call("c1"),
            ToolCallSpec(name="note", arguments='{"text": "unfinished', id="c2"),
        )
    )
    assistant = bot(tools=[transfer_tool(ran), note], stream=stream)
    paused = pause_of(runner, assistant, "pay", Approver(default=PAUSE))
    stored = paused.pending.to_json()

    server.add(Turn(text="Done."))
    restarted = bot(
        tools=[transfer_tool(ran), note],
        stream=stream,
        history=History.from_json(assistant.history.to_json()),
    )
    restarted.pending = PendingApprovals.from_json(stored)
    assert runner.run(restarted, None, approvals={"c1": True}) == "Done."

    assert ran == [{"to": "bob", "amount": 5}]
    assert noted == []
    told = tool_messages(server.requests[-1].messages)
    assert told["c1"] == "sent 5 to bob"
    assert told["c2"].startswith("Error: MalformedArgumentsError: ")
    assert_valid(restarted.history)


# -- misuse ---------------------------------------------------------------------------------------


def test_resuming_with_an_unknown_id_is_misuse_and_keeps_the_pause(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")), DONE)
    assistant = bot(tools=[transfer_tool(ran)])
    paused = pause_of(runner, assistant, "pay", Approver(default=PAUSE))

    with pytest.raises(MisuseError, match="'nope'"):
        runner.run(assistant, None, approvals={"nope": True})
    with pytest.raises(MisuseError, match="approvals"):
        runner.run(assistant, None, approvals={"c1": "yes"})

    assert assistant.pending is paused.pending
    assert_only_the_prompt(assistant.history, "pay")
    assert runner.run(assistant, None, approvals={"c1": True}) == "Done."
    assert ran == [{"to": "bob", "amount": 5}]


def test_approvals_without_a_pause_is_misuse(bot: Bot, runner: Runner) -> None:
    assistant = bot()
    with pytest.raises(MisuseError, match="none is pending"):
        runner.run(assistant, None, approvals={"c1": True})
    assert list(assistant.history) == []


def test_a_prompt_and_approvals_together_is_misuse(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")))
    assistant = bot(tools=[transfer_tool(ran)])
    paused = pause_of(runner, assistant, "pay", Approver(default=PAUSE))

    with pytest.raises(MisuseError, match="not both"):
        runner.run(assistant, "and this", approvals={"c1": True})
    with pytest.raises(MisuseError, match="needs a prompt"):
        runner.run(assistant, None)

    assert assistant.pending is paused.pending
    assert_only_the_prompt(assistant.history, "pay")


@pytest.mark.parametrize("answer", ["yes", 1, {"allow": True}, Allow])
def test_on_approval_returning_what_it_may_not_is_misuse(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, answer: object
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1")))
    assistant = bot(tools=[transfer_tool(ran)])

    with pytest.raises(MisuseError, match="on_approval"):
        runner.run(assistant, "pay", hooks=Approver(default=answer))

    assert ran == []
    assert assistant.pending is None
    assert_only_the_prompt(assistant.history, "pay")


def test_cancelling_while_deciding_runs_nothing(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1"), transfer_call("c2")))
    token = CancelToken()

    def decide(call: ToolCall) -> bool:
        token.cancel()  # the user closed the dialog
        return True

    hooks = Approver(decide)
    assistant = bot(tools=[transfer_tool(ran)])

    with pytest.raises(RunCancelled):
        runner.run(assistant, "pay", hooks=hooks, cancel=token)

    assert ran == []
    assert hooks.asked == ["c1"]  # not asked again after the cancel
    assert assistant.pending is None
    assert_only_the_prompt(assistant.history, "pay")


def test_cancelling_a_resumed_run_while_deciding_runs_nothing(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    server.add(calls_turn(transfer_call("c1"), transfer_call("c2")))
    assistant = bot(tools=[transfer_tool(ran)])
    pause_of(runner, assistant, "pay", Approver(default=PAUSE))
    token = CancelToken()

    def decide(call: ToolCall) -> bool:
        token.cancel()
        return True

    with pytest.raises(RunCancelled):
        runner.run(assistant, None, approvals={"c1": True}, hooks=Approver(decide), cancel=token)

    assert ran == []
    assert_only_the_prompt(assistant.history, "pay")
    # The calls did not run: they still wait, and a resume with every decision runs them.
    assert assistant.pending is not None
    assert set(assistant.pending.waiting) == {"c1", "c2"}
    server.add(Turn(text="Paid."))
    assert runner.run(assistant, None, approvals={"c1": True, "c2": False}) == "Paid."
    assert ran == [{"to": "bob", "amount": 5}]  # c1 only: c2 was denied


# -- hooks of every kind --------------------------------------------------------------------------


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_an_async_on_approval_under_arun(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran: list[dict[str, Any]] = []
    asked: list[str] = []

    class AsyncApprover(Hooks):
        async def on_approval(self, call: ToolCall) -> Any:
            await asyncio.sleep(0)
            asked.append(call.id)
            return Deny("Not now.") if call.id == "c2" else Allow()

    server.add(calls_turn(transfer_call("c1"), transfer_call("c2")), DONE)
    assistant = bot(tools=[transfer_tool(ran)], stream=stream)

    assert runner.run(assistant, "pay", hooks=AsyncApprover()) == "Done."

    assert asked == ["c1", "c2"]
    assert ran == [{"to": "bob", "amount": 5}]
    assert tool_messages(server.requests[1].messages)["c2"] == "Not now."


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_an_async_on_approval_is_refused_by_run(bot: Bot, runner: Runner) -> None:
    class AsyncApprover(Hooks):
        async def on_approval(self, call: ToolCall) -> Any:
            return True

    with pytest.raises(AsyncHookError, match="on_approval"):
        runner.run(bot(), "pay", hooks=AsyncApprover())


def test_on_approval_with_a_deps_parameter_gets_the_run_s_deps(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []

    @attrs.frozen
    class User:
        may_pay: int

    class Limit(Hooks):
        def on_approval(self, call: ToolCall, deps: User) -> Any:
            return call.parsed["amount"] <= deps.may_pay

    server.add(calls_turn(transfer_call("c1", amount=5), transfer_call("c2", amount=50)), DONE)
    assistant = bot(tools=[transfer_tool(ran)], hooks=Limit())

    assert runner.run(assistant, "pay", deps=User(may_pay=10)) == "Done."

    assert ran == [{"to": "bob", "amount": 5}]


def test_denials_are_not_tool_failures(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    ran: list[dict[str, Any]] = []
    server.add(
        calls_turn(transfer_call("c1")),
        calls_turn(transfer_call("c2")),
        calls_turn(transfer_call("c3")),
        DONE,
    )
    assistant = bot(tools=[transfer_tool(ran)], max_tool_errors=1)

    assert runner.run(assistant, "pay", hooks=Approver(default=False)) == "Done."
    assert ran == []
    assert len(server.requests) == 4


def test_a_failing_tool_still_counts_as_a_failure(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool(needs_approval=True)
    def transfer(to: str, amount: int) -> str:
        """Send money."""
        raise ValueError("the bank is closed")

    server.add(calls_turn(transfer_call("c1")), DONE)
    assistant = bot(tools=[transfer], max_tool_errors=1)

    with pytest.raises(ToolErrorsExceeded):
        runner.run(assistant, "pay", hooks=Approver())
    assert_valid(assistant.history)


def test_a_paused_message_s_other_calls_wait_too_and_run_on_resume(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    ran: list[dict[str, Any]] = []
    looked_up: list[str] = []

    @function_tool
    def balance() -> str:
        """The account's balance."""
        looked_up.append("balance")
        return "100"

    server.add(calls_turn(ToolCallSpec(name="balance", id="b1"), transfer_call("c1")), DONE)
    assistant = bot(tools=[transfer_tool(ran), balance])
    paused = pause_of(runner, assistant, "pay", Approver(default=PAUSE))

    assert paused.pending.waiting == ("c1",)
    assert looked_up == []  # nothing of the message ran

    assert runner.run(assistant, None, approvals={"c1": True}) == "Done."
    assert looked_up == ["balance"]
    assert tool_messages(server.requests[1].messages) == {"b1": "100", "c1": "sent 5 to bob"}


def test_a_paused_streaming_tool_starts_after_a_restart_with_its_arguments_complete(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    seen: list[ArgumentSnapshot] = []

    @function_tool(needs_approval=True)
    def write_file(args: ArgumentStream[WriteFile]) -> str:
        """Writes a file."""
        seen.extend(args)
        return f"wrote {args.final.path}"

    server.add(write_turn(), DONE)
    before = bot(tools=[write_file], stream=stream)
    paused = pause_of(runner, before, "write", Approver(default=PAUSE))
    assert seen == []

    after = bot(tools=[write_file], history=History.from_json(before.history.to_json()))
    after.pending = PendingApprovals.from_json(paused.pending.to_json())
    assert runner.run(after, None, approvals={"w1": True}) == "Done."

    assert seen == [ArgumentSnapshot(arguments=WRITE, complete=frozenset(WRITE), done=True)]
    assert tool_messages(server.requests[1].messages) == {"w1": "wrote notes.txt"}
